// SPDX-License-Identifier: GPL-2.0

//! Namespace scan: the active namespace list against the disks the controller has.
//!
//! C counterparts: `nvme_scan_work`, `nvme_scan_ns_list`, `nvme_validate_ns`,
//! `nvme_ns_remove`. The same scan runs at bring-up, on `rescan_controller` /
//! `NVME_IOCTL_RESCAN`, and on a Namespace Attribute Changed notice: a newly active
//! namespace gets its disk, an inactive one loses it (marked dead first, so I/O fails
//! fast), a resized or reformatted one is updated in place (new capacity with a uevent,
//! new block size), after `inner` is released: the update freezes the disk's queue,
//! which waits for requests that a reset may have to complete.

use kernel::{
    prelude::*,
    str::CString,
    sync::{
        atomic::Relaxed,
        Arc, //
    },
};

use super::{
    AdminQueue,
    Ctrl,
    Disk,
    DiskRef,
    NsInfo,
    State,
    TagSet,
    IDENTIFY_LOG_SIZE, //
};
use crate::{
    diag::{
        fault_inject::NvmeFault,
        log::{
            ctrl_err,
            ctrl_warn,
            ns_err,
            ns_info,
            ns_warn, //
        },
    },
    mq::{
        self,
        Limits, //
    },
    spec::{
        cmd::{
            AdminOpcode,
            Cns,
            Command,
            LogPage,
            NSID_ALL, //
        },
        identify::{
            IdBuf,
            IdCtrl,
            NsIdList, //
        },
        identify_ns::IdentifyNs,
    },
};

/// The most NSIDs a scan without a namespace list identifies one by one.
const MAX_SEQUENTIAL_NSID: u32 = 1024;

/// What Identify Namespace says about a namespace the driver can expose.
pub(super) struct Found {
    pub(super) ns: NsInfo,
    pub(super) lim: Limits,
    pub(super) nsze: u64,
    /// Deallocated blocks read as zeroes (DLFEAT).
    pub(super) reads_zeroes: bool,
    /// Why block I/O cannot address it (the disk then has capacity 0).
    pub(super) no_block_io: Option<&'static str>,
}

/// What a scan leaves to do once `inner` is released.
#[derive(Default)]
pub(super) struct ScanOutcome {
    /// Disks of namespaces that are gone, marked dead, to delete.
    pub(super) removed: KVec<Disk>,
    /// Disks whose namespace changed (capacity, LBA format), to update in place.
    updates: KVec<(DiskRef, Found)>,
    /// Zoned disks whose zones are to be read again (C revalidates them on every scan:
    /// a reset or a notice may have changed their conditions).
    revalidate: KVec<DiskRef>,
    /// New namespaces, their disk numbers reserved (in `retired_ids`), to add: adding a
    /// disk reads its partition table, I/O that may need a reset, which takes `inner`.
    added: KVec<(Arc<TagSet>, Found)>,
}

/// The namespaces as disks (C: `ctrl->namespaces`): one part of the composed [`Ctrl`],
/// under its `inner` lock, which also serialises reset, scan and removal.
#[derive(Default)]
pub(super) struct Namespaces {
    /// The namespaces' disks; they go before the tag set they use (in `Hw`: see
    /// [`Ctrl::release`]).
    pub(super) disks: KVec<Disk>,
    /// Disk numbers of disks taken out of `disks` but not yet deleted (still named).
    retired_ids: KVec<u32>,
}

impl Namespaces {
    /// The lowest disk number from 1 that no disk uses (C: `ida_alloc_min(.., 1, ..)` on
    /// the subsystem's namespace instances).
    fn free_disk_id(&self) -> u32 {
        (1..)
            .find(|n| {
                !self.disks.iter().any(|d| d.ns().disk_id == *n) && !self.retired_ids.contains(n)
            })
            .unwrap_or(u32::MAX)
    }

    /// Takes the disk at `pos` out of service: marked dead (I/O fails fast), moved to
    /// `removed` for deletion outside `inner`, its number kept until then.
    fn retire_disk(&mut self, pos: usize, removed: &mut KVec<Disk>) -> Result {
        let d = self.disks.remove(pos)?;
        d.mark_dead();
        self.retired_ids.push(d.ns().disk_id, GFP_KERNEL)?;
        removed.push(d, GFP_KERNEL)?;
        Ok(())
    }
}

impl Ctrl {
    /// Queues a namespace scan (C: `nvme_queue_scan`); only while live.
    pub(crate) fn queue_scan(&self) {
        if self.state() == State::Live {
            // `Err` means it is already queued, which is what was asked.
            self.queue_work::<1>();
        }
    }

