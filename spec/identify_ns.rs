// SPDX-License-Identifier: GPL-2.0

//! Identify Namespace (CNS 00h, NVM Command Set Specification 1.0, §4.1.5), the
//! Namespace Identification Descriptor list (CNS 03h), and what the driver makes of them:
//! a namespace's identifiers, geometry, metadata format and I/O features.

use core::mem::offset_of;

use kernel::{
    prelude::*,
    transmute, //
};

use crate::spec::{
    cmd::IDENTIFY_DATA_SIZE,
    pi::{
        MetaUse,
        Metadata, //
    },
};

/// An LBA Format descriptor (NVM Command Set Specification 1.0, Figure 98; C: `struct
/// nvme_lbaf`).
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Zeroable)]
pub(crate) struct LbaFormat {
    /// Metadata Size, bytes per logical block.
    pub(crate) ms: u16,
    /// LBA Data Size, log2 bytes.
    pub(crate) lbads: u8,
    /// Relative Performance (bits 1:0).
    pub(crate) rp: u8,
}
kernel::static_assert!(size_of::<LbaFormat>() == 4);

/// Number of LBA Format descriptors in Identify Namespace.
pub(crate) const NR_LBAF: usize = 64;

/// Identify Namespace for the NVM command set (CNS 00h; NVM Command Set Specification
/// 1.0, Figure 97; C: `struct nvme_id_ns`).
#[repr(C)]
#[derive(FromBytes, IntoBytes, Zeroable)]
pub(crate) struct IdentifyNs {
    /// Namespace Size, logical blocks.
    pub(crate) nsze: u64,
    /// Namespace Capacity, logical blocks.
    pub(crate) ncap: u64,
    /// Namespace Utilization, logical blocks.
    pub(crate) nuse: u64,
    /// Namespace Features.
    pub(crate) nsfeat: u8,
    /// Number of LBA Formats (0's based).
    pub(crate) nlbaf: u8,
    /// Formatted LBA Size: format index bits 3:0 and (6:5) 5:4, metadata at the end of
    /// the block (bit 4).
    pub(crate) flbas: u8,
    /// Metadata Capabilities.
    pub(crate) mc: u8,
    /// End-to-end Data Protection Capabilities.
    pub(crate) dpc: u8,
    /// End-to-end Data Protection Type Settings.
    pub(crate) dps: u8,
    /// Namespace Multi-path I/O and Namespace Sharing Capabilities.
    pub(crate) nmic: u8,
    /// Reservation Capabilities.
    pub(crate) rescap: u8,
    /// Format Progress Indicator.
    pub(crate) fpi: u8,
    /// Deallocate Logical Block Features.
    pub(crate) dlfeat: u8,
    /// Namespace Atomic Write Unit Normal (0's based).
    pub(crate) nawun: u16,
    /// Namespace Atomic Write Unit Power Fail (0's based).
    pub(crate) nawupf: u16,
    /// Namespace Atomic Compare & Write Unit (0's based).
    pub(crate) nacwu: u16,
    /// Namespace Atomic Boundary Size Normal (0's based).
    pub(crate) nabsn: u16,
    /// Namespace Atomic Boundary Offset.
    pub(crate) nabo: u16,
    /// Namespace Atomic Boundary Size Power Fail (0's based).
    pub(crate) nabspf: u16,
    /// Namespace Optimal I/O Boundary, logical blocks.
    pub(crate) noiob: u16,
    /// NVM Capacity, bytes (128-bit).
    pub(crate) nvmcap: [u8; 16],
    /// Namespace Preferred Write Granularity (0's based, logical blocks).
    pub(crate) npwg: u16,
    /// Namespace Preferred Write Alignment (0's based).
    pub(crate) npwa: u16,
    /// Namespace Preferred Deallocate Granularity (0's based).
    pub(crate) npdg: u16,
    /// Namespace Preferred Deallocate Alignment (0's based).
    pub(crate) npda: u16,
    /// Namespace Optimal Write Size (0's based).
    pub(crate) nows: u16,
    /// Maximum Single Source Range Length (Copy).
    pub(crate) mssrl: u16,
    /// Maximum Copy Length (Copy).
    pub(crate) mcl: u32,
    /// Maximum Source Range Count (0's based, Copy).
    pub(crate) msrc: u8,
    rsvd81: [u8; 11],
    /// ANA Group Identifier.
    pub(crate) anagrpid: u32,
    rsvd96: [u8; 3],
    /// Namespace Attributes.
    pub(crate) nsattr: u8,
    /// NVM Set Identifier.
    pub(crate) nvmsetid: u16,
    /// Endurance Group Identifier.
    pub(crate) endgid: u16,
    /// Namespace Globally Unique Identifier.
    pub(crate) nguid: [u8; 16],
    /// IEEE Extended Unique Identifier.
    pub(crate) eui64: [u8; 8],
    /// LBA Format Support, 0 to NLBAF.
    pub(crate) lbaf: [LbaFormat; NR_LBAF],
    /// Vendor Specific.
    pub(crate) vs: [u8; 3712],
}
kernel::static_assert!(size_of::<IdentifyNs>() == IDENTIFY_DATA_SIZE);
// Offsets of Figure 97.
kernel::static_assert!(offset_of!(IdentifyNs, nsze) == 0);
kernel::static_assert!(offset_of!(IdentifyNs, nsfeat) == 24);
kernel::static_assert!(offset_of!(IdentifyNs, nlbaf) == 25);
kernel::static_assert!(offset_of!(IdentifyNs, flbas) == 26);
kernel::static_assert!(offset_of!(IdentifyNs, dlfeat) == 33);
kernel::static_assert!(offset_of!(IdentifyNs, noiob) == 46);
kernel::static_assert!(offset_of!(IdentifyNs, nvmcap) == 48);
kernel::static_assert!(offset_of!(IdentifyNs, npwg) == 64);
kernel::static_assert!(offset_of!(IdentifyNs, npdg) == 68);
kernel::static_assert!(offset_of!(IdentifyNs, npda) == 70);
kernel::static_assert!(offset_of!(IdentifyNs, nows) == 72);
kernel::static_assert!(offset_of!(IdentifyNs, mcl) == 76);
kernel::static_assert!(offset_of!(IdentifyNs, anagrpid) == 92);
kernel::static_assert!(offset_of!(IdentifyNs, nsattr) == 99);
kernel::static_assert!(offset_of!(IdentifyNs, endgid) == 102);
kernel::static_assert!(offset_of!(IdentifyNs, nguid) == 104);
kernel::static_assert!(offset_of!(IdentifyNs, eui64) == 120);
kernel::static_assert!(offset_of!(IdentifyNs, lbaf) == 128);
kernel::static_assert!(offset_of!(IdentifyNs, vs) == 384);

