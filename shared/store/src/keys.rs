//! Key construction. Every key starts with `ORG#{org}#`, so no query built from one org's
//! token can reach another org's items.

use chrono::{DateTime, Utc};
use domain::{MessageId, OrgId, ThreadId, UserId};

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const META_SK: &str = "#META";
pub const PARTICIPANT_PREFIX: &str = "#PART#";
pub const TIMELINE_PREFIX: &str = "TL#";
pub const PROFILE_SK: &str = "PROFILE";
pub const IDEMPOTENCY_SK: &str = "IDEM";

pub fn org_prefix(org: &OrgId) -> String {
    format!("ORG#{org}#")
}

pub fn thread_pk(org: &OrgId, id: &ThreadId) -> String {
    format!("ORG#{org}#THREAD#{id}")
}

pub fn participant_sk(user: &UserId) -> String {
    format!("{PARTICIPANT_PREFIX}{user}")
}

pub fn timeline_sk(id: &MessageId) -> String {
    format!("{TIMELINE_PREFIX}{id}")
}

pub fn user_pk(org: &OrgId, user: &UserId) -> String {
    format!("ORG#{org}#USER#{user}")
}

pub fn idempotency_pk(org: &OrgId, user: &UserId, key: &str) -> String {
    format!("ORG#{org}#IDEM#{user}#{key}")
}

/// Sort key of inbox indexes: newest activity sorts last, so lists query backwards.
pub fn activity_sk(at: &DateTime<Utc>, thread: &ThreadId) -> String {
    format!("{}#{thread}", timestamp(at))
}

/// Fixed-width UTC timestamp with milliseconds: sorts as text in time order.
pub fn timestamp(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}
