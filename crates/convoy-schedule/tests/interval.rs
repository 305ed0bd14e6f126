//! Interval graphs: recognition (multi-sweep LexBFS) and exact bandwidth
//! (Kleitman–Vohra greedy), checked against independent oracles: brute force
//! over all orders, and the branch and bound's refutation of width − 1.

use convoy_model::Graph;
use convoy_schedule::bandwidth::brute::brute_force;
use convoy_schedule::bandwidth::exact::{decide, Decision};
use convoy_schedule::bandwidth::interval::{
    interval_ordering, is_interval, is_interval_ordering, solve_interval,
};
use convoy_schedule::bandwidth::{bandwidth_of, solve, Options};
use convoy_schedule::{is_permutation, Budget, NoControl};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Shapes of random interval families.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Left ends and lengths uniform.
    General,
    /// All lengths equal: unit (proper) interval graphs.
    Unit,
    /// A few long intervals over many short ones: deep nesting.
    Nested,
}

/// `n` closed intervals with integer ends, shuffled so that vertex numbers say
/// nothing about positions.
fn random_intervals(rng: &mut ChaCha8Rng, n: usize, kind: Kind) -> Vec<(usize, usize)> {
    let span = 2 * n + 2;
    let mut out: Vec<(usize, usize)> = (0..n)
        .map(|i| {
            let left = rng.gen_range(0..span);
            let len = match kind {
                Kind::General => rng.gen_range(0..=n),
                Kind::Unit => 3,
                Kind::Nested if i % 4 == 0 => rng.gen_range(n / 2..=2 * n),
                Kind::Nested => rng.gen_range(0..3),
            };
            (left, left + len)
        })
        .collect();
    out.shuffle(rng);
    out
}

fn intersection_graph(intervals: &[(usize, usize)]) -> Graph {
    let mut edges = Vec::new();
    for (i, a) in intervals.iter().enumerate() {
        for (j, b) in intervals.iter().enumerate().skip(i + 1) {
            if a.0 <= b.1 && b.0 <= a.1 {
                edges.push((i, j));
            }
        }
    }
    Graph::from_edges(intervals.len(), &edges)
}

/// A connected random interval graph on `n` vertices (resampled until connected).
fn connected_interval_graph(rng: &mut ChaCha8Rng, n: usize, kind: Kind) -> Graph {
    loop {
        let g = intersection_graph(&random_intervals(rng, n, kind));
        if g.components().len() == 1 {
            return g;
        }
    }
}

const KINDS: [Kind; 3] = [Kind::General, Kind::Unit, Kind::Nested];

