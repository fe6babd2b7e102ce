//! The fast path for residents' CSV lines: each line read once, left to
//! right, every field parsed as its delimiter is found.
//!
//! [`for_each_plain_line`] first splits a line into fields and
//! [`ResidentParser::push_plain`] then parses them; here the two are one
//! loop over a line, driven by what each column of the header is. A line
//! this path does not take whole (a space around a field, a number in
//! another form, an unknown GP, a wrong number of fields…) goes, alone, to
//! the same two functions as before, which store it or say what is wrong.
//! So the rows stored and the errors are exactly those of the general path
//! (tested in `plain_csv_pieces_parse_as_the_general_csv_reader`).
//!
//! A line of up to two 64-byte windows is split without walking its
//! fields: the window's commas, line feeds and bytes up to the space are
//! found at once as bit masks (two 32-byte vector compares each), the
//! fields counted and their edges checked on the masks, and only the
//! fields read are located, each by its delimiter's bit. Longer lines are
//! walked field by field (tested against each other in
//! `lines_split_by_masks_as_field_by_field`).

use super::*;

/// What a column of the header is to the fast path.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    Id,
    X,
    Y,
    Weight,
    Gp,
    /// A categorical column: 0 is the municipality, 1 the group, 2 + k
    /// the k-th extra column.
    Text(usize),
    /// A column the residents do not keep.
    Skip,
}

/// Facility ids of at most 8 bytes, looked up by their bytes as one word.
///
/// An open-addressing table: the id's bytes (little-endian, zero past its
/// end) and its length are the key, so ids holding NUL bytes stay
/// distinct. Longer ids are not in it, and are looked up by name.
struct ShortIds {
    /// (bytes, length, facility); length 0 marks an empty slot.
    slots: Vec<(u64, u32, u32)>,
    shift: u32,
}

impl ShortIds {
    fn new(facilities: &Facilities) -> Self {
        let bits = (2 * facilities.len().max(1))
            .next_power_of_two()
            .trailing_zeros();
        let mut t = ShortIds {
            slots: vec![(0, 0, 0); 1 << bits],
            shift: 64 - bits,
        };
        for (i, f) in facilities.iter().enumerate() {
            let id = f.id.0.as_bytes();
            if (1..=8).contains(&id.len()) {
                let mut word = [0u8; 8];
                word[..id.len()].copy_from_slice(id);
                let key = u64::from_le_bytes(word);
                let mut at = t.home(key, id.len() as u32);
                while t.slots[at].1 != 0 {
                    at = (at + 1) & (t.slots.len() - 1);
                }
                // Facility ids are unique (checked when they are loaded).
                t.slots[at] = (key, id.len() as u32, i as u32);
            }
        }
        t
    }

