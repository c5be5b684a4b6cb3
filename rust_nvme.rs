// SPDX-License-Identifier: GPL-2.0

//! rust_nvme: an NVM Express PCIe host driver written in Rust.
//!
//! Binds to PCI class 0x010802 (NVM Express) controllers. It is an alternative to the C
//! driver in `drivers/nvme/host/pci.c`: load one or the other.

mod pci;
mod regs;

kernel::module_pci_driver! {
    type: pci::NvmeDriver,
    name: "rust_nvme",
    authors: ["rust_nvme developers"],
    description: "NVM Express PCIe host driver (Rust)",
    license: "GPL",
}
