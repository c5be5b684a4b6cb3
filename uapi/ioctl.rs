// SPDX-License-Identifier: GPL-2.0

//! The NVMe ioctls of `/dev/nvme<N>` and of the namespace block devices, with the C
//! driver's numbers, structures, permission rules and results.
//!
//! UAPI: [`include/uapi/linux/nvme_ioctl.h`](srctree/include/uapi/linux/nvme_ioctl.h);
//! C counterpart: `drivers/nvme/host/ioctl.c`.
//!
//! Everything from userspace is copied in with bounds checks (`UserSlice`: a bad
//! pointer is `EFAULT`) and validated before anything reaches the controller: reserved
//! `flags` must be zero, the namespace ID must match the namespace, metadata buffers are
//! taken only on namespaces with separate metadata and must be the commands' metadata
//! where their block count is known, I/O to a namespace with extended LBAs is refused;
//! data is bounded by the transfer limit, and must cover the transfer the command asks
//! for wherever its fields say how long that is (`crate::spec::transfer_len`). I/O commands run as blk-mq passthrough
//! requests on the namespace's queue; admin commands on the admin queue with a DMA
//! bounce buffer. Both share the timeouts and reset handling of the driver's own
//! commands, and both get what their Commands Supported and Effects call for
//! (`crate::spec::cmd_effects`): I/O frozen around Format NVM and Sanitize, a rescan after
//! namespace changes.

use crate::diag::log::{
    ctrl_err,
    ctrl_warn, //
};

use core::{
    iter,
    mem::offset_of, //
};

