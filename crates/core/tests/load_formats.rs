//! Residents read from GeoParquet and GeoPackage in parallel chunks (row
//! groups, blocks of feature ids) are the same residents as the same rows
//! read from CSV; errors in a later chunk name the right row.

use std::fmt::Write as _;
use std::path::Path;

use bacino_core::Dataset;
use bacino_formats::{Layer, Values};
use geo_types::{Geometry, Point};
use rand::{Rng, SeedableRng};

mod common;
use common::Threads;

/// More rows than two GeoParquet row groups (65,536 each) and spanning
/// three GeoPackage blocks of feature ids.
const N: usize = 150_000;

struct Rows {
    id: Vec<String>,
    lon: Vec<f64>,
    lat: Vec<f64>,
    weight: Vec<Option<f64>>,
    municipality: Vec<Option<String>>,
    gp_id: Vec<Option<String>>,
    group: Vec<String>,
}

fn rows() -> Rows {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
    let towns = ["016024", "019035", "Crema", "Bergamo", "Treviglio"];
    let mut r = Rows {
        id: Vec::new(),
        lon: Vec::new(),
        lat: Vec::new(),
        weight: Vec::new(),
        municipality: Vec::new(),
        gp_id: Vec::new(),
        group: Vec::new(),
    };
    for i in 0..N {
        r.id.push(format!("R{i:06}"));
        r.lon.push(rng.random_range(9.4..10.1));
        r.lat.push(rng.random_range(45.3..45.9));
        r.weight.push(match i % 5 {
            0 => None,
            _ => Some(f64::from(rng.random_range(0..400u32)) / 4.0),
        });
        r.municipality.push(match i % 11 {
            0 => None,
            k => Some(towns[k % towns.len()].to_owned()),
        });
        r.gp_id.push(match i % 3 {
            0 => None,
            k => Some(format!("GP{k}")),
        });
        r.group
            .push(if i % 4 == 0 { "65+" } else { "under 65" }.to_owned());
    }
    r
}

fn write_csv(r: &Rows, path: &Path) {
    let mut s = String::from("id,lon,lat,weight,municipality,gp_id,group\n");
    for i in 0..N {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{}",
            r.id[i],
            r.lon[i],
            r.lat[i],
            r.weight[i].map(|w| w.to_string()).unwrap_or_default(),
            r.municipality[i].as_deref().unwrap_or_default(),
            r.gp_id[i].as_deref().unwrap_or_default(),
            r.group[i]
        );
    }
    std::fs::write(path, s).unwrap();
}

fn layer(r: &Rows) -> Layer {
    Layer {
        name: "residents".into(),
        geometries: (0..N)
            .map(|i| Some(Geometry::Point(Point::new(r.lon[i], r.lat[i]))))
            .collect(),
        columns: vec![
            (
                "id".into(),
                Values::Text(r.id.iter().cloned().map(Some).collect()),
            ),
            ("weight".into(), Values::Number(r.weight.clone())),
            ("municipality".into(), Values::Text(r.municipality.clone())),
            ("gp_id".into(), Values::Text(r.gp_id.clone())),
            (
                "group".into(),
                Values::Text(r.group.iter().cloned().map(Some).collect()),
            ),
        ],
    }
}

fn dataset_dir(dir: &Path, residents: &str) {
    std::fs::write(
        dir.join("facilities.csv"),
        "id,kind,lon,lat\nGP1,gp,9.67,45.69\nGP2,gp,9.70,45.36\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("dataset.toml"),
        format!(
            "name = \"chunks\"\n[facilities]\npath = \"facilities.csv\"\n\
             [residents]\npath = \"{residents}\"\n"
        ),
    )
    .unwrap();
}

fn load(dir: &Path) -> Result<Dataset, String> {
    Dataset::load_with(dir, &Threads).map_err(|e| e.to_string())
}

