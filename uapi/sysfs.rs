// SPDX-License-Identifier: GPL-2.0

//! The controller as sysfs shows it, laid out as the C driver lays it out:
//!
//! * class `nvme`: one device `nvme<N>` per controller, a child of the PCI function, with
//!   the C driver's attribute names and formats; namespace disks are its children, so
//!   `/sys/block/nvme<N>n<M>/device` is the controller and lies under the PCI device;
//! * class `nvme-subsystem`: one device `nvme-subsys<N>` per NVM subsystem (the C layout
//!   without multipath), holding the subsystem's attributes and a link `nvme<N>` to each
//!   of its controllers (`crate::ctrl`'s subsystems decide who shares one);
//! * namespace attributes (`nsid`, `wwid`, `uuid`, `nguid`, `eui`, `csi`,
//!   `metadata_bytes`, `nuse`, `passthru_err_log_enabled`, `diag/`) on each disk.
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
    sync::{
        atomic::Relaxed,
        Arc, //
    },
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
    mq::NameBuf,
    spec::identify::Identity,
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
    match c.facts().identity() {
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
static QUEUE_COUNT: CtrlAttr = CtrlAttr::ro(c"queue_count", |c, w| {
    writeln!(w, "{}", c.facts().queue_count())
});
static SQSIZE: CtrlAttr = CtrlAttr::ro(c"sqsize", |c, w| writeln!(w, "{}", c.facts().sqsize()));

/// A sysfs write as a number (C: `kstrtoul(buf, base, ...)`): one trailing newline
/// allowed; with `auto_base`, `0x` means hex and a leading `0` octal (C's base 0),
/// otherwise decimal only.
fn parse_u64(input: &[u8], auto_base: bool) -> Result<u64> {
    let s = input.strip_suffix(b"\n").unwrap_or(input);
    let (digits, radix) = match s {
        [b'0', b'x' | b'X', rest @ ..] if auto_base => (rest, 16),
        [b'0', rest @ ..] if auto_base && !rest.is_empty() => (rest, 8),
        _ => (s, 10),
    };
    if digits.is_empty() {
        return Err(EINVAL);
    }
    digits.iter().try_fold(0u64, |v, &c| {
        let d = char::from(c).to_digit(radix).ok_or(EINVAL)?;
        v.checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or(ERANGE)
    })
}

/// A sysfs write as a `u32` in decimal (C: `kstrtou32(buf, 10, ...)`).
fn parse_u32(input: &[u8]) -> Result<u32> {
    u32::try_from(parse_u64(input, false)?).map_err(|_| ERANGE)
}

/// `"on"`/`"off"` (C: `passthru_err_log_enabled`).
fn on_off(w: &mut PageWriter<'_>, on: bool) -> fmt::Result {
    w.bytes(if on { b"on\n" } else { b"off\n" })
}

/// A timeout write (ms, not 0), refused before the first bring-up as C refuses it
/// (`NVME_CTRL_STARTED_ONCE`).
fn timeout_ms(c: &Ctrl, input: &[u8]) -> Result<u32> {
    if c.facts().identity().is_none() {
        return Err(EBUSY);
    }
    match parse_u32(input) {
        Ok(0) | Err(_) => Err(EINVAL),
        Ok(ms) => Ok(ms),
    }
}

// Controller attributes of nvme_core that a PCIe controller shows: keep-alive is
// fabrics only (0), the controller and discovery controller type from Identify
// Controller ("reserved" before it, as C), the quirks one per line.
static KATO: CtrlAttr = CtrlAttr::ro(c"kato", |_, w| writeln!(w, "0"));
static CNTRLTYPE: CtrlAttr = CtrlAttr::ro(c"cntrltype", |c, w| {
    let t = c.facts().identity().map_or(0, |id| id.cntrltype);
    let name = match t {
        1 => "io",
        2 => "discovery",
        3 => "admin",
        _ => "reserved",
    };
    writeln!(w, "{}", name)
});
static DCTYPE: CtrlAttr = CtrlAttr::ro(c"dctype", |c, w| {
    let name = match c.facts().identity().map_or(0, |id| id.dctype) {
        0 => "none",
        1 => "ddc",
        2 => "cdc",
        _ => "reserved",
    };
    writeln!(w, "{}", name)
});
static QUIRKS: CtrlAttr = CtrlAttr::ro(c"quirks", |c, w| {
    let mut any = false;
    for name in c.quirks.names() {
        writeln!(w, "{}", name)?;
        any = true;
    }
    if !any {
        writeln!(w, "none")?;
    }
    Ok(())
});
static ADMIN_TIMEOUT: CtrlAttr = CtrlAttr::rw(
    c"admin_timeout",
    |c, w| writeln!(w, "{}", c.admin_timeout_ms()),
    |c, input| {
        let ms = timeout_ms(c, input)?;
        c.diag.admin_timeout_ms.store(ms, Relaxed);
        Ok(())
    },
);
static IO_TIMEOUT: CtrlAttr = CtrlAttr::rw(
    c"io_timeout",
    |c, w| writeln!(w, "{}", c.diag.io_timeout_ms.load(Relaxed)),
    |c, input| {
        let ms = timeout_ms(c, input)?;
        c.set_io_timeout(ms);
        Ok(())
    },
);
static CTRL_PASSTHRU_ERR_LOG: CtrlAttr = CtrlAttr::rw(
    c"passthru_err_log_enabled",
    |c, w| on_off(w, c.diag.passthru_err_log.load(Relaxed)),
    |c, input| {
        let on = kernel::str::kstrtobool_bytes(input).map_err(|_| EINVAL)?;
        c.diag.passthru_err_log.store(on, Relaxed);
        Ok(())
    },
);

// The PCIe transport's attributes (C: `nvme_pci_attrs`): the controller memory buffer
// registers when there is one, the host memory buffer when the controller asks for one.
fn has_cmb(c: &Ctrl) -> bool {
    c.diag.cmbsz.load(Relaxed) != 0
}
static CMB: CtrlAttr = CtrlAttr::ro(c"cmb", |c, w| {
    writeln!(
        w,
        "cmbloc : {:#010x}\ncmbsz  : {:#010x}",
        c.diag.cmbloc.load(Relaxed),
        c.diag.cmbsz.load(Relaxed)
    )
})
.visible_if(has_cmb);
static CMBLOC: CtrlAttr = CtrlAttr::ro(c"cmbloc", |c, w| {
    writeln!(w, "{}", c.diag.cmbloc.load(Relaxed))
})
.visible_if(has_cmb);
static CMBSZ: CtrlAttr = CtrlAttr::ro(c"cmbsz", |c, w| {
    writeln!(w, "{}", c.diag.cmbsz.load(Relaxed))
})
.visible_if(has_cmb);
// rust_nvme provides no host memory buffer: 0, and enabling one is not supported.
static HMB: CtrlAttr = CtrlAttr::rw(
    c"hmb",
    |_, w| writeln!(w, "0"),
    |_, input| match kernel::str::kstrtobool_bytes(input) {
        Ok(false) => Ok(()),
        Ok(true) => Err(EOPNOTSUPP),
        Err(_) => Err(EINVAL),
    },
)
.visible_if(|c| c.facts().identity().is_some_and(|id| id.hmpre != 0));

// The controller's `diag/` group (C: `nvme_dev_diag_attrs`; `reconnect_count` is
// fabrics only). Writes set the counters (C: to reset them).
static ADM_ERRORS: CtrlAttr = CtrlAttr::rw(
    c"command_error_count",
    |c, w| writeln!(w, "{}", c.diag.errors.load(Relaxed)),
    |c, input| {
        c.diag.errors.store(parse_u64(input, true)?, Relaxed);
        Ok(())
    },
);
static RESET_COUNT: CtrlAttr = CtrlAttr::rw(
    c"reset_count",
    |c, w| writeln!(w, "{}", c.diag.resets.load(Relaxed)),
    |c, input| {
        c.diag.resets.store(parse_u64(input, true)?, Relaxed);
        Ok(())
    },
);

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
static METADATA_BYTES: NsAttr = NsAttr::ro(c"metadata_bytes", |ns, w| {
    writeln!(w, "{}", ns.diag.ms.load(Relaxed))
});
static NUSE: NsAttr = NsAttr::ro(c"nuse", |ns, w| {
    // Read from the controller at most once per 5 s, as C; otherwise the last value.
    if ns.diag.nuse_limit.allow(None) {
        let nuse = ns.ctrl.read_nuse(ns.nsid).map_err(|_| fmt::Error)?;
        ns.diag.nuse.store(nuse, Relaxed);
    }
    writeln!(w, "{}", ns.diag.nuse.load(Relaxed))
});
static NS_PASSTHRU_ERR_LOG: NsAttr = NsAttr::rw(
    c"passthru_err_log_enabled",
    |ns, w| on_off(w, ns.diag.passthru_err_log.load(Relaxed)),
    |ns, input| {
        let on = kernel::str::kstrtobool_bytes(input).map_err(|_| EINVAL)?;
        ns.diag.passthru_err_log.store(on, Relaxed);
        Ok(())
    },
);
// The namespace's `diag/` group (C: `nvme_ns_diag_attrs`).
static RETRIES_COUNT: NsAttr = NsAttr::rw(
    c"command_retries_count",
    |ns, w| writeln!(w, "{}", ns.diag.retries.load(Relaxed)),
    |ns, input| {
        ns.diag.retries.store(parse_u64(input, true)?, Relaxed);
        Ok(())
    },
);
static NS_ERRORS: NsAttr = NsAttr::rw(
    c"command_error_count",
    |ns, w| writeln!(w, "{}", ns.diag.errors.load(Relaxed)),
    |ns, input| {
        ns.diag.errors.store(parse_u64(input, true)?, Relaxed);
        Ok(())
    },
);

// In C's order (`nvme_dev_attrs`), so that `ls -U` lists them alike.
static CTRL_ATTRS: AttributeList<CtrlData, 20> = AttributeList::new([
    &RESET_CONTROLLER,
    &RESCAN_CONTROLLER,
    &MODEL,
    &SERIAL,
    &FIRMWARE_REV,
    &CNTLID,
    &TRANSPORT,
    &SUBSYSNQN,
    &ADDRESS,
    &STATE,
    &NUMA_NODE,
    &QUEUE_COUNT,
    &SQSIZE,
    &KATO,
    &CNTRLTYPE,
    &DCTYPE,
    &QUIRKS,
    &ADMIN_TIMEOUT,
    &IO_TIMEOUT,
    &CTRL_PASSTHRU_ERR_LOG,
]);
static PCI_ATTRS: AttributeList<CtrlData, 4> = AttributeList::new([&CMB, &CMBLOC, &CMBSZ, &HMB]);
static CTRL_DIAG_ATTRS: AttributeList<CtrlData, 2> =
    AttributeList::new([&ADM_ERRORS, &RESET_COUNT]);

static SUBSYS_ATTRS: AttributeList<SubsysData, 5> = AttributeList::new([
    &SUBSYS_NQN,
    &SUBSYS_MODEL,
    &SUBSYS_SERIAL,
    &SUBSYS_FIRMWARE_REV,
    &SUBSYSTYPE,
]);

static NS_ATTRS: AttributeList<DiskNs, 9> = AttributeList::new([
    &WWID,
    &UUID,
    &NGUID,
    &EUI,
    &CSI,
    &NSID,
    &METADATA_BYTES,
    &NUSE,
    &NS_PASSTHRU_ERR_LOG,
]);
static NS_DIAG_ATTRS: AttributeList<DiskNs, 2> = AttributeList::new([&RETRIES_COUNT, &NS_ERRORS]);

static CTRL_GROUP: Group<CtrlData> = Group::new(&CTRL_ATTRS);
static PCI_GROUP: Group<CtrlData> = Group::new(&PCI_ATTRS);
static CTRL_DIAG_GROUP: Group<CtrlData> = Group::named(c"diag", &CTRL_DIAG_ATTRS);
static SUBSYS_GROUP: Group<SubsysData> = Group::new(&SUBSYS_ATTRS);
static NS_GROUP: Group<DiskNs> = Group::new(&NS_ATTRS);
static NS_DIAG_GROUP: Group<DiskNs> = Group::named(c"diag", &NS_DIAG_ATTRS);

static CTRL_GROUPS: Groups<CtrlData, 3> = Groups::new([&CTRL_GROUP, &PCI_GROUP, &CTRL_DIAG_GROUP]);
static SUBSYS_GROUPS: Groups<SubsysData, 1> = Groups::new([&SUBSYS_GROUP]);
/// The attribute groups of a namespace disk.
pub(crate) static NS_GROUPS: Groups<DiskNs, 2> = Groups::new([&NS_GROUP, &NS_DIAG_GROUP]);

/// Shows or hides the controller attributes that depend on what bring-up learnt (the
/// `interfaces` hook `ctrl::Interfaces::update_ctrl_attrs`): only the PCIe group, as C
/// (`nvme_update_attrs`), whose callbacks never wait for the controller, so the reset
/// work may update it while a `reset_controller` write waits for that work.
pub(crate) fn update_ctrl_attrs(dev: &CtrlDevice) -> Result {
    dev.update_group(&PCI_GROUP)
}

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
