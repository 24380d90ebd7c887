//! The gateway's configuration (`sekisho serve --config sekisho.toml`).
//!
//! Every setting has a default, so an empty file (or no file) is the
//! embedded default: data in `./.sekisho/`, HTTPS on `127.0.0.1:8443` for
//! loopback clients only, the `echo` trial model in every served region.
//! Unknown keys are errors, and every error names the key and the line.
//! `docs/configuration.md` documents each setting with a full example.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::Deserialize;

use crate::backend::BackendConfig;
use crate::external_classifier::ExternalClassifierConfig;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where Sekisho keeps its database, keys and certificates.
    pub data_dir: PathBuf,
    /// The account id of the embedded default account. Generated on first
    /// start when absent, then kept in the data directory.
    pub account_id: Option<String>,
    /// Regions this gateway serves (`aws:RequestedRegion` must be one).
    pub regions: Vec<String>,
    /// Network listeners.
    #[serde(rename = "listener")]
    pub listeners: Vec<ListenerConfig>,
    /// The organization: SCP and RCP files per level, root first.
    pub organization: Option<OrganizationConfig>,
    /// Model ids (foundation models and inference profiles) and the backend
    /// that serves each.
    #[serde(rename = "model")]
    pub models: Vec<ModelConfig>,
    /// Backends by name.
    pub backends: BTreeMap<String, BackendConfig>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    pub limits: Limits,
    /// A file holding the master key (64 hex digits, mode 0600). Without
    /// it, `SEKISHO_MASTER_KEY` or `<data_dir>/master.key` (generated on
    /// first start, with a warning) is used.
    pub master_key_file: Option<PathBuf>,
    pub audit: AuditConfig,
    /// External classifiers (moderation or Llama Guard endpoints) that
    /// answer guardrail content filters in place of the embedded ones.
    #[serde(rename = "guardrail_classifier")]
    pub guardrail_classifiers: Vec<ExternalClassifierConfig>,
}

/// The audit trail's timing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Longest time between a record's write and its fsync (group commit).
    pub flush_interval_ms: u64,
    /// A log file is sealed after this long.
    pub rotate_every_secs: u64,
    /// A signed digest is written this often (and at shutdown).
    pub digest_every_secs: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            flush_interval_ms: 100,
            rotate_every_secs: 300,
            digest_every_secs: 3600,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        let mut backends = BTreeMap::new();
        backends.insert("echo".to_string(), BackendConfig::default());
        Config {
            data_dir: PathBuf::from(".sekisho"),
            account_id: None,
            regions: default_regions(),
            listeners: vec![ListenerConfig::default()],
            organization: None,
            models: vec![ModelConfig {
                id: ECHO_MODEL.to_string(),
                backend: "echo".to_string(),
                upstream_model: None,
                regions: vec!["*".to_string()],
            }],
            backends,
            trusted_proxies: Vec::new(),
            limits: Limits::default(),
            master_key_file: None,
            audit: AuditConfig::default(),
            guardrail_classifiers: Vec::new(),
        }
    }
}

/// The built-in trial model.
pub const ECHO_MODEL: &str = "sekisho.echo-v1";

fn default_regions() -> Vec<String> {
    [
        "us-east-1",
        "us-east-2",
        "us-west-2",
        "eu-central-1",
        "eu-west-1",
        "ap-northeast-1",
        "ap-northeast-3",
        "ap-southeast-1",
    ]
    .map(String::from)
    .to_vec()
}

/// One listener: an address, TLS, and who may connect.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenerConfig {
    pub bind: SocketAddr,
    /// Peers allowed to connect, like a security group's inbound rules.
    /// Connections from elsewhere are closed before TLS.
    pub allow: Vec<IpNet>,
    /// A PEM certificate chain and key; absent means the generated ones.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Makes this listener a VPC endpoint: requests through it carry
    /// `aws:SourceVpce` and are also checked against `endpoint_policy`.
    pub endpoint_id: Option<String>,
    pub endpoint_policy: Option<PathBuf>,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 8443)),
            allow: vec![
                "127.0.0.0/8".parse().expect("valid CIDR"),
                "::1/128".parse().expect("valid CIDR"),
            ],
            tls_cert: None,
            tls_key: None,
            endpoint_id: None,
            endpoint_policy: None,
        }
    }
}

