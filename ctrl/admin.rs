// SPDX-License-Identifier: GPL-2.0

//! The admin queue: synchronous admin commands (one at a time, completed by vector 0 or by
//! polling, always bounded by a timeout) and admin passthrough for the ioctls.
//!
//! C counterparts: `__nvme_submit_sync_cmd` over `nvme_mq_admin_ops`, `nvme_user_cmd`
//! with a NULL namespace.

use super::*;

/// The admin queue: one command at a time, completed by vector 0 or by polling.
#[pin_data]
pub(crate) struct AdminQueue {
    /// The admin submission and completion queues.
    pub(super) qp: Arc<QueuePair>,
    /// Held for a whole command; holds the next command identifier.
    #[pin]
    serial: Mutex<u16>,
    /// The completion of the command in flight, once it arrives.
    #[pin]
    done: SpinLockIrq<Option<Completion>>,
    /// `EXPECT_VALID | cid` of the command in flight, 0 when none.
    expect: Atomic<u32>,
    /// The controller, told about Asynchronous Event Request completions. A reference
    /// cycle broken when the controller drops its admin queue (every disable).
    ctrl: Arc<Ctrl>,
}

const EXPECT_VALID: u32 = 1 << 16;

impl AdminQueue {
    pub(super) fn new(qp: Arc<QueuePair>, ctrl: Arc<Ctrl>) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                qp,
                serial <- new_mutex!(0),
                done <- new_spinlock_irq!(None),
                expect: Atomic::new(0),
                ctrl,
            }),
            GFP_KERNEL,
        )
    }

    /// Consumes admin completions; records the one a waiter expects.
    pub(super) fn reap(&self) -> bool {
        self.qp.process_cq(|cqe| {
            if aen::is_aer_cid(cqe.cid) {
                self.ctrl.aer_completed(cqe);
            } else if self.expect.load(Relaxed) == EXPECT_VALID | u32::from(cqe.cid) {
                *self.done.lock() = Some(*cqe);
            }
        }) > 0
    }
}

/// Admin passthrough's hold on the controller: the device stays bound while it lives.
pub(crate) struct PassthruGate<'a> {
    ctrl: &'a Ctrl,
    _guard: kernel::sync::MutexGuard<'a, bool>,
}

impl PassthruGate<'_> {
    /// The bound device, for DMA buffers.
    pub(crate) fn dev(&self) -> &device::Device<device::Bound> {
        self.ctrl.bound_dev()
    }

    /// The controller memory page size.
    pub(crate) fn page_size(&self) -> usize {
        self.ctrl.page_size.load(Relaxed)
    }

    /// The effects of admin command `opcode` (C: `nvme_command_effects`).
    pub(crate) fn effects(&self, opcode: u8) -> u32 {
        self.ctrl
            .effects
            .lock()
            .as_ref()
            .map_or(0, |e| e.admin(opcode))
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
        let secs = c
            .params
            .io_timeout
            .saturating_mul(2)
            .saturating_add(c.params.admin_timeout);
        Frozen::new(disks, Delta::from_secs(i64::from(secs))).inspect_err(|_| {
            dev_warn!(
                c.dev(),
                "nvme{}: I/O did not drain within {} s; command not sent\n",
                c.instance,
                secs
            );
        })
    }

    /// Runs `cmd`, which must not overlap any I/O (C: `nvme_passthru_start` and `_end`
    /// with execution restrictions: Format NVM, Sanitize), with every disk's queue frozen
    /// around it; before I/O resumes each disk's namespace learns its LBA format (see
    /// [`Ctrl::refresh_formats`]).
    pub(crate) fn submit_exclusive(&self, cmd: Command, timeout_ms: u32) -> Result<PassthruDone> {
        let buf = IdBuf::new(self.dev())?;
        let frozen = self.freeze_io()?;
        let done = self.submit(cmd, timeout_ms);
        self.ctrl.refresh_formats(&frozen, &buf);
        drop(frozen);
        done
    }

    /// Runs `cmd` on the admin queue (see [`Self::submit`]), waiting for a reset in
    /// progress first (C queues it until the reset is done).
    pub(crate) fn admin(&self, cmd: Command, timeout_ms: u32) -> Result<PassthruDone> {
        self.ctrl.wait_for_reset();
        self.submit(cmd, timeout_ms)
    }

    /// Runs `cmd` on the admin queue, bounded by `timeout_ms` (0, or more than the admin
    /// timeout: the admin timeout).
    ///
    /// # Errors
    ///
    /// `ENODEV` without a working controller; `EINTR` when the command timed out (the
    /// controller is reset, as C does after an admin timeout).
    pub(crate) fn submit(&self, cmd: Command, timeout_ms: u32) -> Result<PassthruDone> {
        let c = self.ctrl;
        let admin = c.admin.lock().clone().ok_or(ENODEV)?;
        // The admin queue runs one command at a time, so a passthrough command holds up
        // the driver's own (aborts in the timeout handler among them): it gets at most
        // the admin timeout, a shorter one when asked.
        let max_ms = c.params.admin_timeout.saturating_mul(1000);
        let timeout_ms = match timeout_ms {
            0 => max_ms,
            t => t.min(max_ms),
        };
        match c.admin_submit(&admin, "passthrough", cmd, timeout_ms) {
            Ok(cqe) => Ok(PassthruDone {
                status: cqe.status,
                result: cqe.result,
            }),
            Err(e) if e == ETIMEDOUT => {
                let _ = c.schedule_reset();
                Err(EINTR)
            }
            Err(e) => Err(e),
        }
    }
}

