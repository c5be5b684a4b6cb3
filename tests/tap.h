/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TAP output for the guest test programs, in tests/lib.sh's format ("rn-tap: ok - ..."),
 * and the check of one ioctl's outcome. Each program includes it once.
 */
#ifndef RN_TAP_H
#define RN_TAP_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

/* Set by the first failed check; the program's exit status. */
static int failed;

static void result(int good, const char *fmt, ...)
{
	va_list ap;

	printf("rn-tap: %s - ", good ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!good)
		failed = 1;
}

/* An ioctl is expected to fail with errno `want` (or succeed when want is 0). */
static void expect(int fd, unsigned long cmd, void *arg, int want, const char *what)
{
	int r = ioctl(fd, cmd, arg);
	int err = r < 0 ? errno : 0;

	if (want)
		result(r < 0 && err == want, "%s fails with %s (got %d, %s)", what,
		       strerror(want), r, r < 0 ? strerror(err) : "success");
	else
		result(r == 0, "%s succeeds (got %d, %s)", what, r,
		       r < 0 ? strerror(err) : "status 0");
}

#endif
