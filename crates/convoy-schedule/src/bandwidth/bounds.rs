//! Lower bounds on the bandwidth.
//!
//! Four bounds, each valid for every graph, the best of which is
//! [`lower_bound`]:
//!
//! - the degree bound ⌈Δ/2⌉ ([`degree_bound`]);
//! - the density bound max over v and d of ⌈(|ball_d(v)| − 1) / 2d⌉
//!   (Chvátalová 1975; [`density_bound`]);
//! - the *start-vertex* bound of Caprara & Salazar-González ("Laying out sparse
//!   graphs with provably minimum bandwidth", INFORMS J. Computing 17(3), 2005):
//!   some vertex u takes the first position, and then every vertex at distance
//!   ≤ d from u lies in the first d·B + 1 positions, so
//!   B ≥ min over u of max over d of ⌈(|ball_d(u)| − 1) / d⌉ ([`start_bound`]);
//! - their bound with *both ends fixed*: for a width B, each vertex x has a
//!   window of positions [a_x, n−1−a_x] from its balls (it cannot sit so close
//!   to an end that its ball overflows), and with u first and w last its
//!   window shrinks to [n−1−B·d(w,x), B·d(u,x)]. If no pair (u, w) leaves a
//!   system of windows that admits distinct positions (Hall's condition for
//!   intervals, checked by earliest-deadline-first), B is infeasible
//!   ([`pair_bound`]). This is the combinatorial form of their integer
//!   relaxation with the two extreme positions fixed; keeping integrality
//!   (a matching, not a fractional assignment) is what makes it bite.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use convoy_model::Graph;

/// Distance entry for a vertex in another component.
pub(crate) const UNREACHABLE: u16 = u16::MAX;

/// Largest graph for which the all-pairs distance matrix (n² × 2 bytes) is built.
pub(crate) const ALL_PAIRS_MAX_N: usize = 2000;

/// Edge scans allowed for the density and start-vertex bounds' breadth-first
/// searches; past it the density bound uses a deterministic sample of start
/// vertices and the start-vertex bound (which needs every vertex) is skipped.
const BFS_WORK_CAP: usize = 60_000_000;

/// Work allowed for the pair bound (vertex-window checks, n units each).
const PAIR_WORK_CAP: u64 = 40_000_000;

/// The degree bound ⌈Δ/2⌉: a vertex's neighbours need Δ distinct positions around it.
pub fn degree_bound(graph: &Graph) -> usize {
    graph.max_degree().div_ceil(2)
}

/// All-pairs breadth-first distances, row-major (`d[u * n + v]`), with
/// [`UNREACHABLE`] between components. `None` above [`ALL_PAIRS_MAX_N`].
pub(crate) fn all_pairs(graph: &Graph) -> Option<Vec<u16>> {
    let n = graph.n();
    if n > ALL_PAIRS_MAX_N {
        return None;
    }
    let mut d = vec![UNREACHABLE; n * n];
    let mut queue = Vec::with_capacity(n);
    for s in 0..n {
        let row = &mut d[s * n..(s + 1) * n];
        bfs_into(graph, s, row, &mut queue);
    }
    Some(d)
}

/// Breadth-first search from `s` writing distances into `row` (pre-filled with UNREACHABLE).
fn bfs_into(graph: &Graph, s: usize, row: &mut [u16], queue: &mut Vec<u32>) {
    queue.clear();
    row[s] = 0;
    queue.push(s as u32);
    let mut head = 0;
    while head < queue.len() {
        let u = queue[head] as usize;
        head += 1;
        let du = row[u];
        for &v in graph.neighbors(u) {
            if row[v as usize] == UNREACHABLE {
                row[v as usize] = du + 1;
                queue.push(v);
            }
        }
    }
}

