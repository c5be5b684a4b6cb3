// SPDX-License-Identifier: GPL-2.0

//! A disk's block device operations beyond blk-mq (C: `struct block_device_operations`):
//! the driver's trait and the table the block layer calls through.
//!
//! C header: [`include/linux/blkdev.h`](srctree/include/linux/blkdev.h)

use core::{
    ffi::c_int,
    marker::PhantomData,
    ptr, //
};

use kernel::{
    bindings,
    prelude::*, //
};

use super::{
    DiskData,
    DiskView, //
};
use crate::abstractions::{blk_mq::Operations, sysfs::GroupsRef};

/// `BLK_OPEN_WRITE`: the block device was opened for writing.
const BLK_OPEN_WRITE: bindings::blk_mode_t = 1 << 1;

/// What a disk's block device does beyond blk-mq (C: `struct block_device_operations`).
pub(crate) trait DiskOperations: Operations {
    /// The sysfs attribute groups of every disk.
    const GROUPS: GroupsRef<DiskData<Self>>;

    /// An ioctl on an open block device of the disk (C: `ioctl`); `write` when it was
    /// opened for writing, `partition` when it is a partition.
    fn ioctl(
        disk: DiskView<'_, Self>,
        cmd: u32,
        arg: usize,
        write: bool,
        partition: bool,
    ) -> Result<i32>;

    /// Reports up to `nr_zones` zones of a zoned disk from the zone containing `sector`
    /// through `report` (C: `report_zones`); returns how many were reported.
    fn report_zones(
        _disk: DiskView<'_, Self>,
        _sector: u64,
        _nr_zones: u32,
        _report: &mut ZoneReport<'_>,
    ) -> Result<u32> {
        Err(EOPNOTSUPP)
    }
}

/// A zone of a zoned disk, sequential write required, as the block layer describes it
/// (C: `struct blk_zone`), in 512-byte sectors.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BlkZone {
    /// First sector.
    pub(crate) start: u64,
    /// Length: the zone size.
    pub(crate) len: u64,
    /// Usable sectors from `start`.
    pub(crate) capacity: u64,
    /// Write pointer.
    pub(crate) wp: u64,
    /// Condition (`BLK_ZONE_COND_*`).
    pub(crate) cond: u8,
}

/// Where `report_zones` puts the zones it finds (C: `struct blk_report_zones_args`).
///
/// # Invariants
///
/// `disk` is the gendisk and `args` the arguments of a `report_zones` call in progress.
pub(crate) struct ZoneReport<'a> {
    disk: *mut bindings::gendisk,
    args: *mut bindings::blk_report_zones_args,
    _p: PhantomData<&'a mut ()>,
}

impl ZoneReport<'_> {
    /// Reports `zone` as the `idx`-th of this call (C: `disk_report_zone`).
    ///
    /// # Errors
    ///
    /// What the block layer's callback returns (it stops the report).
    pub(crate) fn report(&mut self, idx: u32, zone: &BlkZone) -> Result {
        // All-zero is a valid `blk_zone` (no flags, reserved bytes zero).
        let mut z: bindings::blk_zone = pin_init::zeroed();
        z.start = zone.start;
        z.len = zone.len;
        z.wp = zone.wp;
        z.capacity = zone.capacity;
        z.cond = zone.cond;
        z.type_ = bindings::blk_zone_type_BLK_ZONE_TYPE_SEQWRITE_REQ as u8;
        // SAFETY: By the invariant `disk` and `args` are those of a call in progress; `z`
        // is a valid zone the callee copies.
        kernel::error::to_result(unsafe {
            bindings::disk_report_zone(self.disk, &mut z, idx, self.args)
        })
    }
}

/// The `block_device_operations` trampolines of a [`GenDisk<T>`].
pub(super) struct BdevVTable<T: DiskOperations>(PhantomData<T>);

impl<T: DiskOperations> BdevVTable<T> {
    /// # Safety
    ///
    /// `bdev` is an open block device of a `GenDisk<T>` (the open keeps the gendisk alive).
    unsafe extern "C" fn ioctl(
        bdev: *mut bindings::block_device,
        mode: bindings::blk_mode_t,
        cmd: u32,
        arg: usize,
    ) -> c_int {
        // SAFETY: Per the function's safety requirements. The partition number in
        // `__bd_flags` is set when the block device is created and never changes.
        let (disk, partition) = unsafe {
            (
                DiskView::<T>::from_raw((*bdev).bd_disk),
                ptr::read_volatile(&raw const (*bdev).__bd_flags.counter) as u32
                    & bindings::BD_PARTNO
                    != 0,
            )
        };
        match T::ioctl(disk, cmd, arg, mode & BLK_OPEN_WRITE != 0, partition) {
            Ok(v) => v,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// `disk` is a `GenDisk<T>`'s gendisk, alive during the call (the block layer calls
    /// this while it holds the disk); `args` are the call's report arguments.
    unsafe extern "C" fn report_zones(
        disk: *mut bindings::gendisk,
        sector: u64,
        nr_zones: u32,
        args: *mut bindings::blk_report_zones_args,
    ) -> c_int {
        // SAFETY: Per the function's safety requirements.
        let view = unsafe { DiskView::<T>::from_raw(disk) };
        // INVARIANT: the arguments of this call, which `report` lives within.
        let mut report = ZoneReport {
            disk,
            args,
            _p: PhantomData,
        };
        match T::report_zones(view, sector, nr_zones, &mut report) {
            Ok(n) => c_int::try_from(n).unwrap_or(c_int::MAX),
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// `disk` is a `GenDisk<T>`'s gendisk whose last reference is gone.
    unsafe extern "C" fn free_disk(disk: *mut bindings::gendisk) {
        // SAFETY: `GenDisk::new` set `private_data` to a leaked `KBox<T::QueueData>`; the
        // block layer calls this once, after the queue's last use.
        drop(unsafe { KBox::from_raw((*disk).private_data.cast::<T::QueueData>()) });
    }

    const VTABLE: bindings::block_device_operations = bindings::block_device_operations {
        // An open disk pins the module.
        owner: &raw const bindings::__this_module as *mut _,
        ioctl: Some(Self::ioctl),
        report_zones: Some(Self::report_zones),
        free_disk: Some(Self::free_disk),
        // All-zero is a valid table (every other callback optional).
        ..pin_init::zeroed()
    };

    pub(super) const fn build() -> &'static bindings::block_device_operations {
        &Self::VTABLE
    }
}
