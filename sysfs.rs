// SPDX-License-Identifier: GPL-2.0

//! The controller as sysfs shows it, laid out as the C driver lays it out:
//!
//! * class `nvme`: one device `nvme<N>` per controller, a child of the PCI function, with
//!   the C driver's attribute names and formats; namespace disks are its children, so
//!   `/sys/block/nvme<N>n<M>/device` is the controller and lies under the PCI device;
//! * class `nvme-subsystem`: one device `nvme-subsys<N>` per NVM subsystem (the C layout
//!   without multipath), holding the subsystem's attributes and a link `nvme<N>` to each
//!   of its controllers (`crate::ctrl`'s subsystems decide who shares one);
//! * namespace attributes (`nsid`, `wwid`, `uuid`, `nguid`, `eui`) on each disk.
//!
//! C counterpart: `drivers/nvme/host/sysfs.c`. The class names are the C core's, so the
//! two drivers are alternatives: module load fails while `nvme_core` holds them.
//!
//! Controller attributes reach the controller through their device's driver data,
//! subsystem attributes the subsystem's identity the same way; namespace attributes reach
//! the namespace through the disk. A class device holds an `Arc` of what its attributes
//! show and unregisters (waiting for running `show`/`store`) before letting it go; the
//! controller's device is thus a reference cycle, which the controller's teardown breaks
//! by dropping its `class_dev`.

use core::fmt::{
    self,
    Write, //
};

use kernel::{
    prelude::*,
    sync::Arc, //
};

use crate::{
    abstractions::{
        class::{
            Class,
            ClassData,
            ClassDevice,
            Registration, //
        },
        device::numa_node,
        gendisk::DiskData,
        module::symbol_exported,
        sysfs::{
            Attribute,
            AttributeList,
            Group,
            Groups,
            PageWriter, //
        },
    },
    ctrl::Ctrl,
    identify::Identity,
    mq::NameBuf,
};

/// `/sys/class/nvme`: the controllers.
static NVME_CLASS: Class = Class::new(c"nvme");
/// `/sys/class/nvme-subsystem`: the subsystems.
static SUBSYS_CLASS: Class = Class::new(c"nvme-subsystem");

/// The registered classes `nvme` and `nvme-subsystem`; unregistered on drop.
pub(crate) struct ClassRegistration {
    /// Declared first, so dropped (unregistered) first, as C unregisters it first.
    _subsys: Registration,
    _nvme: Registration,
}

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
        let register = |class: &'static Class| {
            class.register().inspect_err(|e| {
                pr_err!(
                    "cannot register the nvme classes ({}): is the C nvme driver (nvme_core) \
                     loaded? rust_nvme and nvme_core are alternatives; unload nvme_core first\n",
                    e.to_errno()
                )
            })
        };
        let nvme = register(&NVME_CLASS)?;
        let subsys = register(&SUBSYS_CLASS)?;
        Ok(Self {
            _subsys: subsys,
            _nvme: nvme,
        })
    }
}

/// Whether the C `nvme_core` module is loaded (one of its exported symbols resolves).
fn nvme_core_loaded() -> bool {
    symbol_exported(c"nvme_init_ctrl")
}

/// The attributes of a controller device: its `Ctrl`.
type CtrlData = ClassData<Ctrl>;
/// The attributes of a subsystem device: the identity it shows.
type SubsysData = ClassData<Identity>;
/// A controller attribute.
type CtrlAttr = Attribute<CtrlData>;
/// A subsystem attribute.
type SubsysAttr = Attribute<SubsysData>;
/// The attributes of a namespace disk: its `NsInfo`.
type DiskNs = DiskData<crate::mq::Ops<Ctrl>>;
/// A namespace attribute.
type NsAttr = Attribute<DiskNs>;

/// A padded identify string up to its first NUL, then a newline (C: `"%.*s\n"`).
fn field(w: &mut PageWriter<'_>, b: &[u8]) -> fmt::Result {
    w.bytes(Identity::until_nul(b))?;
    w.bytes(b"\n")
}

/// Whether a sysfs write means "1" (as `reset_controller` users write it).
fn is_one(input: &[u8]) -> bool {
    matches!(input, b"1" | b"1\n")
}

