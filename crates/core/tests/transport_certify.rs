//! The transportation solver's certificate on a problem whose optimum is
//! known from HiGHS: once a false "negative cycle" (the queue-based
//! Bellman–Ford counted relaxations, not path lengths).

#[test]
fn the_optimal_flow_of_a_province_sized_problem_is_certified() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/transport_certify.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let supply: Vec<u32> = serde_json::from_value(doc["supply"].clone()).unwrap();
    let cap: Vec<u64> = serde_json::from_value(doc["cap"].clone()).unwrap();
    let arcs: Vec<Vec<(u32, i64)>> = serde_json::from_value(doc["arcs"].clone()).unwrap();
    let t = bacino_core::transport(&supply, &cap, &arcs).expect("certified");
    // scipy.optimize.linprog (HiGHS) on the same problem: 174,352,190.
    assert_eq!(t.cost, 174_352_190);
    assert!(t.unplaced.iter().all(|&u| u == 0));
    for (i, f) in t.flows.iter().enumerate() {
        assert_eq!(f.iter().map(|x| x.1).sum::<u32>(), supply[i]);
    }
}
