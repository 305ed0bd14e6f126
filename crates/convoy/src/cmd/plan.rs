//! `convoy plan`: the migration order of a cluster.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use convoy_model::{read_constraints, ConstraintsFile, FileError, Graph, Plan};
use convoy_schedule::arrangement::{self, Anchor, Problem, TimeModel};
use convoy_schedule::bandwidth::{self, DEFAULT_EFFORT};
use convoy_schedule::constraints::{self, Constraints, PlanError};
use convoy_schedule::waves::{self, Waves};
use convoy_schedule::{cutwidth, online, stretch, Control, StopReason};

use super::simulate::{fmt_num, human_bits, human_bytes};
use super::{parse_seconds, Format};
use crate::input::{load_cluster, Cluster, InputError};
use crate::output::write_atomically;
use crate::progress::Search;

/// What the order minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Objective {
    /// The longest stretch: max over conversations of the moves between its two ends.
    Bandwidth,
    /// The application traffic that crosses the WAN during the move:
    /// Σ weight × time the conversation is split.
    Stretch,
    /// The peak WAN load of split conversations.
    Cutwidth,
}

impl Objective {
    fn name(self) -> &'static str {
        match self {
            Objective::Bandwidth => "bandwidth",
            Objective::Stretch => "stretch",
            Objective::Cutwidth => "cutwidth",
        }
    }
}

/// Arguments of `convoy plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Communication graph: CSV `a,b,weight` with a header, or MatrixMarket `.mtx`.
    pub graph: PathBuf,
    /// Inventory (TOML, or JSON by extension): graph vertices must be its VMs;
    /// its VMs absent from the graph move too; pinned VMs stay and VMs in a
    /// cloud site are already moved.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// What the order minimises. Default: stretch when the graph's weights
    /// differ (measured traffic), bandwidth when they are all equal.
    #[arg(long, value_enum)]
    pub objective: Option<Objective>,
    /// Link rate for move durations (with --inventory): a VM's move takes
    /// (memory + disk) / RATE, and stretch is weighted by real time. Without
    /// it every move takes one step.
    #[arg(long, value_name = "RATE", value_parser = convoy_sim::parse_rate)]
    pub link: Option<f64>,
    /// Move in waves of at most K VMs at once (sharing the link); the cut
    /// into waves is chosen for the objective.
    #[arg(long, value_name = "K", conflicts_with = "wave_size", value_parser = clap::value_parser!(u64).range(1..))]
    pub waves: Option<u64>,
    /// Move in waves of K VMs (as few waves as the constraints allow).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pub wave_size: Option<u64>,
    /// Constraints (TOML, or JSON by extension): VMs that stay, groups that
    /// move together, precedences, per-node limits. See docs/formats.md.
    #[arg(long, value_name = "FILE")]
    pub constraints: Option<PathBuf>,
    /// No plan in advance: replay the online chooser, which moves a random VM
    /// first, then each next VM with probability proportional to its observed
    /// traffic toward the VMs already moved.
    #[arg(long, conflicts_with_all = ["objective", "waves", "wave_size", "constraints"])]
    pub online: bool,
    /// With --online: the traffic the forwarding stubs would observe (a graph
    /// file, bytes per pair); default: the graph itself.
    #[arg(long, value_name = "FILE", requires = "online")]
    pub traces: Option<PathBuf>,
    /// Seed of the randomised search.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop the search after this many seconds and keep the best order found
    /// (the plan then says `"stopped_by": "time_limit"`). The lower bound's
    /// LP stops at the same moment, within one interior-point iteration,
    /// keeping the bound certified so far.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub time_limit: Option<f64>,
    /// Work budget in search steps: the same graph, seed and effort always give the same plan.
    #[arg(long, default_value_t = DEFAULT_EFFORT)]
    pub effort: u64,
    /// Work budget of the stretch lower bound's LP (same units; 0: the fast
    /// bounds only). It raises `lower_bound`, never changes the order.
    #[arg(long, default_value_t = convoy_schedule::arrangement::DEFAULT_BOUND_EFFORT)]
    pub bound_effort: u64,
    /// Output on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also write the plan (JSON) to this file.
    #[arg(short = 'o', long = "output", value_name = "PLAN")]
    pub output: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Everything a plan is computed from, besides the cluster.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// The objective; `None` picks one from the weights.
    pub objective: Option<Objective>,
    /// Link rate for move durations, bits/s.
    pub link_bps: Option<f64>,
    /// Seed.
    pub seed: u64,
    /// Work budget.
    pub effort: u64,
    /// Work budget of the lower bound's LP.
    pub bound_effort: u64,
    /// How the order is cut into waves.
    pub waves: Waves,
    /// Constraints, with the file they came from (for messages).
    pub constraints: Option<(PathBuf, ConstraintsFile)>,
}

