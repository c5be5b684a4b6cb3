// SPDX-License-Identifier: GPL-2.0

//! The controller: its state machine, bring-up (the reset work item), admin commands,
//! I/O queue set-up, namespace scan and shutdown.
//!
//! C counterparts: `nvme_reset_work`, `nvme_pci_configure_admin_queue`,
//! `nvme_init_ctrl_finish`, `nvme_setup_io_queues`, `nvme_scan_work`, `nvme_dev_disable`.

use kernel::{
    device,
    io::Io,
    pci,
    prelude::*,
    str::CString,
    sync::{
        aref::ARef,
        atomic::Relaxed,
        new_mutex,
        new_spinlock,
        new_spinlock_irq,
        Arc,
        Mutex,
        SpinLock,
        SpinLockIrq, //
    },
    workqueue::{
        self,
        impl_has_work,
        new_work,
        Work,
        WorkItem, //
    },
};

mod admin;
mod aen;
mod bringup;
mod devices;
mod enable;
mod facts;
mod gate;
mod health;
mod lifecycle;
mod ns;
mod ns_identify;
mod subsys;
mod teardown;
mod timeout;
mod zoned;

mod instance;
mod queue_count;
mod state;

use instance::{
    instance_get,
    instance_put, //
};
pub(crate) use instance::{
    instance_hold,
    instance_release,
    MAX_INSTANCES, //
};
use queue_count::{
    io_queue_split,
    io_queue_vector, //
};
pub(crate) use state::{
    csts_problem,
    State, //
};

use admin::AdminQueue;
pub(crate) use admin::DmaHold;
use devices::Devices;
use facts::Facts;
pub(crate) use facts::Thermal;
use gate::UserGate;
use ns::Namespaces;
use teardown::Teardown;

use crate::{
    abstractions::{
        class::ClassDevice,
        device::{
            Binding,
            BoundRef, //
        },
        workqueue::WorkExt,
    },
    diag::errors::CtrlDiag,
    diag::fault_inject::NvmeFault,
    diag::log::{
        ctrl_err,
        ctrl_info,
        ctrl_warn, //
    },
    hw::quirks::Quirks,
    hw::shadow_doorbell::DbBuf,
    hw::vectors::{
        Handler,
        InIrq,
        Vectors, //
    },
    mq,
    queue::Bar0,
    spec::cmd::Cns,
    spec::identify::Identity,
    spec::regs,
};

/// Size of the log pages read into an Identify-sized buffer.
const IDENTIFY_LOG_SIZE: u32 = 4096;
/// Admin queue depth (C: `NVME_AQ_DEPTH`).
const ADMIN_QUEUE_DEPTH: u16 = 32;
/// Largest I/O queue depth the driver uses, whatever CAP.MQES allows.
pub(crate) const MAX_IO_QUEUE_DEPTH: u32 = 4095;

/// Longest wait for a normal shutdown, in seconds, whatever RTD3E says (C: the clamp in
/// `nvme_init_ctrl_finish`).
const MAX_SHUTDOWN_SECS: u32 = 60;
/// How often a waiter polls CSTS, or an admin completion before the admin queue has its
/// interrupt.
const POLL_INTERVAL_US: i64 = 100;
/// How often an admin command's waiter, asleep until the completion's interrupt, looks
/// again by itself: bounds what a lost interrupt or a controller gone costs it.
const ADMIN_RECHECK_MS: i64 = 20;

/// The controller's tag set.
pub(crate) type TagSet = mq::TagSet<Ctrl>;
/// An I/O queue of the controller's tag set.
pub(crate) type IoQueue = mq::IoQueue<Ctrl>;
/// A namespace of the controller as the system sees it: its disk and its generic
/// character device (`/dev/ng<N>n<M>`, when it could be created).
pub(crate) struct Disk {
    /// Declared first, so deleted first: C deletes the generic device before the disk.
    _ng: Option<KBox<dyn Send + Sync>>,
    disk: mq::Disk<Ctrl>,
}

impl core::ops::Deref for Disk {
    type Target = mq::Disk<Ctrl>;

    fn deref(&self) -> &Self::Target {
        &self.disk
    }
}
/// A counted reference to a namespace disk.
pub(crate) type DiskRef = mq::DiskRef<Ctrl>;
/// A namespace disk, borrowed.
pub(crate) type DiskView<'a> = mq::DiskView<'a, Ctrl>;
/// Namespace disks with their queues frozen.
pub(crate) type Frozen = mq::Frozen<Ctrl>;
/// What a namespace disk's queue carries.
pub(crate) type NsInfo = mq::NsInfo<Ctrl>;

