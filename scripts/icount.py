#!/usr/bin/env python3
"""`make icount`: guest instructions per I/O, nvme.ko against rust_nvme, counted by a TCG
plugin (scripts/icount-plugin.c) instead of timed: the same fio job gives the same count
whatever the host is doing.

Builds the plugin and boots one guest with one vCPU and an NVMe controller on a null-co
backend; scripts/icount-guest.sh runs each workload for a fixed number of I/Os (fio
--number_ios) between the plugin's marker instructions, on nvme.ko and on rust_nvme. The
plugin reports the instructions each translation block executed in between; this script
splits them by address: the driver's own modules (rust_nvme.ko; nvme.ko + nvme-core.ko),
the rest of the kernel, user space (fio), and divides by the I/O count. It prints, and
writes to build/icount/table.md, per workload and driver the instructions per I/O of each
part and the Rust/C ratio, every round (two runs of one driver agree when the count is
deterministic), and for 4 KiB QD1 reads and io_uring passthrough the driver functions
that executed the most.

make bench runs it after the wall-clock rounds (release-llvm, 5000 I/Os, 3 rounds) and
appends its table to build/bench/table.md.

  scripts/icount.py [--rounds N] [--ios N] [--flavour debug|release|release-llvm]
                    [--drivers 'c rust'] [--workloads 'qd1 ...'] [--from-logs CONSOLE PLUGIN_LOG]
"""
import argparse
import collections
import os
import re
import statistics
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(TOP, "build", "icount")
KERNEL_START = 0xFFFF800000000000
WORKLOADS = ["qd1", "qd32", "wr32", "seq128k", "qd1poll", "uringcmd"]
# The workloads whose driver functions are listed: the block path and the passthrough one.
TOP_WORKLOADS = ["qd1", "uringcmd", "qd1poll"]


def build(flavour):
    if flavour == "release-llvm":
        # clang, lld and llvm of rustc's LLVM version, as make bench installs them.
        subprocess.run([os.path.join(TOP, "scripts/setup.sh"), "--llvm"], check=True)
    env = dict(os.environ, FLAVOUR=flavour)
    kdir = subprocess.run([os.path.join(TOP, "scripts/build-kernel.sh")], env=env, check=True,
                          text=True, capture_output=True).stdout.split()[-1]
    sys.path.insert(0, os.path.join(TOP, "scripts"))
    from bench import build_module  # noqa: E402 (the same module build as make bench)
    ko = build_module(kdir, TOP, os.path.join(TOP, "build", f"module-{flavour}"))
    os.makedirs(OUT, exist_ok=True)
    so = os.path.join(OUT, "icount.so")
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", so,
                    os.path.join(TOP, "scripts/icount-plugin.c")], check=True)
    return kdir, ko, so


def parse(console, plugin_log):
    runs, ranges, syms = [], collections.defaultdict(list), collections.defaultdict(list)
    stalls = set()
    for line in open(console, errors="replace"):
        m = re.search(r"rn-icount: (\S+) (\d+) (\S+) (\d+)", line)
        if m:
            runs.append((m.group(1), int(m.group(2)), m.group(3), int(m.group(4))))
        m = re.search(r"rn-icount-range: (\S+) (\S+) 0x([0-9a-f]+) (\d+)", line)
        if m:
            base = int(m.group(3), 16)
            ranges[m.group(1)].append((base, base + int(m.group(4)), m.group(2)))
        m = re.search(r"rn-icount-stall: (\S+) (\d+) (\S+)", line)
        if m:
            stalls.add((m.group(1), int(m.group(2)), m.group(3)))
        m = re.search(r"rn-icount-sym: (\S+) ([0-9a-f]+) (\S+)", line)
        if m:
            syms[m.group(1)].append((int(m.group(2), 16), m.group(3)))
    blocks, cur = [], []
    for line in open(plugin_log, errors="replace"):
        if line.startswith("icount table full"):
            sys.exit("icount: the plugin's table filled up; its counts are incomplete")
        if line.startswith("icount end"):
            blocks.append(cur)
            cur = []
        elif line.startswith("icount "):
            _, a, n = line.split()
            cur.append((int(a, 16), int(n)))
    for d in syms:
        syms[d].sort()
    # A round in which a command timed out is marked: its count is the recovery's.
    runs = [(d, r, w, ios, (d, r, w) in stalls) for d, r, w, ios in runs]
    return runs, ranges, syms, blocks


