//! `convoy`: plan and carry out the migration of VMs from a private cluster to a
//! public cloud, in an order chosen from how they talk to each other.
//!
//! Exit codes: 0 success, 1 failure of the tool or the system, 2 bad input
//! (a malformed file, an unknown name, a bad flag).

mod cmd;
mod input;
mod output;
mod progress;
mod svg;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::input::InputError;

/// Plan and carry out VM migrations between a private cluster and a public cloud.
#[derive(Debug, Parser)]
#[command(name = "convoy", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The whole job on the bundled sample cluster: plan, simulated migration, comparison, report.
    Demo(cmd::demo::DemoArgs),
    /// Compute a migration order from a communication graph.
    Plan(cmd::plan::PlanArgs),
    /// Carry a plan out through a backend, with a journal that survives crashes.
    Migrate(cmd::migrate::MigrateArgs),
    /// Serve this hypervisor host's QEMU processes to the mover (HTTP+JSON, bearer token).
    Agent(cmd::agent::AgentArgs),
    /// A testbed on this machine: namespaces, a shaped WAN, agents and real QEMU guests, moved for real.
    Lab(cmd::lab::LabArgs),
    /// Choose which VMs to move to meet a need (evacuate nodes, free capacity).
    Select(cmd::select::SelectArgs),
    /// Predict what a plan will cost on a modelled WAN.
    Simulate(cmd::simulate::SimulateArgs),
    /// Run every strategy on the same cluster and WAN, side by side.
    Compare(cmd::compare::CompareArgs),
    /// Run the planner over benchmark graphs and print a row per graph.
    #[command(subcommand)]
    Bench(cmd::bench::BenchCommand),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout and usage errors to stderr.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // Logs go to stderr. The agent is a service and logs at info; the other
    // commands stay silent unless asked: `RUST_LOG=convoy_schedule=debug`
    // shows, for one, every round of the stretch LP bound.
    let default_level = if matches!(cli.command, Command::Agent(_)) {
        "info"
    } else {
        "warn"
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_level.into()),
        )
        .try_init();
    let result = match cli.command {
        Command::Demo(args) => cmd::demo::run(args),
        Command::Plan(args) => cmd::plan::run(args),
        Command::Migrate(args) => cmd::migrate::run(args),
        Command::Agent(args) => cmd::agent::run(args),
        Command::Lab(args) => cmd::lab::run(args),
        Command::Select(args) => cmd::select::run(args),
        Command::Simulate(args) => cmd::simulate::run(args),
        Command::Compare(args) => cmd::compare::run(args),
        Command::Bench(command) => cmd::bench::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that went away (`convoy plan … | head`) is not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            if is_input_error(&err) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// Bad input (exit 2) is a file that does not parse or names that do not resolve.
fn is_input_error(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|cause| cause.is::<convoy_model::FileError>() || cause.is::<InputError>())
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
