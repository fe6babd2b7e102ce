//! `bacino stats` as a user runs it, checked against independent oracles:
//! brute-force geodesics with GeographicLib and numpy-style percentiles.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{
    bacino_fails, bacino_json, fixture_dir, karney_m, numpy_percentile, read_csv, TempDataset,
};
use serde_json::Value;

/// Every 25th fixture resident with the fixture's facilities and areas.
fn fixture_sample() -> (TempDataset, Vec<Vec<String>>) {
    let dir = fixture_dir();
    let (header, rows) = read_csv(&dir.join("residents.csv"));
    let sample: Vec<Vec<String>> = rows.into_iter().step_by(25).collect();
    let mut text = header.join(",") + "\n";
    for r in &sample {
        text += &(r.join(",") + "\n");
    }
    let facilities = std::fs::read_to_string(dir.join("facilities.csv")).unwrap();
    let areas = std::fs::read_to_string(dir.join("areas.geojson")).unwrap();
    let manifest = "name = \"sample\"\n[facilities]\npath = \"facilities.csv\"\n\
                    [residents]\npath = \"residents.csv\"\n\
                    [areas]\npath = \"areas.geojson\"\nid_property = \"code\"\nname_property = \"name\"\n";
    let ds = TempDataset::new(
        manifest,
        &[
            ("facilities.csv", &facilities),
            ("residents.csv", &text),
            ("areas.geojson", &areas),
        ],
    );
    (ds, sample)
}

/// (id, kind, lon, lat, status) of the fixture facilities.
fn fixture_facilities() -> Vec<(String, String, f64, f64, String)> {
    let (h, rows) = read_csv(&fixture_dir().join("facilities.csv"));
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let (id, kind, lon, lat, status) = (
        col("id"),
        col("kind"),
        col("lon"),
        col("lat"),
        col("status"),
    );
    rows.iter()
        .map(|r| {
            (
                r[id].clone(),
                r[kind].clone(),
                r[lon].parse().unwrap(),
                r[lat].parse().unwrap(),
                r[status].clone(),
            )
        })
        .collect()
}

fn assert_close(got: &Value, want: f64, what: &str) {
    let got = got.as_f64().unwrap_or_else(|| panic!("{what} missing"));
    // Output is rounded to the millimetre.
    assert!(
        (got - want).abs() <= 0.0006,
        "{what}: bacino {got} vs oracle {want}"
    );
}

fn assert_group_matches(g: &Value, distances: &[f64]) {
    assert_eq!(g["count"].as_f64().unwrap(), distances.len() as f64);
    assert_close(&g["median_m"], numpy_percentile(distances, 0.5), "median");
    assert_close(&g["p25_m"], numpy_percentile(distances, 0.25), "p25");
    assert_close(&g["p75_m"], numpy_percentile(distances, 0.75), "p75");
    assert_close(&g["p90_m"], numpy_percentile(distances, 0.9), "p90");
    assert_close(
        &g["mean_m"],
        distances.iter().sum::<f64>() / distances.len() as f64,
        "mean",
    );
    assert_close(
        &g["max_m"],
        distances.iter().cloned().fold(0.0, f64::max),
        "max",
    );
}

