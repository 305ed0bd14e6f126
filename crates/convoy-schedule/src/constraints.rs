//! Operators' constraints on a plan, and the planner that honours them or says
//! which of them cannot be honoured together.
//!
//! # Constraints
//!
//! All constraints name graph vertices (the caller resolves VM names):
//!
//! - **together**: the VMs of a group move in the same wave (without waves:
//!   back to back, as one block; groups that share a VM form one block);
//! - **before** `(a, b)`: `a` moves in a strictly earlier wave than `b`
//!   (without waves: at an earlier position);
//! - **not after** `(a, b)`: `a` moves in the same wave as `b` or an earlier
//!   one (without waves: at an earlier position);
//! - **stay**: the VM never moves (its anchor must be [`Anchor::Stays`]; see
//!   [`Constraints::apply_stays`]);
//! - **node limit**: at most `max` of the listed VMs (those of one source
//!   node) move in the same wave. Without waves one VM moves at a time, so
//!   only `max = 0` can bite.
//!
//! Vertices that do not move take part as fixed points: a cloud peer has
//! moved before every wave, a staying VM after every wave. A constraint
//! between two vertices that do not move holds vacuously; one that needs a
//! fixed vertex on the wrong side of a mover (a staying VM that must move
//! before another) is a [`Conflict::Fixed`].
//!
//! # Method
//!
//! 1. Together-groups are contracted into units (union–find).
//! 2. The precedence graph on units is split into strongly connected
//!    components (Kosaraju). With waves, a component joined only by
//!    "not after" edges must move in one wave and is merged into one unit; a
//!    component holding a "before" edge is a cycle and infeasible (the cycle
//!    is reported with its VMs and constraints). Without waves every edge is
//!    strict, so every non-trivial component is a cycle.
//! 3. Each unit must fit in a wave (at most K VMs, node limits): otherwise
//!    the constraints that forced it together are reported.
//!
//!    These checks are complete: when they pass, every unit alone in its own
//!    wave, in any topological order, satisfies every constraint.
//! 4. A topological order of the units close to the objective's
//!    unconstrained order (Kahn's algorithm with a priority queue keyed by the
//!    units' mean unconstrained position).
//! 5. For the stretch, constraint-preserving local search on the sequential
//!    stretch: a unit is moved by adjacent swaps with units it has no
//!    precedence with (the insertion neighbourhood of Petit, "Experiments on
//!    the minimum linear arrangement problem", JEA 2003, restricted to
//!    precedence-respecting moves).
//! 6. The wave dynamic programme of [`crate::waves`], with cuts only between
//!    units, no "before" pair inside a wave and node limits per wave.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::arrangement::{Anchor, ArrangementError, Options, Problem, TimeModel};
use crate::budget::{Budget, Control};
use crate::waves::{self, Objective, WavePlan, Waves};

/// At most `max` of `vms` (the VMs of one source node) move in the same wave.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeLimit {
    /// The node's name (for messages).
    pub node: String,
    /// Its VMs (graph vertices).
    pub vms: Vec<usize>,
    /// Largest number of them in one wave.
    pub max: usize,
}

/// The constraints of a plan, on graph vertices.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Constraints {
    /// Groups that move in the same wave.
    pub together: Vec<Vec<usize>>,
    /// `(a, b)`: `a` in a strictly earlier wave than `b`.
    pub before: Vec<(usize, usize)>,
    /// `(a, b)`: `a` in the same wave as `b` or an earlier one.
    pub not_after: Vec<(usize, usize)>,
    /// VMs that never move.
    pub stay: Vec<usize>,
    /// Per-node concurrency limits.
    pub node_limits: Vec<NodeLimit>,
}

impl Constraints {
    /// Whether there is no constraint at all.
    pub fn is_empty(&self) -> bool {
        self.together.is_empty()
            && self.before.is_empty()
            && self.not_after.is_empty()
            && self.stay.is_empty()
            && self.node_limits.is_empty()
    }

    /// Marks the staying VMs in `anchors` (one entry per graph vertex; out-of-range indices are skipped,
    /// [`plan`] reports them).
    pub fn apply_stays(&self, anchors: &mut [Anchor]) {
        for &v in &self.stay {
            if let Some(a) = anchors.get_mut(v) {
                *a = Anchor::Stays;
            }
        }
    }
}

impl Constraints {
    /// Resolves a constraints file: VM names through `vertex` (graph index),
    /// node limits onto `nodes` (each source node's name and its VMs' graph
    /// indices; nodes without a limit in the file are left free). Indices of
    /// the result follow the file's lists, so [`source_line`] finds the line of
    /// any [`ConstraintRef`]. Returns the first name `vertex` does not know
    /// (callers normally run [`convoy_model::ConstraintsFile::check_names`] first).
    pub fn from_file(
        file: &convoy_model::ConstraintsFile,
        vertex: &dyn Fn(&str) -> Option<usize>,
        nodes: &[(String, Vec<usize>)],
    ) -> Result<Constraints, convoy_model::Named> {
        let v = |n: &convoy_model::Named| vertex(&n.name).ok_or_else(|| n.clone());
        let pairs = |ps: &[convoy_model::Precedence]| {
            ps.iter()
                .map(|p| Ok((v(&p.first)?, v(&p.then)?)))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Constraints {
            together: file
                .together
                .iter()
                .map(|g| g.vms.iter().map(v).collect::<Result<Vec<_>, _>>())
                .collect::<Result<_, _>>()?,
            before: pairs(&file.before)?,
            not_after: pairs(&file.not_after)?,
            stay: file.stay.iter().map(v).collect::<Result<_, _>>()?,
            node_limits: nodes
                .iter()
                .filter_map(|(node, vms)| {
                    file.limit_of(node).map(|max| NodeLimit {
                        node: node.clone(),
                        vms: vms.clone(),
                        max: max as usize,
                    })
                })
                .collect(),
        })
    }
}

