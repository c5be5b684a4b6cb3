// SPDX-License-Identifier: GPL-2.0

//! Request data mapping: a request's NVMe command and the PRPs, SGL or DSM ranges that
//! describe its data (`crate::spec::prp`, `crate::spec::sgl`); the abstraction maps the data and
//! releases the mapping and list page on every completion path.

use kernel::{
    prelude::*,
    sync::atomic::Relaxed, //
};

use crate::spec::lba::sector_to_lba;

use super::{
    IoContext,
    IoController,
    NsInfo,
    Ops,
    MAX_SEGMENTS, //
};
use crate::{
    abstractions::blk_mq::{
        BlkStatus,
        DataDir,
        Dispatch,
        ReqOp, //
    },
    spec::cmd::{
        build_dsm_ranges,
        Command,
        DsmRange,
        IoOpcode,
        DSM_MAX_RANGES, //
    },
    spec::pi::{
        self,
        Metadata, //
    },
    spec::prp,
    spec::sgl::SglDesc,
    spec::zns::ZoneAction,
};

/// Builds the NVMe command for a request being dispatched into its PDU and maps its data
/// (C: `nvme_prep_rq`). Built in place, as C builds it in the request's PDU: no zeroed
/// command on the stack, no copy of a passthrough command, and the SQ takes it from there.
#[inline]
pub(super) fn prep_rq<C: IoController>(
    ctx: &IoContext<C>,
    ns: &NsInfo<C>,
    rq: &mut Dispatch<'_, Ops<C>>,
) -> Result<(), BlkStatus> {
    let op = rq.rq().op();
    if rq.first_dispatch() {
        // Not a requeue: start counting retries.
        rq.pdu().retries.store(0, Relaxed);
    }
    let pdu = rq.pdu();
    pdu.aborted.store(false, Relaxed);
    pdu.status.store(0, Relaxed);
    pdu.slba = 0;

    // A disk of capacity 0 (format the block layer cannot address) gets no block I/O but
    // flushes; refuse anything else before its LBA arithmetic.
    if !op.is_drv() && op != ReqOp::Flush && !ns.block_io() {
        return Err(BlkStatus::IOERR);
    }
    match op {
        ReqOp::DrvIn | ReqOp::DrvOut => prep_passthru(ctx, rq, op)?,
        ReqOp::Read | ReqOp::Write | ReqOp::ZoneAppend => prep_rw(ctx, ns, rq, op)?,
        ReqOp::Flush => rq.pdu().cmd = Command::flush(ns.nsid),
        ReqOp::ZoneOpen
        | ReqOp::ZoneClose
        | ReqOp::ZoneFinish
        | ReqOp::ZoneReset
        | ReqOp::ZoneResetAll => prep_zone_mgmt(ns, rq, op),
        ReqOp::Discard if ns.dsm => setup_discard(ctx, ns, rq)?,
        // C: `nvme_setup_write_zeroes` with `NVME_QUIRK_DEALLOCATE_ZEROES`.
        ReqOp::WriteZeroes if ns.zeroes_by_dsm => setup_discard(ctx, ns, rq)?,
        ReqOp::WriteZeroes if ns.write_zeroes => prep_write_zeroes(ns, rq)?,
        _ => {
            if !ctx.warned_notsupp.xchg(true, Relaxed) {
                dev_warn!(
                    ctx.pdev.as_ref(),
                    "nvme{}n{}: request operation {} not supported by the controller\n",
                    ns.instance,
                    ns.disk_id,
                    op.raw()
                );
            }
            return Err(BlkStatus::NOTSUPP);
        }
    }
    let tag = rq.rq().tag();
    // The command identifier is the blk-mq tag: unique among this queue's commands.
    rq.pdu().cmd.set_cid(tag);
    Ok(())
}

