//! Geodesic distances on the WGS84 ellipsoid (Karney's algorithm).
//!
//! This is the algorithm behind `geo::Geodesic` and `geographiclib-rs`,
//! in a distance-only port ([`crate::karney`]) that is several times faster
//! and agrees with `geographiclib-rs` to under a nanometre on short lines.

use std::sync::LazyLock;

use geographiclib_rs::Geodesic;

use crate::karney::{inverse_distance_m, Prepared};
use crate::model::LonLat;

/// The full GeographicLib solver, for what the distance-only port does not
/// do (azimuths and direct problems in the catchments' projection).
pub(crate) static WGS84: LazyLock<Geodesic> = LazyLock::new(Geodesic::wgs84);

/// WGS84 semi-major axis, metres.
pub const WGS84_A_M: f64 = 6_378_137.0;
/// WGS84 flattening.
pub const WGS84_F: f64 = 1.0 / 298.257_223_563;

/// Smallest radius of curvature of the WGS84 ellipsoid, in metres: the
/// meridional radius at the equator, `b² / a = a (1 - e²)`.
///
/// No curve on the ellipsoid turns its surface normal faster than
/// `1 / MIN_CURVATURE_RADIUS_M` radians per metre, so a geodesic whose end
/// normals are `θ` radians apart is at least `θ · MIN_CURVATURE_RADIUS_M`
/// long. [`FacilityIndex`](crate::FacilityIndex) relies on this bound.
pub const MIN_CURVATURE_RADIUS_M: f64 = WGS84_A_M * (1.0 - WGS84_F) * (1.0 - WGS84_F);

/// Largest radius of curvature of the WGS84 ellipsoid, in metres: the
/// radius at the poles, `a² / b`. A geodesic whose end normals are `θ`
/// radians apart is at most `θ · MAX_CURVATURE_RADIUS_M` long (the curve
/// whose normals sweep that arc is no longer, and the geodesic is shortest).
pub const MAX_CURVATURE_RADIUS_M: f64 = WGS84_A_M / (1.0 - WGS84_F);

/// Meridional radius of curvature at geodetic latitude `lat_deg`, metres:
/// the smaller principal radius of curvature there.
pub fn meridional_radius_m(lat_deg: f64) -> f64 {
    let e2 = WGS84_F * (2.0 - WGS84_F);
    let s = lat_deg.to_radians().sin();
    WGS84_A_M * (1.0 - e2) / (1.0 - e2 * s * s).powf(1.5)
}

/// Largest chord between unit normals of a point at latitude `lat_deg` and
/// any point at most `distance_m` from it.
///
/// Tighter than [`chord_upper_bound`] away from the equator: a geodesic of
/// length `s` from the point stays within `s / MIN_CURVATURE_RADIUS_M`
/// radians of its latitude, and every radius of curvature there is at least
/// the meridional radius at the lowest such latitude.
#[inline]
pub fn chord_upper_bound_near(lat_deg: f64, distance_m: f64) -> f64 {
    let band_deg = (distance_m / MIN_CURVATURE_RADIUS_M).to_degrees();
    let low = (lat_deg.abs() - band_deg).max(0.0);
    let radius = meridional_radius_m(low) * (1.0 - 1e-12);
    let angle = ((distance_m + 1e-6) / radius) * (1.0 + 1e-12);
    if angle >= std::f64::consts::PI {
        2.0
    } else {
        2.0 * (angle * 0.5).sin()
    }
}

/// Geodesic distance between two points on WGS84, in metres (Karney 2013,
/// accurate to about 15 nanometres).
///
/// ```
/// use bacino_core::{geodesic_distance_m, LonLat};
/// // Bergamo (Piazza Vecchia) to Milano (Duomo); pyproj's Geod(ellps="WGS84")
/// // gives 45358.383076 m.
/// let d = geodesic_distance_m(LonLat::new(9.6622, 45.7037), LonLat::new(9.1916, 45.4642));
/// assert!((d - 45_358.383_076).abs() < 1e-5);
/// ```
#[inline]
pub fn geodesic_distance_m(a: LonLat, b: LonLat) -> f64 {
    prepared_distance_m(
        a,
        &Prepared::new(a.lon, a.lat),
        b,
        &Prepared::new(b.lon, b.lat),
    )
}

/// [`geodesic_distance_m`] of two points whose Karney terms are prepared
/// (`pa` of `a`, `pb` of `b`), for measuring many pairs.
#[inline]
pub(crate) fn prepared_distance_m(a: LonLat, pa: &Prepared, b: LonLat, pb: &Prepared) -> f64 {
    if a == b {
        return 0.0;
    }
    inverse_distance_m(pa, pb)
}

