// SPDX-License-Identifier: GPL-2.0

//! Identify data: the buffer Identify commands return into, the layouts of Identify
//! Controller (CNS 01h), the NVM command set's Identify Controller (CNS 06h) and Identify
//! Namespace (CNS 00h) (NVMe Base Specification 2.0, §5.17.2; NVM Command Set
//! Specification 1.0, §4.1.5), and what the driver makes of them.
//!
//! The layouts are `#[repr(C)]` with the spec's mnemonics as field names and reserved
//! ranges as byte arrays; each is copied out of the DMA buffer in one read. Multi-byte
//! fields are little-endian, as the CPU is (`crate::spec::cmd` checks that at build time).

use core::mem::offset_of;

use kernel::{
    device,
    dma::Coherent,
    io::{
        io_project,
        io_read,
        Io, //
    },
    prelude::*,
    sync::Arc,
    transmute, //
};

use crate::spec::{
    cmd::IDENTIFY_DATA_SIZE,
    identify_ns::MIN_LBA_SHIFT, //
};

/// A 4 KiB buffer for Identify data (and log pages of that size), copied out whole into
/// a layout after the command completes.
pub(crate) struct IdBuf(Coherent<[u8]>);

impl IdBuf {
    /// A zeroed buffer, shared: an admin command's slot keeps a reference while the
    /// controller may write it (`crate::ctrl`'s `DmaHold`).
    pub(crate) fn new(dev: &device::Device<device::Bound>) -> Result<Arc<Self>> {
        Ok(Arc::new(
            Self(Coherent::<u8>::zeroed_slice(
                dev,
                IDENTIFY_DATA_SIZE,
                GFP_KERNEL,
            )?),
            GFP_KERNEL,
        )?)
    }

    pub(crate) fn dma(&self) -> u64 {
        self.0.dma_address()
    }

    /// The byte at `off` (a field of a log page the driver has no layout for).
    pub(crate) fn u8_at(&self, off: usize) -> Result<u8> {
        Ok(io_read!(self.0, [try: off]))
    }

    /// A copy of the start of the buffer as the layout `T`, in one read: `T` is one of
    /// the Identify layouts below, or an array of dwords for a list (`[u32; N]`).
    ///
    /// # Errors
    ///
    /// `ENOMEM` when the copy cannot be allocated; `ERANGE` when `T` is larger than the
    /// buffer (not for the 4 KiB layouts).
    pub(crate) fn read<T>(&self) -> Result<KBox<T>>
    where
        T: transmute::AsBytes + transmute::FromBytes + Zeroable,
    {
        // On the heap: the layouts are 4 KiB, too large for the stack.
        let mut t = KBox::init(pin_init::init_zeroed::<T>(), GFP_KERNEL)?;
        let dst = t.as_bytes_mut();
        // The projection has exactly `dst.len()` bytes, so the copy's length check holds.
        io_project!(self.0, [try: ..dst.len()]).copy_to_slice(dst);
        Ok(t)
    }
}

/// A space-padded ASCII field of Identify data (serial, model, firmware).
#[derive(Clone, Copy)]
pub(crate) struct IdString<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> IdString<N> {
    /// The field `buf` without its trailing spaces and NULs.
    pub(crate) fn new(buf: &[u8; N]) -> Self {
        Self {
            buf: *buf,
            len: buf
                .iter()
                .rposition(|&c| c != b' ' && c != 0)
                .map_or(0, |p| p + 1),
        }
    }

    /// The text without padding; non-ASCII bytes are shown as '?'.
    pub(crate) fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
    }
}

/// Length of an NVMe Qualified Name field (SUBNQN).
pub(crate) const NQN_SIZE: usize = 256;

