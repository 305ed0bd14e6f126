//! The online chooser: a migration order learned while the move runs, for when no
//! communication graph is known in advance.
//!
//! The rule is the one in the design (DESIGN.md, "The problem in one paragraph"):
//! move one machine chosen uniformly at random, watch who talks to the moved ones
//! (the forwarding stubs left at the private site count bytes per peer), and pick
//! each next machine with probability in proportion to its observed traffic toward
//! the moved set — or, in [`Weighting::Degree`] mode, to its degree in the
//! bipartite graph of moved vs. remaining machines. When no remaining machine has
//! been seen talking to the moved set, the next one is uniform among the rest.
//! It is a randomised, online cousin of the frontier growth of Cuthill and McKee
//! (*Reducing the bandwidth of sparse symmetric matrices*, ACM '69): the next
//! vertex comes from those adjacent to the already-numbered ones, favouring the
//! most strongly attached — but the edges are revealed only as machines move, so
//! it cannot look ahead.
//!
//! Sampling is exact and deterministic: traffic is counted in whole bytes (`u64`
//! per pair, `u128` sums), each remaining machine's weight lives in a Fenwick tree
//! (O(log n) update and O(log n) draw at thousands of VMs), and a draw is an integer
//! uniform in `0..total` from a seeded [`ChaCha8Rng`], so the probability of each
//! machine is exactly its weight over the total — no floating-point rounding.

use std::collections::HashMap;

use convoy_model::Graph;
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// What makes a remaining machine likely to be chosen next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Weighting {
    /// Bytes observed between it and the machines already moved.
    #[default]
    Traffic,
    /// How many machines already moved it has been seen talking to (its degree in
    /// the bipartite moved/remaining graph), whatever the volume.
    Degree,
}

/// A Fenwick (binary indexed) tree of exact weights, for proportional draws.
#[derive(Debug, Clone)]
struct Fenwick {
    tree: Vec<u128>,
    /// The weights themselves, to answer `get` and to rebuild.
    value: Vec<u128>,
    total: u128,
}

impl Fenwick {
    fn new(n: usize) -> Self {
        Fenwick {
            tree: vec![0; n + 1],
            value: vec![0; n],
            total: 0,
        }
    }

    fn set(&mut self, i: usize, w: u128) {
        let old = self.value[i];
        if old == w {
            return;
        }
        self.value[i] = w;
        if w > old {
            let d = w - old;
            self.total += d;
            let mut k = i + 1;
            while k < self.tree.len() {
                self.tree[k] += d;
                k += k & k.wrapping_neg();
            }
        } else {
            let d = old - w;
            self.total -= d;
            let mut k = i + 1;
            while k < self.tree.len() {
                self.tree[k] -= d;
                k += k & k.wrapping_neg();
            }
        }
    }

    /// The index `i` whose cumulative range `[prefix(i), prefix(i) + value[i])` holds `r`;
    /// `r` must be below the total.
    fn find(&self, mut r: u128) -> usize {
        let n = self.tree.len() - 1;
        let mut pos = 0usize;
        let mut step = if n == 0 {
            0
        } else {
            1usize << (usize::BITS - 1 - n.leading_zeros())
        };
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next] <= r {
                pos = next;
                r -= self.tree[next];
            }
            step >>= 1;
        }
        pos
    }
}

/// Chooses the next VM to move from the traffic observed so far.
///
/// Vertices are `0..n` (the caller maps names). The sequence of calls — every
/// [`observe`](Self::observe), [`mark_moved`](Self::mark_moved) and
/// [`next`](Self::next) with their arguments — and the seed determine every
/// choice, so a run can be replayed exactly.
#[derive(Debug, Clone)]
pub struct OnlineChooser {
    weighting: Weighting,
    rng: ChaCha8Rng,
    moved: Vec<bool>,
    order: Vec<usize>,
    /// Observed bytes per unordered pair, kept for both ends so that a move can
    /// credit every remaining peer of the machine that moved.
    seen: Vec<HashMap<u32, u64>>,
    /// Each remaining machine's weight toward the moved set (0 for moved ones).
    weights: Fenwick,
    /// Remaining machines, in no particular order, for the uniform fallback;
    /// `slot[v]` is `v`'s index in it (`usize::MAX` once moved).
    rest: Vec<u32>,
    slot: Vec<usize>,
}

