//! IAM (Query protocol): users, groups, roles, access keys, managed and
//! inline policies, attachments and virtual MFA devices.
//!
//! Each operation decodes its Query parameters, calls the one method of the
//! pure model ([`IamState`]) that implements it, and writes the members of
//! `<{Action}Result>` in the shapes of botocore's IAM model (`member` lists,
//! `IsTruncated`/`Marker` pagination, ISO 8601 timestamps, policy documents
//! URL-encoded). Reads use the published state; every change goes through
//! [`Gateway::update_iam`] (copy, change, persist, publish), so a refused or
//! failed change leaves nothing behind, and the answer is built from the
//! state after the change.
//!
//! Secrets (a new access key's secret, a new MFA device's seed) are
//! generated here, sealed with the gateway's [`SecretBox`] before they enter
//! the state, and returned once in the response; they never reach an error
//! message or a log line.
//!
//! [`SecretBox`]: crate::secrets::SecretBox

use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine as _;
use sekisho_identity::iam::{
    AccessKeyStatus, AssignmentStatus, CreatePolicyRequest, CreateRoleRequest, CreateUserRequest,
    CreateVirtualMfaDeviceRequest, Group, IamError, IamErrorKind, IamState, ListPoliciesRequest,
    ManagedPolicy, MfaDevice, Page, PolicyInfo, PolicyScope, PolicyVersion, Role, Tag, User,
    paginate,
};
use sekisho_identity::keys::{AccessKeyKind, SecretString, generate_access_key};
use sekisho_identity::totp;
use time::OffsetDateTime;

use crate::auth::{Caller, seal_secret};
use crate::error::{ApiError, ErrorKind};
use crate::gateway::Gateway;
use crate::protocol::query::QueryParams;
use crate::protocol::xml::{XmlWriter, policy_document_encode};
use crate::registry::Input;
use crate::services::{Call, Reply};

/// The IAM error as the wire shows it: IAM's own code, and the HTTP status
/// of the closest [`ErrorKind`] (which is IAM's status for every code).
pub fn iam_error(e: IamError) -> ApiError {
    let kind = match e.kind {
        IamErrorKind::NoSuchEntity => ErrorKind::NotFound,
        IamErrorKind::EntityAlreadyExists => ErrorKind::EntityAlreadyExists,
        IamErrorKind::LimitExceeded => ErrorKind::LimitExceeded,
        IamErrorKind::DeleteConflict => ErrorKind::Conflict,
        IamErrorKind::InvalidInput
        | IamErrorKind::ValidationError
        | IamErrorKind::UnmodifiableEntity => ErrorKind::Validation,
        IamErrorKind::MalformedPolicyDocument => ErrorKind::MalformedPolicyDocument,
        IamErrorKind::InvalidAuthenticationCode => ErrorKind::AccessDenied,
        IamErrorKind::ServiceFailure => ErrorKind::Internal,
    };
    ApiError::new(kind, e.message).with_code(e.kind.code())
}

fn params(input: &Input) -> Result<&QueryParams, ApiError> {
    match input {
        Input::Query(q) => Ok(q),
        _ => Err(ApiError::internal("IAM expects Query input")),
    }
}

fn unavailable(what: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ServiceUnavailable,
        format!("{what} cannot be done right now"),
    )
}

/// A reply writing the members of the result.
fn xml(write: impl FnOnce(&mut XmlWriter) + Send + 'static) -> Reply {
    Reply::Xml(Box::new(write))
}

/// The reply of an operation without output.
fn done() -> Reply {
    xml(|_| {})
}

/// A read of the published state.
fn read<T>(
    gateway: &Gateway,
    f: impl FnOnce(&IamState) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let state = gateway.iam.load_full();
    f(&state)
}

/// A durable change (all or nothing).
async fn change<T>(
    gateway: &Gateway,
    f: impl FnOnce(&mut IamState) -> Result<T, IamError>,
) -> Result<T, ApiError> {
    gateway
        .update_iam(|state| f(state).map_err(iam_error))
        .await
}

/// `UserName`, or the calling user when it is absent (a role session must
/// name the user, as in AWS).
fn user_or_caller<'a>(q: &'a QueryParams, caller: &'a Caller) -> Result<&'a str, ApiError> {
    match q.get("UserName") {
        Some(name) => Ok(name),
        None => caller.user_name.as_deref().ok_or_else(|| {
            ApiError::validation("Must specify userName when calling with non-User credentials")
        }),
    }
}

fn tags(q: &QueryParams) -> Result<Vec<Tag>, ApiError> {
    Ok(q.tags("Tags")?
        .into_iter()
        .map(|(k, v)| Tag::new(k, v))
        .collect())
}

/// A list member the API requires (`Tags` of TagUser, `TagKeys` of
/// UntagUser): absent is `Member must not be null`; `Name=` is an empty
/// list, which the model judges.
fn required_list(q: &QueryParams, name: &str) -> Result<(), ApiError> {
    if q.contains(name) {
        Ok(())
    } else {
        Err(crate::protocol::missing(name))
    }
}

// Pagination.

/// `Marker` and `MaxItems`.
fn page_args(q: &QueryParams) -> Result<(Option<&str>, Option<i64>), ApiError> {
    Ok((q.get("Marker"), q.int("MaxItems")?))
}

