//! Local search for the stretch: vertex insertions with an O(1)-per-position
//! incremental gain, driven by a worklist, then an iterated local search.
//!
//! Moving `v` one place to the right, past `x`, only changes the cut after the
//! prefix `P` that precedes them: from `c(P + v)` to `c(P + x)`. With
//! `g(y, P) = deg(y) − 2·w(y, P) − cloud(y)` the change of the cut when `y`
//! joins `P`, the stretch changes by `d(v)·g(x, P) − d(x)·g(v, P)`. Keeping
//! `before[y]` = weight from `y` to the vertices placed before it, every
//! position of a window is scanned in O(1), so the best insertion point of `v`
//! within `W` places costs O(W + deg v). This is the insertion neighbourhood of
//! Petit ("Experiments on the minimum linear arrangement problem", ACM JEA
//! 2003) generalised to durations and cloud anchors; the perturb-and-repair
//! loop on top is a plain iterated local search (Lourenço, Martin & Stützle).

use std::collections::VecDeque;

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::arrangement::Arr;
use crate::budget::Budget;

/// How far (in positions) an insertion may move a vertex.
const WINDOW: usize = 96;

/// The search state: an order with its inverse and prefix weights.
struct State<'a> {
    arr: &'a Arr,
    order: Vec<usize>,
    pos: Vec<usize>,
    before: Vec<f64>,
    mark: Vec<f64>,
    value: f64,
}

impl<'a> State<'a> {
    fn new(arr: &'a Arr, order: Vec<usize>) -> Self {
        let n = arr.n();
        let mut pos = vec![0; n];
        for (i, &v) in order.iter().enumerate() {
            pos[v] = i;
        }
        let mut before = vec![0.0; n];
        for v in 0..n {
            before[v] = arr
                .nbrs(v)
                .filter(|&(u, _)| pos[u] < pos[v])
                .map(|e| e.1)
                .sum();
        }
        let value = arr.stretch(&order);
        State {
            arr,
            order,
            pos,
            before,
            mark: vec![0.0; n],
            value,
        }
    }

    fn set_mark(&mut self, v: usize) {
        for (u, w) in self.arr.nbrs(v) {
            self.mark[u] = w;
        }
    }

    fn clear_mark(&mut self, v: usize) {
        for (u, _) in self.arr.nbrs(v) {
            self.mark[u] = 0.0;
        }
    }

    /// Cost change of the insertion of `v` at each position of `range` (all on
    /// one side of it), reported through `visit(position, delta)`.
    fn scan(&mut self, v: usize, lo: usize, hi: usize, visit: &mut dyn FnMut(usize, f64)) {
        let a = self.arr;
        let i = self.pos[v];
        self.set_mark(v);
        let (dv, base_v) = (a.dur[v], a.deg[v] - a.cloud[v]);
        let mut bv = self.before[v];
        let mut cum = 0.0;
        for j in (i + 1)..=hi.min(a.n() - 1) {
            let x = self.order[j];
            let wx = self.mark[x];
            let gx = a.deg[x] - 2.0 * (self.before[x] - wx) - a.cloud[x];
            let gv = base_v - 2.0 * bv;
            cum += dv * gx - a.dur[x] * gv;
            bv += wx;
            visit(j, cum);
        }
        let mut bv = self.before[v];
        let mut cum = 0.0;
        for j in (lo..i).rev() {
            let x = self.order[j];
            let wx = self.mark[x];
            bv -= wx;
            let gv = base_v - 2.0 * bv;
            let gx = a.deg[x] - 2.0 * self.before[x] - a.cloud[x];
            cum += a.dur[x] * gv - dv * gx;
            visit(j, cum);
        }
        self.clear_mark(v);
    }

    /// Moves `v` to position `j`, shifting the vertices in between.
    fn apply(&mut self, v: usize, j: usize) {
        let i = self.pos[v];
        self.set_mark(v);
        if j > i {
            for k in (i + 1)..=j {
                let x = self.order[k];
                self.before[x] -= self.mark[x];
                self.before[v] += self.mark[x];
                self.order[k - 1] = x;
                self.pos[x] = k - 1;
            }
        } else {
            for k in (j..i).rev() {
                let x = self.order[k];
                self.before[x] += self.mark[x];
                self.before[v] -= self.mark[x];
                self.order[k + 1] = x;
                self.pos[x] = k + 1;
            }
        }
        self.order[j] = v;
        self.pos[v] = j;
        self.clear_mark(v);
    }

    /// The best insertion of `v` within the window, if it improves.
    fn best_move(&mut self, v: usize, budget: &mut Budget<'_>) -> Option<(usize, f64)> {
        let n = self.arr.n();
        let i = self.pos[v];
        let (lo, hi) = (i.saturating_sub(WINDOW), (i + WINDOW).min(n - 1));
        if !budget.spend((hi - lo + self.arr.degree(v)) as u64 + 1) {
            return None;
        }
        let mut best: Option<(usize, f64)> = None;
        self.scan(v, lo, hi, &mut |j, d| {
            if !matches!(best, Some(b) if b.1 <= d) {
                best = Some((j, d));
            }
        });
        let tol = 1e-12 * self.value.abs().max(f64::MIN_POSITIVE);
        best.filter(|b| b.1 < -tol)
    }

    /// Applies improving insertions until none is left among the queued vertices.
    fn descend(
        &mut self,
        queue: &mut VecDeque<usize>,
        queued: &mut [bool],
        log: &mut Vec<(usize, usize, usize)>,
        budget: &mut Budget<'_>,
    ) {
        while let Some(v) = queue.pop_front() {
            queued[v] = false;
            if budget.is_stopped() {
                queue.clear();
                queued.iter_mut().for_each(|q| *q = false);
                return;
            }
            if let Some((j, delta)) = self.best_move(v, budget) {
                log.push((v, self.pos[v], j));
                self.apply(v, j);
                self.value += delta;
                for u in std::iter::once(v).chain(self.arr.nbrs(v).map(|e| e.0)) {
                    if !queued[u] {
                        queued[u] = true;
                        queue.push_back(u);
                    }
                }
            }
        }
    }
}

