//! Real-QEMU tests of the `qemu` backend: two QEMU processes on this machine,
//! firmware-only guests under the detected accelerator. They need
//! `qemu-system-x86_64` and `qemu-img` (`bash scripts/install-qemu.sh`) and
//! fail, rather than skip, without them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use convoy_migrate::backend::run_step;
use convoy_migrate::qemu::require_qemu;
use convoy_migrate::{
    Backend, DiskConfig, Event, Host, Journal, MachineConfig, MigrateError, MigrationSettings,
    Move, Mover, NoReport, Presence, QemuBackend, QemuHost, RamLoad, State, Step, StepContext,
};
use serde_json::json;

const MIB: u64 = 1 << 20;
const RAM_ADDR: u64 = 0x200_0000;

fn backend(dir: &Path) -> QemuBackend {
    require_qemu();
    let src = QemuHost::new("private", dir.join("src")).unwrap();
    let dst = QemuHost::new("cloud", dir.join("dst")).unwrap();
    QemuBackend::new(Arc::new(src), Arc::new(dst))
}

/// `len` pseudo-random bytes (xorshift64*, seeded): incompressible, and
/// never mistaken for the zero pages QEMU skips.
fn random_file(path: &Path, len: u64, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut data = Vec::with_capacity(len as usize);
    while (data.len() as u64) < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        data.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    data.truncate(len as usize);
    std::fs::write(path, &data).unwrap();
    data
}

fn vm(name: &str, memory_mib: u64) -> convoy_model::Vm {
    convoy_model::Vm {
        name: name.into(),
        site: "private".into(),
        node: "h1".into(),
        vcpus: 1,
        memory_mib,
        disk_gib: 0,
        addresses: vec![],
        dirty_mib_per_s: None,
        group: None,
        pinned: false,
    }
}

/// A firmware-only guest whose RAM holds `fill` random bytes at 32 MiB.
fn guest(dir: &Path, name: &str, memory_mib: u64, fill: u64) -> (MachineConfig, Vec<u8>) {
    let ram = dir.join(format!("{name}-ram.bin"));
    let data = random_file(&ram, fill, 0x5eed ^ fill);
    let mut config = MachineConfig::new(memory_mib, 1);
    config.ram_loads.push(RamLoad {
        file: ram,
        addr: RAM_ADDR,
    });
    (config, data)
}

fn pmemsave(host: &QemuHost, vm: &str, size: u64, path: &Path) -> Vec<u8> {
    let mut q = host.qmp(vm).unwrap();
    q.execute(
        "pmemsave",
        json!({"val": 0, "size": size, "filename": path.display().to_string()}),
    )
    .unwrap();
    drop(q);
    let data = std::fs::read(path).unwrap();
    std::fs::remove_file(path).unwrap();
    data
}

fn step(b: &QemuBackend, s: Step, mv: &Move, reporter: &dyn convoy_migrate::Reporter) {
    let cancel = AtomicBool::new(false);
    let ctx = StepContext::new(mv.name(), s, 1, reporter, &cancel);
    run_step(b, s, mv, &ctx).unwrap_or_else(|e| panic!("{s}: {e}"));
}

