// SPDX-License-Identifier: GPL-2.0

//! The controller as sysfs shows it: class `nvme`, one device `nvme<N>` per controller
//! (a child of the PCI function), with the C driver's attribute names and formats.
//!
//! C counterpart: `drivers/nvme/host/sysfs.c`. The class name is the C core's, so the two
//! drivers are alternatives: registering the class fails while `nvme_core` holds it.
//!
//! Attributes reach the controller through the class device's driver data. The class
//! device is unregistered before the controller is freed, and unregistering waits for
//! every running `show`/`store`, so the pointer is valid whenever a callback runs.

use core::{
    ffi::c_void,
    fmt::Write,
    ptr, //
};

use kernel::{
    bindings,
    ffi::c_char,
    pci,
    prelude::*, //
};

use crate::{
    ctrl::Ctrl,
    irq::raw_pdev, //
};

/// `struct class` for `/sys/class/nvme`.
struct Class(bindings::class);

// SAFETY: The class is immutable after construction; the driver core keeps its mutable
// state elsewhere (`subsys_private`).
unsafe impl Sync for Class {}

static NVME_CLASS: Class = Class(bindings::class {
    name: c"nvme".as_ptr().cast(),
    // SAFETY: All-zero is a valid `struct class` for the remaining fields.
    ..unsafe { core::mem::zeroed() }
});

/// The registered `nvme` class; unregistered on drop.
pub(crate) struct ClassRegistration;

impl ClassRegistration {
    /// Registers `/sys/class/nvme`.
    ///
    /// # Errors
    ///
    /// `EEXIST` (with a message) when the C `nvme_core` module already owns the class.
    pub(crate) fn new() -> Result<Self> {
        // Ask before registering: a duplicate class name makes sysfs dump a stack.
        if nvme_core_loaded() {
            pr_err!(
                "the C nvme driver (nvme_core) is loaded and owns class 'nvme'; \
                 rust_nvme and nvme_core are alternatives: unload nvme_core first\n"
            );
            return Err(EBUSY);
        }
        // SAFETY: `NVME_CLASS` is a valid, static class description.
        let ret = unsafe { bindings::class_register(&NVME_CLASS.0) };
        if ret != 0 {
            pr_err!(
                "cannot register class 'nvme' ({}): is the C nvme driver (nvme_core) loaded? \
                 rust_nvme and nvme_core are alternatives; unload nvme_core first\n",
                ret
            );
            return Err(Error::from_errno(ret));
        }
        Ok(Self)
    }
}

impl Drop for ClassRegistration {
    fn drop(&mut self) {
        // SAFETY: Registered in `new`; every class device was unregistered before (the
        // PCI driver is unregistered first).
        unsafe { bindings::class_unregister(&NVME_CLASS.0) };
    }
}

/// Whether the C `nvme_core` module is loaded (one of its exported symbols resolves).
fn nvme_core_loaded() -> bool {
    const SYM: &CStr = c"nvme_init_ctrl";
    // SAFETY: `SYM` is a NUL-terminated symbol name; a successful lookup takes a module
    // reference that `__symbol_put` returns right away.
    unsafe {
        if bindings::__symbol_get(SYM.as_ptr().cast()).is_null() {
            return false;
        }
        bindings::__symbol_put(SYM.as_ptr().cast());
    }
    true
}

/// Text written into a sysfs page buffer.
struct PageWriter {
    buf: *mut u8,
    len: usize,
}

impl Write for PageWriter {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let b = s.as_bytes();
        if self.len + b.len() >= kernel::page::PAGE_SIZE {
            return Err(core::fmt::Error);
        }
        // SAFETY: sysfs hands `show` a PAGE_SIZE buffer; the check above keeps the copy
        // (and a terminating NUL) inside it.
        unsafe { ptr::copy_nonoverlapping(b.as_ptr(), self.buf.add(self.len), b.len()) };
        self.len += b.len();
        Ok(())
    }
}

/// The controller behind a class device.
///
/// # Safety
///
/// `dev` is a class device created by [`CtrlDevice::new`], from inside one of its
/// attribute callbacks.
unsafe fn ctrl_of<'a>(dev: *mut bindings::device) -> &'a Ctrl {
    // SAFETY: `CtrlDevice::new` stored a pointer to the controller as driver data, and
    // the controller outlives the class device (see the module documentation).
    unsafe { &*(*dev).driver_data.cast::<Ctrl>() }
}

/// What an attribute shows.
type ShowFn = fn(&Ctrl, &mut dyn Write) -> core::fmt::Result;
/// What an attribute does with a write.
type StoreFn = fn(&Ctrl, &[u8]) -> Result;

/// A read-only or write-only device attribute backed by a Rust function.
#[repr(C)]
struct Attr {
    attr: bindings::device_attribute,
    show: Option<ShowFn>,
    store: Option<StoreFn>,
}

// SAFETY: Attributes are immutable statics.
unsafe impl Sync for Attr {}

