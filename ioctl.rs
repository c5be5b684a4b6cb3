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
//! refused (no integrity support), and so is I/O to a namespace formatted with metadata;
//! data is bounded by the transfer limit, and must cover the transfer the command asks
//! for wherever its fields say how long that is (`crate::datalen`). I/O commands run as blk-mq passthrough
//! requests on the namespace's queue; admin commands on the admin queue with a DMA
//! bounce buffer. Both share the timeouts and reset handling of the driver's own
//! commands, and both get what their Commands Supported and Effects call for
//! (`crate::effects`): I/O frozen around Format NVM and Sanitize, a rescan after
//! namespace changes.

use core::iter;

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
    cmd::{
        AdminOpcode,
        Cns,
        Command,
        FeatureId,
        IoOpcode, //
    },
    ctrl::{
        Ctrl,
        DmaHold, //
    },
    datalen, effects,
    mq::{
        DiskView,
        NsInfo,
        PassthruDone, //
    },
    prp,
};

/// The ioctl type of the NVMe driver.
const IOCTL_TYPE: u32 = b'N' as u32;

/// `struct nvme_passthru_cmd` (`nvme_admin_cmd`): 72 bytes.
const PASSTHRU_SIZE: usize = 72;
/// `struct nvme_passthru_cmd64`: 80 bytes.
const PASSTHRU64_SIZE: usize = 80;
/// `struct nvme_user_io`: 48 bytes.
const USER_IO_SIZE: usize = 48;

/// `NVME_IOCTL_ID`: the namespace ID of a namespace device.
pub(crate) const NVME_IOCTL_ID: u32 = _IO(IOCTL_TYPE, 0x40);
/// `NVME_IOCTL_ADMIN_CMD`.
pub(crate) const NVME_IOCTL_ADMIN_CMD: u32 = _IOWR::<[u8; PASSTHRU_SIZE]>(IOCTL_TYPE, 0x41);
/// `NVME_IOCTL_SUBMIT_IO`.
pub(crate) const NVME_IOCTL_SUBMIT_IO: u32 = _IOW::<[u8; USER_IO_SIZE]>(IOCTL_TYPE, 0x42);
/// `NVME_IOCTL_IO_CMD`.
pub(crate) const NVME_IOCTL_IO_CMD: u32 = _IOWR::<[u8; PASSTHRU_SIZE]>(IOCTL_TYPE, 0x43);
/// `NVME_IOCTL_RESET`.
pub(crate) const NVME_IOCTL_RESET: u32 = _IO(IOCTL_TYPE, 0x44);
/// `NVME_IOCTL_SUBSYS_RESET`.
pub(crate) const NVME_IOCTL_SUBSYS_RESET: u32 = _IO(IOCTL_TYPE, 0x45);
/// `NVME_IOCTL_RESCAN`.
pub(crate) const NVME_IOCTL_RESCAN: u32 = _IO(IOCTL_TYPE, 0x46);
/// `NVME_IOCTL_ADMIN64_CMD`.
pub(crate) const NVME_IOCTL_ADMIN64_CMD: u32 = _IOWR::<[u8; PASSTHRU64_SIZE]>(IOCTL_TYPE, 0x47);
/// `NVME_IOCTL_IO64_CMD`.
pub(crate) const NVME_IOCTL_IO64_CMD: u32 = _IOWR::<[u8; PASSTHRU64_SIZE]>(IOCTL_TYPE, 0x48);

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

/// A passthrough command as userspace passes it (`nvme_passthru_cmd[64]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PassthruCmd {
    pub(crate) opcode: u8,
    pub(crate) flags: u8,
    pub(crate) nsid: u32,
    pub(crate) cdw2: u32,
    pub(crate) cdw3: u32,
    pub(crate) metadata: u64,
    pub(crate) addr: u64,
    pub(crate) metadata_len: u32,
    pub(crate) data_len: u32,
    pub(crate) cdw10_15: [u32; 6],
    pub(crate) timeout_ms: u32,
}

/// Little-endian field readers over a copied-in structure.
fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}
fn le64(b: &[u8], off: usize) -> u64 {
    u64::from(le32(b, off)) | u64::from(le32(b, off + 4)) << 32
}
fn le16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

impl PassthruCmd {
    /// Offset of `result` in the 32-bit and 64-bit structures.
    const RESULT_OFF: usize = 68;
    const RESULT64_OFF: usize = 72;

