//! Minimum bandwidth: number the vertices so that the longest edge, max over
//! edges (u,v) of |f(u) − f(v)|, is as short as possible.
//!
//! The problem is NP-complete in general (Papadimitriou 1976) and polynomial on
//! interval graphs. [`solve`] combines, per connected component:
//!
//! 1. lower bounds ([`bounds`]);
//! 2. a polynomial layout when the component is an interval graph
//!    ([`interval`]; exact in all our tests, proven optimal by the bounds or
//!    the branch and bound below);
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
            // The interval layout is exact in every test we have (brute force,
            // branch and bound), but its greedy has no written proof yet: it is
            // the upper bound, and `optimal` still needs a proven lower bound
            // (or the branch and bound refuting one less).
            let lower = bounds::lower_bound(&sub);
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
        let others_upper = parts
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, p)| p.upper)
            .max()
            .unwrap_or(0);
        let part = &mut parts[i];
        let result = solve_connected(
            &part.graph,
            &part.order,
            part.lower,
            Whole {
                floor,
                others_upper,
            },
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

/// What the rest of the graph contributes while one component is searched.
#[derive(Debug, Clone, Copy)]
struct Whole {
    /// Lower bound of the whole graph: no point in going below it.
    floor: usize,
    /// Widest layout among the other components, for progress reports.
    others_upper: usize,
}

/// First-round work caps, per vertex, of the two phases of [`solve_connected`];
/// each round doubles them.
///
/// The exact phase gets four times the heuristic's share: on graphs of a few
/// hundred vertices it is the phase that settles the question (measured on
/// the Harwell–Boeing graphs with n ≤ 200 with `examples/hb_bandwidth.rs`),
/// and it resumes where the last round stopped (an [`exact::Decider`] per
/// width). The branch and bound runs about 5·10⁷ units a second in a release
/// build.
const HEURISTIC_UNITS_PER_VERTEX: u64 = 20_000;
const EXACT_UNITS_PER_VERTEX: u64 = 80_000;
/// Above this size the branch and bound rarely closes a gap of more than one,
/// so while the gap is wider it only gets a sixteenth of its usual share and
/// the heuristic the bulk of the work.
const EXACT_LONG_SHOT_N: usize = 300;
/// Below this size the branch and bound usually settles the question before a
/// metaheuristic has warmed up, so it goes first.
const EXACT_FIRST_N: usize = 80;
/// Rounds of doubling: 2⁴⁰ times the first caps is beyond any real budget.
const MAX_ROUNDS: u32 = 40;

/// Improves one connected component's layout within `budget`: rounds of
/// local search and of branch and bound on k = lower bound, lower bound + 1, …,
/// each round with twice the effort of the last, until the layout meets the
/// lower bound or the budget stops the search.
///
/// Doubling rounds make the split independent of the total effort (which may
/// be unbounded when a wall clock stops the search): the heuristic gets about
/// a fifth of the work spent and the exact phase the rest, whatever the total,
/// until one of them settles the component. Small components start
/// with the exact phase; large ones with the heuristic. Each k the branch and
/// bound refutes raises the lower bound; a layout it finds is optimal.
fn solve_connected(
    graph: &Graph,
    start: &[usize],
    lower: usize,
    whole: Whole,
    seed: u64,
    budget: &mut Budget<'_>,
) -> PartResult {
    let n = graph.n();
    let mut order = start.to_vec();
    let mut upper = bandwidth_of(graph, &order);
    let mut solver = "cuthill-mckee".to_string();
    let mut lower = lower;
    let control = budget.control();
    let report = |upper: usize, lower: usize, phase: &str| {
        control.progress(&Progress {
            upper: upper.max(whole.others_upper) as u64,
            lower: lower.max(whole.floor) as u64,
            phase: phase.to_string(),
        });
    };
    let exact_possible = n <= exact::EXACT_MAX_N;
    let n64 = n as u64;
    let mut heuristic_cap = HEURISTIC_UNITS_PER_VERTEX.saturating_mul(n64);
    let mut exact_cap = EXACT_UNITS_PER_VERTEX.saturating_mul(n64).max(1_000_000);
    let long_shot = |upper: usize, lower: usize| n > EXACT_LONG_SHOT_N && upper > lower + 1;

    let mut decider: Option<exact::Decider<'_>> = None;
    for round in 0..MAX_ROUNDS {
        if budget.is_stopped() || upper <= lower.max(whole.floor) {
            break;
        }
        let exact_first = round == 0 && exact_possible && n <= EXACT_FIRST_N;
        if !exact_first {
            let mut child = budget.child(heuristic_cap);
            let improved = heuristic::improve(
                graph,
                &order,
                lower.max(whole.floor),
                seed.wrapping_add(round as u64),
                &mut child,
            );
            budget.absorb(child);
            if crate::is_permutation(&improved, n) {
                let width = bandwidth_of(graph, &improved);
                if width < upper {
                    order = improved;
                    upper = width;
                    solver = "local-search".into();
                    report(upper, lower, "local search");
                }
            }
            if budget.is_stopped() || upper <= lower.max(whole.floor) {
                break;
            }
        }
        if exact_possible {
            let cap = if long_shot(upper, lower.max(whole.floor)) {
                exact_cap / 16
            } else {
                exact_cap
            };
            let mut child = budget.child(cap.max(1));
            while lower < upper && !child.is_stopped() {
                report(upper, lower, &format!("branch and bound k={lower}"));
                // Resume the search for this width where the last round left it.
                if !matches!(&decider, Some(d) if d.k() == lower) {
                    decider = Some(exact::Decider::new(graph, lower));
                }
                let Some(d) = decider.as_mut() else { break };
                match d.decide(&mut child) {
                    exact::Decision::Feasible(found) => {
                        let width = bandwidth_of(graph, &found);
                        debug_assert!(width <= lower);
                        if width < upper {
                            order = found;
                            upper = width;
                            solver = "branch-and-bound".into();
                        }
                        // A layout of width ≤ lower, and lower is a bound: optimal.
                        lower = upper;
                    }
                    exact::Decision::Infeasible => lower += 1,
                    exact::Decision::Unknown => break,
                }
                report(upper, lower, "branch and bound");
                if upper <= whole.floor {
                    break;
                }
            }
            budget.absorb(child);
        }
        heuristic_cap = heuristic_cap.saturating_mul(2);
        exact_cap = exact_cap.saturating_mul(2);
    }
    PartResult {
        order,
        upper,
        lower,
        solver,
    }
}