// SAFETY: `IdentifyNs` is `repr(C)` with only integers and arrays of them (and of
// `LbaFormat`, likewise), without padding (`IntoBytes` derived above checks that): every
// byte is initialised and any byte pattern is a valid value.
unsafe impl transmute::AsBytes for IdentifyNs {}
// SAFETY: As above: any byte pattern is a valid `IdentifyNs`.
unsafe impl transmute::FromBytes for IdentifyNs {}

impl IdentifyNs {
    /// The index of the LBA format in use: FLBAS bits 3:0, extended past 16 by bits 6:5.
    pub(crate) fn lbaf_index(&self) -> usize {
        usize::from(self.flbas & 0xf) | (usize::from(self.flbas >> 5 & 0x3) << 4)
    }

    /// The size and the LBA format in use, its metadata as the format's extended
    /// format `elbaf` (when the controller has them) says; `None` when FLBAS names a
    /// format beyond NLBAF.
    pub(crate) fn geometry(&self, elbaf: Option<u32>) -> Option<NsGeometry> {
        let idx = self.lbaf_index();
        if idx > usize::from(self.nlbaf) {
            return None;
        }
        let f = self.lbaf.get(idx)?;
        Some(NsGeometry {
            nsze: self.nsze,
            ms: f.ms,
            lba_shift: u32::from(f.lbads),
            meta: Metadata::new(f.ms, self.flbas, self.dps, elbaf),
        })
    }

