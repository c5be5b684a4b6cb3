#!/usr/bin/env python3
"""`make bench`: rust_nvme against the in-tree C driver, side by side in one guest boot.

Builds the release kernel (the test kernel's configuration without the debug options,
cached separately) and rust_nvme against it, boots one 4-vCPU guest with an NVMe
controller on a null-co backend (read-zeroes=on: the host disk is not measured), and runs
scripts/bench-guest.sh: per round the C driver and rust_nvme (order alternating), then
null_blk as the block-layer ceiling, each with fio (io_uring, direct I/O): 4 KiB random
read at QD1 (latency), 4 KiB random read QD32 x one job per vCPU (IOPS), 4 KiB random
write QD32 x vCPUs, 128 KiB sequential read (bandwidth), and 4 KiB QD1 polled (hipri,
one poll queue). Reports medians per driver, Rust/C ratios and the spread across rounds:
a table (stdout and build/bench/table.md), every raw figure (build/bench/results.json)
and a chart (build/bench/chart.png).

With --base REV the same guest compares rust_nvme built from git revision REV ("base")
with the working tree's ("rust") instead of C with Rust, without null_blk: the A/B of a
change. Either way, per round the two drivers run back to back, and the report gives the
median of each and the mean of the per-round ratios with its 95% confidence interval
(Student's t over the rounds), and the memory each driver takes (module size; drop of
MemAvailable from before the load until its disk is up).

  scripts/bench.py [--rounds N] [--runtime S] [--cpus N] [--base REV]
"""
import argparse
import json
import os
import re
import statistics
import struct
import subprocess
import sys
import time
import zlib

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(TOP, "build", "bench")
WORKLOADS = [
    ("qd1", "4k randread QD1"),
    ("qd32", "4k randread QD32 x vCPUs"),
    ("wr32", "4k randwrite QD32 x vCPUs"),
    ("seq128k", "128k seq read"),
    ("qd1poll", "4k randread QD1 polled"),
]
DRIVERS = ["c", "rust", "null_blk"]


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def build_module(kdir, src, mo):
    """rust_nvme.ko from the sources in `src`, built against `kdir` into `mo`."""
    os.makedirs(mo, exist_ok=True)
    envsh = f'. "{TOP}/scripts/env.sh" && '
    subprocess.run(["bash", "-c", envsh + f'make -s -C "{kdir}" M="{src}" MO="{mo}" ARCH=x86_64 '
                    'RUSTC="$RUSTC" RUSTDOC="$RUSTDOC" BINDGEN="$BINDGEN" HOSTRUSTC="$RUSTC" modules'],
                   cwd=TOP, check=True)
    return os.path.join(mo, "rust_nvme.ko")


def build(base=None):
    env = dict(os.environ, FLAVOUR="release")
    kdir = sh([os.path.join(TOP, "scripts/build-kernel.sh")], env=env).split()[-1]
    ko = build_module(kdir, TOP, os.path.join(TOP, "build", "module-release"))
    base_ko = None
    if base:
        # The other revision's sources, checked out beside the tree (its build output too).
        wt = os.path.join(TOP, "build", "bench-base")
        subprocess.run(["git", "worktree", "remove", "--force", wt], cwd=TOP,
                       capture_output=True)
        subprocess.run(["git", "worktree", "add", "--detach", "-f", wt, base], cwd=TOP,
                       check=True, capture_output=True)
        base_ko = build_module(kdir, wt, os.path.join(TOP, "build", "module-release-base"))
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


