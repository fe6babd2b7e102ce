//! Resident ids must be unique: their hashes, computed from the id column
//! once it is loaded, sorted in parallel buckets.

use super::*;
use crate::exec::chunk_ranges;

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
    first_duplicate_by(residents, exec, hash_id)
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

/// Rows per unit of work of the hashing passes.
const HASH_CHUNK: usize = 1 << 18;

/// [`first_duplicate`] with another hash.
fn first_duplicate_by<E: Executor>(
    residents: &Residents,
    exec: &E,
    hash: impl Fn(&[u8]) -> u64 + Sync,
) -> Option<(u32, u32)> {
    let n = residents.len();
    let bucket = |h: u64| (h >> (64 - ID_BUCKET_BITS)) as usize;
    let chunks = chunk_ranges(n, HASH_CHUNK);
    // First pass: each chunk's rows per bucket.
    let counts: Vec<Vec<usize>> = exec.map(chunks.clone(), |rows| {
        let mut c = vec![0usize; ID_BUCKETS];
        for row in rows {
            c[bucket(hash(residents.id_bytes(row)))] += 1;
        }
        c
    });
    // Second pass: each chunk writes its hashes into its own slice of each
    // bucket (buckets in order, chunks in order within a bucket).
    let mut all = vec![0u64; n];
    let mut totals = vec![0usize; ID_BUCKETS];
    {
        let mut rest = &mut all[..];
        let mut slices: Vec<Vec<&mut [u64]>> = (0..chunks.len())
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
            chunks.clone().into_iter().zip(slices).collect(),
            |(rows, mut out)| {
                let mut filled = vec![0usize; ID_BUCKETS];
                for row in rows {
                    let h = hash(residents.id_bytes(row));
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
    for row in 0..residents.len() {
        let id = residents.id_bytes(row);
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
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sequential;

    fn residents(ids: &[&str]) -> Residents {
        let mut r = Residents::default();
        for id in ids {
            r.id_bytes.extend_from_slice(id.as_bytes());
            r.id_ends.push(r.id_bytes.len() as u64);
            r.location.push(LonLat::new(0.0, 0.0));
        }
        r
    }

    #[test]
    fn the_earliest_repeat_is_found_whatever_the_hash() {
        type Case = (&'static [&'static str], Option<(u32, u32)>);
        let cases: [Case; 5] = [
            (&["a", "b", "c", "d"], None),
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
            let r = residents(ids);
            for h in hashes {
                let got = first_duplicate_by(&r, &Sequential, h);
                assert_eq!(got, want, "{ids:?}");
            }
        }
    }
}
