// SPDX-License-Identifier: GPL-2.0

//! The Zoned Namespace Command Set (NVM Express Zoned Namespace Command Set
//! Specification 1.1): its Identify structures, the zone report of Zone Management
//! Receive, the commands and the arithmetic between them and the block layer's zones
//! (C: `drivers/nvme/host/zns.c`). Pure: no controller, no block layer.

use core::mem::offset_of;

use kernel::{
    prelude::*,
    transmute, //
};

use crate::spec::cmd::{
    Command,
    IoOpcode, //
};

/// Identify Namespace data for the Zoned Namespace Command Set (CNS 05h, CSI 02h; ZNS
/// Figure 49; C: `struct nvme_id_ns_zns`).
#[repr(C)]
#[derive(FromBytes, IntoBytes, Zeroable)]
pub(crate) struct IdentifyNsZns {
    /// Zone Operation Characteristics (variable zone capacity, zone active excursions).
    pub(crate) zoc: u16,
    /// Optional Zoned Command Support.
    pub(crate) ozcs: u16,
    /// Maximum Active Resources, 0's based; `u32::MAX`: no limit.
    pub(crate) mar: u32,
    /// Maximum Open Resources, 0's based; `u32::MAX`: no limit.
    pub(crate) mor: u32,
    /// Reset Recommended Limit.
    pub(crate) rrl: u32,
    /// Finish Recommended Limit.
    pub(crate) frl: u32,
    rsvd20: [u8; 2796],
    /// LBA Format Extensions, one per LBA format of Identify Namespace.
    pub(crate) lbafe: [ZnsLbaFormatExt; 64],
    /// Vendor specific.
    pub(crate) vs: [u8; 256],
}
kernel::static_assert!(size_of::<IdentifyNsZns>() == crate::spec::cmd::IDENTIFY_DATA_SIZE);
kernel::static_assert!(offset_of!(IdentifyNsZns, mar) == 4);
kernel::static_assert!(offset_of!(IdentifyNsZns, mor) == 8);
kernel::static_assert!(offset_of!(IdentifyNsZns, lbafe) == 2816);

// SAFETY: `repr(C)`, integers and byte arrays only, no padding (the derived `IntoBytes`
// checks it): every byte is initialised and any byte pattern is a valid value.
unsafe impl transmute::AsBytes for IdentifyNsZns {}
// SAFETY: As above: any byte pattern is a valid `IdentifyNsZns`.
unsafe impl transmute::FromBytes for IdentifyNsZns {}

/// A Zoned Namespace LBA Format Extension (ZNS Figure 50; C: `struct nvme_zns_lbafe`).
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Zeroable)]
pub(crate) struct ZnsLbaFormatExt {
    /// Zone Size, logical blocks.
    pub(crate) zsze: u64,
    /// Zone Descriptor Extension Size, 64-byte units.
    pub(crate) zdes: u8,
    rsvd9: [u8; 7],
}
kernel::static_assert!(size_of::<ZnsLbaFormatExt>() == 16);

/// Identify Controller data for the Zoned Namespace Command Set (CNS 06h, CSI 02h; ZNS
/// Figure 51; C: `struct nvme_id_ctrl_zns`).
#[repr(C)]
#[derive(FromBytes, IntoBytes, Zeroable)]
pub(crate) struct IdentifyCtrlZns {
    /// Zone Append Size Limit: log2 in units of the minimum memory page size
    /// (CAP.MPSMIN); 0: MDTS.
    pub(crate) zasl: u8,
    rsvd1: [u8; 4095],
}
kernel::static_assert!(size_of::<IdentifyCtrlZns>() == crate::spec::cmd::IDENTIFY_DATA_SIZE);

// SAFETY: `repr(C)`, bytes only: any byte pattern is a valid value, nothing is padding.
unsafe impl transmute::AsBytes for IdentifyCtrlZns {}
// SAFETY: As above.
unsafe impl transmute::FromBytes for IdentifyCtrlZns {}

/// A Zone Descriptor of a zone report (ZNS Figure 37; C: `struct nvme_zone_descriptor`).
#[repr(C)]
#[derive(Clone, Copy, Default, FromBytes, IntoBytes, Zeroable)]
pub(crate) struct ZoneDescriptor {
    /// Zone Type (bits 3:0).
    pub(crate) zt: u8,
    /// Zone State (bits 7:4).
    pub(crate) zs: u8,
    /// Zone Attributes.
    pub(crate) za: u8,
    rsvd3: [u8; 5],
    /// Zone Capacity, logical blocks.
    pub(crate) zcap: u64,
    /// Zone Start Logical Block Address.
    pub(crate) zslba: u64,
    /// Write Pointer, an LBA.
    pub(crate) wp: u64,
    rsvd32: [u8; 32],
}
kernel::static_assert!(size_of::<ZoneDescriptor>() == 64);
kernel::static_assert!(offset_of!(ZoneDescriptor, zcap) == 8);
kernel::static_assert!(offset_of!(ZoneDescriptor, wp) == 24);

