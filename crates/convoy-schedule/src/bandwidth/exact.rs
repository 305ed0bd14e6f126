//! Exact bandwidth: branch and bound on the decision problem "is there a layout of width ≤ k?".
//!
//! The search fills positions from both ends inwards, as Caprara &
//! Salazar-González do ("Laying out sparse graphs with provably minimum
//! bandwidth", INFORMS J. Computing 17(3), 2005), with the pruning of Del
//! Corso & Manzini ("Finding exact solutions to the bandwidth minimization
//! problem", Computing 62, 1999) and Martí, Campos & Piñana ("A branch and
//! bound algorithm for the matrix bandwidth minimization", EJOR 186, 2008):
//!
//! - **Windows from distances.** A placed vertex u at position p confines every
//!   vertex y to [p − k·dist(u, y), p + k·dist(u, y)]. Before the search, a
//!   vertex whose d-balls are large cannot sit near either end (see
//!   [`super::bounds`]): it starts with a narrower window.
//! - **Hall's condition.** The unplaced vertices must take distinct free
//!   positions inside their windows; for intervals this is checked exactly by
//!   earliest deadline first (Caprara & Salazar-González's relaxation with its
//!   integrality kept). When the vertices due within the first t + 1 free
//!   positions are exactly t + 1, only they may take the leftmost free
//!   position (and symmetrically on the right) — with one such vertex the
//!   placement is forced. Each node fills the side with fewer candidates.
//! - **Reversal symmetry.** A layout read backwards is as good: the first and
//!   last vertices must both be possible end vertices, and the first must rank
//!   before the last in a fixed order of those. Positions 0 and n − 1 are
//!   therefore filled first.
//! - **Twins.** Vertices with the same neighbours (open or closed
//!   neighbourhoods) can swap places in any layout; the search keeps each
//!   class in index order along the layout, so the leftmost free position only
//!   takes the smallest unplaced member and the rightmost the largest. Finite-
//!   element graphs (several degrees of freedom per node) are full of them.
//! - **Memo of dead states.** What can still complete a partial layout depends
//!   only on the set placed and on the placed vertices that still have
//!   unplaced neighbours, with their distances from the free block (the
//!   "active" window of Saxe's dynamic program, SIAM J. Alg. Disc. Meth.
//!   1980). States proved dead are remembered, up to a memory cap, so another
//!   order of the same placements is refuted at once.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use convoy_model::Graph;

use super::bounds::{all_pairs, ball_sizes, end_margin, UNREACHABLE};
use crate::budget::Budget;

/// The answer to "is there a layout of bandwidth at most k?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Yes, and here is one (an order).
    Feasible(Vec<usize>),
    /// No: proven.
    Infeasible,
    /// The budget ran out first.
    Unknown,
}

/// Largest graph the branch and bound attempts (it keeps all-pairs distances).
pub const EXACT_MAX_N: usize = 2000;

/// Memory cap of each dead-state memo, in 64-bit words (about 32 MiB; a
/// [`Decider`] keeps two).
const MEMO_WORDS: usize = 4 << 20;

/// No rank: the vertex cannot be at either end.
const NO_RANK: u32 = u32::MAX;

/// Position not yet given to a vertex.
const FREE: u32 = u32::MAX;

/// Decides whether `graph` has a layout of bandwidth at most `k`.
///
/// Meant for connected graphs (the caller splits components), but correct on
/// any graph. Spends about one budget unit per unplaced vertex examined at
/// each node; returns [`Decision::Unknown`] when the budget stops it. To go on
/// with more budget later without redoing the work, use a [`Decider`].
pub fn decide(graph: &Graph, k: usize, budget: &mut Budget<'_>) -> Decision {
    Decider::new(graph, k).decide(budget)
}

/// A decision search for one width that can be resumed: each call of
/// [`Decider::decide`] goes on where the last one ran out of budget, keeping
/// the dead states it has proved (so a restart walks back to the frontier
/// quickly instead of redoing the subtrees it refuted).
pub struct Decider<'g> {
    graph: &'g Graph,
    k: usize,
    /// Built on the first call (it costs n breadth-first searches).
    setup: Option<Result<Setup, Decision>>,
    /// Dead states of the one-sided and of the two-ended search.
    memos: [Memo; 2],
    /// Budget of each search in the next round.
    slice: u64,
}

