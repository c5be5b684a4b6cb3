// SPDX-License-Identifier: GPL-2.0

//! io_uring commands on files (`IORING_OP_URING_CMD`), and driver-private block
//! requests that complete them asynchronously.
//!
//! C header: [`include/linux/io_uring/cmd.h`](srctree/include/linux/io_uring/cmd.h)
//!
//! A file's `uring_cmd` operation receives an [`IoUringCmd`]: the command's opcode, the
//! 80 bytes of command in a 128-byte SQE, the issue flags. It either completes the
//! command at once ([`IoUringCmd::complete32`]) or turns it into a driver-private
//! request on a disk's queue ([`DiskView::execute_drv_uring`]) issued without waiting
//! (C: `blk_execute_rq_nowait`); both hand back a [`Queued`], the proof the command
//! will be (or was) completed. The request's `end_io` reads its outcome ([`DrvEnd`]),
//! frees the request and completes the command from the submitter's task (C:
//! `io_uring_cmd_do_in_task_lazy`), where user memory is unmapped (and bounced data
//! copied back) before the CQE is posted.
//!
//! Polled requests (`IORING_SETUP_IOPOLL`) are polled through the request (C:
//! `blk_rq_poll`); a [`PollGate`] in the command's private area keeps the request from
//! being freed while a poller holds its pointer, which C leaves to chance.
//!
//! The command's private area (`io_uring_cmd.pdu`) is this module's: [`CmdPdu`].

use core::{
    ffi::{
        c_int,
        c_uint,
        c_ulong,
        c_void, //
    },
    marker::PhantomData,
    mem::{
        offset_of,
        MaybeUninit, //
    },
    ptr, //
};

use kernel::{
    bindings,
    prelude::*,
    sync::atomic::{
        Acquire,
        Atomic,
        Full,
        Relaxed,
        Release, //
    },
    transmute::FromBytes,
};

use crate::abstractions::{
    blk_mq::{
        request::pdu_of,
        BlkStatus,
        Operations, //
    },
    gendisk::{
        finish_user_map,
        map_drv_data,
        DiskView,
        DrvData, //
    },
};

/// `struct io_uring_cmd` (`include/linux/io_uring/cmd.h`; opaque in the bindings).
#[repr(C)]
struct RawCmd {
    /// A `struct file *` (the binding's type is not FFI-safe by value of its members).
    file: *mut c_void,
    sqe: *const u8,
    cmd_op: u32,
    flags: u32,
    pdu: [u8; 32],
    unused: [u8; 8],
}
kernel::static_assert!(size_of::<RawCmd>() == 64);
kernel::static_assert!(offset_of!(RawCmd, pdu) == 24);

/// `struct io_tw_req`: the io_uring request a task-work callback runs for (a `struct
/// io_kiocb *`, whose first member is its `struct io_uring_cmd`: C's
/// `io_uring_cmd_from_tw`).
#[repr(C)]
struct TwReq {
    req: *mut RawCmd,
}

/// `io_tw_token_t` (`struct io_tw_state`), passed by value.
#[repr(C)]
struct TwToken {
    _cancel: bool,
}

type TwFunc = unsafe extern "C" fn(TwReq, TwToken);

// `include/linux/io_uring/cmd.h`, which the bindings do not include (7.3's signatures).
extern "C" {
    fn __io_uring_cmd_done(cmd: *mut RawCmd, ret: i32, res2: u64, issue_flags: c_uint, cqe32: bool);
    fn __io_uring_cmd_do_in_task(cmd: *mut RawCmd, cb: TwFunc, flags: c_uint);
    fn io_uring_cmd_import_fixed(
        ubuf: u64,
        len: c_ulong,
        rw: c_int,
        iter: *mut bindings::iov_iter,
        cmd: *mut RawCmd,
        issue_flags: c_uint,
    ) -> c_int;
    fn io_uring_cmd_import_fixed_vec(
        cmd: *mut RawCmd,
        uvec: *const c_void,
        uvec_segs: usize,
        ddir: c_int,
        iter: *mut bindings::iov_iter,
        issue_flags: c_uint,
    ) -> c_int;
}

