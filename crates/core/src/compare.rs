//! Comparing plans (CONTRACT §8, `bacino compare`): one row per plan — the
//! do-nothing baseline first — with the people placed, the orphans, the
//! people without a GP after the plan, the distances of the moved and of
//! everyone with a GP, and the GPs over 95 % of their cap: the table a
//! planner puts on a slide. Each row's scenario figures are those of the
//! plan's own scenario document.

use serde::Serialize;

use crate::dataset::Dataset;
use crate::distances::{resident_distances, Target, TimeSummary};
use crate::error::{Error, Result};
use crate::exec::Executor;
use crate::metric::MetricName;
use crate::model::{FacilityKind, NONE};
use crate::reassign::{reassign, scenario_report, Figures, ScenarioQuery, TimeFigures};
use crate::stats::{round_mm, Summary};

/// Share of the cap above which a GP counts as nearly full.
pub const NEARLY_FULL: f64 = 0.95;

/// One plan's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanRow {
    /// The plan's name (`baseline` for doing nothing).
    pub name: String,
    /// People placed with a new GP.
    pub placed: u64,
    /// People to place left without one.
    pub orphans: u64,
    /// Sum of the placed people's new distances (route lengths under
    /// `car`/`foot`), metres; `null` under `min_group_size` or without
    /// lengths.
    pub total_distance_m: Option<f64>,
    /// Sum of their new travel times, seconds, under a metric with times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_time_s: Option<Option<f64>>,
    /// People without a GP of their own after the plan (no `gp_id`, or
    /// `ad_user`), weighted.
    pub unlisted_after: f64,
    /// Distances of the moved (the placed), as in the scenario document.
    pub moved: Figures,
    /// Their travel times, under a metric with times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_time: Option<TimeFigures>,
    /// Distances of everyone with a GP after the plan to that GP.
    pub everyone: Figures,
    /// Their travel times, under a metric with times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub everyone_time: Option<TimeFigures>,
    /// Active GPs with a cap whose list is above 95 % of it after the plan.
    pub gps_over_95pct: u64,
    /// Whether the plan's optimum was proven (true for the baseline).
    pub proven: bool,
}

/// The `bacino compare` document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Dataset name.
    pub dataset: String,
    /// The metric of every plan.
    pub metric: &'static str,
    /// Privacy threshold, people.
    pub min_group_size: f64,
    /// The baseline, then each plan in the order given.
    pub plans: Vec<PlanRow>,
}

/// Compares named plans on `dataset` under their common metric; the
/// do-nothing baseline comes first. Plans under different metrics are
/// refused (their distances are not comparable).
pub fn compare<E: Executor>(
    dataset: &Dataset,
    plans: &[(String, ScenarioQuery)],
    min_group_size: f64,
    exec: &E,
) -> Result<Comparison> {
    if min_group_size.is_nan() || min_group_size < 0.0 {
        return Err(Error::param(
            "min_group_size",
            format!("expected a number of people >= 0, found {min_group_size}"),
        ));
    }
    let metric_name = plans.first().map_or(MetricName::Geodesic, |p| p.1.metric);
    if let Some((name, _)) = plans.iter().find(|p| p.1.metric != metric_name) {
        return Err(Error::param(
            "metric",
            format!(
                "plan `{name}` is under another metric than `{metric_name}`: compare plans under one"
            ),
        ));
    }
    for (i, (name, _)) in plans.iter().enumerate() {
        if name == "baseline" || plans[..i].iter().any(|p| &p.0 == name) {
            return Err(Error::param(
                "plans",
                format!("plan name `{name}` is taken (by the baseline or another plan)"),
            ));
        }
    }
    let mut rows = Vec::with_capacity(plans.len() + 1);
    rows.push(baseline(dataset, metric_name, min_group_size, exec)?);
    for (name, query) in plans {
        let planned;
        let ds = if query.has_levers() {
            planned = dataset.with_levers(&query.open, &query.capacity)?;
            &planned
        } else {
            dataset
        };
        let metric = ds.metric(metric_name, exec)?;
        let solved = reassign(ds, query, metric, exec)
            .map_err(|e| Error::param("plans", format!("plan `{name}`: {e}")))?;
        let report = scenario_report(ds, &solved, min_group_size);
        let after = ds.after_change(&solved.ceased, solved.assignment_after(ds));
        let (everyone, everyone_time, unlisted_after) =
            everyone(&after, metric_name, min_group_size, exec)?;
        rows.push(PlanRow {
            name: name.clone(),
            placed: report.placed,
            orphans: report.orphans,
            total_distance_m: report.total_distance_m,
            total_time_s: report.total_time_s,
            unlisted_after,
            moved: report
                .new_distance
                .unwrap_or(Figures::Suppressed { suppressed: true }),
            moved_time: report.new_time,
            everyone,
            everyone_time,
            gps_over_95pct: nearly_full(&after),
            proven: report.optimality.proven,
        });
    }
    Ok(Comparison {
        dataset: dataset.name.clone(),
        metric: metric_name.as_str(),
        min_group_size,
        plans: rows,
    })
}

