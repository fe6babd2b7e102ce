//! Self-contained HTML reports (`bacino report DIR --out report.html`): a
//! planner can mail the file or print it to PDF. Everything is inline —
//! maps and charts as SVG, styles in the page, no script, no external
//! reference — so it opens the same offline, years later.
//!
//! Contents: a summary of the distances to the assigned GP and to the
//! nearest facility of every kind the dataset has, the same by residents'
//! group, choropleth maps of the median distance by area, the
//! distributions as cumulative curves, and the table by municipality.
//! Only aggregates appear, suppressed under `min_group_size` people like
//! every other output of bacino.

#![warn(missing_docs)]

mod svg;
mod text;

use std::collections::BTreeMap;
use std::fmt::Write;

use bacino_core::{
    distance_report, DistanceQuery, DistanceReport, Executor, FacilityKind, GroupBy, GroupStats,
    MetricName, Result, Target,
};

pub use svg::{breaks, colour_of, RAMP};
pub use text::Lang;

/// Steps of the distribution curves (quantiles every 5 %).
const CDF_STEPS: u32 = 20;

/// What to put in a report.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Language of the labels and numbers.
    pub lang: Lang,
    /// Groups with fewer people are suppressed (default 10).
    pub min_group_size: f64,
    /// Width of the maps, pixels.
    pub map_width: f64,
    /// Version string printed in the footer.
    pub generator: String,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            lang: Lang::It,
            min_group_size: bacino_core::DEFAULT_MIN_GROUP_SIZE,
            map_width: 520.0,
            generator: format!("bacino {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// One measured target: its label and reports.
struct Measure {
    label: String,
    target: Target,
    all: DistanceReport,
    by_area: Option<DistanceReport>,
}

/// The targets a dataset supports: the assigned GP when residents carry
/// `gp_id`, then the nearest active facility of each kind it has.
fn targets(dataset: &bacino_core::Dataset, lang: Lang) -> Vec<(String, Target)> {
    let mut out = Vec::new();
    if dataset
        .residents()
        .gp()
        .iter()
        .any(|&g| g != bacino_core::NONE)
    {
        out.push((lang.t("assigned").to_owned(), Target::Assigned));
    }
    for kind in FacilityKind::ALL {
        if dataset
            .facilities()
            .iter()
            .any(|f| f.kind == kind && f.is_active())
        {
            out.push((lang.nearest(kind), Target::Nearest(kind)));
        }
    }
    out
}

fn query(target: Target, group_by: GroupBy, options: &ReportOptions, cdf: bool) -> DistanceQuery {
    DistanceQuery {
        target,
        group_by,
        min_group_size: options.min_group_size,
        metric: MetricName::Geodesic,
        cdf_steps: if cdf { CDF_STEPS } else { 0 },
    }
}

/// Renders the report of `dataset` as one HTML document.
pub fn render<E: Executor>(
    dataset: &bacino_core::Dataset,
    options: &ReportOptions,
    exec: &E,
) -> Result<String> {
    let lang = options.lang;
    let has_areas = dataset.areas().is_some();
    let mut measures = Vec::new();
    for (label, target) in targets(dataset, lang) {
        let all = distance_report(dataset, &query(target, GroupBy::All, options, true), exec)?;
        let by_area = if has_areas {
            Some(distance_report(
                dataset,
                &query(target, GroupBy::Area, options, false),
                exec,
            )?)
        } else {
            None
        };
        measures.push(Measure {
            label,
            target,
            all,
            by_area,
        });
    }
    let by_group = match measures.iter().find(|m| m.target == Target::Assigned) {
        Some(_) if dataset.residents().group().values().len() > 1 => Some(distance_report(
            dataset,
            &query(Target::Assigned, GroupBy::Group, options, false),
            exec,
        )?),
        _ => None,
    };

    let mut html = String::new();
    let title = format!("{} — {}", lang.t("report"), dataset.title);
    let _ = write!(
        html,
        r#"<!doctype html><html lang="{}"><head><meta charset="utf-8"><title>{}</title><style>{}</style></head><body>"#,
        lang.code(),
        text::escape(&title),
        STYLE
    );
    let _ = write!(
        html,
        "<header><h1>{}</h1><p>{}</p><p class=\"note\">{} {}</p></header>",
        text::escape(lang.t("report")),
        text::escape(&dataset.title),
        lang.t("metric"),
        text::escape(
            &lang
                .t("privacy")
                .replace("{n}", &lang.number(options.min_group_size, 0))
        )
    );

    // Summary.
    let _ = write!(
        html,
        "<section><h2>{}</h2><table class=\"summary\"><thead><tr><th>{}</th>{}</tr></thead><tbody>",
        lang.t("summary"),
        lang.t("distance_to"),
        figure_headers(lang)
    );
    for m in &measures {
        let _ = write!(html, "<tr><th>{}</th>", text::escape(&m.label));
        html.push_str(&figure_cells(m.all.groups.first(), lang));
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    if let Some(m) = measures.iter().find(|m| m.target == Target::Assigned) {
        if m.all.unmeasured > 0.0 {
            let _ = write!(
                html,
                "<p class=\"note\">{}: {}</p>",
                lang.t("unmeasured"),
                lang.number(m.all.unmeasured, 0)
            );
        }
    }
    if let Some(report) = &by_group {
        let _ = write!(
            html,
            "<h3>{}</h3><table class=\"summary\" id=\"by-group\"><thead><tr><th>{}</th>{}</tr></thead><tbody>",
            lang.t("by_group"),
            lang.t("group"),
            figure_headers(lang)
        );
        for g in &report.groups {
            let _ = write!(
                html,
                "<tr><th>{}</th>{}</tr>",
                text::escape(g.key().unwrap_or("–")),
                figure_cells(Some(g), lang)
            );
        }
        html.push_str("</tbody></table>");
    }
    html.push_str("</section>");

    // Maps: the assigned GP and the nearest CdC (or the first two measures).
    if let Some(areas) = dataset.areas() {
        let mapped: Vec<&Measure> = {
            let preferred: Vec<&Measure> = measures
                .iter()
                .filter(|m| {
                    matches!(
                        m.target,
                        Target::Assigned | Target::Nearest(FacilityKind::Cdc)
                    )
                })
                .collect();
            if preferred.is_empty() {
                measures.iter().take(2).collect()
            } else {
                preferred
            }
        };
        let _ = write!(
            html,
            "<section><h2>{}</h2><div class=\"maps\">",
            lang.t("maps")
        );
        for m in mapped {
            let Some(report) = &m.by_area else { continue };
            let by_key: BTreeMap<&str, &GroupStats> = report
                .groups
                .iter()
                .filter_map(|g| Some((g.key()?, g)))
                .collect();
            let shades: Vec<svg::Shade> = (0..areas.len())
                .map(|i| match by_key.get(areas.id(i)) {
                    Some(g) => g
                        .summary()
                        .map_or(svg::Shade::Suppressed, |s| svg::Shade::Value(s.median_m)),
                    None => svg::Shade::NoData,
                })
                .collect();
            let values: Vec<f64> = shades
                .iter()
                .filter_map(|s| match s {
                    svg::Shade::Value(v) => Some(*v),
                    _ => None,
                })
                .collect();
            let br = svg::breaks(&values, svg::RAMP.len());
            let shapes: Vec<(&str, &str, &geo::MultiPolygon<f64>, svg::Shade)> = (0..areas.len())
                .map(|i| {
                    (
                        areas.id(i),
                        areas.name(i).unwrap_or(areas.id(i)),
                        areas.geometry(i),
                        shades[i],
                    )
                })
                .collect();
            let _ = write!(
                html,
                "<figure><figcaption>{} {}</figcaption>{}{}</figure>",
                lang.t("map_title"),
                text::escape(&m.label),
                svg::choropleth(&shapes, &br, options.map_width, lang),
                svg::legend(&br, options.min_group_size, lang)
            );
        }
        html.push_str("</div></section>");
    }

    // Distributions.
    let series: Vec<(String, Vec<f64>)> = measures
        .iter()
        .filter_map(|m| match m.all.groups.first() {
            Some(GroupStats::Stats { cdf: Some(q), .. }) => Some((m.label.clone(), q.clone())),
            _ => None,
        })
        .collect();
    if !series.is_empty() {
        let _ = write!(
            html,
            "<section><h2>{}</h2><figure>{}<figcaption class=\"series\">",
            lang.t("distribution"),
            svg::cdf(&series, lang)
        );
        for (i, (label, _)) in series.iter().enumerate() {
            let _ = write!(
                html,
                r#"<span class="row"><span class="swatch" style="background:{}"></span>{}</span>"#,
                svg::SERIES[i % svg::SERIES.len()],
                text::escape(label)
            );
        }
        html.push_str("</figcaption></figure></section>");
    }

    // The table by municipality: people, and median / p90 to the assigned
    // GP, the nearest GP and the nearest CdC (the rest is in the summary:
    // a row must fit a printed page).
    let tabled: Vec<&Measure> = measures
        .iter()
        .filter(|m| {
            matches!(
                m.target,
                Target::Assigned
                    | Target::Nearest(FacilityKind::Gp)
                    | Target::Nearest(FacilityKind::Cdc)
            )
        })
        .collect();
    if let Some(areas) = dataset.areas().filter(|_| !tabled.is_empty()) {
        let _ = write!(
            html,
            "<section class=\"break\"><h2>{}</h2><table id=\"by-area\"><thead><tr><th>{}</th><th>{}</th><th>{}</th>",
            lang.t("by_area"),
            lang.t("area"),
            lang.t("code"),
            lang.t("people")
        );
        for m in &tabled {
            let _ = write!(
                html,
                "<th>{} — {}</th><th>{} — {}</th>",
                lang.t("median"),
                text::escape(&m.label),
                lang.t("p90"),
                text::escape(&m.label)
            );
        }
        html.push_str("</tr></thead><tbody>");
        let lookups: Vec<BTreeMap<&str, &GroupStats>> = tabled
            .iter()
            .map(|m| {
                m.by_area
                    .as_ref()
                    .map(|r| {
                        r.groups
                            .iter()
                            .filter_map(|g| Some((g.key()?, g)))
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect();
        let mut order: Vec<usize> = (0..areas.len()).collect();
        order.sort_by(|&a, &b| {
            areas
                .name(a)
                .unwrap_or(areas.id(a))
                .cmp(areas.name(b).unwrap_or(areas.id(b)))
        });
        for i in order {
            let id = areas.id(i);
            // People: from a nearest-facility measure (everyone is measured
            // there), else the assigned one.
            let people = lookups
                .iter()
                .zip(&tabled)
                .filter(|(_, m)| m.target != Target::Assigned)
                .chain(lookups.iter().zip(&tabled))
                .find_map(|(l, _)| l.get(id))
                .and_then(|g| g.summary().map(|s| s.count));
            let suppressed = lookups
                .iter()
                .any(|l| l.get(id).is_some_and(|g| g.summary().is_none()));
            let _ = write!(
                html,
                "<tr data-area=\"{}\"><th>{}</th><td>{}</td><td class=\"num\">{}</td>",
                text::escape(id),
                text::escape(areas.name(i).unwrap_or(id)),
                text::escape(id),
                match people {
                    Some(p) => lang.number(p, 0),
                    None if suppressed => format!("<i>{}</i>", lang.t("suppressed")),
                    None => "–".to_owned(),
                }
            );
            for l in &lookups {
                match l.get(id) {
                    Some(g) => match g.summary() {
                        Some(s) => {
                            let _ = write!(
                                html,
                                "<td class=\"num\" data-m=\"{}\">{}</td><td class=\"num\" data-m=\"{}\">{}</td>",
                                s.median_m,
                                lang.km(s.median_m),
                                s.p90_m,
                                lang.km(s.p90_m)
                            );
                        }
                        None => {
                            let _ = write!(
                                html,
                                "<td class=\"suppressed\" colspan=\"2\">{}</td>",
                                lang.t("suppressed")
                            );
                        }
                    },
                    None => html.push_str("<td class=\"num\">–</td><td class=\"num\">–</td>"),
                }
            }
            html.push_str("</tr>");
        }
        html.push_str("</tbody></table></section>");
    }
    let _ = write!(
        html,
        "<footer>{} ({}).</footer></body></html>",
        lang.t("generated"),
        text::escape(&options.generator)
    );
    Ok(html)
}

fn figure_headers(lang: Lang) -> String {
    ["people", "median", "p25", "p75", "p90", "mean", "max"]
        .iter()
        .map(|k| format!("<th>{}</th>", lang.t(k)))
        .collect()
}

fn figure_cells(g: Option<&GroupStats>, lang: Lang) -> String {
    match g.and_then(GroupStats::summary) {
        Some(s) => {
            let mut out = format!("<td class=\"num\">{}</td>", lang.number(s.count, 0));
            for v in [s.median_m, s.p25_m, s.p75_m, s.p90_m, s.mean_m, s.max_m] {
                let _ = write!(out, "<td class=\"num\" data-m=\"{v}\">{}</td>", lang.km(v));
            }
            out
        }
        None => format!(
            "<td class=\"suppressed\" colspan=\"7\">{}</td>",
            lang.t("suppressed")
        ),
    }
}

const STYLE: &str = "
body{font:13px/1.45 'DejaVu Sans',system-ui,sans-serif;color:#1d2330;max-width:1100px;margin:24px auto;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:2px solid #23304a;padding-bottom:2px}
h3{font-size:14px;margin:16px 0 6px}.note{color:#556;font-size:12px}
table{border-collapse:collapse;width:100%;font-size:12px}th,td{padding:2px 6px;border-bottom:1px solid #dde;text-align:left;vertical-align:top}
thead th{background:#eef1f5}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.suppressed{color:#777;font-style:italic;text-align:center}
.maps{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0}figcaption{font-weight:600;margin-bottom:4px}
svg.map{max-width:100%;height:auto;background:#eef1f5}svg.chart{max-width:100%;height:auto}svg .axis{font-size:11px;fill:#445}
.legend,.series{display:flex;flex-wrap:wrap;gap:4px 12px;font-size:11px;font-weight:400;margin-top:4px}
.row{display:inline-flex;align-items:center;gap:4px}.swatch{display:inline-block;width:18px;height:11px;border:1px solid #0003}
footer{margin-top:32px;color:#667;font-size:11px}
@media print{body{margin:0;max-width:none}.break{break-before:page}tr{break-inside:avoid}}
";
