// SPDX-License-Identifier: GPL-2.0

//! What the controller told bring-up about itself: CAP, Identify Controller (what the
//! driver works with and what sysfs shows), the NVM command set limits, the Commands
//! Supported and Effects log, the transfer limits and the queues it granted.
//!
//! One part of the composed [`Ctrl`](super::Ctrl), apart from the reset path's `inner`
//! so that sysfs, the hardware monitor, passthrough and the namespace scan read it
//! without waiting for a reset. Bring-up writes it; everything else reads it.

use kernel::{
    new_spinlock,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        SpinLock, //
    },
};

use crate::spec::{
    cmd_effects::Effects,
    identify::{
        IdCtrl,
        Identity,
        NvmCtrlLimits, //
    },
    regs::Cap,
};

/// The composite temperature thresholds Identify Controller reports, in kelvin
/// (WCTEMP, CCTEMP; 0: not reported).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Thermal {
    /// Warning Composite Temperature Threshold.
    pub(crate) wctemp: u16,
    /// Critical Composite Temperature Threshold.
    pub(crate) cctemp: u16,
}

impl Thermal {
    /// Both thresholds in one word: WCTEMP in 15:0, CCTEMP in 31:16.
    fn to_bits(self) -> u32 {
        u32::from(self.wctemp) | u32::from(self.cctemp) << 16
    }

    fn from_bits(t: u32) -> Self {
        Self {
            wctemp: t as u16,
            cctemp: (t >> 16) as u16,
        }
    }
}

/// What Identify and the effects log said, read together.
#[derive(Clone, Default)]
struct Identified {
    /// What the driver keeps of Identify Controller.
    id: Option<IdCtrl>,
    /// What sysfs shows of it.
    ident: Option<Identity>,
    /// NVM command set limits (Identify CNS 06h).
    nvm: NvmCtrlLimits,
    /// Commands Supported and Effects (the log, plus what C knows), read by the first
    /// bring-up.
    effects: Option<Arc<Effects>>,
}

/// What bring-up learnt about the controller.
///
/// # Lock order
///
/// `identified` is innermost (a spinlock, never held while taking another lock or
/// waiting); the rest are single words read without a lock.
#[pin_data]
pub(crate) struct Facts {
    #[pin]
    identified: SpinLock<Identified>,
    /// CAP as the last bring-up read it; 0 before any (a CAP of 0 is refused).
    cap: Atomic<u64>,
    /// Controller memory page size in bytes.
    page_size: Atomic<usize>,
    /// Largest data transfer in bytes (passthrough limit).
    max_transfer: Atomic<u32>,
    /// Largest transfer in 512-byte sectors (the disks' limit).
    max_hw_sectors: Atomic<u32>,
    /// The controller reports extended LBA formats (CTRATT.ELBAS): each format's guard
    /// comes from the NVM command set's Identify Namespace.
    elbas: Atomic<bool>,
    /// WCTEMP (15:0) and CCTEMP (31:16), kelvin.
    thermal: Atomic<u32>,
    /// How long a normal shutdown may take, in seconds: the `shutdown_timeout` parameter,
    /// or RTD3E when longer, at most 60 (C: `ctrl->shutdown_timeout`).
    shutdown_secs: Atomic<u32>,
    /// Queues on the controller, admin queue included (sysfs `queue_count`).
    queue_count: Atomic<u32>,
    /// I/O queue size, 0's based (sysfs `sqsize`).
    sqsize: Atomic<u32>,
    /// A bring-up identified the controller (C: `ctrl->identified`).
    once_identified: Atomic<bool>,
    /// A passthrough command changed controller capabilities since the last bring-up
    /// (C: `NVME_CTRL_DIRTY_CAPABILITY`).
    caps_changed: Atomic<bool>,
}

impl Facts {
    /// Nothing learnt yet; shutdowns wait `shutdown_secs` until Identify says more.
    pub(super) fn new(shutdown_secs: u32) -> impl PinInit<Self> {
        pin_init!(Self {
            identified <- new_spinlock!(Identified::default()),
            cap: Atomic::new(0),
            page_size: Atomic::new(kernel::page::PAGE_SIZE),
            max_transfer: Atomic::new(0),
            max_hw_sectors: Atomic::new(0),
            elbas: Atomic::new(false),
            thermal: Atomic::new(0),
            shutdown_secs: Atomic::new(shutdown_secs),
            queue_count: Atomic::new(0),
            sqsize: Atomic::new(0),
            once_identified: Atomic::new(false),
            caps_changed: Atomic::new(false),
        })
    }

    /// CAP as the last bring-up read it; `None` before the first.
    pub(super) fn cap(&self) -> Option<Cap> {
        match self.cap.load(Relaxed) {
            0 => None,
            raw => Some(Cap::from_raw(raw)),
        }
    }

    pub(super) fn set_cap(&self, cap: Cap) {
        self.cap.store(cap.into_raw(), Relaxed);
    }

    /// What the driver keeps of Identify Controller, once it completed.
    pub(super) fn id(&self) -> Option<IdCtrl> {
        self.identified.lock().id
    }

    /// The controller's identity as sysfs shows it, once Identify Controller completed.
    pub(crate) fn identity(&self) -> Option<Identity> {
        self.identified.lock().ident
    }

    /// Records what Identify Controller said (every bring-up).
    pub(super) fn set_identify(&self, id: IdCtrl, ident: Identity, elbas: bool, t: Thermal) {
        {
            let mut k = self.identified.lock();
            k.id = Some(id);
            k.ident = Some(ident);
        }
        self.elbas.store(elbas, Relaxed);
        self.thermal.store(t.to_bits(), Relaxed);
    }

