// SPDX-License-Identifier: GPL-2.0

//! Hardware monitoring devices with temperature channels (C: `hwmon_device_register_with_info`).
//!
//! C header: [`include/linux/hwmon.h`](srctree/include/linux/hwmon.h)
//!
//! 7.3's bindings do not include `hwmon.h`: its types, functions and numbers come from
//! the module's own bindgen run ([`super::c_abi`]).

use core::{
    marker::PhantomData,
    ptr, //
};

use kernel::{
    bindings,
    device::Device,
    ffi::{
        c_char,
        c_int,
        c_long,
        c_void, //
    },
    prelude::*,
    sync::Arc, //
};

use super::c_abi::{
    self as c,
    hwmon_channel_info,
    hwmon_chip_info,
    hwmon_device_register_with_info,
    hwmon_device_unregister,
    hwmon_ops,
    hwmon_sensor_types, //
};
use crate::abstractions::device;

/// `enum hwmon_sensor_types`: `hwmon_temp`.
const HWMON_TEMP: hwmon_sensor_types = c::hwmon_sensor_types_hwmon_temp;

/// A temperature attribute (C: `enum hwmon_temp_attributes`, the ones used here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum TempAttr {
    /// `temp<N>_input`, millidegrees Celsius.
    Input = c::hwmon_temp_attributes_hwmon_temp_input,
    /// `temp<N>_min`.
    Min = c::hwmon_temp_attributes_hwmon_temp_min,
    /// `temp<N>_max`.
    Max = c::hwmon_temp_attributes_hwmon_temp_max,
    /// `temp<N>_crit`.
    Crit = c::hwmon_temp_attributes_hwmon_temp_crit,
    /// `temp<N>_alarm`.
    Alarm = c::hwmon_temp_attributes_hwmon_temp_alarm,
    /// `temp<N>_label`.
    Label = c::hwmon_temp_attributes_hwmon_temp_label,
}

impl TempAttr {
    /// The bit of this attribute in a channel's configuration (C: `HWMON_T_*`).
    pub(crate) const fn bit(self) -> u32 {
        1 << self as u32
    }

    fn from_raw(attr: u32) -> Option<Self> {
        [
            Self::Input,
            Self::Min,
            Self::Max,
            Self::Crit,
            Self::Alarm,
            Self::Label,
        ]
        .into_iter()
        .find(|a| *a as u32 == attr)
    }
}

/// What a temperature monitor shows: its channels and their values.
pub(crate) trait TempSensors: Send + Sync + 'static {
    /// Each channel's attributes ([`TempAttr::bit`]s), ending with a 0 (C: the
    /// `HWMON_CHANNEL_INFO(temp, ...)` list).
    const CHANNELS: &'static [u32];

    /// The permission of `attr` of `channel` (0: not shown), asked once at registration.
    fn mode(&self, attr: TempAttr, channel: u32) -> u16;
    /// Reads a numeric attribute (millidegrees Celsius, or 0/1 for an alarm). May sleep.
    fn read(&self, attr: TempAttr, channel: u32) -> Result<i64>;
    /// Writes a numeric attribute. May sleep.
    fn write(&self, attr: TempAttr, channel: u32, value: i64) -> Result;
    /// The label of `channel`.
    fn label(&self, channel: u32) -> Option<&'static CStr>;
}

/// The `hwmon_chip_info` of a [`TempSensors`] type.
struct Chip<T: TempSensors>(PhantomData<T>);

impl<T: TempSensors> Chip<T> {
    const OPS: hwmon_ops = hwmon_ops {
        visible: 0,
        is_visible: Some(Self::is_visible),
        read: Some(Self::read),
        read_string: Some(Self::read_string),
        write: Some(Self::write),
    };
    const TEMP: hwmon_channel_info = hwmon_channel_info {
        type_: HWMON_TEMP,
        config: T::CHANNELS.as_ptr(),
    };
    const INFO: [*const hwmon_channel_info; 2] = [&Self::TEMP, ptr::null()];
    const CHIP: hwmon_chip_info = hwmon_chip_info {
        ops: &Self::OPS,
        info: &Self::INFO as *const [*const hwmon_channel_info; 2]
            as *const *const hwmon_channel_info,
    };

    /// The `T` a callback is for.
    ///
    /// # Safety
    ///
    /// `data` is the driver data of a device registered by [`Registration::new`] for a
    /// `T`, during one of its callbacks.
    unsafe fn data<'a>(data: *const c_void) -> &'a T {
        // SAFETY: Per the function's safety requirements, `data` is `Arc::as_ptr` of the
        // `T` the registration keeps alive until the device is unregistered, after which
        // no callback runs.
        unsafe { &*data.cast::<T>() }
    }

    /// A temperature attribute of a channel, from the hwmon core's numbers.
    fn temp(ty: hwmon_sensor_types, attr: u32, channel: c_int) -> Option<(TempAttr, u32)> {
        if ty != HWMON_TEMP {
            return None;
        }
        Some((TempAttr::from_raw(attr)?, u32::try_from(channel).ok()?))
    }

