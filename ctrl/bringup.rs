// SPDX-License-Identifier: GPL-2.0

//! Bring-up: everything from a disabled controller to live queues and disks, run by the
//! reset work at probe and after every reset.
//!
//! C counterparts: `nvme_reset_work`, `nvme_pci_configure_admin_queue`,
//! `nvme_init_ctrl_finish`, `nvme_setup_io_queues`, `nvme_dbbuf_set`.

use kernel::{
    device,
    io::Io,
    prelude::*,
    sync::{
        atomic::Relaxed,
        Arc, //
    },
    time::msecs_to_jiffies, //
};

use super::{
    admin::AdminQueue,
    io_queue_split,
    io_queue_vector,
    Ctrl,
    IoQueue,
    TagSet,
    Thermal,
    VectorHandler,
    ADMIN_QUEUE_DEPTH,
    IDENTIFY_LOG_SIZE,
    MAX_IO_QUEUE_DEPTH,
    MAX_SHUTDOWN_SECS, //
};
use crate::{
    hw::{
        quirks::Quirks,
        shadow_doorbell::{
            cq_idx,
            sq_idx,
            DbBuf,
            OACS_DBBUF, //
        },
        vectors::Vectors, //
    },
    mq::IoContext,
    queue::QueuePair,
    spec::{
        cmd::{
            AdminOpcode,
            Cns,
            Command,
            LogPage,
            SqPrio,
            NSID_ALL, //
        },
        cmd_effects::Effects,
        identify::{
            EffectsLog,
            IdBuf,
            IdCtrl,
            IdentifyCtrl,
            IdentifyCtrlNvm,
            NvmCtrlLimits, //
        },
        prp,
        regs::{
            self,
            Cap, //
        },
    },
};

use crate::diag::log::{
    ctrl_info,
    ctrl_warn, //
};

/// The handler of vector 0 when it serves the admin queue alone.
fn admin_only_handler(admin: &Arc<AdminQueue>) -> Result<Arc<VectorHandler>> {
    Ok(Arc::new(
        VectorHandler {
            admin: Some(admin.clone()),
            io: None,
        },
        GFP_KERNEL,
    )?)
}

impl Ctrl {
    /// Turns on shadow doorbells for the I/O queues when the controller offers them
    /// (C: `nvme_dbbuf_set`); on any failure the queues just use MMIO doorbells.
    pub(super) fn setup_dbbuf(
        &self,
        admin: &AdminQueue,
        live: &[Arc<IoQueue>],
        stride: usize,
        page_size: usize,
    ) {
        let Some(id) = self.facts.id() else { return };
        if !self.params.shadow_doorbell || id.oacs & OACS_DBBUF == 0 || live.is_empty() {
            return;
        }
        // Allocated by the first bring-up that uses them, outside `hw` (which the
        // timeout handler takes: no allocation waits for reclaim under it).
        if self.hw.lock().dbbuf.is_none() {
            let Ok(b) = self.bound_dev().and_then(|dev| DbBuf::new(&dev, page_size)) else {
                return;
            };
            self.hw.lock().dbbuf.get_or_insert(b);
        }
        let Some(buf) = self.hw.lock().dbbuf.clone() else {
            return;
        };
        // Every bring-up starts from zero: the queues' tails and heads are zero again.
        if buf.clear().is_err() {
            return;
        }
        let (dbs, eis) = buf.dma();
        if self
            .admin(
                admin,
                AdminOpcode::DbbufConfig,
                Command::dbbuf_config(dbs, eis),
            )
            .is_err()
        {
            ctrl_warn!(
                self.instance,
                "Doorbell Buffer Config failed; using MMIO doorbells\n"
            );
            return;
        }
        for qp in live {
            qp.set_shadows(
                buf.shadow(sq_idx(qp.qid, stride)),
                buf.shadow(cq_idx(qp.qid, stride)),
            );
        }
        ctrl_info!(self.instance, "shadow doorbells enabled\n");
    }

