//! Lower bounds on the stretch.
//!
//! * **Star (degree) bound.** Each edge is seen from both ends, so the stretch
//!   is half the sum over vertices `v` of `Σ_u w(u,v)·|t(u) − t(v)|`, and each
//!   of these stars is at least its own optimum. With unit durations the best
//!   star puts the heaviest neighbours closest, at distances 1, 1, 2, 2, 3, …
//!   (the classic degree bound of MinLA, see Petit 2003). With durations, the
//!   neighbours on each side of `v` form a single-machine schedule: a
//!   neighbour on the left is at `d(v)` plus the start time of its job, one on
//!   the right at its completion time. So the star costs at least
//!   `Σ_u w·min(d(v), d(u))` plus the weighted start times of a two-machine
//!   schedule, which the bound of Eastman, Even & Isaacs ("Bounds for the
//!   optimal scheduling of n jobs on m processors", Management Science 1964)
//!   keeps above `½·F1 − ¾·Σ w·d`, with `F1` the single-machine optimum
//!   (Smith's rule).
//! * **Cloud bound.** The cloud edges cost `Σ cloud(v)·t(v)`, a weighted
//!   completion time on one machine: Smith's rule (1956) gives its minimum.
//!
//! * **Edges bound** (unit durations): only `n − d` pairs of positions are `d`
//!   apart, so the internal edges cost at least what they cost when the
//!   heaviest fill the `n − 1` slots at distance 1, the next the `n − 2` at
//!   distance 2, and so on (Petit 2003's "edges method"); the stronger of this
//!   and the star bound is used. It is the one that counts on dense graphs.
//!
//! The internal and cloud parts bound disjoint sets of edges, so they add up.

use crate::arrangement::Arr;

/// Minimum of `Σ w_j C_j` on one machine (Smith's rule: by `p/w` ascending).
fn smith(jobs: &mut [(f64, f64)]) -> f64 {
    // Jobs are (weight, processing time); weightless jobs go last and cost nothing.
    jobs.sort_by(|a, b| (a.1 * b.0).total_cmp(&(b.1 * a.0)));
    let mut now = 0.0;
    let mut cost = 0.0;
    for &(w, p) in jobs.iter() {
        if w > 0.0 {
            now += p;
            cost += w * now;
        }
    }
    cost
}

/// The optimum (unit durations) or a lower bound of the star of `v`.
fn star(arr: &Arr, v: usize, unit: bool) -> f64 {
    let mut jobs: Vec<(f64, f64)> = arr.nbrs(v).map(|(u, w)| (w, arr.dur[u])).collect();
    if unit {
        jobs.sort_by(|a, b| b.0.total_cmp(&a.0));
        return jobs
            .iter()
            .enumerate()
            .map(|(i, &(w, _))| w * ((i + 2) / 2) as f64)
            .sum();
    }
    let dv = arr.dur[v];
    let near: f64 = jobs.iter().map(|&(w, p)| w * dv.min(p)).sum();
    let wp: f64 = jobs.iter().map(|&(w, p)| w * p).sum();
    let f1 = smith(&mut jobs);
    near + (0.5 * f1 - 0.75 * wp).max(0.0)
}

/// The edges bound on the internal edges under unit durations.
fn edges_bound(arr: &Arr) -> f64 {
    let n = arr.n();
    let mut ws: Vec<f64> = arr.edges().map(|e| e.2).collect();
    ws.sort_by(|a, b| b.total_cmp(a));
    let mut total = 0.0;
    let (mut distance, mut left) = (1usize, n.saturating_sub(1));
    for w in ws {
        while left == 0 {
            distance += 1;
            left = n.saturating_sub(distance);
        }
        total += w * distance as f64;
        left -= 1;
    }
    total
}

/// A lower bound on the stretch of every order of `arr`.
pub(crate) fn lower_bound(arr: &Arr) -> f64 {
    let unit = arr.unit_durations();
    let stars: f64 = (0..arr.n()).map(|v| star(arr, v, unit)).sum();
    let internal = if unit {
        (0.5 * stars).max(edges_bound(arr))
    } else {
        0.5 * stars
    };
    let mut jobs: Vec<(f64, f64)> = (0..arr.n()).map(|v| (arr.cloud[v], arr.dur[v])).collect();
    round_up(arr, internal + smith(&mut jobs))
}

/// A lower bound on the stretch of every order of `arr` were every move one
/// step long (the cut sum Σ_k c(M_k), which the cutwidth bound divides by n).
pub(crate) fn lower_bound_positions(arr: &Arr) -> f64 {
    if arr.unit_durations() {
        return lower_bound(arr);
    }
    let mut unit = arr.clone();
    unit.dur.iter_mut().for_each(|d| *d = 1.0);
    lower_bound(&unit)
}

/// Rounds a bound up to the next whole number when every stretch is whole
/// (whole weights, unit durations), allowing for floating-point noise.
pub(crate) fn round_up(arr: &Arr, bound: f64) -> f64 {
    if arr.unit_durations() && arr.integral_weights() {
        (bound - 1e-9 * bound.abs().max(1.0)).ceil()
    } else {
        bound
    }
}
