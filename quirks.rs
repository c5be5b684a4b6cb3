// SPDX-License-Identifier: GPL-2.0

//! Controller quirks: workarounds for devices that do not behave as the specification
//! says, with the names, bit numbers and PCI table of the C driver (`enum nvme_quirks`,
//! `nvme_quirk_name`, and the driver data of `nvme_id_table` in `pci.c`), so that the
//! `quirks` attribute of a controller reads the same with both drivers.
//!
//! What rust_nvme does with each quirk:
//!
//! * honoured as C honours it: `bogus_nid` (namespace UUID, NGUID and EUI64 ignored),
//!   `no_ns_desc_list` (no Namespace Identification Descriptor list), `ignore_dev_subnqn`
//!   (the made-up NQN), `disable_write_zeroes`, `dma_address_bits_48` (48-bit DMA mask),
//!   `delay_before_chk_rdy` (2.3 s before waiting for CSTS.RDY to clear);
//! * met by construction: `simple_suspend` (system sleep always shuts the controller
//!   down), `skip_cid_gen` (command identifiers carry no generation), `dmapool_align_512`
//!   and `admin_page_align` (list pages and admin buffers are whole pages);
//! * shown only (the attribute lists them, nothing changes): the rest (`stripe_size`,
//!   `identify_cns`, `deallocate_zeroes`, `no_apst`, `no_deepest_ps` (no APST here),
//!   `qdepth_one`, `medium_prio_sq`, `single_vector`, `128_bytes_sqes`, `shared_tags`,
//!   `no_temp_thresh_change`, `no_secondary_temp_thresh` (no hwmon here),
//!   `force_no_simple_suspend`, `broken_msi`).

use core::ops::BitOr;

use kernel::prelude::*;

/// A set of quirks (C: the `quirks` word of `struct nvme_ctrl`), bit `i` being C's
/// `1 << i`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct Quirks(u32);

impl BitOr for Quirks {
    type Output = Self;

    fn bitor(self, o: Self) -> Self {
        Self(self.0 | o.0)
    }
}

/// The name of each quirk bit, bit 0 first (C: `nvme_quirk_name`).
const NAMES: [&str; 24] = [
    "stripe_size",
    "identify_cns",
    "deallocate_zeroes",
    "delay_before_chk_rdy",
    "no_apst",
    "no_deepest_ps",
    "qdepth_one",
    "medium_prio_sq",
    "ignore_dev_subnqn",
    "disable_write_zeroes",
    "simple_suspend",
    "single_vector",
    "128_bytes_sqes",
    "shared_tags",
    "no_temp_thresh_change",
    "no_ns_desc_list",
    "dma_address_bits_48",
    "skip_cid_gen",
    "bogus_nid",
    "no_secondary_temp_thresh",
    "force_no_simple_suspend",
    "broken_msi",
    "dmapool_align_512",
    "admin_page_align",
];

