//! End-to-end tests of the `convoy` binary: happy paths and every bad-input path.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn convoy() -> Command {
    let mut cmd = Command::cargo_bin("convoy").unwrap();
    cmd.current_dir(root());
    cmd
}

/// `convoy <command> examples/cluster.csv --inventory examples/inventory.toml`.
fn on_sample(command: &str) -> Command {
    let mut cmd = convoy();
    cmd.args([
        command,
        "examples/cluster.csv",
        "--inventory",
        "examples/inventory.toml",
    ]);
    cmd
}

/// `convoy simulate <plan>` on the sample cluster's inventory and graph.
fn simulate_sample(plan: &Path) -> Command {
    let mut cmd = convoy();
    cmd.arg("simulate").arg(plan).args([
        "--inventory",
        "examples/inventory.toml",
        "--graph",
        "examples/cluster.csv",
    ]);
    cmd
}

/// Plans the sample cluster with `effort` into `dir/plan.json`.
fn sample_plan(dir: &Path, effort: &str) -> PathBuf {
    let plan = dir.join("plan.json");
    on_sample("plan")
        .args(["-q", "--effort", effort, "-o"])
        .arg(&plan)
        .assert()
        .success();
    plan
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A run refused as bad input: exit status 2 and `message` in its
/// standard error.
trait RefusedWith {
    fn refused_with(&mut self, message: &str);
}

impl RefusedWith for Command {
    fn refused_with(&mut self, message: &str) {
        self.assert()
            .code(2)
            .stderr(predicate::str::contains(message));
    }
}

/// Asserts that a run succeeded, showing its standard error if not.
fn succeeded(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Position of every VM in `order`.
fn positions(order: &[String]) -> std::collections::HashMap<&str, usize> {
    order
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect()
}

/// The `a,b,weight` rows of a CSV graph, comments and header skipped.
fn csv_rows(csv: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(csv).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

/// Recomputes a plan's bandwidth from its order and the CSV graph.
fn bandwidth_from_csv(csv: &Path, order: &[String]) -> u64 {
    let pos = positions(order);
    csv_rows(csv)
        .iter()
        .map(|f| pos[f[0].as_str()].abs_diff(pos[f[1].as_str()]) as u64)
        .max()
        .unwrap_or(0)
}

#[test]
fn plan_json_is_the_plan_object_and_is_consistent() {
    let out = on_sample("plan")
        .args(["--objective", "bandwidth"])
        .args(["--format", "json", "--effort", "3000000", "--seed", "7"])
        .output()
        .unwrap();
    succeeded(&out);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "objective",
        "order",
        "bandwidth",
        "lower_bound",
        "optimal",
        "solver",
        "seed",
        "convoy_version",
    ] {
        assert!(plan.get(key).is_some(), "plan lacks {key}: {plan}");
    }
    assert_eq!(plan["objective"], "bandwidth");
    assert_eq!(plan["seed"], 7);
    let order: Vec<String> = serde_json::from_value(plan["order"].clone()).unwrap();
    // Every VM of the inventory but the pinned one, each exactly once.
    let inventory = convoy_model::read_inventory(&root().join("examples/inventory.toml")).unwrap();
    let movers: HashSet<&str> = inventory
        .vms
        .iter()
        .filter(|v| !v.pinned)
        .map(|v| v.name.as_str())
        .collect();
    let listed: HashSet<&str> = order.iter().map(String::as_str).collect();
    assert_eq!(listed.len(), order.len(), "duplicate VM in the order");
    assert_eq!(listed, movers);
    // The reported bandwidth is the order's, computed on edges between movers.
    let pinned: HashSet<&str> = inventory
        .vms
        .iter()
        .filter(|v| v.pinned)
        .map(|v| v.name.as_str())
        .collect();
    let csv = std::fs::read_to_string(root().join("examples/cluster.csv")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kept: String = csv
        .lines()
        .filter(|l| !pinned.iter().any(|p| l.split(',').take(2).any(|f| f == *p)))
        .map(|l| format!("{l}\n"))
        .collect();
    let kept = write(dir.path(), "kept.csv", &kept);
    assert_eq!(
        plan["bandwidth"].as_u64().unwrap(),
        bandwidth_from_csv(&kept, &order)
    );
    assert!(plan["lower_bound"].as_u64().unwrap() <= plan["bandwidth"].as_u64().unwrap());
    assert_eq!(
        plan["optimal"].as_bool().unwrap(),
        plan["lower_bound"] == plan["bandwidth"]
    );
    assert_eq!(plan["objective_value"], plan["bandwidth"]);
}

/// Stretch recomputed from a plan's order: Σ weight × |position difference|
/// over conversations between movers, plus, for a conversation with a VM
/// that stays, weight × the steps from the mover's move to the last one
/// (it is split from then on) — here: none are in the cloud.
fn stretch_from_csv(csv: &Path, order: &[String], pinned: &HashSet<&str>) -> f64 {
    let pos = positions(order);
    let last = order.len() - 1;
    csv_rows(csv)
        .iter()
        .map(|f| {
            let (a, b) = (f[0].as_str(), f[1].as_str());
            let w: f64 = f[2].parse().unwrap();
            match (pinned.contains(a), pinned.contains(b)) {
                (false, false) => w * pos[a].abs_diff(pos[b]) as f64,
                (true, false) => w * (last - pos[b]) as f64,
                (false, true) => w * (last - pos[a]) as f64,
                (true, true) => 0.0,
            }
        })
        .sum()
}

#[test]
fn stretch_is_the_default_for_measured_traffic_and_is_recomputed() {
    let out = on_sample("plan")
        .args(["--format", "json", "--effort", "3000000"])
        .args(["--bound-effort", "2000000"])
        .output()
        .unwrap();
    succeeded(&out);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["objective"], "stretch");
    // What the lower bound depends on is recorded beside it.
    assert_eq!(plan["bound_effort"], 2_000_000);
    let order: Vec<String> = serde_json::from_value(plan["order"].clone()).unwrap();
    let pinned: HashSet<&str> = ["backup"].into_iter().collect();
    let want = stretch_from_csv(&root().join("examples/cluster.csv"), &order, &pinned);
    let got = plan["objective_value"].as_f64().unwrap();
    assert!(
        (got - want).abs() <= 1e-6 * want,
        "plan says {got}, order gives {want}"
    );
    assert!(plan["lower_bound"].as_f64().unwrap() <= got);
    assert!(
        plan["permanent_cut"].as_f64().unwrap() > 0.0,
        "the pinned backup server is a permanent cut"
    );

    // Apps graphs have unit weights: bandwidth is the default there.
    let out = convoy()
        .args([
            "plan",
            "../shared/data/apps/sock_shop.csv",
            "--format",
            "json",
            "--effort",
            "100000",
        ])
        .output()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["objective"], "bandwidth");
}

#[test]
fn plan_is_deterministic_and_o_writes_the_same_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json");
    let run = |extra: &[&str]| {
        convoy()
            .args([
                "plan",
                "../shared/data/apps/train_ticket.csv",
                "--format",
                "json",
            ])
            .args(["--effort", "2000000"])
            .args(extra)
            .output()
            .unwrap()
    };
    let a = run(&["-o", file.to_str().unwrap()]);
    let b = run(&[]);
    assert!(a.status.success());
    assert_eq!(
        a.stdout, b.stdout,
        "same seed and effort must give the same plan"
    );
    assert_eq!(std::fs::read(&file).unwrap(), a.stdout);
    let plan = convoy_model::read_plan(&file).unwrap();
    assert_eq!(plan.order.len(), 64);
}

