// SPDX-License-Identifier: GPL-2.0

//! rust_nvme: an NVM Express PCIe host driver written in Rust.
//!
//! Binds to PCI class 0x010802 (NVM Express) controllers and exposes each usable
//! namespace as `/dev/nvme<N>n<M>`. It is an alternative to the C driver in
//! `drivers/nvme/host/pci.c`: load one or the other.

use kernel::prelude::*;

mod abstractions;
mod chardev;
mod cmd;
mod ctrl;
mod datalen;
mod dbbuf;
mod diag;
mod effects;
mod identify;
mod ioctl;
mod irq;
mod mq;
mod pci;
mod prp;
mod queue;
mod quirks;
mod regs;
mod sgl;
mod sysfs;

/// The module: the `nvme` class, then the PCI driver.
#[pin_data]
struct RustNvme {
    /// Declared first so that it is dropped first: devices unbind before the class goes.
    #[pin]
    driver: kernel::driver::Registration<abstractions::pci::Adapter<pci::NvmeDriver>>,
    chrdev: chardev::Region,
    class: sysfs::ClassRegistration,
}

impl kernel::InPlaceModule for RustNvme {
    fn init(module: &'static kernel::ThisModule) -> impl PinInit<Self, Error> {
        pin_init::pin_init_scope(move || {
            // Out-of-range parameters fail insmod with a message naming them.
            params()?;
            let class = sysfs::ClassRegistration::new()?;
            let chrdev = chardev::Region::new()?;
            Ok(try_pin_init!(Self {
                class,
                chrdev,
                driver <- kernel::driver::Registration::new(c"rust_nvme", module),
            }))
        })
    }
}

module! {
    type: RustNvme,
    name: "rust_nvme",
    authors: ["rust_nvme developers"],
    description: "NVM Express PCIe host driver (Rust)",
    license: "GPL",
    params: {
        io_queue_depth: u32 {
            default: 1024,
            description: "set io queue depth, should >= 2 and <= 4095",
        },
        max_io_queues: u32 {
            default: 0,
            description: "largest number of I/O queues (0 = one per possible CPU)",
        },
        io_timeout: u32 {
            default: 30,
            description: "timeout in seconds for I/O",
        },
        admin_timeout: u32 {
            default: 60,
            description: "timeout in seconds for admin commands",
        },
        poll_queues: u32 {
            default: 0,
            description: "Number of queues to use for polled IO.",
        },
        shadow_doorbell: bool {
            default: true,
            description: "use the controller's shadow doorbell buffer (Doorbell Buffer Config) when offered",
        },
        max_retries: u32 {
            default: 5,
            description: "max number of retries a command may have",
        },
        sgl_threshold: u32 {
            default: 32768,
            description: "Use SGLs when average request segment size is larger or equal to this size. Use 0 to disable SGLs.",
        },
    },
}

/// Most polled queues the driver sets up.
const MAX_POLL_QUEUES: u32 = 64;

/// The module parameters, checked.
///
/// # Errors
///
/// `EINVAL` (with a message naming the parameter) when one is out of range.
pub(crate) fn params() -> Result<ctrl::Params> {
    let p = ctrl::Params {
        io_queue_depth: module_parameters::io_queue_depth.value(),
        max_io_queues: module_parameters::max_io_queues.value(),
        io_timeout: module_parameters::io_timeout.value(),
        admin_timeout: module_parameters::admin_timeout.value(),
        sgl_threshold: module_parameters::sgl_threshold.value(),
        poll_queues: module_parameters::poll_queues.value(),
        shadow_doorbell: module_parameters::shadow_doorbell.value(),
        max_retries: match u8::try_from(module_parameters::max_retries.value()) {
            Ok(n) => n,
            Err(_) => {
                pr_err!(
                    "max_retries={} is out of range [0, 255]\n",
                    module_parameters::max_retries.value()
                );
                return Err(EINVAL);
            }
        },
    };
    if p.io_queue_depth < 2 || p.io_queue_depth > ctrl::MAX_IO_QUEUE_DEPTH {
        pr_err!(
            "io_queue_depth={} is out of range [2, {}]\n",
            p.io_queue_depth,
            ctrl::MAX_IO_QUEUE_DEPTH
        );
        return Err(EINVAL);
    }
    if p.poll_queues > MAX_POLL_QUEUES {
        pr_err!(
            "poll_queues={} is out of range [0, {}]\n",
            p.poll_queues,
            MAX_POLL_QUEUES
        );
        return Err(EINVAL);
    }
    if p.io_timeout == 0 || p.admin_timeout == 0 {
        pr_err!("io_timeout and admin_timeout must be at least 1 second\n");
        return Err(EINVAL);
    }
    Ok(p)
}
