"""Produces the expected values used by crates/access/tests/pysal.rs: runs
PySAL `access` on its own test cases -- the 3-tract hospital example
(access/tests/test_hospital_example.py, four cost scenarios) and the 5x5
grid (test_floating_catchment_area.py, test_weighted_catchment.py,
test_raam.py) -- and prints every result at full repr precision, beside
the reference implementation of the hospital test (`simple_2sfca`).

    /tmp/pyaccess-venv-pd2/bin/python benches/compare/access_pysal_cases.py
    # or in any venv made with: pip install access "pandas<3"

The expected values were taken with access 1.1.10.post3 and pandas 2.3.3,
whose group sums are Kahan-compensated; under pandas 3.x the 3-tract
results are identical and the grid results move by at most an ulp. A
reference generator, not a runtime dependency of bacino.
"""

import math
import warnings

import numpy as np
import pandas as pd

import access
from access import Access
from access import weights

warnings.simplefilter("ignore")
import logging

logging.getLogger("access").setLevel(logging.WARNING)

print("access", access.__version__, "pandas", pd.__version__, "numpy", np.__version__)

TRACTS = pd.DataFrame(
    [
        {"geoid": 1, "pop": 100, "doc": 15},
        {"geoid": 2, "pop": 50, "doc": 20},
        {"geoid": 3, "pop": 10, "doc": 100},
    ]
)


def scen(inb, outb, cross):
    # self=1, 1->3 and 2->3 = inb, 3->1 and 3->2 = outb, 1<->2 = cross
    rows = [
        (1, 1, 1), (2, 2, 1), (3, 3, 1),
        (1, 3, inb), (2, 3, inb),
        (3, 1, outb), (3, 2, outb),
        (1, 2, cross), (2, 1, cross),
    ]
    return pd.DataFrame(rows, columns=["origin", "dest", "cost"])


SCENARIOS = [scen(40, 40, 80), scen(20, 40, 80), scen(40, 20, 80), scen(20, 20, 40)]


def simple_2sfca(od, supply, demand, locs, max_travel=61, three_stage=False):
    """Reference implementation copied from access/tests/test_hospital_example.py."""
    god = od
    if three_stage:
        w = 1 / od
        ws = w.sum(axis=0)
        g = w.divide(ws, axis=1)
        god = od / g
    d = {h: sum(demand[r] / god[r][h] for r in locs if od[r][h] < max_travel) for h in locs}
    r = {loc: supply[loc] / d[loc] for loc in locs}
    return {res: sum(r[h] / god[res][h] for h in locs if od[res][h] < max_travel) for res in locs}


def col(df, name):
    return {int(k): float(v) for k, v in df[name].items()}


def show(label, d):
    print(f"  {label:44s}", {k: repr(v) for k, v in d.items()})


