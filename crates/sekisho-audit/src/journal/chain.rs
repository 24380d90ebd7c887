//! The digest chain as the writer extends it.

use std::path::PathBuf;

use time::OffsetDateTime;

use crate::digest::{self, ChainHead, LogFileEntry};
use crate::signer::Signer;
use crate::{AuditError, layout, timefmt};

pub(crate) struct Chain {
    pub dir: PathBuf,
    pub account: String,
    pub region: String,
    /// The newest digest, or None at the start of a (new) chain segment.
    pub head: Option<ChainHead>,
    /// Start of the period the next digest covers: the previous digest's end,
    /// so consecutive digests tile time without gaps.
    pub period_start: OffsetDateTime,
    pub next_seq: u64,
}

impl Chain {
    /// Signs and stores a digest covering `entries` up to `now`; returns its path.
    pub fn write(
        &mut self,
        signer: &Signer,
        entries: &[LogFileEntry],
        now: OffsetDateTime,
    ) -> Result<String, AuditError> {
        // Never end before the start (a clock stepping back): names and
        // periods stay ordered.
        let end = timefmt::whole_seconds(now).max(self.period_start);
        let rel = layout::digest_rel(&self.account, &self.region, end, self.next_seq);
        let doc = digest::document(
            &self.account,
            self.period_start,
            end,
            entries.to_vec(),
            self.head.as_ref(),
            signer.fingerprint(),
        );
        let head = digest::write(&self.dir, &rel, &doc, signer)?;
        self.next_seq += 1;
        self.period_start = end;
        self.head = Some(head);
        Ok(rel)
    }
}
