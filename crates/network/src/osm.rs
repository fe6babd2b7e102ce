//! Reading the parts of an OpenStreetMap PBF extract that routing needs:
//! ways that may carry traffic, the coordinates of their nodes and the tags
//! of nodes that are barriers or signals.

use std::io::Cursor;
use std::path::Path;

use osmpbf::{BlobDecode, BlobReader, Element};
use rustc_hash::{FxHashMap, FxHashSet};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Way tags routing reads; the others are dropped on reading.
const WAY_KEYS: [&str; 51] = [
    "highway",
    "route",
    "oneway",
    "oneway:motorcar",
    "oneway:motor_vehicle",
    "oneway:vehicle",
    "oneway:foot",
    "access",
    "motorcar",
    "motor_vehicle",
    "vehicle",
    "foot",
    "maxspeed",
    "maxspeed:forward",
    "maxspeed:backward",
    "junction",
    "area",
    "service",
    "impassable",
    "status",
    "duration",
    "motorroad",
    "bridge",
    "tunnel",
    "maxspeed:advisory",
    "maxspeed:advisory:forward",
    "maxspeed:advisory:backward",
    "source:maxspeed",
    "maxspeed:type",
    "motorcar:forward",
    "motorcar:backward",
    "motor_vehicle:forward",
    "motor_vehicle:backward",
    "vehicle:forward",
    "vehicle:backward",
    "access:forward",
    "access:backward",
    "foot:forward",
    "foot:backward",
    "surface",
    "tracktype",
    "smoothness",
    "sidewalk",
    "sidewalk:both",
    "sidewalk:left",
    "sidewalk:right",
    "construction",
    "railway",
    "amenity",
    "man_made",
    "oneway:bicycle",
];

/// Node tags routing reads.
const NODE_KEYS: [&str; 11] = [
    "barrier",
    "highway",
    "access",
    "motorcar",
    "motor_vehicle",
    "vehicle",
    "foot",
    "crossing",
    "bollard",
    "kerb",
    "sensory",
];

/// Tags as (key, value) pairs.
pub type TagList = Vec<(String, String)>;

/// A way: its nodes (indices into [`RawOsm::nodes`]) and routing tags.
#[derive(Debug, Clone, PartialEq)]
pub struct RawWay {
    /// OSM way id.
    pub id: i64,
    /// Node indices in way order.
    pub nodes: Vec<u32>,
    /// Routing tags.
    pub tags: TagList,
}

/// The routing-relevant content of an extract.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawOsm {
    /// Node coordinates (lon, lat in degrees), in first-use order.
    pub nodes: Vec<[f64; 2]>,
    /// OSM ids of [`RawOsm::nodes`].
    pub node_ids: Vec<i64>,
    /// Tags of nodes that have routing tags, by node index.
    pub node_tags: FxHashMap<u32, TagList>,
    /// Ways with a `highway` or `route=ferry` tag.
    pub ways: Vec<RawWay>,
    /// Replication timestamp of the extract (RFC 3339, UTC), when the header
    /// has one, else the newest element timestamp.
    pub timestamp: Option<String>,
}

/// An extract's identity: where it is and what it hashes to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExtractId {
    /// Path as given.
    pub path: String,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Reads an extract's bytes and identity (path and SHA-256).
pub fn read_extract(path: &Path) -> Result<(ExtractId, Vec<u8>)> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        what: "cannot read",
        source,
    })?;
    let id = ExtractId {
        path: path.display().to_string(),
        sha256: sha256_hex(&bytes),
    };
    Ok((id, bytes))
}

/// Reads an extract from disk: its identity and routing content.
pub fn read_pbf(path: &Path) -> Result<(ExtractId, RawOsm)> {
    let (id, bytes) = read_extract(path)?;
    let raw = parse_pbf(&bytes).map_err(|message| Error::Pbf {
        path: path.to_path_buf(),
        message,
    })?;
    Ok((id, raw))
}

fn keep(tags: impl Iterator<Item = (impl AsRef<str>, impl AsRef<str>)>, keys: &[&str]) -> TagList {
    tags.filter(|(k, _)| keys.contains(&k.as_ref()))
        .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
        .collect()
}

