// SPDX-License-Identifier: GPL-2.0

//! Who uses the device for admin passthrough (C: the admin queue's usage counter): users
//! are let in while the gate is open; removal closes it and waits for the last to leave.
//! One part of the controller with one lock of its own.

use kernel::{
    new_condvar, new_mutex,
    prelude::*,
    sync::{
        CondVar,
        Mutex, //
    },
};

/// The users and whether new ones may enter.
struct GateState {
    /// New users are let in (until removal begins).
    open: bool,
    /// Passthrough commands in progress.
    users: u32,
}

/// A gate counting the users of the device.
#[pin_data]
pub(crate) struct UserGate {
    /// Lock order: outermost, held only to count users in and out.
    #[pin]
    state: Mutex<GateState>,
    /// Signalled when the last user leaves.
    #[pin]
    idle: CondVar,
}

impl UserGate {
    /// An open gate without users.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            state <- new_mutex!(GateState { open: true, users: 0 }),
            idle <- new_condvar!(),
        })
    }

    /// Lets one more user in; false once the gate is closed.
    pub(crate) fn enter(&self) -> bool {
        let mut g = self.state.lock();
        if !g.open {
            return false;
        }
        g.users = g.users.saturating_add(1);
        true
    }

    /// A user that [`Self::enter`] let in leaves.
    pub(crate) fn leave(&self) {
        let mut g = self.state.lock();
        g.users = g.users.saturating_sub(1);
        if g.users == 0 {
            self.idle.notify_all();
        }
    }

    /// Lets nobody in any more and waits for the users inside to leave (the caller
    /// has told them to stop waiting first).
    pub(crate) fn close_and_wait(&self) {
        let mut g = self.state.lock();
        g.open = false;
        while g.users > 0 {
            self.idle.wait(&mut g);
        }
    }
}
