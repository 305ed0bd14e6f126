//! A QMP client: the QEMU Machine Protocol over a unix socket.
//!
//! The protocol (QEMU's `docs/interop/qmp-spec`): on connection the server
//! sends a greeting `{"QMP": {"version": …, "capabilities": […]}}`; the client
//! leaves capabilities negotiation with `qmp_capabilities`; then each command
//! `{"execute": NAME, "arguments": {…}, "id": N}` gets one reply
//! `{"return": …, "id": N}` or `{"error": {"class", "desc"}, "id": N}`, and
//! asynchronous events `{"event": NAME, "data": …, "timestamp": …}` may come
//! in between at any time.
//!
//! Blocking `std` I/O rather than an async runtime: one socket per QEMU
//! process, a handful of small request/reply exchanges a second, and the
//! mover already gives each VM its own thread; socket read timeouts give every
//! call a bound. Callers that live in an async runtime wrap calls in their
//! runtime's blocking pool. Events that arrive while a reply is awaited are
//! queued, not lost, and read with [`Qmp::take_events`] or [`Qmp::wait_event`].

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long a command may take to answer, unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a QMP exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum QmpError {
    /// The socket could not be connected.
    #[error("cannot connect to {path}: {source}")]
    Connect {
        /// The socket.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Reading or writing the socket failed.
    #[error("socket I/O: {0}")]
    Io(#[from] io::Error),
    /// QEMU closed the connection (it exited, or was killed).
    #[error("connection closed by QEMU")]
    Closed,
    /// No answer in time.
    #[error("no answer to {what} within {after:?}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The limit.
        after: Duration,
    },
    /// A message that does not follow the protocol.
    #[error("protocol: {0}")]
    Protocol(String),
    /// QEMU refused the command.
    #[error("{command}: {class}: {desc}")]
    Command {
        /// The command.
        command: String,
        /// QEMU's error class (GenericError, DeviceNotFound, …).
        class: String,
        /// QEMU's description.
        desc: String,
    },
}

/// An asynchronous event.
#[derive(Debug, Clone, PartialEq)]
pub struct QmpEvent {
    /// The event's name, e.g. `MIGRATION` or `BLOCK_JOB_READY`.
    pub name: String,
    /// Its data (`null` when it has none).
    pub data: Value,
    /// QEMU's timestamp, seconds since the epoch.
    pub timestamp: f64,
}

/// A connected QMP session, out of capabilities negotiation.
#[derive(Debug)]
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    partial: Vec<u8>,
    events: VecDeque<QmpEvent>,
    next_id: u64,
    greeting: Value,
    timeout: Duration,
}

impl Qmp {
    /// Connects to the socket at `path`, reads the greeting and negotiates
    /// capabilities. Each exchange is bounded by `timeout`.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Qmp, QmpError> {
        let stream = UnixStream::connect(path).map_err(|source| QmpError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
        let writer = stream.try_clone()?;
        writer.set_write_timeout(Some(timeout))?;
        let mut qmp = Qmp {
            reader: BufReader::new(stream),
            writer,
            partial: Vec::new(),
            events: VecDeque::new(),
            next_id: 1,
            greeting: Value::Null,
            timeout,
        };
        let deadline = Instant::now() + timeout;
        // QEMU can flush an event meant for the previous client onto a new
        // connection before its greeting (seen once in CI: a block job's
        // JOB_STATUS_CHANGE right after the mover reconnected); keep such
        // events like any other rather than fail the move.
        let greeting = loop {
            let message = qmp.read_message(deadline, "the greeting")?;
            if message.get("QMP").is_some() {
                break message;
            }
            if !qmp.queue_if_event(&message) {
                return Err(QmpError::Protocol(format!(
                    "expected a greeting, got {message}"
                )));
            }
        };
        qmp.greeting = greeting;
        qmp.execute("qmp_capabilities", Value::Null)?;
        Ok(qmp)
    }

