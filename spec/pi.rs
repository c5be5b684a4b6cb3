// SPDX-License-Identifier: GPL-2.0

//! Metadata and end-to-end data protection (NVM Command Set Specification 1.0, §5.2 and
//! Figures 97, 100, 114; NVMe Base 2.0 §5.3): how a namespace's LBA format carries
//! metadata and protection information, what the block layer's integrity profile for it
//! is, and the PRINFO and reference tag of a command (C: `nvme_configure_metadata`,
//! `nvme_configure_pi_elbas`, `nvme_init_integrity`, `nvme_setup_rw`,
//! `nvme_set_ref_tag`). Pure: no controller, no block layer.

use core::mem::offset_of;

use kernel::{
    prelude::*,
    transmute, //
};

/// I/O Command Set specific Identify Namespace for the NVM command set (CNS 05h, CSI 0;
/// NVM Command Set Specification 1.0b, Figure 100; C: `struct nvme_id_ns_nvm`).
#[repr(C)]
#[derive(FromBytes, IntoBytes, Zeroable)]
pub(crate) struct IdentifyNsNvm {
    /// Logical Block Storage Tag Mask.
    pub(crate) lbstm: u64,
    /// Protection Information Capabilities.
    pub(crate) pic: u8,
    rsvd9: [u8; 3],
    /// Extended LBA Formats: storage tag size (6:0) and guard type (8:7) of each format.
    pub(crate) elbaf: [u32; 64],
    rsvd268: [u8; 3828],
}
kernel::static_assert!(size_of::<IdentifyNsNvm>() == crate::spec::cmd::IDENTIFY_DATA_SIZE);
kernel::static_assert!(offset_of!(IdentifyNsNvm, elbaf) == 12);

// SAFETY: `repr(C)`, integers and byte arrays, no padding (checked by the derive): every
// byte is initialised and any byte pattern is a valid value.
unsafe impl transmute::AsBytes for IdentifyNsNvm {}
// SAFETY: As above.
unsafe impl transmute::FromBytes for IdentifyNsNvm {}

/// DPS bits 2:0: the protection information type (0: none).
const DPS_PI_MASK: u8 = 0x7;
/// DPS bit 3: the protection information is the first bytes of the metadata.
const DPS_PI_FIRST: u8 = 1 << 3;
/// FLBAS bit 4: metadata is transferred at the end of each block (extended LBA), not
/// through a separate buffer.
pub(crate) const FLBAS_META_EXT: u8 = 1 << 4;
/// Identify Controller CTRATT bit 15: Extended LBA Formats Supported (ELBAS); the NVM
/// command set's Identify Namespace then gives each format's guard and storage tag.
pub(crate) const CTRATT_ELBAS: u32 = 1 << 15;

/// Read/Write CDW12 PRINFO: Protection Information Action (the controller inserts or
/// strips the protection information).
pub(crate) const RW_PRACT: u32 = 1 << 29;
/// PRINFO: check the guard.
pub(crate) const RW_PRCHK_GUARD: u32 = 1 << 28;
/// PRINFO: check the application tag.
pub(crate) const RW_PRCHK_APP: u32 = 1 << 27;
/// PRINFO: check the reference tag.
pub(crate) const RW_PRCHK_REF: u32 = 1 << 26;
/// Zone Append CDW12: Protection Information Remap (the reference tags follow the LBA
/// the data lands at).
pub(crate) const APPEND_PIREMAP: u32 = 1 << 25;

/// The guard of the protection information (ELBAF bits 8:7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Guard {
    /// 16-bit CRC (T10 DIF), an 8-byte tuple with a 32-bit reference tag.
    Crc16,
    /// 64-bit CRC, a 16-byte tuple with a 48-bit reference tag.
    Crc64,
}

