// SPDX-License-Identifier: GPL-2.0

//! Request data mapping: a request's NVMe command, its scatterlist, DMA mapping, and the
//! PRPs, SGL or DSM ranges that describe it (`crate::prp`, `crate::sgl`); a list page
//! comes from the controller's DMA pool and goes back on every completion path.

use super::*;

/// Iterator over the DMA-mapped entries of a scatterlist.
pub(super) struct SgIter {
    cur: *mut bindings::scatterlist,
    left: u32,
}

impl Iterator for SgIter {
    type Item = (u64, u32);

    fn next(&mut self) -> Option<(u64, u32)> {
        if self.left == 0 || self.cur.is_null() {
            return None;
        }
        // SAFETY: `cur` is one of the `left` remaining mapped entries of a scatterlist
        // built by `__blk_rq_map_sg` and mapped by `dma_map_sg`.
        let item = unsafe {
            (
                bindings::sg_dma_address(self.cur),
                bindings::sg_dma_len(self.cur),
            )
        };
        self.left -= 1;
        // SAFETY: As above; `sg_next` returns null after the end marker.
        self.cur = unsafe { bindings::sg_next(self.cur) };
        Some(item)
    }
}

/// Releases a request's DMA mapping and PRP list.
///
/// # Safety
///
/// `rq` is a request of a [`TagSet`] whose PDU was set up by `queue_rq`, and `ctx` is that
/// tag set's context.
pub(super) unsafe fn unmap_data(ctx: &IoContext, rq: *mut bindings::request) {
    // SAFETY: Per the function's safety requirements.
    let pdu = unsafe { &mut *pdu(rq) };
    if !pdu.prp_list.is_null() {
        // SAFETY: The list came from this pool with this address.
        unsafe {
            bindings::dma_pool_free(
                ctx.pool.pool,
                pdu.prp_list.cast::<c_void>(),
                pdu.prp_list_dma,
            )
        };
        pdu.prp_list = ptr::null_mut();
    }
    if pdu.nents != 0 {
        // SAFETY: `sg_table` holds `nents` entries mapped for `ctx`'s device in `dir`.
        unsafe {
            bindings::dma_unmap_sg_attrs(ctx.dev(), sg_table(pdu), pdu.nents as i32, pdu.dir, 0)
        };
        pdu.nents = 0;
    }
    free_sg_ext(pdu);
}

/// The request's scatterlist: the allocated array, or the PDU's own.
fn sg_table(pdu: &mut Pdu) -> *mut bindings::scatterlist {
    if pdu.sg_ext.is_null() {
        pdu.sg.as_mut_ptr()
    } else {
        pdu.sg_ext
    }
}

/// Frees the request's allocated scatterlist array, if it has one (nothing is mapped
/// through it any more).
fn free_sg_ext(pdu: &mut Pdu) {
    if !pdu.sg_ext.is_null() {
        // SAFETY: `sg_ext` and `sg_ext_cap` are the raw parts of a `KVec` that `map_data`
        // took apart for this request, with no initialised elements that need dropping
        // (`scatterlist` is plain data).
        drop(unsafe { KVec::from_raw_parts(pdu.sg_ext, 0, pdu.sg_ext_cap) });
        pdu.sg_ext = ptr::null_mut();
        pdu.sg_ext_cap = 0;
    }
}

