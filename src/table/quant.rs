//! Score quantisation: one byte per neighbour, logarithmic.
use serde::{Deserialize, Serialize};

/// Octaves (powers of two) below `top` that the 255 levels cover.
const OCTAVES: f32 = 16.0;

/// Maps positive scores to `1..=255` on a log scale below `top` (level 255 =
/// `top`, each level ≈ 4.4 % apart); 0 means "no score". The edge sums the
/// dequantised values, so the builder evaluates exactly what is served.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quantiser {
    /// The largest score of the table.
    pub top: f32,
}

impl Quantiser {
    /// Quantiser whose top level is `top` (the table's largest score).
    pub fn new(top: f32) -> Self {
        Quantiser {
            top: if top.is_finite() && top > 0.0 {
                top
            } else {
                1.0
            },
        }
    }

    /// Level of `score`: 0 for non-positive scores, else `1..=255`.
    pub fn quantise(&self, score: f32) -> u8 {
        if score.is_nan() || score <= 0.0 {
            return 0;
        }
        let level = 255.0 + (score / self.top).log2() * 255.0 / OCTAVES;
        level.round().clamp(1.0, 255.0) as u8
    }

    /// Score represented by level `q` (0 for 0).
    pub fn dequantise(&self, q: u8) -> f32 {
        if q == 0 {
            return 0.0;
        }
        self.top * ((q as f32 - 255.0) * OCTAVES / 255.0).exp2()
    }
}

#[cfg(test)]
mod tests {
    use super::Quantiser;

    #[test]
    fn quantise_roundtrip_within_step_and_monotone() {
        let q = Quantiser::new(2.0);
        assert_eq!(q.quantise(0.0), 0);
        assert_eq!(q.quantise(-1.0), 0);
        assert_eq!(q.quantise(2.0), 255);
        assert_eq!(q.quantise(1e-12), 1);
        let mut last = 0;
        for i in 1..1000 {
            let s = 2.0 * (i as f32 / 1000.0);
            let l = q.quantise(s);
            assert!(l >= last);
            last = l;
            let back = q.dequantise(l);
            assert!((back / s - 1.0).abs() < 0.03, "{s} -> {l} -> {back}");
        }
    }
}
