// SPDX-License-Identifier: GPL-2.0

//! The controller's temperature sensors as a hardware monitor, as nvme.ko's
//! (`NVME_HWMON`, `drivers/nvme/host/hwmon.c`): `temp1` is the Composite Temperature with
//! its thresholds, critical level and alarm, `temp2` to `temp9` the sensors the SMART /
//! Health log reports, each with its own thresholds.

use kernel::{
    device::Device,
    prelude::*,
    sync::{
        new_mutex,
        Arc,
        Mutex, //
    },
};

use crate::{
    abstractions::hwmon::{
        Registration,
        TempAttr,
        TempSensors, //
    },
    ctrl::Ctrl,
    hw::quirks::Quirks,
    spec::log_pages::{
        kelvin_to_millicelsius,
        millicelsius_to_kelvin,
        CRIT_TEMPERATURE, //
    },
};

/// Temperature Sensor fields of the SMART log (`temp2` to `temp9`).
const SENSORS: usize = 8;

/// The attributes of the Composite Temperature channel.
const COMPOSITE: u32 = TempAttr::Input.bit()
    | TempAttr::Max.bit()
    | TempAttr::Min.bit()
    | TempAttr::Crit.bit()
    | TempAttr::Label.bit()
    | TempAttr::Alarm.bit();
/// The attributes of a sensor channel.
const SENSOR: u32 =
    TempAttr::Input.bit() | TempAttr::Max.bit() | TempAttr::Min.bit() | TempAttr::Label.bit();

/// Channel labels, as C's.
const LABELS: [&CStr; SENSORS + 1] = [
    c"Composite",
    c"Sensor 1",
    c"Sensor 2",
    c"Sensor 3",
    c"Sensor 4",
    c"Sensor 5",
    c"Sensor 6",
    c"Sensor 7",
    c"Sensor 8",
];

/// The mode of a temperature threshold of `channel` (C: `nvme_hwmon_is_visible`): the
/// Composite Temperature's when the controller reports WCTEMP, a sensor's when the SMART
/// log reports it, unless `NO_SECONDARY_TEMP_THRESH`; read-only under
/// `NO_TEMP_THRESH_CHANGE`.
fn threshold_mode(channel: u32, wctemp: bool, present: bool, quirks: Quirks) -> u16 {
    let shown = if channel == 0 {
        wctemp
    } else {
        present && !quirks.has(Quirks::NO_SECONDARY_TEMP_THRESH)
    };
    match (shown, quirks.has(Quirks::NO_TEMP_THRESH_CHANGE)) {
        (false, _) => 0,
        (true, true) => 0o444,
        (true, false) => 0o644,
    }
}

/// One controller's monitor.
#[pin_data]
struct Monitor {
    ctrl: Arc<Ctrl>,
    /// Which sensors the SMART log reported at registration (C decides visibility from
    /// the log it read then).
    present: [bool; SENSORS],
    /// Serialises SMART log reads (C: `read_lock`). Lock order: innermost but for the
    /// controller's admin path.
    #[pin]
    read_lock: Mutex<()>,
}

impl Monitor {
    /// The threshold's sensor selector, for a channel that has thresholds.
    fn sensor(channel: u32) -> Result<u8> {
        u8::try_from(channel)
            .ok()
            .filter(|c| usize::from(*c) <= SENSORS)
            .ok_or(EINVAL)
    }
}