/// One page of a listing keyed by a stable key (a lower-cased name): the
/// marker is the key of the first item of the next page, so items added or
/// removed between pages neither repeat nor skip others.
fn page_by_key<T, U>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> String,
    q: &QueryParams,
    view: impl FnMut(T) -> U,
) -> Result<Page<U>, ApiError> {
    let (marker, max) = page_args(q)?;
    items.sort_by_cached_key(|i| key(i));
    let page = paginate(items, key, marker, max).map_err(iam_error)?;
    Ok(Page {
        items: page.items.into_iter().map(view).collect(),
        is_truncated: page.is_truncated,
        marker: page.marker,
    })
}

/// One page of a short listing in its own order (tags, attachments,
/// versions, access keys, MFA devices): the marker is the position.
fn page_by_position<T, U>(
    items: Vec<T>,
    q: &QueryParams,
    mut view: impl FnMut(T) -> U,
) -> Result<Page<U>, ApiError> {
    let (marker, max) = page_args(q)?;
    let numbered: Vec<(usize, T)> = items.into_iter().enumerate().collect();
    let page = paginate(numbered, |(i, _)| format!("{i:06}"), marker, max).map_err(iam_error)?;
    Ok(Page {
        items: page.items.into_iter().map(|(_, t)| view(t)).collect(),
        is_truncated: page.is_truncated,
        marker: page.marker,
    })
}

/// `IsTruncated` and, when truncated, `Marker`.
fn page_tail<T>(w: &mut XmlWriter, page: &Page<T>) {
    w.bool_element("IsTruncated", page.is_truncated);
    if page.is_truncated {
        w.opt_element("Marker", page.marker.as_deref());
    }
}

fn lower(name: &str) -> String {
    name.to_ascii_lowercase()
}

// What the responses show of each entity (owned, for the reply).

struct UserView {
    path: String,
    name: String,
    id: String,
    arn: String,
    create_date: OffsetDateTime,
    /// Only in CreateUser and GetUser (the listings leave them out, as AWS).
    boundary: Option<String>,
    tags: Vec<Tag>,
}

impl UserView {
    fn of(u: &User, detail: bool) -> UserView {
        UserView {
            path: u.path.clone(),
            name: u.name.clone(),
            id: u.id.clone(),
            arn: u.arn.clone(),
            create_date: u.create_date,
            boundary: if detail {
                u.permissions_boundary.clone()
            } else {
                None
            },
            tags: if detail { u.tags.clone() } else { Vec::new() },
        }
    }

    fn write(&self, w: &mut XmlWriter) {
        w.element("Path", &self.path)
            .element("UserName", &self.name)
            .element("UserId", &self.id)
            .element("Arn", &self.arn)
            .timestamp_element("CreateDate", self.create_date);
        write_boundary(w, self.boundary.as_deref());
        write_tags_if_any(w, &self.tags);
    }
}

struct GroupView {
    path: String,
    name: String,
    id: String,
    arn: String,
    create_date: OffsetDateTime,
}

impl GroupView {
    fn of(g: &Group) -> GroupView {
        GroupView {
            path: g.path.clone(),
            name: g.name.clone(),
            id: g.id.clone(),
            arn: g.arn.clone(),
            create_date: g.create_date,
        }
    }

    fn write(&self, w: &mut XmlWriter) {
        w.element("Path", &self.path)
            .element("GroupName", &self.name)
            .element("GroupId", &self.id)
            .element("Arn", &self.arn)
            .timestamp_element("CreateDate", self.create_date);
    }
}

struct RoleView {
    path: String,
    name: String,
    id: String,
    arn: String,
    create_date: OffsetDateTime,
    trust: String,
    description: Option<String>,
    max_session_duration: u32,
    /// Only in CreateRole and GetRole.
    boundary: Option<String>,
    tags: Vec<Tag>,
}

impl RoleView {
    fn of(r: &Role, detail: bool) -> RoleView {
        RoleView {
            path: r.path.clone(),
            name: r.name.clone(),
            id: r.id.clone(),
            arn: r.arn.clone(),
            create_date: r.create_date,
            trust: r.assume_role_policy.text().to_string(),
            description: r.description.clone(),
            max_session_duration: r.max_session_duration,
            boundary: if detail {
                r.permissions_boundary.clone()
            } else {
                None
            },
            tags: if detail { r.tags.clone() } else { Vec::new() },
        }
    }

    fn write(&self, w: &mut XmlWriter) {
        w.element("Path", &self.path)
            .element("RoleName", &self.name)
            .element("RoleId", &self.id)
            .element("Arn", &self.arn)
            .timestamp_element("CreateDate", self.create_date)
            .element(
                "AssumeRolePolicyDocument",
                &policy_document_encode(&self.trust),
            )
            .opt_element("Description", self.description.as_deref())
            .int_element("MaxSessionDuration", i64::from(self.max_session_duration));
        write_boundary(w, self.boundary.as_deref());
        write_tags_if_any(w, &self.tags);
    }
}

struct PolicyView {
    name: String,
    id: String,
    arn: String,
    path: String,
    default_version_id: String,
    attachment_count: u32,
    boundary_usage_count: u32,
    /// Only in CreatePolicy and GetPolicy.
    description: Option<String>,
    create_date: OffsetDateTime,
    update_date: OffsetDateTime,
    tags: Vec<Tag>,
}

