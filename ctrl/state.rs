// SPDX-License-Identifier: GPL-2.0

//! The controller's state machine (C: `enum nvme_ctrl_state`, `nvme_change_ctrl_state`'s
//! table) and what CSTS says about whether it can work at all.

use kernel::prelude::*;

use crate::spec::regs::{
    self,
    CSTS, //
};

/// Controller states (C: `enum nvme_ctrl_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Probed, bring-up not started.
    New,
    /// Bring-up (the reset work) in progress.
    Connecting,
    /// Up and serving I/O.
    Live,
    /// Being reset: I/O is held until the controller is back.
    Resetting,
    /// Being removed.
    Deleting,
    /// Failed; I/O fails fast.
    Dead,
}

impl State {
    /// Whether the controller may go from `self` to `new` (C: `nvme_change_ctrl_state`).
    pub(crate) fn can_change_to(self, new: State) -> bool {
        use State::*;
        match new {
            Connecting => matches!(self, New | Resetting),
            Live => self == Connecting,
            Resetting => self == Live,
            Deleting => matches!(self, New | Connecting | Live | Resetting | Dead),
            Dead => matches!(self, New | Connecting | Live | Resetting | Deleting),
            New => false,
        }
    }

    /// The name the C driver's `state` attribute uses.
    pub(crate) fn name(self) -> &'static str {
        match self {
            State::New => "new",
            State::Connecting => "connecting",
            State::Live => "live",
            State::Resetting => "resetting",
            State::Deleting => "deleting",
            State::Dead => "dead",
        }
    }
}

/// Why a controller with this CSTS cannot process commands, if it cannot
/// (C: `nvme_pci_ctrl_is_dead`).
pub(crate) fn csts_problem(csts: CSTS) -> Option<&'static str> {
    if csts.into_raw() == regs::REG_DEAD {
        Some("gone (CSTS reads all ones)")
    } else if csts.cfs() {
        Some("fatal (CSTS.CFS)")
    } else if !csts.rdy() {
        Some("not ready (CSTS.RDY clear)")
    } else {
        None
    }
}

#[kunit_tests(rust_nvme_ctrl_state)]
mod tests {
    use super::*;

    #[test]
    fn state_transitions() {
        use State::*;
        assert!(New.can_change_to(Connecting));
        assert!(Connecting.can_change_to(Live));
        assert!(Live.can_change_to(Resetting));
        assert!(Resetting.can_change_to(Connecting));
        assert!(Live.can_change_to(Deleting));
        assert!(Connecting.can_change_to(Dead));
        assert!(!New.can_change_to(Live));
        assert!(!Live.can_change_to(Connecting));
        assert!(!Dead.can_change_to(Live));
        assert!(!Deleting.can_change_to(Connecting));
        assert!(!Deleting.can_change_to(Live));
        assert!(!Dead.can_change_to(Resetting));
    }
}
