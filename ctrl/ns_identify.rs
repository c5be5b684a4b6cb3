// SPDX-License-Identifier: GPL-2.0

//! Identifying a namespace for the scan: Identify Namespace and its LBA format, the
//! namespace identifiers, the command set's view (zones, effects) and the limits of its
//! disk (C: `nvme_identify_ns`, `nvme_ns_info_from_identify`, `nvme_update_ns_info`).

use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, //
    },
};

use super::{
    ns::Found,
    AdminQueue,
    Ctrl,
    Frozen,
    NsInfo, //
};
use crate::{
    abstractions::gendisk::ZonedLimits,
    diag::{
        errors::NsDiag,
        log::{
            ctrl_info,
            ctrl_warn, //
        },
    },
    hw::quirks::Quirks,
    mq::Limits,
    spec::{
        cmd::{
            AdminOpcode,
            Cns,
            Command, //
        },
        cmd_effects::Effects,
        identify::{
            IdBuf,
            IdCtrl,
            NsDescList,
            ONCS_DSM,
            ONCS_WRITE_ZEROES,
            VWC_PRESENT, //
        },
        identify_ns::{
            csi,
            IdentifyNs,
            NsGeometry,
            NsIds,
            NsUse, //
        },
        pi::{
            IdentifyNsNvm,
            MetaUse, //
        },
        regs::{
            self,
            Cap, //
        },
    },
};

/// What a namespace's command set makes of its disk ([`Ctrl::command_set`]).
struct CommandSet {
    /// C's hidden disk of capacity 0: a command set without block device support.
    hidden: bool,
    /// The zone limits of a zoned disk.
    zoned: Option<ZonedLimits>,
    /// Zone Append is not supported: the disk is read-only, as C forces it.
    read_only: bool,
    /// The Commands Supported and Effects of its command set.
    effects: Arc<Effects>,
}

impl Ctrl {
    /// Identify Namespace of `nsid` into `buf`, and the LBA format in use with its
    /// metadata (C: `nvme_identify_ns`, `nvme_identify_ns_nvm` where the controller has
    /// extended LBA formats); `None` (logged) when FLBAS names a format the namespace
    /// does not have.
    fn read_geometry(
        &self,
        admin: &AdminQueue,
        nsid: u32,
        buf: &Arc<IdBuf>,
    ) -> Result<Option<(KBox<IdentifyNs>, NsGeometry)>> {
        self.admin_data(
            admin,
            AdminOpcode::Identify,
            Command::identify(Cns::Namespace, nsid, buf.dma()),
            buf,
        )?;
        let id = buf.read::<IdentifyNs>()?;
        let elbaf = if self.facts.elbas() && self.id_cns_ok(Cns::NsCsi) {
            self.admin_data(
                admin,
                AdminOpcode::Identify,
                Command::identify_csi(Cns::NsCsi, csi::NVM, nsid, buf.dma()),
                buf,
            )?;
            let nvm = buf.read::<IdentifyNsNvm>()?;
            nvm.elbaf.get(id.lbaf_index()).copied()
        } else {
            None
        };
        Ok(self.ns_geometry(&id, nsid, elbaf).map(|g| (id, g)))
    }

    /// The LBA format in use and the size, from Identify Namespace data `id`; `None`
    /// (logged) when FLBAS names a format the namespace does not have.
    fn ns_geometry(&self, id: &IdentifyNs, nsid: u32, elbaf: Option<u32>) -> Option<NsGeometry> {
        let geo = id.geometry(elbaf);
        if geo.is_none() {
            ctrl_warn!(
                self.instance,
                "namespace {}: FLBAS {:#x} names a format beyond NLBAF {}; skipped\n",
                nsid,
                id.flbas,
                id.nlbaf
            );
        }
        geo
    }

    /// Tells the namespaces of frozen disks their LBA format as Identify Namespace now
    /// reports it, before their I/O resumes after a command that may have changed it.
    /// The queue limits follow with the rescan; until then a request the new format
    /// cannot express fails in `queue_rq` instead of reaching the controller sized in
    /// old blocks, which would have it move more data than the buffer holds (C resumes
    /// I/O before its rescan and leaves that window open). A namespace whose format
    /// cannot be read gets no block I/O until the rescan.
    pub(super) fn refresh_formats(&self, frozen: &Frozen, buf: &Arc<IdBuf>) {
        let admin = self.admin.lock().clone();
        for d in frozen.disks() {
            let ns = d.ns();
            let geo = admin
                .as_ref()
                .and_then(|a| self.read_geometry(a, ns.nsid, buf).ok().flatten())
                .map(|(_, g)| g);
            match geo {
                Some(g) => {
                    // A zoned disk keeps its zones only in the same block size; the
                    // rescan sets up anything else.
                    let zoned = ns.zone_sectors.load(Relaxed) != 0 && ns.lba_shift() == g.lba_shift;
                    ns.lba_shift.store(g.lba_shift, Relaxed);
                    ns.meta.store(g.meta.to_bits(), Relaxed);
                    ns.diag.ms.store(u32::from(g.ms), Relaxed);
                    let block = g.usage() == NsUse::Block && (ns.ids.csi == csi::NVM || zoned);
                    ns.block_io.store(block, Relaxed);
                }
                None => ns.block_io.store(false, Relaxed),
            }
        }
    }

