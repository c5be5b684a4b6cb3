// SPDX-License-Identifier: GPL-2.0

//! Physical Region Page (PRP) construction (NVMe Base Specification 2.0, §4.1.1).
//!
//! A data buffer is described by PRP1 (the first, possibly offset, page) and PRP2: nothing
//! when the buffer fits in PRP1's page, the second page when it ends there, otherwise the
//! address of a PRP list holding every further page. The block layer guarantees, through
//! the queue's virt boundary (controller page size - 1), that only the first segment may
//! start inside a page and only the last may end inside one, so a segment list maps to
//! pages without gaps.
//!
//! The driver caps a request so that one list page is always enough (see
//! [`max_transfer_pages`]): no list chaining is needed.

use kernel::prelude::*;

/// Number of 8-byte entries in one PRP list page of `page_size` bytes.
pub(crate) const fn entries_per_list(page_size: usize) -> usize {
    page_size / core::mem::size_of::<u64>()
}

/// The largest transfer, in controller pages, whose PRPs fit in PRP1 plus one list page.
///
/// A transfer of `n` pages touches at most `n + 1` pages when it starts at an offset; PRP1
/// takes the first, the list takes the rest.
pub(crate) const fn max_transfer_pages(page_size: usize) -> usize {
    entries_per_list(page_size)
}

/// How a request's data is described to the controller.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Prps {
    /// PRP Entry 1.
    pub(crate) prp1: u64,
    /// PRP Entry 2: zero, the second page, or (when `list_len > 0`) the list's address.
    pub(crate) prp2: u64,
    /// Number of entries written to the list (0 when no list is used).
    pub(crate) list_len: usize,
}

/// Whether PRP1 and PRP2 alone describe one segment of `len` bytes at `addr`: it touches
/// at most two controller pages (C: `nvme_pci_setup_data_simple`'s test).
#[inline]
pub(crate) fn fits_in_command(addr: u64, len: u32, page_size: usize) -> bool {
    let page = page_size as u64;
    (addr & (page - 1)) + u64::from(len) <= 2 * page
}

/// The PRPs of one segment of `len` bytes at `addr` that [`fits_in_command`], as
/// [`build`] makes them, without walking segments or touching a list (C:
/// `nvme_pci_setup_data_simple`). `None` for a segment that does not fit or is empty.
#[inline]
pub(crate) fn simple(addr: u64, len: u32, page_size: usize) -> Option<Prps> {
    if len == 0 || !fits_in_command(addr, len, page_size) {
        return None;
    }
    let page = page_size as u64;
    let offset = addr & (page - 1);
    // Ending past PRP1's page: the rest is all in the next one, which PRP2 names.
    let prp2 = if offset + u64::from(len) > page {
        (addr & !(page - 1)).checked_add(page)?
    } else {
        0
    };
    Some(Prps {
        prp1: addr,
        prp2,
        list_len: 0,
    })
}

/// Builds the PRPs for DMA segments `(address, length)`, in order.
///
/// `list` receives the PRP list entries when more than two pages are touched; `list_dma`
/// is its bus address. `page_size` is the controller memory page size (a power of two).
///
/// # Errors
///
/// `EINVAL` if the segments break the virt-boundary rule (a gap inside the transfer), are
/// empty, or need more list entries than `list` holds.
pub(crate) fn build(
    segments: impl Iterator<Item = (u64, u32)>,
    page_size: usize,
    list: &mut [u64],
    list_dma: u64,
) -> Result<Prps> {
    let mask = page_size as u64 - 1;
    let mut prp1 = None;
    let mut n = 0usize; // pages after the first
    let mut first_extra = 0u64;
    let mut prev_end_aligned = true;

    for (i, (addr, len)) in segments.enumerate() {
        if len == 0 {
            return Err(EINVAL);
        }
        let end = addr.checked_add(u64::from(len)).ok_or(EINVAL)?;
        // Every segment after the first starts on a page; every one before the last ends
        // on one. (The second condition is checked when the next segment arrives.)
        if i > 0 && (addr & mask != 0 || !prev_end_aligned) {
            return Err(EINVAL);
        }
        prev_end_aligned = end & mask == 0;

        let mut page = addr & !mask;
        if i == 0 {
            prp1 = Some(addr);
            page += page_size as u64;
        }
        while page < end {
            // The first extra page goes to PRP2 if it stays the only one; once a second
            // one appears both go to the list (which may be empty until then).
            match n {
                0 => first_extra = page,
                1 => {
                    *list.get_mut(0).ok_or(EINVAL)? = first_extra;
                    *list.get_mut(1).ok_or(EINVAL)? = page;
                }
                _ => *list.get_mut(n).ok_or(EINVAL)? = page,
            }
            n += 1;
            page += page_size as u64;
        }
    }

    let prp1 = prp1.ok_or(EINVAL)?;
    Ok(match n {
        0 => Prps {
            prp1,
            prp2: 0,
            list_len: 0,
        },
        1 => Prps {
            prp1,
            prp2: first_extra,
            list_len: 0,
        },
        _ => Prps {
            prp1,
            prp2: list_dma,
            list_len: n,
        },
    })
}

#[kunit_tests(rust_nvme_prp)]
mod tests {
    use super::*;

