//! Waves: the migration order cut into consecutive groups of VMs that move at
//! the same time.
//!
//! # Model
//!
//! A plan with waves is an order of the movers cut into consecutive waves
//! `W_1, W_2, …`. The moves of one wave run together and share the one WAN
//! link, and **every VM of a wave completes when its wave does**:
//!
//! - under [`TimeModel::Positions`] a wave takes one step, whatever its size
//!   (the abstract model: `T(v)` = index of `v`'s wave, from 1);
//! - under [`TimeModel::Durations`] a wave takes the sum of its moves'
//!   durations (they share one link, so running them together does not make
//!   the bytes cross sooner: `T(v)` = total duration of the waves up to and
//!   including `v`'s).
//!
//! The objectives of [`crate::arrangement`] are then taken on the wave times:
//!
//! - *stretch*: Σ internal edges w(u,v)·|T(u) − T(v)| + Σ cloud edges
//!   w·T(v) + Σ stay edges w·(T_end − T(v)), `T_end` the end of the last wave.
//!   In cut form, wave `j` runs for `D_j` while the edges between the moved
//!   side (cloud peers and waves `< j`) and the rest (staying VMs included)
//!   are split, so the stretch
//!   is Σ_j D_j · c(W_1 ∪ … ∪ W_{j−1}). Two VMs of one wave never stretch
//!   their conversation, which is why grouping talkative VMs pays.
//! - *cutwidth*: the largest WAN load of split conversations at the moments
//!   between waves (mover–stay edges of moved VMs included).
//!
//! With waves of one VM each, both equal the plain objectives.
//!
//! # The two ways to ask for waves
//!
//! - [`Waves::AtMost`]`(K)` (`--waves K`): at most `K` moves at once; how
//!   many waves and where they are cut is free, chosen for the best
//!   objective. Smaller waves are allowed when they lower the stretch.
//! - [`Waves::Fill`]`(K)` (`--wave-size K`): waves of `K` VMs, as few waves as
//!   the order allows (`⌈n/K⌉` without constraints, so every wave is full but
//!   possibly one), and among those partitions the best objective. Use it
//!   when each wave costs a maintenance window.
//!
//! For a fixed order, [`partition`] finds the optimal partition by a dynamic
//! programme over the positions, `f(j) = min_{j−K ≤ i < j} f(i) + cost(i, j)`,
//! in O(n·K) time: the cost of wave `[i, j)` depends only on the prefix cut
//! `c(i)` and on `i, j`, which is the classic optimal segmentation of a
//! sequence (Bellman, "On the approximation of curves by line segments using
//! dynamic programming", CACM 1961).

use crate::arrangement::{Arr, ArrangementError, Problem, TimeModel};

/// The objective computed on wave completion times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// Σ w·|T(u) − T(v)| on wave completion times (application bytes split during the move).
    Stretch,
    /// Largest WAN load of split conversations between waves.
    Cutwidth,
}

/// How the order is cut into waves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waves {
    /// One VM at a time: every wave holds one VM (the plain objectives).
    Sequential,
    /// `--waves K`: at most `K` VMs per wave, cut for the best objective
    /// (`0` is read as `1`).
    AtMost(usize),
    /// `--wave-size K`: at most `K` VMs per wave and as few waves as possible,
    /// then the best objective (`0` is read as `1`).
    Fill(usize),
}

impl Waves {
    /// The largest wave allowed.
    pub fn max_size(self) -> usize {
        match self {
            Waves::Sequential => 1,
            Waves::AtMost(k) | Waves::Fill(k) => k.max(1),
        }
    }
}

/// A plan cut into waves, with its objective recomputed from the waves.
#[derive(Debug, Clone, PartialEq)]
pub struct WavePlan {
    /// The movers (graph vertices), first to move first; the waves are consecutive runs of it.
    pub order: Vec<usize>,
    /// The waves, first first; each lists graph vertices in order.
    pub waves: Vec<Vec<usize>>,
    /// Completion time of each wave (steps under [`TimeModel::Positions`], seconds under durations).
    pub ends: Vec<f64>,
    /// Predicted WAN load of split conversations while each wave runs
    /// (bytes/s): the weight of the edges with exactly one end moved when
    /// the wave starts, cloud peers counting as moved and the mover–stay
    /// edges of VMs already moved included.
    pub split: Vec<f64>,
    /// The objective on wave completion times.
    pub value: f64,
    /// Which objective `value` is.
    pub objective: Objective,
}