    /// True for the first bring-up that identified the controller, once.
    pub(super) fn first_identify(&self) -> bool {
        !self.once_identified.xchg(true, Relaxed)
    }

    /// NVM command set limits (zero: not reported).
    pub(super) fn nvm(&self) -> NvmCtrlLimits {
        self.identified.lock().nvm
    }

    pub(super) fn set_nvm(&self, nvm: NvmCtrlLimits) {
        self.identified.lock().nvm = nvm;
    }

    /// The Commands Supported and Effects the first bring-up read.
    pub(super) fn effects(&self) -> Option<Arc<Effects>> {
        self.identified.lock().effects.clone()
    }

    pub(super) fn has_effects(&self) -> bool {
        self.identified.lock().effects.is_some()
    }

    pub(super) fn set_effects(&self, e: Arc<Effects>) {
        self.identified.lock().effects = Some(e);
    }

    /// Whether the controller reports extended LBA formats (CTRATT.ELBAS).
    pub(super) fn elbas(&self) -> bool {
        self.elbas.load(Relaxed)
    }

    /// WCTEMP and CCTEMP as the last Identify Controller reported them.
    pub(crate) fn thermal(&self) -> Thermal {
        Thermal::from_bits(self.thermal.load(Relaxed))
    }

    /// How long a normal shutdown may take, in milliseconds.
    pub(super) fn shutdown_ms(&self) -> u32 {
        self.shutdown_secs.load(Relaxed).saturating_mul(1000)
    }

    pub(super) fn set_shutdown_secs(&self, secs: u32) {
        self.shutdown_secs.store(secs, Relaxed);
    }

    /// Controller memory page size in bytes.
    pub(super) fn page_size(&self) -> usize {
        self.page_size.load(Relaxed)
    }

    /// Largest data transfer in bytes.
    pub(crate) fn max_transfer(&self) -> u32 {
        self.max_transfer.load(Relaxed)
    }

    /// Largest transfer in 512-byte sectors.
    pub(super) fn max_hw_sectors(&self) -> u32 {
        self.max_hw_sectors.load(Relaxed)
    }

    /// Records the transfer limit (`max_bytes`) and page size bring-up chose.
    pub(super) fn set_transfer(&self, max_bytes: usize, page_size: usize) {
        self.max_transfer
            .store(max_bytes.min(u32::MAX as usize) as u32, Relaxed);
        self.max_hw_sectors.store(
            (max_bytes >> kernel::block::SECTOR_SHIFT).min(u32::MAX as usize) as u32,
            Relaxed,
        );
        self.page_size.store(page_size, Relaxed);
    }

    /// Queues on the controller, admin queue included (C: `queue_count`).
    pub(crate) fn queue_count(&self) -> u32 {
        self.queue_count.load(Relaxed)
    }

    /// I/O queue size, 0's based (C: `sqsize`).
    pub(crate) fn sqsize(&self) -> u32 {
        self.sqsize.load(Relaxed)
    }

    /// Records the `nr` I/O queues of `depth` entries now live.
    pub(super) fn set_io_queues(&self, nr: usize, depth: u16) {
        self.queue_count.store(
            u32::try_from(nr).unwrap_or(u32::MAX).saturating_add(1),
            Relaxed,
        );
        self.sqsize
            .store(u32::from(depth).saturating_sub(1), Relaxed);
    }

    /// Notes that a command changed the controller's capabilities; true the first time
    /// since the last bring-up.
    pub(super) fn note_caps_changed(&self) -> bool {
        !self.caps_changed.xchg(true, Relaxed)
    }

    /// A bring-up read the capabilities again.
    pub(super) fn caps_read(&self) {
        self.caps_changed.store(false, Relaxed);
    }
}

#[kunit_tests(rust_nvme_ctrl_facts)]
mod tests {
    use super::*;

    #[test]
    fn what_bring_up_records_reads_back() -> Result {
        let f = KBox::pin_init(Facts::new(5), GFP_KERNEL)?;
        // Nothing learnt: no CAP, no identity, the parameter's shutdown time.
        assert!(f.cap().is_none() && f.identity().is_none() && f.id().is_none());
        assert_eq!(f.shutdown_ms(), 5000);
        f.set_cap(Cap::from_raw(0x20_0000_0fff));
        assert_eq!(f.cap().map(Cap::into_raw), Some(0x20_0000_0fff));
        // The thresholds pack into one word and come back apart.
        let t = Thermal {
            wctemp: 343,
            cctemp: 373,
        };
        assert_eq!(f.thermal(), Thermal::default());
        assert_eq!(t.to_bits(), 373 << 16 | 343);
        assert_eq!(Thermal::from_bits(t.to_bits()), t);
        // Queue count includes the admin queue; sqsize is 0's based.
        f.set_io_queues(4, 1024);
        assert_eq!((f.queue_count(), f.sqsize()), (5, 1023));
        f.set_io_queues(0, 0);
        assert_eq!((f.queue_count(), f.sqsize()), (1, 0));
        // The transfer limit in bytes and in sectors; a limit past 4 GiB is capped.
        f.set_transfer(512 * 1024, 4096);
        assert_eq!((f.max_transfer(), f.max_hw_sectors()), (512 * 1024, 1024));
        f.set_transfer(usize::MAX, 4096);
        assert_eq!(f.max_transfer(), u32::MAX);
        assert_eq!(f.page_size(), 4096);
        // A capability change is reported once until the next bring-up.
        assert!(f.note_caps_changed());
        assert!(!f.note_caps_changed());
        f.caps_read();
        assert!(f.note_caps_changed());
        assert!(f.first_identify() && !f.first_identify());
        Ok(())
    }
}
