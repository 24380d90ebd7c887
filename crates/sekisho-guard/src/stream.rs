//! Streaming: release model output chunk by chunk, holding back only the
//! tail that could still be the start of a match, so an identifier split
//! across chunks is masked (or blocks) before any of it leaves.
//!
//! Every bounded entity is at most `hold` characters long, so a match that
//! later chunks could complete must start inside the last `hold` characters
//! of what has arrived; everything before that is final. A short tail of
//! released text is kept as context (a label like カード番号 released in an
//! earlier chunk still vouches for the number that follows) but never
//! released twice. Unbounded shapes (a URL, a labelled address) longer than
//! the hold-back can be split; that is the price of bounded latency.

use crate::assess::{Finding, FindingAction};
use crate::compile::CompiledGuardrail;
use crate::response::Source;

/// Characters held back by default: longer than every bounded entity.
pub const DEFAULT_HOLD_CHARS: usize = 64;
/// Characters of released text kept as context for later chunks.
const CONTEXT_CHARS: usize = 64;

/// What one `push` or `finish` released.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamOutput {
    /// Text that is now final (masked where needed).
    pub text: String,
    /// The guardrail blocked: nothing more will be released; the caller
    /// replaces the stream's remainder with the blocked messaging.
    pub blocked: bool,
    /// Findings in the released (or blocking) text, positions relative to
    /// the whole stream's original text.
    pub findings: Vec<Finding>,
}

/// Incremental scanner for one stream in one direction.
#[derive(Debug)]
pub struct StreamScanner<'g> {
    guard: &'g CompiledGuardrail,
    source: Source,
    hold: usize,
    /// Released original text kept as context.
    context: String,
    pending: String,
    /// Offset of `pending` in the whole stream.
    offset: usize,
    blocked: bool,
}

impl<'g> StreamScanner<'g> {
    pub fn new(guard: &'g CompiledGuardrail, source: Source) -> Self {
        let longest_word = guard
            .words
            .as_ref()
            .map_or(0, |_| crate::compile::MAX_WORD_CHARS);
        Self {
            guard,
            source,
            hold: DEFAULT_HOLD_CHARS.max(longest_word + 1),
            context: String::new(),
            pending: String::new(),
            offset: 0,
            blocked: false,
        }
    }

    /// The number of characters held back.
    pub fn hold_chars(&self) -> usize {
        self.hold
    }

    /// Has the stream been blocked?
    pub fn is_blocked(&self) -> bool {
        self.blocked
    }

    /// Add a chunk; returns the text that became safe to release.
    pub fn push(&mut self, chunk: &str) -> StreamOutput {
        if self.blocked {
            return StreamOutput {
                blocked: true,
                ..Default::default()
            };
        }
        self.pending.push_str(chunk);
        let n = self.pending.chars().count();
        if n <= self.hold {
            return StreamOutput::default();
        }
        let safe = self
            .pending
            .char_indices()
            .nth(n - self.hold)
            .map_or(self.pending.len(), |(i, _)| i);
        self.release(safe)
    }

    /// End of stream: release everything left.
    pub fn finish(&mut self) -> StreamOutput {
        if self.blocked {
            return StreamOutput {
                blocked: true,
                ..Default::default()
            };
        }
        let all = self.pending.len();
        self.release(all)
    }

    fn release(&mut self, mut safe: usize) -> StreamOutput {
        let ctx_len = self.context.len();
        let window = format!("{}{}", self.context, self.pending);
        let found = self.guard.scan_text(self.source, &window);
        // Findings in the new text (those wholly inside the context were handled).
        let mine: Vec<Finding> = found.into_iter().filter(|f| f.end > ctx_len).collect();
        if mine.iter().any(|f| f.action == FindingAction::Block) {
            self.blocked = true;
            let findings = mine
                .into_iter()
                .filter(|f| f.action == FindingAction::Block)
                .map(|f| self.shift(f, ctx_len))
                .collect();
            return StreamOutput {
                text: String::new(),
                blocked: true,
                findings,
            };
        }
        // Never cut through a match: move the safe point before any finding
        // that straddles it (it may still grow).
        for f in &mine {
            let (s, e) = (f.start.saturating_sub(ctx_len), f.end - ctx_len);
            if s < safe && e > safe {
                safe = s;
            }
        }
        let released: Vec<Finding> = mine
            .into_iter()
            .filter(|f| f.end - ctx_len <= safe)
            .map(|f| Finding {
                start: f.start.saturating_sub(ctx_len),
                end: f.end - ctx_len,
                ..f
            })
            .collect();
        let refs: Vec<&Finding> = released.iter().collect();
        let text = self.guard.mask_text(&self.pending[..safe], &refs);
        let findings = released
            .into_iter()
            .map(|f| Finding {
                start: f.start + self.offset,
                end: f.end + self.offset,
                ..f
            })
            .collect();
        // Keep the last released characters as context for what follows.
        self.context.push_str(&self.pending[..safe]);
        let keep = self.context.chars().count().saturating_sub(CONTEXT_CHARS);
        if keep > 0 {
            let cut = self
                .context
                .char_indices()
                .nth(keep)
                .map_or(self.context.len(), |(i, _)| i);
            self.context.drain(..cut);
        }
        self.pending.drain(..safe);
        self.offset += safe;
        StreamOutput {
            text,
            blocked: false,
            findings,
        }
    }

    fn shift(&self, f: Finding, ctx_len: usize) -> Finding {
        Finding {
            start: (f.start.saturating_sub(ctx_len)) + self.offset,
            end: f.end - ctx_len + self.offset,
            ..f
        }
    }
}
