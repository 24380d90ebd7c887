//! Custom regexes (`regexesConfig`, at most 30): each compiled on its own
//! with regex-automata (finite automata only, so every search is linear in
//! the text) under an NFA size limit, and searched separately so that one
//! regex never hides another's matches; each match is reported with the
//! regex's name.

use regex_automata::meta::Regex;

/// The longest custom-regex match guaranteed to be found whole (bytes of the
/// normalized view). Bounding it is what keeps a pattern like `x[^y]*y`
/// linear on text full of x's and no y.
pub const MAX_REGEX_MATCH: usize = 1024;

use crate::compile::{
    DirActions, MAX_REGEX_NFA_BYTES, MAX_REGEX_PATTERN_CHARS, MAX_REGEXES, TOO_LARGE,
    WindowedSearch, build_regex_hir,
};
use crate::config::{RegexConfig, SensitiveAction};
use crate::error::ConfigError;
use regex_syntax::hir::{Capture, Hir, HirKind, Look, Repetition};

#[derive(Debug)]
pub(crate) struct CustomRegex {
    pub name: String,
    pub pattern: String,
    pub regex: Regex,
    pub actions: DirActions<SensitiveAction>,
}

#[derive(Debug)]
pub(crate) struct CustomRegexes {
    pub entries: Vec<CustomRegex>,
}

/// One match: regex index and byte range in the scanned text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RegexHit {
    pub index: usize,
    pub start: usize,
    pub end: usize,
}

impl CustomRegexes {
    pub fn compile(list: &[RegexConfig]) -> Result<Self, ConfigError> {
        let base = "sensitiveInformationPolicyConfig.regexesConfig";
        if list.is_empty() || list.len() > MAX_REGEXES {
            return Err(ConfigError::new(
                base,
                format!(
                    "must contain between 1 and {MAX_REGEXES} regexes, got {}",
                    list.len()
                ),
            ));
        }
        let mut entries = Vec::with_capacity(list.len());
        for (i, r) in list.iter().enumerate() {
            let n = r.name.chars().count();
            if n == 0 || n > 100 {
                return Err(ConfigError::new(
                    format!("{base}[{i}].name"),
                    "length must be between 1 and 100 characters",
                ));
            }
            if let Some(d) = &r.description
                && (d.is_empty() || d.chars().count() > 1000)
            {
                return Err(ConfigError::new(
                    format!("{base}[{i}].description"),
                    "length must be between 1 and 1000 characters",
                ));
            }
            let field = format!("{base}[{i}].pattern");
            let p = r.pattern.chars().count();
            if p == 0 || p > MAX_REGEX_PATTERN_CHARS {
                return Err(ConfigError::new(
                    &field,
                    format!(
                        "length must be between 1 and {MAX_REGEX_PATTERN_CHARS} characters, got {p}"
                    ),
                ));
            }
            let one_line = |e: &str| e.split_whitespace().collect::<Vec<_>>().join(" ");
            let hir = regex_syntax::ParserBuilder::new()
                .unicode(true)
                .utf8(true)
                .build()
                .parse(&r.pattern)
                .map_err(|e| {
                    ConfigError::new(
                        &field,
                        format!("invalid regular expression: {}", one_line(&e.to_string())),
                    )
                })?;
            let hir = ascii_word_boundaries(&hir);
            let regex = build_regex_hir(std::slice::from_ref(&hir), MAX_REGEX_NFA_BYTES).map_err(|e| {
                if e.starts_with(TOO_LARGE) {
                    ConfigError::new(&field, format!("pattern is too large once compiled (limit {MAX_REGEX_NFA_BYTES} bytes); simplify counted repetitions"))
                } else {
                    // Keep the parser's message on one line for the ValidationException.
                    ConfigError::new(&field, format!("invalid regular expression: {}", one_line(&e)))
                }
            })?;
            // A pattern that matches the empty string would "find" something
            // at every position and mask nothing useful.
            if regex.is_match("") {
                return Err(ConfigError::new(
                    &field,
                    "pattern must not match the empty string",
                ));
            }
            let actions = DirActions::resolve(
                r.action,
                r.input_action,
                r.output_action,
                r.input_enabled,
                r.output_enabled,
            );
            entries.push(CustomRegex {
                name: r.name.clone(),
                pattern: r.pattern.clone(),
                regex,
                actions,
            });
        }
        Ok(Self { entries })
    }

    /// All matches of every regex active in the direction (`active(i)`).
    pub fn find(&self, text: &str, active: impl Fn(usize) -> bool) -> Vec<RegexHit> {
        let mut out = Vec::new();
        for (index, r) in self.entries.iter().enumerate() {
            if !active(index) {
                continue;
            }
            let mut search = WindowedSearch::new(4 * MAX_REGEX_MATCH, MAX_REGEX_MATCH);
            while let Some((m, _)) = search.find(&r.regex, text) {
                // Patterns that match the empty string are refused at compile time.
                let mut next = m.end().max(m.start() + 1);
                while next < text.len() && !text.is_char_boundary(next) {
                    next += 1;
                }
                search.set_pos(next);
                if m.start() < m.end() {
                    out.push(RegexHit {
                        index,
                        start: m.start(),
                        end: m.end(),
                    });
                }
            }
        }
        out
    }
}

/// `\b` and friends as ASCII word boundaries. With Unicode boundaries kana
/// and kanji are word characters, so `\bEMP-\d+\b` would never match in
/// "EMP-123です" (no boundary between 3 and で), and the lazy DFA gives up on
/// Unicode boundaries in non-ASCII text, falling back to a much slower
/// engine. ASCII boundaries treat Japanese as a separator: what users mean,
/// and fast. Recursion is bounded by the parser's nesting limit.
fn ascii_word_boundaries(h: &Hir) -> Hir {
    match h.kind() {
        HirKind::Look(l) => Hir::look(match l {
            Look::WordUnicode => Look::WordAscii,
            Look::WordUnicodeNegate => Look::WordAsciiNegate,
            Look::WordStartUnicode => Look::WordStartAscii,
            Look::WordEndUnicode => Look::WordEndAscii,
            Look::WordStartHalfUnicode => Look::WordStartHalfAscii,
            Look::WordEndHalfUnicode => Look::WordEndHalfAscii,
            other => *other,
        }),
        HirKind::Repetition(r) => Hir::repetition(Repetition {
            min: r.min,
            max: r.max,
            greedy: r.greedy,
            sub: Box::new(ascii_word_boundaries(&r.sub)),
        }),
        HirKind::Capture(c) => Hir::capture(Capture {
            index: c.index,
            name: c.name.clone(),
            sub: Box::new(ascii_word_boundaries(&c.sub)),
        }),
        HirKind::Concat(v) => Hir::concat(v.iter().map(ascii_word_boundaries).collect()),
        HirKind::Alternation(v) => Hir::alternation(v.iter().map(ascii_word_boundaries).collect()),
        _ => h.clone(),
    }
}
