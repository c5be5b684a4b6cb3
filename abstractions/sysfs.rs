// SPDX-License-Identifier: GPL-2.0

//! Device attributes and attribute groups in sysfs.
//!
//! C header: [`include/linux/sysfs.h`](srctree/include/linux/sysfs.h) and
//! [`include/linux/device.h`](srctree/include/linux/device.h) (`struct device_attribute`).
//!
//! A group of attributes is static data (like C's `DEVICE_ATTR_RO` tables): each
//! [`Attribute`] names safe `show`/`store`/visibility functions that take the object the
//! attributes describe. How that object is found from the `struct device` the group is
//! attached to is the group's [`DataSource`]; the `unsafe extern "C"` callbacks here do the
//! lookup and the buffer handling, so the functions a driver writes are safe.

use core::{
    fmt::{
        self,
        Write, //
    },
    marker::PhantomData,
    ptr, //
};

use kernel::{
    bindings,
    device::Device,
    page::PAGE_SIZE,
    prelude::*,
    types::Opaque, //
};

/// How the object behind a device's attributes is found from the device.
///
/// # Safety
///
/// Implementers name the devices a group with this source may be attached to ("attached
/// devices") and guarantee that [`DataSource::data`] returns a valid reference for every
/// such device, for as long as the device's attribute files exist. Abstractions that
/// attach a [`Groups<Self>`] to a device (through [`Groups::as_ptr`]) only attach it to
/// attached devices.
pub(crate) unsafe trait DataSource: 'static {
    /// The object the attributes show.
    type Data;

    /// The object behind `dev`.
    ///
    /// # Safety
    ///
    /// `dev` is an attached device of `Self` whose attribute files exist for the whole of
    /// `'a` (true inside a `show`, `store` or `is_visible` callback of the group, which
    /// the driver core drains before it removes the files).
    unsafe fn data<'a>(dev: &'a Device) -> &'a Self::Data;
}

