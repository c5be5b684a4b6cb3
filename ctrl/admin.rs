// SPDX-License-Identifier: GPL-2.0

//! The admin queue: synchronous admin commands (several at a time, each in a slot of its
//! own, completed by vector 0 or by polling, always bounded by a timeout) and admin
//! passthrough for the ioctls.
//!
//! Commands do not wait for each other: a long passthrough command (a Format NVM of a
//! large namespace, with the caller's timeout) leaves the driver's own commands (aborts
//! from the timeout handler, event re-arming, scans) free to run beside it.
//!
//! C counterparts: `__nvme_submit_sync_cmd` over `nvme_mq_admin_ops`, `nvme_user_cmd`
//! with a NULL namespace.

use kernel::{
    device,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        new_spinlock_irq,
        Arc,
        SpinLockIrq, //
    },
    time::{
        delay::fsleep,
        Delta,
        Instant,
        Monotonic, //
    },
};

use super::{
    aen,
    csts_problem,
    Ctrl,
    Frozen,
    State,
    ADMIN_QUEUE_DEPTH,
    ADMIN_RECHECK_MS,
    POLL_INTERVAL_US, //
};
use crate::{
    abstractions::{
        device::BoundRef,
        wait::{
            new_wait_queue,
            WaitQueue, //
        },
    },
    diag::log::{
        ctrl_err,
        ctrl_info,
        ctrl_warn, //
    },
    hw::vectors::{
        InIrq,
        IrqNumber,
        IrqOwned, //
    },
    mq::PassthruDone,
    queue::{
        CqState,
        QueuePair, //
    },
    spec::cmd::{
        AdminOpcode,
        Command,
        Completion, //
    },
    spec::cmd_effects,
    spec::identify::IdBuf,
    spec::status::Status,
};

/// Synchronous admin commands outstanding at most: the SQ holds depth - 1 entries, of
/// which the Asynchronous Event Requests may take [`aen::MAX_AERS`].
const SLOTS: usize = (ADMIN_QUEUE_DEPTH as usize - 1) - aen::MAX_AERS as usize;

/// Memory the controller reads or writes for an admin command (data buffers, PRP
/// lists).
pub(crate) trait DmaMemory: Send + Sync {}

impl<T: Send + Sync + ?Sized> DmaMemory for T {}

/// A reference to an admin command's DMA memory, held by the command's slot from
/// submission until its completion arrives or the controller is disabled: the admin
/// queue, and with it every slot, is dropped only after CC.EN is clear (or bus mastering
/// is off), so a waiter that gives up (timeout, reset, removal) never frees memory the
/// controller may still write.
pub(crate) type DmaHold = Arc<dyn DmaMemory>;

/// Whom an admin command is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Origin {
    /// The driver itself (bring-up, scans, events, aborts, teardown).
    Driver,
    /// A user's passthrough command, which removal cancels (`EINTR`).
    User,
}

/// What [`AdminQueue::take`] does with a slot whose completion has not come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IfPending {
    /// Leaves it: the waiter looks again.
    Keep,
    /// Abandons it: the waiter gave up, the slot keeps the command's memory until the
    /// completion comes or the queue goes.
    Abandon,
}

/// A command identifier's slot (the cid is the slot's index).
enum Slot {
    Free,
    /// A command is out; its waiter polls. `_hold` is dropped with the slot's state.
    Waiting {
        _hold: Option<DmaHold>,
        /// The command's opcode (for fault injection).
        opcode: u8,
    },
    /// Its completion arrived, for the waiter to take.
    Done(Completion),
    /// Its waiter gave up (timeout, reset); freed when the completion comes after all,
    /// so that a late completion never reaches a newer command with the same cid, nor
    /// memory that was freed.
    Abandoned {
        _hold: Option<DmaHold>,
    },
    /// Free, but still holding the memory of an abandoned command whose completion came
    /// in interrupt context, where DMA memory cannot be freed (`dma_free_coherent` wants
    /// interrupts on): released by the next user of the slot, outside the slot lock, or
    /// with the queue.
    Stale {
        _hold: Option<DmaHold>,
    },
    /// An Abort of I/O command `cid` on queue `qid` that nobody waits for (C:
    /// `abort_endio`): its completion is logged and frees the slot.
    Abort {
        qid: u16,
        cid: u16,
    },
}

