//! Distance-only port of Karney's inverse geodesic on WGS84.
//!
//! This is GeographicLib's `geod_inverse` (C. F. F. Karney, *Algorithms for
//! geodesics*, J. Geodesy 87, 2013; `geodesic.c`, series order 6) reduced to
//! what the distance `s12` needs:
//!
//! - the ellipsoid's constants and the `A3`/`C3` coefficient polynomials are
//!   `const`s, evaluated at compile time;
//! - no azimuths, reduced length, scales or area are returned, so the final
//!   `Lengths` step evaluates only the `A1`/`C1` series;
//! - Newton's derivative (the reduced length) is computed only when another
//!   iteration follows, not on the iteration that converges (GeographicLib
//!   computes it and throws it away);
//! - a point's reduced-latitude terms can be prepared once ([`Prepared`]) and
//!   reused for every facility it is measured to.
//!
//! Results agree with `geographiclib-rs` within a nanometre up to Lombardy
//! scale and 1e-14 relative beyond (the tests compare a million random
//! pairs of every kind).

use std::f64::consts::PI;

/// WGS84 semi-major axis, metres.
const A: f64 = 6_378_137.0;
/// WGS84 flattening.
const F: f64 = 1.0 / 298.257_223_563;
const F1: f64 = 1.0 - F;
const E2: f64 = F * (2.0 - F);
const EP2: f64 = E2 / (F1 * F1);
/// Third flattening.
const N: f64 = F / (2.0 - F);
/// Semi-minor axis, metres.
const B: f64 = A * F1;

/// `sqrt(f64::MIN_POSITIVE)` = 2^-511.
const TINY: f64 = f64::from_bits(512 << 52);
const TOL0: f64 = f64::EPSILON;
const TOL1: f64 = 200.0 * TOL0;
/// `sqrt(TOL0)` = 2^-26.
const TOL2: f64 = 1.0 / 67_108_864.0;
const TOLB: f64 = TOL0 * TOL2;
const XTHRESH: f64 = 1000.0 * TOL2;
/// Short lines below this (in radians of arc, roughly) need no iteration.
const ETOL2: f64 = 0.1 * TOL2 / const_sqrt(F * (1.0 - F / 2.0) / 2.0);
const MAXIT1: u32 = 20;
const MAXIT2: u32 = MAXIT1 + 53 + 10;

/// Square root by Newton's method, for constants (`f64::sqrt` is not `const`).
const fn const_sqrt(x: f64) -> f64 {
    let mut r = if x > 1.0 { x } else { 1.0 };
    let mut i = 0;
    while i < 100 {
        r = 0.5 * (r + x / r);
        i += 1;
    }
    r
}

/// Horner evaluation of `p[o..=o + n]` at `x` (highest degree first).
const fn polyval(n: usize, p: &[f64], o: usize, x: f64) -> f64 {
    let mut y = p[o];
    let mut i = 1;
    while i <= n {
        y = y * x + p[o + i];
        i += 1;
    }
    y
}

const COEFF_A3: [f64; 18] = [
    -3.0, 128.0, -2.0, -3.0, 64.0, -1.0, -3.0, -1.0, 16.0, 3.0, -1.0, -2.0, 8.0, 1.0, -1.0, 2.0,
    1.0, 1.0,
];

const COEFF_C3: [f64; 45] = [
    3.0, 128.0, 2.0, 5.0, 128.0, -1.0, 3.0, 3.0, 64.0, -1.0, 0.0, 1.0, 8.0, -1.0, 1.0, 4.0, 5.0,
    256.0, 1.0, 3.0, 128.0, -3.0, -2.0, 3.0, 64.0, 1.0, -3.0, 2.0, 32.0, 7.0, 512.0, -10.0, 9.0,
    384.0, 5.0, -9.0, 5.0, 192.0, 7.0, 512.0, -14.0, 7.0, 512.0, 21.0, 2560.0,
];

/// Coefficients of `A3` as a polynomial in `eps` (GeographicLib `A3coeff`).
const A3X: [f64; 6] = {
    let mut out = [0.0; 6];
    let (mut o, mut k, mut j) = (0, 0, 6);
    while j > 0 {
        j -= 1;
        let m = if j < 6 - j - 1 { j } else { 6 - j - 1 };
        out[k] = polyval(m, &COEFF_A3, o, N) / COEFF_A3[o + m + 1];
        k += 1;
        o += m + 2;
    }
    out
};

