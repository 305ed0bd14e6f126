//! Which VMs to move: the site operator's decision (issue 4, item 5).
//!
//! Given a need — evacuate some nodes, or free at least so many vCPUs and MiB of
//! memory on a node, a set of nodes or a whole site — choose the set `S` of VMs
//! to move to the cloud so that the need is met, pinned VMs stay, and the
//! *permanent cut* (total weight of edges between the cloud side — movers plus
//! peers already in the cloud — and the private side) is as small as possible.
//!
//! This is a minimum cut with covering (knapsack) side constraints, NP-hard in
//! general (it contains min-knapsack when the graph has no edges). The solver:
//!
//! 1. greedy starts: the min-knapsack greedy (best cut increase per unit of
//!    need covered, moves that lower the cut first) and greedy graph growing
//!    (smallest cut increase first, which moves tight groups whole), plus
//!    growth from seeded random candidates;
//! 2. refinement that keeps the need satisfied: single flips, Kernighan–Lin
//!    pair swaps (B. W. Kernighan and S. Lin, *An efficient heuristic procedure
//!    for partitioning graphs*, Bell Syst. Tech. J. 49, 1970) and one-direction
//!    Fiduccia–Mattheyses passes (C. M. Fiduccia and R. M. Mattheyses, *A
//!    linear-time heuristic for improving network partitions*, DAC 1982), with
//!    seeded perturbation restarts;
//! 3. a Lagrangian lower bound: relaxing one covering constraint turns the
//!    problem into a parametric minimum s–t cut (Dinic's max flow), maximised
//!    over the multiplier;
//! 4. an exact depth-first branch and bound over the candidates, whose bound is
//!    the cut already decided, plus for each undecided VM the cheaper of its two
//!    sides toward decided ones, plus a fractional min-knapsack term (Dantzig's
//!    LP bound) for the need still uncovered. It proves optimality on small and
//!    well-structured inputs (tens to hundreds of candidates) and, when the
//!    budget runs out, still yields a valid lower bound: the least bound of the
//!    subtrees left unexplored.
//!
//! Without a limit ([`Need::max_moved`]) the least cut may move more than the
//! need asks (a tight group is cheapest moved whole); among selections of equal
//! cut, movers that are not needed are dropped.
//!
//! Everything is pure: the inventory arrives as plain numbers ([`Cluster`]), and
//! the work is counted in [`Budget`] units, so a selection is reproducible.

use std::fmt;

use convoy_model::{Graph, GraphBuilder, Inventory, SiteKind};
use rand::seq::SliceRandom;
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::{Budget, Control, StopReason};

/// Where a vertex of the graph stands before the selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An unpinned VM in the private site: it may be chosen.
    Movable,
    /// Stays in the private site whatever happens: a pinned VM, or a peer
    /// outside the inventory that lives on-premise.
    Stays,
    /// Already in the cloud (a VM on a cloud node, a cloud service): edges to it
    /// are cut while the other end stays and healed when it moves.
    InCloud,
}

/// One vertex of the graph as the selection sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// Index of the node it runs on (into [`Cluster::nodes`]), if any.
    pub node: Option<usize>,
    /// Virtual CPUs it frees when it leaves its node.
    pub vcpus: u64,
    /// Memory it frees when it leaves its node, MiB.
    pub memory_mib: u64,
    /// Whether it may move.
    pub role: Role,
}

/// A hypervisor node's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capacity {
    /// Physical CPUs offered to guests.
    pub vcpus: u64,
    /// Memory offered to guests, MiB.
    pub memory_mib: u64,
}

/// The inputs of [`select`]: the graph plus the inventory as plain numbers.
#[derive(Debug, Clone)]
pub struct Cluster<'g> {
    /// Communication graph, weights in bytes/s.
    pub graph: &'g Graph,
    /// One entry per graph vertex, by index.
    pub machines: Vec<Machine>,
    /// Node capacities, by node index (used by [`Measure::Headroom`]).
    pub nodes: Vec<Capacity>,
}

/// How an amount to free is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Measure {
    /// The VMs moved off the nodes total at least the amount ("free 32 vCPUs").
    #[default]
    Released,
    /// After the move the nodes have at least the amount unallocated: capacity
    /// minus what the VMs left on them use ("make room for a 32-vCPU guest").
    Headroom,
}

/// Free at least `vcpus` and `memory_mib` on a set of nodes, counted together
/// (a site is the set of its nodes; for "each of these nodes" give one
/// requirement per node).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FreeCapacity {
    /// Node indices.
    pub nodes: Vec<usize>,
    /// vCPUs to free.
    pub vcpus: u64,
    /// Memory to free, MiB.
    pub memory_mib: u64,
    /// Released by the movers, or headroom after the move.
    pub measure: Measure,
}

/// What the operator needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Need {
    /// Nodes to empty: every VM on them moves.
    pub evacuate: Vec<usize>,
    /// Capacity to free; all must hold.
    pub free: Vec<FreeCapacity>,
    /// Move at most this much in total (forced evacuations included), if set.
    /// Without a limit the least cut may move more than asked — a tightly knit
    /// group is cheapest moved whole — so an operator who wants to move little
    /// says how little here.
    pub max_moved: Option<Capacity>,
}

/// Options of [`select`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectOptions {
    /// Seed of the refinement's perturbations.
    pub seed: u64,
    /// Work units for the whole search (heuristic and branch and bound).
    pub effort: u64,
    /// Also consider movable VMs on nodes the need does not name, when taking
    /// them along lowers the cut ("companions"). Off by default: the operator
    /// asked for room on some nodes, not for a wider move.
    pub companions: bool,
}

impl Default for SelectOptions {
    fn default() -> Self {
        SelectOptions {
            seed: 0,
            effort: 20_000_000,
            companions: false,
        }
    }
}

/// Capacity freed toward one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Freed {
    /// vCPUs moved off the requirement's nodes.
    pub vcpus: u64,
    /// Memory moved off the requirement's nodes, MiB.
    pub memory_mib: u64,
    /// Unallocated vCPUs on those nodes after the move (capacity − what stays; may be negative when overcommitted).
    pub headroom_vcpus: i64,
    /// Unallocated memory on those nodes after the move, MiB (may be negative).
    pub headroom_memory_mib: i64,
}

/// The chosen VMs and what they achieve.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// Vertices to move, ascending.
    pub moved: Vec<usize>,
    /// Permanent cut: total weight of edges between the cloud side (movers and
    /// [`Role::InCloud`] vertices) and the private side.
    pub cut: f64,
    /// A proven lower bound on the cut of every selection that meets the need.
    pub lower_bound: f64,
    /// Whether `cut` is proven minimal.
    pub optimal: bool,
    /// Per requirement of [`Need::free`], in order.
    pub freed: Vec<Freed>,
    /// Total vCPUs moved.
    pub moved_vcpus: u64,
    /// Total memory moved, MiB.
    pub moved_memory_mib: u64,
    /// Why the search stopped early, if it did.
    pub stopped: Option<StopReason>,
}

