// SPDX-License-Identifier: GPL-2.0

//! NVMe commands and completions: the 64-byte submission queue entry, the 16-byte
//! completion queue entry, opcodes and status decoding (NVMe Base Specification 2.0,
//! §4.2, §4.6; NVM Command Set Specification 1.0, §3).
//!
//! Entries are little-endian in memory; the driver only builds for little-endian CPUs,
//! so they are plain integers (checked at build time below).

use kernel::{
    bitfield,
    num::Bounded,
    prelude::*,
    transmute, //
};

kernel::static_assert!(cfg!(target_endian = "little"));

/// A submission queue entry.
#[repr(C)]
#[derive(Clone, Copy, Default, FromBytes, IntoBytes)]
pub(crate) struct Command {
    /// Command Dword 0: opcode (7:0), fused operation (9:8), PSDT (15:14), cid (31:16).
    pub(crate) cdw0: u32,
    /// Namespace Identifier.
    pub(crate) nsid: u32,
    /// Command Dword 2.
    pub(crate) cdw2: u32,
    /// Command Dword 3.
    pub(crate) cdw3: u32,
    /// Metadata Pointer.
    pub(crate) mptr: u64,
    /// Data Pointer: PRP Entry 1 (or the first half of an SGL descriptor).
    pub(crate) prp1: u64,
    /// Data Pointer: PRP Entry 2 (or the second half of an SGL descriptor).
    pub(crate) prp2: u64,
    /// Command Dword 10.
    pub(crate) cdw10: u32,
    /// Command Dword 11.
    pub(crate) cdw11: u32,
    /// Command Dword 12.
    pub(crate) cdw12: u32,
    /// Command Dword 13.
    pub(crate) cdw13: u32,
    /// Command Dword 14.
    pub(crate) cdw14: u32,
    /// Command Dword 15.
    pub(crate) cdw15: u32,
}
kernel::static_assert!(core::mem::size_of::<Command>() == 64);

// SAFETY: `Command` is `repr(C)` with only integer fields and no padding (64 bytes checked
// above), so every byte is initialised and any byte pattern is a valid value.
unsafe impl transmute::AsBytes for Command {}
// SAFETY: As above: any byte pattern is a valid `Command`.
unsafe impl transmute::FromBytes for Command {}

/// A completion queue entry.
#[repr(C)]
#[derive(Clone, Copy, Default, FromBytes, IntoBytes)]
pub(crate) struct Completion {
    /// Dword 0: command specific result.
    pub(crate) result: u32,
    /// Dword 1: command specific.
    pub(crate) dw1: u32,
    /// SQ Head Pointer.
    pub(crate) sq_head: u16,
    /// SQ Identifier.
    pub(crate) sq_id: u16,
    /// Command Identifier.
    pub(crate) cid: u16,
    /// Phase Tag (bit 0) and Status (15:1), see [`StatusField`].
    pub(crate) status: u16,
}
kernel::static_assert!(core::mem::size_of::<Completion>() == 16);

// SAFETY: `Completion` is `repr(C)` with only integer fields and no padding (16 bytes).
unsafe impl transmute::AsBytes for Completion {}
// SAFETY: As above: any byte pattern is a valid `Completion`.
unsafe impl transmute::FromBytes for Completion {}

bitfield! {
    /// Completion queue entry dword 3, bits 31:16: Phase Tag and Status Field.
    pub(crate) struct StatusField(u16) {
        /// Do Not Retry.
        15:15 dnr => bool;
        /// More information in the Error Information log page.
        14:14 more => bool;
        /// Command Retry Delay.
        13:12 crd;
        /// Status Code Type.
        11:9 sct;
        /// Status Code.
        8:1 sc;
        /// Phase Tag.
        0:0 p => bool;
    }
}

bitfield! {
    /// Command Dword 0.
    pub(crate) struct Cdw0(u32) {
        /// Command Identifier.
        31:16 cid;
        /// PRP or SGL for Data Transfer.
        15:14 psdt;
        /// Fused Operation.
        9:8 fuse;
        /// Opcode.
        7:0 opc;
    }
}

