#!/usr/bin/env python3
"""Peer implementations of `bacino stats` for the comparison benchmark.

Task: the distance (metres, geodesic on WGS84) from every resident to the
nearest active GP, then weighted statistics.  Each contender runs as its own
process so whole-process wall time and peak RSS can be measured.

    python peers.py scipy          DATASET_DIR [--group-by COL] [--dump CSV]
    python peers.py scipy-k1       DATASET_DIR [--group-by COL] [--dump CSV]
    python peers.py geopandas      DATASET_DIR [--group-by COL] [--dump CSV]
    python peers.py exact          DATASET_DIR [--group-by COL] [--dump CSV]
    python peers.py exact-assigned DATASET_DIR [--group-by COL] [--dump CSV]
    python peers.py check A.json B.json [--tol-m 0.01]

scipy      pandas.read_csv; pyproj EPSG:4326 -> EPSG:4978 (ECEF, h=0);
           scipy cKDTree, k=4 Euclidean (chord) candidates per resident; the
           geodesic (pyproj Geod WGS84 .inv, vectorised) to each of the 4 and
           the minimum is taken.  k=4 rather than k=1 so that chord order vs
           geodesic order cannot pick a wrong facility in practice (it is not
           a proof; `exact` is the one with a proof).
scipy-k1   the plainest peer (issue #15's): pandas.read_csv; pyproj
           EPSG:4326 -> EPSG:32632 (UTM 32N); scipy cKDTree k=1 on the plane;
           one geodesic (pyproj Geod .inv, vectorised) per resident to its
           planar nearest.  Planar order is not geodesic order, so a resident
           near the bisector of two GPs may get the farther one: a speed peer,
           not a reference.
geopandas  pandas.read_csv -> GeoDataFrame (points_from_xy, source CRS);
           to_crs(EPSG:32632); sjoin_nearest residents -> active GPs (planar);
           ties (several GPs at the same planar distance) keep the first row;
           geodesic (pyproj Geod) from the resident to the matched GP.
exact      the independent reference.  kd-tree on unit *geodetic normal*
           vectors n = (cos(phi)cos(lam), cos(phi)sin(lam), sin(phi)) computed
           here with numpy (no pyproj ECEF); k=8 candidates; geodesic to all
           8; the minimum wins (ties: smallest facility id, string order).
           Proof of optimality per resident: every facility outside the k
           candidates has normal chord >= c_k (the k-th candidate's chord), so
           its geodesic is >= (b^2/a) * 2*asin(c_k/2) (b^2/a is the smallest
           radius of curvature of the ellipsoid, so a curve on the surface
           turns the normal by at most length/(b^2/a)).  If that bound does
           not strictly exceed the chosen distance, k is doubled for those
           residents (up to all facilities, i.e. brute force).
exact-assigned
           distance from each resident to the facility named in its `gp_id`
           column (any facility with that id, whatever its kind or status).
           Residents with an empty or unknown gp_id are left out (reported on
           stderr).

Dataset dir: dataset.toml (optional) + facilities.csv + residents.csv.
dataset.toml: top-level `crs` (default "EPSG:4326") is the default for both
tables; `[facilities]` and `[residents]` may set `path` and `crs`.  Columns are
lon,lat when present, else x,y; anything not in EPSG:4326 is transformed with
pyproj Transformer.from_crs(crs, "EPSG:4326", always_xy=True).

Active GP: kind == "gp" and status != "ceased" (empty status = active).

Output: one JSON object on stdout
  {"groups":[{"key":"all","count":N,"median_m":..,"p25_m":..,"p75_m":..,
              "p90_m":..,"mean_m":..,"max_m":..}]}
count = sum of `weight` (column optional, empty cell = 1).  Weighted
percentile = numpy.percentile(method="linear") on the array in which every
value is repeated `weight` times, generalised to real weights (see
weighted_percentile).  With --group-by COL there is one object per distinct
value of residents[COL] (as a string), sorted by key (code-point order), and
no "all" object.
"""

import argparse
import json
import math
import os
import sys
import time

WGS84_A = 6378137.0
WGS84_F = 1.0 / 298.257223563
WGS84_B = WGS84_A * (1.0 - WGS84_F)
MIN_RADIUS_OF_CURVATURE = WGS84_B * WGS84_B / WGS84_A  # meridian radius at the equator

