//! Catchments on small synthetic datasets, checked against brute force.

use super::*;
use crate::areas::Areas;
use crate::model::{Categorical, Facilities, Facility, Residents};
use crate::Sequential;
use geo::{polygon, Area, Contains, GeodesicArea, Orient, Validation};
use rand::{Rng, SeedableRng};

fn facility(id: &str, kind: FacilityKind, lon: f64, lat: f64) -> Facility {
    Facility {
        name: Some(format!("Site {id}")),
        capacity: Some(1500),
        ..Facility::new(id, kind, LonLat::new(lon, lat))
    }
}

/// Residents at `points` with weights, listed with `gp` (facility indices).
fn residents(points: &[(LonLat, f64, u32)]) -> Residents {
    let mut r = Residents::default();
    for (i, &(p, w, gp)) in points.iter().enumerate() {
        r.location.push(p);
        r.weight.push(w);
        r.ids.push(format!("R{i}").as_bytes());
        r.gp.push(gp);
    }
    r.municipality = Categorical::new();
    r.group = Categorical::new();
    for _ in points {
        r.municipality.push(None);
        r.group.push(None);
    }
    r.unit_weights = points.iter().all(|p| p.1 == 1.0);
    r
}

/// A non-convex study area: an L-shaped region plus a separate island.
fn l_shape_and_island() -> Areas {
    let l = polygon![
        (x: 9.50, y: 45.50), (x: 9.80, y: 45.50), (x: 9.80, y: 45.62),
        (x: 9.62, y: 45.62), (x: 9.62, y: 45.80), (x: 9.50, y: 45.80)
    ];
    let island = polygon![(x: 9.85, y: 45.70), (x: 9.95, y: 45.70), (x: 9.95, y: 45.78), (x: 9.85, y: 45.78)];
    Areas::new(
        vec!["L".into(), "I".into()],
        vec![None, None],
        vec![MultiPolygon::new(vec![l]), MultiPolygon::new(vec![island])],
    )
}

/// Seeded GPs (two pairs sharing a building) and residents inside the box.
fn synthetic(areas: Option<Areas>) -> Dataset {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut items: Vec<Facility> = (0..40)
        .map(|i| {
            facility(
                &format!("GP{i:02}"),
                FacilityKind::Gp,
                rng.random_range(9.5..9.95),
                rng.random_range(45.5..45.8),
            )
        })
        .collect();
    // GP40 shares GP03's building and GP41 GP17's.
    let (a, b) = (items[3].location, items[17].location);
    items.push(facility("GP40", FacilityKind::Gp, a.lon, a.lat));
    items.push(facility("GP41", FacilityKind::Gp, b.lon, b.lat));
    items.push(facility("C1", FacilityKind::Cdc, 9.55, 45.55));
    items.push(facility("C2", FacilityKind::Cdc, 9.75, 45.58));
    items.push(facility("C3", FacilityKind::Cdc, 9.90, 45.74));
    let n = items.len() as u32;
    let points: Vec<(LonLat, f64, u32)> = (0..3000)
        .map(|_| {
            let p = LonLat::new(rng.random_range(9.5..9.95), rng.random_range(45.5..45.8));
            let w = if rng.random_bool(0.5) { 1.0 } else { 2.5 };
            (p, w, rng.random_range(0..42u32).min(n - 1))
        })
        .collect();
    Dataset::new(
        "synthetic".into(),
        "Synthetic".into(),
        "synthetic/dataset.toml".into(),
        Facilities::new(items).unwrap(),
        residents(&points),
        areas,
    )
}

fn run(dataset: &Dataset, options: &CatchmentOptions, overrides: Overrides<'_>) -> Catchments {
    catchments(dataset, options, overrides, &Sequential).unwrap()
}

/// GP Voronoi cells with the default options.
fn gp_voronoi(dataset: &Dataset) -> Catchments {
    let options = CatchmentOptions::new(FacilityKind::Gp, CatchmentMethod::Voronoi);
    run(dataset, &options, Overrides::default())
}

