// SPDX-License-Identifier: GPL-2.0

//! The limits a driver sets on a disk's queue, and their application to the block
//! layer's `struct queue_limits`.
//!
//! C header: [`include/linux/blkdev.h`](srctree/include/linux/blkdev.h)

use kernel::bindings;

/// `BLK_FEAT_*` queue features (`include/linux/blkdev.h`), missing from the kernel's
/// bindings: from the module's own ([`super::super::c_abi`]).
use super::super::c_abi::{
    RUST_NVME_BLK_FEAT_FUA as BLK_FEAT_FUA,
    RUST_NVME_BLK_FEAT_POLL as BLK_FEAT_POLL,
    RUST_NVME_BLK_FEAT_WRITE_CACHE as BLK_FEAT_WRITE_CACHE,
    RUST_NVME_BLK_FEAT_ZONED as BLK_FEAT_ZONED, //
};

/// `enum blk_integrity_flags` (`include/linux/blk-integrity.h`, not in the bindings):
/// the device checks the protection information, its reference tag is the block
/// number, and a request may be split at any protection interval.
const BLK_INTEGRITY_DEVICE_CAPABLE: u8 = 1 << 2;
const BLK_INTEGRITY_REF_TAG: u8 = 1 << 3;
const BLK_SPLIT_INTERVAL_CAPABLE: u8 = 1 << 5;

/// The limits a driver sets on a disk's queue (C: `struct queue_limits`); the others keep
/// their current value (user settings, block layer defaults).
#[derive(Clone, Copy, Default)]
pub(crate) struct QueueLimits {
    /// `logical_block_size` and `physical_block_size`, bytes.
    pub(crate) block_size: u32,
    /// `io_min`, bytes.
    pub(crate) io_min: u32,
    /// `io_opt`, bytes (0: not reported).
    pub(crate) io_opt: u32,
    /// `max_hw_discard_sectors` (0: no discard).
    pub(crate) max_discard_sectors: u32,
    /// `max_discard_segments` (with discard).
    pub(crate) max_discard_segments: u16,
    /// `discard_granularity`, bytes (with discard).
    pub(crate) discard_granularity: u32,
    /// `max_write_zeroes_sectors` (0: none).
    pub(crate) max_write_zeroes_sectors: u32,
    /// `max_hw_wzeroes_unmap_sectors`.
    pub(crate) max_wzeroes_unmap_sectors: u32,
    /// `max_hw_sectors`.
    pub(crate) max_hw_sectors: u32,
    /// `max_segments`.
    pub(crate) max_segments: u16,
    /// `virt_boundary_mask` (0: none).
    pub(crate) virt_boundary_mask: usize,
    /// `max_segment_size`, bytes.
    pub(crate) max_segment_size: u32,
    /// `dma_alignment` (a mask).
    pub(crate) dma_alignment: u32,
    /// `BLK_FEAT_WRITE_CACHE` + `BLK_FEAT_FUA`.
    pub(crate) write_cache: bool,
    /// `BLK_FEAT_POLL`.
    pub(crate) poll: bool,
    /// `chunk_sectors` of a disk without zones: I/O should not cross these boundaries (0:
    /// none; a power of two).
    pub(crate) chunk_sectors: u32,
    /// `BLK_FEAT_ZONED` and the zone limits: a host-managed zoned disk.
    pub(crate) zoned: Option<ZonedLimits>,
    /// The integrity profile: the block layer hands each request a metadata buffer
    /// (one segment: `max_integrity_segments` 1).
    pub(crate) integrity: Option<IntegrityLimits>,
}

/// The checksum of an integrity profile (C: `enum blk_integrity_checksum`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum IntegrityCsum {
    /// None: the block layer only carries the metadata.
    #[default]
    None,
    /// T10 DIF CRC16 guard.
    Crc,
    /// CRC64 guard.
    Crc64,
}

