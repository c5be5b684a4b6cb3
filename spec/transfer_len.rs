// SPDX-License-Identifier: GPL-2.0

//! The data transfer a command implies, from its own fields (NVMe Base Specification
//! 2.0, NVM Command Set Specification 1.0).
//!
//! The controller moves as many bytes as the command says, not as many as the host's
//! buffer holds: with PRPs it cannot tell that a buffer is shorter, and a Read of 8
//! blocks described by one PRP entry (PRP2 = 0) writes its second page to bus address 0.
//! Passthrough (`crate::uapi::ioctl`) therefore refuses a user buffer shorter than the transfer
//! computed here, for every command whose transfer it can compute. nvme.ko 7.3 relies on
//! the controller for that, which only works with SGLs (Data SGL Length Invalid).

use kernel::{
    bitfield,
    prelude::*, //
};

use crate::spec::cmd::{
    AdminOpcode,
    Command,
    FeatureId,
    IoOpcode,
    IDENTIFY_DATA_SIZE, //
};

bitfield! {
    /// Read, Write, Compare CDW12.
    struct RwCdw12(u32) {
        /// Number of Logical Blocks (0's based).
        15:0 nlb;
    }
}

bitfield! {
    /// Dataset Management CDW10.
    struct DsmCdw10(u32) {
        /// Number of Ranges (0's based).
        7:0 nr;
    }
}

bitfield! {
    /// Copy CDW12.
    struct CopyCdw12(u32) {
        /// Descriptor Format of the Source Range entries.
        11:8 desfmt;
        /// Number of Ranges (0's based).
        7:0 nr;
    }
}

bitfield! {
    /// Get Log Page CDW10.
    struct LogCdw10(u32) {
        /// Number of Dwords Lower (0's based with NUMDU).
        31:16 numdl;
    }
}

bitfield! {
    /// Get Log Page CDW11.
    struct LogCdw11(u32) {
        /// Number of Dwords Upper.
        15:0 numdu;
    }
}

bitfield! {
    /// Get Features / Set Features CDW10.
    struct FeatCdw10(u32) {
        /// Select (Get Features): 011b asks for the supported capabilities, no data.
        10:8 sel;
        /// Feature Identifier.
        7:0 fid;
    }
}

bitfield! {
    /// CDW10 of the commands that count their data in dwords (Firmware Image Download,
    /// Reservation Report).
    struct NumdCdw10(u32) {
        /// Number of Dwords (0's based).
        31:0 numd;
    }
}

bitfield! {
    /// LBA Range Type (Set Features) CDW11.
    struct LbaRangeCdw11(u32) {
        /// Number of LBA Ranges (0's based).
        5:0 num;
    }
}

bitfield! {
    /// Host Identifier CDW11.
    struct HostIdCdw11(u32) {
        /// Enable Extended Host Identifier (128-bit).
        0:0 exhid => bool;
    }
}

/// A Dataset Management range (`crate::spec::cmd::DsmRange`).
const DSM_RANGE_SIZE: u64 = 16;
/// Copy Source Range entries: formats 0h and 2h are 32 bytes, 1h and 3h 40 bytes.
const COPY_DESC_SIZE: [u64; 4] = [32, 40, 32, 40];
/// Get Features, Select: Supported Capabilities.
const SEL_SUPPORTED: u32 = 0b011;
/// Reservation Register, Acquire and Release data structures.
const RESV_REGISTER_SIZE: u64 = 24;
const RESV_ACQUIRE_SIZE: u64 = 16;
const RESV_RELEASE_SIZE: u64 = 8;
/// Namespace Attachment: a Controller List.
const CTRL_LIST_SIZE: u64 = 4096;
/// LBA Range Type entries, and the whole structure Get Features returns.
const LBA_RANGE_ENTRY_SIZE: u64 = 64;
const LBA_RANGE_TABLE_SIZE: u64 = 4096;
/// Autonomous Power State Transition: 32 entries of 8 bytes.
const APST_SIZE: u64 = 256;
/// Host Memory Buffer Attributes (Get Features).
const HMB_ATTR_SIZE: u64 = 4096;
const TIMESTAMP_SIZE: u64 = 8;
const HOST_BEHAVIOR_SIZE: u64 = 512;
/// Host Identifier: 64 bits, or 128 with EXHID.
const HOST_ID_SIZE: u64 = 8;
const HOST_ID_EXT_SIZE: u64 = 16;

