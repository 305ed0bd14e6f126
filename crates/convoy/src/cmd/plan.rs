//! `convoy plan`: the migration order of a cluster.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use convoy_model::{Graph, Plan};
use convoy_schedule::arrangement::{self, Anchor, Problem, TimeModel};
use convoy_schedule::bandwidth::{self, DEFAULT_EFFORT};
use convoy_schedule::{cutwidth, stretch, Control, StopReason};

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
    /// Seed of the randomised search.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop the search after this many seconds and keep the best order found
    /// (the plan then says `"stopped_by": "time_limit"`).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub time_limit: Option<f64>,
    /// Work budget in search steps: the same graph, seed and effort always give the same plan.
    #[arg(long, default_value_t = DEFAULT_EFFORT)]
    pub effort: u64,
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

/// Plans the cluster and checks the result before anyone sees it: the order
/// must be a permutation of the movers, and its figures are recomputed.
pub fn make_plan(
    cluster: &Cluster,
    request: &PlanRequest,
    control: &dyn Control,
) -> anyhow::Result<Plan> {
    let graph = &cluster.graph;
    let objective = request
        .objective
        .unwrap_or_else(|| default_objective(&cluster.traffic));
    let options = bandwidth::Options {
        seed: request.seed,
        effort: request.effort,
    };
    let (order, value, lower_bound, solver, stop) = if objective == Objective::Bandwidth {
        let s = bandwidth::solve(graph, &options, control);
        let width = bandwidth::bandwidth_of(graph, &s.order);
        anyhow::ensure!(
            width == s.bandwidth,
            "internal error: reported bandwidth {} but the order has {width}",
            s.bandwidth
        );
        let names: Vec<String> = s.order.iter().map(|&v| graph.name(v).to_string()).collect();
        (
            names,
            width as f64,
            s.lower_bound as f64,
            s.solver.clone(),
            s.stopped,
        )
    } else {
        let problem = arrangement_problem(cluster, request.link_bps)?;
        let options = arrangement::Options {
            seed: request.seed,
            effort: request.effort,
        };
        let s = match objective {
            Objective::Stretch => stretch::solve(&problem, &options, control),
            _ => cutwidth::solve(&problem, &options, control),
        };
        let recomputed = match objective {
            Objective::Stretch => stretch::stretch_of(&problem, &s.order),
            _ => cutwidth::cutwidth_of(&problem, &s.order),
        }
        .map_err(|e| anyhow::anyhow!("internal error: {e}"))?;
        anyhow::ensure!(
            (recomputed - s.value).abs() <= 1e-6 * s.value.abs().max(1.0),
            "internal error: reported {} {} but the order has {recomputed}",
            objective.name(),
            s.value
        );
        let t = &cluster.traffic;
        let names = s.order.iter().map(|&v| t.name(v).to_string()).collect();
        (names, s.value, s.lower_bound, s.solver.clone(), s.stopped)
    };
    let index: Vec<usize> = order
        .iter()
        .map(|n: &String| graph.index_of(n).expect("the order names movers"))
        .collect();
    anyhow::ensure!(
        convoy_schedule::is_permutation(&index, graph.n()),
        "internal error: the planner returned an order that is not a permutation of the VMs that move"
    );
    let optimal = value <= lower_bound + 1e-9 * lower_bound.abs().max(1.0);
    Ok(Plan {
        objective: objective.name().into(),
        bandwidth: bandwidth::bandwidth_of(graph, &index) as u64,
        order,
        objective_value: value,
        lower_bound,
        optimal,
        waves: Vec::new(),
        wave_split_traffic: Vec::new(),
        permanent_cut: permanent_cut(cluster),
        constraints: None,
        solver,
        seed: request.seed,
        effort: request.effort,
        stopped_by: if optimal { None } else { stopped(stop) },
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

fn permanent_cut(cluster: &Cluster) -> f64 {
    let a = anchors(cluster);
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

/// The stretch/cutwidth problem of the cluster, with move durations from
/// the inventory's sizes when a link rate is given.
fn arrangement_problem(cluster: &Cluster, link_bps: Option<f64>) -> anyhow::Result<Problem> {
    let t = &cluster.traffic;
    let time = match link_bps {
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
    };
    Problem::new(t, &anchors(cluster), &time).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Runs `convoy plan`.
pub fn run(args: PlanArgs) -> anyhow::Result<()> {
    let cluster = load_cluster(&args.graph, args.inventory.as_deref())?;
    let search = Search::new(
        "planning",
        args.time_limit,
        !args.quiet && std::io::stderr().is_terminal(),
    );
    let request = PlanRequest {
        objective: args.objective,
        link_bps: args.link,
        seed: args.seed,
        effort: args.effort,
    };
    let plan = make_plan(&cluster, &request, &search)?;
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
        "stretch" => format!("{} (bytes/s × moves)", fmt_num(value)),
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
        graph.n(),
        graph.edge_count(),
        components,
        if components == 1 { "" } else { "s" }
    )?;
    let proof = if plan.optimal {
        "optimal"
    } else {
        "not proven optimal"
    };
    let timed = args.link.is_some();
    writeln!(
        out,
        "  {:<12} {}  (lower bound {}, {proof})",
        plan.objective,
        describe_value(plan, plan.objective_value, timed),
        describe_value(plan, plan.lower_bound, timed)
    )?;
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
    writeln!(out, "  order (first to move first):")?;
    let width = plan.order.len().to_string().len();
    for (i, name) in plan.order.iter().enumerate() {
        writeln!(out, "    {:>width$}  {name}", i + 1)?;
    }
    Ok(())
}
