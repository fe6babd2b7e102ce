#!/usr/bin/env python3
"""Independent check of `bacino scenario`'s optimum with scipy's HiGHS LP.

The reassignment is a transportation problem; its LP is totally unimodular,
so the LP optimum is the integer optimum. This script builds it from the
dataset CSVs alone (every patient-GP pair within max_distance_m, no pruning,
distances by pyproj's Geod on WGS84, i.e. Karney's algorithm in C), solves
it in two phases (most people placed, then least total distance, in metres
without bacino's millimetre rounding), runs bacino, and prints both totals
and their relative difference.

    python benches/compare/reassign_scipy.py /tmp/bergamo-full \\
        --cease GP0001,GP0051 [--max-distance-m 30000] [--bacino target/release/bacino]
    python benches/compare/reassign_scipy.py /tmp/bergamo-full --plan PLAN.json

With `--plan` (CONTRACT §8) the levers are applied here too, from the plan
file alone: `open` adds receiving GPs (room = their capacity, or the plan's
`"*"`), `capacity` sets caps (`"*"` for every active GP, ids win; room =
floor(cap - list_size)), `assign_unlisted` adds the residents of group
`no_gp` without a gp_id; `cease` and `max_distance_m` come from the plan.

Needs numpy, scipy and pyproj (see requirements.txt); not a runtime
dependency of bacino. Exit status 0 when the totals agree within 1 mm per
person and the placed counts are equal, 1 otherwise.
"""

import argparse
import functools
import csv
import json
import math
import subprocess
import sys
import time

import numpy as np
from pyproj import Geod
from scipy.optimize import linprog
from scipy.sparse import coo_matrix


