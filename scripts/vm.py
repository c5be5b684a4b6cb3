#!/usr/bin/env python3
"""Boot a QEMU guest with rust_nvme, run a guest script, report its exit status.

The guest boots our kernel with an initramfs (scripts/mkinitramfs.sh) plus a small
per-run archive holding the modules, tests/ and the script to run. The serial console is
streamed to stdout (and to --log). The run fails when:
  * the guest script exits non-zero (its status is returned),
  * the console shows a kernel splat (BUG, WARNING, Oops, lockdep, DMA-API, KFENCE, ...),
  * the timeout expires (status 124).
A guest that prints nothing from init within --boot-timeout is treated as a boot failure
(TCG very rarely hangs before init) and booted once more, saying so.

Host commands: a guest line "rn-host: <HMP command>" runs that command on the QEMU monitor
(e.g. "device_del nvme0"); its output is written back to the console log as "rn-host-out:".
"rn-host-after: <seconds> <HMP command>" runs it that many seconds later (e.g. a
"system_wakeup" for a guest that is about to suspend itself).

Usage:
  scripts/vm.py [--cpus N] [--mem MB] [--timeout S] [--script FILE | --shell]
                [--allow REGEX] [--log FILE] [--kdir DIR] -- <extra QEMU args ...>
Without extra QEMU args, one controller (serial "rnvme0") with a 1 GiB file-backed namespace
is attached.
"""
import argparse
import glob
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Console lines that fail a run. "WARNING:" catches WARN_ON; "BUG:" catches lockdep's
# "BUG: sleeping function ..." etc; lockdep reports start with a line of '=' then a title.
SPLAT = re.compile(
    r"(BUG:|WARNING:|Oops|Kernel panic|general protection fault|"
    r"possible recursive locking|possible circular locking|inconsistent lock state|"
    r"INFO: possible|DMA-API: (?!preallocated)|KFENCE:|rcu: INFO|"
    r"UBSAN:|kernel BUG at|Call Trace:|RIP: )"
)
# QEMU trace events from its NVMe device for protocol violations (-trace above).
NVME_ERR = re.compile(r"pci_nvme_(err|ub)_")

# The kernel's last word at power-off. ACPI S5 ends QEMU asynchronously: under TCG the
# guest CPU runs on for a moment, returns from the power-off and warns in do_exit (irqs
# off); nothing after this line is the driver's doing.
POWER_DOWN = "reboot: Power down"

# A guest that prints nothing for this long after init has its vCPUs' state written to
# the log (the code each runs, and kernel text addresses on its stack), up to
# STALL_DUMPS times: it tells a driver spinning with interrupts off from a host that
# stopped running the guest.
STALL_S = 60
STALL_DUMPS = 3

BENIGN = [
    re.compile(r"DMA-API: preallocated"),
    re.compile(r"DMA-API: debugging enabled by kernel config"),
    re.compile(r"RCU lockdep checking is enabled"),
]

DEFAULT_DEVICE = [
    "-drive", "if=none,id=nvm0,format=raw,file={img0}",
    "-device", "nvme,id=nvme0,serial=rnvme0,drive=nvm0",
]


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout.strip()


def kdir():
    return sh([os.path.join(TOP, "scripts/build-kernel.sh")]).splitlines()[-1]


