//! [`RoadNetwork`]: the prepared graph of one profile over one extract,
//! with its snapping index — built once, queried by value.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::cache::{self, CacheKey};
use crate::ch::ContractionHierarchy;
use crate::dijkstra::{Direction, Search, NO_NODE};
use crate::error::{Error, Result};
use crate::graph::{Cost, Graph};
use crate::osm::{read_extract, read_pbf, ExtractId, RawOsm};
use crate::profile::{Profile, ProfileName};
use crate::snap::{along, entries, exits, Snap, SnapIndex};

/// Default limit of a snap (CONTRACT §5).
pub const DEFAULT_SNAP_MAX_M: f64 = 1000.0;

/// Which extract and profile a figure was computed on (CONTRACT §5
/// `network: {path, sha256, timestamp, profile}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInfo {
    /// Extract path as configured.
    pub path: String,
    /// SHA-256 of the extract.
    pub sha256: String,
    /// Extract timestamp (RFC 3339), when known.
    pub timestamp: Option<String>,
    /// `car` or `foot`.
    pub profile: ProfileName,
}

/// How a network was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Read from a valid cache file.
    Hit(PathBuf),
    /// Built from the extract and written to the cache.
    Built(PathBuf),
    /// A cache file existed but could not be used (the reason); rebuilt.
    Rebuilt(PathBuf, String),
    /// Built without a cache directory.
    Uncached,
}

/// What to build a network from.
#[derive(Debug, Clone)]
pub struct NetworkSpec {
    /// The OSM PBF extract.
    pub path: PathBuf,
    /// The profile (built-in, possibly with overrides).
    pub profile: Profile,
    /// Points farther than this from every usable road are unreachable.
    pub snap_max_m: f64,
}

/// A fastest route.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Total cost, access legs included.
    pub cost: Cost,
    /// The line from the origin through the network to the destination.
    pub coords: Vec<[f64; 2]>,
    /// Distance of each end from the road it snapped to, metres.
    pub snap_m: [f64; 2],
}

/// The prepared graph of one profile.
#[derive(Debug, Clone)]
pub struct RoadNetwork {
    info: NetworkInfo,
    profile: Profile,
    snap_max_m: f64,
    graph: Graph,
    index: SnapIndex,
    hierarchy: OnceLock<ContractionHierarchy>,
}

/// A target of a nearest search: a snapped point and its label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// Label returned for origins that reach this target first.
    pub label: u32,
    /// Where the target sits on the network.
    pub snap: Snap,
}

impl RoadNetwork {
    /// Builds the network of `spec.profile` from `raw` (already read).
    pub fn from_raw(id: &ExtractId, raw: &RawOsm, spec: &NetworkSpec) -> Result<RoadNetwork> {
        let graph = Graph::build(raw, &spec.profile);
        if graph.segments.is_empty() {
            return Err(Error::Empty {
                path: spec.path.clone(),
                profile: spec.profile.name.to_string(),
            });
        }
        Ok(Self::assemble(id, raw.timestamp.clone(), spec, graph))
    }

    fn assemble(
        id: &ExtractId,
        timestamp: Option<String>,
        spec: &NetworkSpec,
        graph: Graph,
    ) -> RoadNetwork {
        let index = SnapIndex::new(&graph);
        RoadNetwork {
            info: NetworkInfo {
                path: spec.path.display().to_string(),
                sha256: id.sha256.clone(),
                timestamp,
                profile: spec.profile.name,
            },
            profile: spec.profile.clone(),
            snap_max_m: spec.snap_max_m,
            graph,
            index,
            hierarchy: OnceLock::new(),
        }
    }

    /// Builds from the extract, without a cache.
    pub fn build(spec: &NetworkSpec) -> Result<RoadNetwork> {
        let (id, raw) = read_pbf(&spec.path)?;
        Self::from_raw(&id, &raw, spec)
    }

