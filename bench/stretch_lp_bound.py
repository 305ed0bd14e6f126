#!/usr/bin/env python3
"""How far convoy's stretch plans are from the spreading-metric LP lower bound.

Usage: python3 bench/stretch_lp_bound.py [--time-limit 600] [--rounds N] [--clique]
                                         [--json FILE] PATHS...

PATHS are graph CSV files (`a,b,weight`, docs/formats.md) or directories holding
them (their *.csv files, sorted, as `convoy bench objectives` lists them).

Creates bench/.venv on first use and installs what this script needs into it
(highspy, numpy; pinned below), re-executing itself inside it; builds convoy
in release mode and runs `convoy bench objectives FILE --format json` on each
graph, so the instance and the figures are those of the "Traffic-weighted
objectives" table of docs/benchmarks.md: the plain weighted linear
arrangement (every VM moves, one step per move, stretch = sum over edges of
weight * |pos(a) - pos(b)|), convoy's stretch plan and its own lower bound at
the default effort and seed 0.

The bound. The spreading-metric LP relaxation of the linear arrangement
(G. Even, J. Naor, S. Rao, B. Schieber, "Divide-and-conquer approximation
algorithms via spreading metrics", J. ACM 47(4), 2000; S. Rao, A. W. Richa,
"New approximation techniques for some linear ordering problems", SIAM J.
Comput. 34(2), 2004): a variable d(u,v) for every pair of VMs,

    minimise    sum over edges w(u,v) d(u,v)
    subject to  1 <= d(u,v) <= n-1
                d(u,v) <= d(u,x) + d(x,v)                    (triangle)
                sum_{u in S} d(u,v) >= f(|S|) = 1+1+2+2+3+3+...  for every v
                and every set S of other VMs                   (spreading)
    and, with --clique,
                sum_{u<v in S} d(u,v) >= (|S|^3 - |S|)/6        (clique)

Every inequality holds for d(u,v) = |pos(u) - pos(v)| of any order (positions
are distinct integers in 0..n-1; at most two VMs lie at distance k from v; the
pairwise distances of k distinct integers sum to at least those of 0..k-1), so
any LP made of a subset of them is a relaxation and its optimum is a lower
bound on the optimal stretch. The LP is solved by cutting planes: start with
the bounds only; each round, solve with HiGHS (interior point, no crossover,
which the prototype found fastest on these LPs), then add the violated
spreading inequalities (exact separation: for each v, sort the others by
d(., v); the k nearest minimise the left-hand side among sets of size k; the
6 most violated k per v are added), every violated triangle inequality (the
worst middle x of each pair; the check is exhaustive), and with --clique one
greedily grown clique inequality per VM. It stops when a round finds nothing
violated (by more than 1e-6): "converged", the optimum of the whole
spreading-metric LP with triangle inequalities (with --clique, tightened by
the clique inequalities the greedy separation finds, not by all of them); or
at the time or round limit.

Why the number printed is a valid lower bound even when the loop is stopped
early: every LP solved is a relaxation (only valid inequalities), so its
optimum is a lower bound, converged or not; the loop only adds inequalities,
so later rounds are tighter. The bound is not read from the solver's primal
objective (an interior-point iterate is optimal only to a tolerance, and one
cut off by the time limit is not optimal at all) but certified by weak
duality from the solver's row duals y, clipped to y >= 0: for the LP
min c.d s.t. A d >= b, l <= d <= u, every y >= 0 gives
c.d >= b.y + sum_j min(r_j l_j, r_j u_j) with r = c - A^T y, computed here in
numpy. The best such value over the rounds is reported. (Only the rounding
of these double-precision sums is trusted.) The LP is not the optimum: even
converged, it can be more than 10 % below it (socialnetwork: LP 76.0,
optimum 86).

Prints one row per graph: n, edges, convoy's stretch plan, convoy's own lower
bound, the LP bound, plan / LP bound, the LP status (converged, or stopped at
the time or round limit, with the rounds solved) and the seconds the LP took.
Deterministic apart from where a time limit falls (HiGHS's interior point
solver is deterministic; the time limit is wall clock); --rounds gives a
deterministic stop.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV = os.path.join(HERE, ".venv")
PACKAGES = ["highspy==1.16.0", "numpy==2.*"]
TOL = 1e-6  # a cut is added when violated by more than this (distances are >= 1)
SPREAD_PER_VERTEX = 6  # most violated spreading inequalities added per VM per round
CLIQUE_MAX = 40  # largest clique grown by the greedy clique separation


def ensure_venv():
    if sys.prefix == VENV:
        return
    python = os.path.join(VENV, "bin", "python3")
    if not os.path.exists(python):
        print("creating bench/.venv ...", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    if subprocess.call([python, "-c", "import highspy, numpy"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) != 0:
        print(f"installing {' '.join(PACKAGES)} into bench/.venv ...", file=sys.stderr)
        subprocess.check_call([python, "-m", "pip", "install", "--quiet", *PACKAGES])
    os.execv(python, [python] + sys.argv)


class InputError(Exception):
    pass


def read_csv_graph(path):
    """Like convoy's CSV reader: header a,b,weight; '#' lines and blank lines
    skipped; fields trimmed; duplicate pairs (either direction) summed;
    self-loops and negative or non-finite weights refused. Returns n and a
    dict {(i, j): weight} with i < j, vertices numbered by first appearance."""
    import csv

    if not path.endswith(".csv"):
        raise InputError(f"{path}: expected a .csv edge list (a,b,weight)")
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}")
    lines = [(i + 1, l) for i, l in enumerate(text.splitlines())
             if l.strip() and not l.startswith("#")]
    if not lines:
        raise InputError(f"{path}:1: expected the header a,b,weight, found an empty file")
    names, weights = {}, {}
    for k, (lineno, fields) in enumerate(
            zip((n for n, _ in lines), csv.reader(l for _, l in lines))):
        fields = [f.strip() for f in fields]
        if k == 0:
            if fields != ["a", "b", "weight"]:
                raise InputError(f"{path}:{lineno}: expected the header a,b,weight, "
                                 f"found {','.join(fields)!r}")
            continue
        if len(fields) != 3 or not fields[0] or not fields[1]:
            raise InputError(f"{path}:{lineno}: expected a,b,weight, found {','.join(fields)!r}")
        try:
            w = float(fields[2])
        except ValueError:
            raise InputError(f"{path}:{lineno}: expected a numeric weight, found {fields[2]!r}")
        if not math.isfinite(w) or w < 0:
            raise InputError(f"{path}:{lineno}: weights must be finite and >= 0, found {fields[2]!r}")
        if fields[0] == fields[1]:
            raise InputError(f"{path}:{lineno}: self-loop on {fields[0]!r}")
        i, j = (names.setdefault(x, len(names)) for x in fields[:2])
        key = (min(i, j), max(i, j))
        weights[key] = weights.get(key, 0.0) + w
    return len(names), weights


def graph_files(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            found = sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".csv"))
            if not found:
                raise InputError(f"{p}: no .csv graphs in this directory")
            files.extend(found)
        elif os.path.exists(p):
            files.append(p)
        else:
            raise InputError(f"{p}: no such file or directory")
    return files


def convoy_figures(convoy, path):
    """convoy's stretch plan value and lower bound, from `convoy bench objectives`."""
    run = subprocess.run([convoy, "bench", "objectives", path, "--random", "1", "--format", "json"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise InputError(f"convoy bench objectives {path} failed: {run.stderr.strip()}")
    rows = json.loads(run.stdout)
    lower = [r for r in rows if r["strategy"] == "lower bound"]
    plan = [r for r in rows if r["strategy"].startswith("convoy stretch")]
    if len(lower) != 1 or len(plan) != 1:
        raise RuntimeError(f"unexpected `convoy bench objectives` output for {path}")
    return lower[0]["n"], plan[0]["stretch"], lower[0]["stretch"], plan[0]["strategy"].endswith("(optimal)")


def quiet_highs(highspy):
    """A Highs instance with no output (its banner is printed on fd 1 by the C++ constructor)."""
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)
    return h


def spreading_f(k):
    """1+1+2+2+3+3+... (k terms): the least sum of distances from v to k other VMs."""
    return sum((i + 2) // 2 for i in range(k))


def lp_bound(n, weights, time_limit, max_rounds, clique, log):
    """The cutting-plane spreading-metric LP; returns (bound, status, rounds, seconds)."""
    import highspy
    import numpy as np

    t0 = time.monotonic()
    if n <= 1 or not weights:
        return 0.0, "converged", 0, 0.0
    fk = np.array([spreading_f(k) for k in range(n + 1)], float)
    iu, ju = np.triu_indices(n, 1)
    P = len(iu)
    idx = np.zeros((n, n), dtype=np.int64)
    idx[iu, ju] = np.arange(P)
    idx[ju, iu] = np.arange(P)
    c = np.zeros(P)
    for (i, j), w in weights.items():
        c[idx[i, j]] += w
    lo, hi = 1.0, float(n - 1)

    h = quiet_highs(highspy)
    h.setOptionValue("solver", "ipm")
    h.setOptionValue("run_crossover", "off")
    h.setOptionValue("random_seed", 0)
    h.addVars(P, np.full(P, lo), np.full(P, hi))
    h.changeColsCost(P, np.arange(P, dtype=np.int32), c)

    # Our own copy of the rows (A d >= b) for the weak-duality certificate.
    row_of, col_of, val_of, rhs = [], [], [], []
    nrows = 0
    best = 0.0
    rounds = 0
    status = None
    while True:
        left = time_limit - (time.monotonic() - t0)
        if left <= 0:
            status = "time limit"
            break
        # HiGHS measures its time limit on a clock that runs across run() calls.
        h.setOptionValue("time_limit", h.getRunTime() + left)
        h.run()
        rounds += 1
        ms = h.getModelStatus()
        sol = h.getSolution()
        if ms not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kTimeLimit):
            raise RuntimeError(f"HiGHS: unexpected model status {h.modelStatusToString(ms)}")
        # Certificate: any y >= 0 gives b.y + sum_j min(r_j lo, r_j hi), r = c - A^T y.
        if sol.dual_valid or nrows == 0:
            y = np.maximum(np.array(sol.row_dual, float), 0.0) if nrows else np.zeros(0)
            r = c.copy()
            if nrows:
                rows = np.concatenate(row_of)
                r -= np.bincount(np.concatenate(col_of),
                                 weights=np.concatenate(val_of) * y[rows], minlength=P)
            cert = float(np.dot(np.array(rhs), y)) + float(np.minimum(r * lo, r * hi).sum())
            best = max(best, cert)
        obj = h.getInfo().objective_function_value
        if ms == highspy.HighsModelStatus.kTimeLimit or not sol.value_valid:
            status = "time limit"
            log(f"  round {rounds}: stopped by the time limit, bound {best:.10g}, "
                f"{time.monotonic() - t0:.1f} s")
            break
        x = np.array(sol.col_value)
        D = np.zeros((n, n))
        D[iu, ju] = x
        D[ju, iu] = x

        new_rows = []  # (columns, values, rhs)
        nspread = ntri = ncl = 0
        for v in range(n):
            others = np.r_[0:v, v + 1:n]
            dv = D[v, others]
            order = np.argsort(dv, kind="stable")
            viol = fk[1:n] - np.cumsum(dv[order])  # viol[k-1]: the k nearest
            for k in np.argsort(-viol, kind="stable")[:SPREAD_PER_VERTEX]:
                if viol[k] > TOL:
                    S = others[order[:k + 1]]
                    new_rows.append((idx[v, S], np.ones(len(S)), fk[k + 1]))
                    nspread += 1
        if clique:
            for v in range(n):
                S = [v]
                tot, best_viol, best_S = 0.0, TOL, None
                add = D[v].copy()
                add[v] = np.inf
                inS = np.zeros(n, bool)
                inS[v] = True
                for k in range(2, min(n, CLIQUE_MAX) + 1):
                    u = int(np.argmin(add))
                    tot += add[u]
                    S.append(u)
                    inS[u] = True
                    add = add + D[u]
                    add[inS] = np.inf
                    viol = (k ** 3 - k) / 6.0 - tot
                    if viol > best_viol:
                        best_viol, best_S = viol, list(S)
                if best_S is not None:
                    S = np.array(best_S)
                    a, b = np.triu_indices(len(S), 1)
                    new_rows.append((idx[S[a], S[b]], np.ones(len(a)), (len(S) ** 3 - len(S)) / 6.0))
                    ncl += 1
        for u in range(n):
            M = D[u][:, None] + D  # M[x, v] = d(u,x) + d(x,v)
            M[u, :] = np.inf
            np.fill_diagonal(M, np.inf)
            mid = np.argmin(M, axis=0)
            via = M[mid, np.arange(n)]
            for v in np.nonzero(via[u + 1:] < D[u, u + 1:] - TOL)[0] + u + 1:
                x_ = mid[v]
                new_rows.append((np.array([idx[u, v], idx[u, x_], idx[x_, v]]),
                                 np.array([-1.0, 1.0, 1.0]), 0.0))
                ntri += 1
        log(f"  round {rounds}: LP {obj:.10g}, certified {best:.10g}, rows {nrows}, "
            f"new: spreading {nspread} triangle {ntri} clique {ncl}, {time.monotonic() - t0:.1f} s")
        if not new_rows:
            status = "converged"
            break
        if max_rounds and rounds >= max_rounds:
            status = "round limit"
            break
        starts, inds, vals, lbs = [], [], [], []
        for cols, vs, b in new_rows:
            starts.append(len(inds))
            inds.extend(cols.tolist())
            vals.extend(vs.tolist())
            lbs.append(b)
            row_of.append(np.full(len(cols), nrows, dtype=np.int64))
            col_of.append(np.asarray(cols, dtype=np.int64))
            val_of.append(np.asarray(vs, float))
            rhs.append(b)
            nrows += 1
        h.addRows(len(lbs), np.array(lbs, float), np.full(len(lbs), highspy.kHighsInf), len(inds),
                  np.array(starts, dtype=np.int32), np.array(inds, dtype=np.int32),
                  np.array(vals, float))
    return best, status, rounds, time.monotonic() - t0


def fmt(x):
    return f"{x:.0f}" if x == round(x) else f"{x:.1f}"


def main():
    ensure_venv()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="+", help="graph CSV files or directories of them")
    ap.add_argument("--time-limit", type=float, default=600.0,
                    help="wall-clock seconds for the LP of each graph (default 600)")
    ap.add_argument("--rounds", type=int, default=0,
                    help="stop after this many LP solves (default: no limit)")
    ap.add_argument("--clique", action="store_true", help="also separate clique inequalities")
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("-v", "--verbose", action="store_true", help="log every round on stderr")
    args = ap.parse_args()
    if args.time_limit <= 0:
        ap.error("--time-limit must be positive")

    def log(msg):
        if args.verbose:
            print(msg, file=sys.stderr, flush=True)

    try:
        files = graph_files(args.paths)
        graphs = [(f, *read_csv_graph(f)) for f in files]
    except InputError as e:
        sys.exit(f"error: {e}")
    subprocess.check_call(["cargo", "build", "--release", "--quiet", "--bin", "convoy"], cwd=ROOT)
    convoy = os.path.join(ROOT, "target", "release", "convoy")

    print(f"{'graph':<34} {'n':>4} {'edges':>5} {'convoy plan':>12} {'convoy bound':>12} "
          f"{'LP bound':>12} {'plan/LP':>7}  {'LP status':<24} {'s':>6}", flush=True)
    out = []
    for f, n, weights in graphs:
        try:
            cn, plan, cbound, optimal = convoy_figures(convoy, f)
        except InputError as e:
            sys.exit(f"error: {e}")
        if cn != n:
            sys.exit(f"error: {f}: convoy reads {cn} VMs, this script {n}")
        log(f"{f}: n {n}, edges {len(weights)}")
        bound, status, rounds, secs = lp_bound(n, weights, args.time_limit, args.rounds,
                                               args.clique, log)
        if bound > plan * (1 + 1e-9) + 1e-9:
            sys.exit(f"error: {f}: LP bound {bound} above convoy's plan {plan}: not the same instance?")
        name = os.path.splitext(os.path.basename(f))[0]
        if name == "cluster":
            name = os.path.relpath(f, ROOT) if not os.path.relpath(f, ROOT).startswith("..") else f
        ratio = plan / bound if bound > 0 else float("nan")
        st = f"{status}, {rounds} round{'s' if rounds != 1 else ''}"
        print(f"{name:<34} {n:>4} {len(weights):>5} {fmt(plan) + ('*' if optimal else ''):>12} "
              f"{fmt(cbound):>12} {fmt(bound):>12} {ratio:>7.3f}  {st:<24} {secs:>6.1f}", flush=True)
        out.append({"graph": name, "n": n, "edges": len(weights), "convoy_stretch": plan,
                    "convoy_optimal": optimal, "convoy_lower_bound": cbound, "lp_bound": bound,
                    "plan_over_lp": ratio, "lp_status": status, "lp_rounds": rounds,
                    "clique": args.clique, "seconds": secs})
    print("* = convoy proved its plan optimal. LP bound: certified by weak duality "
          "(valid even when stopped).")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
