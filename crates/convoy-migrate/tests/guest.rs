//! A real-QEMU migration of a guest that keeps dirtying its memory, so that
//! pre-copy convergence is really exercised: Debian's kernel with a busybox
//! initramfs running `guest/dirty.c` (built by `scripts/build-guest.sh`; see
//! docs/migrate.md, "The test guest"). It needs `qemu-system-x86_64`
//! (`bash scripts/install-qemu.sh`) and apt's access to Debian's archive for
//! the first build, and fails, rather than skips, without them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use convoy_migrate::backend::run_step;
use convoy_migrate::qemu::require_qemu;
use convoy_migrate::{
    Backend, Event, Host, MachineConfig, MigrationSettings, Move, Presence, QemuBackend, QemuHost,
    Step, StepContext, TransferProgress,
};
use serde_json::{json, Value};

const MIB: u64 = 1 << 20;
const PAGE: u64 = 4096;
const MEMORY_MIB: u64 = 256;
const FILL_MIB: u64 = 160;
const WSS_MIB: u64 = 32;
const DIRTY_MIB_S: u64 = 8;
const BANDWIDTH: u64 = 32 * MIB;
const VM: &str = "dirty1";

/// The kernel and initramfs, built (or found up to date) by the script.
fn build_guest() -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let out = target.join("guest");
    let script = root.join("scripts/build-guest.sh");
    let o = Command::new("bash")
        .arg(&script)
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash {}: {e}", script.display()));
    assert!(
        o.status.success(),
        "building the test guest failed (`bash scripts/build-guest.sh` shows why; it needs \
         apt-get, dpkg-deb, gcc with a static libc and Debian's archive):\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let manifest = out.join("guest.json");
    let text =
        fs::read_to_string(&manifest).unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
    let g: Value = serde_json::from_str(&text).unwrap();
    let path = |k: &str| {
        let p = PathBuf::from(g[k].as_str().unwrap_or_else(|| panic!("{k} in {text}")));
        assert!(p.is_file(), "{} is missing", p.display());
        p
    };
    (path("kernel"), path("initrd"))
}

