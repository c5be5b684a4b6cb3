// SPDX-License-Identifier: GPL-2.0

//! The DMA mapping of a request's data: its one segment or its scatterlist, its
//! integrity payload and a list page (C: what `struct nvme_iod` keeps of the mapping).

use core::{
    ffi::c_void,
    marker::PhantomData,
    mem::size_of,
    ptr, //
};

use kernel::{bindings, prelude::*, transmute::FromBytes};

use super::{
    super::{
        tag_set::TagSetInner,
        BlkStatus,
        Operations, //
    },
    DataDir,
    Dispatch,
    Request,
    DMA_MAPPING_ERROR,
    RQF_SPECIAL_PAYLOAD, //
};

/// The DMA mapping of one request's data: its one segment, or its scatterlist; and a list
/// page from the tag set's pool.
///
/// # Invariants
///
/// - `single_len != 0` iff the request's one segment is mapped for the tag set's device
///   in direction `dir` at bus address `single_addr` (`mapped` is 1, `nents` 0).
/// - `sg` is null, or an array of the tag set's scatterlist pool used by this request
///   only.
/// - `nents != 0` iff `sg` holds `nents` entries mapped for the tag set's device in
///   direction `dir`, of which `mapped` DMA segments resulted.
/// - `page` is null, or a buffer of the tag set's pool at bus address `page_dma`, used by
///   this request only.
/// - `meta_len != 0` iff the request's integrity payload is mapped for the tag set's
///   device in direction `dir` at `meta_addr`.
pub(in crate::abstractions::blk_mq) struct DataMap {
    single_addr: u64,
    single_len: u32,
    meta_addr: u64,
    meta_len: u32,
    nents: u32,
    mapped: u32,
    dir: bindings::dma_data_direction,
    sg: *mut bindings::scatterlist,
    page: *mut c_void,
    page_dma: u64,
}

impl DataMap {
    pub(super) fn new() -> Self {
        // INVARIANT: nothing mapped, no array, no page.
        Self {
            single_addr: 0,
            single_len: 0,
            meta_addr: 0,
            meta_len: 0,
            nents: 0,
            mapped: 0,
            dir: bindings::dma_data_direction::DMA_NONE,
            sg: ptr::null_mut(),
            page: ptr::null_mut(),
            page_dma: 0,
        }
    }

    /// Gives the scatterlist array back to the pool; nothing may be mapped through it.
    fn free_sg(&mut self, set: &TagSetInner<impl Operations>) {
        if !self.sg.is_null() {
            set.sg_free(self.sg);
            // INVARIANT: no array.
            self.sg = ptr::null_mut();
        }
    }

    /// Releases the list page and the DMA mappings (C: `nvme_unmap_data`,
    /// `nvme_unmap_metadata`).
    pub(super) fn unmap(&mut self, set: &TagSetInner<impl Operations>) {
        if self.meta_len != 0 {
            // SAFETY: By the invariant the payload is mapped at `meta_addr` for the tag
            // set's device (which it keeps alive) in `dir`.
            unsafe {
                bindings::dma_unmap_page_attrs(
                    set.raw_dev(),
                    self.meta_addr,
                    self.meta_len as usize,
                    self.dir,
                    0,
                )
            };
            // INVARIANT: no payload mapped.
            self.meta_len = 0;
        }
        if !self.page.is_null() {
            set.pool_free(self.page, self.page_dma);
            // INVARIANT: no page.
            self.page = ptr::null_mut();
        }
        if self.single_len != 0 {
            // SAFETY: By the invariant the segment is mapped at `single_addr` for the tag
            // set's device (which it keeps alive) in `dir`.
            unsafe {
                bindings::dma_unmap_page_attrs(
                    set.raw_dev(),
                    self.single_addr,
                    self.single_len as usize,
                    self.dir,
                    0,
                )
            };
            // INVARIANT: nothing mapped.
            self.single_len = 0;
            self.mapped = 0;
        }
        if self.nents != 0 {
            // SAFETY: By the invariant `sg` holds `nents` entries mapped for the tag set's
            // device (which it keeps alive) in `dir`.
            unsafe {
                bindings::dma_unmap_sg_attrs(set.raw_dev(), self.sg, self.nents as i32, self.dir, 0)
            };
            // INVARIANT: nothing mapped.
            self.nents = 0;
            self.mapped = 0;
        }
        self.free_sg(set);
    }
}

