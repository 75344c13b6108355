//! Scheduled sends: a staff message or conversation held until its `send_at`, then posted
//! once through the live path.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::{DomainError, ErrorCode};

/// How far ahead a message may be scheduled.
pub const MAX_AHEAD_DAYS: i64 = 365;

/// Where a scheduled message is in its life. Only `scheduled` may be edited or cancelled;
/// `sending` is held by the schedule that is posting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScheduledStatus {
    Scheduled,
    Sending,
    Sent,
    /// Not sent, on purpose: the resident replied first and the author chose
    /// `cancel_on_reply`.
    Cancelled,
    /// Not sent: the post was refused when due (the author archived, the thread gone…);
    /// `reason` says why.
    Failed,
}

impl ScheduledStatus {
    /// Still waiting for its time (or being posted): on the lists and the due index.
    pub fn is_pending(self) -> bool {
        matches!(self, Self::Scheduled | Self::Sending)
    }

    /// Why an edit or a cancellation is refused in this state, if it is.
    pub fn ensure_editable(self) -> Result<(), DomainError> {
        match self {
            Self::Scheduled => Ok(()),
            Self::Sending | Self::Sent => {
                Err(DomainError::conflict(ErrorCode::AlreadySent, "this message has been sent"))
            }
            Self::Cancelled | Self::Failed => Err(DomainError::conflict(
                ErrorCode::NotScheduled,
                "this message was not sent and is no longer scheduled",
            )),
        }
    }
}

/// A send time as asked: in the future, within `MAX_AHEAD_DAYS`, kept at millisecond
/// precision (that of keys).
pub fn send_at(raw: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, DomainError> {
    let invalid = |why: &str| DomainError::invalid(ErrorCode::InvalidSendAt, why.to_owned());
    let at = DateTime::parse_from_rfc3339(raw)
        .map_err(|_| {
            invalid("send_at must be an RFC 3339 date-time with its offset, e.g. 2027-01-15T09:00:00-05:00")
        })?
        .with_timezone(&Utc);
    let at = DateTime::from_timestamp_millis(at.timestamp_millis())
        .ok_or_else(|| invalid("send_at is out of range"))?;
    if at <= now {
        return Err(invalid("send_at must be in the future"));
    }
    if at > now + Duration::days(MAX_AHEAD_DAYS) {
        return Err(invalid("send_at must be within 365 days"));
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-12-05T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_send_time_is_future_and_within_a_year() {
        let at = send_at("2026-12-05T08:00:00.1234-05:00", now()).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-05T13:00:00.123+00:00");
        for (raw, refused) in [
            ("2026-12-05T12:00:00Z", "the present"),
            ("2026-12-04T12:00:00Z", "the past"),
            ("2027-12-06T12:00:00Z", "over a year ahead"),
            ("2026-12-06 12:00", "no offset"),
            ("tomorrow", "not a date"),
        ] {
            let err = send_at(raw, now()).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidSendAt, "{refused}");
        }
        assert!(send_at("2027-12-05T11:59:59Z", now()).is_ok());
    }

    #[test]
    fn only_a_scheduled_message_is_editable() {
        assert!(ScheduledStatus::Scheduled.ensure_editable().is_ok());
        for (status, code) in [
            (ScheduledStatus::Sending, ErrorCode::AlreadySent),
            (ScheduledStatus::Sent, ErrorCode::AlreadySent),
            (ScheduledStatus::Cancelled, ErrorCode::NotScheduled),
            (ScheduledStatus::Failed, ErrorCode::NotScheduled),
        ] {
            assert_eq!(status.ensure_editable().unwrap_err().code(), code);
        }
    }
}