/// Every column of every resident, in order.
fn same_residents(a: &Dataset, b: &Dataset, what: &str) {
    let (a, b) = (a.residents(), b.residents());
    assert_eq!(a.len(), b.len(), "{what}: count");
    for i in 0..a.len() {
        assert_eq!(a.id(i), b.id(i), "{what}: id of row {i}");
        assert_eq!(a.locations()[i], b.locations()[i], "{what}: row {i}");
        assert_eq!(a.weights()[i], b.weights()[i], "{what}: weight of row {i}");
        assert_eq!(a.gp()[i], b.gp()[i], "{what}: gp of row {i}");
        assert_eq!(
            a.municipality().get(i),
            b.municipality().get(i),
            "{what}: municipality of row {i}"
        );
        assert_eq!(
            a.group().get(i),
            b.group().get(i),
            "{what}: group of row {i}"
        );
    }
    assert_eq!(a.has_unit_weights(), b.has_unit_weights(), "{what}");
    let names: Vec<&str> = a.extra_names().collect();
    assert_eq!(names, b.extra_names().collect::<Vec<_>>(), "{what}");
    for name in names {
        let (x, y) = (a.extra(name).unwrap(), b.extra(name).unwrap());
        for i in 0..a.len() {
            assert_eq!(x.get(i), y.get(i), "{what}: {name} of row {i}");
        }
    }
}

#[test]
fn geoparquet_and_geopackage_residents_equal_the_same_csv() {
    let r = rows();
    let d = tempfile::tempdir().unwrap();
    let (csv, parquet, gpkg) = (d.path().join("c"), d.path().join("p"), d.path().join("g"));
    for dir in [&csv, &parquet, &gpkg] {
        std::fs::create_dir(dir).unwrap();
    }
    write_csv(&r, &csv.join("residents.csv"));
    dataset_dir(&csv, "residents.csv");
    bacino_formats::write(&parquet.join("residents.parquet"), &layer(&r)).unwrap();
    dataset_dir(&parquet, "residents.parquet");
    bacino_formats::write(&gpkg.join("residents.gpkg"), &layer(&r)).unwrap();
    dataset_dir(&gpkg, "residents.gpkg");

    // The files really are in several chunks.
    let chunks = bacino_formats::PointChunks::open(&parquet.join("residents.parquet"), None)
        .unwrap()
        .chunk_rows;
    assert_eq!(chunks.len(), N.div_ceil(65_536), "{chunks:?}");
    let chunks = bacino_formats::PointChunks::open(&gpkg.join("residents.gpkg"), None)
        .unwrap()
        .chunk_rows;
    assert!(chunks.len() >= 3, "{chunks:?}");

    let from_csv = load(&csv).unwrap();
    assert_eq!(from_csv.residents().len(), N);
    same_residents(&from_csv, &load(&parquet).unwrap(), "GeoParquet");
    same_residents(&from_csv, &load(&gpkg).unwrap(), "GeoPackage");
}

#[test]
fn geopackage_features_with_gaps_in_their_ids_are_all_read_in_order() {
    let r = rows();
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("residents.gpkg");
    bacino_formats::write(&path, &layer(&r)).unwrap();
    // Deleted features, and ids far apart (blocks of ids mostly empty).
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(
        "DELETE FROM residents WHERE fid % 7 = 0;
         UPDATE residents SET fid = fid + 1000000000000 WHERE fid > 140000;",
    )
    .unwrap();
    drop(db);
    dataset_dir(d.path(), "residents.gpkg");
    let got = load(d.path()).unwrap();
    let kept: Vec<usize> = (0..N).filter(|i| (i + 1) % 7 != 0).collect();
    let residents = got.residents();
    assert_eq!(residents.len(), kept.len());
    for (row, &i) in kept.iter().enumerate() {
        assert_eq!(residents.id(row), r.id[i]);
        assert_eq!(residents.locations()[row].lon, r.lon[i]);
    }

    // Sparse ids, one feature per block of 2^16: blocks merge into chunks
    // of up to 65,536 rows, not a chunk per feature.
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch("UPDATE residents SET fid = fid * 1048576 WHERE fid < 1000000000000;")
        .unwrap();
    drop(db);
    let chunks = bacino_formats::PointChunks::open(&path, None)
        .unwrap()
        .chunk_rows;
    assert_eq!(chunks.len(), kept.len().div_ceil(65_536), "{chunks:?}");
    let again = load(d.path()).unwrap();
    for (row, &i) in kept.iter().enumerate() {
        assert_eq!(again.residents().id(row), r.id[i]);
    }
}