impl PolicyView {
    fn of(info: &PolicyInfo<'_>, detail: bool) -> PolicyView {
        let p: &ManagedPolicy = info.policy;
        PolicyView {
            name: p.name.clone(),
            id: p.id.clone(),
            arn: p.arn.clone(),
            path: p.path.clone(),
            default_version_id: p.default_version_id.clone(),
            attachment_count: info.attachment_count,
            boundary_usage_count: info.permissions_boundary_usage_count,
            description: if detail { p.description.clone() } else { None },
            create_date: p.create_date,
            update_date: p.update_date,
            tags: if detail { p.tags.clone() } else { Vec::new() },
        }
    }

    fn write(&self, w: &mut XmlWriter) {
        w.element("PolicyName", &self.name)
            .element("PolicyId", &self.id)
            .element("Arn", &self.arn)
            .element("Path", &self.path)
            .element("DefaultVersionId", &self.default_version_id)
            .int_element("AttachmentCount", i64::from(self.attachment_count))
            .int_element(
                "PermissionsBoundaryUsageCount",
                i64::from(self.boundary_usage_count),
            )
            .bool_element("IsAttachable", true)
            .opt_element("Description", self.description.as_deref())
            .timestamp_element("CreateDate", self.create_date)
            .timestamp_element("UpdateDate", self.update_date);
        write_tags_if_any(w, &self.tags);
    }
}

struct VersionView {
    /// Only in GetPolicyVersion.
    document: Option<String>,
    version_id: String,
    is_default: bool,
    create_date: OffsetDateTime,
}

impl VersionView {
    fn of(v: &PolicyVersion, default_version_id: &str, with_document: bool) -> VersionView {
        VersionView {
            document: with_document.then(|| v.document.text().to_string()),
            version_id: v.version_id.clone(),
            is_default: v.version_id == default_version_id,
            create_date: v.create_date,
        }
    }

    fn write(&self, w: &mut XmlWriter) {
        if let Some(d) = &self.document {
            w.element("Document", &policy_document_encode(d));
        }
        w.element("VersionId", &self.version_id)
            .bool_element("IsDefaultVersion", self.is_default)
            .timestamp_element("CreateDate", self.create_date);
    }
}

struct VirtualMfaView {
    serial: String,
    user: Option<UserView>,
    enable_date: Option<OffsetDateTime>,
    tags: Vec<Tag>,
}

impl VirtualMfaView {
    fn of(d: &MfaDevice, state: &IamState) -> VirtualMfaView {
        VirtualMfaView {
            serial: d.serial_number.clone(),
            user: d
                .user
                .as_deref()
                .and_then(|u| state.get_user(u).ok())
                .map(|u| UserView::of(u, false)),
            enable_date: d.enable_date,
            tags: d.tags.clone(),
        }
    }

    fn write(&self, w: &mut XmlWriter) {
        w.element("SerialNumber", &self.serial);
        if let Some(u) = &self.user {
            w.nested("User", |w| u.write(w));
        }
        if let Some(at) = self.enable_date {
            w.timestamp_element("EnableDate", at);
        }
        write_tags_if_any(w, &self.tags);
    }
}

fn write_boundary(w: &mut XmlWriter, boundary: Option<&str>) {
    if let Some(arn) = boundary {
        w.nested("PermissionsBoundary", |w| {
            w.element("PermissionsBoundaryType", "PermissionsBoundaryPolicy")
                .element("PermissionsBoundaryArn", arn);
        });
    }
}

fn write_tags(w: &mut XmlWriter, tags: &[Tag]) {
    w.tag_list(
        "Tags",
        tags.iter().map(|t| (t.key.as_str(), t.value.as_str())),
    );
}

fn write_tags_if_any(w: &mut XmlWriter, tags: &[Tag]) {
    if !tags.is_empty() {
        write_tags(w, tags);
    }
}

