//! The `exec` backend: the operator's own executable for each step, so that
//! any cloud's command-line tool can carry out a move.
//!
//! # Protocol
//!
//! For each step (`prepare`, `transfer`, `cutover`, `rollback`) the configured
//! command is run with
//! - **stdin**: one JSON document, the move plus the step and the attempt:
//!   `{"step": "transfer", "attempt": 1, "vm": {…inventory VM…},
//!   "to_site": "cloud", "to_node": "c1", "params": {…}}`, then end of file;
//! - **environment**: `CONVOY_STEP`, `CONVOY_VM`, `CONVOY_ATTEMPT`;
//! - **stdout**: progress lines, either text
//!   `progress SENT TOTAL [remaining=N] [dirty_rate=N] [expected_downtime_ms=N]
//!   [downtime_ms=N] [phase=NAME]`
//!   (bytes; TOTAL may be `-` when unknown; dirty_rate in bytes/s), or a JSON
//!   object with the fields of [`TransferProgress`] (`{"sent": 1024, "total": 4096}`).
//!   Any other line is passed on as a log line. A malformed `progress` line
//!   fails the step ([`BackendError::Protocol`]);
//! - **exit status**: 0 for success; anything else fails the step
//!   ([`BackendError::Exit`] with the end of stderr, or [`BackendError::Signal`]);
//! - **timeout**: a step that runs longer is killed, with every process of
//!   its process group ([`BackendError::Timeout`]); the same happens when the
//!   operator cancels the move.
//!
//! A step without a command does nothing, except `transfer`, which must have
//! one. The optional `observe` command prints one JSON object
//! `{"source": "running", "destination": "absent", "transfer": "not_started"}`
//! (values as in [`Presence`] and [`TransferStatus`]; missing fields are
//! `unknown`), which the mover uses to resume after a crash. Without it the
//! mover reruns the interrupted step, so the executables must be idempotent.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::backend::{
    Backend, Move, Observation, Presence, StepContext, TransferProgress, TransferStatus,
};
use crate::error::BackendError;
use crate::state::Step;

/// How long a step may run unless configured otherwise.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(3600);

/// How much of a failed step's stderr is kept in its error.
const STDERR_TAIL: usize = 4096;

/// A program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecCommand {
    /// The program (looked up in `PATH` when it has no slash).
    pub program: PathBuf,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
}

impl ExecCommand {
    /// `program` with `args`.
    pub fn new<I, S>(program: impl Into<PathBuf>, args: I) -> ExecCommand
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ExecCommand {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
        }
    }
}

/// The `exec` backend.
#[derive(Debug, Clone, Default)]
pub struct ExecBackend {
    steps: BTreeMap<Step, ExecCommand>,
    observe: Option<ExecCommand>,
    timeouts: BTreeMap<Step, Duration>,
    default_timeout: Option<Duration>,
}

#[derive(Serialize)]
struct StdinDoc<'a> {
    step: Step,
    attempt: u32,
    #[serde(flatten)]
    mv: &'a Move,
}

#[derive(Deserialize)]
struct ObserveDoc {
    #[serde(default = "unknown_presence")]
    source: Presence,
    #[serde(default = "unknown_presence")]
    destination: Presence,
    #[serde(default = "unknown_transfer")]
    transfer: TransferStatus,
}

fn unknown_presence() -> Presence {
    Presence::Unknown
}

fn unknown_transfer() -> TransferStatus {
    TransferStatus::Unknown
}

impl ExecBackend {
    /// A backend with no commands yet.
    pub fn new() -> ExecBackend {
        ExecBackend::default()
    }

    /// One program for every step and for `observe`, called with the step's
    /// name as its first argument (`program transfer`), like git hooks.
    pub fn single(program: impl Into<PathBuf>) -> ExecBackend {
        let program = program.into();
        let mut b = ExecBackend::new();
        for step in Step::ALL {
            b.steps
                .insert(step, ExecCommand::new(program.clone(), [step.as_str()]));
        }
        b.observe = Some(ExecCommand::new(program, ["observe"]));
        b
    }

    /// Sets the command of `step`.
    pub fn step(mut self, step: Step, command: ExecCommand) -> ExecBackend {
        self.steps.insert(step, command);
        self
    }

    /// Sets the `observe` command.
    pub fn observe_with(mut self, command: ExecCommand) -> ExecBackend {
        self.observe = Some(command);
        self
    }

    /// Sets the timeout of every step without its own.
    pub fn timeout(mut self, limit: Duration) -> ExecBackend {
        self.default_timeout = Some(limit);
        self
    }