#[test]
fn plan_table_reads_matrix_market() {
    convoy()
        .args([
            "plan",
            "../shared/data/hb/can___24.mtx",
            "--effort",
            "2000000",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("bandwidth"))
        .stdout(predicate::str::contains("lower bound"))
        .stdout(predicate::str::contains("order (first to move first)"));
}

/// The table states the certified gap: the JSON plan's value over its lower
/// bound, and "optimal" only when proven.
#[test]
fn plan_table_states_the_certified_gap() {
    let json = convoy()
        .args(["plan", "examples/cluster.csv", "--format", "json"])
        .output()
        .expect("runs");
    succeeded(&json);
    let plan: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(plan["optimal"], false);
    let ratio = plan["objective_value"].as_f64().unwrap() / plan["lower_bound"].as_f64().unwrap();
    assert!(ratio > 1.0);
    // The default bound effort does not pay for the LP's rounds here, and
    // the plan says so (more effort could raise the bound).
    assert_eq!(plan["bound_stopped_by"], "effort");
    convoy()
        .args(["plan", "examples/cluster.csv"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "not proven optimal: at most {ratio:.3}× the optimum; more --bound-effort could raise the bound"
        )));
    convoy()
        .args(["plan", "../shared/data/apps/online_boutique.csv"])
        .assert()
        .success()
        .stdout(predicate::str::contains(", optimal)"))
        .stdout(predicate::str::contains("at most").not());
    let optimal = convoy()
        .args([
            "plan",
            "../shared/data/apps/online_boutique.csv",
            "--format",
            "json",
        ])
        .output()
        .expect("runs");
    succeeded(&optimal);
    let plan: serde_json::Value = serde_json::from_slice(&optimal.stdout).expect("json");
    assert_eq!(plan["optimal"], true);
    assert!(plan.get("bound_stopped_by").is_none());
}