/// A Power State Descriptor (NVMe Base Specification 2.0, Figure 276; C: `struct
/// nvme_id_power_state`).
#[repr(C)]
#[derive(FromBytes, IntoBytes, Zeroable)]
pub(crate) struct PowerState {
    /// Maximum Power.
    pub(crate) mp: u16,
    rsvd2: u8,
    /// Max Power Scale (bit 0), Non-Operational State (bit 1).
    pub(crate) flags: u8,
    /// Entry Latency, microseconds.
    pub(crate) enlat: u32,
    /// Exit Latency, microseconds.
    pub(crate) exlat: u32,
    /// Relative Read Throughput.
    pub(crate) rrt: u8,
    /// Relative Read Latency.
    pub(crate) rrl: u8,
    /// Relative Write Throughput.
    pub(crate) rwt: u8,
    /// Relative Write Latency.
    pub(crate) rwl: u8,
    /// Idle Power.
    pub(crate) idlp: u16,
    /// Idle Power Scale (bits 7:6).
    pub(crate) ips: u8,
    rsvd19: u8,
    /// Active Power.
    pub(crate) actp: u16,
    /// Active Power Workload (bits 2:0) and Active Power Scale (bits 7:6).
    pub(crate) apw_aps: u8,
    rsvd23: [u8; 9],
}
kernel::static_assert!(size_of::<PowerState>() == 32);