/// Coefficients of the `C3` series (GeographicLib `C3coeff`).
const C3X: [f64; 15] = {
    let mut out = [0.0; 15];
    let (mut o, mut k) = (0, 0);
    let mut l = 1;
    while l < 6 {
        let mut j = 6;
        while j > l {
            j -= 1;
            let m = if j < 6 - j - 1 { j } else { 6 - j - 1 };
            out[k] = polyval(m, &COEFF_C3, o, N) / COEFF_C3[o + m + 1];
            k += 1;
            o += m + 2;
        }
        l += 1;
    }
    out
};

#[inline(always)]
fn sq(x: f64) -> f64 {
    x * x
}

/// libm's `hypot`, as GeographicLib uses: Newton's method stops at
/// `|Δλ| < ε`, about a nanometre on the ground, so rounding differently
/// (`sqrt(x² + y²)`) would move results by that much. (An inlined copy of
/// glibc's algorithm measured no faster.)
#[inline(always)]
fn hypot(x: f64, y: f64) -> f64 {
    x.hypot(y)
}

/// Normalises `(x, y)` to a unit vector.
#[inline(always)]
fn norm(x: f64, y: f64) -> (f64, f64) {
    let r = hypot(x, y);
    (x / r, y / r)
}

/// Error-free sum: `(s, t)` with `s = fl(u + v)` and `s + t = u + v`.
#[inline(always)]
fn sum(u: f64, v: f64) -> (f64, f64) {
    let s = u + v;
    let up = s - v;
    let vpp = s - up;
    let up = up - u;
    let vpp = vpp - v;
    (s, -(up + vpp))
}

/// Rounds tiny angles so that `90 - x` etc. are exact (GeographicLib `AngRound`).
#[inline(always)]
fn ang_round(x: f64) -> f64 {
    const Z: f64 = 1.0 / 16.0;
    let mut y = x.abs();
    if y < Z {
        y = Z - (Z - y);
    }
    if x == 0.0 {
        0.0
    } else {
        y.copysign(x)
    }
}

/// Reduces an angle to [-180, 180] degrees (GeographicLib `AngNormalize`).
#[inline(always)]
fn ang_normalize(x: f64) -> f64 {
    let y = if x.abs() <= 180.0 {
        x
    } else if x.is_finite() {
        let z = x % 360.0;
        if z < -180.0 {
            z + 360.0
        } else if z < 180.0 {
            z
        } else {
            z - 360.0
        }
    } else {
        f64::NAN
    };
    if y == -180.0 {
        180.0
    } else {
        y
    }
}

/// `y - x` in degrees, reduced to [-180, 180], with its rounding error
/// (GeographicLib `AngDiff`).
#[inline(always)]
fn ang_diff(x: f64, y: f64) -> (f64, f64) {
    let (d, t) = sum(ang_normalize(-x), ang_normalize(y));
    let d = ang_normalize(d);
    if d == 180.0 && t > 0.0 {
        sum(-180.0, t)
    } else {
        sum(d, t)
    }
}

/// Sine and cosine of an angle in degrees, exact at multiples of 90°.
/// The argument is reduced to [-45°, 45°] by an exact subtraction; it must
/// lie in [-180, 180] (or be NaN).
#[inline(always)]
fn sincosd(x: f64) -> (f64, f64) {
    let q = (x * (1.0 / 90.0)).round_ties_even();
    let r = (x - 90.0 * q).to_radians();
    let (s, c) = r.sin_cos();
    let (mut s, c) = match (q as i64) & 3 {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    };
    if s == 0.0 {
        s = s.copysign(x);
    }
    (s, c + 0.0)
}

#[inline(always)]
fn a3f(eps: f64) -> f64 {
    polyval(5, &A3X, 0, eps)
}

/// `C3` coefficients at `eps`; index 0 unused.
#[inline(always)]
fn c3f(eps: f64) -> [f64; 6] {
    let mut c = [0.0; 6];
    let mut mult = 1.0;
    let mut o = 0;
    let mut l = 1;
    while l < 6 {
        let m = 6 - l - 1;
        mult *= eps;
        c[l] = mult * polyval(m, &C3X, o, eps);
        o += m + 1;
        l += 1;
    }
    c
}

