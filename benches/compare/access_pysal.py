#!/usr/bin/env python3
"""Side-by-side bench of `bacino access` against PySAL `access` (the oracle
of CONTRACT §6) on the same municipality-level problem.

The problem is built from a bacino dataset (default: fixtures/bergamo):
demand = one point per municipality at the population-weighted mean of its
residents, weighted by its population; supply = the active GPs, each
offering its capacity. The municipality -> GP costs are WGS84 geodesic
metres (pyproj's Geod, i.e. Karney's algorithm), kept up to --cap-m
(30 km). The points and that OD table are written to a temporary bacino
dataset (residents = municipalities, `[costs]` = the table), so bacino
(`--metric table`) and PySAL (reading the same CSVs) see exactly the same
inputs.

Cases, all at max_cost 10 km: 2SFCA (no decay); E2SFCA with steps
3333.33:1, 6666.67:0.68, 10000:0.22; G2SFCA with a Gaussian of sigma 5 km;
weighted catchment (bacino `gravity`) with gravity(alpha -1, scale 1000,
min 100); 3SFCA with a Gaussian of sigma 5 km (bacino `--selection
all_pairs`, PySAL's normaliser over every pair of its cost table, i.e. up
to the 30 km cap). These are deterministic: the script fails if any
municipality differs by more than 1e-9 relative, |a - b| / max(|a|, |b|).
A municipality with no GP in reach is NaN in PySAL and must be 0 in bacino
with all its people `unreached`. RAAM (tau 60 km, every pair of the table,
so bacino's max-cost is the cap) is reported only: PySAL's is 150 cycles of
whole-person moves between one pair of GPs per municipality, bacino's an
equilibrium certified by its relative duality gap (`residual`). With a few
large municipalities, each reaching hundreds of GPs, PySAL stops far from
the equilibrium, so expect differences of several per cent, and more for
the largest towns.

Timings: bacino is the whole process (load, costs, scores, JSON), run with
subprocess; PySAL is the method call, and separately the Access
construction (reading the CSVs is excluded). Each is the best of --runs.
With --resident-level the script also times bacino alone at resident
level (2SFCA, 10 km, geodesic, every resident); PySAL at resident level is
`access_pysal_residents.py`.

    /tmp/pyaccess-venv-pd2/bin/python benches/compare/access_pysal.py [--resident-level]
    # or in any venv made with: pip install access "pandas<3" pyproj

Options: --dataset DIR, --bacino PATH (default target/release/bacino),
--cap-m, --runs, --keep (leave the temporary dataset and print its path).
With pandas < 3, PySAL's group sums are Kahan-compensated. pandas 3.x sums
pairwise, which moves some results by an ulp; that is well inside 1e-9,
so the pinned requirements.txt environment works too. The script
re-executes itself with PYTHONHASHSEED=0 because PySAL's RAAM orders str
ids through a Python set, which decides its tie-breaking.

A bench, not a runtime dependency of bacino. Exit status 0 when every
deterministic method agrees within 1e-9 relative, 1 otherwise.
"""

import os
import sys

if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable, *sys.argv])

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from pyproj import Geod  # noqa: E402

import access  # noqa: E402
from access import Access, weights  # noqa: E402

print = functools.partial(print, flush=True)  # noqa: A001
warnings.simplefilter("ignore")
logging.getLogger("access").setLevel(logging.WARNING)

ROOT = Path(__file__).resolve().parents[2]
TOL = 1e-9
MAX_COST = 10_000.0
SIGMA = 5_000.0
STEPS = {3333.33: 1.0, 6666.67: 0.68, 10000.0: 0.22}
GRAVITY = (-1.0, 1000.0, 100.0)  # alpha, scale, min
TAU = 60_000.0


def build(dataset: Path, out: Path, cap_m: float) -> dict:
    """Writes the municipality-level bacino dataset into `out`."""
    fac = pd.read_csv(dataset / "facilities.csv", dtype=str, keep_default_na=False)
    status = fac["status"] if "status" in fac else pd.Series("active", index=fac.index)
    gps = fac[(fac["kind"] == "gp") & (status.replace("", "active") == "active")].copy()
    res = pd.read_csv(dataset / "residents.csv", dtype={"id": str, "municipality": str})
    res["weight"] = res["weight"].fillna(1.0) if "weight" in res else 1.0
    res = res[res["weight"] > 0]
    res["wlon"] = res["lon"] * res["weight"]
    res["wlat"] = res["lat"] * res["weight"]
    m = res.groupby("municipality")[["weight", "wlon", "wlat"]].sum().sort_index()
    dem = pd.DataFrame({
        "id": m.index,
        "lon": m["wlon"] / m["weight"],
        "lat": m["wlat"] / m["weight"],
        "weight": m["weight"],
        "municipality": m.index,
    }).reset_index(drop=True)

    geod = Geod(ellps="WGS84")
    glon = gps["lon"].astype(float).to_numpy()
    glat = gps["lat"].astype(float).to_numpy()
    rows = []
    for o, lon, lat in zip(dem["id"], dem["lon"], dem["lat"]):
        _, _, d = geod.inv(np.full(len(glon), lon), np.full(len(glon), lat), glon, glat)
        keep = np.nonzero(d <= cap_m)[0]
        rows.append(pd.DataFrame({"origin": o, "dest": gps["id"].to_numpy()[keep], "cost": d[keep]}))
    od = pd.concat(rows, ignore_index=True)

    fmt = lambda x: repr(float(x))  # noqa: E731 -- shortest round-trip form
    dem_out = dem.copy()
    for c in ("lon", "lat", "weight"):
        dem_out[c] = dem_out[c].map(fmt)
    dem_out.to_csv(out / "residents.csv", index=False)
    gps.to_csv(out / "facilities.csv", index=False)
    od.assign(cost=od["cost"].map(fmt)).to_csv(out / "costs.csv", index=False)
    (out / "dataset.toml").write_text(
        'name = "access-pysal"\n'
        f'title = "Municipalities of {dataset.name} (population-weighted centres) and active GPs"\n'
        'crs = "EPSG:4326"\n\n'
        '[facilities]\npath = "facilities.csv"\n\n'
        '[residents]\npath = "residents.csv"\n\n'
        '[costs]\npath = "costs.csv"\nunit = "m"\n'
    )
    return {"municipalities": len(dem), "gps": len(gps), "pairs": len(od),
            "population": float(dem["weight"].sum())}


