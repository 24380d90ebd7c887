//! The data directory (`./.sekisho/` by default): created on first start,
//! reused after, and refused when it is not Sekisho's.
//!
//! A directory that exists, is not empty and has no readable marker is
//! never reset: it may be somebody else's, or a damaged copy of ours, and
//! silently starting afresh would lose keys and audit records.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::tls;

const MARKER: &str = "sekisho.json";
const FORMAT: &str = "sekisho-data-dir";
const VERSION: u32 = 1;

/// What the marker file records.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Marker {
    format: String,
    version: u32,
    account_id: String,
    created: String,
}

/// An opened data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    pub path: PathBuf,
    pub account_id: String,
    /// True when this start created the directory.
    pub created: bool,
}

/// Files inside the data directory.
impl DataDir {
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
    pub fn ca_cert(&self) -> PathBuf {
        self.file("ca.pem")
    }
    pub fn server_cert(&self) -> PathBuf {
        self.file("server.pem")
    }
    pub fn server_key(&self) -> PathBuf {
        self.file("server-key.pem")
    }
    pub fn database(&self) -> PathBuf {
        self.file("sekisho.db")
    }
    pub fn credentials(&self) -> PathBuf {
        self.file("credentials")
    }
    pub fn aws_config(&self) -> PathBuf {
        self.file("config")
    }
    pub fn token_key(&self) -> PathBuf {
        self.file("token.key")
    }
    pub fn secrets_key(&self) -> PathBuf {
        self.file("secrets.key")
    }
}

/// Opens the data directory, creating it when absent or empty.
///
/// `account_id` from the configuration must match the one recorded, if
/// both are set. `tls_names` are the DNS names and addresses the generated
/// server certificate covers.
pub fn open_or_create(
    path: &Path,
    account_id: Option<&str>,
    tls_names: &[String],
) -> Result<DataDir, String> {
    let marker_path = path.join(MARKER);
    if marker_path.exists() {
        let text = fs::read_to_string(&marker_path)
            .map_err(|e| format!("cannot read {}: {e}", marker_path.display()))?;
        let marker: Marker = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is damaged ({e}); refusing to start on a data directory that may hold keys and audit records. Restore it from a backup, or point data_dir at a new directory",
                marker_path.display()
            )
        })?;
        if marker.format != FORMAT {
            return Err(format!(
                "{} is not a Sekisho data directory marker",
                marker_path.display()
            ));
        }
        if marker.version > VERSION {
            return Err(format!(
                "{} was written by a newer Sekisho (data format {}; this one reads up to {VERSION})",
                path.display(),
                marker.version
            ));
        }
        if let Some(id) = account_id
            && id != marker.account_id
        {
            return Err(format!(
                "the configuration says account_id {id}, but {} belongs to account {}",
                path.display(),
                marker.account_id
            ));
        }
        for required in [
            "ca.pem",
            "server.pem",
            "server-key.pem",
            "token.key",
            "secrets.key",
        ] {
            if !path.join(required).is_file() {
                return Err(format!(
                    "{} is incomplete: {required} is missing. Restore it from a backup, or point data_dir at a new directory",
                    path.display()
                ));
            }
        }
        return Ok(DataDir {
            path: path.to_path_buf(),
            account_id: marker.account_id,
            created: false,
        });
    }
    if path.exists() {
        let mut entries =
            fs::read_dir(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if entries.next().is_some() {
            return Err(format!(
                "{} exists but is not a Sekisho data directory (no {MARKER}); refusing to use it. Point data_dir at an empty or new directory",
                path.display()
            ));
        }
    }
    create(path, account_id, tls_names)
}

fn create(path: &Path, account_id: Option<&str>, tls_names: &[String]) -> Result<DataDir, String> {
    create_private_dir(path)?;
    let account_id = account_id.map_or_else(generate_account_id, str::to_string);
    let pki = tls::generate_pki(tls_names)?;
    write_file(&path.join("ca.pem"), pki.ca_cert_pem.as_bytes(), false)?;
    write_file(&path.join("ca-key.pem"), pki.ca_key_pem.as_bytes(), true)?;
    write_file(
        &path.join("server.pem"),
        pki.server_cert_pem.as_bytes(),
        false,
    )?;
    write_file(
        &path.join("server-key.pem"),
        pki.server_key_pem.as_bytes(),
        true,
    )?;
    let mut key = [0u8; 32];
    aws_lc_rs::rand::fill(&mut key)
        .map_err(|_| "the system random generator failed".to_string())?;
    write_file(&path.join("token.key"), hex::encode(key).as_bytes(), true)?;
    aws_lc_rs::rand::fill(&mut key)
        .map_err(|_| "the system random generator failed".to_string())?;
    write_file(&path.join("secrets.key"), hex::encode(key).as_bytes(), true)?;
    let marker = Marker {
        format: FORMAT.into(),
        version: VERSION,
        account_id: account_id.clone(),
        created: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    };
    // The marker goes last: a start interrupted before it leaves a directory
    // the next start refuses, rather than a half-made one it trusts.
    let text = serde_json::to_string_pretty(&marker).map_err(|e| e.to_string())?;
    write_file(&path.join(MARKER), text.as_bytes(), false)?;
    Ok(DataDir {
        path: path.to_path_buf(),
        account_id,
        created: true,
    })
}

fn generate_account_id() -> String {
    let mut bytes = [0u8; 8];
    // A failing system RNG leaves zeros; the id is not a secret.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    let n = u64::from_le_bytes(bytes) % 900_000_000_000 + 100_000_000_000;
    n.to_string()
}

fn create_private_dir(path: &Path) -> Result<(), String> {
    fs::create_dir_all(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(path, fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot restrict {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Writes a file atomically (temp file, fsync, rename); `private` files are
/// readable by the owner only (0600) from the moment they exist.
pub fn write_file(path: &Path, contents: &[u8], private: bool) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    let mut file = options
        .open(&tmp)
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".sekisho");
        let first = open_or_create(&path, None, &["localhost".into()]).unwrap();
        assert!(first.created);
        assert_eq!(first.account_id.len(), 12);
        let again = open_or_create(&path, None, &["localhost".into()]).unwrap();
        assert!(!again.created);
        assert_eq!(again.account_id, first.account_id);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(path.join("token.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let e = open_or_create(&path, Some("999999999999"), &[]).unwrap_err();
        assert!(e.contains("belongs to account"), "{e}");
    }

    #[test]
    fn refuses_foreign_and_damaged_directories() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        let e = open_or_create(dir.path(), None, &[]).unwrap_err();
        assert!(e.contains("not a Sekisho data directory"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d");
        open_or_create(&path, None, &[]).unwrap();
        fs::write(path.join(MARKER), "{garbage").unwrap();
        let e = open_or_create(&path, None, &[]).unwrap_err();
        assert!(e.contains("is damaged"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d");
        open_or_create(&path, None, &[]).unwrap();
        fs::remove_file(path.join("server-key.pem")).unwrap();
        let e = open_or_create(&path, None, &[]).unwrap_err();
        assert!(e.contains("server-key.pem is missing"), "{e}");
    }
}