/// Why no selection exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectError {
    /// A node to evacuate hosts a VM that may not move.
    PinnedOnEvacuatedNode {
        /// The vertex.
        vm: usize,
        /// Its node.
        node: usize,
    },
    /// Even moving every movable VM on its nodes does not free enough.
    Infeasible {
        /// Index into [`Need::free`].
        requirement: usize,
        /// vCPUs missing.
        short_vcpus: u64,
        /// Memory missing, MiB.
        short_memory_mib: u64,
    },
    /// No selection meets the need within [`Need::max_moved`].
    OverLimit {
        /// True when the search proved that none exists; false when it ran
        /// out of effort before finding one.
        proven: bool,
    },
    /// The inputs do not fit together (lengths, indices).
    BadInput(String),
}

impl fmt::Display for SelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectError::PinnedOnEvacuatedNode { vm, node } => write!(
                f,
                "node {node} cannot be evacuated: VM {vm} on it is pinned or may not move"
            ),
            SelectError::Infeasible {
                requirement,
                short_vcpus,
                short_memory_mib,
            } => write!(
                f,
                "requirement {requirement} cannot be met even moving every movable VM: \
                 short by {short_vcpus} vCPUs and {short_memory_mib} MiB"
            ),
            SelectError::OverLimit { proven: true } => {
                write!(f, "no selection meets the need within the move limit")
            }
            SelectError::OverLimit { proven: false } => write!(
                f,
                "no selection within the move limit was found with the effort given"
            ),
            SelectError::BadInput(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for SelectError {}

/// A requirement reduced to "the movers among `members` release at least this much".
#[derive(Debug, Clone)]
struct Req {
    /// Per vertex: whether it counts toward this requirement.
    member: Vec<bool>,
    vcpus: u64,
    memory: u64,
}

/// The problem in the solver's terms.
struct Problem<'g> {
    graph: &'g Graph,
    machines: &'g [Machine],
    /// Vertices on the cloud side whatever happens: in-cloud peers and forced movers.
    fixed_in: Vec<bool>,
    /// Candidates (movable, not forced), ascending.
    candidates: Vec<usize>,
    is_candidate: Vec<bool>,
    reqs: Vec<Req>,
    /// Total (vCPUs, MiB) that may move.
    limit: (u64, u64),
}

impl Problem<'_> {
    /// Total moved with the cloud side `side`.
    fn moved_total(&self, side: &[bool]) -> (u64, u64) {
        let (mut c, mut m) = (0u64, 0u64);
        for (v, mach) in self.machines.iter().enumerate() {
            if side[v] && mach.role == Role::Movable {
                c += mach.vcpus;
                m += mach.memory_mib;
            }
        }
        (c, m)
    }

    fn within_limit(&self, side: &[bool]) -> bool {
        let (c, m) = self.moved_total(side);
        c <= self.limit.0 && m <= self.limit.1
    }

    /// Cut of the cloud side `fixed_in ∪ s` (`s[v]` for candidates).
    fn cut(&self, side: &[bool]) -> f64 {
        self.graph
            .edges()
            .filter(|&(u, v, _)| side[u] != side[v])
            .map(|e| e.2)
            .sum::<f64>()
            // An empty sum is -0.0; report +0.0.
            + 0.0
    }

    /// What the movers of the cloud side `side` release toward requirement `r`.
    fn released(&self, r: &Req, side: &[bool]) -> (u64, u64) {
        let (mut c, mut m) = (0u64, 0u64);
        for (v, mach) in self.machines.iter().enumerate() {
            if side[v] && r.member[v] && mach.role == Role::Movable {
                c += mach.vcpus;
                m += mach.memory_mib;
            }
        }
        (c, m)
    }

    /// How much the requirement `r` still lacks with the cloud side `side`.
    fn deficit(&self, r: &Req, side: &[bool]) -> (u64, u64) {
        let (c, m) = self.released(r, side);
        (r.vcpus.saturating_sub(c), r.memory.saturating_sub(m))
    }

    fn feasible(&self, side: &[bool]) -> bool {
        self.reqs.iter().all(|r| self.deficit(r, side) == (0, 0))
    }
}