#[test]
fn nearest_gp_statistics_equal_brute_force_geodesics() {
    let (ds, sample) = fixture_sample();
    let gps: Vec<_> = fixture_facilities()
        .into_iter()
        .filter(|f| f.1 == "gp" && f.4 != "ceased")
        .collect();
    let oracle: Vec<f64> = sample
        .iter()
        .map(|r| {
            let (lon, lat): (f64, f64) = (r[1].parse().unwrap(), r[2].parse().unwrap());
            gps.iter()
                .map(|g| karney_m(lon, lat, g.2, g.3))
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    let doc = bacino_json(&[
        "stats",
        ds.path().to_str().unwrap(),
        "--to",
        "nearest",
        "--kind",
        "gp",
    ]);
    assert_eq!(doc["dataset"], "sample");
    assert_eq!(doc["to"], "nearest");
    assert_eq!(doc["kind"], "gp");
    assert_eq!(doc["metric"], "geodesic");
    let groups = doc["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["key"], "all");
    assert_group_matches(&groups[0], &oracle);
}

#[test]
fn assigned_statistics_by_group_equal_the_oracle_and_small_groups_are_suppressed() {
    let (ds, sample) = fixture_sample();
    let loc: BTreeMap<String, (f64, f64)> = fixture_facilities()
        .into_iter()
        .map(|f| (f.0, (f.2, f.3)))
        .collect();
    let mut by_group: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut unmeasured = 0;
    for r in &sample {
        let (lon, lat): (f64, f64) = (r[1].parse().unwrap(), r[2].parse().unwrap());
        if r[5].is_empty() {
            unmeasured += 1;
            continue;
        }
        let (flon, flat) = loc[&r[5]];
        by_group
            .entry(r[6].clone())
            .or_default()
            .push(karney_m(lon, lat, flon, flat));
    }
    let doc = bacino_json(&[
        "stats",
        ds.path().to_str().unwrap(),
        "--to",
        "assigned",
        "--group-by",
        "group",
    ]);
    assert_eq!(doc["unmeasured"].as_u64().unwrap(), unmeasured);
    let groups = doc["groups"].as_array().unwrap();
    let keys: Vec<&str> = groups.iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        by_group.keys().map(String::as_str).collect::<Vec<_>>()
    );
    for g in groups {
        let d = &by_group[g["key"].as_str().unwrap()];
        if d.len() < 10 {
            assert_eq!(g["suppressed"], true, "{g}");
            assert!(g.get("median_m").is_none());
        } else {
            assert_group_matches(g, d);
        }
    }
    // A threshold above every group suppresses them all.
    let doc = bacino_json(&[
        "stats",
        ds.path().to_str().unwrap(),
        "--to",
        "assigned",
        "--group-by",
        "group",
        "--min-group-size",
        "100000",
    ]);
    assert!(doc["groups"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["suppressed"] == true));
}

/// Facilities and residents given in projected CRSs (x,y computed
/// independently with pyproj 3.7 / PROJ 9) give the same statistics as the
/// same points given as lon/lat.
#[test]
fn projected_inputs_give_the_same_statistics_as_lon_lat() {
    let fac = "GP0,9.836031,45.845072,1564945.3063,5077194.5858
GP1,9.956635,45.96547,1574149.7616,5090676.6832
GP2,9.917929,45.953395,1571166.2056,5089299.7969
GP3,9.420304,45.679374,1532761.0039,5058531.0385
GP4,10.06035,45.789385,1582445.6177,5071214.2464
GP5,10.03063,45.467924,1580594.7066,5035469.2901
GP6,9.728348,45.547944,1556883.9851,5044100.9562
GP7,9.780633,45.744365,1560752.9259,5065962.0408";
    let res = "R0,9.40918,45.530038,531950.9168,5041915.0646
R1,9.595638,45.949807,546163.2884,5088643.1950
R2,9.936008,45.495763,573132.7437,5038451.8441
R3,9.958003,45.48326,574867.8318,5037083.0625
R4,9.832217,45.47602,565046.0114,5036169.2104
R5,9.401242,45.922843,531112.2454,5085553.1415
R6,9.546619,45.529289,542683.4353,5041895.7330
R7,10.087695,45.923445,584338.6629,5086116.9123
R8,9.602514,45.976887,546673.4470,5091655.9489
R9,9.777456,45.806698,560409.4575,5072864.5494
R10,9.543346,45.964586,542099.3509,5090256.2755
R11,9.883449,45.979939,568432.1295,5092197.9777
R12,10.025619,45.579273,580015.7308,5047815.0868
R13,9.652833,45.499574,551004.1207,5038656.4311
R14,9.501991,45.439084,539261.2126,5031851.4966
R15,9.610951,45.761866,547509.8607,5067771.2056
R16,9.402368,45.806761,531264.5600,5072656.3907
R17,9.636528,45.585975,549654.1351,5048245.1693
R18,9.972963,45.688447,575760.4151,5059893.0724
R19,9.621055,45.688731,548358.6494,5059651.8617
R20,9.893268,45.434201,569869.3735,5031574.5167
R21,10.08257,45.413719,584706.7484,5029480.9705
R22,9.924857,45.906929,571733.7003,5084122.5801
R23,9.412647,45.872643,532025.4328,5079980.1942
R24,9.656329,45.747111,551052.0746,5066159.8577
R25,9.406355,45.428036,531787.6302,5030581.8647
R26,9.526644,45.973108,540798.9960,5091194.4344
R27,9.537565,45.853442,541734.6460,5077904.5912
R28,10.050759,45.965226,581413.5082,5090720.5973
R29,9.641067,45.612876,549984.3198,5051236.6607";
    let table = |text: &str, xy: bool, facility: bool| {
        let mut out = if facility {
            "id,kind,lon,lat\n"
        } else {
            "id,lon,lat,gp_id\n"
        }
        .to_owned();
        if xy {
            out = out.replace("lon,lat", "x,y");
        }
        for (i, line) in text.lines().enumerate() {
            let f: Vec<&str> = line.split(',').collect();
            let (a, b) = if xy { (f[3], f[4]) } else { (f[1], f[2]) };
            out += &if facility {
                format!("{},gp,{a},{b}\n", f[0])
            } else {
                format!("{},{a},{b},GP{}\n", f[0], i % 8)
            };
        }
        out
    };
    let lonlat = TempDataset::csv(&table(fac, false, true), &table(res, false, false));
    let projected = TempDataset::new(
        "name = \"p\"\ncrs = \"EPSG:32632\"\n[facilities]\npath = \"f.csv\"\ncrs = \"EPSG:3003\"\n[residents]\npath = \"r.csv\"\n",
        &[("f.csv", &table(fac, true, true)), ("r.csv", &table(res, true, false))],
    );
    for to in [
        ["--to", "nearest", "--kind", "gp"],
        ["--to", "assigned", "--group-by", "all"],
    ] {
        let mut a = vec!["stats", lonlat.path().to_str().unwrap()];
        a.extend(to);
        let mut b = vec!["stats", projected.path().to_str().unwrap()];
        b.extend(to);
        let (ga, gb) = (
            bacino_json(&a)["groups"][0].clone(),
            bacino_json(&b)["groups"][0].clone(),
        );
        for k in [
            "count", "median_m", "p25_m", "p75_m", "p90_m", "mean_m", "max_m",
        ] {
            let (x, y) = (ga[k].as_f64().unwrap(), gb[k].as_f64().unwrap());
            assert!(
                (x - y).abs() <= 0.0011,
                "{to:?} {k}: lon/lat {x} vs projected {y}"
            );
        }
    }
}

#[test]
fn municipality_groups_carry_area_names_and_area_groups_use_point_in_polygon() {
    let dir = fixture_dir();
    let doc = bacino_json(&[
        "stats",
        dir.to_str().unwrap(),
        "--to",
        "nearest",
        "--kind",
        "cdc",
        "--group-by",
        "municipality",
    ]);
    let groups = doc["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 243, "one group per municipality");
    let bergamo = groups
        .iter()
        .find(|g| g["key"] == "016024")
        .expect("Bergamo city");
    assert_eq!(bergamo["name"], "Bergamo");
    // Residents were generated inside their municipality's area, so grouping
    // by point-in-polygon gives the same people per key.
    let by_area = bacino_json(&[
        "stats",
        dir.to_str().unwrap(),
        "--to",
        "nearest",
        "--kind",
        "cdc",
        "--group-by",
        "area",
    ]);
    let count = |doc: &Value, key: &str| -> Option<f64> {
        doc["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"] == key)?["count"]
            .as_f64()
    };
    for key in ["016024", "016004", "016001"] {
        assert_eq!(count(&doc, key), count(&by_area, key), "{key}");
    }
}

#[test]
fn results_do_not_depend_on_the_number_of_threads() {
    let dir = fixture_dir();
    let d = dir.to_str().unwrap();
    let one = bacino_json(&[
        "--threads",
        "1",
        "stats",
        d,
        "--to",
        "nearest",
        "--kind",
        "gp",
        "--group-by",
        "municipality",
    ]);
    let two = bacino_json(&[
        "--threads",
        "2",
        "stats",
        d,
        "--to",
        "nearest",
        "--kind",
        "gp",
        "--group-by",
        "municipality",
    ]);
    assert_eq!(one, two);
}

#[test]
fn bad_parameters_are_explained() {
    let dir = fixture_dir();
    let d = dir.to_str().unwrap();
    for (args, expected) in [
        (vec!["stats", d, "--to", "nearest"], "`kind`"),
        (
            vec!["stats", d, "--to", "nearest", "--kind", "hospital"],
            "hospital",
        ),
        (
            vec!["stats", d, "--to", "assigned", "--group-by", "income"],
            "unknown column `income`",
        ),
    ] {
        let err = bacino_fails(&args);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

#[test]
fn table_format_prints_one_line_per_group() {
    let out = Command::new(env!("CARGO_BIN_EXE_bacino"))
        .args([
            "stats",
            fixture_dir().to_str().unwrap(),
            "--to",
            "assigned",
            "--group-by",
            "group",
            "--format",
            "table",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().any(|l| l.starts_with("assigned ")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("ad_user ")), "{text}");
    assert!(text.contains("not measured"), "{text}");
}
