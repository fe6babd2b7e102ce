//! The network on the real Monaco extract (© OpenStreetMap contributors,
//! ODbL; `fixtures/monaco/`).

use std::path::PathBuf;

use bacino_network::{
    CacheOutcome, Cost, Error, NetworkSpec, Profile, ProfileName, RoadNetwork, Search, Target,
    DEFAULT_SNAP_MAX_M,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn pbf() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/monaco/monaco.osm.pbf")
}

fn spec(name: ProfileName) -> NetworkSpec {
    NetworkSpec {
        path: pbf(),
        profile: Profile::builtin(name),
        snap_max_m: DEFAULT_SNAP_MAX_M,
    }
}

fn random_points(n: usize, seed: u64) -> Vec<[f64; 2]> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            [
                rng.random_range(7.405..7.44),
                rng.random_range(43.725..43.752),
            ]
        })
        .collect()
}

#[test]
fn both_profiles_build_one_strongly_connected_graph() {
    for name in ProfileName::ALL {
        let net = RoadNetwork::build(&spec(name)).unwrap();
        let g = net.graph();
        let (_, components) = g.components();
        assert_eq!(components, 1, "{name}");
        assert!(g.node_count() > 2000, "{name}: {} nodes", g.node_count());
        eprintln!(
            "{name}: {} nodes, {} segments",
            g.node_count(),
            g.segments.len()
        );
    }
}

#[test]
fn one_search_for_the_nearest_equals_a_dijkstra_per_origin() {
    for name in ProfileName::ALL {
        let net = RoadNetwork::build(&spec(name)).unwrap();
        let targets: Vec<Target> = random_points(25, 1)
            .into_iter()
            .enumerate()
            .filter_map(|(i, p)| {
                Some(Target {
                    label: i as u32,
                    snap: net.snap(p)?,
                })
            })
            .collect();
        assert!(targets.len() >= 20);
        let origins: Vec<_> = random_points(400, 2)
            .into_iter()
            .map(|p| net.snap(p))
            .collect();
        let fast = net.nearest(&targets, &origins);
        let mut search = Search::new(net.graph().node_count());
        let mut reached = 0;
        for (o, got) in origins.iter().zip(&fast) {
            let Some(o) = o else {
                assert!(got.is_none());
                continue;
            };
            let costs = net.costs_from(&mut search, o, &targets);
            let best = costs
                .iter()
                .zip(&targets)
                .map(|(&c, t)| (c, t.label))
                .filter(|(c, _)| c.is_finite())
                .min();
            assert_eq!(*got, best, "{name}");
            reached += usize::from(best.is_some());
        }
        assert!(reached > 300, "{name}: {reached}");
    }
}

#[test]
fn a_route_costs_what_the_dijkstra_says_and_draws_a_line() {
    let net = RoadNetwork::build(&spec(ProfileName::Car)).unwrap();
    let (a, b) = ([7.4197, 43.7311], [7.4287, 43.7392]);
    let route = net.route(a, b).unwrap();
    let target = Target {
        label: 0,
        snap: net.snap(b).unwrap(),
    };
    let mut search = Search::new(net.graph().node_count());
    let c = net.costs_from(&mut search, &net.snap(a).unwrap(), &[target]);
    assert_eq!(route.cost, c[0]);
    assert!(route.coords.len() > 5);
    // The line is at least as long as the route's network length.
    let drawn: f64 = route
        .coords
        .windows(2)
        .map(|w| bacino_network::segment_length_m(w[0], w[1]))
        .sum();
    assert!(
        drawn + 1.0 >= route.cost.length_m() - 1.0,
        "{drawn} vs {}",
        route.cost.length_m()
    );
    assert!(
        route.cost.time_s() > 60.0 && route.cost.time_s() < 900.0,
        "{}",
        route.cost.time_s()
    );
}

#[test]
fn points_far_from_any_road_are_unreachable() {
    let net = RoadNetwork::build(&spec(ProfileName::Foot)).unwrap();
    // 5 km out at sea south of Monaco.
    assert!(net.snap([7.42, 43.69]).is_none());
    match net.route([7.42, 43.69], [7.4287, 43.7392]) {
        Err(Error::Unsnappable { distance_m, .. }) => assert!(distance_m > 1000.0),
        other => panic!("expected Unsnappable, got {other:?}"),
    }
}

