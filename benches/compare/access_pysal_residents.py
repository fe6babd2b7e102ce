#!/usr/bin/env python3
"""PySAL `access` against `bacino access` at resident level: 2SFCA, every
resident at its own point, GPs within 10 km (geodesic), on samples of a
dataset's residents of growing size, side by side in one run.

PySAL needs the resident x GP cost table in memory as a pandas frame, so
for each sample (every STRIDE-th resident of the dataset, default strides
64, 32, 16, 8) the script builds that table itself: residents and GPs
projected to UTM 32N (pyproj), candidate pairs within 10.1 km by a scipy
cKDTree, then every candidate measured on the WGS84 ellipsoid with pyproj's
`Geod.inv` (Karney's algorithm) and kept when <= 10 km. Then, in a fresh
child process each (so that its peak memory is its own):

- PySAL: `Access(...)` on the residents (weight as demand), the active
  GPs (capacity as supply) and the table, then `two_stage_fca(max_cost=
  10000)`; the time of the construction and of the call, the peak RSS of
  the child (which also holds the table);
- bacino: `bacino access SAMPLE --kind gp --method 2sfca --max-cost 10000
  --group-by municipality --min-group-size 0`, whole process (load,
  distances, scores, JSON) and its peak RSS, on the same residents written
  as a bacino dataset.

The figures are compared by municipality: PySAL's residents' values,
population-weighted, against bacino's group means; the script fails when
any differs by more than 1e-9 relative. The time to build the table is
reported apart (bacino measures its own distances inside its time).

    pip install access "pandas<3" pyproj scipy
    python benches/compare/access_pysal_residents.py [--dataset DIR]
        [--strides 64,32,16,8] [--bacino PATH]

DIR defaults to the full-scale fixture (`cargo run --release -p
bacino-fixtures -- --scale 1 --out /tmp/bacino-bergamo-1`). A bench, not
a runtime dependency of bacino. Exit status 0 when every sample agrees.
"""

import argparse
import json
import math
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
MAX_COST = 10_000.0
TOL = 1e-9


def active_gps(dataset: Path) -> pd.DataFrame:
    fac = pd.read_csv(dataset / "facilities.csv", dtype=str, keep_default_na=False)
    status = fac["status"] if "status" in fac else pd.Series("active", index=fac.index)
    return fac[(fac["kind"] == "gp") & (status.replace("", "active") == "active")].copy()


def cost_table(res: pd.DataFrame, gps: pd.DataFrame) -> pd.DataFrame:
    """Every resident x GP pair within MAX_COST metres on the ellipsoid."""
    from pyproj import Geod, Transformer
    from scipy.spatial import cKDTree

    utm = Transformer.from_crs("EPSG:4326", "EPSG:32632", always_xy=True)
    rx, ry = utm.transform(res["lon"].to_numpy(), res["lat"].to_numpy())
    glon = gps["lon"].astype(float).to_numpy()
    glat = gps["lat"].astype(float).to_numpy()
    gx, gy = utm.transform(glon, glat)
    # UTM's scale over the province is within 0.1 % of 1: a 1 % margin
    # finds every pair within 10 km on the ellipsoid.
    tree = cKDTree(np.column_stack([gx, gy]))
    geod = Geod(ellps="WGS84")
    lon, lat = res["lon"].to_numpy(), res["lat"].to_numpy()
    parts = []
    # 100,000 residents at a time: the candidate lists are Python objects.
    for lo in range(0, len(res), 100_000):
        hi = min(lo + 100_000, len(res))
        cand = tree.query_ball_point(np.column_stack([rx[lo:hi], ry[lo:hi]]), r=MAX_COST * 1.01)
        counts = np.fromiter((len(c) for c in cand), dtype=np.int64, count=len(cand))
        origin = np.repeat(np.arange(lo, hi, dtype=np.int64), counts)
        dest = np.fromiter((j for c in cand for j in c), dtype=np.int64, count=int(counts.sum()))
        del cand
        _, _, d = geod.inv(lon[origin], lat[origin], glon[dest], glat[dest])
        keep = d <= MAX_COST
        parts.append((origin[keep].astype(np.int32), dest[keep].astype(np.int32), d[keep]))
    return pd.DataFrame({
        "origin": np.concatenate([p[0] for p in parts]),
        "dest": np.concatenate([p[1] for p in parts]),
        "cost": np.concatenate([p[2] for p in parts]),
    })


