// SPDX-License-Identifier: GPL-2.0
/*
 * NVMe passthrough through io_uring (IORING_OP_URING_CMD), on raw io_uring system
 * calls (the guest has no liburing):
 *
 *   nvme_uring admin CTRLDEV        NVME_URING_CMD_ADMIN Identify Controller equals the
 *                                   ioctl's; _ADMIN_VEC into two iovecs equals it too;
 *                                   a ring without 128-byte SQEs gets EOPNOTSUPP; an
 *                                   unknown command ENOTTY.
 *   nvme_uring io NGDEV NSID LBA    NVME_URING_CMD_IO_VEC: a write from three iovecs and
 *                                   a read back into two compare equal (512-byte blocks,
 *                                   16 KiB from LBA); with a registered buffer
 *                                   (IORING_URING_CMD_FIXED) likewise.
 *   nvme_uring deny CTRLDEV NGDEV   as an unprivileged user: a Format NVM through
 *                                   _ADMIN and a vendor-specific I/O command through
 *                                   _IO get EACCES, an Identify Controller succeeds.
 *   nvme_uring inflight NGDEV N     keeps N 4 KiB reads in flight until each has its CQE,
 *                                   resubmitting for 20 s; prints what the CQEs said;
 *                                   the exit status says whether every submission got
 *                                   its CQE (for reset and removal tests).
 *
 * Prints "rn-tap: ok/not ok" lines (tests/lib.sh's format).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/nvme_ioctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

#define TOTAL 16384
#define ENTRIES 64

struct ring {
	int fd;
	unsigned int sqe_size, cqe_size;
	unsigned int *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
	unsigned char *sqes, *cqes;
};

static int ring_init(struct ring *r, unsigned int flags)
{
	struct io_uring_params p = { .flags = flags };
	unsigned char *sq, *cq;
	size_t sq_len, cq_len;

	r->fd = syscall(__NR_io_uring_setup, ENTRIES, &p);
	if (r->fd < 0)
		return -errno;
	r->sqe_size = flags & IORING_SETUP_SQE128 ? 128 : 64;
	r->cqe_size = flags & IORING_SETUP_CQE32 ? 32 : 16;
	sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	cq_len = p.cq_off.cqes + p.cq_entries * r->cqe_size;
	if (cq_len > sq_len)
		sq_len = cq_len;
	sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		  IORING_OFF_SQ_RING);
	if (sq == MAP_FAILED)
		return -errno;
	cq = sq; /* IORING_FEAT_SINGLE_MMAP, which every kernel this runs on has */
	r->sqes = mmap(NULL, p.sq_entries * r->sqe_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED)
		return -errno;
	r->sq_tail = (unsigned int *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned int *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)(sq + p.sq_off.array);
	r->cq_head = (unsigned int *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned int *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned int *)(cq + p.cq_off.ring_mask);
	r->cqes = cq + p.cq_off.cqes;
	return 0;
}

/* Queues a uring command on `fd` (not yet submitted); user_data `tag`. */
static void queue_cmd(struct ring *r, int fd, unsigned int op, const struct nvme_uring_cmd *c,
		      unsigned int uflags, unsigned long long tag)
{
	unsigned int tail = *r->sq_tail, idx = tail & *r->sq_mask;
	struct io_uring_sqe *sqe = (struct io_uring_sqe *)(r->sqes + idx * r->sqe_size);

	memset(sqe, 0, r->sqe_size);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = op;
	sqe->uring_cmd_flags = uflags;
	sqe->user_data = tag;
	memcpy(sqe->cmd, c, r->sqe_size == 128 ? sizeof(*c) : 16);
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
}

/* Submits what is queued and waits for `wait` CQEs. */
static int enter(struct ring *r, unsigned int submit, unsigned int wait)
{
	int ret = syscall(__NR_io_uring_enter, r->fd, submit, wait, IORING_ENTER_GETEVENTS,
			  NULL, 0);
	return ret < 0 ? -errno : ret;
}

