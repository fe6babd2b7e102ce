//! Point tables of the GIS table formats (GeoParquet, GeoPackage) read in
//! chunks: GeoParquet row groups, GeoPackage blocks of feature ids. Each
//! chunk is decoded on its own (its own file handle), so a caller may
//! decode several at once; the values stay in Arrow arrays, read in place.

use std::cell::OnceCell;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, Float64Array, Int32Array, Int64Array, StringArray};
use arrow_schema::DataType;

use crate::points::{PointRow, PointTable};
use crate::{Error, Format, Result};

/// A point layer opened for reading chunk by chunk.
#[derive(Debug)]
pub struct PointChunks {
    /// The layer's name (the file stem for GeoParquet).
    pub layer: String,
    /// What a row's locator counts, for messages: `row` (GeoParquet),
    /// ``layer `x`, fid`` (GeoPackage).
    pub locator: String,
    /// The attribute columns (not the geometry, the key or the covering).
    pub columns: Vec<String>,
    /// The CRS the file declares (EPSG code).
    pub epsg: u32,
    /// Rows in each chunk, in file order.
    pub chunk_rows: Vec<usize>,
    /// What errors name as the source: the file, or the layer of a reader.
    pub(crate) origin: std::path::PathBuf,
    pub(crate) source: Source,
}

#[derive(Debug)]
pub(crate) enum Source {
    Parquet(crate::geoparquet::ChunkSource),
    Gpkg(crate::gpkg::ChunkSource),
    Other(Box<dyn ReadChunk>),
}

/// A reader of chunks from elsewhere (a database table), so that its
/// rows load through the same parallel path as a file's.
pub trait ReadChunk: std::fmt::Debug + Send + Sync {
    /// Reads chunk `k`; it must hold the rows announced for it.
    fn read(&self, k: usize) -> Result<PointChunk>;
}

impl PointChunks {
    /// Opens the point layer of a GeoParquet or GeoPackage file (`layer`
    /// picks a GeoPackage's layer; its only feature layer otherwise).
    /// Reads metadata only.
    pub fn open(path: &Path, layer: Option<&str>) -> Result<PointChunks> {
        match Format::of(path)? {
            Format::GeoParquet => crate::geoparquet::open_chunks(path),
            Format::GeoPackage => crate::gpkg::open_chunks(path, layer),
            other => Err(Error::Format {
                path: path.to_owned(),
                message: format!("{other:?} is not read in chunks; expected .parquet or .gpkg"),
            }),
        }
    }

    /// A point layer read by `reader`, chunk by chunk.
    pub fn from_reader(
        layer: String,
        locator: String,
        columns: Vec<String>,
        epsg: u32,
        chunk_rows: Vec<usize>,
        reader: Box<dyn ReadChunk>,
    ) -> PointChunks {
        PointChunks {
            origin: layer.clone().into(),
            layer,
            locator,
            columns,
            epsg,
            chunk_rows,
            source: Source::Other(reader),
        }
    }

    /// Decodes chunk `k` (`0..chunk_rows.len()`).
    pub fn read(&self, k: usize) -> Result<PointChunk> {
        let chunk = match &self.source {
            Source::Parquet(s) => s.read(k)?,
            Source::Gpkg(s) => s.read(k)?,
            Source::Other(r) => r.read(k)?,
        };
        if chunk.len() != self.chunk_rows[k] {
            return Err(Error::Format {
                path: self.origin.clone(),
                message: format!(
                    "chunk {k} holds {} rows where {} were announced: the source changed \
                     while it was read",
                    chunk.len(),
                    self.chunk_rows[k]
                ),
            });
        }
        Ok(chunk)
    }

    /// Every chunk, one after the other, as rows of text.
    pub fn read_all(&self) -> Result<PointTable> {
        let mut rows = Vec::with_capacity(self.chunk_rows.iter().sum());
        for k in 0..self.chunk_rows.len() {
            let c = self.read(k)?;
            for i in 0..c.len() {
                rows.push(PointRow {
                    locator: c.locators[i],
                    x: c.x[i],
                    y: c.y[i],
                    values: c
                        .columns
                        .iter()
                        .map(|col| col.text(i).map(str::to_owned))
                        .collect(),
                });
            }
        }
        Ok(PointTable {
            layer: self.layer.clone(),
            locator: self.locator.clone(),
            columns: self.columns.clone(),
            rows,
            epsg: Some(self.epsg),
        })
    }
}

/// Keys per block when a table keyed by integers is counted: a block is
/// `key >> KEY_BLOCK_BITS`.
pub const KEY_BLOCK_BITS: u32 = 16;