/// Ball sizes of every vertex: `balls[x][d]` = |{y : dist(x, y) ≤ d}|, for d up
/// to x's eccentricity (the last entry is the size of x's component).
pub(crate) fn ball_sizes(dist: &[u16], n: usize) -> Vec<Vec<u32>> {
    (0..n)
        .map(|x| {
            let row = &dist[x * n..(x + 1) * n];
            let ecc = row
                .iter()
                .filter(|&&d| d != UNREACHABLE)
                .max()
                .copied()
                .unwrap_or(0) as usize;
            let mut c = vec![0u32; ecc + 1];
            for &d in row {
                if d != UNREACHABLE {
                    c[d as usize] += 1;
                }
            }
            for d in 1..c.len() {
                c[d] += c[d - 1];
            }
            c
        })
        .collect()
}

/// Per-vertex ball profile for a width `b`: how far from either end vertex x
/// must sit, a_x = max over d of (|ball_d(x)| − 1 − d·b), or `None` when some
/// ball does not fit even in the middle (2·d·b < |ball_d(x)| − 1).
///
/// With x at position p, the |ball_d(x)| − 1 other vertices of its d-ball take
/// positions in [p − d·b, p + d·b] ∩ [0, n−1]: so p ≥ |ball_d(x)| − 1 − d·b
/// (and symmetrically from the right).
pub(crate) fn end_margin(ball: &[u32], b: usize) -> Option<usize> {
    let mut a = 0usize;
    for (d, &size) in ball.iter().enumerate().skip(1) {
        let others = size as usize - 1;
        if others > 2 * d * b {
            return None;
        }
        a = a.max(others.saturating_sub(d * b));
    }
    Some(a)
}

/// The density bound max over v, d of ⌈(|ball_d(v)| − 1) / 2d⌉, together with
/// the start-vertex bound when every vertex could be searched from (else 0).
fn density_and_start(graph: &Graph) -> (usize, usize) {
    let n = graph.n();
    if n == 0 {
        return (0, 0);
    }
    let scan = n.saturating_mul(n + 2 * graph.edge_count());
    // Large graphs: the density bound from a sample (the highest-degree vertices
    // and an even spread of the rest) stays a valid bound; the start bound does not.
    let sources: Vec<usize> = if scan <= BFS_WORK_CAP {
        (0..n).collect()
    } else {
        let per = (n + 2 * graph.edge_count()).max(1);
        let take = (BFS_WORK_CAP / per).clamp(1, n);
        let mut by_degree: Vec<usize> = (0..n).collect();
        by_degree.sort_by_key(|&v| (Reverse(graph.degree(v)), v));
        let mut chosen = vec![false; n];
        for &v in by_degree.iter().take(take / 2) {
            chosen[v] = true;
        }
        let stride = (n / (take - take / 2).max(1)).max(1);
        for v in (0..n).step_by(stride) {
            chosen[v] = true;
        }
        (0..n).filter(|&v| chosen[v]).collect()
    };
    let complete = sources.len() == n;
    let mut row = vec![UNREACHABLE; n];
    let mut queue = Vec::with_capacity(n);
    let mut counts = Vec::new();
    let mut density = 0usize;
    let mut start = usize::MAX;
    for &s in &sources {
        row.iter_mut().for_each(|d| *d = UNREACHABLE);
        bfs_into(graph, s, &mut row, &mut queue);
        // The queue holds the component in BFS order, so distances are non-decreasing.
        counts.clear();
        for &v in &queue {
            let d = row[v as usize] as usize;
            if counts.len() <= d {
                counts.push(0usize);
            }
            counts[d] += 1;
        }
        let mut ball = 0usize;
        let mut best_start = 0usize;
        for (d, &c) in counts.iter().enumerate() {
            ball += c;
            if d > 0 {
                density = density.max((ball - 1).div_ceil(2 * d));
                best_start = best_start.max((ball - 1).div_ceil(d));
            }
        }
        start = start.min(best_start);
    }
    (density, if complete { start } else { 0 })
}

