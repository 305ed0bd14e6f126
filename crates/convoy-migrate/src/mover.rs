//! The mover: drives each VM's move through the state machine, journaling
//! every state before acting on it, and reconciles the journal with the
//! backend when it starts again after a crash.
//!
//! Resuming, for a VM whose journaled state is
//! - Pending: starts the move;
//! - Preparing: reruns `prepare` (which replaces a half-made destination);
//! - Transferring: if the backend reports the copy completed, goes on to the
//!   cutover; otherwise reruns `transfer`, which follows a migration still in
//!   flight rather than starting another;
//! - Cutover: if the guest already runs at the destination only, records
//!   Done; otherwise reruns `cutover`;
//! - Failed / RolledBack not yet cleaned up: reruns `rollback` first;
//! - Done: nothing.
//!
//! Before acting, the backend's observation is checked against the journal
//! (a guest running at the destination before the cutover, or at both ends,
//! stops the mover for that VM with [`MigrateError::Inconsistent`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::backend::{
    run_step, Backend, Event, Move, NoReport, Observation, Presence, Reporter, StepContext,
    TransferStatus,
};
use crate::error::{BackendError, JournalError, MigrateError};
use crate::journal::{Entry, Journal, Transition};
use crate::state::{State, Step};

/// What [`Mover::recover`] did: each VM it acted on, with its outcome.
pub type Recovered = Vec<(String, Result<Entry, MigrateError>)>;

/// Runs moves with a backend and a journal.
pub struct Mover<B> {
    backend: B,
    journal: Mutex<Journal>,
    reporter: Arc<dyn Reporter>,
    cancels: Mutex<HashMap<String, Arc<AtomicBool>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not make the journal unusable: its state is in
    // SQLite, not in the guarded value.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<B: Backend> Mover<B> {
    /// A mover that journals in `journal` and acts through `backend`.
    pub fn new(journal: Journal, backend: B) -> Mover<B> {
        Mover {
            backend,
            journal: Mutex::new(journal),
            reporter: Arc::new(NoReport),
            cancels: Mutex::new(HashMap::new()),
        }
    }

    /// Sends state changes, progress and step output to `reporter`.
    pub fn with_reporter(mut self, reporter: Arc<dyn Reporter>) -> Mover<B> {
        self.reporter = reporter;
        self
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Every journaled move.
    pub fn entries(&self) -> Result<Vec<Entry>, JournalError> {
        lock(&self.journal).entries()
    }

    /// One VM's journaled move.
    pub fn entry(&self, vm: &str) -> Result<Option<Entry>, JournalError> {
        lock(&self.journal).get(vm)
    }

    /// One VM's journaled transitions.
    pub fn history(&self, vm: &str) -> Result<Vec<Transition>, JournalError> {
        lock(&self.journal).history(vm)
    }

    /// Asks the running move of `vm` to stop and roll back. Returns false when
    /// no move of that VM is running in this mover. A move already in its
    /// cutover completes.
    pub fn cancel(&self, vm: &str) -> bool {
        match lock(&self.cancels).get(vm) {
            Some(flag) => {
                flag.store(true, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    /// Moves one VM to its destination, resuming from the journal: a VM
    /// already Done is left alone, an interrupted move is finished, a Failed
    /// or RolledBack one is retried. Returns the final entry (Done), or why
    /// not, in which case the VM runs at the source unless the error says
    /// otherwise.
    pub fn migrate(&self, mv: &Move) -> Result<Entry, MigrateError> {
        self.with_flag(mv.name(), |cancel| {
            let entry = lock(&self.journal).register(mv)?;
            self.drive(mv, entry, true, cancel)
        })
    }

    /// Moves `moves` with at most `concurrency` at a time (one thread each),
    /// in the order given; results in the same order.
    pub fn migrate_all(
        &self,
        moves: &[Move],
        concurrency: usize,
    ) -> Vec<Result<Entry, MigrateError>> {
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Result<Entry, MigrateError>>>> =
            Mutex::new((0..moves.len()).map(|_| None).collect());
        let workers = concurrency.max(1).min(moves.len());
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(mv) = moves.get(i) else { break };
                    let r = self.migrate(mv);
                    lock(&results)[i] = Some(r);
                });
            }
        });
        results
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .into_iter()
            .map(|r| r.expect("every index is taken by one worker"))
            .collect()
    }

