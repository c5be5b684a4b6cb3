// SPDX-License-Identifier: GPL-2.0

//! Fault injection points controlled through debugfs, on the kernel's fault injection
//! framework (`CONFIG_FAULT_INJECTION_DEBUG_FS`; without it every point is inert).
//!
//! C header: [`include/linux/fault-inject.h`](srctree/include/linux/fault-inject.h)
//!
//! A [`FaultPoint`] is a debugfs directory `<name>/` holding the kernel's standard
//! attributes of one `struct fault_attr` in `<name>/fault_inject/` (`probability`,
//! `interval`, `times`, `space`, `verbose`, ...; C: `fault_create_debugfs_attr`) and, beside
//! them, the point's own hexadecimal and boolean values, which the driver reads when
//! [`FaultPoint::should_fail`] says a fault is due (C: `should_fail`).

use kernel::{
    prelude::*,
    str::CStr, //
};

#[cfg(CONFIG_FAULT_INJECTION_DEBUG_FS)]
mod imp {
    use core::{
        ffi::{
            c_ulong,
            c_void, //
        },
        ptr::{
            self,
            NonNull, //
        },
    };

    use kernel::{
        bindings,
        ffi::c_char,
        prelude::*,
        str::CStr,
        types::Opaque, //
    };

    /// `FAULT_ATTR_DNAME_LEN`.
    const DNAME_LEN: usize = 64;
    /// `DEFAULT_RATELIMIT_BURST`.
    const DEFAULT_RATELIMIT_BURST: i32 = 10;

    /// `struct fault_attr` as 7.3 lays it out (`include/linux/fault-inject.h`, which the
    /// bindings do not include); its rate limit state is the bindings' own.
    #[repr(C)]
    struct RawFaultAttr {
        probability: c_ulong,
        interval: c_ulong,
        times: bindings::atomic_t,
        space: bindings::atomic_t,
        verbose: c_ulong,
        task_filter: bool,
        stacktrace_depth: c_ulong,
        require_start: c_ulong,
        require_end: c_ulong,
        reject_start: c_ulong,
        reject_end: c_ulong,
        count: c_ulong,
        ratelimit_state: bindings::ratelimit_state,
        dname: [c_char; DNAME_LEN],
    }

    extern "C" {
        // `struct dentry *` (as `void *`: the binding's type is not FFI-safe by value).
        fn fault_create_debugfs_attr(
            name: *const c_char,
            parent: *mut c_void,
            attr: *mut RawFaultAttr,
        ) -> *mut c_void;
        fn should_fail(attr: *mut RawFaultAttr, size: isize) -> bool;
    }

    /// What the debugfs files point into.
    struct Values<const X: usize, const B: usize> {
        attr: Opaque<RawFaultAttr>,
        x16: [Opaque<u16>; X],
        flags: [Opaque<bool>; B],
    }

    /// # Invariants
    ///
    /// `values` is a `KBox` allocation that the debugfs files under `parent` point into;
    /// it is freed only after `parent` was removed (with them).
    pub(crate) struct FaultPoint<const X: usize, const B: usize> {
        values: NonNull<Values<X, B>>,
        parent: *mut bindings::dentry,
    }

    // SAFETY: The files and the fault attribute are the kernel's to synchronise
    // (`should_fail` uses atomics; debugfs reads and writes single values); the driver
    // reads the values with single loads.
    unsafe impl<const X: usize, const B: usize> Send for FaultPoint<X, B> {}
    // SAFETY: As above.
    unsafe impl<const X: usize, const B: usize> Sync for FaultPoint<X, B> {}

    /// The attribute as `FAULT_ATTR_INITIALIZER` makes it: one fault (`times` 1), at
    /// every opportunity once enabled (`interval` 1), `probability` 0 (off), `verbose`
    /// 2, no stack filter, rate limiting off.
    fn init_attr(a: *mut RawFaultAttr) {
        // SAFETY: `a` points to a zeroed, not yet shared `RawFaultAttr` (the caller's
        // fresh allocation); the lock is initialised before anything can take it.
        unsafe {
            (*a).interval = 1;
            (*a).times.counter = 1;
            (*a).require_end = c_ulong::MAX;
            (*a).stacktrace_depth = 32;
            (*a).verbose = 2;
            (*a).ratelimit_state.burst = DEFAULT_RATELIMIT_BURST;
            #[cfg(CONFIG_DEBUG_SPINLOCK)]
            bindings::__raw_spin_lock_init(
                &raw mut (*a).ratelimit_state.lock,
                c"fault_attr.ratelimit_state.lock".as_char_ptr(),
                kernel::static_lock_class!().as_ptr(),
                bindings::lockdep_wait_type_LD_WAIT_SPIN as _,
            );
        }
    }

