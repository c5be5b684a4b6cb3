// SPDX-License-Identifier: GPL-2.0

//! Completion status: the Status Code Type and Status Code of a completion queue entry's
//! Status field, their names as nvme.ko prints them, and what the driver does with them
//! (retry, the block layer's status) (NVMe Base Specification 2.0, §4.6.1.2).

use kernel::prelude::*;

use crate::spec::cmd::StatusField;

/// Status Code Types (NVMe Base Specification 2.0, Figure 93).
pub(crate) mod sct {
    /// Generic Command Status.
    pub(crate) const GENERIC: u16 = 0x0;
    /// Command Specific Status.
    pub(crate) const COMMAND_SPECIFIC: u16 = 0x1;
    /// Media and Data Integrity Errors.
    pub(crate) const MEDIA: u16 = 0x2;
    /// Path Related Status.
    pub(crate) const PATH: u16 = 0x3;
}

/// Status Codes, one module per Status Code Type (NVMe Base Specification 2.0,
/// §4.6.1.2; NVM Command Set Specification 1.0, §3.3.3; C: `NVME_SC_*`). Only the codes
/// the driver names or acts on.
pub(crate) mod sc {
    /// Generic Command Status values ([`super::sct::GENERIC`]; Base Figure 94, NVM
    /// Figure 24).
    pub(crate) mod generic {
        /// Successful Completion.
        pub(crate) const SUCCESSFUL_COMPLETION: u16 = 0x00;
        /// Invalid Command Opcode.
        pub(crate) const INVALID_COMMAND_OPCODE: u16 = 0x01;
        /// Invalid Field in Command.
        pub(crate) const INVALID_FIELD: u16 = 0x02;
        /// Command ID Conflict.
        pub(crate) const COMMAND_ID_CONFLICT: u16 = 0x03;
        /// Data Transfer Error.
        pub(crate) const DATA_TRANSFER_ERROR: u16 = 0x04;
        /// Commands Aborted due to Power Loss Notification.
        pub(crate) const ABORTED_POWER_LOSS: u16 = 0x05;
        /// Internal Error.
        pub(crate) const INTERNAL_ERROR: u16 = 0x06;
        /// Command Abort Requested.
        pub(crate) const ABORT_REQUESTED: u16 = 0x07;
        /// Command Aborted due to SQ Deletion.
        pub(crate) const ABORTED_SQ_DELETION: u16 = 0x08;
        /// Invalid Namespace or Format.
        pub(crate) const INVALID_NAMESPACE_OR_FORMAT: u16 = 0x0b;
        /// Invalid SGL Segment Descriptor.
        pub(crate) const INVALID_SGL_SEGMENT_DESCRIPTOR: u16 = 0x0d;
        /// Data SGL Length Invalid.
        pub(crate) const DATA_SGL_LENGTH_INVALID: u16 = 0x0f;
        /// PRP Offset Invalid.
        pub(crate) const PRP_OFFSET_INVALID: u16 = 0x13;
        /// LBA Out of Range (NVM command set).
        pub(crate) const LBA_OUT_OF_RANGE: u16 = 0x80;
        /// Capacity Exceeded (NVM command set).
        pub(crate) const CAPACITY_EXCEEDED: u16 = 0x81;
        /// Namespace Not Ready (NVM command set).
        pub(crate) const NAMESPACE_NOT_READY: u16 = 0x82;
    }