/// The data of one interrupt vector: the queues whose CQs interrupt on it.
struct VectorHandler {
    admin: Option<Arc<AdminQueue>>,
    io: Option<Arc<IoQueue>>,
}

impl Handler for VectorHandler {
    // A hint, not `always`: LLVM then keeps the queue's reaping inside this function
    // (`make icount`, QD1: 616 -> 610 module instructions; forced inlining into the
    // trampoline outlines the reaping instead, 619).
    #[inline]
    fn handle(&self, irq: &InIrq) -> bool {
        let mut handled = false;
        if let Some(a) = &self.admin {
            handled |= a.reap_irq(irq);
        }
        if let Some(q) = &self.io {
            handled |= q.reap_irq(irq) > 0;
        }
        handled
    }
}

/// What the layers above give a controller at probe (the glue, `pci.rs`, hands them
/// over), so that the controller does not import them.
pub(crate) struct Interfaces {
    /// Creates the subsystem device `nvme-subsys<instance>` that shows `ident` (sysfs).
    pub(crate) subsys_device: fn(Arc<Identity>, u32) -> Result<ClassDevice<Identity>>,
    /// Registers the controller's hardware monitor under its class device (`parent`);
    /// the registration ends when the returned object drops.
    pub(crate) hwmon:
        Option<fn(Arc<Ctrl>, &kernel::device::Device) -> Result<KBox<dyn Send + Sync>>>,
    /// Shows or hides the controller attributes that depend on what bring-up learnt.
    pub(crate) update_ctrl_attrs: fn(&ClassDevice<Ctrl>) -> Result,
    /// Creates the generic character device `ng<instance>n<disk id>` of a namespace disk
    /// under the controller's class device; deleted when the returned object drops.
    pub(crate) ng_device:
        fn(DiskRef, u32, u32, &kernel::device::Device) -> Result<KBox<dyn Send + Sync>>,
}

/// Module parameters as this controller uses them.
#[derive(Clone, Copy)]
pub(crate) struct Params {
    /// Requested I/O queue depth.
    pub(crate) io_queue_depth: u32,
    /// Largest number of I/O queues; 0 is one per possible CPU.
    pub(crate) max_io_queues: u32,
    /// I/O timeout in seconds.
    pub(crate) io_timeout: u32,
    /// Admin command timeout in seconds.
    pub(crate) admin_timeout: u32,
    /// Average segment size from which requests use SGLs; 0 disables SGLs.
    pub(crate) sgl_threshold: u32,
    /// Polled I/O queues (no interrupt) for blk-mq's poll map.
    pub(crate) poll_queues: u32,
    /// Use Doorbell Buffer Config when the controller supports it.
    pub(crate) shadow_doorbell: bool,
    /// Shortest wait for a normal shutdown, in seconds (C: nvme_core's
    /// `shutdown_timeout`).
    pub(crate) shutdown_timeout: u32,
    /// Most retries of an I/O request (C: nvme_core's `max_retries`).
    pub(crate) max_retries: u8,
}

/// What disabling the controller touches (C: what `nvme_dev_disable` touches under
/// `shutdown_lock`), apart from [`Namespaces`] so that the timeout handler can disable the
/// controller while the reset work, a scan or removal holds `inner` and waits for the
/// very request that timed out.
#[derive(Default)]
struct Hw {
    /// The interrupt vectors and their handlers (handlers go with every disable).
    vectors: Option<Vectors>,
    /// The tag set, made by the first bring-up and kept across resets: here, so that
    /// the timeout handler quiesces and cancels without `inner`; paths that hold
    /// `inner` take a reference ([`Ctrl::tagset`]).
    tagset: Option<Arc<TagSet>>,
    /// The I/O queues exist on the controller and it is enabled.
    queues_live: bool,
    /// Shadow doorbell buffers, allocated by the first bring-up that uses them.
    dbbuf: Option<Arc<DbBuf>>,
}

