// SPDX-License-Identifier: GPL-2.0

//! Device classes and the class devices a driver creates in them.
//!
//! C header: [`include/linux/device/class.h`](srctree/include/linux/device/class.h) and
//! [`include/linux/device.h`](srctree/include/linux/device.h) (`device_create_with_groups`).
//!
//! A [`Class`] is a static description; [`Class::register`] registers it and returns a
//! [`Registration`]. Every [`ClassDevice`] holds a registration of its own, so the class
//! is unregistered only after the last registration and the last of its devices are gone.
//! A class device owns an [`Arc`] of the object its attributes show (its driver data), so
//! that object lives as long as the device can call into it.

use kernel::{
    bindings,
    device::Device,
    prelude::*,
    sync::{
        atomic::{
            Acquire,
            Atomic,
            Full,
            Release, //
        },
        Arc, //
    },
    types::Opaque, //
};

use crate::abstractions::{
    device,
    sysfs::{
        DataSource,
        Group,
        Groups, //
    },
};

/// The value of [`Class::users`] while `class_register`/`class_unregister` runs.
const BUSY: usize = usize::MAX;

/// A device class (C: `struct class`), meant to be a `static`.
///
/// # Invariants
///
/// `users` is 0 while the class is not registered, [`BUSY`] while it is being registered
/// or unregistered, and otherwise the number of live [`Registration`]s of it, the class
/// being registered. `raw.name` is a `'static` C string.
pub(crate) struct Class {
    raw: Opaque<bindings::class>,
    users: Atomic<usize>,
}

// SAFETY: The driver core only reads the `struct class` (it keeps its mutable state in
// `subsys_private`); `users` is atomic.
unsafe impl Sync for Class {}

impl Class {
    /// The class `/sys/class/<name>`, not registered yet.
    pub(crate) const fn new(name: &'static CStr) -> Self {
        let mut raw: bindings::class = pin_init::zeroed();
        raw.name = name.as_ptr().cast();
        // INVARIANT: Not registered, no registrations.
        Self {
            raw: Opaque::new(raw),
            users: Atomic::new(0),
        }
    }

    /// Registers the class (C: `class_register`).
    ///
    /// # Errors
    ///
    /// `EBUSY` if the class is registered (or being unregistered) already; what
    /// `class_register` returns (`EEXIST` when another class has the name).
    pub(crate) fn register(&'static self) -> Result<Registration> {
        self.users.cmpxchg(0, BUSY, Full).map_err(|_| EBUSY)?;
        // SAFETY: `raw` is a valid class description that lives forever (`'static`), and
        // `users` being `BUSY` keeps anyone else from (un)registering it meanwhile.
        let ret = unsafe { bindings::class_register(self.raw.get()) };
        if ret != 0 {
            // INVARIANT: Registration failed: not registered.
            self.users.store(0, Release);
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: Registered, with the one registration returned.
        self.users.store(1, Release);
        Ok(Registration { class: self })
    }

    /// Another registration of the class, if it is registered.
    fn get(&'static self) -> Result<Registration> {
        let mut v = self.users.load(Acquire);
        loop {
            if v == 0 || v == BUSY {
                return Err(ENODEV);
            }
            // Stays below `BUSY`.
            let next = v.checked_add(1).filter(|&n| n != BUSY).ok_or(ENOMEM)?;
            match self.users.cmpxchg(v, next, Full) {
                // INVARIANT: One more registration, returned.
                Ok(_) => return Ok(Registration { class: self }),
                Err(now) => v = now,
            }
        }
    }

    /// The `struct class`.
    fn as_raw(&self) -> *const bindings::class {
        self.raw.get()
    }
}

/// A registration of a [`Class`]; the class is unregistered when the last goes.
///
/// # Invariants
///
/// `class` is registered and this registration is counted in its `users`.
pub(crate) struct Registration {
    class: &'static Class,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let users = &self.class.users;
        let mut v = users.load(Acquire);
        loop {
            if v <= 1 {
                // The last one (by the invariant `v` is at least 1).
                if users.cmpxchg(v, BUSY, Full).is_err() {
                    v = users.load(Acquire);
                    continue;
                }
                // SAFETY: The class is registered (type invariant) and this was its last
                // registration: no device of it exists (each holds one), and `BUSY` keeps
                // anyone from registering it again meanwhile.
                unsafe { bindings::class_unregister(self.class.as_raw()) };
                // INVARIANT: Unregistered.
                users.store(0, Release);
                return;
            }
            match users.cmpxchg(v, v - 1, Full) {
                Ok(_) => return,
                Err(now) => v = now,
            }
        }
    }
}