/// Maps `len` bytes from `offset` in `page` for `dev` in direction `dir` (C:
/// `dma_map_page` + `dma_mapping_error`, which also tells DMA-API debugging the address
/// was checked); `RESOURCE` when the mapping failed (blk-mq retries).
///
/// # Safety
///
/// The bytes are memory the caller owns until it unmaps them; `dev` is alive.
unsafe fn dma_map(
    dev: *mut bindings::device,
    page: *mut bindings::page,
    offset: u32,
    len: u32,
    dir: DataDir,
) -> Result<u64, BlkStatus> {
    // SAFETY: Per the function's safety requirements.
    let addr = unsafe {
        bindings::dma_map_page_attrs(dev, page, offset as usize, len as usize, dir.raw(), 0)
    };
    #[cfg(CONFIG_DMA_API_DEBUG)]
    // SAFETY: `addr` was just returned by a mapping for `dev`.
    unsafe {
        bindings::debug_dma_mapping_error(dev, addr)
    };
    if addr == DMA_MAPPING_ERROR {
        return Err(BlkStatus::RESOURCE);
    }
    Ok(addr)
}

/// Iterator over the DMA segments (bus address, length) of a mapped request.
pub(crate) struct SgIter<'a> {
    /// The one segment of a request mapped without a scatterlist, not yet returned.
    single: Option<(u64, u32)>,
    cur: *mut bindings::scatterlist,
    left: u32,
    _p: PhantomData<&'a DataMap>,
}

impl<'a> SgIter<'a> {
    fn new(map: &'a mut DataMap) -> Self {
        if map.single_len != 0 {
            return Self {
                single: Some((map.single_addr, map.single_len)),
                cur: ptr::null_mut(),
                left: 0,
                _p: PhantomData,
            };
        }
        Self {
            single: None,
            cur: map.sg,
            left: map.mapped,
            _p: PhantomData,
        }
    }
}

impl Iterator for SgIter<'_> {
    type Item = (u64, u32);

    fn next(&mut self) -> Option<(u64, u32)> {
        if let Some(seg) = self.single.take() {
            return Some(seg);
        }
        if self.left == 0 || self.cur.is_null() {
            return None;
        }
        // SAFETY: `cur` is one of the `left` remaining DMA segments of a scatterlist
        // mapped by `dma_map_sg`, which stays mapped for `'a`.
        let item = unsafe {
            (
                bindings::sg_dma_address(self.cur),
                bindings::sg_dma_len(self.cur),
            )
        };
        self.left -= 1;
        // SAFETY: `cur` is a mapped entry (see above) of a table `sg_init_table` ended
        // with an end marker, after which `sg_next` returns null.
        self.cur = unsafe { bindings::sg_next(self.cur) };
        Some(item)
    }
}

/// The parts of a mapped request that describe its data to the device.
pub(crate) struct MapParts<'a, E> {
    /// The DMA segments.
    pub(crate) segments: SgIter<'a>,
    /// The list page as entries of `E` (empty without a page).
    pub(crate) list: &'a mut [E],
    /// Bus address of the list page.
    pub(crate) list_dma: u64,
}