    /// Everything from a disabled controller to disks (C: `nvme_reset_work`).
    pub(super) fn bring_up(&self) -> Result {
        let bound = self.bound_dev()?;
        let dev: &device::Device<device::Bound> = &bound;
        let (cap, page_shift) = self.check_cap(dev)?;
        let page_size = 1usize << page_shift;
        let stride = cap.doorbell_stride();

        self.disable(cap)?;

        // Vectors: one for the admin queue plus one per I/O queue we may want. They are
        // allocated once and kept across resets.
        let want = self.io_queues_wanted();
        let (nvec, msix) = self.alloc_vectors(want)?;
        let admin = self.setup_admin_queue(dev, cap, stride, page_shift, nvec)?;
        let buf = IdBuf::new(dev)?;
        let id = self.identify_ctrl(&admin, &buf)?;

        let (nr_irq, nr_poll, granted) = self.negotiate_queues(&admin, want, nvec)?;
        let depth = self.io_queue_depth(dev, cap)?;
        // Queue pairs are allocated by the first bring-up; a reset re-creates as many of
        // them on the controller as it grants now: fewer after it took queues away, all
        // of them again once it gives them back (never more: C can also grow beyond).
        let first = self.tagset().is_none();
        let (live, nr_irq, nr_poll) =
            self.create_io_queues(dev, &admin, (nr_irq, nr_poll), depth, stride, nvec)?;
        self.setup_dbbuf(&admin, &live, stride, page_size);
        self.request_io_vectors(&admin, &live, nvec)?;
        self.hw.lock().queues_live = true;
        let depth = live.first().map_or(depth, |q| q.depth);
        self.report_io_queues(live.len(), depth, (nr_irq, nr_poll), granted, nvec);
        let max_bytes = self.transfer_limit(dev, &id, cap, page_size)?;
        self.facts.set_transfer(max_bytes, page_size);
        if live.is_empty() {
            // Admin passthrough still needs the transfer limit above.
            ctrl_warn!(self.instance, "no I/O queues: admin only\n");
            return Ok(());
        }
        // Each interrupt-driven queue has its own MSI-X vector, all vectors in use: map
        // CPUs to queues by the vectors' (managed) affinity, as C does.
        let irq_mapped = msix && nvec > 1 && nr_irq == nvec - 1;
        if !first {
            self.remap_io_queues(irq_mapped, nr_irq, nr_poll);
            return Ok(());
        }
        self.setup_tag_set(live, &id, page_size, (irq_mapped, nr_irq, nr_poll), depth)?;
        self.facts.set_nvm(self.nvm_limits(&admin, &buf)?);
        Ok(())
    }

    /// I/O queues to ask for: one per CPU, or the `max_io_queues` parameter when lower.
    fn io_queues_wanted(&self) -> u32 {
        match self.params.max_io_queues {
            0 => kernel::cpu::nr_cpu_ids(),
            n => n.min(kernel::cpu::nr_cpu_ids()),
        }
    }

    /// Publishes the I/O queues now live (sysfs `queue_count` and `sqsize`) and says
    /// what they are: `nr` of them of `depth`, of which `nr_irq` interrupt-driven and
    /// `nr_poll` polled, of `granted` queues and `nvec` vectors.
    fn report_io_queues(
        &self,
        nr: usize,
        depth: u16,
        (nr_irq, nr_poll): (u32, u32),
        granted: u32,
        nvec: u32,
    ) {
        self.facts.set_io_queues(nr, depth);
        ctrl_info!(
            self.instance,
            "{} I/O queue(s) of depth {} ({} granted, {} vector(s)){}\n",
            nr_irq,
            depth,
            granted,
            nvec,
            if nr_poll > 0 {
                ", plus polled queue(s)"
            } else {
                ""
            }
        );
        if nr_poll > 0 {
            ctrl_info!(self.instance, "{} polled queue(s)\n", nr_poll);
        }
    }

    /// NVM command set limits (Identify CNS 06h); optional: an error, or a controller
    /// that cannot be asked, leaves them unreported.
    fn nvm_limits(&self, admin: &Arc<AdminQueue>, buf: &Arc<IdBuf>) -> Result<NvmCtrlLimits> {
        if !self.id_cns_ok(Cns::CtrlCsi) {
            return Ok(NvmCtrlLimits::default());
        }
        let cmd = Command::identify_ctrl_nvm(buf.dma());
        match self.admin_data(admin, AdminOpcode::Identify, cmd, buf) {
            Ok(_) => Ok(buf.read::<IdentifyCtrlNvm>()?.limits()),
            Err(_) => Ok(NvmCtrlLimits::default()),
        }
    }

