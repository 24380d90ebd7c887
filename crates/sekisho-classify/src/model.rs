//! The linear model file (`models/*.bin`) and windowed scoring.
//!
//! File format, all integers and floats little-endian:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `SKCL` |
//! | 4 | 2 | format version (1) |
//! | 6 | 2 | model kind (1 = hashed-n-gram logistic regression) |
//! | 8 | 1 | hash bits (bucket count = 2^bits) |
//! | 9 | 1 | smallest char n-gram |
//! | 10 | 1 | largest char n-gram |
//! | 11 | 1 | largest word n-gram (0, 1 or 2) |
//! | 12 | 8 | hash seed (u64) |
//! | 20 | 4 | window, in code points (u32) |
//! | 24 | 4 | stride, in code points (u32, window = 2 × stride) |
//! | 28 | 4 | bias (f32) |
//! | 32 | 12 | LOW, MEDIUM, HIGH thresholds on the probability (3 × f32) |
//! | 44 | 4 | weight count (u32, = 2^bits) |
//! | 48 | 2 × count | weights (IEEE binary16, finite, magnitude below 128) |
//!
//! Every binary16 value is a whole number of units of 2^-24, so the weights
//! are kept as such integers and a window's sum is an exact integer, the
//! same in any order of addition. It is also what the training script's
//! `float64` running sum gives: each partial sum is a multiple of 2^-24
//! below 2^29 in magnitude (at most [`MAX_WINDOW`] × 10 features of
//! magnitude below 2^7), which `float64` holds exactly. Exact sums let the
//! scorer keep them in registers instead of a chain through memory.

use crate::features::{Feature, FeatureConfig, for_each_feature, normalize};

const HEADER: usize = 48;

/// The largest window a model file may declare, in code points.
pub const MAX_WINDOW: usize = 1 << 16;

/// 2^24: weights are stored as whole numbers of 2^-24.
const UNITS: f64 = 16_777_216.0;

/// Confidence thresholds on the model's probability.
pub type Thresholds = sekisho_guard::classify::ConfidenceThresholds;

/// A hashed-n-gram logistic regression.
#[derive(Clone)]
pub struct LinearModel {
    pub config: FeatureConfig,
    pub window: usize,
    pub stride: usize,
    pub bias: f64,
    pub thresholds: Thresholds,
    /// Weight per bucket in units of 2^-24 (see the module docs).
    weights: Vec<i32>,
}

impl std::fmt::Debug for LinearModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinearModel")
            .field("config", &self.config)
            .field("window", &self.window)
            .field("bias", &self.bias)
            .field("thresholds", &self.thresholds)
            .field("weights", &self.weights.len())
            .finish()
    }
}

pub(crate) fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?))
}
pub(crate) fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}
pub(crate) fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?))
}
pub(crate) fn f32_at(b: &[u8], o: usize) -> Option<f32> {
    Some(f32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}

/// IEEE 754 binary16 to f32.
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let mant = u32::from(h & 0x3ff);
    if exp == 0 {
        // zero or subnormal: mant × 2^-24
        let v = mant as f32 * (1.0 / 16_777_216.0);
        if sign != 0 { -v } else { v }
    } else if exp == 0x1f {
        f32::from_bits(sign | 0x7f80_0000 | (mant << 13))
    } else {
        f32::from_bits(sign | ((exp + 112) << 23) | (mant << 13))
    }
}

/// A binary16 weight as a whole number of 2^-24 units; `None` for a value
/// that is not finite or not below 128 in magnitude.
fn f16_units(h: u16) -> Option<i32> {
    let exp = i32::from((h >> 10) & 0x1f);
    if exp >= 0x16 {
        // 2^(22-15) = 128 and above, infinities and NaN
        return None;
    }
    let mant = i32::from(h & 0x3ff);
    // value = mant × 2^-24 (subnormal) or (1024 + mant) × 2^(exp-25)
    let units = if exp == 0 {
        mant
    } else {
        (1024 + mant) << (exp - 1)
    };
    Some(if h >> 15 != 0 { -units } else { units })
}

pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

impl LinearModel {
    /// Parses a model file; `None` when it is malformed.
    pub fn parse(b: &[u8]) -> Option<Self> {
        if b.get(0..4)? != b"SKCL" || u16_at(b, 4)? != 1 || u16_at(b, 6)? != 1 {
            return None;
        }
        let config = FeatureConfig {
            hash_bits: *b.get(8)?,
            char_min: *b.get(9)?,
            char_max: *b.get(10)?,
            word_max: *b.get(11)?,
            seed: u64_at(b, 12)?,
        };
        if !(1..=30).contains(&config.hash_bits) || config.char_max > 8 || config.word_max > 2 {
            return None;
        }
        let window = usize::try_from(u32_at(b, 20)?).ok()?;
        let stride = usize::try_from(u32_at(b, 24)?).ok()?;
        if stride == 0 || window != 2 * stride || window > MAX_WINDOW {
            return None;
        }
        let bias = f64::from(f32_at(b, 28)?);
        let thresholds = Thresholds {
            low: f64::from(f32_at(b, 32)?),
            medium: f64::from(f32_at(b, 36)?),
            high: f64::from(f32_at(b, 40)?),
        };
        let n = usize::try_from(u32_at(b, 44)?).ok()?;
        if n != 1usize << config.hash_bits || b.len() != HEADER + 2 * n {
            return None;
        }
        let weights = b[HEADER..]
            .chunks_exact(2)
            .map(|c| f16_units(u16::from_le_bytes([c[0], c[1]])))
            .collect::<Option<Vec<i32>>>()?;
        Some(Self {
            config,
            window,
            stride,
            bias,
            thresholds,
            weights,
        })
    }

