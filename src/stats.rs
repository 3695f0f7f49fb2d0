//! Statistics for the experiment report: per-arm totals, confidence intervals for
//! differences of proportions (Newcombe hybrid score, from Wilson intervals) and of
//! means (Welch), and the normal and Student-t quantiles they need.
//!
//! Pure `f64` code with no dependencies, so the worker, the CLI and the tests
//! compute exactly the same figures.

use serde::{Deserialize, Serialize};

/// Everything the report needs about one arm, summed over its enrolled orders.
///
/// Produced by [`crate::report::totals_from_records`] from exported rows or by the
/// D1 query [`crate::events::SELECT_ARM_TOTALS`]; both give identical values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ArmTotals {
    /// Enrolled (parent) orders.
    pub orders: u64,
    /// Enrolled orders whose page exposed the order value.
    pub orders_with_value: u64,
    /// Sum of those parent order values, minor units.
    pub primary_revenue_minor: i64,
    /// Impression events.
    pub impressions: u64,
    /// Orders with at least one impression.
    pub viewed_orders: u64,
    /// Click events.
    pub clicks: u64,
    /// Conversion lines (offered SKU bought), refunded ones excluded.
    pub conversions: u64,
    /// Orders with at least one conversion line.
    pub converted_orders: u64,
    /// Post-purchase (upsell) revenue, minor units, refunded lines excluded.
    pub upsell_revenue_minor: i64,
    /// Sum over orders of the square of each order's upsell revenue (minor units²).
    pub upsell_revenue_sq: f64,
    /// Upsell revenue of the orders that have a known order value, minor units.
    pub upsell_revenue_valued_minor: i64,
}

/// A point estimate with a two-sided confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Point estimate.
    pub estimate: f64,
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// Count, sum and sum of squares of a per-order quantity, for [`welch_diff`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanSample {
    /// Number of observations.
    pub n: u64,
    /// Sum of the values.
    pub sum: f64,
    /// Sum of the squared values.
    pub sum_sq: f64,
}

impl MeanSample {
    /// Sample mean (None for n = 0).
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }

    /// Unbiased sample variance (None for n < 2), clamped at 0 against rounding.
    pub fn variance(&self) -> Option<f64> {
        if self.n < 2 {
            return None;
        }
        let n = self.n as f64;
        let mean = self.sum / n;
        Some(((self.sum_sq - n * mean * mean) / (n - 1.0)).max(0.0))
    }
}

/// Quantile of the standard normal distribution (Wichura's AS 241, ~1e-16 relative).
pub fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() || p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q
            * (((((((2_509.080_928_730_122_7 * r + 33_430.575_583_588_13) * r
                + 67_265.770_927_008_7)
                * r
                + 45_921.953_931_549_87)
                * r
                + 13_731.693_765_509_46)
                * r
                + 1_971.590_950_306_551_4)
                * r
                + 133.141_667_891_784_38)
                * r
                + 3.387_132_872_796_366_5)
            / (((((((5_226.495_278_852_546 * r + 28_729.085_735_721_943) * r
                + 39_307.895_800_092_71)
                * r
                + 21_213.794_301_586_597)
                * r
                + 5_394.196_021_424_751)
                * r
                + 687.187_007_492_057_9)
                * r
                + 42.313_330_701_600_91)
                * r
                + 1.0);
    }
    let mut r = if q < 0.0 { p } else { 1.0 - p };
    r = (-r.ln()).sqrt();
    let val = if r <= 5.0 {
        r -= 1.6;
        (((((((7.745_450_142_783_414e-4 * r + 0.022_723_844_989_269_184) * r
            + 0.241_780_725_177_450_6)
            * r
            + 1.270_458_252_452_368_4)
            * r
            + 3.647_848_324_763_204_5)
            * r
            + 5.769_497_221_460_691)
            * r
            + 4.630_337_846_156_545)
            * r
            + 1.423_437_110_749_683_5)
            / (((((((1.050_750_071_644_416_9e-9 * r + 5.475_938_084_995_345e-4) * r
                + 0.015_198_666_563_616_457)
                * r
                + 0.148_103_976_427_480_08)
                * r
                + 0.689_767_334_985_1)
                * r
                + 1.676_384_830_183_803_8)
                * r
                + 2.053_191_626_637_759)
                * r
                + 1.0)
    } else {
        r -= 5.0;
        (((((((2.010_334_399_292_288_1e-7 * r + 2.711_555_568_743_487_6e-5) * r
            + 0.001_242_660_947_388_078_4)
            * r
            + 0.026_532_189_526_576_124)
            * r
            + 0.296_560_571_828_504_9)
            * r
            + 1.784_826_539_917_291_3)
            * r
            + 5.463_784_911_164_114)
            * r
            + 6.657_904_643_501_103)
            / (((((((2.044_263_103_389_939_7e-15 * r + 1.421_511_758_316_446e-7) * r
                + 1.846_318_317_510_054_8e-5)
                * r
                + 7.868_691_311_456_133e-4)
                * r
                + 0.014_875_361_290_850_615)
                * r
                + 0.136_929_880_922_735_8)
                * r
                + 0.599_832_206_555_888)
                * r
                + 1.0)
    };
    if q < 0.0 {
        -val
    } else {
        val
    }
}

