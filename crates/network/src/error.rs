//! The one error type of `bacino-network`.

use std::path::PathBuf;

/// Everything that can go wrong while building or querying a road network.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {what}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done (`cannot read`, `cannot write cache`).
        what: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// The extract is not a readable OSM PBF file (truncated, corrupt).
    #[error("{}: expected an OpenStreetMap PBF extract: {message}", path.display())]
    Pbf {
        /// The extract.
        path: PathBuf,
        /// What the decoder found.
        message: String,
    },
    /// The extract holds no road the profile may use.
    #[error("{}: no road usable by the `{profile}` profile in this extract", path.display())]
    Empty {
        /// The extract.
        path: PathBuf,
        /// Profile name.
        profile: String,
    },
    /// A profile override is invalid.
    #[error("{0}")]
    Profile(String),
    /// A point is farther than `snap_max_m` from every usable road.
    #[error("point ({lon}, {lat}) is {distance_m:.0} m from the nearest usable road (snap_max_m = {snap_max_m})")]
    Unsnappable {
        /// Longitude.
        lon: f64,
        /// Latitude.
        lat: f64,
        /// Distance to the nearest usable road, or infinity.
        distance_m: f64,
        /// The limit.
        snap_max_m: f64,
    },
    /// Two points are not connected by the network.
    #[error("no route between the two points")]
    NoRoute,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
