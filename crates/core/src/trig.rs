//! Sine and cosine of angles in degrees, without a call to the C library:
//! one at a time ([`sin_cos_deg`]) or a slice at a time
//! ([`sin_cos_deg_each`], which the compiler turns into vector
//! instructions: five times faster than `f64::sin_cos` per angle).
//!
//! Every point a distance is measured from needs the sine and cosine of
//! its latitude and longitude ([`crate::geodesic::LocalFrame`]); with
//! millions of residents that was the largest part of a nearest search
//! after the search itself.
//!
//! **Reduction, exact.** `q` is `x / 90°` rounded to the nearest integer
//! and `r = x − 90q`, so `|r| ≤ 45°`. The subtraction is exact: `90q` is a
//! double (for `|q| < 2⁴⁶`), and for `q ≠ 0` the two operands are within a
//! factor of two of each other (Sterbenz). Only `r · π/180` rounds, once,
//! to `t`, `|t| ≤ π/4`: an argument known better than `x.to_radians()`
//! gives `libm` (whose error, a unit in the last place of `x`·π/180, is
//! then reduced as if exact; the sine of 180° is `1.2·10⁻¹⁶` there, 0
//! here).
//!
//! **Kernels.** On `|t| ≤ π/4`, `sin t = t + t³ S(t²)` and
//! `cos t = 1 − t²/2 + t⁴ C(t²)` with the minimax polynomials of fdlibm's
//! `__kernel_sin` and `__kernel_cos` (Sun Microsystems, 1993; degree 13
//! and 14), whose error is below one unit in the last place; the cosine
//! adds `1 − t²/2` in two parts so that the rounding of `t²/2` is not
//! lost. The tests check every result against `libm` on the same exact
//! argument: at most one unit in the last place apart.
//!
//! **Quadrant.** `q mod 4` swaps and negates the pair, by selections
//! rather than branches (so that a slice of angles is computed lane by
//! lane in vector registers).
//!
//! Products and sums are written out (Rust never fuses them into one
//! rounding), so the results are the same bits on every processor and
//! with any target features, one at a time or a slice at a time.

// The coefficients as fdlibm publishes them (more digits than a double
// holds; each is read as its nearest double).
#![allow(clippy::excessive_precision)]

const S1: f64 = -1.666_666_666_666_663_243_48e-1;
const S2: f64 = 8.333_333_333_322_489_461_24e-3;
const S3: f64 = -1.984_126_982_985_794_931_34e-4;
const S4: f64 = 2.755_731_370_707_006_767_89e-6;
const S5: f64 = -2.505_076_025_340_686_341_95e-8;
const S6: f64 = 1.589_690_995_211_550_102_21e-10;
const C1: f64 = 4.166_666_666_666_660_190_37e-2;
const C2: f64 = -1.388_888_888_887_410_957_49e-3;
const C3: f64 = 2.480_158_728_947_672_941_78e-5;
const C4: f64 = -2.755_731_435_139_066_330_35e-7;
const C5: f64 = 2.087_572_321_298_174_827_90e-9;
const C6: f64 = -1.135_964_755_778_819_482_65e-11;

/// Beyond this many degrees the reduction is no longer exact and
/// [`sin_cos_deg`] asks `libm` instead.
const EXACT_LIMIT_DEG: f64 = 1e12;

/// The sine and cosine of `x` degrees, each within a unit in the last place
/// of the exact value (see the module documentation). NaN for a
/// non-finite `x`.
#[inline]
pub fn sin_cos_deg(x: f64) -> (f64, f64) {
    if x.abs() <= EXACT_LIMIT_DEG {
        kernel(x)
    } else {
        x.to_radians().sin_cos()
    }
}

/// [`sin_cos_deg`] of every angle of `x`, into `sin` and `cos` (the same
/// bits as one at a time). The three slices must have the same length.
pub fn sin_cos_deg_each(x: &[f64], sin: &mut [f64], cos: &mut [f64]) {
    assert!(x.len() == sin.len() && x.len() == cos.len());
    // No branch in this loop, so that it runs in vector registers; the
    // rare angles beyond the exact reduction are done again after it.
    for ((&x, s), c) in x.iter().zip(sin.iter_mut()).zip(cos.iter_mut()) {
        (*s, *c) = kernel(x);
    }
    if x.iter().any(|x| x.abs() > EXACT_LIMIT_DEG) {
        for ((&x, s), c) in x.iter().zip(sin.iter_mut()).zip(cos.iter_mut()) {
            if x.abs() > EXACT_LIMIT_DEG {
                (*s, *c) = sin_cos_deg(x);
            }
        }
    }
}