impl OnlineChooser {
    /// A chooser over `n` VMs with traffic weighting, seeded.
    pub fn new(n: usize, seed: u64) -> Self {
        Self::with_weighting(n, seed, Weighting::Traffic)
    }

    /// A chooser over `n` VMs with the given weighting, seeded.
    pub fn with_weighting(n: usize, seed: u64, weighting: Weighting) -> Self {
        OnlineChooser {
            weighting,
            rng: ChaCha8Rng::seed_from_u64(seed),
            moved: vec![false; n],
            order: Vec::with_capacity(n),
            seen: vec![HashMap::new(); n],
            weights: Fenwick::new(n),
            rest: (0..n as u32).collect(),
            slot: (0..n).collect(),
        }
    }

    /// Number of VMs.
    pub fn n(&self) -> usize {
        self.moved.len()
    }

    /// The weighting in use.
    pub fn weighting(&self) -> Weighting {
        self.weighting
    }

    /// Records `bytes` of traffic seen between `a` and `b` (either direction).
    ///
    /// Observations accumulate (saturating at `u64::MAX` per pair); the
    /// chooser's weights always reflect the running total, so a stub may report
    /// every few seconds. Traffic between two remaining machines is remembered
    /// and counts as soon as one of them moves. Self-traffic (`a == b`) and
    /// out-of-range indices are ignored.
    pub fn observe(&mut self, a: usize, b: usize, bytes: u64) {
        let n = self.n();
        if a == b || a >= n || b >= n || bytes == 0 {
            return;
        }
        let old = self.seen[a].get(&(b as u32)).copied().unwrap_or(0);
        self.set_pair(a, b, old.saturating_add(bytes));
    }

    /// Replaces the traffic recorded between `a` and `b` by `bytes` (0 forgets the
    /// pair): for callers that re-observe a rate after every move rather than
    /// accumulate counters.
    pub fn set_traffic(&mut self, a: usize, b: usize, bytes: u64) {
        let n = self.n();
        if a == b || a >= n || b >= n {
            return;
        }
        self.set_pair(a, b, bytes);
    }

    /// Multiplies every recorded amount by `numerator / denominator` (rounded
    /// down), so that old traffic fades: `decay(1, 2)` halves everything. Pairs
    /// that fall to zero are forgotten. Integer arithmetic keeps it exact and
    /// reproducible. A zero denominator is ignored.
    pub fn decay(&mut self, numerator: u64, denominator: u64) {
        if denominator == 0 || numerator >= denominator {
            return;
        }
        for map in &mut self.seen {
            map.retain(|_, w| {
                *w = ((*w as u128 * numerator as u128) / denominator as u128) as u64;
                *w > 0
            });
        }
        for v in 0..self.n() {
            let w = self.weight_of(v);
            self.weights.set(v, w);
        }
    }

    /// Traffic recorded between `a` and `b`.
    pub fn traffic(&self, a: usize, b: usize) -> u64 {
        self.seen
            .get(a)
            .and_then(|m| m.get(&(b as u32)))
            .copied()
            .unwrap_or(0)
    }

    /// The current weight of `v` toward the moved set (0 once `v` has moved).
    pub fn weight(&self, v: usize) -> u128 {
        self.weights.value.get(v).copied().unwrap_or(0)
    }

    /// Sum of the weights of all remaining machines; the next choice is
    /// `v` with probability `weight(v) / total_weight()`, or uniform when it is 0.
    pub fn total_weight(&self) -> u128 {
        self.weights.total
    }

