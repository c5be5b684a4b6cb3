// SPDX-License-Identifier: GPL-2.0

//! Taking the controller's I/O path down (C: `nvme_dev_disable`): for a reset, a
//! suspend, a timeout the controller did not answer, removal; and failing it for good
//! when the controller is dead.

use kernel::{
    prelude::*,
    sync::Arc, //
};

use super::{
    admin::AdminQueue,
    Ctrl,
    Hw,
    Namespaces, //
};
use crate::{
    diag::log::ctrl_info,
    spec::cmd::{
        AdminOpcode,
        Command, //
    },
    spec::regs,
};

/// How [`Ctrl::disable_io`] leaves the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Teardown {
    /// Disabled (CC.EN cleared): a bring-up follows, or nothing does (the controller
    /// failed).
    Disable,
    /// The I/O queues deleted and a normal shutdown (CC.SHN) before disabling, so that
    /// the controller flushes its volatile write cache and records a clean shutdown:
    /// removal, system sleep and power-off.
    Shutdown,
}

impl Ctrl {
    /// Resumes dispatching on the I/O queues (requeued requests go out again).
    pub(super) fn unquiesce_io(&self) {
        if let Some(ts) = self.hw.lock().tagset.as_ref() {
            ts.unquiesce();
        }
    }

    /// Stops the controller's I/O path (C: `nvme_dev_disable`): quiesces the queues,
    /// deletes the I/O queues and shuts down or just disables the controller (`how`),
    /// frees the interrupt handlers, reaps what already completed, and cancels the rest
    /// (requeued while the controller is alive, failed once dead).
    ///
    /// Needs only `hw`, never `inner`: the timeout handler calls it while others hold
    /// `inner` waiting for I/O. Idempotent.
    pub(super) fn disable_io(&self, how: Teardown) {
        let mut hw = self.hw.lock();
        let hw = &mut *hw;
        let alive = self
            .csts()
            .map_or(false, |c| c.into_raw() != regs::REG_DEAD);
        let admin = self.admin.lock().clone();
        let created = Self::close_io_queues(hw);
        // No interrupt may complete requests once cancelling starts; admin commands
        // below complete by polling.
        if let Some(v) = hw.vectors.as_mut() {
            v.free_handlers();
        }
        if alive {
            if hw.queues_live && how == Teardown::Shutdown {
                if let Some(admin) = admin.as_ref() {
                    self.delete_io_queues(admin, &created);
                }
            }
            self.disable_ctrl(admin.as_deref(), how);
        }
        // Only now, with the controller disabled, do admin waiters give up (and free
        // what the controller could still have written).
        if let Some(a) = admin.as_ref() {
            a.qp.set_live(false);
            a.wake_waiters();
        }
        hw.queues_live = false;
        // Dropped outside the spinlock: the last reference frees DMA memory that its
        // slots may still hold.
        let old = self.admin.lock().take();
        drop(old);
        // The controller dropped its Asynchronous Event Requests with its queues.
        self.aen_disarm();
        self.cancel_io(hw);
    }

    /// Quiesces the I/O queues and closes their doorbells: the queues are about to stop
    /// existing, and writing the doorbell of a deleted queue is a protocol error.
    /// Returns the queues that exist on the controller (after a reset granted fewer, not
    /// the first ones of the tag set), newest first, for their deletion; none if the
    /// list could not be made, and then the controller's disable deletes them all.
    fn close_io_queues(hw: &Hw) -> KVec<u16> {
        let mut created: KVec<u16> = KVec::new();
        let Some(ts) = hw.tagset.as_ref() else {
            return created;
        };
        ts.quiesce();
        for qp in ts.queues().iter().rev() {
            if qp.is_live() && created.push(qp.qid, GFP_KERNEL).is_err() {
                created.clear();
            }
            qp.set_live(false);
        }
        created
    }