for n, costs in enumerate(SCENARIOS):
    print(f"\n=== scenario {n} ===")
    print(costs.pivot(index="origin", columns="dest", values="cost").to_string())
    a = Access(
        demand_df=TRACTS, demand_index="geoid", demand_value="pop",
        supply_df=TRACTS, supply_index="geoid", supply_value="doc",
        cost_df=costs.copy(), cost_origin="origin", cost_dest="dest", cost_name="cost",
        neighbor_cost_df=costs.copy(), neighbor_cost_origin="origin",
        neighbor_cost_dest="dest", neighbor_cost_name="cost",
    )
    a.two_stage_fca(name="2sfca_grav61", weight_fn=weights.gravity(1, -1), max_cost=61)
    a.two_stage_fca(name="2sfca_plain61", max_cost=61)
    a.two_stage_fca(name="2sfca_plainNone")
    a.enhanced_two_stage_fca(name="e2sfca_default")  # step {10:1,20:.68,30:.22}, no max_cost
    a.enhanced_two_stage_fca(name="e2sfca_step50", weight_fn=weights.step_fn({20: 1, 50: 0.5}))
    a.two_stage_fca(name="g2sfca_gauss30_61", weight_fn=weights.gaussian(30), max_cost=61)
    a.two_stage_fca(name="g2sfca_gauss30_None", weight_fn=weights.gaussian(30))
    a.three_stage_fca(name="3sfca_grav61", weight_fn=weights.gravity(1, -1), max_cost=61)
    a.three_stage_fca(name="3sfca_default")  # step {10:.962,20:.704,30:.377,60:.042}
    a.three_stage_fca(name="3sfca_default_40", max_cost=40)
    a.weighted_catchment(name="gravity_s60_a-1", weight_fn=weights.gravity(scale=60, alpha=-1))
    a.weighted_catchment(name="gravity_s60_a-2_md10",
                         weight_fn=weights.gravity(scale=60, alpha=-2, min_dist=10))
    a.weighted_catchment(name="catch_40", max_cost=40)
    a.fca_ratio(name="fca_61", max_cost=61)
    a.fca_ratio(name="fca_None")
    a.raam(name="raam_default")  # tau=60
    a.raam(name="raam_tau30", tau=30)
    a.raam(name="raam_int_step", initial_step=5)

    od = costs.pivot_table(index="origin", columns="dest", values="cost").T
    pops = TRACTS.set_index("geoid")["pop"].to_dict()
    docs = TRACTS.set_index("geoid")["doc"].to_dict()
    show("REF simple_2sfca (gravity -1, <61)", simple_2sfca(od, docs, pops, [1, 2, 3]))
    show("REF simple_3sfca (gravity -1, <61)",
         simple_2sfca(od, docs, pops, [1, 2, 3], three_stage=True))
    for c in a.access_df.columns:
        if c == "pop":
            continue
        show(c, col(a.access_df, c))
    nrm = a.two_stage_fca(name="2sfca_grav61", weight_fn=weights.gravity(1, -1),
                          max_cost=61, normalize=True)
    show("2sfca_grav61 normalize=True (returned)", col(nrm, "2sfca_grav61_doc"))
    nrm = a.raam(name="raam_default", normalize=True)
    show("raam_default normalize=True (returned)", col(nrm, "raam_default_doc"))

# ---- 5x5 grid, gravity(scale=60, alpha=1), test_weighted_catchment.py ----
print("\n=== 5x5 grid gravity(scale=60, alpha=1), no max_cost ===")
rows, _id = [], 0
for x in range(5):
    for y in range(5):
        _id += 1
        rows.append({"id": _id, "x": x, "y": y, "value": 1})
grid = pd.DataFrame(rows)
cm = pd.DataFrame(
    [[i.id, j.id, math.sqrt((i.x - j.x) ** 2 + (i.y - j.y) ** 2)]
     for i in grid.itertuples() for j in grid.itertuples()],
    columns=["origin", "dest", "cost"],
)
g = Access(demand_df=grid, demand_index="id", demand_value="value",
           supply_df=grid, supply_index="id", supply_value="value",
           cost_df=cm, cost_origin="origin", cost_dest="dest", cost_name="cost")
g.weighted_catchment(name="gravity", weight_fn=weights.gravity(scale=60, alpha=1))
print({k: repr(float(v)) for k, v in g.access_df["gravity_value"].items()})
g.two_stage_fca(name="2sfca")
g.two_stage_fca(name="2sfca15", max_cost=1.5)
g.three_stage_fca(name="3sfca", weight_fn=weights.gaussian(2))
g.raam(name="raam")
for c in ["2sfca_value", "2sfca15_value", "3sfca_value", "raam_value"]:
    print(c, {k: repr(float(v)) for k, v in g.access_df[c].items()})

# ---- weight function spot values ----
print("\n=== weight functions ===")
sf = weights.step_fn({20: 1, 40: 0.68, 60: 0.22})
print("step_fn({20:1,40:.68,60:.22})", {v: sf(v) for v in [0, 10, 20, 20.0001, 30, 40, 50, 60, 60.5, 70]})
ga = weights.gaussian(20)
print("gaussian(20)", {v: repr(ga(v)) for v in [0, 20, 40, 60]})
gr = weights.gravity(scale=20, alpha=-2, min_dist=1)
print("gravity(20,-2,1)", {t: repr(gr(t)) for t in [0, 1, 2, 20, 40, 60]})
print("gravity(1,-1)(0) ->", repr(weights.gravity(1, -1)(0)))
