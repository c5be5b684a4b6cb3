// SPDX-License-Identifier: GPL-2.0

//! The controller: its state machine, bring-up (the reset work item), admin commands,
//! I/O queue set-up, namespace scan and shutdown.
//!
//! C counterparts: `nvme_reset_work`, `nvme_pci_configure_admin_queue`,
//! `nvme_init_ctrl_finish`, `nvme_setup_io_queues`, `nvme_scan_work`, `nvme_dev_disable`.

use kernel::{
    device,
    io::{
        io_read,
        poll::read_poll_timeout,
        Io, //
    },
    dma::Coherent,
    num::Bounded,
    pci,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        new_mutex,
        new_spinlock,
        new_spinlock_irq,
        Arc,
        Mutex,
        SpinLock,
        SpinLockIrq, //
    },
    time::{
        msecs_to_jiffies,
        Delta, //
    },
    workqueue::{
        self,
        impl_has_work,
        new_work,
        Work,
        WorkItem, //
    },
};

use crate::{
    cmd::{
        AdminOpcode,
        Cns,
        Command,
        Completion,
        Status,
        IDENTIFY_DATA_SIZE, //
    },
    irq::{
        Handler,
        Vectors, //
    },
    mq::{
        self,
        Disk,
        IoContext,
        Limits,
        NsInfo,
        TagSet, //
    },
    prp,
    queue::{
        Bar0,
        QueuePair, //
    },
    regs::{
        self,
        Cap,
        Shn,
        Shst,
        CC,
        CSTS, //
    },
};

/// Admin queue depth (C: `NVME_AQ_DEPTH`).
const ADMIN_QUEUE_DEPTH: u16 = 32;
/// Largest I/O queue depth the driver uses, whatever CAP.MQES allows.
pub(crate) const MAX_IO_QUEUE_DEPTH: u32 = 4095;
/// Time allowed for a normal shutdown (C: `shutdown_timeout`).
const SHUTDOWN_TIMEOUT_MS: i64 = 5000;
/// How often a waiter checks CSTS or an admin completion.
const POLL_INTERVAL_US: i64 = 100;
/// Controllers the instance allocator can number.
const MAX_INSTANCES: u32 = 64;

/// Controller states (C: `enum nvme_ctrl_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Probed, bring-up not started.
    New,
    /// Bring-up (the reset work) in progress.
    Connecting,
    /// Up and serving I/O.
    Live,
    /// Being reset: I/O is held until the controller is back.
    Resetting,
    /// Being removed.
    Deleting,
    /// Failed; I/O fails fast.
    Dead,
}

impl State {
    /// Whether the controller may go from `self` to `new` (C: `nvme_change_ctrl_state`).
    pub(crate) fn can_change_to(self, new: State) -> bool {
        use State::*;
        match new {
            Connecting => matches!(self, New | Resetting),
            Live => self == Connecting,
            Resetting => self == Live,
            Deleting => matches!(self, New | Connecting | Live | Resetting | Dead),
            Dead => matches!(self, New | Connecting | Live | Resetting | Deleting),
            New => false,
        }
    }

    /// The name the C driver's `state` attribute uses.
    pub(crate) fn name(self) -> &'static str {
        match self {
            State::New => "new",
            State::Connecting => "connecting",
            State::Live => "live",
            State::Resetting => "resetting",
            State::Deleting => "deleting",
            State::Dead => "dead",
        }
    }
}

/// Number of I/O queue pairs to use (C: `nvme_setup_io_queues`).
///
/// `want` is what the driver asks for, `granted` what Set Features (Number of Queues)
/// returned, `vectors` the interrupt vectors allocated. Vector 0 serves the admin queue;
/// with one vector only, it serves the first I/O queue too.
pub(crate) fn io_queue_count(want: u32, granted: u32, vectors: u32) -> u32 {
    let by_irq = if vectors > 1 { vectors - 1 } else { 1 };
    want.min(granted).min(by_irq)
}

/// The interrupt vector of I/O queue `qid` given `vectors` allocated.
pub(crate) fn io_queue_vector(qid: u16, vectors: u32) -> u16 {
    if vectors > 1 {
        qid
    } else {
        0
    }
}

/// Instance numbers (`nvme<N>`) in use, one bit each.
static INSTANCES: Atomic<u64> = Atomic::new(0);

/// Takes the lowest free instance number.
fn instance_get() -> Result<u32> {
    loop {
        let used = INSTANCES.load(Relaxed);
        let n = (!used).trailing_zeros();
        if n >= MAX_INSTANCES {
            return Err(ENOSPC);
        }
        if INSTANCES.cmpxchg(used, used | (1 << n), Relaxed).is_ok() {
            return Ok(n);
        }
    }
}