/// One NVMe controller.
///
/// # Lock order
///
/// Sleeping locks, outermost first: `gate` (held only to enter or leave, never across a
/// command) and `inner` (the reset, scan and removal paths) -> `devices`' (`subsys` ->
/// `class_dev`, `hwmon` -> `class_dev`: `ctrl/devices.rs`) -> `hw`. Spinlocks are
/// innermost and never nest with each other: `state`, `admin`, `facts`'s (what bring-up
/// learnt, `ctrl/facts.rs`), and the interrupt-safe `this` and `aen`; below them only the
/// queue pairs' own ring locks (`crate::queue`) and the tag set's (`crate::mq`). No lock
/// of the controller is held while waiting for I/O to complete, except `inner` by paths
/// whose I/O the timeout handler can end without it (it takes only `hw` and `admin`).
/// Probe teaches lockdep this order ([`Ctrl::teach_lock_order`]).
///
/// # Parts
///
/// Each with one job and its lock: `state` (the state machine, `ctrl/state.rs`),
/// `facts` (what bring-up learnt), `admin` (the admin queue and its slots,
/// `ctrl/admin.rs`), `hw` (vectors, I/O queues, tag set, shadow doorbells: what a
/// disable touches), `inner` ([`Namespaces`], the disks, `ctrl/ns.rs`; its lock also
/// serialises reset, scan and removal), `aen` (asynchronous events, `ctrl/aen.rs`),
/// `users` (the passthrough gate, `ctrl/gate.rs`), `devices` (sysfs presence,
/// `ctrl/devices.rs`), `diag` (counters, `crate::diag::errors`).
#[pin_data(PinnedDrop)]
pub(crate) struct Ctrl {
    pdev: ARef<pci::Device>,
    /// The device as bound, for the work items (until unbind).
    binding: Arc<Binding>,
    /// The controller itself, for queueing its work from `&self` (also in interrupt
    /// context); set by `new`, dropped by [`Ctrl::drop_self_ref`] (end of removal, or a
    /// failed probe).
    /// Lock order: innermost (interrupt-safe spinlock).
    #[pin]
    this: SpinLockIrq<Option<Arc<Ctrl>>>,
    bar: Arc<Bar0>,
    /// `N` of `nvme<N>`.
    pub(crate) instance: u32,
    params: Params,
    /// C's quirks for this controller (`crate::hw::quirks`), fixed at probe.
    pub(crate) quirks: Quirks,
    /// Error and reset counters, logging switch and timeouts as sysfs shows them.
    pub(crate) diag: CtrlDiag,
    /// Fault injection for the admin commands (`/sys/kernel/debug/nvme<N>/`).
    fault: Option<NvmeFault>,
    /// The state machine (C: `nvme_change_ctrl_state`). Lock order: innermost.
    #[pin]
    state: SpinLock<State>,
    #[pin]
    reset_work: Work<Ctrl>,
    /// Namespace scan (C: `scan_work`): rescan on demand and on namespace notices.
    #[pin]
    scan_work: Work<Ctrl, 1>,
    /// Asynchronous event handling and re-arming (C: `async_event_work`).
    #[pin]
    aen_work: Work<Ctrl, 2>,
    /// Asynchronous events received, not yet handled. Lock order: innermost
    /// (interrupt-safe: filled by the admin queue's completion handler).
    #[pin]
    aen: SpinLockIrq<aen::AenQueue>,
    /// Admin passthrough in progress (it uses the device); closed once removal began,
    /// which waits for the users to leave. Lock order: outermost (its own lock).
    #[pin]
    users: UserGate,
    /// The namespaces' disks; held by the reset, scan and removal paths throughout.
    /// Lock order: outermost (before `devices`, `hw` and the spinlocks).
    #[pin]
    inner: Mutex<Namespaces>,
    /// The admin queue while the controller is enabled; apart from `inner` so that
    /// timeout handlers reach it while a reset holds `inner`. Lock order: innermost.
    #[pin]
    admin: SpinLock<Option<Arc<AdminQueue>>>,
    /// What a disable touches (C: `shutdown_lock`). Serialises the timeout handler, PCI
    /// error recovery and the reset path's disabling of the queues.
    ///
    /// Lock order: after `inner`, `subsys` and `class_dev`, before the spinlocks; never
    /// taken in interrupt context.
    #[pin]
    hw: Mutex<Hw>,
    /// The class device `nvme<N>`, the subsystem membership and the hardware monitor
    /// (`ctrl/devices.rs`). Lock order: after `inner`, before `hw`.
    #[pin]
    devices: Devices,
    /// What bring-up learnt about the controller (CAP, Identify, effects, limits);
    /// apart from `inner` so that sysfs, hwmon and passthrough never wait for a reset.
    /// Lock order: innermost.
    #[pin]
    facts: Facts,
}

