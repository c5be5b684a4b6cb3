// SPDX-License-Identifier: GPL-2.0

//! Interrupt vectors of a PCI function (MSI-X, MSI or INTx) and handlers registered on
//! them.
//!
//! C headers: [`include/linux/pci.h`](srctree/include/linux/pci.h),
//! [`include/linux/interrupt.h`](srctree/include/linux/interrupt.h)
//!
//! 7.3's `pci::IrqVectorRegistration` borrows the bound device, so it cannot live in an
//! object that outlives a callback (such as one a work item uses). [`Vectors`] instead
//! holds a reference to the device and owns the allocated vectors *and* every handler
//! registered on them, so handlers are always freed before the vectors.

use core::ffi::c_void;

use kernel::{
    bindings,
    cpumask::Cpumask,
    pci,
    prelude::*,
    str::CStr,
    sync::{
        aref::ARef,
        Arc, //
    },
};

use super::pci::raw_pdev;

/// Code run when a vector fires, in hard interrupt context.
pub(crate) trait Handler: Send + Sync {
    /// Handles the interrupt; returns whether there was work for this handler
    /// (C: `IRQ_HANDLED` or `IRQ_NONE`).
    fn handle(&self) -> bool;
}

/// The kinds of vector [`Vectors::alloc`] may allocate (C: `PCI_IRQ_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IrqTypes(u32);

impl IrqTypes {
    /// Any kind, MSI-X preferred, then MSI, then INTx (C: `PCI_IRQ_ALL_TYPES`).
    pub(crate) const ALL: Self = Self(bindings::PCI_IRQ_ALL_TYPES);
}

/// Managed affinity for the vectors (C: `PCI_IRQ_AFFINITY` with a `struct irq_affinity`):
/// the vectors between the first `pre_vectors` and the last `post_vectors` are spread over
/// the CPUs, and their affinity is fixed by the kernel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Affinity {
    /// Vectors at the start that are not spread (C: `pre_vectors`).
    pub(crate) pre_vectors: u32,
    /// Vectors at the end that are not spread (C: `post_vectors`).
    pub(crate) post_vectors: u32,
}

/// One `request_irq` registration.
///
/// # Invariants
///
/// `irq` was requested with the address of `data`'s contents as `dev_id`, and stays
/// registered until `drop`.
struct Registration {
    irq: u32,
    /// The handler; kept alive while the IRQ is registered.
    data: Arc<dyn Handler>,
}

impl Registration {
    /// The `dev_id` cookie the IRQ is registered with: the address of the handler.
    fn cookie(&self) -> *mut c_void {
        Arc::as_ptr(&self.data).cast::<c_void>().cast_mut()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, `irq` is registered with `cookie()`. `free_irq`
        // waits for running handlers, so `data` is unused once it returns and may drop.
        unsafe { bindings::free_irq(self.irq, self.cookie()) };
    }
}

/// The interrupt vectors of one PCI function and the handlers registered on them.
///
/// # Invariants
///
/// `pdev` has `count` (at least one) vectors allocated by `pci_alloc_irq_vectors_affinity`
/// until `drop`; `msix` says whether they are MSI-X. Every entry of `regs` is registered on
/// one of them.
pub(crate) struct Vectors {
    pdev: ARef<pci::Device>,
    count: u32,
    msix: bool,
    regs: KVec<Registration>,
}

/// Calls the handler of a vector.
///
/// # Safety
///
/// - Called by the IRQ core only, for an IRQ registered by [`Vectors::request`] with a
///   `T`, so `cookie` is the `dev_id` passed there: the address of a `T`.
/// - The `Registration` that keeps that `T` alive has not finished `free_irq` (which waits
///   for running handlers), so the `T` is live for the call.
unsafe extern "C" fn trampoline<T: Handler>(
    _irq: c_int,
    cookie: *mut c_void,
) -> bindings::irqreturn_t {
    // SAFETY: Per the function's safety requirements, `cookie` points to a live `T`, which
    // is only ever shared (`Handler` is `Sync`).
    let handler = unsafe { &*cookie.cast::<T>() };
    if handler.handle() {
        bindings::irqreturn::IRQ_HANDLED
    } else {
        bindings::irqreturn::IRQ_NONE
    }
}

