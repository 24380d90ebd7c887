use std::io::{Seek, SeekFrom, Write as _};
use std::sync::Arc;

use super::*;

fn put(c: &str, k: &str, v: &str) -> Write {
    Write::put(c, k, v.as_bytes().to_vec())
}

fn strings(rows: Vec<(String, Vec<u8>)>) -> Vec<(String, String)> {
    rows.into_iter()
        .map(|(k, v)| (k, String::from_utf8(v).expect("utf-8 test value")))
        .collect()
}

#[test]
fn round_trip_put_get_replace_delete() {
    let store = SqliteStore::open_in_memory().expect("open");
    assert_eq!(store.get("c", "k").expect("get"), None);
    store.write(&[put("c", "k", "one")]).expect("write");
    assert_eq!(store.get("c", "k").expect("get"), Some(b"one".to_vec()));
    store.write(&[put("c", "k", "two")]).expect("write");
    assert_eq!(store.get("c", "k").expect("get"), Some(b"two".to_vec()));
    // Same key, other collection: independent.
    assert_eq!(store.get("d", "k").expect("get"), None);
    store.write(&[Write::delete("c", "k")]).expect("delete");
    assert_eq!(store.get("c", "k").expect("get"), None);
    // Deleting a missing document is fine.
    store.write(&[Write::delete("c", "k")]).expect("delete");
    // Empty batch is fine.
    store.write(&[]).expect("empty");
    // Binary values and empty keys and values survive.
    let bytes: Vec<u8> = (0..=255u8).collect();
    store
        .write(&[
            Write::put("c", "", bytes.clone()),
            Write::put("c", "e", vec![]),
        ])
        .expect("write");
    assert_eq!(store.get("c", "").expect("get"), Some(bytes));
    assert_eq!(store.get("c", "e").expect("get"), Some(vec![]));
}

#[test]
fn set_maps_option_to_put_or_delete() {
    let store = SqliteStore::open_in_memory().expect("open");
    store
        .write(&[Write::set("c", "k", Some(b"v".to_vec()))])
        .expect("write");
    assert_eq!(store.get("c", "k").expect("get"), Some(b"v".to_vec()));
    store.write(&[Write::set("c", "k", None)]).expect("write");
    assert_eq!(store.get("c", "k").expect("get"), None);
}

#[test]
fn prefix_listing_is_sorted_and_bounded() {
    let store = SqliteStore::open_in_memory().expect("open");
    store
        .write(&[
            put("iam.users", "111/bob", "b"),
            put("iam.users", "111/alice", "a"),
            put("iam.users", "111/Zed", "z"),
            put("iam.users", "1110/x", "other account"),
            put("iam.users", "112/carol", "c"),
            put("iam.users", "111", "exact prefix"),
            put("iam.users", "111/日本", "j"),
            put("iam.roles", "111/role", "r"),
            put("iam.users", "110/before", "p"),
        ])
        .expect("write");
    let got = strings(store.list("iam.users", "111/").expect("list"));
    assert_eq!(
        got,
        vec![
            ("111/Zed".to_string(), "z".to_string()),
            ("111/alice".to_string(), "a".to_string()),
            ("111/bob".to_string(), "b".to_string()),
            ("111/日本".to_string(), "j".to_string()),
        ]
    );
    let all = store.list("iam.users", "").expect("list");
    assert_eq!(all.len(), 8);
    let keys: Vec<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
    assert!(store.list("iam.users", "999/").expect("list").is_empty());
    assert!(store.list("nothing", "").expect("list").is_empty());
    // Characters that are wildcards in SQL LIKE are plain here.
    store
        .write(&[
            put("p", "a%b", "1"),
            put("p", "a_b", "2"),
            put("p", "axb", "3"),
        ])
        .expect("write");
    assert_eq!(store.list("p", "a%").expect("list").len(), 1);
    assert_eq!(store.list("p", "a_").expect("list").len(), 1);
}

