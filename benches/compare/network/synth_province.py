#!/usr/bin/env python3
"""Synthetic province-sized road network (OSM PBF) plus a dataset around it.

    synth_province.py --out DIR [--nodes 500000] [--residents 1000000]
                      [--seed 1] [--towns N] [--gps N] [--pharmacies N]

Writes into DIR, deterministically for given arguments (random.Random(seed)):

  roads.osm.pbf    OpenStreetMap PBF (OSMHeader, then OSMData blocks of
                   DenseNodes, then Ways; <= 8000 entities per block; ids
                   ascending; zlib).  Every way carries
                   source=synthetic (bacino synth_province.py).
  facilities.csv   id,kind,name,lon,lat,capacity   (GP0001.. gp, PH0001..
                   pharmacy), each within 40 m of a town street node.
  residents.csv    id,lon,lat   (R0000001..), each within 80 m of a town
                   street node, towns weighted by their street-node count.
  dataset.toml     bacino manifest of the three files.

Not real data.  The network imitates a province such as Bergamo (60 km x
50 km around lon 9.7, lat 45.7 at the default 240 towns; the area scales with
the town count, which by default scales with --nodes):

  * towns of Zipf-like sizes placed at random (biggest first, with a
    clearance between them); each is a jittered, slightly warped, rotated
    street grid clipped to a wobbly disc: residential streets (some one-way,
    a few living_street; cross streets staggered into T-junctions, a quarter
    of the block edges missing, half of those cul-de-sacs), tertiary avenues
    every few blocks in bigger towns, secondary axes in the biggest, service
    spurs, a few footways, shape nodes on slightly bowed streets, traffic
    signals, a few bollards.  Only the largest two-way-connected part of
    each grid is kept, so each town is strongly connected for cars (barring
    bollards).  See the comment at NODES_PER_POINT for why not a plain grid.
  * towns linked along a Gabriel graph (always containing the minimum
    spanning tree, so every town is reachable): primary roads on the shortest
    paths from the main town to the next biggest ones, secondary between big
    towns, tertiary/unclassified otherwise; polylines with a node every
    100-200 m; a few roundabouts (junction=roundabout) mid-link.
  * one motorway (two one-way carriageways, maxspeed 130) across the south,
    with junctions: motorway_link ramps to a roundabout, and a primary
    connector from it to the nearest town.
  * a few small disconnected pieces (tiny grids, isolated roads, a path).

Python >= 3.8, standard library only.
"""

import argparse
import array
import bisect
import heapq
import math
import os
import random
import struct
import sys
import time
import zlib

LON0, LAT0 = 9.70, 45.70
_PHI = math.radians(LAT0)
M_PER_DEG_LAT = 111132.954 - 559.822 * math.cos(2 * _PHI) + 1.175 * math.cos(4 * _PHI)
M_PER_DEG_LON = 111412.84 * math.cos(_PHI) - 93.5 * math.cos(3 * _PHI)
TAU = 2 * math.pi
SOURCE = ("source", "synthetic (bacino synth_province.py)")
WRITING_PROGRAM = "bacino synth_province.py"
REPLICATION_TIMESTAMP = 1767225600  # 2026-01-01T00:00:00Z, fixed for determinism
# Town grid shape.  A plain square grid (all four-way crossings, no dead
# ends) is a pathological case for contraction hierarchies (OSRM contract
# took >20 min at 500k nodes), so the grids are made more like real towns:
# T-junctions (a brick pattern in one direction), missing block edges, some
# of them cul-de-sacs, and shape nodes on gently bowed streets.  At the
# defaults about 11 % of the nodes are intersections (T-junctions 5x as
# common as crossings) and there are ~0.4 dead ends per intersection; the
# Monaco OSM extract has 9 %, 15x and 0.37.
NODES_PER_POINT = 4.42        # nodes per grid point of a town's disc (calibrated)
RES_DROP = 0.25               # probability that a residential block edge is missing
STUB_P = 0.5                  # ... and that a missing one is a cul-de-sac instead
BRICK = True                  # T-junctions: cross streets alternate in one direction
RES_SHAPE = (1, 2, 3, 4, 5, 6)  # shape nodes per residential block edge (uniform)
AV_SHAPE = (1, 2, 3)          # ... per avenue block edge
BOW = 0.06                    # block edges bow sideways by up to this fraction
SPACING = (75.0, 110.0)       # town block size range, metres
ONEWAY_P = 0.12               # share of residential street pieces that are one-way
JITTER = 0.12                 # intersection jitter, fraction of the block size
CHUNK_DROP = 0.0              # share of whole residential street pieces left out

STREET_NAMES = [
    "Roma", "Garibaldi", "Mazzini", "Cavour", "Dante", "Verdi", "Marconi",
    "Matteotti", "Battisti", "dei Mille", "XX Settembre", "IV Novembre",
    "Manzoni", "Leopardi", "Carducci", "Pascoli", "Foscolo", "Petrarca",
    "Volta", "Galilei", "Colombo", "Vespucci", "San Francesco", "San Giorgio",
    "San Rocco", "Santa Maria", "della Chiesa", "del Mulino", "dei Fiori",
    "delle Rose", "dei Tigli", "dei Castagni", "degli Alpini", "Fontana",
    "Belvedere", "Papa Giovanni", "Donizetti", "Tasso", "Colleoni", "Moroni",
    "Lotto", "Quarenghi", "Locatelli", "Rossini", "Puccini", "Bellini",
    "Monte Grappa", "Piave", "Isonzo", "Adda", "Serio", "Brembo", "Oglio",
    "Trento", "Trieste", "Milano", "Brescia", "Lecco", "Como", "Bergamo",
    "Vittorio Veneto", "Kennedy", "Einaudi", "De Gasperi", "Moro", "Gramsci",
    "Don Minzoni", "Aldo Moro", "della Pace", "della Libertà", "del Lavoro",
    "dell'Industria", "Artigiani", "Campo Sportivo", "Cimitero", "Stazione",
]
SYL_A = ["Al", "Ber", "Ca", "Cor", "Dor", "Fa", "Gor", "Gra", "Lo", "Mar",
         "Mo", "Pon", "Ra", "Ro", "San", "Sco", "Ser", "Tre", "Val", "Vi",
         "Zo", "Bre", "Cal", "Ce", "Fio", "Le", "Noz", "Pe", "Ri", "Ta"]
