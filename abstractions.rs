// SPDX-License-Identifier: GPL-2.0

//! Abstractions over C kernel objects that 7.3's `kernel` crate does not (yet) offer,
//! shaped like `rust/kernel`: one file per C object, no NVMe knowledge inside.
//!
//! The aim (see README, "Layout") is that every `unsafe` block and every use of
//! `kernel::bindings` lives here; the blk-mq, IRQ, sysfs and character device layers
//! still live beside the driver code and move here next.

pub(crate) mod chrdev;
pub(crate) mod cred;
pub(crate) mod device;
pub(crate) mod global;
pub(crate) mod irq;
pub(crate) mod pci;
pub(crate) mod workqueue;