/// Serves every IAM operation of the registry.
pub async fn handle(gateway: &Gateway, call: Call) -> Result<Reply, ApiError> {
    let q = params(&call.input)?;
    let now = OffsetDateTime::now_utc();
    match call.op.name {
        // Users.
        "CreateUser" => {
            let req = CreateUserRequest {
                user_name: q.required("UserName")?.to_string(),
                path: q.get("Path").map(str::to_string),
                permissions_boundary: q.get("PermissionsBoundary").map(str::to_string),
                tags: tags(q)?,
            };
            let user = change(gateway, |s| {
                s.create_user(req, now).map(|u| UserView::of(u, true))
            })
            .await?;
            Ok(xml(move |w| {
                w.nested("User", |w| user.write(w));
            }))
        }
        "GetUser" => {
            let name = user_or_caller(q, &call.caller)?;
            let user = read(gateway, |s| {
                s.get_user(name)
                    .map(|u| UserView::of(u, true))
                    .map_err(iam_error)
            })?;
            Ok(xml(move |w| {
                w.nested("User", |w| user.write(w));
            }))
        }
        "ListUsers" => {
            let page = read(gateway, |s| {
                let users = s.list_users(q.get("PathPrefix")).map_err(iam_error)?;
                page_by_key(users, |u| lower(&u.name), q, |u| UserView::of(u, false))
            })?;
            Ok(xml(move |w| {
                w.list("Users", &page.items, |w, u| u.write(w));
                page_tail(w, &page);
            }))
        }
        "DeleteUser" => {
            let name = q.required("UserName")?;
            change(gateway, |s| s.delete_user(name)).await?;
            Ok(done())
        }
        "TagUser" => {
            let name = q.required("UserName")?;
            required_list(q, "Tags")?;
            let tags = tags(q)?;
            change(gateway, |s| s.tag_user(name, tags)).await?;
            Ok(done())
        }
        "UntagUser" => {
            let name = q.required("UserName")?;
            required_list(q, "TagKeys")?;
            let keys: Vec<String> = q.list("TagKeys")?.into_iter().map(str::to_string).collect();
            change(gateway, |s| s.untag_user(name, &keys)).await?;
            Ok(done())
        }
        "ListUserTags" => {
            let name = q.required("UserName")?;
            let page = read(gateway, |s| {
                let tags = s.list_user_tags(name).map_err(iam_error)?;
                page_by_position(tags.to_vec(), q, |t| t)
            })?;
            Ok(xml(move |w| {
                write_tags(w, &page.items);
                page_tail(w, &page);
            }))
        }
        "PutUserPermissionsBoundary" => {
            let name = q.required("UserName")?;
            let boundary = q.required("PermissionsBoundary")?;
            change(gateway, |s| s.put_user_permissions_boundary(name, boundary)).await?;
            Ok(done())
        }
        "DeleteUserPermissionsBoundary" => {
            let name = q.required("UserName")?;
            change(gateway, |s| s.delete_user_permissions_boundary(name)).await?;
            Ok(done())
        }

        // Groups.
        "CreateGroup" => {
            let name = q.required("GroupName")?;
            let path = q.get("Path");
            let group = change(gateway, |s| {
                s.create_group(name, path, now).map(GroupView::of)
            })
            .await?;
            Ok(xml(move |w| {
                w.nested("Group", |w| group.write(w));
            }))
        }
        "GetGroup" => {
            let name = q.required("GroupName")?;
            let (group, page) = read(gateway, |s| {
                let (group, users) = s.get_group(name).map_err(iam_error)?;
                let page = page_by_key(users, |u| lower(&u.name), q, |u| UserView::of(u, false))?;
                Ok((GroupView::of(group), page))
            })?;
            Ok(xml(move |w| {
                w.nested("Group", |w| group.write(w));
                w.list("Users", &page.items, |w, u| u.write(w));
                page_tail(w, &page);
            }))
        }
        "ListGroups" => {
            let page = read(gateway, |s| {
                let groups = s.list_groups(q.get("PathPrefix")).map_err(iam_error)?;
                page_by_key(groups, |g| lower(&g.name), q, GroupView::of)
            })?;
            Ok(xml(move |w| {
                w.list("Groups", &page.items, |w, g| g.write(w));
                page_tail(w, &page);
            }))
        }
        "DeleteGroup" => {
            let name = q.required("GroupName")?;
            change(gateway, |s| s.delete_group(name)).await?;
            Ok(done())
        }
        "AddUserToGroup" => {
            let group = q.required("GroupName")?;
            let user = q.required("UserName")?;
            change(gateway, |s| s.add_user_to_group(group, user)).await?;
            Ok(done())
        }
        "RemoveUserFromGroup" => {
            let group = q.required("GroupName")?;
            let user = q.required("UserName")?;
            change(gateway, |s| s.remove_user_from_group(group, user)).await?;
            Ok(done())
        }
        "ListGroupsForUser" => {
            let name = q.required("UserName")?;
            let page = read(gateway, |s| {
                let groups = s.list_groups_for_user(name).map_err(iam_error)?;
                page_by_position(groups, q, GroupView::of)
            })?;
            Ok(xml(move |w| {
                w.list("Groups", &page.items, |w, g| g.write(w));
                page_tail(w, &page);
            }))
        }

        // Roles.
        "CreateRole" => {
            let req = CreateRoleRequest {
                role_name: q.required("RoleName")?.to_string(),
                path: q.get("Path").map(str::to_string),
                assume_role_policy_document: q.required("AssumeRolePolicyDocument")?.to_string(),
                description: q.get("Description").map(str::to_string),
                max_session_duration: q.int("MaxSessionDuration")?,
                permissions_boundary: q.get("PermissionsBoundary").map(str::to_string),
                tags: tags(q)?,
            };
            let role = change(gateway, |s| {
                s.create_role(req, now).map(|r| RoleView::of(r, true))
            })
            .await?;
            Ok(xml(move |w| {
                w.nested("Role", |w| role.write(w));
            }))
        }
        "GetRole" => {
            let name = q.required("RoleName")?;
            let role = read(gateway, |s| {
                s.get_role(name)
                    .map(|r| RoleView::of(r, true))
                    .map_err(iam_error)
            })?;
            Ok(xml(move |w| {
                w.nested("Role", |w| role.write(w));
            }))
        }
        "ListRoles" => {
            let page = read(gateway, |s| {
                let roles = s.list_roles(q.get("PathPrefix")).map_err(iam_error)?;
                page_by_key(roles, |r| lower(&r.name), q, |r| RoleView::of(r, false))
            })?;
            Ok(xml(move |w| {
                w.list("Roles", &page.items, |w, r| r.write(w));
                page_tail(w, &page);
            }))
        }
        "DeleteRole" => {
            let name = q.required("RoleName")?;
            change(gateway, |s| s.delete_role(name)).await?;
            Ok(done())
        }
        "UpdateRole" => {
            let name = q.required("RoleName")?;
            let description = q.get("Description").map(str::to_string);
            let duration = q.int("MaxSessionDuration")?;
            change(gateway, |s| s.update_role(name, description, duration)).await?;
            Ok(done())
        }
        "UpdateAssumeRolePolicy" => {
            let name = q.required("RoleName")?;
            let document = q.required("PolicyDocument")?;
            change(gateway, |s| s.update_assume_role_policy(name, document)).await?;
            Ok(done())
        }
        "TagRole" => {
            let name = q.required("RoleName")?;
            required_list(q, "Tags")?;
            let tags = tags(q)?;
            change(gateway, |s| s.tag_role(name, tags)).await?;
            Ok(done())
        }
        "UntagRole" => {
            let name = q.required("RoleName")?;
            required_list(q, "TagKeys")?;
            let keys: Vec<String> = q.list("TagKeys")?.into_iter().map(str::to_string).collect();
            change(gateway, |s| s.untag_role(name, &keys)).await?;
            Ok(done())
        }
        "ListRoleTags" => {
            let name = q.required("RoleName")?;
            let page = read(gateway, |s| {
                let tags = s.list_role_tags(name).map_err(iam_error)?;
                page_by_position(tags.to_vec(), q, |t| t)
            })?;
            Ok(xml(move |w| {
                write_tags(w, &page.items);
                page_tail(w, &page);
            }))
        }
        "PutRolePermissionsBoundary" => {
            let name = q.required("RoleName")?;
            let boundary = q.required("PermissionsBoundary")?;
            change(gateway, |s| s.put_role_permissions_boundary(name, boundary)).await?;
            Ok(done())
        }
        "DeleteRolePermissionsBoundary" => {
            let name = q.required("RoleName")?;
            change(gateway, |s| s.delete_role_permissions_boundary(name)).await?;
            Ok(done())
        }

        // Access keys.
        "CreateAccessKey" => create_access_key(gateway, q, &call.caller, now).await,
        "ListAccessKeys" => {
            let name = user_or_caller(q, &call.caller)?;
            let (user, page) = read(gateway, |s| {
                let user = s.get_user(name).map_err(iam_error)?.name.clone();
                let keys = s.list_access_keys(name).map_err(iam_error)?;
                let page = page_by_position(keys.iter().collect(), q, |k| {
                    (k.id.clone(), k.status, k.create_date)
                })?;
                Ok((user, page))
            })?;
            Ok(xml(move |w| {
                w.list(
                    "AccessKeyMetadata",
                    &page.items,
                    |w, (id, status, created)| {
                        w.element("UserName", &user)
                            .element("AccessKeyId", id)
                            .element("Status", status.as_str())
                            .timestamp_element("CreateDate", *created);
                    },
                );
                page_tail(w, &page);
            }))
        }
        "UpdateAccessKey" => {
            let name = user_or_caller(q, &call.caller)?;
            let id = q.required("AccessKeyId")?;
            let status = AccessKeyStatus::parse(q.required("Status")?).map_err(iam_error)?;
            change(gateway, |s| s.update_access_key(name, id, status)).await?;
            Ok(done())
        }
        "DeleteAccessKey" => {
            let name = user_or_caller(q, &call.caller)?;
            let id = q.required("AccessKeyId")?;
            change(gateway, |s| s.delete_access_key(name, id)).await?;
            Ok(done())
        }

        // Managed policies.
        "CreatePolicy" => {
            let req = CreatePolicyRequest {
                policy_name: q.required("PolicyName")?.to_string(),
                path: q.get("Path").map(str::to_string),
                policy_document: q.required("PolicyDocument")?.to_string(),
                description: q.get("Description").map(str::to_string),
                tags: tags(q)?,
            };
            let policy = change(gateway, |s| {
                s.create_policy(req, now).map(|i| PolicyView::of(&i, true))
            })
            .await?;
            Ok(xml(move |w| {
                w.nested("Policy", |w| policy.write(w));
            }))
        }
        "GetPolicy" => {
            let arn = q.required("PolicyArn")?;
            let policy = read(gateway, |s| {
                s.get_policy(arn)
                    .map(|i| PolicyView::of(&i, true))
                    .map_err(iam_error)
            })?;
            Ok(xml(move |w| {
                w.nested("Policy", |w| policy.write(w));
            }))
        }
        "ListPolicies" => list_policies(gateway, q),
        "DeletePolicy" => {
            let arn = q.required("PolicyArn")?;
            change(gateway, |s| s.delete_policy(arn)).await?;
            Ok(done())
        }
        "CreatePolicyVersion" => {
            let arn = q.required("PolicyArn")?;
            let document = q.required("PolicyDocument")?;
            let set_as_default = q.bool("SetAsDefault")?.unwrap_or(false);
            let version = change(gateway, |s| {
                let id = s
                    .create_policy_version(arn, document, set_as_default, now)?
                    .version_id
                    .clone();
                let policy = s.get_policy(arn)?.policy;
                let v = policy.version(&id).ok_or_else(|| {
                    IamError::new(
                        IamErrorKind::ServiceFailure,
                        "the new policy version vanished",
                    )
                })?;
                Ok(VersionView::of(v, &policy.default_version_id, false))
            })
            .await?;
            Ok(xml(move |w| {
                w.nested("PolicyVersion", |w| version.write(w));
            }))
        }
        "GetPolicyVersion" => {
            let arn = q.required("PolicyArn")?;
            let id = q.required("VersionId")?;
            let version = read(gateway, |s| {
                let v = s.get_policy_version(arn, id).map_err(iam_error)?;
                let default = &s
                    .get_policy(arn)
                    .map_err(iam_error)?
                    .policy
                    .default_version_id;
                Ok(VersionView::of(v, default, true))
            })?;
            Ok(xml(move |w| {
                w.nested("PolicyVersion", |w| version.write(w));
            }))
        }
        "ListPolicyVersions" => {
            let arn = q.required("PolicyArn")?;
            let page = read(gateway, |s| {
                let versions = s.list_policy_versions(arn).map_err(iam_error)?;
                let default = &s
                    .get_policy(arn)
                    .map_err(iam_error)?
                    .policy
                    .default_version_id;
                page_by_position(versions, q, |v| VersionView::of(v, default, false))
            })?;
            Ok(xml(move |w| {
                w.list("Versions", &page.items, |w, v| v.write(w));
                page_tail(w, &page);
            }))
        }
        "DeletePolicyVersion" => {
            let arn = q.required("PolicyArn")?;
            let id = q.required("VersionId")?;
            change(gateway, |s| s.delete_policy_version(arn, id)).await?;
            Ok(done())
        }
        "SetDefaultPolicyVersion" => {
            let arn = q.required("PolicyArn")?;
            let id = q.required("VersionId")?;
            change(gateway, |s| s.set_default_policy_version(arn, id, now)).await?;
            Ok(done())
        }

        // Attachments.
        "AttachUserPolicy" => attach(gateway, q, Owner::User, true).await,
        "DetachUserPolicy" => attach(gateway, q, Owner::User, false).await,
        "ListAttachedUserPolicies" => list_attached(gateway, q, Owner::User),
        "AttachGroupPolicy" => attach(gateway, q, Owner::Group, true).await,
        "DetachGroupPolicy" => attach(gateway, q, Owner::Group, false).await,
        "ListAttachedGroupPolicies" => list_attached(gateway, q, Owner::Group),
        "AttachRolePolicy" => attach(gateway, q, Owner::Role, true).await,
        "DetachRolePolicy" => attach(gateway, q, Owner::Role, false).await,
        "ListAttachedRolePolicies" => list_attached(gateway, q, Owner::Role),

        // Inline policies.
        "PutUserPolicy" => put_inline(gateway, q, Owner::User).await,
        "GetUserPolicy" => get_inline(gateway, q, Owner::User),
        "DeleteUserPolicy" => delete_inline(gateway, q, Owner::User).await,
        "ListUserPolicies" => list_inline(gateway, q, Owner::User),
        "PutGroupPolicy" => put_inline(gateway, q, Owner::Group).await,
        "GetGroupPolicy" => get_inline(gateway, q, Owner::Group),
        "DeleteGroupPolicy" => delete_inline(gateway, q, Owner::Group).await,
        "ListGroupPolicies" => list_inline(gateway, q, Owner::Group),
        "PutRolePolicy" => put_inline(gateway, q, Owner::Role).await,
        "GetRolePolicy" => get_inline(gateway, q, Owner::Role),
        "DeleteRolePolicy" => delete_inline(gateway, q, Owner::Role).await,
        "ListRolePolicies" => list_inline(gateway, q, Owner::Role),

        // Virtual MFA devices.
        "CreateVirtualMFADevice" => create_virtual_mfa_device(gateway, q, now).await,
        "EnableMFADevice" => enable_mfa_device(gateway, q, now).await,
        "DeactivateMFADevice" => {
            let name = user_or_caller(q, &call.caller)?;
            let serial = q.required("SerialNumber")?;
            change(gateway, |s| s.deactivate_mfa_device(name, serial)).await?;
            Ok(done())
        }
        "ListMFADevices" => {
            let name = user_or_caller(q, &call.caller)?;
            let (user, page) = read(gateway, |s| {
                let user = s.get_user(name).map_err(iam_error)?.name.clone();
                let devices = s.list_mfa_devices(name).map_err(iam_error)?;
                let page = page_by_position(devices, q, |d| {
                    (
                        d.serial_number.clone(),
                        d.enable_date.unwrap_or(d.create_date),
                    )
                })?;
                Ok((user, page))
            })?;
            Ok(xml(move |w| {
                w.list("MFADevices", &page.items, |w, (serial, enabled)| {
                    w.element("UserName", &user)
                        .element("SerialNumber", serial)
                        .timestamp_element("EnableDate", *enabled);
                });
                page_tail(w, &page);
            }))
        }
        "ListVirtualMFADevices" => {
            let status = match q.get("AssignmentStatus") {
                Some(s) => AssignmentStatus::parse(s).map_err(iam_error)?,
                None => AssignmentStatus::Any,
            };
            let page = read(gateway, |s| {
                let devices = s.list_virtual_mfa_devices(status);
                page_by_position(devices, q, |d| VirtualMfaView::of(d, s))
            })?;
            Ok(xml(move |w| {
                w.list("VirtualMFADevices", &page.items, |w, d| d.write(w));
                page_tail(w, &page);
            }))
        }
        "DeleteVirtualMFADevice" => {
            let serial = q.required("SerialNumber")?;
            change(gateway, |s| s.delete_virtual_mfa_device(serial)).await?;
            Ok(done())
        }

        other => Err(ApiError::new(
            ErrorKind::UnknownOperation,
            format!("{other} is not an IAM operation served here"),
        )),
    }
}

