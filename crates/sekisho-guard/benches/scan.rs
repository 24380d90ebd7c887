//! Throughput of one guardrail over ~1 MB of mixed Japanese/English text:
//! every PII type (ANONYMIZE), 100 custom words, the profanity list and 10
//! custom regexes, with a few entities sprinkled in. Criterion reports the
//! throughput in MiB/s on one core.

mod common;

use common::guardrail;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sekisho_guard::config::*;
use sekisho_guard::{CompiledGuardrail, ContentBlock, EntityType, GuardrailConfig, Source};

/// ~1 MB: alternating Japanese and English paragraphs, an entity every ~20 KB.
pub fn corpus() -> String {
    let ja = "本日は弊社の新しいサービスについてご説明いたします。生成AIを安全に活用するためには、入力と出力の両方を確認する仕組みが欠かせません。\
              私たちは、お客様のデータを保護しながら、業務の効率化を支援します。会議は来週の火曜日に予定されており、資料は事前に共有します。\n";
    let en = "The quarterly report shows steady growth across all regions, and the team expects the new release to ship next month. \
              Please review the attached design document before the meeting and send your comments by Friday.\n";
    let entities = [
        "連絡先は taro.yamada@example.co.jp です。",
        "携帯 090-1234-5678 までお電話ください。",
        "card 4111 1111 1111 1111 exp 12/28",
        "マイナンバー：9832 0567 3214",
        "〒100-0001 東京都千代田区千代田1-1",
        "Mr. John Smith will attend.",
        "社員 EMP-123456 の件",
        "田中さんに確認しました。",
    ];
    let mut s = String::with_capacity(1 << 20);
    let mut i = 0;
    while s.len() < 1 << 20 {
        s.push_str(if i % 2 == 0 { ja } else { en });
        if i % 60 == 59 {
            s.push_str(entities[(i / 60) % entities.len()]);
            s.push('\n');
        }
        i += 1;
    }
    s
}

fn bench(c: &mut Criterion) {
    let g = guardrail();
    let text = corpus();
    let content = [ContentBlock::text(text.clone())];
    let mut group = c.benchmark_group("scan");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("all_pii_100_words_10_regexes_1MB_ja_en", |b| {
        b.iter(|| g.apply(Source::Input, &content))
    });
    // The parts, to see where the time goes.
    let blocks: Vec<[ContentBlock; 1]> = chunks(&text, 4096)
        .map(|c| [ContentBlock::text(c.to_string())])
        .collect();
    group.bench_function("all_pii_100_words_10_regexes_4KiB_blocks", |b| {
        b.iter(|| {
            for block in &blocks {
                std::hint::black_box(g.apply(Source::Input, block));
            }
        })
    });
    group.bench_function("part_normalize", |b| {
        b.iter(|| sekisho_guard::Normalized::new(&text))
    });
    let norm = sekisho_guard::Normalized::new(&text);
    let mut all = sekisho_guard::pii::entities::EntitySet::default();
    for t in EntityType::ALL {
        all.insert(*t);
    }
    let det = sekisho_guard::pii::PiiDetector::new(all).expect("detector");
    group.bench_function("part_pii_detect", |b| b.iter(|| det.detect(norm.text())));
    let words_only = CompiledGuardrail::compile(&GuardrailConfig {
        sensitive_information_policy_config: None,
        ..g.config().clone()
    })
    .expect("words");
    group.bench_function("part_words", |b| {
        b.iter(|| words_only.scan_text(Source::Input, &text))
    });
    group.finish();
}

/// The same guardrail with every model-based filter on, on the embedded
/// classifiers: the five content filters and PROMPT_ATTACK at HIGH, and one
/// denied topic. Measured over the corpus as one block and as prompt-sized
/// 4 KiB blocks (each block is one `apply`, as a request would be).
fn bench_with_classifiers(c: &mut Criterion) {
    let mut config = guardrail().config().clone();
    let filters = [
        ContentFilterType::Hate,
        ContentFilterType::Insults,
        ContentFilterType::Sexual,
        ContentFilterType::Violence,
        ContentFilterType::Misconduct,
        ContentFilterType::PromptAttack,
    ]
    .map(|t| {
        let output = if t == ContentFilterType::PromptAttack {
            FilterStrength::None
        } else {
            FilterStrength::High
        };
        ContentFilterConfig::new(t, FilterStrength::High, output)
    });
    config.content_policy_config = Some(ContentPolicyConfig {
        filters_config: filters.to_vec(),
        tier_config: None,
    });
    config.topic_policy_config = Some(TopicPolicyConfig {
        topics_config: vec![TopicConfig {
            name: "投資助言".into(),
            definition: "特定の銘柄や金融商品の売買を勧める投資助言。".into(),
            examples: Some(vec![
                "どの株を買えばいいですか？".into(),
                "Which stocks should I buy this year?".into(),
            ]),
            topic_type: TopicType::Deny,
            input_action: None,
            output_action: None,
            input_enabled: None,
            output_enabled: None,
        }],
        tier_config: None,
    });
    let g = CompiledGuardrail::compile_with(&config, &sekisho_classify::embedded())
        .expect("bench guardrail with classifiers compiles");
    assert!(
        g.unavailable_filters().is_empty(),
        "every classifier is embedded"
    );
    let text = corpus();
    let whole = [ContentBlock::text(text.clone())];
    let blocks: Vec<[ContentBlock; 1]> = chunks(&text, 4096)
        .map(|c| [ContentBlock::text(c.to_string())])
        .collect();
    let mut group = c.benchmark_group("scan_with_classifiers");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("one_block_1MB_ja_en", |b| {
        b.iter(|| g.apply(Source::Input, &whole))
    });
    group.bench_function("4KiB_blocks_1MB_ja_en", |b| {
        b.iter(|| {
            for block in &blocks {
                std::hint::black_box(g.apply(Source::Input, block));
            }
        })
    });
    group.finish();
}

/// `text` cut into pieces of about `size` bytes, at character boundaries.
fn chunks(text: &str, size: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = size.min(rest.len());
        while !rest.is_char_boundary(end) {
            end += 1;
        }
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

criterion_group!(benches, bench, bench_with_classifiers);
criterion_main!(benches);