/// Runs `convoy plan` on a bad file and checks: exit 2, one `error:` line naming
/// the file and the line, no plan file left behind.
fn refuses(name: &str, text: &str, expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let graph = write(dir.path(), name, text);
    let plan = dir.path().join("plan.json");
    let out = convoy()
        .arg("plan")
        .arg(&graph)
        .arg("-o")
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    let want = format!("error: {}{expected}\n", graph.display());
    assert_eq!(stderr, want);
    assert!(out.stdout.is_empty());
    assert!(!plan.exists(), "a failed run must not write a plan");
    assert!(!stderr.contains("panicked"));
}

#[test]
fn bad_graphs_are_refused_with_file_and_line() {
    refuses(
        "cluster.csv",
        "a,b,weight\nx,y,1\nx,z,x\n",
        ":3: expected a,b,weight with a numeric weight, found \"x\"",
    );
    refuses(
        "h.csv",
        "src,dst,bytes\nx,y,1\n",
        ":1: expected the header a,b,weight, found \"src,dst,bytes\"",
    );
    refuses(
        "f.csv",
        "a,b,weight\nx,y\n",
        ":2: expected a,b,weight with a numeric weight, found 2 fields \"x,y\"",
    );
    refuses(
        "s.csv",
        "a,b,weight\nx,x,4\n",
        ":2: self-loop on \"x\": an edge must join two different VMs",
    );
    refuses(
        "n.csv",
        "a,b,weight\nx,y,-1\n",
        ":2: weight -1 is not a finite non-negative number",
    );
    refuses(
        "e.csv",
        "",
        ":1: expected the header a,b,weight, found an empty file",
    );
    refuses(
        "m.mtx",
        "%%MatrixMarket matrix coordinate pattern symmetric\n3 3 1\n1 x\n",
        ":3: expected a vertex number in 1..=3, found \"x\"",
    );
    refuses(
        "k.mtx",
        "%%MatrixMarket matrix array real general\n",
        ":1: expected \"%%MatrixMarket matrix coordinate pattern|real|integer general|symmetric|skew-symmetric\", found \"%%MatrixMarket matrix array real general\"",
    );
    refuses(
        "u.csv",
        "a,b,weight\nx,y,1\n\u{0}\u{ff}\u{fe}",
        ":3: expected a,b,weight with a numeric weight, found 1 field \"\\0ÿþ\"",
    );
}

#[test]
fn bad_inventories_and_arguments_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let graph = write(dir.path(), "g.csv", "a,b,weight\nweb,db,1\n");
    let inv = write(
        dir.path(),
        "inv.toml",
        "[[sites]]\nname = \"dc\"\nkind = \"private\"\n[[nodes]]\nname = \"n1\"\nsite = \"dc\"\n[[vms]]\nname = \"web\"\nsite = \"dc\"\nnode = \"n1\"\nmemory_mib = \"x\"\n",
    );
    convoy()
        .arg("plan")
        .arg(&graph)
        .arg("--inventory")
        .arg(&inv)
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(format!(
            "error: {}:11: invalid type",
            inv.display()
        )));

    let inv = write(
        dir.path(),
        "inv2.toml",
        "[[sites]]\nname = \"dc\"\nkind = \"private\"\n[[nodes]]\nname = \"n1\"\nsite = \"dc\"\n[[vms]]\nname = \"web\"\nsite = \"dc\"\nnode = \"n1\"\nmemory_mib = 1024\n",
    );
    convoy()
        .arg("plan")
        .arg(&graph)
        .arg("--inventory")
        .arg(&inv)
        .assert()
        .code(2)
        .stderr(format!(
            "error: {}: VM \"db\" is not in the inventory {}\n",
            graph.display(),
            inv.display()
        ));

    convoy()
        .args(["plan", "does-not-exist.csv"])
        .assert()
        .code(2)
        .stderr("error: does-not-exist.csv: No such file or directory (os error 2)\n");
    convoy()
        .args(["plan", "examples/cluster.csv", "--time-limit=-3"])
        .refused_with("expected a positive number of seconds");
}

