//! Simulated annealing with a discriminating cost, after E. Rodriguez-Tello,
//! J.-K. Hao and J. Torres-Jimenez, "An improved simulated annealing algorithm
//! for bandwidth minimization", EJOR 185 (2008).
//!
//! Plain bandwidth is a poor guide for local search: almost every move leaves
//! it unchanged. Their evaluation tells layouts of equal bandwidth apart by how
//! many edges have each length, from the longest down. Here that is a weighted
//! sum over edges, Σ exp((len − k)/s), where `k` is the best bandwidth reached
//! so far and `s` a decay length that grows with `k`: an edge of length `k`
//! weighs 1, shorter ones geometrically less, and lengths more than a few `s`
//! below `k` nothing. The current layout may exceed `k` by a small slack (a
//! hard ceiling, also growing with `k`) at a steep price: going a little wider
//! for a while is what lets the search leave a layout where every critical edge
//! is locked in place by its neighbours — without the slack the annealer
//! stalls several units above the best known values. Edges of length ≥ `k` are
//! *critical*; when none is left the bandwidth has dropped below `k`, the best
//! layout is recorded, and `k` moves down to the new bandwidth.
//!
//! Most moves swap two vertices. The typical one starts from a critical edge
//! and moves one of its ends to a position drawn around the middle of its
//! neighbours' positions — the "mid(v)" move of the variable neighbourhood
//! search of N. Mladenović, D. Urošević, D. Pérez-Brito and C. G.
//! García-González, "Variable neighbourhood search for bandwidth reduction",
//! EJOR 200 (2010) — sampling a couple of partners and keeping the better. The
//! others send an arbitrary vertex to a random position around its middle,
//! which reshapes the shorter lengths and frees room for the next critical
//! moves. A swap touches only the edges of its two vertices, so it is
//! evaluated in O(deg u + deg v) from maintained counts of edges per length and
//! an indexed set of critical edges. A small share of moves are node shifts
//! (A. Lim, B. Rodrigues and F. Xiao, "Heuristics for matrix bandwidth
//! reduction", EJOR 174, 2006): a critical end slides toward its middle and
//! the vertices in between move one step, which fixes a critical edge without
//! sending a partner to the far end; it costs the degrees of the block.
//!
//! The temperature falls geometrically over a cycle of a few hundred moves per
//! vertex, then reheats; the layout is kept across cycles (it is never wider
//! than the best plus the slack).

use convoy_model::Graph;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::budget::Budget;

/// Tuning of the annealer.
#[derive(Debug, Clone, Copy)]
pub(super) struct Params {
    /// Smallest ratio between the weights of consecutive lengths: the decay
    /// length is at least `1 / ln base`.
    pub base: f64,
    /// How many decay lengths below `k` carry weight.
    pub window: usize,
    /// Probability of a critical-edge move (the rest are free moves).
    pub critical: f64,
    /// Starting temperature, in units of one critical edge.
    pub t_start: f64,
    /// Temperature at which a cycle ends and the next one reheats.
    pub t_end: f64,
    /// Moves per cycle, per vertex.
    pub cycle_per_vertex: u64,
    /// Partners sampled for a critical move.
    pub samples: usize,
    /// How far above the best bandwidth the current layout may go.
    pub slack: usize,
    /// Slack as a fraction of the bandwidth (the larger of the two applies).
    pub slack_frac: f64,
    /// Decay length of the weights as a fraction of the bandwidth (at least 1/ln base).
    pub scale_frac: f64,
    /// Probability of a node-shift move.
    pub shift: f64,
    /// Work units of one round, per vertex.
    pub round_per_vertex: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            base: 2.0,
            window: 6,
            critical: 0.7,
            t_start: 4.0,
            t_end: 0.05,
            cycle_per_vertex: 400,
            samples: 2,
            slack: 2,
            slack_frac: 0.08,
            scale_frac: 0.06,
            shift: 0.1,
            round_per_vertex: 20_000,
        }
    }
}