impl_has_work! {
    impl HasWork<Self> for Ctrl { self.reset_work }
    impl HasWork<Self, 1> for Ctrl { self.scan_work }
    impl HasWork<Self, 2> for Ctrl { self.aen_work }
}

impl WorkItem<1> for Ctrl {
    type Pointer = Arc<Ctrl>;

    fn run(this: Arc<Ctrl>) {
        this.scan_work_fn();
    }
}

impl WorkItem<2> for Ctrl {
    type Pointer = Arc<Ctrl>;

    fn run(this: Arc<Ctrl>) {
        this.aen_work_fn();
    }
}

impl WorkItem for Ctrl {
    type Pointer = Arc<Ctrl>;

    fn run(this: Arc<Ctrl>) {
        this.reset_work_fn();
    }
}

impl Ctrl {
    /// Creates the controller of `pdev`, whose BAR0 is `bar`; nothing touches it yet.
    pub(crate) fn new(
        pdev: &pci::Device<device::Bound>,
        bar: Bar0,
        params: Params,
        quirks: Quirks,
        ifaces: &'static Interfaces,
    ) -> Result<Arc<Self>> {
        let instance = instance_get()?;
        let bar = match Arc::new(bar, GFP_KERNEL) {
            Ok(b) => b,
            Err(e) => {
                instance_put(instance);
                return Err(e.into());
            }
        };
        let binding = Binding::new(pdev.as_ref()).inspect_err(|_| instance_put(instance))?;
        let fault = CString::try_from_fmt(fmt!("nvme{}", instance))
            .ok()
            .and_then(|n| NvmeFault::new(&n));
        let ctrl = Arc::pin_init(
            try_pin_init!(Self {
                pdev: pdev.into(),
                binding,
                this <- new_spinlock_irq!(None),
                bar,
                instance,
                facts <- Facts::new(params.shutdown_timeout),
                diag: CtrlDiag::new(params.admin_timeout, params.io_timeout),
                fault,
                params,
                quirks,
                state <- new_spinlock!(State::New),
                reset_work <- new_work!("rust_nvme::reset_work"),
                scan_work <- new_work!("rust_nvme::scan_work"),
                aen_work <- new_work!("rust_nvme::aen_work"),
                aen <- new_spinlock_irq!(aen::AenQueue::default()),
                users <- UserGate::new(),
                inner <- new_mutex!(Namespaces::default()),
                admin <- new_spinlock!(None),
                hw <- new_mutex!(Hw::default()),
                devices <- Devices::new(ifaces),
            }? Error),
            GFP_KERNEL,
        )
        .inspect_err(|_| instance_put(instance))?;
        *ctrl.this.lock() = Some(ctrl.clone());
        ctrl.teach_lock_order();
        Ok(ctrl)
    }

    /// Takes the controller's locks once in the order documented on [`Ctrl`], with
    /// lockdep only (`CONFIG_PROVE_LOCKING`, on in every debug guest): lockdep then knows
    /// the documented order from the first probe on, and reports a path that takes two
    /// of them the other way round even when no test ran a path that takes them the
    /// documented way (a report is a kernel splat, which fails the guest run). Nobody else
    /// holds them yet: the controller was just made.
    fn teach_lock_order(&self) {
        if !cfg!(CONFIG_PROVE_LOCKING) {
            return;
        }
        let inner = self.inner.lock();
        self.devices.teach_lock_order(|| {
            let hw = self.hw.lock();
            // The spinlocks are innermost and never nest with each other: each alone.
            drop(self.state.lock());
            drop(self.admin.lock());
            let _ = self.facts.identity();
            drop(self.aen.lock());
            drop(self.this.lock());
            drop(hw);
        });
        drop(inner);
    }

    fn dev(&self) -> &device::Device {
        self.pdev.as_ref()
    }