#[test]
fn a_migrated_guest_has_the_same_memory_at_the_destination() {
    let dir = tempfile::tempdir().unwrap();
    require_qemu();
    let src = QemuHost::new("private", dir.path().join("src")).unwrap();
    // Started through a prefix that execs QEMU, as `ip netns exec` does.
    let dst = QemuHost::new("cloud", dir.path().join("dst"))
        .unwrap()
        .with_prefix(["env", "CONVOY_SIDE=cloud"]);
    let b = QemuBackend::new(Arc::new(src), Arc::new(dst));
    let mem = 64;
    let (config, data) = guest(dir.path(), "m1", mem, 8 * MIB);
    b.start_source("m1", config).unwrap();
    let mv = Move::new(vm("m1", mem), "cloud", "c1");
    let before = pmemsave(
        b.source().unwrap(),
        "m1",
        mem * MIB,
        &dir.path().join("before.bin"),
    );
    let at = RAM_ADDR as usize;
    assert!(
        before[at..at + data.len()] == data[..],
        "the loader did not fill RAM"
    );

    let progress = Mutex::new(Vec::new());
    let reporter = |e: &Event| {
        if let Event::Progress { progress: p, .. } = e {
            progress.lock().unwrap().push(p.clone());
        }
    };
    step(&b, Step::Prepare, &mv, &reporter);
    assert_eq!(b.observe(&mv).unwrap().destination, Presence::Incoming);
    step(&b, Step::Transfer, &mv, &reporter);
    let obs = b.observe(&mv).unwrap();
    assert_eq!(
        (obs.source, obs.destination),
        (Presence::Paused, Presence::Paused)
    );

    // Both paused: the whole of guest RAM must be identical.
    let src = pmemsave(
        b.source().unwrap(),
        "m1",
        mem * MIB,
        &dir.path().join("src.bin"),
    );
    let dst = pmemsave(
        b.dest().unwrap(),
        "m1",
        mem * MIB,
        &dir.path().join("dst.bin"),
    );
    assert_eq!(src.len(), dst.len());
    let first_diff = src.iter().zip(&dst).position(|(a, b)| a != b);
    assert_eq!(first_diff, None, "memory differs");
    assert!(dst[at..at + data.len()] == data[..]);
    let last = progress
        .lock()
        .unwrap()
        .last()
        .cloned()
        .expect("progress was reported");
    assert!(last.sent >= data.len() as u64, "{last:?}");
    assert!(last.downtime_ms.is_some(), "{last:?}");

    step(&b, Step::Cutover, &mv, &NoReport);
    let obs = b.observe(&mv).unwrap();
    assert_eq!(
        (obs.source, obs.destination),
        (Presence::Absent, Presence::Running)
    );
    assert_eq!(b.source().unwrap().pid("m1"), None);
}

#[test]
fn killing_the_destination_mid_transfer_fails_the_move_at_the_source_then_a_retry_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let b = Arc::new(backend(dir.path()));
    let mem = 64;
    let (config, _) = guest(dir.path(), "k1", mem, 16 * MIB);
    b.start_source("k1", config).unwrap();
    // Slow enough (16 MiB at 1 MiB/s) to be killed in the middle.
    b.set_settings(MigrationSettings {
        max_bandwidth: Some(MIB),
        ..MigrationSettings::default()
    });
    let armed = Arc::new(AtomicBool::new(true));
    let killed_at = Arc::new(Mutex::new(None));
    let reporter = {
        let dest = b.dest().unwrap().clone();
        let armed = armed.clone();
        let killed_at = killed_at.clone();
        move |e: &Event| {
            if let Event::Progress { progress, .. } = e {
                if progress.sent > 256 * 1024 && armed.swap(false, Ordering::SeqCst) {
                    *killed_at.lock().unwrap() = Some(progress.clone());
                    assert!(dest.kill("k1"), "no destination process to kill");
                }
            }
        }
    };
    let journal = dir.path().join("journal.db");
    let mover =
        Mover::new(Journal::open(&journal).unwrap(), b.clone()).with_reporter(Arc::new(reporter));
    let mv = Move::new(vm("k1", mem), "cloud", "c1");
    let err = mover.migrate(&mv).unwrap_err();
    assert!(
        matches!(
            err,
            MigrateError::Failed {
                step: Step::Transfer,
                state: State::Failed,
                ..
            }
        ),
        "{err}"
    );
    let killed = killed_at
        .lock()
        .unwrap()
        .clone()
        .expect("killed mid-transfer");
    assert!(killed.remaining.unwrap_or(0) > 0, "{killed:?}");
    let e = mover.entry("k1").unwrap().unwrap();
    assert_eq!((e.state, e.cleaned), (State::Failed, true));
    let obs = b.observe(&mv).unwrap();
    assert_eq!(
        obs.source,
        Presence::Running,
        "the VM keeps running at the source"
    );
    assert_eq!(obs.destination, Presence::Absent);
    assert_eq!(b.dest().unwrap().pid("k1"), None);

    b.set_settings(MigrationSettings::default());
    let e = mover.migrate(&mv).unwrap();
    assert_eq!((e.state, e.attempt), (State::Done, 2));
    let obs = b.observe(&mv).unwrap();
    assert_eq!(
        (obs.source, obs.destination),
        (Presence::Absent, Presence::Running)
    );
    let states: Vec<State> = mover.history("k1").unwrap().iter().map(|t| t.to).collect();
    use State::*;
    assert_eq!(
        states,
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
fn a_guest_with_a_disk_has_its_storage_mirrored_first() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(dir.path());
    let disk: PathBuf = dir.path().join("d1.raw");
    let content = random_file(&disk, 8 * MIB, 7);
    let mut config = MachineConfig::new(64, 1);
    config.disk = Some(DiskConfig {
        path: disk.clone(),
        format: "raw".into(),
    });
    b.start_source("d1", config).unwrap();
    let phases = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = phases.clone();
    let reporter = move |e: &Event| {
        if let Event::Progress { progress, .. } = e {
            let mut p = seen.lock().unwrap();
            let phase = progress.phase.clone().unwrap_or_default();
            if p.last() != Some(&phase) {
                p.push(phase);
            }
            if p.len() > 2 {
                panic!("phases out of order: {p:?}");
            }
        }
    };
    let b = Arc::new(b);
    let mover =
        Mover::new(Journal::in_memory().unwrap(), b.clone()).with_reporter(Arc::new(reporter));
    let mut moved = vm("d1", 64);
    moved.disk_gib = 1;
    let e = mover.migrate(&Move::new(moved, "cloud", "c1")).unwrap();
    assert_eq!(e.state, State::Done);
    // Stop the destination so that its image is flushed, then compare.
    b.dest().unwrap().quit("d1");
    let copied = std::fs::read(b.dest().unwrap().dir().join("d1.raw")).unwrap();
    assert_eq!(copied.len(), content.len());
    assert!(
        copied == content,
        "the destination's disk differs from the source's"
    );
    assert_eq!(*phases.lock().unwrap(), ["storage", "memory"]);
}