/// Identify Controller (CNS 01h; NVMe Base Specification 2.0, Figure 275; C: `struct
/// nvme_id_ctrl`).
#[repr(C)]
#[derive(FromBytes, IntoBytes, Zeroable)]
pub(crate) struct IdentifyCtrl {
    /// PCI Vendor ID.
    pub(crate) vid: u16,
    /// PCI Subsystem Vendor ID.
    pub(crate) ssvid: u16,
    /// Serial Number (ASCII, space padded).
    pub(crate) sn: [u8; 20],
    /// Model Number (ASCII, space padded).
    pub(crate) mn: [u8; 40],
    /// Firmware Revision (ASCII, space padded).
    pub(crate) fr: [u8; 8],
    /// Recommended Arbitration Burst.
    pub(crate) rab: u8,
    /// IEEE OUI Identifier.
    pub(crate) ieee: [u8; 3],
    /// Controller Multi-Path I/O and Namespace Sharing Capabilities.
    pub(crate) cmic: u8,
    /// Maximum Data Transfer Size, log2 in units of CAP.MPSMIN pages; 0 is unlimited.
    pub(crate) mdts: u8,
    /// Controller ID.
    pub(crate) cntlid: u16,
    /// Version.
    pub(crate) ver: u32,
    /// RTD3 Resume Latency, microseconds.
    pub(crate) rtd3r: u32,
    /// RTD3 Entry Latency, microseconds.
    pub(crate) rtd3e: u32,
    /// Optional Asynchronous Events Supported.
    pub(crate) oaes: u32,
    /// Controller Attributes.
    pub(crate) ctratt: u32,
    rsvd100: [u8; 11],
    /// Controller Type.
    pub(crate) cntrltype: u8,
    /// FRU Globally Unique Identifier.
    pub(crate) fguid: [u8; 16],
    /// Command Retry Delay Time 1, 100 ms units.
    pub(crate) crdt1: u16,
    /// Command Retry Delay Time 2, 100 ms units.
    pub(crate) crdt2: u16,
    /// Command Retry Delay Time 3, 100 ms units.
    pub(crate) crdt3: u16,
    rsvd134: [u8; 122],
    /// Optional Admin Command Support.
    pub(crate) oacs: u16,
    /// Abort Command Limit (0's based).
    pub(crate) acl: u8,
    /// Asynchronous Event Request Limit (0's based).
    pub(crate) aerl: u8,
    /// Firmware Updates.
    pub(crate) frmw: u8,
    /// Log Page Attributes.
    pub(crate) lpa: u8,
    /// Error Log Page Entries (0's based).
    pub(crate) elpe: u8,
    /// Number of Power States Support (0's based).
    pub(crate) npss: u8,
    /// Admin Vendor Specific Command Configuration.
    pub(crate) avscc: u8,
    /// Autonomous Power State Transition Attributes.
    pub(crate) apsta: u8,
    /// Warning Composite Temperature Threshold, kelvin.
    pub(crate) wctemp: u16,
    /// Critical Composite Temperature Threshold, kelvin.
    pub(crate) cctemp: u16,
    /// Maximum Time for Firmware Activation, 100 ms units.
    pub(crate) mtfa: u16,
    /// Host Memory Buffer Preferred Size, 4 KiB units.
    pub(crate) hmpre: u32,
    /// Host Memory Buffer Minimum Size, 4 KiB units.
    pub(crate) hmmin: u32,
    /// Total NVM Capacity, bytes (128-bit).
    pub(crate) tnvmcap: [u8; 16],
    /// Unallocated NVM Capacity, bytes (128-bit).
    pub(crate) unvmcap: [u8; 16],
    /// Replay Protected Memory Block Support.
    pub(crate) rpmbs: u32,
    /// Extended Device Self-test Time, minutes.
    pub(crate) edstt: u16,
    /// Device Self-test Options.
    pub(crate) dsto: u8,
    /// Firmware Update Granularity, 4 KiB units.
    pub(crate) fwug: u8,
    /// Keep Alive Support, 100 ms units.
    pub(crate) kas: u16,
    /// Host Controlled Thermal Management Attributes.
    pub(crate) hctma: u16,
    /// Minimum Thermal Management Temperature, kelvin.
    pub(crate) mntmt: u16,
    /// Maximum Thermal Management Temperature, kelvin.
    pub(crate) mxtmt: u16,
    /// Sanitize Capabilities.
    pub(crate) sanicap: u32,
    /// Host Memory Buffer Minimum Descriptor Entry Size, 4 KiB units.
    pub(crate) hmminds: u32,
    /// Host Memory Maximum Descriptors Entries.
    pub(crate) hmmaxd: u16,
    /// NVM Set Identifier Maximum.
    pub(crate) nsetidmax: u16,
    /// Endurance Group Identifier Maximum.
    pub(crate) endgidmax: u16,
    /// ANA Transition Time, seconds.
    pub(crate) anatt: u8,
    /// Asymmetric Namespace Access Capabilities.
    pub(crate) anacap: u8,
    /// ANA Group Identifier Maximum.
    pub(crate) anagrpmax: u32,
    /// Number of ANA Group Identifiers.
    pub(crate) nanagrpid: u32,
    /// Persistent Event Log Size, 64 KiB units.
    pub(crate) pels: u32,
    rsvd356: [u8; 156],
    /// Submission Queue Entry Size: maximum (7:4) and required (3:0), log2 bytes.
    pub(crate) sqes: u8,
    /// Completion Queue Entry Size: maximum (7:4) and required (3:0), log2 bytes.
    pub(crate) cqes: u8,
    /// Maximum Outstanding Commands (fabrics).
    pub(crate) maxcmd: u16,
    /// Number of Namespaces.
    pub(crate) nn: u32,
    /// Optional NVM Command Support.
    pub(crate) oncs: u16,
    /// Fused Operation Support.
    pub(crate) fuses: u16,
    /// Format NVM Attributes.
    pub(crate) fna: u8,
    /// Volatile Write Cache: bit 0 is "present".
    pub(crate) vwc: u8,
    /// Atomic Write Unit Normal (0's based, logical blocks).
    pub(crate) awun: u16,
    /// Atomic Write Unit Power Fail (0's based, logical blocks).
    pub(crate) awupf: u16,
    /// NVM (I/O Command Set) Vendor Specific Command Configuration.
    pub(crate) nvscc: u8,
    /// Namespace Write Protection Capabilities.
    pub(crate) nwpc: u8,
    /// Atomic Compare & Write Unit (0's based, logical blocks).
    pub(crate) acwu: u16,
    /// Optional Copy Formats Supported.
    pub(crate) ocfs: u16,
    /// SGL Support.
    pub(crate) sgls: u32,
    /// Maximum Number of Allowed Namespaces.
    pub(crate) mnan: u32,
    rsvd544: [u8; 224],
    /// NVM Subsystem NVMe Qualified Name, NUL padded.
    pub(crate) subnqn: [u8; NQN_SIZE],
    rsvd1024: [u8; 768],
    /// I/O Queue Command Capsule Supported Size (fabrics).
    pub(crate) ioccsz: u32,
    /// I/O Queue Response Capsule Supported Size (fabrics).
    pub(crate) iorcsz: u32,
    /// In Capsule Data Offset (fabrics).
    pub(crate) icdoff: u16,
    /// Fabrics Controller Attributes.
    pub(crate) fcatt: u8,
    /// Maximum SGL Data Block Descriptors.
    pub(crate) msdbd: u8,
    /// Optional Fabric Commands Support.
    pub(crate) ofcs: u16,
    /// Discovery Controller Type.
    pub(crate) dctype: u8,
    rsvd1807: [u8; 241],
    /// Power State Descriptors 0 to 31.
    pub(crate) psd: [PowerState; 32],
    /// Vendor Specific.
    pub(crate) vs: [u8; 1024],
}
kernel::static_assert!(size_of::<IdentifyCtrl>() == IDENTIFY_DATA_SIZE);
// Offsets of Figure 275.
kernel::static_assert!(offset_of!(IdentifyCtrl, sn) == 4);
kernel::static_assert!(offset_of!(IdentifyCtrl, fr) == 64);
kernel::static_assert!(offset_of!(IdentifyCtrl, cmic) == 76);
kernel::static_assert!(offset_of!(IdentifyCtrl, mdts) == 77);
kernel::static_assert!(offset_of!(IdentifyCtrl, cntlid) == 78);
kernel::static_assert!(offset_of!(IdentifyCtrl, ver) == 80);
kernel::static_assert!(offset_of!(IdentifyCtrl, oaes) == 92);
kernel::static_assert!(offset_of!(IdentifyCtrl, cntrltype) == 111);
kernel::static_assert!(offset_of!(IdentifyCtrl, crdt1) == 128);
kernel::static_assert!(offset_of!(IdentifyCtrl, oacs) == 256);
kernel::static_assert!(offset_of!(IdentifyCtrl, lpa) == 261);
kernel::static_assert!(offset_of!(IdentifyCtrl, wctemp) == 266);
kernel::static_assert!(offset_of!(IdentifyCtrl, tnvmcap) == 280);
kernel::static_assert!(offset_of!(IdentifyCtrl, sanicap) == 328);
kernel::static_assert!(offset_of!(IdentifyCtrl, nanagrpid) == 348);
kernel::static_assert!(offset_of!(IdentifyCtrl, sqes) == 512);
kernel::static_assert!(offset_of!(IdentifyCtrl, nn) == 516);
kernel::static_assert!(offset_of!(IdentifyCtrl, oncs) == 520);
kernel::static_assert!(offset_of!(IdentifyCtrl, vwc) == 525);
kernel::static_assert!(offset_of!(IdentifyCtrl, acwu) == 532);
kernel::static_assert!(offset_of!(IdentifyCtrl, sgls) == 536);
kernel::static_assert!(offset_of!(IdentifyCtrl, subnqn) == 768);
kernel::static_assert!(offset_of!(IdentifyCtrl, ioccsz) == 1792);
kernel::static_assert!(offset_of!(IdentifyCtrl, dctype) == 1806);
kernel::static_assert!(offset_of!(IdentifyCtrl, psd) == 2048);
kernel::static_assert!(offset_of!(IdentifyCtrl, vs) == 3072);

