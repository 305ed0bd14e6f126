//! Physics and conservation laws of the simulator, on hand-made cases and on a
//! seeded family of random clusters.

use convoy_sim::{
    simulate, simulate_online, ChooserView, Conversation, Endpoint, MigrationSettings, NoProgress,
    NonConvergence, Outcome, ProgressInfo, Report, Scenario, Schedule, Side, SimConfig, SimVm,
    Stage, Wan, GIB, MIB,
};

fn vm(name: &str, memory_mib: u64, disk_gib: u64, dirty: f64) -> SimVm {
    SimVm {
        name: name.into(),
        memory_mib,
        disk_gib,
        dirty_mib_per_s: Some(dirty),
        start: Side::Source,
        pinned: false,
    }
}

fn run(scenario: &Scenario, schedule: &Schedule, config: &SimConfig) -> Report {
    simulate(scenario, schedule, config, &mut NoProgress).expect("valid input")
}

fn gbit(rtt_ms: f64) -> SimConfig {
    SimConfig::new(Wan::new(1e9, rtt_ms / 1000.0))
}

/// xorshift64*, for the seeded family of test clusters.
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

/// A random cluster: VMs with varied sizes and dirty rates (some beyond what
/// the link can follow), conversations between them and with fixed peers on
/// either side, a random order in random waves, random K and WAN.
fn random_case(seed: u64) -> (Scenario, Schedule, SimConfig) {
    let mut g = Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let n = 2 + g.below(14);
    let vms: Vec<SimVm> = (0..n)
        .map(|i| {
            let mut v = vm(
                &format!("vm{i}"),
                256 + 256 * g.below(16) as u64,
                if g.unit() < 0.3 { g.below(8) as u64 } else { 0 },
                [0.0, 2.0, 20.0, 80.0, 400.0][g.below(5)],
            );
            if g.unit() < 0.1 {
                v.pinned = true;
            }
            if g.unit() < 0.05 {
                v.start = Side::Destination;
            }
            v
        })
        .collect();
    let mut conversations = Vec::new();
    for _ in 0..g.below(3 * n) {
        let a = Endpoint::Vm(g.below(n));
        let b = if g.unit() < 0.2 {
            Endpoint::Fixed(if g.unit() < 0.5 {
                Side::Source
            } else {
                Side::Destination
            })
        } else {
            Endpoint::Vm(g.below(n))
        };
        conversations.push(Conversation {
            a,
            b,
            bytes_per_s: g.unit() * 20e6,
            requests_per_s: if g.unit() < 0.5 {
                Some(g.unit() * 500.0)
            } else {
                None
            },
        });
    }
    let mut movable: Vec<usize> = (0..n)
        .filter(|&i| !vms[i].pinned && vms[i].start == Side::Source)
        .collect();
    for i in (1..movable.len()).rev() {
        movable.swap(i, g.below(i + 1));
    }
    // Drop a few VMs from the plan, and cut the rest into waves.
    movable.truncate(movable.len() - g.below(2).min(movable.len()));
    let mut waves = vec![Vec::new()];
    for v in movable {
        if g.unit() < 0.2 {
            waves.push(Vec::new());
        }
        waves.last_mut().unwrap().push(v);
    }
    let schedule = Schedule {
        waves,
        concurrency: 1 + g.below(4),
    };
    let mut wan = Wan::new(
        [1e8, 1e9, 1e10][g.below(3)],
        [0.0, 0.005, 0.04, 0.15][g.below(4)],
    );
    if g.unit() < 0.3 {
        wan.loss = [1e-6, 1e-4][g.below(2)];
    }
    let migration = MigrationSettings {
        auto_converge: g.unit() < 0.7,
        max_rounds: 1 + g.below(40) as u32,
        on_non_convergence: if g.unit() < 0.5 {
            NonConvergence::ForceSwitchover
        } else {
            NonConvergence::Abort
        },
        streams: 1 + g.below(3) as u32,
        max_bandwidth_bps: if g.unit() < 0.3 { Some(3e8) } else { None },
        dirty_jitter: if g.unit() < 0.5 { 0.3 } else { 0.0 },
        app_share_forward: [1.0, 0.5][g.below(2)],
        working_set_fraction: [1.0, 0.1][g.below(2)],
        reserved_share: [0.0, 0.3][g.below(2)],
        ..MigrationSettings::default()
    };
    let config = SimConfig {
        wan,
        migration,
        seed,
    };
    (Scenario { vms, conversations }, schedule, config)
}

