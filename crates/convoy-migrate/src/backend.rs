//! The `Backend` trait: what carries out the steps of a move, and the types
//! it shares with the mover (the move's description, progress, observations).
//!
//! Backends in this crate: [`crate::exec`] (the operator's executables) and
//! [`crate::qemu`] (QEMU live migration over QMP). The seam for the
//! simulator's dry runs is the same trait: a `sim` backend implements the four
//! steps by advancing `convoy_sim`'s model of the move (transfer reports the
//! simulated bytes through [`StepContext::progress`]) and answers
//! [`Backend::observe`] from its model, with no change to the mover.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use convoy_model::Vm;
use serde::{Deserialize, Serialize};

use crate::error::BackendError;
use crate::state::{State, Step};

/// One VM's move: the VM as the inventory describes it (its `site` and `node`
/// are the source) and where it goes. This is what the journal keeps and what
/// the `exec` backend's executables receive on stdin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Move {
    /// The VM.
    pub vm: Vm,
    /// The destination site.
    pub to_site: String,
    /// The destination node (hypervisor host).
    pub to_node: String,
    /// Backend-specific settings for this VM (free-form; e.g. an image path).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
}

impl Move {
    /// A move of `vm` to `to_node` in `to_site`, without parameters.
    pub fn new(vm: Vm, to_site: impl Into<String>, to_node: impl Into<String>) -> Move {
        Move {
            vm,
            to_site: to_site.into(),
            to_node: to_node.into(),
            params: BTreeMap::new(),
        }
    }

    /// The VM's name.
    pub fn name(&self) -> &str {
        &self.vm.name
    }

    /// `site/node` of the destination, for messages.
    pub fn destination(&self) -> String {
        format!("{}/{}", self.to_site, self.to_node)
    }
}

/// Whether a copy of the VM exists on one side, and in what condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// No process for this VM.
    Absent,
    /// A process waiting for (or receiving) an incoming migration.
    Incoming,
    /// A process whose guest is stopped (including after an outgoing migration).
    Paused,
    /// The guest is running.
    Running,
    /// The backend cannot tell.
    Unknown,
}

/// The state of the copy between the two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    /// No transfer has been started (or the last one was cancelled).
    NotStarted,
    /// Data is being copied.
    Active,
    /// The copy converged and the source is paused.
    Completed,
    /// The last transfer failed.
    Failed,
    /// The backend cannot tell.
    Unknown,
}

/// What a backend sees of a VM on both sides: the mover compares it with the
/// journal before resuming after a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    /// The source side.
    pub source: Presence,
    /// The destination side.
    pub destination: Presence,
    /// The copy.
    pub transfer: TransferStatus,
}

impl Observation {
    /// Nothing known: the mover then trusts the journal and reruns the
    /// interrupted step (which backends must make safe to rerun).
    pub const UNKNOWN: Observation = Observation {
        source: Presence::Unknown,
        destination: Presence::Unknown,
        transfer: TransferStatus::Unknown,
    };

    /// True when the guest runs at both ends: the one thing that must never be.
    pub fn split_brain(&self) -> bool {
        self.source == Presence::Running && self.destination == Presence::Running
    }
}

impl std::fmt::Display for Observation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "source {:?}, destination {:?}, transfer {:?}",
            self.source, self.destination, self.transfer
        )
    }
}

/// How far a transfer has got. Byte counts are those the hypervisor reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TransferProgress {
    /// What is being copied: `"storage"` or `"memory"` (free-form for `exec`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Bytes sent so far in this phase.
    pub sent: u64,
    /// Bytes still to send, if known (for memory: the current dirty set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
    /// Total size, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// How fast the guest dirties memory now, bytes/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dirty_rate: Option<u64>,
    /// The downtime the hypervisor expects at switchover, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_downtime_ms: Option<u64>,
    /// Once the copy has completed: the guest's actual pause, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downtime_ms: Option<u64>,
    /// Time since this phase started, ms, as the hypervisor counts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
}

/// Something worth showing while moves run.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A journaled state change (already durable when reported).
    State {
        /// The VM.
        vm: String,
        /// Previous state.
        from: State,
        /// New state.
        to: State,
        /// Attempt number (1 for the first).
        attempt: u32,
        /// The error that caused a Failed or RolledBack.
        error: Option<String>,
    },
    /// Transfer progress.
    Progress {
        /// The VM.
        vm: String,
        /// The figures.
        progress: TransferProgress,
    },
    /// A line of output from a step, for logs.
    Log {
        /// The VM.
        vm: String,
        /// The step.
        step: Step,
        /// The line.
        line: String,
    },
}

/// Receives events; called from the threads that run the moves.
pub trait Reporter: Send + Sync {
    /// Called for every event.
    fn report(&self, event: &Event);
}

/// A reporter that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoReport;

