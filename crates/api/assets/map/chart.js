// A cumulative distribution chart in plain SVG: one or two series of
// quantiles (values at shares 0, 1/n, …, 1), share on the y axis.
"use strict";
window.bacinoChart = (function () {
  const NS = "http://www.w3.org/2000/svg";

  function el(name, attrs, text) {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // A "nice" upper bound and tick step for [0, max].
  function niceScale(max, ticks) {
    if (!(max > 0)) return { top: 1, step: 0.25 };
    const raw = max / ticks;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    return { top: Math.ceil(max / step) * step, step };
  }

  // series: [{label, colour, values (quantiles), dash}], unit: divisor and
  // axis label; opts.width/height. Returns the <svg>.
  function cdf(series, unit, opts) {
    const W = (opts && opts.width) || 310;
    const H = (opts && opts.height) || 190;
    const m = { l: 40, r: 10, t: 10, b: 44 };
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" });
    const shown = series.filter((s) => s.values && s.values.length > 1);
    // Most of the mass: up to the 95th percentile of the widest series, so
    // one remote resident does not squash the curve.
    const p95 = Math.max(0, ...shown.map((s) => s.values[Math.floor(0.95 * (s.values.length - 1))] / unit.div));
    const { top, step } = niceScale(p95, 5);
    const x = (v) => m.l + (Math.min(v, top) / top) * (W - m.l - m.r);
    const y = (p) => H - m.b - p * (H - m.t - m.b);
    const g = el("g", { class: "axis" });
    for (let v = 0; v <= top + 1e-9; v += step) {
      g.appendChild(el("line", { x1: x(v), x2: x(v), y1: y(0), y2: y(1), stroke: "#dde" }));
      g.appendChild(el("text", { x: x(v), y: y(0) + 12, "text-anchor": "middle" }, unit.format(v)));
    }
    for (const p of [0, 0.25, 0.5, 0.75, 1]) {
      g.appendChild(el("line", { x1: x(0), x2: x(top), y1: y(p), y2: y(p), stroke: "#dde" }));
      g.appendChild(el("text", { x: m.l - 4, y: y(p) + 3, "text-anchor": "end" }, `${Math.round(p * 100)}%`));
    }
    g.appendChild(el("text", { x: (m.l + W - m.r) / 2, y: H - 18, "text-anchor": "middle" }, unit.label));
    svg.appendChild(g);
    shown.forEach((s) => {
      const n = s.values.length - 1;
      const pts = s.values.map((v, i) => `${x(v / unit.div).toFixed(1)},${y(i / n).toFixed(1)}`);
      svg.appendChild(el("polyline", {
        points: pts.join(" "), fill: "none", stroke: s.colour, "stroke-width": 2,
        "stroke-dasharray": s.dash || "", "data-series": s.id || "",
      }));
    });
    // Legend along the bottom.
    let lx = m.l;
    shown.forEach((s) => {
      svg.appendChild(el("line", { x1: lx, x2: lx + 16, y1: H - 5, y2: H - 5, stroke: s.colour, "stroke-width": 2, "stroke-dasharray": s.dash || "" }));
      const t = el("text", { x: lx + 20, y: H - 1, class: "axis" }, s.label);
      svg.appendChild(t);
      lx += 30 + 6 * s.label.length;
    });
    return svg;
  }

  return { cdf, niceScale };
})();
