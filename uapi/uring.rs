// SPDX-License-Identifier: GPL-2.0

//! NVMe passthrough through io_uring (`IORING_OP_URING_CMD`), as nvme.ko serves it:
//! `NVME_URING_CMD_IO` and `_IO_VEC` on `/dev/ng<N>n<M>` (C: `nvme_ns_chr_uring_cmd`),
//! `NVME_URING_CMD_ADMIN` and `_ADMIN_VEC` on `/dev/nvme<N>` (C: `nvme_dev_uring_cmd`).
//!
//! UAPI: [`include/uapi/linux/nvme_ioctl.h`](srctree/include/uapi/linux/nvme_ioctl.h);
//! C counterpart: `nvme_uring_cmd_io` in `drivers/nvme/host/ioctl.c`.
//!
//! The command (`struct nvme_uring_cmd`, in a 128-byte SQE) is read once, then checked
//! exactly as the synchronous ioctls check theirs (`crate::uapi::ioctl`: reserved fields,
//! namespace ID, permission rules, data and metadata lengths). I/O commands become
//! passthrough requests on the namespace's queue issued without waiting; their CQE
//! (`res` the NVMe status field or an errno, `res2` the 64-bit result) is posted from
//! the submitter's task. Admin commands run on the driver's admin queue, which is not a
//! blk-mq queue: issued without blocking they get `EAGAIN`, so io_uring runs them from a
//! worker of the ring that may sleep (bounded by the command's timeout), and complete
//! there.

use core::mem::offset_of;

use kernel::{
    ioctl::_IOWR,
    prelude::*,
    sync::Arc, //
};

use crate::{
    abstractions::io_uring::{
        IoUringCmd,
        Queued, //
    },
    ctrl::{
        Ctrl,
        DiskView, //
    },
    spec::cmd::Command,
    uapi::ioctl::{
        admin_user_cmd,
        prepare_io,
        Opener,
        UserData, //
    },
    uapi::nvme_ioctl::PassthruCmd,
};

/// `struct nvme_uring_cmd`: the layout of `struct nvme_passthru_cmd` with `rsvd2` where
/// that has `result` (ignored, as C ignores it): 72 bytes.
type UringCmd = PassthruCmd;
kernel::static_assert!(size_of::<UringCmd>() == 72);
kernel::static_assert!(offset_of!(UringCmd, timeout_ms) == 64);

/// The ioctl type of the NVMe driver.
const IOCTL_TYPE: u32 = b'N' as u32;

/// `NVME_URING_CMD_IO`: an I/O command on a namespace.
const NVME_URING_CMD_IO: u32 = _IOWR::<UringCmd>(IOCTL_TYPE, 0x80);
/// `NVME_URING_CMD_IO_VEC`: as `_IO`, `addr` an array of `data_len` iovecs.
const NVME_URING_CMD_IO_VEC: u32 = _IOWR::<UringCmd>(IOCTL_TYPE, 0x81);
/// `NVME_URING_CMD_ADMIN`: an admin command on the controller.
const NVME_URING_CMD_ADMIN: u32 = _IOWR::<UringCmd>(IOCTL_TYPE, 0x82);
/// `NVME_URING_CMD_ADMIN_VEC`: as `_ADMIN`, with an iovec array.
const NVME_URING_CMD_ADMIN_VEC: u32 = _IOWR::<UringCmd>(IOCTL_TYPE, 0x83);

/// Reads the command; `EOPNOTSUPP` without 128-byte SQEs and 32-byte CQEs (C:
/// `nvme_uring_cmd_checks`).
fn read(ucmd: &IoUringCmd<'_>) -> Result<UringCmd> {
    if !ucmd.big_sqe_cqe() {
        return Err(EOPNOTSUPP);
    }
    let mut p: UringCmd = ucmd.sqe128()?;
    // `rsvd2`: not an input.
    p.result = 0;
    Ok(p)
}

/// An io_uring command on `/dev/ng<N>n<M>` (C: `nvme_ns_uring_cmd`); `writable`: the
/// file is open for writing.
pub(crate) fn ns_uring_cmd(
    disk: DiskView<'_>,
    ucmd: IoUringCmd<'_>,
    writable: bool,
) -> Result<Queued> {
    let data = match ucmd.op() {
        NVME_URING_CMD_IO => UserData::Buffer,
        NVME_URING_CMD_IO_VEC => UserData::Vector,
        _ => return Err(ENOTTY),
    };
    let mut p = read(&ucmd)?;
    let ns = disk.ns();
    let mut cmd = Command::default();
    let io = prepare_io(ns, &mut p, data, Opener::whole(writable), &mut cmd)?;
    disk.passthru_uring(ucmd, &cmd, io.data, p.timeout_ms)
}

/// An io_uring command on `/dev/nvme<N>` (C: `nvme_dev_uring_cmd`).
pub(crate) fn ctrl_uring_cmd(ctrl: &Arc<Ctrl>, ucmd: IoUringCmd<'_>) -> Result<Queued> {
    let data = match ucmd.op() {
        NVME_URING_CMD_ADMIN => UserData::Buffer,
        NVME_URING_CMD_ADMIN_VEC => UserData::Vector,
        _ => return Err(ENOTTY),
    };
    let p = read(&ucmd)?;
    // The admin queue's commands wait for their completion: only where sleeping is
    // allowed (io_uring issues the command again from a worker).
    if ucmd.nonblock() {
        return Err(EAGAIN);
    }
    let done = admin_user_cmd(ctrl, p, data)?;
    Ok(ucmd.complete32(i32::from(done.status >> 1), done.result))
}

#[kunit_tests(rust_nvme_uring)]
mod tests {
    use super::*;

    #[test]
    fn command_numbers_match_the_uapi() {
        assert_eq!(NVME_URING_CMD_IO, 0xc048_4e80);
        assert_eq!(NVME_URING_CMD_IO_VEC, 0xc048_4e81);
        assert_eq!(NVME_URING_CMD_ADMIN, 0xc048_4e82);
        assert_eq!(NVME_URING_CMD_ADMIN_VEC, 0xc048_4e83);
    }
}