impl PlanRequest {
    /// A request for `objective` with no waves and no constraints.
    pub fn simple(
        objective: Option<Objective>,
        link_bps: Option<f64>,
        seed: u64,
        effort: u64,
    ) -> Self {
        PlanRequest {
            objective,
            link_bps,
            seed,
            effort,
            bound_effort: convoy_schedule::arrangement::DEFAULT_BOUND_EFFORT,
            waves: Waves::Sequential,
            constraints: None,
        }
    }
}

/// The default objective: stretch when weights carry information, bandwidth otherwise.
pub fn default_objective(graph: &Graph) -> Objective {
    let mut weights = graph.edges().map(|e| e.2);
    match weights.next() {
        Some(first) if weights.any(|w| w != first) => Objective::Stretch,
        _ => Objective::Bandwidth,
    }
}

fn stopped(s: Option<StopReason>) -> Option<String> {
    s.map(|s| match s {
        StopReason::Interrupted => "time_limit".to_string(),
        StopReason::Effort => "effort".to_string(),
    })
}

/// What a solver returned, in graph-independent form.
struct Solved {
    order: Vec<String>,
    value: f64,
    lower_bound: Option<f64>,
    solver: String,
    stopped: Option<StopReason>,
    /// Why the lower bound's LP was cut short, if it was.
    bound_stopped: Option<StopReason>,
    waves: Vec<Vec<String>>,
    split: Vec<f64>,
}

/// Plans the cluster and checks the result before anyone sees it: the order
/// must be a permutation of the movers, and its figures are recomputed.
pub fn make_plan(
    cluster: &Cluster,
    request: &PlanRequest,
    control: &dyn Control,
) -> anyhow::Result<Plan> {
    let objective = request
        .objective
        .unwrap_or_else(|| default_objective(&cluster.traffic));
    let solved = if objective == Objective::Bandwidth {
        if request.waves != Waves::Sequential || request.constraints.is_some() {
            return Err(InputError(
                "waves and constraints need the stretch or cutwidth objective (--objective stretch)"
                    .into(),
            )
            .into());
        }
        solve_bandwidth(cluster, request, control)?
    } else {
        solve_arrangement(cluster, objective, request, control)?
    };
    // The movers' subgraph in plan order: its bandwidth, and a check that the
    // order names every mover once.
    let index: Vec<usize> = solved
        .order
        .iter()
        .map(|n| cluster.graph.index_of(n))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            anyhow::anyhow!("internal error: the order names a VM that does not move")
        })?;
    let mut seen = vec![false; cluster.graph.n()];
    anyhow::ensure!(
        index
            .iter()
            .all(|&v| !std::mem::replace(&mut seen[v], true)),
        "internal error: the planner returned a VM twice"
    );
    let moved = cluster.graph.induced(&index);
    let identity: Vec<usize> = (0..moved.n()).collect();
    let optimal = solved
        .lower_bound
        .is_some_and(|lb| solved.value <= lb + 1e-9 * lb.abs().max(1.0));
    Ok(Plan {
        objective: objective.name().into(),
        bandwidth: bandwidth::bandwidth_of(&moved, &identity) as u64,
        order: solved.order,
        objective_value: solved.value,
        lower_bound: solved.lower_bound,
        optimal,
        waves: solved.waves,
        wave_split_traffic: solved.split,
        permanent_cut: permanent_cut(cluster, request.constraints.as_ref().map(|c| &c.1)),
        constraints: request
            .constraints
            .as_ref()
            .map(|(_, c)| constraints_json(c)),
        solver: solved.solver,
        seed: request.seed,
        effort: request.effort,
        // Only the stretch bound uses it (and not for waves, which have none).
        bound_effort: if objective == Objective::Stretch && solved.lower_bound.is_some() {
            request.bound_effort
        } else {
            0
        },
        stopped_by: if optimal {
            None
        } else {
            stopped(solved.stopped)
        },
        bound_stopped_by: if optimal {
            None
        } else {
            stopped(solved.bound_stopped)
        },
        convoy_version: env!("CARGO_PKG_VERSION").into(),
    })
}