/* Takes one CQE if there is one: 1 and its fields, or 0. */
static int reap(struct ring *r, unsigned long long *tag, int *res, unsigned long long *res2)
{
	unsigned int head = *r->cq_head;
	struct io_uring_cqe *cqe;

	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return 0;
	cqe = (struct io_uring_cqe *)(r->cqes + (head & *r->cq_mask) * r->cqe_size);
	*tag = cqe->user_data;
	*res = cqe->res;
	*res2 = r->cqe_size == 32 ? cqe->big_cqe[0] : 0;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return 1;
}

/* One command, submitted and waited for: its res (res2 in *res2). */
static int run(struct ring *r, int fd, unsigned int op, const struct nvme_uring_cmd *c,
	       unsigned int uflags, unsigned long long *res2)
{
	unsigned long long tag, dummy;
	int res, ret;

	queue_cmd(r, fd, op, c, uflags, 1);
	ret = enter(r, 1, 1);
	if (ret < 0)
		return ret;
	if (!reap(r, &tag, &res, res2 ? res2 : &dummy))
		return -EPROTO;
	return res;
}

static struct nvme_uring_cmd identify(void *buf, unsigned int len)
{
	struct nvme_uring_cmd c = {
		.opcode = 0x06, .addr = (uintptr_t)buf, .data_len = len, .cdw10 = 1,
	};
	return c;
}

static int do_admin(const char *dev)
{
	static unsigned char a[4096], b[4096], v1[1000], v2[3096];
	struct nvme_admin_cmd ic = { .opcode = 0x06, .addr = (uintptr_t)a, .data_len = 4096,
				     .cdw10 = 1 };
	struct iovec iov[2] = { { v1, sizeof(v1) }, { v2, sizeof(v2) } };
	struct nvme_uring_cmd c;
	struct ring r, small;
	int fd = open(dev, O_RDWR), res;

	if (fd < 0) {
		result(0, "open %s: %s", dev, strerror(errno));
		return 1;
	}
	expect(fd, NVME_IOCTL_ADMIN_CMD, &ic, 0, "Identify Controller by ioctl");
	res = ring_init(&r, IORING_SETUP_SQE128 | IORING_SETUP_CQE32);
	result(res == 0, "a ring with 128-byte SQEs and 32-byte CQEs (%s)", strerror(-res));
	if (res)
		return 1;
	c = identify(b, sizeof(b));
	res = run(&r, fd, NVME_URING_CMD_ADMIN, &c, 0, NULL);
	result(res == 0, "NVME_URING_CMD_ADMIN Identify Controller completes (res %d)", res);
	result(!memcmp(a, b, sizeof(a)), "and returns what the ioctl returned");
	c = identify(iov, 2);
	res = run(&r, fd, NVME_URING_CMD_ADMIN_VEC, &c, 0, NULL);
	result(res == 0, "NVME_URING_CMD_ADMIN_VEC Identify Controller completes (res %d)", res);
	result(!memcmp(a, v1, sizeof(v1)) && !memcmp(a + sizeof(v1), v2, sizeof(v2)),
	       "into two iovecs, as the ioctl's");
	c = identify(b, sizeof(b));
	res = run(&r, fd, NVME_URING_CMD_IO, &c, 0, NULL);
	result(res == -ENOTTY, "an I/O command on the controller device gets ENOTTY (res %d)",
	       res);
	res = ring_init(&small, 0);
	if (res == 0) {
		res = run(&small, fd, NVME_URING_CMD_ADMIN, &c, 0, NULL);
		result(res == -EOPNOTSUPP, "a ring with 64-byte SQEs gets EOPNOTSUPP (res %d)",
		       res);
	}
	return failed;
}

static struct nvme_uring_cmd rw(unsigned char opcode, unsigned int nsid, unsigned long long lba,
				void *addr, unsigned int len)
{
	struct nvme_uring_cmd c = {
		.opcode = opcode, .nsid = nsid, .addr = (uintptr_t)addr, .data_len = len,
		.cdw10 = (unsigned int)lba, .cdw11 = (unsigned int)(lba >> 32),
		.cdw12 = TOTAL / 512 - 1,
	};
	return c;
}