SYL_B = ["ga", "ve", "ri", "na", "lo", "ma", "te", "si", "ba", "de", "go",
         "ren", "ster", "vi", "za", "ca"]
SYL_C = ["no", "lo", "go", "ra", "ne", "sco", "ello", "ate", "ago", "ino",
         "engo", "ano", "one", "ore", "asco"]


def to_lonlat(x, y):
    return LON0 + x / M_PER_DEG_LON, LAT0 + y / M_PER_DEG_LAT


# --------------------------------------------------------------------------
# Network container
# --------------------------------------------------------------------------

class Net:
    def __init__(self):
        self.x = array.array("d")
        self.y = array.array("d")
        self.node_tags = {}  # node id -> tuple of (k, v)
        self.ways = []       # (array of refs, tuple of (k, v))

    def node(self, x, y):
        self.x.append(x)
        self.y.append(y)
        return len(self.x)  # ids start at 1

    def way(self, refs, tags):
        assert len(refs) >= 2
        self.ways.append((array.array("q", refs), tuple(tags) + (SOURCE,)))

    def xy(self, nid):
        return self.x[nid - 1], self.y[nid - 1]


def polyline(rng, p0, p1, lo=100.0, hi=200.0, bend=0.05, jitter=4.0):
    """Intermediate points (excluding the ends) of a gently curved road."""
    (x0, y0), (x1, y1) = p0, p1
    dx, dy = x1 - x0, y1 - y0
    length = math.hypot(dx, dy)
    if length < 1e-6:
        return []
    n = max(1, int(round(length / rng.uniform(lo, hi))))
    nx, ny = -dy / length, dx / length
    a1 = max(-400.0, min(400.0, rng.uniform(-bend, bend) * length))
    a2 = max(-150.0, min(150.0, rng.uniform(-bend, bend) * 0.4 * length))
    pts = []
    for k in range(1, n):
        t = k / n
        off = a1 * math.sin(math.pi * t) + a2 * math.sin(TAU * t)
        pts.append((x0 + dx * t + nx * off + rng.uniform(-jitter, jitter),
                    y0 + dy * t + ny * off + rng.uniform(-jitter, jitter)))
    return pts


def pick_speed(rng, table):
    r = rng.random()
    acc = 0.0
    for p, v in table:
        acc += p
        if r < acc:
            return v
    return None


# --------------------------------------------------------------------------
# Towns
# --------------------------------------------------------------------------

def town_names(rng, n):
    names, seen = [], set()
    while len(names) < n:
        name = rng.choice(SYL_A) + (rng.choice(SYL_B) if rng.random() < 0.6 else "") + rng.choice(SYL_C)
        if rng.random() < 0.12:
            name += rng.choice([" di Sopra", " di Sotto", " al Serio", " al Brembo",
                                " d'Adda", " San Marco", " Alta", " Bassa"])
        if name in seen:
            continue
        seen.add(name)
        names.append(name)
    return names


def place_towns(rng, towns, W, H):
    """Biggest first, uniformly at random, keeping a clearance between discs."""
    placed = []
    for k, t in enumerate(towns):
        r = t["rad"]
        if k == 0:
            t["cx"], t["cy"] = rng.uniform(-0.05, 0.05) * W, rng.uniform(-0.02, 0.08) * H
            placed.append(t)
            continue
        gap = 700.0
        best, best_clear = None, -1e18
        done = False
        while not done:
            for _ in range(300):
                mx = min(W / 2 - 300, r + 800)
                my = min(H / 2 - 300, r + 800)
                x = rng.uniform(-W / 2 + mx, W / 2 - mx)
                y = rng.uniform(-H / 2 + my, H / 2 - my)
                clear = min(math.hypot(x - o["cx"], y - o["cy"]) - o["rad"] - r for o in placed)
                if clear > best_clear:
                    best, best_clear = (x, y), clear
                if clear >= gap:
                    done = True
                    break
            if not done:
                gap *= 0.7
                if gap < 50:
                    done = True  # take the best seen
        t["cx"], t["cy"] = best
        placed.append(t)