/// `enum io_uring_cmd_flags` (`include/linux/io_uring_types.h`).
const IO_URING_F_COMPLETE_DEFER: u32 = 1;
const IO_URING_F_NONBLOCK: u32 = 1 << 31;
const IO_URING_F_SQE128: u32 = 1 << 8;
const IO_URING_F_CQE32: u32 = 1 << 9;
const IO_URING_F_IOPOLL: u32 = 1 << 10;
/// `IOU_F_TWQ_LAZY_WAKE`: the task need not be woken for this completion alone.
const IOU_F_TWQ_LAZY_WAKE: u32 = 1;
/// `IORING_URING_CMD_FIXED` (uapi): the data is in a registered buffer.
const IORING_URING_CMD_FIXED: u32 = 1 << 0;
/// `EIOCBQUEUED`: the command completes later.
pub(crate) const EIOCBQUEUED: c_int = 529;
/// Offset of the command in an SQE (`offsetof(struct io_uring_sqe, cmd)`), and the bytes
/// of command a 128-byte SQE holds.
const SQE_CMD_OFFSET: usize = 48;
const SQE128_CMD_BYTES: usize = 128 - SQE_CMD_OFFSET;
/// `READ`/`WRITE` (`include/linux/kernel.h`): the direction of an imported buffer.
const DDIR_READ: c_int = 0;
const DDIR_WRITE: c_int = 1;
/// `REQ_NOWAIT`, `REQ_POLLED` (`include/linux/blk_types.h`).
const REQ_NOWAIT: u32 = 1 << bindings::req_flag_bits___REQ_NOWAIT;
const REQ_POLLED: u32 = 1 << bindings::req_flag_bits___REQ_POLLED;

/// Who may use a polled request: pollers holding its pointer (a count), and whether it
/// ended (`ENDED`) while one did (`DEFERRED`: the last poller frees it). Pure transitions,
/// applied atomically by [`CmdPdu`].
pub(crate) struct PollGate;

impl PollGate {
    const ENDED: u32 = 1 << 31;
    const DEFERRED: u32 = 1 << 30;
    const POLLERS: u32 = Self::DEFERRED - 1;

    /// A poller arrives: the new state, and whether it may poll the request (not ended).
    pub(crate) fn enter(s: u32) -> (u32, bool) {
        (
            s.wrapping_add(1) & Self::POLLERS | s & !Self::POLLERS,
            s & Self::ENDED == 0,
        )
    }

    /// A poller leaves: the new state, and whether it must free the request (it is the
    /// last one and the request ended while pollers held it).
    pub(crate) fn leave(s: u32) -> (u32, bool) {
        let pollers = (s & Self::POLLERS).saturating_sub(1);
        if pollers == 0 && s & Self::DEFERRED != 0 {
            return (s & Self::ENDED, true);
        }
        (pollers | s & !Self::POLLERS, false)
    }

    /// The request ends: the new state, and whether `end_io` frees it (no poller holds
    /// it; otherwise the last poller does).
    pub(crate) fn end(s: u32) -> (u32, bool) {
        if s & Self::POLLERS == 0 {
            (s | Self::ENDED, true)
        } else {
            (s | Self::ENDED | Self::DEFERRED, false)
        }
    }
}

/// What this module keeps in `io_uring_cmd.pdu` (32 bytes).
///
/// # Invariants
///
/// `rq` is null or the request the command was turned into, which is not freed while
/// `gate` counts a poller that entered before it ended (and is freed by the last such
/// poller when it ended meanwhile); `bio`, `status` and `result` are written by `end_io` before
/// the completion is queued and read by the task-work callback only.
#[repr(C)]
struct CmdPdu {
    rq: Atomic<*mut bindings::request>,
    bio: *mut bindings::bio,
    result: u64,
    status: i32,
    gate: Atomic<u32>,
}
kernel::static_assert!(size_of::<CmdPdu>() <= 32);

impl CmdPdu {
    /// Applies a [`PollGate`] transition atomically; returns its verdict.
    fn step(&self, f: fn(u32) -> (u32, bool)) -> bool {
        let mut old = self.gate.load(Relaxed);
        loop {
            let (new, verdict) = f(old);
            match self.gate.cmpxchg(old, new, Full) {
                Ok(_) => return verdict,
                Err(cur) => old = cur,
            }
        }
    }
}