const FAMILY: u64 = 300;

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn no_run_finishes_faster_than_its_bytes_over_the_link_rate() {
    for seed in 0..FAMILY {
        let (sc, sched, cfg) = random_case(seed);
        let r = run(&sc, &sched, &cfg);
        let bytes_per_s = cfg.wan.capacity_bps / 8.0;
        let on_wire = r.wan_migration_bytes + r.wan_app_bytes;
        assert!(
            r.completion_s >= on_wire / bytes_per_s * (1.0 - 1e-12),
            "seed {seed}: {} s for {} bytes",
            r.completion_s,
            on_wire
        );
        // And at least the memory and disks of the VMs that moved, once each.
        let floor: f64 = r
            .vms
            .iter()
            .filter(|v| v.final_site == Side::Destination && v.start_site == Side::Source)
            .map(|v| {
                let s = &sc.vms[sc.vm_index(&v.name).unwrap()];
                s.memory_mib as f64 * MIB + s.disk_gib as f64 * GIB
            })
            .sum();
        assert!(r.completion_s >= floor / bytes_per_s * (1.0 - 1e-12));
        assert!(r.peak_wan_bps <= cfg.wan.capacity_bps * (1.0 + 1e-12));
    }
}

#[test]
fn single_idle_vm_takes_memory_over_rate_plus_rtt() {
    let sc = Scenario {
        vms: vec![vm("a", 8192, 0, 0.0)],
        conversations: vec![],
    };
    let sched = Schedule::from_order(vec![0], 1);
    for (rate, rtt) in [(1e9, 0.04), (1e8, 0.0), (1e10, 0.2)] {
        let cfg = SimConfig::new(Wan::new(rate, rtt));
        let r = run(&sc, &sched, &cfg);
        let expected = 8192.0 * MIB * 8.0 / rate + rtt;
        assert!(
            (r.completion_s - expected).abs() <= 1e-9 * expected,
            "{} vs {expected}",
            r.completion_s
        );
        let m = r.vms[0].migration.as_ref().unwrap();
        assert_eq!(m.outcome, Outcome::Converged);
        assert_eq!(m.rounds, 1);
        assert!((m.downtime_s - rtt).abs() < 1e-9);
        assert_eq!(m.memory_bytes, 8192.0 * MIB);
    }
    // With a disk: the disk first, then the memory.
    let sc = Scenario {
        vms: vec![vm("a", 1024, 10, 0.0)],
        conversations: vec![],
    };
    let r = run(&sc, &sched, &gbit(40.0));
    let expected = (10.0 * GIB + 1024.0 * MIB) * 8.0 / 1e9 + 0.04;
    assert!((r.completion_s - expected).abs() <= 1e-9 * expected);
    let m = r.vms[0].migration.as_ref().unwrap();
    let stages: Vec<Stage> = m.spans.iter().map(|s| s.stage).collect();
    assert_eq!(
        stages,
        [
            Stage::Disk,
            Stage::Precopy,
            Stage::StopAndCopy,
            Stage::Switchover
        ]
    );
    assert!((m.spans[0].end_s - 10.0 * GIB * 8.0 / 1e9).abs() < 1e-9);
    // With loss: one TCP stream is held to the Mathis et al. bound.
    let mut cfg = gbit(40.0);
    cfg.wan.loss = 1e-4;
    let stream = cfg.wan.stream_cap_bytes_per_s();
    assert!(stream < 1e9 / 8.0);
    let r = run(&sc, &sched, &cfg);
    let expected = (10.0 * GIB + 1024.0 * MIB) / stream + 0.04;
    assert!((r.completion_s - expected).abs() <= 1e-9 * expected);
    // Four streams get four times as far.
    cfg.migration.streams = 4;
    let r4 = run(&sc, &sched, &cfg);
    let expected = (10.0 * GIB + 1024.0 * MIB) / (4.0 * stream) + 0.04;
    assert!((r4.completion_s - expected).abs() <= 1e-9 * expected);
}

