//! Starting the gateway: the data directory, the store, the IAM state (and
//! on first start the admin user and its access key), the organization's
//! policies, the backends and the listeners.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;
use sekisho_identity::iam::{CreateUserRequest, IamState};
use sekisho_identity::keys::{AccessKeyKind, generate_access_key};
use sekisho_identity::token::{TokenKey, TokenKeyRing};
use sekisho_policy::Policy;
use sekisho_store::{SqliteStore, Store};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use sekisho_keys::{MasterKey, MasterKeyOptions, load_master_key};
use zeroize::Zeroizing;

use crate::audit::AuditSink;
use crate::auth::AuthStats;
use crate::authz::Organization;
use crate::backend::build_backend;
use crate::config::Config;
use crate::datadir::{self, DataDir};
use crate::gateway::{Gateway, persist_iam};
use crate::limits::Limiter;
use crate::secrets::SecretBox;
use crate::server::{self, ListenerStats};
use crate::services::cloudtrail::TrailConfigs;
use crate::services::invocation_log::InvocationLogging;
use crate::services::kms::Kms;
use crate::services::logs::Logs;

/// The name of the administrator created on first start.
pub const ADMIN_USER: &str = "admin";
/// The profile name in the generated AWS config and credentials files.
pub const PROFILE: &str = "sekisho";

/// A running gateway.
pub struct Running {
    pub gateway: Arc<Gateway>,
    pub data_dir: DataDir,
    /// The bound address of each listener (ports resolved).
    pub addrs: Vec<SocketAddr>,
    /// Set on first start: the admin's access key id (its secret went to
    /// the credentials file only).
    pub admin_key_id: Option<String>,
    /// Set when the master key sits where it protects less than it should.
    pub master_warning: Option<String>,
    pub stats: Vec<Arc<ListenerStats>>,
    tasks: JoinSet<()>,
}

impl Running {
    /// Waits until a listener task ends (it does not, unless it panicked).
    pub async fn wait(mut self) {
        let _ = self.tasks.join_next().await;
    }
}

/// The prefix of a key file whose key is wrapped by the master key.
const WRAPPED_PREFIX: &str = "sekisho-wrapped-v1:";

/// Reads a key file of the data directory, wrapped by the master key (the
/// file's name is bound as authenticated data, so files cannot be
/// swapped). A file from before the key service (plain hex) is wrapped in
/// place on first read.
fn read_wrapped_key(path: &Path, master: &MasterKey) -> Result<Zeroizing<Vec<u8>>, String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
    );
    let text = text.trim();
    if let Some(wrapped) = text.strip_prefix(WRAPPED_PREFIX) {
        let sealed =
            hex::decode(wrapped).map_err(|_| format!("{} is damaged (not hex)", path.display()))?;
        return master.unwrap(&sealed, name.as_bytes()).map_err(|_| {
            format!(
                "{} cannot be opened with this master key: the data directory was sealed with another one. Start with the master key it was created with (SEKISHO_MASTER_KEY, master_key_file or {}/master.key)",
                path.display(),
                path.parent().map_or_else(String::new, |p| p.display().to_string())
            )
        });
    }
    let plain = Zeroizing::new(
        hex::decode(text).map_err(|_| format!("{} is damaged (not hex)", path.display()))?,
    );
    write_wrapped_key(path, master, &plain)?;
    Ok(plain)
}

fn write_wrapped_key(path: &Path, master: &MasterKey, key: &[u8]) -> Result<(), String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sealed = master
        .wrap(key, name.as_bytes())
        .map_err(|e| format!("cannot wrap {}: {e}", path.display()))?;
    let text = format!("{WRAPPED_PREFIX}{}\n", hex::encode(sealed));
    datadir::write_file(path, text.as_bytes(), true)
}

fn key32(bytes: &[u8], path: &Path) -> Result<[u8; 32], String> {
    bytes
        .try_into()
        .map_err(|_| format!("{} is damaged (not a 32-byte key)", path.display()))
}