/// Work units per vertex that the annealer may spend at most.
const ANNEAL_UNITS_PER_VERTEX: u64 = 20_000;

/// Simulated annealing on random insertions within the window (Petit 2003
/// found annealing the strongest of his MinLA heuristics): geometric cooling
/// from a temperature at which a typical uphill move is accepted with
/// probability 1/e down to a thousandth of it, over as many steps as the
/// budget pays for. Leaves the best layout seen in `st`.
fn anneal(st: &mut State<'_>, rng: &mut ChaCha8Rng, budget: &mut Budget<'_>) {
    let n = st.arr.n();
    let reach = WINDOW.min(n - 1);
    // A move scans |i − j| positions: reach / 2 on average.
    let step_cost = (reach / 2 + 2) as u64;
    let steps = budget.remaining() / step_cost;
    if steps < 10 * n as u64 {
        return;
    }
    let pick = |st: &mut State<'_>, rng: &mut ChaCha8Rng| {
        let v = rng.gen_range(0..n);
        let i = st.pos[v];
        let j = rng.gen_range(i.saturating_sub(reach)..=(i + reach).min(n - 1));
        let mut delta = 0.0;
        if j != i {
            st.scan(v, j.min(i), j.max(i), &mut |k, d| {
                if k == j {
                    delta = d;
                }
            });
        }
        (v, i, j, delta)
    };
    let mut uphill = (0.0, 0u32);
    for _ in 0..200 {
        let (_, _, _, d) = pick(st, rng);
        if d > 0.0 {
            uphill = (uphill.0 + d, uphill.1 + 1);
        }
    }
    if uphill.1 == 0 {
        return;
    }
    let t0 = uphill.0 / uphill.1 as f64;
    let cooling = (1e-3f64).powf(1.0 / steps as f64);
    let mut temp = t0;
    let mut best = (st.value, st.order.clone());
    for _ in 0..steps {
        let (v, i, j, delta) = pick(st, rng);
        if !budget.spend(i.abs_diff(j) as u64 + 2) {
            break;
        }
        temp *= cooling;
        if j != i && (delta <= 0.0 || rng.gen::<f64>() < (-delta / temp).exp()) {
            st.apply(v, j);
            st.value += delta;
            if st.value < best.0 - 1e-12 * best.0.abs() {
                best.0 = st.value;
                best.1.clone_from(&st.order);
            }
        }
    }
    if best.0 < st.value {
        *st = State::new(st.arr, best.1);
    }
}

/// Improves `order` (local indices, a permutation) for the stretch within `budget`.
pub(crate) fn improve(
    arr: &Arr,
    order: &mut Vec<usize>,
    rng: &mut ChaCha8Rng,
    budget: &mut Budget<'_>,
) {
    let n = arr.n();
    if n < 2 || arr.edge_count() == 0 && arr.cloud.iter().all(|&c| c == 0.0) {
        return;
    }
    let mut st = State::new(arr, std::mem::take(order));
    let mut queue: VecDeque<usize> = {
        let mut all: Vec<usize> = (0..n).collect();
        all.shuffle(rng);
        all.into()
    };
    let mut queued = vec![true; n];
    let mut log = Vec::new();
    st.descend(&mut queue, &mut queued, &mut log, budget);

    // Half of the budget (within a cap per vertex) anneals, then the best
    // layout seen is polished again.
    let mut child = budget.child((budget.remaining() / 2).min(ANNEAL_UNITS_PER_VERTEX * n as u64));
    anneal(&mut st, rng, &mut child);
    budget.absorb(child);
    let mut queue: VecDeque<usize> = (0..n).collect();
    queued.iter_mut().for_each(|q| *q = true);
    st.descend(&mut queue, &mut queued, &mut log, budget);

    // Iterated local search: a few random insertions, repair, keep if not worse.
    let patience = (20 * n).max(1000);
    let mut idle = 0;
    while !budget.is_stopped() && idle < patience {
        let saved = st.value;
        log.clear();
        let kicks = rng.gen_range(1..=3);
        for _ in 0..kicks {
            let v = rng.gen_range(0..n);
            let i = st.pos[v];
            let reach = (WINDOW / 4).max(1);
            let lo = i.saturating_sub(reach);
            let hi = (i + reach).min(n - 1);
            let j = rng.gen_range(lo..=hi);
            if j == i {
                continue;
            }
            let mut delta = 0.0;
            st.scan(v, j.min(i), j.max(i), &mut |k, d| {
                if k == j {
                    delta = d;
                }
            });
            if !budget.spend(i.abs_diff(j) as u64 + 1) {
                break;
            }
            log.push((v, i, j));
            st.apply(v, j);
            st.value += delta;
            for u in std::iter::once(v).chain(arr.nbrs(v).map(|e| e.0)) {
                if !queued[u] {
                    queued[u] = true;
                    queue.push_back(u);
                }
            }
        }
        st.descend(&mut queue, &mut queued, &mut log, budget);
        let tol = 1e-12 * saved.abs();
        if st.value < saved - tol {
            idle = 0;
        } else if st.value <= saved + tol {
            // A sideways step: keep it (it lets the search drift on plateaus).
            idle += 1;
        } else {
            for &(v, from, _) in log.iter().rev() {
                st.apply(v, from);
            }
            st.value = saved;
            idle += 1;
        }
    }
    *order = st.order;
}
