//! Property: masking changes exactly the entity's characters. Random
//! surrounding text (Japanese, English, emoji, spaces; nothing that is or
//! forms PII) plus one inserted entity must come back byte for byte, with
//! only the entity replaced by its tag.

mod common;
use common::*;
use proptest::prelude::*;

const FILLER: &[&str] = &[
    "これは",
    "テスト",
    "です",
    "。",
    "、",
    " hello ",
    " world ",
    "\n",
    "データ",
    "確認",
    "🙂",
    "  ",
    "ｶﾀｶﾅ",
    "\t",
    "the end",
    "（注）",
];

const ENTITIES: &[(&str, &str)] = &[
    ("taro@example.co.jp", "{EMAIL}"),
    ("4111 1111 1111 1111", "{CREDIT_DEBIT_CARD_NUMBER}"),
    ("192.168.0.1", "{IP_ADDRESS}"),
    ("AKIAIOSFODNN7EXAMPLE", "{AWS_ACCESS_KEY}"),
    ("090-1234-5678", "{JP_PHONE}"),
    (
        "GB82 WEST 1234 5698 7654 32",
        "{INTERNATIONAL_BANK_ACCOUNT_NUMBER}",
    ),
    ("https://example.com/a?b=c", "{URL}"),
    ("〇九〇‐一二三四‐五六七八", "{JP_PHONE}"),
    ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "{EMAIL}"),
    (
        "4111\u{200B}1111\u{200B}1111\u{200B}1111",
        "{CREDIT_DEBIT_CARD_NUMBER}",
    ),
];

fn filler() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FILLER), 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn only_the_entity_changes(prefix in filler(), suffix in filler(), which in 0..ENTITIES.len()) {
        let g = all_pii();
        let (entity, tag) = ENTITIES[which];
        let text = format!("{prefix} {entity} {suffix}");
        let out = masked(g, &text);
        prop_assert_eq!(out, format!("{prefix} {tag} {suffix}"));
    }

    #[test]
    fn filler_alone_is_untouched(text in filler()) {
        let g = all_pii();
        prop_assert_eq!(masked(g, &text), text);
    }

    /// Any input at all: no panic, and text outside masks is preserved in order.
    #[test]
    fn never_panics(text in "\\PC{0,200}") {
        let g = all_pii();
        let _ = masked(g, &text);
        let _ = sekisho_guard::Normalized::new(&text);
    }
}
