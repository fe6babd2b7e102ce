//! **voronoi** under a road-network metric: the study area divided by the
//! fastest facility. H3 cells of the study area are classified by the
//! facility their centre reaches first over the network (one backward
//! search from every facility), dissolved per site and clipped; cells
//! farther than two cell edges from any usable road stay undrawn (a lake,
//! a mountain without roads). Populations count each resident at their own
//! fastest facility, exactly as `stats --metric ... --group-by facility`.

use bacino_network::{Cost, Target as NetTarget};
use geo::{BoundingRect, MultiPolygon};

use super::{
    facility_properties, feature, geodesic_km2, hex, sites, CatchmentFeature, CatchmentOptions,
};
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::exec::{chunk_ranges, Executor};
use crate::metric::PreparedNetwork;
use crate::model::FacilityIdx;
use crate::stats::Summary;

pub(crate) fn network_voronoi<E: Executor>(
    dataset: &Dataset,
    options: &CatchmentOptions,
    active: &[FacilityIdx],
    prepared: &PreparedNetwork,
    exec: &E,
) -> Result<(Vec<CatchmentFeature>, f64)> {
    let res = hex::resolution(options.resolution)?;
    let area = dataset.study_area();
    let Some(bbox) = area.bounding_rect() else {
        return Err(Error::Unavailable("the study area is empty".into()));
    };
    let box_km2 = geodesic_km2(&MultiPolygon::new(vec![bbox.to_polygon()]));
    hex::check_cover_size(box_km2, res)?;
    let groups = sites(dataset, active);
    let fsnap = prepared.facility_snaps();
    // Label = site index: a shared site's facilities are one target group.
    let targets: Vec<NetTarget> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, members)| {
            members.iter().filter_map(move |&f| {
                fsnap[f as usize].map(|snap| NetTarget {
                    label: g as u32,
                    snap,
                })
            })
        })
        .collect();
    let net = prepared.network();
    let search = net.search_to(&targets, Cost::INFINITE);
    let draw_snap_m = 2.0 * res.edge_length_m();
    let cover = hex::covering(bbox, res);
    let classified = exec.map(chunk_ranges(cover.len(), 4_096), |r| {
        cover[r]
            .iter()
            .filter_map(|&c| {
                let p = hex::centre(c);
                let snap = net.snap_within([p.lon, p.lat], draw_snap_m)?;
                search.cost(&snap).map(|(_, g)| (g, c))
            })
            .collect::<Vec<_>>()
    });
    let mut cells_of: Vec<Vec<h3o::CellIndex>> = vec![Vec::new(); groups.len()];
    for (g, c) in classified.into_iter().flatten() {
        cells_of[g as usize].push(c);
    }
    // People by their own fastest site.
    let weights = dataset.residents().weights();
    let mut metres: Vec<Vec<(f64, f64)>> = vec![Vec::new(); groups.len()];
    let mut seconds: Vec<Vec<(f64, f64)>> = vec![Vec::new(); groups.len()];
    let mut unreachable = 0.0;
    for (r, snap) in prepared.resident_snaps().iter().enumerate() {
        match snap.as_ref().and_then(|s| search.cost(s)) {
            Some((c, g)) => {
                metres[g as usize].push((c.length_m(), weights[r]));
                seconds[g as usize].push((c.time_s(), weights[r]));
            }
            None => unreachable += weights[r],
        }
    }
    let work: Vec<_> = cells_of
        .into_iter()
        .zip(metres.into_iter().zip(seconds))
        .enumerate()
        .collect();
    let features = exec.map(work, |(g, (cells, (mut m, mut s)))| {
        let members = &groups[g];
        let list_size = members.iter().map(|&f| dataset.list_size(f)).sum();
        let mut props = facility_properties(
            dataset,
            options.kind,
            members,
            &mut m,
            list_size,
            options.min_group_size,
        );
        if !props.suppressed {
            props.time = Summary::from_weighted(&mut s).map(Summary::rounded);
        }
        let geometry = hex::clip(&hex::dissolve(cells), area);
        feature(geometry, props)
    });
    Ok((features, unreachable))
}
