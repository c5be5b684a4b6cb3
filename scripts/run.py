#!/usr/bin/env python3
"""`make run`: boot a guest with one emulated NVMe controller, load rust_nvme, show it.

With a terminal on stdin you are left at a guest shell (`poweroff -f` leaves);
without one the guest powers off after the demo.
"""
import os
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
cmd = [sys.executable, os.path.join(TOP, "scripts/vm.py"),
       "--script", os.path.join(TOP, "scripts/run-guest.sh"), "--cpus", "2"]
if sys.stdin.isatty():
    cmd.append("--shell")
sys.exit(subprocess.call(cmd + sys.argv[1:]))