use kernel::{
    device,
    dma::{
        Coherent,
        CoherentBox, //
    },
    ioctl::{
        _IO,
        _IOW,
        _IOWR, //
    },
    prelude::*,
    sync::Arc,
    transmute::{
        AsBytes,
        FromBytes, //
    },
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

use crate::{
    abstractions::{
        gendisk::{
            DiskData,
            DiskOperations,
            DrvData,
            ZoneReport, //
        },
        sysfs::GroupsRef,
    },
    ctrl::{
        Ctrl,
        DiskView,
        DmaHold,
        NsInfo, //
    },
    mq::{
        Ops,
        PassthruDone, //
    },
    spec::cmd::{
        AdminOpcode,
        Cns,
        Command,
        FeatureId,
        IoOpcode, //
    },
    spec::cmd_effects,
    spec::prp,
    spec::transfer_len,
};

/// The ioctl type of the NVMe driver.
const IOCTL_TYPE: u32 = b'N' as u32;

/// `struct nvme_passthru_cmd` (`nvme_admin_cmd`): 72 bytes.
const PASSTHRU_SIZE: usize = size_of::<PassthruCmd>();
/// `struct nvme_passthru_cmd64`: 80 bytes.
const PASSTHRU64_SIZE: usize = size_of::<PassthruCmd64>();

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

/// Which passthrough structure an I/O ioctl takes.
#[derive(Clone, Copy)]
enum Passthru {
    /// `struct nvme_passthru_cmd` (32-bit result).
    Cmd,
    /// `struct nvme_passthru_cmd64`.
    Cmd64,
    /// `struct nvme_passthru_cmd64` with a vector of user buffers.
    Cmd64Vec,
}

/// Most entries of a user vector (C: `UIO_MAXIOV`, which `import_iovec` enforces).
const UIO_MAXIOV: u32 = 1024;

/// A `struct iovec` as user space lays it out (64-bit).
#[repr(C)]
#[derive(Clone, Copy, Default, FromBytes, IntoBytes)]
struct UserIovec {
    base: u64,
    len: u64,
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
fn iov_total(addr: u64, count: u32) -> Result<u32> {
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

/// First vendor specific opcode (C: `nvme_cmd_vendor_start`).
const VENDOR_START: u8 = 0x80;
/// The Fabrics command opcode.
const FABRICS_OPCODE: u8 = 0x7f;

/// Identify CNS values an unprivileged opener may use (C: `nvme_admin_cmd_allowed`):
/// the ones that describe how to form I/O commands.
const UNPRIVILEGED_CNS: [u8; 5] = [
    Cns::Namespace as u8,
    Cns::Controller as u8,
    0x05, // I/O Command Set specific Identify Namespace
    Cns::CtrlCsi as u8,
    0x08, // I/O Command Set Independent Identify Namespace
];

/// Set Features identifiers refused to everybody: the driver manages them (C:
/// `nvme_admin_cmd_allowed`): Number of Queues, Autonomous Power State Transition, Host
/// Memory Buffer, Keep Alive Timer (PCIe has no keep alive), Host Behavior Support.
const DRIVER_OWNED_FEATURES: [u8; 5] = [
    FeatureId::NumQueues as u8,
    FeatureId::Apst as u8,
    FeatureId::HostMemBuf as u8,
    FeatureId::KeepAlive as u8,
    FeatureId::HostBehavior as u8,
];

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

/// Whether an opcode transfers data to the controller (C: `nvme_is_write`).
fn is_write(opcode: u8) -> bool {
    opcode & 1 != 0
}

/// What the permission check needs to know without asking for privilege.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Allowed to everybody.
    Granted,
    /// Allowed with `CAP_SYS_ADMIN` only.
    NeedsAdmin,
    /// Refused to everybody.
    Refused,
}

/// The C driver's rules for passthrough (C: `nvme_cmd_allowed`): `effects` is the I/O
/// command's effects for a namespace command, `None` for an admin command.
pub(crate) fn access(c: &Command, effects: Option<u32>, partition: bool, write: bool) -> Access {
    let opcode = c.opcode();
    if partition || opcode >= VENDOR_START || opcode == FABRICS_OPCODE {
        return Access::NeedsAdmin;
    }
    let Some(e) = effects else {
        if opcode == AdminOpcode::Identify as u8 && UNPRIVILEGED_CNS.contains(&(c.cdw10 as u8)) {
            return Access::Granted;
        }
        if opcode == AdminOpcode::SetFeatures as u8
            && DRIVER_OWNED_FEATURES.contains(&(c.cdw10 as u8))
        {
            return Access::Refused;
        }
        return Access::NeedsAdmin;
    };
    if e & cmd_effects::CSUPP == 0
        || e & !(cmd_effects::CSUPP
            | cmd_effects::LBCC
            | cmd_effects::UUID_SEL
            | cmd_effects::SCOPE_MASK)
            != 0
        || ((is_write(opcode) || e & cmd_effects::LBCC != 0) && !write)
    {
        return Access::NeedsAdmin;
    }
    Access::Granted
}

fn allowed(a: Access) -> Result {
    match a {
        Access::Granted => Ok(()),
        Access::NeedsAdmin if crate::abstractions::cred::capable_sys_admin() => Ok(()),
        _ => Err(EACCES),
    }
}

/// The ioctl's return value for a completed command: the NVMe status field (SC, SCT, CRD,
/// M, DNR), 0 on success (C: `nvme_req(req)->status`).
fn status_ret(cqe_status: u16) -> isize {
    (cqe_status >> 1) as isize
}

/// Copies in a passthrough structure of `size` bytes (`PASSTHRU_SIZE` or
/// `PASSTHRU64_SIZE`).
fn read_cmd(arg: usize, size: usize) -> Result<PassthruCmd> {
    let mut r = UserSlice::new(UserPtr::from_addr(arg), size).reader();
    if size == PASSTHRU64_SIZE {
        Ok(r.read::<PassthruCmd64>()?.into())
    } else {
        r.read::<PassthruCmd>()
    }
}

/// Writes the command's result back into the user's structure, and nothing else
/// (`result` is 32 bits wide in the 72-byte structure, dword 0; 64 in the 80-byte one,
/// dwords 0 and 1; C: `put_user`).
fn write_result(arg: usize, size: usize, result: u64) -> Result {
    let ptr = UserPtr::from_addr(arg);
    if size == PASSTHRU64_SIZE {
        let off = offset_of!(PassthruCmd64, result);
        UserSlice::new(ptr.wrapping_byte_add(off), size_of::<u64>())
            .writer()
            .write(&result)
    } else {
        let off = offset_of!(PassthruCmd, result);
        UserSlice::new(ptr.wrapping_byte_add(off), size_of::<u32>())
            .writer()
            .write(&(result as u32))
    }
}

/// Checks common to both passthrough paths; builds the command to send into `cmd` (in
/// place: returned by value, it was copied once per step on its way to the SQ) and
/// returns the bytes of the user buffer it moves: `data_len`, or the command's transfer
/// where that is known and shorter (with SGLs, which user I/O commands get where the
/// controller has them, the controller refuses a descriptor longer than the transfer;
/// with PRPs it ignores the rest, so mapping only the transfer gives the same result on
/// both).
fn validate(
    ctrl: &Ctrl,
    ns: Option<&NsInfo>,
    p: &PassthruCmd,
    cmd: &mut Command,
) -> Result<(u32, Meta)> {
    if p.flags != 0 {
        return Err(EINVAL);
    }
    if let Some(ns) = ns {
        if p.nsid != ns.nsid {
            dev_err!(
                ctrl.pci_dev().as_ref(),
                "nvme{}n{}: passthrough nsid ({}) does not match the namespace\n",
                ns.instance,
                ns.disk_id,
                p.nsid
            );
            return Err(EINVAL);
        }
        // A format with metadata: the controller would move metadata through a pointer
        // nobody set up, or more data than the blocks' size says.
        if !ns.passthru_io() {
            return Err(EINVAL);
        }
    }
    if p.data_len > ctrl.max_transfer_bytes() {
        return Err(EINVAL);
    }
    // A buffer shorter than the transfer the command asks for: the controller would move
    // the rest through data pointers nobody set up (beyond C, see `crate::spec::transfer_len`).
    *cmd = p.to_command();
    let need = match ns {
        Some(ns) => transfer_len::nvm(cmd, ns.lba_shift()),
        None => transfer_len::admin(cmd),
    };
    let have = if p.addr != 0 { p.data_len } else { 0 };
    if !transfer_len::covers(need, have) {
        return Err(EINVAL);
    }
    let len = need.map_or(have, |n| u32::try_from(n).map_or(have, |n| n.min(have)));
    let meta = user_metadata(ctrl, ns, cmd, have, (p.metadata, p.metadata_len))?;
    Ok((len, meta))
}

/// A user metadata buffer: its address and length (`None`: none).
type Meta = Option<(u64, u32)>;

/// The metadata buffer of a passthrough command, `(addr, len)` as the caller gave it,
/// checked against the namespace's format (C: `nvme_map_user_request`, which takes one
/// on a namespace with an integrity profile). Beyond C: on a namespace with separate
/// metadata, a command whose blocks are known (Read, Write, Compare, Zone Append) must
/// bring exactly their metadata, or the controller would move it through a pointer
/// nobody set up or past the end of the buffer.
///
/// # Errors
///
/// `EINVAL` (logged) for metadata without data, on an admin command or on a namespace
/// without separate metadata, and for a buffer that is not the command's metadata.
fn user_metadata(
    ctrl: &Ctrl,
    ns: Option<&NsInfo>,
    cmd: &Command,
    data_len: u32,
    (addr, len): (u64, u32),
) -> Result<Meta> {
    let given = addr != 0 && len != 0;
    let ms = match ns.map(|ns| ns.meta()) {
        Some(m) if m.ms != 0 && !m.ext => m.ms,
        _ if given => return Err(EINVAL),
        _ => return Ok(None),
    };
    let need = transfer_len::nvm_blocks(cmd).map(|b| b.saturating_mul(u64::from(ms)));
    let ok = match need {
        Some(0) => !given,
        Some(n) => given && u64::from(len) == n && data_len != 0,
        None => !given || data_len != 0,
    };
    if !ok {
        ctrl_err!(
            ctrl.instance,
            "passthrough {:#x}: metadata buffer of {} bytes, {} expected\n",
            cmd.opcode(),
            if given { len } else { 0 },
            need.unwrap_or(0)
        );
        return Err(EINVAL);
    }
    Ok(given.then_some((addr, len)))
}

/// `NVME_IOCTL_ADMIN_CMD` / `ADMIN64_CMD` (C: `nvme_user_cmd(ctrl, NULL, ...)`).
fn admin_cmd(ctrl: &Ctrl, arg: usize, size: usize) -> Result<isize> {
    let p = read_cmd(arg, size)?;
    let done = admin_user_cmd(ctrl, p, false)?;
    write_result(arg, size, done.result)?;
    Ok(status_ret(done.status))
}

/// Checks and runs an admin passthrough command `p` (C: `nvme_user_cmd64(ctrl, NULL,
/// ...)`, `nvme_uring_cmd_io(ctrl, NULL, ...)`); for a vector (`vec`), `data_len` counts
/// the entries of an iovec array at `addr`, checked as the bytes they add up to.
pub(crate) fn admin_user_cmd(ctrl: &Ctrl, mut p: PassthruCmd, vec: bool) -> Result<PassthruDone> {
    let buf = if vec {
        let count = p.data_len;
        p.data_len = iov_total(p.addr, count)?;
        UserBuf::Vec { iov: p.addr, count }
    } else {
        UserBuf::Flat(p.addr)
    };
    let mut cmd = Command::default();
    let (len, _) = validate(ctrl, None, &p, &mut cmd)?;
    allowed(access(&cmd, None, false, true))?;
    admin_passthru(ctrl, &mut cmd, &p, buf, len as usize)
}

/// The user memory of an admin passthrough command.
#[derive(Clone, Copy)]
enum UserBuf {
    /// One buffer at this address.
    Flat(u64),
    /// The buffers an array of `count` iovecs at `iov` describes, in order.
    Vec { iov: u64, count: u32 },
}

impl UserBuf {
    /// Calls `f` with each user segment of the first `len` bytes, in order, with its
    /// offset and length.
    fn for_each(self, len: usize, mut f: impl FnMut(UserSlice, usize, usize) -> Result) -> Result {
        match self {
            UserBuf::Flat(addr) => f(
                UserSlice::new(UserPtr::from_addr(addr as usize), len),
                0,
                len,
            ),
            UserBuf::Vec { iov, count } => {
                let bytes = (count as usize)
                    .checked_mul(size_of::<UserIovec>())
                    .ok_or(EINVAL)?;
                let mut r = UserSlice::new(UserPtr::from_addr(iov as usize), bytes).reader();
                let mut off = 0usize;
                for _ in 0..count {
                    let v = r.read::<UserIovec>()?;
                    let seg = usize::try_from(v.len)
                        .map_err(|_| EINVAL)?
                        .min(len.saturating_sub(off));
                    if seg > 0 {
                        f(
                            UserSlice::new(UserPtr::from_addr(v.base as usize), seg),
                            off,
                            seg,
                        )?;
                    }
                    off += seg;
                }
                // The array changed since its total was checked.
                if off < len {
                    return Err(EINVAL);
                }
                Ok(())
            }
        }
    }
}

/// A DMA buffer holding a copy of `src`.
fn coherent_copy<T: Copy + AsBytes + FromBytes>(
    dev: &device::Device<device::Bound>,
    src: &[T],
) -> Result<Coherent<[T]>> {
    let mut b = CoherentBox::<[T]>::zeroed_slice(dev, src.len(), GFP_KERNEL)?;
    // Element by element: `copy_from_slice`'s length check is a panic path.
    for (d, s) in b.iter_mut().zip(src) {
        *d = *s;
    }
    Ok(b.into())
}

/// The bounce buffers of an admin passthrough command: its data and its PRP list. The
/// command's admin slot holds them until the controller is done (`DmaHold`).
struct PassthruBufs {
    data: Option<Coherent<[u8]>>,
    /// Only kept alive.
    _list: Option<Coherent<[u64]>>,
}

/// Runs an admin passthrough command with a bounce buffer for the `len` bytes of its data
/// that it moves: the rest of the user's buffer stays untouched, as with C's direct
/// mapping.
fn admin_passthru(
    ctrl: &Ctrl,
    cmd: &mut Command,
    p: &PassthruCmd,
    buf: UserBuf,
    len: usize,
) -> Result<PassthruDone> {
    let gate = ctrl.passthru_gate()?;
    let dev = gate.dev();
    let data: Option<Coherent<[u8]>> = match (len, is_write(p.opcode)) {
        (0, _) => None,
        (_, true) => {
            let mut v = KVec::new();
            buf.for_each(len, |u, _, _| u.read_all(&mut v, GFP_KERNEL))?;
            Some(coherent_copy(dev, &v)?)
        }
        (_, false) => Some(Coherent::<u8>::zeroed_slice(dev, len, GFP_KERNEL)?),
    };
    let mut list_dma = None;
    if let Some(d) = &data {
        let page = gate.page_size();
        let mut list = KVec::new();
        list.resize(prp::entries_per_list(page), 0u64, GFP_KERNEL)?;
        let prps = prp::build(
            iter::once((d.dma_address(), len as u32)),
            page,
            &mut list,
            0,
        )?;
        cmd.prp1 = prps.prp1;
        cmd.prp2 = prps.prp2;
        if prps.list_len > 0 {
            let l = coherent_copy(dev, list.get(..prps.list_len).ok_or(EINVAL)?)?;
            cmd.prp2 = l.dma_address();
            list_dma = Some(l);
        }
    }
    let bufs = Arc::new(
        PassthruBufs {
            data,
            _list: list_dma,
        },
        GFP_KERNEL,
    )?;
    let hold: DmaHold = bufs.clone();
    // Commands that must not overlap I/O (Format NVM, Sanitize) run with every disk's
    // queue frozen (C: `nvme_passthru_start`); namespace changes are rescanned after.
    let fx = gate.effects(p.opcode);
    let done = if fx & cmd_effects::CSE_MASK != 0 {
        gate.submit_exclusive(*cmd, p.timeout_ms, Some(hold))
    } else {
        gate.admin(*cmd, p.timeout_ms, Some(hold))
    };
    ctrl.passthru_end(fx);
    let done = done?;
    if let (Some(d), false) = (&bufs.data, is_write(p.opcode)) {
        buf.for_each(len, |u, off, n| u.writer().write_dma(d, off, n))?;
    }
    Ok(done)
}

/// An I/O passthrough command on a namespace (C: `nvme_user_cmd(ctrl, ns, ...)`).
fn io_cmd(
    disk: DiskView<'_>,
    arg: usize,
    how: Passthru,
    write: bool,
    partition: bool,
) -> Result<isize> {
    let ns = disk.ns();
    let (size, vec) = match how {
        Passthru::Cmd => (PASSTHRU_SIZE, false),
        Passthru::Cmd64 => (PASSTHRU64_SIZE, false),
        Passthru::Cmd64Vec => (PASSTHRU64_SIZE, true),
    };
    let mut p = read_cmd(arg, size)?;
    let mut cmd = Command::default();
    let io = prepare_io(ns, &mut p, vec, write, partition, &mut cmd)?;
    let done = disk.passthru(&cmd, io.data, p.timeout_ms);
    ns.ctrl.passthru_end(io.effects);
    let done = done?;
    write_result(arg, size, done.result)?;
    Ok(status_ret(done.status))
}

/// What goes with an I/O passthrough command checked and ready to send.
pub(crate) struct IoPassthru {
    /// The user memory it moves.
    pub(crate) data: DrvData<'static>,
    /// Its Commands Supported and Effects.
    pub(crate) effects: u32,
}

/// Checks an I/O passthrough command `p` for namespace `ns` as the ioctls and io_uring
/// commands share them (C: `nvme_user_cmd64`, `nvme_uring_cmd_io`): for a vector
/// (`vec`), `data_len` counts its entries and is checked as the bytes they add up to;
/// then [`validate`] and the permission rules for a file opened for writing or not
/// (`write`), through a partition or not. The command is built into `cmd`.
pub(crate) fn prepare_io(
    ns: &NsInfo,
    p: &mut PassthruCmd,
    vec: bool,
    write: bool,
    partition: bool,
    cmd: &mut Command,
) -> Result<IoPassthru> {
    let iov_count = if vec {
        let count = p.data_len;
        p.data_len = iov_total(p.addr, count)?;
        Some(count)
    } else {
        None
    };
    let (len, meta) = validate(&ns.ctrl, Some(ns), p, cmd)?;
    let effects = ns.effects.io(cmd.opcode());
    allowed(access(cmd, Some(effects), partition, write))?;
    let (meta, meta_len) = meta.unwrap_or((0, 0));
    let data = match iov_count {
        Some(count) => DrvData::UserVec {
            iov: p.addr,
            count,
            min_len: len,
            meta,
            meta_len,
        },
        None => DrvData::User {
            addr: p.addr,
            len,
            meta,
            meta_len,
        },
    };
    Ok(IoPassthru { data, effects })
}

/// `NVME_IOCTL_SUBMIT_IO` (C: `nvme_submit_io`).
fn submit_io(disk: DiskView<'_>, arg: usize, write: bool, partition: bool) -> Result<isize> {
    let ns = disk.ns();
    let io = UserSlice::new(UserPtr::from_addr(arg), size_of::<UserIo>())
        .reader()
        .read::<UserIo>()?;
    if !ns.passthru_io() {
        return Err(EINVAL);
    }
    let (cmd, addr, nblocks) = user_io_command(&io, ns.nsid)?;
    let len = nblocks.checked_shl(ns.lba_shift()).ok_or(EINVAL)?;
    if len > ns.ctrl.max_transfer_bytes() {
        return Err(EINVAL);
    }
    // C: the metadata of every block (`(nblocks + 1) * ms`) on a separate-metadata
    // namespace.
    let m = ns.meta();
    let meta_len = nblocks.checked_mul(u32::from(m.ms)).ok_or(EINVAL)?;
    let meta = user_metadata(&ns.ctrl, Some(ns), &cmd, len, (io.metadata, meta_len))?;
    let e = ns.effects.io(cmd.opcode());
    allowed(access(&cmd, Some(e), partition, write))?;
    let (meta, meta_len) = meta.unwrap_or((0, 0));
    let data = DrvData::User {
        addr,
        len,
        meta,
        meta_len,
    };
    let done = disk.passthru(&cmd, data, 0)?;
    Ok(status_ret(done.status))
}

/// The ioctls of a namespace block device (C: `nvme_ioctl`).
/// The block device side of the controller's namespace disks: the NVMe ioctls and the
/// namespace attributes.
impl DiskOperations for Ops<Ctrl> {
    const GROUPS: GroupsRef<DiskData<Self>> = crate::uapi::sysfs::NS_GROUPS.erase();

    fn ioctl(
        disk: DiskView<'_>,
        cmd: u32,
        arg: usize,
        write: bool,
        partition: bool,
    ) -> Result<i32> {
        ns_ioctl(disk, cmd, arg, write, partition)
    }

    fn report_zones(
        disk: DiskView<'_>,
        sector: u64,
        nr_zones: u32,
        report: &mut ZoneReport<'_>,
    ) -> Result<u32> {
        disk.report_zones(sector, nr_zones, report)
    }
}

pub(crate) fn ns_ioctl(
    disk: DiskView<'_>,
    cmd: u32,
    arg: usize,
    write: bool,
    partition: bool,
) -> Result<i32> {
    let r = match cmd {
        NVME_IOCTL_ID => return Ok(disk.ns().nsid as i32),
        NVME_IOCTL_ADMIN_CMD => admin_cmd(&disk.ns().ctrl, arg, PASSTHRU_SIZE),
        NVME_IOCTL_ADMIN64_CMD => admin_cmd(&disk.ns().ctrl, arg, PASSTHRU64_SIZE),
        NVME_IOCTL_IO_CMD => io_cmd(disk, arg, Passthru::Cmd, write, partition),
        NVME_IOCTL_IO64_CMD => io_cmd(disk, arg, Passthru::Cmd64, write, partition),
        NVME_IOCTL_IO64_CMD_VEC => io_cmd(disk, arg, Passthru::Cmd64Vec, write, partition),
        NVME_IOCTL_SUBMIT_IO => submit_io(disk, arg, write, partition),
        _ => Err(ENOTTY),
    }?;
    Ok(r as i32)
}

/// The ioctls of `/dev/ng<N>n<M>` (C: `nvme_ns_chr_ioctl`): those of the namespace's
/// block device, never as a partition.
pub(crate) fn generic_ioctl(
    disk: DiskView<'_>,
    cmd: u32,
    arg: usize,
    write: bool,
) -> Result<isize> {
    ns_ioctl(disk, cmd, arg, write, false).map(|r| r as isize)
}

/// The ioctls of `/dev/nvme<N>` (C: `nvme_dev_ioctl`).
pub(crate) fn ctrl_ioctl(ctrl: &Arc<Ctrl>, cmd: u32, arg: usize, write: bool) -> Result<isize> {
    match cmd {
        NVME_IOCTL_ADMIN_CMD => admin_cmd(ctrl, arg, PASSTHRU_SIZE),
        NVME_IOCTL_ADMIN64_CMD => admin_cmd(ctrl, arg, PASSTHRU64_SIZE),
        NVME_IOCTL_IO_CMD => {
            // Deprecated, and only with exactly one namespace (C: `nvme_dev_user_cmd`).
            let disk = ctrl.only_disk()?;
            ctrl_warn!(
                ctrl.instance,
                "using deprecated NVME_IOCTL_IO_CMD ioctl on the char device!\n"
            );
            io_cmd(disk.view(), arg, Passthru::Cmd, write, false)
        }
        NVME_IOCTL_RESET => {
            allowed(Access::NeedsAdmin)?;
            ctrl_warn!(ctrl.instance, "resetting controller\n");
            ctrl.reset_sync().map(|()| 0)
        }
        NVME_IOCTL_SUBSYS_RESET => {
            allowed(Access::NeedsAdmin)?;
            ctrl.subsystem_reset().map(|()| 0)
        }
        NVME_IOCTL_RESCAN => {
            allowed(Access::NeedsAdmin)?;
            ctrl.queue_scan();
            Ok(0)
        }
        _ => Err(ENOTTY),
    }
}

#[kunit_tests(rust_nvme_ioctl)]
mod tests {
    use super::*;

    fn identify(cns: u8) -> Command {
        let mut c = Command::new(AdminOpcode::Identify as u8, 0);
        c.cdw10 = u32::from(cns);
        c
    }

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

    #[test]
    fn permission_rules() {
        // Admin: Identify of controller/namespace data for everybody, the rest for root.
        assert_eq!(access(&identify(0x01), None, false, false), Access::Granted);
        assert_eq!(access(&identify(0x00), None, false, false), Access::Granted);
        assert_eq!(
            access(&identify(0x02), None, false, false),
            Access::NeedsAdmin
        );
        let log = Command::new(AdminOpcode::GetLogPage as u8, 0xffff_ffff);
        assert_eq!(access(&log, None, false, true), Access::NeedsAdmin);
        let mut nq = Command::new(AdminOpcode::SetFeatures as u8, 0);
        nq.cdw10 = FeatureId::NumQueues as u32;
        assert_eq!(access(&nq, None, false, true), Access::Refused);
        // Vendor specific: root only, even if the effects say supported.
        let vs = Command::new(0xc0, 1);
        assert_eq!(
            access(&vs, Some(cmd_effects::CSUPP), false, true),
            Access::NeedsAdmin
        );
        // I/O: reads when supported; writes only on a writable open; partitions never.
        let rd = Command::new(IoOpcode::Read as u8, 1);
        let wr = Command::new(IoOpcode::Write as u8, 1);
        let lbcc = cmd_effects::CSUPP | cmd_effects::LBCC;
        assert_eq!(
            access(&rd, Some(cmd_effects::CSUPP), false, false),
            Access::Granted
        );
        assert_eq!(access(&rd, Some(0), false, false), Access::NeedsAdmin);
        assert_eq!(
            access(&rd, Some(cmd_effects::CSUPP), true, true),
            Access::NeedsAdmin
        );
        assert_eq!(access(&wr, Some(lbcc), false, false), Access::NeedsAdmin);
        assert_eq!(access(&wr, Some(lbcc), false, true), Access::Granted);
        // Intrusive effects (here: namespace capability change) need root.
        assert_eq!(
            access(
                &rd,
                Some(cmd_effects::CSUPP | cmd_effects::NCC),
                false,
                true
            ),
            Access::NeedsAdmin
        );
        assert_eq!(status_ret(0x4005 << 1 | 1), 0x4005);
    }
}