// SAFETY: `IdentifyCtrl` is `repr(C)` with only integers and arrays of them (and of
// `PowerState`, likewise), laid out without padding (`IntoBytes` derived above checks
// that), so every byte is initialised and any byte pattern is a valid value.
unsafe impl transmute::AsBytes for IdentifyCtrl {}
// SAFETY: As above: any byte pattern is a valid `IdentifyCtrl`.
unsafe impl transmute::FromBytes for IdentifyCtrl {}

impl IdentifyCtrl {
    /// What the driver keeps of it.
    pub(crate) fn to_id_ctrl(&self) -> IdCtrl {
        IdCtrl {
            sn: IdString::new(&self.sn),
            mn: IdString::new(&self.mn),
            fr: IdString::new(&self.fr),
            mdts: self.mdts,
            oacs: self.oacs,
            nn: self.nn,
            oncs: self.oncs,
            vwc: self.vwc,
            sgls: self.sgls,
            lpa: self.lpa,
        }
    }

    /// How the controller names itself, with the subsystem NQN it goes by (the made-up
    /// one when `ignore_subnqn`: C's `ignore_dev_subnqn` quirk).
    pub(crate) fn to_identity(&self, ignore_subnqn: bool) -> Identity {
        let given = if ignore_subnqn {
            [0; NQN_SIZE]
        } else {
            self.subnqn
        };
        Identity {
            vid: self.vid,
            sn: self.sn,
            mn: self.mn,
            fr: self.fr,
            cntlid: self.cntlid,
            cmic: self.cmic,
            subnqn: Identity::subsys_nqn(&given, self.vid, self.ssvid, &self.sn, &self.mn),
            cntrltype: self.cntrltype,
            dctype: self.dctype,
            hmpre: self.hmpre,
        }
    }
}

