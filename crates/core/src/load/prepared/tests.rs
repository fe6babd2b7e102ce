//! Tests of the prepared residents: round trips, stale and damaged files.

use super::*;
use crate::exec::Sequential;

/// A copy of the bundled dataset in `dir`, its residents rewritten by
/// `edit` (header, then each line).
fn dataset(dir: &Path, edit: impl Fn(usize, &str) -> String) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/bergamo");
    for f in [
        "dataset.toml",
        "facilities.csv",
        "areas.geojson",
        "ad_slots.csv",
    ] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let text = std::fs::read_to_string(src.join("residents.csv")).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        out.push_str(&edit(i, line));
        out.push('\n');
    }
    std::fs::write(dir.join("residents.csv"), out).unwrap();
}

/// The bundled residents with fractional and zero weights, some
/// municipalities left for the areas to fill, some GPs missing, and an
/// extra column.
fn varied(i: usize, line: &str) -> String {
    if i == 0 {
        return format!("{line},province");
    }
    let mut f: Vec<String> = line.split(',').map(str::to_owned).collect();
    // id,lon,lat,weight,municipality,gp_id,group
    if i % 3 == 0 {
        f[3] = format!("{}.25", i % 4);
    }
    if i % 7 == 0 {
        f[4].clear();
    }
    if i % 5 == 0 {
        f[5].clear();
    }
    let province = ["BG", "", "Bergamo provincia"][i % 3];
    format!("{},{province}", f.join(","))
}

fn load(dir: &Path, cache: &Path, mode: PreparedMode) -> (Dataset, PreparedOutcome) {
    load_dataset_prepared(
        dir,
        &Sequential,
        Some((cache, mode)),
        &ResidentColumns::all(),
    )
    .unwrap()
}

fn assert_same(a: &Residents, b: &Residents) {
    assert_eq!(a.len(), b.len());
    let bits = |r: &Residents| -> Vec<(u64, u64, u64)> {
        r.location
            .iter()
            .zip(r.weights())
            .map(|(p, w)| (p.lon.to_bits(), p.lat.to_bits(), w.to_bits()))
            .collect()
    };
    assert!(bits(a) == bits(b), "coordinates or weights differ");
    assert_eq!(a.gp, b.gp);
    assert_eq!(a.unit_weights, b.unit_weights);
    let (ca, cb) = (categoricals(a), categoricals(b));
    assert_eq!(ca.len(), cb.len());
    for ((na, a), (nb, b)) in ca.into_iter().zip(cb) {
        assert_eq!(na, nb);
        assert_eq!(a.values(), b.values(), "{na}");
        assert!(a.codes() == b.codes(), "{na}");
    }
    for row in 0..a.len() {
        assert_eq!(a.ids.get(row), b.ids.get(row), "row {row}");
    }
}

#[test]
fn prepared_residents_are_those_of_the_sources() {
    for (name, edit) in [
        (
            "bundled",
            (|_, l: &str| l.to_owned()) as fn(usize, &str) -> String,
        ),
        ("varied", varied),
    ] {
        let (dir, cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        dataset(dir.path(), edit);
        let plain = load_dataset(dir.path(), &Sequential).unwrap();
        let r = plain.residents();
        // What the round trip has to carry, present in the data.
        assert!(r.ids.blocks().count() > 1, "{name}");
        assert_eq!(r.has_unit_weights(), name == "bundled");
        assert_eq!(r.extra.len(), usize::from(name == "varied"));

        // No prepared file: nothing read, nothing written.
        let (_, outcome) = load(dir.path(), cache.path(), PreparedMode::Use);
        assert_eq!(outcome, PreparedOutcome::Absent);
        assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);

        let (written, outcome) = load(dir.path(), cache.path(), PreparedMode::Write);
        let PreparedOutcome::Written(path) = outcome else {
            panic!("{name}: {outcome:?}")
        };
        assert_same(written.residents(), r);
        let (read, outcome) = load(dir.path(), cache.path(), PreparedMode::Use);
        assert_eq!(outcome, PreparedOutcome::Read(path), "{name}");
        assert_same(read.residents(), r);
        assert_eq!(read.version(), plain.version());
        // Only the prepared file is left in the cache.
        assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 1);
    }
}

