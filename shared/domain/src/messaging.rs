//! An organization's messaging settings: when resolved threads are archived, who sees read
//! receipts, and whether residents may start conversations.

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use crate::{DomainError, ErrorCode, Role, User, UserId};

/// What wrote an automated message (`automated: true`): never a person, never a staff
/// response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AutomatedKind {
    /// Outside business hours.
    AutoReply,
    /// Triage asks for a missing detail.
    Question,
    /// Triage's safety notice on an emergency.
    SafetyNotice,
}

/// Whose read markers a reader of a thread is shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadReceipts {
    /// Everyone sees how far everyone has read.
    #[default]
    Everyone,
    /// Staff see everyone's; residents see only their own.
    Staff,
    /// Each sees only their own.
    Off,
}

impl ReadReceipts {
    /// Whether `reader` may see the read marker of `participant`.
    pub fn shows(self, reader: &User, participant: &UserId) -> bool {
        match self {
            _ if *participant == reader.id => true,
            Self::Everyone => true,
            Self::Staff => reader.role != Role::Resident,
            Self::Off => false,
        }
    }
}

/// The longest archive period of resolved threads (ten years).
pub const MAX_ARCHIVE_DAYS: u32 = 3650;

/// `GET/PUT /v1/settings/messaging`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessagingSettings {
    /// Resolved threads untouched for this many days are archived by the schedule (0:
    /// never; at most 3650). Left out of a PUT: 30.
    #[serde(default = "default_archive_days")]
    #[schema(maximum = 3650, default = 30)]
    pub archive_resolved_after_days: u32,
    pub read_receipts: ReadReceipts,
    /// false: a resident starting a conversation is refused (403 conversations_closed);
    /// their replies still go through.
    pub residents_can_start: bool,
}

fn default_archive_days() -> u32 {
    30
}

impl Default for MessagingSettings {
    fn default() -> Self {
        Self {
            archive_resolved_after_days: default_archive_days(),
            read_receipts: ReadReceipts::Everyone,
            residents_can_start: true,
        }
    }
}

impl MessagingSettings {
    /// Settings as the rules allow them, or 422 invalid_archive_period.
    pub fn validated(self) -> Result<Self, DomainError> {
        if self.archive_resolved_after_days > MAX_ARCHIVE_DAYS {
            let message = format!("archive_resolved_after_days is 0 (never) to {MAX_ARCHIVE_DAYS}");
            return Err(DomainError::invalid(ErrorCode::InvalidArchivePeriod, message));
        }
        Ok(self)
    }

    /// When a thread resolved and last touched at `touched` is to be archived; `None`:
    /// never.
    pub fn archive_at(&self, touched: DateTime<Utc>) -> Option<DateTime<Utc>> {
        (self.archive_resolved_after_days > 0)
            .then(|| touched + chrono::Duration::days(i64::from(self.archive_resolved_after_days)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_setting_shows_whose_markers_to_whom() {
        let resident = User::sample("resident-1", Role::Resident);
        let staff = User::sample("maint-1", Role::Staff);
        let cases = [
            (ReadReceipts::Everyone, [true, true, true, true]),
            (ReadReceipts::Staff, [true, false, true, true]),
            (ReadReceipts::Off, [true, false, false, true]),
        ];
        for (setting, expected) in cases {
            let seen = [
                setting.shows(&resident, &resident.id),
                setting.shows(&resident, &staff.id),
                setting.shows(&staff, &resident.id),
                setting.shows(&staff, &staff.id),
            ];
            assert_eq!(seen, expected, "{setting:?}");
        }
    }
}
