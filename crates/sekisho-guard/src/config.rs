//! The guardrail configuration: botocore's `bedrock` `CreateGuardrailRequest`
//! shape, field for field (service model 2023-04-20), so a request body that
//! boto3 sends deserializes unchanged and a stored guardrail serializes back
//! to the same JSON.
//!
//! Enumerations that only select behaviour are typed; the PII entity `type`
//! stays a string because Sekisho accepts Japanese extension types beside the
//! Bedrock enum, and an unknown name must come back as a `ConfigError` naming
//! its field (serde would only say "unknown variant").

use serde::{Deserialize, Serialize};

/// `CreateGuardrailRequest` (and the configuration part of `UpdateGuardrail`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardrailConfig {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_policy_config: Option<TopicPolicyConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_policy_config: Option<ContentPolicyConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub word_policy_config: Option<WordPolicyConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitive_information_policy_config: Option<SensitiveInformationPolicyConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contextual_grounding_policy_config: Option<ContextualGroundingPolicyConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated_reasoning_policy_config: Option<AutomatedReasoningPolicyConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_region_config: Option<CrossRegionConfig>,
    pub blocked_input_messaging: String,
    pub blocked_outputs_messaging: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// `GuardrailTopicPolicyConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicPolicyConfig {
    pub topics_config: Vec<TopicConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_config: Option<TierConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicConfig {
    pub name: String,
    pub definition: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub examples: Option<Vec<String>>,
    #[serde(rename = "type")]
    pub topic_type: TopicType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_action: Option<BlockAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_action: Option<BlockAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_enabled: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TopicType {
    #[serde(rename = "DENY")]
    Deny,
}

/// `tierConfig` of the topic, content and grounding policies (CLASSIC | STANDARD).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TierConfig {
    pub tier_name: TierName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TierName {
    Classic,
    Standard,
}

/// The two-valued action of topics, content filters, words and grounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BlockAction {
    Block,
    None,
}

/// `GuardrailContentPolicyConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentPolicyConfig {
    pub filters_config: Vec<ContentFilterConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_config: Option<TierConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentFilterConfig {
    #[serde(rename = "type")]
    pub filter_type: ContentFilterType,
    pub input_strength: FilterStrength,
    pub output_strength: FilterStrength,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_modalities: Option<Vec<Modality>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_modalities: Option<Vec<Modality>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_action: Option<BlockAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_action: Option<BlockAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_enabled: Option<bool>,
}

impl ContentFilterConfig {
    /// A filter with these strengths, text only, the default actions, and
    /// both directions enabled.
    pub fn new(
        filter_type: ContentFilterType,
        input_strength: FilterStrength,
        output_strength: FilterStrength,
    ) -> Self {
        Self {
            filter_type,
            input_strength,
            output_strength,
            input_modalities: None,
            output_modalities: None,
            input_action: None,
            output_action: None,
            input_enabled: None,
            output_enabled: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContentFilterType {
    Sexual,
    Violence,
    Hate,
    Insults,
    Misconduct,
    PromptAttack,
}

impl ContentFilterType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sexual => "SEXUAL",
            Self::Violence => "VIOLENCE",
            Self::Hate => "HATE",
            Self::Insults => "INSULTS",
            Self::Misconduct => "MISCONDUCT",
            Self::PromptAttack => "PROMPT_ATTACK",
        }
    }
}

/// Filter strength of the configuration and confidence of the assessment
/// share one scale (NONE < LOW < MEDIUM < HIGH), so the order is derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FilterStrength {
    None,
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Modality {
    Text,
    Image,
}

/// `GuardrailWordPolicyConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WordPolicyConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words_config: Option<Vec<WordConfig>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_word_lists_config: Option<Vec<ManagedWordsConfig>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WordConfig {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_action: Option<BlockAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_action: Option<BlockAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_enabled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedWordsConfig {
    #[serde(rename = "type")]
    pub list_type: ManagedWordsType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_action: Option<BlockAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_action: Option<BlockAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_enabled: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ManagedWordsType {
    Profanity,
}

/// `GuardrailSensitiveInformationPolicyConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SensitiveInformationPolicyConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pii_entities_config: Option<Vec<PiiEntityConfig>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regexes_config: Option<Vec<RegexConfig>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PiiEntityConfig {
    /// A `GuardrailPiiEntityType` name or a Sekisho `JP_*` extension name.
    #[serde(rename = "type")]
    pub entity_type: String,
    pub action: SensitiveAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_action: Option<SensitiveAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_action: Option<SensitiveAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_enabled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegexConfig {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub pattern: String,
    pub action: SensitiveAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_action: Option<SensitiveAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_action: Option<SensitiveAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_enabled: Option<bool>,
}

/// `GuardrailSensitiveInformationAction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SensitiveAction {
    Block,
    Anonymize,
    None,
}

/// `GuardrailContextualGroundingPolicyConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextualGroundingPolicyConfig {
    pub filters_config: Vec<ContextualGroundingFilterConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_config: Option<TierConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextualGroundingFilterConfig {
    #[serde(rename = "type")]
    pub filter_type: GroundingFilterType,
    pub threshold: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<BlockAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GroundingFilterType {
    Grounding,
    Relevance,
}

/// `GuardrailAutomatedReasoningPolicyConfig` (accepted and stored; Sekisho
/// has no automated-reasoning checks, so compiling one reports it unavailable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutomatedReasoningPolicyConfig {
    pub policies: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence_threshold: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrossRegionConfig {
    pub guardrail_profile_identifier: String,
}