async fn create_access_key(
    gateway: &Gateway,
    q: &QueryParams,
    caller: &Caller,
    now: OffsetDateTime,
) -> Result<Reply, ApiError> {
    let name = user_or_caller(q, caller)?;
    let (key_id, secret) = generate_access_key(AccessKeyKind::LongTerm)
        .map_err(|_| unavailable("Creating an access key"))?;
    let sealed = seal_secret(&gateway.secrets, secret.expose())?;
    let (user, key_id, status, created) = change(gateway, |s| {
        let key = s.create_access_key(name, key_id, sealed, now)?;
        let (id, status, created) = (key.id.clone(), key.status, key.create_date);
        let user = s.get_user(name)?.name.clone();
        Ok((user, id, status, created))
    })
    .await?;
    // The secret leaves here once, in the response; the state holds it
    // sealed.
    Ok(xml(move |w| {
        w.nested("AccessKey", |w| {
            w.element("UserName", &user)
                .element("AccessKeyId", &key_id)
                .element("Status", status.as_str())
                .element("SecretAccessKey", secret.expose())
                .timestamp_element("CreateDate", created);
        });
    }))
}

fn list_policies(gateway: &Gateway, q: &QueryParams) -> Result<Reply, ApiError> {
    let scope = match q.get("Scope") {
        Some(s) => PolicyScope::parse(s).map_err(iam_error)?,
        None => PolicyScope::All,
    };
    let only_attached = q.bool("OnlyAttached")?.unwrap_or(false);
    // Any managed policy may serve as a permissions policy or as a
    // boundary; the filter matters for policies that are in use.
    let boundaries = match q.get("PolicyUsageFilter") {
        None | Some("PermissionsPolicy") => false,
        Some("PermissionsBoundary") => true,
        Some(other) => {
            return Err(crate::protocol::violation(
                "PolicyUsageFilter",
                Some(other),
                "Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]",
            ));
        }
    };
    let req = ListPoliciesRequest {
        scope,
        only_attached: only_attached && !boundaries,
        path_prefix: q.get("PathPrefix").map(str::to_string),
    };
    let page = read(gateway, |s| {
        let mut policies = s.list_policies(&req).map_err(iam_error)?;
        if only_attached && boundaries {
            policies.retain(|i| i.permissions_boundary_usage_count > 0);
        }
        // Names are unique per owner: the key is the name and the owner.
        page_by_key(
            policies,
            |i| {
                let owner = if i.policy.aws_managed {
                    "aws"
                } else {
                    s.account()
                };
                format!("{} {owner}", lower(&i.policy.name))
            },
            q,
            |i| PolicyView::of(&i, false),
        )
    })?;
    Ok(xml(move |w| {
        w.list("Policies", &page.items, |w, p| p.write(w));
        page_tail(w, &page);
    }))
}

