//! Applying guardrails: actions per direction, words, regexes, the response
//! model, configuration errors, streaming and linear time.

mod common;
use common::*;

use sekisho_guard::config::*;
use sekisho_guard::response::{GuardrailAction, PolicyAction, SensitivePolicyAction};
use sekisho_guard::{
    CompiledGuardrail, ContentBlock, GuardrailConfig, OutputScope, Source, StreamScanner,
};

fn base() -> GuardrailConfig {
    GuardrailConfig {
        name: "g1".into(),
        blocked_input_messaging: "入力はブロックされました".into(),
        blocked_outputs_messaging: "出力はブロックされました".into(),
        ..Default::default()
    }
}

fn pii(t: &str, action: SensitiveAction) -> PiiEntityConfig {
    PiiEntityConfig {
        entity_type: t.into(),
        action,
        input_action: None,
        output_action: None,
        input_enabled: None,
        output_enabled: None,
    }
}

fn regex(name: &str, pattern: &str, action: SensitiveAction) -> RegexConfig {
    RegexConfig {
        name: name.into(),
        description: None,
        pattern: pattern.into(),
        action,
        input_action: None,
        output_action: None,
        input_enabled: None,
        output_enabled: None,
    }
}

fn word(text: &str) -> WordConfig {
    WordConfig {
        text: text.into(),
        input_action: None,
        output_action: None,
        input_enabled: None,
        output_enabled: None,
    }
}

fn with_sip(pii: Vec<PiiEntityConfig>, regexes: Vec<RegexConfig>) -> GuardrailConfig {
    GuardrailConfig {
        sensitive_information_policy_config: Some(SensitiveInformationPolicyConfig {
            pii_entities_config: (!pii.is_empty()).then_some(pii),
            regexes_config: (!regexes.is_empty()).then_some(regexes),
        }),
        ..base()
    }
}

fn err_field(c: &GuardrailConfig) -> String {
    CompiledGuardrail::compile(c)
        .expect_err("must be rejected")
        .field
}

#[test]
fn anonymize_block_none_and_directions() {
    let mut email = pii("EMAIL", SensitiveAction::Anonymize);
    email.output_action = Some(SensitiveAction::Block);
    let mut phone = pii("PHONE", SensitiveAction::None);
    phone.input_enabled = Some(false);
    let g = CompiledGuardrail::compile(&with_sip(vec![email, phone], vec![])).unwrap();
    let text = "mail a@b.co or call 212-555-0123";

    let r = g.apply(Source::Input, &[ContentBlock::text(text)]);
    assert_eq!(r.action, GuardrailAction::GuardrailIntervened);
    assert_eq!(
        r.outputs[0].text.as_deref(),
        Some("mail {EMAIL} or call 212-555-0123")
    );
    let sip = r.assessments[0]
        .sensitive_information_policy
        .as_ref()
        .unwrap();
    assert_eq!(sip.pii_entities.len(), 1, "PHONE is disabled on input");
    assert_eq!(
        sip.pii_entities[0].action,
        SensitivePolicyAction::Anonymized
    );
    assert_eq!(sip.pii_entities[0].matched, "a@b.co");

    let r = g.apply(Source::Output, &[ContentBlock::text(text)]);
    assert_eq!(r.action, GuardrailAction::GuardrailIntervened);
    assert_eq!(r.outputs.len(), 1);
    assert_eq!(
        r.outputs[0].text.as_deref(),
        Some("出力はブロックされました")
    );
    let sip = r.assessments[0]
        .sensitive_information_policy
        .as_ref()
        .unwrap();
    let phone = sip
        .pii_entities
        .iter()
        .find(|p| p.entity_type == "PHONE")
        .expect("phone detected on output");
    assert_eq!(
        (phone.action, phone.detected),
        (SensitivePolicyAction::None, Some(true))
    );

    // Detect-only: NONE everywhere → no intervention, no outputs.
    let g =
        CompiledGuardrail::compile(&with_sip(vec![pii("EMAIL", SensitiveAction::None)], vec![]))
            .unwrap();
    let r = g.apply(Source::Input, &[ContentBlock::text(text)]);
    assert_eq!(r.action, GuardrailAction::None);
    assert!(r.outputs.is_empty());
    assert_eq!(
        r.assessments[0]
            .sensitive_information_policy
            .as_ref()
            .unwrap()
            .pii_entities[0]
            .detected,
        Some(true)
    );
    assert_eq!(r.usage.sensitive_information_policy_units, 1);
}