#[test]
fn precopy_rounds_follow_the_dirty_rate() {
    // 1 GiB at 1 Gbit/s (125 MB/s ≈ 119.2 MiB/s), dirtying 40 MiB/s, no throttle:
    // each round sends what the previous one dirtied, a geometric series of
    // ratio 40 / 119.2 until the remainder fits 300 ms.
    let sc = Scenario {
        vms: vec![vm("a", 1024, 0, 40.0)],
        conversations: vec![],
    };
    let mut cfg = gbit(40.0);
    cfg.migration.auto_converge = false;
    let r = run(&sc, &Schedule::from_order(vec![0], 1), &cfg);
    let m = r.vms[0].migration.as_ref().unwrap();
    let rate = 1e9 / 8.0;
    let ratio = 40.0 * MIB / rate;
    let mut size = 1024.0 * MIB;
    let mut total = 0.0;
    let mut rounds = 0;
    loop {
        total += size;
        rounds += 1;
        let written = size / rate * 40.0 * MIB;
        // Writes spread over all memory: distinct dirty bytes saturate.
        let dirtied = 1024.0 * MIB * (1.0 - (-written / (1024.0 * MIB)).exp());
        if dirtied / rate <= 0.3 {
            total += dirtied;
            break;
        }
        size = dirtied;
    }
    assert!(ratio < 1.0);
    assert_eq!(m.rounds, rounds);
    assert!(close(m.memory_bytes, total, 1e-9));
    assert!(close(r.completion_s, total / rate + 0.04, 1e-9));
    assert!(m.expected_downtime_s.unwrap() <= 0.3);
}

#[test]
fn downtime_respects_the_limit_unless_the_run_says_it_did_not_converge() {
    // One move at a time: the share cannot drop during the stop-and-copy.
    for dirty in [0.0, 1.0, 10.0, 50.0, 100.0, 110.0, 200.0, 1000.0] {
        for auto_converge in [false, true] {
            let sc = Scenario {
                vms: vec![vm("a", 4096, 0, dirty), vm("b", 2048, 1, dirty / 2.0)],
                conversations: vec![],
            };
            let mut cfg = gbit(40.0);
            cfg.migration.auto_converge = auto_converge;
            let r = run(&sc, &Schedule::from_order(vec![0, 1], 1), &cfg);
            for v in &r.vms {
                let m = v.migration.as_ref().unwrap();
                if m.converged {
                    assert!(
                        m.downtime_s <= 0.3 + 0.04 + 1e-9,
                        "dirty {dirty}: downtime {}",
                        m.downtime_s
                    );
                } else {
                    assert_eq!(m.outcome, Outcome::Forced);
                    assert!(m.downtime_s > 0.3 + 0.04);
                    assert_eq!(m.rounds, cfg.migration.max_rounds);
                }
            }
            assert_eq!(
                r.converged + r.forced,
                2,
                "every move is reported either way"
            );
            // 1000 MiB/s dirtying on a 119 MiB/s link cannot converge without throttling.
            if dirty >= 200.0 && !auto_converge {
                assert!(r.forced >= 1 && r.max_downtime_s > 0.34);
            }
        }
    }
    // With several moves at once, QEMU's own estimate still respects the limit.
    for seed in 0..FAMILY {
        let (sc, sched, cfg) = random_case(seed);
        let r = run(&sc, &sched, &cfg);
        for m in r.vms.iter().filter_map(|v| v.migration.as_ref()) {
            if m.converged {
                assert!(m.expected_downtime_s.unwrap() <= cfg.migration.downtime_limit_s);
            } else {
                assert!(m.rounds == cfg.migration.max_rounds, "seed {seed}");
            }
        }
    }
}

