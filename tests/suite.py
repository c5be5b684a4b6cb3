"""The device configurations `make check` boots, and the guest tests each one runs.

Each run: name, guest tests (tests/*.sh, run in order), vCPUs, memory, timeout, and
the emulated controllers. `devices` is a list of dicts handed to device_args():
  {"serial": "rnvme0", "size": "1G", "lbads": 512, "nvme": "extra nvme opts",
   "ns": [{"size": ..., "lbads": ...}, ...]}
"""
import os
import subprocess

# What QEMU 7.2's NVMe device exposes (checked against the driver's probe message).
QEMU_ENV = {
    "RN_EXPECT_VS": "1.4.0",
    "RN_EXPECT_CAP": "CAP.MQES 2047 CAP.TO 15 CAP.DSTRD 0",
}

# The module's KUnit suites: each must report in the run.
KUNIT_SUITES = ["rust_nvme_regs", "rust_nvme_cmd", "rust_nvme_queue", "rust_nvme_prp",
                "rust_nvme_ctrl", "rust_nvme_ctrl_state", "rust_nvme_ctrl_facts",
                "rust_nvme_queue_count",
                "rust_nvme_sgl", "rust_nvme_shadow_doorbell", "rust_nvme_identify",
                "rust_nvme_identify_ns", "rust_nvme_status", "rust_nvme_ioctl",
                "rust_nvme_ioctl_access", "rust_nvme_aen", "rust_nvme_cmd_effects",
                "rust_nvme_subsys", "rust_nvme_timeout", "rust_nvme_transfer_len",
                "rust_nvme_log_pages", "rust_nvme_quirks", "rust_nvme_errors",
                "rust_nvme_zns", "rust_nvme_pi", "rust_nvme_hwmon", "rust_nvme_mq",
                "rust_nvme_uring", "rust_nvme_io_uring", "rust_nvme_lba"]

# Read errors: always at byte 4096*512 (LBA 4096), once at LBA 2048.
BLKDEBUG = """
[inject-error]
event = "read_aio"
iotype = "read"
errno = "5"
sector = "4096"

[inject-error]
event = "read_aio"
iotype = "read"
errno = "5"
sector = "2048"
once = "on"
"""

# The one lockdep report allowed: pciehp's reset_lock vs pci_rescan_remove_lock.
PCIEHP_LOCKDEP = "possible circular locking dependency,pciehp_unconfigure_device," \
    "pci_rescan_remove_lock,reset_lock"

# A PRP transfer longer than its PRPs describe: more than PRP1's page to go, PRP2 = 0
# (QEMU's trace: trans_len is what PRP1 covers, len the whole transfer).
SHORT_PRP = r"pci_nvme_map_prp trans_len (\d+) len (?!\1 )\d+ prp1 0x[0-9a-f]+ prp2 0x0 "

# QEMU's trace of an SGL whose DPTR descriptor is a Last Segment (a list of several
# Data Block descriptors) rather than a single Data Block (type 0x0).
SGL_LIST = r"pci_nvme_map_sgl .*type 0x3 "

# A zoned namespace (ZNS command set) of 4 MiB zones.
ZONED_NS = "zoned=true,zoned.zone_size=4M,zoned.zone_capacity=4M"
# One whose zones the block layer cannot take (3 MiB: not a power of two).
ZONED_NS_NPOW2 = "zoned=true,zoned.zone_size=3M,zoned.zone_capacity=3M"

# A zoned namespace whose limits a test can hit: 16 MiB zones of 12 MiB capacity, at most
# 4 open and 6 active zones.
ZONED_LIMITS = ("zoned=true,zoned.zone_size=16M,zoned.zone_capacity=12M,zoned.max_open=4,"
                "zoned.max_active=6")

# Namespace identifiers the tools run gives QEMU.
TOOLS_UUID = "6a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3"
TOOLS_EUI64 = "0x0011223344556677"

