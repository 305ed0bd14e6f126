//! `convoy migrate`: carry a plan out, wave by wave, through a backend, with a
//! durable journal that lets a rerun resume after a crash.

use std::collections::{BTreeSet, HashMap};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use convoy_agent::AgentHost;
use convoy_migrate::{
    Backend, Event, ExecBackend, Journal, MigrationSettings, Move, Mover, QemuBackend, Reporter,
    SimBackend, State,
};
use convoy_model::{read_inventory, read_plan, SiteKind};
use convoy_sim::SimConfig;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use serde::Serialize;

use super::{parse_seconds, Format};
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
        required_unless_present_any = ["sim", "qemu"],
        conflicts_with_all = ["sim", "qemu"]
    )]
    pub exec: Option<PathBuf>,
    /// The `qemu` backend: live migration of QEMU guests, driven through the
    /// `convoy agent` of each node (the inventory's `agent` address).
    #[arg(long, conflicts_with = "sim")]
    pub qemu: bool,
    /// With --qemu: a file holding the agents' bearer token (default: the
    /// CONVOY_AGENT_TOKEN environment variable).
    #[arg(long, value_name = "FILE", requires = "qemu")]
    pub agent_token_file: Option<PathBuf>,
    /// With --qemu: cap each migration's rate (e.g. 400Mbit/s).
    #[arg(long, value_name = "RATE", value_parser = parse_rate, requires = "qemu")]
    pub max_bandwidth: Option<f64>,
    /// With --qemu: the longest acceptable pause at switchover, ms.
    #[arg(long, value_name = "MS", requires = "qemu")]
    pub downtime_limit: Option<u64>,
    /// The `sim` backend: a dry run through the real mover and journal, each
    /// transfer's bytes and duration from the simulator on `--wan`.
    #[arg(long)]
    pub sim: bool,
    /// With --sim: the modelled WAN, RATE,RTT or RATE,RTT,LOSS.
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
    /// Most moves at once, within a wave (default: the plan's concurrency —
    /// a whole wave at once, as its waves were cut for; 2 for a plan without
    /// waves).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub concurrency: Option<u64>,
    /// Destination site (default: the inventory's first cloud site).
    #[arg(long, value_name = "SITE")]
    pub to_site: Option<String>,
    /// Longest time one step may take, seconds.
    #[arg(long, default_value = "3600", value_parser = parse_seconds)]
    pub step_timeout: f64,
    /// No progress bars.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// The summary on stdout: a line per outcome, or one JSON object with
    /// per-VM bytes and downtime.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// What one VM's move carried, from the backend's last progress reports.
#[derive(Debug, Clone, Default, Serialize)]
struct VmFigures {
    vm: String,
    state: String,
    /// Storage then memory bytes sent (the last attempt's).
    bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    downtime_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip)]
    storage: u64,
    #[serde(skip)]
    memory: u64,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    convoy_sim::parse_rate(s).map_err(|e| e.to_string())
}

/// The `qemu` backend over the agents of the nodes that `moves` leave and
/// reach; each agent must answer with the token and call itself by its node's
/// name.
fn qemu_backend(
    args: &MigrateArgs,
    inventory: &convoy_model::Inventory,
    moves: &[Move],
) -> anyhow::Result<QemuBackend<AgentHost>> {
    let token = super::agent::read_token(args.agent_token_file.as_ref())?;
    let nodes: BTreeSet<&str> = moves
        .iter()
        .flat_map(|m| [m.vm.node.as_str(), m.to_node.as_str()])
        .collect();
    let mut hosts = Vec::new();
    for name in nodes {
        let node = inventory.nodes.iter().find(|n| n.name == name);
        let url = node.and_then(|n| n.agent.as_deref()).ok_or_else(|| {
            InputError(format!(
                "{}: node {name:?} has no `agent` address, which --qemu needs",
                args.inventory.display()
            ))
        })?;
        let host = AgentHost::connect(url, &token)
            .with_context(|| format!("the agent of node {name:?}"))?;
        if host.info().name != name {
            return Err(InputError(format!(
                "{}: node {name:?}'s agent at {url} says it is {:?}",
                args.inventory.display(),
                host.info().name
            ))
            .into());
        }
        hosts.push(Arc::new(host));
    }
    let backend = QemuBackend::by_node(hosts);
    backend.set_settings(MigrationSettings {
        max_bandwidth: args.max_bandwidth.map(|bits| (bits / 8.0) as u64),
        downtime_limit_ms: args.downtime_limit,
        ..MigrationSettings::default()
    });
    Ok(backend)
}