#[test]
fn auto_converge_throttles_a_guest_that_does_not_converge() {
    // 200 MiB/s of dirtying on a 119 MiB/s link: never converges unthrottled.
    let sc = Scenario {
        vms: vec![vm("a", 4096, 0, 200.0)],
        conversations: vec![],
    };
    let sched = Schedule::from_order(vec![0], 1);
    let mut cfg = gbit(40.0);
    cfg.migration.max_rounds = 100;
    cfg.migration.auto_converge = false;
    let off = run(&sc, &sched, &cfg);
    assert_eq!(off.forced, 1);
    cfg.migration.auto_converge = true;
    let on = run(&sc, &sched, &cfg);
    let m = on.vms[0].migration.as_ref().unwrap();
    assert_eq!(m.outcome, Outcome::Converged);
    // 200 × (1 − p) must fall to about 119 × 0.3 / round time: p ≥ 20 % at least.
    assert!(m.final_throttle >= 0.2 && m.final_throttle <= 0.99);
    assert!(on.completion_s < off.completion_s);
    // Abort leaves the VM where it was.
    cfg.migration.auto_converge = false;
    cfg.migration.on_non_convergence = NonConvergence::Abort;
    let ab = run(&sc, &sched, &cfg);
    assert_eq!(ab.aborted, 1);
    assert_eq!(ab.moved, 0);
    assert_eq!(ab.vms[0].final_site, Side::Source);
    assert_eq!(ab.vms[0].migration.as_ref().unwrap().downtime_s, 0.0);
}

#[test]
fn every_vm_ends_on_exactly_one_site() {
    for seed in 0..FAMILY {
        let (sc, sched, cfg) = random_case(seed);
        let r = run(&sc, &sched, &cfg);
        assert_eq!(r.vms.len(), sc.vms.len());
        let scheduled: Vec<bool> = {
            let mut s = vec![false; sc.vms.len()];
            for &v in sched.waves.iter().flatten() {
                s[v] = true;
            }
            s
        };
        let mut moved = 0;
        for (i, v) in r.vms.iter().enumerate() {
            assert_eq!(v.start_site, sc.vms[i].start);
            match &v.migration {
                None => {
                    assert!(!scheduled[i]);
                    assert_eq!(v.final_site, v.start_site);
                }
                Some(m) => {
                    assert!(scheduled[i]);
                    let expected = if m.outcome == Outcome::Aborted {
                        Side::Source
                    } else {
                        moved += 1;
                        Side::Destination
                    };
                    assert_eq!(v.final_site, expected, "seed {seed}, VM {i}");
                    // Its stages tile [start, end] without gaps or overlaps.
                    assert_eq!(m.spans.first().unwrap().start_s, m.start_s);
                    assert_eq!(m.spans.last().unwrap().end_s, m.end_s);
                    for w in m.spans.windows(2) {
                        assert_eq!(w[0].end_s, w[1].start_s);
                        assert!(w[0].start_s <= w[0].end_s);
                    }
                    assert!(m.end_s <= r.completion_s);
                }
            }
        }
        assert_eq!(r.moved, moved);
        // The conversations stretched at the end agree with where the VMs are.
        let site = |e: Endpoint| match e {
            Endpoint::Vm(i) => r.vms[i].final_site,
            Endpoint::Fixed(s) => s,
        };
        let stretched = sc
            .conversations
            .iter()
            .filter(|c| site(c.a) != site(c.b))
            .count();
        assert_eq!(r.stretched_at_end, stretched, "seed {seed}");
    }
}

