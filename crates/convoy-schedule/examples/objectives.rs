//! Stretch and cutwidth on graph files: the heuristic's value against the
//! lower bound and against random orders.
//!
//! ```text
//! cargo run --release -p convoy-schedule --example objectives -- [--effort N] [--seed S] FILE...
//! ```
//!
//! Prints one row per graph and objective: n, edges, lower bound, convoy's
//! value, the median over 25 seeded random orders, value/bound, random/value,
//! solver and seconds.

use std::time::Instant;

use convoy_model::read_graph;
use convoy_schedule::arrangement::{Options, Problem, Solution};
use convoy_schedule::{cutwidth, stretch, NoControl};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn main() {
    let mut options = Options::default();
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--effort" => {
                options.effort = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--effort N")
            }
            "--seed" => options.seed = args.next().and_then(|s| s.parse().ok()).expect("--seed S"),
            _ => files.push(a),
        }
    }
    println!(
        "{:<36} {:>9} {:>5} {:>6} {:>12} {:>12} {:>12} {:>8} {:>8}  {:<24} {:>7}",
        "graph",
        "objective",
        "n",
        "edges",
        "lower",
        "convoy",
        "random(med)",
        "val/lb",
        "rnd/val",
        "solver",
        "secs"
    );
    for file in files {
        let graph = match read_graph(std::path::Path::new(&file)) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("{e}");
                continue;
            }
        };
        let name = std::path::Path::new(&file)
            .file_name()
            .map_or(file.clone(), |s| s.to_string_lossy().into_owned());
        let problem = Problem::plain(&graph);
        type Solve = fn(&Problem, &Options, &dyn convoy_schedule::Control) -> Solution;
        type Eval =
            fn(&Problem, &[usize]) -> Result<f64, convoy_schedule::arrangement::ArrangementError>;
        let objectives: [(&str, Solve, Eval); 2] = [
            ("stretch", stretch::solve, stretch::stretch_of),
            ("cutwidth", cutwidth::solve, cutwidth::cutwidth_of),
        ];
        for (objective, solve, eval) in objectives {
            let start = Instant::now();
            let s = solve(&problem, &options, &NoControl);
            let secs = start.elapsed().as_secs_f64();
            let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
            let mut randoms: Vec<f64> = (0..25)
                .map(|_| {
                    let mut order: Vec<usize> = (0..graph.n()).collect();
                    order.shuffle(&mut rng);
                    eval(&problem, &order).expect("a permutation")
                })
                .collect();
            randoms.sort_by(f64::total_cmp);
            let median = randoms[randoms.len() / 2];
            println!(
                "{:<36} {:>9} {:>5} {:>6} {:>12.0} {:>12.0} {:>12.0} {:>8.3} {:>8.2}  {:<24} {:>7.2}",
                name,
                objective,
                graph.n(),
                graph.edge_count(),
                s.lower_bound,
                s.value,
                median,
                s.value / s.lower_bound.max(1e-300),
                median / s.value.max(1e-300),
                s.solver,
                secs
            );
        }
    }
}
