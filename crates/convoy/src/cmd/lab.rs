//! `convoy lab`: a self-contained testbed on one machine. Two network
//! namespaces (private, cloud) joined by a `tc`-shaped veth WAN, a `convoy
//! agent` in each, N QEMU guests on the private side; it plans their move
//! with `convoy plan`, predicts it with `convoy simulate`, carries it out with
//! `convoy migrate --qemu` through the agents, checks where every guest ended
//! up, and prints the figures.

mod net;

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use convoy_agent::AgentHost;
use convoy_migrate::{Host, MachineConfig, Presence, RamLoad};
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::Value;

use super::Format;
use net::LabNet;

/// Arguments of `convoy lab`.
#[derive(Debug, Args)]
pub struct LabArgs {
    /// How many guests to move.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub vms: u64,
    /// The WAN: RATE or RATE,RTT (tc's spellings: 100mbit,20ms). The delay needs
    /// the kernel's netem; without it the rate is shaped anyway and the
    /// output says the delay was not emulated.
    #[arg(long, default_value = "100mbit")]
    pub link: String,
    /// Each guest's memory, MiB.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(32..))]
    pub memory: u64,
    /// Memory each guest fills with data before the move, MiB (default:
    /// its memory less 48 MiB for the kernel).
    #[arg(long)]
    pub fill: Option<u64>,
    /// The working set each guest keeps rewriting, MiB.
    #[arg(long, default_value_t = 32)]
    pub wss: u64,
    /// How fast each guest dirties memory, MiB/s.
    #[arg(long, default_value_t = 2)]
    pub dirty: u64,
    /// The test guest (from `bash scripts/build-guest.sh`).
    #[arg(long, default_value = "target/guest", value_name = "DIR")]
    pub guest: PathBuf,
    /// Firmware-only guests whose RAM is loaded with data instead of booting
    /// the test guest's kernel: fast, but nothing dirties memory.
    #[arg(long)]
    pub firmware: bool,
    /// Most moves at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    pub concurrency: u64,
    /// Keep the lab's files (logs, plan, journal) in DIR.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Seed of the guests' communication graph and data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// What `convoy lab` prints.
#[derive(Debug, Serialize)]
struct LabReport {
    vms: u64,
    moved: u64,
    lost: u64,
    doubled: u64,
    wall_s: f64,
    bytes: u64,
    link_limit_s: f64,
    link_busy: f64,
    max_downtime_ms: Option<u64>,
    predicted_s: f64,
    prediction_error: f64,
    link: String,
    delay_emulated: bool,
    guest: &'static str,
    accel: String,
    notes: Vec<String>,
}

const TOKEN_BYTES: usize = 24;
const AGENT_PORT: u16 = 7070;
const PRIVATE: &str = "private-host";
const CLOUD: &str = "cloud-host";

/// An agent running in a namespace; killed when dropped.
struct AgentProcess(Child);

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Kills the lab's guests on both sides however the lab ends.
struct Guests<'a> {
    hosts: Vec<&'a AgentHost>,
    names: Vec<String>,
}

impl Drop for Guests<'_> {
    fn drop(&mut self) {
        for h in &self.hosts {
            for n in &self.names {
                let _ = h.kill_vm(n);
            }
        }
    }
}

fn say(quiet: bool, msg: impl AsRef<str>) {
    if !quiet {
        eprintln!("lab: {}", msg.as_ref());
    }
}

