//! The [`Host`] trait: what the `qemu` backend needs of one hypervisor host.
//!
//! The backend never touches a host's files or processes directly: it asks
//! the host to start, stop and query QEMU, to create the incoming disk, and to
//! keep small notes (the machine configuration, the addresses a destination
//! listens on) that outlive the mover. [`crate::QemuHost`] implements it for
//! the machine the mover runs on; the `convoy-agent` crate implements it for
//! a host reached over the network, through the agent that owns its QEMU
//! processes. The same, tested migration code drives both.

use std::net::IpAddr;

use serde_json::Value;

use crate::backend::Presence;
use crate::error::BackendError;
use crate::qemu::MachineConfig;
use crate::qmp::QmpError;

/// One hypervisor host's QEMU processes, as the `qemu` backend drives them.
///
/// Every method is safe to call again after an interruption: starting
/// replaces a previous process of the same VM, stopping an absent VM is not an
/// error.
pub trait Host: Send + Sync {
    /// The host's name (the inventory's node).
    fn name(&self) -> &str;

    /// The address on which this host's incoming migrations and NBD exports
    /// listen, as the other hosts reach it.
    fn address(&self) -> IpAddr;

    /// Starts `vm` with `config`. `incoming`: paused (`-S`) and waiting for a
    /// migration (`-incoming defer`), with the disk (if any) at the image
    /// made by [`Host::create_disk`]. A source start also keeps `config` as
    /// the VM's `machine` note, where a destination is later configured from.
    fn start_vm(
        &self,
        vm: &str,
        config: &MachineConfig,
        incoming: bool,
    ) -> Result<(), BackendError>;

    /// Stops `vm`'s QEMU at once (SIGKILL); returns whether there was one.
    fn kill_vm(&self, vm: &str) -> Result<bool, BackendError>;

    /// Asks `vm`'s QEMU to quit, killing it if it does not within seconds.
    fn quit_vm(&self, vm: &str) -> Result<(), BackendError>;

    /// Runs one QMP command on `vm`'s monitor and returns its result.
    fn execute(&self, vm: &str, command: &str, arguments: Value) -> Result<Value, QmpError>;

    /// `vm`'s run state (`running`, `paused`, `inmigrate`, `postmigrate`, …)
    /// read through a second monitor, so that it never waits behind a step;
    /// `None` when no QEMU runs it here.
    fn run_state(&self, vm: &str) -> Result<Option<String>, BackendError>;

    /// Whether and how `vm` runs here.
    fn presence(&self, vm: &str) -> Presence {
        match self.run_state(vm) {
            Ok(None) => Presence::Absent,
            Ok(Some(s)) => presence_of(&s),
            Err(_) => Presence::Unknown,
        }
    }

    /// The last `max_bytes` of `vm`'s serial console, as kept here when its
    /// machine has `console` set (empty when there is none).
    fn console(&self, vm: &str, max_bytes: u64) -> Result<String, BackendError>;

    /// Creates the empty image (`format`, `size` bytes) that an incoming
    /// `vm` receives its disk into, replacing any previous one.
    fn create_disk(&self, vm: &str, format: &str, size: u64) -> Result<(), BackendError>;

    /// Removes the image made by [`Host::create_disk`], if any.
    fn remove_disk(&self, vm: &str) -> Result<(), BackendError>;

    /// Keeps `value` under `key` for `vm` (written durably, read back by a
    /// restarted mover).
    fn write_note(&self, vm: &str, key: &str, value: &Value) -> Result<(), BackendError>;

    /// The note `key` of `vm`, if there is one.
    fn read_note(&self, vm: &str, key: &str) -> Result<Option<Value>, BackendError>;

    /// Removes the note `key` of `vm`, if there is one.
    fn remove_note(&self, vm: &str, key: &str) -> Result<(), BackendError>;
}

/// The presence a QEMU run state stands for.
pub fn presence_of(run_state: &str) -> Presence {
    match run_state {
        "running" => Presence::Running,
        "inmigrate" => Presence::Incoming,
        _ => Presence::Paused,
    }
}

/// Names that are safe as file names in a host's runtime directory: a VM name
/// or note key made of ASCII letters, digits, `.`, `_` and `-`, not starting
/// with a dot, at most 128 bytes.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_are_safe_file_names() {
        for ok in ["web-1", "db.primary", "A_b-9"] {
            assert!(is_safe_name(ok), "{ok}");
        }
        for bad in ["", "../etc", "a/b", ".hidden", "a b", "é", &"x".repeat(129)] {
            assert!(!is_safe_name(bad), "{bad}");
        }
    }
}
