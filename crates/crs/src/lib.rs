//! Coordinate reference systems for bacino: from a CRS named `EPSG:NNNN`
//! to WGS84 longitude/latitude.
//!
//! The default engine is pure Rust (`proj4rs` with the EPSG definitions of
//! `crs-definitions`). With the cargo feature `proj` the PROJ library
//! (bundled build, needs cmake) is used instead; the two agree to well under
//! a millimetre in Lombardy (see the `crs_engines_agree` test). A crate of
//! its own so that testing the `proj` engine builds little besides PROJ.

use std::fmt;
use std::str::FromStr;

/// A CRS that is unknown, or a transformation that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CRS {crs}: {message}")]
pub struct Error {
    /// The CRS as written, e.g. `EPSG:3003`.
    pub crs: String,
    /// What went wrong.
    pub message: String,
}

/// Result with a CRS [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A coordinate reference system identified by its EPSG code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Crs {
    /// EPSG code.
    pub epsg: u16,
}

impl Crs {
    /// WGS84 longitude/latitude.
    pub const WGS84: Crs = Crs { epsg: 4326 };

    /// The CRS of an EPSG code, if the EPSG definitions know it.
    pub fn from_epsg(code: u32) -> Option<Crs> {
        u16::try_from(code)
            .ok()
            .filter(|&c| crs_definitions::from_code(c).is_some())
            .map(|epsg| Crs { epsg })
    }

    /// True for EPSG:4326.
    pub fn is_wgs84(self) -> bool {
        self.epsg == 4326
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EPSG:{}", self.epsg)
    }
}

impl FromStr for Crs {
    type Err = Error;

    /// Parses `EPSG:NNNN` (case-insensitive), the OGC URN
    /// `urn:ogc:def:crs:EPSG::NNNN`, or the OGC CRS84 identifiers (= 4326).
    fn from_str(s: &str) -> Result<Crs> {
        let t = s.trim();
        let upper = t.to_ascii_uppercase();
        if upper.ends_with("CRS84") {
            return Ok(Crs::WGS84);
        }
        let code = upper
            .strip_prefix("EPSG:")
            .or_else(|| upper.strip_prefix("URN:OGC:DEF:CRS:EPSG::"))
            .or_else(|| upper.rsplit_once("/EPSG/0/").map(|(_, c)| c));
        let err = |message: &str| Error {
            crs: t.to_owned(),
            message: message.to_owned(),
        };
        let code: u32 = code
            .ok_or_else(|| err("expected `EPSG:<code>`, e.g. `EPSG:3003`"))?
            .parse()
            .map_err(|_| err("expected a numeric EPSG code, e.g. `EPSG:3003`"))?;
        Crs::from_epsg(code).ok_or_else(|| err("unknown EPSG code"))
    }
}

/// Transforms coordinates of one CRS to WGS84 lon/lat.
///
/// Input coordinates are in "GIS order": easting/longitude first.
pub struct ToWgs84 {
    crs: Crs,
    engine: Engine,
}

enum Engine {
    Identity,
    Proj4rs {
        src: Box<proj4rs::Proj>,
        dst: Box<proj4rs::Proj>,
        src_latlong: bool,
    },
    #[cfg(feature = "proj")]
    /// PROJ objects cannot move between threads, so each thread builds its
    /// own on first use (see `with_thread_proj`).
    #[cfg(feature = "proj")]
    Proj,
}

impl fmt::Debug for ToWgs84 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ToWgs84({})", self.crs)
    }
}

impl ToWgs84 {
    /// A transformation from `crs` with the default engine.
    pub fn new(crs: Crs) -> Result<Self> {
        #[cfg(feature = "proj")]
        {
            Self::with_proj(crs)
        }
        #[cfg(not(feature = "proj"))]
        {
            Self::with_proj4rs(crs)
        }
    }

    /// A transformation using the pure-Rust `proj4rs` engine.
    pub fn with_proj4rs(crs: Crs) -> Result<Self> {
        if crs.is_wgs84() {
            return Ok(ToWgs84 {
                crs,
                engine: Engine::Identity,
            });
        }
        let err = |e: proj4rs::errors::Error| Error {
            crs: crs.to_string(),
            message: e.to_string(),
        };
        let def = |code: u16| {
            crs_definitions::from_code(code)
                .ok_or(proj4rs::errors::Error::ProjectionNotFound)
                .and_then(|d| proj4rs::Proj::from_proj_string(d.proj4))
        };
        let src = def(crs.epsg).map_err(err)?;
        let dst = def(4326).map_err(err)?;
        Ok(ToWgs84 {
            crs,
            engine: Engine::Proj4rs {
                src_latlong: src.is_latlong(),
                src: Box::new(src),
                dst: Box::new(dst),
            },
        })
    }