fn load_policy(path: &Path) -> Result<Policy, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read the policy file {}: {e}", path.display()))?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Policy::parse(&bytes)
        .map(|p| p.named(name))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Starts everything; returns once every listener is bound.
pub async fn start(config: Config) -> Result<Running, String> {
    // Checked before anything is touched: a bad classifier setting (or a
    // missing API key variable) refuses the start.
    let guard_classifiers = crate::external_classifier::with_external(
        crate::services::guardrails::embedded_classifiers(),
        &config.guardrail_classifiers,
    )?;
    let mut tls_names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    for l in &config.listeners {
        let ip = l.bind.ip();
        if !ip.is_unspecified() && !tls_names.contains(&ip.to_string()) {
            tls_names.push(ip.to_string());
        }
    }
    let data_dir =
        datadir::open_or_create(&config.data_dir, config.account_id.as_deref(), &tls_names)?;
    let account = data_dir.account_id.clone();

    // Bind every listener before serving any, so a port in use is reported
    // before anything runs.
    let mut bound = Vec::new();
    for (i, l) in config.listeners.iter().enumerate() {
        let listener = TcpListener::bind(l.bind)
            .await
            .map_err(|e| format!("listener {i}: cannot listen on {}: {e}", l.bind))?;
        let (certs, key) = match (&l.tls_cert, &l.tls_key) {
            (Some(cert), Some(key)) => crate::tls::load_pem(cert, key)?,
            _ => crate::tls::load_pem(&data_dir.server_cert(), &data_dir.server_key())?,
        };
        let tls = crate::tls::server_config(certs, key)?;
        bound.push((listener, tls));
    }

    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&data_dir.database()).map_err(|e| e.to_string())?);

    // The master key wraps every other key of the data directory.
    let loaded = master_key_of(&data_dir, config.master_key_file.as_deref())?;
    let master_warning = loaded.warning.clone();
    let master = Arc::new(loaded.key);
    let token_key = read_wrapped_key(&data_dir.token_key(), &master)?;
    let tokens = TokenKeyRing::new(
        TokenKey::from_bytes(key32(&token_key, &data_dir.token_key())?),
        [],
    );
    let secrets_key = read_wrapped_key(&data_dir.secrets_key(), &master)?;
    let secrets = SecretBox::new(&key32(&secrets_key, &data_dir.secrets_key())?);
    let signing_path = data_dir.file("audit-signing.key");
    let signing_key = if signing_path.exists() {
        read_wrapped_key(&signing_path, &master)?
    } else {
        let (_, pkcs8) = sekisho_audit::Signer::generate()
            .map_err(|e| format!("cannot make the audit signing key: {e}"))?;
        let pkcs8 = Zeroizing::new(pkcs8);
        write_wrapped_key(&signing_path, &master, &pkcs8)?;
        pkcs8
    };

    let mut iam = IamState::load(&account, |collection, prefix| {
        store.list(collection, prefix)
    })
    .map_err(|e| {
        format!(
            "the IAM data in {} cannot be loaded: {e}",
            data_dir.database().display()
        )
    })?;

    // First start: an administrator with full rights and one access key.
    let mut admin_key_id = None;
    if iam.get_user(ADMIN_USER).is_err() {
        let now = time::OffsetDateTime::now_utc();
        let (key_id, secret) = generate_access_key(AccessKeyKind::LongTerm)
            .map_err(|_| "the system random generator failed".to_string())?;
        let sealed = secrets
            .seal(secret.expose().as_bytes())
            .map_err(|_| "cannot seal the admin secret".to_string())?;
        let e = |e: sekisho_identity::iam::IamError| {
            format!("cannot create the admin user: {}", e.message)
        };
        iam.create_user(
            CreateUserRequest {
                user_name: ADMIN_USER.into(),
                path: None,
                permissions_boundary: None,
                tags: Vec::new(),
            },
            now,
        )
        .map_err(e)?;
        iam.attach_user_policy(ADMIN_USER, "arn:aws:iam::aws:policy/AdministratorAccess")
            .map_err(e)?;
        iam.create_access_key(ADMIN_USER, key_id.clone(), sealed, now)
            .map_err(e)?;
        // Credentials first: a crash between the two leaves a key nobody
        // knows (harmless) rather than a file naming a key that is not there.
        write_credentials(&data_dir, &key_id, secret.expose())?;
        persist_iam(store.as_ref(), &mut iam).map_err(|e| e.message)?;
        admin_key_id = Some(key_id);
    }

    // The AWS config file points at the first listener as bound now (its
    // port may have been ephemeral), on every start.
    let first = bound
        .first()
        .map(|(l, _)| l.local_addr())
        .transpose()
        .map_err(|e| e.to_string())?;
    write_aws_config(&data_dir, &config, first)?;

    let mut organization = Organization::default();
    if let Some(org) = &config.organization {
        organization.id = org.id.clone();
        for level in &org.levels {
            organization.scps.push(
                level
                    .scps
                    .iter()
                    .map(|p| load_policy(p))
                    .collect::<Result<_, _>>()?,
            );
            organization.rcps.push(
                level
                    .rcps
                    .iter()
                    .map(|p| load_policy(p))
                    .collect::<Result<_, _>>()?,
            );
        }
        // A level without RCPs imposes none (AWS attaches RCPFullAWSAccess).
        if organization.rcps.iter().all(Vec::is_empty) {
            organization.rcps.clear();
        } else {
            for level in &mut organization.rcps {
                if level.is_empty() {
                    level.push(
                        Policy::parse(br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#)
                            .map_err(|e| e.to_string())?
                            .named("RCPFullAWSAccess"),
                    );
                }
            }
        }
    }
    let endpoint_policies = config
        .listeners
        .iter()
        .map(|l| l.endpoint_policy.as_deref().map(load_policy).transpose())
        .collect::<Result<Vec<_>, _>>()?;

    let mut backends = HashMap::new();
    for (name, backend) in &config.backends {
        backends.insert(
            name.clone(),
            build_backend(backend).map_err(|e| format!("backend `{name}`: {e}"))?,
        );
    }
    let limits = &config.limits;
    let limiter = Limiter::new(
        limits.requests_per_second,
        limits.burst,
        limits.max_concurrent_per_principal,
    );

    let kms = Arc::new(Kms::load(&account, master.clone(), store.clone())?);
    let logs = Logs::load(store.as_ref())?;
    let invocation_logging = InvocationLogging::load(store.as_ref())?;
    let guardrails = crate::services::guardrails::Guardrails::load(store.as_ref())?
        .with_classifiers(guard_classifiers);
    let audit = open_audit(&data_dir, &config, signing_key)?;

    let gateway = Arc::new(Gateway {
        account: account.clone(),
        iam: ArcSwap::from_pointee(iam),
        iam_write: tokio::sync::Mutex::new(()),
        store,
        tokens,
        secrets,
        organization,
        endpoint_policies,
        backends,
        limiter,
        auth_stats: AuthStats::default(),
        mfa_steps: std::sync::Mutex::new(HashMap::new()),
        config: config.clone(),
        kms,
        logs,
        invocation_logging,
        guardrails,
        audit,
        trail_configs: TrailConfigs::default(),
    });
    TrailConfigs::load(&gateway)?;
    let mut tasks = JoinSet::new();
    tasks.spawn(housekeeping(gateway.clone()));
    let mut tasks = JoinSet::new();
    let mut addrs = Vec::new();
    let mut stats = Vec::new();
    let handshake = std::time::Duration::from_secs(config.limits.handshake_timeout_secs);
    for (i, (listener, tls)) in bound.into_iter().enumerate() {
        addrs.push(listener.local_addr().map_err(|e| e.to_string())?);
        let s = Arc::new(ListenerStats::default());
        stats.push(s.clone());
        tasks.spawn(server::serve(
            i,
            config.listeners[i].clone(),
            listener,
            tls,
            server::ConnLimits {
                handshake_timeout: handshake,
                max_header_bytes: config.limits.max_header_bytes,
            },
            gateway.clone(),
            s,
        ));
    }
    Ok(Running {
        gateway,
        data_dir,
        addrs,
        admin_key_id,
        master_warning,
        stats,
        tasks,
    })
}

