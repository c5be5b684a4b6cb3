// SPDX-License-Identifier: GPL-2.0

//! Log page layouts the driver reads itself (NVMe Base Specification 2.0, §5.16.1) and the
//! temperature units they use.

use kernel::{
    prelude::*,
    transmute, //
};

/// SMART / Health Information (Log Identifier 02h, Figure 207), the fields the driver
/// reads: critical warnings and temperatures. Multi-byte fields are little-endian.
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Zeroable)]
pub(crate) struct SmartLog {
    /// Critical Warning (bit 1: a temperature is outside a threshold).
    pub(crate) critical_warning: u8,
    /// Composite Temperature, kelvin (bytes 1-2, unaligned).
    pub(crate) temperature: [u8; 2],
    rsvd3: [u8; 197],
    /// Temperature Sensor 1 to 8, kelvin; 0 when not implemented.
    pub(crate) temp_sensor: [u16; 8],
    rsvd216: [u8; 296],
}
kernel::static_assert!(core::mem::size_of::<SmartLog>() == SMART_LOG_SIZE as usize);
kernel::static_assert!(core::mem::offset_of!(SmartLog, temp_sensor) == 200);

// SAFETY: Plain bytes and integers laid out without padding (`IntoBytes` derived above
// checks that): every byte is initialised and any bit pattern is valid.
unsafe impl transmute::AsBytes for SmartLog {}
// SAFETY: As above.
unsafe impl transmute::FromBytes for SmartLog {}

/// Size of the SMART / Health Information log.
pub(crate) const SMART_LOG_SIZE: u32 = 512;

/// Critical Warning bit: a temperature is above an over or below an under threshold.
pub(crate) const CRIT_TEMPERATURE: u8 = 1 << 1;

impl SmartLog {
    /// The Composite Temperature, kelvin.
    pub(crate) fn composite(&self) -> u16 {
        u16::from_le_bytes(self.temperature)
    }

    /// Temperature Sensor `n` (1 to 8), kelvin; 0 when not implemented or `n` is out of
    /// range.
    pub(crate) fn sensor(&self, n: u32) -> u16 {
        n.checked_sub(1)
            .and_then(|i| self.temp_sensor.get(i as usize))
            .map_or(0, |t| u16::from_le(*t))
    }
}

/// 0 °C in millikelvin (C: `ABSOLUTE_ZERO_MILLICELSIUS`, negated).
const ZERO_CELSIUS_MILLIKELVIN: i64 = 273_150;

/// Kelvin to millidegrees Celsius (C: `kelvin_to_millicelsius`).
pub(crate) fn kelvin_to_millicelsius(k: u16) -> i64 {
    i64::from(k) * 1000 - ZERO_CELSIUS_MILLIKELVIN
}

/// Millidegrees Celsius to kelvin, rounded to the nearest (C: `millicelsius_to_kelvin`),
/// clamped to what a 16-bit threshold field holds.
pub(crate) fn millicelsius_to_kelvin(mc: i64) -> u16 {
    let mk = mc.saturating_add(ZERO_CELSIUS_MILLIKELVIN);
    // Round half away from zero, as C's DIV_ROUND_CLOSEST.
    let k = if mk >= 0 {
        mk.saturating_add(500) / 1000
    } else {
        mk.saturating_sub(500) / 1000
    };
    k.clamp(0, i64::from(u16::MAX)) as u16
}

#[kunit_tests(rust_nvme_log_pages)]
mod tests {
    use super::*;

    #[test]
    fn temperatures() {
        assert_eq!(kelvin_to_millicelsius(273), -150);
        assert_eq!(kelvin_to_millicelsius(323), 49_850);
        assert_eq!(millicelsius_to_kelvin(49_850), 323);
        assert_eq!(millicelsius_to_kelvin(50_000), 323);
        assert_eq!(millicelsius_to_kelvin(-300_000), 0);
        assert_eq!(millicelsius_to_kelvin(i64::MAX), u16::MAX);
        let mut log: SmartLog = pin_init::zeroed();
        log.temperature = 323u16.to_le_bytes();
        log.temp_sensor[1] = 300u16.to_le();
        assert_eq!(
            (log.composite(), log.sensor(2), log.sensor(1)),
            (323, 300, 0)
        );
        assert_eq!((log.sensor(0), log.sensor(9)), (0, 0));
    }
}
