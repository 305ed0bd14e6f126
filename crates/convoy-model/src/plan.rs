//! The plan file: the migration order and what is known about its quality.

use std::path::Path;

use serde::{Deserialize, Serialize, Serializer};

use crate::error::{read_text, FileError};
use crate::inventory::json_error;

/// A migration plan, as written by `convoy plan` (JSON). The format is
/// documented in `docs/formats.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The objective the order minimises: `"bandwidth"`, `"stretch"` or `"cutwidth"`.
    pub objective: String,
    /// VM names, first to move first.
    pub order: Vec<String>,
    /// The order's value of the objective (for bandwidth, equal to `bandwidth`).
    #[serde(serialize_with = "number")]
    pub objective_value: f64,
    /// A proven lower bound on the optimal value of the objective; `null`
    /// when none is known (plans in waves).
    #[serde(serialize_with = "optional_number")]
    pub lower_bound: Option<f64>,
    /// True only when the order is proven optimal (its value meets the lower bound).
    pub optimal: bool,
    /// The order's bandwidth, whatever the objective: the longest stretch,
    /// max over edges of |f(u) − f(v)|.
    pub bandwidth: u64,
    /// Consecutive groups of the order that move together (at most the
    /// concurrency at once); one VM per wave when the plan has no waves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waves: Vec<Vec<String>>,
    /// Predicted application traffic split across the WAN while each wave
    /// runs, bytes/s (one entry per wave).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wave_split_traffic: Vec<f64>,
    /// Traffic between VMs that move and VMs that stay, bytes/s: split for
    /// good once the mover has moved, whatever the order.
    #[serde(default, serialize_with = "number")]
    pub permanent_cut: f64,
    /// The constraints the plan satisfies, as given (when any were).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<serde_json::Value>,
    /// Which solver produced the order.
    pub solver: String,
    /// Seed of the randomised search.
    pub seed: u64,
    /// The work budget the search was given (deterministic search steps).
    pub effort: u64,
    /// The work budget of the stretch lower bound's LP, which `lower_bound`
    /// depends on (stretch plans only; absent, 0, for the others).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bound_effort: u64,
    /// Set when the search was cut short before proving optimality:
    /// `"time_limit"` or `"effort"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<String>,
    /// Set when the stretch lower bound's LP was cut short with violated
    /// constraints left, so a larger `--bound-effort` or time limit would
    /// raise `lower_bound`: `"time_limit"` or `"effort"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_stopped_by: Option<String>,
    /// The convoy version that wrote the plan.
    pub convoy_version: String,
}

/// Writes a whole number without a fractional part (`12`, not `12.0`), so a
/// bandwidth bound reads as the integer it is.
fn number<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn optional_number<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => number(v, s),
        None => s.serialize_none(),
    }
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
    let in_waves: usize = plan.waves.iter().map(Vec::len).sum();
    if !plan.waves.is_empty() && in_waves != plan.order.len() {
        return Err(FileError::content(
            path,
            format!(
                "the waves hold {in_waves} VMs but the order has {}",
                plan.order.len()
            ),
        ));
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_are_written_as_integers() {
        let plan = Plan {
            objective: "bandwidth".into(),
            order: vec!["a".into()],
            objective_value: 3.0,
            lower_bound: Some(2.5),
            optimal: false,
            bandwidth: 3,
            waves: vec![],
            wave_split_traffic: vec![],
            permanent_cut: 0.0,
            constraints: None,
            solver: "x".into(),
            seed: 0,
            effort: 1,
            bound_effort: 7,
            stopped_by: None,
            bound_stopped_by: None,
            convoy_version: "0".into(),
        };
        let json = serde_json::to_string(&plan).unwrap();
        assert!(json.contains("\"objective_value\":3,"), "{json}");
        assert!(json.contains("\"lower_bound\":2.5,"), "{json}");
        let back: Plan = serde_json::from_str(&json).unwrap();
        assert_eq!(back, plan);
    }
}