def build_initrd(kd, script, workdir, shell, module=None, extra_modules=()):
    """Base image (cached) + a per-run cpio with modules, tests and the script."""
    base = sh([os.path.join(TOP, "scripts/mkinitramfs.sh"), kd]).splitlines()[-1]
    ov = os.path.join(workdir, "overlay")
    os.makedirs(os.path.join(ov, "guest"))
    mods = os.path.join(ov, "guest/modules")
    os.makedirs(mods)
    ko = module or os.path.join(TOP, "rust_nvme.ko")
    if os.path.exists(ko):
        shutil.copy(ko, mods)
    # Further modules under names of their own (`make bench --base`: the module of
    # another revision as rust_nvme_base.ko).
    for extra in extra_modules:
        src, _, name = extra.partition("=")
        shutil.copy(src, os.path.join(mods, name or os.path.basename(src)))
    for rel in ("drivers/nvme/host/nvme.ko", "drivers/nvme/host/nvme-core.ko",
                "drivers/block/null_blk/null_blk.ko"):
        p = os.path.join(kd, rel)
        if os.path.exists(p):
            shutil.copy(p, mods)
    shutil.copytree(os.path.join(TOP, "tests"), os.path.join(ov, "guest/tests"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.py", "*.c"))
    # Test programs: static binaries, so that the guest needs no C library for them.
    for src in glob.glob(os.path.join(TOP, "tests", "*.c")):
        out = os.path.join(ov, "guest/tests", os.path.basename(src)[:-2])
        subprocess.run(["gcc", "-static", "-O2", "-Wall", "-Werror", "-o", out, src],
                       check=True)
    if script:
        shutil.copy(script, os.path.join(ov, "guest/run.sh"))
    if shell:
        open(os.path.join(ov, "guest/shell"), "w").close()
    cpio = os.path.join(workdir, "overlay.cpio")
    files = sh(["find", "."], cwd=ov)
    subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-O", cpio], input=files,
                   text=True, cwd=ov, check=True)
    out = os.path.join(workdir, "initrd.img")
    with open(out, "wb") as o:
        for part in (base, cpio):
            with open(part, "rb") as f:
                shutil.copyfileobj(f, o)
    return out


class Monitor:
    """HMP over a unix socket; one command at a time."""

    def __init__(self, path):
        self.path = path

    def cmd(self, line):
        """Runs one command line, or several separated by newlines on one connection (so
        that a `cpu N` selection holds for the next)."""
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        try:
            s.connect(self.path)
            out = b""
            s.sendall(line.encode() + b"\n")
            deadline = time.time() + 5
            while time.time() < deadline:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                out += chunk
                if out.count(b"(qemu)") >= line.count("\n") + 2:
                    break
            return out.decode(errors="replace")
        finally:
            s.close()


def demangle(name):
    """The path of a Rust v0 symbol (`_RNvNtCs.._9rust_nvme4ctrl4scan` ->
    `rust_nvme::ctrl::scan`), roughly; other names unchanged."""
    if not name.startswith("_R"):
        return name
    parts, i = [], 2
    while i < len(name):
        if name[i].isdigit() and (i == 0 or not name[i - 1].isdigit()):
            j = i
            while j < len(name) and name[j].isdigit():
                j += 1
            n = int(name[i:j])
            ident = name[j:j + n]
            if n and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ident):
                parts.append(ident)
                i = j + n
                continue
        i += 1
    return "::".join(parts) or name


class Symbols:
    """Kernel text symbols (System.map) and those of modules whose text base the guest
    reported ("rn-modtext: NAME ADDR" from tests/lib.sh). Loaded only when a dump needs
    them: the console reader must never stall, or QEMU's serial port drops output."""

    def __init__(self, kd, modules):
        self.kd, self.modules = kd, modules  # modules: name -> .ko path
        self.bases = {}  # module name -> text base, the latest load
        self.syms = None  # (addr, name), sorted, once loaded

    def add_module(self, name, base):
        self.bases[name] = base
        self.syms = None

    def load(self):
        self.syms = []
        try:
            with open(os.path.join(self.kd, "System.map")) as f:
                for l in f:
                    a, t, n = l.split()[:3]
                    if t in "tTwW":
                        self.syms.append((int(a, 16), n))
        except OSError:
            pass
        for name, base in self.bases.items():
            ko = self.modules.get(name)
            if not ko or not os.path.exists(ko):
                continue
            out = subprocess.run(["nm", "--defined-only", ko], text=True,
                                 capture_output=True).stdout
            for l in out.splitlines():
                f = l.split()
                if len(f) == 3 and f[1] in "tT":
                    self.syms.append((base + int(f[0], 16), f"{demangle(f[2])} [{name}]"))
        self.syms.sort()

    def lookup(self, addr):
        import bisect
        if self.syms is None:
            self.load()
        i = bisect.bisect_right(self.syms, (addr, "\uffff")) - 1
        if i < 0 or addr >> 47 != 0x1ffff:
            return None
        a, n = self.syms[i]
        off = addr - a
        return f"{n}+{off:#x}" if off < 0x10000 else None


