//! Walker's alias method: O(1) sampling from a fixed discrete distribution.

use super::rng::Rng;

/// A table that draws index `i` with probability `weights[i] / sum(weights)`.
#[derive(Clone, Debug)]
pub struct AliasTable {
    prob: Vec<f32>,
    alias: Vec<u32>,
}

impl AliasTable {
    /// Builds the table (Vose's stable variant). Weights must be finite,
    /// non-negative and not all zero.
    pub fn new(weights: &[f64]) -> Self {
        let n = weights.len();
        assert!(
            n > 0 && n <= u32::MAX as usize,
            "alias table of {n} entries"
        );
        let total: f64 = weights.iter().sum();
        assert!(
            total > 0.0 && total.is_finite(),
            "alias weights sum to {total}"
        );
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut prob = vec![1.0f32; n];
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&i| scaled[i] < 1.0);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            prob[s] = scaled[s] as f32;
            alias[s] = l as u32;
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // Leftovers are 1 up to rounding error.
        AliasTable { prob, alias }
    }

    /// Draws one index.
    #[inline]
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let r = rng.next_u64();
        let i = ((r as u32 as u64 * self.prob.len() as u64) >> 32) as usize;
        let u = (r >> 40) as f32 * (1.0 / (1u32 << 24) as f32);
        if u < self.prob[i] {
            i
        } else {
            self.alias[i] as usize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_follow_weights() {
        let w = [1.0, 0.0, 3.0, 6.0];
        let t = AliasTable::new(&w);
        let mut rng = Rng::new(11);
        let mut counts = [0u32; 4];
        let n = 200_000;
        for _ in 0..n {
            counts[t.sample(&mut rng)] += 1;
        }
        assert_eq!(counts[1], 0);
        for (c, wi) in counts.iter().zip(w) {
            let expect = wi / 10.0;
            let got = *c as f64 / n as f64;
            assert!((got - expect).abs() < 0.005, "{counts:?}");
        }
    }
}