    /// Brings every journaled move that a crash interrupted to rest: moves in
    /// flight are finished (or fail and roll back), and unfinished rollbacks
    /// are completed. Failed moves are not retried, Pending ones not started.
    /// Returns the VMs it acted on with their outcome.
    pub fn recover(&self) -> Result<Recovered, JournalError> {
        let entries = lock(&self.journal).entries()?;
        let mut out = Vec::new();
        for e in entries {
            let unfinished = e.state.is_in_flight()
                || (matches!(e.state, State::Failed | State::RolledBack) && !e.cleaned);
            if !unfinished {
                continue;
            }
            let mv = e.spec.clone();
            let r = self.with_flag(&e.vm, |cancel| {
                // Read again under the flag: a concurrent `migrate` may have moved it on.
                // (Bound first: the journal's guard must not live through drive.)
                let now = lock(&self.journal).get(&e.vm)?;
                match now {
                    Some(now) => self.drive(&mv, now, false, cancel),
                    None => Err(JournalError::UnknownVm(e.vm.clone()).into()),
                }
            });
            out.push((e.vm, r));
        }
        Ok(out)
    }

    /// Runs `f` as the only move of `vm` in this mover, with its cancel flag.
    fn with_flag(
        &self,
        vm: &str,
        f: impl FnOnce(&AtomicBool) -> Result<Entry, MigrateError>,
    ) -> Result<Entry, MigrateError> {
        let flag = Arc::new(AtomicBool::new(false));
        {
            let mut cancels = lock(&self.cancels);
            if cancels.contains_key(vm) {
                return Err(MigrateError::AlreadyRunning { vm: vm.to_string() });
            }
            cancels.insert(vm.to_string(), flag.clone());
        }
        // Removed even if `f` panics, so that a caller that catches the
        // panic can move the VM again.
        struct Release<'a>(&'a Mutex<HashMap<String, Arc<AtomicBool>>>, &'a str);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                lock(self.0).remove(self.1);
            }
        }
        let _release = Release(&self.cancels, vm);
        f(&flag)
    }

    /// Writes `to` to the journal (durably) and reports it.
    fn set(&self, entry: &Entry, to: State, error: Option<&str>) -> Result<Entry, MigrateError> {
        let next = lock(&self.journal).transition(&entry.vm, to, error)?;
        self.reporter.report(&Event::State {
            vm: entry.vm.clone(),
            from: entry.state,
            to,
            attempt: next.attempt,
            error: error.map(str::to_string),
        });
        Ok(next)
    }

    fn run(
        &self,
        mv: &Move,
        entry: &Entry,
        step: Step,
        cancel: &AtomicBool,
    ) -> Result<(), BackendError> {
        let ctx = StepContext::new(&entry.vm, step, entry.attempt, &*self.reporter, cancel);
        run_step(&self.backend, step, mv, &ctx)
    }

    fn observe(&self, mv: &Move) -> Result<Observation, MigrateError> {
        self.backend
            .observe(mv)
            .map_err(|source| MigrateError::Observe {
                vm: mv.name().to_string(),
                source,
            })
    }

    /// Refuses to act when the backend reports what the journal cannot explain.
    fn check(&self, entry: &Entry, obs: &Observation) -> Result<(), MigrateError> {
        let bad = obs.split_brain()
            || match entry.state {
                State::Pending
                | State::Preparing
                | State::Transferring
                | State::Failed
                | State::RolledBack => obs.destination == Presence::Running,
                State::Done => obs.source == Presence::Running,
                State::Cutover => false,
            };
        if bad {
            return Err(MigrateError::Inconsistent {
                vm: entry.vm.clone(),
                state: entry.state,
                observed: obs.to_string(),
            });
        }
        Ok(())
    }

    /// The state machine's driver. `retry`: whether a Failed or RolledBack
    /// move is started again.
    fn drive(
        &self,
        mv: &Move,
        mut entry: Entry,
        retry: bool,
        cancel: &AtomicBool,
    ) -> Result<Entry, MigrateError> {
        // What the backend sees, for states a crash may have left half done.
        let obs = match entry.state {
            State::Pending | State::Done => Observation::UNKNOWN,
            _ => {
                let o = self.observe(mv)?;
                self.check(&entry, &o)?;
                o
            }
        };
        // True while `entry.state` is the one read from the journal: its step
        // may have been partly or wholly done before a crash.
        let mut fresh = true;
        loop {
            if cancel.load(Ordering::SeqCst)
                && matches!(entry.state, State::Preparing | State::Transferring)
            {
                let step = entry.state.step().expect("in-flight state has a step");
                return self.fail(mv, entry, step, BackendError::Cancelled, cancel);
            }
            match entry.state {
                State::Done => return Ok(entry),
                State::Pending => entry = self.set(&entry, State::Preparing, None)?,
                State::Failed | State::RolledBack => {
                    if !entry.cleaned {
                        let cause = entry.error.clone().unwrap_or_default();
                        if let Err(source) = self.run(mv, &entry, Step::Rollback, cancel) {
                            return Err(MigrateError::RollbackFailed {
                                vm: entry.vm.clone(),
                                step: Step::Rollback,
                                cause,
                                source,
                            });
                        }
                        entry = lock(&self.journal).mark_cleaned(&entry.vm)?;
                    }
                    if !retry {
                        return Ok(entry);
                    }
                    entry = self.set(&entry, State::Preparing, None)?;
                }
                State::Preparing => match self.run(mv, &entry, Step::Prepare, cancel) {
                    Ok(()) => entry = self.set(&entry, State::Transferring, None)?,
                    Err(e) => return self.fail(mv, entry, Step::Prepare, e, cancel),
                },
                State::Transferring => {
                    if fresh && obs.transfer == TransferStatus::Completed {
                        // The copy finished before the crash: do not copy again.
                        entry = self.set(&entry, State::Cutover, None)?;
                    } else {
                        match self.run(mv, &entry, Step::Transfer, cancel) {
                            Ok(()) => entry = self.set(&entry, State::Cutover, None)?,
                            Err(e) => return self.fail(mv, entry, Step::Transfer, e, cancel),
                        }
                    }
                }
                State::Cutover => {
                    if fresh
                        && obs.destination == Presence::Running
                        && obs.source == Presence::Absent
                    {
                        entry = self.set(&entry, State::Done, None)?;
                    } else {
                        match self.run(mv, &entry, Step::Cutover, cancel) {
                            Ok(()) => entry = self.set(&entry, State::Done, None)?,
                            Err(e) => return self.cutover_failed(mv, entry, e, cancel),
                        }
                    }
                }
            }
            fresh = false;
        }
    }

    /// A failed cutover rolls back only while the guest has not started at the
    /// destination; past that point the only way is forward.
    fn cutover_failed(
        &self,
        mv: &Move,
        entry: Entry,
        e: BackendError,
        cancel: &AtomicBool,
    ) -> Result<Entry, MigrateError> {
        let now = self.backend.observe(mv).unwrap_or(Observation::UNKNOWN);
        let started = now.destination == Presence::Running || now.source == Presence::Absent;
        if !started {
            return self.fail(mv, entry, Step::Cutover, e, cancel);
        }
        match self.run(mv, &entry, Step::Cutover, cancel) {
            Ok(()) => self.set(&entry, State::Done, None),
            Err(source) => Err(MigrateError::CutoverIncomplete {
                vm: entry.vm.clone(),
                source,
            }),
        }
    }

    /// Journals Failed (or RolledBack when cancelled), then rolls back.
    fn fail(
        &self,
        mv: &Move,
        entry: Entry,
        step: Step,
        e: BackendError,
        cancel: &AtomicBool,
    ) -> Result<Entry, MigrateError> {
        let to = if matches!(e, BackendError::Cancelled) || cancel.load(Ordering::SeqCst) {
            State::RolledBack
        } else {
            State::Failed
        };
        let message = e.to_string();
        let entry = self.set(&entry, to, Some(&message))?;
        if let Err(source) = self.run(mv, &entry, Step::Rollback, cancel) {
            return Err(MigrateError::RollbackFailed {
                vm: entry.vm.clone(),
                step,
                cause: message,
                source,
            });
        }
        lock(&self.journal).mark_cleaned(&entry.vm)?;
        Err(MigrateError::Failed {
            vm: entry.vm,
            step,
            state: to,
            source: e,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use convoy_model::Vm;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::time::{Duration, Instant};

    fn vm(name: &str) -> Vm {
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

    fn mv(name: &str) -> Move {
        Move::new(vm(name), "cloud", "c1")
    }

    /// Where the fake backend crashes the mover (a panic that unwinds out of
    /// `migrate`, so that nothing after it runs, as with kill -9).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum When {
        /// Right after the journal write, before the step acts.
        Before,
        /// In the middle of the transfer (copy started, not finished).
        Mid,
        /// After the step acted, before the next journal write.
        After,
    }

    /// One VM as the fake hypervisors see it.
    #[derive(Debug, Clone)]
    struct World {
        source: Presence,
        dest: Presence,
        transfer: TransferStatus,
        started: u32,
        completed: u32,
        cutovers: u32,
        split_brain: bool,
    }

    impl Default for World {
        fn default() -> World {
            World {
                source: Presence::Running,
                dest: Presence::Absent,
                transfer: TransferStatus::NotStarted,
                started: 0,
                completed: 0,
                cutovers: 0,
                split_brain: false,
            }
        }
    }

    /// A backend whose "hypervisors" outlive the mover, like real QEMU
    /// processes do.
    #[derive(Default)]
    struct Fake {
        worlds: Mutex<HashMap<String, World>>,
        crash: Mutex<Option<(Step, When)>>,
        fail: Mutex<Option<Step>>,
        block_transfer: AtomicBool,
    }

    impl Fake {
        fn point(&self, step: Step, when: When) {
            let hit = {
                let mut c = lock(&self.crash);
                if *c == Some((step, when)) {
                    *c = None;
                    true
                } else {
                    false
                }
            };
            if hit {
                panic!("simulated crash of the mover at {step} {when:?}");
            }
        }

        fn with<R>(&self, vm: &str, f: impl FnOnce(&mut World) -> R) -> R {
            let mut worlds = lock(&self.worlds);
            let w = worlds.entry(vm.to_string()).or_default();
            let r = f(w);
            if w.source == Presence::Running && w.dest == Presence::Running {
                w.split_brain = true;
            }
            r
        }

        fn world(&self, vm: &str) -> World {
            self.with(vm, |w| w.clone())
        }

        fn failing(&self, step: Step) -> bool {
            *lock(&self.fail) == Some(step)
        }
    }

    impl Backend for Fake {
        fn kind(&self) -> &'static str {
            "fake"
        }

        fn prepare(&self, mv: &Move, _ctx: &StepContext<'_>) -> Result<(), BackendError> {
            self.point(Step::Prepare, When::Before);
            if self.failing(Step::Prepare) {
                return Err(BackendError::Process("no room at the destination".into()));
            }
            self.with(mv.name(), |w| {
                w.dest = Presence::Incoming;
                w.transfer = TransferStatus::NotStarted;
            });
            self.point(Step::Prepare, When::After);
            Ok(())
        }

        fn transfer(&self, mv: &Move, ctx: &StepContext<'_>) -> Result<(), BackendError> {
            self.point(Step::Transfer, When::Before);
            self.with(mv.name(), |w| {
                if w.dest != Presence::Incoming {
                    return Err(BackendError::Process("no destination".into()));
                }
                if w.transfer != TransferStatus::Active {
                    w.started += 1;
                    w.transfer = TransferStatus::Active;
                }
                Ok(())
            })?;
            self.point(Step::Transfer, When::Mid);
            if self.block_transfer.load(Ordering::SeqCst) {
                let until = Instant::now() + Duration::from_secs(10);
                while !ctx.is_cancelled() && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(1));
                }
                return Err(BackendError::Cancelled);
            }
            if self.failing(Step::Transfer) {
                // The destination died mid-copy.
                self.with(mv.name(), |w| {
                    w.transfer = TransferStatus::Failed;
                    w.dest = Presence::Absent;
                });
                return Err(BackendError::Migration(
                    "destination closed the stream".into(),
                ));
            }
            ctx.progress(crate::backend::TransferProgress {
                sent: 64 << 20,
                total: Some(64 << 20),
                remaining: Some(0),
                ..Default::default()
            });
            self.with(mv.name(), |w| {
                w.transfer = TransferStatus::Completed;
                w.source = Presence::Paused;
                w.completed += 1;
            });
            self.point(Step::Transfer, When::After);
            Ok(())
        }

        fn cutover(&self, mv: &Move, _ctx: &StepContext<'_>) -> Result<(), BackendError> {
            self.point(Step::Cutover, When::Before);
            if self.failing(Step::Cutover) {
                return Err(BackendError::Process(
                    "destination refused to resume".into(),
                ));
            }
            self.with(mv.name(), |w| {
                if w.dest != Presence::Running {
                    if w.transfer != TransferStatus::Completed {
                        return Err(BackendError::Process("nothing to cut over".into()));
                    }
                    w.dest = Presence::Running;
                    w.cutovers += 1;
                }
                w.source = Presence::Absent;
                Ok(())
            })?;
            self.point(Step::Cutover, When::After);
            Ok(())
        }

        fn rollback(&self, mv: &Move, _ctx: &StepContext<'_>) -> Result<(), BackendError> {
            self.point(Step::Rollback, When::Before);
            self.with(mv.name(), |w| {
                if w.dest == Presence::Running {
                    return Err(BackendError::Process(
                        "the guest runs at the destination".into(),
                    ));
                }
                w.dest = Presence::Absent;
                w.transfer = TransferStatus::NotStarted;
                w.source = Presence::Running;
                Ok(())
            })?;
            self.point(Step::Rollback, When::After);
            Ok(())
        }

        fn observe(&self, mv: &Move) -> Result<Observation, BackendError> {
            let w = self.world(mv.name());
            Ok(Observation {
                source: w.source,
                destination: w.dest,
                transfer: w.transfer,
            })
        }
    }

    fn states(m: &Mover<Arc<Fake>>, vm: &str) -> Vec<State> {
        m.history(vm).unwrap().iter().map(|t| t.to).collect()
    }

    fn assert_moved_once(fake: &Fake, vm: &str) {
        assert_moved(fake, vm, 1);
    }

    /// Moved, with `copies` completed transfers (a failed cutover's retry
    /// copies again).
    fn assert_moved(fake: &Fake, vm: &str, copies: u32) {
        let w = fake.world(vm);
        assert_eq!(w.source, Presence::Absent, "{w:?}");
        assert_eq!(w.dest, Presence::Running, "{w:?}");
        assert_eq!(w.completed, copies, "copies: {w:?}");
        assert_eq!(w.cutovers, 1, "{w:?}");
        assert!(!w.split_brain, "{w:?}");
    }

    fn assert_legal(m: &Mover<Arc<Fake>>, vm: &str) {
        let h = states(m, vm);
        for pair in h.windows(2) {
            assert!(pair[0].can_become(pair[1]), "{h:?}");
        }
    }

    #[test]
    fn a_move_goes_through_every_state_once() {
        let fake = Arc::new(Fake::default());
        let events = Arc::new(Mutex::new(Vec::new()));
        let ev = events.clone();
        let m = Mover::new(Journal::in_memory().unwrap(), fake.clone())
            .with_reporter(Arc::new(move |e: &Event| lock(&ev).push(e.clone())));
        let e = m.migrate(&mv("a")).unwrap();
        assert_eq!((e.state, e.attempt), (State::Done, 1));
        use State::*;
        assert_eq!(
            states(&m, "a"),
            [Pending, Preparing, Transferring, Cutover, Done]
        );
        assert_moved_once(&fake, "a");
        // Running it again does nothing.
        assert_eq!(m.migrate(&mv("a")).unwrap().state, Done);
        assert_moved_once(&fake, "a");
        let events = lock(&events);
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, Event::State { .. }))
                .count(),
            4
        );
        assert!(events.iter().any(|e| matches!(e, Event::Progress { .. })));
    }

    #[test]
    fn a_failed_step_leaves_the_vm_at_the_source_and_a_retry_succeeds() {
        for step in [Step::Prepare, Step::Transfer, Step::Cutover] {
            let fake = Arc::new(Fake::default());
            let m = Mover::new(Journal::in_memory().unwrap(), fake.clone());
            *lock(&fake.fail) = Some(step);
            let err = m.migrate(&mv("a")).unwrap_err();
            assert!(
                matches!(&err, MigrateError::Failed { step: s, state: State::Failed, .. } if *s == step),
                "{err}"
            );
            let w = fake.world("a");
            assert_eq!(
                (w.source, w.dest),
                (Presence::Running, Presence::Absent),
                "{step}"
            );
            let e = m.entry("a").unwrap().unwrap();
            assert_eq!((e.state, e.cleaned), (State::Failed, true));
            assert!(e.error.is_some());
            *lock(&fake.fail) = None;
            let e = m.migrate(&mv("a")).unwrap();
            assert_eq!((e.state, e.attempt), (State::Done, 2));
            assert_moved(&fake, "a", if step == Step::Cutover { 2 } else { 1 });
            assert_legal(&m, "a");
        }
    }

    #[test]
    fn resumes_after_a_crash_at_every_point_without_doing_anything_twice() {
        let points = [
            (Step::Prepare, When::Before),
            (Step::Prepare, When::After),
            (Step::Transfer, When::Before),
            (Step::Transfer, When::Mid),
            (Step::Transfer, When::After),
            (Step::Cutover, When::Before),
            (Step::Cutover, When::After),
        ];
        for (step, when) in points {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("journal.db");
            let fake = Arc::new(Fake::default());
            *lock(&fake.crash) = Some((step, when));
            {
                let m = Mover::new(Journal::open(&path).unwrap(), fake.clone());
                let crashed = catch_unwind(AssertUnwindSafe(|| m.migrate(&mv("a"))));
                assert!(crashed.is_err(), "{step} {when:?}: no crash");
                assert!(!fake.world("a").split_brain);
            }
            // A new mover on the same journal file, as after a restart.
            let m = Mover::new(Journal::open(&path).unwrap(), fake.clone());
            let e = m.migrate(&mv("a")).unwrap();
            assert_eq!((e.state, e.attempt), (State::Done, 1), "{step} {when:?}");
            assert_moved_once(&fake, "a");
            assert_eq!(
                fake.world("a").started,
                1,
                "{step} {when:?}: copy restarted"
            );
            use State::*;
            assert_eq!(
                states(&m, "a"),
                [Pending, Preparing, Transferring, Cutover, Done],
                "{step} {when:?}"
            );
        }
    }

    #[test]
    fn recover_finishes_interrupted_moves_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        let fake = Arc::new(Fake::default());
        {
            let m = Mover::new(Journal::open(&path).unwrap(), fake.clone());
            lock(&m.journal).register(&mv("waiting")).unwrap();
            *lock(&fake.crash) = Some((Step::Transfer, When::Mid));
            assert!(catch_unwind(AssertUnwindSafe(|| m.migrate(&mv("a")))).is_err());
        }
        let m = Mover::new(Journal::open(&path).unwrap(), fake.clone());
        let done = m.recover().unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].0, "a");
        assert_eq!(done[0].1.as_ref().unwrap().state, State::Done);
        assert_moved_once(&fake, "a");
        assert_eq!(m.entry("waiting").unwrap().unwrap().state, State::Pending);
    }

    #[test]
    fn a_crash_during_rollback_is_finished_on_restart() {
        for when in [When::Before, When::After] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("journal.db");
            let fake = Arc::new(Fake::default());
            *lock(&fake.fail) = Some(Step::Transfer);
            *lock(&fake.crash) = Some((Step::Rollback, when));
            {
                let m = Mover::new(Journal::open(&path).unwrap(), fake.clone());
                assert!(catch_unwind(AssertUnwindSafe(|| m.migrate(&mv("a")))).is_err());
            }
            *lock(&fake.fail) = None;
            let m = Mover::new(Journal::open(&path).unwrap(), fake.clone());
            let e = m.entry("a").unwrap().unwrap();
            assert_eq!((e.state, e.cleaned), (State::Failed, false), "{when:?}");
            let rec = m.recover().unwrap();
            let e = rec[0].1.as_ref().unwrap();
            assert_eq!((e.state, e.cleaned), (State::Failed, true), "{when:?}");
            let w = fake.world("a");
            assert_eq!((w.source, w.dest), (Presence::Running, Presence::Absent));
            let e = m.migrate(&mv("a")).unwrap();
            assert_eq!((e.state, e.attempt), (State::Done, 2));
            assert_moved_once(&fake, "a");
            assert_legal(&m, "a");
        }
    }

    #[test]
    fn a_guest_running_where_the_journal_says_it_cannot_stops_the_mover() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        let fake = Arc::new(Fake::default());
        *lock(&fake.crash) = Some((Step::Transfer, When::Mid));
        {
            let m = Mover::new(Journal::open(&path).unwrap(), fake.clone());
            assert!(catch_unwind(AssertUnwindSafe(|| m.migrate(&mv("a")))).is_err());
        }
        // Someone started the destination's guest behind the mover's back.
        fake.with("a", |w| w.dest = Presence::Running);
        let before = fake.world("a");
        let m = Mover::new(Journal::open(&path).unwrap(), fake.clone());
        let err = m.migrate(&mv("a")).unwrap_err();
        assert!(
            matches!(
                err,
                MigrateError::Inconsistent {
                    state: State::Transferring,
                    ..
                }
            ),
            "{err}"
        );
        let after = fake.world("a");
        assert_eq!(
            (after.completed, after.cutovers),
            (before.completed, before.cutovers)
        );
        assert_eq!(m.entry("a").unwrap().unwrap().state, State::Transferring);
    }

    #[test]
    fn cancelling_rolls_back() {
        let fake = Arc::new(Fake::default());
        fake.block_transfer.store(true, Ordering::SeqCst);
        let m = Mover::new(Journal::in_memory().unwrap(), fake.clone());
        let err = std::thread::scope(|s| {
            let h = s.spawn(|| m.migrate(&mv("a")));
            while !m.cancel("a") {
                std::thread::yield_now();
            }
            h.join().unwrap()
        })
        .unwrap_err();
        assert!(
            matches!(
                err,
                MigrateError::Failed {
                    state: State::RolledBack,
                    ..
                }
            ),
            "{err}"
        );
        let w = fake.world("a");
        assert_eq!((w.source, w.dest), (Presence::Running, Presence::Absent));
        assert_eq!(m.entry("a").unwrap().unwrap().state, State::RolledBack);
        assert!(!m.cancel("a"), "nothing left to cancel");
    }

    #[test]
    fn many_moves_run_concurrently_and_all_end_done() {
        let fake = Arc::new(Fake::default());
        let m = Mover::new(Journal::in_memory().unwrap(), fake.clone());
        let moves: Vec<Move> = (0..6).map(|i| mv(&format!("vm{i}"))).collect();
        let results = m.migrate_all(&moves, 2);
        assert_eq!(results.len(), 6);
        for (r, mv) in results.iter().zip(&moves) {
            assert_eq!(r.as_ref().unwrap().vm, mv.name());
            assert_moved_once(&fake, mv.name());
        }
    }

    #[test]
    fn the_same_vm_given_twice_at_once_is_moved_once() {
        let fake = Arc::new(Fake::default());
        fake.block_transfer.store(true, Ordering::SeqCst);
        let m = Mover::new(Journal::in_memory().unwrap(), fake.clone());
        std::thread::scope(|s| {
            let h = s.spawn(|| m.migrate(&mv("a")));
            // Wait until the first move is in its transfer.
            while fake.world("a").started == 0 {
                std::thread::yield_now();
            }
            let err = m.migrate(&mv("a")).unwrap_err();
            assert!(matches!(err, MigrateError::AlreadyRunning { .. }), "{err}");
            assert!(m.cancel("a"));
            assert!(h.join().unwrap().is_err());
        });
        assert_eq!(fake.world("a").started, 1);
    }

    #[test]
    fn a_vm_cannot_be_sent_to_a_second_destination() {
        let fake = Arc::new(Fake::default());
        let m = Mover::new(Journal::in_memory().unwrap(), fake.clone());
        m.migrate(&mv("a")).unwrap();
        let other = Move::new(vm("a"), "cloud", "c2");
        let err = m.migrate(&other).unwrap_err();
        assert!(
            matches!(err, MigrateError::Journal(JournalError::Conflict { .. })),
            "{err}"
        );
        assert_moved_once(&fake, "a");
    }
}
