// SPDX-License-Identifier: GPL-2.0

//! Controller quirks: workarounds for devices that do not behave as the specification
//! says, with the names, bit numbers and PCI table of the C driver (`enum nvme_quirks`,
//! `nvme_quirk_name`, and the driver data of `nvme_id_table` in `pci.c`), so that the
//! `quirks` attribute of a controller reads the same with both drivers.
//!
//! The `quirks` module parameter (`VID:DID:name,^name-VID:DID:...`, C's syntax) sets
//! and clears quirks over the table for the controllers it names ([`param_override`]).
//!
//! What rust_nvme does with each quirk:
//!
//! * honoured as C honours it: `bogus_nid` (namespace UUID, NGUID and EUI64 ignored),
//!   `no_ns_desc_list` (no Namespace Identification Descriptor list), `ignore_dev_subnqn`
//!   (the made-up NQN), `disable_write_zeroes`, `dma_address_bits_48` (48-bit DMA mask),
//!   `delay_before_chk_rdy` (2.3 s before waiting for CSTS.RDY to clear), `qdepth_one`
//!   (I/O queues of depth 2), `single_vector` (one interrupt vector for everything),
//!   `broken_msi` (MSI-X or INTx only), `medium_prio_sq` (I/O SQs of medium priority),
//!   `stripe_size` (I/O boundary at the largest transfer), `identify_cns` (before NVMe
//!   1.2: only CNS 0 and 1, namespaces scanned one by one), `deallocate_zeroes` (zeroes
//!   written by DSM deallocate), `no_temp_thresh_change` and `no_secondary_temp_thresh`
//!   (hwmon offers no threshold it forbids);
//! * met by construction: `simple_suspend` (system sleep always shuts the controller
//!   down), `no_apst` and `no_deepest_ps` (rust_nvme never enables APST),
//!   `skip_cid_gen` (command identifiers carry no generation), `dmapool_align_512` and
//!   `admin_page_align` (list pages and admin buffers are whole pages);
//! * not supported (refused by the parameter, and warned about at probe should the table
//!   give one): `128_bytes_sqes` and `shared_tags` (Apple controllers of another PCI
//!   class, which rust_nvme never binds), `force_no_simple_suspend` (rust_nvme has only
//!   the shutdown path).

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
    #[allow(
        dead_code,
        reason = "met by construction: rust_nvme never enables APST"
    )]
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
    #[allow(
        dead_code,
        reason = "met by construction: system sleep always shuts down"
    )]
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

    /// `self` without the quirks of `q`.
    pub(crate) fn without(self, q: Self) -> Self {
        Self(self.0 & !q.0)
    }

    /// The quirks of `self` that rust_nvme cannot honour.
    pub(crate) fn unsupported(self) -> Self {
        Self(self.0 & UNSUPPORTED.0)
    }

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

/// What the `quirks` parameter says for one controller (C: `struct quirk_entry`): quirks
/// to set, then quirks to clear, over the built-in table's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Override {
    /// Set (`name`).
    pub(crate) enable: Quirks,
    /// Cleared (`^name`).
    pub(crate) disable: Quirks,
}

impl Override {
    /// `q` with the override applied (C: `nvme_pci_alloc_dev`).
    pub(crate) fn apply(self, q: Quirks) -> Quirks {
        Quirks((q.0 | self.enable.0) & !self.disable.0)
    }
}

/// Why a `quirks` parameter string is refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ParamError<'a> {
    /// An entry is not `VID:DID:names` (C: "failed to parse quirk string").
    Malformed,
    /// A name C does not know (C: "unrecognized quirk").
    Unknown(&'a [u8]),
    /// A name C knows that rust_nvme cannot honour.
    Unsupported(&'static str),
}

/// Quirks rust_nvme cannot honour: the parameter refuses them. `128_bytes_sqes` and
/// `shared_tags` belong to Apple controllers of another PCI class than NVMe, which
/// rust_nvme never binds; `force_no_simple_suspend` asks for the power-state suspend
/// path, which rust_nvme does not have (it always shuts the controller down).
const UNSUPPORTED: Quirks =
    Quirks(Quirks::SQES_128_BYTES.0 | Quirks::SHARED_TAGS.0 | Quirks::FORCE_NO_SIMPLE_SUSPEND.0);

/// A 16-bit hexadecimal field, with or without `0x` (C: `kstrtou16(field, 16, ...)`).
fn hex_u16(f: &[u8]) -> Option<u16> {
    let f = f
        .strip_prefix(b"0x")
        .or_else(|| f.strip_prefix(b"0X"))
        .unwrap_or(f);
    if f.is_empty() || f.len() > 4 {
        return None;
    }
    f.iter().try_fold(0u16, |v, c| {
        let d = (*c as char).to_digit(16)?;
        Some(v << 4 | d as u16)
    })
}

/// The quirk named `name` (C: `nvme_quirk_name`).
fn by_name(name: &[u8]) -> Option<Quirks> {
    NAMES
        .iter()
        .position(|n| n.as_bytes() == name)
        .map(|i| Quirks(1 << i))
}

/// Parses one `VID:DID:names` entry (C: `nvme_parse_quirk_entry`; names separated by
/// commas, `^` clearing, an empty name ending the list, anything after a third colon
/// ignored).
fn parse_entry(e: &[u8]) -> Result<(u16, u16, Override), ParamError<'_>> {
    let mut f = e.split(|c| *c == b':');
    let vendor = f.next().and_then(hex_u16).ok_or(ParamError::Malformed)?;
    let device = f.next().and_then(hex_u16).ok_or(ParamError::Malformed)?;
    let names = f.next().ok_or(ParamError::Malformed)?;
    let mut o = Override::default();
    for name in names.split(|c| *c == b',') {
        if name.is_empty() {
            break;
        }
        let (clear, bare) = match name.strip_prefix(b"^") {
            Some(n) => (true, n),
            None => (false, name),
        };
        let q = by_name(bare).ok_or(ParamError::Unknown(bare))?;
        if !clear && UNSUPPORTED.0 & q.0 != 0 {
            return Err(ParamError::Unsupported(
                q.names().next().unwrap_or("unknown"),
            ));
        }
        if clear {
            o.disable.0 |= q.0;
        } else {
            o.enable.0 |= q.0;
        }
    }
    Ok((vendor, device, o))
}