    /// Command Specific Status values ([`super::sct::COMMAND_SPECIFIC`]; Base Figure
    /// 95, NVM Figure 25).
    pub(crate) mod command_specific {
        /// Completion Queue Invalid.
        pub(crate) const COMPLETION_QUEUE_INVALID: u16 = 0x00;
        /// Invalid Queue Identifier.
        pub(crate) const INVALID_QUEUE_IDENTIFIER: u16 = 0x01;
        /// Invalid Queue Size.
        pub(crate) const INVALID_QUEUE_SIZE: u16 = 0x02;
        /// Abort Command Limit Exceeded.
        pub(crate) const ABORT_COMMAND_LIMIT_EXCEEDED: u16 = 0x03;
        /// Asynchronous Event Request Limit Exceeded.
        pub(crate) const AER_LIMIT_EXCEEDED: u16 = 0x05;
        /// Invalid Interrupt Vector.
        pub(crate) const INVALID_INTERRUPT_VECTOR: u16 = 0x08;
        /// Invalid Queue Deletion.
        pub(crate) const INVALID_QUEUE_DELETION: u16 = 0x0c;
        /// Feature Identifier Not Saveable.
        pub(crate) const FEATURE_NOT_SAVEABLE: u16 = 0x0d;
        /// Conflicting Attributes (NVM command set).
        pub(crate) const CONFLICTING_ATTRIBUTES: u16 = 0x80;
        /// Invalid Protection Information (NVM Command Set Figure 29).
        pub(crate) const INVALID_PROTECTION_INFORMATION: u16 = 0x81;
        /// Zone Boundary Error (ZNS Figure 26).
        pub(crate) const ZONE_BOUNDARY_ERROR: u16 = 0xb8;
        /// Zone Is Full.
        pub(crate) const ZONE_FULL: u16 = 0xb9;
        /// Zone Is Read Only.
        pub(crate) const ZONE_READ_ONLY: u16 = 0xba;
        /// Zone Is Offline.
        pub(crate) const ZONE_OFFLINE: u16 = 0xbb;
        /// Zone Invalid Write (not at the write pointer).
        pub(crate) const ZONE_INVALID_WRITE: u16 = 0xbc;
        /// Too Many Active Zones.
        pub(crate) const ZONE_TOO_MANY_ACTIVE: u16 = 0xbd;
        /// Too Many Open Zones.
        pub(crate) const ZONE_TOO_MANY_OPEN: u16 = 0xbe;
        /// Invalid Zone State Transition.
        pub(crate) const ZONE_INVALID_TRANSITION: u16 = 0xbf;
    }

    /// Media and Data Integrity Errors values ([`super::sct::MEDIA`]; Base Figure 96,
    /// NVM Figure 26).
    pub(crate) mod media {
        /// Write Fault.
        pub(crate) const WRITE_FAULT: u16 = 0x80;
        /// Unrecovered Read Error.
        pub(crate) const UNRECOVERED_READ_ERROR: u16 = 0x81;
        /// End-to-end Guard Check Error.
        pub(crate) const GUARD_CHECK_ERROR: u16 = 0x82;
        /// End-to-end Application Tag Check Error.
        pub(crate) const APP_TAG_CHECK_ERROR: u16 = 0x83;
        /// End-to-end Reference Tag Check Error.
        pub(crate) const REF_TAG_CHECK_ERROR: u16 = 0x84;
        /// Access Denied.
        pub(crate) const ACCESS_DENIED: u16 = 0x86;
        /// Deallocated or Unwritten Logical Block.
        pub(crate) const DEALLOCATED_OR_UNWRITTEN: u16 = 0x87;
    }

    /// Path Related Status values ([`super::sct::PATH`]; Base Figure 97).
    pub(crate) mod path {
        /// Internal Path Error.
        pub(crate) const INTERNAL_PATH_ERROR: u16 = 0x00;
        /// Asymmetric Access Persistent Loss.
        pub(crate) const ANA_PERSISTENT_LOSS: u16 = 0x01;
        /// Asymmetric Access Inaccessible.
        pub(crate) const ANA_INACCESSIBLE: u16 = 0x02;
        /// Asymmetric Access Transition.
        pub(crate) const ANA_TRANSITION: u16 = 0x03;
        /// Controller Pathing Error.
        pub(crate) const CONTROLLER_PATHING_ERROR: u16 = 0x60;
        /// Host Pathing Error.
        pub(crate) const HOST_PATHING_ERROR: u16 = 0x70;
        /// Host Aborted Command (a host-side status: what a reset completes cancelled
        /// commands with).
        pub(crate) const HOST_ABORTED_COMMAND: u16 = 0x71;
    }
}