#[test]
fn bench_prints_a_row_per_graph_and_totals() {
    let out = convoy()
        .args([
            "bench",
            "bandwidth",
            "../shared/data/hb/can___24.mtx",
            "../shared/data/hb/jgl009.mtx",
        ])
        .args(["--time-limit", "5", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["name"], "can___24");
    assert_eq!(rows[0]["n"], 24);
    for r in rows {
        assert!(r["lower_bound"].as_u64() <= r["bandwidth"].as_u64());
    }
    assert_eq!(v["totals"]["graphs"], 2);
}

#[test]
fn simulate_prints_metrics_and_draws_a_parsable_svg() {
    let dir = tempfile::tempdir().unwrap();
    let plan = sample_plan(dir.path(), "1000000");
    let svg = dir.path().join("report.svg");
    let run = || {
        simulate_sample(&plan)
            .args(["--wan", "1Gbit/s,40ms", "--format", "json", "--svg"])
            .arg(&svg)
            .output()
            .unwrap()
    };
    let a = run();
    succeeded(&a);
    let b = run();
    assert_eq!(
        a.stdout, b.stdout,
        "same inputs and seed must give byte-identical JSON"
    );
    let report: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    let moved = report["moved"].as_u64().unwrap();
    let plan_len = convoy_model::read_plan(&plan).unwrap().order.len() as u64;
    assert_eq!(moved, plan_len);
    // No run beats the link: migration bytes / link rate.
    let bytes = report["wan_migration_bytes"].as_f64().unwrap();
    assert!(report["completion_s"].as_f64().unwrap() >= bytes * 8.0 / 1e9);
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("the SVG report is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    assert!(text.contains("WAN load over time"));
}

#[test]
fn simulate_refuses_a_plan_naming_unknown_vms() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write(
        dir.path(),
        "plan.json",
        r#"{"objective":"bandwidth","order":["nope"],"objective_value":0,"bandwidth":0,"lower_bound":0,"optimal":true,"solver":"x","seed":0,"effort":0,"convoy_version":"0"}"#,
    );
    simulate_sample(&plan).refused_with("\"nope\", which is not in the inventory");
    simulate_sample(&plan)
        .args(["--wan", "fast"])
        .refused_with("expected RATE,RTT");
}

#[test]
fn demo_runs_end_to_end_and_writes_a_parsable_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = convoy()
        .arg("demo")
        .arg("--out")
        .arg(dir.path())
        .args(["--random", "10"])
        .output()
        .unwrap();
    succeeded(&out);
    let stdout = String::from_utf8(out.stdout).unwrap();
    for step in [
        "1. plan",
        "2. simulated migration",
        "3. every strategy",
        "4. report",
    ] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    let plan = convoy_model::read_plan(&dir.path().join("plan.json")).unwrap();
    assert_eq!(plan.order.len(), 97, "every VM but the pinned one moves");
    let text = std::fs::read_to_string(dir.path().join("convoy-demo.svg")).unwrap();
    roxmltree::Document::parse(&text).expect("the demo's SVG is well-formed XML");
}

#[test]
fn compare_json_lists_every_strategy() {
    let out = on_sample("compare")
        .args(["--random", "5", "--format", "json", "--effort", "1000000"])
        .output()
        .unwrap();
    succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let strategies = v["strategies"].as_array().unwrap();
    let names: Vec<&str> = strategies
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"convoy bandwidth"));
    assert!(names.contains(&"reverse Cuthill-McKee"));
    assert!(names.iter().any(|n| n.starts_with("random")));
    for s in strategies {
        for key in [
            "completion_s",
            "wan_bytes",
            "stretch",
            "peak_wan_bps",
            "max_downtime_ms",
        ] {
            assert!(s[key].as_f64().unwrap() >= 0.0, "{key} in {s}");
        }
    }
}