impl Vectors {
    /// Allocates between `min` and `max` vectors of the kinds in `types`, the best kind
    /// first (C: `pci_alloc_irq_vectors_affinity`), with managed `affinity` if given.
    ///
    /// # Errors
    ///
    /// `EINVAL` when `min` is 0 or above `max`; what the PCI core says when fewer than
    /// `min` vectors can be had (`ENOSPC`) or allocation fails.
    pub(crate) fn alloc(
        pdev: &pci::Device,
        min: u32,
        max: u32,
        types: IrqTypes,
        affinity: Option<Affinity>,
    ) -> Result<Self> {
        if min == 0 || min > max {
            return Err(EINVAL);
        }
        let raw = raw_pdev(pdev);
        let mut flags = types.0;
        // SAFETY: All-zero is a valid `irq_affinity` (no sets, default spreading).
        let mut affd: bindings::irq_affinity = unsafe { core::mem::zeroed() };
        let affd_ptr = match affinity {
            Some(a) => {
                flags |= bindings::PCI_IRQ_AFFINITY;
                affd.pre_vectors = a.pre_vectors;
                affd.post_vectors = a.post_vectors;
                &raw mut affd
            }
            None => core::ptr::null_mut(),
        };
        // SAFETY: `raw` is a live PCI function (the caller's reference); `affd_ptr` is null
        // or points to `affd`, which outlives the call (the PCI core copies what it needs).
        let n = unsafe { bindings::pci_alloc_irq_vectors_affinity(raw, min, max, flags, affd_ptr) };
        let count = u32::try_from(n).map_err(|_| Error::from_errno(n))?;
        // SAFETY: `raw` is a live PCI function; `msix_enabled` is a plain bit-field read,
        // set by the allocation above.
        let msix = unsafe { (*raw).msix_enabled() } != 0;
        // INVARIANT: `count` vectors (at least `min`, so at least one) were allocated, of
        // the kind `msix` says; none has a handler yet.
        Ok(Self {
            pdev: pdev.into(),
            count,
            msix,
            regs: KVec::new(),
        })
    }

    /// Number of vectors allocated.
    pub(crate) fn count(&self) -> u32 {
        self.count
    }

    /// Whether the vectors are MSI-X.
    pub(crate) fn is_msix(&self) -> bool {
        self.msix
    }

    /// The CPUs vector `index` interrupts on (C: `pci_irq_get_affinity`); `None` for a
    /// vector beyond the allocated ones or without an affinity (one outside managed
    /// affinity's spread).
    pub(crate) fn affinity(&self, index: u32) -> Option<&Cpumask> {
        if index >= self.count {
            return None;
        }
        let index = c_int::try_from(index).ok()?;
        // SAFETY: The device is live (`self.pdev`) and, by the type invariant, has its
        // vectors allocated; `index` is one of them.
        let mask = unsafe { bindings::pci_irq_get_affinity(raw_pdev(&self.pdev), index) };
        if mask.is_null() {
            return None;
        }
        // SAFETY: `mask` is non-null; it is the vector's MSI descriptor affinity (or, for
        // INTx, the static `cpu_possible_mask`), which lives until `pci_free_irq_vectors`,
        // called only when `self` drops, so it outlives the borrow of `self`. Nothing
        // writes a managed affinity mask while the vectors exist.
        Some(unsafe { Cpumask::from_raw(mask) })
    }

    /// Registers `handler` on vector `index` under `name` (C: `pci_irq_vector` +
    /// `request_irq`); it stays registered until [`Vectors::free_handlers`] or until `self`
    /// drops. `shared` allows other devices' handlers on the same IRQ (C: `IRQF_SHARED`,
    /// for INTx).
    ///
    /// # Errors
    ///
    /// `EINVAL` for a vector beyond the allocated ones; `ENOMEM`; what the IRQ core says.
    pub(crate) fn request<T: Handler + 'static>(
        &mut self,
        index: u32,
        name: &'static CStr,
        shared: bool,
        handler: Arc<T>,
    ) -> Result {
        if index >= self.count {
            return Err(EINVAL);
        }
        self.regs.reserve(1, GFP_KERNEL)?;
        // SAFETY: The device is live and, by the type invariant, has its vectors
        // allocated; `index` is one of them.
        let irq = unsafe { bindings::pci_irq_vector(raw_pdev(&self.pdev), index) };
        let irq = u32::try_from(irq).map_err(|_| Error::from_errno(irq))?;
        let cookie = Arc::as_ptr(&handler).cast::<c_void>().cast_mut();
        let flags = if shared { bindings::IRQF_SHARED } else { 0 };
        // SAFETY: `trampoline::<T>` matches `irq_handler_t`, and its safety requirements
        // hold: `cookie` is the address of the `T` in `handler`, which the `Registration`
        // made below keeps alive until it has called `free_irq` (on failure nothing is
        // registered). `name` is `'static`.
        let ret = unsafe {
            bindings::request_irq(
                irq,
                Some(trampoline::<T>),
                flags as _,
                name.as_char_ptr(),
                cookie,
            )
        };
        kernel::error::to_result(ret)?;
        // INVARIANT: `irq` (one of the vectors) is registered with the address of
        // `handler`'s contents. Room was reserved above, so the push does not fail; if it
        // did, dropping the registration frees the IRQ again.
        self.regs
            .push(Registration { irq, data: handler }, GFP_KERNEL)?;
        Ok(())
    }

    /// Frees every handler (waiting for running ones), keeping the vectors.
    pub(crate) fn free_handlers(&mut self) {
        self.regs.clear();
    }
}

impl Drop for Vectors {
    fn drop(&mut self) {
        self.regs.clear();
        // SAFETY: By the type invariant the vectors are allocated, and no handler is
        // registered on them any more (just freed).
        unsafe { bindings::pci_free_irq_vectors(raw_pdev(&self.pdev)) };
    }
}
