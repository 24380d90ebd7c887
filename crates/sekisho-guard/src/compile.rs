//! Validating and compiling a `GuardrailConfig` once into the matchers that
//! `apply` runs. Every limit of the Bedrock service model is enforced here
//! and reported with the path of the field that broke it.

use std::sync::Arc;

use regex_automata::MatchKind;
use regex_automata::meta::Regex;
use regex_automata::nfa::thompson::WhichCaptures;
use regex_automata::util::syntax;

use crate::classify::{Classifier, Classifiers, UnavailableFilter};
use crate::config::{
    BlockAction, ContentFilterType, FilterStrength, GroundingFilterType, GuardrailConfig,
    ManagedWordsType, SensitiveAction, TopicConfig,
};
use crate::error::ConfigError;
use crate::pii::PiiDetector;
use crate::pii::entities::{EntitySet, EntityType};
use crate::regexes::CustomRegexes;
use crate::response::Source;
use crate::words::{WordEntry, WordMatcher};

/// Limits of the Bedrock service model (botocore `bedrock` 2023-04-20).
pub const MAX_REGEXES: usize = 30;
pub const MAX_WORDS: usize = 10_000;
pub const MAX_WORD_CHARS: usize = 100;
pub const MAX_REGEX_PATTERN_CHARS: usize = 500;
/// Compiled size allowed for one custom regex: generous for real patterns,
/// small enough that `(a{100}){100}` style blow-ups are refused at compile
/// time instead of costing memory and time on every request.
pub const MAX_REGEX_NFA_BYTES: usize = 2 << 20;

/// An action per direction; `None` where the entry is disabled for that direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirActions<A> {
    pub input: Option<A>,
    pub output: Option<A>,
}

impl<A: Copy> DirActions<A> {
    pub fn resolve(
        base: A,
        input: Option<A>,
        output: Option<A>,
        input_enabled: Option<bool>,
        output_enabled: Option<bool>,
    ) -> Self {
        Self {
            input: input_enabled.unwrap_or(true).then(|| input.unwrap_or(base)),
            output: output_enabled
                .unwrap_or(true)
                .then(|| output.unwrap_or(base)),
        }
    }
    pub fn get(&self, source: Source) -> Option<A> {
        match source {
            Source::Input => self.input,
            Source::Output => self.output,
        }
    }
}

/// A compiled content filter.
#[derive(Debug, Clone)]
pub(crate) struct ContentFilter {
    pub filter_type: ContentFilterType,
    pub strength: DirActions<FilterStrength>,
    pub action: DirActions<BlockAction>,
    pub classifier: Option<Arc<dyn Classifier>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Topic {
    pub config: TopicConfig,
    pub action: DirActions<BlockAction>,
}

#[derive(Debug, Clone)]
pub(crate) struct GroundingFilter {
    pub filter_type: GroundingFilterType,
    pub threshold: f64,
    pub action: BlockAction,
    pub enabled: bool,
}

/// A guardrail compiled once and applied to many requests (`Send + Sync`).
#[derive(Debug)]
pub struct CompiledGuardrail {
    pub(crate) config: GuardrailConfig,
    pub(crate) pii: Option<PiiDetector>,
    pub(crate) pii_actions: Vec<Option<DirActions<SensitiveAction>>>,
    pub(crate) regexes: Option<CustomRegexes>,
    pub(crate) words: Option<WordMatcher>,
    pub(crate) content_filters: Vec<ContentFilter>,
    pub(crate) topics: Vec<Topic>,
    pub(crate) topic_classifier: Option<Arc<dyn Classifier>>,
    pub(crate) grounding: Vec<GroundingFilter>,
    pub(crate) grounding_classifier: Option<Arc<dyn Classifier>>,
    pub(crate) unavailable: Vec<UnavailableFilter>,
}

/// Build a leftmost-first meta regex (lazy DFA; no backtracking engine) with
/// an NFA size limit.
pub(crate) fn build_regex(patterns: &[String], nfa_limit: usize) -> Result<Regex, String> {
    regex_builder(nfa_limit)
        .syntax(syntax::Config::new().unicode(true).utf8(true))
        .build_many(patterns)
        .map_err(|e| build_error(&e))
}

/// Build from parsed (and rewritten) syntax trees; same limits.
pub(crate) fn build_regex_hir(
    hirs: &[regex_syntax::hir::Hir],
    nfa_limit: usize,
) -> Result<Regex, String> {
    regex_builder(nfa_limit)
        .build_many_from_hir(hirs)
        .map_err(|e| build_error(&e))
}

fn regex_builder(nfa_limit: usize) -> regex_automata::meta::Builder {
    let mut b = Regex::builder();
    b.configure(
        Regex::config()
            .match_kind(MatchKind::LeftmostFirst)
            .nfa_size_limit(Some(nfa_limit))
            .hybrid_cache_capacity(8 << 20)
            .backtrack(false)
            .which_captures(WhichCaptures::Implicit),
    );
    b
}

fn build_error(e: &regex_automata::meta::BuildError) -> String {
    if let Some(limit) = e.size_limit() {
        format!("{TOO_LARGE} (limit {limit} bytes)")
    } else if let Some(se) = e.syntax_error() {
        se.to_string()
    } else {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            msg = format!("{msg}: {s}");
            src = s.source();
        }
        msg
    }
}

