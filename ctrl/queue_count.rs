// SPDX-License-Identifier: GPL-2.0

//! How many I/O queues a controller gets, of which kind, on which interrupt vector (C:
//! `nvme_setup_io_queues`, `nvme_calc_irq_sets`).

use kernel::prelude::*;

/// Number of I/O queue pairs to use (C: `nvme_setup_io_queues`).
///
/// `want` is what the driver asks for, `granted` what Set Features (Number of Queues)
/// returned, `vectors` the interrupt vectors allocated. Vector 0 serves the admin queue;
/// with one vector only, it serves the first I/O queue too.
pub(crate) fn io_queue_count(want: u32, granted: u32, vectors: u32) -> u32 {
    let by_irq = if vectors > 1 { vectors - 1 } else { 1 };
    want.min(granted).min(by_irq)
}

/// The split of the granted I/O queues into interrupt-driven and polled ones: at least
/// one interrupt-driven queue, polled ones only from what is left.
pub(crate) fn io_queue_split(
    want_irq: u32,
    want_poll: u32,
    granted: u32,
    vectors: u32,
) -> (u32, u32) {
    let irq = io_queue_count(want_irq, granted, vectors);
    (irq, want_poll.min(granted.saturating_sub(irq)))
}

/// The interrupt vector of I/O queue `qid` given `vectors` allocated.
pub(crate) fn io_queue_vector(qid: u16, vectors: u32) -> u16 {
    if vectors > 1 {
        qid
    } else {
        0
    }
}

#[kunit_tests(rust_nvme_queue_count)]
mod tests {
    use super::*;

    #[test]
    fn queue_count_negotiation() {
        // One per CPU when everything allows it.
        assert_eq!(io_queue_count(4, 64, 5), 4);
        // The controller grants fewer.
        assert_eq!(io_queue_count(4, 2, 5), 2);
        // Fewer vectors than CPUs: one is the admin queue's.
        assert_eq!(io_queue_count(4, 64, 3), 2);
        // One shared vector: one I/O queue, sharing vector 0.
        assert_eq!(io_queue_count(4, 64, 1), 1);
        assert_eq!(io_queue_vector(1, 1), 0);
        assert_eq!(io_queue_vector(3, 5), 3);
        // Nothing granted.
        assert_eq!(io_queue_count(4, 0, 5), 0);
        // Polled queues come from what is left after the interrupt-driven ones.
        assert_eq!(io_queue_split(4, 2, 64, 5), (4, 2));
        assert_eq!(io_queue_split(4, 2, 5, 5), (4, 1));
        assert_eq!(io_queue_split(4, 2, 1, 1), (1, 0));
        assert_eq!(io_queue_split(1, 3, 64, 2), (1, 3));
    }
}
