//! convoy's mover: carries out a migration plan VM by VM.
//!
//! Each VM's move follows an explicit state machine ([`State`]: Pending →
//! Preparing → Transferring → Cutover → Done, or Failed / RolledBack), with
//! typed errors, after the model of cloud-hypervisor's VMM migration code.
//! Every state is written to a SQLite [`Journal`] (WAL, fsync'd) before it is
//! acted on; a [`Mover`] started on an existing journal reconciles it with
//! what the [`Backend`] reports and resumes, so that nothing is lost and
//! nothing is moved twice. Invariant: a VM runs in exactly one place; a failed
//! transfer leaves it running at the source with the destination gone.
//!
//! ```no_run
//! use convoy_migrate::{Journal, Move, Mover};
//! # fn demo(backend: impl convoy_migrate::Backend, vm: convoy_model::Vm) -> anyhow::Result<()> {
//! let mover = Mover::new(Journal::open("moves.db".as_ref())?, backend);
//! let done = mover.migrate(&Move::new(vm, "cloud", "c1"))?;
//! assert_eq!(done.state, convoy_migrate::State::Done);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod backend;
pub mod error;
pub mod exec;
pub mod host;
pub mod journal;
pub mod mover;
pub mod qemu;
pub mod qmp;
pub mod sim;
pub mod state;

pub use backend::{
    Backend, Event, Move, NoReport, Observation, Presence, Reporter, StepContext, TransferProgress,
    TransferStatus,
};
pub use error::{BackendError, JournalError, MigrateError};
pub use exec::{ExecBackend, ExecCommand};
pub use host::Host;
pub use journal::{Entry, Journal, Transition};
pub use mover::{Mover, Recovered};
pub use qemu::{
    Accel, DiskConfig, MachineConfig, MigrationSettings, QemuBackend, QemuHost, RamLoad,
};
pub use sim::SimBackend;
pub use state::{State, Step};