/// How a namespace's LBA format carries metadata (C: the `ms`, `pi_type`, `pi_size`,
/// `guard_type` and `pi_offset` of `struct nvme_ns_head`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Metadata {
    /// Metadata bytes per logical block (0: none).
    pub(crate) ms: u16,
    /// Metadata travels at the end of each block (extended LBA).
    pub(crate) ext: bool,
    /// Protection information type 1, 2 or 3; 0: none.
    pub(crate) pi_type: u8,
    /// The guard of the protection information.
    pub(crate) guard: Guard,
    /// Bytes of the protection information tuple (0: no PI format the driver knows).
    pub(crate) pi_size: u8,
    /// Offset of the tuple in the metadata (0 when first, `ms - pi_size` when last).
    pub(crate) pi_offset: u8,
}

/// The checksum of an integrity profile (C: `enum blk_integrity_checksum`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Checksum {
    /// No protection information: the block layer only carries the metadata.
    None,
    /// T10 DIF CRC16.
    Crc16,
    /// CRC64-NVMe.
    Crc64,
}

/// The block layer's integrity profile for a namespace (C: `struct blk_integrity` as
/// `nvme_init_integrity` fills it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Profile {
    /// The checksum the block layer generates and verifies.
    pub(crate) csum: Checksum,
    /// Metadata bytes per block.
    pub(crate) metadata_size: u8,
    /// Offset of the tuple in the metadata.
    pub(crate) pi_offset: u8,
    /// Bytes of the tuple.
    pub(crate) pi_tuple_size: u8,
    /// Bytes of the tag the block layer may use (application tag, and for type 3 the
    /// reference tag).
    pub(crate) tag_size: u8,
    /// The reference tag is checked (types 1 and 2).
    pub(crate) ref_tag: bool,
}

/// How the block layer can reach a namespace's blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MetaUse {
    /// No metadata.
    Plain,
    /// Separate metadata through the block layer's integrity payload, one buffer per
    /// request (MPTR).
    Integrity(Profile),
    /// Protection information in extended LBAs that the controller inserts and strips
    /// (PRACT); the block layer sees plain blocks.
    Pract,
    /// Nothing the block layer can use: why.
    Unusable(&'static str),
}

impl Metadata {
    /// The metadata of LBA format `ms`/`flbas`/`dps`, with its ELBAF when the controller
    /// reports extended LBA formats (C: `nvme_configure_metadata` for PCIe,
    /// `nvme_configure_pi_elbas`).
    pub(crate) fn new(ms: u16, flbas: u8, dps: u8, elbaf: Option<u32>) -> Self {
        if ms == 0 {
            return Self::NONE;
        }
        let (guard, pi_size) = match elbaf {
            None => (Guard::Crc16, 8),
            // Storage tags (STS, bits 6:0) are not supported: no PI then, as in C.
            Some(e) if e & 0x7f != 0 => (Guard::Crc16, 0),
            Some(e) => match (e >> 7) & 0x3 {
                0 => (Guard::Crc16, 8),
                2 => (Guard::Crc64, 16),
                _ => (Guard::Crc16, 0),
            },
        };
        let pi_type = if pi_size != 0 && ms >= u16::from(pi_size) {
            dps & DPS_PI_MASK
        } else {
            0
        };
        let pi_offset = if dps & DPS_PI_FIRST == 0 {
            u8::try_from(ms.saturating_sub(u16::from(pi_size))).unwrap_or(0)
        } else {
            0
        };
        Self {
            ms,
            ext: flbas & FLBAS_META_EXT != 0,
            pi_type,
            guard,
            pi_size,
            pi_offset,
        }
    }

    /// No metadata.
    pub(crate) const NONE: Self = Self {
        ms: 0,
        ext: false,
        pi_type: 0,
        guard: Guard::Crc16,
        pi_size: 0,
        pi_offset: 0,
    };

    /// The value packed in 64 bits, for a word the I/O path reads without a lock.
    pub(crate) fn to_bits(self) -> u64 {
        u64::from(self.ms)
            | u64::from(self.ext) << 16
            | u64::from(self.pi_type & DPS_PI_MASK) << 17
            | u64::from(self.guard == Guard::Crc64) << 20
            | u64::from(self.pi_size) << 24
            | u64::from(self.pi_offset) << 32
    }

