//! `echo`: the built-in trial model `sekisho.echo-v1`.
//!
//! This is a trial and test backend, not a language model. It answers every
//! call with the text of the last user message, prefixed by `You said: `
//! (or `You said nothing.` when that message has no text), so a new user
//! can try the gateway end to end without a model, and the test suites get
//! answers they can predict byte for byte.
//!
//! It behaves like a model where the gateway can observe it:
//!
//! - **Deterministic.** The same request gives the same answer, the same
//!   token counts, the same stop reason and the same chunks.
//! - **Stop sequences.** The answer is cut before the earliest occurrence of
//!   any of `stop_sequences` (stop reason `stop_sequence`).
//! - **`max_tokens`.** The answer is cut after that many tokens (stop reason
//!   `max_tokens`); whitespace after the last kept token is dropped.
//! - **Tokens** are counted by [`tokenize`]: a run of letters and digits
//!   (Latin, Greek, Cyrillic and other alphabetic scripts) is one token,
//!   every other non-space character (punctuation, symbols, emoji) is one
//!   token, and every CJK character (Han ideographs, hiragana, katakana,
//!   hangul, bopomofo) is one token on its own. Whitespace separates tokens
//!   and is not counted. `count_tokens` counts the text of the system
//!   prompts and of every message; a non-text block counts one token.
//! - **Streaming** sends the answer as `ContentDelta` events of
//!   [`EchoConfig::chunk_tokens`] tokens each (whitespace before a token
//!   travels with it), waiting [`EchoConfig::chunk_delay_ms`] before each
//!   chunk, so tests can watch a stream arrive and be cancelled. The chunks
//!   concatenate to exactly the text of the non-streaming answer.
//! - **Usage and latency** are reported as for any backend.

use std::ops::Range;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use super::{
    Backend, BackendError, ChatEvent, ChatRequest, ChatResponse, ChatStream, ContentBlock, Message,
    Role, StopReason, Usage,
};

/// The model id the default catalogue serves with this backend.
pub const ECHO_MODEL_ID: &str = "sekisho.echo-v1";

/// What the answer starts with.
const PREFIX: &str = "You said: ";
/// The answer when the last user message has no text.
const NOTHING: &str = "You said nothing.";

/// Settings of the echo backend (`type = "echo"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EchoConfig {
    /// Tokens per streamed `ContentDelta` (at least 1).
    pub chunk_tokens: usize,
    /// Pause before each streamed chunk, in milliseconds (for tests and
    /// demonstrations; 0 sends the chunks at once).
    pub chunk_delay_ms: u64,
}

impl Default for EchoConfig {
    fn default() -> Self {
        EchoConfig {
            chunk_tokens: 3,
            chunk_delay_ms: 0,
        }
    }
}

impl EchoConfig {
    /// Checks the settings; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.chunk_tokens == 0 {
            return Err("chunk_tokens must be at least 1".to_string());
        }
        if self.chunk_delay_ms > 60_000 {
            return Err("chunk_delay_ms must be at most 60000".to_string());
        }
        Ok(())
    }
}

/// The echo backend.
#[derive(Debug, Clone, Default)]
pub struct EchoBackend {
    config: EchoConfig,
}

impl EchoBackend {
    pub fn new(config: EchoConfig) -> Result<Self, String> {
        config.validate()?;
        Ok(EchoBackend { config })
    }

    /// The complete answer to `request`: text, stop reason, usage.
    pub fn answer(&self, request: &ChatRequest) -> EchoAnswer {
        let input_tokens = count_request_tokens(request);
        let full = echo_text(request);
        let mut stop_reason = StopReason::EndTurn;
        let mut text: &str = &full;

        if let Some(cut) = earliest_stop(text, &request.inference.stop_sequences) {
            text = &text[..cut];
            stop_reason = StopReason::StopSequence;
        }
        let mut spans = tokenize(text);
        if let Some(max) = request.inference.max_tokens {
            let max = max as usize;
            if spans.len() > max {
                spans.truncate(max);
                text = &text[..spans.last().map_or(0, |s| s.end)];
                stop_reason = StopReason::MaxTokens;
            }
        }
        let output_tokens = u32::try_from(spans.len()).unwrap_or(u32::MAX);
        EchoAnswer {
            text: text.to_string(),
            stop_reason,
            usage: Usage {
                input_tokens,
                output_tokens,
            },
        }
    }
}

/// The echo backend's answer, before it is sent whole or streamed.
#[derive(Debug, Clone, PartialEq)]
pub struct EchoAnswer {
    pub text: String,
    pub stop_reason: StopReason,
    pub usage: Usage,
}

