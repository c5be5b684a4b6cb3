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

use crate::{
    spec::cmd::IDENTIFY_DATA_SIZE,
    spec::pi::{
        MetaUse,
        Metadata, //
    },
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

/// An LBA Format descriptor (NVM Command Set Specification 1.0, Figure 98; C: `struct
/// nvme_lbaf`).
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Zeroable)]
pub(crate) struct LbaFormat {
    /// Metadata Size, bytes per logical block.
    pub(crate) ms: u16,
    /// LBA Data Size, log2 bytes.
    pub(crate) lbads: u8,
    /// Relative Performance (bits 1:0).
    pub(crate) rp: u8,
}
kernel::static_assert!(size_of::<LbaFormat>() == 4);

/// Number of LBA Format descriptors in Identify Namespace.
pub(crate) const NR_LBAF: usize = 64;

/// Identify Namespace for the NVM command set (CNS 00h; NVM Command Set Specification
/// 1.0, Figure 97; C: `struct nvme_id_ns`).
#[repr(C)]
#[derive(FromBytes, IntoBytes, Zeroable)]
pub(crate) struct IdentifyNs {
    /// Namespace Size, logical blocks.
    pub(crate) nsze: u64,
    /// Namespace Capacity, logical blocks.
    pub(crate) ncap: u64,
    /// Namespace Utilization, logical blocks.
    pub(crate) nuse: u64,
    /// Namespace Features.
    pub(crate) nsfeat: u8,
    /// Number of LBA Formats (0's based).
    pub(crate) nlbaf: u8,
    /// Formatted LBA Size: format index bits 3:0 and (6:5) 5:4, metadata at the end of
    /// the block (bit 4).
    pub(crate) flbas: u8,
    /// Metadata Capabilities.
    pub(crate) mc: u8,
    /// End-to-end Data Protection Capabilities.
    pub(crate) dpc: u8,
    /// End-to-end Data Protection Type Settings.
    pub(crate) dps: u8,
    /// Namespace Multi-path I/O and Namespace Sharing Capabilities.
    pub(crate) nmic: u8,
    /// Reservation Capabilities.
    pub(crate) rescap: u8,
    /// Format Progress Indicator.
    pub(crate) fpi: u8,
    /// Deallocate Logical Block Features.
    pub(crate) dlfeat: u8,
    /// Namespace Atomic Write Unit Normal (0's based).
    pub(crate) nawun: u16,
    /// Namespace Atomic Write Unit Power Fail (0's based).
    pub(crate) nawupf: u16,
    /// Namespace Atomic Compare & Write Unit (0's based).
    pub(crate) nacwu: u16,
    /// Namespace Atomic Boundary Size Normal (0's based).
    pub(crate) nabsn: u16,
    /// Namespace Atomic Boundary Offset.
    pub(crate) nabo: u16,
    /// Namespace Atomic Boundary Size Power Fail (0's based).
    pub(crate) nabspf: u16,
    /// Namespace Optimal I/O Boundary, logical blocks.
    pub(crate) noiob: u16,
    /// NVM Capacity, bytes (128-bit).
    pub(crate) nvmcap: [u8; 16],
    /// Namespace Preferred Write Granularity (0's based, logical blocks).
    pub(crate) npwg: u16,
    /// Namespace Preferred Write Alignment (0's based).
    pub(crate) npwa: u16,
    /// Namespace Preferred Deallocate Granularity (0's based).
    pub(crate) npdg: u16,
    /// Namespace Preferred Deallocate Alignment (0's based).
    pub(crate) npda: u16,
    /// Namespace Optimal Write Size (0's based).
    pub(crate) nows: u16,
    /// Maximum Single Source Range Length (Copy).
    pub(crate) mssrl: u16,
    /// Maximum Copy Length (Copy).
    pub(crate) mcl: u32,
    /// Maximum Source Range Count (0's based, Copy).
    pub(crate) msrc: u8,
    rsvd81: [u8; 11],
    /// ANA Group Identifier.
    pub(crate) anagrpid: u32,
    rsvd96: [u8; 3],
    /// Namespace Attributes.
    pub(crate) nsattr: u8,
    /// NVM Set Identifier.
    pub(crate) nvmsetid: u16,
    /// Endurance Group Identifier.
    pub(crate) endgid: u16,
    /// Namespace Globally Unique Identifier.
    pub(crate) nguid: [u8; 16],
    /// IEEE Extended Unique Identifier.
    pub(crate) eui64: [u8; 8],
    /// LBA Format Support, 0 to NLBAF.
    pub(crate) lbaf: [LbaFormat; NR_LBAF],
    /// Vendor Specific.
    pub(crate) vs: [u8; 3712],
}
kernel::static_assert!(size_of::<IdentifyNs>() == IDENTIFY_DATA_SIZE);
// Offsets of Figure 97.
kernel::static_assert!(offset_of!(IdentifyNs, nsze) == 0);
kernel::static_assert!(offset_of!(IdentifyNs, nsfeat) == 24);
kernel::static_assert!(offset_of!(IdentifyNs, nlbaf) == 25);
kernel::static_assert!(offset_of!(IdentifyNs, flbas) == 26);
kernel::static_assert!(offset_of!(IdentifyNs, dlfeat) == 33);
kernel::static_assert!(offset_of!(IdentifyNs, noiob) == 46);
kernel::static_assert!(offset_of!(IdentifyNs, nvmcap) == 48);
kernel::static_assert!(offset_of!(IdentifyNs, npwg) == 64);
kernel::static_assert!(offset_of!(IdentifyNs, npdg) == 68);
kernel::static_assert!(offset_of!(IdentifyNs, npda) == 70);
kernel::static_assert!(offset_of!(IdentifyNs, nows) == 72);
kernel::static_assert!(offset_of!(IdentifyNs, mcl) == 76);
kernel::static_assert!(offset_of!(IdentifyNs, anagrpid) == 92);
kernel::static_assert!(offset_of!(IdentifyNs, nsattr) == 99);
kernel::static_assert!(offset_of!(IdentifyNs, endgid) == 102);
kernel::static_assert!(offset_of!(IdentifyNs, nguid) == 104);
kernel::static_assert!(offset_of!(IdentifyNs, eui64) == 120);
kernel::static_assert!(offset_of!(IdentifyNs, lbaf) == 128);
kernel::static_assert!(offset_of!(IdentifyNs, vs) == 384);