def png(path, groups, labels, colors, width=900, height=420):
    """A minimal bar chart as a PNG (no plotting library needed): one group of bars per
    workload, values normalised to the largest bar in the group."""
    img = [[(255, 255, 255)] * width for _ in range(height)]
    margin, gap = 40, 30
    gw = (width - 2 * margin) // len(groups)
    for gi, vals in enumerate(groups):
        top = max(vals) or 1
        bw = (gw - gap) // len(vals)
        for bi, v in enumerate(vals):
            h = int((height - 2 * margin) * v / top)
            x0 = margin + gi * gw + bi * bw
            for y in range(height - margin - h, height - margin):
                for x in range(x0, x0 + bw - 2):
                    img[y][x] = colors[bi]
    for x in range(margin, width - margin):
        img[height - margin][x] = (0, 0, 0)
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in img)
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--runtime", type=int, default=5)
    # As many vCPUs as host CPUs (at most 4): an overcommitted guest measures the host's
    # scheduler as much as the drivers.
    ap.add_argument("--cpus", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    ap.add_argument("--base", help="git revision to compare the working tree's module with")
    args = ap.parse_args()
    kdir, ko, base_ko = build(args.base)
    a, b = ("base", "rust") if args.base else ("c", "rust")
    drivers = [a, b] + ([] if args.base else ["null_blk"])
    os.makedirs(OUT, exist_ok=True)
    script = os.path.join(OUT, "run.sh")
    with open(script, "w") as f:
        f.write(f"export RN_ROUNDS={args.rounds} RN_RUNTIME={args.runtime}\n")
        f.write(f"export RN_DRIVERS='{a} {b}' RN_NULLBLK={0 if args.base else 1}\n")
        f.write(open(os.path.join(TOP, "scripts/bench-guest.sh")).read())
    log = os.path.join(OUT, "console.log")
    qemu = ["-drive", "if=none,id=nvm0,driver=null-co,size=8G,read-zeroes=on",
            "-device", "nvme,id=nvme0,serial=bench0,drive=nvm0"]
    extra = ["--extra-module", f"{base_ko}=rust_nvme_base.ko"] if base_ko else []
    t0 = time.time()
    rc = subprocess.call([sys.executable, os.path.join(TOP, "scripts/vm.py"), "--kdir", kdir,
                          "--module", ko, "--script", script, "--log", log, "--quiet",
                          "--cpus", str(args.cpus), "--mem", "2048", "--timeout", "3600",
                          "--no-nvme-trace"] + extra + ["--"] + qemu)
    raw, mem, setup = [], [], {}
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
        m = re.match(r"rn-bench-mem: (\S+) (\d+) (\d+) (-?\d+)\s*$", line)
        if m:
            mem.append({"driver": m.group(1), "round": int(m.group(2)),
                        "module_bytes": int(m.group(3)), "memavail_drop_kib": int(m.group(4))})
    if rc != 0 or not raw:
        print(f"bench: guest run failed (status {rc}); see {log}")
        return 1

    def vals(d, w, k):
        return {r["round"]: r[k] for r in raw if r["driver"] == d and r["workload"] == w}

    def med(d, w, k):
        v = list(vals(d, w, k).values())
        if not v:
            return None, None
        m = statistics.median(v)
        return m, ((max(v) - min(v)) / m * 100 if m else 0)

    cpu = sh(["bash", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).strip()
    what = f"rust_nvme of {args.base} (base) vs the working tree (rust)" if args.base else "C vs Rust"
    head = (f"`make bench`, {time.strftime('%Y-%m-%d')}, {what}, {args.rounds} rounds x {args.runtime} s, "
            f"{args.cpus}-vCPU TCG guest on {cpu} ({os.cpu_count()} host CPUs); medians, spread = "
            f"(max-min)/median, paired = mean of the per-round {b}/{a} ratios with its 95% CI")
    rows = [f"| workload | metric | {a} | {b} | {b}/{a} | paired {b}/{a} (95% CI) | spread {a} / {b} |"
            + (" null_blk |" if "null_blk" in drivers else ""),
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |" + (" ---: |" if "null_blk" in drivers else "")]
    summary = {}
    for w, label in WORKLOADS:
        metrics = [("iops", "IOPS", True), ("lat_mean_us", "mean lat us", False), ("lat_p99_us", "p99 lat us", False)]
        if w == "seq128k":
            metrics = [("bw_mib", "MiB/s", True)]
        for k, name, higher in metrics:
            c, cs = med(a, w, k)
            r, rs = med(b, w, k)
            n, _ = med("null_blk", w, k)
            if c is None or r is None:
                continue
            va, vb = vals(a, w, k), vals(b, w, k)
            ratios = [vb[i] / va[i] for i in sorted(va) if i in vb and va[i]]
            pm, ci = mean_ci(ratios)
            ratio = r / c if c else 0
            summary[f"{w}.{k}"] = {a: c, b: r, "null_blk": n, f"{b}_over_{a}": ratio,
                                   "paired_mean": pm, "paired_ci95": ci}
            paired = "" if pm is None else (f"{pm:.2f}" + ("" if ci is None else f" ± {ci:.2f}"))
            rows.append(f"| {label} | {name} | {c:.0f} | {r:.0f} | {ratio:.2f} | {paired} | {cs:.0f}% / {rs:.0f}% |"
                        + ("" if "null_blk" not in drivers else f" {'' if n is None else f'{n:.0f}'} |"))
    memrows = ["| driver | module bytes | MemAvailable drop KiB (median) |", "| --- | ---: | ---: |"]
    for d in (a, b):
        ms = [x for x in mem if x["driver"] == d]
        if ms:
            memrows.append(f"| {d} | {statistics.median(x['module_bytes'] for x in ms):.0f} | "
                           f"{statistics.median(x['memavail_drop_kib'] for x in ms):.0f} |")
    setuprows = [f"- {d}: {'; '.join(sorted(v))}" for d, v in sorted(setup.items())]
    table = (head + "\n\n" + "\n".join(rows) + "\n\nMemory:\n\n" + "\n".join(memrows)
             + "\n\nSet-up (per driver, every round):\n\n" + "\n".join(setuprows))
    with open(os.path.join(OUT, "table.md"), "w") as f:
        f.write(table + "\n")
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"date": time.strftime("%Y-%m-%d"), "host_cpu": cpu, "rounds": args.rounds,
                   "runtime_s": args.runtime, "base": args.base, "summary": summary, "raw": raw,
                   "memory": mem}, f, indent=1)
    groups = []
    for w, _ in WORKLOADS:
        k = "bw_mib" if w == "seq128k" else "iops"
        groups.append([med(d, w, k)[0] or 0 for d in drivers])
    png(os.path.join(OUT, "chart.png"), groups, drivers, [(70, 110, 200), (220, 90, 40), (160, 160, 160)])
    print(table)
    print(f"\nbench: {len(raw)} fio results in {time.time() - t0:.0f}s; {OUT}/results.json, "
          f"table.md, chart.png (bars per workload: {', '.join(drivers)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
