// SPDX-License-Identifier: GPL-2.0

//! PCI glue: device matching, probe and unbind, and the rest of the PCI driver's life
//! cycle (C: `nvme_driver`): shutdown, error recovery, function reset, system sleep.
//!
//! Probe only maps BAR0 and queues the controller's reset work, which brings the
//! controller up in the background (`crate::ctrl`); unbind waits for that work and tears
//! the controller down. Every other callback hands over to the controller.

use crate::diag::log::ctrl_info;

use kernel::{
    device::Core,
    dma::DmaMask,
    pci,
    prelude::*,
    sync::Arc, //
};

use crate::{
    abstractions::{
        chrdev::Cdev,
        pci::{
            self as lifecycle,
            ChannelState,
            ErsResult, //
        },
    },
    ctrl::{
        Ctrl,
        Interfaces, //
    },
    hw::quirks::Quirks,
    spec::regs, //
    uapi::sysfs::CtrlDevice,
};

/// Per-device driver data.
pub(crate) struct NvmeData {
    ctrl: Arc<Ctrl>,
    /// `/dev/nvme<N>`.
    cdev: Cdev<Ctrl>,
}

/// The rust_nvme PCI driver.
pub(crate) struct NvmeDriver;

kernel::pci_device_table!(
    PCI_TABLE,
    <NvmeDriver as pci::Driver>::IdInfo,
    [(
        pci::DeviceId::from_class(
            pci::Class::STORAGE_EXPRESS.as_raw(),
            pci::ClassMask::Full.as_raw()
        ),
        ()
    )]
);

/// What the user interfaces give every controller.
static INTERFACES: Interfaces = Interfaces {
    subsys_device: crate::uapi::sysfs::subsys_device,
    // Without hwmon in the kernel no monitor, as nvme.ko without `NVME_HWMON`.
    #[cfg(CONFIG_HWMON)]
    hwmon: Some(crate::uapi::hwmon::register),
    #[cfg(not(CONFIG_HWMON))]
    hwmon: None,
    update_ctrl_attrs: crate::uapi::sysfs::update_ctrl_attrs,
    ng_device: crate::uapi::chardev::ng_device,
};

impl pci::Driver for NvmeDriver {
    type IdInfo = ();
    type Data<'bound> = NvmeData;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        let params = crate::params()?;
        // C's quirks for this controller, by PCI vendor and device, then what the
        // `quirks` parameter sets and clears.
        let (vendor, device) = (pdev.vendor_id().as_raw(), pdev.device_id());
        let mut quirks = Quirks::for_pci(vendor, device);
        if let Some(o) = crate::quirk_override(vendor, device)? {
            quirks = o.apply(quirks);
        }
        for name in quirks.unsupported().names() {
            dev_warn!(
                pdev.as_ref(),
                "quirk {} is not supported by rust_nvme; ignored\n",
                name
            );
        }
        let quirks = quirks.without(quirks.unsupported());
        pdev.enable_device_mem()?;
        pdev.set_master();
        let mask = if quirks.has(Quirks::DMA_ADDRESS_BITS_48) {
            DmaMask::new::<48>()
        } else {
            DmaMask::new::<64>()
        };
        lifecycle::dma_set_mask_and_coherent(pdev, mask)?;
        // PRPs and SGLs put no limit on a segment's length (C does the same).
        lifecycle::dma_set_max_seg_size(pdev, u32::MAX)?;
        // Bounced buffers keep their offset in the controller page, as PRPs need; the
        // controller page is at most the host page (C: `NVME_CTRL_PAGE_SIZE - 1`).
        lifecycle::dma_set_min_align_mask(pdev, (kernel::page::PAGE_SIZE - 1) as u32)?;
        let bar = pdev
            .iomap_region_sized::<{ regs::BAR0_MIN_SIZE }>(0, c"rust_nvme")?
            .into_devres()?;

        let ctrl = Ctrl::new(pdev, bar, params, quirks, &INTERFACES)?;
        // The character device first, so that /dev/nvme<N> opens once it appears (C:
        // `cdev_device_add`).
        let cdev = crate::uapi::chardev::publish(&ctrl)
            .and_then(|cdev| {
                let dev =
                    CtrlDevice::for_ctrl(ctrl.clone(), crate::uapi::chardev::devt(ctrl.instance))?;
                ctrl.set_class_device(dev);
                Ok(cdev)
            })
            .inspect_err(|_| ctrl.drop_self_ref())?;
        ctrl_info!(ctrl.instance, "probed; bringing the controller up\n");
        ctrl.schedule_probe();
        Ok(NvmeData { ctrl, cdev })
    }

    fn unbind<'bound>(_pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        // No new opens of /dev/nvme<N>; files already open see the controller go.
        this.cdev.remove();
        this.ctrl.remove();
    }
}

#[vtable]
impl lifecycle::Driver for NvmeDriver {
    fn shutdown(_pdev: &pci::Device<Core<'_>>, this: Pin<&NvmeData>) {
        this.ctrl.shutdown_for_poweroff();
    }

    fn error_detected(
        _pdev: &pci::Device<Core<'_>>,
        this: Pin<&NvmeData>,
        state: ChannelState,
    ) -> ErsResult {
        this.ctrl.error_detected(state)
    }

    fn slot_reset(_pdev: &pci::Device<Core<'_>>, this: Pin<&NvmeData>) -> ErsResult {
        this.ctrl.slot_reset()
    }

    fn error_resume(_pdev: &pci::Device<Core<'_>>, this: Pin<&NvmeData>) {
        this.ctrl.error_resume();
    }

    fn reset_prepare(_pdev: &pci::Device<Core<'_>>, this: Pin<&NvmeData>) {
        this.ctrl.reset_prepare();
    }

    fn reset_done(_pdev: &pci::Device<Core<'_>>, this: Pin<&NvmeData>) {
        this.ctrl.reset_done();
    }

    fn suspend(_pdev: &pci::Device<Core<'_>>, this: Pin<&NvmeData>) -> Result {
        this.ctrl.pm_suspend()
    }

    fn resume(_pdev: &pci::Device<Core<'_>>, this: Pin<&NvmeData>) -> Result {
        this.ctrl.pm_resume()
    }
}
