// SPDX-License-Identifier: GPL-2.0

//! Lists of bios taken from requests, to submit again.
//!
//! C header: [`include/linux/bio.h`](srctree/include/linux/bio.h)

use core::ptr;

use kernel::bindings;

/// Bios taken from requests with `blk_steal_bios` (C: `struct bio_list`).
///
/// # Invariants
///
/// The list is empty or holds bios taken from requests, owned by the list (no request
/// holds them) until submitted.
pub(crate) struct BioList(bindings::bio_list);

// SAFETY: The bios belong to the list, not to a CPU or task; they may be submitted from
// any task.
unsafe impl Send for BioList {}

impl BioList {
    /// An empty list.
    pub(crate) const fn new() -> Self {
        // INVARIANT: empty.
        Self(bindings::bio_list {
            head: ptr::null_mut(),
            tail: ptr::null_mut(),
        })
    }

    /// Takes `rq`'s bios onto the list. Bios that asked for polled completion no longer
    /// do: they may come back on an interrupt-driven queue (as C's multipath failover).
    ///
    /// # Safety
    ///
    /// `rq` is a request the caller owns and has not started.
    pub(in crate::abstractions) unsafe fn steal(&mut self, rq: *mut bindings::request) {
        // SAFETY: Per the function's safety requirements the request and its bio chain
        // are the caller's; `blk_steal_bios` moves the chain to the list and leaves the
        // request without bios.
        unsafe {
            let mut bio = (*rq).bio;
            while !bio.is_null() {
                (*bio).bi_opf &= !(1 << bindings::req_flag_bits___REQ_POLLED);
                (*bio).__bindgen_anon_1.bi_cookie = bindings::BLK_QC_T_NONE as _;
                bio = (*bio).bi_next;
            }
            bindings::blk_steal_bios(&mut self.0, rq);
        }
        // INVARIANT: the bios came from the request, which no longer holds them.
    }

    /// Moves the bios of `other` to the end of this list (C: `bio_list_merge`).
    pub(crate) fn append(&mut self, mut other: BioList) {
        if other.0.head.is_null() {
            return;
        }
        if self.0.tail.is_null() {
            self.0.head = other.0.head;
        } else {
            // SAFETY: By the type invariant `tail` is the last bio of this list, owned by
            // it; linking `other`'s chain behind it moves those bios to this list.
            unsafe { (*self.0.tail).bi_next = other.0.head };
        }
        self.0.tail = other.0.tail;
        // INVARIANT: `other` gave up its bios.
        other.0.head = ptr::null_mut();
        other.0.tail = ptr::null_mut();
    }

    /// Submits every bio on the list again (C: `submit_bio_noacct`), in order; returns
    /// how many. May sleep.
    pub(crate) fn resubmit(mut self) -> u32 {
        self.submit_all()
    }

    fn submit_all(&mut self) -> u32 {
        let mut n = 0u32;
        while !self.0.head.is_null() {
            let bio = self.0.head;
            // SAFETY: By the type invariant `bio` is a bio of the list, owned by it:
            // unlinked here and handed to the block layer, which completes it.
            unsafe {
                self.0.head = (*bio).bi_next;
                (*bio).bi_next = ptr::null_mut();
                bindings::submit_bio_noacct(bio);
            }
            n = n.saturating_add(1);
        }
        self.0.tail = ptr::null_mut();
        n
    }
}

impl Drop for BioList {
    /// Bios are never lost: whatever is still on the list is submitted.
    fn drop(&mut self) {
        self.submit_all();
    }
}
