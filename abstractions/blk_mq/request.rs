// SPDX-License-Identifier: GPL-2.0

//! A blk-mq request with its typed driver data, the states in which the driver owns it,
//! and the DMA mapping of its data.
//!
//! C header: [`include/linux/blk-mq.h`](srctree/include/linux/blk-mq.h)

use core::{
    cell::UnsafeCell,
    ffi::c_void,
    marker::PhantomData,
    mem::size_of,
    ptr, //
};

use kernel::{
    bindings,
    prelude::*,
    sync::{
        atomic::{
            Acquire,
            Atomic,
            Release, //
        },
        rcu,
    },
    transmute::FromBytes,
    types::Opaque,
};

use super::{
    tag_set::TagSetInner,
    BlkStatus,
    Operations, //
};
use crate::abstractions::bio::BioList;

const REQ_OP_MASK: u32 = (1 << bindings::REQ_OP_BITS) - 1;
/// `RQF_SPECIAL_PAYLOAD`: the data is `special_vec`, not the bios'.
const RQF_SPECIAL_PAYLOAD: bindings::req_flags_t = 1 << bindings::rqf_flags___RQF_SPECIAL_PAYLOAD;
/// `DMA_MAPPING_ERROR`: what a failed mapping returns.
const DMA_MAPPING_ERROR: u64 = !0;
/// `RQF_DONTPREP`: the driver has prepared this request before (it is a requeue).
const RQF_DONTPREP: bindings::req_flags_t = 1 << bindings::rqf_flags___RQF_DONTPREP;
/// `REQ_NOUNMAP`: write zeroes must not deallocate.
const REQ_NOUNMAP: u32 = 1 << bindings::req_flag_bits___REQ_NOUNMAP;
/// `REQ_FUA`: forced unit access.
const REQ_FUA: u32 = 1 << bindings::req_flag_bits___REQ_FUA;
/// `REQ_FAILFAST_MASK`: the submitter wants no retries (C: `blk_noretry_request`).
const REQ_FAILFAST_MASK: u32 = (1 << bindings::req_flag_bits___REQ_FAILFAST_DEV)
    | (1 << bindings::req_flag_bits___REQ_FAILFAST_TRANSPORT)
    | (1 << bindings::req_flag_bits___REQ_FAILFAST_DRIVER);

/// `REQ_INTEGRITY`: the request carries an integrity payload.
const REQ_INTEGRITY: u32 = 1 << bindings::req_flag_bits___REQ_INTEGRITY;
/// `BIP_CHECK_*` (`include/linux/bio-integrity.h`, not in the bindings): what the payload
/// asks the device to check.
const BIP_CHECK_GUARD: u16 = 1 << 5;
const BIP_CHECK_REFTAG: u16 = 1 << 6;
const BIP_CHECK_APPTAG: u16 = 1 << 7;

/// `struct bio_integrity_payload` of 7.3 (`include/linux/bio-integrity.h`), which the
/// bindings leave opaque: its layout, field for field.
#[repr(C)]
struct BioIntegrityPayload {
    bip_iter: bindings::bvec_iter,
    bip_vcnt: u16,
    bip_max_vcnt: u16,
    bip_flags: u16,
    app_tag: u16,
    bip_vec: *mut bindings::bio_vec,
}

/// What a request's integrity payload asks the device to check (C: `bip_flags`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IntegrityChecks {
    /// Check the guard.
    pub(crate) guard: bool,
    /// Check the reference tag.
    pub(crate) ref_tag: bool,
    /// Check the application tag: the tag expected.
    pub(crate) app_tag: Option<u16>,
}

/// What a request asks for (C: `enum req_op`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ReqOp {
    /// `REQ_OP_READ`.
    Read,
    /// `REQ_OP_WRITE`.
    Write,
    /// `REQ_OP_FLUSH`.
    Flush,
    /// `REQ_OP_DISCARD`.
    Discard,
    /// `REQ_OP_WRITE_ZEROES`.
    WriteZeroes,
    /// `REQ_OP_DRV_IN`: a driver-private request reading data (passthrough).
    DrvIn,
    /// `REQ_OP_DRV_OUT`: a driver-private request writing data (passthrough).
    DrvOut,
    /// `REQ_OP_ZONE_APPEND`: a write at the zone's write pointer; the completion says
    /// where it landed ([`Completing::set_sector`]).
    ZoneAppend,
    /// `REQ_OP_ZONE_OPEN`.
    ZoneOpen,
    /// `REQ_OP_ZONE_CLOSE`.
    ZoneClose,
    /// `REQ_OP_ZONE_FINISH`.
    ZoneFinish,
    /// `REQ_OP_ZONE_RESET`.
    ZoneReset,
    /// `REQ_OP_ZONE_RESET_ALL`.
    ZoneResetAll,
    /// Any other operation, by number.
    Other(u32),
}