impl Slot {
    /// Whether a new command may take the slot.
    fn is_free(&self) -> bool {
        matches!(self, Slot::Free | Slot::Stale { .. })
    }
}

/// The admin queue of one bring-up.
///
/// # Invariants
///
/// At most [`SLOTS`] commands from [`Ctrl::admin_submit`] are out at once, one per slot.
#[pin_data]
pub(crate) struct AdminQueue {
    /// The admin submission and completion queues.
    pub(super) qp: Arc<QueuePair>,
    /// The CQ's consumer state: vector 0's handler reaps without a lock, command
    /// waiters with the vector disabled.
    #[pin]
    cq: IrqOwned<CqState>,
    /// What became of each command identifier.
    #[pin]
    slots: SpinLockIrq<[Slot; SLOTS]>,
    /// Where command waiters sleep: woken when a completion is recorded or a slot frees
    /// up (also from vector 0's handler), when waiters are told to give up, and when the
    /// queue is disabled.
    #[pin]
    done: WaitQueue,
    /// Removal began: passthrough commands stop waiting (their ioctls return `EINTR`)
    /// so that removal, which waits for them, is not held up by a long one.
    users_cancelled: Atomic<bool>,
    /// The controller, told about Asynchronous Event Request completions. A reference
    /// cycle broken when the controller drops its admin queue (every disable).
    ctrl: Arc<Ctrl>,
}

impl AdminQueue {
    pub(super) fn new(qp: Arc<QueuePair>, ctrl: Arc<Ctrl>) -> Result<Arc<Self>> {
        let state = qp.new_cq_state();
        Arc::pin_init(
            pin_init!(Self {
                qp,
                cq <- IrqOwned::new(state),
                slots <- new_spinlock_irq!([const { Slot::Free }; SLOTS]),
                done <- new_wait_queue!(),
                users_cancelled: Atomic::new(false),
                ctrl,
            }),
            GFP_KERNEL,
        )
    }

    /// Consumes admin completions, from a context that may sleep; records each for its
    /// waiter.
    pub(super) fn reap(&self) -> bool {
        self.cq
            .with_disabled(|cq| self.qp.process_cq(cq, |cqe| self.complete(cqe)))
            .is_some_and(|n| n > 0)
    }

    /// Stops the admin queue's doorbells before the controller is disabled: a command
    /// submitted from here on fails with `ENODEV`, and none is announced to a controller
    /// whose admin queue no longer exists (C: `nvme_quiesce_admin_queue` in
    /// `nvme_dev_disable`). Waiters keep waiting until the disable is done.
    pub(super) fn stop_doorbells(&self) {
        self.cq.with_disabled(|cq| self.qp.stop_doorbells(cq));
    }

    /// [`Self::reap`] from the handler of vector 0: no lock, nothing disabled.
    pub(super) fn reap_irq(&self, irq: &InIrq) -> bool {
        self.cq
            .with_handler(irq, |cq| self.qp.process_cq(cq, |cqe| self.complete(cqe)))
            .is_some_and(|n| n > 0)
    }

    /// Hands the CQ to the handler of `irq` (`None`: to none) before that handler is
    /// registered. May sleep.
    pub(super) fn bind_irq(&self, irq: Option<IrqNumber>) {
        self.cq.bind(irq);
    }

    /// Records an admin completion for its waiter.
    fn complete(&self, cqe: &Completion) {
        {
            if aen::is_aer_cid(cqe.cid) {
                self.ctrl.aer_completed(cqe);
                return;
            }
            let mut slots = self.slots.lock();
            if let Some(s) = slots.get_mut(usize::from(cqe.cid)) {
                *s = match core::mem::replace(s, Slot::Free) {
                    // The controller is done with the command's memory.
                    Slot::Waiting { opcode, .. } => {
                        // C: `nvme_should_fail` on the admin queue's requests.
                        let mut cqe = *cqe;
                        if let Some(s) = self.ctrl.fault.as_ref().and_then(|f| f.inject(opcode)) {
                            cqe.status = s;
                        }
                        Slot::Done(cqe)
                    }
                    Slot::Abandoned { _hold } => Slot::Stale { _hold },
                    Slot::Abort { qid, cid } => {
                        // Dword 0 bit 0 set: the command was not aborted.
                        let what = if cqe.result & 1 == 0 {
                            "aborted"
                        } else {
                            "not aborted"
                        };
                        ctrl_warn!(
                            self.ctrl.instance,
                            "Abort of tag {} QID {}: status {:#x}, {}\n",
                            cid,
                            qid,
                            cqe.status >> 1,
                            what
                        );
                        Slot::Free
                    }
                    // A completion nobody sent: the controller's error, ignored.
                    other => other,
                };
            }
        }
        self.done.wake_all();
    }

