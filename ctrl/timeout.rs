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

use kernel::prelude::*;

use super::{
    csts_problem,
    teardown::Teardown,
    Ctrl,
    State, //
};
use crate::{
    mq::{
        IoController,
        TimedOut,
        TimeoutAction, //
    },
    queue::QueuePair, //
};

use crate::diag::log::{
    ctrl_err,
    ctrl_warn, //
};

/// The timeout handler's next step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Keep waiting: error recovery, a reset or an Abort will end the request.
    Wait,
    /// The request is complete after all (its interrupt was lost).
    Completed,
    /// Nothing will reset the controller: disable it and fail its I/O.
    Fail,
    /// Send an Abort and wait once more.
    Abort,
    /// Disable the controller now and reset it.
    Reset,
}

/// The escalation of C's `nvme_timeout` as a pure function of what the handler sees:
/// the controller `state`, whether PCI error recovery has the channel `offline`, whether
/// CSTS shows a `problem` (fatal, not ready, gone), whether the request is `done` (found
/// in its CQ) and whether this attempt was `aborted` already.
pub(crate) fn timeout_step(
    state: State,
    offline: bool,
    problem: bool,
    done: bool,
    aborted: bool,
) -> Step {
    if offline {
        return Step::Wait;
    }
    // Only a working controller's CQ says anything.
    if !problem && done {
        return Step::Completed;
    }
    match state {
        State::Connecting | State::Deleting | State::Dead => Step::Fail,
        State::Resetting | State::New => Step::Wait,
        State::Live if problem || aborted => Step::Reset,
        State::Live => Step::Abort,
    }
}

impl Ctrl {
    /// The blk-mq timeout handler's decision for I/O command `cid` on `qp`
    /// (C: `nvme_timeout`).
    fn timeout_io(&self, qp: &QueuePair, cid: u16, rq: &dyn TimedOut) -> TimeoutAction {
        let offline = crate::abstractions::pci::channel_offline(&self.pdev);
        let why = match self.csts() {
            Ok(c) => csts_problem(c),
            Err(_) => Some("gone"),
        };
        let done = !offline && why.is_none() && rq.poll_done();
        let (qid, instance) = (qp.qid, self.instance);
        match timeout_step(self.state(), offline, why.is_some(), done, rq.aborted()) {
            Step::Wait => TimeoutAction::ResetTimer,
            Step::Completed => {
                ctrl_warn!(
                    instance,
                    "I/O tag {} QID {} timeout, completion polled\n",
                    cid,
                    qid
                );
                TimeoutAction::Done
            }
            Step::Fail => {
                ctrl_warn!(
                    instance,
                    "I/O tag {} QID {} timeout, disable controller\n",
                    cid,
                    qid
                );
                // The bring-up in progress fails too and marks the controller dead;
                // removal goes on with the controller disabled.
                if self.state() == State::Connecting {
                    self.change_state(State::Dead);
                }
                // Removal (not dead): shut down as removal would have.
                let how = if self.state() == State::Dead {
                    Teardown::Disable
                } else {
                    Teardown::Shutdown
                };
                self.fail_io(how);
                TimeoutAction::Done
            }
            Step::Reset => {
                match why {
                    Some(why) => ctrl_err!(
                        instance,
                        "I/O tag {} QID {} timeout, controller {}; resetting\n",
                        cid,
                        qid,
                        why
                    ),
                    None => ctrl_err!(
                        instance,
                        "I/O tag {} QID {} timeout after abort; resetting controller\n",
                        cid,
                        qid
                    ),
                }
                self.reset_from_timeout()
            }
            Step::Abort => {
                ctrl_warn!(instance, "I/O tag {} QID {} timeout, aborting\n", cid, qid);
                rq.set_aborted();
                let sent = match self.admin.lock().clone() {
                    Some(a) => a.submit_abort(qid, cid),
                    None => Err(ENODEV),
                };
                if sent.is_err() {
                    // No admin slot or queue: the next timeout resets (C: `abort_limit`).
                    ctrl_warn!(instance, "abort of tag {} QID {} not sent\n", cid, qid);
                }
                TimeoutAction::ResetTimer
            }
        }
    }

    /// Resets from the timeout handler (C: `nvme_timeout`'s `disable:`): disables the
    /// controller now, cancelling this request with the others, and lets the reset work
    /// bring it back.
    fn reset_from_timeout(&self) -> TimeoutAction {
        if !self.change_state(State::Resetting) {
            // Already resetting (its disable cancels the request) or terminal.
            if matches!(self.state(), State::Deleting | State::Dead) {
                self.fail_io(Teardown::Disable);
                return TimeoutAction::Done;
            }
            return TimeoutAction::ResetTimer;
        }
        self.disable_io(Teardown::Disable);
        self.queue_work::<0>();
        TimeoutAction::Done
    }
}

#[kunit_tests(rust_nvme_timeout)]
mod tests {
    use super::*;

    #[test]
    fn timeout_ladder() {
        use State::*;
        // Live: abort first, reset on the second timeout, at once on a bad CSTS.
        assert_eq!(timeout_step(Live, false, false, false, false), Step::Abort);
        assert_eq!(timeout_step(Live, false, false, false, true), Step::Reset);
        assert_eq!(timeout_step(Live, false, true, false, false), Step::Reset);
        // A lost interrupt: completed, in any state.
        assert_eq!(
            timeout_step(Live, false, false, true, true),
            Step::Completed
        );
        assert_eq!(
            timeout_step(Deleting, false, false, true, false),
            Step::Completed
        );
        // A CQ of a broken controller is not trusted.
        assert_eq!(timeout_step(Live, false, true, true, false), Step::Reset);
        // Nothing will reset the controller: fail, never wait forever.
        assert_eq!(
            timeout_step(Deleting, false, false, false, false),
            Step::Fail
        );
        assert_eq!(
            timeout_step(Connecting, false, false, false, false),
            Step::Fail
        );
        assert_eq!(timeout_step(Dead, false, true, false, false), Step::Fail);
        // A reset or error recovery in progress ends the request.
        assert_eq!(
            timeout_step(Resetting, false, false, false, false),
            Step::Wait
        );
        assert_eq!(timeout_step(Live, true, true, false, true), Step::Wait);
    }
}

impl IoController for Ctrl {
    fn io_timeout(&self, qp: &QueuePair, cid: u16, rq: &dyn TimedOut) -> TimeoutAction {
        self.timeout_io(qp, cid, rq)
    }
}
