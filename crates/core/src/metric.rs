//! Metrics as values (CONTRACT §5): every analysis takes a [`Metric`] and
//! does not care whether it is the geodesic or a road network.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use bacino_network::{CacheOutcome, NetworkInfo, ProfileName, RoadNetwork, Snap};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::exec::{chunk_ranges, Executor};
use crate::model::LonLat;

/// The metric a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricName {
    /// WGS84 geodesic metres (the default).
    #[default]
    Geodesic,
    /// Fastest route by car over the dataset's `[network]`.
    Car,
    /// Fastest route on foot over the dataset's `[network]`.
    Foot,
    /// Costs from the dataset's `[costs]` table.
    Table,
}

impl MetricName {
    /// Every metric.
    pub const ALL: [MetricName; 4] = [
        MetricName::Geodesic,
        MetricName::Car,
        MetricName::Foot,
        MetricName::Table,
    ];

    /// The contract spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricName::Geodesic => "geodesic",
            MetricName::Car => "car",
            MetricName::Foot => "foot",
            MetricName::Table => "table",
        }
    }

    /// The network profile, for network metrics.
    pub fn profile(self) -> Option<ProfileName> {
        match self {
            MetricName::Geodesic | MetricName::Table => None,
            MetricName::Car => Some(ProfileName::Car),
            MetricName::Foot => Some(ProfileName::Foot),
        }
    }
}

impl fmt::Display for MetricName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MetricName {
    type Err = Error;

    fn from_str(s: &str) -> Result<MetricName> {
        MetricName::ALL
            .into_iter()
            .find(|m| m.as_str() == s.trim())
            .ok_or_else(|| {
                Error::param(
                    "metric",
                    format!("expected `geodesic`, `car`, `foot` or `table`, found `{s}`"),
                )
            })
    }
}

/// A road network prepared for one dataset: the graph of one profile and
/// every resident and facility snapped onto it. The graph and the
/// residents' snaps are shared with the datasets derived by a plan
/// ([`PreparedNetwork::with_facilities`]).
#[derive(Debug)]
pub struct PreparedNetwork {
    network: Arc<RoadNetwork>,
    cache: CacheOutcome,
    residents: Arc<ResidentSnaps>,
    facilities: Vec<Option<Snap>>,
}

/// Every resident's snap, and residents by the nodes they leave their
/// snapped segment through (compressed rows over the graph's nodes).
#[derive(Debug)]
struct ResidentSnaps {
    snaps: Vec<Option<Snap>>,
    by_node_first: Vec<u32>,
    by_node: Vec<u32>,
}

/// Residents snapped per unit of parallel work.
const SNAP_CHUNK: usize = 16_384;

impl PreparedNetwork {
    /// Snaps `residents` and `facilities` onto `network`.
    pub fn new<E: Executor>(
        network: RoadNetwork,
        cache: CacheOutcome,
        residents: &[LonLat],
        facilities: &[LonLat],
        exec: &E,
    ) -> PreparedNetwork {
        let snap_all = |points: &[LonLat]| -> Vec<Option<Snap>> {
            exec.map(chunk_ranges(points.len(), SNAP_CHUNK), |r| {
                points[r]
                    .iter()
                    .map(|p| network.snap([p.lon, p.lat]))
                    .collect::<Vec<_>>()
            })
            .concat()
        };
        let residents = snap_all(residents);
        let facilities = snap_all(facilities);
        let graph = network.graph();
        let n = graph.node_count();
        let exit_nodes = |s: &Snap| {
            let mut e = bacino_network::exits(graph, s).map(|x| x.map(|(v, _)| v));
            if e[0] == e[1] {
                e[1] = None;
            }
            e
        };
        let mut by_node_first = vec![0u32; n + 1];
        for s in residents.iter().flatten() {
            for v in exit_nodes(s).into_iter().flatten() {
                by_node_first[v as usize + 1] += 1;
            }
        }
        for i in 0..n {
            by_node_first[i + 1] += by_node_first[i];
        }
        let mut next = by_node_first.clone();
        let mut by_node = vec![0u32; by_node_first[n] as usize];
        for (r, s) in residents.iter().enumerate() {
            if let Some(s) = s {
                for v in exit_nodes(s).into_iter().flatten() {
                    by_node[next[v as usize] as usize] = r as u32;
                    next[v as usize] += 1;
                }
            }
        }
        PreparedNetwork {
            network: Arc::new(network),
            cache,
            residents: Arc::new(ResidentSnaps {
                snaps: residents,
                by_node_first,
                by_node,
            }),
            facilities,
        }
    }

    /// The same network and residents with another set of facilities
    /// (a plan's): only the facilities are snapped.
    pub fn with_facilities(&self, facilities: &[LonLat]) -> PreparedNetwork {
        PreparedNetwork {
            network: Arc::clone(&self.network),
            cache: self.cache.clone(),
            residents: Arc::clone(&self.residents),
            facilities: facilities
                .iter()
                .map(|p| self.network.snap([p.lon, p.lat]))
                .collect(),
        }
    }

    /// The residents (rows) that leave their snapped segment through `node`.
    pub fn residents_at_node(&self, node: u32) -> &[u32] {
        let rs = &self.residents;
        let r =
            rs.by_node_first[node as usize] as usize..rs.by_node_first[node as usize + 1] as usize;
        &rs.by_node[r]
    }

    /// The network.
    pub fn network(&self) -> &RoadNetwork {
        &self.network
    }

    /// How the graph was obtained (cache hit, built, rebuilt).
    pub fn cache_outcome(&self) -> &CacheOutcome {
        &self.cache
    }

    /// Where each resident lands on the network (`None`: beyond `snap_max_m`).
    pub fn resident_snaps(&self) -> &[Option<Snap>] {
        &self.residents.snaps
    }

    /// Where each facility lands on the network.
    pub fn facility_snaps(&self) -> &[Option<Snap>] {
        &self.facilities
    }

    /// The facilities `members` as search targets, each labelled by its
    /// position in `members`; those off the network are left out.
    pub fn targets(&self, members: &[crate::FacilityIdx]) -> Vec<bacino_network::Target> {
        members
            .iter()
            .enumerate()
            .filter_map(|(k, &f)| {
                Some(bacino_network::Target {
                    label: k as u32,
                    snap: self.facilities[f as usize]?,
                })
            })
            .collect()
    }
}

/// A metric, as a value passed to the analyses.
#[derive(Debug, Clone, Copy)]
pub enum Metric<'a> {
    /// WGS84 geodesic distance in metres.
    Geodesic,
    /// Fastest routes over a prepared road network: seconds, and the
    /// length of the same routes in metres.
    Network(&'a PreparedNetwork),
    /// Given costs per (resident, facility) pair.
    Table(&'a crate::costs::CostTable),
}

impl Metric<'_> {
    /// `geodesic`, `car` or `foot`.
    pub fn name(&self) -> MetricName {
        match self {
            Metric::Geodesic => MetricName::Geodesic,
            Metric::Table(_) => MetricName::Table,
            Metric::Network(n) => match n.network.info().profile {
                ProfileName::Car => MetricName::Car,
                ProfileName::Foot => MetricName::Foot,
            },
        }
    }

    /// The extract and profile, under a network metric.
    pub fn network_info(&self) -> Option<&NetworkInfo> {
        match self {
            Metric::Geodesic | Metric::Table(_) => None,
            Metric::Network(n) => Some(n.network.info()),
        }
    }
}