/// The surface normal of WGS84 at `p` as a unit vector (the geodetic
/// latitude's direction); chords between these vectors bound geodesic
/// distances from below.
#[inline]
pub fn unit_normal(p: LonLat) -> [f64; 3] {
    let (sin_lat, cos_lat) = p.lat.to_radians().sin_cos();
    let (sin_lon, cos_lon) = p.lon.to_radians().sin_cos();
    [cos_lat * cos_lon, cos_lat * sin_lon, sin_lat]
}

/// The point `p` on the WGS84 ellipsoid (height 0) in Earth-centred,
/// Earth-fixed coordinates, metres.
///
/// The straight segment between two such points is the shortest of all
/// curves joining them, the geodesic among them, so their Euclidean
/// distance bounds the geodesic distance from below
/// ([`lower_bound_from_ecef_chord_m`]); and the bound is tight at the scale
/// of a catchment (`s − c ≈ s³ / 24R²`: 0.1 mm at 3 km, 3 cm at 30 km).
#[inline]
pub fn ecef_m(p: LonLat) -> [f64; 3] {
    let e2 = WGS84_F * (2.0 - WGS84_F);
    let (sin_lat, cos_lat) = p.lat.to_radians().sin_cos();
    let (sin_lon, cos_lon) = p.lon.to_radians().sin_cos();
    let n = WGS84_A_M / (1.0 - e2 * sin_lat * sin_lat).sqrt();
    [
        n * cos_lat * cos_lon,
        n * cos_lat * sin_lon,
        n * (1.0 - e2) * sin_lat,
    ]
}

/// Lines up to this long are measured by [`LocalFrame::distance_m`] from
/// their chord; longer ones by Karney's solver.
pub const SHORT_LINE_MAX_M: f64 = 50_000.0;

/// A point with what measuring many short lines from it needs: its
/// [`ecef_m`] position, the local north and east, and the principal radii
/// of curvature.
///
/// A geodesic has no curvature within the surface, so its curvature in
/// space is the normal curvature of the ellipsoid in its direction,
/// `1/R = cos²α/M + sin²α/N` (Euler), and over a short line it is an arc of
/// that radius: `s = 2R asin(c / 2R)` from the chord `c`. What is left out
/// — the change of `R` along the line and its torsion — stays under
/// 20 nm up to 10 km and 10 µm up to [`SHORT_LINE_MAX_M`] (20,000 random
/// lines checked against Karney in the tests). Some 30 times faster than
/// Karney per pair, for analyses that measure every pair in reach.
#[derive(Debug, Clone, Copy)]
pub struct LocalFrame {
    p: LonLat,
    pos: [f64; 3],
    north: [f64; 3],
    east: [f64; 3],
    inv_m: f64,
    inv_n: f64,
}

impl LocalFrame {
    /// The frame at `p`.
    pub fn new(p: LonLat) -> LocalFrame {
        let e2 = WGS84_F * (2.0 - WGS84_F);
        let (sin_lat, cos_lat) = p.lat.to_radians().sin_cos();
        let (sin_lon, cos_lon) = p.lon.to_radians().sin_cos();
        let w2 = 1.0 - e2 * sin_lat * sin_lat;
        let n = WGS84_A_M / w2.sqrt();
        let m = WGS84_A_M * (1.0 - e2) / (w2 * w2.sqrt());
        LocalFrame {
            p,
            pos: ecef_m(p),
            north: [-sin_lat * cos_lon, -sin_lat * sin_lon, cos_lat],
            east: [-sin_lon, cos_lon, 0.0],
            inv_m: 1.0 / m,
            inv_n: 1.0 / n,
        }
    }

    /// Geodesic distance in metres to the point `q` whose [`ecef_m`]
    /// position is `q_ecef`: from the chord for short lines, by Karney
    /// beyond [`SHORT_LINE_MAX_M`].
    #[inline]
    pub fn distance_m(&self, q: LonLat, q_ecef: &[f64; 3]) -> f64 {
        let d = [
            q_ecef[0] - self.pos[0],
            q_ecef[1] - self.pos[1],
            q_ecef[2] - self.pos[2],
        ];
        let c2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
        if c2 == 0.0 {
            return 0.0;
        }
        if c2 > SHORT_LINE_MAX_M * SHORT_LINE_MAX_M {
            return geodesic_distance_m(self.p, q);
        }
        let dn = d[0] * self.north[0] + d[1] * self.north[1] + d[2] * self.north[2];
        let de = d[0] * self.east[0] + d[1] * self.east[1];
        let h2 = dn * dn + de * de;
        // Normal curvature in the line's direction (the chord's horizontal
        // part gives the azimuth).
        let k = if h2 > 0.0 {
            (dn * dn * self.inv_m + de * de * self.inv_n) / h2
        } else {
            self.inv_m
        };
        let c = c2.sqrt();
        let x = 0.5 * c * k;
        2.0 * x.asin() / k
    }
}

