// SPDX-License-Identifier: GPL-2.0

//! One 32-bit word of coherent DMA memory that the device reads and writes too, located
//! once (C keeps a plain `__le32 *` into such a buffer, e.g. nvme's `dbbuf_sq_db`): a hot
//! path reads and writes it with no index or pointer-arithmetic check per access, which
//! `io_read!(buf, [try: i])` repeats every time.

use core::ptr::NonNull;

use kernel::{
    dma::Coherent,
    sync::Arc, //
};

/// Word `idx` of a `Coherent<[u32]>` that an `O` owns.
///
/// # Invariants
///
/// `ptr` points to a word of a coherent allocation borrowed from `*owner` (see
/// [`Self::new`]), which lives as long as `owner` does.
pub(crate) struct CoherentWord<O> {
    owner: Arc<O>,
    ptr: NonNull<u32>,
}

// SAFETY: The word is only accessed with volatile reads and writes of a whole `u32`
// (memory the device shares; a torn value cannot result), from any thread; the owner is
// shared as an `Arc<O>` would be.
unsafe impl<O: Send + Sync> Send for CoherentWord<O> {}
// SAFETY: As above: `&CoherentWord` only reads or writes the word volatile.
unsafe impl<O: Send + Sync> Sync for CoherentWord<O> {}

impl<O> CoherentWord<O> {
    /// Word `idx` of the buffer that `buf` picks out of `owner`; `None` past its end.
    ///
    /// `buf` returns a buffer borrowed from the owner for as long as the owner is
    /// borrowed, so the buffer cannot be freed before the owner is.
    pub(crate) fn new(
        owner: &Arc<O>,
        buf: impl for<'a> FnOnce(&'a O) -> &'a Coherent<[u32]>,
        idx: usize,
    ) -> Option<Self> {
        let c = buf(owner);
        if idx >= c.len() {
            return None;
        }
        // SAFETY: `idx` is below the buffer's length, so the offset stays inside its
        // allocation; the allocation's address is not null.
        let ptr = unsafe { NonNull::new_unchecked(c.as_mut_ptr().cast::<u32>().add(idx)) };
        // INVARIANT: a word of a buffer borrowed from `*owner`, which `owner` keeps.
        Some(Self {
            owner: owner.clone(),
            ptr,
        })
    }

    /// Reads the word.
    pub(crate) fn read(&self) -> u32 {
        // SAFETY: By the type invariant `ptr` is a live, aligned word of coherent memory;
        // volatile, as the device writes it concurrently.
        unsafe { self.ptr.as_ptr().read_volatile() }
    }

    /// Writes the word.
    pub(crate) fn write(&self, value: u32) {
        // SAFETY: As for `read`; the device reads it concurrently.
        unsafe { self.ptr.as_ptr().write_volatile(value) }
    }
}

impl<O> Clone for CoherentWord<O> {
    fn clone(&self) -> Self {
        // INVARIANT: the same word, with the owner kept once more.
        Self {
            owner: self.owner.clone(),
            ptr: self.ptr,
        }
    }
}
