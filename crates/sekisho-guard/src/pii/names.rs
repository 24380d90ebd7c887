//! English names: first names and surnames from Faker's en_US provider (MIT;
//! data/PROVENANCE.md), used to accept a capitalized pair like "Alice Walker"
//! without a label. Titles and labels are handled by the pattern table.

use std::collections::HashSet;
use std::sync::LazyLock;

static FIRST: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/en_first_names.txt")
        .lines()
        .filter(|l| !l.is_empty())
        .collect()
});
static LAST: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/en_last_names.txt")
        .lines()
        .filter(|l| !l.is_empty())
        .collect()
});

/// Capitalized words that would make "First Last" pairs from ordinary prose.
const NOT_A_NAME: &[&str] = &[
    "The", "This", "That", "Dear", "Hello", "Hi", "Thanks", "Monday", "May", "June", "April",
    "August", "January",
];

pub fn is_first_name(s: &str) -> bool {
    FIRST.contains(s)
}

pub fn is_last_name(s: &str) -> bool {
    LAST.contains(s)
}

/// "First [M.] Last": a known first name and a known surname.
pub fn full_name(words: &[&str]) -> bool {
    let (Some(first), Some(last)) = (words.first(), words.last()) else {
        return false;
    };
    words.len() >= 2 && is_first_name(first) && !NOT_A_NAME.contains(first) && is_last_name(last)
}

#[cfg(test)]
mod tests {
    #[test]
    fn pairs() {
        assert!(super::full_name(&["John", "Smith"]));
        assert!(super::full_name(&["Mary", "J.", "Johnson"]));
        assert!(!super::full_name(&["New", "York"]));
    }
}
