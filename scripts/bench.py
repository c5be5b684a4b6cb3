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

  scripts/bench.py [--rounds N] [--runtime S]
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


def build():
    env = dict(os.environ, FLAVOUR="release")
    kdir = sh([os.path.join(TOP, "scripts/build-kernel.sh")], env=env).split()[-1]
    mo = os.path.join(TOP, "build", "module-release")
    os.makedirs(mo, exist_ok=True)
    envsh = ". scripts/env.sh && "
    subprocess.run(["bash", "-c", envsh + f'make -s -C "{kdir}" M="{TOP}" MO="{mo}" ARCH=x86_64 '
                    'RUSTC="$RUSTC" RUSTDOC="$RUSTDOC" BINDGEN="$BINDGEN" HOSTRUSTC="$RUSTC" modules'],
                   cwd=TOP, check=True)
    return kdir, os.path.join(mo, "rust_nvme.ko")


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
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runtime", type=int, default=6)
    ap.add_argument("--cpus", type=int, default=4)
    args = ap.parse_args()
    kdir, ko = build()
    os.makedirs(OUT, exist_ok=True)
    script = os.path.join(OUT, "run.sh")
    with open(script, "w") as f:
        f.write(f"export RN_ROUNDS={args.rounds} RN_RUNTIME={args.runtime}\n")
        f.write(open(os.path.join(TOP, "scripts/bench-guest.sh")).read())
    log = os.path.join(OUT, "console.log")
    qemu = ["-drive", "if=none,id=nvm0,driver=null-co,size=8G,read-zeroes=on",
            "-device", "nvme,id=nvme0,serial=bench0,drive=nvm0"]
    t0 = time.time()
    rc = subprocess.call([sys.executable, os.path.join(TOP, "scripts/vm.py"), "--kdir", kdir,
                          "--module", ko, "--script", script, "--log", log, "--quiet",
                          "--cpus", str(args.cpus), "--mem", "2048", "--timeout", "3600",
                          "--no-nvme-trace", "--"] + qemu)
    raw = []
    for line in open(log, errors="replace"):
        m = re.match(r"rn-bench: (\S+) (\d+) (\S+) (\{.*\})\s*$", line)
        if m:
            try:
                raw.append({"driver": m.group(1), "round": int(m.group(2)), "workload": m.group(3),
                            **figures(json.loads(m.group(4)))})
            except (ValueError, KeyError, IndexError):
                pass
    if rc != 0 or not raw:
        print(f"bench: guest run failed (status {rc}); see {log}")
        return 1

    def med(d, w, k):
        v = [r[k] for r in raw if r["driver"] == d and r["workload"] == w]
        return (statistics.median(v), (max(v) - min(v)) / statistics.median(v) * 100 if v and statistics.median(v) else 0) if v else (None, None)

    cpu = sh(["bash", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).strip()
    head = (f"`make bench`, {time.strftime('%Y-%m-%d')}, {args.rounds} rounds x {args.runtime} s, "
            f"{args.cpus}-vCPU TCG guest on {cpu} ({os.cpu_count()} host CPUs); medians, spread = (max-min)/median")
    rows = ["| workload | metric | C | Rust | Rust/C | spread C / Rust | null_blk |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    summary = {}
    for w, label in WORKLOADS:
        metrics = [("iops", "IOPS", True), ("lat_mean_us", "mean lat us", False), ("lat_p99_us", "p99 lat us", False)]
        if w == "seq128k":
            metrics = [("bw_mib", "MiB/s", True)]
        for k, name, higher in metrics:
            c, cs = med("c", w, k)
            r, rs = med("rust", w, k)
            n, _ = med("null_blk", w, k)
            if c is None or r is None:
                continue
            ratio = r / c if c else 0
            summary[f"{w}.{k}"] = {"c": c, "rust": r, "null_blk": n, "rust_over_c": ratio}
            rows.append(f"| {label} | {name} | {c:.0f} | {r:.0f} | {ratio:.2f} | {cs:.0f}% / {rs:.0f}% | "
                        f"{'' if n is None else f'{n:.0f}'} |")
    table = head + "\n\n" + "\n".join(rows)
    with open(os.path.join(OUT, "table.md"), "w") as f:
        f.write(table + "\n")
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"date": time.strftime("%Y-%m-%d"), "host_cpu": cpu, "rounds": args.rounds,
                   "runtime_s": args.runtime, "summary": summary, "raw": raw}, f, indent=1)
    groups = []
    for w, _ in WORKLOADS:
        k = "bw_mib" if w == "seq128k" else "iops"
        vals = [med(d, w, k)[0] or 0 for d in DRIVERS]
        groups.append(vals)
    png(os.path.join(OUT, "chart.png"), groups, DRIVERS, [(70, 110, 200), (220, 90, 40), (160, 160, 160)])
    print(table)
    print(f"\nbench: {len(raw)} fio results in {time.time() - t0:.0f}s; {OUT}/results.json, "
          f"table.md, chart.png (bars per workload: C blue, Rust orange, null_blk grey)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
