//! The IAM data model of one account and its operations (pure: no I/O).
//!
//! [`IamState`] holds an account's users, groups, roles, customer-managed
//! policies (with versions) and virtual MFA devices, and implements the IAM
//! API's operations as methods that validate their inputs as AWS does and
//! fail with an [`IamError`] carrying AWS's error code and wording. The
//! gateway's IAM service only decodes the query protocol, calls a method and
//! encodes the answer. AWS-managed policies (`arn:aws:iam::aws:policy/...`)
//! are built in ([`managed`]); they can be attached, not modified.
//!
//! Policy documents are compiled once, when written or loaded
//! ([`PolicyDocument`] keeps the text and an `Arc<sekisho_policy::Policy>`),
//! and [`IamState::principal_policies`] hands those `Arc`s to the
//! authorizer: nothing is parsed per request. Access keys are found by id in
//! O(1) ([`IamState::find_access_key`]).
//!
//! # Secrets
//!
//! Access-key secrets and MFA seeds arrive as [`SealedSecret`]s that the
//! caller produced (today the bytes as given; once the key service exists,
//! an envelope-encrypted blob). This module stores and returns them and
//! never looks inside; `Debug` shows their length only.
//!
//! # Persistence
//!
//! One document per entity, in the collections `iam.users`, `iam.groups`,
//! `iam.roles`, `iam.policies` and `iam.mfa`, keyed `ACCOUNT/lowercase-name`
//! (`ACCOUNT/serial-number` for MFA devices), each a JSON object
//! `{"v": 1, "doc": {...}}`. Derived data is not stored: group members come
//! from the users' `groups`, attachment counts from the entities'
//! attachments, the access-key index from the users' keys; all are rebuilt
//! by [`IamState::load`], which also checks that every reference resolves
//! and refuses a state that does not (fail closed, never a silent repair).
//!
//! Why per entity rather than one document per account: a change rewrites
//! only the entities it touched (a few KB), so the cost of a write does not
//! grow with the account, and concurrent writers of different accounts
//! never contend on one row; an account document would reach megabytes at
//! a few thousand users with policies, all rewritten with `fsync` for each
//! tag added. Atomicity is kept by writing every touched document of an
//! operation in one batch (`AddUserToGroup` touches one user; `DeleteUser`
//! one user; `CreatePolicyVersion` one policy...).
//!
//! This crate does not depend on the store: every mutating method records
//! what it touched, and [`IamState::take_changes`] turns that into
//! [`Change`]s (collection, key, `Some(bytes)` to put or `None` to delete),
//! which map one-to-one onto `sekisho_store::Write::set`. The intended
//! write path keeps the published state immutable and swaps it only after
//! the store acknowledged the change:
//!
//! ```ignore
//! let mut next = (*current.load_full()).clone(); // cheap: entities are Arc'd
//! let out = next.create_user(req, now)?.clone(); // validation errors: nothing happened
//! let writes: Vec<Write> = next.take_changes()?.into_iter()
//!     .map(|c| Write::set(c.collection, c.key, c.value)).collect();
//! store.write(&writes)?;                          // durable, or nothing changed
//! current.store(Arc::new(next));                  // publish
//! ```
//!
//! Operations are all-or-nothing in memory too: a method checks everything
//! before it changes anything, so an `Err` leaves the state as it was.

mod error;
pub mod managed;
mod model;
mod ops;
mod persist;
#[cfg(test)]
mod tests;
mod validate;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::keys::{UniqueIdKind, generate_unique_id};

pub use error::{IamError, IamErrorKind};
pub use model::{
    AccessKey, AccessKeyStatus, Group, ManagedPolicy, MfaDevice, PolicyDocument, PolicyVersion,
    Role, SealedSecret, Tag, User,
};
pub use ops::{
    AssignmentStatus, AttachedPolicy, CreatePolicyRequest, CreateRoleRequest, CreateUserRequest,
    CreateVirtualMfaDeviceRequest, ListPoliciesRequest, Page, PolicyInfo, PolicyScope,
    PrincipalName, PrincipalPolicies, paginate,
};
pub use persist::{Change, LoadError, PersistError};
pub use validate::{DocumentKind, policy_size};