def pysal_inputs(d: Path):
    """The three CSVs as PySAL wants them: str ids in named columns."""
    dem = pd.read_csv(d / "residents.csv", dtype={"id": str, "municipality": str})
    dem = dem[["id", "weight"]].rename(columns={"weight": "pop"})
    sup = pd.read_csv(d / "facilities.csv", dtype=str, keep_default_na=False)
    sup = pd.DataFrame({"id": sup["id"], "capacity": sup["capacity"].astype(float)})
    od = pd.read_csv(d / "costs.csv", dtype={"origin": str, "dest": str})
    return dem, sup, od


def run_pysal(inputs, call, runs: int):
    """Best-of-`runs` times of constructing Access and of the method call;
    the result Series (raw scores) by demand id."""
    dem, sup, od = inputs
    best_new = best_call = math.inf
    for _ in range(runs):
        t0 = time.perf_counter()
        a = Access(demand_df=dem.copy(), demand_index="id", demand_value="pop",
                   supply_df=sup.copy(), supply_index="id", supply_value="capacity",
                   cost_df=od.copy(), cost_origin="origin", cost_dest="dest", cost_name="cost")
        t1 = time.perf_counter()
        out = call(a)
        t2 = time.perf_counter()
        best_new, best_call = min(best_new, t1 - t0), min(best_call, t2 - t1)
    return out.iloc[:, 0], best_new, best_call


def run_bacino(bacino: str, d: Path, args: list[str], runs: int):
    """Best-of-`runs` whole-process wall time and the parsed JSON."""
    cmd = [bacino, "access", str(d), "--kind", "gp", *args]
    best = math.inf
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True)
        best = min(best, time.perf_counter() - t0)
        if p.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    return json.loads(p.stdout), best, cmd