impl ReqOp {
    fn from_flags(cmd_flags: u32) -> Self {
        match cmd_flags & REQ_OP_MASK {
            bindings::req_op_REQ_OP_READ => Self::Read,
            bindings::req_op_REQ_OP_WRITE => Self::Write,
            bindings::req_op_REQ_OP_FLUSH => Self::Flush,
            bindings::req_op_REQ_OP_DISCARD => Self::Discard,
            bindings::req_op_REQ_OP_WRITE_ZEROES => Self::WriteZeroes,
            bindings::req_op_REQ_OP_DRV_IN => Self::DrvIn,
            bindings::req_op_REQ_OP_DRV_OUT => Self::DrvOut,
            bindings::req_op_REQ_OP_ZONE_APPEND => Self::ZoneAppend,
            bindings::req_op_REQ_OP_ZONE_OPEN => Self::ZoneOpen,
            bindings::req_op_REQ_OP_ZONE_CLOSE => Self::ZoneClose,
            bindings::req_op_REQ_OP_ZONE_FINISH => Self::ZoneFinish,
            bindings::req_op_REQ_OP_ZONE_RESET => Self::ZoneReset,
            bindings::req_op_REQ_OP_ZONE_RESET_ALL => Self::ZoneResetAll,
            op => Self::Other(op),
        }
    }

    /// A driver-private request (`REQ_OP_DRV_IN`/`OUT`, C: `blk_rq_is_passthrough`).
    pub(crate) fn is_drv(self) -> bool {
        matches!(self, Self::DrvIn | Self::DrvOut)
    }

    /// The raw operation number.
    pub(crate) fn raw(self) -> u32 {
        match self {
            Self::Read => bindings::req_op_REQ_OP_READ,
            Self::Write => bindings::req_op_REQ_OP_WRITE,
            Self::Flush => bindings::req_op_REQ_OP_FLUSH,
            Self::Discard => bindings::req_op_REQ_OP_DISCARD,
            Self::WriteZeroes => bindings::req_op_REQ_OP_WRITE_ZEROES,
            Self::DrvIn => bindings::req_op_REQ_OP_DRV_IN,
            Self::DrvOut => bindings::req_op_REQ_OP_DRV_OUT,
            Self::ZoneAppend => bindings::req_op_REQ_OP_ZONE_APPEND,
            Self::ZoneOpen => bindings::req_op_REQ_OP_ZONE_OPEN,
            Self::ZoneClose => bindings::req_op_REQ_OP_ZONE_CLOSE,
            Self::ZoneFinish => bindings::req_op_REQ_OP_ZONE_FINISH,
            Self::ZoneReset => bindings::req_op_REQ_OP_ZONE_RESET,
            Self::ZoneResetAll => bindings::req_op_REQ_OP_ZONE_RESET_ALL,
            Self::Other(op) => op,
        }
    }
}

/// The direction of a request's data transfer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum DataDir {
    /// Memory to device (a write).
    ToDevice,
    /// Device to memory (a read).
    FromDevice,
}