#[test]
fn failing_batch_leaves_nothing() {
    let store = SqliteStore::open_in_memory().expect("open");
    store.write(&[put("c", "keep", "old")]).expect("write");
    let oversized_key = "k".repeat(crate::MAX_KEY_LEN + 1);
    let err = store
        .write(&[
            put("c", "keep", "new"),
            put("c", "a", "1"),
            Write::delete("c", "keep"),
            put("c", &oversized_key, "x"),
        ])
        .expect_err("the last write is invalid");
    assert!(matches!(err, StoreError::InvalidWrite(_)), "{err}");
    assert_eq!(store.get("c", "keep").expect("get"), Some(b"old".to_vec()));
    assert_eq!(store.get("c", "a").expect("get"), None);
    let err = store
        .write(&[put("c", "b", "1"), put("", "b", "1")])
        .expect_err("empty collection");
    assert!(err.to_string().contains("collection name"), "{err}");
    assert_eq!(store.get("c", "b").expect("get"), None);
    // The store still works after a failed batch.
    store.write(&[put("c", "b", "1")]).expect("write");
    assert_eq!(store.get("c", "b").expect("get"), Some(b"1".to_vec()));
}

#[test]
fn reopen_persists_and_sets_pragmas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sekisho.db");
    {
        let store = SqliteStore::open(&path).expect("create");
        store
            .write(&[put("c", "k1", "v1"), put("c", "k2", "v2")])
            .expect("write");
        store.write(&[Write::delete("c", "k2")]).expect("delete");
    }
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.get("c", "k1").expect("get"), Some(b"v1".to_vec()));
    assert_eq!(store.get("c", "k2").expect("get"), None);
    assert_eq!(store.path(), Some(path.as_path()));
    let conn = store.lock();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal_mode");
    assert_eq!(mode, "wal");
    let sync: i64 = conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .expect("synchronous");
    assert_eq!(sync, 2, "FULL");
    let app: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .expect("application_id");
    assert_eq!(app, APPLICATION_ID);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("user_version");
    assert_eq!(version, SCHEMA_VERSION);
}

#[cfg(unix)]
#[test]
fn new_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sekisho.db");
    let _store = SqliteStore::open(&path).expect("create");
    let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
    assert_eq!(mode & 0o077, 0, "mode {mode:o}");
}

#[test]
fn an_existing_empty_file_becomes_a_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").expect("touch");
    let store = SqliteStore::open(&path).expect("open");
    store.write(&[put("c", "k", "v")]).expect("write");
}

fn open_err(path: &Path) -> StoreError {
    match SqliteStore::open(path) {
        Ok(_) => panic!("{} opened", path.display()),
        Err(e) => e,
    }
}

#[test]
fn garbage_file_is_refused_and_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("garbage.db");
    let garbage = b"this is not a database, just some text that a user put here\n".repeat(100);
    std::fs::write(&path, &garbage).expect("write");
    let err = open_err(&path);
    assert!(matches!(err, StoreError::NotSekisho { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("not a SQLite database"), "{text}");
    assert_eq!(std::fs::read(&path).expect("read"), garbage);
    // A file shorter than the header too.
    std::fs::write(&path, b"SQLite").expect("write");
    assert!(matches!(open_err(&path), StoreError::NotSekisho { .. }));
}

#[test]
fn directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = open_err(dir.path());
    assert!(err.to_string().contains("directory"), "{err}");
}

#[test]
fn missing_parent_directory_is_an_io_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("no/such/dir/sekisho.db");
    let err = open_err(&path);
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("no/such/dir"), "{err}");
}