fn geometries(c: &Catchments) -> Vec<&MultiPolygon<f64>> {
    c.features
        .iter()
        .filter_map(|f| f.geometry.as_ref())
        .collect()
}

/// Brute-force exact nearest active facility of `kind` (ties: smallest id).
fn brute_nearest(dataset: &Dataset, kind: FacilityKind, p: LonLat) -> (FacilityIdx, f64) {
    let f = dataset.facilities();
    f.active_of_kind(kind)
        .into_iter()
        .map(|i| (i, geodesic_distance_m(p, f.get(i).location)))
        .min_by(|a, b| a.1.total_cmp(&b.1).then(f.get(a.0).id.cmp(&f.get(b.0).id)))
        .unwrap()
}

fn assert_tiles_study_area(dataset: &Dataset, c: &Catchments) {
    let study_km2 = dataset.study_area().geodesic_area_unsigned() / 1e6;
    let geoms = geometries(c);
    assert!(geoms.iter().all(|g| g.is_valid()), "invalid output");
    let union = geo::unary_union(geoms.iter().copied()).orient(geo::orient::Direction::Default);
    let union_km2 = union.geodesic_area_unsigned() / 1e6;
    assert!(
        (union_km2 / study_km2 - 1.0).abs() < 0.005,
        "union {union_km2} km² vs study area {study_km2} km²"
    );
    let sum_km2: f64 = geoms.iter().map(|g| g.geodesic_area_unsigned() / 1e6).sum();
    // Pairwise overlaps add area to the sum that the union does not have.
    assert!(
        sum_km2 - union_km2 < 1e-3 * study_km2,
        "overlap {} km²",
        sum_km2 - union_km2
    );
    // Signed areas: a sliver of area -0.0 measured "unsigned" is the rest of the globe.
    let outside: f64 = union
        .difference(dataset.study_area())
        .0
        .iter()
        .map(|p| p.geodesic_area_signed().abs() / 1e6)
        .sum();
    assert!(
        outside < 1e-4 * study_km2,
        "{outside} km² outside the study area"
    );
}

#[test]
fn voronoi_cells_tile_a_non_convex_multi_part_study_area() {
    let dataset = synthetic(Some(l_shape_and_island()));
    let c = gp_voronoi(&dataset);
    assert_eq!(dataset.study_area().0.len(), 2);
    assert_tiles_study_area(&dataset, &c);
    // The planar area of the L (0.3×0.12 + 0.12×0.18) and the island (0.1×0.08), in degrees².
    assert!((dataset.study_area().unsigned_area() - (0.036 + 0.0216 + 0.008)).abs() < 1e-9);
}

#[test]
fn voronoi_populations_are_the_brute_force_nearest_facility_counts() {
    let dataset = synthetic(Some(l_shape_and_island()));
    let c = gp_voronoi(&dataset);
    let f = dataset.facilities();
    let mut want: HashMap<String, f64> = HashMap::default();
    for (&p, &w) in dataset
        .residents()
        .locations()
        .iter()
        .zip(dataset.residents().weights())
    {
        *want
            .entry(
                f.get(brute_nearest(&dataset, FacilityKind::Gp, p).0)
                    .id
                    .0
                    .clone(),
            )
            .or_default() += w;
    }
    let total: f64 = c
        .features
        .iter()
        .map(|x| x.properties.population.unwrap_or(0.0))
        .sum();
    assert_eq!(total, dataset.residents().total_weight());
    for feat in &c.features {
        let id = &feat.properties.facility_id.as_ref().unwrap().0;
        assert_eq!(
            feat.properties.population.unwrap_or(0.0),
            want.get(id).copied().unwrap_or(0.0),
            "{id}"
        );
    }
}

