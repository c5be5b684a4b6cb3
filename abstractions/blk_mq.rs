// SPDX-License-Identifier: GPL-2.0

//! blk-mq: a tag set over a driver's [`Operations`], its requests with their typed
//! per-request data, and the DMA mapping of request data.
//!
//! C header: [`include/linux/blk-mq.h`](srctree/include/linux/blk-mq.h)
//!
//! 7.3's `kernel::block::mq` has no hardware-context data, timeout, poll, `map_queues` or
//! `commit_rqs` callbacks, no request lookup by tag from an interrupt handler, and no data
//! mapping; this module provides them. Inline C helpers missing from bindings (`req_op`,
//! `blk_rq_pos`, `blk_mq_rq_to_pdu`'s users, `blk_mq_tag_to_rq`) are re-expressed here,
//! and only here.
//!
//! Ownership of a request, as the driver sees it: [`Dispatch`] (in `queue_rq`, before the
//! request is started: the driver's data may be changed), then started (the device owns
//! it), then [`Claimed`] by exactly one completer (the interrupt handler, a cancel, a
//! failed submission), then [`Completing`] in the `complete` callback, which ends or
//! requeues it and always releases its data mapping first.

mod operations;
pub(crate) mod request;
mod tag_set;

pub(crate) use operations::{
    Operations,
    TimeoutReturn, //
};
pub(crate) use request::{
    Batch,
    Completing,
    DataDir,
    Dispatch,
    HwTags,
    Lookup,
    ReqOp,
    RqList,
    Started,
    TimedOut, //
};
pub(crate) use tag_set::{
    HctxType,
    QueueMaps,
    TagSet,
    TagSetParams, //
};

/// A block layer status (C: `blk_status_t`, `include/linux/blk_types.h`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct BlkStatus(u8);

impl BlkStatus {
    /// `BLK_STS_OK`.
    pub(crate) const OK: Self = Self(0);
    /// `BLK_STS_NOTSUPP`: the operation is not supported.
    pub(crate) const NOTSUPP: Self = Self(1);
    /// `BLK_STS_NOSPC`: out of space.
    pub(crate) const NOSPC: Self = Self(3);
    /// `BLK_STS_TARGET`: an addressing error (beyond the device).
    pub(crate) const TARGET: Self = Self(5);
    /// `BLK_STS_MEDIUM`: a media error.
    pub(crate) const MEDIUM: Self = Self(7);
    /// `BLK_STS_PROTECTION`: protection information did not check out.
    pub(crate) const PROTECTION: Self = Self(8);
    /// `BLK_STS_RESOURCE`: out of a resource; blk-mq retries the request later.
    pub(crate) const RESOURCE: Self = Self(9);
    /// `BLK_STS_IOERR`: any other I/O error.
    pub(crate) const IOERR: Self = Self(10);
    /// `BLK_STS_ZONE_OPEN_RESOURCE`: the zone would exceed the device's open zones.
    pub(crate) const ZONE_OPEN_RESOURCE: Self = Self(14);
    /// `BLK_STS_ZONE_ACTIVE_RESOURCE`: the zone would exceed the device's active zones.
    pub(crate) const ZONE_ACTIVE_RESOURCE: Self = Self(15);

    /// The raw value.
    pub(crate) fn raw(self) -> bindings::blk_status_t {
        self.0
    }

    /// From a raw value.
    pub(crate) fn from_raw(s: bindings::blk_status_t) -> Self {
        Self(s)
    }

    /// The errno the block layer reports for this status (C: `blk_status_to_errno`; 0
    /// for `OK`).
    pub(crate) fn to_errno(self) -> i32 {
        // SAFETY: A pure table lookup, valid for any value.
        unsafe { bindings::blk_status_to_errno(self.0) }
    }
}

use kernel::bindings;