def ko_syms(ko, base):
    """The functions of a module's .text at `base` (the start of its text in memory,
    where the loader puts .text, the modules having one such section), from its own
    symbol table: for kernels without kallsyms."""
    out = []
    dump = subprocess.run(["objdump", "-t", "-C", ko], text=True, capture_output=True).stdout
    for line in dump.splitlines():
        f = line.split(None, 5)
        if len(f) == 6 and f[3] == ".text" and "F" in f[2]:
            out.append((base + int(f[0], 16), f[5]))
    return out


def split(blocks, ranges):
    mod = kern = user = 0
    for a, n in blocks:
        if any(lo <= a < hi for lo, hi, _ in ranges):
            mod += n
        elif a >= KERNEL_START:
            kern += n
        else:
            user += n
    return mod, kern, user


def symbol(syms, a):
    name = None
    for addr, s in syms:
        if addr > a:
            break
        name = s
    return name or hex(a)


def spread(v):
    """(max - min) / median of a driver's rounds, in percent: how far two runs of the same
    work disagree."""
    m = statistics.median(v)
    return f"{(max(v) - min(v)) / m * 100:.1f} %" if m else "-"


def report(runs, ranges, syms, blocks, kos=None):
    for d, mods in (kos or {}).items():
        if not syms.get(d):
            syms[d] = sorted(s for lo, _, name in ranges[d] if name in mods
                             for s in ko_syms(mods[name], lo))
    if len(blocks) != len(runs):
        print(f"icount: {len(runs)} marked runs but {len(blocks)} plugin reports", file=sys.stderr)
        return 1, ""
    per = collections.defaultdict(list)
    stalled = []
    for (d, r, w, ios, stall), b in zip(runs, blocks):
        if stall:
            stalled.append(f"{w} {'nvme.ko' if d == 'c' else 'rust_nvme'} round {r}")
            continue
        mod, kern, user = split(b, ranges[d])
        per[(w, d)].append((mod / ios, kern / ios, user / ios, (mod + kern + user) / ios,
                            (mod + kern) / ios))
    # The kernel (module + rest) is what the driver decides; user space is fio, whose
    # count follows how often it finds completions and varies more.
    lines = ["| workload | driver | module | rest of kernel | kernel | user | total "
             "| rounds (module) | rounds (kernel) | spread module, kernel |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |"]
    ratio = ["", "| workload | module rust/c | kernel rust/c | total rust/c |",
             "| --- | ---: | ---: | ---: |"]
    for w in WORKLOADS:
        med = {}
        for d in ("c", "rust"):
            v = per.get((w, d))
            if not v:
                continue
            m = [statistics.median(x[i] for x in v) for i in range(5)]
            med[d] = m
            rounds_mod = ", ".join(f"{x[0]:.0f}" for x in v)
            rounds = ", ".join(f"{x[4]:.0f}" for x in v)
            lines.append(f"| {w} | {'nvme.ko' if d == 'c' else 'rust_nvme'} | {m[0]:.0f} | "
                         f"{m[1]:.0f} | {m[4]:.0f} | {m[2]:.0f} | {m[3]:.0f} | {rounds_mod} | "
                         f"{rounds} | {spread([x[0] for x in v])}, {spread([x[4] for x in v])} |")
        if "c" in med and "rust" in med and med["c"][0] and med["c"][3]:
            ratio.append(f"| {w} | {med['rust'][0] / med['c'][0]:.3f} | "
                         f"{med['rust'][4] / med['c'][4]:.3f} | "
                         f"{med['rust'][3] / med['c'][3]:.3f} |")
    top = []
    for tw in TOP_WORKLOADS:
        top += ["", f"Driver functions in {tw} (first round without a stall), instructions "
                "per I/O:", ""]
        for d in ("c", "rust"):
            done = False
            for (dd, r, w, ios, stall), b in zip(runs, blocks):
                if dd != d or w != tw or stall or done:
                    continue
                done = True
                acc = collections.Counter()
                for a, n in b:
                    if any(lo <= a < hi for lo, hi, _ in ranges[d]):
                        acc[symbol(syms[d], a)] += n
                top.append(f"{'nvme.ko' if d == 'c' else 'rust_nvme'}:")
                top += [f"  {n / ios:8.1f}  {s}" for s, n in acc.most_common(15)]
    left = []
    if stalled:
        left = ["", "Left out, a command timed out during the round (the count is the "
                "recovery's): " + "; ".join(stalled) + "."]
    text = "\n".join(lines + ratio + left + top) + "\n"
    print(text)
    with open(os.path.join(OUT, "table.md"), "w") as f:
        f.write(text)
    return 0, text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--ios", type=int, default=2000)
    ap.add_argument("--flavour", default="debug")
    ap.add_argument("--drivers", default="c rust",
                    help="which drivers to count (space-separated: c, rust)")
    ap.add_argument("--workloads", default=" ".join(WORKLOADS),
                    help="which workloads (space-separated, of " + " ".join(WORKLOADS) + ")")
    ap.add_argument("--from-logs", nargs=2, metavar=("CONSOLE", "PLUGIN_LOG"))
    args = ap.parse_args()
    return run(args.flavour, args.rounds, args.ios, args.drivers, args.workloads,
               args.from_logs)[0]


