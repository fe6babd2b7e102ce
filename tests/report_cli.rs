//! `bacino report`: one self-contained HTML file whose figures are those
//! of `bacino stats`, suppressed the same way, with nothing fetched from
//! anywhere and no resident in it.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{bacino_fails, bacino_json, fixture_dir, read_csv};
use serde_json::Value;

fn report(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    let status = Command::new(env!("CARGO_BIN_EXE_bacino"))
        .arg("report")
        .arg(fixture_dir())
        .arg("--out")
        .arg(&out)
        .args(args)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read_to_string(&out).unwrap()
}

/// `attr="value"` of the first occurrence after `from`.
fn attr<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    let start = s.find(&format!("{name}=\""))? + name.len() + 2;
    Some(&s[start..start + s[start..].find('"')?])
}

/// The rows of the table by municipality: area id → the row's HTML.
fn area_rows(html: &str) -> BTreeMap<String, String> {
    let table = &html[html.find("<table id=\"by-area\"").expect("the table")..];
    let table = &table[..table.find("</table>").unwrap()];
    table
        .split("<tr data-area=\"")
        .skip(1)
        .map(|row| {
            let id = &row[..row.find('"').unwrap()];
            (id.to_owned(), row.to_owned())
        })
        .collect()
}

/// The numbers of `data-m` attributes, in order.
fn data_m(row: &str) -> Vec<f64> {
    row.split("data-m=\"")
        .skip(1)
        .map(|p| p[..p.find('"').unwrap()].parse().unwrap())
        .collect()
}

fn stats(args: &[&str]) -> BTreeMap<String, Value> {
    let dir = fixture_dir();
    let mut a = vec!["stats", dir.to_str().unwrap()];
    a.extend_from_slice(args);
    bacino_json(&a)["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].as_str().unwrap_or("").to_owned(), g.clone()))
        .collect()
}

#[test]
fn the_report_holds_the_same_figures_as_stats_by_municipality() {
    let html = report(&[]);
    assert!(html.starts_with("<!doctype html><html lang=\"it\">"));
    let rows = area_rows(&html);
    let areas: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_dir().join("areas.geojson")).unwrap(),
    )
    .unwrap();
    assert_eq!(rows.len(), areas["features"].as_array().unwrap().len());

    let assigned = stats(&["--to", "assigned", "--group-by", "area"]);
    let gp = stats(&["--to", "nearest", "--kind", "gp", "--group-by", "area"]);
    let cdc = stats(&["--to", "nearest", "--kind", "cdc", "--group-by", "area"]);
    let (mut checked, mut suppressed) = (0, 0);
    for (id, row) in &rows {
        let mut want = Vec::new();
        let mut any_suppressed = false;
        for s in [&assigned, &gp, &cdc] {
            match s.get(id) {
                Some(g) if g["suppressed"] == true => any_suppressed = true,
                Some(g) => {
                    want.push(g["median_m"].as_f64().unwrap());
                    want.push(g["p90_m"].as_f64().unwrap());
                }
                None => {}
            }
        }
        assert_eq!(data_m(row), want, "{id}");
        if any_suppressed {
            suppressed += 1;
            assert!(row.contains("soppresso"), "{id}: {row}");
        } else if let Some(g) = assigned.get(id) {
            // Shown in Italian: two decimals of kilometres, decimal comma.
            let km =
                format!("{:.2} km", g["median_m"].as_f64().unwrap() / 1000.0).replace('.', ",");
            assert!(row.contains(&format!(">{km}<")), "{id}: {km} in {row}");
            checked += 1;
        }
    }
    assert!(
        checked > 200 && suppressed > 0,
        "{checked} checked, {suppressed} suppressed"
    );

    // The summary's medians are the whole dataset's.
    let summary = &html[html.find("class=\"summary\"").unwrap()..];
    let summary = &summary[..summary.find("</table>").unwrap()];
    let first_rows: Vec<f64> = summary
        .split("<tr>")
        .skip(2)
        .map(|r| data_m(r)[0])
        .collect();
    let all_assigned = stats(&["--to", "assigned"]);
    let all_gp = stats(&["--to", "nearest", "--kind", "gp"]);
    assert_eq!(
        first_rows[0],
        all_assigned["all"]["median_m"].as_f64().unwrap()
    );
    assert_eq!(first_rows[1], all_gp["all"]["median_m"].as_f64().unwrap());
}

