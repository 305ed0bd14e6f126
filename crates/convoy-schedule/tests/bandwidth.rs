//! The bandwidth planner against brute force, known values and its own invariants.

use std::path::PathBuf;

use convoy_model::Graph;
use convoy_schedule::bandwidth::{
    bandwidth_of, bounds, brute::brute_force, exact, solve, Options, Solution,
};
use convoy_schedule::{is_permutation, Budget, NoControl};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A G(n, p) graph from `rng`.
fn random_graph(rng: &mut ChaCha8Rng, n: usize, p: f64) -> Graph {
    let mut edges = Vec::new();
    for u in 0..n {
        for v in u + 1..n {
            if rng.gen_bool(p) {
                edges.push((u, v));
            }
        }
    }
    Graph::from_edges(n, &edges)
}

/// The seeded family: every n ≤ 8 at several densities (sparse ones have
/// isolated vertices and several components), plus explicit disjoint unions.
fn family() -> Vec<Graph> {
    let mut rng = ChaCha8Rng::seed_from_u64(20_260_127);
    let mut graphs = Vec::new();
    for n in 0..=8 {
        for &p in &[0.15, 0.3, 0.5, 0.8] {
            for _ in 0..10 {
                graphs.push(random_graph(&mut rng, n, p));
            }
        }
    }
    // Two random parts side by side, then a few isolated vertices.
    for _ in 0..30 {
        let a = rng.gen_range(1..=4);
        let b = rng.gen_range(1..=3);
        let isolated = rng.gen_range(0..=1);
        let n = a + b + isolated;
        let mut edges = Vec::new();
        for u in 0..a + b {
            for v in u + 1..a + b {
                let same_side = (u < a) == (v < a);
                if same_side && rng.gen_bool(0.6) {
                    edges.push((u, v));
                }
            }
        }
        graphs.push(Graph::from_edges(n, &edges));
    }
    graphs
}

fn solve_exactly(graph: &Graph) -> Solution {
    solve(graph, &Options::default(), &NoControl)
}

fn check_solution(graph: &Graph, s: &Solution) {
    assert!(is_permutation(&s.order, graph.n()), "not a permutation");
    assert_eq!(s.bandwidth, bandwidth_of(graph, &s.order));
    assert!(s.lower_bound <= s.bandwidth);
}

#[test]
fn solve_agrees_with_brute_force_and_proves_it() {
    for (i, g) in family().iter().enumerate() {
        let (opt, _) = brute_force(g);
        let s = solve_exactly(g);
        check_solution(g, &s);
        assert_eq!(
            s.bandwidth,
            opt,
            "graph {i}: {:?}",
            g.edges().collect::<Vec<_>>()
        );
        assert!(s.optimal(), "graph {i}: optimum {opt} not proven");
        assert_eq!(s.lower_bound, opt);
    }
}

#[test]
fn decision_agrees_with_brute_force_at_every_k() {
    for (i, g) in family().iter().enumerate() {
        let (opt, _) = brute_force(g);
        for k in 0..g.n() {
            let mut budget = Budget::new(u64::MAX, &NoControl);
            match exact::decide(g, k, &mut budget) {
                exact::Decision::Feasible(order) => {
                    assert!(k >= opt, "graph {i}: width {k} < optimum {opt} claimed");
                    assert!(is_permutation(&order, g.n()));
                    assert!(bandwidth_of(g, &order) <= k);
                }
                exact::Decision::Infeasible => {
                    assert!(k < opt, "graph {i}: width {k} ≥ optimum {opt} refuted")
                }
                exact::Decision::Unknown => panic!("graph {i}: unbounded search gave up"),
            }
        }
    }
}

#[test]
fn no_lower_bound_exceeds_the_optimum() {
    let mut tight = 0;
    let family = family();
    for (i, g) in family.iter().enumerate() {
        let (opt, _) = brute_force(g);
        let density = bounds::density_bound(g);
        let start = bounds::start_bound(g);
        let all = [
            ("degree", bounds::degree_bound(g)),
            ("density", density),
            ("start", start),
            ("pair", bounds::pair_bound(g, density.max(start))),
            ("best", bounds::lower_bound(g)),
        ];
        for (name, lb) in all {
            assert!(lb <= opt, "graph {i}: {name} bound {lb} > optimum {opt}");
        }
        tight += usize::from(bounds::lower_bound(g) == opt);
    }
    // The bounds are not vacuous: on small random graphs they are usually exact.
    assert!(tight * 2 > family.len(), "only {tight} tight bounds");
}

fn path(n: usize) -> Graph {
    let e: Vec<_> = (1..n).map(|i| (i - 1, i)).collect();
    Graph::from_edges(n, &e)
}

