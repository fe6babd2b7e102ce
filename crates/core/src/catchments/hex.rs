//! H3 cells as polygons, and covering a region with them.

use std::collections::VecDeque;

use geo::{BooleanOps, Coord, LineString, MultiPolygon, Polygon, Rect};
use h3o::{CellIndex, LatLng, Resolution};
use rustc_hash::FxHashSet as HashSet;

use crate::error::{Error, Result};
use crate::model::LonLat;

/// Default H3 resolution of `assigned` and `bands` catchments: resolution 8
/// cells average 0.74 km² (edge about 530 m).
pub const DEFAULT_RESOLUTION: u8 = 8;

/// Finest H3 resolution accepted (cells of about 900 m²); finer cells would
/// be smaller than a building and many per resident.
pub const MAX_RESOLUTION: u8 = 12;

/// Most cells `bands` may classify (about 3 s and 200 MB on 2 cores).
pub const MAX_BAND_CELLS: f64 = 500_000.0;

/// Checks that covering a box of `box_km2` at `res` stays within
/// [`MAX_BAND_CELLS`].
pub(crate) fn check_cover_size(box_km2: f64, res: Resolution) -> Result<()> {
    let cells = box_km2 / res.area_km2();
    if cells > MAX_BAND_CELLS {
        return Err(Error::param(
            "resolution",
            format!(
                "resolution {} needs about {cells:.0} cells to cover the study area's \
                 {box_km2:.0} km² box (at most {MAX_BAND_CELLS:.0}): use a coarser resolution",
                u8::from(res)
            ),
        ));
    }
    Ok(())
}

/// Parses a resolution parameter.
pub(crate) fn resolution(res: u8) -> Result<Resolution> {
    if res > MAX_RESOLUTION {
        return Err(Error::param(
            "resolution",
            format!("expected an H3 resolution from 0 to {MAX_RESOLUTION}, found {res}"),
        ));
    }
    Resolution::try_from(res).map_err(|e| Error::param("resolution", e.to_string()))
}

/// The cell holding `p`.
pub(crate) fn cell_of(p: LonLat, res: Resolution) -> Option<CellIndex> {
    LatLng::new(p.lat, p.lon).ok().map(|ll| ll.to_cell(res))
}

/// The centre of `cell`.
pub(crate) fn centre(cell: CellIndex) -> LonLat {
    let ll = LatLng::from(cell);
    LonLat::new(ll.lng(), ll.lat())
}

/// The cell's boundary as a lon/lat polygon.
pub(crate) fn polygon(cell: CellIndex) -> Polygon<f64> {
    let ring: Vec<Coord<f64>> = cell
        .boundary()
        .iter()
        .map(|ll| Coord {
            x: ll.lng(),
            y: ll.lat(),
        })
        .collect();
    Polygon::new(LineString::new(ring), vec![])
}

/// Dissolves cells into (multi)polygons: the union of their hexagons.
pub(crate) fn dissolve(cells: impl IntoIterator<Item = CellIndex>) -> MultiPolygon<f64> {
    let polys: Vec<Polygon<f64>> = cells.into_iter().map(polygon).collect();
    geo::unary_union(&polys)
}

fn bbox_of(cell: CellIndex) -> Rect<f64> {
    let b = cell.boundary();
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for ll in b.iter() {
        lo = [lo[0].min(ll.lng()), lo[1].min(ll.lat())];
        hi = [hi[0].max(ll.lng()), hi[1].max(ll.lat())];
    }
    Rect::new(Coord { x: lo[0], y: lo[1] }, Coord { x: hi[0], y: hi[1] })
}

fn overlaps(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

/// Every cell whose bounding box meets `rect` (a lon/lat box that does not
/// cross the antimeridian): a connected set of hexagons whose union covers
/// `rect`, found by walking neighbours out from the box's centre.
pub(crate) fn covering(rect: Rect<f64>, res: Resolution) -> Vec<CellIndex> {
    let c = rect.center();
    let Some(start) = cell_of(LonLat::new(c.x, c.y), res) else {
        return Vec::new();
    };
    let mut seen: HashSet<CellIndex> = HashSet::default();
    let mut queue = VecDeque::from([start]);
    seen.insert(start);
    let mut out = Vec::new();
    while let Some(cell) = queue.pop_front() {
        if !overlaps(&bbox_of(cell), &rect) {
            continue;
        }
        out.push(cell);
        for n in cell.grid_disk::<Vec<_>>(1) {
            if seen.insert(n) {
                queue.push_back(n);
            }
        }
    }
    out.sort_unstable();
    out
}

/// `geometry` clipped to `area`.
pub(crate) fn clip(geometry: &MultiPolygon<f64>, area: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    geometry.intersection(area)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Contains, Point};

    #[test]
    fn a_covering_contains_every_point_of_the_box() {
        let res = resolution(7).unwrap();
        let rect = Rect::new(Coord { x: 9.5, y: 45.6 }, Coord { x: 9.7, y: 45.75 });
        let cells = covering(rect, res);
        let union = dissolve(cells.iter().copied());
        for i in 0..=20 {
            for j in 0..=20 {
                let p = Point::new(9.5 + 0.01 * i as f64, 45.6 + 0.0075 * j as f64);
                let cell = cell_of(LonLat::new(p.x(), p.y()), res).unwrap();
                assert!(cells.binary_search(&cell).is_ok(), "{p:?} is not covered");
                let inside = union.contains(&p)
                    || union.0.iter().any(|q| geo::Intersects::intersects(q, &p));
                assert!(inside, "{p:?} is outside the dissolved covering");
            }
        }
    }

    #[test]
    fn dissolving_a_disk_leaves_one_polygon_without_holes() {
        let res = resolution(8).unwrap();
        let centre = cell_of(LonLat::new(9.67, 45.69), res).unwrap();
        let disk: Vec<CellIndex> = centre.grid_disk(2);
        assert_eq!(disk.len(), 19);
        let mp = dissolve(disk.iter().copied());
        assert_eq!(mp.0.len(), 1);
        assert!(mp.0[0].interiors().is_empty());
        // The union's area equals the sum of the cells' areas.
        let want_km2: f64 = disk
            .iter()
            .map(|&c| geo::GeodesicArea::geodesic_area_unsigned(&polygon(c)) / 1e6)
            .sum();
        // H3's own (spherical) area agrees to the sphere/ellipsoid difference.
        let h3_km2: f64 = disk.iter().map(|c| c.area_km2()).sum();
        assert!((h3_km2 / want_km2 - 1.0).abs() < 5e-3);
        let got_km2 = geo::GeodesicArea::geodesic_area_unsigned(&mp) / 1e6;
        assert!(
            (got_km2 / want_km2 - 1.0).abs() < 1e-6,
            "{got_km2} vs {want_km2}"
        );
    }

    #[test]
    fn covering_a_province_at_building_scale_is_refused() {
        // Bergamo's box is about 5,500 km²: 7,500 cells at resolution 8,
        // 2.6 M at resolution 11 (0.0021 km² per cell).
        assert!(check_cover_size(5_500.0, resolution(8).unwrap()).is_ok());
        assert!(check_cover_size(5_500.0, resolution(11).unwrap()).is_err());
    }

    #[test]
    fn resolutions_beyond_the_limit_are_rejected() {
        assert!(resolution(13).is_err());
        assert!(resolution(0).is_ok());
    }
}
