//! Loading the master key from the environment, files, or by generating it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use base64::Engine;
use sekisho_keys::{MasterKeyOptions, MasterKeyOrigin, load_master_key};

const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn write(path: &Path, content: &str, mode: u32) {
    fs::write(path, content).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn opts(dir: &Path) -> MasterKeyOptions {
    MasterKeyOptions {
        file: None,
        env_value: None,
        default_file: dir.join("data").join("master.key"),
    }
}

#[test]
fn env_hex_and_base64_give_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(hex::decode(HEX).unwrap());
    let a = load_master_key(&MasterKeyOptions {
        env_value: Some(HEX.into()),
        ..opts(dir.path())
    })
    .unwrap();
    let b = load_master_key(&MasterKeyOptions {
        env_value: Some(b64),
        ..opts(dir.path())
    })
    .unwrap();
    assert_eq!(a.origin, MasterKeyOrigin::Env);
    assert!(a.warning.is_none());
    assert!(a.key.ct_eq(&b.key));
    // The environment wins over files, and nothing is generated.
    assert!(!dir.path().join("data").exists());
    let err = load_master_key(&MasterKeyOptions {
        env_value: Some("nope".into()),
        ..opts(dir.path())
    })
    .unwrap_err();
    assert!(err.to_string().contains("SEKISHO_MASTER_KEY"));
    assert!(!err.to_string().contains("nope"));
    // Debug of the options hides the value.
    let o = MasterKeyOptions {
        env_value: Some(HEX.into()),
        ..opts(dir.path())
    };
    assert!(!format!("{o:?}").contains(HEX));
}

#[test]
fn file_with_mode_0600_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("mk");
    write(&f, &format!("{HEX}\n"), 0o600);
    let l = load_master_key(&MasterKeyOptions {
        file: Some(f.clone()),
        ..opts(dir.path())
    })
    .unwrap();
    assert_eq!(l.origin, MasterKeyOrigin::File(f.clone()));
    assert!(l.warning.is_none());
    let env = load_master_key(&MasterKeyOptions {
        env_value: Some(HEX.into()),
        ..opts(dir.path())
    })
    .unwrap();
    assert!(l.key.ct_eq(&env.key));
    assert_eq!(format!("{:?}", l.key), "MasterKey(..)");
    // 0400 is fine too.
    fs::set_permissions(&f, fs::Permissions::from_mode(0o400)).unwrap();
    assert!(
        load_master_key(&MasterKeyOptions {
            file: Some(f),
            ..opts(dir.path())
        })
        .is_ok()
    );
}

#[test]
fn readable_by_others_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("mk");
    for mode in [0o644, 0o640, 0o604, 0o660] {
        write(&f, HEX, mode);
        let err = load_master_key(&MasterKeyOptions {
            file: Some(f.clone()),
            ..opts(dir.path())
        })
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&f.display().to_string()), "{msg}");
        assert!(msg.contains(&format!("{mode:04o}")), "{msg}");
        assert!(msg.contains(&format!("chmod 600 {}", f.display())), "{msg}");
        assert!(!msg.contains(HEX));
    }
}

#[test]
fn malformed_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("mk");
    for content in [
        "",
        &HEX[..63],
        &format!("{HEX}0"),
        &format!("{HEX}\n\n"),
        &format!(" {HEX}"),
        &HEX.replace('a', "g"),
        &"x".repeat(10_000),
    ] {
        write(&f, content, 0o600);
        let err = load_master_key(&MasterKeyOptions {
            file: Some(f.clone()),
            ..opts(dir.path())
        })
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&f.display().to_string()) && msg.contains("64 hexadecimal"),
            "{msg}"
        );
    }
}

#[test]
fn missing_explicit_file_is_an_error_not_a_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let o = MasterKeyOptions {
        file: Some(dir.path().join("absent")),
        ..opts(dir.path())
    };
    assert!(
        load_master_key(&o)
            .unwrap_err()
            .to_string()
            .contains("does not exist")
    );
    assert!(!o.default_file.exists());
}

#[test]
fn generated_once_then_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    let first = load_master_key(&o).unwrap();
    assert_eq!(
        first.origin,
        MasterKeyOrigin::Generated(o.default_file.clone())
    );
    let w = first.warning.clone().unwrap();
    assert!(w.contains(&o.default_file.display().to_string()));
    assert!(w.contains("--master-key-file") && w.contains("SEKISHO_MASTER_KEY"));
    let meta = fs::metadata(&o.default_file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let text = fs::read_to_string(&o.default_file).unwrap();
    assert_eq!(text.len(), 65);

    let second = load_master_key(&o).unwrap();
    assert_eq!(second.origin, MasterKeyOrigin::File(o.default_file.clone()));
    assert!(second.key.ct_eq(&first.key));
    assert_eq!(second.key.fingerprint(), first.key.fingerprint());
    // Data sealed under the first load opens under the second.
    let sealed = first.key.wrap(b"data", b"aad").unwrap();
    assert_eq!(
        second.key.unwrap(&sealed, b"aad").unwrap().as_slice(),
        b"data"
    );
}

#[test]
fn default_file_with_bad_mode_is_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    fs::create_dir_all(o.default_file.parent().unwrap()).unwrap();
    write(&o.default_file, HEX, 0o644);
    assert!(
        load_master_key(&o)
            .unwrap_err()
            .to_string()
            .contains("chmod 600")
    );
    assert_eq!(fs::read_to_string(&o.default_file).unwrap(), HEX);
}

#[test]
fn file_owned_by_someone_else_is_refused() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("mk");
    write(&f, HEX, 0o600);
    let me = fs::metadata(&f).unwrap().uid();
    // Only root can give a file away; elsewhere this case cannot be built.
    if me != 0 {
        eprintln!("skipped: needs root to chown");
        return;
    }
    std::os::unix::fs::chown(&f, Some(65534), None).unwrap();
    let err = load_master_key(&MasterKeyOptions {
        file: Some(f.clone()),
        ..opts(dir.path())
    })
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("owned by uid 65534") && msg.contains("chown 0"),
        "{msg}"
    );
}
