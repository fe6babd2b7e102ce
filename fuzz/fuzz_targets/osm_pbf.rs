//! OpenStreetMap PBF bytes: parsed, then a road graph built from them for
//! both profiles. Anything either parses or gives an error; nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = bacino_network::parse_pbf(data) else {
        return;
    };
    let id = bacino_network::ExtractId {
        path: "fuzz.osm.pbf".into(),
        sha256: bacino_network::sha256_hex(data),
    };
    for profile in bacino_network::ProfileName::ALL {
        let spec = bacino_network::NetworkSpec {
            path: "fuzz.osm.pbf".into(),
            profile: bacino_network::Profile::builtin(profile),
            snap_max_m: bacino_network::DEFAULT_SNAP_MAX_M,
        };
        let _ = bacino_network::RoadNetwork::from_raw(&id, &raw, &spec);
    }
});
