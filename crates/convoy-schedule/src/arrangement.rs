//! What the traffic-weighted objectives ([`crate::stretch`], [`crate::cutwidth`])
//! share: the time model, pinned endpoints, the problem they are solved on, and
//! the result they return.
//!
//! # Model
//!
//! The VMs that move are numbered in migration order; `order[i]` is the graph
//! vertex that moves `i`-th. Moves are sequential. Vertex `v` finishes moving at
//! time `t(v)`: its position plus one under [`TimeModel::Positions`] (the
//! weighted linear arrangement), or the sum of the durations of the moves up to
//! and including its own under [`TimeModel::Durations`].
//!
//! Every vertex of the graph has an [`Anchor`]: it moves, it is already in the
//! cloud (an external peer; counts as moved at time 0), or it stays (counts as
//! never moving). Edges between two vertices that do not move are outside the
//! problem: a cloud–stay edge crosses the WAN whatever the order and is only
//! reported ([`Problem::fixed_cut`]); cloud–cloud and stay–stay edges never do.
//! An edge between a moving VM and a staying one is a *permanent cut*: it is
//! crossed from the moment the VM moves on, forever ([`Problem::permanent_cut`]).
//! The stretch counts it from then until the end `T` of the last move,
//! `w·(T − t(v))`: the order decides that much of its traffic (moving the
//! VMs that talk to staying ones last keeps it on premises), and what it
//! carries after `T` is the same for every order, reported as the rate.
//!
//! # The cut formulation
//!
//! Let `M_k` be the set of the first `k` movers and `c(M_k)` the weight of the
//! edges between the moved side (cloud peers and `M_k`) and the side still on
//! premises (the movers not yet moved and the staying VMs). While the
//! `(k+1)`-th move runs, for `d(order[k])` seconds, exactly these edges are
//! split, so
//!
//! ```text
//! stretch = Σ_k d(order[k]) · c(M_k)
//!         = Σ_edges w(u,v)·|t(u) − t(v)| + Σ_cloud edges w·t(v) + Σ_stay edges w·(T − t(v)).
//! ```
//!
//! The same cuts, at each moment between moves, are the WAN load of split
//! conversations ([`Problem::cut_profile`]); their maximum is the cutwidth.
//! Both local searches and both exact solvers work on this formulation:
//! appending `v` to a prefix `S` changes the cut by
//! `deg(v) − 2·w(v, S) − cloud(v) + stay(v)`.

use convoy_model::Graph;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::budget::{Budget, Control, Progress, StopReason};

/// When each move completes.
#[derive(Debug, Clone, PartialEq)]
pub enum TimeModel {
    /// `t(v)` = position of `v` + 1: every move takes one step (weighted linear arrangement).
    Positions,
    /// `t(v)` = sum of the durations (seconds) of the moves up to and including `v`'s.
    /// Indexed by graph vertex; entries of vertices that do not move are ignored.
    Durations(Vec<f64>),
}

/// Where a vertex is with respect to the move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Anchor {
    /// The vertex is migrated; it appears in the order.
    #[default]
    Moves,
    /// An external peer already in the cloud (or on the internet): moved at time 0.
    Cloud,
    /// A VM or peer that stays on premise: never moves.
    Stays,
}

/// Why a problem or an order was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrangementError {
    /// The anchors or durations do not have one entry per graph vertex.
    Length {
        /// Which input.
        what: &'static str,
        /// Its length.
        found: usize,
        /// The number of graph vertices.
        expected: usize,
    },
    /// A moving vertex has a negative, NaN or infinite duration.
    BadDuration {
        /// Graph vertex.
        vertex: usize,
        /// The offending value.
        duration: f64,
    },
    /// The order is not a permutation of the moving vertices.
    BadOrder(String),
}

impl std::fmt::Display for ArrangementError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArrangementError::Length {
                what,
                found,
                expected,
            } => write!(
                f,
                "{what} has {found} entries, expected one per vertex ({expected})"
            ),
            ArrangementError::BadDuration { vertex, duration } => write!(
                f,
                "duration of vertex {vertex} is {duration}, expected a finite non-negative number"
            ),
            ArrangementError::BadOrder(why) => write!(
                f,
                "the order must list every moving vertex exactly once: {why}"
            ),
        }
    }
}

impl std::error::Error for ArrangementError {}

