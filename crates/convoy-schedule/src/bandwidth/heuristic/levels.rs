//! Level-structure numberings: Cuthill–McKee and Gibbs–Poole–Stockmeyer.
//!
//! - E. Cuthill and J. McKee, "Reducing the bandwidth of sparse symmetric
//!   matrices", ACM National Conference, 1969: breadth-first numbering,
//!   neighbours taken by increasing degree.
//! - A. George and J. W. H. Liu, *Computer Solution of Large Sparse Positive
//!   Definite Systems*, Prentice-Hall, 1981 (and ACM TOMS 5, 1979): the
//!   pseudo-peripheral vertex finder used to start both.
//! - N. E. Gibbs, W. G. Poole and P. K. Stockmeyer, "An algorithm for reducing
//!   the bandwidth and profile of a sparse matrix", SIAM J. Numer. Anal. 13,
//!   1976: combine the level structures rooted at both ends of a pseudo-diameter
//!   into one that is narrower than either, then number level by level.
//!
//! Every function here runs in O(n + m) (times a small constant for the
//! pseudo-peripheral search) on a connected graph.

use convoy_model::Graph;

/// Breadth-first levels from `root`: `level[v]` (`u32::MAX` if unreachable),
/// and the vertices in visiting order.
pub(super) fn bfs_levels(graph: &Graph, root: usize) -> (Vec<u32>, Vec<usize>) {
    let n = graph.n();
    let mut level = vec![u32::MAX; n];
    let mut queue = Vec::with_capacity(n);
    level[root] = 0;
    queue.push(root);
    let mut head = 0;
    while head < queue.len() {
        let u = queue[head];
        head += 1;
        for &v in graph.neighbors(u) {
            let v = v as usize;
            if level[v] == u32::MAX {
                level[v] = level[u] + 1;
                queue.push(v);
            }
        }
    }
    (level, queue)
}

/// A pseudo-peripheral pair `(u, v)` (George & Liu): start at a vertex of
/// minimum degree, jump to the minimum-degree vertex of the last BFS level,
/// and repeat while the eccentricity grows. `v` is the far end seen from `u`.
pub(super) fn pseudo_peripheral_pair(graph: &Graph) -> (usize, usize) {
    let n = graph.n();
    let mut u = (0..n).min_by_key(|&v| (graph.degree(v), v)).unwrap_or(0);
    let (mut level, mut visit) = bfs_levels(graph, u);
    let mut ecc = level[*visit.last().unwrap_or(&u)];
    // Eccentricity is bounded by n, so the loop ends; the cap keeps it O(m) per round.
    for _ in 0..n {
        let far = last_level_min_degree(graph, &level, &visit);
        let (l2, v2) = bfs_levels(graph, far);
        let e2 = l2[*v2.last().unwrap_or(&far)];
        if e2 > ecc {
            u = far;
            level = l2;
            visit = v2;
            ecc = e2;
        } else {
            return (u, far);
        }
    }
    let far = last_level_min_degree(graph, &level, &visit);
    (u, far)
}

/// The vertex of the deepest level with the smallest degree (lowest index on ties).
fn last_level_min_degree(graph: &Graph, level: &[u32], visit: &[usize]) -> usize {
    let last = *visit.last().expect("a BFS visits its root");
    let depth = level[last];
    visit
        .iter()
        .rev()
        .take_while(|&&v| level[v] == depth)
        .copied()
        .min_by_key(|&v| (graph.degree(v), v))
        .unwrap_or(last)
}

/// Vertices of the deepest BFS level from `root`, by increasing degree.
pub(super) fn last_level(graph: &Graph, root: usize) -> Vec<usize> {
    let (level, visit) = bfs_levels(graph, root);
    let depth = level[*visit.last().unwrap_or(&root)];
    let mut out: Vec<usize> = visit
        .iter()
        .rev()
        .take_while(|&&v| level[v] == depth)
        .copied()
        .collect();
    out.sort_by_key(|&v| (graph.degree(v), v));
    out
}

/// Cuthill–McKee numbering of the component of `root`: breadth-first, each
/// vertex's unnumbered neighbours appended by increasing degree.
pub(super) fn cuthill_mckee(graph: &Graph, root: usize) -> Vec<usize> {
    let n = graph.n();
    let mut seen = vec![false; n];
    let mut order = Vec::with_capacity(n);
    seen[root] = true;
    order.push(root);
    let mut head = 0;
    let mut next = Vec::new();
    while head < order.len() {
        let u = order[head];
        head += 1;
        next.clear();
        next.extend(
            graph
                .neighbors(u)
                .iter()
                .map(|&v| v as usize)
                .filter(|&v| !seen[v]),
        );
        next.sort_by_key(|&v| (graph.degree(v), v));
        for &v in &next {
            seen[v] = true;
            order.push(v);
        }
    }
    order
}