#[test]
fn every_point_lies_in_a_cell_whose_facility_is_as_near_as_the_geodesic_nearest_to_a_millimetre() {
    let dataset = synthetic(Some(l_shape_and_island()));
    let c = gp_voronoi(&dataset);
    let f = dataset.facilities();
    let mut worst_m: f64 = 0.0;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut tested = 0;
    while tested < 2000 {
        let p = LonLat::new(rng.random_range(9.5..9.95), rng.random_range(45.5..45.8));
        let pt = Point::new(p.lon, p.lat);
        if !dataset.study_area().contains(&pt) {
            continue;
        }
        let owner = c
            .features
            .iter()
            .find(|x| x.geometry.as_ref().is_some_and(|g| g.contains(&pt)))
            .expect("a cell holds every point of the study area");
        let owner_f = f
            .index_of(&owner.properties.facility_id.as_ref().unwrap().0)
            .unwrap();
        let (_, best) = brute_nearest(&dataset, FacilityKind::Gp, p);
        worst_m = worst_m.max(geodesic_distance_m(p, f.get(owner_f).location) - best);
        tested += 1;
    }
    // Only points within ~1 cm of a bisector (coordinates keep 7 decimals) can
    // land in a neighbour's cell; the planar bisectors themselves are far
    // closer to the geodesic ones (see projection.rs).
    assert!(
        worst_m < 0.02,
        "a point is {worst_m} m nearer to another facility"
    );
}

#[test]
fn facilities_sharing_a_building_share_one_feature() {
    let dataset = synthetic(Some(l_shape_and_island()));
    let c = gp_voronoi(&dataset);
    assert_eq!(c.features.len(), 40);
    let shared: Vec<Vec<&str>> = c
        .features
        .iter()
        .map(|f| {
            f.properties
                .facility_ids
                .iter()
                .map(|i| i.0.as_str())
                .collect::<Vec<_>>()
        })
        .filter(|v| v.len() > 1)
        .collect();
    assert_eq!(shared, vec![vec!["GP03", "GP40"], vec!["GP17", "GP41"]]);
    let gp03 = c
        .features
        .iter()
        .find(|f| f.properties.facility_ids.len() == 2)
        .unwrap();
    assert_eq!(gp03.properties.facility_id.as_ref().unwrap().0, "GP03");
    assert_eq!(gp03.properties.capacity, Some(3000.0));
    let want_list = dataset.list_size(3) + dataset.list_size(40);
    assert_eq!(gp03.properties.list_size, Some(want_list));
    assert_eq!(gp03.properties.load, Some(want_list / 3000.0));
}

#[test]
fn small_catchments_are_suppressed_in_the_output() {
    let dataset = synthetic(Some(l_shape_and_island()));
    let mut options = CatchmentOptions::new(FacilityKind::Gp, CatchmentMethod::Voronoi);
    options.min_group_size = 1e9;
    let c = run(&dataset, &options, Overrides::default());
    for f in &c.features {
        assert!(f.properties.suppressed && f.properties.population.is_none());
        let json = f.properties.to_json();
        assert_eq!(json["suppressed"], json!(true));
        // The keys stay (CONTRACT: every feature has them), empty.
        for key in ["population", "median_m", "p90_m"] {
            assert_eq!(json[key], Value::Null, "{key} leaked");
        }
    }
    // Nor can the total minus the shown populations give them back.
    let fc = c.to_geojson();
    assert!(!fc.foreign_members.unwrap().contains_key("total_population"));
}

#[test]
fn ceasing_a_facility_hands_its_cell_to_its_neighbours() {
    let dataset = synthetic(Some(l_shape_and_island()));
    let options = CatchmentOptions::new(FacilityKind::Gp, CatchmentMethod::Voronoi);
    let before = run(&dataset, &options, Overrides::default());
    let active: Vec<FacilityIdx> = dataset
        .facilities()
        .active_of_kind(FacilityKind::Gp)
        .into_iter()
        .filter(|&f| f != 5)
        .collect();
    let after = run(
        &dataset,
        &options,
        Overrides {
            active: Some(&active),
            assignment: None,
        },
    );
    assert_eq!(after.features.len(), before.features.len() - 1);
    assert!(after
        .features
        .iter()
        .all(|f| f.properties.facility_id.as_ref().unwrap().0 != "GP05"));
    assert_tiles_study_area(&dataset, &after);
    let total: f64 = after
        .features
        .iter()
        .map(|x| x.properties.population.unwrap_or(0.0))
        .sum();
    assert_eq!(total, dataset.residents().total_weight());
}