    /// Declares `v` moved without choosing it: a peer that already lives in the
    /// cloud (moved at time 0), or a VM the operator moved by hand. It does not
    /// appear in [`moved`](Self::moved)'s order but attracts its peers like any
    /// moved machine. Returns false if `v` had already moved or is out of range.
    pub fn mark_moved(&mut self, v: usize) -> bool {
        if v >= self.n() || self.moved[v] {
            return false;
        }
        self.move_vertex(v);
        true
    }

    /// Chooses, records as moved and returns the next VM; `None` once all have moved.
    ///
    /// The first is uniform (nothing has moved, so no weight); each later one is
    /// `v` with probability `weight(v) / total_weight()`, or uniform among the
    /// remaining machines when no remaining machine talks to the moved set.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<usize> {
        if self.rest.is_empty() {
            return None;
        }
        let v = if self.weights.total > 0 {
            let r = self.rng.gen_range(0..self.weights.total);
            self.weights.find(r)
        } else {
            // Uniform over the remaining list; its order depends only on the
            // history of calls, so this stays reproducible.
            let i = self.rng.gen_range(0..self.rest.len());
            self.rest[i] as usize
        };
        self.move_vertex(v);
        self.order.push(v);
        Some(v)
    }

    /// The VMs chosen by [`next`](Self::next) so far, in order.
    pub fn moved(&self) -> &[usize] {
        &self.order
    }

    /// Whether `v` has moved (chosen or marked).
    pub fn is_moved(&self, v: usize) -> bool {
        self.moved.get(v).copied().unwrap_or(false)
    }

    /// The VMs that have not moved yet, in index order.
    pub fn remaining(&self) -> Vec<usize> {
        (0..self.n()).filter(|&v| !self.moved[v]).collect()
    }

    /// Number of VMs that have not moved yet.
    pub fn remaining_count(&self) -> usize {
        self.rest.len()
    }

    fn set_pair(&mut self, a: usize, b: usize, bytes: u64) {
        let old = self.traffic(a, b);
        if old == bytes {
            return;
        }
        if bytes == 0 {
            self.seen[a].remove(&(b as u32));
            self.seen[b].remove(&(a as u32));
        } else {
            self.seen[a].insert(b as u32, bytes);
            self.seen[b].insert(a as u32, bytes);
        }
        // Only a pair with exactly one end moved changes a weight.
        for (x, y) in [(a, b), (b, a)] {
            if !self.moved[x] && self.moved[y] {
                let w = self.weights.value[x];
                let w = match self.weighting {
                    Weighting::Traffic => w - old as u128 + bytes as u128,
                    Weighting::Degree => w - u128::from(old > 0) + u128::from(bytes > 0),
                };
                self.weights.set(x, w);
            }
        }
    }

    /// `v`'s weight recomputed from the recorded pairs.
    fn weight_of(&self, v: usize) -> u128 {
        if self.moved[v] {
            return 0;
        }
        self.seen[v]
            .iter()
            .filter(|(&u, _)| self.moved[u as usize])
            .map(|(_, &w)| match self.weighting {
                Weighting::Traffic => w as u128,
                Weighting::Degree => 1,
            })
            .sum()
    }

    fn move_vertex(&mut self, v: usize) {
        self.moved[v] = true;
        self.weights.set(v, 0);
        let i = self.slot[v];
        let last = self.rest.len() - 1;
        self.rest.swap(i, last);
        self.slot[self.rest[i] as usize] = i;
        self.rest.pop();
        self.slot[v] = usize::MAX;
        // Sorted so that the floating order of the hash map never matters
        // (the updates commute anyway; this keeps the work order fixed).
        let mut peers: Vec<(u32, u64)> = self.seen[v].iter().map(|(&u, &w)| (u, w)).collect();
        peers.sort_unstable();
        for (u, w) in peers {
            let u = u as usize;
            if !self.moved[u] {
                let add = match self.weighting {
                    Weighting::Traffic => w as u128,
                    Weighting::Degree => 1,
                };
                let cur = self.weights.value[u];
                self.weights.set(u, cur + add);
            }
        }
    }
}