impl std::fmt::Debug for Decider<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decider")
            .field("k", &self.k)
            .field("slice", &self.slice)
            .finish()
    }
}

impl<'g> Decider<'g> {
    /// A decider for "is there a layout of `graph` of width at most `k`?".
    pub fn new(graph: &'g Graph, k: usize) -> Self {
        Decider {
            graph,
            k,
            setup: None,
            memos: [Memo::default(), Memo::default()],
            slice: 1 << 20,
        }
    }

    /// The width this decider is about.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Searches within `budget`; [`Decision::Unknown`] if it runs out first.
    pub fn decide(&mut self, budget: &mut Budget<'_>) -> Decision {
        let (graph, k) = (self.graph, self.k);
        let n = graph.n();
        if k + 1 >= n {
            // Any order: no two positions are more than n − 1 apart.
            return Decision::Feasible((0..n).collect());
        }
        if k == 0 {
            return if graph.edge_count() == 0 {
                Decision::Feasible((0..n).collect())
            } else {
                Decision::Infeasible
            };
        }
        if n > EXACT_MAX_N || budget.is_stopped() {
            return Decision::Unknown;
        }
        if self.setup.is_none() {
            // Distances cost n breadth-first searches: pay for them up front.
            if !budget.spend((n * (n + 2 * graph.edge_count())) as u64 / 8) {
                return Decision::Unknown;
            }
            self.setup = Some(Setup::new(graph, k));
        }
        let setup = match &self.setup {
            Some(Ok(setup)) => setup,
            Some(Err(decision)) => return decision.clone(),
            None => return Decision::Unknown,
        };
        // Two complete searches that fail differently: filling both ends
        // inwards refutes widths that the two ends cause together, but when
        // the left end alone is impossible it re-proves that for every right
        // end; filling left to right only proves it once. Alternate them with
        // doubling budgets; their memos survive the restarts.
        loop {
            for (m, one_sided) in [(0, true), (1, false)] {
                let mut child = budget.child(self.slice);
                let memo = std::mem::take(&mut self.memos[m]);
                let mut search = Search::new(graph, k, setup, one_sided, memo, &mut child);
                let outcome = search.run();
                self.memos[m] = std::mem::take(&mut search.memo);
                drop(search);
                budget.absorb(child);
                match outcome {
                    Outcome::Found(order) => return Decision::Feasible(order),
                    Outcome::Dead => return Decision::Infeasible,
                    Outcome::Stopped if budget.is_stopped() => return Decision::Unknown,
                    Outcome::Stopped => {}
                }
            }
            self.slice = self.slice.saturating_mul(2);
        }
    }
}

/// Dead states of one search (see the module documentation), capped in memory.
#[derive(Default)]
struct Memo {
    set: HashSet<Box<[u64]>, BuildHasherDefault<Fx>>,
    words: usize,
}

/// What [`decide`] computes once for both of its searches.
struct Setup {
    /// All-pairs distances, row-major.
    dist: Vec<u16>,
    /// Static ball margins (see [`super::bounds::end_margin`]).
    margin: Vec<usize>,
    /// Rank among possible end vertices, or NO_RANK.
    rank: Vec<u32>,
    /// Eccentricities.
    ecc: Vec<usize>,
    /// Twin classes.
    twins: Vec<Vec<u32>>,
    /// Number of possible end vertices.
    ends: u32,
}