/// Admin command opcodes (NVMe Base Specification 2.0, Figure 28).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum AdminOpcode {
    /// Delete I/O Submission Queue.
    DeleteSq = 0x00,
    /// Create I/O Submission Queue.
    CreateSq = 0x01,
    /// Get Log Page.
    GetLogPage = 0x02,
    /// Delete I/O Completion Queue.
    DeleteCq = 0x04,
    /// Create I/O Completion Queue.
    CreateCq = 0x05,
    /// Identify.
    Identify = 0x06,
    /// Abort.
    Abort = 0x08,
    /// Set Features.
    SetFeatures = 0x09,
    /// Get Features.
    GetFeatures = 0x0a,
    /// Asynchronous Event Request.
    AsyncEvent = 0x0c,
    /// Firmware Image Download (only through passthrough).
    FirmwareDownload = 0x11,
    /// Namespace Attachment (only through passthrough).
    NsAttach = 0x15,
    /// Doorbell Buffer Config.
    DbbufConfig = 0x7c,
    /// Format NVM (only through passthrough).
    FormatNvm = 0x80,
    /// Security Send (only through passthrough).
    SecuritySend = 0x81,
    /// Security Receive (only through passthrough).
    SecurityReceive = 0x82,
    /// Sanitize (only through passthrough).
    Sanitize = 0x84,
}

/// NVM command set I/O opcodes (NVM Command Set Specification 1.0, Figure 17).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum IoOpcode {
    /// Flush.
    Flush = 0x00,
    /// Write.
    Write = 0x01,
    /// Read.
    Read = 0x02,
    /// Write Uncorrectable (only through passthrough).
    WriteUncorrectable = 0x04,
    /// Compare (only through passthrough).
    Compare = 0x05,
    /// Write Zeroes.
    WriteZeroes = 0x08,
    /// Dataset Management.
    Dsm = 0x09,
    /// Reservation Register (only through passthrough).
    ReservationRegister = 0x0d,
    /// Reservation Report (only through passthrough).
    ReservationReport = 0x0e,
    /// Reservation Acquire (only through passthrough).
    ReservationAcquire = 0x11,
    /// Reservation Release (only through passthrough).
    ReservationRelease = 0x15,
    /// Copy (only through passthrough).
    Copy = 0x19,
    /// Zone Management Send (Zoned Namespace Command Set Specification 1.1, §3.4.3).
    ZoneMgmtSend = 0x79,
    /// Zone Management Receive (ZNS §3.4.2).
    ZoneMgmtRecv = 0x7a,
    /// Zone Append (ZNS §3.4.1): a write at a zone's write pointer, which the
    /// completion reports.
    ZoneAppend = 0x7d,
}

impl AdminOpcode {
    /// The command's name for log messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::DeleteSq => "Delete I/O SQ",
            Self::CreateSq => "Create I/O SQ",
            Self::GetLogPage => "Get Log Page",
            Self::DeleteCq => "Delete I/O CQ",
            Self::CreateCq => "Create I/O CQ",
            Self::Identify => "Identify",
            Self::Abort => "Abort",
            Self::SetFeatures => "Set Features",
            Self::GetFeatures => "Get Features",
            Self::AsyncEvent => "Asynchronous Event Request",
            Self::FirmwareDownload => "Firmware Image Download",
            Self::NsAttach => "Namespace Attachment",
            Self::DbbufConfig => "Doorbell Buffer Config",
            Self::FormatNvm => "Format NVM",
            Self::SecuritySend => "Security Send",
            Self::SecurityReceive => "Security Receive",
            Self::Sanitize => "Sanitize",
        }
    }
}

impl IoOpcode {
    /// The command's name for log messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Flush => "Flush",
            Self::Write => "Write",
            Self::Read => "Read",
            Self::WriteUncorrectable => "Write Uncorrectable",
            Self::Compare => "Compare",
            Self::WriteZeroes => "Write Zeroes",
            Self::Dsm => "Dataset Management",
            Self::ReservationRegister => "Reservation Register",
            Self::ReservationReport => "Reservation Report",
            Self::ReservationAcquire => "Reservation Acquire",
            Self::ReservationRelease => "Reservation Release",
            Self::Copy => "Copy",
            Self::ZoneMgmtSend => "Zone Management Send",
            Self::ZoneMgmtRecv => "Zone Management Receive",
            Self::ZoneAppend => "Zone Append",
        }
    }
}