/// The line of `c` in the file `constraints` were resolved from by
/// [`Constraints::from_file`] (0 when unknown).
pub fn source_line(
    file: &convoy_model::ConstraintsFile,
    constraints: &Constraints,
    c: ConstraintRef,
) -> usize {
    match c {
        ConstraintRef::Together(i) => file.together.get(i).map_or(0, |g| g.line),
        ConstraintRef::Before(i) => file.before.get(i).map_or(0, |p| p.line),
        ConstraintRef::NotAfter(i) => file.not_after.get(i).map_or(0, |p| p.line),
        ConstraintRef::Stay(i) => file.stay.get(i).map_or(0, |n| n.line),
        ConstraintRef::NodeLimit(i) => constraints.node_limits.get(i).map_or(0, |l| {
            file.node_limits
                .iter()
                .find(|c| c.node.as_deref() == Some(l.node.as_str()))
                .or(file.max_per_node.as_ref())
                .map_or(0, |c| c.line)
        }),
    }
}

/// Names one constraint: its kind and its index in that kind's list of [`Constraints`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConstraintRef {
    /// `together[i]`.
    Together(usize),
    /// `before[i]`.
    Before(usize),
    /// `not_after[i]`.
    NotAfter(usize),
    /// `stay[i]`.
    Stay(usize),
    /// `node_limits[i]`.
    NodeLimit(usize),
}

impl std::fmt::Display for ConstraintRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConstraintRef::Together(i) => write!(f, "together[{i}]"),
            ConstraintRef::Before(i) => write!(f, "before[{i}]"),
            ConstraintRef::NotAfter(i) => write!(f, "not_after[{i}]"),
            ConstraintRef::Stay(i) => write!(f, "stay[{i}]"),
            ConstraintRef::NodeLimit(i) => write!(f, "node_limits[{i}]"),
        }
    }
}

/// One reason why the constraints cannot all hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// A constraint names a vertex that is not in the graph.
    UnknownVertex {
        /// The constraint.
        constraint: ConstraintRef,
        /// The index given.
        vertex: usize,
    },
    /// A VM pinned to stay is among the problem's movers.
    StayMoves {
        /// The stay constraint.
        constraint: ConstraintRef,
        /// The VM.
        vertex: usize,
    },
    /// A together-group holds a VM that moves and one that does not.
    GroupSplit {
        /// The group.
        constraint: ConstraintRef,
        /// A member that moves.
        moving: usize,
        /// A member that stays (or is already in the cloud).
        fixed: usize,
    },
    /// A precedence needs a vertex that does not move on the wrong side of a
    /// mover: a staying VM that must move before (or with) another, or a VM
    /// that must move before a peer already in the cloud.
    Fixed {
        /// The precedence.
        constraint: ConstraintRef,
        /// The vertex that does not move.
        vertex: usize,
        /// Whether it stays (else it is already in the cloud).
        stays: bool,
    },
    /// A precedence cycle: following the constraints from the first VM leads
    /// back to it with at least one strict step (or, without waves, any
    /// step). Together-groups the cycle passes through are listed too.
    Cycle {
        /// The VMs along the cycle, in order.
        vertices: Vec<usize>,
        /// The constraints that make it.
        constraints: Vec<ConstraintRef>,
    },
    /// VMs that the constraints force into one wave are more than a wave holds.
    TooLarge {
        /// The VMs.
        vertices: Vec<usize>,
        /// The together-groups and "not after" cycles that force them together.
        constraints: Vec<ConstraintRef>,
        /// The wave size.
        max: usize,
    },
    /// VMs that the constraints force into one wave exceed a node's limit.
    NodeLimit {
        /// The node limit.
        constraint: ConstraintRef,
        /// The node's VMs in the forced wave.
        vertices: Vec<usize>,
        /// The constraints that force them together (empty when the limit is 0).
        forced_by: Vec<ConstraintRef>,
        /// The limit.
        max: usize,
    },
}

impl Conflict {
    /// A one-line explanation, with VM and constraint names from the caller.
    pub fn describe(
        &self,
        vm: &dyn Fn(usize) -> String,
        constraint: &dyn Fn(ConstraintRef) -> String,
    ) -> String {
        let vms = |vs: &[usize]| vs.iter().map(|&v| vm(v)).collect::<Vec<_>>().join(", ");
        let refs = |cs: &[ConstraintRef]| {
            cs.iter()
                .map(|&c| constraint(c))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Conflict::UnknownVertex {
                constraint: c,
                vertex,
            } => {
                format!(
                    "{} names vertex {vertex}, which is not in the graph",
                    constraint(*c)
                )
            }
            Conflict::StayMoves {
                constraint: c,
                vertex,
            } => format!(
                "{} pins {} to stay, but it is among the VMs to move",
                constraint(*c),
                vm(*vertex)
            ),
            Conflict::GroupSplit {
                constraint: c,
                moving,
                fixed,
            } => format!(
                "{} puts {} (which moves) in one wave with {} (which does not move)",
                constraint(*c),
                vm(*moving),
                vm(*fixed)
            ),
            Conflict::Fixed {
                constraint: c,
                vertex,
                stays,
            } => {
                if *stays {
                    format!(
                        "{} needs {} to move, but it stays",
                        constraint(*c),
                        vm(*vertex)
                    )
                } else {
                    format!(
                        "{} needs a VM to move before {}, which is already in the cloud",
                        constraint(*c),
                        vm(*vertex)
                    )
                }
            }
            Conflict::Cycle {
                vertices,
                constraints,
            } => format!(
                "precedence cycle through {} ({})",
                vms(vertices),
                refs(constraints)
            ),
            Conflict::TooLarge {
                vertices,
                constraints,
                max,
            } => format!(
                "{} VMs must move in one wave ({}: {}), but a wave holds at most {max}",
                vertices.len(),
                refs(constraints),
                vms(vertices)
            ),
            Conflict::NodeLimit {
                constraint: c,
                vertices,
                forced_by,
                max,
            } => {
                if forced_by.is_empty() {
                    format!(
                        "{} allows {max} moves at once, but {} must move",
                        constraint(*c),
                        vms(vertices)
                    )
                } else {
                    format!(
                        "{} allows {max} moves at once, but {} must move in one wave ({})",
                        constraint(*c),
                        vms(vertices),
                        refs(forced_by)
                    )
                }
            }
        }
    }
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe(&|v| format!("vertex {v}"), &|c| c.to_string()))
    }
}

