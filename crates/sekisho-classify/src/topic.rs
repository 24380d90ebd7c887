//! Denied topics: TF-IDF similarity of hashed character n-grams between the
//! text and the topic's definition and examples (no per-topic training).
//!
//! `models/topic_idf.bin`: magic `SKTI`, version u16 (1), hash bits u8,
//! smallest and largest char n-gram (u8, u8), seed u64, window u32, stride u32
//! (window = 2 × stride), IDF scale f32, then 2^bits bytes: `idf = byte / scale`,
//! the smoothed inverse document frequency `ln((N+1)/(df+1)) + 1` of each
//! bucket over the training texts.
//!
//! Each reference (the definition and each example) is the L2-normalized vector
//! of `Σ idf` per bucket over its n-grams. A window of the text scores
//! `Σ ref[b]·idf[b] / √(Σ idf[b]²)` over its n-gram occurrences; the text's
//! score is the maximum over windows (two consecutive blocks of `stride` code
//! points) and references. Linear in the length of the text.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::features::{FeatureConfig, for_each_feature, normalize};
use crate::model::{f32_at, u16_at, u32_at, u64_at};

const HEADER: usize = 29;

/// Buckets are already hashes: use them as they are.
#[derive(Default)]
struct BucketHasher(u64);

impl Hasher for BucketHasher {
    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.0 = u64::from(i);
    }
}

type BucketMap<V> = HashMap<u32, V, BuildHasherDefault<BucketHasher>>;

/// The embedded IDF table and the topic feature configuration.
#[derive(Clone)]
pub struct TopicModel {
    pub config: FeatureConfig,
    pub window: usize,
    pub stride: usize,
    /// IDF per bucket as stored (one byte: 256 KiB, which stays in cache),
    /// read through `levels` (the 256 values `q / scale`), so each lookup
    /// gives exactly the value the stored byte means.
    idf: Vec<u8>,
    levels: [f64; 256],
}

impl std::fmt::Debug for TopicModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicModel")
            .field("config", &self.config)
            .field("window", &self.window)
            .finish()
    }
}

/// The references of one topic, compiled.
#[derive(Debug, Clone)]
pub struct CompiledTopic {
    /// bucket → weights, one per reference (`refs` of them), flattened.
    weights: BucketMap<u32>,
    /// One bit per bucket, set for the buckets in `weights`: most of a
    /// text's n-grams are in no reference, and the bit answers that
    /// without probing the map.
    present: Vec<u64>,
    rows: Vec<f64>,
    refs: usize,
}

impl CompiledTopic {
    #[inline(always)]
    fn row(&self, bucket: u32) -> Option<u32> {
        let bit = self.present.get((bucket >> 6) as usize)? >> (bucket & 63) & 1;
        if bit == 0 {
            return None;
        }
        self.weights.get(&bucket).copied()
    }
}

impl TopicModel {
    pub fn parse(b: &[u8]) -> Option<Self> {
        if b.get(0..4)? != b"SKTI" || u16_at(b, 4)? != 1 {
            return None;
        }
        let config = FeatureConfig {
            hash_bits: *b.get(6)?,
            char_min: *b.get(7)?,
            char_max: *b.get(8)?,
            word_max: 0,
            seed: u64_at(b, 9)?,
        };
        if !(1..=30).contains(&config.hash_bits) || config.char_max > 8 || config.char_min == 0 {
            return None;
        }
        let window = usize::try_from(u32_at(b, 17)?).ok()?;
        let stride = usize::try_from(u32_at(b, 21)?).ok()?;
        let scale = f64::from(f32_at(b, 25)?);
        if stride == 0 || window != 2 * stride || scale <= 0.0 {
            return None;
        }
        if b.len() != HEADER + (1usize << config.hash_bits) {
            return None;
        }
        let idf = b[HEADER..].to_vec();
        let levels = std::array::from_fn(|q| f64::from(q as u8) / scale);
        Some(Self {
            config,
            window,
            stride,
            idf,
            levels,
        })
    }

    fn idf(&self, bucket: u32) -> f64 {
        self.idf
            .get(bucket as usize)
            .map_or(0.0, |&q| self.levels[usize::from(q)])
    }