fn baseline<E: Executor>(
    dataset: &Dataset,
    metric: MetricName,
    min_group_size: f64,
    exec: &E,
) -> Result<PlanRow> {
    let (everyone, everyone_time, unlisted_after) =
        everyone(dataset, metric, min_group_size, exec)?;
    let timed = everyone_time.is_some();
    Ok(PlanRow {
        name: "baseline".into(),
        placed: 0,
        orphans: 0,
        total_distance_m: None,
        total_time_s: timed.then_some(None),
        unlisted_after,
        moved: Figures::Suppressed { suppressed: true },
        moved_time: timed.then_some(TimeFigures::Suppressed { suppressed: true }),
        everyone,
        everyone_time,
        gps_over_95pct: nearly_full(dataset),
        proven: true,
    })
}

/// Figures of everyone with a GP of their own (`ad_user` rows name a GP
/// they visit, not their own) to that GP, and the weighted count of the
/// people without one.
fn everyone<E: Executor>(
    dataset: &Dataset,
    metric: MetricName,
    min_group_size: f64,
    exec: &E,
) -> Result<(Figures, Option<TimeFigures>, f64)> {
    let residents = dataset.residents();
    let ad_user = residents.group_code("ad_user");
    let own =
        |row: usize| residents.gp()[row] != NONE && Some(residents.group().codes()[row]) != ad_user;
    let weights = residents.weights();
    let unlisted: f64 = (0..residents.len())
        .filter(|&r| !own(r))
        .map(|r| weights[r])
        .sum();
    let m = dataset.metric(metric, exec)?;
    let d = resident_distances(dataset, Target::Assigned, m, exec)?;
    let (mut metres, mut seconds) = (Vec::new(), Vec::new());
    for r in 0..residents.len() {
        if !own(r) {
            continue;
        }
        let w = weights[r];
        if d.seconds_only {
            seconds.push((d.distance_m[r], w));
        } else {
            metres.push((d.distance_m[r], w));
            if let Some(t) = &d.time_s {
                seconds.push((t[r], w));
            }
        }
    }
    metres.retain(|p| !p.0.is_nan());
    seconds.retain(|p| !p.0.is_nan());
    let suppress = |s: &Summary| !(s.count >= min_group_size && s.count > 0.0);
    let figures = match Summary::from_weighted(&mut metres) {
        Some(s) if !suppress(&s) => Figures::Stats(s.rounded()),
        _ => Figures::Suppressed { suppressed: true },
    };
    let timed = d.seconds_only || d.time_s.is_some();
    let time = timed.then(|| match Summary::from_weighted(&mut seconds) {
        Some(s) if !suppress(&s) => TimeFigures::Stats {
            count: s.count,
            time: TimeSummary::from(s),
        },
        _ => TimeFigures::Suppressed { suppressed: true },
    });
    Ok((figures, time, round_mm(unlisted)))
}

/// Active GPs with a cap whose list is above [`NEARLY_FULL`] of it.
fn nearly_full(dataset: &Dataset) -> u64 {
    let facilities = dataset.facilities();
    facilities
        .active_of_kind(FacilityKind::Gp)
        .into_iter()
        .filter(|&g| {
            facilities
                .get(g)
                .capacity
                .is_some_and(|c| dataset.list_size(g) > NEARLY_FULL * f64::from(c))
        })
        .count() as u64
}

impl Comparison {
    /// The comparison as an aligned text table, for people.
    pub fn to_table(&self) -> String {
        let fmt = |x: Option<f64>, scale: f64| {
            x.map_or("—".to_owned(), |v| format!("{:.2}", v / scale))
        };
        let stat = |f: &Figures, pick: fn(&Summary) -> f64| match f {
            Figures::Stats(s) => Some(pick(s)),
            Figures::Suppressed { .. } => None,
        };
        let header = [
            "plan",
            "placed",
            "orphans",
            "no GP after",
            "moved median km",
            "moved p90 km",
            "everyone median km",
            "everyone p90 km",
            "GPs > 95 %",
        ];
        let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| (*s).to_owned()).collect()];
        for p in &self.plans {
            rows.push(vec![
                p.name.clone(),
                p.placed.to_string(),
                p.orphans.to_string(),
                format!("{}", p.unlisted_after),
                fmt(stat(&p.moved, |s| s.median_m), 1000.0),
                fmt(stat(&p.moved, |s| s.p90_m), 1000.0),
                fmt(stat(&p.everyone, |s| s.median_m), 1000.0),
                fmt(stat(&p.everyone, |s| s.p90_m), 1000.0),
                p.gps_over_95pct.to_string(),
            ]);
        }
        let widths: Vec<usize> = (0..header.len())
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for (i, r) in rows.iter().enumerate() {
            let cells: Vec<String> = r
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(c, (v, &w))| {
                    if c == 0 {
                        format!("{v:<w$}")
                    } else {
                        format!("{v:>w$}")
                    }
                })
                .collect();
            out += cells.join("  ").trim_end();
            out.push('\n');
            if i == 0 {
                out += &widths
                    .iter()
                    .map(|&w| "-".repeat(w))
                    .collect::<Vec<_>>()
                    .join("  ");
                out.push('\n');
            }
        }
        out
    }
}
