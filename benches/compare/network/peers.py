#!/usr/bin/env python3
"""Road-routing peers (OSRM, Valhalla) for the network comparison of bacino.

Nearest facility by travel time for every resident, computed by an
independent routing engine, run from the executables bundled in their PyPI
wheels (see peers_setup.sh; they live in ${BACINO_PEERS:-~/.cache/bacino-peers}).
Python >= 3.9, standard library only.

    peers.py osrm-nearest     --pbf F --profile car|foot|bicycle|X.lua
                              --residents R.csv --facilities F.csv --kind K
                              --out OUT.csv [--algorithm ch|mld] [--chunk 100]
    peers.py valhalla-nearest --pbf F --costing auto|pedestrian|bicycle
                              --residents R.csv --facilities F.csv --kind K
                              --out OUT.csv [--chunk 50]
                              [--matrix-algorithm select_optimal|costmatrix|timedistancematrix]
    peers.py osrm-route       --pbf F --profile car --from LON,LAT --to LON,LAT
    peers.py valhalla-route   --pbf F --costing auto --from LON,LAT --to LON,LAT

Common options: --threads N (default 2), --workdir DIR (keep and reuse the
built graph there; reused only when the pbf's size/mtime and the profile
match), --keep (keep the temporary directory), --verbose.

residents.csv: id,lon,lat,... (other columns ignored).
facilities.csv: id,kind,name,lon,lat,... (rows with kind == --kind).
OUT.csv: resident_id,facility_id,duration_s,distance_m -- per resident the
facility with the smallest duration (ties: smaller distance, then input
order); empty facility_id/duration_s/distance_m when no facility is reachable
(or the resident could not be snapped: see --max-snap-m).  Residents keep their input order.

What the numbers are:
  OSRM      /table with annotations=duration,distance.  Each pair's path is
            the minimum-*weight* path (car: weight 'routability' = duration
            plus penalties; foot: weight 'duration'); duration_s / distance_m
            are that path's.  Every coordinate is snapped to the nearest
            routable edge (no radius limit), and the snap leg itself costs
            nothing.  Durations are 0.1 s, distances 0.1 m resolution.
  Valhalla  /sources_to_targets with units=km (converted to metres; 1 m
            resolution), time in whole seconds.  Minimum-*cost* path; 'time'
            and 'distance' are that path's.  Built without admin/timezone
            databases, so no country-specific access defaults are applied.

Timings (whole-process wall time and peak RSS of each engine stage, plus the
wall time of all the HTTP matrix requests) go to stderr as lines
    timing <stage> wall_s=<s> max_rss_mb=<MB>
"""

import argparse
import csv
import hashlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

PEERS = os.path.expanduser(os.environ.get("BACINO_PEERS", "~/.cache/bacino-peers"))
OSRM_BIN = os.path.join(PEERS, "osrm", "osrm", "bin")
OSRM_PROFILES = os.path.join(PEERS, "osrm", "osrm", "share", "profiles")
VALHALLA_BIN = os.path.join(PEERS, "valhalla", "valhalla", "bin")
VALHALLA_BUILD_CONFIG = os.path.join(PEERS, "valhalla", "valhalla", "valhalla_build_config.py")

VERBOSE = False


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def die(msg):
    log(f"peers.py: {msg}")
    sys.exit(1)


def need(path):
    if not os.path.exists(path):
        die(f"missing {path}; run benches/compare/network/peers_setup.sh "
            f"(BACINO_PEERS={PEERS})")
    return path


# --------------------------------------------------------------- inputs

def read_points(path, kind=None):
    """[(id, lon, lat)] from a CSV with id,lon,lat (and kind if `kind`)."""
    out = []
    bad = 0
    with open(path, newline="", encoding="utf-8") as f:
        rd = csv.DictReader(f)
        cols = set(rd.fieldnames or [])
        want = {"id", "lon", "lat"} | ({"kind"} if kind is not None else set())
        if not want <= cols:
            die(f"{path}: needs columns {sorted(want)}, has {sorted(cols)}")
        for row in rd:
            if kind is not None and row["kind"] != kind:
                continue
            try:
                lon, lat = float(row["lon"]), float(row["lat"])
            except ValueError:
                bad += 1
                continue
            if not (math.isfinite(lon) and math.isfinite(lat)
                    and -180 <= lon <= 180 and -90 <= lat <= 90):
                bad += 1
                continue
            out.append((row["id"], lon, lat))
    if bad:
        log(f"{path}: skipped {bad} rows with missing/invalid lon,lat")
    return out


