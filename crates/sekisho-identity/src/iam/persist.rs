//! The mapping of an account's IAM state onto a document store (see the
//! module documentation of [`super`]), and the checks that a loaded state
//! is consistent.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::model::{Group, ManagedPolicy, MfaDevice, Role, User};
use super::{Collection, IamState, Usage, key_of, validate};

/// The document format this build writes and reads.
pub const DOCUMENT_VERSION: u32 = 1;

/// One document to write: `Some(bytes)` puts, `None` deletes. Maps onto
/// `sekisho_store::Write::set(collection, key, value)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Change {
    pub collection: &'static str,
    pub key: String,
    pub value: Option<Vec<u8>>,
}

// Documents hold sealed secrets: show sizes only.
impl fmt::Debug for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Change")
            .field("collection", &self.collection)
            .field("key", &self.key)
            .field("value_len", &self.value.as_ref().map(Vec::len))
            .finish()
    }
}

/// A document that cannot be written or read back, or a state that is
/// inconsistent: the collection, the key and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{collection} {key}: {message}")]
pub struct PersistError {
    pub collection: String,
    pub key: String,
    pub message: String,
}

impl PersistError {
    fn new(collection: Collection, key: &str, message: impl Into<String>) -> PersistError {
        PersistError {
            collection: collection.name().to_string(),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// Why [`IamState::load`] failed: the source failed, or what it returned is
/// not a consistent IAM state.
#[derive(Debug)]
pub enum LoadError<E> {
    Source { collection: &'static str, error: E },
    Corrupt(PersistError),
}

impl<E> From<PersistError> for LoadError<E> {
    fn from(e: PersistError) -> Self {
        LoadError::Corrupt(e)
    }
}

impl<E: fmt::Display> fmt::Display for LoadError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Source { collection, error } => {
                write!(f, "reading {collection}: {error}")
            }
            LoadError::Corrupt(e) => write!(f, "IAM data is inconsistent: {e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for LoadError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Source { error, .. } => Some(error),
            LoadError::Corrupt(e) => Some(e),
        }
    }
}

#[derive(Serialize)]
struct EnvelopeOut<'a, T> {
    v: u32,
    doc: &'a T,
}

#[derive(Deserialize)]
struct Head {
    v: u32,
}

#[derive(Deserialize)]
struct EnvelopeIn<T> {
    doc: T,
}

fn encode<T: Serialize>(
    collection: Collection,
    key: &str,
    doc: &T,
) -> Result<Vec<u8>, PersistError> {
    serde_json::to_vec(&EnvelopeOut {
        v: DOCUMENT_VERSION,
        doc,
    })
    .map_err(|e| PersistError::new(collection, key, format!("cannot encode: {e}")))
}

fn decode<T: DeserializeOwned>(
    collection: Collection,
    key: &str,
    bytes: &[u8],
) -> Result<T, PersistError> {
    let head: Head = serde_json::from_slice(bytes)
        .map_err(|e| PersistError::new(collection, key, format!("not an IAM document: {e}")))?;
    if head.v != DOCUMENT_VERSION {
        return Err(PersistError::new(
            collection,
            key,
            format!(
                "document format version {} is not the {DOCUMENT_VERSION} this build understands",
                head.v
            ),
        ));
    }
    let envelope: EnvelopeIn<T> = serde_json::from_slice(bytes)
        .map_err(|e| PersistError::new(collection, key, format!("cannot decode: {e}")))?;
    Ok(envelope.doc)
}

/// How an inline policy is named in explanations.
pub(crate) fn inline_label(kind: &str, entity: &str, policy: &str) -> String {
    format!("inline policy {policy} of {kind} {entity}")
}

pub(crate) fn trust_label(role: &str) -> String {
    format!("trust policy of role {role}")
}

impl IamState {
    /// The documents changed since the last call, ready to be written in
    /// one atomic batch; clears the record.
    pub fn take_changes(&mut self) -> Result<Vec<Change>, PersistError> {
        let dirty = std::mem::take(&mut self.dirty);
        let mut out = Vec::with_capacity(dirty.len());
        for (collection, key) in &dirty {
            match self.document(*collection, key) {
                Ok(value) => out.push(Change {
                    collection: collection.name(),
                    key: format!("{}/{key}", self.account),
                    value,
                }),
                Err(e) => {
                    // Keep the record: the caller may retry after fixing.
                    self.dirty = dirty;
                    return Err(e);
                }
            }
        }
        Ok(out)
    }