/// What an attribute shows: writes the value into the page buffer.
pub(crate) type ShowFn<D> = fn(&D, &mut PageWriter<'_>) -> fmt::Result;
/// What an attribute does with a write of the given bytes.
pub(crate) type StoreFn<D> = fn(&D, &[u8]) -> Result;
/// Whether an attribute appears for the object (evaluated when the files are created).
pub(crate) type VisibleFn<D> = fn(&D) -> bool;

/// `S_IRUGO`: readable by everyone.
pub(crate) const MODE_RO: u16 = 0o444;
/// `S_IWUSR`: writable by the owner (root).
pub(crate) const MODE_WO: u16 = 0o200;
/// `S_IRUGO | S_IWUSR`: readable by everyone, writable by the owner (root).
pub(crate) const MODE_RW: u16 = 0o644;

/// A device attribute (C: `struct device_attribute`) backed by safe Rust functions.
///
/// # Invariants
///
/// `attr` is the first field; its `show` is [`show_callback::<S>`] exactly when `show` is
/// set, its `store` is [`store_callback::<S>`] exactly when `store` is set, and its name
/// is a `'static` C string.
#[repr(C)]
pub(crate) struct Attribute<S: DataSource> {
    attr: Opaque<bindings::device_attribute>,
    show: Option<ShowFn<S::Data>>,
    store: Option<StoreFn<S::Data>>,
    visible: Option<VisibleFn<S::Data>>,
}

// SAFETY: Neither Rust nor the driver core writes an attribute after construction (the
// `Opaque` is there because C takes the attribute by mutable pointer); the function
// pointers are plain data.
unsafe impl<S: DataSource> Sync for Attribute<S> {}

impl<S: DataSource> Attribute<S> {
    /// An attribute `name` with permissions `mode` (C: `__ATTR`).
    pub(crate) const fn new(
        name: &'static CStr,
        mode: u16,
        show: Option<ShowFn<S::Data>>,
        store: Option<StoreFn<S::Data>>,
    ) -> Self {
        let mut a: bindings::device_attribute = pin_init::zeroed();
        a.attr.name = name.as_ptr().cast();
        a.attr.mode = mode;
        if show.is_some() {
            a.__bindgen_anon_1.show = Some(show_callback::<S>);
        }
        if store.is_some() {
            a.__bindgen_anon_2.store = Some(store_callback::<S>);
        }
        // INVARIANT: The callbacks are set exactly when the functions are.
        Self {
            attr: Opaque::new(a),
            show,
            store,
            visible: None,
        }
    }

    /// A read-only attribute, mode 0444 (C: `DEVICE_ATTR_RO`).
    pub(crate) const fn ro(name: &'static CStr, show: ShowFn<S::Data>) -> Self {
        Self::new(name, MODE_RO, Some(show), None)
    }

    /// A read-write attribute, mode 0644 (C: `DEVICE_ATTR_RW`).
    pub(crate) const fn rw(
        name: &'static CStr,
        show: ShowFn<S::Data>,
        store: StoreFn<S::Data>,
    ) -> Self {
        Self::new(name, MODE_RW, Some(show), Some(store))
    }

    /// A write-only attribute, mode 0200 (C: `DEVICE_ATTR_WO`).
    pub(crate) const fn wo(name: &'static CStr, store: StoreFn<S::Data>) -> Self {
        Self::new(name, MODE_WO, None, Some(store))
    }

    /// The attribute, shown only for objects for which `visible` holds (C: the group's
    /// `is_visible` returning 0 for it).
    pub(crate) const fn visible_if(mut self, visible: VisibleFn<S::Data>) -> Self {
        self.visible = Some(visible);
        self
    }

    /// The embedded `struct attribute`.
    const fn raw_attr(&self) -> *const bindings::attribute {
        // `attr` is the first field of `struct device_attribute`.
        self.attr.get().cast_const().cast()
    }
}

/// The `show` callback of every [`Attribute<S>`] (C: `device_attribute.show`).
///
/// # Safety
///
/// - `dev` is an attached device of `S` (the only devices a `Groups<S>` is attached to),
///   called from its attribute file, which exists for the whole call.
/// - `attr` is the `attr` field of an [`Attribute<S>`] with `show` set.
/// - `buf` is writable for `PAGE_SIZE` bytes and used by nobody else during the call.
unsafe extern "C" fn show_callback<S: DataSource>(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: By the function's safety requirements `attr` is the first field of a
    // `repr(C)` `Attribute<S>` (`Opaque` is transparent), a static that is never written.
    let a = unsafe { &*attr.cast::<Attribute<S>>() };
    // SAFETY: The driver core holds a reference to `dev` while one of its attribute files
    // is being read, which lasts for this call.
    let dev = unsafe { Device::from_raw(dev) };
    // SAFETY: `dev` is an attached device of `S` with its attribute files present (the
    // function's safety requirements).
    let data = unsafe { S::data(dev) };
    // SAFETY: sysfs hands `show` a zeroed `PAGE_SIZE` buffer (`sysfs_kf_seq_show`) that
    // nothing else touches during the call.
    let page = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), PAGE_SIZE) };
    let mut w = PageWriter { buf: page, len: 0 };
    let r = match a.show {
        Some(f) => f(data, &mut w),
        None => Err(fmt::Error),
    };
    match r {
        // `len < PAGE_SIZE` (`PageWriter` invariant), so it fits.
        Ok(()) => w.len as isize,
        Err(_) => EINVAL.to_errno() as isize,
    }
}

/// The `store` callback of every [`Attribute<S>`] (C: `device_attribute.store`).
///
/// # Safety
///
/// - `dev` and `attr` as for [`show_callback`], with `store` set instead of `show`.
/// - `buf` is readable for `count` bytes for the whole call.
unsafe extern "C" fn store_callback<S: DataSource>(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: By the function's safety requirements `attr` is the first field of a
    // `repr(C)` `Attribute<S>` (`Opaque` is transparent), a static that is never written.
    let a = unsafe { &*attr.cast::<Attribute<S>>() };
    // SAFETY: The driver core holds a reference to `dev` while one of its attribute files
    // is being written, which lasts for this call.
    let dev = unsafe { Device::from_raw(dev) };
    // SAFETY: `dev` is an attached device of `S` with its attribute files present (the
    // function's safety requirements).
    let data = unsafe { S::data(dev) };
    // SAFETY: sysfs passes `count` readable bytes that stay put during the call.
    let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
    match a.store.map(|f| f(data, input)) {
        // sysfs writes are at most `PAGE_SIZE` bytes, so `count` fits.
        Some(Ok(())) => isize::try_from(count).unwrap_or(isize::MAX),
        Some(Err(e)) => e.to_errno() as isize,
        None => EINVAL.to_errno() as isize,
    }
}