/// What [`Status::name`] calls a code it does not know.
const UNKNOWN_STATUS: &str = "Unknown Status";

/// A decoded, non-zero completion status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Status {
    /// Status Code Type.
    pub(crate) sct: u16,
    /// Status Code.
    pub(crate) sc: u16,
    /// Do Not Retry.
    pub(crate) dnr: bool,
}

impl Status {
    /// Decodes the status half-word of a completion; `None` for success.
    pub(crate) fn from_cqe(status: u16) -> Option<Self> {
        let f = StatusField::from_raw(status);
        let (sct, sc) = (f.sct().get(), f.sc().get());
        if sct == sct::GENERIC && sc == sc::generic::SUCCESSFUL_COMPLETION {
            return None;
        }
        Some(Self {
            sct,
            sc,
            dnr: f.dnr(),
        })
    }

    /// Host Aborted Command (path related): what a reset completes cancelled commands
    /// with (C: `NVME_SC_HOST_ABORTED_CMD`).
    pub(crate) const HOST_ABORTED: Self = Self {
        sct: sct::PATH,
        sc: sc::path::HOST_ABORTED_COMMAND,
        dnr: false,
    };

    /// The CQE status half-word (phase clear) that decodes to `self`.
    pub(crate) fn to_cqe(self) -> u16 {
        (u16::from(self.dnr) << 15) | ((self.sct & 0x7) << 9) | ((self.sc & 0xff) << 1)
    }