/// A passthrough command (`REQ_OP_DRV_IN`/`OUT`): the submitter put it in the PDU as
/// the user gave it; its data and the user's metadata are mapped here (C:
/// `nvme_map_data`, `nvme_map_metadata`).
fn prep_passthru<C: IoController>(
    ctx: &IoContext<C>,
    rq: &mut Dispatch<'_, Ops<C>>,
    op: ReqOp,
) -> Result<(), BlkStatus> {
    let bytes = rq.rq().bytes();
    if bytes == 0 {
        return Ok(());
    }
    let dir = if op == ReqOp::DrvOut {
        DataDir::ToDevice
    } else {
        DataDir::FromDevice
    };
    let data = map_data(ctx, rq, dir, bytes)?;
    data.set_in(&mut rq.pdu().cmd);
    // The user's metadata, checked by the ioctl against what the command moves; as
    // given, without the driver's PRINFO (C).
    let meta = rq.rq().integrity_bytes();
    if meta != 0 {
        let mptr = map_metadata(rq, dir, Ok(meta))?;
        rq.pdu().cmd.mptr = mptr;
    }
    Ok(())
}

/// A read, write or zone append (C: `nvme_setup_rw`).
fn prep_rw<C: IoController>(
    ctx: &IoContext<C>,
    ns: &NsInfo<C>,
    rq: &mut Dispatch<'_, Ops<C>>,
    op: ReqOp,
) -> Result<(), BlkStatus> {
    let (sector, bytes, fua) = (rq.rq().sector(), rq.rq().bytes(), rq.rq().is_fua());
    let shift = ns.lba_shift();
    let slba = sector_to_lba(sector, shift);
    let nlb = bytes >> shift;
    if nlb == 0 || bytes & ((1 << shift) - 1) != 0 {
        return Err(BlkStatus::IOERR);
    }
    let (opc, dir) = match op {
        ReqOp::Write => (IoOpcode::Write, DataDir::ToDevice),
        // At the zone's start: the controller picks the LBA (C: `nvme_setup_rw`).
        ReqOp::ZoneAppend => (IoOpcode::ZoneAppend, DataDir::ToDevice),
        _ => (IoOpcode::Read, DataDir::FromDevice),
    };
    let data = map_data(ctx, rq, dir, bytes)?;
    let pdu = rq.pdu();
    pdu.slba = slba;
    pdu.cmd = Command::rw(opc, ns.nsid, slba, nlb, fua);
    data.set_in(&mut pdu.cmd);
    // Checked here: most namespaces carry no metadata.
    if ns.has_metadata() {
        protect(&ns.meta(), rq, dir, nlb, op == ReqOp::ZoneAppend)?;
    }
    Ok(())
}

/// Zone Open, Close, Finish or Reset (C: `nvme_setup_zone_mgmt_send`).
fn prep_zone_mgmt<C: IoController>(ns: &NsInfo<C>, rq: &mut Dispatch<'_, Ops<C>>, op: ReqOp) {
    let action = match op {
        ReqOp::ZoneOpen => ZoneAction::Open,
        ReqOp::ZoneClose => ZoneAction::Close,
        ReqOp::ZoneFinish => ZoneAction::Finish,
        _ => ZoneAction::Reset,
    };
    let slba = sector_to_lba(rq.rq().sector(), ns.lba_shift());
    let pdu = rq.pdu();
    pdu.slba = slba;
    pdu.cmd = Command::zone_mgmt_send(ns.nsid, slba, action, op == ReqOp::ZoneResetAll);
}

/// Write Zeroes (C: `nvme_setup_write_zeroes`).
fn prep_write_zeroes<C: IoController>(
    ns: &NsInfo<C>,
    rq: &mut Dispatch<'_, Ops<C>>,
) -> Result<(), BlkStatus> {
    let r = rq.rq();
    let shift = ns.lba_shift();
    let slba = sector_to_lba(r.sector(), shift);
    let nlb = r.bytes() >> shift;
    if nlb == 0 || nlb > 1 << 16 {
        return Err(BlkStatus::IOERR);
    }
    let deallocate = ns.deac && !r.is_nounmap();
    let ref_tag = r.pi_ref_tag();
    let pdu = rq.pdu();
    pdu.slba = slba;
    pdu.cmd = Command::write_zeroes(ns.nsid, slba, nlb, deallocate);
    // The controller makes the protection information of the zeroes (C:
    // `nvme_setup_write_zeroes`).
    let meta = ns.meta();
    if meta.has_pi() {
        pdu.cmd.cdw12 |= pi::RW_PRACT;
        set_ref_tag(&meta, &mut pdu.cmd, ref_tag);
    }
    Ok(())
}