/// Returns an instance number taken by [`instance_get`].
fn instance_put(n: u32) {
    loop {
        let used = INSTANCES.load(Relaxed);
        if INSTANCES.cmpxchg(used, used & !(1 << n), Relaxed).is_ok() {
            return;
        }
    }
}

/// A 4 KiB buffer for Identify data, read field by field after the command completes.
struct IdBuf(Coherent<[u8]>);

impl IdBuf {
    fn new(dev: &device::Device<device::Bound>) -> Result<Self> {
        Ok(Self(Coherent::<u8>::zeroed_slice(dev, IDENTIFY_DATA_SIZE, GFP_KERNEL)?))
    }

    fn dma(&self) -> u64 {
        self.0.dma_address()
    }

    fn u8_at(&self, off: usize) -> Result<u8> {
        Ok(io_read!(self.0, [try: off]))
    }

    /// A little-endian integer of `N` bytes at `off`.
    fn le_at<const N: usize>(&self, off: usize) -> Result<u64> {
        let mut v = 0u64;
        for i in (0..N).rev() {
            v = (v << 8) | u64::from(self.u8_at(off + i)?);
        }
        Ok(v)
    }

    /// An ASCII field with its space padding removed.
    fn string<const N: usize>(&self, off: usize) -> Result<IdString<N>> {
        let mut s = IdString { buf: [0; N], len: 0 };
        for i in 0..N {
            s.buf[i] = self.u8_at(off + i)?;
        }
        s.len = s.buf.iter().rposition(|&c| c != b' ' && c != 0).map_or(0, |p| p + 1);
        Ok(s)
    }
}

/// A space-padded ASCII field of Identify data (serial, model, firmware).
#[derive(Clone, Copy)]
pub(crate) struct IdString<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> IdString<N> {
    /// The text without padding; non-ASCII bytes are shown as '?'.
    pub(crate) fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
    }
}

/// What the driver keeps of Identify Controller (CNS 01h).
#[derive(Clone, Copy)]
pub(crate) struct IdCtrl {
    /// Serial Number.
    pub(crate) sn: IdString<20>,
    /// Model Number.
    pub(crate) mn: IdString<40>,
    /// Firmware Revision.
    pub(crate) fr: IdString<8>,
    /// Maximum Data Transfer Size, log2 in units of CAP.MPSMIN pages; 0 is unlimited.
    pub(crate) mdts: u8,
    /// Controller ID.
    pub(crate) cntlid: u16,
    /// Optional Admin Command Support.
    pub(crate) oacs: u16,
    /// Number of Namespaces.
    pub(crate) nn: u32,
    /// Optional NVM Command Support.
    pub(crate) oncs: u16,
    /// Volatile Write Cache: bit 0 is "present".
    pub(crate) vwc: u8,
    /// SGL Support.
    pub(crate) sgls: u32,
}

/// Identify Controller byte offsets (NVMe Base Specification 2.0, Figure 275).
mod id_ctrl {
    pub(super) const SN: usize = 4;
    pub(super) const MN: usize = 24;
    pub(super) const FR: usize = 64;
    pub(super) const MDTS: usize = 77;
    pub(super) const CNTLID: usize = 78;
    pub(super) const OACS: usize = 256;
    pub(super) const NN: usize = 516;
    pub(super) const ONCS: usize = 520;
    pub(super) const VWC: usize = 525;
    pub(super) const SGLS: usize = 536;
}

/// Identify Namespace byte offsets (NVM Command Set Specification 1.0, Figure 97).
mod id_ns {
    pub(super) const NSZE: usize = 0;
    pub(super) const NLBAF: usize = 25;
    pub(super) const FLBAS: usize = 26;
    pub(super) const LBAF: usize = 128;
    /// Size of one LBA Format descriptor.
    pub(super) const LBAF_SIZE: usize = 4;
    /// Offset of LBADS within a descriptor.
    pub(super) const LBAF_LBADS: usize = 2;
}

/// VWC bit 0: a volatile write cache is present.
const VWC_PRESENT: u8 = 1 << 0;
/// Smallest logical block the block layer accepts, as a shift.
const MIN_LBA_SHIFT: u32 = 9;

/// A namespace as Identify Namespace (CNS 00h) describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NsGeometry {
    /// Namespace Size in logical blocks.
    pub(crate) nsze: u64,
    /// log2 of the logical block size.
    pub(crate) lba_shift: u32,
    /// Metadata bytes per logical block.
    pub(crate) ms: u16,
}