impl DataDir {
    fn raw(self) -> bindings::dma_data_direction {
        match self {
            Self::ToDevice => bindings::dma_data_direction::DMA_TO_DEVICE,
            Self::FromDevice => bindings::dma_data_direction::DMA_FROM_DEVICE,
        }
    }
}

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
pub(super) struct DataMap {
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
    fn new() -> Self {
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
    fn unmap(&mut self, set: &TagSetInner<impl Operations>) {
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

/// What the tag set keeps after each `struct request` (its `cmd_size`).
///
/// # Invariants
///
/// `in_flight` is true from [`Dispatch::start`] until one context claims the completion
/// ([`Request::claim`]); only the claimer, or the dispatcher before the start, touches
/// `map` (and mutates `pdu` through a unique reference).
#[repr(C)]
pub(super) struct RequestData<T: Operations> {
    in_flight: Atomic<bool>,
    map: UnsafeCell<DataMap>,
    pdu: UnsafeCell<T::Pdu>,
}

impl<T: Operations> RequestData<T> {
    /// Initialises the data of a request the block layer has just allocated.
    ///
    /// # Safety
    ///
    /// `p` points to `size_of::<RequestData<T>>()` writable bytes, suitably aligned, that
    /// hold no live value.
    pub(super) unsafe fn init(p: *mut Self) {
        // SAFETY: Per the function's safety requirements.
        unsafe {
            p.write(Self {
                in_flight: Atomic::new(false),
                map: UnsafeCell::new(DataMap::new()),
                pdu: UnsafeCell::new(T::Pdu::default()),
            })
        };
    }

    /// Drops the data of a request the block layer is about to free.
    ///
    /// # Safety
    ///
    /// `p` was initialised by [`Self::init`], is not used again, and no mapping is live.
    pub(super) unsafe fn exit(p: *mut Self) {
        // SAFETY: Per the function's safety requirements the value is live and unused
        // from here on. No mapping is live, so it holds no array or page of the pools.
        unsafe { ptr::drop_in_place(p) };
    }
}

/// Reads a field of the request a `&Request<T>` names.
macro_rules! field {
    ($rq:expr, $f:ident) => {
        // SAFETY: By the type invariant of `Request` the request is valid and owned by the
        // driver, so blk-mq does not change the fields read here meanwhile.
        unsafe { (*$rq.as_raw()).$f }
    };
}

/// A blk-mq request of a [`super::TagSet<T>`], as the driver sees it while it owns it.
///
/// Only the ownership handles ([`Dispatch`], [`Claimed`], [`Completing`], [`TimedOut`])
/// hand out references to it, so its fields are stable while one is held.
///
/// # Invariants
///
/// The wrapped `struct request` belongs to a tag set created by `TagSet<T>`: its driver
/// data is an initialised `RequestData<T>` and its queue's tag set's `driver_data` a
/// `TagSetInner<T>`; the driver owns it (blk-mq does not reuse it) while referenced.
#[repr(transparent)]
pub(crate) struct Request<T: Operations>(Opaque<bindings::request>, PhantomData<T>);

impl<T: Operations> Request<T> {
    /// # Safety
    ///
    /// `rq` satisfies the type invariants for `'a`.
    pub(super) unsafe fn from_raw<'a>(rq: *mut bindings::request) -> &'a Self {
        // SAFETY: `Request<T>` is `repr(transparent)` over the request; per the function's
        // safety requirements it is valid for `'a`.
        unsafe { &*rq.cast::<Self>() }
    }

    pub(super) fn as_raw(&self) -> *mut bindings::request {
        self.0.get()
    }

    fn data(&self) -> &RequestData<T> {
        // SAFETY: C's `blk_mq_rq_to_pdu`: the driver data follows the request, and by the
        // type invariant it is an initialised `RequestData<T>` (only reached through `&`,
        // its mutable parts are in cells).
        unsafe { &*self.as_raw().add(1).cast::<RequestData<T>>() }
    }

    pub(super) fn tag_set(&self) -> &TagSetInner<T> {
        // SAFETY: By the type invariant the queue is live and its tag set's `driver_data`
        // is the `TagSetInner<T>`, which outlives all requests.
        unsafe {
            &*(*(*(*self.as_raw()).q).tag_set)
                .driver_data
                .cast::<TagSetInner<T>>()
        }
    }

    /// The tag set's data.
    pub(crate) fn tag_set_data(&self) -> &T::TagSetData {
        &self.tag_set().data
    }

    /// The data of the request queue the request was issued on (C: `q->queuedata`).
    pub(crate) fn queue_data(&self) -> &T::QueueData {
        // SAFETY: `GenDisk<T>` sets every queue's `queuedata` to its `T::QueueData`, owned
        // by the gendisk, which the queue (and so the request) does not outlive.
        unsafe { &*(*(*self.as_raw()).q).queuedata.cast::<T::QueueData>() }
    }

    /// The operation.
    pub(crate) fn op(&self) -> ReqOp {
        ReqOp::from_flags(field!(self, cmd_flags))
    }

    /// `REQ_FUA` is set.
    pub(crate) fn is_fua(&self) -> bool {
        field!(self, cmd_flags) & REQ_FUA != 0
    }

    /// `REQ_NOUNMAP` is set.
    pub(crate) fn is_nounmap(&self) -> bool {
        field!(self, cmd_flags) & REQ_NOUNMAP != 0
    }

    /// The integrity payload's first bio payload, if the request carries one (C:
    /// `blk_integrity_rq`: `rq->bio->bi_integrity`).
    fn integrity_payload(&self) -> Option<*const BioIntegrityPayload> {
        if field!(self, cmd_flags) & REQ_INTEGRITY == 0 {
            return None;
        }
        let bio = field!(self, bio);
        if bio.is_null() {
            return None;
        }
        // SAFETY: The request is the driver's (type invariant), so its bios are stable;
        // a bio is valid while its request is.
        let bip = unsafe { (*bio).bi_integrity }.cast::<BioIntegrityPayload>();
        (!bip.is_null()).then_some(bip.cast_const())
    }

    /// What the request's integrity payload asks the device to check; `None` without a
    /// payload (C: `blk_integrity_rq`, `bio_integrity_flagged`).
    pub(crate) fn integrity_checks(&self) -> Option<IntegrityChecks> {
        let bip = self.integrity_payload()?;
        // SAFETY: A payload attached to a bio of a request the driver owns is live and
        // unchanged until the request ends; its layout is `BioIntegrityPayload`'s.
        let (flags, app) = unsafe { ((*bip).bip_flags, (*bip).app_tag) };
        Some(IntegrityChecks {
            guard: flags & BIP_CHECK_GUARD != 0,
            ref_tag: flags & BIP_CHECK_REFTAG != 0,
            app_tag: (flags & BIP_CHECK_APPTAG != 0).then_some(app),
        })
    }

    /// Bytes of the integrity payload of the request's first bio (all of it for a
    /// driver-private request, which has one bio); 0 without a payload.
    pub(crate) fn integrity_bytes(&self) -> u32 {
        // SAFETY: As in `integrity_checks`.
        self.integrity_payload()
            .map_or(0, |bip| unsafe { (*bip).bip_iter.bi_size })
    }

    /// The protection interval number of the request's first sector, all 64 bits (C:
    /// `full_pi_ref_tag`): what type 1 and 2 reference tags count from.
    pub(crate) fn pi_ref_tag(&self) -> u64 {
        let q = field!(self, q);
        // SAFETY: The queue outlives its requests; its limits change only while it is
        // frozen, when no request is owned by the driver.
        let (lbs, exp) = unsafe {
            (
                (*q).limits.logical_block_size,
                (*q).limits.integrity.interval_exp,
            )
        };
        let shift = if exp != 0 {
            u32::from(exp)
        } else {
            lbs.max(1).ilog2()
        };
        self.sector() >> shift.saturating_sub(kernel::block::SECTOR_SHIFT)
    }

    /// The submitter wants no retries (C: `blk_noretry_request`).
    pub(crate) fn is_failfast(&self) -> bool {
        field!(self, cmd_flags) & REQ_FAILFAST_MASK != 0
    }

    /// The first sector (C: `blk_rq_pos`).
    pub(crate) fn sector(&self) -> u64 {
        field!(self, __sector)
    }

    /// The data length in bytes (C: `blk_rq_bytes`).
    pub(crate) fn bytes(&self) -> u32 {
        field!(self, __data_len)
    }

    /// The tag, unique among the requests in flight on its hardware queue.
    pub(crate) fn tag(&self) -> u16 {
        // A driver-owned request has a tag in `0..queue_depth`, and depths fit in 16 bits
        // (`TagSetParams::depth`).
        field!(self, tag) as u16
    }

    /// Physical data segments (C: `blk_rq_nr_phys_segments`).
    pub(crate) fn nr_phys_segments(&self) -> u16 {
        field!(self, nr_phys_segments)
    }

    /// The request carries bios (it is not a flush or an empty driver request).
    pub(crate) fn has_bios(&self) -> bool {
        !field!(self, bio).is_null()
    }

    /// The (first sector, bytes) of each of the request's bios (a discard's ranges).
    pub(crate) fn bio_extents(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        let mut bio = field!(self, bio);
        core::iter::from_fn(move || {
            if bio.is_null() {
                return None;
            }
            // SAFETY: `bio` is in the request's chain, which is stable while the driver
            // owns the request (type invariant).
            let (sector, size, next) = unsafe {
                (
                    (*bio).bi_iter.bi_sector,
                    (*bio).bi_iter.bi_size,
                    (*bio).bi_next,
                )
            };
            bio = next;
            Some((sector, size))
        })
    }

    /// blk-mq's state is "in flight" (started, not yet completed).
    pub(crate) fn is_in_flight(&self) -> bool {
        // SAFETY: The request is valid (type invariant); `state` changes concurrently
        // with its completion, so it is read once, as C's `READ_ONCE`.
        let state = unsafe { ptr::read_volatile(&raw const (*self.as_raw()).state) };
        state == bindings::mq_rq_state_MQ_RQ_IN_FLIGHT
    }

    /// Takes the completion of a started request: true for exactly one caller per start.
    fn claim(&self) -> bool {
        // INVARIANT: only the caller that flips the flag owns the completion. Acquire pairs
        // with the release in `start`: the dispatcher's writes are visible.
        self.data().in_flight.xchg(false, Acquire)
    }

    fn pdu(&self) -> &T::Pdu {
        // SAFETY: Mutable references to the PDU exist only in `Dispatch` (before the start)
        // and for a request just allocated or ended by its submitter, never while a
        // handle that calls this is alive (type invariant of `RequestData`).
        unsafe { &*self.data().pdu.get() }
    }

    /// # Safety
    ///
    /// The caller owns the mapping: it dispatches the request before its start, or has
    /// claimed its completion.
    unsafe fn map(&self) -> &mut DataMap {
        // SAFETY: Per the function's safety requirements nobody else uses the mapping.
        unsafe { &mut *self.data().map.get() }
    }

    /// Whether fault injection wants this completion dropped (C:
    /// `blk_should_fake_timeout`).
    #[cfg(CONFIG_FAIL_IO_TIMEOUT)]
    fn should_fake_timeout(&self) -> bool {
        extern "C" {
            // Declared over `void *`: `struct request_queue` is not FFI-safe as bindgen
            // sees it.
            fn __blk_should_fake_timeout(q: *mut c_void) -> bool;
        }
        // SAFETY: The request's queue is live (type invariant); `queue_flags` is a plain
        // bit field.
        unsafe {
            let q = (*self.as_raw()).q;
            (*q).queue_flags & (1 << bindings::QUEUE_FLAG_FAIL_IO) != 0
                && __blk_should_fake_timeout(q.cast())
        }
    }

    /// Without `CONFIG_FAIL_IO_TIMEOUT` nothing is ever dropped.
    #[cfg(not(CONFIG_FAIL_IO_TIMEOUT))]
    fn should_fake_timeout(&self) -> bool {
        false
    }
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

/// The requests blk-mq hands to the driver together (C: `queue_rqs`'s `struct rq_list`):
/// each is taken with [`Self::pop`] and then started, or handed back with
/// [`Self::retry`]; blk-mq issues what is handed back (and what was not taken) one by one
/// through `queue_rq`.
///
/// # Invariants
///
/// `list` is blk-mq's list for one `queue_rqs` call: requests of a `TagSet<T>` to be
/// dispatched, not started, linked through `rq_next`; `back` links the requests handed
/// back. Both are reachable only through `self` during the call.
pub(crate) struct RqList<'a, T: Operations> {
    list: &'a mut bindings::rq_list,
    back: bindings::rq_list,
    _p: PhantomData<T>,
}

/// Appends `rq` to `l` (C: `rq_list_add_tail`).
///
/// # Safety
///
/// `rq` is a live request on no list; `l` links live requests.
unsafe fn rq_list_add_tail(l: &mut bindings::rq_list, rq: *mut bindings::request) {
    // SAFETY: Per the function's safety requirements.
    unsafe {
        (*rq).__bindgen_anon_1.rq_next = ptr::null_mut();
        if l.tail.is_null() {
            l.head = rq;
        } else {
            (*l.tail).__bindgen_anon_1.rq_next = rq;
        }
    }
    l.tail = rq;
}

impl<'a, T: Operations> RqList<'a, T> {
    /// # Safety
    ///
    /// `list` is the list blk-mq passed to `queue_rqs` of a `TagSet<T>`, valid for `'a`.
    pub(super) unsafe fn new(list: *mut bindings::rq_list) -> Self {
        // INVARIANT: per the function's safety requirements; nothing handed back yet.
        Self {
            // SAFETY: Per the function's safety requirements.
            list: unsafe { &mut *list },
            back: bindings::rq_list {
                head: ptr::null_mut(),
                tail: ptr::null_mut(),
            },
            _p: PhantomData,
        }
    }

    /// The next request with the data of its hardware queue (C: `rq_list_pop`).
    pub(crate) fn pop(&mut self) -> Option<(&'a T::HwData, Dispatch<'a, T>)> {
        let rq = self.list.head;
        if rq.is_null() {
            return None;
        }
        // SAFETY: By the type invariant `rq` heads the list of requests to dispatch; it
        // leaves the list here. Its hardware context was initialised by `init_hctx`,
        // whose data lives as long as the tag set.
        unsafe {
            self.list.head = (*rq).__bindgen_anon_1.rq_next;
            if self.list.head.is_null() {
                self.list.tail = ptr::null_mut();
            }
            (*rq).__bindgen_anon_1.rq_next = ptr::null_mut();
            let hw = &*(*(*rq).mq_hctx).driver_data.cast::<T::HwData>();
            Some((hw, Dispatch::new(rq)))
        }
    }

    /// Hands a request back, unmapped, for blk-mq to issue through `queue_rq`.
    pub(crate) fn retry(&mut self, mut rq: Dispatch<'a, T>) {
        rq.unmap();
        // SAFETY: The request was taken off the list by `pop` and not started (type
        // invariant of `Dispatch`); it is on no list.
        unsafe { rq_list_add_tail(&mut self.back, rq.rq.as_raw()) };
    }
}

impl<T: Operations> Drop for RqList<'_, T> {
    fn drop(&mut self) {
        // What was handed back goes first, then what was not taken: blk-mq issues the
        // list again in that order.
        if self.back.head.is_null() {
            return;
        }
        if !self.list.head.is_null() {
            // SAFETY: `back.tail` is a request handed back (type invariant).
            unsafe { (*self.back.tail).__bindgen_anon_1.rq_next = self.list.head };
            self.back.tail = self.list.tail;
        }
        *self.list = bindings::rq_list {
            head: self.back.head,
            tail: self.back.tail,
        };
    }
}

/// A request being dispatched (`queue_rq`), not yet started: the driver's data is the
/// caller's to change, and so is the data mapping.
///
/// # Invariants
///
/// `rq` is being dispatched by blk-mq and has not been started.
pub(crate) struct Dispatch<'a, T: Operations> {
    rq: &'a Request<T>,
}

impl<'a, T: Operations> Dispatch<'a, T> {
    /// # Safety
    ///
    /// `rq` is a request of a `TagSet<T>` handed to `queue_rq` (or taken off the list
    /// of `queue_rqs`), not started.
    pub(super) unsafe fn new(rq: *mut bindings::request) -> Self {
        // INVARIANT: Per the function's safety requirements.
        // SAFETY: Per the function's safety requirements blk-mq handed the request to the
        // driver.
        Self {
            rq: unsafe { Request::from_raw(rq) },
        }
    }

