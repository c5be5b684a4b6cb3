// SPDX-License-Identifier: GPL-2.0

//! rust_nvme: an NVM Express PCIe host driver written in Rust.
//!
//! Binds to PCI class 0x010802 (NVM Express) controllers and exposes each usable
//! namespace as `/dev/nvme<N>n<M>`. It is an alternative to the C driver in
//! `drivers/nvme/host/pci.c`: load one or the other.

use kernel::prelude::*;

use crate::{
    hw::quirks,
    uapi::{
        chardev,
        sysfs, //
    },
};

mod abstractions;
mod ctrl;
mod mq;
mod pci;
mod queue;

/// What the driver reports about failed commands and the faults it can be made to see:
/// used by the controller and by the blk-mq operations alike.
mod diag {
    pub(crate) mod errors;
    pub(crate) mod fault_inject;
    pub(crate) mod log;
}

/// The controller's hardware beside its queues (`crate::queue`): shadow doorbells,
/// interrupt vectors, quirks of known devices.
mod hw {
    pub(crate) mod quirks;
    pub(crate) mod shadow_doorbell;
    pub(crate) mod vectors;
}

/// The NVMe specifications as data: registers, commands and their statuses, Identify,
/// log and zone layouts, PRP/SGL builders, command effects, transfer lengths. Pure, and
/// KUnit-tested.
mod spec {
    pub(crate) mod cmd;
    pub(crate) mod cmd_effects;
    pub(crate) mod identify;
    pub(crate) mod identify_ns;
    pub(crate) mod lba;
    pub(crate) mod log_pages;
    pub(crate) mod pi;
    pub(crate) mod prp;
    pub(crate) mod regs;
    pub(crate) mod sgl;
    pub(crate) mod status;
    pub(crate) mod transfer_len;
    pub(crate) mod zns;
}

/// What user space sees: ioctls and io_uring passthrough, character devices, sysfs
/// attributes, the hardware monitor.
mod uapi {
    pub(crate) mod chardev;
    #[cfg(CONFIG_HWMON)]
    pub(crate) mod hwmon;
    pub(crate) mod ioctl;
    pub(crate) mod nvme_ioctl;
    pub(crate) mod sysfs;
    pub(crate) mod uring;
}

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
            // Out-of-range parameters and a bad quirk string fail insmod with a message
            // naming them.
            params()?;
            quirk_override(0, 0)?;
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
}

/// The module's parameters, with nvme.ko's names, defaults and permissions (nvme_core's
/// `io_timeout`, `admin_timeout`, `max_retries`, `shutdown_timeout`; nvme's
/// `io_queue_depth`, `poll_queues`, `sgl_threshold`), shown under
/// `/sys/module/rust_nvme/parameters/`. Writable ones apply to controllers bound after
/// the write, as C's do; out-of-range values are refused at load and at the write.
pub(crate) mod params {
    use crate::abstractions::module_param::module_param;

    module_param!(io_queue_depth: uint = 1024, 2, crate::ctrl::MAX_IO_QUEUE_DEPTH, 0o644,
        "set io queue depth, should >= 2 and <= 4095");
    module_param!(max_io_queues: uint = 0, 0, u32::MAX, 0o444,
        "largest number of I/O queues (0 = one per possible CPU)");
    module_param!(io_timeout: uint = 30, 1, u32::MAX, 0o644, "timeout in seconds for I/O");
    module_param!(admin_timeout: uint = 60, 1, u32::MAX, 0o644,
        "timeout in seconds for admin commands");
    module_param!(shutdown_timeout: uint = 5, 0, 255, 0o644,
        "timeout in seconds for controller shutdown");
    module_param!(poll_queues: uint = 0, 0, super::MAX_POLL_QUEUES, 0o644,
        "Number of queues to use for polled IO.");
    module_param!(shadow_doorbell: bool = true, 0o444,
        "use the controller's shadow doorbell buffer (Doorbell Buffer Config) when offered");
    module_param!(max_retries: uint = 5, 0, 255, 0o644,
        "max number of retries a command may have");
    module_param!(sgl_threshold: uint = 32768, 0, u32::MAX, 0o644,
        "Use SGLs when average request segment size is larger or equal to this size. Use 0 to disable SGLs.");
    module_param!(quirks: string[128], 0o444,
        "Enable/disable NVMe quirks by specifying quirks=VID:DID:quirk_names");
}

/// What the `quirks` parameter says for the controller `vendor:device` (C:
/// `detect_dynamic_quirks`).
///
/// # Errors
///
/// `EINVAL`, with C's message, for a string that does not parse or names a quirk
/// rust_nvme cannot honour (checked at load, and the parameter is read-only).
pub(crate) fn quirk_override(vendor: u16, device: u16) -> Result<Option<quirks::Override>> {
    let (buf, len) = params::quirks.get();
    let s = buf.get(..len).unwrap_or(&[]);
    quirks::param_override(s, vendor, device).map_err(|e| {
        let shown = kernel::str::BStr::from_bytes(s);
        match e {
            quirks::ParamError::Unknown(name) => {
                pr_err!(
                    "unrecognized quirk {}\n",
                    kernel::str::BStr::from_bytes(name)
                )
            }
            quirks::ParamError::Unsupported(name) => {
                pr_err!("quirk {} is not supported by rust_nvme\n", name)
            }
            quirks::ParamError::Malformed => {}
        }
        pr_err!("failed to parse quirk string {}\n", shown);
        EINVAL
    })
}

const MAX_POLL_QUEUES: u32 = 64;

/// The module parameters, checked.
///
/// # Errors
///
/// `EINVAL` (with a message naming the parameter) when one is out of range.
pub(crate) fn params() -> Result<ctrl::Params> {
    let p = ctrl::Params {
        io_queue_depth: params::io_queue_depth.get(),
        max_io_queues: params::max_io_queues.get(),
        io_timeout: params::io_timeout.get(),
        admin_timeout: params::admin_timeout.get(),
        sgl_threshold: params::sgl_threshold.get(),
        poll_queues: params::poll_queues.get(),
        shadow_doorbell: params::shadow_doorbell.get(),
        shutdown_timeout: params::shutdown_timeout.get(),
        // The parameter core keeps it in 0..=255.
        max_retries: u8::try_from(params::max_retries.get()).unwrap_or(u8::MAX),
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