#[test]
fn without_areas_the_study_area_is_the_buffered_hull_of_everything() {
    let dataset = synthetic(None);
    let area = dataset.study_area();
    for p in dataset.residents().locations() {
        assert!(area.contains(&Point::new(p.lon, p.lat)));
    }
    // Steiner's formula: buffering a convex shape by r adds perimeter·r + πr².
    let points: Vec<Point<f64>> = dataset
        .residents()
        .locations()
        .iter()
        .chain(dataset.facilities().iter().map(|f| &f.location))
        .map(|p| Point::new(p.lon, p.lat))
        .collect();
    let (perimeter_m, hull_m2) = MultiPoint::new(points)
        .convex_hull()
        .geodesic_perimeter_area_unsigned();
    let r = HULL_BUFFER_M;
    let want_km2 = (hull_m2 + perimeter_m * r + std::f64::consts::PI * r * r) / 1e6;
    let km2 = area.geodesic_area_unsigned() / 1e6;
    assert!((km2 / want_km2 - 1.0).abs() < 2e-3, "{km2} vs {want_km2}");
    let c = gp_voronoi(&dataset);
    assert_tiles_study_area(&dataset, &c);
}

#[test]
fn assigned_catchments_are_the_cells_holding_enough_listed_patients() {
    let dataset = synthetic(Some(l_shape_and_island()));
    let mut options = CatchmentOptions::new(FacilityKind::Gp, CatchmentMethod::Assigned);
    options.resolution = 6;
    options.min_group_size = 5.0;
    let c = run(&dataset, &options, Overrides::default());
    let res = h3o::Resolution::try_from(6).unwrap();
    let f = dataset.facilities();
    for feat in &c.features {
        let idx = f
            .index_of(&feat.properties.facility_id.as_ref().unwrap().0)
            .unwrap();
        let mut per_cell: HashMap<h3o::CellIndex, f64> = HashMap::default();
        let mut people = 0.0;
        for ((&p, &w), &gp) in dataset
            .residents()
            .locations()
            .iter()
            .zip(dataset.residents().weights())
            .zip(dataset.residents().gp())
        {
            if gp == idx {
                let ll = h3o::LatLng::new(p.lat, p.lon).unwrap();
                *per_cell.entry(ll.to_cell(res)).or_default() += w;
                people += w;
            }
        }
        assert_eq!(
            feat.properties.population.unwrap_or(0.0),
            if people >= 5.0 { people } else { 0.0 }
        );
        let want_km2: f64 = per_cell
            .iter()
            .filter(|(_, &w)| w >= 5.0)
            .map(|(&c, _)| hex::polygon(c).geodesic_area_unsigned() / 1e6)
            .sum();
        let got_km2 = feat
            .geometry
            .as_ref()
            .map_or(0.0, |g| g.geodesic_area_unsigned() / 1e6);
        assert!(
            (got_km2 - want_km2).abs() <= 1e-3 * want_km2.max(1.0),
            "{got_km2} vs {want_km2}"
        );
        assert!(feat.geometry.as_ref().is_none_or(|g| g.is_valid()));
    }
}

