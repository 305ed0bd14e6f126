//! The journal: a SQLite file that records every state change of every move
//! *before* the change is acted on, so that a mover killed at any instant
//! finds, when restarted, the step each VM was in.
//!
//! Durability: write-ahead logging with `synchronous=FULL`, so that each
//! committed transition is fsync'd before [`Journal::transition`] returns; a
//! transition and its history row are one transaction.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::backend::Move;
use crate::error::JournalError;
use crate::state::State;

/// One VM's row: where its move stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The VM's name.
    pub vm: String,
    /// The journaled state.
    pub state: State,
    /// How many times the move was started (0 while Pending).
    pub attempt: u32,
    /// For Failed and RolledBack: whether the rollback has completed (the
    /// destination is gone). True in every other state.
    pub cleaned: bool,
    /// The move as registered.
    pub spec: Move,
    /// The error behind the last Failed or RolledBack.
    pub error: Option<String>,
}

/// One row of a VM's history.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// Order of writing, increasing across all VMs.
    pub seq: i64,
    /// The VM.
    pub vm: String,
    /// The state before (None when the VM was registered).
    pub from: Option<State>,
    /// The state after.
    pub to: State,
    /// The attempt number after.
    pub attempt: u32,
    /// The error recorded with it.
    pub error: Option<String>,
    /// Wall-clock time of writing, ms since the Unix epoch (for people).
    pub at_ms: i64,
}

/// The SQLite journal of moves.
#[derive(Debug)]
pub struct Journal {
    conn: Connection,
    path: PathBuf,
    /// Held open with an exclusive flock(2) for the journal's lifetime: one
    /// mover per journal, and the kernel releases it if the mover is killed.
    _lock: Option<std::fs::File>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS moves (
    vm TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    cleaned INTEGER NOT NULL,
    spec TEXT NOT NULL,
    error TEXT,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS transitions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    vm TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    error TEXT,
    at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_vm ON transitions(vm, seq);
";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

type Row = (String, String, i64, i64, String, Option<String>);

/// How long [`Journal::open`] waits for another holder of the journal to
/// let go before refusing it as a second mover.
pub const LOCK_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

impl Journal {
    /// Opens (creating if needed) the journal at `path`.
    ///
    /// Only one `Journal` may have a file open at a time (two movers acting
    /// on the same moves could do them twice): a second open waits up to
    /// [`LOCK_GRACE`] and then fails with [`JournalError::Locked`], until the
    /// first is dropped or its process dies.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let lock_path = {
            let mut p = path.as_os_str().to_owned();
            p.push(".lock");
            PathBuf::from(p)
        };
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| JournalError::Corrupt {
                path: path.to_path_buf(),
                detail: format!("cannot open {}: {e}", lock_path.display()),
            })?;
        // Another holder is waited for a moment before it counts as a second
        // mover: a process that is exiting, or any child forked while the
        // lock's descriptor was open (it shares the lock until its exec
        // closes it), still holds the lock briefly after its owner let go.
        let deadline = std::time::Instant::now() + LOCK_GRACE;
        loop {
            // SAFETY: flock(2) on a descriptor we own; it touches no memory.
            let r = unsafe {
                libc::flock(
                    std::os::unix::io::AsRawFd::as_raw_fd(&lock),
                    libc::LOCK_EX | libc::LOCK_NB,
                )
            };
            if r == 0 {
                break;
            }
            let err = std::io::Error::last_os_error();
            match err.kind() {
                std::io::ErrorKind::Interrupted => continue,
                std::io::ErrorKind::WouldBlock if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                std::io::ErrorKind::WouldBlock => {
                    return Err(JournalError::Locked(path.to_path_buf()))
                }
                _ => {
                    return Err(JournalError::Corrupt {
                        path: path.to_path_buf(),
                        detail: format!("cannot lock {}: {err}", lock_path.display()),
                    })
                }
            }
        }
        let conn = Connection::open(path).map_err(|source| JournalError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
        Journal::init(conn, path.to_path_buf(), Some(lock))
    }