    /// Opens the networks of several profiles over one extract, reading
    /// each from `cache_dir` when a valid cache file is there and building
    /// (and caching) the others from one read of the extract. A cache file
    /// that is corrupt, stale or of another version is rebuilt, never used.
    pub fn open_all(
        specs: &[NetworkSpec],
        cache_dir: Option<&Path>,
    ) -> Result<Vec<(RoadNetwork, CacheOutcome)>> {
        let Some(first) = specs.first() else {
            return Ok(Vec::new());
        };
        let path = &first.path;
        let (id, bytes) = read_extract(path)?;
        let mut raw: Option<RawOsm> = None;
        let mut out = Vec::with_capacity(specs.len());
        for spec in specs {
            let mut key = CacheKey {
                extract_sha256: id.sha256.clone(),
                profile: spec.profile.fingerprint(),
                timestamp: None,
            };
            let file = cache_dir.map(|d| d.join(key.file_name(spec.profile.name.as_str())));
            let mut why = None;
            if let Some(file) = &file {
                match std::fs::read(file) {
                    Ok(b) => match cache::decode(&b, &key) {
                        Ok(graph) => {
                            let ts = cached_timestamp(&b);
                            out.push((
                                Self::assemble(&id, ts, spec, graph),
                                CacheOutcome::Hit(file.clone()),
                            ));
                            continue;
                        }
                        Err(reason) => why = Some(reason),
                    },
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => why = Some(e.to_string()),
                }
            }
            if raw.is_none() {
                raw = Some(crate::osm::parse_pbf(&bytes).map_err(|message| Error::Pbf {
                    path: path.clone(),
                    message,
                })?);
            }
            let raw = raw.as_ref().expect("parsed above");
            let net = Self::from_raw(&id, raw, spec)?;
            let outcome = match (cache_dir, file) {
                (Some(dir), Some(file)) => {
                    key.timestamp = raw.timestamp.clone();
                    let name = file
                        .file_name()
                        .expect("file name")
                        .to_string_lossy()
                        .into_owned();
                    // A cache that cannot be written costs speed, not
                    // correctness: the network is still returned.
                    let stored = cache::store(dir, &name, &cache::encode(&key, &net.graph));
                    match (stored, why) {
                        (Ok(p), None) => CacheOutcome::Built(p),
                        (Ok(p), Some(w)) => CacheOutcome::Rebuilt(p, w),
                        (Err(_), _) => CacheOutcome::Uncached,
                    }
                }
                _ => CacheOutcome::Uncached,
            };
            out.push((net, outcome));
        }
        Ok(out)
    }

    /// Extract and profile.
    pub fn info(&self) -> &NetworkInfo {
        &self.info
    }

    /// The profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Snap limit, metres.
    pub fn snap_max_m(&self) -> f64 {
        self.snap_max_m
    }

    /// The graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Snaps a lon/lat point; `None` beyond `snap_max_m`.
    pub fn snap(&self, p: [f64; 2]) -> Option<Snap> {
        self.index.nearest(&self.graph, p, self.snap_max_m)
    }

    /// Snaps a lon/lat point within `max_m` metres (at most `snap_max_m`).
    pub fn snap_within(&self, p: [f64; 2], max_m: f64) -> Option<Snap> {
        self.index
            .nearest(&self.graph, p, max_m.min(self.snap_max_m))
    }

    /// The cost of the leg between a point and its snapped position.
    pub fn leg(&self, snap: &Snap) -> Cost {
        Cost::at_speed(snap.distance_m, self.profile.access_speed_kmh)
    }

    /// For every origin, the cheapest target and the cost to it (legs at
    /// both ends included), by one backward search from all targets.
    /// `None` for an origin that is not snapped or reaches no target.
    pub fn nearest(
        &self,
        targets: &[Target],
        origins: &[Option<Snap>],
    ) -> Vec<Option<(Cost, u32)>> {
        let search = self.search_to(targets, Cost::INFINITE);
        origins.iter().map(|o| search.cost(o.as_ref()?)).collect()
    }