    /// Decodes the first 72 bytes (shared by both layouts).
    pub(crate) fn parse(b: &[u8; PASSTHRU64_SIZE]) -> Self {
        let mut cdw10_15 = [0u32; 6];
        for (i, v) in cdw10_15.iter_mut().enumerate() {
            *v = le32(b, 40 + 4 * i);
        }
        Self {
            opcode: b[0],
            flags: b[1],
            nsid: le32(b, 4),
            cdw2: le32(b, 8),
            cdw3: le32(b, 12),
            metadata: le64(b, 16),
            addr: le64(b, 24),
            metadata_len: le32(b, 32),
            data_len: le32(b, 36),
            cdw10_15,
            timeout_ms: le32(b, 64),
        }
    }

    /// The command the controller gets (C: `nvme_user_cmd`); the driver fills in the
    /// command identifier and the data pointer.
    pub(crate) fn to_command(&self) -> Command {
        let mut c = Command::new(self.opcode, self.nsid);
        c.cdw2 = self.cdw2;
        c.cdw3 = self.cdw3;
        c.cdw10 = self.cdw10_15[0];
        c.cdw11 = self.cdw10_15[1];
        c.cdw12 = self.cdw10_15[2];
        c.cdw13 = self.cdw10_15[3];
        c.cdw14 = self.cdw10_15[4];
        c.cdw15 = self.cdw10_15[5];
        c
    }
}

/// `struct nvme_user_io` (`NVME_IOCTL_SUBMIT_IO`) as the Read/Write it describes.
pub(crate) fn user_io_command(b: &[u8; USER_IO_SIZE], nsid: u32) -> Result<(Command, u64, u32)> {
    let (opcode, flags) = (b[0], b[1]);
    if flags != 0 {
        return Err(EINVAL);
    }
    // Read, Write, Compare only (C: `nvme_submit_io`).
    if ![IoOpcode::Read, IoOpcode::Write, IoOpcode::Compare]
        .iter()
        .any(|&o| o as u8 == opcode)
    {
        return Err(EINVAL);
    }
    let (control, nblocks) = (le16(b, 2), le16(b, 4));
    let slba = le64(b, 24);
    let mut c = Command::new(opcode, nsid);
    c.cdw10 = slba as u32;
    c.cdw11 = (slba >> 32) as u32;
    c.cdw12 = u32::from(nblocks) | u32::from(control) << 16;
    c.cdw13 = le32(b, 32);
    c.cdw14 = le32(b, 36);
    c.cdw15 = u32::from(le16(b, 40)) | u32::from(le16(b, 42)) << 16;
    Ok((c, le64(b, 16), u32::from(nblocks) + 1))
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
    if e & effects::CSUPP == 0
        || e & !(effects::CSUPP | effects::LBCC | effects::UUID_SEL | effects::SCOPE_MASK) != 0
        || ((is_write(opcode) || e & effects::LBCC != 0) && !write)
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

/// Copies in a passthrough structure of `size` bytes.
fn read_cmd(arg: usize, size: usize) -> Result<PassthruCmd> {
    let mut b = [0u8; PASSTHRU64_SIZE];
    UserSlice::new(UserPtr::from_addr(arg), size)
        .reader()
        .read_slice(&mut b[..size])?;
    Ok(PassthruCmd::parse(&b))
}

/// Writes the command's result back (`result` is 32 bits wide in the 72-byte structure,
/// 64 in the 80-byte one).
fn write_result(arg: usize, size: usize, result: u32) -> Result {
    let (off, len) = if size == PASSTHRU64_SIZE {
        (PassthruCmd::RESULT64_OFF, 8)
    } else {
        (PassthruCmd::RESULT_OFF, 4)
    };
    let v = u64::from(result).to_le_bytes();
    UserSlice::new(UserPtr::from_addr(arg).wrapping_byte_add(off), len)
        .writer()
        .write_slice(&v[..len])
}

/// Checks common to both passthrough paths; the command to send, and the bytes of the
/// user buffer it moves: `data_len`, or the command's transfer where that is known and
/// shorter (with SGLs, which user I/O commands get where the controller has them, the
/// controller refuses a descriptor longer than the transfer; with PRPs it ignores the
/// rest, so mapping only the transfer gives the same result on both).
fn validate(ctrl: &Ctrl, ns: Option<&NsInfo>, p: &PassthruCmd) -> Result<(Command, u32)> {
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
        // A format the block layer cannot address (metadata, block size): the controller
        // would move metadata through a pointer nobody set up.
        if !ns.block_io() {
            return Err(EINVAL);
        }
    }
    // Metadata buffers are refused as C refuses them without integrity support.
    if p.addr != 0 && p.data_len != 0 && p.metadata != 0 && p.metadata_len != 0 {
        return Err(EINVAL);
    }
    if p.data_len > ctrl.max_transfer_bytes() {
        return Err(EINVAL);
    }
    // A buffer shorter than the transfer the command asks for: the controller would move
    // the rest through data pointers nobody set up (beyond C, see `crate::datalen`).
    let cmd = p.to_command();
    let need = match ns {
        Some(ns) => datalen::nvm(&cmd, ns.lba_shift()),
        None => datalen::admin(&cmd),
    };
    let have = if p.addr != 0 { p.data_len } else { 0 };
    if !datalen::covers(need, have) {
        return Err(EINVAL);
    }
    let len = need.map_or(have, |n| u32::try_from(n).map_or(have, |n| n.min(have)));
    Ok((cmd, len))
}

