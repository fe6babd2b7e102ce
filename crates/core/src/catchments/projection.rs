//! The local plane in which Voronoi bisectors are drawn: an ellipsoidal
//! azimuthal equidistant projection (AEQD) centred on the study area.
//!
//! Distances and azimuths *from the centre* are exact geodesics (Karney), so
//! the projection's only distortion is the scale across the radial direction,
//! `σ/sin σ − 1 ≈ r²/(6R²)` at distance `r` from the centre: 1.0e-5 at
//! 50 km, 4e-5 at 100 km. Planar distances from a point to two facilities
//! `d` apart are off by relative amounts that differ by at most that much,
//! so the planar bisector lies within about `d/2 · r²/(6R²)` of the geodesic
//! one: a few centimetres for neighbours 10 km apart 50 km from the centre.
//! On the Bergamo province (243 municipalities, 597 GPs), 1 of 20,000 random
//! points fell in a cell whose facility was not its geodesic nearest, and
//! then by 5.5 cm (`--out` GeoJSON checked with pyproj); populations do not
//! depend on this at all, they use each resident's exact nearest facility.

use geographiclib_rs::{DirectGeodesic, InverseGeodesic};

use crate::geodesic::WGS84;
use crate::model::LonLat;

/// Azimuthal equidistant projection on WGS84 centred on `centre`; plane
/// coordinates are metres east (`x`) and north (`y`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Aeqd {
    centre: LonLat,
}

impl Aeqd {
    /// The projection centred on `centre`.
    pub(crate) fn new(centre: LonLat) -> Self {
        Aeqd { centre }
    }

    /// Plane coordinates (metres) of `p`.
    pub(crate) fn forward(&self, p: LonLat) -> [f64; 2] {
        if p == self.centre {
            return [0.0, 0.0];
        }
        let (s12, azi1, _azi2, _a12): (f64, f64, f64, f64) =
            WGS84.inverse(self.centre.lat, self.centre.lon, p.lat, p.lon);
        let (sin, cos) = azi1.to_radians().sin_cos();
        [s12 * sin, s12 * cos]
    }

    /// The point at plane coordinates `xy` (metres).
    pub(crate) fn inverse(&self, xy: [f64; 2]) -> LonLat {
        let s12 = xy[0].hypot(xy[1]);
        if s12 == 0.0 {
            return self.centre;
        }
        let azi1 = xy[0].atan2(xy[1]).to_degrees();
        let (lat, lon): (f64, f64) = WGS84.direct(self.centre.lat, self.centre.lon, azi1, s12);
        LonLat::new(lon, lat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geodesic_distance_m;

    #[test]
    fn distances_from_the_centre_are_exact_geodesics() {
        let centre = LonLat::new(9.8, 45.8);
        let aeqd = Aeqd::new(centre);
        for p in [
            LonLat::new(9.2, 45.5),
            LonLat::new(10.4, 46.2),
            LonLat::new(9.81, 45.79),
        ] {
            let [x, y] = aeqd.forward(p);
            assert!((x.hypot(y) - geodesic_distance_m(centre, p)).abs() < 1e-6);
        }
    }

    #[test]
    fn inverse_undoes_forward_to_a_micrometre() {
        let aeqd = Aeqd::new(LonLat::new(9.8, 45.8));
        for p in [
            LonLat::new(9.2, 45.5),
            LonLat::new(10.4, 46.2),
            LonLat::new(9.8, 45.9),
        ] {
            let back = aeqd.inverse(aeqd.forward(p));
            assert!(geodesic_distance_m(p, back) < 1e-6, "{p:?} -> {back:?}");
        }
    }

    #[test]
    fn planar_distances_between_nearby_points_match_geodesics_to_a_few_parts_per_million() {
        let aeqd = Aeqd::new(LonLat::new(9.8, 45.8));
        let (a, b) = (LonLat::new(10.3, 46.1), LonLat::new(10.35, 46.12));
        let (pa, pb) = (aeqd.forward(a), aeqd.forward(b));
        let planar = (pa[0] - pb[0]).hypot(pa[1] - pb[1]);
        let exact = geodesic_distance_m(a, b);
        // 50 km from the centre: r²/(6R²) ≈ 1e-5 at most.
        assert!((planar / exact - 1.0).abs() < 2e-5, "{planar} vs {exact}");
    }
}
