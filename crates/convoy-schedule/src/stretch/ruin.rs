//! Ruin and recreate for the stretch: take a few VMs out of the order, put
//! each back where it costs least, repair with insertions (and exact
//! windows when the result comes close), keep it if it is no worse.
//!
//! The principle is that of Schrimpf, Schneider, Stamm-Wilbrandt & Dueck
//! ("Record breaking optimization results using the ruin and recreate
//! principle", J. Comput. Phys. 159(2), 2000): a ruin far larger than a
//! local move, rebuilt greedily, leaves the basin that insertions and
//! annealing stay in. Each start of the heuristic hands it what its own
//! local search left of its share. On the 279-VM cluster the best of 50
//! annealed starts (`--effort 20000000000`, 1 377 640 211) had survived
//! exact windows of 20, every block move of up to 60 VMs anywhere
//! (reversed or not) and the exact reassignment of any 20 VMs among their
//! own places; with ruin and recreate the same effort gives 1 377 395 135
//! in 47 s instead of 64, and at `--effort 2000000000` the median of eight
//! seeds goes from 1.37876·10⁹ to 1.37796·10⁹. On the 98-VM cluster with
//! its durations over 1 Gbit/s the default plan goes from 45.34 to
//! 44.19 GB. (The 279-VM cluster's default plans do not change: at the
//! default effort its starts spend their whole share.)
//!
//! Three kinds of ruin, in turn: VMs drawn at random, a run of consecutive
//! VMs, and a random walk on the conversation graph (VMs that talk, which
//! a good order must move together).
//!
//! **Cheapest insertion.** Putting `v`, of duration `p`, into the gap `j`
//! of the order built so far delays everything after the gap by `p`: every
//! conversation across the gap, every cloud edge after it and every edge to
//! a staying VM before it grows by `p` (the cut `c_j`), `v`'s cloud and
//! staying edges cost `cloud·(T_j + p)` and `stay·(T − T_j)` (`T` the end
//! of the order built so far), and `v`'s own conversations cost `w·(T_j + p − t(u))`
//! to a VM `u` before the gap and `w·(t(u) − T_j)` to one after it (`T_j`
//! the time the gap starts, `t` the times before the insertion). With the
//! sums of `v`'s weights and weighted times before the gap kept as the gap
//! moves right, every gap is priced in O(1) after an O(n + m) sweep.

use rand::seq::{index, SliceRandom};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::search;
use crate::arrangement::Arr;
use crate::budget::Budget;

/// Fewest VMs one ruin takes out.
const RUIN_MIN: usize = 3;
/// Most VMs one ruin takes out (on the 279-VM cluster ruins of 3–30 found
/// the improvements; see the module doc).
const RUIN_MAX: usize = 30;
/// VMs per exact window of the repair.
const REPAIR_WINDOW: usize = 8;
/// A rebuilt order within this share of the best gets the exact windows
/// too (most rebuilt orders are far from it and not worth them).
const REPAIR_WITHIN: f64 = 2e-3;
/// Ruins in a row that find nothing better before the search ends, per
/// VM (and at least [`MIN_PATIENCE`]).
const PATIENCE_PER_VERTEX: usize = 8;
/// See [`PATIENCE_PER_VERTEX`].
const MIN_PATIENCE: usize = 500;

/// Improves `order` (local indices, a permutation) by ruin and recreate
/// within `budget`; returns how many ruins found a better order. The
/// order never gets worse.
pub(crate) fn ruin_and_recreate(
    arr: &Arr,
    order: &mut Vec<usize>,
    rng: &mut ChaCha8Rng,
    budget: &mut Budget<'_>,
) -> usize {
    let n = arr.n();
    let most = RUIN_MAX.min(n / 4);
    if most < RUIN_MIN || arr.edge_count() == 0 {
        return 0;
    }
    let patience = (PATIENCE_PER_VERTEX * n).max(MIN_PATIENCE);
    let mut value = arr.stretch(order);
    let mut scratch = Scratch::new(n);
    let mut ruined: Vec<usize> = Vec::with_capacity(most);
    let (mut idle, mut found, mut draw) = (0, 0, 0usize);
    while idle < patience && !budget.is_stopped() {
        let size = rng.gen_range(RUIN_MIN..=most);
        ruined.clear();
        match draw % 3 {
            0 => ruined.extend(index::sample(rng, n, size)),
            1 => {
                let start = rng.gen_range(0..=n - size);
                ruined.extend_from_slice(&order[start..start + size]);
            }
            _ => walk(arr, size, rng, &mut ruined),
        }
        draw += 1;
        ruined.shuffle(rng);
        let candidate = rebuild(arr, order, &ruined, &mut scratch, budget);
        let mut changed = ruined.clone();
        for &v in &ruined {
            changed.extend(arr.nbrs(v).map(|e| e.0));
        }
        let mut candidate = search::descend_from(arr, candidate, &changed, budget);
        // The layout the descent set up and the stretch below: O(n + m)
        // each. The candidate is a whole order even when the budget ran
        // out on the way, so it is still weighed.
        budget.spend(2 * (arr.edge_count() + n) as u64);
        let mut next = arr.stretch(&candidate);
        // The subset programme charges by blocks of 4 096 subsets, which
        // windows this small never reach: one sweep is charged here.
        if next < value * (1.0 + REPAIR_WITHIN)
            && budget.spend(search::polish_sweep_cost(n, REPAIR_WINDOW))
        {
            search::polish_windows(arr, &mut candidate, REPAIR_WINDOW, budget);
            next = arr.stretch(&candidate);
        }
        let tol = 1e-12 * value.abs();
        if next < value - tol {
            found += 1;
            idle = 0;
        } else {
            idle += 1;
        }
        // Sideways steps are taken too: they let the search drift along
        // plateaus of equal stretch.
        if next <= value + tol {
            *order = candidate;
            value = value.min(next);
        }
    }
    found
}