/// The chunks of a table keyed by integers, from its rows counted per
/// block of keys (`(key >> KEY_BLOCK_BITS, rows)`, ascending):
/// neighbouring blocks merge until a chunk would hold more than 65,536
/// rows, so keys far apart do not make a chunk per row. Each chunk is an
/// inclusive key range and its rows.
pub fn key_chunks(blocks: &[(i64, usize)]) -> Vec<(i64, i64, usize)> {
    const ROWS: usize = 1 << KEY_BLOCK_BITS;
    let mut out: Vec<(i64, i64, usize)> = Vec::new();
    for &(block, rows) in blocks {
        // `block` came from a shift, so shifting back cannot overflow.
        let lo = block << KEY_BLOCK_BITS;
        let hi = lo | ((1 << KEY_BLOCK_BITS) - 1);
        match out.last_mut() {
            Some(last) if last.2 + rows <= ROWS => {
                last.1 = hi;
                last.2 += rows;
            }
            _ => out.push((lo, hi, rows)),
        }
    }
    out
}

/// The rows of one chunk: coordinates in the file's CRS, and the
/// attribute columns in the order of [`PointChunks::columns`].
#[derive(Debug)]
pub struct PointChunk {
    /// Each row's place in the file: row number (GeoParquet, from 0) or
    /// feature id (GeoPackage).
    pub locators: Vec<i64>,
    /// x (longitude in EPSG:4326) of each row.
    pub x: Vec<f64>,
    /// y (latitude in EPSG:4326) of each row.
    pub y: Vec<f64>,
    /// The attribute columns.
    pub columns: Vec<Column>,
}

impl PointChunk {
    /// Rows in the chunk.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }
}

/// One attribute column of a chunk: an Arrow array, read in place; its
/// values as text are rendered once, on first use, when it holds
/// numbers or booleans.
#[derive(Debug)]
pub struct Column {
    pub(crate) array: ArrayRef,
    /// The array downcast once, for the common types.
    fast: Fast,
    rendered: OnceCell<StringArray>,
}

/// Columns read without a type dispatch per value.
#[derive(Debug)]
enum Fast {
    Text(StringArray),
    /// Dictionary-encoded text (GeoParquet's usual text columns).
    DictText(Int32Array, StringArray),
    /// Any other dictionary: its keys normalised once (`None`: null),
    /// its values a column of their own.
    Dict(Vec<Option<u32>>, Box<Column>),
    Float(Float64Array),
    Int(Int64Array),
    Other,
}

impl Column {
    /// A column of text, numbers or booleans (or a dictionary of them);
    /// other types are refused with what was found.
    pub fn new(array: ArrayRef) -> std::result::Result<Column, String> {
        if !supported(array.data_type()) {
            return Err(format!(
                "type {}; expected text, numbers or booleans",
                array.data_type()
            ));
        }
        let fast = match array.data_type() {
            DataType::Utf8 => Fast::Text(array.as_string::<i32>().clone()),
            DataType::Float64 => Fast::Float(array.as_primitive::<Float64Type>().clone()),
            DataType::Int64 => Fast::Int(array.as_primitive::<Int64Type>().clone()),
            DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
                let d = array.as_dictionary::<Int32Type>();
                Fast::DictText(d.keys().clone(), d.values().as_string::<i32>().clone())
            }
            DataType::Dictionary(_, _) => {
                let d = array.as_any_dictionary();
                let keys = d
                    .normalized_keys()
                    .into_iter()
                    .enumerate()
                    .map(|(i, k)| (!array.is_null(i)).then_some(k as u32))
                    .collect();
                Fast::Dict(keys, Box::new(Column::new(d.values().clone())?))
            }
            _ => Fast::Other,
        };
        Ok(Column {
            array,
            fast,
            rendered: OnceCell::new(),
        })
    }

    /// Row `i` as text (numbers as Rust prints them: `1500`, `0.25`);
    /// `None` when null.
    #[inline]
    pub fn text(&self, i: usize) -> Option<&str> {
        match &self.fast {
            Fast::Text(s) => s.is_valid(i).then(|| s.value(i)),
            Fast::DictText(keys, values) => {
                let k = keys.is_valid(i).then(|| keys.value(i) as usize)?;
                values.is_valid(k).then(|| values.value(k))
            }
            Fast::Dict(keys, values) => values.text(keys[i]? as usize),
            _ => text_of(&self.array, i, &self.rendered),
        }
    }

    /// Row `i` as a number when the column holds numbers; `None` when
    /// null or not numeric (then read [`Column::text`]).
    #[inline]
    pub fn number(&self, i: usize) -> Option<f64> {
        match &self.fast {
            Fast::Float(a) => a.is_valid(i).then(|| a.value(i)),
            Fast::Int(a) => a.is_valid(i).then(|| a.value(i) as f64),
            Fast::Text(_) | Fast::DictText(..) => None,
            Fast::Dict(keys, values) => values.number(keys[i]? as usize),
            Fast::Other => number_of(self.array.as_ref(), i),
        }
    }
}