/// Collections of the store this module writes.
pub const COLLECTIONS: [&str; 5] = [
    Collection::Users.name(),
    Collection::Groups.name(),
    Collection::Roles.name(),
    Collection::Policies.name(),
    Collection::Mfa.name(),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Collection {
    Users,
    Groups,
    Roles,
    Policies,
    Mfa,
}

impl Collection {
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Collection::Users => "iam.users",
            Collection::Groups => "iam.groups",
            Collection::Roles => "iam.roles",
            Collection::Policies => "iam.policies",
            Collection::Mfa => "iam.mfa",
        }
    }
}

/// The account quotas IAM enforces; the defaults are AWS's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quotas {
    pub users: usize,
    pub groups: usize,
    pub roles: usize,
    pub policies: usize,
    pub groups_per_user: usize,
    pub managed_policies_per_user: usize,
    pub managed_policies_per_group: usize,
    pub managed_policies_per_role: usize,
    pub access_keys_per_user: usize,
    pub versions_per_policy: usize,
    pub mfa_devices_per_user: usize,
    pub virtual_mfa_devices: usize,
}

impl Default for Quotas {
    fn default() -> Quotas {
        Quotas {
            users: 5000,
            groups: 300,
            roles: 1000,
            policies: 1500,
            groups_per_user: 10,
            managed_policies_per_user: 10,
            managed_policies_per_group: 10,
            managed_policies_per_role: 10,
            access_keys_per_user: 2,
            versions_per_policy: 5,
            mfa_devices_per_user: 8,
            virtual_mfa_devices: 5000,
        }
    }
}

/// How often a managed policy is used in the account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    /// Attached to users, groups and roles.
    pub attachments: u32,
    /// Set as the permissions boundary of users and roles.
    pub boundaries: u32,
}

/// The IAM entities of one account, with their indexes.
///
/// Cloning is cheap (maps of `Arc`s behind `Arc`s, copied on write), which
/// is what the write path above relies on.
#[derive(Debug, Clone)]
pub struct IamState {
    pub(crate) account: String,
    pub(crate) quotas: Quotas,
    /// Keyed by lower-cased name: IAM names are unique ignoring case.
    pub(crate) users: Arc<HashMap<String, Arc<User>>>,
    pub(crate) groups: Arc<HashMap<String, Arc<Group>>>,
    pub(crate) roles: Arc<HashMap<String, Arc<Role>>>,
    /// Customer-managed policies, keyed by lower-cased name.
    pub(crate) policies: Arc<HashMap<String, Arc<ManagedPolicy>>>,
    /// Virtual MFA devices, keyed by serial number.
    pub(crate) mfa: Arc<HashMap<String, Arc<MfaDevice>>>,
    /// Access key id -> user key.
    pub(crate) key_index: Arc<HashMap<String, String>>,
    /// Group key -> keys of its members.
    pub(crate) members: Arc<HashMap<String, BTreeSet<String>>>,
    /// Policy ARN -> usage.
    pub(crate) usage: Arc<HashMap<String, Usage>>,
    /// Entities changed since the last `take_changes`.
    pub(crate) dirty: BTreeSet<(Collection, String)>,
}

impl IamState {
    /// An empty account.
    pub fn new(account: &str) -> Result<IamState, IamError> {
        validate::account_id(account)?;
        Ok(IamState {
            account: account.to_string(),
            quotas: Quotas::default(),
            users: Arc::default(),
            groups: Arc::default(),
            roles: Arc::default(),
            policies: Arc::default(),
            mfa: Arc::default(),
            key_index: Arc::default(),
            members: Arc::default(),
            usage: Arc::default(),
            dirty: BTreeSet::new(),
        })
    }

    /// The account id.
    pub fn account(&self) -> &str {
        &self.account
    }

    pub fn quotas(&self) -> &Quotas {
        &self.quotas
    }

    /// Replaces the quotas (configuration; not persisted).
    pub fn set_quotas(&mut self, quotas: Quotas) {
        self.quotas = quotas;
    }