/// The proof that an io_uring command is or will be completed (the operation returns
/// `EIOCBQUEUED`).
pub(crate) struct Queued(());

/// An io_uring command during its file's `uring_cmd` operation: consumed when it is
/// completed or queued.
///
/// # Invariants
///
/// `raw` is a live `struct io_uring_cmd` being issued, whose `pdu` was initialised as a
/// [`CmdPdu`]; `issue_flags` are the ones the operation got.
pub(crate) struct IoUringCmd<'a> {
    raw: *mut RawCmd,
    issue_flags: u32,
    _p: PhantomData<&'a ()>,
}

impl IoUringCmd<'_> {
    /// # Safety
    ///
    /// `raw` is the command a `uring_cmd` file operation is running for, with
    /// `issue_flags`; the result lives no longer than the operation.
    pub(in crate::abstractions) unsafe fn from_raw(
        raw: *mut bindings::io_uring_cmd,
        issue_flags: u32,
    ) -> Self {
        let raw = raw.cast::<RawCmd>();
        // SAFETY: The command is live (safety requirements) and its private area ours
        // until it is completed: initialised as an unused `CmdPdu`.
        unsafe {
            (&raw mut (*raw).pdu).cast::<CmdPdu>().write(CmdPdu {
                rq: Atomic::new(ptr::null_mut()),
                bio: ptr::null_mut(),
                result: 0,
                status: 0,
                gate: Atomic::new(0),
            })
        };
        // INVARIANT: As required, and the private area was just initialised.
        Self {
            raw,
            issue_flags,
            _p: PhantomData,
        }
    }

    /// The file the command was issued on (held by the command).
    pub(in crate::abstractions) fn file(&self) -> *mut bindings::file {
        // SAFETY: The command is live (type invariant); `file` was set before issue.
        unsafe { (*self.raw).file.cast() }
    }

    /// The command's opcode (`sqe->cmd_op`).
    pub(crate) fn op(&self) -> u32 {
        // SAFETY: The command is live (type invariant); `cmd_op` was set before issue.
        unsafe { (*self.raw).cmd_op }
    }

    /// The data is in a registered buffer (`IORING_URING_CMD_FIXED`).
    pub(crate) fn fixed(&self) -> bool {
        // SAFETY: As in `op`.
        unsafe { (*self.raw).flags & IORING_URING_CMD_FIXED != 0 }
    }

    /// The ring has 128-byte SQEs and 32-byte CQEs, which commands with a 64-bit result
    /// need (C: `nvme_uring_cmd_checks`).
    pub(crate) fn big_sqe_cqe(&self) -> bool {
        let both = IO_URING_F_SQE128 | IO_URING_F_CQE32;
        self.issue_flags & both == both
    }

    /// The operation must not sleep (`IO_URING_F_NONBLOCK`): `EAGAIN` makes io_uring
    /// issue it again from a worker that may.
    pub(crate) fn nonblock(&self) -> bool {
        self.issue_flags & IO_URING_F_NONBLOCK != 0
    }

    /// The ring polls for completions (`IO_URING_F_IOPOLL`).
    pub(crate) fn iopoll(&self) -> bool {
        self.issue_flags & IO_URING_F_IOPOLL != 0
    }

    /// The command in a 128-byte SQE, read once (user space may change the SQE
    /// meanwhile: C reads each field with `READ_ONCE`); `EINVAL` without 128-byte SQEs.
    pub(crate) fn sqe128<T: FromBytes>(&self) -> Result<T> {
        const { assert!(size_of::<T>() <= SQE128_CMD_BYTES) };
        if self.issue_flags & IO_URING_F_SQE128 == 0 {
            return Err(EINVAL);
        }
        // Copied in 64-bit words: a volatile read of a byte array compiles to one load and
        // one store per byte.
        let mut words = [0u64; SQE128_CMD_BYTES / size_of::<u64>()];
        // SAFETY: The command is live (type invariant) and, with `IO_URING_F_SQE128`, its
        // SQE holds `SQE128_CMD_BYTES` of command from `SQE_CMD_OFFSET`, 8-byte aligned
        // (SQEs are 64-byte aligned in their ring, the offset a multiple of 8); each word
        // is read once, volatile, whatever user space does meanwhile.
        unsafe {
            let src = (*self.raw).sqe.add(SQE_CMD_OFFSET).cast::<u64>();
            for (i, w) in words.iter_mut().enumerate() {
                *w = ptr::read_volatile(src.add(i));
            }
        }
        const { assert!(SQE_CMD_OFFSET % size_of::<u64>() == 0) };
        // SAFETY: `words` holds `SQE128_CMD_BYTES >= size_of::<T>()` initialised bytes and
        // any bytes are a valid `T` (`FromBytes`); read unaligned, as `T` may need more
        // alignment than the words give.
        Ok(unsafe { ptr::read_unaligned(words.as_ptr().cast::<T>()) })
    }

    /// Completes the command now with `ret` and `res2` in a 32-byte CQE (C:
    /// `io_uring_cmd_done32`).
    pub(crate) fn complete32(self, ret: i32, res2: u64) -> Queued {
        // SAFETY: The command is live and not completed (type invariant; `self` is
        // consumed), the flags are the operation's.
        unsafe { __io_uring_cmd_done(self.raw, ret, res2, self.issue_flags, true) };
        Queued(())
    }

    fn pdu(&self) -> *mut CmdPdu {
        // SAFETY: The command is live (type invariant).
        unsafe { (&raw mut (*self.raw).pdu).cast::<CmdPdu>() }
    }
}

