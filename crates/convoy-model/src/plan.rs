//! The plan file: the migration order and what is known about its quality.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{read_text, FileError};
use crate::inventory::json_error;

/// A migration plan, as written by `convoy plan` (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The objective the order minimises (`"bandwidth"`).
    pub objective: String,
    /// VM names, first to move first.
    pub order: Vec<String>,
    /// The order's bandwidth: the longest stretch, max over edges of |f(u) − f(v)|.
    pub bandwidth: u64,
    /// A proven lower bound on the optimal value of the objective.
    pub lower_bound: u64,
    /// True only when the order is proven optimal (its value equals the lower bound).
    pub optimal: bool,
    /// Which solver produced the order.
    pub solver: String,
    /// Seed of the randomised search.
    pub seed: u64,
    /// The work budget the search was given (deterministic search steps).
    pub effort: u64,
    /// Set when the search was cut short: `"time_limit"` or `"effort"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<String>,
    /// The convoy version that wrote the plan.
    pub convoy_version: String,
}

/// Reads a plan file written by `convoy plan --format json` or `-o`.
pub fn read_plan(path: &Path) -> Result<Plan, FileError> {
    let text = read_text(path)?;
    let plan: Plan = serde_json::from_str(&text).map_err(|e| json_error(path, &e))?;
    let mut seen = std::collections::HashSet::new();
    for name in &plan.order {
        if !seen.insert(name.as_str()) {
            return Err(FileError::content(
                path,
                format!("VM {name:?} appears twice in the order"),
            ));
        }
    }
    Ok(plan)
}
