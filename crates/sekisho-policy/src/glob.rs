//! IAM wildcard matching: `*` matches any run of characters (also none),
//! `?` matches exactly one character.
//!
//! Patterns are compiled once into tokens so that characters that came from
//! policy variables (`${aws:username}`, `${*}`) stay literal even when they
//! are `*` or `?`: a user named `Bob*` must not become a wildcard.

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A run of literal text.
    Lit(String),
    /// `*`: any run of characters.
    Star,
    /// `?`: exactly one character.
    One,
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    tokens: Vec<Token>,
}

impl Glob {
    /// Compiles `pattern`, reading `*` and `?` as wildcards.
    pub fn new(pattern: &str) -> Glob {
        let mut g = Glob { tokens: Vec::new() };
        g.push_pattern(pattern);
        g
    }

    /// An empty pattern, to be built with the `push_*` methods.
    pub fn empty() -> Glob {
        Glob { tokens: Vec::new() }
    }

    /// Appends text whose `*` and `?` are wildcards.
    pub fn push_pattern(&mut self, pattern: &str) {
        let mut lit = String::new();
        for c in pattern.chars() {
            match c {
                '*' | '?' => {
                    if !lit.is_empty() {
                        self.push_literal(&std::mem::take(&mut lit));
                    }
                    if c == '*' {
                        // Consecutive stars mean the same as one.
                        if self.tokens.last() != Some(&Token::Star) {
                            self.tokens.push(Token::Star);
                        }
                    } else {
                        self.tokens.push(Token::One);
                    }
                }
                _ => lit.push(c),
            }
        }
        if !lit.is_empty() {
            self.push_literal(&lit);
        }
    }

    /// Appends text that is matched literally, wildcard characters included.
    pub fn push_literal(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(Token::Lit(last)) = self.tokens.last_mut() {
            last.push_str(text);
        } else {
            self.tokens.push(Token::Lit(text.to_string()));
        }
    }

    /// The pattern is a plain string with no wildcard.
    pub fn as_literal(&self) -> Option<&str> {
        match self.tokens.as_slice() {
            [] => Some(""),
            [Token::Lit(s)] => Some(s),
            _ => None,
        }
    }

    /// The pattern is a single `*`.
    pub fn is_any(&self) -> bool {
        self.tokens == [Token::Star]
    }

    /// Has at least one wildcard.
    pub fn has_wildcard(&self) -> bool {
        self.tokens.iter().any(|t| !matches!(t, Token::Lit(_)))
    }

    /// Lower-cases the literal parts, for case-insensitive matching against
    /// lower-cased input.
    pub fn to_lowercase(&self) -> Glob {
        Glob {
            tokens: self
                .tokens
                .iter()
                .map(|t| match t {
                    Token::Lit(s) => Token::Lit(s.to_lowercase()),
                    other => other.clone(),
                })
                .collect(),
        }
    }

    /// Matches the whole of `text`.
    pub fn matches(&self, text: &str) -> bool {
        // The shapes almost every policy uses, without the general loop: a
        // literal (`s3:getobject`), `*`, and a literal followed by `*`
        // (`bedrock:*`, `foundation-model/anthropic.*`).
        match self.tokens.as_slice() {
            [] => text.is_empty(),
            [Token::Lit(lit)] => lit == text,
            [Token::Star] => true,
            [Token::Lit(prefix), Token::Star] => text.starts_with(prefix.as_str()),
            tokens => match_tokens(tokens.len(), |i| tokens[i].view(), text),
        }
    }
}

impl Token {
    fn view(&self) -> Tok<'_> {
        match self {
            Token::Lit(s) => Tok::Lit(s),
            Token::Star => Tok::Star,
            Token::One => Tok::One,
        }
    }
}

/// A borrowed token: what the matcher works on, so that patterns whose
/// literal parts come from the request (policy variables) can be matched
/// without building a `Glob` for each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    Lit(&'a str),
    Star,
    One,
}

