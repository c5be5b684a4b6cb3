// SPDX-License-Identifier: GPL-2.0
/*
 * NVME_IOCTL_IO64_CMD_VEC: a write from three user buffers and a read back into three
 * others, split differently, compare equal; a vector whose total is short of the
 * transfer, one with a bad pointer and one of too many entries are refused, and nothing
 * is written around or into the caller's buffers.
 *
 *   nvme_vec DEV NSID LBA
 *
 * DEV (a namespace block device or /dev/ngXnY) must have 512-byte blocks; 16 KiB from
 * LBA are overwritten. Prints "rn-tap: ok/not ok" lines (tests/lib.sh's format).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/nvme_ioctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tap.h"

#define TOTAL 16384
/* Bytes of canary around each buffer. */
#define PAD 64

/* A buffer of `len` bytes between two canaries of 0xa5. */
static unsigned char *padded(size_t len)
{
	unsigned char *p = aligned_alloc(4096, len + 2 * 4096);

	if (!p)
		exit(2);
	memset(p, 0xa5, len + 2 * 4096);
	return p + 4096;
}

static int canaries_intact(unsigned char *b, size_t len)
{
	for (int i = 1; i <= PAD; i++)
		if (b[-i] != 0xa5 || b[len + i - 1] != 0xa5)
			return 0;
	return 1;
}

static struct nvme_passthru_cmd64 io(unsigned char opcode, unsigned int nsid,
				     unsigned long long lba, struct iovec *iov, unsigned int n)
{
	struct nvme_passthru_cmd64 c = {
		.opcode = opcode, .nsid = nsid, .addr = (uintptr_t)iov, .data_len = n,
		.cdw10 = (unsigned int)lba, .cdw11 = (unsigned int)(lba >> 32),
		.cdw12 = TOTAL / 512 - 1,
	};
	return c;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s DEV NSID LBA\n", argv[0]);
		return 2;
	}
	int fd = open(argv[1], O_RDWR);
	unsigned int nsid = strtoul(argv[2], NULL, 0);
	unsigned long long lba = strtoull(argv[3], NULL, 0);

	if (fd < 0) {
		result(0, "open %s (%s)", argv[1], strerror(errno));
		return 1;
	}
	/* Write from 4 + 8 + 4 KiB. */
	size_t wlen[3] = { 4096, 8192, 4096 };
	unsigned char *w[3], *r[3];
	struct iovec wv[3], rv[3];

	srand(getpid());
	for (int i = 0; i < 3; i++) {
		w[i] = padded(wlen[i]);
		for (size_t j = 0; j < wlen[i]; j++)
			w[i][j] = rand();
		wv[i] = (struct iovec){ w[i], wlen[i] };
	}
	struct nvme_passthru_cmd64 c = io(0x01, nsid, lba, wv, 3);
	expect(fd, NVME_IOCTL_IO64_CMD_VEC, &c, 0, "IO64_CMD_VEC write of 3 iovecs (16 KiB)");

	/* Read into 2 + 12 + 2 KiB. */
	size_t rlen[3] = { 2048, 12288, 2048 };
	for (int i = 0; i < 3; i++) {
		r[i] = padded(rlen[i]);
		memset(r[i], 0, rlen[i]);
		rv[i] = (struct iovec){ r[i], rlen[i] };
	}
	c = io(0x02, nsid, lba, rv, 3);
	expect(fd, NVME_IOCTL_IO64_CMD_VEC, &c, 0, "IO64_CMD_VEC read into 3 other iovecs");
	unsigned char *flat_w = malloc(TOTAL), *flat_r = malloc(TOTAL);
	size_t o = 0;
	for (int i = 0; i < 3; i++) {
		memcpy(flat_w + o, w[i], wlen[i]);
		o += wlen[i];
	}
	o = 0;
	for (int i = 0; i < 3; i++) {
		memcpy(flat_r + o, r[i], rlen[i]);
		o += rlen[i];
	}
	result(!memcmp(flat_w, flat_r, TOTAL), "the data read back is the data written");
	int intact = 1;
	for (int i = 0; i < 3; i++)
		intact &= canaries_intact(r[i], rlen[i]);
	result(intact, "nothing written around the read buffers");

	/* Short of the transfer: 2 + 4 KiB for 16 KiB. */
	for (int i = 0; i < 3; i++)
		memset(r[i], 0x5a, rlen[i]);
	struct iovec shortv[2] = { { r[0], 2048 }, { r[1], 4096 } };
	c = io(0x02, nsid, lba, shortv, 2);
	expect(fd, NVME_IOCTL_IO64_CMD_VEC, &c, EINVAL, "a read into a vector short of the transfer");
	/* A bad pointer in the middle. */
	struct iovec badv[3] = { { r[0], 2048 }, { (void *)0x1000, 12288 }, { r[2], 2048 } };
	c = io(0x02, nsid, lba, badv, 3);
	expect(fd, NVME_IOCTL_IO64_CMD_VEC, &c, EFAULT, "a read into a vector with a bad pointer");
	/* Too many entries (UIO_MAXIOV is 1024). */
	static struct iovec many[1025];
	for (int i = 0; i < 1025; i++)
		many[i] = (struct iovec){ r[1], 16 };
	c = io(0x02, nsid, lba, many, 1025);
	expect(fd, NVME_IOCTL_IO64_CMD_VEC, &c, EINVAL, "a vector of 1025 entries");
	/* The vector array itself unreadable. */
	c = io(0x02, nsid, lba, (struct iovec *)0x1000, 3);
	expect(fd, NVME_IOCTL_IO64_CMD_VEC, &c, EFAULT, "an unreadable iovec array");
	int untouched = 1;
	for (int i = 0; i < 3; i++) {
		for (size_t j = 0; j < rlen[i]; j++)
			untouched &= r[i][j] == 0x5a;
		untouched &= canaries_intact(r[i], rlen[i]);
	}
	result(untouched, "the refused reads wrote nothing into or around the buffers");
	close(fd);
	return failed;
}
