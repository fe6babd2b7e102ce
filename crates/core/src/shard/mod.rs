//! Sharding a distances report over processes or machines (CONTRACT §12).
//!
//! `bacino stats --shard I/N --out PART` measures part `I` of the
//! residents and writes a [`DistancePart`]; `bacino merge` reads all `N`
//! parts and prints the document the unsharded `stats` prints, **bit for
//! bit**. Percentiles cannot be merged from per-part summaries, so a part
//! keeps its residents' values (metres, seconds under a network metric,
//! group codes, weights when they are not all 1) with their row numbers:
//! the merge puts every value back at its row and summarises with the
//! very code the unsharded run uses ([`crate::distances`]' `assemble`),
//! so the sums see the same numbers in the same order. A part is
//! therefore a file for whoever holds the data, never one to publish.
//!
//! Residents are split in one of two ways:
//! - into `N` runs of consecutive rows of (nearly) equal length;
//! - with a key (`--shard-by region`): every value of the key goes whole
//!   to one part, the values taken from the most residents to the fewest
//!   (ties by key) and each given to the part with the fewest residents so
//!   far (ties to the lower part).
//!
//! Every process loads the whole dataset (a part must know every group's
//! label, and the facilities are needed whole); the measuring is what is
//! divided.
//!
//! The part file: the 8 bytes `BACINOPT`, a little-endian `u32` layout
//! version (1), a `u32` length and that many bytes of JSON (the head: the
//! dataset and its version, the shard, the query, the groups' labels, the
//! counts), then little-endian arrays (rows `u32`, group codes `u32`,
//! metres `f64`, seconds `f64` when timed, weights `f64` unless all are 1,
//! unreachable positions `u32`), and last the XXH3-64 of everything
//! before it, so that a truncated or altered part is refused.

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::costs::CostsInfo;
use crate::dataset::Dataset;
use crate::distances::{
    assemble, measure, resolve_groups, DistanceQuery, DistanceReport, GroupBy, GroupLabel,
    Measured, ResidentDistances,
};
use crate::error::{Error, Location, Result};
use crate::exec::Executor;
use crate::metric::MetricName;
use crate::model::{FacilityKind, NONE};
use bacino_network::NetworkInfo;

/// Part `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 1-based.
    pub index: u32,
    /// How many parts, ≥ 1.
    pub count: u32,
}

impl FromStr for Shard {
    type Err = Error;

