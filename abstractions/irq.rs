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

use core::{
    cell::UnsafeCell,
    ffi::c_void,
    marker::PhantomData, //
};

use kernel::{
    bindings,
    cpumask::Cpumask,
    new_mutex, pci,
    prelude::*,
    str::CStr,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex, //
    },
};

use super::pci::raw_pdev;

/// Code run when a vector fires, in hard interrupt context.
pub(crate) trait Handler: Send + Sync {
    /// Handles the interrupt; returns whether there was work for this handler
    /// (C: `IRQ_HANDLED` or `IRQ_NONE`). `irq` opens the [`IrqOwned`] data bound to the
    /// vector.
    fn handle(&self, irq: &InIrq) -> bool;
}

/// A Linux interrupt number of one of the vectors (C: `pci_irq_vector`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IrqNumber(u32);

/// The hard-interrupt context of one handler call.
///
/// # Invariants
///
/// Exists only for the duration of a call of a handler registered by [`Vectors::request`]
/// on interrupt `irq`, made by the IRQ core: no other handler of `irq` runs meanwhile
/// (the core runs the handlers of one interrupt one at a time, on one CPU).
pub(crate) struct InIrq {
    irq: u32,
    /// Not `Send` or `Sync`: it stands for the current CPU's interrupt context.
    _not_send: PhantomData<*mut ()>,
}

/// No interrupt number: [`IrqOwned`] data no handler may reach.
const UNBOUND: u32 = u32::MAX;

/// Data that belongs to the handler of one interrupt vector (C: an NVMe CQ, which
/// `nvme_irq` reaps without a lock): the handler reaches it without any lock, every other
/// context only with the vector disabled (`disable_irq`, which also waits for a running
/// handler) and under the data's mutex (C: `nvme_poll_irqdisable`). The hot path thus
/// costs one relaxed load; the others sleep.
///
/// # Invariants
///
/// - `data` and `busy` are only accessed by (a) a handler call of the interrupt `irq`
///   holds (`InIrq`), or (b) a context holding `others` with `irq`'s vector disabled
///   (or `irq` `UNBOUND`); at most one of those runs at a time.
/// - `irq` changes only under `others`, with the old vector disabled.
/// - `busy` is true while a reference to `data` is out (no second one is made).
#[pin_data]
pub(crate) struct IrqOwned<T> {
    data: UnsafeCell<T>,
    busy: UnsafeCell<bool>,
    irq: Atomic<u32>,
    /// Serialises the contexts that are not the handler. Lock order: taken by sleeping
    /// contexts only, under no spinlock; nothing that a handler takes is held across it.
    #[pin]
    others: Mutex<()>,
}

// SAFETY: `data` is reached by one context at a time (type invariant), like a mutex's
// contents: sending or sharing the owner is fine when `T` may move between threads.
unsafe impl<T: Send> Send for IrqOwned<T> {}
// SAFETY: As above: shared references only give exclusive access in turn.
unsafe impl<T: Send> Sync for IrqOwned<T> {}

impl<T> IrqOwned<T> {
    /// Data that no handler may reach until [`Self::bind`].
    pub(crate) fn new(data: T) -> impl PinInit<Self> {
        // INVARIANT: unbound; no reference out.
        pin_init!(Self {
            data: UnsafeCell::new(data),
            busy: UnsafeCell::new(false),
            irq: Atomic::new(UNBOUND),
            others <- new_mutex!(()),
        })
    }

