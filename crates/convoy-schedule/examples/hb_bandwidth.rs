//! Measures the whole bandwidth planner (`bandwidth::solve`) on MatrixMarket / CSV graphs.
//!
//! `cargo run --release -p convoy-schedule --example hb_bandwidth -- [--seconds S] [--effort U] [--seed N] FILE...`
//!
//! For each graph: the lower bound alone (`bounds::lower_bound`, with its
//! time), then `solve` stopped by a wall-clock `Control` after S seconds (or
//! after U work units). Prints name, n, the initial lower bound, the final
//! lower bound, bandwidth, whether it is proven optimal, seconds; then how
//! many graphs were proven optimal.

use std::path::Path;
use std::time::{Duration, Instant};

use convoy_schedule::bandwidth::{bounds, solve, Options};
use convoy_schedule::Control;

/// Stops the search at a deadline.
struct Deadline(Instant);

impl Control for Deadline {
    fn should_stop(&self) -> bool {
        Instant::now() >= self.0
    }
}

fn main() {
    let mut seconds: f64 = 5.0;
    let mut effort: Option<u64> = None;
    let mut seed: u64 = 0;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(seconds),
            "--effort" => effort = args.next().and_then(|s| s.parse().ok()),
            "--seed" => seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(seed),
            _ => files.push(a),
        }
    }
    println!(
        "{:<12} {:>5} {:>6} {:>6} {:>5} {:>8} {:>8} {:>8}",
        "name", "n", "lb0", "lower", "bw", "optimal", "lb_secs", "seconds"
    );
    let (mut proven, mut total) = (0, 0);
    for file in files {
        let path = Path::new(&file);
        let graph = match convoy_model::read_graph(path) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("{e}");
                continue;
            }
        };
        let name = path
            .file_stem()
            .map_or(file.clone(), |s| s.to_string_lossy().into_owned());
        let start = Instant::now();
        let lb0 = bounds::lower_bound(&graph);
        let lb_secs = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let deadline = Deadline(start + Duration::from_secs_f64(seconds));
        let options = Options {
            seed,
            effort: effort.unwrap_or(u64::MAX),
        };
        let s = solve(&graph, &options, &deadline);
        let secs = start.elapsed().as_secs_f64();
        total += 1;
        proven += usize::from(s.optimal());
        println!(
            "{name:<12} {:>5} {lb0:>6} {:>6} {:>5} {:>8} {lb_secs:>8.3} {secs:>8.2}",
            graph.n(),
            s.lower_bound,
            s.bandwidth,
            if s.optimal() { "yes" } else { "no" },
        );
    }
    println!("proven optimal: {proven} of {total}");
}
