//! Waves: the partition dynamic programme against brute force over every
//! partition of a fixed order, and waves of one VM against the plain objectives.

use convoy_model::{Graph, GraphBuilder};
use convoy_schedule::arrangement::{Anchor, Problem, TimeModel};
use convoy_schedule::waves::{self, Objective, Waves};
use convoy_schedule::{cutwidth, stretch};
use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A random small instance: graph, anchors, time model, and a random order of its movers.
struct Case {
    problem: Problem,
    time: TimeModel,
    order: Vec<usize>,
}

/// Weights and durations are multiples of 1/2, so sums are exact.
fn case(seed: u64, max_n: usize) -> Case {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = rng.gen_range(1..=max_n);
    let p = [0.2, 0.5, 0.8][rng.gen_range(0..3)];
    let mut b = GraphBuilder::new();
    for v in 0..n {
        b.add_vertex(&v.to_string());
    }
    for u in 0..n {
        for v in (u + 1)..n {
            if rng.gen_bool(p) {
                let w = rng.gen_range(1..=8) as f64 / 2.0;
                b.add_edge(&u.to_string(), &v.to_string(), w).unwrap();
            }
        }
    }
    let graph: Graph = b.build();
    let anchors: Vec<Anchor> = (0..n)
        .map(|_| match rng.gen_range(0..8) {
            0 => Anchor::Cloud,
            1 => Anchor::Stays,
            _ => Anchor::Moves,
        })
        .collect();
    let time = if rng.gen_bool(0.5) {
        TimeModel::Positions
    } else {
        TimeModel::Durations((0..n).map(|_| rng.gen_range(0..=6) as f64 / 2.0).collect())
    };
    let problem = Problem::new(&graph, &anchors, &time).unwrap();
    let mut order = problem.movers().to_vec();
    order.shuffle(&mut rng);
    Case {
        problem,
        time,
        order,
    }
}

/// Every partition of `0..m` into consecutive runs of at most `k`, as run lengths.
fn compositions(m: usize, k: usize) -> Vec<Vec<usize>> {
    if m == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for first in 1..=k.min(m) {
        for mut rest in compositions(m - first, k) {
            rest.insert(0, first);
            out.push(rest);
        }
    }
    out
}

fn split(order: &[usize], sizes: &[usize]) -> Vec<Vec<usize>> {
    let mut at = 0;
    sizes
        .iter()
        .map(|&s| {
            at += s;
            order[at - s..at].to_vec()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// For a fixed order, the dynamic programme finds the best partition into
    /// waves of at most K (`--waves`), and the best among the partitions with
    /// the fewest waves (`--wave-size`), as brute force over every partition.
    #[test]
    fn wave_dp_is_optimal_for_a_fixed_order(seed in any::<u64>(), k in 1usize..5) {
        let c = case(seed, 9);
        let m = c.order.len();
        for objective in [Objective::Stretch, Objective::Cutwidth] {
            let all: Vec<(usize, f64)> = compositions(m, k)
                .iter()
                .map(|sizes| {
                    let w = split(&c.order, sizes);
                    (w.len(), waves::evaluate(&c.problem, &c.time, &w, objective).unwrap().value)
                })
                .collect();
            let best = all.iter().map(|a| a.1).fold(f64::INFINITY, f64::min);
            let fewest = all.iter().map(|a| a.0).min().unwrap();
            let best_fewest = all
                .iter()
                .filter(|a| a.0 == fewest)
                .map(|a| a.1)
                .fold(f64::INFINITY, f64::min);

            let plan = waves::partition(&c.problem, &c.time, &c.order, Waves::AtMost(k), objective)
                .unwrap();
            prop_assert_eq!(&plan.order, &c.order);
            prop_assert!(plan.waves.iter().all(|w| !w.is_empty() && w.len() <= k));
            let again = waves::evaluate(&c.problem, &c.time, &plan.waves, objective).unwrap();
            prop_assert_eq!(again.value, plan.value);
            prop_assert_eq!(plan.value, best, "{:?}", objective);

            let plan = waves::partition(&c.problem, &c.time, &c.order, Waves::Fill(k), objective)
                .unwrap();
            prop_assert!(plan.waves.iter().all(|w| !w.is_empty() && w.len() <= k));
            prop_assert_eq!(plan.waves.len(), fewest);
            prop_assert_eq!(plan.waves.len(), m.div_ceil(k));
            prop_assert_eq!(plan.value, best_fewest);
        }
    }

    /// Waves of one VM give the plain objectives, and the per-wave split
    /// traffic is the cut profile before each move.
    #[test]
    fn waves_of_one_are_the_plain_objectives(seed in any::<u64>()) {
        let c = case(seed, 12);
        for mode in [Waves::AtMost(1), Waves::Fill(1), Waves::Sequential] {
            let s = waves::partition(&c.problem, &c.time, &c.order, mode, Objective::Stretch).unwrap();
            prop_assert_eq!(s.value, stretch::stretch_of(&c.problem, &c.order).unwrap());
            let w = waves::partition(&c.problem, &c.time, &c.order, mode, Objective::Cutwidth).unwrap();
            prop_assert_eq!(w.value, cutwidth::cutwidth_of(&c.problem, &c.order).unwrap());
            let profile = c.problem.cut_profile(&c.order).unwrap();
            prop_assert_eq!(&w.split[..], &profile[..profile.len() - 1]);
            prop_assert_eq!(s.waves.len(), c.order.len());
        }
    }
}

/// Under the positions model a wave takes one step, under durations the sum
/// of its moves; every VM of a wave completes with it.
#[test]
fn wave_times_follow_the_time_model() {
    let g = Graph::from_edges(3, &[(0, 1), (1, 2)]);
    let anchors = vec![Anchor::Moves; 3];
    let waves = vec![vec![0, 1], vec![2]];
    let p = Problem::new(&g, &anchors, &TimeModel::Positions).unwrap();
    let plan = waves::evaluate(&p, &TimeModel::Positions, &waves, Objective::Stretch).unwrap();
    assert_eq!(plan.ends, vec![1.0, 2.0]);
    assert_eq!(plan.value, 1.0);
    let time = TimeModel::Durations(vec![2.0, 3.0, 4.0]);
    let p = Problem::new(&g, &anchors, &time).unwrap();
    let plan = waves::evaluate(&p, &time, &waves, Objective::Stretch).unwrap();
    assert_eq!(plan.ends, vec![5.0, 9.0]);
    // Edge 1-2 is split while wave 2 runs (4 s); edge 0-1 never.
    assert_eq!(plan.value, 4.0);
    assert_eq!(plan.split, vec![0.0, 1.0]);
}

/// Grouping a heavy pair into one wave removes its stretch.
#[test]
fn heavy_pairs_share_a_wave() {
    let mut b = GraphBuilder::new();
    for v in 0..4 {
        b.add_vertex(&v.to_string());
    }
    b.add_edge("0", "1", 100.0).unwrap();
    b.add_edge("1", "2", 1.0).unwrap();
    b.add_edge("2", "3", 100.0).unwrap();
    let g = b.build();
    let p = Problem::plain(&g);
    let plan = waves::partition(
        &p,
        &TimeModel::Positions,
        &[0, 1, 2, 3],
        Waves::AtMost(3),
        Objective::Stretch,
    )
    .unwrap();
    assert_eq!(plan.waves, vec![vec![0, 1], vec![2, 3]]);
    assert_eq!(plan.value, 1.0);
}
