//! Request bodies of the POST routes — a scenario plan, a comparison of
//! plans, a siting run — in-process through the whole service: bad input
//! is a 4xx problem document, never a 5xx, and no answer names a resident.
#![no_main]

use libfuzzer_sys::fuzz_target;

const ROUTES: [&str; 3] = [
    "/v1/datasets/fuzz/scenarios",
    "/v1/datasets/fuzz/compare",
    "/v1/datasets/fuzz/siting",
];

thread_local! {
    static SERVICE: bacino_fuzz::Service = bacino_fuzz::Service::new();
}

fuzz_target!(|data: &[u8]| {
    let Some((&route, body)) = data.split_first() else {
        return;
    };
    let path = ROUTES[route as usize % ROUTES.len()];
    SERVICE.with(|s| {
        s.check("POST", path, Some(body.to_vec()));
    });
});