    /// The request, while this handle owns it.
    pub(crate) fn rq(&self) -> &Request<T> {
        self.rq
    }

    /// The tag set's data (it outlives the callback this handle lives in).
    pub(crate) fn tag_set_data(&self) -> &'a T::TagSetData {
        self.rq.tag_set_data()
    }

    /// The data of the request's queue (its disk lives while the callback runs).
    pub(crate) fn queue_data(&self) -> &'a T::QueueData {
        self.rq.queue_data()
    }

    /// The driver's data of the request.
    pub(crate) fn pdu(&mut self) -> &mut T::Pdu {
        // SAFETY: By the type invariant the request is not started: nothing else refers to
        // its PDU (see `RequestData`), and `&mut self` makes this reference unique.
        unsafe { &mut *self.rq.data().pdu.get() }
    }

    /// Whether this is the request's first dispatch since it was allocated (not a
    /// requeue); marks it prepared (C: `RQF_DONTPREP`).
    pub(crate) fn first_dispatch(&mut self) -> bool {
        let rq = self.rq.as_raw();
        // SAFETY: The request is the driver's while it dispatches it (type invariant);
        // `rq_flags` is the driver's to set then.
        unsafe {
            if (*rq).rq_flags & RQF_DONTPREP != 0 {
                return false;
            }
            (*rq).rq_flags |= RQF_DONTPREP;
        }
        true
    }

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

    /// Moves the request's bios to `list` and ends it without them (C: multipath
    /// failover's `blk_steal_bios`); bios that asked for polled completion no longer do.
    pub(crate) fn steal_bios(mut self, list: &mut BioList) {
        self.unmap();
        // SAFETY: The request is the driver's and not started (type invariant): its bios
        // move to the list, then it is started and ended without them (no bio completes).
        unsafe {
            list.steal(self.rq.as_raw());
            bindings::blk_mq_start_request(self.rq.as_raw());
            bindings::blk_mq_end_request(self.rq.as_raw(), BlkStatus::OK.raw());
        }
    }

    /// Starts the request (C: `blk_mq_start_request`); from here the device may complete
    /// it at any time.
    pub(crate) fn start(self) -> Started<'a, T> {
        // Release: the dispatcher's writes to the PDU and mapping happen before a claim.
        self.rq.data().in_flight.store(true, Release);
        // SAFETY: The request is being dispatched and not started (type invariant).
        unsafe { bindings::blk_mq_start_request(self.rq.as_raw()) };
        Started { rq: self.rq }
    }
}

