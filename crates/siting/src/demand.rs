//! The demand of a siting run (residents, or their areas' population
//! centres) and its costs to the sites under the dataset's metric.

use std::collections::HashMap;

use bacino_access::report::cost_kernel;
use bacino_core::{
    geodesic_distance_m, Dataset, Error, Executor, FacilityIdx, FacilityIndex, LonLat, Metric,
    MetricName, Result,
};

use crate::report::{DemandAt, SitingQuery};

/// Demand points: location, weight, and (for residents) the row.
pub(crate) struct Demand {
    /// Resident (the first at its point) or area id of each demand point.
    pub ids: Vec<String>,
    pub at: Vec<LonLat>,
    pub weight: Vec<f64>,
    /// Residents: the first resident row of each demand point; areas:
    /// every resident row counted.
    pub rows: Vec<usize>,
    /// Demand point of each resident row (`u32::MAX` when not demand).
    pub of_row: Vec<u32>,
}

impl Demand {
    fn empty(of_row: Vec<u32>) -> Demand {
        Demand {
            ids: Vec::new(),
            at: Vec::new(),
            weight: Vec::new(),
            rows: Vec::new(),
            of_row,
        }
    }
}

pub(crate) fn demand<E: Executor>(dataset: &Dataset, q: &SitingQuery, exec: &E) -> Result<Demand> {
    let residents = dataset.residents();
    let code =
        match &q.group {
            None => None,
            Some(g) => Some(residents.group_code(g).ok_or_else(|| {
                Error::param("demand_group", format!("no resident has group `{g}`"))
            })?),
        };
    let rows: Vec<usize> = (0..residents.len())
        .filter(|&i| residents.weights()[i] > 0.0)
        .filter(|&i| code.is_none_or(|c| residents.group().codes()[i] == c))
        .collect();
    let of_row = vec![u32::MAX; residents.len()];
    match q.demand_at {
        DemandAt::Residents => {
            // Residents at the same point have the same costs (but for a
            // cost table, which is per resident): one demand point each,
            // their weights summed. Exact, and real addresses hold many.
            let merge = q.metric != MetricName::Table;
            let mut d = Demand::empty(of_row);
            let mut point: HashMap<(u64, u64), u32> = HashMap::new();
            for &r in &rows {
                let p = residents.locations()[r];
                let w = residents.weights()[r];
                let key = (p.lon.to_bits(), p.lat.to_bits());
                if merge {
                    if let Some(&k) = point.get(&key) {
                        d.of_row[r] = k;
                        d.weight[k as usize] += w;
                        continue;
                    }
                    point.insert(key, d.at.len() as u32);
                }
                d.of_row[r] = d.at.len() as u32;
                d.ids.push(residents.id(r).to_owned());
                d.at.push(p);
                d.weight.push(w);
                d.rows.push(r);
            }
            Ok(d)
        }
        DemandAt::Areas => {
            let areas = dataset.areas().ok_or_else(|| {
                Error::param(
                    "demand",
                    "`areas` needs the dataset's areas: the manifest has none",
                )
            })?;
            let of = dataset.resident_areas(exec);
            let n = areas.len();
            let (mut w, mut x, mut y, mut z) =
                (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            for &r in &rows {
                let a = of[r];
                if a == u32::MAX {
                    continue;
                }
                let p = residents.locations()[r];
                let wr = residents.weights()[r];
                let (lo, la) = (p.lon.to_radians(), p.lat.to_radians());
                let a = a as usize;
                w[a] += wr;
                x[a] += wr * la.cos() * lo.cos();
                y[a] += wr * la.cos() * lo.sin();
                z[a] += wr * la.sin();
            }
            let mut point = vec![u32::MAX; n];
            let mut d = Demand::empty(of_row);
            for a in 0..n {
                if w[a] > 0.0 {
                    point[a] = d.at.len() as u32;
                    d.ids.push(areas.id(a).to_owned());
                    let lon = y[a].atan2(x[a]).to_degrees();
                    let lat = z[a].atan2(x[a].hypot(y[a])).to_degrees();
                    d.at.push(LonLat::new(lon, lat));
                    d.weight.push(w[a]);
                }
            }
            for &r in &rows {
                if of[r] != u32::MAX {
                    d.of_row[r] = point[of[r] as usize];
                    d.rows.push(r);
                }
            }
            Ok(d)
        }
    }
}

/// Each demand point's nearest site among `open` (columns), with its
/// column and cost.
pub(crate) fn nearest_open<E: Executor>(
    ds: &Dataset,
    dem: &Demand,
    at: DemandAt,
    columns: &[FacilityIdx],
    open: &[u32],
    metric: Metric<'_>,
    exec: &E,
) -> Result<Vec<Option<(u32, f64)>>> {
    let members: Vec<FacilityIdx> = open.iter().map(|&j| columns[j as usize]).collect();
    if let Metric::Geodesic = metric {
        let index = FacilityIndex::new(ds.facilities(), &members);
        let pos: std::collections::HashMap<FacilityIdx, u32> =
            open.iter().map(|&j| (columns[j as usize], j)).collect();
        return Ok(exec.map(dem.at.clone(), |p| {
            index.nearest(p).map(|n| (pos[&n.facility], n.distance_m))
        }));
    }
    let rows = cost_rows(ds, dem, at, &members, metric, f64::INFINITY, exec)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            r.into_iter()
                .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
                .map(|(k, c)| (open[k as usize], c))
        })
        .collect())
}