/// A random walk on the conversation graph of `size` distinct VMs (a new
/// random start when the walk is stuck among VMs it already has).
fn walk(arr: &Arr, size: usize, rng: &mut ChaCha8Rng, out: &mut Vec<usize>) {
    let n = arr.n();
    let mut v = rng.gen_range(0..n);
    out.push(v);
    let mut options = Vec::new();
    while out.len() < size {
        options.clear();
        options.extend(arr.nbrs(v).map(|e| e.0).filter(|u| !out.contains(u)));
        v = match options.choose(rng) {
            Some(&u) => u,
            None => loop {
                let u = rng.gen_range(0..n);
                if !out.contains(&u) {
                    break u;
                }
            },
        };
        out.push(v);
    }
}

/// Scratch space of the cheapest insertion, reused across ruins.
struct Scratch {
    /// Whether each VM is in the order being rebuilt.
    placed: Vec<bool>,
    /// Position of each placed VM.
    pos: Vec<usize>,
    /// Weight from the VM being inserted to the VM at each position.
    to_v: Vec<f64>,
    /// Start time of each gap.
    start: Vec<f64>,
    /// Cut at each gap (see the module doc).
    cut: Vec<f64>,
}

impl Scratch {
    fn new(n: usize) -> Self {
        Scratch {
            placed: vec![false; n],
            pos: vec![0; n],
            to_v: vec![0.0; n],
            start: vec![0.0; n + 1],
            cut: vec![0.0; n + 1],
        }
    }
}

/// `order` without `ruined`, then each of `ruined` in turn put where it
/// costs least.
fn rebuild(
    arr: &Arr,
    order: &[usize],
    ruined: &[usize],
    scratch: &mut Scratch,
    budget: &mut Budget<'_>,
) -> Vec<usize> {
    scratch.placed.iter_mut().for_each(|p| *p = true);
    for &v in ruined {
        scratch.placed[v] = false;
    }
    let mut partial: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&v| scratch.placed[v])
        .collect();
    for &v in ruined {
        let gap = cheapest_gap(arr, &partial, v, scratch).0;
        partial.insert(gap, v);
        scratch.placed[v] = true;
        // Priced as the sweep costs: the gaps and the placed VMs' edges.
        budget.spend((partial.len() + 2 * arr.edge_count()) as u64);
    }
    partial
}