    pub(crate) fn arn(&self, kind: &str, path: &str, name: &str) -> String {
        format!("arn:aws:iam::{}:{kind}{path}{name}", self.account)
    }

    pub(crate) fn touch(&mut self, collection: Collection, key: &str) {
        self.dirty.insert((collection, key.to_string()));
    }

    // Lookups by name: the key is the lower-cased name.

    pub(crate) fn user_ref(&self, name: &str) -> Result<&Arc<User>, IamError> {
        self.users
            .get(&key_of(name))
            .ok_or_else(|| IamError::user_not_found(name))
    }

    pub(crate) fn group_ref(&self, name: &str) -> Result<&Arc<Group>, IamError> {
        self.groups
            .get(&key_of(name))
            .ok_or_else(|| IamError::group_not_found(name))
    }

    pub(crate) fn role_ref(&self, name: &str) -> Result<&Arc<Role>, IamError> {
        self.roles
            .get(&key_of(name))
            .ok_or_else(|| IamError::role_not_found(name))
    }

    /// The user, for changing; marks it for writing.
    pub(crate) fn user_mut(&mut self, key: &str) -> Result<&mut User, IamError> {
        let user = Arc::make_mut(&mut self.users)
            .get_mut(key)
            .ok_or_else(|| IamError::user_not_found(key))?;
        self.dirty.insert((Collection::Users, key.to_string()));
        Ok(Arc::make_mut(user))
    }

    pub(crate) fn group_mut(&mut self, key: &str) -> Result<&mut Group, IamError> {
        let group = Arc::make_mut(&mut self.groups)
            .get_mut(key)
            .ok_or_else(|| IamError::group_not_found(key))?;
        self.dirty.insert((Collection::Groups, key.to_string()));
        Ok(Arc::make_mut(group))
    }

    pub(crate) fn role_mut(&mut self, key: &str) -> Result<&mut Role, IamError> {
        let role = Arc::make_mut(&mut self.roles)
            .get_mut(key)
            .ok_or_else(|| IamError::role_not_found(key))?;
        self.dirty.insert((Collection::Roles, key.to_string()));
        Ok(Arc::make_mut(role))
    }

    pub(crate) fn policy_mut(&mut self, key: &str) -> Result<&mut ManagedPolicy, IamError> {
        let policy = Arc::make_mut(&mut self.policies)
            .get_mut(key)
            .ok_or_else(|| IamError::internal(format!("policy {key} vanished")))?;
        self.dirty.insert((Collection::Policies, key.to_string()));
        Ok(Arc::make_mut(policy))
    }

    pub(crate) fn mfa_mut(&mut self, serial: &str) -> Result<&mut MfaDevice, IamError> {
        let device = Arc::make_mut(&mut self.mfa)
            .get_mut(serial)
            .ok_or_else(|| IamError::internal(format!("MFA device {serial} vanished")))?;
        self.dirty.insert((Collection::Mfa, serial.to_string()));
        Ok(Arc::make_mut(device))
    }

    pub(crate) fn usage_mut(&mut self, arn: &str) -> &mut Usage {
        Arc::make_mut(&mut self.usage)
            .entry(arn.to_string())
            .or_default()
    }

    pub(crate) fn usage_of(&self, arn: &str) -> Usage {
        self.usage.get(arn).copied().unwrap_or_default()
    }

    /// Decrements a usage counter, dropping the entry at zero.
    pub(crate) fn release(&mut self, arn: &str, boundary: bool) {
        let usage = Arc::make_mut(&mut self.usage);
        if let Some(u) = usage.get_mut(arn) {
            if boundary {
                u.boundaries = u.boundaries.saturating_sub(1);
            } else {
                u.attachments = u.attachments.saturating_sub(1);
            }
            if *u == Usage::default() {
                usage.remove(arn);
            }
        }
    }
}

/// The map key of a name: IAM names are unique ignoring (ASCII) case.
pub(crate) fn key_of(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// A fresh unique id (`AIDA...`, `AGPA...`, `AROA...`, `ANPA...`).
pub(crate) fn new_unique_id(kind: UniqueIdKind) -> Result<String, IamError> {
    generate_unique_id(kind).map_err(|_| IamError::internal("the random generator failed"))
}
