//! `convoy agent`: the host agent. Runs on each hypervisor host, owns its
//! QEMU processes, and serves the mover over HTTP+JSON with a bearer token.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use convoy_agent::server::Agent;
use convoy_migrate::{Accel, QemuHost};

use crate::input::InputError;

/// Arguments of `convoy agent`.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// This host's name: the inventory's node.
    #[arg(long, value_name = "NODE")]
    pub name: String,
    /// Where the API listens.
    #[arg(long, default_value = "127.0.0.1:7070", value_name = "ADDR:PORT")]
    pub listen: SocketAddr,
    /// The runtime directory: QMP sockets, pid files, logs, incoming disks,
    /// notes. An agent restarted on the same directory finds its guests.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// The address other hosts reach this one on for migrations and NBD
    /// (default: the --listen address, when it is not a wildcard).
    #[arg(long, value_name = "IP")]
    pub migrate_address: Option<IpAddr>,
    /// A file holding the bearer token (at least 16 characters); the
    /// CONVOY_AGENT_TOKEN environment variable is used without it.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// The accelerator (default: detected — KVM only on bare metal).
    #[arg(long, value_enum)]
    pub accel: Option<AccelArg>,
}

/// `--accel`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AccelArg {
    /// Hardware virtualisation.
    Kvm,
    /// Software emulation.
    Tcg,
}

/// Reads the agent token from `file`, or from CONVOY_AGENT_TOKEN.
pub fn read_token(file: Option<&PathBuf>) -> anyhow::Result<String> {
    let token = match file {
        Some(f) => std::fs::read_to_string(f)
            .map_err(|e| InputError(format!("{}: cannot read the token: {e}", f.display())))?,
        None => std::env::var("CONVOY_AGENT_TOKEN").map_err(|_| {
            InputError(
                "no agent token: pass --token-file FILE or set CONVOY_AGENT_TOKEN".to_string(),
            )
        })?,
    };
    Ok(token.trim().to_string())
}

/// Runs `convoy agent` until SIGINT or SIGTERM; the guests keep running.
pub fn run(args: AgentArgs) -> anyhow::Result<()> {
    let token = read_token(args.token_file.as_ref())?;
    let address = match args.migrate_address {
        Some(a) => a,
        None if !args.listen.ip().is_unspecified() => args.listen.ip(),
        None => {
            return Err(InputError(format!(
                "--listen {} is a wildcard: pass --migrate-address, the IP other hosts reach this one on",
                args.listen
            ))
            .into())
        }
    };
    let mut host = QemuHost::new(&args.name, &args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?
        .with_address(address);
    if let Some(a) = args.accel {
        host = host.with_accel(match a {
            AccelArg::Kvm => Accel::Kvm,
            AccelArg::Tcg => Accel::Tcg,
        });
    }
    let agent = Arc::new(Agent::new(host, token).map_err(|e| InputError(e.to_string()))?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        convoy_agent::serve(listener, agent, shutdown_signal())
            .await
            .context("serving")
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("stopping; the guests keep running");
}
