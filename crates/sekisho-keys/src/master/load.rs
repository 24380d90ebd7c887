//! Finding the master key at start-up: environment variable, explicit file,
//! default file in the data directory, or a freshly generated default file.
//!
//! Key files must belong to the user Sekisho runs as and be unreadable by
//! group and others. The current uid is read without `unsafe` as the owner of
//! `/proc/self` (Linux: the process's effective uid); where `/proc` is absent
//! it is the owner of an anonymous temporary file this process creates.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use zeroize::Zeroizing;

use super::MasterKey;
use crate::error::KeyError;

/// The environment variable the gateway reads the master key from.
pub const MASTER_KEY_ENV: &str = "SEKISHO_MASTER_KEY";

/// Longest key file we read: 64 hex chars and a line ending, with room to
/// say "too long" without reading an arbitrary file into memory.
const MAX_FILE_BYTES: usize = 128;

/// Where the master key may come from. The caller reads the environment;
/// this crate never does, so tests stay independent of the process env.
#[derive(Clone, Default)]
pub struct MasterKeyOptions {
    /// `--master-key-file PATH`, if given.
    pub file: Option<PathBuf>,
    /// The value of `SEKISHO_MASTER_KEY`, if set: 64 hex chars or the base64
    /// of 32 bytes.
    pub env_value: Option<String>,
    /// The default key file, e.g. `<data dir>/master.key`.
    pub default_file: PathBuf,
}

impl std::fmt::Debug for MasterKeyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKeyOptions")
            .field("file", &self.file)
            .field("env_value", &self.env_value.as_ref().map(|_| ".."))
            .field("default_file", &self.default_file)
            .finish()
    }
}

/// Where the loaded key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterKeyOrigin {
    /// The `SEKISHO_MASTER_KEY` environment variable.
    Env,
    /// An existing key file (explicit or default).
    File(PathBuf),
    /// A key generated now and written to this (default) path.
    Generated(PathBuf),
}

/// The loaded key, its origin, and a warning for the operator if the key
/// sits where it protects less than it should.
#[derive(Debug)]
pub struct LoadedMasterKey {
    pub key: MasterKey,
    pub origin: MasterKeyOrigin,
    pub warning: Option<String>,
}

/// Loads the master key. Precedence: env value, then explicit file, then
/// default file, then generate at the default path (mode 0600, `create_new`,
/// so a concurrent start never overwrites a key another process just wrote).
pub fn load_master_key(opts: &MasterKeyOptions) -> Result<LoadedMasterKey, KeyError> {
    if let Some(value) = &opts.env_value {
        return Ok(LoadedMasterKey {
            key: parse_env_value(value)?,
            origin: MasterKeyOrigin::Env,
            warning: None,
        });
    }
    if let Some(path) = &opts.file {
        let key = read_key_file(path)?.ok_or_else(|| {
            KeyError::MasterKey(format!(
                "master key file {} does not exist (given with --master-key-file)",
                path.display()
            ))
        })?;
        return Ok(LoadedMasterKey {
            key,
            origin: MasterKeyOrigin::File(path.clone()),
            warning: None,
        });
    }
    let path = &opts.default_file;
    if let Some(key) = read_key_file(path)? {
        return Ok(default_file_loaded(key, path));
    }
    match generate_at(path)? {
        Some(key) => Ok(LoadedMasterKey {
            key,
            origin: MasterKeyOrigin::Generated(path.clone()),
            warning: Some(generated_warning(path)),
        }),
        // Another process created it between our read and our create.
        None => match read_key_file(path)? {
            Some(key) => Ok(default_file_loaded(key, path)),
            None => Err(KeyError::MasterKey(format!(
                "master key file {} appeared and vanished while starting; start again",
                path.display()
            ))),
        },
    }
}

fn default_file_loaded(key: MasterKey, path: &Path) -> LoadedMasterKey {
    LoadedMasterKey {
        key,
        origin: MasterKeyOrigin::File(path.to_path_buf()),
        warning: Some(format!(
            "the master key is read from {} inside the data directory: anyone who can read \
             the data directory can decrypt everything in it. Move the key to a file outside \
             the data directory (--master-key-file) or to the {MASTER_KEY_ENV} environment \
             variable.",
            path.display()
        )),
    }
}

fn generated_warning(path: &Path) -> String {
    format!(
        "generated a new master key at {}. Anyone who can read the data directory can \
         decrypt everything Sekisho stores. Move the key to a file outside the data directory \
         and pass --master-key-file, or put it in the {MASTER_KEY_ENV} environment variable.",
        path.display()
    )
}

/// 64 hex chars, or base64 (standard or URL-safe, padded or not) of 32 bytes.
fn parse_env_value(value: &str) -> Result<MasterKey, KeyError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(KeyError::MasterKey(format!(
            "{MASTER_KEY_ENV} is set but empty: unset it or give 64 hex characters or the \
             base64 of 32 bytes"
        )));
    }
    if v.len() == 64
        && let Some(k) = decode_hex32(v.as_bytes())
    {
        return Ok(k);
    }
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    for engine in engines {
        if let Ok(bytes) = engine.decode(v) {
            let bytes = Zeroizing::new(bytes);
            if let Ok(arr) = <[u8; 32]>::try_from(bytes.as_slice()) {
                let key = MasterKey::from_bytes(arr);
                let mut arr = arr;
                zeroize::Zeroize::zeroize(&mut arr);
                return Ok(key);
            }
        }
    }
    Err(KeyError::MasterKey(format!(
        "{MASTER_KEY_ENV} is not a valid master key: expected 64 hexadecimal characters or \
         the base64 encoding of exactly 32 bytes (generate one with `openssl rand -hex 32`)"
    )))
}