#[test]
fn waves_and_constraints_are_honoured_or_refused_with_lines() {
    let dir = tempfile::tempdir().unwrap();
    let constraints = write(
        dir.path(),
        "c.toml",
        "stay = [\"hotel-frontend\"]\n\
         together = [[\"sockshop-orders-db\", \"sockshop-orders-1\", \"sockshop-orders-2\"]]\n\
         before = [[\"social-user-mongodb\", \"social-user-service\"]]\n\
         max_per_node = 2\n",
    );
    let out = on_sample("plan")
        .args([
            "--waves",
            "3",
            "--format",
            "json",
            "--effort",
            "3000000",
            "--constraints",
        ])
        .arg(&constraints)
        .output()
        .unwrap();
    succeeded(&out);
    let plan: convoy_model::Plan = serde_json::from_slice(&out.stdout).unwrap();
    let flat: Vec<String> = plan.waves.concat();
    assert_eq!(
        flat, plan.order,
        "the waves are consecutive runs of the order"
    );
    assert_eq!(plan.waves.len(), plan.wave_split_traffic.len());
    assert!(plan.waves.iter().all(|w| !w.is_empty() && w.len() <= 3));
    assert!(!plan
        .order
        .iter()
        .any(|n| n == "hotel-frontend" || n == "backup"));
    assert_eq!(plan.order.len(), 96);
    let wave_of = |name: &str| {
        plan.waves
            .iter()
            .position(|w| w.iter().any(|n| n == name))
            .unwrap()
    };
    let group = wave_of("sockshop-orders-db");
    assert_eq!(wave_of("sockshop-orders-1"), group);
    assert_eq!(wave_of("sockshop-orders-2"), group);
    assert!(wave_of("social-user-mongodb") < wave_of("social-user-service"));
    let inventory = convoy_model::read_inventory(&root().join("examples/inventory.toml")).unwrap();
    for wave in &plan.waves {
        let mut per_node = std::collections::HashMap::new();
        for name in wave {
            *per_node
                .entry(&inventory.vm(name).unwrap().node)
                .or_insert(0) += 1;
        }
        assert!(
            per_node.values().all(|&c| c <= 2),
            "node limit broken in {wave:?}"
        );
    }
    assert!(
        plan.lower_bound.is_none(),
        "no bound is known for plans in waves"
    );
    assert!(plan.constraints.is_some());

    let cycle = write(
        dir.path(),
        "cycle.toml",
        "before = [[\"sockshop-user\", \"sockshop-user-db\"]]\n\
         not_after = [[\"sockshop-user-db\", \"sockshop-user\"]]\n",
    );
    let plan_file = dir.path().join("plan.json");
    on_sample("plan")
        .arg("--constraints")
        .arg(&cycle)
        .arg("-o")
        .arg(&plan_file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("precedence cycle through"))
        .stderr(predicate::str::contains(format!("{}:1", cycle.display())))
        .stderr(predicate::str::contains(format!("{}:2", cycle.display())));
    assert!(!plan_file.exists());

    let unknown = write(
        dir.path(),
        "u.toml",
        "stay = [\"web\"]\n\nbefore = [[\"nobody\", \"web\"]]\n",
    );
    on_sample("plan")
        .arg("--constraints")
        .arg(&unknown)
        .assert()
        .code(2)
        .stderr(format!(
            "error: {}:1: expected a VM of the inventory, found \"web\"\n",
            unknown.display()
        ));
    convoy()
        .args(["plan", "examples/cluster.csv", "--waves", "0"])
        .assert()
        .code(2);
}

#[test]
fn select_meets_the_need_and_feeds_plan() {
    let dir = tempfile::tempdir().unwrap();
    let selected = dir.path().join("selected.toml");
    let out = on_sample("select")
        .args([
            "--free",
            "node=n01,vcpus=64",
            "--format",
            "json",
            "--write-inventory",
        ])
        .arg(&selected)
        .output()
        .unwrap();
    succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let moved: Vec<String> = serde_json::from_value(v["moved"].clone()).unwrap();
    let inventory = convoy_model::read_inventory(&root().join("examples/inventory.toml")).unwrap();
    let freed: u32 = moved
        .iter()
        .map(|n| inventory.vm(n).unwrap())
        .filter(|vm| vm.node == "n01")
        .map(|vm| vm.vcpus)
        .sum();
    assert!(freed >= 64, "the need is met: {freed} vCPUs freed on n01");
    assert!(v["lower_bound"].as_f64().unwrap() <= v["cut"].as_f64().unwrap());
    // The written inventory pins everything else, so plan moves exactly the selection.
    let out = convoy()
        .args([
            "plan",
            "examples/cluster.csv",
            "--format",
            "json",
            "--effort",
            "100000",
            "--inventory",
        ])
        .arg(&selected)
        .output()
        .unwrap();
    succeeded(&out);
    let plan: convoy_model::Plan = serde_json::from_slice(&out.stdout).unwrap();
    let mut a = plan.order.clone();
    let mut b = moved.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert!((plan.permanent_cut - v["cut"].as_f64().unwrap()).abs() < 1e-6 * plan.permanent_cut);

    on_sample("select")
        .args(["--free", "node=n01,vcpus=100000"])
        .refused_with("cannot be met even moving every movable VM: short by");
    on_sample("select")
        .args(["--evacuate", "n99"])
        .refused_with("expected a node of the inventory, found \"n99\"");
}

