//! The mover's side: [`AgentHost`], a [`Host`] reached through its agent.

use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use convoy_migrate::qmp::QmpError;
use convoy_migrate::{BackendError, Host, MachineConfig};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::protocol::{
    Console, DiskRequest, ErrorBody, HostInfo, Killed, QmpReply, QmpRequest, RunState, StartRequest,
};

/// Why a request to an agent failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The agent refused the token.
    #[error("{url}: the agent refused the token (401); check --agent-token")]
    Unauthorized {
        /// The request's address.
        url: String,
    },
    /// The agent answered with an error.
    #[error("{url}: {status}: {message}")]
    Status {
        /// The request's address.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The agent's message.
        message: String,
    },
    /// The agent could not be reached.
    #[error("{url}: cannot reach the agent: {message}")]
    Transport {
        /// The request's address.
        url: String,
        /// What failed.
        message: String,
    },
    /// The agent's answer was not what the API describes.
    #[error("{url}: unexpected answer: {message}")]
    Protocol {
        /// The request's address.
        url: String,
        /// What was wrong.
        message: String,
    },
}

impl ClientError {
    fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            ClientError::Unauthorized { .. } => Some(401),
            _ => None,
        }
    }
}

impl From<ClientError> for BackendError {
    fn from(e: ClientError) -> BackendError {
        match e {
            ClientError::Protocol { .. } => BackendError::Protocol(e.to_string()),
            _ => BackendError::Process(e.to_string()),
        }
    }
}

/// A hypervisor host driven through its agent's HTTP API.
pub struct AgentHost {
    base: String,
    token: String,
    http: ureq::Agent,
    info: HostInfo,
}

impl std::fmt::Debug for AgentHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token.
        f.debug_struct("AgentHost")
            .field("base", &self.base)
            .field("info", &self.info)
            .finish()
    }
}

impl AgentHost {
    /// Connects to the agent at `url` (`http://HOST:PORT`) with `token`, and
    /// asks who it is: the host's name and migration address come from it.
    pub fn connect(url: &str, token: &str) -> Result<AgentHost, ClientError> {
        let http = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(5))
            // Starting a QEMU or letting one quit takes seconds, not minutes.
            .timeout(Duration::from_secs(120))
            .build();
        let mut host = AgentHost {
            base: url.trim_end_matches('/').to_string(),
            token: token.trim().to_string(),
            http,
            info: HostInfo {
                name: String::new(),
                address: IpAddr::from([0, 0, 0, 0]),
                accel: String::new(),
                version: String::new(),
            },
        };
        host.info = host.call("GET", "/v1/host", None::<&()>)?;
        Ok(host)
    }

    /// What the agent said about its host.
    pub fn info(&self) -> &HostInfo {
        &self.info
    }

    /// The agent's address.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn send<B: Serialize>(
        &self,
        method: &str,
        path: &str,
        body: Option<&B>,
    ) -> Result<ureq::Response, ClientError> {
        let url = format!("{}{path}", self.base);
        let req = self
            .http
            .request(method, &url)
            .set("Authorization", &format!("Bearer {}", self.token));
        let result = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        match result {
            Ok(r) => Ok(r),
            Err(ureq::Error::Status(401, _)) => Err(ClientError::Unauthorized { url }),
            Err(ureq::Error::Status(status, r)) => {
                let text = r.into_string().unwrap_or_default();
                let message = serde_json::from_str::<ErrorBody>(&text)
                    .map(|b| b.error)
                    .unwrap_or(text);
                Err(ClientError::Status {
                    url,
                    status,
                    message,
                })
            }
            Err(ureq::Error::Transport(t)) => Err(ClientError::Transport {
                url,
                message: t.to_string(),
            }),
        }
    }

    fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let r = self.send(method, path, body)?;
        let url = r.get_url().to_string();
        r.into_json().map_err(|e| ClientError::Protocol {
            url,
            message: e.to_string(),
        })
    }

    fn call_empty<B: Serialize>(
        &self,
        method: &str,
        path: &str,
        body: Option<&B>,
    ) -> Result<(), ClientError> {
        self.send(method, path, body).map(drop)
    }
}