    /// Deletes the I/O queues `created` on the controller, each SQ before its CQ (C:
    /// `nvme_delete_io_queues`). A controller that does not answer one deletion will not
    /// answer the next: the caller goes on to the shutdown rather than wait out every
    /// queue.
    fn delete_io_queues(&self, admin: &Arc<AdminQueue>, created: &[u16]) {
        for qid in created.iter().copied() {
            if self
                .admin(admin, AdminOpcode::DeleteSq, Command::delete_sq(qid))
                .and_then(|_| self.admin(admin, AdminOpcode::DeleteCq, Command::delete_cq(qid)))
                .is_err()
            {
                break;
            }
        }
    }

    /// Shuts down (as `how` asks) and disables a controller that still answers.
    fn disable_ctrl(&self, admin: Option<&AdminQueue>, how: Teardown) {
        if how == Teardown::Shutdown {
            let _ = self.shutdown();
        }
        // No admin doorbell once the controller may have dropped its admin queue: a
        // command another task submits now fails at once.
        if let Some(a) = admin {
            a.stop_doorbells();
        }
        // Disabling deletes every queue on the controller and stops its DMA. A
        // controller that does not acknowledge it loses bus mastering, so that it cannot
        // write into buffers freed from here on.
        if let Some(cap) = self.facts.cap() {
            if self.disable(cap).is_err() {
                crate::abstractions::pci::clear_master(&self.pdev);
            }
        }
    }

    /// Reaps what the I/O queues completed and cancels what is left in flight, with the
    /// controller disabled and the handlers freed.
    fn cancel_io(&self, hw: &Hw) {
        let Some(ts) = hw.tagset.as_ref() else {
            return;
        };
        let mut reaped = 0;
        for q in ts.queues() {
            reaped += q.reap();
        }
        let n = ts.cancel_all();
        if n > 0 || reaped > 0 {
            let what = if ts.is_dead() { "failed" } else { "requeued" };
            ctrl_info!(
                self.instance,
                "{} completion(s) reaped, {} outstanding request(s) cancelled and {}\n",
                reaped,
                n,
                what
            );
        }
    }

    /// Fails the controller's I/O for good without `inner` (the timeout handler while
    /// connecting or deleting, PCI error recovery giving up, system shutdown): requests
    /// in flight and to come fail, the queues run again so that nothing waits forever.
    pub(super) fn fail_io(&self, how: Teardown) {
        if let Some(ts) = self.hw.lock().tagset.as_ref() {
            ts.set_dead();
        }
        self.disable_io(how);
        self.unquiesce_io();
    }

    /// Marks the controller dead: I/O in flight and to come fails, disks are marked dead
    /// (they stay until unbind), the queues run again so nothing waits forever.
    pub(super) fn kill(&self, inner: &mut Namespaces) {
        if let Some(ts) = self.tagset() {
            ts.set_dead();
        }
        for d in inner.disks.iter() {
            d.mark_dead();
        }
        self.fail_io(Teardown::Disable);
    }

    /// Releases everything bring-up built (after the I/O path was disabled).
    ///
    /// All of [`Namespaces`] goes, not a list of its fields, and the memory of `hw`: the controller itself may outlive
    /// the unbind (a namespace of a disk still open holds it, as C's `ns->ctrl`), but no
    /// DMA memory (queues, shadow doorbells, identify data) may outlive the driver's
    /// binding to the device.
    pub(super) fn release(&self, inner: &mut Namespaces) {
        // Field order drops the disks before the tag set they use; the handlers (freed in
        // `disable_io`) went before both.
        drop(core::mem::take(inner));
        let old = self.admin.lock().take();
        let mut hw = self.hw.lock();
        // Queues an open disk still holds must not disable a vector number that is about
        // to be freed (and could be another device's next).
        if let Some(ts) = hw.tagset.as_ref() {
            for q in ts.queues() {
                q.bind_irq(None);
            }
        }
        if let Some(a) = old.as_ref() {
            a.bind_irq(None);
        }
        hw.tagset = None;
        hw.vectors = None;
        hw.dbbuf = None;
        drop(hw);
        drop(old);
    }
}