/// Where [`Crashing`] kills the mover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CrashPoint {
    /// At the first progress report: the migration runs on in QEMU.
    TransferMid,
    /// When the transfer has completed, before the journal says so.
    TransferAfter,
    /// When the cutover has completed, before the journal says so.
    CutoverAfter,
}

/// The QEMU backend, with a crash of the mover (a panic that unwinds out of
/// `migrate`, so nothing after it runs) at one point.
struct Crashing {
    inner: Arc<QemuBackend>,
    at: Mutex<Option<CrashPoint>>,
}

impl Crashing {
    fn hit(&self, point: CrashPoint) -> bool {
        let mut at = self.at.lock().unwrap_or_else(|e| e.into_inner());
        if *at == Some(point) {
            *at = None;
            true
        } else {
            false
        }
    }
}

struct PanicOnProgress;

impl convoy_migrate::Reporter for PanicOnProgress {
    fn report(&self, e: &Event) {
        if matches!(e, Event::Progress { .. }) {
            panic!("simulated crash of the mover in the middle of the transfer");
        }
    }
}

impl Backend for Crashing {
    fn kind(&self) -> &'static str {
        "crashing-qemu"
    }
    fn prepare(
        &self,
        mv: &Move,
        ctx: &StepContext<'_>,
    ) -> Result<(), convoy_migrate::BackendError> {
        self.inner.prepare(mv, ctx)
    }
    fn transfer(
        &self,
        mv: &Move,
        ctx: &StepContext<'_>,
    ) -> Result<(), convoy_migrate::BackendError> {
        if self.hit(CrashPoint::TransferMid) {
            let cancel = AtomicBool::new(false);
            let c = StepContext::new(
                mv.name(),
                Step::Transfer,
                ctx.attempt,
                &PanicOnProgress,
                &cancel,
            );
            return self.inner.transfer(mv, &c);
        }
        self.inner.transfer(mv, ctx)?;
        if self.hit(CrashPoint::TransferAfter) {
            panic!("simulated crash of the mover after the transfer");
        }
        Ok(())
    }
    fn cutover(
        &self,
        mv: &Move,
        ctx: &StepContext<'_>,
    ) -> Result<(), convoy_migrate::BackendError> {
        self.inner.cutover(mv, ctx)?;
        if self.hit(CrashPoint::CutoverAfter) {
            panic!("simulated crash of the mover after the cutover");
        }
        Ok(())
    }
    fn rollback(
        &self,
        mv: &Move,
        ctx: &StepContext<'_>,
    ) -> Result<(), convoy_migrate::BackendError> {
        self.inner.rollback(mv, ctx)
    }
    fn observe(
        &self,
        mv: &Move,
    ) -> Result<convoy_migrate::Observation, convoy_migrate::BackendError> {
        self.inner.observe(mv)
    }
}