    /// Whether changes await [`take_changes`](IamState::take_changes).
    pub fn has_changes(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Every document of the account (an export, or the first write of a
    /// new account).
    pub fn all_documents(&self) -> Result<Vec<Change>, PersistError> {
        let mut keys: Vec<(Collection, String)> = Vec::new();
        keys.extend(self.users.keys().map(|k| (Collection::Users, k.clone())));
        keys.extend(self.groups.keys().map(|k| (Collection::Groups, k.clone())));
        keys.extend(self.roles.keys().map(|k| (Collection::Roles, k.clone())));
        keys.extend(
            self.policies
                .keys()
                .map(|k| (Collection::Policies, k.clone())),
        );
        keys.extend(self.mfa.keys().map(|k| (Collection::Mfa, k.clone())));
        keys.sort();
        keys.iter()
            .map(|(c, k)| {
                Ok(Change {
                    collection: c.name(),
                    key: format!("{}/{k}", self.account),
                    value: self.document(*c, k)?,
                })
            })
            .collect()
    }

    fn document(&self, collection: Collection, key: &str) -> Result<Option<Vec<u8>>, PersistError> {
        Ok(match collection {
            Collection::Users => self
                .users
                .get(key)
                .map(|e| encode(collection, key, &**e))
                .transpose()?,
            Collection::Groups => self
                .groups
                .get(key)
                .map(|e| encode(collection, key, &**e))
                .transpose()?,
            Collection::Roles => self
                .roles
                .get(key)
                .map(|e| encode(collection, key, &**e))
                .transpose()?,
            Collection::Policies => self
                .policies
                .get(key)
                .map(|e| encode(collection, key, &**e))
                .transpose()?,
            Collection::Mfa => self
                .mfa
                .get(key)
                .map(|e| encode(collection, key, &**e))
                .transpose()?,
        })
    }

    /// Loads an account from a document source: `list(collection, prefix)`
    /// returns the documents of a collection whose keys start with prefix
    /// (`sekisho_store::Store::list` fits). Every document is decoded, every
    /// policy compiled, every reference checked; any problem is an error.
    pub fn load<E>(
        account: &str,
        mut list: impl FnMut(&str, &str) -> Result<Vec<(String, Vec<u8>)>, E>,
    ) -> Result<IamState, LoadError<E>> {
        validate::account_id(account).map_err(|e| {
            LoadError::Corrupt(PersistError {
                collection: String::new(),
                key: account.to_string(),
                message: e.message,
            })
        })?;
        let prefix = format!("{account}/");
        let mut fetch = |c: Collection| {
            list(c.name(), &prefix).map_err(|error| LoadError::Source {
                collection: c.name(),
                error,
            })
        };
        let rows = [
            fetch(Collection::Users)?,
            fetch(Collection::Groups)?,
            fetch(Collection::Roles)?,
            fetch(Collection::Policies)?,
            fetch(Collection::Mfa)?,
        ];
        let [users, groups, roles, policies, mfa] = rows;
        let parts = Parts {
            users: decode_all(Collection::Users, &prefix, users, |u: &User| {
                key_of(&u.name)
            })?,
            groups: decode_all(Collection::Groups, &prefix, groups, |g: &Group| {
                key_of(&g.name)
            })?,
            roles: decode_all(Collection::Roles, &prefix, roles, |r: &Role| {
                key_of(&r.name)
            })?,
            policies: decode_all(
                Collection::Policies,
                &prefix,
                policies,
                |p: &ManagedPolicy| key_of(&p.name),
            )?,
            mfa: decode_all(Collection::Mfa, &prefix, mfa, |m: &MfaDevice| {
                m.serial_number.clone()
            })?,
        };
        IamState::from_parts(account, parts).map_err(LoadError::Corrupt)
    }

    /// Builds a state from its entities, rebuilding the indexes and the
    /// policies' labels and checking every reference.
    pub(crate) fn from_parts(account: &str, parts: Parts) -> Result<IamState, PersistError> {
        let mut s = IamState::new(account).map_err(|e| PersistError {
            collection: String::new(),
            key: account.to_string(),
            message: e.message,
        })?;
        let Parts {
            users,
            groups,
            roles,
            policies,
            mfa,
        } = parts;

        // Managed policies first: everything else refers to them.
        let mut map = HashMap::with_capacity(policies.len());
        for mut p in policies {
            let key = key_of(&p.name);
            let fail = |m: String| PersistError::new(Collection::Policies, &key, m);
            check_name(validate::policy_name(&p.name), &fail)?;
            check_name(validate::path(&p.path), &fail)?;
            let arn = s.arn("policy", &p.path, &p.name);
            if p.arn != arn {
                return Err(fail(format!("ARN {} is not {arn}", p.arn)));
            }
            if p.default_version().is_none() {
                return Err(fail(format!(
                    "default version {} is missing",
                    p.default_version_id
                )));
            }
            let mut seen = HashSet::new();
            for v in &mut p.versions {
                if !seen.insert(v.version_id.clone()) {
                    return Err(fail(format!("version {} appears twice", v.version_id)));
                }
                v.document.label(arn.clone());
            }
            p.aws_managed = false;
            if map.insert(key.clone(), Arc::new(p)).is_some() {
                return Err(fail("two policies with this name".into()));
            }
        }
        s.policies = Arc::new(map);

        let mut usage: HashMap<String, Usage> = HashMap::new();
        let count = |s: &IamState,
                     usage: &mut HashMap<String, Usage>,
                     arn: &str,
                     boundary: bool,
                     fail: &dyn Fn(String) -> PersistError|
         -> Result<(), PersistError> {
            let p = s
                .resolve_policy(arn)
                .ok_or_else(|| fail(format!("refers to policy {arn}, which does not exist")))?;
            let u = usage.entry(p.arn.clone()).or_default();
            if boundary {
                u.boundaries += 1;
            } else {
                u.attachments += 1;
            }
            Ok(())
        };

        let mut map = HashMap::with_capacity(groups.len());
        for mut g in groups {
            let key = key_of(&g.name);
            let fail = |m: String| PersistError::new(Collection::Groups, &key, m);
            check_name(validate::group_name(&g.name), &fail)?;
            check_name(validate::path(&g.path), &fail)?;
            let arn = s.arn("group", &g.path, &g.name);
            if g.arn != arn {
                return Err(fail(format!("ARN {} is not {arn}", g.arn)));
            }
            check_attachments(&g.attached_policies, &fail)?;
            for a in &g.attached_policies {
                count(&s, &mut usage, a, false, &fail)?;
            }
            for (name, doc) in &mut g.inline_policies {
                doc.label(inline_label("group", &g.name, name));
            }
            if map.insert(key.clone(), Arc::new(g)).is_some() {
                return Err(fail("two groups with this name".into()));
            }
        }
        s.groups = Arc::new(map);

        let mut map = HashMap::with_capacity(roles.len());
        for mut r in roles {
            let key = key_of(&r.name);
            let fail = |m: String| PersistError::new(Collection::Roles, &key, m);
            check_name(validate::role_name(&r.name), &fail)?;
            check_name(validate::path(&r.path), &fail)?;
            let arn = s.arn("role", &r.path, &r.name);
            if r.arn != arn {
                return Err(fail(format!("ARN {} is not {arn}", r.arn)));
            }
            check_attachments(&r.attached_policies, &fail)?;
            for a in &r.attached_policies {
                count(&s, &mut usage, a, false, &fail)?;
            }
            if let Some(b) = &r.permissions_boundary {
                count(&s, &mut usage, b, true, &fail)?;
            }
            let role_name = r.name.clone();
            r.assume_role_policy.label(trust_label(&role_name));
            for (name, doc) in &mut r.inline_policies {
                doc.label(inline_label("role", &role_name, name));
            }
            if map.insert(key.clone(), Arc::new(r)).is_some() {
                return Err(fail("two roles with this name".into()));
            }
        }
        s.roles = Arc::new(map);

        let mut map = HashMap::with_capacity(users.len());
        let mut key_index = HashMap::new();
        let mut members: HashMap<String, BTreeSet<String>> = HashMap::new();
        for mut u in users {
            let key = key_of(&u.name);
            let fail = |m: String| PersistError::new(Collection::Users, &key, m);
            check_name(validate::user_name(&u.name), &fail)?;
            check_name(validate::path(&u.path), &fail)?;
            let arn = s.arn("user", &u.path, &u.name);
            if u.arn != arn {
                return Err(fail(format!("ARN {} is not {arn}", u.arn)));
            }
            check_attachments(&u.attached_policies, &fail)?;
            for a in &u.attached_policies {
                count(&s, &mut usage, a, false, &fail)?;
            }
            if let Some(b) = &u.permissions_boundary {
                count(&s, &mut usage, b, true, &fail)?;
            }
            for g in &u.groups {
                let gk = key_of(g);
                if !s.groups.contains_key(&gk) {
                    return Err(fail(format!("member of group {g}, which does not exist")));
                }
                if !members.entry(gk).or_default().insert(key.clone()) {
                    return Err(fail(format!("member of group {g} twice")));
                }
            }
            for k in &u.access_keys {
                if key_index.insert(k.id.clone(), key.clone()).is_some() {
                    return Err(fail(format!("access key {} belongs to two users", k.id)));
                }
            }
            let user_name = u.name.clone();
            for (name, doc) in &mut u.inline_policies {
                doc.label(inline_label("user", &user_name, name));
            }
            if map.insert(key.clone(), Arc::new(u)).is_some() {
                return Err(fail("two users with this name".into()));
            }
        }
        s.users = Arc::new(map);
        s.key_index = Arc::new(key_index);
        s.members = Arc::new(members);
        s.usage = Arc::new(usage);

        let mut map = HashMap::with_capacity(mfa.len());
        let serial_prefix = format!("arn:aws:iam::{account}:mfa");
        for m in mfa {
            let key = m.serial_number.clone();
            let fail = |msg: String| PersistError::new(Collection::Mfa, &key, msg);
            let expected = format!("{serial_prefix}{}{}", m.path, m.name);
            if m.serial_number != expected {
                return Err(fail(format!("serial number is not {expected}")));
            }
            if let Some(user) = &m.user
                && !s.users.contains_key(&key_of(user))
            {
                return Err(fail(format!("enabled for user {user}, who does not exist")));
            }
            if m.user.is_some() != m.enable_date.is_some() {
                return Err(fail("user and enable date disagree".into()));
            }
            if map.insert(key.clone(), Arc::new(m)).is_some() {
                return Err(fail("two devices with this serial number".into()));
            }
        }
        s.mfa = Arc::new(map);
        Ok(s)
    }
}

fn check_name(
    result: Result<(), super::IamError>,
    fail: &dyn Fn(String) -> PersistError,
) -> Result<(), PersistError> {
    result.map_err(|e| fail(e.message))
}

fn check_attachments(
    arns: &[String],
    fail: &dyn Fn(String) -> PersistError,
) -> Result<(), PersistError> {
    for (i, a) in arns.iter().enumerate() {
        if arns[..i].contains(a) {
            return Err(fail(format!("policy {a} attached twice")));
        }
    }
    Ok(())
}

/// The entities of an account, before indexing.
#[derive(Default, Serialize, Deserialize)]
pub(crate) struct Parts {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub roles: Vec<Role>,
    pub policies: Vec<ManagedPolicy>,
    #[serde(rename = "mfa_devices")]
    pub mfa: Vec<MfaDevice>,
}

fn decode_all<T: DeserializeOwned>(
    collection: Collection,
    prefix: &str,
    rows: Vec<(String, Vec<u8>)>,
    key_of_entity: impl Fn(&T) -> String,
) -> Result<Vec<T>, PersistError> {
    rows.into_iter()
        .map(|(key, bytes)| {
            let entity: T = decode(collection, &key, &bytes)?;
            let expected = format!("{prefix}{}", key_of_entity(&entity));
            if key != expected {
                return Err(PersistError::new(
                    collection,
                    &key,
                    format!("the document belongs under {expected}"),
                ));
            }
            Ok(entity)
        })
        .collect()
}

/// The whole account as one serde value (an export format; the store uses
/// one document per entity).
#[derive(Serialize)]
struct SnapshotOut<'a> {
    v: u32,
    account: &'a str,
    users: Vec<&'a User>,
    groups: Vec<&'a Group>,
    roles: Vec<&'a Role>,
    policies: Vec<&'a ManagedPolicy>,
    mfa_devices: Vec<&'a MfaDevice>,
}

#[derive(Deserialize)]
struct SnapshotIn {
    v: u32,
    account: String,
    #[serde(flatten)]
    parts: Parts,
}

fn sorted<T>(map: &HashMap<String, Arc<T>>) -> Vec<&T> {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    keys.into_iter()
        .filter_map(|k| map.get(k))
        .map(|a| &**a)
        .collect()
}

impl Serialize for IamState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SnapshotOut {
            v: DOCUMENT_VERSION,
            account: &self.account,
            users: sorted(&self.users),
            groups: sorted(&self.groups),
            roles: sorted(&self.roles),
            policies: sorted(&self.policies),
            mfa_devices: sorted(&self.mfa),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for IamState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let snap = SnapshotIn::deserialize(d)?;
        if snap.v != DOCUMENT_VERSION {
            return Err(serde::de::Error::custom(format!(
                "IAM snapshot version {} is not the {DOCUMENT_VERSION} this build understands",
                snap.v
            )));
        }
        IamState::from_parts(&snap.account, snap.parts).map_err(serde::de::Error::custom)
    }
}