    /// The scan work (C: `nvme_scan_work`).
    pub(super) fn scan_work_fn(&self) {
        let mut out = ScanOutcome::default();
        {
            let mut inner = self.inner.lock();
            if self.state() != State::Live || self.tagset().is_none() {
                return;
            }
            let Some(admin) = self.admin.lock().clone() else {
                return;
            };
            if self.take_ns_changed() {
                self.clear_changed_ns_log(&admin);
            }
            if let Err(e) = self.scan_namespaces(&mut inner, &admin, &mut out) {
                ctrl_warn!(self.instance, "namespace scan failed ({:?})\n", e);
            }
        }
        // Updating a disk freezes its queue and deleting one waits for its I/O: never
        // while holding `inner`, which a reset (that such I/O may need) takes.
        for (d, f) in core::mem::take(&mut out.updates) {
            self.update_disk(d, f, &mut out.removed);
        }
        for d in core::mem::take(&mut out.revalidate) {
            if let Err(e) = d.view().revalidate_zones() {
                self.warn_zones(d.view().ns().disk_id, e);
            }
        }
        for (ts, f) in core::mem::take(&mut out.added) {
            let id = f.ns.disk_id;
            let disk = self.add_disk(&ts, f);
            let mut inner = self.inner.lock();
            inner.retired_ids.retain(|x| *x != id);
            if let Ok(disk) = disk {
                // The controller died while the disk was being added: as `kill` leaves
                // every other disk.
                if ts.is_dead() {
                    disk.mark_dead();
                }
                if inner.disks.push(disk, GFP_KERNEL).is_err() {
                    ns_err!(self.instance, id, "out of memory\n");
                }
            }
        }
        // Its number is free once a disk is gone.
        let mut gone = KVec::new();
        for d in out.removed {
            let id = d.ns().disk_id;
            ns_info!(self.instance, id, "namespace {} removed\n", d.ns().nsid);
            drop(d);
            let _ = gone.push(id, GFP_KERNEL);
        }
        if !gone.is_empty() {
            self.inner
                .lock()
                .retired_ids
                .retain(|id| !gone.contains(id));
        }
    }

    /// Applies what Identify Namespace now says to an existing disk (C:
    /// `nvme_update_ns_info_block` on a revalidation); a disk the block layer refuses
    /// the new limits of is removed, as C removes it.
    fn update_disk(&self, d: DiskRef, f: Found, removed: &mut KVec<Disk>) {
        let ns = d.view().ns();
        let (id, nsid) = (ns.disk_id, ns.nsid);
        let (old_bs, old_cap) = (d.view().block_size(), d.view().capacity_sectors());
        let zone_sectors = f.ns.zone_sectors.load(Relaxed);
        let res = d.update(&f.lim, &f.ns);
        if res.is_ok() && zone_sectors != 0 {
            if let Err(e) = d.view().revalidate_zones() {
                self.warn_zones(id, e);
            }
        }
        match res {
            Ok(()) => match f.no_block_io {
                Some(why) => self.warn_passthrough_only(id, nsid, why),
                None if old_bs != 1 << f.lim.lba_shift || old_cap == 0 => ns_info!(
                    self.instance,
                    id,
                    "namespace {} now {} blocks of {} bytes\n",
                    nsid,
                    f.nsze,
                    1u32 << f.lim.lba_shift
                ),
                None => ns_info!(self.instance, id, "capacity changed to {} blocks\n", f.nsze),
            },
            Err(e) => {
                ns_err!(
                    self.instance,
                    id,
                    "namespace {}: new limits refused ({:?}); removing the disk\n",
                    nsid,
                    e
                );
                drop(d);
                let mut inner = self.inner.lock();
                if let Some(p) = inner.disks.iter().position(|x| x.ns().disk_id == id) {
                    let _ = inner.retire_disk(p, removed);
                }
            }
        }
    }

    /// Says that the zones of disk `id` could not be read (C goes on with the disk).
    fn warn_zones(&self, id: u32, e: Error) {
        ns_warn!(self.instance, id, "zone revalidation failed ({:?})\n", e);
    }

    /// Says why disk `id` (namespace `nsid`) has capacity 0.
    fn warn_passthrough_only(&self, id: u32, nsid: u32, why: &str) {
        ns_warn!(
            self.instance,
            id,
            "namespace {}: {}; capacity 0, passthrough only\n",
            nsid,
            why
        );
    }