/// A layout under search: positions, per-length edge counts and the critical edges.
struct Layout {
    /// Neighbours of each vertex with the id of the connecting edge, CSR.
    off: Vec<u32>,
    adj: Vec<(u32, u32)>,
    ends: Vec<(u32, u32)>,
    pos: Vec<u32>,
    order: Vec<u32>,
    /// `count[l]`: edges of length `l`.
    count: Vec<u32>,
    /// Best bandwidth reached: the level whose edges are critical.
    k: usize,
    /// Hard ceiling on lengths: `k` plus the slack.
    cap: usize,
    slack: usize,
    /// Edges of length at least `k`, as an indexed set (`crit_at[e]` = slot or `u32::MAX`).
    crit: Vec<u32>,
    crit_at: Vec<u32>,
    /// `weight[l]`: the cost of one edge of length `l`.
    weight: Vec<f64>,
    base: f64,
    window: usize,
    slack_frac: f64,
    scale_frac: f64,
}

impl Layout {
    fn new(graph: &Graph, order: &[usize], params: &Params) -> Layout {
        let n = graph.n();
        let mut off = Vec::with_capacity(n + 1);
        let mut adj = Vec::with_capacity(2 * graph.edge_count());
        let mut ends = Vec::with_capacity(graph.edge_count());
        let mut id_of = std::collections::HashMap::new();
        off.push(0u32);
        for u in 0..n {
            for &v in graph.neighbors(u) {
                let key = (u.min(v as usize), u.max(v as usize));
                let id = *id_of.entry(key).or_insert_with(|| {
                    ends.push((key.0 as u32, key.1 as u32));
                    (ends.len() - 1) as u32
                });
                adj.push((v, id));
            }
            off.push(adj.len() as u32);
        }
        let mut layout = Layout {
            off,
            adj,
            crit_at: vec![u32::MAX; ends.len()],
            ends,
            pos: vec![0; n],
            order: vec![0; n],
            count: vec![0; n.max(1)],
            k: 0,
            cap: 0,
            slack: params.slack,
            crit: Vec::new(),
            weight: vec![0.0; n.max(1)],
            base: params.base,
            window: params.window,
            slack_frac: params.slack_frac,
            scale_frac: params.scale_frac,
        };
        layout.load(order);
        layout
    }

    /// Starts over from `order`.
    fn load(&mut self, order: &[usize]) {
        for (i, &v) in order.iter().enumerate() {
            self.pos[v] = i as u32;
            self.order[i] = v as u32;
        }
        self.count.iter_mut().for_each(|c| *c = 0);
        for e in 0..self.ends.len() {
            let l = self.len(e);
            self.count[l] += 1;
        }
        self.k = (0..self.count.len())
            .rev()
            .find(|&l| self.count[l] > 0)
            .unwrap_or(0);
        self.rebuild();
    }

    #[inline]
    fn len(&self, e: usize) -> usize {
        let (a, b) = self.ends[e];
        self.pos[a as usize].abs_diff(self.pos[b as usize]) as usize
    }

    #[inline]
    fn nbrs(&self, v: usize) -> &[(u32, u32)] {
        &self.adj[self.off[v] as usize..self.off[v + 1] as usize]
    }

    /// Recomputes the weights and the critical set after `k` changed.
    fn rebuild(&mut self) {
        // Slack and the decay of the weights grow with k: one length step
        // matters less on a layout of bandwidth 300 than on one of 20.
        let k = self.k as f64;
        self.cap = self.k + (k * self.slack_frac).round().max(self.slack as f64) as usize;
        let scale = (k * self.scale_frac).max(1.0 / self.base.ln());
        let window = (scale * self.window as f64).ceil() as usize;
        for (l, w) in self.weight.iter_mut().enumerate() {
            *w = if l + window > self.k {
                ((l as f64 - k) / scale).exp()
            } else {
                0.0
            };
        }
        for &e in &self.crit {
            self.crit_at[e as usize] = u32::MAX;
        }
        self.crit.clear();
        for e in 0..self.ends.len() {
            if self.len(e) >= self.k {
                self.crit_at[e] = self.crit.len() as u32;
                self.crit.push(e as u32);
            }
        }
    }

