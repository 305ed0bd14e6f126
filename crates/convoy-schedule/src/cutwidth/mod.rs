//! Weighted cutwidth: the peak, over the moments between moves, of the WAN
//! load of split conversations (the total weight of edges with exactly one end
//! moved; cloud peers count as moved, staying VMs as never moving).
//!
//! Durations do not matter here (only the order does), and the load of
//! mover–stay edges grows as their movers leave: the permanent cut is part of
//! the last moment's load and is also reported on its own.
//!
//! [`solve`] combines:
//!
//! 1. the exact subset dynamic programme when at most [`SMALL`] VMs move;
//! 2. otherwise, per connected component, the same programme for small
//!    components and a multilevel heuristic for the others (heavy-edge
//!    coarsening, exact order of the coarsest graph, insertion local search
//!    on a discriminating objective at every level);
//! 3. components laid end to end. Each component, run on its own, lifts the
//!    load from its cloud weight to a peak and leaves it at its stay weight;
//!    sequencing such jobs to minimise the peak of the running sum is solved
//!    by the rule of Abdel-Wahab & Kameda ("Scheduling to minimize maximum
//!    cumulative cost subject to series-parallel precedence constraints",
//!    Oper. Res. 1978): jobs that lower the load first, by increasing rise,
//!    then the others by decreasing (rise − net change). A local search over
//!    the whole order may then interleave them;
//! 4. lower bounds ([`lower_bound`]), raised to the exact value of every
//!    component solved exactly (restricting an order to a component never
//!    raises a cut).

mod bounds;
mod search;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::arrangement::{self, Arr, ArrangementError, Combine, Options, Problem, Solution};
use crate::budget::{Budget, Control};

/// Movers up to which [`solve`] runs the exact programme on the whole problem.
pub const SMALL: usize = 20;

/// The cutwidth of `order` (graph vertices: every mover exactly once).
pub fn cutwidth_of(problem: &Problem, order: &[usize]) -> Result<f64, ArrangementError> {
    Ok(problem.arr.cutwidth(&problem.to_local(order)?))
}

/// A lower bound on the cutwidth of every order: the first and last moments
/// and the weighted degree bound; see the module `bounds`.
pub fn lower_bound(problem: &Problem) -> f64 {
    bounds::lower_bound(&problem.arr)
}

/// The optimal order by dynamic programming over subsets, or `None` when more
/// than [`arrangement::EXACT_MAX`] VMs move or the budget runs out.
pub fn exact(problem: &Problem, budget: &mut Budget<'_>) -> Option<(Vec<usize>, f64)> {
    let order = arrangement::subset_dp(&problem.arr, Combine::Max, budget)?;
    let value = problem.arr.cutwidth(&order);
    Some((problem.to_graph(&order), value))
}

/// The better of two starts, each polished by the cutwidth local search: the
/// multilevel scheme run on the cutwidth itself, and the stretch heuristic's
/// order (a good linear arrangement spreads edges evenly, which also keeps
/// cuts low, and its smoother objective guides the coarse levels better).
fn heuristic(arr: &Arr, rng: &mut ChaCha8Rng, budget: &mut Budget<'_>) -> Vec<usize> {
    let mut child = budget.child(budget.remaining() / 2);
    let direct = arrangement::multilevel(arr, Combine::Max, rng, &mut child, &mut search::improve);
    budget.absorb(child);
    let mut child = budget.child(budget.remaining() / 2);
    let mut via = crate::stretch::heuristic(arr, rng, &mut child);
    budget.absorb(child);
    search::improve(arr, &mut via, rng, budget);
    if arr.cutwidth(&via) < arr.cutwidth(&direct) {
        via
    } else {
        direct
    }
}

/// One component's result.
struct Part {
    vertices: Vec<usize>,
    order: Vec<usize>,
    lower: f64,
    solver: &'static str,
    /// Load before the component starts (its cloud weight), its peak, and after it ends (stay weight).
    start: f64,
    peak: f64,
    end: f64,
}

/// Finds a migration order with a low peak WAN load, proving optimality when it can.
pub fn solve(problem: &Problem, options: &Options, control: &dyn Control) -> Solution {
    let arr = &problem.arr;
    let m = arr.n();
    let mut budget = Budget::new(options.effort, control);
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let finish = |order: Vec<usize>, lower: f64, solver: &str, budget: &Budget<'_>| {
        let value = arr.cutwidth(&order);
        problem.solution(order, value, lower, solver, budget.stopped(), control)
    };

    if m <= SMALL {
        let mut child = budget.child(budget.remaining());
        let found = arrangement::subset_dp(arr, Combine::Max, &mut child);
        budget.absorb(child);
        if let Some(order) = found {
            let value = arr.cutwidth(&order);
            return finish(order, value, "exact-dp", &budget);
        }
    }

    let anchored = arr.cloud.iter().chain(&arr.stay).any(|&c| c > 0.0);
    let mut parts = arrangement::per_component(
        arr,
        Combine::Max,
        &mut budget,
        anchored,
        |comp, sub, exact, child| {
            let (order, lower, solver) = match exact {
                Some(order) => (order.clone(), sub.cutwidth(&order), "exact-dp"),
                None => (
                    heuristic(sub, &mut rng, child),
                    bounds::lower_bound(sub),
                    "multilevel+local-search",
                ),
            };
            let profile = sub.profile(&order, true);
            Part {
                start: profile[0],
                end: profile[profile.len() - 1],
                peak: profile.iter().cloned().fold(0.0, f64::max),
                vertices: comp,
                order,
                lower,
                solver,
            }
        },
    );

    // Abdel-Wahab & Kameda: load-lowering blocks first by increasing rise,
    // then the others by decreasing (rise − net change).
    let rise = |p: &Part| p.peak - p.start;
    let net = |p: &Part| p.end - p.start;
    parts.sort_by(|a, b| {
        let (la, lb) = (net(a) < 0.0, net(b) < 0.0);
        lb.cmp(&la).then_with(|| {
            if la {
                rise(a).total_cmp(&rise(b))
            } else {
                (rise(b) - net(b)).total_cmp(&(rise(a) - net(a)))
            }
        })
    });
    let mut order: Vec<usize> = parts
        .iter()
        .flat_map(|p| p.order.iter().map(|&v| p.vertices[v]))
        .collect();
    if anchored && parts.len() > 1 {
        let mut child = budget.child(budget.remaining());
        search::improve(arr, &mut order, &mut rng, &mut child);
        budget.absorb(child);
    }
    let widest = parts.iter().map(|p| p.lower).fold(0.0, f64::max);
    let lower = bounds::round_up(arr, widest.max(bounds::lower_bound(arr)));
    let solver = parts
        .iter()
        .max_by_key(|p| p.vertices.len())
        .map_or("trivial", |p| p.solver);
    finish(order, lower, solver, &budget)
}
