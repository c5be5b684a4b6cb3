// SPDX-License-Identifier: GPL-2.0

//! Scatter Gather Lists (NVMe Base Specification 2.0, §4.1.2) and the PRP/SGL choice.
//!
//! A request with one segment is described by a Data Block descriptor in the command's
//! DPTR; with more, DPTR holds a Last Segment descriptor pointing to a list of Data Block
//! descriptors in DMA memory. The list is one page (256 descriptors), as many as the
//! queue's `max_segments` (`crate::mq::MAX_SEGMENTS`), so no Segment chaining is needed.

use kernel::prelude::*;

/// SGL descriptor types (bits 7:4 of the identifier byte), sub-type 0 (address).
mod sgl_type {
    /// SGL Data Block descriptor.
    pub(super) const DATA_BLOCK: u8 = 0x0 << 4;
    /// SGL Last Segment descriptor.
    pub(super) const LAST_SEGMENT: u8 = 0x3 << 4;
}

/// One 16-byte SGL descriptor.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SglDesc {
    /// Address.
    pub(crate) addr: u64,
    /// Length in bytes.
    pub(crate) length: u32,
    /// Reserved.
    pub(crate) rsvd: [u8; 3],
    /// SGL Identifier: type (7:4) and sub-type (3:0).
    pub(crate) id: u8,
}
kernel::static_assert!(core::mem::size_of::<SglDesc>() == 16);

// SAFETY: `SglDesc` is `repr(C)` with only integer fields and no padding (16 bytes checked
// above), so any byte pattern is a valid value.
unsafe impl kernel::transmute::FromBytes for SglDesc {}

impl SglDesc {
    /// A Data Block descriptor for `length` bytes at bus address `addr`.
    pub(crate) fn data_block(addr: u64, length: u32) -> Self {
        Self {
            addr,
            length,
            rsvd: [0; 3],
            id: sgl_type::DATA_BLOCK,
        }
    }

    /// The descriptor as the two DPTR quadwords (PRP1/PRP2 positions) of a command.
    pub(crate) fn to_dptr(self) -> (u64, u64) {
        (
            self.addr,
            u64::from(self.length) | (u64::from(self.id) << 56),
        )
    }
}

/// Builds the SGL for DMA segments `(address, length)`.
///
/// Returns the descriptor for the command's DPTR; with more than one segment it writes
/// Data Block descriptors into `list` (at bus address `list_dma`).
///
/// # Errors
///
/// `EINVAL` for no segments, an empty segment, or more segments than `list` holds.
pub(crate) fn build(
    segments: impl Iterator<Item = (u64, u32)>,
    list: &mut [SglDesc],
    list_dma: u64,
) -> Result<SglDesc> {
    let mut n = 0usize;
    let mut first = None;
    for (addr, len) in segments {
        if len == 0 {
            return Err(EINVAL);
        }
        if n == 0 {
            first = Some(SglDesc::data_block(addr, len));
        }
        *list.get_mut(n).ok_or(EINVAL)? = SglDesc::data_block(addr, len);
        n += 1;
    }
    match (n, first) {
        (1, Some(d)) => Ok(d),
        (0, _) | (_, None) => Err(EINVAL),
        _ => Ok(SglDesc {
            addr: list_dma,
            length: (n * core::mem::size_of::<SglDesc>()) as u32,
            rsvd: [0; 3],
            id: sgl_type::LAST_SEGMENT,
        }),
    }
}

/// The largest transfer with SGLs (C's `NVME_MAX_BYTES`, an arbitrary bound; MDTS and
/// the DMA layer may set a lower one).
pub(crate) const MAX_SGL_TRANSFER: usize = 8 << 20;

/// SGLS bits 1:0: SGLs supported for the NVM command set (any value but 00b).
const SGLS_SUPPORTED_MASK: u32 = 0x3;

/// Whether the controller's SGLS field says it takes SGLs for NVM commands (C:
/// `nvme_ctrl_sgl_supported`).
#[inline]
pub(crate) fn supported(sgls: u32) -> bool {
    sgls & SGLS_SUPPORTED_MASK != 0
}