    /// The device, bound (for DMA buffers).
    ///
    /// Only the reset, scan and event work, admin passthrough inside `gate`, and `remove`
    /// call this; unbind waits for the use to end after `remove` returns, which has closed
    /// `gate` (waiting for its users), flushed the reset work, and cancelled the scan and
    /// event work once more after the admin queue and its interrupts are gone (nothing can
    /// queue event work then), so no use is left by then.
    ///
    /// # Errors
    ///
    /// `ENODEV` once unbind has got past `remove`.
    fn bound_dev(&self) -> Result<BoundRef<'_>> {
        self.binding.get().ok_or(ENODEV)
    }

    /// The tag set, once the first bring-up made it. Takes `hw`: not for a caller that
    /// holds it.
    fn tagset(&self) -> Option<Arc<TagSet>> {
        self.hw.lock().tagset.clone()
    }

    /// The current state.
    pub(crate) fn state(&self) -> State {
        *self.state.lock()
    }

    /// What bring-up learnt about the controller.
    pub(crate) fn facts(&self) -> &Facts {
        &self.facts
    }

    /// The PCI function.
    pub(crate) fn pci_dev(&self) -> &pci::Device {
        &self.pdev
    }

    /// Moves to `new` if that transition is allowed (C: `nvme_change_ctrl_state`).
    fn change_state(&self, new: State) -> bool {
        let mut s = self.state.lock();
        let old = *s;
        if !old.can_change_to(new) {
            return false;
        }
        *s = new;
        drop(s);
        if new == State::Resetting && matches!(old, State::New | State::Live) {
            // C counts these entries only (`nr_reset`).
            self.diag.resets.add(1, Relaxed);
        }
        dev_dbg!(
            self.dev(),
            "nvme{}: {} -> {}\n",
            self.instance,
            old.name(),
            new.name()
        );
        true
    }

    /// A new reference to this controller; `None` once removal has finished (nothing
    /// queues work then).
    fn arc(&self) -> Option<Arc<Self>> {
        self.this.lock().clone()
    }

    /// Drops the controller's reference to itself, so that it goes with its last user:
    /// at the end of removal, or when probe fails after [`Ctrl::new`].
    pub(crate) fn drop_self_ref(&self) {
        let this = self.this.lock().take();
        drop(this);
    }

    /// Queues work item `ID` (`Err` from the queue means it is already queued, which is
    /// what was asked); nothing once removal has finished.
    fn queue_work<const ID: u64>(&self)
    where
        Self: WorkItem<ID, Pointer = Arc<Self>> + workqueue::HasWork<Self, ID>,
    {
        if let Some(this) = self.arc() {
            let _ = workqueue::system_long().enqueue::<_, ID>(this);
        }
    }

    /// Whether the controller implements at least NVMe `mjr`.`mnr`.
    fn vs_at_least(&self, mjr: u32, mnr: u32) -> bool {
        self.bar.try_access().is_some_and(|bar| {
            let vs = bar.read(regs::VS);
            (vs.mjr().get(), vs.mnr().get()) >= (mjr, mnr)
        })
    }

    /// Whether Identify with `cns` may be sent (C: `nvme_id_cns_ok`).
    fn id_cns_ok(&self, cns: Cns) -> bool {
        cns_ok(
            self.vs_at_least(1, 2),
            self.vs_at_least(1, 1),
            self.quirks.has(Quirks::IDENTIFY_CNS),
            cns,
        )
    }

    /// Queues the first bring-up (from probe).
    pub(crate) fn schedule_probe(&self) {
        // `Err` means it is already queued, which is what was asked.
        self.queue_work::<0>();
    }

    /// Starts a controller reset (C: `nvme_reset_ctrl`): live -> resetting, then the reset
    /// work disables and brings the controller back up.
    ///
    /// # Errors
    ///
    /// `EBUSY` when the controller is not live (already resetting, dead, being removed).
    pub(crate) fn schedule_reset(&self) -> Result {
        if !self.change_state(State::Resetting) {
            return Err(EBUSY);
        }
        self.queue_work::<0>();
        Ok(())
    }

    /// Resets and waits for the result (C: `nvme_reset_ctrl_sync`), for
    /// `reset_controller`.
    pub(crate) fn reset_sync(&self) -> Result {
        self.schedule_reset()?;
        self.flush_reset_work();
        if self.state() == State::Live {
            Ok(())
        } else {
            Err(ENODEV)
        }
    }

    /// NVM Subsystem Reset (C: `nvme_reset_subsystem`), then a controller reset.
    ///
    /// # Errors
    ///
    /// `ENOTTY` when the controller does not support it (CAP.NSSRS clear), `EBUSY` when it
    /// is not live.
    pub(crate) fn subsystem_reset(&self) -> Result {
        if !self.read_cap()?.nssrs() {
            return Err(ENOTTY);
        }
        if !self.change_state(State::Resetting) {
            return Err(EBUSY);
        }
        if let Some(bar) = self.bar.try_access() {
            bar.write_reg(regs::NSSR::zeroed().with_nssrc(regs::NSSR_RESET));
        }
        self.queue_work::<0>();
        Ok(())
    }

    /// The controller's only disk (C: `nvme_dev_user_cmd`).
    ///
    /// # Errors
    ///
    /// `ENOTTY` without namespaces, `EINVAL` (logged) with more than one.
    pub(crate) fn only_disk(&self) -> Result<DiskRef> {
        let inner = self.inner.lock();
        match inner.disks.as_slice() {
            [] => Err(ENOTTY),
            [d] => Ok(d.get()),
            _ => {
                ctrl_warn!(
                    self.instance,
                    "NVME_IOCTL_IO_CMD not supported when multiple namespaces present!\n"
                );
                Err(EINVAL)
            }
        }
    }

    /// Cancels the event and scan work and waits for a running one to finish.
    fn cancel_event_work(&self) {
        self.aen_work.cancel_sync();
        self.scan_work.cancel_sync();
    }

    fn flush_reset_work(&self) {
        self.reset_work.flush();
    }

    fn flush_scan_work(&self) {
        self.scan_work.flush();
    }

    /// The reset work: the first bring-up (from probe) or a reset (from `Resetting`).
    /// On failure the controller is marked dead (C: `nvme_reset_work`,
    /// `nvme_remove_dead_ctrl`).
    fn reset_work_fn(&self) {
        // Held throughout: no scan or removal runs while the controller comes up.
        let mut inner = self.inner.lock();
        if self.state() == State::Resetting {
            ctrl_info!(self.instance, "resetting controller\n");
            self.disable_io(Teardown::Disable);
        }
        if !self.change_state(State::Connecting) {
            // Removal began; it finishes the teardown.
            return;
        }
        match self.bring_up() {
            Ok(()) => {
                if self.change_state(State::Live) {
                    self.unquiesce_io();
                    // C: `nvme_start_ctrl` (events, then a scan: the first one, or one
                    // for what changed while the controller was down). The scan runs
                    // without `inner`, so that a namespace read that never completes
                    // cannot hold up a reset.
                    self.aen_start();
                    self.facts.caps_read();
                    self.queue_scan();
                } else if self.state() == State::Dead {
                    // The timeout handler gave up on the controller meanwhile.
                    self.kill(&mut inner);
                }
            }
            Err(e) => {
                ctrl_err!(
                    self.instance,
                    "bring-up failed ({:?}); controller is dead\n",
                    e
                );
                self.kill(&mut inner);
                self.change_state(State::Dead);
            }
        }
    }
}

