//! The map page in a real browser (headless Chromium through ChromeDriver),
//! used as a planner uses it: it loads with no error and no failed request,
//! draws the municipalities in the legend's colours, a click shows the same
//! median as `/distances`, ceasing two GPs through the form shows the same
//! placed and orphans as `POST /scenarios`, the shared link reproduces it,
//! a new GP placed by a click is the `open` lever, and the language toggle
//! changes the labels.
//!
//! Skipped with a message when Chromium is missing, required when `CI` is
//! set. With `BACINO_SCREENSHOTS=DIR` the main views are saved there (the
//! README's pictures).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::server::Server;
use common::webdriver::{decode_png, start_or_skip, Browser, ENTER};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(90);
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 860;

fn get_json(server: &Server, path: &str) -> Value {
    let (status, body) = server.get(path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn ready(b: &Browser) {
    b.wait_for(
        "document.body.dataset.ready === '1' && !document.body.dataset.busy",
        WAIT,
        "the page to be ready",
    );
}

/// Saves a screenshot for the README when asked to.
fn keep(b: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("BACINO_SCREENSHOTS") {
        let path = std::path::Path::new(&dir).join(format!("{name}.png"));
        std::fs::write(&path, b.screenshot()).unwrap();
        eprintln!("saved {}", path.display());
    }
}

/// Viewport coordinates of a point inside area `id` that the map itself
/// reports as that area (so a click there hits it).
fn point_in_area(b: &Browser, id: &str) -> Option<(f64, f64)> {
    let v = b.execute(
        r#"
        const [id] = arguments;
        const map = window.bacino.map;
        const f = window.bacino.areas.features.find((x) => x.properties.area_id === id);
        const rect = map.getContainer().getBoundingClientRect();
        const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0]
                   : f.geometry.coordinates.map((p) => p[0]).sort((a, b) => b.length - a.length)[0];
        const pts = ring.map((c) => map.project(c));
        const xs = pts.map((p) => p.x), ys = pts.map((p) => p.y);
        const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
        // A grid over the box: the first point inside the area with no
        // facility symbol within 15 px.
        for (let i = 1; i < 12; i++) for (let j = 1; j < 12; j++) {
          const x = x0 + ((x1 - x0) * i) / 12, y = y0 + ((y1 - y0) * j) / 12;
          if (x < 5 || y < 5 || x > rect.width - 60 || y > rect.height - 40) continue;
          const hit = map.queryRenderedFeatures([x, y], { layers: ['areas-fill'] });
          const near = map.queryRenderedFeatures([[x - 15, y - 15], [x + 15, y + 15]], { layers: ['facilities', 'opened'] });
          if (hit.length === 1 && hit[0].properties.area_id === id && near.length === 0)
            return [rect.left + Math.round(x), rect.top + Math.round(y)];
        }
        return null;
        "#,
        json!([id]),
    );
    v.as_array()
        .map(|a| (a[0].as_f64().unwrap(), a[1].as_f64().unwrap()))
}

/// Italian rendering of kilometres with two decimals, as the page shows
/// a distance in metres (values here are below 1,000 km).
fn km_it(m: f64) -> String {
    format!("{:.2} km", m / 1000.0).replace('.', ",")
}

/// Pixels of the screenshot within `tol` of `rgb` on every channel.
fn count_colour(rgba: &[u8], rgb: [f64; 3], tol: f64) -> usize {
    rgba.chunks(4)
        .filter(|p| (0..3).all(|c| (f64::from(p[c]) - rgb[c]).abs() <= tol))
        .count()
}

fn hex(c: &str) -> [f64; 3] {
    let c = c.trim_start_matches('#');
    let v = |i: usize| f64::from(u8::from_str_radix(&c[i..i + 2], 16).unwrap());
    [v(0), v(2), v(4)]
}

/// A request a page made, as the browser's DevTools saw it.
#[derive(Debug)]
struct Request {
    url: String,
    status: Option<f64>,
    failed: Option<String>,
}

/// The requests made by documents under `origin` (the page and everything
/// it loads) since the last call, leaving out the browser's own traffic
/// (its new-tab page), which runs beside it.
fn page_requests(b: &Browser, origin: &str) -> Vec<Request> {
    let mut requests: BTreeMap<String, Request> = BTreeMap::new();
    for (method, p) in b.network_events() {
        let id = p["requestId"].as_str().unwrap_or("").to_owned();
        match method.as_str() {
            "Network.requestWillBeSent"
                if p["documentURL"]
                    .as_str()
                    .is_some_and(|d| d.starts_with(origin)) =>
            {
                // A redirect re-sends the same id: the last URL counts.
                let url = p["request"]["url"].as_str().unwrap_or("").to_owned();
                requests
                    .entry(id)
                    .or_insert(Request {
                        url: String::new(),
                        status: None,
                        failed: None,
                    })
                    .url = url;
            }
            "Network.responseReceived" => {
                if let Some(r) = requests.get_mut(&id) {
                    r.status = p["response"]["status"].as_f64();
                }
            }
            "Network.loadingFailed" => {
                if let Some(r) = requests.get_mut(&id) {
                    r.failed = Some(p["errorText"].as_str().unwrap_or("?").to_owned());
                }
            }
            _ => {}
        }
    }
    requests.into_values().collect()
}

#[test]
fn the_map_page_works_in_a_real_browser() {
    let Some(b) = start_or_skip("the map page test", WIDTH, HEIGHT) else {
        return;
    };
    let server = Server::start();
    let base = format!("http://{}", server.addr);
    let datasets = get_json(&server, "/v1/datasets");
    let n_areas = datasets[0]["areas"].as_u64().unwrap() as usize;
    assert!(n_areas > 200, "{datasets}");

    // ---- it loads, from `/`, with the municipalities drawn ----
    // Chromium's own start-up traffic (its new-tab page) is not the page's.
    std::thread::sleep(Duration::from_millis(500));
    b.network_events();
    b.console();
    b.goto(&format!("{base}/"));
    ready(&b);
    let first_paint = b.execute("return window.bacino.timings.firstPaint;", json!([]));
    eprintln!(
        "first paint (map idle with the figure drawn): {first_paint} ms after navigation start"
    );
    let slowest = b.execute(
        "return performance.getEntriesByType('resource')
            .map((e) => [Math.round(e.responseEnd - e.startTime), Math.round(e.responseEnd),
                         e.name.replace(location.origin, '')])
            .sort((a, b) => b[0] - a[0]).slice(0, 6);",
        json!([]),
    );
    eprintln!("slowest requests [ms, ended at ms, path]: {slowest}");
    let url = b.execute("return location.pathname + location.search;", json!([]));
    assert!(url.as_str().unwrap().starts_with("/map?d=bergamo"), "{url}");
    let rendered = b.execute(
        "return [...new Set(window.bacino.map.queryRenderedFeatures({layers: ['areas-fill']})
            .map((f) => f.properties.area_id))];",
        json!([]),
    );
    let rendered = rendered.as_array().unwrap().len();
    assert!(
        rendered * 100 >= n_areas * 95,
        "{rendered} of {n_areas} areas rendered"
    );

    // The screenshot is not blank and holds the legend's colours, as the
    // fill blends them over the background.
    let legend = b.execute(
        "return {rows: [...document.querySelectorAll('#legend .row')].map((r) => r.dataset.colour),
                 opacity: window.bacino.map.getPaintProperty('areas-fill', 'fill-opacity'),
                 background: window.bacino.map.getPaintProperty('background', 'background-color')};",
        json!([]),
    );
    let (w, h, rgba) = decode_png(&b.screenshot());
    let viewport = b.execute("return [innerWidth, innerHeight];", json!([]));
    assert_eq!(json!([w, h]), viewport);
    let distinct: BTreeSet<&[u8]> = rgba.chunks(4).collect();
    assert!(
        distinct.len() > 50,
        "a blank page: {} colours",
        distinct.len()
    );
    let alpha = legend["opacity"].as_f64().unwrap();
    let bg = hex(legend["background"].as_str().unwrap());
    let ramp: Vec<&str> = legend["rows"].as_array().unwrap()[..]
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(ramp.len() >= 5, "{legend}");
    let mut classes_seen = 0;
    for c in &ramp[..ramp.len() - 2] {
        let c = hex(c);
        let blended = [0, 1, 2].map(|i| alpha * c[i] + (1.0 - alpha) * bg[i]);
        let n = count_colour(&rgba, blended, 3.0);
        if n > 300 {
            classes_seen += 1;
        }
    }
    assert!(
        classes_seen >= 4,
        "only {classes_seen} of the ramp's classes are on screen: {legend}"
    );
    keep(&b, "map-overview");

    // ---- a click on a municipality shows its figures, equal to the API ----
    let by_area = get_json(
        &server,
        "/v1/datasets/bergamo/distances?to=assigned&group_by=area",
    );
    let groups: BTreeMap<String, Value> = by_area["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["key"].is_string())
        .map(|g| (g["key"].as_str().unwrap().to_owned(), g.clone()))
        .collect();
    // The most populous areas first: large enough to click.
    let mut shown: Vec<(&String, &Value)> = groups
        .iter()
        .filter(|(_, g)| g["suppressed"] != true)
        .collect();
    shown.sort_by(|a, b| {
        b.1["count"]
            .as_f64()
            .unwrap()
            .total_cmp(&a.1["count"].as_f64().unwrap())
    });
    let (id, group, (x, y)) = shown
        .iter()
        .find_map(|(id, g)| point_in_area(&b, id).map(|p| (*id, *g, p)))
        .expect("a clickable municipality");
    b.click_at(x, y);
    let cell = b.wait_for(
        "document.querySelector('.maplibregl-popup-content [data-figure=median_m]')",
        WAIT,
        "the area popup",
    );
    assert!(cell.is_object());
    let popup = b.execute(
        "const c = document.querySelector('.maplibregl-popup-content [data-figure=median_m]');
         return {value: Number(c.dataset.value), text: c.textContent,
                 count: Number(document.querySelector('.maplibregl-popup-content [data-figure=count]').dataset.value),
                 title: document.querySelector('.maplibregl-popup-content h3').textContent,
                 chart: document.querySelectorAll('#chart polyline').length,
                 url: location.search};",
        json!([]),
    );
    assert_eq!(
        popup["value"].as_f64(),
        group["median_m"].as_f64(),
        "{id}: {popup} vs {group}"
    );
    assert_eq!(popup["count"].as_f64(), group["count"].as_f64(), "{id}");
    assert_eq!(
        popup["text"].as_str().unwrap(),
        km_it(group["median_m"].as_f64().unwrap())
    );
    assert_eq!(popup["title"], group["name"], "{popup}");
    assert_eq!(
        popup["chart"], 2,
        "the area's and the whole dataset's curves"
    );
    assert!(
        popup["url"]
            .as_str()
            .unwrap()
            .contains(&format!("area={id}")),
        "{popup}"
    );
    keep(&b, "map-area");

    // Hovering names the area and its figure.
    b.hover_at(x, y);
    let tip = b.wait_for(
        "!document.getElementById('hover').hidden && document.getElementById('hover').textContent",
        WAIT,
        "the hover label",
    );
    let tip = tip.as_str().unwrap();
    assert!(
        tip.starts_with(group["name"].as_str().unwrap())
            && tip.ends_with(&km_it(group["median_m"].as_f64().unwrap())),
        "{tip}"
    );

    // A suppressed municipality says so and shows no figure.
    let suppressed = groups
        .iter()
        .filter(|(_, g)| g["suppressed"] == true)
        .find_map(|(id, _)| point_in_area(&b, id).map(|p| (id.clone(), p)));
    let (sid, (x, y)) = suppressed.expect("the bundled data has a suppressed, clickable area");
    b.click_at(x, y);
    b.wait_for(
        "document.querySelector('.maplibregl-popup-content [data-suppressed]')",
        WAIT,
        "the suppressed popup",
    );
    let figures = b.execute(
        "return document.querySelectorAll('.maplibregl-popup-content [data-figure]').length;",
        json!([]),
    );
    assert_eq!(figures, 0, "{sid}: a suppressed area shows no figure");

    // ---- cease two GPs through the form: the API's own answer ----
    let gps = get_json(
        &server,
        "/ogc/collections/bergamo_facilities_gp/items?limit=10000",
    );
    let mut active: Vec<(String, f64)> = gps["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["status"] == "active")
        .map(|f| {
            (
                f["properties"]["facility_id"].as_str().unwrap().to_owned(),
                f["properties"]["list_size"].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    active.sort_by(|a, b| b.1.total_cmp(&a.1));
    let ceased = [active[0].0.clone(), active[1].0.clone()];
    // The first by the button, the second from the keyboard alone.
    b.type_into("#gp-id", &ceased[0]);
    b.click("#add-id");
    b.type_into("#gp-id", &format!("{}{ENTER}", ceased[1]));
    let listed = b.execute(
        "return [...document.querySelectorAll('#selected li')].map((li) => li.dataset.id);",
        json!([]),
    );
    assert_eq!(listed, json!(ceased));
    b.click("#cease");
    b.wait_for(
        "document.querySelector('#r-placed')",
        WAIT,
        "the scenario result",
    );
    ready(&b);
    let ui = b.execute(
        "const v = (id) => Number(document.getElementById(id).dataset.value);
         return {patients: v('r-patients'), placed: v('r-placed'), orphans: v('r-orphans'),
                 median: v('r-median'), url: location.href};",
        json!([]),
    );
    let (status, body) = server.post(
        "/v1/datasets/bergamo/scenarios",
        &json!({"cease": ceased, "max_distance_m": 30000}).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let api: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        ui["placed"].as_f64(),
        api["placed"].as_f64(),
        "{ui} vs {api}"
    );
    assert_eq!(ui["orphans"].as_f64(), api["orphans"].as_f64(), "{ui}");
    assert_eq!(ui["patients"].as_f64(), api["patients"].as_f64(), "{ui}");
    assert_eq!(
        ui["median"].as_f64(),
        api["new_distance"]["median_m"].as_f64(),
        "{ui}"
    );
    assert!(api["patients"].as_f64().unwrap() > 100.0, "{api}");
    let shared = ui["url"].as_str().unwrap().to_owned();
    assert!(
        shared.contains(&format!("cease={}%2C{}", ceased[0], ceased[1])),
        "{shared}"
    );
    keep(&b, "map-scenario");

    // ---- the language toggle ----
    let label = "return [document.documentElement.lang,
                         document.querySelector('[data-i18n=figure]').textContent,
                         document.getElementById('cease').textContent,
                         document.querySelector('#result td').textContent];";
    let before = b.execute(label, json!([]));
    assert_eq!(before[0], "it");
    b.click("#lang");
    let after = b.execute(label, json!([]));
    assert_eq!(after[0], "en");
    for i in 1..4 {
        assert_ne!(
            before[i], after[i],
            "label {i} did not change: {before} / {after}"
        );
    }
    b.click("#lang");
    assert_eq!(b.execute(label, json!([])), before);

    // ---- the shared link reproduces the scenario ----
    b.goto(&shared);
    ready(&b);
    b.wait_for(
        "document.querySelector('#r-placed')",
        WAIT,
        "the shared scenario",
    );
    let again = b.execute(
        "return Number(document.getElementById('r-placed').dataset.value);",
        json!([]),
    );
    assert_eq!(again.as_f64(), api["placed"].as_f64());

    // ---- a new GP placed by a click is the `open` lever ----
    // Placed where the ceasing GP was, it takes that GP's patients.
    b.click("#reset");
    let at = b.execute(
        "const f = window.bacino.facilities.features.find((f) => f.properties.facility_id === arguments[0]);
         const map = window.bacino.map;
         map.jumpTo({center: f.geometry.coordinates});
         const p = map.project(f.geometry.coordinates);
         const rect = map.getContainer().getBoundingClientRect();
         return [rect.left + Math.round(p.x), rect.top + Math.round(p.y)];",
        json!([ceased[0]]),
    );
    b.click("#place");
    b.click_at(at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    let opened = b.execute("return window.bacino.state.open;", json!([]));
    assert_eq!(opened.as_array().unwrap().len(), 1, "{opened}");
    b.type_into("#gp-id", &ceased[0]);
    b.click("#add-id");
    b.click("#cease");
    b.wait_for(
        "document.querySelector('#r-placed')",
        WAIT,
        "the scenario with a new GP",
    );
    ready(&b);
    let o = &opened[0];
    let (status, body) = server.post(
        "/v1/datasets/bergamo/scenarios",
        &json!({"cease": [ceased[0]], "max_distance_m": 30000,
                "open": [{"id": "NEW1", "lon": o["lon"], "lat": o["lat"], "capacity": o["capacity"]}]})
        .to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let api: Value = serde_json::from_str(&body).unwrap();
    let ui = b.execute(
        "return {placed: Number(document.getElementById('r-placed').dataset.value),
                 total: window.bacino.scenario.doc.total_distance_m};",
        json!([]),
    );
    assert_eq!(ui["placed"].as_f64(), api["placed"].as_f64());
    assert_eq!(ui["total"].as_f64(), api["total_distance_m"].as_f64());
    assert!(
        api["by_gp"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == "NEW1" && g["new_patients"].as_f64() > Some(0.0)),
        "the new GP takes the ceasing GP's patients: {api}"
    );

    // ---- a GP clicked on the map can be selected from its popup ----
    b.click("#reset");
    // A GP with no other facility within ~300 m, so the click has one target.
    let gp = b.execute(
        "const fs = window.bacino.facilities.features;
         const far = (f) => fs.every((g) => g === f
           || Math.hypot(g.geometry.coordinates[0] - f.geometry.coordinates[0],
                         g.geometry.coordinates[1] - f.geometry.coordinates[1]) > 0.004);
         const f = fs.find((f) => f.properties.kind === 'gp' && f.properties.status === 'active' && far(f));
         return f ? f.properties.facility_id : null;",
        json!([]),
    );
    let gp = gp.as_str().expect("an isolated active GP").to_string();
    let gp = &gp;
    let at = b.execute(
        "const f = window.bacino.facilities.features.find((f) => f.properties.facility_id === arguments[0]);
         const map = window.bacino.map;
         map.jumpTo({center: f.geometry.coordinates, zoom: 15});
         const p = map.project(f.geometry.coordinates);
         const rect = map.getContainer().getBoundingClientRect();
         return [rect.left + Math.round(p.x), rect.top + Math.round(p.y)];",
        json!([gp]),
    );
    b.wait_for("window.bacino.map.loaded()", WAIT, "the map after the jump");
    b.click_at(at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    b.wait_for(
        "document.querySelector('.maplibregl-popup-content .toggle-gp')",
        WAIT,
        "the GP popup",
    );
    let popup_id = b.execute(
        "return document.querySelector('.maplibregl-popup-content .toggle-gp').dataset.id;",
        json!([]),
    );
    assert_eq!(popup_id.as_str(), Some(gp.as_str()));
    b.click(".maplibregl-popup-content .toggle-gp");
    let listed = b.execute(
        "return [...document.querySelectorAll('#selected li')].map((li) => li.dataset.id);",
        json!([]),
    );
    assert_eq!(listed, json!([gp]));

    // ---- catchments: the API's cells on the map ----
    b.execute(
        "const map = window.bacino.map;
         const b = new maplibregl.LngLatBounds();
         for (const f of window.bacino.areas.features)
           for (const poly of f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates)
             for (const c of poly[0]) b.extend(c);
         map.fitBounds(b, {animate: false, padding: 10});",
        json!([]),
    );
    b.click("#catchments option[value=voronoi]");
    b.wait_for(
        "window.bacino.map.getLayoutProperty('catchments-line', 'visibility') === 'visible'
         && window.bacino.map.querySourceFeatures('catchments').length > 0",
        WAIT,
        "the catchments",
    );
    ready(&b);
    let cells = get_json(
        &server,
        "/v1/datasets/bergamo/catchments?kind=gp&method=voronoi",
    );
    let on_map = b.execute(
        "return new Set(window.bacino.map.querySourceFeatures('catchments')
            .map((f) => f.properties.facility_id)).size;",
        json!([]),
    );
    assert_eq!(
        on_map.as_u64().unwrap() as usize,
        cells["features"].as_array().unwrap().len()
    );
    assert!(b
        .execute("return location.search;", json!([]))
        .as_str()
        .unwrap()
        .contains("cat=voronoi"));

    // ---- export: a PNG of the view with its legend ----
    let data_url = b.execute("return window.bacino.exportPng();", json!([]));
    let png = data_url
        .as_str()
        .unwrap()
        .strip_prefix("data:image/png;base64,")
        .unwrap();
    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD
        .decode(png)
        .unwrap();
    let (pw, ph, prgba) = decode_png(&png);
    assert!(pw > 500 && ph > 500, "{pw}×{ph}");
    let distinct: BTreeSet<&[u8]> = prgba.chunks(4).collect();
    assert!(distinct.len() > 50, "a blank export");

    // ---- nothing went wrong on the way ----
    let errors = b.execute("return window.bacinoErrors;", json!([]));
    assert_eq!(errors, json!([]), "page errors");
    let severe: Vec<Value> = b
        .console()
        .into_iter()
        .filter(|m| m["level"] == "SEVERE")
        .collect();
    assert!(severe.is_empty(), "console errors: {severe:?}");
    let requests = page_requests(&b, &base);
    for r in &requests {
        assert!(
            r.url.starts_with(&base) || r.url.starts_with("data:") || r.url.starts_with("blob:"),
            "a request left the server: {}",
            r.url
        );
        assert_eq!(r.failed, None, "{} failed", r.url);
        assert!(
            r.status.is_some_and(|s| s < 400.0),
            "{} answered {:?}",
            r.url,
            r.status
        );
    }
    assert!(requests.len() > 10, "{} requests seen", requests.len());
}

#[test]
fn the_html_report_renders_offline_in_a_browser() {
    let Some(b) = start_or_skip("the report test", WIDTH, HEIGHT) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_bacino"))
        .arg("report")
        .arg(common::fixture_dir())
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(500));
    b.network_events();
    b.goto(&format!("file://{}", out.display()));
    let drawn = b.execute(
        "return {paths: document.querySelectorAll('svg.map path').length,
                 maps: document.querySelectorAll('svg.map').length,
                 curves: document.querySelectorAll('svg.chart polyline').length,
                 rows: document.querySelectorAll('#by-area tbody tr').length,
                 width: document.querySelector('svg.map').getBoundingClientRect().width};",
        json!([]),
    );
    assert_eq!(drawn["maps"], 2, "{drawn}");
    assert!(drawn["paths"].as_u64().unwrap() > 400, "{drawn}");
    assert!(drawn["curves"].as_u64().unwrap() >= 3, "{drawn}");
    assert!(drawn["rows"].as_u64().unwrap() > 200, "{drawn}");
    assert!(drawn["width"].as_f64().unwrap() > 300.0, "{drawn}");
    let (_, _, rgba) = decode_png(&b.screenshot());
    let distinct: BTreeSet<&[u8]> = rgba.chunks(4).collect();
    assert!(distinct.len() > 20, "a blank report");
    keep(&b, "report");
    let requests = page_requests(&b, "file://");
    assert!(!requests.is_empty());
    for r in &requests {
        assert!(
            r.url.starts_with("file://") || r.url.starts_with("data:"),
            "the report fetched {}",
            r.url
        );
        assert_eq!(r.failed, None, "{} failed", r.url);
    }
}

#[test]
fn with_a_road_network_the_page_shows_travel_times() {
    let Some(b) = start_or_skip("the travel-time map test", WIDTH, HEIGHT) else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let server = Server::start_with(&[common::monaco_dir()], Some(cache.path()));
    let base = format!("http://{}", server.addr);
    b.goto(&format!("{base}/map?d=monaco&to=gp"));
    ready(&b);
    let metrics = b.execute(
        "return [...document.querySelectorAll('#metric option')].map((o) => o.value);",
        json!([]),
    );
    assert_eq!(metrics, json!(["geodesic", "car", "foot"]));
    b.click("#metric option[value=car]");
    b.wait_for(
        "window.bacino.province && window.bacino.province.cdf_s && location.search.includes('metric=car')",
        WAIT,
        "the car figures",
    );
    ready(&b);
    let shown = b.execute(
        "return {median: window.bacino.province.median_s,
                 axis: [...document.querySelectorAll('#chart text')].map((t) => t.textContent),
                 curves: document.querySelectorAll('#chart polyline').length,
                 legend: document.getElementById('legend').textContent};",
        json!([]),
    );
    let api = get_json(
        &server,
        "/v1/datasets/monaco/distances?to=nearest&kind=gp&metric=car",
    );
    assert_eq!(shown["median"], api["groups"][0]["median_s"], "{shown}");
    assert!(
        shown["axis"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "tempo (min)"),
        "{shown}"
    );
    assert_eq!(shown["curves"], 1, "the whole dataset's curve: {shown}");
    assert!(
        shown["legend"].as_str().unwrap().contains("confini"),
        "no areas is said, not drawn as zero: {shown}"
    );
    let errors = b.execute("return window.bacinoErrors;", json!([]));
    assert_eq!(errors, json!([]));
    for r in page_requests(&b, &base) {
        assert_eq!(r.failed, None, "{} failed", r.url);
        assert!(
            r.status.is_some_and(|s| s < 400.0),
            "{} answered {:?}",
            r.url,
            r.status
        );
    }
}

#[test]
fn the_map_page_passes_its_token_to_a_guarded_server() {
    let Some(b) = start_or_skip("the map page token test", WIDTH, HEIGHT) else {
        return;
    };
    let token = "map-page-token-5d1e";
    let hash: String = {
        use sha2::Digest;
        sha2::Sha256::digest(token.as_bytes())
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("bacino.toml");
    std::fs::write(
        &settings,
        format!("[[tokens]]\nsha256 = \"{hash}\"\nrole = \"reader\"\n"),
    )
    .unwrap();
    let server = Server::start_args(
        &[common::fixture_dir()],
        None,
        &["--config".as_ref(), settings.as_os_str()],
    );
    let (status, _) = server.get("/v1/datasets");
    assert_eq!(status, 401, "the server is guarded");
    let base = format!("http://{}", server.addr);
    // The token comes in the fragment, which the page takes out of the
    // address and sends as a bearer token on every data request.
    b.goto(&format!("{base}/map#token={token}"));
    ready(&b);
    let v = b.execute(
        "return [location.hash, window.bacino.areas.features.length, sessionStorage.getItem('bacino.token')];",
        json!([]),
    );
    assert_eq!(v[0], "", "the token left the address bar");
    assert!(v[1].as_u64().unwrap() > 200, "{v}");
    assert_eq!(v[2], token);
}
