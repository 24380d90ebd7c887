//! Content filters HATE, INSULTS, SEXUAL, VIOLENCE and MISCONDUCT (English and
//! Japanese): one hashed character/word n-gram logistic regression per filter,
//! in the prompt-attack model's file format and features (`model.rs`,
//! `features.rs`), 2^17 f16 weights each, trained by
//! `scripts/train-content-filters.py` on small project-written data (figures
//! and limits in `CONTENT-FILTERS.md`, provenance in `data/PROVENANCE.md`).
//!
//! A text's score is the maximum of the whole text's score (only when it is at
//! most one window long after normalization) and each sentence's score
//! ([`segments`]): the models were trained on sentences, and a long window of
//! benign text drifts upward, so long documents are scored sentence by
//! sentence. Each model's header carries its LOW/MEDIUM/HIGH thresholds,
//! chosen on validation at 15% / 5% / 1% benign false positives. They are
//! lexical models: they catch the explicit wording of a category, not
//! context, sarcasm or intent.

use std::sync::OnceLock;

use sekisho_guard::classify::ClassifierError;
use sekisho_guard::config::{ContentFilterType, FilterStrength};
use sekisho_guard::{Classifier, ClassifierTask, ClassifierVerdict};

use crate::features::{for_each_feature, is_space, normalize};
use crate::model::LinearModel;

/// The content filters this module answers, in the order of [`ContentFilterClassifier::scores`].
pub const CONTENT_FILTERS: [ContentFilterType; 5] = [
    ContentFilterType::Hate,
    ContentFilterType::Insults,
    ContentFilterType::Sexual,
    ContentFilterType::Violence,
    ContentFilterType::Misconduct,
];

static BINS: [&[u8]; 5] = [
    include_bytes!("../models/content_hate.bin"),
    include_bytes!("../models/content_insults.bin"),
    include_bytes!("../models/content_sexual.bin"),
    include_bytes!("../models/content_violence.bin"),
    include_bytes!("../models/content_misconduct.bin"),
];

fn index(filter: ContentFilterType) -> Option<usize> {
    CONTENT_FILTERS.iter().position(|f| *f == filter)
}

fn models() -> &'static [Option<LinearModel>; 5] {
    static M: OnceLock<[Option<LinearModel>; 5]> = OnceLock::new();
    M.get_or_init(|| BINS.map(LinearModel::parse))
}

/// The embedded model of a content filter (`None` for `PROMPT_ATTACK`, which
/// has its own model, or if the embedded file is corrupt).
pub fn content_model(filter: ContentFilterType) -> Option<&'static LinearModel> {
    models()[index(filter)?].as_ref()
}