/// A 0's based dword count as bytes.
fn dwords(numd0: u64) -> u64 {
    (numd0 + 1) * 4
}

/// The data structure of a feature, in bytes; `get` for Get Features. `None` for the
/// features that carry their value in dwords only and for those this driver does not
/// know (vendor specific, newer ones).
fn feature_len(c: &Command, get: bool) -> Option<u64> {
    let cdw10 = FeatCdw10::from_raw(c.cdw10);
    if get && cdw10.sel().get() == SEL_SUPPORTED {
        return None;
    }
    let fid = cdw10.fid().get() as u8;
    let len = match fid {
        f if f == FeatureId::LbaRangeType as u8 => {
            if get {
                LBA_RANGE_TABLE_SIZE
            } else {
                (u64::from(LbaRangeCdw11::from_raw(c.cdw11).num().get()) + 1) * LBA_RANGE_ENTRY_SIZE
            }
        }
        f if f == FeatureId::Apst as u8 => APST_SIZE,
        // Set Features passes the buffer's address and size in dwords.
        f if f == FeatureId::HostMemBuf as u8 && get => HMB_ATTR_SIZE,
        f if f == FeatureId::Timestamp as u8 => TIMESTAMP_SIZE,
        f if f == FeatureId::HostBehavior as u8 => HOST_BEHAVIOR_SIZE,
        f if f == FeatureId::HostId as u8 => {
            if HostIdCdw11::from_raw(c.cdw11).exhid() {
                HOST_ID_EXT_SIZE
            } else {
                HOST_ID_SIZE
            }
        }
        _ => return None,
    };
    Some(len)
}

/// The bytes an admin command transfers, `None` where the command's fields do not say.
pub(crate) fn admin(c: &Command) -> Option<u64> {
    let op = c.opcode();
    let len = if op == AdminOpcode::Identify as u8 {
        IDENTIFY_DATA_SIZE as u64
    } else if op == AdminOpcode::GetLogPage as u8 {
        let lower = u64::from(LogCdw10::from_raw(c.cdw10).numdl().get());
        let upper = u64::from(LogCdw11::from_raw(c.cdw11).numdu().get());
        dwords(upper << 16 | lower)
    } else if op == AdminOpcode::GetFeatures as u8 {
        return feature_len(c, true);
    } else if op == AdminOpcode::SetFeatures as u8 {
        return feature_len(c, false);
    } else if op == AdminOpcode::FirmwareDownload as u8 {
        dwords(u64::from(NumdCdw10::from_raw(c.cdw10).numd().get()))
    } else if op == AdminOpcode::NsAttach as u8 {
        CTRL_LIST_SIZE
    } else if op == AdminOpcode::SecuritySend as u8 || op == AdminOpcode::SecurityReceive as u8 {
        // Transfer Length / Allocation Length, in bytes.
        u64::from(c.cdw11)
    } else {
        return None;
    };
    Some(len)
}

/// The logical blocks an NVM command set I/O command reads or writes (NLB + 1), for the
/// commands that move one metadata unit per block: Read, Write, Compare, Zone Append;
/// `None` for the others.
pub(crate) fn nvm_blocks(c: &Command) -> Option<u64> {
    let op = c.opcode();
    [
        IoOpcode::Read,
        IoOpcode::Write,
        IoOpcode::Compare,
        IoOpcode::ZoneAppend,
    ]
    .iter()
    .any(|o| *o as u8 == op)
    .then(|| u64::from(RwCdw12::from_raw(c.cdw12).nlb().get()) + 1)
}

