//! `convoy select`: which VMs to move to meet a need, cutting the least traffic.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use convoy_model::Inventory;
use convoy_schedule::select::{
    prepare, select, Capacity, FreeCapacity, Measure, Need, Prepared, Role, SelectError,
    SelectOptions,
};
use convoy_schedule::NoControl;
use serde::Serialize;

use super::simulate::human_bits;
use super::Format;
use crate::input::{load_cluster, InputError};
use crate::output::write_atomically;

/// Arguments of `convoy select`.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Communication graph (weights in bytes/s).
    pub graph: PathBuf,
    /// Inventory: which VM runs on which node, with what size.
    #[arg(long, value_name = "FILE")]
    pub inventory: PathBuf,
    /// Nodes to empty, comma-separated: every VM on them moves.
    #[arg(long, value_name = "NODE,…", value_delimiter = ',')]
    pub evacuate: Vec<String>,
    /// Capacity to free: `node=n1[+n2…],vcpus=32,memory=128G` or
    /// `site=dc1,vcpus=…`. Repeatable; every one must hold.
    #[arg(long, value_name = "SPEC")]
    pub free: Vec<String>,
    /// Count --free as headroom left on the nodes after the move (capacity
    /// minus what stays), not as what the moved VMs release.
    #[arg(long)]
    pub headroom: bool,
    /// Move at most this much in all: `vcpus=64,memory=256G`.
    #[arg(long, value_name = "SPEC")]
    pub max_move: Option<String>,
    /// Also move VMs of other nodes when taking them along lowers the cut.
    #[arg(long)]
    pub companions: bool,
    /// Seed of the search.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Work budget.
    #[arg(long, default_value_t = 100_000_000)]
    pub effort: u64,
    /// Output on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write an inventory in which every VM not selected is pinned, to feed
    /// `convoy plan --inventory`.
    #[arg(long, value_name = "FILE")]
    pub write_inventory: Option<PathBuf>,
}

/// What `convoy select --format json` prints.
#[derive(Debug, Serialize)]
struct Output {
    moved: Vec<String>,
    /// Permanent cut: bytes/s between the VMs that move (and those already in
    /// the cloud) and those that stay.
    cut: f64,
    lower_bound: f64,
    optimal: bool,
    moved_vcpus: u64,
    moved_memory_mib: u64,
    freed: Vec<FreedOut>,
}

#[derive(Debug, Serialize)]
struct FreedOut {
    requirement: String,
    vcpus: u64,
    memory_mib: u64,
    headroom_vcpus: i64,
    headroom_memory_mib: i64,
}

/// Parses a memory amount: `128G`, `512M`, `2T`, `4096MiB`, `64GiB`; bare numbers are MiB.
fn parse_memory_mib(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("expected a memory size such as 128G, found {s:?}"))?;
    let factor = match unit.trim() {
        "" | "M" | "MiB" | "MB" => 1.0,
        "G" | "GiB" | "GB" => 1024.0,
        "T" | "TiB" | "TB" => 1024.0 * 1024.0,
        _ => return Err(format!("expected a memory unit M, G or T, found {s:?}")),
    };
    Ok((v * factor).round() as u64)
}

/// Splits `key=value,key=value` into pairs, refusing keys outside `allowed`.
fn pairs<'s>(spec: &'s str, allowed: &[&str]) -> Result<Vec<(&'s str, &'s str)>, String> {
    spec.split(',')
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("expected key=value in {spec:?}, found {kv:?}"))?;
            let k = k.trim();
            if !allowed.contains(&k) {
                return Err(format!(
                    "expected one of {} in {spec:?}, found {k:?}",
                    allowed.join(", ")
                ));
            }
            Ok((k, v.trim()))
        })
        .collect()
}

fn node(prepared: &Prepared, name: &str) -> Result<usize, InputError> {
    prepared
        .node_index(name)
        .ok_or_else(|| InputError(format!("expected a node of the inventory, found {name:?}")))
}

fn parse_free(
    spec: &str,
    prepared: &Prepared,
    inventory: &Inventory,
    measure: Measure,
) -> anyhow::Result<FreeCapacity> {
    let mut free = FreeCapacity {
        nodes: Vec::new(),
        vcpus: 0,
        memory_mib: 0,
        measure,
    };
    for (k, v) in pairs(spec, &["node", "site", "vcpus", "memory"]).map_err(InputError)? {
        match k {
            "node" => {
                for n in v.split('+') {
                    free.nodes.push(node(prepared, n)?);
                }
            }
            "site" => {
                if !inventory.sites.iter().any(|s| s.name == v) {
                    return Err(InputError(format!(
                        "expected a site of the inventory, found {v:?}"
                    ))
                    .into());
                }
                free.nodes.extend(prepared.site_nodes(inventory, v));
            }
            "vcpus" => {
                free.vcpus = v.parse().map_err(|_| {
                    InputError(format!("expected a whole number of vCPUs, found {v:?}"))
                })?
            }
            _ => free.memory_mib = parse_memory_mib(v).map_err(InputError)?,
        }
    }
    if free.nodes.is_empty() {
        return Err(InputError(format!("--free {spec:?}: expected node=… or site=…")).into());
    }
    Ok(free)
}

