//! Local search for the cutwidth: vertex insertions evaluated in O(1) per
//! position, on a discriminating objective, then an iterated local search.
//!
//! The cutwidth alone is flat: most moves leave the maximum unchanged. As in
//! the cutwidth metaheuristics (e.g. Pantrigo, Martí, Duarte & Pardo, "Scatter
//! search for the cutwidth minimization problem", Ann. Oper. Res. 2012, who
//! break ties by the number of maximal cuts), moves are compared on
//! `(max_k c_k, Σ_k c_k²)` lexicographically: the second term rewards lowering
//! the cuts near the peak, which opens the way for a later drop of the peak.
//!
//! Moving `v` from position `i` to `j > i` replaces the cuts `c_k`, `i < k ≤ j`,
//! by `c_{k+1} − g(v, M_{k+1} \ v)`; to `j < i`, the cuts `c_k`, `j < k ≤ i`, by
//! `c_{k−1} + g(v, M_{k−1})`, where `g(v, S) = deg(v) − 2·w(v, S) − cloud(v) +
//! stay(v)`. Scanning the window accumulates `w(v, ·)`, and prefix and suffix
//! maxima give the maximum outside the window.

use std::collections::VecDeque;

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::arrangement::Arr;
use crate::budget::Budget;
use crate::insertion::Layout;

/// How far (in positions) an insertion may move a vertex.
const WINDOW: usize = 96;

/// Exponent of the secondary objective.
const POWER: i32 = 6;

/// Objective of a layout: the cutwidth, then the sum of squared cuts.
#[derive(Debug, Clone, Copy)]
struct Score {
    max: f64,
    squares: f64,
}

/// Whether `a` is better than `b` beyond the rounding noise `tol`.
fn better(tol: (f64, f64), a: Score, b: Score) -> bool {
    a.max < b.max - tol.0 || (a.max <= b.max + tol.0 && a.squares < b.squares - tol.1)
}

struct State<'a> {
    lay: Layout<'a>,
    cut: Vec<f64>,
    premax: Vec<f64>,
    sufmax: Vec<f64>,
    score: Score,
    /// Tolerances of the two parts of the score (relative to the weights).
    tol: (f64, f64),
    /// 1 / the cutwidth of the starting order.
    inv_scale: f64,
}

impl<'a> State<'a> {
    fn new(arr: &'a Arr, order: Vec<usize>) -> Self {
        let n = arr.n();
        let cut = arr.profile(&order, true);
        let scale: f64 = arr.deg.iter().sum::<f64>()
            + arr.cloud.iter().sum::<f64>()
            + arr.stay.iter().sum::<f64>();
        let mut st = State {
            lay: Layout::new(arr, order),
            premax: vec![0.0; n + 1],
            sufmax: vec![0.0; n + 2],
            cut,
            score: Score {
                max: 0.0,
                squares: 0.0,
            },
            tol: (1e-12 * scale, 1e-9),
            inv_scale: 1.0,
        };
        let start = st.cut.iter().cloned().fold(0.0, f64::max);
        if start > 0.0 {
            st.inv_scale = 1.0 / start;
        }
        st.refresh();
        st
    }

    /// Recomputes the prefix/suffix maxima and the score from the cuts.
    fn refresh(&mut self) {
        let n = self.lay.arr.n();
        let mut m = f64::NEG_INFINITY;
        for k in 0..=n {
            m = m.max(self.cut[k]);
            self.premax[k] = m;
        }
        let mut m = f64::NEG_INFINITY;
        self.sufmax[n + 1] = m;
        for k in (0..=n).rev() {
            m = m.max(self.cut[k]);
            self.sufmax[k] = m;
        }
        self.score = Score {
            max: self.premax[n],
            squares: self.cut.iter().map(|&c| self.pen(c)).sum(),
        };
    }

    /// Penalty of one cut in the secondary objective: a high power of the cut
    /// relative to the starting cutwidth, so that lowering the highest cuts
    /// counts far more than lowering the others.
    #[inline]
    fn pen(&self, c: f64) -> f64 {
        (c * self.inv_scale).powi(POWER)
    }

    /// Whether `a` is better than `b` beyond rounding noise.
    fn better(&self, a: Score, b: Score) -> bool {
        better(self.tol, a, b)
    }

