// SPDX-License-Identifier: GPL-2.0

//! Interrupt vectors of the controller's PCI function and their handlers.
//!
//! 7.3's `pci::IrqVectorRegistration` borrows the bound device, so it cannot live in the
//! `'static` controller that the reset work item uses; this file wraps the C calls
//! instead. [`Vectors`] owns the allocated vectors *and* every handler registered on them,
//! so handlers are always freed before the vectors.

use core::ffi::c_void;

use kernel::{
    bindings, pci,
    prelude::*,
    sync::{
        aref::ARef,
        Arc, //
    },
};

/// Code run when a vector fires, in hard interrupt context.
pub(crate) trait Handler: Send + Sync {
    /// Handles the interrupt; returns whether there was work for this handler.
    fn handle(&self) -> bool;
}

/// One `request_irq` registration.
///
/// # Invariants
///
/// `irq` was requested with `cookie` (the address of `data`'s contents) as `dev_id`, and
/// stays registered until `drop`.
struct Registration {
    irq: u32,
    cookie: *mut c_void,
    /// Keeps the handler data alive while the IRQ is registered.
    _data: Arc<dyn Handler>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, `irq` is registered with `cookie`. `free_irq`
        // waits for running handlers, so `_data` is unused once it returns.
        unsafe { bindings::free_irq(self.irq, self.cookie) };
    }
}

/// The interrupt vectors of one PCI function (MSI-X, MSI or INTx, best first).
///
/// # Invariants
///
/// `pdev` has `count` vectors allocated by `pci_alloc_irq_vectors` until `drop`.
pub(crate) struct Vectors {
    pdev: ARef<pci::Device>,
    count: u32,
    msix: bool,
    regs: KVec<Registration>,
}

// SAFETY: The raw cookies in `regs` are only passed back to `free_irq`; the data they
// point to is `Send + Sync` (`Handler`).
unsafe impl Send for Vectors {}
// SAFETY: As above; `&Vectors` gives no access to the cookies.
unsafe impl Sync for Vectors {}

pub(crate) use crate::abstractions::pci::raw_pdev;

unsafe extern "C" fn trampoline<T: Handler>(
    _irq: i32,
    cookie: *mut c_void,
) -> bindings::irqreturn_t {
    // SAFETY: `cookie` is the address of a `T` kept alive by its `Registration` until
    // `free_irq` has returned, and the C side passes it back unchanged.
    let handler = unsafe { &*cookie.cast::<T>() };
    if handler.handle() {
        bindings::irqreturn::IRQ_HANDLED
    } else {
        bindings::irqreturn::IRQ_NONE
    }
}

impl Vectors {
    /// Allocates between 1 and `max` vectors, MSI-X preferred. Vectors after the first
    /// get managed affinity spread over the CPUs (C: `PCI_IRQ_AFFINITY` with one
    /// pre-vector for the admin queue), so each I/O queue interrupts on the CPUs that
    /// submit to it.
    pub(crate) fn alloc(pdev: &pci::Device, max: u32) -> Result<Self> {
        let raw = raw_pdev(pdev);
        // SAFETY: All-zero is a valid `irq_affinity` (no sets, default spreading).
        let mut affd: bindings::irq_affinity = unsafe { core::mem::zeroed() };
        affd.pre_vectors = 1;
        // SAFETY: `raw` is a valid, bound PCI device (the caller holds a reference);
        // `affd` outlives the call.
        let n = unsafe {
            bindings::pci_alloc_irq_vectors_affinity(
                raw,
                1,
                max,
                bindings::PCI_IRQ_ALL_TYPES | bindings::PCI_IRQ_AFFINITY,
                &mut affd,
            )
        };
        let count = u32::try_from(n).map_err(|_| Error::from_errno(n))?;
        // SAFETY: `raw` is valid; reading `msix_enabled` is a plain field read.
        let msix = unsafe { (*raw).msix_enabled() } != 0;
        // INVARIANT: `count` vectors were allocated.
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

    /// Whether the vectors are MSI-X (one per queue possible).
    pub(crate) fn is_msix(&self) -> bool {
        self.msix
    }

    /// Registers `handler` on vector `index`; it stays registered until `self` drops.
    pub(crate) fn request<T: Handler + 'static>(&mut self, index: u32, handler: Arc<T>) -> Result {
        if index >= self.count {
            return Err(EINVAL);
        }
        self.regs.reserve(1, GFP_KERNEL)?;
        // SAFETY: The device is valid and `index` is below the allocated count.
        let irq = unsafe { bindings::pci_irq_vector(raw_pdev(&self.pdev), index) };
        let irq = u32::try_from(irq).map_err(|_| Error::from_errno(irq))?;
        let cookie = Arc::as_ptr(&handler).cast_mut().cast::<c_void>();
        // Only INTx can be shared with other devices; MSI(-X) vectors are ours.
        let flags = if self.msix { 0 } else { bindings::IRQF_SHARED };
        // SAFETY: `trampoline::<T>` matches `irq_handler_t`; `cookie` points to a `T` that
        // the `Registration` below keeps alive until `free_irq`; the name is static.
        let ret = unsafe {
            bindings::request_irq(
                irq,
                Some(trampoline::<T>),
                flags as _,
                c"rust_nvme".as_ptr().cast(),
                cookie,
            )
        };
        kernel::error::to_result(ret)?;
        // INVARIANT: `irq` is registered with `cookie`.
        self.regs.push(
            Registration {
                irq,
                cookie,
                _data: handler,
            },
            GFP_KERNEL,
        )?;
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
        // registered on them any more.
        unsafe { bindings::pci_free_irq_vectors(raw_pdev(&self.pdev)) };
    }
}
