// SPDX-License-Identifier: GPL-2.0

//! A PCI driver with the whole life cycle: probe and unbind (from 7.3's
//! [`kernel::pci::Adapter`]) plus shutdown, PCI error recovery and system sleep.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h)
//!
//! 7.3's adapter registers a `struct pci_driver` with only `probe` and `remove`. A driver
//! that also implements [`Driver`] here is registered through [`Adapter`], which fills in
//! `shutdown`, `err_handler` and `driver.pm` and then lets 7.3's adapter fill in the rest
//! and register. Every extra callback runs with the device lock held while the driver is
//! bound (the PCI core takes `device_lock` for shutdown, error recovery, function reset
//! and the PM callbacks, and checks that the driver is still bound), so each sees the
//! device in the [`Core`] context and borrows the driver data set by probe.
//!
//! Nothing here knows about NVMe.

use core::pin::Pin;

use kernel::{
    bindings,
    device::{
        Core,
        CoreInternal, //
    },
    dma::{
        Device as _,
        DmaMask, //
    },
    driver::{
        DriverLayout,
        RegistrationOps, //
    },
    error::from_result,
    pci,
    prelude::*,
    str::CStr,
    types::Opaque,
    ThisModule, //
};

/// The state of the PCI channel when an error is reported (C: `pci_channel_state_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChannelState {
    /// I/O still works (a non-fatal error).
    Normal,
    /// I/O to the device is blocked until a slot reset.
    Frozen,
    /// The device is gone for good.
    PermFailure,
}

impl ChannelState {
    fn from_raw(s: bindings::pci_channel_state_t) -> Self {
        match s {
            bindings::pci_channel_io_normal => Self::Normal,
            bindings::pci_channel_io_frozen => Self::Frozen,
            _ => Self::PermFailure,
        }
    }
}

/// What a driver tells PCI error recovery (C: `pci_ers_result_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErsResult {
    /// The driver can recover without a reset.
    CanRecover,
    /// The driver needs a slot reset.
    NeedReset,
    /// The device cannot be recovered.
    Disconnect,
    /// The device works again.
    Recovered,
}

impl ErsResult {
    fn to_raw(self) -> bindings::pci_ers_result_t {
        match self {
            Self::CanRecover => bindings::pci_ers_result_PCI_ERS_RESULT_CAN_RECOVER,
            Self::NeedReset => bindings::pci_ers_result_PCI_ERS_RESULT_NEED_RESET,
            Self::Disconnect => bindings::pci_ers_result_PCI_ERS_RESULT_DISCONNECT,
            Self::Recovered => bindings::pci_ers_result_PCI_ERS_RESULT_RECOVERED,
        }
    }
}

/// The callbacks of a PCI driver beyond probe and unbind. Each gets the device (with
/// its lock held) and the driver data that probe returned.
#[vtable]
pub(crate) trait Driver: pci::Driver + 'static {
    /// System shutdown, reboot or kexec (C: `pci_driver.shutdown`).
    fn shutdown(_pdev: &pci::Device<Core<'_>>, _this: Pin<&Self::Data<'_>>) {}

    /// An error was reported on the device's link (C: `err_handler->error_detected`).
    fn error_detected(
        _pdev: &pci::Device<Core<'_>>,
        _this: Pin<&Self::Data<'_>>,
        _state: ChannelState,
    ) -> ErsResult {
        ErsResult::NeedReset
    }

    /// The slot was reset; config space is as the PCI core restored it
    /// (C: `err_handler->slot_reset`).
    fn slot_reset(_pdev: &pci::Device<Core<'_>>, _this: Pin<&Self::Data<'_>>) -> ErsResult {
        ErsResult::Recovered
    }

    /// Error recovery is over; I/O may resume (C: `err_handler->resume`).
    fn error_resume(_pdev: &pci::Device<Core<'_>>, _this: Pin<&Self::Data<'_>>) {}

    /// A function reset (FLR, `reset` in sysfs) is about to happen
    /// (C: `err_handler->reset_prepare`).
    fn reset_prepare(_pdev: &pci::Device<Core<'_>>, _this: Pin<&Self::Data<'_>>) {}

    /// The function reset is done (C: `err_handler->reset_done`).
    fn reset_done(_pdev: &pci::Device<Core<'_>>, _this: Pin<&Self::Data<'_>>) {}

    /// System sleep: suspend, freeze (hibernation image) or power-off
    /// (C: `dev_pm_ops.suspend`, `.freeze`, `.poweroff`).
    fn suspend(_pdev: &pci::Device<Core<'_>>, _this: Pin<&Self::Data<'_>>) -> Result {
        Ok(())
    }

    /// Wake-up from [`Driver::suspend`] (C: `dev_pm_ops.resume`, `.thaw`, `.restore`).
    fn resume(_pdev: &pci::Device<Core<'_>>, _this: Pin<&Self::Data<'_>>) -> Result {
        Ok(())
    }
}

