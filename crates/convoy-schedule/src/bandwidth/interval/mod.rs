//! Interval graphs: recognition and exact bandwidth in polynomial time.
//!
//! Recognition is by multi-sweep LexBFS (Corneil, Olariu & Stewart, "The LBFS
//! structure and recognition of interval graphs", SIAM J. Discrete Math. 23(4),
//! 2009): a first LexBFS sweep, which must be a chordal ordering, then LexBFS+
//! sweeps, each breaking ties by the previous one, until one of them (or its
//! reverse) is an interval ordering. Every answer "interval" is certified by
//! checking that ordering, so it is never wrong; see [`interval_ordering`].
//!
//! The bandwidth is then computed by a greedy of the Kleitman–Vohra family on
//! the interval model read off that ordering (see `layout.rs`), bisecting on
//! the width between lower bounds and the width of the ordering itself.

mod layout;
mod lexbfs;

pub use lexbfs::{is_chordal_order, is_interval_ordering, lexbfs, lexbfs_plus};

use convoy_model::Graph;

/// Sweeps tried after the first before giving up. Random interval graphs are
/// recognised within a handful; the cap keeps the cost on chordal graphs that
/// are not interval (such as most trees) at a fixed multiple of O(n + m).
pub const MAX_SWEEPS: usize = 12;

/// An interval ordering of `graph` — vertices in an order where, for
/// positions a < b < c, an edge between those at a and c implies one between
/// those at a and b — or `None` if none was found.
///
/// `Some` is always a verified certificate that `graph` is an interval graph.
/// `None` is certain when `graph` is not chordal (a LexBFS order that is not a
/// perfect elimination ordering); otherwise it means that [`MAX_SWEEPS`]
/// LexBFS+ sweeps, or a repeated pair of them, produced no interval ordering,
/// which on interval graphs has not happened in our tests but is not excluded
/// by a theorem for plain LexBFS+ (Corneil, Olariu & Stewart close the gap with
/// a sixth, LBFS*, sweep).
///
/// Runs in O(MAX_SWEEPS · (n + m)).
pub fn interval_ordering(graph: &Graph) -> Option<Vec<usize>> {
    let n = graph.n();
    let identity: Vec<usize> = (0..n).collect();
    let mut sigma = lexbfs(graph, &identity);
    if !is_chordal_order(graph, &sigma) {
        return None;
    }
    let mut before: Option<Vec<usize>> = None;
    for _ in 0..=MAX_SWEEPS {
        if is_interval_ordering(graph, &sigma) {
            return Some(sigma);
        }
        let reversed: Vec<usize> = sigma.iter().rev().copied().collect();
        if is_interval_ordering(graph, &reversed) {
            return Some(reversed);
        }
        let next = lexbfs_plus(graph, &sigma);
        // LexBFS+ is deterministic: once it alternates between two orders it
        // will never produce a third.
        if before.as_ref() == Some(&next) {
            return None;
        }
        before = Some(std::mem::replace(&mut sigma, next));
    }
    None
}

/// Whether [`interval_ordering`] finds a certificate that `graph` is an interval graph.
pub fn is_interval(graph: &Graph) -> bool {
    interval_ordering(graph).is_some()
}

/// An optimal (minimum-bandwidth) order when `graph` is recognised as an
/// interval graph, `None` otherwise.
///
/// The width is searched by bisection between max(ω − 1, ⌈Δ/2⌉), both lower
/// bounds, and the width of the interval ordering, which is a valid layout;
/// each probe is one run of the greedy, O(n·k + m) per probe in the usual
/// case (a candidate rejected by the "at most k waiting" test costs its
/// degree), so O((n·k + m) log n) after the O(MAX_SWEEPS · (n + m))
/// recognition.
pub fn solve_interval(graph: &Graph) -> Option<Vec<usize>> {
    let ordering = interval_ordering(graph)?;
    let model = layout::Model::new(graph, &ordering);
    let best = model.optimal();
    Some(best.into_iter().map(|i| ordering[i]).collect())
}
