//! The agent's HTTP server: authorisation, then one handler per operation of
//! [`convoy_migrate::Host`], each run on a blocking thread (QEMU and QMP are
//! driven synchronously).

use std::future::Future;
use std::io;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use convoy_migrate::host::is_safe_name;
use convoy_migrate::qmp::QmpError;
use convoy_migrate::{BackendError, Host, QemuHost};
use serde_json::Value;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

use crate::protocol::{
    Console, ConsoleQuery, DiskRequest, ErrorBody, HostInfo, Killed, QmpFailure, QmpReply,
    QmpRequest, RunState, StartRequest, ALLOWED_QMP,
};

/// The shortest token an agent accepts: a guessable token is no protection.
pub const MIN_TOKEN_LEN: usize = 16;

/// One host's agent: its QEMU processes and the token requests must carry.
pub struct Agent {
    host: QemuHost,
    token: String,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token.
        f.debug_struct("Agent").field("host", &self.host).finish()
    }
}

/// Why an agent could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The token is too short to protect anything.
    #[error("the agent token has {0} characters; at least {MIN_TOKEN_LEN} are required")]
    WeakToken(usize),
}

impl Agent {
    /// An agent for `host`, answering only requests that carry `token`.
    pub fn new(host: QemuHost, token: impl Into<String>) -> Result<Agent, AgentError> {
        let token = token.into();
        if token.len() < MIN_TOKEN_LEN {
            return Err(AgentError::WeakToken(token.len()));
        }
        Ok(Agent { host, token })
    }

    /// The host it serves.
    pub fn host(&self) -> &QemuHost {
        &self.host
    }

    fn authorized(&self, header: Option<&str>) -> bool {
        header
            .and_then(|h| h.strip_prefix("Bearer "))
            .is_some_and(|t| bool::from(t.trim().as_bytes().ct_eq(self.token.as_bytes())))
    }
}

/// An error answer: a status and a message.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorBody { error: self.1 })).into_response()
    }
}