/// Decodes every blob of `bytes`, handing primitive blocks to `f`; returns
/// the header's replication timestamp (seconds since the epoch).
fn each_block(
    bytes: &[u8],
    mut f: impl FnMut(&osmpbf::PrimitiveBlock),
) -> Result<Option<i64>, String> {
    let reader = BlobReader::new(Cursor::new(bytes));
    let mut timestamp = None;
    let mut header = false;
    for (blocks, blob) in reader.enumerate() {
        let blob = blob.map_err(|e| format!("after {blocks} blocks: {e}"))?;
        match blob
            .decode()
            .map_err(|e| format!("block {}: {e}", blocks + 1))?
        {
            BlobDecode::OsmHeader(h) => {
                header = true;
                timestamp = h.osmosis_replication_timestamp();
                if let Some(f) = h.required_features().iter().find(|f| {
                    !matches!(
                        f.as_str(),
                        "OsmSchema-V0.6" | "DenseNodes" | "HistoricalInformation"
                    )
                }) {
                    return Err(format!("unsupported required feature `{f}`"));
                }
            }
            BlobDecode::OsmData(block) => f(&block),
            BlobDecode::Unknown(_) => {}
        }
    }
    if !header {
        return Err("no OSMHeader block (not a PBF file?)".to_owned());
    }
    Ok(timestamp)
}

/// Parses PBF bytes: pass one keeps the ways, pass two the coordinates and
/// tags of the nodes they use.
pub fn parse_pbf(bytes: &[u8]) -> Result<RawOsm, String> {
    struct Way {
        id: i64,
        refs: Vec<i64>,
        tags: TagList,
    }
    let mut ways: Vec<Way> = Vec::new();
    let mut newest_ms: i64 = i64::MIN;
    let header_ts = each_block(bytes, |block| {
        block.for_each_element(|e| {
            if let Element::Way(w) = e {
                let wanted = w.tags().any(|(k, v)| {
                    k == "highway"
                        || (k == "route" && v == "ferry")
                        || (k == "railway" && v == "platform")
                        || (k == "man_made" && v == "pier")
                        || (k == "amenity" && matches!(v, "parking" | "parking_entrance"))
                });
                if wanted {
                    ways.push(Way {
                        id: w.id(),
                        refs: w.refs().collect(),
                        tags: keep(w.tags(), &WAY_KEYS),
                    });
                }
                if let Some(ms) = w.info().milli_timestamp() {
                    newest_ms = newest_ms.max(ms);
                }
            }
        });
    })?;

    let mut index: FxHashMap<i64, u32> = FxHashMap::default();
    let mut node_ids: Vec<i64> = Vec::new();
    for w in &ways {
        for &r in &w.refs {
            index.entry(r).or_insert_with(|| {
                node_ids.push(r);
                (node_ids.len() - 1) as u32
            });
        }
    }
    let mut nodes = vec![[f64::NAN, f64::NAN]; node_ids.len()];
    let mut node_tags: FxHashMap<u32, TagList> = FxHashMap::default();
    let mut seen: FxHashSet<u32> = FxHashSet::default();
    let mut put = |id: i64, lon: f64, lat: f64, tags: TagList| {
        // A coordinate off the globe is no coordinate: the node counts as
        // missing and its ways are split there (found by fuzzing: one such
        // node stretched the snapping grid over billions of cells).
        if !(lon.abs() <= 180.0 && lat.abs() <= 90.0) {
            return;
        }
        if let Some(&i) = index.get(&id) {
            nodes[i as usize] = [lon, lat];
            seen.insert(i);
            if !tags.is_empty() {
                node_tags.insert(i, tags);
            }
        }
    };
    each_block(bytes, |block| {
        block.for_each_element(|e| match e {
            Element::DenseNode(n) => put(n.id(), n.lon(), n.lat(), keep(n.tags(), &NODE_KEYS)),
            Element::Node(n) => put(n.id(), n.lon(), n.lat(), keep(n.tags(), &NODE_KEYS)),
            _ => {}
        });
    })?;

    // Ways cross the edge of a clipped extract: split them where a node is
    // missing, so that no segment joins points that are not both known.
    let mut out = Vec::with_capacity(ways.len());
    for w in ways {
        let mut part: Vec<u32> = Vec::with_capacity(w.refs.len());
        for r in &w.refs {
            let i = index[r];
            let [lon, lat] = nodes[i as usize];
            let valid = lon.is_finite() && lat.is_finite();
            if valid {
                part.push(i);
            } else if !part.is_empty() {
                if part.len() >= 2 {
                    out.push(RawWay {
                        id: w.id,
                        nodes: std::mem::take(&mut part),
                        tags: w.tags.clone(),
                    });
                }
                part.clear();
            }
        }
        if part.len() >= 2 {
            out.push(RawWay {
                id: w.id,
                nodes: part,
                tags: w.tags,
            });
        }
    }
    let timestamp = header_ts
        .map(|s| s * 1000)
        .or((newest_ms != i64::MIN).then_some(newest_ms))
        .map(rfc3339_from_ms);
    Ok(RawOsm {
        nodes,
        node_ids,
        node_tags,
        ways: out,
        timestamp,
    })
}

