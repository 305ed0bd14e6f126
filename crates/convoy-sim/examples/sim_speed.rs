//! How fast the simulator runs a few-hundred-VM cluster, and what K does.
//!
//! `cargo run --release -p convoy-sim --example sim_speed [N_VMS]` builds a
//! seeded synthetic cluster (memory 1–16 GiB, disks 0–49 GiB, dirty rates
//! 0–50 MiB/s, four conversations of 0–100 kB/s per VM) and runs it over a
//! 1 Gbit/s, 40 ms WAN in inventory order with K = 1, 4 and 16, printing the
//! simulated figures and the wall time of each run.

use std::time::Instant;

use convoy_sim::{
    simulate, Conversation, Endpoint, NoProgress, Scenario, Schedule, Side, SimConfig, SimVm,
};

/// xorshift64*: a fixed, dependency-free generator for the synthetic cluster.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300);
    let mut g = Gen(12345);
    let vms: Vec<SimVm> = (0..n)
        .map(|i| SimVm {
            name: format!("vm{i}"),
            memory_mib: 1024 * (1 + g.below(16) as u64),
            disk_gib: g.below(50) as u64,
            dirty_mib_per_s: Some(g.unit() * 50.0),
            start: Side::Source,
            pinned: false,
        })
        .collect();
    let mut conversations = Vec::new();
    for i in 0..n {
        for _ in 0..4 {
            let j = g.below(n);
            if j != i {
                conversations.push(Conversation {
                    a: Endpoint::Vm(i),
                    b: Endpoint::Vm(j),
                    bytes_per_s: g.unit() * 1e5,
                    requests_per_s: Some(100.0),
                });
            }
        }
    }
    let scenario = Scenario { vms, conversations };
    let config = SimConfig::new("1Gbit/s,40ms".parse().expect("a valid WAN"));
    println!(
        "{n} VMs, {} conversations, {}",
        scenario.conversations.len(),
        config.wan
    );
    for k in [1, 4, 16] {
        let t0 = Instant::now();
        let r = simulate(
            &scenario,
            &Schedule::from_order((0..n).collect(), k),
            &config,
            &mut NoProgress,
        )
        .expect("valid input");
        let wall = t0.elapsed();
        println!(
            "K={k:>2}: completion {:.0} s, migration {:.2} TB, app {:.2} TB, \
             edge-seconds {:.3e}, max downtime {:.0} ms, {} converged / {} forced, \
             {} load points; {:.1} ms wall",
            r.completion_s,
            r.wan_migration_bytes / 1e12,
            r.wan_app_bytes / 1e12,
            r.stretched_edge_seconds,
            r.max_downtime_s * 1e3,
            r.converged,
            r.forced,
            r.load.len(),
            wall.as_secs_f64() * 1e3
        );
    }
}