/// Builds a Dataset Management (deallocate) command with one range per discard bio.
fn setup_discard<C: IoController>(
    ctx: &IoContext<C>,
    ns: &NsInfo<C>,
    rq: &mut Dispatch<'_, Ops<C>>,
) -> Result<(), BlkStatus> {
    rq.alloc_list_page()?;
    let (r, parts) = rq.parts::<DsmRange>();
    let len = DSM_MAX_RANGES.min(parts.list.len());
    let ranges = &mut parts.list[..len];
    match build_dsm_ranges(r.bio_extents(), ns.lba_shift(), ranges) {
        Ok(n) => {
            let slba = ranges[0].slba;
            let dma = parts.list_dma;
            let pdu = rq.pdu();
            pdu.slba = slba;
            pdu.cmd = Command::dsm_deallocate(ns.nsid, dma, n);
            Ok(())
        }
        Err(_) => {
            dev_err!(
                ctx.pdev.as_ref(),
                "nvme{}n{}: malformed discard request\n",
                ns.instance,
                ns.disk_id
            );
            rq.unmap();
            Err(BlkStatus::IOERR)
        }
    }
}

/// The metadata and protection information of a read, write or zone append of `nlb`
/// blocks whose data is mapped (C: the PI part of `nvme_setup_rw`, and
/// `nvme_map_metadata` with a metadata pointer): the integrity payload mapped as one
/// buffer, the checks it asks for, or PRACT without one; its reference and application
/// tags, for a namespace whose LBA format carries metadata (`meta`). Unmaps the request
/// on failure.
fn protect<C: IoController>(
    meta: &Metadata,
    rq: &mut Dispatch<'_, Ops<C>>,
    dir: DataDir,
    nlb: u32,
    append: bool,
) -> Result<(), BlkStatus> {
    let checks = rq.rq().integrity_checks();
    // Without a payload the controller must make (and strip) the metadata itself.
    if checks.is_none() && !meta.has_pi() {
        rq.unmap();
        return Err(BlkStatus::NOTSUPP);
    }
    let mptr = match checks {
        Some(_) => {
            let len = nlb.checked_mul(u32::from(meta.ms)).ok_or(BlkStatus::IOERR);
            Some(map_metadata(rq, dir, len)?)
        }
        None => None,
    };
    let ref_tag = rq.rq().pi_ref_tag();
    let cmd = &mut rq.pdu().cmd;
    if let Some(mptr) = mptr {
        cmd.mptr = mptr;
    }
    let prinfo = meta.prinfo(checks.map(|c| (c.guard, c.ref_tag, c.app_tag.is_some())));
    cmd.cdw12 |= prinfo;
    if prinfo & (pi::RW_PRACT | pi::RW_PRCHK_REF) != 0 {
        set_ref_tag(meta, cmd, ref_tag);
        if append && prinfo & pi::RW_PRCHK_REF != 0 {
            cmd.cdw12 |= pi::APPEND_PIREMAP;
        }
    }
    if let Some(app) = checks.and_then(|c| c.app_tag) {
        // LBAT, with every bit of it checked (LBATM).
        cmd.cdw15 = u32::from(app) | (0xffff << 16);
    }
    Ok(())
}

/// Maps the request's integrity payload of `len` bytes for the command's metadata
/// pointer (C: `nvme_pci_setup_meta_mptr`) and returns its bus address; unmaps the
/// request on failure.
fn map_metadata<C: IoController>(
    rq: &mut Dispatch<'_, Ops<C>>,
    dir: DataDir,
    len: Result<u32, BlkStatus>,
) -> Result<u64, BlkStatus> {
    len.and_then(|len| rq.map_integrity(dir, len))
        .inspect_err(|_| rq.unmap())
}