    /// Sets the timeout of one step.
    pub fn step_timeout(mut self, step: Step, limit: Duration) -> ExecBackend {
        self.timeouts.insert(step, limit);
        self
    }

    fn limit(&self, step: Step) -> Duration {
        self.timeouts
            .get(&step)
            .copied()
            .or(self.default_timeout)
            .unwrap_or(DEFAULT_STEP_TIMEOUT)
    }

    fn step_cmd(&self, step: Step, mv: &Move, ctx: &StepContext<'_>) -> Result<(), BackendError> {
        let Some(cmd) = self.steps.get(&step) else {
            if step == Step::Transfer {
                return Err(BackendError::Unsupported {
                    backend: "exec",
                    step,
                });
            }
            return Ok(());
        };
        let doc = serde_json::to_vec(&StdinDoc {
            step,
            attempt: ctx.attempt,
            mv,
        })
        .map_err(|e| BackendError::Protocol(format!("cannot encode the move: {e}")))?;
        let mut on_line = |line: &str| -> Result<(), BackendError> {
            match parse_progress(line)? {
                Some(p) => ctx.progress(p),
                None => ctx.log(line),
            }
            Ok(())
        };
        run(
            cmd,
            step,
            mv.name(),
            ctx.attempt,
            &doc,
            self.limit(step),
            &|| ctx.is_cancelled(),
            &mut on_line,
        )
    }
}

impl Backend for ExecBackend {
    fn kind(&self) -> &'static str {
        "exec"
    }

    fn prepare(&self, mv: &Move, ctx: &StepContext<'_>) -> Result<(), BackendError> {
        self.step_cmd(Step::Prepare, mv, ctx)
    }

    fn transfer(&self, mv: &Move, ctx: &StepContext<'_>) -> Result<(), BackendError> {
        self.step_cmd(Step::Transfer, mv, ctx)
    }

    fn cutover(&self, mv: &Move, ctx: &StepContext<'_>) -> Result<(), BackendError> {
        self.step_cmd(Step::Cutover, mv, ctx)
    }

    fn rollback(&self, mv: &Move, ctx: &StepContext<'_>) -> Result<(), BackendError> {
        self.step_cmd(Step::Rollback, mv, ctx)
    }

    fn observe(&self, mv: &Move) -> Result<Observation, BackendError> {
        let Some(cmd) = &self.observe else {
            return Ok(Observation::UNKNOWN);
        };
        let doc = serde_json::to_vec(mv)
            .map_err(|e| BackendError::Protocol(format!("cannot encode the move: {e}")))?;
        let mut out = String::new();
        // Observing is a query: it shares the rollback step's timeout.
        run(
            cmd,
            Step::Rollback,
            mv.name(),
            0,
            &doc,
            self.limit(Step::Rollback),
            &|| false,
            &mut |line| {
                out.push_str(line);
                out.push('\n');
                Ok(())
            },
        )?;
        let d: ObserveDoc = serde_json::from_str(out.trim()).map_err(|e| {
            BackendError::Protocol(format!("observe printed {:?}: {e}", out.trim()))
        })?;
        Ok(Observation {
            source: d.source,
            destination: d.destination,
            transfer: d.transfer,
        })
    }
}

/// Parses a stdout line: `Some` for a progress report, `None` for any other
/// line, an error for a malformed progress report.
pub fn parse_progress(line: &str) -> Result<Option<TransferProgress>, BackendError> {
    let line = line.trim();
    if line.starts_with('{') {
        return match serde_json::from_str::<TransferProgress>(line) {
            Ok(p) => Ok(Some(p)),
            // A JSON line without "sent" is someone's log output, not ours.
            Err(_) if !line.contains("\"sent\"") => Ok(None),
            Err(e) => Err(BackendError::Protocol(format!(
                "bad progress line {line:?}: {e}"
            ))),
        };
    }
    let mut words = line.split_whitespace();
    if words.next() != Some("progress") {
        return Ok(None);
    }
    let bad = |why: &str| BackendError::Protocol(format!("bad progress line {line:?}: {why}"));
    let num = |w: Option<&str>, what: &str| -> Result<u64, BackendError> {
        w.ok_or_else(|| bad(&format!("{what} is missing")))?
            .parse::<u64>()
            .map_err(|_| bad(&format!("{what} is not a byte count")))
    };
    let mut p = TransferProgress {
        sent: num(words.next(), "SENT")?,
        ..TransferProgress::default()
    };
    p.total = match words.next() {
        Some("-") => None,
        w => Some(num(w, "TOTAL")?),
    };
    for w in words {
        let (k, v) = w
            .split_once('=')
            .ok_or_else(|| bad(&format!("{w:?} is not key=value")))?;
        match k {
            "remaining" => p.remaining = Some(num(Some(v), k)?),
            "dirty_rate" => p.dirty_rate = Some(num(Some(v), k)?),
            "expected_downtime_ms" => p.expected_downtime_ms = Some(num(Some(v), k)?),
            "downtime_ms" => p.downtime_ms = Some(num(Some(v), k)?),
            "phase" => p.phase = Some(v.to_string()),
            _ => return Err(bad(&format!("unknown key {k:?}"))),
        }
    }
    Ok(Some(p))
}

