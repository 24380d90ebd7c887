//! The `ApplyGuardrail` request and response shapes of botocore's
//! `bedrock-runtime` service model (2023-09-30), field for field, so the
//! gateway can serialize what the engine returns without a mapping layer.
//!
//! Automated-reasoning findings are kept as raw JSON: Sekisho never produces
//! them, and the deep shape only matters when relaying an upstream answer.

use serde::{Deserialize, Serialize};

use crate::config::{
    ContentFilterType, FilterStrength, GroundingFilterType, ManagedWordsType, TopicType,
};

/// `GuardrailContentSource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Source {
    Input,
    Output,
}

/// `ApplyGuardrailRequest` body (identifier and version travel in the URI).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyGuardrailRequest {
    pub source: Source,
    pub content: Vec<ContentBlock>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_scope: Option<OutputScope>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OutputScope {
    Interventions,
    Full,
}

/// `GuardrailContentBlock` (a union on the wire: text or image).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContentBlock {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextBlock>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageBlock>,
}

impl ContentBlock {
    /// A plain text block with no qualifiers (guarded).
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: Some(TextBlock {
                text: text.into(),
                qualifiers: None,
            }),
            image: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextBlock {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifiers: Option<Vec<Qualifier>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Qualifier {
    #[serde(rename = "grounding_source")]
    GroundingSource,
    #[serde(rename = "query")]
    Query,
    #[serde(rename = "guard_content")]
    GuardContent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageBlock {
    pub format: String,
    pub source: ImageSource,
}

/// The image bytes as they travel in JSON (base64); the engine never decodes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<String>,
}

/// `ApplyGuardrailResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyGuardrailResponse {
    pub usage: Usage,
    pub action: GuardrailAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_reason: Option<String>,
    pub outputs: Vec<OutputContent>,
    pub assessments: Vec<Assessment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail_coverage: Option<Coverage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GuardrailAction {
    None,
    GuardrailIntervened,
}

/// `GuardrailUsage`: text units (1000 characters) processed per policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub topic_policy_units: u32,
    pub content_policy_units: u32,
    pub word_policy_units: u32,
    pub sensitive_information_policy_units: u32,
    pub sensitive_information_policy_free_units: u32,
    pub contextual_grounding_policy_units: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_policy_image_units: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated_reasoning_policy_units: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated_reasoning_policies: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputContent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// `GuardrailAssessment`: a policy appears only when it has something to say.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assessment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_policy: Option<TopicPolicyAssessment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_policy: Option<ContentPolicyAssessment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub word_policy: Option<WordPolicyAssessment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitive_information_policy: Option<SensitiveInformationPolicyAssessment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contextual_grounding_policy: Option<ContextualGroundingPolicyAssessment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated_reasoning_policy: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_metrics: Option<InvocationMetrics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_guardrail_details: Option<AppliedGuardrailDetails>,
}

/// `BLOCKED | NONE`, the action reported for topics, content, words and grounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PolicyAction {
    Blocked,
    None,
}

/// `ANONYMIZED | BLOCKED | NONE`, the action reported for PII and regexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SensitivePolicyAction {
    Anonymized,
    Blocked,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicPolicyAssessment {
    pub topics: Vec<TopicFinding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicFinding {
    pub name: String,
    #[serde(rename = "type")]
    pub topic_type: TopicType,
    pub action: PolicyAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentPolicyAssessment {
    pub filters: Vec<ContentFilterFinding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentFilterFinding {
    #[serde(rename = "type")]
    pub filter_type: ContentFilterType,
    pub confidence: FilterStrength,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_strength: Option<FilterStrength>,
    pub action: PolicyAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WordPolicyAssessment {
    pub custom_words: Vec<CustomWordFinding>,
    pub managed_word_lists: Vec<ManagedWordFinding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomWordFinding {
    #[serde(rename = "match")]
    pub matched: String,
    pub action: PolicyAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedWordFinding {
    #[serde(rename = "match")]
    pub matched: String,
    #[serde(rename = "type")]
    pub list_type: ManagedWordsType,
    pub action: PolicyAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SensitiveInformationPolicyAssessment {
    pub pii_entities: Vec<PiiEntityFinding>,
    pub regexes: Vec<RegexFinding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiiEntityFinding {
    #[serde(rename = "match")]
    pub matched: String,
    #[serde(rename = "type")]
    pub entity_type: String,
    pub action: SensitivePolicyAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegexFinding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "match", default, skip_serializing_if = "Option::is_none")]
    pub matched: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    pub action: SensitivePolicyAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextualGroundingPolicyAssessment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<GroundingFilterFinding>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundingFilterFinding {
    #[serde(rename = "type")]
    pub filter_type: GroundingFilterType,
    pub threshold: f64,
    pub score: f64,
    pub action: PolicyAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvocationMetrics {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail_processing_latency: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail_coverage: Option<Coverage>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_characters: Option<CoverageCount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<CoverageCount>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageCount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guarded: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedGuardrailDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail_origin: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail_ownership: Option<String>,
}