    /// Compiles the references (definition and examples) of a topic.
    pub fn compile(&self, references: &[&str]) -> CompiledTopic {
        let refs = references.len();
        let mut weights: BucketMap<u32> = BucketMap::default();
        let mut rows: Vec<f64> = Vec::new();
        for (k, r) in references.iter().enumerate() {
            let (norm, _) = normalize(r);
            let mut counts: BucketMap<f64> = BucketMap::default();
            for_each_feature(&norm, &self.config, |_, f| {
                *counts.entry(f.bucket).or_insert(0.0) += self.idf(f.bucket);
            });
            let l2 = counts.values().map(|v| v * v).sum::<f64>().sqrt();
            if l2 <= 0.0 {
                continue;
            }
            for (&bucket, &v) in &counts {
                let row = *weights.entry(bucket).or_insert_with(|| {
                    rows.extend(std::iter::repeat_n(0.0, refs));
                    u32::try_from(rows.len() / refs.max(1) - 1).unwrap_or(u32::MAX)
                });
                if let Some(slot) = rows.get_mut(row as usize * refs + k) {
                    *slot = v / l2;
                }
            }
        }
        let mut present = vec![0u64; (1usize << self.config.hash_bits).div_ceil(64)];
        for &bucket in weights.keys() {
            if let Some(word) = present.get_mut((bucket >> 6) as usize) {
                *word |= 1 << (bucket & 63);
            }
        }
        CompiledTopic {
            weights,
            present,
            rows,
            refs,
        }
    }

    /// The text's similarity to the topic (0 when either side has no n-grams).
    pub fn score(&self, topic: &CompiledTopic, text: &str) -> f64 {
        let (norm, n) = normalize(text);
        if n == 0 || topic.refs == 0 || topic.weights.is_empty() {
            return 0.0;
        }
        let refs = topic.refs;
        let nblocks = if n <= self.window {
            1
        } else {
            n.div_ceil(self.stride)
        };
        let stride = if n <= self.window {
            usize::MAX
        } else {
            self.stride
        };
        // per block: Σ idf² then one Σ ref·idf per reference. Topic features
        // are char n-grams only, which come in order of position, so each
        // block is filled in one stretch: its Σ idf² stays in a register
        // (`idf2`) and is stored when the next block starts, which adds the
        // same terms in the same order as summing in place.
        let mut blocks = vec![0.0f64; nblocks * (refs + 1)];
        let mut block = 0usize;
        let mut block_end = stride;
        let mut idf2 = 0.0f64;
        for_each_feature(&norm, &self.config, |pos, f| {
            while pos >= block_end {
                if let Some(d) = blocks.get_mut(block * (refs + 1)) {
                    *d = idf2;
                }
                idf2 = 0.0;
                block += 1;
                block_end = block_end.saturating_add(stride);
            }
            let idf = self.idf(f.bucket);
            idf2 += idf * idf;
            if let Some(row) = topic.row(f.bucket) {
                let base = block * (refs + 1);
                let r0 = row as usize * refs;
                for k in 0..refs {
                    let rw = topic.rows.get(r0 + k).copied().unwrap_or(0.0);
                    if rw != 0.0
                        && let Some(s) = blocks.get_mut(base + 1 + k)
                    {
                        *s += rw * idf;
                    }
                }
            }
        });
        if let Some(d) = blocks.get_mut(block * (refs + 1)) {
            *d = idf2;
        }
        let window_score = |parts: &[&[f64]]| -> f64 {
            let den: f64 = parts.iter().map(|p| p[0]).sum();
            if den <= 0.0 {
                return 0.0;
            }
            let den = den.sqrt();
            (0..refs)
                .map(|k| parts.iter().map(|p| p[1 + k]).sum::<f64>() / den)
                .fold(0.0, f64::max)
        };
        let chunks: Vec<&[f64]> = blocks.chunks_exact(refs + 1).collect();
        if chunks.len() == 1 {
            return window_score(&chunks);
        }
        chunks.windows(2).map(window_score).fold(0.0, f64::max)
    }
}
