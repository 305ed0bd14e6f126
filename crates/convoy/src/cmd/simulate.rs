//! `convoy simulate`: what a plan will cost on a modelled WAN.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use convoy_model::read_plan;
use convoy_sim::{simulate, MigrationSettings, Report, Schedule, SimConfig, Stage, Wan};

use super::{parse_seconds, Format};
use crate::input::{load_cluster, InputError};
use crate::output::write_atomically;
use crate::progress::SimBar;
use crate::svg;

/// Arguments of `convoy simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The plan (JSON, from `convoy plan -o`).
    pub plan: PathBuf,
    /// Inventory: VM memory, disk and dirty rates.
    #[arg(long, value_name = "FILE")]
    pub inventory: PathBuf,
    /// Communication graph (weights in bytes/s): the conversations the move stretches.
    #[arg(long, value_name = "FILE")]
    pub graph: PathBuf,
    #[command(flatten)]
    pub wan: WanArgs,
    /// Output on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Draw the WAN load over time and a Gantt chart of the moves to this SVG file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// The modelled WAN and how migrations run over it (shared by simulate, compare and demo).
#[derive(Debug, Clone, Args)]
pub struct WanArgs {
    /// The WAN: RATE,RTT or RATE,RTT,LOSS, e.g. 1Gbit/s,40ms or 10Gbit/s,5ms,0.1%.
    #[arg(long, default_value = "1Gbit/s,40ms", value_parser = parse_wan)]
    pub wan: Wan,
    /// Most moves running at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    pub concurrency: u64,
    /// Longest acceptable pause of a guest at switchover, seconds (QEMU's downtime-limit).
    #[arg(long, default_value = "0.3", value_parser = parse_seconds)]
    pub downtime_limit: f64,
    /// Seed of the simulation's randomness (dirty-rate jitter).
    #[arg(long, default_value_t = 0)]
    pub sim_seed: u64,
    /// The guests' writable working set, as a fraction of their memory in
    /// (0, 1]: the pages their writes land on, so the most a pre-copy round
    /// can find dirty (1 spreads writes over all memory).
    #[arg(long, default_value = "1", value_parser = parse_fraction)]
    pub working_set: f64,
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err(format!("expected a fraction in (0, 1], found {s:?}")),
    }
}

impl WanArgs {
    /// The simulator's configuration.
    pub fn config(&self) -> SimConfig {
        SimConfig {
            wan: self.wan.clone(),
            migration: MigrationSettings {
                downtime_limit_s: self.downtime_limit,
                working_set_fraction: self.working_set,
                ..MigrationSettings::default()
            },
            seed: self.sim_seed,
        }
    }

    /// A one-line description, e.g. "1 Gbit/s, 40 ms RTT, 2 at a time".
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{}, {} ms RTT",
            human_bits(self.wan.capacity_bps),
            fmt_num(self.wan.rtt_s * 1e3)
        );
        if self.wan.loss > 0.0 {
            s += &format!(", {}% loss", fmt_num(self.wan.loss * 100.0));
        }
        s + &format!(", {} at a time", self.concurrency)
    }
}

fn parse_wan(s: &str) -> Result<Wan, String> {
    s.parse()
}

/// Runs `convoy simulate`.
pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let plan = read_plan(&args.plan)?;
    let cluster = load_cluster(&args.graph, Some(&args.inventory))?;
    let scenario = cluster.scenario().expect("an inventory was given");
    let schedule = Schedule::from_names(&scenario, &plan.order, args.wan.concurrency as usize)
        .map_err(|e| InputError(format!("{}: {e}", args.plan.display())))?;
    let show = !args.quiet && std::io::stderr().is_terminal();
    let mut bar = SimBar::new(plan.order.len(), show);
    let report = simulate(&scenario, &schedule, &args.wan.config(), &mut bar)
        .map_err(|e| InputError(e.to_string()))?;
    bar.finish();

    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        Format::Table => {
            writeln!(
                out,
                "simulated {} on {}: {} moves",
                args.plan.display(),
                args.wan.describe(),
                plan.order.len()
            )?;
            write_metrics(&mut out, &report)?;
        }
    }
    if let Some(path) = &args.svg {
        let doc = svg::render(
            &format!("convoy simulate {}", args.plan.display()),
            &[load_chart(&[("plan", &report)]), gantt_chart(&report)],
        );
        write_atomically(path, doc.as_bytes())
            .with_context(|| format!("writing the report to {}", path.display()))?;
        if args.format == Format::Table {
            writeln!(out, "  report         {}", path.display())?;
        }
    }
    Ok(())
}