FIELDS = ("count", "median_m", "p25_m", "p75_m", "p90_m", "mean_m", "max_m")
PERCENTILES = (("median_m", 0.50), ("p25_m", 0.25), ("p75_m", 0.75), ("p90_m", 0.90))
GEOGRAPHIC = {"EPSG:4326", "OGC:CRS84", "WGS84", "CRS:84"}
STRING_COLUMNS = ("id", "kind", "name", "status", "municipality", "ad", "gp_id", "group")

VERBOSE = bool(os.environ.get("PEERS_VERBOSE"))


def log(msg):
    print(f"peers: {msg}", file=sys.stderr)


class Timer:
    """Per-phase timings on stderr when PEERS_VERBOSE is set."""

    def __init__(self):
        self.t = time.perf_counter()

    def __call__(self, what):
        if VERBOSE:
            now = time.perf_counter()
            log(f"{what}: {now - self.t:.3f} s")
            self.t = now


# --------------------------------------------------------------------------
# dataset loading


def dataset_config(dataset_dir):
    import tomllib

    cfg = {}
    path = os.path.join(dataset_dir, "dataset.toml")
    if os.path.exists(path):
        with open(path, "rb") as fh:
            cfg = tomllib.load(fh)
    default_crs = cfg.get("crs", "EPSG:4326")
    out = {}
    for table in ("facilities", "residents"):
        sub = cfg.get(table, {})
        if not isinstance(sub, dict):
            sub = {}
        out[table] = {
            "path": os.path.join(dataset_dir, sub.get("path", f"{table}.csv")),
            "crs": sub.get("crs", default_crs),
        }
    return out


def is_wgs84_lonlat(crs):
    return str(crs).strip().upper() in GEOGRAPHIC


def read_table(path):
    import pandas as pd

    header = pd.read_csv(path, nrows=0).columns
    dtype = {c: str for c in header if c in STRING_COLUMNS}
    df = pd.read_csv(path, dtype=dtype)
    for c in dtype:
        df[c] = df[c].fillna("")
    return df


def coord_columns(df, path):
    if "lon" in df.columns and "lat" in df.columns:
        return "lon", "lat"
    if "x" in df.columns and "y" in df.columns:
        return "x", "y"
    sys.exit(f"peers: {path}: need lon,lat or x,y columns")


def lonlat(df, crs, path):
    """lon, lat (degrees, WGS84) as float64 numpy arrays."""
    import numpy as np

    cx, cy = coord_columns(df, path)
    x = df[cx].to_numpy(dtype=np.float64)
    y = df[cy].to_numpy(dtype=np.float64)
    if not is_wgs84_lonlat(crs):
        from pyproj import Transformer

        tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        x, y = tr.transform(x, y)
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        sys.exit(f"peers: {path}: non-finite coordinates")
    return x, y


def weights_of(res):
    import numpy as np

    if "weight" not in res.columns:
        return np.ones(len(res))
    w = res["weight"].to_numpy(dtype=np.float64, na_value=np.nan)
    w = np.where(np.isnan(w), 1.0, w)  # empty cell = 1
    if (w < 0).any() or not np.isfinite(w).all():
        sys.exit("peers: residents: weights must be finite and >= 0")
    return w


def active_gp_mask(fac):
    kind = fac["kind"].str.strip().str.lower()
    status = fac["status"].str.strip().str.lower() if "status" in fac.columns else None
    mask = kind == "gp"
    if status is not None:
        mask &= status != "ceased"
    return mask.to_numpy()


def load(dataset_dir):
    cfg = dataset_config(dataset_dir)
    fp, rp = cfg["facilities"]["path"], cfg["residents"]["path"]
    fac = read_table(fp)
    res = read_table(rp)
    flon, flat = lonlat(fac, cfg["facilities"]["crs"], fp)
    rlon, rlat = lonlat(res, cfg["residents"]["crs"], rp)
    return fac, flon, flat, res, rlon, rlat


# --------------------------------------------------------------------------
# statistics


def weighted_percentile(sorted_v, cum_w, p):
    """numpy 'linear' percentile of the value list where v_i is repeated w_i times.

    cum_w[i] = w_0 + .. + w_i (sequential f64 sums in ascending-value order),
    W = cum_w[-1]; h = p*(W-1); x(k) = v_i for the first i with cum_w[i] > k;
    result = x(floor h) + (h - floor h) * (x(min(floor h + 1, W - 1)) - x(floor h)).
    """
    import numpy as np

    n = len(sorted_v)
    W = cum_w[-1]

    def x(k):
        i = int(np.searchsorted(cum_w, k, side="right"))
        return float(sorted_v[min(i, n - 1)])

    h = p * (W - 1.0)
    fh = math.floor(h)
    hi = min(fh + 1.0, W - 1.0)
    lo_v = x(fh)
    return float(lo_v + (h - fh) * (x(hi) - lo_v))