#[test]
fn online_replay_is_a_seeded_permutation() {
    let run = |seed: &str| {
        let out = on_sample("plan")
            .args(["--online", "--format", "json", "--seed", seed])
            .output()
            .unwrap();
        succeeded(&out);
        serde_json::from_slice::<convoy_model::Plan>(&out.stdout).unwrap()
    };
    let (a, b, c) = (run("1"), run("1"), run("2"));
    assert_eq!(a, b, "same seed, same order");
    assert_ne!(a.order, c.order, "the chooser is random");
    let names: HashSet<&String> = a.order.iter().collect();
    assert_eq!(names.len(), 97);
    assert_eq!(a.objective, "online");
    assert!(a.lower_bound.is_none() && !a.optimal);
}

/// Every VM of the plan was cut over exactly once, and runs at the destination only.
fn assert_moved_exactly_once(state: &Path, order: &[String]) {
    for vm in order {
        let dir = state.join(vm);
        let cutovers = std::fs::read_to_string(dir.join("cutovers"))
            .unwrap_or_else(|_| panic!("{vm} was never cut over"));
        assert_eq!(
            cutovers.lines().count(),
            1,
            "{vm} was cut over {cutovers:?}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("source")).unwrap().trim(),
            "absent"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("destination"))
                .unwrap()
                .trim(),
            "running"
        );
    }
}