/// The `is_visible` callback of a [`Group<S>`] (C: `attribute_group.is_visible`): the
/// attribute's own mode, or 0 (hidden) when its visibility function says so.
///
/// # Safety
///
/// - `kobj` is the kobject embedded in an attached device of `S` whose attribute files
///   are being created (the device's reference is held for the call).
/// - `attr` is the `struct attribute` of an [`Attribute<S>`] (every entry of a
///   [`Group<S>`]'s list).
unsafe extern "C" fn is_visible_callback<S: DataSource>(
    kobj: *mut bindings::kobject,
    attr: *mut bindings::attribute,
    _n: c_int,
) -> bindings::umode_t {
    // SAFETY: `kobj` is embedded in a `struct device` (function's safety requirements).
    let dev = unsafe { kernel::container_of!(kobj, bindings::device, kobj) };
    // SAFETY: The device is being added and its reference held for the call.
    let dev = unsafe { Device::from_raw(dev) };
    // SAFETY: `attr` is the first field of the `struct device_attribute` that is the first
    // field of a `repr(C)` `Attribute<S>`, a static that is never written.
    let a = unsafe { &*attr.cast::<Attribute<S>>() };
    let visible = match a.visible {
        // SAFETY: `dev` is an attached device of `S`; its files are being created and
        // stay until after this call.
        Some(f) => f(unsafe { S::data(dev) }),
        None => true,
    };
    if visible {
        // SAFETY: `attr` is valid (see above); `mode` is a plain field never written.
        unsafe { (*attr).mode }
    } else {
        0
    }
}

/// The NULL-terminated attribute array of a group (C: `struct attribute *attrs[]`).
///
/// # Invariants
///
/// `ptrs` point to the `struct attribute`s of `'static` [`Attribute<S>`]s and `end` is
/// null; `repr(C)` places `end` right after `ptrs` (same alignment, no padding), so
/// `ptrs` reads as a NULL-terminated C array.
#[repr(C)]
pub(crate) struct AttributeList<S: DataSource, const N: usize> {
    ptrs: [*const bindings::attribute; N],
    end: *const bindings::attribute,
    any_visible: bool,
    _source: PhantomData<S>,
}

// SAFETY: Points only to immutable statics.
unsafe impl<S: DataSource, const N: usize> Sync for AttributeList<S, N> {}

impl<S: DataSource, const N: usize> AttributeList<S, N> {
    /// The list of `attrs`, in this order.
    pub(crate) const fn new(attrs: [&'static Attribute<S>; N]) -> Self {
        let mut ptrs = [ptr::null(); N];
        let mut any_visible = false;
        let mut i = 0;
        while i < N {
            ptrs[i] = attrs[i].raw_attr();
            any_visible |= attrs[i].visible.is_some();
            i += 1;
        }
        // INVARIANT: Every pointer is a static attribute's; `end` is null.
        Self {
            ptrs,
            end: ptr::null(),
            any_visible,
            _source: PhantomData,
        }
    }
}

/// An attribute group (C: `struct attribute_group`) of [`Attribute<S>`]s, unnamed (the
/// files appear in the device's directory).
///
/// # Invariants
///
/// `attrs` is the NULL-terminated array of an [`AttributeList<S, _>`]; `is_visible` is
/// null or [`is_visible_callback::<S>`].
#[repr(transparent)]
pub(crate) struct Group<S: DataSource>(bindings::attribute_group, PhantomData<S>);

// SAFETY: Points only to immutable statics.
unsafe impl<S: DataSource> Sync for Group<S> {}

impl<S: DataSource> Group<S> {
    /// The group of `attrs`, in a subdirectory `name` of the device's directory (C: a
    /// named `attribute_group`).
    pub(crate) const fn named<const N: usize>(
        name: &'static CStr,
        attrs: &'static AttributeList<S, N>,
    ) -> Self {
        let mut g = Self::new(attrs);
        g.0.name = name.as_ptr().cast();
        g
    }

    /// The C group, for the functions that attach it to a device whose driver data `S`
    /// reads (see [`DataSource`]).
    pub(crate) fn as_raw(&'static self) -> *const bindings::attribute_group {
        &raw const self.0
    }

