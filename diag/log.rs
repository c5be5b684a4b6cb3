// SPDX-License-Identifier: GPL-2.0

//! A controller's log lines as nvme.ko prints them. C logs through the controller's
//! class device (`dev_warn(ctrl->device, ...)`), which reads `nvme nvme<N>: <message>`;
//! log watchers and people match those lines, so rust_nvme prints the same line, at the
//! same level, through these macros (one place for the prefix instead of one per call).
//!
//! `ctrl_err!(instance, "format", args...)`, and `ctrl_warn!`, `ctrl_info!` alike: `instance` is the `N` of `nvme<N>`; the format ends with `\n`.
//!
//! A namespace's lines name its disk as C's `pr_*("%s: ...", disk->disk_name)` lines do
//! (`nvme<N>n<M>: <message>`): `ns_err!(instance, disk_id, "format", args...)`, and
//! `ns_warn!`, `ns_info!` alike.

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

/// Prints a namespace's line at `level` (see the module documentation).
macro_rules! ns_log {
    ($level:ident, $instance:expr, $disk_id:expr, $fmt:tt $($rest:tt)*) => {
        $crate::abstractions::printk::line(
            $crate::abstractions::printk::Level::$level,
            format_args!(
                "nvme{}n{}: {}",
                $instance,
                $disk_id,
                kernel::prelude::fmt!($fmt $($rest)*)
            ),
        )
    };
}

/// A namespace's `KERN_ERR` line.
macro_rules! ns_err {
    ($instance:expr, $disk_id:expr, $($rest:tt)*) => {
        $crate::diag::log::ns_log!(Err, $instance, $disk_id, $($rest)*)
    };
}

/// A namespace's `KERN_WARNING` line.
macro_rules! ns_warn {
    ($instance:expr, $disk_id:expr, $($rest:tt)*) => {
        $crate::diag::log::ns_log!(Warning, $instance, $disk_id, $($rest)*)
    };
}

/// A namespace's `KERN_INFO` line.
macro_rules! ns_info {
    ($instance:expr, $disk_id:expr, $($rest:tt)*) => {
        $crate::diag::log::ns_log!(Info, $instance, $disk_id, $($rest)*)
    };
}

pub(crate) use ctrl_err;
pub(crate) use ctrl_info;
pub(crate) use ctrl_log;
pub(crate) use ctrl_warn;
pub(crate) use ns_err;
pub(crate) use ns_info;
pub(crate) use ns_log;
pub(crate) use ns_warn;
