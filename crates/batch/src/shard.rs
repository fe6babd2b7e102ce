//! Sharded batches (CONTRACT §12): `bacino batch --shard I/N` runs every
//! `N`-th scenario line (the `I`-th, `2N+I`-th, … of the file's non-blank
//! lines, so that long and short runs spread over the parts) and writes
//! `OUTDIR/index.part-I-of-N.json` instead of `index.json`; each
//! scenario's folder is the same as in an unsharded run. `bacino merge`
//! reads the `N` part indexes and writes the `index.json` an unsharded run
//! writes, byte for byte; copy the scenario folders of every part into one
//! `OUTDIR` (they never collide: scenario names are unique) to have the
//! whole output.

use std::path::{Path, PathBuf};

use bacino_core::Shard;
use serde::{Deserialize, Serialize};

use crate::scenarios::{BatchIndex, IndexEntry};
use crate::{Error, Result};

/// The file name of part `shard`'s index.
pub fn index_part_name(shard: Shard) -> String {
    format!("index.part-{}-of-{}.json", shard.index, shard.count)
}

/// What a part's index records besides its entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartInfo {
    /// Which part.
    pub shard: Shard,
    /// Non-blank lines of the whole scenarios file.
    pub lines: usize,
    /// XXH3-64 of the scenarios file's text, hex: parts of different files
    /// do not merge.
    pub scenarios_xxh3: String,
    /// The dataset's version (its sources' hash).
    pub dataset_version: String,
    /// The method of each scenario's `catchments.geojson` (`None`: no file).
    pub catchments: Option<String>,
}

/// `index.part-I-of-N.json`: the part's entries and where they came from.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct IndexPart<'a> {
    pub part: &'a PartInfo,
    #[serde(flatten)]
    pub index: &'a BatchIndex,
}

/// A part index as read back.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadPart {
    part: PartInfo,
    dataset: String,
    #[allow(dead_code)]
    ok: usize,
    #[allow(dead_code)]
    errors: usize,
    scenarios: Vec<ReadEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadEntry {
    line: usize,
    name: Option<String>,
    status: String,
    message: Option<String>,
}

/// The hash recorded in [`PartInfo::scenarios_xxh3`].
pub(crate) fn scenarios_hash(text: &str) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(text.as_bytes()))
}

/// Merges the part indexes of one sharded batch (`(path, text)` pairs, in
/// any order) into the unsharded run's `index.json` text. Fails, naming the
/// file, on a file that is not a part index, on parts of different runs, on
/// a missing or repeated part, and when the entries do not cover the
/// scenario lines exactly once.
pub fn merge_index_parts(parts: &[(PathBuf, String)]) -> Result<String> {
    let bad = |p: &Path, m: String| Error::Scenario(format!("{}: {m}", p.display()));
    let mut read = Vec::with_capacity(parts.len());
    for (path, text) in parts {
        let part: ReadPart = serde_json::from_str(text).map_err(|e| {
            bad(
                path,
                format!(
                    "not a batch part index (`index.part-I-of-N.json` of \
                     `bacino batch --shard`): {e}"
                ),
            )
        })?;
        read.push((path, part));
    }
    let Some((first_path, first)) = read.first() else {
        return Err(Error::Scenario("no part to merge".into()));
    };
    let count = first.part.shard.count;
    let mut seen: std::collections::BTreeMap<u32, &Path> = std::collections::BTreeMap::new();
    for (path, p) in &read {
        let same = p.dataset == first.dataset
            && p.part.shard.count == count
            && p.part.lines == first.part.lines
            && p.part.scenarios_xxh3 == first.part.scenarios_xxh3
            && p.part.dataset_version == first.part.dataset_version
            && p.part.catchments == first.part.catchments;
        if !same {
            return Err(bad(
                path,
                format!(
                    "not of the same run as {} (dataset, its version, the scenarios \
                     file, --catchments and N must be equal)",
                    first_path.display()
                ),
            ));
        }
        let i = p.part.shard.index;
        if i == 0 || i > count {
            return Err(bad(path, format!("bad part {}", p.part.shard)));
        }
        if let Some(other) = seen.insert(i, path) {
            return Err(bad(
                path,
                format!("part {} is also given as {}", p.part.shard, other.display()),
            ));
        }
    }
    // At most ten named: a part could claim any count.
    let missing: Vec<String> = (1..=count)
        .filter(|i| !seen.contains_key(i))
        .take(10)
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Scenario(format!(
            "missing part(s) {}",
            missing.join(", ")
        )));
    }
    let dataset = first.dataset.clone();
    let lines = first.part.lines;
    let mut entries: Vec<IndexEntry> = Vec::with_capacity(lines);
    for (path, p) in read {
        for e in p.scenarios {
            let status = match e.status.as_str() {
                "ok" => "ok",
                "error" => "error",
                other => return Err(bad(path, format!("unknown status `{other}`"))),
            };
            entries.push(IndexEntry {
                line: e.line,
                name: e.name,
                status,
                message: e.message,
            });
        }
    }
    entries.sort_by_key(|e| e.line);
    if entries.len() != lines || entries.windows(2).any(|w| w[0].line == w[1].line) {
        return Err(Error::Scenario(format!(
            "the parts list {} entries for {lines} scenario lines",
            entries.len()
        )));
    }
    let ok = entries.iter().filter(|e| e.status == "ok").count();
    let index = BatchIndex {
        dataset,
        ok,
        errors: entries.len() - ok,
        scenarios: entries,
    };
    crate::scenarios::json(&index)
}
