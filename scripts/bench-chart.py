#!/usr/bin/python3
"""The chart of `make bench` (scripts/bench.py runs this with /usr/bin/python3, whose
matplotlib is Debian's python3-matplotlib): one panel per workload with each driver's
median over the rounds (whiskers: the 95% bootstrap interval of that median), its value
on the bar, the null_blk ceiling as a dashed line (or a note when it is off the scale),
and the paired ratio with its 95% interval above the panel; a last panel with the kernel
memory per bound controller.

  scripts/bench-chart.py build/bench/results.json build/bench/chart.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = ["#4a6fc7", "#dd5a28"]
# A ceiling more than this many times the tallest bar is noted rather than drawn: drawn,
# it would flatten the bars being compared.
CEILING_SCALE = 2.0


def human(v):
    if v >= 10000:
        return f"{v / 1000:.0f}k"
    if v >= 1000:
        return f"{v / 1000:.1f}k"
    return f"{v:.0f}"


def panel(ax, w, drivers, ratio_name):
    meds = [w[d] for d in drivers]
    lo = [w[d] - w[f"{d}_ci95"][0] if w[f"{d}_ci95"] else 0 for d in drivers]
    hi = [w[f"{d}_ci95"][1] - w[d] if w[f"{d}_ci95"] else 0 for d in drivers]
    x = range(len(drivers))
    bars = ax.bar(x, meds, color=COLORS[:len(drivers)], width=0.6,
                  yerr=[lo, hi], capsize=6, error_kw={"elinewidth": 1.2})
    top = max(m + h for m, h in zip(meds, hi)) or 1
    for bar, m, h in zip(bars, meds, hi):
        ax.text(bar.get_x() + bar.get_width() / 2, m + h + top * 0.02, human(m),
                ha="center", va="bottom", fontsize=9, fontweight="bold")
    ymax = top * 1.22
    ceil = w.get("null_blk")
    if ceil:
        if ceil <= top * CEILING_SCALE:
            ax.axhline(ceil, color="0.35", linestyle="--", linewidth=1.2)
            ax.text(0.98, ceil, f"null_blk ceiling {human(ceil)}", transform=ax.get_yaxis_transform(),
                    ha="right", va="bottom", fontsize=8, color="0.25")
            ymax = max(ymax, ceil * 1.12)
        else:
            ax.text(0.5, 0.97, f"null_blk ceiling {human(ceil)} (off scale)",
                    transform=ax.transAxes, ha="center", va="top", fontsize=8, color="0.25")
    ax.set_ylim(0, ymax)
    ax.set_xticks(list(x))
    ax.set_xticklabels(drivers)
    ax.set_ylabel(w["axis"])
    ci = w.get("paired_median_ci95")
    r = w.get("paired_median")
    sub = "" if r is None else f"{ratio_name} median {r:.2f}" + (f", 95% CI [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")
    ax.set_title(f"{w['label']}\n{sub}", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def main():
    res = json.load(open(sys.argv[1]))
    c = res["chart"]
    drivers = c["drivers"]
    n = len(c["workloads"]) + 1
    cols = 3
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.9 * rows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax, w in zip(flat, c["workloads"]):
        panel(ax, w, drivers, c["ratio"])
    ax = flat[len(c["workloads"])]
    mem = c.get("memory", {})
    if mem:
        ds = [d for d in drivers if d in mem]
        vals = [mem[d] / 1024 for d in ds]
        bars = ax.bar(range(len(ds)), vals, color=COLORS[:len(ds)], width=0.6)
        for bar, v in zip(bars, vals):
            ax.text(bar.get_x() + bar.get_width() / 2, v, f"{v:.2f}", ha="center", va="bottom",
                    fontsize=9, fontweight="bold")
        ax.set_xticks(range(len(ds)))
        ax.set_xticklabels(ds)
        ax.set_ylim(0, (max(vals) if vals and max(vals) > 0 else 1) * 1.2)
        ax.set_ylabel("MiB (drop of free memory)")
        ax.set_title("kernel memory per bound controller\n(median over rounds)", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    else:
        ax.axis("off")
    for ax in flat[n:]:
        ax.axis("off")
    fig.suptitle(c["title"], fontsize=11)
    fig.text(0.5, 0.005, f"bars: each driver's median over the rounds; whiskers: 95% bootstrap "
             f"interval of that median; above each panel: median of the per-round "
             f"{c['ratio']} ratios with its 95% bootstrap interval; higher is better (memory: lower)",
             ha="center", va="bottom", fontsize=8, color="0.3")
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