#[pinned_drop]
impl PinnedDrop for Ctrl {
    fn drop(self: Pin<&mut Self>) {
        instance_put(self.instance);
    }
}

/// Whether Identify with `cns` may go to a controller of NVMe 1.2 or later (`v1_2`), of
/// 1.1 (`v1_1`), with the quirk that only CNS 0 and 1 work (C: `nvme_id_cns_ok`): from
/// 1.2 the CNS field is a byte; 1.1 made it two bits (values beyond could be truncated
/// into another structure); 1.0 had one bit.
fn cns_ok(v1_2: bool, v1_1: bool, quirk: bool, cns: Cns) -> bool {
    if v1_2 {
        return true;
    }
    if v1_1 && !quirk {
        return (cns as u8) <= 3;
    }
    (cns as u8) <= 1
}

#[kunit_tests(rust_nvme_ctrl)]
mod tests {
    use super::*;

    #[test]
    fn identify_cns_as_c() {
        // From 1.2 anything; 1.1 two bits unless quirked; 1.0 one bit.
        assert!(cns_ok(true, true, true, Cns::CtrlCsi));
        assert!(cns_ok(false, true, false, Cns::ActiveNsList));
        assert!(!cns_ok(false, true, false, Cns::NsCsi));
        assert!(!cns_ok(false, true, true, Cns::ActiveNsList));
        assert!(cns_ok(false, true, true, Cns::Controller));
        assert!(!cns_ok(false, false, false, Cns::ActiveNsList));
    }
}