    /// The value [`Self::to_bits`] packed.
    pub(crate) fn from_bits(b: u64) -> Self {
        Self {
            ms: b as u16,
            ext: b >> 16 & 1 != 0,
            pi_type: (b >> 17) as u8 & DPS_PI_MASK,
            guard: if b >> 20 & 1 != 0 {
                Guard::Crc64
            } else {
                Guard::Crc16
            },
            pi_size: (b >> 24) as u8,
            pi_offset: (b >> 32) as u8,
        }
    }

    /// The metadata is exactly a protection information tuple (C: `nvme_ns_has_pi`): the
    /// controller can insert and strip it.
    pub(crate) fn has_pi(&self) -> bool {
        self.pi_type != 0 && self.ms == u16::from(self.pi_size)
    }

    /// What the block layer can do with the namespace (C: `nvme_init_integrity` on
    /// PCIe, where only separate metadata can be handed to the controller).
    pub(crate) fn usage(&self) -> MetaUse {
        if self.ms == 0 {
            return MetaUse::Plain;
        }
        if self.ext {
            return if self.has_pi() {
                MetaUse::Pract
            } else {
                MetaUse::Unusable("extended LBA metadata other than protection information")
            };
        }
        let Ok(metadata_size) = u8::try_from(self.ms) else {
            return MetaUse::Unusable("more than 255 bytes of metadata per block");
        };
        let (csum, tag_size, ref_tag) = match (self.pi_type, self.guard) {
            (1 | 2, Guard::Crc16) => (Checksum::Crc16, 2, true),
            (1 | 2, Guard::Crc64) => (Checksum::Crc64, 2, true),
            (3, Guard::Crc16) => (Checksum::Crc16, 2 + 4, false),
            (3, Guard::Crc64) => (Checksum::Crc64, 2 + 6, false),
            _ => (Checksum::None, 0, false),
        };
        MetaUse::Integrity(Profile {
            csum,
            metadata_size,
            pi_offset: if csum == Checksum::None {
                0
            } else {
                self.pi_offset
            },
            pi_tuple_size: if csum == Checksum::None {
                0
            } else {
                self.pi_size
            },
            tag_size,
            ref_tag,
        })
    }

    /// CDW12's PRINFO bits of a read or write (C: `nvme_setup_rw`): with an integrity
    /// payload the checks it asks for (`checks`: guard, reference tag, application
    /// tag); without one, PRACT (the controller makes the protection information).
    pub(crate) fn prinfo(&self, checks: Option<(bool, bool, bool)>) -> u32 {
        match checks {
            None if self.has_pi() => RW_PRACT,
            None => 0,
            Some((guard, reftag, app)) => {
                (if guard { RW_PRCHK_GUARD } else { 0 })
                    | (if reftag { RW_PRCHK_REF } else { 0 })
                    | (if app { RW_PRCHK_APP } else { 0 })
            }
        }
    }

    /// The Expected Initial Logical Block Reference Tag of a command (C:
    /// `nvme_set_ref_tag`): CDW14 and, for the 64-bit guard's 48-bit tag, CDW3's low
    /// half; `None` for PI types without a reference tag.
    pub(crate) fn ref_tag(&self, full: u64) -> Option<(u32, u32)> {
        if !matches!(self.pi_type, 1 | 2) {
            return None;
        }
        Some(match self.guard {
            Guard::Crc16 => (full as u32, 0),
            Guard::Crc64 => (full as u32, ((full >> 32) & 0xffff) as u32),
        })
    }
}

#[kunit_tests(rust_nvme_pi)]
mod tests {
    use super::*;

    /// ELBAF with guard type `pif` and storage tag size `sts`.
    fn elbaf(pif: u32, sts: u32) -> Option<u32> {
        Some((pif << 7) | sts)
    }

    /// The profile the block layer gets.
    fn profile(
        csum: Checksum,
        metadata_size: u8,
        pi_offset: u8,
        pi_tuple_size: u8,
        tag_size: u8,
        ref_tag: bool,
    ) -> MetaUse {
        MetaUse::Integrity(Profile {
            csum,
            metadata_size,
            pi_offset,
            pi_tuple_size,
            tag_size,
            ref_tag,
        })
    }