fn solve_bandwidth(
    cluster: &Cluster,
    request: &PlanRequest,
    control: &dyn Control,
) -> anyhow::Result<Solved> {
    let graph = &cluster.graph;
    let options = bandwidth::Options {
        seed: request.seed,
        effort: request.effort,
    };
    let s = bandwidth::solve(graph, &options, control);
    anyhow::ensure!(
        convoy_schedule::is_permutation(&s.order, graph.n()),
        "internal error: the planner returned an order that is not a permutation"
    );
    let width = bandwidth::bandwidth_of(graph, &s.order);
    anyhow::ensure!(
        width == s.bandwidth,
        "internal error: reported bandwidth {} but the order has {width}",
        s.bandwidth
    );
    Ok(Solved {
        order: s.order.iter().map(|&v| graph.name(v).to_string()).collect(),
        value: width as f64,
        lower_bound: Some(s.lower_bound as f64),
        solver: s.solver.clone(),
        stopped: s.stopped,
        bound_stopped: None,
        waves: Vec::new(),
        split: Vec::new(),
    })
}

fn solve_arrangement(
    cluster: &Cluster,
    objective: Objective,
    request: &PlanRequest,
    control: &dyn Control,
) -> anyhow::Result<Solved> {
    let t = &cluster.traffic;
    let time = time_model(cluster, request.link_bps)?;
    let mut anchors = anchors(cluster);
    let constraints = match &request.constraints {
        Some((path, file)) => Some(resolve_constraints(cluster, path, file)?),
        None => None,
    };
    if let Some(c) = &constraints {
        c.apply_stays(&mut anchors);
    }
    let problem = Problem::new(t, &anchors, &time).map_err(|e| anyhow::anyhow!("{e}"))?;
    let options = arrangement::Options {
        seed: request.seed,
        effort: request.effort,
        bound_effort: request.bound_effort,
    };
    let s = match objective {
        Objective::Stretch => stretch::solve(&problem, &options, control),
        _ => cutwidth::solve(&problem, &options, control),
    };
    let recompute = |order: &[usize]| match objective {
        Objective::Stretch => stretch::stretch_of(&problem, order),
        _ => cutwidth::cutwidth_of(&problem, order),
    };
    let recomputed = recompute(&s.order).map_err(|e| anyhow::anyhow!("internal error: {e}"))?;
    anyhow::ensure!(
        (recomputed - s.value).abs() <= 1e-6 * s.value.abs().max(1.0),
        "internal error: reported {} {} but the order has {recomputed}",
        objective.name(),
        s.value
    );
    let names =
        |vs: &[usize]| -> Vec<String> { vs.iter().map(|&v| t.name(v).to_string()).collect() };
    let Some(c) = constraints
        .filter(|c| !c.is_empty())
        .or_else(|| (request.waves != Waves::Sequential).then(Constraints::default))
    else {
        return Ok(Solved {
            order: names(&s.order),
            value: s.value,
            lower_bound: Some(s.lower_bound),
            solver: s.solver.clone(),
            stopped: s.stopped,
            bound_stopped: s.bound_stopped,
            waves: Vec::new(),
            split: Vec::new(),
        });
    };
    let wave_objective = match objective {
        Objective::Stretch => waves::Objective::Stretch,
        _ => waves::Objective::Cutwidth,
    };
    let req = constraints::Request {
        problem: &problem,
        anchors: &anchors,
        time: &time,
        constraints: &c,
        start: Some(&s.order),
        waves: request.waves,
        objective: wave_objective,
    };
    let planned = match constraints::plan(&req, &options, control) {
        Ok(p) => p,
        Err(PlanError::Infeasible(conflicts)) => {
            let (path, file) = request
                .constraints
                .as_ref()
                .expect("conflicts come from a file");
            let lines: Vec<String> = conflicts
                .iter()
                .map(|x| {
                    x.describe(&|v| t.name(v).to_string(), &|r| {
                        format!(
                            "{}:{}",
                            path.display(),
                            constraints::source_line(file, &c, r)
                        )
                    })
                })
                .collect();
            return Err(InputError(format!(
                "{}: no plan can satisfy these constraints: {}",
                path.display(),
                lines.join("; ")
            ))
            .into());
        }
        Err(PlanError::Input(e)) => anyhow::bail!("internal error: {e}"),
    };
    let sequential = request.waves == Waves::Sequential;
    Ok(Solved {
        order: names(&planned.order),
        value: planned.value,
        // Constraints only narrow the choice: the unconstrained bound still
        // holds. Waves change the objective itself, and no bound is known for it.
        lower_bound: sequential.then_some(s.lower_bound),
        solver: format!("{}+constraints", s.solver),
        stopped: s.stopped,
        bound_stopped: if sequential { s.bound_stopped } else { None },
        waves: if sequential {
            Vec::new()
        } else {
            planned.waves.iter().map(|w| names(w)).collect()
        },
        split: if sequential {
            Vec::new()
        } else {
            planned.split
        },
    })
}

