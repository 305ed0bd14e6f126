//! `convoy compare`: every strategy on the same cluster and the same modelled WAN.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use convoy_schedule::bandwidth::{self, DEFAULT_EFFORT};
use convoy_schedule::online::{trace_bytes, OnlineChooser};
use convoy_schedule::NoControl;
use convoy_sim::{
    simulate, simulate_online, ChooserView, NoProgress, Report, Scenario, Schedule, Side, SimConfig,
};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;

use super::plan::{make_plan, Objective, PlanRequest};
use super::simulate::{fmt_num, gantt_chart, human_bits, human_bytes, load_chart, WanArgs};
use super::Format;
use crate::input::{load_cluster, Cluster, InputError};
use crate::output::write_atomically;
use crate::svg;

/// Arguments of `convoy compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Communication graph (weights in bytes/s).
    pub graph: PathBuf,
    /// Inventory: VM sizes and dirty rates, pinned VMs.
    #[arg(long, value_name = "FILE")]
    pub inventory: PathBuf,
    #[command(flatten)]
    pub wan: WanArgs,
    /// Random orders to draw (their median and spread are reported).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub random: u64,
    /// Seed of the planners and of the random orders.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Work budget of each planner.
    #[arg(long, default_value_t = DEFAULT_EFFORT)]
    pub effort: u64,
    /// Output on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Draw the WAN load of every strategy and the Gantt chart of convoy's plan to this SVG file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

/// One strategy's figures (the median over its runs when it has several).
#[derive(Debug, Clone, Serialize)]
pub struct StrategyResult {
    /// Strategy name.
    pub name: String,
    /// Orders simulated (1, or the number of random seeds).
    pub runs: usize,
    /// When the last move ended, seconds.
    pub completion_s: f64,
    /// All bytes on the WAN: migration and application.
    pub wan_bytes: f64,
    /// Application bytes that had to cross the WAN (Σ bytes/s × seconds stretched).
    pub stretch: f64,
    /// Σ over conversations of the seconds they were stretched.
    pub stretched_edge_seconds: f64,
    /// Highest WAN load (migration and application), bits/s.
    pub peak_wan_bps: f64,
    /// Highest application traffic across the WAN (split conversations), bits/s.
    pub peak_app_bps: f64,
    /// Longest guest pause, milliseconds.
    pub max_downtime_ms: f64,
    /// For several runs: the lowest and highest stretched-edge-seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stretched_edge_seconds_range: Option<(f64, f64)>,
}

/// A comparison: the results, and the reports of single-run strategies for charts.
pub struct Comparison {
    /// One row per strategy.
    pub results: Vec<StrategyResult>,
    /// `(strategy, report)` of one representative run each.
    pub reports: Vec<(String, Report)>,
}

/// The orders to compare, by strategy: convoy's plans, the classic
/// orderings, and `random` seeded random orders.
pub fn strategies(
    cluster: &Cluster,
    link_bps: f64,
    seed: u64,
    effort: u64,
    random: u64,
) -> anyhow::Result<Vec<(String, Vec<Vec<String>>)>> {
    let graph = &cluster.graph;
    let names = |order: &[usize]| -> Vec<String> {
        order.iter().map(|&v| graph.name(v).to_string()).collect()
    };
    let mut out = Vec::new();
    for objective in [
        Objective::Stretch,
        Objective::Bandwidth,
        Objective::Cutwidth,
    ] {
        let request = PlanRequest::simple(Some(objective), Some(link_bps), seed, effort);
        let plan = make_plan(cluster, &request, &NoControl)?;
        out.push((format!("convoy {}", plan.objective), vec![plan.order]));
    }
    let mut rcm = Vec::with_capacity(graph.n());
    for comp in graph.components() {
        let sub = graph.induced(&comp);
        rcm.extend(
            bandwidth::heuristic::initial(&sub)
                .into_iter()
                .map(|v| comp[v]),
        );
    }
    out.push(("reverse Cuthill-McKee".to_string(), vec![names(&rcm)]));
    let inventory = cluster
        .inventory
        .as_ref()
        .ok_or_else(|| InputError("compare needs an inventory".into()))?;
    let movers: Vec<&convoy_model::Vm> = inventory.vms.iter().filter(|v| !v.pinned).collect();
    out.push((
        "inventory order".to_string(),
        vec![movers.iter().map(|v| v.name.clone()).collect()],
    ));
    let mut smallest = movers.clone();
    smallest.sort_by_key(|v| (v.memory_mib + v.disk_gib * 1024, v.name.clone()));
    out.push((
        "smallest first".to_string(),
        vec![smallest.iter().map(|v| v.name.clone()).collect()],
    ));
    let base: Vec<String> = movers.iter().map(|v| v.name.clone()).collect();
    // The online chooser's runs differ by seed; each entry is its candidate set.
    let online_runs = random.clamp(1, 10);
    out.push((ONLINE.to_string(), vec![base.clone(); online_runs as usize]));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let randoms = (0..random)
        .map(|_| {
            let mut o = base.clone();
            o.shuffle(&mut rng);
            o
        })
        .collect();
    out.push((format!("random (median of {random})"), randoms));
    Ok(out)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let k = xs.len();
    if k == 0 {
        0.0
    } else if k % 2 == 1 {
        xs[k / 2]
    } else {
        (xs[k / 2 - 1] + xs[k / 2]) / 2.0
    }
}

