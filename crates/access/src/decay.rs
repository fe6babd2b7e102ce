//! Distance-decay functions (CONTRACT §6): the weight a facility at cost
//! `c` carries, in the metric's unit (metres, or seconds).

use bacino_core::{Error, Result};

/// A distance-decay function. Every variant is non-increasing in cost;
/// [`Decay::validate`] refuses parameters that would make one grow.
#[derive(Debug, Clone, PartialEq)]
pub enum Decay {
    /// 1 everywhere (within `max_cost`): the plain 2SFCA.
    Uniform,
    /// Step function: the weight of the smallest threshold ≥ cost, 0 beyond
    /// the last threshold. `(threshold, weight)`, thresholds increasing.
    Step(Vec<(f64, f64)>),
    /// exp(−c² / 2σ²), `sigma` in the metric's unit.
    Gaussian {
        /// σ, in the metric's unit.
        sigma: f64,
    },
    /// (max(c, min) / scale)^alpha, PySAL's `gravity(scale, alpha,
    /// min_dist)`: alpha is not negated, pass −1 for inverse distance.
    Gravity {
        /// The exponent (≤ 0).
        alpha: f64,
        /// Cost divided by this before the power (the metric's unit).
        scale: f64,
        /// Costs below this count as this (the metric's unit).
        min: f64,
    },
    /// 1 / (1 + exp((c − mid) / width)): a smooth step at `mid`.
    Logistic {
        /// Cost of weight ½ (the metric's unit).
        mid: f64,
        /// Width of the transition (the metric's unit), > 0.
        width: f64,
    },
}

impl Decay {
    /// The weight at cost `c` (≥ 0).
    #[inline]
    pub fn weight(&self, c: f64) -> f64 {
        let mut w = [c];
        self.weigh(&mut w);
        w[0]
    }

    /// Weighs squared costs in place (`c²` in, the weight of `c` out),
    /// returning true, when the decay is a function of the square of the
    /// cost (the Gaussian: `exp(−c²/2σ²)`), so that distances need no
    /// square root; false, touching nothing, otherwise.
    #[inline]
    pub fn weigh_squared(&self, c2: &mut [f64]) -> bool {
        match self {
            Decay::Gaussian { sigma } => {
                let k = -0.5 / (sigma * sigma);
                for x in c2 {
                    *x = crate::exp::exp(*x * k);
                }
                true
            }
            _ => false,
        }
    }

    /// Whether [`Decay::weigh_squared`] takes squared costs.
    pub fn of_square(&self) -> bool {
        matches!(self, Decay::Gaussian { .. })
    }

    /// Replaces each cost in `c` (≥ 0) by its weight: [`Decay::weight`]
    /// over a slice, each variant's constants worked out once.
    #[inline]
    pub fn weigh(&self, c: &mut [f64]) {
        match self {
            Decay::Uniform => c.fill(1.0),
            Decay::Step(steps) => {
                for x in c {
                    *x = steps
                        .iter()
                        .find(|(t, _)| *x <= *t)
                        .map_or(0.0, |&(_, w)| w);
                }
            }
            Decay::Gaussian { sigma } => {
                let k = -0.5 / (sigma * sigma);
                for x in c {
                    *x = crate::exp::exp(*x * *x * k);
                }
            }
            Decay::Gravity { alpha, scale, min } => {
                let (alpha, scale, min) = (*alpha, *scale, *min);
                // The usual exponents without `powf` (within an ulp of it).
                if alpha == -1.0 {
                    for x in c {
                        *x = 1.0 / (x.max(min) / scale);
                    }
                } else if alpha == -2.0 {
                    for x in c {
                        let r = x.max(min) / scale;
                        *x = 1.0 / (r * r);
                    }
                } else {
                    for x in c {
                        *x = (x.max(min) / scale).powf(alpha);
                    }
                }
            }
            Decay::Logistic { mid, width } => {
                for x in c {
                    *x = 1.0 / (1.0 + crate::exp::exp((*x - mid) / width));
                }
            }
        }
    }