/// Chooses the VMs to move so that `need` is met with the least permanent cut.
///
/// Returns the selection, or why none exists: a pinned VM on a node to
/// evacuate, or a requirement that cannot be met even by moving every movable VM
/// on its nodes (with the shortfall). Deterministic in the inputs, the seed and
/// the effort; [`Control::should_stop`] may cut it short (the result is then
/// still valid, with `optimal == false`).
pub fn select(
    cluster: &Cluster<'_>,
    need: &Need,
    options: &SelectOptions,
    control: &dyn Control,
) -> Result<Selection, SelectError> {
    let graph = cluster.graph;
    let n = graph.n();
    let machines = &cluster.machines;
    if machines.len() != n {
        return Err(SelectError::BadInput(format!(
            "{} machines for a graph of {n} vertices",
            machines.len()
        )));
    }
    let node_count = cluster.nodes.len();
    let bad_node = |k: usize| SelectError::BadInput(format!("node index {k} out of range"));
    for m in machines {
        if let Some(k) = m.node {
            if k >= node_count {
                return Err(bad_node(k));
            }
        }
    }
    let mut evacuated = vec![false; node_count];
    for &k in &need.evacuate {
        *evacuated.get_mut(k).ok_or_else(|| bad_node(k))? = true;
    }
    let mut named = evacuated.clone();
    let mut reqs = Vec::with_capacity(need.free.len());
    for f in &need.free {
        let mut on = vec![false; node_count];
        for &k in &f.nodes {
            *on.get_mut(k).ok_or_else(|| bad_node(k))? = true;
            named[k] = true;
        }
        let member: Vec<bool> = machines
            .iter()
            .map(|m| m.node.is_some_and(|k| on[k]))
            .collect();
        let (mut vcpus, mut memory) = (f.vcpus, f.memory_mib);
        if f.measure == Measure::Headroom {
            // Headroom H after the move is capacity − used + released, so the
            // movers must release at least H − (capacity − used).
            let cap_c: u64 = f.nodes.iter().map(|&k| cluster.nodes[k].vcpus).sum();
            let cap_m: u64 = f.nodes.iter().map(|&k| cluster.nodes[k].memory_mib).sum();
            let used_c: u64 = (0..n)
                .filter(|&v| member[v])
                .map(|v| machines[v].vcpus)
                .sum();
            let used_m: u64 = (0..n)
                .filter(|&v| member[v])
                .map(|v| machines[v].memory_mib)
                .sum();
            vcpus = (vcpus as i128 - (cap_c as i128 - used_c as i128)).max(0) as u64;
            memory = (memory as i128 - (cap_m as i128 - used_m as i128)).max(0) as u64;
        }
        reqs.push(Req {
            member,
            vcpus,
            memory,
        });
    }

    let mut fixed_in = vec![false; n];
    let mut is_candidate = vec![false; n];
    for (v, m) in machines.iter().enumerate() {
        match m.role {
            Role::InCloud => fixed_in[v] = true,
            Role::Stays => {
                if let Some(k) = m.node.filter(|&k| evacuated[k]) {
                    return Err(SelectError::PinnedOnEvacuatedNode { vm: v, node: k });
                }
            }
            Role::Movable => {
                let node = m.node.filter(|&k| k < node_count);
                if node.is_some_and(|k| evacuated[k]) {
                    fixed_in[v] = true;
                } else if options.companions || node.is_some_and(|k| named[k]) {
                    is_candidate[v] = true;
                }
            }
        }
    }
    // Requirements already covered by forced movers or unreachable even with all.
    for (i, r) in reqs.iter().enumerate() {
        let (mut c, mut m) = (0u64, 0u64);
        for (mach, _) in machines
            .iter()
            .zip(&r.member)
            .filter(|(mach, &member)| member && mach.role == Role::Movable)
        {
            c += mach.vcpus;
            m += mach.memory_mib;
        }
        if c < r.vcpus || m < r.memory {
            return Err(SelectError::Infeasible {
                requirement: i,
                short_vcpus: r.vcpus.saturating_sub(c),
                short_memory_mib: r.memory.saturating_sub(m),
            });
        }
    }
    let candidates: Vec<usize> = (0..n).filter(|&v| is_candidate[v]).collect();
    let problem = Problem {
        graph,
        machines,
        fixed_in,
        candidates,
        is_candidate,
        reqs,
        limit: need
            .max_moved
            .map_or((u64::MAX, u64::MAX), |c| (c.vcpus, c.memory_mib)),
    };
    if !problem.within_limit(&problem.fixed_in) {
        return Err(SelectError::OverLimit { proven: true });
    }

    let mut budget = Budget::new(options.effort.max(1), control);
    // Heuristic first (half the effort at most), then the exact search with the rest.
    let mut child = budget.child(options.effort / 2);
    let mut side = heuristic(&problem, options.seed, &mut child);
    budget.absorb(child);
    let mut found = problem.feasible(&side) && problem.within_limit(&side);
    let mut best = if found {
        problem.cut(&side)
    } else {
        f64::INFINITY
    };
    let mut child = budget.child(options.effort / 4);
    let lagrangian = lagrangian_bound(&problem, &mut child);
    budget.absorb(child);
    let (proved, open_min) = if found && lagrangian >= best - tolerance(graph) {
        // The bound meets the heuristic's cut: nothing to search.
        (true, best)
    } else {
        branch_and_bound(&problem, &mut side, &mut best, &mut found, &mut budget)
    };
    if !found {
        return Err(SelectError::OverLimit { proven: proved });
    }
    tidy(&problem, &mut side);
    let cut = problem.cut(&side);
    let lower_bound = if proved {
        cut
    } else {
        open_min.max(lagrangian).min(cut)
    } + 0.0;

    let moved: Vec<usize> = (0..n)
        .filter(|&v| side[v] && machines[v].role == Role::Movable)
        .collect();
    let freed = need
        .free
        .iter()
        .zip(&problem.reqs)
        .map(|(f, r)| {
            let (mut fc, mut fm, mut uc, mut um) = (0u64, 0u64, 0u64, 0u64);
            for v in 0..n {
                if r.member[v] {
                    if side[v] && machines[v].role == Role::Movable {
                        fc += machines[v].vcpus;
                        fm += machines[v].memory_mib;
                    } else {
                        uc += machines[v].vcpus;
                        um += machines[v].memory_mib;
                    }
                }
            }
            let cap_c: u64 = f.nodes.iter().map(|&k| cluster.nodes[k].vcpus).sum();
            let cap_m: u64 = f.nodes.iter().map(|&k| cluster.nodes[k].memory_mib).sum();
            Freed {
                vcpus: fc,
                memory_mib: fm,
                headroom_vcpus: cap_c as i64 - uc as i64,
                headroom_memory_mib: cap_m as i64 - um as i64,
            }
        })
        .collect();
    Ok(Selection {
        moved_vcpus: moved.iter().map(|&v| machines[v].vcpus).sum(),
        moved_memory_mib: moved.iter().map(|&v| machines[v].memory_mib).sum(),
        moved,
        cut,
        lower_bound,
        optimal: proved,
        freed,
        stopped: budget.stopped(),
    })
}

/// Weight from each vertex to the cloud side.
fn weight_to_side(p: &Problem<'_>, side: &[bool]) -> Vec<f64> {
    (0..p.graph.n())
        .map(|v| {
            p.graph
                .neighbors(v)
                .iter()
                .zip(p.graph.neighbor_weights(v))
                .filter(|(&u, _)| side[u as usize])
                .map(|(_, &w)| w)
                .sum()
        })
        .collect()
}

/// Local-search state: the cloud side, each vertex's weight toward it, and
/// what each requirement still has in hand beyond its need.
struct State<'p, 'g> {
    p: &'p Problem<'g>,
    side: Vec<bool>,
    to_in: Vec<f64>,
    wdeg: Vec<f64>,
    /// Per requirement: released − needed (vCPUs, memory); negative = deficit.
    slack: Vec<(i128, i128)>,
    /// Total moved (vCPUs, MiB).
    total: (u64, u64),
}

impl<'p, 'g> State<'p, 'g> {
    fn new(p: &'p Problem<'g>, side: Vec<bool>) -> Self {
        let to_in = weight_to_side(p, &side);
        let wdeg = (0..p.graph.n())
            .map(|v| p.graph.neighbor_weights(v).iter().sum())
            .collect();
        let slack = p
            .reqs
            .iter()
            .map(|r| {
                let (c, m) = p.released(r, &side);
                (c as i128 - r.vcpus as i128, m as i128 - r.memory as i128)
            })
            .collect();
        let total = p.moved_total(&side);
        State {
            p,
            side,
            to_in,
            wdeg,
            slack,
            total,
        }
    }

    /// Change of the cut if `v` switches side.
    fn gain(&self, v: usize) -> f64 {
        let to_out = self.wdeg[v] - self.to_in[v];
        if self.side[v] {
            self.to_in[v] - to_out
        } else {
            to_out - self.to_in[v]
        }
    }

    fn feasible(&self) -> bool {
        self.slack.iter().all(|&(c, m)| c >= 0 && m >= 0)
    }

    /// Whether adding `v` to the cloud side keeps the total within the limit.
    fn can_add(&self, v: usize) -> bool {
        let m = &self.p.machines[v];
        self.total.0 + m.vcpus <= self.p.limit.0 && self.total.1 + m.memory_mib <= self.p.limit.1
    }

    /// Whether removing `v` from the cloud side keeps every requirement met.
    fn can_remove(&self, v: usize) -> bool {
        let m = &self.p.machines[v];
        self.p.reqs.iter().zip(&self.slack).all(|(r, &(c, mm))| {
            !r.member[v] || (c >= m.vcpus as i128 && mm >= m.memory_mib as i128)
        })
    }

    fn flip(&mut self, v: usize) {
        let into = !self.side[v];
        self.side[v] = into;
        let g = self.p.graph;
        for (&u, &w) in g.neighbors(v).iter().zip(g.neighbor_weights(v)) {
            if into {
                self.to_in[u as usize] += w;
            } else {
                self.to_in[u as usize] -= w;
            }
        }
        let m = &self.p.machines[v];
        if into {
            self.total.0 += m.vcpus;
            self.total.1 += m.memory_mib;
        } else {
            self.total.0 -= m.vcpus;
            self.total.1 -= m.memory_mib;
        }
        for (r, s) in self.p.reqs.iter().zip(&mut self.slack) {
            if r.member[v] {
                let sign = if into { 1 } else { -1 };
                s.0 += sign * m.vcpus as i128;
                s.1 += sign * m.memory_mib as i128;
            }
        }
    }