    /// Sends an Abort of I/O command `cid` on queue `qid` without waiting for it (C:
    /// `nvme_timeout` with `blk_execute_rq_nowait`); its completion is logged.
    ///
    /// # Errors
    ///
    /// `EBUSY` when no slot is free, `ENODEV` when the queue no longer takes commands.
    pub(super) fn submit_abort(&self, qid: u16, cid: u16) -> Result {
        let stale;
        let slot = {
            let mut slots = self.slots.lock();
            let (i, s) = slots
                .iter_mut()
                .enumerate()
                .find(|(_, s)| s.is_free())
                .ok_or(EBUSY)?;
            stale = core::mem::replace(s, Slot::Abort { qid, cid });
            i as u16
        };
        // Outside the lock (interrupts on): may free an abandoned command's memory.
        drop(stale);
        let mut cmd = Command::abort(qid, cid);
        cmd.set_cid(slot);
        self.qp.submit(&cmd, true).inspect_err(|_| self.free(slot))
    }

    /// Frees the slot of a command that was never sent (no completion will come).
    fn free(&self, cid: u16) {
        if let Some(s) = self.slots.lock().get_mut(usize::from(cid)) {
            *s = Slot::Free;
        }
        self.done.wake_all();
    }

    /// Makes passthrough commands waiting on this queue give up (removal).
    pub(super) fn cancel_users(&self) {
        self.users_cancelled.store(true, Relaxed);
        self.done.wake_all();
    }

    /// Wakes the command waiters to look again (the queue was disabled).
    pub(super) fn wake_waiters(&self) {
        self.done.wake_all();
    }

    /// Whether a slot is free (for a waiter: takes nothing, frees nothing).
    fn has_free_slot(&self) -> bool {
        self.slots.lock().iter().any(Slot::is_free)
    }

    /// Whether the completion of `cid` arrived (for a waiter: takes nothing).
    fn is_done(&self, cid: u16) -> bool {
        matches!(self.slots.lock().get(usize::from(cid)), Some(Slot::Done(_)))
    }

    /// Takes a free slot as [`Self::alloc`] does, sleeping until one frees up for at
    /// most `timeout`.
    fn alloc_wait(&self, hold: &Option<DmaHold>, opcode: u8, timeout: Delta) -> Option<u16> {
        let start = Instant::<Monotonic>::now();
        loop {
            if let Some(cid) = self.alloc(hold, opcode) {
                return Some(cid);
            }
            let left = timeout - start.elapsed();
            if left <= Delta::ZERO {
                return None;
            }
            // Another waiter may take the slot first: then round again.
            let _ = self
                .done
                .wait_timeout(left, || self.has_free_slot().then_some(()));
        }
    }

    /// Takes a free slot for a command using `hold`: its index is the command
    /// identifier.
    fn alloc(&self, hold: &Option<DmaHold>, opcode: u8) -> Option<u16> {
        let stale;
        let cid = {
            let mut slots = self.slots.lock();
            let (i, s) = slots.iter_mut().enumerate().find(|(_, s)| s.is_free())?;
            stale = core::mem::replace(
                s,
                Slot::Waiting {
                    _hold: hold.clone(),
                    opcode,
                },
            );
            i as u16
        };
        // Outside the lock (interrupts on): may free an abandoned command's memory.
        drop(stale);
        Some(cid)
    }

    /// The completion of `cid`, once it arrived (the slot is free again then); else the
    /// slot stays as it is or is abandoned, as `if_pending` says.
    fn take(&self, cid: u16, if_pending: IfPending) -> Option<Completion> {
        let mut slots = self.slots.lock();
        let s = slots.get_mut(usize::from(cid))?;
        match core::mem::replace(s, Slot::Free) {
            Slot::Done(c) => {
                drop(slots);
                // The slot is free: a command may be waiting for one.
                self.done.wake_all();
                Some(c)
            }
            // The slot keeps the memory until the completion comes, or the queue goes.
            Slot::Waiting { _hold: hold, .. } if if_pending == IfPending::Abandon => {
                *s = Slot::Abandoned { _hold: hold };
                None
            }
            other => {
                *s = other;
                None
            }
        }
    }
}

