// SPDX-License-Identifier: GPL-2.0

//! Shadow doorbells: Doorbell Buffer Config (admin 7Ch, NVMe Base Specification 2.0,
//! §5.9), as emulated controllers implement it.
//!
//! The host writes each new SQ tail / CQ head into a shadow doorbell buffer in its own
//! memory, and rings the MMIO doorbell only when the controller's EventIdx for that
//! queue says it is waiting for it (`need_event`). Under emulation this removes most
//! doorbell MMIO exits. Only I/O queues use it.

use kernel::{
    device,
    dma::Coherent,
    io::{
        io_write, //
    },
    prelude::*,
    sync::{
        barrier::{
            mb,
            Full,
            Write, //
        },
        Arc, //
    },
};

use crate::abstractions::dma_word::CoherentWord;

/// OACS bit 8: Doorbell Buffer Config supported.
pub(crate) const OACS_DBBUF: u16 = 1 << 8;

/// The shadow doorbell and EventIdx buffers (one page each).
pub(crate) struct DbBuf {
    dbs: Coherent<[u32]>,
    eis: Coherent<[u32]>,
}

/// A queue's slot in the buffers: its shadow doorbell and its EventIdx, located once.
#[derive(Clone)]
pub(crate) struct Shadow {
    db: CoherentWord<DbBuf>,
    ei: CoherentWord<DbBuf>,
}

/// Index of SQ `qid`'s tail in the buffers, in 32-bit units: the doorbell register's
/// offset from SQ0TDBL divided by 4 (C: `sq_idx`).
pub(crate) fn sq_idx(qid: u16, stride: usize) -> usize {
    usize::from(qid) * 2 * (stride / 4)
}

/// Index of CQ `qid`'s head in the buffers (C: `cq_idx`).
pub(crate) fn cq_idx(qid: u16, stride: usize) -> usize {
    (usize::from(qid) * 2 + 1) * (stride / 4)
}

/// Whether moving a doorbell from `old` to `new` passes the controller's `event_idx`
/// (virtio's `vring_need_event`; C: `nvme_dbbuf_need_event`), modulo 2^16.
pub(crate) fn need_event(event_idx: u16, new: u16, old: u16) -> bool {
    new.wrapping_sub(event_idx).wrapping_sub(1) < new.wrapping_sub(old)
}

impl DbBuf {
    /// Allocates both buffers, zeroed.
    pub(crate) fn new(dev: &device::Device<device::Bound>, page_size: usize) -> Result<Arc<Self>> {
        let n = page_size / core::mem::size_of::<u32>();
        Ok(Arc::new(
            Self {
                dbs: Coherent::<u32>::zeroed_slice(dev, n, GFP_KERNEL)?,
                eis: Coherent::<u32>::zeroed_slice(dev, n, GFP_KERNEL)?,
            },
            GFP_KERNEL,
        )?)
    }

    /// Zeroes both buffers (before re-sending the command after a reset).
    pub(crate) fn clear(&self) -> Result {
        for i in 0..self.dbs.len() {
            io_write!(self.dbs, [try: i], 0);
            io_write!(self.eis, [try: i], 0);
        }
        Ok(())
    }

    /// Bus addresses for PRP1 (shadow doorbells) and PRP2 (EventIdx).
    pub(crate) fn dma(&self) -> (u64, u64) {
        (self.dbs.dma_address(), self.eis.dma_address())
    }

    /// The slot at `idx`, if the buffers have one.
    pub(crate) fn shadow(self: &Arc<Self>, idx: usize) -> Option<Shadow> {
        Some(Shadow {
            db: CoherentWord::new(self, |b| &b.dbs, idx)?,
            ei: CoherentWord::new(self, |b| &b.eis, idx)?,
        })
    }
}

impl Shadow {
    /// Records `value` as the queue's new doorbell value; returns whether the MMIO
    /// doorbell must be written too (C: `nvme_dbbuf_update_and_check_event`).
    pub(crate) fn update(&self, value: u16) -> bool {
        // The SQE (or the consumption of CQEs) is visible before the new value.
        mb(Write);
        let old = self.db.read() as u16;
        self.db.write(u32::from(value));
        // The new value is visible before EventIdx is read: otherwise the controller
        // could miss it and wait for an MMIO doorbell that never comes.
        mb(Full);
        let event_idx = self.ei.read() as u16;
        need_event(event_idx, value, old)
    }
}

#[kunit_tests(rust_nvme_shadow_doorbell)]
mod tests {
    use super::*;

    #[test]
    fn need_event_window() {
        // The controller wants to hear when the tail passes 5.
        assert!(need_event(5, 6, 5));
        assert!(need_event(5, 8, 3));
        assert!(!need_event(5, 5, 3));
        assert!(!need_event(9, 8, 3));
        // Wrap-around of the 16-bit counters.
        assert!(need_event(0xffff, 1, 0xfffe));
        assert!(!need_event(2, 1, 0xfffe));
    }

    #[test]
    fn buffer_indices() {
        // DSTRD 0: 4-byte stride, SQ/CQ of queue 1 at dwords 2 and 3.
        assert_eq!((sq_idx(1, 4), cq_idx(1, 4)), (2, 3));
        // DSTRD 1: 8-byte stride.
        assert_eq!((sq_idx(3, 8), cq_idx(3, 8)), (12, 14));
    }
}