static int do_io(const char *dev, unsigned int nsid, unsigned long long lba)
{
	unsigned char *in = aligned_alloc(4096, TOTAL), *out = aligned_alloc(4096, TOTAL);
	unsigned char *fixed = aligned_alloc(4096, TOTAL);
	struct iovec w[3] = { { in, 4096 }, { in + 4096, 8192 }, { in + 12288, 4096 } };
	struct iovec rd[2] = { { out, 12288 }, { out + 12288, 4096 } };
	struct iovec reg = { fixed, TOTAL };
	struct nvme_uring_cmd c;
	unsigned long long res2;
	struct ring r;
	int fd = open(dev, O_RDWR), res;

	if (fd < 0 || !in || !out || !fixed) {
		result(0, "open %s: %s", dev, strerror(errno));
		return 1;
	}
	for (int i = 0; i < TOTAL; i++)
		in[i] = (unsigned char)(i * 7 + lba);
	if (ring_init(&r, IORING_SETUP_SQE128 | IORING_SETUP_CQE32)) {
		result(0, "ring set-up");
		return 1;
	}
	c = rw(0x01, nsid, lba, w, 3);
	res = run(&r, fd, NVME_URING_CMD_IO_VEC, &c, 0, &res2);
	result(res == 0, "NVME_URING_CMD_IO_VEC write of three iovecs (res %d)", res);
	memset(out, 0, TOTAL);
	c = rw(0x02, nsid, lba, rd, 2);
	res = run(&r, fd, NVME_URING_CMD_IO_VEC, &c, 0, &res2);
	result(res == 0, "NVME_URING_CMD_IO_VEC read into two iovecs (res %d)", res);
	result(!memcmp(in, out, TOTAL), "the read returns what the write wrote");

	res = syscall(__NR_io_uring_register, r.fd, IORING_REGISTER_BUFFERS, &reg, 1);
	result(res == 0, "a registered buffer (%s)", res ? strerror(errno) : "ok");
	for (int i = 0; i < TOTAL; i++)
		fixed[i] = (unsigned char)(i * 13 + 1);
	memcpy(in, fixed, TOTAL);
	c = rw(0x01, nsid, lba, fixed, TOTAL);
	res = run(&r, fd, NVME_URING_CMD_IO, &c, IORING_URING_CMD_FIXED, &res2);
	result(res == 0, "NVME_URING_CMD_IO write from the registered buffer (res %d)", res);
	memset(fixed, 0, TOTAL);
	c = rw(0x02, nsid, lba, fixed, TOTAL);
	res = run(&r, fd, NVME_URING_CMD_IO, &c, IORING_URING_CMD_FIXED, &res2);
	result(res == 0, "NVME_URING_CMD_IO read into the registered buffer (res %d)", res);
	result(!memcmp(in, fixed, TOTAL), "the fixed-buffer read returns what was written");
	c = rw(0x02, nsid, lba, fixed + 4096, TOTAL);
	res = run(&r, fd, NVME_URING_CMD_IO, &c, IORING_URING_CMD_FIXED, &res2);
	result(res == -EFAULT, "a read beyond the registered buffer gets EFAULT (res %d)", res);
	c = rw(0x02, nsid, lba, out, TOTAL);
	c.nsid = nsid + 1;
	res = run(&r, fd, NVME_URING_CMD_IO, &c, 0, &res2);
	result(res == -EINVAL, "a command for another namespace gets EINVAL (res %d)", res);
	c = rw(0x02, nsid, lba, out, TOTAL / 2);
	res = run(&r, fd, NVME_URING_CMD_IO, &c, 0, &res2);
	result(res == -EINVAL, "a buffer short of the transfer gets EINVAL (res %d)", res);
	return failed;
}