impl Quirks {
    /// No quirk.
    pub(crate) const NONE: Self = Self(0);
    /// I/O is best aligned to a vendor-specific stripe size.
    pub(crate) const STRIPE_SIZE: Self = Self(1 << 0);
    /// Only Identify CNS 00h and 01h work.
    pub(crate) const IDENTIFY_CNS: Self = Self(1 << 1);
    /// Deallocated blocks read back zeroes.
    pub(crate) const DEALLOCATE_ZEROES: Self = Self(1 << 2);
    /// Wait before polling CSTS.RDY after clearing CC.EN.
    pub(crate) const DELAY_BEFORE_CHK_RDY: Self = Self(1 << 3);
    /// APST must not be used.
    #[allow(dead_code, reason = "named for completeness: nothing here acts on it")]
    pub(crate) const NO_APST: Self = Self(1 << 4);
    /// The deepest power state must not be used.
    pub(crate) const NO_DEEPEST_PS: Self = Self(1 << 5);
    /// One command at a time.
    pub(crate) const QDEPTH_ONE: Self = Self(1 << 6);
    /// Create I/O SQs with medium priority.
    pub(crate) const MEDIUM_PRIO_SQ: Self = Self(1 << 7);
    /// SUBNQN is not unique: use the made-up NQN.
    pub(crate) const IGNORE_DEV_SUBNQN: Self = Self(1 << 8);
    /// Write Zeroes is broken.
    pub(crate) const DISABLE_WRITE_ZEROES: Self = Self(1 << 9);
    /// System sleep shuts the controller down.
    #[allow(dead_code, reason = "named for completeness: nothing here acts on it")]
    pub(crate) const SIMPLE_SUSPEND: Self = Self(1 << 10);
    /// One interrupt vector for all queues.
    pub(crate) const SINGLE_VECTOR: Self = Self(1 << 11);
    /// 128-byte submission queue entries.
    pub(crate) const SQES_128_BYTES: Self = Self(1 << 12);
    /// Tags shared between the admin and the I/O queue.
    pub(crate) const SHARED_TAGS: Self = Self(1 << 13);
    /// The temperature threshold must not be changed.
    pub(crate) const NO_TEMP_THRESH_CHANGE: Self = Self(1 << 14);
    /// The Namespace Identification Descriptor list (CNS 03h) is broken.
    pub(crate) const NO_NS_DESC_LIST: Self = Self(1 << 15);
    /// DMA addresses above 48 bits are broken.
    pub(crate) const DMA_ADDRESS_BITS_48: Self = Self(1 << 16);
    /// Command identifiers must not carry a generation.
    pub(crate) const SKIP_CID_GEN: Self = Self(1 << 17);
    /// The namespace identifiers (EUI64, NGUID, UUID) are garbage.
    pub(crate) const BOGUS_NID: Self = Self(1 << 18);
    /// Temperature thresholds only for the composite sensor.
    pub(crate) const NO_SECONDARY_TEMP_THRESH: Self = Self(1 << 19);
    /// Never take the simple suspend path.
    #[allow(dead_code, reason = "named for completeness: nothing here acts on it")]
    pub(crate) const FORCE_NO_SIMPLE_SUSPEND: Self = Self(1 << 20);
    /// MSI (not MSI-X) interrupts never fire.
    pub(crate) const BROKEN_MSI: Self = Self(1 << 21);
    /// DMA pool segments aligned to 512 bytes.
    pub(crate) const DMAPOOL_ALIGN_512: Self = Self(1 << 22);
    /// Admin DMA buffers page aligned.
    #[cfg_attr(
        not(CONFIG_KUNIT),
        expect(
            dead_code,
            reason = "already true of rust_nvme: only named (and tested)"
        )
    )]
    pub(crate) const ADMIN_PAGE_ALIGN: Self = Self(1 << 23);

    /// Whether every quirk of `q` is set.
    pub(crate) fn has(self, q: Self) -> bool {
        self.0 & q.0 == q.0 && q.0 != 0
    }

    /// The names of the quirks set, lowest bit first (C: the `quirks` attribute; a bit
    /// without a name is "unknown", as C names it).
    pub(crate) fn names(self) -> impl Iterator<Item = &'static str> {
        (0..32u32)
            .filter(move |i| self.0 >> i & 1 != 0)
            .map(|i| NAMES.get(i as usize).copied().unwrap_or("unknown"))
    }

    /// The quirks C's PCI table gives `vendor:device` (the first entry that matches, as
    /// the PCI core matches C's table; none for any other device).
    pub(crate) fn for_pci(vendor: u16, device: u16) -> Self {
        PCI_QUIRKS
            .iter()
            .find(|e| e.0 == vendor && e.1 == device)
            .map_or(Self::NONE, |e| e.2)
    }
}

/// PCI vendor IDs of the table below.
mod vendor {
    pub(super) const INTEL: u16 = 0x8086;
    pub(super) const REDHAT: u16 = 0x1b36;
    pub(super) const AMAZON: u16 = 0x1d0f;
    pub(super) const APPLE: u16 = 0x106b;
}