/// I/O Command Set specific Identify Controller for the NVM command set (CNS 06h, CSI 0;
/// NVM Command Set Specification 1.0, Figure 93; C: `struct nvme_id_ctrl_nvm`).
#[repr(C)]
#[derive(FromBytes, IntoBytes, Zeroable)]
pub(crate) struct IdentifyCtrlNvm {
    /// Verify Size Limit, log2 in CAP.MPSMIN pages; 0: not reported.
    pub(crate) vsl: u8,
    /// Write Zeroes Size Limit, log2 in CAP.MPSMIN pages; 0: not reported.
    pub(crate) wzsl: u8,
    /// Write Uncorrectable Size Limit, log2 in CAP.MPSMIN pages; 0: not reported.
    pub(crate) wusl: u8,
    /// Dataset Management Ranges Limit; 0: not reported.
    pub(crate) dmrl: u8,
    /// Dataset Management Range Size Limit in logical blocks; 0: not reported.
    pub(crate) dmrsl: u32,
    /// Dataset Management Size Limit in logical blocks; 0: not reported.
    pub(crate) dmsl: u64,
    rsvd16: [u8; 4080],
}
kernel::static_assert!(size_of::<IdentifyCtrlNvm>() == IDENTIFY_DATA_SIZE);
kernel::static_assert!(offset_of!(IdentifyCtrlNvm, wzsl) == 1);
kernel::static_assert!(offset_of!(IdentifyCtrlNvm, dmrsl) == 4);
kernel::static_assert!(offset_of!(IdentifyCtrlNvm, dmsl) == 8);

// SAFETY: `IdentifyCtrlNvm` is `repr(C)` with only integers and a byte array, without
// padding (`IntoBytes` derived above checks that): every byte is initialised and any byte
// pattern is a valid value.
unsafe impl transmute::AsBytes for IdentifyCtrlNvm {}
// SAFETY: As above: any byte pattern is a valid `IdentifyCtrlNvm`.
unsafe impl transmute::FromBytes for IdentifyCtrlNvm {}

impl IdentifyCtrlNvm {
    /// The limits the driver uses.
    pub(crate) fn limits(&self) -> NvmCtrlLimits {
        NvmCtrlLimits {
            wzsl: self.wzsl,
            dmrsl: self.dmrsl,
        }
    }
}

/// The Active Namespace ID list (CNS 02h): up to 1024 namespace IDs, ending at the first
/// 0.
pub(crate) type NsIdList = [u32; IDENTIFY_DATA_SIZE / 4];

/// The Commands Supported and Effects log page (NVMe Base Specification 2.0, Figure 210)
/// as dwords: 256 admin, then 256 I/O command entries, then reserved.
pub(crate) type EffectsLog = [u32; IDENTIFY_DATA_SIZE / 4];

/// A Namespace Identification Descriptor list (CNS 03h), parsed by
/// [`NsIds::merge_descs`].
pub(crate) type NsDescList = [u8; IDENTIFY_DATA_SIZE];