fn vm_path(vm: &str, rest: &str) -> String {
    // Names are checked by both ends to be plain ASCII words: no escaping.
    format!("/v1/vms/{vm}/{rest}")
}

impl Host for AgentHost {
    fn name(&self) -> &str {
        &self.info.name
    }

    fn address(&self) -> IpAddr {
        self.info.address
    }

    fn start_vm(
        &self,
        vm: &str,
        config: &MachineConfig,
        incoming: bool,
    ) -> Result<(), BackendError> {
        let body = StartRequest {
            config: config.clone(),
            incoming,
        };
        Ok(self.call_empty("POST", &vm_path(vm, "start"), Some(&body))?)
    }

    fn kill_vm(&self, vm: &str) -> Result<bool, BackendError> {
        let k: Killed = self.call("POST", &vm_path(vm, "kill"), None::<&()>)?;
        Ok(k.killed)
    }

    fn quit_vm(&self, vm: &str) -> Result<(), BackendError> {
        Ok(self.call_empty("POST", &vm_path(vm, "quit"), None::<&()>)?)
    }

    fn execute(&self, vm: &str, command: &str, arguments: Value) -> Result<Value, QmpError> {
        let body = QmpRequest {
            execute: command.to_string(),
            arguments,
        };
        match self.call::<_, QmpReply>("POST", &vm_path(vm, "qmp"), Some(&body)) {
            Ok(QmpReply::Return(v)) => Ok(v),
            Ok(QmpReply::Error(f)) => Err(QmpError::Command {
                command: command.to_string(),
                class: f.class,
                desc: f.desc,
            }),
            // No QEMU for this VM over there: the same as a refused socket here.
            Err(e) if e.status() == Some(404) => Err(QmpError::Connect {
                path: PathBuf::from(format!("{}{}", self.base, vm_path(vm, "qmp"))),
                source: io::Error::new(io::ErrorKind::NotFound, e.to_string()),
            }),
            Err(e) => Err(QmpError::Io(io::Error::other(e.to_string()))),
        }
    }

    fn run_state(&self, vm: &str) -> Result<Option<String>, BackendError> {
        let s: RunState = self.call("GET", &vm_path(vm, "state"), None::<&()>)?;
        Ok(s.run_state)
    }

    fn console(&self, vm: &str, max_bytes: u64) -> Result<String, BackendError> {
        let c: Console = self.call(
            "GET",
            &vm_path(vm, &format!("console?bytes={max_bytes}")),
            None::<&()>,
        )?;
        Ok(c.text)
    }

    fn create_disk(&self, vm: &str, format: &str, size: u64) -> Result<(), BackendError> {
        let body = DiskRequest {
            format: format.to_string(),
            size,
        };
        Ok(self.call_empty("POST", &vm_path(vm, "disk"), Some(&body))?)
    }

    fn remove_disk(&self, vm: &str) -> Result<(), BackendError> {
        Ok(self.call_empty("DELETE", &vm_path(vm, "disk"), None::<&()>)?)
    }

    fn write_note(&self, vm: &str, key: &str, value: &Value) -> Result<(), BackendError> {
        let path = vm_path(vm, &format!("notes/{key}"));
        Ok(self.call_empty("PUT", &path, Some(value))?)
    }

    fn read_note(&self, vm: &str, key: &str) -> Result<Option<Value>, BackendError> {
        let path = vm_path(vm, &format!("notes/{key}"));
        match self.call("GET", &path, None::<&()>) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn remove_note(&self, vm: &str, key: &str) -> Result<(), BackendError> {
        let path = vm_path(vm, &format!("notes/{key}"));
        Ok(self.call_empty("DELETE", &path, None::<&()>)?)
    }
}
