#![allow(dead_code)]
//! Shared helpers: a guardrail with every PII type on ANONYMIZE.

use sekisho_guard::config::{PiiEntityConfig, SensitiveAction, SensitiveInformationPolicyConfig};
use sekisho_guard::{
    CompiledGuardrail, ContentBlock, EntityType, FindingKind, GuardrailConfig, OutputScope, Source,
};

pub fn config_all(action: SensitiveAction) -> GuardrailConfig {
    GuardrailConfig {
        name: "all-pii".into(),
        blocked_input_messaging: "blocked input".into(),
        blocked_outputs_messaging: "blocked output".into(),
        sensitive_information_policy_config: Some(SensitiveInformationPolicyConfig {
            pii_entities_config: Some(
                EntityType::ALL
                    .iter()
                    .map(|t| PiiEntityConfig {
                        entity_type: t.as_str().into(),
                        action,
                        input_action: None,
                        output_action: None,
                        input_enabled: None,
                        output_enabled: None,
                    })
                    .collect(),
            ),
            regexes_config: None,
        }),
        ..Default::default()
    }
}

/// Compiled once per test binary (compiling is the slow part in debug builds).
pub fn all_pii() -> &'static CompiledGuardrail {
    static G: std::sync::LazyLock<CompiledGuardrail> = std::sync::LazyLock::new(|| {
        CompiledGuardrail::compile(&config_all(SensitiveAction::Anonymize)).expect("compiles")
    });
    &G
}

/// (type, original matched text) for every PII finding.
pub fn detect(g: &CompiledGuardrail, text: &str) -> Vec<(String, String)> {
    let a = g.apply_detailed(
        Source::Input,
        &[ContentBlock::text(text)],
        OutputScope::Interventions,
    );
    a.findings
        .iter()
        .filter_map(|f| match f.kind {
            FindingKind::Pii(t) => Some((t.as_str().to_string(), text[f.start..f.end].to_string())),
            _ => None,
        })
        .collect()
}

/// The masked output text (the input when nothing was masked).
pub fn masked(g: &CompiledGuardrail, text: &str) -> String {
    let r = g.apply(Source::Input, &[ContentBlock::text(text)]);
    r.outputs
        .first()
        .and_then(|o| o.text.clone())
        .unwrap_or_else(|| text.to_string())
}