/// What the driver keeps of Identify Controller (CNS 01h).
#[derive(Clone, Copy)]
pub(crate) struct IdCtrl {
    /// Serial Number.
    pub(crate) sn: IdString<20>,
    /// Model Number.
    pub(crate) mn: IdString<40>,
    /// Firmware Revision.
    pub(crate) fr: IdString<8>,
    /// Maximum Data Transfer Size, log2 in units of CAP.MPSMIN pages; 0 is unlimited.
    pub(crate) mdts: u8,
    /// Optional Admin Command Support.
    pub(crate) oacs: u16,
    /// Number of Namespaces.
    pub(crate) nn: u32,
    /// Optional NVM Command Support.
    pub(crate) oncs: u16,
    /// Volatile Write Cache: bit 0 is "present".
    pub(crate) vwc: u8,
    /// SGL Support.
    pub(crate) sgls: u32,
    /// Log Page Attributes (bit 1: Commands Supported and Effects per command set).
    pub(crate) lpa: u8,
}

/// How the controller names itself: what sysfs shows under `/sys/class/nvme/nvme<N>` and
/// `/sys/class/nvme-subsystem`, byte for byte as the C driver shows it (serial, model and
/// firmware keep their space padding).
#[derive(Clone, Copy)]
pub(crate) struct Identity {
    /// PCI Vendor ID.
    pub(crate) vid: u16,
    /// Serial Number, space padded.
    pub(crate) sn: [u8; 20],
    /// Model Number, space padded.
    pub(crate) mn: [u8; 40],
    /// Firmware Revision, space padded.
    pub(crate) fr: [u8; 8],
    /// Controller ID.
    pub(crate) cntlid: u16,
    /// Controller Multi-Path I/O and Namespace Sharing Capabilities.
    pub(crate) cmic: u8,
    /// NVM Subsystem NQN, NUL padded (C: `nvme_init_subnqn`).
    pub(crate) subnqn: [u8; NQN_SIZE],
    /// Controller Type (1: I/O, 2: discovery, 3: administrative; 0: not reported).
    pub(crate) cntrltype: u8,
    /// Discovery Controller Type.
    pub(crate) dctype: u8,
    /// Host Memory Buffer Preferred Size, 4 KiB units (0: the controller wants none).
    pub(crate) hmpre: u32,
}

/// The prefix of the NQN the C driver makes up for a controller without SUBNQN.
const FAKE_NQN_PREFIX: &[u8] = b"nqn.2014.08.org.nvmexpress:";

impl Identity {
    /// The subsystem NQN as text, for messages.
    pub(crate) fn nqn_str(&self) -> &str {
        core::str::from_utf8(Self::until_nul(&self.subnqn)).unwrap_or("(not UTF-8)")
    }

    /// The subsystem NQN: SUBNQN when the controller reports one, else the C driver's
    /// made-up "nqn.2014.08.org.nvmexpress:<vid><ssvid><serial><model>".
    pub(crate) fn subsys_nqn(
        subnqn: &[u8; NQN_SIZE],
        vid: u16,
        ssvid: u16,
        sn: &[u8; 20],
        mn: &[u8; 40],
    ) -> [u8; NQN_SIZE] {
        let len = subnqn.iter().position(|&c| c == 0).unwrap_or(NQN_SIZE);
        if len > 0 && len < NQN_SIZE {
            let mut out = [0u8; NQN_SIZE];
            out[..len].copy_from_slice(&subnqn[..len]);
            return out;
        }
        let mut out = [0u8; NQN_SIZE];
        let mut w = 0;
        let mut put = |b: &[u8]| {
            out[w..w + b.len()].copy_from_slice(b);
            w += b.len();
        };
        put(FAKE_NQN_PREFIX);
        put(&hex4(vid));
        put(&hex4(ssvid));
        put(sn);
        put(mn);
        out
    }

    /// The bytes of a NUL-terminated field.
    pub(crate) fn until_nul(b: &[u8]) -> &[u8] {
        &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
    }

    /// A field without its trailing spaces and NULs (as C's `wwid` fallback trims).
    pub(crate) fn trimmed(b: &[u8]) -> &[u8] {
        &b[..b
            .iter()
            .rposition(|&c| c != b' ' && c != 0)
            .map_or(0, |p| p + 1)]
    }
}

