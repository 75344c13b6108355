//! The thread status machine and priority, and the kinds of event a timeline shows.
//!
//! unread (a resident wrote last) → open (staff answered) → resolved (staff closed it) →
//! archived (after the org's archive period, or by staff). A resident's message re-opens
//! any thread as unread; internal notes never change the status.

use serde::{Deserialize, Serialize};

use crate::{DomainError, ErrorCode, Role};

/// What happened to a thread, as its timeline shows it between messages (and its audit
/// chain records it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    StatusChanged,
    PriorityChanged,
    LinkedRecordChanged,
    ParticipantJoined,
    ParticipantLeft,
    /// Triage escalated the thread (again, when nobody acknowledged it in time).
    Escalated,
    /// A staff member acknowledged the escalation.
    Acknowledged,
    /// A staff member corrected triage's path.
    TriageCorrected,
}

/// unread: a resident wrote last; open: staff answered; resolved: staff closed it; archived:
/// put away (can be re-opened).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThreadStatus {
    Unread,
    Open,
    Resolved,
    Archived,
}

impl ThreadStatus {
    pub const ALL: [ThreadStatus; 4] = [Self::Unread, Self::Open, Self::Resolved, Self::Archived];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unread => "unread",
            Self::Open => "open",
            Self::Resolved => "resolved",
            Self::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The status of a new thread: waiting for staff if a resident opened it, answered if
    /// staff did.
    pub fn initial(author: Role) -> Self {
        if author.is_staff() {
            Self::Open
        } else {
            Self::Unread
        }
    }

    /// The status after a message, or `None` when the message changes nothing.
    pub fn after_message(author: Role, internal: bool) -> Option<Self> {
        match (internal, author.is_staff()) {
            (true, _) => None,
            (false, true) => Some(Self::Open),
            (false, false) => Some(Self::Unread),
        }
    }

    /// Checks a status change asked for by staff. `Ok(None)` means the thread is already there.
    pub fn change_to(self, to: ThreadStatus) -> Result<Option<StatusChange>, DomainError> {
        if to == Self::Unread {
            return Err(DomainError::invalid(
                ErrorCode::InvalidStatus,
                "status can be set to open, resolved or archived; unread comes from resident messages",
            ));
        }
        if to == self {
            return Ok(None);
        }
        match (self, to) {
            (Self::Archived, Self::Resolved) => Err(DomainError::conflict(
                ErrorCode::InvalidTransition,
                "an archived thread can be re-opened, not resolved",
            )),
            _ => Ok(Some(StatusChange { from: self, to })),
        }
    }
}

/// An accepted status change, recorded as a timeline event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChange {
    pub from: ThreadStatus,
    pub to: ThreadStatus,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    #[default]
    Normal,
    Urgent,
}

#[cfg(test)]
mod tests {
    use super::ThreadStatus::*;
    use super::*;

    #[test]
    fn a_resident_thread_starts_unread_and_a_staff_thread_open() {
        assert_eq!(ThreadStatus::initial(Role::Resident), Unread);
        assert_eq!(ThreadStatus::initial(Role::Staff), Open);
        assert_eq!(ThreadStatus::initial(Role::FacilityAdmin), Open);
    }

    #[test]
    fn resident_reply_reopens_and_staff_reply_answers() {
        assert_eq!(ThreadStatus::after_message(Role::Resident, false), Some(Unread));
        assert_eq!(ThreadStatus::after_message(Role::Staff, false), Some(Open));
    }

    #[test]
    fn internal_notes_never_change_the_status() {
        assert_eq!(ThreadStatus::after_message(Role::Staff, true), None);
    }

    #[test]
    fn staff_can_resolve_reopen_and_archive() {
        assert_eq!(Unread.change_to(Resolved).unwrap(), Some(StatusChange { from: Unread, to: Resolved }));
        assert!(Open.change_to(Resolved).unwrap().is_some());
        assert!(Resolved.change_to(Open).unwrap().is_some());
        assert!(Resolved.change_to(Archived).unwrap().is_some());
        assert!(Archived.change_to(Open).unwrap().is_some());
    }

    #[test]
    fn setting_the_same_status_is_a_no_op() {
        assert_eq!(Resolved.change_to(Resolved).unwrap(), None);
    }

    #[test]
    fn unread_cannot_be_set_and_archived_cannot_be_resolved() {
        assert!(matches!(
            Open.change_to(Unread),
            Err(DomainError::Invalid { code: ErrorCode::InvalidStatus, .. })
        ));
        assert!(matches!(Archived.change_to(Resolved), Err(DomainError::Conflict { .. })));
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for st in ThreadStatus::ALL {
            assert_eq!(ThreadStatus::parse(st.as_str()), Some(st));
        }
        assert_eq!(ThreadStatus::parse("closed"), None);
    }
}