/// Runs `convoy lab`.
pub fn run(args: LabArgs) -> anyhow::Result<()> {
    let (rate_s, rtt_s) = match args.link.split_once(',') {
        Some((r, t)) => (r, Some(t)),
        None => (args.link.as_str(), None),
    };
    let rate_bps = convoy_sim::parse_rate(rate_s)
        .map_err(|e| crate::input::InputError(format!("--link: {e}")))?;
    let rtt = match rtt_s {
        Some(t) => format!("{rate_s},{t}")
            .parse::<convoy_sim::Wan>()
            .map_err(|e| crate::input::InputError(format!("--link: {e}")))?,
        None => convoy_sim::Wan::new(rate_bps, 0.0),
    };
    let rtt_s = rtt.rtt_s;
    let fill = args.fill.unwrap_or(args.memory.saturating_sub(48));
    // Firmware guests hold their data from 32 MiB up.
    let reserved = if args.firmware { 32 } else { 0 };
    if fill + reserved > args.memory {
        return Err(crate::input::InputError(format!(
            "--fill {fill} MiB does not fit in --memory {} MiB{}",
            args.memory,
            if args.firmware {
                " (firmware guests hold their data from 32 MiB up)"
            } else {
                ""
            }
        ))
        .into());
    }
    let quiet = args.format == Format::Json;
    let exe = std::env::current_exe().context("finding the convoy binary")?;
    let guest = if args.firmware {
        None
    } else {
        let kernel = args.guest.join("vmlinuz");
        let initrd = args.guest.join("initramfs.gz");
        if !kernel.exists() || !initrd.exists() {
            return Err(crate::input::InputError(format!(
                "{}: no test guest (vmlinuz, initramfs.gz); build it with `bash scripts/build-guest.sh`, \
                 or pass --firmware",
                args.guest.display()
            ))
            .into());
        }
        Some((
            std::fs::canonicalize(kernel)?,
            std::fs::canonicalize(initrd)?,
        ))
    };
    let tmp;
    let work: PathBuf = match &args.keep {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            std::fs::canonicalize(d)?
        }
        None => {
            tmp = tempfile::Builder::new().prefix("convoy-lab").tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let id = format!("cvl{}", std::process::id() % 100_000);
    say(
        quiet,
        format!(
            "network: namespaces {id}-private and {id}-cloud, WAN {}",
            args.link
        ),
    );
    let net = LabNet::create(&id, rate_bps, rtt_s)?;
    // Ctrl-C or SIGTERM skips the destructors: tear the lab down from the
    // handler (everything runs inside the two namespaces), then exit.
    let namespaces = net.namespaces();
    ctrlc::set_handler(move || {
        eprintln!("lab: interrupted; removing the guests, agents and namespaces");
        for ns in &namespaces {
            net::remove_namespace(ns);
        }
        std::process::exit(130);
    })
    .context("installing the interrupt handler")?;
    let mut notes = Vec::new();
    if rtt_s > 0.0 && !net.delay_emulated {
        notes.push(format!(
            "the kernel has no netem: the WAN's rate is shaped but its {} ms delay was not emulated (nor predicted)",
            rtt_s * 1e3
        ));
    }
    // The agents, one per namespace, reached on the management links.
    let token: String = {
        let mut rng = rand::thread_rng();
        (0..TOKEN_BYTES)
            .map(|_| format!("{:02x}", rng.gen::<u8>()))
            .collect()
    };
    let token_file = work.join("agent.token");
    std::fs::write(&token_file, &token)?;
    let mut agents = Vec::new();
    for (name, ns, mgmt, wan) in [
        (PRIVATE, &net.private_ns, net.private_mgmt, net.private_wan),
        (CLOUD, &net.cloud_ns, net.cloud_mgmt, net.cloud_wan),
    ] {
        let log = std::fs::File::create(work.join(format!("{name}.agent.log")))?;
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(&exe)
            .args(["agent", "--name", name])
            .arg("--listen")
            .arg(format!("{mgmt}:{AGENT_PORT}"))
            .arg("--migrate-address")
            .arg(wan.to_string())
            .arg("--dir")
            .arg(work.join(name))
            .arg("--token-file")
            .arg(&token_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting an agent")?;
        agents.push(AgentProcess(child));
    }
    let connect = |mgmt| -> anyhow::Result<AgentHost> {
        let url = format!("http://{mgmt}:{AGENT_PORT}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match AgentHost::connect(&url, &token) {
                Ok(h) => return Ok(h),
                Err(e) if Instant::now() > deadline => {
                    bail!(
                        "the agent at {url} did not come up: {e} (see {})",
                        work.display()
                    )
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    };
    let private = Arc::new(connect(net.private_mgmt)?);
    let cloud = Arc::new(connect(net.cloud_mgmt)?);
    let names: Vec<String> = (1..=args.vms).map(|i| format!("vm{i:02}")).collect();
    let _guests = Guests {
        hosts: vec![&private, &cloud],
        names: names.clone(),
    };
    // The guests.
    say(
        quiet,
        format!(
            "starting {} guests of {} MiB ({})",
            args.vms,
            args.memory,
            if guest.is_some() {
                format!(
                    "test guest: fill {fill} MiB, dirty {} MiB/s over {} MiB",
                    args.dirty, args.wss
                )
            } else {
                format!("firmware, {fill} MiB of data in RAM")
            }
        ),
    );
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(args.seed);
    for name in &names {
        let mut config = MachineConfig::new(args.memory, 1);
        match &guest {
            Some((kernel, initrd)) => {
                config.kernel = Some(kernel.clone());
                config.initrd = Some(initrd.clone());
                config.append = Some(format!(
                    "console=ttyS0 quiet panic=-1 convoy.fill={fill} convoy.wss={} convoy.dirty={}",
                    args.wss.min(fill),
                    args.dirty
                ));
                // Kept by each host, read through its agent.
                config.console = true;
            }
            None => {
                let ram = work.join(format!("{name}.ram"));
                let mut data = vec![0u8; (fill << 20) as usize];
                rng.fill(&mut data[..]);
                std::fs::write(&ram, data)?;
                config.ram_loads.push(RamLoad {
                    file: ram,
                    addr: 0x200_0000,
                });
            }
        }
        private.start_vm(name, &config, false)?;
    }
    if guest.is_some() {
        say(quiet, "waiting for the guests to fill their memory");
        wait_ready(&private, &names, Duration::from_secs(600))?;
    }
    // The plan and its prediction, with convoy's own commands.
    let inventory = work.join("inventory.toml");
    std::fs::write(&inventory, inventory_toml(&args, &names, &net))?;
    let graph = work.join("graph.csv");
    std::fs::write(&graph, graph_csv(&names, &mut rng))?;
    let plan = work.join("plan.json");
    run_convoy(&exe, |c| {
        c.arg("plan")
            .arg(&graph)
            .arg("--inventory")
            .arg(&inventory)
            .arg("-q")
            .arg("-o")
            .arg(&plan);
    })?;
    // What the guests are told to rewrite, as the simulator's working set.
    let working_set = (args.wss.min(fill).max(1) as f64 / args.memory as f64).min(1.0);
    // Predict the WAN the lab really has: no delay when netem is missing.
    let wan = if net.delay_emulated {
        args.link.clone()
    } else {
        format!("{rate_s},0ms")
    };
    let sim = convoy_output(&exe, |c| {
        c.arg("simulate")
            .arg(&plan)
            .arg("--inventory")
            .arg(&inventory)
            .arg("--graph")
            .arg(&graph)
            .args(["--wan", &wan, "--concurrency"])
            .arg(args.concurrency.to_string())
            .arg("--working-set")
            .arg(working_set.to_string())
            .args(["--format", "json", "-q"]);
    })?;
    let predicted_s = sim
        .get("completion_s")
        .and_then(Value::as_f64)
        .context("convoy simulate's output has no completion_s")?;
    // The move itself.
    say(quiet, format!("migrating (prediction: {predicted_s:.1} s)"));
    let migrated = convoy_output(&exe, |c| {
        c.arg("migrate")
            .arg(&plan)
            .arg("--inventory")
            .arg(&inventory)
            .arg("--qemu")
            .arg("--agent-token-file")
            .arg(&token_file)
            .arg("--journal")
            .arg(work.join("journal.db"))
            .arg("--concurrency")
            .arg(args.concurrency.to_string())
            .args(["--format", "json"]);
        if quiet {
            c.arg("-q");
        }
    })?;
    // Where every guest is now, as the agents see it.
    let (mut moved, mut lost, mut doubled) = (0, 0, 0);
    for n in &names {
        match (private.presence(n), cloud.presence(n)) {
            (Presence::Absent, Presence::Running) => moved += 1,
            (Presence::Running, Presence::Running) => doubled += 1,
            (Presence::Running, _) | (_, Presence::Running) => {}
            _ => lost += 1,
        }
    }
    let wall_s = migrated["wall_s"].as_f64().unwrap_or(f64::NAN);
    let bytes = migrated["bytes"].as_u64().unwrap_or(0);
    let link_limit_s = bytes as f64 * 8.0 / rate_bps;
    let report = LabReport {
        vms: args.vms,
        moved,
        lost,
        doubled,
        wall_s,
        bytes,
        link_limit_s,
        link_busy: link_limit_s / wall_s,
        max_downtime_ms: migrated["max_downtime_ms"].as_u64(),
        predicted_s,
        prediction_error: (predicted_s - wall_s) / wall_s,
        link: args.link.clone(),
        delay_emulated: net.delay_emulated,
        guest: if guest.is_some() {
            "kernel"
        } else {
            "firmware"
        },
        accel: private.info().accel.clone(),
        notes,
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        Format::Table => write!(out, "{}", table(&report))?,
    }
    if moved != args.vms {
        bail!(
            "{} of {} guests did not end up running in the cloud (lost {lost}, doubled {doubled}); files in {}",
            args.vms - moved,
            args.vms,
            work.display()
        );
    }
    drop(_guests);
    drop(agents);
    drop(net);
    Ok(())
}

fn table(r: &LabReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "guests moved    {} of {} (lost {}, doubled {})",
        r.moved, r.vms, r.lost, r.doubled
    );
    let _ = writeln!(s, "wall time       {:.1} s", r.wall_s);
    let _ = writeln!(s, "bytes sent      {:.1} MB", r.bytes as f64 / 1e6);
    let _ = writeln!(
        s,
        "link limit      {:.1} s  (bytes / link rate: link busy {:.0}%)",
        r.link_limit_s,
        r.link_busy * 100.0
    );
    if let Some(d) = r.max_downtime_ms {
        let _ = writeln!(s, "max downtime    {d} ms");
    }
    let _ = writeln!(
        s,
        "predicted       {:.1} s  ({:+.1}% against the measured time)",
        r.predicted_s,
        r.prediction_error * 100.0
    );
    let _ = writeln!(s, "guests          {} under {}", r.guest, r.accel);
    for n in &r.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

fn inventory_toml(args: &LabArgs, names: &[String], net: &LabNet) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "[[sites]]\nname = \"private\"\nkind = \"private\"\n");
    let _ = writeln!(s, "[[sites]]\nname = \"cloud\"\nkind = \"cloud\"\n");
    for (node, site, mgmt) in [
        (PRIVATE, "private", net.private_mgmt),
        (CLOUD, "cloud", net.cloud_mgmt),
    ] {
        let _ = writeln!(
            s,
            "[[nodes]]\nname = \"{node}\"\nsite = \"{site}\"\nagent = \"http://{mgmt}:{AGENT_PORT}\"\n"
        );
    }
    let dirty = if args.firmware { 0 } else { args.dirty };
    for n in names {
        let _ = writeln!(
            s,
            "[[vms]]\nname = \"{n}\"\nsite = \"private\"\nnode = \"{PRIVATE}\"\nmemory_mib = {}\ndirty_mib_per_s = {dirty}\n",
            args.memory
        );
    }
    s
}

/// A chain of services with a few seeded cross links, heavy-tailed weights.
fn graph_csv(names: &[String], rng: &mut impl Rng) -> String {
    let mut s = String::from("a,b,weight\n");
    for w in names.windows(2) {
        let _ = writeln!(s, "{},{},{}", w[0], w[1], 1u64 << rng.gen_range(0..12));
    }
    for _ in 0..names.len() / 2 {
        let a = rng.gen_range(0..names.len());
        let b = rng.gen_range(0..names.len());
        if a.abs_diff(b) > 1 {
            let _ = writeln!(
                s,
                "{},{},{}",
                names[a],
                names[b],
                1u64 << rng.gen_range(0..8)
            );
        }
    }
    s
}

/// Runs a convoy subcommand, its stderr (progress, errors) on ours; returns
/// its stdout.
fn run_convoy(exe: &Path, build: impl FnOnce(&mut Command)) -> anyhow::Result<Vec<u8>> {
    let mut c = Command::new(exe);
    build(&mut c);
    let out = c.stderr(Stdio::inherit()).output()?;
    if !out.status.success() {
        bail!(
            "convoy {} failed ({})",
            c.get_args().next().unwrap_or_default().to_string_lossy(),
            out.status
        );
    }
    Ok(out.stdout)
}

/// Runs a convoy subcommand whose stdout is one JSON object.
fn convoy_output(exe: &Path, build: impl FnOnce(&mut Command)) -> anyhow::Result<Value> {
    let stdout = run_convoy(exe, build)?;
    serde_json::from_slice(&stdout).context("reading a convoy command's JSON output")
}

fn wait_ready(host: &AgentHost, names: &[String], timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut pending: Vec<&String> = names.iter().collect();
    loop {
        let mut still = Vec::new();
        for n in pending {
            if !host.console(n, 1 << 20)?.contains("convoy-guest: ready") {
                still.push(n);
            }
        }
        pending = still;
        if pending.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{} guests did not report ready within {timeout:?}; {}'s console ends: {}",
                pending.len(),
                pending[0],
                host.console(pending[0], 400)?
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
