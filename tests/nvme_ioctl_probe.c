// SPDX-License-Identifier: GPL-2.0
/*
 * Bad and unprivileged input to the NVMe ioctls, checked against the C driver's answers.
 *
 *   nvme_ioctl_probe CTRL_DEV NS_DEV NSID SERIAL
 *
 * Prints one "rn-tap: ok - ..." / "rn-tap: not ok - ..." line per check (tests/lib.sh's
 * format). Runs the root checks first, then drops to uid/gid 65534 (the caller makes the
 * device nodes world-accessible) for the unprivileged ones. Built statically on the host
 * by the VM runner.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/nvme_ioctl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tap.h"

static struct nvme_passthru_cmd identify(unsigned int cns, unsigned int nsid, void *buf)
{
	struct nvme_passthru_cmd c = {
		.opcode = 0x06, .nsid = nsid, .addr = (uintptr_t)buf,
		.data_len = 4096, .cdw10 = cns,
	};
	return c;
}

static struct nvme_passthru_cmd rw(unsigned char opcode, unsigned int nsid, void *buf)
{
	/* 8 blocks of 512 bytes at LBA 0. */
	struct nvme_passthru_cmd c = {
		.opcode = opcode, .nsid = nsid, .addr = (uintptr_t)buf,
		.data_len = 4096, .cdw12 = 7,
	};
	return c;
}

