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
    ctrl_warn,
    ns_err, //
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
        FeatureId, //
    },
    spec::cmd_effects,
    spec::prp,
    spec::transfer_len,
    uapi::nvme_ioctl::{
        iov_total,
        user_io_command,
        PassthruCmd,
        PassthruCmd64,
        UserIo,
        UserIovec,
        NVME_IOCTL_ADMIN64_CMD,
        NVME_IOCTL_ADMIN_CMD,
        NVME_IOCTL_ID,
        NVME_IOCTL_IO64_CMD,
        NVME_IOCTL_IO64_CMD_VEC,
        NVME_IOCTL_IO_CMD,
        NVME_IOCTL_RESCAN,
        NVME_IOCTL_RESET,
        NVME_IOCTL_SUBMIT_IO,
        NVME_IOCTL_SUBSYS_RESET,
        PASSTHRU64_SIZE,
        PASSTHRU_SIZE, //
    },
};

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

/// How the caller reached the device (C: `open_for_write`, `bdev_is_partition`), which
/// the permission rules weigh.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Opener {
    /// The file was opened for writing.
    pub(crate) write: bool,
    /// Through a partition's block device, not the whole namespace.
    pub(crate) partition: bool,
}

impl Opener {
    /// A whole namespace or a controller, opened for writing or not.
    pub(crate) fn whole(write: bool) -> Self {
        Self {
            write,
            partition: false,
        }
    }
}

