//! # bacino-network
//!
//! Road networks for bacino, from OpenStreetMap PBF extracts: `car` and
//! `foot` profiles after OSRM's, geodesic edge lengths, the largest strongly
//! connected component only, snapping onto the nearest point of a usable
//! road, exact fastest paths (integer costs: milliseconds, then
//! centimetres), one search for the nearest of many targets, and a
//! validated on-disk cache of the prepared graph.
//!
//! Pure and synchronous: no threads, no HTTP.
//!
//! ```no_run
//! use bacino_network::{NetworkSpec, Profile, ProfileName, RoadNetwork, DEFAULT_SNAP_MAX_M};
//!
//! let spec = NetworkSpec {
//!     path: "fixtures/monaco/monaco.osm.pbf".into(),
//!     profile: Profile::builtin(ProfileName::Car),
//!     snap_max_m: DEFAULT_SNAP_MAX_M,
//! };
//! let net = RoadNetwork::build(&spec)?;
//! let route = net.route([7.4197, 43.7311], [7.4287, 43.7392])?;
//! println!("{:.0} s, {:.0} m", route.cost.time_s(), route.cost.length_m());
//! # Ok::<(), bacino_network::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod cache;
mod ch;
mod dijkstra;
mod error;
mod graph;
mod network;
mod osm;
mod profile;
mod snap;

pub use cache::{default_cache_dir, CacheKey, FORMAT_VERSION};
pub use ch::{ContractionHierarchy, UpSearch};
pub use dijkstra::{Direction, Search, NO_NODE};
pub use error::{Error, Result};
pub use graph::{segment_length_m, Adjacency, Cost, Graph, Segment};
pub use network::{
    CacheOutcome, NetworkInfo, NetworkSpec, RoadNetwork, Route, Target, TargetSearch,
    DEFAULT_SNAP_MAX_M,
};
pub use osm::{parse_pbf, read_extract, read_pbf, sha256_hex, ExtractId, RawOsm, RawWay, TagList};
pub use profile::{known_highway_classes, parse_maxspeed, Profile, ProfileName, Tags, WayRule};
pub use snap::{exits, metres_per_degree, Snap, SnapIndex};
