//! Resident ids must be unique: their hashes, computed from the id column
//! once it is loaded, sorted in parallel buckets.

use super::*;
use crate::exec::chunk_ranges;
use crate::resident_ids::IdKey;

/// Fails on the first repeated id (in row order), naming both rows;
/// `records` says what a table format's row numbers count.
pub(super) fn check_unique_ids<E: Executor>(
    path: &Path,
    residents: &Residents,
    exec: &E,
    records: Option<&str>,
    locate: impl Fn(u32) -> RowPos,
) -> Result<()> {
    let Some((first, repeat)) = first_duplicate(residents, exec) else {
        return Ok(());
    };
    let pos = locate(repeat);
    let mut loc = Location::file(path);
    loc.line = pos.line;
    loc.field = Some("id".into());
    match records {
        // A table format: `feature` is the record's number there.
        Some(label) => loc.record = pos.feature.map(|f| record_name(label, f)),
        None => loc.feature = pos.feature,
    }
    let first_at = match locate(first) {
        RowPos { line: Some(l), .. } => format!("line {l}"),
        RowPos {
            feature: Some(f), ..
        } if records.is_some() => record_name(records.unwrap_or_default(), f),
        RowPos {
            feature: Some(f), ..
        } => format!("feature #{f}"),
        _ => "before".into(),
    };
    Err(Error::input(
        loc,
        format!(
            "duplicate resident id `{}` (first seen at {first_at})",
            residents.id(repeat as usize)
        ),
    ))
}

pub(super) fn hash_id(id: &[u8]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(id);
    h.finish()
}

/// The earliest repeated id, as (row of its first occurrence, row of the
/// repeat). The ids' 64-bit hashes are written, bucket by bucket (their top
/// bits), into one array of a hash per row — one allocation, so the
/// allocator gives it back to the system afterwards, where thousands of
/// small per-piece buckets stayed in its heap — and each bucket is sorted
/// (in parallel) to find the hashes seen twice; only when there are any
/// are the rows holding them found again, and the strings compared.
pub(super) fn first_duplicate<E: Executor>(residents: &Residents, exec: &E) -> Option<(u32, u32)> {
    first_duplicate_by(residents, exec, hash_id, HASH_CHUNK)
}

/// The hashes (low bit set) seen more than once in one bucket's hashes,
/// found with an open-addressing table twice their number, indexed by the
/// bits below the bucket's (the hashes' top bits are alike within a
/// bucket). Setting the low bit keeps 0 free to mark empty slots; two
/// hashes differing only in it are reported as a repeat, which costs a
/// comparison of the rows' ids and nothing else.
fn repeated_in(hashes: &[u64]) -> Vec<u64> {
    let bits = (2 * hashes.len())
        .max(16)
        .next_power_of_two()
        .trailing_zeros();
    let mask = (1usize << bits) - 1;
    let shift = 64 - ID_BUCKET_BITS - bits;
    let mut table = vec![0u64; mask + 1];
    let mut repeated = Vec::new();
    for &h in hashes {
        let key = h | 1;
        let mut slot = (h >> shift) as usize & mask;
        loop {
            match table[slot] {
                0 => {
                    table[slot] = key;
                    break;
                }
                k if k == key => {
                    repeated.push(key);
                    break;
                }
                _ => slot = (slot + 1) & mask,
            }
        }
    }
    repeated.sort_unstable();
    repeated.dedup();
    repeated
}

/// Rows per unit of work of the passes over the ids.
const HASH_CHUNK: usize = 1 << 18;

/// A unit of work: rows `rows` of a block of ids whose first row is
/// `row0`.
#[derive(Clone, Copy)]
struct Unit<'a> {
    row0: usize,
    block: &'a IdBlock,
    rows: (usize, usize),
}

impl Unit<'_> {
    fn ids(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (self.rows.0..self.rows.1).map(|i| self.block.get(i))
    }

    /// The unit's ids with their keys.
    fn keyed(&self) -> impl Iterator<Item = (IdKey, &[u8])> + '_ {
        (self.rows.0..self.rows.1).map(|i| (self.block.key(i), self.block.get(i)))
    }

    /// The global row of the unit's `k`-th id.
    fn row(&self, k: usize) -> usize {
        self.row0 + self.rows.0 + k
    }
}

/// The rows of `residents` in units of at most `chunk` rows.
fn units(residents: &Residents, chunk: usize) -> Vec<Unit<'_>> {
    let mut units = Vec::new();
    for (row0, block) in residents.ids.blocks() {
        for r in chunk_ranges(block.len(), chunk) {
            units.push(Unit {
                row0,
                block,
                rows: (r.start, r.end),
            });
        }
    }
    units
}