/// Each demand point's sites within `reach` and their costs.
pub(crate) fn cost_rows<E: Executor>(
    ds: &Dataset,
    dem: &Demand,
    at: DemandAt,
    columns: &[FacilityIdx],
    metric: Metric<'_>,
    reach: f64,
    exec: &E,
) -> Result<Vec<Vec<(u32, f64)>>> {
    let facilities = ds.facilities();
    let pairs = dem.at.len() as f64 * columns.len() as f64;
    if reach.is_infinite() && pairs > 60e6 {
        return Err(Error::Unavailable(format!(
            "{} demand points × {} sites is too many pairs for a full cost matrix: use `demand` = `areas` (a geodesic p-median keeps each resident's nearer sites past `max_pairs`)",
            dem.at.len(),
            columns.len()
        )));
    }
    match (at, metric) {
        // Only the demand's rows (a group may be a small part of the
        // residents), by range queries when the reach is finite.
        (_, Metric::Geodesic) if reach.is_finite() => {
            let index = FacilityIndex::new(facilities, columns);
            let mut column = vec![u32::MAX; facilities.len()];
            for (k, &f) in columns.iter().enumerate() {
                column[f as usize] = k as u32;
            }
            Ok(exec.map(dem.at.clone(), |a| {
                let mut row = Vec::new();
                index.for_each_within(a, reach, |f, d| row.push((column[f as usize], d)));
                row
            }))
        }
        (_, Metric::Geodesic) => Ok(exec.map(dem.at.clone(), |a| {
            columns
                .iter()
                .enumerate()
                .map(|(j, &f)| (j as u32, geodesic_distance_m(a, facilities.get(f).location)))
                .collect()
        })),
        (DemandAt::Residents, _) => {
            let kernel = cost_kernel(ds, columns, metric, reach, exec);
            Ok(dem
                .rows
                .iter()
                .map(|&r| {
                    let (c, v) = kernel.row(r);
                    c.iter().copied().zip(v.iter().copied()).collect()
                })
                .collect())
        }
        (DemandAt::Areas, Metric::Network(net)) => {
            let network = net.network();
            let targets = net.targets(columns);
            let snaps: Vec<_> = dem
                .at
                .iter()
                .map(|p| network.snap([p.lon, p.lat]))
                .collect();
            let origins: Vec<_> = snaps.iter().flatten().copied().collect();
            let matrix = network.matrix(&origins, &targets);
            let mut it = matrix.iter();
            Ok(snaps
                .iter()
                .map(|s| match s {
                    None => Vec::new(),
                    Some(_) => {
                        let costs = it.next().expect("one row per snapped origin");
                        targets
                            .iter()
                            .zip(costs)
                            .filter(|(_, c)| c.is_finite() && c.time_s() <= reach)
                            .map(|(t, c)| (t.label, c.time_s()))
                            .collect()
                    }
                })
                .collect())
        }
        (DemandAt::Areas, Metric::Table(_)) => unreachable!("refused above"),
    }
}