/// Settings of the objectives' `solve` functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Seed of every randomised step.
    pub seed: u64,
    /// Work budget in search units (see [`Budget`]); the same effort gives the same result.
    pub effort: u64,
    /// Separate budget, in the same units, for strengthening the lower bound
    /// (the stretch objective's spreading-metric LP); 0 keeps the fast
    /// combinatorial bounds only. It never changes the order found.
    pub bound_effort: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 0,
            effort: DEFAULT_EFFORT,
            bound_effort: DEFAULT_BOUND_EFFORT,
        }
    }
}

/// The default work budget: solves up to 20 movers exactly and runs the
/// local search long enough on a few thousand.
pub const DEFAULT_EFFORT: u64 = 100_000_000;

/// The default budget of the lower bound's LP: about as long as the default
/// search, enough for the LP to converge on a few dozen VMs.
pub const DEFAULT_BOUND_EFFORT: u64 = 100_000_000;

/// Largest number of movers the subset dynamic programme accepts (it needs
/// 17 · 2^n bytes — 570 MB at 25 — and 2n · 2^n budget units, so only a
/// budget above 1.7·10⁹ runs it at 25).
pub const EXACT_MAX: usize = 25;

/// A migration order for one of the traffic-weighted objectives and what is proven about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// The moving vertices (graph indices), first to move first.
    pub order: Vec<usize>,
    /// Objective value of `order`, recomputed from it.
    pub value: f64,
    /// Proven lower bound on the optimum.
    pub lower_bound: f64,
    /// Weight of the edges between moving and staying vertices (crossed for good once the mover moves).
    pub permanent_cut: f64,
    /// The solver that produced the largest component's order.
    pub solver: String,
    /// Set when the search ended before proving optimality because it was
    /// interrupted or ran out of effort.
    pub stopped: Option<StopReason>,
    /// Set when the lower bound's LP ended with violated constraints left
    /// because it was interrupted or its bound effort ran out (more of
    /// either would raise `lower_bound`); `None` when it converged, was not
    /// needed, or does not apply.
    pub bound_stopped: Option<StopReason>,
}

impl Solution {
    /// Whether `value` is proven optimal (it meets the lower bound, up to rounding).
    pub fn optimal(&self) -> bool {
        self.value <= self.lower_bound + 1e-9 * self.lower_bound.abs().max(1.0)
    }
}

/// The movers' graph with the pinned endpoints folded into per-vertex weights.
///
/// Local vertex `i` is graph vertex `movers()[i]`.
#[derive(Debug, Clone)]
pub struct Problem {
    movers: Vec<usize>,
    local: Vec<usize>,
    pub(crate) arr: Arr,
    permanent_cut: f64,
    fixed_cut: f64,
}

impl Problem {
    /// Builds the problem: `anchors` and (for [`TimeModel::Durations`]) the
    /// durations have one entry per graph vertex.
    pub fn new(
        graph: &Graph,
        anchors: &[Anchor],
        time: &TimeModel,
    ) -> Result<Problem, ArrangementError> {
        let n = graph.n();
        if anchors.len() != n {
            return Err(ArrangementError::Length {
                what: "anchors",
                found: anchors.len(),
                expected: n,
            });
        }
        let mut local = vec![usize::MAX; n];
        let mut movers = Vec::new();
        for v in 0..n {
            if anchors[v] == Anchor::Moves {
                local[v] = movers.len();
                movers.push(v);
            }
        }
        let m = movers.len();
        let dur = match time {
            TimeModel::Positions => vec![1.0; m],
            TimeModel::Durations(d) => {
                if d.len() != n {
                    return Err(ArrangementError::Length {
                        what: "durations",
                        found: d.len(),
                        expected: n,
                    });
                }
                let mut dur = Vec::with_capacity(m);
                for &v in &movers {
                    if !d[v].is_finite() || d[v] < 0.0 {
                        return Err(ArrangementError::BadDuration {
                            vertex: v,
                            duration: d[v],
                        });
                    }
                    dur.push(d[v]);
                }
                dur
            }
        };
        let mut cloud = vec![0.0; m];
        let mut stay = vec![0.0; m];
        let mut edges = Vec::new();
        let (mut permanent_cut, mut fixed_cut) = (0.0, 0.0);
        for (u, v, w) in graph.edges() {
            match (anchors[u], anchors[v]) {
                (Anchor::Moves, Anchor::Moves) => {
                    edges.push((local[u] as u32, local[v] as u32, w));
                }
                (Anchor::Moves, Anchor::Cloud) => cloud[local[u]] += w,
                (Anchor::Cloud, Anchor::Moves) => cloud[local[v]] += w,
                (Anchor::Moves, Anchor::Stays) => {
                    stay[local[u]] += w;
                    permanent_cut += w;
                }
                (Anchor::Stays, Anchor::Moves) => {
                    stay[local[v]] += w;
                    permanent_cut += w;
                }
                (Anchor::Cloud, Anchor::Stays) | (Anchor::Stays, Anchor::Cloud) => fixed_cut += w,
                _ => {}
            }
        }
        Ok(Problem {
            movers,
            local,
            arr: Arr::from_edges(m, edges, cloud, stay, dur),
            permanent_cut,
            fixed_cut,
        })
    }