// SAFETY: `IdentifyNs` is `repr(C)` with only integers and arrays of them (and of
// `LbaFormat`, likewise), without padding (`IntoBytes` derived above checks that): every
// byte is initialised and any byte pattern is a valid value.
unsafe impl transmute::AsBytes for IdentifyNs {}
// SAFETY: As above: any byte pattern is a valid `IdentifyNs`.
unsafe impl transmute::FromBytes for IdentifyNs {}

impl IdentifyNs {
    /// The index of the LBA format in use: FLBAS bits 3:0, extended past 16 by bits 6:5.
    pub(crate) fn lbaf_index(&self) -> usize {
        usize::from(self.flbas & 0xf) | (usize::from(self.flbas >> 5 & 0x3) << 4)
    }

    /// The size and the LBA format in use, its metadata as the format's extended
    /// format `elbaf` (when the controller has them) says; `None` when FLBAS names a
    /// format beyond NLBAF.
    pub(crate) fn geometry(&self, elbaf: Option<u32>) -> Option<NsGeometry> {
        let idx = self.lbaf_index();
        if idx > usize::from(self.nlbaf) {
            return None;
        }
        let f = self.lbaf.get(idx)?;
        Some(NsGeometry {
            nsze: self.nsze,
            ms: f.ms,
            lba_shift: u32::from(f.lbads),
            meta: Metadata::new(f.ms, self.flbas, self.dps, elbaf),
        })
    }

    /// The optional fields that shape the queue limits.
    pub(crate) fn features(&self) -> NsFeatures {
        NsFeatures {
            nsfeat: self.nsfeat,
            dlfeat: self.dlfeat,
            npwg: self.npwg,
            npdg: self.npdg,
            npda: self.npda,
            nows: self.nows,
        }
    }

