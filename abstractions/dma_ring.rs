// SPDX-License-Identifier: GPL-2.0

//! A ring of fixed-size entries in coherent DMA memory that the device reads or writes
//! too (an NVMe submission or completion queue), whose entries are located by index with
//! one comparison against the ring's length. C indexes `nvmeq->sq_cmds` and `cqes`
//! directly; `io_project!(buf, [try: i])` checks the index and then every step of the
//! pointer arithmetic for overflow, on each access of the hot path.

use core::{
    mem::{
        align_of,
        size_of,
        MaybeUninit, //
    },
    ptr::NonNull,
};

use kernel::{
    device::{
        Bound,
        Device, //
    },
    dma::Coherent,
    prelude::*,
    transmute::{
        AsBytes,
        FromBytes, //
    },
};

/// The unit in which entries whose size is a multiple of it are read.
const WORD: usize = size_of::<u64>();

/// `len` entries of `T` in one coherent allocation.
///
/// # Invariants
///
/// `base` points to the first of the `len` entries of `buf`, which the ring owns: every
/// `base.add(i)` with `i < len` is a live, aligned `T` for as long as the ring lives.
/// `base` is aligned to [`WORD`] bytes.
pub(crate) struct DmaRing<T: AsBytes + FromBytes> {
    buf: Coherent<[T]>,
    base: NonNull<T>,
    len: usize,
}

// SAFETY: The entries are only accessed with volatile reads and writes (memory the device
// shares), from any thread; the allocation is sent as `Coherent` is.
unsafe impl<T: AsBytes + FromBytes + Send> Send for DmaRing<T> {}
// SAFETY: As above: `&DmaRing` only reads or writes entries volatile; concurrent users
// are ordered by the caller's locks, as for `Coherent`.
unsafe impl<T: AsBytes + FromBytes + Sync> Sync for DmaRing<T> {}

impl<T: AsBytes + FromBytes + Copy> DmaRing<T> {
    /// A ring of `len` zeroed entries, mapped for `dev`.
    ///
    /// # Errors
    ///
    /// `ENOMEM`; `EINVAL` for an empty ring.
    pub(crate) fn zeroed(dev: &Device<Bound>, len: usize) -> Result<Self> {
        if len == 0 {
            return Err(EINVAL);
        }
        let buf = Coherent::<T>::zeroed_slice(dev, len, GFP_KERNEL)?;
        let base = NonNull::new(buf.as_mut_ptr().cast::<T>()).ok_or(ENOMEM)?;
        // Coherent allocations are page aligned; checked, as `read` relies on it.
        if !(base.as_ptr() as usize).is_multiple_of(WORD) {
            return Err(EINVAL);
        }
        let len = buf.len();
        // INVARIANT: the first entry of `buf`'s `len` entries, aligned to `WORD`.
        Ok(Self { buf, base, len })
    }

    /// Bus address of the first entry.
    pub(crate) fn dma_address(&self) -> u64 {
        self.buf.dma_address()
    }

    /// Entry `i`, or `None` past the end.
    #[inline]
    fn entry(&self, i: usize) -> Option<NonNull<T>> {
        if i >= self.len {
            return None;
        }
        // SAFETY: `i < len`, so the offset stays inside the allocation (type invariant).
        Some(unsafe { self.base.add(i) })
    }

    /// Writes entry `i`; false (nothing written) past the end.
    #[inline]
    pub(crate) fn write(&self, i: usize, value: T) -> bool {
        let Some(p) = self.entry(i) else {
            return false;
        };
        // SAFETY: A live, aligned entry (type invariant); volatile, as the device reads
        // the ring concurrently.
        unsafe { p.as_ptr().write_volatile(value) };
        true
    }

    /// Reads entry `i`; `None` past the end. An entry whose size is a multiple of
    /// [`WORD`] is read a word at a time (a completion entry: two loads, where a volatile
    /// read of the structure loads each of its six fields).
    #[inline]
    pub(crate) fn read(&self, i: usize) -> Option<T> {
        let p = self.entry(i)?;
        if !size_of::<T>().is_multiple_of(WORD) {
            // SAFETY: A live, aligned entry (type invariant); volatile, as the device
            // writes the ring concurrently; `T: FromBytes`, so any contents are a valid
            // `T`.
            return Some(unsafe { p.as_ptr().read_volatile() });
        }
        let mut v = MaybeUninit::<T>::uninit();
        let src = p.as_ptr().cast::<u64>();
        let dst = v.as_mut_ptr().cast::<u64>();
        for k in 0..size_of::<T>() / WORD {
            // SAFETY: Word `k` lies inside the live entry (`k * WORD < size_of::<T>()`),
            // which is `WORD`-aligned (`base` is, and the entry size is a multiple of
            // `WORD`: type invariant); it is read volatile, as the device writes the ring
            // concurrently, and written unaligned into `v`, whose size is the entry's.
            unsafe { dst.add(k).write_unaligned(src.add(k).read_volatile()) };
        }
        // SAFETY: Every byte of `v` was written above; `T: FromBytes`, so any contents
        // are a valid `T`.
        Some(unsafe { v.assume_init() })
    }

    /// Reads the `U` at byte `offset` of entry `i` (e.g. one field, read before the rest
    /// of the entry is); `None` past the end or for a part that is not inside the entry
    /// and aligned (checks a constant `offset` costs nothing).
    #[inline]
    pub(crate) fn read_part<U: FromBytes>(&self, i: usize, offset: usize) -> Option<U> {
        let end = offset.checked_add(size_of::<U>())?;
        if end > size_of::<T>()
            || align_of::<U>() > align_of::<T>()
            || !offset.is_multiple_of(align_of::<U>())
        {
            return None;
        }
        let p = self.entry(i)?;
        // SAFETY: The `U` lies inside a live entry and is aligned (an entry's address is a
        // multiple of `align_of::<T>()`, itself a multiple of `align_of::<U>()`, and so is
        // `offset`), checked above; volatile as for `read`; `U: FromBytes`.
        Some(unsafe {
            p.as_ptr()
                .cast::<u8>()
                .add(offset)
                .cast::<U>()
                .read_volatile()
        })
    }
}