#[test]
fn bytes_sent_equal_bytes_received() {
    for seed in 0..FAMILY {
        let (sc, sched, cfg) = random_case(seed);
        let r = run(&sc, &sched, &cfg);
        let mut total = 0.0;
        for m in r.vms.iter().filter_map(|v| v.migration.as_ref()) {
            assert!(
                close(m.bytes_sent, m.bytes_received, 1e-9),
                "seed {seed}: sent {} received {}",
                m.bytes_sent,
                m.bytes_received
            );
            assert!(close(
                m.bytes_received,
                m.disk_bytes + m.memory_bytes,
                1e-12
            ));
            total += m.bytes_sent;
        }
        assert!(close(total, r.wan_migration_bytes, 1e-9));
        // The WAN load series carries the same bytes.
        let (mut mig, mut app) = (0.0, 0.0);
        for w in r.load.windows(2) {
            mig += w[0].migration_bps / 8.0 * (w[1].t_s - w[0].t_s);
            app += w[0].app_bps / 8.0 * (w[1].t_s - w[0].t_s);
        }
        assert!(close(mig, r.wan_migration_bytes, 1e-9), "seed {seed}");
        assert!(close(app, r.wan_app_bytes, 1e-9), "seed {seed}");
        // So do the chart's bins.
        let bins = r.load_bins(37);
        let binned: f64 = bins
            .iter()
            .map(|b| b.migration_bps / 8.0 * (b.end_s - b.start_s))
            .sum();
        assert!(close(binned, r.wan_migration_bytes, 1e-9));
        // Application traffic carried never exceeds what the stretched
        // conversations asked for.
        let asked = r.weighted_stretch_bytes * cfg.migration.app_share_forward;
        assert!(r.wan_app_bytes <= asked * (1.0 + 1e-9), "seed {seed}");
    }
}

#[test]
fn same_seed_same_json() {
    for seed in [3, 17, 101] {
        let (sc, sched, mut cfg) = random_case(seed);
        cfg.migration.dirty_jitter = 0.5;
        let a = serde_json::to_string(&run(&sc, &sched, &cfg)).unwrap();
        let b = serde_json::to_string(&run(&sc, &sched, &cfg)).unwrap();
        assert_eq!(a, b);
    }
    // The seed matters when there is jitter.
    let sc = Scenario {
        vms: (0..4)
            .map(|i| vm(&format!("v{i}"), 2048, 0, 60.0))
            .collect(),
        conversations: vec![],
    };
    let sched = Schedule::from_order(vec![0, 1, 2, 3], 2);
    let mut cfg = gbit(40.0);
    cfg.migration.dirty_jitter = 0.5;
    let a = serde_json::to_string(&run(&sc, &sched, &cfg)).unwrap();
    cfg.seed = 1;
    let b = serde_json::to_string(&run(&sc, &sched, &cfg)).unwrap();
    assert_ne!(a, b);
}

#[test]
fn concurrency_is_respected_at_every_instant() {
    for seed in 0..FAMILY {
        let (sc, sched, cfg) = random_case(seed);
        let r = run(&sc, &sched, &cfg);
        let mut events: Vec<(f64, i32)> = Vec::new();
        for m in r.vms.iter().filter_map(|v| v.migration.as_ref()) {
            // A zero-length move occupies no instant.
            if m.end_s > m.start_s {
                events.push((m.start_s, 1));
                events.push((m.end_s, -1));
            }
        }
        // Ends before starts at the same instant: a freed slot is reused at once.
        events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut running = 0;
        for (_, d) in events {
            running += d;
            assert!(running as usize <= sched.concurrency, "seed {seed}");
        }
        // Waves are barriers.
        let end_of = |w: &Vec<usize>| {
            w.iter()
                .map(|&v| r.vms[v].migration.as_ref().unwrap().end_s)
                .fold(0.0, f64::max)
        };
        for pair in sched.waves.windows(2) {
            let barrier = end_of(&pair[0]);
            for &v in &pair[1] {
                assert!(r.vms[v].migration.as_ref().unwrap().start_s >= barrier);
            }
        }
    }
    // Slots are used: with K = 3 and 6 equal VMs, three run at once, and
    // each starts when a slot frees, in order.
    let sc = Scenario {
        vms: (0..6).map(|i| vm(&format!("v{i}"), 1024, 0, 0.0)).collect(),
        conversations: vec![],
    };
    let r = run(&sc, &Schedule::from_order((0..6).collect(), 3), &gbit(10.0));
    let m = |i: usize| r.vms[i].migration.clone().unwrap();
    for i in 0..3 {
        assert_eq!(m(i).start_s, 0.0);
        assert_eq!(m(i + 3).start_s, m(i).end_s);
    }
    // Three streams share the link: each takes three times as long.
    let alone = 1024.0 * MIB * 8.0 / 1e9;
    assert!(close(m(0).end_s, 3.0 * alone + 0.01, 1e-12));
}

