/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's C interface that rust_nvme's abstractions use beyond what 7.3's Rust
 * bindings cover (rust/bindings/bindings_helper.h has neither hwmon.h nor these
 * queue features). bindgen reads this file at every module build
 * (scripts/c-abi-bindgen.sh, with the C flags of the kernel's own bindings), so the
 * layouts, signatures and values come from the headers, checked by the compiler, not
 * copied by hand. In tree, these lines would join bindings_helper.h.
 */
#include <linux/blkdev.h>
#include <linux/hwmon.h>

/* Macros with casts that bindgen does not evaluate, as constants that it does. */
const blk_features_t RUST_NVME_BLK_FEAT_WRITE_CACHE = BLK_FEAT_WRITE_CACHE;
const blk_features_t RUST_NVME_BLK_FEAT_FUA = BLK_FEAT_FUA;
const blk_features_t RUST_NVME_BLK_FEAT_POLL = BLK_FEAT_POLL;
const blk_features_t RUST_NVME_BLK_FEAT_ZONED = BLK_FEAT_ZONED;