impl Ctrl {
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
        if effects & effects::CCC != 0 && !self.caps_changed.xchg(true, Relaxed) {
            dev_info!(
                self.dev(),
                "nvme{}: controller capabilities changed, reset may be required to take effect.\n",
                self.instance
            );
        }
        if effects & (effects::NIC | effects::NCC) != 0 {
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
        let g = self.gate.lock();
        if !*g {
            return Err(ENODEV);
        }
        Ok(PassthruGate {
            ctrl: self,
            _guard: g,
        })
    }

    /// Submits an admin command and waits for it, bounded by `timeout_ms`; returns its
    /// completion whatever the status.
    ///
    /// # Errors
    ///
    /// `ETIMEDOUT` if no completion arrives in time, `ENODEV` if the controller is gone,
    /// fatal or not ready (both logged).
    pub(super) fn admin_submit(
        &self,
        admin: &AdminQueue,
        name: &str,
        mut cmd: Command,
        timeout_ms: u32,
    ) -> Result<Completion> {
        let mut next = admin.serial.lock();
        let cid = *next;
        *next = next.wrapping_add(1) % ADMIN_QUEUE_DEPTH;
        *admin.done.lock() = None;
        admin.expect.store(EXPECT_VALID | u32::from(cid), Relaxed);
        cmd.set_cid(cid);
        admin.qp.submit(&cmd, true)?;
        // The vector-0 handler normally records the completion; reaping here as well
        // covers a lost interrupt and the time before the handler is registered.
        let r = read_poll_timeout(
            || {
                admin.reap();
                if let Some(c) = admin.done.lock().take() {
                    return Ok(Some(c));
                }
                // A controller that is gone, fatal or not ready never answers: give up
                // at once.
                match self.csts().map(csts_problem) {
                    Ok(None) => Ok(None),
                    _ => Err(ENODEV),
                }
            },
            |c| c.is_some(),
            Delta::from_micros(POLL_INTERVAL_US),
            Delta::from_millis(i64::from(timeout_ms)),
        );
        admin.expect.store(0, Relaxed);
        match r {
            Ok(Some(c)) => Ok(c),
            Err(e) if e == ENODEV => {
                let why = self.csts().ok().and_then(csts_problem).unwrap_or("gone");
                dev_err!(
                    self.dev(),
                    "nvme{}: admin command {} (cid {}): controller {}\n",
                    self.instance,
                    name,
                    cid,
                    why
                );
                Err(ENODEV)
            }
            _ => {
                dev_err!(
                    self.dev(),
                    "nvme{}: admin command {} (cid {}) timed out\n",
                    self.instance,
                    name,
                    cid
                );
                Err(ETIMEDOUT)
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
    ) -> Result<Completion> {
        let timeout_ms = self.params.admin_timeout.saturating_mul(1000);
        let cqe = self.admin_submit(admin, name, cmd, timeout_ms)?;
        if let Some(s) = Status::from_cqe(cqe.status) {
            dev_err!(
                self.dev(),
                "nvme{}: admin command {} failed: {}\n",
                self.instance,
                name,
                s
            );
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
        self.admin_cmd(admin, op.name(), cmd)
    }
}
