//! The online chooser picks with the probabilities it promises: chi-square
//! goodness-of-fit tests at fixed seeds and sample sizes, plus determinism and
//! permutation checks of the replay.

use convoy_model::{Graph, GraphBuilder};
use convoy_schedule::is_permutation;
use convoy_schedule::online::{replay, OnlineChooser, ReplayOptions, Weighting};
use proptest::prelude::*;

/// Upper critical values of the chi-square distribution at p = 0.001 for 1..=10
/// degrees of freedom (NIST/SEMATECH e-Handbook of Statistical Methods, table
/// 1.3.6.7.4, "Critical Values of the Chi-Square Distribution", column 0.999).
const CHI2_CRIT_P001: [f64; 10] = [
    10.828, 13.816, 16.266, 18.467, 20.515, 22.458, 24.322, 26.124, 27.877, 29.588,
];

const DRAWS: u64 = 20_000;

/// Pearson's statistic over the categories of positive probability; panics if a
/// category of probability zero was ever drawn. Returns (statistic, degrees of freedom).
fn chi_square(counts: &[u64], probs: &[f64]) -> (f64, usize) {
    let total: u64 = counts.iter().sum();
    let mut stat = 0.0;
    let mut cats = 0;
    for (i, (&c, &p)) in counts.iter().zip(probs).enumerate() {
        if p == 0.0 {
            assert_eq!(
                c, 0,
                "category {i} has probability 0 but was drawn {c} times"
            );
            continue;
        }
        let e = p * total as f64;
        stat += (c as f64 - e).powi(2) / e;
        cats += 1;
    }
    (stat, cats - 1)
}

fn assert_fits(counts: &[u64], probs: &[f64]) {
    let (stat, df) = chi_square(counts, probs);
    let crit = CHI2_CRIT_P001[df - 1];
    // Shown with --nocapture, for the record.
    eprintln!("chi-square {stat:.2} (df {df}, critical {crit} at p = 0.001)");
    assert!(
        stat < crit,
        "chi-square {stat:.2} >= {crit} (df {df}); counts {counts:?}, probs {probs:?}"
    );
}

fn normalise(w: &[f64]) -> Vec<f64> {
    let s: f64 = w.iter().sum();
    w.iter().map(|x| x / s).collect()
}

/// A weighted star: centre 0 already moved, leaves 1..=5 with traffic 1, 2, 3, 4, 10.
fn star_second_choice(seed: u64, weighting: Weighting) -> usize {
    let mut c = OnlineChooser::with_weighting(6, seed, weighting);
    for (leaf, bytes) in [(1, 1), (2, 2), (3, 3), (4, 4), (5, 10)] {
        c.observe(0, leaf, bytes);
    }
    c.mark_moved(0);
    c.next().unwrap()
}

#[test]
fn traffic_weighted_choice_fits_its_probabilities() {
    let mut counts = [0u64; 6];
    for seed in 0..DRAWS {
        counts[star_second_choice(seed, Weighting::Traffic)] += 1;
    }
    let probs = normalise(&[0.0, 1.0, 2.0, 3.0, 4.0, 10.0]);
    assert_fits(&counts, &probs);
    // The test has power: the same draws are far from uniform over the leaves.
    let uniform = [0.0, 0.2, 0.2, 0.2, 0.2, 0.2];
    let (stat, df) = chi_square(&counts, &uniform);
    assert!(stat > 10.0 * CHI2_CRIT_P001[df - 1], "{stat}");
}

#[test]
fn degree_weighted_choice_counts_moved_peers() {
    // Moved: 0 and 1. Vertex 2 talks to both (weight 2), 3 to 0 only, 5 to 1
    // only (weight 1 each, whatever the bytes), 4 to nobody moved.
    let mut counts = [0u64; 6];
    for seed in 0..DRAWS {
        let mut c = OnlineChooser::with_weighting(6, seed, Weighting::Degree);
        c.observe(0, 2, 1);
        c.observe(1, 2, 1);
        c.observe(0, 3, 1_000_000);
        c.observe(1, 5, 7);
        c.observe(4, 2, 99); // between two remaining machines: no weight yet
        c.mark_moved(0);
        c.mark_moved(1);
        counts[c.next().unwrap()] += 1;
    }
    assert_fits(&counts, &[0.0, 0.0, 0.5, 0.25, 0.0, 0.25]);
}

#[test]
fn star_in_degree_mode_is_uniform_over_leaves() {
    let mut counts = [0u64; 6];
    for seed in 0..DRAWS {
        counts[star_second_choice(seed, Weighting::Degree)] += 1;
    }
    assert_fits(&counts, &[0.0, 0.2, 0.2, 0.2, 0.2, 0.2]);
}

