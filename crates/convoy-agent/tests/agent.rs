//! The agent over real HTTP on loopback: the token is enforced, and the
//! mover moves real QEMU guests through two agents. Needs
//! `qemu-system-x86_64` (`bash scripts/install-qemu.sh`); fails, never skips,
//! without it.

use std::net::TcpListener as StdListener;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

use convoy_agent::server::Agent;
use convoy_agent::{serve, AgentHost, ClientError};
use convoy_migrate::qemu::require_qemu;
use convoy_migrate::{
    Host, Journal, MachineConfig, Move, Mover, Presence, QemuBackend, QemuHost, RamLoad, State,
};

const TOKEN: &str = "lab-token-0123456789abcdef";

/// An agent served on a loopback port from its own runtime thread.
struct Served {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Served {
    fn start(host: QemuHost) -> Served {
        let agent = Arc::new(Agent::new(host, TOKEN).unwrap());
        let listener = StdListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                serve(listener, agent, async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
            });
        });
        Served {
            url,
            stop: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn raw(method: &str, url: &str, token: Option<&str>, body: Option<&str>) -> (u16, String) {
    let mut req = ureq::request(method, url);
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let r = match body {
        Some(b) => req.set("Content-Type", "application/json").send_string(b),
        None => req.call(),
    };
    match r {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
        Err(e) => panic!("{url}: {e}"),
    }
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn requests_without_the_token_get_401_and_start_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(QemuHost::new("private", dir.path()).unwrap());
    let start = format!("{}/v1/vms/g1/start", served.url);
    let body = serde_json::json!({"config": MachineConfig::new(64, 1)}).to_string();
    for token in [None, Some("wrong-token-0123456789"), Some("")] {
        let (status, text) = raw("POST", &start, token, Some(&body));
        assert_eq!(status, 401, "{token:?}: {text}");
        assert!(text.contains("Bearer"), "{text}");
        let (status, _) = raw("GET", &format!("{}/v1/host", served.url), token, None);
        assert_eq!(status, 401);
    }
    // Nothing was started, nothing was written.
    assert_eq!(files(dir.path()), Vec::<String>::new());
    assert!(matches!(
        AgentHost::connect(&served.url, "wrong-token-0123456789"),
        Err(ClientError::Unauthorized { .. })
    ));
    // With the token: who it is, and what it refuses regardless.
    let host = AgentHost::connect(&served.url, TOKEN).unwrap();
    assert_eq!(host.name(), "private");
    let (status, text) = raw(
        "POST",
        &format!("{}/v1/vms/g1/qmp", served.url),
        Some(TOKEN),
        Some(r#"{"execute": "human-monitor-command", "arguments": {"command-line": "info"}}"#),
    );
    assert_eq!(status, 403, "{text}");
    let (status, text) = raw(
        "PUT",
        &format!("{}/v1/vms/..%2Fx/notes/a", served.url),
        Some(TOKEN),
        Some("1"),
    );
    assert_eq!(status, 400, "{text}");
    assert_eq!(host.run_state("g1").unwrap(), None);
    assert_eq!(host.read_note("g1", "machine").unwrap(), None);
    assert_eq!(files(dir.path()), Vec::<String>::new());
}

fn vm(name: &str, memory_mib: u64) -> convoy_model::Vm {
    convoy_model::Vm {
        name: name.into(),
        site: "dc".into(),
        node: "private".into(),
        vcpus: 1,
        memory_mib,
        disk_gib: 0,
        addresses: vec![],
        dirty_mib_per_s: None,
        group: None,
        pinned: false,
    }
}

/// Kills the guests on both sides however the test ends.
struct Cleanup<'a>(&'a [&'a AgentHost], Vec<String>);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for h in self.0 {
            for v in &self.1 {
                let _ = h.kill_vm(v);
            }
        }
    }
}

