//! Heuristic layouts for graphs of any size: Cuthill–McKee-family starts
//! ([`initial`]) and a simulated-annealing improvement phase ([`improve`]).
//!
//! The starts are the classical ones (Cuthill & McKee 1969, reverse CM,
//! Gibbs, Poole & Stockmeyer 1976) from pseudo-peripheral vertices (George &
//! Liu 1979): linear time, deterministic, and usually within a factor of two of
//! the optimum. The improvement phase is an annealer with the discriminating
//! cost of Rodriguez-Tello, Hao & Torres-Jimenez (EJOR 2008) and the
//! critical-vertex moves of the VNS of Mladenović et al. (EJOR 2010); see
//! [`anneal`](self) for the details.

mod anneal;
mod levels;

use convoy_model::Graph;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::budget::Budget;

/// How many vertices of the far level are tried as extra Cuthill–McKee roots.
const EXTRA_ROOTS: usize = 4;

/// A low-bandwidth numbering of a connected graph, in O(n + m) per candidate:
/// the best of Cuthill–McKee and Gibbs–Poole–Stockmeyer from both ends of a
/// pseudo-diameter and of Cuthill–McKee from a few more far vertices.
///
/// The winner is returned reversed (reverse Cuthill–McKee), which has the same
/// bandwidth and usually a smaller profile. On a disconnected graph each
/// component is numbered in turn (the result is still a permutation).
pub fn initial(graph: &Graph) -> Vec<usize> {
    let n = graph.n();
    if n == 0 {
        return Vec::new();
    }
    let comps = graph.components();
    if comps.len() > 1 {
        // Not the intended use (the caller splits components), but stay correct.
        let mut order = Vec::with_capacity(n);
        for comp in comps {
            let sub = graph.induced(&comp);
            order.extend(initial(&sub).into_iter().map(|v| comp[v]));
        }
        return order;
    }
    let (u, v) = levels::pseudo_peripheral_pair(graph);
    let mut candidates = vec![
        levels::gps(graph, u, v),
        levels::gps(graph, v, u),
        levels::cuthill_mckee(graph, u),
        levels::cuthill_mckee(graph, v),
    ];
    for r in levels::last_level(graph, u)
        .into_iter()
        .filter(|&r| r != v)
        .take(EXTRA_ROOTS)
    {
        candidates.push(levels::cuthill_mckee(graph, r));
    }
    let mut best = candidates
        .into_iter()
        .min_by_key(|o| super::bandwidth_of(graph, o))
        .expect("at least one candidate");
    best.reverse();
    best
}

/// Plain reverse Cuthill–McKee (George & Liu 1981), as SciPy and most sparse
/// libraries ship it: one Cuthill–McKee numbering per component from a
/// pseudo-peripheral vertex, reversed. A baseline for comparisons; [`initial`]
/// is never worse.
pub fn reverse_cuthill_mckee(graph: &Graph) -> Vec<usize> {
    let mut order = Vec::with_capacity(graph.n());
    for comp in graph.components() {
        let sub = graph.induced(&comp);
        let (root, _) = levels::pseudo_peripheral_pair(&sub);
        let mut cm = levels::cuthill_mckee(&sub, root);
        cm.reverse();
        order.extend(cm.into_iter().map(|v| comp[v]));
    }
    order
}

