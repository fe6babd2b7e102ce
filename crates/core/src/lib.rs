//! # bacino-core
//!
//! The pure, synchronous engine of bacino: datasets of facilities and
//! residents, exact geodesic distances (WGS84, Karney), an R-tree index that
//! returns the *exact* geodesic nearest facility, and weighted statistics.
//!
//! ```no_run
//! use bacino_core::{
//!     distance_report, Dataset, DistanceQuery, FacilityKind, GroupBy, MetricName, Sequential, Target,
//! };
//!
//! let dataset = Dataset::load("fixtures/bergamo")?;
//! let query = DistanceQuery {
//!     target: Target::Nearest(FacilityKind::Gp),
//!     group_by: GroupBy::Municipality,
//!     min_group_size: 10.0,
//!     metric: MetricName::Geodesic,
//!     cdf_steps: 0,
//! };
//! let report = distance_report(&dataset, &query, &Sequential)?;
//! println!("{}", serde_json::to_string_pretty(&report).unwrap());
//! # Ok::<(), bacino_core::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod ad;
mod aft;
mod agendas;
mod areas;
mod catchments;
mod compare;
mod costs;
mod crs;
mod dataset;
mod disclosure;
mod distances;
mod error;
mod exec;
mod geodesic;
mod in_order;
mod index;
mod isochrones;
mod karney;
mod load;
mod manifest;
mod metric;
mod model;
mod plan;
mod reach;
mod reassign;
mod resident_columns;
mod resident_ids;
mod shard;
mod stats;
mod transport;
mod trig;
mod version;
mod voronoi;

pub use ad::{ad_report, AdDistances, AdMunicipality, AdQuery, AdReport, Period, PeriodSlots};
pub use aft::{aft_report, AftReport, AftRow};
pub use agendas::{civil_from_days, days_from_civil, iso_week, parse_date, Agendas, Day, Slots};
pub use areas::Areas;
/// The road-network crate, re-exported for callers of network metrics.
pub use bacino_network as network;
pub use catchments::{
    catchments, default_resolution, Band, CatchmentFeature, CatchmentMethod, CatchmentOptions,
    CatchmentProperties, Catchments, Overrides, DEFAULT_BANDS_M, DEFAULT_RESOLUTION, HULL_BUFFER_M,
    MAX_BAND_CELLS, MAX_RESOLUTION,
};
pub use compare::{compare, Comparison, PlanRow, NEARLY_FULL};
pub use costs::{CostTable, CostUnit, CostsInfo};
pub use crs::{Crs, ToWgs84};
pub use dataset::Dataset;
pub use disclosure::complementary_cell;
pub use distances::{
    distance_report, resident_distances, resident_distances_of, resolve_groups, DistanceQuery,
    DistanceReport, GroupBy, GroupLabel, GroupStats, ResidentDistances, Target, TimeSummary,
    DEFAULT_MIN_GROUP_SIZE,
};
pub use error::{Error, Location, Result};
pub use exec::{chunk_ranges, Executor, Interrupt, Interrupted, Interruptible, Sequential};
pub use geodesic::{
    chord_upper_bound, chord_upper_bound_near, ecef_chord_m, ecef_m, geodesic_distance_m,
    lower_bound_from_chord_m, lower_bound_from_ecef_chord_m, meridional_radius_m,
    short_line_error_bound_m, unit_normal, LocalFrame, MAX_CURVATURE_RADIUS_M,
    MIN_CURVATURE_RADIUS_M, SHORT_LINE_MAX_M, WGS84_A_M, WGS84_F,
};
pub use in_order::{in_order, Then};
pub use index::{FacilityIndex, Nearest};
pub use isochrones::{
    isochrones, IsochroneFeature, IsochroneOptions, Isochrones, DEFAULT_MINUTES,
    MAX_ISOCHRONE_CELLS, MAX_MINUTES,
};
pub use load::{PreparedMode, PreparedOutcome, PREPARED_FORMAT};
pub use manifest::{
    is_valid_name, AgendasSource, AreasSource, CostsSource, Input, Manifest, NetworkSource,
    ProfileOverrides, ResolvedManifest, Source,
};
pub use metric::{Metric, MetricName, PreparedNetwork};
pub use model::{
    Categorical, Facilities, Facility, FacilityId, FacilityIdx, FacilityKind, FacilityStatus,
    LonLat, Residents, NONE,
};
pub use plan::{OpenFacility, EVERY_GP};
pub use reach::{Bands, CellsListing, NearLists, ReachIndex};
pub use reassign::{
    place, reassign, reassign_cached, scenario, scenario_report, CessationCache, Figures, GpChange,
    MunicipalityChange, Optimality, Reassignment, ReassignmentRow, ScenarioQuery, ScenarioReport,
    TimeFigures, DEFAULT_MAX_DISTANCE_M,
};
pub use resident_columns::ResidentColumns;
pub use shard::{distance_part, merge_distance_parts, shard_rows, DistancePart, Shard};
pub use stats::{round_mm, Summary};
pub use transport::{transport, Transported};
pub use voronoi::{ring_area, voronoi_cells};
