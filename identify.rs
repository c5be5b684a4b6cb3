// SPDX-License-Identifier: GPL-2.0

//! Identify data: the buffer Identify commands return into, and what the driver reads
//! from Identify Controller (CNS 01h), the NVM command set's Identify Controller (CNS
//! 06h) and Identify Namespace (CNS 00h) (NVMe Base Specification 2.0, §5.17.2; NVM
//! Command Set Specification 1.0, §4.1.5).

use kernel::{
    device,
    dma::Coherent,
    io::io_read,
    prelude::*,
    sync::Arc, //
};

use crate::cmd::IDENTIFY_DATA_SIZE;

/// A 4 KiB buffer for Identify data, read field by field after the command completes.
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

    pub(crate) fn u8_at(&self, off: usize) -> Result<u8> {
        Ok(io_read!(self.0, [try: off]))
    }

    /// A little-endian integer of `N` bytes at `off`.
    pub(crate) fn le_at<const N: usize>(&self, off: usize) -> Result<u64> {
        let mut v = 0u64;
        for i in (0..N).rev() {
            v = (v << 8) | u64::from(self.u8_at(off + i)?);
        }
        Ok(v)
    }

    /// `N` raw bytes at `off`.
    pub(crate) fn bytes<const N: usize>(&self, off: usize) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        for (i, v) in b.iter_mut().enumerate() {
            *v = self.u8_at(off + i)?;
        }
        Ok(b)
    }

    /// A copy of the whole buffer, for parsing variable-length data.
    pub(crate) fn to_vec(&self) -> Result<KVec<u8>> {
        let mut v = KVec::with_capacity(IDENTIFY_DATA_SIZE, GFP_KERNEL)?;
        for i in 0..IDENTIFY_DATA_SIZE {
            v.push(self.u8_at(i)?, GFP_KERNEL)?;
        }
        Ok(v)
    }

    /// An ASCII field with its space padding removed.
    pub(crate) fn string<const N: usize>(&self, off: usize) -> Result<IdString<N>> {
        let mut s = IdString {
            buf: [0; N],
            len: 0,
        };
        for i in 0..N {
            s.buf[i] = self.u8_at(off + i)?;
        }
        s.len = s
            .buf
            .iter()
            .rposition(|&c| c != b' ' && c != 0)
            .map_or(0, |p| p + 1);
        Ok(s)
    }
}

/// A space-padded ASCII field of Identify data (serial, model, firmware).
#[derive(Clone, Copy)]
pub(crate) struct IdString<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> IdString<N> {
    /// The text without padding; non-ASCII bytes are shown as '?'.
    pub(crate) fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
    }
}

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
    /// Controller ID.
    pub(crate) cntlid: u16,
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
}

/// Identify Controller byte offsets (NVMe Base Specification 2.0, Figure 275).
pub(crate) mod id_ctrl {
    pub(crate) const VID: usize = 0;
    pub(crate) const SSVID: usize = 2;
    pub(crate) const SN: usize = 4;
    pub(crate) const MN: usize = 24;
    pub(crate) const FR: usize = 64;
    pub(crate) const MDTS: usize = 77;
    pub(crate) const CNTLID: usize = 78;
    pub(crate) const CMIC: usize = 76;
    pub(crate) const OACS: usize = 256;
    pub(crate) const NN: usize = 516;
    pub(crate) const ONCS: usize = 520;
    pub(crate) const VWC: usize = 525;
    pub(crate) const SGLS: usize = 536;
    pub(crate) const OAES: usize = 92;
    pub(crate) const AERL: usize = 259;
    pub(crate) const LPA: usize = 261;
    pub(crate) const SUBNQN: usize = 768;
}

/// Length of an NVMe Qualified Name field (SUBNQN).
pub(crate) const NQN_SIZE: usize = 256;

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

/// Identify Namespace byte offsets (NVM Command Set Specification 1.0, Figure 97).
pub(crate) mod id_ns {
    pub(crate) const NSZE: usize = 0;
    pub(crate) const NSFEAT: usize = 24;
    pub(crate) const DLFEAT: usize = 33;
    pub(crate) const NPWG: usize = 64;
    pub(crate) const NPDG: usize = 68;
    pub(crate) const NPDA: usize = 70;
    pub(crate) const NOWS: usize = 72;
    pub(crate) const NGUID: usize = 104;
    pub(crate) const EUI64: usize = 120;
    pub(crate) const NLBAF: usize = 25;
    pub(crate) const FLBAS: usize = 26;
    pub(crate) const LBAF: usize = 128;
    /// Size of one LBA Format descriptor.
    pub(crate) const LBAF_SIZE: usize = 4;
    /// Offset of LBADS within a descriptor.
    pub(crate) const LBAF_LBADS: usize = 2;
}

/// I/O Command Set specific Identify Controller (NVM) offsets (NVM Command Set
/// Specification 1.0, Figure 97).
pub(crate) mod id_ctrl_nvm {
    pub(crate) const WZSL: usize = 1;
    pub(crate) const DMRSL: usize = 4;
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

/// A namespace as Identify Namespace (CNS 00h) describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NsGeometry {
    /// Namespace Size in logical blocks.
    pub(crate) nsze: u64,
    /// log2 of the logical block size.
    pub(crate) lba_shift: u32,
    /// Metadata bytes per logical block.
    pub(crate) ms: u16,
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
        } else if self.lba_shift > kernel::page::PAGE_SHIFT as u32 {
            NsUse::PassthroughOnly("logical block larger than PAGE_SIZE")
        } else if self.ms != 0 {
            // No integrity support: the block layer could not hand the controller a
            // metadata buffer.
            NsUse::PassthroughOnly("LBA format with per-block metadata")
        } else {
            NsUse::Block
        }
    }

    /// log2 of the block size the disk advertises: the namespace's, or 512 bytes when
    /// the block layer cannot use it (the disk then has no capacity).
    pub(crate) fn disk_lba_shift(&self) -> u32 {
        match self.usage() {
            NsUse::Block => self.lba_shift,
            _ if (MIN_LBA_SHIFT..=kernel::page::PAGE_SHIFT as u32).contains(&self.lba_shift) => {
                self.lba_shift
            }
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

    #[test]
    fn namespace_geometry() {
        let g = |nsze, lba_shift, ms| NsGeometry {
            nsze,
            lba_shift,
            ms,
        };
        assert_eq!(g(1 << 21, 9, 0).usage(), NsUse::Block);
        assert_eq!(g(1 << 21, 9, 0).capacity_sectors(), 1 << 21);
        // 4 KiB blocks, far beyond 2 TiB: 64-bit sector math.
        assert_eq!(g(1 << 40, 12, 0).usage(), NsUse::Block);
        assert_eq!(g(1 << 40, 12, 0).capacity_sectors(), 1 << 43);
        assert_eq!(g(1 << 40, 12, 0).disk_lba_shift(), 12);
        assert!(matches!(g(0, 9, 0).usage(), NsUse::Skip(_)));
        assert!(matches!(g(u64::MAX, 12, 0).usage(), NsUse::Skip(_)));
        // Metadata: a disk of capacity 0 with the namespace's block size.
        let md = g(8, 12, 8);
        assert!(matches!(md.usage(), NsUse::PassthroughOnly(_)));
        assert_eq!((md.capacity_sectors(), md.disk_lba_shift()), (0, 12));
        // Block sizes the block layer cannot use: capacity 0, 512-byte blocks.
        for shift in [8, 16] {
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