    /// The [`Solution`] for `order` (local indices) with objective `value`:
    /// reports it as done through `control`, and says it was stopped only
    /// when it is not proven optimal.
    pub(crate) fn solution(
        &self,
        order: Vec<usize>,
        value: f64,
        lower: f64,
        solver: &str,
        stopped: Option<StopReason>,
        control: &dyn Control,
    ) -> Solution {
        debug_assert!(
            lower <= value + 1e-6 * value.abs().max(1.0),
            "lower bound {lower} above the value {value} of an order"
        );
        // Rounding must not make a bound exceed a value that was found.
        let lower_bound = lower.min(value);
        let proven = value <= lower_bound + 1e-9 * lower_bound.abs().max(1.0);
        control.progress(&Progress {
            upper: value.round() as u64,
            lower: lower_bound.round() as u64,
            phase: "done".into(),
        });
        Solution {
            order: self.to_graph(&order),
            value,
            lower_bound,
            permanent_cut: self.permanent_cut(),
            solver: solver.to_string(),
            stopped: if proven { None } else { stopped },
            bound_stopped: None,
        }
    }

    /// Every vertex moves and every move takes one step: the plain weighted linear arrangement.
    pub fn plain(graph: &Graph) -> Problem {
        Problem::new(
            graph,
            &vec![Anchor::Moves; graph.n()],
            &TimeModel::Positions,
        )
        .expect("plain problem inputs are consistent")
    }

    /// The moving vertices (graph indices), in index order.
    pub fn movers(&self) -> &[usize] {
        &self.movers
    }

    /// Weight of the edges between a moving and a staying vertex.
    pub fn permanent_cut(&self) -> f64 {
        self.permanent_cut
    }

    /// Weight of the edges between cloud peers and staying vertices: crossed
    /// whatever the order, and left out of both objectives.
    pub fn fixed_cut(&self) -> f64 {
        self.fixed_cut
    }

    /// Maps an order of graph vertices to local indices, checking that it is a
    /// permutation of the movers.
    pub(crate) fn to_local(&self, order: &[usize]) -> Result<Vec<usize>, ArrangementError> {
        let m = self.movers.len();
        if order.len() != m {
            return Err(ArrangementError::BadOrder(format!(
                "{} entries for {} movers",
                order.len(),
                m
            )));
        }
        let mut seen = vec![false; m];
        let mut out = Vec::with_capacity(m);
        for &v in order {
            let l = self.local.get(v).copied().unwrap_or(usize::MAX);
            if l == usize::MAX {
                return Err(ArrangementError::BadOrder(format!(
                    "vertex {v} does not move"
                )));
            }
            if std::mem::replace(&mut seen[l], true) {
                return Err(ArrangementError::BadOrder(format!(
                    "vertex {v} appears twice"
                )));
            }
            out.push(l);
        }
        Ok(out)
    }

    /// Maps local indices back to graph vertices.
    pub(crate) fn to_graph(&self, order: &[usize]) -> Vec<usize> {
        order.iter().map(|&l| self.movers[l]).collect()
    }

    /// Completion time of each mover, as `(graph vertex, t)` in migration order.
    pub fn completion_times(&self, order: &[usize]) -> Result<Vec<(usize, f64)>, ArrangementError> {
        let lo = self.to_local(order)?;
        let t = self.arr.times(&lo);
        Ok(lo.iter().map(|&l| (self.movers[l], t[l])).collect())
    }

    /// The WAN load of split conversations at each of the `m + 1` moments between
    /// moves (before the first, …, after the last): the weight of the edges with
    /// exactly one end moved, cloud peers counting as moved and staying
    /// vertices as not. [`Problem::fixed_cut`] is not included.
    pub fn cut_profile(&self, order: &[usize]) -> Result<Vec<f64>, ArrangementError> {
        let lo = self.to_local(order)?;
        Ok(self.arr.profile(&lo, true))
    }
}