/// Whether some order of the vertices is umbrella-free, by trying them all:
/// the definition of an interval graph (Olariu 1991), independent of LexBFS.
fn interval_by_brute_force(g: &Graph) -> bool {
    let n = g.n();
    let mut order: Vec<usize> = (0..n).collect();
    let mut c = vec![0usize; n];
    if is_interval_ordering(g, &order) {
        return true;
    }
    let mut i = 0;
    while i < n {
        if c[i] < i {
            if i % 2 == 0 {
                order.swap(0, i);
            } else {
                order.swap(c[i], i);
            }
            if is_interval_ordering(g, &order) {
                return true;
            }
            c[i] += 1;
            i = 0;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    false
}

fn cycle(n: usize) -> Graph {
    let edges: Vec<_> = (0..n).map(|i| (i, (i + 1) % n)).collect();
    Graph::from_edges(n, &edges)
}

fn path(n: usize) -> Graph {
    let edges: Vec<_> = (1..n).map(|i| (i - 1, i)).collect();
    Graph::from_edges(n, &edges)
}

fn clique(n: usize) -> Graph {
    let edges: Vec<_> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .collect();
    Graph::from_edges(n, &edges)
}

/// A spine path with `legs[i]` leaves on spine vertex i.
fn caterpillar(legs: &[usize]) -> Graph {
    let spine = legs.len();
    let mut edges: Vec<_> = (1..spine).map(|i| (i - 1, i)).collect();
    let mut n = spine;
    for (i, &l) in legs.iter().enumerate() {
        for _ in 0..l {
            edges.push((i, n));
            n += 1;
        }
    }
    Graph::from_edges(n, &edges)
}

fn width(g: &Graph) -> usize {
    let order = solve_interval(g).expect("an interval graph");
    assert!(
        is_permutation(&order, g.n()),
        "not a permutation: {order:?}"
    );
    bandwidth_of(g, &order)
}

#[test]
fn recognises_random_interval_graphs() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for trial in 0..3000 {
        let n = 1 + trial % 80;
        let kind = KINDS[trial % 3];
        let g = intersection_graph(&random_intervals(&mut rng, n, kind));
        let order = interval_ordering(&g)
            .unwrap_or_else(|| panic!("trial {trial} ({kind:?}, n = {n}) not recognised"));
        assert!(is_interval_ordering(&g, &order));
    }
}

#[test]
fn recognition_is_exact_on_every_graph_of_six_vertices() {
    // All 2^15 labelled graphs on 6 vertices: is_interval must be exactly
    // "some order is umbrella-free", and solve_interval must answer alike.
    let pairs: Vec<(usize, usize)> = (0..6)
        .flat_map(|i| (i + 1..6).map(move |j| (i, j)))
        .collect();
    let mut interval = 0;
    for mask in 0u32..1 << pairs.len() {
        let edges: Vec<_> = pairs
            .iter()
            .enumerate()
            .filter(|(b, _)| mask >> b & 1 == 1)
            .map(|(_, &e)| e)
            .collect();
        let g = Graph::from_edges(6, &edges);
        let expected = interval_by_brute_force(&g);
        assert_eq!(is_interval(&g), expected, "graph {edges:?}");
        assert_eq!(solve_interval(&g).is_some(), expected, "graph {edges:?}");
        interval += usize::from(expected);
    }
    // Not every graph is interval, nor none.
    assert!(interval > 1000 && interval < 1 << 15, "{interval}");
}

#[test]
fn recognition_agrees_with_brute_force_on_small_random_graphs() {
    // Random graphs of every density on up to 7 vertices: is_interval must be
    // exactly "some order is umbrella-free".
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let (mut yes, mut no) = (0, 0);
    for trial in 0..4000 {
        let n = 3 + trial % 5;
        let p: f64 = rng.gen_range(0.2..0.9);
        let edges: Vec<_> = (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .filter(|_| rng.gen_bool(p))
            .collect();
        let g = Graph::from_edges(n, &edges);
        let expected = interval_by_brute_force(&g);
        assert_eq!(is_interval(&g), expected, "graph {edges:?}");
        if expected {
            yes += 1;
        } else {
            no += 1;
        }
    }
    // The family must exercise both answers.
    assert!(yes > 500 && no > 500, "yes {yes}, no {no}");
}

#[test]
fn rejects_non_interval_graphs() {
    // Chordless cycles.
    for n in [4, 5, 6, 9, 30] {
        assert!(!is_interval(&cycle(n)), "C{n}");
        assert_eq!(solve_interval(&cycle(n)), None, "C{n}");
    }
    // Net: a triangle with a pendant vertex on each corner; the pendants are
    // an asteroidal triple.
    let net = Graph::from_edges(6, &[(0, 1), (1, 2), (0, 2), (0, 3), (1, 4), (2, 5)]);
    assert!(!is_interval(&net), "net");
    // Tent (3-sun): a triangle with a vertex on each side.
    let tent = Graph::from_edges(
        6,
        &[
            (0, 1),
            (1, 2),
            (0, 2),
            (3, 0),
            (3, 1),
            (4, 1),
            (4, 2),
            (5, 0),
            (5, 2),
        ],
    );
    assert!(!is_interval(&tent), "tent");
    // Subdivided claw: the three leaves are an asteroidal triple.
    let claw = Graph::from_edges(7, &[(0, 1), (1, 2), (0, 3), (3, 4), (0, 5), (5, 6)]);
    assert!(!is_interval(&claw), "subdivided claw");
    // A larger tree containing one: a caterpillar whose spine vertex 5 grows
    // a path of length two.
    let mut edges: Vec<_> = (1..10).map(|i| (i - 1, i)).collect();
    edges.extend([(5, 10), (10, 11), (2, 12), (7, 13)]);
    let tree = Graph::from_edges(14, &edges);
    assert!(!is_interval(&tree), "tree with a subdivided claw");
    // K_{2,3} and the domino are not chordal.
    let k23 = Graph::from_edges(5, &[(0, 2), (0, 3), (0, 4), (1, 2), (1, 3), (1, 4)]);
    assert!(!is_interval(&k23), "K2,3");
}

#[test]
fn paths_cliques_stars_and_caterpillars() {
    assert_eq!(solve_interval(&Graph::from_edges(0, &[])), Some(vec![]));
    for n in 1..30 {
        assert_eq!(width(&path(n)), usize::from(n > 1), "P{n}");
        assert_eq!(width(&clique(n)), n - 1, "K{n}");
    }
    // Star K_{1,m}: the centre in the middle, ⌈m/2⌉.
    for m in 1..25 {
        let star = caterpillar(&[m]);
        assert_eq!(width(&star), m.div_ceil(2), "K1,{m}");
    }
    // Caterpillars, against brute force.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..60 {
        let spine = rng.gen_range(1..5);
        let mut legs: Vec<usize> = (0..spine).map(|_| rng.gen_range(0..4)).collect();
        while legs.len() + legs.iter().sum::<usize>() > 9 {
            let i = legs.iter().position(|&l| l > 0).unwrap();
            legs[i] -= 1;
        }
        let g = caterpillar(&legs);
        assert!(is_interval(&g), "caterpillar {legs:?}");
        assert_eq!(width(&g), brute_force(&g).0, "caterpillar {legs:?}");
    }
}

#[test]
fn matches_brute_force_on_small_interval_graphs() {
    // Every graph of the family, connected or not, up to 8 vertices.
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for trial in 0..3000 {
        let n = 1 + trial % 8;
        let kind = KINDS[trial % 3];
        let g = intersection_graph(&random_intervals(&mut rng, n, kind));
        let (optimum, _) = brute_force(&g);
        assert_eq!(
            width(&g),
            optimum,
            "trial {trial} ({kind:?}): {:?}",
            g.edges().collect::<Vec<_>>()
        );
    }
}

#[test]
fn matches_brute_force_on_connected_interval_graphs_of_nine_and_ten() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for trial in 0..45 {
        let n = 9 + trial % 2;
        let kind = KINDS[trial % 3];
        let g = connected_interval_graph(&mut rng, n, kind);
        assert_eq!(width(&g), brute_force(&g).0, "trial {trial} ({kind:?})");
    }
}

