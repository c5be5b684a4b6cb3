// SPDX-License-Identifier: GPL-2.0

//! One 32-bit register of a device-managed PCI BAR at an offset checked once.
//!
//! `Io::try_write32` checks the offset against the mapping's size and the access's
//! alignment on every write. A doorbell is written once or twice per I/O at an offset
//! that is fixed when its queue is created (C keeps a plain `u32 __iomem *`, e.g. nvme's
//! `q_db`), so [`BarReg32::new`] makes the check and [`BarReg32::write`] only asks the
//! device-managed resource whether the BAR is still mapped.

use kernel::{
    io::{
        Io,
        IoBackend,
        IoBase,
        Mmio,
        MmioBackend, //
    },
    pci::DevresBar,
    prelude::*,
    sync::Arc, //
};

/// The register at byte `offset` of BAR `bar`.
///
/// # Invariants
///
/// `offset` is a multiple of 4 and `offset + 4` is at most the size of `bar`'s mapping
/// (which a `DevresBar` keeps for as long as it is mapped).
pub(crate) struct BarReg32<const SIZE: usize> {
    bar: Arc<DevresBar<SIZE>>,
    offset: usize,
}

impl<const SIZE: usize> BarReg32<SIZE> {
    /// The register at `offset` of `bar`.
    ///
    /// # Errors
    ///
    /// `EINVAL` when the register is not 4-byte aligned or does not lie inside the
    /// mapping; `ENXIO` when the BAR is no longer mapped.
    pub(crate) fn new(bar: Arc<DevresBar<SIZE>>, offset: usize) -> Result<Self> {
        let size = bar.try_access_with(|b| b.size()).ok_or(ENXIO)?;
        let end = offset.checked_add(size_of::<u32>()).ok_or(EINVAL)?;
        if !offset.is_multiple_of(size_of::<u32>()) || end > size {
            return Err(EINVAL);
        }
        // INVARIANT: checked just above against the mapping's size.
        Ok(Self { bar, offset })
    }

    /// Writes `value` (`writel`: ordered after earlier writes to memory, so the device
    /// sees what the value announces); nothing if the BAR is no longer mapped (the device
    /// was unbound or removed).
    #[inline]
    pub(crate) fn write(&self, value: u32) {
        self.bar.try_access_with(|b| {
            let view: Mmio<'_, _> = b.as_view();
            let reg = MmioBackend::as_ptr(view)
                .cast::<u8>()
                .wrapping_add(self.offset)
                .cast::<u32>();
            // SAFETY: By the type invariant the four bytes at `offset` lie inside the
            // mapping `view` covers and are 4-byte aligned (a BAR mapping starts
            // 4-byte aligned), so `reg` is a projection of `view`'s pointer.
            let reg: Mmio<'_, u32> = unsafe { MmioBackend::project_view(view, reg) };
            reg.write_val(value);
        });
    }
}