    fn from_str(s: &str) -> Result<Shard> {
        let bad = || {
            Error::param(
                "shard",
                format!("expected I/N with 1 ≤ I ≤ N (e.g. 2/8), found `{s}`"),
            )
        };
        let (i, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether the `k`-th (0-based) of a list of items dealt round-robin
    /// falls to this part.
    pub fn takes(&self, k: usize) -> bool {
        k % self.count as usize == (self.index - 1) as usize
    }
}

/// The rows of `dataset`'s residents that fall to `shard`, ascending:
/// consecutive rows with `by` = [`GroupBy::All`], otherwise whole values
/// of the key `by` (see the module documentation).
pub fn shard_rows<E: Executor>(
    dataset: &Dataset,
    shard: Shard,
    by: &GroupBy,
    exec: &E,
) -> Result<Vec<u32>> {
    let n = dataset.residents().len() as u64;
    let (i, count) = (u64::from(shard.index), u64::from(shard.count));
    if *by == GroupBy::All {
        let (start, end) = (n * (i - 1) / count, n * i / count);
        return Ok((start as u32..end as u32).collect());
    }
    if *by == GroupBy::Facility {
        return Err(Error::param(
            "shard_by",
            "`facility` depends on what is measured: shard by a residents column, \
             `municipality`, `group` or `area`",
        ));
    }
    let (codes, labels) = resolve_groups(dataset, by, exec)?;
    let part_of = assign_values(&codes, &labels, shard.count);
    let none = labels.len();
    Ok(codes
        .iter()
        .enumerate()
        .filter(|&(_, &c)| part_of[if c == NONE { none } else { c as usize }] == shard.index)
        .map(|(r, _)| r as u32)
        .collect())
}

/// The part (1-based) of each code, and of the missing key last: largest
/// values first, each to the lightest part so far.
fn assign_values(codes: &[u32], labels: &[GroupLabel], parts: u32) -> Vec<u32> {
    let none = labels.len();
    let mut sizes = vec![0u64; none + 1];
    for &c in codes {
        sizes[if c == NONE { none } else { c as usize }] += 1;
    }
    let mut order: Vec<usize> = (0..=none).collect();
    order.sort_by(|&a, &b| {
        sizes[b].cmp(&sizes[a]).then_with(|| {
            labels
                .get(a)
                .map(|l| &l.0)
                .cmp(&labels.get(b).map(|l| &l.0))
        })
    });
    let mut load = vec![0u64; parts as usize];
    let mut part_of = vec![0u32; none + 1];
    for v in order {
        let (lightest, _) = load
            .iter()
            .enumerate()
            .min_by_key(|&(p, &l)| (l, p))
            .expect("at least one part");
        load[lightest] += sizes[v];
        part_of[v] = lightest as u32 + 1;
    }
    part_of
}

/// What a part says about itself (the JSON head of the file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PartHead {
    dataset: String,
    /// [`Dataset::version`]: parts of different data do not merge.
    dataset_version: String,
    shard: Shard,
    shard_by: Option<String>,
    /// Residents of the whole dataset.
    residents: u64,
    to: String,
    kind: Option<FacilityKind>,
    metric: MetricName,
    network: Option<NetworkInfo>,
    costs: Option<CostsInfo>,
    /// Present (as 0) when the document reports `unreachable`.
    unreachable: Option<f64>,
    group_by: Option<String>,
    /// As its bits: JSON has no NaN or infinities, and the figure must
    /// come back exactly.
    #[serde(with = "f64_bits")]
    min_group_size: f64,
    cdf_steps: u32,
    labels: Vec<GroupLabel>,
    seconds_only: bool,
    unit_weights: bool,
    timed: bool,
    /// Residents in this part.
    rows: u64,
    /// Of which unreachable.
    unreachable_rows: u64,
}

impl PartHead {
    /// Whether two parts are of the same run (they differ only in the
    /// shard index and their own rows).
    fn same_run(&self, other: &PartHead) -> bool {
        let strip = |h: &PartHead| PartHead {
            shard: Shard {
                index: 1,
                count: h.shard.count,
            },
            rows: 0,
            unreachable_rows: 0,
            // Compared by its bits below (NaN is a threshold too).
            min_group_size: 0.0,
            ..h.clone()
        };
        strip(self) == strip(other)
            && self.min_group_size.to_bits() == other.min_group_size.to_bits()
    }
}

/// One shard's residents measured for a distances query: see the module
/// documentation.
#[derive(Debug, Clone, PartialEq)]
pub struct DistancePart {
    head: PartHead,
    rows: Vec<u32>,
    codes: Vec<u32>,
    distance_m: Vec<f64>,
    time_s: Option<Vec<f64>>,
    /// `None` when every resident of the dataset weighs 1.
    weights: Option<Vec<f64>>,
    /// Positions (in `rows`) that could not be reached.
    unreachable: Vec<u32>,
}

const MAGIC: &[u8; 8] = b"BACINOPT";
/// The most quantile steps a part may ask for (as over HTTP).
const MAX_CDF_STEPS: u32 = 1000;
const LAYOUT: u32 = 1;

/// Measures the residents of `shard` (split by `by`, see
/// [`shard_rows`]) for `query`.
pub fn distance_part<E: Executor>(
    dataset: &Dataset,
    query: &DistanceQuery,
    shard: Shard,
    by: &GroupBy,
    exec: &E,
) -> Result<DistancePart> {
    let rows = shard_rows(dataset, shard, by, exec)?;
    let (head, measured) = measure(dataset, query, Some(&rows), exec)?;
    let residents = dataset.residents();
    let unit = residents.has_unit_weights();
    let Measured {
        codes,
        labels,
        distances,
    } = measured;
    let ResidentDistances {
        distance_m,
        time_s,
        unreachable,
        seconds_only,
        ..
    } = distances;
    let weights = (!unit).then(|| {
        rows.iter()
            .map(|&r| residents.weights()[r as usize])
            .collect()
    });
    Ok(DistancePart {
        head: PartHead {
            dataset: head.dataset,
            dataset_version: dataset.version().to_owned(),
            shard,
            shard_by: by.name().map(str::to_owned),
            residents: residents.len() as u64,
            to: head.to.to_owned(),
            kind: head.kind,
            metric: query.metric,
            network: head.network,
            costs: head.costs,
            unreachable: head.unreachable,
            group_by: head.group_by,
            min_group_size: head.min_group_size,
            cdf_steps: query.cdf_steps,
            labels,
            seconds_only,
            unit_weights: unit,
            timed: time_s.is_some(),
            rows: rows.len() as u64,
            unreachable_rows: unreachable.len() as u64,
        },
        rows,
        codes,
        distance_m,
        time_s,
        weights,
        unreachable,
    })
}

impl DistancePart {
    /// Which part this is.
    pub fn shard(&self) -> Shard {
        self.head.shard
    }