    /// How much of the outstanding deficits `v` would cover, in [0, 2 × reqs].
    fn coverage(&self, v: usize) -> f64 {
        let m = &self.p.machines[v];
        let mut c = 0.0;
        for (r, &(sc, sm)) in self.p.reqs.iter().zip(&self.slack) {
            if r.member[v] {
                if sc < 0 {
                    c += (m.vcpus as f64 / (-sc) as f64).min(1.0);
                }
                if sm < 0 {
                    c += (m.memory_mib as f64 / (-sm) as f64).min(1.0);
                }
            }
        }
        c
    }

    fn cut(&self) -> f64 {
        self.p.cut(&self.side)
    }
}

/// Tolerance on cut comparisons, relative to the graph's total weight, so that
/// rounding never makes the search cycle or prune a truly better set.
fn tolerance(g: &Graph) -> f64 {
    1e-12 * g.total_weight().max(1.0)
}

/// How the greedy start ranks the candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Greedy {
    /// Cut increase per unit of outstanding need covered: the min-knapsack
    /// greedy, good when VMs differ in size more than in attachment.
    Ratio,
    /// Smallest cut increase first (ties: most need covered): greedy graph
    /// growing (Karypis and Kumar, *A fast and high quality multilevel scheme
    /// for partitioning irregular graphs*, SIAM J. Sci. Comput. 20, 1998), which
    /// keeps adding the neighbours of what is already chosen and so moves
    /// tightly knit groups whole.
    Grow,
}

/// Adds candidates to the forced set until the need is met (or nothing fits
/// under the limit), starting from `start` if given.
fn greedy<'p, 'g>(
    p: &'p Problem<'g>,
    kind: Greedy,
    start: Option<usize>,
    budget: &mut Budget<'_>,
) -> State<'p, 'g> {
    let mut st = State::new(p, p.fixed_in.clone());
    let k = p.candidates.len() as u64 + 1;
    if let Some(v) = start {
        if !st.side[v] && st.can_add(v) {
            st.flip(v);
        }
    }
    while !st.feasible() {
        budget.spend(k);
        let mut pick: Option<(usize, (f64, f64))> = None;
        for &v in &p.candidates {
            if st.side[v] || !st.can_add(v) {
                continue;
            }
            let cov = st.coverage(v);
            if cov <= 0.0 {
                continue;
            }
            let g = st.gain(v);
            let key = match kind {
                // Moves that lower the cut first, the most lowering per unit.
                Greedy::Ratio => (if g < 0.0 { 0.0 } else { 1.0 }, g / cov),
                Greedy::Grow => (g, -cov),
            };
            let better = match pick {
                None => true,
                Some((_, best)) => key
                    .0
                    .total_cmp(&best.0)
                    .then(key.1.total_cmp(&best.1))
                    .is_lt(),
            };
            if better {
                pick = Some((v, key));
            }
        }
        // Without a limit some candidate always covers (checked up front); with
        // one the greedy may get stuck, and the exact search takes over.
        let Some((v, _)) = pick else {
            return st;
        };
        st.flip(v);
    }
    st
}

/// Greedy starts (both rankings, then growing from seeded random candidates)
/// and perturbations, each refined; returns the best side vector found, which
/// meets the need unless the limit made the greedy fail.
fn heuristic(p: &Problem<'_>, seed: u64, budget: &mut Budget<'_>) -> Vec<bool> {
    let n = p.graph.n();
    let eps = tolerance(p.graph);
    let mut best_side: Option<(Vec<bool>, f64)> = None;
    let consider = |st: &State<'_, '_>, best_side: &mut Option<(Vec<bool>, f64)>| {
        if st.feasible() {
            let c = st.cut();
            let better = match best_side {
                Some((_, b)) => c < *b - eps,
                None => true,
            };
            if better {
                *best_side = Some((st.side.clone(), c));
            }
        }
    };
    let mut fallback = None;
    for kind in [Greedy::Ratio, Greedy::Grow] {
        if kind == Greedy::Grow && budget.is_stopped() {
            break;
        }
        let mut st = greedy(p, kind, None, budget);
        refine(&mut st, eps, budget);
        consider(&st, &mut best_side);
        fallback.get_or_insert(st.side);
    }

    // Restarts: grow from a random candidate, or kick the best set with a few
    // random flips; refine each and keep the best.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let movable: Vec<usize> = p.candidates.clone();
    let mut rounds = 0;
    while !movable.is_empty() && !budget.is_stopped() && rounds < 64 {
        rounds += 1;
        let mut trial = match (&best_side, rounds % 2) {
            (Some((side, _)), 0) => {
                let mut trial = State::new(p, side.clone());
                let kicks = 1 + rng.gen_range(0..movable.len().min(4));
                for _ in 0..kicks {
                    let &v = movable.choose(&mut rng).expect("non-empty");
                    if (!trial.side[v] && trial.can_add(v))
                        || (trial.side[v] && trial.can_remove(v))
                    {
                        trial.flip(v);
                    }
                }
                trial
            }
            _ => {
                let &v = movable.choose(&mut rng).expect("non-empty");
                greedy(p, Greedy::Grow, Some(v), budget)
            }
        };
        if !trial.feasible() {
            continue;
        }
        refine(&mut trial, eps, budget);
        consider(&trial, &mut best_side);
        budget.spend(n as u64 / 8 + 1);
    }
    match best_side {
        Some((side, _)) => side,
        None => fallback.unwrap_or_else(|| p.fixed_in.clone()),
    }
}

/// Flips and pair swaps that lower the cut and keep the need met, until none is
/// left or the budget ends.
fn refine(st: &mut State<'_, '_>, eps: f64, budget: &mut Budget<'_>) {
    let p = st.p;
    loop {
        let mut improved = false;
        // Single flips.
        for &v in &p.candidates {
            if !budget.spend(1 + p.graph.degree(v) as u64) {
                return;
            }
            let allowed = if st.side[v] {
                st.can_remove(v)
            } else {
                st.can_add(v)
            };
            if st.gain(v) < -eps && allowed {
                st.flip(v);
                improved = true;
            }
        }
        if improved {
            continue;
        }
        // Swaps: a mover out, an outsider in (Kernighan–Lin), for pairs where
        // the swap keeps every requirement met.
        let ins: Vec<usize> = p
            .candidates
            .iter()
            .copied()
            .filter(|&v| st.side[v])
            .collect();
        let outs: Vec<usize> = p
            .candidates
            .iter()
            .copied()
            .filter(|&v| !st.side[v])
            .collect();
        'outer: for &u in &ins {
            let gu = st.gain(u);
            for &v in &outs {
                if !budget.spend(1) {
                    return;
                }
                let w = p.graph.weight(u, v).unwrap_or(0.0);
                let delta = gu + st.gain(v) + 2.0 * w;
                if delta < -eps && swap_keeps_need(st, u, v) {
                    st.flip(u);
                    st.flip(v);
                    improved = true;
                    break 'outer;
                }
            }
        }
        if !improved && !fm_pass(st, true, eps, budget) && !fm_pass(st, false, eps, budget) {
            return;
        }
    }
}

