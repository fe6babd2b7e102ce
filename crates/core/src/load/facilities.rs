//! The facilities file.

use super::*;

// ---------------------------------------------------------------- facilities

pub(super) fn parse_opt_u32(
    t: &Table,
    rec: &ByteRecord,
    col: Option<usize>,
    pos: RowPos,
) -> Result<Option<u32>> {
    let Some(col) = col else { return Ok(None) };
    let s = t.str(rec, col, pos)?;
    if s.is_empty() {
        return Ok(None);
    }
    // Accept "1500" and "1500.0" (spreadsheets and GeoJSON numbers).
    s.parse::<u32>()
        .ok()
        .or_else(|| {
            s.parse::<f64>()
                .ok()
                .filter(|v| v.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(v))
                .map(|v| v as u32)
        })
        .map(Some)
        .ok_or_else(|| {
            t.err(
                pos,
                Some(col),
                format!("expected a whole number ≥ 0, found `{s}`"),
            )
        })
}

pub(super) fn load_facilities(path: &Path, crs: Crs) -> Result<Facilities> {
    let bytes = if is_table_format(path) {
        Vec::new()
    } else {
        read_bytes(path)?
    };
    let mut table_crs = None;
    let (header, records, offset_line, geometry_xy): (
        Vec<String>,
        Vec<(ByteRecord, RowPos)>,
        _,
        _,
    ) = if let Some((h, rows, c, r)) = table_points(path)? {
        table_crs = Some((c, r));
        (h, rows, 0, true)
    } else if is_geojson(path) {
        let (h, rows) = geojson_points(path, &bytes)?;
        let rows = rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    r,
                    RowPos {
                        line: None,
                        feature: Some(i),
                    },
                )
            })
            .collect();
        (h, rows, 0, true)
    } else {
        let (h, start) = csv_header(path, &bytes)?;
        let mut rdr = csv_reader(&bytes[start..], false);
        let header_lines = bytes[..start].iter().filter(|&&b| b == b'\n').count() as u64;
        let mut lines = LineCounter::new(&bytes[start..], header_lines + 1);
        let mut rows = Vec::new();
        let mut rec = ByteRecord::new();
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(true) => {
                    let line = lines.line_at(rec.position().map_or(0, |p| p.byte() as usize));
                    rows.push((
                        rec.clone(),
                        RowPos {
                            line: Some(line),
                            feature: None,
                        },
                    ));
                }
                Ok(false) => break,
                Err(e) => return Err(csv_error_at(path, &e, &mut lines)),
            }
        }
        (h, rows, 1, false)
    };
    let _ = offset_line;
    let (crs, record_label) = match table_crs {
        Some((c, r)) => (c, Some(r)),
        None => (crs, None),
    };
    let t = Table {
        path,
        header,
        geometry_xy,
        records: record_label,
    };
    parse_facilities(&t, &records, crs)
}

/// The facilities of a table's records, in `crs`.
pub(super) fn parse_facilities(
    t: &Table,
    records: &[(ByteRecord, RowPos)],
    crs: Crs,
) -> Result<Facilities> {
    let transform = ToWgs84::new(crs)?;
    let id_c = t.require("id")?;
    let kind_c = t.require("kind")?;
    let coords = t.coord_cols()?;
    let name_c = t.find("name");
    let cap_c = t.find("capacity");
    let list_c = t.find("list_size");
    let status_c = t.find("status");
    let muni_c = t.find("municipality");
    let ad_c = t.find("ad");
    let aft_c = t.find("aft");
    let retire_c = t.find("retire_p");
    let read = [
        Some(id_c),
        Some(kind_c),
        Some(coords.x),
        Some(coords.y),
        name_c,
        cap_c,
        list_c,
        status_c,
        muni_c,
        ad_c,
        aft_c,
        retire_c,
    ];
    let other_c: Vec<usize> = (0..t.header.len())
        .filter(|c| !read.contains(&Some(*c)))
        .collect();

    let mut items = Vec::with_capacity(records.len());
    let mut positions = Vec::with_capacity(records.len());
    for (rec, pos) in records {
        let pos = *pos;
        t.check_len(rec, pos)?;
        let id = t.str(rec, id_c, pos)?;
        if id.is_empty() {
            return Err(t.err(pos, Some(id_c), "expected a non-empty id"));
        }
        let kind_s = t.str(rec, kind_c, pos)?;
        let kind = kind_s
            .parse()
            .map_err(|m: String| t.err(pos, Some(kind_c), m))?;
        let location = t.point(rec, coords, &transform, pos)?;
        let status = match status_c.map(|c| t.str(rec, c, pos)).transpose()? {
            None | Some("") => FacilityStatus::Active,
            Some(s) if s.eq_ignore_ascii_case("active") => FacilityStatus::Active,
            Some(s) if s.eq_ignore_ascii_case("ceased") => FacilityStatus::Ceased,
            Some(s) => {
                return Err(t.err(
                    pos,
                    status_c,
                    format!("expected `active` or `ceased`, found `{s}`"),
                ))
            }
        };
        let ad = match ad_c.map(|c| t.str(rec, c, pos)).transpose()? {
            None | Some("") => false,
            Some(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "y" | "t" => true,
                "false" | "0" | "no" | "n" | "f" => false,
                _ => {
                    return Err(t.err(
                        pos,
                        ad_c,
                        format!("expected `true` or `false`, found `{s}`"),
                    ))
                }
            },
        };
        let text = |c: Option<usize>| -> Result<Option<String>> {
            Ok(c.map(|c| t.str(rec, c, pos))
                .transpose()?
                .filter(|s| !s.is_empty())
                .map(str::to_owned))
        };
        items.push(Facility {
            id: FacilityId(id.to_owned()),
            kind,
            name: text(name_c)?,
            location,
            capacity: parse_opt_u32(t, rec, cap_c, pos)?,
            list_size: parse_opt_u32(t, rec, list_c, pos)?,
            status,
            municipality: text(muni_c)?,
            ad,
            aft: text(aft_c)?,
            retire_p: match retire_c.map(|c| t.str(rec, c, pos)).transpose()? {
                None | Some("") => None,
                Some(s) => Some(
                    s.parse::<f64>()
                        .ok()
                        .filter(|p| (0.0..=1.0).contains(p))
                        .ok_or_else(|| {
                            t.err(
                                pos,
                                retire_c,
                                format!("expected a probability from 0 to 1, found `{s}`"),
                            )
                        })?,
                ),
            },
            other: other_c
                .iter()
                .map(|&c| Ok((t.header[c].clone(), t.str(rec, c, pos)?.to_owned())))
                .collect::<Result<_>>()?,
        });
        positions.push(pos);
    }
    Facilities::new(items).map_err(|(i, id)| {
        t.err(
            positions[i],
            Some(id_c),
            format!("duplicate facility id `{id}`"),
        )
    })
}