#[test]
fn a_bad_value_or_a_repeated_id_in_a_later_chunk_names_its_row() {
    let mut r = rows();
    // Rows counted from 0 in GeoParquet, feature ids from 1 in GeoPackage.
    r.weight[131_100] = Some(-2.0);
    let d = tempfile::tempdir().unwrap();
    for (file, record) in [
        ("residents.parquet", "row 131100"),
        ("residents.gpkg", "layer `residents`, fid 131101"),
    ] {
        bacino_formats::write(&d.path().join(file), &layer(&r)).unwrap();
        dataset_dir(d.path(), file);
        let e = load(d.path()).unwrap_err();
        assert!(e.contains(record), "{e}");
        assert!(e.contains("weight"), "{e}");
        assert!(e.contains("expected a number ≥ 0"), "{e}");
    }

    let mut r = rows();
    r.id[140_000] = r.id[10].clone();
    for (file, first, repeat) in [
        ("residents.parquet", "row 10", "row 140000"),
        (
            "residents.gpkg",
            "layer `residents`, fid 11",
            "layer `residents`, fid 140001",
        ),
    ] {
        bacino_formats::write(&d.path().join(file), &layer(&r)).unwrap();
        dataset_dir(d.path(), file);
        let e = load(d.path()).unwrap_err();
        assert!(e.contains("duplicate resident id `R000010`"), "{e}");
        assert!(e.contains(&format!("first seen at {first}")), "{e}");
        assert!(e.contains(repeat), "{e}");
    }
}

/// A quote-free CSV is parsed in parallel pieces, each line by a fast path
/// for fields in their plainest form and by the general row parser
/// otherwise; a quote anywhere sends the file to the csv reader, one
/// piece. Both give the same residents, and the same error, on rows of
/// every odd but valid shape.
#[test]
fn plain_csv_pieces_parse_as_the_general_csv_reader() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(29);
    let pick = |rng: &mut rand_chacha::ChaCha8Rng, options: &[&str]| -> String {
        options[rng.random_range(0..options.len())].to_owned()
    };
    let mut body = String::new();
    // Past one piece (2 MB), so that pieces split the rows.
    for i in 0..60_000 {
        let lon = rng.random_range(9.4..10.1f64);
        let lat = rng.random_range(45.3..45.9f64);
        let id =
            pick(&mut rng, &["R{i}", " R{i} ", "R {i}", "r-{i}-é"]).replace("{i}", &i.to_string());
        let lon = pick(
            &mut rng,
            &["{x:.7}", " {x:.3} ", "+{x}", "{x:.12}", "{x:e}"],
        )
        .replace("{x:.7}", &format!("{lon:.7}"))
        .replace("{x:.3}", &format!("{lon:.3}"))
        .replace("{x:.12}", &format!("{lon:.12}"))
        .replace("{x:e}", &format!("{lon:e}"))
        .replace("{x}", &lon.to_string());
        let weight = pick(
            &mut rng,
            &[
                "1",
                "",
                "0",
                "-0",
                "2.5",
                " 3 ",
                "1e1",
                "123456789012345",
                "0.0000000000000001",
            ],
        );
        // Values of up to 8 bytes are compared as one word, longer ones
        // as strings; some share a prefix.
        let municipality = pick(
            &mut rng,
            &[
                "016024",
                "",
                " Crema ",
                "Bergamo",
                "0160240",
                "Bergamo Alta",
                "Cantù",
                "01602400",
            ],
        );
        // Ids of 1-8 bytes are looked up as one word, longer ones by name.
        let gp = pick(
            &mut rng,
            &[
                "GP1",
                "",
                " GP2 ",
                "GP2",
                "GP00008X",
                "GP-long-identifier",
                "GéP",
            ],
        );
        let group = pick(
            &mut rng,
            &["assigned", "ad", "", "none", "assigned_2", "ad\u{0}"],
        );
        let province = pick(&mut rng, &["016", "", " 019 ", "BG"]);
        let end = pick(&mut rng, &["\n", "\n", "\r\n", "\n\n", "\n\r\n"]);
        let _ = write!(
            body,
            "{id},{lon},{lat:.7},{weight},{municipality},{gp},{group},{province},{}{end}",
            i % 7
        );
    }
    let header = "id,lon,lat,weight,municipality,gp_id,group,province,region\n";
    let d = tempfile::tempdir().unwrap();
    let (plain, quoted) = (d.path().join("plain"), d.path().join("quoted"));
    for dir in [&plain, &quoted] {
        std::fs::create_dir(dir).unwrap();
        dataset_dir(dir, "residents.csv");
        std::fs::write(
            dir.join("facilities.csv"),
            "id,kind,lon,lat\nGP1,gp,9.67,45.69\nGP2,gp,9.70,45.36\nGP00008X,gp,9.6,45.6\n\
             GP-long-identifier,gp,9.5,45.5\nGéP,gp,9.4,45.4\n",
        )
        .unwrap();
    }
    std::fs::write(plain.join("residents.csv"), format!("{header}{body}")).unwrap();
    std::fs::write(
        quoted.join("residents.csv"),
        format!("\"id\"{}{body}", &header[2..]),
    )
    .unwrap();
    let a = load(&plain).unwrap();
    assert_eq!(a.residents().len(), 60_000);
    same_residents(&a, &load(&quoted).unwrap(), "quoted header");
    // Without the categorical columns (which the fast path then only
    // delimits), the rest is the same.
    let gp_only = bacino_core::ResidentColumns::minimal().with("gp_id");
    let some = |dir: &Path| {
        Dataset::load_columns(dir, &Threads, None, &gp_only)
            .map(|(d, _)| d)
            .map_err(|e| e.to_string())
    };
    let (x, y) = (a.residents(), some(&plain).unwrap());
    let y = y.residents();
    assert_eq!(y.len(), x.len());
    assert!(x.locations() == y.locations() && x.weights() == y.weights() && x.gp() == y.gp());
    assert!((0..x.len()).all(|i| x.id(i) == y.id(i)));

    // A bad field on some line: the same message (file, line, column).
    let lines: Vec<&str> = body.split_inclusive('\n').collect();
    for (k, bad) in [
        (1usize, "R1,9.5,95.0,1,,,,,\n"),
        (20_000, "R2,x9.5,45.0,1,,,,,\n"),
        (40_000, "R3,9.5,45.0,-1,,,,,\n"),
        (lines.len() - 1, "R4,9.5,45.0,1,,GP9,,,\n"),
        (30_000, "R5,9.5,45.0,1,,,,\n"),
        (30_001, ",9.5,45.0,1,,,,,\n"),
        (50_000, "R6,9.5,45.0,1,,GP00008Y,,,\n"),
        (50_001, "R7,9.5,45.0,1,,GP-long-identifieR,,,\n"),
    ] {
        let mut broken = lines.clone();
        broken.insert(k, bad);
        // The bad line's number, counted here: the header, then the line
        // feeds before it.
        let line = 2 + broken[..k].concat().matches('\n').count();
        let broken = broken.concat();
        std::fs::write(plain.join("residents.csv"), format!("{header}{broken}")).unwrap();
        std::fs::write(
            quoted.join("residents.csv"),
            format!("\"id\"{}{broken}", &header[2..]),
        )
        .unwrap();
        let (e1, e2) = (load(&plain).unwrap_err(), load(&quoted).unwrap_err());
        let e2 = e2.replace("quoted", "plain");
        assert!(e1.contains(&format!("residents.csv:{line}: ")), "{e1}");
        assert_eq!(e1, e2, "{bad}");
        assert_eq!(some(&plain).unwrap_err(), e1, "{bad}, some columns");
    }
}