def dump_vcpus(monitor, symbols, log):
    """Writes each vCPU's RIP and the kernel text addresses found on its stack."""
    regs = monitor.cmd("info registers -a")
    cpus = re.findall(r"CPU#(\d+)(.*?)(?=CPU#\d+|\(qemu\)|$)", regs, re.S)
    for n, body in cpus:
        rip = re.search(r"RIP=([0-9a-f]+)", body)
        rsp = re.search(r"RSP=([0-9a-f]+)", body)
        fl = re.search(r"RFL=([0-9a-f]+)", body)
        if not rip or not rsp:
            continue
        ip = int(rip.group(1), 16)
        irqs = "on" if fl and int(fl.group(1), 16) & 0x200 else "off"
        where = symbols.lookup(ip) or f"{ip:#x}"
        stack = monitor.cmd(f"cpu {n}\nx/96gx 0x{rsp.group(1)}")
        seen = []
        for w in re.findall(r"0x([0-9a-f]{16})\b", stack.split("x/96gx", 1)[-1]):
            name = symbols.lookup(int(w, 16))
            if name and name not in seen:
                seen.append(name)
        log.write(f"vm: STALL cpu {n}: irqs {irqs}, at {where}; on its stack: "
                  f"{' < '.join(seen[:20])}\n")
    log.flush()


# The first line of a kernel report, and its end (the stack trace's last line).
REPORT_START = re.compile(r"(WARNING:|BUG:|Oops|INFO:|general protection fault|={20,})")
REPORT_END = re.compile(r"(</TASK>|---\[ end trace)")


def allowed_report(lines, i, specs):
    """Whether console line i belongs to a multi-line report that an --allow-report spec
    names: every comma-separated substring of the spec occurs in the report. A report runs
    from the nearest report header at or before line i (at most 200 lines back) to the end
    of its stack trace (at most 200 lines on); guest output interleaved with it (the
    console is shared) stays inside."""
    if not specs:
        return False
    start = max(0, i - 200)
    for j in range(i, start - 1, -1):
        if REPORT_START.search(lines[j]):
            start = j
            break
    end = min(len(lines), i + 200)
    for j in range(i, end):
        if REPORT_END.search(lines[j]):
            end = j + 1
            break
    text = "\n".join(lines[start:end])
    return any(all(part in text for part in spec.split(",")) for spec in specs)


