//! Applying a compiled guardrail to content blocks and building the
//! `ApplyGuardrail` response.

use std::time::Instant;

use crate::classify::{ClassifierError, ClassifierTask, ClassifierVerdict, trips};
use crate::compile::CompiledGuardrail;
use crate::config::{BlockAction, FilterStrength, ManagedWordsType, SensitiveAction};
use crate::mask::{MaskSpan, mask};
use crate::normalize::Normalized;
use crate::pii::entities::EntityType;
use crate::response::*;
use crate::words::WordSource;

/// What a finding is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingKind {
    Pii(EntityType),
    /// Custom regex, by index in `regexesConfig`.
    Regex(usize),
    /// Custom word, by index in `wordsConfig`.
    CustomWord(usize),
    ManagedWord(ManagedWordsType),
}

/// The action a finding carries in its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingAction {
    Block,
    Anonymize,
    None,
}

/// One match with its position: `block` indexes the request's content list,
/// `start..end` is the byte range in that block's original text. The wire
/// model has no offsets; callers that need them (audit, eval, streaming)
/// use these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub block: usize,
    pub start: usize,
    pub end: usize,
    pub kind: FindingKind,
    pub action: FindingAction,
}

/// The response plus the positioned findings behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub response: ApplyGuardrailResponse,
    pub findings: Vec<Finding>,
}

fn sensitive(a: SensitiveAction) -> FindingAction {
    match a {
        SensitiveAction::Block => FindingAction::Block,
        SensitiveAction::Anonymize => FindingAction::Anonymize,
        SensitiveAction::None => FindingAction::None,
    }
}

fn block(a: BlockAction) -> FindingAction {
    match a {
        BlockAction::Block => FindingAction::Block,
        BlockAction::None => FindingAction::None,
    }
}

/// Bedrock bills text in units of up to 1,000 characters per block.
fn units(text: &str) -> u32 {
    u32::try_from(text.chars().count().div_ceil(1000)).unwrap_or(u32::MAX)
}

impl CompiledGuardrail {
    /// Apply to `content` from `source`: exactly the `ApplyGuardrail` response.
    pub fn apply(&self, source: Source, content: &[ContentBlock]) -> ApplyGuardrailResponse {
        self.apply_detailed(source, content, OutputScope::Interventions)
            .response
    }

    /// The verdict of each content filter active for `source` (by index in
    /// `content_filters`; `None` for an inactive filter or one without a
    /// classifier): each classifier is asked once for all its filters, so
    /// one that scores several in one pass does.
    fn content_verdicts(
        &self,
        source: Source,
        text: &str,
    ) -> Vec<Option<Result<ClassifierVerdict, ClassifierError>>> {
        let mut verdicts: Vec<Option<Result<ClassifierVerdict, ClassifierError>>> =
            (0..self.content_filters.len()).map(|_| None).collect();
        let active = |f: &&crate::compile::ContentFilter| {
            f.strength
                .get(source)
                .is_some_and(|s| s != FilterStrength::None)
                && f.action.get(source).is_some()
        };
        let mut done = vec![false; self.content_filters.len()];
        for (i, f) in self.content_filters.iter().enumerate() {
            let Some(classifier) = f.classifier.as_ref() else {
                continue;
            };
            if done[i] || !active(&f) {
                continue;
            }
            // Every active filter this classifier answers.
            let mine: Vec<usize> = self
                .content_filters
                .iter()
                .enumerate()
                .filter(|(j, g)| {
                    !done[*j]
                        && active(g)
                        && g.classifier
                            .as_ref()
                            .is_some_and(|c| std::sync::Arc::ptr_eq(c, classifier))
                })
                .map(|(j, _)| j)
                .collect();
            let types: Vec<_> = mine
                .iter()
                .map(|&j| self.content_filters[j].filter_type)
                .collect();
            let answers = classifier.classify_content(&types, source, text);
            for (k, &j) in mine.iter().enumerate() {
                done[j] = true;
                verdicts[j] = Some(answers.get(k).cloned().unwrap_or_else(|| {
                    Err(ClassifierError(
                        "the classifier gave too few answers".into(),
                    ))
                }));
            }
        }
        verdicts
    }

