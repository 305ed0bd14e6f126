//! `convoy bench`: the planner over benchmark graphs, one row per graph.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use convoy_model::read_graph;
use convoy_schedule::bandwidth::{self, Options};
use serde::Serialize;

use super::{parse_seconds, Format};
use crate::progress::Search;

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Minimum bandwidth on a set of graphs (e.g. ../shared/data/hb).
    Bandwidth(BandwidthArgs),
}

/// Arguments of `convoy bench bandwidth`.
#[derive(Debug, Args)]
pub struct BandwidthArgs {
    /// Graph files (.mtx or .csv) or directories holding them.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Wall-clock limit per graph, seconds.
    #[arg(long, default_value = "10", value_parser = parse_seconds)]
    pub time_limit: f64,
    /// Work budget per graph (default: unlimited, so only the time limit stops the search).
    #[arg(long)]
    pub effort: Option<u64>,
    /// Seed of the randomised search.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Skip graphs with fewer vertices.
    #[arg(long, default_value_t = 0)]
    pub min_n: usize,
    /// Skip graphs with more vertices.
    #[arg(long, default_value_t = usize::MAX)]
    pub max_n: usize,
    /// Output on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// One graph's result.
#[derive(Debug, Serialize)]
struct Row {
    name: String,
    n: usize,
    edges: usize,
    lower_bound: usize,
    bandwidth: usize,
    optimal: bool,
    seconds: f64,
}

/// Runs a `convoy bench` subcommand.
pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Bandwidth(args) => bench_bandwidth(args),
    }
}

fn graph_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("{}: cannot list the directory", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("mtx" | "csv")))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn name_of(path: &Path) -> String {
    path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

fn bench_bandwidth(args: BandwidthArgs) -> anyhow::Result<()> {
    let files = graph_files(&args.paths)?;
    let show = std::io::stderr().is_terminal();
    let mut rows = Vec::new();
    let mut out = std::io::stdout().lock();
    if args.format == Format::Table {
        writeln!(
            out,
            "{:<12} {:>6} {:>7} {:>6} {:>6} {:>8} {:>8}",
            "graph", "n", "edges", "lower", "bw", "optimal", "seconds"
        )?;
    }
    for (i, file) in files.iter().enumerate() {
        let graph = read_graph(file)?;
        if graph.n() < args.min_n || graph.n() > args.max_n {
            continue;
        }
        let name = name_of(file);
        let label = format!("{name} ({}/{})", i + 1, files.len());
        let search = Search::new(&label, Some(args.time_limit), show);
        let options = Options {
            seed: args.seed,
            effort: args.effort.unwrap_or(u64::MAX),
        };
        let solution = bandwidth::solve(&graph, &options, &search);
        search.finish();
        let row = Row {
            name,
            n: graph.n(),
            edges: graph.edge_count(),
            lower_bound: solution.lower_bound,
            bandwidth: bandwidth::bandwidth_of(&graph, &solution.order),
            optimal: solution.optimal(),
            seconds: search.elapsed(),
        };
        if args.format == Format::Table {
            writeln!(
                out,
                "{:<12} {:>6} {:>7} {:>6} {:>6} {:>8} {:>8.2}",
                row.name,
                row.n,
                row.edges,
                row.lower_bound,
                row.bandwidth,
                if row.optimal { "yes" } else { "no" },
                row.seconds
            )?;
        }
        rows.push(row);
    }
    let totals = Totals::of(&rows);
    match args.format {
        Format::Table => {
            writeln!(
                out,
                "{} graphs: {} proven optimal; the other {} have a median gap of {:.1}% (bandwidth over lower bound, geometric mean ratio {:.3}); {:.1} s in all",
                totals.graphs,
                totals.optimal,
                totals.graphs - totals.optimal,
                totals.median_gap_percent,
                totals.geomean_ratio_to_lower_bound,
                totals.seconds
            )?;
        }
        Format::Json => {
            let json = serde_json::json!({ "rows": rows, "totals": totals });
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        }
    }
    Ok(())
}

/// Summary of a bench run.
#[derive(Debug, Serialize)]
struct Totals {
    graphs: usize,
    optimal: usize,
    /// Median of (bandwidth − lower bound) / lower bound over the unproven graphs.
    median_gap_percent: f64,
    /// Geometric mean of bandwidth / lower bound over the unproven graphs.
    geomean_ratio_to_lower_bound: f64,
    seconds: f64,
}

impl Totals {
    fn of(rows: &[Row]) -> Totals {
        let open: Vec<&Row> = rows
            .iter()
            .filter(|r| !r.optimal && r.lower_bound > 0)
            .collect();
        let mut gaps: Vec<f64> = open
            .iter()
            .map(|r| 100.0 * (r.bandwidth - r.lower_bound) as f64 / r.lower_bound as f64)
            .collect();
        gaps.sort_by(f64::total_cmp);
        let median_gap_percent = match gaps.len() {
            0 => 0.0,
            k if k % 2 == 1 => gaps[k / 2],
            k => (gaps[k / 2 - 1] + gaps[k / 2]) / 2.0,
        };
        let geomean = if open.is_empty() {
            1.0
        } else {
            (open
                .iter()
                .map(|r| (r.bandwidth as f64 / r.lower_bound as f64).ln())
                .sum::<f64>()
                / open.len() as f64)
                .exp()
        };
        Totals {
            graphs: rows.len(),
            optimal: rows.iter().filter(|r| r.optimal).count(),
            median_gap_percent,
            geomean_ratio_to_lower_bound: geomean,
            seconds: rows.iter().map(|r| r.seconds).sum(),
        }
    }
}