// SAFETY: `repr(C)`, integers and byte arrays, no padding (checked by the derive): any
// byte pattern is a valid value.
unsafe impl transmute::AsBytes for ZoneDescriptor {}
// SAFETY: As above.
unsafe impl transmute::FromBytes for ZoneDescriptor {}

/// The header of a zone report (ZNS Figure 36; C: `struct nvme_zone_report`), followed
/// by the descriptors.
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Zeroable)]
pub(crate) struct ZoneReportHeader {
    /// Number of Zones: with Partial Report set, the descriptors in this report.
    pub(crate) nr_zones: u64,
    rsvd8: [u8; 56],
}
kernel::static_assert!(size_of::<ZoneReportHeader>() == 64);

// SAFETY: `repr(C)`, an integer and bytes, no padding: any byte pattern is valid.
unsafe impl transmute::AsBytes for ZoneReportHeader {}
// SAFETY: As above.
unsafe impl transmute::FromBytes for ZoneReportHeader {}

/// Zone Type: Sequential Write Required, the only type ZNS 1.1 defines.
const ZONE_TYPE_SEQWRITE_REQ: u8 = 0x2;
/// Zone Type bits of `zt`.
const ZONE_TYPE_MASK: u8 = 0xf;
/// Zone State: Full (bits 7:4 of `zs`), as the block layer's `BLK_ZONE_COND_FULL`.
const ZONE_STATE_FULL: u8 = 0xe;
/// Zone State shift in `zs`.
const ZONE_STATE_SHIFT: u8 = 4;

/// Zone Send Action (ZNS Figure 42; C: `enum nvme_zone_mgmt_action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum ZoneAction {
    /// Close Zone.
    Close = 0x1,
    /// Finish Zone.
    Finish = 0x2,
    /// Open Zone.
    Open = 0x3,
    /// Reset Zone.
    Reset = 0x4,
}

/// Zone Management Send CDW13: Select All (bit 8).
const ZMS_SELECT_ALL: u32 = 1 << 8;
/// Zone Management Receive CDW13: Zone Receive Action Specific bits (15:8) shift.
const ZMR_ZRASF_SHIFT: u32 = 8;
/// Zone Management Receive CDW13: Partial Report (bit 16): Number of Zones counts the
/// descriptors returned, not all matching zones.
const ZMR_PARTIAL: u32 = 1 << 16;
/// Zone Receive Action: Report Zones (0h), with ZRASF 0h (all zones), the only report
/// the driver reads.
const ZRA_REPORT_ZONES: u32 = 0;
const ZRASF_ALL: u32 = 0;

impl Command {
    /// Zone Management Send: `action` on the zone starting at `slba`, or on every zone
    /// with `all` (C: `nvme_setup_zone_mgmt_send`).
    pub(crate) fn zone_mgmt_send(nsid: u32, slba: u64, action: ZoneAction, all: bool) -> Self {
        let mut c = Self::new(IoOpcode::ZoneMgmtSend as u8, nsid);
        c.cdw10 = slba as u32;
        c.cdw11 = (slba >> 32) as u32;
        c.cdw13 = action as u32 | if all { ZMS_SELECT_ALL } else { 0 };
        c
    }

    /// Zone Management Receive, Report Zones of every state from the zone at `slba`, a
    /// partial report into `len` bytes (a multiple of 4, at least 4; C:
    /// `nvme_ns_report_zones`).
    pub(crate) fn zone_report(nsid: u32, slba: u64, len: u32) -> Self {
        let mut c = Self::new(IoOpcode::ZoneMgmtRecv as u8, nsid);
        c.cdw10 = slba as u32;
        c.cdw11 = (slba >> 32) as u32;
        // Number of Dwords, 0's based.
        c.cdw12 = (len / 4).saturating_sub(1);
        c.cdw13 = ZRA_REPORT_ZONES | (ZRASF_ALL << ZMR_ZRASF_SHIFT) | ZMR_PARTIAL;
        c
    }
}