/// How a driver-private request's outcome becomes a CQE: `(res, res2)` from the driver's
/// data and the block status (C: `nvme_uring_cmd_end_io`). Runs in `end_io` (any
/// context).
pub(crate) trait DrvEnd<T: Operations> {
    /// The CQE's `res` (negative: an errno) and `res2`.
    fn end(pdu: &T::Pdu, status: BlkStatus) -> (i32, u64);
}

impl<T: Operations> DiskView<'_, T> {
    /// Runs a driver-private request on the disk's queue for `cmd` without waiting (C:
    /// `blk_mq_alloc_request` + `nvme_map_user_request` + `blk_execute_rq_nowait`):
    /// `setup` prepares the driver's data, `data` is user memory (in a registered buffer
    /// when the command says so; a kernel buffer is `EINVAL`), `timeout_ms` 0 keeps the
    /// queue's timeout; `E` makes the CQE. Without a free tag a non-blocking issue gets
    /// `EAGAIN` (io_uring issues it again from a worker).
    ///
    /// # Errors
    ///
    /// `EAGAIN`, `ENODEV` and others from allocating the request, `EFAULT`/`EINVAL` from
    /// mapping the buffer. On error nothing was sent and the command is not completed.
    pub(crate) fn execute_drv_uring<E: DrvEnd<T>>(
        &self,
        cmd: IoUringCmd<'_>,
        write: bool,
        data: DrvData<'_>,
        timeout_ms: u32,
        setup: impl FnOnce(&mut T::Pdu),
    ) -> Result<Queued> {
        if matches!(data, DrvData::Kernel(_)) {
            return Err(EINVAL);
        }
        let (mut op, mut flags) = if write {
            (bindings::req_op_REQ_OP_DRV_OUT, 0)
        } else {
            (bindings::req_op_REQ_OP_DRV_IN, 0)
        };
        if cmd.nonblock() {
            op |= REQ_NOWAIT;
            flags |= bindings::BLK_MQ_REQ_NOWAIT;
        }
        if cmd.iopoll() {
            op |= REQ_POLLED;
        }
        let q = self.queue_ptr();
        // SAFETY: The disk and its queue are alive (`DiskView`). The request is ours from
        // allocation until it is executed: its driver data and `end_io` fields are ours
        // to set; once executed `end_io` owns it. The command is live until completed,
        // which only `end_io`'s task work does.
        unsafe {
            let rq = kernel::error::from_err_ptr(bindings::blk_mq_alloc_request(
                q,
                op,
                flags as bindings::blk_mq_req_flags_t,
            ))?;
            setup(&mut *pdu_of::<T>(rq));
            if timeout_ms > 0 {
                (*rq).timeout = kernel::time::msecs_to_jiffies(timeout_ms) as u32;
            }
            let (ret, user) = if cmd.fixed() {
                map_fixed(q, rq, &cmd, data, write)
            } else {
                map_drv_data(q, rq, data, write)
            };
            if ret != 0 {
                bindings::blk_mq_free_request(rq);
                return Err(Error::from_errno(ret));
            }
            let pdu = cmd.pdu();
            // The bio, to unmap after completion (the request has none by then).
            (*pdu).bio = if user { (*rq).bio } else { ptr::null_mut() };
            (*pdu).rq.store(rq, Release);
            (*rq).end_io_data = cmd.raw.cast();
            (*rq).end_io = Some(end_io::<T, E>);
            bindings::blk_execute_rq_nowait(rq, false);
        }
        Ok(Queued(()))
    }
}