    /// Reads the Changed Namespace List with RAE clear, which acknowledges the notice so
    /// that the controller sends the next one (C: `nvme_clear_changed_ns_log`). The list
    /// itself is not trusted: the scan compares the whole active list.
    fn clear_changed_ns_log(&self, admin: &AdminQueue) {
        let Ok(buf) = self.bound_dev().and_then(|dev| IdBuf::new(&dev)) else {
            return;
        };
        let cmd = Command::get_log_page(
            LogPage::ChangedNsList,
            NSID_ALL,
            buf.dma(),
            IDENTIFY_LOG_SIZE,
            false,
        );
        if self
            .admin_data(admin, AdminOpcode::GetLogPage, cmd, &buf)
            .is_err()
        {
            ctrl_warn!(self.instance, "reading the changed namespace log failed\n");
        }
    }

    /// Compares the active namespaces with the disks: adds disks, moves the disks of
    /// namespaces that are gone into `out.removed` (marked dead), and those of namespaces
    /// that changed into `out.updates`, for the caller to finish once it has released
    /// `inner`.
    pub(super) fn scan_namespaces(
        &self,
        inner: &mut Namespaces,
        admin: &AdminQueue,
        out: &mut ScanOutcome,
    ) -> Result {
        let Some(id) = self.facts.id() else {
            return Err(EINVAL);
        };
        let nsids = self.active_nsids(admin, &id)?;
        let mut i = 0;
        while i < inner.disks.len() {
            if nsids.contains(&inner.disks[i].ns().nsid) {
                i += 1;
                continue;
            }
            inner.retire_disk(i, &mut out.removed)?;
        }
        for nsid in nsids {
            // As C: a namespace that cannot be identified is skipped, not the scan (but
            // a controller that stopped answering ends it).
            let found = match self.identify_ns(admin, nsid) {
                Ok(f) => f,
                Err(e) if e == ETIMEDOUT || e == ENODEV => return Err(e),
                Err(e) => {
                    ctrl_warn!(
                        self.instance,
                        "namespace {} skipped: Identify failed ({:?})\n",
                        nsid,
                        e
                    );
                    continue;
                }
            };
            if !self.scan_found(inner, nsid, found, out)? {
                break;
            }
        }
        Ok(())
    }

    /// The active namespaces, from the Active Namespace List, or every NSID up to NN
    /// without one (before NVMe 1.1, or with the quirk; those of size 0 are inactive:
    /// C's `nvme_scan_ns_sequential`), within a bound C does not have.
    fn active_nsids(&self, admin: &AdminQueue, id: &IdCtrl) -> Result<KVec<u32>> {
        let mut nsids = KVec::new();
        if !self.id_cns_ok(Cns::ActiveNsList) {
            if id.nn > MAX_SEQUENTIAL_NSID {
                ctrl_warn!(
                    self.instance,
                    "NN {} without a namespace list; scanning the first {}\n",
                    id.nn,
                    MAX_SEQUENTIAL_NSID
                );
            }
            for nsid in 1..=id.nn.min(MAX_SEQUENTIAL_NSID) {
                nsids.push(nsid, GFP_KERNEL)?;
            }
            return Ok(nsids);
        }
        let list = self.bound_dev().and_then(|dev| IdBuf::new(&dev))?;
        self.admin_data(
            admin,
            AdminOpcode::Identify,
            Command::identify(Cns::ActiveNsList, 0, list.dma()),
            &list,
        )?;
        for &nsid in list.read::<NsIdList>()?.iter() {
            if nsid == 0 {
                break;
            }
            if nsid > id.nn {
                ctrl_warn!(
                    self.instance,
                    "active namespace {} beyond NN {}; ignored\n",
                    nsid,
                    id.nn
                );
                continue;
            }
            nsids.push(nsid, GFP_KERNEL)?;
        }
        Ok(nsids)
    }

