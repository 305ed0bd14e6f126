//! Stretch and cutwidth on graph files: the heuristic's value against the
//! lower bound and against random orders.
//!
//! ```text
//! cargo run --release -p convoy-schedule --example objectives -- [--effort N] [--seed S]
//!     [--inventory FILE --link GBIT_PER_S] FILE...
//! ```
//!
//! Prints one row per graph and objective: n (movers), edges, lower bound,
//! convoy's value, the median over 25 seeded random orders of the movers,
//! value/bound, random/value, solver and seconds.
//!
//! Without an inventory every vertex moves and every move is one step. With
//! one, a VM's move takes (memory + disk) / link seconds, pinned VMs stay, and
//! vertices outside the inventory or on a cloud site are cloud peers.

use std::time::Instant;

use convoy_model::{read_graph, read_inventory, Graph, Inventory, SiteKind};
use convoy_schedule::arrangement::{Anchor, Options, Problem, Solution, TimeModel};
use convoy_schedule::{cutwidth, stretch, NoControl};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn main() {
    let mut options = Options::default();
    let mut files = Vec::new();
    let mut inventory: Option<Inventory> = None;
    let mut link_gbps = 10.0;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--inventory" => {
                let path = args.next().expect("--inventory FILE");
                inventory = Some(
                    read_inventory(std::path::Path::new(&path)).unwrap_or_else(|e| {
                        eprintln!("{e}");
                        std::process::exit(2)
                    }),
                );
            }
            "--link" => {
                link_gbps = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--link GBIT_PER_S")
            }
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
        let problem = match &inventory {
            None => Problem::plain(&graph),
            Some(inv) => {
                let (anchors, durations) = from_inventory(&graph, inv, link_gbps);
                let p = Problem::new(&graph, &anchors, &TimeModel::Durations(durations))
                    .expect("consistent inputs");
                println!(
                    "# {name}: {} movers, {} cloud peers, {} staying; permanent cut {:.0}",
                    p.movers().len(),
                    anchors.iter().filter(|a| **a == Anchor::Cloud).count(),
                    anchors.iter().filter(|a| **a == Anchor::Stays).count(),
                    p.permanent_cut()
                );
                p
            }
        };
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
                    let mut order = problem.movers().to_vec();
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
                problem.movers().len(),
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

/// Anchors and move durations from an inventory: pinned VMs stay, VMs on a
/// cloud site and vertices outside the inventory are cloud peers, and a move
/// takes (memory + disk) · 8 / link seconds.
fn from_inventory(graph: &Graph, inv: &Inventory, link_gbps: f64) -> (Vec<Anchor>, Vec<f64>) {
    let cloud_sites: Vec<&str> = inv
        .sites
        .iter()
        .filter(|s| s.kind == SiteKind::Cloud)
        .map(|s| s.name.as_str())
        .collect();
    let mut anchors = Vec::with_capacity(graph.n());
    let mut durations = Vec::with_capacity(graph.n());
    for v in 0..graph.n() {
        match inv.vm(graph.name(v)) {
            None => {
                anchors.push(Anchor::Cloud);
                durations.push(0.0);
            }
            Some(vm) => {
                anchors.push(if vm.pinned {
                    Anchor::Stays
                } else if cloud_sites.contains(&vm.site.as_str()) {
                    Anchor::Cloud
                } else {
                    Anchor::Moves
                });
                let bytes = vm.memory_mib as f64 * (1u64 << 20) as f64
                    + vm.disk_gib as f64 * (1u64 << 30) as f64;
                durations.push(bytes * 8.0 / (link_gbps * 1e9));
            }
        }
    }
    (anchors, durations)
}
