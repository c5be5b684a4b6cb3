// SPDX-License-Identifier: GPL-2.0

//! A blk-mq tag set over a driver's [`Operations`], with the DMA device and list-page pool
//! its requests map their data with, and the CPU-to-queue maps.
//!
//! C header: [`include/linux/blk-mq.h`](srctree/include/linux/blk-mq.h)

use core::{
    ffi::c_void,
    mem::size_of,
    ptr, //
};

use kernel::{
    bindings,
    device::{
        Bound,
        Device, //
    },
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        rcu,
    },
    types::Opaque,
};

use super::{
    operations::OperationsVTable,
    request::{
        Claimed,
        Request,
        RequestData, //
    },
    BlkStatus,
    Operations, //
};
use crate::abstractions::device::as_raw;

/// A kind of hardware queue map (C: `enum hctx_type`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum HctxType {
    /// `HCTX_TYPE_DEFAULT`: interrupt-driven I/O.
    Default,
    /// `HCTX_TYPE_READ`: reads, when separate.
    Read,
    /// `HCTX_TYPE_POLL`: polled I/O.
    Poll,
}

impl HctxType {
    fn index(self) -> usize {
        (match self {
            Self::Default => bindings::hctx_type_HCTX_TYPE_DEFAULT,
            Self::Read => bindings::hctx_type_HCTX_TYPE_READ,
            Self::Poll => bindings::hctx_type_HCTX_TYPE_POLL,
        }) as usize
    }
}

/// The CPU-to-hardware-queue maps of a tag set, while blk-mq has the driver fill them in.
///
/// # Invariants
///
/// `set` is a tag set in its `map_queues` callback: blk-mq serialises the call and
/// allocated `mq_map` of `nr_cpu_ids` entries for each of its `nr_maps` maps.
pub(crate) struct QueueMaps<'a> {
    set: &'a mut bindings::blk_mq_tag_set,
}

impl QueueMaps<'_> {
    /// # Safety
    ///
    /// `set` is a tag set in its `map_queues` callback.
    pub(super) unsafe fn from_raw<'a>(set: *mut bindings::blk_mq_tag_set) -> QueueMaps<'a> {
        // INVARIANT: Per the function's safety requirements.
        // SAFETY: Per the function's safety requirements, blk-mq gives the callback the
        // tag set to change for the call's duration.
        QueueMaps {
            set: unsafe { &mut *set },
        }
    }

    /// The number of hardware queues.
    pub(crate) fn nr_hw_queues(&self) -> u32 {
        self.set.nr_hw_queues
    }

    /// Whether the tag set has map `ty`.
    pub(crate) fn has(&self, ty: HctxType) -> bool {
        ty.index() < self.set.nr_maps as usize
    }

    /// Gives map `ty` the hardware queues `offset..offset + nr` and, when `nr > 0`, spreads
    /// the CPUs over them (C: `blk_mq_map_queues`).
    pub(crate) fn spread(&mut self, ty: HctxType, nr: u32, offset: u32) {
        if !self.has(ty) {
            return;
        }
        let map = &mut self.set.map[ty.index()];
        map.nr_queues = nr;
        map.queue_offset = offset;
        if nr > 0 {
            // SAFETY: The map is allocated (type invariant) and describes `nr` queues.
            unsafe { bindings::blk_mq_map_queues(map) };
        }
    }

    /// Gives map `ty` the hardware queues `offset..offset + nr` and puts CPU `cpu` on
    /// queue `offset + queue_of(cpu)` where that is below `nr` (other CPUs stay on the
    /// first queue, where blk-mq put them before calling).
    pub(crate) fn assign(
        &mut self,
        ty: HctxType,
        nr: u32,
        offset: u32,
        queue_of: impl Fn(usize) -> Option<u32>,
    ) {
        if !self.has(ty) {
            return;
        }
        let map = &mut self.set.map[ty.index()];
        map.nr_queues = nr;
        map.queue_offset = offset;
        // SAFETY: `mq_map` has `nr_cpu_ids` entries (type invariant), which the callback
        // may write.
        let mq_map = unsafe {
            core::slice::from_raw_parts_mut(map.mq_map, kernel::cpu::nr_cpu_ids() as usize)
        };
        for (cpu, slot) in mq_map.iter_mut().enumerate() {
            if let Some(q) = queue_of(cpu).filter(|q| *q < nr) {
                *slot = offset.saturating_add(q);
            }
        }
    }
}