impl NsGeometry {
    /// Why the driver cannot expose this namespace, if it cannot.
    pub(crate) fn unsupported(&self) -> Option<&'static str> {
        if self.nsze == 0 {
            Some("zero capacity")
        } else if self.ms != 0 {
            Some("LBA format with per-block metadata")
        } else if self.lba_shift < MIN_LBA_SHIFT {
            Some("logical block smaller than 512 bytes")
        } else if self.lba_shift > kernel::page::PAGE_SHIFT as u32 {
            Some("logical block larger than PAGE_SIZE")
        } else if self.nsze.checked_shl(self.lba_shift - MIN_LBA_SHIFT).map_or(true, |s| s >> (self.lba_shift - MIN_LBA_SHIFT) != self.nsze) {
            Some("capacity overflows 64-bit sectors")
        } else {
            None
        }
    }

    /// Capacity in 512-byte sectors.
    pub(crate) fn capacity_sectors(&self) -> u64 {
        self.nsze << (self.lba_shift - MIN_LBA_SHIFT)
    }
}

/// The admin queue: one command at a time, completed by vector 0 or by polling.
#[pin_data]
pub(crate) struct AdminQueue {
    qp: Arc<QueuePair>,
    /// Held for a whole command; holds the next command identifier.
    #[pin]
    serial: Mutex<u16>,
    /// The completion of the command in flight, once it arrives.
    #[pin]
    done: SpinLockIrq<Option<Completion>>,
    /// `EXPECT_VALID | cid` of the command in flight, 0 when none.
    expect: Atomic<u32>,
}

const EXPECT_VALID: u32 = 1 << 16;

impl AdminQueue {
    fn new(qp: Arc<QueuePair>) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                qp,
                serial <- new_mutex!(0),
                done <- new_spinlock_irq!(None),
                expect: Atomic::new(0),
            }),
            GFP_KERNEL,
        )
    }

    /// Consumes admin completions; records the one a waiter expects.
    fn reap(&self) -> bool {
        self.qp.process_cq(|cqe| {
            if self.expect.load(Relaxed) == EXPECT_VALID | u32::from(cqe.cid) {
                *self.done.lock() = Some(*cqe);
            }
        }) > 0
    }
}

/// The data of one interrupt vector: the queues whose CQs interrupt on it.
struct VectorHandler {
    admin: Option<Arc<AdminQueue>>,
    io: Option<Arc<QueuePair>>,
}

impl Handler for VectorHandler {
    fn handle(&self) -> bool {
        let mut handled = false;
        if let Some(a) = &self.admin {
            handled |= a.reap();
        }
        if let Some(qp) = &self.io {
            handled |= qp.process_cq(|cqe| {
                mq::complete_cqe(&qp.tags, cqe);
            }) > 0;
        }
        handled
    }
}

/// Module parameters as this controller uses them.
#[derive(Clone, Copy)]
pub(crate) struct Params {
    /// Requested I/O queue depth.
    pub(crate) io_queue_depth: u32,
    /// Largest number of I/O queues; 0 is one per possible CPU.
    pub(crate) max_io_queues: u32,
    /// I/O timeout in seconds.
    pub(crate) io_timeout: u32,
    /// Admin command timeout in seconds.
    pub(crate) admin_timeout: u32,
}

/// What bring-up builds and teardown releases, in that order.
#[derive(Default)]
struct Inner {
    cap: Option<Cap>,
    vectors: Option<Vectors>,
    admin: Option<Arc<AdminQueue>>,
    id: Option<IdCtrl>,
    /// Disks go before the tag set they use.
    disks: KVec<Disk>,
    tagset: Option<TagSet>,
}

/// One NVMe controller.
#[pin_data(PinnedDrop)]
pub(crate) struct Ctrl {
    pdev: ARef<pci::Device>,
    bar: Arc<Bar0>,
    /// `N` of `nvme<N>`.
    pub(crate) instance: u32,
    params: Params,
    #[pin]
    state: SpinLock<State>,
    #[pin]
    reset_work: Work<Ctrl>,
    #[pin]
    inner: Mutex<Inner>,
}

impl_has_work! {
    impl HasWork<Self> for Ctrl { self.reset_work }
}

impl WorkItem for Ctrl {
    type Pointer = Arc<Ctrl>;

    fn run(this: Arc<Ctrl>) {
        this.reset_work_fn();
    }
}

impl Ctrl {
    /// Creates the controller of `pdev`, whose BAR0 is `bar`; nothing touches it yet.
    pub(crate) fn new(pdev: &pci::Device, bar: Bar0, params: Params) -> Result<Arc<Self>> {
        let instance = instance_get()?;
        let bar = match Arc::new(bar, GFP_KERNEL) {
            Ok(b) => b,
            Err(e) => {
                instance_put(instance);
                return Err(e.into());
            }
        };
        Arc::pin_init(
            try_pin_init!(Self {
                pdev: pdev.into(),
                bar,
                instance,
                params,
                state <- new_spinlock!(State::New),
                reset_work <- new_work!("rust_nvme::reset_work"),
                inner <- new_mutex!(Inner::default()),
            }? Error),
            GFP_KERNEL,
        )
        .inspect_err(|_| instance_put(instance))
    }