/// The mapping of a request being dispatched.
impl<T: Operations> Dispatch<'_, T> {
    fn map(&mut self) -> &mut DataMap {
        // SAFETY: Not started (type invariant): the dispatcher owns the mapping.
        unsafe { self.rq.map() }
    }

    /// Maps the request's data for DMA in direction `dir`; returns the number of DMA
    /// segments. A request of one segment is mapped as that segment, without a
    /// scatterlist (C: `nvme_pci_setup_data_simple`'s `dma_map_bvec`); others through
    /// their scatterlist. Released by [`Self::unmap`], [`Completing::end`] or
    /// [`Completing::requeue`].
    ///
    /// # Errors
    ///
    /// `IOERR` for a request without data segments or with more than the queue allows,
    /// `RESOURCE` when memory or the DMA mapping is short (blk-mq retries).
    pub(crate) fn map_data(&mut self, dir: DataDir, max_segments: u16) -> Result<u32, BlkStatus> {
        if self.rq.nr_phys_segments() == 1 && self.map_single(dir)? {
            return Ok(1);
        }
        self.map_sg(dir, max_segments)
    }

    /// Maps the request's integrity payload, `len` bytes in one segment, for the device
    /// (C: `nvme_pci_setup_meta_mptr`, which maps the payload's first vector; here the
    /// whole of it, which the queue's one integrity segment makes contiguous). Returns
    /// its bus address.
    ///
    /// # Errors
    ///
    /// `IOERR` without a payload, with more than one integrity segment, or one shorter
    /// than `len`; `RESOURCE` when the DMA mapping is short (blk-mq retries).
    pub(crate) fn map_integrity(&mut self, dir: DataDir, len: u32) -> Result<u64, BlkStatus> {
        let bip = self.rq.integrity_payload().ok_or(BlkStatus::IOERR)?;
        let rq = self.rq.as_raw();
        // SAFETY: The payload of a request the driver owns is live and stable (see
        // `Request::integrity_checks`); its iterator indexes its vector.
        let (page, offset, size, nseg) = unsafe {
            let it = (*bip).bip_iter;
            let bv = &*(*bip).bip_vec.add(it.bi_idx as usize);
            (
                bv.bv_page,
                bv.bv_offset.saturating_add(it.bi_offset),
                it.bi_size,
                (*rq).nr_integrity_segments,
            )
        };
        // One segment: the request's payloads are physically contiguous from the first
        // one's current vector on; the first bio's alone must not be longer than all.
        if nseg != 1 || len == 0 || size > len || self.map().meta_len != 0 {
            return Err(BlkStatus::IOERR);
        }
        let dev = self.rq.tag_set().raw_dev();
        // SAFETY: The `len` bytes from `offset` in `page` are the request's integrity
        // data (one contiguous segment, checked above), which the driver owns until it
        // ends the request; the device is kept alive by the tag set.
        let addr = unsafe { dma_map(dev, page, offset, len, dir) }?;
        // INVARIANT: mapped above, in the direction of the request's data.
        let map = self.map();
        map.meta_addr = addr;
        map.meta_len = len;
        map.dir = dir.raw();
        Ok(addr)
    }

    /// Maps a request whose data is one segment of one bio; false (nothing mapped) when
    /// its data is anything else.
    fn map_single(&mut self, dir: DataDir) -> Result<bool, BlkStatus> {
        let rq = self.rq.as_raw();
        let bytes = self.rq.bytes();
        // SAFETY: The request is the driver's while it dispatches it (type invariant): its
        // flags and bio chain are stable. The bio's iterator indexes its vector (C:
        // `req_bvec`, `mp_bvec_iter_bvec`).
        let (page, offset, len) = unsafe {
            let bio = (*rq).bio;
            if (*rq).rq_flags & RQF_SPECIAL_PAYLOAD != 0 || bio.is_null() {
                return Ok(false);
            }
            let it = (*bio).bi_iter;
            let bv = &*(*bio).bi_io_vec.add(it.bi_idx as usize);
            let len = bv.bv_len.saturating_sub(it.bi_offset).min(it.bi_size);
            (bv.bv_page, bv.bv_offset.saturating_add(it.bi_offset), len)
        };
        // One physical segment can still be several bios back to back: only a request
        // whose first bio vector holds all of its data goes this way (C maps the first
        // vector whatever the request's length).
        if len == 0 || len != bytes {
            return Ok(false);
        }
        let dev = self.rq.tag_set().raw_dev();
        // SAFETY: The page and the `len` bytes from `offset` are the request's data, which
        // the driver owns until it ends the request; the device is kept alive by the tag
        // set.
        let addr = unsafe { dma_map(dev, page, offset, len, dir) }?;
        // INVARIANT: mapped above.
        let map = self.map();
        map.single_addr = addr;
        map.single_len = len;
        map.dir = dir.raw();
        map.mapped = 1;
        Ok(true)
    }

    /// Maps the request's data through its scatterlist.
    fn map_sg(&mut self, dir: DataDir, max_segments: u16) -> Result<u32, BlkStatus> {
        let nseg = self.rq.nr_phys_segments();
        if nseg == 0 || nseg > max_segments || self.map().mapped != 0 {
            return Err(BlkStatus::IOERR);
        }
        let rq = self.rq.as_raw();
        let set = self.rq.tag_set();
        if nseg > set.sg_cap() {
            return Err(BlkStatus::IOERR);
        }
        let dev = set.raw_dev();
        let sg = set.sg_alloc_atomic()?;
        let map = self.map();
        // INVARIANT: an array of the pool, for this request only.
        map.sg = sg;
        let mut last = ptr::null_mut();
        // SAFETY: `sg` has `sg_cap() >= nseg` entries, and `__blk_rq_map_sg` fills at most
        // `nr_phys_segments` (= `nseg`) of them from the request, which the driver owns.
        let n = unsafe {
            // Initialise only the entries this request needs: clearing all of them for
            // every small I/O costs more than the I/O itself under emulation.
            bindings::sg_init_table(sg, u32::from(nseg));
            bindings::__blk_rq_map_sg(rq, sg, &mut last)
        };
        if n <= 0 {
            map.free_sg(set);
            return Err(BlkStatus::IOERR);
        }
        // SAFETY: `sg` holds `n` entries describing the request's pages; the device is
        // kept alive by the tag set.
        let mapped = unsafe {
            bindings::dma_map_sg_attrs(dev, sg, n, dir.raw(), bindings::DMA_ATTR_NO_WARN as _)
        };
        if mapped == 0 {
            map.free_sg(set);
            return Err(BlkStatus::RESOURCE);
        }
        // INVARIANT: `n` entries mapped in `dir`, `mapped` segments.
        map.nents = n as u32;
        map.mapped = mapped;
        map.dir = dir.raw();
        Ok(mapped)
    }

    /// The one segment (bus address, length) of a request [`Self::map_data`] mapped
    /// without a scatterlist; `None` for any other mapping.
    pub(crate) fn single_segment(&mut self) -> Option<(u64, u32)> {
        let map = self.map();
        (map.single_len != 0).then_some((map.single_addr, map.single_len))
    }

    /// The DMA segments of the mapping (none before [`Self::map_sg`]).
    pub(crate) fn segments(&mut self) -> SgIter<'_> {
        SgIter::new(self.map())
    }

    /// Takes a list page from the tag set's pool, released with the mapping.
    ///
    /// # Errors
    ///
    /// `RESOURCE` when the pool is empty (blk-mq retries), `IOERR` when the request has
    /// one already or the tag set has no pool.
    pub(crate) fn alloc_list_page(&mut self) -> Result<(), BlkStatus> {
        let set = self.rq.tag_set();
        if !self.map().page.is_null() {
            return Err(BlkStatus::IOERR);
        }
        let (p, dma) = set.pool_alloc_atomic()?;
        // INVARIANT: a pool buffer for this request only.
        let map = self.map();
        map.page = p;
        map.page_dma = dma;
        Ok(())
    }

    /// The request, the segments and the list page as entries of `E`, to fill in.
    pub(crate) fn parts<E: FromBytes>(&mut self) -> (&Request<T>, MapParts<'_, E>) {
        let rq = self.rq;
        let page_size = self.rq.tag_set().page_size;
        let map = self.map();
        let n = if map.page.is_null() || size_of::<E>() == 0 {
            0
        } else {
            page_size / size_of::<E>()
        };
        let list = if n == 0 {
            &mut [][..]
        } else {
            // SAFETY: By the `DataMap` invariant the page is this request's only; pool
            // buffers are `page_size` bytes, page aligned (aligned for any entry type), and
            // `E: FromBytes` is valid for whatever bytes they hold. The slice borrows the
            // mapping, so it cannot outlive the page.
            unsafe { core::slice::from_raw_parts_mut(map.page.cast::<E>(), n) }
        };
        let list_dma = map.page_dma;
        (
            rq,
            MapParts {
                segments: SgIter::new(map),
                list,
                list_dma,
            },
        )
    }

    /// Releases the mapping and the list page, if any.
    pub(crate) fn unmap(&mut self) {
        let set = self.rq.tag_set();
        self.map().unmap(set);
    }
}