/// Builds the NVMe command for `rq` and maps its data.
///
/// # Safety
///
/// `rq` is a request of a [`TagSet`] being dispatched to `ctx`; `ns` is its namespace.
pub(super) unsafe fn prep_rq(
    ctx: &IoContext,
    ns: &NsInfo,
    rq: *mut bindings::request,
) -> Result<Command, u8> {
    // SAFETY: Per the function's safety requirements.
    let (flags, sector, bytes, tag) =
        unsafe { ((*rq).cmd_flags, (*rq).__sector, (*rq).__data_len, (*rq).tag) };
    // SAFETY: As above.
    let pdu = unsafe { &mut *pdu(rq) };
    // SAFETY: As above; `rq_flags` belongs to the driver while it owns the request.
    unsafe {
        if (*rq).rq_flags & RQF_DONTPREP == 0 {
            // First dispatch (not a requeue): start counting retries.
            pdu.retries = 0;
            (*rq).rq_flags |= RQF_DONTPREP;
        }
    }
    pdu.aborted = false;
    pdu.status = 0;
    pdu.nents = 0;
    pdu.prp_list = ptr::null_mut();
    pdu.sg_ext = ptr::null_mut();
    pdu.sg_ext_cap = 0;
    pdu.slba = 0;

    let op = flags & REQ_OP_MASK;
    // A disk of capacity 0 (format the block layer cannot address) gets no block I/O but
    // flushes; refuse anything else before its LBA arithmetic.
    if !is_passthru(flags) && op != bindings::req_op_REQ_OP_FLUSH && !ns.block_io() {
        return Err(sts::IOERR);
    }
    let mut cmd = match op {
        bindings::req_op_REQ_OP_DRV_IN | bindings::req_op_REQ_OP_DRV_OUT => {
            let mut cmd = pdu.passthru;
            if bytes > 0 {
                let write = op == bindings::req_op_REQ_OP_DRV_OUT;
                // SAFETY: Per the function's safety requirements.
                unsafe { map_data(ctx, rq, pdu, &mut cmd, write, bytes) }?;
            }
            cmd
        }
        bindings::req_op_REQ_OP_READ | bindings::req_op_REQ_OP_WRITE => {
            let shift = ns.lba_shift();
            let slba = sector >> shift.saturating_sub(kernel::block::SECTOR_SHIFT);
            let nlb = bytes >> shift;
            if nlb == 0 || bytes & ((1 << shift) - 1) != 0 {
                return Err(sts::IOERR);
            }
            let opc = if op == bindings::req_op_REQ_OP_WRITE {
                IoOpcode::Write
            } else {
                IoOpcode::Read
            };
            pdu.slba = slba;
            let mut cmd = Command::rw(opc, ns.nsid, slba, nlb, flags & REQ_FUA != 0);
            // SAFETY: Per the function's safety requirements.
            unsafe { map_data(ctx, rq, pdu, &mut cmd, opc == IoOpcode::Write, bytes) }?;
            cmd
        }
        bindings::req_op_REQ_OP_FLUSH => Command::flush(ns.nsid),
        bindings::req_op_REQ_OP_DISCARD if ns.dsm => {
            // SAFETY: Per the function's safety requirements.
            unsafe { setup_discard(ctx, ns, rq, pdu) }?
        }
        bindings::req_op_REQ_OP_WRITE_ZEROES if ns.write_zeroes => {
            let shift = ns.lba_shift();
            let slba = sector >> shift.saturating_sub(kernel::block::SECTOR_SHIFT);
            let nlb = bytes >> shift;
            if nlb == 0 || nlb > 1 << 16 {
                return Err(sts::IOERR);
            }
            pdu.slba = slba;
            Command::write_zeroes(ns.nsid, slba, nlb, ns.deac && flags & REQ_NOUNMAP == 0)
        }
        _ => {
            if !ctx.warned_notsupp.xchg(true, Relaxed) {
                dev_warn!(
                    ctx.pdev.as_ref(),
                    "nvme{}n{}: request operation {} not supported by the controller\n",
                    ns.instance,
                    ns.disk_id,
                    op
                );
            }
            return Err(sts::NOTSUPP);
        }
    };
    pdu.opcode = cmd.opcode();
    // The command identifier is the blk-mq tag: unique among this queue's commands.
    cmd.set_cid(tag as u16);
    Ok(cmd)
}

/// Whether a request carries a passthrough command (`REQ_OP_DRV_IN`/`OUT`).
pub(super) fn is_passthru(cmd_flags: u32) -> bool {
    matches!(
        cmd_flags & REQ_OP_MASK,
        bindings::req_op_REQ_OP_DRV_IN | bindings::req_op_REQ_OP_DRV_OUT
    )
}

