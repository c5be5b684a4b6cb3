// SPDX-License-Identifier: GPL-2.0

//! Logical blocks of `2^lba_shift` bytes and the block layer's 512-byte sectors, in one
//! place (C: `nvme_sect_to_lba`, `nvme_lba_to_sect`).

use kernel::{
    block::SECTOR_SHIFT,
    prelude::*, //
};

/// log2 of the 512-byte sectors in one logical block of `2^lba_shift` bytes (0 for
/// blocks of 512 bytes or less).
pub(crate) fn sectors_per_lba_shift(lba_shift: u32) -> u32 {
    lba_shift.saturating_sub(SECTOR_SHIFT)
}

/// The logical block holding 512-byte sector `sector` (C: `nvme_sect_to_lba`).
pub(crate) fn sector_to_lba(sector: u64, lba_shift: u32) -> u64 {
    sector >> sectors_per_lba_shift(lba_shift)
}

/// The first 512-byte sector of logical block `lba` (C: `nvme_lba_to_sect`); `u64::MAX`
/// when that does not fit.
pub(crate) fn lba_to_sectors(lba: u64, lba_shift: u32) -> u64 {
    let shift = sectors_per_lba_shift(lba_shift);
    lba.checked_shl(shift)
        .filter(|s| s >> shift == lba)
        .unwrap_or(u64::MAX)
}

#[kunit_tests(rust_nvme_lba)]
mod tests {
    use super::*;

    #[test]
    fn sectors_and_blocks() {
        assert_eq!(sectors_per_lba_shift(9), 0);
        assert_eq!(sectors_per_lba_shift(12), 3);
        assert_eq!(sector_to_lba(16, 12), 2);
        assert_eq!(sector_to_lba(17, 12), 2);
        assert_eq!(sector_to_lba(17, 9), 17);
        assert_eq!(lba_to_sectors(2, 12), 16);
        assert_eq!(lba_to_sectors(u64::MAX, 12), u64::MAX);
        assert_eq!(lba_to_sectors(u64::MAX, 9), u64::MAX);
    }
}