/// Every CSV the dataset reads names the right line of a bad record after
/// blank lines, whether they end in `\n` or `\r\n`: the facilities, the
/// cost table and the AD agendas as well as the residents.
#[test]
fn bad_records_after_blank_lines_name_their_line_in_every_csv() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let residents = "id,lon,lat,gp_id\nR1,9.67,45.69,GP1\nR2,9.70,45.36,GP2\n";
    let facilities = "id,kind,lon,lat,ad\nGP1,gp,9.67,45.69,true\nGP2,gp,9.70,45.36,false\n";
    let costs = "origin,dest,cost\nR1,GP1,10\nR2,GP2,20\n";
    let agendas = "gp_id,date,slots_available,slots_booked\nGP1,2026-01-05,10,2\n";
    // (file, its good text, a bad record, what the error says)
    let cases: [(&str, &str, &str, &str); 4] = [
        ("residents.csv", residents, "R3,9.7,north,GP1", "lat"),
        (
            "facilities.csv",
            facilities,
            "GP3,gp,9.7,north,false",
            "lat",
        ),
        ("costs.csv", costs, "R1,GP9,5", "dest"),
        ("slots.csv", agendas, "GP2,2026-01-05,10,2", "gp_id"),
    ];
    for (file, good, bad, what) in cases {
        for (blank, eol) in [("\n\n", "\n"), ("\r\n\r\n", "\r\n"), ("\r\n\n\r\n", "\n")] {
            for (name, text, _, _) in cases {
                let text = if name == file {
                    format!("{}{blank}{bad}{eol}", text.replace('\n', eol))
                } else {
                    text.to_owned()
                };
                std::fs::write(dir.join(name), text).unwrap();
            }
            std::fs::write(
                dir.join("dataset.toml"),
                "name = \"lines\"\n[facilities]\npath = \"facilities.csv\"\n\
                 [residents]\npath = \"residents.csv\"\n\
                 [costs]\npath = \"costs.csv\"\nunit = \"s\"\n\
                 [agendas]\npath = \"slots.csv\"\n",
            )
            .unwrap();
            // The good lines, the blank lines, then the bad record.
            let want = good.matches('\n').count() + blank.matches('\n').count() + 1;
            let e = load(dir).unwrap_err();
            assert!(
                e.contains(&format!("{file}:{want}:")),
                "{file}, blank lines {blank:?}: expected line {want} in {e}"
            );
            assert!(e.contains(what), "{file}: {e}");
        }
    }
}

