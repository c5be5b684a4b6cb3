#!/usr/bin/env python3
"""`make bench`: rust_nvme against the in-tree C driver, side by side in one guest boot.

Builds the release kernel (the test kernel's configuration without the debug options,
with -O2 / rustc opt-level=2 and the full slab allocator, cached separately) and rust_nvme
against it, boots one guest with as many vCPUs as the host has CPUs (at most 4: an
overcommitted guest measures the host's scheduler as much as the drivers) and an NVMe
controller on a null-co backend (read-zeroes=on: the host disk is not measured), and runs
scripts/bench-guest.sh. Per round, each fio workload (io_uring, direct I/O, jobs pinned
to vCPUs) runs on the C driver and on rust_nvme back to back, each freshly loaded, the
order alternating by round and workload; then null_blk runs them all as the block
layer's ceiling. Workloads: 4 KiB random read QD1 (latency), 4 KiB random read QD32 x
one job per vCPU (IOPS), 4 KiB random write QD32 x vCPUs, 128 KiB sequential read
(bandwidth), 4 KiB random read QD1 polled (hipri, one poll queue), 4 KiB random read
QD32 x vCPUs as NVMe passthrough through io_uring (fio's io_uring_cmd on /dev/ng0n1; not
for null_blk).

The report pairs the two drivers within each round: per workload and metric the median
of each driver over the rounds, the median of the per-round ratios (rust/c) with its 95%
confidence interval by percentile bootstrap, the mean of the ratios with its Student-t
95% interval, the spread across rounds, the ratio of every round, what each driver set
up, and the kernel memory per bound controller (see scripts/bench-guest.sh). It is
printed and written to build/bench/table.md, every raw figure to build/bench/results.json,
and a chart to build/bench/chart.png (matplotlib, by scripts/bench-chart.py under the
system Python, which Debian's python3-matplotlib serves).

With --base REV the same guest compares rust_nvme built from git revision REV ("base")
with the working tree's ("rust") instead of C with Rust, without null_blk: the A/B of a
change, with the same alternation.

By default both drivers run on the release kernel built with LLVM=1 (clang of rustc's
LLVM version) and RUST_INLINE_HELPERS (the C helpers the Rust side calls inlined into it;
scripts/build-kernel.sh FLAVOUR=release-llvm), the module built with the same flags: on
2026-12-04 it measured better for Rust than the GCC kernel and no worse for C. --gcc
uses the GCC-built release kernel (helpers called out of line) instead.

Then (not with --base) the deterministic half: guest instructions per I/O of the same
workloads on each driver, counted by a TCG plugin (scripts/icount.py, one vCPU, fixed
I/O counts, three rounds), appended to the table.

  scripts/bench.py [--rounds N] [--runtime S] [--cpus N] [--base REV] [--gcc] [--no-icount]
"""
import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(TOP, "build", "bench")
WORKLOADS = [
    ("qd1", "4k randread QD1"),
    ("qd32", "4k randread QD32 x vCPUs"),
    ("wr32", "4k randwrite QD32 x vCPUs"),
    ("seq128k", "128k seq read"),
    ("qd1poll", "4k randread QD1 polled"),
    ("uringcmd", "4k randread QD32 x vCPUs io_uring_cmd"),
]
# (key, table name, chart axis); the first is the workload's headline (the chart's bars).
METRICS = {
    "seq128k": [("bw_mib", "MiB/s", "MiB/s")],
}
DEFAULT_METRICS = [("iops", "IOPS", "IOPS"), ("lat_mean_us", "mean lat us", None),
                   ("lat_p99_us", "p99 lat us", None)]
# The chart needs matplotlib, which Debian packages for its own Python (the `python3` on
# PATH may be another one).
CHART_PYTHON = os.environ.get("RN_CHART_PYTHON", "/usr/bin/python3")
BOOT_RESAMPLES = 10000
BOOT_SEED = 1


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def build_module(kdir, src, mo):
    """rust_nvme.ko from the sources in `src`, built against `kdir` into `mo`, with the
    kernel's own make flags (LLVM=... for an LLVM-built kernel)."""
    os.makedirs(mo, exist_ok=True)
    envsh = f'. "{TOP}/scripts/env.sh" && '
    subprocess.run(["bash", "-c", envsh + f'make -s -C "{kdir}" M="{src}" MO="{mo}" ARCH=x86_64 '
                    'RUSTC="$RUSTC" RUSTDOC="$RUSTDOC" BINDGEN="$BINDGEN" HOSTRUSTC="$RUSTC" '
                    f'$(cat "{kdir}/.rust-nvme-make-flags" 2>/dev/null) modules'],
                   cwd=TOP, check=True)
    return os.path.join(mo, "rust_nvme.ko")


