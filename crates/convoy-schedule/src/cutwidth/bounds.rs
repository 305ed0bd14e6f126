//! Lower bounds on the cutwidth.
//!
//! * The first and last moments are the same in every order: before any move
//!   the load is the total cloud weight, after the last move the total stay
//!   weight.
//! * **Vertex bound** (the weighted form of the degree bound ⌈Δ/2⌉): just
//!   before `v` moves, the edges from `v` to the movers already moved and to
//!   the cloud are cut; just after, those to the movers not yet moved and to
//!   the staying VMs. Whatever side each neighbour falls on, one of the two
//!   moments carries at least `min over splits B of max(w(B) + cloud(v),
//!   deg(v) − w(B) + stay(v))`, computed exactly by enumerating the splits of
//!   small neighbourhoods and bounded by half the total otherwise.
//!
//! * **Average bound**: the cuts before each of the `n` moves (stay edges
//!   left out) sum to the stretch of the order under unit durations, so the
//!   largest is at least any lower bound on that stretch divided by `n`
//!   (see [`crate::stretch`]); this is the bound that counts on meshes.
//!
//! With whole weights every cut is whole and the bound is rounded up.

use crate::arrangement::Arr;

/// Neighbourhoods up to this size are split exactly.
const ENUMERATE: usize = 14;

/// The vertex bound of `v`.
fn vertex_bound(arr: &Arr, v: usize) -> f64 {
    let (a, b, d) = (arr.cloud[v], arr.stay[v], arr.deg[v]);
    let half = 0.5 * (a + b + d);
    let floor = a.max(b).max(half);
    if arr.degree(v) > ENUMERATE {
        return floor;
    }
    let ws: Vec<f64> = arr.nbrs(v).map(|e| e.1).collect();
    let mut best = f64::INFINITY;
    for mask in 0u32..(1 << ws.len()) {
        let x: f64 = ws
            .iter()
            .enumerate()
            .filter(|(i, _)| mask >> i & 1 == 1)
            .map(|(_, w)| w)
            .sum();
        best = best.min((x + a).max(d - x + b));
    }
    best.max(floor)
}

/// A lower bound on the cutwidth of every order of `arr`.
pub(crate) fn lower_bound(arr: &Arr) -> f64 {
    let ends = arr.cloud.iter().sum::<f64>().max(arr.stay.iter().sum());
    let average = if arr.n() > 0 {
        crate::stretch::lower_bound_positions(arr) / arr.n() as f64
    } else {
        0.0
    };
    let bound = (0..arr.n())
        .map(|v| vertex_bound(arr, v))
        .fold(ends.max(average), f64::max);
    round_up(arr, bound)
}

/// Rounds up to a whole number when every cut is whole, allowing for floating-point noise.
pub(crate) fn round_up(arr: &Arr, bound: f64) -> f64 {
    if arr.integral_weights() {
        (bound - 1e-9 * bound.abs().max(1.0)).ceil()
    } else {
        bound
    }
}