    fn dev(&self) -> &device::Device {
        self.pdev.as_ref()
    }

    /// The device, bound.
    fn bound_dev(&self) -> &device::Device<device::Bound> {
        // SAFETY: Only the reset work and `remove` call this. `remove` runs from the
        // driver's unbind callback (the device is bound) and flushes the reset work before
        // returning, after moving to `Deleting`, from which no new reset work is queued;
        // so the device is bound whenever this runs.
        unsafe { self.dev().as_bound() }
    }

    /// The current state.
    pub(crate) fn state(&self) -> State {
        *self.state.lock()
    }

    /// Moves to `new` if that transition is allowed (C: `nvme_change_ctrl_state`).
    fn change_state(&self, new: State) -> bool {
        let mut s = self.state.lock();
        let old = *s;
        if !old.can_change_to(new) {
            return false;
        }
        *s = new;
        drop(s);
        dev_dbg!(self.dev(), "nvme{}: {} -> {}\n", self.instance, old.name(), new.name());
        true
    }

    /// Queues the reset work (first bring-up from probe).
    pub(crate) fn schedule_reset(self: &Arc<Self>) {
        // `Err` means it is already queued, which is what was asked.
        let _ = workqueue::system_long().enqueue(self.clone());
    }

    fn csts(&self) -> Result<CSTS> {
        let bar = self.bar.try_access().ok_or(ENODEV)?;
        Ok(bar.read(regs::CSTS))
    }

    fn read_cap(&self) -> Result<Cap> {
        let bar = self.bar.try_access().ok_or(ENODEV)?;
        let lo = bar.read(regs::CAP_LO).value().get();
        let hi = bar.read(regs::CAP_HI).value().get();
        if lo == regs::REG_DEAD && hi == regs::REG_DEAD {
            return Err(ENODEV);
        }
        Ok(Cap::from_halves(lo, hi))
    }

    /// Waits, bounded by `timeout_ms`, until CSTS satisfies `done`.
    ///
    /// # Errors
    ///
    /// `ENODEV` if the device is gone (CSTS reads all ones), `EIO` on CSTS.CFS,
    /// `ETIMEDOUT` when the time runs out.
    fn wait_csts(&self, what: &str, timeout_ms: u32, done: impl Fn(CSTS) -> bool) -> Result {
        let r = read_poll_timeout(
            || self.csts(),
            |c| c.into_raw() == regs::REG_DEAD || c.cfs() || done(*c),
            Delta::from_micros(POLL_INTERVAL_US),
            Delta::from_millis(i64::from(timeout_ms)),
        );
        match r {
            Ok(c) if c.into_raw() == regs::REG_DEAD => {
                dev_err!(self.dev(), "device gone while waiting for {}\n", what);
                Err(ENODEV)
            }
            Ok(c) if c.cfs() && !done(c) => {
                dev_err!(self.dev(), "controller fatal status (CSTS.CFS) while waiting for {}\n", what);
                Err(EIO)
            }
            Ok(_) => Ok(()),
            Err(e) => {
                dev_err!(self.dev(), "timed out after {} ms waiting for {}\n", timeout_ms, what);
                Err(e)
            }
        }
    }

    /// Clears CC.EN and waits for CSTS.RDY to clear (C: `nvme_disable_ctrl`).
    fn disable(&self, cap: Cap) -> Result {
        {
            let bar = self.bar.try_access().ok_or(ENODEV)?;
            let cc = bar.read(regs::CC);
            if !cc.en() && !bar.read(regs::CSTS).rdy() {
                return Ok(());
            }
            bar.write_reg(cc.with_en(false));
        }
        self.wait_csts("CSTS.RDY to clear", cap.timeout_ms().max(regs::CAP_TO_UNIT_MS), |c| !c.rdy())
    }

