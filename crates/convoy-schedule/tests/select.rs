//! `select` meets every need it accepts, never moves a pinned VM, and on small
//! inputs its cut equals the best of all subsets (brute force), which also
//! confirms every infeasibility it reports.

use convoy_model::{Graph, GraphBuilder};
use convoy_schedule::select::{
    permanent_cut, select, Capacity, Cluster, FreeCapacity, Machine, Measure, Need, Role,
    SelectError, SelectOptions, Selection,
};
use convoy_schedule::NoControl;
use proptest::prelude::*;

const NODES: usize = 3;

/// A random instance: per vertex (node or external, role, vcpus, memory in
/// 512 MiB steps), weighted edges, node capacities.
#[derive(Debug, Clone)]
struct Instance {
    graph: Graph,
    machines: Vec<Machine>,
    nodes: Vec<Capacity>,
}

impl Instance {
    fn cluster(&self) -> Cluster<'_> {
        Cluster {
            graph: &self.graph,
            machines: self.machines.clone(),
            nodes: self.nodes.clone(),
        }
    }
}

fn instance(n: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Instance> {
    n.prop_flat_map(|n| {
        (
            proptest::collection::vec((0usize..NODES + 1, 0u8..10, 1u64..9, 1u64..17), n),
            proptest::collection::vec((0..n, 0..n, 1u32..100), 0..3 * n),
            proptest::collection::vec((4u64..40, 4u64..80), NODES),
        )
    })
    .prop_map(|(vms, edges, caps)| {
        let mut b = GraphBuilder::new();
        for v in 0..vms.len() {
            b.add_vertex(&format!("v{v}"));
        }
        for (a, c, w) in edges {
            if a != c {
                b.add_edge(&format!("v{a}"), &format!("v{c}"), w as f64)
                    .unwrap();
            }
        }
        let machines = vms
            .into_iter()
            .map(|(node, role, vcpus, mem)| {
                // 80% movable, 10% pinned, 10% already in the cloud (no node).
                let role = match role {
                    0..=7 => Role::Movable,
                    8 => Role::Stays,
                    _ => Role::InCloud,
                };
                let node = (node < NODES && role != Role::InCloud).then_some(node);
                Machine {
                    node,
                    vcpus,
                    memory_mib: mem * 512,
                    role,
                }
            })
            .collect();
        let nodes = caps
            .into_iter()
            .map(|(c, m)| Capacity {
                vcpus: c,
                memory_mib: m * 512,
            })
            .collect();
        Instance {
            graph: b.build(),
            machines,
            nodes,
        }
    })
}

fn need() -> impl Strategy<Value = Need> {
    let free = (
        proptest::collection::vec(0usize..NODES, 1..3),
        0u64..14,
        0u64..16,
        any::<bool>(),
    )
        .prop_map(|(mut nodes, c, m, headroom)| {
            nodes.sort_unstable();
            nodes.dedup();
            FreeCapacity {
                nodes,
                vcpus: c,
                memory_mib: m * 512,
                measure: if headroom {
                    Measure::Headroom
                } else {
                    Measure::Released
                },
            }
        });
    (
        proptest::option::weighted(0.25, 0usize..NODES),
        proptest::collection::vec(free, 1..3),
        proptest::option::weighted(0.3, (0u64..60, 0u64..100)),
    )
        .prop_map(|(evacuate, free, limit)| Need {
            evacuate: evacuate.into_iter().collect(),
            free,
            max_moved: limit.map(|(c, m)| Capacity {
                vcpus: c,
                memory_mib: m * 512,
            }),
        })
}

/// Whether moving `moved` meets `need`, computed from first principles.
fn meets(inst: &Instance, need: &Need, moved: &[usize]) -> bool {
    let mut is_moved = vec![false; inst.machines.len()];
    for &v in moved {
        is_moved[v] = true;
    }
    let on = |v: usize, nodes: &[usize]| inst.machines[v].node.is_some_and(|k| nodes.contains(&k));
    if (0..inst.machines.len()).any(|v| on(v, &need.evacuate) && !is_moved[v]) {
        return false;
    }
    for f in &need.free {
        let (mut rel_c, mut rel_m, mut left_c, mut left_m) = (0u64, 0u64, 0u64, 0u64);
        for (v, m) in inst.machines.iter().enumerate() {
            if on(v, &f.nodes) {
                if is_moved[v] {
                    rel_c += m.vcpus;
                    rel_m += m.memory_mib;
                } else {
                    left_c += m.vcpus;
                    left_m += m.memory_mib;
                }
            }
        }
        let ok = match f.measure {
            Measure::Released => rel_c >= f.vcpus && rel_m >= f.memory_mib,
            Measure::Headroom => {
                let cap_c: u64 = f.nodes.iter().map(|&k| inst.nodes[k].vcpus).sum();
                let cap_m: u64 = f.nodes.iter().map(|&k| inst.nodes[k].memory_mib).sum();
                cap_c as i128 - left_c as i128 >= f.vcpus as i128
                    && cap_m as i128 - left_m as i128 >= f.memory_mib as i128
            }
        };
        if !ok {
            return false;
        }
    }
    if let Some(limit) = need.max_moved {
        let c: u64 = moved.iter().map(|&v| inst.machines[v].vcpus).sum();
        let m: u64 = moved.iter().map(|&v| inst.machines[v].memory_mib).sum();
        if c > limit.vcpus || m > limit.memory_mib {
            return false;
        }
    }
    true
}

/// The least cut over every subset of the movable VMs on the nodes the need
/// names, or None when no subset meets the need.
fn brute_force(inst: &Instance, need: &Need) -> Option<f64> {
    brute_force_with(inst, need, false)
}

/// As [`brute_force`]; with `companions`, over every movable VM.
fn brute_force_with(inst: &Instance, need: &Need, companions: bool) -> Option<f64> {
    let named: Vec<usize> = need
        .evacuate
        .iter()
        .chain(need.free.iter().flat_map(|f| &f.nodes))
        .copied()
        .collect();
    let pool: Vec<usize> = (0..inst.machines.len())
        .filter(|&v| {
            inst.machines[v].role == Role::Movable
                && (companions || inst.machines[v].node.is_some_and(|k| named.contains(&k)))
        })
        .collect();
    assert!(pool.len() <= 20, "brute force over {} VMs", pool.len());
    let cluster = inst.cluster();
    let mut best: Option<f64> = None;
    for mask in 0u32..1 << pool.len() {
        let moved: Vec<usize> = (0..pool.len())
            .filter(|&i| (mask >> i) & 1 == 1)
            .map(|i| pool[i])
            .collect();
        if meets(inst, need, &moved) {
            let c = permanent_cut(&cluster, &moved);
            best = Some(best.map_or(c, |b: f64| b.min(c)));
        }
    }
    best
}

fn check_selection(inst: &Instance, need: &Need, s: &Selection) {
    assert!(meets(inst, need, &s.moved), "need not met: {s:?}");
    for &v in &s.moved {
        assert_eq!(inst.machines[v].role, Role::Movable, "moved {v}");
    }
    let cut = permanent_cut(&inst.cluster(), &s.moved);
    assert!(
        (cut - s.cut).abs() <= 1e-9 * cut.max(1.0),
        "{cut} vs {}",
        s.cut
    );
    assert!(s.lower_bound <= s.cut + 1e-9 * s.cut.max(1.0));
    if s.optimal {
        assert!((s.lower_bound - s.cut).abs() <= 1e-9 * s.cut.max(1.0));
    }
    assert!(s.moved.windows(2).all(|w| w[0] < w[1]));
}

fn opts(seed: u64, effort: u64) -> SelectOptions {
    SelectOptions {
        seed,
        effort,
        ..SelectOptions::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Small inputs: the answer is exactly the brute-force best, and every
    /// error is confirmed (no subset meets the need).
    #[test]
    fn agrees_with_brute_force(
        inst in instance(4..=14),
        need in need(),
        seed in 0u64..4,
        companions in proptest::bool::weighted(0.25),
    ) {
        let opts = |seed, effort| SelectOptions { companions, ..opts(seed, effort) };
        let res = select(&inst.cluster(), &need, &opts(seed, 5_000_000), &NoControl);
        let pinned_on_evacuated = inst.machines.iter().any(|m| {
            m.role == Role::Stays && m.node.is_some_and(|k| need.evacuate.contains(&k))
        });
        let brute = if pinned_on_evacuated {
            None
        } else {
            brute_force_with(&inst, &need, companions)
        };
        match (res, brute) {
            (Ok(s), Some(best)) => {
                check_selection(&inst, &need, &s);
                prop_assert!(s.optimal);
                // Cut short, the search still returns a valid selection whose
                // lower bound (branch and bound or Lagrangian) is below the optimum.
                // (Under a move limit the greedy may find nothing feasible; that
                // is reported as unproven.)
                match select(&inst.cluster(), &need, &opts(seed, 300), &NoControl) {
                    Ok(short) => {
                        check_selection(&inst, &need, &short);
                        prop_assert!(short.lower_bound <= best + 1e-9 * best.max(1.0));
                    }
                    Err(SelectError::OverLimit { proven: false }) => {
                        prop_assert!(need.max_moved.is_some());
                    }
                    Err(e) => prop_assert!(false, "{e}"),
                }
                prop_assert!((s.cut - best).abs() <= 1e-9 * best.max(1.0), "{} vs brute {best}", s.cut);
            }
            (Err(SelectError::PinnedOnEvacuatedNode { vm, node }), None) => {
                prop_assert!(pinned_on_evacuated);
                prop_assert_eq!(inst.machines[vm].node, Some(node));
            }
            (Err(SelectError::Infeasible { requirement, short_vcpus, short_memory_mib }), None) => {
                prop_assert!(!pinned_on_evacuated);
                prop_assert!(short_vcpus > 0 || short_memory_mib > 0);
                prop_assert!(requirement < need.free.len());
            }
            (Err(SelectError::OverLimit { proven }), None) => {
                prop_assert!(proven);
                prop_assert!(need.max_moved.is_some());
            }
            (r, b) => prop_assert!(false, "select {r:?} but brute force {b:?}"),
        }
    }

    /// Larger inputs with little effort (the heuristic path): whatever it
    /// returns meets the need, moves no pinned VM, and is reproducible.
    #[test]
    fn always_meets_the_need(inst in instance(30..=120), need in need(), seed in any::<u64>()) {
        let need = Need { max_moved: None, ..need };
        let a = select(&inst.cluster(), &need, &opts(seed, 20_000), &NoControl);
        let b = select(&inst.cluster(), &need, &opts(seed, 20_000), &NoControl);
        prop_assert_eq!(&a, &b);
        match a {
            Ok(s) => check_selection(&inst, &need, &s),
            Err(SelectError::PinnedOnEvacuatedNode { vm, .. }) => {
                prop_assert_eq!(inst.machines[vm].role, Role::Stays);
            }
            Err(SelectError::Infeasible { requirement, .. }) => {
                // Confirm: moving every movable VM on the requirement's nodes is not enough.
                let f = &need.free[requirement];
                let all: Vec<usize> = (0..inst.machines.len())
                    .filter(|&v| inst.machines[v].role == Role::Movable)
                    .collect();
                let only = Need { evacuate: vec![], free: vec![f.clone()], max_moved: None };
                prop_assert!(!meets(&inst, &only, &all));
            }
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}

/// A cluster of `n` VMs in cliques of `k` spread over nodes round-robin, with a
/// light ring between cliques: the best choice moves whole cliques.
fn cliques(n: usize, k: usize, nodes: usize) -> Instance {
    let mut b = GraphBuilder::new();
    for v in 0..n {
        b.add_vertex(&format!("v{v}"));
    }
    for c in 0..n / k {
        for i in 0..k {
            for j in i + 1..k {
                let (x, y) = (c * k + i, c * k + j);
                b.add_edge(
                    &format!("v{x}"),
                    &format!("v{y}"),
                    10.0 + ((x * 7 + y) % 5) as f64,
                )
                .unwrap();
            }
        }
        let next = ((c + 1) % (n / k)) * k;
        b.add_edge(&format!("v{}", c * k), &format!("v{next}"), 1.0)
            .unwrap();
    }
    let machines = (0..n)
        .map(|v| Machine {
            node: Some((v / k) % nodes),
            vcpus: 1 + (v % 4) as u64,
            memory_mib: 1024,
            role: Role::Movable,
        })
        .collect();
    Instance {
        graph: b.build(),
        machines,
        nodes: vec![
            Capacity {
                vcpus: 1000,
                memory_mib: 1 << 30
            };
            nodes
        ],
    }
}

#[test]
fn heuristic_finds_whole_cliques_at_scale() {
    // 6000 VMs in cliques of 6 over 4 nodes; free 40 vCPUs on node 0. Each
    // node-0 clique has 1+2+3+4+1+2 = 13 vCPUs and two light ring edges to
    // cliques on other nodes, so the best is four whole cliques, cut 8 (three
    // cliques and a stray VM, what a plain greedy finds, cut 61). The exact
    // search cannot finish at this size: this is the heuristic's doing (the
    // Fiduccia–Mattheyses passes carry the fourth clique across).
    let inst = cliques(6000, 6, 4);
    let need = Need {
        free: vec![FreeCapacity {
            nodes: vec![0],
            vcpus: 40,
            ..FreeCapacity::default()
        }],
        ..Need::default()
    };
    let s = select(&inst.cluster(), &need, &opts(1, 4_000_000), &NoControl).unwrap();
    check_selection(&inst, &need, &s);
    assert_eq!(s.cut, 8.0, "{s:?}");
    assert_eq!(s.moved.len(), 24);
    assert!(!s.optimal);
    // The Lagrangian bound: λ = 2/13 per vCPU prices a clique at exactly its
    // two ring edges, giving 40 × 2/13 ≈ 6.15.
    assert!(
        s.lower_bound <= s.cut && s.lower_bound > 6.0,
        "{}",
        s.lower_bound
    );
}

#[test]
fn interrupted_search_still_bounds_the_optimum() {
    // 18 candidates: brute force is cheap, the exact search is cut short.
    let inst = cliques(18, 3, 1);
    let need = Need {
        free: vec![FreeCapacity {
            nodes: vec![0],
            vcpus: 17,
            ..FreeCapacity::default()
        }],
        ..Need::default()
    };
    let best = brute_force(&inst, &need).unwrap();
    for effort in [50, 500, 5_000, 50_000, 5_000_000] {
        let s = select(&inst.cluster(), &need, &opts(0, effort), &NoControl).unwrap();
        check_selection(&inst, &need, &s);
        assert!(s.lower_bound <= best + 1e-9, "effort {effort}: {s:?}");
        assert!(s.cut >= best - 1e-9);
        if s.optimal {
            assert_eq!(s.cut, best);
        }
    }
    let s = select(&inst.cluster(), &need, &opts(0, 50_000_000), &NoControl).unwrap();
    assert!(s.optimal);
}

#[test]
fn infeasible_need_says_by_how_much() {
    let inst = cliques(12, 3, 2);
    // Node 0 holds VMs 0-2 and 6-8: vcpus 1+2+3 + 3+4+1 = 14.
    let need = Need {
        free: vec![FreeCapacity {
            nodes: vec![0],
            vcpus: 20,
            memory_mib: 1024,
            ..FreeCapacity::default()
        }],
        ..Need::default()
    };
    let e = select(&inst.cluster(), &need, &opts(0, 1_000_000), &NoControl).unwrap_err();
    assert_eq!(
        e,
        SelectError::Infeasible {
            requirement: 0,
            short_vcpus: 6,
            short_memory_mib: 0
        }
    );
    assert!(e.to_string().contains("short by 6 vCPUs"), "{e}");
    assert_eq!(brute_force(&inst, &need), None);
}

#[test]
fn evacuation_moves_everything_and_pinned_blocks_it() {
    let mut inst = cliques(12, 3, 2);
    let need = Need {
        evacuate: vec![1],
        ..Need::default()
    };
    let s = select(&inst.cluster(), &need, &opts(0, 1_000_000), &NoControl).unwrap();
    assert_eq!(s.moved, vec![3, 4, 5, 9, 10, 11]);
    assert!(s.optimal);
    inst.machines[4].role = Role::Stays;
    let e = select(&inst.cluster(), &need, &opts(0, 1_000_000), &NoControl).unwrap_err();
    assert_eq!(e, SelectError::PinnedOnEvacuatedNode { vm: 4, node: 1 });
}

#[test]
fn companions_may_join_when_allowed() {
    // a (node 0) talks heavily to b (node 1); freeing a's vCPUs alone cuts the
    // heavy edge, taking b along cuts only b's light edge to c (pinned).
    let mut g = GraphBuilder::new();
    for v in ["a", "b", "c"] {
        g.add_vertex(v);
    }
    g.add_edge("a", "b", 100.0).unwrap();
    g.add_edge("b", "c", 1.0).unwrap();
    let inst = Instance {
        graph: g.build(),
        machines: (0..3)
            .map(|v| Machine {
                node: Some(usize::from(v > 0)),
                vcpus: 2,
                memory_mib: 1024,
                role: if v == 2 { Role::Stays } else { Role::Movable },
            })
            .collect(),
        nodes: vec![Capacity::default(); 2],
    };
    let need = Need {
        free: vec![FreeCapacity {
            nodes: vec![0],
            vcpus: 2,
            ..FreeCapacity::default()
        }],
        ..Need::default()
    };
    let alone = select(&inst.cluster(), &need, &opts(0, 1_000_000), &NoControl).unwrap();
    assert_eq!((alone.moved.clone(), alone.cut), (vec![0], 100.0));
    let with = SelectOptions {
        companions: true,
        ..opts(0, 1_000_000)
    };
    let s = select(&inst.cluster(), &need, &with, &NoControl).unwrap();
    assert_eq!((s.moved.clone(), s.cut), (vec![0, 1], 1.0));
    // A limit of 2 vCPUs forbids the companion again.
    let capped = Need {
        max_moved: Some(Capacity {
            vcpus: 2,
            memory_mib: u64::MAX,
        }),
        ..need
    };
    let s = select(&inst.cluster(), &capped, &with, &NoControl).unwrap();
    assert_eq!(s.moved, vec![0]);
}