/// Identify CNS values (NVMe Base Specification 2.0, Figure 273).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Cns {
    /// Identify Namespace data structure for the NSID.
    Namespace = 0x00,
    /// Identify Controller data structure.
    Controller = 0x01,
    /// Active Namespace ID list.
    ActiveNsList = 0x02,
    /// Namespace Identification Descriptor list for the NSID.
    NsDescList = 0x03,
    /// I/O Command Set specific Identify Namespace (CSI in CDW11).
    NsCsi = 0x05,
    /// I/O Command Set specific Identify Controller (CSI in CDW11; 0 is NVM).
    CtrlCsi = 0x06,
}

/// Feature Identifiers (NVMe Base Specification 2.0, Figure 317).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum FeatureId {
    /// LBA Range Type (a data structure of 64-byte entries).
    LbaRangeType = 0x03,
    /// Temperature Threshold.
    TempThreshold = 0x04,
    /// Number of Queues.
    NumQueues = 0x07,
    /// Asynchronous Event Configuration.
    AsyncEventConfig = 0x0b,
    /// Autonomous Power State Transition (a 256-byte data structure).
    Apst = 0x0c,
    /// Host Memory Buffer (Get Features returns a 4 KiB attributes structure).
    HostMemBuf = 0x0d,
    /// Timestamp (8 bytes).
    Timestamp = 0x0e,
    /// Keep Alive Timer.
    KeepAlive = 0x0f,
    /// Host Behavior Support (a 512-byte data structure).
    HostBehavior = 0x16,
    /// Host Identifier (8 bytes, 16 with EXHID).
    HostId = 0x81,
}

/// Log Page Identifiers (NVMe Base Specification 2.0, Figure 202).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum LogPage {
    /// SMART / Health Information.
    Smart = 0x02,
    /// Changed Namespace List.
    ChangedNsList = 0x04,
    /// Commands Supported and Effects.
    CmdEffects = 0x05,
}

/// Get Log Page CDW10: Retain Asynchronous Event.
const LOG_RAE: u32 = 1 << 15;
/// Get Log Page CDW10: Number of Dwords Lower (0's based) starts at bit 16.
const LOG_NUMDL_SHIFT: u32 = 16;
/// The namespace ID meaning "all namespaces" (controller-wide logs).
pub(crate) const NSID_ALL: u32 = 0xffff_ffff;

/// Create I/O CQ CDW11: Physically Contiguous.
pub(crate) const QUEUE_PHYS_CONTIG: u32 = 1 << 0;
/// Create I/O CQ CDW11: Interrupts Enabled.
pub(crate) const CQ_IRQ_ENABLED: u32 = 1 << 1;
/// Create I/O CQ CDW11: Interrupt Vector field shift.
pub(crate) const CQ_IV_SHIFT: u32 = 16;
/// Create I/O SQ CDW11: Completion Queue Identifier field shift.
pub(crate) const SQ_CQID_SHIFT: u32 = 16;
/// Create I/O SQ CDW11: Queue Priority (QPRIO) field shift.
const SQ_QPRIO_SHIFT: u32 = 1;

/// The priority class of an I/O submission queue (Create I/O SQ QPRIO; only weighted
/// round robin arbitration looks at it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SqPrio {
    /// Urgent (0), what a zero field says.
    Urgent = 0,
    /// Medium (2): C's `NVME_SQ_PRIO_MEDIUM`, for controllers that want it
    /// (`NVME_QUIRK_MEDIUM_PRIO_SQ`).
    Medium = 2,
}
/// Read/Write CDW12: Force Unit Access.
pub(crate) const RW_FUA: u32 = 1 << 30;
/// Read/Write CDW12: Limited Retry.
#[expect(dead_code)]
pub(crate) const RW_LR: u32 = 1 << 31;

/// Write Zeroes CDW12: Deallocate.
pub(crate) const WZ_DEAC: u32 = 1 << 25;
/// Dataset Management CDW11: Attribute - Deallocate.
pub(crate) const DSM_AD: u32 = 1 << 2;
/// Most ranges one Dataset Management command carries (C: `NVME_DSM_MAX_RANGES`).
pub(crate) const DSM_MAX_RANGES: usize = 256;
/// Command Dword 0 PSDT value: PRPs for data and metadata.
pub(crate) const PSDT_PRP: u32 = 0x0;
/// Command Dword 0 PSDT value: SGL for data, metadata pointer is an address.
pub(crate) const PSDT_SGL: u32 = 0x1;
/// Get Log Page CDW14: the Command Set Identifier (bits 31:24).
pub(crate) const LOG_CSI_SHIFT: u32 = 24;
/// Identify CDW11: the Command Set Identifier (bits 31:24).
pub(crate) const IDENTIFY_CSI_SHIFT: u32 = 24;