/// How many moves past the best prefix a Fiduccia–Mattheyses pass goes on
/// looking before it gives up (enough to carry a group of that many VMs across).
const FM_LOOKAHEAD: usize = 48;

/// One Fiduccia–Mattheyses pass in one direction: repeatedly flip the best
/// allowed unlocked candidate (even uphill) — additions only, or removals only
/// — lock it, and finally roll back to the best prefix. This carries a tightly
/// knit group across in steps that each raise the cut, which single flips and
/// swaps cannot. One direction per pass, because a mixed pass tends to undo
/// the start of the group it is building and then, the vertex being locked,
/// never completes it. In the addition pass every prefix may also end with the
/// best single removal it makes possible (trade a scattered VM for a whole
/// group). Every intermediate set meets the need, so the result does too.
/// Returns whether the cut went down.
fn fm_pass(st: &mut State<'_, '_>, add: bool, eps: f64, budget: &mut Budget<'_>) -> bool {
    let p = st.p;
    let mut locked = vec![false; p.graph.n()];
    let mut moves = Vec::new();
    let (mut cum, mut best_cum, mut best_len) = (0.0f64, 0.0f64, 0usize);
    let mut best_removal = None;
    let best_of = |st: &State<'_, '_>, locked: &[bool], add: bool| {
        let mut pick: Option<(usize, f64)> = None;
        for &v in &p.candidates {
            if locked[v] || st.side[v] == add {
                continue;
            }
            let allowed = if add { st.can_add(v) } else { st.can_remove(v) };
            if !allowed {
                continue;
            }
            let g = st.gain(v);
            let better = match pick {
                Some((_, b)) => g < b,
                None => true,
            };
            if better {
                pick = Some((v, g));
            }
        }
        pick
    };
    loop {
        if !budget.spend(2 * p.candidates.len() as u64 + 1) {
            break;
        }
        let Some((v, g)) = best_of(st, &locked, add) else {
            break;
        };
        cum += g;
        st.flip(v);
        locked[v] = true;
        moves.push(v);
        if cum < best_cum - eps {
            best_cum = cum;
            best_len = moves.len();
            best_removal = None;
        }
        if add {
            if let Some((r, gr)) = best_of(st, &locked, false) {
                if cum + gr < best_cum - eps {
                    best_cum = cum + gr;
                    best_len = moves.len();
                    best_removal = Some(r);
                }
            }
        }
        if moves.len() - best_len > FM_LOOKAHEAD {
            break;
        }
    }
    for &v in moves[best_len..].iter().rev() {
        st.flip(v);
    }
    if let Some(r) = best_removal {
        st.flip(r);
    }
    best_len > 0
}

fn swap_keeps_need(st: &State<'_, '_>, out: usize, into: usize) -> bool {
    let (a, b) = (&st.p.machines[out], &st.p.machines[into]);
    if st.total.0 - a.vcpus + b.vcpus > st.p.limit.0
        || st.total.1 - a.memory_mib + b.memory_mib > st.p.limit.1
    {
        return false;
    }
    st.p.reqs.iter().zip(&st.slack).all(|(r, &(c, m))| {
        let mut c = c;
        let mut m = m;
        if r.member[out] {
            c -= a.vcpus as i128;
            m -= a.memory_mib as i128;
        }
        if r.member[into] {
            c += b.vcpus as i128;
            m += b.memory_mib as i128;
        }
        c >= 0 && m >= 0
    })
}