/// The owner of attached and inline policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    User,
    Group,
    Role,
}

impl Owner {
    /// The parameter and result member naming the owner.
    fn member(self) -> &'static str {
        match self {
            Owner::User => "UserName",
            Owner::Group => "GroupName",
            Owner::Role => "RoleName",
        }
    }

    /// The owner's name as stored (IAM names ignore case; answers show the
    /// stored spelling).
    fn stored_name(self, s: &IamState, name: &str) -> Result<String, IamError> {
        Ok(match self {
            Owner::User => s.get_user(name)?.name.clone(),
            Owner::Group => s.get_group(name)?.0.name.clone(),
            Owner::Role => s.get_role(name)?.name.clone(),
        })
    }
}

async fn attach(
    gateway: &Gateway,
    q: &QueryParams,
    owner: Owner,
    attach: bool,
) -> Result<Reply, ApiError> {
    let name = q.required(owner.member())?;
    let arn = q.required("PolicyArn")?;
    change(gateway, |s| match (owner, attach) {
        (Owner::User, true) => s.attach_user_policy(name, arn),
        (Owner::User, false) => s.detach_user_policy(name, arn),
        (Owner::Group, true) => s.attach_group_policy(name, arn),
        (Owner::Group, false) => s.detach_group_policy(name, arn),
        (Owner::Role, true) => s.attach_role_policy(name, arn),
        (Owner::Role, false) => s.detach_role_policy(name, arn),
    })
    .await?;
    Ok(done())
}