#[test]
fn an_assignment_override_moves_patients_and_list_sizes() {
    let dataset = synthetic(Some(l_shape_and_island()));
    let options = CatchmentOptions::new(FacilityKind::Gp, CatchmentMethod::Assigned);
    // Everyone listed with GP05 moves to GP06.
    let moved: Vec<FacilityIdx> = dataset
        .residents()
        .gp()
        .iter()
        .map(|&g| if g == 5 { 6 } else { g })
        .collect();
    let before = run(&dataset, &options, Overrides::default());
    let after = run(
        &dataset,
        &options,
        Overrides {
            active: None,
            assignment: Some(&moved),
        },
    );
    let get = |c: &Catchments, id: &str| {
        c.features
            .iter()
            .find(|f| f.properties.facility_id.as_ref().unwrap().0 == id)
            .cloned()
            .unwrap()
    };
    let (b5, b6, a5, a6) = (
        get(&before, "GP05"),
        get(&before, "GP06"),
        get(&after, "GP05"),
        get(&after, "GP06"),
    );
    assert_eq!(a5.properties.list_size, Some(0.0));
    assert!(a5.geometry.is_none());
    assert_eq!(
        a6.properties.list_size.unwrap(),
        b5.properties.list_size.unwrap() + b6.properties.list_size.unwrap()
    );
    assert_eq!(
        a6.properties.population.unwrap(),
        b5.properties.population.unwrap() + b6.properties.population.unwrap()
    );
}

#[test]
fn assigned_for_other_kinds_uses_the_nearest_facility() {
    let dataset = synthetic(Some(l_shape_and_island()));
    let c = run(
        &dataset,
        &CatchmentOptions::new(FacilityKind::Cdc, CatchmentMethod::Assigned),
        Overrides::default(),
    );
    assert_eq!(c.features.len(), 3);
    let mut want: HashMap<String, f64> = HashMap::default();
    for (&p, &w) in dataset
        .residents()
        .locations()
        .iter()
        .zip(dataset.residents().weights())
    {
        *want
            .entry(
                dataset
                    .facilities()
                    .get(brute_nearest(&dataset, FacilityKind::Cdc, p).0)
                    .id
                    .0
                    .clone(),
            )
            .or_default() += w;
    }
    for f in &c.features {
        assert_eq!(
            f.properties.population,
            want.get(&f.properties.facility_id.as_ref().unwrap().0)
                .copied()
        );
        assert!(f.geometry.as_ref().unwrap().is_valid());
    }
}

#[test]
fn bands_tile_the_study_area_and_count_people_by_exact_distance() {
    let dataset = synthetic(Some(l_shape_and_island()));
    let mut options = CatchmentOptions::new(FacilityKind::Cdc, CatchmentMethod::Bands);
    options.bands_m = vec![3_000.0, 8_000.0];
    let c = run(&dataset, &options, Overrides::default());
    assert_eq!(c.features.len(), 3);
    assert_tiles_study_area(&dataset, &c);
    let mut want = [0.0; 3];
    for (&p, &w) in dataset
        .residents()
        .locations()
        .iter()
        .zip(dataset.residents().weights())
    {
        let d = brute_nearest(&dataset, FacilityKind::Cdc, p).1;
        want[usize::from(d >= 3_000.0) + usize::from(d >= 8_000.0)] += w;
    }
    let got: Vec<f64> = c
        .features
        .iter()
        .map(|f| f.properties.population.unwrap())
        .collect();
    assert_eq!(got, want.to_vec());
    let band = |i: usize| c.features[i].properties.band.unwrap();
    assert_eq!((band(0).min_m, band(0).max_m), (0.0, Some(3_000.0)));
    assert_eq!((band(2).min_m, band(2).max_m), (8_000.0, None));
    // Every cell centre of the first band is within 3 km of a CdC; spot-check
    // points well inside the band geometry (1 km in from its edge at res 8).
    let first = c.features[0].geometry.as_ref().unwrap();
    for cdc in ["C1", "C2"] {
        let p = dataset
            .facilities()
            .get(dataset.facilities().index_of(cdc).unwrap())
            .location;
        assert!(
            first.contains(&Point::new(p.lon, p.lat)),
            "{cdc} is outside the 0–3 km band"
        );
    }
}