#[test]
fn japanese_type_falls_back_to_bedrock_type() {
    // Only PHONE configured: a Japanese mobile number is still masked, as PHONE.
    let g = CompiledGuardrail::compile(&with_sip(
        vec![pii("PHONE", SensitiveAction::Anonymize)],
        vec![],
    ))
    .unwrap();
    assert_eq!(masked(&g, "携帯 090-1234-5678 まで"), "携帯 {PHONE} まで");
    let g = CompiledGuardrail::compile(&with_sip(
        vec![
            pii("PHONE", SensitiveAction::Anonymize),
            pii("JP_PHONE", SensitiveAction::Anonymize),
        ],
        vec![],
    ))
    .unwrap();
    assert_eq!(
        masked(&g, "携帯 090-1234-5678 まで"),
        "携帯 {JP_PHONE} まで"
    );
}

#[test]
fn custom_regexes_are_named_and_masked() {
    let g = CompiledGuardrail::compile(&with_sip(
        vec![pii("EMAIL", SensitiveAction::Anonymize)],
        vec![
            regex("employee_id", r"EMP-\d{6}", SensitiveAction::Anonymize),
            regex("project", r"プロジェクト[A-Z]+", SensitiveAction::None),
        ],
    ))
    .unwrap();
    let r = g.apply(
        Source::Input,
        &[ContentBlock::text(
            "社員 EMP-123456 はプロジェクトXの担当、x@y.jp",
        )],
    );
    assert_eq!(
        r.outputs[0].text.as_deref(),
        Some("社員 {employee_id} はプロジェクトXの担当、{EMAIL}")
    );
    let regs = &r.assessments[0]
        .sensitive_information_policy
        .as_ref()
        .unwrap()
        .regexes;
    assert_eq!(regs.len(), 2);
    assert_eq!(regs[0].name.as_deref(), Some("employee_id"));
    assert_eq!(regs[0].regex.as_deref(), Some(r"EMP-\d{6}"));
    assert_eq!(regs[1].action, SensitivePolicyAction::None);
    // \b is an ASCII word boundary: Japanese around an id is a separator.
    let b = CompiledGuardrail::compile(&with_sip(
        vec![],
        vec![regex("sec", r"\bSEC-\d{3}\b", SensitiveAction::Anonymize)],
    ))
    .unwrap();
    assert_eq!(masked(&b, "番号SEC-123です"), "番号{sec}です");
    assert_eq!(masked(&b, "XSEC-123"), "XSEC-123");
    // Regexes see the normalized view: full-width evasion is caught too.
    assert_eq!(masked(&g, "ＥＭＰ－１２３４５６"), "{employee_id}");
    assert_eq!(r.usage.sensitive_information_policy_units, 1);
}

#[test]
fn overlapping_regex_and_pii_merge_to_the_longest() {
    let g = CompiledGuardrail::compile(&with_sip(
        vec![pii("EMAIL", SensitiveAction::Anonymize)],
        vec![
            regex("domain", r"example\.com", SensitiveAction::Anonymize),
            regex("big", r"id: \S+@\S+", SensitiveAction::Anonymize),
        ],
    ))
    .unwrap();
    assert_eq!(masked(&g, "a bob@example.com z"), "a {EMAIL} z");
    assert_eq!(masked(&g, "id: bob@example.com z"), "{big} z");
}