    /// Score after inserting `v` at each position of `lo..=hi`, through `visit`.
    fn scan(&mut self, v: usize, lo: usize, hi: usize, visit: &mut dyn FnMut(usize, Score)) {
        let a = self.lay.arr;
        let n = a.n();
        let i = self.lay.pos[v];
        self.lay.set_mark(v);
        let base = a.deg[v] - a.cloud[v] + a.stay[v];
        let (mut bv, mut wmax, mut dsq) = (self.lay.before[v], f64::NEG_INFINITY, 0.0);
        for j in (i + 1)..=hi.min(n - 1) {
            let x = self.lay.order[j];
            bv += self.lay.mark[x];
            let c = self.cut[j + 1] - (base - 2.0 * bv);
            wmax = wmax.max(c);
            dsq += self.pen(c) - self.pen(self.cut[j]);
            let max = self.premax[i].max(self.sufmax[j + 1]).max(wmax);
            visit(
                j,
                Score {
                    max,
                    squares: self.score.squares + dsq,
                },
            );
        }
        let (mut bv, mut wmax, mut dsq) = (self.lay.before[v], f64::NEG_INFINITY, 0.0);
        for j in (lo..i).rev() {
            let x = self.lay.order[j];
            bv -= self.lay.mark[x];
            let c = self.cut[j] + (base - 2.0 * bv);
            wmax = wmax.max(c);
            dsq += self.pen(c) - self.pen(self.cut[j + 1]);
            let max = self.premax[j].max(self.sufmax[i + 1]).max(wmax);
            visit(
                j,
                Score {
                    max,
                    squares: self.score.squares + dsq,
                },
            );
        }
        self.lay.clear_mark(v);
    }

    /// Moves `v` to position `j` and updates the cuts in between.
    fn apply(&mut self, v: usize, j: usize) {
        let i = self.lay.pos[v];
        self.lay.shift(v, j);
        for k in (i.min(j) + 1)..=i.max(j) {
            let y = self.lay.order[k - 1];
            self.cut[k] = self.cut[k - 1] + self.lay.arr.gain(y, self.lay.before[y], true);
        }
        self.refresh();
    }

    fn best_move(&mut self, v: usize, budget: &mut Budget<'_>) -> Option<usize> {
        let n = self.lay.arr.n();
        let i = self.lay.pos[v];
        let (lo, hi) = (i.saturating_sub(WINDOW), (i + WINDOW).min(n - 1));
        if !budget.spend((hi - lo + self.lay.arr.degree(v)) as u64 + 1) {
            return None;
        }
        let mut best: Option<(usize, Score)> = None;
        let (current, tol) = (self.score, self.tol);
        self.scan(v, lo, hi, &mut |j, s| {
            if better(tol, s, best.map_or(current, |b| b.1)) {
                best = Some((j, s));
            }
        });
        best.map(|b| b.0)
    }

    fn descend(
        &mut self,
        queue: &mut VecDeque<usize>,
        queued: &mut [bool],
        log: &mut Vec<(usize, usize)>,
        budget: &mut Budget<'_>,
    ) {
        while let Some(v) = queue.pop_front() {
            queued[v] = false;
            if budget.is_stopped() {
                queue.clear();
                queued.iter_mut().for_each(|q| *q = false);
                return;
            }
            if let Some(j) = self.best_move(v, budget) {
                // The apply step refreshes in O(n): count it.
                budget.spend(self.lay.arr.n() as u64);
                log.push((v, self.lay.pos[v]));
                self.apply(v, j);
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

/// Improves `order` (local indices, a permutation) for the cutwidth within `budget`.
pub(crate) fn improve(
    arr: &Arr,
    order: &mut Vec<usize>,
    rng: &mut ChaCha8Rng,
    budget: &mut Budget<'_>,
) {
    let n = arr.n();
    if n < 2 || arr.edge_count() == 0 {
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

    let patience = (10 * n).max(500);
    let mut idle = 0;
    while !budget.is_stopped() && idle < patience {
        let saved = st.score;
        let saved_cut_max = st.score.max;
        log.clear();
        let kicks = rng.gen_range(1..=3);
        for _ in 0..kicks {
            let v = rng.gen_range(0..n);
            let i = st.lay.pos[v];
            let reach = (WINDOW / 4).max(1);
            let j = rng.gen_range(i.saturating_sub(reach)..=(i + reach).min(n - 1));
            if j == i || !budget.spend(n as u64 + i.abs_diff(j) as u64) {
                continue;
            }
            log.push((v, i));
            st.apply(v, j);
            for u in std::iter::once(v).chain(arr.nbrs(v).map(|e| e.0)) {
                if !queued[u] {
                    queued[u] = true;
                    queue.push_back(u);
                }
            }
        }
        st.descend(&mut queue, &mut queued, &mut log, budget);
        if st.better(st.score, saved) {
            idle = 0;
        } else if st.score.max <= saved_cut_max + st.tol.0
            && st.score.squares <= saved.squares + st.tol.1
        {
            idle += 1;
        } else {
            for &(v, from) in log.iter().rev() {
                st.apply(v, from);
            }
            idle += 1;
        }
    }
    *order = st.lay.order;
}
