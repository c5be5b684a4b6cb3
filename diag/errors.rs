// SPDX-License-Identifier: GPL-2.0

//! What the driver reports about failed commands, resets and retries, as nvme_core
//! reports it: the counters of the `diag/` attribute groups, the passthrough logging
//! switches, and the error log line (C: `nvme_log_error`, `nvme_log_err_passthru`).
//!
//! The rules are C's (`__nvme_end_req`, `nvme_init_request`, `nvme_retry_req`,
//! `nvme_change_ctrl_state`):
//!
//! * a block I/O request that ends with an error status logs one line and counts in its
//!   namespace's `diag/command_error_count` (once, after its retries; a retry logs
//!   nothing and counts in `diag/command_retries_count`, as does a request a reset
//!   cancelled and requeued);
//! * a passthrough command (I/O through a namespace, admin through the controller; the
//!   driver's own admin commands are passthrough commands in C too) logs and counts only
//!   while the `passthru_err_log_enabled` of its namespace or controller is on (C:
//!   otherwise `RQF_QUIET`); admin errors count in the controller's
//!   `diag/command_error_count`;
//! * `diag/reset_count` counts entries into the resetting state from new or live.
//!
//! Lines are rate limited as `pr_err_ratelimited` (10 per 5 s) and printed without the
//! module prefix, so they read exactly as nvme.ko's on the same kernel: with
//! `CONFIG_NVME_VERBOSE_ERRORS` the command and status are named, without it they are
//! C's "I/O Cmd", "Admin Cmd" and "I/O Error" (the numbers tell in both cases).

use core::fmt::{
    self,
    Write, //
};

use kernel::{
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
};

use crate::{
    abstractions::printk::{
        err_line,
        RateLimit, //
    },
    spec::cmd::{
        AdminOpcode,
        Command,
        IoOpcode,
        StatusField, //
    },
    spec::status::Status,
};

/// Whether command and status are logged by name (C: `CONFIG_NVME_VERBOSE_ERRORS`,
/// which decides nvme_core's wording on the same kernel).
const VERBOSE: bool = cfg!(CONFIG_NVME_VERBOSE_ERRORS);

/// The one rate limit of the error lines (C: `nvme_log_error`'s and
/// `nvme_log_err_passthru`'s `pr_err_ratelimited` each keep one; a shared one lets no
/// more through).
static LIMIT: RateLimit = RateLimit::default_printk();

/// A controller's error and reset counters and its admin passthrough logging switch (C:
/// `ctrl->errors`, `nr_reset`, `passthru_err_log_enabled`), with the timeouts sysfs
/// may change.
pub(crate) struct CtrlDiag {
    /// Admin commands that failed while logging was on (`diag/command_error_count`).
    pub(crate) errors: Atomic<u64>,
    /// Entries into the resetting state (`diag/reset_count`).
    pub(crate) resets: Atomic<u64>,
    /// Log (and count) admin command errors (`passthru_err_log_enabled`; off by default,
    /// as in C).
    pub(crate) passthru_err_log: Atomic<bool>,
    /// Admin command timeout in ms (`admin_timeout`).
    pub(crate) admin_timeout_ms: Atomic<u32>,
    /// I/O timeout in ms (`io_timeout`), for disks added from now on.
    pub(crate) io_timeout_ms: Atomic<u32>,
    /// CMBLOC as the last bring-up read it (`cmbloc`).
    pub(crate) cmbloc: Atomic<u32>,
    /// CMBSZ as the last bring-up read it (`cmbsz`; 0: no controller memory buffer).
    pub(crate) cmbsz: Atomic<u32>,
}

impl CtrlDiag {
    /// Counters at 0, logging off, the timeouts of the module parameters (seconds).
    pub(crate) fn new(admin_timeout_s: u32, io_timeout_s: u32) -> Self {
        Self {
            errors: Atomic::new(0),
            resets: Atomic::new(0),
            passthru_err_log: Atomic::new(false),
            admin_timeout_ms: Atomic::new(admin_timeout_s.saturating_mul(1000)),
            io_timeout_ms: Atomic::new(io_timeout_s.saturating_mul(1000)),
            cmbloc: Atomic::new(0),
            cmbsz: Atomic::new(0),
        }
    }

    /// An admin command of controller `name` (`nvme<N>`) completed with an error
    /// status: logged and counted while logging is on.
    pub(crate) fn admin_failed(&self, name: fmt::Arguments<'_>, cmd: &Command, status: u16) {
        if !self.passthru_err_log.load(Relaxed) {
            return;
        }
        self.errors.add(1, Relaxed);
        log(|w| passthru_line(w, name, false, cmd, status));
    }
}

