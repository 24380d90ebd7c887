//! Japanese names and addresses: the dictionaries and the validators the
//! pattern table calls. Regexes find the shapes (a kanji run before an
//! honorific, a prefecture followed by place names); these functions decide
//! which part is the name or whether the place is an address.

use std::collections::HashSet;
use std::sync::LazyLock;

/// Surnames from `japanese-personal-name-dataset` (MIT); see data/PROVENANCE.md.
static SURNAMES: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| lines(include_str!("../../data/ja_surnames.txt")));
/// Given names (kanji) from the same package and Faker's ja_JP provider (MIT).
static GIVEN_NAMES: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| lines(include_str!("../../data/ja_given_names.txt")));

fn lines(s: &'static str) -> HashSet<&'static str> {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect()
}

pub fn is_surname(s: &str) -> bool {
    SURNAMES.contains(s)
}

pub fn is_given_name(s: &str) -> bool {
    GIVEN_NAMES.contains(s)
}

/// The 47 prefectures, a closed list.
pub const PREFECTURES: &[&str] = &[
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
];

/// Words that take an honorific but are not names (お客様, 皆様, 神様 ...):
/// checked on the character right before the honorific.
const NOT_NAME_BEFORE_HONORIFIC: &[char] = &[
    '客', '皆', '神', '仏', '王', '奥', '子', '親', '嬢', '方', '者', '員', '長', '様', '同', '模',
    '殿',
];

/// Katakana words that take さん but are not names.
const KATAKANA_STOP: &[&str] = &[
    "ママ",
    "パパ",
    "ボス",
    "プロ",
    "ゲスト",
    "メイド",
    "ユーザー",
    "ユーザ",
    "オーナー",
    "スタッフ",
    "コーチ",
    "ファン",
    "ドライバー",
    "マスター",
    "シェフ",
    "サンタ",
    "ナース",
    "オバ",
    "オジ",
];

/// `run` is the text before an honorific (様, さん, 氏 ...). Returns the byte
/// range within `run` that is a name: the longest suffix of the run that
/// starts with a known surname followed by at most three characters (a
/// given name), or a katakana name of two or more characters.
pub fn name_before_honorific(run: &str) -> Option<(usize, usize)> {
    if run
        .chars()
        .next_back()
        .is_some_and(|c| NOT_NAME_BEFORE_HONORIFIC.contains(&c))
    {
        return None;
    }
    if run.chars().all(is_katakana) {
        return (run.chars().count() >= 2 && !KATAKANA_STOP.contains(&run))
            .then_some((0, run.len()));
    }
    for (start, _) in run.char_indices() {
        let tail = &run[start..];
        let total = tail.chars().count();
        for (k, (end, _)) in tail
            .char_indices()
            .skip(1)
            .chain([(tail.len(), ' ')])
            .enumerate()
        {
            let surname_chars = k + 1;
            if surname_chars > 4 {
                break;
            }
            let rest = total - surname_chars;
            if rest <= 3
                && is_surname(&tail[..end])
                && (rest == 0 || rest >= 1 && (is_given_name(&tail[end..]) || rest <= 2))
            {
                // A one-character surname alone before the honorific is
                // credible only when it is the whole run (林さん, not 大林さん
                // read as 林).
                if surname_chars == 1 && rest == 0 && start != 0 {
                    continue;
                }
                return Some((start, run.len()));
            }
        }
    }
    None
}

/// "山田 太郎" (surname, space, given name): both parts must be in the lists.
pub fn spaced_full_name(first: &str, second: &str) -> bool {
    is_surname(first)
        && (is_given_name(second) || second.chars().count() <= 2 && second.chars().all(is_kanji))
}

/// "山田太郎(ヤマダタロウ)": the kanji part must start with a surname;
/// returns where the name starts within `kanji`.
pub fn name_with_furigana(kanji: &str) -> Option<usize> {
    for (start, _) in kanji.char_indices() {
        let tail = &kanji[start..];
        let ends = tail
            .char_indices()
            .map(|(i, _)| i)
            .skip(1)
            .take(3)
            .chain([tail.len()]);
        for end in ends {
            if is_surname(&tail[..end]) && tail[end..].chars().count() <= 3 {
                return Some(start);
            }
        }
    }
    None
}

pub fn is_katakana(c: char) -> bool {
    matches!(c, '\u{30A1}'..='\u{30FA}' | '\u{30FC}')
}

pub fn is_kanji(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3005}')
}

/// After a prefecture, is the rest an address (a municipality suffix or a
/// block number), not "東京都知事" or "大阪府警"?
pub fn address_tail_ok(tail: &str) -> bool {
    let has_municipality = tail
        .chars()
        .take(12)
        .any(|c| matches!(c, '市' | '区' | '町' | '村' | '郡'));
    let has_block = tail.bytes().any(|b| b.is_ascii_digit()) || tail.contains("丁目");
    has_municipality || has_block && tail.chars().count() >= 3
}

/// Where a labelled address value ends: before the first particle or
/// sentence punctuation, trailing spaces trimmed.
pub fn trim_address_value(v: &str) -> &str {
    v.trim_end_matches([' ', '-'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn honorifics() {
        assert!(is_surname("田中") && is_surname("佐藤"));
        assert_eq!(name_before_honorific("田中"), Some((0, 6)));
        assert_eq!(name_before_honorific("昨日田中"), Some((6, 12)));
        assert_eq!(name_before_honorific("山田太郎"), Some((0, 12)));
        assert_eq!(name_before_honorific("お客"), None);
        assert_eq!(name_before_honorific("皆"), None);
        assert_eq!(name_before_honorific("スミス"), Some((0, 9)));
        assert_eq!(name_before_honorific("ママ"), None);
    }

    #[test]
    fn addresses() {
        assert!(address_tail_ok("千代田区千代田1-1"));
        assert!(!address_tail_ok("知事"));
    }
}
