//! Migrates one firmware-only QEMU guest between two QEMU processes on this
//! machine and prints what it took, as JSON.
//!
//! `cargo run --release -p convoy-migrate --example migrate_one -- [MEM_MIB [FILL_MIB [MAX_MIB_PER_S]]]`
//!
//! FILL_MIB of the guest's RAM (at 32 MiB) is filled with random bytes, which
//! QEMU cannot skip as zero pages; the rest stays zero.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use convoy_migrate::{
    Event, Journal, MachineConfig, MigrationSettings, Move, Mover, QemuBackend, QemuHost, RamLoad,
    TransferProgress,
};

fn main() -> anyhow::Result<()> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let mem = args.first().copied().unwrap_or(256);
    let fill = args
        .get(1)
        .copied()
        .unwrap_or(mem.saturating_sub(64))
        .min(mem.saturating_sub(32));
    let cap = args.get(2).copied();
    let dir = tempfile::tempdir()?;
    let ram = dir.path().join("ram.bin");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut data = Vec::with_capacity((fill << 20) as usize);
    while data.len() < (fill << 20) as usize {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(&ram, &data)?;
    drop(data);
    let src = Arc::new(QemuHost::new("private", dir.path().join("src"))?);
    let dst = Arc::new(QemuHost::new("cloud", dir.path().join("dst"))?);
    let accel = src.accel();
    let backend = Arc::new(QemuBackend::new(src, dst));
    backend.set_settings(MigrationSettings {
        max_bandwidth: cap.map(|c| c << 20),
        ..MigrationSettings::default()
    });
    let mut config = MachineConfig::new(mem, 1);
    config.ram_loads.push(RamLoad {
        file: ram,
        addr: 0x200_0000,
    });
    backend.start_source("vm", config)?;
    let last: Arc<Mutex<Option<TransferProgress>>> = Arc::default();
    let seen = last.clone();
    let mover = Mover::new(Journal::in_memory()?, backend.clone()).with_reporter(Arc::new(
        move |e: &Event| {
            if let Event::Progress { progress, .. } = e {
                *seen.lock().unwrap() = Some(progress.clone());
            }
        },
    ));
    let vm = convoy_model::Vm {
        name: "vm".into(),
        site: "private".into(),
        node: "h1".into(),
        vcpus: 1,
        memory_mib: mem,
        disk_gib: 0,
        addresses: vec![],
        dirty_mib_per_s: Some(0.0),
        group: None,
        pinned: false,
    };
    let t = Instant::now();
    mover.migrate(&Move::new(vm, "cloud", "c1"))?;
    let wall = t.elapsed().as_secs_f64();
    let p = last.lock().unwrap().clone().unwrap_or_default();
    println!(
        "{}",
        serde_json::json!({
            "accel": format!("{accel:?}").to_lowercase(),
            "memory_mib": mem,
            "random_mib": fill,
            "max_mib_per_s": cap,
            "wall_s": wall,
            "qemu_total_ms": p.elapsed_ms,
            "bytes": p.sent,
            "downtime_ms": p.downtime_ms,
        })
    );
    Ok(())
}