fn parse_wan(s: &str) -> Result<convoy_sim::Wan, String> {
    s.parse()
}

/// One bar per VM in flight and an overall bar, fed by the mover's events.
struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    per_vm: Mutex<HashMap<String, ProgressBar>>,
    figures: Mutex<HashMap<String, VmFigures>>,
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
            figures: Mutex::new(HashMap::new()),
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

impl Bars {
    fn record(&self, event: &Event) {
        let mut all = self.figures.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::State { vm, to, error, .. } => {
                let f = all.entry(vm.clone()).or_default();
                f.state = format!("{to:?}");
                f.error = error.clone();
                if *to == State::Preparing {
                    // A new attempt: count only what it sends.
                    (f.storage, f.memory, f.downtime_ms) = (0, 0, None);
                }
            }
            Event::Progress { vm, progress } => {
                let f = all.entry(vm.clone()).or_default();
                match progress.phase.as_deref() {
                    Some("storage") => f.storage = progress.sent,
                    _ => f.memory = progress.sent,
                }
                if progress.downtime_ms.is_some() {
                    f.downtime_ms = progress.downtime_ms;
                }
            }
            Event::Log { .. } => {}
        }
    }

    fn figures(&self, order: &[String]) -> Vec<VmFigures> {
        let all = self.figures.lock().unwrap_or_else(|e| e.into_inner());
        order
            .iter()
            .map(|vm| {
                let mut f = all.get(vm).cloned().unwrap_or_default();
                f.vm = vm.clone();
                f.bytes = f.storage + f.memory;
                f
            })
            .collect()
    }
}

impl Reporter for Bars {
    fn report(&self, event: &Event) {
        self.record(event);
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
    let concurrency = match args.concurrency {
        Some(c) => c as usize,
        None if !plan.waves.is_empty() => waves.iter().map(Vec::len).max().unwrap_or(1).max(1),
        None => 2,
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
        None if args.qemu => Box::new(qemu_backend(&args, &inventory, &wave_moves.concat())?),
        None => Box::new(SimBackend::new(
            SimConfig::new(args.wan.clone()),
            concurrency,
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
    let started = Instant::now();
    let mut failed = Vec::new();
    let mut done = 0usize;
    for (w, moves) in wave_moves.iter().enumerate() {
        bars.overall
            .set_message(format!("wave {}/{}", w + 1, wave_moves.len()));
        for (mv, result) in moves.iter().zip(mover.migrate_all(moves, concurrency)) {
            match result {
                Ok(_) => done += 1,
                Err(e) => failed.push((mv.name().to_string(), e.to_string())),
            }
        }
    }
    bars.overall.finish_and_clear();
    let wall_s = started.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    if args.format == Format::Json {
        let vms = bars.figures(&plan.order);
        let summary = serde_json::json!({
            "moved": done,
            "failed": failed.len(),
            "recovered": recovered.len(),
            "wall_s": wall_s,
            "bytes": vms.iter().map(|f| f.bytes).sum::<u64>(),
            "max_downtime_ms": vms.iter().filter_map(|f| f.downtime_ms).max(),
            "vms": vms,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&summary)?)?;
    } else {
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
    }
    if failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} moves failed; rerun to retry them", failed.len())
    }
}