/// Options of [`replay`].
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Seed of the chooser.
    pub seed: u64,
    /// Traffic or degree weighting.
    pub weighting: Weighting,
    /// Vertices already in the cloud (moved at time 0): they attract their peers
    /// but are not part of the returned order.
    pub premoved: Vec<usize>,
}

/// Bytes a trace weight stands for: rounded to whole bytes, and at least one
/// for any positive weight so that a light conversation is still seen.
pub fn trace_bytes(weight: f64) -> u64 {
    if weight.is_finite() && weight > 0.0 {
        (weight.round() as u64).max(1)
    } else {
        0
    }
}

/// Replays the online chooser against a known graph used as traces: the weight
/// of edge `{u, v}` is the traffic the stubs would report between `u` and `v`
/// once one of them has moved (see [`trace_bytes`] for the rounding).
///
/// Alternates [`OnlineChooser::next`] with observing every edge of the machine
/// just moved — a stub sees exactly the conversations of the machine it stands
/// in for — until everything has moved. Returns the order of the vertices not in
/// `premoved`; it is a permutation of them, determined by the graph and options.
/// This is what `convoy plan --online --traces FILE` runs.
pub fn replay(graph: &Graph, options: &ReplayOptions) -> Vec<usize> {
    let n = graph.n();
    let mut chooser = OnlineChooser::with_weighting(n, options.seed, options.weighting);
    let reveal = |c: &mut OnlineChooser, v: usize| {
        for (&u, &w) in graph.neighbors(v).iter().zip(graph.neighbor_weights(v)) {
            c.observe(v, u as usize, trace_bytes(w));
        }
    };
    for &v in &options.premoved {
        if chooser.mark_moved(v) {
            reveal(&mut chooser, v);
        }
    }
    while let Some(v) = chooser.next() {
        reveal(&mut chooser, v);
    }
    chooser.order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenwick_finds_the_right_bucket() {
        let mut f = Fenwick::new(5);
        for (i, w) in [3u128, 0, 2, 5, 1].into_iter().enumerate() {
            f.set(i, w);
        }
        let expect = [0, 0, 0, 2, 2, 3, 3, 3, 3, 3, 4];
        for (r, &e) in expect.iter().enumerate() {
            assert_eq!(f.find(r as u128), e, "r = {r}");
        }
        f.set(3, 0);
        assert_eq!(f.total, 6);
        assert_eq!(f.find(5), 4);
    }

    #[test]
    fn weights_follow_observations() {
        let mut c = OnlineChooser::new(4, 1);
        c.observe(0, 1, 10);
        c.observe(0, 2, 5);
        assert_eq!(c.total_weight(), 0);
        assert!(c.mark_moved(0));
        assert_eq!((c.weight(1), c.weight(2), c.weight(3)), (10, 5, 0));
        c.observe(1, 0, 7);
        assert_eq!(c.weight(1), 17);
        c.set_traffic(2, 0, 1);
        assert_eq!(c.weight(2), 1);
        c.decay(1, 2);
        assert_eq!((c.weight(1), c.weight(2)), (8, 0));
        assert_eq!(c.total_weight(), 8);
    }

    #[test]
    fn degree_mode_counts_peers() {
        let mut c = OnlineChooser::with_weighting(4, 1, Weighting::Degree);
        c.observe(0, 3, 1000);
        c.observe(1, 3, 1);
        c.mark_moved(0);
        c.mark_moved(1);
        assert_eq!(c.weight(3), 2);
        c.set_traffic(1, 3, 0);
        assert_eq!(c.weight(3), 1);
    }
}