    /// Reads CAP and checks that the driver can run the controller: the NVM command set,
    /// a page size the host has. Returns CAP and the controller page shift to use.
    fn check_cap(&self, dev: &device::Device<device::Bound>) -> Result<(Cap, u32)> {
        // As C's `nvme_pci_enable`: whatever turned memory decoding or bus mastering off
        // (a guest poking config space, an error), the reset turns them on again.
        if crate::abstractions::pci::reenable(&self.pdev) {
            ctrl_warn!(
                self.instance,
                "memory decoding or bus mastering was off; re-enabled\n"
            );
        }
        let cap = self.read_cap()?;
        self.facts.set_cap(cap);
        let vs = self.bar.try_access().ok_or(ENODEV)?.read(regs::VS);
        self.read_cmb(cap)?;
        ctrl_info!(self.instance, "NVMe {}.{}.{} controller: CAP.MQES {} CAP.TO {} CAP.DSTRD {} CAP.MPSMIN {} CAP.MPSMAX {} CAP.CSS {:#x}\n",
            vs.mjr().get(),
            vs.mnr().get(),
            vs.ter().get(),
            cap.mqes().get(),
            cap.to().get(),
            cap.dstrd().get(),
            cap.mpsmin().get(),
            cap.mpsmax().get(),
            cap.css().get(),
        );
        if cap.css().get() & regs::CAP_CSS_NVM == 0 {
            dev_err!(
                dev,
                "controller does not support the NVM command set (CAP.CSS {:#x})\n",
                cap.css().get()
            );
            return Err(ENODEV);
        }
        let page_shift = kernel::page::PAGE_SHIFT as u32;
        if page_shift < cap.mps_min_shift() {
            dev_err!(
                dev,
                "controller's minimum page size ({} KiB) exceeds the host's\n",
                1 << (cap.mps_min_shift().saturating_sub(10))
            );
            return Err(ENODEV);
        }
        Ok((cap, page_shift.min(cap.mps_max_shift())))
    }

    /// The interrupt vectors (allocated by the first bring-up, for the admin queue and up
    /// to `want` I/O queues): (how many, whether MSI-X).
    fn alloc_vectors(&self, want: u32) -> Result<(u32, bool)> {
        let mut hw = self.hw.lock();
        if hw.vectors.is_none() {
            // One vector for everything, or one per I/O queue plus the admin queue's (C:
            // `nvme_setup_irqs`); MSI left out where it is broken.
            let max = if self.quirks.has(Quirks::SINGLE_VECTOR) {
                1
            } else {
                want.saturating_add(1)
            };
            let msi = !self.quirks.has(Quirks::BROKEN_MSI);
            hw.vectors = Some(Vectors::alloc(&self.pdev, max, msi)?);
        }
        Ok(hw
            .vectors
            .as_ref()
            .map_or((1, false), |v| (v.count(), v.is_msix())))
    }

    /// Configures the admin queue and enables the controller (C:
    /// `nvme_pci_configure_admin_queue`).
    fn setup_admin_queue(
        &self,
        dev: &device::Device<device::Bound>,
        cap: Cap,
        stride: usize,
        page_shift: u32,
        nvec: u32,
    ) -> Result<Arc<AdminQueue>> {
        let aq = QueuePair::new(
            dev,
            self.bar.clone(),
            stride,
            0,
            ADMIN_QUEUE_DEPTH,
            0,
            false,
        )?;
        {
            let bar = self.bar.try_access().ok_or(ENODEV)?;
            let qs = u32::from(ADMIN_QUEUE_DEPTH - 1);
            bar.write_reg(regs::AQA::zeroed().try_with_asqs(qs)?.try_with_acqs(qs)?);
            // 64-bit registers, low half first (C: `lo_hi_writeq`).
            bar.write_reg(regs::ASQ_LO::zeroed().with_value(aq.sq_dma() as u32));
            bar.write_reg(regs::ASQ_HI::zeroed().with_value((aq.sq_dma() >> 32) as u32));
            bar.write_reg(regs::ACQ_LO::zeroed().with_value(aq.cq_dma() as u32));
            bar.write_reg(regs::ACQ_HI::zeroed().with_value((aq.cq_dma() >> 32) as u32));
        }
        self.enable(cap, page_shift)?;
        aq.set_live(true);
        let admin = AdminQueue::new(aq, self.arc().ok_or(ENODEV)?)?;
        *self.admin.lock() = Some(admin.clone());
        if nvec > 1 {
            if let Some(v) = self.hw.lock().vectors.as_mut() {
                admin.bind_irq(Some(v.irq(0)?));
                v.request(0, admin_only_handler(&admin)?)?;
            }
        }
        Ok(admin)
    }

