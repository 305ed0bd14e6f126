//! The inventory: sites, hypervisor nodes and the VMs that run on them.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{is_json, line_of_offset, read_text, FileError};

/// What kind of place a site is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SiteKind {
    /// The enterprise's own data centre, where VMs start.
    Private,
    /// A public cloud region, where VMs are moved to.
    Cloud,
}

/// A data centre or cloud region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// Unique name.
    pub name: String,
    /// Private data centre or public cloud.
    pub kind: SiteKind,
}

/// A hypervisor host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Unique name.
    pub name: String,
    /// The site it stands in.
    pub site: String,
    /// Physical CPUs offered to guests.
    #[serde(default)]
    pub vcpus: u32,
    /// Memory offered to guests, MiB.
    #[serde(default)]
    pub memory_mib: u64,
    /// The address of the host's agent (`http://HOST:PORT`), through which
    /// `convoy migrate --qemu` drives its QEMU processes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// A virtual machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vm {
    /// Unique name; the graph's vertices are VM names.
    pub name: String,
    /// The site it runs in now.
    pub site: String,
    /// The node it runs on now.
    pub node: String,
    /// Virtual CPUs.
    #[serde(default = "one")]
    pub vcpus: u32,
    /// Guest memory, MiB.
    pub memory_mib: u64,
    /// Disk that moves with the VM, GiB (0 for shared or ephemeral storage).
    #[serde(default)]
    pub disk_gib: u64,
    /// IP addresses, used to map flow records to VMs.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// How fast the guest dirties memory while it runs, MiB/s (drives live-migration
    /// convergence). Absent when unknown: consumers then assume their own default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dirty_mib_per_s: Option<f64>,
    /// Application or team the VM belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// A pinned VM never moves.
    #[serde(default)]
    pub pinned: bool,
}

fn one() -> u32 {
    1
}

/// Sites, nodes and VMs, validated for consistency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Data centres and cloud regions.
    #[serde(default)]
    pub sites: Vec<Site>,
    /// Hypervisor hosts.
    #[serde(default)]
    pub nodes: Vec<Node>,
    /// Virtual machines.
    #[serde(default)]
    pub vms: Vec<Vm>,
}

impl Inventory {
    /// The VM called `name`.
    pub fn vm(&self, name: &str) -> Option<&Vm> {
        self.vms.iter().find(|v| v.name == name)
    }

    /// Checks that names are unique and every reference resolves.
    pub fn validate(&self) -> Result<(), String> {
        let mut sites = HashSet::new();
        for s in &self.sites {
            if !sites.insert(s.name.as_str()) {
                return Err(format!("site {:?} is defined twice", s.name));
            }
        }
        let mut nodes = HashMap::new();
        for n in &self.nodes {
            if !sites.contains(n.site.as_str()) {
                return Err(format!(
                    "node {:?} is in site {:?}, which is not defined",
                    n.name, n.site
                ));
            }
            if nodes.insert(n.name.as_str(), n.site.as_str()).is_some() {
                return Err(format!("node {:?} is defined twice", n.name));
            }
        }
        let mut vms = HashSet::new();
        let mut addresses = HashMap::new();
        for v in &self.vms {
            if v.name.is_empty() {
                return Err("a VM has an empty name".into());
            }
            if !vms.insert(v.name.as_str()) {
                return Err(format!("VM {:?} is defined twice", v.name));
            }
            match nodes.get(v.node.as_str()) {
                None => {
                    return Err(format!(
                        "VM {:?} runs on node {:?}, which is not defined",
                        v.name, v.node
                    ))
                }
                Some(site) if *site != v.site => {
                    return Err(format!(
                        "VM {:?} says site {:?} but its node {:?} is in site {:?}",
                        v.name, v.site, v.node, site
                    ))
                }
                Some(_) => {}
            }
            for a in &v.addresses {
                if let Some(other) = addresses.insert(a.as_str(), v.name.as_str()) {
                    return Err(format!(
                        "address {a} belongs to both {other:?} and {:?}",
                        v.name
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Reads an inventory: JSON when the extension is `.json`, TOML otherwise.
pub fn read_inventory(path: &Path) -> Result<Inventory, FileError> {
    let text = read_text(path)?;
    if is_json(path) {
        parse_inventory_json(&text, path)
    } else {
        parse_inventory_toml(&text, path)
    }
}

/// Parses a TOML inventory; `path` is used in error messages.
pub fn parse_inventory_toml(text: &str, path: &Path) -> Result<Inventory, FileError> {
    let inv: Inventory = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of_offset(text, s.start));
        FileError::line(path, line, e.message().trim_end().to_string())
    })?;
    inv.validate().map_err(|m| FileError::content(path, m))?;
    Ok(inv)
}

/// Parses a JSON inventory; `path` is used in error messages.
pub fn parse_inventory_json(text: &str, path: &Path) -> Result<Inventory, FileError> {
    let inv: Inventory = serde_json::from_str(text).map_err(|e| json_error(path, &e))?;
    inv.validate().map_err(|m| FileError::content(path, m))?;
    Ok(inv)
}

/// Turns a serde_json error into a [`FileError`] at its line, without serde's
/// trailing "at line L column C" (the prefix already says where).
pub(crate) fn json_error(path: &Path, e: &serde_json::Error) -> FileError {
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    FileError::line(path, e.line().max(1), msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INV: &str = r#"
[[sites]]
name = "dc"
kind = "private"

[[nodes]]
name = "n1"
site = "dc"
vcpus = 32
memory_mib = 131072

[[vms]]
name = "web"
site = "dc"
node = "n1"
vcpus = 2
memory_mib = 4096
disk_gib = 20
addresses = ["10.0.0.1"]
group = "shop"
"#;

    #[test]
    fn toml_and_json_agree() {
        let a = parse_inventory_toml(INV, Path::new("i.toml")).unwrap();
        let json = serde_json::to_string(&a).unwrap();
        let b = parse_inventory_json(&json, Path::new("i.json")).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.vm("web").unwrap().memory_mib, 4096);
        assert!(!a.vm("web").unwrap().pinned);
    }

    #[test]
    fn errors_name_the_line_or_the_thing() {
        let bad = INV.replace("memory_mib = 4096", "memory_mib = \"lots\"");
        let e = parse_inventory_toml(&bad, Path::new("i.toml")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("i.toml:17: invalid type: string \"lots\", expected u64"),
            "{e}"
        );
        let bad = INV.replace("node = \"n1\"\nvcpus = 2", "node = \"n9\"\nvcpus = 2");
        let e = parse_inventory_toml(&bad, Path::new("i.toml")).unwrap_err();
        assert!(
            e.to_string().contains("node \"n9\", which is not defined"),
            "{e}"
        );
        let e = parse_inventory_json("{\"vms\": [}", Path::new("i.json")).unwrap_err();
        assert!(e.to_string().starts_with("i.json:1: "), "{e}");
    }
}
