//! `convoy migrate`: carry a plan out, wave by wave, through a backend, with a
//! durable journal that lets a rerun resume after a crash.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use convoy_migrate::{
    Backend, Event, ExecBackend, Journal, Move, Mover, Reporter, SimBackend, State,
};
use convoy_model::{read_inventory, read_plan, SiteKind};
use convoy_sim::SimConfig;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::parse_seconds;
use crate::input::InputError;

/// Arguments of `convoy migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The plan (JSON, from `convoy plan -o`).
    pub plan: PathBuf,
    /// Inventory: the VMs to move and the cloud site's nodes.
    #[arg(long, value_name = "FILE")]
    pub inventory: PathBuf,
    /// The `exec` backend: an executable called as `PROGRAM STEP` for each
    /// step (prepare, transfer, cutover, rollback) and `PROGRAM observe`,
    /// with the move as JSON on stdin and progress lines on stdout. See
    /// docs/migrate.md.
    #[arg(
        long,
        value_name = "PROGRAM",
        required_unless_present = "sim",
        conflicts_with = "sim"
    )]
    pub exec: Option<PathBuf>,
    /// The `sim` backend: a dry run through the real mover and journal, each
    /// transfer's bytes and duration from the simulator on `--wan`.
    #[arg(long)]
    pub sim: bool,
    /// With --sim: the modelled WAN, RATE,RTT[,LOSS].
    #[arg(long, default_value = "1Gbit/s,40ms", value_parser = parse_wan, requires = "sim")]
    pub wan: convoy_sim::Wan,
    /// With --sim: play the simulated transfers back this many times faster
    /// than real time (0: instantly).
    #[arg(long, default_value_t = 1000.0, requires = "sim")]
    pub speedup: f64,
    /// The journal (SQLite): every state change is written here before it is
    /// acted on; rerunning with the same journal resumes.
    #[arg(long, default_value = "convoy-journal.db", value_name = "FILE")]
    pub journal: PathBuf,
    /// Most moves at once (within a wave, when the plan has waves).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    pub concurrency: u64,
    /// Destination site (default: the inventory's first cloud site).
    #[arg(long, value_name = "SITE")]
    pub to_site: Option<String>,
    /// Longest time one step may take, seconds.
    #[arg(long, default_value = "3600", value_parser = parse_seconds)]
    pub step_timeout: f64,
    /// No progress bars.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

fn parse_wan(s: &str) -> Result<convoy_sim::Wan, String> {
    s.parse()
}

/// One bar per VM in flight and an overall bar, fed by the mover's events.
struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    per_vm: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    fn new(total: usize, show: bool) -> Bars {
        let multi = MultiProgress::with_draw_target(if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let overall = multi.add(ProgressBar::new(total as u64));
        overall.set_style(
            ProgressStyle::with_template("moved {bar:40.green/white} {pos}/{len}  {msg}")
                .expect("static template")
                .progress_chars("=> "),
        );
        Bars {
            multi,
            overall,
            per_vm: Mutex::new(HashMap::new()),
        }
    }

    fn bar(&self, vm: &str) -> ProgressBar {
        let mut bars = self.per_vm.lock().unwrap_or_else(|e| e.into_inner());
        bars.entry(vm.to_string())
            .or_insert_with(|| {
                let b = self.multi.add(ProgressBar::new(0));
                b.set_style(
                    ProgressStyle::with_template(
                        "  {prefix:30} {bar:30.cyan/blue} {bytes}/{total_bytes} {msg}",
                    )
                    .expect("static template")
                    .progress_chars("=> "),
                );
                b.set_prefix(vm.to_string());
                b
            })
            .clone()
    }
}

impl Reporter for Bars {
    fn report(&self, event: &Event) {
        match event {
            Event::State { vm, to, error, .. } => {
                let bar = self.bar(vm);
                match to {
                    State::Done => {
                        bar.finish_and_clear();
                        self.overall.inc(1);
                    }
                    State::Failed | State::RolledBack => {
                        bar.abandon_with_message(format!(
                            "{to:?}: {}",
                            error.as_deref().unwrap_or("")
                        ));
                    }
                    other => bar.set_message(format!("{other:?}")),
                }
            }
            Event::Progress { vm, progress } => {
                let bar = self.bar(vm);
                if let Some(total) = progress.total {
                    bar.set_length(total);
                } else if let Some(rem) = progress.remaining {
                    bar.set_length(progress.sent + rem);
                }
                bar.set_position(progress.sent);
                let mut msg = progress.phase.clone().unwrap_or_default();
                if let Some(d) = progress.dirty_rate {
                    msg += &format!("  dirty {}/s", indicatif::HumanBytes(d));
                }
                bar.set_message(msg);
            }
            Event::Log { .. } => {}
        }
    }
}

