// SPDX-License-Identifier: GPL-2.0

//! A blk-mq request with its typed driver data, the states in which the driver owns it,
//! and the DMA mapping of its data.
//!
//! C header: [`include/linux/blk-mq.h`](srctree/include/linux/blk-mq.h)

use core::{
    cell::UnsafeCell,
    marker::PhantomData,
    ptr, //
};

use kernel::{
    bindings,
    sync::atomic::{
        Acquire,
        Atomic, //
    },
    types::Opaque,
};

use super::{
    tag_set::TagSetInner,
    Operations, //
};

mod completion;
mod data_map;
mod dispatch;

pub(crate) use completion::{
    Batch,
    Claimed,
    Completing,
    HwTags,
    Lookup,
    TimedOut, //
};
pub(super) use data_map::DataMap;
pub(crate) use dispatch::{
    Dispatch,
    RqList,
    Started, //
};

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
            fn __blk_should_fake_timeout(q: *mut core::ffi::c_void) -> bool;
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
