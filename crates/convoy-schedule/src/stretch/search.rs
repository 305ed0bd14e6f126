//! Local search for the stretch: vertex insertions with an O(1)-per-position
//! incremental gain, driven by a worklist, then an iterated local search.
//!
//! Moving `v` one place to the right, past `x`, only changes the cut after the
//! prefix `P` that precedes them: from `c(P + v)` to `c(P + x)`. With
//! `g(y, P) = deg(y) − 2·w(y, P) − cloud(y) + stay(y)` the change of the cut when `y`
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

use crate::arrangement::{self, Arr, Combine};
use crate::budget::Budget;
use crate::insertion::Layout;

/// How far (in positions) an insertion may move a vertex.
const WINDOW: usize = 96;

/// The search state: the layout and its stretch.
struct State<'a> {
    lay: Layout<'a>,
    value: f64,
}

impl<'a> State<'a> {
    fn new(arr: &'a Arr, order: Vec<usize>) -> Self {
        let value = arr.stretch(&order);
        State {
            lay: Layout::new(arr, order),
            value,
        }
    }

    /// Cost change of the insertion of `v` at each position of `range` (all on
    /// one side of it), reported through `visit(position, delta)`.
    fn scan(&mut self, v: usize, lo: usize, hi: usize, visit: &mut dyn FnMut(usize, f64)) {
        let a = self.lay.arr;
        let i = self.lay.pos[v];
        self.lay.set_mark(v);
        let (dv, base_v) = (a.dur[v], a.deg[v] - a.lin(v));
        let mut bv = self.lay.before[v];
        let mut cum = 0.0;
        for j in (i + 1)..=hi.min(a.n() - 1) {
            let x = self.lay.order[j];
            let wx = self.lay.mark[x];
            let gx = a.deg[x] - 2.0 * (self.lay.before[x] - wx) - a.lin(x);
            let gv = base_v - 2.0 * bv;
            cum += dv * gx - a.dur[x] * gv;
            bv += wx;
            visit(j, cum);
        }
        let mut bv = self.lay.before[v];
        let mut cum = 0.0;
        for j in (lo..i).rev() {
            let x = self.lay.order[j];
            let wx = self.lay.mark[x];
            bv -= wx;
            let gv = base_v - 2.0 * bv;
            let gx = a.deg[x] - 2.0 * self.lay.before[x] - a.lin(x);
            cum += a.dur[x] * gv - dv * gx;
            visit(j, cum);
        }
        self.lay.clear_mark(v);
    }

    /// Moves `v` to position `j`, shifting the vertices in between.
    fn apply(&mut self, v: usize, j: usize) {
        self.lay.shift(v, j);
    }