impl Setup {
    /// Distances, static windows, end-vertex ranks and twins for width `k`;
    /// `Err` when that already settles the question.
    fn new(graph: &Graph, k: usize) -> Result<Setup, Decision> {
        let n = graph.n();
        let Some(dist) = all_pairs(graph) else {
            return Err(Decision::Unknown);
        };
        let balls = ball_sizes(&dist, n);
        let mut margin = Vec::with_capacity(n);
        for ball in &balls {
            match end_margin(ball, k) {
                Some(a) if 2 * a < n => margin.push(a),
                _ => return Err(Decision::Infeasible),
            }
        }
        let ecc: Vec<usize> = balls.iter().map(|b| b.len() - 1).collect();
        // Possible end vertices, peripheral first: they make good first vertices
        // when a layout exists, and the rank order drives the symmetry rule.
        let mut ends: Vec<usize> = (0..n).filter(|&x| margin[x] == 0).collect();
        ends.sort_by_key(|&x| (Reverse(ecc[x]), graph.degree(x), x));
        if ends.len() < 2 {
            return Err(Decision::Infeasible);
        }
        let mut rank = vec![NO_RANK; n];
        for (r, &x) in ends.iter().enumerate() {
            rank[x] = r as u32;
        }
        let twins = twin_classes(graph);
        Ok(Setup {
            dist,
            margin,
            rank,
            ecc,
            twins,
            ends: ends.len() as u32,
        })
    }
}

/// For each vertex, the other vertices with the same open neighbourhood
/// (N(x) = N(y)) or the same closed one (N[x] = N[y]): swapping two such
/// vertices is an automorphism, so it preserves every layout's width. A
/// vertex has at most one kind of twin (an open and a closed twin of the same
/// vertex would have to be adjacent and not adjacent).
fn twin_classes(graph: &Graph) -> Vec<Vec<u32>> {
    let n = graph.n();
    let mut classes: HashMap<(bool, Vec<u32>), Vec<u32>> = HashMap::new();
    for x in 0..n {
        let open = graph.neighbors(x).to_vec();
        let mut closed = open.clone();
        let at = closed.partition_point(|&v| (v as usize) < x);
        closed.insert(at, x as u32);
        classes.entry((false, open)).or_default().push(x as u32);
        classes.entry((true, closed)).or_default().push(x as u32);
    }
    let mut twins = vec![Vec::new(); n];
    for members in classes.values().filter(|m| m.len() > 1) {
        for &x in members {
            twins[x as usize].extend(members.iter().copied().filter(|&y| y != x));
        }
    }
    for t in &mut twins {
        t.sort_unstable();
    }
    twins
}

/// Result of exploring a subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Found,
    Dead,
    Stopped,
}

/// Result of a whole search.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Found(Vec<usize>),
    Dead,
    Stopped,
}

/// FxHash (rustc's hasher): fast and good enough on bitset words.
#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

/// Which free position a node fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

/// The state of one decision search. Positions `..left` and `right + 1..` are
/// taken; the free block is `left..=right`.
struct Search<'g, 'b, 'c> {
    n: usize,
    k: usize,
    graph: &'g Graph,
    /// All-pairs distances, row-major.
    dist: &'g [u16],
    /// Fill left to right only (else both ends inwards).
    one_sided: bool,
    /// One-sided search: unplaced end vertices ranked after the first, which
    /// may still take the last position.
    tail: u32,
    /// Number of possible end vertices.
    ends: u32,
    /// The unplaced vertices (first `right − left + 1` entries), in no particular order.
    unplaced: Vec<u32>,
    /// Index of each vertex in `unplaced` (while unplaced).
    slot: Vec<u32>,
    /// Position of each vertex, or FREE.
    pos: Vec<u32>,
    /// Vertex at each position, or FREE.
    at: Vec<u32>,
    /// Window of positions of each vertex (meaningful while unplaced).
    lo: Vec<u32>,
    hi: Vec<u32>,
    /// Undo log of window changes: (vertex, old lo, old hi).
    log: Vec<(u32, u32, u32)>,
    /// Number of unplaced neighbours of each vertex.
    open: Vec<u32>,
    /// The placed set as a bitset.
    bits: Vec<u64>,
    /// Rank among possible end vertices, or NO_RANK.
    rank: &'g [u32],
    /// Eccentricity, to order first vertices.
    ecc: &'g [usize],
    /// The other members of each vertex's twin class.
    twins: &'g [Vec<u32>],
    /// Dead states (see the module documentation).
    memo: Memo,
    /// Scratch: the memo key, candidate lists per depth, the Hall check's buffers.
    key: Vec<u64>,
    cands: Vec<Vec<u32>>,
    sorted: Vec<u32>,
    heap: BinaryHeap<Reverse<u32>>,
    count: Vec<u32>,
    /// The layout, once found.
    found: Vec<usize>,
    budget: &'b mut Budget<'c>,
}