#[test]
fn the_maps_colour_every_area_by_its_median_and_rank() {
    let html = report(&[]);
    let assigned = stats(&["--to", "assigned", "--group-by", "area"]);
    let map = &html[html.find("<svg").unwrap()..];
    let map = &map[..map.find("</svg>").unwrap()];
    let mut shaded: Vec<(f64, String)> = Vec::new();
    for path in map.split("<path ").skip(1) {
        let id = attr(path, "data-area").unwrap();
        let fill = attr(path, "fill").unwrap().to_owned();
        match assigned.get(id) {
            Some(g) if g["suppressed"] == true => {
                assert!(path.contains("data-suppressed"), "{id}");
                assert_eq!(fill, "#bdbdbd", "{id}");
            }
            Some(g) => {
                let v: f64 = attr(path, "data-value").unwrap().parse().unwrap();
                assert_eq!(v, g["median_m"].as_f64().unwrap(), "{id}");
                shaded.push((v, fill));
            }
            None => assert_eq!(fill, "#ffffff", "{id}: no residents"),
        }
    }
    // The legend lists the ramp in order; a larger median never takes an
    // earlier colour, and at least five classes are used.
    let legend = &html[html.find("class=\"legend\"").unwrap()..];
    let legend = &legend[..legend.find("</div>").unwrap()];
    let ramp: Vec<&str> = legend
        .split("background:")
        .skip(1)
        .map(|p| &p[..7])
        .collect();
    shaded.sort_by(|a, b| a.0.total_cmp(&b.0));
    let ranks: Vec<usize> = shaded
        .iter()
        .map(|(_, f)| ramp.iter().position(|c| c == f).expect("a legend colour"))
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    let mut used = ranks.clone();
    used.dedup();
    assert!(used.len() >= 5, "{used:?}");
}

#[test]
fn the_report_is_self_contained_and_names_no_resident() {
    let html = report(&[]);
    for needle in ["<script", "<link", "src=", "href=", "url(", "@import"] {
        assert!(
            !html.contains(needle),
            "the report refers outside itself: {needle}"
        );
    }
    // The only URL is the SVG namespace.
    let urls: Vec<&str> = html
        .match_indices("http")
        .map(|(i, _)| &html[i..i + 26])
        .collect();
    assert!(
        urls.iter()
            .all(|u| u.starts_with("http://www.w3.org/2000/svg")),
        "{urls:?}"
    );
    let (header, rows) = read_csv(&fixture_dir().join("residents.csv"));
    let id = header.iter().position(|h| h == "id").unwrap();
    let (lon, lat) = (
        header.iter().position(|h| h == "lon").unwrap(),
        header.iter().position(|h| h == "lat").unwrap(),
    );
    for r in rows.iter().step_by(97) {
        assert!(!html.contains(&r[id]), "resident {} named", r[id]);
        assert!(
            !html.contains(&r[lon]) || !html.contains(&r[lat]),
            "{:?}",
            r
        );
    }
}

#[test]
fn english_reports_use_english_labels_and_numbers() {
    let html = report(&["--lang", "en"]);
    assert!(html.starts_with("<!doctype html><html lang=\"en\">"));
    assert!(html.contains("By municipality") && !html.contains("Per comune"));
    let all = stats(&["--to", "assigned"]);
    let km = format!(
        "{:.2} km",
        all["all"]["median_m"].as_f64().unwrap() / 1000.0
    );
    assert!(html.contains(&format!(">{km}<")), "{km}");
}

#[test]
fn bad_arguments_are_refused_and_leave_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html");
    let o = out.to_str().unwrap();
    let d = fixture_dir();
    let d = d.to_str().unwrap();
    let err = bacino_fails(&["report", d, "--out", o, "--lang", "fr"]);
    assert!(err.contains("--lang") && err.contains("fr"), "{err}");
    let err = bacino_fails(&["report", d, "--out", o, "--min-group-size", "0"]);
    assert!(err.contains("--min-group-size"), "{err}");
    let err = bacino_fails(&["report", "/nonexistent/dataset", "--out", o]);
    assert!(err.contains("/nonexistent/dataset"), "{err}");
    assert!(!out.exists());
    // An existing report is left whole when the new one cannot be made.
    std::fs::write(&out, "old").unwrap();
    bacino_fails(&["report", d, "--out", o, "--lang", "de"]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old");
    let err = bacino_fails(&["report", d, "--out", "/nonexistent/dir/r.html"]);
    assert!(err.contains("/nonexistent/dir"), "{err}");
}