    /// The name C's error lines give the status (C: `nvme_get_error_status_str`, whose
    /// table names the codes [`Self::name`] does): "Unknown" for any other.
    pub(crate) fn c_name(&self) -> &'static str {
        match self.name() {
            UNKNOWN_STATUS => "Unknown",
            n => n,
        }
    }

    /// A human-readable name of the status code, as the spec (or C's table) calls it.
    pub(crate) fn name(&self) -> &'static str {
        use sc::{
            command_specific as cs,
            generic as g,
            media as m,
            path as p, //
        };
        match (self.sct, self.sc) {
            (sct::GENERIC, g::INVALID_COMMAND_OPCODE) => "Invalid Command Opcode",
            (sct::GENERIC, g::INVALID_FIELD) => "Invalid Field in Command",
            (sct::GENERIC, g::COMMAND_ID_CONFLICT) => "Command ID Conflict",
            (sct::GENERIC, g::DATA_TRANSFER_ERROR) => "Data Transfer Error",
            (sct::GENERIC, g::ABORTED_POWER_LOSS) => {
                "Commands Aborted due to Power Loss Notification"
            }
            (sct::GENERIC, g::INTERNAL_ERROR) => "Internal Error",
            (sct::GENERIC, g::ABORT_REQUESTED) => "Command Abort Requested",
            (sct::GENERIC, g::ABORTED_SQ_DELETION) => "Command Aborted due to SQ Deletion",
            (sct::GENERIC, g::INVALID_NAMESPACE_OR_FORMAT) => "Invalid Namespace or Format",
            (sct::GENERIC, g::INVALID_SGL_SEGMENT_DESCRIPTOR) => "Invalid SGL Segment Descriptor",
            (sct::GENERIC, g::DATA_SGL_LENGTH_INVALID) => "Data SGL Length Invalid",
            (sct::GENERIC, g::PRP_OFFSET_INVALID) => "PRP Offset Invalid",
            (sct::GENERIC, g::LBA_OUT_OF_RANGE) => "LBA Out of Range",
            (sct::GENERIC, g::CAPACITY_EXCEEDED) => "Capacity Exceeded",
            (sct::GENERIC, g::NAMESPACE_NOT_READY) => "Namespace Not Ready",
            (sct::COMMAND_SPECIFIC, cs::COMPLETION_QUEUE_INVALID) => "Completion Queue Invalid",
            (sct::COMMAND_SPECIFIC, cs::INVALID_QUEUE_IDENTIFIER) => "Invalid Queue Identifier",
            (sct::COMMAND_SPECIFIC, cs::INVALID_QUEUE_SIZE) => "Invalid Queue Size",
            (sct::COMMAND_SPECIFIC, cs::ABORT_COMMAND_LIMIT_EXCEEDED) => {
                "Abort Command Limit Exceeded"
            }
            (sct::COMMAND_SPECIFIC, cs::INVALID_INTERRUPT_VECTOR) => "Invalid Interrupt Vector",
            (sct::COMMAND_SPECIFIC, cs::INVALID_QUEUE_DELETION) => "Invalid Queue Deletion",
            (sct::COMMAND_SPECIFIC, cs::FEATURE_NOT_SAVEABLE) => "Feature Identifier Not Saveable",
            (sct::COMMAND_SPECIFIC, cs::CONFLICTING_ATTRIBUTES) => "Conflicting Attributes",
            (sct::COMMAND_SPECIFIC, cs::ZONE_BOUNDARY_ERROR) => "Zoned Boundary Error",
            (sct::COMMAND_SPECIFIC, cs::ZONE_FULL) => "Zone Is Full",
            (sct::COMMAND_SPECIFIC, cs::ZONE_READ_ONLY) => "Zone Is Read Only",
            (sct::COMMAND_SPECIFIC, cs::ZONE_OFFLINE) => "Zone Is Offline",
            (sct::COMMAND_SPECIFIC, cs::ZONE_INVALID_WRITE) => "Zone Invalid Write",
            (sct::COMMAND_SPECIFIC, cs::ZONE_TOO_MANY_ACTIVE) => "Too Many Active Zones",
            (sct::COMMAND_SPECIFIC, cs::ZONE_TOO_MANY_OPEN) => "Too Many Open Zones",
            (sct::COMMAND_SPECIFIC, cs::ZONE_INVALID_TRANSITION) => "Invalid Zone State Transition",
            (sct::MEDIA, m::WRITE_FAULT) => "Write Fault",
            (sct::MEDIA, m::UNRECOVERED_READ_ERROR) => "Unrecovered Read Error",
            (sct::MEDIA, m::GUARD_CHECK_ERROR) => "End-to-end Guard Check Error",
            (sct::MEDIA, m::APP_TAG_CHECK_ERROR) => "End-to-end Application Tag Check Error",
            (sct::MEDIA, m::REF_TAG_CHECK_ERROR) => "End-to-end Reference Tag Check Error",
            (sct::COMMAND_SPECIFIC, cs::INVALID_PROTECTION_INFORMATION) => {
                "Invalid Protection Information"
            }
            (sct::MEDIA, m::ACCESS_DENIED) => "Access Denied",
            (sct::MEDIA, m::DEALLOCATED_OR_UNWRITTEN) => "Deallocated or Unwritten Logical Block",
            (sct::PATH, p::INTERNAL_PATH_ERROR) => "Internal Pathing Error",
            (sct::PATH, p::ANA_PERSISTENT_LOSS) => "Asymmetric Access Persistent Loss",
            (sct::PATH, p::ANA_INACCESSIBLE) => "Asymmetric Access Inaccessible",
            (sct::PATH, p::ANA_TRANSITION) => "Asymmetric Access Transition",
            (sct::PATH, p::CONTROLLER_PATHING_ERROR) => "Controller Pathing Error",
            (sct::PATH, p::HOST_PATHING_ERROR) => "Host Pathing Error",
            (sct::PATH, p::HOST_ABORTED_COMMAND) => "Host Aborted Command",
            _ => UNKNOWN_STATUS,
        }
    }

    /// Whether the block layer should see "not supported" rather than an I/O error.
    pub(crate) fn is_not_supported(&self) -> bool {
        self.sct == sct::GENERIC
            && matches!(
                self.sc,
                sc::generic::INVALID_COMMAND_OPCODE | sc::generic::INVALID_FIELD
            )
    }

    /// Whether the command may be retried (DNR clear and not a permanent condition).
    pub(crate) fn is_retryable(&self) -> bool {
        !self.dnr && !self.is_not_supported()
    }

    /// The errno an admin command's caller sees for this status.
    pub(crate) fn to_error(self) -> Error {
        if self.is_not_supported() {
            EINVAL
        } else {
            EIO
        }
    }
}

