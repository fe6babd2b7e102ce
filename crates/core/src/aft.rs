//! AFT–CdC (*correlazione AFT–Casa di Comunità*, issue #11): GPs grouped
//! into AFT — by the facilities' `aft` column, or, for GPs without one,
//! each with its nearest active Casa di Comunità — and per AFT its GPs,
//! list sizes, caps and spare room, and the distances of its listed
//! patients to the AFT's Casa di Comunità and to their own GP.

use std::collections::BTreeMap;

use bacino_network::NetworkInfo;
use serde::Serialize;

use crate::dataset::Dataset;
use crate::distances::{resident_distances, GroupStats, Target};
use crate::error::{Error, Result};
use crate::exec::Executor;
use crate::geodesic::geodesic_distance_m;
use crate::index::FacilityIndex;
use crate::metric::MetricName;
use crate::model::{FacilityIdx, FacilityKind, LonLat, NONE};
use crate::stats::round_mm;

/// One AFT.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AftRow {
    /// The `aft` value, or `cdc:<id>` for GPs grouped by their nearest CdC.
    pub aft: String,
    /// The Casa di Comunità the AFT is tied to (the nearest active CdC to
    /// its GPs' mean position; `null` without CdC).
    pub cdc: Option<String>,
    /// Geodesic distance from the GPs' mean position to that CdC, metres.
    pub cdc_distance_m: Option<f64>,
    /// Active GPs.
    pub gps: u64,
    /// Sum of their list sizes.
    pub list_size: f64,
    /// Sum of their caps (`null` when a GP has none).
    pub capacity: Option<u64>,
    /// Sum of their spare room, `floor(cap − list)` (GPs with a cap).
    pub spare: u64,
    /// Listed patients (not `ad_user`) to the AFT's CdC.
    pub to_cdc: GroupStats,
    /// The same patients to their own GP.
    pub to_gp: GroupStats,
}

/// The `bacino aft` document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AftReport {
    /// Dataset name.
    pub dataset: String,
    /// `column` when every active GP has an `aft`, `nearest_cdc` when none
    /// has, `mixed` otherwise.
    pub grouping: &'static str,
    /// The metric of the distances.
    pub metric: &'static str,
    /// The extract and profile, under a network metric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkInfo>,
    /// Privacy threshold of the distance figures, people.
    pub min_group_size: f64,
    /// One row per AFT, by name.
    pub afts: Vec<AftRow>,
}