    /// Programs CC and waits for CSTS.RDY (C: `nvme_enable_ctrl`).
    fn enable(&self, cap: Cap, page_shift: u32) -> Result {
        let mps = page_shift - regs::MPS_BASE_SHIFT;
        let cc = CC::zeroed()
            .with_css(Bounded::<u32, 3>::new::<{ regs::CC_CSS_NVM }>())
            .with_ams(Bounded::<u32, 3>::new::<{ regs::CC_AMS_RR }>())
            .try_with_mps(mps)?
            .with_const_iosqes::<{ regs::SQES_LOG2 }>()
            .with_const_iocqes::<{ regs::CQES_LOG2 }>();
        {
            let bar = self.bar.try_access().ok_or(ENODEV)?;
            bar.write_reg(cc);
            bar.write_reg(cc.with_en(true));
        }
        self.wait_csts("CSTS.RDY", cap.timeout_ms().max(regs::CAP_TO_UNIT_MS), |c| c.rdy())
    }

    /// Submits an admin command and waits for it, bounded by the admin timeout.
    ///
    /// # Errors
    ///
    /// `ETIMEDOUT` if no completion arrives in time, `EIO`/`EINVAL` for an error status
    /// (logged with the command's name and the decoded status).
    fn admin_cmd(&self, admin: &AdminQueue, name: &str, mut cmd: Command) -> Result<Completion> {
        let mut next = admin.serial.lock();
        let cid = *next;
        *next = next.wrapping_add(1) % ADMIN_QUEUE_DEPTH;
        *admin.done.lock() = None;
        admin.expect.store(EXPECT_VALID | u32::from(cid), Relaxed);
        cmd.set_cid(cid);
        admin.qp.submit(&cmd, true)?;
        let timeout_ms = i64::from(self.params.admin_timeout) * 1000;
        // The vector-0 handler normally records the completion; reaping here as well
        // covers a lost interrupt and the time before the handler is registered.
        let r = read_poll_timeout(
            || {
                admin.reap();
                Ok(admin.done.lock().take())
            },
            |c| c.is_some(),
            Delta::from_micros(POLL_INTERVAL_US),
            Delta::from_millis(timeout_ms),
        );
        admin.expect.store(0, Relaxed);
        let cqe = match r {
            Ok(Some(c)) => c,
            _ => {
                dev_err!(self.dev(), "nvme{}: admin command {} (cid {}) timed out\n", self.instance, name, cid);
                return Err(ETIMEDOUT);
            }
        };
        if let Some(s) = Status::from_cqe(cqe.status) {
            dev_err!(self.dev(), "nvme{}: admin command {} failed: {}\n", self.instance, name, s);
            return Err(s.to_error());
        }
        Ok(cqe)
    }

    fn admin(&self, admin: &AdminQueue, op: AdminOpcode, cmd: Command) -> Result<Completion> {
        self.admin_cmd(admin, op.name(), cmd)
    }

    /// The reset work: brings the controller up; on failure marks it dead.
    fn reset_work_fn(self: &Arc<Self>) {
        if !self.change_state(State::Connecting) {
            return;
        }
        let mut inner = self.inner.lock();
        match self.bring_up(&mut inner) {
            Ok(()) => {
                drop(inner);
                if !self.change_state(State::Live) {
                    // Removal began meanwhile; it tears everything down.
                    return;
                }
            }
            Err(e) => {
                dev_err!(self.dev(), "nvme{}: bring-up failed ({:?}); controller is dead\n", self.instance, e);
                self.teardown(&mut inner, false);
                drop(inner);
                self.change_state(State::Dead);
            }
        }
    }

