//! Identifiers. Each parses once at the edge; an invalid value never becomes an id.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::schema::named_schema;
use crate::{DomainError, ErrorCode};

/// Characters allowed in external ids (org and user ids come from the identity provider).
fn is_external_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

macro_rules! external_id {
    ($name:ident, $what:literal, $code:ident) => {
        #[doc = concat!("The id of a ", $what, ": 1 to 64 characters of `[A-Za-z0-9._-]`.")]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: impl Into<String>) -> Result<Self, DomainError> {
                let s = s.into();
                if is_external_id(&s) {
                    Ok(Self(s))
                } else {
                    Err(DomainError::invalid(
                        ErrorCode::$code,
                        concat!("a ", $what, " id is 1 to 64 characters of letters, digits, '.', '-' or '_'"),
                    ))
                }
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(s)
            }
        }
        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

external_id!(OrgId, "org", InvalidOrgId);
external_id!(UserId, "user", InvalidUserId);
named_schema!(UserId, "UserId", crate::schema::external_id("user"));
named_schema!(OrgId, "OrgId", crate::schema::external_id("org"));

macro_rules! ulid_id {
    ($name:ident, $what:literal) => {
        #[doc = concat!("The id of a ", $what, ": a ULID, so ids sort by creation time.")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(ulid::Ulid);

        impl $name {
            /// A fresh id for something created at `at_ms` (milliseconds since the epoch).
            pub fn new_at(at_ms: u64) -> Self {
                Self(ulid::Ulid::from_parts(at_ms, rand_bits()))
            }
            pub fn parse(s: &str) -> Result<Self, DomainError> {
                // Only the canonical upper-case form, so one id has one spelling in keys.
                match ulid::Ulid::from_string(s) {
                    Ok(u) if u.to_string() == s => Ok(Self(u)),
                    _ => Err(DomainError::NotFound($what)),
                }
            }
        }
        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.to_string()
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

ulid_id!(ThreadId, "thread");
ulid_id!(MessageId, "message");
ulid_id!(AttachmentId, "attachment");
ulid_id!(EventId, "event");
ulid_id!(LogId, "log entry");
ulid_id!(EntryId, "timeline entry");
ulid_id!(TemplateId, "template");
ulid_id!(ScheduledId, "scheduled message");
ulid_id!(CampaignId, "campaign");
ulid_id!(WebhookId, "webhook");
ulid_id!(ExportId, "export");
named_schema!(ThreadId, "Ulid", crate::schema::ulid());
named_schema!(MessageId, "Ulid", crate::schema::ulid());
named_schema!(AttachmentId, "Ulid", crate::schema::ulid());
named_schema!(EventId, "Ulid", crate::schema::ulid());
named_schema!(TemplateId, "Ulid", crate::schema::ulid());
named_schema!(ScheduledId, "Ulid", crate::schema::ulid());
named_schema!(CampaignId, "Ulid", crate::schema::ulid());
named_schema!(WebhookId, "Ulid", crate::schema::ulid());

// A thread's timeline holds messages and events on one time line: an entry is either.
impl From<MessageId> for EntryId {
    fn from(id: MessageId) -> Self {
        Self(id.0)
    }
}

impl From<EventId> for EntryId {
    fn from(id: EventId) -> Self {
        Self(id.0)
    }
}

impl EntryId {
    /// Milliseconds since the epoch when the entry was made.
    pub fn at_ms(&self) -> u64 {
        self.0.timestamp_ms()
    }

    /// The smallest id of `at_ms`: every entry made at or after it sorts at or after it.
    pub fn floor_at(at_ms: u64) -> Self {
        Self(ulid::Ulid::from_parts(at_ms, 0))
    }
}

impl UserId {
    /// A new contact's id: `c-` and a lower-case ULID of its creation time.
    pub fn new_contact(at_ms: u64) -> Self {
        Self(format!("c-{}", ulid::Ulid::from_parts(at_ms, rand_bits()).to_string().to_lowercase()))
    }
}

/// A new category's id: `cat-` and a lower-case ULID of its creation time.
pub fn new_category_id(at_ms: u64) -> String {
    format!("cat-{}", ulid::Ulid::from_parts(at_ms, rand_bits()).to_string().to_lowercase())
}

fn rand_bits() -> u128 {
    // ulid's generator is seeded from the OS; we only need its random part.
    ulid::Ulid::new().random()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_refuse_separators_and_overlong_values() {
        assert!(UserId::parse("resident-1").is_ok());
        assert!(UserId::parse("a#b").is_err(), "'#' would break key prefixes");
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse("x".repeat(65)).is_err());
        assert!(OrgId::parse("demo b").is_err());
    }

    #[test]
    fn thread_ids_sort_by_creation_time_and_have_one_spelling() {
        let a = ThreadId::new_at(1_000);
        let b = ThreadId::new_at(2_000);
        assert!(a.to_string() < b.to_string());
        assert_eq!(ThreadId::parse(&a.to_string()).unwrap(), a);
        assert!(ThreadId::parse(&a.to_string().to_lowercase()).is_err());
        assert!(ThreadId::parse("not-a-ulid").is_err());
    }
}