/// An integrity profile (C: `struct blk_integrity` in the queue limits).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct IntegrityLimits {
    /// The checksum the block layer generates and verifies.
    pub(crate) csum: IntegrityCsum,
    /// Metadata bytes per protection interval (a logical block).
    pub(crate) metadata_size: u8,
    /// Offset of the protection information in the metadata.
    pub(crate) pi_offset: u8,
    /// Bytes of the protection information tuple.
    pub(crate) pi_tuple_size: u8,
    /// Bytes of opaque tag the block layer may use.
    pub(crate) tag_size: u8,
    /// The reference tag is the block number (PI types 1 and 2).
    pub(crate) ref_tag: bool,
}

/// The limits of a zoned disk (`BLK_FEAT_ZONED`), in 512-byte sectors.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct ZonedLimits {
    /// Zone size, a power of two (`chunk_sectors`).
    pub(crate) zone_sectors: u32,
    /// `max_open_zones` (0: no limit).
    pub(crate) max_open_zones: u32,
    /// `max_active_zones` (0: no limit).
    pub(crate) max_active_zones: u32,
    /// `max_hw_zone_append_sectors`.
    pub(crate) max_zone_append_sectors: u32,
}

impl QueueLimits {
    pub(super) fn apply(&self, ql: &mut bindings::queue_limits) {
        ql.logical_block_size = self.block_size;
        ql.physical_block_size = self.block_size;
        ql.io_min = self.io_min;
        ql.io_opt = self.io_opt;
        ql.max_hw_discard_sectors = self.max_discard_sectors;
        if self.max_discard_sectors != 0 {
            ql.max_discard_segments = self.max_discard_segments;
            ql.discard_granularity = self.discard_granularity;
        }
        ql.max_write_zeroes_sectors = self.max_write_zeroes_sectors;
        ql.max_hw_wzeroes_unmap_sectors = self.max_wzeroes_unmap_sectors;
        ql.max_hw_sectors = self.max_hw_sectors;
        ql.max_segments = self.max_segments;
        ql.virt_boundary_mask = self.virt_boundary_mask as _;
        ql.max_segment_size = self.max_segment_size;
        ql.dma_alignment = self.dma_alignment;
        ql.features &= !(BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA | BLK_FEAT_POLL);
        if self.write_cache {
            ql.features |= BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA;
        }
        if self.poll {
            ql.features |= BLK_FEAT_POLL;
        }
        let z = self.zoned.unwrap_or_default();
        if self.zoned.is_some() {
            ql.features |= BLK_FEAT_ZONED;
        } else {
            ql.features &= !BLK_FEAT_ZONED;
        }
        ql.chunk_sectors = if self.zoned.is_some() {
            z.zone_sectors
        } else {
            self.chunk_sectors
        };
        ql.max_open_zones = z.max_open_zones;
        ql.max_active_zones = z.max_active_zones;
        ql.max_hw_zone_append_sectors = z.max_zone_append_sectors;
        // All-zero is a valid (absent) integrity profile.
        ql.integrity = pin_init::zeroed();
        ql.max_integrity_segments = 0;
        if let Some(i) = self.integrity {
            let bi = &mut ql.integrity;
            bi.flags = BLK_SPLIT_INTERVAL_CAPABLE;
            bi.csum_type = match i.csum {
                IntegrityCsum::None => bindings::blk_integrity_checksum_BLK_INTEGRITY_CSUM_NONE,
                IntegrityCsum::Crc => bindings::blk_integrity_checksum_BLK_INTEGRITY_CSUM_CRC,
                IntegrityCsum::Crc64 => bindings::blk_integrity_checksum_BLK_INTEGRITY_CSUM_CRC64,
            };
            if i.csum != IntegrityCsum::None {
                bi.flags |= BLK_INTEGRITY_DEVICE_CAPABLE;
                bi.pi_offset = i.pi_offset;
                bi.pi_tuple_size = i.pi_tuple_size;
            }
            if i.ref_tag {
                bi.flags |= BLK_INTEGRITY_REF_TAG;
            }
            bi.metadata_size = i.metadata_size;
            bi.tag_size = i.tag_size;
            ql.max_integrity_segments = 1;
        }
    }
}