/// Admin passthrough's hold on the controller: the device stays bound while it lives.
/// Several may exist at once; removal waits for the last.
pub(crate) struct PassthruGate<'a> {
    ctrl: &'a Ctrl,
    /// The device as bound, for DMA buffers.
    bound: BoundRef<'a>,
}

impl Drop for PassthruGate<'_> {
    fn drop(&mut self) {
        self.ctrl.users.leave();
    }
}

impl PassthruGate<'_> {
    /// The bound device, for DMA buffers.
    pub(crate) fn dev(&self) -> &device::Device<device::Bound> {
        &self.bound
    }

    /// The controller memory page size.
    pub(crate) fn page_size(&self) -> usize {
        self.ctrl.facts.page_size()
    }

    /// The effects of admin command `opcode` (C: `nvme_command_effects`).
    pub(crate) fn effects(&self, opcode: u8) -> u32 {
        self.ctrl.facts.effects().map_or(0, |e| e.admin(opcode))
    }

    /// Freezes I/O on every disk of the controller, for a command that must not overlap
    /// any (C: `nvme_passthru_start` with execution restrictions), after a reset in
    /// progress. Requests in flight get their timeouts and the reset that may follow.
    ///
    /// # Errors
    ///
    /// `EBUSY` (logged) when I/O did not drain within twice the I/O timeout plus the
    /// admin timeout.
    pub(crate) fn freeze_io(&self) -> Result<Frozen> {
        let c = self.ctrl;
        c.wait_for_reset();
        let mut disks = KVec::new();
        for d in c.inner.lock().disks.iter() {
            disks.push(d.get(), GFP_KERNEL)?;
        }
        let ms = c
            .diag
            .io_timeout_ms
            .load(Relaxed)
            .saturating_mul(2)
            .saturating_add(c.admin_timeout_ms());
        Frozen::new(disks, Delta::from_millis(i64::from(ms))).inspect_err(|_| {
            ctrl_warn!(
                c.instance,
                "I/O did not drain within {} ms; command not sent\n",
                ms
            );
        })
    }

    /// Runs `cmd`, which must not overlap any I/O (C: `nvme_passthru_start` and `_end`
    /// with execution restrictions: Format NVM, Sanitize), with every disk's queue frozen
    /// around it; before I/O resumes each disk's namespace learns its LBA format (see
    /// [`Ctrl::refresh_formats`]).
    pub(crate) fn submit_exclusive(
        &self,
        cmd: Command,
        timeout_ms: u32,
        hold: Option<DmaHold>,
    ) -> Result<PassthruDone> {
        let buf = IdBuf::new(self.dev())?;
        let frozen = self.freeze_io()?;
        let done = self.submit(cmd, timeout_ms, hold);
        self.ctrl.refresh_formats(&frozen, &buf);
        drop(frozen);
        done
    }

    /// Runs `cmd` on the admin queue (see [`Self::submit`]), waiting for a reset in
    /// progress first (C queues it until the reset is done).
    pub(crate) fn admin(
        &self,
        cmd: Command,
        timeout_ms: u32,
        hold: Option<DmaHold>,
    ) -> Result<PassthruDone> {
        self.ctrl.wait_for_reset();
        self.submit(cmd, timeout_ms, hold)
    }

    /// Runs `cmd` on the admin queue, bounded by `timeout_ms` (0: the admin timeout).
    ///
    /// # Errors
    ///
    /// `ENODEV` without a working controller; `EINTR` when the command timed out (the
    /// controller is reset, as C does after an admin timeout) or a reset cancelled it.
    pub(crate) fn submit(
        &self,
        cmd: Command,
        timeout_ms: u32,
        hold: Option<DmaHold>,
    ) -> Result<PassthruDone> {
        let c = self.ctrl;
        let admin = c.admin.lock().clone().ok_or(ENODEV)?;
        // As C: the caller's timeout, or the admin timeout.
        let timeout_ms = match timeout_ms {
            0 => c.admin_timeout_ms(),
            t => t,
        };
        match c.admin_submit(&admin, "passthrough", cmd, timeout_ms, Origin::User, hold) {
            Ok(cqe) => Ok(PassthruDone {
                status: c.admin_status(&cmd, cqe.status),
                result: u64::from(cqe.result) | u64::from(cqe.dw1) << 32,
            }),
            Err(e) if e == ETIMEDOUT => {
                let _ = c.schedule_reset();
                Err(EINTR)
            }
            // Disabled under it by a reset, which drops what the queues held.
            Err(e) if e == ENODEV && !admin.qp.is_live() && c.state() != State::Dead => Err(EINTR),
            Err(e) => Err(e),
        }
    }
}

