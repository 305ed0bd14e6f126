#!/usr/bin/env python3
"""convoy against SciPy's reverse Cuthill-McKee, side by side, on the same graphs.

Usage: python3 bench/bandwidth.py [--time-limit 10] [--min-n 0] [--max-n 1000] [PATHS...]

Creates bench/.venv with SciPy on first use (re-executing itself inside it),
builds convoy in release mode, runs `convoy bench bandwidth --format json` on the
graphs (default: ../shared/data/hb), runs scipy.sparse.csgraph.reverse_cuthill_mckee
on the same files, and prints per graph: n, convoy's lower bound and bandwidth,
RCM's bandwidth, the ratio convoy/RCM; then the geometric-mean ratio per size
class and the count of graphs where convoy is worse than RCM (should be 0).
"""

import argparse
import json
import math
import os
import subprocess
import sys
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV = os.path.join(HERE, ".venv")


def ensure_venv():
    if sys.prefix == VENV:
        return
    python = os.path.join(VENV, "bin", "python3")
    if not os.path.exists(python):
        print("creating bench/.venv ...", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    # The venv is shared with the other bench scripts: install what this one
    # needs whoever created it.
    has_scipy = subprocess.call([python, "-c", "import scipy"], stderr=subprocess.DEVNULL) == 0
    if not has_scipy:
        print("installing scipy into bench/.venv ...", file=sys.stderr)
        subprocess.check_call([python, "-m", "pip", "install", "--quiet", "scipy==1.*", "numpy"])
    os.execv(python, [python] + sys.argv)


def read_mtx(path):
    """Edges (0-based, undirected, no diagonal) and n, like convoy's reader."""
    with open(path) as f:
        header = f.readline().split()
        pattern = header[3].lower() == "pattern"
        line = f.readline()
        while line.startswith("%") or not line.strip():
            line = f.readline()
        n = int(line.split()[0])
        edges = set()
        for line in f:
            parts = line.split()
            if len(parts) < 2 or line.startswith("%"):
                continue
            i, j = int(parts[0]) - 1, int(parts[1]) - 1
            if i != j:
                edges.add((min(i, j), max(i, j)))
    return n, sorted(edges)


def rcm_bandwidth(n, edges):
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    rows = [a for a, b in edges] + [b for a, b in edges]
    cols = [b for a, b in edges] + [a for a, b in edges]
    m = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    perm = reverse_cuthill_mckee(m, symmetric_mode=True)
    pos = np.empty(n, dtype=np.int64)
    pos[perm] = np.arange(n)
    return max((abs(int(pos[a]) - int(pos[b])) for a, b in edges), default=0)


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def main():
    ensure_venv()
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="*", default=[os.path.join(ROOT, "..", "shared", "data", "hb")])
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--min-n", type=int, default=0)
    ap.add_argument("--max-n", type=int, default=1000)
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()

    subprocess.check_call(["cargo", "build", "--release", "--quiet", "--bin", "convoy"], cwd=ROOT)
    convoy = os.path.join(ROOT, "target", "release", "convoy")
    out = subprocess.run(
        [convoy, "bench", "bandwidth", *args.paths, "--time-limit", str(args.time_limit),
         "--min-n", str(args.min_n), "--max-n", str(args.max_n), "--format", "json"],
        check=True, capture_output=True, text=True).stdout
    result = json.loads(out)

    files = {}
    for p in args.paths:
        if os.path.isdir(p):
            for f in os.listdir(p):
                if f.endswith(".mtx"):
                    files[f[:-4]] = os.path.join(p, f)
        elif p.endswith(".mtx"):
            files[os.path.basename(p)[:-4]] = p

    print(f"{'graph':<12} {'n':>5} {'lower':>6} {'convoy':>7} {'opt':>4} {'rcm':>6} {'ratio':>6} {'s':>6}")
    rows = []
    for r in result["rows"]:
        n, edges = read_mtx(files[r["name"]])
        rcm = rcm_bandwidth(n, edges)
        ratio = r["bandwidth"] / rcm if rcm else 1.0
        rows.append({**r, "rcm": rcm, "ratio": ratio})
        print(f"{r['name']:<12} {r['n']:>5} {r['lower_bound']:>6} {r['bandwidth']:>7} "
              f"{'yes' if r['optimal'] else 'no':>4} {rcm:>6} {ratio:>6.3f} {r['seconds']:>6.2f}", flush=True)

    print()
    classes = [("n <= 200", lambda n: n <= 200), ("200 < n <= 1000", lambda n: 200 < n <= 1000),
               ("n > 1000", lambda n: n > 1000), ("all", lambda n: True)]
    for label, keep in classes:
        sel = [r for r in rows if keep(r["n"])]
        if not sel:
            continue
        worse = [r["name"] for r in sel if r["bandwidth"] > r["rcm"]]
        print(f"{label:<16} graphs {len(sel):>3}  proven optimal {sum(r['optimal'] for r in sel):>3}  "
              f"geomean convoy/RCM {geomean([r['ratio'] for r in sel if r['rcm']]):.3f}  "
              f"worse than RCM: {len(worse)} {' '.join(worse)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
