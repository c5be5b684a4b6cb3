// SPDX-License-Identifier: GPL-2.0

//! The controller as sysfs shows it, laid out as the C driver lays it out:
//!
//! * class `nvme`: one device `nvme<N>` per controller, a child of the PCI function, with
//!   the C driver's attribute names and formats; namespace disks are its children, so
//!   `/sys/block/nvme<N>n<M>/device` is the controller and lies under the PCI device;
//! * class `nvme-subsystem`: one device `nvme-subsys<N>` per NVM subsystem (the C layout
//!   without multipath), holding the subsystem's attributes and a link `nvme<N>` to each
//!   of its controllers (`crate::subsys` decides who shares one);
//! * namespace attributes (`nsid`, `wwid`, `uuid`, `nguid`, `eui`) on each disk.
//!
//! C counterpart: `drivers/nvme/host/sysfs.c`. The class names are the C core's, so the
//! two drivers are alternatives: module load fails while `nvme_core` holds them.
//!
//! Controller attributes reach the controller through their device's driver data,
//! subsystem attributes the subsystem's identity the same way; namespace attributes reach
//! the namespace through the disk. Each device
//! is unregistered before what its callbacks read is freed, and unregistering waits for
//! every running `show`/`store`, so the pointers are valid whenever a callback runs.

use core::{
    ffi::c_void,
    fmt::Write,
    ptr, //
};

use kernel::{
    bindings,
    ffi::c_char,
    pci,
    prelude::*,
    sync::Arc, //
};

use crate::{
    ctrl::Ctrl,
    identify::{
        Identity,
        NsIds, //
    },
    irq::raw_pdev,
    mq::NsInfo,
};

/// A `struct class` defined by this driver.
struct Class(bindings::class);

// SAFETY: The class is immutable after construction; the driver core keeps its mutable
// state elsewhere (`subsys_private`).
unsafe impl Sync for Class {}

static NVME_CLASS: Class = Class(bindings::class {
    name: c"nvme".as_ptr().cast(),
    // SAFETY: All-zero is a valid `struct class` for the remaining fields.
    ..unsafe { core::mem::zeroed() }
});

static SUBSYS_CLASS: Class = Class(bindings::class {
    name: c"nvme-subsystem".as_ptr().cast(),
    // SAFETY: As above.
    ..unsafe { core::mem::zeroed() }
});

/// The registered classes `nvme` and `nvme-subsystem`; unregistered on drop.
pub(crate) struct ClassRegistration;

impl ClassRegistration {
    /// Registers `/sys/class/nvme` and `/sys/class/nvme-subsystem`.
    ///
    /// # Errors
    ///
    /// `EBUSY` (with a message) when the C `nvme_core` module already owns the classes.
    pub(crate) fn new() -> Result<Self> {
        // Ask before registering: a duplicate class name makes sysfs dump a stack.
        if nvme_core_loaded() {
            pr_err!(
                "the C nvme driver (nvme_core) is loaded and owns class 'nvme'; \
                 rust_nvme and nvme_core are alternatives: unload nvme_core first\n"
            );
            return Err(EBUSY);
        }
        crate::subsys::init();
        for (i, class) in [&NVME_CLASS, &SUBSYS_CLASS].into_iter().enumerate() {
            // SAFETY: `class` is a valid, static class description.
            let ret = unsafe { bindings::class_register(&class.0) };
            if ret != 0 {
                pr_err!(
                    "cannot register the nvme classes ({}): is the C nvme driver (nvme_core) \
                     loaded? rust_nvme and nvme_core are alternatives; unload nvme_core first\n",
                    ret
                );
                if i == 1 {
                    // SAFETY: Registered in the first iteration.
                    unsafe { bindings::class_unregister(&NVME_CLASS.0) };
                }
                return Err(Error::from_errno(ret));
            }
        }
        Ok(Self)
    }
}

