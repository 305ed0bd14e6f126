#!/usr/bin/env python3
"""Builds a synthetic but realistic VM cluster from real microservice graphs.

The application graphs in ../shared/data/apps describe who calls whom in five
open-source applications (unit weights, no rates). A real enterprise cluster
runs several such applications side by side, replicates its stateless
services, shares infrastructure (DNS, LDAP, monitoring, logging, backup) and
has heavy-tailed traffic. This script composes those ingredients,
deterministically from a seed, into:

  <out>/cluster.csv     communication graph, a,b,weight (bytes/s)
  <out>/inventory.toml  sites, hypervisor nodes and VMs (memory, disk, dirty rate, addresses)

Traffic model (all draws from Python's `random.Random(seed)`, stable across versions):
  * each application gets a load level ~ lognormal(0, 1) (some apps are busy, most are quiet);
  * each caller->callee edge gets rate = 40 kB/s x app level x lognormal(0, 1.2),
    x4 when the callee is a database, cache or queue (data-heavy);
  * a stateless service (not a database, cache, queue or gateway) is replicated
    `--replicas` times with probability `--replicate-prob` (0.5); the load of
    an edge is split evenly over the caller replicas x callee replicas;
  * infrastructure: every VM talks to one of two DNS servers (~2 kB/s) and to
    monitoring (Prometheus scrape, ~20 kB/s); service VMs authenticate against
    LDAP (~5 kB/s); every stateful VM streams backups to the backup server
    (~100 kB/s average); Prometheus feeds Grafana. The backup server is pinned:
    it stays on premises.
VM sizes by role: databases 16-64 GiB memory, 50-200 GiB disk, 40 MiB/s dirty;
caches 4-16 GiB, 10 GiB disk, 120 MiB/s; queues 4-8 GiB, 20 GiB, 30 MiB/s;
services 2-8 GiB, 20 GiB, 8 MiB/s.

Usage:
  python3 tools/gen_cluster.py --apps online_boutique,sock_shop,... --seed 1 --out examples
"""

import argparse
import csv
import os
import random
import sys

DATA_ROLES = ("db", "mongo", "mysql", "redis", "memcached", "cache", "rabbitmq", "queue", "kafka", "nats")


def role(name):
    low = name.lower()
    if any(k in low for k in ("redis", "memcached", "cache")) and "service" not in low:
        return "cache"
    if any(k in low for k in ("rabbitmq", "kafka", "nats")):
        return "queue"
    if any(k in low for k in ("mongo", "mysql", "-db", "db-", "postgres", "cassandra")) or low.endswith("db"):
        return "db"
    if any(k in low for k in ("gateway", "front", "nginx", "ui-dashboard")):
        return "gateway"
    return "service"


