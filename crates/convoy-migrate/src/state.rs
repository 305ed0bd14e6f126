//! The per-VM state machine of a move.
//!
//! ```text
//! Pending → Preparing → Transferring → Cutover → Done
//!              │             │            │
//!              └─────────────┴────────────┴──→ Failed | RolledBack ──→ Preparing (retry)
//! ```
//!
//! Modelled on cloud-hypervisor's VMM migration code: the state is explicit
//! and every transition is checked, so that an impossible sequence (a cutover
//! before a transfer, a second move of a VM that is Done) is refused instead
//! of acted on.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where one VM's move stands. Each state but `Pending` names the step that is
/// being (or has just been) carried out: the journal records a state *before*
/// its step is acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Not started; the VM runs at the source.
    Pending,
    /// The destination is being prepared (process started, waiting for the
    /// incoming stream); the VM runs at the source.
    Preparing,
    /// Storage and memory are being copied; the VM runs at the source.
    Transferring,
    /// The copy has converged and the source is paused: the destination is
    /// being resumed and the source retired.
    Cutover,
    /// The VM runs at the destination only; the source copy is gone.
    Done,
    /// A step failed; the VM runs at the source and the destination is (or is
    /// being) cleaned up.
    Failed,
    /// The move was cancelled by the operator; the VM runs at the source and
    /// the destination is (or is being) cleaned up.
    RolledBack,
}

impl State {
    /// Every state, in the order of a successful move then the two failures.
    pub const ALL: [State; 7] = [
        State::Pending,
        State::Preparing,
        State::Transferring,
        State::Cutover,
        State::Done,
        State::Failed,
        State::RolledBack,
    ];

    /// The name used in the journal and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Preparing => "preparing",
            State::Transferring => "transferring",
            State::Cutover => "cutover",
            State::Done => "done",
            State::Failed => "failed",
            State::RolledBack => "rolled_back",
        }
    }

    /// True for the states a move rests in: Done, Failed, RolledBack.
    pub fn is_terminal(self) -> bool {
        matches!(self, State::Done | State::Failed | State::RolledBack)
    }

    /// True when a crash while in this state leaves work half done, which the
    /// mover must reconcile with the backend before going on.
    pub fn is_in_flight(self) -> bool {
        matches!(
            self,
            State::Preparing | State::Transferring | State::Cutover
        )
    }

    /// The step that is carried out while in this state, if any.
    pub fn step(self) -> Option<Step> {
        match self {
            State::Preparing => Some(Step::Prepare),
            State::Transferring => Some(Step::Transfer),
            State::Cutover => Some(Step::Cutover),
            State::Failed | State::RolledBack => Some(Step::Rollback),
            State::Pending | State::Done => None,
        }
    }

    /// Whether `self → to` is a legal transition.
    ///
    /// Forward one step at a time; from any in-flight state to Failed or
    /// RolledBack; and from Failed or RolledBack back to Preparing, which is a
    /// retry. Nothing leaves Done: moving the VM back is a new move (failback).
    pub fn can_become(self, to: State) -> bool {
        use State::*;
        matches!(
            (self, to),
            (Pending, Preparing)
                | (Preparing, Transferring)
                | (Transferring, Cutover)
                | (Cutover, Done)
                | (Preparing | Transferring | Cutover, Failed | RolledBack)
                | (Failed | RolledBack, Preparing)
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = String;

    fn from_str(s: &str) -> Result<State, String> {
        State::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown migration state {s:?}"))
    }
}

/// One of the actions a backend carries out for a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Make the destination ready to receive the VM.
    Prepare,
    /// Copy storage then memory until the copy converges; the source ends paused.
    Transfer,
    /// Resume the VM at the destination and retire the source.
    Cutover,
    /// Undo a move that did not reach its cutover: destination gone, VM
    /// running at the source.
    Rollback,
}

impl Step {
    /// Every step.
    pub const ALL: [Step; 4] = [Step::Prepare, Step::Transfer, Step::Cutover, Step::Rollback];

    /// The name given to executables and written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Prepare => "prepare",
            Step::Transfer => "transfer",
            Step::Cutover => "cutover",
            Step::Rollback => "rollback",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Step {
    type Err = String;

    fn from_str(s: &str) -> Result<Step, String> {
        Step::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown migration step {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_table_is_exactly_the_documented_one() {
        use State::*;
        let legal = [
            (Pending, Preparing),
            (Preparing, Transferring),
            (Transferring, Cutover),
            (Cutover, Done),
            (Preparing, Failed),
            (Transferring, Failed),
            (Cutover, Failed),
            (Preparing, RolledBack),
            (Transferring, RolledBack),
            (Cutover, RolledBack),
            (Failed, Preparing),
            (RolledBack, Preparing),
        ];
        for from in State::ALL {
            for to in State::ALL {
                assert_eq!(
                    from.can_become(to),
                    legal.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn nothing_leaves_done_and_no_state_is_skipped() {
        for to in State::ALL {
            assert!(!State::Done.can_become(to));
        }
        assert!(!State::Pending.can_become(State::Transferring));
        assert!(!State::Preparing.can_become(State::Cutover));
        assert!(!State::Transferring.can_become(State::Done));
        assert!(!State::Pending.can_become(State::Failed));
    }

    #[test]
    fn names_round_trip() {
        for s in State::ALL {
            assert_eq!(s.as_str().parse::<State>().unwrap(), s);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        for s in Step::ALL {
            assert_eq!(s.as_str().parse::<Step>().unwrap(), s);
        }
        assert!("flying".parse::<State>().is_err());
    }
}
