//! Lexicographic breadth-first search by partition refinement, and the
//! orderings built from it.
//!
//! LexBFS (Rose, Tarjan & Lueker, "Algorithmic aspects of vertex elimination
//! on graphs", SIAM J. Comput. 1976) visits, at every step, an unvisited vertex
//! whose list of visited neighbours, read from the earliest visit, is
//! lexicographically largest. Kept as an ordered partition of the unvisited
//! vertices, each visit splits every part into its neighbours (moved in front)
//! and the rest, so a sweep costs O(n + m) (Habib, McConnell, Paul & Viennot,
//! "Lex-BFS and partition refinement", Theor. Comput. Sci. 2000).
//!
//! Ties are broken by a *priority* order: the first vertex of the first part
//! is taken, and parts keep the priority order inside. With the priority equal
//! to the reverse of a previous sweep σ this is LexBFS+(σ), which takes the
//! *last* tied vertex of σ (Simon 1991; Corneil, Olariu & Stewart 2009).

use convoy_model::Graph;

const NONE: usize = usize::MAX;

/// One LexBFS sweep of `graph` breaking ties by `priority` (a permutation of
/// the vertices, highest priority first). Returns the visit order.
pub fn lexbfs(graph: &Graph, priority: &[usize]) -> Vec<usize> {
    let n = graph.n();
    debug_assert!(crate::is_permutation(priority, n));
    let mut rank = vec![0usize; n];
    for (i, &v) in priority.iter().enumerate() {
        rank[v] = i;
    }
    // Neighbour lists sorted by priority, built in O(n + m) by scanning the
    // vertices in priority order: moving neighbours in this order keeps every
    // part sorted by priority, which is what makes the tie-breaking rule hold.
    let mut offsets = vec![0usize; n + 1];
    for v in 0..n {
        offsets[v + 1] = offsets[v] + graph.degree(v);
    }
    let mut fill = offsets.clone();
    let mut sorted = vec![0usize; offsets[n]];
    for &u in priority {
        for &w in graph.neighbors(u) {
            let w = w as usize;
            sorted[fill[w]] = u;
            fill[w] += 1;
        }
    }

    // The unvisited vertices as a doubly linked list in partition order; every
    // part is a contiguous run of it.
    let mut next = vec![NONE; n];
    let mut prev = vec![NONE; n];
    let mut head = priority.first().copied().unwrap_or(NONE);
    for pair in priority.windows(2) {
        next[pair[0]] = pair[1];
        prev[pair[1]] = pair[0];
    }
    // Parts: first vertex, size, and the part split off it during the current
    // visit (valid when `split_stamp` equals the visit number).
    let mut part_of = vec![0usize; n];
    let mut part_head = vec![head];
    let mut part_size = vec![n];
    let mut split_to = vec![NONE];
    let mut split_stamp = vec![NONE];
    let mut visited = vec![false; n];
    let mut order = Vec::with_capacity(n);

    for step in 0..n {
        let v = head;
        // Take v off the list and out of its part.
        visited[v] = true;
        order.push(v);
        let p = part_of[v];
        part_size[p] -= 1;
        if part_size[p] > 0 {
            part_head[p] = next[v];
        }
        head = next[v];
        if head != NONE {
            prev[head] = NONE;
        }

        for &w in &sorted[offsets[v]..offsets[v + 1]] {
            if visited[w] {
                continue;
            }
            let p = part_of[w];
            if split_stamp[p] != step {
                split_stamp[p] = step;
                split_to[p] = part_head.len();
                part_head.push(NONE);
                part_size.push(0);
                split_to.push(NONE);
                split_stamp.push(NONE);
            }
            let q = split_to[p];
            // The new part q sits just before what is left of p: w goes to the
            // end of q, i.e. just before p's first remaining vertex.
            if part_size[p] > 1 {
                let anchor = if part_head[p] == w {
                    next[w]
                } else {
                    part_head[p]
                };
                part_head[p] = anchor;
                if anchor != w && next[w] != anchor {
                    // Unlink w.
                    if prev[w] != NONE {
                        next[prev[w]] = next[w];
                    } else {
                        head = next[w];
                    }
                    if next[w] != NONE {
                        prev[next[w]] = prev[w];
                    }
                    // Link it before the anchor.
                    let before = prev[anchor];
                    prev[w] = before;
                    next[w] = anchor;
                    prev[anchor] = w;
                    if before != NONE {
                        next[before] = w;
                    } else {
                        head = w;
                    }
                }
            }
            // Otherwise w is the last vertex of p, already right after q's run.
            part_size[p] -= 1;
            part_of[w] = q;
            if part_size[q] == 0 {
                part_head[q] = w;
            }
            part_size[q] += 1;
        }
    }
    order
}

/// LexBFS+(σ): a sweep whose ties go to the vertex that comes last in `sigma`.
pub fn lexbfs_plus(graph: &Graph, sigma: &[usize]) -> Vec<usize> {
    let priority: Vec<usize> = sigma.iter().rev().copied().collect();
    lexbfs(graph, &priority)
}

/// Whether the reverse of `order` is a perfect elimination ordering, i.e. each
/// vertex's earlier neighbours form a clique — true for every LexBFS order of
/// a chordal graph and for no order of a non-chordal one (Rose, Tarjan &
/// Lueker 1976). Checked in O(n + m) as in Tarjan & Yannakakis (SIAM J.
/// Comput. 1984): each vertex's earlier neighbours, less the latest of them
/// (its parent), must all be neighbours of the parent.
pub fn is_chordal_order(graph: &Graph, order: &[usize]) -> bool {
    let n = graph.n();
    let pos = crate::positions(order);
    // For each parent, the vertices that must be among its neighbours.
    let mut owed: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &v in order {
        let earlier = graph
            .neighbors(v)
            .iter()
            .map(|&u| u as usize)
            .filter(|&u| pos[u] < pos[v]);
        let Some(parent) = earlier.clone().max_by_key(|&u| pos[u]) else {
            continue;
        };
        owed[parent].extend(earlier.filter(|&u| u != parent));
    }
    let mut mark = vec![NONE; n];
    for (p, owed) in owed.iter().enumerate() {
        for &u in graph.neighbors(p) {
            mark[u as usize] = p;
        }
        if owed.iter().any(|&u| mark[u] != p) {
            return false;
        }
    }
    true
}

/// Whether `order` is an interval ordering (umbrella-free): for positions
/// a < b < c, an edge between the vertices at a and c implies one between
/// those at a and b. A graph is an interval graph iff it has such an order
/// (Olariu, "An optimal greedy heuristic to color interval graphs", IPL 1991).
///
/// O(n + m): a vertex's later neighbours must be exactly the run of vertices
/// that follows it up to the last of them.
pub fn is_interval_ordering(graph: &Graph, order: &[usize]) -> bool {
    if !crate::is_permutation(order, graph.n()) {
        return false;
    }
    let pos = crate::positions(order);
    order.iter().all(|&v| {
        let (mut later, mut reach) = (0, pos[v]);
        for &u in graph.neighbors(v) {
            let p = pos[u as usize];
            if p > pos[v] {
                later += 1;
                reach = reach.max(p);
            }
        }
        later == reach - pos[v]
    })
}