/// Sets the Expected Initial Logical Block Reference Tag (C: `nvme_set_ref_tag`).
fn set_ref_tag(meta: &Metadata, cmd: &mut Command, full: u64) {
    if let Some((lo, hi)) = meta.ref_tag(full) {
        cmd.cdw14 = lo;
        cmd.cdw3 = hi;
    }
}

/// Where a command's data is: the two words of its Data Pointer, as PRP entries or as
/// one SGL descriptor.
#[derive(Clone, Copy)]
enum DataPtr {
    Prp(u64, u64),
    Sgl((u64, u64)),
}

impl DataPtr {
    /// Writes the Data Pointer and the PSDT that says how to read it.
    fn set_in(self, cmd: &mut Command) {
        match self {
            Self::Prp(prp1, prp2) => cmd.set_prps(prp1, prp2),
            Self::Sgl(dptr) => cmd.set_sgl(dptr),
        }
    }
}

/// DMA-maps the request's data and returns the PRPs or SGL that describe it (C:
/// `nvme_map_data`).
#[inline]
fn map_data<C: IoController>(
    ctx: &IoContext<C>,
    rq: &mut Dispatch<'_, Ops<C>>,
    dir: DataDir,
    bytes: u32,
) -> Result<DataPtr, BlkStatus> {
    let mapped = rq.map_data(dir, MAX_SEGMENTS)?;
    let user_cmd = rq.rq().op().is_drv();
    if let Some((addr, len)) = rq.single_segment() {
        // The common small I/O: one segment, described in the command itself, with no
        // walk over segments and no list page (C: `nvme_pci_setup_data_simple`).
        if crate::spec::sgl::use_sgl_one(ctx.sgls, user_cmd, addr, len, ctx.page_size) {
            return Ok(DataPtr::Sgl(SglDesc::data_block(addr, len).to_dptr()));
        }
        if let Some(p) = prp::simple(addr, len, ctx.page_size) {
            return Ok(DataPtr::Prp(p.prp1, p.prp2));
        }
    }
    if crate::spec::sgl::use_sgl(
        ctx.sgls,
        true,
        user_cmd,
        rq.segments(),
        ctx.page_size,
        ctx.sgl_threshold,
    ) {
        // One segment: one Data Block descriptor in the command, no list (C:
        // `nvme_pci_setup_data_simple`).
        if let (1, Some((addr, len))) = (mapped, rq.segments().next()) {
            return Ok(DataPtr::Sgl(SglDesc::data_block(addr, len).to_dptr()));
        }
        if let Err(e) = rq.alloc_list_page() {
            rq.unmap();
            return Err(e);
        }
        let (_, parts) = rq.parts::<SglDesc>();
        return match crate::spec::sgl::build(parts.segments, parts.list, parts.list_dma) {
            Ok(d) => Ok(DataPtr::Sgl(d.to_dptr())),
            Err(_) => {
                rq.unmap();
                Err(BlkStatus::IOERR)
            }
        };
    }

    let first = rq.segments().next().map_or(0, |(a, _)| a);
    let mask = ctx.page_size as u64 - 1;
    // More than two controller pages touched: PRP2 points to a list.
    if (first & mask) + u64::from(bytes) > 2 * ctx.page_size as u64 {
        if let Err(e) = rq.alloc_list_page() {
            rq.unmap();
            return Err(e);
        }
    }
    let (_, parts) = rq.parts::<u64>();
    match prp::build(parts.segments, ctx.page_size, parts.list, parts.list_dma) {
        Ok(p) => Ok(DataPtr::Prp(p.prp1, p.prp2)),
        Err(_) => {
            dev_err!(
                ctx.pdev.as_ref(),
                "cannot describe a {} byte request in {} segments with PRPs\n",
                bytes,
                mapped
            );
            rq.unmap();
            Err(BlkStatus::IOERR)
        }
    }
}
