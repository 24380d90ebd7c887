//! Contextual grounding and relevance scores by lexical support: a baseline
//! that needs no model, explains every score, and works the same way for
//! English and Japanese.
//!
//! The texts are cut into *content units*: lower-cased words without
//! stop-words for alphabetic scripts, number runs, and character bigrams of
//! kanji/katakana runs (hiragana carries mostly particles and inflection, so
//! it is skipped).
//!
//! * GROUNDING: each sentence of the answer gets the share of its units found
//!   in the grounding source; numbers count twice, and a sentence with a
//!   figure the source does not have is at most half supported (an invented
//!   figure is the typical hallucination). The score is the mean over sentences pulled
//!   halfway toward the least-supported sentence, so one invented claim in a
//!   long answer still lowers it.
//! * RELEVANCE: the share of the query's units the answer repeats, or — when
//!   the answer does not repeat the question ("Paris.") — how well the answer
//!   is supported by the source sentence that best matches the query
//!   (query coverage × answer support), whichever is higher.
//!
//! What it cannot do: paraphrase with different words lowers the score,
//! negation ("is not") and swapped roles keep it high, and it does not know
//! synonyms across languages. Scores are in [0, 1]; the guardrail blocks
//! below its threshold, as Bedrock does.

use std::collections::HashSet;

use sekisho_guard::classify::ClassifierError;
use sekisho_guard::config::GroundingFilterType;
use sekisho_guard::{Classifier, ClassifierTask, ClassifierVerdict};

use crate::features::normalize;

/// Texts longer than this (bytes, per argument) are refused rather than
/// scored, so a client cannot make the check arbitrarily slow.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// Lexical grounding and relevance ([module docs](self)).
#[derive(Debug, Clone, Copy, Default)]
pub struct GroundingClassifier;

impl GroundingClassifier {
    /// How well `answer` is supported by `source`, in [0, 1].
    pub fn grounding(&self, source: &str, answer: &str) -> f64 {
        let source_units: HashSet<Unit> = units(source).collect();
        let mut supports = Vec::new();
        for sentence in sentences(answer) {
            let mut weight = 0.0_f64;
            let mut found = 0.0_f64;
            let mut invented_figure = false;
            for u in units(sentence) {
                let w = if u.numeric { 2.0 } else { 1.0 };
                weight += w;
                if source_units.contains(&u) {
                    found += w;
                } else if u.numeric {
                    invented_figure = true;
                }
            }
            if weight > 0.0 {
                let support = found / weight;
                supports.push(if invented_figure {
                    support.min(0.5)
                } else {
                    support
                });
            }
        }
        if supports.is_empty() {
            // Nothing checkable ("OK.", punctuation): nothing is invented.
            return 1.0;
        }
        let mean = supports.iter().sum::<f64>() / supports.len() as f64;
        let min = supports.iter().copied().fold(f64::INFINITY, f64::min);
        (mean + min) / 2.0
    }

    /// How relevant `answer` is to `query`, using `source` to connect a
    /// short answer to the question it answers; in [0, 1].
    pub fn relevance(&self, source: &str, query: &str, answer: &str) -> f64 {
        let query_units: HashSet<Unit> = units(query).collect();
        let answer_units: HashSet<Unit> = units(answer).collect();
        if query_units.is_empty() {
            // A query with no content units cannot be judged against.
            return 1.0;
        }
        if answer_units.is_empty() {
            return 0.0;
        }
        let direct = share(&query_units, &answer_units);
        let via_source = sentences(source)
            .map(|s| units(s).collect::<HashSet<Unit>>())
            .map(|s| share(&query_units, &s) * share(&answer_units, &s))
            .fold(0.0, f64::max);
        direct.max(via_source)
    }
}

/// The share of `of` found in `within`.
fn share(of: &HashSet<Unit>, within: &HashSet<Unit>) -> f64 {
    if of.is_empty() {
        return 0.0;
    }
    of.iter().filter(|u| within.contains(*u)).count() as f64 / of.len() as f64
}

