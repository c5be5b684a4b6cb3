// SPDX-License-Identifier: GPL-2.0

//! Asynchronous events (NVMe Base Specification 2.0, §5.2).
//!
//! The driver keeps up to AERL + 1 Asynchronous Event Requests outstanding, re-arming
//! each after its event and all of them after every reset (a disabled controller drops
//! them without completing them). A completion is queued here from the admin queue's
//! interrupt (or its poller) and handled by the event work, which re-arms:
//!
//! * Namespace Attribute Changed: a namespace scan, which also reads the Changed
//!   Namespace List log to acknowledge the notice;
//! * SMART / Health: the health log (read with RAE clear, which acknowledges it) and a
//!   `dev_warn` with the decoded critical warning bits;
//! * every other event: logged.
//!
//! As in C, SMART, error, I/O command set and vendor specific events also send a
//! `KOBJ_CHANGE` uevent with `NVME_AEN=<result>` on the controller device.
//!
//! C counterparts: `nvme_enable_aen`, `nvme_complete_async_event`,
//! `nvme_async_event_work`, `nvme_aen_uevent`.

use crate::diag::log::{
    ctrl_info,
    ctrl_warn, //
};

use core::fmt::Write;

use kernel::{
    bitfield,
    prelude::*, //
};

use super::{
    AdminQueue,
    Ctrl,
    State, //
};
use crate::{
    mq::NameBuf,
    spec::cmd::{
        AdminOpcode,
        Command,
        Completion,
        LogPage,
        NSID_ALL, //
    },
    spec::identify::IdBuf,
    spec::status::{
        sc,
        sct,
        Status, //
    },
};

/// Most Asynchronous Event Requests kept outstanding (the controller's AERL + 1 if lower).
pub(super) const MAX_AERS: u32 = 8;
/// Command identifiers of Asynchronous Event Requests: `AER_CID_BASE + slot`, apart from
/// the synchronous commands' (0 to the admin queue depth).
const AER_CID_BASE: u16 = 0x1000;
/// Completions kept until the event work runs.
const QUEUED_MAX: usize = 16;

/// Whether a completion is that of an Asynchronous Event Request.
pub(super) fn is_aer_cid(cid: u16) -> bool {
    (AER_CID_BASE..AER_CID_BASE + MAX_AERS as u16).contains(&cid)
}

/// Asynchronous Event Configuration bits (Set Features 0Bh).
mod aec {
    /// SMART / Health critical warnings 0 to 5 (spare, temperature, reliability,
    /// read-only, volatile memory backup, persistent memory region).
    pub(super) const SMART_CRITICAL: u32 = 0x3f;
    /// Namespace Attribute Notices.
    pub(super) const NS_ATTR: u32 = 1 << 8;
    /// Firmware Activation Notices.
    pub(super) const FW_ACT: u32 = 1 << 9;
}

/// Asynchronous Event Type (completion dword 0, bits 2:0).
mod aer_type {
    pub(super) const ERROR: u32 = 0;
    pub(super) const SMART: u32 = 1;
    pub(super) const NOTICE: u32 = 2;
}

/// Notice information values.
mod notice {
    pub(super) const NS_CHANGED: u32 = 0x00;
    pub(super) const FW_ACT_STARTING: u32 = 0x01;
}

/// An asynchronous event, decoded from completion dword 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    /// Asynchronous Event Type.
    pub(crate) ty: u32,
    /// Asynchronous Event Information.
    pub(crate) info: u32,
    /// The log page that describes it.
    pub(crate) lid: u32,
}

bitfield! {
    /// Completion dword 0 of an Asynchronous Event Request (NVMe Base Specification 2.0,
    /// Figure 150).
    struct AerResult(u32) {
        /// Log Page Identifier.
        23:16 lid;
        /// Asynchronous Event Information.
        15:8 info;
        /// Asynchronous Event Type.
        2:0 ty;
    }
}

impl Event {
    /// Decodes completion dword 0 (C: `nvme_aer_type`, `nvme_aer_subtype`).
    pub(crate) fn from_result(r: u32) -> Self {
        let f = AerResult::from_raw(r);
        Self {
            ty: f.ty().get(),
            info: f.info().get(),
            lid: f.lid().get(),
        }
    }
}

/// The names of the SMART / Health critical warning bits (SMART log byte 0).
pub(crate) fn critical_warnings(bits: u8) -> impl Iterator<Item = &'static str> {
    const NAMES: [&str; 6] = [
        "available spare below threshold",
        "temperature threshold exceeded",
        "NVM subsystem reliability degraded",
        "media read-only",
        "volatile memory backup failed",
        "persistent memory region read-only",
    ];
    NAMES
        .into_iter()
        .enumerate()
        .filter(move |(i, _)| bits & (1 << i) != 0)
        .map(|(_, n)| n)
}