/// A request the driver started: the device owns it now.
pub(crate) struct Started<'a, T: Operations> {
    rq: &'a Request<T>,
}

impl<T: Operations> Started<'_, T> {
    /// The driver's data of the request, as the dispatcher left it (fields that change
    /// once it is started are the driver's atomics).
    pub(crate) fn pdu(&self) -> &T::Pdu {
        self.rq.pdu()
    }

    /// The request never reached the device (its submission failed): releases its
    /// mapping; `queue_rq` then returns an error and blk-mq ends it.
    pub(crate) fn fail(self) {
        if self.rq.claim() {
            let set = self.rq.tag_set();
            // SAFETY: Claimed above: this context owns the mapping.
            unsafe { self.rq.map() }.unmap(set);
        }
    }

    /// The request never reached the device, and no `queue_rq` returns a status for it
    /// (it came from `queue_rqs`): releases its mapping and ends it with `status`. Nothing
    /// if another context (a cancel) claimed it first: that one ends it.
    pub(crate) fn end_unsent(self, status: BlkStatus) {
        if self.rq.claim() {
            let set = self.rq.tag_set();
            // SAFETY: Claimed above: this context owns the mapping and the started
            // request, which blk-mq lets its driver end.
            unsafe {
                self.rq.map().unmap(set);
                bindings::blk_mq_end_request(self.rq.as_raw(), status.raw());
            }
        }
    }
}