#[test]
fn first_choice_is_uniform() {
    let mut counts = [0u64; 7];
    for seed in 0..DRAWS {
        let mut c = OnlineChooser::new(7, seed);
        c.observe(0, 1, 1_000); // nothing moved yet: observations do not bias the start
        counts[c.next().unwrap()] += 1;
    }
    assert_fits(&counts, &[1.0 / 7.0; 7]);
}

#[test]
fn uniform_among_the_rest_when_nobody_talks_to_the_moved_set() {
    // 0 moved and silent; 1-2 talk to each other only.
    let mut counts = [0u64; 5];
    for seed in 0..DRAWS {
        let mut c = OnlineChooser::new(5, seed);
        c.observe(1, 2, 50);
        c.mark_moved(0);
        counts[c.next().unwrap()] += 1;
    }
    assert_fits(&counts, &[0.0, 0.25, 0.25, 0.25, 0.25]);
}

/// 0–1 (3), 0–2 (1), 1–2 (2), 0–4 (4), 3 isolated.
fn small_graph() -> Graph {
    let mut b = GraphBuilder::new();
    for v in 0..5 {
        b.add_vertex(&v.to_string());
    }
    for (a, c, w) in [(0, 1, 3.0), (0, 2, 1.0), (1, 2, 2.0), (0, 4, 4.0)] {
        b.add_edge(&a.to_string(), &c.to_string(), w).unwrap();
    }
    b.build()
}

#[test]
fn replay_second_choice_matches_the_exact_marginal() {
    let g = small_graph();
    let n = g.n();
    // P(second = v) = sum over first u (prob 1/n) of P(v | u): proportional to
    // w(u, v) when u has neighbours, else uniform over the other n - 1.
    let mut probs = vec![0.0; n];
    for u in 0..n {
        let total: f64 = g.neighbor_weights(u).iter().sum();
        for v in (0..n).filter(|&v| v != u) {
            let p = if total > 0.0 {
                g.weight(u, v).unwrap_or(0.0) / total
            } else {
                1.0 / (n - 1) as f64
            };
            probs[v] += p / n as f64;
        }
    }
    let mut counts = vec![0u64; n];
    for seed in 0..DRAWS {
        let order = replay(
            &g,
            &ReplayOptions {
                seed,
                ..ReplayOptions::default()
            },
        );
        counts[order[1]] += 1;
    }
    assert_fits(&counts, &probs);
}

#[test]
fn replay_is_deterministic_and_seed_dependent() {
    let edges: Vec<(usize, usize)> = (0..40).map(|i| (i, (i * 7 + 3) % 40)).collect();
    let g = Graph::from_edges(40, &edges);
    let run = |seed| {
        replay(
            &g,
            &ReplayOptions {
                seed,
                ..ReplayOptions::default()
            },
        )
    };
    assert_eq!(run(5), run(5));
    assert!((0..10).any(|s| run(s) != run(5)));
}

#[test]
fn premoved_peers_attract_and_are_left_out() {
    // 0 is in the cloud already and only 3 talks to it: 3 always comes first.
    let g = Graph::from_edges(5, &[(0, 3), (1, 2)]);
    for seed in 0..50 {
        let order = replay(
            &g,
            &ReplayOptions {
                seed,
                premoved: vec![0],
                ..ReplayOptions::default()
            },
        );
        assert_eq!(order[0], 3);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![1, 2, 3, 4]);
    }
}

#[test]
fn chooser_bookkeeping() {
    let mut c = OnlineChooser::new(3, 9);
    assert_eq!(c.remaining(), vec![0, 1, 2]);
    let a = c.next().unwrap();
    assert!(c.is_moved(a));
    assert!(!c.mark_moved(a));
    assert_eq!(c.moved(), &[a]);
    assert_eq!(c.remaining().len(), 2);
    c.next();
    c.next();
    assert_eq!(c.next(), None);
    assert!(is_permutation(c.moved(), 3));
    assert_eq!(c.remaining_count(), 0);
}

proptest! {
    #[test]
    fn every_replayed_order_is_a_permutation(
        n in 1usize..40,
        raw in proptest::collection::vec((0usize..40, 0usize..40, 1u32..1000), 0..120),
        seed in any::<u64>(),
        degree in any::<bool>(),
    ) {
        let mut b = GraphBuilder::new();
        for v in 0..n {
            b.add_vertex(&v.to_string());
        }
        for (a, c, w) in raw {
            let (a, c) = (a % n, c % n);
            if a != c {
                b.add_edge(&a.to_string(), &c.to_string(), w as f64 / 10.0).unwrap();
            }
        }
        let g = b.build();
        let weighting = if degree { Weighting::Degree } else { Weighting::Traffic };
        let order = replay(&g, &ReplayOptions { seed, weighting, premoved: vec![] });
        prop_assert!(is_permutation(&order, n));
    }
}
