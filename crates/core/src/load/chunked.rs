//! Residents from the GIS table formats (GeoParquet row groups,
//! GeoPackage blocks of feature ids), decoded and parsed chunk by chunk in
//! parallel, straight into the final columns.

use super::*;
use bacino_formats::{PointChunk, PointChunks};

/// One row of a chunk as a record: the point's x and y as columns 0 and
/// 1 (numbers only), then the attribute columns.
struct ChunkRow<'a> {
    chunk: &'a PointChunk,
    i: usize,
}

impl Fields for ChunkRow<'_> {
    fn count(&self) -> usize {
        2 + self.chunk.columns.len()
    }
    fn field(&self, j: usize) -> &[u8] {
        self.text(j).unwrap_or_default().as_bytes()
    }
    fn text(&self, j: usize) -> Option<&str> {
        Some(match j {
            0 | 1 => "",
            _ => self.chunk.columns[j - 2].text(self.i).unwrap_or_default(),
        })
    }
    fn number(&self, j: usize) -> Option<f64> {
        match j {
            0 => Some(self.chunk.x[self.i]),
            1 => Some(self.chunk.y[self.i]),
            _ => self.chunk.columns[j - 2].number(self.i),
        }
    }
}

/// Where a row of a chunk is, for messages: its row number or feature id.
fn pos_of(chunk: &PointChunk, i: usize) -> RowPos {
    RowPos {
        line: None,
        feature: usize::try_from(chunk.locators[i]).ok(),
    }
}

/// Loads the residents of a GeoParquet or GeoPackage file, in the CRS the
/// file declares.
pub(super) fn load_residents_chunked<E: Executor>(
    path: &Path,
    facilities: &Facilities,
    exec: &E,
) -> Result<Residents> {
    let chunks = PointChunks::open(path, None).map_err(|e| format_error(path, e))?;
    residents_from_chunks(path, &chunks, facilities, exec)
}

/// The residents of a point layer read in chunks (a file, or a PostGIS
/// table named `path` in messages).
pub(super) fn residents_from_chunks<E: Executor>(
    path: &Path,
    chunks: &PointChunks,
    facilities: &Facilities,
    exec: &E,
) -> Result<Residents> {
    let transform = ToWgs84::new(declared_crs(path, chunks.epsg)?)?;
    let mut header = vec!["(geometry x)".to_owned(), "(geometry y)".to_owned()];
    header.extend(chunks.columns.iter().cloned());
    let t = Table {
        path,
        header,
        geometry_xy: true,
        records: Some(chunks.locator.clone()),
    };
    let cols = ResidentCols::new(&t)?;
    let p = ResidentParser {
        t: &t,
        cols: &cols,
        transform: &transform,
        facilities,
    };
    let pieces = chunks
        .chunk_rows
        .iter()
        .enumerate()
        .map(|(k, &rows)| (k, rows))
        .collect();
    let residents = parse_pieces(
        path,
        &cols,
        &ResidentColumns::all(),
        pieces,
        exec,
        |k, sink| {
            let chunk = chunks.read(k).map_err(|e| format_error(path, e))?;
            for i in 0..chunk.len() {
                p.push(sink, &ChunkRow { chunk: &chunk, i }, pos_of(&chunk, i))?;
            }
            Ok(())
        },
    )?;
    check_unique_ids(path, &residents, exec, Some(&chunks.locator), |row| {
        // The chunk holding global row `row`, read again (an error path).
        let mut first = 0;
        for (k, &rows) in chunks.chunk_rows.iter().enumerate() {
            if (row as usize) < first + rows {
                if let Ok(chunk) = chunks.read(k) {
                    return pos_of(&chunk, row as usize - first);
                }
                break;
            }
            first += rows;
        }
        RowPos {
            line: None,
            feature: None,
        }
    })?;
    Ok(residents)
}