impl ListenerConfig {
    /// Is a peer allowed to connect?
    pub fn allows(&self, peer: IpAddr) -> bool {
        let peer = canonical_ip(peer);
        self.allow.iter().any(|net| net.contains(&peer))
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) are matched as IPv4.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The organization above the account.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrganizationConfig {
    pub id: Option<String>,
    /// Levels from the root down to the account.
    #[serde(rename = "level")]
    pub levels: Vec<OrgLevelConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrgLevelConfig {
    /// The root, OU or account id (for messages).
    pub id: String,
    /// SCP documents attached at this level.
    pub scps: Vec<PathBuf>,
    /// RCP documents attached at this level.
    pub rcps: Vec<PathBuf>,
}

/// A model id served by a backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// The Bedrock model id or inference-profile id clients use.
    pub id: String,
    /// The backend's name in `[backends]`.
    pub backend: String,
    /// The model name to send upstream (default: `id`).
    #[serde(default)]
    pub upstream_model: Option<String>,
    /// Regions where the model is available; `"*"` means every served
    /// region. A call signed for another region is refused.
    #[serde(default = "all_regions")]
    pub regions: Vec<String>,
}

fn all_regions() -> Vec<String> {
    vec!["*".to_string()]
}

/// Bounds on what clients control.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Largest total size of request headers.
    pub max_header_bytes: usize,
    /// Time allowed for a whole request, model calls included.
    pub request_timeout_secs: u64,
    /// Time allowed for a TLS handshake.
    pub handshake_timeout_secs: u64,
    /// Sustained requests per second per principal (token bucket).
    pub requests_per_second: f64,
    /// Burst above the sustained rate.
    pub burst: u32,
    /// Requests in flight per principal.
    pub max_concurrent_per_principal: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 20 * 1024 * 1024,
            max_header_bytes: 32 * 1024,
            request_timeout_secs: 300,
            handshake_timeout_secs: 10,
            requests_per_second: 1000.0,
            burst: 2000,
            max_concurrent_per_principal: 256,
        }
    }
}

/// A configuration error that names the key and the line.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl Config {
    /// Reads a TOML file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.display().to_string(),
            message: format!("cannot read the configuration file: {e}"),
        })?;
        let mut config = Config::parse(&text).map_err(|message| ConfigError {
            path: path.display().to_string(),
            message,
        })?;
        // Relative paths in the file are relative to the file.
        if let Some(base) = path.parent() {
            config.resolve_paths(base);
        }
        Ok(config)
    }

    /// Parses TOML text and checks it.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let mut message = e.message().to_string();
            if let Some(span) = e.span() {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                let key = text
                    .lines()
                    .nth(line - 1)
                    .and_then(|l| l.split('=').next())
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .unwrap_or("");
                message = if key.is_empty() {
                    format!("line {line}: {message}")
                } else {
                    format!("line {line}, key `{key}`: {message}")
                };
            }
            message
        })?;
        config.check()?;
        Ok(config)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        self.master_key_file.as_mut().map(fix);
        for l in &mut self.listeners {
            l.tls_cert.as_mut().map(fix);
            l.tls_key.as_mut().map(fix);
            l.endpoint_policy.as_mut().map(fix);
        }
        if let Some(org) = &mut self.organization {
            for level in &mut org.levels {
                level.scps.iter_mut().for_each(fix);
                level.rcps.iter_mut().for_each(fix);
            }
        }
    }

    /// Checks what types alone cannot.
    fn check(&self) -> Result<(), String> {
        if let Some(id) = &self.account_id
            && !(id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!(
                "key `account_id`: '{id}' is not a 12-digit AWS account id"
            ));
        }
        let a = &self.audit;
        if !(1..=10_000).contains(&a.flush_interval_ms) {
            return Err("key `audit.flush_interval_ms`: must be 1 to 10000".into());
        }
        if a.rotate_every_secs == 0 || a.digest_every_secs == 0 {
            return Err(
                "keys `audit.rotate_every_secs` and `audit.digest_every_secs`: must be positive"
                    .into(),
            );
        }
        if self.regions.is_empty() {
            return Err("key `regions`: at least one region must be served".into());
        }
        for r in &self.regions {
            if !is_region_name(r) {
                return Err(format!(
                    "key `regions`: '{r}' is not a region name like us-east-1"
                ));
            }
        }
        if self.listeners.is_empty() {
            return Err("key `listener`: at least one listener is needed".into());
        }
        for (i, l) in self.listeners.iter().enumerate() {
            if l.tls_cert.is_some() != l.tls_key.is_some() {
                return Err(format!(
                    "listener {i} (`{}`): set both `tls_cert` and `tls_key`, or neither to use the generated certificate",
                    l.bind
                ));
            }
            if let Some(id) = &l.endpoint_id
                && !(id.starts_with("vpce-")
                    && id.len() > 5
                    && id[5..].bytes().all(|b| b.is_ascii_alphanumeric()))
            {
                return Err(format!(
                    "listener {i}, key `endpoint_id`: '{id}' is not an endpoint id like vpce-0123456789abcdef0"
                ));
            }
            if l.endpoint_policy.is_some() && l.endpoint_id.is_none() {
                return Err(format!(
                    "listener {i}: `endpoint_policy` needs an `endpoint_id`"
                ));
            }
        }
        for m in &self.models {
            if !self.backends.contains_key(&m.backend) {
                let known: Vec<&str> = self.backends.keys().map(String::as_str).collect();
                return Err(format!(
                    "model `{}`, key `backend`: no backend named '{}' (known: {})",
                    m.id,
                    m.backend,
                    known.join(", ")
                ));
            }
            for r in &m.regions {
                if r != "*" && !self.regions.contains(r) {
                    return Err(format!(
                        "model `{}`, key `regions`: '{r}' is not one of the served `regions`",
                        m.id
                    ));
                }
            }
        }
        let l = &self.limits;
        if l.max_body_bytes == 0
            || l.requests_per_second <= 0.0
            || l.max_concurrent_per_principal == 0
        {
            return Err("section `limits`: limits must be positive".into());
        }
        Ok(())
    }

    /// Is a model served in a region? Returns the model's entry.
    pub fn model(&self, id: &str, region: &str) -> Option<&ModelConfig> {
        self.models
            .iter()
            .find(|m| m.id == id && m.regions.iter().any(|r| r == "*" || r == region))
    }

    /// Is a model known at all (in any region)?
    pub fn model_known(&self, id: &str) -> bool {
        self.models.iter().any(|m| m.id == id)
    }
}