impl<'g, 'b, 'c> Search<'g, 'b, 'c> {
    /// A search with nothing placed.
    fn new(
        graph: &'g Graph,
        k: usize,
        setup: &'g Setup,
        one_sided: bool,
        memo: Memo,
        budget: &'b mut Budget<'c>,
    ) -> Self {
        let n = graph.n();
        Search {
            n,
            k,
            graph,
            dist: &setup.dist,
            one_sided,
            tail: 0,
            ends: setup.ends,
            unplaced: (0..n as u32).collect(),
            slot: (0..n as u32).collect(),
            pos: vec![FREE; n],
            at: vec![FREE; n],
            lo: setup.margin.iter().map(|&a| a as u32).collect(),
            hi: setup.margin.iter().map(|&a| (n - 1 - a) as u32).collect(),
            log: Vec::new(),
            open: (0..n).map(|v| graph.degree(v) as u32).collect(),
            bits: vec![0; n.div_ceil(64)],
            rank: &setup.rank,
            ecc: &setup.ecc,
            twins: &setup.twins,
            memo,
            key: Vec::new(),
            cands: vec![Vec::new(); n + 1],
            sorted: Vec::with_capacity(n),
            heap: BinaryHeap::with_capacity(n),
            count: vec![0; n + 1],
            found: Vec::new(),
            budget,
        }
    }

    /// Runs the search to the end (or until the budget stops it).
    fn run(&mut self) -> Outcome {
        match self.node(0, self.n - 1) {
            Step::Found => Outcome::Found(std::mem::take(&mut self.found)),
            Step::Dead => Outcome::Dead,
            Step::Stopped => Outcome::Stopped,
        }
    }

    /// Explores the layouts that fill the free block `left..=right`.
    fn node(&mut self, left: usize, right: usize) -> Step {
        let n = self.n;
        if left > right {
            // Unwinding undoes the placements: keep the layout now.
            self.found = self.at.iter().map(|&v| v as usize).collect();
            return Step::Found;
        }
        let free = right - left + 1;
        if !self.budget.spend(3 * free as u64 + 24) {
            return Step::Stopped;
        }
        let depth = n - free;
        let Some((left_limit, right_limit)) = self.hall(left, right) else {
            return Step::Dead;
        };
        // Once both ends are placed (one-sided: once the first is) the state
        // is the whole story.
        let memo = if self.one_sided {
            depth >= 1
        } else {
            depth >= 2
        };
        if memo && self.is_dead(left, right) {
            return Step::Dead;
        }

        let mut cands = std::mem::take(&mut self.cands[depth]);
        cands.clear();
        let side = if depth == 0 {
            // The first vertex: an end vertex with a later-ranked one left for the last.
            let ends = self.ends;
            cands.extend((0..n as u32).filter(|&x| {
                let r = self.rank[x as usize];
                r != NO_RANK && r + 1 < ends && self.twin_first(x, Side::Left)
            }));
            cands.sort_by_key(|&x| {
                let x = x as usize;
                (Reverse(self.ecc[x]), self.graph.degree(x), x)
            });
            Side::Left
        } else if depth == 1 && !self.one_sided {
            // The last vertex: an end vertex ranked after the first.
            let first = self.rank[self.at[0] as usize];
            cands.extend(self.unplaced[..free].iter().copied().filter(|&x| {
                let r = self.rank[x as usize];
                r != NO_RANK
                    && r > first
                    && self.hi[x as usize] as usize == right
                    && self.twin_first(x, Side::Right)
            }));
            cands.sort_by_key(|&x| {
                let x = x as usize;
                (
                    Reverse(self.dist[self.at[0] as usize * n + x]),
                    self.graph.degree(x),
                    x,
                )
            });
            Side::Right
        } else {
            let (mut l, mut r) = (0usize, 0usize);
            // Windows clipped to the free block: a vertex due after it is due at its end.
            for &x in &self.unplaced[..free] {
                let (a, b) = self.window(x, left, right);
                l += usize::from(a <= left && b <= left_limit && self.twin_first(x, Side::Left));
                r += usize::from(b >= right && a >= right_limit && self.twin_first(x, Side::Right));
            }
            let side = if r < l && !self.one_sided {
                Side::Right
            } else {
                Side::Left
            };
            for &x in &self.unplaced[..free] {
                let (a, b) = self.window(x, left, right);
                let ok = match side {
                    Side::Left => a <= left && b <= left_limit,
                    Side::Right => b >= right && a >= right_limit,
                } && self.twin_first(x, side)
                    && self.keeps_a_last(x, free);
                if ok {
                    cands.push(x);
                }
            }
            match side {
                Side::Left => {
                    cands.sort_by_key(|&x| (self.hi[x as usize], self.graph.degree(x as usize), x))
                }
                Side::Right => cands.sort_by_key(|&x| {
                    (
                        Reverse(self.lo[x as usize]),
                        self.graph.degree(x as usize),
                        x,
                    )
                }),
            }
            side
        };

        let mut outcome = Step::Dead;
        for &x in &cands {
            let p = if side == Side::Left { left } else { right };
            let mark = self.place(x as usize, p, free);
            let r = if side == Side::Left {
                self.node(left + 1, right)
            } else {
                self.node(left, right - 1)
            };
            self.unplace(x as usize, mark);
            if r != Step::Dead {
                outcome = r;
                break;
            }
        }
        self.cands[depth] = cands;
        if outcome == Step::Dead && memo {
            self.remember(left, right);
        }
        outcome
    }

