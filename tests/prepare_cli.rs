//! `bacino prepare`: the residents' columns kept in the cache directory and
//! read back by later loads, with the same documents as parsing the
//! sources, and parsed again when a source changes.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{fixture_dir, TempDataset};

fn bacino(cache: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_bacino"))
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .env_remove("BACINO_QUIET")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bacino {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The document `stats` writes when every source is parsed.
fn parsed_stats(dir: &str) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_bacino"))
        .args([
            "--no-cache",
            "stats",
            dir,
            "--to",
            "nearest",
            "--kind",
            "gp",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

#[test]
fn prepared_residents_give_the_documents_of_the_sources() {
    let cache = tempfile::tempdir().unwrap();
    let src = fixture_dir();
    let mut files = Vec::new();
    for f in ["facilities.csv", "residents.csv", "areas.geojson"] {
        files.push((f, std::fs::read_to_string(src.join(f)).unwrap()));
    }
    let manifest = "name = \"copy\"\n[facilities]\npath = \"facilities.csv\"\n\
                    [residents]\npath = \"residents.csv\"\n\
                    [areas]\npath = \"areas.geojson\"\nid_property = \"code\"\nname_property = \"name\"\n";
    let refs: Vec<(&str, &str)> = files.iter().map(|(f, t)| (*f, t.as_str())).collect();
    let ds = TempDataset::new(manifest, &refs);
    let dir = ds.path().to_str().unwrap();
    let stats = ["stats", dir, "--to", "nearest", "--kind", "gp"];

    // Before `prepare`, a load neither reads nor writes a prepared file.
    let before = bacino(cache.path(), &stats);
    assert!(
        before.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&before.stderr)
    );
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);

    let out = bacino(cache.path(), &["prepare", dir]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("copy: 92510 residents prepared in"), "{said}");
    let prepared: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(prepared.len(), 1);
    assert!(said.contains(prepared[0].to_str().unwrap()), "{said}");

    let after = bacino(cache.path(), &stats);
    let note = String::from_utf8_lossy(&after.stderr);
    assert!(note.contains("copy: residents read from"), "{note}");
    assert_eq!(after.stdout, parsed_stats(dir));
    assert_eq!(after.stdout, before.stdout);

    // One resident moves: the next load parses the sources and prepares
    // them again, and the one after reads the new file.
    let csv = ds.path().join("residents.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let line = text.lines().nth(10).unwrap().to_owned();
    let moved = line.replacen(",45.", ",46.", 1);
    assert_ne!(moved, line);
    std::fs::write(&csv, text.replacen(&line, &moved, 1)).unwrap();
    let changed = bacino(cache.path(), &stats);
    let note = String::from_utf8_lossy(&changed.stderr);
    assert!(
        note.contains("prepared again") && note.contains("the sources changed"),
        "{note}"
    );
    let parsed = parsed_stats(dir);
    assert_ne!(parsed, before.stdout);
    assert_eq!(changed.stdout, parsed);
    let read = bacino(cache.path(), &stats);
    assert!(String::from_utf8_lossy(&read.stderr).contains("read from"));
    assert_eq!(read.stdout, parsed);
}

#[test]
fn prepare_needs_a_cache_directory() {
    let out = Command::new(env!("CARGO_BIN_EXE_bacino"))
        .args(["--no-cache", "prepare"])
        .arg(fixture_dir())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("no cache directory"), "{e}");
}
