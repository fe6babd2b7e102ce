#!/usr/bin/env python3
"""`bacino coverage` beside an independent linear program (HiGHS through
scipy.optimize.linprog) on the same resident-level problem.

The problem, from a bacino dataset (default fixtures/bergamo): every
resident row with its weight; every active GP with its room (`capacity`,
or `capacity - list_size` with --supply spare); a pair is in reach when its
WGS84 geodesic distance (pyproj's Geod, Karney's algorithm) is at most
--max-cost metres (pairs are pre-selected with a KD-tree on an
equirectangular projection with a 2 % margin, then measured exactly).

The LP, solved twice:
  1. maximise sum x_ij  s.t.  sum_j x_ij <= w_i,  sum_i x_ij <= room_j,  x >= 0
  2. minimise sum d_ij x_ij  s.t. the same and sum x_ij >= covered of (1).
The constraint matrix is totally unimodular, so the optimum of (1) is a
whole number of people and equals the max flow. The script fails unless
bacino's `covered` equals the LP's exactly and bacino's `total_cost` is
within 1 mm per person of the LP's (bacino minimises costs rounded to the
millimetre). It then runs AccessMod's procedure (`--accessmod`) in several
orders to show how much the order costs.

    /tmp/pyaccess-venv-pd2/bin/python benches/compare/coverage_lp.py [--max-cost 10000] [--supply spare]
    # any venv with numpy, scipy (>= 1.9, HiGHS) and pyproj: see requirements.txt

Timings are whole-process for bacino (subprocess, best of --runs) and the
two linprog calls for HiGHS (building the matrix excluded). A bench, not a
runtime dependency: exit status 0 when the figures agree, 1 otherwise.
"""

import argparse
import csv
import functools
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from pyproj import Geod
from scipy.optimize import linprog
from scipy.sparse import csc_matrix
from scipy.spatial import cKDTree

print = functools.partial(print, flush=True)  # noqa: A001
ROOT = Path(__file__).resolve().parents[2]


def load(dataset: Path, supply: str):
    res = []
    with open(dataset / "residents.csv", newline="") as f:
        for r in csv.DictReader(f):
            res.append((float(r["lon"]), float(r["lat"]), float(r.get("weight") or 1)))
    gps = []
    with open(dataset / "facilities.csv", newline="") as f:
        for r in csv.DictReader(f):
            if r["kind"] != "gp" or (r.get("status") or "active") != "active":
                continue
            cap = float(r["capacity"])
            if supply == "spare":
                ls = float(r.get("list_size") or 0)
                cap = max(cap - ls, 0.0)
            gps.append((r["id"], float(r["lon"]), float(r["lat"]), math.floor(cap)))
    return res, gps


def pairs(res, gps, max_m):
    lat0 = math.radians(np.mean([r[1] for r in res]))
    k = 6_378_137.0 * math.pi / 180.0

    def xy(lon, lat):
        return np.column_stack([np.asarray(lon) * k * math.cos(lat0), np.asarray(lat) * k])

    rxy = xy([r[0] for r in res], [r[1] for r in res])
    gxy = xy([g[1] for g in gps], [g[2] for g in gps])
    tree = cKDTree(gxy)
    cand = tree.query_ball_point(rxy, r=max_m * 1.02 + 200.0)
    ii = np.fromiter((i for i, c in enumerate(cand) for _ in c), dtype=np.int64)
    jj = np.fromiter((j for c in cand for j in c), dtype=np.int64)
    geod = Geod(ellps="WGS84")
    rlon = np.array([r[0] for r in res])
    rlat = np.array([r[1] for r in res])
    glon = np.array([g[1] for g in gps])
    glat = np.array([g[2] for g in gps])
    _, _, d = geod.inv(rlon[ii], rlat[ii], glon[jj], glat[jj])
    keep = d <= max_m
    return ii[keep], jj[keep], d[keep]