/// `A1 - 1` (GeographicLib `A1m1f`).
#[inline(always)]
fn a1m1f(eps: f64) -> f64 {
    let e2 = sq(eps);
    let t = (((e2 + 4.0) * e2 + 64.0) * e2) / 256.0;
    (t + eps) / (1.0 - eps)
}

/// `A2 - 1` (GeographicLib `A2m1f`).
#[inline(always)]
fn a2m1f(eps: f64) -> f64 {
    let e2 = sq(eps);
    let t = (((-11.0 * e2 - 28.0) * e2 - 192.0) * e2) / 256.0;
    (t - eps) / (1.0 + eps)
}

/// `C1` coefficients at `eps` (GeographicLib `C1f`); index 0 unused.
#[inline(always)]
fn c1f(eps: f64) -> [f64; 7] {
    let e2 = sq(eps);
    let mut d = eps;
    let mut c = [0.0; 7];
    c[1] = d * ((6.0 - e2) * e2 - 16.0) / 32.0;
    d *= eps;
    c[2] = d * ((64.0 - 9.0 * e2) * e2 - 128.0) / 2048.0;
    d *= eps;
    c[3] = d * (9.0 * e2 - 16.0) / 768.0;
    d *= eps;
    c[4] = d * (3.0 * e2 - 5.0) / 512.0;
    d *= eps;
    c[5] = d * -7.0 / 1280.0;
    d *= eps;
    c[6] = d * -7.0 / 2048.0;
    c
}

/// `C2` coefficients at `eps` (GeographicLib `C2f`); index 0 unused.
#[inline(always)]
fn c2f(eps: f64) -> [f64; 7] {
    let e2 = sq(eps);
    let mut d = eps;
    let mut c = [0.0; 7];
    c[1] = d * ((e2 + 2.0) * e2 + 16.0) / 32.0;
    d *= eps;
    c[2] = d * ((35.0 * e2 + 64.0) * e2 + 384.0) / 2048.0;
    d *= eps;
    c[3] = d * (15.0 * e2 + 80.0) / 768.0;
    d *= eps;
    c[4] = d * (7.0 * e2 + 35.0) / 512.0;
    d *= eps;
    c[5] = d * 63.0 / 1280.0;
    d *= eps;
    c[6] = d * 77.0 / 2048.0;
    c
}

/// `sum c[k] sin(2 k x)` for k = 1..=6 by Clenshaw summation, from `sin x`
/// and `cos x` (GeographicLib `SinCosSeries` with `sinp`).
#[inline(always)]
fn sin_series7(s: f64, c: f64, k: &[f64; 7]) -> f64 {
    let ar = 2.0 * (c - s) * (c + s);
    let y1 = k[6];
    let y0 = ar * y1 + k[5];
    let y1 = ar * y0 - y1 + k[4];
    let y0 = ar * y1 - y0 + k[3];
    let y1 = ar * y0 - y1 + k[2];
    let y0 = ar * y1 - y0 + k[1];
    2.0 * s * c * y0
}

/// As [`sin_series7`] for k = 1..=5.
#[inline(always)]
fn sin_series6(s: f64, c: f64, k: &[f64; 6]) -> f64 {
    let ar = 2.0 * (c - s) * (c + s);
    let y0 = k[5];
    let y1 = ar * y0 + k[4];
    let y0 = ar * y1 - y0 + k[3];
    let y1 = ar * y0 - y1 + k[2];
    let y0 = ar * y1 - y0 + k[1];
    2.0 * s * c * y0
}