/// How the attributes of a [`ClassDevice<T>`] find their object: the device's driver data.
///
/// Attached devices: devices created by [`ClassDevice::<T>::new`], the only code that
/// attaches a `Groups<ClassData<T>, _>`.
pub(crate) struct ClassData<T>(core::marker::PhantomData<T>);

// SAFETY: `ClassDevice::<T>::new` is the only user of `Groups<ClassData<T>, _>::as_ptr`
// here; it sets the device's driver data to the `T` of an `Arc` it keeps until after it
// unregisters the device, which removes the attribute files.
unsafe impl<T: Send + Sync + 'static> DataSource for ClassData<T> {
    type Data = T;

    unsafe fn data<'a>(dev: &'a Device) -> &'a T {
        // SAFETY: `dev` is a valid device (a reference).
        let data = unsafe { bindings::dev_get_drvdata(device::as_raw(dev)) };
        // SAFETY: `dev` is an attached device (the function's safety requirements), so its
        // driver data points to the `T` that its `ClassDevice` keeps alive while the
        // attribute files exist, for all of `'a`.
        unsafe { &*data.cast::<T>() }
    }
}

/// A device in a class (C: `device_create_with_groups`), unregistered on drop, with
/// attribute groups that show `T`.
///
/// # Invariants
///
/// `dev` was returned by `device_create_with_groups` for a class that `_class` keeps
/// registered, with `Arc::as_ptr(&data)` as driver data; the creation reference is held
/// until drop, which unregisters the device.
pub(crate) struct ClassDevice<T: Send + Sync + 'static> {
    dev: *mut bindings::device,
    data: Arc<T>,
    _class: Registration,
}

// SAFETY: The `struct device` is reference counted and internally locked; `data` is an
// `Arc` of a `Send + Sync` type.
unsafe impl<T: Send + Sync + 'static> Send for ClassDevice<T> {}
// SAFETY: As above; `&self` methods only call thread-safe driver-core functions.
unsafe impl<T: Send + Sync + 'static> Sync for ClassDevice<T> {}