/// The compact form both objectives search on: movers `0..n` with internal
/// weighted edges (CSR, both directions), and per-vertex cloud weight, stay
/// weight, duration and internal weighted degree.
#[derive(Debug, Clone)]
pub(crate) struct Arr {
    off: Vec<usize>,
    adj: Vec<u32>,
    wt: Vec<f64>,
    pub cloud: Vec<f64>,
    pub stay: Vec<f64>,
    pub dur: Vec<f64>,
    pub deg: Vec<f64>,
}

impl Arr {
    /// Builds from undirected edges (any order; duplicates summed, self-loops dropped).
    pub fn from_edges(
        n: usize,
        mut edges: Vec<(u32, u32, f64)>,
        cloud: Vec<f64>,
        stay: Vec<f64>,
        dur: Vec<f64>,
    ) -> Arr {
        edges.retain(|e| e.0 != e.1);
        for e in edges.iter_mut() {
            if e.0 > e.1 {
                *e = (e.1, e.0, e.2);
            }
        }
        edges.sort_unstable_by_key(|e| (e.0, e.1));
        let mut merged: Vec<(u32, u32, f64)> = Vec::with_capacity(edges.len());
        for e in edges {
            match merged.last_mut() {
                Some(l) if l.0 == e.0 && l.1 == e.1 => l.2 += e.2,
                _ => merged.push(e),
            }
        }
        let mut count = vec![0usize; n + 1];
        for &(a, b, _) in &merged {
            count[a as usize + 1] += 1;
            count[b as usize + 1] += 1;
        }
        for i in 0..n {
            count[i + 1] += count[i];
        }
        let off = count;
        let mut fill = off[..n].to_vec();
        let mut adj = vec![0u32; off[n]];
        let mut wt = vec![0.0; off[n]];
        let mut deg = vec![0.0; n];
        // Edges are sorted by (a, b): filling in this order keeps every list sorted.
        for &(a, b, w) in &merged {
            adj[fill[a as usize]] = b;
            wt[fill[a as usize]] = w;
            fill[a as usize] += 1;
            deg[a as usize] += w;
            deg[b as usize] += w;
        }
        for &(a, b, w) in &merged {
            adj[fill[b as usize]] = a;
            wt[fill[b as usize]] = w;
            fill[b as usize] += 1;
        }
        convoy_model::sort_neighbours(&off, &mut adj, &mut wt);
        Arr {
            off,
            adj,
            wt,
            cloud,
            stay,
            dur,
            deg,
        }
    }

    /// Number of movers.
    pub fn n(&self) -> usize {
        self.dur.len()
    }

    /// Number of internal (mover–mover) edges, each counted once.
    pub fn edge_count(&self) -> usize {
        self.adj.len() / 2
    }

    /// Neighbours of `v` with the edge weights.
    pub fn nbrs(&self, v: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let r = self.off[v]..self.off[v + 1];
        self.adj[r.clone()]
            .iter()
            .map(|&u| u as usize)
            .zip(self.wt[r].iter().copied())
    }

    /// Number of neighbours of `v`.
    pub fn degree(&self, v: usize) -> usize {
        self.off[v + 1] - self.off[v]
    }