/// One Dataset Management range.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DsmRange {
    /// Context Attributes.
    pub(crate) cattr: u32,
    /// Length in logical blocks (1-based).
    pub(crate) nlb: u32,
    /// Starting LBA.
    pub(crate) slba: u64,
}
kernel::static_assert!(core::mem::size_of::<DsmRange>() == 16);

// SAFETY: `DsmRange` is `repr(C)` with only integer fields and no padding (16 bytes
// checked above), so any byte pattern is a valid value.
unsafe impl transmute::FromBytes for DsmRange {}

/// Builds one DSM range per `(sector, bytes)` extent of a discard request.
///
/// Returns the number of ranges written to `out`.
///
/// # Errors
///
/// `EINVAL` when there are no extents, more than `out` holds, an extent is not a whole
/// number of logical blocks, or its block count does not fit the 32-bit NLB.
pub(crate) fn build_dsm_ranges(
    extents: impl Iterator<Item = (u64, u32)>,
    lba_shift: u32,
    out: &mut [DsmRange],
) -> Result<usize> {
    let mut n = 0;
    let sectors_per_lba = lba_shift
        .checked_sub(kernel::block::SECTOR_SHIFT)
        .ok_or(EINVAL)?;
    for (sector, bytes) in extents {
        if bytes == 0
            || bytes & ((1 << lba_shift) - 1) != 0
            || sector & ((1 << sectors_per_lba) - 1) != 0
        {
            return Err(EINVAL);
        }
        *out.get_mut(n).ok_or(EINVAL)? = DsmRange {
            cattr: 0,
            nlb: bytes >> lba_shift,
            slba: sector >> sectors_per_lba,
        };
        n += 1;
    }
    if n == 0 {
        return Err(EINVAL);
    }
    Ok(n)
}

/// Size of every Identify data structure.
pub(crate) const IDENTIFY_DATA_SIZE: usize = 4096;

impl Command {
    /// A command with `opcode` and `nsid`, all other fields zero.
    pub(crate) fn new(opcode: u8, nsid: u32) -> Self {
        Self {
            cdw0: Cdw0::zeroed().with_opc(opcode).into_raw(),
            nsid,
            ..Default::default()
        }
    }

    /// An admin command.
    pub(crate) fn admin(opcode: AdminOpcode) -> Self {
        Self::new(opcode as u8, 0)
    }

    /// The opcode in CDW0.
    pub(crate) fn opcode(&self) -> u8 {
        Cdw0::from_raw(self.cdw0).opc().get() as u8
    }

    /// The command identifier in CDW0.
    #[cfg_attr(not(CONFIG_KUNIT = "y"), expect(dead_code))]
    pub(crate) fn cid(&self) -> u16 {
        Cdw0::from_raw(self.cdw0).cid().get() as u16
    }

    /// Sets the command identifier in CDW0.
    pub(crate) fn set_cid(&mut self, cid: u16) {
        self.cdw0 = Cdw0::from_raw(self.cdw0).with_cid(cid).into_raw();
    }

    /// Identify with `cns` for `nsid`, data into the 4 KiB buffer at `dma`.
    pub(crate) fn identify(cns: Cns, nsid: u32, dma: u64) -> Self {
        let mut c = Self::admin(AdminOpcode::Identify);
        c.nsid = nsid;
        c.prp1 = dma;
        c.cdw10 = cns as u32;
        c
    }

    /// Set Features, Number of Queues: ask for `nr` I/O submission and completion queues.
    pub(crate) fn set_num_queues(nr: u16) -> Self {
        let mut c = Self::admin(AdminOpcode::SetFeatures);
        c.cdw10 = FeatureId::NumQueues as u32;
        // Both counts are 0's based: NCQR in 31:16, NSQR in 15:0.
        let n = u32::from(nr.saturating_sub(1));
        c.cdw11 = (n << 16) | n;
        c
    }

