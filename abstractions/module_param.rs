// SPDX-License-Identifier: GPL-2.0

//! Module parameters that show in sysfs (`/sys/module/<name>/parameters/`) with the
//! permissions C's `module_param` gives them, readable and (with a write permission)
//! settable at run time.
//!
//! C header: [`include/linux/moduleparam.h`](srctree/include/linux/moduleparam.h)
//!
//! 7.3's `module!` registers every parameter with permission 0 and lets it be set once,
//! at load: no sysfs file, no change at run time. [`module_param!`] declares a parameter
//! the way C's `module_param_cb` does instead: the parameter core parses and stores the
//! value (C's `param_set_uint_minmax`, `param_ops_bool`) under its own lock, so a value
//! out of range is refused at `insmod` and at the sysfs write alike, and the driver reads
//! the current value with [`ParamValue::get`] whenever it needs it.

use core::cell::UnsafeCell;

use kernel::bindings;

/// The storage of one parameter: the plain `T` (C's `unsigned int` or `bool`) that the
/// parameter core writes through `kernel_param::arg`.
///
/// # Invariants
///
/// Written only by the parameter core (at load or through sysfs, under
/// `kernel_param_lock`), with one aligned store of a valid `T`.
#[repr(transparent)]
pub(crate) struct ParamValue<T: Copy>(UnsafeCell<T>);

// SAFETY: Reads are single loads of a `T` the parameter core stores whole (type
// invariant), as C reads its parameters (`READ_ONCE`); `T` is plain data.
unsafe impl<T: Copy + Send> Sync for ParamValue<T> {}

impl<T: Copy> ParamValue<T> {
    /// A parameter whose value is `default` until set.
    pub(crate) const fn new(default: T) -> Self {
        Self(UnsafeCell::new(default))
    }

    /// The current value.
    pub(crate) fn get(&self) -> T {
        // SAFETY: The cell is valid; a concurrent store by the parameter core is one
        // aligned store of a valid `T` (type invariant), so the volatile load sees the old
        // or the new value (C: `READ_ONCE`).
        unsafe { core::ptr::read_volatile(self.0.get()) }
    }

    /// The address the parameter core stores to (`kernel_param::arg`).
    #[doc(hidden)]
    pub(crate) const fn as_arg(&self) -> *mut core::ffi::c_void {
        self.0.get().cast()
    }
}

/// The storage of a string parameter of at most `N - 1` bytes (C: `module_param_string`,
/// a `char[N]` the parameter core copies the value into with `param_set_copystring`,
/// refusing a longer one).
///
/// # Invariants
///
/// Written only by the parameter core, under `kernel_param_lock` of this module, with a
/// NUL-terminated string that fits.
#[repr(transparent)]
pub(crate) struct ParamString<const N: usize>(UnsafeCell<[u8; N]>);

// SAFETY: Reads take the module's parameter lock, under which the parameter core writes
// (type invariant).
unsafe impl<const N: usize> Sync for ParamString<N> {}

impl<const N: usize> ParamString<N> {
    /// An empty string until set.
    pub(crate) const fn new() -> Self {
        Self(UnsafeCell::new([0; N]))
    }

    /// A copy of the current value, and its length (up to its NUL).
    pub(crate) fn get(&self) -> ([u8; N], usize) {
        let this = &raw mut bindings::__this_module;
        // SAFETY: The module is alive while its code runs; the parameter core writes the
        // buffer only under this lock (type invariant), so the copy is whole.
        let v = unsafe {
            bindings::kernel_param_lock(this);
            let v = core::ptr::read_volatile(self.0.get());
            bindings::kernel_param_unlock(this);
            v
        };
        let len = v.iter().position(|c| *c == 0).unwrap_or(N);
        (v, len)
    }

    /// The buffer the parameter core copies into (`kparam_string::string`).
    #[doc(hidden)]
    pub(crate) const fn as_arg(&self) -> *mut kernel::ffi::c_char {
        self.0.get().cast()
    }
}

/// A `kparam_string`: where a string parameter goes and its size.
#[doc(hidden)]
#[repr(transparent)]
pub(crate) struct KParamString(pub(crate) bindings::kparam_string);

// SAFETY: Read by the parameter core only; the buffer it points to is a `ParamString`.
unsafe impl Sync for KParamString {}

/// A `kernel_param` in the `__param` section.
#[doc(hidden)]
#[repr(transparent)]
pub(crate) struct KernelParam(pub(crate) bindings::kernel_param);

// SAFETY: The parameter core reads the description and locks around the value itself.
unsafe impl Sync for KernelParam {}

/// A `kernel_param_ops` of a parameter.
#[doc(hidden)]
#[repr(transparent)]
pub(crate) struct ParamOps(pub(crate) bindings::kernel_param_ops);

// SAFETY: Function pointers and flags, never written.
unsafe impl Sync for ParamOps {}

/// A NUL-terminated `.modinfo` string as an array of `N` bytes (`N` is its length).
#[doc(hidden)]
pub(crate) const fn modinfo<const N: usize>(s: &str) -> [u8; N] {
    let b = s.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N && i < b.len() {
        out[i] = b[i];
        i += 1;
    }
    out
}

/// The bytes of `ops` for an unsigned parameter in `min..=max` (C:
/// `param_set_uint_minmax` as the setter, `param_get_uint` as the getter).
#[doc(hidden)]
pub(crate) const fn uint_ops(
    set: unsafe extern "C" fn(*const kernel::ffi::c_char, *const bindings::kernel_param) -> i32,
) -> ParamOps {
    ParamOps(bindings::kernel_param_ops {
        flags: 0,
        set: Some(set),
        get: Some(bindings::param_get_uint),
        free: None,
    })
}