def build_town(net, rng, t, counts):
    R, s = t["R"], t["s"]
    harm = [(rng.uniform(0.04, 0.15), rng.randint(2, 6), rng.uniform(0, TAU)) for _ in range(2)]
    Rm = int(R * 1.35) + 1
    inside = set()
    for j in range(-Rm, Rm + 1):
        for i in range(-Rm, Rm + 1):
            r = math.hypot(i, j)
            if r <= 1.5:
                inside.add((i, j))
                continue
            th = math.atan2(j, i)
            f = 1.0
            for a, k, ph in harm:
                f += a * math.sin(k * th + ph)
            if r <= R * f:
                inside.add((i, j))
    big = R >= 9
    avk = rng.randint(5, 8)
    axes = R >= 22 or t["main"]
    brick_dir = rng.randint(0, 1)

    def line_class(idx):
        if axes and idx == 0:
            return "secondary"
        if big and idx % avk == 0:
            return "tertiary"
        return "residential"

    # Street lines -> chunks (future ways): rows (dir 0) then columns (dir 1).
    chunks = []  # (points, cls, oneway, tags)
    dropped = []  # residential edges left out: some become cul-de-sacs
    for d in (0, 1):
        for a in range(-Rm, Rm + 1):
            cls = line_class(a)
            name = ("Viale " if cls != "residential" else "Via ") + rng.choice(STREET_NAMES)
            run = []
            for b in range(-Rm, Rm + 2):
                p = (b, a) if d == 0 else (a, b)
                q = (b + 1, a) if d == 0 else (a, b + 1)
                if p in inside:
                    if not run:
                        run = [p]
                    ok = q in inside and (cls != "residential" or (
                        not BRICK or d != brick_dir or (a + b) % 2 == 0))
                    if ok and cls == "residential" and rng.random() < RES_DROP:
                        ok = False
                        dropped.append((p, q, name))
                    if ok:
                        run.append(q)
                        continue
                if len(run) >= 2:
                    chunks_of_run(rng, run, cls, name, chunks)
                run = []
    # Largest component over two-way edges.
    adj = {}
    for pts, cls, oneway, tags in chunks:
        if oneway:
            continue
        for p, q in zip(pts, pts[1:]):
            adj.setdefault(p, []).append(q)
            adj.setdefault(q, []).append(p)
    seen, best = set(), []
    for j in range(-Rm, Rm + 1):
        for i in range(-Rm, Rm + 1):
            p = (i, j)
            if p in adj and p not in seen:
                comp, stack = [p], [p]
                seen.add(p)
                while stack:
                    u = stack.pop()
                    for v in adj[u]:
                        if v not in seen:
                            seen.add(v)
                            comp.append(v)
                            stack.append(v)
                if len(comp) > len(best):
                    best = comp
    kept = set(best)
    t["points"] = len(kept)

    # Coordinates and node ids of the kept intersections, raster order.
    ang = rng.uniform(0, math.pi)
    ca, sa = math.cos(ang), math.sin(ang)
    wl = s * rng.uniform(10, 20)
    wa = s * rng.uniform(0.15, 0.3)
    ph1, ph2 = rng.uniform(0, TAU), rng.uniform(0, TAU)
    cx, cy = t["cx"], t["cy"]
    pid = {}
    t["first"] = len(net.x) + 1
    grid = []
    for j in range(-Rm, Rm + 1):
        for i in range(-Rm, Rm + 1):
            p = (i, j)
            if p not in kept:
                continue
            u = i * s + rng.uniform(-JITTER, JITTER) * s
            v = j * s + rng.uniform(-JITTER, JITTER) * s
            u, v = u + wa * math.sin(TAU * v / wl + ph1), v + wa * math.sin(TAU * u / wl + ph2)
            x, y = cx + u * ca - v * sa, cy + u * sa + v * ca
            nid = net.node(x, y)
            pid[p] = nid
            grid.append((x, y, nid))
            on_av = big and i % avk == 0 and j % avk == 0
            if (on_av and rng.random() < 0.5) or rng.random() < 0.002:
                net.node_tags[nid] = (("highway", "traffic_signals"),)
    t["grid"] = grid

    # Ways: split each chunk at dropped points, shape nodes in between.
    for pts, cls, oneway, tags in chunks:
        piece = []
        for p in pts + [None]:
            if p is not None and p in kept:
                piece.append(p)
                continue
            if len(piece) >= 2:
                refs = [pid[piece[0]]]
                for a, b in zip(piece, piece[1:]):
                    (xa, ya), (xb, yb) = net.xy(pid[a]), net.xy(pid[b])
                    m = rng.choice(RES_SHAPE) if cls == "residential" else rng.choice(AV_SHAPE)
                    dx, dy = xb - xa, yb - ya
                    dl = math.hypot(dx, dy) or 1.0
                    px, py = -dy / dl, dx / dl
                    bow = rng.uniform(-BOW, BOW) * dl
                    for k in range(1, m + 1):
                        tt = (k + rng.uniform(-0.15, 0.15)) / (m + 1)
                        o = bow * math.sin(math.pi * tt) + rng.uniform(-2, 2)
                        nid = net.node(xa + dx * tt + px * o, ya + dy * tt + py * o)
                        if not oneway and cls == "residential" and rng.random() < 0.001:
                            net.node_tags[nid] = (("barrier", "bollard"),)
                        refs.append(nid)
                    refs.append(pid[b])
                net.way(refs, tags)
                counts[tags[0][1]] = counts.get(tags[0][1], 0) + 1
            piece = []
    # Cul-de-sacs: part of some left-out edges, from one end.
    for p, q, name in dropped:
        if rng.random() >= STUB_P:
            continue
        if p not in kept:
            p, q = q, p
            if p not in kept:
                continue
        (xa, ya) = net.xy(pid[p])
        if q in pid:
            xb, yb = net.xy(pid[q])
        else:
            xb, yb = xa + (q[0] - p[0]) * s * ca - (q[1] - p[1]) * s * sa, ya + (q[0] - p[0]) * s * sa + (q[1] - p[1]) * s * ca
        f = rng.uniform(0.3, 0.6)
        m = rng.randint(1, 3)
        refs = [pid[p]]
        for k in range(1, m + 1):
            tt = f * k / m
            refs.append(net.node(xa + (xb - xa) * tt + rng.uniform(-3, 3), ya + (yb - ya) * tt + rng.uniform(-3, 3)))
        net.way(refs, (("highway", "residential"), ("name", name)))
        counts["residential"] = counts.get("residential", 0) + 1
    t["street_end"] = len(net.x) + 1  # exclusive

    # Service spurs at the fringe, footways across a few blocks.
    for j in range(-Rm, Rm + 1):
        for i in range(-Rm, Rm + 1):
            p = (i, j)
            if p not in kept:
                continue
            nb = sum((q in kept) for q in ((i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)))
            if nb <= 2 and rng.random() < 0.1:
                x0, y0 = net.xy(pid[p])
                dx, dy = x0 - cx, y0 - cy
                dl = math.hypot(dx, dy) or 1.0
                L = rng.uniform(40, 120)
                a = rng.uniform(-0.5, 0.5)
                ux, uy = (dx * math.cos(a) - dy * math.sin(a)) / dl, (dx * math.sin(a) + dy * math.cos(a)) / dl
                n1 = net.node(x0 + ux * L * 0.5 + rng.uniform(-4, 4), y0 + uy * L * 0.5 + rng.uniform(-4, 4))
                n2 = net.node(x0 + ux * L, y0 + uy * L)
                net.way([pid[p], n1, n2], (("highway", "service"),))
                counts["service"] = counts.get("service", 0) + 1
            q = (i + 1, j + 1)
            if q in kept and (i + 1, j) in kept and (i, j + 1) in kept and rng.random() < 0.01:
                (xa, ya), (xb, yb) = net.xy(pid[p]), net.xy(pid[q])
                mid = net.node((xa + xb) / 2 + rng.uniform(-10, 10), (ya + yb) / 2 + rng.uniform(-10, 10))
                net.way([pid[p], mid, pid[q]], (("highway", "footway"),))
                counts["footway"] = counts.get("footway", 0) + 1
    t["nodes"] = len(net.x) + 1 - t["first"]