fn list_attached(gateway: &Gateway, q: &QueryParams, owner: Owner) -> Result<Reply, ApiError> {
    let name = q.required(owner.member())?;
    let prefix = q.get("PathPrefix");
    let page = read(gateway, |s| {
        let attached = match owner {
            Owner::User => s.list_attached_user_policies(name, prefix),
            Owner::Group => s.list_attached_group_policies(name, prefix),
            Owner::Role => s.list_attached_role_policies(name, prefix),
        }
        .map_err(iam_error)?;
        page_by_position(attached, q, |p| p)
    })?;
    Ok(xml(move |w| {
        w.list("AttachedPolicies", &page.items, |w, p| {
            w.element("PolicyName", &p.policy_name)
                .element("PolicyArn", &p.policy_arn);
        });
        page_tail(w, &page);
    }))
}

async fn put_inline(gateway: &Gateway, q: &QueryParams, owner: Owner) -> Result<Reply, ApiError> {
    let name = q.required(owner.member())?;
    let policy = q.required("PolicyName")?;
    let document = q.required("PolicyDocument")?;
    change(gateway, |s| match owner {
        Owner::User => s.put_user_policy(name, policy, document),
        Owner::Group => s.put_group_policy(name, policy, document),
        Owner::Role => s.put_role_policy(name, policy, document),
    })
    .await?;
    Ok(done())
}