static int do_deny(const char *ctrl, const char *ng)
{
	static unsigned char buf[4096];
	struct nvme_uring_cmd format = { .opcode = 0x80 };
	struct nvme_uring_cmd c;
	struct ring r;
	int cfd = open(ctrl, O_RDONLY), nfd = open(ng, O_RDWR), res;

	if (cfd < 0 || nfd < 0) {
		result(0, "open %s and %s: %s", ctrl, ng, strerror(errno));
		return 1;
	}
	if (ring_init(&r, IORING_SETUP_SQE128 | IORING_SETUP_CQE32)) {
		result(0, "ring set-up");
		return 1;
	}
	/* Format NVM (admin 80h), namespace 1, LBA format 0. */
	format.nsid = 1;
	res = run(&r, cfd, NVME_URING_CMD_ADMIN, &format, 0, NULL);
	result(res == -EACCES, "unprivileged Format NVM through io_uring gets EACCES (res %d)",
	       res);
	c = identify(buf, sizeof(buf));
	res = run(&r, cfd, NVME_URING_CMD_ADMIN, &c, 0, NULL);
	result(res == 0, "unprivileged Identify Controller through io_uring works (res %d)",
	       res);
	c = rw(0x80, 1, 0, buf, sizeof(buf));
	c.cdw12 = 0;
	res = run(&r, nfd, NVME_URING_CMD_IO, &c, 0, NULL);
	result(res == -EACCES,
	       "unprivileged vendor-specific I/O command through io_uring gets EACCES (res %d)",
	       res);
	c = rw(0x02, 1, 0, buf, 512);
	c.cdw12 = 0;
	res = run(&r, nfd, NVME_URING_CMD_IO, &c, 0, NULL);
	result(res == 0, "unprivileged read through io_uring works (res %d)", res);
	return failed;
}

static int do_inflight(const char *dev, int depth)
{
	unsigned char *buf = aligned_alloc(4096, 4096 * depth);
	unsigned long long sent = 0, got = 0, tag, res2;
	int fd = open(dev, O_RDONLY), res, ok = 0, err = 0, status = 0;
	struct nvme_uring_cmd c;
	time_t end = time(NULL) + 20;
	struct ring r;

	if (fd < 0 || !buf || ring_init(&r, IORING_SETUP_SQE128 | IORING_SETUP_CQE32)) {
		printf("# inflight: set-up failed: %s\n", strerror(errno));
		return 2;
	}
	for (int i = 0; i < depth; i++) {
		c = rw(0x02, 1, (unsigned long long)i * 8, buf + 4096 * i, 4096);
		c.cdw12 = 7;
		queue_cmd(&r, fd, NVME_URING_CMD_IO, &c, 0, i);
		sent++;
	}
	if (enter(&r, depth, 0) < 0)
		return 2;
	while (got < sent) {
		int e = enter(&r, 0, 1);

		if (e < 0 && e != -EINTR)
			break;
		while (reap(&r, &tag, &res, &res2)) {
			got++;
			if (res == 0)
				ok++;
			else if (res < 0)
				err++;
			else
				status++;
			/* Keep the depth while the device works and time remains. */
			if (res == 0 && time(NULL) < end) {
				c = rw(0x02, 1, tag * 8, buf + 4096 * tag, 4096);
				c.cdw12 = 7;
				queue_cmd(&r, fd, NVME_URING_CMD_IO, &c, 0, tag);
				sent++;
				if (enter(&r, 1, 0) < 0) {
					sent--;
					break;
				}
			}
		}
	}
	printf("# inflight: %llu submitted, %llu completed: %d ok, %d errno, %d NVMe status\n",
	       sent, got, ok, err, status);
	return got == sent ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "admin"))
		return do_admin(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "io"))
		return do_io(argv[2], strtoul(argv[3], NULL, 0), strtoull(argv[4], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "deny"))
		return do_deny(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "inflight"))
		return do_inflight(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: see the comment at the top of nvme_uring.c\n");
	return 2;
}