/// Shows one field of the controller's identity; nothing before the first Identify.
fn ident_field(
    c: &Ctrl,
    w: &mut PageWriter<'_>,
    f: impl Fn(&Identity, &mut PageWriter<'_>) -> fmt::Result,
) -> fmt::Result {
    match c.identity() {
        Some(id) => f(&id, w),
        None => w.bytes(b"\n"),
    }
}

// Controller attributes (C: `nvme_dev_attrs`).
static STATE: CtrlAttr = CtrlAttr::ro(c"state", |c, w| writeln!(w, "{}", c.state().name()));
static RESET_CONTROLLER: CtrlAttr = CtrlAttr::wo(c"reset_controller", |c, input| {
    if is_one(input) {
        c.reset_sync()
    } else {
        Err(EINVAL)
    }
});
static RESCAN_CONTROLLER: CtrlAttr = CtrlAttr::wo(c"rescan_controller", |c, _| {
    // Any write rescans, as in C.
    c.queue_scan();
    Ok(())
});
static MODEL: CtrlAttr = CtrlAttr::ro(c"model", |c, w| ident_field(c, w, |id, w| field(w, &id.mn)));
static SERIAL: CtrlAttr = CtrlAttr::ro(c"serial", |c, w| {
    ident_field(c, w, |id, w| field(w, &id.sn))
});
static FIRMWARE_REV: CtrlAttr = CtrlAttr::ro(c"firmware_rev", |c, w| {
    ident_field(c, w, |id, w| field(w, &id.fr))
});
static CNTLID: CtrlAttr = CtrlAttr::ro(c"cntlid", |c, w| {
    ident_field(c, w, |id, w| writeln!(w, "{}", id.cntlid))
});
static SUBSYSNQN: CtrlAttr = CtrlAttr::ro(c"subsysnqn", |c, w| {
    ident_field(c, w, |id, w| field(w, &id.subnqn))
});
static TRANSPORT: CtrlAttr = CtrlAttr::ro(c"transport", |_, w| writeln!(w, "pcie"));
static ADDRESS: CtrlAttr = CtrlAttr::ro(c"address", |c, w| {
    w.bytes(c.pci_dev().as_ref().name().to_bytes())?;
    w.bytes(b"\n")
});
static NUMA_NODE: CtrlAttr = CtrlAttr::ro(c"numa_node", |c, w| {
    writeln!(w, "{}", numa_node(c.pci_dev().as_ref()))
});
static QUEUE_COUNT: CtrlAttr =
    CtrlAttr::ro(c"queue_count", |c, w| writeln!(w, "{}", c.queue_count()));
static SQSIZE: CtrlAttr = CtrlAttr::ro(c"sqsize", |c, w| writeln!(w, "{}", c.sqsize()));

// Subsystem attributes (C: `nvme_subsys_attrs`): the identity of the controller that
// created the subsystem.
static SUBSYS_NQN: SubsysAttr = SubsysAttr::ro(c"subsysnqn", |id, w| field(w, &id.subnqn));
static SUBSYS_MODEL: SubsysAttr = SubsysAttr::ro(c"model", |id, w| field(w, &id.mn));
static SUBSYS_SERIAL: SubsysAttr = SubsysAttr::ro(c"serial", |id, w| field(w, &id.sn));
static SUBSYS_FIRMWARE_REV: SubsysAttr = SubsysAttr::ro(c"firmware_rev", |id, w| field(w, &id.fr));
static SUBSYSTYPE: SubsysAttr = SubsysAttr::ro(c"subsystype", |_, w| writeln!(w, "nvm"));

// Namespace attributes (C: `nvme_ns_attrs`); `uuid`, `nguid` and `eui` are hidden when the
// namespace does not report them (C: `nvme_ns_attrs_are_visible`).
static NSID: NsAttr = NsAttr::ro(c"nsid", |ns, w| writeln!(w, "{}", ns.nsid));
static WWID: NsAttr = NsAttr::ro(c"wwid", |ns, w| {
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
static UUID: NsAttr = NsAttr::ro(c"uuid", |ns, w| {
    // Without a UUID C shows the NGUID here, for backward compatibility.
    if ns.ids.uuid != [0; 16] {
        w.uuid(&ns.ids.uuid)?;
    } else {
        w.uuid(&ns.ids.nguid)?;
    }
    w.bytes(b"\n")
})
.visible_if(|ns| ns.ids.uuid != [0; 16] || ns.ids.nguid != [0; 16]);
static NGUID: NsAttr = NsAttr::ro(c"nguid", |ns, w| {
    w.uuid(&ns.ids.nguid)?;
    w.bytes(b"\n")
})
.visible_if(|ns| ns.ids.nguid != [0; 16]);
static EUI: NsAttr = NsAttr::ro(c"eui", |ns, w| {
    // `%8ph`: bytes separated by spaces.
    for (i, b) in ns.ids.eui64.iter().enumerate() {
        write!(w, "{}{:02x}", if i > 0 { " " } else { "" }, b)?;
    }
    w.bytes(b"\n")
})
.visible_if(|ns| ns.ids.eui64 != [0; 8]);
static CSI: NsAttr = NsAttr::ro(c"csi", |ns, w| writeln!(w, "{}", ns.ids.csi));

static CTRL_ATTRS: AttributeList<CtrlData, 13> = AttributeList::new([
    &STATE,
    &RESET_CONTROLLER,
    &RESCAN_CONTROLLER,
    &MODEL,
    &SERIAL,
    &FIRMWARE_REV,
    &CNTLID,
    &SUBSYSNQN,
    &TRANSPORT,
    &ADDRESS,
    &NUMA_NODE,
    &QUEUE_COUNT,
    &SQSIZE,
]);

static SUBSYS_ATTRS: AttributeList<SubsysData, 5> = AttributeList::new([
    &SUBSYS_NQN,
    &SUBSYS_MODEL,
    &SUBSYS_SERIAL,
    &SUBSYS_FIRMWARE_REV,
    &SUBSYSTYPE,
]);

static NS_ATTRS: AttributeList<DiskNs, 6> =
    AttributeList::new([&NSID, &WWID, &UUID, &NGUID, &EUI, &CSI]);

static CTRL_GROUP: Group<CtrlData> = Group::new(&CTRL_ATTRS);
static SUBSYS_GROUP: Group<SubsysData> = Group::new(&SUBSYS_ATTRS);
static NS_GROUP: Group<DiskNs> = Group::new(&NS_ATTRS);

static CTRL_GROUPS: Groups<CtrlData, 1> = Groups::new([&CTRL_GROUP]);
static SUBSYS_GROUPS: Groups<SubsysData, 1> = Groups::new([&SUBSYS_GROUP]);
/// The attribute groups of a namespace disk.
pub(crate) static NS_GROUPS: Groups<DiskNs, 1> = Groups::new([&NS_GROUP]);

/// `buf` as the C string it holds.
fn cstr(buf: &NameBuf) -> Result<&CStr> {
    CStr::from_bytes_with_nul(buf.bytes()).map_err(|_| EINVAL)
}

/// The class device `nvme<N>` of one controller (also `/dev/nvme<N>` when its device
/// number is set); it keeps the controller alive, so the controller's teardown drops it
/// (taking it out of `Ctrl::class_dev`).
pub(crate) type CtrlDevice = ClassDevice<Ctrl>;

impl CtrlDevice {
    /// Creates `/sys/class/nvme/nvme<instance>` under the PCI function of `ctrl`, with
    /// device number `devt` (0 for none).
    pub(crate) fn for_ctrl(ctrl: Arc<Ctrl>, devt: u32) -> Result<Self> {
        let mut name = NameBuf::default();
        write!(name, "nvme{}", ctrl.instance).map_err(|_| EINVAL)?;
        let owner = ctrl.clone();
        ClassDevice::new(
            &NVME_CLASS,
            Some(owner.pci_dev().as_ref()),
            devt,
            ctrl,
            &CTRL_GROUPS,
            cstr(&name)?,
        )
    }
}

/// Creates `/sys/class/nvme-subsystem/nvme-subsys<instance>` showing `ident` (what
/// `ctrl::Interfaces::subsys_device` does).
pub(crate) fn subsys_device(ident: Arc<Identity>, instance: u32) -> Result<ClassDevice<Identity>> {
    let mut name = NameBuf::default();
    write!(name, "nvme-subsys{}", instance).map_err(|_| EINVAL)?;
    // No parent: a virtual device, as in C.
    ClassDevice::new(&SUBSYS_CLASS, None, 0, ident, &SUBSYS_GROUPS, cstr(&name)?)
}
