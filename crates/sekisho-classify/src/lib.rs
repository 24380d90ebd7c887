//! Embedded guardrail classifiers for `sekisho-guard`: pure (no I/O), weights
//! compiled in with `include_bytes!`, trained by
//! `scripts/train-guard-classifiers.py` (figures and limits in `EVALUATION.md`,
//! data provenance in `data/PROVENANCE.md`).
//!
//! * `PROMPT_ATTACK`: a hashed character/word n-gram logistic regression,
//!   English and Japanese ([`PromptAttackClassifier`]).
//! * Denied topics: TF-IDF character n-gram similarity to the topic's
//!   definition and examples ([`TopicClassifier`]).
//! * Contextual grounding and relevance: lexical support ([`grounding`]).
//! * HATE, INSULTS, SEXUAL, VIOLENCE, MISCONDUCT: one hashed n-gram logistic
//!   regression per filter, English and Japanese, trained by
//!   `scripts/train-content-filters.py` on small project-written data
//!   ([`ContentFilterClassifier`]; figures and limits in `CONTENT-FILTERS.md`).
//!   Lexical: they catch explicit wording, not context, sarcasm or intent.
#![forbid(unsafe_code)]

pub mod content;
pub mod features;
pub mod grounding;
pub mod model;
pub mod topic;
mod topic_threshold;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use sekisho_guard::classify::ClassifierError;
use sekisho_guard::config::{ContentFilterType, FilterStrength};
use sekisho_guard::{Classifier, ClassifierTask, ClassifierVerdict, Classifiers};

pub use content::{CONTENT_FILTERS, ContentFilterClassifier, content_model, content_score};
pub use model::{LinearModel, Thresholds};
pub use topic::{CompiledTopic, TopicModel};

static PROMPT_ATTACK_BIN: &[u8] = include_bytes!("../models/prompt_attack.bin");
static TOPIC_IDF_BIN: &[u8] = include_bytes!("../models/topic_idf.bin");

/// The similarity threshold above which a text is on a denied topic.
pub const TOPIC_THRESHOLD: f64 = topic_threshold::TOPIC_THRESHOLD;

/// The embedded prompt-attack model (`None` only if the embedded file is corrupt).
pub fn prompt_attack_model() -> Option<&'static LinearModel> {
    static M: OnceLock<Option<LinearModel>> = OnceLock::new();
    M.get_or_init(|| LinearModel::parse(PROMPT_ATTACK_BIN))
        .as_ref()
}

/// The embedded denied-topic model (`None` only if the embedded file is corrupt).
pub fn topic_model() -> Option<&'static TopicModel> {
    static M: OnceLock<Option<TopicModel>> = OnceLock::new();
    M.get_or_init(|| TopicModel::parse(TOPIC_IDF_BIN)).as_ref()
}

/// Maps a probability to a confidence with the model's thresholds.
pub fn confidence(score: f64, t: &Thresholds) -> FilterStrength {
    t.confidence(score)
}

/// `PROMPT_ATTACK` content filter.
#[derive(Debug, Clone, Copy)]
pub struct PromptAttackClassifier {
    model: &'static LinearModel,
}

impl PromptAttackClassifier {
    pub fn new() -> Option<Self> {
        prompt_attack_model().map(|model| Self { model })
    }

    /// The probability that `text` is a prompt attack.
    pub fn score(&self, text: &str) -> f64 {
        self.model.score(text)
    }

    pub fn confidence(&self, text: &str) -> FilterStrength {
        confidence(self.score(text), &self.model.thresholds)
    }
}

impl Classifier for PromptAttackClassifier {
    fn classify(&self, task: &ClassifierTask<'_>) -> Result<ClassifierVerdict, ClassifierError> {
        match task {
            ClassifierTask::Content {
                filter: ContentFilterType::PromptAttack,
                text,
                ..
            } => Ok(ClassifierVerdict::Confidence(self.confidence(text))),
            ClassifierTask::Content { filter, .. } => Err(ClassifierError(format!(
                "no embedded classifier for content filter {}",
                filter.as_str()
            ))),
            _ => Err(ClassifierError(
                "the prompt-attack classifier only answers content tasks".into(),
            )),
        }
    }
}

/// Denied topics from a name, a definition and examples.
#[derive(Debug)]
pub struct TopicClassifier {
    model: &'static TopicModel,
    threshold: f64,
    /// The topics compiled lately, by their references (definition first,
    /// then the examples): a guardrail asks about the same topics on every
    /// request, and compiling them costs as much as scoring a prompt.
    compiled: Mutex<Vec<(Vec<String>, Arc<CompiledTopic>)>>,
}

/// How many compiled topics [`TopicClassifier`] keeps.
const COMPILED_TOPICS: usize = 64;

impl TopicClassifier {
    pub fn new() -> Option<Self> {
        topic_model().map(|model| Self {
            model,
            threshold: TOPIC_THRESHOLD,
            compiled: Mutex::new(Vec::new()),
        })
    }

    /// Similarity of `text` to the topic (its definition and examples).
    pub fn score(&self, definition: &str, examples: &[String], text: &str) -> f64 {
        let topic = self.compiled(definition, examples);
        self.model.score(&topic, text)
    }