/// The density bound (Chvátalová): for each vertex v and radius d, the
/// |ball_d(v)| − 1 other vertices within distance d of v lie within d·B
/// positions on either side of v, so B ≥ ⌈(|ball_d(v)| − 1) / 2d⌉.
///
/// Searches from every vertex when n·(n + 2m) ≤ 6·10⁷, else from a
/// deterministic sample (still a valid bound, possibly weaker).
pub fn density_bound(graph: &Graph) -> usize {
    density_and_start(graph).0
}

/// The start-vertex bound of Caprara & Salazar-González (2005): some vertex u
/// is first, and then its d-ball lies in the first d·B + 1 positions, so
/// B ≥ min over u of max over d of ⌈(|ball_d(u)| − 1) / d⌉. Returns 0 on
/// graphs too large to search from every vertex (see [`density_bound`]), and
/// is computed per component.
pub fn start_bound(graph: &Graph) -> usize {
    per_component(graph, |g| density_and_start(g).1)
}

/// The two-ended bound of Caprara & Salazar-González (2005), starting from a
/// known valid bound `from`: the smallest B ≥ `from` for which some pair of
/// end vertices (u first, w last) leaves every other vertex a window of
/// positions and the windows admit a system of distinct positions. Graphs
/// above 2000 vertices, or a search that exceeds its fixed work cap, return
/// the last B not yet refuted (never more than the optimum).
pub fn pair_bound(graph: &Graph, from: usize) -> usize {
    per_component(graph, |g| match all_pairs(g) {
        Some(dist) => pair_bound_with(g.n(), &dist, &ball_sizes(&dist, g.n()), from),
        None => from,
    })
    .max(from)
}

/// Applies a bound to each connected component (the bandwidth of a graph is
/// the largest of its components').
fn per_component(graph: &Graph, bound: impl Fn(&Graph) -> usize) -> usize {
    let comps = graph.components();
    if comps.len() <= 1 {
        return bound(graph);
    }
    comps
        .iter()
        .filter(|c| c.len() > 1)
        .map(|c| bound(&graph.induced(c)))
        .max()
        .unwrap_or(0)
}

/// [`pair_bound`] on a connected graph given its distances and ball sizes.
pub(crate) fn pair_bound_with(n: usize, dist: &[u16], balls: &[Vec<u32>], from: usize) -> usize {
    let mut b = from.max(1);
    let mut work = 0u64;
    let mut lo = vec![0usize; n];
    let mut hi = vec![0usize; n];
    let mut heap = BinaryHeap::with_capacity(n);
    let mut by_lo: Vec<Vec<u32>> = vec![Vec::new(); n];
    'width: while b + 1 < n {
        let mut margin = Vec::with_capacity(n);
        for ball in balls {
            match end_margin(ball, b) {
                Some(a) if 2 * a < n => margin.push(a),
                // Some vertex has no position at all: width b is impossible.
                _ => {
                    b += 1;
                    continue 'width;
                }
            }
        }
        let ends: Vec<usize> = (0..n).filter(|&x| margin[x] == 0).collect();
        let mut pairs: Vec<(u16, usize, usize)> = Vec::new();
        for (i, &u) in ends.iter().enumerate() {
            for &w in &ends[i + 1..] {
                let d = dist[u * n + w];
                if d as usize * b >= n - 1 {
                    pairs.push((d, u, w));
                }
            }
        }
        // Far-apart pairs first: when b is feasible they usually pass at once.
        pairs.sort_by_key(|&(d, u, w)| (Reverse(d), u, w));
        for &(_, u, w) in &pairs {
            work += n as u64;
            if work > PAIR_WORK_CAP {
                return b;
            }
            if windows_fit(
                n,
                dist,
                &margin,
                b,
                u,
                w,
                (&mut lo, &mut hi),
                &mut by_lo,
                &mut heap,
            ) {
                return b;
            }
        }
        b += 1;
    }
    b.min(n.saturating_sub(1))
}