/// Resolves a constraints file against the cluster: names must be VMs (and
/// nodes) of the inventory, or vertices of the graph when there is none.
fn resolve_constraints(
    cluster: &Cluster,
    path: &std::path::Path,
    file: &ConstraintsFile,
) -> anyhow::Result<Constraints> {
    let t = &cluster.traffic;
    let nodes: Vec<(String, Vec<usize>)> = match &cluster.inventory {
        Some(inv) => {
            file.check_names(path, &|n| inv.vm(n).is_some(), &|n| {
                inv.nodes.iter().any(|x| x.name == n)
            })?;
            inv.nodes
                .iter()
                .map(|node| {
                    let vms = inv
                        .vms
                        .iter()
                        .filter(|v| v.node == node.name)
                        .filter_map(|v| t.index_of(&v.name))
                        .collect();
                    (node.name.clone(), vms)
                })
                .collect()
        }
        None => {
            if file.max_per_node.is_some() || !file.node_limits.is_empty() {
                return Err(InputError(format!(
                    "{}: node limits need --inventory (it says which VM runs on which node)",
                    path.display()
                ))
                .into());
            }
            file.check_names(path, &|n| t.index_of(n).is_some(), &|_| false)?;
            Vec::new()
        }
    };
    Constraints::from_file(file, &|n| t.index_of(n), &nodes).map_err(|n| {
        FileError::line(
            path,
            n.line,
            format!("expected a VM of the graph, found {:?}", n.name),
        )
        .into()
    })
}