    /// Sets what becomes of namespace `nsid`'s disk now that Identify found `found`
    /// (`None`: nothing the driver can expose): added, updated, revalidated or retired,
    /// into `out`. Returns false when the scan must stop (no tag set to add disks to).
    fn scan_found(
        &self,
        inner: &mut Namespaces,
        nsid: u32,
        found: Option<Found>,
        out: &mut ScanOutcome,
    ) -> Result<bool> {
        let pos = inner.disks.iter().position(|d| d.ns().nsid == nsid);
        match (found, pos) {
            (None, None) => {}
            (None, Some(p)) => inner.retire_disk(p, &mut out.removed)?,
            // Another namespace under the same NSID (deleted and created again, of
            // another command set perhaps): its disk goes, as in C
            // (`nvme_validate_ns`); the next scan adds the new one.
            (Some(f), Some(p)) if inner.disks[p].ns().ids != f.ns.ids => {
                ctrl_err!(self.instance, "identifiers changed for nsid {}\n", nsid);
                inner.retire_disk(p, &mut out.removed)?;
            }
            (Some(f), Some(p)) => {
                let d = &inner.disks[p];
                let ns = d.ns();
                // For sysfs only (I/O never looks at it): no freeze needed.
                ns.diag.ms.store(f.ns.diag.ms.load(Relaxed), Relaxed);
                if d.capacity_sectors() != f.lim.capacity_sectors
                    || d.block_size() != 1 << f.lim.lba_shift
                    || ns.lba_shift() != f.ns.lba_shift()
                    || ns.block_io() != f.ns.block_io()
                    || ns.zone_sectors.load(Relaxed) != f.ns.zone_sectors.load(Relaxed)
                    || ns.meta.load(Relaxed) != f.ns.meta.load(Relaxed)
                {
                    out.updates.push((d.get(), f), GFP_KERNEL)?;
                } else if ns.zone_sectors.load(Relaxed) != 0 {
                    out.revalidate.push(d.get(), GFP_KERNEL)?;
                }
            }
            (Some(mut f), None) => {
                let Some(tagset) = self.tagset() else {
                    return Ok(false);
                };
                f.ns.disk_id = inner.free_disk_id();
                inner.retired_ids.push(f.ns.disk_id, GFP_KERNEL)?;
                let name = CString::try_from_fmt(fmt!("nvme{}n{}", self.instance, f.ns.disk_id))?;
                f.ns.fault = NvmeFault::new(&name);
                out.added.push((tagset, f), GFP_KERNEL)?;
            }
        }
        Ok(true)
    }

    /// Adds the disk of a namespace.
    fn add_disk(&self, tagset: &TagSet, f: Found) -> Result<Disk> {
        let (nsid, id, lba_shift) = (f.ns.nsid, f.ns.disk_id, f.ns.lba_shift());
        ns_info!(
            self.instance,
            id,
            "deallocated blocks read {}{}\n",
            if f.reads_zeroes {
                "as zeroes"
            } else {
                "as unspecified data"
            },
            if f.ns.deac {
                "; Write Zeroes can deallocate"
            } else {
                ""
            }
        );
        let disk = self.with_class_device(|parent| {
            let (disk, zones) = mq::Disk::new(tagset, f.ns, &f.lim, parent)?;
            if let Err(e) = zones {
                self.warn_zones(id, e);
            }
            // As C, a namespace without its generic device still has its disk.
            let ng = (self.devices.ifaces().ng_device)(disk.get(), self.instance, id, parent)
                .inspect_err(|_| {
                    dev_err!(
                        self.dev(),
                        "Unable to create the ng{}n{} device\n",
                        self.instance,
                        id
                    )
                })
                .ok();
            Ok(Disk { _ng: ng, disk })
        })?;
        // The tag set's timeout is the module parameter's; sysfs may have changed it.
        disk.set_timeout_ms(self.diag.io_timeout_ms.load(Relaxed));
        match f.no_block_io {
            None => ns_info!(
                self.instance,
                id,
                "namespace {}, {} blocks of {} bytes\n",
                nsid,
                f.nsze,
                1u32 << lba_shift
            ),
            Some(why) => self.warn_passthrough_only(id, nsid, why),
        }
        Ok(disk)
    }
}

impl Ctrl {
    /// Namespace Utilization of namespace `nsid` as the controller reports it now (C:
    /// `ns_update_nuse`).
    ///
    /// # Errors
    ///
    /// `ENODEV` without a working controller (or once removal began); what Identify
    /// Namespace fails with.
    pub(crate) fn read_nuse(&self, nsid: u32) -> Result<u64> {
        let gate = self.passthru_gate()?;
        let buf = IdBuf::new(gate.dev())?;
        let admin = self.admin.lock().clone().ok_or(ENODEV)?;
        self.admin_data(
            &admin,
            AdminOpcode::Identify,
            Command::identify(Cns::Namespace, nsid, buf.dma()),
            &buf,
        )?;
        Ok(buf.read::<IdentifyNs>()?.nuse)
    }

    /// Sets the I/O timeout of every disk, and of disks added later, to `ms` (C:
    /// `nvme_io_timeout_store`).
    pub(crate) fn set_io_timeout(&self, ms: u32) {
        let inner = self.inner.lock();
        self.diag.io_timeout_ms.store(ms, Relaxed);
        for d in inner.disks.iter() {
            d.set_timeout_ms(ms);
        }
    }
}
