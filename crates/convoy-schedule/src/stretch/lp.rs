//! The spreading-metric LP lower bound on the stretch, by cutting planes.
//!
//! The relaxation of G. Even, J. Naor, S. Rao & B. Schieber ("Divide-and-
//! conquer approximation algorithms via spreading metrics", J. ACM 47(4),
//! 2000) and S. Rao & A. W. Richa ("New approximation techniques for some
//! linear ordering problems", SIAM J. Comput. 34(2), 2004), in its
//! edge-length form: a length `l(e)` for every conversation, standing for
//! `|t(u) − t(v)|`, and for every VM `v` and set `S` of other VMs
//!
//! ```text
//!     Σ_{u ∈ S} dist_l(v, u)  ≥  g(v, S)
//! ```
//!
//! where `dist_l` is the shortest-path distance under the lengths and `g` is
//! a lower bound on `Σ_{u∈S} |t(u) − t(v)|` over all orders: `1+1+2+2+…`
//! with unit durations (two VMs at each distance), else the best total
//! completion time of `S`'s moves on two machines (one on each side of `v`). Every order satisfies these constraints (its
//! time differences are a metric, so path lengths only overestimate them),
//! so the LP minimum of `Σ w(e)·l(e)` is a lower bound. It is much stronger
//! than the star bounds on clusters whose hubs' neighbours are held in place
//! by their own applications: the triangle inequality along paths sees that
//! a database cannot sit both beside its service and beside the backup hub.
//!
//! Cloud peers are a virtual vertex at time 0: an edge `v–cloud` of length
//! `t(v)`, with `Σ_{u∈S} t(u) ≥` the shortest-processing-time sum.
//!
//! The constraints are exponentially many; they are generated: solve the LP
//! with the constraints found so far (`ipm`: Mehrotra's interior point
//! method on the normal equations, which are small: one column per
//! conversation), run Dijkstra from every vertex, and add the most
//! violated prefix sets of the shortest-path order (for unit durations the
//! `k` nearest minimise the left-hand side among sets of size `k`, so the
//! separation is exact). Constraints that stayed slack for a while are
//! dropped to keep each LP small.
//!
//! The value returned is not the solver's objective but a certificate by
//! weak duality computed here from the row duals, clipped at zero: for
//! `min q·l` subject to `A l ≥ b`, `lo ≤ l ≤ hi`, every `y ≥ 0` gives
//! `q·l ≥ b·y + Σ_j min(r_j·lo_j, r_j·hi_j)` with `r = q − Aᵀy`. It is valid
//! whatever the solver's accuracy and however early the loop stops (only
//! the rounding of the sums is trusted, and a relative 10⁻⁹ is taken off).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::ipm;
use crate::arrangement::Arr;
use crate::budget::Budget;

/// Violated constraints added per source vertex and round.
const CUTS_PER_SOURCE: usize = 10;
/// Rounds a constraint's dual may stay negligible before it is dropped.
const MAX_IDLE: u32 = 10;
/// Relative violation below which a constraint counts as satisfied.
const TOLERANCE: f64 = 1e-6;
/// Largest number of conversations for which the LP is attempted: beyond it
/// one interior-point solve costs more than a plan.
pub(crate) const MAX_EDGES: usize = 4000;

/// One generated constraint `Σ coef·l ≥ rhs` (scaled units), in the form
/// the solver takes.
type Row = (Vec<(usize, f64)>, f64);

/// The LP's columns: conversations (and edges to the cloud vertex).
struct Columns {
    ends: Vec<(usize, usize)>,
    weight: Vec<f64>,
    lo: Vec<f64>,
    hi: Vec<f64>,
}