/// Solves the astroid problem (GeographicLib `Astroid`) for near-antipodal
/// starting azimuths.
fn astroid(x: f64, y: f64) -> f64 {
    let p = sq(x);
    let q = sq(y);
    let r = (p + q - 1.0) / 6.0;
    if q == 0.0 && r <= 0.0 {
        return 0.0;
    }
    let s = p * q / 4.0;
    let r2 = sq(r);
    let r3 = r * r2;
    let disc = s * (s + 2.0 * r3);
    let mut u = r;
    if disc >= 0.0 {
        let mut t3 = s + r3;
        t3 += if t3 < 0.0 { -disc.sqrt() } else { disc.sqrt() };
        let t = t3.cbrt();
        u += t + if t != 0.0 { r2 / t } else { 0.0 };
    } else {
        let ang = (-disc).sqrt().atan2(-(s + r3));
        u += 2.0 * r * (ang / 3.0).cos();
    }
    let v = (sq(u) + q).sqrt();
    let uv = if u < 0.0 { q / (v - u) } else { u + v };
    let w = (uv - q) / (2.0 * v);
    uv / ((uv + sq(w)).sqrt() + w)
}

/// A point with its reduced-latitude terms computed once, for measuring it
/// to many others.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Prepared {
    lon: f64,
    /// Latitude after GeographicLib's `LatFix` and `AngRound`.
    lat: f64,
    /// Sine and cosine of the reduced latitude β, and `sqrt(1 + e'² sin²β)`.
    sbet: f64,
    cbet: f64,
    dn: f64,
}

impl Prepared {
    /// Prepares the point (`lat`, `lon`) in degrees.
    #[inline]
    pub(crate) fn new(lon: f64, lat: f64) -> Self {
        let lat = ang_round(if lat.abs() > 90.0 { f64::NAN } else { lat });
        Self::from_sincos(lon, lat, sincosd(lat))
    }

    /// Prepares the point and also returns its surface normal (the unit
    /// vector of geodetic latitude), sharing the trigonometry.
    #[inline]
    pub(crate) fn with_normal(lon: f64, lat: f64) -> (Self, [f64; 3]) {
        let lat = ang_round(if lat.abs() > 90.0 { f64::NAN } else { lat });
        let (s, c) = sincosd(lat);
        let (sl, cl) = sincosd(ang_normalize(lon));
        (Self::from_sincos(lon, lat, (s, c)), [c * cl, c * sl, s])
    }

    #[inline(always)]
    fn from_sincos(lon: f64, lat: f64, (s, c): (f64, f64)) -> Self {
        let (sbet, cbet) = norm(F1 * s, c);
        let cbet = cbet.max(TINY);
        Prepared {
            lon,
            lat,
            sbet,
            cbet,
            dn: (1.0 + EP2 * sq(sbet)).sqrt(),
        }
    }
}