    /// Like [`Qmp::connect`], but keeps trying until `wait` has passed: QEMU
    /// creates its socket a moment after it starts.
    pub fn connect_retry(path: &Path, wait: Duration, timeout: Duration) -> Result<Qmp, QmpError> {
        let deadline = Instant::now() + wait;
        loop {
            match Qmp::connect(path, timeout) {
                Ok(q) => return Ok(q),
                Err(QmpError::Connect { .. }) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The greeting QEMU sent.
    pub fn greeting(&self) -> &Value {
        &self.greeting
    }

    /// QEMU's version (major, minor, micro), from the greeting.
    pub fn version(&self) -> Option<(u64, u64, u64)> {
        let v = self.greeting.pointer("/QMP/version/qemu")?;
        Some((
            v.get("major")?.as_u64()?,
            v.get("minor")?.as_u64()?,
            v.get("micro")?.as_u64()?,
        ))
    }

    /// Runs `command` with `arguments` (`Value::Null` for none) and returns
    /// its `return` value; events received meanwhile are queued.
    pub fn execute(&mut self, command: &str, arguments: Value) -> Result<Value, QmpError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({ "execute": command, "id": id });
        if !arguments.is_null() {
            msg["arguments"] = arguments;
        }
        let mut line = msg.to_string();
        line.push('\n');
        self.writer.write_all(line.as_bytes()).map_err(closed)?;
        let deadline = Instant::now() + self.timeout;
        loop {
            let reply = self.read_message(deadline, command)?;
            if self.queue_if_event(&reply) {
                continue;
            }
            if reply.get("id").and_then(Value::as_u64) != Some(id) {
                // A reply to a command whose caller gave up (timed out): drop it.
                continue;
            }
            if let Some(ret) = reply.get("return") {
                return Ok(ret.clone());
            }
            if let Some(err) = reply.get("error") {
                let field = |k: &str| err.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                return Err(QmpError::Command {
                    command: command.to_string(),
                    class: field("class"),
                    desc: field("desc"),
                });
            }
            return Err(QmpError::Protocol(format!("unexpected reply {reply}")));
        }
    }

    /// The events received so far, oldest first, without waiting.
    pub fn take_events(&mut self) -> Vec<QmpEvent> {
        self.events.drain(..).collect()
    }

    /// Waits up to `timeout` for an event that `want` accepts and returns it;
    /// other events stay queued.
    pub fn wait_event(
        &mut self,
        want: impl Fn(&QmpEvent) -> bool,
        timeout: Duration,
    ) -> Result<QmpEvent, QmpError> {
        if let Some(i) = self.events.iter().position(&want) {
            return Ok(self.events.remove(i).expect("index from position"));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let msg = self.read_message(deadline, "an event")?;
            if self.queue_if_event(&msg) {
                let last = self.events.back().expect("just queued");
                if want(last) {
                    return Ok(self.events.pop_back().expect("just queued"));
                }
            }
        }
    }

    fn queue_if_event(&mut self, msg: &Value) -> bool {
        let Some(name) = msg.get("event").and_then(Value::as_str) else {
            return false;
        };
        let ts = msg.get("timestamp");
        let part = |k: &str| {
            ts.and_then(|t| t.get(k))
                .and_then(Value::as_f64)
                .unwrap_or(0.0)
        };
        self.events.push_back(QmpEvent {
            name: name.to_string(),
            data: msg.get("data").cloned().unwrap_or(Value::Null),
            timestamp: part("seconds") + part("microseconds") * 1e-6,
        });
        true
    }

    /// Reads one JSON message, waiting at most until `deadline`.
    fn read_message(&mut self, deadline: Instant, what: &str) -> Result<Value, QmpError> {
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(QmpError::Timeout {
                    what: what.to_string(),
                    after: self.timeout,
                });
            }
            self.reader
                .get_ref()
                .set_read_timeout(Some(deadline - now))?;
            // read_until keeps what it read before a timeout in `partial`, so a
            // message split across two reads is not lost.
            match self.reader.read_until(b'\n', &mut self.partial) {
                Ok(0) => return Err(QmpError::Closed),
                Ok(_) if self.partial.ends_with(b"\n") => {
                    let line = std::mem::take(&mut self.partial);
                    let text = String::from_utf8_lossy(&line);
                    if text.trim().is_empty() {
                        continue;
                    }
                    return serde_json::from_str(text.trim()).map_err(|e| {
                        QmpError::Protocol(format!("invalid JSON from QEMU ({e}): {}", text.trim()))
                    });
                }
                Ok(_) => return Err(QmpError::Closed),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(closed(e)),
            }
        }
    }
}