impl kernel::fmt::Display for Status {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        write!(
            f,
            "{} (SCT {:#x} SC {:#04x}{})",
            self.name(),
            self.sct,
            self.sc,
            if self.dnr { " DNR" } else { "" }
        )
    }
}

#[kunit_tests(rust_nvme_status)]
mod tests {
    use super::*;

    #[test]
    fn status_decode() {
        // Phase bit alone is success.
        assert_eq!(Status::from_cqe(0x0001), None);
        // LBA Out of Range (SCT 0, SC 0x80) with DNR and phase set.
        let s = Status::from_cqe((1 << 15) | (0x80 << 1) | 1);
        assert_eq!(
            s,
            Some(Status {
                sct: 0,
                sc: 0x80,
                dnr: true
            })
        );
        let s = s.unwrap_or(Status {
            sct: 7,
            sc: 0,
            dnr: false,
        });
        assert_eq!(s.name(), "LBA Out of Range");
        assert!(!s.is_retryable());
        // Unrecovered Read Error, SCT 2, DNR clear: retryable, an I/O error.
        let s = Status::from_cqe((2 << 9) | (0x81 << 1)).unwrap_or(Status {
            sct: 7,
            sc: 0,
            dnr: true,
        });
        assert_eq!(s.name(), "Unrecovered Read Error");
        assert!(s.is_retryable());
        assert_eq!(s.to_error(), EIO);
        // Invalid Opcode: not supported, never retried.
        let s = Status::from_cqe(0x01 << 1).unwrap_or(Status {
            sct: 7,
            sc: 0,
            dnr: true,
        });
        assert!(s.is_not_supported());
        assert!(!s.is_retryable());
        // Round trip of the status the reset path uses.
        assert_eq!(
            Status::from_cqe(Status::HOST_ABORTED.to_cqe()),
            Some(Status::HOST_ABORTED)
        );
        assert!(Status::HOST_ABORTED.is_retryable());
    }

    #[test]
    fn status_names() -> Result {
        use kernel::str::CString;
        let text = |sct, sc, dnr| CString::try_from_fmt(fmt!("{}", Status { sct, sc, dnr }));
        // What the driver's error messages show, byte for byte.
        assert_eq!(
            text(sct::GENERIC, sc::generic::LBA_OUT_OF_RANGE, true)?.to_bytes(),
            b"LBA Out of Range (SCT 0x0 SC 0x80 DNR)"
        );
        assert_eq!(
            text(sct::GENERIC, sc::generic::INVALID_FIELD, false)?.to_bytes(),
            b"Invalid Field in Command (SCT 0x0 SC 0x02)"
        );
        assert_eq!(
            text(sct::PATH, sc::path::HOST_ABORTED_COMMAND, false)?.to_bytes(),
            b"Host Aborted Command (SCT 0x3 SC 0x71)"
        );
        assert_eq!(
            text(
                sct::COMMAND_SPECIFIC,
                sc::command_specific::INVALID_QUEUE_SIZE,
                true
            )?
            .to_bytes(),
            b"Invalid Queue Size (SCT 0x1 SC 0x02 DNR)"
        );
        assert_eq!(
            text(sct::PATH, 0x60, false)?.to_bytes(),
            b"Controller Pathing Error (SCT 0x3 SC 0x60)"
        );
        assert_eq!(
            text(7, 0xff, false)?.to_bytes(),
            b"Unknown Status (SCT 0x7 SC 0xff)"
        );
        // Codes the driver has no name for, in a known type.
        assert_eq!(
            Status {
                sct: sct::COMMAND_SPECIFIC,
                sc: sc::command_specific::AER_LIMIT_EXCEEDED,
                dnr: false
            }
            .name(),
            "Unknown Status"
        );
        Ok(())
    }
}
