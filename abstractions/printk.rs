// SPDX-License-Identifier: GPL-2.0

//! Kernel log lines without the module prefix, rate limited as `pr_err_ratelimited`.
//!
//! C header: [`include/linux/printk.h`](srctree/include/linux/printk.h),
//! [`include/linux/ratelimit_types.h`](srctree/include/linux/ratelimit_types.h).
//!
//! `kernel::pr_err!` puts `"<module>: "` in front of every line; a driver that must log
//! the very lines another driver logs (log watchers match them) needs the bare line, which
//! [`err_line`] prints. [`RateLimit`] is the C ratelimit's policy (at most `burst` lines
//! per `interval`, then a count of the suppressed ones) on atomics, so that it can live
//! in a `static` as C's per-call-site state does.

use core::fmt;

use kernel::{
    bindings,
    ffi::c_void,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
};

/// A log level (C: `KERN_ERR` and the others).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    /// `KERN_ERR`.
    Err,
    /// `KERN_WARNING`.
    Warning,
    /// `KERN_INFO`.
    Info,
}

/// Prints `args` as one line at `level`, with nothing in front (C: `printk` without
/// `pr_fmt`). The caller ends the line with `\n`.
pub(crate) fn line(level: Level, args: fmt::Arguments<'_>) {
    let fmt = match level {
        Level::Err => c"\x013%pA",
        Level::Warning => c"\x014%pA",
        Level::Info => c"\x016%pA",
    };
    // SAFETY: The format is a NUL-terminated string of a level and one conversion,
    // `%pA`, which takes a pointer to `fmt::Arguments`, which `args` is, alive for the
    // call.
    unsafe {
        bindings::_printk(
            fmt.as_ptr().cast(),
            core::ptr::from_ref(&args).cast::<c_void>(),
        )
    };
}

/// Prints `args` as one `KERN_ERR` line, with nothing in front.
pub(crate) fn err_line(args: fmt::Arguments<'_>) {
    line(Level::Err, args);
}

/// Nanoseconds of the monotonic clock (C: `ktime_get`).
fn now_ns() -> i64 {
    // SAFETY: `ktime_get` has no preconditions and may be called in any context.
    unsafe { bindings::ktime_get() }
}

/// A rate limit on log lines (C: `struct ratelimit_state`, `DEFINE_RATELIMIT_STATE`).
pub(crate) struct RateLimit {
    interval_ns: i64,
    burst: u32,
    /// Start of the current interval; 0 before the first line.
    begin: Atomic<i64>,
    /// Lines allowed in the current interval.
    printed: Atomic<u32>,
    /// Lines refused since the last report.
    missed: Atomic<u32>,
}

impl RateLimit {
    /// At most `burst` lines per `interval_ms`.
    pub(crate) const fn new(interval_ms: i64, burst: u32) -> Self {
        Self {
            interval_ns: interval_ms * 1_000_000,
            burst,
            begin: Atomic::new(0),
            printed: Atomic::new(0),
            missed: Atomic::new(0),
        }
    }

    /// C's default for `pr_err_ratelimited`: 10 lines per 5 s.
    pub(crate) const fn default_printk() -> Self {
        Self::new(5000, 10)
    }

    /// Whether a line (or anything else limited) may go now. When a new interval begins
    /// after some were refused, logs how many with `who`, if given (C: `"%s: %d callbacks
    /// suppressed"`; none with `RATELIMIT_MSG_ON_RELEASE`).
    pub(crate) fn allow(&self, who: Option<&str>) -> bool {
        let now = now_ns();
        let begin = self.begin.load(Relaxed);
        if begin == 0 || now.saturating_sub(begin) >= self.interval_ns {
            // One caller starts the new interval; the others count in it.
            if self.begin.cmpxchg(begin, now, Relaxed).is_ok() {
                self.printed.store(0, Relaxed);
                let missed = self.missed.xchg(0, Relaxed);
                if let (Some(who), true) = (who, missed > 0) {
                    line(
                        Level::Warning,
                        format_args!("{}: {} callbacks suppressed\n", who, missed),
                    );
                }
            }
        }
        if self.printed.fetch_add(1, Relaxed) < self.burst {
            true
        } else {
            self.missed.add(1, Relaxed);
            false
        }
    }
}