impl Reporter for NoReport {
    fn report(&self, _event: &Event) {}
}

impl<F: Fn(&Event) + Send + Sync> Reporter for F {
    fn report(&self, event: &Event) {
        self(event)
    }
}

/// What a step gets besides the move: who to tell about progress, and whether
/// the operator asked to cancel.
pub struct StepContext<'a> {
    /// The step being run.
    pub step: Step,
    /// The attempt number (1 for the first).
    pub attempt: u32,
    vm: &'a str,
    reporter: &'a dyn Reporter,
    cancel: &'a AtomicBool,
}

impl<'a> StepContext<'a> {
    /// A context for `step` of `vm`.
    pub fn new(
        vm: &'a str,
        step: Step,
        attempt: u32,
        reporter: &'a dyn Reporter,
        cancel: &'a AtomicBool,
    ) -> StepContext<'a> {
        StepContext {
            step,
            attempt,
            vm,
            reporter,
            cancel,
        }
    }

    /// The VM's name.
    pub fn vm(&self) -> &str {
        self.vm
    }

    /// Reports transfer progress.
    pub fn progress(&self, progress: TransferProgress) {
        self.reporter.report(&Event::Progress {
            vm: self.vm.to_string(),
            progress,
        });
    }

    /// Reports a line of output.
    pub fn log(&self, line: impl Into<String>) {
        self.reporter.report(&Event::Log {
            vm: self.vm.to_string(),
            step: self.step,
            line: line.into(),
        });
    }

    /// True once the operator has asked to cancel this move: long steps poll
    /// it and return [`BackendError::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
}

/// Carries out the steps of a move. The mover journals each step before it
/// calls it, so after a crash of the mover the step that was running is
/// called again: every step must be safe to rerun — it finishes or redoes
/// what a previous, interrupted call left (for example `transfer` follows a
/// migration that is still running rather than starting a second one).
pub trait Backend: Send + Sync {
    /// The backend's kind, for messages (`"qemu"`, `"exec"`, …).
    fn kind(&self) -> &'static str;

    /// Makes the destination ready to receive the VM (the VM keeps running at
    /// the source).
    fn prepare(&self, mv: &Move, ctx: &StepContext<'_>) -> Result<(), BackendError>;

    /// Copies storage, then memory, until the copy converges; returns when
    /// the source is paused with everything sent. Reports progress on the way.
    fn transfer(&self, mv: &Move, ctx: &StepContext<'_>) -> Result<(), BackendError>;

    /// Resumes the guest at the destination and retires the source.
    fn cutover(&self, mv: &Move, ctx: &StepContext<'_>) -> Result<(), BackendError>;

    /// Undoes a move that did not complete its cutover: stops any transfer,
    /// removes the destination's copy and leaves the guest running at the
    /// source. Must succeed when there is nothing to undo.
    fn rollback(&self, mv: &Move, ctx: &StepContext<'_>) -> Result<(), BackendError>;

    /// Where the VM is now. The default knows nothing.
    fn observe(&self, mv: &Move) -> Result<Observation, BackendError> {
        let _ = mv;
        Ok(Observation::UNKNOWN)
    }
}

/// A boxed or shared backend is a backend (the mover holds `Arc<dyn Backend>`).
macro_rules! forward_backend {
    ($($pointer:ident),*) => {$(
        impl<B: Backend + ?Sized> Backend for $pointer<B> {
            fn kind(&self) -> &'static str {
                (**self).kind()
            }
            fn prepare(&self, mv: &Move, ctx: &StepContext<'_>) -> Result<(), BackendError> {
                (**self).prepare(mv, ctx)
            }
            fn transfer(&self, mv: &Move, ctx: &StepContext<'_>) -> Result<(), BackendError> {
                (**self).transfer(mv, ctx)
            }
            fn cutover(&self, mv: &Move, ctx: &StepContext<'_>) -> Result<(), BackendError> {
                (**self).cutover(mv, ctx)
            }
            fn rollback(&self, mv: &Move, ctx: &StepContext<'_>) -> Result<(), BackendError> {
                (**self).rollback(mv, ctx)
            }
            fn observe(&self, mv: &Move) -> Result<Observation, BackendError> {
                (**self).observe(mv)
            }
        }
    )*};
}

forward_backend!(Box, Arc);

/// Runs one backend step by its name (used by the mover and by tests).
pub fn run_step<B: Backend + ?Sized>(
    backend: &B,
    step: Step,
    mv: &Move,
    ctx: &StepContext<'_>,
) -> Result<(), BackendError> {
    match step {
        Step::Prepare => backend.prepare(mv, ctx),
        Step::Transfer => backend.transfer(mv, ctx),
        Step::Cutover => backend.cutover(mv, ctx),
        Step::Rollback => backend.rollback(mv, ctx),
    }
}