/// Drops movers whose removal keeps the need met and does not raise the cut:
/// of two selections with the same cut, the one that moves less is better.
fn tidy(p: &Problem<'_>, side: &mut Vec<bool>) {
    let eps = tolerance(p.graph);
    let mut st = State::new(p, std::mem::take(side));
    loop {
        let mut changed = false;
        // Largest first, so that what is left over is as small as possible.
        let mut movers: Vec<usize> = p
            .candidates
            .iter()
            .copied()
            .filter(|&v| st.side[v])
            .collect();
        movers.sort_by_key(|&v| {
            (
                std::cmp::Reverse(p.machines[v].vcpus),
                std::cmp::Reverse(p.machines[v].memory_mib),
                v,
            )
        });
        for v in movers {
            if st.gain(v) <= eps && st.can_remove(v) {
                st.flip(v);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    *side = st.side;
}

/// Depth-first branch and bound over the candidates. `side` holds the
/// incumbent (updated in place) and `best` its cut. Returns whether the search
/// finished (the incumbent is optimal) and the least lower bound of the subtrees
/// left unexplored when it did not.
fn branch_and_bound(
    p: &Problem<'_>,
    side: &mut Vec<bool>,
    best: &mut f64,
    found: &mut bool,
    budget: &mut Budget<'_>,
) -> (bool, f64) {
    let n = p.graph.n();
    // Branch on heavy candidates first: their side decides most of the cut.
    let mut order = p.candidates.clone();
    let wdeg: Vec<f64> = (0..n)
        .map(|v| p.graph.neighbor_weights(v).iter().sum())
        .collect();
    order.sort_by(|&a, &b| wdeg[b].total_cmp(&wdeg[a]).then(a.cmp(&b)));
    let mut bb = Bnb {
        p,
        order,
        state: vec![Side::Undecided; n],
        to_in: vec![0.0; n],
        to_out: vec![0.0; n],
        decided_cut: 0.0,
        have: vec![(0, 0); p.reqs.len()],
        potential: vec![(0, 0); p.reqs.len()],
        total: p.moved_total(&p.fixed_in),
        best: *best,
        best_side: None,
        open_min: f64::INFINITY,
        eps: tolerance(p.graph),
        scratch: Vec::new(),
    };
    for v in 0..n {
        if !p.is_candidate[v] {
            bb.state[v] = if p.fixed_in[v] { Side::In } else { Side::Out };
        }
    }
    for v in 0..n {
        for (&u, &w) in p.graph.neighbors(v).iter().zip(p.graph.neighbor_weights(v)) {
            match bb.state[u as usize] {
                Side::In => bb.to_in[v] += w,
                Side::Out => bb.to_out[v] += w,
                Side::Undecided => {}
            }
        }
    }
    bb.decided_cut = p
        .graph
        .edges()
        .filter(|&(u, v, _)| {
            bb.state[u] != Side::Undecided
                && bb.state[v] != Side::Undecided
                && bb.state[u] != bb.state[v]
        })
        .map(|e| e.2)
        .sum();
    for (i, r) in p.reqs.iter().enumerate() {
        for v in 0..n {
            if !r.member[v] || p.machines[v].role != Role::Movable {
                continue;
            }
            let m = &p.machines[v];
            match bb.state[v] {
                Side::In => {
                    bb.have[i].0 += m.vcpus;
                    bb.have[i].1 += m.memory_mib;
                }
                Side::Undecided => {
                    bb.potential[i].0 += m.vcpus;
                    bb.potential[i].1 += m.memory_mib;
                }
                Side::Out => {}
            }
        }
    }
    if bb.order.len() > MAX_EXACT_CANDIDATES {
        // Too deep to recurse safely: the root bound is the lower bound.
        return match bb.bound(0) {
            Some(lb) => (false, lb),
            None => (true, f64::INFINITY),
        };
    }
    let finished = bb.search(0, budget);
    if let Some(s) = bb.best_side.take() {
        *side = s;
        *best = bb.best;
        *found = true;
    }
    (finished, bb.open_min)
}

/// Beyond this many candidates the exact search is not attempted (its
/// recursion is as deep as the candidates are many); the heuristic's answer is
/// returned with the root bound.
const MAX_EXACT_CANDIDATES: usize = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    In,
    Out,
    Undecided,
}

struct Bnb<'p, 'g> {
    p: &'p Problem<'g>,
    order: Vec<usize>,
    state: Vec<Side>,
    /// Weight from each vertex to decided vertices on each side.
    to_in: Vec<f64>,
    to_out: Vec<f64>,
    decided_cut: f64,
    /// Per requirement: released by decided movers, and still available from undecided.
    have: Vec<(u64, u64)>,
    potential: Vec<(u64, u64)>,
    /// Total moved by decided movers (vCPUs, MiB).
    total: (u64, u64),
    best: f64,
    best_side: Option<Vec<bool>>,
    open_min: f64,
    eps: f64,
    scratch: Vec<(f64, u64)>,
}

impl Bnb<'_, '_> {
    /// Lower bound of the subtree at `depth` (candidates `order[depth..]` undecided),
    /// or `None` when no completion meets the need.
    fn bound(&mut self, depth: usize) -> Option<f64> {
        let p = self.p;
        if self.total.0 > p.limit.0 || self.total.1 > p.limit.1 {
            return None;
        }
        for (i, r) in p.reqs.iter().enumerate() {
            if self.have[i].0 + self.potential[i].0 < r.vcpus
                || self.have[i].1 + self.potential[i].1 < r.memory
            {
                return None;
            }
        }
        let rest = &self.order[depth..];
        let mut lb = self.decided_cut;
        for &v in rest {
            lb += self.to_in[v].min(self.to_out[v]);
        }
        // Fractional min-knapsack for each outstanding resource of each
        // requirement: covering the deficit costs at least the cheapest
        // penalties (extra cut of going in rather than to the cheaper side)
        // per unit of resource. Any one of them is a valid addition; take the largest.
        let mut extra: f64 = 0.0;
        for (i, r) in p.reqs.iter().enumerate() {
            for resource in 0..2 {
                let (have, need) = if resource == 0 {
                    (self.have[i].0, r.vcpus)
                } else {
                    (self.have[i].1, r.memory)
                };
                if have >= need {
                    continue;
                }
                let mut deficit = need - have;
                self.scratch.clear();
                for &v in rest {
                    if !r.member[v] {
                        continue;
                    }
                    let size = if resource == 0 {
                        p.machines[v].vcpus
                    } else {
                        p.machines[v].memory_mib
                    };
                    if size == 0 {
                        continue;
                    }
                    let penalty = (self.to_out[v] - self.to_in[v]).max(0.0);
                    self.scratch.push((penalty, size));
                }
                self.scratch.sort_by(|a, b| {
                    (a.0 * b.1 as f64)
                        .total_cmp(&(b.0 * a.1 as f64))
                        .then(b.1.cmp(&a.1))
                });
                let mut cost = 0.0;
                for &(pen, size) in &self.scratch {
                    if deficit == 0 {
                        break;
                    }
                    if size <= deficit {
                        cost += pen;
                        deficit -= size;
                    } else {
                        cost += pen * deficit as f64 / size as f64;
                        deficit = 0;
                    }
                }
                extra = extra.max(cost);
            }
        }
        Some(lb + extra)
    }

    fn set(&mut self, v: usize, s: Side) {
        let g = self.p.graph;
        let sign = if s == Side::Undecided { -1.0 } else { 1.0 };
        let old = self.state[v];
        let effective = if s == Side::Undecided { old } else { s };
        // Cut contribution of v toward the decided vertices.
        let contrib = if effective == Side::In {
            self.to_out[v]
        } else {
            self.to_in[v]
        };
        self.decided_cut += sign * contrib;
        for (&u, &w) in g.neighbors(v).iter().zip(g.neighbor_weights(v)) {
            if effective == Side::In {
                self.to_in[u as usize] += sign * w;
            } else {
                self.to_out[u as usize] += sign * w;
            }
        }
        let m = &self.p.machines[v];
        if s == Side::In {
            self.total.0 += m.vcpus;
            self.total.1 += m.memory_mib;
        } else if s == Side::Undecided && old == Side::In {
            self.total.0 -= m.vcpus;
            self.total.1 -= m.memory_mib;
        }
        for (i, r) in self.p.reqs.iter().enumerate() {
            if !r.member[v] {
                continue;
            }
            if s == Side::Undecided {
                self.potential[i].0 += m.vcpus;
                self.potential[i].1 += m.memory_mib;
                if old == Side::In {
                    self.have[i].0 -= m.vcpus;
                    self.have[i].1 -= m.memory_mib;
                }
            } else {
                self.potential[i].0 -= m.vcpus;
                self.potential[i].1 -= m.memory_mib;
                if s == Side::In {
                    self.have[i].0 += m.vcpus;
                    self.have[i].1 += m.memory_mib;
                }
            }
        }
        self.state[v] = s;
    }

    /// Explores the subtree at `depth`; returns false if the budget stopped it.
    fn search(&mut self, depth: usize, budget: &mut Budget<'_>) -> bool {
        let Some(lb) = self.bound(depth) else {
            return true;
        };
        if lb >= self.best - self.eps {
            return true;
        }
        if !budget.spend(1 + (self.order.len() - depth) as u64) {
            self.open_min = self.open_min.min(lb);
            return false;
        }
        if depth == self.order.len() {
            // Feasible (the bound checked it) and better than the incumbent.
            self.best = self.decided_cut;
            self.best_side = Some(self.state.iter().map(|&s| s == Side::In).collect());
            return true;
        }
        let v = self.order[depth];
        // Cheaper side first, so good incumbents come early.
        let first = if self.to_out[v] < self.to_in[v] {
            Side::Out
        } else {
            Side::In
        };
        let second = if first == Side::In {
            Side::Out
        } else {
            Side::In
        };
        let mut complete = true;
        for s in [first, second] {
            if budget.is_stopped() {
                // The parent's bound is a bound of this unexplored child.
                self.open_min = self.open_min.min(lb);
                complete = false;
                continue;
            }
            self.set(v, s);
            complete &= self.search(depth + 1, budget);
            self.set(v, Side::Undecided);
        }
        complete
    }
}

/// Beyond this many vertices the Lagrangian bound is not computed (its
/// augmenting paths recurse as deep as they are long).
const MAX_FLOW_VERTICES: usize = 10_000;

/// A Lagrangian lower bound: relax one covering constraint ("the movers
/// release at least `need` of this resource") with a multiplier λ ≥ 0, so that
/// `min cut(S) − λ·(released(S) − need)` over all `S` is a minimum s–t cut
/// (each candidate that counts gets a source arc of capacity λ·size, cut when
/// it stays; Picard and Ratliff, *Minimum cuts and related problems*,
/// Networks 5, 1975), and maximise over λ (the dual is concave in λ:
/// golden-section search on ln λ). Every requirement and resource gives a bound; the
/// largest is returned (0 when none applies; never more than the optimum up
/// to rounding, which is subtracted).
fn lagrangian_bound(p: &Problem<'_>, budget: &mut Budget<'_>) -> f64 {
    let g = p.graph;
    let n = g.n();
    if n > MAX_FLOW_VERTICES {
        return 0.0;
    }
    let total_w = g.total_weight();
    let slack = 1e-9 * total_w.max(1.0);
    let mut best = 0.0f64;
    // λ = 0: the plain minimum cut between the fixed sides.
    let mut flow = FlowNet::new(p, None, 0.0);
    if !budget.spend(flow.arcs() as u64) {
        return 0.0;
    }
    best = best.max(flow.max_flow() - slack);
    for r in &p.reqs {
        for resource in 0..2 {
            let size = |v: usize| {
                if resource == 0 {
                    p.machines[v].vcpus
                } else {
                    p.machines[v].memory_mib
                }
            };
            let need = if resource == 0 { r.vcpus } else { r.memory };
            let counts = |v: usize| r.member[v] && p.machines[v].role == Role::Movable;
            let forced: u64 = (0..n)
                .filter(|&v| counts(v) && p.fixed_in[v])
                .map(size)
                .sum();
            let cand: u64 = (0..n)
                .filter(|&v| counts(v) && p.is_candidate[v])
                .map(size)
                .sum();
            let min_size = (0..n)
                .filter(|&v| counts(v) && p.is_candidate[v] && size(v) > 0)
                .map(size)
                .min();
            let (Some(min_size), true) = (min_size, need > forced) else {
                continue;
            };
            let deficit = (need - forced) as f64;
            // Searched over x = ln λ: a concave function of λ is unimodal in
            // any increasing reparametrisation, and the log scale finds small
            // multipliers as fast as large ones.
            let value = |x: f64, budget: &mut Budget<'_>| -> Option<f64> {
                let lambda = x.exp();
                let mut f = FlowNet::new(p, Some((r, resource)), lambda);
                if !budget.spend(f.arcs() as u64) {
                    return None;
                }
                Some(lambda * deficit + f.max_flow() - lambda * cand as f64)
            };
            // Past λ = (total weight + 1) / min size moving every candidate is
            // best and the dual only falls.
            let top = ((total_w + 1.0) / min_size as f64).ln();
            let (mut lo, mut hi) = (top - 40.0, top);
            let phi = (5f64.sqrt() - 1.0) / 2.0;
            let mut a = hi - phi * (hi - lo);
            let mut b = lo + phi * (hi - lo);
            let (Some(mut fa), Some(mut fb)) = (value(a, budget), value(b, budget)) else {
                return best;
            };
            best = best.max(fa.max(fb) - slack);
            for _ in 0..60 {
                if fa < fb {
                    lo = a;
                    a = b;
                    fa = fb;
                    b = lo + phi * (hi - lo);
                    let Some(v) = value(b, budget) else {
                        return best;
                    };
                    fb = v;
                } else {
                    hi = b;
                    b = a;
                    fb = fa;
                    a = hi - phi * (hi - lo);
                    let Some(v) = value(a, budget) else {
                        return best;
                    };
                    fa = v;
                }
                best = best.max(fa.max(fb) - slack);
                if hi - lo <= 1e-9 {
                    break;
                }
            }
        }
    }
    best.max(0.0)
}

/// A flow network for [`lagrangian_bound`]: the graph's edges both ways,
/// the cloud side tied to the source and the fixed private side to the sink,
/// and, for a requirement, source arcs of capacity λ·size to the candidates
/// that count toward it. Dinic's algorithm (E. A. Dinic, *Algorithm for
/// solution of a problem of maximum flow in networks with power estimation*,
/// Soviet Math. Doklady 11, 1970).
struct FlowNet {
    head: Vec<usize>,
    next: Vec<usize>,
    to: Vec<usize>,
    cap: Vec<f64>,
    level: Vec<u32>,
    iter: Vec<usize>,
    s: usize,
    t: usize,
    eps: f64,
}

impl FlowNet {
    fn new(p: &Problem<'_>, req: Option<(&Req, usize)>, lambda: f64) -> FlowNet {
        let g = p.graph;
        let n = g.n();
        let big = 2.0 * g.total_weight() + 1.0;
        let mut f = FlowNet {
            head: vec![usize::MAX; n + 2],
            next: Vec::new(),
            to: Vec::new(),
            cap: Vec::new(),
            level: vec![0; n + 2],
            iter: vec![0; n + 2],
            s: n,
            t: n + 1,
            eps: 1e-12 * big,
        };
        for (u, v, w) in g.edges() {
            f.pair(u, v, w, w);
        }
        for v in 0..n {
            if p.fixed_in[v] {
                f.pair(f.s, v, big, 0.0);
            } else if !p.is_candidate[v] {
                f.pair(v, f.t, big, 0.0);
            } else if let Some((r, resource)) = req {
                if r.member[v] && p.machines[v].role == Role::Movable {
                    let size = if resource == 0 {
                        p.machines[v].vcpus
                    } else {
                        p.machines[v].memory_mib
                    };
                    if size > 0 && lambda > 0.0 {
                        f.pair(f.s, v, lambda * size as f64, 0.0);
                    }
                }
            }
        }
        f
    }

    fn arcs(&self) -> usize {
        self.to.len()
    }

    fn pair(&mut self, u: usize, v: usize, c_uv: f64, c_vu: f64) {
        for (a, b, c) in [(u, v, c_uv), (v, u, c_vu)] {
            self.to.push(b);
            self.cap.push(c);
            self.next.push(self.head[a]);
            self.head[a] = self.to.len() - 1;
        }
    }

    fn bfs(&mut self) -> bool {
        self.level.iter_mut().for_each(|l| *l = u32::MAX);
        let mut queue = std::collections::VecDeque::new();
        self.level[self.s] = 0;
        queue.push_back(self.s);
        while let Some(u) = queue.pop_front() {
            let mut e = self.head[u];
            while e != usize::MAX {
                let v = self.to[e];
                if self.cap[e] > self.eps && self.level[v] == u32::MAX {
                    self.level[v] = self.level[u] + 1;
                    queue.push_back(v);
                }
                e = self.next[e];
            }
        }
        self.level[self.t] != u32::MAX
    }

    fn dfs(&mut self, u: usize, pushed: f64) -> f64 {
        if u == self.t {
            return pushed;
        }
        while self.iter[u] != usize::MAX {
            let e = self.iter[u];
            let v = self.to[e];
            if self.cap[e] > self.eps && self.level[v] == self.level[u] + 1 {
                let d = self.dfs(v, pushed.min(self.cap[e]));
                if d > self.eps {
                    self.cap[e] -= d;
                    self.cap[e ^ 1] += d;
                    return d;
                }
            }
            self.iter[u] = self.next[e];
        }
        0.0
    }

    fn max_flow(&mut self) -> f64 {
        let mut total = 0.0;
        while self.bfs() {
            self.iter.clone_from(&self.head);
            loop {
                let d = self.dfs(self.s, f64::INFINITY);
                if d <= self.eps {
                    break;
                }
                total += d;
            }
        }
        total
    }
}

/// A [`Cluster`] built from an inventory, owning what it needs.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The graph, extended with an isolated vertex for every inventory VM that
    /// has no traffic (it still occupies capacity and may move at no cut).
    /// Vertices of the original graph keep their indices.
    pub graph: Graph,
    /// One entry per vertex of `graph`.
    pub machines: Vec<Machine>,
    /// Node capacities, in the inventory's node order.
    pub nodes: Vec<Capacity>,
    /// Node names, in the same order (to resolve `--evacuate n3` and the like).
    pub node_names: Vec<String>,
}