/// What the block layer needs of a zoned namespace (C: `struct nvme_zone_info`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ZoneInfo {
    /// Zone size, logical blocks (a power of two).
    pub(crate) zone_size: u64,
    /// Most open zones; 0: no limit.
    pub(crate) max_open: u32,
    /// Most active zones; 0: no limit.
    pub(crate) max_active: u32,
}

/// Why a zoned namespace cannot be a zoned block device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ZoneInfoError {
    /// Zone operation characteristics the driver does not handle (ZOC ≠ 0).
    Operations(u16),
    /// The zone size of the format in use is not a power of two (or is zero).
    ZoneSize(u64),
}

impl IdentifyNsZns {
    /// The zone geometry of LBA format `lbaf` (C: `nvme_query_zone_info`).
    pub(crate) fn zone_info(&self, lbaf: usize) -> Result<ZoneInfo, ZoneInfoError> {
        if self.zoc != 0 {
            return Err(ZoneInfoError::Operations(self.zoc));
        }
        let zone_size = self.lbafe.get(lbaf).map_or(0, |f| f.zsze);
        if !zone_size.is_power_of_two() {
            return Err(ZoneInfoError::ZoneSize(zone_size));
        }
        Ok(ZoneInfo {
            zone_size,
            // 0's based with all ones meaning "no limit": +1 wraps to the block layer's 0.
            max_open: self.mor.wrapping_add(1),
            max_active: self.mar.wrapping_add(1),
        })
    }
}

/// The largest Zone Append in 512-byte sectors (C: `nvme_set_max_append`): ZASL pages of
/// `2^mps_min_shift` bytes, or `max_hw_sectors` (the MDTS limit) when ZASL is 0.
pub(crate) fn max_zone_append_sectors(zasl: u8, mps_min_shift: u32, max_hw_sectors: u32) -> u32 {
    if zasl == 0 {
        return max_hw_sectors;
    }
    let shift =
        crate::spec::lba::sectors_per_lba_shift(u32::from(zasl).saturating_add(mps_min_shift));
    1u32.checked_shl(shift)
        .unwrap_or(u32::MAX)
        .min(max_hw_sectors)
}

/// A zone as the block layer describes it (`struct blk_zone`), in 512-byte sectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Zone {
    /// First sector.
    pub(crate) start: u64,
    /// Length (the zone size).
    pub(crate) len: u64,
    /// Usable sectors from `start`.
    pub(crate) capacity: u64,
    /// Write pointer.
    pub(crate) wp: u64,
    /// Condition: the ZNS zone state, whose values are the block layer's
    /// `BLK_ZONE_COND_*`.
    pub(crate) cond: u8,
}

/// A zone descriptor that is not a sequential-write-required zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BadZoneType(pub(crate) u8);

impl ZoneDescriptor {
    /// The zone in sectors on a namespace of `2^lba_shift`-byte blocks whose zones are
    /// `zone_sectors` long (C: `nvme_zone_parse_entry`); a full zone's write pointer is
    /// its end, whatever the controller reports.
    pub(crate) fn to_zone(&self, lba_shift: u32, zone_sectors: u64) -> Result<Zone, BadZoneType> {
        if self.zt & ZONE_TYPE_MASK != ZONE_TYPE_SEQWRITE_REQ {
            return Err(BadZoneType(self.zt));
        }
        let sect = |lba: u64| crate::spec::lba::lba_to_sectors(lba, lba_shift);
        let start = sect(self.zslba);
        let cond = self.zs >> ZONE_STATE_SHIFT;
        Ok(Zone {
            start,
            len: zone_sectors,
            capacity: sect(self.zcap),
            wp: if cond == ZONE_STATE_FULL {
                start.saturating_add(zone_sectors)
            } else {
                sect(self.wp)
            },
            cond,
        })
    }
}

/// A zone report buffer's size for up to `nr_zones` zones (C:
/// `nvme_zns_alloc_report_buffer`): the header and the descriptors, at most `max_bytes`
/// (the transfer limit), at least one descriptor's worth; and how many descriptors fit.
pub(crate) fn report_size(nr_zones: u32, max_bytes: usize) -> (usize, usize) {
    let hdr = size_of::<ZoneReportHeader>();
    let desc = size_of::<ZoneDescriptor>();
    let want = (nr_zones as usize).saturating_mul(desc).saturating_add(hdr);
    let len = want.min(max_bytes).max(hdr + desc);
    (len, (len - hdr) / desc)
}

#[kunit_tests(rust_nvme_zns)]
mod tests {
    use super::*;