fn is_region_name(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_embedded_default() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.listeners[0].bind.to_string(), "127.0.0.1:8443");
        assert!(c.listeners[0].allows("127.0.0.1".parse().unwrap()));
        assert!(c.listeners[0].allows("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!c.listeners[0].allows("192.0.2.1".parse().unwrap()));
        assert!(c.model(ECHO_MODEL, "us-east-1").is_some());
    }

    #[test]
    fn errors_name_the_key_and_line() {
        let e = Config::parse("regions = [\"us-east-1\"]\nbogus = 1\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("bogus"), "{e}");
        let e = Config::parse("[[listener]]\nbind = \"not an address\"\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("bind"), "{e}");
        let e = Config::parse("account_id = \"12\"\n").unwrap_err();
        assert!(e.contains("account_id"), "{e}");
        let e = Config::parse("[[model]]\nid = \"m\"\nbackend = \"nope\"\n").unwrap_err();
        assert!(e.contains("no backend named 'nope'"), "{e}");
        let e = Config::parse("[[listener]]\nendpoint_id = \"vpc-1\"\n").unwrap_err();
        assert!(e.contains("endpoint_id"), "{e}");
    }

    #[test]
    fn the_documented_example_is_valid() {
        let doc = include_str!("../../../docs/configuration.md");
        let start = doc.find("```toml\n").expect("a toml example") + 8;
        let end = start + doc[start..].find("```").expect("closed example");
        let c = Config::parse(&doc[start..end])
            .unwrap_or_else(|e| panic!("docs/configuration.md example: {e}"));
        assert_eq!(c.listeners.len(), 2);
        assert_eq!(
            c.listeners[1].endpoint_id.as_deref(),
            Some("vpce-0123456789abcdef0")
        );
        assert_eq!(c.organization.unwrap().levels.len(), 2);
        assert_eq!(c.backends.len(), 3);
    }

    #[test]
    fn models_are_region_bound() {
        let c = Config::parse(
            "regions = [\"us-east-1\", \"ap-northeast-1\"]\n[[model]]\nid = \"m\"\nbackend = \"echo\"\nregions = [\"ap-northeast-1\"]\n",
        )
        .unwrap();
        assert!(c.model("m", "ap-northeast-1").is_some());
        assert!(c.model("m", "us-east-1").is_none());
        assert!(c.model_known("m"));
    }
}
