//! Query strings on every GET route of a dataset, in-process through the
//! whole service (routing, extractors, validation, the computation): bad
//! input is a 4xx problem document, never a 5xx, and no answer names a
//! resident.
#![no_main]

use libfuzzer_sys::fuzz_target;

const ROUTES: [&str; 10] = [
    "/v1/datasets/fuzz/distances",
    "/v1/datasets/fuzz/catchments",
    "/v1/datasets/fuzz/access",
    "/v1/datasets/fuzz/coverage",
    "/v1/datasets/fuzz/isochrones",
    "/v1/datasets/fuzz/ad",
    "/v1/datasets/fuzz/aft",
    "/ogc/collections/fuzz_areas/items",
    "/ogc/collections/fuzz_facilities_gp/items",
    "/ogc/collections",
];

thread_local! {
    static SERVICE: bacino_fuzz::Service = bacino_fuzz::Service::new();
}

fuzz_target!(|data: &[u8]| {
    let Some((&route, query)) = data.split_first() else {
        return;
    };
    let path = ROUTES[route as usize % ROUTES.len()];
    let uri = format!("{path}?{}", bacino_fuzz::uri_safe(query));
    if actix_web::http::Uri::try_from(uri.as_str()).is_err() {
        return;
    }
    SERVICE.with(|s| {
        s.check("GET", &uri, None);
    });
});
