//! Exact bandwidth of an interval graph given by an interval ordering.
//!
//! Bandwidth is NP-complete in general but polynomial on interval graphs:
//! Kratsch ("Finding the minimum bandwidth of an interval graph", Inform. and
//! Comput. 74, 1987), Kleitman & Vohra ("Computing the bandwidth of interval
//! graphs", SIAM J. Discrete Math. 3(3), 1990: a greedy deciding "width ≤ k"
//! in O(nk)) and Sprague ("An O(n log n) algorithm for bandwidth of interval
//! graphs", SIAM J. Discrete Math. 7(2), 1994, which brings the decision to
//! O(n log n)).
//!
//! The decision procedure here is a left-to-right greedy of that family.
//! Positions are filled in order; a vertex placed at position q gives each
//! unplaced neighbour the deadline q + k (the edge may not be longer than k).
//! At position p the waiting vertices (those with a deadline) must satisfy
//! the Hall-type condition "for every t, at most t − p + 1 of them are due by
//! t"; all their deadlines lie in the window [p, p + k), so it is checked in
//! O(k). The vertex placed is the one whose interval ends first (nested
//! intervals first on ties) among those whose placement keeps the condition:
//! when some t is tight it must be a vertex due by the first tight t, and
//! afterwards at most k vertices may be waiting.
//!
//! The papers' text was not at hand when this was written, so the selection
//! rule above is stated on its own terms; its exactness rests on the tests
//! (tests/interval.rs: brute force over all orders on thousands of random
//! interval graphs of up to ten vertices, and the branch and bound refuting
//! width − 1 on graphs of up to thirty) rather than on a proof reproduced here.

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
    /// (on an interval graph, evidence that none exists: see the module notes).
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
        let mut rank = vec![0usize; n];
        for (i, &v) in by_end.iter().enumerate() {
            rank[v] = i;
        }
        // skip[i]: an index ≥ i of `by_end` from which on every earlier-ranked
        // vertex is placed (path-halving, as in union–find), so scanning for
        // the first unplaced candidate costs amortised near-constant time.
        let mut skip: Vec<usize> = (0..=n).collect();
        fn find(skip: &mut [usize], mut i: usize) -> usize {
            while skip[i] != i {
                skip[i] = skip[skip[i]];
                i = skip[i];
            }
            i
        }
        let mut deadline = vec![NONE; n];
        let mut placed = vec![false; n];
        // The waiting vertices (unplaced, with a deadline), at most k of them
        // once any layout step succeeds, and due[t % k]: how many have
        // deadline t (their deadlines lie in a window of k positions).
        let mut waiting: Vec<usize> = Vec::with_capacity(k + 1);
        let mut slot = vec![NONE; n];
        let mut due = vec![0usize; k];
        let mut order = Vec::with_capacity(n);
        // How many waiting vertices there would be after placing w now.
        let after = |w: usize, placed: &[bool], deadline: &[usize], waiting: usize| {
            let fresh = self.adj[w]
                .iter()
                .filter(|&&u| !placed[u] && deadline[u] == NONE)
                .count();
            waiting - usize::from(deadline[w] != NONE) + fresh
        };

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
            // The eligible vertex that comes first in the preference: among
            // the waiting ones due by `tight` when there is a tight t (at most
            // k to look at), else among all unplaced ones in preference order.
            let mut chosen = NONE;
            if tight != NONE {
                for &w in &waiting {
                    if deadline[w] <= tight
                        && (chosen == NONE || rank[w] < rank[chosen])
                        && after(w, &placed, &deadline, waiting.len()) <= k
                    {
                        chosen = w;
                    }
                }
            } else {
                let mut i = find(&mut skip, 0);
                while i < n {
                    let w = by_end[i];
                    if after(w, &placed, &deadline, waiting.len()) <= k {
                        chosen = w;
                        break;
                    }
                    i = find(&mut skip, i + 1);
                }
            }
            if chosen == NONE {
                return None;
            }
            let w = chosen;
            placed[w] = true;
            skip[rank[w]] = rank[w] + 1;
            order.push(w);
            if deadline[w] != NONE {
                due[deadline[w] % k] -= 1;
                let at = slot[w];
                waiting.swap_remove(at);
                if at < waiting.len() {
                    slot[waiting[at]] = at;
                }
            }
            for &u in &self.adj[w] {
                if !placed[u] && deadline[u] == NONE {
                    deadline[u] = p + k;
                    due[(p + k) % k] += 1;
                    slot[u] = waiting.len();
                    waiting.push(u);
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
