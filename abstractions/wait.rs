// SPDX-License-Identifier: GPL-2.0

//! A wait queue to sleep on until a condition holds, uninterruptibly and for at most a
//! given time (C: `wait_event_timeout`).
//!
//! C header: [`include/linux/wait.h`](srctree/include/linux/wait.h).
//!
//! 7.3's `CondVar` waits with a timeout only interruptibly, and only with a lock held
//! across the check. A command's waiter (C's `blk_execute_rq` sleeps in `io_schedule`,
//! not interruptible) checks a flag the completion sets and needs neither: [`WaitQueue`]
//! puts the task on the queue before its last look at the condition, as
//! `wait_event_timeout` does, so a wake-up between that look and the sleep is not lost.

use core::marker::PhantomPinned;

use kernel::{
    bindings,
    ffi::c_long,
    prelude::*,
    sync::LockClassKey,
    task::{
        TASK_NORMAL,
        TASK_UNINTERRUPTIBLE, //
    },
    time::{
        msecs_to_jiffies,
        Delta, //
    },
    types::Opaque,
};

/// Creates a [`WaitQueue`] initialiser with a lock class of its own.
macro_rules! new_wait_queue {
    () => {
        $crate::abstractions::wait::WaitQueue::new(
            kernel::optional_name!(),
            kernel::static_lock_class!(),
        )
    };
}
pub(crate) use new_wait_queue;

/// A `struct wait_queue_head`.
///
/// # Invariants
///
/// `head` is initialised (by [`Self::new`]) and, pinned, never moves.
#[pin_data]
pub(crate) struct WaitQueue {
    #[pin]
    head: Opaque<bindings::wait_queue_head>,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: A wait queue head is used from any task; its own spinlock serialises the users.
unsafe impl Send for WaitQueue {}
// SAFETY: As above: every operation on it takes its lock.
unsafe impl Sync for WaitQueue {}

impl WaitQueue {
    /// An empty wait queue.
    pub(crate) fn new(name: &'static CStr, key: Pin<&'static LockClassKey>) -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid while the closure runs; `name` and `key` are static.
            head <- Opaque::ffi_init(|slot| unsafe {
                bindings::__init_waitqueue_head(slot, name.as_char_ptr(), key.as_ptr())
            }),
            _pin: PhantomPinned,
        })
    }

    /// Wakes every task waiting (C: `wake_up_all`). Allowed in interrupt context.
    pub(crate) fn wake_all(&self) {
        // SAFETY: `head` is an initialised wait queue (type invariant).
        unsafe { bindings::__wake_up(self.head.get(), TASK_NORMAL, 0, core::ptr::null_mut()) };
    }

    /// Sleeps until `cond` returns `Some`, for at most `timeout`; returns what `cond`
    /// returned, or `None` when the time ran out first (C: `wait_event_timeout`).
    ///
    /// `cond` runs before each sleep, after the task is queued and marked asleep, so it
    /// must not sleep itself (spinlocks and atomics only); a [`Self::wake_all`] after
    /// the condition became true ends the wait.
    pub(crate) fn wait_timeout<R>(
        &self,
        timeout: Delta,
        mut cond: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        let ms = timeout.as_millis_ceil().clamp(0, i64::from(u32::MAX)) as u32;
        let mut left = c_long::try_from(msecs_to_jiffies(ms)).unwrap_or(c_long::MAX);
        loop {
            let wait = Opaque::<bindings::wait_queue_entry>::uninit();
            // SAFETY: `wait` is valid memory for the entry, which stays in place (a local
            // that is not moved) until `finish_wait` below takes it off the queue; `head`
            // is initialised (type invariant).
            unsafe {
                bindings::init_wait_entry(wait.get(), 0);
                bindings::prepare_to_wait_event(self.head.get(), wait.get(), TASK_UNINTERRUPTIBLE);
            }
            let done = cond();
            if done.is_none() && left > 0 {
                // SAFETY: Sleeps for at most `left` jiffies (fewer if woken); the task is
                // queued on `head` and marked uninterruptible above.
                left = unsafe { bindings::schedule_timeout(left) };
            }
            // SAFETY: `wait` was queued on `head` by `prepare_to_wait_event` above.
            unsafe { bindings::finish_wait(self.head.get(), wait.get()) };
            if done.is_some() {
                return done;
            }
            if left <= 0 {
                return cond();
            }
        }
    }
}
