// SPDX-License-Identifier: GPL-2.0

//! Abstractions over C kernel objects that 7.3's `kernel` crate does not (yet) offer,
//! shaped like `rust/kernel`: one file per C object, no NVMe knowledge inside.
//!
//! Every `unsafe` block and every use of `kernel::bindings` of the driver lives here
//! (see README, "Layout").

pub(crate) mod bar_reg;
pub(crate) mod bio;
pub(crate) mod blk_mq;
mod c_abi;
pub(crate) mod chrdev;
pub(crate) mod class;
pub(crate) mod cred;
pub(crate) mod device;
pub(crate) mod dma_ring;
pub(crate) mod dma_word;
pub(crate) mod fault_inject;
pub(crate) mod gendisk;
pub(crate) mod global;
#[cfg(CONFIG_HWMON)]
pub(crate) mod hwmon;
pub(crate) mod io_uring;
pub(crate) mod irq;
pub(crate) mod module;
pub(crate) mod module_param;
pub(crate) mod pci;
pub(crate) mod printk;
pub(crate) mod sysfs;
pub(crate) mod wait;
pub(crate) mod workqueue;