def read_app(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [(r["a"], r["b"]) for r in rows]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--apps", required=True, help="comma-separated application names (files in --data)")
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "apps"))
    ap.add_argument("--replicas", type=int, default=2, help="replicas of a replicated stateless service")
    ap.add_argument("--replicate-prob", type=float, default=0.5,
                    help="probability that a stateless service is replicated")
    ap.add_argument("--nodes", type=int, default=8, help="hypervisor nodes in the private site")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    vms = {}  # name -> dict
    edges = {}  # (a, b) sorted -> bytes/s

    def add_edge(a, b, w):
        if a == b:
            return
        key = (a, b) if a < b else (b, a)
        edges[key] = edges.get(key, 0.0) + w

    def add_vm(name, kind, group):
        vms[name] = {"role": kind, "group": group}

    for app in args.apps.split(","):
        prefix = {"online_boutique": "boutique", "sock_shop": "sockshop",
                  "deathstarbench_hotelreservation": "hotel",
                  "deathstarbench_socialnetwork": "social", "train_ticket": "train"}.get(app, app)
        # The load generator is a test client, not a VM of the application.
        calls = [(a, b) for a, b in read_app(os.path.join(args.data, app + ".csv"))
                 if "loadgenerator" not in (a, b)]
        services = sorted({x for e in calls for x in e})
        level = rng.lognormvariate(0, 1)
        copies = {}
        for s in services:
            r = role(s)
            k = args.replicas if r == "service" and rng.random() < args.replicate_prob else 1
            base = f"{prefix}-{s}"
            names = [base] if k == 1 else [f"{base}-{i + 1}" for i in range(k)]
            copies[s] = names
            for n in names:
                add_vm(n, r, prefix)
        for a, b in calls:
            rate = 40e3 * level * rng.lognormvariate(0, 1.2)
            if role(b) in ("db", "cache", "queue"):
                rate *= 4
            # The application's load is split over the caller replicas, and each
            # spreads its calls evenly over the callee replicas.
            ca, cb = copies[a], copies[b]
            for x in ca:
                for y in cb:
                    add_edge(x, y, rate / (len(ca) * len(cb)))

    app_vms = sorted(vms)
    infra = {"dns-1": "service", "dns-2": "service", "ldap-1": "service", "ldap-2": "service",
             "prometheus": "db", "grafana": "service", "logstash": "service", "backup": "db"}
    for name, r in infra.items():
        add_vm(name, r, "infra")
    for v in app_vms:
        add_edge(v, rng.choice(["dns-1", "dns-2"]), 2e3 * rng.lognormvariate(0, 0.5))
        add_edge(v, "prometheus", 20e3 * rng.lognormvariate(0, 0.3))
        add_edge(v, "logstash", 10e3 * rng.lognormvariate(0, 1.0))
        if vms[v]["role"] in ("service", "gateway"):
            add_edge(v, rng.choice(["ldap-1", "ldap-2"]), 5e3 * rng.lognormvariate(0, 0.5))
        if vms[v]["role"] in ("db", "queue"):
            add_edge(v, "backup", 100e3 * rng.lognormvariate(0, 0.8))
    add_edge("prometheus", "grafana", 50e3)
    add_edge("logstash", "backup", 300e3)
    add_edge("dns-1", "dns-2", 1e3)
    add_edge("ldap-1", "ldap-2", 2e3)

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "cluster.csv"), "w", newline="") as f:
        f.write(f"# generated by tools/gen_cluster.py --apps {args.apps} --replicas {args.replicas} "
                f"--replicate-prob {args.replicate_prob} --nodes {args.nodes} --seed {args.seed}; "
                f"weights in bytes/s\n")
        f.write("a,b,weight\n")
        for (a, b), w in sorted(edges.items()):
            f.write(f"{a},{b},{w:.0f}\n")

    sizes = {"db": ([16384, 32768, 65536], (50, 200), 40.0),
             "cache": ([4096, 8192, 16384], (10, 10), 120.0),
             "queue": ([4096, 8192], (20, 20), 30.0),
             "service": ([2048, 4096, 8192], (20, 20), 8.0),
             "gateway": ([2048, 4096], (20, 20), 8.0)}
    out = [f"# generated by tools/gen_cluster.py --apps {args.apps} --replicas {args.replicas} "
           f"--replicate-prob {args.replicate_prob} --nodes {args.nodes} --seed {args.seed}",
           "", "[[sites]]", 'name = "dc1"', 'kind = "private"', "",
           "[[sites]]", 'name = "cloud"', 'kind = "cloud"', ""]
    for i in range(args.nodes):
        out += ["[[nodes]]", f'name = "n{i + 1:02}"', 'site = "dc1"', "vcpus = 64",
                "memory_mib = 524288", ""]
    for i in range(2):
        out += ["[[nodes]]", f'name = "cloud-{i + 1}"', 'site = "cloud"', "vcpus = 192",
                "memory_mib = 1572864", ""]
    for idx, name in enumerate(sorted(vms)):
        r = vms[name]["role"]
        mems, disks, dirty = sizes[r]
        vcpus = rng.choice([2, 4, 8])
        out += ["[[vms]]", f'name = "{name}"', 'site = "dc1"',
                f'node = "n{rng.randrange(args.nodes) + 1:02}"', f"vcpus = {vcpus}",
                f"memory_mib = {rng.choice(mems)}", f"disk_gib = {rng.randint(*disks)}",
                f"dirty_mib_per_s = {dirty * rng.lognormvariate(0, 0.4):.1f}",
                f'addresses = ["10.{idx // 250}.{idx % 250 + 1}.10"]',
                f'group = "{vms[name]["group"]}"']
        if name == "backup":
            out.append("pinned = true")
        out.append("")
    with open(os.path.join(args.out, "inventory.toml"), "w") as f:
        f.write("\n".join(out))
    print(f"{args.out}: {len(vms)} VMs, {len(edges)} edges", file=sys.stderr)


if __name__ == "__main__":
    main()