/// The tags of one hardware queue, for finding a request by tag from an interrupt
/// handler (C: `blk_mq_tag_to_rq` on `hctx->tags`). Set when blk-mq initialises the
/// hardware context; cleared before the tags are freed.
///
/// # Invariants
///
/// Holds null or the `struct blk_mq_tags` of a hardware queue of a live `TagSet<T>`;
/// it is cleared, followed by an RCU grace period, before those tags are freed.
pub(crate) struct HwTags<T: Operations> {
    tags: Atomic<usize>,
    _p: PhantomData<T>,
}

/// What a tag names, from the interrupt handler's side.
pub(crate) enum Lookup<'a, T: Operations> {
    /// No request in flight has this tag (a spurious or duplicate completion).
    NotFound,
    /// Fault injection dropped the completion: the request will time out.
    Dropped,
    /// The caller now owns the request's completion.
    Claimed(Claimed<'a, T>),
}

impl<T: Operations> HwTags<T> {
    /// An empty slot.
    pub(crate) const fn new() -> Self {
        Self {
            tags: Atomic::new(0),
            _p: PhantomData,
        }
    }

    pub(super) fn set(&self, tags: *mut bindings::blk_mq_tags) {
        self.tags.store(tags as usize, Release);
    }

    pub(super) fn clear(&self) {
        self.tags.store(0, Release);
    }

    /// Claims the completion of the request in flight with `tag`, under `_rcu` (which
    /// keeps the tags from being freed meanwhile).
    pub(crate) fn claim<'a>(&'a self, tag: u16, _rcu: &'a rcu::Guard) -> Lookup<'a, T> {
        let tags = self.tags.load(Acquire) as *mut bindings::blk_mq_tags;
        if tags.is_null() {
            return Lookup::NotFound;
        }
        // SAFETY: By the invariant `tags` are live tags of a `TagSet<T>` and stay so under
        // the RCU read lock held for `'a`; `rqs` has `nr_tags` entries.
        let rq = unsafe {
            if u32::from(tag) >= (*tags).nr_tags {
                return Lookup::NotFound;
            }
            ptr::read_volatile((*tags).rqs.add(usize::from(tag)))
        };
        if rq.is_null() {
            return Lookup::NotFound;
        }
        // SAFETY: A request of the tag set (the tags' requests are its static requests,
        // allocated until the tags are freed). It may not be the driver's right now: only
        // its state is read before the claim proves ownership.
        let rq = unsafe { Request::<T>::from_raw(rq) };
        if !rq.is_in_flight() {
            return Lookup::NotFound;
        }
        if rq.should_fake_timeout() {
            return Lookup::Dropped;
        }
        if !rq.claim() {
            return Lookup::NotFound;
        }
        Lookup::Claimed(Claimed { rq })
    }
}

/// A started request whose completion the holder owns (exactly one per start).
pub(crate) struct Claimed<'a, T: Operations> {
    rq: &'a Request<T>,
}

impl<'a, T: Operations> Claimed<'a, T> {
    pub(super) fn new(rq: &'a Request<T>) -> Option<Self> {
        rq.claim().then_some(Self { rq })
    }

    /// The data of the request's queue (its disk outlives the request in flight).
    pub(crate) fn queue_data(&self) -> &'a T::QueueData {
        self.rq.queue_data()
    }

    /// The driver's data of the request.
    pub(crate) fn pdu(&self) -> &T::Pdu {
        self.rq.pdu()
    }

    /// What the request asks for.
    pub(crate) fn op(&self) -> ReqOp {
        self.rq.op()
    }

    /// Completes the request: `Operations::complete` runs on the submitting CPU or here
    /// (C: `blk_mq_complete_request_remote`, then the local completion).
    pub(crate) fn complete(self) {
        let rq = self.rq.as_raw();
        // SAFETY: The request is started and its completion claimed by this context.
        if !unsafe { bindings::blk_mq_complete_request_remote(rq) } {
            T::complete(Completing { rq: self.rq });
        }
    }
}