RUNS = [
    {
        "name": "probe",
        "tests": ["test_probe_reports_cap.sh", "test_load_unload.sh"],
        "cpus": 2,
        "devices": [{"serial": "rnvme0", "size": "64M"}],
        "env": QEMU_ENV,
        "timeout": 300,
    },
    {
        # A namespace whose every read takes 10 s (null-co latency) with io_timeout=1:
        # the first scan's partition read never completes in time; removal still ends.
        "name": "probe-stuck",
        "tests": ["test_probe_with_stuck_namespace.sh"],
        "cpus": 2,
        "devices": [{"serial": "rnvme0", "ns": [
            {"size": "64M", "drive": "driver=null-co,size=67108864,latency-ns=10000000000,"
                                     "read-zeroes=on"}]}],
        "timeout": 600,
    },
    {
        # The common case: 4 vCPUs, one queue per CPU, MSI-X, 512 B LBAs, MDTS 512 KiB.
        "name": "io-default",
        "tests": ["test_data_integrity.sh", "test_ext4.sh", "test_unbind_bind_reload.sh", "test_reset_controller.sh"],
        "cpus": 4,
        "devices": [{"serial": "rnvme0", "size": "2G"}],
        "env": {"RN_DISKS": "nvme0n1:4194304:512", "RN_EXPECT_MAX_KB": "512",
                "RN_EXPECT_QUEUES": "4 I/O queue(s) of depth 1024 (64 granted, 5 vector(s))"},
        "timeout": 900,
    },
    {
        # A throttled backend keeps requests in flight inside the device, so resets
        # must cancel and requeue them without losing or corrupting data.
        "name": "reset-throttled",
        "tests": ["test_reset_controller.sh"],
        "cpus": 2,
        "devices": [{"serial": "rnvme0", "ns": [
            {"size": "256M", "drive_opts": "throttling.iops-total=400"}]}],
        "env": {"RN_EXPECT_REQUEUE": "1"},
        "timeout": 600,
    },
    {
        # Faults: injected read errors (blkdebug) and a lost completion (fail_io_timeout).
        "name": "faults",
        "tests": ["test_device_io_errors.sh", "test_timeout_injected.sh", "test_timeout_every_state.sh",
                  "test_bus_master_lost.sh", "test_controller_gone.sh"],
        "cpus": 2,
        "devices": [{"serial": "rnvme0", "ns": [{"size": "256M", "blkdebug": BLKDEBUG}]}],
        "env": {"RN_BAD_LBA": "4096", "RN_FLAKY_LBA": "2048"},
        # The injected read errors, and the DMA failures (and resulting fatal status)
        # once test_bus_master_lost and test_controller_gone turn bus mastering off.
        "allow_nvme_err": [r"pci_nvme_err_aio .* status 0x281",
                           r"pci_nvme_err_req_status .* status 0x281 opc 0x2",
                           r"pci_nvme_err_addr_(read|write)", r"pci_nvme_err_cfs"],
        "timeout": 900,
    },
    {
        # Surprise removal under load: the controller sits behind a PCIe root port with
        # native hotplug; the guest asks the host to device_del it while fio runs.
        "name": "hotplug",
        "tests": ["test_surprise_removal.sh"],
        "cpus": 2,
        "qemu": ["-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off",
                 "-device", "pcie-root-port,id=rp0,chassis=1,slot=1"],
        "devices": [{"serial": "rnvme0", "size": "256M", "bus": "rp0"}],
        # pciehp's own lockdep report on removal, seen with the C driver as well.
        "allow_reports": [PCIEHP_LOCKDEP],
        "timeout": 600,
    },
    {
        # The PCI driver's life cycle under verified I/O: FLR through sysfs, suspend to
        # RAM (S3 enabled, woken through the monitor), and the power-off with the
        # driver bound (the root port is there for error recovery by hand). Nothing here may make the device read or
        # write a stale address: no QEMU protocol error is allowed.
        "name": "lifecycle",
        "tests": ["test_flr_suspend_shutdown.sh"],
        "cpus": 2,
        # Freed memory is zeroed, so that memory freed too early (by a reset or
        # resume) shows up as corruption of what reuses it; KFENCE watches too.
        "append": "init_on_free=1",
        "qemu": ["-global", "ICH9-LPC.disable_s3=0",
                 "-device", "pcie-root-port,id=rp0,chassis=1,slot=1",
                 "-trace", "pci_nvme_mmio_shutdown_set"],
        "devices": [{"serial": "rnvme0", "size": "256M", "bus": "rp0"}],
        "host_checks": [
            ("power-off with the driver bound sets CC.SHN (.shutdown)",
             r"pci_nvme_mmio_shutdown_set", "exit", 1, None),
        ],
        "timeout": 600,
    },
    {
        # PCIe errors injected by QEMU on the ports in front of two controllers: one
        # behind a root port and a switch, one right below a root port.
        "name": "aer",
        "tests": ["test_aer_error_recovery.sh"],
        "cpus": 2,
        "qemu": ["-device", "pcie-root-port,id=rp0,chassis=1,slot=1",
                 "-device", "x3130-upstream,id=up0,bus=rp0",
                 "-device", "xio3130-downstream,id=dp0,bus=up0,chassis=2,slot=0",
                 "-device", "pcie-root-port,id=rp1,chassis=3,slot=2"],
        "devices": [{"serial": "rnvme0", "size": "256M", "bus": "dp0"},
                    {"serial": "rnvme1", "size": "64M", "bus": "rp1"}],
        "timeout": 600,
    },
    {
        # All DMA bounced: buffers at a 512-byte page offset must stay PRP-describable,
        # and no transfer may be larger than a bounce slot run can hold.
        "name": "swiotlb",
        "tests": ["test_swiotlb_bounce.sh"],
        "cpus": 2,
        "append": "swiotlb=force,track_hiwater",
        "devices": [{"serial": "rnvme0", "size": "128M"}],
        "timeout": 300,
    },
    {
        # Bad input: parameters, the C core loaded, a controller with no namespace, a
        # namespace the block layer cannot address, malformed requests.
        "name": "bad-input",
        "tests": ["test_bad_parameters_and_namespaces.sh", "test_short_user_buffer.sh", "test_other_command_sets.sh"],
        "cpus": 2,
        "qemu": ["-trace", "pci_nvme_map_prp"],
        # nvme1's second namespace has 8 bytes of metadata in extended LBAs, not PI:
        # a disk of capacity 0, as nvme.ko gives it; its third is zoned
        # (CSI 2): a zoned disk; its fourth has 3 MiB zones, not a power of two: a
        # hidden disk of capacity 0, as nvme.ko gives it. QEMU's PRP trace shows what
        # the short-buffer probe sent.
        "devices": [{"serial": "rnvme0", "ns": []},
                    {"serial": "rnvme1", "ns": [{"size": "64M"},
                                                {"size": "16M", "opts": "ms=8,mset=1"},
                                                {"size": "16M", "opts": ZONED_NS},
                                                {"size": "16M", "opts": ZONED_NS_NPOW2}]}],
        "env": {"RN_DISK": "nvme1n1", "RN_ZNS": "nvme1n3", "RN_ZNS_BAD": "nvme1n4"},
        "host_checks": [
            ("the short-buffer probe's commands reached the device with PRPs",
             r"pci_nvme_map_prp trans_len", "shortbuf", 1, None),
            ("and none moved more than its PRPs describe",
             SHORT_PRP, "shortbuf", 0, 0),
        ],
        "timeout": 480,
    },
    {
        # The controller as tools see it: sysfs as nvme.ko lays it out, /dev/nvme0 and
        # /dev/ng0n1 and their ioctls through Debian's nvme-cli, namespace
        # attach/detach through AENs.
        # A subsystem (so that namespace 2 can start detached), a UUID and an EUI64.
        "name": "tools",
        "tests": ["test_sysfs_layout.sh", "test_nvme_cli.sh", "test_generic_chardev.sh",
                  "test_io64_cmd_vec.sh", "test_namespace_attach.sh", "test_smart_warning_and_hwmon.sh"],
        "cpus": 2,
        "qemu": ["-device", "nvme-subsys,id=subsys0,nqn=rnvme-subsys"],
        "devices": [{"serial": "rnvme0", "nvme": "subsys=subsys0", "ns": [
            {"size": "256M", "opts": f"uuid={TOOLS_UUID},eui64={TOOLS_EUI64}"},
            {"size": "128M", "opts": "detached=on"}]}],
        "env": {"RN_SERIAL": "rnvme0", "RN_MODEL": "QEMU NVMe Ctrl",
                "RN_SUBNQN": "nqn.2019-08.org.qemu:rnvme-subsys", "RN_QUEUES": "3",
                "RN_UUID": TOOLS_UUID, "RN_EUI": "00 11 22 33 44 55 66 77"},
        # The ioctl probe's deliberately invalid Identify CNS; and reads of the fio that
        # runs while namespace 2 is detached which reach the controller after the detach
        # and before the driver has handled its notice (QEMU answers Invalid Field for a
        # namespace that is not attached, tracing nsid 0; C gets the same answer).
        "allow_nvme_err": [r"pci_nvme_err_invalid_identify_cns .*cns=0xfe",
                           r"pci_nvme_err_req_status .* status 0x4002 opc 0x6",
                           r"pci_nvme_err_req_status cid \d+ nsid 0 status 0x4002 opc 0x2$"],
        "timeout": 600,
    },
    {
        # The quirks parameter, and quirks QEMU can show, compared with nvme.ko; QEMU's
        # trace shows the SQ priority and the commands that wrote zeroes.
        "name": "quirks",
        "tests": ["test_quirks_parameter.sh"],
        "cpus": 2,
        "qemu": ["-trace", "pci_nvme_create_sq", "-trace", "pci_nvme_dsm",
                 "-trace", "pci_nvme_io_cmd"],
        # Identifiers that bogus_nid hides and ^bogus_nid shows.
        "devices": [{"serial": "rnvme0", "ns": [
            {"size": "64M", "opts": f"uuid={TOOLS_UUID},eui64={TOOLS_EUI64}"}]}],
        "host_checks": [
            ("medium_prio_sq: I/O SQs created with QPRIO medium",
             r"pci_nvme_create_sq .*qflags=5\b", "prio", 1, None),
            ("qdepth_one: and with 2 entries (qsize 1)",
             r"pci_nvme_create_sq .*sqid=[1-9]\d*, .*qsize=1, qflags=5\b", "prio", 1, None),
            ("and no deeper one", r"pci_nvme_create_sq .*sqid=[1-9]\d*, .*qsize=([2-9]|\d\d+),",
             "prio", 0, 0),
            ("and none without", r"pci_nvme_create_sq .*qflags=1\b", "prio", 0, 0),
            ("deallocate_zeroes: the zeroes went out as Dataset Management",
             r"pci_nvme_dsm ", "wz", 1, None),
            ("and not as Write Zeroes", r"pci_nvme_io_cmd .*opc 0x8\b", "wz", 0, 0),
        ],
        "timeout": 600,
    },
    {
        # nvme-core's debugfs fault injection, blktests nvme/039, compared with nvme.ko.
        "name": "fault-inject",
        "tests": ["test_debugfs_fault_injection.sh"],
        "cpus": 2,
        "devices": [{"serial": "rnvme0", "size": "64M"}],
        # nvme/039's admin command 0x96, which QEMU refuses (the status reported is the
        # injected one).
        "allow_nvme_err": [r"pci_nvme_err_invalid_admin_opc invalid admin opcode 0x96",
                           r"pci_nvme_err_req_status .* status 0x4001 opc 0x96$"],
        "timeout": 600,
    },
    {
        # io_uring passthrough on /dev/ng0n1 and /dev/nvme0, compared with nvme.ko; a
        # poll queue for the polled jobs.
        "name": "uring",
        "tests": ["test_io_uring_passthrough.sh"],
        "cpus": 2,
        "devices": [{"serial": "rnvme0", "size": "256M"}],
        "timeout": 600,
    },
    {
        # Zoned namespaces as zoned block devices, compared with nvme.ko: nsid 1 with
        # zone capacity below the zone size and open/active limits a test can hit
        # (ZASL 5: 128 KiB appends), a conventional nsid 2 beside it, a zoned nsid 3
        # without limits for a zoned btrfs, whose data goes out as Zone Append (0x7d).
        "name": "zoned",
        "tests": ["test_zoned_namespaces.sh"],
        "cpus": 2,
        "qemu": ["-trace", "pci_nvme_io_cmd"],
        "devices": [{"serial": "rnvme0", "nvme": "zoned.zasl=5", "ns": [
            {"size": "256M", "opts": ZONED_LIMITS},
            {"size": "64M"},
            {"size": "2G", "opts": "zoned=true,zoned.zone_size=16M"}]}],
        "host_checks": [
            ("the zoned btrfs wrote with Zone Append", r"pci_nvme_io_cmd .*opc 0x7d", "btrfs",
             1, None),
        ],
        # What the tests provoke on purpose, with both drivers: a fifth open zone (Too
        # Many Open Zones) and a write off the write pointer (Zone Invalid Write).
        "allow_nvme_err": [r"pci_nvme_err_insuff_open_res max_open=4",
                           r"pci_nvme_err_req_status .* status 0x41be opc 0x79$",
                           r"pci_nvme_err_write_not_at_wp",
                           r"pci_nvme_err_req_status .* status 0x41bc opc 0x1$"],
        "timeout": 900,
    },
    {
        # Metadata and protection information, one controller with each of QEMU's
        # shapes, and 16 KiB logical blocks; every one compared with nvme.ko.
        "name": "metadata",
        "tests": ["test_metadata_and_pi.sh", "test_passthrough_metadata.sh"],
        "cpus": 2,
        # test_passthrough_metadata's corrupted guards, refused by QEMU on purpose (with both drivers).
        "allow_nvme_err": [r"pci_nvme_err_req_status .* status 0x282 opc 0x[12]$"],
        "devices": [{"serial": "rnvme0", "ns": [
            {"size": "64M", "opts": "ms=8,mset=0,pi=1"},
            {"size": "64M", "lbads": 4096, "opts": "ms=8,pi=3"},
            {"size": "64M", "opts": "ms=16,pi=0"},
            {"size": "64M", "opts": "ms=8,mset=1,pi=1"},
            {"size": "64M", "lbads": 4096, "opts": "ms=16,pi=1,pif=2"},
            {"size": "64M", "lbads": 16384}]}],
        "timeout": 600,
    },
    {
        # Two controllers of one subsystem (QEMU wants one serial), namespace 1 shared
        # by both: namespace 2 (detached) is attached to controller 0 through controller
        # 1, so controller 0 learns of it only from its Namespace Attribute Changed event.
        "name": "ns-events",
        "tests": ["test_shared_subsystem.sh"],
        "cpus": 2,
        "qemu": ["-device", "nvme-subsys,id=subsys1,nqn=rnvme-events"],
        "devices": [{"serial": "rnvme0", "nvme": "subsys=subsys1", "ns": [
                        {"size": "64M"}, {"size": "64M", "opts": "detached=on"}]},
                    {"serial": "rnvme0", "nvme": "subsys=subsys1", "ns": []}],
        "timeout": 300,
    },
    {
        # Format NVM through nvme-cli: the disk keeps its name and gets the new LBA size;
        # a format with metadata leaves a disk of capacity 0, as nvme.ko without integrity.
        "name": "format",
        "tests": ["test_format_nvm.sh"],
        "cpus": 2,
        "devices": [{"serial": "rnvme0", "size": "64M"}],
        "timeout": 300,
    },
    {
        # A Format NVM that takes seconds, with admin_timeout=1: the caller's timeout,
        # admin commands beside it, unbind during it. Namespace 2 is a null-co backend
        # whose every request takes 2 s (reads return zeroes, writes are dropped), so
        # that its format (one Write Zeroes inside QEMU) does; namespace 1 holds data.
        "name": "format-slow",
        "tests": ["test_long_admin_command.sh", "test_generic_chardev_removal.sh"],
        "cpus": 2,
        # Freed memory is zeroed: a command buffer freed before its command ends shows.
        "append": "init_on_free=1",
        "devices": [{"serial": "rnvme0", "ns": [
            {"size": "64M"},
            {"size": "64M", "drive": "driver=null-co,size=67108864,latency-ns=2000000000,"
                                     "read-zeroes=on"}]}],
        "timeout": 300,
    },
    {
        # The rest of the data path: discard (drive with discard=unmap), write zeroes,
        # write cache on and off, the PRP/SGL choice at sgl_threshold 4096 and 0.
        "name": "datapath",
        "tests": ["test_discard.sh", "test_write_zeroes.sh", "test_write_cache.sh", "test_sgl_choice.sh"],
        "cpus": 2,
        "qemu": ["-trace", "pci_nvme_dsm", "-trace", "pci_nvme_flush_ns",
                 "-trace", "pci_nvme_map_sgl"],
        "devices": [{"serial": "rnvme0", "ns": [{"size": "256M", "drive_opts": "discard=unmap"}]}],
        "env": {"RN_EXPECT_DISCARD_MAX": "2147483136", "RN_EXPECT_DISCARD_GRAN": "4096",
                "RN_EXPECT_WZ_MAX": "524288"},
        "host_checks": [
            ("fio trims reach the device as DSM commands", r"pci_nvme_dsm ", "fio-trim", 1, None),
            ("discards merged by the block layer go out as multi-range DSM commands",
             r"pci_nvme_dsm .*nr ([2-9]|[1-9][0-9]+) ", "discard", 1, None),
            ("fstrim reaches the device as DSM commands", r"pci_nvme_dsm ", "fstrim", 1, None),
            ("no DSM for write zeroes", r"pci_nvme_dsm ", "wz", 0, 0),
            ("flushes reach the device with the write cache on", r"pci_nvme_flush_ns", "wc-on", 1, None),
            ("no flush is sent in write-through mode", r"pci_nvme_flush_ns", "wc-off", 0, 0),
            ("sgl_threshold=4096 maps multi-segment requests with SGLs", SGL_LIST, "sgl-4096", 1, None),
            ("sgl_threshold=0 maps gapless multi-segment requests with PRPs", SGL_LIST, "sgl-0", 0, 0),
            ("but a single segment beyond PRP2's reach as one SGL Data Block",
             r"pci_nvme_map_sgl .*type 0x0 len \d{5,}\b", "sgl-0", 1, None),
            ("a request with a gap inside a page goes out whole as an SGL (sgl_threshold=0)",
             SGL_LIST, "sgl-gap-0", 1, None),
            ("and with sgl_threshold=4096", SGL_LIST, "sgl-gap-4096", 1, None),
            ("passthrough I/O always uses SGLs (sgl_threshold=0)", r"pci_nvme_map_sgl ",
             "sgl-user-0", 2, None),
            ("and with sgl_threshold=4096", r"pci_nvme_map_sgl ", "sgl-user-4096", 2, None),
        ],
        "timeout": 900,
    },
    {
        # Shadow doorbells on and off, polled queues.
        "name": "fastpath",
        "tests": ["test_shadow_doorbell_and_polling.sh"],
        "cpus": 2,
        "qemu": ["-trace", "pci_nvme_dbbuf_config", "-trace", "pci_nvme_shadow_doorbell_*"],
        "devices": [{"serial": "rnvme0", "size": "256M"}],
        "host_checks": [
            ("the controller received Doorbell Buffer Config", r"pci_nvme_dbbuf_config", "dbbuf-on", 1, None),
            ("and none with shadow_doorbell=0", r"pci_nvme_dbbuf_config", "dbbuf-off", 0, 0),
            ("QEMU read shadow doorbells", r"pci_nvme_shadow_doorbell_(sq|cq)", "dbbuf-on", 1, None),
            ("no shadow doorbells with shadow_doorbell=0", r"pci_nvme_shadow_doorbell_(sq|cq)", "dbbuf-off", 0, 0),
        ],
        "timeout": 600,
    },
    {
        # Several namespaces: 512 B and 4 KiB LBAs, and one far beyond 2 TiB (sparse),
        # written at its very end; 2 vCPUs. NSIDs 1, 2 and 4: the third disk is nvme0n3,
        # as C numbers disks in scan order.
        "name": "io-multins",
        "tests": ["test_data_integrity.sh"],
        "cpus": 2,
        "devices": [{"serial": "rnvme0", "ns": [
            {"size": "1G", "lbads": 512},
            {"size": "1G", "lbads": 4096},
            {"size": "8T", "lbads": 4096, "nsid": 4},
        ]}],
        "env": {"RN_DISKS": "nvme0n1:2097152:512 nvme0n2:2097152:4096 nvme0n3:17179869184:4096",
                "RN_FIO_SIZE": "16M", "RN_FIO_JOBS": "2", "RN_FIO_AT_END": "1",
                "RN_EXPECT_NSIDS": "nvme0n1:1 nvme0n2:2 nvme0n3:4",
                "RN_EXPECT_QUEUES": "2 I/O queue(s) of depth 1024 (64 granted, 3 vector(s))"},
        "timeout": 900,
    },
    {
        # Fewer I/O queues after a reset, and more again, under verified fio: QEMU's
        # SR-IOV flexible queue resources (4 I/O queues, 2 of them flexible) taken from
        # the primary controller and given back with nvme virt-mgmt (needs a subsystem).
        "name": "queues",
        "tests": ["test_fewer_queues_after_reset.sh"],
        "cpus": 4,
        "qemu": ["-device", "nvme-subsys,id=subsys3,nqn=rnvme-sriov"],
        "devices": [{"serial": "rnvme0", "size": "256M",
                     "nvme": "subsys=subsys3,max_ioqpairs=4,sriov_max_vfs=1,"
                             "sriov_vq_flexible=2,sriov_vi_flexible=1"}],
        "env": {"RN_FLEX_QUEUES": "2", "RN_PRIVATE_QUEUES": "2"},
        "timeout": 600,
    },
    {
        # Fewer MSI-X vectors than CPUs (3 vectors, 4 CPUs: 2 I/O queues), a small
        # queue depth from the module parameter.
        "name": "io-fewvec",
        "tests": ["test_data_integrity.sh"],
        "cpus": 4,
        "devices": [{"serial": "rnvme0", "size": "1G", "nvme": "msix_qsize=3"}],
        "env": {"RN_DISKS": "nvme0n1:2097152:512", "RN_FIO_SIZE": "16M",
                "RN_PARAMS": "io_queue_depth=16",
                "RN_EXPECT_QUEUES": "2 I/O queue(s) of depth 16 (64 granted, 3 vector(s))"},
        "timeout": 900,
    },
    {
        # One shared vector for the admin queue and the only I/O queue; the controller
        # grants a single queue pair; MDTS 16 KiB (mdts=2): requests well beyond it.
        "name": "io-onevec-mdts16k",
        "tests": ["test_data_integrity.sh"],
        "cpus": 2,
        "devices": [{"serial": "rnvme0", "size": "1G",
                     "nvme": "msix_qsize=1,max_ioqpairs=1,mdts=2"}],
        "env": {"RN_DISKS": "nvme0n1:2097152:512", "RN_FIO_SIZE": "16M", "RN_EXPECT_MAX_KB": "16",
                "RN_EXPECT_QUEUES": "1 I/O queue(s) of depth 1024 (1 granted, 1 vector(s))"},
        "timeout": 900,
    },
    {
        # One vCPU, MDTS unlimited (mdts=0), 4 KiB LBAs.
        "name": "io-1cpu-nomdts",
        "tests": ["test_data_integrity.sh"],
        "cpus": 1,
        "devices": [{"serial": "rnvme0", "size": "1G", "lbads": 4096, "nvme": "mdts=0"}],
        # With SGLs and no MDTS, C's limits: 8 MiB transfers, 256 segments (one SGL list
        # page); 8 MiB requests verified, and nvme.ko's limits compared.
        "env": {"RN_DISKS": "nvme0n1:2097152:4096", "RN_FIO_SIZE": "16M", "RN_EXPECT_MAX_KB": "8192",
                "RN_EXPECT_MAX_SEGS": "256", "RN_BIG_BS": "8M", "RN_COMPARE_C_LIMITS": "1",
                "RN_EXPECT_QUEUES": "1 I/O queue(s) of depth 1024 (64 granted, 2 vector(s))"},
        "timeout": 900,
    },
]


