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
//! * **Stay bound.** The edges to staying VMs cost `Σ stay(v)·(T − t(v))`
//!   (`T` the end of the last move). Read backwards from `T`, `T − t(v)` is
//!   the start time of `v`'s move, so Smith's rule gives this minimum too:
//!   the weighted completion times less `Σ stay(v)·d(v)`.
//!
//! * **Edges bound** (unit durations): only `n − d` pairs of positions are `d`
//!   apart, so the internal edges cost at least what they cost when the
//!   heaviest fill the `n − 1` slots at distance 1, the next the `n − 2` at
//!   distance 2, and so on (Petit 2003's "edges method"); the stronger of this
//!   and the star bound is used. It is the one that counts on dense graphs.
//!
//! * **Split-star bound.** The star bound gives each edge half its weight in
//!   each endpoint's star. Any other split is valid too: with `α(e, v) ≥ 0`
//!   and `α(e, u) + α(e, v) = w(e)`, the stars weighted by `α` add up to the
//!   stretch of every order, so `Σ_v star_v(α)` is a lower bound for every
//!   split. An edge from a hub to a leaf is far from the hub and near the leaf,
//!   so giving its weight to the hub's star is worth more. The best split is
//!   the optimum of the linear programme with the star (degree) inequalities
//!   `Σ_{e ∈ F} |t(u) − t(v)| ≥ 1 + 1 + 2 + 2 + …` for every set `F` of edges
//!   at one vertex (Caprara, Letchford & Salazar-González, "Decorous lower
//!   bounds for minimum linear arrangement", INFORMS J. Computing 23(1), 2011;
//!   Amaral & Letchford, "Linear arrangement polytopes"): each split is a
//!   feasible solution of its dual. [`split_stars`] climbs towards it by
//!   projected supergradient ascent (each star is a concave function of its
//!   weights) and keeps the best split seen, so whatever the number of steps,
//!   the bound is the value of an explicit split and is valid. It starts from
//!   the even split, so it is never below the star bound. On the generated
//!   clusters it raises the bound by 40 to 70 % (hubs such as monitoring and
//!   logging talk to every VM).
//!
//! The internal, cloud and stay parts bound disjoint sets of edges, so they
//! add up.

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
    let jobs: Vec<(f64, f64)> = arr.nbrs(v).map(|(u, w)| (w, arr.dur[u])).collect();
    star_of(arr.dur[v], jobs, unit, None)
}

/// The star of a vertex of duration `dv` whose neighbours are `jobs`
/// (weight, duration): its optimum with unit durations, else the
/// Eastman–Even–Isaacs bound. With `grad`, also a supergradient with respect
/// to the weights (one entry per job, in the order given).
fn star_of(dv: f64, mut jobs: Vec<(f64, f64)>, unit: bool, grad: Option<&mut [f64]>) -> f64 {
    let mut idx: Vec<usize> = (0..jobs.len()).collect();
    if unit {
        // Heaviest first; ties by position, so that the result is deterministic.
        idx.sort_by(|&a, &b| jobs[b].0.total_cmp(&jobs[a].0).then(a.cmp(&b)));
        let mut total = 0.0;
        let mut grad = grad;
        for (rank, &i) in idx.iter().enumerate() {
            let distance = ((rank + 2) / 2) as f64;
            total += jobs[i].0 * distance;
            if let Some(g) = grad.as_deref_mut() {
                g[i] = distance;
            }
        }
        return total;
    }
    let near: f64 = jobs.iter().map(|&(w, p)| w * dv.min(p)).sum();
    let wp: f64 = jobs.iter().map(|&(w, p)| w * p).sum();
    if let Some(g) = grad {
        // Smith order of every job (weightless ones last), and completion times.
        idx.sort_by(|&a, &b| {
            let (x, y) = (jobs[a], jobs[b]);
            (x.0 <= 0.0)
                .cmp(&(y.0 <= 0.0))
                .then((x.1 * y.0).total_cmp(&(y.1 * x.0)))
                .then(a.cmp(&b))
        });
        let mut now = 0.0;
        let mut f1 = 0.0;
        for &i in &idx {
            now += jobs[i].1;
            g[i] = now;
            if jobs[i].0 > 0.0 {
                f1 += jobs[i].0 * now;
            }
        }
        let active = 0.5 * f1 - 0.75 * wp > 0.0;
        for (i, &(_, p)) in jobs.iter().enumerate() {
            let completion = g[i];
            g[i] = dv.min(p)
                + if active {
                    0.5 * completion - 0.75 * p
                } else {
                    0.0
                };
        }
        return near + (0.5 * f1 - 0.75 * wp).max(0.0);
    }
    let f1 = smith(&mut jobs);
    near + (0.5 * f1 - 0.75 * wp).max(0.0)
}

