// SPDX-License-Identifier: GPL-2.0

//! The NVMe ioctl ABI: the ioctl numbers and the structures user space passes, as the
//! UAPI header lays them out, and the commands they describe.
//!
//! UAPI: [`include/uapi/linux/nvme_ioctl.h`](srctree/include/uapi/linux/nvme_ioctl.h).

use core::mem::offset_of;

use kernel::{
    ioctl::{
        _IO,
        _IOW,
        _IOWR, //
    },
    prelude::*,
    transmute::{
        AsBytes,
        FromBytes, //
    },
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

use crate::spec::cmd::{
    Command,
    IoOpcode, //
};

/// The ioctl type of the NVMe driver.
const IOCTL_TYPE: u32 = b'N' as u32;

/// `struct nvme_passthru_cmd` (`nvme_admin_cmd`): 72 bytes.
pub(crate) const PASSTHRU_SIZE: usize = size_of::<PassthruCmd>();
/// `struct nvme_passthru_cmd64`: 80 bytes.
pub(crate) const PASSTHRU64_SIZE: usize = size_of::<PassthruCmd64>();

/// `NVME_IOCTL_ID`: the namespace ID of a namespace device.
pub(crate) const NVME_IOCTL_ID: u32 = _IO(IOCTL_TYPE, 0x40);
/// `NVME_IOCTL_ADMIN_CMD`.
pub(crate) const NVME_IOCTL_ADMIN_CMD: u32 = _IOWR::<PassthruCmd>(IOCTL_TYPE, 0x41);
/// `NVME_IOCTL_SUBMIT_IO`.
pub(crate) const NVME_IOCTL_SUBMIT_IO: u32 = _IOW::<UserIo>(IOCTL_TYPE, 0x42);
/// `NVME_IOCTL_IO_CMD`.
pub(crate) const NVME_IOCTL_IO_CMD: u32 = _IOWR::<PassthruCmd>(IOCTL_TYPE, 0x43);
/// `NVME_IOCTL_RESET`.
pub(crate) const NVME_IOCTL_RESET: u32 = _IO(IOCTL_TYPE, 0x44);
/// `NVME_IOCTL_SUBSYS_RESET`.
pub(crate) const NVME_IOCTL_SUBSYS_RESET: u32 = _IO(IOCTL_TYPE, 0x45);
/// `NVME_IOCTL_RESCAN`.
pub(crate) const NVME_IOCTL_RESCAN: u32 = _IO(IOCTL_TYPE, 0x46);
/// `NVME_IOCTL_ADMIN64_CMD`.
pub(crate) const NVME_IOCTL_ADMIN64_CMD: u32 = _IOWR::<PassthruCmd64>(IOCTL_TYPE, 0x47);
/// `NVME_IOCTL_IO64_CMD`.
pub(crate) const NVME_IOCTL_IO64_CMD: u32 = _IOWR::<PassthruCmd64>(IOCTL_TYPE, 0x48);
/// `NVME_IOCTL_IO64_CMD_VEC`: `addr` is an array of `data_len` `struct iovec`s.
pub(crate) const NVME_IOCTL_IO64_CMD_VEC: u32 = _IOWR::<PassthruCmd64>(IOCTL_TYPE, 0x49);

/// Most entries of a user vector (C: `UIO_MAXIOV`, which `import_iovec` enforces).
const UIO_MAXIOV: u32 = 1024;

/// A `struct iovec` as user space lays it out (64-bit).
#[repr(C)]
#[derive(Clone, Copy, Default, FromBytes, IntoBytes)]
pub(crate) struct UserIovec {
    /// Start of the buffer.
    pub(crate) base: u64,
    /// Its length in bytes.
    pub(crate) len: u64,
}
kernel::static_assert!(size_of::<UserIovec>() == 16);

// SAFETY: `repr(C)`, two integers, no padding (`IntoBytes` derived above checks it): any
// byte pattern is a valid value.
unsafe impl FromBytes for UserIovec {}

/// The bytes the vector of `count` iovecs at `addr` adds up to (C: `import_iovec`'s
/// checks: at most `UIO_MAXIOV` entries, a total that fits; 0 entries: no data).
///
/// # Errors
///
/// `EFAULT` for an array the caller cannot read, `EINVAL` for too many entries or a
/// total beyond 32 bits.
pub(crate) fn iov_total(addr: u64, count: u32) -> Result<u32> {
    if count == 0 || addr == 0 {
        return Ok(0);
    }
    if count > UIO_MAXIOV {
        return Err(EINVAL);
    }
    let bytes = (count as usize)
        .checked_mul(size_of::<UserIovec>())
        .ok_or(EINVAL)?;
    let mut r = UserSlice::new(UserPtr::from_addr(addr as usize), bytes).reader();
    let mut total: u64 = 0;
    for _ in 0..count {
        let v = r.read::<UserIovec>()?;
        total = total.checked_add(v.len).ok_or(EINVAL)?;
    }
    u32::try_from(total).map_err(|_| EINVAL)
}

/// A passthrough command as userspace passes it (C: `struct nvme_passthru_cmd`, alias
/// `nvme_admin_cmd`): what both passthrough layouts have in common.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes)]
pub(crate) struct PassthruCmd {
    /// Opcode.
    pub(crate) opcode: u8,
    /// Reserved, must be 0.
    pub(crate) flags: u8,
    pub(crate) rsvd1: u16,
    /// Namespace ID.
    pub(crate) nsid: u32,
    /// Command Dword 2.
    pub(crate) cdw2: u32,
    /// Command Dword 3.
    pub(crate) cdw3: u32,
    /// User address of a metadata buffer.
    pub(crate) metadata: u64,
    /// User address of the data buffer.
    pub(crate) addr: u64,
    /// Length of the metadata buffer.
    pub(crate) metadata_len: u32,
    /// Length of the data buffer.
    pub(crate) data_len: u32,
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
    /// Timeout in milliseconds; 0 is the driver's default.
    pub(crate) timeout_ms: u32,
    /// Completion dword 0, written back.
    pub(crate) result: u32,
}
kernel::static_assert!(size_of::<PassthruCmd>() == 72);
kernel::static_assert!(offset_of!(PassthruCmd, addr) == 24);
kernel::static_assert!(offset_of!(PassthruCmd, cdw10) == 40);
kernel::static_assert!(offset_of!(PassthruCmd, result) == 68);

// SAFETY: `PassthruCmd` is `repr(C)` with only integer fields and no padding (72 bytes,
// `IntoBytes` derived above checks it), so every byte is initialised and any byte
// pattern is a valid value.
unsafe impl AsBytes for PassthruCmd {}
// SAFETY: As above: any byte pattern is a valid `PassthruCmd`.
unsafe impl FromBytes for PassthruCmd {}

/// A passthrough command with a 64-bit result (C: `struct nvme_passthru_cmd64`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes)]
pub(crate) struct PassthruCmd64 {
    /// Opcode.
    pub(crate) opcode: u8,
    /// Reserved, must be 0.
    pub(crate) flags: u8,
    pub(crate) rsvd1: u16,
    /// Namespace ID.
    pub(crate) nsid: u32,
    /// Command Dword 2.
    pub(crate) cdw2: u32,
    /// Command Dword 3.
    pub(crate) cdw3: u32,
    /// User address of a metadata buffer.
    pub(crate) metadata: u64,
    /// User address of the data buffer.
    pub(crate) addr: u64,
    /// Length of the metadata buffer.
    pub(crate) metadata_len: u32,
    /// Length of the data buffer (`vec_cnt` for the vectored ioctl, which the driver
    /// does not have).
    pub(crate) data_len: u32,
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
    /// Timeout in milliseconds; 0 is the driver's default.
    pub(crate) timeout_ms: u32,
    pub(crate) rsvd2: u32,
    /// Completion dwords 0 and 1, written back.
    pub(crate) result: u64,
}
kernel::static_assert!(size_of::<PassthruCmd64>() == 80);
kernel::static_assert!(offset_of!(PassthruCmd64, timeout_ms) == 64);
kernel::static_assert!(offset_of!(PassthruCmd64, result) == 72);

// SAFETY: `PassthruCmd64` is `repr(C)` with only integer fields and no padding (80
// bytes, `IntoBytes` derived above checks it): every byte is initialised and any byte
// pattern is a valid value.
unsafe impl AsBytes for PassthruCmd64 {}
// SAFETY: As above: any byte pattern is a valid `PassthruCmd64`.
unsafe impl FromBytes for PassthruCmd64 {}

impl From<PassthruCmd64> for PassthruCmd {
    /// The fields both layouts share (`result` is output only).
    fn from(p: PassthruCmd64) -> Self {
        Self {
            opcode: p.opcode,
            flags: p.flags,
            rsvd1: p.rsvd1,
            nsid: p.nsid,
            cdw2: p.cdw2,
            cdw3: p.cdw3,
            metadata: p.metadata,
            addr: p.addr,
            metadata_len: p.metadata_len,
            data_len: p.data_len,
            cdw10: p.cdw10,
            cdw11: p.cdw11,
            cdw12: p.cdw12,
            cdw13: p.cdw13,
            cdw14: p.cdw14,
            cdw15: p.cdw15,
            timeout_ms: p.timeout_ms,
            result: 0,
        }
    }
}

/// A Read, Write or Compare as userspace describes it (C: `struct nvme_user_io`,
/// `NVME_IOCTL_SUBMIT_IO`), with C's 4 bytes of tail padding (the structure is only
/// read, never written back, so it is not `AsBytes`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes)]
pub(crate) struct UserIo {
    /// Opcode.
    pub(crate) opcode: u8,
    /// Reserved, must be 0.
    pub(crate) flags: u8,
    /// CDW12 bits 31:16 (FUA, limited retry, protection information).
    pub(crate) control: u16,
    /// Number of Logical Blocks (0's based).
    pub(crate) nblocks: u16,
    pub(crate) rsvd: u16,
    /// User address of a metadata buffer.
    pub(crate) metadata: u64,
    /// User address of the data buffer.
    pub(crate) addr: u64,
    /// Starting LBA.
    pub(crate) slba: u64,
    /// Dataset Management (CDW13).
    pub(crate) dsmgmt: u32,
    /// Expected Initial Logical Block Reference Tag (CDW14).
    pub(crate) reftag: u32,
    /// Expected Logical Block Application Tag (CDW15 bits 15:0).
    pub(crate) apptag: u16,
    /// Expected Logical Block Application Tag Mask (CDW15 bits 31:16).
    pub(crate) appmask: u16,
}
kernel::static_assert!(size_of::<UserIo>() == 48);
kernel::static_assert!(offset_of!(UserIo, slba) == 24);
kernel::static_assert!(offset_of!(UserIo, appmask) == 42);

// SAFETY: `UserIo` is `repr(C)` with only integer fields (and padding, whose bytes have
// no meaning), so any byte pattern is a valid value.
unsafe impl FromBytes for UserIo {}

impl PassthruCmd {
    /// The command the controller gets (C: `nvme_user_cmd`); the driver fills in the
    /// command identifier and the data pointer.
    pub(crate) fn to_command(&self) -> Command {
        let mut c = Command::new(self.opcode, self.nsid);
        c.cdw2 = self.cdw2;
        c.cdw3 = self.cdw3;
        c.cdw10 = self.cdw10;
        c.cdw11 = self.cdw11;
        c.cdw12 = self.cdw12;
        c.cdw13 = self.cdw13;
        c.cdw14 = self.cdw14;
        c.cdw15 = self.cdw15;
        c
    }
}

/// `struct nvme_user_io` (`NVME_IOCTL_SUBMIT_IO`) as the Read/Write it describes: the
/// command, the data buffer's address and the number of blocks.
pub(crate) fn user_io_command(io: &UserIo, nsid: u32) -> Result<(Command, u64, u32)> {
    if io.flags != 0 {
        return Err(EINVAL);
    }
    // Read, Write, Compare only (C: `nvme_submit_io`).
    if ![IoOpcode::Read, IoOpcode::Write, IoOpcode::Compare]
        .iter()
        .any(|&o| o as u8 == io.opcode)
    {
        return Err(EINVAL);
    }
    let mut c = Command::new(io.opcode, nsid);
    c.cdw10 = io.slba as u32;
    c.cdw11 = (io.slba >> 32) as u32;
    c.cdw12 = u32::from(io.nblocks) | u32::from(io.control) << 16;
    c.cdw13 = io.dsmgmt;
    c.cdw14 = io.reftag;
    c.cdw15 = u32::from(io.apptag) | u32::from(io.appmask) << 16;
    Ok((c, io.addr, u32::from(io.nblocks) + 1))
}

#[kunit_tests(rust_nvme_ioctl)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers_match_the_uapi() {
        // The values userspace compiles in (x86-64).
        assert_eq!(NVME_IOCTL_ID, 0x4e40);
        assert_eq!(NVME_IOCTL_ADMIN_CMD, 0xc0484e41);
        assert_eq!(NVME_IOCTL_SUBMIT_IO, 0x40304e42);
        assert_eq!(NVME_IOCTL_IO_CMD, 0xc0484e43);
        assert_eq!(NVME_IOCTL_RESET, 0x4e44);
        assert_eq!(NVME_IOCTL_SUBSYS_RESET, 0x4e45);
        assert_eq!(NVME_IOCTL_RESCAN, 0x4e46);
        assert_eq!(NVME_IOCTL_ADMIN64_CMD, 0xc0504e47);
        assert_eq!(NVME_IOCTL_IO64_CMD, 0xc0504e48);
        assert_eq!(NVME_IOCTL_IO64_CMD_VEC, 0xc0504e49);
    }

    #[test]
    fn passthru_decoding() {
        let mut b = [0u8; PASSTHRU64_SIZE];
        b[0] = 0x02;
        b[4..8].copy_from_slice(&0xffff_ffffu32.to_le_bytes());
        b[24..32].copy_from_slice(&0x1234_5678_9abc_def0u64.to_le_bytes());
        b[36..40].copy_from_slice(&512u32.to_le_bytes());
        b[40..44].copy_from_slice(&0x007f_0002u32.to_le_bytes());
        b[60..64].copy_from_slice(&7u32.to_le_bytes());
        b[64..68].copy_from_slice(&1000u32.to_le_bytes());
        let p = PassthruCmd::from_bytes_copy(&b[..PASSTHRU_SIZE]).unwrap_or_default();
        assert_eq!(p.opcode, 0x02);
        assert_eq!(p.nsid, 0xffff_ffff);
        assert_eq!(p.addr, 0x1234_5678_9abc_def0);
        assert_eq!(p.data_len, 512);
        assert_eq!(p.timeout_ms, 1000);
        let c = p.to_command();
        assert_eq!(c.opcode(), 0x02);
        assert_eq!(c.nsid, 0xffff_ffff);
        assert_eq!(c.cdw10, 0x007f_0002);
        assert_eq!(c.cdw15, 7);
        assert_eq!((c.prp1, c.prp2), (0, 0));
        // The 64-bit layout shares the first 68 bytes; its result is at 72, after a
        // reserved dword.
        b[68..72].copy_from_slice(&0xdead_beefu32.to_le_bytes());
        b[72..80].copy_from_slice(&u64::MAX.to_le_bytes());
        let p64 = PassthruCmd64::from_bytes_copy(&b).unwrap_or_default();
        assert_eq!((p64.rsvd2, p64.result), (0xdead_beef, u64::MAX));
        assert_eq!(PassthruCmd::from(p64), p);
        assert_eq!(AsBytes::as_bytes(&p64), &b[..]);
    }

    #[test]
    fn user_io_decoding() -> Result {
        let mut b = [0u8; size_of::<UserIo>()];
        b[0] = IoOpcode::Write as u8;
        b[2..4].copy_from_slice(&0x4000u16.to_le_bytes());
        b[4..6].copy_from_slice(&7u16.to_le_bytes());
        b[16..24].copy_from_slice(&0x1000u64.to_le_bytes());
        b[24..32].copy_from_slice(&0x1_0000_0002u64.to_le_bytes());
        let io = |b: &[u8]| UserIo::from_bytes_copy(b).ok_or(EINVAL);
        let (c, addr, n) = user_io_command(&io(&b)?, 3)?;
        assert_eq!((c.opcode(), c.nsid, addr, n), (0x01, 3, 0x1000, 8));
        assert_eq!((c.cdw10, c.cdw11, c.cdw12), (2, 1, 7 | 0x4000 << 16));
        b[32..36].copy_from_slice(&0x11u32.to_le_bytes());
        b[36..40].copy_from_slice(&0x2233u32.to_le_bytes());
        b[40..44].copy_from_slice(&[0x44, 0x55, 0x66, 0x77]);
        let (c, _, _) = user_io_command(&io(&b)?, 3)?;
        assert_eq!((c.cdw13, c.cdw14, c.cdw15), (0x11, 0x2233, 0x7766_5544));
        b[1] = 1;
        assert_eq!(user_io_command(&io(&b)?, 3).map(|_| ()), Err(EINVAL));
        b[1] = 0;
        b[0] = IoOpcode::Flush as u8;
        assert_eq!(user_io_command(&io(&b)?, 3).map(|_| ()), Err(EINVAL));
        Ok(())
    }
}