/// A namespace's counters and its passthrough logging switch (C: `ns->retries`,
/// `ns->errors`, `ns->head->passthru_err_log_enabled`), and what sysfs shows of its
/// format and usage.
pub(crate) struct NsDiag {
    /// Retries of its requests (`diag/command_retries_count`).
    pub(crate) retries: Atomic<u64>,
    /// Requests that failed (`diag/command_error_count`).
    pub(crate) errors: Atomic<u64>,
    /// Log (and count) passthrough errors (`passthru_err_log_enabled`).
    pub(crate) passthru_err_log: Atomic<bool>,
    /// Metadata bytes per block of the LBA format in use (`metadata_bytes`).
    pub(crate) ms: Atomic<u32>,
    /// Namespace Utilization as last read (`nuse`).
    pub(crate) nuse: Atomic<u64>,
    /// When `nuse` may be read from the controller again (C: at most once per 5 s).
    pub(crate) nuse_limit: RateLimit,
}

impl NsDiag {
    /// Counters at 0, logging off; `ms` metadata bytes per block, `nuse` blocks in use.
    pub(crate) fn new(ms: u16, nuse: u64) -> Self {
        Self {
            retries: Atomic::new(0),
            errors: Atomic::new(0),
            passthru_err_log: Atomic::new(false),
            ms: Atomic::new(u32::from(ms)),
            nuse: Atomic::new(nuse),
            nuse_limit: RateLimit::new(5000, 1),
        }
    }

    /// A request is retried (C: `nvme_retry_req`).
    pub(crate) fn retried(&self) {
        self.retries.add(1, Relaxed);
    }

    /// A block I/O request of disk `disk` ended with error `status` after its retries:
    /// `opcode` from LBA `slba`, `blocks` logical blocks.
    pub(crate) fn io_failed(
        &self,
        disk: fmt::Arguments<'_>,
        opcode: u8,
        slba: u64,
        blocks: u32,
        status: u16,
    ) {
        self.errors.add(1, Relaxed);
        log(|w| io_line(w, disk, opcode, slba, blocks, status));
    }

    /// An I/O passthrough command `cmd` of disk `disk` completed with error `status`:
    /// logged and counted while logging is on.
    pub(crate) fn passthru_failed(&self, disk: fmt::Arguments<'_>, cmd: &Command, status: u16) {
        if !self.passthru_err_log.load(Relaxed) {
            return;
        }
        self.errors.add(1, Relaxed);
        log(|w| passthru_line(w, disk, true, cmd, status));
    }
}

/// A log line of at most this many bytes (the longest, a passthrough line with six
/// dwords and a long name, stays well below).
const LINE_MAX: usize = 256;

/// A log line being built.
struct Line {
    buf: [u8; LINE_MAX],
    len: usize,
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl Line {
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

/// Builds a line with `f` and prints it, unless the rate limit says no.
fn log(f: impl FnOnce(&mut Line) -> fmt::Result) {
    if !LIMIT.allow(Some("nvme_log_error")) {
        return;
    }
    let mut line = Line {
        buf: [0; LINE_MAX],
        len: 0,
    };
    // A line too long for the buffer is printed as far as it got.
    let _ = f(&mut line);
    err_line(format_args!("{}", line.as_str()));
}

/// The name of I/O command `opcode` (C: `nvme_get_opcode_str`).
fn io_name(opcode: u8) -> &'static str {
    if !VERBOSE {
        return "I/O Cmd";
    }
    use IoOpcode::*;
    [
        Flush,
        Write,
        Read,
        WriteUncorrectable,
        Compare,
        WriteZeroes,
        Dsm,
        ReservationRegister,
        ReservationReport,
        ReservationAcquire,
        ReservationRelease,
        Copy,
        ZoneMgmtSend,
        ZoneMgmtRecv,
        ZoneAppend,
    ]
    .into_iter()
    .find(|o| *o as u8 == opcode)
    .map_or("Unknown", IoOpcode::name)
}

/// The name of admin command `opcode` (C: `nvme_get_admin_opcode_str`).
fn admin_name(opcode: u8) -> &'static str {
    if !VERBOSE {
        return "Admin Cmd";
    }
    use AdminOpcode::*;
    [
        DeleteSq,
        CreateSq,
        GetLogPage,
        DeleteCq,
        CreateCq,
        Identify,
        Abort,
        SetFeatures,
        GetFeatures,
        AsyncEvent,
        FirmwareDownload,
        NsAttach,
        DbbufConfig,
        FormatNvm,
        SecuritySend,
        SecurityReceive,
        Sanitize,
    ]
    .into_iter()
    .find(|o| *o as u8 == opcode)
    .map_or("Unknown", AdminOpcode::name)
}

/// `"<status> (sct 0x<sct> / sc 0x<sc>) [MORE ][DNR ]"` of CQE status half-word `status`
/// (C: `nvme_get_error_status_str` and the fields of `nr->status`).
fn status_part(w: &mut impl Write, status: u16) -> fmt::Result {
    let f = StatusField::from_raw(status);
    let name = match Status::from_cqe(status) {
        Some(s) if VERBOSE => s.c_name(),
        _ if VERBOSE => "Success",
        _ => "I/O Error",
    };
    write!(
        w,
        "{} (sct {:#x} / sc {:#x}) {}{}",
        name,
        f.sct().get(),
        f.sc().get(),
        if f.more() { "MORE " } else { "" },
        if f.dnr() { "DNR " } else { "" }
    )
}