int main(int argc, char **argv)
{
	static char buf[1 << 20] __attribute__((aligned(4096)));
	struct nvme_passthru_cmd c;
	struct nvme_passthru_cmd64 c64;
	struct nvme_user_io io;
	unsigned int nsid;
	int ctrl, ns, r;

	if (argc != 5) {
		fprintf(stderr, "usage: %s CTRL_DEV NS_DEV NSID SERIAL\n", argv[0]);
		return 2;
	}
	nsid = strtoul(argv[3], NULL, 0);
	ctrl = open(argv[1], O_RDONLY);
	ns = open(argv[2], O_RDONLY);
	result(ctrl >= 0 && ns >= 0, "open %s and %s", argv[1], argv[2]);
	if (ctrl < 0 || ns < 0)
		return 1;

	/* Bad pointers: the structure itself, and the data buffer. */
	expect(ctrl, NVME_IOCTL_ADMIN_CMD, (void *)16, EFAULT, "ADMIN_CMD with a bad structure pointer");
	c = identify(1, 0, (void *)16);
	expect(ctrl, NVME_IOCTL_ADMIN_CMD, &c, EFAULT, "Identify with a bad data pointer");
	c = rw(0x02, nsid, (void *)16);
	expect(ns, NVME_IOCTL_IO_CMD, &c, EFAULT, "I/O read into a bad data pointer");
	memset(&io, 0, sizeof(io));
	io.opcode = 0x02;
	io.nblocks = 7;
	io.addr = 16;
	expect(ns, NVME_IOCTL_SUBMIT_IO, &io, EFAULT, "SUBMIT_IO into a bad data pointer");
	/* Unknown ioctls; NVME_IOCTL_ID is a namespace ioctl. */
	expect(ctrl, _IO('N', 0x7f), NULL, ENOTTY, "an unknown ioctl on the controller");
	expect(ns, _IO('N', 0x7f), NULL, ENOTTY, "an unknown ioctl on the namespace");
	expect(ctrl, NVME_IOCTL_ID, NULL, ENOTTY, "NVME_IOCTL_ID on the controller");
	r = ioctl(ns, NVME_IOCTL_ID);
	result(r == (int)nsid, "NVME_IOCTL_ID on the namespace is %u (got %d)", nsid, r);
	/* Reserved and out-of-range fields. */
	c = identify(1, 0, buf);
	c.flags = 1;
	expect(ctrl, NVME_IOCTL_ADMIN_CMD, &c, EINVAL, "a command with flags set");
	c = identify(1, 0, buf);
	c.data_len = 64 << 20;
	expect(ctrl, NVME_IOCTL_ADMIN_CMD, &c, EINVAL, "a 64 MiB transfer");
	c = rw(0x02, nsid, buf);
	c.metadata = (uintptr_t)buf;
	c.metadata_len = 64;
	expect(ns, NVME_IOCTL_IO_CMD, &c, EINVAL, "a metadata buffer on a namespace without metadata");
	c = rw(0x02, nsid + 1, buf);
	expect(ns, NVME_IOCTL_IO_CMD, &c, EINVAL, "an nsid that is not the namespace's");
	c = (struct nvme_passthru_cmd){ .opcode = 0x09, .cdw10 = 0x07, .cdw11 = 0 };
	expect(ctrl, NVME_IOCTL_ADMIN_CMD, &c, EACCES, "Set Features (Number of Queues), even for root");

	/* What works as root. */
	memset(buf, 0, 4096);
	c = identify(1, 0, buf);
	expect(ctrl, NVME_IOCTL_ADMIN_CMD, &c, 0, "Identify Controller");
	result(!strncmp(buf + 4, argv[4], strlen(argv[4])), "Identify returns serial %s", argv[4]);
	memset(&c64, 0, sizeof(c64));
	c64.opcode = 0x0a;
	c64.cdw10 = 0x07;
	c64.result = ~0ULL;
	expect(ctrl, NVME_IOCTL_ADMIN64_CMD, &c64, 0, "Get Features (Number of Queues) through ADMIN64_CMD");
	result(c64.result != ~0ULL && (c64.result >> 32) == 0,
	       "ADMIN64_CMD writes the 64-bit result back (%#llx)", (unsigned long long)c64.result);
	/* A failing command returns its NVMe status, as C does: Invalid Field (0x2) for a
	 * reserved CNS. */
	c = identify(0xfe, 0, buf);
	r = ioctl(ctrl, NVME_IOCTL_ADMIN_CMD, &c);
	result(r > 0 && (r & 0x7ff) == 0x2, "a failing command returns its NVMe status (%#x)", r);
	c = rw(0x02, nsid, buf);
	expect(ns, NVME_IOCTL_IO_CMD, &c, 0, "an I/O passthrough read on the namespace");
	memset(&io, 0, sizeof(io));
	io.opcode = 0x02;
	io.nblocks = 7;
	io.addr = (uintptr_t)buf;
	expect(ns, NVME_IOCTL_SUBMIT_IO, &io, 0, "SUBMIT_IO read");
	memset(&c64, 0, sizeof(c64));
	c64.opcode = 0x02;
	c64.nsid = nsid;
	c64.addr = (uintptr_t)buf;
	c64.data_len = 4096;
	c64.cdw12 = 7;
	expect(ns, NVME_IOCTL_IO64_CMD, &c64, 0, "IO64_CMD read on the namespace");
	/* The deprecated I/O ioctl on the controller works with a single namespace. */
	c = rw(0x02, nsid, buf);
	expect(ctrl, NVME_IOCTL_IO_CMD, &c, 0, "IO_CMD on the controller (one namespace)");
	/* QEMU's controller has no NVM Subsystem Reset (CAP.NSSRS clear). */
	expect(ctrl, NVME_IOCTL_SUBSYS_RESET, NULL, ENOTTY, "SUBSYS_RESET without CAP.NSSRS");
	/* A misaligned user buffer is bounced by the block layer. */
	c = rw(0x02, nsid, buf + 1);
	expect(ns, NVME_IOCTL_IO_CMD, &c, 0, "an I/O read into a misaligned buffer");

	/* Unprivileged: Identify only, reads on a read-only open, no resets. */
	if (setgid(65534) || setuid(65534)) {
		result(0, "drop to uid 65534");
		return 1;
	}
	result(getuid() == 65534, "running as uid 65534");
	c = identify(1, 0, buf);
	expect(ctrl, NVME_IOCTL_ADMIN_CMD, &c, 0, "unprivileged Identify Controller");
	c = identify(2, 0, buf);
	expect(ctrl, NVME_IOCTL_ADMIN_CMD, &c, EACCES, "unprivileged Identify (active namespace list)");
	c = (struct nvme_passthru_cmd){ .opcode = 0x02, .nsid = 0xffffffff,
		.addr = (uintptr_t)buf, .data_len = 512, .cdw10 = 0x007f0002 };
	expect(ctrl, NVME_IOCTL_ADMIN_CMD, &c, EACCES, "unprivileged Get Log Page (SMART)");
	expect(ctrl, NVME_IOCTL_RESET, NULL, EACCES, "unprivileged NVME_IOCTL_RESET");
	expect(ctrl, NVME_IOCTL_RESCAN, NULL, EACCES, "unprivileged NVME_IOCTL_RESCAN");
	expect(ctrl, NVME_IOCTL_SUBSYS_RESET, NULL, EACCES, "unprivileged NVME_IOCTL_SUBSYS_RESET");
	c = rw(0x02, nsid, buf);
	expect(ns, NVME_IOCTL_IO_CMD, &c, 0, "unprivileged read on a read-only open");
	c = rw(0x01, nsid, buf);
	expect(ns, NVME_IOCTL_IO_CMD, &c, EACCES, "unprivileged write on a read-only open");
	return failed;
}
