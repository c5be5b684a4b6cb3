// SPDX-License-Identifier: GPL-2.0
/*
 * A TCG plugin for QEMU 7.2 (plugin API version 1) that counts the guest instructions
 * each translation block executes, between two marker instructions a guest program runs
 * (scripts/icount.py, tests/icount_mark.c): at the start marker (xchg %rcx,%rcx) every
 * block's count is remembered; at the stop marker (xchg %rdx,%rdx) each block that ran
 * since is written out as "icount <block address> <instructions>", then "icount end".
 * Counting is an inline add per block execution, so it costs little and depends only
 * on what the guest does, not on time. Meant for one vCPU (the counters are not per vCPU).
 * Its output goes through qemu_plugin_outs: run QEMU with -d plugin -D FILE.
 *
 * Debian ships no qemu-plugin.h: the few declarations it uses are written here, as the
 * plugin API documents them for version 1.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct {
	const char *target_name;
	struct {
		int min;
		int cur;
	} version;
	bool system_emulation;
	union {
		struct {
			int smp_vcpus;
			int max_vcpus;
		} system;
	};
} qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*tb_trans_cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*vcpu_udata_cb)(unsigned int vcpu_index, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
					      void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, vcpu_udata_cb cb,
					    enum qemu_plugin_cb_flags flags, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
void qemu_plugin_outs(const char *string);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* One entry per (block address, length): blocks are translated again after a flush. */
struct block {
	uint64_t vaddr;
	uint64_t insns;		/* executed, inline */
	uint64_t base;		/* at the start marker */
	uint32_t n;
	bool used;
};

#define TABLE_BITS 20
#define TABLE_SIZE (1u << TABLE_BITS)
static struct block *table;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * User space is counted as one block at address 0: its blocks move with every process
 * (ASLR), and kept apart they filled the table within a few dozen fio runs, after which
 * new blocks went uncounted. Only the kernel's are kept per block.
 */
#define KERNEL_START 0xffff800000000000ull
static bool table_full;

static const unsigned char start_marker[] = { 0x48, 0x87, 0xc9 };	/* xchg %rcx,%rcx */
static const unsigned char stop_marker[] = { 0x48, 0x87, 0xd2 };	/* xchg %rdx,%rdx */

static struct block *lookup(uint64_t vaddr, uint32_t n)
{
	uint64_t h = (vaddr * 0x9e3779b97f4a7c15ull) ^ n;

	for (uint32_t i = 0; i < TABLE_SIZE; i++) {
		struct block *b = &table[(h + i) & (TABLE_SIZE - 1)];

		if (!b->used) {
			b->used = true;
			b->vaddr = vaddr;
			b->n = n;
			return b;
		}
		if (b->vaddr == vaddr && b->n == n)
			return b;
	}
	return NULL;
}

static void on_marker(unsigned int vcpu, void *udata)
{
	char line[64];

	(void)vcpu;
	pthread_mutex_lock(&lock);
	for (uint32_t i = 0; i < TABLE_SIZE; i++) {
		struct block *b = &table[i];

		if (!b->used)
			continue;
		if (udata == start_marker) {
			b->base = b->insns;
		} else if (b->insns > b->base) {
			snprintf(line, sizeof(line), "icount %llx %llu\n",
				 (unsigned long long)b->vaddr,
				 (unsigned long long)(b->insns - b->base));
			qemu_plugin_outs(line);
			b->base = b->insns;
		}
	}
	if (udata == stop_marker)
		qemu_plugin_outs("icount end\n");
	pthread_mutex_unlock(&lock);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	struct block *b;

	uint64_t vaddr = qemu_plugin_tb_vaddr(tb);

	(void)id;
	pthread_mutex_lock(&lock);
	b = vaddr < KERNEL_START ? lookup(0, 0) : lookup(vaddr, (uint32_t)n);
	if (!b && !table_full) {
		/* Never silently: a block left uncounted makes every figure after it wrong. */
		table_full = true;
		qemu_plugin_outs("icount table full\n");
	}
	pthread_mutex_unlock(&lock);
	if (b)
		qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
							 &b->insns, n);
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const unsigned char *d = qemu_plugin_insn_data(insn);

		if (qemu_plugin_insn_size(insn) != sizeof(start_marker))
			continue;
		if (!memcmp(d, start_marker, sizeof(start_marker)))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker,
							       QEMU_PLUGIN_CB_NO_REGS,
							       (void *)start_marker);
		else if (!memcmp(d, stop_marker, sizeof(stop_marker)))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker,
							       QEMU_PLUGIN_CB_NO_REGS,
							       (void *)stop_marker);
	}
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	(void)info;
	(void)argc;
	(void)argv;
	table = calloc(TABLE_SIZE, sizeof(*table));
	if (!table)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	return 0;
}
