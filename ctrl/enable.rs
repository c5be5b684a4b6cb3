// SPDX-License-Identifier: GPL-2.0

//! Enabling, disabling and shutting down the controller through its registers: CAP, the
//! CC writes and the bounded waits on CSTS that follow them (C: `nvme_enable_ctrl`,
//! `nvme_disable_ctrl`, `nvme_wait_ready`).

use kernel::{
    io::{
        poll::read_poll_timeout,
        Io, //
    },
    num::Bounded,
    prelude::*,
    time::{
        delay::fsleep,
        Delta, //
    },
};

use super::{
    Ctrl,
    POLL_INTERVAL_US, //
};
use crate::{
    diag::log::ctrl_err,
    hw::quirks::Quirks,
    spec::regs::{
        self,
        Cap,
        Shn,
        Shst,
        CC,
        CSTS, //
    },
};

/// How long a `delay_before_chk_rdy` controller needs after CC.EN clears before CSTS.RDY
/// means anything (C: `NVME_QUIRK_DELAY_AMOUNT`, found by experiment).
const DELAY_BEFORE_CHK_RDY_MS: i64 = 2300;

impl Ctrl {
    pub(super) fn csts(&self) -> Result<CSTS> {
        let bar = self.bar.try_access().ok_or(ENODEV)?;
        Ok(bar.read(regs::CSTS))
    }

    pub(super) fn read_cap(&self) -> Result<Cap> {
        let bar = self.bar.try_access().ok_or(ENODEV)?;
        let lo = bar.read(regs::CAP_LO).value().get();
        let hi = bar.read(regs::CAP_HI).value().get();
        // All ones: the device is gone. All zeroes: nothing decodes the BAR (MQES 0 is
        // not a valid queue size either).
        if (lo == regs::REG_DEAD && hi == regs::REG_DEAD) || (lo == 0 && hi == 0) {
            ctrl_err!(
                self.instance,
                "controller not responding (CAP reads {:#x})\n",
                (u64::from(hi) << 32) | u64::from(lo)
            );
            return Err(ENODEV);
        }
        Ok(Cap::from_halves(lo, hi))
    }

    /// Waits, bounded by `timeout_ms`, until CSTS satisfies `done`.
    ///
    /// # Errors
    ///
    /// `ENODEV` if the device is gone (CSTS reads all ones), `EIO` on CSTS.CFS,
    /// `ETIMEDOUT` when the time runs out.
    pub(super) fn wait_csts(
        &self,
        what: &str,
        timeout_ms: u32,
        done: impl Fn(CSTS) -> bool,
    ) -> Result {
        let r = read_poll_timeout(
            || self.csts(),
            |c| c.into_raw() == regs::REG_DEAD || c.cfs() || done(*c),
            Delta::from_micros(POLL_INTERVAL_US),
            Delta::from_millis(i64::from(timeout_ms)),
        );
        match r {
            Ok(c) if c.into_raw() == regs::REG_DEAD => {
                dev_err!(self.dev(), "device gone while waiting for {}\n", what);
                Err(ENODEV)
            }
            Ok(c) if c.cfs() && !done(c) => {
                dev_err!(
                    self.dev(),
                    "controller fatal status (CSTS.CFS) while waiting for {}\n",
                    what
                );
                Err(EIO)
            }
            Ok(_) => Ok(()),
            Err(e) => {
                dev_err!(
                    self.dev(),
                    "timed out after {} ms waiting for {}\n",
                    timeout_ms,
                    what
                );
                Err(e)
            }
        }
    }

    /// Clears CC.EN and waits for CSTS.RDY to clear (C: `nvme_disable_ctrl`).
    pub(super) fn disable(&self, cap: Cap) -> Result {
        {
            let bar = self.bar.try_access().ok_or(ENODEV)?;
            let cc = bar.read(regs::CC);
            if !cc.en() && !bar.read(regs::CSTS).rdy() {
                return Ok(());
            }
            bar.write_reg(cc.with_en(false));
        }
        if self.quirks.has(Quirks::DELAY_BEFORE_CHK_RDY) {
            // Such controllers misreport CSTS.RDY right after CC.EN clears (C's delay).
            fsleep(Delta::from_millis(DELAY_BEFORE_CHK_RDY_MS));
        }
        self.wait_csts(
            "CSTS.RDY to clear",
            cap.timeout_ms().max(regs::CAP_TO_UNIT_MS),
            |c| !c.rdy(),
        )
    }

    /// Programs CC and waits for CSTS.RDY (C: `nvme_enable_ctrl`).
    pub(super) fn enable(&self, cap: Cap, page_shift: u32) -> Result {
        let mps = page_shift.checked_sub(regs::MPS_BASE_SHIFT).ok_or(EINVAL)?;
        let cc = CC::zeroed()
            .try_with_css(regs::cc_css(cap))?
            .with_ams(Bounded::<u32, 3>::new::<{ regs::CC_AMS_RR }>())
            .try_with_mps(mps)?
            .with_const_iosqes::<{ regs::SQES_LOG2 }>()
            .with_const_iocqes::<{ regs::CQES_LOG2 }>();
        {
            let bar = self.bar.try_access().ok_or(ENODEV)?;
            bar.write_reg(cc);
            bar.write_reg(cc.with_en(true));
        }
        self.wait_csts(
            "CSTS.RDY",
            cap.timeout_ms().max(regs::CAP_TO_UNIT_MS),
            |c| c.rdy(),
        )
    }

    /// Normal shutdown: CC.SHN, then wait for CSTS.SHST complete (C: `nvme_disable_ctrl`).
    pub(super) fn shutdown(&self) -> Result {
        {
            let bar = self.bar.try_access().ok_or(ENODEV)?;
            let cc = bar.read(regs::CC);
            if !cc.en() {
                return Ok(());
            }
            bar.write_reg(cc.with_shn(Shn::Normal));
        }
        let ms = self.facts.shutdown_ms();
        self.wait_csts("shutdown (CSTS.SHST)", ms, |c| {
            c.shst() == Ok(Shst::Complete)
        })
    }
}
