//! Which VMs to move to free capacity on one node: convoy's selection against a
//! naive "largest VMs first" choice, on the sample cluster.
//!
//! ```text
//! cargo run --release -p convoy-schedule --example select -- \
//!     [GRAPH] [INVENTORY] [NODE] [VCPUS]
//! ```
//!
//! Defaults: `examples/cluster.csv`, `examples/inventory.toml`, node `n01`, 64 vCPUs.
//! NODE may be a comma-separated list: the vCPUs are then freed across those nodes.

use std::path::PathBuf;
use std::process::ExitCode;

use convoy_model::{read_graph, read_inventory};
use convoy_schedule::select::{
    permanent_cut, prepare, select, FreeCapacity, Need, Role, SelectOptions,
};
use convoy_schedule::NoControl;

fn main() -> ExitCode {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let graph_path = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("examples/cluster.csv"));
    let inv_path = args
        .get(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("examples/inventory.toml"));
    let node_name = arg(2, "n01");
    let Ok(vcpus) = arg(3, "64").parse::<u64>() else {
        eprintln!("VCPUS must be a whole number");
        return ExitCode::from(2);
    };
    let (graph, inventory) = match (read_graph(&graph_path), read_inventory(&inv_path)) {
        (Ok(g), Ok(i)) => (g, i),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let prepared = prepare(&graph, &inventory, Role::Stays);
    let mut nodes = Vec::new();
    for name in node_name.split(',') {
        let Some(k) = prepared.node_index(name) else {
            eprintln!("no node {name:?} in the inventory");
            return ExitCode::from(2);
        };
        nodes.push(k);
    }
    let cluster = prepared.cluster();
    let need = Need {
        free: vec![FreeCapacity {
            nodes: nodes.clone(),
            vcpus,
            ..FreeCapacity::default()
        }],
        ..Need::default()
    };
    let on_node: Vec<usize> = (0..prepared.graph.n())
        .filter(|&v| cluster.machines[v].node.is_some_and(|k| nodes.contains(&k)))
        .collect();
    let used: u64 = on_node.iter().map(|&v| cluster.machines[v].vcpus).sum();
    println!(
        "nodes {node_name}: {} VMs, {used} vCPUs allocated of {}; need: free {vcpus} vCPUs",
        on_node.len(),
        nodes.iter().map(|&k| prepared.nodes[k].vcpus).sum::<u64>()
    );

    let s = match select(&cluster, &need, &SelectOptions::default(), &NoControl) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    let names = |vs: &[usize]| {
        vs.iter()
            .map(|&v| prepared.graph.name(v).to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "convoy select: {} VMs, {} vCPUs, {} MiB; permanent cut {:.0} B/s; lower bound {:.0} B/s; optimal {}",
        s.moved.len(),
        s.freed[0].vcpus,
        s.freed[0].memory_mib,
        s.cut,
        s.lower_bound,
        s.optimal
    );
    println!("  moves: {}", names(&s.moved));

    // Naive: the largest movable VMs on the node (vCPUs, then memory) until enough.
    let mut by_size: Vec<usize> = on_node
        .iter()
        .copied()
        .filter(|&v| cluster.machines[v].role == Role::Movable)
        .collect();
    by_size.sort_by_key(|&v| {
        let m = &cluster.machines[v];
        (
            std::cmp::Reverse(m.vcpus),
            std::cmp::Reverse(m.memory_mib),
            v,
        )
    });
    let mut naive = Vec::new();
    let mut freed = 0;
    for v in by_size {
        if freed >= vcpus {
            break;
        }
        freed += cluster.machines[v].vcpus;
        naive.push(v);
    }
    naive.sort_unstable();
    println!(
        "largest first: {} VMs, {freed} vCPUs; permanent cut {:.0} B/s ({:.2}x convoy's)",
        naive.len(),
        permanent_cut(&cluster, &naive),
        permanent_cut(&cluster, &naive) / s.cut.max(f64::MIN_POSITIVE)
    );
    println!("  moves: {}", names(&naive));
    ExitCode::SUCCESS
}