    /// Create I/O Completion Queue `qid` of `depth` entries at `dma`, interrupting on
    /// MSI-X `vector`, or (`vector` None) without interrupts, for polling.
    pub(crate) fn create_cq(qid: u16, depth: u16, dma: u64, vector: Option<u16>) -> Self {
        let mut c = Self::admin(AdminOpcode::CreateCq);
        c.prp1 = dma;
        c.cdw10 = (u32::from(depth.saturating_sub(1)) << 16) | u32::from(qid);
        c.cdw11 = match vector {
            Some(v) => (u32::from(v) << CQ_IV_SHIFT) | CQ_IRQ_ENABLED | QUEUE_PHYS_CONTIG,
            None => QUEUE_PHYS_CONTIG,
        };
        c
    }

    /// Doorbell Buffer Config: shadow doorbells at `dbs`, EventIdx at `eis`.
    pub(crate) fn dbbuf_config(dbs: u64, eis: u64) -> Self {
        let mut c = Self::admin(AdminOpcode::DbbufConfig);
        c.prp1 = dbs;
        c.prp2 = eis;
        c
    }

    /// Create I/O Submission Queue `qid` of `depth` entries at `dma`, completing on `cqid`.
    /// In priority class `prio`.
    pub(crate) fn create_sq(qid: u16, depth: u16, dma: u64, cqid: u16, prio: SqPrio) -> Self {
        let mut c = Self::admin(AdminOpcode::CreateSq);
        c.prp1 = dma;
        c.cdw10 = (u32::from(depth.saturating_sub(1)) << 16) | u32::from(qid);
        c.cdw11 = (u32::from(cqid) << SQ_CQID_SHIFT)
            | (prio as u32) << SQ_QPRIO_SHIFT
            | QUEUE_PHYS_CONTIG;
        c
    }

    /// Abort command `cid` submitted on SQ `sqid`.
    pub(crate) fn abort(sqid: u16, cid: u16) -> Self {
        let mut c = Self::admin(AdminOpcode::Abort);
        c.cdw10 = (u32::from(cid) << 16) | u32::from(sqid);
        c
    }

    /// Delete I/O Submission Queue `qid`.
    pub(crate) fn delete_sq(qid: u16) -> Self {
        let mut c = Self::admin(AdminOpcode::DeleteSq);
        c.cdw10 = u32::from(qid);
        c
    }

    /// Delete I/O Completion Queue `qid`.
    pub(crate) fn delete_cq(qid: u16) -> Self {
        let mut c = Self::admin(AdminOpcode::DeleteCq);
        c.cdw10 = u32::from(qid);
        c
    }

    /// Read or Write of `nlb` (1-based) logical blocks at `slba` on `nsid`.
    pub(crate) fn rw(op: IoOpcode, nsid: u32, slba: u64, nlb: u32, fua: bool) -> Self {
        let mut c = Self::new(op as u8, nsid);
        c.cdw10 = slba as u32;
        c.cdw11 = (slba >> 32) as u32;
        // NLB is 0's based and 16 bits wide; callers respect max_hw_sectors.
        c.cdw12 = nlb.saturating_sub(1) & 0xffff;
        if fua {
            c.cdw12 |= RW_FUA;
        }
        c
    }

    /// Dataset Management (deallocate) of `nr` ranges listed at `dma`.
    pub(crate) fn dsm_deallocate(nsid: u32, dma: u64, nr: usize) -> Self {
        let mut c = Self::new(IoOpcode::Dsm as u8, nsid);
        c.prp1 = dma;
        // Number of Ranges is 0's based; callers pass 1..=DSM_MAX_RANGES.
        c.cdw10 = (nr as u32).saturating_sub(1) & 0xff;
        c.cdw11 = DSM_AD;
        c
    }

    /// Write Zeroes of `nlb` (1-based) blocks at `slba`; `deac` also deallocates them.
    pub(crate) fn write_zeroes(nsid: u32, slba: u64, nlb: u32, deac: bool) -> Self {
        let mut c = Self::new(IoOpcode::WriteZeroes as u8, nsid);
        c.cdw10 = slba as u32;
        c.cdw11 = (slba >> 32) as u32;
        c.cdw12 = nlb.saturating_sub(1) & 0xffff;
        if deac {
            c.cdw12 |= WZ_DEAC;
        }
        c
    }