    /// CMBLOC and CMBSZ for sysfs (C: `nvme_map_cmb`, which reads them at each reset;
    /// with CAP.CMBS they read zero until CMBMSC.CRE is set). The driver does not use the
    /// memory buffer itself.
    fn read_cmb(&self, cap: Cap) -> Result {
        let bar = self.bar.try_access().ok_or(ENODEV)?;
        if cap.cmbs() {
            bar.write_reg(regs::CMBMSC_LO::zeroed().with_cre(true));
        }
        let sz = bar.read(regs::CMBSZ).value().get();
        let loc = if sz != 0 {
            bar.read(regs::CMBLOC).value().get()
        } else {
            0
        };
        self.diag.cmbsz.store(sz, Relaxed);
        self.diag.cmbloc.store(loc, Relaxed);
        Ok(())
    }

    /// Identify Controller, and what follows from it: the subsystem, asynchronous
    /// events, the command effects (C: `nvme_init_identify`).
    fn identify_ctrl(&self, admin: &Arc<AdminQueue>, buf: &Arc<IdBuf>) -> Result<IdCtrl> {
        self.admin_data(
            admin,
            AdminOpcode::Identify,
            Command::identify(Cns::Controller, 0, buf.dma()),
            buf,
        )?;
        let idc = buf.read::<IdentifyCtrl>()?;
        let id = idc.to_id_ctrl();
        // RTD3E is in microseconds (C: `nvme_init_ctrl_finish`).
        let shutdown = match idc.rtd3e / 1_000_000 {
            0 => self.params.shutdown_timeout,
            t => t.clamp(
                self.params.shutdown_timeout.min(MAX_SHUTDOWN_SECS),
                MAX_SHUTDOWN_SECS,
            ),
        };
        self.facts.set_shutdown_secs(shutdown);
        if shutdown != self.params.shutdown_timeout {
            ctrl_info!(
                self.instance,
                "D3 entry latency set to {} seconds\n",
                shutdown
            );
        }
        self.facts.set_identify(
            id,
            idc.to_identity(self.quirks.has(Quirks::IGNORE_DEV_SUBNQN)),
            idc.ctratt & crate::spec::pi::CTRATT_ELBAS != 0,
            Thermal {
                wctemp: idc.wctemp,
                cctemp: idc.cctemp,
            },
        );
        if self.facts.first_identify() {
            self.show_identified();
        }
        self.add_subsystem()?;
        self.aen_configure(admin, idc.oaes, idc.aerl);
        if !self.facts.has_effects() {
            let e = self.read_effects(admin, idc.lpa, crate::spec::identify_ns::csi::NVM)?;
            self.facts.set_effects(e);
        }
        ctrl_info!(
            self.instance,
            "{} {} firmware {}, {} namespace(s), MDTS {}, VWC {:#x}\n",
            id.mn.as_str(),
            id.sn.as_str(),
            id.fr.as_str(),
            id.nn,
            id.mdts,
            id.vwc
        );
        Ok(id)
    }

