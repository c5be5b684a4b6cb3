// SPDX-License-Identifier: GPL-2.0
/*
 * Passthrough commands whose user buffer is shorter than the transfer they ask for are
 * refused with EINVAL before anything reaches the controller; full-length ones work and
 * return the disk's data.
 *
 *   nvme_shortbuf CTRL_DEV NS_DEV NSID
 *
 * NS_DEV must have 512-byte blocks and hold, from LBA 0, the first 8 KiB that the caller
 * wrote. Prints "rn-tap: ok/not ok" lines (tests/lib.sh's format); runs as root first,
 * then as uid/gid 65534 (the caller makes the device nodes world-accessible).
 */
#define _GNU_SOURCE
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

/* A Read of `nlb` 512-byte blocks at LBA 0 into `len` bytes at `buf`. */
static struct nvme_passthru_cmd rd(unsigned int nsid, unsigned int nlb, void *buf, unsigned int len)
{
	struct nvme_passthru_cmd c = {
		.opcode = 0x02, .nsid = nsid, .addr = (uintptr_t)buf,
		.data_len = len, .cdw12 = nlb - 1,
	};
	return c;
}

static struct nvme_passthru_cmd admin(unsigned char opcode, unsigned int nsid, void *buf,
				      unsigned int len, unsigned int cdw10)
{
	struct nvme_passthru_cmd c = {
		.opcode = opcode, .nsid = nsid, .addr = (uintptr_t)buf,
		.data_len = len, .cdw10 = cdw10,
	};
	return c;
}

/* The checks both root and an unprivileged reader get the same answer to. */
static void common(int ctrl, int ns, unsigned int nsid, char *buf, const char *who)
{
	struct nvme_passthru_cmd c;
	char what[160];

	c = rd(nsid, 16, buf, 4096);
	snprintf(what, sizeof(what), "%s: a Read of 16 blocks into 4 KiB", who);
	expect(ns, NVME_IOCTL_IO_CMD, &c, EINVAL, what);
	c = rd(nsid, 64, buf, 4096);
	snprintf(what, sizeof(what), "%s: a Read of 64 blocks into 4 KiB", who);
	expect(ns, NVME_IOCTL_IO_CMD, &c, EINVAL, what);
	c = admin(0x06, 0, buf, 512, 1);
	snprintf(what, sizeof(what), "%s: Identify Controller into 512 bytes", who);
	expect(ctrl, NVME_IOCTL_ADMIN_CMD, &c, EINVAL, what);
	c = rd(nsid, 8, buf, 4096);
	snprintf(what, sizeof(what), "%s: a Read of 8 blocks into 4 KiB", who);
	expect(ns, NVME_IOCTL_IO_CMD, &c, 0, what);
}

int main(int argc, char **argv)
{
	static char buf[1 << 16] __attribute__((aligned(4096)));
	static char ref[8192] __attribute__((aligned(4096)));
	struct nvme_passthru_cmd c;
	struct nvme_passthru_cmd64 c64;
	unsigned int nsid;
	int ctrl, ns, raw;

	if (argc != 4) {
		fprintf(stderr, "usage: %s CTRL_DEV NS_DEV NSID\n", argv[0]);
		return 2;
	}
	nsid = strtoul(argv[3], NULL, 0);
	ctrl = open(argv[1], O_RDONLY);
	ns = open(argv[2], O_RDONLY);
	raw = open(argv[2], O_RDONLY | O_DIRECT);
	result(ctrl >= 0 && ns >= 0 && raw >= 0, "open %s and %s", argv[1], argv[2]);
	if (ctrl < 0 || ns < 0 || raw < 0)
		return 1;
	result(pread(raw, ref, sizeof(ref), 0) == sizeof(ref), "read the first 8 KiB");

	common(ctrl, ns, nsid, buf, "root");
	c = rd(nsid, 8, NULL, 0);
	expect(ns, NVME_IOCTL_IO_CMD, &c, EINVAL, "root: a Read of 8 blocks without a buffer");
	memset(&c64, 0, sizeof(c64));
	c64.opcode = 0x02;
	c64.nsid = nsid;
	c64.addr = (uintptr_t)buf;
	c64.data_len = 4096;
	c64.cdw12 = 15;
	expect(ns, NVME_IOCTL_IO64_CMD, &c64, EINVAL, "root: IO64_CMD Read of 16 blocks into 4 KiB");
	/* Dataset Management: two 16-byte ranges in 16 bytes. */
	c = (struct nvme_passthru_cmd){ .opcode = 0x09, .nsid = nsid, .addr = (uintptr_t)buf,
		.data_len = 16, .cdw10 = 1, .cdw11 = 4 };
	expect(ns, NVME_IOCTL_IO_CMD, &c, EINVAL, "root: Dataset Management of 2 ranges in 16 bytes");
	/* SMART log: 128 dwords. */
	c = admin(0x02, 0xffffffff, buf, 256, 0x007f0002);
	expect(ctrl, NVME_IOCTL_ADMIN_CMD, &c, EINVAL, "root: a 512-byte SMART log into 256 bytes");
	c = admin(0x02, 0xffffffff, buf, 512, 0x007f0002);
	expect(ctrl, NVME_IOCTL_ADMIN_CMD, &c, 0, "root: the SMART log into 512 bytes");
	/* Timestamp: 8 bytes. */
	c = admin(0x0a, 0, buf, 4, 0x0e);
	expect(ctrl, NVME_IOCTL_ADMIN_CMD, &c, EINVAL, "root: Get Features (Timestamp) into 4 bytes");
	c = admin(0x0a, 0, buf, 8, 0x0e);
	expect(ctrl, NVME_IOCTL_ADMIN_CMD, &c, 0, "root: Get Features (Timestamp) into 8 bytes");
	/* Firmware Image Download of 4 KiB from 512 bytes. */
	c = admin(0x11, 0, buf, 512, 1023);
	expect(ctrl, NVME_IOCTL_ADMIN_CMD, &c, EINVAL, "root: Firmware Image Download of 4 KiB from 512 bytes");
	/* Full length: the data is the disk's. */
	memset(buf, 0xa5, 8192);
	c = rd(nsid, 16, buf, 8192);
	expect(ns, NVME_IOCTL_IO_CMD, &c, 0, "root: a Read of 16 blocks into 8 KiB");
	result(!memcmp(buf, ref, 8192), "and it returns the disk's first 8 KiB");
	memset(buf, 0xa5, 8192);
	c = rd(nsid, 16, buf, 65536);
	expect(ns, NVME_IOCTL_IO_CMD, &c, 0, "root: a Read of 16 blocks into a larger buffer");
	result(!memcmp(buf, ref, 8192), "and it returns the same data");

	if (setgid(65534) || setuid(65534)) {
		result(0, "drop to uid 65534");
		return 1;
	}
	result(getuid() == 65534, "running as uid 65534");
	common(ctrl, ns, nsid, buf, "unprivileged");
	result(!memcmp(buf, ref, 4096), "unprivileged: the 8-block Read returns the disk's data");
	return failed;
}