/// Pieces whose weights are all 1 write none (the column's pages are never
/// touched): a file of ones has no weight column until one is asked for,
/// and in a file with other weights the pieces of ones get theirs, as do
/// the rows of a piece before its first other weight.
#[test]
fn weights_of_one_are_filled_in_where_a_piece_wrote_none() {
    // About 3.4 MB: two pieces, the second with weights other than 1 from
    // row `at` on (or none: `N`).
    const N: usize = 120_000;
    for at in [0, 1, 40_000, 90_000, 119_999, N] {
        let mut s = String::from("id,lon,lat,weight\n");
        let mut want = Vec::with_capacity(N);
        for i in 0..N {
            let w = if i >= at && i % 7 != 3 { 2.5 } else { 1.0 };
            want.push(w);
            let _ = writeln!(s, "R{i:06},9.{:07},45.{:07},{w}", i * 13, i * 7);
        }
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("residents.csv"), s).unwrap();
        dataset_dir(d.path(), "residents.csv");
        let ds = Dataset::load_with(d.path(), &Threads).unwrap();
        let r = ds.residents();
        assert_eq!(r.len(), N);
        assert_eq!(r.has_unit_weights(), at == N, "{at}");
        assert!(r.weights() == &want[..], "{at}");
        let total: f64 = want.iter().sum();
        assert_eq!(r.total_weight(), total, "{at}");
    }
}

