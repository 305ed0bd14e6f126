//! Minimum bandwidth: number the vertices so that the longest edge, max over
//! edges (u,v) of |f(u) − f(v)|, is as short as possible.
//!
//! The problem is NP-complete in general (Papadimitriou 1976) and polynomial on
//! interval graphs. [`solve`] combines, per connected component:
//!
//! 1. lower bounds ([`bounds`]);
//! 2. an exact polynomial algorithm when the component is an interval graph ([`interval`]);
//! 3. Cuthill–McKee-family starts and local-search improvement ([`heuristic`]);
//! 4. an anytime branch and bound on the decision problems k = LB, LB+1, …
//!    ([`exact`]), which raises the lower bound each time it refutes a k and
//!    proves optimality when it finds a layout of width k.
//!
//! Components are laid end to end; the bandwidth of the whole is the largest
//! of theirs, so the result is optimal exactly when it meets the largest lower bound.

pub mod bounds;
pub mod brute;
pub mod exact;
pub mod heuristic;
pub mod interval;

use convoy_model::Graph;

use crate::budget::{Budget, Control, Progress, StopReason};

/// The bandwidth of `order` on `graph`: max over edges of the distance between the ends' positions.
///
/// Panics if `order` is not a permutation of the vertices.
pub fn bandwidth_of(graph: &Graph, order: &[usize]) -> usize {
    assert_eq!(order.len(), graph.n(), "order must number every vertex");
    let pos = crate::positions(order);
    graph
        .edges()
        .map(|(u, v, _)| pos[u].abs_diff(pos[v]))
        .max()
        .unwrap_or(0)
}

/// Settings of [`solve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Seed of every randomised step.
    pub seed: u64,
    /// Work budget in search units (see [`Budget`]); the same effort gives the same result.
    pub effort: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 0,
            effort: DEFAULT_EFFORT,
        }
    }
}

/// The default work budget: enough to prove most small graphs optimal and to
/// run the improvement phase to convergence on a few hundred vertices.
pub const DEFAULT_EFFORT: u64 = 200_000_000;

/// A numbering and what is proven about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solution {
    /// Vertices, first position first.
    pub order: Vec<usize>,
    /// Bandwidth of `order`.
    pub bandwidth: usize,
    /// Proven lower bound on the optimum.
    pub lower_bound: usize,
    /// The solver that produced the widest component's layout.
    pub solver: String,
    /// Set when the search ended before proving optimality because it was
    /// interrupted or ran out of effort.
    pub stopped: Option<StopReason>,
}

impl Solution {
    /// Whether `bandwidth` is proven optimal.
    pub fn optimal(&self) -> bool {
        self.bandwidth == self.lower_bound
    }
}

/// One component's state while the whole graph is being solved.
struct Part {
    vertices: Vec<usize>,
    graph: Graph,
    order: Vec<usize>,
    upper: usize,
    lower: usize,
    solver: String,
    /// Searched once already: a second pass would repeat the same deterministic search.
    searched: bool,
}