#[test]
fn bad_options_are_rejected_with_the_parameter_name() {
    let dataset = synthetic(Some(l_shape_and_island()));
    let mut options = CatchmentOptions::new(FacilityKind::Gp, CatchmentMethod::Bands);
    options.bands_m = vec![5_000.0, 2_000.0];
    let err = catchments(&dataset, &options, Overrides::default(), &Sequential).unwrap_err();
    assert!(
        matches!(err, Error::InvalidParameter { ref name, .. } if name == "bands"),
        "{err}"
    );
    options.bands_m = DEFAULT_BANDS_M.to_vec();
    options.resolution = 16;
    let err = catchments(&dataset, &options, Overrides::default(), &Sequential).unwrap_err();
    assert!(
        matches!(err, Error::InvalidParameter { ref name, .. } if name == "resolution"),
        "{err}"
    );
    let err = catchments(
        &dataset,
        &CatchmentOptions::new(FacilityKind::Odc, CatchmentMethod::Voronoi),
        Overrides::default(),
        &Sequential,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err}");
    assert!("delaunay".parse::<CatchmentMethod>().is_err());
}

#[test]
fn geojson_output_follows_rfc_7946() {
    let dataset = synthetic(Some(l_shape_and_island()));
    let c = gp_voronoi(&dataset);
    let text = c.to_geojson_string();
    let fc: geojson::FeatureCollection = text
        .parse::<geojson::GeoJson>()
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(fc.features.len(), c.features.len());
    assert!(fc.features.iter().filter(|f| f.geometry.is_some()).count() > 30);
    for f in fc.features.iter().filter(|f| f.geometry.is_some()) {
        let mp: MultiPolygon<f64> = f.geometry.clone().unwrap().try_into().unwrap();
        assert!(mp.is_valid());
        for poly in &mp.0 {
            assert!(
                Polygon::new(poly.exterior().clone(), vec![]).signed_area() > 0.0,
                "exterior not counter-clockwise"
            );
            for hole in poly.interiors() {
                assert!(
                    Polygon::new(hole.clone(), vec![]).signed_area() < 0.0,
                    "hole not clockwise"
                );
            }
            for c in poly.exterior().0.iter() {
                assert_eq!((c.x * 1e7).round() / 1e7, c.x);
                assert_eq!((c.y * 1e7).round() / 1e7, c.y);
            }
        }
        // Orientation is already the RFC 7946 one: re-orienting changes nothing.
        assert_eq!(mp.orient(geo::orient::Direction::Default), mp);
        let props = f.properties.as_ref().unwrap();
        for key in [
            "facility_id",
            "facility_ids",
            "kind",
            "name",
            "population",
            "median_m",
            "p90_m",
            "capacity",
            "list_size",
            "load",
        ] {
            assert!(props.contains_key(key), "missing {key}");
        }
        assert!(f.bbox.is_some());
    }
    assert!(fc.bbox.is_some());
}

#[test]
fn options_from_request_parameters_name_what_is_wrong() {
    let o = CatchmentOptions::from_params(Some("cdc"), Some("bands")).unwrap();
    assert_eq!(
        (o.kind, o.method),
        (FacilityKind::Cdc, CatchmentMethod::Bands)
    );
    assert_eq!(o.bands_m, DEFAULT_BANDS_M.to_vec());
    for (kind, method, name) in [
        (None, Some("voronoi"), "kind"),
        (Some("dentist"), Some("voronoi"), "kind"),
        (Some("gp"), None, "method"),
        (Some("gp"), Some("hull"), "method"),
    ] {
        let err = CatchmentOptions::from_params(kind, method).unwrap_err();
        assert!(
            matches!(err, Error::InvalidParameter { name: ref n, .. } if n == name),
            "{err}"
        );
    }
}

#[test]
fn band_features_have_stable_ids() {
    let dataset = synthetic(Some(l_shape_and_island()));
    let c = run(
        &dataset,
        &CatchmentOptions::new(FacilityKind::Cdc, CatchmentMethod::Bands),
        Overrides::default(),
    );
    let ids: Vec<String> = c
        .features
        .iter()
        .map(|f| f.properties.feature_id().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "band-0-2000",
            "band-2000-5000",
            "band-5000-10000",
            "band-10000-inf"
        ]
    );
}