    /// The compiled topic, from the cache or compiled now (outside the lock).
    fn compiled(&self, definition: &str, examples: &[String]) -> Arc<CompiledTopic> {
        let same = |refs: &[String]| {
            refs.split_first()
                .is_some_and(|(d, ex)| d == definition && ex == examples)
        };
        // A poisoned lock only means another thread panicked while holding
        // it; the cache holds whole entries, so it is still sound.
        let lock = || self.compiled.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, topic)) = lock().iter().find(|(refs, _)| same(refs)) {
            return Arc::clone(topic);
        }
        let mut refs: Vec<&str> = Vec::with_capacity(examples.len() + 1);
        refs.push(definition);
        refs.extend(examples.iter().map(String::as_str));
        let topic = Arc::new(self.model.compile(&refs));
        let mut cache = lock();
        if !cache.iter().any(|(refs, _)| same(refs)) {
            if cache.len() >= COMPILED_TOPICS {
                cache.remove(0);
            }
            let key = std::iter::once(definition.to_owned())
                .chain(examples.iter().cloned())
                .collect();
            cache.push((key, Arc::clone(&topic)));
        }
        topic
    }

    pub fn threshold(&self) -> f64 {
        self.threshold
    }
}

impl Classifier for TopicClassifier {
    fn classify(&self, task: &ClassifierTask<'_>) -> Result<ClassifierVerdict, ClassifierError> {
        match task {
            ClassifierTask::Topic {
                definition,
                examples,
                text,
                ..
            } => Ok(ClassifierVerdict::Detected(
                self.score(definition, examples, text) >= self.threshold,
            )),
            _ => Err(ClassifierError(
                "the topic classifier only answers topic tasks".into(),
            )),
        }
    }
}

/// The embedded classifiers: every content filter (`PROMPT_ATTACK`, HATE,
/// INSULTS, SEXUAL, VIOLENCE, MISCONDUCT), denied topics and grounding. A
/// filter whose embedded model fails to parse stays absent, so the engine
/// reports it unavailable (and fails closed) instead of passing unchecked content.
pub fn embedded() -> Classifiers {
    let mut content: BTreeMap<ContentFilterType, Arc<dyn Classifier>> = BTreeMap::new();
    if let Some(c) = PromptAttackClassifier::new() {
        content.insert(ContentFilterType::PromptAttack, Arc::new(c));
    }
    if let Some(c) = ContentFilterClassifier::new() {
        let c: Arc<dyn Classifier> = Arc::new(c);
        for f in CONTENT_FILTERS {
            if content_model(f).is_some() {
                content.insert(f, Arc::clone(&c));
            }
        }
    }
    let topics = TopicClassifier::new().map(|c| Arc::new(c) as Arc<dyn Classifier>);
    Classifiers {
        content,
        topics,
        grounding: Some(Arc::new(grounding::GroundingClassifier)),
    }
}

/// A small deterministic generator for randomized tests (xorshift64).
#[cfg(test)]
pub(crate) fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_topics_are_reused_by_their_references_only() {
        let cached = TopicClassifier::new().expect("topic model");
        let text = "どの銘柄を買えばいいですか？ Which stocks should I buy?";
        let fresh = |definition: &str, examples: &[String]| {
            TopicClassifier::new()
                .expect("topic model")
                .score(definition, examples, text)
        };
        let stocks = vec!["どの株を買えばいいですか？".to_owned()];
        let recipes = vec!["How do I bake bread?".to_owned()];
        for _ in 0..2 {
            for (d, ex) in [
                ("投資助言", &stocks),
                ("投資助言", &recipes),
                ("料理", &stocks),
                ("料理", &recipes),
            ] {
                assert_eq!(cached.score(d, ex, text), fresh(d, ex), "{d} {ex:?}");
            }
        }
        assert_eq!(cached.compiled.lock().expect("lock").len(), 4);
        for i in 0..(COMPILED_TOPICS + 10) {
            cached.score(&format!("topic {i}"), &stocks, text);
        }
        assert_eq!(cached.compiled.lock().expect("lock").len(), COMPILED_TOPICS);
        assert_eq!(
            cached.score("投資助言", &stocks, text),
            fresh("投資助言", &stocks)
        );
    }

    /// Any text, long or short, valid Unicode from anywhere: every score is
    /// a probability and nothing panics.
    #[test]
    fn any_text_scores_a_probability() {
        let pa = PromptAttackClassifier::new().expect("model");
        let content = ContentFilterClassifier::new().expect("models");
        let topic = TopicClassifier::new().expect("topic model");
        let examples = vec!["どの株を買えばいいですか？".to_owned()];
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        for round in 0..300 {
            let len = if round % 50 == 0 {
                3_000
            } else {
                (next() % 40) as usize
            };
            let text: String = (0..len)
                .map(|_| match next() % 3 {
                    0 => char::from_u32((next() % 0x11_0000) as u32).unwrap_or('\u{fffd}'),
                    1 => char::from(b' ' + (next() % 95) as u8),
                    _ => char::from_u32(0x3041 + (next() % 0x6000) as u32).unwrap_or('あ'),
                })
                .collect();
            let mut scores = vec![pa.score(&text), topic.score("投資助言", &examples, &text)];
            scores.extend(content.scores(&text).into_iter().map(|(_, s)| s));
            for s in scores {
                assert!((0.0..=1.0).contains(&s), "{s} for {text:?}");
            }
        }
    }
}