/// Improves `order` (a permutation of the vertices of a connected graph)
/// within `budget`, stopping early once the bandwidth reaches `target` (a
/// proven lower bound). Returns the best order found, never wider than `order`.
///
/// Deterministic: the same graph, order, target, seed and budget give the same
/// result. One budget unit is about half a move evaluation (more for
/// high-degree vertices); 10⁸ units take about two seconds of one core. The
/// budget is spent in restarts of about 2·10⁴ units per vertex, so a budget of
/// a few rounds is where the search pays off.
pub fn improve(
    graph: &Graph,
    order: &[usize],
    target: usize,
    seed: u64,
    budget: &mut Budget<'_>,
) -> Vec<usize> {
    if !crate::is_permutation(order, graph.n()) {
        return order.to_vec();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    anneal::anneal(
        graph,
        order,
        target,
        &mut rng,
        budget,
        &anneal::Params::default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bandwidth::bandwidth_of;
    use crate::{is_permutation, NoControl};
    use rand::seq::SliceRandom;
    use rand::Rng;

    /// A path on `n` vertices with shuffled labels.
    fn shuffled_path(n: usize, seed: u64) -> Graph {
        let mut labels: Vec<usize> = (0..n).collect();
        labels.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let edges: Vec<_> = (1..n).map(|i| (labels[i - 1], labels[i])).collect();
        Graph::from_edges(n, &edges)
    }

    /// The `r × c` grid; its bandwidth is min(r, c).
    fn grid(r: usize, c: usize) -> Graph {
        let mut edges = Vec::new();
        for i in 0..r {
            for j in 0..c {
                let v = i * c + j;
                if j + 1 < c {
                    edges.push((v, v + 1));
                }
                if i + 1 < r {
                    edges.push((v, v + c));
                }
            }
        }
        Graph::from_edges(r * c, &edges)
    }

    /// The cycle on `n` vertices; its bandwidth is 2.
    fn cycle(n: usize) -> Graph {
        let edges: Vec<_> = (0..n).map(|i| (i, (i + 1) % n)).collect();
        Graph::from_edges(n, &edges)
    }

    /// A connected random graph: a random spanning tree plus `extra` edges.
    fn random_connected(n: usize, extra: usize, seed: u64) -> Graph {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut edges: Vec<_> = (1..n).map(|v| (v, rng.gen_range(0..v))).collect();
        for _ in 0..extra {
            let (a, b) = (rng.gen_range(0..n), rng.gen_range(0..n));
            if a != b {
                edges.push((a, b));
            }
        }
        Graph::from_edges(n, &edges)
    }

    /// A random permutation, as a bad starting layout.
    fn shuffled(n: usize, seed: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        order
    }

    fn run(graph: &Graph, order: &[usize], target: usize, seed: u64, units: u64) -> Vec<usize> {
        let mut budget = Budget::new(units, &NoControl);
        improve(graph, order, target, seed, &mut budget)
    }

    fn hb(name: &str) -> Option<Graph> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/hb")
            .join(format!("{name}.mtx"));
        convoy_model::read_graph(&path).ok()
    }

    #[test]
    fn initial_is_a_permutation_and_optimal_on_paths_and_grids() {
        for seed in 0..5 {
            let g = shuffled_path(40, seed);
            let order = initial(&g);
            assert!(is_permutation(&order, 40));
            assert_eq!(bandwidth_of(&g, &order), 1);
        }
        let g = grid(6, 9);
        let order = initial(&g);
        assert!(is_permutation(&order, 54));
        assert_eq!(bandwidth_of(&g, &order), 6);
        let g = cycle(31);
        assert_eq!(bandwidth_of(&g, &initial(&g)), 2);
    }

    #[test]
    fn reverse_cuthill_mckee_is_a_permutation_no_better_than_initial() {
        let g = Graph::from_edges(9, &[(0, 4), (4, 8), (8, 1), (1, 5), (2, 6), (6, 3), (7, 7)]);
        let rcm = reverse_cuthill_mckee(&g);
        assert!(crate::is_permutation(&rcm, g.n()));
        let path = Graph::from_edges(5, &[(0, 3), (3, 1), (1, 4), (4, 2)]);
        assert_eq!(
            super::super::bandwidth_of(&path, &reverse_cuthill_mckee(&path)),
            1
        );
        assert!(
            super::super::bandwidth_of(&g, &initial(&g)) <= super::super::bandwidth_of(&g, &rcm)
        );
    }

    #[test]
    fn initial_handles_tiny_and_disconnected_graphs() {
        assert!(initial(&Graph::from_edges(0, &[])).is_empty());
        assert_eq!(initial(&Graph::from_edges(1, &[])), vec![0]);
        let g = Graph::from_edges(7, &[(0, 3), (3, 5), (1, 2), (4, 6), (6, 2)]);
        let order = initial(&g);
        assert!(is_permutation(&order, 7));
    }

    #[test]
    fn initial_never_worse_than_plain_cuthill_mckee() {
        for seed in 0..20 {
            let g = random_connected(60, 40, seed);
            let (u, _) = levels::pseudo_peripheral_pair(&g);
            let cm = levels::cuthill_mckee(&g, u);
            assert!(is_permutation(&cm, 60));
            let ours = initial(&g);
            assert!(is_permutation(&ours, 60));
            assert!(bandwidth_of(&g, &ours) <= bandwidth_of(&g, &cm));
            let (a, b) = levels::pseudo_peripheral_pair(&g);
            assert!(is_permutation(&levels::gps(&g, a, b), 60));
        }
    }

    #[test]
    fn improve_reaches_the_optimum_on_easy_families() {
        let cases: Vec<(Graph, usize)> = vec![
            (shuffled_path(60, 7), 1),
            (cycle(50), 2),
            (grid(5, 12), 5),
            (grid(8, 8), 8),
        ];
        for (i, (g, optimum)) in cases.iter().enumerate() {
            let start = shuffled(g.n(), i as u64);
            // Target 0 so that the search cannot stop early on a known bound.
            let order = run(g, &start, 0, 3, 20_000_000);
            assert!(is_permutation(&order, g.n()));
            assert_eq!(bandwidth_of(g, &order), *optimum, "case {i}");
        }
    }

    #[test]
    fn improve_never_worse_and_deterministic() {
        for seed in 0..10 {
            let g = random_connected(80, 120, seed);
            for start in [initial(&g), shuffled(80, seed)] {
                let a = run(&g, &start, 0, seed, 300_000);
                let b = run(&g, &start, 0, seed, 300_000);
                assert!(is_permutation(&a, 80));
                assert_eq!(a, b);
                assert!(bandwidth_of(&g, &a) <= bandwidth_of(&g, &start));
            }
        }
    }

    #[test]
    fn improve_stops_at_the_target() {
        let g = grid(6, 10);
        let start = shuffled(60, 1);
        let mut budget = Budget::new(u64::MAX, &NoControl);
        let order = improve(&g, &start, 8, 1, &mut budget);
        assert!(bandwidth_of(&g, &order) <= 8);
        assert!(!budget.is_stopped());
    }

    #[test]
    fn improve_tolerates_degenerate_input() {
        let g = Graph::from_edges(2, &[(0, 1)]);
        assert_eq!(run(&g, &[1, 0], 0, 0, 1000), vec![1, 0]);
        let g = Graph::from_edges(3, &[(0, 1), (1, 2)]);
        // Not a permutation: handed back untouched rather than panicking.
        assert_eq!(run(&g, &[0, 0, 1], 0, 0, 1000), vec![0, 0, 1]);
        let mut none = Budget::new(0, &NoControl);
        assert_eq!(improve(&g, &[0, 2, 1], 0, 0, &mut none), vec![0, 2, 1]);
    }

    #[test]
    fn improve_beats_initial_on_harwell_boeing() {
        // Skipped quietly if the shared data is not next to the repository.
        for (name, want) in [("dwt__209", 26), ("can__292", 50), ("494_bus", 40)] {
            let Some(g) = hb(name) else { continue };
            let start = initial(&g);
            let before = bandwidth_of(&g, &start);
            let order = run(&g, &start, 0, 1, 20_000_000);
            let after = bandwidth_of(&g, &order);
            assert!(after <= before, "{name}: {after} > {before}");
            assert!(after <= want, "{name}: improved only to {after}");
        }
    }
}
