// SPDX-License-Identifier: GPL-2.0

//! Namespace disks: the queue limits a namespace implies, adding its gendisk, updating
//! it in place, and passthrough I/O on its queue (over `crate::abstractions::gendisk`).

use core::fmt::Write;

use kernel::{
    prelude::*,
    sync::atomic::Relaxed,
    transmute::FromBytes, //
};

use super::{
    IoController,
    NsInfo,
    Ops,
    Pdu,
    TagSet,
    MAX_SEGMENTS, //
};
use crate::{
    abstractions::{
        blk_mq::{
            BlkStatus,
            Operations, //
        },
        gendisk::{
            self,
            BlkZone,
            DiskOperations,
            DiskParams,
            DrvData,
            GenDisk,
            IntegrityCsum,
            IntegrityLimits,
            QueueLimits,
            ZoneReport,
            ZonedLimits, //
        },
        io_uring::{
            DrvEnd,
            IoUringCmd,
            Queued, //
        },
    },
    diag::log::ns_err,
    spec::cmd::{
        Command,
        DSM_MAX_RANGES, //
    },
    spec::pi::{
        Checksum,
        Profile, //
    },
    spec::status::Status,
    spec::zns::{
        self,
        BadZoneType,
        ZoneDescriptor,
        ZoneReportHeader, //
    },
};

/// A counted reference to a namespace disk (C: `nvme_get_ns`).
pub(crate) type DiskRef<C> = gendisk::DiskRef<Ops<C>>;
/// A namespace disk, borrowed.
pub(crate) type DiskView<'a, C> = gendisk::DiskView<'a, Ops<C>>;
/// Namespace disks with their queues frozen.
pub(crate) type Frozen<C> = gendisk::Frozen<Ops<C>>;

/// The boundary I/O should not cross, in sectors (C: `nvme_set_chunk_sectors`): the
/// largest transfer for a controller whose stripes are that size (`stripe`, C's
/// `NVME_QUIRK_STRIPE_SIZE`, when it is a power of two), else the namespace's Optimal
/// I/O Boundary (`noiob` blocks of `1 << lba_shift` bytes); 0 (none) when that is not a
/// power of two or the namespace is zoned (its zones are the boundaries).
pub(crate) fn io_boundary(
    noiob: u16,
    lba_shift: u32,
    max_hw_sectors: u32,
    stripe: bool,
    zoned: bool,
) -> u32 {
    let iob = if stripe && max_hw_sectors.is_power_of_two() {
        u64::from(max_hw_sectors)
    } else {
        u64::from(noiob) << crate::spec::lba::sectors_per_lba_shift(lba_shift)
    };
    match u32::try_from(iob) {
        Ok(iob) if iob.is_power_of_two() && !zoned => iob,
        _ => 0,
    }
}

/// Limits of a namespace's request queue, from Identify Controller and Namespace.
pub(crate) struct Limits {
    /// log2 of the logical block size the disk advertises.
    pub(crate) lba_shift: u32,
    /// Capacity in 512-byte sectors (0: the block layer cannot address the namespace).
    pub(crate) capacity_sectors: u64,
    /// Largest transfer in 512-byte sectors.
    pub(crate) max_hw_sectors: u32,
    /// Controller memory page size.
    pub(crate) page_size: usize,
    /// Volatile write cache present: advertise write back + FUA.
    pub(crate) write_cache: bool,
    /// Smallest preferred I/O (bytes).
    pub(crate) io_min: u32,
    /// Optimal I/O (bytes; 0 when not reported).
    pub(crate) io_opt: u32,
    /// Largest discard in sectors (0: no discard).
    pub(crate) max_discard_sectors: u32,
    /// Discard granularity in bytes.
    pub(crate) discard_granularity: u32,
    /// Largest write zeroes in sectors (0: no write zeroes).
    pub(crate) max_write_zeroes_sectors: u32,
    /// Write zeroes may deallocate (`max_hw_wzeroes_unmap_sectors`).
    pub(crate) wzeroes_unmap: bool,
    /// The tag set has polled queues: the disk supports polled I/O.
    pub(crate) poll: bool,
    /// The controller takes SGLs on I/O queues: requests may have gaps inside a page.
    pub(crate) sgl: bool,
    /// No block interface at all (C: `GENHD_FL_HIDDEN`, for a namespace of a command set
    /// the driver has no block device for): the disk is in sysfs, but has no block
    /// device, partitions or uevent. Takes effect when the disk is added.
    pub(crate) hidden: bool,
    /// The I/O boundary in sectors (0: none; see [`io_boundary`]).
    pub(crate) chunk_sectors: u32,
    /// A zoned namespace on a zoned disk: its zone limits.
    pub(crate) zoned: Option<ZonedLimits>,
    /// Read-only (a zoned namespace without Zone Append, as C forces it); taken when the
    /// disk is added.
    pub(crate) read_only: bool,
    /// Separate metadata: the integrity profile the block layer hands it through.
    pub(crate) integrity: Option<Profile>,
}