def device_args(run, tmp):
    """QEMU arguments for the run's controllers; images are sparse files in tmp."""
    args = []
    for c, dev in enumerate(run.get("devices", [])):
        namespaces = dev.get("ns")
        if namespaces is None:
            namespaces = [{"size": dev.get("size", "1G"), "lbads": dev.get("lbads", 512)}]
        opts = dev.get("nvme", "")
        if dev.get("bus"):
            opts = f"bus={dev['bus']}" + (f",{opts}" if opts else "")
        args += ["-device", f"nvme,id=nvme{c},serial={dev['serial']}"
                 + (f",{opts}" if opts else "")]
        for n, ns in enumerate(namespaces, 1):
            img = os.path.join(tmp, f"nvme{c}n{n}.img")
            drive = ns.get("drive")
            if ns.get("blkdebug"):
                subprocess.run(["truncate", "-s", ns["size"], img], check=True)
                conf = os.path.join(tmp, f"nvme{c}n{n}.blkdebug")
                with open(conf, "w") as f:
                    f.write(ns["blkdebug"])
                drive = f"file=blkdebug:{conf}:{img},format=raw"
            if drive is None:
                subprocess.run(["truncate", "-s", ns["size"], img], check=True)
                drive = f"file={img},format=raw"
                if ns.get("drive_opts"):
                    drive += "," + ns["drive_opts"]
            args += ["-drive", f"if=none,id=nvm{c}n{n},{drive}",
                     "-device", f"nvme-ns,drive=nvm{c}n{n},bus=nvme{c},nsid={ns.get('nsid', n)},"
                     f"logical_block_size={ns.get('lbads', 512)},"
                     f"physical_block_size={ns.get('lbads', 512)}"
                     + (f",{ns['opts']}" if ns.get("opts") else "")]
    return args
