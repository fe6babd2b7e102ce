//! Coordinate reference systems (the `bacino-crs` crate) with bacino's
//! error type and [`LonLat`] points.

use crate::error::{Error, Result};
use crate::model::LonLat;

pub use bacino_crs::Crs;

impl From<bacino_crs::Error> for Error {
    fn from(e: bacino_crs::Error) -> Error {
        Error::Crs {
            crs: e.crs,
            message: e.message,
        }
    }
}

/// Transforms coordinates of one CRS to WGS84 lon/lat (see
/// [`bacino_crs::ToWgs84`]; PROJ with the cargo feature `proj`).
///
/// Input coordinates are in "GIS order": easting/longitude first.
#[derive(Debug)]
pub struct ToWgs84(bacino_crs::ToWgs84);

impl ToWgs84 {
    /// A transformation from `crs` with the default engine.
    pub fn new(crs: Crs) -> Result<Self> {
        Ok(ToWgs84(bacino_crs::ToWgs84::new(crs)?))
    }

    /// The source CRS.
    pub fn crs(&self) -> Crs {
        self.0.crs()
    }

    /// Transforms one coordinate pair (x = easting or longitude).
    #[inline]
    pub fn transform(&self, x: f64, y: f64) -> Result<LonLat> {
        let (lon, lat) = self.0.transform(x, y)?;
        Ok(LonLat::new(lon, lat))
    }
}