/// Registers a PCI driver `T` with every callback of [`Driver`]; use it in place of
/// [`kernel::pci::Adapter`] in a [`kernel::driver::Registration`].
pub(crate) struct Adapter<T: Driver>(T);

// SAFETY: The same layout as 7.3's PCI adapter (which this registration hands over to):
// - `bindings::pci_driver` is a C type declared as `repr(C)`.
// - `T::Data` is the type of the driver's device private data (set by that adapter's
//   probe callback).
// - `DEVICE_DRIVER_OFFSET` is the byte offset of the embedded `struct device_driver`.
unsafe impl<T: Driver> DriverLayout for Adapter<T> {
    type DriverType = bindings::pci_driver;
    type DriverData<'bound> = T::Data<'bound>;
    const DEVICE_DRIVER_OFFSET: usize = core::mem::offset_of!(Self::DriverType, driver);
}

// SAFETY: `register` completes the driver structure and then registers it exactly as 7.3's
// PCI adapter does (by calling it); `unregister` is that adapter's, valid after a
// successful `register`.
unsafe impl<T: Driver> RegistrationOps for Adapter<T> {
    unsafe fn register(
        pdrv: &Opaque<Self::DriverType>,
        name: &'static CStr,
        module: &'static ThisModule,
    ) -> Result {
        // SAFETY: `pdrv` is the zeroed driver structure under initialisation (the caller's
        // guarantee); setting its fields before registration is allowed. The tables are
        // `'static` (constant promotion) and never written.
        unsafe {
            let d = pdrv.get();
            if T::HAS_SHUTDOWN {
                (*d).shutdown = Some(Self::shutdown_callback);
            }
            (*d).err_handler = &Self::ERR_HANDLERS;
            (*d).driver.pm = &Self::PM_OPS;
        }
        // 7.3's adapter sets name, id_table, probe and remove (and only those), then
        // registers.
        // SAFETY: Forwarded from the caller.
        unsafe { <pci::Adapter<T> as RegistrationOps>::register(pdrv, name, module) }
    }

    unsafe fn unregister(pdrv: &Opaque<Self::DriverType>) {
        // SAFETY: Forwarded from the caller (a successful `register` came first).
        unsafe { <pci::Adapter<T> as RegistrationOps>::unregister(pdrv) }
    }
}

impl<T: Driver> Adapter<T> {
    const ERR_HANDLERS: bindings::pci_error_handlers = bindings::pci_error_handlers {
        error_detected: Some(Self::error_detected_callback),
        mmio_enabled: None,
        slot_reset: Some(Self::slot_reset_callback),
        reset_prepare: Some(Self::reset_prepare_callback),
        reset_done: Some(Self::reset_done_callback),
        resume: Some(Self::error_resume_callback),
        cor_error_detected: None,
    };

    const PM_OPS: bindings::dev_pm_ops = bindings::dev_pm_ops {
        suspend: Some(Self::suspend_callback),
        resume: Some(Self::resume_callback),
        freeze: Some(Self::suspend_callback),
        thaw: Some(Self::resume_callback),
        poweroff: Some(Self::suspend_callback),
        restore: Some(Self::resume_callback),
        // All-zero is a valid `dev_pm_ops` (every callback optional).
        ..pin_init::zeroed()
    };