    /// The optional fields that shape the queue limits.
    pub(crate) fn features(&self) -> NsFeatures {
        NsFeatures {
            nsfeat: self.nsfeat,
            dlfeat: self.dlfeat,
            npwg: self.npwg,
            npdg: self.npdg,
            npda: self.npda,
            nows: self.nows,
        }
    }

    /// The identifiers Identify Namespace itself reports (NGUID and EUI64).
    pub(crate) fn ids(&self) -> NsIds {
        NsIds {
            nguid: self.nguid,
            eui64: self.eui64,
            ..NsIds::default()
        }
    }
}

/// Namespace identifiers (C: `struct nvme_ns_ids`).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct NsIds {
    /// IEEE Extended Unique Identifier.
    pub(crate) eui64: [u8; 8],
    /// Namespace Globally Unique Identifier.
    pub(crate) nguid: [u8; 16],
    /// Namespace UUID.
    pub(crate) uuid: [u8; 16],
    /// Command Set Identifier.
    pub(crate) csi: u8,
}

/// Command Set Identifiers (NVMe Base Specification 2.0, Figure 286).
pub(crate) mod csi {
    /// NVM Command Set.
    pub(crate) const NVM: u8 = 0x0;
    /// Zoned Namespace Command Set.
    pub(crate) const ZONED: u8 = 0x2;
}

/// Namespace Identification Descriptor types (NVMe Base Specification 2.0, Figure 276).
mod nidt {
    pub(super) const EUI64: u8 = 0x1;
    pub(super) const NGUID: u8 = 0x2;
    pub(super) const UUID: u8 = 0x3;
    pub(super) const CSI: u8 = 0x4;
}
/// Header bytes of a Namespace Identification Descriptor (NIDT, NIDL, reserved).
const NID_HEADER: usize = 4;

impl NsIds {
    /// The Command Set Identifier alone: the identifiers of a controller whose EUI64,
    /// NGUID and UUID are garbage (C's `bogus_nid` quirk).
    pub(crate) fn command_set_only(self) -> Self {
        Self {
            csi: self.csi,
            ..Self::default()
        }
    }

    /// Takes the identifiers of a Namespace Identification Descriptor list (CNS 03h);
    /// whether it reported the Command Set Identifier.
    ///
    /// # Errors
    ///
    /// `EINVAL` when a descriptor has the wrong length for its type or runs past the
    /// list (C: `nvme_process_ns_desc` rejects it the same way).
    pub(crate) fn merge_descs(&mut self, list: &[u8]) -> Result<bool> {
        let mut pos = 0;
        let mut csi_seen = false;
        while pos + NID_HEADER <= list.len() {
            let (nidt, nidl) = (list[pos], usize::from(list[pos + 1]));
            if nidl == 0 {
                break;
            }
            let data = list
                .get(pos + NID_HEADER..pos + NID_HEADER + nidl)
                .ok_or(EINVAL)?;
            match nidt {
                nidt::EUI64 if nidl == 8 => self.eui64.copy_from_slice(data),
                nidt::NGUID if nidl == 16 => self.nguid.copy_from_slice(data),
                nidt::UUID if nidl == 16 => self.uuid.copy_from_slice(data),
                nidt::CSI if nidl == 1 => {
                    self.csi = data[0];
                    csi_seen = true;
                }
                nidt::EUI64 | nidt::NGUID | nidt::UUID | nidt::CSI => return Err(EINVAL),
                // Unknown types are skipped, as in C.
                _ => {}
            }
            pos += NID_HEADER + nidl;
        }
        Ok(csi_seen)
    }
}

