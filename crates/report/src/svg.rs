//! Inline SVG: choropleth maps of areas and cumulative distribution charts.

use std::fmt::Write;

use geo::{BoundingRect, MultiPolygon};

use crate::text::{escape, Lang};

/// Viridis in 7 classes: sequential and colour-blind safe (the map page's
/// ramp).
pub const RAMP: [&str; 7] = [
    "#fde725", "#90d743", "#35b779", "#21918c", "#31688e", "#443983", "#440154",
];
/// Fill of a suppressed area.
pub const SUPPRESSED: &str = "#bdbdbd";
/// Fill of an area without residents.
pub const NODATA: &str = "#ffffff";

/// What an area shows on a map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shade {
    /// A figure, metres.
    Value(f64),
    /// Too few people.
    Suppressed,
    /// Nobody lives there.
    NoData,
}

/// Class breaks: quantiles of the values at `i / classes`, rounded to
/// 50 m, strictly increasing (fewer when values repeat).
pub fn breaks(values: &[f64], classes: usize) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let mut out: Vec<f64> = Vec::new();
    if v.is_empty() {
        return out;
    }
    for i in 1..classes {
        let q = v[((i * v.len()) / classes).min(v.len() - 1)];
        let r = (q / 50.0).round() * 50.0;
        if r > out.last().copied().unwrap_or(0.0) {
            out.push(r);
        }
    }
    out
}

/// The ramp colour of `v` under `breaks` (the page's `step` expression).
pub fn colour_of(v: f64, breaks: &[f64]) -> &'static str {
    RAMP[breaks
        .iter()
        .take_while(|&&b| v >= b)
        .count()
        .min(RAMP.len() - 1)]
}

