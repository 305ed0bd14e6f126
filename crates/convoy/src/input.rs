//! Loading what the user points at: graphs, inventories, and the checks between them.

use std::collections::HashSet;
use std::path::Path;

use convoy_model::{read_graph, read_inventory, Graph, GraphBuilder, Inventory};

/// Input that is well-formed but inconsistent: it exits with code 2 like a parse error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// Reads the graph and the inventory of a simulation and builds its scenario:
/// every graph vertex must be an inventory VM.
pub fn load_scenario(
    graph_path: &Path,
    inventory_path: &Path,
) -> anyhow::Result<convoy_sim::Scenario> {
    let graph = read_graph(graph_path)?;
    let inventory = read_inventory(inventory_path)?;
    check_names(&graph, graph_path, &inventory, inventory_path)?;
    Ok(convoy_sim::Scenario::from_inventory(
        &inventory,
        &graph,
        &convoy_sim::ExternalPeers::default(),
        &Default::default(),
    ))
}

fn check_names(
    graph: &Graph,
    graph_path: &Path,
    inventory: &Inventory,
    inventory_path: &Path,
) -> anyhow::Result<()> {
    let known: HashSet<&str> = inventory.vms.iter().map(|v| v.name.as_str()).collect();
    if let Some(unknown) = graph.names().iter().find(|n| !known.contains(n.as_str())) {
        return Err(InputError(format!(
            "{}: VM {unknown:?} is not in the inventory {}",
            graph_path.display(),
            inventory_path.display()
        ))
        .into());
    }
    Ok(())
}

/// The graph of the VMs to plan.
pub struct Cluster {
    /// Communication graph over the VMs that move.
    pub graph: Graph,
}

/// Reads the graph and, when given, the inventory, and reconciles them: every
/// graph vertex must be an inventory VM; inventory VMs missing from the graph
/// move too (as isolated vertices); pinned VMs do not move and are left out.
pub fn load_cluster(graph_path: &Path, inventory_path: Option<&Path>) -> anyhow::Result<Cluster> {
    let graph = read_graph(graph_path)?;
    let Some(inventory_path) = inventory_path else {
        return Ok(Cluster { graph });
    };
    let inventory = read_inventory(inventory_path)?;
    check_names(&graph, graph_path, &inventory, inventory_path)?;
    let pinned: HashSet<&str> = inventory
        .vms
        .iter()
        .filter(|v| v.pinned)
        .map(|v| v.name.as_str())
        .collect();
    let mut builder = GraphBuilder::new();
    for vm in inventory.vms.iter().filter(|v| !v.pinned) {
        builder.add_vertex(&vm.name);
    }
    for (u, v, w) in graph.edges() {
        let (a, b) = (graph.name(u), graph.name(v));
        if !pinned.contains(a) && !pinned.contains(b) {
            builder
                .add_edge(a, b, w)
                .expect("edges of a valid graph stay valid");
        }
    }
    Ok(Cluster {
        graph: builder.build(),
    })
}