    const PS: usize = 4096;
    const LIST: u64 = 0xdead_0000;

    fn prps(segs: &[(u64, u32)], list: &mut [u64]) -> Result<Prps> {
        build(segs.iter().copied(), PS, list, LIST)
    }

    #[test]
    fn single_page_and_offsets() -> Result {
        let mut l = [0u64; 8];
        assert_eq!(
            prps(&[(0x10000, 4096)], &mut l)?,
            Prps {
                prp1: 0x10000,
                prp2: 0,
                list_len: 0
            }
        );
        // 512 bytes inside a page at an offset.
        assert_eq!(
            prps(&[(0x10200, 512)], &mut l)?,
            Prps {
                prp1: 0x10200,
                prp2: 0,
                list_len: 0
            }
        );
        // Crossing one page boundary: PRP2 is the second page.
        assert_eq!(
            prps(&[(0x10e00, 1024)], &mut l)?,
            Prps {
                prp1: 0x10e00,
                prp2: 0x11000,
                list_len: 0
            }
        );
        // Exactly two pages.
        assert_eq!(
            prps(&[(0x10000, 8192)], &mut l)?,
            Prps {
                prp1: 0x10000,
                prp2: 0x11000,
                list_len: 0
            }
        );
        Ok(())
    }

    #[test]
    fn simple_agrees_with_build() -> Result {
        let mut l = [0u64; 8];
        for offset in [0u64, 8, 512, 2048, 4088, 4095] {
            for len in [
                1u32,
                8,
                512,
                4096 - 8,
                4096,
                4097,
                6144,
                8192 - 8,
                8192,
                8193,
                12288,
            ] {
                let addr = 0x10000 + offset;
                match simple(addr, len, PS) {
                    Some(p) => assert_eq!(Ok(p), prps(&[(addr, len)], &mut l)),
                    None => assert!(!fits_in_command(addr, len, PS)),
                }
                assert_eq!(
                    simple(addr, len, PS).is_some(),
                    fits_in_command(addr, len, PS)
                );
            }
        }
        assert_eq!(simple(0x10000, 0, PS), None);
        Ok(())
    }

    #[test]
    fn two_pages_need_no_list_storage() -> Result {
        // The caller passes no list when at most two pages are touched.
        let p = prps(&[(0x10200, 6656)], &mut [])?;
        assert_eq!(
            p,
            Prps {
                prp1: 0x10200,
                prp2: 0x11000,
                list_len: 0
            }
        );
        assert_eq!(prps(&[(0x10200, 8192)], &mut []), Err(EINVAL));
        Ok(())
    }

    #[test]
    fn list_for_three_or_more_pages() -> Result {
        let mut l = [0u64; 8];
        let p = prps(&[(0x10000, 3 * 4096)], &mut l)?;
        assert_eq!(
            p,
            Prps {
                prp1: 0x10000,
                prp2: LIST,
                list_len: 2
            }
        );
        assert_eq!(&l[..2], &[0x11000, 0x12000]);
        // Offset start: 0x10800 + 8 KiB touches three pages.
        let p = prps(&[(0x10800, 8192)], &mut l)?;
        assert_eq!(
            p,
            Prps {
                prp1: 0x10800,
                prp2: LIST,
                list_len: 2
            }
        );
        assert_eq!(&l[..2], &[0x11000, 0x12000]);
        Ok(())
    }

    #[test]
    fn several_segments() -> Result {
        let mut l = [0u64; 8];
        // First segment ends on a page, the others start on one.
        let p = prps(&[(0x10c00, 1024), (0x40000, 4096), (0x80000, 512)], &mut l)?;
        assert_eq!(
            p,
            Prps {
                prp1: 0x10c00,
                prp2: LIST,
                list_len: 2
            }
        );
        assert_eq!(&l[..2], &[0x40000, 0x80000]);
        // Two segments, two pages: no list.
        let p = prps(&[(0x10000, 4096), (0x30000, 4096)], &mut l)?;
        assert_eq!(
            p,
            Prps {
                prp1: 0x10000,
                prp2: 0x30000,
                list_len: 0
            }
        );
        Ok(())
    }

    #[test]
    fn rejects_gaps_and_overflow() {
        let mut l = [0u64; 2];
        // Second segment starts inside a page.
        assert_eq!(
            prps(&[(0x10000, 4096), (0x20200, 512)], &mut l),
            Err(EINVAL)
        );
        // First segment ends inside a page but another follows.
        assert_eq!(prps(&[(0x10000, 512), (0x20000, 512)], &mut l), Err(EINVAL));
        // More pages than the list holds.
        assert_eq!(prps(&[(0x10000, 4 * 4096)], &mut l), Err(EINVAL));
        assert_eq!(prps(&[], &mut l), Err(EINVAL));
        assert_eq!(prps(&[(0x10000, 0)], &mut l), Err(EINVAL));
    }

    #[test]
    fn largest_transfer_fits_one_list() -> Result {
        let mut l = [0u64; entries_per_list(PS)];
        let bytes = (max_transfer_pages(PS) * PS) as u32;
        // Worst case: starting at an offset touches one page more.
        let p = prps(&[(0x10800, bytes)], &mut l)?;
        assert_eq!(p.list_len, entries_per_list(PS));
        Ok(())
    }
}