/// The bytes an NVM command set I/O command transfers on a namespace of
/// `2^lba_shift`-byte blocks without metadata, `None` where its fields do not say.
pub(crate) fn nvm(c: &Command, lba_shift: u32) -> Option<u64> {
    let op = c.opcode();
    let len = if op == IoOpcode::Read as u8
        || op == IoOpcode::Write as u8
        || op == IoOpcode::Compare as u8
        || op == IoOpcode::ZoneAppend as u8
    {
        let blocks = u64::from(RwCdw12::from_raw(c.cdw12).nlb().get()) + 1;
        // At most 2^16 blocks of at most 2^31 bytes (callers pass the namespace's shift).
        blocks.checked_shl(lba_shift)?
    } else if op == IoOpcode::Dsm as u8 {
        (u64::from(DsmCdw10::from_raw(c.cdw10).nr().get()) + 1) * DSM_RANGE_SIZE
    } else if op == IoOpcode::Copy as u8 {
        let f = CopyCdw12::from_raw(c.cdw12);
        let size = *COPY_DESC_SIZE.get(f.desfmt().get() as usize)?;
        (u64::from(f.nr().get()) + 1) * size
    } else if op == IoOpcode::ZoneMgmtRecv as u8 {
        // Number of Dwords, 0's based, all of CDW12 (ZNS Figure 40).
        dwords(u64::from(c.cdw12))
    } else if op == IoOpcode::ReservationRegister as u8 {
        RESV_REGISTER_SIZE
    } else if op == IoOpcode::ReservationReport as u8 {
        dwords(u64::from(NumdCdw10::from_raw(c.cdw10).numd().get()))
    } else if op == IoOpcode::ReservationAcquire as u8 {
        RESV_ACQUIRE_SIZE
    } else if op == IoOpcode::ReservationRelease as u8 {
        RESV_RELEASE_SIZE
    } else if op == IoOpcode::Flush as u8
        || op == IoOpcode::WriteZeroes as u8
        || op == IoOpcode::WriteUncorrectable as u8
    {
        0
    } else {
        return None;
    };
    Some(len)
}

/// Whether a user buffer of `data_len` bytes covers a transfer of `need` bytes (`None`:
/// unknown, left to the controller as in C).
pub(crate) fn covers(need: Option<u64>, data_len: u32) -> bool {
    need.is_none_or(|n| n <= u64::from(data_len))
}

#[kunit_tests(rust_nvme_transfer_len)]
mod tests {
    use super::*;

    fn cmd(op: u8, cdw10: u32, cdw11: u32, cdw12: u32) -> Command {
        let mut c = Command::new(op, 1);
        c.cdw10 = cdw10;
        c.cdw11 = cdw11;
        c.cdw12 = cdw12;
        c
    }

    #[test]
    fn metadata_counts_blocks() {
        // One metadata unit per block of Read, Write, Compare and Zone Append; PRINFO
        // and FUA above NLB do not count; other commands say nothing.
        assert_eq!(nvm_blocks(&cmd(0x02, 0, 0, 7)), Some(8));
        assert_eq!(nvm_blocks(&cmd(0x01, 0, 0, 0x3400_0000)), Some(1));
        assert_eq!(nvm_blocks(&cmd(0x7d, 0, 0, 15)), Some(16));
        assert_eq!(nvm_blocks(&cmd(0x09, 0, 0, 7)), None);
        assert_eq!(nvm_blocks(&cmd(0x00, 0, 0, 0)), None);
    }

    #[test]
    fn reads_and_writes_count_blocks() {
        // 8 and 64 blocks of 512 bytes; 1 block of 4 KiB; the largest NLB.
        assert_eq!(nvm(&cmd(0x02, 0, 0, 7), 9), Some(4096));
        assert_eq!(nvm(&cmd(0x02, 0, 0, 63), 9), Some(32768));
        assert_eq!(nvm(&cmd(0x01, 0, 0, 0), 12), Some(4096));
        assert_eq!(nvm(&cmd(0x05, 0, 0, 1), 9), Some(1024));
        // Control bits above NLB (FUA, LR, PRINFO) do not count.
        assert_eq!(nvm(&cmd(0x01, 0, 0, 0xc000_0003), 9), Some(2048));
        assert_eq!(nvm(&cmd(0x02, 0, 0, 0xffff), 12), Some(65536 * 4096));
    }