/// Builds the AFT report of `dataset` under `metric`.
pub fn aft_report<E: Executor>(
    dataset: &Dataset,
    metric: MetricName,
    min_group_size: f64,
    exec: &E,
) -> Result<AftReport> {
    if min_group_size.is_nan() || min_group_size < 0.0 {
        return Err(Error::param(
            "min_group_size",
            format!("expected a number of people >= 0, found {min_group_size}"),
        ));
    }
    let facilities = dataset.facilities();
    let gps = facilities.active_of_kind(FacilityKind::Gp);
    let cdcs = FacilityIndex::active(facilities, FacilityKind::Cdc);
    let with_column = gps
        .iter()
        .filter(|&&g| facilities.get(g).aft.is_some())
        .count();
    let grouping = match with_column {
        0 => "nearest_cdc",
        n if n == gps.len() => "column",
        _ => "mixed",
    };
    // AFT of each GP.
    let mut aft_of: Vec<Option<String>> = vec![None; facilities.len()];
    let mut members: BTreeMap<String, Vec<FacilityIdx>> = BTreeMap::new();
    for &g in &gps {
        let f = facilities.get(g);
        let key = match &f.aft {
            Some(a) => a.clone(),
            None => match cdcs.nearest(f.location) {
                Some(n) => format!("cdc:{}", facilities.get(n.facility).id),
                None => "cdc:none".to_owned(),
            },
        };
        aft_of[g as usize] = Some(key.clone());
        members.entry(key).or_default().push(g);
    }
    // Each AFT's CdC: nearest to its GPs' mean position.
    let mut cdc_of: BTreeMap<&str, (Option<FacilityIdx>, Option<f64>)> = BTreeMap::new();
    for (key, gs) in &members {
        let (mut lon, mut lat) = (0.0, 0.0);
        for &g in gs {
            lon += facilities.get(g).location.lon;
            lat += facilities.get(g).location.lat;
        }
        let centre = LonLat::new(lon / gs.len() as f64, lat / gs.len() as f64);
        let hit = cdcs.nearest(centre);
        cdc_of.insert(
            key.as_str(),
            (
                hit.map(|n| n.facility),
                hit.map(|n| {
                    round_mm(geodesic_distance_m(
                        centre,
                        facilities.get(n.facility).location,
                    ))
                }),
            ),
        );
    }
    // Listed patients: measured to their GP, and (through a dataset whose
    // residents are listed with their AFT's CdC) to the CdC.
    let residents = dataset.residents();
    let ad_user = residents.group_code("ad_user");
    let groups = residents.group().codes();
    let listed = |r: usize| {
        let g = residents.gp()[r];
        g != NONE && aft_of[g as usize].is_some() && Some(groups[r]) != ad_user
    };
    let to_cdc_gp: Vec<FacilityIdx> = (0..residents.len())
        .map(|r| {
            if !listed(r) {
                return NONE;
            }
            let key = aft_of[residents.gp()[r] as usize]
                .as_deref()
                .expect("listed");
            cdc_of[key].0.unwrap_or(NONE)
        })
        .collect();
    let m = dataset.metric(metric, exec)?;
    let to_gp = resident_distances(dataset, Target::Assigned, m, exec)?;
    let via_cdc = dataset.derive(facilities.clone(), Some(to_cdc_gp));
    let mc = via_cdc.metric(metric, exec)?;
    let to_cdc = resident_distances(&via_cdc, Target::Assigned, mc, exec)?;
    let timed = to_gp.time_s.is_some();
    let so = to_gp.seconds_only;
    type Pairs = Vec<(f64, f64)>;
    let mut acc: BTreeMap<&str, [(Pairs, Pairs); 2]> = BTreeMap::new();
    let weights = residents.weights();
    for r in 0..residents.len() {
        if !listed(r) {
            continue;
        }
        let key = aft_of[residents.gp()[r] as usize]
            .as_deref()
            .expect("listed");
        let a = acc.entry(key).or_default();
        for (k, d) in [&to_cdc, &to_gp].into_iter().enumerate() {
            if d.distance_m[r].is_nan() {
                continue;
            }
            a[k].0.push((d.distance_m[r], weights[r]));
            let t = d.time_s.as_ref().map_or(d.distance_m[r], |t| t[r]);
            if timed || so {
                a[k].1.push((t, weights[r]));
            }
        }
    }
    let afts = members
        .iter()
        .map(|(key, gs)| {
            let list: f64 = gs.iter().map(|&g| dataset.list_size(g)).sum();
            let caps: Option<u64> = gs
                .iter()
                .map(|&g| facilities.get(g).capacity.map(u64::from))
                .sum();
            let spare: u64 = gs
                .iter()
                .filter_map(|&g| {
                    let c = facilities.get(g).capacity?;
                    Some((f64::from(c) - dataset.list_size(g)).floor().max(0.0) as u64)
                })
                .sum();
            let (cdc, cdc_distance_m) = cdc_of[key.as_str()];
            let mut a = acc.remove(key.as_str()).unwrap_or_default();
            let [(cm, cs), (gm, gs_)] = &mut a;
            AftRow {
                aft: key.clone(),
                cdc: cdc.map(|c| facilities.get(c).id.0.clone()),
                cdc_distance_m,
                gps: gs.len() as u64,
                list_size: round_mm(list),
                capacity: caps,
                spare,
                to_cdc: GroupStats::of_pairs("to_cdc", cm, cs, timed, so, min_group_size),
                to_gp: GroupStats::of_pairs("to_gp", gm, gs_, timed, so, min_group_size),
            }
        })
        .collect();
    Ok(AftReport {
        dataset: dataset.name.clone(),
        grouping,
        metric: metric.as_str(),
        network: m.network_info().cloned(),
        min_group_size,
        afts,
    })
}