/// Runs `convoy migrate`.
pub fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let plan = read_plan(&args.plan)?;
    let inventory = read_inventory(&args.inventory)?;
    let to_site = match &args.to_site {
        Some(s) => {
            if !inventory.sites.iter().any(|x| &x.name == s) {
                return Err(InputError(format!(
                    "{}: no site {s:?}",
                    args.inventory.display()
                ))
                .into());
            }
            s.clone()
        }
        None => inventory
            .sites
            .iter()
            .find(|s| s.kind == SiteKind::Cloud)
            .map(|s| s.name.clone())
            .ok_or_else(|| {
                InputError(format!(
                    "{}: no cloud site to move to (add a site with kind = \"cloud\" or pass --to-site)",
                    args.inventory.display()
                ))
            })?,
    };
    let nodes: Vec<&str> = inventory
        .nodes
        .iter()
        .filter(|n| n.site == to_site)
        .map(|n| n.name.as_str())
        .collect();
    if nodes.is_empty() {
        return Err(InputError(format!(
            "{}: site {to_site:?} has no nodes to move to",
            args.inventory.display()
        ))
        .into());
    }
    // Waves as planned, or the order as one wave.
    let waves: Vec<Vec<String>> = if plan.waves.is_empty() {
        vec![plan.order.clone()]
    } else {
        plan.waves.clone()
    };
    let mut i = 0usize;
    let mut wave_moves = Vec::new();
    for wave in &waves {
        let mut moves = Vec::new();
        for name in wave {
            let vm = inventory.vm(name).ok_or_else(|| {
                InputError(format!(
                    "{}: the plan names VM {name:?}, which is not in the inventory {}",
                    args.plan.display(),
                    args.inventory.display()
                ))
            })?;
            // Destinations round-robin over the site's nodes, deterministically.
            moves.push(Move::new(
                vm.clone(),
                to_site.clone(),
                nodes[i % nodes.len()],
            ));
            i += 1;
        }
        wave_moves.push(moves);
    }
    let backend: Box<dyn Backend> = match &args.exec {
        Some(program) => Box::new(
            ExecBackend::single(program).timeout(Duration::from_secs_f64(args.step_timeout)),
        ),
        None => Box::new(SimBackend::new(
            SimConfig::new(args.wan.clone()),
            args.concurrency as usize,
            args.speedup,
        )),
    };
    let journal = Journal::open(&args.journal)
        .with_context(|| format!("opening the journal {}", args.journal.display()))?;
    let show = !args.quiet && std::io::stderr().is_terminal();
    let bars = Arc::new(Bars::new(plan.order.len(), show));
    let mover = Mover::new(journal, backend).with_reporter(bars.clone());
    // A previous run that died mid-move: bring those moves to rest first.
    let recovered = mover.recover().context("recovering the journal")?;
    let mut failed = Vec::new();
    let mut done = 0usize;
    for (w, moves) in wave_moves.iter().enumerate() {
        bars.overall
            .set_message(format!("wave {}/{}", w + 1, wave_moves.len()));
        for (mv, result) in moves
            .iter()
            .zip(mover.migrate_all(moves, args.concurrency as usize))
        {
            match result {
                Ok(_) => done += 1,
                Err(e) => failed.push((mv.name().to_string(), e.to_string())),
            }
        }
    }
    bars.overall.finish_and_clear();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "migrated {done} of {} VMs to {to_site} (journal {}{})",
        plan.order.len(),
        args.journal.display(),
        if recovered.is_empty() {
            String::new()
        } else {
            format!("; {} interrupted moves recovered first", recovered.len())
        }
    )?;
    for (vm, e) in &failed {
        writeln!(out, "  failed: {vm}: {e} (it runs at the source)")?;
    }
    if failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} moves failed; rerun to retry them", failed.len())
    }
}