def run(flavour, rounds, ios, drivers="c rust", workloads=" ".join(WORKLOADS), from_logs=None):
    """Counts (or, with `from_logs`, reports again); returns the status and the table."""
    kdir, ko, so = build(flavour)
    host = os.path.join(kdir, "drivers/nvme/host")
    kos = {"rust": {"rust_nvme": ko},
           "c": {"nvme": os.path.join(host, "nvme.ko"),
                 "nvme_core": os.path.join(host, "nvme-core.ko")}}
    if from_logs:
        return report(*parse(*from_logs), kos)
    script = os.path.join(OUT, "run.sh")
    with open(script, "w") as f:
        f.write(f"export RN_ROUNDS={rounds} RN_IOS={ios}\n")
        f.write(f"export RN_DRIVERS='{drivers}' RN_WORKLOADS='{workloads}'\n")
        f.write(open(os.path.join(TOP, "scripts/icount-guest.sh")).read())
    console, plog = os.path.join(OUT, "console.log"), os.path.join(OUT, "plugin.log")
    if os.path.exists(plog):
        os.remove(plog)
    qemu = ["-drive", "if=none,id=nvm0,driver=null-co,size=8G,read-zeroes=on",
            "-device", "nvme,id=nvme0,serial=icount0,drive=nvm0",
            "-plugin", f"file={so}", "-d", "plugin", "-D", plog]
    timeout = 600 + rounds * 12 * (120 + ios // 100)
    rc = subprocess.call([sys.executable, os.path.join(TOP, "scripts/vm.py"), "--kdir", kdir,
                          "--module", ko, "--script", script, "--log", console, "--quiet",
                          "--cpus", "1", "--mem", "2048", "--timeout", str(timeout),
                          "--no-nvme-trace", "--"] + qemu)
    if rc != 0:
        print(f"icount: the guest run failed ({rc}); see {console}", file=sys.stderr)
        return rc, ""
    return report(*parse(console, plog), kos)


if __name__ == "__main__":
    sys.exit(main())
