// SPDX-License-Identifier: GPL-2.0

//! The kernel's C interface beyond 7.3's Rust bindings: the hardware monitor
//! (`include/linux/hwmon.h`) and the queue features `BLK_FEAT_*`
//! (`include/linux/blkdev.h`), as bindgen generates them from `c_abi.h` at every build
//! (`scripts/c-abi-bindgen.sh`, with the C flags of the kernel's own bindings): layouts,
//! signatures and values come from the headers, not from copies written by hand.

#![allow(
    dead_code,
    improper_ctypes,
    non_camel_case_types,
    non_upper_case_globals,
    unreachable_pub,
    missing_docs,
    clippy::all
)]

use kernel::{
    bindings::{
        attribute_group,
        device,
        u32_, //
    },
    ffi,
};

include!(env!("RUST_NVME_C_ABI"));
