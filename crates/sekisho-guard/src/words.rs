//! Word filters: custom words and phrases (at most 10,000) and the managed
//! profanity list, all in one Aho-Corasick automaton run once over the
//! normalized view (ASCII case folded by the automaton). Latin words need
//! word boundaries ("ass" must not fire inside "class"); CJK has no spaces,
//! so Japanese words match anywhere.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use std::collections::HashMap;

use crate::compile::DirActions;
use crate::config::{BlockAction, ManagedWordsType};
use crate::normalize::Normalized;

/// English list from `better-profanity` (MIT) and a Japanese list written
/// for Sekisho; see data/PROVENANCE.md.
const PROFANITY_EN: &str = include_str!("../data/profanity_en.txt");
const PROFANITY_JA: &str = include_str!("../data/profanity_ja.txt");

pub(crate) enum WordEntry {
    Custom {
        text: String,
        actions: DirActions<BlockAction>,
    },
    Managed {
        list: ManagedWordsType,
        actions: DirActions<BlockAction>,
    },
}

/// Where a pattern came from: a custom word (index into `custom`) or a managed list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WordSource {
    Custom(usize),
    Managed(ManagedWordsType),
}

#[derive(Debug)]
pub(crate) struct WordMatcher {
    ac: AhoCorasick,
    /// Per automaton pattern: its sources and whether its first/last
    /// character needs a word boundary.
    pats: Vec<(Vec<WordSource>, bool, bool)>,
    pub custom: Vec<DirActions<BlockAction>>,
    pub managed: Vec<(ManagedWordsType, DirActions<BlockAction>)>,
}

/// One word hit in the normalized view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WordHit {
    pub start: usize,
    pub end: usize,
    pub source: WordSource,
}

/// Letters and digits of scripts that separate words with spaces.
pub(crate) fn is_wordlike(c: char) -> bool {
    c.is_alphanumeric() && (c as u32) < 0x2E80 || c == '_'
}

impl WordMatcher {
    pub fn new(entries: &[WordEntry]) -> Result<Self, String> {
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut texts: Vec<String> = Vec::new();
        let mut pats: Vec<(Vec<WordSource>, bool, bool)> = Vec::new();
        let mut custom = Vec::new();
        let mut managed = Vec::new();
        let mut add = |word: &str,
                       source: WordSource,
                       texts: &mut Vec<String>,
                       pats: &mut Vec<(Vec<WordSource>, bool, bool)>| {
            let norm = Normalized::new(word.trim());
            let t = norm.text().trim();
            if t.is_empty() {
                return;
            }
            let key = t.to_ascii_lowercase();
            let i = *index.entry(key).or_insert_with(|| {
                texts.push(t.to_string());
                let first = t.chars().next().is_some_and(is_wordlike);
                let last = t.chars().next_back().is_some_and(is_wordlike);
                pats.push((Vec::new(), first, last));
                pats.len() - 1
            });
            if !pats[i].0.contains(&source) {
                pats[i].0.push(source);
            }
        };
        for e in entries {
            match e {
                WordEntry::Custom { text, actions } => {
                    custom.push(*actions);
                    add(
                        text,
                        WordSource::Custom(custom.len() - 1),
                        &mut texts,
                        &mut pats,
                    );
                }
                WordEntry::Managed { list, actions } => {
                    managed.push((*list, *actions));
                    let data = match list {
                        ManagedWordsType::Profanity => {
                            PROFANITY_EN.lines().chain(PROFANITY_JA.lines())
                        }
                    };
                    for w in data {
                        add(w, WordSource::Managed(*list), &mut texts, &mut pats);
                    }
                }
            }
        }
        // A full DFA is the fastest automaton; past a few thousand patterns
        // its memory grows, so large custom lists let the builder choose.
        let kind = (texts.len() <= 3000).then_some(AhoCorasickKind::DFA);
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(kind)
            .build(&texts)
            .map_err(|e| format!("word list does not compile: {e}"))?;
        Ok(Self {
            ac,
            pats,
            custom,
            managed,
        })
    }

    /// Every occurrence (overlapping ones too: "bad" and "bad word").
    pub fn find(&self, text: &str) -> Vec<WordHit> {
        let mut out = Vec::new();
        for m in self.ac.find_overlapping_iter(text) {
            let (s, e) = (m.start(), m.end());
            let (sources, first, last) = &self.pats[m.pattern().as_usize()];
            if *first && text[..s].chars().next_back().is_some_and(is_wordlike) {
                continue;
            }
            if *last && text[e..].chars().next().is_some_and(is_wordlike) {
                continue;
            }
            for src in sources {
                out.push(WordHit {
                    start: s,
                    end: e,
                    source: *src,
                });
            }
        }
        out
    }
}