/// The name of the online strategy: its order is not fixed beforehand but
/// chosen while the simulated migration runs.
pub const ONLINE: &str = "convoy online chooser";

/// Runs the online chooser inside the simulator: each time a slot frees it
/// picks the next VM with probability proportional to the traffic the
/// forwarding stubs have seen between it and the VMs already moved (a VM's
/// conversations are revealed when its move completes), uniformly when none.
fn simulate_online_chooser(
    cluster: &Cluster,
    scenario: &Scenario,
    movers: &[String],
    config: &SimConfig,
    concurrency: usize,
    seed: u64,
) -> anyhow::Result<Report> {
    let candidates: Vec<usize> = movers
        .iter()
        .map(|n| scenario.vm_index(n).expect("movers are inventory VMs"))
        .collect();
    // The chooser's vertices are the candidates; scenario VM -> chooser vertex.
    let mut local = vec![usize::MAX; scenario.vms.len()];
    for (i, &c) in candidates.iter().enumerate() {
        local[c] = i;
    }
    let traffic = &cluster.traffic;
    let mut chooser = OnlineChooser::new(candidates.len(), seed);
    let mut revealed = vec![false; scenario.vms.len()];
    let mut choose = |view: &ChooserView<'_>| -> Option<usize> {
        for (vm, side) in view.sites.iter().enumerate() {
            if *side != Side::Destination || std::mem::replace(&mut revealed[vm], true) {
                continue;
            }
            let Some(t) = traffic.index_of(&scenario.vms[vm].name) else {
                continue;
            };
            for (&u, &w) in traffic.neighbors(t).iter().zip(traffic.neighbor_weights(t)) {
                let other = scenario.vm_index(traffic.name(u as usize));
                if let (Some(a), Some(b)) = (Some(local[vm]), other.map(|o| local[o])) {
                    if a != usize::MAX && b != usize::MAX {
                        chooser.observe(a, b, trace_bytes(w));
                    }
                }
            }
        }
        chooser.next().map(|i| candidates[i])
    };
    simulate_online(
        scenario,
        &candidates,
        concurrency,
        &mut choose,
        config,
        &mut NoProgress,
    )
    .map_err(|e| InputError(e.to_string()).into())
}

/// Simulates every order of every strategy on the same scenario and configuration.
pub fn run_comparison(
    cluster: &Cluster,
    scenario: &Scenario,
    strategies: &[(String, Vec<Vec<String>>)],
    config: &SimConfig,
    concurrency: usize,
    on_run: &mut dyn FnMut(),
) -> anyhow::Result<Comparison> {
    let mut results = Vec::new();
    let mut reports = Vec::new();
    for (name, orders) in strategies {
        let mut runs = Vec::with_capacity(orders.len());
        for (i, order) in orders.iter().enumerate() {
            let report = if name == ONLINE {
                simulate_online_chooser(cluster, scenario, order, config, concurrency, i as u64)?
            } else {
                let schedule = Schedule::from_names(scenario, order, concurrency)
                    .map_err(|e| InputError(e.to_string()))?;
                simulate(scenario, &schedule, config, &mut NoProgress)
                    .map_err(|e| InputError(e.to_string()))?
            };
            on_run();
            runs.push(report);
        }
        let med = |f: &dyn Fn(&Report) -> f64| median(runs.iter().map(f).collect());
        let ses: Vec<f64> = runs.iter().map(|r| r.stretched_edge_seconds).collect();
        results.push(StrategyResult {
            name: if name == ONLINE && runs.len() > 1 {
                format!("{ONLINE} (median of {})", runs.len())
            } else {
                name.clone()
            },
            runs: runs.len(),
            completion_s: med(&|r| r.completion_s),
            wan_bytes: med(&|r| r.wan_migration_bytes + r.wan_app_bytes),
            stretch: med(&|r| r.weighted_stretch_bytes),
            stretched_edge_seconds: med(&|r| r.stretched_edge_seconds),
            peak_wan_bps: med(&|r| r.peak_wan_bps),
            peak_app_bps: med(&|r| r.load.iter().map(|p| p.app_bps).fold(0.0, f64::max)),
            max_downtime_ms: med(&|r| r.max_downtime_s * 1e3),
            stretched_edge_seconds_range: (runs.len() > 1).then(|| {
                (
                    ses.iter().copied().fold(f64::INFINITY, f64::min),
                    ses.iter().copied().fold(0.0, f64::max),
                )
            }),
        });
        // Chart labels stand at the lines' ends: keep them short.
        let label = if runs.len() > 1 {
            let short = name.split(" (").next().unwrap_or(name);
            format!("{} (one run)", short.trim_start_matches("convoy "))
        } else {
            name.clone()
        };
        reports.push((label, runs.swap_remove(0)));
    }
    Ok(Comparison { results, reports })
}