/// Whether each wave takes one step (positions model) or the sum of its moves' durations.
fn steps(time: &TimeModel) -> bool {
    matches!(time, TimeModel::Positions)
}

/// Evaluates given waves straight from the definition (graph vertices; their
/// concatenation must be a permutation of the movers).
pub fn evaluate(
    problem: &Problem,
    time: &TimeModel,
    waves: &[Vec<usize>],
    objective: Objective,
) -> Result<WavePlan, ArrangementError> {
    let order: Vec<usize> = waves.iter().flatten().copied().collect();
    let local = problem.to_local(&order)?;
    if waves.iter().any(|w| w.is_empty()) {
        return Err(ArrangementError::BadOrder("a wave is empty".into()));
    }
    let arr = &problem.arr;
    let mut bounds = Vec::with_capacity(waves.len() + 1);
    bounds.push(0);
    for w in waves {
        bounds.push(bounds.last().copied().unwrap_or(0) + w.len());
    }
    Ok(evaluate_local(
        arr,
        steps(time),
        &local,
        &bounds,
        objective,
        |l| problem.to_graph(l),
    ))
}

/// Evaluation on local indices; `bounds` are the wave boundaries `0 = b_0 < … < b_W = n`.
fn evaluate_local(
    arr: &Arr,
    steps: bool,
    local: &[usize],
    bounds: &[usize],
    objective: Objective,
    to_graph: impl Fn(&[usize]) -> Vec<usize>,
) -> WavePlan {
    let nw = bounds.len() - 1;
    let mut t = vec![0.0; arr.n()];
    let mut ends = Vec::with_capacity(nw);
    let mut now = 0.0;
    for j in 0..nw {
        let wave = &local[bounds[j]..bounds[j + 1]];
        now += if steps {
            1.0
        } else {
            wave.iter().map(|&v| arr.dur[v]).sum()
        };
        for &v in wave {
            t[v] = now;
        }
        ends.push(now);
    }
    let load = arr.profile(local, true);
    let split: Vec<f64> = (0..nw).map(|j| load[bounds[j]]).collect();
    let value = match objective {
        Objective::Stretch => {
            let internal: f64 = arr.edges().map(|(u, v, w)| w * (t[u] - t[v]).abs()).sum();
            let end = ends.last().copied().unwrap_or(0.0);
            let anchored: f64 = (0..arr.n())
                .map(|v| arr.cloud[v] * t[v] + arr.stay[v] * (end - t[v]))
                .sum();
            internal + anchored
        }
        Objective::Cutwidth => bounds.iter().map(|&b| load[b]).fold(0.0, f64::max),
    };
    WavePlan {
        order: to_graph(local),
        waves: (0..nw)
            .map(|j| to_graph(&local[bounds[j]..bounds[j + 1]]))
            .collect(),
        ends,
        split,
        value,
        objective,
    }
}

/// The best partition of `order` (graph vertices, every mover once) into
/// waves, and the resulting plan.
pub fn partition(
    problem: &Problem,
    time: &TimeModel,
    order: &[usize],
    waves: Waves,
    objective: Objective,
) -> Result<WavePlan, ArrangementError> {
    let local = problem.to_local(order)?;
    let n = local.len();
    let cuts = vec![true; n + 1];
    let bounds = best_bounds(
        &problem.arr,
        steps(time),
        &local,
        waves,
        objective,
        &cuts,
        &mut |_, _| true,
    );
    Ok(evaluate_local(
        &problem.arr,
        steps(time),
        &local,
        &bounds,
        objective,
        |l| problem.to_graph(l),
    ))
}

/// The plan of `local` cut by the optimal feasible boundaries (see [`best_bounds`]).
pub(crate) fn plan_local(
    problem: &Problem,
    time: &TimeModel,
    local: &[usize],
    waves: Waves,
    objective: Objective,
    can_cut: &[bool],
    join: &mut dyn FnMut(usize, usize) -> bool,
) -> WavePlan {
    let bounds = best_bounds(
        &problem.arr,
        steps(time),
        local,
        waves,
        objective,
        can_cut,
        join,
    );
    evaluate_local(&problem.arr, steps(time), local, &bounds, objective, |l| {
        problem.to_graph(l)
    })
}