impl Limits {
    /// The queue limits the driver decides (C: `nvme_set_ctrl_limits`,
    /// `nvme_update_disk_info`).
    fn queue_limits(&self) -> QueueLimits {
        let block = 1u32 << self.lba_shift;
        // As C (`nvme_max_drv_segments`): a segment per page of the largest transfer,
        // plus one for an offset start, at most an SGL list page.
        let pages =
            self.max_hw_sectors / (self.page_size >> kernel::block::SECTOR_SHIFT).max(1) as u32;
        QueueLimits {
            block_size: block,
            io_min: self.io_min.max(block),
            io_opt: self.io_opt,
            max_discard_sectors: self.max_discard_sectors,
            max_discard_segments: DSM_MAX_RANGES as u16,
            discard_granularity: self.discard_granularity.max(block),
            max_write_zeroes_sectors: self.max_write_zeroes_sectors,
            max_wzeroes_unmap_sectors: if self.wzeroes_unmap {
                self.max_write_zeroes_sectors
            } else {
                0
            },
            max_hw_sectors: self.max_hw_sectors,
            max_segments: pages.saturating_add(1).min(u32::from(MAX_SEGMENTS)) as u16,
            // PRPs need every segment boundary inside a request on a controller page
            // boundary; a request with gaps goes out as an SGL where the controller has
            // them (C: `nvme_pci_get_virt_boundary`, `nvme_set_ctrl_limits`).
            virt_boundary_mask: if self.sgl { 0 } else { self.page_size - 1 },
            max_segment_size: u32::MAX,
            chunk_sectors: self.chunk_sectors,
            // PRP entries must be dword aligned.
            dma_alignment: 3,
            write_cache: self.write_cache,
            poll: self.poll,
            zoned: self.zoned,
            integrity: self.integrity.map(|p| IntegrityLimits {
                csum: match p.csum {
                    Checksum::None => IntegrityCsum::None,
                    Checksum::Crc16 => IntegrityCsum::Crc,
                    Checksum::Crc64 => IntegrityCsum::Crc64,
                },
                metadata_size: p.metadata_size,
                pi_offset: p.pi_offset,
                pi_tuple_size: p.pi_tuple_size,
                tag_size: p.tag_size,
                ref_tag: p.ref_tag,
            }),
        }
    }
}

/// How a passthrough command ended.
pub(crate) struct PassthruDone {
    /// The CQE status half-word (phase tag in bit 0).
    pub(crate) status: u16,
    /// Dwords 0 and 1 of the completion (C: `nvme_req(req)->result.u64`; the 32-bit
    /// ioctl returns dword 0).
    pub(crate) result: u64,
}