impl EchoAnswer {
    /// The streamed pieces of `per_chunk` tokens each; they concatenate to
    /// `text`.
    pub fn chunks(&self, per_chunk: usize) -> Vec<String> {
        chunk_text(&self.text, &tokenize(&self.text), per_chunk.max(1))
    }
}

impl Backend for EchoBackend {
    fn kind(&self) -> &'static str {
        "echo"
    }

    fn converse(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatResponse, BackendError>> {
        Box::pin(async move {
            let started = Instant::now();
            let answer = self.answer(&request);
            Ok(ChatResponse {
                message: Message {
                    role: Role::Assistant,
                    content: vec![ContentBlock::Text(answer.text)],
                },
                stop_reason: answer.stop_reason,
                usage: answer.usage,
                latency: started.elapsed(),
            })
        })
    }

    fn converse_stream(
        &self,
        request: ChatRequest,
    ) -> BoxFuture<'_, Result<ChatStream, BackendError>> {
        Box::pin(async move {
            let started = Instant::now();
            let answer = self.answer(&request);
            let chunks = answer.chunks(self.config.chunk_tokens);
            let delay = Duration::from_millis(self.config.chunk_delay_ms);
            let stream: ChatStream = Box::pin(echo_stream(answer, chunks, delay, started));
            Ok(stream)
        })
    }

    fn count_tokens(&self, request: &ChatRequest) -> u32 {
        count_request_tokens(request)
    }
}

/// The events of a streamed echo answer; each chunk waits `delay` first.
fn echo_stream(
    answer: EchoAnswer,
    chunks: Vec<String>,
    delay: Duration,
    started: Instant,
) -> impl futures::Stream<Item = Result<ChatEvent, BackendError>> + Send {
    let head = ChatEvent::MessageStart {
        role: Role::Assistant,
    };
    let deltas = stream::iter(chunks).then(move |text| async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        ChatEvent::ContentDelta { index: 0, text }
    });
    let stop = ChatEvent::MessageStop {
        stop_reason: answer.stop_reason,
    };
    let usage = answer.usage;
    let tail =
        stream::iter([ChatEvent::ContentStop { index: 0 }, stop]).chain(stream::once(async move {
            ChatEvent::Metadata {
                usage,
                latency: started.elapsed(),
            }
        }));
    stream::once(async { head })
        .chain(deltas)
        .chain(tail)
        .map(Ok)
}

/// The text the echo model answers before stop sequences and `max_tokens`.
pub fn echo_text(request: &ChatRequest) -> String {
    let said = request
        .messages
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .map(|m| {
            m.content
                .iter()
                .filter_map(|b| match b {
                    ContentBlock::Text(t) => Some(t.as_str()),
                    ContentBlock::Other(_) => None,
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    if said.trim().is_empty() {
        NOTHING.to_string()
    } else {
        format!("{PREFIX}{said}")
    }
}

/// Byte offset of the earliest occurrence of any non-empty stop sequence.
fn earliest_stop(text: &str, stops: &[String]) -> Option<usize> {
    stops
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()))
        .min()
}

/// Splits `text` into chunks of `per_chunk` tokens; each chunk runs from
/// the end of the previous one to the end of its last token (the last chunk
/// to the end of `text`), so the chunks concatenate to `text`.
fn chunk_text(text: &str, spans: &[Range<usize>], per_chunk: usize) -> Vec<String> {
    let mut chunks: Vec<String> = Vec::with_capacity(spans.len().div_ceil(per_chunk));
    let mut from = 0;
    for group in spans.chunks(per_chunk) {
        let to = group.last().map_or(from, |s| s.end);
        chunks.push(text[from..to].to_string());
        from = to;
    }
    if from < text.len() {
        match chunks.last_mut() {
            Some(last) => last.push_str(&text[from..]),
            None => chunks.push(text[from..].to_string()),
        }
    }
    chunks
}

/// Whether `c` counts as one token on its own (CJK scripts, which do not
/// separate words with spaces).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF     // Hangul Jamo
        | 0x2E80..=0x2FDF   // CJK radicals, Kangxi radicals
        | 0x3040..=0x30FF   // Hiragana, Katakana
        | 0x3100..=0x312F   // Bopomofo
        | 0x3130..=0x318F   // Hangul compatibility Jamo
        | 0x31A0..=0x31FF   // Bopomofo extended, CJK strokes, Katakana extensions
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified ideographs
        | 0xA960..=0xA97F   // Hangul Jamo extended A
        | 0xAC00..=0xD7FF   // Hangul syllables, Jamo extended B
        | 0xF900..=0xFAFF   // CJK compatibility ideographs
        | 0xFF66..=0xFFDC   // Halfwidth Katakana and Hangul
        | 0x1B000..=0x1B16F // Kana supplement and extensions
        | 0x20000..=0x3134F // CJK extensions B to G
    )
}

