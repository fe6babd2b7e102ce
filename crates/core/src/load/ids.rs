//! Resident ids must be unique: hashes kept while parsing, checked in
//! parallel buckets.

use super::*;

/// Fails on the first repeated id (in row order), naming both rows;
/// `records` says what a table format's row numbers count.
pub(super) fn check_unique_ids<E: Executor>(
    path: &Path,
    residents: &Residents,
    hashes: &[IdHashes],
    exec: &E,
    records: Option<&str>,
    locate: impl Fn(u32) -> RowPos,
) -> Result<()> {
    let Some((first, repeat)) = first_duplicate(residents, hashes, exec) else {
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

pub(super) fn hash_id(id: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    id.hash(&mut h);
    h.finish()
}

/// The earliest repeated id, as (row of its first occurrence, row of the
/// repeat). The 64-bit hashes computed while parsing are sorted bucket by
/// bucket (in parallel) to find the hashes seen twice; only when there are
/// any are the rows holding them found again, and the strings compared.
pub(super) fn first_duplicate<E: Executor>(
    residents: &Residents,
    hashes: &[IdHashes],
    exec: &E,
) -> Option<(u32, u32)> {
    first_duplicate_by(residents, hashes, exec, hash_id)
}

/// [`first_duplicate`] with the hash the buckets were filled with.
fn first_duplicate_by<E: Executor>(
    residents: &Residents,
    hashes: &[IdHashes],
    exec: &E,
    hash: impl Fn(&str) -> u64,
) -> Option<(u32, u32)> {
    let repeated = exec.map((0..ID_BUCKETS).collect(), |b| {
        let mut all: Vec<u64> = Vec::with_capacity(hashes.iter().map(|h| h.0[b].len()).sum());
        for h in hashes {
            all.extend_from_slice(&h.0[b]);
        }
        all.sort_unstable();
        let mut repeated: Vec<u64> = all
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0])
            .collect();
        repeated.dedup();
        repeated
    });
    let mut repeated: Vec<u64> = repeated.into_iter().flatten().collect();
    if repeated.is_empty() {
        return None;
    }
    repeated.sort_unstable();
    // The rows holding those hashes, in row order, grouped by hash: the
    // first row whose id an earlier row of its group holds is the answer.
    let mut seen: Vec<Vec<u32>> = vec![Vec::new(); repeated.len()];
    for row in 0..residents.len() {
        let id = residents.id(row);
        if let Ok(k) = repeated.binary_search(&hash(id)) {
            if let Some(&first) = seen[k].iter().find(|&&a| residents.id(a as usize) == id) {
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

    /// Buckets filled with `hash`, as parsing fills them, in two pieces.
    fn buckets(r: &Residents, hash: &impl Fn(&str) -> u64) -> Vec<IdHashes> {
        let mut pieces = vec![IdHashes::with_capacity(4), IdHashes::with_capacity(4)];
        for row in 0..r.len() {
            pieces[usize::from(row >= r.len() / 2)].push_hash(hash(r.id(row)));
        }
        pieces
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
        let hashes: [&dyn Fn(&str) -> u64; 3] = [&hash_id, &|_: &str| 7 << 58, &|s: &str| {
            (s.len() as u64 % 2) << 63
        }];
        for (ids, want) in cases {
            let r = residents(ids);
            for h in hashes {
                let got = first_duplicate_by(&r, &buckets(&r, &h), &Sequential, h);
                assert_eq!(got, want, "{ids:?}");
            }
        }
    }
}