print = functools.partial(print, flush=True)  # noqa: A001


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("--cease", default="")
    ap.add_argument("--plan", help="a plan file (JSON) instead of --cease")
    ap.add_argument("--max-distance-m", type=float, default=30000.0)
    ap.add_argument("--bacino", default="target/release/bacino")
    ap.add_argument(
        "--nearest",
        type=int,
        default=0,
        help="keep only each patient's K nearest receiving GPs (a weaker check: the LP "
        "optimum can only be higher than bacino's; default 0 = every arc)",
    )
    args = ap.parse_args()
    plan = {}
    if args.plan:
        with open(args.plan) as f:
            plan = json.load(f)
        for key in plan:
            if key not in ("cease", "open", "capacity", "assign_unlisted", "max_distance_m"):
                raise SystemExit(f"{args.plan}: this check handles cease/open/capacity/assign_unlisted/max_distance_m, not {key}")
    cease = set(plan.get("cease", [])) | {c for c in args.cease.split(",") if c}
    if not cease and not plan.get("assign_unlisted"):
        raise SystemExit("name --cease or a --plan")
    max_d = float(plan.get("max_distance_m", args.max_distance_m))
    caps = plan.get("capacity", {})

    t0 = time.time()
    gps = []
    with open(f"{args.dataset}/facilities.csv", newline="") as f:
        for r in csv.DictReader(f):
            if r["kind"] != "gp" or r.get("status", "active") == "ceased" or r["id"] in cease:
                continue
            cap = caps.get(r["id"], caps.get("*", r.get("capacity", "")))
            if cap == "":
                room = math.inf
            else:
                room = math.floor(float(cap) - float(r["list_size"]))
            if room > 0:
                gps.append((r["id"], float(r["lon"]), float(r["lat"]), room))
    for o in plan.get("open", []):
        cap = o.get("capacity", caps.get(o["id"], caps.get("*")) if o.get("kind", "gp") == "gp" else None)
        if o.get("kind", "gp") == "gp":
            gps.append((o["id"], float(o["lon"]), float(o["lat"]), math.inf if cap is None else int(cap)))
    plon, plat, pw = [], [], []
    with open(f"{args.dataset}/residents.csv", newline="") as f:
        for r in csv.DictReader(f):
            listed = r["gp_id"] in cease and r.get("group") != "ad_user"
            unlisted = plan.get("assign_unlisted") and r["gp_id"] == "" and r.get("group") == "no_gp"
            if listed or unlisted:
                plon.append(float(r["lon"]))
                plat.append(float(r["lat"]))
                pw.append(float(r.get("weight") or 1))
    n, m = len(plon), len(gps)
    print(f"{n} patient rows ({sum(pw):.0f} people), {m} receiving GPs; read in {time.time() - t0:.1f} s")

    t0 = time.time()
    geod = Geod(ellps="WGS84")
    glon = np.array([g[1] for g in gps])
    glat = np.array([g[2] for g in gps])
    rows, cols, dist = [], [], []
    plon_a, plat_a = np.array(plon), np.array(plat)
    for j in range(m):
        _, _, d = geod.inv(plon_a, plat_a, np.full(n, glon[j]), np.full(n, glat[j]))
        keep = np.nonzero(d <= max_d)[0]
        rows.append(keep)
        cols.append(np.full(len(keep), j))
        dist.append(d[keep])
    rows = np.concatenate(rows)
    cols = np.concatenate(cols)
    dist = np.concatenate(dist)
    if args.nearest > 0:
        order = np.lexsort((cols, dist, rows))
        rows, cols, dist = rows[order], cols[order], dist[order]
        first = np.searchsorted(rows, rows, side="left")
        keep = (np.arange(len(rows)) - first) < args.nearest
        rows, cols, dist = rows[keep], cols[keep], dist[keep]
    k = len(dist)
    print(f"{k} arcs within {max_d:.0f} m; distances in {time.time() - t0:.1f} s")

    # Variables: x (one per arc), then u (one per patient: people left out).
    nv = k + n
    eq = coo_matrix(
        (np.ones(k + n), (np.concatenate([rows, np.arange(n)]), np.concatenate([np.arange(k), k + np.arange(n)]))),
        shape=(n, nv),
    ).tocsr()
    finite = [j for j in range(m) if math.isfinite(gps[j][3])]
    sel = np.isin(cols, finite)
    row_of = {j: i for i, j in enumerate(finite)}
    ub = coo_matrix(
        (np.ones(sel.sum()), (np.array([row_of[j] for j in cols[sel]], dtype=int), np.nonzero(sel)[0])),
        shape=(len(finite), nv),
    ).tocsr()
    b_ub = np.array([gps[j][3] for j in finite], dtype=float)
    b_eq = np.array(pw)

    t0 = time.time()
    c1 = np.concatenate([np.zeros(k), np.ones(n)])
    r1 = linprog(c1, A_ub=ub, b_ub=b_ub, A_eq=eq, b_eq=b_eq, bounds=(0, None), method="highs")
    assert r1.status == 0, r1.message
    orphans = round(r1.fun)
    # Phase 2: as many placed, least distance.
    c2 = np.concatenate([dist, np.zeros(n)])
    from scipy.sparse import vstack

    A2 = vstack([ub, coo_matrix((np.ones(n), (np.zeros(n, dtype=int), k + np.arange(n))), shape=(1, nv))]).tocsr()
    b2 = np.concatenate([b_ub, [orphans + 1e-7]])
    r2 = linprog(c2, A_ub=A2, b_ub=b2, A_eq=eq, b_eq=b_eq, bounds=(0, None), method="highs")
    assert r2.status == 0, r2.message
    lp_total = r2.fun
    frac = np.abs(r2.x[:k] - np.round(r2.x[:k])).max() if k else 0.0
    print(f"HiGHS: {orphans} orphans, total {lp_total:.3f} m (max fractionality {frac:.1e}); {time.time() - t0:.1f} s")

    t0 = time.time()
    cmd = [args.bacino, "scenario", args.dataset, "--max-distance-m", str(max_d)]
    cmd += ["--plan", args.plan] if args.plan else ["--cease", args.cease]
    out = subprocess.run(
        cmd,
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.time() - t0
    doc = json.loads(out.stdout)
    b_total = doc["total_distance_m"]
    rel = abs(b_total - lp_total) / max(lp_total, 1e-9)
    print(
        f"bacino: {doc['orphans']} orphans, total {b_total:.3f} m, optimality {doc['optimality']}; {wall:.2f} s whole process"
    )
    print(f"difference {b_total - lp_total:+.4f} m, relative {rel:.2e}")
    people = sum(pw)
    if args.nearest > 0:
        # Fewer arcs: the LP can only do worse than the proven optimum.
        ok = doc["orphans"] <= orphans and b_total <= lp_total + 0.001 * people + 0.001
    else:
        ok = doc["orphans"] == orphans and abs(b_total - lp_total) <= 0.001 * people + 0.001
    print("AGREE" if ok else "DISAGREE")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
