//! Users: residents and the staff of a management organization, and their account state.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{OrgId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    Resident,
    Owner,
    Staff,
    Vendor,
}

/// Why an account was locked, by whom and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Lock {
    pub reason: String,
    pub by: UserId,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads and acts on every thread of the organization.
    FacilityAdmin,
    /// Bookkeepers, maintenance managers, security, dispatchers: the threads they take part in.
    Staff,
    /// Tenants and owners living on site: their own threads.
    Resident,
    /// Contractors and suppliers: contacts staff can add to a conversation.
    Vendor,
}

impl Role {
    pub fn is_staff(self) -> bool {
        matches!(self, Role::FacilityAdmin | Role::Staff)
    }

    /// Residents keep their account when they move out or are locked; everyone else (staff,
    /// admins, vendors) acts for the organization and loses access with the role.
    pub fn is_resident(self) -> bool {
        self == Role::Resident
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    #[default]
    Active,
    /// Can sign in and read; every write is refused.
    Locked,
    /// Out of the contact list; can still read history and message staff.
    Archived,
}

/// A user as the authorization policy sees them, loaded from storage on each request so
/// that a lock or a role change takes effect at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub org: OrgId,
    pub role: Role,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property_id: Option<String>,
    /// Staff: the properties they work for (besides `property_id`), where they dispatch the
    /// categories naming them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub property_ids: Vec<String>,
    #[serde(default)]
    pub state: AccountState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// What kind of contact this user is; `None` for users seeded before contacts existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ContactKind>,
    /// Why, by whom and when the account was locked (while `state` is locked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<Lock>,
    /// A future archive date set by staff; the scheduled job archives on the day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The sign-in user name in the directory, set when the contact is invited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// SHA-256 of the current invitation's token: only that link is valid. A new invitation
    /// replaces it and an e-mail change clears it, which revokes every older link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<String>,
    /// Revision, bumped by every change; changes are conditioned on the one read.
    #[serde(default)]
    pub rev: u64,
}

#[cfg(test)]
impl User {
    /// An active user of org `demo` named after its id, for tests.
    pub(crate) fn sample(id: &str, role: Role) -> Self {
        Self {
            id: UserId::parse(id).unwrap(),
            org: OrgId::parse("demo").unwrap(),
            role,
            name: id.into(),
            unit: None,
            property_id: None,
            property_ids: Vec::new(),
            state: AccountState::Active,
            email: None,
            phone: None,
            kind: None,
            lock: None,
            archive_at: None,
            login: None,
            invite: None,
            rev: 0,
        }
    }
}
