// SPDX-License-Identifier: GPL-2.0

//! nvme-core's fault injection (C: `drivers/nvme/host/fault_inject.c`): each namespace
//! disk (`/sys/kernel/debug/nvme<N>n<M>/fault_inject/`) and each controller, for its
//! admin commands (`/sys/kernel/debug/nvme<N>/fault_inject/`), has the kernel's fault
//! attributes plus `opcode` (0xffff: any; else only that opcode), `status` (the NVMe
//! status field to report, default Invalid Command Opcode) and `dont_retry` (set DNR,
//! default on). A completion the framework picks reports that status instead of the
//! controller's, where C's `nvme_should_fail` replaces it, so retries, error logging and
//! the caller's error code follow the normal path. Without
//! `CONFIG_FAULT_INJECTION_DEBUG_FS` nothing is made and nothing fails.

use kernel::{
    prelude::*,
    str::CStr, //
};

use crate::abstractions::fault_inject::FaultPoint;

/// `opcode`, `status`; `dont_retry`.
const OPCODE: usize = 0;
const STATUS: usize = 1;
const DONT_RETRY: usize = 0;
/// `opcode` for any command.
const ANY_OPCODE: u16 = 0xffff;
/// `NVME_SC_INVALID_OPCODE`, C's default.
const SC_INVALID_OPCODE: u16 = 0x1;
/// `NVME_STATUS_DNR` in the status field.
const STATUS_DNR: u16 = 1 << 14;

/// A namespace's or a controller's fault injection point.
pub(crate) struct NvmeFault(FaultPoint<2, 1>);

impl NvmeFault {
    /// Makes `/sys/kernel/debug/<name>/fault_inject/` (C: `nvme_fault_inject_init`);
    /// `None`, with C's warning, when debugfs cannot.
    pub(crate) fn new(name: &CStr) -> Option<Self> {
        let point = FaultPoint::new(
            name,
            [(c"opcode", ANY_OPCODE), (c"status", SC_INVALID_OPCODE)],
            [(c"dont_retry", true)],
        );
        match point {
            Ok(p) => Some(Self(p)),
            Err(_) => {
                pr_warn!("{}: failed to create debugfs directory\n", name);
                None
            }
        }
    }

    /// The CQE status half-word to report for a command of `opcode` instead of the
    /// controller's, when a fault is due (C: `nvme_should_fail`).
    pub(crate) fn inject(&self, opcode: u8) -> Option<u16> {
        let only = self.0.x16(OPCODE);
        if only <= u16::from(u8::MAX) && only != u16::from(opcode) {
            return None;
        }
        if !self.0.should_fail() {
            return None;
        }
        let mut status = self.0.x16(STATUS);
        if self.0.flag(DONT_RETRY) {
            status |= STATUS_DNR;
        }
        // The status field sits above the phase tag.
        Some(status << 1)
    }
}