fn cycle(n: usize) -> Graph {
    let mut e: Vec<_> = (1..n).map(|i| (i - 1, i)).collect();
    e.push((n - 1, 0));
    Graph::from_edges(n, &e)
}

fn complete(n: usize) -> Graph {
    let mut e = Vec::new();
    for u in 0..n {
        for v in u + 1..n {
            e.push((u, v));
        }
    }
    Graph::from_edges(n, &e)
}

fn star(leaves: usize) -> Graph {
    let e: Vec<_> = (1..=leaves).map(|i| (0, i)).collect();
    Graph::from_edges(leaves + 1, &e)
}

fn grid(rows: usize, cols: usize) -> Graph {
    let mut e = Vec::new();
    for r in 0..rows {
        for c in 0..cols {
            let v = r * cols + c;
            if c + 1 < cols {
                e.push((v, v + 1));
            }
            if r + 1 < rows {
                e.push((v, v + cols));
            }
        }
    }
    Graph::from_edges(rows * cols, &e)
}

fn assert_proven(graph: &Graph, expected: usize, what: &str) {
    let s = solve_exactly(graph);
    check_solution(graph, &s);
    assert_eq!(s.bandwidth, expected, "{what}");
    assert!(s.optimal(), "{what}: lower bound {} only", s.lower_bound);
}

#[test]
fn known_families() {
    for n in [2, 3, 10, 50] {
        assert_proven(&path(n), 1, &format!("path {n}"));
    }
    for n in [3, 4, 9, 40] {
        // A triangle is complete: 2 as well.
        assert_proven(&cycle(n), 2, &format!("cycle {n}"));
    }
    for n in [2, 5, 9] {
        assert_proven(&complete(n), n - 1, &format!("K{n}"));
    }
    for leaves in [1, 4, 7, 12] {
        assert_proven(&star(leaves), leaves.div_ceil(2), &format!("star {leaves}"));
    }
    // Grids: bandwidth min(rows, cols) (Chvátalová 1975).
    for (r, c) in [(2, 2), (3, 5), (4, 4), (5, 7), (6, 6)] {
        assert_proven(&grid(r, c), r.min(c), &format!("grid {r}x{c}"));
    }
}

#[test]
fn disconnected_graph_takes_the_widest_component() {
    // K4 (width 3), a path and isolated vertices.
    let mut e = vec![(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)];
    e.extend([(4, 5), (5, 6), (6, 7)]);
    let g = Graph::from_edges(10, &e);
    assert_proven(&g, 3, "K4 + P4 + 2 isolated");
}

fn hb(name: &str) -> Option<Graph> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/hb")
        .join(format!("{name}.mtx"));
    if !path.exists() {
        eprintln!("skipping {name}: {} not found", path.display());
        return None;
    }
    Some(convoy_model::read_graph(&path).expect("benchmark graph parses"))
}

/// Harwell–Boeing graphs whose optimum is published (Caprara & Salazar-González
/// 2005; Martí, Campos & Piñana 2008) and which this solver proves within the
/// default effort.
#[test]
fn harwell_boeing_published_optima() {
    for (name, expected) in [
        ("ibm32", 11),
        ("can___24", 5),
        ("pores__1", 7),
        ("curtis54", 10),
        ("will57", 6),
    ] {
        let Some(g) = hb(name) else { continue };
        assert_proven(&g, expected, name);
    }
}

/// Same graph, seed and effort: the same plan, even when the effort runs out
/// mid-search (the budget counts work, not time).
#[test]
fn same_effort_same_plan() {
    let Some(g) = hb("dwt__162") else { return };
    let options = Options {
        seed: 3,
        effort: 20_000_000,
    };
    let a = solve(&g, &options, &NoControl);
    let b = solve(&g, &options, &NoControl);
    assert_eq!(a, b);
    check_solution(&g, &a);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every plan is a permutation and its reported bandwidth is recomputed from the order.
    #[test]
    fn solutions_are_permutations_with_honest_width(
        n in 0usize..40,
        seed in any::<u64>(),
        density in 0.02f64..0.4,
        effort in 1u64..3_000_000,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let g = random_graph(&mut rng, n, density);
        let s = solve(&g, &Options { seed, effort }, &NoControl);
        prop_assert!(is_permutation(&s.order, n));
        prop_assert_eq!(s.bandwidth, bandwidth_of(&g, &s.order));
        prop_assert!(s.lower_bound <= s.bandwidth);
        if n <= 8 {
            prop_assert!(s.lower_bound <= brute_force(&g).0);
        }
    }
}
