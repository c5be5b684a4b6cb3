// SPDX-License-Identifier: GPL-2.0

//! Waiting for and cancelling work items, which 7.3's [`kernel::workqueue`] does not offer.
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h)

use kernel::{
    bindings,
    workqueue::Work, //
};

/// Cancelling and flushing a [`Work`].
pub(crate) trait WorkExt {
    /// Cancels the work if it is queued and waits for a running instance to finish
    /// (C: `cancel_work_sync`). Returns whether it was queued.
    ///
    /// Like C, it must not be called from the work item itself (that deadlocks).
    fn cancel_sync(&self) -> bool;

    /// Waits for the last queueing of the work to finish running (C: `flush_work`).
    /// Returns whether it had to wait.
    ///
    /// Like C, it must not be called from the work item itself (that deadlocks).
    fn flush(&self) -> bool;
}

impl<T: ?Sized, const ID: u64> WorkExt for Work<T, ID> {
    fn cancel_sync(&self) -> bool {
        // SAFETY: `self` is a live `Work`: its only constructor, `Work::new`, initialises the
        // `work_struct` (with `init_work_with_key`) before a reference to it can exist, and a
        // `Work` is pinned, so the pointer stays valid for the call. `cancel_work_sync` may be
        // called on an initialised work item at any time, queued or not.
        unsafe { bindings::cancel_work_sync(Work::raw_get(self)) }
    }

    fn flush(&self) -> bool {
        // SAFETY: As in `cancel_sync`, `self` is an initialised, pinned `work_struct`, and
        // `flush_work` may be called on one at any time, queued or not.
        unsafe { bindings::flush_work(Work::raw_get(self)) }
    }
}
