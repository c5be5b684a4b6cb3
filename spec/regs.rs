// SPDX-License-Identifier: GPL-2.0

//! NVMe controller registers (NVMe over PCIe, BAR0), NVMe Base Specification 2.0, §3.1.
//!
//! Every register and field is defined here once, with its spec mnemonic. 64-bit registers
//! (CAP, ASQ, ACQ) are accessed as two 32-bit halves, low half first, as the C driver does
//! (`lo_hi_readq`/`lo_hi_writeq`): not every platform can do atomic 64-bit MMIO, and the
//! spec allows a controller to see the halves separately.

use kernel::{
    bitfield,
    io::register,
    num::Bounded,
    prelude::*, //
};

register! {
    /// Controller Capabilities, low half (CAP bits 31:0).
    pub(crate) CAP_LO(u32) @ 0x00 {
        31:0 value;
    }

    /// Controller Capabilities, high half (CAP bits 63:32).
    pub(crate) CAP_HI(u32) @ 0x04 {
        31:0 value;
    }

    /// Version.
    pub(crate) VS(u32) @ 0x08 {
        /// Major version number.
        31:16 mjr;
        /// Minor version number.
        15:8 mnr;
        /// Tertiary version number.
        7:0 ter;
    }

    /// Interrupt Mask Set (pin-based and single-message MSI only).
    pub(crate) INTMS(u32) @ 0x0c {
        31:0 ivms;
    }

    /// Interrupt Mask Clear (pin-based and single-message MSI only).
    pub(crate) INTMC(u32) @ 0x10 {
        31:0 ivmc;
    }

    /// Controller Configuration.
    pub(crate) CC(u32) @ 0x14 {
        /// I/O Completion Queue Entry Size, log2 of bytes.
        23:20 iocqes;
        /// I/O Submission Queue Entry Size, log2 of bytes.
        19:16 iosqes;
        /// Shutdown Notification.
        15:14 shn ?=> Shn;
        /// Arbitration Mechanism Selected.
        13:11 ams;
        /// Memory Page Size: 2 ^ (12 + MPS) bytes.
        10:7 mps;
        /// I/O Command Set Selected.
        6:4 css;
        /// Enable.
        0:0 en => bool;
    }

    /// Controller Status.
    pub(crate) CSTS(u32) @ 0x1c {
        /// Processing Paused.
        5:5 pp => bool;
        /// NVM Subsystem Reset Occurred.
        4:4 nssro => bool;
        /// Shutdown Status.
        3:2 shst ?=> Shst;
        /// Controller Fatal Status.
        1:1 cfs => bool;
        /// Ready.
        0:0 rdy => bool;
    }

    /// NVM Subsystem Reset.
    pub(crate) NSSR(u32) @ 0x20 {
        31:0 nssrc;
    }

    /// Admin Queue Attributes (sizes are 0's based).
    pub(crate) AQA(u32) @ 0x24 {
        /// Admin Completion Queue Size.
        27:16 acqs;
        /// Admin Submission Queue Size.
        11:0 asqs;
    }

    /// Admin Submission Queue Base Address, low half.
    pub(crate) ASQ_LO(u32) @ 0x28 {
        31:0 value;
    }

    /// Admin Submission Queue Base Address, high half.
    pub(crate) ASQ_HI(u32) @ 0x2c {
        31:0 value;
    }

    /// Admin Completion Queue Base Address, low half.
    pub(crate) ACQ_LO(u32) @ 0x30 {
        31:0 value;
    }

    /// Admin Completion Queue Base Address, high half.
    pub(crate) ACQ_HI(u32) @ 0x34 {
        31:0 value;
    }

    /// Controller Memory Buffer Location (zero unless CMBMSC.CRE is set, with CAP.CMBS).
    pub(crate) CMBLOC(u32) @ 0x38 {
        31:0 value;
    }

    /// Controller Memory Buffer Size (zero: no CMB).
    pub(crate) CMBSZ(u32) @ 0x3c {
        31:0 value;
    }

    /// Controller Memory Buffer Memory Space Control, low half.
    pub(crate) CMBMSC_LO(u32) @ 0x50 {
        /// Controller Memory Space Enable.
        1:1 cmse => bool;
        /// Capabilities Registers Enabled: CMBLOC and CMBSZ read their values.
        0:0 cre => bool;
    }
}

/// Offset of the first doorbell register (SQ0TDBL).
pub(crate) const DOORBELL_BASE: usize = 0x1000;

/// Size of the register window the driver maps: the fixed registers plus the doorbells of
/// `MAX_QUEUE_PAIRS` queue pairs at the largest stride we accept.
pub(crate) const BAR0_MIN_SIZE: usize = 0x2000;

/// The value every register reads as when the device is gone (surprise removal).
pub(crate) const REG_DEAD: u32 = !0;