    #[inline]
    fn home(&self, key: u64, len: u32) -> usize {
        ((key ^ u64::from(len)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// The facility whose id is the `len` (1..=8) bytes starting with the
    /// low byte of `word`.
    #[inline(always)]
    fn get(&self, word: u64, len: usize) -> Option<u32> {
        let key = low_bytes(word, len);
        let mut at = self.home(key, len as u32);
        loop {
            let (k, l, f) = self.slots[at];
            if l == 0 {
                return None;
            }
            if k == key && l as usize == len {
                return Some(f);
            }
            at = (at + 1) & (self.slots.len() - 1);
        }
    }
}

/// Fields a line split by masks may be read from: the columns the fast
/// path reads are among a line's first `MAX_READ`.
const MAX_READ: usize = 24;

/// What [`PlainRows::split`] found of a line.
enum Split {
    /// A blank line; the next starts here.
    Blank(usize),
    /// The line's fields; the next line starts here.
    Fields(usize),
    /// A line in another shape, for the general path.
    Other,
    /// A line with a byte up to the space at a field's edge, for the walk
    /// field by field.
    Walk,
}

/// Reads the residents' lines of one piece in one pass per line.
pub(super) struct PlainRows<'p> {
    parser: &'p ResidentParser<'p>,
    roles: Vec<Role>,
    gps: ShortIds,
    /// The kept categorical columns: (slot, column) as in [`Role::Text`].
    texts: Vec<(usize, usize)>,
    /// One past the last column read: the fields a line split by masks is
    /// split into (those after it are only counted).
    read: usize,
}

impl<'p> PlainRows<'p> {
    /// The fast path for this header, or `None` when its columns are not
    /// ones it takes (more extra columns than the general fast path, or
    /// coordinates that need a transformation). Categorical columns not
    /// `kept` are only delimited (their values need no check).
    pub(super) fn new(parser: &'p ResidentParser<'p>, kept: &ResidentColumns) -> Option<Self> {
        let c = parser.cols;
        if c.extra.len() > MAX_PLAIN_EXTRA
            || !(c.coords.lonlat || parser.transform.crs().is_wgs84())
        {
            return None;
        }
        let mut roles = vec![Role::Skip; parser.t.header.len()];
        let mut set = |col: usize, role: Role| {
            let free = roles[col] == Role::Skip;
            roles[col] = role;
            free
        };
        let mut ok = set(c.id, Role::Id) & set(c.coords.x, Role::X) & set(c.coords.y, Role::Y);
        let keeps = c.kept_categoricals(kept);
        let text = |slot: usize| match keeps[slot] {
            true => Role::Text(slot),
            false => Role::Skip,
        };
        let optional = [
            (c.weight, Role::Weight),
            (c.gp_id, Role::Gp),
            (c.municipality, text(0)),
            (c.group, text(1)),
        ];
        for (col, role) in optional {
            if let Some(col) = col {
                ok &= set(col, role);
            }
        }
        for (k, &(_, col)) in c.extra.iter().enumerate() {
            ok &= set(col, text(2 + k));
        }
        let texts: Vec<(usize, usize)> = roles
            .iter()
            .enumerate()
            .filter_map(|(col, role)| match role {
                Role::Text(slot) => Some((*slot, col)),
                _ => None,
            })
            .collect();
        let read = 1 + roles.iter().rposition(|r| *r != Role::Skip).unwrap_or(0);
        ok.then(|| PlainRows {
            parser,
            roles,
            gps: ShortIds::new(parser.facilities),
            texts,
            read,
        })
    }

    /// Stores every line of `padded[..len]` (whole lines, then at least
    /// [`PADDING`] bytes that are not part of them), numbered from `line0`,
    /// and returns the number of the line after them. The lines must hold
    /// no quote character and end with a line feed.
    pub(super) fn parse(
        &self,
        padded: &[u8],
        len: usize,
        line0: u64,
        sink: &mut impl RowSink,
    ) -> Result<u64> {
        debug_assert!(padded.len() >= len + PADDING && (len == 0 || padded[len - 1] == b'\n'));
        let Ok(text) = simdutf8::basic::from_utf8(&padded[..len]) else {
            // Fields are checked one by one, to locate the bad one.
            self.parser.push_lines(&padded[..len], line0, sink)?;
            return Ok(line0 + memchr::memchr_iter(b'\n', &padded[..len]).count() as u64);
        };
        let (mut at, mut line) = (0, line0);
        while at < len {
            let next = match self.masked_line(padded, text, at, sink) {
                Some(next) => next,
                None => {
                    let end = at + memchr::memchr(b'\n', &padded[at..len]).unwrap_or(len - at);
                    self.parser.push_lines(&padded[at..end], line, sink)?;
                    end + 1
                }
            };
            at = next;
            line += 1;
        }
        Ok(line)
    }

    /// [`PlainRows::line`] for a line whose line feed is in the one or two
    /// windows from `at`, split by their [`Classes`] rather than field by
    /// field (a longer line, or one whose fields read are not among its
    /// first [`MAX_READ`], goes to `line`).
    #[inline]
    fn masked_line(
        &self,
        body: &[u8],
        text: &str,
        at: usize,
        sink: &mut impl RowSink,
    ) -> Option<usize> {
        if self.read > MAX_READ {
            return self.line(body, text, at, sink);
        }
        let mut bounds = [0u8; MAX_READ + 1];
        let first = classes(body, at);
        let split = if first.newlines != 0 {
            self.split(
                body,
                at,
                [first.commas, first.newlines, first.low],
                &mut bounds,
            )
        } else {
            let second = classes(body, at + WINDOW);
            if second.newlines == 0 {
                return self.line(body, text, at, sink);
            }
            let join = |a: u64, b: u64| u128::from(a) | u128::from(b) << WINDOW;
            let masks = [
                join(first.commas, second.commas),
                join(first.newlines, second.newlines),
                join(first.low, second.low),
            ];
            self.split(body, at, masks, &mut bounds)
        };
        match split {
            Split::Blank(next) => Some(next),
            Split::Fields(next) => {
                self.store(body, text, at, &bounds, sink)?;
                Some(next)
            }
            Split::Other => None,
            Split::Walk => self.line(body, text, at, sink),
        }
    }

    /// Splits the line starting at `at` whose byte classes are `[commas,
    /// newlines, low]` (a line feed among them): the line's commas are
    /// counted, and each field's first and last byte checked not to be
    /// whitespace, with a few operations on the masks; then where each
    /// field read starts is written to `bounds` (field `k` is the bytes
    /// from `at + bounds[k]` to `at + bounds[k + 1] - 1`).
    #[inline(always)]
    fn split<M: LineMask>(
        &self,
        body: &[u8],
        at: usize,
        [commas, newlines, low]: [M; 3],
        bounds: &mut [u8; MAX_READ + 1],
    ) -> Split {
        let newline = newlines.trailing_zeros() as usize;
        // Bytes before the line feed: the line less a final `\r`.
        let end = newline - usize::from(newline > 0 && body[at + newline - 1] == b'\r');
        if end == 0 {
            // A blank line (or a lone `\r`) holds no record.
            return Split::Blank(at + newline + 1);
        }
        let before_end = (M::ONE << end as u32) - M::ONE;
        let commas = commas & before_end;
        if commas.count_ones() as usize + 1 != self.roles.len() {
            return Split::Other;
        }
        // Each field ends at a comma or at `end`; its first byte follows
        // the line's start or a comma, its last precedes its end. Surrounding
        // whitespace is trimmed by the general path, which then takes the
        // line; a control character there is not whitespace, and the walk
        // tells the two apart. (Empty fields' bits fall on delimiters.)
        let ends = commas | M::ONE << end as u32;
        let edges = (commas << 1 | M::ONE) | ends >> 1;
        if low & edges & before_end != M::ZERO {
            return Split::Walk;
        }
        let mut rest = ends;
        for b in &mut bounds[1..=self.read] {
            // Below 2 * WINDOW = 128.
            *b = rest.trailing_zeros() as u8 + 1;
            rest = rest & (rest - M::ONE);
        }
        Split::Fields(at + newline + 1)
    }

    /// Stores the line starting at `at`, split at `bounds`, if its fields
    /// read are in their plainest form, exactly as [`PlainRows::line`]
    /// would; `None`, storing nothing, otherwise.
    #[inline(always)]
    fn store(
        &self,
        body: &[u8],
        text: &str,
        at: usize,
        bounds: &[u8; MAX_READ + 1],
        sink: &mut impl RowSink,
    ) -> Option<()> {
        let c = self.parser.cols;
        let field = |k: usize| {
            let (from, to) = (usize::from(bounds[k]), usize::from(bounds[k + 1]));
            (at + from, to - 1 - from)
        };
        let (s, len) = field(c.id);
        let id = &text[s..s + len];
        let (s, len) = field(c.coords.x);
        let lon = decimal(body, s, len)?;
        let (s, len) = field(c.coords.y);
        let lat = decimal(body, s, len)?;
        let weight = match c.weight {
            None => 1.0,
            Some(k) => {
                let (s, len) = field(k);
                match decimal(body, s, len)? {
                    w if w >= 0.0 => w,
                    _ => return None,
                }
            }
        };
        let gp = match c.gp_id.map(field) {
            None | Some((_, 0)) => NONE,
            Some((s, len @ 1..=8)) => self.gps.get(word_at(body, s), len)?,
            Some((s, len)) => self.parser.facilities.index_of(&text[s..s + len])?,
        };
        if id.is_empty() || !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
            return None;
        }
        let mut texts = [""; 2 + MAX_PLAIN_EXTRA];
        let mut keys = [ShortKey::NONE; 2 + MAX_PLAIN_EXTRA];
        for &(slot, k) in &self.texts {
            let (s, len) = field(k);
            texts[slot] = &text[s..s + len];
            if len <= 8 {
                keys[slot] = ShortKey {
                    word: low_bytes(word_at(body, s), len),
                    len: len as u8,
                };
            }
        }
        self.push(sink, id, LonLat::new(lon, lat), weight, gp, &texts, &keys);
        Some(())
    }

    /// Stores a row the fast path read: its categorical values are
    /// `texts` (municipality, group, then the extra columns) and their
    /// keys.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn push(
        &self,
        sink: &mut impl RowSink,
        id: &str,
        location: LonLat,
        weight: f64,
        gp: u32,
        texts: &[&str; 2 + MAX_PLAIN_EXTRA],
        keys: &[ShortKey; 2 + MAX_PLAIN_EXTRA],
    ) {
        let c = self.parser.cols;
        sink.push_row(Row {
            id,
            location,
            weight,
            gp,
            municipality: c.municipality.map(|_| texts[0]),
            group: c.group.map(|_| texts[1]),
            extra: &texts[2..2 + c.extra.len()],
            keys: Some(keys),
        });
    }