/// Four lowercase hex digits.
fn hex4(v: u16) -> [u8; 4] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    [
        HEX[usize::from(v >> 12)],
        HEX[usize::from(v >> 8 & 0xf)],
        HEX[usize::from(v >> 4 & 0xf)],
        HEX[usize::from(v & 0xf)],
    ]
}

/// ONCS bit 2: Dataset Management.
pub(crate) const ONCS_DSM: u16 = 1 << 2;
/// ONCS bit 3: Write Zeroes.
pub(crate) const ONCS_WRITE_ZEROES: u16 = 1 << 3;

/// The NVM command set limits of Identify Controller CNS 06h.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct NvmCtrlLimits {
    /// Write Zeroes Size Limit, log2 in CAP.MPSMIN pages; 0: not reported.
    pub(crate) wzsl: u8,
    /// Dataset Management Range Size Limit in logical blocks; 0: not reported.
    pub(crate) dmrsl: u32,
}

impl NvmCtrlLimits {
    /// Largest discard in 512-byte sectors (C: `max_hw_discard_sectors`).
    pub(crate) fn max_discard_sectors(&self, lba_shift: u32) -> u32 {
        let s = lba_shift.saturating_sub(MIN_LBA_SHIFT);
        match self.dmrsl {
            d if d != 0 && u64::from(d) << s <= u64::from(u32::MAX) => d << s,
            _ => u32::MAX,
        }
    }

    /// Largest write zeroes in 512-byte sectors: WZSL if reported, else the transfer
    /// limit (C: `max_zeroes_sectors`).
    pub(crate) fn max_write_zeroes_sectors(&self, mps_min_shift: u32, max_hw_sectors: u32) -> u32 {
        if self.wzsl == 0 {
            return max_hw_sectors;
        }
        let shift = (u32::from(self.wzsl) + mps_min_shift).saturating_sub(MIN_LBA_SHIFT);
        1u32.checked_shl(shift).unwrap_or(u32::MAX)
    }
}

/// VWC bit 0: a volatile write cache is present.
pub(crate) const VWC_PRESENT: u8 = 1 << 0;

/// A zeroed layout with `bytes` written at `off`, for the tests of the layouts.
#[cfg(CONFIG_KUNIT = "y")]
pub(crate) fn test_layout<T>(fields: &[(usize, &[u8])]) -> Result<KBox<T>>
where
    T: transmute::AsBytes + transmute::FromBytes + Zeroable,
{
    let mut t = KBox::init(pin_init::init_zeroed::<T>(), GFP_KERNEL)?;
    let b = t.as_bytes_mut();
    for (off, v) in fields {
        b.get_mut(*off..*off + v.len())
            .ok_or(EINVAL)?
            .copy_from_slice(v);
    }
    Ok(t)
}

#[kunit_tests(rust_nvme_identify)]
mod tests {
    use super::*;