impl<'a, C: IoController> DiskView<'a, C> {
    /// The namespace behind the disk.
    pub(crate) fn ns(&self) -> &'a NsInfo<C> {
        self.data()
    }

    /// Runs a passthrough I/O command on the disk's queue (C: `nvme_submit_user_cmd`),
    /// mapping the user memory `data` names (bounds checked: a bad pointer is `EFAULT`).
    /// It shares the tags, timeouts and reset handling of all other I/O;
    /// `timeout_ms` 0 is the queue's timeout.
    ///
    /// # Errors
    ///
    /// `ENODEV` once the disk is being deleted, `EFAULT`/`EINVAL` from mapping the user
    /// buffer, `EINTR` when a controller reset cancelled the command (as C returns),
    /// `EIO` when the driver could not send it (controller dead).
    pub(crate) fn passthru(
        &self,
        cmd: &Command,
        data: DrvData<'_>,
        timeout_ms: u32,
    ) -> Result<PassthruDone> {
        // Bit 0 of the opcode: data from host to controller.
        let write = cmd.opcode() & 1 != 0;
        self.execute_drv(
            write,
            data,
            timeout_ms,
            |pdu| {
                pdu.cmd = *cmd;
                pdu.status.store(0, Relaxed);
                pdu.result.store(0, Relaxed);
            },
            |pdu, sts| {
                let done = PassthruDone {
                    status: pdu.status.load(Relaxed) as u16,
                    result: pdu.result.load(Relaxed),
                };
                match Status::from_cqe(done.status) {
                    Some(s) if s == Status::HOST_ABORTED => Err(EINTR),
                    None if sts != BlkStatus::OK => Err(EIO),
                    _ => Ok(done),
                }
            },
        )
    }
}

/// How a passthrough command run for an io_uring command ends: the CQE's `res` is the
/// NVMe status field (C: `nvme_req(req)->status`), `-EINTR` when a reset cancelled it,
/// the block status's errno when the driver could not send it; `res2` the 64-bit result
/// (C: `nvme_uring_cmd_end_io`).
struct UringEnd;

impl<C: IoController> DrvEnd<Ops<C>> for UringEnd {
    fn end(pdu: &Pdu, sts: BlkStatus) -> (i32, u64) {
        let status = pdu.status.load(Relaxed) as u16;
        let res = match Status::from_cqe(status) {
            Some(s) if s == Status::HOST_ABORTED => EINTR.to_errno(),
            Some(_) => i32::from(status >> 1),
            None => sts.to_errno(),
        };
        (res, pdu.result.load(Relaxed))
    }
}

impl<C: IoController> DiskView<'_, C> {
    /// Sends a passthrough I/O command for an io_uring command without waiting (C:
    /// `nvme_uring_cmd_io`): as [`Self::passthru`], completed by a CQE from the
    /// submitter's task ([`UringEnd`]).
    ///
    /// # Errors
    ///
    /// As [`DiskView::execute_drv_uring`]; then the command is not completed.
    pub(crate) fn passthru_uring(
        &self,
        ucmd: IoUringCmd<'_>,
        cmd: &Command,
        data: DrvData<'_>,
        timeout_ms: u32,
    ) -> Result<Queued> {
        let write = cmd.opcode() & 1 != 0;
        self.execute_drv_uring::<UringEnd>(ucmd, write, data, timeout_ms, |pdu| {
            pdu.cmd = *cmd;
            pdu.status.store(0, Relaxed);
            pdu.result.store(0, Relaxed);
        })
    }

    /// Reports up to `nr_zones` zones from the one holding `sector` (C:
    /// `nvme_ns_report_zones`): Zone Management Receive on the disk's own queue into a
    /// buffer of at most one transfer, as many rounds as it takes.
    ///
    /// # Errors
    ///
    /// `EINVAL` for a disk without zones, a zone that is not sequential write required
    /// or no zone at all; `ENOMEM`; `EIO` when the controller fails the report; what
    /// the block layer's callback returns.
    pub(crate) fn report_zones(
        &self,
        sector: u64,
        nr_zones: u32,
        report: &mut ZoneReport<'_>,
    ) -> Result<u32> {
        let ns = self.ns();
        let (zone_sectors, shift) = (ns.zone_sectors.load(Relaxed), ns.lba_shift());
        if zone_sectors == 0 || !zone_sectors.is_power_of_two() {
            return Err(EINVAL);
        }
        let capacity = self.capacity_sectors();
        let nr_zones = u64::from(nr_zones).min(capacity / zone_sectors) as u32;
        let (len, max_in_buf) = zns::report_size(nr_zones, self.max_transfer_bytes());
        let mut buf = KVVec::from_elem(0u8, len, GFP_KERNEL)?;
        let lba_sectors = crate::spec::lba::sectors_per_lba_shift(shift);
        let mut sector = sector & !(zone_sectors - 1);
        let mut idx = 0u32;
        while idx < nr_zones && sector < capacity {
            buf.fill(0);
            let cmd = Command::zone_report(ns.nsid, sector >> lba_sectors, len as u32);
            self.execute_drv(
                false,
                DrvData::Kernel(&mut buf),
                0,
                |pdu| {
                    pdu.cmd = cmd;
                    pdu.status.store(0, Relaxed);
                },
                |pdu, sts| match Status::from_cqe(pdu.status.load(Relaxed) as u16) {
                    None if sts == BlkStatus::OK => Ok(()),
                    _ => Err(EIO),
                },
            )?;
            let hdr =
                ZoneReportHeader::from_bytes_copy(buf.get(..64).unwrap_or(&[])).ok_or(EINVAL)?;
            let nz = hdr
                .nr_zones
                .min(u64::from(nr_zones - idx))
                .min(max_in_buf as u64) as usize;
            if nz == 0 {
                break;
            }
            let descs = buf.get(size_of::<ZoneReportHeader>()..).unwrap_or(&[]);
            for d in descs.chunks_exact(size_of::<ZoneDescriptor>()).take(nz) {
                let d = ZoneDescriptor::from_bytes_copy(d).ok_or(EINVAL)?;
                let z = d.to_zone(shift, zone_sectors).map_err(|BadZoneType(t)| {
                    ns_err!(
                        ns.instance,
                        ns.disk_id,
                        "invalid zone type {:#x} at zone {}\n",
                        t,
                        idx
                    );
                    EINVAL
                })?;
                report.report(
                    idx,
                    &BlkZone {
                        start: z.start,
                        len: z.len,
                        capacity: z.capacity,
                        wp: z.wp,
                        cond: z.cond,
                    },
                )?;
                idx += 1;
            }
            sector = sector.saturating_add(zone_sectors.saturating_mul(nz as u64));
        }
        if idx == 0 {
            return Err(EINVAL);
        }
        Ok(idx)
    }
}

