// SPDX-License-Identifier: GPL-2.0

//! A controller's log lines as nvme.ko prints them. C logs through the controller's
//! class device (`dev_warn(ctrl->device, ...)`), which reads `nvme nvme<N>: <message>`;
//! log watchers and people match those lines, so rust_nvme prints the same line, at the
//! same level, through these macros (one place for the prefix instead of one per call).
//!
//! `ctrl_err!(instance, "format", args...)`, and `ctrl_warn!`, `ctrl_info!` alike: `instance` is the `N` of `nvme<N>`; the format ends with `\n`.

/// Prints a controller's line at `level` (see the module documentation).
macro_rules! ctrl_log {
    // `$fmt` as a token tree: `fmt!` must see the string literal itself to route the
    // arguments through the kernel's formatting traits (as `dev_err!` does).
    ($level:ident, $instance:expr, $fmt:tt $($rest:tt)*) => {
        $crate::abstractions::printk::line(
            $crate::abstractions::printk::Level::$level,
            format_args!(
                "nvme nvme{}: {}",
                $instance,
                kernel::prelude::fmt!($fmt $($rest)*)
            ),
        )
    };
}

/// A controller's `KERN_ERR` line (C: `dev_err(ctrl->device, ...)`).
macro_rules! ctrl_err {
    ($instance:expr, $($rest:tt)*) => { $crate::diag::log::ctrl_log!(Err, $instance, $($rest)*) };
}

/// A controller's `KERN_WARNING` line (C: `dev_warn(ctrl->device, ...)`).
macro_rules! ctrl_warn {
    ($instance:expr, $($rest:tt)*) => {
        $crate::diag::log::ctrl_log!(Warning, $instance, $($rest)*)
    };
}

/// A controller's `KERN_INFO` line (C: `dev_info(ctrl->device, ...)`).
macro_rules! ctrl_info {
    ($instance:expr, $($rest:tt)*) => { $crate::diag::log::ctrl_log!(Info, $instance, $($rest)*) };
}

pub(crate) use ctrl_err;
pub(crate) use ctrl_info;
pub(crate) use ctrl_log;
pub(crate) use ctrl_warn;