/// True when every id comes after the one before it, all in one of two
/// orders: by bytes, or by length then bytes (numbers without leading
/// zeros). No two ids are then equal. Files are very often sorted by
/// their id, and this costs one comparison of neighbours per row.
fn increasing<E: Executor>(residents: &Residents, units: &[Unit<'_>], exec: &E) -> bool {
    use std::cmp::Ordering::{Greater, Less};
    let orders: Vec<(bool, bool)> = exec.map(units.to_vec(), |u| {
        // The row before the unit's first, in this block or the one before.
        let mut prev = (u.row(0) > 0).then(|| residents.ids.keyed(u.row(0) - 1));
        let (mut by_bytes, mut by_length) = (true, true);
        for (key, id) in u.keyed() {
            if let Some((pk, p)) = prev {
                let order = pk.cmp_ids(key, p, id);
                by_bytes &= order == Less;
                by_length &= match pk.len.cmp(&key.len) {
                    Less => true,
                    Greater => false,
                    _ => order == Less,
                };
                if !(by_bytes || by_length) {
                    break;
                }
            }
            prev = Some((key, id));
        }
        (by_bytes, by_length)
    });
    orders.iter().all(|o| o.0) || orders.iter().all(|o| o.1)
}

/// [`first_duplicate`] with another hash, in units of `chunk` rows.
fn first_duplicate_by<E: Executor>(
    residents: &Residents,
    exec: &E,
    hash: impl Fn(&[u8]) -> u64 + Sync,
    chunk: usize,
) -> Option<(u32, u32)> {
    let n = residents.len();
    let units = units(residents, chunk);
    if increasing(residents, &units, exec) {
        return None;
    }
    let bucket = |h: u64| (h >> (64 - ID_BUCKET_BITS)) as usize;
    // First pass: each unit's rows per bucket.
    let counts: Vec<Vec<usize>> = exec.map(units.clone(), |u| {
        let mut c = vec![0usize; ID_BUCKETS];
        for id in u.ids() {
            c[bucket(hash(id))] += 1;
        }
        c
    });
    // Second pass: each unit writes its hashes into its own slice of each
    // bucket (buckets in order, units in order within a bucket).
    let mut all = vec![0u64; n];
    let mut totals = vec![0usize; ID_BUCKETS];
    {
        let mut rest = &mut all[..];
        let mut slices: Vec<Vec<&mut [u64]>> = (0..units.len())
            .map(|_| Vec::with_capacity(ID_BUCKETS))
            .collect();
        for (b, total) in totals.iter_mut().enumerate() {
            for (c, s) in slices.iter_mut().enumerate() {
                let (head, tail) = std::mem::take(&mut rest).split_at_mut(counts[c][b]);
                s.push(head);
                rest = tail;
                *total += counts[c][b];
            }
        }
        exec.map(
            units.iter().copied().zip(slices).collect(),
            |(u, mut out)| {
                let mut filled = vec![0usize; ID_BUCKETS];
                for id in u.ids() {
                    let h = hash(id);
                    let b = bucket(h);
                    out[b][filled[b]] = h;
                    filled[b] += 1;
                }
            },
        );
    }
    let mut buckets: Vec<&mut [u64]> = Vec::with_capacity(ID_BUCKETS);
    let mut rest = &mut all[..];
    for &t in &totals {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(t);
        buckets.push(head);
        rest = tail;
    }
    let repeated = exec.map(buckets, |b| repeated_in(b));
    drop(all);
    let mut repeated: Vec<u64> = repeated.into_iter().flatten().collect();
    if repeated.is_empty() {
        return None;
    }
    repeated.sort_unstable();
    // The rows holding those hashes, in row order, grouped by hash: the
    // first row whose id an earlier row of its group holds is the answer.
    let mut seen: Vec<Vec<u32>> = vec![Vec::new(); repeated.len()];
    for u in &units {
        for (k, id) in u.ids().enumerate() {
            let row = u.row(k);
            if let Ok(k) = repeated.binary_search(&(hash(id) | 1)) {
                if let Some(&first) = seen[k]
                    .iter()
                    .find(|&&a| residents.id_bytes(a as usize) == id)
                {
                    return Some((first, row as u32));
                }
                seen[k].push(row as u32);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sequential;

    /// Residents with these ids, in blocks of `block` rows.
    fn residents(ids: &[&str], block: usize) -> Residents {
        let mut r = Residents::default();
        for rows in ids.chunks(block) {
            let mut b = IdBlock::with_capacity(0);
            for id in rows {
                assert!(b.push(id.as_bytes()));
                r.location.push(LonLat::new(0.0, 0.0));
            }
            r.ids.push_block(b);
        }
        r
    }

    #[test]
    fn the_earliest_repeat_is_found_whatever_the_hash() {
        type Case = (&'static [&'static str], Option<(u32, u32)>);
        let cases: [Case; 10] = [
            (&["a", "b", "c", "d"], None),
            // Increasing: by bytes, by length then bytes, or both.
            (&["9", "10", "11", "100"], None),
            (&["a1", "a10", "a2", "b"], None),
            // Not strictly: the equal neighbours are the answer.
            (&["a", "b", "b", "c"], Some((1, 2))),
            // By bytes in the first units, by length in the last: an id
            // can be repeated across them.
            (&["ab", "b", "c", "ab"], Some((0, 3))),
            (&["ab", "b", "c", "d", "ab"], Some((0, 4))),
            (&["a", "b", "a", "b"], Some((0, 2))),
            (&["a", "b", "c", "b", "a"], Some((1, 3))),
            (&["x", "y", "y", "y", "x"], Some((1, 2))),
            (&["", "p", "q", "r", "s", "t", "u", "v", "p"], Some((1, 8))),
        ];
        // The real hash; every id colliding; and two classes (odd/even
        // length) so that distinct ids share hashes but not all of them.
        type Hash<'a> = &'a (dyn Fn(&[u8]) -> u64 + Sync);
        let hashes: [Hash; 3] = [&hash_id, &|_: &[u8]| 7 << 58, &|s: &[u8]| {
            (s.len() as u64 % 2) << 63
        }];
        for (ids, want) in cases {
            for block in [1, 3, ids.len()] {
                let r = residents(ids, block);
                for h in hashes {
                    for chunk in [1, 2, 3, HASH_CHUNK] {
                        let got = first_duplicate_by(&r, &Sequential, h, chunk);
                        assert_eq!(got, want, "{ids:?} in blocks of {block}, units of {chunk}");
                    }
                }
            }
        }
    }
}
