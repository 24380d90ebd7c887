//! Creates the benchmark's IAM principal in a Sekisho data directory that
//! `sekisho serve` initialised (run it while the server is stopped):
//!
//! - user `bench-app` (tags team=ml, cost-center=cc-ml-42, env=bench) with
//!   the managed policies `identity/user-managed-*.json` attached, the
//!   inline policies `identity/user-inline-*.json`, and `boundary.json` as
//!   its permissions boundary;
//! - group `ml-engineers` with `identity/group-inline-*.json` inline and
//!   `identity/group-managed-*.json` attached; the user is a member;
//! - one access key for the user, whose id and secret are written as JSON
//!   to `--out` (mode 0600).
//!
//! The policies go through the same IAM model (validation, linting, size
//! limits) as the IAM API's CreatePolicy / PutUserPolicy would.
//!
//! Usage: seed --data-dir DIR --policies bench/policies --out creds.json

use std::path::{Path, PathBuf};

use sekisho_gateway::datadir;
use sekisho_gateway::gateway::persist_iam;
use sekisho_gateway::secrets::SecretBox;
use sekisho_identity::iam::{CreatePolicyRequest, CreateUserRequest, IamState, Tag};
use sekisho_identity::keys::{AccessKeyKind, generate_access_key};
use sekisho_store::{SqliteStore, Store};

const USER: &str = "bench-app";
const GROUP: &str = "ml-engineers";

fn arg(args: &[String], name: &str) -> Result<String, String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .ok_or_else(|| format!("{name} is required"))
}

/// The JSON files in `dir` whose names start with `prefix`, sorted.
fn files(dir: &Path, prefix: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        if name.starts_with(prefix) && path.extension().is_some_and(|e| e == "json") {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            out.push((name, text));
        }
    }
    out.sort();
    Ok(out)
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let data_dir = PathBuf::from(arg(&args, "--data-dir")?);
    let policies = PathBuf::from(arg(&args, "--policies")?);
    let out = PathBuf::from(arg(&args, "--out")?);
    let identity = policies.join("identity");

    // An existing data directory only (never creates one).
    if !data_dir.join("credentials").is_file() {
        return Err(format!(
            "{} is not an initialised data directory; start `sekisho serve` once first",
            data_dir.display()
        ));
    }
    let dir = datadir::open_or_create(&data_dir, None, &[])?;
    let store = SqliteStore::open(&dir.database()).map_err(|e| e.to_string())?;
    // The key is wrapped by the master key (data_dir/master.key here).
    let secrets: SecretBox = sekisho_gateway::startup::secret_box_of(&dir, None)?;
    let mut iam =
        IamState::load(&dir.account_id, |c, p| store.list(c, p)).map_err(|e| e.to_string())?;
    if iam.get_user(USER).is_ok() {
        return Err(format!(
            "user {USER} already exists in {}; use a new data directory",
            data_dir.display()
        ));
    }
    let now = time::OffsetDateTime::now_utc();
    let e = |what: &str| {
        let what = what.to_string();
        move |err: sekisho_identity::iam::IamError| format!("{what}: {}", err.message)
    };
    let create_policy = |iam: &mut IamState, name: &str, text: &str| -> Result<String, String> {
        let info = iam
            .create_policy(
                CreatePolicyRequest {
                    policy_name: name.to_string(),
                    path: Some("/bench/".into()),
                    policy_document: text.to_string(),
                    description: Some("Sekisho benchmark policy".into()),
                    tags: Vec::new(),
                },
                now,
            )
            .map_err(e(&format!("create policy {name}")))?;
        Ok(info.policy.arn.clone())
    };

    let boundary_text =
        std::fs::read_to_string(policies.join("boundary.json")).map_err(|e| e.to_string())?;
    let boundary = create_policy(&mut iam, "bench-boundary", &boundary_text)?;
    iam.create_user(
        CreateUserRequest {
            user_name: USER.into(),
            path: Some("/bench/".into()),
            permissions_boundary: Some(boundary),
            tags: vec![
                Tag::new("team", "ml"),
                Tag::new("cost-center", "cc-ml-42"),
                Tag::new("env", "bench"),
            ],
        },
        now,
    )
    .map_err(e("create user"))?;
    iam.create_group(GROUP, Some("/bench/"), now)
        .map_err(e("create group"))?;
    iam.add_user_to_group(GROUP, USER)
        .map_err(e("add user to group"))?;

    let mut count = 0;
    for (name, text) in files(&identity, "user-managed-")? {
        let arn = create_policy(&mut iam, &name, &text)?;
        iam.attach_user_policy(USER, &arn)
            .map_err(e(&format!("attach {name}")))?;
        count += 1;
    }
    for (name, text) in files(&identity, "user-inline-")? {
        iam.put_user_policy(USER, &name, &text)
            .map_err(e(&format!("put user policy {name}")))?;
        count += 1;
    }
    for (name, text) in files(&identity, "group-managed-")? {
        let arn = create_policy(&mut iam, &name, &text)?;
        iam.attach_group_policy(GROUP, &arn)
            .map_err(e(&format!("attach {name}")))?;
        count += 1;
    }
    for (name, text) in files(&identity, "group-inline-")? {
        iam.put_group_policy(GROUP, &name, &text)
            .map_err(e(&format!("put group policy {name}")))?;
        count += 1;
    }

    let (key_id, secret) =
        generate_access_key(AccessKeyKind::LongTerm).map_err(|_| "random generator failed")?;
    let sealed = secrets
        .seal(secret.expose().as_bytes())
        .map_err(|_| "cannot seal the secret")?;
    iam.create_access_key(USER, key_id.clone(), sealed, now)
        .map_err(e("create access key"))?;
    persist_iam(&store, &mut iam).map_err(|e| e.message)?;

    let user_arn = iam.get_user(USER).map_err(e("get user"))?.arn.clone();
    let json = format!(
        "{{\"access_key_id\":\"{key_id}\",\"secret_access_key\":\"{}\",\"user_arn\":\"{user_arn}\",\"identity_policies\":{count}}}\n",
        secret.expose()
    );
    std::fs::write(&out, json).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| e.to_string())?;
    }
    println!(
        "seeded {user_arn} with {count} identity policies and a boundary; key {key_id} in {}",
        out.display()
    );
    Ok(())
}