def build(flavour, base=None):
    env = dict(os.environ, FLAVOUR=flavour)
    kdir = sh([os.path.join(TOP, "scripts/build-kernel.sh")], env=env).split()[-1]
    ko = build_module(kdir, TOP, os.path.join(TOP, "build", f"module-{flavour}"))
    base_ko = None
    if base:
        # The other revision's sources, checked out beside the tree (its build output too).
        wt = os.path.join(TOP, "build", "bench-base")
        subprocess.run(["git", "worktree", "remove", "--force", wt], cwd=TOP,
                       capture_output=True)
        subprocess.run(["git", "worktree", "add", "--detach", "-f", wt, base], cwd=TOP,
                       check=True, capture_output=True)
        base_ko = build_module(kdir, wt, os.path.join(TOP, "build", f"module-{flavour}-base"))
    return kdir, ko, base_ko


# Two-sided 95% quantiles of Student's t by degrees of freedom (1..30; beyond: normal).
T95 = [12.71, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
       2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
       2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def mean_ci(v):
    """Mean and half-width of its 95% confidence interval (None with fewer than 2 values)."""
    if len(v) < 2:
        return (v[0] if v else None), None
    m = statistics.mean(v)
    t = T95[len(v) - 2] if len(v) - 2 < len(T95) else 1.96
    return m, t * statistics.stdev(v) / len(v) ** 0.5


def median_ci(v):
    """Median and its 95% confidence interval by percentile bootstrap (BOOT_RESAMPLES
    resamples with replacement, a fixed seed so that a report can be reproduced from its
    raw figures); (median, None) with fewer than 2 values."""
    if not v:
        return None, None
    m = statistics.median(v)
    if len(v) < 2:
        return m, None
    rng = random.Random(BOOT_SEED)
    meds = sorted(statistics.median(rng.choices(v, k=len(v))) for _ in range(BOOT_RESAMPLES))
    return m, (meds[int(0.025 * BOOT_RESAMPLES)], meds[int(0.975 * BOOT_RESAMPLES) - 1])


def figures(job):
    """The figures of one fio JSON result (group reporting: one job)."""
    j = job["jobs"][0]
    side = j["write"] if j["write"]["io_bytes"] > j["read"]["io_bytes"] else j["read"]
    pct = side["clat_ns"].get("percentile", {})
    return {
        "iops": side["iops"],
        "bw_mib": side["bw_bytes"] / 1048576,
        "lat_mean_us": side["lat_ns"]["mean"] / 1000,
        "lat_p99_us": pct.get("99.000000", 0) / 1000,
    }


def parse_log(log):
    raw, mem, setup, irqs = [], [], {}, []
    for line in open(log, errors="replace"):
        m = re.match(r"rn-bench-setup: (\S+) \d+ (.*)$", line)
        if m:
            setup.setdefault(m.group(1), set()).add(m.group(2).strip())
        m = re.match(r"rn-bench: (\S+) (\d+) (\S+) (\{.*\})\s*$", line)
        if m:
            try:
                raw.append({"driver": m.group(1), "round": int(m.group(2)), "workload": m.group(3),
                            **figures(json.loads(m.group(4)))})
            except (ValueError, KeyError, IndexError):
                pass
        m = re.match(r"rn-bench-mem: (\S+) (\d+) (\d+) (-?\d+) (-?\d+) (-?\d+)\s*$", line)
        if m:
            mem.append({"driver": m.group(1), "round": int(m.group(2)),
                        "module_bytes": int(m.group(3)), "load_free_drop_kib": int(m.group(4)),
                        "bind_free_drop_kib": int(m.group(5)),
                        "bind_kernel_counters_kib": int(m.group(6))})
        m = re.match(r"rn-bench-irq: (\S+) (\d+) (\S+) (\d+) (\d+)\s*$", line)
        if m and int(m.group(5)):
            irqs.append({"driver": m.group(1), "round": int(m.group(2)), "workload": m.group(3),
                         "irqs": int(m.group(4)), "ios": int(m.group(5))})
    return raw, mem, setup, irqs


def fmt(x, nd=0):
    return "" if x is None else f"{x:.{nd}f}"


def fmt_ci(ci, nd=2):
    return "" if ci is None else f"[{ci[0]:.{nd}f}, {ci[1]:.{nd}f}]"


def ensure_chart_python():
    """Whether the chart's Python has matplotlib; installs it (scripts/setup.sh --bench)
    when it does not, as `make bench` does before it runs this."""
    def have():
        return subprocess.call([CHART_PYTHON, "-c", "import matplotlib"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0
    if os.path.exists(CHART_PYTHON) and have():
        return True
    subprocess.call([os.path.join(TOP, "scripts/setup.sh"), "--bench"])
    return os.path.exists(CHART_PYTHON) and have()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--runtime", type=int, default=5)
    host_cpus = len(os.sched_getaffinity(0))
    ap.add_argument("--cpus", type=int, default=max(1, min(4, host_cpus)))
    ap.add_argument("--base", help="git revision to compare the working tree's module with")
    ap.add_argument("--gcc", action="store_true",
                    help="the GCC-built release kernel instead of the default LLVM=1 one "
                         "with RUST_INLINE_HELPERS (FLAVOUR=release-llvm)")
    ap.add_argument("--llvm", action="store_true", help="the default (kept for old command lines)")
    ap.add_argument("--no-icount", action="store_true",
                    help="skip the instruction count (scripts/icount.py) after the wall clock")
    ap.add_argument("--icount-ios", type=int, default=5000,
                    help="I/Os per workload, driver and round of the instruction count")
    ap.add_argument("--from-log", metavar="LOG",
                    help="only make the report again, from the console log of an earlier run "
                         "(give it that run's --rounds, --runtime, --cpus and --base)")
    args = ap.parse_args()
    args.llvm = not args.gcc
    chart_ok = ensure_chart_python()
    if not chart_ok:
        print(f"bench: no matplotlib for {CHART_PYTHON}; the chart will be missing", file=sys.stderr)
    a, b = ("base", "rust") if args.base else ("c", "rust")
    nullblk = not args.base
    os.makedirs(OUT, exist_ok=True)
    if args.from_log:
        return report(args, args.from_log, 0, time.time(), host_cpus, chart_ok)
    flavour = "release"
    if args.llvm:
        flavour = "release-llvm"
        if subprocess.call([os.path.join(TOP, "scripts/setup.sh"), "--llvm"]) != 0:
            return 1
    kdir, ko, base_ko = build(flavour, args.base)
    script = os.path.join(OUT, "run.sh")
    with open(script, "w") as f:
        f.write(f"export RN_ROUNDS={args.rounds} RN_RUNTIME={args.runtime}\n")
        f.write(f"export RN_DRIVERS='{a} {b}' RN_NULLBLK={1 if nullblk else 0}\n")
        f.write(open(os.path.join(TOP, "scripts/bench-guest.sh")).read())
    log = os.path.join(OUT, "console.log")
    qemu = ["-drive", "if=none,id=nvm0,driver=null-co,size=8G,read-zeroes=on",
            "-device", "nvme,id=nvme0,serial=bench0,drive=nvm0"]
    extra = ["--extra-module", f"{base_ko}=rust_nvme_base.ko"] if base_ko else []
    # Per round: 12 NVMe runs and 5 null_blk runs of runtime + 1 s ramp, a load and unload
    # around each NVMe run, the memory measurement; generously.
    timeout = 600 + args.rounds * (17 * (args.runtime + 1) + 12 * 15 + 60)
    t0 = time.time()
    rc = subprocess.call([sys.executable, os.path.join(TOP, "scripts/vm.py"), "--kdir", kdir,
                          "--module", ko, "--script", script, "--log", log, "--quiet",
                          "--cpus", str(args.cpus), "--mem", "2048", "--timeout", str(timeout),
                          "--no-nvme-trace"] + extra + ["--"] + qemu)
    status = report(args, log, rc, t0, host_cpus, chart_ok)
    if status != 0 or args.base or args.no_icount:
        return status
    return instructions(flavour, args.icount_ios)


def instructions(flavour, ios):
    """The deterministic half: guest instructions per I/O of the same workloads, both
    drivers, one vCPU (scripts/icount.py), appended to table.md."""
    sys.path.insert(0, os.path.join(TOP, "scripts"))
    import icount  # noqa: E402 (a sibling script)
    # Three short rounds rather than two long ones: QEMU 7.2 now and then stalls a queue
    # until the I/O timeout (both drivers), and such a round is left out.
    print(f"\nbench: instruction count ({ios} I/Os per workload, driver and round)")
    rc, text = icount.run(flavour, 3, ios)
    if rc != 0:
        return rc
    with open(os.path.join(OUT, "table.md"), "a") as f:
        f.write(f"\nGuest instructions per I/O ({flavour} kernel, one vCPU, {ios} I/Os per "
                "workload and round; module = the driver's own text: rust_nvme.ko, nvme.ko + "
                "nvme-core.ko; scripts/icount.py):\n\n" + text)
    return 0


def report(args, log, rc, t0, host_cpus, chart_ok):
    """The table, results.json and the chart from the guest's console log."""
    a, b = ("base", "rust") if args.base else ("c", "rust")
    nullblk = not args.base
    raw, mem, setup, irqs = parse_log(log)
    if rc != 0 or not raw:
        print(f"bench: guest run failed (status {rc}); see {log}")
        return 1

    def vals(d, w, k):
        return {r["round"]: r[k] for r in raw if r["driver"] == d and r["workload"] == w}

    def spread(v):
        m = statistics.median(v)
        return (max(v) - min(v)) / m * 100 if m else 0

    cpu = sh(["bash", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).strip()
    what = f"rust_nvme of {args.base} (base) vs the working tree (rust)" if args.base else "C vs Rust"
    if args.llvm:
        what += ", LLVM kernel with Rust-inlined C helpers"
    head = (f"`make bench`, {time.strftime('%Y-%m-%d')}, {what}, {args.rounds} rounds x {args.runtime} s, "
            f"{args.cpus}-vCPU TCG guest on {cpu} ({host_cpus} host CPUs), fio jobs pinned, "
            f"the two drivers back to back per workload (order alternating). {a}, {b}: medians "
            f"over the rounds; paired median = median of the per-round {b}/{a} ratios with its "
            f"95% CI by percentile bootstrap ({BOOT_RESAMPLES} resamples, seed {BOOT_SEED}); "
            f"paired mean = mean of the same ratios ± the half-width of its 95% CI (Student's t); "
            f"spread = (max-min)/median. IOPS and MiB/s: higher is better; latency: lower")
    nb = " null_blk |" if nullblk else ""
    rows = [f"| workload | metric | {a} | {b} | paired median {b}/{a} [95% CI] | paired mean {b}/{a} ± 95% CI "
            f"| spread {a} / {b} |" + nb,
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |" + (" ---: |" if nullblk else "")]
    per_round = [f"| workload | metric | " + " | ".join(f"r{i}" for i in range(1, args.rounds + 1)) + " |",
                 "| --- | --- |" + " ---: |" * args.rounds]
    summary, chart = {}, {"drivers": [a, b], "ratio": f"{b}/{a}", "workloads": []}
    for w, label in WORKLOADS:
        for mi, (k, name, axis) in enumerate(METRICS.get(w, DEFAULT_METRICS)):
            va, vb = vals(a, w, k), vals(b, w, k)
            vn = list(vals("null_blk", w, k).values())
            if not va or not vb:
                continue
            ratios = {i: vb[i] / va[i] for i in sorted(va) if i in vb and va[i]}
            rm, rci = median_ci(list(ratios.values()))
            pm, pci = mean_ci(list(ratios.values()))
            ma, cia = median_ci(list(va.values()))
            mb, cib = median_ci(list(vb.values()))
            mn = statistics.median(vn) if vn else None
            summary[f"{w}.{k}"] = {
                a: ma, b: mb, "null_blk": mn, f"{a}_ci95": cia, f"{b}_ci95": cib,
                "per_round_ratio": ratios, "paired_median": rm, "paired_median_ci95": rci,
                "paired_mean": pm, "paired_mean_ci95_halfwidth": pci}
            paired_med = "" if rm is None else f"{rm:.2f} {fmt_ci(rci)}".rstrip()
            paired_mean = "" if pm is None else f"{pm:.2f}" + ("" if pci is None else f" ± {pci:.2f}")
            rows.append(f"| {label} | {name} | {ma:.0f} | {mb:.0f} | {paired_med} | {paired_mean} | "
                        f"{spread(list(va.values())):.0f}% / {spread(list(vb.values())):.0f}% |"
                        + (f" {fmt(mn)} |" if nullblk else ""))
            if mi == 0:
                per_round.append(f"| {label} | {name} | "
                                 + " | ".join(fmt(ratios.get(i), 2) for i in range(1, args.rounds + 1)) + " |")
                chart["workloads"].append({
                    "label": label, "axis": axis, a: ma, b: mb, f"{a}_ci95": cia, f"{b}_ci95": cib,
                    f"{a}_range": [min(va.values()), max(va.values())],
                    f"{b}_range": [min(vb.values()), max(vb.values())],
                    "null_blk": mn, "paired_median": rm, "paired_median_ci95": rci})

    irqrows = [f"| workload | {a} | {b} |", "| --- | ---: | ---: |"]
    for w, label in WORKLOADS:
        per = [statistics.median(x["irqs"] / x["ios"] for x in irqs if x["driver"] == d and x["workload"] == w)
               if any(x["driver"] == d and x["workload"] == w for x in irqs) else None for d in (a, b)]
        if any(v is not None for v in per):
            irqrows.append(f"| {label} | {fmt(per[0], 3)} | {fmt(per[1], 3)} |")
    mem_cols = [("module_bytes", "module bytes"),
                ("load_free_drop_kib", "load: free memory drop KiB"),
                ("bind_free_drop_kib", "per bound controller: free memory drop KiB"),
                ("bind_kernel_counters_kib", "per bound controller: Slab+VmallocUsed+PageTables+KernelStack+Percpu KiB")]
    memrows = ["| driver | " + " | ".join(n for _, n in mem_cols) + " |",
               "| --- |" + " ---: |" * len(mem_cols)]
    memmed = {}
    for d in (a, b):
        ms = [x for x in mem if x["driver"] == d]
        if ms:
            memmed[d] = {k: statistics.median(x[k] for x in ms) for k, _ in mem_cols}
            memrows.append(f"| {d} | " + " | ".join(f"{memmed[d][k]:.0f}" for k, _ in mem_cols) + " |")
    if len(memmed) == 2:
        memrows.append(f"| {b} − {a} | " + " | ".join(f"{memmed[b][k] - memmed[a][k]:+.0f}" for k, _ in mem_cols) + " |")
    chart["memory"] = {d: m["bind_free_drop_kib"] for d, m in memmed.items()}
    setuprows = [f"- {d}: {'; '.join(sorted(v))}" for d, v in sorted(setup.items())]
    table = (head + "\n\n" + "\n".join(rows)
             + f"\n\nPer-round {b}/{a} ratios (first metric of each workload):\n\n" + "\n".join(per_round)
             + "\n\nInterrupts per I/O completed (median over the rounds; the whole run, ramp "
             "included):\n\n" + "\n".join(irqrows)
             + "\n\nMemory (medians over the rounds; after drop_caches; free memory = zones' free "
             "pages + per-CPU free lists; load = from before insmod until the disk is up, module "
             "text included; per bound controller = from unbound until bound again with the disk "
             "up, module loaded):\n\n" + "\n".join(memrows)
             + "\n\nSet-up (per driver, every round):\n\n" + "\n".join(setuprows))
    with open(os.path.join(OUT, "table.md"), "w") as f:
        f.write(table + "\n")
    chart["title"] = (f"make bench {time.strftime('%Y-%m-%d')}: {what}, {args.rounds} rounds x "
                      f"{args.runtime} s, {args.cpus}-vCPU TCG guest on {cpu}")
    results = os.path.join(OUT, "results.json")
    with open(results, "w") as f:
        json.dump({"date": time.strftime("%Y-%m-%d"), "host_cpu": cpu, "host_cpus": host_cpus,
                   "vcpus": args.cpus, "rounds": args.rounds, "runtime_s": args.runtime,
                   "base": args.base, "bootstrap": {"resamples": BOOT_RESAMPLES, "seed": BOOT_SEED},
                   "summary": summary, "memory": mem, "memory_median": memmed, "interrupts": irqs,
                   "setup": {d: sorted(v) for d, v in setup.items()}, "chart": chart, "raw": raw},
                  f, indent=1)
    png = os.path.join(OUT, "chart.png")
    if chart_ok:
        if subprocess.call([CHART_PYTHON, os.path.join(TOP, "scripts/bench-chart.py"), results, png]) != 0:
            print("bench: the chart failed", file=sys.stderr)
    print(table)
    print(f"\nbench: {len(raw)} fio results in {time.time() - t0:.0f}s; {OUT}/results.json, "
          f"table.md, chart.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