    impl<const X: usize, const B: usize> FaultPoint<X, B> {
        pub(crate) fn new(
            name: &CStr,
            x16: [(&'static CStr, u16); X],
            flags: [(&'static CStr, bool); B],
        ) -> Result<Self> {
            let v = KBox::new(
                Values {
                    attr: Opaque::zeroed(),
                    x16: [const { Opaque::zeroed() }; X],
                    flags: [const { Opaque::zeroed() }; B],
                },
                GFP_KERNEL,
            )?;
            init_attr(v.attr.get());
            for (cell, (_, init)) in v.x16.iter().zip(x16.iter()) {
                // SAFETY: Not shared yet.
                unsafe { *cell.get() = *init };
            }
            for (cell, (_, init)) in v.flags.iter().zip(flags.iter()) {
                // SAFETY: Not shared yet.
                unsafe { *cell.get() = *init };
            }
            // SAFETY: `name` is a C string; a null parent is the debugfs root.
            let parent = kernel::error::from_err_ptr(unsafe {
                bindings::debugfs_create_dir(name.as_char_ptr(), ptr::null_mut())
            })?;
            // SAFETY: `parent` was just made; the attribute lives in `v`, which (type
            // invariant) outlives the files, removed with `parent`.
            let dir = kernel::error::from_err_ptr(unsafe {
                fault_create_debugfs_attr(
                    c"fault_inject".as_char_ptr(),
                    parent.cast(),
                    v.attr.get(),
                )
            })
            .map(|d| d.cast::<bindings::dentry>());
            let dir = match dir {
                Ok(d) => d,
                Err(e) => {
                    // SAFETY: Made above, nothing else refers to it.
                    unsafe { bindings::debugfs_remove(parent) };
                    return Err(e);
                }
            };
            // SAFETY: As above: the values outlive the files.
            unsafe {
                for (cell, (n, _)) in v.x16.iter().zip(x16.iter()) {
                    bindings::debugfs_create_x16(n.as_char_ptr(), 0o600, dir, cell.get());
                }
                for (cell, (n, _)) in v.flags.iter().zip(flags.iter()) {
                    bindings::debugfs_create_bool(n.as_char_ptr(), 0o600, dir, cell.get());
                }
            }
            // INVARIANT: The files point into `values`, freed by `drop` after `parent`.
            Ok(Self {
                // SAFETY: `KBox::into_raw` does not return null.
                values: unsafe { NonNull::new_unchecked(KBox::into_raw(v)) },
                parent,
            })
        }

        fn values(&self) -> &Values<X, B> {
            // SAFETY: Alive until `drop` (type invariant).
            unsafe { self.values.as_ref() }
        }

        pub(crate) fn should_fail(&self) -> bool {
            // SAFETY: The attribute is initialised and alive (type invariant);
            // `should_fail` synchronises itself.
            unsafe { should_fail(self.values().attr.get(), 1) }
        }

        pub(crate) fn x16(&self, i: usize) -> u16 {
            self.values().x16.get(i).map_or(0, |c| {
                // SAFETY: A live `u16` that debugfs writes whole; read once.
                unsafe { ptr::read_volatile(c.get()) }
            })
        }

        pub(crate) fn flag(&self, i: usize) -> bool {
            self.values().flags.get(i).is_some_and(|c| {
                // SAFETY: A live `bool` that debugfs writes whole with a valid value.
                unsafe { ptr::read_volatile(c.get()) }
            })
        }
    }

    impl<const X: usize, const B: usize> Drop for FaultPoint<X, B> {
        fn drop(&mut self) {
            // SAFETY: The directory and its files go first (debugfs waits for open
            // files' operations to end); then nothing points into the values, which
            // `new` allocated as a `KBox` (type invariant).
            unsafe {
                bindings::debugfs_remove(self.parent);
                drop(KBox::from_raw(self.values.as_ptr()));
            }
        }
    }
}

#[cfg(CONFIG_FAULT_INJECTION_DEBUG_FS)]
use imp::FaultPoint as Inner;

/// Without the kernel's fault injection: nothing is made and nothing fails.
#[cfg(not(CONFIG_FAULT_INJECTION_DEBUG_FS))]
struct Inner<const X: usize, const B: usize>;

#[cfg(not(CONFIG_FAULT_INJECTION_DEBUG_FS))]
impl<const X: usize, const B: usize> Inner<X, B> {
    fn new(
        _name: &CStr,
        _x16: [(&'static CStr, u16); X],
        _flags: [(&'static CStr, bool); B],
    ) -> Result<Self> {
        Ok(Self)
    }
    fn should_fail(&self) -> bool {
        false
    }
    fn x16(&self, _i: usize) -> u16 {
        0
    }
    fn flag(&self, _i: usize) -> bool {
        false
    }
}

/// A fault injection point: `/sys/kernel/debug/<name>/fault_inject/` with the kernel's
/// fault attributes and `X` hexadecimal (16-bit) and `B` boolean values of the point's
/// own (mode 0600), removed on drop.
pub(crate) struct FaultPoint<const X: usize, const B: usize>(Inner<X, B>);

impl<const X: usize, const B: usize> FaultPoint<X, B> {
    /// Makes the point's directory and files, the values starting as given.
    ///
    /// # Errors
    ///
    /// `ENOMEM`, or what debugfs says (a directory of that name exists already).
    pub(crate) fn new(
        name: &CStr,
        x16: [(&'static CStr, u16); X],
        flags: [(&'static CStr, bool); B],
    ) -> Result<Self> {
        Inner::new(name, x16, flags).map(Self)
    }

    /// Whether a fault is due now (C: `should_fail(attr, 1)`), counting it.
    pub(crate) fn should_fail(&self) -> bool {
        self.0.should_fail()
    }

    /// The `i`th hexadecimal value (0 beyond them).
    pub(crate) fn x16(&self, i: usize) -> u16 {
        self.0.x16(i)
    }

    /// The `i`th boolean value (false beyond them).
    pub(crate) fn flag(&self, i: usize) -> bool {
        self.0.flag(i)
    }
}
