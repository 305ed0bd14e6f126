#!/usr/bin/env python3
"""The reference of issue 3's exactness goal: which bandwidth optima an
off-the-shelf CP solver (OR-Tools CP-SAT) proves within a time limit.

Usage: bench/.venv/bin/python3 bench/cpsat_bandwidth.py [--time-limit 40] [--workers 2] FILE.mtx...

Model: pos[v] in 0..n-1, AllDifferent(pos), for every edge |pos[u] - pos[v]| <= B,
minimise B, with the two ends' symmetry broken (pos[first] < pos[last] for one
pair). Prints per graph: n, CP-SAT's best B, its bound, and whether it proved
optimality within the limit. Run it beside `convoy bench bandwidth` on the same
files: every graph CP-SAT proves should be proven by convoy too.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bandwidth import read_mtx  # noqa: E402


def solve(n, edges, limit, workers):
    from ortools.sat.python import cp_model

    m = cp_model.CpModel()
    pos = [m.NewIntVar(0, n - 1, f"p{v}") for v in range(n)]
    m.AddAllDifferent(pos)
    b = m.NewIntVar(0, n - 1, "B")
    for u, v in edges:
        m.Add(pos[u] - pos[v] <= b)
        m.Add(pos[v] - pos[u] <= b)
    if n > 1:
        m.Add(pos[0] < pos[n - 1])
    m.Minimize(b)
    s = cp_model.CpSolver()
    s.parameters.max_time_in_seconds = limit
    s.parameters.num_workers = workers
    t = time.time()
    status = s.Solve(m)
    took = time.time() - t
    best = int(s.ObjectiveValue()) if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None
    return best, int(s.BestObjectiveBound()), status == cp_model.OPTIMAL, took


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--time-limit", type=float, default=40.0)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    print(f"{'graph':<12} {'n':>5} {'cp-sat':>7} {'bound':>6} {'proven':>7} {'s':>6}")
    for f in args.files:
        n, edges = read_mtx(f)
        best, bound, proven, took = solve(n, edges, args.time_limit, args.workers)
        name = os.path.basename(f)[:-4]
        print(f"{name:<12} {n:>5} {best if best is not None else '-':>7} {bound:>6} "
              f"{'yes' if proven else 'no':>7} {took:>6.1f}", flush=True)


if __name__ == "__main__":
    main()