/// Runs `convoy select`.
pub fn run(args: SelectArgs) -> anyhow::Result<()> {
    let cluster = load_cluster(&args.graph, Some(&args.inventory))?;
    let inventory = cluster.inventory.as_ref().expect("an inventory was given");
    let prepared = prepare(&cluster.traffic, inventory, Role::Stays);
    let measure = if args.headroom {
        Measure::Headroom
    } else {
        Measure::Released
    };
    let mut need = Need::default();
    for n in &args.evacuate {
        need.evacuate.push(node(&prepared, n)?);
    }
    for spec in &args.free {
        need.free
            .push(parse_free(spec, &prepared, inventory, measure)?);
    }
    if need.evacuate.is_empty() && need.free.is_empty() {
        return Err(
            InputError("say what is needed: --evacuate NODES or --free SPEC".into()).into(),
        );
    }
    if let Some(spec) = &args.max_move {
        let mut cap = Capacity {
            vcpus: u64::MAX,
            memory_mib: u64::MAX,
        };
        for (k, v) in pairs(spec, &["vcpus", "memory"]).map_err(InputError)? {
            match k {
                "vcpus" => {
                    cap.vcpus = v.parse().map_err(|_| {
                        InputError(format!("expected a whole number of vCPUs, found {v:?}"))
                    })?
                }
                _ => cap.memory_mib = parse_memory_mib(v).map_err(InputError)?,
            }
        }
        need.max_moved = Some(cap);
    }
    let options = SelectOptions {
        seed: args.seed,
        effort: args.effort,
        companions: args.companions,
    };
    let g = &prepared.graph;
    let selection = select(&prepared.cluster(), &need, &options, &NoControl).map_err(|e| {
        let what = match e {
            SelectError::PinnedOnEvacuatedNode { vm, node } => format!(
                "node {} cannot be evacuated: VM {} on it is pinned",
                prepared.node_names[node],
                g.name(vm)
            ),
            SelectError::Infeasible {
                requirement,
                short_vcpus,
                short_memory_mib,
            } => format!(
                "--free {} cannot be met even moving every movable VM: short by {short_vcpus} vCPUs and {short_memory_mib} MiB",
                args.free.get(requirement).map_or("?", String::as_str)
            ),
            other => other.to_string(),
        };
        InputError(what)
    })?;
    let moved: Vec<String> = selection
        .moved
        .iter()
        .map(|&v| g.name(v).to_string())
        .collect();
    if let Some(path) = &args.write_inventory {
        let mut selected = inventory.clone();
        for vm in &mut selected.vms {
            vm.pinned = vm.pinned || !moved.contains(&vm.name);
        }
        let text = toml::to_string(&selected).context("serialising the inventory")?;
        write_atomically(path, text.as_bytes())?;
    }
    let out_struct = Output {
        moved,
        cut: selection.cut,
        lower_bound: selection.lower_bound,
        optimal: selection.optimal,
        moved_vcpus: selection.moved_vcpus,
        moved_memory_mib: selection.moved_memory_mib,
        freed: selection
            .freed
            .iter()
            .zip(&args.free)
            .map(|(f, spec)| FreedOut {
                requirement: spec.clone(),
                vcpus: f.vcpus,
                memory_mib: f.memory_mib,
                headroom_vcpus: f.headroom_vcpus,
                headroom_memory_mib: f.headroom_memory_mib,
            })
            .collect(),
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&out_struct)?)?,
        Format::Table => {
            let proof = if out_struct.optimal {
                "optimal".to_string()
            } else {
                format!("lower bound {}", human_bits(out_struct.lower_bound * 8.0))
            };
            writeln!(
                out,
                "select {} VMs ({} vCPUs, {} MiB): permanent cut {} ({proof})",
                out_struct.moved.len(),
                out_struct.moved_vcpus,
                out_struct.moved_memory_mib,
                human_bits(out_struct.cut * 8.0)
            )?;
            for f in &out_struct.freed {
                writeln!(
                    out,
                    "  --free {}: {} vCPUs and {} MiB released; headroom after: {} vCPUs, {} MiB",
                    f.requirement, f.vcpus, f.memory_mib, f.headroom_vcpus, f.headroom_memory_mib
                )?;
            }
            for name in &out_struct.moved {
                writeln!(out, "  {name}")?;
            }
            if let Some(path) = &args.write_inventory {
                writeln!(out, "  inventory for `convoy plan`: {}", path.display())?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory_mib("128G"), Ok(131072));
        assert_eq!(parse_memory_mib("512"), Ok(512));
        assert_eq!(parse_memory_mib("1T"), Ok(1048576));
        assert!(parse_memory_mib("lots").is_err());
        assert!(parse_memory_mib("5Q").is_err());
    }

    #[test]
    fn key_value_specs() {
        assert_eq!(
            pairs("node=n1,vcpus=3", &["node", "vcpus"]),
            Ok(vec![("node", "n1"), ("vcpus", "3")])
        );
        assert!(pairs("node", &["node"]).is_err());
        assert!(pairs("disk=3", &["node"]).is_err());
    }
}