#[test]
fn the_cache_is_used_when_valid_and_rebuilt_when_corrupt_or_stale() {
    let dir = tempfile::tempdir().unwrap();
    let specs = [spec(ProfileName::Car), spec(ProfileName::Foot)];
    let first = RoadNetwork::open_all(&specs, Some(dir.path())).unwrap();
    assert!(first
        .iter()
        .all(|(_, o)| matches!(o, CacheOutcome::Built(_))));
    let second = RoadNetwork::open_all(&specs, Some(dir.path())).unwrap();
    for ((a, _), (b, o)) in first.iter().zip(&second) {
        assert!(matches!(o, CacheOutcome::Hit(_)), "{o:?}");
        assert_eq!(a.graph(), b.graph());
        assert_eq!(a.info(), b.info());
    }
    let CacheOutcome::Hit(file) = &second[0].1 else {
        unreachable!()
    };
    let mut bytes = std::fs::read(file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(file, &bytes).unwrap();
    let third = RoadNetwork::open_all(&specs[..1], Some(dir.path())).unwrap();
    match &third[0].1 {
        CacheOutcome::Rebuilt(_, why) => assert!(why.contains("corrupt"), "{why}"),
        o => panic!("expected a rebuild, got {o:?}"),
    }
    assert_eq!(third[0].0.graph(), first[0].0.graph());
    // Other speeds are another profile: another file, built anew.
    let mut faster = spec(ProfileName::Car);
    faster.profile.speed_kmh.insert("primary".into(), 80.0);
    let other = RoadNetwork::open_all(&[faster], Some(dir.path())).unwrap();
    assert!(matches!(other[0].1, CacheOutcome::Built(_)));
    assert_ne!(other[0].0.graph(), first[0].0.graph());
}

#[test]
fn a_truncated_extract_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(pbf()).unwrap();
    let cut = dir.path().join("cut.osm.pbf");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let mut s = spec(ProfileName::Car);
    s.path = cut.clone();
    let e = RoadNetwork::build(&s).unwrap_err();
    assert!(matches!(e, Error::Pbf { .. }), "{e}");
    assert!(e.to_string().contains("cut.osm.pbf"), "{e}");
    let e = RoadNetwork::open_all(&[s], Some(dir.path())).unwrap_err();
    assert!(matches!(e, Error::Pbf { .. }), "{e}");
    assert!(!std::fs::read_dir(dir.path())
        .unwrap()
        .any(|f| { f.unwrap().file_name().to_string_lossy().ends_with(".graph") }));
}

#[test]
fn costs_are_integral_and_lengths_geodesic() {
    let net = RoadNetwork::build(&spec(ProfileName::Foot)).unwrap();
    let g = net.graph();
    for s in g.segments.iter().take(500) {
        let len = bacino_network::segment_length_m(g.coords[s.a as usize], g.coords[s.b as usize]);
        let c = s.ab.or(s.ba).unwrap();
        assert!((c.length_m() - len).abs() <= 0.005 + 1e-9);
        // Walking at 5 km/h unless the surface slows it.
        let at5 = Cost::at_speed(len, 5.0).time_ms();
        assert!(c.time_ms() >= at5, "{} < {at5}", c.time_ms());
    }
}

#[test]
fn the_hierarchy_equals_plain_dijkstra_on_ten_thousand_random_pairs() {
    for (name, seed) in [(ProfileName::Car, 11), (ProfileName::Foot, 12)] {
        let net = RoadNetwork::build(&spec(name)).unwrap();
        let snaps = |n, seed| -> Vec<bacino_network::Snap> {
            random_points(n, seed)
                .into_iter()
                .filter_map(|p| net.snap(p))
                .take(100)
                .collect()
        };
        let origins = snaps(130, seed);
        let targets: Vec<Target> = snaps(130, seed + 100)
            .into_iter()
            .enumerate()
            .map(|(i, snap)| Target {
                label: i as u32,
                snap,
            })
            .collect();
        assert_eq!((origins.len(), targets.len()), (100, 100), "{name}");
        let table = net.matrix(&origins, &targets);
        let mut search = Search::new(net.graph().node_count());
        let mut finite = 0;
        for (o, row) in origins.iter().zip(&table) {
            let want = net.costs_from(&mut search, o, &targets);
            assert_eq!(row, &want, "{name}");
            finite += row.iter().filter(|c| c.is_finite()).count();
        }
        assert!(finite > 9_000, "{name}: {finite} of 10,000 pairs connected");
        let ch = net.hierarchy();
        eprintln!(
            "{name}: {} nodes, {} shortcuts",
            ch.node_count(),
            ch.shortcuts()
        );
    }
}