    /// The best insertion of `v` within the window, if it improves.
    fn best_move(&mut self, v: usize, budget: &mut Budget<'_>) -> Option<(usize, f64)> {
        let n = self.lay.arr.n();
        let i = self.lay.pos[v];
        let (lo, hi) = (i.saturating_sub(WINDOW), (i + WINDOW).min(n - 1));
        if !budget.spend((hi - lo + self.lay.arr.degree(v)) as u64 + 1) {
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
                log.push((v, self.lay.pos[v], j));
                self.apply(v, j);
                self.value += delta;
                for u in std::iter::once(v).chain(self.lay.arr.nbrs(v).map(|e| e.0)) {
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
    let n = st.lay.arr.n();
    let reach = WINDOW.min(n - 1);
    // A move scans |i − j| positions: reach / 2 on average.
    let step_cost = (reach / 2 + 2) as u64;
    let steps = budget.remaining() / step_cost;
    if steps < 10 * n as u64 {
        return;
    }
    let pick = |st: &mut State<'_>, rng: &mut ChaCha8Rng| {
        let v = rng.gen_range(0..n);
        let i = st.lay.pos[v];
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
    let mut best = (st.value, st.lay.order.clone());
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
                best.1.clone_from(&st.lay.order);
            }
        }
    }
    if best.0 < st.value {
        *st = State::new(st.lay.arr, best.1);
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
    if n < 2 || arr.edge_count() == 0 && (0..n).all(|v| arr.lin(v) == 0.0) {
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
            let i = st.lay.pos[v];
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
    *order = st.lay.order;
}

/// Applies improving insertions (within [`WINDOW`] places) to `order`,
/// starting from the VMs of `changed` and spreading to the neighbours of
/// every VM that moves, until none is left; returns the order.
pub(crate) fn descend_from(
    arr: &Arr,
    order: Vec<usize>,
    changed: &[usize],
    budget: &mut Budget<'_>,
) -> Vec<usize> {
    let n = arr.n();
    if n < 2 {
        return order;
    }
    let mut st = State::new(arr, order);
    let mut queued = vec![false; n];
    let mut queue = VecDeque::with_capacity(n);
    for &v in changed {
        if !queued[v] {
            queued[v] = true;
            queue.push_back(v);
        }
    }
    let mut log = Vec::new();
    st.descend(&mut queue, &mut queued, &mut log, budget);
    st.lay.order
}

/// VMs per window of [`polish_windows`]: one exact window costs
/// `2·16·2¹⁶` units (about 2·10⁶), a sweep of 279 VMs about 7·10⁷.
pub(crate) const POLISH_WINDOW: usize = 16;

/// Work of one sweep of [`polish_windows`] over `n` VMs with windows of
/// `size` (what the subset programme charges per window).
pub(crate) fn polish_sweep_cost(n: usize, size: usize) -> u64 {
    let size = size.min(n);
    if size < 3 {
        return 0;
    }
    let windows = (n - size).div_ceil((size / 2).max(1)) as u64 + 1;
    windows * ((2 * size as u64) << size)
}

/// Reorders every window of `size` consecutive VMs optimally with the rest
/// of the order held in place, sliding by half a window and sweeping again
/// until a sweep changes nothing or the budget runs out. Returns how many
/// windows it improved.
///
/// An insertion moves one VM at a time, and the annealer only accepts a
/// few uphill steps in a row; a window solved exactly by the subset
/// programme also makes the moves that need several VMs to travel together
/// (the exact "sliding window" optimisation of local search for layout
/// problems; Díaz, Petit & Serna, "A survey of graph layout problems",
/// ACM Computing Surveys 2002, §5). With the prefix before the window and
/// the suffix after it fixed, a window VM `v` completing at `t(v)` pays
/// `w·(t(v) − t(u))` to a neighbour `u` before the window and `w·(t(u) −
/// t(v))` to one after it: a term linear in `t(v)`, which the programme
/// already prices for cloud peers. So the window is the subset programme's
/// problem on its own edges with "cloud" weight `cloud(v) + w(v, before) −
/// w(v, after)` (negative when the suffix pulls `v` late).
pub(crate) fn polish_windows(
    arr: &Arr,
    order: &mut [usize],
    size: usize,
    budget: &mut Budget<'_>,
) -> usize {
    let n = arr.n();
    let size = size.min(n);
    if size < 3 {
        return 0;
    }
    let step = (size / 2).max(1);
    let mut pos = vec![0usize; n];
    let mut improved = 0;
    loop {
        let before = improved;
        let mut start = 0;
        loop {
            for (i, &v) in order.iter().enumerate() {
                pos[v] = i;
            }
            match optimise_window(arr, order, &pos, start..start + size, budget) {
                None => return improved,
                Some(true) => improved += 1,
                Some(false) => {}
            }
            if start + size == n {
                break;
            }
            start = (start + step).min(n - size);
        }
        if improved == before {
            return improved;
        }
    }
}

/// Replaces `order[window]` by its best arrangement with everything else
/// in place (`pos`: every VM's position in `order`). `Some(true)` when it
/// improved, `None` when the budget cannot pay for the subset programme.
fn optimise_window(
    arr: &Arr,
    order: &mut [usize],
    pos: &[usize],
    window: std::ops::Range<usize>,
    budget: &mut Budget<'_>,
) -> Option<bool> {
    let size = window.len();
    let members = &order[window.clone()];
    let mut edges = Vec::new();
    let mut linear = vec![0.0; size];
    for (i, &v) in members.iter().enumerate() {
        linear[i] = arr.lin(v);
        for (u, w) in arr.nbrs(v) {
            if window.contains(&pos[u]) {
                let j = pos[u] - window.start;
                if i < j {
                    edges.push((i as u32, j as u32, w));
                }
            } else if pos[u] < window.start {
                linear[i] += w;
            } else {
                linear[i] -= w;
            }
        }
    }
    let dur = members.iter().map(|&v| arr.dur[v]).collect();
    let sub = Arr::from_edges(size, edges, linear, vec![0.0; size], dur);
    let best = arrangement::subset_dp(&sub, Combine::Sum, budget)?;
    let identity: Vec<usize> = (0..size).collect();
    let (now, then) = (sub.stretch(&identity), sub.stretch(&best));
    // Only a clear gain: the window's terms are differences of large sums.
    if then < now - 1e-12 * arr_scale(&sub).max(now.abs()) {
        let arranged: Vec<usize> = best.iter().map(|&i| members[i]).collect();
        order[window].copy_from_slice(&arranged);
        Some(true)
    } else {
        Some(false)
    }
}

/// Magnitude of a window problem's terms (for the improvement tolerance).
fn arr_scale(sub: &Arr) -> f64 {
    let total: f64 = sub.dur.iter().sum();
    total * (sub.deg.iter().sum::<f64>() + sub.cloud.iter().map(|c| c.abs()).sum::<f64>())
}

#[cfg(test)]
pub(super) mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::budget::NoControl;

    fn random_arr(n: usize, rng: &mut ChaCha8Rng, cloud: bool) -> Arr {
        random_arr_with(n, rng, 0.35, cloud, 5)
    }

    /// A seeded random problem: each pair talks with probability
    /// `density` (weights 1–99), about 30 % of the VMs have cloud peers and
    /// about 20 % peers that stay when `cloud`, durations 1 to `max_dur − 1`
    /// (all 1 when `max_dur` is 1).
    pub(in crate::stretch) fn random_arr_with(
        n: usize,
        rng: &mut ChaCha8Rng,
        density: f64,
        cloud: bool,
        max_dur: u32,
    ) -> Arr {
        let anchors = cloud;
        let mut edges = Vec::new();
        for a in 0..n as u32 {
            for b in a + 1..n as u32 {
                if rng.gen_bool(density) {
                    edges.push((a, b, rng.gen_range(1..100) as f64));
                }
            }
        }
        // Weights 1–49 for about `share` of the VMs when `on`.
        let mut anchored = |on: bool, share: f64| -> Vec<f64> {
            (0..n)
                .map(|_| {
                    if on && rng.gen_bool(share) {
                        rng.gen_range(1..50) as f64
                    } else {
                        0.0
                    }
                })
                .collect()
        };
        let cloud = anchored(anchors, 0.3);
        let stay = anchored(anchors, 0.2);
        let dur = (0..n)
            .map(|_| {
                if max_dur <= 1 {
                    1.0
                } else {
                    rng.gen_range(1..max_dur) as f64
                }
            })
            .collect();
        Arr::from_edges(n, edges, cloud, stay, dur)
    }

    /// Every arrangement of `order[start..start + size]`, the rest fixed.
    fn best_by_brute_force(arr: &Arr, order: &[usize], start: usize, size: usize) -> f64 {
        fn permute(
            k: usize,
            w: &mut Vec<usize>,
            full: &mut Vec<usize>,
            start: usize,
            arr: &Arr,
            best: &mut f64,
        ) {
            if k == w.len() {
                full[start..start + w.len()].copy_from_slice(w);
                *best = best.min(arr.stretch(full));
                return;
            }
            for i in k..w.len() {
                w.swap(k, i);
                permute(k + 1, w, full, start, arr, best);
                w.swap(k, i);
            }
        }
        let mut best = f64::INFINITY;
        let mut window = order[start..start + size].to_vec();
        permute(0, &mut window, &mut order.to_vec(), start, arr, &mut best);
        best
    }

    #[test]
    fn a_window_gets_its_best_arrangement_with_the_rest_in_place() {
        let control = NoControl;
        for seed in 0..40 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let n = rng.gen_range(6..11);
            let arr = random_arr(n, &mut rng, seed % 2 == 0);
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut rng);
            let size = rng.gen_range(3..=6.min(n));
            let start = rng.gen_range(0..=n - size);
            let expected = best_by_brute_force(&arr, &order, start, size);
            let mut pos = vec![0; n];
            for (i, &v) in order.iter().enumerate() {
                pos[v] = i;
            }
            let before = order.clone();
            let mut budget = Budget::new(u64::MAX / 4, &control);
            let improved =
                optimise_window(&arr, &mut order, &pos, start..start + size, &mut budget).unwrap();
            let got = arr.stretch(&order);
            assert!(
                (got - expected).abs() <= 1e-9 * expected.max(1.0),
                "seed {seed}: {got} vs {expected}"
            );
            assert_eq!(improved, order != before, "seed {seed}");
            assert_eq!(order[..start], before[..start]);
            assert_eq!(order[start + size..], before[start + size..]);
        }
    }

    #[test]
    fn polishing_keeps_a_permutation_never_worsens_and_is_deterministic() {
        let control = NoControl;
        for seed in 0..20 {
            let mut rng = ChaCha8Rng::seed_from_u64(100 + seed);
            let n = rng.gen_range(20..60);
            let arr = random_arr(n, &mut rng, seed % 3 == 0);
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut rng);
            let start_value = arr.stretch(&order);
            let mut again = order.clone();
            let mut budget = Budget::new(u64::MAX / 4, &control);
            polish_windows(&arr, &mut order, 8, &mut budget);
            let mut budget = Budget::new(u64::MAX / 4, &control);
            polish_windows(&arr, &mut again, 8, &mut budget);
            assert_eq!(order, again, "seed {seed}");
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n).collect::<Vec<_>>());
            // A random order is far from locally optimal.
            assert!(arr.stretch(&order) < start_value, "seed {seed}");
            // At the end no window of the last sweep's grid improves.
            let mut pos = vec![0; n];
            for (i, &v) in order.iter().enumerate() {
                pos[v] = i;
            }
            let mut copy = order.clone();
            let mut budget = Budget::new(u64::MAX / 4, &control);
            assert_eq!(
                optimise_window(&arr, &mut copy, &pos, 0..8, &mut budget),
                Some(false)
            );
        }
    }

    #[test]
    fn polishing_stops_when_the_budget_cannot_pay_and_leaves_the_order() {
        let control = NoControl;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let arr = random_arr(30, &mut rng, false);
        let mut order: Vec<usize> = (0..30).collect();
        order.shuffle(&mut rng);
        let before = order.clone();
        let mut budget = Budget::new(polish_sweep_cost(30, 8) / 100, &control);
        assert_eq!(polish_windows(&arr, &mut order, 8, &mut budget), 0);
        assert_eq!(order, before);
    }
}
