//! Sensitive-information detection: every candidate shape in one
//! leftmost-first multi-pattern scan of the normalized view, each candidate
//! validated (checksums, structure, context words) as it is found.

pub mod checksums;
pub(crate) mod context;
pub mod entities;
pub mod japanese;
pub(crate) mod names;
mod numeric;
mod patterns;

use std::cell::RefCell;

use regex_automata::meta::Regex;
use regex_automata::{Anchored, Input};

use crate::compile::{WindowedSearch, build_regex};

/// The longest candidate the scan guarantees to see whole (bytes of the
/// normalized view); longer ones (a 300-character labelled address line)
/// are cut. Digit runs are the exception: they are always read whole.
const MAX_CANDIDATE: usize = 512;
/// Search window after a match (see `WindowedSearch`).
const MIN_WINDOW: usize = 4096;
use context::{ContextHits, ContextMatcher};
use entities::{EntitySet, EntityType};
use patterns::Shape;

/// One detected entity in the normalized view, with the types it may be,
/// most specific first; the guardrail reports the first one it has enabled
/// (a Japanese mobile number is `JP_PHONE` where that is configured and
/// `PHONE` otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub start: usize,
    pub end: usize,
    pub types: &'static [EntityType],
}

/// Lazily computed context of one scan: keywords are looked for only
/// around the candidates that ask for them.
pub(crate) struct Ctx<'a> {
    text: &'a str,
    matcher: &'a ContextMatcher,
    hits: RefCell<ContextHits>,
}

impl<'a> Ctx<'a> {
    fn new(text: &'a str, matcher: &'a ContextMatcher) -> Self {
        Self {
            text,
            matcher,
            hits: RefCell::new(ContextHits::new(text.len())),
        }
    }
    /// Run `f` on the hits, complete for labels that can reach `start..end`.
    fn with_hits<T>(&self, start: usize, end: usize, f: impl FnOnce(&ContextHits) -> T) -> T {
        let mut hits = self.hits.borrow_mut();
        let lo = start.saturating_sub(self.matcher.reach_before());
        self.matcher
            .ensure(self.text, &mut hits, lo, end + context::AFTER + 1);
        f(&hits)
    }
    pub(crate) fn has(&self, want: u32, start: usize, end: usize) -> bool {
        self.with_hits(start, end, |h| h.has(self.text, want, start, end))
    }
    /// The classes of the label that names the number starting at `start`:
    /// the nearest label before it, unless another number stands between
    /// them (then that label was for the other number). `None` when the
    /// number has no label of its own.
    pub(crate) fn label(&self, start: usize) -> Option<u32> {
        let (end, classes) = self.with_hits(start, start, |h| h.nearest_label(start))?;
        let between = &self.text.as_bytes()[end..start];
        (!between.iter().any(u8::is_ascii_digit)).then_some(classes)
    }
    pub(crate) fn negative(&self, start: usize) -> bool {
        self.with_hits(start, start, |h| h.negative(self.text, start))
    }
    /// Invoice registration numbers are "T" + the corporate number.
    pub(crate) fn preceded_by_t(&self, start: usize) -> bool {
        let before = self.text[..start].trim_end_matches([' ', '-']);
        before.ends_with('T')
            && !before[..before.len() - 1]
                .bytes()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric())
    }
    pub(crate) fn preceded_by_postal_mark(&self, start: usize) -> bool {
        self.text[..start].trim_end_matches(' ').ends_with('〒')
    }
}

/// The compiled PII detector for a set of enabled entity types.
pub struct PiiDetector {
    regex: Option<Regex>,
    shapes: Vec<Shape>,
    numeric: Option<Regex>,
    context: ContextMatcher,
}

impl std::fmt::Debug for PiiDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PiiDetector")
            .field("shapes", &self.shapes)
            .finish()
    }
}

impl PiiDetector {
    /// Build the detector for `enabled` types (shapes that can yield none of
    /// them are left out of the automaton).
    pub fn new(enabled: EntitySet) -> Result<Self, String> {
        let mut shapes = Vec::new();
        let mut pats = Vec::new();
        for (shape, pat, types) in patterns::table() {
            if enabled.any(types) {
                shapes.push(shape);
                pats.push(pat);
            }
        }
        let regex = if pats.is_empty() {
            None
        } else {
            Some(build_regex(&pats, 256 << 20)?)
        };
        let numeric = if enabled.any(patterns::NUMERIC_TYPES) {
            Some(build_regex(&[patterns::NUMERIC.to_string()], 16 << 20)?)
        } else {
            None
        };
        Ok(Self {
            regex,
            shapes,
            numeric,
            context: ContextMatcher::new(),
        })
    }

    /// All detections in the normalized `text`, in order of start. They may
    /// overlap only where a fallback numeric run re-reads a failed candidate.
    pub fn detect(&self, text: &str) -> Vec<Detection> {
        let mut out = Vec::new();
        let Some(re) = &self.regex else { return out };
        let cx = Ctx::new(text, &self.context);
        let mut search = WindowedSearch::new(MIN_WINDOW, MAX_CANDIDATE);
        let mut pos = 0;
        while pos < text.len() {
            search.set_pos(pos);
            let Some((m, cut)) = search.find(re, text) else {
                break;
            };
            let s = m.start();
            let mut e = m.end();
            let shape = self.shapes[m.pattern().as_usize()];
            // A digit run longer than the window continues past its edge:
            // read the rest of it in one anchored pass.
            if cut
                && shape == Shape::Numeric
                && let Some(nr) = self
                    .numeric
                    .as_ref()
                    .and_then(|n| n.search(&Input::new(text).range(s..).anchored(Anchored::Yes)))
            {
                e = nr.end();
            }
            let mut next = e;
            if shape == Shape::Numeric {
                numeric::analyze(text, s, e, &cx, &mut out);
            } else if let Some(d) = patterns::validate(shape, text, s, e, &cx) {
                next = d.end.max(s + 1);
                out.push(d);
            } else if text.as_bytes()[s].is_ascii_digit() && self.numeric.is_some() {
                // A digit-led candidate that is not what its shape promised
                // (17 digits are no VIN) may still be a numeric identifier.
                if let Some(nr) = self
                    .numeric
                    .as_ref()
                    .and_then(|n| n.search(&Input::new(text).range(s..).anchored(Anchored::Yes)))
                {
                    numeric::analyze(text, nr.start(), nr.end(), &cx, &mut out);
                    next = nr.end().max(s + 1);
                }
            } else if patterns::bounded(shape) {
                next = s + 1;
            }
            // Resume on a character boundary and always move forward.
            let mut p = next.max(pos + 1);
            while p < text.len() && !text.is_char_boundary(p) {
                p += 1;
            }
            pos = p;
        }
        out
    }
}
