//! convoy's data model: the weighted communication graph (compact CSR with
//! interned names), the inventory of sites, nodes and VMs, migration plans, and
//! the readers of their files.
//!
//! This crate sits at the bottom of the dependency graph. Its only I/O is
//! reading the files it defines; every reader reports errors as
//! `file:line: what was expected, found what` through [`FileError`].

#![warn(missing_docs)]

mod constraints_file;
mod error;
mod graph;
mod graph_file;
mod inventory;
mod plan;

pub use constraints_file::{
    parse_constraints_json, parse_constraints_toml, read_constraints, ConstraintsFile, Named,
    NodeCap, Precedence, TogetherGroup,
};
pub use error::FileError;
pub use graph::{sort_neighbours, EdgeError, Graph, GraphBuilder};
pub use graph_file::{parse_csv, parse_mtx, read_graph};
pub use inventory::{
    parse_inventory_json, parse_inventory_toml, read_inventory, Inventory, Node, Site, SiteKind, Vm,
};
pub use plan::{read_plan, Plan};
