//! Quotas on what costs money or fans out: threads, messages, uploads and invitations, per
//! user and per organization, in fixed windows. One resident cannot fill the shared table
//! throughput for every tenant, nor an admin re-invite without end. The defaults are far
//! above what an honest user does (a staff member answering all day posts a few hundred
//! messages); operations can set other limits for one organization.

use serde::{Deserialize, Serialize};

use crate::{DomainError, ErrorCode};

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaKind {
    Thread,
    Message,
    Upload,
    Invitation,
}

impl QuotaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Thread => "thread",
            Self::Message => "message",
            Self::Upload => "upload",
            Self::Invitation => "invitation",
        }
    }
}

/// Whose count: the acting user's, the whole organization's, or (invitations) the invited
/// contact's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaScope {
    User,
    Org,
    Subject,
}

/// How many of one kind a scope may do in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub per_user: u32,
    pub per_org: u32,
    /// For invitations: how often one contact may be invited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_subject: Option<u32>,
    pub window_secs: u32,
}

/// An organization's limits. Stored per organization only where operations changed them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quotas {
    pub thread: Limit,
    pub message: Limit,
    pub upload: Limit,
    pub invitation: Limit,
}

const HOUR: u32 = 3600;
const DAY: u32 = 24 * HOUR;

impl Default for Quotas {
    fn default() -> Self {
        Self {
            thread: Limit { per_user: 60, per_org: 5_000, per_subject: None, window_secs: HOUR },
            message: Limit { per_user: 1_000, per_org: 30_000, per_subject: None, window_secs: HOUR },
            upload: Limit { per_user: 200, per_org: 10_000, per_subject: None, window_secs: HOUR },
            invitation: Limit { per_user: 500, per_org: 2_000, per_subject: Some(5), window_secs: DAY },
        }
    }
}

impl Quotas {
    pub fn limit(&self, kind: QuotaKind) -> Limit {
        match kind {
            QuotaKind::Thread => self.thread,
            QuotaKind::Message => self.message,
            QuotaKind::Upload => self.upload,
            QuotaKind::Invitation => self.invitation,
        }
    }

    /// Checks limits given by operations: each at least 1, windows from a minute to a week.
    pub fn validate(&self) -> Result<(), DomainError> {
        for kind in [QuotaKind::Thread, QuotaKind::Message, QuotaKind::Upload, QuotaKind::Invitation] {
            let l = self.limit(kind);
            let counts_ok = l.per_user >= 1 && l.per_org >= 1 && l.per_subject.is_none_or(|n| n >= 1);
            if !counts_ok || !(60..=7 * DAY).contains(&l.window_secs) {
                return Err(DomainError::invalid(
                    ErrorCode::InvalidQuotas,
                    format!("{}: limits are at least 1, windows 60 s to 7 days", kind.as_str()),
                ));
            }
        }
        Ok(())
    }
}

/// The fixed window `now` (epoch seconds) falls in, and the seconds until it ends.
pub fn window(now: i64, window_secs: u32) -> (i64, u32) {
    let size = i64::from(window_secs.max(1));
    let start = now.div_euclid(size) * size;
    (start, u32::try_from(start + size - now).unwrap_or(window_secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_fixed_and_say_how_long_is_left() {
        assert_eq!(window(7_200, 3_600), (7_200, 3_600));
        assert_eq!(window(7_199, 3_600), (3_600, 1));
        assert_eq!(window(10_000, 3_600), (7_200, 800));
    }

    #[test]
    fn the_defaults_hold_and_nonsense_limits_are_refused() {
        assert!(Quotas::default().validate().is_ok());
        let mut q = Quotas::default();
        q.message.per_user = 0;
        assert!(q.validate().is_err());
        let mut q = Quotas::default();
        q.thread.window_secs = 1;
        assert!(q.validate().is_err());
    }
}