    /// Internal edges once, `(u, v, w)` with `u < v`.
    pub fn edges(&self) -> impl Iterator<Item = (usize, usize, f64)> + '_ {
        (0..self.n()).flat_map(move |u| {
            self.nbrs(u)
                .filter(move |&(v, _)| v > u)
                .map(move |(v, w)| (u, v, w))
        })
    }

    /// Whether every weight (internal, cloud, stay) is a whole number, so that
    /// cut values are too and bounds may be rounded up.
    pub fn integral_weights(&self) -> bool {
        let whole = |x: &f64| x.fract() == 0.0;
        self.wt.iter().all(whole) && self.cloud.iter().all(whole) && self.stay.iter().all(whole)
    }

    /// Whether every move takes one unit of time.
    pub fn unit_durations(&self) -> bool {
        self.dur.iter().all(|&d| d == 1.0)
    }

    /// Connected components of the internal graph, each sorted, ordered by smallest vertex.
    pub fn components(&self) -> Vec<Vec<usize>> {
        let n = self.n();
        let mut seen = vec![false; n];
        let mut out = Vec::new();
        let mut stack = Vec::new();
        for s in 0..n {
            if seen[s] {
                continue;
            }
            seen[s] = true;
            stack.push(s);
            let mut comp = Vec::new();
            while let Some(u) = stack.pop() {
                comp.push(u);
                for (v, _) in self.nbrs(u) {
                    if !seen[v] {
                        seen[v] = true;
                        stack.push(v);
                    }
                }
            }
            comp.sort_unstable();
            out.push(comp);
        }
        out
    }

    /// The sub-problem on `vs` (distinct); vertex `i` of the result is `vs[i]`.
    /// Edges leaving `vs` are dropped (callers pass whole components).
    pub fn induced(&self, vs: &[usize]) -> Arr {
        let mut local = vec![u32::MAX; self.n()];
        for (i, &v) in vs.iter().enumerate() {
            local[v] = i as u32;
        }
        let mut edges = Vec::new();
        for (i, &v) in vs.iter().enumerate() {
            for (u, w) in self.nbrs(v) {
                let j = local[u];
                if j != u32::MAX && (i as u32) < j {
                    edges.push((i as u32, j, w));
                }
            }
        }
        let pick = |x: &[f64]| vs.iter().map(|&v| x[v]).collect::<Vec<_>>();
        Arr::from_edges(
            vs.len(),
            edges,
            pick(&self.cloud),
            pick(&self.stay),
            pick(&self.dur),
        )
    }

    /// Completion time of every vertex under `order` (local indices, a permutation).
    pub fn times(&self, order: &[usize]) -> Vec<f64> {
        let mut t = vec![0.0; self.n()];
        let mut now = 0.0;
        for &v in order {
            now += self.dur[v];
            t[v] = now;
        }
        t
    }

    /// Stretch of `order` straight from the definition:
    /// Σ internal w·|t(u) − t(v)| + Σ cloud(v)·t(v) + Σ stay(v)·(T − t(v)),
    /// `T` the end of the last move.
    pub fn stretch(&self, order: &[usize]) -> f64 {
        let t = self.times(order);
        let end: f64 = self.dur.iter().sum();
        let internal: f64 = self.edges().map(|(u, v, w)| w * (t[u] - t[v]).abs()).sum();
        let anchored: f64 = (0..self.n())
            .map(|v| self.cloud[v] * t[v] + self.stay[v] * (end - t[v]))
            .sum();
        internal + anchored
    }

    /// The stretch's coefficient of `t(v)`: its cloud edges grow with it and
    /// its edges to staying VMs shrink (they are crossed from `t(v)` to the
    /// end of the last move).
    #[inline]
    pub fn lin(&self, v: usize) -> f64 {
        self.cloud[v] - self.stay[v]
    }

    /// Cut after each prefix `k = 0..=n` of `order`; with `with_stay`, the
    /// mover–stay edges of moved vertices are included (the WAN load).
    pub fn profile(&self, order: &[usize], with_stay: bool) -> Vec<f64> {
        let n = self.n();
        let mut moved = vec![false; n];
        let mut out = Vec::with_capacity(n + 1);
        let mut c: f64 = self.cloud.iter().sum();
        out.push(c);
        for &v in order {
            let to_moved: f64 = self.nbrs(v).filter(|&(u, _)| moved[u]).map(|e| e.1).sum();
            c += self.gain(v, to_moved, with_stay);
            moved[v] = true;
            out.push(c);
        }
        out
    }

    /// Largest WAN load over the moments of `order` (mover–stay edges included).
    pub fn cutwidth(&self, order: &[usize]) -> f64 {
        self.profile(order, true).into_iter().fold(0.0, f64::max)
    }

    /// How the cut changes when `v` joins a prefix it has `to_prefix` weight to.
    #[inline]
    pub fn gain(&self, v: usize, to_prefix: f64, with_stay: bool) -> f64 {
        let g = self.deg[v] - 2.0 * to_prefix - self.cloud[v];
        if with_stay {
            g + self.stay[v]
        } else {
            g
        }
    }
}

/// How the subset dynamic programme combines the cuts of an order's prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Combine {
    /// Σ_k d(order[k]) · c(M_k), stay edges excluded: the stretch.
    Sum,
    /// max_k c(M_k), stay edges included: the cutwidth.
    Max,
}