#[test]
fn branch_and_bound_refutes_one_less_on_larger_interval_graphs() {
    // n = 10..=30: the interval layout of width w is optimal iff no layout of
    // width w − 1 exists, which the exact branch and bound can prove. (Beyond
    // 30 vertices, refuting w − 1 on unit interval graphs of small width takes
    // the branch and bound minutes: that is where this solver earns its keep.)
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let (mut proved, mut total) = (0, 0);
    for trial in 0..40 {
        let n = 10 + (trial * 3) % 21;
        let kind = KINDS[trial % 3];
        let g = connected_interval_graph(&mut rng, n, kind);
        let w = width(&g);
        if w == 0 {
            continue;
        }
        total += 1;
        let mut budget = Budget::new(3_000_000, &NoControl);
        match decide(&g, w - 1, &mut budget) {
            Decision::Infeasible => proved += 1,
            Decision::Feasible(order) => panic!(
                "trial {trial} ({kind:?}, n = {n}): width {} beats the interval solver's {w}",
                bandwidth_of(&g, &order)
            ),
            Decision::Unknown => {}
        }
    }
    // The comparison is only meaningful if most refutations complete.
    assert!(proved * 10 >= total * 8, "proved {proved} of {total}");
}

#[test]
fn solve_reports_interval_graphs_optimal() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for trial in 0..20 {
        let g = connected_interval_graph(&mut rng, 10 + trial, KINDS[trial % 3]);
        let solution = solve(&g, &Options::default(), &NoControl);
        assert!(solution.optimal());
        assert_eq!(solution.bandwidth, width(&g));
    }
}