fn decode_hex32(text: &[u8]) -> Option<MasterKey> {
    let mut arr = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text, arr.as_mut_slice()).ok()?;
    Some(MasterKey::from_bytes(*arr))
}

/// Reads and checks a key file. `Ok(None)` when it does not exist.
fn read_key_file(path: &Path) -> Result<Option<MasterKey>, KeyError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(KeyError::MasterKey(format!(
                "cannot open master key file {}: {e}",
                path.display()
            )));
        }
    };
    // Check the opened file itself, not the path, so a swap in between is moot.
    let meta = file.metadata().map_err(|e| {
        KeyError::MasterKey(format!(
            "cannot stat master key file {}: {e}",
            path.display()
        ))
    })?;
    if !meta.is_file() {
        return Err(KeyError::MasterKey(format!(
            "master key file {} is not a regular file",
            path.display()
        )));
    }
    check_owner_and_mode(path, meta.uid(), meta.permissions().mode())?;

    let mut buf = Zeroizing::new(Vec::with_capacity(MAX_FILE_BYTES + 64));
    (&file)
        .take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| {
            KeyError::MasterKey(format!(
                "cannot read master key file {}: {e}",
                path.display()
            ))
        })?;
    parse_file_content(path, &buf).map(Some)
}

fn check_owner_and_mode(path: &Path, owner: u32, mode: u32) -> Result<(), KeyError> {
    let me = current_uid()?;
    if owner != me {
        return Err(KeyError::MasterKey(format!(
            "master key file {} is owned by uid {owner} but Sekisho runs as uid {me}: run \
             `chown {me} {}` or start Sekisho as the file's owner",
            path.display(),
            path.display()
        )));
    }
    if mode & 0o077 != 0 {
        return Err(KeyError::MasterKey(format!(
            "master key file {} has mode {:04o}, which lets group or others access it: run \
             `chmod 600 {}`",
            path.display(),
            mode & 0o7777,
            path.display()
        )));
    }
    Ok(())
}

/// The effective uid, without `unsafe`: see the module comment.
fn current_uid() -> Result<u32, KeyError> {
    if let Ok(meta) = std::fs::metadata("/proc/self") {
        return Ok(meta.uid());
    }
    tempfile::tempfile()
        .and_then(|f| f.metadata())
        .map(|m| m.uid())
        .map_err(|e| KeyError::MasterKey(format!("cannot determine the current user id: {e}")))
}

/// Exactly 64 hex chars, then optionally one `\n` (or `\r\n`).
fn parse_file_content(path: &Path, content: &[u8]) -> Result<MasterKey, KeyError> {
    let body = content
        .strip_suffix(b"\n")
        .map(|b| b.strip_suffix(b"\r").unwrap_or(b))
        .unwrap_or(content);
    let problem = if body.len() != 64 {
        if content.len() > MAX_FILE_BYTES {
            "the file is too long".to_string()
        } else {
            format!("found {} characters", body.len())
        }
    } else if let Some(key) = decode_hex32(body) {
        return Ok(key);
    } else {
        "found a character that is not hexadecimal".to_string()
    };
    Err(KeyError::MasterKey(format!(
        "master key file {} is malformed: expected exactly 64 hexadecimal characters \
         and an optional newline ({problem}); create one with `openssl rand -hex 32 > {}` \
         and `chmod 600 {}`",
        path.display(),
        path.display(),
        path.display()
    )))
}

/// Writes a new key with `create_new` and mode 0600. `Ok(None)` if the file
/// already exists (someone else won the race).
fn generate_at(path: &Path) -> Result<Option<MasterKey>, KeyError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|e| {
                KeyError::MasterKey(format!(
                    "cannot create directory {} for the master key: {e}",
                    parent.display()
                ))
            })?;
    }
    let mut file = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => {
            return Err(KeyError::MasterKey(format!(
                "cannot create master key file {}: {e}",
                path.display()
            )));
        }
    };
    let key = MasterKey::generate()?;
    let mut text = Zeroizing::new(hex::encode(key.bytes()));
    text.push('\n');
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| {
            KeyError::MasterKey(format!(
                "cannot write master key file {}: {e}",
                path.display()
            ))
        })?;
    Ok(Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_forms() {
        let hex_key = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let k = parse_env_value(hex_key).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD
            .encode(hex::decode(hex_key.to_lowercase()).unwrap());
        assert!(k.ct_eq(&parse_env_value(&format!(" {b64}\n")).unwrap()));
        assert!(parse_env_value("").is_err());
        assert!(parse_env_value("zz").is_err());
        // base64 of 31 bytes
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 31]);
        let err = parse_env_value(&short).unwrap_err().to_string();
        assert!(err.contains("32 bytes"), "{err}");
    }

    #[test]
    fn file_content_rules() {
        let p = Path::new("/x/master.key");
        let good = [b'a'; 64];
        assert!(parse_file_content(p, &good).is_ok());
        assert!(parse_file_content(p, &[&good[..], b"\n"].concat()).is_ok());
        assert!(parse_file_content(p, &[&good[..], b"\r\n"].concat()).is_ok());
        assert!(parse_file_content(p, &[&good[..], b"\n\n"].concat()).is_err());
        let e = parse_file_content(p, &good[..63]).unwrap_err().to_string();
        assert!(
            e.contains("/x/master.key") && e.contains("64 hexadecimal"),
            "{e}"
        );
        let mut bad = good;
        bad[10] = b'g';
        assert!(parse_file_content(p, &bad).is_err());
    }

    #[test]
    fn uid_is_found() {
        assert!(current_uid().is_ok());
    }
}