/// Every minute: automatic key rotations that are due, keys past their
/// deletion window, and log events past their group's retention.
async fn housekeeping(gateway: Arc<Gateway>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        let now = time::OffsetDateTime::now_utc();
        match gateway.kms.housekeeping(now) {
            Ok((0, 0)) => {}
            Ok((rotated, purged)) => tracing::info!(
                target: "sekisho::keys",
                rotated,
                purged,
                "key housekeeping"
            ),
            Err(e) => {
                tracing::error!(target: "sekisho::keys", error = %e.message, "key housekeeping failed")
            }
        }
        match gateway.logs.expire(&gateway, now) {
            Ok(0) => {}
            Ok(removed) => {
                tracing::info!(target: "sekisho::logs", removed, "expired log events deleted")
            }
            Err(e) => tracing::error!(target: "sekisho::logs", error = %e, "log retention failed"),
        }
    }
}

/// Writes `.sekisho/credentials` (0600) in the AWS shared-credentials
/// format, profile `sekisho`.
pub fn write_credentials(data_dir: &DataDir, key_id: &str, secret: &str) -> Result<(), String> {
    let credentials =
        format!("[{PROFILE}]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n");
    datadir::write_file(&data_dir.credentials(), credentials.as_bytes(), true)
}

/// Writes `.sekisho/config` (profile `sekisho`: region, `endpoint_url` of
/// the listener, `ca_bundle`).
pub fn write_aws_config(
    data_dir: &DataDir,
    config: &Config,
    bound: Option<SocketAddr>,
) -> Result<(), String> {
    let endpoint = match bound {
        Some(addr) if addr.ip().is_unspecified() || addr.ip().is_loopback() => {
            format!("https://localhost:{}", addr.port())
        }
        Some(addr) => format!("https://{addr}"),
        None => "https://localhost:8443".to_string(),
    };
    let ca = std::fs::canonicalize(data_dir.ca_cert()).unwrap_or_else(|_| data_dir.ca_cert());
    let region = config.regions.first().map_or("us-east-1", String::as_str);
    let aws_config = format!(
        "[profile {PROFILE}]\nregion = {region}\nendpoint_url = {endpoint}\nca_bundle = {}\n",
        ca.display()
    );
    datadir::write_file(&data_dir.aws_config(), aws_config.as_bytes(), false)
}