/// The gap of `partial` (0 = first) where inserting `v` adds least to the
/// stretch of the placed VMs (`scratch.placed`, which must be exactly the
/// VMs of `partial`), and that least addition. Ties go to the earliest gap.
fn cheapest_gap(arr: &Arr, partial: &[usize], v: usize, scratch: &mut Scratch) -> (usize, f64) {
    let m = partial.len();
    for (i, &u) in partial.iter().enumerate() {
        scratch.pos[u] = i;
    }
    // Gap start times and cuts, sweeping left to right.
    scratch.start[0] = 0.0;
    scratch.cut[0] = partial.iter().map(|&u| arr.cloud[u]).sum();
    for (i, &u) in partial.iter().enumerate() {
        scratch.start[i + 1] = scratch.start[i] + arr.dur[u];
        let (mut before, mut after) = (0.0, 0.0);
        // `v` is not placed yet, so its own edges stay out of the cuts.
        for (x, w) in arr.nbrs(u) {
            if scratch.placed[x] {
                if scratch.pos[x] < i {
                    before += w;
                } else {
                    after += w;
                }
            }
        }
        scratch.cut[i + 1] = scratch.cut[i] + after - before - arr.lin(u);
    }
    scratch.to_v[..m].iter_mut().for_each(|w| *w = 0.0);
    let (mut total, mut total_time) = (0.0, 0.0);
    for (u, w) in arr.nbrs(v) {
        if scratch.placed[u] {
            let p = scratch.pos[u];
            scratch.to_v[p] += w;
            total += w;
            total_time += w * scratch.start[p + 1];
        }
    }
    let p = arr.dur[v];
    let end = scratch.start[m];
    let (mut left, mut left_time) = (0.0, 0.0);
    let mut best = (0, f64::INFINITY);
    for j in 0..=m {
        let t = scratch.start[j];
        let cost =
            p * scratch.cut[j] + arr.cloud[v] * (t + p) + arr.stay[v] * (end - t) + left * (t + p)
                - left_time
                + (total_time - left_time)
                - (total - left) * t;
        if cost < best.1 {
            best = (j, cost);
        }
        if j < m {
            let w = scratch.to_v[j];
            left += w;
            left_time += w * scratch.start[j + 1];
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::budget::NoControl;

    fn random_arr(n: usize, rng: &mut ChaCha8Rng, cloud: bool, unit: bool) -> Arr {
        search::tests::random_arr_with(n, rng, 0.3, cloud, if unit { 1 } else { 6 })
    }

    /// The stretch of the VMs of `partial` alone, straight from the
    /// definition (their own conversations, cloud and staying edges, times
    /// from `partial`).
    fn partial_stretch(arr: &Arr, partial: &[usize]) -> f64 {
        let mut t = vec![f64::NAN; arr.n()];
        let mut now = 0.0;
        for &v in partial {
            now += arr.dur[v];
            t[v] = now;
        }
        let inner: f64 = arr
            .edges()
            .filter(|&(a, b, _)| !t[a].is_nan() && !t[b].is_nan())
            .map(|(a, b, w)| w * (t[a] - t[b]).abs())
            .sum();
        inner
            + partial
                .iter()
                .map(|&v| arr.cloud[v] * t[v] + arr.stay[v] * (now - t[v]))
                .sum::<f64>()
    }

    #[test]
    fn the_cheapest_gap_is_priced_exactly_and_is_the_cheapest() {
        for seed in 0..40 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let n = rng.gen_range(4..14);
            let arr = random_arr(n, &mut rng, seed % 2 == 0, seed % 3 == 0);
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut rng);
            let v = order.pop().unwrap();
            let mut scratch = Scratch::new(n);
            scratch.placed.iter_mut().for_each(|p| *p = false);
            for &u in &order {
                scratch.placed[u] = true;
            }
            let (gap, cost) = cheapest_gap(&arr, &order, v, &mut scratch);
            let base = partial_stretch(&arr, &order);
            let mut least = f64::INFINITY;
            for j in 0..=order.len() {
                let mut with = order.clone();
                with.insert(j, v);
                least = least.min(partial_stretch(&arr, &with) - base);
            }
            let mut with = order.clone();
            with.insert(gap, v);
            let got = partial_stretch(&arr, &with) - base;
            let scale = base.abs().max(1.0);
            assert!(
                (got - cost).abs() <= 1e-9 * scale,
                "seed {seed}: priced {cost}, is {got}"
            );
            assert!(
                (got - least).abs() <= 1e-9 * scale,
                "seed {seed}: {got} vs least {least}"
            );
        }
    }

    #[test]
    fn ruin_and_recreate_keeps_a_permutation_never_worsens_and_is_deterministic() {
        let control = NoControl;
        for seed in 0..10 {
            let mut rng = ChaCha8Rng::seed_from_u64(300 + seed);
            let n = rng.gen_range(16..60);
            let arr = random_arr(n, &mut rng, seed % 3 == 0, seed % 2 == 0);
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut rng);
            let start = arr.stretch(&order);
            let mut runs = Vec::new();
            for _ in 0..2 {
                let mut o = order.clone();
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let mut budget = Budget::new(50_000_000, &control);
                let found = ruin_and_recreate(&arr, &mut o, &mut rng, &mut budget);
                runs.push((o, found));
            }
            assert_eq!(runs[0], runs[1], "seed {seed}");
            let (got, found) = &runs[0];
            let mut sorted = got.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "seed {seed}");
            // A random order is far from the best: it must find better.
            assert!(*found > 0, "seed {seed}");
            assert!(arr.stretch(got) < start, "seed {seed}");
        }
    }

    #[test]
    fn ruin_and_recreate_stops_with_the_budget_and_keeps_the_order_valid() {
        let control = NoControl;
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let arr = random_arr(40, &mut rng, true, false);
        let mut order: Vec<usize> = (0..40).collect();
        order.shuffle(&mut rng);
        let start = arr.stretch(&order);
        let mut budget = Budget::new(10_000, &control);
        ruin_and_recreate(&arr, &mut order, &mut rng, &mut budget);
        assert!(budget.is_stopped());
        assert!(arr.stretch(&order) <= start);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..40).collect::<Vec<_>>());
    }
}
