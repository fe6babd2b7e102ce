"""Reads and writes GeoParquet with geopandas, for crates/formats/tests/peers.rs.

  check.py read PATH   -> prints a JSON summary of what geopandas reads
  check.py write PATH  -> writes points in EPSG:32632 with a bbox covering column
"""
import json
import sys

import geopandas
import pyarrow.parquet as pq
from shapely.geometry import Point

mode, path = sys.argv[1], sys.argv[2]
if mode == "read":
    gdf = geopandas.read_parquet(path)
    meta = json.loads(pq.read_schema(path).metadata[b"geo"])
    # geopandas drops the covering column on reading; pyarrow keeps it.
    boxes = pq.read_table(path, columns=["bbox"]).column("bbox").to_pylist()
    rows = []
    for (_, r), box in zip(gdf.iterrows(), boxes):
        g = r.geometry
        rows.append({
            "type": None if g is None else g.geom_type,
            "bounds": None if g is None else list(g.bounds),
            "props": {c: (None if (r[c] is None or r[c] != r[c]) else
                          (r[c] if isinstance(r[c], (str, bool)) else float(r[c])))
                      for c in gdf.columns if c not in ("geometry", "bbox")},
            "bbox": None if box is None else [box[k] for k in ("xmin", "ymin", "xmax", "ymax")],
        })
    print(json.dumps({
        "crs": gdf.crs.to_string() if gdf.crs else None,
        "version": meta["version"],
        "covering": meta["columns"]["geometry"]["covering"],
        "geometry_types": meta["columns"]["geometry"]["geometry_types"],
        "rows": rows,
    }))
elif mode == "write":
    gdf = geopandas.GeoDataFrame(
        {
            "id": ["R1", "R2", "R3"],
            "weight": [1, 3, 2],
            "municipality": ["016024", "016024", "019035"],
            "gp_id": ["GP0001", None, "GP0002"],
        },
        geometry=[Point(551000.0, 5061000.0), Point(552500.5, 5062000.25), Point(553000.0, 5060000.0)],
        crs="EPSG:32632",
    )
    gdf.to_parquet(path, write_covering_bbox=True)
    print(json.dumps({"written": len(gdf)}))
