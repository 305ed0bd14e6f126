//! The agent's HTTP+JSON API: paths, bodies and the QMP commands it passes on.
//!
//! Every path is under `/v1`, and every request carries
//! `Authorization: Bearer TOKEN`.
//!
//! | method and path | body | answer |
//! |---|---|---|
//! | `GET /v1/host` | | [`HostInfo`] |
//! | `POST /v1/vms/{vm}/start` | [`StartRequest`] | 204 |
//! | `POST /v1/vms/{vm}/kill` | | [`Killed`] |
//! | `POST /v1/vms/{vm}/quit` | | 204 |
//! | `POST /v1/vms/{vm}/qmp` | [`QmpRequest`] | [`QmpReply`] |
//! | `GET /v1/vms/{vm}/state` | | [`RunState`] |
//! | `GET /v1/vms/{vm}/console?bytes=N` | | [`Console`] |
//! | `POST /v1/vms/{vm}/disk` | [`DiskRequest`] | 204 |
//! | `DELETE /v1/vms/{vm}/disk` | | 204 |
//! | `PUT`, `GET`, `DELETE /v1/vms/{vm}/notes/{key}` | any JSON | 204, the JSON or 404, 204 |
//!
//! Errors are answered with an [`ErrorBody`]: 400 for a bad name or body,
//! 401 without the right token, 403 for a QMP command not in
//! [`ALLOWED_QMP`], 404 for a VM with no QEMU (QMP) or a missing note, 500
//! when the host could not do what was asked.

use std::net::IpAddr;

use convoy_migrate::MachineConfig;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The QMP commands an agent passes on: those live migration needs, and
/// nothing that reaches the host's files or the guest's insides
/// (`human-monitor-command`, `add-fd`, `pmemsave`, … are refused).
pub const ALLOWED_QMP: &[&str] = &[
    "query-status",
    "query-migrate",
    "query-named-block-nodes",
    "query-block-jobs",
    "query-dirty-rate",
    "calc-dirty-rate",
    "migrate-set-capabilities",
    "migrate-set-parameters",
    "migrate",
    "migrate_cancel",
    "migrate-incoming",
    "blockdev-add",
    "blockdev-del",
    "blockdev-mirror",
    "block-job-cancel",
    "nbd-server-start",
    "nbd-server-stop",
    "block-export-add",
    "cont",
    "stop",
];

/// What `GET /v1/host` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    /// The host's name (the inventory's node).
    pub name: String,
    /// Where its incoming migrations and NBD exports listen.
    pub address: IpAddr,
    /// The accelerator its guests run under (`kvm`, `tcg`).
    pub accel: String,
    /// The agent's version.
    pub version: String,
}

/// `POST /v1/vms/{vm}/start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartRequest {
    /// The machine.
    pub config: MachineConfig,
    /// Paused, waiting for an incoming migration.
    #[serde(default)]
    pub incoming: bool,
}

/// `POST /v1/vms/{vm}/kill`'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Killed {
    /// Whether there was a process to kill.
    pub killed: bool,
}

/// `POST /v1/vms/{vm}/qmp`: one QMP command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QmpRequest {
    /// The command (one of [`ALLOWED_QMP`]).
    pub execute: String,
    /// Its arguments (`null` for none).
    #[serde(default)]
    pub arguments: Value,
}

/// The answer to a QMP command, as QEMU gave it: its result or its error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QmpReply {
    /// The command's result.
    Return(Value),
    /// QEMU refused the command.
    Error(QmpFailure),
}

/// QEMU's refusal of a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QmpFailure {
    /// QEMU's error class (`GenericError`, `DeviceNotFound`, …).
    pub class: String,
    /// QEMU's description.
    pub desc: String,
}

/// `GET /v1/vms/{vm}/state`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunState {
    /// QEMU's run state, or `null` when no QEMU runs the VM here.
    pub run_state: Option<String>,
}

/// `POST /v1/vms/{vm}/disk`: the empty image an incoming VM receives its
/// disk into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskRequest {
    /// `raw` or `qcow2`.
    pub format: String,
    /// Virtual size, bytes.
    pub size: u64,
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
}

/// `GET /v1/vms/{vm}/console?bytes=N`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Console {
    /// The last bytes of the guest's serial console (lossy UTF-8).
    pub text: String,
}

/// `GET /v1/vms/{vm}/console`'s query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleQuery {
    /// How many bytes from the end, at most (default 64 KiB, at most 1 MiB).
    #[serde(default = "ConsoleQuery::default_bytes")]
    pub bytes: u64,
}

impl ConsoleQuery {
    /// The most a single request returns.
    pub const MAX_BYTES: u64 = 1 << 20;

    fn default_bytes() -> u64 {
        64 << 10
    }
}