/// `YYYY-MM-DDTHH:MM:SSZ` from milliseconds since the Unix epoch.
pub fn rfc3339_from_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_format_as_rfc3339() {
        assert_eq!(rfc3339_from_ms(0), "1970-01-01T00:00:00Z");
        // 2016-03-05T21:33:02Z, checked with `date -u -d @1457213582`.
        assert_eq!(rfc3339_from_ms(1_457_213_582_000), "2016-03-05T21:33:02Z");
        assert_eq!(rfc3339_from_ms(951_782_400_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn garbage_is_not_a_pbf() {
        assert!(parse_pbf(b"hello, this is not a pbf").is_err());
        assert!(parse_pbf(b"").is_err());
    }

    #[test]
    fn a_hand_written_pbf_gives_its_ways_split_where_a_node_is_missing() {
        // The fuzzers' seeds, written field by field by hand (see
        // fuzz/README.md): 6 nodes, node 3 a gate; way 10 residential
        // oneway over 1-2-3, way 11 primary at 30 km/h over 4-5-6, way 12
        // residential over 2-5-99 where node 99 is not in the file.
        for bytes in [
            &include_bytes!("../../../fuzz/seeds/osm_pbf/tiny_raw.osm.pbf")[..],
            &include_bytes!("../../../fuzz/seeds/osm_pbf/tiny_zlib.osm.pbf")[..],
        ] {
            let raw = parse_pbf(bytes).unwrap();
            let ways: Vec<(i64, usize)> = raw.ways.iter().map(|w| (w.id, w.nodes.len())).collect();
            assert_eq!(ways, vec![(10, 3), (11, 3), (12, 2)]);
            assert_eq!(raw.nodes.len(), 7, "1..=6 and the missing 99");
            let i99 = raw.node_ids.iter().position(|&n| n == 99).unwrap();
            assert!(raw.nodes[i99][0].is_nan());
            let i1 = raw.node_ids.iter().position(|&n| n == 1).unwrap();
            assert!(
                (raw.nodes[i1][0] - 7.42).abs() < 1e-9 && (raw.nodes[i1][1] - 43.73).abs() < 1e-9
            );
            let i3 = raw.node_ids.iter().position(|&n| n == 3).unwrap() as u32;
            assert!(raw.node_tags.contains_key(&i3), "the gate keeps its tag");
            assert_eq!(raw.timestamp, None);
        }
    }

    #[test]
    fn a_node_off_the_globe_counts_as_missing() {
        // Found by fuzzing (fuzz/seeds/osm_pbf/off_the_globe.osm.pbf): a
        // 282-byte extract whose dense nodes decode to latitudes far past
        // 90°.
        let raw = parse_pbf(include_bytes!(
            "../../../fuzz/seeds/osm_pbf/off_the_globe.osm.pbf"
        ))
        .unwrap();
        // Its nodes are off the globe or absent: none keeps a coordinate,
        // and no way survives (before, the ways kept the wild coordinates).
        assert!(raw.nodes.iter().all(|c| c[0].is_nan() && c[1].is_nan()));
        assert!(raw.ways.is_empty());
    }

    #[test]
    fn sha256_matches_the_standard_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