    /// Everything from a disabled controller to disks (C: `nvme_reset_work`).
    fn bring_up(&self, inner: &mut Inner) -> Result {
        let dev = self.bound_dev();
        let cap = self.read_cap()?;
        inner.cap = Some(cap);
        let vs = self.bar.try_access().ok_or(ENODEV)?.read(regs::VS);
        dev_info!(
            dev,
            "nvme{}: NVMe {}.{}.{} controller: CAP.MQES {} CAP.TO {} CAP.DSTRD {} CAP.MPSMIN {} CAP.MPSMAX {} CAP.CSS {:#x}\n",
            self.instance,
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
            dev_err!(dev, "controller does not support the NVM command set (CAP.CSS {:#x})\n", cap.css().get());
            return Err(ENODEV);
        }
        let page_shift = kernel::page::PAGE_SHIFT as u32;
        if page_shift < cap.mps_min_shift() {
            dev_err!(dev, "controller's minimum page size ({} KiB) exceeds the host's\n", 1 << (cap.mps_min_shift() - 10));
            return Err(ENODEV);
        }
        let page_shift = page_shift.min(cap.mps_max_shift());
        let page_size = 1usize << page_shift;
        let stride = cap.doorbell_stride();

        self.disable(cap)?;

        // Vectors: one for the admin queue plus one per I/O queue we may want.
        let want = match self.params.max_io_queues {
            0 => kernel::cpu::nr_cpu_ids(),
            n => n.min(kernel::cpu::nr_cpu_ids()),
        };
        inner.vectors = Some(Vectors::alloc(&self.pdev, want + 1)?);
        let nvec = inner.vectors.as_ref().map_or(1, |v| v.count());

        // Admin queue (C: `nvme_pci_configure_admin_queue`).
        let aq = QueuePair::new(dev, self.bar.clone(), stride, 0, ADMIN_QUEUE_DEPTH, 0)?;
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
        let admin = AdminQueue::new(aq)?;
        inner.admin = Some(admin.clone());
        if nvec > 1 {
            if let Some(v) = inner.vectors.as_mut() {
                v.request(0, Arc::new(VectorHandler { admin: Some(admin.clone()), io: None }, GFP_KERNEL)?)?;
            }
        }

        // Identify Controller.
        let buf = IdBuf::new(dev)?;
        self.admin(&admin, AdminOpcode::Identify, Command::identify(Cns::Controller, 0, buf.dma()))?;
        let id = IdCtrl {
            sn: buf.string(id_ctrl::SN)?,
            mn: buf.string(id_ctrl::MN)?,
            fr: buf.string(id_ctrl::FR)?,
            mdts: buf.u8_at(id_ctrl::MDTS)?,
            cntlid: buf.le_at::<2>(id_ctrl::CNTLID)? as u16,
            oacs: buf.le_at::<2>(id_ctrl::OACS)? as u16,
            nn: buf.le_at::<4>(id_ctrl::NN)? as u32,
            oncs: buf.le_at::<2>(id_ctrl::ONCS)? as u16,
            vwc: buf.u8_at(id_ctrl::VWC)?,
            sgls: buf.le_at::<4>(id_ctrl::SGLS)? as u32,
        };
        inner.id = Some(id);
        dev_info!(
            dev,
            "nvme{}: {} {} firmware {}, {} namespace(s), MDTS {}, VWC {:#x}\n",
            self.instance,
            id.mn.as_str(),
            id.sn.as_str(),
            id.fr.as_str(),
            id.nn,
            id.mdts,
            id.vwc
        );

        // Queue count (C: `nvme_set_queue_count`).
        let cqe = self.admin(&admin, AdminOpcode::SetFeatures, Command::set_num_queues(want.min(u32::from(u16::MAX)) as u16))?;
        let granted = (cqe.result & 0xffff).min(cqe.result >> 16) + 1;
        let nr_io = io_queue_count(want, granted, nvec);
        let depth = self
            .params
            .io_queue_depth
            .min(cap.max_queue_entries())
            .min(MAX_IO_QUEUE_DEPTH);
        if depth < 2 {
            dev_err!(dev, "unusable I/O queue depth {} (CAP.MQES {})\n", depth, cap.mqes().get());
            return Err(EINVAL);
        }
        let depth = depth as u16;

        let mut queues = KVec::with_capacity(nr_io as usize, GFP_KERNEL)?;
        for qid in 1..=nr_io as u16 {
            if regs::cq_head_doorbell(qid, stride) + 4 > regs::BAR0_MIN_SIZE {
                dev_warn!(dev, "doorbells beyond the mapped BAR: using {} I/O queues\n", qid - 1);
                break;
            }
            let vector = io_queue_vector(qid, nvec);
            let qp = QueuePair::new(dev, self.bar.clone(), stride, qid, depth, vector)?;
            self.admin(&admin, AdminOpcode::CreateCq, Command::create_cq(qid, depth, qp.cq_dma(), vector))?;
            if let Err(e) = self.admin(&admin, AdminOpcode::CreateSq, Command::create_sq(qid, depth, qp.sq_dma(), qid)) {
                let _ = self.admin(&admin, AdminOpcode::DeleteCq, Command::delete_cq(qid));
                return Err(e);
            }
            // Keep the queue recorded before anything else can fail, so teardown
            // deletes it.
            queues.push(qp, GFP_KERNEL)?;
        }
        let queues_ref: &KVec<Arc<QueuePair>> = &queues;
        if let Some(v) = inner.vectors.as_mut() {
            for qp in queues_ref.iter() {
                let admin_here = if qp.vector == 0 { Some(admin.clone()) } else { None };
                v.request(u32::from(qp.vector), Arc::new(VectorHandler { admin: admin_here, io: Some(qp.clone()) }, GFP_KERNEL)?)?;
            }
            if nvec == 1 && queues_ref.is_empty() {
                v.request(0, Arc::new(VectorHandler { admin: Some(admin.clone()), io: None }, GFP_KERNEL)?)?;
            }
        }
        let nr_io = queues.len();
        dev_info!(dev, "nvme{}: {} I/O queue(s) of depth {} ({} granted, {} vector(s))\n", self.instance, nr_io, depth, granted, nvec);
        if nr_io == 0 {
            dev_warn!(dev, "nvme{}: no I/O queues: admin only\n", self.instance);
            return Ok(());
        }

        let ctx = IoContext::new(&self.pdev, queues, page_size)?;
        let timeout = msecs_to_jiffies(self.params.io_timeout.saturating_mul(1000)) as u32;
        inner.tagset = Some(TagSet::new(ctx, u32::from(depth) - 1, timeout)?);

        // Transfer limit: MDTS in units of the minimum page size, and what one PRP list
        // page can describe.
        let mut max_bytes = prp::max_transfer_pages(page_size) * page_size;
        if id.mdts != 0 {
            let mdts_bytes = 1usize.checked_shl(u32::from(id.mdts) + cap.mps_min_shift()).unwrap_or(usize::MAX);
            max_bytes = max_bytes.min(mdts_bytes);
        }
        if max_bytes < page_size {
            dev_err!(dev, "MDTS {} is smaller than a page\n", id.mdts);
            return Err(EINVAL);
        }
        self.scan_namespaces(inner, &admin, &buf, page_size, (max_bytes >> kernel::block::SECTOR_SHIFT) as u32)
    }