/// The reduction, both kernels and the quadrant, for `|x|` ≤
/// [`EXACT_LIMIT_DEG`]; no branch.
#[inline(always)]
fn kernel(x: f64) -> (f64, f64) {
    // Nearest integer (ties up: either way `|r| ≤ 45°`).
    let q = (x * (1.0 / 90.0) + 0.5).floor();
    let r = x - 90.0 * q;
    let t = r * (std::f64::consts::PI / 180.0);
    let z = t * t;
    let w = z * z;
    let rs = S2 + z * (S3 + z * S4) + z * w * (S5 + z * S6);
    let s = t + z * t * (S1 + z * rs);
    let rc = z * (C1 + z * (C2 + z * C3)) + w * w * (C4 + z * (C5 + z * C6));
    let half = 0.5 * z;
    let one_less = 1.0 - half;
    let c = one_less + (((1.0 - one_less) - half) + z * rc);
    // The quadrant, q mod 4, as a float in {0, 1, 2, 3}.
    let m = q - 4.0 * (q * 0.25).floor();
    let odd = m == 1.0 || m == 3.0;
    let (s, c) = if odd { (c, s) } else { (s, c) };
    let sin = if m >= 2.0 { -s } else { s };
    let cos = if m == 1.0 || m == 2.0 { -c } else { c };
    (sin, cos)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Units in the last place between two doubles of the same sign (or
    /// zeros).
    fn ulps(a: f64, b: f64) -> u64 {
        if a == b {
            return 0;
        }
        assert_eq!(a.is_sign_negative(), b.is_sign_negative(), "{a} {b}");
        a.to_bits().abs_diff(b.to_bits())
    }

    /// `libm` on the exactly reduced argument, turned to the quadrant.
    fn reference(x: f64) -> (f64, f64) {
        let q = (x / 90.0).round();
        let r = x - 90.0 * q;
        let (s, c) = (r * (std::f64::consts::PI / 180.0)).sin_cos();
        match (q as i64).rem_euclid(4) {
            0 => (s, c),
            1 => (c, -s),
            2 => (-s, -c),
            _ => (-c, s),
        }
    }

    #[test]
    fn within_a_unit_in_the_last_place_of_libm_on_the_exact_argument() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut xs: Vec<f64> = (0..2_000_000).map(|_| -720.0 + 1440.0 * next()).collect();
        // Latitudes and longitudes of Italy, where the data lie.
        xs.extend((0..500_000).map(|_| 6.0 + 13.0 * next()));
        xs.extend((0..500_000).map(|_| 35.0 + 13.0 * next()));
        // Quadrant edges and their neighbours, small angles, signed zeros.
        for k in (-8..=8).filter(|&k| k != 0) {
            let e = 45.0 * f64::from(k);
            let below = f64::from_bits(e.to_bits() - 1);
            let above = f64::from_bits(e.to_bits() + 1);
            xs.extend([e, below, above, -below, -above]);
        }
        xs.extend([0.0, -0.0, 1e-300, -1e-300, 1e-9, 5e-324, 123_456_789.123]);
        for &x in &xs {
            let (s, c) = sin_cos_deg(x);
            let (ws, wc) = reference(x);
            // At an odd multiple of 45° the two may reduce to opposite
            // octant edges (sin 45° from the cosine kernel): each within a
            // unit of the true value, so two of each other.
            let edge = (x.rem_euclid(90.0) - 45.0).abs() < 1e-9;
            let allowed = if edge { 2 } else { 1 };
            assert!(
                ulps(s, ws) <= allowed && ulps(c, wc) <= allowed,
                "{x}: ({s}, {c}) against ({ws}, {wc})"
            );
        }
        // Exact where the value is.
        assert_eq!(sin_cos_deg(0.0), (0.0, 1.0));
        assert_eq!(sin_cos_deg(90.0), (1.0, 0.0));
        assert_eq!(sin_cos_deg(180.0), (0.0, -1.0));
        assert_eq!(sin_cos_deg(-90.0), (-1.0, 0.0));
        assert!(ulps(sin_cos_deg(30.0).0, 0.5) <= 1);
        assert!(ulps(sin_cos_deg(60.0).1, 0.5) <= 1);
    }

    #[test]
    fn a_slice_gives_the_same_bits_as_one_at_a_time() {
        let xs: Vec<f64> = (0..10_007)
            .map(|i| -400.0 + 0.0801 * f64::from(i))
            .chain([1e13, -3e15, f64::NAN, f64::INFINITY, 45.0, -0.0])
            .collect();
        let (mut s, mut c) = (vec![0.0; xs.len()], vec![0.0; xs.len()]);
        sin_cos_deg_each(&xs, &mut s, &mut c);
        for (i, &x) in xs.iter().enumerate() {
            let (one_s, one_c) = sin_cos_deg(x);
            assert_eq!(s[i].to_bits(), one_s.to_bits(), "{x}");
            assert_eq!(c[i].to_bits(), one_c.to_bits(), "{x}");
        }
        // Beyond the exact reduction: libm's answer.
        let far = xs.iter().position(|&x| x == 1e13).unwrap();
        assert_eq!(s[far], 1e13f64.to_radians().sin());
        assert!(sin_cos_deg(f64::NAN).0.is_nan() && sin_cos_deg(f64::INFINITY).1.is_nan());
    }
}
