//! Exact bandwidth of an interval graph given by an interval ordering.
//!
//! The decision procedure for a width k follows the greedy of Kleitman &
//! Vohra ("Computing the bandwidth of interval graphs", SIAM J. Discrete Math.
//! 3(3), 1990, O(nk) per k) as refined by Sprague ("An O(n log n) algorithm
//! for bandwidth of interval graphs", SIAM J. Discrete Math. 7(2), 1994):
//! positions are filled left to right; a vertex placed at position q gives
//! every unplaced neighbour the deadline q + k, and the next vertex is the
//! one whose interval ends first among those that can be placed without
//! making the deadlines unmeetable. Meetability is the Hall-type condition
//! "for every t, at most t − p + 1 waiting vertices are due by t" at position
//! p; all deadlines lie in the window (p, p + k], so it costs O(k) to test.

use convoy_model::Graph;

const NONE: usize = usize::MAX;

/// The interval model read off an interval ordering, vertices renumbered by
/// their position in it: vertex i is the interval [i, reach[i]], and i < j
/// are adjacent iff j ≤ reach[i].
pub(crate) struct Model {
    /// Right end of each interval.
    pub reach: Vec<usize>,
    /// Neighbours of each vertex, in the renumbered graph.
    pub adj: Vec<Vec<usize>>,
}

impl Model {
    /// The model of `graph` for the interval ordering `order`.
    pub fn new(graph: &Graph, order: &[usize]) -> Model {
        let pos = crate::positions(order);
        let adj: Vec<Vec<usize>> = order
            .iter()
            .map(|&v| {
                let mut a: Vec<usize> = graph
                    .neighbors(v)
                    .iter()
                    .map(|&u| pos[u as usize])
                    .collect();
                a.sort_unstable();
                a
            })
            .collect();
        let reach = adj
            .iter()
            .enumerate()
            .map(|(i, a)| a.last().map_or(i, |&j| j.max(i)))
            .collect();
        Model { reach, adj }
    }

    fn n(&self) -> usize {
        self.reach.len()
    }

    /// Size of a largest clique: the most intervals over one point.
    pub fn max_clique(&self) -> usize {
        let n = self.n();
        let mut delta = vec![0isize; n + 1];
        for (i, &r) in self.reach.iter().enumerate() {
            delta[i] += 1;
            delta[r + 1] -= 1;
        }
        let mut live = 0isize;
        let mut best = 0isize;
        for d in &delta[..n] {
            live += d;
            best = best.max(live);
        }
        best as usize
    }

    /// Bandwidth of the layout `order` (renumbered vertices).
    pub fn width_of(&self, order: &[usize]) -> usize {
        let pos = crate::positions(order);
        (0..self.n())
            .flat_map(|v| self.adj[v].iter().map(move |&u| (u, v)))
            .map(|(u, v)| pos[u].abs_diff(pos[v]))
            .max()
            .unwrap_or(0)
    }

    /// A layout of width at most `k`, or `None` when the greedy finds none
    /// (which, the greedy being exact on interval graphs, means there is none).
    pub fn layout(&self, k: usize) -> Option<Vec<usize>> {
        let n = self.n();
        if n <= 1 {
            return Some((0..n).collect());
        }
        if k == 0 {
            return None;
        }
        // Candidates in the greedy's preference: earliest right end first and,
        // among equal right ends, the nested (later-starting) interval, whose
        // neighbourhood is contained in the other's.
        let mut by_end: Vec<usize> = (0..n).collect();
        by_end.sort_unstable_by_key(|&v| (self.reach[v], std::cmp::Reverse(v)));
        let mut placed = vec![false; n];
        let mut deadline = vec![NONE; n];
        // due[t % k]: how many waiting vertices have deadline t (deadlines of
        // waiting vertices always lie in a window of k consecutive positions).
        let mut due = vec![0usize; k];
        let mut waiting = 0usize;
        let mut order = Vec::with_capacity(n);
        // First candidate not yet placed in `by_end`.
        let mut first = 0usize;

        for p in 0..n {
            // Smallest t ≥ p at which the waiting vertices due by t exactly
            // fill positions p..=t: the next vertex must be one of them.
            let mut tight = NONE;
            let mut cumulative = 0;
            for t in p..p + k {
                cumulative += due[t % k];
                if cumulative > t - p + 1 {
                    return None;
                }
                if cumulative == t - p + 1 {
                    tight = t;
                    break;
                }
            }
            while placed[by_end[first]] {
                first += 1;
            }
            let mut chosen = NONE;
            for &w in &by_end[first..] {
                if placed[w] {
                    continue;
                }
                if tight != NONE && deadline[w] > tight {
                    continue;
                }
                let fresh = self.adj[w]
                    .iter()
                    .filter(|&&u| !placed[u] && deadline[u] == NONE)
                    .count();
                let after = waiting - usize::from(deadline[w] != NONE) + fresh;
                if after <= k {
                    chosen = w;
                    break;
                }
            }
            if chosen == NONE {
                return None;
            }
            let w = chosen;
            placed[w] = true;
            order.push(w);
            if deadline[w] != NONE {
                due[deadline[w] % k] -= 1;
                waiting -= 1;
            }
            for &u in &self.adj[w] {
                if !placed[u] && deadline[u] == NONE {
                    deadline[u] = p + k;
                    due[(p + k) % k] += 1;
                    waiting += 1;
                }
            }
        }
        Some(order)
    }

    /// A minimum-bandwidth layout (renumbered vertices), searching k between
    /// the clique and degree bounds and the width of the interval ordering.
    pub fn optimal(&self) -> Vec<usize> {
        let identity: Vec<usize> = (0..self.n()).collect();
        let mut best = identity.clone();
        let mut hi = self.width_of(&identity);
        let max_degree = self.adj.iter().map(Vec::len).max().unwrap_or(0);
        let mut lo = self
            .max_clique()
            .saturating_sub(1)
            .max(max_degree.div_ceil(2));
        // Invariant: a layout of width hi is known (best); none below lo exists.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.layout(mid) {
                Some(order) => {
                    hi = self.width_of(&order);
                    best = order;
                }
                None => lo = mid + 1,
            }
        }
        best
    }
}