#[test]
fn words_custom_and_profanity() {
    let c = GuardrailConfig {
        word_policy_config: Some(WordPolicyConfig {
            words_config: Some(vec![
                word("secret project"),
                word("機密"),
                word("ＢａｄＷｏｒｄ"),
            ]),
            managed_word_lists_config: Some(vec![ManagedWordsConfig {
                list_type: ManagedWordsType::Profanity,
                input_action: None,
                output_action: Some(BlockAction::None),
                input_enabled: None,
                output_enabled: None,
            }]),
        }),
        ..base()
    };
    let g = CompiledGuardrail::compile(&c).unwrap();
    let r = g.apply(
        Source::Input,
        &[ContentBlock::text("This is a Secret  Project")],
    );
    assert_eq!(
        r.action,
        GuardrailAction::None,
        "two spaces is not the phrase"
    );
    let r = g.apply(
        Source::Input,
        &[ContentBlock::text("About the SECRET PROJECT.")],
    );
    assert_eq!(r.action, GuardrailAction::GuardrailIntervened);
    assert_eq!(
        r.outputs[0].text.as_deref(),
        Some("入力はブロックされました")
    );
    let wp = r.assessments[0].word_policy.as_ref().unwrap();
    assert_eq!(wp.custom_words[0].matched, "SECRET PROJECT");
    assert_eq!(wp.custom_words[0].action, PolicyAction::Blocked);
    // CJK: no word boundaries.
    assert_eq!(
        g.apply(Source::Input, &[ContentBlock::text("これは機密情報です")])
            .action,
        GuardrailAction::GuardrailIntervened
    );
    // Latin: boundaries; the configured full-width word matches its ASCII form.
    assert_eq!(
        g.apply(Source::Input, &[ContentBlock::text("a badword here")])
            .action,
        GuardrailAction::GuardrailIntervened
    );
    assert_eq!(
        g.apply(Source::Input, &[ContentBlock::text("notabadwords")])
            .action,
        GuardrailAction::None
    );
    // Profanity: blocked on input, detected only on output; "class" is not "ass".
    assert_eq!(
        g.apply(Source::Input, &[ContentBlock::text("what the fuck")])
            .action,
        GuardrailAction::GuardrailIntervened
    );
    assert_eq!(
        g.apply(Source::Input, &[ContentBlock::text("お前なんか死ね")])
            .action,
        GuardrailAction::GuardrailIntervened
    );
    assert_eq!(
        g.apply(Source::Input, &[ContentBlock::text("the class assignment")])
            .action,
        GuardrailAction::None
    );
    let r = g.apply(Source::Output, &[ContentBlock::text("what the fuck")]);
    assert_eq!(r.action, GuardrailAction::None);
    let m = &r.assessments[0]
        .word_policy
        .as_ref()
        .unwrap()
        .managed_word_lists[0];
    assert_eq!((m.matched.as_str(), m.action), ("fuck", PolicyAction::None));
}

#[test]
fn config_errors_name_the_field() {
    let mut c = with_sip(
        vec![
            pii("EMAIL", SensitiveAction::Anonymize),
            pii("SOCIAL_NUMBER", SensitiveAction::Block),
        ],
        vec![],
    );
    assert_eq!(
        err_field(&c),
        "sensitiveInformationPolicyConfig.piiEntitiesConfig[1].type"
    );
    c = with_sip(
        vec![
            pii("EMAIL", SensitiveAction::Anonymize),
            pii("EMAIL", SensitiveAction::Block),
        ],
        vec![],
    );
    assert_eq!(
        err_field(&c),
        "sensitiveInformationPolicyConfig.piiEntitiesConfig[1].type"
    );
    c = with_sip(
        vec![],
        vec![
            regex("a", "a+", SensitiveAction::Block),
            regex("b", "b+", SensitiveAction::Block),
            regex("c", "(unclosed", SensitiveAction::Block),
        ],
    );
    let e = CompiledGuardrail::compile(&c).unwrap_err();
    assert_eq!(
        e.field,
        "sensitiveInformationPolicyConfig.regexesConfig[2].pattern"
    );
    assert!(e.message.contains("invalid"), "{e}");
    c = with_sip(
        vec![],
        vec![regex(
            "bomb",
            "(?:(?:a{100}){100}){100}",
            SensitiveAction::Block,
        )],
    );
    let e = CompiledGuardrail::compile(&c).unwrap_err();
    assert_eq!(
        e.field,
        "sensitiveInformationPolicyConfig.regexesConfig[0].pattern"
    );
    assert!(e.message.contains("too large"), "{e}");
    c = with_sip(
        vec![],
        vec![regex("backref", r"(a)\1", SensitiveAction::Block)],
    );
    assert_eq!(
        err_field(&c),
        "sensitiveInformationPolicyConfig.regexesConfig[0].pattern"
    );
    c = with_sip(
        vec![],
        vec![regex("lookahead", r"a(?=b)", SensitiveAction::Block)],
    );
    assert_eq!(
        err_field(&c),
        "sensitiveInformationPolicyConfig.regexesConfig[0].pattern"
    );
    c = with_sip(vec![], vec![regex("empty", r"x*", SensitiveAction::Block)]);
    assert_eq!(
        err_field(&c),
        "sensitiveInformationPolicyConfig.regexesConfig[0].pattern"
    );
    c = with_sip(
        vec![],
        (0..31)
            .map(|i| regex(&format!("r{i}"), "ab", SensitiveAction::Block))
            .collect(),
    );
    assert_eq!(
        err_field(&c),
        "sensitiveInformationPolicyConfig.regexesConfig"
    );
    c = with_sip(
        vec![],
        vec![regex("long", &"a".repeat(501), SensitiveAction::Block)],
    );
    assert_eq!(
        err_field(&c),
        "sensitiveInformationPolicyConfig.regexesConfig[0].pattern"
    );

    let words = |ws: Vec<WordConfig>| GuardrailConfig {
        word_policy_config: Some(WordPolicyConfig {
            words_config: Some(ws),
            managed_word_lists_config: None,
        }),
        ..base()
    };
    assert_eq!(
        err_field(&words(
            (0..10_001).map(|i| word(&format!("w{i}"))).collect()
        )),
        "wordPolicyConfig.wordsConfig"
    );
    assert!(
        CompiledGuardrail::compile(&words(
            (0..10_000).map(|i| word(&format!("w{i}"))).collect()
        ))
        .is_ok()
    );
    assert_eq!(
        err_field(&words(vec![word("ok"), word("   ")])),
        "wordPolicyConfig.wordsConfig[1].text"
    );
    assert_eq!(
        err_field(&words(vec![word("")])),
        "wordPolicyConfig.wordsConfig[0].text"
    );
    assert_eq!(
        err_field(&words(vec![word(&"長".repeat(101))])),
        "wordPolicyConfig.wordsConfig[0].text"
    );
    assert_eq!(
        err_field(&GuardrailConfig {
            name: "bad name!".into(),
            ..base()
        }),
        "name"
    );
    assert_eq!(
        err_field(&GuardrailConfig {
            blocked_input_messaging: String::new(),
            ..base()
        }),
        "blockedInputMessaging"
    );
}