/// Prints the comparison as an aligned table, best stretched-edge-seconds marked.
pub fn write_table(out: &mut impl Write, results: &[StrategyResult]) -> std::io::Result<()> {
    let best = results
        .iter()
        .map(|r| r.stretched_edge_seconds)
        .fold(f64::INFINITY, f64::min);
    writeln!(
        out,
        "  {:<38} {:>12} {:>12} {:>12} {:>14} {:>12} {:>10}",
        "strategy", "completion", "WAN bytes", "stretch", "edge-seconds", "peak split", "downtime"
    )?;
    for r in results {
        let mark = if r.stretched_edge_seconds <= best {
            " *"
        } else {
            ""
        };
        writeln!(
            out,
            "  {:<38} {:>12} {:>12} {:>12} {:>14} {:>12} {:>10}{mark}",
            r.name,
            format!("{:.0} s", r.completion_s),
            human_bytes(r.wan_bytes),
            human_bytes(r.stretch),
            fmt_num(r.stretched_edge_seconds),
            human_bits(r.peak_app_bps),
            format!("{} ms", fmt_num(r.max_downtime_ms)),
        )?;
    }
    writeln!(
        out,
        "  stretch = application bytes that crossed the WAN; edge-seconds = Σ seconds each conversation was split;\n  peak split = highest application traffic across the WAN; * = fewest edge-seconds"
    )?;
    Ok(())
}

/// Runs `convoy compare`.
pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    let cluster = load_cluster(&args.graph, Some(&args.inventory))?;
    let scenario = cluster.scenario().expect("an inventory was given");
    let strategies = strategies(
        &cluster,
        args.wan.wan.capacity_bps,
        args.seed,
        args.effort,
        args.random,
    )?;
    let total: usize = strategies.iter().map(|s| s.1.len()).sum();
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(total as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let comparison = run_comparison(
        &cluster,
        &scenario,
        &strategies,
        &args.wan.config(),
        args.wan.concurrency as usize,
        &mut || bar.inc(1),
    )?;
    bar.finish_and_clear();
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let json = serde_json::json!({ "strategies": comparison.results });
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        }
        Format::Table => {
            writeln!(
                out,
                "compared on {} over {}: {} VMs move",
                args.graph.display(),
                args.wan.describe(),
                cluster.graph.n()
            )?;
            write_table(&mut out, &comparison.results)?;
        }
    }
    if let Some(path) = &args.svg {
        let doc = report_svg(
            &format!("convoy compare {}", args.graph.display()),
            &comparison,
        );
        write_atomically(path, doc.as_bytes())
            .with_context(|| format!("writing the report to {}", path.display()))?;
        if args.format == Format::Table {
            writeln!(out, "  report: {}", path.display())?;
        }
    }
    Ok(())
}

/// The comparison report: WAN load per strategy, then the Gantt chart of the first strategy (convoy's).
pub fn report_svg(title: &str, comparison: &Comparison) -> String {
    let runs: Vec<(&str, &Report)> = comparison
        .reports
        .iter()
        .map(|(n, r)| (n.as_str(), r))
        .collect();
    let mut charts = vec![load_chart(&runs)];
    if let Some((_, first)) = comparison.reports.first() {
        charts.push(gantt_chart(first));
    }
    svg::render(title, &charts)
}