/// Takes a page from the pool for a PRP list, SGL or DSM ranges; it is released with
/// the request's data mapping (`unmap_data`) on every completion path.
pub(super) fn alloc_list_page(ctx: &IoContext, pdu: &mut Pdu) -> Result<(), u8> {
    let mut dma = 0;
    // SAFETY: The pool is live; GFP_ATOMIC because `queue_rq` must not sleep.
    let p = unsafe { bindings::dma_pool_alloc(ctx.pool.pool, bindings::GFP_ATOMIC, &mut dma) };
    if p.is_null() {
        return Err(sts::RESOURCE);
    }
    pdu.prp_list = p.cast::<u64>();
    pdu.prp_list_dma = dma;
    Ok(())
}

/// The request's list page as a slice of `T` (PRP entries, SGL descriptors, DSM ranges).
///
/// # Safety
///
/// `pdu.prp_list` is a page from `ctx.pool`, exclusively this request's until freed.
pub(super) unsafe fn list_page<T>(ctx: &IoContext, pdu: &Pdu) -> &'static mut [T] {
    // SAFETY: The pool hands out `page_size`-byte, page-aligned buffers (aligned for any
    // of the entry types); per the function's safety requirements nobody else uses it.
    unsafe {
        core::slice::from_raw_parts_mut(pdu.prp_list.cast::<T>(), ctx.page_size / size_of::<T>())
    }
}

/// Builds a Dataset Management (deallocate) command with one range per discard bio.
///
/// # Safety
///
/// As for [`prep_rq`]; `pdu` is `rq`'s PDU.
pub(super) unsafe fn setup_discard(
    ctx: &IoContext,
    ns: &NsInfo,
    rq: *mut bindings::request,
    pdu: &mut Pdu,
) -> Result<Command, u8> {
    alloc_list_page(ctx, pdu)?;
    // SAFETY: The page was just taken for this request.
    let ranges = unsafe { list_page::<DsmRange>(ctx, pdu) };
    let len = DSM_MAX_RANGES.min(ranges.len());
    let ranges = &mut ranges[..len];
    // SAFETY: `rq` is live and owned by the driver: its bio chain is stable.
    let mut bio = unsafe { (*rq).bio };
    let extents = core::iter::from_fn(|| {
        if bio.is_null() {
            return None;
        }
        // SAFETY: `bio` is a bio of `rq`'s chain (see above).
        let (sector, size, next) = unsafe {
            (
                (*bio).bi_iter.bi_sector,
                (*bio).bi_iter.bi_size,
                (*bio).bi_next,
            )
        };
        bio = next;
        Some((sector, size))
    });
    match build_dsm_ranges(extents, ns.lba_shift(), ranges) {
        Ok(n) => {
            pdu.slba = ranges[0].slba;
            Ok(Command::dsm_deallocate(ns.nsid, pdu.prp_list_dma, n))
        }
        Err(_) => {
            dev_err!(
                ctx.pdev.as_ref(),
                "nvme{}n{}: malformed discard request\n",
                ns.instance,
                ns.disk_id
            );
            // SAFETY: As above.
            unsafe { unmap_data(ctx, rq) };
            Err(sts::IOERR)
        }
    }
}

