// SPDX-License-Identifier: GPL-2.0

//! The controller's interrupt vectors: vector 0 serves the admin queue, the others get
//! managed affinity spread over the CPUs (C: `nvme_setup_irqs`). The generic part is
//! [`crate::abstractions::irq`].

use kernel::{
    cpumask::Cpumask,
    pci,
    prelude::*,
    sync::Arc, //
};

use crate::abstractions::irq::{
    self as vectors,
    Affinity,
    IrqTypes, //
};

pub(crate) use crate::abstractions::irq::{
    Handler,
    InIrq,
    IrqNumber,
    IrqOwned, //
};

/// The interrupt vectors of the controller's PCI function and their handlers.
pub(crate) struct Vectors(vectors::Vectors);

impl Vectors {
    /// Allocates between 1 and `max` vectors, MSI-X preferred. Vectors after the first
    /// get managed affinity spread over the CPUs (C: `PCI_IRQ_AFFINITY` with one
    /// pre-vector for the admin queue), so each I/O queue interrupts on the CPUs that
    /// submit to it.
    /// Without `msi`, MSI is not tried (C: `NVME_QUIRK_BROKEN_MSI`).
    pub(crate) fn alloc(pdev: &pci::Device, max: u32, msi: bool) -> Result<Self> {
        let affinity = Affinity {
            pre_vectors: 1,
            post_vectors: 0,
        };
        let types = if msi {
            IrqTypes::ALL
        } else {
            IrqTypes::ALL.without_msi()
        };
        vectors::Vectors::alloc(pdev, 1, max, types, Some(affinity)).map(Self)
    }

    /// Number of vectors allocated.
    pub(crate) fn count(&self) -> u32 {
        self.0.count()
    }

    /// Whether the vectors are MSI-X (one per queue possible).
    pub(crate) fn is_msix(&self) -> bool {
        self.0.is_msix()
    }

    /// The CPUs vector `index` interrupts on (C: `pci_irq_get_affinity`).
    pub(crate) fn affinity(&self, index: u32) -> Option<&Cpumask> {
        self.0.affinity(index)
    }

    /// Registers `handler` on vector `index`; it stays registered until the handlers are
    /// freed or `self` drops.
    pub(crate) fn request<T: Handler + 'static>(&mut self, index: u32, handler: Arc<T>) -> Result {
        // Only INTx can be shared with other devices; MSI(-X) vectors are ours.
        let shared = !self.0.is_msix();
        self.0.request(index, c"rust_nvme", shared, handler)
    }

    /// The interrupt number of vector `index`, to bind CQs to before its handler.
    pub(crate) fn irq(&self, index: u32) -> Result<IrqNumber> {
        self.0.irq(index)
    }

    /// Frees every handler (waiting for running ones), keeping the vectors.
    pub(crate) fn free_handlers(&mut self) {
        self.0.free_handlers();
    }
}