/// Outstanding requests and events not yet handled.
#[derive(Default)]
pub(crate) struct AenQueue {
    /// Slots with a request outstanding, one bit each.
    armed: u32,
    /// How many may be outstanding (AERL + 1, at most [`MAX_AERS`]).
    limit: u32,
    /// Completions (status, dword 0) waiting for the event work.
    queued: [(u16, u32); QUEUED_MAX],
    len: usize,
    /// Completions dropped because the queue was full.
    lost: u32,
    /// A Namespace Attribute Changed notice came: the next scan reads (and so clears)
    /// the Changed Namespace List log.
    ns_changed: bool,
}

impl Ctrl {
    /// Chooses which events the controller reports (C: `nvme_enable_aen`, plus SMART
    /// critical warnings) and how many requests to keep outstanding.
    pub(super) fn aen_configure(&self, admin: &AdminQueue, oaes: u32, aerl: u8) {
        self.aen.lock().limit = (u32::from(aerl) + 1).min(MAX_AERS);
        let cfg = aec::SMART_CRITICAL | (oaes & (aec::NS_ATTR | aec::FW_ACT));
        if self
            .admin(
                admin,
                AdminOpcode::SetFeatures,
                Command::set_async_event_config(cfg),
            )
            .is_err()
        {
            ctrl_warn!(self.instance, "failed to configure AEN (cfg {:x})\n", cfg);
        }
    }

    /// Arms every free request slot (the controller is live again). The slots were
    /// freed when the controller was disabled ([`Self::aen_disarm`]); not here, where
    /// event work that ran since the controller went live may have armed some already
    /// (freeing them again would send duplicate command identifiers).
    pub(super) fn aen_start(&self) {
        self.aen_arm();
    }

    /// Whether a Namespace Attribute Changed notice came since the last call.
    pub(super) fn take_ns_changed(&self) -> bool {
        core::mem::take(&mut self.aen.lock().ns_changed)
    }

    /// Forgets the outstanding requests: the controller was disabled.
    pub(super) fn aen_disarm(&self) {
        let mut q = self.aen.lock();
        q.armed = 0;
        q.len = 0;
    }

    /// Submits a request in every free slot, while live.
    fn aen_arm(&self) {
        if self.state() != State::Live {
            return;
        }
        let Some(admin) = self.admin.lock().clone() else {
            return;
        };
        // Claim the free slots, then submit without holding `aen`: the interrupt handler
        // takes it, and the submission queue lock is not interrupt safe.
        let claimed = {
            let mut q = self.aen.lock();
            let free = !q.armed & ((1u32 << q.limit) - 1);
            q.armed |= free;
            free
        };
        for slot in (0..MAX_AERS).filter(|s| claimed & (1 << s) != 0) {
            let mut cmd = Command::async_event();
            cmd.set_cid(AER_CID_BASE + slot as u16);
            if admin.qp.submit(&cmd, true).is_err() {
                self.aen.lock().armed &= !(1 << slot);
            }
        }
    }

    /// An Asynchronous Event Request completed (interrupt context): queue it for the
    /// event work.
    pub(super) fn aer_completed(&self, cqe: &Completion) {
        {
            let mut q = self.aen.lock();
            q.armed &= !(1 << u32::from(cqe.cid - AER_CID_BASE));
            if q.len < QUEUED_MAX {
                let n = q.len;
                q.queued[n] = (cqe.status, cqe.result);
                q.len += 1;
            } else {
                q.lost += 1;
            }
        }
        // `Err` means it is already queued: it will see this completion too.
        self.queue_work::<2>();
    }

    /// The event work: handles what arrived, then re-arms.
    pub(super) fn aen_work_fn(&self) {
        loop {
            let next = {
                let mut q = self.aen.lock();
                if q.lost > 0 {
                    ctrl_warn!(
                        self.instance,
                        "{} asynchronous event(s) lost (queue full)\n",
                        q.lost
                    );
                    q.lost = 0;
                }
                if q.len == 0 {
                    None
                } else {
                    let e = q.queued[0];
                    q.queued.copy_within(1.., 0);
                    q.len -= 1;
                    Some(e)
                }
            };
            let Some((status, result)) = next else {
                break;
            };
            self.handle_aen(status, result);
        }
        self.aen_arm();
    }