    /// Stores the line starting at `at` if every field is in its plainest
    /// form, storing exactly what `push_plain` would, and returns where the
    /// next line starts; `None`, storing nothing, otherwise.
    #[inline]
    fn line(&self, body: &[u8], text: &str, at: usize, sink: &mut impl RowSink) -> Option<usize> {
        // A blank line (or a lone `\r`) holds no record.
        match body[at] {
            b'\n' => return Some(at + 1),
            b'\r' if body[at + 1] == b'\n' => return Some(at + 2),
            _ => {}
        }
        let last = self.roles.len() - 1;
        let (mut id, mut lon, mut lat, mut weight, mut gp) = ("", f64::NAN, f64::NAN, 1.0, NONE);
        let mut texts = [""; 2 + MAX_PLAIN_EXTRA];
        let mut keys = [ShortKey::NONE; 2 + MAX_PLAIN_EXTRA];
        let mut start = at;
        for (k, &role) in self.roles.iter().enumerate() {
            let end = field_end(body, start);
            // Commas end all fields but the last, which a line feed ends.
            if (body[end] == b'\n') != (k == last) {
                return None;
            }
            let mut stop = end;
            if k == last && stop > start && body[stop - 1] == b'\r' {
                stop -= 1;
            }
            // Surrounding spaces are trimmed by the general path.
            if stop > start
                && (body[start].is_ascii_whitespace() || body[stop - 1].is_ascii_whitespace())
            {
                return None;
            }
            let len = stop - start;
            match role {
                Role::Id => id = &text[start..stop],
                Role::X => lon = decimal(body, start, len)?,
                Role::Y => lat = decimal(body, start, len)?,
                Role::Weight => {
                    weight = match decimal(body, start, len)? {
                        w if w >= 0.0 => w,
                        _ => return None,
                    }
                }
                Role::Gp => {
                    gp = match len {
                        0 => NONE,
                        1..=8 => self.gps.get(word_at(body, start), len)?,
                        _ => self.parser.facilities.index_of(&text[start..stop])?,
                    }
                }
                Role::Text(slot) => {
                    texts[slot] = &text[start..stop];
                    if len <= 8 {
                        keys[slot] = ShortKey {
                            word: low_bytes(word_at(body, start), len),
                            len: len as u8,
                        };
                    }
                }
                Role::Skip => {}
            }
            start = end + 1;
        }
        if id.is_empty() || !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
            return None;
        }
        self.push(sink, id, LonLat::new(lon, lat), weight, gp, &texts, &keys);
        Some(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FacilityKind;

    /// A row as stored, owned (numbers by their bits).
    #[derive(Debug, PartialEq)]
    struct Stored {
        id: String,
        location: (u64, u64),
        weight: u64,
        gp: u32,
        texts: Vec<Option<String>>,
        keys: Option<Vec<ShortKey>>,
    }

    impl RowSink for Vec<Stored> {
        fn push_row(&mut self, row: Row<'_>) {
            let mut texts = vec![row.municipality, row.group];
            texts.extend(row.extra.iter().map(|&v| Some(v)));
            self.push(Stored {
                id: row.id.to_owned(),
                location: (row.location.lon.to_bits(), row.location.lat.to_bits()),
                weight: row.weight.to_bits(),
                gp: row.gp,
                texts: texts.into_iter().map(|v| v.map(str::to_owned)).collect(),
                keys: row.keys.map(<[ShortKey]>::to_vec),
            });
        }
    }

    /// Random lines of every shape, some plain and some not, of up to and
    /// past two windows: the masks split each one as the field-by-field
    /// walk does (same row stored, or none, and the same next line), with
    /// every categorical column kept and with none; and the plain lines
    /// within two windows are split by the masks, not handed to the walk.
    #[test]
    fn lines_split_by_masks_as_field_by_field() {
        let header: Vec<String> = "id,lon,lat,weight,municipality,gp_id,group,province,region"
            .split(',')
            .map(str::to_owned)
            .collect();
        let path = Path::new("residents.csv");
        let t = Table {
            path,
            header,
            geometry_xy: false,
            records: None,
        };
        let cols = ResidentCols::new(&t).unwrap();
        let transform = ToWgs84::new(Crs::WGS84).unwrap();
        let facilities = Facilities::new(
            ["GP1", "GP2", "GP00008X", "GP-long-identifier", "GéP"]
                .iter()
                .map(|id| Facility::new(*id, FacilityKind::Gp, LonLat::new(9.6, 45.6)))
                .collect(),
        )
        .unwrap();
        let parser = ResidentParser {
            t: &t,
            cols: &cols,
            transform: &transform,
            facilities: &facilities,
        };
        let long = "x".repeat(70);
        let ids = ["R1", "R00012345", "r-é-9", "", " R2", "R3 ", "R\t4"];
        let lons = [
            "9.6681442",
            "10.1234567",
            "-0.0",
            "+9.5",
            "181",
            "9.5e0",
            " 9.5",
            "9.5 ",
            "123456789.1",
            "",
        ];
        let lats = ["45.6981442", "45.7", "95", "45.12345678", "x45", "45.\r"];
        let weights = ["1", "", "0", "2.5", "-1", " 3", "1e1", "0.0000000000000001"];
        let municipalities = [
            "016024",
            long.as_str(),
            "",
            "Bergamo Alta",
            " Crema",
            "Cantù",
        ];
        let gps = [
            "GP1",
            "",
            "GP00008X",
            "GP00008Y",
            "GP-long-identifier",
            "GéP",
            "GP2 ",
        ];
        let groups = ["assigned", "ad_user", "", "no gp", "a\u{0}"];
        let tails = [
            ",016,01",
            ",016,01\r",
            ",,",
            ",016",
            ",016,01,x",
            ",016,\t01",
            ",016,01 \r",
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        // Most often one of the first two options of a field (plain ones),
        // otherwise any.
        let mut pick = |options: &[&str]| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let among = if state >> 60 < 13 { 2 } else { options.len() };
            options[(state % among as u64) as usize].to_owned()
        };
        let (mut masked, mut over_two_windows) = (0, 0);
        let all = ResidentColumns::all();
        let none = ResidentColumns::minimal();
        for kept in [&all, &none] {
            let rows = PlainRows::new(&parser, kept).unwrap();
            for _ in 0..40_000 {
                let line = if pick(&["", "", "blank"]) == "blank" {
                    pick(&["", "\r"])
                } else {
                    format!(
                        "{},{},{},{},{},{},{}{}",
                        pick(&ids),
                        pick(&lons),
                        pick(&lats),
                        pick(&weights),
                        pick(&municipalities),
                        pick(&gps),
                        pick(&groups),
                        pick(&tails)
                    )
                };
                let text = format!("{line}\nR9,9.1,45.1,1,,,,,\n");
                let mut body = text.clone().into_bytes();
                body.resize(text.len() + PADDING, 0);
                let (mut a, mut b) = (Vec::new(), Vec::new());
                let by_masks = rows.masked_line(&body, &text, 0, &mut a);
                let by_fields = rows.line(&body, &text, 0, &mut b);
                assert_eq!(by_masks, by_fields, "{line:?}");
                assert_eq!(a, b, "{line:?}");
                if line.len() >= 2 * WINDOW {
                    over_two_windows += 1;
                } else if by_fields.is_some() && !a.is_empty() && !line.contains('\0') {
                    // A plain line within two windows, without a control
                    // character at a field's edge: split by the masks.
                    let m = classes(&body, 0);
                    let n = classes(&body, WINDOW);
                    let join = |x: u64, y: u64| u128::from(x) | u128::from(y) << WINDOW;
                    let mut bounds = [0u8; MAX_READ + 1];
                    let split = rows.split(
                        &body,
                        0,
                        [
                            join(m.commas, n.commas),
                            join(m.newlines, n.newlines),
                            join(m.low, n.low),
                        ],
                        &mut bounds,
                    );
                    assert!(matches!(split, Split::Fields(_)), "{line:?}");
                    masked += 1;
                }
            }
        }
        // Enough of each kind of line.
        assert!(
            masked > 5_000 && over_two_windows > 1_000,
            "{masked} {over_two_windows}"
        );
    }
}