/// Why [`plan`] returned no plan.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanError {
    /// The constraints cannot all hold; every conflict found is listed.
    Infeasible(Vec<Conflict>),
    /// The inputs are inconsistent (start order, anchors).
    Input(ArrangementError),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::Infeasible(cs) => {
                write!(f, "the constraints cannot all hold: ")?;
                for (i, c) in cs.iter().enumerate() {
                    if i > 0 {
                        write!(f, "; ")?;
                    }
                    write!(f, "{c}")?;
                }
                Ok(())
            }
            PlanError::Input(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for PlanError {}

/// What [`plan`] works on.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The objective's problem (built with the stays of the constraints applied).
    pub problem: &'a Problem,
    /// The anchors the problem was built from (one per graph vertex).
    pub anchors: &'a [Anchor],
    /// The time model the problem was built with (decides how long a wave takes).
    pub time: &'a TimeModel,
    /// The constraints.
    pub constraints: &'a Constraints,
    /// The objective's unconstrained order (graph vertices, every mover
    /// once), or `None` to solve for it first with half of the effort.
    pub start: Option<&'a [usize]>,
    /// How the plan is cut into waves.
    pub waves: Waves,
    /// The objective.
    pub objective: Objective,
}

/// A precedence between two movers (local indices).
#[derive(Debug, Clone, Copy)]
struct Edge {
    a: usize,
    b: usize,
    strict: bool,
    cref: ConstraintRef,
}

/// Where a constrained vertex stands.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    Mover(usize),
    Cloud,
    Stays,
}

/// The units of the plan and the precedences between them.
struct Structure {
    /// Unit of each mover (local index).
    unit: Vec<usize>,
    /// Members of each unit (local indices).
    members: Vec<Vec<usize>>,
    /// Edges between movers, all kept (intra-unit ones matter without waves).
    edges: Vec<Edge>,
}

/// Union–find with path halving.
fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Strongly connected components (Kosaraju, iterative): component id of each node.
fn scc(n: usize, adj: &[Vec<(usize, usize)>]) -> Vec<usize> {
    let mut radj = vec![Vec::new(); n];
    for (u, out) in adj.iter().enumerate() {
        for &(v, _) in out {
            radj[v].push(u);
        }
    }
    let mut seen = vec![false; n];
    let mut post = Vec::with_capacity(n);
    for s in 0..n {
        if seen[s] {
            continue;
        }
        seen[s] = true;
        let mut stack = vec![(s, 0usize)];
        while let Some(&mut (u, ref mut i)) = stack.last_mut() {
            if *i < adj[u].len() {
                let v = adj[u][*i].0;
                *i += 1;
                if !seen[v] {
                    seen[v] = true;
                    stack.push((v, 0));
                }
            } else {
                post.push(u);
                stack.pop();
            }
        }
    }
    let mut comp = vec![usize::MAX; n];
    let mut c = 0;
    for &s in post.iter().rev() {
        if comp[s] != usize::MAX {
            continue;
        }
        comp[s] = c;
        let mut stack = vec![s];
        while let Some(u) = stack.pop() {
            for &v in &radj[u] {
                if comp[v] == usize::MAX {
                    comp[v] = c;
                    stack.push(v);
                }
            }
        }
        c += 1;
    }
    comp
}

/// Shortest path (edge ids) from `from` to `to` through nodes of component `c`.
fn bfs_path(
    adj: &[Vec<(usize, usize)>],
    comp: &[usize],
    from: usize,
    to: usize,
) -> Option<Vec<usize>> {
    let c = comp[from];
    let mut via = vec![usize::MAX; adj.len()];
    let mut prev = vec![usize::MAX; adj.len()];
    let mut seen = vec![false; adj.len()];
    seen[from] = true;
    let mut queue = std::collections::VecDeque::from([from]);
    while let Some(u) = queue.pop_front() {
        if u == to {
            let mut path = Vec::new();
            let mut x = to;
            while x != from {
                path.push(via[x]);
                x = prev[x];
            }
            path.reverse();
            return Some(path);
        }
        for &(v, e) in &adj[u] {
            if comp[v] == c && !seen[v] {
                seen[v] = true;
                via[v] = e;
                prev[v] = u;
                queue.push_back(v);
            }
        }
    }
    None
}

/// The cycle conflict made of `cycle` (edge ids), with the groups of the units it crosses.
fn cycle_conflict(
    cycle: &[usize],
    edges: &[Edge],
    unit_refs: &dyn Fn(usize) -> Vec<ConstraintRef>,
    movers: &[usize],
) -> Conflict {
    let mut vertices: Vec<usize> = Vec::new();
    let mut constraints = Vec::new();
    for &e in cycle {
        let Edge { a, b, cref, .. } = edges[e];
        for x in [a, b] {
            if vertices.last() != Some(&movers[x]) {
                vertices.push(movers[x]);
            }
            constraints.extend(unit_refs(x));
        }
        constraints.push(cref);
    }
    if vertices.len() > 1 && vertices.first() == vertices.last() {
        vertices.pop();
    }
    constraints.sort();
    constraints.dedup();
    Conflict::Cycle {
        vertices,
        constraints,
    }
}