/// Short names for the table.
const STRIPE: Quirks = Quirks::STRIPE_SIZE;
const DEALLOC0: Quirks = Quirks::DEALLOCATE_ZEROES;
const SUBNQN: Quirks = Quirks::IGNORE_DEV_SUBNQN;
const NID: Quirks = Quirks::BOGUS_NID;
const DEEPEST: Quirks = Quirks::NO_DEEPEST_PS;
const NO_WZ: Quirks = Quirks::DISABLE_WRITE_ZEROES;
const RDY: Quirks = Quirks::DELAY_BEFORE_CHK_RDY;
const NO_DESC: Quirks = Quirks::NO_NS_DESC_LIST;
const MSI: Quirks = Quirks::BROKEN_MSI;
const ALIGN512: Quirks = Quirks::DMAPOOL_ALIGN_512;
const SEC_TEMP: Quirks = Quirks::NO_SECONDARY_TEMP_THRESH;
const DMA48: Quirks = Quirks::DMA_ADDRESS_BITS_48;

/// The controllers C's PCI table names with their quirks (vendor, device, quirks), in
/// its order (where a device appears twice, the first entry is the one that applies).
/// Controllers of another class than NVMe (some of Apple's) are listed but never bound:
/// rust_nvme binds by class only.
#[rustfmt::skip]
static PCI_QUIRKS: &[(u16, u16, Quirks)] = {
    use vendor::*;
    &[
        (INTEL, 0x0953, Quirks(STRIPE.0 | DEALLOC0.0)),
        (INTEL, 0x0a53, Quirks(STRIPE.0 | DEALLOC0.0)),
        (INTEL, 0x0a54, Quirks(STRIPE.0 | SUBNQN.0 | NID.0)),
        (INTEL, 0x0a55, STRIPE),
        (INTEL, 0xf1a5, Quirks(DEEPEST.0 | Quirks::MEDIUM_PRIO_SQ.0
            | Quirks::NO_TEMP_THRESH_CHANGE.0 | NO_WZ.0)),
        (INTEL, 0xf1a6, SUBNQN),
        (INTEL, 0x5845, Quirks(Quirks::IDENTIFY_CNS.0 | NO_WZ.0 | NID.0)),
        (REDHAT, 0x0010, NID),
        (0x1217, 0x8760, ALIGN512),
        (0x126f, 0x1001, Quirks(DEEPEST.0 | SUBNQN.0)),
        (0x126f, 0x2262, Quirks(DEEPEST.0 | NID.0)),
        (0x126f, 0x2263, Quirks(NO_DESC.0 | NID.0)),
        (0x1bb1, 0x0100, Quirks(RDY.0 | NO_DESC.0)),
        (0x1c58, 0x0003, RDY),
        (0x1c58, 0x0023, RDY),
        (0x1c5f, 0x0540, RDY),
        (0x1c5f, 0x0555, NO_DESC),
        (0x144d, 0xa821, RDY),
        (0x144d, 0xa822, Quirks(RDY.0 | NO_WZ.0 | SUBNQN.0)),
        (0x15b7, 0x5008, MSI),
        (0x15b7, 0x5009, Quirks(MSI.0 | DEEPEST.0)),
        (0x1987, 0x5012, NID),
        (0x1987, 0x5016, Quirks(SUBNQN.0 | NID.0)),
        (0x1987, 0x5019, NO_WZ),
        (0x1987, 0x5021, NO_WZ),
        (0x1b4b, 0x1092, Quirks(NO_DESC.0 | SUBNQN.0)),
        (0x1cc1, 0x33f8, NID),
        (0x10ec, 0x5762, Quirks(SUBNQN.0 | NID.0)),
        (0x10ec, 0x5763, NID),
        (0x1cc1, 0x8201, Quirks(DEEPEST.0 | SUBNQN.0)),
        (0x1344, 0x5407, SUBNQN),
        (0x1344, 0x6001, NID),
        (0x1344, 0x6004, ALIGN512),
        (0x1c5c, 0x1504, NO_WZ),
        (0x1c5c, 0x174a, NID),
        (0x1c5c, 0x1d59, NO_WZ),
        (0x15b7, 0x2001, NO_WZ),
        (0x1d97, 0x2263, NO_WZ),
        (0x144d, 0xa80b, Quirks(NO_WZ.0 | NID.0)),
        (0x144d, 0xa809, NO_WZ),
        (0x144d, 0xa802, NID),
        (0x1cc4, 0x6303, NO_WZ),
        (0x1cc4, 0x6302, NO_WZ),
        (0x2646, 0x2262, DEEPEST),
        (0x2646, 0x2263, DEEPEST),
        (0x2646, 0x5013, SEC_TEMP),
        (0x2646, 0x5018, NO_WZ),
        (0x2646, 0x5016, NO_WZ),
        (0x2646, 0x501a, NO_WZ),
        (0x2646, 0x501b, NO_WZ),
        (0x2646, 0x501e, NO_WZ),
        (0x2646, 0x502f, NO_WZ),
        (0x1f40, 0x1202, NID),
        (0x1f40, 0x5236, NID),
        (0x1e4b, 0x1001, NID),
        (0x1e4b, 0x1002, NID),
        (0x1e4b, 0x1202, NID),
        (0x1e4b, 0x1602, NID),
        (0x1cc1, 0x5350, NID),
        (0x1dbe, 0x5216, NID),
        (0x1dbe, 0x5236, NID),
        (0x1e49, 0x0021, DEEPEST),
        (0x1e49, 0x0041, DEEPEST),
        (0x1fa0, 0x2283, SEC_TEMP),
        (0x025e, 0xf1ac, DEEPEST),
        (0xc0a9, 0x540a, NID),
        // Listed after the SPCC entry of the same ID, so never matched (as in C).
        (0x1d97, 0x2263, NID),
        (0x1d97, 0x1d97, NID),
        (0x1d97, 0x2269, Quirks(NID.0 | SUBNQN.0)),
        (0x10ec, 0x5763, NID),
        (0x1e4b, 0x1602, NID),
        (0x10ec, 0x5765, NID),
        (AMAZON, 0x0061, DMA48),
        (AMAZON, 0x0065, DMA48),
        (AMAZON, 0x8061, DMA48),
        (AMAZON, 0xcd00, DMA48),
        (AMAZON, 0xcd01, DMA48),
        (AMAZON, 0xcd02, DMA48),
        (APPLE, 0x2001, Quirks(Quirks::SINGLE_VECTOR.0 | Quirks::QDEPTH_ONE.0)),
        (APPLE, 0x2003, Quirks::NONE),
        (APPLE, 0x2005, Quirks(Quirks::SINGLE_VECTOR.0 | Quirks::SQES_128_BYTES.0
            | Quirks::SHARED_TAGS.0 | Quirks::SKIP_CID_GEN.0 | Quirks::IDENTIFY_CNS.0)),
    ]
};