    /// Positions where `v` keeps every edge within `k` (ignoring where its
    /// neighbours would move), and the middle of its neighbours' positions.
    fn window_of(&self, v: usize) -> (usize, usize, usize) {
        let mut lo = u32::MAX;
        let mut hi = 0;
        for &(w, _) in self.nbrs(v) {
            let p = self.pos[w as usize];
            lo = lo.min(p);
            hi = hi.max(p);
        }
        if lo == u32::MAX {
            return (0, self.order.len() - 1, self.pos[v] as usize);
        }
        let (lo, hi) = (lo as usize, hi as usize);
        let n = self.order.len();
        let from = hi.saturating_sub(self.cap);
        let to = (lo + self.cap).min(n - 1);
        (from, to, (lo + hi) / 2)
    }

    /// Change of cost if `a` and `b` swap places, or `None` if an edge would exceed `k`.
    #[inline]
    fn delta(&self, a: usize, b: usize) -> Option<f64> {
        let pa = self.pos[a] as usize;
        let pb = self.pos[b] as usize;
        let mut d = 0.0;
        for (v, from, to) in [(a, pa, pb), (b, pb, pa)] {
            let other = if v == a { b } else { a };
            for &(w, _) in self.nbrs(v) {
                let w = w as usize;
                if w == other {
                    continue;
                }
                let pw = self.pos[w] as usize;
                let new = pw.abs_diff(to);
                if new > self.cap {
                    return None;
                }
                d += self.weight[new] - self.weight[pw.abs_diff(from)];
            }
        }
        Some(d)
    }

    /// Swaps `a` and `b`; returns true if the bandwidth dropped.
    fn swap(&mut self, a: usize, b: usize) -> bool {
        // Remove the old lengths of the edges that move, then add the new ones.
        for v in [a, b] {
            for i in self.off[v] as usize..self.off[v + 1] as usize {
                let (w, e) = self.adj[i];
                if v == b && w as usize == a {
                    continue; // the edge a–b was handled from a's side
                }
                let l = self.len(e as usize);
                self.count[l] -= 1;
            }
        }
        let (pa, pb) = (self.pos[a], self.pos[b]);
        self.pos[a] = pb;
        self.pos[b] = pa;
        self.order[pa as usize] = b as u32;
        self.order[pb as usize] = a as u32;
        for v in [a, b] {
            for i in self.off[v] as usize..self.off[v + 1] as usize {
                let (w, e) = self.adj[i];
                if v == b && w as usize == a {
                    continue;
                }
                let e = e as usize;
                let l = self.len(e);
                self.count[l] += 1;
                let slot = self.crit_at[e];
                if l >= self.k && slot == u32::MAX {
                    self.crit_at[e] = self.crit.len() as u32;
                    self.crit.push(e as u32);
                } else if l < self.k && slot != u32::MAX {
                    let last = *self.crit.last().expect("slot is occupied");
                    self.crit[slot as usize] = last;
                    self.crit_at[last as usize] = slot;
                    self.crit.pop();
                    self.crit_at[e] = u32::MAX;
                }
            }
        }
        self.settle()
    }

    /// After a move: if no critical edge is left, the bandwidth dropped below
    /// `k`; move `k` down to it and return true.
    fn settle(&mut self) -> bool {
        if self.crit.is_empty() && self.k > 0 {
            while self.k > 0 && self.count[self.k] == 0 {
                self.k -= 1;
            }
            self.rebuild();
            return true;
        }
        false
    }