/// A load asked for fewer columns keeps those and the locations, weights
/// and ids exactly as a whole load does, leaves the others out (reading
/// one panics), and still checks every field: a bad GP id or a repeated id
/// is the same error. A load that writes or reads a prepared file keeps
/// every column.
#[test]
fn a_load_of_some_columns_keeps_them_and_checks_every_field() {
    use bacino_core::{PreparedMode, PreparedOutcome, ResidentColumns};
    let r = rows();
    let d = tempfile::tempdir().unwrap();
    write_csv(&r, &d.path().join("residents.csv"));
    dataset_dir(d.path(), "residents.csv");
    let some = |dir: &Path, columns: &ResidentColumns| {
        Dataset::load_columns(dir, &Threads, None, columns)
            .map(|(d, outcome)| {
                assert_eq!(outcome, PreparedOutcome::Absent);
                d
            })
            .map_err(|e| e.to_string())
    };
    let whole = load(d.path()).unwrap();
    let (w, minimal) = (whole.residents(), ResidentColumns::minimal());
    for columns in [
        minimal.clone(),
        minimal.clone().with("gp_id"),
        minimal.clone().with("municipality"),
        minimal.clone().with("group").with("gp_id"),
    ] {
        let part = some(d.path(), &columns).unwrap();
        let p = part.residents();
        assert_eq!(p.kept(), &columns);
        assert_eq!(p.len(), N);
        assert!(p.locations() == w.locations(), "{columns:?}");
        assert!(p.weights() == w.weights(), "{columns:?}");
        assert!((0..N).all(|i| p.id(i) == w.id(i)), "{columns:?}");
        let read = |f: &(dyn Fn() + std::panic::RefUnwindSafe)| std::panic::catch_unwind(f);
        match columns.keeps_gp() {
            true => assert!(p.gp() == w.gp()),
            false => assert!(read(&|| {
                let _ = p.gp();
            })
            .is_err()),
        }
        match columns.keeps_municipality() {
            true => assert!((0..N).all(|i| p.municipality().get(i) == w.municipality().get(i))),
            false => assert!(read(&|| {
                let _ = p.municipality();
            })
            .is_err()),
        }
        match columns.keeps_group() {
            true => assert!((0..N).all(|i| p.group().get(i) == w.group().get(i))),
            false => assert!(read(&|| {
                let _ = p.group_code("65+");
            })
            .is_err()),
        }
    }

    // Bad fields in a later piece: the same errors whatever is kept.
    let csv = std::fs::read_to_string(d.path().join("residents.csv")).unwrap();
    let mut lines: Vec<&str> = csv.split_inclusive('\n').collect();
    let unknown_gp = "R999999,9.5,45.5,1,016024,GP7,65+\n";
    let repeat = format!("{},9.5,45.5,1,,,65+\n", r.id[10]);
    for bad in [unknown_gp, repeat.as_str()] {
        lines.insert(120_000, bad);
        std::fs::write(d.path().join("residents.csv"), lines.concat()).unwrap();
        let e = load(d.path()).unwrap_err();
        assert!(e.contains(":120001:") || e.contains("duplicate"), "{e}");
        assert_eq!(some(d.path(), &minimal).unwrap_err(), e);
        lines.remove(120_000);
    }
    std::fs::write(d.path().join("residents.csv"), lines.concat()).unwrap();

    // Prepared files: written from a whole load, and read whole.
    let cache = tempfile::tempdir().unwrap();
    let prepared = |mode| {
        Dataset::load_columns(d.path(), &Threads, Some((cache.path(), mode)), &minimal).unwrap()
    };
    let (none_yet, outcome) = prepared(PreparedMode::Use);
    assert_eq!(outcome, PreparedOutcome::Absent);
    assert_eq!(none_yet.residents().kept(), &minimal);
    let (written, outcome) = prepared(PreparedMode::Write);
    assert!(
        matches!(outcome, PreparedOutcome::Written(_)),
        "{outcome:?}"
    );
    assert!(written.residents().kept().is_all());
    let (read, outcome) = prepared(PreparedMode::Use);
    assert!(matches!(outcome, PreparedOutcome::Read(_)), "{outcome:?}");
    same_residents(&read, &whole, "prepared");
}

/// A byte that is not UTF-8 in a field of a quote-free CSV, wherever it
/// falls among the parts a piece is read in: its line and column named, as
/// the general CSV reader names them, and nothing loaded.
#[test]
fn a_byte_not_utf8_names_its_line_as_the_general_reader() {
    let d = tempfile::tempdir().unwrap();
    let (plain, quoted) = (d.path().join("plain"), d.path().join("quoted"));
    for dir in [&plain, &quoted] {
        std::fs::create_dir(dir).unwrap();
        dataset_dir(dir, "residents.csv");
    }
    let lines: Vec<Vec<u8>> = (0..80_000)
        .map(|i| format!("R{i},9.5,45.5,1,016024,GP1,assigned\n").into_bytes())
        .collect();
    // About 3 MB: two pieces, each read in parts.
    for k in [0usize, 5_000, 41_000, 79_999] {
        let mut broken = lines.clone();
        broken[k] = format!("R{k},9.5,45.5,1,01\u{0}6024,GP1,assigned\n").into_bytes();
        let at = broken[k].iter().position(|&b| b == 0).unwrap();
        broken[k][at] = 0xff;
        let body = broken.concat();
        let header = b"id,lon,lat,weight,municipality,gp_id,group\n";
        std::fs::write(plain.join("residents.csv"), [&header[..], &body].concat()).unwrap();
        std::fs::write(
            quoted.join("residents.csv"),
            [&b"\"id\""[..], &header[2..], &body].concat(),
        )
        .unwrap();
        let (e1, e2) = (load(&plain).unwrap_err(), load(&quoted).unwrap_err());
        assert!(e1.contains(&format!("residents.csv:{}: ", k + 2)), "{e1}");
        assert!(e1.contains("UTF-8"), "{e1}");
        assert_eq!(e1, e2.replace("quoted", "plain"), "line {k}");
    }
}