/// Finds a low-bandwidth numbering of `graph`, proving optimality when it can.
pub fn solve(graph: &Graph, options: &Options, control: &dyn Control) -> Solution {
    let mut budget = Budget::new(options.effort, control);
    let mut parts: Vec<Part> = graph
        .components()
        .into_iter()
        .map(|vertices| {
            let sub = graph.induced(&vertices);
            let (order, solver) = match interval::solve_interval(&sub) {
                Some(order) => (order, "interval"),
                None => (heuristic::initial(&sub), "cuthill-mckee"),
            };
            let upper = bandwidth_of(&sub, &order);
            // An interval layout is optimal by construction.
            let lower = if solver == "interval" {
                upper
            } else {
                bounds::lower_bound(&sub)
            };
            Part {
                vertices,
                graph: sub,
                order,
                upper,
                lower,
                solver: solver.to_string(),
                searched: false,
            }
        })
        .collect();

    let global_lower = |parts: &[Part]| parts.iter().map(|p| p.lower).max().unwrap_or(0);
    let report = |parts: &[Part], phase: &str| {
        control.progress(&Progress {
            upper: parts.iter().map(|p| p.upper).max().unwrap_or(0) as u64,
            lower: global_lower(parts) as u64,
            phase: phase.to_string(),
        });
    };
    report(&parts, "start");

    // Only components wider than the global lower bound can change the answer:
    // work on them, widest first, each with a share of the effort left that is
    // proportional to its size.
    while !budget.is_stopped() {
        let floor = global_lower(&parts);
        let open = |p: &Part| !p.searched && p.upper > floor.max(p.lower);
        let Some(i) = (0..parts.len())
            .filter(|&i| open(&parts[i]))
            .max_by_key(|&i| (parts[i].upper, std::cmp::Reverse(i)))
        else {
            break;
        };
        let pending: u64 = parts
            .iter()
            .filter(|p| open(p))
            .map(|p| p.graph.n() as u64)
            .sum();
        let share = (budget.remaining() as u128 * parts[i].graph.n() as u128
            / pending.max(1) as u128) as u64;
        let mut child = budget.child(share.max(1));
        let part = &mut parts[i];
        let result = solve_connected(
            &part.graph,
            &part.order,
            part.lower,
            floor,
            options.seed,
            &mut child,
        );
        budget.absorb(child);
        part.searched = true;
        if result.upper < part.upper {
            part.order = result.order;
            part.upper = result.upper;
            part.solver = result.solver;
        }
        part.lower = part.lower.max(result.lower);
        report(&parts, "search");
    }

    let lower_bound = global_lower(&parts);
    let bandwidth = parts.iter().map(|p| p.upper).max().unwrap_or(0);
    let solver = parts
        .iter()
        .max_by_key(|p| p.upper)
        .map_or_else(|| "trivial".to_string(), |p| p.solver.clone());
    let mut order = Vec::with_capacity(graph.n());
    for p in &parts {
        order.extend(p.order.iter().map(|&v| p.vertices[v]));
    }
    Solution {
        order,
        bandwidth,
        lower_bound,
        solver,
        stopped: if bandwidth > lower_bound {
            budget.stopped()
        } else {
            None
        },
    }
}

/// What the search of one component found.
struct PartResult {
    order: Vec<usize>,
    upper: usize,
    lower: usize,
    solver: String,
}

/// Improves one connected component's layout within `budget`.
///
/// `global_lower` is the lower bound of the whole graph: there is no point in
/// going below it.
fn solve_connected(
    graph: &Graph,
    start: &[usize],
    lower: usize,
    global_lower: usize,
    seed: u64,
    budget: &mut Budget<'_>,
) -> PartResult {
    let target = lower.max(global_lower);
    let mut order = start.to_vec();
    let mut upper = bandwidth_of(graph, &order);
    let mut solver = "cuthill-mckee".to_string();
    let mut lower = lower;

    let mut improve_budget = budget.child(budget.remaining() / 3);
    let improved = heuristic::improve(graph, &order, target, seed, &mut improve_budget);
    budget.absorb(improve_budget);
    let width = bandwidth_of(graph, &improved);
    if width < upper {
        order = improved;
        upper = width;
        solver = "local-search".into();
    }

    let mut k = lower;
    while k < upper && !budget.is_stopped() {
        match exact::decide(graph, k, budget) {
            exact::Decision::Feasible(found) => {
                debug_assert!(bandwidth_of(graph, &found) <= k);
                order = found;
                upper = bandwidth_of(graph, &order);
                lower = upper;
                solver = "branch-and-bound".into();
            }
            exact::Decision::Infeasible => {
                lower = k + 1;
                k += 1;
            }
            exact::Decision::Unknown => break,
        }
        if upper <= global_lower {
            break;
        }
    }
    PartResult {
        order,
        upper,
        lower,
        solver,
    }
}
