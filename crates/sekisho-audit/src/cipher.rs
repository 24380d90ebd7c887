//! Encryption of stored records (KMS-encrypted trails).

/// Seals and opens single records. When a journal has one, each stored line is
/// `base64(seal(json))` instead of the JSON. Implementations must be
/// thread-safe: appenders seal concurrently, outside the writer thread.
pub trait RecordCipher: Send + Sync {
    fn seal(&self, record: &[u8]) -> Result<Vec<u8>, String>;
    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, String>;
}

/// Turns one stored line (without its newline) back into the record's JSON.
pub(crate) fn decode_line(
    line: &[u8],
    cipher: Option<&dyn RecordCipher>,
) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    match cipher {
        None => Ok(line.to_vec()),
        Some(c) => {
            let sealed = base64::engine::general_purpose::STANDARD
                .decode(line)
                .map_err(|e| format!("base64: {e}"))?;
            c.open(&sealed)
        }
    }
}