impl Ctrl {
    /// The admin command timeout in ms (`admin_timeout`, which sysfs may change).
    pub(crate) fn admin_timeout_ms(&self) -> u32 {
        self.diag.admin_timeout_ms.load(Relaxed)
    }

    /// Logs and counts the error status `status` of admin command `cmd` as C does
    /// (`crate::diag::errors`); returns `status`.
    fn admin_status(&self, cmd: &Command, status: u16) -> u16 {
        if Status::from_cqe(status).is_some() {
            self.diag
                .admin_failed(format_args!("nvme{}", self.instance), cmd, status);
        }
        status
    }

    /// Waits for a reset in progress to finish.
    fn wait_for_reset(&self) {
        if matches!(self.state(), State::Resetting | State::Connecting) {
            self.flush_reset_work();
        }
    }

    /// What follows a passthrough command with `effects` (C: `nvme_passthru_end`): a
    /// note when controller capabilities changed, and a namespace rescan, finished
    /// before the ioctl returns, when namespaces or their capabilities changed.
    pub(crate) fn passthru_end(&self, effects: u32) {
        if effects & cmd_effects::CCC != 0 && self.facts.note_caps_changed() {
            ctrl_info!(
                self.instance,
                "controller capabilities changed, reset may be required to take effect.\n"
            );
        }
        if effects & (cmd_effects::NIC | cmd_effects::NCC) != 0 {
            self.queue_scan();
            self.flush_scan_work();
        }
    }