impl Prepared {
    /// The borrowed view [`select`] takes.
    pub fn cluster(&self) -> Cluster<'_> {
        Cluster {
            graph: &self.graph,
            machines: self.machines.clone(),
            nodes: self.nodes.clone(),
        }
    }

    /// Index of the node called `name`.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.node_names.iter().position(|n| n == name)
    }

    /// Indices of the nodes of site `site`.
    pub fn site_nodes(&self, inventory: &Inventory, site: &str) -> Vec<usize> {
        inventory
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.site == site)
            .map(|(i, _)| i)
            .collect()
    }
}

/// Turns a graph and an inventory into the plain inputs of [`select`]: a VM on a
/// cloud site is [`Role::InCloud`], a pinned VM [`Role::Stays`], any other VM
/// [`Role::Movable`], and a graph vertex that is not in the inventory (an
/// external peer) takes the role `external`. Pure: no file is read here.
pub fn prepare(graph: &Graph, inventory: &Inventory, external: Role) -> Prepared {
    let mut b = GraphBuilder::new();
    for name in graph.names() {
        b.add_vertex(name);
    }
    for (u, v, w) in graph.edges() {
        // The weights come from a valid graph, so they are accepted again.
        let _ = b.add_edge(graph.name(u), graph.name(v), w);
    }
    for vm in &inventory.vms {
        b.add_vertex(&vm.name);
    }
    let graph = b.build();
    let node_names: Vec<String> = inventory.nodes.iter().map(|n| n.name.clone()).collect();
    let cloud = |site: &str| {
        inventory
            .sites
            .iter()
            .any(|s| s.name == site && s.kind == SiteKind::Cloud)
    };
    let by_name: std::collections::HashMap<&str, &convoy_model::Vm> = inventory
        .vms
        .iter()
        .map(|vm| (vm.name.as_str(), vm))
        .collect();
    let node_index: std::collections::HashMap<&str, usize> = node_names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let machines = graph
        .names()
        .iter()
        .map(|name| match by_name.get(name.as_str()) {
            Some(vm) => Machine {
                node: node_index.get(vm.node.as_str()).copied(),
                vcpus: u64::from(vm.vcpus),
                memory_mib: vm.memory_mib,
                role: if cloud(&vm.site) {
                    Role::InCloud
                } else if vm.pinned {
                    Role::Stays
                } else {
                    Role::Movable
                },
            },
            None => Machine {
                node: None,
                vcpus: 0,
                memory_mib: 0,
                role: external,
            },
        })
        .collect();
    let nodes = inventory
        .nodes
        .iter()
        .map(|n| Capacity {
            vcpus: u64::from(n.vcpus),
            memory_mib: n.memory_mib,
        })
        .collect();
    Prepared {
        graph,
        machines,
        nodes,
        node_names,
    }
}

