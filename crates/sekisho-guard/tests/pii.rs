//! Every entity type: positives (EN and JA) and hard negatives.

mod common;
use common::*;

const POSITIVES: &[(&str, &str, &str)] = &[
    // (text, type, the original text that must be reported)
    (
        "Contact me at john.doe@example.com today",
        "EMAIL",
        "john.doe@example.com",
    ),
    (
        "Visit https://example.com/path?q=1.",
        "URL",
        "https://example.com/path?q=1",
    ),
    (
        "server 192.168.10.25 is down",
        "IP_ADDRESS",
        "192.168.10.25",
    ),
    (
        "addr 2001:db8::8a2e:370:7334 ok",
        "IP_ADDRESS",
        "2001:db8::8a2e:370:7334",
    ),
    (
        "MAC 00:1A:2B:3C:4D:5E here",
        "MAC_ADDRESS",
        "00:1A:2B:3C:4D:5E",
    ),
    (
        "my card 4111 1111 1111 1111 please",
        "CREDIT_DEBIT_CARD_NUMBER",
        "4111 1111 1111 1111",
    ),
    (
        "Amex 378282246310005",
        "CREDIT_DEBIT_CARD_NUMBER",
        "378282246310005",
    ),
    (
        "JCB 3530-1113-3330-0000",
        "CREDIT_DEBIT_CARD_NUMBER",
        "3530-1113-3330-0000",
    ),
    ("card expiry 12/28", "CREDIT_DEBIT_CARD_EXPIRY", "12/28"),
    ("the CVV is 123", "CREDIT_DEBIT_CARD_CVV", "123"),
    (
        "SSN 123-45-6789",
        "US_SOCIAL_SECURITY_NUMBER",
        "123-45-6789",
    ),
    (
        "my social security number is 123456789",
        "US_SOCIAL_SECURITY_NUMBER",
        "123456789",
    ),
    (
        "ITIN 912-70-1234",
        "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
        "912-70-1234",
    ),
    (
        "SIN 046 454 286",
        "CA_SOCIAL_INSURANCE_NUMBER",
        "046 454 286",
    ),
    (
        "routing number 021000021",
        "US_BANK_ROUTING_NUMBER",
        "021000021",
    ),
    (
        "bank account number 12345678901",
        "US_BANK_ACCOUNT_NUMBER",
        "12345678901",
    ),
    (
        "NHS number 943 476 5919",
        "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
        "943 476 5919",
    ),
    (
        "NI number AB 12 34 56 C",
        "UK_NATIONAL_INSURANCE_NUMBER",
        "AB 12 34 56 C",
    ),
    (
        "my UTR is 1234567890",
        "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER",
        "1234567890",
    ),
    (
        "OHIP health card 1234-567-890",
        "CA_HEALTH_NUMBER",
        "1234-567-890",
    ),
    (
        "IBAN GB82 WEST 1234 5698 7654 32",
        "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
        "GB82 WEST 1234 5698 7654 32",
    ),
    (
        "IBAN DE89370400440532013000 ok",
        "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
        "DE89370400440532013000",
    ),
    ("SWIFT code DEUTDEFF", "SWIFT_CODE", "DEUTDEFF"),
    ("send via BOFAUS3N", "SWIFT_CODE", "BOFAUS3N"),
    (
        "VIN 1M8GDM9AXKP042788",
        "VEHICLE_IDENTIFICATION_NUMBER",
        "1M8GDM9AXKP042788",
    ),
    (
        "key AKIAIOSFODNN7EXAMPLE",
        "AWS_ACCESS_KEY",
        "AKIAIOSFODNN7EXAMPLE",
    ),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_SECRET_KEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    (
        "passport number 123456789",
        "US_PASSPORT_NUMBER",
        "123456789",
    ),
    ("driver's license: D1234567", "DRIVER_ID", "D1234567"),
    ("license plate: 7ABC123", "LICENSE_PLATE", "7ABC123"),
    ("Password: hunter2!", "PASSWORD", "hunter2!"),
    ("username: jdoe42", "USERNAME", "jdoe42"),
    ("PIN: 4821", "PIN", "4821"),
    ("Call 212-555-0123 now", "PHONE", "212-555-0123"),
    ("phone +1 (212) 555-0123", "PHONE", "+1 (212) 555-0123"),
    ("London +44 20 7946 0958", "PHONE", "+44 20 7946 0958"),
    ("Mr. John Smith arrived", "NAME", "John Smith"),
    ("Name: Alice Walker", "NAME", "Alice Walker"),
    ("yesterday John Smith called", "NAME", "John Smith"),
    ("He is 42 years old", "AGE", "42 years old"),
    (
        "I live at 123 Main Street, Springfield, IL 62704.",
        "ADDRESS",
        "123 Main Street, Springfield, IL 62704",
    ),
    // Japanese
    (
        "マイナンバー：9832 0567 3214",
        "JP_MY_NUMBER",
        "9832 0567 3214",
    ),
    ("個人番号は983205673214です", "JP_MY_NUMBER", "983205673214"),
    (
        "法人番号 7010705000725",
        "JP_CORPORATE_NUMBER",
        "7010705000725",
    ),
    (
        "登録番号 T7010705000725",
        "JP_CORPORATE_NUMBER",
        "T7010705000725",
    ),
    ("携帯 090-1234-5678 まで", "JP_PHONE", "090-1234-5678"),
    ("電話：03-1234-5678", "JP_PHONE", "03-1234-5678"),
    ("代表 (03)1234-5678", "JP_PHONE", "(03)1234-5678"),
    ("〒100-0001 東京都", "JP_POSTAL_CODE", "100-0001"),
    (
        "送り先は東京都千代田区千代田1-1です",
        "ADDRESS",
        "東京都千代田区千代田1-1",
    ),
    (
        "住所：大阪府大阪市北区梅田1-2-3",
        "ADDRESS",
        "大阪府大阪市北区梅田1-2-3",
    ),
    (
        "運転免許証番号 301234567890",
        "JP_DRIVERS_LICENSE",
        "301234567890",
    ),
    ("パスポート番号 TK1234567", "JP_PASSPORT", "TK1234567"),
    (
        "在留カード AB12345678CD",
        "JP_RESIDENCE_CARD",
        "AB12345678CD",
    ),
    ("口座番号 普通 1234567", "JP_BANK_ACCOUNT", "1234567"),
    (
        "保険者番号 01040013",
        "JP_HEALTH_INSURANCE_NUMBER",
        "01040013",
    ),
    ("氏名：山田 太郎", "NAME", "山田 太郎"),
    ("昨日田中さんに連絡した", "NAME", "田中"),
    ("佐藤様へ", "NAME", "佐藤"),
    ("担当の鈴木 一郎です", "NAME", "鈴木 一郎"),
    ("山田太郎(ヤマダタロウ)", "NAME", "山田太郎(ヤマダタロウ)"),
    ("年齢：35歳", "AGE", "35"),
    ("息子は5歳です", "AGE", "5歳"),
    ("品川 300 さ 12-34", "LICENSE_PLATE", "品川 300 さ 12-34"),
    (
        "カード番号 ４１１１－１１１１－１１１１－１１１１",
        "CREDIT_DEBIT_CARD_NUMBER",
        "４１１１－１１１１－１１１１－１１１１",
    ),
    ("パスワードは abc123XYZ です", "PASSWORD", "abc123XYZ"),
    ("暗証番号は1234です", "PIN", "1234"),
    (
        "メール：taro.yamada@example.co.jp",
        "EMAIL",
        "taro.yamada@example.co.jp",
    ),
];

