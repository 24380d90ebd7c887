//! Reading stored log files: streaming hashes, torn-tail repair, summaries.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use aws_lc_rs::digest::{Context, SHA256};
use time::OffsetDateTime;

use crate::cipher::{RecordCipher, decode_line};
use crate::record::sniff_event_time;

/// Read buffer for hashing: large reads keep SHA-256, not syscalls, the bottleneck.
const HASH_BUF: usize = 1 << 20;

/// The longest stored line a reader accepts (a base64-sealed 1 MiB record fits).
pub const MAX_LINE_BYTES: usize = 2 << 20;

/// The largest log file a query or summary loads into memory.
pub const MAX_LOG_READ: u64 = 1 << 30;

/// Streams a file through SHA-256. Returns (hex hash, size) and reports each
/// chunk's length to `on_bytes`.
pub fn hash_file(path: &Path, on_bytes: &mut dyn FnMut(u64)) -> std::io::Result<(String, u64)> {
    let mut f = File::open(path)?;
    let mut ctx = Context::new(&SHA256);
    let mut buf = vec![0u8; HASH_BUF];
    let mut size = 0u64;
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        ctx.update(chunk);
        size += n as u64;
        on_bytes(n as u64);
    }
    Ok((hex::encode(ctx.finish().as_ref()), size))
}

/// Cuts a file back to just after its last newline: a line without one was
/// being written when the process died and was never acknowledged.
/// Returns (new length, bytes dropped).
pub fn cut_torn_tail(path: &Path) -> std::io::Result<(u64, u64)> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    let len = f.metadata()?.len();
    let mut end = len;
    let mut buf = vec![0u8; 64 * 1024];
    let mut keep = 0u64;
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let n = usize::try_from(end - start).unwrap_or(0);
        f.seek(SeekFrom::Start(start))?;
        let chunk = buf.get_mut(..n).unwrap_or_default();
        f.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            keep = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    if keep != len {
        f.set_len(keep)?;
        f.sync_all()?;
    }
    Ok((keep, len - keep))
}

/// What a digest says about one log file, computed from its stored bytes.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub hash: String,
    pub size: u64,
    pub records: u64,
    pub oldest: Option<OffsetDateTime>,
    pub newest: Option<OffsetDateTime>,
}

/// Keeps the oldest/newest event time and a record count.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeSpan {
    pub records: u64,
    pub oldest: Option<OffsetDateTime>,
    pub newest: Option<OffsetDateTime>,
}

impl TimeSpan {
    pub fn add(&mut self, t: Option<OffsetDateTime>) {
        self.records += 1;
        if let Some(t) = t {
            self.oldest = Some(self.oldest.map_or(t, |o| o.min(t)));
            self.newest = Some(self.newest.map_or(t, |n| n.max(t)));
        }
    }
}

/// Summarises a sealed file from disk (used by recovery, where the writer's
/// running totals were lost).
pub fn summarize(path: &Path, cipher: Option<&dyn RecordCipher>) -> std::io::Result<Summary> {
    let data = read_bounded(path)?;
    let hash = crate::signer::sha256_hex(&data);
    let mut span = TimeSpan::default();
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let time = decode_line(line, cipher)
            .ok()
            .and_then(|j| sniff_event_time(&j));
        span.add(time);
    }
    Ok(Summary {
        hash,
        size: data.len() as u64,
        records: span.records,
        oldest: span.oldest,
        newest: span.newest,
    })
}

/// Reads a whole log file, refusing files over [`MAX_LOG_READ`].
pub fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    let f = File::open(path)?;
    let len = f.metadata()?.len();
    if len > MAX_LOG_READ {
        return Err(std::io::Error::other(format!(
            "file of {len} bytes is over the {MAX_LOG_READ}-byte read limit"
        )));
    }
    let mut data = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    f.take(MAX_LOG_READ).read_to_end(&mut data)?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_torn_tail() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, b"{\"a\":1}\n{\"a\":2}\n{\"a\"").unwrap();
        assert_eq!(cut_torn_tail(&p).unwrap(), (16, 4));
        assert_eq!(std::fs::read(&p).unwrap(), b"{\"a\":1}\n{\"a\":2}\n");
        std::fs::write(&p, b"no newline at all").unwrap();
        assert_eq!(cut_torn_tail(&p).unwrap(), (0, 17));
        let (h, n) = hash_file(&p, &mut |_| {}).unwrap();
        assert_eq!(n, 0);
        assert_eq!(h, crate::signer::sha256_hex(b""));
    }
}
