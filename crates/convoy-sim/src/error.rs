//! The simulator's error: input it refuses.

use std::fmt;

/// Why a simulation could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    /// The scenario, schedule or settings are inconsistent or out of range;
    /// the message says which value and why.
    Input(String),
}

impl SimError {
    pub(crate) fn input(msg: impl Into<String>) -> SimError {
        SimError::Input(msg.into())
    }
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Input(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for SimError {}