    /// How many residents it holds.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether it holds no resident.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Writes the part (see the module documentation for the layout).
    pub fn write_to(&self, out: impl Write) -> std::io::Result<()> {
        let mut w = HashingWriter {
            inner: std::io::BufWriter::with_capacity(1 << 20, out),
            hash: xxhash_rust::xxh3::Xxh3::new(),
        };
        let head = serde_json::to_vec(&self.head).map_err(std::io::Error::other)?;
        w.write_all(MAGIC)?;
        w.write_all(&LAYOUT.to_le_bytes())?;
        w.write_all(&(head.len() as u32).to_le_bytes())?;
        w.write_all(&head)?;
        write_le(&mut w, &self.rows)?;
        write_le(&mut w, &self.codes)?;
        write_le(&mut w, &self.distance_m)?;
        if let Some(t) = &self.time_s {
            write_le(&mut w, t)?;
        }
        if let Some(x) = &self.weights {
            write_le(&mut w, x)?;
        }
        write_le(&mut w, &self.unreachable)?;
        let digest = w.hash.digest();
        w.inner.write_all(&digest.to_le_bytes())?;
        w.inner.flush()
    }

    /// Reads a part written by [`DistancePart::write_to`]; `path` names it
    /// in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<DistancePart> {
        let bad = |m: String| Error::input(Location::file(path), m);
        if bytes.len() < 16 || &bytes[..8] != MAGIC {
            return Err(bad(
                "not a bacino distances part (written by `bacino stats --shard I/N --out FILE`)"
                    .into(),
            ));
        }
        let (body, tail) = bytes.split_at(bytes.len() - 8);
        let want = u64::from_le_bytes(tail.try_into().expect("8 bytes"));
        if xxhash_rust::xxh3::xxh3_64(body) != want {
            return Err(bad(
                "the part is truncated or altered (its checksum does not match)".into(),
            ));
        }
        let mut r = Reader { bytes: body, at: 8 };
        let layout = r.u32().ok_or_else(|| bad("truncated head".into()))?;
        if layout != LAYOUT {
            return Err(bad(format!(
                "part layout {layout}; this bacino reads layout {LAYOUT}"
            )));
        }
        let len = r.u32().ok_or_else(|| bad("truncated head".into()))? as usize;
        let head: PartHead = r
            .take(len)
            .ok_or_else(|| bad("truncated head".into()))
            .and_then(|h| {
                serde_json::from_slice(h).map_err(|e| bad(format!("unreadable head: {e}")))
            })?;
        let n = usize::try_from(head.rows).map_err(|_| bad("too many rows".into()))?;
        let short = || bad(format!("shorter than the {n} rows its head announces"));
        let rows = r.values::<u32>(n).ok_or_else(short)?;
        let codes = r.values::<u32>(n).ok_or_else(short)?;
        let distance_m = r.values::<f64>(n).ok_or_else(short)?;
        let time_s = match head.timed {
            true => Some(r.values::<f64>(n).ok_or_else(short)?),
            false => None,
        };
        let weights = match head.unit_weights {
            true => None,
            false => Some(r.values::<f64>(n).ok_or_else(short)?),
        };
        let u = head.unreachable_rows as usize;
        let unreachable = r.values::<u32>(u).ok_or_else(short)?;
        if r.at != body.len() {
            return Err(bad(format!(
                "{} bytes after the data its head announces",
                body.len() - r.at
            )));
        }
        let part = DistancePart {
            head,
            rows,
            codes,
            distance_m,
            time_s,
            weights,
            unreachable,
        };
        part.check().map_err(bad)?;
        Ok(part)
    }