/// The echo model's tokenizer: the byte ranges of the tokens of `text`.
///
/// A token is a maximal run of letters, digits, combining marks and `_`
/// outside the CJK scripts; or one CJK character; or one other non-space
/// character (punctuation, symbol). Whitespace is not a token. A combining
/// mark following a CJK character or a symbol joins that token (so `が`
/// written as `か` + U+3099 is still one token).
pub fn tokenize(text: &str) -> Vec<Range<usize>> {
    #[derive(PartialEq)]
    enum Class {
        Space,
        Word,
        Single,
        Mark,
    }
    fn class(c: char) -> Class {
        if c.is_whitespace() {
            Class::Space
        } else if is_combining_mark(c) {
            Class::Mark
        } else if is_cjk(c) {
            Class::Single
        } else if c.is_alphanumeric() || c == '_' {
            Class::Word
        } else {
            Class::Single
        }
    }

    let mut tokens: Vec<Range<usize>> = Vec::new();
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        match class(c) {
            Class::Space => in_word = false,
            Class::Word if in_word => extend_last(&mut tokens, end),
            Class::Word => {
                tokens.push(i..end);
                in_word = true;
            }
            Class::Mark => match tokens.last() {
                Some(last) if last.end == i => extend_last(&mut tokens, end),
                _ => {
                    tokens.push(i..end);
                    in_word = true;
                }
            },
            Class::Single => {
                tokens.push(i..end);
                in_word = false;
            }
        }
    }
    tokens
}

fn extend_last(tokens: &mut [Range<usize>], end: usize) {
    if let Some(last) = tokens.last_mut() {
        last.end = end;
    }
}

/// Combining marks of common scripts (diacritics, kana voicing marks,
/// variation selectors, zero-width joiner).
fn is_combining_mark(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F
        | 0x0483..=0x0489
        | 0x0591..=0x05BD
        | 0x0610..=0x061A
        | 0x064B..=0x065F
        | 0x0900..=0x0903
        | 0x093A..=0x094F
        | 0x1AB0..=0x1AFF
        | 0x1DC0..=0x1DFF
        | 0x200D
        | 0x20D0..=0x20FF
        | 0x3099..=0x309A
        | 0xFE00..=0xFE0F
        | 0xFE20..=0xFE2F
        | 0xE0100..=0xE01EF
    )
}

/// Tokens of `text` by [`tokenize`].
pub fn count_text_tokens(text: &str) -> u32 {
    u32::try_from(tokenize(text).len()).unwrap_or(u32::MAX)
}

/// Input tokens of a request: the text of the system prompts and of every
/// message by [`tokenize`], plus one per non-text block. Also the estimate
/// other backends use when their upstream reports no usage.
pub fn count_request_tokens(request: &ChatRequest) -> u32 {
    let system = request.system.iter().map(|s| count_text_tokens(s));
    let blocks = request
        .messages
        .iter()
        .flat_map(|m| m.content.iter())
        .map(|b| match b {
            ContentBlock::Text(t) => count_text_tokens(t),
            ContentBlock::Other(_) => 1,
        });
    system.chain(blocks).fold(0u32, u32::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str) -> Vec<&str> {
        tokenize(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn tokenizer_splits_latin_on_space_and_punctuation() {
        assert_eq!(
            spans("Hello, world!  It's 42."),
            ["Hello", ",", "world", "!", "It", "'", "s", "42", "."]
        );
        assert_eq!(
            spans("snake_case café naïve"),
            ["snake_case", "café", "naïve"]
        );
        assert_eq!(spans(""), Vec::<&str>::new());
        assert_eq!(spans("  \n\t "), Vec::<&str>::new());
    }

    #[test]
    fn tokenizer_counts_each_cjk_character() {
        assert_eq!(spans("東京は晴れ。"), ["東", "京", "は", "晴", "れ", "。"]);
        assert_eq!(
            spans("カタカナとABC"),
            ["カ", "タ", "カ", "ナ", "と", "ABC"]
        );
        assert_eq!(spans("한국어"), ["한", "국", "어"]);
        // A decomposed voiced kana stays one token.
        assert_eq!(spans("か\u{3099}"), ["か\u{3099}"]);
    }
}