/// Marker of a size-limit failure in `build_regex`'s error text.
pub(crate) const TOO_LARGE: &str = "compiled pattern exceeds the size limit";

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn check_len(field: &str, s: &str, min: usize, max: usize) -> Result<(), ConfigError> {
    let n = chars(s);
    if n < min || n > max {
        return Err(ConfigError::new(
            field,
            format!("length must be between {min} and {max} characters, got {n}"),
        ));
    }
    Ok(())
}

impl CompiledGuardrail {
    /// Validate and compile with no classifiers: content filters, denied
    /// topics and grounding checks in the config are reported unavailable.
    pub fn compile(config: &GuardrailConfig) -> Result<Self, ConfigError> {
        Self::compile_with(config, &Classifiers::default())
    }

    /// Validate and compile, taking model-based filters from `classifiers`.
    pub fn compile_with(
        config: &GuardrailConfig,
        classifiers: &Classifiers,
    ) -> Result<Self, ConfigError> {
        validate_top(config)?;
        let mut unavailable = Vec::new();

        // Sensitive information.
        let mut pii_actions = vec![None; EntityType::ALL.len()];
        let mut pii = None;
        let mut regexes = None;
        if let Some(sip) = &config.sensitive_information_policy_config {
            let mut enabled = EntitySet::default();
            if let Some(list) = &sip.pii_entities_config {
                let base = "sensitiveInformationPolicyConfig.piiEntitiesConfig";
                if list.is_empty() {
                    return Err(ConfigError::new(base, "must contain at least 1 entity"));
                }
                for (i, e) in list.iter().enumerate() {
                    let field = format!("{base}[{i}].type");
                    let t = EntityType::parse(&e.entity_type).ok_or_else(|| {
                        ConfigError::new(
                            &field,
                            format!("unknown PII entity type '{}'", e.entity_type),
                        )
                    })?;
                    if pii_actions[t as usize].is_some() {
                        return Err(ConfigError::new(
                            &field,
                            format!("duplicate PII entity type '{}'", e.entity_type),
                        ));
                    }
                    let a = DirActions::resolve(
                        e.action,
                        e.input_action,
                        e.output_action,
                        e.input_enabled,
                        e.output_enabled,
                    );
                    if a.input.is_some() || a.output.is_some() {
                        enabled.insert(t);
                    }
                    pii_actions[t as usize] = Some(a);
                }
            }
            if !enabled.is_empty() {
                pii = Some(PiiDetector::new(enabled).map_err(|m| {
                    ConfigError::new("sensitiveInformationPolicyConfig.piiEntitiesConfig", m)
                })?);
            }
            if let Some(list) = &sip.regexes_config {
                regexes = Some(CustomRegexes::compile(list)?);
            }
        }

        // Words.
        let mut words = None;
        if let Some(wp) = &config.word_policy_config {
            let mut entries = Vec::new();
            if let Some(list) = &wp.words_config {
                let base = "wordPolicyConfig.wordsConfig";
                if list.is_empty() || list.len() > MAX_WORDS {
                    return Err(ConfigError::new(
                        base,
                        format!(
                            "must contain between 1 and {MAX_WORDS} words, got {}",
                            list.len()
                        ),
                    ));
                }
                for (i, w) in list.iter().enumerate() {
                    let field = format!("{base}[{i}].text");
                    check_len(&field, &w.text, 1, MAX_WORD_CHARS)?;
                    if w.text.trim().is_empty() {
                        return Err(ConfigError::new(&field, "must not be blank"));
                    }
                    let actions = DirActions::resolve(
                        BlockAction::Block,
                        w.input_action,
                        w.output_action,
                        w.input_enabled,
                        w.output_enabled,
                    );
                    entries.push(WordEntry::Custom {
                        text: w.text.clone(),
                        actions,
                    });
                }
            }
            if let Some(list) = &wp.managed_word_lists_config {
                for (i, m) in list.iter().enumerate() {
                    if list[..i].iter().any(|p| p.list_type == m.list_type) {
                        return Err(ConfigError::new(
                            format!("wordPolicyConfig.managedWordListsConfig[{i}].type"),
                            "duplicate managed word list",
                        ));
                    }
                    let actions = DirActions::resolve(
                        BlockAction::Block,
                        m.input_action,
                        m.output_action,
                        m.input_enabled,
                        m.output_enabled,
                    );
                    match m.list_type {
                        ManagedWordsType::Profanity => entries.push(WordEntry::Managed {
                            list: ManagedWordsType::Profanity,
                            actions,
                        }),
                    }
                }
            }
            if !entries.is_empty() {
                words = Some(
                    WordMatcher::new(&entries)
                        .map_err(|m| ConfigError::new("wordPolicyConfig", m))?,
                );
            }
        }

        // Content filters.
        let mut content_filters = Vec::new();
        if let Some(cp) = &config.content_policy_config {
            let base = "contentPolicyConfig.filtersConfig";
            if cp.filters_config.is_empty() || cp.filters_config.len() > 6 {
                return Err(ConfigError::new(
                    base,
                    "must contain between 1 and 6 filters",
                ));
            }
            for (i, f) in cp.filters_config.iter().enumerate() {
                if cp.filters_config[..i]
                    .iter()
                    .any(|p| p.filter_type == f.filter_type)
                {
                    return Err(ConfigError::new(
                        format!("{base}[{i}].type"),
                        format!("duplicate content filter type {}", f.filter_type.as_str()),
                    ));
                }
                if f.filter_type == ContentFilterType::PromptAttack
                    && f.output_strength != FilterStrength::None
                {
                    return Err(ConfigError::new(
                        format!("{base}[{i}].outputStrength"),
                        "PROMPT_ATTACK applies to input only; outputStrength must be NONE",
                    ));
                }
                let strength = DirActions::resolve(
                    FilterStrength::None,
                    Some(f.input_strength),
                    Some(f.output_strength),
                    f.input_enabled,
                    f.output_enabled,
                );
                let action = DirActions::resolve(
                    BlockAction::Block,
                    f.input_action,
                    f.output_action,
                    f.input_enabled,
                    f.output_enabled,
                );
                let active = [strength.input, strength.output]
                    .iter()
                    .any(|s| s.is_some_and(|s| s != FilterStrength::None));
                let classifier = classifiers.content.get(&f.filter_type).cloned();
                if active && classifier.is_none() {
                    unavailable.push(UnavailableFilter {
                        policy: "contentPolicy",
                        name: f.filter_type.as_str().to_string(),
                    });
                }
                content_filters.push(ContentFilter {
                    filter_type: f.filter_type,
                    strength,
                    action,
                    classifier,
                });
            }
        }

        // Denied topics.
        let mut topics = Vec::new();
        if let Some(tp) = &config.topic_policy_config {
            let base = "topicPolicyConfig.topicsConfig";
            if tp.topics_config.is_empty() || tp.topics_config.len() > 30 {
                return Err(ConfigError::new(
                    base,
                    "must contain between 1 and 30 topics",
                ));
            }
            for (i, t) in tp.topics_config.iter().enumerate() {
                // Topic names may be Japanese (a Sekisho extension of the
                // service model's ASCII pattern); control characters are not.
                check_len(&format!("{base}[{i}].name"), &t.name, 1, 100)?;
                if t.name.chars().any(char::is_control) {
                    return Err(ConfigError::new(
                        format!("{base}[{i}].name"),
                        "must not contain control characters",
                    ));
                }
                check_len(&format!("{base}[{i}].definition"), &t.definition, 1, 200)?;
                if let Some(ex) = &t.examples {
                    if ex.len() > 5 {
                        return Err(ConfigError::new(
                            format!("{base}[{i}].examples"),
                            "at most 5 examples",
                        ));
                    }
                    for (j, e) in ex.iter().enumerate() {
                        check_len(&format!("{base}[{i}].examples[{j}]"), e, 1, 100)?;
                    }
                }
                let action = DirActions::resolve(
                    BlockAction::Block,
                    t.input_action,
                    t.output_action,
                    t.input_enabled,
                    t.output_enabled,
                );
                topics.push(Topic {
                    config: t.clone(),
                    action,
                });
            }
            if classifiers.topics.is_none() {
                for t in &topics {
                    unavailable.push(UnavailableFilter {
                        policy: "topicPolicy",
                        name: t.config.name.clone(),
                    });
                }
            }
        }

        // Contextual grounding.
        let mut grounding = Vec::new();
        if let Some(gp) = &config.contextual_grounding_policy_config {
            let base = "contextualGroundingPolicyConfig.filtersConfig";
            if gp.filters_config.is_empty() || gp.filters_config.len() > 2 {
                return Err(ConfigError::new(base, "must contain 1 or 2 filters"));
            }
            for (i, f) in gp.filters_config.iter().enumerate() {
                if gp.filters_config[..i]
                    .iter()
                    .any(|p| p.filter_type == f.filter_type)
                {
                    return Err(ConfigError::new(
                        format!("{base}[{i}].type"),
                        "duplicate grounding filter type",
                    ));
                }
                if !(0.0..=0.99).contains(&f.threshold) || f.threshold.is_nan() {
                    return Err(ConfigError::new(
                        format!("{base}[{i}].threshold"),
                        "must be between 0 and 0.99",
                    ));
                }
                let g = GroundingFilter {
                    filter_type: f.filter_type,
                    threshold: f.threshold,
                    action: f.action.unwrap_or(BlockAction::Block),
                    enabled: f.enabled.unwrap_or(true),
                };
                if g.enabled && classifiers.grounding.is_none() {
                    unavailable.push(UnavailableFilter {
                        policy: "contextualGroundingPolicy",
                        name: match f.filter_type {
                            GroundingFilterType::Grounding => "GROUNDING".into(),
                            GroundingFilterType::Relevance => "RELEVANCE".into(),
                        },
                    });
                }
                grounding.push(g);
            }
        }
        if let Some(ar) = &config.automated_reasoning_policy_config {
            if ar.policies.is_empty() || ar.policies.len() > 2 {
                return Err(ConfigError::new(
                    "automatedReasoningPolicyConfig.policies",
                    "must contain 1 or 2 policy ARNs",
                ));
            }
            for p in &ar.policies {
                unavailable.push(UnavailableFilter {
                    policy: "automatedReasoningPolicy",
                    name: p.clone(),
                });
            }
        }

        Ok(Self {
            config: config.clone(),
            pii,
            pii_actions,
            regexes,
            words,
            content_filters,
            topics,
            topic_classifier: classifiers.topics.clone(),
            grounding,
            grounding_classifier: classifiers.grounding.clone(),
            unavailable,
        })
    }