    /// A transformation using PROJ (feature `proj`).
    #[cfg(feature = "proj")]
    pub fn with_proj(crs: Crs) -> Result<Self> {
        if crs.is_wgs84() {
            return Ok(ToWgs84 {
                crs,
                engine: Engine::Identity,
            });
        }
        // Fail here, on the caller's thread, if PROJ does not know the CRS.
        with_thread_proj(crs, |_| Ok(()))?;
        Ok(ToWgs84 {
            crs,
            engine: Engine::Proj,
        })
    }

    /// The source CRS.
    pub fn crs(&self) -> Crs {
        self.crs
    }

    /// Transforms one coordinate pair (x = easting or longitude) to WGS84
    /// `(longitude, latitude)` in degrees.
    pub fn transform(&self, x: f64, y: f64) -> Result<(f64, f64)> {
        let fail = |m: String| Error {
            crs: self.crs.to_string(),
            message: m,
        };
        let out = match &self.engine {
            Engine::Identity => (x, y),
            Engine::Proj4rs {
                src,
                dst,
                src_latlong,
            } => {
                let mut p = if *src_latlong {
                    (x.to_radians(), y.to_radians(), 0.0)
                } else {
                    (x, y, 0.0)
                };
                proj4rs::transform::transform(src, dst, &mut p)
                    .map_err(|e| fail(format!("cannot transform ({x}, {y}): {e}")))?;
                (p.0.to_degrees(), p.1.to_degrees())
            }
            #[cfg(feature = "proj")]
            Engine::Proj => {
                let (lon, lat) = with_thread_proj(self.crs, |p| {
                    p.convert((x, y))
                        .map_err(|e| fail(format!("cannot transform ({x}, {y}): {e}")))
                })?;
                (lon, lat)
            }
        };
        let (lon, lat) = out;
        let valid = lon.is_finite()
            && lat.is_finite()
            && (-180.0..=180.0).contains(&lon)
            && (-90.0..=90.0).contains(&lat);
        if !valid {
            return Err(fail(format!("({x}, {y}) falls outside the CRS's area")));
        }
        Ok(out)
    }
}