/// The optimal wave boundaries of `local` (local indices) by dynamic programming.
///
/// A wave `[i, j)` is allowed when `can_cut[i]` and `can_cut[j]` hold, it has
/// at most `K` VMs, and `join(i, j)` accepts it. For each `j`, `join` is called
/// with `i = j − 1, j − 2, …` in that order and the scan stops at the first
/// refusal, so `join` may keep incremental state and must be monotone (if
/// `[i, j)` is refused, so is every `[i', j)` with `i' < i`). The caller
/// guarantees that the waves between consecutive allowed cuts are accepted, so
/// a partition always exists.
pub(crate) fn best_bounds(
    arr: &Arr,
    steps: bool,
    local: &[usize],
    waves: Waves,
    objective: Objective,
    can_cut: &[bool],
    join: &mut dyn FnMut(usize, usize) -> bool,
) -> Vec<usize> {
    let n = local.len();
    let k = waves.max_size();
    let cut = arr.profile(local, true);
    let mut prefix = vec![0.0; n + 1];
    for (i, &v) in local.iter().enumerate() {
        prefix[i + 1] = prefix[i] + arr.dur[v];
    }
    // best[j] = (value, number of waves) of the best partition of the first j.
    const NONE: (f64, usize) = (f64::INFINITY, usize::MAX);
    let mut best = vec![NONE; n + 1];
    let mut from = vec![usize::MAX; n + 1];
    best[0] = match objective {
        Objective::Stretch => (0.0, 0),
        Objective::Cutwidth => (cut[0], 0),
    };
    let fill = matches!(waves, Waves::Fill(_));
    let better = |a: (f64, usize), b: (f64, usize)| {
        if fill {
            a.1 < b.1 || (a.1 == b.1 && a.0 < b.0)
        } else {
            a.0 < b.0 || (a.0 == b.0 && a.1 < b.1)
        }
    };
    for j in 1..=n {
        if !can_cut[j] {
            continue;
        }
        let lo = j.saturating_sub(k);
        let mut i = j;
        while i > lo {
            i -= 1;
            if !join(i, j) {
                break;
            }
            if !can_cut[i] || best[i].1 == usize::MAX {
                continue;
            }
            let d = if steps { 1.0 } else { prefix[j] - prefix[i] };
            let value = match objective {
                Objective::Stretch => best[i].0 + d * cut[i],
                Objective::Cutwidth => best[i].0.max(cut[j]),
            };
            let cand = (value, best[i].1 + 1);
            if better(cand, best[j]) {
                best[j] = cand;
                from[j] = i;
            }
        }
    }
    let mut bounds = vec![n];
    let mut j = n;
    while j > 0 {
        j = from[j];
        debug_assert!(j != usize::MAX, "no feasible wave partition");
        if j == usize::MAX {
            // Unreachable when the caller keeps its promise; fall back to
            // one wave per VM rather than panic.
            return (0..=n).collect();
        }
        bounds.push(j);
    }
    bounds.reverse();
    bounds
}

#[cfg(test)]
mod tests {
    use super::*;
    use convoy_model::Graph;

    #[test]
    fn path_in_waves_of_two() {
        // Path 0-1-2-3 with unit weights: waves {0,1},{2,3} stretch only edge 1-2 by one step.
        let g = Graph::from_edges(4, &[(0, 1), (1, 2), (2, 3)]);
        let p = Problem::plain(&g);
        let plan = partition(
            &p,
            &TimeModel::Positions,
            &[0, 1, 2, 3],
            Waves::AtMost(2),
            Objective::Stretch,
        )
        .unwrap();
        assert_eq!(plan.waves, vec![vec![0, 1], vec![2, 3]]);
        assert_eq!(plan.value, 1.0);
        assert_eq!(plan.split, vec![0.0, 1.0]);
        assert_eq!(plan.ends, vec![1.0, 2.0]);
    }
}