/// A request in the `complete` callback: the callee ends or requeues it.
///
/// # Invariants
///
/// `rq` is started and its completion was claimed, by a [`Claimed`] handed over here.
pub(crate) struct Completing<'a, T: Operations> {
    rq: &'a Request<T>,
}

impl<'a, T: Operations> Completing<'a, T> {
    /// # Safety
    ///
    /// `rq` is a request of a `TagSet<T>` whose completion was claimed and handed to
    /// blk-mq (`blk_mq_complete_request_remote`), which now calls `complete` for it.
    pub(super) unsafe fn from_raw(rq: *mut bindings::request) -> Self {
        // INVARIANT: Per the function's safety requirements.
        Self {
            // SAFETY: Per the function's safety requirements.
            rq: unsafe { Request::from_raw(rq) },
        }
    }

    /// The request, while this handle owns it.
    pub(crate) fn rq(&self) -> &Request<T> {
        self.rq
    }

    /// The tag set's data (it outlives the callback this handle lives in).
    pub(crate) fn tag_set_data(&self) -> &'a T::TagSetData {
        self.rq.tag_set_data()
    }

    /// The data of the request's queue (its disk lives while the callback runs).
    pub(crate) fn queue_data(&self) -> &'a T::QueueData {
        self.rq.queue_data()
    }

    /// The driver's data of the request.
    pub(crate) fn pdu(&self) -> &T::Pdu {
        self.rq.pdu()
    }

    fn unmap(&self) {
        let set = self.rq.tag_set();
        // SAFETY: The completion was claimed (type invariant): this context owns the
        // mapping.
        unsafe { self.rq.map() }.unmap(set);
    }

    /// Records where the data of a zone append landed, before the request ends (C:
    /// `req->__sector = ...` in `nvme_end_req_zoned`): the block layer hands it to the
    /// submitter as the bio's sector.
    pub(crate) fn set_sector(&mut self, sector: u64) {
        // SAFETY: The completion was claimed (type invariant): this context owns the
        // request until it ends it, and nothing else reads `__sector` meanwhile.
        unsafe { (*self.rq.as_raw()).__sector = sector };
    }

    /// Releases the data mapping and ends the request with `status` (C:
    /// `blk_mq_end_request`).
    pub(crate) fn end(self, status: BlkStatus) {
        self.unmap();
        // SAFETY: The driver owns the request and ends it exactly once (consumes `self`).
        unsafe { bindings::blk_mq_end_request(self.rq.as_raw(), status.raw()) };
    }

    /// Releases the data mapping and gives the request back to blk-mq to dispatch again
    /// (C: `blk_mq_requeue_request(rq, true)`: the requeue list is kicked).
    pub(crate) fn requeue(self) {
        self.unmap();
        // SAFETY: As in `end`.
        unsafe { bindings::blk_mq_requeue_request(self.rq.as_raw(), true) };
    }
}

/// A request whose timer expired (the `timeout` callback); blk-mq holds a reference on it
/// meanwhile. It may complete concurrently.
pub(crate) struct TimedOut<'a, T: Operations> {
    rq: &'a Request<T>,
}

impl<'a, T: Operations> TimedOut<'a, T> {
    /// # Safety
    ///
    /// `rq` is a request of a `TagSet<T>` handed to the `timeout` callback.
    pub(super) unsafe fn from_raw(rq: *mut bindings::request) -> Self {
        Self {
            // SAFETY: Per the function's safety requirements; blk-mq keeps the request
            // allocated and its fields stable while the handler runs.
            rq: unsafe { Request::from_raw(rq) },
        }
    }

    /// The request.
    pub(crate) fn rq(&self) -> &'a Request<T> {
        self.rq
    }

    /// The driver's data of the request.
    pub(crate) fn pdu(&self) -> &'a T::Pdu {
        self.rq.pdu()
    }
}

/// The driver's data of `rq`, for driver-private requests a submitter owns.
///
/// # Safety
///
/// `rq` is a request of a `TagSet<T>` that the caller owns and that is not dispatched
/// (just allocated, or ended): nothing else refers to its data.
pub(in crate::abstractions) unsafe fn pdu_of<T: Operations>(
    rq: *mut bindings::request,
) -> *mut T::Pdu {
    // SAFETY: Per the function's safety requirements the request satisfies `Request<T>`'s
    // invariants while the caller holds it.
    unsafe { Request::<T>::from_raw(rq) }.data().pdu.get()
}

/// `RQF_SCHED_TAGS`: the request has scheduler data (never batched).
const RQF_SCHED_TAGS: bindings::req_flags_t = 1 << bindings::rqf_flags___RQF_SCHED_TAGS;
/// What makes blk-mq take a completion timestamp (C: `blk_mq_need_time_stamp`).
const RQF_NEED_TIMESTAMP: bindings::req_flags_t = (1 << bindings::rqf_flags___RQF_IO_STAT)
    | (1 << bindings::rqf_flags___RQF_STATS)
    | (1 << bindings::rqf_flags___RQF_USE_SCHED);