    /// Scan one text (the word, PII and regex policies) in a direction.
    /// Findings have `block` 0 and positions in `text`.
    pub fn scan_text(&self, source: Source, text: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        if self.pii.is_none() && self.regexes.is_none() && self.words.is_none() {
            return out;
        }
        let norm = Normalized::new(text);
        let nt = norm.text();
        let mut push = |s: usize, e: usize, kind: FindingKind, action: FindingAction| {
            let (os, oe) = norm.original_range(s, e);
            if os < oe {
                out.push(Finding {
                    block: 0,
                    start: os,
                    end: oe,
                    kind,
                    action,
                });
            }
        };
        if let Some(p) = &self.pii {
            for d in p.detect(nt) {
                let chosen = d.types.iter().find_map(|t| {
                    self.pii_actions[*t as usize]
                        .and_then(|a| a.get(source))
                        .map(|a| (*t, a))
                });
                if let Some((t, a)) = chosen {
                    push(d.start, d.end, FindingKind::Pii(t), sensitive(a));
                }
            }
        }
        if let Some(r) = &self.regexes {
            for h in r.find(nt, |i| r.entries[i].actions.get(source).is_some()) {
                if let Some(a) = r.entries[h.index].actions.get(source) {
                    push(h.start, h.end, FindingKind::Regex(h.index), sensitive(a));
                }
            }
        }
        if let Some(w) = &self.words {
            for h in w.find(nt) {
                let (kind, action) = match h.source {
                    WordSource::Custom(i) => (FindingKind::CustomWord(i), w.custom[i].get(source)),
                    WordSource::Managed(l) => (
                        FindingKind::ManagedWord(l),
                        w.managed
                            .iter()
                            .find(|m| m.0 == l)
                            .and_then(|m| m.1.get(source)),
                    ),
                };
                if let Some(a) = action {
                    push(h.start, h.end, kind, block(a));
                }
            }
        }
        out
    }

    /// The tag an anonymized finding is replaced with: `{EMAIL}`, `{name}`.
    pub(crate) fn tag(&self, kind: &FindingKind) -> Option<(String, u8)> {
        match kind {
            FindingKind::Pii(t) => Some((format!("{{{}}}", t.as_str()), 2)),
            FindingKind::Regex(i) => self
                .regexes
                .as_ref()
                .and_then(|r| r.entries.get(*i))
                .map(|r| (format!("{{{}}}", r.name), 1)),
            _ => None,
        }
    }

    /// Mask the anonymized findings (positions in `text`).
    pub(crate) fn mask_text(&self, text: &str, findings: &[&Finding]) -> String {
        let spans = findings
            .iter()
            .filter(|f| f.action == FindingAction::Anonymize)
            .filter_map(|f| {
                self.tag(&f.kind).map(|(tag, specificity)| MaskSpan {
                    start: f.start,
                    end: f.end,
                    tag,
                    specificity,
                })
            })
            .collect();
        mask(text, spans)
    }

    pub(crate) fn blocked_message(&self, source: Source) -> &str {
        match source {
            Source::Input => &self.config.blocked_input_messaging,
            Source::Output => &self.config.blocked_outputs_messaging,
        }
    }