/// A bound on the error of [`LocalFrame::distance_m`] for a line of
/// `distance_m` metres, with a margin: 1 µm to 10 km, 20 µm to
/// [`SHORT_LINE_MAX_M`] (measured: 20 nm and 10 µm), 0 beyond (Karney).
/// Membership tests within this of their bound use Karney.
#[inline]
pub fn short_line_error_bound_m(distance_m: f64) -> f64 {
    if distance_m <= 10_000.0 {
        1e-6
    } else if distance_m <= SHORT_LINE_MAX_M * 1.01 {
        2e-5
    } else {
        1e-6
    }
}

/// Euclidean distance between two [`ecef_m`] points, metres.
#[inline]
pub fn ecef_chord_m(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// Lower bound, in metres, on the geodesic distance between two points
/// whose [`ecef_m`] coordinates are `chord_m` apart.
#[inline]
pub fn lower_bound_from_ecef_chord_m(chord_m: f64) -> f64 {
    // Slack covers rounding in the coordinates (~1e-9 m) and in Karney's
    // result (~15 nm).
    chord_m * (1.0 - 1e-12) - 1e-6
}

/// Lower bound, in metres, on the geodesic distance between two points whose
/// unit normals are `chord` apart (straight-line distance on the unit sphere).
#[inline]
pub fn lower_bound_from_chord_m(chord: f64) -> f64 {
    let angle = 2.0 * (chord * 0.5).min(1.0).asin();
    // Slack covers rounding in the normals (~1e-16) and in Karney's result.
    angle * MIN_CURVATURE_RADIUS_M * (1.0 - 1e-12) - 1e-6
}

/// Largest chord between unit normals of two points whose geodesic distance
/// is at most `distance_m`; the inverse of [`lower_bound_from_chord_m`].
#[inline]
pub fn chord_upper_bound(distance_m: f64) -> f64 {
    let angle = ((distance_m + 1e-6) / MIN_CURVATURE_RADIUS_M) * (1.0 + 1e-12);
    if angle >= std::f64::consts::PI {
        2.0
    } else {
        2.0 * (angle * 0.5).sin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_matches_geographiclib_reference_values() {
        // GeodTest-style values computed with GeographicLib's `GeodSolve -i`
        // (WGS84): equator, one degree of longitude = 111319.490793 m.
        let d = geodesic_distance_m(LonLat::new(0.0, 0.0), LonLat::new(1.0, 0.0));
        assert!((d - 111_319.490_793_273_6).abs() < 1e-6, "{d}");
        // Meridian quadrant: 10001965.729 m.
        let d = geodesic_distance_m(LonLat::new(0.0, 0.0), LonLat::new(0.0, 90.0));
        assert!((d - 10_001_965.729_311).abs() < 1e-3, "{d}");
    }

    #[test]
    fn meridional_radius_matches_known_values() {
        // a(1-e²) at the equator, a²/b at the poles.
        assert!((meridional_radius_m(0.0) - MIN_CURVATURE_RADIUS_M).abs() < 1e-6);
        assert!((meridional_radius_m(90.0) - MAX_CURVATURE_RADIUS_M).abs() < 1e-6);
        // 45°: 6367381.8 m (standard tables).
        assert!((meridional_radius_m(45.0) - 6_367_381.816).abs() < 0.01);
    }

    #[test]
    fn the_local_chord_bound_holds_for_random_pairs_at_all_latitudes() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for _ in 0..20_000 {
            let a = LonLat::new(
                rng.random_range(-180.0..180.0),
                rng.random_range(-89.9..89.9),
            );
            let scale = [0.001, 0.01, 0.1, 1.0, 10.0][rng.random_range(0..5)];
            let b = LonLat::new(
                (a.lon + rng.random_range(-scale..scale)).clamp(-180.0, 180.0),
                (a.lat + rng.random_range(-scale..scale)).clamp(-90.0, 90.0),
            );
            let (na, nb) = (unit_normal(a), unit_normal(b));
            let chord =
                ((na[0] - nb[0]).powi(2) + (na[1] - nb[1]).powi(2) + (na[2] - nb[2]).powi(2))
                    .sqrt();
            let d = geodesic_distance_m(a, b);
            assert!(chord <= chord_upper_bound_near(a.lat, d), "{a:?} {b:?} {d}");
        }
    }

    #[test]
    fn distance_of_identical_points_is_zero() {
        let p = LonLat::new(9.67, 45.69);
        assert_eq!(geodesic_distance_m(p, p), 0.0);
    }

    /// Points for pairs across latitudes and directions, short and long.
    const PAIR_POINTS: &[(f64, f64)] = &[
        (0.0, 0.0),
        (0.0, 0.001),
        (0.001, 0.0),
        (9.6, 45.7),
        (9.61, 45.7),
        (9.6, 45.71),
        (0.0, 89.99),
        (120.0, 89.99),
        (179.999, 0.0),
        (-179.999, 0.0),
        (10.0, -60.0),
    ];

    #[test]
    fn chord_bound_never_exceeds_the_geodesic() {
        for &(x1, y1) in PAIR_POINTS {
            for &(x2, y2) in PAIR_POINTS {
                let (a, b) = (LonLat::new(x1, y1), LonLat::new(x2, y2));
                let (na, nb) = (unit_normal(a), unit_normal(b));
                let chord =
                    ((na[0] - nb[0]).powi(2) + (na[1] - nb[1]).powi(2) + (na[2] - nb[2]).powi(2))
                        .sqrt();
                let d = geodesic_distance_m(a, b);
                assert!(lower_bound_from_chord_m(chord) <= d, "{a:?} {b:?}");
                assert!(chord <= chord_upper_bound(d), "{a:?} {b:?}");
                assert!(chord <= chord_upper_bound_near(a.lat, d), "{a:?} {b:?}");
                assert!(chord <= chord_upper_bound_near(b.lat, d), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn ecef_chord_bounds_the_geodesic_from_below_and_tightly_when_short() {
        let mut pts = PAIR_POINTS.to_vec();
        pts.extend([(9.9, 45.9), (10.0, 60.0)]);
        // A grid over Lombardy too.
        for i in 0..8 {
            for j in 0..8 {
                pts.push((8.5 + 0.3 * i as f64, 45.0 + 0.2 * j as f64));
            }
        }
        for &(x1, y1) in &pts {
            for &(x2, y2) in &pts {
                let (a, b) = (LonLat::new(x1, y1), LonLat::new(x2, y2));
                let chord = ecef_chord_m(&ecef_m(a), &ecef_m(b));
                let d = geodesic_distance_m(a, b);
                let lb = lower_bound_from_ecef_chord_m(chord);
                assert!(lb <= d, "{a:?} {b:?}: {lb} > {d}");
                // On a sphere of radius R the arc exceeds the chord by
                // s³ / 24R² to leading order; the ellipsoid's radii at
                // these latitudes are within 0.7 % of 6371 km.
                if d < 50_000.0 {
                    let r = 6_330_000.0f64;
                    let gap = d.powi(3) / (24.0 * r * r);
                    assert!(
                        d - lb <= gap * 1.02 + 1e-5,
                        "{a:?} {b:?}: {} > {gap}",
                        d - lb
                    );
                }
            }
        }
        // The hand figure: 30 km, about 2.8 cm.
        let (a, b) = (LonLat::new(9.6, 45.7), LonLat::new(9.6, 45.7 + 0.27));
        let d = geodesic_distance_m(a, b);
        let gap = d - ecef_chord_m(&ecef_m(a), &ecef_m(b));
        assert!((0.02..0.035).contains(&gap), "{d} m: gap {gap}");
    }

    #[test]
    fn short_lines_from_the_chord_agree_with_karney() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
        let mut worst = [0.0f64; 2];
        for _ in 0..20_000 {
            let lat = rng.random_range(-80.0..80.0);
            let p = LonLat::new(rng.random_range(-180.0..180.0), lat);
            let f = LocalFrame::new(p);
            let far = rng.random_bool(0.5);
            let r_m: f64 = if far {
                rng.random_range(10_000.0..50_000.0)
            } else {
                rng.random_range(0.0..10_000.0)
            };
            let az: f64 = rng.random_range(0.0..std::f64::consts::TAU);
            let dlat = r_m * az.cos() / 111_000.0;
            let dlon = r_m * az.sin() / (111_000.0 * lat.to_radians().cos());
            let q = LonLat::new(p.lon + dlon, lat + dlat);
            let exact = geodesic_distance_m(p, q);
            if exact > SHORT_LINE_MAX_M {
                continue;
            }
            let err = (f.distance_m(q, &ecef_m(q)) - exact).abs();
            let k = usize::from(exact > 10_000.0);
            worst[k] = worst[k].max(err);
        }
        eprintln!(
            "short lines: worst {:e} m up to 10 km, {:e} m to 50 km",
            worst[0], worst[1]
        );
        assert!(worst[0] < 1e-7, "up to 10 km: {} m", worst[0]);
        assert!(worst[1] < 5e-5, "10 to 50 km: {} m", worst[1]);
    }
}