    /// Identify Namespace and its identifiers; `None` for a namespace the driver cannot
    /// expose (inactive, zero capacity, metadata, block size), with the reason logged.
    pub(super) fn identify_ns(&self, admin: &AdminQueue, nsid: u32) -> Result<Option<Found>> {
        let (Some(id), Some(cap)) = (self.facts.id(), self.facts.cap()) else {
            return Err(EINVAL);
        };
        let buf = self.bound_dev().and_then(|dev| IdBuf::new(&dev))?;
        let Some((idns, geo)) = self.read_geometry(admin, nsid, &buf)? else {
            return Ok(None);
        };
        let mut no_block_io = match geo.usage() {
            NsUse::Block => None,
            NsUse::PassthroughOnly(why) => Some(why),
            NsUse::Skip(why) => {
                ctrl_info!(self.instance, "namespace {} skipped: {}\n", nsid, why);
                return Ok(None);
            }
        };
        let ids = self.ns_ids(admin, nsid, cap, &buf, &idns)?;
        let set = self.command_set(admin, nsid, ids.csi, &idns, &geo)?;
        if set.hidden {
            no_block_io = Some("I/O command set without block device support");
        }
        let lim = self.ns_limits(&id, cap, &idns, &geo, &set, no_block_io.is_none());
        let feat = idns.features();
        let write_zeroes =
            id.oncs & ONCS_WRITE_ZEROES != 0 && !self.quirks.has(Quirks::DISABLE_WRITE_ZEROES);
        let zeroes_by_dsm = id.oncs & ONCS_DSM != 0 && self.quirks.has(Quirks::DEALLOCATE_ZEROES);
        let ident = self.facts.identity();
        let ns = NsInfo {
            ids,
            diag: NsDiag::new(geo.ms, idns.nuse),
            fault: None,
            ctrl: self.arc().ok_or(ENODEV)?,
            effects: set.effects,
            vid: ident.map_or(0, |i| i.vid),
            sn: ident.map_or([0; 20], |i| i.sn),
            mn: ident.map_or([0; 40], |i| i.mn),
            nsid,
            // Numbered when its disk is added.
            disk_id: 0,
            lba_shift: Atomic::new(geo.lba_shift),
            block_io: Atomic::new(no_block_io.is_none()),
            instance: self.instance,
            dsm: id.oncs & ONCS_DSM != 0,
            write_zeroes,
            zeroes_by_dsm,
            deac: feat.deac(),
            zone_sectors: Atomic::new(lim.zoned.map_or(0, |z| u64::from(z.zone_sectors))),
            meta: Atomic::new(geo.meta.to_bits()),
        };
        Ok(Some(Found {
            ns,
            lim,
            nsze: geo.nsze,
            reads_zeroes: feat.reads_zeroes(),
            no_block_io,
        }))
    }

    /// A namespace's identifiers: Identify Namespace's NGUID and EUI64, then the
    /// descriptor list (NVMe 1.3+), which also gives the UUID and the command set (C:
    /// `nvme_identify_ns_descs`). With all I/O command sets enabled every namespace must
    /// say which it runs: one whose list cannot be read is skipped, as in C.
    fn ns_ids(
        &self,
        admin: &AdminQueue,
        nsid: u32,
        cap: Cap,
        buf: &Arc<IdBuf>,
        idns: &IdentifyNs,
    ) -> Result<NsIds> {
        let mut ids = idns.ids();
        let multi_css = regs::cc_css(cap) == regs::CC_CSS_CSI;
        if (self.vs_at_least(1, 3) || multi_css) && !self.quirks.has(Quirks::NO_NS_DESC_LIST) {
            self.admin_data(
                admin,
                AdminOpcode::Identify,
                Command::identify(Cns::NsDescList, nsid, buf.dma()),
                buf,
            )
            .inspect_err(|e| {
                ctrl_warn!(
                    self.instance,
                    "Identify Descriptors failed (nsid={}, {:?})\n",
                    nsid,
                    e
                )
            })?;
            let csi_seen = match ids.merge_descs(&*buf.read::<NsDescList>()?) {
                Ok(seen) => seen,
                Err(_) => {
                    ctrl_warn!(
                        self.instance,
                        "namespace {}: malformed namespace identification descriptor\n",
                        nsid
                    );
                    false
                }
            };
            if multi_css && !csi_seen {
                ctrl_warn!(
                    self.instance,
                    "Command set not reported for nsid:{}\n",
                    nsid
                );
                return Err(EINVAL);
            }
        }
        if self.quirks.has(Quirks::BOGUS_NID) {
            // Garbage identifiers (the same on every controller of a model, or changing):
            // C ignores them, so `wwid` falls back to vendor, serial, model and NSID and
            // the by-id names match nvme.ko's.
            ctrl_info!(self.instance, "Ignoring bogus Namespace Identifiers\n");
            ids = ids.command_set_only();
        }
        Ok(ids)
    }