/// A lower bound on the internal-plus-cloud stretch of every order of `arr`
/// (0 when the budget does not pay for one round). Deterministic for a given
/// budget limit unless the budget's control interrupts it.
pub(crate) fn spreading_bound(arr: &Arr, budget: &mut Budget<'_>) -> f64 {
    let n = arr.n();
    let has_cloud = arr.cloud.iter().any(|&c| c > 0.0);
    let cloud_vertex = n;
    let vertices = n + usize::from(has_cloud);
    let total: f64 = arr.dur.iter().sum();
    let shortest = arr.dur.iter().copied().fold(f64::INFINITY, f64::min);
    if n < 2 || total.partial_cmp(&0.0) != Some(Ordering::Greater) {
        return 0.0;
    }
    // Scale lengths by the mean duration and weights by the mean weight, so
    // that the interior point method sees numbers near one.
    let time_scale = total / n as f64;
    let mut cols = Columns {
        ends: Vec::new(),
        weight: Vec::new(),
        lo: Vec::new(),
        hi: Vec::new(),
    };
    for (u, v, w) in arr.edges() {
        cols.ends.push((u, v));
        cols.weight.push(w);
        let lo = arr.dur[u].min(arr.dur[v]);
        cols.lo.push(lo / time_scale);
        cols.hi.push((total - shortest).max(lo) / time_scale);
    }
    if has_cloud {
        for v in 0..n {
            if arr.cloud[v] > 0.0 {
                cols.ends.push((v, cloud_vertex));
                cols.weight.push(arr.cloud[v]);
                cols.lo.push(arr.dur[v] / time_scale);
                cols.hi.push(total / time_scale);
            }
        }
    }
    let m = cols.ends.len();
    if m == 0 || m > MAX_EDGES {
        return 0.0;
    }
    let weight_scale = cols.weight.iter().sum::<f64>() / m as f64;
    if weight_scale.partial_cmp(&0.0) != Some(Ordering::Greater) {
        return 0.0;
    }
    let q: Vec<f64> = cols.weight.iter().map(|w| w / weight_scale).collect();
    let mut adj: Vec<Vec<(usize, usize)>> = vec![Vec::new(); vertices];
    for (e, &(a, b)) in cols.ends.iter().enumerate() {
        adj[a].push((b, e));
        adj[b].push((a, e));
    }
    let unit = arr.unit_durations();
    let spreading = Spreading {
        arr,
        unit,
        time_scale,
        cloud_vertex: has_cloud.then_some(cloud_vertex),
    };

    let mut rows: Vec<Row> = Vec::new();
    // Rounds each row's dual has stayed negligible.
    let mut idle: Vec<u32> = Vec::new();
    let mut lengths = cols.lo.clone();
    // With no constraint generated yet the bound is `Σ w·lo` (every duality
    // certificate with y = 0), the LP's value when `lo` is already feasible.
    let mut best = certificate(&q, &cols, &[], &[]);
    let mut last_iterations: u64 = 0;
    loop {
        let added = separate(&spreading, &adj, &cols, &lengths, &mut rows);
        if added == 0 {
            break;
        }
        idle.resize(rows.len(), 0);
        // Work of one interior-point iteration on the normal equations:
        // Σ (row length)² to form them, m³/3 to factor them.
        let estimate = rows
            .iter()
            .map(|r| (r.0.len() * r.0.len()) as u64)
            .sum::<u64>()
            + (m * m * m / 3) as u64;
        // The last solve's iteration count prices the next one.
        let iterations = if last_iterations == 0 {
            30
        } else {
            last_iterations
        };
        let cost = estimate.saturating_mul(iterations) / 8;
        if cost > budget.remaining() || !budget.spend(cost) {
            break;
        }
        let Some(solution) = ipm::solve(&q, &cols.lo, &cols.hi, &rows, MAX_ITER, LP_GAP) else {
            break;
        };
        // A run that did not converge is used too: its duals still certify
        // a bound, and its lengths, within their box, still point at
        // violated constraints.
        last_iterations = u64::from(solution.iterations).max(1);
        let duals = solution.y;
        best = best.max(certificate(&q, &cols, &rows, &duals));
        let x = solution.x;
        // A row is idle while its dual is negligible. (Dropping rows that
        // are merely slack at the iterate cost 5 % of the bound after
        // 10¹¹ units on the 98-VM cluster: dropped cuts came back.)
        let top = duals.iter().copied().fold(0.0f64, f64::max);
        for (rounds, &y) in idle.iter_mut().zip(&duals) {
            *rounds = if y > 1e-7 * top { 0 } else { *rounds + 1 };
        }
        let mut kept = idle.iter().map(|&rounds| rounds <= MAX_IDLE);
        rows.retain(|_| kept.next().unwrap_or(true));
        idle.retain(|&rounds| rounds <= MAX_IDLE);
        if x.iter().any(|l| !l.is_finite()) {
            break;
        }
        lengths = x;
    }
    let value = best * weight_scale * time_scale;
    let value = value - 1e-9 * value.abs();
    if value > 0.0 {
        value
    } else {
        0.0
    }
}

/// The right-hand sides of the spreading constraints.
struct Spreading<'a> {
    arr: &'a Arr,
    unit: bool,
    time_scale: f64,
    cloud_vertex: Option<usize>,
}

impl Spreading<'_> {
    /// Lower bound on `Σ_{u∈set} |t(u) − t(source)|` (scaled), for `set`
    /// the real vertices nearest to `source`.
    fn rhs(&self, source: usize, set: &[usize]) -> f64 {
        let k = set.len();
        if Some(source) == self.cloud_vertex {
            // Σ t(u) over k VMs: at least the shortest-processing-time sum.
            if self.unit {
                return (k * (k + 1) / 2) as f64;
            }
            let mut d: Vec<f64> = set.iter().map(|&u| self.arr.dur[u]).collect();
            d.sort_by(f64::total_cmp);
            let mut now = 0.0;
            let mut sum = 0.0;
            for p in d {
                now += p;
                sum += now;
            }
            return sum / self.time_scale;
        }
        if self.unit {
            // 1 + 1 + 2 + 2 + …: k terms.
            let h = k / 2;
            return (h * (h + 1) + if k % 2 == 1 { h + 1 } else { 0 }) as f64;
        }
        // A VM u after the source is at the completion time of its job on a
        // "right" machine; one before it at d(source) + its start time on a
        // "left" machine, i.e. its completion time + d(source) − d(u). So the
        // sum is at least the best total completion time on two identical
        // machines — shortest job first onto the machine free first is
        // optimal for P2||ΣC_j (Conway, Maxwell & Miller, "Theory of
        // Scheduling", 1967) — plus Σ min(0, d(source) − d(u)).
        let ds = self.arr.dur[source];
        let mut d: Vec<f64> = set.iter().map(|&u| self.arr.dur[u]).collect();
        d.sort_by(f64::total_cmp);
        let (mut first, mut second, mut completions) = (0.0, 0.0, 0.0);
        for &p in &d {
            if first <= second {
                first += p;
                completions += first;
            } else {
                second += p;
                completions += second;
            }
        }
        let early: f64 = d.iter().map(|&p| (ds - p).min(0.0)).sum();
        (completions + early).max(0.0) / self.time_scale
    }

    /// Which prefix sizes are checked: all with unit durations (cheap), a
    /// sample otherwise (each check costs a sort).
    fn checked(&self, k: usize, of: usize) -> bool {
        self.unit || k <= 32 || k == of || k.checked_rem(of.div_ceil(32).max(1)) == Some(0)
    }
}