impl<C: IoController> DiskRef<C> {
    /// Applies a namespace's new LBA format, limits and capacity to its disk in place
    /// (C: `nvme_update_ns_info_block`), with the queue frozen, so that no request
    /// straddles the change.
    ///
    /// # Errors
    ///
    /// What the block layer says of the new limits (nothing changed then).
    pub(crate) fn update(&self, lim: &Limits, fresh: &NsInfo<C>) -> Result {
        self.update_limits(&lim.queue_limits(), lim.capacity_sectors, |ns| {
            ns.lba_shift.store(fresh.lba_shift(), Relaxed);
            ns.block_io.store(fresh.block_io(), Relaxed);
            ns.zone_sectors
                .store(fresh.zone_sectors.load(Relaxed), Relaxed);
            ns.meta.store(fresh.meta.load(Relaxed), Relaxed);
        })
    }
}

/// A namespace's gendisk, added to the system.
pub(crate) struct Disk<C: IoController>(GenDisk<Ops<C>>)
where
    Ops<C>: DiskOperations + Operations<QueueData = NsInfo<C>>;

impl<C: IoController> Disk<C>
where
    Ops<C>: DiskOperations + Operations<QueueData = NsInfo<C>>,
{
    /// Creates and adds the disk `nvme<instance>n<disk_id>` under the controller device
    /// `parent`; a zoned one reads its zones first, and the second value says how that
    /// went.
    pub(crate) fn new(
        tagset: &TagSet<C>,
        ns: NsInfo<C>,
        lim: &Limits,
        parent: &kernel::device::Device,
    ) -> Result<(Self, Result)> {
        let mut name = NameBuf::default();
        write!(name, "nvme{}n{}", ns.instance, ns.disk_id).map_err(|_| EINVAL)?;
        let p = DiskParams {
            name: name.name(),
            limits: lim.queue_limits(),
            capacity_sectors: lim.capacity_sectors,
            hidden: lim.hidden,
            read_only: lim.read_only,
        };
        let (disk, zones) = GenDisk::new(tagset.raw_set().clone(), ns, &p, parent)?;
        Ok((Self(disk), zones))
    }

    /// The capacity in 512-byte sectors (C: `get_capacity`).
    pub(crate) fn capacity_sectors(&self) -> u64 {
        self.0.view().capacity_sectors()
    }

    /// The logical block size the queue advertises.
    pub(crate) fn block_size(&self) -> u32 {
        self.0.view().block_size()
    }

    /// Fails all future I/O on the disk (C: `blk_mark_disk_dead`).
    pub(crate) fn mark_dead(&self) {
        self.0.mark_dead();
    }

    /// Sets the request timeout of the disk's queue to `ms` milliseconds.
    pub(crate) fn set_timeout_ms(&self, ms: u32) {
        self.0.view().set_rq_timeout(ms);
    }

    /// The namespace behind the disk.
    pub(crate) fn ns(&self) -> &NsInfo<C> {
        self.0.view().data()
    }

    /// A counted reference to the disk.
    pub(crate) fn get(&self) -> DiskRef<C> {
        self.0.get()
    }
}