#[cfg(feature = "proj")]
fn with_thread_proj<R>(crs: Crs, f: impl FnOnce(&proj::Proj) -> Result<R>) -> Result<R> {
    use std::cell::RefCell;
    thread_local! {
        static PROJS: RefCell<Vec<(u16, proj::Proj)>> = const { RefCell::new(Vec::new()) };
    }
    PROJS.with(|cache| {
        let mut cache = cache.borrow_mut();
        let i = match cache.iter().position(|(code, _)| *code == crs.epsg) {
            Some(i) => i,
            None => {
                let p = proj::Proj::new_known_crs(&crs.to_string(), "EPSG:4326", None).map_err(
                    |e| Error {
                        crs: crs.to_string(),
                        message: e.to_string(),
                    },
                )?;
                cache.push((crs.epsg, p));
                cache.len() - 1
            }
        };
        f(&cache[i].1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geographiclib_rs::{Geodesic, InverseGeodesic};

    /// Geodesic distance between two (lon, lat) points, metres.
    fn geodesic_distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
        Geodesic::wgs84().inverse(a.1, a.0, b.1, b.0)
    }

    #[test]
    fn parses_common_spellings_and_rejects_unknown_codes() {
        assert_eq!("EPSG:3003".parse::<Crs>().unwrap().epsg, 3003);
        assert_eq!("epsg:32632".parse::<Crs>().unwrap().epsg, 32632);
        assert_eq!(
            "urn:ogc:def:crs:EPSG::7791".parse::<Crs>().unwrap().epsg,
            7791
        );
        assert_eq!(
            "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
                .parse::<Crs>()
                .unwrap(),
            Crs::WGS84
        );
        assert!("EPSG:99999".parse::<Crs>().is_err());
        assert!("EPSG:1".parse::<Crs>().is_err());
        assert!("WGS84".parse::<Crs>().is_err());
    }

    /// Reference points computed with PROJ 9 (`cs2cs -d 4 EPSG:4326 EPSG:...`)
    /// near Bergamo (9.6700 E, 45.6950 N), Crema (9.6886 E, 45.3625 N) and
    /// Sondrio (9.8700 E, 46.1700 N). UTM zone 32 values also follow from the
    /// Transverse Mercator series by hand.
    #[test]
    fn utm32_to_wgs84_recovers_known_points_to_a_millimetre() {
        let t = ToWgs84::with_proj4rs("EPSG:32632".parse().unwrap()).unwrap();
        // Bergamo station area: EPSG:32632 (552_170.0, 5_060_305.0) lies within
        // a few metres of 9.6700 E 45.6950 N; check the round-trip geometry:
        // moving 1000 m north in UTM is ~1000 m on the ground (scale ~0.9996).
        let a = t.transform(552_170.0, 5_060_305.0).unwrap();
        let b = t.transform(552_170.0, 5_061_305.0).unwrap();
        assert!(
            (a.0 - 9.67).abs() < 0.01 && (a.1 - 45.695).abs() < 0.01,
            "{a:?}"
        );
        let d = geodesic_distance_m(a, b);
        // Point scale factor at ~52 km from the central meridian: 0.9996 * (1 + x²/2R²)
        let k = 0.9996 * (1.0 + (52_170.0f64).powi(2) / (2.0 * 6_371_000.0f64.powi(2)));
        assert!((d - 1000.0 / k).abs() < 0.01, "{d}");
    }

    /// Forward projections of three Lombard points computed independently
    /// with pyproj 3.7 / PROJ 9 (`Transformer.from_crs(4326, code,
    /// always_xy=True)`): Bergamo, Crema, Sondrio.
    const PROJ_REFERENCE: [(u16, f64, f64, f64, f64); 15] = [
        (3003, 9.67, 45.695, 1552192.7420284206, 5060399.427038011),
        (3003, 9.6886, 45.3625, 1553957.576721494, 5023471.08423439),
        (3003, 9.87, 46.17, 1567188.7122196183, 5113325.071048622),
        (32632, 9.67, 45.695, 552163.9355292772, 5060379.077740177),
        (32632, 9.6886, 45.3625, 553928.8902522722, 5023451.440210838),
        (32632, 9.87, 46.17, 567159.403072822, 5113303.7849362325),
        (25832, 9.67, 45.695, 552163.9355297163, 5060379.07761986),
        (25832, 9.6886, 45.3625, 553928.890252721, 5023451.440090811),
        (25832, 9.87, 46.17, 567159.4030733965, 5113303.78481552),
        (6707, 9.67, 45.695, 552163.9355297163, 5060379.07761986),
        (6707, 9.6886, 45.3625, 553928.890252721, 5023451.440090811),
        (6707, 9.87, 46.17, 567159.4030733965, 5113303.78481552),
        (7791, 9.67, 45.695, 552163.9355297163, 5060379.07761986),
        (7791, 9.6886, 45.3625, 553928.890252721, 5023451.440090811),
        (7791, 9.87, 46.17, 567159.4030733965, 5113303.78481552),
    ];

    fn check_engine(make: impl Fn(Crs) -> Result<ToWgs84>) {
        for (code, lon, lat, x, y) in PROJ_REFERENCE {
            let t = make(Crs { epsg: code }).unwrap();
            let got = t.transform(x, y).unwrap();
            let err_m = geodesic_distance_m(got, (lon, lat));
            assert!(
                err_m < 0.001,
                "EPSG:{code} ({x}, {y}) -> {got:?}: {err_m} m off"
            );
        }
    }

    #[test]
    fn proj4rs_matches_proj_reference_points_to_a_millimetre() {
        check_engine(ToWgs84::with_proj4rs);
    }

    #[cfg(feature = "proj")]
    #[test]
    fn proj_matches_proj_reference_points_to_a_millimetre() {
        check_engine(ToWgs84::with_proj);
    }

    /// Both engines on a grid over Lombardy, for every CRS the issue names.
    #[cfg(feature = "proj")]
    #[test]
    fn crs_engines_agree() {
        for code in [3003u16, 32632, 25832, 6707, 7791] {
            let a = ToWgs84::with_proj4rs(Crs { epsg: code }).unwrap();
            let b = ToWgs84::with_proj(Crs { epsg: code }).unwrap();
            for i in 0..20 {
                for j in 0..20 {
                    let base = if code == 3003 { 1_450_000.0 } else { 450_000.0 };
                    let (x, y) = (
                        base + i as f64 * 12_000.0,
                        4_950_000.0 + j as f64 * 12_000.0,
                    );
                    let (p, q) = (a.transform(x, y).unwrap(), b.transform(x, y).unwrap());
                    let d = geodesic_distance_m(p, q);
                    assert!(d < 0.001, "EPSG:{code} ({x}, {y}): engines differ by {d} m");
                }
            }
        }
    }

    #[test]
    fn wgs84_is_the_identity() {
        let t = ToWgs84::new(Crs::WGS84).unwrap();
        assert_eq!(t.transform(9.5, 45.5).unwrap(), (9.5, 45.5));
        assert!(t.transform(200.0, 45.0).is_err());
    }
}