bitfield! {
    /// Controller Capabilities (CAP), assembled from [`CAP_LO`] and [`CAP_HI`].
    pub(crate) struct Cap(u64) {
        /// Controller Memory Buffer Supported.
        57:57 cmbs => bool;
        /// Persistent Memory Region Supported.
        56:56 pmrs => bool;
        /// Memory Page Size Maximum: 2 ^ (12 + MPSMAX) bytes.
        55:52 mpsmax;
        /// Memory Page Size Minimum: 2 ^ (12 + MPSMIN) bytes.
        51:48 mpsmin;
        /// Boot Partition Support.
        45:45 bps => bool;
        /// Command Sets Supported; bit 0 (of 44:37) is the NVM command set.
        44:37 css;
        /// NVM Subsystem Reset Supported.
        36:36 nssrs => bool;
        /// Doorbell Stride: doorbells are 2 ^ (2 + DSTRD) bytes apart.
        35:32 dstrd;
        /// Timeout: worst-case time for CSTS.RDY to change, in 500 ms units.
        31:24 to;
        /// Arbitration Mechanism Supported.
        18:17 ams;
        /// Contiguous Queues Required.
        16:16 cqr => bool;
        /// Maximum Queue Entries Supported (0's based).
        15:0 mqes;
    }
}

/// NSSR.NSSRC value that starts an NVM Subsystem Reset ("NVMe").
pub(crate) const NSSR_RESET: u32 = 0x4e56_4d65;
/// CAP.CSS bit for the NVM command set.
pub(crate) const CAP_CSS_NVM: u64 = 1 << 0;
/// CAP.CSS bit: one or more I/O Command Sets are supported (each namespace reports its
/// Command Set Identifier).
pub(crate) const CAP_CSS_IOCS: u64 = 1 << 6;
/// CC.CSS value selecting the NVM command set.
pub(crate) const CC_CSS_NVM: u32 = 0;
/// CC.CSS value selecting all supported I/O Command Sets.
pub(crate) const CC_CSS_CSI: u32 = 0b110;

/// The CC.CSS a controller is enabled with (C: `nvme_enable_ctrl`): all supported I/O
/// Command Sets where CAP.CSS offers that, so that every namespace runs its own command
/// set and reports it; else the NVM command set.
pub(crate) fn cc_css(cap: Cap) -> u32 {
    if cap.css().get() & CAP_CSS_IOCS != 0 {
        CC_CSS_CSI
    } else {
        CC_CSS_NVM
    }
}
/// CC.AMS value selecting round robin arbitration.
pub(crate) const CC_AMS_RR: u32 = 0;
/// log2 of the submission queue entry size (64 bytes).
pub(crate) const SQES_LOG2: u32 = 6;
/// log2 of the completion queue entry size (16 bytes).
pub(crate) const CQES_LOG2: u32 = 4;
/// Smallest memory page size, as a shift: MPS 0 is 4 KiB.
pub(crate) const MPS_BASE_SHIFT: u32 = 12;
/// CAP.TO unit in milliseconds.
pub(crate) const CAP_TO_UNIT_MS: u32 = 500;

/// Shutdown Notification (CC.SHN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shn {
    /// No notification; no effect.
    None = 0,
    /// Normal shutdown notification.
    Normal = 1,
    /// Abrupt shutdown notification.
    Abrupt = 2,
}

impl TryFrom<Bounded<u32, 2>> for Shn {
    type Error = Error;

    fn try_from(v: Bounded<u32, 2>) -> Result<Self> {
        match v.get() {
            0 => Ok(Self::None),
            1 => Ok(Self::Normal),
            2 => Ok(Self::Abrupt),
            _ => Err(EINVAL),
        }
    }
}

impl From<Shn> for Bounded<u32, 2> {
    fn from(v: Shn) -> Self {
        match v {
            Shn::None => Bounded::<u32, 2>::new::<0>(),
            Shn::Normal => Bounded::<u32, 2>::new::<1>(),
            Shn::Abrupt => Bounded::<u32, 2>::new::<2>(),
        }
    }
}

/// Shutdown Status (CSTS.SHST).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shst {
    /// Normal operation.
    Normal = 0,
    /// Shutdown processing occurring.
    Occurring = 1,
    /// Shutdown processing complete.
    Complete = 2,
}

impl TryFrom<Bounded<u32, 2>> for Shst {
    type Error = Error;

    fn try_from(v: Bounded<u32, 2>) -> Result<Self> {
        match v.get() {
            0 => Ok(Self::Normal),
            1 => Ok(Self::Occurring),
            2 => Ok(Self::Complete),
            _ => Err(EINVAL),
        }
    }
}

impl From<Shst> for Bounded<u32, 2> {
    fn from(v: Shst) -> Self {
        match v {
            Shst::Normal => Bounded::<u32, 2>::new::<0>(),
            Shst::Occurring => Bounded::<u32, 2>::new::<1>(),
            Shst::Complete => Bounded::<u32, 2>::new::<2>(),
        }
    }
}

impl Cap {
    /// Builds CAP from its two halves as read from [`CAP_LO`] and [`CAP_HI`].
    pub(crate) fn from_halves(lo: u32, hi: u32) -> Self {
        Self::from_raw((u64::from(hi) << 32) | u64::from(lo))
    }

    /// Maximum queue depth the controller allows (CAP.MQES is 0's based).
    pub(crate) fn max_queue_entries(self) -> u32 {
        // MQES is 16 bits wide, so the sum fits in a u32.
        self.mqes().get() as u32 + 1
    }

