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
/// bucket (in parallel); equal hashes are confirmed on the strings.
pub(super) fn first_duplicate<E: Executor>(
    residents: &Residents,
    hashes: &[IdHashes],
    exec: &E,
) -> Option<(u32, u32)> {
    let found = exec.map((0..ID_BUCKETS).collect(), |b| {
        let mut all: Vec<(u64, u32)> =
            Vec::with_capacity(hashes.iter().map(|h| h.0[b].len()).sum());
        for h in hashes {
            all.extend_from_slice(&h.0[b]);
        }
        all.sort_unstable();
        let mut found: Option<(u32, u32)> = None;
        for run in all.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
            // Sorted by row within the run.
            for (i, &(_, b)) in run.iter().enumerate() {
                let id_b = residents.id(b as usize);
                if let Some(&(_, a)) = run[..i]
                    .iter()
                    .find(|&&(_, a)| residents.id(a as usize) == id_b)
                {
                    if found.is_none_or(|(_, f)| b < f) {
                        found = Some((a, b));
                    }
                    break;
                }
            }
        }
        found
    });
    found.into_iter().flatten().min_by_key(|&(_, b)| b)
}
