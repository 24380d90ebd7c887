//! The extension point for model-based filters (content filters, prompt
//! attack, denied topics, contextual grounding). This crate ships no
//! classifier; the policy compiler asks a `Classifiers` registry for one per
//! configured filter, and a filter with none is reported unavailable so the
//! caller (and `apply`, which blocks) fails closed instead of silently
//! passing content it never checked.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::config::{ContentFilterType, FilterStrength, GroundingFilterType};
use crate::response::Source;

/// What a classifier is asked.
#[derive(Debug, Clone, Copy)]
pub enum ClassifierTask<'a> {
    /// Content filter or prompt attack: how confident is the classifier that
    /// `text` belongs to `filter`?
    Content {
        filter: ContentFilterType,
        source: Source,
        text: &'a str,
    },
    /// Denied topic: does `text` fall under the topic?
    Topic {
        name: &'a str,
        definition: &'a str,
        examples: &'a [String],
        source: Source,
        text: &'a str,
    },
    /// Contextual grounding or relevance score of `text` (the model answer)
    /// against the grounding source and the query.
    Grounding {
        filter: GroundingFilterType,
        grounding_source: &'a str,
        query: &'a str,
        text: &'a str,
    },
}

/// A classifier's answer, matching the task kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClassifierVerdict {
    Confidence(FilterStrength),
    Detected(bool),
    Score(f64),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("classifier failed: {0}")]
pub struct ClassifierError(pub String);

/// A text classifier (embedded model, external moderation endpoint, ...).
pub trait Classifier: Send + Sync + fmt::Debug {
    fn classify(&self, task: &ClassifierTask<'_>) -> Result<ClassifierVerdict, ClassifierError>;

    /// Several content filters about the same text, answers in order. A
    /// classifier that scores them in one pass overrides this; the default
    /// asks one by one.
    fn classify_content(
        &self,
        filters: &[ContentFilterType],
        source: Source,
        text: &str,
    ) -> Vec<Result<ClassifierVerdict, ClassifierError>> {
        filters
            .iter()
            .map(|&filter| {
                self.classify(&ClassifierTask::Content {
                    filter,
                    source,
                    text,
                })
            })
            .collect()
    }
}

/// The classifiers available to the policy compiler.
#[derive(Debug, Clone, Default)]
pub struct Classifiers {
    pub content: BTreeMap<ContentFilterType, Arc<dyn Classifier>>,
    pub topics: Option<Arc<dyn Classifier>>,
    pub grounding: Option<Arc<dyn Classifier>>,
}

/// A configured filter that has no classifier (or whose classifier failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnavailableFilter {
    /// `contentPolicy`, `topicPolicy`, `contextualGroundingPolicy` or `automatedReasoningPolicy`.
    pub policy: &'static str,
    /// The filter type or topic name.
    pub name: String,
}

impl fmt::Display for UnavailableFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.policy, self.name)
    }
}

/// The probabilities at which a classifier's score becomes LOW, MEDIUM and
/// HIGH confidence (each at or above its threshold).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfidenceThresholds {
    pub low: f64,
    pub medium: f64,
    pub high: f64,
}

impl ConfidenceThresholds {
    /// The confidence of a score: the highest level whose threshold it reaches.
    pub fn confidence(&self, score: f64) -> FilterStrength {
        if score >= self.high {
            FilterStrength::High
        } else if score >= self.medium {
            FilterStrength::Medium
        } else if score >= self.low {
            FilterStrength::Low
        } else {
            FilterStrength::None
        }
    }
}

/// Does a confidence trip a filter of this strength? HIGH strength blocks
/// LOW, MEDIUM and HIGH confidence; MEDIUM blocks MEDIUM and HIGH; LOW only HIGH.
pub fn trips(strength: FilterStrength, confidence: FilterStrength) -> bool {
    let need = match strength {
        FilterStrength::None => return false,
        FilterStrength::Low => FilterStrength::High,
        FilterStrength::Medium => FilterStrength::Medium,
        FilterStrength::High => FilterStrength::Low,
    };
    confidence >= need
}