    /// Adds (or removes) the edges of the vertices at positions `lo..=hi` to
    /// the per-length counts, each edge once; adding also updates the critical set.
    fn touch(&mut self, lo: usize, hi: usize, add: bool) {
        for q in lo..=hi {
            let x = self.order[q];
            for i in self.off[x as usize] as usize..self.off[x as usize + 1] as usize {
                let (y, e) = self.adj[i];
                let py = self.pos[y as usize] as usize;
                if (lo..=hi).contains(&py) && y < x {
                    continue; // counted from y's side
                }
                let e = e as usize;
                let l = self.len(e);
                if !add {
                    self.count[l] -= 1;
                    continue;
                }
                self.count[l] += 1;
                let slot = self.crit_at[e];
                if l >= self.k && slot == u32::MAX {
                    self.crit_at[e] = self.crit.len() as u32;
                    self.crit.push(e as u32);
                } else if l < self.k && slot != u32::MAX {
                    let last = *self.crit.last().expect("slot is occupied");
                    self.crit[slot as usize] = last;
                    self.crit_at[last as usize] = slot;
                    self.crit.pop();
                    self.crit_at[e] = u32::MAX;
                }
            }
        }
    }

    /// Change of cost if the vertex at position `a` moves to position `p` and
    /// those in between shift by one toward `a` (Lim, Rodrigues & Xiao's node
    /// shift), with the work done; `None` if an edge would exceed the ceiling.
    fn shift_delta(&self, a: usize, p: usize) -> (Option<f64>, u64) {
        let v = self.order[a] as usize;
        // The block that shifts, and which way.
        let (lo, hi, right) = if p < a {
            (p, a - 1, true)
        } else {
            (a + 1, p, false)
        };
        let moved = |q: usize| if right { q + 1 } else { q - 1 };
        let mut d = 0.0;
        let mut work = self.nbrs(v).len() as u64;
        for &(w, _) in self.nbrs(v) {
            let pw = self.pos[w as usize] as usize;
            let npw = if (lo..=hi).contains(&pw) {
                moved(pw)
            } else {
                pw
            };
            let new = npw.abs_diff(p);
            if new > self.cap {
                return (None, work);
            }
            d += self.weight[new] - self.weight[pw.abs_diff(a)];
        }
        for q in lo..=hi {
            let x = self.order[q] as usize;
            work += self.nbrs(x).len() as u64;
            let nq = moved(q);
            for &(y, _) in self.nbrs(x) {
                let py = self.pos[y as usize] as usize;
                if y as usize == v || (lo..=hi).contains(&py) {
                    continue; // v's edges are done; inside the block nothing changes
                }
                let new = nq.abs_diff(py);
                if new > self.cap {
                    return (None, work);
                }
                d += self.weight[new] - self.weight[q.abs_diff(py)];
            }
        }
        (Some(d), work)
    }

    /// Performs the move of [`Layout::shift_delta`]; returns true if the bandwidth dropped.
    fn shift(&mut self, a: usize, p: usize) -> bool {
        let (lo, hi) = (a.min(p), a.max(p));
        self.touch(lo, hi, false);
        if p < a {
            self.order[lo..=hi].rotate_right(1);
        } else {
            self.order[lo..=hi].rotate_left(1);
        }
        for q in lo..=hi {
            self.pos[self.order[q] as usize] = q as u32;
        }
        self.touch(lo, hi, true);
        self.settle()
    }
}

/// Runs the annealer from `order` until the bandwidth reaches `target` or the
/// budget runs out; returns the best layout (never wider than `order`).
///
/// The budget is spent in rounds of a size proportional to `n`: long runs of
/// one annealer stall in one basin (ten times the effort rarely buys more
/// than a unit), so later rounds restart, alternately from `order` with a
/// fresh random stream and from the best layout after a shake of random
/// short-range swaps (the shaking step of VNS).
pub(super) fn anneal(
    graph: &Graph,
    order: &[usize],
    target: usize,
    rng: &mut ChaCha8Rng,
    budget: &mut Budget<'_>,
    params: &Params,
) -> Vec<usize> {
    let n = graph.n();
    let mut lay = Layout::new(graph, order, params);
    let mut best: Vec<usize> = order.to_vec();
    let mut best_k = lay.k;
    if best_k <= target || n < 3 || lay.ends.is_empty() {
        return best;
    }
    let round_units = params
        .round_per_vertex
        .saturating_mul(n as u64)
        .max(100_000);
    let mut start = order.to_vec();
    for round in 0.. {
        if round > 0 {
            start.clear();
            start.extend_from_slice(if round % 2 == 1 { &best } else { order });
            if round % 2 == 1 {
                shake(&mut start, best_k, rng);
            }
            lay.load(&start);
        }
        let mut child = budget.child(round_units);
        let found = descend(&mut lay, target, rng, &mut child, params);
        budget.absorb(child);
        if let Some((k, layout)) = found {
            if k < best_k {
                best_k = k;
                best = layout;
            }
        }
        if best_k <= target || budget.is_stopped() {
            break;
        }
    }
    best
}