/// Maps `data` from the command's registered buffer (C: `io_uring_cmd_import_fixed`,
/// `_vec`, then `blk_rq_map_user_iov`); as [`map_drv_data`].
///
/// # Safety
///
/// As [`map_drv_data`]; `cmd` is the command being issued.
unsafe fn map_fixed(
    q: *mut bindings::request_queue,
    rq: *mut bindings::request,
    cmd: &IoUringCmd<'_>,
    data: DrvData<'_>,
    write: bool,
) -> (c_int, bool) {
    let ddir = if write { DDIR_WRITE } else { DDIR_READ };
    let mut iter = MaybeUninit::<bindings::iov_iter>::zeroed();
    let (ret, min_len, meta, meta_len) = match data {
        DrvData::User {
            addr,
            len,
            meta,
            meta_len,
        } if len != 0 => {
            // SAFETY: The command is being issued (safety requirements) with these flags;
            // io_uring checks the range against the registered buffer.
            let ret = unsafe {
                io_uring_cmd_import_fixed(
                    addr,
                    c_ulong::from(len),
                    ddir,
                    iter.as_mut_ptr(),
                    cmd.raw,
                    cmd.issue_flags,
                )
            };
            (ret, 0, meta, meta_len)
        }
        DrvData::UserVec {
            iov,
            count,
            min_len,
            meta,
            meta_len,
        } if count != 0 => {
            // SAFETY: As above; io_uring reads and checks the user's iovec array.
            let ret = unsafe {
                io_uring_cmd_import_fixed_vec(
                    cmd.raw,
                    iov as usize as *const c_void,
                    count as usize,
                    ddir,
                    iter.as_mut_ptr(),
                    cmd.issue_flags,
                )
            };
            (ret, min_len, meta, meta_len)
        }
        _ => return (0, false),
    };
    if ret < 0 {
        return (ret, false);
    }
    // SAFETY: `iter` was initialised by the import; `rq` is the caller's (safety
    // requirements); the registered buffer stays with the command until it completes.
    let ret = unsafe {
        bindings::blk_rq_map_user_iov(q, rq, ptr::null_mut(), iter.as_ptr(), bindings::GFP_KERNEL)
    };
    // SAFETY: As above; mapped from user memory if `ret` is 0.
    unsafe { finish_user_map(rq, ret, min_len, meta, meta_len) }
}

/// The `end_io` of a request run for an io_uring command.
///
/// # Safety
///
/// Called by blk-mq only, once, for a request that [`DiskView::execute_drv_uring`]
/// executed, whose `end_io_data` is its live, not yet completed command.
unsafe extern "C" fn end_io<T: Operations, E: DrvEnd<T>>(
    rq: *mut bindings::request,
    err: bindings::blk_status_t,
    _iob: *const bindings::io_comp_batch,
) -> bindings::rq_end_io_ret {
    // SAFETY: Per the function's safety requirements the request ended (its driver data is
    // ours to read) and `end_io_data` is its command, whose private area is a `CmdPdu`.
    // After the completion is queued the command may go at any time: nothing of it is
    // touched after `__io_uring_cmd_do_in_task`.
    let free = unsafe {
        let cmd = (*rq).end_io_data.cast::<RawCmd>();
        let pdu = (&raw mut (*cmd).pdu).cast::<CmdPdu>();
        let (res, res2) = E::end(&*pdu_of::<T>(rq), BlkStatus::from_raw(err));
        (*pdu).status = res;
        (*pdu).result = res2;
        let free = (*pdu).step(PollGate::end);
        __io_uring_cmd_do_in_task(cmd, task_done, IOU_F_TWQ_LAZY_WAKE);
        free
    };
    if free {
        bindings::rq_end_io_ret_RQ_END_IO_FREE
    } else {
        bindings::rq_end_io_ret_RQ_END_IO_NONE
    }
}

