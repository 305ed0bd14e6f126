//! Traffic-weighted stretch: Σ over edges of w(u,v)·|t(u) − t(v)|, the
//! application bytes that cross the WAN while the fleet is split (a weighted
//! minimum linear arrangement when `t` is the position).
//!
//! See [`crate::arrangement`] for the time model and pinned endpoints: edges to
//! cloud peers cost `w·t(v)`, edges to staying VMs `w·(T − t(v))` (crossed
//! from the mover's switchover to the end `T` of the last move; from then on
//! they are the permanent cut, reported beside the result as a rate).
//!
//! [`solve`] combines:
//!
//! 1. the exact subset dynamic programme when at most [`SMALL`] VMs move;
//! 2. otherwise, per connected component, the same programme for small
//!    components and a multilevel heuristic for the others (heavy-edge
//!    coarsening, spectral or exact order of the coarsest graph, insertion
//!    local search at every level: Safro, Ron & Brandt 2006; Petit 2003);
//! 3. components laid end to end by Smith's rule on (total duration, cloud
//!    weight less stay weight): with no cloud peers or staying VMs any order
//!    of whole components is optimal
//!    for the sum, and with them it is the best sequence of blocks; a last
//!    local search over the whole order may then interleave them;
//! 4. lower bounds ([`lower_bound`]), raised to the exact value of every
//!    component solved exactly (the stretch of the whole is at least the sum
//!    of its components' optima), and on the others to the spreading-metric
//!    LP bound ([`lp_bound`]) as far as `Options::bound_effort` pays for it.

mod bounds;
mod ipm;
mod lp;
mod normal;
mod ruin;
mod search;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::arrangement::{self, Arr, ArrangementError, Combine, Options, Problem, Solution};
use crate::budget::{Budget, Control, StopReason};

/// Movers up to which [`solve`] runs the exact programme on the whole problem.
pub const SMALL: usize = 20;

/// The stretch of `order` (graph vertices: every mover exactly once).
pub fn stretch_of(problem: &Problem, order: &[usize]) -> Result<f64, ArrangementError> {
    Ok(problem.arr.stretch(&problem.to_local(order)?))
}

/// A lower bound on the stretch of every order: star (degree) bound plus
/// Smith's bounds on the cloud and stay edges; see the module `bounds`.
pub fn lower_bound(problem: &Problem) -> f64 {
    bounds::lower_bound(&problem.arr)
}

/// The spreading-metric LP bound (see the module `lp`) on the whole
/// problem, with at most `budget`'s work; 0 when the budget does not pay for
/// one round, the problem has more than 4000 conversations, or one round
/// would need more than about 2 GiB of memory (beyond roughly 500 VMs). Any
/// value returned is a valid lower bound, however early the budget stops it.
pub fn lp_bound(problem: &Problem, budget: &mut Budget<'_>) -> f64 {
    bounds::round_up(&problem.arr, lp::spreading_bound(&problem.arr, &[], budget))
}

/// [`lower_bound`] with every duration set to one step (used by the cutwidth bound).
pub(crate) fn lower_bound_positions(arr: &Arr) -> f64 {
    bounds::lower_bound_positions(arr)
}

/// The optimal order by dynamic programming over subsets, or `None` when more
/// than [`arrangement::EXACT_MAX`] VMs move or the budget runs out.
pub fn exact(problem: &Problem, budget: &mut Budget<'_>) -> Option<(Vec<usize>, f64)> {
    let order = arrangement::subset_dp(&problem.arr, Combine::Sum, budget)?;
    let value = problem.arr.stretch(&order);
    Some((problem.to_graph(&order), value))
}

/// Independent starts of the heuristic that share the budget equally; a
/// budget larger than they use pays for more starts.
const RUNS: usize = 4;

/// Most starts however large the budget (an unlimited one would otherwise
/// never end).
const MAX_STARTS: usize = 64;

/// Sweeps of exact windows the heuristic keeps budget for (they usually
/// settle in two or three).
const POLISH_SWEEPS: u64 = 4;

/// The best of [`RUNS`] starts or more on a connected problem (local indices), each
/// polished by the insertion local search and then by ruin and recreate
/// with what the search left of the start's share ([`ruin`]): the
/// multilevel scheme with different seeds, and once the Fiedler-vector
/// order of the whole problem (Juvan & Mohar 1992); the best then has
/// every window of 16 consecutive VMs rearranged exactly
/// ([`search::polish_windows`]).
pub(crate) fn heuristic(arr: &Arr, rng: &mut ChaCha8Rng, budget: &mut Budget<'_>) -> Vec<usize> {
    // Kept for the exact windows on the best start: a few sweeps, at most a
    // quarter of the budget.
    let polish = (POLISH_SWEEPS * search::polish_sweep_cost(arr.n(), search::POLISH_WINDOW))
        .min(budget.remaining() / 4);
    let mut best: Option<(f64, Vec<usize>)> = None;
    // The most one start has used: a start's local search ends when it
    // stops finding improvements, whatever its share, so a larger budget
    // pays for more starts rather than longer ones.
    let mut longest: u64 = 0;
    for run in 0.. {
        if budget.is_stopped() && best.is_some() {
            break;
        }
        let left = budget.remaining().saturating_sub(polish);
        let share = if run < RUNS {
            left / (RUNS - run) as u64
        } else if run < MAX_STARTS && left >= longest.max(1) {
            left
        } else {
            break;
        };
        let mut child = budget.child(share);
        let mut order = if run == 1 {
            let mut order = arrangement::spectral_order(arr, 500, rng, &mut child);
            search::improve(arr, &mut order, rng, &mut child);
            order
        } else {
            arrangement::multilevel(arr, Combine::Sum, rng, &mut child, &mut search::improve)
        };
        // What the start's local search left of its share goes to ruin and
        // recreate (it stops by itself when it no longer finds better), on
        // a stream of its own so that the starts stay those of the seed.
        let mut ruin_rng = rng.clone();
        ruin_rng.set_stream(1 + run as u64);
        ruin::ruin_and_recreate(arr, &mut order, &mut ruin_rng, &mut child);
        longest = longest.max(child.used());
        budget.absorb(child);
        let value = arr.stretch(&order);
        if !matches!(&best, Some(b) if b.0 <= value) {
            best = Some((value, order));
        }
    }
    let mut order = best.map(|b| b.1).unwrap_or_default();
    let mut child = budget.child(budget.remaining());
    search::polish_windows(arr, &mut order, search::POLISH_WINDOW, &mut child);
    budget.absorb(child);
    order
}