/// Gibbs–Poole–Stockmeyer numbering from the pseudo-diameter `(u, v)`.
///
/// The level structures rooted at `u` and at `v` (reversed) give each vertex a
/// pair of candidate levels. Vertices whose two candidates agree are fixed;
/// the others fall into connected pieces, and each piece, largest first, takes
/// whichever of its two candidate levelings keeps the widest level narrower
/// (GPS 1976, Algorithm II). The numbering then goes level by level in the
/// Cuthill–McKee manner, each level's vertices ordered by their lowest-numbered
/// neighbour in the previous level, which keeps every edge within two adjacent
/// levels and hence the bandwidth below twice the width.
pub(super) fn gps(graph: &Graph, u: usize, v: usize) -> Vec<usize> {
    let n = graph.n();
    let (lu, _) = bfs_levels(graph, u);
    let (lv, _) = bfs_levels(graph, v);
    let depth = lu[v];
    // Level of w in the structure rooted at v, counted from u's side; clamping
    // keeps adjacent vertices within one level of each other.
    let rev = |w: usize| depth.saturating_sub(lv[w]);
    let levels = depth as usize + 1;
    let mut level = vec![u32::MAX; n];
    let mut width = vec![0usize; levels];
    for w in 0..n {
        let a = lu[w].min(depth);
        if a == rev(w) {
            level[w] = a;
            width[a as usize] += 1;
        }
    }
    // Pieces of the unfixed vertices.
    let mut piece_of = vec![u32::MAX; n];
    let mut pieces: Vec<Vec<usize>> = Vec::new();
    for s in 0..n {
        if level[s] != u32::MAX || piece_of[s] != u32::MAX {
            continue;
        }
        let id = pieces.len() as u32;
        let mut piece = vec![s];
        piece_of[s] = id;
        let mut head = 0;
        while head < piece.len() {
            let x = piece[head];
            head += 1;
            for &y in graph.neighbors(x) {
                let y = y as usize;
                if level[y] == u32::MAX && piece_of[y] == u32::MAX {
                    piece_of[y] = id;
                    piece.push(y);
                }
            }
        }
        pieces.push(piece);
    }
    pieces.sort_by_key(|p| std::cmp::Reverse(p.len()));
    let mut add_u = vec![0usize; levels];
    let mut add_v = vec![0usize; levels];
    for piece in &pieces {
        add_u.iter_mut().for_each(|x| *x = 0);
        add_v.iter_mut().for_each(|x| *x = 0);
        for &w in piece {
            add_u[lu[w].min(depth) as usize] += 1;
            add_v[rev(w) as usize] += 1;
        }
        let widest = |add: &[usize]| {
            (0..levels)
                .filter(|&i| add[i] > 0)
                .map(|i| width[i] + add[i])
                .max()
                .unwrap_or(0)
        };
        let use_u = widest(&add_u) <= widest(&add_v);
        for &w in piece {
            let l = if use_u { lu[w].min(depth) } else { rev(w) };
            level[w] = l;
            width[l as usize] += 1;
        }
    }
    number_levels(graph, &level, levels, u)
}

/// Numbers a level structure level by level, starting at `root` (in level 0).
fn number_levels(graph: &Graph, level: &[u32], levels: usize, root: usize) -> Vec<usize> {
    let n = graph.n();
    let mut by_level: Vec<Vec<usize>> = vec![Vec::new(); levels];
    for w in 0..n {
        by_level[level[w] as usize].push(w);
    }
    for l in &mut by_level {
        l.sort_by_key(|&w| (graph.degree(w), w));
    }
    let mut numbered = vec![false; n];
    let mut order: Vec<usize> = Vec::with_capacity(n);
    let mut next = Vec::new();
    for (li, members) in by_level.iter().enumerate() {
        let start = order.len();
        // Seeds of this level: neighbours of the previous level's vertices, in their order.
        let prev_start = order.len() - if li == 0 { 0 } else { by_level[li - 1].len() };
        if li == 0 {
            numbered[root] = true;
            order.push(root);
        } else {
            for i in prev_start..start {
                let x = order[i];
                next.clear();
                next.extend(
                    graph
                        .neighbors(x)
                        .iter()
                        .map(|&y| y as usize)
                        .filter(|&y| !numbered[y] && level[y] as usize == li),
                );
                next.sort_by_key(|&y| (graph.degree(y), y));
                for &y in &next {
                    numbered[y] = true;
                    order.push(y);
                }
            }
        }
        // Then breadth-first inside the level; a vertex reachable from neither
        // starts a new run at the lowest degree.
        let mut head = start;
        let mut rest = members.iter();
        loop {
            while head < order.len() {
                let x = order[head];
                head += 1;
                next.clear();
                next.extend(
                    graph
                        .neighbors(x)
                        .iter()
                        .map(|&y| y as usize)
                        .filter(|&y| !numbered[y] && level[y] as usize == li),
                );
                next.sort_by_key(|&y| (graph.degree(y), y));
                for &y in &next {
                    numbered[y] = true;
                    order.push(y);
                }
            }
            match rest.by_ref().find(|&&y| !numbered[y]) {
                Some(&y) => {
                    numbered[y] = true;
                    order.push(y);
                }
                None => break,
            }
        }
    }
    order
}