/// Sentences of `text` (byte ranges): a sentence ends after `。！？!?．` or a
/// newline, or after `.` followed by a white-space code point or the end of
/// the text; the rest after the last end is a sentence too. The same as
/// `segments` in `scripts/train-content-filters.py`.
pub fn segments(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let end = match c {
            '。' | '！' | '？' | '!' | '?' | '．' | '\n' => true,
            '.' => it.peek().is_none_or(|&(_, n)| is_space(n)),
            _ => false,
        };
        if end {
            let j = i + c.len_utf8();
            out.push(&text[start..j]);
            start = j;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// The content score of `text` under `model` (see the module docs).
pub fn content_score(model: &LinearModel, text: &str) -> f64 {
    let (norm, n) = normalize(text);
    let mut best = if n <= model.window {
        model.score_normalized(&norm, n)
    } else {
        0.0
    };
    let segs = segments(text);
    if segs.len() == 1 && n <= model.window {
        return best;
    }
    for s in segs {
        best = best.max(model.score(s));
    }
    best
}

/// The five models' weights side by side per bucket (zeros for a missing
/// model), built once; `None` unless every present model has the same
/// number of buckets.
fn interleaved(models: &[Option<&'static LinearModel>; 5]) -> Option<&'static [[i32; 5]]> {
    static TABLE: OnceLock<Option<Vec<[i32; 5]>>> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            let len = models.iter().flatten().next()?.weights().len();
            if models.iter().flatten().any(|m| m.weights().len() != len) {
                return None;
            }
            let mut table = vec![[0i32; 5]; len];
            for (k, m) in models.iter().enumerate() {
                if let Some(m) = m {
                    for (row, w) in table.iter_mut().zip(m.weights()) {
                        row[k] = *w;
                    }
                }
            }
            Some(table)
        })
        .as_deref()
}

/// [`content_score`] of every model at once: the text and each sentence are
/// normalized once, and models with the same feature configuration share
/// one feature pass per piece.
fn content_scores(models: &[Option<&'static LinearModel>; 5], text: &str) -> [Option<f64>; 5] {
    let mut best = models.map(|m| m.map(|_| 0.0f64));
    let Some(first) = models.iter().flatten().next() else {
        return best;
    };
    let shared = models
        .iter()
        .flatten()
        .all(|m| m.config == first.config && m.window == first.window);
    let interleaved = shared.then(|| interleaved(models)).flatten();
    let mut score_piece = |norm: &str, n: usize, only_if_fits: bool| {
        if only_if_fits && models.iter().flatten().all(|m| n > m.window) {
            return;
        }
        // A piece within one window (most sentences): one pass, one memory
        // access per feature for all models.
        if let Some(table) = interleaved
            && n > 0
            && n <= first.window
        {
            // Exact integer sums (units of 2^-24, see `model.rs`).
            let mut sums = [0i64; 5];
            let mut count = 0u64;
            for_each_feature(norm, &first.config, |_, f| {
                if let Some(row) = table.get(f.bucket as usize) {
                    let sign = if f.negative { -1 } else { 1 };
                    for (s, w) in sums.iter_mut().zip(row) {
                        *s += sign * i64::from(*w);
                    }
                }
                count += 1;
            });
            for ((b, m), sum) in best.iter_mut().zip(models).zip(sums) {
                if let (Some(b), Some(m)) = (b.as_mut(), m) {
                    *b = b.max(m.prob(sum, count));
                }
            }
            return;
        }
        let features = shared.then(|| {
            let mut v = Vec::new();
            for_each_feature(norm, &first.config, |p, f| v.push((p, f)));
            v
        });
        for (b, m) in best.iter_mut().zip(models) {
            let (Some(b), Some(m)) = (b.as_mut(), m) else {
                continue;
            };
            if only_if_fits && n > m.window {
                continue;
            }
            let s = match &features {
                Some(f) => m.score_features(n, f),
                None => m.score_normalized(norm, n),
            };
            *b = b.max(s);
        }
    };
    let segs = segments(text);
    if let [only] = segs[..] {
        // The text is one sentence: its score as a whole and as a
        // sentence are the same.
        let (norm, n) = normalize(only);
        score_piece(&norm, n, false);
        return best;
    }
    // Each sentence is scored as soon as it is normalized (the maximum does
    // not depend on the order). Normalizing never makes the whole shorter
    // than its sentences together (sentences end at punctuation, where
    // nothing composes), so the whole is normalized only when the sentences
    // leave it a chance to fit one window.
    let mut total = 0usize;
    for s in segs {
        let (norm, n) = normalize(s);
        score_piece(&norm, n, false);
        total += n;
    }
    if models.iter().flatten().any(|m| total <= m.window) {
        let (norm, n) = normalize(text);
        score_piece(&norm, n, true);
    }
    best
}

/// HATE, INSULTS, SEXUAL, VIOLENCE and MISCONDUCT; other tasks are errors.
#[derive(Debug, Clone, Copy)]
pub struct ContentFilterClassifier {
    models: [Option<&'static LinearModel>; 5],
}

impl ContentFilterClassifier {
    /// `None` only if every embedded model is corrupt.
    pub fn new() -> Option<Self> {
        let models = CONTENT_FILTERS.map(content_model);
        models
            .iter()
            .any(Option::is_some)
            .then_some(Self { models })
    }

    /// The filters with a usable model.
    pub fn filters(&self) -> impl Iterator<Item = ContentFilterType> + '_ {
        CONTENT_FILTERS
            .iter()
            .zip(self.models.iter())
            .filter(|(_, m)| m.is_some())
            .map(|(f, _)| *f)
    }

    fn model(&self, filter: ContentFilterType) -> Option<&'static LinearModel> {
        self.models[index(filter)?]
    }

    /// The probability that `text` belongs to `filter` (`None` for a filter
    /// this classifier does not answer).
    pub fn score(&self, filter: ContentFilterType, text: &str) -> Option<f64> {
        self.model(filter).map(|m| content_score(m, text))
    }

    /// The confidence for `filter` (`None` for a filter this classifier does
    /// not answer).
    pub fn confidence(&self, filter: ContentFilterType, text: &str) -> Option<FilterStrength> {
        let m = self.model(filter)?;
        Some(crate::confidence(content_score(m, text), &m.thresholds))
    }

    /// Scores of every filter with a model.
    pub fn scores(&self, text: &str) -> Vec<(ContentFilterType, f64)> {
        CONTENT_FILTERS
            .iter()
            .zip(self.all_scores(text))
            .filter_map(|(f, s)| s.map(|s| (*f, s)))
            .collect()
    }

    /// Every model's score of `text`, in one pass.
    fn all_scores(&self, text: &str) -> [Option<f64>; 5] {
        content_scores(&self.models, text)
    }
}

impl Classifier for ContentFilterClassifier {
    fn classify(&self, task: &ClassifierTask<'_>) -> Result<ClassifierVerdict, ClassifierError> {
        match task {
            ClassifierTask::Content { filter, text, .. } => self
                .confidence(*filter, text)
                .map(ClassifierVerdict::Confidence)
                .ok_or_else(|| {
                    ClassifierError(format!(
                        "the content-filter classifier does not answer {}",
                        filter.as_str()
                    ))
                }),
            _ => Err(ClassifierError(
                "the content-filter classifier only answers content tasks".into(),
            )),
        }
    }

    /// All the filters a guardrail asks about, from one pass over the text.
    fn classify_content(
        &self,
        filters: &[ContentFilterType],
        _source: sekisho_guard::Source,
        text: &str,
    ) -> Vec<Result<ClassifierVerdict, ClassifierError>> {
        let scores = self.all_scores(text);
        filters
            .iter()
            .map(|&filter| {
                let i = index(filter);
                match (i.and_then(|i| self.models[i]), i.and_then(|i| scores[i])) {
                    (Some(m), Some(score)) => Ok(ClassifierVerdict::Confidence(crate::confidence(
                        score,
                        &m.thresholds,
                    ))),
                    _ => Err(ClassifierError(format!(
                        "the content-filter classifier does not answer {}",
                        filter.as_str()
                    ))),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_scores_equal_each_model_alone() {
        let clf = ContentFilterClassifier::new().expect("models");
        let long = "The quarterly report shows steady growth. ".repeat(40)
            + "They are vermin and should be driven out. 本日は晴天なり。あいつらは虫けらだ！";
        // The agreement fixture's texts (scored by Python) and a few more.
        let fixture = include_str!("../tests/fixtures/content_agreement.jsonl");
        let mut texts: Vec<String> = fixture
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v.get("text")?.as_str().map(str::to_string))
            .collect();
        assert!(texts.len() > 200, "fixture texts: {}", texts.len());
        texts.extend(
            [
                "",
                "good morning",
                "I will hurt you.",
                "あの連中は劣っている。出ていけ。",
            ]
            .map(String::from),
        );
        texts.push(long);
        for text in texts.iter().map(String::as_str) {
            let together = content_scores(&clf.models, text);
            for (i, m) in clf.models.iter().enumerate() {
                let alone = m.map(|m| content_score(m, text));
                assert_eq!(together[i], alone, "{text:?} filter {i}");
            }
            for (f, s) in clf.scores(text) {
                assert_eq!(Some(s), together[index(f).unwrap()]);
            }
        }
    }
}