#[test]
fn application_traffic_on_the_wan_slows_migrations() {
    // Every VM talks to a service already in the cloud: while it waits at the
    // source, that conversation crosses the WAN and takes capacity from the moves.
    let mut last = 0.0;
    let mut completions = Vec::new();
    for mbytes in [0.0, 10.0, 30.0, 60.0, 100.0] {
        for dirty in [0.0, 5.0] {
            let sc = Scenario {
                vms: (0..5)
                    .map(|i| vm(&format!("v{i}"), 2048, 1, dirty))
                    .collect(),
                conversations: (0..5)
                    .map(|i| Conversation {
                        a: Endpoint::Vm(i),
                        b: Endpoint::Fixed(Side::Destination),
                        bytes_per_s: mbytes * 1e6 / 5.0,
                        requests_per_s: None,
                    })
                    .collect(),
            };
            let mut cfg = gbit(40.0);
            cfg.migration.auto_converge = false;
            let r = run(&sc, &Schedule::from_order((0..5).collect(), 2), &cfg);
            if dirty == 0.0 {
                assert!(r.completion_s >= last, "{mbytes} MB/s: {}", r.completion_s);
                last = r.completion_s;
                completions.push(r.completion_s);
            }
            if mbytes > 0.0 {
                assert!(r.wan_app_bytes > 0.0 && r.peak_wan_bps > 0.0);
            }
        }
    }
    assert!(completions.last().unwrap() > &(completions[0] * 1.5));
}

#[test]
fn a_reserved_share_protects_the_moves_from_a_saturated_link() {
    // 60 conversations of 5 MB/s to a cloud service: 2.4 Gbit/s of demand on
    // a 1 Gbit/s link. Fair sharing leaves one move a 61st of it; a 50 %
    // reserve gives it half.
    let sc = Scenario {
        vms: vec![vm("a", 1024, 0, 0.0)],
        conversations: (0..60)
            .map(|_| Conversation {
                a: Endpoint::Fixed(Side::Source),
                b: Endpoint::Fixed(Side::Destination),
                bytes_per_s: 5e6,
                requests_per_s: None,
            })
            .collect(),
    };
    let sched = Schedule::from_order(vec![0], 1);
    let mut cfg = gbit(0.0);
    let fair = run(&sc, &sched, &cfg);
    let bytes = 1024.0 * MIB;
    assert!(close(fair.completion_s, bytes / (125e6 / 61.0), 1e-12));
    cfg.migration.reserved_share = 0.5;
    let reserved = run(&sc, &sched, &cfg);
    assert!(close(reserved.completion_s, bytes / 62.5e6, 1e-12));
    assert!(close(reserved.peak_wan_bps, 1e9, 1e-12));
    assert!(close(
        reserved.wan_app_bytes,
        62.5e6 * reserved.completion_s,
        1e-12
    ));
}

