//! `convoy plan`: the migration order of a cluster.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use convoy_model::{Graph, Plan};
use convoy_schedule::bandwidth::{self, Options, DEFAULT_EFFORT};
use convoy_schedule::{Control, StopReason};

use super::{parse_seconds, Format};
use crate::input::load_cluster;
use crate::output::write_atomically;
use crate::progress::Search;

/// Arguments of `convoy plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Communication graph: CSV `a,b,weight` with a header, or MatrixMarket `.mtx`.
    pub graph: PathBuf,
    /// Inventory (TOML, or JSON by extension): graph vertices must be its VMs;
    /// its VMs absent from the graph move too; pinned VMs stay and are left out.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
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

/// Plans `graph` for minimum bandwidth and checks the result before anyone sees it.
pub fn bandwidth_plan(
    graph: &Graph,
    options: &Options,
    control: &dyn Control,
) -> anyhow::Result<Plan> {
    let solution = bandwidth::solve(graph, options, control);
    // The order is recomputed, not trusted: a plan that is not a permutation or
    // whose width disagrees is a bug, and must not reach a file.
    anyhow::ensure!(
        convoy_schedule::is_permutation(&solution.order, graph.n()),
        "internal error: the planner returned an order that is not a permutation"
    );
    let width = bandwidth::bandwidth_of(graph, &solution.order);
    anyhow::ensure!(
        width == solution.bandwidth,
        "internal error: reported bandwidth {} but the order has {width}",
        solution.bandwidth
    );
    Ok(Plan {
        objective: "bandwidth".into(),
        order: solution
            .order
            .iter()
            .map(|&v| graph.name(v).to_string())
            .collect(),
        bandwidth: width as u64,
        lower_bound: solution.lower_bound as u64,
        optimal: solution.optimal(),
        solver: solution.solver.clone(),
        seed: options.seed,
        effort: options.effort,
        stopped_by: solution.stopped.map(|s| match s {
            StopReason::Interrupted => "time_limit".to_string(),
            StopReason::Effort => "effort".to_string(),
        }),
        convoy_version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// Runs `convoy plan`.
pub fn run(args: PlanArgs) -> anyhow::Result<()> {
    let cluster = load_cluster(&args.graph, args.inventory.as_deref())?;
    let graph = &cluster.graph;
    let search = Search::new(
        "planning",
        args.time_limit,
        !args.quiet && std::io::stderr().is_terminal(),
    );
    let options = Options {
        seed: args.seed,
        effort: args.effort,
    };
    let plan = bandwidth_plan(graph, &options, &search)?;
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
        Format::Table => write_table(&mut out, &args, &plan, graph, seconds)?,
    }
    Ok(())
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
        "plan for {}: {} VMs, {} edges, {} component{}",
        args.graph.display(),
        graph.n(),
        graph.edge_count(),
        components,
        if components == 1 { "" } else { "s" }
    )?;
    writeln!(out, "  objective    {}", plan.objective)?;
    let proof = if plan.optimal {
        "optimal"
    } else {
        "not proven optimal"
    };
    writeln!(
        out,
        "  bandwidth    {}  (lower bound {}, {proof})",
        plan.bandwidth, plan.lower_bound
    )?;
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