    /// Gives `f` the data while no one else has it.
    ///
    /// # Safety
    ///
    /// The caller has the access the type invariant's (a) or (b) describes.
    unsafe fn open<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        // SAFETY: Per the function's safety requirements only this context reaches `busy`
        // and `data`.
        unsafe {
            if *self.busy.get() {
                // `f` of an outer call reached the same data again.
                return None;
            }
            *self.busy.get() = true;
            let r = f(&mut *self.data.get());
            *self.busy.get() = false;
            Some(r)
        }
    }

    /// Runs `f` on the data from the handler of the interrupt it is bound to; `None` from
    /// any other interrupt's handler.
    pub(crate) fn with_handler<R>(&self, irq: &InIrq, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        // Relaxed: `irq` changes only with the vector disabled, and the IRQ core's
        // descriptor lock orders a later handler call after that (`enable_irq`).
        if self.irq.load(Relaxed) != irq.irq {
            return None;
        }
        // SAFETY: `InIrq` says this is a handler call of `irq`, the interrupt the data is
        // bound to (type invariant (a)); the others wait for it in `disable_irq`.
        unsafe { self.open(f) }
    }

    /// Runs `f` on the data with the bound vector disabled. Sleeps: process context only.
    pub(crate) fn with_disabled<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let _g = self.others.lock();
        let irq = self.irq.load(Relaxed);
        let _off = IrqOff::new(irq);
        // SAFETY: `others` is held and `irq`'s vector disabled (or `irq` unbound), type
        // invariant (b); `irq` cannot change while `others` is held.
        unsafe { self.open(f) }
    }

    /// Whether a handler's vector is bound (its interrupts reach the data).
    pub(crate) fn is_bound(&self) -> bool {
        self.irq.load(Relaxed) != UNBOUND
    }

    /// Hands the data to the handler of `irq` (`None`: to no handler). Sleeps.
    pub(crate) fn bind(&self, irq: Option<IrqNumber>) {
        let _g = self.others.lock();
        let _off = IrqOff::new(self.irq.load(Relaxed));
        // INVARIANT: changed under `others`, the old vector disabled: no handler of it
        // runs now or sees the old value later.
        self.irq.store(irq.map_or(UNBOUND, |i| i.0), Relaxed);
    }
}

/// An interrupt disabled (and its running handler waited for) until drop.
struct IrqOff(u32);

impl IrqOff {
    fn new(irq: u32) -> Self {
        if irq != UNBOUND {
            // SAFETY: Any interrupt number may be passed; one without a descriptor is
            // ignored. Sleeps until a running handler returns (callers may sleep).
            unsafe { bindings::disable_irq(irq) };
        }
        Self(irq)
    }
}

impl Drop for IrqOff {
    fn drop(&mut self) {
        if self.0 != UNBOUND {
            // SAFETY: Balances the `disable_irq` of `new`.
            unsafe { bindings::enable_irq(self.0) };
        }
    }
}

/// The kinds of vector [`Vectors::alloc`] may allocate (C: `PCI_IRQ_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IrqTypes(u32);

impl IrqTypes {
    /// Any kind, MSI-X preferred, then MSI, then INTx (C: `PCI_IRQ_ALL_TYPES`).
    pub(crate) const ALL: Self = Self(bindings::PCI_IRQ_ALL_TYPES);

    /// These kinds but MSI.
    pub(crate) const fn without_msi(self) -> Self {
        Self(self.0 & !bindings::PCI_IRQ_MSI)
    }
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
    irq: c_int,
    cookie: *mut c_void,
) -> bindings::irqreturn_t {
    // SAFETY: Per the function's safety requirements, `cookie` points to a live `T`, which
    // is only ever shared (`Handler` is `Sync`).
    let handler = unsafe { &*cookie.cast::<T>() };
    // INVARIANT: the IRQ core is calling the handler of `irq`, for this call only.
    let ctx = InIrq {
        irq: irq as u32,
        _not_send: PhantomData,
    };
    if handler.handle(&ctx) {
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
        // All-zero is a valid `irq_affinity` (no sets, default spreading).
        let mut affd: bindings::irq_affinity = pin_init::zeroed();
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

    /// The interrupt number of vector `index` (C: `pci_irq_vector`).
    pub(crate) fn irq(&self, index: u32) -> Result<IrqNumber> {
        if index >= self.count {
            return Err(EINVAL);
        }
        // SAFETY: The device is live and, by the type invariant, has its vectors
        // allocated; `index` is one of them.
        let irq = unsafe { bindings::pci_irq_vector(raw_pdev(&self.pdev), index) };
        u32::try_from(irq)
            .map(IrqNumber)
            .map_err(|_| Error::from_errno(irq))
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
        let irq = self.irq(index)?.0;
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