#[test]
fn a_mover_that_crashes_resumes_from_its_journal_and_moves_the_guest_once() {
    for point in [
        CrashPoint::TransferMid,
        CrashPoint::TransferAfter,
        CrashPoint::CutoverAfter,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let inner = Arc::new(backend(dir.path()));
        let mem = 64;
        let (config, data) = guest(dir.path(), "r1", mem, 8 * MIB);
        inner.start_source("r1", config).unwrap();
        // Slow enough that the migration is still running when the new
        // mover looks at it after a crash in the middle.
        inner.set_settings(MigrationSettings {
            max_bandwidth: Some(4 * MIB),
            ..MigrationSettings::default()
        });
        let backend = Arc::new(Crashing {
            inner: inner.clone(),
            at: Mutex::new(Some(point)),
        });
        let journal = dir.path().join("journal.db");
        let mv = Move::new(vm("r1", mem), "cloud", "c1");
        {
            let mover = Mover::new(Journal::open(&journal).unwrap(), backend.clone());
            let crashed =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| mover.migrate(&mv)));
            assert!(crashed.is_err(), "{point:?}: the mover did not crash");
        }
        let obs = inner.observe(&mv).unwrap();
        assert!(!obs.split_brain(), "{point:?}: {obs}");
        // Restarted on the same journal, with the QEMU processes still there.
        let mover = Mover::new(Journal::open(&journal).unwrap(), backend.clone());
        let e = mover.migrate(&mv).unwrap();
        assert_eq!((e.state, e.attempt), (State::Done, 1), "{point:?}");
        use State::*;
        let states: Vec<State> = mover.history("r1").unwrap().iter().map(|t| t.to).collect();
        assert_eq!(
            states,
            [Pending, Preparing, Transferring, Cutover, Done],
            "{point:?}"
        );
        let obs = inner.observe(&mv).unwrap();
        assert_eq!(
            (obs.source, obs.destination),
            (Presence::Absent, Presence::Running)
        );
        // The guest that runs is the one that was moved.
        let dst = pmemsave(
            inner.dest().unwrap(),
            "r1",
            mem * MIB,
            &dir.path().join("dst.bin"),
        );
        let at = RAM_ADDR as usize;
        assert!(
            dst[at..at + data.len()] == data[..],
            "{point:?}: memory lost"
        );
    }
}

#[test]
fn a_restarted_mover_finds_and_controls_the_guests_a_previous_one_started() {
    require_qemu();
    let dir = tempfile::tempdir().unwrap();
    let first = QemuHost::new("private", dir.path()).unwrap();
    first
        .launch("g1", &MachineConfig::new(64, 1), false, None)
        .unwrap();
    let pid = first.pid("g1").unwrap();
    // The first mover exits without stopping its guests.
    first.detach();
    drop(first);
    let second = QemuHost::new("private", dir.path()).unwrap();
    assert_eq!(second.pid("g1"), Some(pid));
    assert_eq!(second.presence("g1"), Presence::Running);
    assert!(second.kill("g1"));
    assert_eq!(second.pid("g1"), None);
    assert_eq!(second.presence("g1"), Presence::Absent);
    assert!(!second.kill("g1"), "nothing left to kill");
}