    /// Asks for the queues (C: `nvme_set_queue_count`): interrupt-driven queues plus
    /// polled ones. Returns (interrupt-driven, polled, granted).
    fn negotiate_queues(
        &self,
        admin: &AdminQueue,
        want: u32,
        nvec: u32,
    ) -> Result<(u32, u32, u32)> {
        let want_poll = self.params.poll_queues;
        let ask = want.saturating_add(want_poll).min(u32::from(u16::MAX));
        let cqe = self.admin(
            admin,
            AdminOpcode::SetFeatures,
            Command::set_num_queues(ask as u16),
        )?;
        // Dword 0: Number of I/O Submission Queues Allocated (15:0) and Completion Queues
        // Allocated (31:16), both 0's based.
        let (nsqa, ncqa) = (cqe.result & u32::from(u16::MAX), cqe.result >> 16);
        let granted = nsqa.min(ncqa) + 1;
        let (nr_irq, nr_poll) = io_queue_split(want, want_poll, granted, nvec);
        Ok((nr_irq, nr_poll, granted))
    }

    /// The I/O queue depth: the parameter, within CAP.MQES and the driver's bound; 2
    /// (one command at a time) for a controller that takes no more (C:
    /// `NVME_QUIRK_QDEPTH_ONE`).
    fn io_queue_depth(&self, dev: &device::Device<device::Bound>, cap: Cap) -> Result<u16> {
        let depth = if self.quirks.has(Quirks::QDEPTH_ONE) {
            2
        } else {
            self.params.io_queue_depth
        };
        let depth = depth.min(cap.max_queue_entries()).min(MAX_IO_QUEUE_DEPTH);
        if depth < 2 {
            dev_err!(
                dev,
                "unusable I/O queue depth {} (CAP.MQES {})\n",
                depth,
                cap.mqes().get()
            );
            return Err(EINVAL);
        }
        u16::try_from(depth).map_err(|_| EINVAL)
    }

    /// Creates the I/O queues on the controller (C: `nvme_create_io_queues`): allocated
    /// by the first bring-up, as many as granted, and at most those again after a reset.
    /// Returns them in hardware-queue order (interrupt-driven first, then polled) with
    /// the counts of each kind.
    fn create_io_queues(
        &self,
        dev: &device::Device<device::Bound>,
        admin: &AdminQueue,
        (nr_irq, nr_poll): (u32, u32),
        depth: u16,
        stride: usize,
        nvec: u32,
    ) -> Result<(KVec<Arc<IoQueue>>, u32, u32)> {
        let fresh;
        let tagset = self.tagset();
        let (existing, nr_irq, nr_poll): (&[Arc<IoQueue>], u32, u32) = match tagset.as_ref() {
            Some(ts) => {
                let qs = ts.queues();
                let polled = qs.iter().filter(|q| q.polled).count() as u32;
                let irq = (qs.len() as u32).saturating_sub(polled);
                (qs, nr_irq.min(irq), nr_poll.min(polled))
            }
            None => {
                let (qs, nr_irq, nr_poll) =
                    self.alloc_io_queues(dev, (nr_irq, nr_poll), depth, stride, nvec)?;
                fresh = qs;
                (&fresh, nr_irq, nr_poll)
            }
        };
        // Default (interrupt) queues first, then polled ones: the hardware queue order.
        let irq_qs = existing.iter().filter(|q| !q.polled).take(nr_irq as usize);
        let poll_qs = existing.iter().filter(|q| q.polled).take(nr_poll as usize);
        let mut live: KVec<Arc<IoQueue>> = KVec::new();
        for qp in Iterator::chain(irq_qs, poll_qs) {
            live.push(qp.clone(), GFP_KERNEL)?;
        }
        for qp in live.iter() {
            self.create_io_queue(admin, qp)?;
        }
        Ok((live, nr_irq, nr_poll))
    }

