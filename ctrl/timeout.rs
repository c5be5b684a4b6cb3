// SPDX-License-Identifier: GPL-2.0

//! I/O timeouts: the blk-mq timeout handler's escalation (C: `nvme_timeout`).
//!
//! A timed-out command is first looked for in its completion queue (a missed interrupt);
//! a controller that is fatal, not ready or gone is reset; otherwise the command is
//! aborted once, and a second timeout of the same command resets the controller. The
//! `recovery` lock keeps this from racing with the reset path's disabling of the queues.

use super::*;

/// What the blk-mq timeout handler should tell the block layer.
pub(crate) enum TimeoutAction {
    /// The request was completed (it was found in the CQ).
    Done,
    /// Keep waiting: an Abort or a reset will complete it.
    ResetTimer,
}

impl Ctrl {
    /// The blk-mq timeout handler's decision for I/O command `cid` on `qp`
    /// (C: `nvme_timeout`). `poll` reaps the CQ and says whether the request completed.
    pub(crate) fn io_timeout(
        &self,
        qp: &QueuePair,
        cid: u16,
        first: bool,
        poll: &dyn Fn() -> bool,
    ) -> TimeoutAction {
        let _guard = self.recovery.lock();
        if self.state() != State::Live {
            // A reset (or removal) is in progress and will cancel the request.
            return TimeoutAction::ResetTimer;
        }
        if poll() {
            dev_warn!(
                self.dev(),
                "nvme{}: I/O tag {} QID {} completion polled (interrupt missed)\n",
                self.instance,
                cid,
                qp.qid
            );
            return TimeoutAction::Done;
        }
        let why = match self.csts() {
            Ok(c) => csts_problem(c),
            Err(_) => Some("gone"),
        };
        if let Some(why) = why {
            dev_err!(
                self.dev(),
                "nvme{}: I/O tag {} QID {} timeout, controller {}; resetting\n",
                self.instance,
                cid,
                qp.qid,
                why
            );
            let _ = self.schedule_reset();
            return TimeoutAction::ResetTimer;
        }
        if !first {
            dev_err!(
                self.dev(),
                "nvme{}: I/O tag {} QID {} timeout after abort; resetting controller\n",
                self.instance,
                cid,
                qp.qid
            );
            let _ = self.schedule_reset();
            return TimeoutAction::ResetTimer;
        }
        dev_warn!(
            self.dev(),
            "nvme{}: I/O tag {} QID {} timeout, aborting\n",
            self.instance,
            cid,
            qp.qid
        );
        let admin = self.admin.lock().clone();
        let aborted = match admin {
            Some(a) => self.admin(&a, AdminOpcode::Abort, Command::abort(qp.qid, cid)),
            None => Err(ENODEV),
        };
        match aborted {
            // Abort dword 0 bit 0 set: the command was not aborted; the second timeout
            // will reset.
            Ok(cqe) => {
                let what = if cqe.result & 1 == 0 {
                    "aborted"
                } else {
                    "not aborted"
                };
                dev_info!(
                    self.dev(),
                    "nvme{}: abort of tag {} QID {}: {}\n",
                    self.instance,
                    cid,
                    qp.qid,
                    what
                );
            }
            Err(_) => {
                dev_err!(
                    self.dev(),
                    "nvme{}: abort of tag {} QID {} failed; resetting controller\n",
                    self.instance,
                    cid,
                    qp.qid
                );
                let _ = self.schedule_reset();
            }
        }
        TimeoutAction::ResetTimer
    }
}