/// A NUL-terminated device name of at most 31 bytes.
#[derive(Default)]
pub(crate) struct NameBuf {
    buf: [u8; 32],
    len: usize,
}

impl NameBuf {
    /// The name and its terminating NUL.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[..=self.len]
    }

    /// The name without its NUL.
    pub(crate) fn name(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Write for NameBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let b = s.as_bytes();
        let end = self.len.checked_add(b.len()).ok_or(core::fmt::Error)?;
        if end >= self.buf.len() {
            return Err(core::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(b);
        self.len = end;
        Ok(())
    }
}

#[kunit_tests(rust_nvme_mq)]
mod tests {
    use super::*;

    fn lim(sgl: bool, max_hw_sectors: u32) -> Limits {
        Limits {
            lba_shift: 12,
            capacity_sectors: 1 << 20,
            max_hw_sectors,
            page_size: 4096,
            write_cache: true,
            io_min: 0,
            io_opt: 0,
            max_discard_sectors: 1 << 16,
            discard_granularity: 512,
            max_write_zeroes_sectors: 0,
            wzeroes_unmap: false,
            poll: false,
            sgl,
            hidden: false,
            chunk_sectors: 0,
            zoned: None,
            read_only: false,
            integrity: None,
        }
    }

    #[test]
    fn io_boundary_as_c() {
        // NOIOB 64 blocks of 4 KiB: 512 sectors; not a power of two: none.
        assert_eq!(io_boundary(64, 12, 1024, false, false), 512);
        assert_eq!(io_boundary(48, 12, 1024, false, false), 0);
        assert_eq!(io_boundary(0, 9, 1024, false, false), 0);
        // Striped: the largest transfer, when a power of two.
        assert_eq!(io_boundary(0, 9, 1024, true, false), 1024);
        assert_eq!(io_boundary(8, 9, 1536, true, false), 8);
        // Zoned: the zones are the boundaries.
        assert_eq!(io_boundary(64, 12, 1024, true, true), 0);
    }

    #[test]
    fn queue_limits_as_c() {
        // PRPs: segment boundaries on controller pages; 2 MiB is 512 pages, capped at one
        // SGL list page of segments.
        let q = lim(false, 4096).queue_limits();
        assert_eq!(q.virt_boundary_mask, 4095);
        assert_eq!(q.max_segments, MAX_SEGMENTS);
        assert_eq!(q.block_size, 4096);
        // io_min and the discard granularity are at least a block.
        assert_eq!(q.io_min, 4096);
        assert_eq!(q.discard_granularity, 4096);
        assert_eq!(q.max_discard_segments, DSM_MAX_RANGES as u16);
        assert!(q.write_cache && !q.poll);
        // SGLs: no virt boundary; a small MDTS (64 KiB: 16 pages) gives 17 segments.
        let q = lim(true, 128).queue_limits();
        assert_eq!(q.virt_boundary_mask, 0);
        assert_eq!(q.max_segments, 17);
        assert_eq!(q.max_segment_size, u32::MAX);
        assert_eq!(q.dma_alignment, 3);
    }
}