/// Checks the whole `quirks` parameter string (entries separated by `-`; empty: none)
/// and returns the override of the first entry for `vendor:device` (C:
/// `quirks_param_set`, `detect_dynamic_quirks`).
pub(crate) fn param_override(
    s: &[u8],
    vendor: u16,
    device: u16,
) -> Result<Option<Override>, ParamError<'_>> {
    if s.is_empty() {
        return Ok(None);
    }
    let mut found = None;
    for e in s.split(|c| *c == b'-') {
        let (v, d, o) = parse_entry(e)?;
        if found.is_none() && v == vendor && d == device {
            found = Some(o);
        }
    }
    Ok(found)
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
    fn quirks_parameter_as_c_parses_it() {
        let s = b"1b36:0010:qdepth_one,^bogus_nid-0x8086:F1A5:stripe_size";
        let o = param_override(s, 0x1b36, 0x0010);
        assert_eq!(
            o,
            Ok(Some(Override {
                enable: Quirks::QDEPTH_ONE,
                disable: Quirks::BOGUS_NID,
            }))
        );
        let q = Quirks::for_pci(0x1b36, 0x0010);
        if let Ok(Some(o)) = o {
            assert_eq!(o.apply(q), Quirks::QDEPTH_ONE);
        }
        assert_eq!(
            param_override(s, 0x8086, 0xf1a5),
            Ok(Some(Override {
                enable: Quirks::STRIPE_SIZE,
                disable: Quirks::NONE,
            }))
        );
        assert_eq!(param_override(s, 0x1b36, 0x0011), Ok(None));
        assert_eq!(param_override(b"", 0x1b36, 0x0010), Ok(None));
        // An empty name ends the list; a fourth field is ignored (as C's strsep).
        assert_eq!(
            param_override(b"1b36:10:,qdepth_one", 0x1b36, 0x10),
            Ok(Some(Override::default()))
        );
        assert_eq!(
            param_override(b"1b36:10:bogus_nid:x", 0x1b36, 0x10),
            Ok(Some(Override {
                enable: Quirks::BOGUS_NID,
                disable: Quirks::NONE,
            }))
        );
    }

    #[test]
    fn bad_quirks_parameters_are_refused() {
        assert_eq!(
            param_override(b"1b36:0010", 0, 0),
            Err(ParamError::Malformed)
        );
        assert_eq!(
            param_override(b"1b36:10010:bogus_nid", 0, 0),
            Err(ParamError::Malformed)
        );
        assert_eq!(
            param_override(b"xyz:0010:bogus_nid", 0, 0),
            Err(ParamError::Malformed)
        );
        assert_eq!(
            param_override(b"1b36:0010:bogus_nid-", 0, 0),
            Err(ParamError::Malformed)
        );
        assert_eq!(
            param_override(b"1b36:0010:bogus", 0, 0),
            Err(ParamError::Unknown(b"bogus"))
        );
        assert_eq!(
            param_override(b"1b36:0010:^nope", 0, 0),
            Err(ParamError::Unknown(b"nope"))
        );
        assert_eq!(
            param_override(b"1b36:0010:shared_tags", 0, 0),
            Err(ParamError::Unsupported("shared_tags"))
        );
        // Clearing what rust_nvme cannot do is harmless.
        assert!(param_override(b"1b36:0010:^128_bytes_sqes", 0, 0).is_ok());
    }

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