def stats_of(values, weights):
    import numpy as np

    W = float(weights.sum()) if len(weights) else 0.0
    out = {"count": W}
    if W <= 0.0:
        for f in FIELDS[1:]:
            out[f] = None
        return out
    order = np.argsort(values, kind="stable")
    v = values[order]
    w = weights[order]
    cum = np.cumsum(w)  # sequential, ascending-value order
    W = float(cum[-1])
    out["count"] = W
    for name, p in PERCENTILES:
        out[name] = weighted_percentile(v, cum, p)
    out["mean_m"] = float(np.dot(w, v) / W)
    out["max_m"] = float(v[w > 0].max())
    return out


def document(dist, weights, res, group_by):
    import numpy as np

    groups = []
    if group_by is None:
        groups.append({"key": "all", **stats_of(dist, weights)})
    else:
        if group_by not in res.columns:
            sys.exit(f"peers: residents has no column {group_by!r}")
        keys = res[group_by].astype(str).to_numpy()
        for key in sorted(set(keys.tolist())):
            m = keys == key
            groups.append({"key": key, **stats_of(dist[m], weights[m])})
    for g in groups:
        c = g["count"]
        if c is not None and float(c).is_integer():
            g["count"] = int(c)
    return {"groups": groups}


def emit(doc):
    json.dump(doc, sys.stdout, separators=(",", ":"), allow_nan=False)
    sys.stdout.write("\n")


def dump(path, res, fac, fidx, dist):
    import pandas as pd

    pd.DataFrame(
        {
            "resident_id": res["id"].to_numpy() if "id" in res.columns else range(len(res)),
            "facility_id": fac["id"].to_numpy()[fidx],
            "distance_m": dist,
        }
    ).to_csv(path, index=False, float_format="%.6f")


def geodesic(lon1, lat1, lon2, lat2):
    from pyproj import Geod

    _, _, d = Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)
    return d


# --------------------------------------------------------------------------
# contenders


def load_with_gps(dataset_dir, tm):
    """The dataset, and the rows and coordinates of its active GPs."""
    import numpy as np

    fac, flon, flat, res, rlon, rlat = load(dataset_dir)
    tm("load")
    gp = np.flatnonzero(active_gp_mask(fac))
    if len(gp) == 0:
        sys.exit("peers: no active GP")
    return fac, res, rlon, rlat, gp, flon[gp], flat[gp]


def run_scipy(args):
    import numpy as np
    from pyproj import Transformer
    from scipy.spatial import cKDTree

    tm = Timer()
    fac, res, rlon, rlat, gp, glon, glat = load_with_gps(args.dataset, tm)
    ecef = Transformer.from_crs("EPSG:4326", "EPSG:4978", always_xy=True)
    gx, gy, gz = ecef.transform(glon, glat, np.zeros(len(gp)))
    rx, ry, rz = ecef.transform(rlon, rlat, np.zeros(len(rlon)))
    tm("ecef")
    tree = cKDTree(np.column_stack([gx, gy, gz]))
    k = min(4, len(gp))
    _, idx = tree.query(np.column_stack([rx, ry, rz]), k=k, workers=-1)
    idx = idx.reshape(len(rlon), k)
    tm("kdtree")
    d = geodesic(np.repeat(rlon, k), np.repeat(rlat, k), glon[idx].ravel(), glat[idx].ravel())
    d = np.asarray(d).reshape(len(rlon), k)
    best = d.argmin(axis=1)
    rows = np.arange(len(rlon))
    dist = d[rows, best]
    tm("geodesic")
    if args.dump:
        dump(args.dump, res, fac, gp[idx[rows, best]], dist)
    emit(document(dist, weights_of(res), res, args.group_by))
    tm("stats")


