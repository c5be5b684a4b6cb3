// SPDX-License-Identifier: GPL-2.0

//! I/O timeouts: the blk-mq timeout handler's escalation (C: `nvme_timeout`), for every
//! controller state.
//!
//! - PCI error recovery in progress: keep waiting, it resets the controller.
//! - A controller that is fatal, not ready or gone: reset.
//! - The command is in its CQ after all (a missed interrupt): complete it.
//! - Connecting or deleting (nothing will reset the controller): disable it and fail the
//!   I/O, so that probe, removal and rescans always end.
//! - Resetting: keep waiting, the reset cancels the command.
//! - Live: the first timeout sends an Abort (asynchronously, as C: the handler never
//!   waits for the admin queue) and waits once more; the next one resets.
//!
//! A reset is done here as in C: the controller is disabled at once (which cancels this
//! request, counted against its retries) and the reset work brings it back. All of this
//! takes only the `hw` lock, never `inner`, which the reset work, a scan or removal may
//! hold while waiting for the request that timed out.

use super::*;

/// What the blk-mq timeout handler should tell the block layer.
pub(crate) enum TimeoutAction {
    /// The request was completed (found in the CQ, or cancelled by a disable).
    Done,
    /// Keep waiting: an Abort or a reset will complete it.
    ResetTimer,
}

/// A timed-out request, as the blk-mq layer shows it to the controller.
pub(crate) trait TimedOut {
    /// Reaps the request's CQ (a missed interrupt); returns whether the request is no
    /// longer in flight (C: `blk_mq_rq_state(req) != MQ_RQ_IN_FLIGHT`).
    fn poll_done(&self) -> bool;
    /// Records that an Abort was sent; returns whether one had been sent before.
    fn mark_aborted(&self) -> bool;
}

impl Ctrl {
    /// The blk-mq timeout handler's decision for I/O command `cid` on `qp`
    /// (C: `nvme_timeout`).
    pub(crate) fn io_timeout(&self, qp: &QueuePair, cid: u16, rq: &dyn TimedOut) -> TimeoutAction {
        if crate::abstractions::pci::channel_offline(&self.pdev) {
            return TimeoutAction::ResetTimer;
        }
        let why = match self.csts() {
            Ok(c) => csts_problem(c),
            Err(_) => Some("gone"),
        };
        // Only a live, enabled controller can have a usable CQ to poll.
        if why.is_none() && rq.poll_done() {
            dev_warn!(
                self.dev(),
                "nvme{}: I/O tag {} QID {} timeout, completion polled\n",
                self.instance,
                cid,
                qp.qid
            );
            return TimeoutAction::Done;
        }
        match self.state() {
            State::Connecting | State::Deleting | State::Dead => {
                dev_warn!(
                    self.dev(),
                    "nvme{}: I/O tag {} QID {} timeout, disable controller\n",
                    self.instance,
                    cid,
                    qp.qid
                );
                // Nothing will reset the controller: fail its I/O (the bring-up in
                // progress fails too and marks it dead; removal goes on).
                if self.state() == State::Connecting {
                    self.change_state(State::Dead);
                }
                let shutdown = self.state() != State::Dead;
                self.fail_io(shutdown);
                return TimeoutAction::Done;
            }
            State::Resetting | State::New => return TimeoutAction::ResetTimer,
            State::Live => {}
        }
        if let Some(why) = why {
            dev_err!(
                self.dev(),
                "nvme{}: I/O tag {} QID {} timeout, controller {}; resetting\n",
                self.instance,
                cid,
                qp.qid,
                why
            );
            return self.reset_from_timeout();
        }
        if rq.mark_aborted() {
            dev_err!(
                self.dev(),
                "nvme{}: I/O tag {} QID {} timeout after abort; resetting controller\n",
                self.instance,
                cid,
                qp.qid
            );
            return self.reset_from_timeout();
        }
        dev_warn!(
            self.dev(),
            "nvme{}: I/O tag {} QID {} timeout, aborting\n",
            self.instance,
            cid,
            qp.qid
        );
        let sent = match self.admin.lock().clone() {
            Some(a) => a.submit_abort(qp.qid, cid),
            None => Err(ENODEV),
        };
        if sent.is_err() {
            // No admin slot or queue: the next timeout resets (C: `abort_limit`).
            dev_warn!(
                self.dev(),
                "nvme{}: abort of tag {} QID {} not sent\n",
                self.instance,
                cid,
                qp.qid
            );
        }
        TimeoutAction::ResetTimer
    }

    /// Resets from the timeout handler (C: `nvme_timeout`'s `disable:`): disables the
    /// controller now, cancelling this request with the others, and lets the reset work
    /// bring it back.
    fn reset_from_timeout(&self) -> TimeoutAction {
        if !self.change_state(State::Resetting) {
            // Already resetting (its disable cancels the request) or terminal.
            if matches!(self.state(), State::Deleting | State::Dead) {
                self.fail_io(false);
                return TimeoutAction::Done;
            }
            return TimeoutAction::ResetTimer;
        }
        self.disable_io(false);
        let _ = workqueue::system_long().enqueue::<_, 0>(self.arc());
        TimeoutAction::Done
    }
}
