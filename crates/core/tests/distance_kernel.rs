//! The short-line distance kernel ([`LocalFrame`]) against
//! `geographiclib-rs` (Karney's reference implementation, independent of
//! bacino's distance-only port) on ten million random lines over Italy's
//! latitudes: every line within the stated bound, which is far inside the
//! 0.1 mm the kernel is allowed.

use bacino_core::{short_line_error_bound_m, LocalFrame, LonLat};
use geographiclib_rs::{DirectGeodesic, Geodesic, InverseGeodesic};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const PAIRS: usize = 10_000_000;

#[derive(Default)]
struct Worst {
    /// Largest error, metres, and the line's length.
    error: (f64, f64),
    /// Largest error as a fraction of the bound.
    ratio: f64,
    /// Lines measured by the kernel (the rest by Karney beyond its range).
    short: usize,
}

fn run(seed: u64, n: usize) -> Worst {
    let geod = Geodesic::wgs84();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut worst = Worst::default();
    for _ in 0..n {
        // Italy spans 35.5°–47.1° N, 6.6°–18.5° E; lengths are spread over
        // every scale up to past the kernel's range.
        let p = LonLat::new(rng.random_range(6.6..18.5), rng.random_range(35.5..47.1));
        let s = 10f64.powf(rng.random_range(-1.0..4.85));
        let az: f64 = rng.random_range(-180.0..180.0);
        let (lat, lon): (f64, f64) = geod.direct(p.lat, p.lon, az, s);
        let q = LonLat::new(lon, lat);
        let exact: f64 = geod.inverse(p.lat, p.lon, q.lat, q.lon);
        let (fp, fq) = (LocalFrame::new(p), LocalFrame::new(q));
        let fast = fp.distance_to(&fq);
        let err = (fast - exact).abs();
        let bound = short_line_error_bound_m(exact);
        assert!(
            err <= bound,
            "{p:?} to {q:?}: {fast} m, geographiclib {exact} m (error {err:e}, bound {bound:e})"
        );
        if fp.short_distance_m(&fq).is_some() {
            worst.short += 1;
            if err > worst.error.0 {
                worst.error = (err, exact);
            }
            worst.ratio = worst.ratio.max(err / bound);
        }
    }
    worst
}

#[test]
fn ten_million_lines_over_italy_are_within_the_bound() {
    let threads = 2;
    let results: Vec<Worst> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| scope.spawn(move || run(1000 + t as u64, PAIRS / threads)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let short: usize = results.iter().map(|w| w.short).sum();
    let worst = results
        .iter()
        .map(|w| w.error)
        .fold((0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a });
    let ratio = results.iter().map(|w| w.ratio).fold(0.0, f64::max);
    eprintln!(
        "{PAIRS} lines, {short} by the kernel: worst error {:.3e} m on a {:.0} m line, \
         {:.2} of the bound",
        worst.0, worst.1, ratio
    );
    // Most lines are in the kernel's range, and the 0.1 mm is met
    // with a wide margin.
    assert!(short > PAIRS * 9 / 10, "{short}");
    assert!(worst.0 < 1e-7, "{worst:?}");
}
