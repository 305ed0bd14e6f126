//! Typed errors: what a backend reports, what the journal reports, and what
//! the mover makes of them.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::state::{State, Step};

/// Why a backend's step did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// A program could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// A step ran longer than allowed and was killed.
    #[error("{step} timed out after {after:?} and was killed")]
    Timeout {
        /// The step.
        step: Step,
        /// The limit that expired.
        after: Duration,
    },
    /// A step's program exited with a non-zero status.
    #[error("{step} exited with status {code}{}", tail(stderr))]
    Exit {
        /// The step.
        step: Step,
        /// The exit status.
        code: i32,
        /// The end of what it wrote on stderr.
        stderr: String,
    },
    /// A step's program was killed by a signal it did not ask for.
    #[error("{step} was killed by signal {signal}{}", tail(stderr))]
    Signal {
        /// The step.
        step: Step,
        /// The signal number.
        signal: i32,
        /// The end of what it wrote on stderr.
        stderr: String,
    },
    /// The operator cancelled the move.
    #[error("cancelled")]
    Cancelled,
    /// The hypervisor reported that the live migration itself failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// A process the step needs is gone or not in the state the step needs.
    #[error("{0}")]
    Process(String),
    /// Output that does not follow the documented protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A QMP exchange failed (boxed: it is the largest cause, and errors
    /// travel in every `Result`).
    #[error("QMP: {0}")]
    Qmp(Box<crate::qmp::QmpError>),
    /// An I/O error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The backend has no implementation of this step.
    #[error("the {backend} backend cannot {step}")]
    Unsupported {
        /// The backend's kind.
        backend: &'static str,
        /// The step.
        step: Step,
    },
}

fn tail(stderr: &str) -> String {
    let s = stderr.trim();
    if s.is_empty() {
        String::new()
    } else {
        format!(": {s}")
    }
}

impl From<crate::qmp::QmpError> for BackendError {
    fn from(e: crate::qmp::QmpError) -> BackendError {
        BackendError::Qmp(Box::new(e))
    }
}

impl BackendError {
    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> BackendError {
        BackendError::Io {
            context: context.into(),
            source,
        }
    }
}

/// What the journal refused or could not do.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// SQLite failed.
    #[error("journal {path}: {source}")]
    Sqlite {
        /// The journal file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// A transition that the state machine does not allow.
    #[error("VM {vm}: illegal transition {from} -> {to}")]
    IllegalTransition {
        /// The VM.
        vm: String,
        /// Its current state.
        from: State,
        /// The state that was asked for.
        to: State,
    },
    /// The VM has no entry.
    #[error("VM {0} is not in the journal")]
    UnknownVm(String),
    /// Another mover has the journal open.
    #[error("journal {0} is in use by another mover")]
    Locked(PathBuf),
    /// The VM is already journaled with another destination.
    #[error("VM {vm} is already journaled as a move to {existing}, not to {requested}")]
    Conflict {
        /// The VM.
        vm: String,
        /// The journaled destination.
        existing: String,
        /// The destination asked for now.
        requested: String,
    },
    /// A row that cannot be read back (written by another program, or damaged).
    #[error("journal {path}: {detail}")]
    Corrupt {
        /// The journal file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

/// Why a move did not end Done.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The journal failed or refused a transition; nothing was acted on.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A step failed; the VM was rolled back and runs at the source
    /// (journal state `state`: Failed, or RolledBack when cancelled).
    #[error("VM {vm}: {step} failed, rolled back to the source: {source}")]
    Failed {
        /// The VM.
        vm: String,
        /// The step that failed.
        step: Step,
        /// Failed or RolledBack.
        state: State,
        /// The cause.
        #[source]
        source: BackendError,
    },
    /// A step failed and so did the rollback. The journal keeps the VM as not
    /// cleaned up; the next run retries the rollback before anything else.
    #[error("VM {vm}: {step} failed ({cause}) and the rollback failed too: {source}")]
    RollbackFailed {
        /// The VM.
        vm: String,
        /// The step that failed first.
        step: Step,
        /// Why it failed.
        cause: String,
        /// Why the rollback failed.
        #[source]
        source: BackendError,
    },
    /// The cutover failed after the guest had started at the destination: it
    /// cannot go back, so it stays in Cutover and the next run finishes it.
    #[error("VM {vm}: cutover incomplete (the guest runs at the destination): {source}")]
    CutoverIncomplete {
        /// The VM.
        vm: String,
        /// The cause.
        #[source]
        source: BackendError,
    },
    /// The backend reports a situation the journal cannot explain (for
    /// example the guest running in two places): nothing is acted on.
    #[error("VM {vm}: the journal says {state} but the backend reports {observed}")]
    Inconsistent {
        /// The VM.
        vm: String,
        /// The journaled state.
        state: State,
        /// What the backend reported.
        observed: String,
    },
    /// This mover is already moving the VM (it was given twice).
    #[error("VM {vm} is already being moved")]
    AlreadyRunning {
        /// The VM.
        vm: String,
    },
    /// The backend could not say where the VM is while reconciling.
    #[error("VM {vm}: cannot observe it: {source}")]
    Observe {
        /// The VM.
        vm: String,
        /// The cause.
        #[source]
        source: BackendError,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_stay_small_enough_to_return_by_value() {
        // clippy's result_large_err threshold is 128 bytes.
        assert!(std::mem::size_of::<BackendError>() <= 64);
        assert!(std::mem::size_of::<MigrateError>() < 128);
    }
}
