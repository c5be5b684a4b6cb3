// SPDX-License-Identifier: GPL-2.0

//! NVM subsystems as the C driver groups controllers into them (C:
//! `nvme_init_subsystem`, `nvme_validate_cntlid`, `nvme_put_subsystem`).
//!
//! Controllers that report the same subsystem NQN share one `nvme-subsys<N>` device, named
//! after the controller that created it and showing that controller's identity; each
//! member adds a link `nvme<M>`. A controller joins only with a controller ID no member
//! has, and only if it says (CMIC) that its subsystem may have several controllers;
//! otherwise it is rejected, as C rejects it. The device goes
//! with its last member; until then its instance number stays taken, so no new
//! controller is named after it while it exists (as C keeps the instance).

use crate::diag::log::ctrl_err;

use core::fmt::Write;

use kernel::{
    prelude::*,
    sync::Arc, //
};

use super::{
    instance_hold,
    instance_release,
    Ctrl, //
};
use crate::{
    abstractions::{
        class::ClassDevice,
        global::global_mutex, //
    },
    mq::NameBuf,
    spec::identify::Identity,
};

/// CMIC bit 1: the NVM subsystem may contain more than one controller.
pub(crate) const CMIC_MULTI_CTRL: u8 = 1 << 1;

/// A subsystem device `nvme-subsys<N>`, showing the identity it holds, with links
/// `nvme<M>` to the controllers that [`Self::link`] added.
struct SubsysDevice(ClassDevice<Identity>);

/// `buf` as the C string it holds.
fn cstr(buf: &NameBuf) -> Result<&CStr> {
    CStr::from_bytes_with_nul(buf.bytes()).map_err(|_| EINVAL)
}

/// The name of the link to controller `instance`: "nvme" and at most two digits
/// (`MAX_INSTANCES`), NUL terminated.
fn link_name(instance: u32) -> NameBuf {
    let mut w = NameBuf::default();
    let _ = write!(w, "nvme{}", instance);
    w
}

impl SubsysDevice {
    /// The identity the device shows.
    fn ident(&self) -> &Identity {
        self.0.data()
    }

    /// Adds the link `nvme<instance>` to `ctrl_dev`, which the caller removes with
    /// [`Self::unlink`].
    fn link(&self, ctrl_dev: &ClassDevice<Ctrl>, instance: u32) -> Result {
        self.0
            .create_link(ctrl_dev.as_ref(), cstr(&link_name(instance))?)
    }

    /// Removes the link [`Self::link`] added.
    fn unlink(&self, instance: u32) {
        if let Ok(name) = cstr(&link_name(instance)) {
            self.0.remove_link(name);
        }
    }
}

/// One subsystem and the controllers in it.
struct Entry {
    dev: SubsysDevice,
    /// The instance the device is named after (held until the device goes).
    instance: u32,
    /// (instance, controller ID) of each member.
    members: KVec<(u32, u16)>,
}

global_mutex! {
    /// Every subsystem.
    static SUBSYSTEMS: KVec<Entry> = KVec::new();
}

/// Why a controller with `cntlid` and `cmic` may not join a subsystem with `members`
/// (C: `nvme_validate_cntlid`): the member it conflicts with.
pub(crate) fn join_conflict(
    members: &[(u32, u16)],
    cntlid: u16,
    cmic: u8,
) -> Option<(&'static str, u32)> {
    for &(instance, id) in members {
        if id == cntlid {
            return Some(("duplicate cntlid with", instance));
        }
        if cmic & CMIC_MULTI_CTRL == 0 {
            return Some((
                "no multi-controller support (CMIC), subsystem has",
                instance,
            ));
        }
    }
    None
}

/// A controller's membership in its subsystem; leaving on drop.
pub(crate) struct Membership {
    instance: u32,
}

impl Membership {
    /// Puts controller `ctrl` (class device `ctrl_dev`, identity `ident`) into the
    /// subsystem of its NQN, creating the subsystem if it is the first.
    ///
    /// # Errors
    ///
    /// `EINVAL` (logged) when the subsystem refuses it; what sysfs says when the device
    /// or the link cannot be created.
    pub(crate) fn join(
        ctrl: &Ctrl,
        ctrl_dev: &ClassDevice<Ctrl>,
        ident: &Identity,
    ) -> Result<Self> {
        let instance = ctrl.instance;
        let mut list = SUBSYSTEMS.lock();
        let pos = list
            .iter()
            .position(|e| e.dev.ident().subnqn == ident.subnqn);
        let pos = match pos {
            Some(p) => {
                let e = &list[p];
                if let Some((why, other)) = join_conflict(&e.members, ident.cntlid, ident.cmic) {
                    ctrl_err!(
                        instance,
                        "cntlid {}: {} nvme{}, subsys {}; rejecting\n",
                        ident.cntlid,
                        why,
                        other,
                        ident.nqn_str()
                    );
                    return Err(EINVAL);
                }
                p
            }
            None => {
                let dev = SubsysDevice((ctrl.devices.ifaces().subsys_device)(
                    Arc::new(*ident, GFP_KERNEL)?,
                    instance,
                )?);
                list.push(
                    Entry {
                        dev,
                        instance,
                        members: KVec::new(),
                    },
                    GFP_KERNEL,
                )?;
                instance_hold(instance);
                list.len() - 1
            }
        };
        let e = &mut list[pos];
        let linked = e.dev.link(ctrl_dev, instance);
        let added =
            linked.and_then(|()| Ok(e.members.push((instance, ident.cntlid), GFP_KERNEL)?));
        if let Err(err) = added {
            if e.members.is_empty() {
                // Nobody else uses the device just created.
                Self::remove(&mut list, pos);
            }
            return Err(err);
        }
        Ok(Self { instance })
    }

    /// Unregisters the subsystem at `pos` (no members left) and frees its instance.
    fn remove(list: &mut KVec<Entry>, pos: usize) {
        if let Ok(e) = list.remove(pos) {
            let instance = e.instance;
            drop(e);
            instance_release(instance);
        }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        let mut list = SUBSYSTEMS.lock();
        let Some(pos) = list
            .iter()
            .position(|e| e.members.iter().any(|m| m.0 == self.instance))
        else {
            return;
        };
        let e = &mut list[pos];
        e.dev.unlink(self.instance);
        e.members.retain(|m| m.0 != self.instance);
        if e.members.is_empty() {
            Self::remove(&mut list, pos);
        }
    }
}

#[kunit_tests(rust_nvme_subsys)]
mod tests {
    use super::*;

    #[test]
    fn who_may_join() {
        const MULTI: u8 = CMIC_MULTI_CTRL;
        // The first controller always may.
        assert_eq!(join_conflict(&[], 0, 0), None);
        // A second one with another cntlid that says multi-controller.
        assert_eq!(join_conflict(&[(0, 0)], 1, MULTI), None);
        // The same cntlid never.
        assert_eq!(join_conflict(&[(0, 1)], 1, MULTI).map(|c| c.1), Some(0));
        // A second one that says single-controller: refused.
        assert_eq!(join_conflict(&[(3, 0)], 1, 0).map(|c| c.1), Some(3));
    }
}