/// Random swaps of positions at most `k / 2` apart, about one per twenty vertices.
fn shake(order: &mut [usize], k: usize, rng: &mut ChaCha8Rng) {
    let n = order.len();
    let reach = (k / 2).max(1);
    for _ in 0..(n / 20).max(1) {
        let i = rng.gen_range(0..n);
        let j = (i + rng.gen_range(1..=reach)).min(n - 1);
        order.swap(i, j);
    }
}

/// One annealing round on `lay` until `target` or the budget; returns the
/// bandwidth and layout of the best improvement over the round's start, if any.
fn descend(
    lay: &mut Layout,
    target: usize,
    rng: &mut ChaCha8Rng,
    budget: &mut Budget<'_>,
    params: &Params,
) -> Option<(usize, Vec<usize>)> {
    let n = lay.order.len();
    let mut best: Option<(usize, Vec<usize>)> = None;
    if lay.k <= target || !budget.spend(lay.ends.len() as u64 / 8 + 1) {
        return best;
    }
    let cycle = (params.cycle_per_vertex * n as u64).max(1000);
    // Geometric cooling from t_start to t_end over one cycle.
    let steps = 100u64;
    let alpha = (params.t_end / params.t_start).powf(1.0 / steps as f64);
    let per_step = (cycle / steps).max(1);
    'outer: loop {
        let mut t = params.t_start;
        for _ in 0..steps {
            for _ in 0..per_step {
                // Pick the move: a critical end, or any vertex, goes to a
                // position of the window where its edges fit, drawn around the
                // middle of its neighbours; a critical end samples a few such
                // partners and keeps the best (VNS's "suitable swap").
                if rng.gen_bool(params.shift) {
                    // Node shift: a critical end slides toward its middle.
                    let e = lay.crit[rng.gen_range(0..lay.crit.len())] as usize;
                    let (x, y) = lay.ends[e];
                    let v = (if rng.gen_bool(0.5) { x } else { y }) as usize;
                    let (_, _, mid) = lay.window_of(v);
                    let a = lay.pos[v] as usize;
                    let reach = (lay.k / 2).max(4);
                    let jitter = rng.gen_range(0..=reach / 4);
                    let p = if rng.gen_bool(0.5) {
                        mid + jitter
                    } else {
                        mid.saturating_sub(jitter)
                    };
                    let p = p.clamp(a.saturating_sub(reach), (a + reach).min(n - 1));
                    if p == a {
                        continue;
                    }
                    let (d, work) = lay.shift_delta(a, p);
                    if !budget.spend(2 + work / 4) {
                        break 'outer;
                    }
                    let Some(d) = d else { continue };
                    let accept = d <= 0.0 || rng.gen::<f64>() < (-d / t).exp();
                    if accept && lay.shift(a, p) {
                        let layout = best.take().map_or_else(Vec::new, |(_, o)| o);
                        best = Some((lay.k, record(layout, &lay.order)));
                        if lay.k <= target || !budget.spend(lay.ends.len() as u64 / 8 + 1) {
                            break 'outer;
                        }
                    }
                    continue;
                }
                let critical = rng.gen_bool(params.critical);
                let v = if critical {
                    let e = lay.crit[rng.gen_range(0..lay.crit.len())] as usize;
                    let (x, y) = lay.ends[e];
                    (if rng.gen_bool(0.5) { x } else { y }) as usize
                } else {
                    rng.gen_range(0..n)
                };
                let (lo, hi, mid) = lay.window_of(v);
                let tries = if critical { params.samples } else { 1 };
                let mut chosen: Option<(usize, f64)> = None;
                for _ in 0..tries {
                    let p = if lo <= hi {
                        let half = (hi - lo) / 2 + 1;
                        let spread = rng.gen_range(0..half);
                        let p = if rng.gen_bool(0.5) {
                            mid.saturating_add(spread)
                        } else {
                            mid.saturating_sub(spread)
                        };
                        p.clamp(lo, hi)
                    } else {
                        mid
                    };
                    let u = lay.order[p] as usize;
                    let deg = (lay.off[v + 1] - lay.off[v] + lay.off[u + 1] - lay.off[u]) as u64;
                    if !budget.spend(2 + deg / 4) {
                        break 'outer;
                    }
                    if u == v {
                        continue;
                    }
                    if let Some(d) = lay.delta(v, u) {
                        let better = match chosen {
                            None => true,
                            Some((_, b)) => d < b,
                        };
                        if better {
                            chosen = Some((u, d));
                        }
                    }
                }
                let Some((u, d)) = chosen else {
                    continue;
                };
                let accept = d <= 0.0 || rng.gen::<f64>() < (-d / t).exp();
                if accept && lay.swap(v, u) {
                    let layout = best.take().map_or_else(Vec::new, |(_, o)| o);
                    best = Some((lay.k, record(layout, &lay.order)));
                    if lay.k <= target || !budget.spend(lay.ends.len() as u64 / 8 + 1) {
                        break 'outer;
                    }
                }
            }
            t *= alpha;
        }
    }
    best
}

