#!/usr/bin/env python3
"""rust_nvme test suite (`make check`).

Boots one guest per device configuration (tests/suite.py), runs the guest tests listed for
it, and collects into one report:
  * the guest tests' results ("rn-tap:" lines on the console),
  * KUnit's KTAP for the module's suites (printed on the console when the module loads),
  * one result per boot: the console stayed free of kernel splats and the run finished.
The report's last line is "N passed, N failed"; the exit status is non-zero on any failure.

  tests/check.py [-k SUBSTRING] [--list] [--verbose]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests"))
import suite  # noqa: E402
import static_checks  # noqa: E402

TAP = re.compile(r"rn-tap: (ok|not ok) - (.*)$")
# KTAP as KUnit prints it; an optional printk timestamp comes first.
KTAP_PREFIX = re.compile(r"^(\[\s*[\d.]+\]\s)?")
KTAP_SUBTEST = re.compile(r"^\s{4}# Subtest: (\S+)")
KTAP_CASE = re.compile(r"^\s{4}(ok|not ok) \d+ (\S+)(.*)$")


def parse_kunit(lines):
    results = []
    suite_name = None
    for raw in lines:
        line = KTAP_PREFIX.sub("", raw)
        m = KTAP_SUBTEST.match(line)
        if m:
            suite_name = m.group(1)
            continue
        m = KTAP_CASE.match(line)
        if m and suite_name and suite_name.startswith("rust_nvme"):
            skip = "# SKIP" in m.group(3)
            results.append((m.group(1) == "ok", f"kunit {suite_name}.{m.group(2)}", skip))
    return results


def count_between(lines, regex, start, end):
    """Console lines matching regex between the guest's start and end markers (host-side
    evidence such as QEMU trace events); None if the markers are missing. With end None,
    up to the end of the log (what happens after the guest's last word: its power-off)."""
    try:
        i = next(k for k, l in enumerate(lines) if start in l)
        j = len(lines) if end is None else next(
            k for k, l in enumerate(lines) if end in l and k > i)
    except StopIteration:
        return None
    r = re.compile(regex)
    return sum(1 for l in lines[i:j] if r.search(l))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="", help="only runs whose name contains this")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--verbose", action="store_true", help="stream guest consoles")
    args = ap.parse_args()

    # A run marked "manual" (with the reason) runs only when -k names it.
    runs = [r for r in suite.RUNS if args.k in r["name"] and (args.k or not r.get("manual"))]
    for r in suite.RUNS:
        if r.get("manual") and r not in runs:
            print(f"# run {r['name']} only with -k {r['name']}: {r['manual']}")
    if args.list:
        for r in runs:
            print(r["name"], " ".join(r["tests"]))
        return 0

    kdir = subprocess.run([os.path.join(TOP, "scripts/build-kernel.sh")], check=True,
                          text=True, capture_output=True).stdout.split()[-1]
    logdir = os.path.join(TOP, "build", "logs")
    os.makedirs(logdir, exist_ok=True)

    results = []  # (passed, description)
    kunit_seen = set()
    t0 = time.time()
    # The tree itself (no guest): layering, unsafe, KUnit list, generated files.
    if not args.k or args.k == "static":
        for passed, desc in static_checks.run(suite):
            results.append((passed, desc))
            print(f"{'ok' if passed else 'not ok'} - {desc}", flush=True)
    for run in runs:
        name = run["name"]
        with tempfile.TemporaryDirectory(prefix="rn-check-") as tmp:
            script = os.path.join(tmp, "run.sh")
            with open(script, "w") as f:
                f.write("#!/bin/sh\n")
                for k, v in run.get("env", {}).items():
                    f.write(f"export {k}='{v}'\n")
                f.write("rc=0\n")
                for t in run["tests"]:
                    f.write(f"echo '# test {t}'\n")
                    f.write(f"sh /guest/tests/{t} || {{ r=$?; rc=1; "
                            f"echo \"rn-tap: not ok - {t} exited $r\"; }}\n")
                f.write("exit $rc\n")
            qemu_args = run.get("qemu", []) + suite.device_args(run, tmp)
            log = os.path.join(logdir, f"{name}.log")
            cmd = [sys.executable, os.path.join(TOP, "scripts/vm.py"), "--kdir", kdir,
                   "--script", script, "--log", log, "--cpus", str(run.get("cpus", 4)),
                   "--mem", str(run.get("mem", 1024)),
                   "--timeout", str(run.get("timeout", 600))]
            if run.get("append"):
                cmd += ["--append", run["append"]]
            for a in run.get("allow", []):
                cmd += ["--allow", a]
            for a in run.get("allow_nvme_err", []):
                cmd += ["--allow-nvme-err", a]
            for a in run.get("allow_reports", []):
                cmd += ["--allow-report", a]
            if not args.verbose:
                cmd.append("--quiet")
            cmd += ["--"] + qemu_args
            start = time.time()
            print(f"# run {name}: {run.get('cpus', 4)} vCPUs, {' '.join(run['tests'])}",
                  flush=True)
            proc = subprocess.run(cmd, text=True, capture_output=not args.verbose)
            took = time.time() - start
            with open(log, errors="replace") as f:
                lines = f.read().splitlines()
            if proc.returncode != 0 and not args.verbose:
                for l in (proc.stdout or "").splitlines():
                    if l.startswith("vm:"):
                        print("# " + l)
            for line in lines:
                m = TAP.search(line)
                if m:
                    results.append((m.group(1) == "ok", f"{name}: {m.group(2)}"))
                    print(f"{m.group(1)} - {name}: {m.group(2)}", flush=True)
            for passed, desc, _skip in parse_kunit(lines):
                if desc in kunit_seen:
                    continue
                kunit_seen.add(desc)
                results.append((passed, desc))
                print(f"{'ok' if passed else 'not ok'} - {desc}", flush=True)
            for what, regex, mark, lo, hi in run.get("host_checks", []):
                if mark == "exit":
                    # From the guest's exit report to the end: its power-off.
                    n = count_between(lines, regex, "rn-exit:", None)
                else:
                    n = count_between(lines, regex, f"rn-mark: {mark}-start",
                                      f"rn-mark: {mark}-end")
                good = n is not None and n >= lo and (hi is None or n <= hi)
                results.append((good, f"{name}: {what} ({n} seen)"))
                print(f"{'ok' if good else 'not ok'} - {name}: {what} ({n} seen)", flush=True)
            splat = any(l.startswith("vm: SPLAT") or l.startswith("vm: NVME_ERR") for l in lines)
            timeout = any("vm: TIMEOUT" in l for l in lines)
            clean = not splat and not timeout and proc.returncode in (0, 1)
            desc = (f"{name}: guest finished without kernel splat, QEMU NVMe protocol error "
                    f"or timeout ({took:.0f}s)")
            results.append((clean and (proc.returncode == 0 or not splat), desc))
            print(f"{'ok' if results[-1][0] else 'not ok'} - {desc}", flush=True)
            if proc.returncode != 0 and not any(not p for p, d in results if d.startswith(name)):
                results.append((False, f"{name}: guest run exited {proc.returncode}"))
                print(f"not ok - {name}: guest run exited {proc.returncode} (see {log})")

    for s in suite.KUNIT_SUITES:
        if not any(d.startswith(f"kunit {s}.") for d in kunit_seen) and not args.k:
            results.append((False, f"kunit suite {s} ran"))
            print(f"not ok - kunit suite {s} ran (no KTAP seen)")

    print(f"\nTAP version 13\n1..{len(results)}")
    for i, (p, d) in enumerate(results, 1):
        print(f"{'ok' if p else 'not ok'} {i} - {d}")
    npass = sum(1 for p, _ in results if p)
    nfail = len(results) - npass
    print(f"# logs in {logdir}; {time.time() - t0:.0f}s")
    print(f"{npass} passed, {nfail} failed")
    return 0 if nfail == 0 and results else 1


if __name__ == "__main__":
    sys.exit(main())
