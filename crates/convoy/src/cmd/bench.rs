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
    /// Stretch and peak split traffic (cutwidth) of every strategy on a set
    /// of graphs (one step per move), beside the lower bounds.
    Objectives(ObjectivesArgs),
}

/// Arguments of `convoy bench objectives`.
#[derive(Debug, Args)]
pub struct ObjectivesArgs {
    /// Graph files (.csv or .mtx) or directories holding them.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Random orders per graph (their median is reported).
    #[arg(long, default_value_t = 100)]
    pub random: u64,
    /// Seed of the planners and of the random orders.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Work budget of each planner.
    #[arg(long, default_value_t = convoy_schedule::bandwidth::DEFAULT_EFFORT)]
    pub effort: u64,
    /// Work budget of the stretch lower bound's LP (0: the fast bounds only).
    #[arg(long, default_value_t = convoy_schedule::arrangement::DEFAULT_BOUND_EFFORT)]
    pub bound_effort: u64,
    /// Output on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// One strategy on one graph.
#[derive(Debug, Serialize)]
struct ObjectiveRow {
    graph: String,
    n: usize,
    strategy: String,
    stretch: f64,
    cutwidth: f64,
}

fn bench_objectives(args: ObjectivesArgs) -> anyhow::Result<()> {
    use convoy_schedule::arrangement::{Options as ArrOptions, Problem};
    use convoy_schedule::{cutwidth, stretch, NoControl};
    use rand::seq::SliceRandom;
    use rand::SeedableRng;

    let mut out = std::io::stdout().lock();
    let mut rows = Vec::new();
    if args.format == Format::Table {
        writeln!(
            out,
            "{:<34} {:>5}  {:<26} {:>14} {:>12}",
            "graph", "n", "strategy", "stretch", "cutwidth"
        )?;
    }
    for file in graph_files(&args.paths)? {
        let graph = read_graph(&file)?;
        let name = name_of(&file);
        let name = if name == "cluster" {
            file.display().to_string()
        } else {
            name
        };
        let problem = Problem::plain(&graph);
        let score = |order: &[usize]| -> anyhow::Result<(f64, f64)> {
            Ok((
                stretch::stretch_of(&problem, order).map_err(|e| anyhow::anyhow!("{e}"))?,
                cutwidth::cutwidth_of(&problem, order).map_err(|e| anyhow::anyhow!("{e}"))?,
            ))
        };
        let options = ArrOptions {
            seed: args.seed,
            effort: args.effort,
            bound_effort: args.bound_effort,
        };
        let st = stretch::solve(&problem, &options, &NoControl);
        let cw = cutwidth::solve(&problem, &options, &NoControl);
        let bw = bandwidth::solve(
            &graph,
            &Options {
                seed: args.seed,
                effort: args.effort,
            },
            &NoControl,
        );
        let rcm = bandwidth::heuristic::reverse_cuthill_mckee(&graph);
        let file_order: Vec<usize> = (0..graph.n()).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(args.seed);
        let mut random_s = Vec::new();
        let mut random_c = Vec::new();
        for _ in 0..args.random {
            let mut o = file_order.clone();
            o.shuffle(&mut rng);
            let (s, c) = score(&o)?;
            random_s.push(s);
            random_c.push(c);
        }
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            let k = v.len();
            if k == 0 {
                f64::NAN
            } else if k % 2 == 1 {
                v[k / 2]
            } else {
                (v[k / 2 - 1] + v[k / 2]) / 2.0
            }
        };
        let mut push = |strategy: &str, (s, c): (f64, f64)| {
            rows.push(ObjectiveRow {
                graph: name.clone(),
                n: graph.n(),
                strategy: strategy.to_string(),
                stretch: s,
                cutwidth: c,
            });
        };
        push("lower bound", (st.lower_bound, cw.lower_bound));
        let st_mark = if st.optimal() {
            "convoy stretch (optimal)"
        } else {
            "convoy stretch"
        };
        push(st_mark, score(&st.order)?);
        let cw_mark = if cw.optimal() {
            "convoy cutwidth (optimal)"
        } else {
            "convoy cutwidth"
        };
        push(cw_mark, score(&cw.order)?);
        push("convoy bandwidth", score(&bw.order)?);
        push("reverse Cuthill-McKee", score(&rcm)?);
        push("file order", score(&file_order)?);
        push(
            &format!("random (median of {})", args.random),
            (median(random_s), median(random_c)),
        );
        if args.format == Format::Table {
            for r in rows.iter().filter(|r| r.graph == name) {
                writeln!(
                    out,
                    "{:<34} {:>5}  {:<26} {:>14} {:>12}",
                    r.graph,
                    r.n,
                    r.strategy,
                    super::simulate::fmt_num(r.stretch),
                    super::simulate::fmt_num(r.cutwidth)
                )?;
            }
            let lower = &rows[rows.len() - 7];
            let convoy = &rows[rows.len() - 6];
            let random = &rows[rows.len() - 1];
            writeln!(
                out,
                "{:<34} {:>5}  stretch: convoy / lower bound {:.3}, random / convoy {:.2}",
                "",
                "",
                convoy.stretch / lower.stretch.max(f64::MIN_POSITIVE),
                random.stretch / convoy.stretch.max(f64::MIN_POSITIVE)
            )?;
        }
    }
    if args.format == Format::Json {
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
    }
    Ok(())
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
        BenchCommand::Objectives(args) => bench_objectives(args),
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