    /// Runs `f` with the device and the driver data of a bound `pdev`.
    ///
    /// # Safety
    ///
    /// - `pdev` points to a `struct pci_dev` whose device lock is held for the duration of
    ///   the call, by the PCI core, which calls the callbacks of this file only so.
    /// - This driver is bound to it: the probe callback of 7.3's adapter succeeded and the
    ///   remove callback has not run, so the driver data is a `Pin<KBox<T::Data>>`.
    unsafe fn with<R>(
        pdev: *mut bindings::pci_dev,
        f: impl for<'a> FnOnce(&pci::Device<Core<'a>>, Pin<&T::Data<'a>>) -> R,
    ) -> R {
        // SAFETY: `pci::Device` is `repr(transparent)` over `struct pci_dev`; `pdev` is
        // valid and locked for the call (the function's safety requirements), which is
        // what the `CoreInternal` context states.
        let pdev = unsafe { &*pdev.cast::<pci::Device<CoreInternal<'_>>>() };
        // SAFETY: The driver is bound (safety requirements), so the data was set by the
        // probe callback with this type and is not freed before unbind, which cannot run
        // while the device lock is held here.
        let data = unsafe { pdev.as_ref().drvdata_borrow::<T::Data<'_>>() };
        f(pdev, data)
    }

    /// # Safety
    ///
    /// Called by the PCI core only, with `pdev` bound to this driver and locked.
    unsafe extern "C" fn shutdown_callback(pdev: *mut bindings::pci_dev) {
        // SAFETY: The caller's guarantees are those of `with`.
        unsafe { Self::with(pdev, |p, d| T::shutdown(p, d)) }
    }

    /// # Safety
    ///
    /// As [`Self::shutdown_callback`].
    unsafe extern "C" fn error_detected_callback(
        pdev: *mut bindings::pci_dev,
        state: bindings::pci_channel_state_t,
    ) -> bindings::pci_ers_result_t {
        let state = ChannelState::from_raw(state);
        // SAFETY: The caller's guarantees (the PCI core calls this only for a bound, locked
        // function of this driver) are those of `with`.
        unsafe { Self::with(pdev, |p, d| T::error_detected(p, d, state)) }.to_raw()
    }

    /// # Safety
    ///
    /// As [`Self::shutdown_callback`].
    unsafe extern "C" fn slot_reset_callback(
        pdev: *mut bindings::pci_dev,
    ) -> bindings::pci_ers_result_t {
        // SAFETY: The caller's guarantees (the PCI core calls this only for a bound, locked
        // function of this driver) are those of `with`.
        unsafe { Self::with(pdev, |p, d| T::slot_reset(p, d)) }.to_raw()
    }

    /// # Safety
    ///
    /// As [`Self::shutdown_callback`].
    unsafe extern "C" fn error_resume_callback(pdev: *mut bindings::pci_dev) {
        // SAFETY: The caller's guarantees (the PCI core calls this only for a bound, locked
        // function of this driver) are those of `with`.
        unsafe { Self::with(pdev, |p, d| T::error_resume(p, d)) }
    }

    /// # Safety
    ///
    /// As [`Self::shutdown_callback`].
    unsafe extern "C" fn reset_prepare_callback(pdev: *mut bindings::pci_dev) {
        // SAFETY: The caller's guarantees (the PCI core calls this only for a bound, locked
        // function of this driver) are those of `with`.
        unsafe { Self::with(pdev, |p, d| T::reset_prepare(p, d)) }
    }

    /// # Safety
    ///
    /// As [`Self::shutdown_callback`].
    unsafe extern "C" fn reset_done_callback(pdev: *mut bindings::pci_dev) {
        // SAFETY: The caller's guarantees (the PCI core calls this only for a bound, locked
        // function of this driver) are those of `with`.
        unsafe { Self::with(pdev, |p, d| T::reset_done(p, d)) }
    }

    /// The PCI function of the device a PM callback names.
    ///
    /// # Safety
    ///
    /// `dev` is the `struct device` embedded in a `struct pci_dev`.
    unsafe fn to_pci_dev(dev: *mut bindings::device) -> *mut bindings::pci_dev {
        // SAFETY: Per the function's safety requirements (C: `to_pci_dev`).
        unsafe { kernel::container_of!(dev, bindings::pci_dev, dev) }
    }

    /// # Safety
    ///
    /// Called by the PM core only, for a device of this driver (a `struct pci_dev`) that
    /// is bound and locked.
    unsafe extern "C" fn suspend_callback(dev: *mut bindings::device) -> c_int {
        // SAFETY: This table is only installed in a `pci_driver`, so `dev` is a PCI
        // function's; bound and locked per the caller's guarantees.
        from_result(|| {
            unsafe { Self::with(Self::to_pci_dev(dev), |p, d| T::suspend(p, d)) }.map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// As [`Self::suspend_callback`].
    unsafe extern "C" fn resume_callback(dev: *mut bindings::device) -> c_int {
        // SAFETY: This table is only installed in a `pci_driver`, so `dev` is a PCI
        // function's; bound and locked per the caller's guarantees.
        from_result(|| {
            unsafe { Self::with(Self::to_pci_dev(dev), |p, d| T::resume(p, d)) }.map(|()| 0)
        })
    }
}

/// The `struct pci_dev` behind a PCI device.
pub(crate) fn raw_pdev(pdev: &pci::Device) -> *mut bindings::pci_dev {
    // `pci::Device` is `repr(transparent)` over `struct pci_dev`.
    core::ptr::from_ref(pdev)
        .cast::<bindings::pci_dev>()
        .cast_mut()
}

/// PCI command register: memory space decode and bus mastering (C: `PCI_COMMAND_MEMORY`,
/// `PCI_COMMAND_MASTER`).
const PCI_COMMAND_MEMORY_MASTER: u16 =
    (bindings::PCI_COMMAND_MEMORY | bindings::PCI_COMMAND_MASTER) as u16;

/// Turns memory decode and bus mastering back on if something cleared them behind the
/// PCI core's back (C: `nvme_pci_enable`'s `pci_enable_device_mem` + `pci_set_master`,
/// which re-enable a function that the previous disable turned off).
///
/// Returns whether either bit had to be set again. A function whose config space reads
/// all ones (gone) is left alone.
pub(crate) fn reenable(pdev: &pci::Device) -> bool {
    let raw = raw_pdev(pdev);
    let mut cmd: u16 = 0;
    // SAFETY: `raw` is a live PCI function (the caller's reference); config reads and
    // writes are serialised by the PCI core.
    let ret =
        unsafe { bindings::pci_read_config_word(raw, bindings::PCI_COMMAND as i32, &mut cmd) };
    if ret != 0 || cmd == u16::MAX || cmd & PCI_COMMAND_MEMORY_MASTER == PCI_COMMAND_MEMORY_MASTER {
        return false;
    }
    // SAFETY: `raw` is a live PCI function (the caller's reference); the PCI core
    // serialises config accesses.
    unsafe {
        bindings::pci_write_config_word(
            raw,
            bindings::PCI_COMMAND as i32,
            cmd | PCI_COMMAND_MEMORY_MASTER,
        );
        // Keeps the PCI core's record (`is_busmaster`) in step.
        bindings::pci_set_master(raw);
    }
    true
}

/// Stops the function's DMA (C: `pci_clear_master`): for a controller that did not
/// acknowledge its disable, so that it cannot write memory the driver frees next.
pub(crate) fn clear_master(pdev: &pci::Device) {
    // SAFETY: `raw_pdev` gives a live PCI function (the caller's reference).
    unsafe { bindings::pci_clear_master(raw_pdev(pdev)) };
}

/// Restores the config space saved by the PCI core (C: `pci_restore_state`), after a
/// slot reset.
pub(crate) fn restore_state(pdev: &pci::Device) {
    // SAFETY: As in `clear_master`.
    unsafe { bindings::pci_restore_state(raw_pdev(pdev)) };
}

/// Whether PCI error recovery has taken the function's channel offline (C:
/// `pci_channel_offline`): its MMIO reads are not to be trusted until recovery ends.
pub(crate) fn channel_offline(pdev: &pci::Device) -> bool {
    let raw = raw_pdev(pdev);
    // SAFETY: `raw` is a live PCI function (the caller's reference); `error_state` is a
    // plain field that error recovery updates, read here as C's inline helper does.
    let state = unsafe { core::ptr::read_volatile(&raw const (*raw).error_state) };
    state != bindings::pci_channel_io_normal
}

/// Checks that `pdev` is being probed: no driver is bound to it yet.
///
/// A [`Core`] device exists only inside a bus callback, which runs with the device lock
/// held; of those, only probe runs before the driver data is set (the PCI adapter sets it
/// when probe's initialiser has run, and the driver core clears it again when a probe fails
/// or the driver unbinds).
///
/// # Errors
///
/// `EBUSY` when a driver is bound (the driver data is set).
fn probing(pdev: &pci::Device<Core<'_>>) -> Result {
    // SAFETY: `raw_pdev` is the live PCI function of `pdev`; its device lock is held (the
    // `Core` context), under which the driver core sets and clears `driver_data`.
    let data = unsafe { (*raw_pdev(pdev)).dev.driver_data };
    if data.is_null() {
        Ok(())
    } else {
        Err(EBUSY)
    }
}

/// Sets the DMA addressing capabilities of a function that is being probed
/// (C: `dma_set_mask_and_coherent`).
///
/// # Errors
///
/// `EBUSY` outside probe (a driver is bound); what the DMA layer says when the mask cannot
/// be used (`EIO`).
pub(crate) fn dma_set_mask_and_coherent(pdev: &pci::Device<Core<'_>>, mask: DmaMask) -> Result {
    probing(pdev)?;
    // SAFETY: No DMA allocation or mapping for the device runs concurrently: those need a
    // bound device, and the driver is not bound (checked above: probe runs, with the device
    // lock held, so nothing binds it meanwhile); what the running probe started itself runs
    // in this thread, before or after this call.
    unsafe { pdev.dma_set_mask_and_coherent(mask) }
}

/// Sets the largest DMA segment of a function that is being probed
/// (C: `dma_set_max_seg_size`).
///
/// # Errors
///
/// `EBUSY` outside probe (a driver is bound).
pub(crate) fn dma_set_max_seg_size(pdev: &pci::Device<Core<'_>>, size: u32) -> Result {
    probing(pdev)?;
    // SAFETY: As in `dma_set_mask_and_coherent`: the device is being probed, so no DMA
    // allocation or mapping runs concurrently.
    unsafe { pdev.dma_set_max_seg_size(size) };
    Ok(())
}

/// Makes bounce buffering (swiotlb) keep the low `mask` bits of every address it maps
/// (C: `dma_set_min_align_mask`), for a function that is being probed: a buffer that starts
/// 512 bytes into a page is bounced to a slot that does too.
///
/// # Errors
///
/// `EBUSY` outside probe (a driver is bound); `EINVAL` when the device has no DMA
/// parameters (PCI functions always do).
pub(crate) fn dma_set_min_align_mask(pdev: &pci::Device<Core<'_>>, mask: u32) -> Result {
    probing(pdev)?;
    let raw = raw_pdev(pdev);
    // SAFETY: `raw` is the live PCI function of `pdev`. `dma_parms`, when set, points at the
    // `pci_dev`'s own `dma_parms` (set by `pci_setup_device`), which lives as long as
    // `dev`. The device is being probed (checked above), so no DMA allocation or mapping
    // runs concurrently and nothing reads the field while it changes (C's inline helper
    // writes it the same way).
    unsafe {
        let parms = (*raw).dev.dma_parms;
        if parms.is_null() {
            return Err(EINVAL);
        }
        (*parms).min_align_mask = mask;
    }
    Ok(())
}

/// The largest DMA mapping the device should make for good performance, and at most the
/// largest it can make at all (C: `dma_opt_mapping_size`): under forced bounce buffering
/// (swiotlb) that is one bounce slot run, 256 KiB, and a larger segment could never be
/// mapped.
pub(crate) fn dma_opt_mapping_size(pdev: &pci::Device) -> usize {
    // SAFETY: `raw_pdev` is the live PCI function of `pdev`; the function only reads the
    // device's DMA ops and parameters.
    unsafe { bindings::dma_opt_mapping_size(&raw mut (*raw_pdev(pdev)).dev) }
}