    /// The group of `attrs`.
    pub(crate) const fn new<const N: usize>(attrs: &'static AttributeList<S, N>) -> Self {
        let mut g: bindings::attribute_group = pin_init::zeroed();
        g.__bindgen_anon_2.attrs_const = attrs.ptrs.as_ptr();
        if attrs.any_visible {
            g.__bindgen_anon_1.is_visible = Some(is_visible_callback::<S>);
        }
        // INVARIANT: As set above.
        Self(g, PhantomData)
    }
}

/// The NULL-terminated group array a device is created with (C: `const struct
/// attribute_group *groups[]`).
///
/// # Invariants
///
/// As for [`AttributeList`]: `ptrs` point to `'static` [`Group<S>`]s, `end` is null and
/// follows `ptrs` directly.
#[repr(C)]
pub(crate) struct Groups<S: DataSource, const N: usize> {
    ptrs: [*const bindings::attribute_group; N],
    end: *const bindings::attribute_group,
    _source: PhantomData<S>,
}

// SAFETY: Points only to immutable statics.
unsafe impl<S: DataSource, const N: usize> Sync for Groups<S, N> {}

impl<S: DataSource, const N: usize> Groups<S, N> {
    /// The array of `groups`.
    pub(crate) const fn new(groups: [&'static Group<S>; N]) -> Self {
        let mut ptrs = [ptr::null(); N];
        let mut i = 0;
        while i < N {
            ptrs[i] = &raw const groups[i].0;
            i += 1;
        }
        // INVARIANT: Every pointer is a static group's; `end` is null.
        Self {
            ptrs,
            end: ptr::null(),
            _source: PhantomData,
        }
    }

    /// The array as `device_create_with_groups` and `device_add_disk` take it.
    ///
    /// Whoever passes it to C attaches the groups to a device and must only do so for an
    /// attached device of `S` (see [`DataSource`]).
    pub(crate) fn as_ptr(&'static self) -> *mut *const bindings::attribute_group {
        self.ptrs.as_ptr().cast_mut()
    }
}

/// A [`Groups`] of any length (for a trait constant).
///
/// # Invariants
///
/// `ptr` is the NULL-terminated array of a `'static` `Groups<S, _>`.
pub(crate) struct GroupsRef<S: DataSource> {
    ptr: *const *const bindings::attribute_group,
    _source: PhantomData<S>,
}

impl<S: DataSource> Clone for GroupsRef<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S: DataSource> Copy for GroupsRef<S> {}

// SAFETY: The array is immutable and `'static` (type invariant).
unsafe impl<S: DataSource> Sync for GroupsRef<S> {}
// SAFETY: A pointer to immutable `'static` data may move to any thread.
unsafe impl<S: DataSource> Send for GroupsRef<S> {}

impl<S: DataSource, const N: usize> Groups<S, N> {
    /// The groups, of any length.
    pub(crate) const fn erase(&'static self) -> GroupsRef<S> {
        // INVARIANT: `ptrs` is followed by the NULL `end` (`repr(C)`), in a static.
        GroupsRef {
            ptr: self.ptrs.as_ptr(),
            _source: PhantomData,
        }
    }
}

impl<S: DataSource> GroupsRef<S> {
    /// The NULL-terminated array, for the C functions that attach groups.
    pub(crate) fn as_ptr(self) -> *mut *const bindings::attribute_group {
        self.ptr.cast_mut()
    }
}

/// The text a `show` function writes into the sysfs page buffer.
///
/// # Invariants
///
/// `len < buf.len()`: room for the terminating NUL sysfs expects stays free.
pub(crate) struct PageWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl PageWriter<'_> {
    /// Appends raw bytes (for text not known to be UTF-8).
    pub(crate) fn bytes(&mut self, b: &[u8]) -> fmt::Result {
        let end = self.len.checked_add(b.len()).ok_or(fmt::Error)?;
        if end >= self.buf.len() {
            return Err(fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(b);
        // INVARIANT: `end < buf.len()`, checked above.
        self.len = end;
        Ok(())
    }

    /// Bytes as contiguous lowercase hex (C: `%*phN`).
    pub(crate) fn hex(&mut self, b: &[u8]) -> fmt::Result {
        b.iter().try_for_each(|v| write!(self, "{:02x}", v))
    }

    /// 16 bytes as a UUID string (C: `%pU`).
    pub(crate) fn uuid(&mut self, u: &[u8; 16]) -> fmt::Result {
        self.hex(&u[..4])?;
        for r in [4..6, 6..8, 8..10, 10..16] {
            self.bytes(b"-")?;
            self.hex(&u[r])?;
        }
        Ok(())
    }
}

impl Write for PageWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.bytes(s.as_bytes())
    }
}
