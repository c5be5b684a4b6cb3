// SPDX-License-Identifier: GPL-2.0

//! Zoned namespaces as host-managed zoned block devices: what the block layer needs of
//! one, read from the Zoned Namespace Command Set's Identify structures and its Commands
//! Supported and Effects log.
//!
//! C counterparts: `nvme_query_zone_info`, `nvme_set_max_append`,
//! `nvme_update_zone_info` (`drivers/nvme/host/zns.c`).

use crate::diag::log::ctrl_warn;

use kernel::{
    prelude::*,
    sync::Arc, //
};

use super::{
    AdminQueue,
    Ctrl, //
};
use crate::{
    abstractions::gendisk::ZonedLimits,
    spec::cmd::{
        AdminOpcode,
        Cns,
        Command,
        IoOpcode, //
    },
    spec::cmd_effects::{
        Effects,
        CSUPP, //
    },
    spec::identify::IdBuf,
    spec::identify_ns::csi,
    spec::zns::{
        self,
        IdentifyCtrlZns,
        IdentifyNsZns,
        ZoneInfoError, //
    },
};

/// What a zoned namespace is to the block layer.
pub(super) struct ZonedNs {
    /// Its zone limits; `None` when it cannot be a zoned block device (logged): its disk
    /// is hidden, as C hides it.
    pub(super) limits: Option<ZonedLimits>,
    /// Zone Append is not supported: the disk is read-only, as C forces it.
    pub(super) read_only: bool,
    /// The Commands Supported and Effects of the Zoned Namespace Command Set.
    pub(super) effects: Arc<Effects>,
}

impl Ctrl {
    /// Reads what the block layer needs of zoned namespace `nsid`, whose LBA format
    /// `lbaf` has `2^lba_shift`-byte blocks (C: `nvme_query_zone_info`).
    ///
    /// # Errors
    ///
    /// What the Identify commands and the effects log fail with.
    pub(super) fn zoned_ns(
        &self,
        admin: &AdminQueue,
        nsid: u32,
        lbaf: usize,
        lba_shift: u32,
    ) -> Result<ZonedNs> {
        let (Some(id), Some(cap)) = (self.facts.id(), self.facts.cap()) else {
            return Err(EINVAL);
        };
        let effects = self.read_effects(admin, id.lpa, csi::ZONED)?;
        // The block layer writes zoned disks through Zone Append.
        let read_only = effects.io(IoOpcode::ZoneAppend as u8) & CSUPP == 0;
        if read_only {
            ctrl_warn!(
                self.instance,
                "Zone Append not supported for zoned namespace:{}. Forcing to read-only mode\n",
                nsid
            );
        }
        let buf = self.bound_dev().and_then(|dev| IdBuf::new(&dev))?;
        self.admin_data(
            admin,
            AdminOpcode::Identify,
            Command::identify_csi(Cns::CtrlCsi, csi::ZONED, 0, buf.dma()),
            &buf,
        )?;
        let zasl = buf.read::<IdentifyCtrlZns>()?.zasl;
        let max_append =
            zns::max_zone_append_sectors(zasl, cap.mps_min_shift(), self.facts.max_hw_sectors());
        self.admin_data(
            admin,
            AdminOpcode::Identify,
            Command::identify_csi(Cns::NsCsi, csi::ZONED, nsid, buf.dma()),
            &buf,
        )?;
        let info = buf.read::<IdentifyNsZns>()?.zone_info(lbaf);
        let sectors = crate::spec::lba::sectors_per_lba_shift(lba_shift);
        let limits = match info {
            Ok(zi) => match zi
                .zone_size
                .checked_shl(sectors)
                .and_then(|s| u32::try_from(s).ok())
            {
                Some(zone_sectors) => Some(ZonedLimits {
                    zone_sectors,
                    max_open_zones: zi.max_open,
                    max_active_zones: zi.max_active,
                    max_zone_append_sectors: max_append,
                }),
                None => {
                    self.warn_zone_size(zi.zone_size, nsid);
                    None
                }
            },
            Err(ZoneInfoError::Operations(zoc)) => {
                ctrl_warn!(
                    self.instance,
                    "zone operations:{:x} not supported for namespace:{}\n",
                    zoc,
                    nsid
                );
                None
            }
            Err(ZoneInfoError::ZoneSize(size)) => {
                self.warn_zone_size(size, nsid);
                None
            }
        };
        Ok(ZonedNs {
            limits,
            read_only,
            effects,
        })
    }

    /// C's message for a zone size the block layer cannot take.
    fn warn_zone_size(&self, size: u64, nsid: u32) {
        ctrl_warn!(
            self.instance,
            "invalid zone size: {} for namespace: {}\n",
            size,
            nsid
        );
    }
}