/// The optional Identify Namespace fields that shape the queue limits.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct NsFeatures {
    /// Namespace Features.
    pub(crate) nsfeat: u8,
    /// Deallocate Logical Block Features.
    pub(crate) dlfeat: u8,
    /// Namespace Preferred Write Granularity (0's based, logical blocks).
    pub(crate) npwg: u16,
    /// Namespace Preferred Deallocate Granularity (0's based).
    pub(crate) npdg: u16,
    /// Namespace Preferred Deallocate Alignment (0's based).
    pub(crate) npda: u16,
    /// Namespace Optimal Write Size (0's based).
    pub(crate) nows: u16,
}

/// NSFEAT bit 4: OPTPERF, the NPWG/NPWA/NPDG/NPDA/NOWS fields are valid.
const NSFEAT_OPTPERF: u8 = 1 << 4;
/// DLFEAT bits 2:0 value: deallocated blocks read as zeroes.
const DLFEAT_READS_ZEROES: u8 = 0x1;
/// DLFEAT bits 2:0.
const DLFEAT_READ_MASK: u8 = 0x7;
/// DLFEAT bit 3: Write Zeroes supports the Deallocate bit.
const DLFEAT_WZ_DEAC: u8 = 1 << 3;

impl NsFeatures {
    fn optperf(&self) -> bool {
        self.nsfeat & NSFEAT_OPTPERF != 0
    }

    /// Deallocated blocks read as zeroes.
    pub(crate) fn reads_zeroes(&self) -> bool {
        self.dlfeat & DLFEAT_READ_MASK == DLFEAT_READS_ZEROES
    }

    /// Write Zeroes may set DEAC (C: `NVME_NS_DEAC`): only if deallocated blocks read as
    /// zeroes.
    pub(crate) fn deac(&self) -> bool {
        self.reads_zeroes() && self.dlfeat & DLFEAT_WZ_DEAC != 0
    }

    /// Smallest preferred I/O in bytes (C: `io_min` = NPWG).
    pub(crate) fn io_min(&self, lba_shift: u32) -> u32 {
        let bs = 1u32 << lba_shift;
        if self.optperf() {
            bs.saturating_mul(u32::from(self.npwg) + 1)
        } else {
            bs
        }
    }

    /// Optimal I/O in bytes (C: `io_opt` = NOWS), 0 when not reported.
    pub(crate) fn io_opt(&self, lba_shift: u32) -> u32 {
        if self.optperf() && self.nows != 0 {
            (1u32 << lba_shift).saturating_mul(u32::from(self.nows) + 1)
        } else {
            0
        }
    }

    /// Discard granularity in bytes: the larger of NPDG and NPDA (both 0's based) times
    /// the block size, else the block size (C: `nvme_config_discard`).
    pub(crate) fn discard_granularity(&self, lba_shift: u32) -> u32 {
        let bs = 1u32 << lba_shift;
        if !self.optperf() {
            return bs;
        }
        let g = u32::from(self.npdg.max(self.npda)) + 1;
        bs.checked_mul(g).unwrap_or(bs)
    }
}

/// Smallest logical block the block layer accepts, as a shift.
pub(crate) const MIN_LBA_SHIFT: u32 = 9;

/// log2 of the largest logical block the block layer takes (C: `BLK_MAX_BLOCK_SIZE`:
/// 64 KiB with large folios, which need transparent huge pages, else `PAGE_SIZE`).
pub(crate) const MAX_LBA_SHIFT: u32 = if cfg!(CONFIG_TRANSPARENT_HUGEPAGE) {
    16
} else {
    kernel::page::PAGE_SHIFT as u32
};

/// A namespace as Identify Namespace (CNS 00h) describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NsGeometry {
    /// Namespace Size in logical blocks.
    pub(crate) nsze: u64,
    /// log2 of the logical block size.
    pub(crate) lba_shift: u32,
    /// Metadata bytes per logical block.
    pub(crate) ms: u16,
    /// How the format carries metadata and protection information.
    pub(crate) meta: Metadata,
}