/// The serial console's lines (the file may be mid-write).
fn console(path: &Path) -> Vec<String> {
    fs::read(path)
        .map(|b| {
            String::from_utf8_lossy(&b)
                .lines()
                .map(|l| l.trim_end_matches('\r').to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// `key=value` of a `convoy-guest:` line, as a number.
fn field(line: &str, key: &str) -> Option<f64> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
}

/// The rate lines: (seq, MiB/s).
fn rate_lines(lines: &[String]) -> Vec<(u64, f64)> {
    lines
        .iter()
        .filter(|l| l.starts_with("convoy-guest: seq="))
        .filter_map(|l| Some((field(l, "seq")? as u64, field(l, "rate")?)))
        .collect()
}

/// Waits until `done` holds for the console at `serial`; fails with the
/// console and QEMU's log when the time is up or QEMU has exited.
fn wait_console<T>(
    host: &QemuHost,
    serial: &Path,
    timeout: Duration,
    what: &str,
    done: impl Fn(&[String]) -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        let lines = console(serial);
        if let Some(v) = done(&lines) {
            return v;
        }
        let dead = host.pid(VM).is_none();
        if dead || Instant::now() > deadline {
            let log = fs::read_to_string(host.dir().join(format!("{VM}.log"))).unwrap_or_default();
            panic!(
                "{what}: {} on {} (console {}):\n{}\nQEMU's log: {log}",
                if dead { "QEMU exited" } else { "timed out" },
                host.name(),
                serial.display(),
                lines.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn pmemsave(host: &QemuHost, path: &Path) -> Vec<u8> {
    let mut q = host.qmp(VM).unwrap();
    q.execute(
        "pmemsave",
        json!({"val": 0, "size": MEMORY_MIB * MIB, "filename": path.display().to_string()}),
    )
    .unwrap();
    drop(q);
    let data = fs::read(path).unwrap();
    fs::remove_file(path).unwrap();
    data
}

fn step(b: &QemuBackend, s: Step, mv: &Move, reporter: &dyn convoy_migrate::Reporter) {
    // A migration that never converges fails the test instead of hanging it.
    let cancel = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (cancel, finished) = (cancel.clone(), finished.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !finished.load(Ordering::SeqCst) {
                if Instant::now() > deadline {
                    cancel.store(true, Ordering::SeqCst);
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let ctx = StepContext::new(mv.name(), s, 1, reporter, &cancel);
    let r = run_step(b, s, mv, &ctx);
    finished.store(true, Ordering::SeqCst);
    watchdog.join().unwrap();
    if let Err(e) = r {
        if cancel.load(Ordering::SeqCst) {
            panic!("{s} did not finish within 120 s, and was cancelled: {e}");
        }
        panic!("{s}: {e}");
    }
}

#[test]
fn a_guest_that_dirties_memory_converges_and_keeps_running_at_the_destination() {
    require_qemu();
    let (kernel, initrd) = build_guest();
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let (src_dir, dst_dir) = (dir.path().join("src"), dir.path().join("dst"));
    // The machine's extra arguments go to both sides, so the serial console
    // is a path relative to QEMU's working directory, and each host starts
    // QEMU in its own directory (`env -C` execs it there): one console file
    // per side.
    let host = |name: &str, d: &Path| {
        let h = QemuHost::new(name, d).unwrap();
        let cd = h.dir().display().to_string();
        h.with_prefix(["env".to_string(), "-C".into(), cd])
    };
    let (src, dst) = (
        Arc::new(host("private", &src_dir)),
        Arc::new(host("cloud", &dst_dir)),
    );
    let b = QemuBackend::new(src.clone(), dst.clone());
    let (src_console, dst_console) = (src_dir.join("serial.log"), dst_dir.join("serial.log"));

    let mut config = MachineConfig::new(MEMORY_MIB, 1);
    config.kernel = Some(kernel);
    config.initrd = Some(initrd);
    config.append = Some(format!(
        "console=ttyS0 quiet panic=-1 convoy.fill={FILL_MIB} convoy.wss={WSS_MIB} \
         convoy.dirty={DIRTY_MIB_S} convoy.report=1"
    ));
    config.extra_args = ["-serial", "file:serial.log", "-no-reboot"]
        .map(String::from)
        .to_vec();
    b.start_source(VM, config).unwrap();

    let ready = wait_console(
        &src,
        &src_console,
        Duration::from_secs(120),
        "waiting for the guest to fill its memory",
        |lines| {
            lines
                .iter()
                .find(|l| l.contains("convoy-guest: ready"))
                .cloned()
        },
    );
    let booted = started.elapsed();
    assert_eq!(
        field(&ready, "fill"),
        Some(FILL_MIB as f64),
        "the guest could not fill its memory: {ready}"
    );
    // Dirtying has started before the migration does.
    wait_console(
        &src,
        &src_console,
        Duration::from_secs(30),
        "waiting for the guest's first rate line",
        |lines| rate_lines(lines).first().copied(),
    );

    b.set_settings(MigrationSettings {
        max_bandwidth: Some(BANDWIDTH),
        ..MigrationSettings::default()
    });
    let mv = Move::new(
        convoy_model::Vm {
            name: VM.into(),
            site: "private".into(),
            node: "h1".into(),
            vcpus: 1,
            memory_mib: MEMORY_MIB,
            disk_gib: 0,
            addresses: vec![],
            dirty_mib_per_s: Some(DIRTY_MIB_S as f64),
            group: None,
            pinned: false,
        },
        "cloud",
        "c1",
    );
    let progress: Mutex<Vec<TransferProgress>> = Mutex::new(Vec::new());
    let reporter = |e: &Event| {
        if let Event::Progress { progress: p, .. } = e {
            progress.lock().unwrap().push(p.clone());
        }
    };
    let migration = Instant::now();
    step(&b, Step::Prepare, &mv, &reporter);
    step(&b, Step::Transfer, &mv, &reporter);
    let migrated = migration.elapsed();

    // Both sides paused: what QEMU sent, against what a single pass is.
    let info = src
        .qmp(VM)
        .unwrap()
        .execute("query-migrate", Value::Null)
        .unwrap();
    assert_eq!(info["status"], "completed", "{info}");
    let ram = |k: &str| {
        info["ram"][k]
            .as_u64()
            .unwrap_or_else(|| panic!("ram.{k} in {info}"))
    };
    let (transferred, normal_pages, syncs) =
        (ram("transferred"), ram("normal"), ram("dirty-sync-count"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while dst.run_state(VM).ok().flatten().as_deref() == Some("inmigrate") {
        assert!(
            Instant::now() < deadline,
            "the destination never finished loading"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let src_mem = pmemsave(&src, &dir.path().join("src.bin"));
    let dst_mem = pmemsave(&dst, &dir.path().join("dst.bin"));
    assert!(
        src_mem == dst_mem,
        "the destination's memory differs from the source's"
    );
    drop(dst_mem);
    // A single pass sends each non-zero page once (zero pages cost a few bytes).
    let nonzero_pages = src_mem
        .chunks(PAGE as usize)
        .filter(|p| p.iter().any(|&b| b != 0))
        .count() as u64;
    drop(src_mem);
    let max_dirty_rate = progress
        .lock()
        .unwrap()
        .iter()
        .filter_map(|p| p.dirty_rate)
        .max()
        .unwrap_or(0);
    let mib = |b: u64| b as f64 / MIB as f64;
    println!(
        "booted to ready in {:.1} s ({:?}); migrated in {:.1} s at {} MiB/s: {:.0} MiB \
         transferred, {:.0} MiB in full pages; one pass is {:.0} MiB of non-zero memory \
         ({FILL_MIB} MiB filled); {syncs} dirty syncs; dirty rate seen up to {:.1} MiB/s; \
         downtime {:?} ms",
        booted.as_secs_f64(),
        src.accel(),
        migrated.as_secs_f64(),
        BANDWIDTH / MIB,
        mib(transferred),
        mib(normal_pages * PAGE),
        mib(nonzero_pages * PAGE),
        mib(max_dirty_rate),
        info["downtime"].as_u64(),
    );
    assert!(
        transferred >= FILL_MIB * MIB,
        "only {:.0} MiB went over the wire, less than the {FILL_MIB} MiB filled",
        mib(transferred)
    );
    assert!(
        nonzero_pages * PAGE >= FILL_MIB * MIB,
        "the guest's memory holds only {nonzero_pages} non-zero pages"
    );
    // Pages dirtied during the copy were sent again: more full pages than
    // memory holds, over more than one pass.
    assert!(syncs > 1, "a single pass: {info}");
    assert!(
        normal_pages >= nonzero_pages + 4 * MIB / PAGE,
        "{normal_pages} pages sent for {nonzero_pages} non-zero pages: no dirty page was re-sent"
    );
    assert!(
        max_dirty_rate > 0,
        "QEMU never reported a dirty rate: {:?}",
        progress.lock().unwrap().last()
    );

    // The source's last rate line, then the guest at the destination.
    let last_src_seq = rate_lines(&console(&src_console))
        .last()
        .map(|&(s, _)| s)
        .unwrap();
    step(&b, Step::Cutover, &mv, &convoy_migrate::NoReport);
    let obs = b.observe(&mv).unwrap();
    assert_eq!(
        (obs.source, obs.destination),
        (Presence::Absent, Presence::Running)
    );
    // Its console (a file of the destination's own, empty at its start)
    // carries on where the source's stopped, at the rate asked.
    let dst_lines = wait_console(
        &dst,
        &dst_console,
        Duration::from_secs(30),
        "waiting for the guest's rate lines at the destination",
        |lines| {
            let r = rate_lines(lines);
            (r.len() >= 3).then_some(r)
        },
    );
    assert!(
        dst_lines[0].0 > last_src_seq,
        "the destination's console does not continue the source's: {dst_lines:?} after seq {last_src_seq}"
    );
    let steady = &dst_lines[1..];
    assert!(
        steady.iter().all(|&(_, r)| r >= DIRTY_MIB_S as f64 * 0.5),
        "the guest at the destination dirties less than asked ({DIRTY_MIB_S} MiB/s): {dst_lines:?}"
    );
    // And QEMU at the destination sees the pages change. Page sampling
    // hashes a sample of pages and reports whole MiB/s, so one short
    // measurement can read 0: sample more pages for longer, up to 3 times.
    let mut q = dst.qmp(VM).unwrap();
    let mut measured = Value::Null;
    for _ in 0..3 {
        q.execute(
            "calc-dirty-rate",
            json!({"calc-time": 2, "sample-pages": 4096, "mode": "page-sampling"}),
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        measured = loop {
            std::thread::sleep(Duration::from_millis(250));
            let r = q.execute("query-dirty-rate", Value::Null).unwrap();
            if r["status"] == "measured" {
                break r;
            }
            assert!(
                Instant::now() < deadline,
                "calc-dirty-rate never finished: {r}"
            );
        };
        if measured["dirty-rate"].as_i64().unwrap_or(0) > 0 {
            break;
        }
    }
    let rate = measured["dirty-rate"].as_i64().unwrap_or(0);
    println!(
        "at the destination: rate lines {dst_lines:?} (MiB/s), QEMU measures {rate} MiB/s; \
         whole test {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        rate > 0,
        "QEMU sees no dirty pages at the destination: {measured}"
    );
}