    /// What the namespace's command set `csi` makes of its disk. A zoned namespace is a
    /// zoned disk (C: `nvme_update_ns_info_block` with `nvme_query_zone_info`); a zoned
    /// namespace whose zones the block layer cannot take, or one of another command set,
    /// gets C's hidden disk of capacity 0 with C's messages
    /// (`nvme_update_ns_info_generic`, `-ENODEV`).
    fn command_set(
        &self,
        admin: &AdminQueue,
        nsid: u32,
        csi: u8,
        idns: &IdentifyNs,
        geo: &NsGeometry,
    ) -> Result<CommandSet> {
        let effects = self.facts.effects().ok_or(EINVAL)?;
        let mut set = CommandSet {
            hidden: true,
            zoned: None,
            read_only: false,
            effects,
        };
        match csi {
            csi::NVM => set.hidden = false,
            csi::ZONED if cfg!(CONFIG_BLK_DEV_ZONED) => {
                match self.zoned_ns(admin, nsid, idns.lbaf_index(), geo.lba_shift) {
                    Ok(z) => {
                        set.hidden = z.limits.is_none();
                        (set.zoned, set.read_only, set.effects) =
                            (z.limits, z.read_only, z.effects);
                    }
                    Err(e) if e == ETIMEDOUT || e == ENODEV => return Err(e),
                    Err(_) => ctrl_warn!(
                        self.instance,
                        "zone info query failed for nsid {}, not enabling zoned mode\n",
                        nsid
                    ),
                }
            }
            csi::ZONED => ctrl_info!(
                self.instance,
                "block device for nsid {} not supported without CONFIG_BLK_DEV_ZONED\n",
                nsid
            ),
            _ => ctrl_info!(
                self.instance,
                "block device for nsid {} not supported (csi {})\n",
                nsid,
                csi
            ),
        }
        Ok(set)
    }

    /// The queue limits of a namespace's disk (C: `nvme_update_disk_info` and the
    /// limits `nvme_update_ns_info_block` sets); `block_io`: the block layer can address
    /// it (else capacity 0, no zones, no integrity).
    #[expect(clippy::too_many_arguments, reason = "each is one Identify source")]
    fn ns_limits(
        &self,
        id: &IdCtrl,
        cap: Cap,
        idns: &IdentifyNs,
        geo: &NsGeometry,
        set: &CommandSet,
        block_io: bool,
    ) -> Limits {
        // The block size the disk advertises; all limits are in its units.
        let shift = geo.disk_lba_shift();
        let feat = idns.features();
        let zoned = if block_io { set.zoned } else { None };
        let write_zeroes =
            id.oncs & ONCS_WRITE_ZEROES != 0 && !self.quirks.has(Quirks::DISABLE_WRITE_ZEROES);
        let zeroes_by_dsm = id.oncs & ONCS_DSM != 0 && self.quirks.has(Quirks::DEALLOCATE_ZEROES);
        let max_hw_sectors = self.facts.max_hw_sectors();
        Limits {
            lba_shift: shift,
            capacity_sectors: if block_io { geo.capacity_sectors() } else { 0 },
            max_hw_sectors,
            page_size: self.facts.page_size(),
            write_cache: id.vwc & VWC_PRESENT != 0,
            io_min: feat.io_min(shift),
            io_opt: feat.io_opt(shift),
            max_discard_sectors: if id.oncs & ONCS_DSM != 0 {
                self.facts.nvm().max_discard_sectors(shift)
            } else {
                0
            },
            discard_granularity: feat.discard_granularity(shift),
            max_write_zeroes_sectors: if zeroes_by_dsm {
                u32::MAX
            } else if write_zeroes {
                self.facts
                    .nvm()
                    .max_write_zeroes_sectors(cap.mps_min_shift(), max_hw_sectors)
            } else {
                0
            },
            wzeroes_unmap: feat.deac(),
            poll: self.tagset().is_some_and(|t| t.split().1 > 0),
            sgl: crate::spec::sgl::supported(id.sgls),
            hidden: set.hidden,
            chunk_sectors: crate::mq::io_boundary(
                idns.noiob,
                shift,
                max_hw_sectors,
                self.quirks.has(Quirks::STRIPE_SIZE),
                zoned.is_some(),
            ),
            zoned,
            read_only: set.read_only,
            integrity: match geo.meta.usage() {
                MetaUse::Integrity(p) if block_io => Some(p),
                _ => None,
            },
        }
    }
}