    /// Apply and also return the positioned findings. `Full` scope adds the
    /// content filters that did not trip to the assessment.
    pub fn apply_detailed(
        &self,
        source: Source,
        content: &[ContentBlock],
        scope: OutputScope,
    ) -> Applied {
        let started = Instant::now();
        let texts: Vec<(usize, &TextBlock)> = content
            .iter()
            .enumerate()
            .filter_map(|(i, b)| b.text.as_ref().map(|t| (i, t)))
            .collect();
        let has_q =
            |t: &TextBlock, q: Qualifier| t.qualifiers.as_ref().is_some_and(|qs| qs.contains(&q));
        let any_guard_content = texts.iter().any(|(_, t)| has_q(t, Qualifier::GuardContent));
        // With guard_content qualifiers only those blocks are guarded;
        // grounding sources and queries are references, not content.
        let guarded: Vec<(usize, &TextBlock)> = texts
            .iter()
            .filter(|(_, t)| {
                if any_guard_content {
                    has_q(t, Qualifier::GuardContent)
                } else {
                    !has_q(t, Qualifier::GroundingSource) && !has_q(t, Qualifier::Query)
                }
            })
            .copied()
            .collect();

        let mut findings = Vec::new();
        for (bi, t) in &guarded {
            for mut f in self.scan_text(source, &t.text) {
                f.block = *bi;
                findings.push(f);
            }
        }
        let mut blocked = findings.iter().any(|f| f.action == FindingAction::Block);
        let mut reasons: Vec<String> = Vec::new();
        let mut assessment = Assessment::default();
        // The classifiers see the guarded text as one document; built only when a
        // model-based filter is configured (it copies the whole input).
        let needs_joined = !self.content_filters.is_empty()
            || !self.topics.is_empty()
            || !self.grounding.is_empty();
        let joined = if needs_joined {
            guarded
                .iter()
                .map(|(_, t)| t.text.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            String::new()
        };

        // Model-based filters: an enabled filter with no working classifier
        // blocks (fail closed).
        let mut content_findings = Vec::new();
        let mut content_ran = false;
        let mut verdicts = self.content_verdicts(source, &joined);
        for (i, f) in self.content_filters.iter().enumerate() {
            let (Some(strength), Some(action)) = (f.strength.get(source), f.action.get(source))
            else {
                continue;
            };
            if strength == FilterStrength::None {
                continue;
            }
            content_ran = true;
            let verdict = verdicts[i].take();
            match verdict {
                Some(Ok(ClassifierVerdict::Confidence(confidence))) => {
                    let detected = trips(strength, confidence);
                    let act = if detected && action == BlockAction::Block {
                        PolicyAction::Blocked
                    } else {
                        PolicyAction::None
                    };
                    if act == PolicyAction::Blocked {
                        blocked = true;
                    }
                    if detected || scope == OutputScope::Full {
                        content_findings.push(ContentFilterFinding {
                            filter_type: f.filter_type,
                            confidence,
                            filter_strength: Some(strength),
                            action: act,
                            detected: Some(detected),
                        });
                    }
                }
                _ => {
                    blocked = true;
                    reasons.push(format!(
                        "content filter {} unavailable",
                        f.filter_type.as_str()
                    ));
                }
            }
        }
        if !content_findings.is_empty() {
            assessment.content_policy = Some(ContentPolicyAssessment {
                filters: content_findings,
            });
        }

        let mut topic_findings = Vec::new();
        let mut topics_ran = false;
        for t in &self.topics {
            let Some(action) = t.action.get(source) else {
                continue;
            };
            topics_ran = true;
            let examples: &[String] = t.config.examples.as_deref().unwrap_or(&[]);
            let verdict = self.topic_classifier.as_ref().map(|c| {
                c.classify(&ClassifierTask::Topic {
                    name: &t.config.name,
                    definition: &t.config.definition,
                    examples,
                    source,
                    text: &joined,
                })
            });
            match verdict {
                Some(Ok(ClassifierVerdict::Detected(detected))) => {
                    let act = if detected && action == BlockAction::Block {
                        PolicyAction::Blocked
                    } else {
                        PolicyAction::None
                    };
                    if act == PolicyAction::Blocked {
                        blocked = true;
                    }
                    if detected {
                        topic_findings.push(TopicFinding {
                            name: t.config.name.clone(),
                            topic_type: t.config.topic_type,
                            action: act,
                            detected: Some(true),
                        });
                    }
                }
                _ => {
                    blocked = true;
                    reasons.push(format!("denied topic '{}' unavailable", t.config.name));
                }
            }
        }
        if !topic_findings.is_empty() {
            assessment.topic_policy = Some(TopicPolicyAssessment {
                topics: topic_findings,
            });
        }

        let grounding_source: String = texts
            .iter()
            .filter(|(_, t)| has_q(t, Qualifier::GroundingSource))
            .map(|(_, t)| t.text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let query: String = texts
            .iter()
            .filter(|(_, t)| has_q(t, Qualifier::Query))
            .map(|(_, t)| t.text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let mut grounding_findings = Vec::new();
        let mut grounding_units = 0;
        // Grounding checks model output against its sources; both references must be present.
        if source == Source::Output && !grounding_source.is_empty() && !query.is_empty() {
            for g in self.grounding.iter().filter(|g| g.enabled) {
                grounding_units = units(&grounding_source) + units(&query) + units(&joined);
                let verdict = self.grounding_classifier.as_ref().map(|c| {
                    c.classify(&ClassifierTask::Grounding {
                        filter: g.filter_type,
                        grounding_source: &grounding_source,
                        query: &query,
                        text: &joined,
                    })
                });
                match verdict {
                    Some(Ok(ClassifierVerdict::Score(score))) => {
                        let detected = score < g.threshold;
                        let act = if detected && g.action == BlockAction::Block {
                            PolicyAction::Blocked
                        } else {
                            PolicyAction::None
                        };
                        if act == PolicyAction::Blocked {
                            blocked = true;
                        }
                        grounding_findings.push(GroundingFilterFinding {
                            filter_type: g.filter_type,
                            threshold: g.threshold,
                            score,
                            action: act,
                            detected: Some(detected),
                        });
                    }
                    _ => {
                        blocked = true;
                        reasons.push("contextual grounding unavailable".to_string());
                    }
                }
            }
        }
        if !grounding_findings.is_empty() {
            assessment.contextual_grounding_policy = Some(ContextualGroundingPolicyAssessment {
                filters: Some(grounding_findings),
            });
        }

        // Word and sensitive-information assessments.
        let original = |f: &Finding| {
            content[f.block]
                .text
                .as_ref()
                .map(|t| t.text[f.start..f.end].to_string())
                .unwrap_or_default()
        };
        let policy_action = |a: FindingAction| {
            if a == FindingAction::Block {
                PolicyAction::Blocked
            } else {
                PolicyAction::None
            }
        };
        let sens_action = |a: FindingAction| match a {
            FindingAction::Block => SensitivePolicyAction::Blocked,
            FindingAction::Anonymize => SensitivePolicyAction::Anonymized,
            FindingAction::None => SensitivePolicyAction::None,
        };
        let mut custom_words: Vec<CustomWordFinding> = Vec::new();
        let mut managed_words: Vec<ManagedWordFinding> = Vec::new();
        let mut pii_entities = Vec::new();
        let mut regex_findings = Vec::new();
        for f in &findings {
            match &f.kind {
                FindingKind::CustomWord(_) => {
                    let w = CustomWordFinding {
                        matched: original(f),
                        action: policy_action(f.action),
                        detected: Some(true),
                    };
                    if !custom_words.contains(&w) {
                        custom_words.push(w);
                    }
                }
                FindingKind::ManagedWord(l) => {
                    let w = ManagedWordFinding {
                        matched: original(f),
                        list_type: *l,
                        action: policy_action(f.action),
                        detected: Some(true),
                    };
                    if !managed_words.contains(&w) {
                        managed_words.push(w);
                    }
                }
                FindingKind::Pii(t) => pii_entities.push(PiiEntityFinding {
                    matched: original(f),
                    entity_type: t.as_str().to_string(),
                    action: sens_action(f.action),
                    detected: Some(true),
                }),
                FindingKind::Regex(i) => {
                    let r = self.regexes.as_ref().and_then(|r| r.entries.get(*i));
                    regex_findings.push(RegexFinding {
                        name: r.map(|r| r.name.clone()),
                        matched: Some(original(f)),
                        regex: r.map(|r| r.pattern.clone()),
                        action: sens_action(f.action),
                        detected: Some(true),
                    });
                }
            }
        }
        if !custom_words.is_empty() || !managed_words.is_empty() {
            assessment.word_policy = Some(WordPolicyAssessment {
                custom_words,
                managed_word_lists: managed_words,
            });
        }
        if !pii_entities.is_empty() || !regex_findings.is_empty() {
            assessment.sensitive_information_policy = Some(SensitiveInformationPolicyAssessment {
                pii_entities,
                regexes: regex_findings,
            });
        }

        let anonymized = findings
            .iter()
            .any(|f| f.action == FindingAction::Anonymize);
        let outputs = if blocked {
            vec![OutputContent {
                text: Some(self.blocked_message(source).to_string()),
            }]
        } else if anonymized {
            guarded
                .iter()
                .map(|(bi, t)| {
                    let mine: Vec<&Finding> = findings.iter().filter(|f| f.block == *bi).collect();
                    OutputContent {
                        text: Some(self.mask_text(&t.text, &mine)),
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let action = if blocked || anonymized {
            GuardrailAction::GuardrailIntervened
        } else {
            GuardrailAction::None
        };
        let action_reason = if blocked {
            if reasons.is_empty() {
                "Guardrail blocked.".to_string()
            } else {
                format!("Guardrail blocked: {}.", reasons.join("; "))
            }
        } else if anonymized {
            "Guardrail masked.".to_string()
        } else {
            "No action.".to_string()
        };

        let guarded_units: u32 = guarded.iter().map(|(_, t)| units(&t.text)).sum();
        let has_pii = self.pii_actions.iter().any(Option::is_some);
        let usage = Usage {
            topic_policy_units: if topics_ran { guarded_units } else { 0 },
            content_policy_units: if content_ran { guarded_units } else { 0 },
            word_policy_units: if self.words.is_some() {
                guarded_units
            } else {
                0
            },
            sensitive_information_policy_units: if has_pii { guarded_units } else { 0 },
            // Regex-only sensitive-information checks are the free tier.
            sensitive_information_policy_free_units: if self.regexes.is_some() && !has_pii {
                guarded_units
            } else {
                0
            },
            contextual_grounding_policy_units: grounding_units,
            content_policy_image_units: None,
            automated_reasoning_policy_units: None,
            automated_reasoning_policies: None,
        };
        let total_chars: usize = texts.iter().map(|(_, t)| t.text.chars().count()).sum();
        let guarded_chars: usize = guarded.iter().map(|(_, t)| t.text.chars().count()).sum();
        let coverage = Coverage {
            text_characters: Some(CoverageCount {
                guarded: u32::try_from(guarded_chars).ok(),
                total: u32::try_from(total_chars).ok(),
            }),
            images: None,
        };
        assessment.invocation_metrics = Some(InvocationMetrics {
            guardrail_processing_latency: Some(
                i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            ),
            usage: Some(usage.clone()),
            guardrail_coverage: Some(coverage.clone()),
        });
        Applied {
            response: ApplyGuardrailResponse {
                usage,
                action,
                action_reason: Some(action_reason),
                outputs,
                assessments: vec![assessment],
                guardrail_coverage: Some(coverage),
            },
            findings,
        }
    }
}