    #[test]
    fn identify_controller_layout() -> Result {
        // Fields at the offsets of Figure 275, as QEMU fills them.
        let c = test_layout::<IdentifyCtrl>(&[
            (0, &0x1b36u16.to_le_bytes()),
            (2, &0x1af4u16.to_le_bytes()),
            (4, b"rnvme0              "),
            (24, b"QEMU NVMe Ctrl                          "),
            (64, b"8.2.2   "),
            (76, &[0x02, 7]),
            (78, &0x1234u16.to_le_bytes()),
            (80, &0x0002_0000u32.to_le_bytes()),
            (92, &0x0000_0100u32.to_le_bytes()),
            (256, &0x010au16.to_le_bytes()),
            (259, &[3, 0, 0x0e]),
            (512, &[0x66, 0x44]),
            (516, &256u32.to_le_bytes()),
            (520, &0x015du16.to_le_bytes()),
            (525, &[0x07]),
            (536, &0x0010_0001u32.to_le_bytes()),
            (768, b"nqn.2019-08.org.qemu:rnvme0"),
            (4095, &[0xee]),
        ])?;
        assert_eq!((c.vid, c.ssvid, c.cmic, c.mdts), (0x1b36, 0x1af4, 2, 7));
        assert_eq!((c.cntlid, c.ver, c.oaes), (0x1234, 0x0002_0000, 0x100));
        assert_eq!(
            (c.oacs, c.aerl, c.lpa, c.sqes, c.cqes),
            (0x10a, 3, 0x0e, 0x66, 0x44)
        );
        assert_eq!((c.nn, c.oncs, c.vwc, c.sgls), (256, 0x15d, 7, 0x0010_0001));
        assert_eq!(c.vs[1023], 0xee);
        let id = c.to_id_ctrl();
        assert_eq!(
            (id.sn.as_str(), id.mn.as_str(), id.fr.as_str()),
            ("rnvme0", "QEMU NVMe Ctrl", "8.2.2")
        );
        assert_eq!(
            (id.mdts, id.oacs, id.nn, id.oncs, id.vwc),
            (7, 0x10a, 256, 0x15d, 7)
        );
        let ident = c.to_identity(false);
        assert_eq!((ident.vid, ident.cntlid, ident.cmic), (0x1b36, 0x1234, 2));
        assert_eq!(&ident.sn[..6], b"rnvme0");
        assert_eq!(ident.nqn_str(), "nqn.2019-08.org.qemu:rnvme0");

        let n = test_layout::<IdentifyCtrlNvm>(&[(1, &[5]), (4, &4194303u32.to_le_bytes())])?;
        let l = n.limits();
        assert_eq!((l.wzsl, l.dmrsl), (5, 4194303));
        Ok(())
    }

    #[test]
    fn subsystem_nqn() {
        let sn = *b"rnvme0              ";
        let mn = *b"QEMU NVMe Ctrl                          ";
        let mut given = [0u8; NQN_SIZE];
        given[..27].copy_from_slice(b"nqn.2019-08.org.qemu:rnvme0");
        let nqn = Identity::subsys_nqn(&given, 0x1b36, 0x1af4, &sn, &mn);
        assert_eq!(Identity::until_nul(&nqn), b"nqn.2019-08.org.qemu:rnvme0");
        // No SUBNQN: C's made-up NQN keeps serial and model padding.
        let nqn = Identity::subsys_nqn(&[0; NQN_SIZE], 0x1b36, 0x1af4, &sn, &mn);
        let n = Identity::until_nul(&nqn);
        assert_eq!(n.len(), 27 + 8 + 20 + 40);
        assert_eq!(&n[..35], b"nqn.2014.08.org.nvmexpress:1b361af4");
        assert_eq!(&n[35..41], b"rnvme0");
        // A field filling all 256 bytes is not NUL terminated: not used.
        let nqn = Identity::subsys_nqn(&[b'x'; NQN_SIZE], 1, 2, &sn, &mn);
        assert_eq!(&nqn[..35], b"nqn.2014.08.org.nvmexpress:00010002");
        assert_eq!(Identity::trimmed(&sn), b"rnvme0");
        assert_eq!(Identity::trimmed(b"    "), b"");
    }

    #[test]
    fn discard_and_write_zeroes_limits() {
        // QEMU 7.2, 512-byte LBAs: DMRSL INT_MAX / 512, no WZSL, MDTS 512 KiB. C's limits:
        // discard 2147483136 bytes, write zeroes 524288.
        let nvm = NvmCtrlLimits {
            wzsl: 0,
            dmrsl: 4194303,
        };
        assert_eq!(u64::from(nvm.max_discard_sectors(9)) << 9, 2147483136);
        assert_eq!(nvm.max_write_zeroes_sectors(12, 1024), 1024);
        // DMRSL 0 is unlimited.
        assert_eq!(NvmCtrlLimits::default().max_discard_sectors(12), u32::MAX);
        // DMRSL too large for 32-bit sectors: unlimited, as in C.
        assert_eq!(
            NvmCtrlLimits {
                wzsl: 0,
                dmrsl: u32::MAX
            }
            .max_discard_sectors(12),
            u32::MAX
        );
        // WZSL 5 with 4 KiB minimum pages: 128 KiB.
        assert_eq!(
            NvmCtrlLimits { wzsl: 5, dmrsl: 0 }.max_write_zeroes_sectors(12, 1024),
            256
        );
    }
}