/// CDF of the standard normal distribution (complementary error function by
/// Numerical Recipes' Chebyshev fit, relative error < 1.2e-7).
pub fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z);
    let erfc = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        1.0 - 0.5 * erfc
    } else {
        0.5 * erfc
    }
}

/// Orders per arm needed to detect attach rates `p1` vs `p2` with a two-sided test at
/// `alpha` and the given `power` (normal approximation, pooled variance under H0).
/// None when the rates are equal or outside (0, 1).
pub fn sample_size_two_proportions(p1: f64, p2: f64, alpha: f64, power: f64) -> Option<u64> {
    let valid = |p: f64| p > 0.0 && p < 1.0;
    if !valid(p1) || !valid(p2) || p1 == p2 || !valid(alpha) || !valid(power) {
        return None;
    }
    let za = normal_quantile(1.0 - alpha / 2.0);
    let zb = normal_quantile(power);
    let pb = (p1 + p2) / 2.0;
    let num = za * (2.0 * pb * (1.0 - pb)).sqrt() + zb * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    Some((num * num / ((p1 - p2) * (p1 - p2))).ceil() as u64)
}

/// Power of that test with `n` orders per arm (same approximation).
pub fn power_two_proportions(p1: f64, p2: f64, n: u64, alpha: f64) -> f64 {
    let za = normal_quantile(1.0 - alpha / 2.0);
    let pb = (p1 + p2) / 2.0;
    let se1 = (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    if se1 == 0.0 {
        return 0.0;
    }
    normal_cdf(((p1 - p2).abs() * (n as f64).sqrt() - za * (2.0 * pb * (1.0 - pb)).sqrt()) / se1)
}

/// Natural log of the gamma function for x > 0 (Lanczos, g = 7, ~1e-15).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Continued fraction for the regularised incomplete beta (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=500 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// Regularised incomplete beta function I_x(a, b).
fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, 1.0 - x) / b
    }
}

/// CDF of Student's t with `df` (> 0, need not be an integer) degrees of freedom.
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * inc_beta(df / 2.0, 0.5, df / (df + t * t));
    if t > 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// Quantile of Student's t with `df` degrees of freedom (bisection on the CDF to ~1e-12;
