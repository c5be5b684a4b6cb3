// SPDX-License-Identifier: GPL-2.0
/*
 * O_DIRECT reads and writes whose data has a gap inside a page: two 512-byte iovecs at
 * the start of two different pages (the first segment ends 512 bytes into its page).
 * PRPs cannot describe such a request; with an SGL-capable controller the driver sends
 * it whole as an SGL, else the block layer splits it (virt boundary). Either way the
 * data must be right.
 *
 *   sgl_gap DEV
 *
 * Prints "rn-tap: ok/not ok" lines (tests/lib.sh's format).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define ROUNDS 8
#define SEG 512
#define AREA (1 << 20)

static int failed;

static void result(int good, const char *what, int round)
{
	printf("rn-tap: %s - %s (round %d)\n", good ? "ok" : "not ok", what, round);
	fflush(stdout);
	if (!good)
		failed = 1;
}

int main(int argc, char **argv)
{
	static char a[4096] __attribute__((aligned(4096)));
	static char b[4096] __attribute__((aligned(4096)));
	static char ref[4096] __attribute__((aligned(4096)));
	struct iovec iov[2] = { { a, SEG }, { b, SEG } };
	int fd, rnd, i;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DEV\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_DIRECT);
	rnd = open("/dev/urandom", O_RDONLY);
	if (fd < 0 || rnd < 0) {
		printf("rn-tap: not ok - open %s\n", argv[1]);
		return 1;
	}
	for (i = 0; i < ROUNDS; i++) {
		off_t off = AREA + (off_t)i * 8192;

		/* Reads: what a plain write put there, through the gapped iovecs. */
		if (read(rnd, ref, sizeof(ref)) != sizeof(ref))
			return 1;
		result(pwrite(fd, ref, sizeof(ref), off) == sizeof(ref), "plain write", i);
		memset(a, 0, sizeof(a));
		memset(b, 0, sizeof(b));
		result(preadv(fd, iov, 2, off) == 2 * SEG, "gapped read", i);
		result(!memcmp(a, ref, SEG) && !memcmp(b, ref + SEG, SEG),
		       "gapped read returns the data", i);
		/* Writes: the gapped iovecs, read back plainly. */
		if (read(rnd, a, SEG) != SEG || read(rnd, b, SEG) != SEG)
			return 1;
		result(pwritev(fd, iov, 2, off) == 2 * SEG, "gapped write", i);
		memset(ref, 0, sizeof(ref));
		result(pread(fd, ref, sizeof(ref), off) == sizeof(ref), "plain read", i);
		result(!memcmp(ref, a, SEG) && !memcmp(ref + SEG, b, SEG),
		       "gapped write wrote the data", i);
	}
	return failed;
}