/// Checks the constraints against the problem and builds the units; every
/// conflict found is returned.
fn structure(req: &Request<'_>) -> Result<Structure, PlanError> {
    let c = req.constraints;
    let n = req.anchors.len();
    let problem = req.problem;
    let movers = problem.movers();
    let sequential = req.waves == Waves::Sequential;
    let k = req.waves.max_size();

    // The anchors must be the problem's.
    let moving: Vec<usize> = (0..n)
        .filter(|&v| req.anchors[v] == Anchor::Moves)
        .collect();
    if moving != movers {
        return Err(PlanError::Input(ArrangementError::BadOrder(
            "the anchors do not match the problem's movers".into(),
        )));
    }
    let mut local = vec![usize::MAX; n];
    for (i, &v) in movers.iter().enumerate() {
        local[v] = i;
    }
    let place = |v: usize| match req.anchors[v] {
        Anchor::Moves => Place::Mover(local[v]),
        Anchor::Cloud => Place::Cloud,
        Anchor::Stays => Place::Stays,
    };

    // 1. Vertex indices.
    let mut conflicts = Vec::new();
    let check = |cref: ConstraintRef, v: usize, out: &mut Vec<Conflict>| {
        if v >= n {
            out.push(Conflict::UnknownVertex {
                constraint: cref,
                vertex: v,
            });
        }
    };
    for (i, g) in c.together.iter().enumerate() {
        g.iter()
            .for_each(|&v| check(ConstraintRef::Together(i), v, &mut conflicts));
    }
    for (i, &(a, b)) in c.before.iter().enumerate() {
        check(ConstraintRef::Before(i), a, &mut conflicts);
        check(ConstraintRef::Before(i), b, &mut conflicts);
    }
    for (i, &(a, b)) in c.not_after.iter().enumerate() {
        check(ConstraintRef::NotAfter(i), a, &mut conflicts);
        check(ConstraintRef::NotAfter(i), b, &mut conflicts);
    }
    for (i, &v) in c.stay.iter().enumerate() {
        check(ConstraintRef::Stay(i), v, &mut conflicts);
    }
    for (i, l) in c.node_limits.iter().enumerate() {
        l.vms
            .iter()
            .for_each(|&v| check(ConstraintRef::NodeLimit(i), v, &mut conflicts));
    }
    if !conflicts.is_empty() {
        return Err(PlanError::Infeasible(conflicts));
    }

    // 2. Stays, mixed groups, precedences with fixed vertices.
    for (i, &v) in c.stay.iter().enumerate() {
        if req.anchors[v] == Anchor::Moves {
            conflicts.push(Conflict::StayMoves {
                constraint: ConstraintRef::Stay(i),
                vertex: v,
            });
        }
    }
    for (i, g) in c.together.iter().enumerate() {
        let m = g.iter().find(|&&v| req.anchors[v] == Anchor::Moves);
        let f = g.iter().find(|&&v| req.anchors[v] != Anchor::Moves);
        if let (Some(&moving), Some(&fixed)) = (m, f) {
            conflicts.push(Conflict::GroupSplit {
                constraint: ConstraintRef::Together(i),
                moving,
                fixed,
            });
        }
    }
    let mut edges = Vec::new();
    let pairs = c
        .before
        .iter()
        .enumerate()
        .map(|(i, &p)| (p, true, ConstraintRef::Before(i)))
        .chain(
            c.not_after
                .iter()
                .enumerate()
                .map(|(i, &p)| (p, false, ConstraintRef::NotAfter(i))),
        );
    for ((a, b), strict, cref) in pairs {
        match (place(a), place(b)) {
            (Place::Mover(la), Place::Mover(lb)) => {
                if la == lb {
                    if strict {
                        conflicts.push(Conflict::Cycle {
                            vertices: vec![a],
                            constraints: vec![cref],
                        });
                    }
                    continue;
                }
                edges.push(Edge {
                    a: la,
                    b: lb,
                    strict: strict || sequential,
                    cref,
                });
            }
            // A staying VM cannot come before a mover.
            (Place::Stays, Place::Mover(_)) => conflicts.push(Conflict::Fixed {
                constraint: cref,
                vertex: a,
                stays: true,
            }),
            // Nothing comes before a peer already in the cloud.
            (Place::Mover(_), Place::Cloud) => conflicts.push(Conflict::Fixed {
                constraint: cref,
                vertex: b,
                stays: false,
            }),
            // Cloud before a mover, a mover before a staying VM, or two
            // vertices that do not move: holds whatever the plan.
            _ => {}
        }
    }
    if !conflicts.is_empty() {
        return Err(PlanError::Infeasible(conflicts));
    }

    // 3. Units from together-groups.
    let m = movers.len();
    let mut parent: Vec<usize> = (0..m).collect();
    // Groups of vertices that do not move hold vacuously (mixed ones were refused).
    let moving_group = |g: &Vec<usize>| g.first().is_some_and(|&v| local[v] != usize::MAX);
    for g in c.together.iter().filter(|g| moving_group(g)) {
        let ls: Vec<usize> = g.iter().map(|&v| local[v]).collect();
        for w in ls.windows(2) {
            let (x, y) = (find(&mut parent, w[0]), find(&mut parent, w[1]));
            parent[x.max(y)] = x.min(y);
        }
    }
    let mut group_refs: Vec<Vec<ConstraintRef>> = vec![Vec::new(); m];
    for (i, g) in c.together.iter().enumerate() {
        if g.len() > 1 && moving_group(g) {
            let r = find(&mut parent, local[g[0]]);
            group_refs[r].push(ConstraintRef::Together(i));
        }
    }
    let mut root: Vec<usize> = (0..m).map(|x| find(&mut parent, x)).collect();
    // Refs of the unit holding local vertex x (the groups that merged it).
    let refs_now =
        |root: &[usize], group_refs: &[Vec<ConstraintRef>], x: usize| group_refs[root[x]].clone();

    // 4. Components of the precedence graph on units.
    let mut adj = vec![Vec::new(); m];
    for (e, edge) in edges.iter().enumerate() {
        let (ra, rb) = (root[edge.a], root[edge.b]);
        if ra == rb {
            if edge.strict && !sequential {
                let mut constraints = refs_now(&root, &group_refs, edge.a);
                constraints.push(edge.cref);
                constraints.sort();
                conflicts.push(Conflict::Cycle {
                    vertices: vec![movers[edge.a], movers[edge.b]],
                    constraints,
                });
            }
        } else {
            adj[ra].push((rb, e));
        }
    }
    let comp = scc(m, &adj);
    let mut comp_size = vec![0usize; m];
    for r in 0..m {
        if root[r] == r {
            comp_size[comp[r]] += 1;
        }
    }
    let mut reported = vec![false; m];
    let mut merge = Vec::new();
    for (e, edge) in edges.iter().enumerate() {
        let (ra, rb) = (root[edge.a], root[edge.b]);
        if ra == rb || comp[ra] != comp[rb] {
            continue;
        }
        if edge.strict {
            if !std::mem::replace(&mut reported[comp[ra]], true) {
                let mut cycle = vec![e];
                cycle.extend(bfs_path(&adj, &comp, rb, ra).unwrap_or_default());
                conflicts.push(cycle_conflict(
                    &cycle,
                    &edges,
                    &|x| refs_now(&root, &group_refs, x),
                    movers,
                ));
            }
        } else {
            merge.push(e);
        }
    }
    // Sequential: a cycle inside a unit (the order within a block).
    if sequential {
        let mut inner = vec![Vec::new(); m];
        for (e, edge) in edges.iter().enumerate() {
            if root[edge.a] == root[edge.b] {
                inner[edge.a].push((edge.b, e));
            }
        }
        let icomp = scc(m, &inner);
        let mut seen = vec![false; m];
        for (e, edge) in edges.iter().enumerate() {
            if root[edge.a] == root[edge.b]
                && icomp[edge.a] == icomp[edge.b]
                && !std::mem::replace(&mut seen[icomp[edge.a]], true)
            {
                let mut cycle = vec![e];
                cycle.extend(bfs_path(&inner, &icomp, edge.b, edge.a).unwrap_or_default());
                conflicts.push(cycle_conflict(
                    &cycle,
                    &edges,
                    &|x| refs_now(&root, &group_refs, x),
                    movers,
                ));
            }
        }
    }
    if !conflicts.is_empty() {
        return Err(PlanError::Infeasible(conflicts));
    }
    // Waves: "not after" cycles force their units into one wave.
    for &e in &merge {
        let (x, y) = (find(&mut parent, edges[e].a), find(&mut parent, edges[e].b));
        let (lo, hi) = (x.min(y), x.max(y));
        if lo != hi {
            parent[hi] = lo;
            let moved = std::mem::take(&mut group_refs[hi]);
            group_refs[lo].extend(moved);
        }
        group_refs[lo].push(edges[e].cref);
    }
    root = (0..m).map(|x| find(&mut parent, x)).collect();

    // 5. Units fit a wave.
    let mut unit = vec![usize::MAX; m];
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut unit_refs: Vec<Vec<ConstraintRef>> = Vec::new();
    for x in 0..m {
        let r = root[x];
        if unit[r] == usize::MAX {
            unit[r] = members.len();
            members.push(Vec::new());
            let mut refs = group_refs[r].clone();
            refs.sort();
            refs.dedup();
            unit_refs.push(refs);
        }
        unit[x] = unit[r];
        members[unit[x]].push(x);
    }
    if !sequential {
        for (u, ms) in members.iter().enumerate() {
            if ms.len() > k {
                conflicts.push(Conflict::TooLarge {
                    vertices: ms.iter().map(|&x| movers[x]).collect(),
                    constraints: unit_refs[u].clone(),
                    max: k,
                });
            }
        }
    }
    for (i, l) in c.node_limits.iter().enumerate() {
        let mut on = vec![Vec::new(); members.len()];
        let mut vms = l.vms.clone();
        vms.sort_unstable();
        vms.dedup();
        for &v in &vms {
            if let Place::Mover(x) = place(v) {
                on[unit[x]].push(v);
            }
        }
        for (u, vs) in on.into_iter().enumerate() {
            let over = if sequential {
                l.max == 0 && !vs.is_empty()
            } else {
                vs.len() > l.max
            };
            if over {
                conflicts.push(Conflict::NodeLimit {
                    constraint: ConstraintRef::NodeLimit(i),
                    forced_by: if vs.len() > 1 {
                        unit_refs[u].clone()
                    } else {
                        Vec::new()
                    },
                    vertices: vs,
                    max: l.max,
                });
            }
        }
    }
    if !conflicts.is_empty() {
        return Err(PlanError::Infeasible(conflicts));
    }
    Ok(Structure {
        unit,
        members,
        edges,
    })
}