/// `NVME_IOCTL_ADMIN_CMD` / `ADMIN64_CMD` (C: `nvme_user_cmd(ctrl, NULL, ...)`).
fn admin_cmd(ctrl: &Ctrl, arg: usize, size: usize) -> Result<isize> {
    let p = read_cmd(arg, size)?;
    let (mut cmd, len) = validate(ctrl, None, &p)?;
    allowed(access(&cmd, None, false, true))?;
    let done = admin_passthru(ctrl, &mut cmd, &p, len as usize)?;
    write_result(arg, size, done.result)?;
    Ok(status_ret(done.status))
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
    len: usize,
) -> Result<PassthruDone> {
    let gate = ctrl.passthru_gate()?;
    let dev = gate.dev();
    let user = || UserSlice::new(UserPtr::from_addr(p.addr as usize), len);
    let data: Option<Coherent<[u8]>> = match (len, is_write(p.opcode)) {
        (0, _) => None,
        (_, true) => {
            let mut v = KVec::new();
            user().read_all(&mut v, GFP_KERNEL)?;
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
    let done = if fx & effects::CSE_MASK != 0 {
        gate.submit_exclusive(*cmd, p.timeout_ms, Some(hold))
    } else {
        gate.admin(*cmd, p.timeout_ms, Some(hold))
    };
    ctrl.passthru_end(fx);
    let done = done?;
    if let (Some(d), false) = (&bufs.data, is_write(p.opcode)) {
        user().writer().write_dma(d, 0, len)?;
    }
    Ok(done)
}

/// An I/O passthrough command on a namespace (C: `nvme_user_cmd(ctrl, ns, ...)`).
fn io_cmd(
    disk: DiskView<'_>,
    arg: usize,
    size: usize,
    write: bool,
    partition: bool,
) -> Result<isize> {
    let ns = disk.ns();
    let p = read_cmd(arg, size)?;
    let (cmd, len) = validate(&ns.ctrl, Some(ns), &p)?;
    let e = ns.effects.io(cmd.opcode());
    allowed(access(&cmd, Some(e), partition, write))?;
    let done = disk.passthru(&cmd, p.addr, len, p.timeout_ms);
    ns.ctrl.passthru_end(e);
    let done = done?;
    write_result(arg, size, done.result)?;
    Ok(status_ret(done.status))
}

/// `NVME_IOCTL_SUBMIT_IO` (C: `nvme_submit_io`).
fn submit_io(disk: DiskView<'_>, arg: usize, write: bool, partition: bool) -> Result<isize> {
    let ns = disk.ns();
    let mut b = [0u8; USER_IO_SIZE];
    UserSlice::new(UserPtr::from_addr(arg), USER_IO_SIZE)
        .reader()
        .read_slice(&mut b)?;
    if !ns.block_io() {
        return Err(EINVAL);
    }
    let (cmd, addr, nblocks) = user_io_command(&b, ns.nsid)?;
    let len = nblocks.checked_shl(ns.lba_shift()).ok_or(EINVAL)?;
    if len > ns.ctrl.max_transfer_bytes() {
        return Err(EINVAL);
    }
    let e = ns.effects.io(cmd.opcode());
    allowed(access(&cmd, Some(e), partition, write))?;
    let done = disk.passthru(&cmd, addr, len, 0)?;
    Ok(status_ret(done.status))
}

/// The ioctls of a namespace block device (C: `nvme_ioctl`).
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
        NVME_IOCTL_IO_CMD => io_cmd(disk, arg, PASSTHRU_SIZE, write, partition),
        NVME_IOCTL_IO64_CMD => io_cmd(disk, arg, PASSTHRU64_SIZE, write, partition),
        NVME_IOCTL_SUBMIT_IO => submit_io(disk, arg, write, partition),
        _ => Err(ENOTTY),
    }?;
    Ok(r as i32)
}