    #[test]
    fn ranges_and_structures() {
        // DSM: 16 bytes per range; Copy: 32 or 40 bytes per range by format.
        assert_eq!(nvm(&cmd(0x09, 0, 4, 0), 9), Some(16));
        assert_eq!(nvm(&cmd(0x09, 255, 4, 0), 9), Some(4096));
        assert_eq!(nvm(&cmd(0x19, 0, 0, 1), 9), Some(64));
        assert_eq!(nvm(&cmd(0x19, 0, 0, 0x100), 9), Some(40));
        assert_eq!(nvm(&cmd(0x19, 0, 0, 0x400), 9), None);
        // Reservations.
        assert_eq!(nvm(&cmd(0x0d, 0, 0, 0), 9), Some(24));
        assert_eq!(nvm(&cmd(0x0e, 1023, 0, 0), 9), Some(4096));
        assert_eq!(nvm(&cmd(0x11, 0, 0, 0), 9), Some(16));
        assert_eq!(nvm(&cmd(0x15, 0, 0, 0), 9), Some(8));
        // No data; unknown (vendor specific) opcodes are left alone.
        assert_eq!(nvm(&cmd(0x00, 0, 0, 0), 9), Some(0));
        assert_eq!(nvm(&cmd(0x08, 0, 0, 7), 9), Some(0));
        assert_eq!(nvm(&cmd(0x81, 0, 0, 7), 9), None);
    }

    #[test]
    fn admin_transfers() {
        assert_eq!(admin(&cmd(0x06, 1, 0, 0)), Some(4096));
        // SMART log: NUMDL 0x7f = 128 dwords; NUMDU extends it.
        assert_eq!(admin(&cmd(0x02, 0x007f_0002, 0, 0)), Some(512));
        assert_eq!(admin(&cmd(0x02, 0xffff_0002, 1, 0)), Some(0x2_0000 * 4));
        // Features: data structures by FID; values only; supported capabilities.
        assert_eq!(admin(&cmd(0x0a, 0x0e, 0, 0)), Some(8));
        assert_eq!(admin(&cmd(0x0a, 0x0c, 0, 0)), Some(256));
        assert_eq!(admin(&cmd(0x0a, 0x03, 0, 0)), Some(4096));
        assert_eq!(admin(&cmd(0x09, 0x03, 1, 0)), Some(128));
        assert_eq!(admin(&cmd(0x0a, 0x0d, 0, 0)), Some(4096));
        assert_eq!(admin(&cmd(0x09, 0x0d, 1, 0)), None);
        assert_eq!(admin(&cmd(0x0a, 0x81, 1, 0)), Some(16));
        assert_eq!(admin(&cmd(0x09, 0x81, 0, 0)), Some(8));
        assert_eq!(admin(&cmd(0x0a, 0x07, 0, 0)), None);
        assert_eq!(admin(&cmd(0x0a, 0x30e, 0, 0)), None);
        assert_eq!(admin(&cmd(0x0a, 0xc0, 0, 0)), None);
        // Firmware download in dwords; namespace attachment; security in bytes.
        assert_eq!(admin(&cmd(0x11, 1023, 0, 0)), Some(4096));
        assert_eq!(admin(&cmd(0x15, 0, 0, 0)), Some(4096));
        assert_eq!(admin(&cmd(0x82, 0, 512, 0)), Some(512));
        assert_eq!(admin(&cmd(0x80, 0, 0, 0)), None);
    }

    #[test]
    fn coverage() {
        assert!(covers(Some(4096), 4096));
        assert!(covers(Some(4096), 8192));
        assert!(!covers(Some(8192), 4096));
        assert!(!covers(Some(512), 0));
        assert!(covers(Some(0), 0));
        assert!(covers(None, 0));
    }
}