    /// Where a piecewise-constant decay changes weight (none for the
    /// uniform one): between consecutive thresholds, and up to the first,
    /// the weight is that of the band's upper end. `None` for decays that
    /// vary continuously.
    pub fn thresholds(&self) -> Option<Vec<f64>> {
        match self {
            Decay::Uniform => Some(Vec::new()),
            Decay::Step(steps) => Some(steps.iter().map(|&(t, _)| t).collect()),
            _ => None,
        }
    }

    /// Checks the parameters, naming the one at fault: `weights`,
    /// `gaussian`, `gravity` or `logistic`.
    pub fn validate(&self) -> Result<()> {
        let bad = |p: &str, m: String| Err(Error::param(p, m));
        match self {
            Decay::Uniform => Ok(()),
            Decay::Step(steps) => {
                if steps.is_empty() {
                    return bad("weights", "expected at least one THRESHOLD:WEIGHT".into());
                }
                for (k, &(t, w)) in steps.iter().enumerate() {
                    if !(t.is_finite() && t > 0.0) {
                        return bad(
                            "weights",
                            format!("threshold {t} must be a positive number"),
                        );
                    }
                    if !(w.is_finite() && w >= 0.0) {
                        return bad("weights", format!("weight {w} must be a number ≥ 0"));
                    }
                    if k > 0 {
                        let (t0, w0) = steps[k - 1];
                        if t <= t0 {
                            return bad(
                                "weights",
                                format!("thresholds must increase ({t0} then {t})"),
                            );
                        }
                        if w > w0 {
                            return bad(
                                "weights",
                                format!(
                                    "a decay must not grow with cost: weight {w0} up to {t0} then {w} up to {t}"
                                ),
                            );
                        }
                    }
                }
                Ok(())
            }
            Decay::Gaussian { sigma } => {
                if sigma.is_finite() && *sigma > 0.0 {
                    Ok(())
                } else {
                    bad(
                        "gaussian",
                        format!("sigma must be a positive number, found {sigma}"),
                    )
                }
            }
            Decay::Gravity { alpha, scale, min } => {
                if !(alpha.is_finite() && *alpha <= 0.0) {
                    return bad(
                        "gravity",
                        format!(
                            "alpha must be ≤ 0 (PySAL's form, not negated: −1 is inverse distance), found {alpha}"
                        ),
                    );
                }
                if !(scale.is_finite() && *scale > 0.0) {
                    return bad(
                        "gravity",
                        format!("scale must be a positive number, found {scale}"),
                    );
                }
                if !(min.is_finite() && *min >= 0.0) {
                    return bad("gravity", format!("min must be a number ≥ 0, found {min}"));
                }
                if *min == 0.0 && *alpha < 0.0 {
                    return bad(
                        "gravity",
                        "min must be > 0 with a negative alpha (the weight at cost 0 would be infinite)"
                            .into(),
                    );
                }
                Ok(())
            }
            Decay::Logistic { mid, width } => {
                if !(mid.is_finite() && *mid >= 0.0) {
                    return bad("logistic", format!("mid must be a number ≥ 0, found {mid}"));
                }
                if !(width.is_finite() && *width > 0.0) {
                    return bad(
                        "logistic",
                        format!("width must be a positive number, found {width}"),
                    );
                }
                Ok(())
            }
        }
    }

    /// Parses `--weights 3000:1,6000:0.68,10000:0.22`.
    pub fn parse_steps(s: &str) -> Result<Decay> {
        let steps = s
            .split(',')
            .map(|part| {
                let (t, w) = part.split_once(':').ok_or_else(|| {
                    Error::param(
                        "weights",
                        format!(
                            "expected THRESHOLD:WEIGHT pairs separated by commas, found `{part}`"
                        ),
                    )
                })?;
                Ok((num("weights", t)?, num("weights", w)?))
            })
            .collect::<Result<Vec<_>>>()?;
        let d = Decay::Step(steps);
        d.validate()?;
        Ok(d)
    }