def solve_lp(n_res, n_gp, ii, jj, d, w, room):
    m = len(ii)
    cols = np.repeat(np.arange(m), 2)
    rows = np.empty(2 * m, dtype=np.int64)
    rows[0::2] = ii
    rows[1::2] = n_res + jj
    a = csc_matrix((np.ones(2 * m), (rows, cols)), shape=(n_res + n_gp, m))
    b = np.concatenate([w, room])
    t0 = time.perf_counter()
    one = linprog(-np.ones(m), A_ub=a, b_ub=b, bounds=(0, None), method="highs")
    if one.status != 0:
        sys.exit(f"LP 1 failed: {one.message}")
    covered = -one.fun
    # Phase 2: least cost among the maximum placements.
    a2 = a.tocsr()
    from scipy.sparse import vstack

    a2 = vstack([a2, -np.ones((1, m))]).tocsr()
    b2 = np.concatenate([b, [-(round(covered))]])
    two = linprog(d, A_ub=a2, b_ub=b2, bounds=(0, None), method="highs")
    if two.status != 0:
        sys.exit(f"LP 2 failed: {two.message}")
    return covered, two.fun, time.perf_counter() - t0


def bacino(exe, dataset, max_m, supply, extra, runs):
    best, doc = math.inf, None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run(
            [exe, "coverage", str(dataset), "--kind", "gp", "--max-cost", str(max_m), "--supply", supply, *extra],
            check=True,
            capture_output=True,
        )
        best = min(best, time.perf_counter() - t0)
        doc = json.loads(out.stdout)
    return doc, best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", type=Path, default=ROOT / "fixtures/bergamo")
    ap.add_argument("--bacino", default=str(ROOT / "target/release/bacino"))
    ap.add_argument("--max-cost", type=float, default=10000.0)
    ap.add_argument("--supply", choices=["capacity", "spare"], default="capacity")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    res, gps = load(args.dataset, args.supply)
    w = np.array([r[2] for r in res])
    room = np.array([g[3] for g in gps], dtype=float)
    ii, jj, d = pairs(res, gps, args.max_cost)
    print(f"{len(res)} residents, {len(gps)} GPs, {len(ii)} pairs within {args.max_cost:g} m, supply {args.supply}")
    covered, cost, lp_s = solve_lp(len(res), len(gps), ii, jj, d, w, room)
    doc, b_s = bacino(args.bacino, args.dataset, args.max_cost, args.supply, [], args.runs)
    ok = True
    print(f"{'':<26}{'covered':>10}{'total cost (m)':>20}{'time (s)':>10}")
    print(f"{'HiGHS LP (2 phases)':<26}{covered:>10.3f}{cost:>20.3f}{lp_s:>10.2f}")
    print(f"{'bacino optimal':<26}{doc['covered']:>10}{doc['total_cost']:>20.3f}{b_s:>10.2f}")
    if doc["covered"] != round(covered) or abs(covered - round(covered)) > 1e-6:
        print("MISMATCH: covered")
        ok = False
    if abs(doc["total_cost"] - cost) > 1e-3 * doc["covered"] + 1e-6:
        print(f"MISMATCH: total cost differs by {doc['total_cost'] - cost:.6f} m")
        ok = False
    for order in ["population:desc", "population:asc", "capacity:desc", "capacity:asc", "id", "random:1", "random:2"]:
        g, g_s = bacino(args.bacino, args.dataset, args.max_cost, args.supply, ["--accessmod", "--order", order], 1)
        short = doc["covered"] - g["covered"]
        print(
            f"{'accessmod ' + order:<26}{g['covered']:>10}{g['total_cost']:>20.3f}{g_s:>10.2f}"
            f"   {short} fewer than the optimum"
        )
        if g["covered"] > doc["covered"]:
            print("IMPOSSIBLE: a greedy order beat the optimum")
            ok = False
    print("agree" if ok else "DISAGREE")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
