//! Sharding as a user runs it (CONTRACT §12): N `bacino stats --shard`
//! processes, then `bacino merge`, print the unsharded document byte for
//! byte; N `bacino batch --shard` processes into one OUTDIR, then
//! `bacino merge` of their part indexes, give the unsharded OUTDIR file
//! for file.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{bacino_fails, fixture_dir, monaco_sample, tree};

fn bacino(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_bacino"))
        .args(args)
        .output()
        .expect("run bacino");
    assert!(
        out.status.success(),
        "bacino {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `stats ARGS` unsharded, and sharded into `n` parts (split by `by`)
/// then merged with the parts given last to first.
fn both(dir: &Path, args: &[&str], n: u32, by: Option<&str>) -> (Vec<u8>, Vec<u8>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir.to_str().unwrap();
    let mut whole = vec!["stats", dir];
    whole.extend_from_slice(args);
    let want = bacino(&whole).stdout;
    let mut parts: Vec<PathBuf> = Vec::new();
    for i in 1..=n {
        let part = tmp.path().join(format!("part-{i}.bin"));
        let shard = format!("{i}/{n}");
        let mut a = whole.clone();
        a.extend(["--shard", &shard, "--out", part.to_str().unwrap()]);
        if let Some(by) = by {
            a.extend(["--shard-by", by]);
        }
        let out = bacino(&a);
        assert!(out.stdout.is_empty(), "a part prints nothing on stdout");
        parts.push(part);
    }
    let mut m = vec!["merge".to_owned()];
    m.extend(parts.iter().rev().map(|p| p.to_str().unwrap().to_owned()));
    if let Some(k) = args.iter().position(|a| *a == "--format") {
        m.extend(["--format".to_owned(), args[k + 1].to_owned()]);
    }
    let m: Vec<&str> = m.iter().map(String::as_str).collect();
    (bacino(&m).stdout, want)
}

#[test]
fn sharded_stats_merge_to_the_unsharded_document_on_the_bundled_dataset() {
    let d = fixture_dir();
    let cases: [(&[&str], u32, Option<&str>); 5] = [
        (&["--to", "nearest", "--kind", "gp"], 4, None),
        (
            &[
                "--to",
                "nearest",
                "--kind",
                "gp",
                "--group-by",
                "municipality",
                "--cdf",
                "10",
            ],
            3,
            Some("municipality"),
        ),
        (
            &["--to", "assigned", "--group-by", "group"],
            2,
            Some("municipality"),
        ),
        (
            &["--to", "nearest", "--kind", "cdc", "--group-by", "facility"],
            5,
            None,
        ),
        (
            &[
                "--to",
                "nearest",
                "--kind",
                "pharmacy",
                "--group-by",
                "municipality",
                "--format",
                "table",
            ],
            3,
            None,
        ),
    ];
    for (args, n, by) in cases {
        let (got, want) = both(&d, args, n, by);
        assert!(!want.is_empty());
        assert!(
            got == want,
            "{args:?} in {n} parts by {by:?}:\n{}",
            String::from_utf8_lossy(&got)
        );
    }
}

#[test]
fn sharded_stats_over_a_road_network_merge_exactly() {
    // Every 10th Monaco resident, by car: seconds and route metres, and the
    // people no road reaches (a resident out at sea).
    let d = monaco_sample(10, "SEA1,7.50,43.60,,assigned\n", "snap_max_m = 200\n");
    let args = [
        "--to",
        "nearest",
        "--kind",
        "pharmacy",
        "--metric",
        "car",
        "--group-by",
        "group",
        "--cdf",
        "4",
    ];
    let (got, want) = both(d.path(), &args, 3, None);
    let doc: serde_json::Value = serde_json::from_slice(&want).unwrap();
    assert!(doc["unreachable"].as_f64().unwrap() >= 1.0, "{doc}");
    assert!(got == want, "{}", String::from_utf8_lossy(&got));
    // To each one's own GP (one search per GP, stopping early), by GP.
    let args = [
        "--to",
        "assigned",
        "--metric",
        "car",
        "--group-by",
        "facility",
    ];
    let (got, want) = both(d.path(), &args, 2, Some("group"));
    assert!(got == want, "{}", String::from_utf8_lossy(&got));
}

#[test]
fn per_resident_rows_of_the_parts_make_the_unsharded_file() {
    let tmp = tempfile::tempdir().unwrap();
    let d = fixture_dir();
    let d = d.to_str().unwrap();
    let whole = tmp.path().join("all.csv");
    bacino(&[
        "stats",
        d,
        "--to",
        "nearest",
        "--kind",
        "gp",
        "--per-resident",
        whole.to_str().unwrap(),
    ]);
    let mut joined = String::new();
    for i in 1..=3 {
        let csv = tmp.path().join(format!("{i}.csv"));
        let part = tmp.path().join(format!("{i}.part"));
        bacino(&[
            "stats",
            d,
            "--to",
            "nearest",
            "--kind",
            "gp",
            "--shard",
            &format!("{i}/3"),
            "--out",
            part.to_str().unwrap(),
            "--per-resident",
            csv.to_str().unwrap(),
        ]);
        let text = std::fs::read_to_string(csv).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        if i == 1 {
            joined += header;
            joined += "\n";
        }
        for l in lines {
            joined += l;
            joined += "\n";
        }
    }
    assert!(joined == std::fs::read_to_string(whole).unwrap());
}

#[test]
fn incomplete_or_foreign_parts_are_refused_with_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let d = fixture_dir();
    let d = d.to_str().unwrap();
    let part = |i: u32, n: u32, kind: &str| {
        let p = tmp.path().join(format!("{kind}-{i}-{n}"));
        bacino(&[
            "stats",
            d,
            "--to",
            "nearest",
            "--kind",
            kind,
            "--shard",
            &format!("{i}/{n}"),
            "--out",
            p.to_str().unwrap(),
        ]);
        p.to_str().unwrap().to_owned()
    };
    let (a, b, c) = (part(1, 3, "gp"), part(2, 3, "gp"), part(3, 3, "cdc"));
    let e = bacino_fails(&["merge", &a, &b]);
    assert!(e.contains("missing part(s) 3/3"), "{e}");
    let e = bacino_fails(&["merge", &a, &b, &c]);
    assert!(e.contains("not of the same run"), "{e}");
    let e = bacino_fails(&["merge", &a, &a, &b]);
    assert!(e.contains("given twice"), "{e}");
    // A damaged part names its file.
    let mut bytes = std::fs::read(&b).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    let damaged = tmp.path().join("damaged");
    std::fs::write(&damaged, bytes).unwrap();
    let e = bacino_fails(&["merge", &a, damaged.to_str().unwrap()]);
    assert!(
        e.contains("damaged: the part is truncated or altered"),
        "{e}"
    );
    let e = bacino_fails(&[
        "stats", d, "--to", "nearest", "--kind", "gp", "--shard", "4/3", "--out", "x",
    ]);
    assert!(e.contains("I/N"), "{e}");
    let e = bacino_fails(&[
        "stats", d, "--to", "nearest", "--kind", "gp", "--shard", "1/3",
    ]);
    assert!(e.contains("--out"), "{e}");
    let e = bacino_fails(&[
        "stats",
        d,
        "--to",
        "nearest",
        "--kind",
        "gp",
        "--shard",
        "1/3",
        "--out",
        "x",
        "--shard-by",
        "nonesuch",
    ]);
    assert!(e.contains("unknown column `nonesuch`"), "{e}");
}

#[test]
fn sharded_batches_merge_to_the_unsharded_outdir() {
    let tmp = tempfile::tempdir().unwrap();
    let scenarios = tmp.path().join("s.jsonl");
    std::fs::write(
        &scenarios,
        r#"{"name": "city", "cease": ["GP0055", "GP0058"]}
{"name": "ghost", "cease": ["GP9999"]}

{"name": "broken", "cease": [
{"name": "wave", "random_cease": {"count": 2, "draws": 3, "seed": 1}, "max_distance_m": 20000}
{"name": "one", "cease": ["GP0001"]}
{"name": "city", "cease": ["GP0002"]}
"#,
    )
    .unwrap();
    let d = fixture_dir();
    let d = d.to_str().unwrap();
    let s = scenarios.to_str().unwrap();
    let whole = tmp.path().join("whole");
    bacino(&[
        "batch",
        d,
        "--scenarios",
        s,
        "--out",
        whole.to_str().unwrap(),
        "--catchments",
        "none",
    ]);
    let sharded = tmp.path().join("sharded");
    let o = sharded.to_str().unwrap();
    for i in 1..=3 {
        bacino(&[
            "batch",
            d,
            "--scenarios",
            s,
            "--out",
            o,
            "--catchments",
            "none",
            "--shard",
            &format!("{i}/3"),
        ]);
    }
    let parts: Vec<String> = (1..=3)
        .map(|i| sharded.join(format!("index.part-{i}-of-3.json")))
        .map(|p| p.to_str().unwrap().to_owned())
        .collect();
    let e = bacino_fails(&["merge", &parts[0], &parts[2]]);
    assert!(e.contains("missing part(s) 2/3"), "{e}");
    let index = sharded.join("index.json");
    bacino(&[
        "merge",
        &parts[2],
        &parts[0],
        &parts[1],
        "--out",
        index.to_str().unwrap(),
    ]);
    for p in &parts {
        std::fs::remove_file(p).unwrap();
    }
    let (got, want) = (tree(&sharded), tree(&whole));
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (k, v) in &want {
        assert!(got[k] == *v, "{k} differs");
    }
    // Index of a different scenarios file does not merge.
    let other = tmp.path().join("o.jsonl");
    std::fs::write(&other, "{\"name\": \"one\", \"cease\": [\"GP0001\"]}\n").unwrap();
    let out2 = tmp.path().join("other");
    bacino(&[
        "batch",
        d,
        "--scenarios",
        other.to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
        "--catchments",
        "none",
        "--shard",
        "2/3",
    ]);
    bacino(&[
        "batch",
        d,
        "--scenarios",
        s,
        "--out",
        o,
        "--catchments",
        "none",
        "--shard",
        "1/3",
    ]);
    let e = bacino_fails(&[
        "merge",
        sharded.join("index.part-1-of-3.json").to_str().unwrap(),
        out2.join("index.part-2-of-3.json").to_str().unwrap(),
    ]);
    assert!(e.contains("not of the same run"), "{e}");
    // Nor does one whose scenarios drew other catchments.
    let out3 = tmp.path().join("drawn");
    bacino(&[
        "batch",
        d,
        "--scenarios",
        s,
        "--out",
        out3.to_str().unwrap(),
        "--shard",
        "2/3",
    ]);
    let e = bacino_fails(&[
        "merge",
        sharded.join("index.part-1-of-3.json").to_str().unwrap(),
        out3.join("index.part-2-of-3.json").to_str().unwrap(),
    ]);
    assert!(e.contains("--catchments"), "{e}");
}