    /// Describes the data with PRP Entries 1 and 2 (PSDT: PRPs).
    pub(crate) fn set_prps(&mut self, prp1: u64, prp2: u64) {
        self.cdw0 = Cdw0::from_raw(self.cdw0)
            .with_psdt(Bounded::<u32, 2>::new::<{ PSDT_PRP }>())
            .into_raw();
        self.prp1 = prp1;
        self.prp2 = prp2;
    }

    /// Describes the data with an SGL descriptor instead of PRPs.
    pub(crate) fn set_sgl(&mut self, dptr: (u64, u64)) {
        self.cdw0 = Cdw0::from_raw(self.cdw0)
            .with_psdt(Bounded::<u32, 2>::new::<{ PSDT_SGL }>())
            .into_raw();
        self.prp1 = dptr.0;
        self.prp2 = dptr.1;
    }

    /// Get Log Page of `len` bytes (a multiple of 4, at most 4 KiB here) into `dma`;
    /// `rae` keeps the event it reports masked (RAE=1), else reading clears it.
    pub(crate) fn get_log_page(lid: LogPage, nsid: u32, dma: u64, len: u32, rae: bool) -> Self {
        let mut c = Self::admin(AdminOpcode::GetLogPage);
        c.nsid = nsid;
        c.prp1 = dma;
        let numd = (len / 4).saturating_sub(1);
        c.cdw10 = lid as u32 | ((numd & 0xffff) << LOG_NUMDL_SHIFT) | if rae { LOG_RAE } else { 0 };
        c.cdw11 = numd >> 16;
        c
    }

    /// Get (`set` false) or Set Features, Temperature Threshold of sensor `sensor` (0 is
    /// the Composite Temperature, 1 to 8 the sensors), the over (`under` false) or under
    /// threshold, to `kelvin` when setting (Figure 326: TMPTH 15:0, TMPSEL 19:16, THSEL
    /// 21:20).
    pub(crate) fn temp_threshold(set: bool, sensor: u8, under: bool, kelvin: u16) -> Self {
        /// TMPSEL's position.
        const TMPSEL_SHIFT: u32 = 16;
        /// THSEL: under temperature threshold.
        const THSEL_UNDER: u32 = 1 << 20;
        let op = if set {
            AdminOpcode::SetFeatures
        } else {
            AdminOpcode::GetFeatures
        };
        let mut c = Self::admin(op);
        c.cdw10 = FeatureId::TempThreshold as u32;
        c.cdw11 = u32::from(sensor & 0xf) << TMPSEL_SHIFT | if under { THSEL_UNDER } else { 0 };
        if set {
            c.cdw11 |= u32::from(kelvin);
        }
        c
    }

    /// Set Features, Asynchronous Event Configuration (which events are reported).
    pub(crate) fn set_async_event_config(aec: u32) -> Self {
        let mut c = Self::admin(AdminOpcode::SetFeatures);
        c.cdw10 = FeatureId::AsyncEventConfig as u32;
        c.cdw11 = aec;
        c
    }

    /// Asynchronous Event Request.
    pub(crate) fn async_event() -> Self {
        Self::admin(AdminOpcode::AsyncEvent)
    }

    pub(crate) fn identify_ctrl_nvm(dma: u64) -> Self {
        Self::identify(Cns::CtrlCsi, 0, dma)
    }

    /// Identify with `cns` for `nsid` and I/O Command Set `csi` (CDW11 bits 31:24).
    pub(crate) fn identify_csi(cns: Cns, csi: u8, nsid: u32, dma: u64) -> Self {
        let mut c = Self::identify(cns, nsid, dma);
        c.cdw11 = u32::from(csi) << IDENTIFY_CSI_SHIFT;
        c
    }

    /// Flush the volatile write cache of `nsid`.
    pub(crate) fn flush(nsid: u32) -> Self {
        Self::new(IoOpcode::Flush as u8, nsid)
    }
}

#[kunit_tests(rust_nvme_cmd)]
mod tests {
    use super::*;

