// SPDX-License-Identifier: GPL-2.0

//! PCI glue: device matching, BAR0 mapping and the controller's lifetime.

use kernel::{
    device::Core,
    io::Io,
    pci,
    prelude::*, //
};

use crate::regs::{
    self,
    Cap, //
};

/// BAR0 as the driver maps it: registers plus the doorbells it uses.
type Bar0<'bound> = pci::Bar<'bound, { regs::BAR0_MIN_SIZE }>;

/// Per-device driver data.
pub(crate) struct NvmeData<'bound> {
    pdev: &'bound pci::Device,
    #[expect(dead_code)]
    bar: Bar0<'bound>,
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

impl pci::Driver for NvmeDriver {
    type IdInfo = ();
    type Data<'bound> = NvmeData<'bound>;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pdev.enable_device_mem()?;
        pdev.set_master();
        let bar = pdev.iomap_region_sized::<{ regs::BAR0_MIN_SIZE }>(0, c"rust_nvme")?;

        let cap = Cap::from_halves(
            bar.read(regs::CAP_LO).value().get(),
            bar.read(regs::CAP_HI).value().get(),
        );
        let vs = bar.read(regs::VS);
        if vs.into_raw() == regs::REG_DEAD {
            dev_err!(pdev, "controller is not responding (VS reads all ones)\n");
            return Err(ENODEV);
        }
        dev_info!(
            pdev,
            "NVMe {}.{}.{} controller: CAP.MQES {} CAP.TO {} CAP.DSTRD {} CAP.MPSMIN {} CAP.MPSMAX {} CAP.CSS {:#x}\n",
            vs.mjr().get(),
            vs.mnr().get(),
            vs.ter().get(),
            cap.mqes().get(),
            cap.to().get(),
            cap.dstrd().get(),
            cap.mpsmin().get(),
            cap.mpsmax().get(),
            cap.css().get(),
        );

        Ok(NvmeData { pdev, bar })
    }

    fn unbind<'bound>(_pdev: &'bound pci::Device<Core<'_>>, _this: Pin<&Self::Data<'bound>>) {}
}

impl Drop for NvmeData<'_> {
    fn drop(&mut self) {
        dev_dbg!(self.pdev, "unbound\n");
    }
}