#[test]
fn classifier_filters_are_unavailable_and_fail_closed() {
    let c = GuardrailConfig {
        content_policy_config: Some(ContentPolicyConfig {
            filters_config: vec![ContentFilterConfig::new(
                ContentFilterType::PromptAttack,
                FilterStrength::High,
                FilterStrength::None,
            )],
            tier_config: None,
        }),
        ..base()
    };
    let g = CompiledGuardrail::compile(&c).unwrap();
    assert_eq!(g.unavailable_filters().len(), 1);
    assert_eq!(
        g.unavailable_filters()[0].to_string(),
        "contentPolicy PROMPT_ATTACK"
    );
    let r = g.apply(Source::Input, &[ContentBlock::text("hello")]);
    assert_eq!(r.action, GuardrailAction::GuardrailIntervened);
    assert!(
        r.action_reason
            .as_deref()
            .unwrap()
            .contains("PROMPT_ATTACK")
    );
    // Output has strength NONE for prompt attack: nothing to run, nothing blocked.
    assert_eq!(
        g.apply(Source::Output, &[ContentBlock::text("hello")])
            .action,
        GuardrailAction::None
    );
}

#[test]
fn bedrock_json_round_trip() {
    let json = r#"{
        "name": "jp-guard",
        "blockedInputMessaging": "ブロック",
        "blockedOutputsMessaging": "ブロック",
        "wordPolicyConfig": {"wordsConfig": [{"text": "社外秘"}], "managedWordListsConfig": [{"type": "PROFANITY"}]},
        "sensitiveInformationPolicyConfig": {
            "piiEntitiesConfig": [{"type": "EMAIL", "action": "ANONYMIZE", "outputAction": "BLOCK"}, {"type": "JP_MY_NUMBER", "action": "BLOCK", "inputEnabled": true}],
            "regexesConfig": [{"name": "emp", "description": "employee id", "pattern": "EMP-\\d{6}", "action": "ANONYMIZE"}]
        },
        "tags": [{"key": "team", "value": "sec"}]
    }"#;
    let c: GuardrailConfig = serde_json::from_str(json).unwrap();
    let back: GuardrailConfig = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
    assert_eq!(c, back);
    let g = CompiledGuardrail::compile(&c).unwrap();
    let req: sekisho_guard::response::ApplyGuardrailRequest =
        serde_json::from_str(r#"{"source":"INPUT","content":[{"text":{"text":"連絡先 taro@example.jp","qualifiers":["guard_content"]}},{"text":{"text":"not guarded a@b.co"}}]}"#).unwrap();
    let r = g
        .apply_detailed(
            req.source,
            &req.content,
            req.output_scope.unwrap_or(OutputScope::Interventions),
        )
        .response;
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["action"], "GUARDRAIL_INTERVENED");
    assert_eq!(v["outputs"][0]["text"], "連絡先 {EMAIL}");
    assert_eq!(
        v["assessments"][0]["sensitiveInformationPolicy"]["piiEntities"][0]["type"],
        "EMAIL"
    );
    assert_eq!(
        v["assessments"][0]["sensitiveInformationPolicy"]["piiEntities"][0]["match"],
        "taro@example.jp"
    );
    assert_eq!(
        v["assessments"][0]["sensitiveInformationPolicy"]["piiEntities"][0]["action"],
        "ANONYMIZED"
    );
    assert_eq!(v["usage"]["wordPolicyUnits"], 1);
    assert_eq!(v["guardrailCoverage"]["textCharacters"]["guarded"], 19);
    assert_eq!(v["guardrailCoverage"]["textCharacters"]["total"], 37);
    assert!(v["assessments"][0]["invocationMetrics"]["guardrailProcessingLatency"].is_number());
}