/// Checks the constraints without planning: `Ok` when some plan satisfies
/// them all (they are complete, see the module documentation).
pub fn check(req: &Request<'_>) -> Result<(), PlanError> {
    structure(req).map(|_| ())
}

/// A plan that satisfies every constraint, close to the best for the
/// objective, or the conflicts that make that impossible.
pub fn plan(
    req: &Request<'_>,
    options: &Options,
    control: &dyn Control,
) -> Result<WavePlan, PlanError> {
    let s = structure(req)?;
    let problem = req.problem;
    let arr = &problem.arr;
    let mut budget = Budget::new(options.effort, control);
    let start_local = match req.start {
        Some(order) => problem.to_local(order).map_err(PlanError::Input)?,
        None => {
            let half = Options {
                seed: options.seed,
                effort: options.effort / 2,
                // Only the order is used here.
                bound_effort: 0,
            };
            budget.spend(half.effort);
            let sol = match req.objective {
                Objective::Stretch => crate::stretch::solve(problem, &half, control),
                Objective::Cutwidth => crate::cutwidth::solve(problem, &half, control),
            };
            problem.to_local(&sol.order).map_err(PlanError::Input)?
        }
    };
    let m = arr.n();
    let nu = s.members.len();
    let start_pos = crate::positions(&start_local);

    // Unit DAG.
    let mut succ = vec![Vec::new(); nu];
    let mut indeg = vec![0usize; nu];
    for e in &s.edges {
        let (ua, ub) = (s.unit[e.a], s.unit[e.b]);
        if ua != ub {
            succ[ua].push(ub);
        }
    }
    for out in succ.iter_mut() {
        out.sort_unstable();
        out.dedup();
    }
    for out in &succ {
        for &v in out {
            indeg[v] += 1;
        }
    }
    // Priority: the members' mean unconstrained position, then the smallest member.
    let key: Vec<(f64, usize)> = s
        .members
        .iter()
        .map(|ms| {
            let mean = ms.iter().map(|&x| start_pos[x] as f64).sum::<f64>() / ms.len() as f64;
            (mean, ms.iter().map(|&x| start_pos[x]).min().unwrap_or(0))
        })
        .collect();
    let mut by_key: Vec<usize> = (0..nu).collect();
    by_key.sort_by(|&a, &b| key[a].0.total_cmp(&key[b].0).then(key[a].1.cmp(&key[b].1)));
    let mut rank = vec![0usize; nu];
    for (r, &u) in by_key.iter().enumerate() {
        rank[u] = r;
    }
    let mut heap: BinaryHeap<Reverse<(usize, usize)>> = (0..nu)
        .filter(|&u| indeg[u] == 0)
        .map(|u| Reverse((rank[u], u)))
        .collect();
    let mut seq = Vec::with_capacity(nu);
    while let Some(Reverse((_, u))) = heap.pop() {
        seq.push(u);
        for &v in &succ[u] {
            indeg[v] -= 1;
            if indeg[v] == 0 {
                heap.push(Reverse((rank[v], v)));
            }
        }
    }
    debug_assert_eq!(seq.len(), nu, "the unit graph is acyclic after the checks");

    // Order inside units: by unconstrained position, respecting the
    // intra-unit precedences (they only exist without waves).
    let mut members = s.members.clone();
    let mut inner_succ = vec![Vec::new(); m];
    let mut inner_deg = vec![0usize; m];
    // With waves a unit moves as one wave and its inner "not after" edges may
    // be cycles: only sequential blocks have an inner order to respect.
    let sequential = req.waves == Waves::Sequential;
    for e in &s.edges {
        if sequential && s.unit[e.a] == s.unit[e.b] {
            inner_succ[e.a].push(e.b);
            inner_deg[e.b] += 1;
        }
    }
    for ms in members.iter_mut() {
        let mut heap: BinaryHeap<Reverse<(usize, usize)>> = ms
            .iter()
            .filter(|&&x| inner_deg[x] == 0)
            .map(|&x| Reverse((start_pos[x], x)))
            .collect();
        let mut out = Vec::with_capacity(ms.len());
        while let Some(Reverse((_, x))) = heap.pop() {
            out.push(x);
            for &y in &inner_succ[x] {
                inner_deg[y] -= 1;
                if inner_deg[y] == 0 {
                    heap.push(Reverse((start_pos[y], y)));
                }
            }
        }
        debug_assert_eq!(out.len(), ms.len());
        *ms = out;
    }

    let expand = |seq: &[usize]| -> Vec<usize> {
        seq.iter()
            .flat_map(|&u| members[u].iter().copied())
            .collect()
    };
    let mut candidates = vec![seq.clone()];
    if req.objective == Objective::Stretch && nu > 1 {
        let mut searched = seq.clone();
        let mut child = budget.child(budget.remaining() / 2);
        improve_stretch(arr, &members, &s.unit, &succ, &mut searched, &mut child);
        budget.absorb(child);
        if searched != seq {
            candidates.push(searched);
        }
    }
    let mut best: Option<(Vec<usize>, WavePlan)> = None;
    for cand in candidates {
        let plan = cut_waves(req, &s, &expand(&cand));
        if best
            .as_ref()
            .is_none_or(|b| plan_key(req, &plan) < plan_key(req, &b.1))
        {
            best = Some((cand, plan));
        }
    }
    let Some((mut seq, mut plan)) = best else {
        return Ok(cut_waves(req, &s, &[]));
    };
    if nu > 1 {
        let mut child = budget.child(budget.remaining());
        improve_waves(req, &s, &expand, &succ, &mut seq, &mut plan, &mut child);
        budget.absorb(child);
    }
    Ok(plan)
}