#[test]
fn four_guests_move_in_two_waves_through_the_agents() {
    require_qemu();
    let dir = tempfile::tempdir().unwrap();
    let private = Served::start(QemuHost::new("private", dir.path().join("private")).unwrap());
    let cloud = Served::start(QemuHost::new("cloud", dir.path().join("cloud")).unwrap());
    let p = Arc::new(AgentHost::connect(&private.url, TOKEN).unwrap());
    let c = Arc::new(AgentHost::connect(&cloud.url, TOKEN).unwrap());
    let names: Vec<String> = (1..=4).map(|i| format!("g{i}")).collect();
    let _cleanup = Cleanup(&[&*p, &*c], names.clone());
    // Firmware-only guests whose RAM holds 4 MiB of data, so that each
    // migration really carries something.
    let mem = 64;
    for (i, name) in names.iter().enumerate() {
        let ram = dir.path().join(format!("{name}.bin"));
        let data: Vec<u8> = (0..4u64 << 20)
            .map(|j| (j.wrapping_mul(2_654_435_761) >> 13) as u8 ^ i as u8)
            .collect();
        std::fs::write(&ram, data).unwrap();
        let mut config = MachineConfig::new(mem, 1);
        config.ram_loads.push(RamLoad {
            file: ram,
            addr: 0x200_0000,
        });
        p.start_vm(name, &config, false).unwrap();
        assert_eq!(p.presence(name), Presence::Running);
    }
    let backend = QemuBackend::by_node([p.clone(), c.clone()]);
    let mover = Mover::new(
        Journal::open(&dir.path().join("journal.db")).unwrap(),
        backend,
    );
    let waves: Vec<Vec<Move>> = names
        .chunks(2)
        .map(|w| {
            w.iter()
                .map(|n| Move::new(vm(n, mem), "cloud-site", "cloud"))
                .collect()
        })
        .collect();
    for (w, moves) in waves.iter().enumerate() {
        for (mv, r) in moves.iter().zip(mover.migrate_all(moves, 2)) {
            let e = r.unwrap_or_else(|e| panic!("wave {}: {}: {e}", w + 1, mv.name()));
            assert_eq!(e.state, State::Done, "{}", mv.name());
        }
        // After wave 1, the second wave's guests have not moved yet.
        if w == 0 {
            for n in &names[2..] {
                assert_eq!(p.presence(n), Presence::Running, "{n} moved too early");
                assert_eq!(c.presence(n), Presence::Absent, "{n}");
            }
        }
    }
    for n in &names {
        assert_eq!(
            (p.presence(n), c.presence(n)),
            (Presence::Absent, Presence::Running),
            "{n}: exactly one running copy, in the cloud"
        );
        assert_eq!(
            mover.entry(n).unwrap().unwrap().state,
            State::Done,
            "the journal says where {n} is"
        );
        // The configuration moved with the VM: it can move on from there.
        assert!(c.read_note(n, "machine").unwrap().is_some());
    }
}

#[test]
fn a_disk_is_mirrored_through_the_agents_byte_for_byte() {
    require_qemu();
    let dir = tempfile::tempdir().unwrap();
    let cloud_dir = dir.path().join("cloud");
    let private = Served::start(QemuHost::new("private", dir.path().join("private")).unwrap());
    let cloud = Served::start(QemuHost::new("cloud", &cloud_dir).unwrap());
    let p = Arc::new(AgentHost::connect(&private.url, TOKEN).unwrap());
    let c = Arc::new(AgentHost::connect(&cloud.url, TOKEN).unwrap());
    let _cleanup = Cleanup(&[&*p, &*c], vec!["d1".into()]);
    let disk = dir.path().join("d1-source.raw");
    let content: Vec<u8> = (0..8u64 << 20)
        .map(|j| (j.wrapping_mul(0x9e37_79b9) >> 11) as u8)
        .collect();
    std::fs::write(&disk, &content).unwrap();
    let mut config = MachineConfig::new(64, 1);
    config.disk = Some(convoy_migrate::DiskConfig {
        path: disk,
        format: "raw".into(),
    });
    p.start_vm("d1", &config, false).unwrap();
    let mover = Mover::new(
        Journal::in_memory().unwrap(),
        QemuBackend::by_node([p.clone(), c.clone()]),
    );
    let mut moved = vm("d1", 64);
    moved.disk_gib = 1;
    let e = mover
        .migrate(&Move::new(moved, "cloud-site", "cloud"))
        .unwrap();
    assert_eq!(e.state, State::Done);
    assert_eq!(
        (p.presence("d1"), c.presence("d1")),
        (Presence::Absent, Presence::Running)
    );
    // Stop the destination so that its image is flushed, then compare.
    c.quit_vm("d1").unwrap();
    let copied = std::fs::read(cloud_dir.join("d1.raw")).unwrap();
    assert!(
        copied == content,
        "the disk at the destination differs from the source's"
    );
}