    fn id_ns(zoc: u16, mor: u32, mar: u32, zsze: u64) -> Result<KBox<IdentifyNsZns>> {
        let mut id = KBox::init(pin_init::init_zeroed::<IdentifyNsZns>(), GFP_KERNEL)?;
        id.zoc = zoc;
        id.mor = mor;
        id.mar = mar;
        id.lbafe[1].zsze = zsze;
        Ok(id)
    }

    #[test]
    fn zone_info_as_c() -> Result {
        // QEMU: 16 MiB zones of 4 KiB blocks (format 1), max_open 4, max_active 6.
        let id = id_ns(0, 3, 5, 4096)?;
        assert_eq!(
            id.zone_info(1),
            Ok(ZoneInfo {
                zone_size: 4096,
                max_open: 4,
                max_active: 6
            })
        );
        // No limits: 0xffffffff + 1 is the block layer's "none".
        let id = id_ns(0, u32::MAX, u32::MAX, 4096)?;
        let zi = id.zone_info(1).map_err(|_| EINVAL)?;
        assert_eq!((zi.max_open, zi.max_active), (0, 0));
        // Not a power of two, zero, beyond the table, operations not handled.
        assert_eq!(
            id_ns(0, 0, 0, 3000)?.zone_info(1),
            Err(ZoneInfoError::ZoneSize(3000))
        );
        assert_eq!(
            id_ns(0, 0, 0, 0)?.zone_info(1),
            Err(ZoneInfoError::ZoneSize(0))
        );
        assert_eq!(
            id_ns(0, 0, 0, 4096)?.zone_info(64),
            Err(ZoneInfoError::ZoneSize(0))
        );
        assert_eq!(
            id_ns(1, 0, 0, 4096)?.zone_info(1),
            Err(ZoneInfoError::Operations(1))
        );
        Ok(())
    }

    #[test]
    fn zone_append_limit() {
        // ZASL 5 with 4 KiB pages: 128 KiB = 256 sectors (C: 1 << (zasl + 3)).
        assert_eq!(max_zone_append_sectors(5, 12, 1024), 256);
        // Capped by the transfer limit, and 0 means the transfer limit.
        assert_eq!(max_zone_append_sectors(9, 12, 1024), 1024);
        assert_eq!(max_zone_append_sectors(0, 12, 512), 512);
        assert_eq!(max_zone_append_sectors(255, 12, 512), 512);
    }

    #[test]
    fn descriptor_to_zone() {
        let mut d = ZoneDescriptor {
            zt: ZONE_TYPE_SEQWRITE_REQ,
            // Implicitly opened.
            zs: 0x2 << 4,
            zcap: 3072,
            zslba: 8192,
            wp: 8200,
            ..Default::default()
        };
        // 4 KiB blocks: 8 sectors each; zones of 4096 blocks.
        let z = d.to_zone(12, 4096 * 8);
        assert_eq!(
            z,
            Ok(Zone {
                start: 65536,
                len: 32768,
                capacity: 24576,
                wp: 65600,
                cond: 2
            })
        );
        // Full: the write pointer is the zone's end.
        d.zs = ZONE_STATE_FULL << 4;
        assert_eq!(
            d.to_zone(12, 32768).map(|z| (z.wp, z.cond)),
            Ok((98304, 0xe))
        );
        // 512-byte blocks: LBAs are sectors.
        assert_eq!(d.to_zone(9, 4096).map(|z| z.start), Ok(8192));
        d.zt = 0x1;
        assert_eq!(d.to_zone(12, 32768), Err(BadZoneType(1)));
    }

    #[test]
    fn commands() {
        let c = Command::zone_report(1, 0x1_0000_0002, 4096);
        assert_eq!(c.opcode(), 0x7a);
        assert_eq!((c.cdw10, c.cdw11, c.cdw12), (2, 1, 1023));
        assert_eq!(c.cdw13, 1 << 16);
        let c = Command::zone_mgmt_send(1, 4096, ZoneAction::Reset, true);
        assert_eq!(c.opcode(), 0x79);
        assert_eq!((c.cdw10, c.cdw13), (4096, 0x104));
        let c = Command::zone_mgmt_send(1, 0, ZoneAction::Open, false);
        assert_eq!(c.cdw13, 0x3);
    }

    #[test]
    fn report_buffer() {
        // 10 zones: header + 10 descriptors.
        assert_eq!(report_size(10, 1 << 20), (64 + 640, 10));
        // All zones, bounded by the transfer limit.
        assert_eq!(report_size(u32::MAX, 128 * 1024), (128 * 1024, 2047));
        // Never less than one descriptor.
        assert_eq!(report_size(0, 0), (128, 1));
    }
}