/// Parses an unsigned parameter in `min..=max` for the parameter core.
///
/// # Safety
///
/// `val` and `kp` are as the parameter core passes them to `kernel_param_ops::set`, for
/// a parameter whose `arg` is a [`ParamValue<u32>`].
#[doc(hidden)]
pub(crate) unsafe fn set_uint(
    val: *const kernel::ffi::c_char,
    kp: *const bindings::kernel_param,
    min: u32,
    max: u32,
) -> i32 {
    // SAFETY: Per the function's safety requirements: `param_set_uint_minmax` stores one
    // `unsigned int` (the `ParamValue<u32>`) if the value parses and is in range.
    unsafe { bindings::param_set_uint_minmax(val, kp, min, max) }
}

/// Declares a module parameter `$name` (a `static` [`ParamValue`] in the invoking module)
/// shown in `/sys/module/<module>/parameters/$name` with permission `$perm`, as C's
/// `module_param_cb`; with `modinfo`'s `parm` and `parmtype` lines. `uint` parameters
/// outside `$min..=$max` are refused with `EINVAL` at load and at a sysfs write.
///
/// Only for loadable modules (the parameter's name is not prefixed by the module's).
macro_rules! module_param {
    ($name:ident: uint = $default:expr, $min:expr, $max:expr, $perm:expr, $desc:expr) => {
        #[allow(non_upper_case_globals)]
        pub(crate) static $name: $crate::abstractions::module_param::ParamValue<u32> =
            $crate::abstractions::module_param::ParamValue::new($default);
        const _: () = {
            /// # Safety
            ///
            /// Called by the parameter core for this parameter (`arg` is `$name`).
            unsafe extern "C" fn set(
                val: *const ::kernel::ffi::c_char,
                kp: *const ::kernel::bindings::kernel_param,
            ) -> i32 {
                // SAFETY: Per the function's safety requirements; `arg` is a
                // `ParamValue<u32>`.
                unsafe { $crate::abstractions::module_param::set_uint(val, kp, $min, $max) }
            }
            static OPS: $crate::abstractions::module_param::ParamOps =
                $crate::abstractions::module_param::uint_ops(set);
            $crate::abstractions::module_param::module_param!(
                @param $name, ::core::ptr::from_ref(&OPS.0), $perm, "uint", $desc
            );
        };
    };
    ($name:ident: bool = $default:expr, $perm:expr, $desc:expr) => {
        #[allow(non_upper_case_globals)]
        pub(crate) static $name: $crate::abstractions::module_param::ParamValue<bool> =
            $crate::abstractions::module_param::ParamValue::new($default);
        const _: () = {
            $crate::abstractions::module_param::module_param!(
                @param $name, &raw const ::kernel::bindings::param_ops_bool, $perm, "bool", $desc
            );
        };
    };
    ($name:ident: string[$n:expr], $perm:expr, $desc:expr) => {
        #[allow(non_upper_case_globals)]
        pub(crate) static $name: $crate::abstractions::module_param::ParamString<{ $n }> =
            $crate::abstractions::module_param::ParamString::new();
        const _: () = {
            static STR: $crate::abstractions::module_param::KParamString =
                $crate::abstractions::module_param::KParamString(
                    ::kernel::bindings::kparam_string {
                        maxlen: $n,
                        string: $name.as_arg(),
                    },
                );
            $crate::abstractions::module_param::module_param!(
                @param $name, &raw const ::kernel::bindings::param_ops_string, $perm, "string",
                $desc, ::kernel::bindings::kernel_param__bindgen_ty_1 { str_: &raw const STR.0 }
            );
        };
    };
    (@param $name:ident, $ops:expr, $perm:expr, $ty:literal, $desc:expr) => {
        $crate::abstractions::module_param::module_param!(
            @param $name, $ops, $perm, $ty, $desc,
            ::kernel::bindings::kernel_param__bindgen_ty_1 { arg: $name.as_arg() }
        );
    };
    (@param $name:ident, $ops:expr, $perm:expr, $ty:literal, $desc:expr, $arg:expr) => {
        const TYPE: &str = concat!("parmtype=", stringify!($name), ":", $ty, "\0");
        const DESC: &str = concat!("parm=", stringify!($name), ":", $desc, "\0");
        #[link_section = ".modinfo"]
        #[used(compiler)]
        static MODINFO_TYPE: [u8; TYPE.len()] =
            $crate::abstractions::module_param::modinfo::<{ TYPE.len() }>(TYPE);
        #[link_section = ".modinfo"]
        #[used(compiler)]
        static MODINFO_DESC: [u8; DESC.len()] =
            $crate::abstractions::module_param::modinfo::<{ DESC.len() }>(DESC);
        #[link_section = "__param"]
        #[used(compiler)]
        static PARAM: $crate::abstractions::module_param::KernelParam =
            $crate::abstractions::module_param::KernelParam(::kernel::bindings::kernel_param {
                name: ::kernel::str::as_char_ptr_in_const_context(::kernel::c_str!(stringify!(
                    $name
                ))),
                // The module's own `struct module`, set up by the module loader before the
                // parameters are parsed and freed after they are gone.
                mod_: &raw mut ::kernel::bindings::__this_module,
                ops: $ops,
                perm: $perm,
                level: -1,
                flags: 0,
                __bindgen_anon_1: $arg,
            });
    };
}

pub(crate) use module_param;