/// One component's result.
struct Part {
    vertices: Vec<usize>,
    order: Vec<usize>,
    lower: f64,
    solver: &'static str,
}

/// Finds a low-stretch migration order, proving optimality when it can.
pub fn solve(problem: &Problem, options: &Options, control: &dyn Control) -> Solution {
    let arr = &problem.arr;
    let m = arr.n();
    let mut budget = Budget::new(options.effort, control);
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let finish = |order: Vec<usize>, lower: f64, solver: &str, budget: &Budget<'_>| {
        let value = arr.stretch(&order);
        problem.solution(order, value, lower, solver, budget.stopped(), control)
    };

    if m <= SMALL {
        let mut child = budget.child(budget.remaining());
        let found = arrangement::subset_dp(arr, Combine::Sum, &mut child);
        budget.absorb(child);
        if let Some(order) = found {
            let value = arr.stretch(&order);
            return finish(order, value, "exact-dp", &budget);
        }
    }

    // Cloud peers and staying VMs make the place of each component matter.
    let anchored = (0..m).any(|v| arr.lin(v) != 0.0);
    // The LP bound's own budget, shared by the components not solved exactly
    // in proportion to their size (a component solved exactly leaves its
    // share to the others).
    let mut bound_budget = Budget::new(options.bound_effort, control);
    let mut bound_pending = m as u64;
    // Why a component's LP ended early, if one did (an interruption
    // outranks a lack of effort).
    let mut bound_stopped: Option<StopReason> = None;
    // With cloud peers or staying VMs a fifth of the effort is kept for
    // interleaving the components around their edges.
    let parts = arrangement::per_component(
        arr,
        Combine::Sum,
        &mut budget,
        anchored,
        |comp, sub, exact, child| {
            let bound_share = (bound_budget.remaining() as u128 * comp.len() as u128
                / bound_pending.max(1) as u128) as u64;
            bound_pending -= comp.len() as u64;
            match exact {
                Some(order) => Part {
                    lower: sub.stretch(&order),
                    order,
                    vertices: comp,
                    solver: "exact-dp",
                },
                None => {
                    let order = heuristic(sub, &mut rng, child);
                    let mut lp_budget = bound_budget.child(bound_share);
                    let lp = lp::spreading_bound(sub, &order, &mut lp_budget);
                    if bound_stopped != Some(StopReason::Interrupted) {
                        bound_stopped = lp_budget.stopped().or(bound_stopped);
                    }
                    bound_budget.absorb(lp_budget);
                    let lower = bounds::lower_bound(sub).max(bounds::round_up(sub, lp));
                    Part {
                        lower,
                        order,
                        vertices: comp,
                        solver: "multilevel+local-search",
                    }
                }
            }
        },
    );

    // Smith's rule on blocks: a block of total duration p delays every
    // later block's cloud edges by p and keeps every earlier block's edges
    // to staying VMs crossed p longer: with W its cloud weight less its
    // stay weight, sort by W/p descending (a block that takes no time goes
    // first if W > 0, last if W < 0). Sorting by a key keeps the order
    // total whatever the signs.
    let ratio = |p: &Part| {
        let dur: f64 = p.vertices.iter().map(|&v| arr.dur[v]).sum();
        let lin: f64 = p.vertices.iter().map(|&v| arr.lin(v)).sum();
        if dur > 0.0 {
            lin / dur
        } else if lin > 0.0 {
            f64::INFINITY
        } else if lin < 0.0 {
            f64::NEG_INFINITY
        } else {
            0.0
        }
    };
    let mut keyed: Vec<(f64, Part)> = parts.into_iter().map(|p| (ratio(&p), p)).collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
    let parts: Vec<Part> = keyed.into_iter().map(|k| k.1).collect();
    let mut order: Vec<usize> = parts
        .iter()
        .flat_map(|p| p.order.iter().map(|&v| p.vertices[v]))
        .collect();
    if anchored && parts.len() > 1 {
        let mut child = budget.child(budget.remaining());
        search::improve(arr, &mut order, &mut rng, &mut child);
        budget.absorb(child);
    }
    let summed: f64 = parts.iter().map(|p| p.lower).sum();
    let lower = bounds::round_up(arr, summed.max(bounds::lower_bound(arr)));
    let solver = parts
        .iter()
        .max_by_key(|p| p.vertices.len())
        .map_or("trivial", |p| p.solver);
    let mut solution = finish(order, lower, solver, &budget);
    if !solution.optimal() {
        solution.bound_stopped = bound_stopped;
    }
    solution
}