impl Classifier for GroundingClassifier {
    fn classify(&self, task: &ClassifierTask<'_>) -> Result<ClassifierVerdict, ClassifierError> {
        let ClassifierTask::Grounding {
            filter,
            grounding_source,
            query,
            text,
        } = task
        else {
            return Err(ClassifierError(
                "the grounding classifier only answers grounding tasks".into(),
            ));
        };
        if [grounding_source, query, text]
            .iter()
            .any(|t| t.len() > MAX_TEXT_BYTES)
        {
            return Err(ClassifierError(format!(
                "grounding texts are limited to {MAX_TEXT_BYTES} bytes each"
            )));
        }
        let score = match filter {
            GroundingFilterType::Grounding => self.grounding(grounding_source, text),
            GroundingFilterType::Relevance => self.relevance(grounding_source, query, text),
        };
        // Two decimals, as Bedrock reports scores.
        Ok(ClassifierVerdict::Score((score * 100.0).round() / 100.0))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Unit {
    text: String,
    numeric: bool,
}

/// Sentences: split after `.`, `!`, `?`, `。`, `！`, `？` and line breaks. A
/// full stop between digits ("3.5") does not end a sentence.
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<char> = None;
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let next = it.peek().map(|&(_, n)| n);
        let ends = match c {
            '。' | '！' | '？' | '!' | '?' | '\n' => true,
            '.' => {
                !(prev.is_some_and(|p| p.is_ascii_digit())
                    && next.is_some_and(|n| n.is_ascii_digit()))
            }
            _ => false,
        };
        if ends {
            let end = i + c.len_utf8();
            out.push(&text[start..end]);
            start = end;
        }
        prev = Some(c);
    }
    out.push(&text[start..]);
    out.into_iter().filter(|s| !s.trim().is_empty())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Alpha,
    Digit,
    Ideographic,
    Other,
}

fn script_of(c: char) -> Script {
    if c.is_ascii_digit() {
        Script::Digit
    } else if is_ideographic(c) {
        Script::Ideographic
    } else if c.is_alphanumeric() && !is_hiragana(c) {
        Script::Alpha
    } else {
        Script::Other
    }
}

fn is_hiragana(c: char) -> bool {
    ('\u{3041}'..='\u{309f}').contains(&c)
}

/// Kanji and katakana (incl. the prolonged sound mark): the content-bearing
/// part of Japanese text.
fn is_ideographic(c: char) -> bool {
    matches!(c,
        '\u{4e00}'..='\u{9fff}'
        | '\u{3400}'..='\u{4dbf}'
        | '\u{f900}'..='\u{faff}'
        | '\u{30a0}'..='\u{30ff}'
        | '々')
}

/// The content units of `text` ([module docs](self)).
fn units(text: &str) -> impl Iterator<Item = Unit> {
    let (norm, _) = normalize(text);
    let mut out = Vec::new();
    let mut run = String::new();
    let mut run_script = Script::Other;
    let flush = |run: &mut String, script: Script, out: &mut Vec<Unit>| {
        match script {
            Script::Alpha => {
                let word = stem(run);
                if word.chars().count() > 1 && !STOP_WORDS.contains(&word) {
                    out.push(Unit {
                        text: word.to_string(),
                        numeric: false,
                    });
                }
            }
            Script::Digit => out.push(Unit {
                text: run.clone(),
                numeric: true,
            }),
            Script::Ideographic => {
                let chars: Vec<char> = run.chars().collect();
                if chars.len() == 1 {
                    out.push(Unit {
                        text: run.clone(),
                        numeric: false,
                    });
                }
                for pair in chars.windows(2) {
                    out.push(Unit {
                        text: pair.iter().collect(),
                        numeric: false,
                    });
                }
            }
            Script::Other => {}
        }
        run.clear();
    };
    let mut chars = norm.chars().peekable();
    while let Some(c) = chars.next() {
        let mut script = script_of(c);
        // "3.5" and "1,000" stay one number.
        if (c == '.' || c == ',')
            && run_script == Script::Digit
            && chars.peek().is_some_and(|n| n.is_ascii_digit())
        {
            script = Script::Digit;
        }
        if script != run_script {
            flush(&mut run, run_script, &mut out);
            run_script = script;
        }
        if script != Script::Other {
            run.push(c);
        }
    }
    flush(&mut run, run_script, &mut out);
    out.into_iter()
}

/// A light English stemmer: plural and common verb endings, so "policies"
/// and "policy", "applied" and "applies" meet.
fn stem(word: &str) -> &str {
    for suffix in ["ies", "ied", "ing", "ed", "s"] {
        if let Some(base) = word.strip_suffix(suffix)
            && base.chars().count() >= 3
        {
            return base;
        }
    }
    word
}