/// the normal quantile when `df` is infinite or above 1e7).
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    if !(df.is_finite()) || df > 1e7 {
        return normal_quantile(p);
    }
    if p.is_nan() || p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    if p < 0.5 {
        return -student_t_quantile(1.0 - p, df);
    }
    let mut lo = 0.0;
    let mut hi = normal_quantile(p).max(1.0);
    while student_t_cdf(hi, df) < p {
        lo = hi;
        hi *= 2.0;
        if hi > 1e12 {
            return f64::INFINITY;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if student_t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-13 * hi.max(1.0) {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// Wilson score interval for `x` successes in `n` trials at normal quantile `z`
/// (None for n = 0).
pub fn wilson(x: u64, n: u64, z: f64) -> Option<Interval> {
    if n == 0 || x > n {
        return None;
    }
    let (x, n) = (x as f64, n as f64);
    let p = x / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    Some(Interval {
        estimate: p,
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    })
}

/// Difference of proportions `x1/n1 − x2/n2` with Newcombe's hybrid score interval
/// (method 10 of Newcombe 1998), well behaved near 0 and 1 (None if either n is 0).
pub fn newcombe_diff(x1: u64, n1: u64, x2: u64, n2: u64, z: f64) -> Option<Interval> {
    let a = wilson(x1, n1, z)?;
    let b = wilson(x2, n2, z)?;
    let d = a.estimate - b.estimate;
    let low = d - ((a.estimate - a.low).powi(2) + (b.high - b.estimate).powi(2)).sqrt();
    let high = d + ((a.high - a.estimate).powi(2) + (b.estimate - b.low).powi(2)).sqrt();
    Some(Interval {
        estimate: d,
        low,
        high,
    })
}

/// Ratio of proportions `(x1/n1) / (x2/n2)` with the Katz log interval
/// (`ln RR ± z·sqrt(1/x1 − 1/n1 + 1/x2 − 1/n2)`); None when either count is 0.
pub fn ratio_log_ci(x1: u64, n1: u64, x2: u64, n2: u64, z: f64) -> Option<Interval> {
    if x1 == 0 || x2 == 0 || x1 > n1 || x2 > n2 {
        return None;
    }
    let (x1, n1, x2, n2) = (x1 as f64, n1 as f64, x2 as f64, n2 as f64);
    let rr = (x1 / n1) / (x2 / n2);
    let se = (1.0 / x1 - 1.0 / n1 + 1.0 / x2 - 1.0 / n2).max(0.0).sqrt();
    Some(Interval {
        estimate: rr,
        low: rr * (-z * se).exp(),
        high: rr * (z * se).exp(),
    })
}

/// Difference of means `mean(a) − mean(b)` with Welch's interval at level `1 − alpha`;
/// returns the interval and the Welch–Satterthwaite degrees of freedom (None if either
/// sample has fewer than 2 observations). Zero variance in both gives a point interval.
pub fn welch_diff(a: &MeanSample, b: &MeanSample, alpha: f64) -> Option<(Interval, f64)> {
    let (va, vb) = (a.variance()?, b.variance()?);
    let d = a.mean()? - b.mean()?;
    let (sa, sb) = (va / a.n as f64, vb / b.n as f64);
    let se2 = sa + sb;
    if se2 <= 0.0 {
        return Some((
            Interval {
                estimate: d,
                low: d,
                high: d,
            },
            f64::INFINITY,
        ));
    }
    let df = se2 * se2 / (sa * sa / (a.n as f64 - 1.0) + sb * sb / (b.n as f64 - 1.0));
    let t = student_t_quantile(1.0 - alpha / 2.0, df);
    let half = t * se2.sqrt();
    Some((
        Interval {
            estimate: d,
            low: d - half,
            high: d + half,
        },
        df,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1.0)
    }

    // Reference values from SciPy 1.17.1 (computed once, pasted):
    //   from scipy import stats
    //   stats.norm.ppf([0.975, 0.995, 0.5, 1e-10, 0.3])
    //   stats.t.ppf(0.975, [1, 2.5, 10, 123.4, 5000])
    //   stats.t.cdf(-1.7, 7.3)
    #[test]
    fn quantiles_match_scipy() {
        let norm = [
            (0.975, 1.959963984540054),
            (0.995, 2.5758293035489004),
            (0.5, 0.0),
            (1e-10, -6.361340902404056),
            (0.3, -0.5244005127080409),
        ];
        for (p, want) in norm {
            assert!(close(normal_quantile(p), want, 1e-12), "norm {p}");
        }
        let t = [
            (1.0, 12.706204736174694),
            (2.5, 3.5746548420036817),
            (10.0, 2.228138851986274),
            (123.4, 1.9793749463174197),
            (5000.0, 1.9604385517065073),
        ];
        for (df, want) in t {
            let got = student_t_quantile(0.975, df);
            assert!(close(got, want, 1e-9), "t df={df}: {got} vs {want}");
        }
        assert!(close(student_t_cdf(-1.7, 7.3), 0.0655826841765435, 1e-9));
    }

    // Python stdlib reference (statistics.NormalDist, written separately):
    //   N = NormalDist(); N.cdf(1.2345), N.cdf(-3.1)
    //   n = ((za*sqrt(2*pb*(1-pb)) + zb*sqrt(p1*(1-p1)+p2*(1-p2)))**2)/(p1-p2)**2
    //   power = N.cdf((abs(p1-p2)*sqrt(n) - za*sqrt(2*pb*(1-pb)))/sqrt(p1*(1-p1)+p2*(1-p2)))
    #[test]
    fn power_and_sample_size_match_reference() {
        assert!((normal_cdf(1.2345) - 0.8914916766373298).abs() < 2e-7);
        assert!((normal_cdf(-3.1) - 0.000967603213218371).abs() < 1e-9);
        assert!((normal_cdf(0.0) - 0.5).abs() < 2e-7);
        // 53210.301… and 15464.651… rounded up.
        assert_eq!(
            sample_size_two_proportions(0.033, 0.03, 0.05, 0.8),
            Some(53_211)
        );
        assert_eq!(
            sample_size_two_proportions(0.06, 0.05, 0.01, 0.9),
            Some(15_465)
        );
        assert_eq!(sample_size_two_proportions(0.05, 0.05, 0.05, 0.8), None);
        assert!(
            (power_two_proportions(0.033, 0.03, 20_000, 0.05) - 0.40423661903214664).abs() < 1e-6
        );
        assert!((power_two_proportions(0.06, 0.05, 1_000, 0.05) - 0.1636953676807188).abs() < 1e-6);
    }

    #[test]
    fn wilson_and_newcombe_edge_cases() {
        let w = wilson(0, 10, 1.959963984540054).unwrap();
        assert_eq!(w.low, 0.0);
        assert!(w.high > 0.0 && w.high < 0.4);
        assert!(wilson(1, 0, 1.96).is_none());
        let d = newcombe_diff(5, 100, 0, 100, 1.96).unwrap();
        assert!(d.low > 0.0 && d.estimate == 0.05);
    }

    #[test]
    fn welch_degenerate_cases() {
        let one = MeanSample {
            n: 1,
            sum: 3.0,
            sum_sq: 9.0,
        };
        let two = MeanSample {
            n: 2,
            sum: 4.0,
            sum_sq: 8.0,
        };
        assert!(welch_diff(&one, &two, 0.05).is_none());
        let (i, _) = welch_diff(&two, &two, 0.05).unwrap();
        assert_eq!((i.estimate, i.low, i.high), (0.0, 0.0, 0.0));
    }
}
