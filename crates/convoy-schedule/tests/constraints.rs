//! Constraints: every plan satisfies every constraint, or the problem is
//! reported infeasible and brute force over every plan agrees; with no
//! constraints the plan is the objective's own.

use convoy_model::{Graph, GraphBuilder};
use convoy_schedule::arrangement::{Anchor, Options, Problem, TimeModel};
use convoy_schedule::constraints::{
    self, Conflict, ConstraintRef, Constraints, NodeLimit, PlanError, Request,
};
use convoy_schedule::waves::{Objective, Waves};
use convoy_schedule::{stretch, NoControl};
use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A random instance with a random constraint set.
struct Case {
    graph: Graph,
    anchors: Vec<Anchor>,
    time: TimeModel,
    constraints: Constraints,
}

impl Case {
    fn problem(&self) -> Problem {
        Problem::new(&self.graph, &self.anchors, &self.time).unwrap()
    }
}

fn case(seed: u64, max_n: usize) -> Case {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = rng.gen_range(1..=max_n);
    let mut b = GraphBuilder::new();
    for v in 0..n {
        b.add_vertex(&v.to_string());
    }
    for u in 0..n {
        for v in (u + 1)..n {
            if rng.gen_bool(0.4) {
                let w = rng.gen_range(1..=8) as f64 / 2.0;
                b.add_edge(&u.to_string(), &v.to_string(), w).unwrap();
            }
        }
    }
    let graph = b.build();
    let mut anchors: Vec<Anchor> = (0..n)
        .map(|_| match rng.gen_range(0..10) {
            0 => Anchor::Cloud,
            1 => Anchor::Stays,
            _ => Anchor::Moves,
        })
        .collect();
    let time = if rng.gen_bool(0.5) {
        TimeModel::Positions
    } else {
        TimeModel::Durations((0..n).map(|_| rng.gen_range(1..=6) as f64 / 2.0).collect())
    };
    let all: Vec<usize> = (0..n).collect();
    let pick = |rng: &mut ChaCha8Rng, k: usize| {
        let mut v = all.clone();
        v.shuffle(rng);
        v.truncate(k);
        v
    };
    let mut c = Constraints::default();
    for _ in 0..rng.gen_range(0..=2) {
        let k = rng.gen_range(1..=3.min(n));
        c.together.push(pick(&mut rng, k));
    }
    for _ in 0..rng.gen_range(0..=4) {
        c.before.push((rng.gen_range(0..n), rng.gen_range(0..n)));
    }
    for _ in 0..rng.gen_range(0..=4) {
        c.not_after.push((rng.gen_range(0..n), rng.gen_range(0..n)));
    }
    for _ in 0..rng.gen_range(0..=2) {
        let k = rng.gen_range(1..=n);
        c.node_limits.push(NodeLimit {
            node: format!("n{}", c.node_limits.len()),
            vms: pick(&mut rng, k),
            max: rng.gen_range(0..=2),
        });
    }
    // Stays: usually of staying VMs; sometimes a stay constraint the anchors ignore.
    for (v, a) in anchors.iter().enumerate() {
        if rng.gen_bool(0.5) && *a == Anchor::Stays {
            c.stay.push(v);
        }
    }
    if rng.gen_bool(0.1) {
        c.stay.push(rng.gen_range(0..n));
    }
    if rng.gen_bool(0.5) {
        // Callers apply the stays to the anchors before building the problem.
        c.apply_stays(&mut anchors);
    }
    Case {
        graph,
        anchors,
        time,
        constraints: c,
    }
}

