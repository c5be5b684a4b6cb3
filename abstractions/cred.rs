// SPDX-License-Identifier: GPL-2.0

//! Capabilities of the current task.
//!
//! C header: [`include/linux/capability.h`](srctree/include/linux/capability.h)

use kernel::bindings;

/// Whether the current task has `CAP_SYS_ADMIN` in the initial user namespace (C:
/// `capable(CAP_SYS_ADMIN)`); like C, a successful check marks the task as having used
/// the privilege.
pub(crate) fn capable_sys_admin() -> bool {
    // SAFETY: `capable` only reads the current task's credentials (always valid for the
    // running task) and sets its `PF_SUPERPRIV` flag.
    unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as i32) }
}