/// How to create a [`TagSet`].
pub(crate) struct TagSetParams {
    /// Hardware queues (at least one).
    pub(crate) nr_hw_queues: u32,
    /// Tags per hardware queue (at most 65536: a request's tag is a `u16`).
    pub(crate) depth: u32,
    /// Request timeout in jiffies.
    pub(crate) timeout_jiffies: u32,
    /// The default, read and poll maps instead of the default map alone.
    pub(crate) poll_maps: bool,
    /// Size (and alignment) of the list pages requests may take; a power of two.
    pub(crate) list_page_size: usize,
    /// Most scatterlist entries a request maps (its queue's `max_segments` at most).
    pub(crate) max_segments: u16,
}

/// Scatterlist arrays for multi-segment requests (C: the DMA vector `mempool` of
/// `nvme_dev`): kept out of every request's data, so that the tags of a controller cost
/// about what C's do, and taken from a reserve when memory is short so that I/O still
/// makes progress (writeback and swap depend on it).
///
/// # Invariants
///
/// `pool` is a live `mempool` of kmalloc'd buffers of `cap` `scatterlist` entries each,
/// with at least one element in reserve, until drop.
struct SgPool {
    pool: *mut bindings::mempool,
    cap: u16,
}

impl SgPool {
    /// Elements kept in reserve: one request at a time can always be mapped (as C's).
    const RESERVE: i32 = 1;

    fn new(cap: u16) -> Result<Self> {
        if cap == 0 {
            return Err(EINVAL);
        }
        let bytes = usize::from(cap) * size_of::<bindings::scatterlist>();
        // SAFETY: `mempool_kmalloc`/`mempool_kfree` take the element size as their pool
        // data (C: `mempool_create_kmalloc_pool`); the reserve is allocated here.
        let pool = unsafe {
            bindings::mempool_create_node_noprof(
                Self::RESERVE,
                Some(bindings::mempool_kmalloc),
                Some(bindings::mempool_kfree),
                bytes as *mut c_void,
                bindings::GFP_KERNEL,
                bindings::NUMA_NO_NODE,
            )
        };
        if pool.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: created above, with elements of `cap` entries.
        Ok(Self { pool, cap })
    }
}

impl Drop for SgPool {
    fn drop(&mut self) {
        // SAFETY: By the invariant the pool is live; its elements went back with the
        // requests' mappings before the tag set (which owns the pool) was freed.
        unsafe { bindings::mempool_destroy(self.pool) };
    }
}

/// A pool of equal DMA buffers (C: `struct dma_pool`).
///
/// # Invariants
///
/// `pool` is a live `dma_pool` until drop.
struct DmaPool {
    pool: *mut bindings::dma_pool,
}

impl DmaPool {
    fn new(dev: &Device<Bound>, size: usize) -> Result<Self> {
        // SAFETY: The device is bound; the name is static; size and alignment are the
        // caller's power of two.
        let pool = unsafe {
            bindings::dma_pool_create_node(
                c"rust_nvme list".as_ptr().cast(),
                as_raw(dev),
                size,
                size,
                0,
                bindings::NUMA_NO_NODE,
            )
        };
        if pool.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: created above.
        Ok(Self { pool })
    }
}

impl Drop for DmaPool {
    fn drop(&mut self) {
        // SAFETY: By the invariant the pool is live; its buffers went back with the
        // requests' mappings before the tag set (which owns the pool) was freed.
        unsafe { bindings::dma_pool_destroy(self.pool) };
    }
}

/// What the tag set's `driver_data` points to.
pub(crate) struct TagSetInner<T: Operations> {
    /// The driver's data.
    pub(super) data: T::TagSetData,
    /// The device requests are DMA-mapped for.
    dev: ARef<Device>,
    pool: DmaPool,
    /// Size of the pool's buffers.
    pub(super) page_size: usize,
    sg_pool: SgPool,
}

// SAFETY: The pools are internally locked; the rest is `Send`/`Sync` by its own types.
unsafe impl<T: Operations> Send for TagSetInner<T> {}
// SAFETY: Shared use only calls the pools' internally locked functions and reads the
// device reference; the data is `Sync` by its trait bound.
unsafe impl<T: Operations> Sync for TagSetInner<T> {}

impl<T: Operations> TagSetInner<T> {
    pub(super) fn raw_dev(&self) -> *mut bindings::device {
        as_raw(&self.dev)
    }

    /// A buffer from the pool, in atomic context.
    pub(super) fn pool_alloc_atomic(&self) -> Result<(*mut c_void, u64), BlkStatus> {
        let mut dma = 0;
        // SAFETY: The pool is live (type invariant of `DmaPool`).
        let p = unsafe { bindings::dma_pool_alloc(self.pool.pool, bindings::GFP_ATOMIC, &mut dma) };
        if p.is_null() {
            return Err(BlkStatus::RESOURCE);
        }
        Ok((p, dma))
    }