/// Kills the process group led by `child` (the step and everything it started
/// without leaving the group), then reaps the leader.
fn kill_group(child: &mut Child) {
    let pgid = child.id() as libc::pid_t;
    // SAFETY: kill(2) with a negative pid signals the process group we created
    // with process_group(0); it touches no memory.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Runs `cmd` for `step` with `stdin` as its input; each stdout line goes to
/// `on_line`. Bounded by `limit`; stopped when `cancelled` turns true.
#[allow(clippy::too_many_arguments)]
fn run(
    cmd: &ExecCommand,
    step: Step,
    vm: &str,
    attempt: u32,
    stdin: &[u8],
    limit: Duration,
    cancelled: &dyn Fn() -> bool,
    on_line: &mut dyn FnMut(&str) -> Result<(), BackendError>,
) -> Result<(), BackendError> {
    let mut child = Command::new(&cmd.program)
        .args(&cmd.args)
        .env("CONVOY_STEP", step.as_str())
        .env("CONVOY_VM", vm)
        .env("CONVOY_ATTEMPT", attempt.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so that a timeout kills what it started too.
        .process_group(0)
        .spawn()
        .map_err(|source| BackendError::Spawn {
            program: cmd.program.display().to_string(),
            source,
        })?;
    let start = Instant::now();

    // Feed stdin from a thread: a program that does not read it must not
    // block us once the pipe is full.
    let mut input = child.stdin.take().expect("stdin is piped");
    let doc = stdin.to_vec();
    std::thread::spawn(move || {
        let _ = input.write_all(&doc);
    });
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().expect("stdout is piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(l) => {
                    if tx.send(l).is_err() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    });
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let (etx, erx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        let text = String::from_utf8_lossy(&buf);
        let cut = text.len().saturating_sub(STDERR_TAIL);
        let cut = (cut..=text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        let _ = etx.send(text[cut..].to_string());
    });

    let status = loop {
        if cancelled() {
            kill_group(&mut child);
            return Err(BackendError::Cancelled);
        }
        if start.elapsed() >= limit {
            kill_group(&mut child);
            return Err(BackendError::Timeout { step, after: limit });
        }
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(line) => {
                if let Err(e) = on_line(&line) {
                    kill_group(&mut child);
                    return Err(e);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) | Err(mpsc::RecvTimeoutError::Disconnected) => {}
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                kill_group(&mut child);
                return Err(BackendError::io(format!("waiting for {step}"), e));
            }
        }
    };
    // The step has exited: read what is left of its output. A process it
    // left behind may hold stdout open, so this wait is bounded.
    let grace = Instant::now() + Duration::from_secs(2);
    while let Some(left) = grace.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => on_line(&line)?,
            Err(_) => break,
        }
    }
    let err_tail = || erx.recv_timeout(Duration::from_secs(1)).unwrap_or_default();
    if status.success() {
        return Ok(());
    }
    if let Some(code) = status.code() {
        return Err(BackendError::Exit {
            step,
            code,
            stderr: err_tail(),
        });
    }
    Err(BackendError::Signal {
        step,
        signal: status.signal().unwrap_or(0),
        stderr: err_tail(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Event;
    use crate::journal::Journal;
    use crate::mover::Mover;
    use crate::state::State;
    use crate::MigrateError;
    use std::path::Path;
    use std::sync::{Arc, Mutex};

    fn vm(name: &str) -> convoy_model::Vm {
        convoy_model::Vm {
            name: name.into(),
            site: "dc".into(),
            node: "h1".into(),
            vcpus: 1,
            memory_mib: 64,
            disk_gib: 0,
            addresses: vec![],
            dirty_mib_per_s: None,
            group: None,
            pinned: false,
        }
    }

    /// A script run through `sh` (not exec'd, which avoids ETXTBSY races
    /// with other tests' forks while the file was open for writing).
    fn script(dir: &Path, name: &str, body: &str) -> ExecCommand {
        let path = dir.join(name);
        std::fs::write(&path, format!("set -e\n{body}\n")).unwrap();
        ExecCommand::new("/bin/sh", [path.display().to_string()])
    }

    fn collect() -> (Arc<Mutex<Vec<Event>>>, Arc<dyn crate::Reporter>) {
        let events = Arc::new(Mutex::new(Vec::new()));
        let ev = events.clone();
        (
            events,
            Arc::new(move |e: &Event| ev.lock().unwrap().push(e.clone())),
        )
    }

    #[test]
    fn a_move_runs_each_step_with_the_vm_on_stdin_and_reports_progress() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let log = |step: &str| {
            format!("cat > {d}/{step}.json; echo \"$CONVOY_STEP $CONVOY_VM $CONVOY_ATTEMPT\" >> {d}/log")
        };
        let backend = ExecBackend::new()
            .step(Step::Prepare, script(dir.path(), "p.sh", &log("prepare")))
            .step(
                Step::Transfer,
                script(
                    dir.path(),
                    "t.sh",
                    &format!(
                        "{}\necho starting\necho 'progress 1024 4096 remaining=3072 dirty_rate=10 phase=memory'\n\
                         echo '{{\"sent\": 4096, \"total\": 4096, \"expected_downtime_ms\": 30}}'",
                        log("transfer")
                    ),
                ),
            )
            .step(Step::Cutover, script(dir.path(), "c.sh", &log("cutover")))
            .timeout(Duration::from_secs(60));
        let (events, reporter) = collect();
        let m = Mover::new(Journal::in_memory().unwrap(), backend).with_reporter(reporter);
        let e = m.migrate(&Move::new(vm("web"), "cloud", "c1")).unwrap();
        assert_eq!(e.state, State::Done);
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
        assert_eq!(log, "prepare web 1\ntransfer web 1\ncutover web 1\n");
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("transfer.json")).unwrap())
                .unwrap();
        assert_eq!(doc["step"], "transfer");
        assert_eq!(doc["vm"]["name"], "web");
        assert_eq!(doc["vm"]["memory_mib"], 64);
        assert_eq!(doc["to_node"], "c1");
        let events = events.lock().unwrap();
        let progress: Vec<&TransferProgress> = events
            .iter()
            .filter_map(|e| match e {
                Event::Progress { progress, .. } => Some(progress),
                _ => None,
            })
            .collect();
        assert_eq!(progress.len(), 2);
        assert_eq!(
            (progress[0].sent, progress[0].total, progress[0].remaining),
            (1024, Some(4096), Some(3072))
        );
        assert_eq!(progress[0].dirty_rate, Some(10));
        assert_eq!(progress[0].phase.as_deref(), Some("memory"));
        assert_eq!(progress[1].expected_downtime_ms, Some(30));
        assert!(events.iter().any(
            |e| matches!(e, Event::Log { line, step: Step::Transfer, .. } if line == "starting")
        ));
    }

    #[test]
    fn a_failing_transfer_is_rolled_back_with_its_status_and_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let backend = ExecBackend::new()
            .step(
                Step::Transfer,
                script(dir.path(), "t.sh", "echo 'quota exceeded' >&2\nexit 3"),
            )
            .step(
                Step::Rollback,
                script(dir.path(), "r.sh", &format!("touch {d}/rolled-back")),
            );
        let m = Mover::new(Journal::in_memory().unwrap(), backend);
        let err = m.migrate(&Move::new(vm("db"), "cloud", "c1")).unwrap_err();
        match err {
            MigrateError::Failed {
                step: Step::Transfer,
                state: State::Failed,
                source:
                    BackendError::Exit {
                        code: 3, stderr, ..
                    },
                ..
            } => assert_eq!(stderr.trim(), "quota exceeded"),
            other => panic!("{other}"),
        }
        assert!(dir.path().join("rolled-back").exists());
    }

    fn ctx_run(backend: &ExecBackend, step: Step) -> Result<(), BackendError> {
        let cancel = std::sync::atomic::AtomicBool::new(false);
        let ctx = StepContext::new("a", step, 1, &crate::NoReport, &cancel);
        crate::backend::run_step(backend, step, &Move::new(vm("a"), "cloud", "c1"), &ctx)
    }

    fn alive(pid: u32) -> bool {
        // A zombie (state Z) has finished; in a container nobody may reap it.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                let state = s.rsplit(')').next().unwrap_or("").trim_start();
                !state.starts_with('Z')
            })
            .unwrap_or(false)
    }

    #[test]
    fn a_step_past_its_timeout_is_killed_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let backend = ExecBackend::new()
            .step(
                Step::Transfer,
                script(
                    dir.path(),
                    "t.sh",
                    &format!("sleep 60 &\necho $! > {d}/child\nwait"),
                ),
            )
            .step_timeout(Step::Transfer, Duration::from_millis(500));
        let err = ctx_run(&backend, Step::Transfer).unwrap_err();
        assert!(
            matches!(
                err,
                BackendError::Timeout {
                    step: Step::Transfer,
                    ..
                }
            ),
            "{err}"
        );
        let pid: u32 = std::fs::read_to_string(dir.path().join("child"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // SIGKILL is delivered before kill(2) returns, but the process may
        // take a moment to be torn down.
        let mut tries = 0;
        while alive(pid) && tries < 500 {
            std::thread::sleep(Duration::from_millis(10));
            tries += 1;
        }
        assert!(!alive(pid), "the step's child {pid} survived");
    }

    #[test]
    fn signals_missing_programs_and_bad_progress_are_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        let b =
            ExecBackend::new().step(Step::Transfer, script(dir.path(), "s.sh", "kill -TERM $$"));
        assert!(matches!(
            ctx_run(&b, Step::Transfer),
            Err(BackendError::Signal { signal: 15, .. })
        ));
        let b = ExecBackend::new().step(
            Step::Transfer,
            ExecCommand::new(dir.path().join("nonexistent"), Vec::<String>::new()),
        );
        assert!(matches!(
            ctx_run(&b, Step::Transfer),
            Err(BackendError::Spawn { .. })
        ));
        let b = ExecBackend::new().step(
            Step::Transfer,
            script(dir.path(), "b.sh", "echo 'progress lots'\nsleep 5"),
        );
        assert!(matches!(
            ctx_run(&b, Step::Transfer),
            Err(BackendError::Protocol(_))
        ));
        // No transfer command: refused; no prepare command: nothing to do.
        let b = ExecBackend::new();
        assert!(matches!(
            ctx_run(&b, Step::Transfer),
            Err(BackendError::Unsupported { .. })
        ));
        assert!(ctx_run(&b, Step::Prepare).is_ok());
    }

    #[test]
    fn observe_reads_one_json_object() {
        let dir = tempfile::tempdir().unwrap();
        let b = ExecBackend::new().observe_with(script(
            dir.path(),
            "o.sh",
            r#"echo '{"source": "paused", "transfer": "completed"}'"#,
        ));
        let o = b.observe(&Move::new(vm("a"), "cloud", "c1")).unwrap();
        assert_eq!(
            o,
            Observation {
                source: Presence::Paused,
                destination: Presence::Unknown,
                transfer: TransferStatus::Completed
            }
        );
        let b = ExecBackend::new().observe_with(script(dir.path(), "x.sh", "echo nonsense"));
        assert!(matches!(
            b.observe(&Move::new(vm("a"), "cloud", "c1")),
            Err(BackendError::Protocol(_))
        ));
        assert_eq!(
            ExecBackend::new()
                .observe(&Move::new(vm("a"), "cloud", "c1"))
                .unwrap(),
            Observation::UNKNOWN
        );
    }

    #[test]
    fn single_program_gets_the_step_as_first_argument() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let path = dir.path().join("all.sh");
        std::fs::write(
            &path,
            format!("case \"$1\" in observe) echo '{{}}';; *) echo \"$1\" >> {d}/log;; esac\n"),
        )
        .unwrap();
        // `single` runs the program itself; run it through sh by prefixing.
        let mut b = ExecBackend::single("/bin/sh");
        for cmd in b.steps.values_mut().chain(b.observe.iter_mut()) {
            cmd.args.insert(0, path.display().to_string());
        }
        let m = Mover::new(Journal::in_memory().unwrap(), b);
        assert_eq!(
            m.migrate(&Move::new(vm("a"), "cloud", "c1")).unwrap().state,
            State::Done
        );
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
        assert_eq!(log, "prepare\ntransfer\ncutover\n");
    }

    #[test]
    fn progress_lines_parse() {
        let p = parse_progress("progress 10 -").unwrap().unwrap();
        assert_eq!((p.sent, p.total), (10, None));
        assert!(parse_progress("hello").unwrap().is_none());
        assert!(parse_progress(r#"{"level": "info"}"#).unwrap().is_none());
        assert!(parse_progress(r#"{"sent": "x"}"#).is_err());
        assert!(parse_progress("progress 1 2 color=red").is_err());
        assert!(parse_progress("progress").is_err());
    }
}