    /// A journal that lives in memory only (for tests and dry runs).
    pub fn in_memory() -> Result<Journal, JournalError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| JournalError::Sqlite {
            path: path.clone(),
            source,
        })?;
        Journal::init(conn, path, None)
    }

    fn init(
        conn: Connection,
        path: PathBuf,
        lock: Option<std::fs::File>,
    ) -> Result<Journal, JournalError> {
        let j = Journal {
            conn,
            path,
            _lock: lock,
        };
        j.conn
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| j.err(e))?;
        // WAL: a commit appends to the log; FULL: the log is fsync'd at every
        // commit, so a returned transition survives a power cut, not only a
        // crash of the process.
        let _mode: String = j
            .conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| j.err(e))?;
        j.conn
            .execute_batch("PRAGMA synchronous=FULL;")
            .map_err(|e| j.err(e))?;
        j.conn.execute_batch(SCHEMA).map_err(|e| j.err(e))?;
        Ok(j)
    }

    fn err(&self, source: rusqlite::Error) -> JournalError {
        JournalError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// The journal's file (`:memory:` for an in-memory one).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// SQLite's `journal_mode` and `synchronous` settings in force, for checks.
    pub fn durability(&self) -> Result<(String, i64), JournalError> {
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let sync: i64 = self
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        Ok((mode, sync))
    }

    fn entry_from(path: &Path, row: Row) -> Result<Entry, JournalError> {
        let (vm, state, attempt, cleaned, spec, error) = row;
        let corrupt = |detail: String| JournalError::Corrupt {
            path: path.to_path_buf(),
            detail,
        };
        let state = state
            .parse::<State>()
            .map_err(|e| corrupt(format!("VM {vm}: {e}")))?;
        let spec: Move = serde_json::from_str(&spec)
            .map_err(|e| corrupt(format!("VM {vm}: unreadable move description: {e}")))?;
        Ok(Entry {
            vm,
            state,
            attempt: u32::try_from(attempt).unwrap_or(0),
            cleaned: cleaned != 0,
            spec,
            error,
        })
    }

    fn read(conn: &Connection, vm: &str) -> rusqlite::Result<Option<Row>> {
        conn.query_row(
            "SELECT vm, state, attempt, cleaned, spec, error FROM moves WHERE vm = ?1",
            [vm],
            |r| Row::try_from(r),
        )
        .optional()
    }

    /// The VM's entry, if it has one.
    pub fn get(&self, vm: &str) -> Result<Option<Entry>, JournalError> {
        match Journal::read(&self.conn, vm).map_err(|e| self.err(e))? {
            Some(row) => Ok(Some(Journal::entry_from(&self.path, row)?)),
            None => Ok(None),
        }
    }

    /// Every entry, by VM name.
    pub fn entries(&self) -> Result<Vec<Entry>, JournalError> {
        let mut stmt = self
            .conn
            .prepare("SELECT vm, state, attempt, cleaned, spec, error FROM moves ORDER BY vm")
            .map_err(|e| self.err(e))?;
        let rows: Vec<Row> = stmt
            .query_map([], |r| Row::try_from(r))
            .and_then(|it| it.collect())
            .map_err(|e| self.err(e))?;
        drop(stmt);
        rows.into_iter()
            .map(|r| Journal::entry_from(&self.path, r))
            .collect()
    }

    /// Registers a move as Pending, or returns the VM's existing entry (so
    /// that running a plan again resumes it). A VM journaled with another
    /// destination is a conflict.
    pub fn register(&mut self, mv: &Move) -> Result<Entry, JournalError> {
        let path = self.path.clone();
        let err = |source| JournalError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        if let Some(row) = Journal::read(&tx, mv.name()).map_err(err)? {
            drop(tx);
            let entry = Journal::entry_from(&path, row)?;
            if entry.spec.to_site != mv.to_site || entry.spec.to_node != mv.to_node {
                return Err(JournalError::Conflict {
                    vm: entry.vm,
                    existing: entry.spec.destination(),
                    requested: mv.destination(),
                });
            }
            return Ok(entry);
        }
        let spec = serde_json::to_string(mv).map_err(|e| JournalError::Corrupt {
            path: path.clone(),
            detail: format!("cannot encode the move of {}: {e}", mv.name()),
        })?;
        let now = now_ms();
        tx.execute(
            "INSERT INTO moves (vm, state, attempt, cleaned, spec, error, updated_ms)
             VALUES (?1, ?2, 0, 1, ?3, NULL, ?4)",
            params![mv.name(), State::Pending.as_str(), spec, now],
        )
        .map_err(err)?;
        tx.execute(
            "INSERT INTO transitions (vm, from_state, to_state, attempt, error, at_ms)
             VALUES (?1, NULL, ?2, 0, NULL, ?3)",
            params![mv.name(), State::Pending.as_str(), now],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Entry {
            vm: mv.name().to_string(),
            state: State::Pending,
            attempt: 0,
            cleaned: true,
            spec: mv.clone(),
            error: None,
        })
    }

    /// Moves the VM to state `to`, durably, if the state machine allows it.
    /// Entering Preparing starts a new attempt; entering Failed or RolledBack
    /// records `error` and marks the VM as not yet cleaned up.
    pub fn transition(
        &mut self,
        vm: &str,
        to: State,
        error: Option<&str>,
    ) -> Result<Entry, JournalError> {
        let path = self.path.clone();
        let err = |source| JournalError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let row = Journal::read(&tx, vm)
            .map_err(err)?
            .ok_or_else(|| JournalError::UnknownVm(vm.to_string()))?;
        let mut entry = Journal::entry_from(&path, row)?;
        if !entry.state.can_become(to) {
            return Err(JournalError::IllegalTransition {
                vm: vm.to_string(),
                from: entry.state,
                to,
            });
        }
        let failed = matches!(to, State::Failed | State::RolledBack);
        if to == State::Preparing {
            entry.attempt += 1;
        }
        let error = if failed {
            error.map(str::to_string)
        } else {
            None
        };
        let now = now_ms();
        tx.execute(
            "UPDATE moves SET state = ?2, attempt = ?3, cleaned = ?4, error = COALESCE(?5, error),
             updated_ms = ?6 WHERE vm = ?1",
            params![vm, to.as_str(), entry.attempt, !failed, error, now],
        )
        .map_err(err)?;
        tx.execute(
            "INSERT INTO transitions (vm, from_state, to_state, attempt, error, at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                vm,
                entry.state.as_str(),
                to.as_str(),
                entry.attempt,
                error,
                now
            ],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        entry.state = to;
        entry.cleaned = !failed;
        if error.is_some() {
            entry.error = error;
        }
        Ok(entry)
    }

    /// Records that the rollback of a Failed or RolledBack VM has completed.
    pub fn mark_cleaned(&mut self, vm: &str) -> Result<Entry, JournalError> {
        let entry = self
            .get(vm)?
            .ok_or_else(|| JournalError::UnknownVm(vm.to_string()))?;
        if !matches!(entry.state, State::Failed | State::RolledBack) {
            return Err(JournalError::IllegalTransition {
                vm: vm.to_string(),
                from: entry.state,
                to: entry.state,
            });
        }
        self.conn
            .execute(
                "UPDATE moves SET cleaned = 1, updated_ms = ?2 WHERE vm = ?1",
                params![vm, now_ms()],
            )
            .map_err(|e| self.err(e))?;
        Ok(Entry {
            cleaned: true,
            ..entry
        })
    }

    /// The VM's transitions, oldest first.
    pub fn history(&self, vm: &str) -> Result<Vec<Transition>, JournalError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT seq, vm, from_state, to_state, attempt, error, at_ms FROM transitions
                 WHERE vm = ?1 ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        type Raw = (
            i64,
            String,
            Option<String>,
            String,
            i64,
            Option<String>,
            i64,
        );
        let rows: Vec<Raw> = stmt
            .query_map([vm], |r| Raw::try_from(r))
            .and_then(|it| it.collect())
            .map_err(|e| self.err(e))?;
        let corrupt = |detail: String| JournalError::Corrupt {
            path: self.path.clone(),
            detail,
        };
        rows.into_iter()
            .map(|(seq, vm, from, to, attempt, error, at_ms)| {
                let from = match from {
                    Some(f) => Some(f.parse::<State>().map_err(corrupt)?),
                    None => None,
                };
                Ok(Transition {
                    seq,
                    vm,
                    from,
                    to: to.parse::<State>().map_err(corrupt)?,
                    attempt: u32::try_from(attempt).unwrap_or(0),
                    error,
                    at_ms,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use convoy_model::Vm;

    pub(crate) fn vm(name: &str) -> Vm {
        Vm {
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

    #[test]
    fn durable_settings_are_in_force() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.db")).unwrap();
        let (mode, sync) = j.durability().unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(sync, 2, "synchronous=FULL");
    }

    #[test]
    fn transitions_are_checked_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.db");
        let mv = Move::new(vm("a"), "cloud", "c1");
        {
            let mut j = Journal::open(&path).unwrap();
            assert_eq!(j.register(&mv).unwrap().state, State::Pending);
            let err = j.transition("a", State::Done, None).unwrap_err();
            assert!(matches!(
                err,
                JournalError::IllegalTransition {
                    from: State::Pending,
                    to: State::Done,
                    ..
                }
            ));
            let e = j.transition("a", State::Preparing, None).unwrap();
            assert_eq!(e.attempt, 1);
            j.transition("a", State::Transferring, None).unwrap();
            let e = j.transition("a", State::Failed, Some("link down")).unwrap();
            assert!(!e.cleaned);
            assert!(j.transition("a", State::Cutover, None).is_err());
        }
        let mut j = Journal::open(&path).unwrap();
        let e = j.get("a").unwrap().unwrap();
        assert_eq!((e.state, e.attempt, e.cleaned), (State::Failed, 1, false));
        assert_eq!(e.error.as_deref(), Some("link down"));
        assert_eq!(e.spec, mv);
        // Registering again returns the journaled entry untouched.
        assert_eq!(j.register(&mv).unwrap(), e);
        assert!(j.mark_cleaned("a").unwrap().cleaned);
        let e = j.transition("a", State::Preparing, None).unwrap();
        assert_eq!(e.attempt, 2);
        assert_eq!(
            e.error.as_deref(),
            Some("link down"),
            "the last error is kept"
        );
        for s in [State::Transferring, State::Cutover, State::Done] {
            j.transition("a", s, None).unwrap();
        }
        for s in State::ALL {
            assert!(j.transition("a", s, None).is_err(), "done -> {s}");
        }
        let h: Vec<_> = j.history("a").unwrap().iter().map(|t| t.to).collect();
        use State::*;
        assert_eq!(
            h,
            [
                Pending,
                Preparing,
                Transferring,
                Failed,
                Preparing,
                Transferring,
                Cutover,
                Done
            ]
        );
    }

    #[test]
    fn one_journal_file_has_one_owner_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.db");
        let first = Journal::open(&path).unwrap();
        assert!(matches!(Journal::open(&path), Err(JournalError::Locked(_))));
        drop(first);
        Journal::open(&path).unwrap();
    }

    #[test]
    fn a_holder_that_lets_go_within_the_grace_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.db");
        let first = Journal::open(&path).unwrap();
        let holder = std::thread::spawn(move || {
            std::thread::sleep(LOCK_GRACE / 10);
            drop(first);
        });
        Journal::open(&path).unwrap();
        holder.join().unwrap();
    }

    #[test]
    fn unknown_vms_and_conflicting_destinations_are_refused() {
        let mut j = Journal::in_memory().unwrap();
        assert!(matches!(
            j.transition("x", State::Preparing, None),
            Err(JournalError::UnknownVm(_))
        ));
        j.register(&Move::new(vm("a"), "cloud", "c1")).unwrap();
        let err = j.register(&Move::new(vm("a"), "cloud", "c2")).unwrap_err();
        assert!(matches!(err, JournalError::Conflict { .. }), "{err}");
        assert!(j.mark_cleaned("a").is_err(), "only a failed VM is cleaned");
        assert_eq!(j.entries().unwrap().len(), 1);
    }
}
