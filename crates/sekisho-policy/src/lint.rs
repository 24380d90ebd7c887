//! The policy linter: findings in the style of IAM Access Analyzer.

use crate::condition::OPERATORS;

/// The closest known operator name to a misspelt one, qualifiers and the
/// `IfExists` suffix kept.
pub fn suggest_operator(name: &str) -> Option<String> {
    let (prefix, rest) = ["ForAllValues:", "ForAnyValue:"]
        .iter()
        .find_map(|q| name.strip_prefix(q).map(|r| (*q, r)))
        .unwrap_or(("", name));
    let (base, suffix) = match rest.strip_suffix("IfExists") {
        Some(b) => (b, "IfExists"),
        None => (rest, ""),
    };
    let best = OPERATORS
        .iter()
        .map(|(n, _)| {
            (
                strsim::jaro_winkler(&base.to_lowercase(), &n.to_lowercase()),
                *n,
            )
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))?;
    (best.0 >= 0.85).then(|| format!("{prefix}{}{suffix}", best.1))
}
