//! Well-known binary (ISO, little-endian, 2-D), written from `geo-types`
//! and read back for points; the GeoPackage binary header around it.

use geo_types::{Coord, Geometry, LineString, Point, Polygon};

/// An envelope: min x, min y, max x, max y.
pub type Bbox = [f64; 4];

/// The empty envelope, which any point extends.
pub const EMPTY: Bbox = [
    f64::INFINITY,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NEG_INFINITY,
];

/// `b` grown to hold `c`.
pub fn extend(b: &mut Bbox, c: Coord<f64>) {
    b[0] = b[0].min(c.x);
    b[1] = b[1].min(c.y);
    b[2] = b[2].max(c.x);
    b[3] = b[3].max(c.y);
}

/// Whether `b` holds anything.
pub fn is_empty(b: &Bbox) -> bool {
    b[0] > b[2]
}

/// `a` grown to hold `b`.
pub fn union(a: &mut Bbox, b: &Bbox) {
    a[0] = a[0].min(b[0]);
    a[1] = a[1].min(b[1]);
    a[2] = a[2].max(b[2]);
    a[3] = a[3].max(b[3]);
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
    bbox: Bbox,
}

impl Writer<'_> {
    fn header(&mut self, ty: u32) {
        self.out.push(1);
        self.out.extend_from_slice(&ty.to_le_bytes());
    }
    fn count(&mut self, n: usize) {
        self.out.extend_from_slice(&(n as u32).to_le_bytes());
    }
    fn coord(&mut self, c: Coord<f64>) {
        extend(&mut self.bbox, c);
        self.out.extend_from_slice(&c.x.to_le_bytes());
        self.out.extend_from_slice(&c.y.to_le_bytes());
    }
    fn ring(&mut self, l: &LineString<f64>) {
        self.count(l.0.len());
        for c in &l.0 {
            self.coord(*c);
        }
    }
    fn polygon(&mut self, p: &Polygon<f64>) {
        self.header(3);
        self.count(1 + p.interiors().len());
        self.ring(p.exterior());
        for r in p.interiors() {
            self.ring(r);
        }
    }
    fn geometry(&mut self, g: &Geometry<f64>) {
        match g {
            Geometry::Point(p) => {
                self.header(1);
                self.coord(p.0);
            }
            Geometry::Line(l) => {
                self.header(2);
                self.count(2);
                self.coord(l.start);
                self.coord(l.end);
            }
            Geometry::LineString(l) => {
                self.header(2);
                self.ring(l);
            }
            Geometry::Polygon(p) => self.polygon(p),
            Geometry::Rect(r) => self.polygon(&r.to_polygon()),
            Geometry::Triangle(t) => self.polygon(&t.to_polygon()),
            Geometry::MultiPoint(m) => {
                self.header(4);
                self.count(m.0.len());
                for p in &m.0 {
                    self.header(1);
                    self.coord(p.0);
                }
            }
            Geometry::MultiLineString(m) => {
                self.header(5);
                self.count(m.0.len());
                for l in &m.0 {
                    self.header(2);
                    self.ring(l);
                }
            }
            Geometry::MultiPolygon(m) => {
                self.header(6);
                self.count(m.0.len());
                for p in &m.0 {
                    self.polygon(p);
                }
            }
            Geometry::GeometryCollection(c) => {
                self.header(7);
                self.count(c.0.len());
                for g in &c.0 {
                    self.geometry(g);
                }
            }
        }
    }
}

/// Appends `g` as ISO WKB to `out`; returns its envelope.
pub fn write(g: &Geometry<f64>, out: &mut Vec<u8>) -> Bbox {
    let mut w = Writer { out, bbox: EMPTY };
    w.geometry(g);
    w.bbox
}

