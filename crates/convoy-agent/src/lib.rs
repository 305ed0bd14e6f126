//! convoy's host agent.
//!
//! An agent runs on each hypervisor host, at the private site and in the
//! cloud. It owns that host's QEMU processes (a [`convoy_migrate::QemuHost`])
//! and serves the mover over HTTP+JSON: start and stop a VM, run one QMP
//! command from a fixed list, read a VM's run state, create the disk an
//! incoming VM receives into, and keep small notes. Every request must carry
//! the agent's bearer token; one without it is answered 401 and nothing is
//! done.
//!
//! The mover side is [`AgentHost`]: it implements [`convoy_migrate::Host`]
//! over that API, so the `qemu` backend's tested migration code drives remote
//! hosts exactly as it drives local ones:
//!
//! ```no_run
//! use std::sync::Arc;
//! use convoy_agent::AgentHost;
//! use convoy_migrate::QemuBackend;
//! # fn demo() -> Result<(), convoy_agent::ClientError> {
//! let private = AgentHost::connect("http://10.0.0.1:7070", "token…")?;
//! let cloud = AgentHost::connect("http://10.0.1.1:7070", "token…")?;
//! let backend = QemuBackend::by_node([Arc::new(private), Arc::new(cloud)]);
//! # Ok(()) }
//! ```
//!
//! The API is described in docs/agent.md. Deliberately absent: TLS (run the
//! agent on the management network, or behind a TLS-terminating proxy), and
//! any QMP command outside [`protocol::ALLOWED_QMP`].

#![warn(missing_docs)]

pub mod client;
pub mod protocol;
pub mod server;

pub use client::{AgentHost, ClientError};
pub use server::{router, serve, Agent};