    /// One backward search from `targets`, settling every node whose cost
    /// to its nearest target is at most `limit`; [`TargetSearch::cost`]
    /// then answers for any snapped point, exactly up to `limit`.
    pub fn search_to(&self, targets: &[Target], limit: Cost) -> TargetSearch<'_> {
        let mut search = Search::new(self.graph.node_count());
        let sources = targets.iter().flat_map(|t| {
            let leg = self.leg(&t.snap);
            entries(&self.graph, &t.snap)
                .into_iter()
                .flatten()
                .map(move |(node, c)| (node, c.plus(leg), t.label))
        });
        search.run(&self.graph, Direction::Backward, sources, limit);
        let mut on_segment: FxHashMap<u32, Vec<Target>> = FxHashMap::default();
        for t in targets {
            on_segment.entry(t.snap.segment).or_default().push(*t);
        }
        TargetSearch {
            net: self,
            search,
            on_segment,
            limit,
        }
    }

    /// The cost from each origin to one target (legs included), by one
    /// backward search that stops as soon as every origin's exit nodes are
    /// settled: for the patients of one GP, who live around it, a small
    /// part of the graph.
    pub fn costs_to_one(&self, target: &Target, origins: &[Option<Snap>]) -> Vec<Option<Cost>> {
        let mut marks = vec![false; self.graph.node_count()];
        let mut left = 0usize;
        for o in origins.iter().flatten() {
            for (v, _) in exits(&self.graph, o).into_iter().flatten() {
                if !marks[v as usize] {
                    marks[v as usize] = true;
                    left += 1;
                }
            }
        }
        let mut search = Search::new(self.graph.node_count());
        let leg = self.leg(&target.snap);
        let sources = entries(&self.graph, &target.snap)
            .into_iter()
            .flatten()
            .map(|(v, c)| (v, c.plus(leg), target.label));
        let settle = (left > 0).then_some((marks.as_mut_slice(), left));
        search.run_until(
            &self.graph,
            Direction::Backward,
            sources,
            Cost::INFINITE,
            settle,
        );
        let mut on_segment: FxHashMap<u32, Vec<Target>> = FxHashMap::default();
        on_segment.insert(target.snap.segment, vec![*target]);
        let ts = TargetSearch {
            net: self,
            search,
            on_segment,
            limit: Cost::INFINITE,
        };
        origins
            .iter()
            .map(|o| ts.cost(o.as_ref()?).map(|(c, _)| c))
            .collect()
    }

    /// The contraction hierarchy of the graph, built on first use.
    pub fn hierarchy(&self) -> &ContractionHierarchy {
        self.hierarchy
            .get_or_init(|| ContractionHierarchy::build(&self.graph))
    }

    /// The cost from every origin to every target (legs included;
    /// [`Cost::INFINITE`] where none), by the contraction hierarchy's
    /// bucket many-to-many. Equal, pair by pair, to [`RoadNetwork::costs_from`].
    pub fn matrix(&self, origins: &[Snap], targets: &[Target]) -> Vec<Vec<Cost>> {
        let sources: Vec<Vec<(u32, Cost)>> = origins
            .iter()
            .map(|o| exits(&self.graph, o).into_iter().flatten().collect())
            .collect();
        let ends: Vec<Vec<(u32, Cost)>> = targets
            .iter()
            .map(|t| {
                let leg = self.leg(&t.snap);
                entries(&self.graph, &t.snap)
                    .into_iter()
                    .flatten()
                    .map(|(v, c)| (v, c.plus(leg)))
                    .collect()
            })
            .collect();
        let mut table = self.hierarchy().many_to_many(&sources, &ends);
        for (o, row) in origins.iter().zip(&mut table) {
            let leg = self.leg(o);
            for (t, c) in targets.iter().zip(row.iter_mut()) {
                if let Some(a) = along(&self.graph, o, &t.snap) {
                    *c = (*c).min(a.plus(self.leg(&t.snap)));
                }
                *c = c.plus(leg);
            }
        }
        table
    }

    /// The cost from `from` to every target by a plain forward Dijkstra
    /// from `from` (the reference the fast paths are tested against).
    pub fn costs_from(&self, search: &mut Search, from: &Snap, targets: &[Target]) -> Vec<Cost> {
        let sources = exits(&self.graph, from)
            .into_iter()
            .flatten()
            .map(|(n, c)| (n, c, 0));
        search.run(&self.graph, Direction::Forward, sources, Cost::INFINITE);
        let leg = self.leg(from);
        targets
            .iter()
            .map(|t| {
                let mut best = along(&self.graph, from, &t.snap).unwrap_or(Cost::INFINITE);
                for (node, c) in entries(&self.graph, &t.snap).into_iter().flatten() {
                    best = best.min(search.cost[node as usize].plus(c));
                }
                best.plus(leg).plus(self.leg(&t.snap))
            })
            .collect()
    }

    /// The fastest route between two lon/lat points.
    pub fn route(&self, from: [f64; 2], to: [f64; 2]) -> Result<Route> {
        let unsnappable = |p: [f64; 2]| {
            let d = self
                .index
                .nearest(&self.graph, p, f64::INFINITY)
                .map_or(f64::INFINITY, |s| s.distance_m);
            Error::Unsnappable {
                lon: p[0],
                lat: p[1],
                distance_m: d,
                snap_max_m: self.snap_max_m,
            }
        };
        let a = self.snap(from).ok_or_else(|| unsnappable(from))?;
        let b = self.snap(to).ok_or_else(|| unsnappable(to))?;
        let mut search = Search::new(self.graph.node_count());
        let sources = exits(&self.graph, &a)
            .into_iter()
            .flatten()
            .map(|(n, c)| (n, c, 0));
        search.run(&self.graph, Direction::Forward, sources, Cost::INFINITE);
        let mut best: Option<(Cost, Option<u32>)> = along(&self.graph, &a, &b).map(|c| (c, None));
        for (node, c) in entries(&self.graph, &b).into_iter().flatten() {
            let total = search.cost[node as usize].plus(c);
            if total.is_finite() && best.is_none_or(|(bc, _)| total < bc) {
                best = Some((total, Some(node)));
            }
        }
        let (cost, last) = best.ok_or(Error::NoRoute)?;
        let mut nodes = Vec::new();
        let mut v = last.unwrap_or(NO_NODE);
        while v != NO_NODE {
            nodes.push(v);
            v = search.parent[v as usize];
        }
        nodes.reverse();
        let mut coords = vec![from, a.at];
        coords.extend(nodes.iter().map(|&n| self.graph.coords[n as usize]));
        coords.push(b.at);
        coords.push(to);
        coords.dedup();
        Ok(Route {
            cost: cost.plus(self.leg(&a)).plus(self.leg(&b)),
            coords,
            snap_m: [a.distance_m, b.distance_m],
        })
    }
}