impl TempSensors for Monitor {
    const CHANNELS: &'static [u32] = &[
        COMPOSITE, SENSOR, SENSOR, SENSOR, SENSOR, SENSOR, SENSOR, SENSOR, SENSOR, 0,
    ];

    fn mode(&self, attr: TempAttr, channel: u32) -> u16 {
        let present = channel == 0
            || channel
                .checked_sub(1)
                .and_then(|i| self.present.get(i as usize))
                .copied()
                .unwrap_or(false);
        let thermal = self.ctrl.facts().thermal();
        match attr {
            TempAttr::Crit if channel == 0 && thermal.cctemp != 0 => 0o444,
            TempAttr::Max | TempAttr::Min => {
                threshold_mode(channel, thermal.wctemp != 0, present, self.ctrl.quirks)
            }
            TempAttr::Alarm if channel == 0 => 0o444,
            TempAttr::Input | TempAttr::Label if present => 0o444,
            _ => 0,
        }
    }

    fn read(&self, attr: TempAttr, channel: u32) -> Result<i64> {
        match attr {
            TempAttr::Max | TempAttr::Min => {
                let k = self
                    .ctrl
                    .temp_threshold(Self::sensor(channel)?, attr == TempAttr::Min)?;
                return Ok(kelvin_to_millicelsius(k));
            }
            TempAttr::Crit => {
                return Ok(kelvin_to_millicelsius(self.ctrl.facts().thermal().cctemp))
            }
            _ => {}
        }
        let _g = self.read_lock.lock();
        let log = self.ctrl.smart_log()?;
        match attr {
            TempAttr::Input if channel == 0 => Ok(kelvin_to_millicelsius(log.composite())),
            TempAttr::Input => Ok(kelvin_to_millicelsius(log.sensor(channel))),
            TempAttr::Alarm => Ok(i64::from(log.critical_warning & CRIT_TEMPERATURE != 0)),
            _ => Err(EOPNOTSUPP),
        }
    }

    fn write(&self, attr: TempAttr, channel: u32, value: i64) -> Result {
        match attr {
            TempAttr::Max | TempAttr::Min => self.ctrl.set_temp_threshold(
                Self::sensor(channel)?,
                attr == TempAttr::Min,
                millicelsius_to_kelvin(value),
            ),
            _ => Err(EOPNOTSUPP),
        }
    }

    fn label(&self, channel: u32) -> Option<&'static CStr> {
        LABELS.get(channel as usize).copied()
    }
}

/// Registers `ctrl`'s monitor `nvme` under `parent` (its class device), from the SMART
/// log read now (C: `nvme_hwmon_init`); for [`crate::ctrl::Interfaces`].
pub(crate) fn register(ctrl: Arc<Ctrl>, parent: &Device) -> Result<KBox<dyn Send + Sync>> {
    let log = ctrl.smart_log()?;
    let mut present = [false; SENSORS];
    for (i, p) in present.iter_mut().enumerate() {
        *p = log.sensor(i as u32 + 1) != 0;
    }
    let mon = Arc::pin_init(
        pin_init!(Monitor {
            ctrl,
            present,
            read_lock <- new_mutex!(()),
        }),
        GFP_KERNEL,
    )?;
    let reg = Registration::new(parent, c"nvme", mon)?;
    Ok(KBox::new(reg, GFP_KERNEL)?)
}

#[kunit_tests(rust_nvme_hwmon)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_as_c() {
        let none = Quirks::default();
        assert_eq!(threshold_mode(0, true, true, none), 0o644);
        assert_eq!(threshold_mode(0, false, true, none), 0);
        assert_eq!(threshold_mode(3, false, true, none), 0o644);
        assert_eq!(threshold_mode(3, true, false, none), 0);
        // Thresholds that must not change are shown read-only.
        assert_eq!(
            threshold_mode(0, true, true, Quirks::NO_TEMP_THRESH_CHANGE),
            0o444
        );
        assert_eq!(
            threshold_mode(2, false, true, Quirks::NO_TEMP_THRESH_CHANGE),
            0o444
        );
        // No secondary thresholds: only the Composite Temperature's.
        assert_eq!(
            threshold_mode(2, true, true, Quirks::NO_SECONDARY_TEMP_THRESH),
            0
        );
        assert_eq!(
            threshold_mode(0, true, true, Quirks::NO_SECONDARY_TEMP_THRESH),
            0o644
        );
    }
}