    /// One-sided search: whether placing `x` before the last position leaves an
    /// end vertex ranked after the first for the last position.
    fn keeps_a_last(&self, x: u32, free: usize) -> bool {
        let r = self.rank[x as usize];
        !self.one_sided || free == 1 || r == NO_RANK || r < self.first_rank() || self.tail > 1
    }

    /// Rank of the vertex in position 0.
    fn first_rank(&self) -> u32 {
        self.rank[self.at[0] as usize]
    }

    /// Whether `x` may take the free position on `side` as far as its twins
    /// go: the smallest unplaced member of its class on the left, the largest
    /// on the right.
    fn twin_first(&self, x: u32, side: Side) -> bool {
        self.twins[x as usize].iter().all(|&y| {
            self.pos[y as usize] != FREE
                || match side {
                    Side::Left => y > x,
                    Side::Right => y < x,
                }
        })
    }

    /// The window of unplaced vertex `x` clipped to the free block.
    fn window(&self, x: u32, left: usize, right: usize) -> (usize, usize) {
        let (a, b) = (self.lo[x as usize] as usize, self.hi[x as usize] as usize);
        (a.max(left), b.min(right))
    }

    /// Hall's condition for the unplaced vertices' windows inside the free
    /// block, by earliest deadline first. On success returns the limits of
    /// the first tight blocks: the vertices that may take position `left`
    /// are among those due by the first limit, and those that may take
    /// `right` among those released from the second.
    fn hall(&mut self, left: usize, right: usize) -> Option<(usize, usize)> {
        let free = right - left + 1;
        self.sorted.clear();
        for &x in &self.unplaced[..free] {
            let (a, b) = (self.lo[x as usize] as usize, self.hi[x as usize] as usize);
            if a.max(left) > b.min(right) {
                return None;
            }
            self.sorted.push(x);
        }
        let lo = &self.lo;
        self.sorted.sort_unstable_by_key(|&x| lo[x as usize]);
        self.heap.clear();
        let mut next = 0;
        for p in left..=right {
            while next < free && (self.lo[self.sorted[next] as usize] as usize) <= p {
                self.heap.push(Reverse(self.hi[self.sorted[next] as usize]));
                next += 1;
            }
            match self.heap.pop() {
                Some(Reverse(h)) if h as usize >= p => {}
                _ => return None,
            }
        }
        // First tight prefix from the left (by deadlines) and from the right (by releases).
        let count = &mut self.count[..free];
        count.iter_mut().for_each(|c| *c = 0);
        for &x in &self.unplaced[..free] {
            count[(self.hi[x as usize] as usize).min(right) - left] += 1;
        }
        let mut due = 0;
        let mut left_limit = right;
        for (t, &c) in count.iter().enumerate() {
            due += c as usize;
            if due == t + 1 {
                left_limit = left + t;
                break;
            }
        }
        count.iter_mut().for_each(|c| *c = 0);
        for &x in &self.unplaced[..free] {
            count[right - (self.lo[x as usize] as usize).max(left)] += 1;
        }
        let mut due = 0;
        let mut right_limit = left;
        for (t, &c) in count.iter().enumerate() {
            due += c as usize;
            if due == t + 1 {
                right_limit = right - t;
                break;
            }
        }
        Some((left_limit, right_limit))
    }

