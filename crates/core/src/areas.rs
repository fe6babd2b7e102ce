//! Area polygons (municipalities, districts) and fast point-in-polygon.

use geo::{BoundingRect, MultiPolygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

use crate::model::{LonLat, NONE};

/// Named polygons used to group residents and to clip catchments.
#[derive(Debug, Clone)]
pub struct Areas {
    ids: Vec<String>,
    names: Vec<Option<String>>,
    geometry: Vec<MultiPolygon<f64>>,
    index: AreaLocator,
}

impl Areas {
    /// Builds the collection and its point-in-polygon index.
    pub fn new(
        ids: Vec<String>,
        names: Vec<Option<String>>,
        geometry: Vec<MultiPolygon<f64>>,
    ) -> Self {
        let index = AreaLocator::new(&geometry);
        Areas {
            ids,
            names,
            geometry,
            index,
        }
    }

    /// Number of areas.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Id of area `i`.
    pub fn id(&self, i: usize) -> &str {
        &self.ids[i]
    }

    /// Name of area `i`.
    pub fn name(&self, i: usize) -> Option<&str> {
        self.names[i].as_deref()
    }

    /// Geometry of area `i` (WGS84 lon/lat).
    pub fn geometry(&self, i: usize) -> &MultiPolygon<f64> {
        &self.geometry[i]
    }

    /// All ids.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// Index of the area containing `p` ([`NONE`] when none does). A point on
    /// a shared border goes to the area listed first.
    pub fn locate(&self, p: LonLat) -> u32 {
        self.index.locate(p.lon, p.lat)
    }
}

/// Crossing-number point-in-polygon over edges bucketed by latitude band, so
/// a test looks at a handful of edges instead of every vertex.
#[derive(Debug, Clone)]
struct AreaLocator {
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, u32>>,
    polys: Vec<BandedEdges>,
}

#[derive(Debug, Clone)]
struct BandedEdges {
    y0: f64,
    band_h: f64,
    /// Edge list per band: `starts[b]..starts[b+1]` into `edges`.
    starts: Vec<u32>,
    edges: Vec<[f64; 4]>,
}

impl BandedEdges {
    fn new(mp: &MultiPolygon<f64>) -> Option<Self> {
        let rect = mp.bounding_rect()?;
        let mut all: Vec<[f64; 4]> = Vec::new();
        for poly in &mp.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                for l in ring.lines() {
                    if l.start.y != l.end.y {
                        all.push([l.start.x, l.start.y, l.end.x, l.end.y]);
                    }
                }
            }
        }
        let bands = (all.len() / 4).clamp(1, 4096);
        let (y0, h) = (rect.min().y, (rect.max().y - rect.min().y).max(1e-12));
        let band_h = h / bands as f64;
        let band_of = |y: f64| (((y - y0) / band_h) as usize).min(bands - 1);
        let mut lists: Vec<Vec<[f64; 4]>> = vec![Vec::new(); bands];
        for e in all {
            let (lo, hi) = (e[1].min(e[3]), e[1].max(e[3]));
            for list in &mut lists[band_of(lo)..=band_of(hi)] {
                list.push(e);
            }
        }
        let mut starts = Vec::with_capacity(bands + 1);
        let mut edges = Vec::new();
        for list in lists {
            starts.push(edges.len() as u32);
            edges.extend(list);
        }
        starts.push(edges.len() as u32);
        Some(BandedEdges {
            y0,
            band_h,
            starts,
            edges,
        })
    }

    fn contains(&self, x: f64, y: f64) -> bool {
        let bands = self.starts.len() - 1;
        let b = ((y - self.y0) / self.band_h).floor();
        if !(0.0..=bands as f64).contains(&b) {
            return false;
        }
        let b = (b as usize).min(bands - 1);
        let mut inside = false;
        for e in &self.edges[self.starts[b] as usize..self.starts[b + 1] as usize] {
            let [x1, y1, x2, y2] = *e;
            if (y1 > y) != (y2 > y) {
                let xi = x1 + (y - y1) * (x2 - x1) / (y2 - y1);
                if x < xi {
                    inside = !inside;
                }
            }
        }
        inside
    }
}

impl AreaLocator {
    fn new(geometry: &[MultiPolygon<f64>]) -> Self {
        let mut entries = Vec::new();
        let mut polys = Vec::with_capacity(geometry.len());
        for (i, mp) in geometry.iter().enumerate() {
            match BandedEdges::new(mp) {
                Some(b) => {
                    let r = mp.bounding_rect().expect("non-empty");
                    entries.push(GeomWithData::new(
                        Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                        i as u32,
                    ));
                    polys.push(b);
                }
                None => polys.push(BandedEdges {
                    y0: 0.0,
                    band_h: 1.0,
                    starts: vec![0, 0],
                    edges: vec![],
                }),
            }
        }
        AreaLocator {
            tree: RTree::bulk_load(entries),
            polys,
        }
    }

    fn locate(&self, x: f64, y: f64) -> u32 {
        let mut best = NONE;
        for e in self
            .tree
            .locate_in_envelope_intersecting(&AABB::from_point([x, y]))
        {
            if e.data < best && self.polys[e.data as usize].contains(x, y) {
                best = e.data;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, Contains, Point};
    use rand::{Rng, SeedableRng};

    #[test]
    fn locate_agrees_with_geo_contains_on_polygons_with_holes() {
        let outer = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 5.0, y: 6.0), (x: 0.0, y: 10.0)],
            interiors: [[(x: 2.0, y: 2.0), (x: 4.0, y: 2.0), (x: 4.0, y: 4.0), (x: 2.0, y: 4.0)]],
        );
        let other = polygon![(x: 2.1, y: 2.1), (x: 3.9, y: 2.1), (x: 3.0, y: 3.9)];
        let areas = Areas::new(
            vec!["a".into(), "b".into()],
            vec![None, None],
            vec![
                MultiPolygon(vec![outer.clone()]),
                MultiPolygon(vec![other.clone()]),
            ],
        );
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for _ in 0..20_000 {
            let (x, y) = (rng.random_range(-1.0..11.0), rng.random_range(-1.0..11.0));
            let p = Point::new(x, y);
            let want = if outer.contains(&p) {
                0
            } else if other.contains(&p) {
                1
            } else {
                NONE
            };
            assert_eq!(areas.locate(LonLat::new(x, y)), want, "({x}, {y})");
        }
    }
}