/// The OGC name of a geometry's type, upper case (GeoPackage) or as
/// GeoJSON spells it (GeoParquet).
pub fn type_name(g: &Geometry<f64>) -> (&'static str, &'static str) {
    match g {
        Geometry::Point(_) => ("POINT", "Point"),
        Geometry::Line(_) | Geometry::LineString(_) => ("LINESTRING", "LineString"),
        Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => ("POLYGON", "Polygon"),
        Geometry::MultiPoint(_) => ("MULTIPOINT", "MultiPoint"),
        Geometry::MultiLineString(_) => ("MULTILINESTRING", "MultiLineString"),
        Geometry::MultiPolygon(_) => ("MULTIPOLYGON", "MultiPolygon"),
        Geometry::GeometryCollection(_) => ("GEOMETRYCOLLECTION", "GeometryCollection"),
    }
}

const TYPE_NAMES: [&str; 8] = [
    "Geometry",
    "Point",
    "LineString",
    "Polygon",
    "MultiPoint",
    "MultiLineString",
    "MultiPolygon",
    "GeometryCollection",
];

/// Reads one point from WKB (ISO or EWKB, either byte order, with Z or M
/// ignored); a one-point MultiPoint is that point. Errors say what was
/// found instead.
pub fn read_point(b: &[u8]) -> Result<Point<f64>, String> {
    let mut r = Reader { b, at: 0, extra: 0 };
    let (ty, le) = r.header()?;
    match ty {
        1 => r.xy(le),
        4 => {
            let n = r.u32(le)?;
            if n != 1 {
                return Err(format!(
                    "expected a point, found a MultiPoint of {n} points"
                ));
            }
            let (inner, le) = r.header()?;
            if inner != 1 {
                return Err("a MultiPoint holding no point".into());
            }
            r.xy(le)
        }
        t => Err(format!(
            "expected a point, found a {}",
            TYPE_NAMES
                .get(t as usize)
                .unwrap_or(&"geometry of unknown type")
        )),
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
    /// Ordinates past x and y in each coordinate (Z, M).
    extra: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let s = self
            .b
            .get(self.at..self.at + n)
            .ok_or("truncated well-known binary")?;
        self.at += n;
        Ok(s)
    }
    fn u32(&mut self, le: bool) -> Result<u32, String> {
        let s: [u8; 4] = self.take(4)?.try_into().expect("4 bytes");
        Ok(if le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    }
    fn f64(&mut self, le: bool) -> Result<f64, String> {
        let s: [u8; 8] = self.take(8)?.try_into().expect("8 bytes");
        Ok(if le {
            f64::from_le_bytes(s)
        } else {
            f64::from_be_bytes(s)
        })
    }
    /// The base type (1 = point …) and byte order; the dimensions it
    /// carries are remembered for `xy`.
    fn header(&mut self) -> Result<(u32, bool), String> {
        let le = match self.take(1)?[0] {
            0 => false,
            1 => true,
            other => return Err(format!("bad well-known binary byte order {other}")),
        };
        let raw = self.u32(le)?;
        // EWKB flags: Z 0x80000000, M 0x40000000, SRID 0x20000000.
        let mut extra = 0;
        if raw & 0x8000_0000 != 0 {
            extra += 1;
        }
        if raw & 0x4000_0000 != 0 {
            extra += 1;
        }
        if raw & 0x2000_0000 != 0 {
            self.u32(le)?;
        }
        let iso = raw & 0x0fff_ffff;
        // ISO: 1000s Z, 2000s M, 3000s ZM.
        extra += match iso / 1000 {
            1 | 2 => 1,
            3 => 2,
            _ => 0,
        };
        self.extra = extra;
        Ok((iso % 1000, le))
    }
    fn xy(&mut self, le: bool) -> Result<Point<f64>, String> {
        let x = self.f64(le)?;
        let y = self.f64(le)?;
        for _ in 0..self.extra {
            self.f64(le)?;
        }
        Ok(Point::new(x, y))
    }
}

/// The WKB inside a GeoPackage geometry blob (after its `GP` header).
pub fn gpkg_body(blob: &[u8]) -> Result<&[u8], String> {
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return Err("not a GeoPackage geometry (no `GP` header)".into());
    }
    let flags = blob[3];
    if flags & 0x10 != 0 {
        return Err("an empty geometry".into());
    }
    let envelope = match (flags >> 1) & 0x07 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        other => return Err(format!("bad GeoPackage envelope code {other}")),
    };
    blob.get(8 + envelope..)
        .ok_or_else(|| "truncated GeoPackage geometry".into())
}