    /// Admin passthrough's hold on the device (C: the admin queue's usage reference).
    ///
    /// # Errors
    ///
    /// `ENODEV` once removal has begun.
    pub(crate) fn passthru_gate(&self) -> Result<PassthruGate<'_>> {
        let bound = self.bound_dev()?;
        if !self.users.enter() {
            return Err(ENODEV);
        }
        Ok(PassthruGate { ctrl: self, bound })
    }

    /// Lets no new admin passthrough in and waits for those in progress, which the
    /// controller's admin queue is told to stop waiting for (removal).
    pub(super) fn close_gate(&self) {
        if let Some(a) = self.admin.lock().clone() {
            a.cancel_users();
        }
        self.users.close_and_wait();
    }

    /// Submits an admin command and waits for it, bounded by `timeout_ms`; returns its
    /// completion whatever the status.
    ///
    /// # Errors
    ///
    /// `ETIMEDOUT` if no slot frees up or no completion arrives in time; `ENODEV` if the
    /// controller is gone, fatal or not ready, or was disabled (a reset) meanwhile (both
    /// logged); `EINTR` for a user's (passthrough) command once removal began.
    pub(super) fn admin_submit(
        &self,
        admin: &AdminQueue,
        name: &str,
        mut cmd: Command,
        timeout_ms: u32,
        origin: Origin,
        hold: Option<DmaHold>,
    ) -> Result<Completion> {
        let timeout = Delta::from_millis(i64::from(timeout_ms));
        // All slots busy is rare (the driver sends few commands at once); wait for one.
        let Some(cid) = admin.alloc_wait(&hold, cmd.opcode(), timeout) else {
            ctrl_err!(
                self.instance,
                "admin command {}: no free command slot\n",
                name
            );
            return Err(ETIMEDOUT);
        };
        cmd.set_cid(cid);
        if let Err(e) = admin.qp.submit(&cmd, true) {
            // Never sent: no completion will come for it.
            admin.free(cid);
            return Err(e);
        }
        let r = self.admin_wait(admin, cid, origin, timeout);
        let r = match r {
            Ok(c) => return Ok(c),
            // The completion may have come with the last look.
            Err(e) => admin.take(cid, IfPending::Abandon).ok_or(e),
        };
        match r {
            Ok(c) => Ok(c),
            Err(e) if e == EINTR => Err(e),
            Err(e) if e == ENODEV => {
                let why = match self.csts().ok().and_then(csts_problem) {
                    Some(why) => why,
                    None if !admin.qp.is_live() => "disabled (reset)",
                    None => "gone",
                };
                ctrl_err!(
                    self.instance,
                    "admin command {} (cid {}): controller {}\n",
                    name,
                    cid,
                    why
                );
                Err(ENODEV)
            }
            Err(_) => {
                ctrl_err!(
                    self.instance,
                    "admin command {} (cid {}) timed out after {} ms\n",
                    name,
                    cid,
                    timeout_ms
                );
                Err(ETIMEDOUT)
            }
        }
    }

    /// Waits for the completion of `cid`, for at most `timeout`: asleep until vector 0's
    /// handler records it (C: `blk_execute_rq`), looking again every
    /// [`ADMIN_RECHECK_MS`] for a lost interrupt or a controller that went away; polling
    /// every [`POLL_INTERVAL_US`] while the admin queue has no interrupt yet (bring-up).
    ///
    /// # Errors
    ///
    /// `ETIMEDOUT`; `ENODEV` when the controller is gone, fatal, not ready or the queue
    /// disabled (a reset); `EINTR` for a user's command once removal began.
    fn admin_wait(
        &self,
        admin: &AdminQueue,
        cid: u16,
        origin: Origin,
        timeout: Delta,
    ) -> Result<Completion> {
        let start = Instant::<Monotonic>::now();
        loop {
            // Vector 0's handler normally records the completion; reaping here as well
            // covers a lost interrupt and the time before the handler is bound.
            admin.reap();
            if let Some(c) = admin.take(cid, IfPending::Keep) {
                return Ok(c);
            }
            // A controller that is gone, fatal, not ready or disabled since (its queues
            // dropped the command) never answers: give up at once.
            if !admin.qp.is_live() || !matches!(self.csts().map(csts_problem), Ok(None)) {
                return Err(ENODEV);
            }
            if origin == Origin::User && admin.users_cancelled.load(Relaxed) {
                return Err(EINTR);
            }
            let left = timeout - start.elapsed();
            if left <= Delta::ZERO {
                return Err(ETIMEDOUT);
            }
            if admin.cq.is_bound() {
                let recheck = Delta::from_millis(ADMIN_RECHECK_MS);
                let _ = admin
                    .done
                    .wait_timeout(left.min(recheck), || admin.is_done(cid).then_some(()));
            } else {
                fsleep(left.min(Delta::from_micros(POLL_INTERVAL_US)));
            }
        }
    }

    /// Submits an admin command and waits for it, bounded by the admin timeout.
    ///
    /// # Errors
    ///
    /// As [`Self::admin_submit`]; `EIO`/`EINVAL` for an error status (logged with the
    /// command's name and the decoded status).
    pub(super) fn admin_cmd(
        &self,
        admin: &AdminQueue,
        name: &str,
        cmd: Command,
        hold: Option<DmaHold>,
    ) -> Result<Completion> {
        let timeout_ms = self.admin_timeout_ms();
        let cqe = self
            .admin_submit(admin, name, cmd, timeout_ms, Origin::Driver, hold)
            .inspect_err(|e| {
                // As C after an admin timeout: a controller that stopped answering is
                // reset (when live; bring-up and teardown give up on their own).
                if *e == ETIMEDOUT && self.schedule_reset().is_ok() {
                    ctrl_warn!(
                        self.instance,
                        "admin command {} timed out; resetting controller\n",
                        name
                    );
                }
            })?;
        if let Some(s) = Status::from_cqe(cqe.status) {
            if self.diag.passthru_err_log.load(Relaxed) {
                // C's line instead (its own commands are passthrough commands there).
                self.admin_status(&cmd, cqe.status);
                return Err(s.to_error());
            }
            ctrl_err!(self.instance, "admin command {} failed: {}\n", name, s);
            return Err(s.to_error());
        }
        Ok(cqe)
    }

    pub(super) fn admin(
        &self,
        admin: &AdminQueue,
        op: AdminOpcode,
        cmd: Command,
    ) -> Result<Completion> {
        self.admin_cmd(admin, op.name(), cmd, None)
    }

    /// [`Self::admin`] for a command that transfers data through `buf`, which its slot
    /// holds until the controller is done with it (see [`DmaHold`]).
    pub(super) fn admin_data(
        &self,
        admin: &AdminQueue,
        op: AdminOpcode,
        cmd: Command,
        buf: &Arc<IdBuf>,
    ) -> Result<Completion> {
        let hold: DmaHold = buf.clone();
        self.admin_cmd(admin, op.name(), cmd, Some(hold))
    }
}