impl From<BackendError> for ApiError {
    fn from(e: BackendError) -> ApiError {
        let status = match e {
            BackendError::Protocol(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> ApiError {
        ApiError(StatusCode::BAD_REQUEST, e.body_text())
    }
}

type Shared = State<Arc<Agent>>;

/// The agent's routes, behind the bearer-token check.
pub fn router(agent: Arc<Agent>) -> Router {
    Router::new()
        .route("/v1/host", get(host_info))
        .route("/v1/vms/{vm}/start", post(start))
        .route("/v1/vms/{vm}/kill", post(kill))
        .route("/v1/vms/{vm}/quit", post(quit))
        .route("/v1/vms/{vm}/qmp", post(qmp))
        .route("/v1/vms/{vm}/state", get(state))
        .route("/v1/vms/{vm}/console", get(console))
        .route("/v1/vms/{vm}/disk", post(create_disk).delete(remove_disk))
        .route(
            "/v1/vms/{vm}/notes/{key}",
            put(write_note).get(read_note).delete(remove_note),
        )
        .layer(middleware::from_fn_with_state(agent.clone(), authorize))
        .with_state(agent)
}

/// Serves `agent` on `listener` until `shutdown` completes. The guests keep
/// running afterwards: an agent restarted on the same directory finds them.
pub async fn serve(
    listener: TcpListener,
    agent: Arc<Agent>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    tracing::info!(
        host = agent.host.name(),
        address = %listener.local_addr()?,
        "agent serving"
    );
    let result = axum::serve(listener, router(agent.clone()))
        .with_graceful_shutdown(shutdown)
        .await;
    agent.host.detach();
    result
}

async fn authorize(State(agent): Shared, req: Request, next: Next) -> Response {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !agent.authorized(header) {
        tracing::warn!(path = %req.uri().path(), "refused a request without the token");
        let mut r = ApiError(
            StatusCode::UNAUTHORIZED,
            "this agent needs `Authorization: Bearer TOKEN`".into(),
        )
        .into_response();
        r.headers_mut()
            .insert(WWW_AUTHENTICATE, "Bearer".parse().expect("valid header"));
        return r;
    }
    next.run(req).await
}

fn check(name: &str, what: &str) -> Result<(), ApiError> {
    if is_safe_name(name) {
        Ok(())
    } else {
        Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("{what} {name:?}: expected ASCII letters, digits, '.', '_' or '-'"),
        ))
    }
}

/// Runs blocking host work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

async fn host_info(State(agent): Shared) -> Json<HostInfo> {
    Json(HostInfo {
        name: agent.host.name().to_string(),
        address: agent.host.address(),
        accel: format!("{:?}", agent.host.accel()).to_lowercase(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    })
}

async fn start(
    State(agent): Shared,
    Path(vm): Path<String>,
    body: Result<Json<StartRequest>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    check(&vm, "VM")?;
    let Json(req) = body?;
    tracing::info!(vm, incoming = req.incoming, "start");
    blocking(move || Ok(agent.host.start_vm(&vm, &req.config, req.incoming)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn kill(State(agent): Shared, Path(vm): Path<String>) -> Result<Json<Killed>, ApiError> {
    check(&vm, "VM")?;
    tracing::info!(vm, "kill");
    let killed = blocking(move || Ok(agent.host.kill_vm(&vm)?)).await?;
    Ok(Json(Killed { killed }))
}

async fn quit(State(agent): Shared, Path(vm): Path<String>) -> Result<StatusCode, ApiError> {
    check(&vm, "VM")?;
    tracing::info!(vm, "quit");
    blocking(move || Ok(agent.host.quit_vm(&vm)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn qmp(
    State(agent): Shared,
    Path(vm): Path<String>,
    body: Result<Json<QmpRequest>, JsonRejection>,
) -> Result<Json<QmpReply>, ApiError> {
    check(&vm, "VM")?;
    let Json(req) = body?;
    if !ALLOWED_QMP.contains(&req.execute.as_str()) {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            format!("QMP command {:?} is not one this agent runs", req.execute),
        ));
    }
    if !req.execute.starts_with("query-") {
        tracing::info!(vm, command = req.execute, "qmp");
    }
    blocking(
        move || match agent.host.execute(&vm, &req.execute, req.arguments) {
            Ok(v) => Ok(Json(QmpReply::Return(v))),
            Err(QmpError::Command { class, desc, .. }) => {
                Ok(Json(QmpReply::Error(QmpFailure { class, desc })))
            }
            Err(e @ (QmpError::Connect { .. } | QmpError::Closed)) => Err(ApiError(
                StatusCode::NOT_FOUND,
                format!("no QEMU answers for {vm}: {e}"),
            )),
            Err(e) => Err(ApiError(StatusCode::BAD_GATEWAY, format!("{vm}: {e}"))),
        },
    )
    .await
}

async fn state(State(agent): Shared, Path(vm): Path<String>) -> Result<Json<RunState>, ApiError> {
    check(&vm, "VM")?;
    let run_state = blocking(move || Ok(agent.host.run_state(&vm)?)).await?;
    Ok(Json(RunState { run_state }))
}

async fn console(
    State(agent): Shared,
    Path(vm): Path<String>,
    Query(q): Query<ConsoleQuery>,
) -> Result<Json<Console>, ApiError> {
    check(&vm, "VM")?;
    let bytes = q.bytes.min(ConsoleQuery::MAX_BYTES);
    let text = blocking(move || Ok(agent.host.console(&vm, bytes)?)).await?;
    Ok(Json(Console { text }))
}

async fn create_disk(
    State(agent): Shared,
    Path(vm): Path<String>,
    body: Result<Json<DiskRequest>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    check(&vm, "VM")?;
    let Json(req) = body?;
    blocking(move || Ok(agent.host.create_disk(&vm, &req.format, req.size)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_disk(State(agent): Shared, Path(vm): Path<String>) -> Result<StatusCode, ApiError> {
    check(&vm, "VM")?;
    blocking(move || Ok(agent.host.remove_disk(&vm)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn write_note(
    State(agent): Shared,
    Path((vm, key)): Path<(String, String)>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    check(&vm, "VM")?;
    check(&key, "note")?;
    let Json(value) = body?;
    blocking(move || Ok(agent.host.write_note(&vm, &key, &value)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn read_note(
    State(agent): Shared,
    Path((vm, key)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    check(&vm, "VM")?;
    check(&key, "note")?;
    let what = format!("{vm} has no note {key:?}");
    match blocking(move || Ok(agent.host.read_note(&vm, &key)?)).await? {
        Some(v) => Ok(Json(v)),
        None => Err(ApiError(StatusCode::NOT_FOUND, what)),
    }
}

async fn remove_note(
    State(agent): Shared,
    Path((vm, key)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    check(&vm, "VM")?;
    check(&key, "note")?;
    blocking(move || Ok(agent.host.remove_note(&vm, &key)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}