impl<T: Send + Sync + 'static> ClassDevice<T> {
    /// Creates the device `name` in `class` under `parent` (none: a virtual device), with
    /// device number `devt` (0 for none), attribute `groups` that show `data`.
    ///
    /// # Errors
    ///
    /// `ENODEV` if `class` is not registered; what `device_create_with_groups` returns.
    pub(crate) fn new<const N: usize>(
        class: &'static Class,
        parent: Option<&Device>,
        devt: u32,
        data: Arc<T>,
        groups: &'static Groups<ClassData<T>, N>,
        name: &CStr,
    ) -> Result<Self> {
        let reg = class.get()?;
        let parent = parent.map_or(core::ptr::null_mut(), device::as_raw);
        // SAFETY: The class is registered (`reg`); `parent` is null or a live device (a
        // reference), which the new device holds a reference to; the groups are static and
        // read the driver data as `ClassData<T>` says, which holds for this device (its
        // driver data is `data`, kept until after it is unregistered); `"%s"` takes the
        // one NUL-terminated string passed, which the driver core copies.
        let dev = unsafe {
            bindings::device_create_with_groups(
                class.as_raw(),
                parent,
                devt,
                Arc::as_ptr(&data).cast_mut().cast(),
                groups.as_ptr(),
                c"%s".as_ptr().cast(),
                name.as_ptr().cast::<c_char>(),
            )
        };
        let dev = kernel::error::from_err_ptr(dev)?;
        // INVARIANT: Created above in the class `reg` keeps registered, with `data`.
        Ok(Self {
            dev,
            data,
            _class: reg,
        })
    }

    /// Re-evaluates which attributes of `group` (one of the groups the device was created
    /// with) are visible, adding and removing their files (C: `sysfs_update_group`).
    ///
    /// This removes and re-creates every file of the group, waiting for its running
    /// `show`/`store` callbacks: the caller must not hold anything those wait for.
    pub(crate) fn update_group(&self, group: &'static Group<ClassData<T>>) -> Result {
        // SAFETY: The device is registered (type invariant), so is its kobject; the group
        // reads the driver data as `ClassData<T>` says, which holds for this device (see
        // `new`); the files it adds go with the device when it is unregistered.
        let ret = unsafe { bindings::sysfs_update_group(self.kobj(), group.as_raw()) };
        kernel::error::to_result(ret)
    }

    /// The object the device's attributes show.
    pub(crate) fn data(&self) -> &Arc<T> {
        &self.data
    }

    /// The embedded kobject.
    fn kobj(&self) -> *mut bindings::kobject {
        // SAFETY: `dev` is a live device (type invariant); this only computes the address.
        unsafe { &raw mut (*self.dev).kobj }
    }

    /// Sends a `KOBJ_CHANGE` uevent with the extra variable `env` (`"KEY=value"`) (C:
    /// `kobject_uevent_env(&dev->kobj, KOBJ_CHANGE, envp)`).
    pub(crate) fn uevent_change(&self, env: &CStr) {
        let mut envp = [env.as_ptr().cast_mut().cast(), core::ptr::null_mut()];
        // SAFETY: The device is registered (type invariant); `envp` is a NULL-terminated
        // array of NUL-terminated strings that outlives the call, which only reads them.
        unsafe {
            bindings::kobject_uevent_env(
                self.kobj(),
                bindings::kobject_action_KOBJ_CHANGE,
                envp.as_mut_ptr(),
            )
        };
    }

    /// Adds the symlink `name` in this device's directory to `target`'s (C:
    /// `sysfs_create_link`).
    pub(crate) fn create_link(&self, target: &Device, name: &CStr) -> Result {
        // SAFETY: Both devices are live (type invariant, a reference), so are their
        // kobjects; the link holds a reference to the target's sysfs node; `name` is
        // NUL-terminated and copied.
        let ret = unsafe {
            bindings::sysfs_create_link(
                self.kobj(),
                &raw mut (*device::as_raw(target)).kobj,
                name.as_ptr().cast(),
            )
        };
        kernel::error::to_result(ret)
    }

    /// Removes the symlink `name` from this device's directory (C: `sysfs_remove_link`);
    /// nothing if there is none.
    pub(crate) fn remove_link(&self, name: &CStr) {
        // SAFETY: The device is live (type invariant); `name` is NUL-terminated; a missing
        // link is ignored.
        unsafe { bindings::sysfs_remove_link(self.kobj(), name.as_ptr().cast()) };
    }
}

impl<T: Send + Sync + 'static> AsRef<Device> for ClassDevice<T> {
    fn as_ref(&self) -> &Device {
        // SAFETY: The creation reference, held until drop (type invariant), keeps the
        // device alive for as long as `self` is borrowed.
        unsafe { Device::from_raw(self.dev) }
    }
}

impl<T: Send + Sync + 'static> Drop for ClassDevice<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `dev` is registered and we hold its creation
        // reference; unregistering removes the attribute files (waiting for running
        // callbacks, which read `data`, dropped only after this) and drops the reference.
        unsafe { bindings::device_unregister(self.dev) };
    }
}
