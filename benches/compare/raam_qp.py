#!/usr/bin/env python3
"""RAAM's equilibrium computed a second way: the convex program itself,
solved by an interior-point QP solver (Clarabel, the Python wheel), side
by side with `bacino access --method raam` on the same table.

RAAM (Saxon & Snow 2020) at equilibrium is the optimum of

    min  sum_ij x_ij t_ij / tau  +  sum_j D_j^2 / (2 rho S_j)
    s.t. sum_j x_ij = P_i,  x >= 0,  D_j = sum_i x_ij

(CONTRACT §6, crates/access/src/raam.rs). Here it is handed to Clarabel
as written: variables x (one per pair of the cost table within
--max-cost) and D (one per facility), the quadratic on D alone, the two
sets of equalities and x >= 0, tolerances 1e-12. From Clarabel's x
(clipped at 0 and rescaled so that each origin's row sums to P_i: exactly
feasible) the script computes, independently of bacino:

- each origin's equilibrium cost  c_i = min_j (t_ij / tau + D_j / (rho S_j)),
  which is what bacino reports per origin (`access`);
- the certificate: the duality gap F(x) - g(p) at p = D / (rho S), over F(x),
  where g(p) = sum_i P_i min_j (t_ij/tau + p_j) - sum_j rho S_j p_j^2 / 2.

It then runs bacino on the same dataset (`--metric table --group-by
municipality`: one origin per group) and prints the largest relative
difference of the origins' costs, bacino's own certified residual, and
Clarabel's. The dataset is one with a `[costs]` table whose residents are
the origins, e.g. the one `access_pysal.py --keep` leaves:

    python benches/compare/access_pysal.py --keep        # prints DIR
    pip install clarabel scipy pandas
    python benches/compare/raam_qp.py DIR [--tau 60000] [--max-cost 30000]

A relative gap g pins the demands, and so the costs, to about sqrt(g):
bacino stops at g <= 1e-10, so its costs agree with Clarabel's to about
1e-5 (closer when its exact finish ran: 3.5e-10 at tau 60 km). Exit
status 0 when every origin's cost agrees within --tol (default 1e-4
relative), 1 otherwise.

A bench, not a runtime dependency of bacino.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import clarabel
import numpy as np
import pandas as pd
import scipy.sparse as sp


def load(dataset, max_cost):
    res = pd.read_csv(dataset / "residents.csv", dtype={"id": str})
    fac = pd.read_csv(dataset / "facilities.csv", dtype=str, keep_default_na=False)
    costs = pd.read_csv(dataset / "costs.csv", dtype={"origin": str, "dest": str})
    status = fac["status"] if "status" in fac else pd.Series("active", index=fac.index)
    gps = fac[(fac["kind"] == "gp") & (status.isin(["active", ""]))].reset_index(drop=True)
    gps["capacity"] = gps["capacity"].astype(float)
    costs = costs[(costs["cost"] <= max_cost)
                  & costs["dest"].isin(gps["id"]) & costs["origin"].isin(res["id"])]
    costs = costs[costs["origin"].map(res.set_index("id")["weight"]) > 0]
    return res, gps, costs.reset_index(drop=True)


def solve(res, gps, costs, tau):
    origins = pd.Index(costs["origin"].unique())
    facs = pd.Index(gps["id"])
    P = res.set_index("id")["weight"].astype(float)[origins].to_numpy()
    S = gps.set_index("id")["capacity"][facs].to_numpy()
    rho = P.sum() / S.sum()
    kappa = rho * S
    i = origins.get_indexer(costs["origin"])
    j = facs.get_indexer(costs["dest"])
    a = costs["cost"].to_numpy() / tau
    n, m, k = len(a), len(facs), len(origins)
    # Variables [x (n), D (m)].
    Pm = sp.diags(np.concatenate([np.zeros(n), 1.0 / kappa])).tocsc()
    q = np.concatenate([a, np.zeros(m)])
    rows_sum = sp.csc_matrix((np.ones(n), (i, np.arange(n))), shape=(k, n))
    cols_sum = sp.csc_matrix((np.ones(n), (j, np.arange(n))), shape=(m, n))
    A = sp.vstack([
        sp.hstack([rows_sum, sp.csc_matrix((k, m))]),           # sum_j x_ij = P_i
        sp.hstack([cols_sum, -sp.identity(m)]),                  # sum_i x_ij - D_j = 0
        sp.hstack([-sp.identity(n), sp.csc_matrix((n, m))]),     # x >= 0
    ]).tocsc()
    b = np.concatenate([P, np.zeros(m), np.zeros(n)])
    cones = [clarabel.ZeroConeT(k + m), clarabel.NonnegativeConeT(n)]
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.tol_gap_abs = settings.tol_gap_rel = settings.tol_feas = 1e-12
    settings.max_iter = 500
    t = time.perf_counter()
    sol = clarabel.DefaultSolver(Pm, q, A, b, cones, settings).solve()
    took = time.perf_counter() - t
    x = np.maximum(np.asarray(sol.x)[:n], 0.0)
    row = np.bincount(i, weights=x, minlength=k)
    x *= (P / row)[i]                                            # exactly feasible
    D = np.bincount(j, weights=x, minlength=m)
    p = D / kappa
    c = a + p[j]
    cmin = np.full(k, np.inf)
    np.minimum.at(cmin, i, c)
    # The gap as a sum of non-negative terms (p = D / kappa: no second term).
    gap = float(np.sum(x * (c - cmin[i])))
    F = float(np.sum(x * a) + np.sum(D * D / (2 * kappa)))
    return pd.Series(cmin, index=origins), gap / F, rho, str(sol.status), took


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--tau", type=float, default=60000.0)
    ap.add_argument("--max-cost", type=float, default=30000.0)
    ap.add_argument("--bacino", default="target/release/bacino")
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()

    res, gps, costs = load(args.dataset, args.max_cost)
    cost, residual, rho, status, took = solve(res, gps, costs, args.tau)
    print(f"Clarabel: {status}, {len(costs)} pairs, {len(cost)} origins, {len(gps)} GPs, "
          f"rho {rho:.12g}, residual {residual:.2e}, {took:.2f} s")

    cmd = [args.bacino, "access", str(args.dataset), "--kind", "gp", "--method", "raam",
           "--metric", "table", "--max-cost", repr(args.max_cost), "--tau", repr(args.tau),
           "--group-by", "municipality", "--min-group-size", "0"]
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         env={"BACINO_QUIET": "1", "PATH": "/usr/bin:/bin"})
    took_b = time.perf_counter() - t
    rep = json.loads(out.stdout)
    b = pd.Series({g["key"]: g["access"] for g in rep["groups"] if "access" in g})
    b = b[cost.index]
    rel = ((b - cost).abs() / np.maximum(b.abs(), cost.abs()))
    worst = rel.idxmax()
    raam = rep["raam"]
    print(f"bacino: residual {raam['residual']:.2e} after {raam['iterations']} passes, "
          f"rho {raam['rho']:.12g}, {took_b:.2f} s whole process")
    print(f"origins' equilibrium cost: max rel diff {rel.max():.2e} at {worst} "
          f"(Clarabel {cost[worst]!r}, bacino {b[worst]!r}), median {rel.median():.2e}")
    print("  " + " ".join(cmd))
    sys.exit(0 if rel.max() <= args.tol else 1)


if __name__ == "__main__":
    main()