    /// Configured filters with no classifier: a caller that cannot accept
    /// unchecked content refuses the guardrail; `apply` blocks whenever one
    /// of them is enabled for the direction.
    pub fn unavailable_filters(&self) -> &[UnavailableFilter] {
        &self.unavailable
    }

    /// The configuration this guardrail was compiled from.
    pub fn config(&self) -> &GuardrailConfig {
        &self.config
    }
}

fn validate_top(c: &GuardrailConfig) -> Result<(), ConfigError> {
    check_len("name", &c.name, 1, 50)?;
    if !c
        .name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ConfigError::new("name", "must match [0-9a-zA-Z-_]+"));
    }
    if let Some(d) = &c.description {
        check_len("description", d, 1, 200)?;
    }
    check_len("blockedInputMessaging", &c.blocked_input_messaging, 1, 500)?;
    check_len(
        "blockedOutputsMessaging",
        &c.blocked_outputs_messaging,
        1,
        500,
    )?;
    if let Some(t) = &c.tags
        && t.len() > 200
    {
        return Err(ConfigError::new("tags", "at most 200 tags"));
    }
    if let Some(k) = &c.kms_key_id {
        check_len("kmsKeyId", k, 1, 2048)?;
    }
    Ok(())
}

/// Leftmost-first search over a text in windows, so that one long-lived
/// automaton thread (say an e-mail local part that never meets its "@")
/// cannot make every later search rescan to the end of the text: a search
/// never looks more than the current window ahead. The window starts small
/// after each match and doubles while nothing is found, so ordinary text is
/// still read about once; consecutive windows overlap by `overlap` bytes, so
/// any match up to that long is found wherever it lies.
#[derive(Debug, Clone)]
pub(crate) struct WindowedSearch {
    pos: usize,
    window: usize,
    min_window: usize,
    overlap: usize,
}

impl WindowedSearch {
    pub fn new(min_window: usize, overlap: usize) -> Self {
        Self {
            pos: 0,
            window: min_window,
            min_window: min_window.max(2 * overlap),
            overlap,
        }
    }

    /// Continue searching from `pos` (a char boundary).
    pub fn set_pos(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// The next match, and whether it was cut by the window edge.
    pub fn find(&mut self, re: &Regex, text: &str) -> Option<(regex_automata::Match, bool)> {
        loop {
            if self.pos >= text.len() {
                return None;
            }
            let mut end = (self.pos + self.window).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            match re.search(&regex_automata::Input::new(text).range(self.pos..end)) {
                Some(m) => {
                    self.window = self.min_window;
                    return Some((m, m.end() == end && end < text.len()));
                }
                None if end == text.len() => {
                    self.pos = end;
                    return None;
                }
                None => {
                    let mut next = (end - self.overlap).max(self.pos + 1);
                    while !text.is_char_boundary(next) {
                        next += 1;
                    }
                    self.pos = next;
                    self.window = (self.window * 2).min(1 << 20);
                }
            }
        }
    }
}