#[test]
fn migrate_survives_kill_9_and_moves_every_vm_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let plan = sample_plan(dir.path(), "100000");
    let order = convoy_model::read_plan(&plan).unwrap().order;
    let state = dir.path().join("cloud");
    let journal = dir.path().join("journal.db");
    let migrate = |step_seconds: &str| {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("convoy"));
        cmd.current_dir(root())
            .arg("migrate")
            .arg(&plan)
            .args([
                "--inventory",
                "examples/inventory.toml",
                "--concurrency",
                "3",
            ])
            .args(["--exec", "examples/exec-backend/fake-cloud.sh", "--journal"])
            .arg(&journal)
            .env("FAKE_CLOUD", &state)
            .env("FAKE_CLOUD_STEP_SECONDS", step_seconds)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd
    };
    // Kill -9 the mover at several points of the run, then let a rerun finish.
    for wait_ms in [700, 1900, 3100] {
        let mut child = migrate("0.02").spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(wait_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let status = migrate("0").status().unwrap();
    assert!(status.success());
    assert_moved_exactly_once(&state, &order);
    // A rerun of a finished plan moves nothing.
    assert!(migrate("0").status().unwrap().success());
    assert_moved_exactly_once(&state, &order);
}

#[test]
fn migrate_reports_a_failing_step_and_keeps_the_vm_at_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write(
        dir.path(),
        "plan.json",
        r#"{"objective":"bandwidth","order":["grafana"],"objective_value":0,"bandwidth":0,"lower_bound":0,"optimal":true,"solver":"x","seed":0,"effort":0,"convoy_version":"0"}"#,
    );
    let failing = write(dir.path(), "fail.sh", "#!/bin/sh\ncat >/dev/null\n[ \"$1\" = transfer ] && { echo 'quota exceeded' >&2; exit 3; }\n[ \"$1\" = observe ] && echo '{}'\nexit 0\n");
    std::fs::set_permissions(
        &failing,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    convoy()
        .arg("migrate")
        .arg(&plan)
        .args(["--inventory", "examples/inventory.toml", "--exec"])
        .arg(&failing)
        .arg("--journal")
        .arg(dir.path().join("j.db"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("failed: grafana"))
        .stdout(predicate::str::contains("quota exceeded"));
}

#[test]
fn migrate_dry_runs_through_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let plan = sample_plan(dir.path(), "100000");
    let journal = dir.path().join("dry.db");
    for _ in 0..2 {
        convoy()
            .arg("migrate")
            .arg(&plan)
            .args([
                "--inventory",
                "examples/inventory.toml",
                "--sim",
                "--speedup",
                "0",
            ])
            .arg("--journal")
            .arg(&journal)
            .assert()
            .success()
            .stdout(predicate::str::starts_with(
                "migrated 97 of 97 VMs to cloud",
            ));
    }
    convoy()
        .arg("migrate")
        .arg(&plan)
        .args(["--inventory", "examples/inventory.toml"])
        .refused_with("--exec");
}

#[test]
fn migrate_qemu_needs_an_agent_for_every_node() {
    let dir = tempfile::tempdir().unwrap();
    let plan = sample_plan(dir.path(), "1");
    // The sample inventory's nodes name no agents.
    let inventory = root().join("examples/inventory.toml");
    let run = |token: Option<&str>| {
        let mut c = convoy();
        c.arg("migrate")
            .arg(&plan)
            .arg("--inventory")
            .arg(&inventory)
            .arg("--qemu")
            .arg("--journal")
            .arg(dir.path().join("j.db"))
            .env_remove("CONVOY_AGENT_TOKEN");
        if let Some(t) = token {
            c.env("CONVOY_AGENT_TOKEN", t);
        }
        c.assert().code(2)
    };
    run(None).stderr(predicate::str::contains("no agent token"));
    run(Some("0123456789abcdef0123")).stderr(predicate::str::contains(
        "has no `agent` address, which --qemu needs",
    ));
}

#[test]
fn agent_refuses_to_start_without_a_strong_token() {
    let dir = tempfile::tempdir().unwrap();
    let token = write(dir.path(), "token", "short\n");
    convoy()
        .args(["agent", "--name", "n1", "--dir"])
        .arg(dir.path().join("run"))
        .arg("--token-file")
        .arg(&token)
        .refused_with("at least 16");
}

/// The lab end to end (network namespaces, a tc-shaped WAN, an agent per
/// side, two test guests that dirty memory): needs root, iproute2, QEMU and
/// the test guest, and fails — never skips — without them.
#[test]
fn lab_moves_dirtying_guests_through_the_agents() {
    convoy_migrate::qemu::require_qemu();
    let guest = root().join("target/guest");
    let built = std::process::Command::new("bash")
        .arg(root().join("scripts/build-guest.sh"))
        .arg(&guest)
        .status()
        .unwrap();
    assert!(built.success(), "scripts/build-guest.sh failed");
    let out = convoy()
        .args(["lab", "--vms", "2", "--memory", "128", "--fill", "96"])
        .args(["--wss", "16", "--dirty", "4", "--link", "400mbit,10ms"])
        .arg("--guest")
        .arg(&guest)
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let r: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        (&r["moved"], &r["lost"], &r["doubled"]),
        (&2.into(), &0.into(), &0.into()),
        "{r}"
    );
    // Each guest's filled memory really crossed the WAN, at no more than its rate.
    assert!(r["bytes"].as_u64().unwrap() >= (2 * 96) << 20, "{r}");
    let (wall, limit) = (
        r["wall_s"].as_f64().unwrap(),
        r["link_limit_s"].as_f64().unwrap(),
    );
    assert!(
        limit > 0.0 && wall >= limit * 0.95,
        "faster than the link: {r}"
    );
    assert!(r["max_downtime_ms"].as_u64().is_some(), "{r}");
    assert!(r["predicted_s"].as_f64().unwrap() > 0.0, "{r}");
    assert_eq!(r["guest"], "kernel");
}