/// How plans compare: fewest waves first under [`Waves::Fill`], then the objective.
fn plan_key(req: &Request<'_>, plan: &WavePlan) -> (usize, f64) {
    let count = match req.waves {
        Waves::Fill(_) => plan.waves.len(),
        _ => 0,
    };
    (count, plan.value)
}

/// Constraint-preserving insertion local search on the objective itself
/// (the wave programme re-run for every candidate order): each unit tries
/// the places up to [`WAVE_WINDOW`] units away that its precedences allow,
/// and moves to the best one when it is strictly better. This sees what the
/// sequential search cannot: that two talkative units next to each other
/// can share a wave, or that a node-limited VM is better moved elsewhere.
fn improve_waves(
    req: &Request<'_>,
    s: &Structure,
    expand: &dyn Fn(&[usize]) -> Vec<usize>,
    succ: &[Vec<usize>],
    seq: &mut [usize],
    plan: &mut WavePlan,
    budget: &mut Budget<'_>,
) {
    const WAVE_WINDOW: usize = 16;
    const PASSES: usize = 20;
    let nu = seq.len();
    let edge = |a: usize, b: usize| succ[a].binary_search(&b).is_ok();
    let arr = &req.problem.arr;
    let cost = (arr.n() * req.waves.max_size() + 2 * arr.edge_count() + 1) as u64;
    let mut current = plan_key(req, plan);
    let better = |a: (usize, f64), b: (usize, f64)| {
        a.0 < b.0 || (a.0 == b.0 && a.1 < b.1 - 1e-9 * (1.0 + b.1.abs()))
    };
    for _ in 0..PASSES {
        let mut improved = false;
        let snapshot = seq.to_vec();
        for &u in &snapshot {
            let start = seq.iter().position(|&x| x == u).unwrap_or(0);
            let mut best: Option<(usize, (usize, f64), WavePlan)> = None;
            let mut try_here = |seq: &[usize], at: usize, budget: &mut Budget<'_>| {
                if !budget.spend(cost) {
                    return false;
                }
                let p = cut_waves(req, s, &expand(seq));
                let k = plan_key(req, &p);
                let bar = best.as_ref().map_or(current, |b| b.1);
                if better(k, bar) {
                    best = Some((at, k, p));
                }
                true
            };
            let mut i = start;
            while i + 1 < nu && i - start < WAVE_WINDOW && !edge(u, seq[i + 1]) {
                seq.swap(i, i + 1);
                i += 1;
                if !try_here(seq, i, budget) {
                    break;
                }
            }
            while i > start {
                seq.swap(i - 1, i);
                i -= 1;
            }
            while i > 0 && start - i < WAVE_WINDOW && !edge(seq[i - 1], u) {
                seq.swap(i - 1, i);
                i -= 1;
                if !try_here(seq, i, budget) {
                    break;
                }
            }
            while i < start {
                seq.swap(i, i + 1);
                i += 1;
            }
            if let Some((at, k, p)) = best {
                if at > start {
                    seq[start..=at].rotate_left(1);
                } else {
                    seq[at..=start].rotate_right(1);
                }
                current = k;
                *plan = p;
                improved = true;
            }
            if budget.is_stopped() {
                return;
            }
        }
        if !improved {
            break;
        }
    }
}