/// The master key as `sekisho serve` finds it: `SEKISHO_MASTER_KEY`, the
/// configured file, or `<data dir>/master.key` (generated when absent).
fn master_key_of(
    data_dir: &DataDir,
    master_key_file: Option<&Path>,
) -> Result<sekisho_keys::LoadedMasterKey, String> {
    load_master_key(&MasterKeyOptions {
        file: master_key_file.map(Path::to_path_buf),
        env_value: std::env::var(sekisho_keys::MASTER_KEY_ENV).ok(),
        default_file: data_dir.file("master.key"),
    })
    .map_err(|e| e.to_string())
}

/// The first served region: the home of the event history's file names.
fn home_region(config: &Config) -> String {
    config
        .regions
        .first()
        .cloned()
        .unwrap_or_else(|| "us-east-1".to_string())
}

/// The event history in `<data dir>/audit`.
fn open_audit(
    data_dir: &DataDir,
    config: &Config,
    signing_key: Zeroizing<Vec<u8>>,
) -> Result<AuditSink, String> {
    AuditSink::open(
        data_dir.file("audit"),
        &data_dir.account_id,
        &home_region(config),
        signing_key,
        &config.audit,
    )
}

/// The secret box of an initialised data directory, its key unwrapped with
/// the master key found as `sekisho serve` finds it (for tools that write
/// IAM records offline, such as the benchmark's seeding).
pub fn secret_box_of(
    data_dir: &DataDir,
    master_key_file: Option<&Path>,
) -> Result<SecretBox, String> {
    let master = master_key_of(data_dir, master_key_file)?.key;
    let key = read_wrapped_key(&data_dir.secrets_key(), &master)?;
    Ok(SecretBox::new(&key32(&key, &data_dir.secrets_key())?))
}