def parse_lonlat(s):
    try:
        lon, lat = (float(x) for x in s.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LON,LAT, got {s!r}")
    return lon, lat


def write_nearest(path, residents, best):
    """best: {resident index: (facility_id, duration_s, distance_m)}."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["resident_id", "facility_id", "duration_s", "distance_m"])
        for i, (rid, _, _) in enumerate(residents):
            b = best.get(i)
            if b is None:
                w.writerow([rid, "", "", ""])
            else:
                w.writerow([rid, b[0], fmt(b[1]), fmt(b[2])])


def fmt(x):
    return f"{x:.3f}".rstrip("0").rstrip(".") if x != 0 else "0"


def pick_best(row, facilities):
    """row: [(duration, distance) or None] per facility -> (fid, dur, dist)."""
    best = None
    for j, cell in enumerate(row):
        if cell is None:
            continue
        key = (cell[0], cell[1], j)
        if best is None or key < best:
            best = key
    if best is None:
        return None
    return facilities[best[2]][0], best[0], best[1]


def summary(name, residents, best):
    durs = sorted(b[1] for b in best.values())
    n = len(residents)
    if durs:
        med = durs[len(durs) // 2]
        log(f"{name}: {len(durs)}/{n} residents reached a facility; "
            f"median duration {med:.1f} s, max {durs[-1]:.1f} s")
    else:
        log(f"{name}: no resident reached a facility")


# --------------------------------------------------------------- processes

def run_stage(name, argv, logpath, cwd=None):
    """Run one engine stage to completion; log wall time and peak RSS."""
    if VERBOSE:
        log("+ " + " ".join(argv))
    with open(logpath, "ab") as lf:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=lf, stderr=subprocess.STDOUT, cwd=cwd)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    log(f"timing {name} wall_s={wall:.3f} max_rss_mb={ru.ru_maxrss / 1024:.1f}")
    if p.returncode != 0:
        tail(logpath)
        die(f"{name} failed with exit code {p.returncode} (log: {logpath})")
    return wall


def tail(path, n=15):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()[-n:]
        for ln in lines:
            log("  | " + ln)
    except OSError:
        pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """An engine's HTTP server on 127.0.0.1, ended (by pid) on exit."""

    def __init__(self, name, argv, logpath, port, ready_path, timeout=120):
        self.name, self.port, self.logpath = name, port, logpath
        if VERBOSE:
            log("+ " + " ".join(argv))
        self.log = open(logpath, "ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            while True:
                if self.proc.poll() is not None:
                    tail(logpath)
                    die(f"{name} exited with code {self.proc.returncode} (log: {logpath})")
                try:
                    with urllib.request.urlopen(self.url(ready_path), timeout=2) as r:
                        r.read()
                    break
                except urllib.error.HTTPError:
                    break  # it answers
                except (urllib.error.URLError, ConnectionError, socket.timeout, OSError):
                    pass
                if time.perf_counter() - t0 > timeout:
                    die(f"{name} did not answer on port {port} within {timeout} s")
                time.sleep(0.05)
        except BaseException:
            self.stop()
            raise
        self.startup = time.perf_counter() - t0
        log(f"timing {name}-start wall_s={self.startup:.3f}")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def http_json(url, body=None, timeout=600):
    """(status, parsed JSON or None, raw text)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, json.loads(text), text
    except ValueError:
        return status, None, text


class Workdir:
    """Temporary (or kept, --workdir) directory holding a built graph."""

    def __init__(self, args, prefix):
        self.keep = bool(args.keep or args.workdir)
        if args.workdir:
            os.makedirs(args.workdir, exist_ok=True)
            self.path = os.path.abspath(args.workdir)
        else:
            self.path = tempfile.mkdtemp(prefix=prefix)

    def close(self):
        if self.keep:
            log(f"kept {self.path}")
        else:
            shutil.rmtree(self.path, ignore_errors=True)


def build_stamp(pbf, *parts):
    st = os.stat(pbf)
    h = hashlib.sha256(json.dumps([os.path.abspath(pbf), st.st_size, st.st_mtime_ns,
                                   *parts]).encode()).hexdigest()
    return h


def stamp_ok(wd, stamp):
    try:
        with open(os.path.join(wd, ".peers-stamp")) as f:
            return f.read().strip() == stamp
    except OSError:
        return False


def stamp_write(wd, stamp):
    with open(os.path.join(wd, ".peers-stamp"), "w") as f:
        f.write(stamp + "\n")


def chunked(n, size):
    for s in range(0, n, size):
        yield list(range(s, min(n, s + size)))


def solve_chunks(residents, size, query):
    """query(indices) -> {i: row} or raises QueryError; bisects failing
    chunks so one unsnappable resident only loses itself."""
    rows, lost, nreq = {}, [], 0
    stack = list(chunked(len(residents), size))[::-1]
    while stack:
        idx = stack.pop()
        nreq += 1
        try:
            rows.update(query(idx))
        except QueryError as e:
            if len(idx) == 1:
                lost.append((residents[idx[0]][0], str(e)))
            else:
                h = len(idx) // 2
                stack.append(idx[h:])
                stack.append(idx[:h])
    if lost:
        log(f"{len(lost)} residents failed to route (left unreachable); first: "
            f"{lost[0][0]}: {lost[0][1][:200]}")
        if len(lost) == len(residents):
            die("every resident failed; a facility may be unroutable: " + lost[0][1][:500])
    return rows, nreq


class QueryError(Exception):
    pass


# --------------------------------------------------------------- OSRM

def osrm_profile(name):
    if name.endswith(".lua"):
        return os.path.abspath(need(name))
    return need(os.path.join(OSRM_PROFILES, f"{name}.lua"))


def osrm_build(args, wd):
    """Extract (+ contract, or partition + customize) args.pbf in wd.path."""
    profile = osrm_profile(args.profile)
    with open(profile, "rb") as f:
        prof_hash = hashlib.sha256(f.read()).hexdigest()
    stamp = build_stamp(args.pbf, "osrm", prof_hash, args.algorithm)
    base = os.path.join(wd.path, "net.osrm")
    if stamp_ok(wd.path, stamp):
        log(f"reusing OSRM graph in {wd.path}")
        return base
    pbf = os.path.join(wd.path, "net.osm.pbf")
    shutil.copyfile(args.pbf, pbf)  # osrm writes its files beside the input
    b = lambda n: need(os.path.join(OSRM_BIN, n))
    lg = os.path.join(wd.path, "osrm.log")
    t = str(args.threads)
    run_stage("extract", [b("osrm-extract"), "-p", profile, "-t", t, pbf], lg)
    if args.algorithm == "ch":
        run_stage("contract", [b("osrm-contract"), "-t", t, base], lg)
    else:
        run_stage("partition", [b("osrm-partition"), "-t", t, base], lg)
        run_stage("customize", [b("osrm-customize"), "-t", t, base], lg)
    os.remove(pbf)
    stamp_write(wd.path, stamp)
    return base


def osrm_server(args, wd, base, max_table):
    port = free_port()
    argv = [need(os.path.join(OSRM_BIN, "osrm-routed")), "--ip", "127.0.0.1",
            "-p", str(port), "-t", str(args.threads), "-a", args.algorithm.upper(),
            "--max-table-size", str(max_table), base]
    return Server("osrm-routed", argv, os.path.join(wd.path, "osrm-routed.log"), port,
                  "/nearest/v1/driving/0,0")


def coord(lon, lat):
    return f"{lon:.7f},{lat:.7f}"


def cmd_osrm_nearest(args):
    residents = read_points(args.residents)
    facilities = read_points(args.facilities, kind=args.kind)
    log(f"{len(residents)} residents, {len(facilities)} facilities of kind {args.kind!r}")
    if not facilities:
        die(f"no facility of kind {args.kind!r} in {args.facilities}")
    wd = Workdir(args, "bacino-osrm-")
    try:
        base = osrm_build(args, wd)
        nf = len(facilities)
        fac_coords = ";".join(coord(lon, lat) for _, lon, lat in facilities)

        def radiuses(k):
            if args.max_snap_m is None:
                return ""
            return "&radiuses=" + ";".join([f"{args.max_snap_m:g}"] * k + ["unlimited"] * nf)
        with osrm_server(args, wd, base, args.chunk + nf) as srv:
            def query(idx):
                coords = ";".join(coord(residents[i][1], residents[i][2]) for i in idx)
                k = len(idx)
                url = srv.url(
                    f"/table/v1/driving/{coords};{fac_coords}"
                    f"?sources={';'.join(map(str, range(k)))}"
                    f"&destinations={';'.join(map(str, range(k, k + nf)))}"
                    f"&annotations=duration,distance&skip_waypoints=true{radiuses(k)}")
                status, js, text = http_json(url)
                if status != 200 or not js or js.get("code") != "Ok":
                    raise QueryError(f"HTTP {status}: {text[:300]}")
                # Only each resident's best facility is kept: a million full
                # rows would not fit in memory.
                out = {}
                for r, i in enumerate(idx):
                    durs, dists = js["durations"][r], js["distances"][r]
                    out[i] = pick_best([None if d is None or s is None else (float(d), float(s))
                                        for d, s in zip(durs, dists)], facilities)
                return out

            t0 = time.perf_counter()
            rows, nreq = solve_chunks(residents, args.chunk, query)
            wall = time.perf_counter() - t0
            log(f"timing table wall_s={wall:.3f} requests={nreq} "
                f"sources={len(residents)} destinations={nf}")
        best = {i: b for i, b in rows.items() if b is not None}
        write_nearest(args.out, residents, best)
        summary("osrm", residents, best)
    finally:
        wd.close()


def cmd_osrm_route(args):
    wd = Workdir(args, "bacino-osrm-")
    try:
        base = osrm_build(args, wd)
        with osrm_server(args, wd, base, 100) as srv:
            url = srv.url(f"/route/v1/driving/{coord(*args.from_)};{coord(*args.to)}"
                          f"?overview=false&steps=false")
            status, js, text = http_json(url)
        if status != 200 or not js or js.get("code") != "Ok":
            die(f"route failed: HTTP {status}: {text[:500]}")
        r = js["routes"][0]
        snaps = [round(w.get("distance", float("nan")), 1) for w in js.get("waypoints", [])]
        print(f"duration_s={r['duration']} distance_m={r['distance']} "
              f"weight={r['weight']} snap_m={snaps}")
    finally:
        wd.close()


# --------------------------------------------------------------- Valhalla

VALHALLA_COSTING_LIMIT = {"auto": "auto", "pedestrian": "pedestrian",
                          "bicycle": "bicycle", "truck": "truck",
                          "motorcycle": "motorcycle", "motor_scooter": "motor_scooter",
                          "bus": "bus", "taxi": "taxi"}


def valhalla_build(args, wd):
    """Config + tiles in wd.path; returns (config path, config dict)."""
    stamp = build_stamp(args.pbf, "valhalla")
    cfg_path = os.path.join(wd.path, "valhalla.json")
    tiles = os.path.join(wd.path, "tiles")
    if stamp_ok(wd.path, stamp):
        log(f"reusing Valhalla tiles in {wd.path}")
        with open(cfg_path) as f:
            return cfg_path, json.load(f)
    shutil.rmtree(tiles, ignore_errors=True)
    # valhalla_build_config.py is plain stdlib Python: run it with ours.
    r = subprocess.run([sys.executable, need(VALHALLA_BUILD_CONFIG),
                        "--mjolnir-tile-dir", tiles,
                        "--mjolnir-tile-extract", "",
                        "--mjolnir-traffic-extract", "",
                        "--mjolnir-admin", "", "--mjolnir-timezone", "",
                        "--mjolnir-concurrency", str(args.threads)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        die("valhalla_build_config.py failed: " + r.stderr[-1000:])
    cfg = json.loads(r.stdout)
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=1)
    lg = os.path.join(wd.path, "valhalla.log")
    run_stage("build_tiles", [need(os.path.join(VALHALLA_BIN, "valhalla_build_tiles")),
                              "-c", cfg_path, "-j", str(args.threads), args.pbf], lg,
              cwd=wd.path)
    stamp_write(wd.path, stamp)
    return cfg_path, cfg


def valhalla_server(args, wd, cfg, pairs):
    """Write a service config (loopback port, big matrix limits) and start."""
    port = free_port()
    cfg = json.loads(json.dumps(cfg))
    svc = cfg["httpd"]["service"]
    svc["listen"] = f"tcp://127.0.0.1:{port}"
    # sockets of the worker pipeline: private to this run (also overridden
    # by --inproc-sockets, the default, but never share /tmp/loki & co.)
    sock = os.path.join(wd.path, f"sock-{port}")
    svc["loopback"] = f"ipc://{sock}-loopback"
    svc["interrupt"] = f"ipc://{sock}-interrupt"
    for k in ("loki", "thor", "odin", "meili"):
        if "service" in cfg.get(k, {}):
            cfg[k]["service"]["proxy"] = f"ipc://{sock}-{k}"
    svc["drain_seconds"] = 0
    svc["shutdown_seconds"] = 0
    lim = cfg["service_limits"]
    for name in set(VALHALLA_COSTING_LIMIT.values()):
        if name in lim:
            lim[name]["max_matrix_location_pairs"] = max(
                pairs, lim[name].get("max_matrix_location_pairs", 0))
            # max_matrix_distance (crow-fly metres between a source and a
            # target: 200000 pedestrian, 400000 auto) is left alone: with
            # 1e9 there, 3.9.1's timedistancematrix answered std::bad_alloc.
    if args.matrix_algorithm:
        cfg["thor"]["source_to_target_algorithm"] = args.matrix_algorithm
    # costmatrix (the select_optimal choice for auto) leaves some pairs
    # unconnected when the hierarchy limits cut the search; the second pass
    # retries those pairs without the limits.
    cfg["thor"].setdefault("costmatrix", {})["allow_second_pass"] = not args.no_second_pass
    path = os.path.join(wd.path, "valhalla-service.json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)
    argv = [need(os.path.join(VALHALLA_BIN, "valhalla_service")), path, str(args.threads)]
    return Server("valhalla_service", argv, os.path.join(wd.path, "valhalla-service.log"),
                  port, "/status")


def vloc(lon, lat, cutoff=None):
    loc = {"lon": lon, "lat": lat}
    if cutoff is not None:
        loc["search_cutoff"] = cutoff  # metres; default loki 35000
    return loc


def valhalla_matrix_rows(js, idx, nf):
    """Parse sources_to_targets (verbose list-of-lists, or the concise
    form with parallel 'durations'/'distances' arrays)."""
    out = {}
    stt = js.get("sources_to_targets")
    if isinstance(stt, list):
        for r, i in enumerate(idx):
            row = [None] * nf
            for cell in stt[r]:
                j = cell.get("to_index")
                t, d = cell.get("time"), cell.get("distance")
                if j is not None and t is not None and d is not None:
                    row[j] = (float(t), float(d) * 1000.0)
            out[i] = row
    elif isinstance(stt, dict) and "durations" in stt:
        for r, i in enumerate(idx):
            out[i] = [None if t is None or d is None else (float(t), float(d) * 1000.0)
                      for t, d in zip(stt["durations"][r], stt["distances"][r])]
    else:
        raise QueryError("unexpected response: " + json.dumps(js)[:300])
    return out


def cmd_valhalla_nearest(args):
    residents = read_points(args.residents)
    facilities = read_points(args.facilities, kind=args.kind)
    log(f"{len(residents)} residents, {len(facilities)} facilities of kind {args.kind!r}")
    if not facilities:
        die(f"no facility of kind {args.kind!r} in {args.facilities}")
    wd = Workdir(args, "bacino-valhalla-")
    try:
        _, cfg = valhalla_build(args, wd)
        nf = len(facilities)
        targets = [vloc(lon, lat) for _, lon, lat in facilities]
        with valhalla_server(args, wd, cfg, args.chunk * nf) as srv:
            def query(idx):
                body = {"sources": [vloc(residents[i][1], residents[i][2], args.max_snap_m)
                                    for i in idx],
                        "targets": targets, "costing": args.costing, "units": "km"}
                status, js, text = http_json(srv.url("/sources_to_targets"), body)
                if status != 200 or not js:
                    raise QueryError(f"HTTP {status}: {text[:300]}")
                if js.get("units") not in (None, "kilometers", "km"):
                    raise QueryError(f"unexpected units {js.get('units')!r}")
                return valhalla_matrix_rows(js, idx, nf)

            t0 = time.perf_counter()
            rows, nreq = solve_chunks(residents, args.chunk, query)
            wall = time.perf_counter() - t0
            log(f"timing matrix wall_s={wall:.3f} requests={nreq} "
                f"sources={len(residents)} targets={nf}")
        best = {}
        for i, row in rows.items():
            b = pick_best(row, facilities)
            if b is not None:
                best[i] = b
        write_nearest(args.out, residents, best)
        summary("valhalla", residents, best)
    finally:
        wd.close()


def cmd_valhalla_route(args):
    wd = Workdir(args, "bacino-valhalla-")
    try:
        _, cfg = valhalla_build(args, wd)
        with valhalla_server(args, wd, cfg, 100) as srv:
            body = {"locations": [vloc(*args.from_), vloc(*args.to)],
                    "costing": args.costing, "units": "km",
                    "directions_type": "none"}
            status, js, text = http_json(srv.url("/route"), body)
        if status != 200 or not js or "trip" not in js:
            die(f"route failed: HTTP {status}: {text[:500]}")
        s = js["trip"]["summary"]
        print(f"duration_s={s['time']} distance_m={s['length'] * 1000.0:.1f} "
              f"cost={s.get('cost')}")
    finally:
        wd.close()


# --------------------------------------------------------------- CLI

def main():
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 2)[2])
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument("--pbf", required=True)
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--workdir", help="build (and reuse) the graph here; kept")
        p.add_argument("--keep", action="store_true", help="keep the temporary directory")
        p.add_argument("--verbose", action="store_true")

    def nearest(p, chunk):
        p.add_argument("--residents", required=True)
        p.add_argument("--facilities", required=True)
        p.add_argument("--kind", required=True)
        p.add_argument("--out", required=True)
        p.add_argument("--chunk", type=int, default=chunk,
                       help=f"residents per matrix request (default {chunk})")
        p.add_argument("--max-snap-m", type=float,
                       help="a resident farther than this from any routable edge is "
                            "unreachable (OSRM radiuses=, Valhalla search_cutoff); "
                            "default: OSRM unlimited, Valhalla 35000")

    def route(p):
        p.add_argument("--from", dest="from_", type=parse_lonlat, required=True)
        p.add_argument("--to", type=parse_lonlat, required=True)

    def osrm(p):
        p.add_argument("--profile", default="car",
                       help="car|foot|bicycle (bundled) or a path to a .lua")
        p.add_argument("--algorithm", choices=["ch", "mld"], default="ch")

    def valhalla(p):
        p.add_argument("--costing", default="auto",
                       choices=sorted(VALHALLA_COSTING_LIMIT))
        p.add_argument("--matrix-algorithm",
                       choices=["select_optimal", "costmatrix", "timedistancematrix"],
                       help="thor.source_to_target_algorithm (default: Valhalla's, "
                            "select_optimal)")
        p.add_argument("--no-second-pass", action="store_true",
                       help="keep Valhalla's default thor.costmatrix.allow_second_pass=false "
                            "(some pairs may then come back unreachable)")

    p = sub.add_parser("osrm-nearest", help="nearest facility by OSRM /table")
    common(p); osrm(p); nearest(p, 100)
    p = sub.add_parser("osrm-route", help="one OSRM route (spot check)")
    common(p); osrm(p); route(p)
    p = sub.add_parser("valhalla-nearest", help="nearest facility by Valhalla matrix")
    common(p); valhalla(p); nearest(p, 50)
    p = sub.add_parser("valhalla-route", help="one Valhalla route (spot check)")
    common(p); valhalla(p); route(p)

    args = ap.parse_args()
    VERBOSE = args.verbose
    # a SIGTERM unwinds like Ctrl-C, so the engine server is ended too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not os.path.isfile(args.pbf):
        die(f"no such pbf: {args.pbf}")
    args.pbf = os.path.abspath(args.pbf)
    if getattr(args, "chunk", 1) < 1:
        die("--chunk must be >= 1")
    t0 = time.perf_counter()
    {"osrm-nearest": cmd_osrm_nearest, "osrm-route": cmd_osrm_route,
     "valhalla-nearest": cmd_valhalla_nearest, "valhalla-route": cmd_valhalla_route,
     }[args.cmd](args)
    log(f"timing total wall_s={time.perf_counter() - t0:.3f}")


if __name__ == "__main__":
    main()