/// The permanent cut of moving `moved` (plus the [`Role::InCloud`] vertices):
/// the total weight of edges with exactly one end on the cloud side.
pub fn permanent_cut(cluster: &Cluster<'_>, moved: &[usize]) -> f64 {
    let mut side: Vec<bool> = cluster
        .machines
        .iter()
        .map(|m| m.role == Role::InCloud)
        .collect();
    for &v in moved {
        if let Some(s) = side.get_mut(v) {
            *s = true;
        }
    }
    cluster
        .graph
        .edges()
        .filter(|&(u, v, _)| side[u] != side[v])
        .map(|e| e.2)
        .sum::<f64>()
        // An empty sum is -0.0; report +0.0.
        + 0.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoControl;

    fn cluster<'g>(g: &'g Graph, nodes: &[usize], vcpus: &[u64]) -> Cluster<'g> {
        Cluster {
            graph: g,
            machines: nodes
                .iter()
                .zip(vcpus)
                .map(|(&k, &c)| Machine {
                    node: Some(k),
                    vcpus: c,
                    memory_mib: 1024 * c,
                    role: Role::Movable,
                })
                .collect(),
            nodes: vec![
                Capacity {
                    vcpus: 8,
                    memory_mib: 8192
                };
                2
            ],
        }
    }

    #[test]
    fn moves_the_loosely_attached_vm() {
        // Path 0-1-2 on node 0, 3 on node 1; 0 talks to 3 on node 1 heavily.
        let mut b = convoy_model::GraphBuilder::new();
        for v in ["a", "b", "c", "d"] {
            b.add_vertex(v);
        }
        b.add_edge("a", "b", 5.0).unwrap();
        b.add_edge("b", "c", 1.0).unwrap();
        b.add_edge("a", "d", 100.0).unwrap();
        let g = b.build();
        let c = cluster(&g, &[0, 0, 0, 1], &[2, 2, 2, 2]);
        let need = Need {
            free: vec![FreeCapacity {
                nodes: vec![0],
                vcpus: 2,
                ..Default::default()
            }],
            ..Default::default()
        };
        let s = select(&c, &need, &SelectOptions::default(), &NoControl).unwrap();
        assert_eq!(s.moved, vec![2]);
        assert_eq!(s.cut, 1.0);
        assert!(s.optimal);
        assert_eq!(s.lower_bound, 1.0);
    }

    #[test]
    fn empty_inputs_are_fine() {
        let g = Graph::from_edges(0, &[]);
        let c = Cluster {
            graph: &g,
            machines: vec![],
            nodes: vec![],
        };
        let s = select(&c, &Need::default(), &SelectOptions::default(), &NoControl).unwrap();
        assert!(s.moved.is_empty() && s.optimal && s.cut == 0.0);
        let e = select(
            &c,
            &Need {
                evacuate: vec![3],
                ..Need::default()
            },
            &SelectOptions::default(),
            &NoControl,
        )
        .unwrap_err();
        assert!(matches!(e, SelectError::BadInput(_)));
    }

    #[test]
    fn headroom_accounts_for_what_is_already_free() {
        let g = Graph::from_edges(3, &[]);
        // Node 0: capacity 8, used 6 → 2 already free; headroom 4 needs 2 released.
        let c = cluster(&g, &[0, 0, 0], &[2, 2, 2]);
        let need = Need {
            free: vec![FreeCapacity {
                nodes: vec![0],
                vcpus: 4,
                measure: Measure::Headroom,
                ..Default::default()
            }],
            ..Default::default()
        };
        let s = select(&c, &need, &SelectOptions::default(), &NoControl).unwrap();
        assert_eq!(s.moved.len(), 1);
        assert_eq!(s.freed[0].headroom_vcpus, 4);
    }
}