/// Cuts a constraint-respecting order (local indices) into the best feasible waves.
fn cut_waves(req: &Request<'_>, s: &Structure, local: &[usize]) -> WavePlan {
    let problem = req.problem;
    let m = local.len();
    if req.waves == Waves::Sequential {
        let singles: Vec<Vec<usize>> = local.iter().map(|&x| vec![problem.movers()[x]]).collect();
        return waves::evaluate(problem, req.time, &singles, req.objective)
            .expect("a constraint-respecting order is a permutation of the movers");
    }
    let pos = crate::positions(local);
    // Cuts only between units.
    let mut can_cut = vec![true; m + 1];
    for i in 1..m {
        can_cut[i] = s.unit[local[i - 1]] != s.unit[local[i]];
    }
    // Earliest position of a strict successor: a wave [i, j) may not hold both.
    let mut first_succ = vec![usize::MAX; m];
    for e in s.edges.iter().filter(|e| e.strict) {
        first_succ[e.a] = first_succ[e.a].min(pos[e.b]);
    }
    // Node limits of each mover.
    let mut limits_of: Vec<Vec<usize>> = vec![Vec::new(); m];
    let local_of = |v: usize| problem.movers().binary_search(&v).ok();
    for (i, l) in req.constraints.node_limits.iter().enumerate() {
        let mut vms = l.vms.clone();
        vms.sort_unstable();
        vms.dedup();
        for v in vms {
            if let Some(x) = local_of(v) {
                limits_of[x].push(i);
            }
        }
    }
    let maxes: Vec<usize> = req.constraints.node_limits.iter().map(|l| l.max).collect();
    let mut count = vec![0usize; maxes.len()];
    let mut touched: Vec<usize> = Vec::new();
    let mut join = |i: usize, j: usize| {
        if i + 1 == j {
            for &l in &touched {
                count[l] = 0;
            }
            touched.clear();
        }
        let x = local[i];
        if first_succ[x] < j {
            return false;
        }
        for &l in &limits_of[x] {
            count[l] += 1;
            touched.push(l);
            if count[l] > maxes[l] {
                return false;
            }
        }
        true
    };
    waves::plan_local(
        problem,
        req.time,
        local,
        req.waves,
        req.objective,
        &can_cut,
        &mut join,
    )
}

/// Constraint-preserving insertion local search on the sequential stretch:
/// each unit slides left or right by adjacent swaps with units it has no
/// precedence with, up to [`WINDOW`] places, and stays at the best place seen.
fn improve_stretch(
    arr: &crate::arrangement::Arr,
    members: &[Vec<usize>],
    unit: &[usize],
    succ: &[Vec<usize>],
    seq: &mut [usize],
    budget: &mut Budget<'_>,
) {
    const WINDOW: usize = 64;
    const PASSES: usize = 50;
    let nu = seq.len();
    let dur: Vec<f64> = members
        .iter()
        .map(|ms| ms.iter().map(|&x| arr.dur[x]).sum())
        .collect();
    let edge = |a: usize, b: usize| succ[a].binary_search(&b).is_ok();
    let mut upos = vec![0usize; nu];
    let mut t = vec![0.0; arr.n()];
    let reset = |seq: &[usize], upos: &mut [usize], t: &mut [f64]| {
        let mut now = 0.0;
        for (i, &u) in seq.iter().enumerate() {
            upos[u] = i;
            for &x in &members[u] {
                now += arr.dur[x];
                t[x] = now;
            }
        }
    };
    reset(seq, &mut upos, &mut t);
    let scale = 1e-9
        * (1.0
            + arr
                .stretch(
                    &seq.iter()
                        .flat_map(|&u| members[u].clone())
                        .collect::<Vec<_>>(),
                )
                .abs());
    // Change of the stretch when unit `a`, just before unit `b`, swaps with it.
    let delta = |a: usize, b: usize, upos: &[usize], t: &[f64]| -> f64 {
        let (da, db) = (dur[a], dur[b]);
        let mut d = 0.0;
        for &x in &members[a] {
            d += db * arr.lin(x);
            for (y, w) in arr.nbrs(x) {
                let uy = unit[y];
                if uy == a {
                } else if uy == b {
                    let old = (t[x] - t[y]).abs();
                    let new = (t[x] + db - (t[y] - da)).abs();
                    d += w * (new - old);
                } else if upos[uy] < upos[a] {
                    d += w * db;
                } else {
                    d -= w * db;
                }
            }
        }
        for &x in &members[b] {
            d -= da * arr.lin(x);
            for (y, w) in arr.nbrs(x) {
                let uy = unit[y];
                if uy == a || uy == b {
                } else if upos[uy] < upos[a] {
                    d -= w * da;
                } else {
                    d += w * da;
                }
            }
        }
        d
    };
    let cost = |u: usize| -> u64 {
        1 + members[u]
            .iter()
            .map(|&x| arr.degree(x) as u64 + 1)
            .sum::<u64>()
    };
    // Swaps the unit at position i with the one at i + 1.
    let swap = |i: usize, seq: &mut [usize], upos: &mut [usize], t: &mut [f64]| {
        let (a, b) = (seq[i], seq[i + 1]);
        for &x in &members[a] {
            t[x] += dur[b];
        }
        for &x in &members[b] {
            t[x] -= dur[a];
        }
        seq.swap(i, i + 1);
        upos[a] = i + 1;
        upos[b] = i;
    };
    for _ in 0..PASSES {
        let mut improved = false;
        let snapshot = seq.to_vec();
        for &u in &snapshot {
            if budget.is_stopped() {
                return;
            }
            // Right.
            let start = upos[u];
            let (mut cum, mut best, mut best_at) = (0.0, 0.0, start);
            let mut i = start;
            while i + 1 < nu && i - start < WINDOW && !edge(u, seq[i + 1]) {
                let v = seq[i + 1];
                if !budget.spend(cost(u) + cost(v)) {
                    break;
                }
                cum += delta(u, v, &upos, &t);
                swap(i, seq, &mut upos, &mut t);
                i += 1;
                if cum < best - scale {
                    best = cum;
                    best_at = i;
                }
            }
            while i > best_at {
                swap(i - 1, seq, &mut upos, &mut t);
                i -= 1;
            }
            if best_at != start {
                improved = true;
                continue;
            }
            // Left.
            let (mut cum, mut best, mut best_at) = (0.0, 0.0, start);
            let mut i = start;
            while i > 0 && start - i < WINDOW && !edge(seq[i - 1], u) {
                let v = seq[i - 1];
                if !budget.spend(cost(u) + cost(v)) {
                    break;
                }
                cum += delta(v, u, &upos, &t);
                swap(i - 1, seq, &mut upos, &mut t);
                i -= 1;
                if cum < best - scale {
                    best = cum;
                    best_at = i;
                }
            }
            while i < best_at {
                swap(i, seq, &mut upos, &mut t);
                i += 1;
            }
            if best_at != start {
                improved = true;
            }
        }
        // Re-derive the times so that rounding does not accumulate.
        reset(seq, &mut upos, &mut t);
        if !improved {
            break;
        }
    }
}