#[test]
fn usage_units_per_1000_characters() {
    let g = CompiledGuardrail::compile(&with_sip(
        vec![pii("EMAIL", SensitiveAction::Anonymize)],
        vec![],
    ))
    .unwrap();
    let r = g.apply(
        Source::Input,
        &[
            ContentBlock::text("あ".repeat(1000)),
            ContentBlock::text("a".repeat(1001)),
        ],
    );
    assert_eq!(r.usage.sensitive_information_policy_units, 3);
    assert_eq!(r.usage.word_policy_units, 0);
}

#[test]
fn stream_catches_a_card_split_across_chunks() {
    let g = all_pii();
    let text = "お支払いのカードは 4111 1111 1111 1111 です。ありがとうございました。 More text follows here to flush the buffer.";
    let whole = masked(g, text);
    assert!(whole.contains("{CREDIT_DEBIT_CARD_NUMBER}"), "{whole}");
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (split, &(at, _)) in chars.iter().enumerate().skip(1) {
        let mut s = StreamScanner::new(g, Source::Output);
        let mut out = String::new();
        for chunk in [&text[..at], &text[at..]] {
            let o = s.push(chunk);
            assert!(
                !o.text.contains("4111"),
                "leaked at split {split}: {:?}",
                o.text
            );
            out.push_str(&o.text);
        }
        out.push_str(&s.finish().text);
        assert_eq!(out, whole, "split at {split}");
    }
    // Three-character chunks.
    let mut s = StreamScanner::new(g, Source::Output);
    let mut out = String::new();
    for piece in chars.chunks(3) {
        let (a, b) = (
            piece[0].0,
            piece.last().map(|(i, c)| i + c.len_utf8()).unwrap(),
        );
        out.push_str(&s.push(&text[a..b]).text);
    }
    out.push_str(&s.finish().text);
    assert_eq!(out, whole);
}

#[test]
fn stream_blocks_and_stops() {
    let mut c = config_all(SensitiveAction::Block);
    c.name = "blocker".into();
    let g = CompiledGuardrail::compile(&c).unwrap();
    let mut s = StreamScanner::new(&g, Source::Output);
    let mut released = String::new();
    released.push_str(&s.push("Hello there, the card is 4111 1111 ").text);
    let o =
        s.push("1111 1111 and more words to push past the hold-back window of the stream scanner.");
    released.push_str(&o.text);
    assert!(o.blocked && s.is_blocked());
    assert!(!released.contains("4111"));
    assert!(s.push("more").blocked);
}