/// Copies `order` into `into`, reusing its allocation.
fn record(mut into: Vec<usize>, order: &[u32]) -> Vec<usize> {
    into.clear();
    into.extend(order.iter().map(|&x| x as usize));
    into
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    impl Layout {
        /// Recomputes everything maintained incrementally and compares.
        fn check(&self) {
            let n = self.order.len();
            for (i, &v) in self.order.iter().enumerate() {
                assert_eq!(self.pos[v as usize] as usize, i);
            }
            let mut count = vec![0u32; n.max(1)];
            for e in 0..self.ends.len() {
                let l = self.len(e);
                count[l] += 1;
                assert!(l <= self.cap, "edge {e} of length {l} above the ceiling");
                assert_eq!(self.crit_at[e] != u32::MAX, l >= self.k, "edge {e}");
            }
            assert_eq!(count, self.count);
            for (slot, &e) in self.crit.iter().enumerate() {
                assert_eq!(self.crit_at[e as usize] as usize, slot);
            }
            assert!(!self.crit.is_empty() || self.ends.is_empty());
        }
    }

    #[test]
    fn incremental_state_matches_a_recount() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 60;
        let mut edges: Vec<(usize, usize)> = (1..n).map(|v| (v, rng.gen_range(0..v))).collect();
        for _ in 0..90 {
            edges.push((rng.gen_range(0..n), rng.gen_range(0..n)));
        }
        edges.retain(|&(a, b)| a != b);
        let graph = Graph::from_edges(n, &edges);
        let order: Vec<usize> = (0..n).collect();
        let mut lay = Layout::new(&graph, &order, &Params::default());
        lay.check();
        let mut moves = 0;
        for _ in 0..20_000 {
            let (a, b) = (rng.gen_range(0..n), rng.gen_range(0..n));
            if a == b {
                continue;
            }
            let before = lay.k;
            if rng.gen_bool(0.5) {
                let (u, v) = (lay.order[a] as usize, lay.order[b] as usize);
                if lay.delta(u, v).is_some() {
                    lay.swap(u, v);
                    moves += 1;
                }
            } else if lay.shift_delta(a, b).0.is_some() {
                lay.shift(a, b);
                moves += 1;
            }
            assert!(lay.k <= before);
            lay.check();
        }
        assert!(moves > 1000, "only {moves} feasible moves");
    }
}
