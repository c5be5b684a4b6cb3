# SPDX-License-Identifier: GPL-2.0
#
# rust_nvme: user-facing targets. Kbuild (read first by the kernel's build) holds the
# module's object list; this file drives set-up, the kernel build, the guest and tests.
#
#   make            set up the toolchain, build the guest kernel (cached) and rust_nvme.ko
#   make run        ... then boot a guest with one emulated NVMe controller and show it
#   make check      ... then run the whole test suite; the last line is "N passed, N failed"
#   make bench      release kernel; fio side by side with the C driver, then make icount
#                   (BENCH_ARGS='--base REV': against another revision's module instead)
#   make icount     guest instructions per I/O, C and Rust, counted by a TCG plugin
#                   (ICOUNT_ARGS='--flavour release-llvm --ios 5000 --rounds 3': make bench's kernel)
#   make print-kdir print the kernel build directory (bzImage, C baseline modules)

SHELL := /bin/bash
TOP := $(CURDIR)
PY ?= python3

.PHONY: all modules setup setup-bench kernel print-kdir run check bench icount clean rustfmt

all: modules

setup:
	@scripts/setup.sh

# What only the benchmark needs on top (matplotlib for its chart).
setup-bench:
	@scripts/setup.sh --bench

kernel: setup
	@scripts/build-kernel.sh >/dev/null

# The kernel directory is computed by the (cached, idempotent) build script.
KDIR_CMD = scripts/build-kernel.sh

modules: kernel
	@kdir=$$($(KDIR_CMD)) && . scripts/env.sh && \
	mkdir -p build/module-debug && \
	$(MAKE) -s -C "$$kdir" M=$(TOP) MO=$(TOP)/build/module-debug ARCH=x86_64 RUSTC="$$RUSTC" \
		RUSTDOC="$$RUSTDOC" BINDGEN="$$BINDGEN" HOSTRUSTC="$$RUSTC" \
		$$(cat "$$kdir/.rust-nvme-make-flags" 2>/dev/null) modules && \
	cp build/module-debug/rust_nvme.ko rust_nvme.ko

print-kdir:
	@$(KDIR_CMD)

run: modules
	@$(PY) scripts/run.py

check: modules
	@$(PY) tests/check.py

bench: setup-bench
	@$(PY) scripts/bench.py $(BENCH_ARGS)

icount: setup
	@$(PY) scripts/icount.py $(ICOUNT_ARGS)

rustfmt:
	@. scripts/env.sh && rustfmt --edition 2021 --config-path "$$KSRC/.rustfmt.toml" *.rs ctrl/*.rs mq/*.rs spec/*.rs hw/*.rs diag/*.rs uapi/*.rs abstractions/*.rs abstractions/*/*.rs abstractions/*/*/*.rs

clean:
	@kdir=$$($(KDIR_CMD) 2>/dev/null) && [ -n "$$kdir" ] && \
		rm -rf build/module-debug build/module-release rust_nvme.ko || true
