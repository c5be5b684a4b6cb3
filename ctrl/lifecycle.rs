// SPDX-License-Identifier: GPL-2.0

//! The controller's life outside its own work items: system power-off, suspend and
//! resume, function resets, PCI error recovery and removal (C: `nvme_shutdown`,
//! `nvme_simple_suspend`/`_resume`, `nvme_reset_prepare`/`_done`, `nvme_err_handler`,
//! `nvme_remove`).

use kernel::prelude::*;

use crate::{
    abstractions::pci::{
        ChannelState,
        ErsResult, //
    },
    diag::log::{
        ctrl_err,
        ctrl_info,
        ctrl_warn, //
    },
    spec::regs,
};

use super::{
    teardown::Teardown,
    Ctrl,
    State, //
};

impl Ctrl {
    /// Waits for a reset in progress, then moves a live controller to `Resetting`
    /// (C: `nvme_wait_reset`). Returns whether it did.
    pub(super) fn wait_and_begin_reset(&self) -> bool {
        self.flush_reset_work();
        self.change_state(State::Resetting)
    }

    /// System shutdown, reboot or kexec with the driver bound (C: `nvme_shutdown`): the
    /// controller is told (CC.SHN), so that it flushes its volatile write cache and
    /// records a clean shutdown. Nothing of this controller runs afterwards.
    pub(crate) fn shutdown_for_poweroff(&self) {
        self.wait_and_begin_reset();
        ctrl_info!(self.instance, "shutting down\n");
        self.fail_io(Teardown::Shutdown);
    }

    /// System sleep (C: `nvme_simple_suspend`): the controller is shut down (CC.SHN) with
    /// its queues; I/O waits, quiesced, for [`Self::pm_resume`].
    pub(crate) fn pm_suspend(&self) -> Result {
        if !self.wait_and_begin_reset() {
            // Dead or being removed: nothing to keep.
            return Ok(());
        }
        ctrl_info!(self.instance, "suspending\n");
        self.disable_io(Teardown::Shutdown);
        Ok(())
    }

    /// Wake-up (C: `nvme_simple_resume`): brings the controller back up like a reset,
    /// and waits for it, so that I/O resumes without waiting for a timeout.
    pub(crate) fn pm_resume(&self) -> Result {
        if self.state() == State::Resetting {
            ctrl_info!(self.instance, "resuming\n");
            self.queue_work::<0>();
        }
        Ok(())
    }

    /// A function reset is coming (C: `nvme_reset_prepare`): the controller is disabled
    /// first, so that it does not fetch from or write to memory across the reset.
    pub(crate) fn reset_prepare(&self) {
        if self.wait_and_begin_reset() {
            ctrl_info!(self.instance, "function reset: disabling\n");
            self.disable_io(Teardown::Disable);
        }
    }

    /// The function reset is done (C: `nvme_reset_done`): the controller comes back up.
    pub(crate) fn reset_done(&self) {
        if self.state() == State::Resetting {
            self.queue_work::<0>();
            self.flush_reset_work();
        }
    }

    /// An error on the link (C: `nvme_error_detected`). Frozen: the controller is
    /// disabled and a slot reset asked for; for good: nothing can be saved.
    pub(crate) fn error_detected(&self, state: ChannelState) -> ErsResult {
        match state {
            ChannelState::Normal => {
                ctrl_info!(
                    self.instance,
                    "non-fatal PCIe error detected; no reset needed\n"
                );
                ErsResult::CanRecover
            }
            ChannelState::Frozen => {
                ctrl_warn!(
                    self.instance,
                    "frozen state error detected, reset controller\n"
                );
                if !self.wait_and_begin_reset() {
                    self.fail_io(Teardown::Shutdown);
                    return ErsResult::Disconnect;
                }
                self.disable_io(Teardown::Disable);
                ErsResult::NeedReset
            }
            ChannelState::PermFailure => {
                ctrl_warn!(
                    self.instance,
                    "failure state error detected, request disconnect\n"
                );
                // Recovery gave up (a slot reset that failed, say): no slot reset or
                // resume follows, so nothing would ever end the I/O that the frozen
                // channel left quiesced (C leaves it waiting). Fail it and declare the
                // controller dead; unbind, or removing the function, still works.
                self.fail_io(Teardown::Disable);
                if self.change_state(State::Dead) {
                    ctrl_err!(
                        self.instance,
                        "PCI error recovery failed; controller is dead\n"
                    );
                }
                ErsResult::Disconnect
            }
        }
    }

    /// The slot was reset (C: `nvme_slot_reset`): config space back, the controller is
    /// brought up again.
    pub(crate) fn slot_reset(&self) -> ErsResult {
        ctrl_info!(self.instance, "restart after slot reset\n");
        crate::abstractions::pci::restore_state(&self.pdev);
        if self.state() == State::Resetting {
            self.queue_work::<0>();
        }
        ErsResult::Recovered
    }

    /// Error recovery is over (C: `nvme_error_resume`).
    pub(crate) fn error_resume(&self) {
        self.flush_reset_work();
    }

    /// Removes the controller (C: `nvme_remove`): with the controller working, removes
    /// the disks (their I/O drains), then deletes the queues and shuts it down; with the
    /// device gone or the controller dead, fails outstanding I/O first so removal never
    /// waits for a device that cannot answer. A request that never completes while the
    /// disks drain times out and fails (the timeout handler disables the controller).
    pub(crate) fn remove(&self) {
        self.change_state(State::Deleting);
        // The monitor's readers send admin commands: they finish before the teardown.
        self.remove_hwmon();
        // Admin passthrough in progress finishes first (unbind deleted /dev/nvme<N>).
        self.close_gate();
        self.flush_reset_work();
        // Neither requeues itself once the state is no longer live.
        self.cancel_event_work();
        let mut inner = self.inner.lock();
        let gone = self.csts().map_or(true, |c| c.into_raw() == regs::REG_DEAD);
        let working = !gone && {
            let hw = self.hw.lock();
            hw.queues_live && !hw.tagset.as_ref().is_some_and(|t| t.is_dead())
        };
        if working {
            // A reset interrupted by removal may have left the queues quiesced.
            self.unquiesce_io();
            inner.disks.clear();
            self.disable_io(Teardown::Shutdown);
        } else {
            if gone {
                ctrl_warn!(self.instance, "device gone; failing outstanding I/O\n");
            }
            self.kill(&mut inner);
        }
        self.release(&mut inner);
        drop(inner);
        // An event that arrived before the handlers were freed may have queued work
        // again; the admin queue is gone now, so nothing can queue it after this.
        self.cancel_event_work();
        // The disks are gone: now their parent.
        self.remove_devices();
        self.change_state(State::Dead);
        // Nothing queues work any more: the controller may go with its last user.
        self.drop_self_ref();
    }
}