def chunks_of_run(rng, run, cls, name, chunks):
    i = 0
    while i < len(run) - 1:
        n = rng.randint(6, 15) if cls != "residential" else rng.randint(3, 10)
        pts = run[i:i + n + 1]
        i += n
        oneway = False
        hw = cls
        if cls == "residential":
            r = rng.random()
            if r < ONEWAY_P:
                oneway = True
                if rng.random() < 0.5:
                    pts = pts[::-1]
            elif r < ONEWAY_P + 0.02:
                hw = "living_street"
        if cls == "residential" and rng.random() < CHUNK_DROP:
            continue
        tags = [("highway", hw), ("name", name)]
        if oneway:
            tags.append(("oneway", "yes"))
        if hw == "residential":
            sp = pick_speed(rng, ((0.12, "30"), (0.15, "50")))
        elif hw == "living_street":
            sp = None
        else:
            sp = pick_speed(rng, ((0.7, "50"),))
        if sp:
            tags.append(("maxspeed", sp))
        chunks.append((pts, cls, oneway, tuple(tags)))


# --------------------------------------------------------------------------
# Inter-town links
# --------------------------------------------------------------------------

def link_graph(rng, towns):
    n = len(towns)
    P = [(t["cx"], t["cy"]) for t in towns]

    def d(a, b):
        return math.hypot(P[a][0] - P[b][0], P[a][1] - P[b][1])

    # Minimum spanning tree (Prim, O(n^2)).
    in_tree = [False] * n
    best = [math.inf] * n
    parent = [-1] * n
    best[0] = 0.0
    mst = set()
    for _ in range(n):
        u = min((i for i in range(n) if not in_tree[i]), key=lambda i: best[i])
        in_tree[u] = True
        if parent[u] >= 0:
            mst.add((min(u, parent[u]), max(u, parent[u])))
        for v in range(n):
            if not in_tree[v]:
                dv = d(u, v)
                if dv < best[v]:
                    best[v], parent[v] = dv, u
    nn = sorted(min(d(a, b) for b in range(n) if b != a) for a in range(n)) if n > 1 else [1.0]
    maxd = 3.0 * nn[len(nn) // 2]
    # Gabriel edges (bucketed), plus the MST.
    cell = maxd
    buckets = {}
    for i, (x, y) in enumerate(P):
        buckets.setdefault((int(x // cell), int(y // cell)), []).append(i)
    edges = set(mst)
    for a in range(n):
        for b in range(a + 1, n):
            dab = d(a, b)
            if dab > maxd or (a, b) in edges:
                continue
            mx, my = (P[a][0] + P[b][0]) / 2, (P[a][1] + P[b][1]) / 2
            r2 = (dab / 2) ** 2
            gx, gy = int(mx // cell), int(my // cell)
            ok = True
            for bx in (gx - 1, gx, gx + 1):
                for by in (gy - 1, gy, gy + 1):
                    for c in buckets.get((bx, by), ()):
                        if c != a and c != b and (P[c][0] - mx) ** 2 + (P[c][1] - my) ** 2 < r2:
                            ok = False
                            break
                    if not ok:
                        break
                if not ok:
                    break
            if ok:
                edges.add((a, b))
    # Drop non-MST edges that run through a third town, and a few at random.
    kept = []
    for a, b in sorted(edges):
        if (a, b) not in mst:
            if rng.random() < 0.2:
                continue
            ax, ay = P[a]
            bx, by = P[b]
            dx, dy = bx - ax, by - ay
            l2 = dx * dx + dy * dy
            hit = False
            for c in range(n):
                if c == a or c == b:
                    continue
                cx, cy = P[c]
                tt = max(0.0, min(1.0, ((cx - ax) * dx + (cy - ay) * dy) / l2))
                if math.hypot(ax + tt * dx - cx, ay + tt * dy - cy) < towns[c]["rad"] + 150:
                    hit = True
                    break
            if hit:
                continue
        kept.append((a, b))
    return kept, mst, d


def classify_links(rng, towns, links, mst, d):
    n = len(towns)
    adj = {i: [] for i in range(n)}
    for a, b in links:
        adj[a].append(b)
        adj[b].append(a)
    # Shortest paths from the main town (index 0).
    dist = [math.inf] * n
    prev = [-1] * n
    dist[0] = 0.0
    heap = [(0.0, 0)]
    while heap:
        du, u = heapq.heappop(heap)
        if du > dist[u]:
            continue
        for v in adj[u]:
            nd = du + d(u, v)
            if nd < dist[v]:
                dist[v], prev[v] = nd, u
                heapq.heappush(heap, (nd, v))
    cls = {}
    ref = {}
    k_primary = max(1, min(6, (n - 1) // 8)) if n > 1 else 0
    road_no = 0
    for target in range(1, 1 + k_primary):
        road_no += 1
        v = target
        while prev[v] >= 0:
            e = (min(v, prev[v]), max(v, prev[v]))
            if e not in cls:
                cls[e] = "primary"
                ref[e] = road_no
            v = prev[v]
    sp_no = 0
    for a, b in links:
        e = (a, b)
        if e in cls:
            continue
        sp_no += 1
        ref[e] = sp_no
        if (a < 0.4 * n and b < 0.4 * n) or (e in mst and min(a, b) < 0.15 * n):
            cls[e] = "secondary"
        elif e in mst or rng.random() < 0.75:
            cls[e] = "tertiary"
        else:
            cls[e] = "unclassified"
    return cls, ref


def nearest_grid(t, x, y):
    best, bd = None, math.inf
    for gx, gy, nid in t["grid"]:
        dd = (gx - x) ** 2 + (gy - y) ** 2
        if dd < bd:
            best, bd = nid, dd
    return best


def roundabout(net, rng, cx, cy, hw, name, counts, radius=18.0, k=8):
    """A closed counterclockwise ring; returns its node ids and angles."""
    ids, angs = [], []
    a0 = rng.uniform(0, TAU)
    for q in range(k):
        a = a0 + TAU * q / k
        ids.append(net.node(cx + radius * math.cos(a), cy + radius * math.sin(a)))
        angs.append(a)
    net.way(ids + [ids[0]], (("highway", hw), ("junction", "roundabout"), ("name", name)))
    counts[hw] = counts.get(hw, 0) + 1
    return ids, angs


def ring_node(ids, angs, used, cx, cy, x, y):
    a = math.atan2(y - cy, x - cx)
    order = sorted(range(len(ids)), key=lambda q: abs(math.remainder(angs[q] - a, TAU)))
    for q in order:
        if q not in used:
            used.add(q)
            return ids[q]
    return ids[order[0]]


def build_links(net, rng, towns, links, cls, ref, counts):
    names = {"primary": "Strada Statale", "secondary": "Strada Provinciale", "tertiary": "Strada Provinciale"}
    speeds = {
        "primary": ((0.6, "90"), (0.2, "70")),
        "secondary": ((0.4, "90"), (0.3, "70")),
        "tertiary": ((0.3, "70"), (0.2, "50")),
        "unclassified": ((0.2, "50"),),
    }
    n_ring = 0
    for a, b in links:
        ta, tb = towns[a], towns[b]
        na = nearest_grid(ta, tb["cx"], tb["cy"])
        pa = net.xy(na)
        nb = nearest_grid(tb, pa[0], pa[1])
        pb = net.xy(nb)
        hw = cls[(a, b)]
        tags = [("highway", hw)]
        if hw == "unclassified":
            tags.append(("name", "Via per " + tb["name"]))
        else:
            pre = "SS" if hw == "primary" else "SP"
            tags.append(("name", "%s %d" % (names[hw], ref[(a, b)])))
            tags.append(("ref", "%s%d" % (pre, ref[(a, b)])))
        sp = pick_speed(rng, speeds[hw])
        if sp:
            tags.append(("maxspeed", sp))
        pts = polyline(rng, pa, pb)
        if hw in ("secondary", "tertiary") and len(pts) >= 12 and rng.random() < 0.05:
            n_ring += 1
            k = len(pts) // 2
            cx, cy = pts[k]
            ids, angs = roundabout(net, rng, cx, cy, hw, "Rotatoria %d" % n_ring, counts)
            used = set()
            ra = ring_node(ids, angs, used, cx, cy, *pts[k - 1])
            rb = ring_node(ids, angs, used, cx, cy, *pts[k + 1])
            first = [na] + [net.node(x, y) for x, y in pts[:k]] + [ra]
            second = [rb] + [net.node(x, y) for x, y in pts[k + 1:]] + [nb]
            net.way(first, tags)
            net.way(second, tags)
            counts[hw] = counts.get(hw, 0) + 2
        else:
            net.way([na] + [net.node(x, y) for x, y in pts] + [nb], tags)
            counts[hw] = counts.get(hw, 0) + 1


# --------------------------------------------------------------------------
# Motorway
# --------------------------------------------------------------------------

def build_motorway(net, rng, towns, W, H, counts):
    nj = max(2, int(round(7 * W / 60000.0)))
    x_start, x_end = -0.42 * W, 0.42 * W
    y0 = -0.2 * H
    amp, ph = 0.04 * H, rng.uniform(0, TAU)

    def centre(x):
        return y0 + amp * math.sin(TAU * x / W + ph)

    n = int((x_end - x_start) / 200.0) + 1
    xs = [x_start + (x_end - x_start) * k / (n - 1) for k in range(n)]
    cl = [(x, centre(x)) for x in xs]
    junc = sorted(set(int(round((n - 1) * (q / (nj - 1)))) for q in range(nj)))
    for q in range(1, len(junc) - 1):
        junc[q] = max(junc[q - 1] + 8, min(n - 9, junc[q] + rng.randint(-4, 4)))
    s, e = junc[0], junc[-1]

    def offset(k, side):
        x, y = cl[k]
        xa, ya = cl[max(0, k - 1)]
        xb, yb = cl[min(n - 1, k + 1)]
        dx, dy = xb - xa, yb - ya
        dl = math.hypot(dx, dy)
        return x - side * dy / dl * 12.0, y + side * dx / dl * 12.0

    eb = {k: net.node(*offset(k, -1)) for k in range(s, e + 1)}        # south, eastbound
    wb = {k: net.node(*offset(k, +1)) for k in range(e, s - 1, -1)}    # north, westbound
    split_eb, split_wb = {s, e}, {s, e}
    mw_tags = (("highway", "motorway"), ("oneway", "yes"), ("maxspeed", "130"),
               ("name", "Autostrada A99 (synthetic)"), ("ref", "A99"))
    link_tags = (("highway", "motorway_link"), ("oneway", "yes"))
    all_grid = [(gx, gy, nid, t) for t in towns for gx, gy, nid in t["grid"]]
    for q, k in enumerate(junc):
        jx, jy = cl[k]
        _, gx, gy, nid = min(((gx - jx) ** 2 + (gy - jy) ** 2, gx, gy, nid) for gx, gy, nid, _t in all_grid)
        side = 1.0 if gy >= jy else -1.0
        x, y = cl[k]
        xa, ya = cl[max(0, k - 1)]
        xb, yb = cl[min(n - 1, k + 1)]
        dx, dy = xb - xa, yb - ya
        dl = math.hypot(dx, dy)
        rx, ry = x - side * dy / dl * 300.0, y + side * dx / dl * 300.0
        ids, angs = roundabout(net, rng, rx, ry, "primary", "Rotatoria casello %d" % (q + 1), counts, radius=25.0)
        used = set()

        def ramp(frm, to):
            pa, pb = net.xy(frm), net.xy(to)
            mids = [net.node(px, py) for px, py in polyline(rng, pa, pb, 60, 90, bend=0.15, jitter=1.0)]
            net.way([frm] + mids + [to], link_tags)
            counts["motorway_link"] = counts.get("motorway_link", 0) + 1

        # Eastbound: off before the junction, on after; westbound mirrored.
        if k != s:
            ko = max(s, k - 3)
            split_eb.add(ko)
            ramp(eb[ko], ring_node(ids, angs, used, rx, ry, *net.xy(eb[ko])))
        if k != e:
            ki = min(e, k + 3)
            split_eb.add(ki)
            ramp(ring_node(ids, angs, used, rx, ry, *net.xy(eb[ki])), eb[ki])
        if k != e:
            ko = min(e, k + 3)
            split_wb.add(ko)
            ramp(wb[ko], ring_node(ids, angs, used, rx, ry, *net.xy(wb[ko])))
        if k != s:
            ki = max(s, k - 3)
            split_wb.add(ki)
            ramp(ring_node(ids, angs, used, rx, ry, *net.xy(wb[ki])), wb[ki])
        # Connector to the nearest town street node.
        rn = ring_node(ids, angs, used, rx, ry, gx, gy)
        mids = [net.node(px, py) for px, py in polyline(rng, net.xy(rn), (gx, gy), bend=0.03)]
        net.way([rn] + mids + [nid], (("highway", "primary"), ("name", "Raccordo casello %d" % (q + 1)),
                                      ("maxspeed", "70")))
        counts["primary"] = counts.get("primary", 0) + 1

    def carriageway(nodes_by_k, ks, splits):
        cur = []
        for k in ks:
            cur.append(nodes_by_k[k])
            if k in splits and len(cur) >= 2:
                net.way(cur, mw_tags)
                counts["motorway"] = counts.get("motorway", 0) + 1
                cur = [nodes_by_k[k]]

    carriageway(eb, range(s, e + 1), split_eb)
    carriageway(wb, range(e, s - 1, -1), split_wb)


# --------------------------------------------------------------------------
# Disconnected pieces
# --------------------------------------------------------------------------

def build_pieces(net, rng, towns, W, H, counts, n_pieces=6):
    def free_spot():
        for _ in range(2000):
            x, y = rng.uniform(-0.45 * W, 0.45 * W), rng.uniform(-0.45 * H, 0.45 * H)
            if all(math.hypot(x - t["cx"], y - t["cy"]) > t["rad"] + 1200 for t in towns) and abs(y + 0.2 * H) > 0.08 * H:
                return x, y
        return x, y

    for q in range(n_pieces):
        x0, y0 = free_spot()
        kind = q % 3
        if kind == 0:  # tiny grid
            gx, gy = rng.randint(2, 4), rng.randint(2, 3)
            ids = {}
            for j in range(gy):
                for i in range(gx):
                    ids[(i, j)] = net.node(x0 + i * 90 + rng.uniform(-8, 8), y0 + j * 90 + rng.uniform(-8, 8))
            name = "Via " + rng.choice(STREET_NAMES)
            for j in range(gy):
                row = [ids[(i, j)] for i in range(gx)]
                net.way(row, (("highway", "residential"), ("name", name)))
                counts["residential"] = counts.get("residential", 0) + 1
            for i in range(gx):
                col = [ids[(i, j)] for j in range(gy)]
                net.way(col, (("highway", "residential"),))
                counts["residential"] = counts.get("residential", 0) + 1
        elif kind == 1:  # isolated road
            x1, y1 = x0 + rng.uniform(-900, 900), y0 + rng.uniform(-900, 900)
            a, b = net.node(x0, y0), None
            mids = [net.node(px, py) for px, py in polyline(rng, (x0, y0), (x1, y1))]
            b = net.node(x1, y1)
            net.way([a] + mids + [b], (("highway", "unclassified"), ("name", "Strada vicinale %d" % (q + 1))))
            counts["unclassified"] = counts.get("unclassified", 0) + 1
        else:  # a path (not routable by car)
            x1, y1 = x0 + rng.uniform(-600, 600), y0 + rng.uniform(-600, 600)
            a = net.node(x0, y0)
            mids = [net.node(px, py) for px, py in polyline(rng, (x0, y0), (x1, y1), 50, 80, bend=0.2)]
            b = net.node(x1, y1)
            net.way([a] + mids + [b], (("highway", "path"),))
            counts["path"] = counts.get("path", 0) + 1


# --------------------------------------------------------------------------
# PBF writing (protobuf wire format by hand)
# --------------------------------------------------------------------------

def put_uvarint(out, v):
    while v > 0x7F:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def put_key(out, field, wiretype):
    put_uvarint(out, (field << 3) | wiretype)


def put_bytes(out, field, data):
    put_key(out, field, 2)
    put_uvarint(out, len(data))
    out += data


def put_int(out, field, v):
    put_key(out, field, 0)
    put_uvarint(out, v & 0xFFFFFFFFFFFFFFFF if v < 0 else v)


def put_sint(out, field, v):
    put_key(out, field, 0)
    put_uvarint(out, (v << 1) if v >= 0 else ((-v) << 1) - 1)


def packed_delta(vals):
    """Packed sint64, delta coded."""
    out = bytearray()
    app = out.append
    prev = 0
    for v in vals:
        z = v - prev
        prev = v
        z = (z << 1) if z >= 0 else ((-z) << 1) - 1
        while z > 0x7F:
            app((z & 0x7F) | 0x80)
            z >>= 7
        app(z)
    return out


def packed_uint(vals):
    out = bytearray()
    app = out.append
    for z in vals:
        while z > 0x7F:
            app((z & 0x7F) | 0x80)
            z >>= 7
        app(z)
    return out


def write_blob(f, btype, payload):
    blob = bytearray()
    put_int(blob, 2, len(payload))                 # raw_size
    put_bytes(blob, 3, zlib.compress(bytes(payload), 6))  # zlib_data
    hdr = bytearray()
    put_bytes(hdr, 1, btype.encode())              # type
    put_int(hdr, 3, len(blob))                     # datasize
    f.write(struct.pack(">I", len(hdr)))
    f.write(hdr)
    f.write(blob)


class StringTable:
    def __init__(self):
        self.index = {"": 0}
        self.strings = [""]

    def __call__(self, s):
        i = self.index.get(s)
        if i is None:
            i = self.index[s] = len(self.strings)
            self.strings.append(s)
        return i

    def encode(self):
        st = bytearray()
        for s in self.strings:
            put_bytes(st, 1, s.encode("utf-8"))
        return st


def primitive_block(st, group):
    blk = bytearray()
    put_bytes(blk, 1, st.encode())
    put_bytes(blk, 2, group)
    put_int(blk, 17, 100)  # granularity
    return blk


def write_pbf(path, net, per_block=8000):
    n = len(net.x)
    lats = array.array("q", (int(round((LAT0 + y / M_PER_DEG_LAT) * 1e7)) for y in net.y))
    lons = array.array("q", (int(round((LON0 + x / M_PER_DEG_LON) * 1e7)) for x in net.x))
    with open(path, "wb") as f:
        hb = bytearray()
        bbox = bytearray()
        put_sint(bbox, 1, min(lons) * 100)
        put_sint(bbox, 2, max(lons) * 100)
        put_sint(bbox, 3, max(lats) * 100)
        put_sint(bbox, 4, min(lats) * 100)
        put_bytes(hb, 1, bbox)
        put_bytes(hb, 4, b"OsmSchema-V0.6")
        put_bytes(hb, 4, b"DenseNodes")
        put_bytes(hb, 16, WRITING_PROGRAM.encode())
        put_bytes(hb, 17, b"synthetic (not OpenStreetMap data)")
        put_int(hb, 32, REPLICATION_TIMESTAMP)
        write_blob(f, "OSMHeader", hb)

        tags = net.node_tags
        for a in range(0, n, per_block):
            b = min(n, a + per_block)
            st = StringTable()
            kv = []
            for nid in range(a + 1, b + 1):
                tg = tags.get(nid)
                if tg:
                    for k, v in tg:
                        kv.append(st(k))
                        kv.append(st(v))
                kv.append(0)
            dense = bytearray()
            put_bytes(dense, 1, packed_delta(range(a + 1, b + 1)))
            put_bytes(dense, 8, packed_delta(lats[a:b]))
            put_bytes(dense, 9, packed_delta(lons[a:b]))
            put_bytes(dense, 10, packed_uint(kv))
            group = bytearray()
            put_bytes(group, 2, dense)
            write_blob(f, "OSMData", primitive_block(st, group))

        ways = net.ways
        for a in range(0, len(ways), per_block):
            st = StringTable()
            group = bytearray()
            for wid in range(a + 1, min(len(ways), a + per_block) + 1):
                refs, wt = ways[wid - 1]
                w = bytearray()
                put_int(w, 1, wid)
                put_bytes(w, 2, packed_uint([st(k) for k, _ in wt]))
                put_bytes(w, 3, packed_uint([st(v) for _, v in wt]))
                put_bytes(w, 8, packed_delta(refs))
                put_bytes(group, 3, w)
            write_blob(f, "OSMData", primitive_block(st, group))


# --------------------------------------------------------------------------
# Facilities, residents, manifest
# --------------------------------------------------------------------------

def allocate(total, weights):
    """Largest-remainder integer split of total by weights."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    out = [int(r) for r in raw]
    rest = total - sum(out)
    order = sorted(range(len(weights)), key=lambda i: (-(raw[i] - out[i]), i))
    for i in order[:rest]:
        out[i] += 1
    return out


def point_near(rng, net, t, radius):
    nid = rng.randrange(t["first"], t["street_end"])
    r = radius * math.sqrt(rng.random())
    a = TAU * rng.random()
    x, y = net.x[nid - 1] + r * math.cos(a), net.y[nid - 1] + r * math.sin(a)
    return to_lonlat(x, y)


def write_facilities(path, net, rng, towns, n_gp, n_ph):
    weights = [t["street_end"] - t["first"] for t in towns]
    cum = []
    acc = 0
    for w in weights:
        acc += w
        cum.append(acc)
    rows = ["id,kind,name,lon,lat,capacity\n"]
    per_town = {}
    for kind, prefix, count, cap, label in (("gp", "GP", n_gp, "1500", "Ambulatorio MMG"),
                                            ("pharmacy", "PH", n_ph, "", "Farmacia")):
        width = max(4, len(str(count)))
        for k in range(1, count + 1):
            ti = bisect.bisect_right(cum, rng.random() * acc)
            ti = min(ti, len(towns) - 1)
            t = towns[ti]
            per_town[(kind, ti)] = per_town.get((kind, ti), 0) + 1
            lon, lat = point_near(rng, net, t, 40.0)
            rows.append("%s%0*d,%s,%s %d - %s,%.7f,%.7f,%s\n"
                        % (prefix, width, k, kind, label, per_town[(kind, ti)], t["name"], lon, lat, cap))
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.writelines(rows)


def write_residents(path, net, rng, towns, total):
    counts = allocate(total, [t["street_end"] - t["first"] for t in towns])
    width = max(7, len(str(total)))
    fmt = "R%0" + str(width) + "d,%.7f,%.7f\n"
    X, Y = net.x, net.y
    rnd, rr = rng.random, rng.randrange
    cos, sin, sqrt = math.cos, math.sin, math.sqrt
    kx, ky = 1.0 / M_PER_DEG_LON, 1.0 / M_PER_DEG_LAT
    rid = 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("id,lon,lat\n")
        buf = []
        for t, c in zip(towns, counts):
            lo, hi = t["first"] - 1, t["street_end"] - 1
            for _ in range(c):
                i = rr(lo, hi)
                r = 80.0 * sqrt(rnd())
                a = TAU * rnd()
                rid += 1
                buf.append(fmt % (rid, LON0 + (X[i] + r * cos(a)) * kx, LAT0 + (Y[i] + r * sin(a)) * ky))
                if len(buf) >= 100000:
                    f.write("".join(buf))
                    buf = []
        f.write("".join(buf))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--out", required=True, help="output directory (created)")
    ap.add_argument("--nodes", type=int, default=500000, help="approximate node count (default 500000)")
    ap.add_argument("--residents", type=int, default=1000000, help="resident rows (default 1000000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--towns", type=int, help="town count (default 240 * nodes / 500000, at least 5)")
    ap.add_argument("--gps", type=int, help="GP count (default 600 * residents / 1e6, at least 5)")
    ap.add_argument("--pharmacies", type=int, help="pharmacy count (default 250 * residents / 1e6, at least 3)")
    args = ap.parse_args(argv)
    if args.nodes < 2000:
        ap.error("--nodes must be at least 2000")
    t0 = time.time()

    def log(msg):
        print("[%6.1fs] %s" % (time.time() - t0, msg), file=sys.stderr, flush=True)

    rng = random.Random(args.seed)
    n_towns = args.towns or max(5, int(round(240 * args.nodes / 500000)))
    area_scale = math.sqrt(n_towns / 240.0)
    W, H = 60000.0 * area_scale, 50000.0 * area_scale
    n_gp = args.gps if args.gps is not None else max(5, int(round(600 * args.residents / 1e6)))
    n_ph = args.pharmacies if args.pharmacies is not None else max(3, int(round(250 * args.residents / 1e6)))
    os.makedirs(args.out, exist_ok=True)

    # Town sizes (Zipf-like with noise), biggest first; the first is the main town.
    names = town_names(rng, n_towns)
    ws = sorted((1.0 / (r ** 0.9)) * math.exp(rng.gauss(0, 0.35)) for r in range(1, n_towns + 1))[::-1]
    ws[0] = max(ws[0], 1.4 * ws[1]) if n_towns > 1 else ws[0]
    wsum = sum(ws)
    towns = []
    for k in range(n_towns):
        towns.append({"name": names[k], "w": ws[k] / wsum, "main": k == 0,
                      "s": rng.uniform(*SPACING)})

    def size_towns(budget):
        for t in towns:
            pts = max(12.0, budget * t["w"] / NODES_PER_POINT)
            t["R"] = math.sqrt(pts / math.pi)
            t["rad"] = t["R"] * t["s"] * 1.15

    motorway_est = 2 * 0.84 * W / 200.0 + 60 * max(2, round(7 * W / 60000.0))
    size_towns(0.97 * args.nodes - motorway_est)
    place_towns(rng, towns, W, H)
    links, mst, dist = link_graph(rng, towns)
    road_est = sum(max(200.0, dist(a, b) - towns[a]["rad"] - towns[b]["rad"]) * 1.02 / 150.0 for a, b in links)
    size_towns(args.nodes - motorway_est - road_est - 150)
    log("%d towns placed in %.0f x %.0f km, %d links" % (n_towns, W / 1000, H / 1000, len(links)))

    net = Net()
    counts = {}
    for t in towns:
        build_town(net, rng, t, counts)
    town_nodes = len(net.x)
    log("grid points %d, town nodes per point %.2f" % (sum(t["points"] for t in towns), town_nodes / sum(t["points"] for t in towns)))
    log("town streets: %d nodes, %d ways" % (town_nodes, len(net.ways)))
    cls, ref = classify_links(rng, towns, links, mst, dist)
    build_links(net, rng, towns, links, cls, ref, counts)
    build_motorway(net, rng, towns, W, H, counts)
    build_pieces(net, rng, towns, W, H, counts)
    log("network: %d nodes (%d towns, %d roads/motorway/pieces), %d ways, %d tagged nodes"
        % (len(net.x), town_nodes, len(net.x) - town_nodes, len(net.ways), len(net.node_tags)))
    log("ways per highway: " + ", ".join("%s=%d" % kv for kv in sorted(counts.items(), key=lambda kv: -kv[1])))

    write_pbf(os.path.join(args.out, "roads.osm.pbf"), net)
    log("wrote roads.osm.pbf (%.1f MB)" % (os.path.getsize(os.path.join(args.out, "roads.osm.pbf")) / 1e6))
    # Separate streams so the dataset does not depend on how the network was drawn.
    write_facilities(os.path.join(args.out, "facilities.csv"), net, random.Random(args.seed * 1000003 + 1),
                     towns, n_gp, n_ph)
    log("wrote facilities.csv (%d gp, %d pharmacy)" % (n_gp, n_ph))
    write_residents(os.path.join(args.out, "residents.csv"), net, random.Random(args.seed * 1000003 + 2),
                    towns, args.residents)
    log("wrote residents.csv (%d rows)" % args.residents)
    with open(os.path.join(args.out, "dataset.toml"), "w", encoding="utf-8") as f:
        f.write("# Synthetic province (bacino synth_province.py --seed %d): not real data.\n" % args.seed)
        f.write('name = "synth"\n')
        f.write('title = "Synthetic province (%d nodes, %d residents; synthetic)"\n' % (len(net.x), args.residents))
        f.write('crs = "EPSG:4326"\n\n[facilities]\npath = "facilities.csv"\n\n'
                '[residents]\npath = "residents.csv"\n\n[network]\npath = "roads.osm.pbf"\n')
    log("done")


if __name__ == "__main__":
    main()