fn get_inline(gateway: &Gateway, q: &QueryParams, owner: Owner) -> Result<Reply, ApiError> {
    let name = q.required(owner.member())?;
    let policy = q.required("PolicyName")?;
    let (stored, policy_name, document) = read(gateway, |s| {
        let document = match owner {
            Owner::User => s.get_user_policy(name, policy),
            Owner::Group => s.get_group_policy(name, policy),
            Owner::Role => s.get_role_policy(name, policy),
        }
        .map_err(iam_error)?
        .text()
        .to_string();
        let stored = owner.stored_name(s, name).map_err(iam_error)?;
        Ok((stored, policy.to_string(), document))
    })?;
    let member = owner.member();
    Ok(xml(move |w| {
        w.element(member, &stored)
            .element("PolicyName", &policy_name)
            .element("PolicyDocument", &policy_document_encode(&document));
    }))
}

async fn delete_inline(
    gateway: &Gateway,
    q: &QueryParams,
    owner: Owner,
) -> Result<Reply, ApiError> {
    let name = q.required(owner.member())?;
    let policy = q.required("PolicyName")?;
    change(gateway, |s| match owner {
        Owner::User => s.delete_user_policy(name, policy),
        Owner::Group => s.delete_group_policy(name, policy),
        Owner::Role => s.delete_role_policy(name, policy),
    })
    .await?;
    Ok(done())
}

fn list_inline(gateway: &Gateway, q: &QueryParams, owner: Owner) -> Result<Reply, ApiError> {
    let name = q.required(owner.member())?;
    let page = read(gateway, |s| {
        let names = match owner {
            Owner::User => s.list_user_policies(name),
            Owner::Group => s.list_group_policies(name),
            Owner::Role => s.list_role_policies(name),
        }
        .map_err(iam_error)?;
        page_by_key(names, |n| n.to_string(), q, str::to_string)
    })?;
    Ok(xml(move |w| {
        w.string_list("PolicyNames", &page.items);
        page_tail(w, &page);
    }))
}

async fn create_virtual_mfa_device(
    gateway: &Gateway,
    q: &QueryParams,
    now: OffsetDateTime,
) -> Result<Reply, ApiError> {
    let req = CreateVirtualMfaDeviceRequest {
        virtual_mfa_device_name: q.required("VirtualMFADeviceName")?.to_string(),
        path: q.get("Path").map(str::to_string),
        tags: tags(q)?,
    };
    let seed = totp::generate_seed().map_err(|_| unavailable("Creating an MFA device"))?;
    let base32 = SecretString::new(totp::base32_encode(&seed));
    drop(seed);
    let sealed = gateway
        .secrets
        .seal(base32.expose().as_bytes())
        .map_err(|_| unavailable("Creating an MFA device"))?;
    let (serial, tags) = change(gateway, |s| {
        s.create_virtual_mfa_device(req, sealed, now)
            .map(|d| (d.serial_number.clone(), d.tags.clone()))
    })
    .await?;
    // `Base32StringSeed` is a blob: base64 of the base32 text, which
    // botocore decodes back to the text authenticator apps take.
    let seed_b64 =
        SecretString::new(base64::engine::general_purpose::STANDARD.encode(base32.expose()));
    Ok(xml(move |w| {
        w.nested("VirtualMFADevice", |w| {
            w.element("SerialNumber", &serial)
                .element("Base32StringSeed", seed_b64.expose());
            write_tags_if_any(w, &tags);
        });
    }))
}

/// Whether `code1` and `code2` are the codes of two consecutive time steps,
/// the later one close to now (typed one after the other, allowing a
/// minute for the second and one step of clock drift).
fn consecutive_codes(seed: &[u8], code1: &str, code2: &str, now: OffsetDateTime) -> bool {
    let step = now.unix_timestamp().div_euclid(totp::STEP_SECONDS);
    let mut ok = false;
    for first in (step - 3)..=step {
        let a = totp::verify(seed, code1, first * totp::STEP_SECONDS, 0).is_some();
        let b = totp::verify(seed, code2, (first + 1) * totp::STEP_SECONDS, 0).is_some();
        ok |= a & b;
    }
    ok
}

async fn enable_mfa_device(
    gateway: &Gateway,
    q: &QueryParams,
    now: OffsetDateTime,
) -> Result<Reply, ApiError> {
    let name = q.required("UserName")?;
    let serial = q.required("SerialNumber")?;
    let code1 = q.required("AuthenticationCode1")?;
    let code2 = q.required("AuthenticationCode2")?;
    let unreadable = AtomicBool::new(false);
    let secrets = &gateway.secrets;
    let verify = |sealed: &sekisho_identity::iam::SealedSecret, c1: &str, c2: &str| match secrets
        .open(sealed)
    {
        Err(_) => {
            unreadable.store(true, Ordering::Relaxed);
            false
        }
        Ok(text) => totp::base32_decode(text.expose())
            .is_some_and(|seed| consecutive_codes(&seed, c1, c2, now)),
    };
    let result = change(gateway, |s| {
        s.enable_mfa_device(name, serial, code1, code2, verify, now)
    })
    .await;
    if unreadable.load(Ordering::Relaxed) {
        // Fail closed, and say so: the codes were never checked.
        return Err(ApiError::new(
            ErrorKind::ServiceUnavailable,
            "The MFA store cannot be read",
        ));
    }
    result?;
    Ok(done())
}
