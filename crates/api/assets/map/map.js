// The bacino map page: municipalities coloured by a distance figure,
// facilities, catchments, a distribution chart and what-if scenarios, all
// from this server's own API (no external source of any kind).
"use strict";
(function () {
  const I18N = window.BACINO_I18N;
  // Viridis, 7 classes: sequential and colour-blind safe.
  const RAMP = ["#fde725", "#90d743", "#35b779", "#21918c", "#31688e", "#443983", "#440154"];
  // Facility kinds in Okabe–Ito colours (colour-blind safe); GPs in a
  // sequential blue ramp by load (list over cap), so they read by lightness.
  const KIND_COLOUR = {
    gp: "#3182bd", pediatrician: "#CC79A7", cdc: "#D55E00", odc: "#E69F00",
    cot: "#009E73", pharmacy: "#000000", ad: "#F0E442",
  };
  const LOAD_COLOURS = [["#9ecae1", 0.8], ["#3182bd", 0.95], ["#08306b", Infinity]];
  const SUPPRESSED = "#bdbdbd";
  const NODATA = "#ffffff";
  const CDF_STEPS = 20;

  // Everything the URL holds, so a view or a scenario can be shared.
  const params = new URLSearchParams(location.search);
  const state = {
    lang: params.get("lang") === "en" ? "en" : "it",
    d: params.get("d") || "",
    to: params.get("to") || "assigned",
    stat: params.get("stat") || "median",
    metric: params.get("metric") || "geodesic",
    cat: params.get("cat") || "none",
    kinds: params.has("kinds") ? params.get("kinds").split(",").filter(Boolean) : null,
    cease: params.get("cease") ? params.get("cease").split(",").filter(Boolean) : [],
    open: parseOpen(params.get("open")),
    caps: params.get("caps") || "",
    maxd: params.get("maxd") || "30000",
    area: params.get("area") || "",
    view: params.get("view") || "figure",
  };

  const app = {
    state, map: null, info: null, datasets: [], areas: null, facilities: null,
    figure: null, province: null, scenario: null, pending: 0, placing: false,
    timings: {}, errors: window.bacinoErrors || [],
  };
  window.bacino = app;

  function parseOpen(s) {
    if (!s) return [];
    return s.split(";").map((part, i) => {
      const [lon, lat, cap] = part.split(",").map(Number);
      return { id: `NEW${i + 1}`, lon, lat, capacity: cap > 0 ? cap : undefined };
    }).filter((o) => isFinite(o.lon) && isFinite(o.lat));
  }

  // ---------- text and numbers ----------
  function t(key, vars) {
    let s = (I18N[state.lang] && I18N[state.lang][key]) || I18N.it[key] || key;
    for (const [k, v] of Object.entries(vars || {})) s = s.replace(`{${k}}`, v);
    return s;
  }
  const locale = () => (state.lang === "it" ? "it-IT" : "en-GB");
  function fmt(x, digits) {
    return new Intl.NumberFormat(locale(), { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(x);
  }
  const isTime = () => state.metric !== "geodesic";
  // A figure in metres (or seconds under a road metric) for people.
  function fmtValue(v, seconds) {
    if (v === null || v === undefined || !isFinite(v)) return "–";
    return seconds ? `${fmt(v / 60, 1)} min` : `${fmt(v / 1000, 2)} km`;
  }
  function fmtCount(n) { return fmt(n, 0); }
  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  const $ = (id) => document.getElementById(id);

  function applyLabels() {
    document.documentElement.lang = state.lang;
    document.querySelectorAll("[data-i18n]").forEach((e) => { e.textContent = t(e.dataset.i18n); });
    $("lang").textContent = state.lang === "it" ? "EN" : "IT";
    $("lang").setAttribute("aria-label", state.lang === "it" ? "Switch to English" : "Passa all'italiano");
  }

  // ---------- HTTP ----------
  // Access token (CONTRACT §11): given once as `#token=…` in the address
  // (a fragment never reaches the server or its logs), kept for this tab
  // in sessionStorage, sent as a bearer token; a 401 asks for it.
  const TOKEN_KEY = "bacino.token";
  (function takeToken() {
    const m = location.hash.match(/(?:^#|&)token=([^&]+)/);
    if (m) {
      sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
  })();
  async function api(path, init, retried) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const opts = Object.assign({}, init);
    if (token) opts.headers = Object.assign({}, opts.headers, { Authorization: `Bearer ${token}` });
    const r = await fetch(path, opts);
    if (r.status === 401 && !retried) {
      const given = window.prompt(t("token_prompt"));
      if (given && given.trim()) {
        sessionStorage.setItem(TOKEN_KEY, given.trim());
        return api(path, init, true);
      }
    }
    const body = await r.json().catch(() => null);
    if (!r.ok) {
      const detail = body && (body.detail || body.title);
      throw new Error(detail || `${r.status} ${r.statusText}`);
    }
    return body;
  }
  async function busy(promise) {
    app.pending += 1;
    document.body.dataset.busy = "1";
    setStatus(t("loading"));
    try {
      return await promise;
    } finally {
      app.pending -= 1;
      if (app.pending === 0) {
        delete document.body.dataset.busy;
        setStatus(t("ready"));
      }
    }
  }
  function setStatus(s, error) {
    const e = $("status");
    e.textContent = s;
    e.classList.toggle("error", !!error);
  }
  function fail(err) {
    setStatus(`${t("error")}: ${err.message}`, true);
    app.lastError = err.message;
  }

  // ---------- URL ----------
  function writeUrl() {
    const q = new URLSearchParams();
    q.set("d", state.d);
    if (state.lang !== "it") q.set("lang", state.lang);
    q.set("to", state.to);
    q.set("stat", state.stat);
    if (state.metric !== "geodesic") q.set("metric", state.metric);
    if (state.cat !== "none") q.set("cat", state.cat);
    if (state.kinds) q.set("kinds", state.kinds.join(","));
    if (state.area) q.set("area", state.area);
    if (state.cease.length) q.set("cease", state.cease.join(","));
    if (state.open.length) q.set("open", state.open.map((o) => [o.lon.toFixed(5), o.lat.toFixed(5), o.capacity || ""].join(",")).join(";"));
    if (state.caps) q.set("caps", state.caps);
    if (state.maxd !== "30000") q.set("maxd", state.maxd);
    if (state.view !== "figure") q.set("view", state.view);
    history.replaceState(null, "", `${location.pathname}?${q}`);
  }

  // ---------- map ----------
  function emptyFc() { return { type: "FeatureCollection", features: [] }; }

  function createMap() {
    const map = new maplibregl.Map({
      container: "map",
      // No glyphs, sprites or tiles: every source is this server's GeoJSON
      // and labels are drawn with the system's fonts.
      style: {
        version: 8,
        sources: {
          areas: { type: "geojson", data: emptyFc(), promoteId: "area_id" },
          catchments: { type: "geojson", data: emptyFc() },
          facilities: { type: "geojson", data: emptyFc(), promoteId: "facility_id" },
          opened: { type: "geojson", data: emptyFc() },
        },
        layers: [
          { id: "background", type: "background", paint: { "background-color": "#eef1f5" } },
          { id: "areas-fill", type: "fill", source: "areas", paint: { "fill-color": NODATA, "fill-opacity": 0.85 } },
          { id: "areas-line", type: "line", source: "areas", paint: { "line-color": "#5a6275", "line-width": 0.6 } },
          { id: "areas-selected", type: "line", source: "areas", filter: ["==", ["get", "area_id"], ""], paint: { "line-color": "#000", "line-width": 2.5 } },
          { id: "catchments-fill", type: "fill", source: "catchments", layout: { visibility: "none" }, paint: { "fill-color": "#ffffff", "fill-opacity": 0.0 } },
          { id: "catchments-line", type: "line", source: "catchments", layout: { visibility: "none" }, paint: { "line-color": "#222", "line-width": 1, "line-dasharray": [2, 1] } },
          { id: "areas-label", type: "symbol", source: "areas", minzoom: 10,
            layout: { "text-field": ["get", "name"], "text-font": ["sans-serif"], "text-size": 11 },
            paint: { "text-color": "#1d2330", "text-halo-color": "#fff", "text-halo-width": 1.2 } },
          { id: "facilities", type: "circle", source: "facilities", paint: {
            "circle-radius": ["match", ["get", "kind"],
              "gp", ["interpolate", ["linear"], ["sqrt", ["coalesce", ["get", "list_size"], 0]], 0, 2.5, 40, 7.5],
              "cdc", 7, "odc", 7, "pharmacy", 3.5, 5],
            "circle-color": ["case",
              ["==", ["get", "status"], "ceased"], "#ffffff",
              ["==", ["get", "kind"], "gp"],
              ["case", ["!", ["has", "load"]], "#888888", ["==", ["get", "load"], null], "#888888",
                ["<", ["get", "load"], LOAD_COLOURS[0][1]], LOAD_COLOURS[0][0],
                ["<", ["get", "load"], LOAD_COLOURS[1][1]], LOAD_COLOURS[1][0], LOAD_COLOURS[2][0]],
              ["match", ["get", "kind"], ...Object.entries(KIND_COLOUR).flat(), "#555555"]],
            "circle-stroke-color": ["case", ["==", ["get", "status"], "ceased"], "#777",
              ["==", ["get", "kind"], "ad"], "#444", "#ffffff"],
            "circle-stroke-width": ["match", ["get", "kind"], "cdc", 2, 1],
          } },
          { id: "facilities-full", type: "circle", source: "facilities", filter: ["in", ["get", "facility_id"], ["literal", []]],
            paint: { "circle-radius": 11, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#D55E00", "circle-stroke-width": 2.5 } },
          { id: "facilities-selected", type: "circle", source: "facilities", filter: ["in", ["get", "facility_id"], ["literal", []]],
            paint: { "circle-radius": 9, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#000", "circle-stroke-width": 3 } },
          { id: "opened", type: "circle", source: "opened", paint: {
            "circle-radius": 8, "circle-color": "#ffffff", "circle-stroke-color": "#000", "circle-stroke-width": 3 } },
        ],
      },
      center: [9.7, 45.7],
      zoom: 8,
      attributionControl: false,
      canvasContextAttributes: { preserveDrawingBuffer: true },
    });
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");
    app.map = map;
    return new Promise((resolve) => map.on("load", resolve));
  }

  function idle() {
    return new Promise((resolve) => {
      if (app.map.loaded() && !app.map.isMoving()) {
        app.map.once("idle", resolve);
        app.map.triggerRepaint();
      } else {
        app.map.once("idle", resolve);
      }
    });
  }

  // ---------- dataset ----------
  async function loadDatasets() {
    app.datasets = await api("/v1/datasets");
    const sel = $("dataset");
    sel.innerHTML = "";
    for (const d of app.datasets) sel.appendChild(new Option(d.title, d.name));
    if (!app.datasets.some((d) => d.name === state.d)) state.d = app.datasets.length ? app.datasets[0].name : "";
    sel.value = state.d;
  }

  async function ogcItems(collection) {
    return api(`/ogc/collections/${encodeURIComponent(collection)}/items?limit=10000`);
  }

  async function loadDataset() {
    app.info = app.datasets.find((d) => d.name === state.d);
    if (!app.info) return;
    const kinds = Object.keys(app.info.facilities);
    if (!state.kinds) state.kinds = kinds.filter((k) => k === "gp" || k === "cdc");
    const [areas, ...byKind] = await Promise.all([
      app.info.areas > 0 ? ogcItems(`${state.d}_areas`) : Promise.resolve(emptyFc()),
      ...kinds.map((k) => ogcItems(`${state.d}_facilities_${k}`)),
    ]);
    app.areas = areas;
    app.facilities = { type: "FeatureCollection", features: byKind.flatMap((fc) => fc.features) };
    app.map.getSource("facilities").setData(app.facilities);
    const ids = $("gp-ids");
    ids.innerHTML = "";
    for (const f of app.facilities.features) {
      if (f.properties.kind === "gp" && f.properties.status === "active") ids.appendChild(new Option(f.properties.name || "", f.properties.facility_id));
    }
    buildSelectors(kinds);
    fitTo(areas.features.length ? areas : app.facilities);
  }

  // What the URL asked for, within what the dataset offers.
  function validateState() {
    const kinds = Object.keys(app.info.facilities);
    if (state.to !== "assigned" && !kinds.includes(state.to)) state.to = "assigned";
    // Without GPs there is no assigned GP to measure to.
    if (state.to === "assigned" && !kinds.includes("gp") && kinds.length) state.to = kinds[0];
    if (!app.info.metrics.includes(state.metric)) state.metric = "geodesic";
    if (!["median", "p90", "mean"].includes(state.stat)) state.stat = "median";
    if (!["none", "voronoi", "assigned", "bands"].includes(state.cat) || !kinds.includes("gp")) state.cat = "none";
    if (!/^[0-9]+$/.test(state.maxd)) state.maxd = "30000";
  }

  function fitTo(fc, maxZoom) {
    let b = null;
    const add = (c) => {
      if (typeof c[0] === "number") {
        b = b ? [Math.min(b[0], c[0]), Math.min(b[1], c[1]), Math.max(b[2], c[0]), Math.max(b[3], c[1])] : [c[0], c[1], c[0], c[1]];
      } else c.forEach(add);
    };
    fc.features.forEach((f) => f.geometry && add(f.geometry.coordinates));
    if (b) app.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 30, animate: false, maxZoom: maxZoom || 16 });
  }

  function buildSelectors(kinds) {
    const to = $("to");
    to.innerHTML = "";
    if (kinds.includes("gp")) to.appendChild(new Option(t("to_assigned"), "assigned"));
    for (const k of kinds) to.appendChild(new Option(t("to_nearest", { kind: t(`kind_${k}`) }), k));
    if (![...to.options].some((o) => o.value === state.to) && to.options.length) state.to = to.options[0].value;
    to.value = state.to;
    $("stat").value = state.stat;
    const metric = $("metric");
    metric.innerHTML = "";
    for (const m of app.info.metrics) metric.appendChild(new Option(t(m), m));
    if (!app.info.metrics.includes(state.metric)) state.metric = "geodesic";
    metric.value = state.metric;
    $("catchments").value = state.cat;
    $("catchments").disabled = !kinds.includes("gp");
    $("whatif").hidden = !kinds.includes("gp");
    $("max-distance").value = state.maxd;
    $("caps").value = state.caps;
    const box = $("kinds");
    box.innerHTML = "";
    for (const k of kinds) {
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.type = "checkbox";
      input.id = `kind-${k}`;
      input.checked = state.kinds.includes(k);
      input.addEventListener("change", () => {
        state.kinds = kinds.filter((x) => $(`kind-${x}`).checked);
        applyKindFilter();
        writeUrl();
      });
      const dot = document.createElement("span");
      dot.className = "dot";
      dot.style.background = KIND_COLOUR[k] || "#555";
      const name = document.createElement("span");
      name.textContent = t(`kind_${k}`);
      label.append(input, dot, name);
      box.appendChild(label);
    }
    const load = document.createElement("div");
    load.className = "load-legend";
    load.append(`${t("load_legend")}: `);
    LOAD_COLOURS.forEach(([colour], i) => {
      const dot = document.createElement("span");
      dot.className = "dot";
      dot.style.background = colour;
      load.append(dot, ` ${["< 80 %", "80–95 %", "≥ 95 %"][i]} `);
    });
    box.appendChild(load);
    applyKindFilter();
  }

  function applyKindFilter() {
    app.map.setFilter("facilities", ["in", ["get", "kind"], ["literal", state.kinds]]);
  }

  // ---------- the figure ----------
  function distancesUrl(groupBy) {
    const q = new URLSearchParams();
    if (state.to === "assigned") q.set("to", "assigned");
    else { q.set("to", "nearest"); q.set("kind", state.to); }
    if (state.metric !== "geodesic") q.set("metric", state.metric);
    if (groupBy) q.set("group_by", groupBy);
    q.set("cdf", String(CDF_STEPS));
    return `/v1/datasets/${encodeURIComponent(state.d)}/distances?${q}`;
  }
  const statKey = () => `${state.stat}_${isTime() ? "s" : "m"}`;

  async function loadFigure() {
    applyFigure(await fetchFigure());
  }

  function fetchFigure() {
    return Promise.all([
      app.info.areas > 0 ? api(distancesUrl("area")) : Promise.resolve({ groups: [] }),
      api(distancesUrl(null)),
    ]);
  }

  function applyFigure([byArea, all]) {
    app.figure = new Map(byArea.groups.filter((g) => g.key !== null).map((g) => [g.key, g]));
    app.province = all.groups[0] || null;
    app.minGroupSize = all.min_group_size;
    paintAreas();
    renderChart();
  }

  // Class breaks: quantiles of the areas' values, rounded to a readable step.
  function breaks(values, classes) {
    const v = values.filter((x) => isFinite(x)).sort((a, b) => a - b);
    if (!v.length) return [];
    const out = [];
    for (let i = 1; i < classes; i++) {
      const q = v[Math.min(v.length - 1, Math.floor((i / classes) * v.length))];
      const step = isTime() ? 30 : 50;
      const r = Math.round(q / step) * step;
      if (r > (out.length ? out[out.length - 1] : 0)) out.push(r);
    }
    return out;
  }

  function paintAreas() {
    if (!app.areas || !app.areas.features.length) {
      renderLegend([], false);
      return;
    }
    const change = state.view === "change" && app.scenario;
    const key = statKey();
    let values = [];
    for (const f of app.areas.features) {
      const p = f.properties;
      let v = null;
      let sup = false;
      if (change) {
        const g = app.scenario.byMunicipality.get(p.area_id);
        if (g && g.suppressed) sup = true;
        else if (g) v = g.after_median_m - g.before_median_m;
      } else {
        const g = app.figure.get(p.area_id);
        if (g && g.suppressed) sup = true;
        else if (g && g[key] !== undefined) v = g[key];
      }
      p.v = v;
      p.sup = sup;
      if (v !== null) values.push(v);
    }
    app.map.getSource("areas").setData(app.areas);
    const br = breaks(values, RAMP.length);
    app.breaks = br;
    const expr = ["case", ["==", ["get", "sup"], true], SUPPRESSED, ["==", ["get", "v"], null], NODATA,
      br.length ? ["step", ["get", "v"], RAMP[0], ...br.flatMap((b, i) => [b, RAMP[i + 1]])] : RAMP[0]];
    app.map.setPaintProperty("areas-fill", "fill-color", expr);
    renderLegend(br, change);
  }

  function renderLegend(br, change) {
    const box = $("legend");
    box.innerHTML = "";
    if (!app.areas || !app.areas.features.length) {
      box.textContent = t("no_areas");
      app.legend = { title: t("no_areas"), rows: [] };
      return;
    }
    const title = document.createElement("div");
    title.className = "title";
    const toLabel = state.to === "assigned" ? t("to_assigned") : t("to_nearest", { kind: t(`kind_${state.to}`) });
    title.textContent = change ? t("change_legend") : `${t(state.stat)} — ${toLabel}`;
    box.appendChild(title);
    const seconds = !change && isTime();
    const edges = [null, ...br, null];
    for (let i = 0; i < Math.min(RAMP.length, br.length + 1); i++) {
      const lo = edges[i];
      const hi = edges[i + 1];
      const text = lo === null ? `< ${fmtValue(hi, seconds)}` : hi === null ? `≥ ${fmtValue(lo, seconds)}` : `${fmtValue(lo, seconds)} – ${fmtValue(hi, seconds)}`;
      box.appendChild(legendRow(RAMP[i], br.length ? text : "", ""));
    }
    box.appendChild(legendRow(null, t("suppressed", { n: app.minGroupSize || 10 }), "suppressed"));
    box.appendChild(legendRow(null, change ? t("not_affected") : t("no_data"), "nodata"));
    app.legend = { title: title.textContent, rows: [...box.querySelectorAll(".row")].map((r) => [r.dataset.colour, r.textContent]) };
  }

  function legendRow(colour, text, cls) {
    const row = document.createElement("div");
    row.className = "row";
    row.dataset.colour = colour || (cls === "suppressed" ? SUPPRESSED : NODATA);
    const sw = document.createElement("span");
    sw.className = `swatch ${cls}`;
    if (colour) sw.style.background = colour;
    const label = document.createElement("span");
    label.textContent = text;
    row.append(sw, label);
    return row;
  }

  // ---------- area: popup and chart ----------
  function areaFeature(id) {
    return app.areas && app.areas.features.find((f) => f.properties.area_id === id);
  }

  function renderChart() {
    const box = $("chart");
    box.innerHTML = "";
    const f = state.area ? areaFeature(state.area) : null;
    const g = f ? app.figure.get(state.area) : null;
    $("area-name").textContent = f ? f.properties.name || state.area : t("click_area");
    const seconds = isTime();
    const cdfKey = seconds ? "cdf_s" : "cdf_m";
    const series = [];
    if (app.province && app.province[cdfKey]) series.push({ id: "all", label: t("province"), colour: "#31688e", values: app.province[cdfKey], dash: "4 3" });
    if (g && g.suppressed) {
      const p = document.createElement("p");
      p.className = "suppressed-note";
      p.textContent = t("suppressed", { n: app.minGroupSize });
      box.appendChild(p);
    } else if (g && g[cdfKey]) {
      series.push({ id: "area", label: f.properties.name || state.area, colour: "#D55E00", values: g[cdfKey] });
    }
    const unit = seconds
      ? { div: 60, label: t("cdf_x_s"), format: (v) => fmt(v, 0) }
      : { div: 1000, label: t("cdf_x_m"), format: (v) => fmt(v, v < 10 ? 1 : 0) };
    box.appendChild(window.bacinoChart.cdf(series, unit));
  }

  function areaPopupHtml(id) {
    const f = areaFeature(id);
    const name = escapeHtml((f && f.properties.name) || id);
    const change = state.view === "change" && app.scenario;
    if (change) {
      const g = app.scenario.byMunicipality.get(id);
      if (!g) return `<h3>${name}</h3><p>${t("not_affected")}</p>`;
      if (g.suppressed) return `<h3>${name}</h3><p class="suppressed-note" data-suppressed="1">${t("suppressed", { n: app.minGroupSize })}</p>`;
      return `<h3>${name}</h3><table>
        <tr><td>${t("patients")}</td><td class="num">${fmtCount(g.patients)}</td></tr>
        <tr><td>${t("orphans")}</td><td class="num">${fmtCount(g.orphans)}</td></tr>
        <tr><td>${t("median")} (${t("before")})</td><td class="num">${fmtValue(g.before_median_m)}</td></tr>
        <tr><td>${t("median")} (${t("after")})</td><td class="num">${fmtValue(g.after_median_m)}</td></tr></table>`;
    }
    const g = app.figure.get(id);
    if (!g) return `<h3>${name}</h3><p>${t("no_data")}</p>`;
    if (g.suppressed) return `<h3>${name}</h3><p class="suppressed-note" data-suppressed="1">${t("suppressed", { n: app.minGroupSize })}</p>`;
    const s = isTime() ? "s" : "m";
    const row = (label, k) => `<tr><td>${label}</td><td class="num" data-figure="${k}" data-value="${g[k]}">${fmtValue(g[k], s === "s")}</td></tr>`;
    return `<h3>${name}</h3><table>
      <tr><td>${t("people")}</td><td class="num" data-figure="count" data-value="${g.count}">${fmtCount(g.count)}</td></tr>
      ${row(t("median"), `median_${s}`)}${row(t("p25"), `p25_${s}`)}${row(t("p75"), `p75_${s}`)}
      ${row(t("p90"), `p90_${s}`)}${row(t("mean"), `mean_${s}`)}</table>`;
  }

  function hoverText(f) {
    const p = f.properties;
    if (f.layer.id === "facilities") {
      const load = p.load === null || p.load === undefined ? "" : ` · ${t("load")} ${fmt(p.load * 100, 0)} %`;
      return `${p.name || p.facility_id} (${p.facility_id})${load}`;
    }
    const name = p.name || p.area_id;
    if (state.view === "change" && app.scenario) {
      const g = app.scenario.byMunicipality.get(p.area_id);
      if (!g) return `${name}: ${t("not_affected")}`;
      if (g.suppressed) return `${name}: ${t("suppressed", { n: app.minGroupSize })}`;
      return `${name}: ${fmtValue(g.before_median_m)} → ${fmtValue(g.after_median_m)}`;
    }
    const g = app.figure && app.figure.get(p.area_id);
    if (!g) return `${name}: ${t("no_data")}`;
    if (g.suppressed) return `${name}: ${t("suppressed", { n: app.minGroupSize })}`;
    return `${name}: ${t(state.stat)} ${fmtValue(g[statKey()], isTime())}`;
  }

  let popup = null;
  function showPopup(lngLat, html) {
    if (popup) popup.remove();
    popup = new maplibregl.Popup({ maxWidth: "320px" }).setLngLat(lngLat).setHTML(html).addTo(app.map);
    return popup;
  }

  function selectArea(id, lngLat) {
    state.area = id;
    app.map.setFilter("areas-selected", ["==", ["get", "area_id"], id]);
    renderChart();
    if (lngLat) {
      showPopup(lngLat, areaPopupHtml(id));
      $("area-section").scrollIntoView({ block: "nearest" });
    }
    writeUrl();
  }

  function facilityPopupHtml(p) {
    const load = p.load === null || p.load === undefined ? "–" : `${fmt(p.load * 100, 0)} %`;
    const selected = state.cease.includes(p.facility_id);
    const button = p.kind === "gp" && p.status === "active"
      ? `<button type="button" class="toggle-gp" data-id="${escapeHtml(p.facility_id)}">${selected ? t("deselect") : t("select")}</button>` : "";
    return `<h3>${escapeHtml(p.name || p.facility_id)}</h3><table>
      <tr><td>id</td><td class="num">${escapeHtml(p.facility_id)}</td></tr>
      <tr><td>${t("status")}</td><td class="num">${t(p.status)}</td></tr>
      <tr><td>${t("list_size")}</td><td class="num">${p.list_size === null || p.list_size === undefined ? "–" : fmtCount(p.list_size)}</td></tr>
      <tr><td>${t("capacity")}</td><td class="num">${p.capacity === null || p.capacity === undefined ? "–" : fmtCount(p.capacity)}</td></tr>
      <tr><td>${t("load")}</td><td class="num">${load}</td></tr></table>${button}`;
  }

  // ---------- catchments ----------
  async function loadCatchments() {
    const fill = "catchments-fill";
    const line = "catchments-line";
    if (state.cat === "none") {
      app.map.setLayoutProperty(fill, "visibility", "none");
      app.map.setLayoutProperty(line, "visibility", "none");
      return;
    }
    const fc = await api(`/v1/datasets/${encodeURIComponent(state.d)}/catchments?kind=gp&method=${state.cat}`);
    app.map.getSource("catchments").setData(fc);
    if (state.cat === "bands") {
      app.map.setPaintProperty(fill, "fill-color", ["interpolate", ["linear"], ["get", "band_min_m"], 0, RAMP[0], 10000, RAMP[6]]);
      app.map.setPaintProperty(fill, "fill-opacity", 0.35);
    } else {
      app.map.setPaintProperty(fill, "fill-opacity", 0.0);
    }
    app.map.setLayoutProperty(fill, "visibility", "visible");
    app.map.setLayoutProperty(line, "visibility", "visible");
  }

  // ---------- what-if ----------
  function activeGp(id) {
    return app.facilities.features.find((f) => f.properties.facility_id === id && f.properties.kind === "gp" && f.properties.status === "active");
  }

  function toggleGp(id) {
    if (state.cease.includes(id)) state.cease = state.cease.filter((x) => x !== id);
    else if (activeGp(id)) state.cease = [...state.cease, id];
    renderSelection();
    writeUrl();
  }

  function renderSelection() {
    app.map.setFilter("facilities-selected", ["in", ["get", "facility_id"], ["literal", state.cease]]);
    const ul = $("selected");
    ul.innerHTML = "";
    for (const id of state.cease) {
      const li = document.createElement("li");
      li.dataset.id = id;
      const f = activeGp(id);
      const name = document.createElement("span");
      name.textContent = f && f.properties.name ? `${id} · ${f.properties.name}` : id;
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "×";
      b.setAttribute("aria-label", `${t("remove")} ${id}`);
      b.addEventListener("click", () => toggleGp(id));
      li.append(name, b);
      ul.appendChild(li);
    }
    const ol = $("opened");
    ol.innerHTML = "";
    state.open.forEach((o, i) => {
      o.id = `NEW${i + 1}`;
      const li = document.createElement("li");
      const s = document.createElement("span");
      s.textContent = `${t("new_gp")} ${i + 1}: ${fmt(o.lat, 4)}, ${fmt(o.lon, 4)} (${o.capacity || "–"})`;
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "×";
      b.setAttribute("aria-label", `${t("remove")} ${t("new_gp")} ${i + 1}`);
      b.addEventListener("click", () => { state.open.splice(i, 1); renderSelection(); writeUrl(); });
      li.append(s, b);
      ol.appendChild(li);
    });
    app.map.getSource("opened").setData({ type: "FeatureCollection", features: state.open.map((o) => ({
      type: "Feature", properties: { id: o.id }, geometry: { type: "Point", coordinates: [o.lon, o.lat] } })) });
  }

  function setPlacing(on) {
    app.placing = on;
    $("place").setAttribute("aria-pressed", on ? "true" : "false");
    $("place").textContent = on ? t("placing") : t("place_new");
    app.map.getCanvas().style.cursor = on ? "crosshair" : "";
  }

  function scenarioBody() {
    const body = { cease: state.cease, max_distance_m: Number(state.maxd) };
    if (state.open.length) body.open = state.open.map((o) => ({ id: o.id, lon: o.lon, lat: o.lat, capacity: o.capacity }));
    if (state.caps) body.capacity = { "*": Number(state.caps) };
    return body;
  }

  async function runScenario() {
    const result = $("result");
    if (!state.cease.length && !state.open.length && !state.caps) {
      result.innerHTML = `<p class="error">${t("need_change")}</p>`;
      return;
    }
    result.textContent = t("computing");
    try {
      const doc = await busy(api(`/v1/datasets/${encodeURIComponent(state.d)}/scenarios`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(scenarioBody()),
      }));
      const full = (doc.by_gp || []).filter((g) => g.capacity && g.list_size / g.capacity > 0.95);
      app.scenario = {
        doc, full,
        byMunicipality: new Map((doc.by_municipality || []).map((g) => [g.key, g])),
      };
      app.map.setFilter("facilities-full", ["in", ["get", "facility_id"], ["literal", full.map((g) => g.id)]]);
      state.view = "change";
      if (popup) popup.remove();
      renderResult();
      paintAreas();
      writeUrl();
      // Bring the consequence into view: the municipalities it touches.
      const touched = app.areas.features.filter((f) => app.scenario.byMunicipality.has(f.properties.area_id));
      if (touched.length) fitTo({ features: touched }, 12);
      result.scrollIntoView({ block: "nearest" });
    } catch (err) {
      app.scenario = null;
      result.innerHTML = `<p class="error">${escapeHtml(err.message)}</p>`;
      fail(err);
    }
  }

  function renderResult() {
    const result = $("result");
    if (!app.scenario) { result.innerHTML = ""; return; }
    const d = app.scenario.doc;
    const nd = d.new_distance || {};
    const row = (label, id, value, text) => `<tr><td>${label}</td><td class="num" id="${id}" data-value="${value}">${text}</td></tr>`;
    let html = `<table>
      ${row(t("patients"), "r-patients", d.patients, fmtCount(d.patients))}
      ${row(t("placed"), "r-placed", d.placed, fmtCount(d.placed))}
      ${row(t("orphans"), "r-orphans", d.orphans, fmtCount(d.orphans))}
      ${row(t("new_median"), "r-median", nd.median_m, nd.suppressed ? t("suppressed", { n: app.minGroupSize }) : fmtValue(nd.median_m))}
      ${row(t("new_p90"), "r-p90", nd.p90_m, nd.suppressed ? "–" : fmtValue(nd.p90_m))}
      ${row(t("over95"), "r-over95", app.scenario.full.length, fmtCount(app.scenario.full.length))}
      </table>`;
    if (d.optimality && d.optimality.proven) html += `<p class="hint">✓ ${t("optimal")}</p>`;
    html += `<label><span>${t("show")}</span><select id="view">
      <option value="figure">${t("show_figure")}</option><option value="change">${t("show_change")}</option></select></label>`;
    const muni = (d.by_municipality || []).filter((g) => !g.suppressed).sort((a, b) => b.patients - a.patients);
    if (muni.length) {
      html += `<h3>${t("by_municipality")}</h3><table><tr><th></th><th>${t("patients")}</th><th>${t("before")}</th><th>${t("after")}</th></tr>`;
      for (const g of muni.slice(0, 15)) {
        html += `<tr><td>${escapeHtml(g.name || g.key)}</td><td class="num">${fmtCount(g.patients)}</td><td class="num">${fmtValue(g.before_median_m)}</td><td class="num">${fmtValue(g.after_median_m)}</td></tr>`;
      }
      html += "</table>";
    }
    html += `<p><a id="share" href="${escapeHtml(location.href)}">${t("share_link")}</a></p>`;
    result.innerHTML = html;
    const view = $("view");
    view.value = state.view;
    view.addEventListener("change", () => { state.view = view.value; paintAreas(); writeUrl(); $("share").href = location.href; });
    $("share").href = location.href;
  }

  function resetScenario() {
    state.cease = [];
    state.open = [];
    state.caps = "";
    $("caps").value = "";
    state.view = "figure";
    app.scenario = null;
    app.map.setFilter("facilities-full", ["in", ["get", "facility_id"], ["literal", []]]);
    setPlacing(false);
    renderSelection();
    renderResult();
    paintAreas();
    writeUrl();
  }

  // ---------- export ----------
  // The map as it is on screen with the legend drawn in a corner, as a PNG
  // data URL.
  function exportPng() {
    const src = app.map.getCanvas();
    const c = document.createElement("canvas");
    c.width = src.width;
    c.height = src.height;
    const ctx = c.getContext("2d");
    ctx.drawImage(src, 0, 0);
    const dpr = window.devicePixelRatio || 1;
    const rows = app.legend ? app.legend.rows : [];
    const w = 260 * dpr;
    const lh = 16 * dpr;
    const h = (rows.length + 2) * lh;
    ctx.fillStyle = "rgba(255,255,255,0.9)";
    ctx.fillRect(8 * dpr, 8 * dpr, w, h);
    ctx.fillStyle = "#1d2330";
    ctx.font = `${11 * dpr}px sans-serif`;
    ctx.fillText(`${app.info ? app.info.title : ""}`.slice(0, 48), 14 * dpr, 8 * dpr + lh);
    ctx.fillText((app.legend ? app.legend.title : "").slice(0, 48), 14 * dpr, 8 * dpr + 2 * lh);
    rows.forEach(([colour, text], i) => {
      const y = 8 * dpr + (i + 2) * lh + 4 * dpr;
      ctx.fillStyle = colour;
      ctx.fillRect(14 * dpr, y, 18 * dpr, 10 * dpr);
      ctx.strokeStyle = "#0004";
      ctx.strokeRect(14 * dpr, y, 18 * dpr, 10 * dpr);
      ctx.fillStyle = "#1d2330";
      ctx.fillText(text, 38 * dpr, y + 9 * dpr);
    });
    return c.toDataURL("image/png");
  }

  function downloadPng() {
    const a = document.createElement("a");
    a.href = exportPng();
    a.download = `bacino-${state.d}.png`;
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  // ---------- wiring ----------
  function wire() {
    const map = app.map;
    map.on("click", (e) => {
      if (app.placing) {
        const cap = Number($("new-capacity").value);
        state.open.push({ id: "", lon: e.lngLat.lng, lat: e.lngLat.lat, capacity: cap > 0 ? cap : undefined });
        setPlacing(false);
        renderSelection();
        writeUrl();
        return;
      }
      const fac = map.queryRenderedFeatures(e.point, { layers: ["facilities"] });
      if (fac.length) {
        showPopup(e.lngLat, facilityPopupHtml(fac[0].properties));
        return;
      }
      const area = map.queryRenderedFeatures(e.point, { layers: ["areas-fill"] });
      if (area.length) selectArea(area[0].properties.area_id, e.lngLat);
    });
    for (const layer of ["facilities", "areas-fill"]) {
      map.on("mouseenter", layer, () => { if (!app.placing) map.getCanvas().style.cursor = "pointer"; });
      map.on("mouseleave", layer, () => { if (!app.placing) map.getCanvas().style.cursor = ""; });
    }
    // Hover: the name and the figure under the pointer (a facility wins
    // over the area beneath it).
    const tip = $("hover");
    map.on("mousemove", (e) => {
      const hit = map.queryRenderedFeatures(e.point, { layers: ["facilities", "areas-fill"] });
      if (!hit.length) { tip.hidden = true; return; }
      tip.textContent = hoverText(hit[0]);
      tip.style.left = `${e.point.x + 14}px`;
      tip.style.top = `${e.point.y + 14}px`;
      tip.hidden = false;
    });
    map.getCanvas().addEventListener("mouseleave", () => { tip.hidden = true; });
    document.addEventListener("click", (e) => {
      const b = e.target.closest && e.target.closest(".toggle-gp");
      if (!b) return;
      toggleGp(b.dataset.id);
      b.textContent = state.cease.includes(b.dataset.id) ? t("deselect") : t("select");
    });
    $("dataset").addEventListener("change", async (e) => {
      state.d = e.target.value;
      state.kinds = null;
      state.area = "";
      resetScenario();
      await refreshAll().catch(fail);
    });
    $("to").addEventListener("change", (e) => { state.to = e.target.value; writeUrl(); busy(loadFigure()).catch(fail); });
    $("metric").addEventListener("change", (e) => { state.metric = e.target.value; writeUrl(); busy(loadFigure()).catch(fail); });
    $("stat").addEventListener("change", (e) => { state.stat = e.target.value; writeUrl(); paintAreas(); });
    $("catchments").addEventListener("change", (e) => { state.cat = e.target.value; writeUrl(); busy(loadCatchments()).catch(fail); });
    $("add-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const id = $("gp-id").value.trim();
      if (!id) return;
      if (state.cease.includes(id)) { setStatus(t("already", { id }), true); return; }
      if (!activeGp(id)) { setStatus(t("unknown_gp", { id }), true); return; }
      toggleGp(id);
      $("gp-id").value = "";
    });
    $("place").addEventListener("click", () => setPlacing(!app.placing));
    $("caps").addEventListener("change", (e) => { state.caps = e.target.value; writeUrl(); });
    $("max-distance").addEventListener("change", (e) => { state.maxd = e.target.value; writeUrl(); });
    $("cease").addEventListener("click", () => runScenario());
    $("reset").addEventListener("click", () => resetScenario());
    $("export").addEventListener("click", () => downloadPng());
    $("lang").addEventListener("click", () => {
      state.lang = state.lang === "it" ? "en" : "it";
      applyLabels();
      if (app.info) buildSelectors(Object.keys(app.info.facilities));
      paintAreas();
      renderChart();
      renderSelection();
      renderResult();
      setPlacing(app.placing);
      if (popup) popup.remove();
      writeUrl();
    });
  }

  async function refreshAll() {
    await busy((async () => {
      // The figure is fetched while the layers load: it needs only the
      // dataset's name and kinds.
      app.info = app.datasets.find((d) => d.name === state.d);
      if (!app.info) return;
      validateState();
      const [, figure] = await Promise.all([loadDataset(), fetchFigure(), loadCatchments()]);
      applyFigure(figure);
      renderSelection();
      if (state.area && areaFeature(state.area)) selectArea(state.area, null);
    })());
    if (state.cease.length || state.open.length || state.caps) {
      const view = state.view;
      await runScenario();
      state.view = view;
      if (app.scenario) { renderResult(); paintAreas(); }
    }
  }

  async function main() {
    applyLabels();
    try {
      await Promise.all([createMap(), busy(loadDatasets())]);
      wire();
      await refreshAll();
      await idle();
      app.timings.firstPaint = performance.now();
      writeUrl();
      document.body.dataset.ready = "1";
    } catch (err) {
      fail(err);
      document.body.dataset.ready = "error";
    }
  }

  app.exportPng = exportPng;
  app.idle = idle;
  main();
})();