/// The constraints a plan breaks (empty when it satisfies all of them).
///
/// `waves` lists the movers (graph vertices) wave by wave; with `sequential`
/// each VM is its own wave and together-groups must be consecutive (groups
/// that share a VM form one block).
pub fn violations(
    anchors: &[Anchor],
    constraints: &Constraints,
    waves: &[Vec<usize>],
    sequential: bool,
) -> Vec<ConstraintRef> {
    let n = anchors.len();
    let mut wave = vec![None; n];
    let mut pos = vec![usize::MAX; n];
    let mut p = 0;
    for (j, w) in waves.iter().enumerate() {
        for &v in w {
            if v < n {
                wave[v] = Some(j);
                pos[v] = p;
            }
            p += 1;
        }
    }
    let mut out = Vec::new();
    // Rank on a common line: cloud peers first, staying VMs last.
    let rank = |v: usize| -> Option<i64> {
        if v >= n {
            return None;
        }
        match anchors[v] {
            Anchor::Moves => wave[v].map(|w| if sequential { pos[v] as i64 } else { w as i64 }),
            Anchor::Cloud => Some(-1),
            Anchor::Stays => Some(i64::MAX),
        }
    };
    let moves = |v: usize| v < n && anchors[v] == Anchor::Moves;
    let mut parent: Vec<usize> = (0..n).collect();
    for g in &constraints.together {
        for w in g.windows(2) {
            if w[0] < n && w[1] < n {
                let (x, y) = (find(&mut parent, w[0]), find(&mut parent, w[1]));
                parent[x.max(y)] = x.min(y);
            }
        }
    }
    for (i, g) in constraints.together.iter().enumerate() {
        let ok = if g.iter().all(|&v| !moves(v)) {
            true
        } else if g.iter().any(|&v| !moves(v) || wave[v].is_none()) {
            false
        } else if sequential {
            // The block is the group merged with every group it shares a VM with.
            let r = find(&mut parent, g[0]);
            let mut ps: Vec<usize> = (0..n)
                .filter(|&v| moves(v) && find(&mut parent, v) == r)
                .map(|v| pos[v])
                .collect();
            ps.sort_unstable();
            ps.dedup();
            ps[ps.len() - 1] - ps[0] + 1 == ps.len()
        } else {
            g.iter().all(|&v| wave[v] == wave[g[0]])
        };
        if !ok {
            out.push(ConstraintRef::Together(i));
        }
    }
    let prec = |list: &[(usize, usize)], strict: bool, mk: fn(usize) -> ConstraintRef| {
        let mut bad = Vec::new();
        for (i, &(a, b)) in list.iter().enumerate() {
            if !moves(a) && !moves(b) && a < n && b < n {
                continue;
            }
            let ok = match (rank(a), rank(b)) {
                (Some(x), Some(y)) => {
                    if strict || sequential {
                        x < y || (a == b && !strict)
                    } else {
                        x <= y
                    }
                }
                _ => false,
            };
            if !ok {
                bad.push(mk(i));
            }
        }
        bad
    };
    out.extend(prec(&constraints.before, true, ConstraintRef::Before));
    out.extend(prec(&constraints.not_after, false, ConstraintRef::NotAfter));
    for (i, &v) in constraints.stay.iter().enumerate() {
        if v >= n || anchors[v] == Anchor::Moves || wave[v].is_some() {
            out.push(ConstraintRef::Stay(i));
        }
    }
    for (i, l) in constraints.node_limits.iter().enumerate() {
        let mut vms = l.vms.clone();
        vms.sort_unstable();
        vms.dedup();
        let mut per = vec![0usize; waves.len()];
        for &v in &vms {
            if v < n {
                if let Some(w) = wave[v] {
                    per[w] += 1;
                }
            }
        }
        let limit_hit = if sequential {
            l.max == 0 && per.iter().any(|&c| c > 0)
        } else {
            per.iter().any(|&c| c > l.max)
        };
        if limit_hit {
            out.push(ConstraintRef::NodeLimit(i));
        }
    }
    out
}