/// Solves every connected component of `arr` on its own, smallest first
/// (they are solved exactly and cheaply, and leave the rest of their share
/// to the larger ones), each with a share of `budget` in proportion to its
/// size: the subset programme when it has at most [`EXACT_MAX`] VMs and its
/// share pays for it, and `part(vertices, sub-problem, exact order or None,
/// share)` makes the component's result. With `reserve_if_several`, a fifth
/// of the budget is kept back when there are several components (for a
/// last search across them).
pub(crate) fn per_component<P>(
    arr: &Arr,
    combine: Combine,
    budget: &mut Budget<'_>,
    reserve_if_several: bool,
    mut part: impl FnMut(Vec<usize>, &Arr, Option<Vec<usize>>, &mut Budget<'_>) -> P,
) -> Vec<P> {
    let mut comps = arr.components();
    comps.sort_by_key(|c| (c.len(), c[0]));
    let mut pending: u64 = comps.iter().map(|c| c.len() as u64).sum();
    let reserve = if reserve_if_several && comps.len() > 1 {
        budget.remaining() / 5
    } else {
        0
    };
    let mut parts = Vec::with_capacity(comps.len());
    for comp in comps {
        let sub = arr.induced(&comp);
        let share = ((budget.remaining().saturating_sub(reserve)) as u128 * comp.len() as u128
            / pending.max(1) as u128) as u64;
        pending -= comp.len() as u64;
        let mut child = budget.child(share.max(1));
        let exact = if sub.n() <= EXACT_MAX {
            subset_dp(&sub, combine, &mut child)
        } else {
            None
        };
        parts.push(part(comp, &sub, exact, &mut child));
        budget.absorb(child);
    }
    parts
}

/// Exact optimum by dynamic programming over subsets (the order of a prefix
/// set does not matter to what follows it), in O(2^n · n) time: the classic
/// formulation of linear arrangement problems as a shortest path in the
/// lattice of subsets (e.g. Díaz, Petit & Serna, "A survey of graph layout
/// problems", ACM Computing Surveys 2002).
///
/// Returns a best order (local indices), or `None` when `n` exceeds
/// [`EXACT_MAX`] or the budget cannot pay for the `2n · 2^n` units it needs
/// (then nothing is spent), or the caller interrupts it.
pub(crate) fn subset_dp(
    arr: &Arr,
    combine: Combine,
    budget: &mut Budget<'_>,
) -> Option<Vec<usize>> {
    let n = arr.n();
    if n > EXACT_MAX || n >= 32 {
        return None;
    }
    if n == 0 {
        return Some(Vec::new());
    }
    // Both passes spend n units per subset: do not start what cannot finish,
    // so that a failed attempt leaves the budget to the heuristics.
    if budget.remaining() < (2 * n as u64) << n {
        return None;
    }
    let full = (1usize << n) - 1;
    let mut wmat = vec![0.0f64; n * n];
    for (u, v, w) in arr.edges() {
        wmat[u * n + v] = w;
        wmat[v * n + u] = w;
    }
    // cut[S]: weight of the cut after the movers in S have moved.
    let mut cut = vec![0.0f64; full + 1];
    cut[0] = arr.cloud.iter().sum();
    for s in 1..=full {
        if s & 0xfff == 0 && !budget.spend(n as u64 * 0x1000) {
            return None;
        }
        let low = s.trailing_zeros() as usize;
        let rest = s & (s - 1);
        let row = &wmat[low * n..low * n + n];
        let mut bits = rest;
        let mut to_rest = 0.0;
        while bits != 0 {
            let b = bits.trailing_zeros() as usize;
            to_rest += row[b];
            bits &= bits - 1;
        }
        cut[s] = cut[rest] + arr.gain(low, to_rest, true);
    }
    let mut best = vec![0.0f64; full + 1];
    let mut last = vec![0u8; full + 1];
    best[0] = match combine {
        Combine::Sum => 0.0,
        Combine::Max => cut[0],
    };
    for s in 1..=full {
        if s & 0xfff == 0 && !budget.spend(n as u64 * 0x1000) {
            return None;
        }
        let mut bits = s;
        let mut min = f64::INFINITY;
        let mut arg = 0u8;
        while bits != 0 {
            let v = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let prev = s ^ (1 << v);
            let val = match combine {
                Combine::Sum => best[prev] + arr.dur[v] * cut[prev],
                Combine::Max => best[prev],
            };
            if val < min {
                min = val;
                arg = v as u8;
            }
        }
        best[s] = match combine {
            Combine::Sum => min,
            Combine::Max => min.max(cut[s]),
        };
        last[s] = arg;
    }
    let mut order = Vec::with_capacity(n);
    let mut s = full;
    while s != 0 {
        let v = last[s] as usize;
        order.push(v);
        s ^= 1 << v;
    }
    order.reverse();
    Some(order)
}

/// One level of the multilevel scheme: the coarse problem and, for each of its
/// vertices, the one or two fine vertices it stands for.
struct Level {
    coarse: Arr,
    children: Vec<[usize; 2]>,
}

/// Heavy-edge matching contraction (Safro, Ron & Brandt, "Graph minimum
/// linear arrangement by multilevel weighted edge contractions", J. Algorithms
/// 2006, use a weighted aggregation; a matching keeps each coarse vertex a
/// contiguous block of at most two fine ones, so that interpolation is a simple
/// expansion). The edge score w / (d(u)·d(v)) prefers light vertices, which
/// keeps the blocks balanced. Returns `None` when the graph barely shrinks.
fn coarsen(arr: &Arr, rng: &mut ChaCha8Rng) -> Option<Level> {
    const NONE: usize = usize::MAX;
    let n = arr.n();
    let mut visit: Vec<usize> = (0..n).collect();
    visit.shuffle(rng);
    let mut mate = vec![NONE; n];
    for &u in &visit {
        if mate[u] != NONE {
            continue;
        }
        let mut pick = NONE;
        let mut score = 0.0;
        for (v, w) in arr.nbrs(u) {
            if mate[v] != NONE || v == u {
                continue;
            }
            let s = w / (arr.dur[u].max(1e-9) * arr.dur[v].max(1e-9));
            if pick == NONE || s > score {
                pick = v;
                score = s;
            }
        }
        if pick != NONE {
            mate[u] = pick;
            mate[pick] = u;
        }
    }
    let mut map = vec![NONE; n];
    let mut children = Vec::new();
    for u in 0..n {
        if map[u] != NONE {
            continue;
        }
        map[u] = children.len();
        if mate[u] != NONE {
            map[mate[u]] = children.len();
            children.push([u, mate[u]]);
        } else {
            children.push([u, NONE]);
        }
    }
    let nc = children.len();
    if nc as f64 > 0.9 * n as f64 {
        return None;
    }
    let sum = |x: &[f64]| {
        let mut out = vec![0.0; nc];
        for u in 0..n {
            out[map[u]] += x[u];
        }
        out
    };
    let (cloud, stay, dur) = (sum(&arr.cloud), sum(&arr.stay), sum(&arr.dur));
    let edges = arr
        .edges()
        .filter(|&(u, v, _)| map[u] != map[v])
        .map(|(u, v, w)| (map[u] as u32, map[v] as u32, w))
        .collect();
    Some(Level {
        coarse: Arr::from_edges(nc, edges, cloud, stay, dur),
        children,
    })
}

/// Fiedler-vector ordering of a small connected problem: power iteration on
/// `σI − L` orthogonal to the constant vector, where `L` is the weighted
/// Laplacian extended with a "cloud" vertex (joined to each mover by its cloud
/// weight) and a "stay" vertex (joined by the weights to staying VMs); the
/// order is oriented so
/// that the cloud end comes first (Juvan & Mohar, "Optimal linear labelings
/// and eigenvalues of graphs", Discrete Appl. Math. 1992, motivate sorting by
/// the Fiedler vector for linear arrangement).
pub(crate) fn spectral_order(
    arr: &Arr,
    iterations: usize,
    rng: &mut ChaCha8Rng,
    budget: &mut Budget<'_>,
) -> Vec<usize> {
    let n = arr.n();
    if n <= 1 {
        return (0..n).collect();
    }
    let (c, s) = (n, n + 1);
    let total = n + 2;
    let stay = |v: usize| arr.stay[v];
    let mut ldeg = vec![0.0; total];
    for v in 0..n {
        ldeg[v] = arr.deg[v] + arr.cloud[v] + stay(v);
        ldeg[c] += arr.cloud[v];
        ldeg[s] += stay(v);
    }
    let sigma = 2.0 * ldeg.iter().cloned().fold(0.0, f64::max) + 1e-9;
    let mut x: Vec<f64> = (0..total).map(|_| rng.gen::<f64>() - 0.5).collect();
    let mut y = vec![0.0; total];
    let normalise = |x: &mut Vec<f64>| {
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        x.iter_mut().for_each(|a| *a -= mean);
        let norm = x.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm > 0.0 {
            x.iter_mut().for_each(|a| *a /= norm);
        }
    };
    normalise(&mut x);
    for _ in 0..iterations {
        if !budget.spend((arr.adj.len() + total) as u64) {
            break;
        }
        for v in 0..total {
            y[v] = (sigma - ldeg[v]) * x[v];
        }
        for v in 0..n {
            for (u, w) in arr.nbrs(v) {
                y[v] += w * x[u];
            }
            y[v] += arr.cloud[v] * x[c] + stay(v) * x[s];
            y[c] += arr.cloud[v] * x[v];
            y[s] += stay(v) * x[v];
        }
        std::mem::swap(&mut x, &mut y);
        normalise(&mut x);
    }
    // Orient: the cloud vertex first, else the stay vertex last, else keep.
    let flip = if ldeg[c] > 0.0 {
        x[c] > x.iter().take(n).sum::<f64>() / n as f64
    } else if ldeg[s] > 0.0 {
        x[s] < x.iter().take(n).sum::<f64>() / n as f64
    } else {
        false
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        let (xa, xb) = if flip { (-x[a], -x[b]) } else { (x[a], x[b]) };
        xa.total_cmp(&xb).then(a.cmp(&b))
    });
    order
}