    /// Builds the memo key of the current state into `key`: the placed
    /// bitset, then each placed vertex with unplaced neighbours with its side
    /// and distance from the free block. Returns whether it is known dead.
    fn is_dead(&mut self, left: usize, right: usize) -> bool {
        self.key.clear();
        self.key.extend_from_slice(&self.bits);
        let pack = |entry: u64, key: &mut Vec<u64>, pending: &mut Option<u64>| match pending.take()
        {
            None => *pending = Some(entry),
            Some(prev) => key.push(prev << 32 | entry),
        };
        let mut pending = None;
        for p in left.saturating_sub(self.k)..left {
            let v = self.at[p];
            if self.open[v as usize] > 0 {
                pack(
                    (v as u64) << 16 | (left - p) as u64,
                    &mut self.key,
                    &mut pending,
                );
            }
        }
        for p in right + 1..(right + 1 + self.k).min(self.n) {
            let v = self.at[p];
            if self.open[v as usize] > 0 {
                pack(
                    (v as u64) << 16 | 0x8000 | (p - right) as u64,
                    &mut self.key,
                    &mut pending,
                );
            }
        }
        if let Some(prev) = pending {
            self.key.push(prev << 32 | 0xffff_ffff);
        }
        if self.one_sided {
            // What may go last depends on the first vertex.
            self.key.push(u64::MAX - self.at[0] as u64);
        }
        self.memo.set.contains(self.key.as_slice())
    }

    /// Records the current state as dead (rebuilding its key: children reuse the buffer).
    fn remember(&mut self, left: usize, right: usize) {
        self.is_dead(left, right);
        if self.memo.words + self.key.len() + 4 <= MEMO_WORDS {
            self.memo.words += self.key.len() + 4;
            self.memo.set.insert(self.key.clone().into_boxed_slice());
        }
    }

    /// Puts `x` at position `p`; returns the undo-log mark.
    fn place(&mut self, x: usize, p: usize, free: usize) -> usize {
        let n = self.n;
        // Move x just past the unplaced prefix, which then shrinks by one.
        let s = self.slot[x] as usize;
        let last = self.unplaced[free - 1];
        self.unplaced.swap(s, free - 1);
        self.slot[last as usize] = s as u32;
        self.slot[x] = (free - 1) as u32;
        self.pos[x] = p as u32;
        self.at[p] = x as u32;
        self.bits[x / 64] |= 1 << (x % 64);
        let mark = self.log.len();
        let row = &self.dist[x * n..(x + 1) * n];
        for &y in &self.unplaced[..free - 1] {
            let d = row[y as usize];
            if d == UNREACHABLE {
                continue;
            }
            let reach = self.k * d as usize;
            let a = p.saturating_sub(reach) as u32;
            let b = (p + reach).min(n - 1) as u32;
            let (ya, yb) = (self.lo[y as usize], self.hi[y as usize]);
            if a > ya || b < yb {
                self.log.push((y, ya, yb));
                self.lo[y as usize] = ya.max(a);
                self.hi[y as usize] = yb.min(b);
            }
        }
        for &v in self.graph.neighbors(x) {
            self.open[v as usize] -= 1;
        }
        if self.one_sided {
            if p == 0 {
                self.tail = self.ends - 1 - self.rank[x];
            } else if self.rank[x] != NO_RANK && self.rank[x] > self.first_rank() {
                self.tail -= 1;
            }
        }
        mark
    }