fn supported(t: &DataType) -> bool {
    match t {
        DataType::Dictionary(_, v) => supported(v),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Boolean => true,
        t => t.is_integer() || matches!(t, DataType::Float32 | DataType::Float64),
    }
}

fn text_of<'a>(a: &'a ArrayRef, i: usize, rendered: &'a OnceCell<StringArray>) -> Option<&'a str> {
    if a.is_null(i) {
        return None;
    }
    match a.data_type() {
        DataType::Utf8 => Some(a.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => Some(a.as_string::<i64>().value(i)),
        DataType::Utf8View => Some(a.as_string_view().value(i)),
        _ => Some(rendered.get_or_init(|| render(a.as_ref())).value(i)),
    }
}

fn number_of(a: &dyn Array, i: usize) -> Option<f64> {
    if a.is_null(i) {
        return None;
    }
    Some(match a.data_type() {
        DataType::Int8 => a.as_primitive::<Int8Type>().value(i) as f64,
        DataType::Int16 => a.as_primitive::<Int16Type>().value(i) as f64,
        DataType::Int32 => a.as_primitive::<Int32Type>().value(i) as f64,
        DataType::Int64 => a.as_primitive::<Int64Type>().value(i) as f64,
        DataType::UInt8 => a.as_primitive::<UInt8Type>().value(i) as f64,
        DataType::UInt16 => a.as_primitive::<UInt16Type>().value(i) as f64,
        DataType::UInt32 => a.as_primitive::<UInt32Type>().value(i) as f64,
        DataType::UInt64 => a.as_primitive::<UInt64Type>().value(i) as f64,
        DataType::Float32 => a.as_primitive::<Float32Type>().value(i) as f64,
        DataType::Float64 => a.as_primitive::<Float64Type>().value(i),
        _ => return None,
    })
}

/// A column of numbers or booleans as text, row by row.
fn render(a: &dyn Array) -> StringArray {
    use std::fmt::Write;
    let mut b = arrow_array::builder::StringBuilder::with_capacity(a.len(), a.len() * 8);
    let mut s = String::new();
    for i in 0..a.len() {
        if a.is_null(i) {
            b.append_null();
            continue;
        }
        s.clear();
        // Integers printed exactly (not through f64: ids above 2^53).
        let _ = match a.data_type() {
            DataType::Boolean => write!(s, "{}", a.as_boolean().value(i)),
            DataType::Float32 => write!(s, "{}", a.as_primitive::<Float32Type>().value(i)),
            DataType::Float64 => write!(s, "{}", a.as_primitive::<Float64Type>().value(i)),
            DataType::Int8 => write!(s, "{}", a.as_primitive::<Int8Type>().value(i)),
            DataType::Int16 => write!(s, "{}", a.as_primitive::<Int16Type>().value(i)),
            DataType::Int32 => write!(s, "{}", a.as_primitive::<Int32Type>().value(i)),
            DataType::Int64 => write!(s, "{}", a.as_primitive::<Int64Type>().value(i)),
            DataType::UInt8 => write!(s, "{}", a.as_primitive::<UInt8Type>().value(i)),
            DataType::UInt16 => write!(s, "{}", a.as_primitive::<UInt16Type>().value(i)),
            DataType::UInt32 => write!(s, "{}", a.as_primitive::<UInt32Type>().value(i)),
            DataType::UInt64 => write!(s, "{}", a.as_primitive::<UInt64Type>().value(i)),
            // Text is read in place; dictionaries through their values.
            _ => {
                b.append_null();
                continue;
            }
        };
        b.append_value(&s);
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_of_keys_merge_into_chunks_of_at_most_65536_rows() {
        // Dense blocks stay one chunk each; sparse ones (a row every 2^20
        // keys, negative keys too) merge.
        let mut blocks = vec![(-32, 1), (-16, 1), (0, 65_535), (1, 65_536), (2, 3)];
        blocks.extend((0..100).map(|i| (16 + i * 16, 1)));
        let chunks = key_chunks(&blocks);
        assert_eq!(chunks[0], (-32 << 16, (-16 << 16) | 0xFFFF, 2));
        assert_eq!(chunks[1], (0, 0xFFFF, 65_535));
        assert_eq!(chunks[2], (1 << 16, (1 << 16) | 0xFFFF, 65_536));
        assert_eq!(chunks[3], (2 << 16, ((16 + 99 * 16) << 16) | 0xFFFF, 103));
        assert_eq!(chunks.len(), 4);
        assert_eq!(
            chunks.iter().map(|c| c.2).sum::<usize>(),
            blocks.iter().map(|b| b.1).sum::<usize>()
        );
        // Extreme keys.
        let extreme = key_chunks(&[(i64::MIN >> 16, 1), (i64::MAX >> 16, 1)]);
        assert_eq!(extreme, [(i64::MIN, i64::MAX, 2)]);
    }
    use arrow_array::{
        BooleanArray, DictionaryArray, Float64Array, Int32Array, Int64Array, UInt64Array,
    };
    use std::sync::Arc;

    #[test]
    fn columns_read_as_text_and_numbers() {
        let ints = Column::new(Arc::new(Int64Array::from(vec![
            Some(16024),
            None,
            Some(-3),
        ])))
        .unwrap();
        assert_eq!(ints.text(0), Some("16024"));
        assert_eq!(ints.text(1), None);
        assert_eq!(ints.text(2), Some("-3"));
        assert_eq!(ints.number(0), Some(16024.0));
        assert_eq!(ints.number(1), None);

        let floats = Column::new(Arc::new(Float64Array::from(vec![1.0, 0.25]))).unwrap();
        assert_eq!(floats.text(0), Some("1"));
        assert_eq!(floats.text(1), Some("0.25"));
        assert_eq!(floats.number(1), Some(0.25));

        let big = Column::new(Arc::new(UInt64Array::from(vec![u64::MAX]))).unwrap();
        assert_eq!(big.text(0), Some("18446744073709551615"));
        // Above 2^53 every digit stays (an f64 would round both to one id).
        let ids = Column::new(Arc::new(Int64Array::from(vec![
            9_007_199_254_740_993,
            9_007_199_254_740_992,
        ])))
        .unwrap();
        assert_eq!(ids.text(0), Some("9007199254740993"));
        assert_eq!(ids.text(1), Some("9007199254740992"));

        // geopandas' large_string dictionaries, with a null key.
        let large = DictionaryArray::new(
            arrow_array::Int16Array::from(vec![Some(1), None, Some(0)]),
            Arc::new(arrow_array::LargeStringArray::from(vec![
                "Crema", "Bergamo",
            ])),
        );
        let large = Column::new(Arc::new(large)).unwrap();
        assert_eq!(large.text(0), Some("Bergamo"));
        assert_eq!(large.text(1), None);
        assert_eq!(large.text(2), Some("Crema"));

        let text = Column::new(Arc::new(StringArray::from(vec![Some("016024"), None]))).unwrap();
        assert_eq!(text.text(0), Some("016024"));
        assert_eq!(text.number(0), None);
        assert_eq!(text.text(1), None);

        let flags = Column::new(Arc::new(BooleanArray::from(vec![true, false]))).unwrap();
        assert_eq!(flags.text(0), Some("true"));
        assert_eq!(flags.text(1), Some("false"));

        let dict: DictionaryArray<arrow_array::types::Int8Type> =
            vec!["Crema", "Bergamo", "Crema"].into_iter().collect();
        let dict = Column::new(Arc::new(dict)).unwrap();
        assert_eq!(dict.text(2), Some("Crema"));
        assert_eq!(dict.text(1), Some("Bergamo"));

        let num_dict = DictionaryArray::new(
            arrow_array::Int8Array::from(vec![1, 0]),
            Arc::new(Int32Array::from(vec![7, 9])),
        );
        let num_dict = Column::new(Arc::new(num_dict)).unwrap();
        assert_eq!(num_dict.text(0), Some("9"));
        assert_eq!(num_dict.number(1), Some(7.0));

        let binary = Column::new(Arc::new(arrow_array::BinaryArray::from(vec![&b"x"[..]])));
        assert!(binary.is_err());
        let binary = Column::new(Arc::new(arrow_array::BinaryArray::from(vec![&b"x"[..]])));
        assert!(binary
            .unwrap_err()
            .contains("expected text, numbers or booleans"));
    }
}

#[cfg(test)]
mod source_changed {
    use super::*;
    use crate::{Layer, Values};
    use geo_types::{Geometry, Point};

    /// Rows deleted between opening a GeoPackage and reading its chunk:
    /// the error names the file, not the layer.
    #[test]
    fn a_chunk_that_lost_rows_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("people.gpkg");
        let layer = Layer {
            name: "residents".into(),
            geometries: (0..3)
                .map(|i| Some(Geometry::Point(Point::new(9.6 + f64::from(i) * 0.01, 45.7))))
                .collect(),
            columns: vec![(
                "id".into(),
                Values::Text(vec![Some("a".into()), Some("b".into()), Some("c".into())]),
            )],
        };
        crate::write(&path, &layer).unwrap();
        let chunks = PointChunks::open(&path, None).unwrap();
        assert_eq!(chunks.read(0).unwrap().len(), 3);
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute("DELETE FROM residents WHERE id = 'b'", [])
            .unwrap();
        let err = chunks.read(0).unwrap_err().to_string();
        assert!(err.contains("people.gpkg"), "{err}");
        assert!(
            err.contains("chunk 0 holds 2 rows where 3 were announced"),
            "{err}"
        );
    }
}