/// Completions gathered to be ended together (C: `struct io_comp_batch`): one timestamp
/// and one pass over the tags for all of them, with `blk_mq_end_request_batch`.
///
/// Either the driver's own ([`Batch::new`], ended on drop, as C's `nvme_irq` ends its
/// `DEFINE_IO_COMP_BATCH`), or the one blk-mq passes to `poll`, which its caller ends.
///
/// # Invariants
///
/// The batch (`Own`, or `*External`, live for `'a`) holds on its list only requests of a
/// `TagSet<T>` whose completion was claimed, and its `complete` is null or
/// `complete_batch::<T>`. (Its list points to the requests only, so `Own` may move.)
pub(crate) struct Batch<'a, T: Operations> {
    iob: Iob,
    _p: PhantomData<(&'a mut bindings::io_comp_batch, T)>,
}

/// Where a [`Batch`] lives. blk-mq's is only pointed to: a poll that finds nothing costs
/// no clearing of a batch of the driver's own.
enum Iob {
    /// The driver's own, ended when the [`Batch`] drops.
    Own(bindings::io_comp_batch),
    /// blk-mq's, ended by its caller.
    External(*mut bindings::io_comp_batch),
}

impl<T: Operations> Batch<'_, T> {
    /// The driver's own batch, on the stack of the reaping context, ended when it drops.
    pub(crate) fn new() -> Batch<'static, T> {
        // INVARIANT: empty.
        Batch {
            // SAFETY: All-zero is an empty batch (C: `DEFINE_IO_COMP_BATCH`).
            iob: Iob::Own(unsafe { core::mem::zeroed() }),
            _p: PhantomData,
        }
    }

    fn iob(&mut self) -> *mut bindings::io_comp_batch {
        match &mut self.iob {
            Iob::Own(b) => b,
            Iob::External(p) => *p,
        }
    }

    /// The batch blk-mq hands to `poll` (null: none).
    ///
    /// # Safety
    ///
    /// `iob` is null or a live batch for `'a` that only this tag set's completions join
    /// (blk-mq's poll of one queue).
    pub(super) unsafe fn from_raw<'a>(iob: *mut bindings::io_comp_batch) -> Option<Batch<'a, T>> {
        if iob.is_null() {
            return None;
        }
        // INVARIANT: Per the function's safety requirements.
        Some(Batch {
            iob: Iob::External(iob),
            _p: PhantomData,
        })
    }

    /// Adds a claimed completion that ends without error; false (nothing done) when the
    /// request cannot be batched (C: `blk_mq_add_to_batch`).
    fn add(&mut self, rq: &Request<T>) -> bool {
        let iob = self.iob();
        let r = rq.as_raw();
        // SAFETY: The request's completion was claimed by the caller, so the driver owns
        // it; the batch is live (type invariant).
        unsafe {
            if (*r).rq_flags & RQF_SCHED_TAGS != 0 || (*r).end_io.is_some() {
                return false;
            }
            let iob = &mut *iob;
            match iob.complete {
                None => iob.complete = Some(complete_batch::<T>),
                // Ours (the same function's address; another driver's batch is refused).
                Some(f)
                    if core::ptr::fn_addr_eq(f, complete_batch::<T> as unsafe extern "C" fn(_)) => {
                }
                Some(_) => return false,
            }
            iob.need_ts |= (*r).rq_flags & RQF_NEED_TIMESTAMP != 0;
            // C: `rq_list_add_tail`.
            (*r).__bindgen_anon_1.rq_next = ptr::null_mut();
            if iob.req_list.tail.is_null() {
                iob.req_list.head = r;
            } else {
                (*iob.req_list.tail).__bindgen_anon_1.rq_next = r;
            }
            iob.req_list.tail = r;
        }
        // INVARIANT: a claimed request of a `TagSet<T>`, `complete` ours.
        true
    }
}

impl<T: Operations> Drop for Batch<'_, T> {
    fn drop(&mut self) {
        if let Iob::Own(b) = &mut self.iob {
            if !b.req_list.head.is_null() {
                // SAFETY: The driver's own batch (type invariant), ended here, once.
                unsafe { complete_batch::<T>(b) };
            }
        }
    }
}

/// Ends a batch of claimed completions: releases each request's data mapping, then ends
/// them together (C: `nvme_pci_complete_batch`, `nvme_complete_batch`).
///
/// # Safety
///
/// `iob` is a live batch that satisfies the invariants of [`Batch`] for `T`.
unsafe extern "C" fn complete_batch<T: Operations>(iob: *mut bindings::io_comp_batch) {
    // SAFETY: Per the function's safety requirements every request on the list is a
    // claimed request of a `TagSet<T>`: this context owns its mapping until it is ended.
    unsafe {
        let mut r = (*iob).req_list.head;
        while !r.is_null() {
            let rq = Request::<T>::from_raw(r);
            let set = rq.tag_set();
            rq.map().unmap(set);
            r = (*r).__bindgen_anon_1.rq_next;
        }
        bindings::blk_mq_end_request_batch(iob);
    }
}

impl<'a, T: Operations> Claimed<'a, T> {
    /// Completes a request that ended without error in `batch` when it can go there,
    /// else as [`Claimed::complete`] does (C: `blk_mq_add_to_batch`, else
    /// `nvme_pci_complete_rq`). Requests that ended with an error, and driver-private
    /// ones, always go through `Operations::complete`.
    pub(crate) fn complete_in(self, batch: &mut Batch<'_, T>, is_error: bool) {
        if is_error || self.rq.op().is_drv() || !batch.add(self.rq) {
            self.complete();
        }
    }
}
