//! An organization's messaging settings: who sees read receipts, and whether residents may
//! start conversations.

use serde::{Deserialize, Serialize};

use crate::{Role, User, UserId};

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

/// `GET/PUT /v1/settings/messaging`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessagingSettings {
    pub read_receipts: ReadReceipts,
    /// false: a resident starting a conversation is refused (403 conversations_closed);
    /// their replies still go through.
    pub residents_can_start: bool,
}

impl Default for MessagingSettings {
    fn default() -> Self {
        Self { read_receipts: ReadReceipts::Everyone, residents_can_start: true }
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