/// A `convoy agent` process on a loopback port.
struct AgentProc {
    child: std::process::Child,
    url: String,
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_agent(name: &str, dir: &Path, token: &Path) -> AgentProc {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("convoy"))
        .args(["agent", "--name", name, "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--dir")
        .arg(dir.join(name))
        .arg("--token-file")
        .arg(token)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("{name}.log"))).unwrap())
        .spawn()
        .unwrap();
    AgentProc {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

fn connect_agent(url: &str, token: &str) -> convoy_agent::AgentHost {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        match convoy_agent::AgentHost::connect(url, token) {
            Ok(h) => return h,
            Err(e) if std::time::Instant::now() > deadline => panic!("{url}: {e}"),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    }
}

/// `convoy migrate --qemu` through two `convoy agent` processes, killed -9
/// at several points: the rerun reconciles the journal with what the agents
/// report, and every guest ends up running once, in the cloud, cut over once.
#[test]
fn migrate_qemu_through_agents_survives_kill_9() {
    use convoy_migrate::{Host, Presence, State};
    convoy_migrate::qemu::require_qemu();
    let dir = tempfile::tempdir().unwrap();
    let token = "kill9-token-0123456789abcdef";
    let token_file = write(dir.path(), "token", token);
    let private = spawn_agent("private", dir.path(), &token_file);
    let cloud = spawn_agent("cloud", dir.path(), &token_file);
    let p = connect_agent(&private.url, token);
    let c = connect_agent(&cloud.url, token);
    let names = ["g1", "g2", "g3", "g4"];
    for (i, name) in names.iter().enumerate() {
        // 24 MiB of data in RAM, so that each move takes a few seconds at the cap.
        let ram = dir.path().join(format!("{name}.ram"));
        let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ i as u64;
        let data: Vec<u8> = (0..(24usize << 20) / 8)
            .flat_map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()
            })
            .collect();
        std::fs::write(&ram, data).unwrap();
        let mut config = convoy_migrate::MachineConfig::new(64, 1);
        config.ram_loads.push(convoy_migrate::RamLoad {
            file: ram,
            addr: 0x200_0000,
        });
        p.start_vm(name, &config, false).unwrap();
    }
    let inventory = write(
        dir.path(),
        "inv.toml",
        &format!(
            "[[sites]]\nname = \"dc\"\nkind = \"private\"\n[[sites]]\nname = \"sky\"\nkind = \"cloud\"\n\
             [[nodes]]\nname = \"private\"\nsite = \"dc\"\nagent = \"{}\"\n\
             [[nodes]]\nname = \"cloud\"\nsite = \"sky\"\nagent = \"{}\"\n{}",
            private.url,
            cloud.url,
            names
                .iter()
                .map(|n| format!(
                    "[[vms]]\nname = \"{n}\"\nsite = \"dc\"\nnode = \"private\"\nmemory_mib = 64\n"
                ))
                .collect::<String>()
        ),
    );
    let graph = write(
        dir.path(),
        "g.csv",
        "a,b,weight\ng1,g2,5\ng2,g3,1\ng3,g4,5\n",
    );
    let plan = dir.path().join("plan.json");
    convoy()
        .arg("plan")
        .arg(&graph)
        .arg("--inventory")
        .arg(&inventory)
        .args(["--wave-size", "2", "-q", "-o"])
        .arg(&plan)
        .assert()
        .success();
    let journal = dir.path().join("journal.db");
    let migrate = || {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("convoy"));
        cmd.arg("migrate")
            .arg(&plan)
            .arg("--inventory")
            .arg(&inventory)
            .args([
                "--qemu",
                "--concurrency",
                "2",
                "--max-bandwidth",
                "64Mbit/s",
            ])
            .arg("--agent-token-file")
            .arg(&token_file)
            .arg("--journal")
            .arg(&journal)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd
    };
    let mut interrupted = Vec::new();
    for wait_ms in [1200, 2500, 3000] {
        let mut child = migrate().spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(wait_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let j = convoy_migrate::Journal::open(&journal).unwrap();
        interrupted.extend(j.entries().unwrap().into_iter().filter(|e| {
            matches!(
                e.state,
                State::Preparing | State::Transferring | State::Cutover
            )
        }));
        // Never two running copies, whatever the moment of the kill.
        for n in names {
            assert!(
                !(p.presence(n) == Presence::Running && c.presence(n) == Presence::Running),
                "{n} runs on both sides"
            );
        }
    }
    assert!(
        !interrupted.is_empty(),
        "no kill landed in the middle of a move"
    );
    assert!(migrate().status().unwrap().success());
    let j = convoy_migrate::Journal::open(&journal).unwrap();
    for n in names {
        assert_eq!(
            (p.presence(n), c.presence(n)),
            (Presence::Absent, Presence::Running),
            "{n}"
        );
        assert_eq!(j.get(n).unwrap().unwrap().state, State::Done, "{n}");
        let cutovers = j
            .history(n)
            .unwrap()
            .iter()
            .filter(|t| t.to == State::Done)
            .count();
        assert_eq!(cutovers, 1, "{n} was cut over {cutovers} times");
    }
    drop(j);
    // A rerun of a finished plan moves nothing.
    assert!(migrate().status().unwrap().success());
    for n in names {
        let _ = c.kill_vm(n);
    }
}