/// Whether a request whose DMA segments are `segments` goes out with an SGL rather than
/// PRPs, by the rules of 7.3's `nvme_map_data` (`nvme_pci_use_sgls`,
/// `nvme_pci_setup_data_simple`). Only on an I/O queue of a controller that supports SGLs;
/// there an SGL is
/// - forced where PRPs cannot describe the data: a gap inside a controller page between
///   two segments (the queue has no virt boundary with SGLs), a single segment that
///   PRP1 and PRP2 cannot cover (one Data Block descriptor, no list), or more pages than
///   PRP1 and one PRP list page hold (C chains PRP lists there; the driver caps PRP-only
///   transfers so that one page is enough, and with SGLs takes them as SGLs);
/// - forced for user commands (`user_cmd`), so that the controller checks the transfer
///   length against the descriptor's;
/// - chosen for several segments whose average size reaches `sgl_threshold` (0: never
///   by size).
pub(crate) fn use_sgl(
    sgls: u32,
    io_queue: bool,
    user_cmd: bool,
    segments: impl Iterator<Item = (u64, u32)>,
    page_size: usize,
    sgl_threshold: u32,
) -> bool {
    if !supported(sgls) || !io_queue {
        return false;
    }
    if user_cmd {
        return true;
    }
    let page = page_size as u64;
    let mask = page - 1;
    let (mut nseg, mut bytes) = (0u64, 0u64);
    let mut first = (0u64, 0u32);
    let mut prev_end = None;
    for (addr, seg_len) in segments {
        let len = u64::from(seg_len);
        if let Some(end) = prev_end {
            if end & mask != 0 || addr & mask != 0 {
                return true;
            }
        }
        if nseg == 0 {
            first = (addr, seg_len);
        }
        prev_end = Some(addr.wrapping_add(len));
        nseg += 1;
        bytes = bytes.saturating_add(len);
    }
    let touched = ((first.0 & mask) + bytes).div_ceil(page);
    match nseg {
        0 => false,
        1 => !crate::spec::prp::fits_in_command(first.0, first.1, page_size),
        _ if touched > 1 + crate::spec::prp::entries_per_list(page_size) as u64 => true,
        _ => sgl_threshold != 0 && bytes.div_ceil(nseg) >= u64::from(sgl_threshold),
    }
}

/// [`use_sgl`] for a request of one segment of `len` bytes at `addr`, without walking
/// segments: an SGL where the controller takes them and the command is the user's or
/// PRP1 and PRP2 cannot describe the segment.
#[inline]
pub(crate) fn use_sgl_one(
    sgls: u32,
    user_cmd: bool,
    addr: u64,
    len: u32,
    page_size: usize,
) -> bool {
    supported(sgls) && (user_cmd || !crate::spec::prp::fits_in_command(addr, len, page_size))
}

#[kunit_tests(rust_nvme_sgl)]
mod tests {
    use super::*;

    const LIST: u64 = 0xbeef_0000;

    #[test]
    fn one_segment_is_inline() -> Result {
        let mut l = [SglDesc::default(); 4];
        let d = build([(0x1000u64, 8192u32)].into_iter(), &mut l, LIST)?;
        assert_eq!(
            d,
            SglDesc {
                addr: 0x1000,
                length: 8192,
                rsvd: [0; 3],
                id: 0x00
            }
        );
        assert_eq!(d.to_dptr(), (0x1000, 8192));
        Ok(())
    }

    #[test]
    fn several_segments_use_last_segment() -> Result {
        let mut l = [SglDesc::default(); 4];
        // Odd lengths and alignments are fine for SGLs (unlike PRPs).
        let segs = [(0x1200u64, 512u32), (0x5000, 12288), (0x9001, 100)];
        let d = build(segs.into_iter(), &mut l, LIST)?;
        assert_eq!(d.id, 0x30);
        assert_eq!(d.addr, LIST);
        assert_eq!(d.length, 48);
        assert_eq!(d.to_dptr(), (LIST, 48 | (0x30u64 << 56)));
        assert_eq!(
            l[1],
            SglDesc {
                addr: 0x5000,
                length: 12288,
                rsvd: [0; 3],
                id: 0
            }
        );
        assert_eq!(l[2].addr, 0x9001);
        Ok(())
    }

    #[test]
    fn rejects_bad_lists() {
        let mut l = [SglDesc::default(); 2];
        assert_eq!(build([].into_iter(), &mut l, LIST), Err(EINVAL));
        assert_eq!(
            build([(0x1000u64, 0u32)].into_iter(), &mut l, LIST),
            Err(EINVAL)
        );
        let three = [(0x1000u64, 512u32), (0x2000, 512), (0x3000, 512)];
        assert_eq!(build(three.into_iter(), &mut l, LIST), Err(EINVAL));
    }