    /// The `T` and the attribute a `read` or `write` callback is for.
    ///
    /// # Safety
    ///
    /// `dev` is a device of [`Registration`] for a `T`, during one of its callbacks.
    unsafe fn target<'a>(
        dev: *mut bindings::device,
        ty: hwmon_sensor_types,
        attr: u32,
        channel: c_int,
    ) -> Result<(&'a T, TempAttr, u32)> {
        let (attr, ch) = Self::temp(ty, attr, channel).ok_or(EOPNOTSUPP)?;
        // SAFETY: Per the function's safety requirements the device's driver data is the
        // registration's `T`.
        let t = unsafe { Self::data(bindings::dev_get_drvdata(dev)) };
        Ok((t, attr, ch))
    }

    /// # Safety
    ///
    /// Called by the hwmon core with the driver data of a device of [`Registration`].
    unsafe extern "C" fn is_visible(
        data: *const c_void,
        ty: hwmon_sensor_types,
        attr: u32,
        channel: c_int,
    ) -> c::umode_t {
        let Some((attr, ch)) = Self::temp(ty, attr, channel) else {
            return 0;
        };
        // SAFETY: Per the function's safety requirements.
        unsafe { Self::data(data) }.mode(attr, ch)
    }

    /// # Safety
    ///
    /// Called by the hwmon core for a device of [`Registration`]; `val` is writable.
    unsafe extern "C" fn read(
        dev: *mut bindings::device,
        ty: hwmon_sensor_types,
        attr: u32,
        channel: c_int,
        val: *mut c_long,
    ) -> c_int {
        // SAFETY: Per the function's safety requirements.
        let r = unsafe { Self::target(dev, ty, attr, channel) };
        let v = r.and_then(|(t, attr, ch)| t.read(attr, ch));
        match v.and_then(|v| c_long::try_from(v).map_err(|_| ERANGE)) {
            Ok(v) => {
                // SAFETY: Per the function's safety requirements.
                unsafe { *val = v };
                0
            }
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the hwmon core for a device of [`Registration`]; `s` is writable.
    unsafe extern "C" fn read_string(
        dev: *mut bindings::device,
        _ty: hwmon_sensor_types,
        _attr: u32,
        channel: c_int,
        s: *mut *const c_char,
    ) -> c_int {
        // SAFETY: As for `read`.
        let t = unsafe { Self::data(bindings::dev_get_drvdata(dev)) };
        match u32::try_from(channel).ok().and_then(|c| t.label(c)) {
            Some(l) => {
                // SAFETY: Per the function's safety requirements; the label is static.
                unsafe { *s = l.as_ptr().cast() };
                0
            }
            None => EOPNOTSUPP.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the hwmon core for a device of [`Registration`].
    unsafe extern "C" fn write(
        dev: *mut bindings::device,
        ty: hwmon_sensor_types,
        attr: u32,
        channel: c_int,
        val: c_long,
    ) -> c_int {
        // SAFETY: Per the function's safety requirements.
        let r = unsafe { Self::target(dev, ty, attr, channel) };
        let v = i64::try_from(val).map_err(|_| ERANGE);
        match r.and_then(|(t, attr, ch)| t.write(attr, ch, v?)) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }
}

/// A registered hwmon device showing a `T` (unregistered on drop).
///
/// # Invariants
///
/// `dev` was returned by `hwmon_device_register_with_info` with `Arc::as_ptr(&data)` as
/// driver data and `Chip<T>`'s description, and stays registered until drop.
pub(crate) struct Registration<T: TempSensors> {
    dev: *mut bindings::device,
    /// Kept alive for the callbacks until the device is unregistered.
    _data: Arc<T>,
}

// SAFETY: The hwmon device is internally locked; `data` is an `Arc` of a `Send + Sync` `T`.
unsafe impl<T: TempSensors> Send for Registration<T> {}
// SAFETY: `&self` gives access to nothing but `data`.
unsafe impl<T: TempSensors> Sync for Registration<T> {}

impl<T: TempSensors> Registration<T> {
    /// Registers `/sys/class/hwmon/hwmon<N>` named `name` under `parent`, showing `data`.
    ///
    /// # Errors
    ///
    /// `EINVAL` if `T::CHANNELS` does not end with 0; what the hwmon core returns.
    pub(crate) fn new(parent: &Device, name: &'static CStr, data: Arc<T>) -> Result<Self> {
        if T::CHANNELS.last() != Some(&0) {
            return Err(EINVAL);
        }
        // SAFETY: `parent` is a live device (a reference) the hwmon device keeps a
        // reference to; the name is static; the chip description is a constant promoted to
        // a static (its channel list ends with 0, checked above); the driver data is the
        // `T` that `data` keeps alive until after the device is unregistered (drop), and
        // the callbacks only read it as `T`.
        let dev = unsafe {
            hwmon_device_register_with_info(
                device::as_raw(parent),
                name.as_ptr().cast(),
                Arc::as_ptr(&data).cast_mut().cast(),
                &Chip::<T>::CHIP,
                ptr::null_mut(),
            )
        };
        let dev = kernel::error::from_err_ptr(dev)?;
        // INVARIANT: Registered above with `data`.
        Ok(Self { dev, _data: data })
    }
}

impl<T: TempSensors> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: Registered (type invariant); unregistering removes the attributes and
        // waits for running callbacks, so `data` may drop after this.
        unsafe { hwmon_device_unregister(self.dev) };
    }
}