/// How a passthrough command's `addr` and `data_len` describe the user's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UserData {
    /// One buffer of `data_len` bytes at `addr`.
    Buffer,
    /// An array of `data_len` iovecs at `addr` (the `_VEC` ioctls and io_uring commands).
    Vector,
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
pub(crate) fn access(c: &Command, effects: Option<u32>, by: Opener) -> Access {
    let opcode = c.opcode();
    if by.partition || opcode >= VENDOR_START || opcode == FABRICS_OPCODE {
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
        || ((is_write(opcode) || e & cmd_effects::LBCC != 0) && !by.write)
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
            ns_err!(
                ns.instance,
                ns.disk_id,
                "passthrough nsid ({}) does not match the namespace\n",
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
    if p.data_len > ctrl.facts().max_transfer() {
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
    let done = admin_user_cmd(ctrl, p, UserData::Buffer)?;
    write_result(arg, size, done.result)?;
    Ok(status_ret(done.status))
}

/// Checks and runs an admin passthrough command `p` (C: `nvme_user_cmd64(ctrl, NULL,
/// ...)`, `nvme_uring_cmd_io(ctrl, NULL, ...)`); for a vector, `data_len` counts the
/// entries of an iovec array at `addr`, checked as the bytes they add up to.
pub(crate) fn admin_user_cmd(
    ctrl: &Ctrl,
    mut p: PassthruCmd,
    data: UserData,
) -> Result<PassthruDone> {
    let buf = if data == UserData::Vector {
        let count = p.data_len;
        p.data_len = iov_total(p.addr, count)?;
        UserBuf::Vec { iov: p.addr, count }
    } else {
        UserBuf::Flat(p.addr)
    };
    let mut cmd = Command::default();
    let (len, _) = validate(ctrl, None, &p, &mut cmd)?;
    allowed(access(&cmd, None, Opener::whole(true)))?;
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
fn io_cmd(disk: DiskView<'_>, arg: usize, how: Passthru, by: Opener) -> Result<isize> {
    let ns = disk.ns();
    let (size, data) = match how {
        Passthru::Cmd => (PASSTHRU_SIZE, UserData::Buffer),
        Passthru::Cmd64 => (PASSTHRU64_SIZE, UserData::Buffer),
        Passthru::Cmd64Vec => (PASSTHRU64_SIZE, UserData::Vector),
    };
    let mut p = read_cmd(arg, size)?;
    let mut cmd = Command::default();
    let io = prepare_io(ns, &mut p, data, by, &mut cmd)?;
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
/// commands share them (C: `nvme_user_cmd64`, `nvme_uring_cmd_io`): for a vector,
/// `data_len` counts its entries and is checked as the bytes they add up to; then
/// [`validate`] and the permission rules for the caller (`by`). The command is built
/// into `cmd`.
pub(crate) fn prepare_io(
    ns: &NsInfo,
    p: &mut PassthruCmd,
    data: UserData,
    by: Opener,
    cmd: &mut Command,
) -> Result<IoPassthru> {
    let iov_count = if data == UserData::Vector {
        let count = p.data_len;
        p.data_len = iov_total(p.addr, count)?;
        Some(count)
    } else {
        None
    };
    let (len, meta) = validate(&ns.ctrl, Some(ns), p, cmd)?;
    let effects = ns.effects.io(cmd.opcode());
    allowed(access(cmd, Some(effects), by))?;
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
fn submit_io(disk: DiskView<'_>, arg: usize, by: Opener) -> Result<isize> {
    let ns = disk.ns();
    let io = UserSlice::new(UserPtr::from_addr(arg), size_of::<UserIo>())
        .reader()
        .read::<UserIo>()?;
    if !ns.passthru_io() {
        return Err(EINVAL);
    }
    let (cmd, addr, nblocks) = user_io_command(&io, ns.nsid)?;
    let len = nblocks.checked_shl(ns.lba_shift()).ok_or(EINVAL)?;
    if len > ns.ctrl.facts().max_transfer() {
        return Err(EINVAL);
    }
    // C: the metadata of every block (`(nblocks + 1) * ms`) on a separate-metadata
    // namespace.
    let m = ns.meta();
    let meta_len = nblocks.checked_mul(u32::from(m.ms)).ok_or(EINVAL)?;
    let meta = user_metadata(&ns.ctrl, Some(ns), &cmd, len, (io.metadata, meta_len))?;
    let e = ns.effects.io(cmd.opcode());
    allowed(access(&cmd, Some(e), by))?;
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
        ns_ioctl(disk, cmd, arg, Opener { write, partition })
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

pub(crate) fn ns_ioctl(disk: DiskView<'_>, cmd: u32, arg: usize, by: Opener) -> Result<i32> {
    let r = match cmd {
        NVME_IOCTL_ID => return Ok(disk.ns().nsid as i32),
        NVME_IOCTL_ADMIN_CMD => admin_cmd(&disk.ns().ctrl, arg, PASSTHRU_SIZE),
        NVME_IOCTL_ADMIN64_CMD => admin_cmd(&disk.ns().ctrl, arg, PASSTHRU64_SIZE),
        NVME_IOCTL_IO_CMD => io_cmd(disk, arg, Passthru::Cmd, by),
        NVME_IOCTL_IO64_CMD => io_cmd(disk, arg, Passthru::Cmd64, by),
        NVME_IOCTL_IO64_CMD_VEC => io_cmd(disk, arg, Passthru::Cmd64Vec, by),
        NVME_IOCTL_SUBMIT_IO => submit_io(disk, arg, by),
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
    ns_ioctl(disk, cmd, arg, Opener::whole(write)).map(|r| r as isize)
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
            io_cmd(disk.view(), arg, Passthru::Cmd, Opener::whole(write))
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

#[kunit_tests(rust_nvme_ioctl_access)]
mod tests {
    use super::*;
    use crate::spec::cmd::IoOpcode;

    fn identify(cns: u8) -> Command {
        let mut c = Command::new(AdminOpcode::Identify as u8, 0);
        c.cdw10 = u32::from(cns);
        c
    }

    #[test]
    fn permission_rules() {
        // Admin: Identify of controller/namespace data for everybody, the rest for root.
        assert_eq!(
            access(&identify(0x01), None, Opener::whole(false)),
            Access::Granted
        );
        assert_eq!(
            access(&identify(0x00), None, Opener::whole(false)),
            Access::Granted
        );
        assert_eq!(
            access(&identify(0x02), None, Opener::whole(false)),
            Access::NeedsAdmin
        );
        let log = Command::new(AdminOpcode::GetLogPage as u8, 0xffff_ffff);
        assert_eq!(access(&log, None, Opener::whole(true)), Access::NeedsAdmin);
        let mut nq = Command::new(AdminOpcode::SetFeatures as u8, 0);
        nq.cdw10 = FeatureId::NumQueues as u32;
        assert_eq!(access(&nq, None, Opener::whole(true)), Access::Refused);
        // Vendor specific: root only, even if the effects say supported.
        let vs = Command::new(0xc0, 1);
        assert_eq!(
            access(&vs, Some(cmd_effects::CSUPP), Opener::whole(true)),
            Access::NeedsAdmin
        );
        // I/O: reads when supported; writes only on a writable open; partitions never.
        let rd = Command::new(IoOpcode::Read as u8, 1);
        let wr = Command::new(IoOpcode::Write as u8, 1);
        let lbcc = cmd_effects::CSUPP | cmd_effects::LBCC;
        assert_eq!(
            access(&rd, Some(cmd_effects::CSUPP), Opener::whole(false)),
            Access::Granted
        );
        assert_eq!(
            access(&rd, Some(0), Opener::whole(false)),
            Access::NeedsAdmin
        );
        assert_eq!(
            access(
                &rd,
                Some(cmd_effects::CSUPP),
                Opener {
                    write: true,
                    partition: true
                }
            ),
            Access::NeedsAdmin
        );
        assert_eq!(
            access(&wr, Some(lbcc), Opener::whole(false)),
            Access::NeedsAdmin
        );
        assert_eq!(
            access(&wr, Some(lbcc), Opener::whole(true)),
            Access::Granted
        );
        // Intrusive effects (here: namespace capability change) need root.
        assert_eq!(
            access(
                &rd,
                Some(cmd_effects::CSUPP | cmd_effects::NCC),
                Opener::whole(true)
            ),
            Access::NeedsAdmin
        );
        assert_eq!(status_ret(0x4005 << 1 | 1), 0x4005);
    }
}
