//! Amazon Resource Names, and matching them segment by segment.
//!
//! `arn:partition:service:region:account:resource`: the first five colons
//! separate segments and the resource part may hold more colons. A pattern
//! matches when every segment matches, so a `*` never reaches across a
//! segment boundary except in the resource part.

use crate::glob::Glob;

/// The six segments of an ARN, borrowed from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Splits an ARN; `None` unless it starts with `arn:` and has six
    /// segments.
    pub fn parse(text: &'a str) -> Option<Arn<'a>> {
        // The same as `splitn(6, ':')`, by a byte scan: this runs for every
        // request, and the general string searcher costs more than the
        // whole split of a short ARN.
        let rest = text.strip_prefix("arn:")?;
        let mut cut = [0usize; 4];
        let mut found = 0;
        for (i, b) in rest.bytes().enumerate() {
            if b == b':' {
                cut[found] = i;
                found += 1;
                if found == cut.len() {
                    break;
                }
            }
        }
        if found < cut.len() {
            return None;
        }
        let [a, b, c, d] = cut;
        Some(Arn {
            partition: &rest[..a],
            service: &rest[a + 1..b],
            region: &rest[b + 1..c],
            account: &rest[c + 1..d],
            resource: &rest[d + 1..],
        })
    }

    fn segments(&self) -> [&'a str; 5] {
        [
            self.partition,
            self.service,
            self.region,
            self.account,
            self.resource,
        ]
    }
}

/// A compiled ARN pattern: one wildcard pattern per segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnPattern {
    segments: [Glob; 5],
}

impl ArnPattern {
    /// Compiles a pattern; `None` if it is not ARN-shaped.
    pub fn new(pattern: &str) -> Option<ArnPattern> {
        let arn = Arn::parse(pattern)?;
        Some(ArnPattern {
            segments: arn.segments().map(Glob::new),
        })
    }

    /// A pattern from segments compiled by the caller (patterns holding
    /// policy variables, whose values must stay literal).
    pub fn from_globs(segments: [Glob; 5]) -> ArnPattern {
        ArnPattern { segments }
    }

    /// Matches an ARN (case-sensitive, as IAM does).
    #[inline]
    pub fn matches(&self, arn: &Arn<'_>) -> bool {
        // Every segment must match, in any order: the resource part first,
        // since that is where the patterns of one policy set usually differ
        // (`foundation-model/anthropic.*` against `foundation-model/meta.*`),
        // then the service, account, region and partition.
        let [partition, service, region, account, resource] = &self.segments;
        resource.matches(arn.resource)
            && service.matches(arn.service)
            && account.matches(arn.account)
            && region.matches(arn.region)
            && partition.matches(arn.partition)
    }

    /// Matches ARN text; text that is not an ARN matches nothing.
    pub fn matches_str(&self, text: &str) -> bool {
        Arn::parse(text).is_some_and(|arn| self.matches(&arn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_segments() {
        let arn = Arn::parse("arn:aws:s3:::bucket/key:with:colons").unwrap();
        assert_eq!(arn.service, "s3");
        assert_eq!(arn.region, "");
        assert_eq!(arn.resource, "bucket/key:with:colons");
        assert!(Arn::parse("arn:::bucket-name").is_none());
        assert!(Arn::parse("notarn:aws:s3:::b").is_none());
    }

    #[test]
    fn matches_segment_by_segment() {
        let p = ArnPattern::new("arn:???:*:*:*:*").unwrap();
        assert!(p.matches_str("arn:aws:ec2:us-east-1:123456789012:instance/i-1"));
        let p = ArnPattern::new("arn:aws:iam::123456789012:*").unwrap();
        assert!(p.matches_str("arn:aws:iam::123456789012:root"));
        assert!(!p.matches_str("arn:aws:iam::222222222222:root"));
        // A star in the region segment does not swallow the account.
        let p = ArnPattern::new("arn:aws:bedrock:*:123:foundation-model/*").unwrap();
        assert!(p.matches_str("arn:aws:bedrock:us-east-1:123:foundation-model/x"));
        assert!(!p.matches_str("arn:aws:bedrock:us-east-1:999:foundation-model/x"));
        let p = ArnPattern::new("arn:aws:ec2:us-east-1:123456789012:instance/i-12345").unwrap();
        assert!(!p.matches_str("arn:aws:ec2:us-east-1:123456789012:INSTANCE/I-12345"));
    }
}
