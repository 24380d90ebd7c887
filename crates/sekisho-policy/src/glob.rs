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
    ///
    /// Greedy with a single backtrack point per star: linear for patterns
    /// with one star, and at most O(pattern × text) otherwise.
    pub fn matches(&self, text: &str) -> bool {
        if let Some(lit) = self.as_literal() {
            return lit == text;
        }
        let tokens = &self.tokens;
        let mut ti = 0usize; // token index
        let mut pos = 0usize; // byte position in text
        // Backtrack point: token index after the last star, text position.
        let mut star: Option<(usize, usize)> = None;
        loop {
            if ti < tokens.len() {
                match &tokens[ti] {
                    Token::Star => {
                        star = Some((ti + 1, pos));
                        ti += 1;
                        continue;
                    }
                    Token::One => {
                        if let Some(c) = text[pos..].chars().next() {
                            pos += c.len_utf8();
                            ti += 1;
                            continue;
                        }
                    }
                    Token::Lit(lit) => {
                        if text[pos..].starts_with(lit.as_str()) {
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
                    star = Some((next, start + step));
                    ti = next;
                    pos = start + step;
                }
                _ => return false,
            }
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