/// No input may make the engine slower than linear: adversarial inputs
/// (each a worst case for one detector) of 4x the size must cost about 4x.
/// 1 MB in release builds; a quarter of that in debug builds, which are
/// 20-50x slower.
#[test]
fn linear_time_on_adversarial_input() {
    let mut c = config_all(SensitiveAction::Anonymize);
    c.word_policy_config = Some(WordPolicyConfig {
        words_config: Some((0..100).map(|i| word(&format!("word{i}"))).collect()),
        managed_word_lists_config: Some(vec![ManagedWordsConfig {
            list_type: ManagedWordsType::Profanity,
            input_action: None,
            output_action: None,
            input_enabled: None,
            output_enabled: None,
        }]),
    });
    c.sensitive_information_policy_config
        .as_mut()
        .unwrap()
        .regexes_config = Some(vec![
        regex("r", r"(a|aa)*b", SensitiveAction::Anonymize),
        regex("s", r"x[^y]*y", SensitiveAction::Anonymize),
    ]);
    let g = CompiledGuardrail::compile(&c).unwrap();
    let big_len: usize = if cfg!(debug_assertions) {
        256 << 10
    } else {
        1 << 20
    };
    let units = [
        "1 ",
        "a@",
        "a:",
        "田中",
        "\u{200B}",
        "4",
        "A1",
        "1.",
        "名前:",
        "住所:東",
        "a",
        "x",
        "0-",
        "Aa ",
        "〇",
        "T1",
        "東京都千代田区",
    ];
    for unit in units {
        let small = unit.repeat(big_len / 4 / unit.len());
        let big = unit.repeat(big_len / unit.len());
        let t = |s: &str| {
            (0..2)
                .map(|_| {
                    let start = std::time::Instant::now();
                    std::hint::black_box(g.apply(Source::Input, &[ContentBlock::text(s)]));
                    start.elapsed().as_secs_f64()
                })
                .fold(f64::MAX, f64::min)
        };
        let ts = t(&small).max(0.002);
        let tb = t(&big);
        eprintln!(
            "unit {unit:?}: {} KB {ts:.4}s, {} KB {tb:.4}s",
            big_len / 4096,
            big_len / 1024
        );
        assert!(tb < 20.0, "unit {unit:?}: {tb:.2}s");
        assert!(
            tb / ts < 10.0,
            "unit {unit:?}: {ts:.3}s then {tb:.3}s for 4x the input: not linear"
        );
    }
}

/// Answers HIGH for HATE and NONE for the rest; counts the calls.
#[derive(Debug, Default)]
struct CountingClassifier {
    calls: std::sync::atomic::AtomicUsize,
}

impl sekisho_guard::Classifier for CountingClassifier {
    fn classify(
        &self,
        task: &sekisho_guard::ClassifierTask<'_>,
    ) -> Result<sekisho_guard::ClassifierVerdict, sekisho_guard::classify::ClassifierError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let sekisho_guard::ClassifierTask::Content { filter, .. } = task else {
            return Err(sekisho_guard::classify::ClassifierError(
                "content only".into(),
            ));
        };
        Ok(sekisho_guard::ClassifierVerdict::Confidence(
            if *filter == ContentFilterType::Hate {
                FilterStrength::High
            } else {
                FilterStrength::None
            },
        ))
    }

    fn classify_content(
        &self,
        filters: &[ContentFilterType],
        _source: Source,
        _text: &str,
    ) -> Vec<Result<sekisho_guard::ClassifierVerdict, sekisho_guard::classify::ClassifierError>>
    {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        filters
            .iter()
            .map(|f| {
                Ok(sekisho_guard::ClassifierVerdict::Confidence(
                    if *f == ContentFilterType::Hate {
                        FilterStrength::High
                    } else {
                        FilterStrength::None
                    },
                ))
            })
            .collect()
    }
}

#[test]
fn a_classifier_is_asked_once_for_all_its_filters() {
    let filter = |t, input| ContentFilterConfig::new(t, input, FilterStrength::High);
    let c = GuardrailConfig {
        content_policy_config: Some(ContentPolicyConfig {
            filters_config: vec![
                filter(ContentFilterType::Violence, FilterStrength::High),
                filter(ContentFilterType::Hate, FilterStrength::High),
                filter(ContentFilterType::Sexual, FilterStrength::None),
            ],
            tier_config: None,
        }),
        ..base()
    };
    let counting = std::sync::Arc::new(CountingClassifier::default());
    let mut classifiers = sekisho_guard::Classifiers::default();
    for t in [
        ContentFilterType::Violence,
        ContentFilterType::Hate,
        ContentFilterType::Sexual,
    ] {
        classifiers.content.insert(t, counting.clone());
    }
    let g = CompiledGuardrail::compile_with(&c, &classifiers).unwrap();
    let r = g.apply_detailed(Source::Input, &[ContentBlock::text("x")], OutputScope::Full);
    // One call for the two filters active on input (SEXUAL is NONE there).
    assert_eq!(counting.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(r.response.action, GuardrailAction::GuardrailIntervened);
    let filters = &r.response.assessments[0]
        .content_policy
        .as_ref()
        .unwrap()
        .filters;
    let by_type = |t| filters.iter().find(|f| f.filter_type == t).unwrap();
    // Each answer goes to its own filter.
    assert_eq!(
        by_type(ContentFilterType::Hate).action,
        PolicyAction::Blocked
    );
    assert_eq!(
        by_type(ContentFilterType::Violence).action,
        PolicyAction::None
    );
    assert!(
        filters
            .iter()
            .all(|f| f.filter_type != ContentFilterType::Sexual)
    );
}
