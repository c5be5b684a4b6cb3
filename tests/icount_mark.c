// SPDX-License-Identifier: GPL-2.0
/*
 * Runs the marker instruction scripts/icount-plugin.c watches for (not a test: the
 * instruction counts of scripts/icount.py).
 *
 *   icount_mark start    xchg %rcx,%rcx: the plugin remembers every block's count
 *   icount_mark stop     xchg %rdx,%rdx: the plugin writes out what ran since
 */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "start")) {
		__asm__ volatile(".byte 0x48, 0x87, 0xc9" ::: "rcx", "memory");
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "stop")) {
		__asm__ volatile(".byte 0x48, 0x87, 0xd2" ::: "rdx", "memory");
		return 0;
	}
	fprintf(stderr, "usage: icount_mark start|stop\n");
	return 2;
}
