//! `convoy demo`: the whole job on the bundled sample cluster, in under a minute.
//!
//! Graph → plan → simulated migration (with a progress bar) → comparison with
//! the other strategies → an SVG report. The sample (examples/ in the
//! repository) is compiled into the binary, so the demo runs from anywhere.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use convoy_model::{parse_csv, parse_inventory_toml};
use convoy_schedule::bandwidth::DEFAULT_EFFORT;
use convoy_sim::{simulate, NoProgress, Report, Schedule};

use super::compare::{report_svg, run_comparison, strategies, write_table};
use super::plan::{describe_value, make_plan, PlanRequest};
use super::simulate::{write_metrics, WanArgs};
use crate::input::{Cluster, InputError};
use crate::output::write_atomically;
use crate::progress::Search;

const SAMPLE_GRAPH: &str = include_str!("../../../../examples/cluster.csv");
const SAMPLE_INVENTORY: &str = include_str!("../../../../examples/inventory.toml");

/// Arguments of `convoy demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the plan and the SVG report.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    #[command(flatten)]
    pub wan: WanArgs,
    /// Seed of the planner and of the random orders.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Work budget of the planner.
    #[arg(long, default_value_t = DEFAULT_EFFORT)]
    pub effort: u64,
    /// Random orders in the comparison.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub random: u64,
    /// No progress bars and no replay of the simulated migration.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Runs `convoy demo`.
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let live = !args.quiet && std::io::stderr().is_terminal();
    let mut out = std::io::stdout().lock();
    let graph_path = Path::new("examples/cluster.csv");
    let inventory_path = Path::new("examples/inventory.toml");
    let traffic = parse_csv(SAMPLE_GRAPH, graph_path)?;
    let inventory = parse_inventory_toml(SAMPLE_INVENTORY, inventory_path)?;
    let pinned = inventory.vms.iter().filter(|v| v.pinned).count();
    let cluster = Cluster::new(traffic, Some(inventory), graph_path, Some(inventory_path))?;
    let scenario = cluster.scenario().expect("the sample has an inventory");
    writeln!(
        out,
        "convoy demo: the sample cluster ({}): {} VMs, {} conversations; {} move, {pinned} pinned on premises",
        graph_path.display(),
        cluster.traffic.n(),
        cluster.traffic.edge_count(),
        cluster.graph.n()
    )?;

    // 1. Plan.
    writeln!(
        out,
        "\n1. plan: least application traffic across the WAN while the fleet is split"
    )?;
    out.flush()?;
    let search = Search::new("planning", None, live);
    let request = PlanRequest::simple(
        None,
        Some(args.wan.wan.capacity_bps),
        args.seed,
        args.effort,
    );
    let plan = make_plan(&cluster, &request, &search)?;
    search.finish();
    let proof = if plan.optimal {
        "optimal".to_string()
    } else {
        match plan.lower_bound {
            Some(lb) => format!("lower bound {}", describe_value(&plan, lb, true)),
            None => "no lower bound".to_string(),
        }
    };
    writeln!(
        out,
        "   {} {} ({proof}), solver {}, {:.1} s",
        plan.objective,
        describe_value(&plan, plan.objective_value, true),
        plan.solver,
        search.elapsed()
    )?;
    let head: Vec<&str> = plan.order.iter().take(8).map(String::as_str).collect();
    writeln!(out, "   first to move: {} …", head.join(", "))?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create the directory", args.out.display()))?;
    let plan_path = args.out.join("plan.json");
    write_atomically(
        &plan_path,
        (serde_json::to_string_pretty(&plan)? + "\n").as_bytes(),
    )?;
    writeln!(out, "   written to {}", plan_path.display())?;

    // 2. Simulated migration.
    writeln!(out, "\n2. simulated migration over {}", args.wan.describe())?;
    out.flush()?;
    let concurrency = args.wan.concurrency as usize;
    let schedule = Schedule::from_names(&scenario, &plan.order, concurrency)
        .map_err(|e| InputError(e.to_string()))?;
    let config = args.wan.config();
    let report = simulate(&scenario, &schedule, &config, &mut NoProgress)
        .map_err(|e| InputError(e.to_string()))?;
    if live {
        replay(&report, plan.order.len());
    }
    write_metrics(&mut out, &report)?;

    // 3. Comparison.
    writeln!(out, "\n3. every strategy on the same cluster and WAN")?;
    out.flush()?;
    let strategies = strategies(
        &cluster,
        args.wan.wan.capacity_bps,
        args.seed,
        args.effort,
        args.random,
    )?;
    let total: usize = strategies.iter().map(|s| s.1.len()).sum();
    let bar = if live {
        indicatif::ProgressBar::new(total as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let comparison = run_comparison(
        &cluster,
        &scenario,
        &strategies,
        &config,
        concurrency,
        &mut || bar.inc(1),
    )?;
    bar.finish_and_clear();
    write_table(&mut out, &comparison.results)?;

    // 4. Report.
    let svg_path = args.out.join("convoy-demo.svg");
    let doc = report_svg("convoy demo: the sample cluster", &comparison);
    write_atomically(&svg_path, doc.as_bytes())?;
    writeln!(out, "\n4. report: {}", svg_path.display())?;
    Ok(())
}

/// Plays the simulated migration back on a progress bar in about four seconds
/// of wall time: moves done against simulated time.
fn replay(report: &Report, moves: usize) {
    const FRAMES: u32 = 100;
    let bar = indicatif::ProgressBar::new(moves as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("   {bar:40.cyan/blue} {pos}/{len} moved  {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let ends: Vec<f64> = report
        .vms
        .iter()
        .filter_map(|v| v.migration.as_ref().map(|m| m.end_s))
        .collect();
    for frame in 1..=FRAMES {
        let t = report.completion_s * f64::from(frame) / f64::from(FRAMES);
        let done = ends.iter().filter(|&&e| e <= t).count();
        bar.set_position(done as u64);
        bar.set_message(format!("simulated t = {:.1} h", t / 3600.0));
        std::thread::sleep(Duration::from_millis(40));
    }
    bar.finish_and_clear();
}