def compare(pysal: pd.Series, report: dict):
    """Per-municipality relative differences. A municipality PySAL leaves
    NaN (no GP in reach) must be bacino's 0 with all its people unreached."""
    groups = {g["key"]: g for g in report["groups"]}
    if set(groups) != set(pysal.index):
        raise SystemExit(f"municipality sets differ: {sorted(set(groups) ^ set(pysal.index))[:10]}")
    rel, nan_ok, worst = [], 0, None
    for k, p in pysal.items():
        g = groups[k]
        if g.get("suppressed"):
            raise SystemExit(f"{k} suppressed: pass --min-group-size 0")
        b = g["access"]
        if not math.isfinite(p):
            if math.isnan(p) and b == 0 and g["unreached"] == g["population"]:
                nan_ok += 1
                continue
            rel.append(math.inf)
            worst = worst or (k, p, b)
            continue
        r = 0.0 if p == b else abs(p - b) / max(abs(p), abs(b))
        if not rel or r > max(rel):
            worst = (k, p, b)
        rel.append(r)
    return max(rel), nan_ok, worst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", type=Path, default=ROOT / "fixtures" / "bergamo")
    ap.add_argument("--bacino", default=str(ROOT / "target" / "release" / "bacino"))
    ap.add_argument("--cap-m", type=float, default=30_000.0,
                    help="keep OD pairs up to this geodesic distance (default 30000)")
    ap.add_argument("--runs", type=int, default=3, help="best of this many runs (default 3)")
    ap.add_argument("--resident-level", action="store_true",
                    help="also time bacino alone at resident level (2SFCA, 10 km, geodesic)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary dataset")
    args = ap.parse_args()

    print(f"access {access.__version__}, pandas {pd.__version__}, numpy {np.__version__}")
    if int(pd.__version__.split(".")[0]) >= 3:
        print("warning: pandas >= 3 sums pairwise; PySAL's figures may move by an ulp")
    tmp = Path(tempfile.mkdtemp(prefix="bacino-access-pysal."))
    try:
        t0 = time.perf_counter()
        info = build(args.dataset, tmp, args.cap_m)
        print(f"{info['municipalities']} municipalities ({info['population']:.0f} people), "
              f"{info['gps']} active GPs, {info['pairs']} pairs <= {args.cap_m:.0f} m; "
              f"built in {time.perf_counter() - t0:.1f} s")
        inputs = pysal_inputs(tmp)
        mc = ["--max-cost", repr(MAX_COST)]
        grp = ["--metric", "table", "--group-by", "municipality", "--min-group-size", "0"]
        steps = ",".join(f"{t}:{w}" for t, w in STEPS.items())
        alpha, scale, mind = GRAVITY
        cases = [
            ("2sfca", lambda a: a.two_stage_fca(name="x", max_cost=MAX_COST),
             ["--method", "2sfca", *mc]),
            ("e2sfca", lambda a: a.enhanced_two_stage_fca(
                name="x", max_cost=MAX_COST, weight_fn=weights.step_fn(dict(STEPS))),
             ["--method", "e2sfca", *mc, "--weights", steps]),
            ("g2sfca", lambda a: a.two_stage_fca(
                name="x", max_cost=MAX_COST, weight_fn=weights.gaussian(SIGMA)),
             ["--method", "g2sfca", *mc, "--gaussian", repr(SIGMA)]),
            ("gravity", lambda a: a.weighted_catchment(
                name="x", max_cost=MAX_COST,
                weight_fn=weights.gravity(scale=scale, alpha=alpha, min_dist=mind)),
             ["--method", "gravity", *mc, "--gravity", f"{alpha!r},{scale!r},{mind!r}"]),
            ("3sfca", lambda a: a.three_stage_fca(
                name="x", max_cost=MAX_COST, weight_fn=weights.gaussian(SIGMA)),
             ["--method", "3sfca", *mc, "--gaussian", repr(SIGMA), "--selection", "all_pairs"]),
        ]
        rows, failed = [], []
        for name, call, bargs in cases:
            p, t_new, t_call = run_pysal(inputs, call, args.runs)
            rep, t_b, cmd = run_bacino(args.bacino, tmp, [*bargs, *grp], args.runs)
            rel, nan_ok, worst = compare(p, rep)
            ok = rel <= TOL
            if not ok:
                failed.append(name)
                print(f"{name}: max rel diff {rel:.3g} at {worst[0]}: PySAL {worst[1]!r}, bacino {worst[2]!r}")
                print("  " + " ".join(cmd))
            rows.append((name, len(p), rel, t_call, t_new, t_b,
                         f"{'ok' if ok else 'FAIL'}; {nan_ok} with no GP in reach"))

        # RAAM: PySAL sees every pair of its table (no cut-off), so bacino's
        # max-cost is the table's cap.
        p, t_new, t_call = run_pysal(inputs, lambda a: a.raam(name="x", tau=TAU), args.runs)
        rep, t_b, _ = run_bacino(args.bacino, tmp, [
            "--method", "raam", "--max-cost", repr(args.cap_m), "--tau", repr(TAU), *grp], args.runs)
        rel, nan_ok, worst = compare(p, rep)
        raam = rep.get("raam", {})
        b = pd.Series({g["key"]: g["access"] for g in rep["groups"]})[p.index]
        r = ((p - b).abs() / np.maximum(p.abs(), b.abs())).dropna()
        rows.append(("raam", len(p), rel, t_call, t_new, t_b,
                     f"heuristic vs equilibrium: median {r.median():.2g}, p90 {r.quantile(0.9):.2g}; "
                     f"bacino residual {raam.get('residual', math.nan):.2g} "
                     f"after {raam.get('iterations', '?')} passes"))

        print()
        head = ("case", "municipalities", "max rel diff", "PySAL call s", "PySAL Access() s",
                "bacino s", "note")
        table = [head] + [(c, str(n), f"{d:.2e}", f"{tc:.3f}", f"{tn:.3f}", f"{tb:.3f}", note)
                          for c, n, d, tc, tn, tb, note in rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(head))]
        for k, r in enumerate(table):
            print("  ".join(x.ljust(w) if i in (0, 6) else x.rjust(w)
                            for i, (x, w) in enumerate(zip(r, widths))).rstrip())
            if k == 0:
                print("  ".join("-" * w for w in widths))

        if args.resident_level:
            rep, t_b, cmd = run_bacino(args.bacino, args.dataset, [
                "--method", "2sfca", *mc, "--group-by", "municipality"], args.runs)
            print(f"\nresident level (PySAL not run): bacino 2sfca, 10 km geodesic, "
                  f"{rep['demand_total']:.0f} residents x {info['gps']} GPs: {t_b:.3f} s "
                  f"whole process\n  {' '.join(cmd)}")
    finally:
        if args.keep:
            print(f"\ntemporary dataset kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    if failed:
        print(f"\nFAIL: {', '.join(failed)} differ by more than {TOL:g} relative")
        return 1
    print(f"\nok: every deterministic method agrees within {TOL:g} relative")
    return 0


if __name__ == "__main__":
    sys.exit(main())