/// Where `lit` (not empty) first occurs in `hay`: the first byte by a scan,
/// then a comparison. Patterns and texts are short; `str::find` would spend
/// more setting up its searcher than searching.
fn find_literal(hay: &str, lit: &str) -> Option<usize> {
    let (hay, lit) = (hay.as_bytes(), lit.as_bytes());
    let first = *lit.first()?;
    let mut from = 0;
    while let Some(offset) = hay.get(from..)?.iter().position(|&b| b == first) {
        let at = from + offset;
        // `lit` starts with a whole character, so `at` is a character
        // boundary of `hay`.
        if hay[at..].starts_with(lit) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Matches the whole of `text` against the tokens `tok(0)..tok(len)`.
///
/// Greedy with a single backtrack point per star: linear for patterns with
/// one star, and at most O(pattern × text) otherwise.
pub(crate) fn match_tokens<'t>(len: usize, tok: impl Fn(usize) -> Tok<'t>, text: &str) -> bool {
    let mut ti = 0usize; // token index
    let mut pos = 0usize; // byte position in text
    // Backtrack point: token index after the last star, text position.
    let mut star: Option<(usize, usize)> = None;
    loop {
        if ti < len {
            match tok(ti) {
                // A star at the end matches whatever is left.
                Tok::Star if ti + 1 == len => return true,
                Tok::Star => {
                    star = Some((ti + 1, pos));
                    ti += 1;
                    continue;
                }
                Tok::One => {
                    if let Some(c) = text[pos..].chars().next() {
                        pos += c.len_utf8();
                        ti += 1;
                        continue;
                    }
                }
                Tok::Lit(lit) => {
                    if text[pos..].starts_with(lit) {
                        pos += lit.len();
                        ti += 1;
                        continue;
                    }
                }
            }
        } else if pos == text.len() {
            return true;
        }
        // Mismatch: let the last star swallow one more character.
        match star {
            Some((next, start)) if start < text.len() => {
                let step = text[start..].chars().next().map_or(1, char::len_utf8);
                let mut resume = start + step;
                // When a literal follows the star, the star can only end
                // where that literal occurs: skip to its next occurrence
                // instead of trying every character in between.
                if let Some(Tok::Lit(lit)) = (next < len).then(|| tok(next))
                    && !lit.is_empty()
                {
                    match find_literal(&text[resume..], lit) {
                        Some(offset) => resume += offset,
                        None => return false,
                    }
                }
                star = Some((next, resume));
                ti = next;
                pos = resume;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(Glob::new("*").matches(""));
        assert!(Glob::new("*").matches("anything"));
        assert!(Glob::new("test*").matches("test123"));
        assert!(Glob::new("test???value").matches("test123value"));
        assert!(!Glob::new("test???value").matches("test12value"));
        assert!(Glob::new("a*b*c").matches("aXbYbZc"));
        assert!(!Glob::new("a*b*c").matches("aXbYbZ"));
        assert!(Glob::new("*.txt").matches("a.b.txt"));
        assert!(Glob::new("日本*").matches("日本語"));
        assert!(Glob::new("?本語").matches("日本語"));
        assert!(!Glob::new("test").matches("TEST"));
        assert!(Glob::new("**a").matches("ba"));
    }

    /// The definition, by recursion: the reference the matcher's shortcuts
    /// (star at the end, skipping to the next literal) are checked against.
    fn reference(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('*', rest)) => (0..=t.len()).any(|i| reference(rest, &t[i..])),
            Some(('?', rest)) => !t.is_empty() && reference(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && reference(rest, &t[1..]),
        }
    }

    #[test]
    fn agrees_with_the_definition() {
        // Every pattern and text up to a small length over a small alphabet.
        fn all(alphabet: &[char], max: usize) -> Vec<String> {
            let mut out = vec![String::new()];
            let mut last = vec![String::new()];
            for _ in 0..max {
                last = last
                    .iter()
                    .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                    .collect();
                out.extend(last.iter().cloned());
            }
            out
        }
        let patterns = all(&['a', 'b', ':', '*', '?'], 4);
        let texts = all(&['a', 'b', ':', 'é'], 5);
        for p in &patterns {
            let g = Glob::new(p);
            let pc: Vec<char> = p.chars().collect();
            for t in &texts {
                let tc: Vec<char> = t.chars().collect();
                assert_eq!(g.matches(t), reference(&pc, &tc), "{p:?} on {t:?}");
            }
        }
    }

    #[test]
    fn literal_parts_stay_literal() {
        let mut g = Glob::new("test");
        g.push_literal("Bob*");
        assert!(!g.matches("testBobTwo"));
        assert!(g.matches("testBob*"));
        g.push_pattern("*");
        assert!(g.matches("testBob*Two"));
    }
}