#[test]
fn positives() {
    let g = all_pii();
    let mut failures = Vec::new();
    for (text, ty, want) in POSITIVES {
        let got = detect(g, text);
        if !got.iter().any(|(t, m)| t == ty && m == want) {
            failures.push(format!("{text:?}: want {ty} {want:?}, got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

const NEGATIVES: &[&str] = &[
    "4111 1111 1111 1112",
    "card 4111111111111112",
    "マイナンバー 983205673210",
    "法人番号 7010705000726",
    "The release date is 2024-01-15.",
    "2024/01/15 に発売",
    "価格は¥1,234,567です",
    "合計 1,234,567円",
    "注文番号：0312345678",
    "注文番号 12345678 のご確認",
    "version 1.2.3.4 released",
    "upgrade to v2.10.3 today",
    "ISBN 978-4-06-519791-2",
    "983205673214",
    "Call me at 5 pm",
    "The meeting is on 12/25",
    "It grew 1.5 million times",
    "お客様各位",
    "皆様、こんにちは",
    "東京都知事が発表した",
    "SIN 046 454 287",
    "IBAN GB82 WEST 1234 5698 7654 33",
    "routing 021000022",
    "NHS 943 476 5918",
    "1M8GDM9A1KP042788",
    "at 10:30:00 sharp",
    "pi is 3.14159",
    "New York is big",
    "The Company reported",
    "在庫は100個です",
    "2024年1月15日",
    "第3四半期の売上",
    "一人で統一する",
    "PROJECT ALPHA-7 STATUS",
];

#[test]
fn hard_negatives() {
    let g = all_pii();
    let mut failures = Vec::new();
    for text in NEGATIVES {
        let got = detect(g, text);
        if !got.is_empty() {
            failures.push(format!("{text:?}: got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_entity_type_has_a_positive() {
    for t in sekisho_guard::EntityType::ALL {
        assert!(
            POSITIVES.iter().any(|(_, ty, _)| *ty == t.as_str()),
            "no positive example for {}",
            t.as_str()
        );
    }
}

#[test]
fn evasions() {
    let g = all_pii();
    let cases: &[(&str, &str, &str)] = &[
        (
            "カード ４１１１ １１１１ １１１１ １１１１",
            "CREDIT_DEBIT_CARD_NUMBER",
            "４１１１ １１１１ １１１１ １１１１",
        ),
        (
            "携帯は〇九〇‐一二三四‐五六七八です",
            "JP_PHONE",
            "〇九〇‐一二三四‐五六七八",
        ),
        (
            "card 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 ok",
            "CREDIT_DEBIT_CARD_NUMBER",
            "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
        ),
        (
            "mail j\u{200B}ohn@exa\u{200C}mple.com now",
            "EMAIL",
            "j\u{200B}ohn@exa\u{200C}mple.com",
        ),
        (
            "pay 4111\u{200B}1111\u{200B}1111\u{200B}1111 now",
            "CREDIT_DEBIT_CARD_NUMBER",
            "4111\u{200B}1111\u{200B}1111\u{200B}1111",
        ),
        (
            "SSN 123\u{2010}45\u{2212}6789",
            "US_SOCIAL_SECURITY_NUMBER",
            "123\u{2010}45\u{2212}6789",
        ),
        (
            "card 41\u{AD}11 1111 1111 1111",
            "CREDIT_DEBIT_CARD_NUMBER",
            "41\u{AD}11 1111 1111 1111",
        ),
        (
            "携帯 ０９０ー１２３４ー５６７８",
            "JP_PHONE",
            "０９０ー１２３４ー５６７８",
        ),
        (
            "ｍａｉｌ：ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ",
            "EMAIL",
            "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ",
        ),
        (
            "マイナンバー　９８３２　０５６７　３２１４",
            "JP_MY_NUMBER",
            "９８３２　０５６７　３２１４",
        ),
        (
            "date 2024-01-15 4111 1111 1111 1111",
            "CREDIT_DEBIT_CARD_NUMBER",
            "4111 1111 1111 1111",
        ),
    ];
    let mut failures = Vec::new();
    for (text, ty, want) in cases {
        let got = detect(g, text);
        if !got.iter().any(|(t, m)| t == ty && m == want) {
            failures.push(format!("{text:?}: want {ty} {want:?}, got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn masking_replaces_only_the_match() {
    let g = all_pii();
    assert_eq!(
        masked(g, "携帯は〇九〇‐一二三四‐五六七八です"),
        "携帯は{JP_PHONE}です"
    );
    assert_eq!(
        masked(g, "mail j\u{200B}ohn@example.com\u{200B} now"),
        "mail {EMAIL}\u{200B} now"
    );
    assert_eq!(
        masked(g, "〒100-0001 東京都千代田区千代田1-1"),
        "〒{JP_POSTAL_CODE} {ADDRESS}"
    );
}

/// Overlap resolution between numeric types: the number's own label,
/// checksum validity and whole-run matching decide, in that order.
#[test]
fn overlapping_numeric_types() {
    let g = all_pii();
    let cases: &[(&str, &[(&str, &str)])] = &[
        // A valid ABA routing number that also has SSN structure, with an
        // SSN label elsewhere in the text, is a routing number.
        (
            "SSN 078-05-1120; routing number 122105155",
            &[
                ("US_SOCIAL_SECURITY_NUMBER", "078-05-1120"),
                ("US_BANK_ROUTING_NUMBER", "122105155"),
            ],
        ),
        (
            "routing number 322271627, SSN 219-09-9999",
            &[
                ("US_BANK_ROUTING_NUMBER", "322271627"),
                ("US_SOCIAL_SECURITY_NUMBER", "219-09-9999"),
            ],
        ),
        // Hard negative: a routing number with a wrong check digit is no
        // SSN just because an SSN label follows it.
        (
            "routing number 122105156; SSN 219-09-9999",
            &[("US_SOCIAL_SECURITY_NUMBER", "219-09-9999")],
        ),
        // Hard negatives: a card with a wrong Luhn digit is not a phone
        // number in part, whatever separators it has.
        (
            "card 4111-1111-1111-1112; call me at 212-555-0123",
            &[("PHONE", "212-555-0123")],
        ),
        (
            "my card number is 3782 822463 10006 ok, phone 212-555-0123",
            &[("PHONE", "212-555-0123")],
        ),
        ("phone 5387 4137 3320 6431", &[]),
        // ... nor is the tail of an IBAN with a wrong check.
        (
            "IBAN GB00 WEST 1234 5698 7654 32; call me at +1 212 555 0123",
            &[("PHONE", "+1 212 555 0123")],
        ),
        ("IBAN NL00 ABCD 0401 4715 71", &[]),
        // A version label describes the number it stands before, not one
        // in the next sentence.
        ("firmware version 10.20.30.40", &[]),
        (
            "Upgrade from the previous version. 10.20.30.40 is the new gateway.",
            &[("IP_ADDRESS", "10.20.30.40")],
        ),
        (
            "今回のバージョン。10.20.30.40 に接続してください。",
            &[("IP_ADDRESS", "10.20.30.40")],
        ),
        // A phone number glued to a date by a space is still read whole.
        (
            "携帯 090-1234-5678 2024年3月",
            &[("JP_PHONE", "090-1234-5678")],
        ),
        // 〒 names a postal code even with a phone label nearby.
        (
            "電話番号は03-1234-5678、〒100-0001",
            &[("JP_PHONE", "03-1234-5678"), ("JP_POSTAL_CODE", "100-0001")],
        ),
        (
            "〒100-0001、電話 03-1234-5678",
            &[("JP_POSTAL_CODE", "100-0001"), ("JP_PHONE", "03-1234-5678")],
        ),
        // Hard negative: without 〒 or a postal label, a phone-labelled
        // 3-4 number is not a postal code.
        ("電話 123-4567", &[("PHONE", "123-4567")]),
        // Numbers labelled as one identifier that fail its check are not
        // taken as another (a phone, a card).
        (
            "SSN 123-00-4567; call me at 212-555-0123",
            &[("PHONE", "212-555-0123")],
        ),
        (
            "マイナンバーは9832 0567 3210、電話番号は03-1234-5678",
            &[("JP_PHONE", "03-1234-5678")],
        ),
        ("法人番号：4000000000006", &[]),
        // A label made of two keywords: the My Number card.
        (
            "マイナンバーカードの番号 9832 0567 3214",
            &[("JP_MY_NUMBER", "9832 0567 3214")],
        ),
        // A label after the number still counts when it labels no other.
        ("reach me on 555-0123 (cell)", &[("PHONE", "555-0123")]),
    ];
    let mut failures = Vec::new();
    for (text, want) in cases {
        let got = detect(g, text);
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(t, m)| (t.to_string(), m.to_string()))
            .collect();
        if got != want {
            failures.push(format!("{text:?}: want {want:?}, got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
