//! Loading what the user points at: graphs, inventories, and the checks between them.

use std::collections::HashSet;
use std::path::Path;

use convoy_model::{read_graph, read_inventory, Graph, GraphBuilder, Inventory, SiteKind};

/// Input that is well-formed but inconsistent: it exits with code 2 like a parse error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// A cluster to plan: the communication graph and, when given, its inventory.
pub struct Cluster {
    /// Communication graph over the VMs that move: every VM of the inventory
    /// but the pinned ones (which stay), or every vertex without an inventory.
    pub graph: Graph,
    /// All traffic as read, including conversations with pinned VMs.
    pub traffic: Graph,
    /// The inventory, when one was given.
    pub inventory: Option<Inventory>,
}

/// Reads the graph and, when given, the inventory, and reconciles them (see [`Cluster::new`]).
pub fn load_cluster(graph_path: &Path, inventory_path: Option<&Path>) -> anyhow::Result<Cluster> {
    let graph = read_graph(graph_path)?;
    let inventory = inventory_path.map(read_inventory).transpose()?;
    Cluster::new(graph, inventory, graph_path, inventory_path)
}

impl Cluster {
    /// Reconciles a graph with its inventory: every graph vertex must be an
    /// inventory VM; inventory VMs missing from the graph move too (as
    /// isolated vertices); pinned VMs (which stay) and VMs already in a cloud
    /// site do not move and are left out of `graph`.
    /// The paths only name the inputs in errors.
    pub fn new(
        traffic: Graph,
        inventory: Option<Inventory>,
        graph_path: &Path,
        inventory_path: Option<&Path>,
    ) -> anyhow::Result<Cluster> {
        let Some(inventory) = inventory else {
            return Ok(Cluster {
                graph: traffic.clone(),
                traffic,
                inventory: None,
            });
        };
        let inventory_path = inventory_path.unwrap_or(Path::new("inventory"));
        check_names(&traffic, graph_path, &inventory, inventory_path)?;
        let cloud: HashSet<&str> = inventory
            .sites
            .iter()
            .filter(|s| s.kind == SiteKind::Cloud)
            .map(|s| s.name.as_str())
            .collect();
        let pinned: HashSet<&str> = inventory
            .vms
            .iter()
            .filter(|v| v.pinned || cloud.contains(v.site.as_str()))
            .map(|v| v.name.as_str())
            .collect();
        let mut builder = GraphBuilder::new();
        for vm in inventory
            .vms
            .iter()
            .filter(|v| !pinned.contains(v.name.as_str()))
        {
            builder.add_vertex(&vm.name);
        }
        for (u, v, w) in traffic.edges() {
            let (a, b) = (traffic.name(u), traffic.name(v));
            if !pinned.contains(a) && !pinned.contains(b) {
                builder
                    .add_edge(a, b, w)
                    .expect("edges of a valid graph stay valid");
            }
        }
        Ok(Cluster {
            graph: builder.build(),
            traffic,
            inventory: Some(inventory),
        })
    }

    /// Whether `vm` runs in a cloud site already (false without an inventory).
    pub fn is_in_cloud(&self, vm: &str) -> bool {
        let Some(inventory) = &self.inventory else {
            return false;
        };
        inventory.vm(vm).is_some_and(|v| {
            inventory
                .sites
                .iter()
                .any(|s| s.name == v.site && s.kind == SiteKind::Cloud)
        })
    }

    /// The simulator's view of the cluster (needs the inventory).
    pub fn scenario(&self) -> Option<convoy_sim::Scenario> {
        let inventory = self.inventory.as_ref()?;
        Some(convoy_sim::Scenario::from_inventory(
            inventory,
            &self.traffic,
            &convoy_sim::ExternalPeers::default(),
            &Default::default(),
        ))
    }
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