/// C's line for a failed block I/O request (`nvme_log_error`).
fn io_line(
    w: &mut impl Write,
    disk: fmt::Arguments<'_>,
    opcode: u8,
    slba: u64,
    blocks: u32,
    status: u16,
) -> fmt::Result {
    write!(
        w,
        "{}: {}({:#x}) @ LBA {}, {} blocks, ",
        disk,
        io_name(opcode),
        opcode,
        slba,
        blocks
    )?;
    status_part(w, status)?;
    w.write_str("\n")
}

/// C's line for a failed passthrough command (`nvme_log_err_passthru`): `who` is the
/// disk (`io`) or the controller.
fn passthru_line(
    w: &mut impl Write,
    who: fmt::Arguments<'_>,
    io: bool,
    cmd: &Command,
    status: u16,
) -> fmt::Result {
    let opcode = (cmd.cdw0 & 0xff) as u8;
    let name = if io {
        io_name(opcode)
    } else {
        admin_name(opcode)
    };
    write!(w, "{}: {}({:#x}), ", who, name, opcode)?;
    status_part(w, status)?;
    writeln!(
        w,
        "cdw10={:#x} cdw11={:#x} cdw12={:#x} cdw13={:#x} cdw14={:#x} cdw15={:#x}",
        cmd.cdw10, cmd.cdw11, cmd.cdw12, cmd.cdw13, cmd.cdw14, cmd.cdw15
    )
}

#[kunit_tests(rust_nvme_errors)]
mod tests {
    use super::*;

    fn line(f: impl FnOnce(&mut Line) -> fmt::Result) -> Line {
        let mut l = Line {
            buf: [0; LINE_MAX],
            len: 0,
        };
        assert!(f(&mut l).is_ok());
        l
    }

    #[test]
    fn io_line_as_c() {
        // Unrecovered Read Error (SCT 2h, SC 81h), DNR set (bit 15 of the CQE half-word).
        let status = (1 << 15) | (0x2 << 9) | (0x81 << 1);
        let l = line(|w| io_line(w, format_args!("nvme0n1"), 0x2, 0, 1, status));
        let want = if VERBOSE {
            "nvme0n1: Read(0x2) @ LBA 0, 1 blocks, Unrecovered Read Error (sct 0x2 / sc 0x81) DNR \n"
        } else {
            "nvme0n1: I/O Cmd(0x2) @ LBA 0, 1 blocks, I/O Error (sct 0x2 / sc 0x81) DNR \n"
        };
        assert_eq!(l.as_str(), want);
        // Without DNR, with MORE: the flags C prints, space separated.
        let status = (1 << 14) | (0x2 << 9) | (0x81 << 1);
        let l = line(|w| io_line(w, format_args!("nvme1n2"), 0x1, 4096, 8, status));
        assert!(l.as_str().ends_with("(sct 0x2 / sc 0x81) MORE \n"));
        assert!(l.as_str().starts_with("nvme1n2: "));
        assert!(l.as_str().contains("(0x1) @ LBA 4096, 8 blocks, "));
        // A code C's table lacks (blktests nvme/039's 0x375): "Unknown".
        let status = (1 << 15) | (0x3 << 9) | (0x75 << 1);
        let l = line(|w| io_line(w, format_args!("nvme0n1"), 0x2, 0, 1, status));
        if VERBOSE {
            assert!(l.as_str().contains(", Unknown (sct 0x3 / sc 0x75) DNR \n"));
        }
    }

    #[test]
    fn passthru_line_as_c() {
        let cmd = Command {
            cdw0: 0x06,
            cdw10: 0xfe,
            ..Command::default()
        };
        // Invalid Field in Command, DNR.
        let status = (1 << 15) | (0x2 << 1);
        let l = line(|w| passthru_line(w, format_args!("nvme0"), false, &cmd, status));
        let want = if VERBOSE {
            "nvme0: Identify(0x6), Invalid Field in Command (sct 0x0 / sc 0x2) DNR cdw10=0xfe cdw11=0x0 cdw12=0x0 cdw13=0x0 cdw14=0x0 cdw15=0x0\n"
        } else {
            "nvme0: Admin Cmd(0x6), I/O Error (sct 0x0 / sc 0x2) DNR cdw10=0xfe cdw11=0x0 cdw12=0x0 cdw13=0x0 cdw14=0x0 cdw15=0x0\n"
        };
        assert_eq!(l.as_str(), want);
    }

    #[test]
    fn rate_limit_burst() {
        let r = RateLimit::new(60_000, 2);
        assert!(r.allow(None));
        assert!(r.allow(None));
        assert!(!r.allow(None));
    }
}