/// A GeoPackage geometry blob: the `GP` header (version 0, little-endian,
/// with the xy envelope) and the WKB.
pub fn gpkg_blob(g: &Geometry<f64>, srs_id: i32) -> (Vec<u8>, Bbox) {
    let mut wkb = Vec::with_capacity(64);
    let bbox = write(g, &mut wkb);
    let mut out = Vec::with_capacity(40 + wkb.len());
    out.extend_from_slice(b"GP");
    out.push(0);
    // Little-endian header, envelope [minx, maxx, miny, maxy].
    out.push(0b0000_0011);
    out.extend_from_slice(&srs_id.to_le_bytes());
    for v in [bbox[0], bbox[2], bbox[1], bbox[3]] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&wkb);
    (out, bbox)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{polygon, MultiPolygon};

    #[test]
    fn a_point_is_21_bytes_of_iso_wkb_and_reads_back() {
        let mut out = Vec::new();
        let b = write(&Geometry::Point(Point::new(9.67, 45.69)), &mut out);
        // Byte order, type 1, x, y: the encoding written out by hand.
        let mut want = vec![1u8, 1, 0, 0, 0];
        want.extend_from_slice(&9.67f64.to_le_bytes());
        want.extend_from_slice(&45.69f64.to_le_bytes());
        assert_eq!(out, want);
        assert_eq!(b, [9.67, 45.69, 9.67, 45.69]);
        assert_eq!(read_point(&out).unwrap(), Point::new(9.67, 45.69));
    }

    #[test]
    fn big_endian_ewkb_with_srid_and_z_reads_as_a_point() {
        // 00 | 0xA0000001 (point, Z, SRID) | 4326 | x y z, big-endian.
        let mut b = vec![0u8];
        b.extend_from_slice(&0xA000_0001u32.to_be_bytes());
        b.extend_from_slice(&4326u32.to_be_bytes());
        for v in [1.5f64, -2.25, 100.0] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        assert_eq!(read_point(&b).unwrap(), Point::new(1.5, -2.25));
        // ISO Z (1001), little-endian.
        let mut b = vec![1u8];
        b.extend_from_slice(&1001u32.to_le_bytes());
        for v in [3.0f64, 4.0, 5.0] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(read_point(&b).unwrap(), Point::new(3.0, 4.0));
    }

    #[test]
    fn a_polygon_is_not_a_point_and_says_so() {
        let mut out = Vec::new();
        let square =
            polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 0.0)];
        let b = write(
            &Geometry::MultiPolygon(MultiPolygon(vec![square])),
            &mut out,
        );
        assert_eq!(b, [0.0, 0.0, 1.0, 1.0]);
        // 1 + 4 + 4 (one polygon) + 1 + 4 + 4 (one ring) + 4 (count) + 4 points × 16.
        assert_eq!(out.len(), 9 + 9 + 4 + 64);
        let e = read_point(&out).unwrap_err();
        assert!(e.contains("found a MultiPolygon"), "{e}");
        assert!(read_point(&out[..5]).is_err());
    }

    #[test]
    fn a_geopackage_blob_wraps_the_wkb_with_its_envelope() {
        let (blob, _) = gpkg_blob(&Geometry::Point(Point::new(2.0, 3.0)), 4326);
        assert_eq!(&blob[..4], b"GP\x00\x03");
        assert_eq!(i32::from_le_bytes(blob[4..8].try_into().unwrap()), 4326);
        assert_eq!(f64::from_le_bytes(blob[8..16].try_into().unwrap()), 2.0);
        assert_eq!(
            read_point(gpkg_body(&blob).unwrap()).unwrap(),
            Point::new(2.0, 3.0)
        );
        assert!(gpkg_body(b"XX\x00\x01\x00\x00\x00\x00").is_err());
    }
}