/// Steps of the supergradient ascent of [`split_stars`].
const SPLIT_STEPS: usize = 200;

/// The split-star bound on the internal edges: the best `Σ_v star_v(α)` over
/// the splits `α` of every edge weight between its two ends that a projected
/// supergradient ascent finds in [`SPLIT_STEPS`] steps, starting from the
/// even split (which gives the star bound).
///
/// A star is a concave function of its weights (a minimum of linear functions
/// with unit durations), so the sum is concave in the split; its supergradient
/// for the share of `e = {u, v}` held by `u` is the marginal distance of `e`
/// in `u`'s star minus that in `v`'s. Each step moves every share by a
/// decreasing fraction of the edge weight towards the end where the edge is
/// worth more, then clips it to `[0, w(e)]`. Deterministic.
pub(crate) fn split_stars(arr: &Arr, unit: bool) -> f64 {
    let n = arr.n();
    let edges: Vec<(usize, usize, f64)> = arr.edges().collect();
    // For each vertex: (edge id, whether the vertex is the edge's first end, neighbour).
    let mut inc: Vec<Vec<(usize, bool, usize)>> = vec![Vec::new(); n];
    for (e, &(u, v, _)) in edges.iter().enumerate() {
        inc[u].push((e, true, v));
        inc[v].push((e, false, u));
    }
    // share[e]: part of w(e) in the star of its first end.
    let mut share: Vec<f64> = edges.iter().map(|e| 0.5 * e.2).collect();
    let mut grad = vec![0.0; edges.len()];
    let mut local = Vec::new();
    let mut best = f64::NEG_INFINITY;
    for step in 0..SPLIT_STEPS {
        grad.iter_mut().for_each(|g| *g = 0.0);
        let mut value = 0.0;
        for (v, list) in inc.iter().enumerate() {
            if list.is_empty() {
                continue;
            }
            let jobs: Vec<(f64, f64)> = list
                .iter()
                .map(|&(e, first, u)| {
                    let w = if first {
                        share[e]
                    } else {
                        edges[e].2 - share[e]
                    };
                    (w, arr.dur[u])
                })
                .collect();
            local.clear();
            local.resize(list.len(), 0.0);
            value += star_of(arr.dur[v], jobs, unit, Some(&mut local));
            for (&(e, first, _), &g) in list.iter().zip(&local) {
                grad[e] += if first { g } else { -g };
            }
        }
        best = best.max(value);
        let top = grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        if top <= 0.0 {
            break;
        }
        let rate = 0.5 / (1.0 + step as f64 / 50.0);
        for (e, s) in share.iter_mut().enumerate() {
            let g = grad[e];
            let w = edges[e].2;
            let moved = rate * w * g.signum() * (4.0 * g.abs() / top).min(1.0);
            *s = (*s + moved).clamp(0.0, w);
        }
    }
    best.max(0.0)
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
    let split = split_stars(arr, unit).max(0.5 * stars);
    let internal = if unit {
        split.max(edges_bound(arr))
    } else {
        split
    };
    let mut jobs: Vec<(f64, f64)> = (0..arr.n()).map(|v| (arr.cloud[v], arr.dur[v])).collect();
    round_up(arr, internal + smith(&mut jobs) + stay_bound(arr))
}

/// The least `Σ stay(v)·(T − t(v))` of any order (the stay bound of the
/// module doc).
fn stay_bound(arr: &Arr) -> f64 {
    let mut jobs: Vec<(f64, f64)> = (0..arr.n()).map(|v| (arr.stay[v], arr.dur[v])).collect();
    let own: f64 = jobs.iter().map(|&(w, p)| w * p).sum();
    (smith(&mut jobs) - own).max(0.0)
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