/// Geodesic distance in metres between two prepared points on WGS84.
#[inline]
pub(crate) fn inverse_distance_m(p1: &Prepared, p2: &Prepared) -> f64 {
    let (lon12, lon12s) = ang_diff(p1.lon, p2.lon);
    // Make longitude difference positive.
    let lonsign = if lon12 >= 0.0 { 1.0 } else { -1.0 };
    let lon12 = lonsign * ang_round(lon12);
    let lon12s = ang_round((180.0 - lon12) - lonsign * lon12s);
    let lam12 = lon12.to_radians();
    let (slam12, clam12) = if lon12 > 90.0 {
        let (s, c) = sincosd(lon12s);
        (s, -c)
    } else {
        sincosd(lon12)
    };

    // Swap points so that |lat1| >= |lat2|, then make lat1 <= 0.
    let (p1, p2) = if p1.lat.abs() < p2.lat.abs() {
        (p2, p1)
    } else {
        (p1, p2)
    };
    let latsign = if p1.lat < 0.0 { 1.0 } else { -1.0 };
    let (sbet1, cbet1, dn1) = (latsign * p1.sbet, p1.cbet, p1.dn);
    let (mut sbet2, mut cbet2, dn2) = (latsign * p2.sbet, p2.cbet, p2.dn);
    let lat1 = latsign * p1.lat;

    // Make the symmetries of the problem exact: equal |β| gives equal cos β.
    if cbet1 < -sbet1 {
        if cbet2 == cbet1 {
            sbet2 = sbet1.copysign(sbet2);
        }
    } else if sbet2.abs() == -sbet1 {
        cbet2 = cbet1;
    }

    if lat1 == -90.0 || slam12 == 0.0 {
        // Along a meridian (or from a pole): α1 = λ12, α2 = 0.
        let calp1 = clam12;
        let (ssig1, csig1) = (sbet1, calp1 * cbet1);
        let (ssig2, csig2) = (sbet2, cbet2);
        let sig12 = (csig1 * ssig2 - ssig1 * csig2)
            .max(0.0)
            .atan2(csig1 * csig2 + ssig1 * ssig2);
        let a1 = a1m1f(N);
        let c1 = c1f(N);
        let b1 = sin_series7(ssig2, csig2, &c1) - sin_series7(ssig1, csig1, &c1);
        let s12b = (1.0 + a1) * (sig12 + b1);
        let shortest = sig12 < 1.0 || {
            // The reduced length tells whether the meridian is shortest.
            let a2 = a2m1f(N);
            let c2 = c2f(N);
            let b2 = sin_series7(ssig2, csig2, &c2) - sin_series7(ssig1, csig1, &c2);
            let m0x = a1 - a2;
            let j12 = m0x * sig12 + ((1.0 + a1) * b1 - (1.0 + a2) * b2);
            let m12b = dn2 * (csig1 * ssig2) - dn1 * (ssig1 * csig2) - csig1 * csig2 * j12;
            m12b >= 0.0
        };
        if shortest {
            if sig12 < 3.0 * TINY {
                return 0.0;
            }
            return 0.0 + s12b * B;
        }
        // Not shortest (nearly antipodal points on a meridian): solve the
        // general problem below.
    }

    if sbet1 == 0.0 && lon12s >= F * 180.0 {
        // Along the equator.
        return 0.0 + A * lam12;
    }

    // ---- InverseStart: a first guess of α1 (or the answer, for short lines).
    let sbet12 = sbet2 * cbet1 - cbet2 * sbet1;
    let cbet12 = cbet2 * cbet1 + sbet2 * sbet1;
    let sbet12a = sbet2 * cbet1 + cbet2 * sbet1;
    let shortline = cbet12 >= 0.0 && sbet12 < 0.5 && cbet2 * lam12 < 0.5;
    let (mut somg12, mut comg12, dnm) = if shortline {
        let mut sbetm2 = sq(sbet1 + sbet2);
        sbetm2 /= sbetm2 + sq(cbet1 + cbet2);
        let dnm = (1.0 + EP2 * sbetm2).sqrt();
        let omg12 = lam12 / (F1 * dnm);
        let (s, c) = omg12.sin_cos();
        (s, c, dnm)
    } else {
        (slam12, clam12, f64::NAN)
    };
    let mut salp1 = cbet2 * somg12;
    let mut calp1 = if comg12 >= 0.0 {
        sbet12 + cbet2 * sbet1 * sq(somg12) / (1.0 + comg12)
    } else {
        sbet12a - cbet2 * sbet1 * sq(somg12) / (1.0 - comg12)
    };
    let ssig12 = hypot(salp1, calp1);
    let csig12 = sbet1 * sbet2 + cbet1 * cbet2 * comg12;
    if shortline && ssig12 < ETOL2 {
        // Really short: the spherical solution with a mean radius is exact.
        let sig12 = ssig12.atan2(csig12);
        return 0.0 + sig12 * B * dnm;
    }
    // |(salp1, calp1)|, for normalising it below unless it changes.
    let mut length = ssig12;
    if !(N.abs() > 0.1 || csig12 >= 0.0 || ssig12 >= 6.0 * N.abs() * PI * sq(cbet1)) {
        // Nearly antipodal: scale to the astroid problem.
        let lam12x = (-slam12).atan2(-clam12);
        let k2 = sq(sbet1) * EP2;
        let eps = k2 / (2.0 * (1.0 + (1.0 + k2).sqrt()) + k2);
        let lamscale = F * cbet1 * a3f(eps) * PI;
        let betscale = lamscale * cbet1;
        let x = lam12x / lamscale;
        let y = sbet12a / betscale;
        if y > -TOL1 && x > -1.0 - XTHRESH {
            salp1 = (-x).min(1.0);
            calp1 = -(1.0 - sq(salp1)).sqrt();
        } else {
            let k = astroid(x, y);
            let omg12a = lamscale * (-x * k / (1.0 + k));
            let (s, c) = omg12a.sin_cos();
            somg12 = s;
            comg12 = -c;
            salp1 = cbet2 * somg12;
            calp1 = sbet12a - cbet2 * sbet1 * sq(somg12) / (1.0 - comg12);
        }
        length = hypot(salp1, calp1);
    }
    if salp1 > 0.0 || salp1.is_nan() {
        (salp1, calp1) = (salp1 / length, calp1 / length);
    } else {
        salp1 = 1.0;
        calp1 = 0.0;
    }

    // ---- Newton's method on α1, with bisection as a safeguard.
    let (mut salp1a, mut calp1a, mut salp1b, mut calp1b) = (TINY, 1.0, TINY, -1.0);
    let (mut tripn, mut tripb) = (false, false);
    let mut numit = 0;
    let l = loop {
        let l = lambda12(sbet1, cbet1, sbet2, cbet2, salp1, calp1, slam12, clam12);
        let v = l.lam12;
        // (NaN stops too.)
        let converged = v.abs() < if tripn { 8.0 } else { 1.0 } * TOL0 || v.is_nan();
        if numit + 1 >= MAXIT2 || tripb || converged {
            break l;
        }
        if v > 0.0 && (numit > MAXIT1 || calp1 / salp1 > calp1b / salp1b) {
            salp1b = salp1;
            calp1b = calp1;
        } else if v < 0.0 && (numit > MAXIT1 || calp1 / salp1 < calp1a / salp1a) {
            salp1a = salp1;
            calp1a = calp1;
        }
        numit += 1;
        if numit <= MAXIT1 {
            let dv = if l.calp2 == 0.0 {
                -2.0 * F1 * dn1 / sbet1
            } else {
                // dλ/dα1 = m12 / (a cos α2 cos β2) (Karney 2013, eq. 38).
                let a1 = a1m1f(l.eps);
                let c1 = c1f(l.eps);
                let a2 = a2m1f(l.eps);
                let c2 = c2f(l.eps);
                let m0x = a1 - a2;
                let (a1, a2) = (a1 + 1.0, a2 + 1.0);
                let mut c = [0.0; 7];
                for k in 1..7 {
                    c[k] = a1 * c1[k] - a2 * c2[k];
                }
                let j12 = m0x * l.sig12
                    + (sin_series7(l.ssig2, l.csig2, &c) - sin_series7(l.ssig1, l.csig1, &c));
                let m12b =
                    dn2 * (l.csig1 * l.ssig2) - dn1 * (l.ssig1 * l.csig2) - l.csig1 * l.csig2 * j12;
                m12b * (F1 / (l.calp2 * cbet2))
            };
            if dv > 0.0 {
                let dalp1 = -v / dv;
                let (sdalp1, cdalp1) = dalp1.sin_cos();
                let nsalp1 = salp1 * cdalp1 + calp1 * sdalp1;
                if nsalp1 > 0.0 && dalp1.abs() < PI {
                    calp1 = calp1 * cdalp1 - salp1 * sdalp1;
                    salp1 = nsalp1;
                    (salp1, calp1) = norm(salp1, calp1);
                    tripn = v.abs() <= 16.0 * TOL0;
                    continue;
                }
            }
        }
        salp1 = (salp1a + salp1b) / 2.0;
        calp1 = (calp1a + calp1b) / 2.0;
        (salp1, calp1) = norm(salp1, calp1);
        tripn = false;
        tripb = (salp1a - salp1).abs() + (calp1a - calp1) < TOLB
            || (salp1 - salp1b).abs() + (calp1 - calp1b) < TOLB;
    };

    // ---- Lengths: s12 = b A1 (σ12 + I1(σ2) - I1(σ1)).
    let a1 = a1m1f(l.eps);
    let c1 = c1f(l.eps);
    let b1 = sin_series7(l.ssig2, l.csig2, &c1) - sin_series7(l.ssig1, l.csig1, &c1);
    0.0 + B * ((1.0 + a1) * (l.sig12 + b1))
}