def run_scipy_k1(args):
    import numpy as np
    from pyproj import Transformer
    from scipy.spatial import cKDTree

    tm = Timer()
    fac, res, rlon, rlat, gp, glon, glat = load_with_gps(args.dataset, tm)
    utm = Transformer.from_crs("EPSG:4326", "EPSG:32632", always_xy=True)
    gx, gy = utm.transform(glon, glat)
    rx, ry = utm.transform(rlon, rlat)
    tm("utm")
    _, idx = cKDTree(np.column_stack([gx, gy])).query(np.column_stack([rx, ry]), k=1, workers=-1)
    tm("kdtree")
    dist = np.asarray(geodesic(rlon, rlat, glon[idx], glat[idx]))
    tm("geodesic")
    if args.dump:
        dump(args.dump, res, fac, gp[idx], dist)
    emit(document(dist, weights_of(res), res, args.group_by))
    tm("stats")


def run_geopandas(args):
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    tm = Timer()
    cfg = dataset_config(args.dataset)

    def read(table):
        path, crs = cfg[table]["path"], cfg[table]["crs"]
        df = read_table(path)
        cx, cy = coord_columns(df, path)
        return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df[cx], df[cy]), crs=crs)

    fac = read("facilities")
    res = read("residents")
    tm("load")
    gps = fac[active_gp_mask(fac)]
    if len(gps) == 0:
        sys.exit("peers: no active GP")
    res_m = res[["geometry"]].to_crs(epsg=32632)
    gps_m = gps[["geometry"]].to_crs(epsg=32632)
    res_ll = res.geometry.to_crs(epsg=4326)
    gps_ll = gps.geometry.to_crs(epsg=4326)
    tm("to_crs")
    joined = gpd.sjoin_nearest(res_m, gps_m, how="left")
    joined = joined[~joined.index.duplicated(keep="first")]
    matched = joined["index_right"].reindex(res.index)
    tm("sjoin_nearest")
    gll = gps_ll.loc[matched.to_numpy()]
    dist = np.asarray(geodesic(res_ll.x.to_numpy(), res_ll.y.to_numpy(), gll.x.to_numpy(), gll.y.to_numpy()))
    tm("geodesic")
    if args.dump:
        pos = fac.index.get_indexer(matched.to_numpy())
        dump(args.dump, pd.DataFrame(res.drop(columns="geometry")), fac, pos, dist)
    emit(document(dist, weights_of(res), res, args.group_by))
    tm("stats")


def unit_normals(lon, lat):
    import numpy as np

    lam = np.radians(lon)
    phi = np.radians(lat)
    c = np.cos(phi)
    return np.column_stack([c * np.cos(lam), c * np.sin(lam), np.sin(phi)])


def run_exact(args):
    import numpy as np
    from scipy.spatial import cKDTree

    tm = Timer()
    fac, res, rlon, rlat, gp, glon, glat = load_with_gps(args.dataset, tm)
    ng = len(gp)
    ids = fac["id"].to_numpy()[gp] if "id" in fac.columns else gp.astype(str)
    id_rank = np.empty(ng, dtype=np.int64)
    id_rank[np.argsort(ids.astype(str), kind="stable")] = np.arange(ng)
    tree = cKDTree(unit_normals(glon, glat))
    rn = unit_normals(rlon, rlat)
    n = len(rlon)
    dist = np.full(n, np.nan)
    chosen = np.full(n, -1, dtype=np.int64)
    pending = np.arange(n)
    k = min(8, ng)
    widened = 0
    while len(pending):
        chord, idx = tree.query(rn[pending], k=k)
        chord = chord.reshape(len(pending), k)
        idx = idx.reshape(len(pending), k)
        d = np.asarray(
            geodesic(np.repeat(rlon[pending], k), np.repeat(rlat[pending], k), glon[idx].ravel(), glat[idx].ravel())
        ).reshape(len(pending), k)
        dmin = d.min(axis=1)
        rank = np.where(d == dmin[:, None], id_rank[idx], np.iinfo(np.int64).max)
        pick = rank.argmin(axis=1)
        rows = np.arange(len(pending))
        if k >= ng:
            ok = np.ones(len(pending), dtype=bool)  # all facilities were candidates
        else:
            angle = 2.0 * np.arcsin(np.minimum(chord[:, -1] / 2.0, 1.0))
            lower = MIN_RADIUS_OF_CURVATURE * angle * (1.0 - 1e-12)
            ok = lower > dmin
        done = pending[ok]
        dist[done] = dmin[ok]
        chosen[done] = idx[rows[ok], pick[ok]]
        pending = pending[~ok]
        if len(pending):
            widened += len(pending)
            k = min(2 * k, ng)
    tm("nearest")
    if VERBOSE or widened:
        log(f"exact: {widened} resident-rounds needed k > 8")
    if args.dump:
        dump(args.dump, res, fac, gp[chosen], dist)
    emit(document(dist, weights_of(res), res, args.group_by))
    tm("stats")


