// SPDX-License-Identifier: GPL-2.0

//! The controller's temperatures for the hardware monitor: the SMART / Health log and the
//! Temperature Threshold feature (C: `drivers/nvme/host/hwmon.c`'s admin commands).

use kernel::{
    prelude::*,
    sync::Arc, //
};

use super::{
    admin::AdminQueue,
    Ctrl, //
};
use crate::{
    spec::cmd::{
        AdminOpcode,
        Command,
        LogPage,
        NSID_ALL, //
    },
    spec::identify::IdBuf,
    spec::log_pages::{
        SmartLog,
        SMART_LOG_SIZE, //
    },
};

impl Ctrl {
    /// The admin queue, or `EAGAIN` while there is none (the controller is resetting or
    /// gone).
    fn live_admin(&self) -> Result<Arc<AdminQueue>> {
        self.admin.lock().clone().ok_or(EAGAIN)
    }

    /// Reads the SMART / Health Information log (C: `nvme_hwmon_get_smart_log`: RAE
    /// clear, as nvme.ko's hardware monitor reads it). May sleep.
    pub(crate) fn smart_log(&self) -> Result<SmartLog> {
        let admin = self.live_admin()?;
        let dev = self.bound_dev()?;
        let buf = IdBuf::new(&dev)?;
        let cmd = Command::get_log_page(LogPage::Smart, NSID_ALL, buf.dma(), SMART_LOG_SIZE, false);
        self.admin_data(&admin, AdminOpcode::GetLogPage, cmd, &buf)?;
        Ok(*buf.read::<SmartLog>()?)
    }

    /// The over (`under` false) or under temperature threshold of `sensor` (0: the
    /// Composite Temperature), kelvin (C: `nvme_get_temp_thresh`). May sleep.
    pub(crate) fn temp_threshold(&self, sensor: u8, under: bool) -> Result<u16> {
        let admin = self.live_admin()?;
        let cqe = self.admin(
            &admin,
            AdminOpcode::GetFeatures,
            Command::temp_threshold(false, sensor, under, 0),
        )?;
        // TMPTH is bits 15:0 of Dword 0.
        Ok(cqe.result as u16)
    }

    /// Sets a temperature threshold (C: `nvme_set_temp_thresh`). May sleep.
    pub(crate) fn set_temp_threshold(&self, sensor: u8, under: bool, kelvin: u16) -> Result {
        let admin = self.live_admin()?;
        self.admin(
            &admin,
            AdminOpcode::SetFeatures,
            Command::temp_threshold(true, sensor, under, kelvin),
        )
        .map(|_| ())
    }
}