/// English function words (after stemming), which say nothing about support.
const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "been", "before", "being", "but", "by", "can", "could", "did", "do", "doe", "does", "for",
    "from", "had", "has", "have", "he", "her", "here", "him", "his", "how", "if", "in", "into",
    "is", "it", "its", "just", "may", "me", "might", "more", "most", "much", "must", "my", "no",
    "not", "of", "on", "only", "or", "other", "our", "out", "over", "per", "shall", "she",
    "should", "so", "some", "such", "than", "that", "the", "their", "them", "then", "there",
    "these", "they", "thi", "this", "those", "to", "too", "under", "up", "us", "very", "wa", "was",
    "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with",
    "would", "yes", "you", "your",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        units(text).map(|u| u.text).collect()
    }

    #[test]
    fn units_by_script() {
        assert_eq!(
            words("The policies were applied in 2024."),
            ["polic", "appl", "2024"]
        );
        // Kanji runs give bigrams, hiragana is skipped, numbers stay whole.
        assert_eq!(
            words("有給休暇は10日です"),
            ["有給", "給休", "休暇", "10", "日"]
        );
        assert_eq!(words("3.5% and 1,000 yen"), ["3.5", "1,000", "yen"]);
    }

    #[test]
    fn sentences_keep_decimals() {
        let s: Vec<&str> = sentences("Rate is 3.5 percent. Next one! 次です。").collect();
        assert_eq!(s, ["Rate is 3.5 percent.", " Next one!", " 次です。"]);
    }

    const SOURCE_EN: &str = "Employees receive 20 days of paid leave per year. \
        Unused leave can be carried over for one year. The capital of France is Paris.";

    #[test]
    fn grounded_answer_scores_high() {
        let g = GroundingClassifier;
        assert!(
            g.grounding(
                SOURCE_EN,
                "Employees receive 20 days of paid leave per year."
            ) > 0.95
        );
    }

    #[test]
    fn invented_number_lowers_grounding() {
        let g = GroundingClassifier;
        let right = g.grounding(SOURCE_EN, "Employees receive 20 days of paid leave.");
        let wrong = g.grounding(SOURCE_EN, "Employees receive 30 days of paid leave.");
        assert!(right > 0.9, "{right}");
        assert!(wrong < 0.7, "{wrong}");
    }

    #[test]
    fn one_invented_sentence_pulls_the_score_down() {
        let g = GroundingClassifier;
        let score = g.grounding(
            SOURCE_EN,
            "Employees receive 20 days of paid leave per year. \
             Managers also get a company car and stock options.",
        );
        assert!(score < 0.6, "{score}");
    }

    #[test]
    fn japanese_grounding() {
        let g = GroundingClassifier;
        let source =
            "年次有給休暇は、入社6か月後に10日付与されます。未使用分は翌年に繰り越せます。";
        let good = g.grounding(source, "入社6か月後に10日の有給休暇が付与されます。");
        let bad = g.grounding(source, "入社直後に20日の特別休暇が支給されます。");
        assert!(good > 0.9, "{good}");
        assert!(bad < 0.5, "{bad}");
    }

    #[test]
    fn relevance_direct_and_via_source() {
        let g = GroundingClassifier;
        let q = "What is the capital of France?";
        assert!(g.relevance(SOURCE_EN, q, "The capital of France is Paris.") > 0.9);
        // A bare answer is tied to the question through the source.
        assert!(g.relevance(SOURCE_EN, q, "Paris.") > 0.9);
        // An answer about something else is not.
        let off = g.relevance(SOURCE_EN, q, "Unused leave can be carried over.");
        assert!(off < 0.3, "{off}");
    }

    #[test]
    fn japanese_relevance() {
        let g = GroundingClassifier;
        let source = "年次有給休暇は、入社6か月後に10日付与されます。社員食堂は12時に開きます。";
        let q = "有給休暇は何日もらえますか？";
        let on = g.relevance(source, q, "10日付与されます。");
        let off = g.relevance(source, q, "社員食堂は12時に開きます。");
        assert!(on > 0.5, "{on}");
        assert!(off < 0.3, "{off}");
    }

    #[test]
    fn classify_rounds_and_refuses_oversized_texts() {
        let g = GroundingClassifier;
        let verdict = g
            .classify(&ClassifierTask::Grounding {
                filter: GroundingFilterType::Grounding,
                grounding_source: SOURCE_EN,
                query: "leave?",
                text: "You get 30 days of paid leave.",
            })
            .unwrap();
        let ClassifierVerdict::Score(s) = verdict else {
            panic!("expected a score, got {verdict:?}")
        };
        assert_eq!(s, (s * 100.0).round() / 100.0);
        let huge = "a".repeat(MAX_TEXT_BYTES + 1);
        assert!(
            g.classify(&ClassifierTask::Grounding {
                filter: GroundingFilterType::Relevance,
                grounding_source: &huge,
                query: "q",
                text: "t",
            })
            .is_err()
        );
    }
}