#[test]
fn stretch_metrics_measure_the_split() {
    // a — b with 1 MB/s and 100 requests/s; a moves first, then b: the
    // conversation is stretched from a's switchover to b's.
    let sc = Scenario {
        vms: vec![vm("a", 1024, 0, 0.0), vm("b", 1024, 0, 0.0)],
        conversations: vec![Conversation {
            a: Endpoint::Vm(0),
            b: Endpoint::Vm(1),
            bytes_per_s: 1e6,
            requests_per_s: Some(100.0),
        }],
    };
    let cfg = gbit(40.0);
    let r = run(&sc, &Schedule::from_order(vec![0, 1], 1), &cfg);
    let split =
        r.vms[1].migration.as_ref().unwrap().end_s - r.vms[0].migration.as_ref().unwrap().end_s;
    assert!(split > 0.0);
    assert!(close(r.stretched_edge_seconds, split, 1e-12));
    assert!(close(r.weighted_stretch_bytes, 1e6 * split, 1e-12));
    assert!(close(r.latency_penalty_s, 100.0 * 0.04 * split, 1e-12));
    assert!(close(r.stretched_requests, 100.0 * split, 1e-12));
    assert_eq!((r.stretched_at_start, r.stretched_at_end), (0, 0));
    // Moving both at once stretches nothing: both switch over at the same instant.
    let r = run(&sc, &Schedule::from_order(vec![0, 1], 2), &cfg);
    assert_eq!(r.stretched_edge_seconds, 0.0);
    // A pinned peer: stretched from the move to the end of the run.
    let mut sc2 = sc.clone();
    sc2.vms[1].pinned = true;
    let r = run(&sc2, &Schedule::from_order(vec![0], 1), &cfg);
    assert_eq!(r.stretched_edge_seconds, 0.0);
    assert_eq!(r.stretched_at_end, 1);
}

#[test]
fn progress_reports_simulated_time() {
    let (sc, sched, cfg) = random_case(42);
    let mut seen: Vec<ProgressInfo> = Vec::new();
    let r = simulate(&sc, &sched, &cfg, &mut |p: &ProgressInfo| {
        seen.push(p.clone())
    })
    .unwrap();
    assert!(!seen.is_empty());
    for w in seen.windows(2) {
        assert!(w[0].sim_time_s <= w[1].sim_time_s);
        assert!(w[0].vms_done <= w[1].vms_done);
        assert!(w[1].running <= sched.concurrency);
    }
    let last = seen.last().unwrap();
    assert_eq!(last.vms_done, last.vms_total);
    assert_eq!(last.sim_time_s, r.completion_s);
}

#[test]
fn bad_input_is_refused_not_simulated() {
    let sc = Scenario {
        vms: vec![vm("a", 1024, 0, 0.0)],
        conversations: vec![],
    };
    let sched = Schedule::from_order(vec![0], 1);
    let mut cfg = gbit(40.0);
    cfg.wan.capacity_bps = 0.0;
    assert!(simulate(&sc, &sched, &cfg, &mut NoProgress).is_err());
    let mut cfg = gbit(40.0);
    cfg.migration.downtime_limit_s = f64::NAN;
    assert!(simulate(&sc, &sched, &cfg, &mut NoProgress).is_err());
    let mut bad = sc.clone();
    bad.conversations.push(Conversation {
        a: Endpoint::Vm(0),
        b: Endpoint::Vm(7),
        bytes_per_s: 1.0,
        requests_per_s: None,
    });
    assert!(simulate(&bad, &sched, &gbit(40.0), &mut NoProgress).is_err());
    let mut bad = sc.clone();
    bad.vms[0].dirty_mib_per_s = Some(-1.0);
    assert!(simulate(&bad, &sched, &gbit(40.0), &mut NoProgress).is_err());
    // An empty schedule is a run that takes no time.
    let r = run(&sc, &Schedule::from_order(vec![], 1), &gbit(40.0));
    assert_eq!(r.completion_s, 0.0);
    assert_eq!(r.vms[0].final_site, Side::Source);
}