    /// Internal consistency, so that a merge cannot index out of bounds.
    fn check(&self) -> std::result::Result<(), String> {
        let n = self.head.residents;
        if self.head.shard.index == 0 || self.head.shard.index > self.head.shard.count {
            return Err(format!("bad shard {}", self.head.shard));
        }
        if self.rows.windows(2).any(|w| w[0] >= w[1]) {
            return Err("rows are not strictly ascending".into());
        }
        if self.rows.last().is_some_and(|&r| u64::from(r) >= n) {
            return Err(format!("a row beyond the dataset's {n} residents"));
        }
        let labels = self.head.labels.len();
        if self
            .codes
            .iter()
            .any(|&c| c != NONE && c as usize >= labels)
        {
            return Err(format!("a group code beyond the {labels} groups"));
        }
        if self
            .unreachable
            .iter()
            .any(|&j| j as usize >= self.rows.len())
        {
            return Err("an unreachable position beyond the part's rows".into());
        }
        if self.unreachable.windows(2).any(|w| w[0] >= w[1]) {
            return Err("unreachable positions are not strictly ascending".into());
        }
        if self
            .unreachable
            .iter()
            .any(|&j| !self.distance_m[j as usize].is_nan())
        {
            return Err("an unreachable resident with a distance".into());
        }
        if self.head.cdf_steps > MAX_CDF_STEPS {
            return Err(format!(
                "cdf of {} steps (at most {MAX_CDF_STEPS})",
                self.head.cdf_steps
            ));
        }
        Ok(())
    }
}