/// Whether, with `u` at position 0 and `w` at n−1, the other vertices can take
/// distinct positions inside their windows (earliest deadline first over
/// positions 1..n−2: at each position place the available vertex whose window
/// closes first).
#[allow(clippy::too_many_arguments)]
fn windows_fit(
    n: usize,
    dist: &[u16],
    margin: &[usize],
    b: usize,
    u: usize,
    w: usize,
    (lo, hi): (&mut [usize], &mut [usize]),
    by_lo: &mut [Vec<u32>],
    heap: &mut BinaryHeap<Reverse<usize>>,
) -> bool {
    let last = n - 1;
    for bucket in by_lo.iter_mut() {
        bucket.clear();
    }
    for x in 0..n {
        if x == u || x == w {
            continue;
        }
        let du = dist[u * n + x] as usize;
        let dw = dist[w * n + x] as usize;
        lo[x] = margin[x].max(last.saturating_sub(b * dw)).max(1);
        hi[x] = (last - margin[x]).min(b * du).min(last - 1);
        if lo[x] > hi[x] {
            return false;
        }
        by_lo[lo[x]].push(x as u32);
    }
    heap.clear();
    for (t, bucket) in by_lo.iter().enumerate().take(last).skip(1) {
        for &x in bucket {
            heap.push(Reverse(hi[x as usize]));
        }
        match heap.pop() {
            Some(Reverse(h)) if h >= t => {}
            _ => return false,
        }
    }
    true
}

/// The best lower bound this module knows for `graph`: the largest of the
/// degree, density, start-vertex and two-ended bounds.
pub fn lower_bound(graph: &Graph) -> usize {
    per_component(graph, |g| {
        if g.n() <= 1 {
            return 0;
        }
        let (density, start) = density_and_start(g);
        let base = degree_bound(g).max(density).max(start);
        match all_pairs(g) {
            Some(dist) => pair_bound_with(g.n(), &dist, &ball_sizes(&dist, g.n()), base).max(base),
            None => base,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(n: usize) -> Graph {
        let e: Vec<_> = (1..n).map(|i| (i - 1, i)).collect();
        Graph::from_edges(n, &e)
    }

    #[test]
    fn star_degree_bound() {
        let e: Vec<_> = (1..8).map(|i| (0, i)).collect();
        let g = Graph::from_edges(8, &e);
        assert_eq!(degree_bound(&g), 4);
        assert_eq!(lower_bound(&g), 4);
    }

    #[test]
    fn path_and_empty() {
        assert_eq!(lower_bound(&path(10)), 1);
        assert_eq!(lower_bound(&Graph::from_edges(5, &[])), 0);
        assert_eq!(lower_bound(&Graph::from_edges(0, &[])), 0);
    }

    #[test]
    fn complete_graph_is_tight() {
        let mut e = Vec::new();
        for u in 0..6 {
            for v in u + 1..6 {
                e.push((u, v));
            }
        }
        assert_eq!(lower_bound(&Graph::from_edges(6, &e)), 5);
    }

    #[test]
    fn cycle_needs_two() {
        // Degree and density bounds give 1; an end vertex of a cycle has two
        // neighbours that must both follow it, so the start bound gives 2.
        let mut e: Vec<_> = (1..9).map(|i| (i - 1, i)).collect();
        e.push((8, 0));
        let g = Graph::from_edges(9, &e);
        assert_eq!(density_bound(&g), 1);
        assert_eq!(start_bound(&g), 2);
        assert_eq!(lower_bound(&g), 2);
    }

    #[test]
    fn grid_bound() {
        // 4×4 grid: bandwidth 4.
        let mut e = Vec::new();
        for r in 0..4 {
            for c in 0..4 {
                let v = r * 4 + c;
                if c + 1 < 4 {
                    e.push((v, v + 1));
                }
                if r + 1 < 4 {
                    e.push((v, v + 4));
                }
            }
        }
        let g = Graph::from_edges(16, &e);
        let lb = lower_bound(&g);
        assert!((2..=4).contains(&lb), "{lb}");
    }
}
