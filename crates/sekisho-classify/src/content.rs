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

use crate::features::{is_space, normalize};
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
        self.model(filter)
            .map(|m| crate::confidence(content_score(m, text), &m.thresholds))
    }

    /// Scores of every filter with a model.
    pub fn scores(&self, text: &str) -> Vec<(ContentFilterType, f64)> {
        CONTENT_FILTERS
            .iter()
            .zip(self.models.iter())
            .filter_map(|(f, m)| m.map(|m| (*f, content_score(m, text))))
            .collect()
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
}
