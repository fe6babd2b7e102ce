//! Candidate sites from a CSV file `id,lon,lat[,capacity]`.

use std::path::Path;

use bacino_core::{Error, FacilityKind, Location, OpenFacility, Result};

/// Reads candidate sites from a CSV `id,lon,lat[,capacity]`; errors name
/// the file, line and column.
pub fn read_candidates(path: &Path, kind: FacilityKind) -> Result<Vec<OpenFacility>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let at = |line: usize, col: Option<(usize, &str)>| Location {
        path: path.to_owned(),
        line: Some(line as u64),
        column: col.map(|c| c.0),
        field: col.map(|c| c.1.to_owned()),
        feature: None,
        record: None,
    };
    let mut lines = text.lines().enumerate();
    let header: Vec<String> = match lines.next() {
        Some((_, h)) => h
            .trim_start_matches('\u{feff}')
            .split(',')
            .map(|s| s.trim().to_lowercase())
            .collect(),
        None => {
            return Err(Error::input(
                at(1, None),
                "expected a header `id,lon,lat[,capacity]`, found an empty file",
            ))
        }
    };
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(ci), Some(cx), Some(cy)) = (col("id"), col("lon"), col("lat")) else {
        return Err(Error::input(
            at(1, None),
            format!(
                "expected the columns id, lon, lat (and optionally capacity), found `{}`",
                header.join(",")
            ),
        ));
    };
    let cc = col("capacity");
    let mut out: Vec<OpenFacility> = Vec::new();
    for (k, line) in lines {
        let n = k + 1;
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() != header.len() {
            return Err(Error::input(
                at(n, None),
                format!("expected {} fields, found {}", header.len(), f.len()),
            ));
        }
        let num = |c: usize, name: &str, lo: f64, hi: f64| -> Result<f64> {
            f[c].parse::<f64>()
                .ok()
                .filter(|v| (lo..=hi).contains(v))
                .ok_or_else(|| {
                    Error::input(
                        at(n, Some((c + 1, name))),
                        format!("expected a number in {lo}..{hi}, found `{}`", f[c]),
                    )
                })
        };
        let id = f[ci];
        if id.is_empty() {
            return Err(Error::input(
                at(n, Some((ci + 1, "id"))),
                "expected an id, found nothing",
            ));
        }
        if out.iter().any(|o| o.id == id) {
            return Err(Error::input(
                at(n, Some((ci + 1, "id"))),
                format!("the id `{id}` repeats"),
            ));
        }
        let capacity = match cc {
            Some(c) if !f[c].is_empty() => Some(f[c].parse::<u32>().map_err(|_| {
                Error::input(
                    at(n, Some((c + 1, "capacity"))),
                    format!("expected a whole number, found `{}`", f[c]),
                )
            })?),
            _ => None,
        };
        out.push(OpenFacility {
            id: id.to_owned(),
            kind,
            lon: num(cx, "lon", -180.0, 180.0)?,
            lat: num(cy, "lat", -90.0, 90.0)?,
            capacity,
            name: None,
            municipality: None,
        });
    }
    if out.is_empty() {
        return Err(Error::input(
            at(1, None),
            "expected at least one candidate site, found none",
        ));
    }
    Ok(out)
}
