// SPDX-License-Identifier: GPL-2.0

//! Scatter Gather Lists (NVMe Base Specification 2.0, §4.1.2) and the PRP/SGL choice.
//!
//! A request with one segment is described by a Data Block descriptor in the command's
//! DPTR; with more, DPTR holds a Last Segment descriptor pointing to a list of Data Block
//! descriptors in DMA memory. The list is one page (256 descriptors), more than the
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

impl SglDesc {
    fn data(addr: u64, length: u32) -> Self {
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
            first = Some(SglDesc::data(addr, len));
        }
        *list.get_mut(n).ok_or(EINVAL)? = SglDesc::data(addr, len);
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

/// SGLS bits 1:0: SGLs supported for the NVM command set (any value but 00b).
const SGLS_SUPPORTED_MASK: u32 = 0x3;

/// Whether a request of `bytes` in `nseg` segments goes out with an SGL rather than
/// PRPs (C: `nvme_pci_use_sgls`): the controller supports SGLs, it is an I/O queue, the
/// request has several segments, and their average size reaches `sgl_threshold` (0
/// disables SGLs).
pub(crate) fn use_sgl(
    sgls: u32,
    io_queue: bool,
    nseg: u32,
    bytes: u32,
    sgl_threshold: u32,
) -> bool {
    if sgls & SGLS_SUPPORTED_MASK == 0 || !io_queue || sgl_threshold == 0 || nseg < 2 {
        return false;
    }
    bytes.div_ceil(nseg) >= sgl_threshold
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
        // QEMU: SGLS 0x1, C's default threshold 32 KiB.
        assert!(use_sgl(0x1, true, 2, 65536, 32768));
        assert!(!use_sgl(0x1, true, 4, 65536, 32768));
        // Threshold 0 disables SGLs; one segment or the admin queue never uses them.
        assert!(!use_sgl(0x1, true, 2, 65536, 0));
        assert!(!use_sgl(0x1, true, 1, 65536, 4096));
        assert!(!use_sgl(0x1, false, 2, 65536, 4096));
        // No SGL support.
        assert!(!use_sgl(0x0, true, 2, 65536, 4096));
        // Average rounded up, as in C.
        assert!(use_sgl(0x1, true, 3, 12289, 4097));
    }
}