#[test]
fn foreign_sqlite_file_is_refused_and_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("other.db");
    {
        let conn = Connection::open(&path).expect("create");
        conn.execute_batch("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);")
            .expect("schema");
    }
    let before = std::fs::read(&path).expect("read");
    let err = open_err(&path);
    assert!(matches!(err, StoreError::NotSekisho { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("customers"), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert_eq!(std::fs::read(&path).expect("read"), before, "file modified");

    // Another application's id.
    let path2 = dir.path().join("app.db");
    {
        let conn = Connection::open(&path2).expect("create");
        conn.execute_batch("PRAGMA application_id = 1234;")
            .expect("app id");
    }
    let err = open_err(&path2);
    assert!(err.to_string().contains("another application"), "{err}");

    // No tables but a user_version: someone's, not ours.
    let path3 = dir.path().join("version.db");
    {
        let conn = Connection::open(&path3).expect("create");
        conn.execute_batch("PRAGMA user_version = 7;")
            .expect("version");
    }
    assert!(matches!(open_err(&path3), StoreError::NotSekisho { .. }));
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sekisho.db");
    {
        let store = SqliteStore::open(&path).expect("create");
        store.write(&[put("c", "k", "v")]).expect("write");
    }
    {
        let conn = Connection::open(&path).expect("raw");
        conn.execute_batch("PRAGMA user_version = 9;")
            .expect("bump");
    }
    let err = open_err(&path);
    match &err {
        StoreError::NewerSchema {
            found, supported, ..
        } => {
            assert_eq!(*found, 9);
            assert_eq!(*supported, SCHEMA_VERSION);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("newer"), "{err}");
    // Nothing was reset: put the version back and the data is there.
    {
        let conn = Connection::open(&path).expect("raw");
        conn.execute_batch("PRAGMA user_version = 1;")
            .expect("restore");
    }
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.get("c", "k").expect("get"), Some(b"v".to_vec()));
}

#[test]
fn sekisho_id_with_missing_table_is_corrupt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sekisho.db");
    {
        let _ = SqliteStore::open(&path).expect("create");
    }
    {
        let conn = Connection::open(&path).expect("raw");
        conn.execute_batch("DROP TABLE documents;").expect("drop");
    }
    let err = open_err(&path);
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("damaged"), "{err}");
}

#[test]
fn damaged_pages_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sekisho.db");
    {
        let store = SqliteStore::open(&path).expect("create");
        let batch: Vec<Write> = (0..2000)
            .map(|i| Write::put("c", format!("key-{i:05}"), vec![b'x'; 200]))
            .collect();
        store.write(&batch).expect("write");
    }
    // Closing the last connection checkpointed the WAL into the file.
    let len = std::fs::metadata(&path).expect("meta").len();
    assert!(len > 64 * 1024, "len {len}");
    {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("open");
        for page in [1u64, 2, 3, 5, 8] {
            file.seek(SeekFrom::Start(page * 4096)).expect("seek");
            file.write_all(&[0xA5; 4096]).expect("scribble");
        }
    }
    let err = open_err(&path);
    assert!(
        matches!(
            err,
            StoreError::Corrupt { .. } | StoreError::NotSekisho { .. }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn concurrent_writers_on_one_handle() {
    let store = Arc::new(SqliteStore::open_in_memory().expect("open"));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..50 {
                    store
                        .write(&[
                            Write::put("c", format!("{t}/{i:03}"), vec![t as u8]),
                            Write::put("count", format!("{t}"), i.to_string().into_bytes()),
                        ])
                        .expect("write");
                    let _ = store.list("c", &format!("{t}/")).expect("list");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    for t in 0..8 {
        assert_eq!(store.list("c", &format!("{t}/")).expect("list").len(), 50);
        assert_eq!(
            store.get("count", &t.to_string()).expect("get"),
            Some(b"49".to_vec())
        );
    }
}

#[test]
fn concurrent_handles_on_one_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("shared.db");
    // Several handles open (and initialise) the same new file at once.
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                let store = SqliteStore::open(&path).expect("open");
                for i in 0..25 {
                    store
                        .write(&[Write::put("c", format!("{t}-{i:02}"), vec![1])])
                        .expect("write");
                }
                store.list("c", "").expect("list").len()
            })
        })
        .collect();
    for t in threads {
        assert!(t.join().expect("thread") >= 25);
    }
    let store = SqliteStore::open(&path).expect("open");
    assert_eq!(store.list("c", "").expect("list").len(), 100);
}

#[test]
fn debug_output_hides_values() {
    let w = Write::put("c", "k", b"secret-bytes".to_vec());
    let text = format!("{w:?}");
    assert!(!text.contains("secret"), "{text}");
    assert!(text.contains("value_len"), "{text}");
    let store = SqliteStore::open_in_memory().expect("open");
    assert!(format!("{store:?}").contains(":memory:"));
}

#[test]
fn store_is_object_safe_and_shareable() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().expect("open"));
    store.write(&[put("c", "k", "v")]).expect("write");
    let by_ref: &dyn Store = &*store;
    assert_eq!(by_ref.get("c", "k").expect("get"), Some(b"v".to_vec()));
    fn generic<S: Store>(s: S) -> usize {
        s.list("c", "").map(|v| v.len()).unwrap_or(0)
    }
    assert_eq!(generic(Arc::clone(&store)), 1);
    assert_eq!(generic(&*store), 1);
}