/// A finished backward search towards a set of targets.
#[derive(Debug)]
pub struct TargetSearch<'a> {
    net: &'a RoadNetwork,
    search: Search,
    on_segment: FxHashMap<u32, Vec<Target>>,
    limit: Cost,
}

impl TargetSearch<'_> {
    /// The cheapest target from `origin` and the cost (legs included), or
    /// `None` when no target is reached. Exact whenever the cost without the
    /// origin's leg is within the search's limit; beyond it, an upper bound
    /// or `None`.
    pub fn cost(&self, origin: &Snap) -> Option<(Cost, u32)> {
        let net = self.net;
        let mut best: Option<(Cost, u32)> = None;
        let mut consider = |c: Cost, l: u32| {
            if c.is_finite() && best.is_none_or(|b| (c, l) < b) {
                best = Some((c, l));
            }
        };
        for (node, c) in exits(&net.graph, origin).into_iter().flatten() {
            let l = self.search.label[node as usize];
            if l != NO_NODE {
                consider(c.plus(self.search.cost[node as usize]), l);
            }
        }
        if let Some(ts) = self.on_segment.get(&origin.segment) {
            for t in ts {
                if let Some(c) = along(&net.graph, origin, &t.snap) {
                    consider(c.plus(net.leg(&t.snap)), t.label);
                }
            }
        }
        best.map(|(c, l)| (c.plus(net.leg(origin)), l))
    }

    /// Nodes the search reached (settled within the limit, or offered a
    /// cost beyond it).
    pub fn touched(&self) -> &[u32] {
        self.search.touched()
    }

    /// The node's cost to its nearest target, when settled within the limit.
    pub fn node_cost(&self, node: u32) -> Option<Cost> {
        let c = self.search.cost[node as usize];
        (c <= self.limit).then_some(c)
    }
}

/// The timestamp stored in a cache file's header (already validated).
fn cached_timestamp(bytes: &[u8]) -> Option<String> {
    let hlen = u32::from_le_bytes(bytes.get(12..16)?.try_into().ok()?) as usize;
    let key: CacheKey = serde_json::from_slice(bytes.get(16..16 + hlen)?).ok()?;
    key.timestamp
}