    /// Allocates the queue pairs of the first bring-up: `nr_irq` interrupt-driven ones
    /// then `nr_poll` polled ones, fewer if their doorbells would lie beyond the mapped
    /// BAR. Returns them with the counts of each kind.
    fn alloc_io_queues(
        &self,
        dev: &device::Device<device::Bound>,
        (mut nr_irq, mut nr_poll): (u32, u32),
        depth: u16,
        stride: usize,
        nvec: u32,
    ) -> Result<(KVec<Arc<IoQueue>>, u32, u32)> {
        let mut qs = KVec::new();
        for qid in 1..=(nr_irq + nr_poll) as u16 {
            if regs::cq_head_doorbell(qid, stride) + 4 > regs::BAR0_MIN_SIZE {
                dev_warn!(
                    dev,
                    "doorbells beyond the mapped BAR: using {} I/O queues\n",
                    qid - 1
                );
                nr_poll = nr_poll.min(u32::from(qid - 1).saturating_sub(nr_irq));
                nr_irq = nr_irq.min(u32::from(qid - 1));
                break;
            }
            let polled = u32::from(qid) > nr_irq;
            let vector = if polled {
                0
            } else {
                io_queue_vector(qid, nvec)
            };
            let bar = self.bar.clone();
            let qp = QueuePair::new(dev, bar, stride, qid, depth, vector, polled)?;
            qs.push(IoQueue::new(qp)?, GFP_KERNEL)?;
        }
        Ok((qs, nr_irq, nr_poll))
    }

    /// Creates one I/O queue pair on the controller, its CQ first, and opens its
    /// doorbells.
    fn create_io_queue(&self, admin: &AdminQueue, qp: &IoQueue) -> Result {
        qp.reset()?;
        let vector = if qp.polled { None } else { Some(qp.vector) };
        self.admin(
            admin,
            AdminOpcode::CreateCq,
            Command::create_cq(qp.qid, qp.depth, qp.cq_dma(), vector),
        )?;
        let prio = if self.quirks.has(Quirks::MEDIUM_PRIO_SQ) {
            SqPrio::Medium
        } else {
            SqPrio::Urgent
        };
        self.admin(
            admin,
            AdminOpcode::CreateSq,
            Command::create_sq(qp.qid, qp.depth, qp.sq_dma(), qp.qid, prio),
        )?;
        qp.set_live(true);
        Ok(())
    }

    /// Registers the interrupt handlers of the interrupt-driven queues (vector 0 also
    /// serves the admin queue).
    fn request_io_vectors(
        &self,
        admin: &Arc<AdminQueue>,
        live: &[Arc<IoQueue>],
        nvec: u32,
    ) -> Result {
        let mut hw = self.hw.lock();
        let Some(v) = hw.vectors.as_mut() else {
            return Ok(());
        };
        for qp in live.iter().filter(|q| !q.polled) {
            let admin_here = if qp.vector == 0 {
                Some(admin.clone())
            } else {
                None
            };
            // The CQs go to the handler before it can run: from then on it reaps them
            // without a lock, and everyone else disables the vector first.
            let irq = v.irq(u32::from(qp.vector))?;
            qp.bind_irq(Some(irq));
            if let Some(a) = &admin_here {
                a.bind_irq(Some(irq));
            }
            v.request(
                u32::from(qp.vector),
                Arc::new(
                    VectorHandler {
                        admin: admin_here,
                        io: Some(qp.clone()),
                    },
                    GFP_KERNEL,
                )?,
            )?;
        }
        if !live.iter().any(|q| !q.polled && q.vector == 0) && nvec == 1 {
            admin.bind_irq(Some(v.irq(0)?));
            v.request(0, admin_only_handler(admin)?)?;
        }
        Ok(())
    }

    /// The largest transfer in bytes: MDTS in units of the minimum page size, what one
    /// PRP list page can describe or with SGLs (which take what PRPs cannot) C's bound,
    /// and what the DMA layer maps in one go.
    fn transfer_limit(
        &self,
        dev: &device::Device<device::Bound>,
        id: &IdCtrl,
        cap: Cap,
        page_size: usize,
    ) -> Result<usize> {
        let mut max_bytes = if crate::spec::sgl::supported(id.sgls) {
            crate::spec::sgl::MAX_SGL_TRANSFER
        } else {
            prp::max_transfer_pages(page_size) * page_size
        };
        if id.mdts != 0 {
            let mdts_bytes = 1usize
                .checked_shl(u32::from(id.mdts) + cap.mps_min_shift())
                .unwrap_or(usize::MAX);
            max_bytes = max_bytes.min(mdts_bytes);
        }
        if max_bytes < page_size {
            dev_err!(dev, "MDTS {} is smaller than a page\n", id.mdts);
            return Err(EINVAL);
        }
        // As C limits `max_hw_sectors`: with swiotlb forcing every mapping through
        // 256 KiB bounce slot runs, a larger segment would fail to map on every attempt
        // and its request never end.
        let dma_max = crate::abstractions::pci::dma_opt_mapping_size(&self.pdev);
        if dma_max >= page_size {
            max_bytes = max_bytes.min(dma_max);
        }
        Ok(max_bytes)
    }

