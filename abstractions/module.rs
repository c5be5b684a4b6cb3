// SPDX-License-Identifier: GPL-2.0

//! Other loaded modules, as seen through their exported symbols.
//!
//! C header: [`include/linux/module.h`](srctree/include/linux/module.h)

use kernel::{
    bindings,
    prelude::*, //
};

/// Whether a loaded module (or the kernel) exports the symbol `name` (C: `symbol_get`
/// followed by `symbol_put`).
pub(crate) fn symbol_exported(name: &CStr) -> bool {
    // SAFETY: `name` is a NUL-terminated symbol name, only read.
    if unsafe { bindings::__symbol_get(name.as_ptr().cast()) }.is_null() {
        return false;
    }
    // SAFETY: The lookup above succeeded and took a reference to the exporting module,
    // which this returns.
    unsafe { bindings::__symbol_put(name.as_ptr().cast()) };
    true
}