def run_exact_assigned(args):
    import numpy as np

    tm = Timer()
    fac, flon, flat, res, rlon, rlat = load(args.dataset)
    if "gp_id" not in res.columns:
        sys.exit("peers: residents has no gp_id column")
    fid = fac["id"].to_numpy()
    if len(set(fid.tolist())) != len(fid):
        sys.exit("peers: facility ids are not unique")
    pos = {v: i for i, v in enumerate(fid.tolist())}
    gp_id = res["gp_id"].str.strip().to_numpy()
    fidx = np.array([pos.get(g, -1) for g in gp_id.tolist()], dtype=np.int64)
    keep = fidx >= 0
    dropped = int((~keep).sum())
    if dropped:
        log(f"exact-assigned: {dropped} residents without a known gp_id left out")
    res = res[keep].reset_index(drop=True)
    fidx = fidx[keep]
    dist = np.asarray(geodesic(rlon[keep], rlat[keep], flon[fidx], flat[fidx]), dtype=np.float64)
    tm("assigned")
    if args.dump:
        dump(args.dump, res, fac, fidx, dist)
    emit(document(dist, weights_of(res), res, args.group_by))


# --------------------------------------------------------------------------
# check


def groups_of(path):
    with open(path) as fh:
        doc = json.load(fh)
    groups = doc["groups"] if isinstance(doc, dict) else doc
    if not isinstance(groups, list):
        sys.exit(f"peers: {path}: no groups list")
    return groups


def run_check(args):
    a, b = groups_of(args.a), groups_of(args.b)
    problems = []
    worst = {}
    if [str(g.get("key")) for g in a] != [str(g.get("key")) for g in b]:
        problems.append(f"group keys differ: {[g.get('key') for g in a]} vs {[g.get('key') for g in b]}")
    for ga, gb in zip(a, b):
        key = ga.get("key")
        for f in FIELDS:
            if f not in ga or f not in gb:
                problems.append(f"[{key}] {f}: missing in {'A' if f not in ga else 'B'}")
                continue
            va, vb = ga[f], gb[f]
            if va is None or vb is None:
                if va is not vb:
                    problems.append(f"[{key}] {f}: {va} vs {vb}")
                continue
            diff = abs(float(va) - float(vb))
            worst[f] = max(worst.get(f, 0.0), diff)
            # count: 1e-9 absolute (1e-12 relative for huge sums of real weights)
            tol = max(1e-9, 1e-12 * abs(float(vb))) if f == "count" else args.tol_m
            if not diff <= tol:
                problems.append(f"[{key}] {f}: {va} vs {vb} (|diff| {diff:.6g} > {tol:g})")
        for f in sorted((set(ga) | set(gb)) - set(FIELDS) - {"key"}):
            if ga.get(f) != gb.get(f):
                log(f"check: note: [{key}] extra field {f} not compared ({ga.get(f)!r} vs {gb.get(f)!r})")
    summary = ", ".join(f"{f} {worst[f]:.3g}" for f in FIELDS if f in worst)
    if problems:
        for p in problems:
            log(f"check: {p}")
        log(f"check: FAIL {args.a} vs {args.b} ({len(problems)} differences; max |diff|: {summary})")
        return 1
    log(f"check: OK {len(a)} group(s) within {args.tol_m} m (max |diff|: {summary})")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    runners = {
        "scipy": run_scipy,
        "scipy-k1": run_scipy_k1,
        "geopandas": run_geopandas,
        "exact": run_exact,
        "exact-assigned": run_exact_assigned,
    }
    for name in runners:
        p = sub.add_parser(name)
        p.add_argument("dataset", metavar="DATASET_DIR")
        p.add_argument("--group-by", metavar="COLUMN")
        p.add_argument("--dump", metavar="CSV", help="write resident_id,facility_id,distance_m")
    p = sub.add_parser("check", help="compare the groups of two stats JSON documents")
    p.add_argument("a", metavar="A.json")
    p.add_argument("b", metavar="B.json")
    p.add_argument("--tol-m", type=float, default=0.01)
    args = ap.parse_args(argv)
    if args.cmd == "check":
        return run_check(args)
    runners[args.cmd](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