#[test]
fn an_online_chooser_that_follows_the_list_is_the_fixed_schedule() {
    for seed in 0..60 {
        let (sc, sched, cfg) = random_case(seed);
        let order: Vec<usize> = sched.waves.concat();
        let fixed = run(
            &sc,
            &Schedule::from_order(order.clone(), sched.concurrency),
            &cfg,
        );
        let mut first = |v: &ChooserView| v.remaining.first().copied();
        let online = simulate_online(
            &sc,
            &order,
            sched.concurrency,
            &mut first,
            &cfg,
            &mut NoProgress,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&fixed).unwrap(),
            serde_json::to_string(&online).unwrap(),
            "seed {seed}"
        );
    }
}

#[test]
fn an_online_chooser_sees_the_stretched_traffic() {
    // A chain 0 — 1 — 2 — 3 — 4 whose end 4 talks to a service in the cloud.
    // Following the traffic moves 4, 3, 2, 1, 0 and keeps one link stretched
    // at a time.
    let n = 5;
    let mut conversations: Vec<Conversation> = (0..n - 1)
        .map(|i| Conversation {
            a: Endpoint::Vm(i),
            b: Endpoint::Vm(i + 1),
            bytes_per_s: 1e5,
            requests_per_s: None,
        })
        .collect();
    conversations.push(Conversation {
        a: Endpoint::Vm(n - 1),
        b: Endpoint::Fixed(Side::Destination),
        bytes_per_s: 1e5,
        requests_per_s: None,
    });
    let sc = Scenario {
        vms: (0..n).map(|i| vm(&format!("v{i}"), 512, 0, 0.0)).collect(),
        conversations,
    };
    let cfg = gbit(40.0);
    let mut views = 0;
    let mut greedy = |v: &ChooserView| {
        views += 1;
        // What the view says is stretched agrees with where the VMs are.
        for (i, &rate) in v.observed_bytes_per_s.iter().enumerate() {
            let expected: f64 = sc
                .conversations
                .iter()
                .filter(|c| c.a == Endpoint::Vm(i) || c.b == Endpoint::Vm(i))
                .filter(|c| {
                    let site = |e: Endpoint| match e {
                        Endpoint::Vm(j) => v.sites[j],
                        Endpoint::Fixed(s) => s,
                    };
                    site(c.a) != site(c.b)
                })
                .map(|c| c.bytes_per_s)
                .sum();
            assert_eq!(rate, expected);
        }
        v.remaining
            .iter()
            .copied()
            .max_by(|&a, &b| v.observed_bytes_per_s[a].total_cmp(&v.observed_bytes_per_s[b]))
    };
    let r = simulate_online(&sc, &[0, 1, 2, 3, 4], 1, &mut greedy, &cfg, &mut NoProgress).unwrap();
    assert_eq!(views, n);
    assert_eq!(r.order, ["v4", "v3", "v2", "v1", "v0"]);
    let blind = run(&sc, &Schedule::from_order(vec![0, 1, 2, 3, 4], 1), &cfg);
    // One link stretched during each of the 5 moves, against 1 then 2 for
    // the blind order (the cloud link and the chain's cut).
    assert!(close(r.stretched_edge_seconds, r.completion_s, 1e-12));
    let first_move = blind.vms[0].migration.as_ref().unwrap().end_s;
    assert!(close(
        blind.stretched_edge_seconds,
        first_move + 2.0 * (blind.completion_s - first_move),
        1e-12
    ));
    assert!(r.stretched_edge_seconds < 0.6 * blind.stretched_edge_seconds);
    // A chooser may stop early; one that picks a stranger is refused.
    let mut stop = |_: &ChooserView| None;
    let r = simulate_online(&sc, &[0, 1], 1, &mut stop, &cfg, &mut NoProgress).unwrap();
    assert_eq!((r.completion_s, r.moved), (0.0, 0));
    let mut stranger = |_: &ChooserView| Some(3);
    assert!(simulate_online(&sc, &[0, 1], 1, &mut stranger, &cfg, &mut NoProgress).is_err());
}
