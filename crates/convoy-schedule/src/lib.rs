//! convoy's scheduler: in what order to migrate VMs so that the conversations the
//! move stretches across the WAN are few and short.
//!
//! Everything here is a pure function of its inputs: no I/O, no clock, and
//! randomness only from a seeded generator, so the same graph, seed and effort
//! always give the same order. Time limits and progress display reach the
//! search through the [`Control`] trait.
//!
//! Orders are vectors of vertex indices, first to move first: `order[i]` is the
//! vertex at position `i`.

#![warn(missing_docs)]

pub mod arrangement;
pub mod bandwidth;
mod budget;
pub mod constraints;
pub mod cutwidth;
mod insertion;
pub mod online;
pub mod select;
pub mod stretch;
pub mod waves;

pub use budget::{Budget, Control, NoControl, Progress, StopReason};

/// Inverts an order: `positions(order)[v]` is the position of vertex `v`.
///
/// Panics if `order` is not a permutation of `0..order.len()`.
pub fn positions(order: &[usize]) -> Vec<usize> {
    let mut pos = vec![usize::MAX; order.len()];
    for (i, &v) in order.iter().enumerate() {
        assert!(
            pos[v] == usize::MAX,
            "vertex {v} appears twice in the order"
        );
        pos[v] = i;
    }
    pos
}

/// Whether `order` is a permutation of `0..n`.
pub fn is_permutation(order: &[usize], n: usize) -> bool {
    if order.len() != n {
        return false;
    }
    let mut seen = vec![false; n];
    order
        .iter()
        .all(|&v| v < n && !std::mem::replace(&mut seen[v], true))
}