    /// Gives a buffer back to the pool.
    pub(super) fn pool_free(&self, p: *mut c_void, dma: u64) {
        // SAFETY: Callers give back buffers of this pool with their bus address, once
        // (`DataMap` invariant).
        unsafe { bindings::dma_pool_free(self.pool.pool, p, dma) };
    }

    /// Entries of each scatterlist array of [`Self::sg_alloc_atomic`].
    pub(super) fn sg_cap(&self) -> u16 {
        self.sg_pool.cap
    }

    /// A scatterlist array of [`Self::sg_cap`] entries (uninitialised), in atomic
    /// context; from the reserve if the allocator has none.
    pub(super) fn sg_alloc_atomic(&self) -> Result<*mut bindings::scatterlist, BlkStatus> {
        // SAFETY: The pool is live (type invariant of `SgPool`); GFP_ATOMIC does not sleep.
        let p = unsafe {
            bindings::mempool_alloc_noprof(
                self.sg_pool.pool,
                bindings::GFP_ATOMIC | bindings::__GFP_NOWARN,
            )
        };
        if p.is_null() {
            return Err(BlkStatus::RESOURCE);
        }
        Ok(p.cast())
    }

    /// Gives an array of [`Self::sg_alloc_atomic`] back.
    pub(super) fn sg_free(&self, sg: *mut bindings::scatterlist) {
        // SAFETY: Callers give back arrays of this pool, once (`DataMap` invariant).
        unsafe { bindings::mempool_free(sg.cast(), self.sg_pool.pool) };
    }
}

/// A blk-mq tag set whose callbacks are `T`'s.
///
/// # Invariants
///
/// `set` was allocated by `blk_mq_alloc_tag_set` and is freed on drop; its `driver_data`
/// points to `inner`, its `ops` to `OperationsVTable<T>`, its `cmd_size` is that of
/// `RequestData<T>`.
pub(crate) struct TagSet<T: Operations> {
    set: Pin<KBox<Opaque<bindings::blk_mq_tag_set>>>,
    inner: Pin<KBox<TagSetInner<T>>>,
    /// Whether `quiesce` was called without `unquiesce` (blk-mq counts, and warns on an
    /// unbalanced unquiesce).
    quiesced: Atomic<bool>,
}

// SAFETY: blk-mq changes the tag set under its own locks; the data is `Send + Sync`.
unsafe impl<T: Operations> Send for TagSet<T> {}
// SAFETY: `&TagSet` methods call blk-mq functions that lock the tag set themselves, and
// reach the data only through `&` (`Sync` by its trait bound).
unsafe impl<T: Operations> Sync for TagSet<T> {}

impl<T: Operations> TagSet<T> {
    /// Allocates a tag set (C: `blk_mq_alloc_tag_set`) whose requests DMA-map their data
    /// for `dev`.
    pub(crate) fn new(data: T::TagSetData, dev: &Device<Bound>, p: TagSetParams) -> Result<Self> {
        if p.nr_hw_queues == 0 || p.depth == 0 || p.depth > 1 << 16 {
            return Err(EINVAL);
        }
        let inner = KBox::pin(
            TagSetInner {
                data,
                pool: DmaPool::new(dev, p.list_page_size)?,
                dev: ARef::from(&**dev),
                page_size: p.list_page_size,
                sg_pool: SgPool::new(p.max_segments)?,
            },
            GFP_KERNEL,
        )?;
        let set = KBox::pin(Opaque::<bindings::blk_mq_tag_set>::zeroed(), GFP_KERNEL)?;
        // SAFETY: The tag set is zeroed (its documented initial state), pinned (blk-mq keeps
        // pointers into it) and not shared yet; `driver_data` points to the pinned `inner`,
        // which lives as long as the tag set (field order of `Self` and `Drop`).
        let ret = unsafe {
            let s = set.get();
            (*s).ops = OperationsVTable::<T>::build();
            (*s).nr_hw_queues = p.nr_hw_queues;
            (*s).nr_maps = if p.poll_maps {
                bindings::hctx_type_HCTX_MAX_TYPES
            } else {
                1
            };
            (*s).queue_depth = p.depth;
            (*s).cmd_size = size_of::<RequestData<T>>() as u32;
            (*s).numa_node = bindings::NUMA_NO_NODE;
            (*s).timeout = p.timeout_jiffies;
            (*s).driver_data = ptr::from_ref::<TagSetInner<T>>(&inner)
                .cast_mut()
                .cast::<c_void>();
            bindings::blk_mq_alloc_tag_set(s)
        };
        kernel::error::to_result(ret)?;
        // INVARIANT: allocated above with `driver_data`, `ops` and `cmd_size` as required.
        Ok(Self {
            set,
            inner,
            quiesced: Atomic::new(false),
        })
    }