    /// The identifiers Identify Namespace itself reports (NGUID and EUI64).
    pub(crate) fn ids(&self) -> NsIds {
        NsIds {
            nguid: self.nguid,
            eui64: self.eui64,
            ..NsIds::default()
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

/// Namespace identifiers (C: `struct nvme_ns_ids`).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct NsIds {
    /// IEEE Extended Unique Identifier.
    pub(crate) eui64: [u8; 8],
    /// Namespace Globally Unique Identifier.
    pub(crate) nguid: [u8; 16],
    /// Namespace UUID.
    pub(crate) uuid: [u8; 16],
    /// Command Set Identifier.
    pub(crate) csi: u8,
}

/// Command Set Identifiers (NVMe Base Specification 2.0, Figure 286).
pub(crate) mod csi {
    /// NVM Command Set.
    pub(crate) const NVM: u8 = 0x0;
    /// Zoned Namespace Command Set.
    pub(crate) const ZONED: u8 = 0x2;
}

/// Namespace Identification Descriptor types (NVMe Base Specification 2.0, Figure 276).
mod nidt {
    pub(super) const EUI64: u8 = 0x1;
    pub(super) const NGUID: u8 = 0x2;
    pub(super) const UUID: u8 = 0x3;
    pub(super) const CSI: u8 = 0x4;
}
/// Header bytes of a Namespace Identification Descriptor (NIDT, NIDL, reserved).
const NID_HEADER: usize = 4;

impl NsIds {
    /// The Command Set Identifier alone: the identifiers of a controller whose EUI64,
    /// NGUID and UUID are garbage (C's `bogus_nid` quirk).
    pub(crate) fn command_set_only(self) -> Self {
        Self {
            csi: self.csi,
            ..Self::default()
        }
    }

    /// Takes the identifiers of a Namespace Identification Descriptor list (CNS 03h);
    /// whether it reported the Command Set Identifier.
    ///
    /// # Errors
    ///
    /// `EINVAL` when a descriptor has the wrong length for its type or runs past the
    /// list (C: `nvme_process_ns_desc` rejects it the same way).
    pub(crate) fn merge_descs(&mut self, list: &[u8]) -> Result<bool> {
        let mut pos = 0;
        let mut csi_seen = false;
        while pos + NID_HEADER <= list.len() {
            let (nidt, nidl) = (list[pos], usize::from(list[pos + 1]));
            if nidl == 0 {
                break;
            }
            let data = list
                .get(pos + NID_HEADER..pos + NID_HEADER + nidl)
                .ok_or(EINVAL)?;
            match nidt {
                nidt::EUI64 if nidl == 8 => self.eui64.copy_from_slice(data),
                nidt::NGUID if nidl == 16 => self.nguid.copy_from_slice(data),
                nidt::UUID if nidl == 16 => self.uuid.copy_from_slice(data),
                nidt::CSI if nidl == 1 => {
                    self.csi = data[0];
                    csi_seen = true;
                }
                nidt::EUI64 | nidt::NGUID | nidt::UUID | nidt::CSI => return Err(EINVAL),
                // Unknown types are skipped, as in C.
                _ => {}
            }
            pos += NID_HEADER + nidl;
        }
        Ok(csi_seen)
    }
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

/// The optional Identify Namespace fields that shape the queue limits.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct NsFeatures {
    /// Namespace Features.
    pub(crate) nsfeat: u8,
    /// Deallocate Logical Block Features.
    pub(crate) dlfeat: u8,
    /// Namespace Preferred Write Granularity (0's based, logical blocks).
    pub(crate) npwg: u16,
    /// Namespace Preferred Deallocate Granularity (0's based).
    pub(crate) npdg: u16,
    /// Namespace Preferred Deallocate Alignment (0's based).
    pub(crate) npda: u16,
    /// Namespace Optimal Write Size (0's based).
    pub(crate) nows: u16,
}

/// NSFEAT bit 4: OPTPERF, the NPWG/NPWA/NPDG/NPDA/NOWS fields are valid.
const NSFEAT_OPTPERF: u8 = 1 << 4;
/// DLFEAT bits 2:0 value: deallocated blocks read as zeroes.
const DLFEAT_READS_ZEROES: u8 = 0x1;
/// DLFEAT bits 2:0.
const DLFEAT_READ_MASK: u8 = 0x7;
/// DLFEAT bit 3: Write Zeroes supports the Deallocate bit.
const DLFEAT_WZ_DEAC: u8 = 1 << 3;

impl NsFeatures {
    fn optperf(&self) -> bool {
        self.nsfeat & NSFEAT_OPTPERF != 0
    }

    /// Deallocated blocks read as zeroes.
    pub(crate) fn reads_zeroes(&self) -> bool {
        self.dlfeat & DLFEAT_READ_MASK == DLFEAT_READS_ZEROES
    }

    /// Write Zeroes may set DEAC (C: `NVME_NS_DEAC`): only if deallocated blocks read as
    /// zeroes.
    pub(crate) fn deac(&self) -> bool {
        self.reads_zeroes() && self.dlfeat & DLFEAT_WZ_DEAC != 0
    }

    /// Smallest preferred I/O in bytes (C: `io_min` = NPWG).
    pub(crate) fn io_min(&self, lba_shift: u32) -> u32 {
        let bs = 1u32 << lba_shift;
        if self.optperf() {
            bs.saturating_mul(u32::from(self.npwg) + 1)
        } else {
            bs
        }
    }

    /// Optimal I/O in bytes (C: `io_opt` = NOWS), 0 when not reported.
    pub(crate) fn io_opt(&self, lba_shift: u32) -> u32 {
        if self.optperf() && self.nows != 0 {
            (1u32 << lba_shift).saturating_mul(u32::from(self.nows) + 1)
        } else {
            0
        }
    }

    /// Discard granularity in bytes: the larger of NPDG and NPDA (both 0's based) times
    /// the block size, else the block size (C: `nvme_config_discard`).
    pub(crate) fn discard_granularity(&self, lba_shift: u32) -> u32 {
        let bs = 1u32 << lba_shift;
        if !self.optperf() {
            return bs;
        }
        let g = u32::from(self.npdg.max(self.npda)) + 1;
        bs.checked_mul(g).unwrap_or(bs)
    }
}

/// VWC bit 0: a volatile write cache is present.
pub(crate) const VWC_PRESENT: u8 = 1 << 0;
/// Smallest logical block the block layer accepts, as a shift.
pub(crate) const MIN_LBA_SHIFT: u32 = 9;

/// log2 of the largest logical block the block layer takes (C: `BLK_MAX_BLOCK_SIZE`:
/// 64 KiB with large folios, which need transparent huge pages, else `PAGE_SIZE`).
pub(crate) const MAX_LBA_SHIFT: u32 = if cfg!(CONFIG_TRANSPARENT_HUGEPAGE) {
    16
} else {
    kernel::page::PAGE_SHIFT as u32
};

/// A namespace as Identify Namespace (CNS 00h) describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NsGeometry {
    /// Namespace Size in logical blocks.
    pub(crate) nsze: u64,
    /// log2 of the logical block size.
    pub(crate) lba_shift: u32,
    /// Metadata bytes per logical block.
    pub(crate) ms: u16,
    /// How the format carries metadata and protection information.
    pub(crate) meta: Metadata,
}

/// How the driver can expose a namespace (C: `nvme_update_ns_info_block`,
/// `nvme_update_disk_info`, `nvme_init_integrity`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NsUse {
    /// As a block device.
    Block,
    /// As a disk of capacity 0 that only passthrough can use, as C exposes a namespace the
    /// block layer cannot address (so that it can still be formatted through it): why.
    PassthroughOnly(&'static str),
    /// Not at all: why.
    Skip(&'static str),
}

impl NsGeometry {
    /// Whether and how the driver can expose this namespace.
    pub(crate) fn usage(&self) -> NsUse {
        if self.nsze == 0 {
            NsUse::Skip("zero capacity")
        } else if self.lba_shift < MIN_LBA_SHIFT {
            NsUse::PassthroughOnly("logical block smaller than 512 bytes")
        } else if self
            .nsze
            .checked_shl(self.lba_shift.saturating_sub(MIN_LBA_SHIFT))
            .map_or(true, |s| {
                s >> self.lba_shift.saturating_sub(MIN_LBA_SHIFT) != self.nsze
            })
        {
            NsUse::Skip("capacity overflows 64-bit sectors")
        } else if self.lba_shift > MAX_LBA_SHIFT {
            NsUse::PassthroughOnly("logical block larger than the block layer's maximum")
        } else if let MetaUse::Unusable(why) = self.meta.usage() {
            NsUse::PassthroughOnly(why)
        } else {
            NsUse::Block
        }
    }

    /// log2 of the block size the disk advertises: the namespace's, or 512 bytes when
    /// the block layer cannot use it (the disk then has no capacity).
    pub(crate) fn disk_lba_shift(&self) -> u32 {
        match self.usage() {
            NsUse::Block => self.lba_shift,
            _ if (MIN_LBA_SHIFT..=MAX_LBA_SHIFT).contains(&self.lba_shift) => self.lba_shift,
            _ => MIN_LBA_SHIFT,
        }
    }

    /// Capacity in 512-byte sectors; 0 unless the namespace is usable as a block device.
    pub(crate) fn capacity_sectors(&self) -> u64 {
        match self.usage() {
            NsUse::Block => self.nsze << self.lba_shift.saturating_sub(MIN_LBA_SHIFT),
            _ => 0,
        }
    }
}

#[kunit_tests(rust_nvme_identify)]
mod tests {
    use super::*;

    /// A zeroed layout with `bytes` written at `off`.
    fn layout<T>(fields: &[(usize, &[u8])]) -> Result<KBox<T>>
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

    #[test]
    fn identify_controller_layout() -> Result {
        // Fields at the offsets of Figure 275, as QEMU fills them.
        let c = layout::<IdentifyCtrl>(&[
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

        let n = layout::<IdentifyCtrlNvm>(&[(1, &[5]), (4, &4194303u32.to_le_bytes())])?;
        let l = n.limits();
        assert_eq!((l.wzsl, l.dmrsl), (5, 4194303));
        Ok(())
    }

    #[test]
    fn identify_namespace_layout() -> Result {
        // 1 GiB of 4 KiB blocks in LBA format 17 (FLBAS 0x21: index 1, high bits 1), after
        // a 512-byte format 0; OPTPERF granularities; NGUID and EUI64.
        let ns = layout::<IdentifyNs>(&[
            (0, &(1u64 << 18).to_le_bytes()),
            (24, &[0x10, 17, 0x21]),
            (33, &[0x09]),
            (64, &7u16.to_le_bytes()),
            (68, &[15, 0, 7, 0, 31, 0]),
            (104, &[0xab; 16]),
            (120, &[1, 2, 3, 4, 5, 6, 7, 8]),
            (128, &[0, 0, 9, 0]),
            (128 + 17 * 4, &[0, 0, 12, 0]),
        ])?;
        assert_eq!(ns.lbaf_index(), 17);
        assert_eq!(
            ns.geometry(None),
            Some(NsGeometry {
                nsze: 1 << 18,
                lba_shift: 12,
                ms: 0,
                meta: Metadata::NONE,
            })
        );
        let f = ns.features();
        assert_eq!(
            (f.nsfeat, f.dlfeat, f.npwg, f.npdg, f.npda, f.nows),
            (0x10, 0x09, 7, 15, 7, 31)
        );
        let ids = ns.ids();
        assert_eq!(
            (ids.nguid, ids.eui64),
            ([0xab; 16], [1, 2, 3, 4, 5, 6, 7, 8])
        );
        assert_eq!(ns.lbaf[0].lbads, 9);
        // A format beyond NLBAF is not used.
        let bad = layout::<IdentifyNs>(&[(25, &[0, 0x01])])?;
        assert_eq!(bad.geometry(None), None);
        Ok(())
    }

    #[test]
    fn namespace_geometry() {
        let g = |nsze, lba_shift, ms| NsGeometry {
            nsze,
            lba_shift,
            ms,
            // Extended LBAs: metadata that is not PI cannot reach the block layer.
            meta: Metadata::new(ms, crate::spec::pi::FLBAS_META_EXT, 0, None),
        };
        assert_eq!(g(1 << 21, 9, 0).usage(), NsUse::Block);
        assert_eq!(g(1 << 21, 9, 0).capacity_sectors(), 1 << 21);
        // 4 KiB blocks, far beyond 2 TiB: 64-bit sector math.
        assert_eq!(g(1 << 40, 12, 0).usage(), NsUse::Block);
        assert_eq!(g(1 << 40, 12, 0).capacity_sectors(), 1 << 43);
        assert_eq!(g(1 << 40, 12, 0).disk_lba_shift(), 12);
        assert!(matches!(g(0, 9, 0).usage(), NsUse::Skip(_)));
        assert!(matches!(g(u64::MAX, 12, 0).usage(), NsUse::Skip(_)));
        // Extended-LBA metadata: a disk of capacity 0 with the namespace's block size.
        let md = g(8, 12, 8);
        assert!(matches!(md.usage(), NsUse::PassthroughOnly(_)));
        assert_eq!((md.capacity_sectors(), md.disk_lba_shift()), (0, 12));
        // Block sizes the block layer cannot use: capacity 0, 512-byte blocks.
        for shift in [8, MAX_LBA_SHIFT + 1] {
            let b = g(8, shift, 0);
            assert!(matches!(b.usage(), NsUse::PassthroughOnly(_)));
            assert_eq!((b.capacity_sectors(), b.disk_lba_shift()), (0, 9));
        }
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
    fn namespace_descriptors() -> Result {
        let mut list = [0u8; 64];
        // EUI64, then UUID, then CSI, then the end.
        list[..4].copy_from_slice(&[1, 8, 0, 0]);
        list[4..12].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        list[12..16].copy_from_slice(&[3, 16, 0, 0]);
        list[16..32].copy_from_slice(&[0xaa; 16]);
        list[32..37].copy_from_slice(&[4, 1, 0, 0, 2]);
        let mut ids = NsIds::default();
        assert_eq!(ids.merge_descs(&list), Ok(true));
        assert_eq!(ids.eui64, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(ids.uuid, [0xaa; 16]);
        assert_eq!(ids.nguid, [0; 16]);
        assert_eq!(ids.csi, 2);
        // Without a CSI descriptor the list says nothing of the command set.
        assert_eq!(NsIds::default().merge_descs(&list[..32]), Ok(false));
        // A UUID descriptor of the wrong length is rejected.
        let mut bad = [0u8; 16];
        bad[..4].copy_from_slice(&[3, 8, 0, 0]);
        assert_eq!(NsIds::default().merge_descs(&bad), Err(EINVAL));
        // A descriptor running past the buffer is rejected.
        assert_eq!(NsIds::default().merge_descs(&[2, 16, 0, 0, 1]), Err(EINVAL));
        Ok(())
    }

    #[test]
    fn discard_and_write_zeroes_limits() {
        // QEMU 7.2, 512-byte LBAs: DMRSL INT_MAX / 512, no WZSL, MDTS 512 KiB; NPDG = NPDA
        // = 7 with OPTPERF; DLFEAT 1 (reads zeroes, no DEAC bit). C's limits: discard
        // 2147483136 bytes, granularity 4096, write zeroes 524288.
        let nvm = NvmCtrlLimits {
            wzsl: 0,
            dmrsl: 4194303,
        };
        assert_eq!(u64::from(nvm.max_discard_sectors(9)) << 9, 2147483136);
        assert_eq!(nvm.max_write_zeroes_sectors(12, 1024), 1024);
        let f = NsFeatures {
            nsfeat: 0x10,
            dlfeat: 0x1,
            npwg: 7,
            npdg: 7,
            npda: 7,
            nows: 0,
        };
        assert_eq!(f.discard_granularity(9), 4096);
        assert_eq!(f.io_min(9), 4096);
        assert_eq!(f.io_opt(9), 0);
        assert!(f.reads_zeroes());
        assert!(!f.deac());
        // Without OPTPERF everything falls back to the block size; DMRSL 0 is unlimited.
        let f = NsFeatures {
            dlfeat: 0x9,
            ..Default::default()
        };
        assert_eq!(f.discard_granularity(12), 4096);
        assert!(f.deac());
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