/// The data directory opened by a command-line tool while the gateway is
/// stopped: the key service and the audit trail (whose directory lock
/// refuses a second writer, so a running gateway is detected).
pub struct Offline {
    pub account: String,
    pub home_region: String,
    pub kms: Arc<Kms>,
    audit: AuditSink,
}

impl Offline {
    pub fn open(config: Config) -> Result<Offline, String> {
        if !config.data_dir.join("sekisho.json").is_file() {
            return Err(format!(
                "{} is not a Sekisho data directory (start `sekisho serve` once, or pass --config with its data_dir)",
                config.data_dir.display()
            ));
        }
        let data_dir =
            datadir::open_or_create(&config.data_dir, config.account_id.as_deref(), &[])?;
        let default_file = data_dir.file("master.key");
        if std::env::var_os(sekisho_keys::MASTER_KEY_ENV).is_none()
            && config.master_key_file.is_none()
            && !default_file.exists()
        {
            return Err(format!(
                "no master key: set SEKISHO_MASTER_KEY or master_key_file as for `sekisho serve` ({} does not exist)",
                default_file.display()
            ));
        }
        let master = Arc::new(master_key_of(&data_dir, config.master_key_file.as_deref())?.key);
        let signing = read_wrapped_key(&data_dir.file("audit-signing.key"), &master)?;
        let home_region = home_region(&config);
        let audit = open_audit(&data_dir, &config, signing).map_err(|e| {
            format!("{e}\nIs the gateway running? Stop it first, or use the KMS API (aws kms ...) against it.")
        })?;
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&data_dir.database()).map_err(|e| e.to_string())?);
        let kms = Arc::new(Kms::load(&data_dir.account_id, master, store)?);
        Ok(Offline {
            account: data_dir.account_id.clone(),
            home_region,
            kms,
            audit,
        })
    }

    fn record(
        &self,
        op: &str,
        region: &str,
        resource: Option<String>,
        error: Option<&str>,
    ) -> Result<(), String> {
        let op = crate::registry::OPERATIONS
            .iter()
            .find(|o| o.service == "kms" && o.name == op);
        let mut facts = crate::audit::AuditFacts::local_operator(op, region, resource);
        if let Some(e) = error {
            facts.error = Some(("CommandFailed".into(), e.to_string()));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(self.audit.record(&facts))
    }

    /// Creates a key (and an alias), recorded as `CreateKey`.
    pub fn create_key(
        &self,
        region: &str,
        description: &str,
        alias: Option<&str>,
    ) -> Result<serde_json::Value, String> {
        let meta = self
            .kms
            .create_key_local(region, description, alias)
            .map_err(|e| e.message);
        let arn = meta
            .as_ref()
            .ok()
            .and_then(|m| m["Arn"].as_str().map(str::to_string));
        self.record(
            "CreateKey",
            region,
            arn,
            meta.as_ref().err().map(String::as_str),
        )?;
        meta
    }

    /// Rotates a key now, recorded as `RotateKeyOnDemand`.
    pub fn rotate_key(&self, region: &str, key: &str) -> Result<String, String> {
        let out = self.kms.rotate_local(region, key).map_err(|e| e.message);
        let arn = self.kms.key_arn_of(region, key);
        self.record(
            "RotateKeyOnDemand",
            region,
            arn,
            out.as_ref().err().map(String::as_str),
        )?;
        out
    }

    /// Seals the audit file with a digest.
    pub fn close(self) -> Result<(), String> {
        self.audit.close()
    }
}