    fn handle_aen(&self, status: u16, result: u32) {
        if let Some(s) = Status::from_cqe(status) {
            match (s.sct, s.sc) {
                // Ended by a reset or an abort: nothing happened.
                (sct::GENERIC, sc::generic::ABORT_REQUESTED) => {}
                _ if s == Status::HOST_ABORTED => {}
                (sct::COMMAND_SPECIFIC, sc::command_specific::AER_LIMIT_EXCEEDED) => {
                    ctrl_warn!(self.instance, "asynchronous event request limit exceeded\n")
                }
                _ => ctrl_warn!(self.instance, "asynchronous event request failed: {}\n", s),
            }
            // As in C, a failed request is not sent again (a controller that keeps
            // failing them must not make the driver spin); the next reset re-arms all.
            let mut q = self.aen.lock();
            q.limit = q.limit.saturating_sub(1);
            return;
        }
        let ev = Event::from_result(result);
        match (ev.ty, ev.info) {
            (aer_type::NOTICE, notice::NS_CHANGED) => {
                ctrl_info!(self.instance, "namespace attribute changed; rescanning\n");
                self.aen.lock().ns_changed = true;
                self.queue_scan();
            }
            (aer_type::NOTICE, notice::FW_ACT_STARTING) => {
                ctrl_warn!(self.instance, "firmware activation starting\n")
            }
            (aer_type::NOTICE, _) => {
                ctrl_warn!(self.instance, "async event result {:08x}\n", result)
            }
            (aer_type::SMART, _) => {
                self.smart_warning(ev);
                self.aen_uevent(result);
            }
            (aer_type::ERROR, _) => {
                ctrl_warn!(
                    self.instance,
                    "asynchronous error event (information {:#04x}, log page {:#04x})\n",
                    ev.info,
                    ev.lid
                );
                self.aen_uevent(result);
            }
            _ => {
                ctrl_warn!(self.instance, "async event result {:08x}\n", result);
                self.aen_uevent(result);
            }
        }
    }

    /// Reads the SMART / Health log (acknowledging the event) and reports the critical
    /// warnings it shows.
    fn smart_warning(&self, ev: Event) {
        /// Size of the SMART / Health log.
        const SMART_LOG_SIZE: u32 = 512;
        let admin = self.admin.lock().clone();
        let warning = admin.and_then(|admin| {
            let buf = self.bound_dev().and_then(|dev| IdBuf::new(&dev)).ok()?;
            let cmd =
                Command::get_log_page(LogPage::Smart, NSID_ALL, buf.dma(), SMART_LOG_SIZE, false);
            self.admin_data(&admin, AdminOpcode::GetLogPage, cmd, &buf)
                .ok()?;
            buf.u8_at(0).ok()
        });
        let Some(bits) = warning else {
            ctrl_warn!(
                self.instance,
                "SMART/health event (information {:#04x}); health log unreadable\n",
                ev.info
            );
            return;
        };
        ctrl_warn!(
            self.instance,
            "SMART/health critical warning {:#04x}\n",
            bits
        );
        for name in critical_warnings(bits) {
            ctrl_warn!(self.instance, "  {}\n", name);
        }
    }

    /// `KOBJ_CHANGE` with `NVME_AEN=<result>` on `nvme<N>` (C: `nvme_aen_uevent`).
    fn aen_uevent(&self, result: u32) {
        let mut env = NameBuf::default();
        if write!(env, "NVME_AEN={:#08x}", result).is_err() {
            return;
        }
        let Ok(env) = CStr::from_bytes_with_nul(env.bytes()) else {
            return;
        };
        self.class_device_uevent(env);
    }
}

#[kunit_tests(rust_nvme_aen)]
mod tests {
    use super::*;

    #[test]
    fn event_decoding() {
        // Namespace Attribute Changed as QEMU posts it: notice, information 0, log 04h.
        let e = Event::from_result(0x0004_0002);
        assert_eq!(
            (e.ty, e.info, e.lid),
            (aer_type::NOTICE, notice::NS_CHANGED, 4)
        );
        // SMART, temperature (information 01h), log 02h.
        let e = Event::from_result(0x0002_0101);
        assert_eq!((e.ty, e.info, e.lid), (aer_type::SMART, 1, 2));
        // Reserved bits 7:3 and 31:24 are not part of any field.
        let e = Event::from_result(0xff04_01f9);
        assert_eq!((e.ty, e.info, e.lid), (aer_type::SMART, 1, 4));
        let e = Event::from_result(u32::MAX);
        assert_eq!((e.ty, e.info, e.lid), (7, 0xff, 0xff));
    }

    #[test]
    fn aer_identifiers() {
        assert!(is_aer_cid(AER_CID_BASE));
        assert!(is_aer_cid(AER_CID_BASE + MAX_AERS as u16 - 1));
        assert!(!is_aer_cid(AER_CID_BASE + MAX_AERS as u16));
        // Synchronous admin commands use 0 to 31.
        assert!(!is_aer_cid(0));
        assert!(!is_aer_cid(31));
    }

    #[test]
    fn critical_warning_names() {
        let mut w = critical_warnings(0x05);
        assert_eq!(w.next(), Some("available spare below threshold"));
        assert_eq!(w.next(), Some("NVM subsystem reliability degraded"));
        assert_eq!(w.next(), None);
        assert_eq!(critical_warnings(0).count(), 0);
    }
}