    /// Identifies the active namespaces and adds a disk for each usable one.
    fn scan_namespaces(&self, inner: &mut Inner, admin: &AdminQueue, buf: &IdBuf, page_size: usize, max_hw_sectors: u32) -> Result {
        let dev = self.dev();
        let Some(id) = inner.id else { return Err(EINVAL) };
        let list = IdBuf::new(self.bound_dev())?;
        self.admin(admin, AdminOpcode::Identify, Command::identify(Cns::ActiveNsList, 0, list.dma()))?;
        let mut nsids = KVec::new();
        for i in 0..IDENTIFY_DATA_SIZE / 4 {
            let nsid = list.le_at::<4>(i * 4)? as u32;
            if nsid == 0 {
                break;
            }
            if nsid > id.nn {
                dev_warn!(dev, "nvme{}: active namespace {} beyond NN {}; ignored\n", self.instance, nsid, id.nn);
                continue;
            }
            nsids.push(nsid, GFP_KERNEL)?;
        }
        let Some(tagset) = inner.tagset.as_ref() else { return Ok(()) };
        for nsid in nsids {
            self.admin(admin, AdminOpcode::Identify, Command::identify(Cns::Namespace, nsid, buf.dma()))?;
            let nlbaf = buf.u8_at(id_ns::NLBAF)?;
            let flbas = buf.u8_at(id_ns::FLBAS)?;
            // FLBAS bits 3:0 index the format, bits 6:5 extend it past 16.
            let idx = usize::from(flbas & 0xf) | (usize::from(flbas >> 5 & 0x3) << 4);
            if idx > usize::from(nlbaf) {
                dev_warn!(dev, "nvme{}n{}: FLBAS {:#x} names a format beyond NLBAF {}; skipped\n", self.instance, nsid, flbas, nlbaf);
                continue;
            }
            let lbaf = id_ns::LBAF + idx * id_ns::LBAF_SIZE;
            let geo = NsGeometry {
                nsze: buf.le_at::<8>(id_ns::NSZE)?,
                ms: buf.le_at::<2>(lbaf)? as u16,
                lba_shift: u32::from(buf.u8_at(lbaf + id_ns::LBAF_LBADS)?),
            };
            if let Some(why) = geo.unsupported() {
                dev_info!(dev, "nvme{}n{}: skipped: {}\n", self.instance, nsid, why);
                continue;
            }
            let lim = Limits {
                lba_shift: geo.lba_shift,
                capacity_sectors: geo.capacity_sectors(),
                max_hw_sectors,
                page_size,
                write_cache: id.vwc & VWC_PRESENT != 0,
            };
            let ns = NsInfo { nsid, lba_shift: geo.lba_shift, instance: self.instance };
            let disk = Disk::new(tagset, ns, &lim, &self.pdev)?;
            dev_info!(dev, "nvme{}n{}: {} blocks of {} bytes\n", self.instance, disk.ns().nsid, geo.nsze, 1u32 << geo.lba_shift);
            inner.disks.push(disk, GFP_KERNEL)?;
        }
        Ok(())
    }