/// DMA-maps `rq`'s data and fills in the command's PRPs or SGL.
///
/// # Safety
///
/// As for [`prep_rq`]; `pdu` is `rq`'s PDU.
pub(super) unsafe fn map_data(
    ctx: &IoContext,
    rq: *mut bindings::request,
    pdu: &mut Pdu,
    cmd: &mut Command,
    write: bool,
    bytes: u32,
) -> Result<(), u8> {
    // SAFETY: Per the function's safety requirements.
    let nseg = unsafe { (*rq).nr_phys_segments };
    if nseg == 0 || nseg > MAX_SEGMENTS {
        return Err(sts::IOERR);
    }
    if usize::from(nseg) > INLINE_SEGMENTS {
        // GFP_ATOMIC: `queue_rq` must not sleep; blk-mq retries on RESOURCE.
        let table = KVec::<bindings::scatterlist>::with_capacity(usize::from(nseg), GFP_ATOMIC)
            .map_err(|_| sts::RESOURCE)?;
        let (p, _, cap) = table.into_raw_parts();
        pdu.sg_ext = p;
        pdu.sg_ext_cap = cap;
    }
    let sg = sg_table(pdu);
    let mut last = ptr::null_mut();
    // SAFETY: `sg` has at least `nseg` entries (the PDU's `INLINE_SEGMENTS` or an array of
    // `nseg`), and `__blk_rq_map_sg` fills at most `nr_phys_segments` (= `nseg`) of them.
    let n = unsafe {
        // Initialise only the entries this request needs: clearing all of them for
        // every small I/O costs more than the I/O itself under emulation.
        bindings::sg_init_table(sg, u32::from(nseg));
        bindings::__blk_rq_map_sg(rq, sg, &mut last)
    };
    if n <= 0 {
        free_sg_ext(pdu);
        return Err(sts::IOERR);
    }
    let dir = if write {
        bindings::dma_data_direction::DMA_TO_DEVICE
    } else {
        bindings::dma_data_direction::DMA_FROM_DEVICE
    };
    // SAFETY: `sg` holds `n` entries describing the request's pages.
    let mapped = unsafe {
        bindings::dma_map_sg_attrs(ctx.dev(), sg, n, dir, bindings::DMA_ATTR_NO_WARN as _)
    };
    if mapped == 0 {
        free_sg_ext(pdu);
        return Err(sts::RESOURCE);
    }
    pdu.nents = n as u32;
    pdu.dir = dir;

    let segments = || SgIter {
        cur: sg,
        left: mapped,
    };
    // SAFETY: Per the function's safety requirements.
    let user_cmd = is_passthru(unsafe { (*rq).cmd_flags });
    if crate::sgl::use_sgl(
        ctx.sgls,
        true,
        user_cmd,
        segments(),
        ctx.page_size,
        ctx.sgl_threshold,
    ) {
        // One segment: one Data Block descriptor in the command, no list (C:
        // `nvme_pci_setup_data_simple`).
        if let (1, Some((addr, len))) = (mapped, segments().next()) {
            cmd.set_sgl(SglDesc::data_block(addr, len).to_dptr());
            return Ok(());
        }
        if let Err(e) = alloc_list_page(ctx, pdu) {
            // SAFETY: As above.
            unsafe { unmap_data(ctx, rq) };
            return Err(e);
        }
        // SAFETY: The page was just taken for this request.
        let list = unsafe { list_page::<SglDesc>(ctx, pdu) };
        return match crate::sgl::build(segments(), list, pdu.prp_list_dma) {
            Ok(d) => {
                cmd.set_sgl(d.to_dptr());
                Ok(())
            }
            Err(_) => {
                // SAFETY: As above.
                unsafe { unmap_data(ctx, rq) };
                Err(sts::IOERR)
            }
        };
    }

    let first = segments().next().map_or(0, |(a, _)| a);
    let mask = ctx.page_size as u64 - 1;
    let mut empty: [u64; 0] = [];
    let mut list: &mut [u64] = &mut empty;
    // More than two controller pages touched: PRP2 points to a list.
    if (first & mask) + u64::from(bytes) > 2 * ctx.page_size as u64 {
        if let Err(e) = alloc_list_page(ctx, pdu) {
            // SAFETY: Per the function's safety requirements.
            unsafe { unmap_data(ctx, rq) };
            return Err(e);
        }
        // SAFETY: The page was just taken for this request.
        list = unsafe { list_page::<u64>(ctx, pdu) };
    }
    let prps = prp::build(segments(), ctx.page_size, list, pdu.prp_list_dma);
    match prps {
        Ok(p) => {
            cmd.prp1 = p.prp1;
            cmd.prp2 = p.prp2;
            Ok(())
        }
        Err(_) => {
            dev_err!(
                ctx.pdev.as_ref(),
                "cannot describe a {} byte request in {} segments with PRPs\n",
                bytes,
                mapped
            );
            // SAFETY: Per the function's safety requirements.
            unsafe { unmap_data(ctx, rq) };
            Err(sts::IOERR)
        }
    }
}
