//! Measures the bandwidth heuristics on MatrixMarket / CSV graphs.
//!
//! `cargo run --release -p convoy-schedule --example hb_heuristic -- [--seconds S] [--effort U] FILE...`
//!
//! For each graph: every connected component is numbered by
//! `heuristic::initial`, then improved by `heuristic::improve` with a share of
//! S seconds (wall clock, through a `Control`) or of U work units, in
//! proportion to its size, down to the degree lower bound. Prints name, n,
//! initial bandwidth, improved bandwidth and seconds, then the geometric mean
//! of improved / initial.

use std::path::Path;
use std::time::{Duration, Instant};

use convoy_schedule::bandwidth::{bandwidth_of, bounds, heuristic};
use convoy_schedule::{Budget, Control};

/// Stops the search at a deadline.
struct Deadline(Instant);

impl Control for Deadline {
    fn should_stop(&self) -> bool {
        Instant::now() >= self.0
    }
}

fn main() {
    let mut seconds: Option<f64> = None;
    let mut effort: u64 = 100_000_000;
    let mut seed: u64 = 1;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => seconds = args.next().and_then(|s| s.parse().ok()),
            "--effort" => effort = args.next().and_then(|s| s.parse().ok()).unwrap_or(effort),
            "--seed" => seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(seed),
            _ => files.push(a),
        }
    }
    println!(
        "{:<12} {:>6} {:>6} {:>6} {:>6} {:>8}",
        "name", "n", "lower", "init", "best", "seconds"
    );
    let mut log_ratio = 0.0;
    let mut count = 0;
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
        let n = graph.n();
        let (mut init_bw, mut best_bw, mut lower) = (0, 0, 0);
        for comp in graph.components() {
            let sub = graph.induced(&comp);
            let init = heuristic::initial(&sub);
            let share = comp.len() as f64 / n as f64;
            let deadline =
                Deadline(Instant::now() + Duration::from_secs_f64(seconds.unwrap_or(1e9) * share));
            let units = if seconds.is_some() {
                u64::MAX
            } else {
                (effort as f64 * share) as u64
            };
            let mut budget = Budget::new(units, &deadline);
            let target = bounds::lower_bound(&sub);
            lower = lower.max(target);
            let better = heuristic::improve(&sub, &init, target, seed, &mut budget);
            init_bw = init_bw.max(bandwidth_of(&sub, &init));
            best_bw = best_bw.max(bandwidth_of(&sub, &better));
        }
        let secs = start.elapsed().as_secs_f64();
        println!("{name:<12} {n:>6} {lower:>6} {init_bw:>6} {best_bw:>6} {secs:>8.2}");
        if init_bw > 0 {
            log_ratio += (best_bw as f64 / init_bw as f64).ln();
            count += 1;
        }
    }
    if count > 0 {
        println!("geomean best/init: {:.3}", (log_ratio / count as f64).exp());
    }
}