    /// After a reset that granted a different number of queues: remaps the hardware
    /// queues to the ones the controller has now.
    fn remap_io_queues(&self, irq_mapped: bool, nr_irq: u32, nr_poll: u32) {
        let Some(ts) = self.tagset() else {
            return;
        };
        let (old_irq, old_poll) = ts.split();
        if (old_irq, old_poll) == (nr_irq, nr_poll) {
            return;
        }
        ctrl_info!(
            self.instance,
            "{}+{} hardware queues instead of {}+{}\n",
            nr_irq,
            nr_poll,
            old_irq,
            old_poll
        );
        ts.set_irq_mapped(irq_mapped, nr_irq, self.hw.lock().vectors.as_ref());
        let n = ts.update_split(nr_irq, nr_poll);
        if n > 0 {
            ctrl_info!(
                self.instance,
                "{} bio(s) of requests on removed queues submitted again\n",
                n
            );
        }
    }

    /// The first bring-up's tag set over the I/O queues `live`.
    fn setup_tag_set(
        &self,
        live: KVec<Arc<IoQueue>>,
        id: &IdCtrl,
        page_size: usize,
        (irq_mapped, nr_irq, nr_poll): (bool, u32, u32),
        depth: u16,
    ) -> Result {
        let ctx = IoContext::new(
            &self.pdev,
            self.arc().ok_or(ENODEV)?,
            live,
            page_size,
            id.sgls,
            self.params.sgl_threshold,
            nr_poll,
            self.params.max_retries,
        )?;
        ctx.set_irq_mapped(irq_mapped, nr_irq, self.hw.lock().vectors.as_ref());
        let timeout = msecs_to_jiffies(self.diag.io_timeout_ms.load(Relaxed)) as u32;
        let ts = Arc::new(
            TagSet::new(
                ctx,
                &*self.bound_dev()?,
                u32::from(depth).saturating_sub(1),
                timeout,
                self.params.poll_queues > 0,
            )?,
            GFP_KERNEL,
        )?;
        self.hw.lock().tagset = Some(ts);
        Ok(())
    }

    /// Commands Supported and Effects: the log page when LPA says there is one, plus what
    /// C knows of the commands that change data or namespaces (C: `nvme_init_effects`,
    /// `nvme_init_known_nvm_effects`), of the I/O commands of command set `csi`.
    pub(super) fn read_effects(
        &self,
        admin: &AdminQueue,
        lpa: u8,
        csi: u8,
    ) -> Result<Arc<Effects>> {
        /// LPA bit 1: the Commands Supported and Effects log page is supported.
        const LPA_CSE: u8 = 1 << 1;
        let mut log = None;
        if lpa & LPA_CSE != 0 {
            let buf = self.bound_dev().and_then(|dev| IdBuf::new(&dev))?;
            let mut cmd = Command::get_log_page(
                LogPage::CmdEffects,
                NSID_ALL,
                buf.dma(),
                IDENTIFY_LOG_SIZE,
                false,
            );
            cmd.cdw14 = u32::from(csi) << crate::spec::cmd::LOG_CSI_SHIFT;
            if self
                .admin_data(admin, AdminOpcode::GetLogPage, cmd, &buf)
                .is_ok()
            {
                log = Some(buf.read::<EffectsLog>()?);
            }
        }
        let e = match &log {
            // Within the 4 KiB log: 512 dwords.
            Some(log) => Effects::new(Some(&|i| log.get(i).copied().unwrap_or(0))),
            None => Effects::new(None),
        };
        Ok(Arc::new(e, GFP_KERNEL)?)
    }
}