    /// Undoes [`Search::place`] (calls must nest).
    fn unplace(&mut self, x: usize, mark: usize) {
        if self.one_sided
            && self.pos[x] != 0
            && self.rank[x] != NO_RANK
            && self.rank[x] > self.first_rank()
        {
            self.tail += 1;
        }
        for &v in self.graph.neighbors(x) {
            self.open[v as usize] += 1;
        }
        for &(y, a, b) in self.log[mark..].iter().rev() {
            self.lo[y as usize] = a;
            self.hi[y as usize] = b;
        }
        self.log.truncate(mark);
        self.bits[x / 64] &= !(1 << (x % 64));
        self.at[self.pos[x] as usize] = FREE;
        self.pos[x] = FREE;
        // x sits just past the unplaced prefix: the prefix grows back over it.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::NoControl;

    fn cycle(n: usize) -> Graph {
        let mut e: Vec<_> = (1..n).map(|i| (i - 1, i)).collect();
        e.push((n - 1, 0));
        Graph::from_edges(n, &e)
    }

    #[test]
    fn cycle_has_width_two_not_one() {
        let g = cycle(9);
        let mut b = Budget::new(u64::MAX, &NoControl);
        assert_eq!(decide(&g, 1, &mut b), Decision::Infeasible);
        match decide(&g, 2, &mut b) {
            Decision::Feasible(order) => assert_eq!(super::super::bandwidth_of(&g, &order), 2),
            other => panic!("expected a layout, got {other:?}"),
        }
    }

    #[test]
    fn grid_bandwidth_is_side() {
        let s = 5;
        let mut e = Vec::new();
        for r in 0..s {
            for c in 0..s {
                let v = r * s + c;
                if c + 1 < s {
                    e.push((v, v + 1));
                }
                if r + 1 < s {
                    e.push((v, v + s));
                }
            }
        }
        let g = Graph::from_edges(s * s, &e);
        let mut b = Budget::new(u64::MAX, &NoControl);
        assert_eq!(decide(&g, s - 1, &mut b), Decision::Infeasible);
        assert!(matches!(decide(&g, s, &mut b), Decision::Feasible(_)));
    }

    /// Both searches, run alone to the end, agree with brute force on small
    /// random graphs (`decide` usually settles these with the first alone).
    #[test]
    fn both_searches_agree_with_brute_force() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for round in 0..300 {
            let n = rng.gen_range(2..=8);
            let p = [0.25, 0.45, 0.7][round % 3];
            let mut e = Vec::new();
            for u in 0..n {
                for v in u + 1..n {
                    if rng.gen_bool(p) {
                        e.push((u, v));
                    }
                }
            }
            let g = Graph::from_edges(n, &e);
            let (opt, _) = super::super::brute::brute_force(&g);
            for k in 1..n - 1 {
                let Ok(setup) = Setup::new(&g, k) else {
                    continue;
                };
                for one_sided in [true, false] {
                    let mut b = Budget::new(u64::MAX, &NoControl);
                    match Search::new(&g, k, &setup, one_sided, Memo::default(), &mut b).run() {
                        Outcome::Found(order) => {
                            assert!(k >= opt, "{e:?} k={k} one_sided={one_sided}");
                            assert!(super::super::bandwidth_of(&g, &order) <= k);
                        }
                        Outcome::Dead => assert!(k < opt, "{e:?} k={k} one_sided={one_sided}"),
                        Outcome::Stopped => panic!("unbounded search stopped"),
                    }
                }
            }
        }
    }

    #[test]
    fn budget_exhaustion_is_unknown() {
        let g = cycle(30);
        let mut b = Budget::new(10, &NoControl);
        assert_eq!(decide(&g, 1, &mut b), Decision::Unknown);
    }
}