/// Completes a command in its submitter's task: unmaps (and copies back) its user
/// memory, then posts the CQE (C: `nvme_uring_task_cb`).
///
/// # Safety
///
/// Called by io_uring only, as the task work [`end_io`] queued for a live command.
unsafe extern "C" fn task_done(tw: TwReq, _token: TwToken) {
    let cmd = tw.req;
    // SAFETY: The command is live until completed below; `end_io` wrote its outcome
    // before queueing this work (which orders the writes before this read).
    unsafe {
        let pdu = (&raw mut (*cmd).pdu).cast::<CmdPdu>();
        let mut res = (*pdu).status;
        if !(*pdu).bio.is_null() {
            // Beyond C: data that cannot be copied back to the user fails the command.
            let r = bindings::blk_rq_unmap_user((*pdu).bio);
            if r != 0 && res >= 0 {
                res = r;
            }
        }
        __io_uring_cmd_done(cmd, res, (*pdu).result, IO_URING_F_COMPLETE_DEFER, true);
    }
}

/// `file_operations.uring_cmd_iopoll` for files whose commands run through
/// [`DiskView::execute_drv_uring`] (C: `nvme_ns_chr_uring_cmd_iopoll`).
///
/// # Safety
///
/// Called by io_uring only, for a command of such a file that was issued and is not yet
/// reaped (io_uring holds the ring's lock, so the command stays live for the call).
pub(in crate::abstractions) unsafe extern "C" fn iopoll(
    cmd: *mut bindings::io_uring_cmd,
    iob: *mut bindings::io_comp_batch,
    poll_flags: c_uint,
) -> c_int {
    // SAFETY: The command is live (safety requirements) and its private area a `CmdPdu`
    // (initialised when it was issued).
    let pdu = unsafe { &*(&raw mut (*cmd.cast::<RawCmd>()).pdu).cast::<CmdPdu>() };
    let may_poll = pdu.step(PollGate::enter);
    // Only dereferenced while the gate says the request is not freed.
    let rq = pdu.rq.load(Acquire);
    let ret = if may_poll && !rq.is_null() {
        // SAFETY: While this poller is counted and the request had not ended when it was
        // counted, the request is not freed (`end_io` leaves that to the last poller).
        unsafe { bindings::blk_rq_poll(rq, iob, poll_flags) }
    } else {
        0
    };
    if pdu.step(PollGate::leave) && !rq.is_null() {
        // SAFETY: The request ended while pollers held it (so it was executed and `rq`
        // is it) and this is the last of them: `end_io` returned `RQ_END_IO_NONE` and
        // nothing else refers to it.
        unsafe { bindings::blk_mq_free_request(rq) };
    }
    ret
}

#[kunit_tests(rust_nvme_io_uring)]
mod tests {
    use super::PollGate;

    #[test]
    fn end_without_poller_frees_at_once() {
        let (s, free) = PollGate::end(0);
        assert!(free);
        let (s, may_poll) = PollGate::enter(s);
        assert!(!may_poll);
        assert_eq!(PollGate::leave(s), (PollGate::ENDED, false));
    }

    #[test]
    fn end_under_poller_leaves_the_free_to_the_last_one() {
        let (s, a) = PollGate::enter(0);
        let (s, b) = PollGate::enter(s);
        assert!(a && b);
        let (s, free) = PollGate::end(s);
        assert!(!free);
        let (s, late) = PollGate::enter(s);
        assert!(!late);
        let (s, f1) = PollGate::leave(s);
        let (s, f2) = PollGate::leave(s);
        assert!(!f1 && !f2);
        let (s, f3) = PollGate::leave(s);
        assert!(f3);
        // Freed once: later pollers see an ended request and free nothing.
        let (s, may_poll) = PollGate::enter(s);
        assert!(!may_poll);
        assert_eq!(PollGate::leave(s), (PollGate::ENDED, false));
    }

    #[test]
    fn polls_before_the_end_free_nothing() {
        let (s, _) = PollGate::enter(0);
        assert_eq!(PollGate::leave(s), (0, false));
    }
}