unsafe extern "C" fn attr_show(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: `attr` is the first field of a `repr(C)` `Attr`, as every attribute in
    // `GROUP` is.
    let a = unsafe { &*attr.cast::<Attr>() };
    // SAFETY: Called by sysfs for one of our class devices.
    let ctrl = unsafe { ctrl_of(dev) };
    let mut w = PageWriter {
        buf: buf.cast(),
        len: 0,
    };
    match a.show.map(|f| f(ctrl, &mut w)) {
        Some(Ok(())) => w.len as isize,
        _ => EINVAL.to_errno() as isize,
    }
}

unsafe extern "C" fn attr_store(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: As in `attr_show`.
    let a = unsafe { &*attr.cast::<Attr>() };
    // SAFETY: As in `attr_show`.
    let ctrl = unsafe { ctrl_of(dev) };
    // SAFETY: sysfs passes `count` readable bytes.
    let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
    match a.store.map(|f| f(ctrl, input)) {
        Some(Ok(())) => count as isize,
        Some(Err(e)) => e.to_errno() as isize,
        None => EINVAL.to_errno() as isize,
    }
}

const fn attr(
    name: &'static CStr,
    mode: u16,
    show: Option<ShowFn>,
    store: Option<StoreFn>,
) -> Attr {
    // SAFETY: All-zero is a valid `device_attribute`.
    let mut a: bindings::device_attribute = unsafe { core::mem::zeroed() };
    a.attr.name = name.as_ptr().cast();
    a.attr.mode = mode;
    if show.is_some() {
        a.__bindgen_anon_1.show = Some(attr_show);
    }
    if store.is_some() {
        a.__bindgen_anon_2.store = Some(attr_store);
    }
    Attr {
        attr: a,
        show,
        store,
    }
}

/// Whether a sysfs write means "1" (C: `kstrtobool`-like, as `reset_controller` accepts).
fn is_one(input: &[u8]) -> bool {
    matches!(input, b"1" | b"1\n")
}

static STATE: Attr = attr(
    c"state",
    0o444,
    Some(|c, w| writeln!(w, "{}", c.state().name())),
    None,
);
static RESET_CONTROLLER: Attr = attr(
    c"reset_controller",
    0o200,
    None,
    Some(|c, input| {
        if is_one(input) {
            c.reset_sync()
        } else {
            Err(EINVAL)
        }
    }),
);

/// A null-terminated attribute pointer array.
struct AttrList<const N: usize>([*const bindings::attribute; N]);
// SAFETY: Points only to immutable statics.
unsafe impl<const N: usize> Sync for AttrList<N> {}

static ATTRS: AttrList<3> = AttrList([&STATE.attr.attr, &RESET_CONTROLLER.attr.attr, ptr::null()]);

struct Group(bindings::attribute_group);
// SAFETY: Points only to immutable statics.
unsafe impl Sync for Group {}

static GROUP: Group = Group(bindings::attribute_group {
    __bindgen_anon_2: bindings::attribute_group__bindgen_ty_2 {
        attrs: ATTRS.0.as_ptr().cast_mut().cast(),
    },
    // SAFETY: All-zero is valid for the remaining fields.
    ..unsafe { core::mem::zeroed() }
});

struct Groups([*const bindings::attribute_group; 2]);
// SAFETY: Points only to immutable statics.
unsafe impl Sync for Groups {}

static GROUPS: Groups = Groups([&GROUP.0, ptr::null()]);

/// The class device `nvme<N>` of one controller.
///
/// # Invariants
///
/// `dev` was returned by `device_create_with_groups` and is unregistered on drop.
pub(crate) struct CtrlDevice {
    dev: *mut bindings::device,
}

// SAFETY: The device is reference counted and internally locked.
unsafe impl Send for CtrlDevice {}
// SAFETY: As above.
unsafe impl Sync for CtrlDevice {}

impl CtrlDevice {
    /// Creates `/sys/class/nvme/nvme<instance>` under `pdev` for `ctrl`.
    ///
    /// The caller must drop the result before `ctrl` goes away.
    pub(crate) fn new(pdev: &pci::Device, ctrl: &Ctrl) -> Result<Self> {
        // SAFETY: The class is registered (module init), `pdev` is live, the groups are
        // static, the format takes one `unsigned int`.
        let dev = unsafe {
            bindings::device_create_with_groups(
                &NVME_CLASS.0,
                &raw mut (*raw_pdev(pdev)).dev,
                0,
                ptr::from_ref(ctrl).cast_mut().cast::<c_void>(),
                GROUPS.0.as_ptr().cast_mut(),
                c"nvme%u".as_ptr().cast(),
                ctrl.instance,
            )
        };
        let dev = kernel::error::from_err_ptr(dev)?;
        // INVARIANT: created above.
        Ok(Self { dev })
    }
}

impl Drop for CtrlDevice {
    fn drop(&mut self) {
        // SAFETY: By the invariant `dev` is registered; this waits for running attribute
        // callbacks and drops the creation reference.
        unsafe { bindings::device_unregister(self.dev) };
    }
}