    /// The probability that `text` belongs to the positive class: the maximum
    /// over windows of `sigmoid(bias + Σ sign·w / √count)`; 0 for a text with
    /// no features. Linear in the length of `text`.
    pub fn score(&self, text: &str) -> f64 {
        let (norm, n) = normalize(text);
        self.score_normalized(&norm, n)
    }

    pub(crate) fn score_normalized(&self, norm: &str, n: usize) -> f64 {
        let mut acc = Accumulator::new(self, n);
        for_each_feature(norm, &self.config, |pos, f| acc.add(pos, f));
        acc.finish()
    }

    /// The score of a normalized text of `n` code points whose features
    /// (position, feature) were collected once with this model's
    /// configuration, so models sharing a configuration share the pass.
    pub(crate) fn score_features(&self, n: usize, features: &[(usize, Feature)]) -> f64 {
        let mut acc = Accumulator::new(self, n);
        for &(pos, f) in features {
            acc.add(pos, f);
        }
        acc.finish()
    }

    /// The weight per hash bucket, in units of 2^-24.
    pub(crate) fn weights(&self) -> &[i32] {
        &self.weights
    }

    /// The probability for a window whose features' weights sum to `sum`
    /// units of 2^-24.
    pub(crate) fn prob(&self, sum: i64, count: u64) -> f64 {
        if count == 0 {
            return 0.0;
        }
        // |sum| < 2^53: exact (see the module docs)
        sigmoid(self.bias + (sum as f64 / UNITS) / (count as f64).sqrt())
    }
}

/// Sums a model's feature weights: over the whole text when it fits one
/// window, else per block of `stride` code points, two blocks making a
/// window; the score is the highest window's probability. The block being
/// filled is kept apart (`current`), so the sum stays in a register; the
/// sums are exact integers, so a feature that comes back to an earlier block
/// (a word bigram is placed at its first word) adds up the same.
struct Accumulator<'m> {
    model: &'m LinearModel,
    n: usize,
    /// (block, sum, count) of the block being filled.
    current: (usize, i64, u64),
    blocks: Vec<(i64, u64)>,
    shift: Option<u32>,
}

impl<'m> Accumulator<'m> {
    fn new(model: &'m LinearModel, n: usize) -> Self {
        let windowed = n > model.window;
        Self {
            model,
            n,
            current: (0, 0, 0),
            blocks: if windowed {
                vec![(0, 0); n.div_ceil(model.stride)]
            } else {
                Vec::new()
            },
            shift: model
                .stride
                .is_power_of_two()
                .then(|| model.stride.trailing_zeros()),
        }
    }

    #[inline(always)]
    fn add(&mut self, pos: usize, f: Feature) {
        let w = i64::from(
            self.model
                .weights
                .get(f.bucket as usize)
                .copied()
                .unwrap_or(0),
        );
        let w = if f.negative { -w } else { w };
        let block = if self.blocks.is_empty() {
            0
        } else {
            match self.shift {
                Some(s) => pos >> s,
                None => pos / self.model.stride,
            }
        };
        if block != self.current.0 {
            self.flush();
            self.current = (block, 0, 0);
        }
        self.current.1 += w;
        self.current.2 += 1;
    }

    fn flush(&mut self) {
        let (block, sum, count) = self.current;
        if let Some(b) = self.blocks.get_mut(block) {
            b.0 += sum;
            b.1 += count;
        }
    }

    fn finish(mut self) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        if self.blocks.is_empty() {
            return self.model.prob(self.current.1, self.current.2);
        }
        self.flush();
        self.blocks
            .windows(2)
            .map(|p| self.model.prob(p[0].0 + p[1].0, p[0].1 + p[1].1))
            .fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_units_are_the_binary16_value_in_units_of_2_pow_minus_24() {
        let mut finite = 0;
        for h in 0..=u16::MAX {
            let v = f64::from(f16_to_f32(h));
            match f16_units(h) {
                Some(u) => {
                    assert_eq!(f64::from(u) / UNITS, v, "{h:#06x}");
                    finite += 1;
                }
                None => assert!(!v.is_finite() || v.abs() >= 128.0, "{h:#06x}"),
            }
        }
        // 2 signs × 22 exponents (0..=21) × 1024 mantissas
        assert_eq!(finite, 2 * 22 * 1024);
    }
}