fn closed(e: io::Error) -> QmpError {
    match e.kind() {
        io::ErrorKind::BrokenPipe
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::UnexpectedEof => QmpError::Closed,
        _ => QmpError::Io(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixListener;

    /// A fake QMP server following a script: for each command it receives it
    /// writes the given lines (events and replies, `ID` replaced by the id;
    /// `SLEEP` waits 600 ms), then closes the connection.
    fn serve(
        listener: UnixListener,
        script: Vec<Vec<String>>,
    ) -> std::thread::JoinHandle<Vec<Value>> {
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut w = stream.try_clone().unwrap();
            let mut r = BufReader::new(stream);
            // The client may already have refused `before` and hung up.
            let _ = writeln!(
                w,
                r#"{{"QMP": {{"version": {{"qemu": {{"micro": 2, "minor": 0, "major": 10}}, "package": ""}}, "capabilities": []}}}}"#
            );
            let mut got = Vec::new();
            for lines in script {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap() == 0 {
                    break;
                }
                let cmd: Value = serde_json::from_str(&line).unwrap();
                let id = cmd["id"].to_string();
                got.push(cmd);
                for l in lines {
                    if l == "SLEEP" {
                        std::thread::sleep(Duration::from_millis(600));
                        continue;
                    }
                    // Split writes exercise the reader's handling of partial lines.
                    let l = l.replace("ID", &id);
                    let (a, b) = l.split_at(l.len() / 2);
                    w.write_all(a.as_bytes()).unwrap();
                    w.flush().unwrap();
                    std::thread::sleep(Duration::from_millis(5));
                    writeln!(w, "{b}").unwrap();
                }
            }
            got
        })
    }

    #[test]
    fn negotiates_runs_commands_and_queues_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qmp.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let server = serve(
            listener,
            vec![
                vec![r#"{"return": {}, "id": ID}"#.into()],
                vec![
                    r#"{"event": "STOP", "data": {}, "timestamp": {"seconds": 10, "microseconds": 500000}}"#.into(),
                    r#"{"return": {"status": "paused", "running": false}, "id": ID}"#.into(),
                ],
                vec![r#"{"error": {"class": "GenericError", "desc": "no such thing"}, "id": ID}"#.into()],
            ],
        );
        let mut q = Qmp::connect(&path, Duration::from_secs(5)).unwrap();
        assert_eq!(q.version(), Some((10, 0, 2)));
        let st = q.execute("query-status", Value::Null).unwrap();
        assert_eq!(st["status"], "paused");
        let err = q.execute("frobnicate", json!({"x": 1})).unwrap_err();
        assert!(
            matches!(&err, QmpError::Command { class, desc, .. } if class == "GenericError" && desc == "no such thing"),
            "{err:?}"
        );
        let ev = q
            .wait_event(|e| e.name == "STOP", Duration::from_secs(1))
            .unwrap();
        assert_eq!(ev.timestamp, 10.5);
        assert!(q.take_events().is_empty());
        let got = server.join().unwrap();
        assert_eq!(got[0]["execute"], "qmp_capabilities");
        assert_eq!(got[2]["arguments"]["x"], 1);
    }

    /// A server that writes `before` ahead of its greeting, then answers
    /// `qmp_capabilities`.
    fn greet_late(listener: UnixListener, before: &'static str) -> std::thread::JoinHandle<()> {
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut w = stream.try_clone().unwrap();
            let mut r = BufReader::new(stream);
            writeln!(w, "{before}").unwrap();
            // The client may already have refused `before` and hung up.
            let _ = writeln!(
                w,
                r#"{{"QMP": {{"version": {{"qemu": {{"micro": 2, "minor": 0, "major": 10}}, "package": ""}}, "capabilities": []}}}}"#
            );
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) > 0 {
                let cmd: Value = serde_json::from_str(&line).unwrap();
                let _ = writeln!(w, r#"{{"return": {{}}, "id": {}}}"#, cmd["id"]);
            }
        })
    }

    #[test]
    fn an_event_before_the_greeting_is_queued_and_anything_else_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qmp.sock");
        let server = greet_late(
            UnixListener::bind(&path).unwrap(),
            r#"{"event": "JOB_STATUS_CHANGE", "data": {"id": "j", "status": "waiting"}, "timestamp": {"seconds": 1, "microseconds": 0}}"#,
        );
        let mut q = Qmp::connect(&path, Duration::from_secs(5)).unwrap();
        assert_eq!(q.version(), Some((10, 0, 2)));
        let events = q.take_events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].name, "JOB_STATUS_CHANGE");
        server.join().unwrap();

        let path = dir.path().join("qmp2.sock");
        let server = greet_late(UnixListener::bind(&path).unwrap(), r#"{"return": {}}"#);
        let err = Qmp::connect(&path, Duration::from_secs(5)).unwrap_err();
        assert!(matches!(err, QmpError::Protocol(_)), "{err:?}");
        server.join().unwrap();
    }

    #[test]
    fn a_silent_server_times_out_and_a_closed_one_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qmp.sock");
        let listener = UnixListener::bind(&path).unwrap();
        // Greets, acknowledges capabilities, then never answers.
        let server = serve(
            listener,
            vec![
                vec![r#"{"return": {}, "id": ID}"#.into()],
                vec!["SLEEP".into()],
            ],
        );
        let mut q = Qmp::connect(&path, Duration::from_millis(300)).unwrap();
        let err = q.execute("query-status", Value::Null).unwrap_err();
        assert!(matches!(err, QmpError::Timeout { .. }), "{err:?}");
        server.join().unwrap();
        let err = q.execute("query-status", Value::Null).unwrap_err();
        assert!(matches!(err, QmpError::Closed), "{err:?}");
    }

    #[test]
    fn no_socket_is_a_connect_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = Qmp::connect(&dir.path().join("none"), DEFAULT_TIMEOUT).unwrap_err();
        assert!(matches!(err, QmpError::Connect { .. }));
    }
}