/// Prints a run's metrics as an aligned table.
pub fn write_metrics(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    writeln!(out, "  completion     {}", human_seconds(r.completion_s))?;
    writeln!(
        out,
        "  moved          {} ({} converged, {} forced over the downtime limit, {} aborted)",
        r.moved, r.converged, r.forced, r.aborted
    )?;
    writeln!(
        out,
        "  downtime       max {} ms, total {}",
        fmt_num(r.max_downtime_s * 1e3),
        human_seconds(r.total_downtime_s)
    )?;
    writeln!(
        out,
        "  WAN bytes      {} migration, {} application",
        human_bytes(r.wan_migration_bytes),
        human_bytes(r.wan_app_bytes)
    )?;
    writeln!(
        out,
        "  stretched      {} edge-seconds; {} of conversation traffic crossed the WAN",
        fmt_num(r.stretched_edge_seconds),
        human_bytes(r.weighted_stretch_bytes)
    )?;
    writeln!(out, "  peak WAN load  {}", human_bits(r.peak_wan_bps))?;
    if r.stretched_requests > 0.0 {
        writeln!(
            out,
            "  latency        {} of extra waiting over {} stretched requests",
            human_seconds(r.latency_penalty_s),
            fmt_num(r.stretched_requests)
        )?;
    }
    Ok(())
}

/// WAN load over time: for one run, migration and application traffic as two
/// lines; for several runs (a comparison), the application traffic each lets
/// across the WAN — the migration itself fills what is left of the link in
/// every strategy, so that is where they differ.
pub fn load_chart(runs: &[(&str, &Report)]) -> svg::Chart {
    const BINS: usize = 200;
    let mut series = Vec::new();
    for (name, report) in runs {
        let bins = report.load_bins(BINS);
        let points = |f: &dyn Fn(&convoy_sim::LoadBin) -> f64| -> Vec<(f64, f64)> {
            let mut p: Vec<(f64, f64)> = bins.iter().map(|b| (b.start_s, f(b))).collect();
            if let Some(last) = bins.last() {
                p.push((last.end_s, f(last)));
            }
            p
        };
        if runs.len() == 1 {
            series.push(svg::Series {
                name: "migration".into(),
                points: points(&|b| b.migration_bps),
            });
            series.push(svg::Series {
                name: "application".into(),
                points: points(&|b| b.app_bps),
            });
        } else {
            series.push(svg::Series {
                name: (*name).to_string(),
                points: points(&|b| b.app_bps),
            });
        }
    }
    svg::Chart::Lines(svg::LineChart {
        title: if runs.len() == 1 {
            "WAN load over time".into()
        } else {
            "Application traffic crossing the WAN while the fleet is split".into()
        },
        x_label: "time (s)".into(),
        y_label: "bit/s".into(),
        series,
    })
}

/// A Gantt chart of every move, stage by stage, in start order.
pub fn gantt_chart(report: &Report) -> svg::Chart {
    let kinds = ["disk copy", "pre-copy", "stop-and-copy", "switchover"];
    let kind = |s: Stage| match s {
        Stage::Disk => 0,
        Stage::Precopy => 1,
        Stage::StopAndCopy => 2,
        Stage::Switchover => 3,
    };
    let mut rows: Vec<(f64, String, Vec<svg::Segment>)> = report
        .vms
        .iter()
        .filter_map(|vm| {
            let m = vm.migration.as_ref()?;
            let segments = m
                .spans
                .iter()
                .map(|s| svg::Segment {
                    start: s.start_s,
                    end: s.end_s,
                    kind: kind(s.stage),
                })
                .collect();
            Some((m.start_s, vm.name.clone(), segments))
        })
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    svg::Chart::Gantt(svg::Gantt {
        title: "The moves, stage by stage".into(),
        x_label: "time (s)".into(),
        kinds: kinds.iter().map(|s| s.to_string()).collect(),
        rows: rows.into_iter().map(|(_, n, s)| (n, s)).collect(),
    })
}

/// A number with at most three significant decimals, no trailing zeros.
pub fn fmt_num(v: f64) -> String {
    let s = if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Seconds, with minutes or hours beside when long: "1234 s (20 min 34 s)".
pub fn human_seconds(s: f64) -> String {
    let whole = s.round() as u64;
    if s < 60.0 {
        format!("{} s", fmt_num(s))
    } else if s < 3600.0 {
        format!("{} s ({} min {} s)", fmt_num(s), whole / 60, whole % 60)
    } else {
        format!(
            "{} s ({} h {:02} min)",
            fmt_num(s),
            whole / 3600,
            whole / 60 % 60
        )
    }
}

/// Bytes with a decimal SI unit.
pub fn human_bytes(b: f64) -> String {
    let units = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")];
    for (scale, unit) in units {
        if b >= scale {
            return format!("{:.2} {unit}", b / scale);
        }
    }
    format!("{b:.0} B")
}

/// Bits per second with a decimal SI unit.
pub fn human_bits(bps: f64) -> String {
    let units = [(1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s")];
    for (scale, unit) in units {
        if bps >= scale {
            return format!("{} {unit}", fmt_num(bps / scale));
        }
    }
    format!("{} bit/s", fmt_num(bps))
}