def child(work: Path) -> None:
    """Runs PySAL on the sample in `work`; prints one JSON line."""
    import logging
    import warnings

    from access import Access

    warnings.simplefilter("ignore")
    logging.getLogger("access").setLevel(logging.WARNING)
    z = np.load(work / "pysal_inputs.npz")
    res = pd.DataFrame({"id": np.arange(len(z["pop"])), "pop": z["pop"]})
    sup = pd.DataFrame({"id": np.arange(len(z["capacity"])), "capacity": z["capacity"]})
    od = pd.DataFrame({"origin": z["origin"], "dest": z["dest"], "cost": z["cost"]})
    del z
    t0 = time.perf_counter()
    a = Access(demand_df=res, demand_index="id", demand_value="pop",
               supply_df=sup, supply_index="id", supply_value="capacity",
               cost_df=od, cost_origin="origin", cost_dest="dest", cost_name="cost")
    t1 = time.perf_counter()
    out = a.two_stage_fca(name="x", max_cost=MAX_COST)
    t2 = time.perf_counter()
    v = out.iloc[:, 0].reindex(res["id"]).to_numpy()
    np.save(work / "pysal_values.npy", v)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"construct_s": t1 - t0, "call_s": t2 - t1, "peak_mb": peak}))


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stdout of `cmd`, by GNU time."""
    with tempfile.NamedTemporaryFile(mode="r", suffix=".time") as f:
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", f.name, *cmd],
                           capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
        peak = float(f.read().strip().splitlines()[-1]) / 1024
    return wall, peak, p.stdout


def weighted_by(values: np.ndarray, weight: np.ndarray, key: pd.Series) -> pd.Series:
    """Population-weighted mean of `values` per `key` (NaN values count 0,
    as bacino's unreached residents do)."""
    v = np.nan_to_num(values, nan=0.0)
    df = pd.DataFrame({"k": key.to_numpy(), "wv": v * weight, "w": weight})
    g = df.groupby("k")[["wv", "w"]].sum()
    return g["wv"] / g["w"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", type=Path, default=Path("/tmp/bacino-bergamo-1"))
    ap.add_argument("--bacino", default=str(ROOT / "target" / "release" / "bacino"))
    ap.add_argument("--strides", default="64,32,16,8")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return 0

    import access

    print(f"access {access.__version__}, pandas {pd.__version__}, numpy {np.__version__}")
    all_res = pd.read_csv(args.dataset / "residents.csv",
                          dtype={"id": str, "municipality": str, "gp_id": str, "group": str})
    if "weight" not in all_res:
        all_res["weight"] = 1.0
    all_res["weight"] = all_res["weight"].fillna(1.0)
    gps = active_gps(args.dataset)
    print(f"{args.dataset}: {len(all_res)} residents, {len(gps)} active GPs")
    rows, failed = [], []
    for stride in [int(s) for s in args.strides.split(",")]:
        work = Path(tempfile.mkdtemp(prefix="bacino-pysal-res."))
        try:
            res = all_res.iloc[::stride].reset_index(drop=True)
            res = res[res["weight"] > 0].reset_index(drop=True)
            t0 = time.perf_counter()
            od = cost_table(res, gps)
            t_table = time.perf_counter() - t0
            # Integer ids for PySAL: its frames hold them far more cheaply
            # than strings (the table is the memory at stake).
            np.savez(work / "pysal_inputs.npz", pop=res["weight"].to_numpy(dtype=float),
                     capacity=gps["capacity"].astype(float).to_numpy(),
                     origin=od["origin"].to_numpy(), dest=od["dest"].to_numpy(),
                     cost=od["cost"].to_numpy())
            pairs = len(od)
            del od
            # The same residents as a bacino dataset.
            res.to_csv(work / "residents.csv", index=False)
            shutil.copy(args.dataset / "facilities.csv", work / "facilities.csv")
            (work / "dataset.toml").write_text(
                'name = "pysal-residents"\ncrs = "EPSG:4326"\n\n'
                '[facilities]\npath = "facilities.csv"\n\n[residents]\npath = "residents.csv"\n')

            _, py_peak, out = timed([sys.executable, __file__, "--child", str(work)])
            py = json.loads(out.strip().splitlines()[-1])
            cmd = [args.bacino, "access", str(work), "--kind", "gp", "--method", "2sfca",
                   "--max-cost", repr(MAX_COST), "--group-by", "municipality",
                   "--min-group-size", "0"]
            b_wall, b_peak, b_out = timed(cmd)
            rep = json.loads(b_out)

            vals = np.load(work / "pysal_values.npy")
            ours = weighted_by(vals, res["weight"].to_numpy(), res["municipality"])
            groups = {g["key"]: g["access"] for g in rep["groups"]}
            worst = 0.0
            if set(groups) != set(ours.index):
                worst = math.inf
            else:
                for k, p in ours.items():
                    b = groups[k]
                    r = 0.0 if p == b else abs(p - b) / max(abs(p), abs(b))
                    worst = max(worst, r)
            ok = worst <= TOL
            if not ok:
                failed.append(stride)
            rows.append((stride, len(res), pairs, t_table, py["construct_s"], py["call_s"],
                         py["peak_mb"], b_wall, b_peak, worst, ok))
            print(f"1/{stride}: {len(res)} residents, {pairs} pairs: table {t_table:.1f} s; "
                  f"PySAL Access() {py['construct_s']:.2f} s + 2sfca {py['call_s']:.2f} s, "
                  f"peak {py['peak_mb']:.0f} MB; bacino {b_wall:.2f} s whole, {b_peak:.0f} MB; "
                  f"max rel diff by municipality {worst:.2e} {'ok' if ok else 'FAIL'}")
        finally:
            shutil.rmtree(work, ignore_errors=True)

    print()
    print("| sample | residents | pairs <= 10 km | table (pyproj) s | PySAL Access() s "
          "| PySAL 2sfca s | PySAL peak MB | bacino whole s | bacino peak MB | max rel diff |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for s, n, pairs, tt, tc, tcall, pk, bw, bp, w, ok in rows:
        print(f"| 1/{s} | {n:,} | {pairs:,} | {tt:.1f} | {tc:.2f} | {tcall:.2f} | {pk:,.0f} "
              f"| {bw:.2f} | {bp:,.0f} | {w:.1e}{'' if ok else ' FAIL'} |")
    if failed:
        print(f"\nFAIL: samples 1/{failed} differ by more than {TOL:g} relative")
        return 1
    print(f"\nok: every sample agrees within {TOL:g} relative by municipality")
    return 0


if __name__ == "__main__":
    sys.exit(main())