impl Drop for ClassRegistration {
    fn drop(&mut self) {
        // SAFETY: Registered in `new`; every device of these classes was unregistered
        // before (the PCI driver is unregistered first).
        unsafe {
            bindings::class_unregister(&SUBSYS_CLASS.0);
            bindings::class_unregister(&NVME_CLASS.0);
        }
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
pub(crate) struct PageWriter {
    buf: *mut u8,
    len: usize,
}

impl PageWriter {
    /// Appends raw bytes (identify strings are shown as the controller reports them).
    fn bytes(&mut self, b: &[u8]) -> core::fmt::Result {
        if self.len + b.len() >= kernel::page::PAGE_SIZE {
            return Err(core::fmt::Error);
        }
        // SAFETY: sysfs hands `show` a PAGE_SIZE buffer; the check above keeps the copy
        // (and a terminating NUL) inside it.
        unsafe { ptr::copy_nonoverlapping(b.as_ptr(), self.buf.add(self.len), b.len()) };
        self.len += b.len();
        Ok(())
    }

    /// `%*phN`: bytes as contiguous lowercase hex.
    fn hex(&mut self, b: &[u8]) -> core::fmt::Result {
        b.iter().try_for_each(|v| write!(self, "{:02x}", v))
    }

    /// `%pU`: 16 bytes as a UUID string.
    fn uuid(&mut self, u: &[u8; 16]) -> core::fmt::Result {
        self.hex(&u[..4])?;
        for r in [4..6, 6..8, 8..10, 10..16] {
            self.bytes(b"-")?;
            self.hex(&u[r])?;
        }
        Ok(())
    }

    /// A padded identify string up to its first NUL, then a newline (C: `"%.*s\n"`).
    fn field(&mut self, b: &[u8]) -> core::fmt::Result {
        self.bytes(Identity::until_nul(b))?;
        self.bytes(b"\n")
    }
}

impl Write for PageWriter {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.bytes(s.as_bytes())
    }
}

/// The controller behind a controller or subsystem device.
///
/// # Safety
///
/// `dev` is a device created by [`CtrlDevice::new`], from inside one of its attribute
/// callbacks.
unsafe fn ctrl_of<'a>(dev: *mut bindings::device) -> &'a Ctrl {
    // SAFETY: The constructor stores a pointer to the controller as driver data, and the
    // controller outlives the device (see the module documentation).
    unsafe { &*(*dev).driver_data.cast::<Ctrl>() }
}

/// What an attribute shows, and of what.
#[derive(Clone, Copy)]
enum Show {
    None,
    Ctrl(fn(&Ctrl, &mut PageWriter) -> core::fmt::Result),
    Subsys(fn(&Identity, &mut PageWriter) -> core::fmt::Result),
    Ns(fn(&NsInfo, &mut PageWriter) -> core::fmt::Result),
}

/// What an attribute does with a write.
type StoreFn = fn(&Ctrl, &[u8]) -> Result;

/// A device attribute backed by a Rust function.
#[repr(C)]
struct Attr {
    attr: bindings::device_attribute,
    show: Show,
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
    // our groups is.
    let a = unsafe { &*attr.cast::<Attr>() };
    let mut w = PageWriter {
        buf: buf.cast(),
        len: 0,
    };
    let r = match a.show {
        // SAFETY: Controller attributes are only in the group of controller devices.
        Show::Ctrl(f) => f(unsafe { ctrl_of(dev) }, &mut w),
        // SAFETY: Subsystem attributes are only in the group of subsystem devices, whose
        // driver data is the `Identity` that `SubsysDevice` keeps alive.
        Show::Subsys(f) => f(unsafe { &*(*dev).driver_data.cast::<Identity>() }, &mut w),
        // SAFETY: Namespace attributes are only in the group of our disks.
        Show::Ns(f) => {
            match crate::mq::ns_of_disk_device(unsafe { kernel::device::Device::from_raw(dev) }) {
                Some(ns) => f(ns, &mut w),
                None => Err(core::fmt::Error),
            }
        }
        Show::None => Err(core::fmt::Error),
    };
    match r {
        Ok(()) => w.len as isize,
        Err(_) => EINVAL.to_errno() as isize,
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
    // SAFETY: Only controller attributes have a store function.
    let ctrl = unsafe { ctrl_of(dev) };
    // SAFETY: sysfs passes `count` readable bytes.
    let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
    match a.store.map(|f| f(ctrl, input)) {
        Some(Ok(())) => count as isize,
        Some(Err(e)) => e.to_errno() as isize,
        None => EINVAL.to_errno() as isize,
    }
}

/// `S_IRUGO`.
const MODE_RO: u16 = 0o444;
/// `S_IWUSR`.
const MODE_WO: u16 = 0o200;

const fn attr(name: &'static CStr, mode: u16, show: Show, store: Option<StoreFn>) -> Attr {
    // SAFETY: All-zero is a valid `device_attribute`.
    let mut a: bindings::device_attribute = unsafe { core::mem::zeroed() };
    a.attr.name = name.as_ptr().cast();
    a.attr.mode = mode;
    if !matches!(show, Show::None) {
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

const fn ctrl_ro(name: &'static CStr, f: fn(&Ctrl, &mut PageWriter) -> core::fmt::Result) -> Attr {
    attr(name, MODE_RO, Show::Ctrl(f), None)
}

const fn subsys_ro(
    name: &'static CStr,
    f: fn(&Identity, &mut PageWriter) -> core::fmt::Result,
) -> Attr {
    attr(name, MODE_RO, Show::Subsys(f), None)
}

const fn ns_ro(name: &'static CStr, f: fn(&NsInfo, &mut PageWriter) -> core::fmt::Result) -> Attr {
    attr(name, MODE_RO, Show::Ns(f), None)
}

/// Whether a sysfs write means "1" (as `reset_controller` users write it).
fn is_one(input: &[u8]) -> bool {
    matches!(input, b"1" | b"1\n")
}

/// Shows one field of the controller's identity; nothing before the first Identify.
fn ident_field(
    c: &Ctrl,
    w: &mut PageWriter,
    f: impl Fn(&Identity, &mut PageWriter) -> core::fmt::Result,
) -> core::fmt::Result {
    match c.identity() {
        Some(id) => f(&id, w),
        None => w.bytes(b"\n"),
    }
}

// Controller attributes (C: `nvme_dev_attrs`).
static STATE: Attr = ctrl_ro(c"state", |c, w| writeln!(w, "{}", c.state().name()));
static RESET_CONTROLLER: Attr = attr(
    c"reset_controller",
    MODE_WO,
    Show::None,
    Some(|c, input| {
        if is_one(input) {
            c.reset_sync()
        } else {
            Err(EINVAL)
        }
    }),
);
static RESCAN_CONTROLLER: Attr = attr(
    c"rescan_controller",
    MODE_WO,
    Show::None,
    Some(|c, _| {
        // Any write rescans, as in C.
        c.queue_scan();
        Ok(())
    }),
);
static MODEL: Attr = ctrl_ro(c"model", |c, w| ident_field(c, w, |id, w| w.field(&id.mn)));
static SERIAL: Attr = ctrl_ro(c"serial", |c, w| ident_field(c, w, |id, w| w.field(&id.sn)));
static FIRMWARE_REV: Attr = ctrl_ro(c"firmware_rev", |c, w| {
    ident_field(c, w, |id, w| w.field(&id.fr))
});
static CNTLID: Attr = ctrl_ro(c"cntlid", |c, w| {
    ident_field(c, w, |id, w| writeln!(w, "{}", id.cntlid))
});
static SUBSYSNQN: Attr = ctrl_ro(c"subsysnqn", |c, w| {
    ident_field(c, w, |id, w| w.field(&id.subnqn))
});
static TRANSPORT: Attr = ctrl_ro(c"transport", |_, w| writeln!(w, "pcie"));
static ADDRESS: Attr = ctrl_ro(c"address", |c, w| {
    w.bytes(c.pci_dev().as_ref().name().to_bytes())?;
    w.bytes(b"\n")
});
static NUMA_NODE: Attr = ctrl_ro(c"numa_node", |c, w| {
    writeln!(w, "{}", numa_node(c.pci_dev()))
});
static QUEUE_COUNT: Attr = ctrl_ro(c"queue_count", |c, w| writeln!(w, "{}", c.queue_count()));
static SQSIZE: Attr = ctrl_ro(c"sqsize", |c, w| writeln!(w, "{}", c.sqsize()));

// Subsystem attributes (C: `nvme_subsys_attrs`): the identity of the controller that
// created the subsystem.
static SUBSYS_NQN: Attr = subsys_ro(c"subsysnqn", |id, w| w.field(&id.subnqn));
static SUBSYS_MODEL: Attr = subsys_ro(c"model", |id, w| w.field(&id.mn));
static SUBSYS_SERIAL: Attr = subsys_ro(c"serial", |id, w| w.field(&id.sn));
static SUBSYS_FIRMWARE_REV: Attr = subsys_ro(c"firmware_rev", |id, w| w.field(&id.fr));
static SUBSYSTYPE: Attr = subsys_ro(c"subsystype", |_, w| writeln!(w, "nvm"));

// Namespace attributes (C: `nvme_ns_attrs`).
static NSID: Attr = ns_ro(c"nsid", |ns, w| writeln!(w, "{}", ns.nsid));
static WWID: Attr = ns_ro(c"wwid", |ns, w| {
    let ids = &ns.ids;
    if ids.uuid != [0; 16] {
        w.bytes(b"uuid.")?;
        w.uuid(&ids.uuid)?;
    } else if ids.nguid != [0; 16] {
        w.bytes(b"eui.")?;
        w.hex(&ids.nguid)?;
    } else if ids.eui64 != [0; 8] {
        w.bytes(b"eui.")?;
        w.hex(&ids.eui64)?;
    } else {
        // C's fallback: vendor, serial and model in hex, namespace ID.
        write!(w, "nvme.{:04x}-", ns.vid)?;
        w.hex(Identity::trimmed(&ns.sn))?;
        w.bytes(b"-")?;
        w.hex(Identity::trimmed(&ns.mn))?;
        write!(w, "-{:08x}", ns.nsid)?;
    }
    w.bytes(b"\n")
});
static UUID: Attr = ns_ro(c"uuid", |ns, w| {
    // Without a UUID C shows the NGUID here, for backward compatibility.
    if ns.ids.uuid != [0; 16] {
        w.uuid(&ns.ids.uuid)?;
    } else {
        w.uuid(&ns.ids.nguid)?;
    }
    w.bytes(b"\n")
});
static NGUID: Attr = ns_ro(c"nguid", |ns, w| {
    w.uuid(&ns.ids.nguid)?;
    w.bytes(b"\n")
});
static EUI: Attr = ns_ro(c"eui", |ns, w| {
    // `%8ph`: bytes separated by spaces.
    for (i, b) in ns.ids.eui64.iter().enumerate() {
        write!(w, "{}{:02x}", if i > 0 { " " } else { "" }, b)?;
    }
    w.bytes(b"\n")
});
static CSI: Attr = ns_ro(c"csi", |ns, w| writeln!(w, "{}", ns.ids.csi));

/// The NUMA node of the PCI function (C: `dev_to_node`).
fn numa_node(pdev: &pci::Device) -> i32 {
    #[cfg(CONFIG_NUMA)]
    {
        // SAFETY: `pdev` is live; `numa_node` is a plain field.
        unsafe { (*raw_pdev(pdev)).dev.numa_node }
    }
    #[cfg(not(CONFIG_NUMA))]
    {
        let _ = pdev;
        bindings::NUMA_NO_NODE
    }
}

/// A null-terminated attribute pointer array.
struct AttrList<const N: usize>([*const bindings::attribute; N]);
// SAFETY: Points only to immutable statics.
unsafe impl<const N: usize> Sync for AttrList<N> {}

static CTRL_ATTRS: AttrList<14> = AttrList([
    &STATE.attr.attr,
    &RESET_CONTROLLER.attr.attr,
    &RESCAN_CONTROLLER.attr.attr,
    &MODEL.attr.attr,
    &SERIAL.attr.attr,
    &FIRMWARE_REV.attr.attr,
    &CNTLID.attr.attr,
    &SUBSYSNQN.attr.attr,
    &TRANSPORT.attr.attr,
    &ADDRESS.attr.attr,
    &NUMA_NODE.attr.attr,
    &QUEUE_COUNT.attr.attr,
    &SQSIZE.attr.attr,
    ptr::null(),
]);

static SUBSYS_ATTRS: AttrList<6> = AttrList([
    &SUBSYS_NQN.attr.attr,
    &SUBSYS_MODEL.attr.attr,
    &SUBSYS_SERIAL.attr.attr,
    &SUBSYS_FIRMWARE_REV.attr.attr,
    &SUBSYSTYPE.attr.attr,
    ptr::null(),
]);

static NS_ATTRS: AttrList<7> = AttrList([
    &NSID.attr.attr,
    &WWID.attr.attr,
    &UUID.attr.attr,
    &NGUID.attr.attr,
    &EUI.attr.attr,
    &CSI.attr.attr,
    ptr::null(),
]);

/// Hides `uuid`, `nguid` and `eui` when the namespace does not report them (C:
/// `nvme_ns_attrs_are_visible`).
unsafe extern "C" fn ns_attr_visible(
    kobj: *mut bindings::kobject,
    a: *mut bindings::attribute,
    _n: i32,
) -> bindings::umode_t {
    // SAFETY: The group is only attached to disks, whose kobject is embedded in their
    // `struct device`.
    let dev = unsafe { kernel::container_of!(kobj, bindings::device, kobj) };
    // SAFETY: As above; the disk is ours.
    let Some(ns) = crate::mq::ns_of_disk_device(unsafe { kernel::device::Device::from_raw(dev) })
    else {
        return 0;
    };
    let ids: &NsIds = &ns.ids;
    let a = a.cast_const();
    let hidden = (a == &raw const UUID.attr.attr && ids.uuid == [0; 16] && ids.nguid == [0; 16])
        || (a == &raw const NGUID.attr.attr && ids.nguid == [0; 16])
        || (a == &raw const EUI.attr.attr && ids.eui64 == [0; 8]);
    if hidden {
        0
    } else {
        // SAFETY: `a` is one of our static attributes.
        unsafe { (*a).mode }
    }
}

struct Group(bindings::attribute_group);
// SAFETY: Points only to immutable statics.
unsafe impl Sync for Group {}

const fn group<const N: usize>(attrs: &'static AttrList<N>) -> Group {
    Group(bindings::attribute_group {
        __bindgen_anon_2: bindings::attribute_group__bindgen_ty_2 {
            attrs: attrs.0.as_ptr().cast_mut().cast(),
        },
        // SAFETY: All-zero is valid for the remaining fields.
        ..unsafe { core::mem::zeroed() }
    })
}

static CTRL_GROUP: Group = group(&CTRL_ATTRS);
static SUBSYS_GROUP: Group = group(&SUBSYS_ATTRS);
static NS_GROUP: Group = Group(bindings::attribute_group {
    __bindgen_anon_1: bindings::attribute_group__bindgen_ty_1 {
        is_visible: Some(ns_attr_visible),
    },
    ..group(&NS_ATTRS).0
});

/// A null-terminated group pointer array.
pub(crate) struct Groups([*const bindings::attribute_group; 2]);
// SAFETY: Points only to immutable statics.
unsafe impl Sync for Groups {}

impl Groups {
    /// The array as `device_add_disk` and `device_create_with_groups` take it.
    pub(crate) fn as_ptr(&'static self) -> *mut *const bindings::attribute_group {
        self.0.as_ptr().cast_mut()
    }
}

static CTRL_GROUPS: Groups = Groups([&CTRL_GROUP.0, ptr::null()]);
static SUBSYS_GROUPS: Groups = Groups([&SUBSYS_GROUP.0, ptr::null()]);
/// The attribute groups of a namespace disk.
pub(crate) static NS_GROUPS: Groups = Groups([&NS_GROUP.0, ptr::null()]);

/// Creates a device of `class` with `data` as driver data.
///
/// # Safety
///
/// `class` is registered, `parent` is null or a live device, and the result is
/// unregistered before `data` is freed.
unsafe fn create(
    class: &'static Class,
    parent: *mut bindings::device,
    devt: bindings::dev_t,
    data: *const c_void,
    groups: &'static Groups,
    fmt: &'static CStr,
    n: u32,
) -> Result<*mut bindings::device> {
    // SAFETY: Per the function's safety requirements; the groups are static and the format
    // takes one `unsigned int`.
    let dev = unsafe {
        bindings::device_create_with_groups(
            &class.0,
            parent,
            devt,
            data.cast_mut(),
            groups.as_ptr(),
            fmt.as_ptr().cast(),
            n,
        )
    };
    kernel::error::from_err_ptr(dev)
}

/// The class device `nvme<N>` of one controller (also `/dev/nvme<N>` when `devt` is set).
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
    /// Creates `/sys/class/nvme/nvme<instance>` under `pdev` for `ctrl`, with device
    /// number `devt` (0 for none).
    ///
    /// The caller must drop the result before `ctrl` goes away.
    pub(crate) fn new(pdev: &pci::Device, ctrl: &Ctrl, devt: bindings::dev_t) -> Result<Self> {
        // SAFETY: The class is registered (module init), `pdev` is live, and the caller
        // drops the device before `ctrl`.
        let dev = unsafe {
            create(
                &NVME_CLASS,
                &raw mut (*raw_pdev(pdev)).dev,
                devt,
                ptr::from_ref(ctrl).cast(),
                &CTRL_GROUPS,
                c"nvme%u",
                ctrl.instance,
            )
        }?;
        // INVARIANT: created above.
        Ok(Self { dev })
    }

    /// The device, as parent of the namespace disks.
    pub(crate) fn device(&self) -> &kernel::device::Device {
        // SAFETY: By the invariant the device is registered until `self` drops.
        unsafe { kernel::device::Device::from_raw(self.dev) }
    }

    /// Sends `KOBJ_CHANGE` with `NVME_AEN=<result>` (C: `nvme_aen_uevent`).
    pub(crate) fn aen_uevent(&self, result: u32) {
        let mut env = crate::mq::NameBuf::default();
        if write!(env, "NVME_AEN={:#08x}", result).is_err() {
            return;
        }
        let mut envp = [
            env.bytes().as_ptr().cast_mut().cast::<c_char>(),
            ptr::null_mut(),
        ];
        // SAFETY: By the invariant the device is registered; `envp` is a NULL-terminated
        // array of NUL-terminated strings that outlives the call.
        unsafe {
            bindings::kobject_uevent_env(
                &raw mut (*self.dev).kobj,
                bindings::kobject_action_KOBJ_CHANGE,
                envp.as_mut_ptr(),
            )
        };
    }
}

impl Drop for CtrlDevice {
    fn drop(&mut self) {
        // SAFETY: By the invariant `dev` is registered; this waits for running attribute
        // callbacks and drops the creation reference.
        unsafe { bindings::device_unregister(self.dev) };
    }
}

/// A subsystem device `nvme-subsys<N>`, showing `ident`, with links `nvme<M>` to the
/// controllers that [`Self::link`] added.
///
/// # Invariants
///
/// `dev` was returned by `device_create_with_groups` with a pointer to `*ident` as
/// driver data; it is unregistered on drop, before `ident` can go.
pub(crate) struct SubsysDevice {
    dev: *mut bindings::device,
    ident: Arc<Identity>,
}

// SAFETY: As for `CtrlDevice`.
unsafe impl Send for SubsysDevice {}
// SAFETY: As above.
unsafe impl Sync for SubsysDevice {}

/// The name of the link to controller `instance`: "nvme" and at most two digits
/// (`MAX_INSTANCES`), NUL terminated.
fn link_name(instance: u32) -> crate::mq::NameBuf {
    let mut w = crate::mq::NameBuf::default();
    let _ = write!(w, "nvme{}", instance);
    w
}

impl SubsysDevice {
    /// Creates `/sys/class/nvme-subsystem/nvme-subsys<instance>` showing `ident`.
    pub(crate) fn new(ident: Arc<Identity>, instance: u32) -> Result<Self> {
        // SAFETY: The class is registered; no parent (a virtual device, as in C); the
        // device is unregistered (drop) before `ident`, which it holds, goes.
        let dev = unsafe {
            create(
                &SUBSYS_CLASS,
                ptr::null_mut(),
                0,
                ptr::from_ref::<Identity>(&ident).cast(),
                &SUBSYS_GROUPS,
                c"nvme-subsys%u",
                instance,
            )
        }?;
        // INVARIANT: created above with `ident` as driver data.
        Ok(Self { dev, ident })
    }

    /// The identity the device shows.
    pub(crate) fn ident(&self) -> &Identity {
        &self.ident
    }

    /// Adds the link `nvme<instance>` to `ctrl_dev`, which the caller removes with
    /// [`Self::unlink`] before `ctrl_dev` goes.
    pub(crate) fn link(&self, ctrl_dev: &CtrlDevice, instance: u32) -> Result {
        let name = link_name(instance);
        // SAFETY: Both devices are registered (type invariants); the name is NUL
        // terminated.
        let ret = unsafe {
            bindings::sysfs_create_link(
                &raw mut (*self.dev).kobj,
                &raw mut (*ctrl_dev.dev).kobj,
                name.bytes().as_ptr().cast(),
            )
        };
        kernel::error::to_result(ret)
    }

    /// Removes the link [`Self::link`] added.
    pub(crate) fn unlink(&self, instance: u32) {
        let name = link_name(instance);
        // SAFETY: The device is registered; removing a missing link only warns, and the
        // caller only removes links it added.
        unsafe {
            bindings::sysfs_remove_link(&raw mut (*self.dev).kobj, name.bytes().as_ptr().cast())
        };
    }
}

impl Drop for SubsysDevice {
    fn drop(&mut self) {
        // SAFETY: By the invariant the device is registered; unregistering waits for
        // running attribute callbacks, so none reads `ident` after this.
        unsafe { bindings::device_unregister(self.dev) };
    }
}