    pub(in crate::abstractions) fn raw(&self) -> *mut bindings::blk_mq_tag_set {
        self.set.get()
    }

    /// The driver's data.
    pub(crate) fn data(&self) -> &T::TagSetData {
        &self.inner.data
    }

    /// The number of hardware queues.
    pub(crate) fn nr_hw_queues(&self) -> u32 {
        // SAFETY: The set is allocated (type invariant); blk-mq changes the count only in
        // `update_nr_hw_queues`, which takes `&self` too: a racing read is at worst stale.
        unsafe { ptr::read_volatile(&raw const (*self.raw()).nr_hw_queues) }
    }

    /// Stops dispatching to the driver (C: `blk_mq_quiesce_tagset`); idempotent.
    pub(crate) fn quiesce(&self) {
        if self.quiesced.xchg(true, Relaxed) {
            return;
        }
        // SAFETY: The set is allocated (type invariant).
        unsafe { bindings::blk_mq_quiesce_tagset(self.raw()) };
    }

    /// Resumes dispatching (C: `blk_mq_unquiesce_tagset`); requests requeued meanwhile
    /// are dispatched. Does nothing unless quiesced.
    pub(crate) fn unquiesce(&self) {
        if !self.quiesced.xchg(false, Relaxed) {
            return;
        }
        // SAFETY: The set is allocated (type invariant).
        unsafe { bindings::blk_mq_unquiesce_tagset(self.raw()) };
    }

    /// Claims every started request whose completion nobody claimed and hands it to `f`
    /// (which completes it), then waits for the completions to finish (C:
    /// `blk_mq_tagset_busy_iter` + `blk_mq_tagset_wait_completed_request`). Returns how
    /// many `f` got.
    pub(crate) fn cancel_each<F: Fn(Claimed<'_, T>)>(&self, f: F) -> u32 {
        struct Ctx<'a, T: Operations, F: Fn(Claimed<'_, T>)> {
            f: &'a F,
            n: u32,
            _p: core::marker::PhantomData<T>,
        }
        /// # Safety
        ///
        /// `rq` is a busy request of a `TagSet<T>`; `data` is a `Ctx<T, F>`.
        unsafe extern "C" fn each<T: Operations, F: Fn(Claimed<'_, T>)>(
            rq: *mut bindings::request,
            data: *mut c_void,
        ) -> bool {
            // SAFETY: Per the function's safety requirements; the iterator holds a
            // reference on the request during the call.
            let (ctx, rq) = unsafe {
                (
                    &mut *data.cast::<Ctx<'_, T, F>>(),
                    Request::<T>::from_raw(rq),
                )
            };
            if let Some(c) = Claimed::new(rq) {
                ctx.n = ctx.n.saturating_add(1);
                (ctx.f)(c);
            }
            true
        }
        let mut ctx = Ctx::<T, F> {
            f: &f,
            n: 0,
            _p: core::marker::PhantomData,
        };
        // SAFETY: The set is allocated; `each` matches `busy_tag_iter_fn` and gets `ctx`,
        // which outlives the iteration.
        unsafe {
            bindings::blk_mq_tagset_busy_iter(
                self.raw(),
                Some(each::<T, F>),
                (&raw mut ctx).cast(),
            );
            bindings::blk_mq_tagset_wait_completed_request(self.raw());
        }
        ctx.n
    }

    /// Clears the tags slots of hardware queues `from..` and waits for the interrupt
    /// handlers that may still look at them (an RCU grace period).
    fn clear_hw_tags(&self, from: u32) {
        let mut i = from;
        while let Some((_, tags)) = T::hw_queue(&self.inner.data, i) {
            tags.clear();
            i = i.saturating_add(1);
            if i == u32::MAX {
                break;
            }
        }
        rcu::synchronize_rcu();
    }

    /// Changes the number of hardware queues (C: `blk_mq_update_nr_hw_queues`); blk-mq
    /// freezes the queues meanwhile and calls `map_queues`. May sleep.
    pub(crate) fn update_nr_hw_queues(&self, n: u32) {
        let Ok(nr) = i32::try_from(n) else {
            return;
        };
        // The tags of queues beyond the new count are freed by the remap.
        if n < self.nr_hw_queues() {
            self.clear_hw_tags(n);
        }
        // SAFETY: The set is allocated (type invariant).
        unsafe { bindings::blk_mq_update_nr_hw_queues(self.raw(), nr) };
    }
}

impl<T: Operations> Drop for TagSet<T> {
    fn drop(&mut self) {
        self.clear_hw_tags(0);
        // SAFETY: By the invariant the set is allocated; a gendisk holds a reference on
        // the owner of its tag set (`GenDisk` keeps it), so every disk is gone.
        unsafe { bindings::blk_mq_free_tag_set(self.raw()) };
    }
}