    /// Releases what bring-up built, in reverse; with `shutdown`, deletes the I/O queues
    /// and shuts the controller down first (C: `nvme_dev_disable`).
    fn teardown(&self, inner: &mut Inner, shutdown: bool) {
        // Removing a disk drains its I/O, so nothing is in flight afterwards.
        inner.disks.clear();
        let alive = self.csts().map_or(false, |c| c.into_raw() != regs::REG_DEAD);
        if let (true, true, Some(admin), Some(ts)) = (shutdown, alive, inner.admin.clone(), inner.tagset.as_ref()) {
            for qp in ts.queues().iter().rev() {
                let _ = self.admin(&admin, AdminOpcode::DeleteSq, Command::delete_sq(qp.qid));
                let _ = self.admin(&admin, AdminOpcode::DeleteCq, Command::delete_cq(qp.qid));
            }
        }
        if shutdown && alive {
            let _ = self.shutdown();
        } else if alive {
            // A failed bring-up: disabling the controller deletes every queue it has.
            if let Some(cap) = inner.cap {
                let _ = self.disable(cap);
            }
        }
        // Handlers first: they reach into the queues and the tag set.
        if let Some(v) = inner.vectors.as_mut() {
            v.free_handlers();
        }
        inner.tagset = None;
        inner.admin = None;
        inner.vectors = None;
    }

    /// Normal shutdown: CC.SHN, then wait for CSTS.SHST complete (C: `nvme_disable_ctrl`).
    fn shutdown(&self) -> Result {
        {
            let bar = self.bar.try_access().ok_or(ENODEV)?;
            let cc = bar.read(regs::CC);
            if !cc.en() {
                return Ok(());
            }
            bar.write_reg(cc.with_shn(Shn::Normal));
        }
        self.wait_csts("shutdown (CSTS.SHST)", SHUTDOWN_TIMEOUT_MS as u32, |c| c.shst() == Ok(Shst::Complete))
    }

    /// Removes the controller: waits for bring-up, then tears everything down.
    pub(crate) fn remove(&self) {
        self.change_state(State::Deleting);
        // SAFETY: `reset_work` is a field of `self`, initialised by `new`.
        unsafe { kernel::bindings::flush_work(Work::raw_get(&raw const self.reset_work)) };
        let mut inner = self.inner.lock();
        self.teardown(&mut inner, true);
    }
}

#[pinned_drop]
impl PinnedDrop for Ctrl {
    fn drop(self: Pin<&mut Self>) {
        instance_put(self.instance);
    }
}

#[kunit_tests(rust_nvme_ctrl)]
mod tests {
    use super::*;

    #[test]
    fn state_transitions() {
        use State::*;
        assert!(New.can_change_to(Connecting));
        assert!(Connecting.can_change_to(Live));
        assert!(Live.can_change_to(Resetting));
        assert!(Resetting.can_change_to(Connecting));
        assert!(Live.can_change_to(Deleting));
        assert!(Connecting.can_change_to(Dead));
        assert!(!New.can_change_to(Live));
        assert!(!Live.can_change_to(Connecting));
        assert!(!Dead.can_change_to(Live));
        assert!(!Deleting.can_change_to(Connecting));
        assert!(!Deleting.can_change_to(Live));
        assert!(!Dead.can_change_to(Resetting));
    }

    #[test]
    fn queue_count_negotiation() {
        // One per CPU when everything allows it.
        assert_eq!(io_queue_count(4, 64, 5), 4);
        // The controller grants fewer.
        assert_eq!(io_queue_count(4, 2, 5), 2);
        // Fewer vectors than CPUs: one is the admin queue's.
        assert_eq!(io_queue_count(4, 64, 3), 2);
        // One shared vector: one I/O queue, sharing vector 0.
        assert_eq!(io_queue_count(4, 64, 1), 1);
        assert_eq!(io_queue_vector(1, 1), 0);
        assert_eq!(io_queue_vector(3, 5), 3);
        // Nothing granted.
        assert_eq!(io_queue_count(4, 0, 5), 0);
    }

    #[test]
    fn namespace_geometry() {
        let g = NsGeometry { nsze: 1 << 21, lba_shift: 9, ms: 0 };
        assert_eq!(g.unsupported(), None);
        assert_eq!(g.capacity_sectors(), 1 << 21);
        // 4 KiB blocks, far beyond 2 TiB: 64-bit sector math.
        let g = NsGeometry { nsze: 1 << 40, lba_shift: 12, ms: 0 };
        assert_eq!(g.unsupported(), None);
        assert_eq!(g.capacity_sectors(), 1 << 43);
        assert!(NsGeometry { nsze: 0, lba_shift: 9, ms: 0 }.unsupported().is_some());
        assert!(NsGeometry { nsze: 8, lba_shift: 9, ms: 8 }.unsupported().is_some());
        assert!(NsGeometry { nsze: 8, lba_shift: 16, ms: 0 }.unsupported().is_some());
        assert!(NsGeometry { nsze: u64::MAX, lba_shift: 12, ms: 0 }.unsupported().is_some());
    }
}