/// A map of `shapes` (id, name, geometry, shade) `width` pixels wide, in an
/// equirectangular projection true to scale at the middle latitude.
pub fn choropleth(
    shapes: &[(&str, &str, &MultiPolygon<f64>, Shade)],
    breaks: &[f64],
    width: f64,
    lang: Lang,
) -> String {
    let rects: Vec<_> = shapes.iter().filter_map(|s| s.2.bounding_rect()).collect();
    let Some(bbox) = rects.into_iter().reduce(|a, b| {
        geo::Rect::new(
            geo::coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
            geo::coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
        )
    }) else {
        return String::new();
    };
    let k = ((bbox.min().y + bbox.max().y) / 2.0).to_radians().cos();
    let span_x = ((bbox.max().x - bbox.min().x) * k).max(1e-9);
    let span_y = (bbox.max().y - bbox.min().y).max(1e-9);
    let scale = width / span_x;
    let height = (span_y * scale).ceil();
    let project = |x: f64, y: f64| ((x - bbox.min().x) * k * scale, (bbox.max().y - y) * scale);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="map" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">"#
    );
    for (id, name, geom, shade) in shapes {
        let (fill, label) = match shade {
            Shade::Value(v) => (colour_of(*v, breaks), lang.km(*v)),
            Shade::Suppressed => (SUPPRESSED, lang.t("suppressed").to_owned()),
            Shade::NoData => (NODATA, lang.t("no_data").to_owned()),
        };
        let mut d = String::new();
        for poly in geom.iter() {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                let mut last: Option<(f64, f64)> = None;
                for (i, c) in ring.coords().enumerate() {
                    let (x, y) = project(c.x, c.y);
                    // Points closer than half a pixel add bytes, not shape.
                    if let Some((lx, ly)) = last {
                        if (x - lx).abs() < 0.5 && (y - ly).abs() < 0.5 {
                            continue;
                        }
                    }
                    let _ = write!(d, "{}{x:.1} {y:.1}", if i == 0 { "M" } else { "L" });
                    last = Some((x, y));
                }
                d.push('Z');
            }
        }
        let value = match shade {
            Shade::Value(v) => format!(r#" data-value="{v}""#),
            Shade::Suppressed => r#" data-suppressed="true""#.to_owned(),
            Shade::NoData => String::new(),
        };
        let _ = write!(
            svg,
            r##"<path d="{d}" fill="{fill}" fill-rule="evenodd" stroke="#5a6275" stroke-width="0.5" data-area="{}"{value}><title>{}: {}</title></path>"##,
            escape(id),
            escape(name),
            escape(&label)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The legend of a map with `breaks`, as HTML.
pub fn legend(breaks: &[f64], min_group_size: f64, lang: Lang) -> String {
    let mut out = String::from(r#"<div class="legend">"#);
    let classes = (breaks.len() + 1).min(RAMP.len());
    for (i, colour) in RAMP.iter().enumerate().take(classes) {
        let text = match (i.checked_sub(1).map(|j| breaks[j]), breaks.get(i)) {
            (None, Some(hi)) => format!("&lt; {}", lang.km(*hi)),
            (Some(lo), None) => format!("≥ {}", lang.km(lo)),
            (Some(lo), Some(hi)) => format!("{} – {}", lang.km(lo), lang.km(*hi)),
            (None, None) => String::new(),
        };
        let _ = write!(
            out,
            r#"<span class="row"><span class="swatch" style="background:{colour}"></span>{text}</span>"#
        );
    }
    let suppressed = lang
        .t("suppressed_long")
        .replace("{n}", &lang.number(min_group_size, 0));
    let _ = write!(
        out,
        r#"<span class="row"><span class="swatch" style="background:{SUPPRESSED}"></span>{}</span><span class="row"><span class="swatch" style="background:{NODATA}"></span>{}</span></div>"#,
        escape(&suppressed),
        lang.t("no_data")
    );
    out
}

/// Okabe–Ito colours for chart series (colour-blind safe).
pub const SERIES: [&str; 7] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
];

/// A cumulative distribution chart of series of quantiles (metres at
/// shares 0, 1/n, …, 1); the x axis ends at the widest series' 95th
/// percentile so one remote resident does not squash the curves.
pub fn cdf(series: &[(String, Vec<f64>)], lang: Lang) -> String {
    let (w, h) = (640.0, 300.0);
    let (ml, mr, mt, mb) = (48.0, 16.0, 10.0, 40.0);
    let p95 = series
        .iter()
        .filter(|s| s.1.len() > 1)
        .map(|s| s.1[(0.95 * (s.1.len() - 1) as f64).floor() as usize] / 1000.0)
        .fold(0.0, f64::max);
    let (top, step) = nice(p95, 6);
    let x = |km: f64| ml + km.min(top) / top * (w - ml - mr);
    let y = |p: f64| h - mb - p * (h - mt - mb);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img">"#
    );
    let mut v = 0.0;
    while v <= top + 1e-9 {
        let _ = write!(
            svg,
            r##"<line x1="{0:.1}" x2="{0:.1}" y1="{1:.1}" y2="{2:.1}" stroke="#dde"/><text x="{0:.1}" y="{3:.1}" text-anchor="middle" class="axis">{4}</text>"##,
            x(v),
            y(0.0),
            y(1.0),
            y(0.0) + 14.0,
            lang.number(v, if step < 1.0 { 1 } else { 0 })
        );
        v += step;
    }
    for p in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let _ = write!(
            svg,
            r##"<line x1="{0:.1}" x2="{1:.1}" y1="{2:.1}" y2="{2:.1}" stroke="#dde"/><text x="{3:.1}" y="{4:.1}" text-anchor="end" class="axis">{5} %</text>"##,
            x(0.0),
            x(top),
            y(p),
            ml - 4.0,
            y(p) + 4.0,
            (p * 100.0) as u32
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="axis">{}</text>"#,
        (ml + w - mr) / 2.0,
        h - 6.0,
        lang.t("cdf_x")
    );
    for (i, (label, q)) in series.iter().enumerate() {
        if q.len() < 2 {
            continue;
        }
        let n = (q.len() - 1) as f64;
        let points: Vec<String> = q
            .iter()
            .enumerate()
            .map(|(j, m)| format!("{:.1},{:.1}", x(m / 1000.0), y(j as f64 / n)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"><title>{}</title></polyline>"#,
            points.join(" "),
            SERIES[i % SERIES.len()],
            escape(label)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A round upper bound of `[0, max]` and its tick step.
fn nice(max: f64, ticks: u32) -> (f64, f64) {
    if max <= 0.0 || !max.is_finite() {
        return (1.0, 0.25);
    }
    let raw = max / f64::from(ticks);
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    ((max / step).ceil() * step, step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaks_are_rounded_increasing_quantiles() {
        let v: Vec<f64> = (0..700).map(|i| f64::from(i) * 10.0).collect();
        let b = breaks(&v, 7);
        assert_eq!(b, vec![1000.0, 2000.0, 3000.0, 4000.0, 5000.0, 6000.0]);
        // Repeated values give fewer classes, never equal edges.
        let b = breaks(&[500.0; 20], 7);
        assert_eq!(b, vec![500.0]);
        assert!(breaks(&[], 7).is_empty());
    }

    #[test]
    fn colours_follow_the_breaks() {
        let b = [1000.0, 2000.0];
        assert_eq!(colour_of(999.9, &b), RAMP[0]);
        assert_eq!(colour_of(1000.0, &b), RAMP[1]);
        assert_eq!(colour_of(5000.0, &b), RAMP[2]);
    }

    #[test]
    fn a_square_is_drawn_to_scale() {
        use geo::polygon;
        let sq = MultiPolygon(vec![polygon![
            (x: 9.0, y: 45.0), (x: 9.1, y: 45.0), (x: 9.1, y: 45.1), (x: 9.0, y: 45.1), (x: 9.0, y: 45.0)
        ]]);
        let svg = choropleth(
            &[("A", "Alfa", &sq, Shade::Value(1500.0))],
            &[1000.0],
            400.0,
            Lang::It,
        );
        // 0.1° of longitude is cos(45.05°) of 0.1° of latitude.
        let h = (400.0 / (45.05f64).to_radians().cos()).ceil();
        assert!(svg.contains(&format!(r#"height="{h}""#)), "{svg}");
        assert!(svg.contains("M0.0 "), "{svg}");
        assert!(svg.contains(&format!(r#"fill="{}""#, RAMP[1])));
        assert!(svg.contains("<title>Alfa: 1,50 km</title>"));
    }

    #[test]
    fn nice_scales_cover_the_maximum() {
        assert_eq!(nice(4.3, 6), (5.0, 1.0));
        assert_eq!(nice(12.0, 6), (12.0, 2.0));
        assert_eq!(nice(0.0, 6), (1.0, 0.25));
    }
}