/// Whether any plan satisfies every constraint, by brute force: every
/// assignment of movers to waves (ordered set partitions with waves of at
/// most `k`), or every order without waves.
fn brute_feasible(c: &Case, waves: Waves) -> bool {
    let movers: Vec<usize> = (0..c.graph.n())
        .filter(|&v| c.anchors[v] == Anchor::Moves)
        .collect();
    let m = movers.len();
    if waves == Waves::Sequential {
        let mut perm: Vec<usize> = (0..m).collect();
        // Heap's algorithm over all orders.
        let mut stack = vec![0usize; m];
        let ok = |perm: &[usize]| {
            let w: Vec<Vec<usize>> = perm.iter().map(|&i| vec![movers[i]]).collect();
            constraints::violations(&c.anchors, &c.constraints, &w, true).is_empty()
        };
        if ok(&perm) {
            return true;
        }
        let mut i = 0;
        while i < m {
            if stack[i] < i {
                if i % 2 == 0 {
                    perm.swap(0, i);
                } else {
                    perm.swap(stack[i], i);
                }
                if ok(&perm) {
                    return true;
                }
                stack[i] += 1;
                i = 0;
            } else {
                stack[i] = 0;
                i += 1;
            }
        }
        return false;
    }
    let k = waves.max_size();
    let mut assign = vec![0usize; m];
    loop {
        let used = assign.iter().copied().max().map_or(0, |x| x + 1);
        let mut sizes = vec![0usize; used];
        assign.iter().for_each(|&w| sizes[w] += 1);
        if sizes.iter().all(|&s| s >= 1 && s <= k) {
            let mut w = vec![Vec::new(); used];
            for (i, &a) in assign.iter().enumerate() {
                w[a].push(movers[i]);
            }
            if constraints::violations(&c.anchors, &c.constraints, &w, false).is_empty() {
                return true;
            }
        }
        // Next assignment in 0..m per mover.
        let mut i = 0;
        loop {
            if i == m {
                return false;
            }
            assign[i] += 1;
            if assign[i] < m {
                break;
            }
            assign[i] = 0;
            i += 1;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Every plan satisfies every constraint and wave size, or the problem is
    /// reported infeasible and brute force over all plans confirms it.
    #[test]
    fn plans_satisfy_constraints_or_brute_force_confirms_infeasible(
        seed in any::<u64>(),
        k in 0usize..4,
        fill in any::<bool>(),
        cutwidth in any::<bool>(),
    ) {
        let c = case(seed, 7);
        let problem = c.problem();
        let waves = match (k, fill) {
            (0, _) => Waves::Sequential,
            (k, false) => Waves::AtMost(k),
            (k, true) => Waves::Fill(k),
        };
        let objective = if cutwidth { Objective::Cutwidth } else { Objective::Stretch };
        let req = Request {
            problem: &problem,
            anchors: &c.anchors,
            time: &c.time,
            constraints: &c.constraints,
            start: None,
            waves,
            objective,
        };
        let options = Options { seed, effort: 1_000_000, ..Options::default() };
        let feasible = brute_feasible(&c, waves);
        match constraints::plan(&req, &options, &NoControl) {
            Ok(plan) => {
                let bad = constraints::violations(
                    &c.anchors, &c.constraints, &plan.waves, waves == Waves::Sequential);
                prop_assert!(feasible, "brute force finds no plan, yet {:?} breaks {:?} of {:?} ({:?})",
                    plan.waves, bad, c.constraints, c.anchors);
                prop_assert!(bad.is_empty(), "violated: {:?}", bad);
                prop_assert!(plan.waves.iter().all(|w| !w.is_empty() && w.len() <= waves.max_size()));
                let mut seen = plan.order.clone();
                seen.sort_unstable();
                prop_assert_eq!(&seen[..], problem.movers());
                prop_assert!(constraints::check(&req).is_ok());
            }
            Err(PlanError::Infeasible(conflicts)) => {
                prop_assert!(!conflicts.is_empty());
                prop_assert!(!feasible, "feasible by brute force, but reported {:?}", conflicts);
                prop_assert!(constraints::check(&req).is_err());
            }
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }

    /// With no constraints and waves of one VM, the plan is the objective's
    /// own optimum (exact on these sizes).
    #[test]
    fn no_constraints_and_single_waves_give_the_plain_objective(seed in any::<u64>()) {
        let c = case(seed, 10);
        let mut anchors = c.anchors.clone();
        anchors.iter_mut().for_each(|a| if *a == Anchor::Stays { *a = Anchor::Moves });
        let problem = Problem::new(&c.graph, &anchors, &c.time).unwrap();
        let options = Options { seed, effort: 10_000_000, ..Options::default() };
        let plain = stretch::solve(&problem, &options, &NoControl);
        for waves in [Waves::AtMost(1), Waves::Sequential] {
            let req = Request {
                problem: &problem,
                anchors: &anchors,
                time: &c.time,
                constraints: &Constraints::default(),
                start: Some(&plain.order),
                waves,
                objective: Objective::Stretch,
            };
            let plan = constraints::plan(&req, &options, &NoControl).unwrap();
            prop_assert_eq!(&plan.order, &plain.order);
            prop_assert_eq!(plan.value, plain.value);
        }
    }
}

fn path(n: usize) -> Graph {
    let edges: Vec<(usize, usize)> = (1..n).map(|v| (v - 1, v)).collect();
    Graph::from_edges(n, &edges)
}

fn run(
    n: usize,
    c: &Constraints,
    anchors: &[Anchor],
    waves: Waves,
) -> Result<Vec<Vec<usize>>, Vec<Conflict>> {
    let g = path(n);
    let problem = Problem::new(&g, anchors, &TimeModel::Positions).unwrap();
    let req = Request {
        problem: &problem,
        anchors,
        time: &TimeModel::Positions,
        constraints: c,
        start: None,
        waves,
        objective: Objective::Stretch,
    };
    match constraints::plan(&req, &Options::default(), &NoControl) {
        Ok(p) => Ok(p.waves),
        Err(PlanError::Infeasible(cs)) => Err(cs),
        Err(e) => panic!("{e}"),
    }
}

/// Each kind of infeasibility is reported with the constraints and VMs that cause it.
#[test]
fn infeasibility_names_the_constraints() {
    let moves = vec![Anchor::Moves; 6];
    // A precedence cycle through a together-group.
    let c = Constraints {
        together: vec![vec![0, 1]],
        before: vec![(1, 2), (2, 3)],
        not_after: vec![(3, 0)],
        ..Default::default()
    };
    let e = run(6, &c, &moves, Waves::AtMost(3)).unwrap_err();
    match &e[..] {
        [Conflict::Cycle {
            vertices,
            constraints,
        }] => {
            assert!(
                vertices.contains(&2) && vertices.contains(&3),
                "{vertices:?}"
            );
            for r in [
                ConstraintRef::Before(0),
                ConstraintRef::Before(1),
                ConstraintRef::NotAfter(0),
                ConstraintRef::Together(0),
            ] {
                assert!(constraints.contains(&r), "{constraints:?}");
            }
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e[0].to_string()
            .starts_with("precedence cycle through vertex"),
        "{}",
        e[0]
    );

    // A group larger than the waves, made larger by a "not after" cycle.
    let c = Constraints {
        together: vec![vec![0, 1]],
        not_after: vec![(1, 2), (2, 0)],
        ..Default::default()
    };
    assert!(run(6, &c, &moves, Waves::AtMost(3)).is_ok());
    let e = run(6, &c, &moves, Waves::AtMost(2)).unwrap_err();
    assert_eq!(
        e,
        vec![Conflict::TooLarge {
            vertices: vec![0, 1, 2],
            constraints: vec![
                ConstraintRef::Together(0),
                ConstraintRef::NotAfter(0),
                ConstraintRef::NotAfter(1)
            ],
            max: 2
        }]
    );

    // A precedence inside a group.
    let c = Constraints {
        together: vec![vec![0, 1, 2]],
        before: vec![(2, 0)],
        ..Default::default()
    };
    let e = run(6, &c, &moves, Waves::AtMost(3)).unwrap_err();
    assert!(
        matches!(&e[..], [Conflict::Cycle { constraints, .. }] if constraints == &vec![ConstraintRef::Together(0), ConstraintRef::Before(0)]),
        "{e:?}"
    );
    // Without waves the group is a block and the precedence orders it.
    let waves = run(6, &c, &moves, Waves::Sequential).unwrap();
    let order: Vec<usize> = waves.into_iter().flatten().collect();
    let at = |v| order.iter().position(|&x| x == v).unwrap();
    assert!(at(2) < at(0));

    // A node limit that a group exceeds.
    let c = Constraints {
        together: vec![vec![3, 4]],
        node_limits: vec![NodeLimit {
            node: "n1".into(),
            vms: vec![3, 4, 5],
            max: 1,
        }],
        ..Default::default()
    };
    let e = run(6, &c, &moves, Waves::AtMost(4)).unwrap_err();
    assert_eq!(
        e,
        vec![Conflict::NodeLimit {
            constraint: ConstraintRef::NodeLimit(0),
            vertices: vec![3, 4],
            forced_by: vec![ConstraintRef::Together(0)],
            max: 1
        }]
    );

    // A staying VM that must move before another.
    let mut anchors = moves.clone();
    let c = Constraints {
        stay: vec![5],
        before: vec![(5, 0), (0, 5)],
        ..Default::default()
    };
    c.apply_stays(&mut anchors);
    let e = run(6, &c, &anchors, Waves::AtMost(2)).unwrap_err();
    assert_eq!(
        e,
        vec![Conflict::Fixed {
            constraint: ConstraintRef::Before(0),
            vertex: 5,
            stays: true
        }]
    );
    // ... and the same stay constraint on a VM the problem moves.
    let e = run(6, &c, &moves, Waves::AtMost(2)).unwrap_err();
    assert!(e.contains(&Conflict::StayMoves {
        constraint: ConstraintRef::Stay(0),
        vertex: 5
    }));
}

/// Constraints hold in the plan: groups share a wave, "before" spans waves,
/// node limits cap each wave.
#[test]
fn plan_honours_waves_constraints() {
    let moves = vec![Anchor::Moves; 8];
    let c = Constraints {
        together: vec![vec![0, 7]],
        before: vec![(3, 2)],
        not_after: vec![(6, 1)],
        node_limits: vec![NodeLimit {
            node: "n".into(),
            vms: vec![4, 5],
            max: 1,
        }],
        ..Default::default()
    };
    let waves = run(8, &c, &moves, Waves::AtMost(3)).unwrap();
    assert!(
        constraints::violations(&moves, &c, &waves, false).is_empty(),
        "{waves:?}"
    );
    let wave = |v: usize| waves.iter().position(|w| w.contains(&v)).unwrap();
    assert_eq!(wave(0), wave(7));
    assert!(wave(3) < wave(2));
    assert!(wave(6) <= wave(1));
    assert_ne!(wave(4), wave(5));
}

/// A constraints file resolves onto graph indices, and conflicts point back at its lines.
#[test]
fn constraints_file_resolves_and_conflicts_name_lines() {
    use convoy_model::parse_constraints_toml;
    use std::path::Path;
    let text = "before = [[\"a\", \"b\"]]\nnot_after = [[\"b\", \"a\"]]\nmax_per_node = 1\n";
    let file = parse_constraints_toml(text, Path::new("c.toml")).unwrap();
    let names = ["a", "b", "c"];
    let vertex = |n: &str| names.iter().position(|&x| x == n);
    let nodes = vec![("n1".to_string(), vec![0, 2]), ("n2".to_string(), vec![1])];
    let c = Constraints::from_file(&file, &vertex, &nodes).unwrap();
    assert_eq!(c.before, vec![(0, 1)]);
    assert_eq!(c.not_after, vec![(1, 0)]);
    assert_eq!(c.node_limits.len(), 2);
    assert_eq!(c.node_limits[0].max, 1);
    let moves = vec![Anchor::Moves; 3];
    let e = run(3, &c, &moves, Waves::AtMost(2)).unwrap_err();
    let Conflict::Cycle { constraints, .. } = &e[0] else {
        panic!("{e:?}")
    };
    let lines: Vec<usize> = constraints
        .iter()
        .map(|&r| constraints::source_line(&file, &c, r))
        .collect();
    assert_eq!(lines, vec![1, 2]);
    let text = e[0].describe(&|v| names[v].to_string(), &|r| {
        format!("c.toml:{}", constraints::source_line(&file, &c, r))
    });
    assert_eq!(text, "precedence cycle through a, b (c.toml:1, c.toml:2)");
    let unknown = parse_constraints_toml("stay = [\"zz\"]", Path::new("c.toml")).unwrap();
    assert_eq!(
        Constraints::from_file(&unknown, &vertex, &nodes)
            .unwrap_err()
            .name,
        "zz"
    );
}

/// The figure of the report: stretch of the sample cluster without waves,
/// in waves of 4, and in waves of 4 with at most one move per node.
/// `cargo test --release -p convoy-schedule --test constraints -- --ignored --nocapture`
#[test]
#[ignore = "prints a figure on examples/cluster.csv"]
fn figure_cluster_waves() {
    use convoy_model::{read_graph, read_inventory};
    use std::path::Path;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let g = read_graph(&root.join("cluster.csv")).unwrap();
    let inv = read_inventory(&root.join("inventory.toml")).unwrap();
    let anchors = vec![Anchor::Moves; g.n()];
    // Positions, then durations: memory over a 1 Gbit/s link.
    let durations: Vec<f64> = (0..g.n())
        .map(|v| {
            inv.vm(g.name(v))
                .map_or(1.0, |vm| vm.memory_mib as f64 * 8.0 * 1048576.0 / 1e9)
        })
        .collect();
    for time in [TimeModel::Positions, TimeModel::Durations(durations)] {
        figure_rows(&g, &inv, &anchors, &time);
    }
}

fn figure_rows(g: &Graph, inv: &convoy_model::Inventory, anchors: &[Anchor], time: &TimeModel) {
    use convoy_model::parse_constraints_toml;
    use convoy_schedule::waves;
    use std::path::Path;
    let time = time.clone();
    let problem = Problem::new(g, anchors, &time).unwrap();
    let options = Options::default();
    let plain = stretch::solve(&problem, &options, &NoControl);
    println!(
        "{}: n = {}, sequential stretch {:.4e}",
        if time == TimeModel::Positions {
            "positions"
        } else {
            "durations (memory at 1 Gbit/s)"
        },
        g.n(),
        plain.value,
    );
    let file = parse_constraints_toml("max_per_node = 1", Path::new("c.toml")).unwrap();
    let mut nodes: Vec<(String, Vec<usize>)> = inv
        .nodes
        .iter()
        .map(|n| (n.name.clone(), Vec::new()))
        .collect();
    for v in 0..g.n() {
        if let Some(vm) = inv.vm(g.name(v)) {
            if let Some(e) = nodes.iter_mut().find(|e| e.0 == vm.node) {
                e.1.push(v);
            }
        }
    }
    let limited = Constraints::from_file(&file, &|n| g.index_of(n), &nodes).unwrap();
    for k in [2, 4, 8] {
        let cut = waves::partition(
            &problem,
            &time,
            &plain.order,
            Waves::AtMost(k),
            Objective::Stretch,
        )
        .unwrap();
        let fill = waves::partition(
            &problem,
            &time,
            &plain.order,
            Waves::Fill(k),
            Objective::Stretch,
        )
        .unwrap();
        let mut row = format!(
            "K={k}: --waves {:.4e} ({} waves, peak split {:.3e} B/s), --wave-size {:.4e} ({} waves)",
            cut.value,
            cut.waves.len(),
            cut.split.iter().cloned().fold(0.0, f64::max),
            fill.value,
            fill.waves.len()
        );
        for (label, c) in [
            ("no constraints", Constraints::default()),
            ("max_per_node=1", limited.clone()),
        ] {
            let req = Request {
                problem: &problem,
                anchors,
                time: &time,
                constraints: &c,
                start: Some(&plain.order),
                waves: Waves::AtMost(k),
                objective: Objective::Stretch,
            };
            let p = constraints::plan(&req, &options, &NoControl).unwrap();
            assert!(constraints::violations(anchors, &c, &p.waves, false).is_empty());
            assert!(p.waves.iter().all(|w| w.len() <= k));
            row += &format!(", plan[{label}] {:.4e} ({} waves)", p.value, p.waves.len());
        }
        println!("{row}");
    }
}