/// Adds the most violated spreading constraints at `lengths`; returns how many.
fn separate(
    spreading: &Spreading<'_>,
    adj: &[Vec<(usize, usize)>],
    cols: &Columns,
    lengths: &[f64],
    rows: &mut Vec<Row>,
) -> usize {
    let vertices = adj.len();
    let mut added = 0;
    let mut dist = vec![f64::INFINITY; vertices];
    let mut via = vec![usize::MAX; vertices];
    let mut done = vec![false; vertices];
    let mut reached = Vec::with_capacity(vertices);
    let mut heap = BinaryHeap::new();
    for source in 0..vertices {
        dist.iter_mut().for_each(|d| *d = f64::INFINITY);
        via.iter_mut().for_each(|e| *e = usize::MAX);
        done.iter_mut().for_each(|d| *d = false);
        reached.clear();
        dist[source] = 0.0;
        heap.push(Entry(0.0, source));
        while let Some(Entry(d, u)) = heap.pop() {
            if done[u] {
                continue;
            }
            done[u] = true;
            if u != source && Some(u) != spreading.cloud_vertex {
                reached.push(u);
            }
            for &(w, e) in &adj[u] {
                let nd = d + lengths[e];
                // Only unsettled vertices: the tree of `via` stays acyclic
                // whatever the lengths (the solver's are only nearly in bounds).
                if !done[w] && nd < dist[w] {
                    dist[w] = nd;
                    via[w] = e;
                    heap.push(Entry(nd, w));
                }
            }
        }
        let mut violated: Vec<(f64, usize)> = Vec::new();
        let mut prefix = 0.0;
        for k in 1..=reached.len() {
            prefix += dist[reached[k - 1]];
            if !spreading.checked(k, reached.len()) {
                continue;
            }
            let rhs = spreading.rhs(source, &reached[..k]);
            if rhs - prefix > TOLERANCE * rhs.max(1.0) {
                violated.push((rhs - prefix, k));
            }
        }
        violated.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for &(_, k) in violated.iter().take(CUTS_PER_SOURCE) {
            // Σ over the set of its tree paths: each edge counted once per
            // member whose path from the source runs through it.
            let mut count = vec![0.0; cols.ends.len()];
            for &u in &reached[..k] {
                let mut w = u;
                while w != source {
                    let e = via[w];
                    count[e] += 1.0;
                    let (a, b) = cols.ends[e];
                    w = if a == w { b } else { a };
                }
            }
            let coefs: Vec<(usize, f64)> = count
                .into_iter()
                .enumerate()
                .filter(|&(_, c)| c > 0.0)
                .collect();
            rows.push((coefs, spreading.rhs(source, &reached[..k])));
            added += 1;
        }
    }
    added
}

/// A Dijkstra queue entry, smallest distance first (ties by vertex).
struct Entry(f64, usize);

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(other.1.cmp(&self.1))
    }
}

/// Interior-point iterations allowed per LP (they converge in 10–30).
const MAX_ITER: u32 = 40;
/// Relative gap at which an LP counts as solved: the certificate then loses
/// at most this fraction, far below what one more round of cuts gains.
const LP_GAP: f64 = 1e-5;

/// The weak-duality bound `b·y + Σ_j min(r_j·lo_j, r_j·hi_j)` with `y` the
/// clipped duals (scaled units).
fn certificate(q: &[f64], cols: &Columns, rows: &[Row], duals: &[f64]) -> f64 {
    let mut reduced = q.to_vec();
    let mut value = 0.0;
    for (row, &y) in rows.iter().zip(duals) {
        let y = if y.is_finite() { y.max(0.0) } else { 0.0 };
        if y == 0.0 {
            continue;
        }
        value += y * row.1;
        for &(j, c) in &row.0 {
            reduced[j] -= y * c;
        }
    }
    for (j, r) in reduced.into_iter().enumerate() {
        value += (r * cols.lo[j]).min(r * cols.hi[j]);
    }
    value
}