def boot(args, qemu_extra, initrd, kd, workdir, log):
    """One boot. Returns (status, saw_init)."""
    mon = os.path.join(workdir, "mon.sock")
    if os.path.exists(mon):
        os.unlink(mon)
    append = "console=ttyS0 panic=-1 oops=panic loglevel=7 " \
             "modprobe.blacklist=nvme " + args.append
    cmd = [args.qemu, "-M", args.machine, "-accel", args.accel, "-cpu", args.cpu,
           "-smp", str(args.cpus), "-m", str(args.mem),
           "-kernel", os.path.join(kd, "arch/x86/boot/bzImage"), "-initrd", initrd,
           "-append", append, "-no-reboot", "-display", "none", "-vga", "none",
           "-monitor", f"unix:{mon},server,nowait", "-nodefaults"]
    if args.shell:
        cmd += ["-serial", "stdio"]
    else:
        cmd += ["-chardev", "stdio,id=ser0,signal=off", "-serial", "chardev:ser0"]
    if not args.no_nvme_trace:
        # QEMU's NVMe protocol checker: these events mean the driver broke a rule.
        cmd += ["-trace", "pci_nvme_err_*", "-trace", "pci_nvme_ub_*"]
    cmd += qemu_extra
    if args.verbose:
        print("vm: " + " ".join(cmd), file=sys.stderr)
    if args.shell:
        rc = subprocess.call(cmd)
        return rc, True
    # The guest's console (stdout) and QEMU's own lines (stderr: trace events, errors)
    # are read apart and merged a whole line at a time: the serial port hands over a
    # guest line byte by byte, and a trace line must not land inside one (it would
    # garble a test result or a KUnit line).
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    monitor = Monitor(mon)
    start = time.time()
    saw_init = False
    status = None
    splats = []
    nvme_errs = []
    lines = []
    buf = b""
    ebuf = b""  # QEMU's stderr, up to its last newline
    streams = [p.stdout, p.stderr]
    console_closed = False
    timed_out = False
    exited = None
    later = []  # (due, HMP command)
    symbols = Symbols(kd, {"rust_nvme": args.module or os.path.join(TOP, "rust_nvme.ko"),
                           "nvme": os.path.join(kd, "drivers/nvme/host/nvme.ko"),
                           "nvme_core": os.path.join(kd, "drivers/nvme/host/nvme-core.ko")})
    last_out = time.time()
    dumps = 0
    powered_down = None  # when the kernel said "reboot: Power down"
    exit_seen = None
    try:
        while True:
            now = time.time()
            # Powered down: what QEMU does from here is not the guest's doing (under
            # TCG it may not exit by itself). Reported and not powered down within a
            # minute: the power-off hangs (the driver's .shutdown, say).
            if powered_down and now - powered_down > 5:
                break
            if status is not None and not powered_down and now - exit_seen > 60:
                print("vm: the guest did not power off within 60 s of its exit report",
                      flush=True)
                log.write("vm: POWEROFF HANG\n")
                timed_out = True
                break
            for due, c in [x for x in later if x[0] <= now]:
                later.remove((due, c))
                out = monitor.cmd(c)
                log.write(f"rn-host-out: ({c}) {out.strip()}\n")
            if not saw_init and now - start > args.boot_timeout:
                break
            if now - start > args.timeout:
                timed_out = True
                break
            if saw_init and status is None and dumps < STALL_DUMPS \
                    and now - last_out > STALL_S * (dumps + 1):
                dumps += 1
                msg = f"vm: no console output for {int(now - last_out)} s; vCPU state:"
                print(msg, flush=True)
                log.write(msg + "\n")
                dump_vcpus(monitor, symbols, log)
            r, _, _ = select.select(streams, [], [], 1.0)
            if not r:
                if p.poll() is not None:
                    break
                continue
            last_out = time.time()
            dumps = 0
            ready = []
            for f in r:
                chunk = os.read(f.fileno(), 65536)
                if f is p.stderr:
                    if not chunk:
                        streams.remove(f)  # QEMU closed it; the console goes on
                        continue
                    ebuf += chunk
                    while b"\n" in ebuf:
                        raw, ebuf = ebuf.split(b"\n", 1)
                        ready.append(raw)
                    continue
                if not chunk:
                    console_closed = True
                    continue
                buf += chunk
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    ready.append(raw)
            if console_closed and not ready:
                break
            for raw in ready:
                line = raw.decode(errors="replace").rstrip("\r")
                log.write(line + "\n")
                log.flush()
                if not args.quiet:
                    print(line, flush=True)
                if "rn-init: started" in line:
                    saw_init = True
                m = re.search(r"rn-exit: (\d+)", line)
                if m:
                    status = int(m.group(1))
                    exit_seen = time.time()
                m = re.search(r"rn-modtext: (\w+) (0x[0-9a-f]+)", line)
                if m:
                    symbols.add_module(m.group(1), int(m.group(2), 16))
                m = re.search(r"rn-host-after: (\d+) (.*)$", line)
                if m:
                    later.append((time.time() + int(m.group(1)), m.group(2).strip()))
                m = re.search(r"rn-host: (.*)$", line)
                if m:
                    out = monitor.cmd(m.group(1).strip())
                    for l in out.splitlines():
                        log.write("rn-host-out: " + l + "\n")
                if NVME_ERR.search(line) and not any(re.search(a, line) for a in args.allow_nvme_err):
                    nvme_errs.append(line)
                if POWER_DOWN in line and powered_down is None:
                    powered_down = time.time()
                if powered_down is None and SPLAT.search(line) \
                        and not any(b.search(line) for b in BENIGN) \
                        and not any(re.search(a, line) for a in args.allow):
                    splats.append((len(lines), line))
                lines.append(line)
    finally:
        # QEMU ending by itself before init ran is a configuration error, not a hang.
        exited = p.poll()
        if p.poll() is None:
            # Give poweroff a moment before pulling the plug.
            try:
                p.wait(timeout=3 if status is not None else 0.1)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    if not saw_init:
        if exited not in (None, 0):
            raise QemuFailed(exited)
        return None, False
    if timed_out:
        print(f"vm: TIMEOUT after {args.timeout}s", flush=True)
        log.write(f"vm: TIMEOUT after {args.timeout}s\n")
        return 124, True
    splats = [l for i, l in splats if not allowed_report(lines, i, args.allow_report)]
    if splats:
        print("vm: kernel splat on the console:", flush=True)
        for s in splats[:10]:
            print("vm:   " + s, flush=True)
        log.write("vm: SPLAT\n")
        return 1 if not status else status, True
    if nvme_errs:
        print("vm: QEMU's NVMe device reported protocol errors:", flush=True)
        for s in nvme_errs[:10]:
            print("vm:   " + s, flush=True)
        log.write("vm: NVME_ERR\n")
        return 1 if not status else status, True
    if status is None:
        print("vm: guest ended without reporting an exit status", flush=True)
        return 1, True
    return status, True


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpus", type=int, default=int(os.environ.get("RN_CPUS", 4)))
    ap.add_argument("--mem", type=int, default=int(os.environ.get("RN_MEM", 1024)))
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--boot-timeout", type=int, default=90)
    ap.add_argument("--script")
    ap.add_argument("--shell", action="store_true")
    ap.add_argument("--allow", action="append", default=[],
                    help="regex of a console line that is not a splat for this run")
    ap.add_argument("--allow-report", action="append", default=[],
                    help="comma-separated substrings that together identify a multi-line "
                         "kernel report (e.g. a known lockdep report) that is not a failure")
    ap.add_argument("--allow-nvme-err", action="append", default=[],
                    help="regex of a QEMU pci_nvme_err_*/ub_* trace line that is expected "
                         "(runs that inject faults)")
    ap.add_argument("--no-nvme-trace", action="store_true")
    ap.add_argument("--log")
    ap.add_argument("--kdir")
    ap.add_argument("--module", help="rust_nvme.ko to use (default: the one built here)")
    ap.add_argument("--extra-module", action="append", default=[],
                    help="PATH[=NAME]: another module file for the guest's /guest/modules")
    ap.add_argument("--append", default="")
    ap.add_argument("--machine", default=os.environ.get("RN_MACHINE", "q35"))
    ap.add_argument("--accel", default=os.environ.get("RN_ACCEL", "tcg,thread=multi"))
    ap.add_argument("--cpu", default=os.environ.get("RN_CPU", "max"))
    ap.add_argument("--qemu", default=os.environ.get("RN_QEMU", "qemu-system-x86_64"))
    ap.add_argument("--quiet", action="store_true", help="do not stream the console")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("qemu_args", nargs="*")
    args = ap.parse_args()
    if not args.script and not args.shell:
        ap.error("give --script FILE or --shell")

    kd = args.kdir or kdir()
    with tempfile.TemporaryDirectory(prefix="rn-vm-") as workdir:
        extra = args.qemu_args
        if not extra:
            img = os.path.join(workdir, "nvm0.img")
            subprocess.run(["truncate", "-s", "1G", img], check=True)
            extra = [a.format(img0=img) for a in DEFAULT_DEVICE]
        initrd = build_initrd(kd, args.script, workdir, args.shell, args.module, args.extra_module)
        log = open(args.log, "w") if args.log else open(os.devnull, "w")
        with log:
            for attempt in (1, 2):
                try:
                    status, saw_init = boot(args, extra, initrd, kd, workdir, log)
                except QemuFailed as e:
                    msg = f"vm: QEMU exited with status {e.args[0]} before the guest booted " \
                        "(see its error above)"
                    print(msg, flush=True)
                    log.write(msg + "\n")
                    return 125
                if saw_init:
                    return status
                msg = f"vm: no output from init within {args.boot_timeout}s (boot failure)"
                if attempt == 1:
                    msg += "; booting once more"
                print(msg, flush=True)
                log.write(msg + "\n")
        return 125


class QemuFailed(Exception):
    """QEMU exited by itself (with its status) before the guest's init ran."""


if __name__ == "__main__":
    sys.exit(main())