    /// Parses `--gaussian SIGMA`.
    pub fn parse_gaussian(s: &str) -> Result<Decay> {
        let d = Decay::Gaussian {
            sigma: num("gaussian", s)?,
        };
        d.validate()?;
        Ok(d)
    }

    /// Parses `--gravity ALPHA,SCALE,MIN`.
    pub fn parse_gravity(s: &str) -> Result<Decay> {
        let v = list("gravity", s, 3, "ALPHA,SCALE,MIN")?;
        let d = Decay::Gravity {
            alpha: v[0],
            scale: v[1],
            min: v[2],
        };
        d.validate()?;
        Ok(d)
    }

    /// Parses `--logistic MID,WIDTH`.
    pub fn parse_logistic(s: &str) -> Result<Decay> {
        let v = list("logistic", s, 2, "MID,WIDTH")?;
        let d = Decay::Logistic {
            mid: v[0],
            width: v[1],
        };
        d.validate()?;
        Ok(d)
    }

    /// The contract's short name: `uniform`, `step`, `gaussian`, `gravity`,
    /// `logistic`.
    pub fn name(&self) -> &'static str {
        match self {
            Decay::Uniform => "uniform",
            Decay::Step(_) => "step",
            Decay::Gaussian { .. } => "gaussian",
            Decay::Gravity { .. } => "gravity",
            Decay::Logistic { .. } => "logistic",
        }
    }
}

fn num(param: &str, s: &str) -> Result<f64> {
    let t = s.trim();
    t.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| Error::param(param, format!("expected a number, found `{t}`")))
}

fn list(param: &str, s: &str, n: usize, shape: &str) -> Result<Vec<f64>> {
    let v = s
        .split(',')
        .map(|x| num(param, x))
        .collect::<Result<Vec<f64>>>()?;
    if v.len() != n {
        return Err(Error::param(
            param,
            format!("expected {shape} ({n} numbers), found {} in `{s}`", v.len()),
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_takes_the_smallest_threshold_at_or_above_the_cost() {
        let d = Decay::parse_steps("10:1,20:0.68,30:0.22").unwrap();
        assert_eq!(d.weight(0.0), 1.0);
        assert_eq!(d.weight(10.0), 1.0);
        assert_eq!(d.weight(10.5), 0.68);
        assert_eq!(d.weight(30.0), 0.22);
        assert_eq!(d.weight(30.01), 0.0);
    }

    #[test]
    fn gravity_is_pysals_form() {
        let d = Decay::parse_gravity("-1,60,1").unwrap();
        assert_eq!(d.weight(120.0), 0.5);
        // Below MIN the cost counts as MIN.
        assert_eq!(d.weight(0.0), 60.0);
        let g = Decay::parse_gaussian("2").unwrap();
        assert!((g.weight(2.0) - (-0.5f64).exp()).abs() < 1e-15);
        let l = Decay::parse_logistic("100,10").unwrap();
        assert_eq!(l.weight(100.0), 0.5);
    }

    #[test]
    fn bad_decays_name_their_parameter() {
        let msg = |r: Result<Decay>| r.unwrap_err().to_string();
        assert!(msg(Decay::parse_steps("10:0.5,20:0.9")).contains("must not grow"));
        assert!(msg(Decay::parse_steps("20:1,10:0.5")).contains("must increase"));
        assert!(msg(Decay::parse_steps("10")).contains("THRESHOLD:WEIGHT"));
        assert!(msg(Decay::parse_steps("10:-1")).contains("≥ 0"));
        assert!(msg(Decay::parse_gaussian("0")).contains("gaussian"));
        assert!(msg(Decay::parse_gravity("1,60,1")).contains("alpha must be ≤ 0"));
        assert!(msg(Decay::parse_gravity("-1,60")).contains("ALPHA,SCALE,MIN"));
        assert!(msg(Decay::parse_gravity("-1,60,0")).contains("min must be > 0"));
        assert!(msg(Decay::parse_logistic("5,0")).contains("width"));
        assert!(msg(Decay::parse_gaussian("abc")).contains("expected a number"));
    }
}