    #[test]
    fn command_encoding() {
        let mut c = Command::rw(IoOpcode::Write, 1, 0x1_2345_6789, 8, true);
        c.set_cid(0x1234);
        assert_eq!(c.cdw0, 0x1234_0001);
        assert_eq!(c.cid(), 0x1234);
        assert_eq!(c.opcode(), IoOpcode::Write as u8);
        assert_eq!(c.cdw10, 0x2345_6789);
        assert_eq!(c.cdw11, 0x1);
        assert_eq!(c.cdw12, RW_FUA | 7);

        let c = Command::create_cq(3, 1024, 0x1000, Some(2));
        assert_eq!(c.cdw10, (1023 << 16) | 3);
        assert_eq!(c.cdw11, (2 << 16) | 0x3);
        // A polled CQ: interrupts disabled.
        assert_eq!(Command::create_cq(3, 1024, 0x1000, None).cdw11, 0x1);
        let c = Command::create_sq(3, 1024, 0x2000, 3, SqPrio::Urgent);
        assert_eq!(c.cdw11, (3 << 16) | 0x1);
        let c = Command::create_sq(3, 1024, 0x2000, 3, SqPrio::Medium);
        assert_eq!(c.cdw11, (3 << 16) | (2 << 1) | 0x1);
        let c = Command::set_num_queues(4);
        assert_eq!(c.cdw10, 7);
        assert_eq!(c.cdw11, 0x0003_0003);
        let c = Command::identify(Cns::ActiveNsList, 0, 0x3000);
        assert_eq!(c.cdw10, 2);
        assert_eq!(c.opcode(), 0x06);
        let c = Command::dsm_deallocate(1, 0x4000, 3);
        assert_eq!(
            (c.opcode(), c.cdw10, c.cdw11, c.prp1),
            (0x09, 2, 1 << 2, 0x4000)
        );
        let c = Command::write_zeroes(1, 8, 16, true);
        assert_eq!((c.opcode(), c.cdw10, c.cdw12), (0x08, 8, 15 | (1 << 25)));
        let mut c = Command::rw(IoOpcode::Read, 1, 0, 1, false);
        c.set_sgl((0x1000, 0x30 << 56 | 32));
        assert_eq!(c.cdw0 & (0x3 << 14), 1 << 14);
        // SMART log, 512 bytes, clearing the event: what nvme-cli sends (0x007f0002).
        let c = Command::get_log_page(LogPage::Smart, NSID_ALL, 0x5000, 512, false);
        assert_eq!(
            (c.opcode(), c.nsid, c.cdw10, c.cdw11),
            (0x02, NSID_ALL, 0x007f_0002, 0)
        );
        let c = Command::get_log_page(LogPage::ChangedNsList, NSID_ALL, 0, 4096, true);
        assert_eq!(c.cdw10, 0x03ff_0000 | 1 << 15 | 0x04);
        assert_eq!(Command::set_async_event_config(0x100).cdw10, 0x0b);
        assert_eq!(Command::async_event().opcode(), 0x0c);
    }

    #[test]
    fn dsm_ranges() -> Result {
        let mut r = [DsmRange::default(); 4];
        // 512-byte LBAs: sectors are LBAs.
        let n = build_dsm_ranges([(8u64, 4096u32), (1024, 512)].into_iter(), 9, &mut r)?;
        assert_eq!(n, 2);
        assert_eq!(
            r[0],
            DsmRange {
                cattr: 0,
                nlb: 8,
                slba: 8
            }
        );
        assert_eq!(
            r[1],
            DsmRange {
                cattr: 0,
                nlb: 1,
                slba: 1024
            }
        );
        // 4 KiB LBAs: sector 16 is LBA 2.
        let n = build_dsm_ranges([(16u64, 8192u32)].into_iter(), 12, &mut r)?;
        assert_eq!((n, r[0].slba, r[0].nlb), (1, 2, 2));
        // Partial blocks, misaligned starts, too many ranges and none are refused.
        assert_eq!(
            build_dsm_ranges([(16u64, 512u32)].into_iter(), 12, &mut r),
            Err(EINVAL)
        );
        assert_eq!(
            build_dsm_ranges([(1u64, 4096u32)].into_iter(), 12, &mut r),
            Err(EINVAL)
        );
        let five = [(0u64, 512u32); 5];
        assert_eq!(build_dsm_ranges(five.into_iter(), 9, &mut r), Err(EINVAL));
        assert_eq!(build_dsm_ranges([].into_iter(), 9, &mut r), Err(EINVAL));
        Ok(())
    }
}