/// Prepares the bundled dataset in a new directory; returns it, the
/// cache and the prepared file.
fn prepared() -> (tempfile::TempDir, tempfile::TempDir, PathBuf) {
    let (dir, cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    dataset(dir.path(), |_, l| l.to_owned());
    let (_, outcome) = load(dir.path(), cache.path(), PreparedMode::Write);
    let PreparedOutcome::Written(path) = outcome else {
        panic!("{outcome:?}")
    };
    (dir, cache, path)
}

/// A load that found the file unusable for a reason containing
/// `because`, read the sources, and wrote the file again, so that the
/// next load reads it.
fn refreshed(dir: &Path, cache: &Path, because: &str) {
    let plain = load_dataset(dir, &Sequential).unwrap();
    let (d, outcome) = load(dir, cache, PreparedMode::Use);
    let PreparedOutcome::Refreshed { path, why } = outcome else {
        panic!("{because}: {outcome:?}")
    };
    assert!(why.contains(because), "{why:?} does not say {because:?}");
    assert_same(d.residents(), plain.residents());
    assert_eq!(d.version(), plain.version());
    let (again, outcome) = load(dir, cache, PreparedMode::Use);
    assert_eq!(outcome, PreparedOutcome::Read(path));
    assert_same(again.residents(), plain.residents());
}

#[test]
fn a_changed_source_is_parsed_and_prepared_again() {
    let (dir, cache, _) = prepared();
    // A coordinate of one resident moves by one digit.
    let csv = dir.path().join("residents.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let line = text.lines().nth(500).unwrap();
    let moved = line.replacen("45.", "45.0", 1);
    assert_ne!(moved, line);
    std::fs::write(&csv, text.replacen(line, &moved, 1)).unwrap();
    refreshed(dir.path(), cache.path(), "the sources changed");
    // Another source than the residents: the facilities.
    let f = dir.path().join("facilities.csv");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, text.replacen("Ambulatorio", "Studio", 1)).unwrap();
    refreshed(dir.path(), cache.path(), "the sources changed");
}

#[test]
fn a_damaged_file_is_refused_whole() {
    let (dir, cache, path) = prepared();
    let good = std::fs::read(&path).unwrap();
    let header_len = u64::from_le_bytes(good[8..16].try_into().unwrap()) as usize;
    let data = 16 + header_len;
    type Damage = (&'static str, Box<dyn Fn(&mut Vec<u8>)>);
    let damages: Vec<Damage> = vec![
        ("not a prepared", Box::new(|b| b[0] ^= 1)),
        ("header", Box::new(move |b| b[16 + header_len / 2] ^= 0x20)),
        ("damaged", Box::new(move |b| b[data + 17] ^= 1)),
        (
            "damaged",
            Box::new(|b| {
                let mid = b.len() / 2;
                b[mid] ^= 0x80
            }),
        ),
        (
            "damaged",
            Box::new(|b| {
                let n = b.len();
                b[n - 20] ^= 4
            }),
        ),
        (
            "length",
            Box::new(|b| {
                b.pop();
            }),
        ),
        ("length", Box::new(|b| b.push(0))),
        ("not a prepared", Box::new(|b| b.truncate(5))),
        ("not a prepared", Box::new(|b| b.clear())),
    ];
    for (because, damage) in damages {
        let mut bytes = good.clone();
        damage(&mut bytes);
        std::fs::write(&path, bytes).unwrap();
        refreshed(dir.path(), cache.path(), because);
        assert_eq!(std::fs::read(&path).unwrap(), good, "{because}");
    }
}

/// `r` with the weight of row 9 set to `w`.
fn spoil_weight(r: &mut Residents, w: f64) {
    r.weight = r.weights().to_vec();
    r.weight[9] = w;
}

#[test]
fn values_a_load_cannot_store_are_refused_even_when_the_digests_agree() {
    let d = load_dataset(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/bergamo"),
        &Sequential,
    )
    .unwrap();
    let n = d.facilities().len();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.residents");
    type Spoil = (&'static str, Box<dyn Fn(&mut Residents)>);
    let spoils: Vec<Spoil> = vec![
        ("", Box::new(|_| {})),
        ("impossible", Box::new(move |r| r.gp[7] = n as u32)),
        ("impossible", Box::new(|r| r.location[3].lat = 90.5)),
        ("impossible", Box::new(|r| r.location[3].lon = f64::NAN)),
        ("impossible", Box::new(|r| spoil_weight(r, -1.0))),
        ("impossible", Box::new(|r| spoil_weight(r, f64::INFINITY))),
        (
            "impossible",
            Box::new(|r| {
                let c = r.group.values().len() as u32;
                r.group.set_code(0, c)
            }),
        ),
        ("do not agree", Box::new(|r| r.unit_weights = false)),
    ];
    for (because, spoil) in spoils {
        let mut r = d.residents().clone();
        spoil(&mut r);
        write_prepared(&path, "v", &r, n, &Sequential).unwrap();
        match read_prepared(&path, "v", n, &Sequential) {
            Ok(back) if because.is_empty() => assert_same(&back, &r),
            Ok(_) => panic!("{because}: accepted"),
            Err(why) => assert!(why.contains(because), "{why:?} for {because:?}"),
        }
        // Another version, or another facility count, is not read.
        let e = read_prepared(&path, "w", n, &Sequential).unwrap_err();
        assert!(e.contains("sources changed"), "{e}");
        let e = read_prepared(&path, "v", n + 1, &Sequential).unwrap_err();
        assert!(e.contains("facilities"), "{e}");
    }
    // A header that lies about its columns, its digests rewritten to
    // agree: refused for what it says, never read into the columns.
    write_prepared(&path, "v", d.residents(), n, &Sequential).unwrap();
    let good = std::fs::read(&path).unwrap();
    let lies = [
        ("\"municipality\"", "\"municipalitx\"", "first"),
        ("\"group\"", "\"grouq\"", "first"),
        ("\"id_blocks\":[[", "\"id_blocks\":[[1", "one per row"),
    ];
    for (from, to, because) in lies {
        std::fs::write(&path, relabel(&good, from, to)).unwrap();
        let e = read_prepared(&path, "v", n, &Sequential).unwrap_err();
        assert!(e.contains(because), "{e} for {to}");
    }
    // A dictionary that repeats a value, or a code past it.
    let two = |v: u32| Categorical::from_parts(vec![0, v, NONE], vec!["a".into(), "b".into()]);
    assert!(two(1).is_some() && two(2).is_none());
    assert!(Categorical::from_parts(vec![0], vec!["a".into(), "a".into()]).is_none());
}

#[test]
fn each_dataset_path_has_its_own_file() {
    let (dir, cache, path) = prepared();
    let other = tempfile::tempdir().unwrap();
    dataset(other.path(), |_, l| l.to_owned());
    // Same bytes, another place: not prepared.
    let (_, outcome) = load(other.path(), cache.path(), PreparedMode::Use);
    assert_eq!(outcome, PreparedOutcome::Absent);
    let (_, outcome) = load(other.path(), cache.path(), PreparedMode::Write);
    let PreparedOutcome::Written(second) = outcome else {
        panic!("{outcome:?}")
    };
    assert_ne!(second, path);
    // The manifest file names the same dataset as its directory.
    let (_, outcome) = load(
        &dir.path().join("dataset.toml"),
        cache.path(),
        PreparedMode::Use,
    );
    assert_eq!(outcome, PreparedOutcome::Read(path));
}

#[test]
fn a_cache_that_cannot_be_written_fails_prepare_but_not_a_load() {
    let (dir, cache, path) = prepared();
    // A file where the cache directory would be.
    let blocked = cache.path().join("not-a-dir");
    std::fs::write(&blocked, "x").unwrap();
    let e = load_dataset_prepared(
        dir.path(),
        &Sequential,
        Some((&blocked, PreparedMode::Write)),
        &ResidentColumns::all(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    // A stale file that cannot be replaced: the load goes on.
    std::fs::write(&path, b"stale").unwrap();
    let writable = std::fs::metadata(cache.path()).unwrap().permissions();
    let mut perms = writable.clone();
    perms.set_readonly(true);
    std::fs::set_permissions(cache.path(), perms).unwrap();
    let (d, outcome) = load(dir.path(), cache.path(), PreparedMode::Use);
    std::fs::set_permissions(cache.path(), writable).unwrap();
    assert_eq!(d.residents().len(), 92_510);
    // Root writes into a read-only directory: then the file was replaced.
    match outcome {
        PreparedOutcome::NotWritten { why, .. } => assert!(!why.is_empty()),
        PreparedOutcome::Refreshed { why, .. } => assert!(why.contains("not a prepared")),
        o => panic!("{o:?}"),
    }
}

/// `file` (a prepared file) with the first `from` in its header replaced
/// by `to`, its header length and the trailer's digest made to agree.
fn relabel(file: &[u8], from: &str, to: &str) -> Vec<u8> {
    let header_len = u64::from_le_bytes(file[8..16].try_into().unwrap()) as usize;
    let old = &file[16..16 + header_len];
    let new = std::str::from_utf8(old).unwrap().replacen(from, to, 1);
    assert_ne!(new.as_bytes(), old, "{from}");
    // The chunks' digests end the file, before the digest of the header
    // and them: the one split where that digest agrees.
    let rest = &file[16 + header_len..file.len() - 8];
    let last = &file[file.len() - 8..];
    let digests = (1..=rest.len() / 8)
        .map(|k| &rest[rest.len() - 8 * k..])
        .find(|d| xxh3_64(&[old, d].concat()).to_le_bytes() == last)
        .unwrap();
    let mut out = file[..8].to_vec();
    out.extend_from_slice(&(new.len() as u64).to_le_bytes());
    out.extend_from_slice(new.as_bytes());
    out.extend_from_slice(rest);
    out.extend_from_slice(&xxh3_64(&[new.as_bytes(), digests].concat()).to_le_bytes());
    out
}