#[kunit_tests(rust_nvme_quirks)]
mod tests {
    use super::*;

    #[test]
    fn qemu_carries_bogus_nid() {
        let q = Quirks::for_pci(0x1b36, 0x0010);
        assert!(q.has(Quirks::BOGUS_NID));
        let mut n = q.names();
        assert_eq!(n.next(), Some("bogus_nid"));
        assert_eq!(n.next(), None);
        assert_eq!(Quirks::for_pci(0x1b36, 0x0011), Quirks::NONE);
        assert_eq!(Quirks::NONE.names().next(), None);
    }

    #[test]
    fn first_entry_wins_and_names_follow_bits() {
        // SPCC and Lexar NM610 share an ID; C's first entry applies.
        assert_eq!(Quirks::for_pci(0x1d97, 0x2263), NO_WZ);
        let q = Quirks::for_pci(0x8086, 0x0a54);
        let mut n = q.names();
        assert_eq!(n.next(), Some("stripe_size"));
        assert_eq!(n.next(), Some("ignore_dev_subnqn"));
        assert_eq!(n.next(), Some("bogus_nid"));
        assert_eq!(n.next(), None);
        assert_eq!(Quirks(1 << 30).names().next(), Some("unknown"));
        assert_eq!(
            Quirks::ADMIN_PAGE_ALIGN.names().next(),
            Some("admin_page_align")
        );
        assert!(!Quirks::NONE.has(Quirks::NONE));
    }
}