/// How the driver can expose a namespace (C: `nvme_update_ns_info_block`,
/// `nvme_update_disk_info`, `nvme_init_integrity`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NsUse {
    /// As a block device.
    Block,
    /// As a disk of capacity 0 that only passthrough can use, as C exposes a namespace the
    /// block layer cannot address (so that it can still be formatted through it): why.
    PassthroughOnly(&'static str),
    /// Not at all: why.
    Skip(&'static str),
}

impl NsGeometry {
    /// Whether and how the driver can expose this namespace.
    pub(crate) fn usage(&self) -> NsUse {
        if self.nsze == 0 {
            NsUse::Skip("zero capacity")
        } else if self.lba_shift < MIN_LBA_SHIFT {
            NsUse::PassthroughOnly("logical block smaller than 512 bytes")
        } else if self
            .nsze
            .checked_shl(self.lba_shift.saturating_sub(MIN_LBA_SHIFT))
            .map_or(true, |s| {
                s >> self.lba_shift.saturating_sub(MIN_LBA_SHIFT) != self.nsze
            })
        {
            NsUse::Skip("capacity overflows 64-bit sectors")
        } else if self.lba_shift > MAX_LBA_SHIFT {
            NsUse::PassthroughOnly("logical block larger than the block layer's maximum")
        } else if let MetaUse::Unusable(why) = self.meta.usage() {
            NsUse::PassthroughOnly(why)
        } else {
            NsUse::Block
        }
    }

    /// log2 of the block size the disk advertises: the namespace's, or 512 bytes when
    /// the block layer cannot use it (the disk then has no capacity).
    pub(crate) fn disk_lba_shift(&self) -> u32 {
        match self.usage() {
            NsUse::Block => self.lba_shift,
            _ if (MIN_LBA_SHIFT..=MAX_LBA_SHIFT).contains(&self.lba_shift) => self.lba_shift,
            _ => MIN_LBA_SHIFT,
        }
    }

    /// Capacity in 512-byte sectors; 0 unless the namespace is usable as a block device.
    pub(crate) fn capacity_sectors(&self) -> u64 {
        match self.usage() {
            NsUse::Block => self.nsze << self.lba_shift.saturating_sub(MIN_LBA_SHIFT),
            _ => 0,
        }
    }
}

#[kunit_tests(rust_nvme_identify_ns)]
mod tests {
    use super::*;
    use crate::spec::identify::test_layout;

    #[test]
    fn identify_namespace_layout() -> Result {
        // 1 GiB of 4 KiB blocks in LBA format 17 (FLBAS 0x21: index 1, high bits 1), after
        // a 512-byte format 0; OPTPERF granularities; NGUID and EUI64.
        let ns = test_layout::<IdentifyNs>(&[
            (0, &(1u64 << 18).to_le_bytes()),
            (24, &[0x10, 17, 0x21]),
            (33, &[0x09]),
            (64, &7u16.to_le_bytes()),
            (68, &[15, 0, 7, 0, 31, 0]),
            (104, &[0xab; 16]),
            (120, &[1, 2, 3, 4, 5, 6, 7, 8]),
            (128, &[0, 0, 9, 0]),
            (128 + 17 * 4, &[0, 0, 12, 0]),
        ])?;
        assert_eq!(ns.lbaf_index(), 17);
        assert_eq!(
            ns.geometry(None),
            Some(NsGeometry {
                nsze: 1 << 18,
                lba_shift: 12,
                ms: 0,
                meta: Metadata::NONE,
            })
        );
        let f = ns.features();
        assert_eq!(
            (f.nsfeat, f.dlfeat, f.npwg, f.npdg, f.npda, f.nows),
            (0x10, 0x09, 7, 15, 7, 31)
        );
        let ids = ns.ids();
        assert_eq!(
            (ids.nguid, ids.eui64),
            ([0xab; 16], [1, 2, 3, 4, 5, 6, 7, 8])
        );
        assert_eq!(ns.lbaf[0].lbads, 9);
        // A format beyond NLBAF is not used.
        let bad = test_layout::<IdentifyNs>(&[(25, &[0, 0x01])])?;
        assert_eq!(bad.geometry(None), None);
        Ok(())
    }

    #[test]
    fn namespace_geometry() {
        let g = |nsze, lba_shift, ms| NsGeometry {
            nsze,
            lba_shift,
            ms,
            // Extended LBAs: metadata that is not PI cannot reach the block layer.
            meta: Metadata::new(ms, crate::spec::pi::FLBAS_META_EXT, 0, None),
        };
        assert_eq!(g(1 << 21, 9, 0).usage(), NsUse::Block);
        assert_eq!(g(1 << 21, 9, 0).capacity_sectors(), 1 << 21);
        // 4 KiB blocks, far beyond 2 TiB: 64-bit sector math.
        assert_eq!(g(1 << 40, 12, 0).usage(), NsUse::Block);
        assert_eq!(g(1 << 40, 12, 0).capacity_sectors(), 1 << 43);
        assert_eq!(g(1 << 40, 12, 0).disk_lba_shift(), 12);
        assert!(matches!(g(0, 9, 0).usage(), NsUse::Skip(_)));
        assert!(matches!(g(u64::MAX, 12, 0).usage(), NsUse::Skip(_)));
        // Extended-LBA metadata: a disk of capacity 0 with the namespace's block size.
        let md = g(8, 12, 8);
        assert!(matches!(md.usage(), NsUse::PassthroughOnly(_)));
        assert_eq!((md.capacity_sectors(), md.disk_lba_shift()), (0, 12));
        // Block sizes the block layer cannot use: capacity 0, 512-byte blocks.
        for shift in [8, MAX_LBA_SHIFT + 1] {
            let b = g(8, shift, 0);
            assert!(matches!(b.usage(), NsUse::PassthroughOnly(_)));
            assert_eq!((b.capacity_sectors(), b.disk_lba_shift()), (0, 9));
        }
    }

    #[test]
    fn namespace_descriptors() -> Result {
        let mut list = [0u8; 64];
        // EUI64, then UUID, then CSI, then the end.
        list[..4].copy_from_slice(&[1, 8, 0, 0]);
        list[4..12].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        list[12..16].copy_from_slice(&[3, 16, 0, 0]);
        list[16..32].copy_from_slice(&[0xaa; 16]);
        list[32..37].copy_from_slice(&[4, 1, 0, 0, 2]);
        let mut ids = NsIds::default();
        assert_eq!(ids.merge_descs(&list), Ok(true));
        assert_eq!(ids.eui64, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(ids.uuid, [0xaa; 16]);
        assert_eq!(ids.nguid, [0; 16]);
        assert_eq!(ids.csi, 2);
        // Without a CSI descriptor the list says nothing of the command set.
        assert_eq!(NsIds::default().merge_descs(&list[..32]), Ok(false));
        // A UUID descriptor of the wrong length is rejected.
        let mut bad = [0u8; 16];
        bad[..4].copy_from_slice(&[3, 8, 0, 0]);
        assert_eq!(NsIds::default().merge_descs(&bad), Err(EINVAL));
        // A descriptor running past the buffer is rejected.
        assert_eq!(NsIds::default().merge_descs(&[2, 16, 0, 0, 1]), Err(EINVAL));
        Ok(())
    }

    #[test]
    fn discard_granularity_and_deallocate() {
        // QEMU 7.2, 512-byte LBAs: NPDG = NPDA = 7 with OPTPERF; DLFEAT 1 (reads zeroes, no
        // DEAC bit). C's discard granularity: 4096.
        let f = NsFeatures {
            nsfeat: 0x10,
            dlfeat: 0x1,
            npwg: 7,
            npdg: 7,
            npda: 7,
            nows: 0,
        };
        assert_eq!(f.discard_granularity(9), 4096);
        assert_eq!(f.io_min(9), 4096);
        assert_eq!(f.io_opt(9), 0);
        assert!(f.reads_zeroes());
        assert!(!f.deac());
        // Without OPTPERF everything falls back to the block size.
        let f = NsFeatures {
            dlfeat: 0x9,
            ..Default::default()
        };
        assert_eq!(f.discard_granularity(12), 4096);
        assert!(f.deac());
    }
}
