#!/usr/bin/env python3
"""Agreement of two per-resident nearest-facility tables.

    agreement.py BACINO.csv PEER.csv [--label NAME] [--json]

BACINO.csv: `bacino stats ... --per-resident` (resident_id, facility_id,
distance_m, duration_s). PEER.csv: peers.py output (resident_id,
facility_id, duration_s, distance_m). Prints, over residents both reach:
the share with the same nearest facility, the medians of time and of route
length on each side with their relative difference, and the median of the
per-resident relative differences. Standard library only.
"""
import argparse
import csv
import json
import statistics as st


def load(path):
    with open(path, newline="") as f:
        return {r["resident_id"]: r for r in csv.DictReader(f)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bacino")
    ap.add_argument("peer")
    ap.add_argument("--label", default="peer")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    b, p = load(a.bacino), load(a.peer)
    n = same = 0
    bt, pt, bl, pl, rt, rl = [], [], [], [], [], []
    only_b = only_p = 0
    for k, r in b.items():
        q = p.get(k)
        rb = bool(r["facility_id"])
        rp = bool(q and q["facility_id"])
        if rb and not rp:
            only_b += 1
        if rp and not rb:
            only_p += 1
        if not (rb and rp):
            continue
        n += 1
        same += r["facility_id"] == q["facility_id"]
        t1, t2 = float(r["duration_s"]), float(q["duration_s"])
        l1, l2 = float(r["distance_m"]), float(q["distance_m"])
        bt.append(t1); pt.append(t2); bl.append(l1); pl.append(l2)
        if t2 > 0:
            rt.append((t1 - t2) / t2)
        if l2 > 0:
            rl.append((l1 - l2) / l2)
    out = {
        "peer": a.label,
        "residents_compared": n,
        "reached_by_bacino_only": only_b,
        "reached_by_peer_only": only_p,
        "same_nearest_share": round(same / n, 4) if n else None,
        "median_time_s": {"bacino": round(st.median(bt), 1), a.label: round(st.median(pt), 1)},
        "median_time_rel_diff": round((st.median(bt) - st.median(pt)) / st.median(pt), 4),
        "median_per_resident_time_rel_diff": round(st.median(rt), 4),
        "median_length_m": {"bacino": round(st.median(bl), 1), a.label: round(st.median(pl), 1)},
        "median_length_rel_diff": round((st.median(bl) - st.median(pl)) / st.median(pl), 4),
        "median_per_resident_length_rel_diff": round(st.median(rl), 4),
    }
    if a.json:
        print(json.dumps(out))
    else:
        print(f"{a.label}: {n} residents; same nearest facility {out['same_nearest_share']:.1%}")
        print(f"  median time   bacino {out['median_time_s']['bacino']} s, {a.label} {out['median_time_s'][a.label]} s "
              f"({out['median_time_rel_diff']:+.1%}); per-resident median {out['median_per_resident_time_rel_diff']:+.1%}")
        print(f"  median length bacino {out['median_length_m']['bacino']} m, {a.label} {out['median_length_m'][a.label]} m "
              f"({out['median_length_rel_diff']:+.1%}); per-resident median {out['median_per_resident_length_rel_diff']:+.1%}")
        print(f"  reached by bacino only {only_b}, by {a.label} only {only_p}")


if __name__ == "__main__":
    main()
