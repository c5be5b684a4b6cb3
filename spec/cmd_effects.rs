// SPDX-License-Identifier: GPL-2.0

//! Commands Supported and Effects (NVMe Base Specification 2.0, §5.16.1.6, Figure 210):
//! what a command may change, which decides who may send it through passthrough and
//! what the driver does around it (freeze I/O, rescan namespaces).
//!
//! C counterparts: `nvme_init_effects`, `nvme_init_known_nvm_effects`,
//! `nvme_command_effects`.

use kernel::prelude::*;

use crate::spec::cmd::{
    AdminOpcode,
    IoOpcode, //
};

/// Command Supported.
pub(crate) const CSUPP: u32 = 1 << 0;
/// Logical Block Content Change.
pub(crate) const LBCC: u32 = 1 << 1;
/// Namespace Capability Change (e.g. a new LBA format).
pub(crate) const NCC: u32 = 1 << 2;
/// Namespace Inventory Change (namespaces attached, detached, created, deleted).
pub(crate) const NIC: u32 = 1 << 3;
/// Controller Capability Change.
pub(crate) const CCC: u32 = 1 << 4;
/// Command Submission and Execution Relaxations.
pub(crate) const CSER_MASK: u32 = 0x3 << 14;
/// Command Submission and Execution: the command must not overlap other commands (to
/// one namespace, or to any).
pub(crate) const CSE_MASK: u32 = 0x7 << 16;
/// UUID Selection Supported.
pub(crate) const UUID_SEL: u32 = 1 << 19;
/// Command Scope.
pub(crate) const SCOPE_MASK: u32 = 0xfff << 20;

/// Entries per table: one per opcode.
const OPCODES: usize = 256;

/// The effects of every admin and I/O command.
pub(crate) struct Effects {
    /// Admin Command Supported.
    acs: [u32; OPCODES],
    /// I/O Command Supported.
    iocs: [u32; OPCODES],
}

impl Effects {
    /// The table from the log page's dwords (`log(i)`: dword `i`, admin ones first), or
    /// from none when the controller has no such log; then what C knows about the NVM
    /// commands whatever the controller says (C: `nvme_init_known_nvm_effects`).
    pub(crate) fn new(log: Option<&dyn Fn(usize) -> u32>) -> Self {
        let mut e = Self {
            acs: [0; OPCODES],
            iocs: [0; OPCODES],
        };
        if let Some(log) = log {
            for i in 0..OPCODES {
                e.acs[i] = log(i);
                e.iocs[i] = log(OPCODES + i);
            }
        }
        e.acs[AdminOpcode::FormatNvm as usize] |= LBCC | NCC | CSE_MASK;
        e.acs[AdminOpcode::Sanitize as usize] |= LBCC | CSE_MASK;
        // Security Receive is only ordered against Security Send, both on the admin
        // queue: freezing I/O for it would help nothing.
        e.acs[AdminOpcode::SecurityReceive as usize] &= !CSE_MASK;
        for op in [
            IoOpcode::Write as usize,
            IoOpcode::WriteZeroes as usize,
            IoOpcode::WriteUncorrectable as usize,
        ] {
            e.iocs[op] |= LBCC;
        }
        e
    }

    /// The effects of admin command `opcode` (C: `nvme_command_effects(ctrl, NULL, ..)`):
    /// relaxations, when reported, lift the execution restrictions.
    pub(crate) fn admin(&self, opcode: u8) -> u32 {
        let e = self.acs[usize::from(opcode)];
        if e & CSER_MASK != 0 {
            e & !CSE_MASK
        } else {
            e
        }
    }

    /// The effects of I/O command `opcode` (C: `nvme_command_effects(ctrl, ns, ..)`):
    /// never an execution restriction, which would have the command wait for itself.
    pub(crate) fn io(&self, opcode: u8) -> u32 {
        self.iocs[usize::from(opcode)] & !CSE_MASK
    }
}

#[kunit_tests(rust_nvme_cmd_effects)]
mod tests {
    use super::*;

    #[test]
    fn known_effects_without_a_log() {
        let e = Effects::new(None);
        let format = e.admin(AdminOpcode::FormatNvm as u8);
        assert_eq!(format & (LBCC | NCC), LBCC | NCC);
        assert_ne!(format & CSE_MASK, 0);
        assert_eq!(
            e.admin(AdminOpcode::Sanitize as u8) & (LBCC | CSE_MASK),
            LBCC | CSE_MASK
        );
        assert_eq!(e.admin(AdminOpcode::Identify as u8), 0);
        assert_eq!(e.io(IoOpcode::Write as u8), LBCC);
        assert_eq!(e.io(IoOpcode::Read as u8), 0);
    }

    #[test]
    fn log_values_and_masks() {
        // QEMU 7.2's table: Namespace Attachment CSUPP | NIC, Format NVM CSUPP | LBCC,
        // Read CSUPP, an I/O command claiming an execution restriction.
        const NS_ATTACH: usize = 0x15;
        const FORMAT: usize = AdminOpcode::FormatNvm as usize;
        const SEC_RECV: usize = AdminOpcode::SecurityReceive as usize;
        let log = |i: usize| match i {
            NS_ATTACH => CSUPP | NIC,
            FORMAT => CSUPP | LBCC,
            SEC_RECV => CSUPP | CSE_MASK,
            0x10 => CSUPP | CSE_MASK | CSER_MASK,
            i if i == OPCODES + IoOpcode::Read as usize => CSUPP,
            i if i == OPCODES + 0x81 => CSUPP | CSE_MASK,
            _ => 0,
        };
        let e = Effects::new(Some(&log));
        assert_eq!(e.admin(NS_ATTACH as u8), CSUPP | NIC);
        assert_eq!(
            e.admin(AdminOpcode::FormatNvm as u8),
            CSUPP | LBCC | NCC | CSE_MASK
        );
        assert_eq!(e.admin(AdminOpcode::SecurityReceive as u8), CSUPP);
        // Relaxations reported: no restriction.
        assert_eq!(e.admin(0x10), CSUPP | CSER_MASK);
        assert_eq!(e.io(IoOpcode::Read as u8), CSUPP);
        assert_eq!(e.io(0x81), CSUPP);
        assert_eq!(e.io(IoOpcode::Write as u8), LBCC);
    }
}