/// What one evaluation of λ12(α1) leaves for the next step.
struct Lambda {
    /// λ12(α1) minus the target λ12.
    lam12: f64,
    calp2: f64,
    sig12: f64,
    ssig1: f64,
    csig1: f64,
    ssig2: f64,
    csig2: f64,
    eps: f64,
}

/// GeographicLib's `Lambda12` without the derivative, which the caller
/// computes only when it iterates again.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn lambda12(
    sbet1: f64,
    cbet1: f64,
    sbet2: f64,
    cbet2: f64,
    salp1: f64,
    mut calp1: f64,
    slam120: f64,
    clam120: f64,
) -> Lambda {
    if sbet1 == 0.0 && calp1 == 0.0 {
        // Break degeneracy of equatorial line.
        calp1 = -TINY;
    }
    let salp0 = salp1 * cbet1;
    let calp0 = hypot(calp1, salp1 * sbet1);
    let somg1 = salp0 * sbet1;
    let comg1 = calp1 * cbet1;
    let (ssig1, csig1) = norm(sbet1, calp1 * cbet1);
    let calp2 = if cbet2 != cbet1 || sbet2.abs() != -sbet1 {
        (sq(calp1 * cbet1)
            + if cbet1 < -sbet1 {
                (cbet2 - cbet1) * (cbet1 + cbet2)
            } else {
                (sbet1 - sbet2) * (sbet1 + sbet2)
            })
        .sqrt()
            / cbet2
    } else {
        calp1.abs()
    };
    let somg2 = salp0 * sbet2;
    let comg2 = calp2 * cbet2;
    let (ssig2, csig2) = norm(sbet2, calp2 * cbet2);
    let sig12 = (csig1 * ssig2 - ssig1 * csig2)
        .max(0.0)
        .atan2(csig1 * csig2 + ssig1 * ssig2);
    let somg12 = (comg1 * somg2 - somg1 * comg2).max(0.0);
    let comg12 = comg1 * comg2 + somg1 * somg2;
    let eta = (somg12 * clam120 - comg12 * slam120).atan2(comg12 * clam120 + somg12 * slam120);
    let k2 = sq(calp0) * EP2;
    let eps = k2 / (2.0 * (1.0 + (1.0 + k2).sqrt()) + k2);
    let c3 = c3f(eps);
    let b312 = sin_series6(ssig2, csig2, &c3) - sin_series6(ssig1, csig1, &c3);
    let domg12 = -F * a3f(eps) * salp0 * (sig12 + b312);
    Lambda {
        lam12: eta + domg12,
        calp2,
        sig12,
        ssig1,
        csig1,
        ssig2,
        csig2,
        eps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geographiclib_rs::{Geodesic, InverseGeodesic};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn ours(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
        inverse_distance_m(&Prepared::new(lon1, lat1), &Prepared::new(lon2, lat2))
    }

    #[test]
    fn constants_match_geographiclib_rs() {
        let g = Geodesic::wgs84();
        assert_eq!(F, g.f);
        assert_eq!(B, g._b);
        assert_eq!(EP2, g._ep2);
        assert_eq!(TINY, g.tiny_);
        // A3(eps) and C3 at a typical eps, against the crate's own.
        let eps = 0.0012;
        assert!((a3f(eps) - g._A3f(eps)).abs() < 1e-16);
        let mut c = [0.0; 6];
        g._C3f(eps, &mut c);
        let ours = c3f(eps);
        for k in 1..6 {
            assert!(
                (ours[k] - c[k]).abs() <= 1e-18 + 1e-15 * c[k].abs(),
                "C3[{k}]"
            );
        }
    }

    #[test]
    fn sincosd_is_exact_at_multiples_of_ninety_degrees() {
        assert_eq!(sincosd(0.0), (0.0, 1.0));
        assert_eq!(sincosd(90.0), (1.0, 0.0));
        assert_eq!(sincosd(-90.0), (-1.0, 0.0));
        assert_eq!(sincosd(180.0), (0.0, -1.0));
        assert_eq!(sincosd(-180.0).1, -1.0);
        let (s, c) = sincosd(30.0);
        assert!((s - 0.5).abs() < 2e-16 && (c - 0.75f64.sqrt()).abs() < 2e-16);
    }

    /// Random pairs of one kind: `gen` draws (lat1, lon1, lat2, lon2).
    fn compare(
        name: &str,
        n: usize,
        seed: u64,
        abs_tol_m: f64,
        rel_tol: f64,
        mut gen: impl FnMut(&mut ChaCha8Rng) -> (f64, f64, f64, f64),
    ) {
        let g = Geodesic::wgs84();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut worst = (0.0f64, (0.0, 0.0, 0.0, 0.0), 0.0, 0.0);
        for _ in 0..n {
            let (lat1, lon1, lat2, lon2) = gen(&mut rng);
            let want: f64 = g.inverse(lat1, lon1, lat2, lon2);
            let got = ours(lat1, lon1, lat2, lon2);
            let err = (got - want).abs();
            let excess = if err == 0.0 {
                0.0
            } else {
                err / (abs_tol_m + rel_tol * want)
            };
            if excess > worst.0 || excess.is_nan() {
                worst = (excess, (lat1, lon1, lat2, lon2), got, want);
            }
        }
        assert!(
            worst.0 <= 1.0,
            "{name}: worst at {:?}: got {} want {} (err {:e})",
            worst.1,
            worst.2,
            worst.3,
            (worst.2 - worst.3).abs()
        );
    }

    fn lat(rng: &mut ChaCha8Rng) -> f64 {
        rng.random_range(-90.0..=90.0)
    }
    fn lon(rng: &mut ChaCha8Rng) -> f64 {
        rng.random_range(-180.0..=180.0)
    }

    #[test]
    fn short_lines_agree_with_geographiclib_to_a_nanometre() {
        // Up to ~10 km anywhere, including near the poles and the date line.
        compare("short", 300_000, 1, 1e-9, 0.0, |r| {
            let (la, lo) = (r.random_range(-89.9..89.9), lon(r));
            let d = [1e-6, 1e-4, 1e-3, 0.01, 0.1][r.random_range(0..5)];
            (
                la,
                lo,
                (la + r.random_range(-d..d)).clamp(-90.0, 90.0),
                lo + r.random_range(-d..d),
            )
        });
    }

    #[test]
    fn lombardy_scale_lines_agree_with_geographiclib_to_a_nanometre() {
        compare("lombardy", 300_000, 2, 1e-9, 0.0, |r| {
            (
                r.random_range(44.6..46.7),
                r.random_range(8.4..11.5),
                r.random_range(44.6..46.7),
                r.random_range(8.4..11.5),
            )
        });
    }

    #[test]
    fn long_lines_agree_with_geographiclib() {
        compare("long", 250_000, 3, 1e-9, 1e-14, |r| {
            (lat(r), lon(r), lat(r), lon(r))
        });
    }

    #[test]
    fn near_antipodal_lines_agree_with_geographiclib() {
        compare("antipodal", 100_000, 4, 1e-9, 1e-14, |r| {
            let (la, lo) = (lat(r), lon(r));
            let d = [1e-6, 1e-3, 0.1, 1.0, 5.0][r.random_range(0..5)];
            let lo2 = lo + 180.0 + r.random_range(-d..d);
            (
                la,
                lo,
                (-la + r.random_range(-d..d)).clamp(-90.0, 90.0),
                if lo2 > 180.0 { lo2 - 360.0 } else { lo2 },
            )
        });
    }

    #[test]
    fn meridional_equatorial_and_polar_lines_agree_with_geographiclib() {
        compare("meridional", 20_000, 5, 1e-9, 1e-14, |r| {
            let lo = lon(r);
            let lo2 = if r.random_bool(0.5) {
                lo
            } else {
                ang_normalize(lo + 180.0)
            };
            (lat(r), lo, lat(r), lo2)
        });
        compare("equatorial", 20_000, 6, 1e-9, 1e-14, |r| {
            (0.0, lon(r), 0.0, lon(r))
        });
        compare("near-equatorial", 20_000, 7, 1e-9, 1e-14, |r| {
            (
                r.random_range(-1e-3..1e-3),
                lon(r),
                r.random_range(-1e-3..1e-3),
                lon(r),
            )
        });
        compare("polar", 20_000, 8, 1e-9, 1e-14, |r| {
            let p: f64 = if r.random_bool(0.5) { 90.0 } else { -90.0 };
            let other = if r.random_bool(0.3) {
                p - p.signum() * r.random_range(0.0..1e-3)
            } else {
                lat(r)
            };
            (p, lon(r), other, lon(r))
        });
        compare("identical", 1_000, 9, 0.0, 0.0, |r| {
            let (la, lo) = (lat(r), lon(r));
            (la, lo, la, lo)
        });
    }
}