    /// Worst-case CSTS.RDY transition time in milliseconds (CAP.TO).
    pub(crate) fn timeout_ms(self) -> u32 {
        // TO is 8 bits wide.
        (self.to().get() as u32) * CAP_TO_UNIT_MS
    }

    /// Distance in bytes between two doorbell registers.
    pub(crate) fn doorbell_stride(self) -> usize {
        4usize << self.dstrd().get()
    }

    /// Smallest controller memory page size as a shift.
    pub(crate) fn mps_min_shift(self) -> u32 {
        MPS_BASE_SHIFT + self.mpsmin().get() as u32
    }

    /// Largest controller memory page size as a shift.
    pub(crate) fn mps_max_shift(self) -> u32 {
        MPS_BASE_SHIFT + self.mpsmax().get() as u32
    }
}

/// Offset of the submission queue `qid` tail doorbell (SQyTDBL).
pub(crate) fn sq_tail_doorbell(qid: u16, stride: usize) -> usize {
    DOORBELL_BASE + (2 * usize::from(qid)) * stride
}

/// Offset of the completion queue `qid` head doorbell (CQyHDBL).
pub(crate) fn cq_head_doorbell(qid: u16, stride: usize) -> usize {
    DOORBELL_BASE + (2 * usize::from(qid) + 1) * stride
}

#[kunit_tests(rust_nvme_regs)]
mod tests {
    use super::*;

    #[test]
    fn cap_decode_qemu() {
        // CAP as QEMU 7.2's NVMe device presents it: MQES 0x7ff, CQR, TO 0xf,
        // CSS NVM (+ I/O command sets), MPSMIN 0, MPSMAX 4, CMBS, PMRS clear.
        let cap = Cap::from_halves(0x0f01_07ff, 0x0040_1020);
        assert_eq!(cap.max_queue_entries(), 0x800);
        assert!(cap.cqr());
        assert_eq!(cap.timeout_ms(), 15 * 500);
        assert_eq!(cap.dstrd().get(), 0);
        assert_eq!(cap.doorbell_stride(), 4);
        assert_eq!(cap.css().get() & CAP_CSS_NVM, CAP_CSS_NVM);
        assert_eq!(cap.mps_min_shift(), 12);
        assert_eq!(cap.mps_max_shift(), 16);
    }

    #[test]
    fn css_selection() {
        // QEMU 7.2: NVM, I/O Command Sets, Admin only (CAP.CSS 0xc1): all command sets.
        assert_eq!(cc_css(Cap::from_raw(0xc1 << 37)), CC_CSS_CSI);
        // NVM only.
        assert_eq!(cc_css(Cap::from_raw(0x01 << 37)), CC_CSS_NVM);
        let cc = CC::zeroed().with_const_css::<{ CC_CSS_CSI }>();
        assert_eq!(cc.into_raw(), 0x60);
    }

    #[test]
    fn cap_fields_at_spec_positions() {
        let cap = Cap::from_raw(1u64 << 36 | 0xa << 32 | 0x3 << 52 | 0x2 << 48);
        assert!(cap.nssrs());
        assert_eq!(cap.dstrd().get(), 0xa);
        assert_eq!(cap.mpsmax().get(), 3);
        assert_eq!(cap.mpsmin().get(), 2);
        assert_eq!(cap.max_queue_entries(), 1);
    }

    #[test]
    fn doorbell_offsets_for_each_stride() {
        for dstrd in 0u64..=15 {
            let cap = Cap::from_raw(dstrd << 32);
            let s = cap.doorbell_stride();
            assert_eq!(s, 4 << dstrd);
            assert_eq!(sq_tail_doorbell(0, s), 0x1000);
            assert_eq!(cq_head_doorbell(0, s), 0x1000 + s);
            assert_eq!(sq_tail_doorbell(3, s), 0x1000 + 6 * s);
            assert_eq!(cq_head_doorbell(3, s), 0x1000 + 7 * s);
        }
    }

    #[test]
    fn cc_encoding() {
        let cc = CC::zeroed()
            .with_css(Bounded::<u32, 3>::new::<{ CC_CSS_NVM }>())
            .with_const_mps::<0>()
            .with_const_iosqes::<{ SQES_LOG2 }>()
            .with_const_iocqes::<{ CQES_LOG2 }>()
            .with_en(true);
        assert_eq!(cc.into_raw(), 0x0046_0001);
        let cc = cc.with_shn(Shn::Normal);
        assert_eq!(cc.into_raw(), 0x0046_4001);
        assert_eq!(cc.shn(), Ok(Shn::Normal));
    }

    #[test]
    fn csts_and_aqa_decode() {
        let csts = CSTS::from_raw(0x9);
        assert!(csts.rdy());
        assert!(!csts.cfs());
        assert_eq!(csts.shst(), Ok(Shst::Complete));
        let aqa = AQA::zeroed()
            .with_const_asqs::<31>()
            .with_const_acqs::<31>();
        assert_eq!(aqa.into_raw(), 0x001f_001f);
    }
}