    #[test]
    fn separate_metadata_profiles() {
        // 512+8, type 1, PI last (QEMU's default): CRC, ref tag, tag size 2.
        let m = Metadata::new(8, 0, 1, None);
        assert_eq!((m.pi_type, m.pi_size, m.pi_offset), (1, 8, 0));
        assert_eq!(m.usage(), profile(Checksum::Crc16, 8, 0, 8, 2, true));
        // Type 3, 16 bytes of metadata, PI first: no ref tag, tag size 6, offset 0.
        let m = Metadata::new(16, 0, 3 | DPS_PI_FIRST, None);
        assert_eq!(m.usage(), profile(Checksum::Crc16, 16, 0, 8, 6, false));
        // PI last in 16 bytes: at offset 8.
        assert_eq!(Metadata::new(16, 0, 1, None).pi_offset, 8);
        // Metadata without PI: the block layer carries it, nothing to check.
        assert_eq!(
            Metadata::new(16, 0, 0, None).usage(),
            profile(Checksum::None, 16, 0, 0, 0, false)
        );
        // 64-bit guard (ELBAF PIF 2) in 16 bytes, PI last: CRC64, 16-byte tuple.
        let m = Metadata::new(16, 0, 1, elbaf(2, 0));
        assert_eq!(m.usage(), profile(Checksum::Crc64, 16, 0, 16, 2, true));
        // Storage tags: no PI, as C.
        assert_eq!(Metadata::new(16, 0, 1, elbaf(2, 4)).pi_type, 0);
        // PI larger than the metadata: no PI.
        assert_eq!(Metadata::new(8, 0, 1, elbaf(2, 0)).pi_type, 0);
        assert_eq!(Metadata::new(0, 0, 0, None).usage(), MetaUse::Plain);
    }

    #[test]
    fn extended_lbas() {
        // Exactly a tuple: PRACT; anything else is unusable for the block layer.
        assert_eq!(
            Metadata::new(8, FLBAS_META_EXT, 1, None).usage(),
            MetaUse::Pract
        );
        assert!(matches!(
            Metadata::new(16, FLBAS_META_EXT, 1, None).usage(),
            MetaUse::Unusable(_)
        ));
        assert!(matches!(
            Metadata::new(8, FLBAS_META_EXT, 0, None).usage(),
            MetaUse::Unusable(_)
        ));
    }

    #[test]
    fn prinfo_and_ref_tags() {
        let t1 = Metadata::new(8, 0, 1, None);
        assert_eq!(
            t1.prinfo(Some((true, true, false))),
            RW_PRCHK_GUARD | RW_PRCHK_REF
        );
        assert_eq!(t1.prinfo(Some((false, false, true))), RW_PRCHK_APP);
        // No payload: the controller makes the PI.
        assert_eq!(t1.prinfo(None), RW_PRACT);
        assert_eq!(Metadata::new(16, 0, 0, None).prinfo(None), 0);
        // 32-bit reference tag: the low half of the block number.
        assert_eq!(t1.ref_tag(0x1_2345_6789), Some((0x2345_6789, 0)));
        // 48-bit: the next 16 bits in CDW3.
        let t64 = Metadata::new(16, 0, 2, elbaf(2, 0));
        assert_eq!(t64.ref_tag(0xabcd_1234_5678), Some((0x1234_5678, 0xabcd)));
        assert_eq!(Metadata::new(8, 0, 3, None).ref_tag(5), None);
    }

    #[test]
    fn packs() {
        for m in [
            Metadata::new(8, 0, 1, None),
            Metadata::new(16, FLBAS_META_EXT, 2 | DPS_PI_FIRST, elbaf(2, 0)),
            Metadata::new(64, 0, 3, None),
            Metadata::NONE,
        ] {
            assert_eq!(Metadata::from_bits(m.to_bits()), m);
        }
    }
}