    #[test]
    fn prp_or_sgl() {
        const P: usize = 4096;
        let two = [(0x10000u64, 32768u32), (0x20000, 32768)];
        let four = [
            (0x10000u64, 16384u32),
            (0x20000, 16384),
            (0x30000, 16384),
            (0x40000, 16384),
        ];
        // QEMU: SGLS 0x1, C's default threshold 32 KiB: the average segment decides.
        assert!(use_sgl(0x1, true, false, two.into_iter(), P, 32768));
        assert!(!use_sgl(0x1, true, false, four.into_iter(), P, 32768));
        // Threshold 0: not by size.
        assert!(!use_sgl(0x1, true, false, two.into_iter(), P, 0));
        // Average rounded up, as in C.
        let three = [(0x1000u64, 4096u32), (0x3000, 4096), (0x5000, 4097)];
        assert!(use_sgl(0x1, true, false, three.into_iter(), P, 4097));
        // The admin queue, or no SGL support: never.
        assert!(!use_sgl(0x1, false, true, two.into_iter(), P, 4096));
        assert!(!use_sgl(0x0, true, true, two.into_iter(), P, 4096));
    }

    #[test]
    fn one_segment_as_use_sgl() {
        const P: usize = 4096;
        for sgls in [0x0, 0x1] {
            for user_cmd in [false, true] {
                for addr in [0x1000u64, 0x1200, 0x1ff8] {
                    for len in [512u32, 4096, 8192 - 0x200, 8192, 8193, 65536] {
                        let one = [(addr, len)].into_iter();
                        assert_eq!(
                            use_sgl_one(sgls, user_cmd, addr, len, P),
                            use_sgl(sgls, true, user_cmd, one, P, 32768)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn forced_sgls() {
        const P: usize = 4096;
        // One segment: PRP1 + PRP2 cover up to two pages from its offset, beyond that
        // one Data Block descriptor, whatever the threshold.
        assert!(!use_sgl(
            0x1,
            true,
            false,
            [(0x1000u64, 8192u32)].into_iter(),
            P,
            0
        ));
        assert!(use_sgl(
            0x1,
            true,
            false,
            [(0x1200u64, 8192u32)].into_iter(),
            P,
            0
        ));
        assert!(use_sgl(
            0x1,
            true,
            false,
            [(0x1000u64, 65536u32)].into_iter(),
            P,
            0
        ));
        assert!(!use_sgl(
            0x1,
            true,
            false,
            [(0x1200u64, 512u32)].into_iter(),
            P,
            0
        ));
        // A gap inside a page between segments (a segment ending or starting off a page
        // boundary): PRPs cannot describe it.
        let gap_end = [(0x1000u64, 512u32), (0x5000, 512)];
        let gap_start = [(0x1000u64, 4096u32), (0x5200, 512)];
        assert!(use_sgl(0x1, true, false, gap_end.into_iter(), P, 0));
        assert!(use_sgl(0x1, true, false, gap_start.into_iter(), P, 0));
        // Offsets at the very start and end are fine for PRPs.
        let edges = [(0x1200u64, 3584u32), (0x5000, 4096), (0x9000, 512)];
        assert!(!use_sgl(0x1, true, false, edges.into_iter(), P, 0));
        // User commands always use SGLs where the controller has them.
        assert!(use_sgl(
            0x1,
            true,
            true,
            [(0x1000u64, 512u32)].into_iter(),
            P,
            0
        ));
        // Without SGL support the caller must not produce gaps (virt boundary): PRPs.
        assert!(!use_sgl(0x0, true, false, gap_end.into_iter(), P, 4096));
        // More pages than PRP1 and one list page hold (512 + 1 of 4 KiB): an SGL, even
        // below the threshold; one page fewer still fits.
        let mut many = KVec::new();
        for i in 0..257u64 {
            assert!(many
                .push((0x100_0000 + i * 0x10000, 8192u32), GFP_KERNEL)
                .is_ok());
        }
        assert!(use_sgl(0x1, true, false, many.iter().copied(), P, 0));
        assert!(!use_sgl(
            0x1,
            true,
            false,
            many.iter().copied().take(256),
            P,
            0
        ));
    }
}