/// Merges every part of one sharded run (in any order) into the document
/// the unsharded run gives. Fails, naming the problem, when parts are of
/// different runs or data, when one is missing or repeated, or when the
/// parts' rows do not cover every resident exactly once.
pub fn merge_distance_parts<E: Executor>(
    parts: Vec<DistancePart>,
    exec: &E,
) -> Result<DistanceReport> {
    let first = parts
        .first()
        .ok_or_else(|| Error::param("parts", "no part to merge"))?;
    let head = first.head.clone();
    let count = head.shard.count;
    let mut seen = std::collections::BTreeSet::new();
    for p in &parts {
        if !p.head.same_run(&head) {
            return Err(Error::param(
                "parts",
                format!(
                    "part {} is not of the same run as part {} (dataset, its version, \
                     the query and the split must all be equal)",
                    p.head.shard, head.shard
                ),
            ));
        }
        if !seen.insert(p.head.shard.index) {
            return Err(Error::param(
                "parts",
                format!("part {} is given twice", p.head.shard),
            ));
        }
    }
    if seen.len() != count as usize {
        // At most ten named: a part's head could claim any count.
        let missing: Vec<String> = (1..=count)
            .filter(|i| !seen.contains(i))
            .take(10)
            .map(|i| format!("{i}/{count}"))
            .collect();
        let more = count as usize - seen.len() - missing.len();
        return Err(Error::param(
            "parts",
            format!(
                "missing part(s) {}{}",
                missing.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ),
        ));
    }
    // The parts' rows must add up to the residents before anything is
    // allocated for them.
    let held = parts
        .iter()
        .try_fold(0u64, |a, p| a.checked_add(p.rows.len() as u64));
    if held != Some(head.residents) {
        return Err(Error::param(
            "parts",
            format!(
                "the parts hold {} rows for the dataset's {} residents",
                held.map_or_else(|| "too many".to_owned(), |h| h.to_string()),
                head.residents
            ),
        ));
    }
    let n = usize::try_from(head.residents)
        .map_err(|_| Error::param("parts", "too many residents for this machine"))?;
    let mut covered = vec![false; n];
    let mut codes = vec![NONE; n];
    let mut distance_m = vec![f64::NAN; n];
    let mut time_s = head.timed.then(|| vec![f64::NAN; n]);
    let mut weights = vec![1.0; n];
    let mut unreachable = Vec::new();
    for p in parts {
        for (j, &r) in p.rows.iter().enumerate() {
            let r = r as usize;
            if std::mem::replace(&mut covered[r], true) {
                return Err(Error::param(
                    "parts",
                    format!("resident row {r} is in more than one part"),
                ));
            }
            codes[r] = p.codes[j];
            distance_m[r] = p.distance_m[j];
            if let (Some(all), Some(t)) = (time_s.as_mut(), p.time_s.as_ref()) {
                all[r] = t[j];
            }
            if let Some(w) = &p.weights {
                weights[r] = w[j];
            }
        }
        unreachable.extend(p.unreachable.iter().map(|&j| p.rows[j as usize]));
    }
    if let Some(r) = covered.iter().position(|c| !c) {
        return Err(Error::param(
            "parts",
            format!("resident row {r} is in no part"),
        ));
    }
    unreachable.sort_unstable();
    let report = DistanceReport {
        dataset: head.dataset,
        to: if head.to == "assigned" {
            "assigned"
        } else {
            "nearest"
        },
        kind: head.kind,
        metric: head.metric.as_str(),
        network: head.network,
        costs: head.costs,
        unreachable: head.unreachable,
        group_by: head.group_by,
        min_group_size: head.min_group_size,
        unmeasured: 0.0,
        groups: Vec::new(),
    };
    let measured = Measured {
        codes,
        labels: head.labels,
        distances: ResidentDistances {
            distance_m,
            time_s,
            facility: Vec::new(),
            unreachable,
            seconds_only: head.seconds_only,
        },
    };
    Ok(assemble(
        report,
        head.cdf_steps,
        measured,
        &weights,
        head.unit_weights,
        exec,
    ))
}

/// An `f64` written as the `u64` of its bits.
mod f64_bits {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(x.to_bits())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        u64::deserialize(d).map(f64::from_bits)
    }
}

/// A writer that hashes what it writes.
struct HashingWriter<W: Write> {
    inner: W,
    hash: xxhash_rust::xxh3::Xxh3,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A number stored little-endian in a part.
trait Le: Copy {
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    fn get(bytes: &[u8]) -> Self;
}

impl Le for u32 {
    const SIZE: usize = 4;
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get(bytes: &[u8]) -> Self {
        u32::from_le_bytes(bytes.try_into().expect("4 bytes"))
    }
}

impl Le for f64 {
    const SIZE: usize = 8;
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get(bytes: &[u8]) -> Self {
        f64::from_le_bytes(bytes.try_into().expect("8 bytes"))
    }
}

/// Writes `xs` little-endian, 64 Ki values at a time.
fn write_le<T: Le>(w: &mut impl Write, xs: &[T]) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(T::SIZE * xs.len().min(1 << 16));
    for c in xs.chunks(1 << 16) {
        buf.clear();
        for &x in c {
            x.put(&mut buf);
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

/// Reads little-endian values from a byte slice, `None` past its end.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(s)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    /// `n` little-endian values.
    fn values<T: Le>(&mut self, n: usize) -> Option<Vec<T>> {
        let b = self.take(n.checked_mul(T::SIZE)?)?;
        Some(b.chunks_exact(T::SIZE).map(T::get).collect())
    }
}

#[cfg(test)]
mod tests;