/// Size of the coarsest problem of [`multilevel`], small enough for the
/// subset programme.
const COARSEST: usize = 12;

/// Improves an order of one level of [`multilevel`] in place.
pub(crate) type Refiner<'f> =
    dyn FnMut(&Arr, &mut Vec<usize>, &mut ChaCha8Rng, &mut Budget<'_>) + 'f;

/// Multilevel ordering: coarsen by heavy-edge matching down to a few vertices,
/// order the coarsest problem exactly for the objective `combine` (the
/// spectral order if the budget cannot pay for that), then expand level by
/// level, each fine pair placed by the mean position of its neighbours, and
/// polish each level with `refine`, the objective's own local search, which
/// gets a share of the budget proportional to the level's size (Safro, Ron &
/// Brandt 2006 do the same with their own interpolation and refinement).
pub(crate) fn multilevel(
    arr: &Arr,
    combine: Combine,
    rng: &mut ChaCha8Rng,
    budget: &mut Budget<'_>,
    refine: &mut Refiner<'_>,
) -> Vec<usize> {
    let mut levels: Vec<Level> = Vec::new();
    loop {
        let top = levels.last().map_or(arr, |l| &l.coarse);
        if top.n() <= COARSEST || !budget.spend(top.adj.len() as u64 + top.n() as u64) {
            break;
        }
        match coarsen(top, rng) {
            Some(level) => levels.push(level),
            None => break,
        }
    }
    let sizes: u64 = levels.iter().map(|l| l.coarse.n() as u64).sum::<u64>() + arr.n() as u64;
    let total = budget.remaining();
    let share = |n: usize| (total as u128 * n as u128 / sizes.max(1) as u128) as u64;
    let top = levels.last().map_or(arr, |l| &l.coarse);
    let mut order =
        subset_dp(top, combine, budget).unwrap_or_else(|| spectral_order(top, 300, rng, budget));
    for i in (0..levels.len()).rev() {
        let fine = if i == 0 { arr } else { &levels[i - 1].coarse };
        let coarse = &levels[i].coarse;
        let mut child = budget.child(share(coarse.n()));
        refine(coarse, &mut order, rng, &mut child);
        budget.absorb(child);
        order = expand(fine, &levels[i].children, &order);
    }
    refine(arr, &mut order, rng, budget);
    order
}

/// Expands a coarse order into a fine one: each coarse vertex becomes its
/// children, in the order of the mean coarse position of their neighbours
/// (cloud peers sit at position −1, staying VMs at n), which is the simple
/// interpolation of a matching-based scheme.
fn expand(fine: &Arr, children: &[[usize; 2]], coarse_order: &[usize]) -> Vec<usize> {
    let nc = children.len();
    let mut cpos = vec![0.0; nc];
    for (i, &c) in coarse_order.iter().enumerate() {
        cpos[c] = i as f64;
    }
    let mut parent = vec![0usize; fine.n()];
    for (c, ch) in children.iter().enumerate() {
        for &v in ch.iter().filter(|&&v| v != usize::MAX) {
            parent[v] = c;
        }
    }
    let pull = |v: usize| {
        let mut num = -fine.cloud[v] + fine.stay[v] * nc as f64;
        let mut den = fine.cloud[v] + fine.stay[v];
        for (u, w) in fine.nbrs(v) {
            num += w * cpos[parent[u]];
            den += w;
        }
        if den > 0.0 {
            num / den
        } else {
            cpos[parent[v]]
        }
    };
    let mut out = Vec::with_capacity(fine.n());
    for &c in coarse_order {
        let [a, b] = children[c];
        if b == usize::MAX {
            out.push(a);
        } else if pull(b) < pull(a) {
            out.extend([b, a]);
        } else {
            out.extend([a, b]);
        }
    }
    out
}
