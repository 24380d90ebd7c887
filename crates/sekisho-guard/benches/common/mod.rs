//! The heavy guardrail of the scan benchmark, shared with
//! `examples/scan-file.rs` (the Presidio comparison) so both time the same
//! work: every PII type (ANONYMIZE), 100 custom words, the profanity list and
//! 10 custom regexes.

use sekisho_guard::config::*;
use sekisho_guard::{CompiledGuardrail, EntityType, GuardrailConfig};

pub fn guardrail() -> CompiledGuardrail {
    let pii = EntityType::ALL
        .iter()
        .map(|t| PiiEntityConfig {
            entity_type: t.as_str().into(),
            action: SensitiveAction::Anonymize,
            input_action: None,
            output_action: None,
            input_enabled: None,
            output_enabled: None,
        })
        .collect();
    let patterns = [
        r"EMP-\d{6}",
        r"PRJ-[A-Z]{3}-\d{4}",
        r"社員番号\s*[0-9]{6}",
        r"(?i)confidential",
        r"ORD[0-9]{10}",
        r"[A-Z]{3}-[0-9]{3}-[A-Z]{2}",
        r"案件コード[A-Z0-9]{8}",
        r"sk-[A-Za-z0-9]{32}",
        r"ghp_[A-Za-z0-9]{36}",
        r"内線[0-9]{4}",
    ];
    let regexes = patterns
        .iter()
        .enumerate()
        .map(|(i, p)| RegexConfig {
            name: format!("r{i}"),
            description: None,
            pattern: (*p).into(),
            action: SensitiveAction::Anonymize,
            input_action: None,
            output_action: None,
            input_enabled: None,
            output_enabled: None,
        })
        .collect();
    let words = (0..100)
        .map(|i| WordConfig {
            text: if i % 2 == 0 {
                format!("codename{i}")
            } else {
                format!("極秘案件{i}")
            },
            input_action: Some(BlockAction::None),
            output_action: None,
            input_enabled: None,
            output_enabled: None,
        })
        .collect();
    let config = GuardrailConfig {
        name: "bench".into(),
        blocked_input_messaging: "blocked".into(),
        blocked_outputs_messaging: "blocked".into(),
        sensitive_information_policy_config: Some(SensitiveInformationPolicyConfig {
            pii_entities_config: Some(pii),
            regexes_config: Some(regexes),
        }),
        word_policy_config: Some(WordPolicyConfig {
            words_config: Some(words),
            managed_word_lists_config: Some(vec![ManagedWordsConfig {
                list_type: ManagedWordsType::Profanity,
                input_action: Some(BlockAction::None),
                output_action: None,
                input_enabled: None,
                output_enabled: None,
            }]),
        }),
        ..Default::default()
    };
    CompiledGuardrail::compile(&config).expect("bench guardrail compiles")
}
