//! One module per subcommand.

pub mod agent;
pub mod bench;
pub mod compare;
pub mod demo;
pub mod lab;
pub mod migrate;
pub mod plan;
pub mod select;
pub mod simulate;

/// How a command prints its result on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text for people.
    Table,
    /// One JSON object for programs.
    Json,
}

/// Parses a time limit in seconds: a positive, finite number.
pub fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!(
            "expected a positive number of seconds, found {s:?}"
        )),
    }
}
