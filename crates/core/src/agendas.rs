//! Ambulatori Diffusi agenda slots (CONTRACT §9): `[agendas]` in the
//! manifest names a CSV `gp_id,date,slots_available,slots_booked` (e.g.
//! exported from the booking portal), one row per AD GP and day. Validated
//! whole at load: every `gp_id` an AD GP of the dataset, every date an ISO
//! calendar date, slots whole numbers with `booked ≤ available`, each
//! (GP, day) once; errors name the file, line and column.

use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use crate::error::{Error, Location, Result};
use crate::load::LineCounter;
use crate::model::{Facilities, FacilityIdx, FacilityKind};

/// A calendar day as days since 1970-01-01 (proleptic Gregorian).
pub type Day = i32;

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> Day {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day.
pub fn civil_from_days(z: Day) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i32::from(m <= 2);
    (y, m, d)
}

/// Parses `YYYY-MM-DD`, a real calendar date.
pub fn parse_date(s: &str) -> Option<Day> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let t = &s[r];
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, m, d) = (num(0..4)? as i32, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let day = days_from_civil(y, m, d);
    (civil_from_days(day) == (y, m, d)).then_some(day)
}

/// The ISO 8601 week of a day: `(ISO year, week 1..=53)`; weeks start on
/// Monday and week 1 holds the year's first Thursday.
pub fn iso_week(day: Day) -> (i32, u32) {
    let weekday = (day + 3).rem_euclid(7); // 0 = Monday (1970-01-01 was a Thursday)
    let thursday = day - weekday + 3;
    let (year, _, _) = civil_from_days(thursday);
    let week = (thursday - days_from_civil(year, 1, 1)) / 7 + 1;
    (year, week as u32)
}

/// One agenda row: an AD GP's slots on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slots {
    /// The AD GP.
    pub gp: FacilityIdx,
    /// The day.
    pub day: Day,
    /// Slots offered.
    pub available: u32,
    /// Slots booked (≤ `available`).
    pub booked: u32,
}

/// The agendas of a dataset.
#[derive(Debug, Clone)]
pub struct Agendas {
    /// The file as configured.
    pub path: String,
    /// Rows by day, then GP.
    pub rows: Vec<Slots>,
}

impl Agendas {
    /// Reads and validates the agenda CSV against `facilities`.
    pub fn load(path: &Path, facilities: &Facilities) -> Result<Agendas> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let at = |line: u64, column: Option<usize>, field: Option<&str>| Location {
            path: PathBuf::from(path),
            line: Some(line),
            column,
            field: field.map(str::to_owned),
            feature: None,
            record: None,
        };
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(bytes.as_slice());
        let header = rdr
            .headers()
            .map_err(|e| Error::input(at(1, None, None), format!("malformed CSV: {e}")))?
            .clone();
        let col = |name: &str| -> Result<usize> {
            header
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    Error::input(
                        at(1, None, None),
                        format!(
                            "missing required column `{name}` (expected \
                             gp_id,date,slots_available,slots_booked; found {})",
                            header.iter().collect::<Vec<_>>().join(",")
                        ),
                    )
                })
        };
        let (cg, cd, ca, cb) = (
            col("gp_id")?,
            col("date")?,
            col("slots_available")?,
            col("slots_booked")?,
        );
        let mut rows = Vec::new();
        let mut seen: FxHashMap<(FacilityIdx, Day), u64> = FxHashMap::default();
        let mut lines = LineCounter::new(&bytes, 1);
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(0, |p| lines.line_at(p.byte() as usize));
                Error::input(at(line, None, None), format!("malformed CSV: {e}"))
            })?;
            let line = lines.line_at(rec.position().map_or(0, |p| p.byte() as usize));
            let field = |c: usize| rec.get(c).unwrap_or("").trim();
            let id = field(cg);
            let gp = facilities.index_of(id).ok_or_else(|| {
                Error::input(
                    at(line, Some(cg + 1), Some("gp_id")),
                    format!("expected a GP id of the dataset, found `{id}`"),
                )
            })?;
            let f = facilities.get(gp);
            if f.kind != FacilityKind::Gp || !f.ad {
                return Err(Error::input(
                    at(line, Some(cg + 1), Some("gp_id")),
                    format!(
                        "expected a GP taking part in Ambulatori Diffusi (kind `gp`, ad = true), \
                         found `{id}` (kind `{}`, ad = {})",
                        f.kind, f.ad
                    ),
                ));
            }
            let text = field(cd);
            let day = parse_date(text).ok_or_else(|| {
                Error::input(
                    at(line, Some(cd + 1), Some("date")),
                    format!("expected an ISO date YYYY-MM-DD, found `{text}`"),
                )
            })?;
            let count = |c: usize, name: &str| -> Result<u32> {
                let t = field(c);
                t.parse::<u32>().map_err(|_| {
                    Error::input(
                        at(line, Some(c + 1), Some(name)),
                        format!("expected a whole number of slots ≥ 0, found `{t}`"),
                    )
                })
            };
            let available = count(ca, "slots_available")?;
            let booked = count(cb, "slots_booked")?;
            if booked > available {
                return Err(Error::input(
                    at(line, Some(cb + 1), Some("slots_booked")),
                    format!(
                        "expected at most slots_available = {available} booked, found {booked}"
                    ),
                ));
            }
            if let Some(first) = seen.insert((gp, day), line) {
                return Err(Error::input(
                    at(line, Some(cd + 1), Some("date")),
                    format!("`{id}` on {text} is given twice (first on line {first})"),
                ));
            }
            rows.push(Slots {
                gp,
                day,
                available,
                booked,
            });
        }
        rows.sort_by_key(|s| (s.day, s.gp));
        Ok(Agendas {
            path: path.display().to_string(),
            rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_round_trip_and_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2022, 7, 4), 19_177);
        for z in -800_000..800_000 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn dates_are_strict() {
        assert_eq!(parse_date("2022-07-04"), Some(19_177));
        assert_eq!(parse_date("2024-02-29"), Some(days_from_civil(2024, 2, 29)));
        for bad in [
            "2023-02-29",
            "2022-13-01",
            "2022-00-10",
            "2022-07-00",
            "2022-7-4",
            "04/07/2022",
            "2022-07-04T00",
            "+022-07-04",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn iso_weeks_cross_year_boundaries_as_iso_8601_says() {
        // Known cases (ISO 8601; e.g. `date +%G-W%V`).
        for (date, want) in [
            ("2022-07-04", (2022, 27)),
            ("2022-01-02", (2021, 52)),
            ("2021-01-03", (2020, 53)),
            ("2021-01-04", (2021, 1)),
            ("2020-12-31", (2020, 53)),
            ("2024-12-30", (2025, 1)),
            ("2019-12-30", (2020, 1)),
            ("2026-12-31", (2026, 53)),
            ("2027-01-01", (2026, 53)),
        ] {
            assert_eq!(iso_week(parse_date(date).unwrap()), want, "{date}");
        }
    }
}