/// The ioctls of `/dev/nvme<N>` (C: `nvme_dev_ioctl`).
pub(crate) fn ctrl_ioctl(ctrl: &Arc<Ctrl>, cmd: u32, arg: usize, write: bool) -> Result<isize> {
    match cmd {
        NVME_IOCTL_ADMIN_CMD => admin_cmd(ctrl, arg, PASSTHRU_SIZE),
        NVME_IOCTL_ADMIN64_CMD => admin_cmd(ctrl, arg, PASSTHRU64_SIZE),
        NVME_IOCTL_IO_CMD => {
            // Deprecated, and only with exactly one namespace (C: `nvme_dev_user_cmd`).
            let disk = ctrl.only_disk()?;
            dev_warn!(
                ctrl.pci_dev().as_ref(),
                "nvme{}: using deprecated NVME_IOCTL_IO_CMD ioctl on the char device!\n",
                ctrl.instance
            );
            io_cmd(disk.view(), arg, PASSTHRU_SIZE, write, false)
        }
        NVME_IOCTL_RESET => {
            allowed(Access::NeedsAdmin)?;
            dev_warn!(
                ctrl.pci_dev().as_ref(),
                "nvme{}: resetting controller\n",
                ctrl.instance
            );
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
        let p = PassthruCmd::parse(&b);
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
    }

    #[test]
    fn user_io_decoding() -> Result {
        let mut b = [0u8; USER_IO_SIZE];
        b[0] = IoOpcode::Write as u8;
        b[2..4].copy_from_slice(&0x4000u16.to_le_bytes());
        b[4..6].copy_from_slice(&7u16.to_le_bytes());
        b[16..24].copy_from_slice(&0x1000u64.to_le_bytes());
        b[24..32].copy_from_slice(&0x1_0000_0002u64.to_le_bytes());
        let (c, addr, n) = user_io_command(&b, 3)?;
        assert_eq!((c.opcode(), c.nsid, addr, n), (0x01, 3, 0x1000, 8));
        assert_eq!((c.cdw10, c.cdw11, c.cdw12), (2, 1, 7 | 0x4000 << 16));
        b[1] = 1;
        assert_eq!(user_io_command(&b, 3).map(|_| ()), Err(EINVAL));
        b[1] = 0;
        b[0] = IoOpcode::Flush as u8;
        assert_eq!(user_io_command(&b, 3).map(|_| ()), Err(EINVAL));
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
            access(&vs, Some(effects::CSUPP), false, true),
            Access::NeedsAdmin
        );
        // I/O: reads when supported; writes only on a writable open; partitions never.
        let rd = Command::new(IoOpcode::Read as u8, 1);
        let wr = Command::new(IoOpcode::Write as u8, 1);
        let lbcc = effects::CSUPP | effects::LBCC;
        assert_eq!(
            access(&rd, Some(effects::CSUPP), false, false),
            Access::Granted
        );
        assert_eq!(access(&rd, Some(0), false, false), Access::NeedsAdmin);
        assert_eq!(
            access(&rd, Some(effects::CSUPP), true, true),
            Access::NeedsAdmin
        );
        assert_eq!(access(&wr, Some(lbcc), false, false), Access::NeedsAdmin);
        assert_eq!(access(&wr, Some(lbcc), false, true), Access::Granted);
        // Intrusive effects (here: namespace capability change) need root.
        assert_eq!(
            access(&rd, Some(effects::CSUPP | effects::NCC), false, true),
            Access::NeedsAdmin
        );
        assert_eq!(status_ret(0x4005 << 1 | 1), 0x4005);
    }
}