/// The constraints as the plan records them.
fn constraints_json(file: &ConstraintsFile) -> serde_json::Value {
    let pairs = |ps: &[convoy_model::Precedence]| -> Vec<[String; 2]> {
        ps.iter()
            .map(|p| [p.first.name.clone(), p.then.name.clone()])
            .collect()
    };
    let limits: serde_json::Map<String, serde_json::Value> = file
        .node_limits
        .iter()
        .filter_map(|c| Some((c.node.clone()?, c.max.into())))
        .collect();
    serde_json::json!({
        "stay": file.stay.iter().map(|n| n.name.clone()).collect::<Vec<_>>(),
        "together": file.together.iter().map(|g| g.vms.iter().map(|n| n.name.clone()).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "before": pairs(&file.before),
        "not_after": pairs(&file.not_after),
        "max_per_node": file.max_per_node.as_ref().map(|c| c.max),
        "node_limits": limits,
    })
}

/// The online chooser's order, replayed on observed traffic (`traces`, or the
/// cluster's own graph). Its value is the stretch of the order (one step per
/// move); no bound applies to a random strategy.
fn online_plan(
    cluster: &Cluster,
    traces: Option<&std::path::Path>,
    seed: u64,
) -> anyhow::Result<Plan> {
    let movers = &cluster.graph;
    let mut observed = convoy_model::GraphBuilder::new();
    for name in movers.names() {
        observed.add_vertex(name);
    }
    let source = match traces {
        Some(path) => Some((path, convoy_model::read_graph(path)?)),
        None => None,
    };
    let traffic = source.as_ref().map_or(movers, |(_, g)| g);
    for (u, v, w) in traffic.edges() {
        let (a, b) = (traffic.name(u), traffic.name(v));
        for name in [a, b] {
            if movers.index_of(name).is_none() && cluster.traffic.index_of(name).is_none() {
                let path = source
                    .as_ref()
                    .map_or("traces".into(), |(p, _)| p.display().to_string());
                return Err(
                    InputError(format!("{path}: VM {name:?} is not in the cluster")).into(),
                );
            }
        }
        // Conversations with VMs that do not move attract no one.
        if movers.index_of(a).is_some() && movers.index_of(b).is_some() {
            observed
                .add_edge(a, b, w)
                .expect("edges of a valid graph stay valid");
        }
    }
    let observed = observed.build();
    let order = online::replay(
        &observed,
        &online::ReplayOptions {
            seed,
            weighting: online::Weighting::Traffic,
            premoved: Vec::new(),
        },
    );
    let names: Vec<String> = order
        .iter()
        .map(|&v| observed.name(v).to_string())
        .collect();
    let index: Vec<usize> = names
        .iter()
        .map(|n| movers.index_of(n).expect("same vertices"))
        .collect();
    let pos = convoy_schedule::positions(&index);
    let value: f64 = movers
        .edges()
        .map(|(u, v, w)| w * pos[u].abs_diff(pos[v]) as f64)
        .sum();
    Ok(Plan {
        objective: "online".into(),
        bandwidth: bandwidth::bandwidth_of(movers, &index) as u64,
        order: names,
        objective_value: value,
        lower_bound: None,
        optimal: false,
        waves: Vec::new(),
        wave_split_traffic: Vec::new(),
        permanent_cut: permanent_cut(cluster, None),
        constraints: None,
        solver: "online-chooser".into(),
        seed,
        effort: 0,
        bound_effort: 0,
        stopped_by: None,
        bound_stopped_by: None,
        convoy_version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// Where each vertex of the traffic graph stands: pinned VMs stay, VMs in a
/// cloud site are already moved, the rest move.
fn anchors(cluster: &Cluster) -> Vec<Anchor> {
    let t = &cluster.traffic;
    (0..t.n())
        .map(|v| {
            if cluster.graph.index_of(t.name(v)).is_some() {
                Anchor::Moves
            } else if cluster.is_in_cloud(t.name(v)) {
                Anchor::Cloud
            } else {
                Anchor::Stays
            }
        })
        .collect()
}

fn permanent_cut(cluster: &Cluster, constraints: Option<&ConstraintsFile>) -> f64 {
    let mut a = anchors(cluster);
    for stay in constraints.iter().flat_map(|c| &c.stay) {
        if let Some(v) = cluster.traffic.index_of(&stay.name) {
            a[v] = Anchor::Stays;
        }
    }
    cluster
        .traffic
        .edges()
        .filter(|&(u, v, _)| {
            matches!(
                (a[u], a[v]),
                (Anchor::Moves, Anchor::Stays) | (Anchor::Stays, Anchor::Moves)
            )
        })
        .map(|e| e.2)
        .sum()
}

/// Move durations from the inventory's sizes when a link rate is given; one
/// step per move otherwise.
fn time_model(cluster: &Cluster, link_bps: Option<f64>) -> anyhow::Result<TimeModel> {
    let t = &cluster.traffic;
    Ok(match link_bps {
        None => TimeModel::Positions,
        Some(rate) => {
            let inventory = cluster
                .inventory
                .as_ref()
                .ok_or_else(|| InputError("--link needs --inventory (for VM sizes)".into()))?;
            let durations = (0..t.n())
                .map(|v| {
                    inventory.vm(t.name(v)).map_or(0.0, |vm| {
                        let bytes = vm.memory_mib as f64 * convoy_sim::MIB
                            + vm.disk_gib as f64 * convoy_sim::GIB;
                        bytes * 8.0 / rate
                    })
                })
                .collect();
            TimeModel::Durations(durations)
        }
    })
}

/// Runs `convoy plan`.
pub fn run(args: PlanArgs) -> anyhow::Result<()> {
    let cluster = load_cluster(&args.graph, args.inventory.as_deref())?;
    let search = Search::new(
        "planning",
        args.time_limit,
        !args.quiet && std::io::stderr().is_terminal(),
    );
    let constraints = match &args.constraints {
        Some(path) => Some((path.clone(), read_constraints(path)?)),
        None => None,
    };
    let waves = match (args.waves, args.wave_size) {
        (Some(k), _) => Waves::AtMost(k as usize),
        (None, Some(k)) => Waves::Fill(k as usize),
        (None, None) => Waves::Sequential,
    };
    let request = PlanRequest {
        objective: args.objective,
        link_bps: args.link,
        seed: args.seed,
        effort: args.effort,
        bound_effort: args.bound_effort,
        waves,
        constraints,
    };
    let plan = if args.online {
        online_plan(&cluster, args.traces.as_deref(), args.seed)?
    } else {
        make_plan(&cluster, &request, &search)?
    };
    search.finish();
    let seconds = search.elapsed();
    let json = serde_json::to_string_pretty(&plan)? + "\n";
    if let Some(path) = &args.output {
        write_atomically(path, json.as_bytes())
            .with_context(|| format!("writing the plan to {}", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => write!(out, "{json}")?,
        Format::Table => write_table(&mut out, &args, &plan, &cluster.graph, seconds)?,
    }
    Ok(())
}

/// An objective value with its unit.
pub fn describe_value(plan: &Plan, value: f64, timed: bool) -> String {
    match plan.objective.as_str() {
        "stretch" if timed => format!("{} crossing the WAN", human_bytes(value)),
        "stretch" | "online" => format!("{} (bytes/s × moves)", fmt_num(value)),
        "cutwidth" => format!(
            "{} of split conversations at the peak",
            human_bits(value * 8.0)
        ),
        _ => fmt_num(value),
    }
}

fn write_table(
    out: &mut impl Write,
    args: &PlanArgs,
    plan: &Plan,
    graph: &convoy_model::Graph,
    seconds: f64,
) -> std::io::Result<()> {
    let components = graph.components().len();
    writeln!(
        out,
        "plan for {}: {} VMs move, {} conversations among them, {} component{}",
        args.graph.display(),
        plan.order.len(),
        graph.edge_count(),
        components,
        if components == 1 { "" } else { "s" }
    )?;
    // The certified gap, which tells an operator whether a longer search
    // or bound (`--effort`, `--bound-effort`) is worth it.
    let proof = match plan.lower_bound {
        _ if plan.optimal => "optimal".to_string(),
        Some(lb) if lb > 0.0 => format!(
            "not proven optimal: at most {:.3}× the optimum{}",
            plan.objective_value / lb,
            match plan.bound_stopped_by.as_deref() {
                Some("time_limit") => "; the bound was cut short by --time-limit",
                Some(_) => "; more --bound-effort could raise the bound",
                None => "",
            }
        ),
        _ => "not proven optimal".to_string(),
    };
    let timed = args.link.is_some();
    let bound = match plan.lower_bound {
        Some(lb) => format!("lower bound {}", describe_value(plan, lb, timed)),
        None if plan.objective == "online" => "no lower bound: the order is random".to_string(),
        None => "no lower bound known for waves".to_string(),
    };
    writeln!(
        out,
        "  {:<12} {}  ({bound}, {proof})",
        plan.objective,
        describe_value(plan, plan.objective_value, timed),
    )?;
    if !plan.waves.is_empty() {
        writeln!(
            out,
            "  waves        {} (largest {})",
            plan.waves.len(),
            plan.waves.iter().map(Vec::len).max().unwrap_or(0)
        )?;
    }
    if plan.objective != "bandwidth" {
        writeln!(out, "  bandwidth    {}", plan.bandwidth)?;
    }
    if plan.permanent_cut > 0.0 {
        writeln!(
            out,
            "  permanent    {} between VMs that move and VMs that stay",
            human_bits(plan.permanent_cut * 8.0)
        )?;
    }
    let stopped = match plan.stopped_by.as_deref() {
        Some(why) => format!(", stopped by {}", why.replace('_', " ")),
        None => String::new(),
    };
    writeln!(
        out,
        "  solver       {}  (seed {}, {:.2} s{stopped})",
        plan.solver, plan.seed, seconds
    )?;
    if let Some(path) = &args.output {
        writeln!(out, "  written to   {}", path.display())?;
    }
    if plan.waves.is_empty() {
        writeln!(out, "  order (first to move first):")?;
        let width = plan.order.len().to_string().len();
        for (i, name) in plan.order.iter().enumerate() {
            writeln!(out, "    {:>width$}  {name}", i + 1)?;
        }
    } else {
        writeln!(
            out,
            "  waves (first to move first; split traffic while each runs):"
        )?;
        let width = plan.waves.len().to_string().len();
        for (i, (wave, split)) in plan.waves.iter().zip(&plan.wave_split_traffic).enumerate() {
            writeln!(
                out,
                "    {:>width$}  {:>14}  {}",
                i + 1,
                human_bits(split * 8.0),
                wave.join(", ")
            )?;
        }
    }
    Ok(())
}
