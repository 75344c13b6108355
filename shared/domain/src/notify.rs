//! Notification preferences and what a notification says: channels in priority order with
//! their validated addresses, quiet hours in the user's time zone, and the rendering of
//! one message or a digest of several.

use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::{DomainError, ErrorCode, MessageId, ThreadId};

pub const MAX_CHANNELS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    Whatsapp,
    Push,
    Telegram,
}

/// A channel and where to reach the user on it, checked for the channel's format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "RawAddress", deny_unknown_fields)]
pub struct ChannelAddress {
    pub channel: Channel,
    /// E-mail address (email), E.164 phone (sms, whatsapp), push token (push), numeric chat
    /// id (telegram).
    pub address: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAddress {
    channel: Channel,
    address: String,
}

fn is_email(a: &str) -> bool {
    let Some((local, domain)) = a.split_once('@') else { return false };
    a.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !a.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains('@')
}

/// E.164: a plus, a non-zero digit, 8 to 15 digits in all.
fn is_e164(a: &str) -> bool {
    let digits = a.strip_prefix('+').unwrap_or("");
    (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

impl TryFrom<RawAddress> for ChannelAddress {
    type Error = DomainError;
    fn try_from(raw: RawAddress) -> Result<Self, DomainError> {
        let a = raw.address.trim();
        let ok = match raw.channel {
            Channel::Email => is_email(a),
            Channel::Sms | Channel::Whatsapp => is_e164(a),
            Channel::Telegram => {
                let digits = a.strip_prefix('-').unwrap_or(a);
                (1..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
            }
            Channel::Push => (1..=4096).contains(&a.len()) && a.bytes().all(|b| b.is_ascii_graphic()),
        };
        if !ok {
            let expected = match raw.channel {
                Channel::Email => "an e-mail address",
                Channel::Sms | Channel::Whatsapp => "a phone number in E.164 form (+15145550123)",
                Channel::Telegram => "a numeric Telegram chat id",
                Channel::Push => "a push token",
            };
            return Err(DomainError::invalid(
                ErrorCode::InvalidAddress,
                format!("{:?} needs {expected}", raw.channel),
            ));
        }
        Ok(Self { channel: raw.channel, address: a.to_owned() })
    }
}

/// Hours during which only urgent notifications go out, in the user's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    #[serde(with = "hhmm")]
    #[schema(value_type = String, pattern = "^[0-2][0-9]:[0-5][0-9]$", examples("22:00"))]
    pub start: NaiveTime,
    #[serde(with = "hhmm")]
    #[schema(value_type = String, pattern = "^[0-2][0-9]:[0-5][0-9]$", examples("07:00"))]
    pub end: NaiveTime,
    /// IANA time zone.
    #[schema(value_type = String, examples("America/Toronto"))]
    pub time_zone: chrono_tz::Tz,
}

mod hhmm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.format("%H:%M").to_string())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let raw = String::deserialize(d)?;
        NaiveTime::parse_from_str(&raw, "%H:%M").map_err(|_| serde::de::Error::custom("times are HH:MM"))
    }
}

impl QuietHours {
    /// Whether `now` falls in the quiet hours (which may span midnight).
    pub fn is_quiet(&self, now: DateTime<Utc>) -> bool {
        let local = now.with_timezone(&self.time_zone).time();
        if self.start <= self.end {
            local >= self.start && local < self.end
        } else {
            local >= self.start || local < self.end
        }
    }

    /// When the quiet hours that contain `now` end.
    pub fn end_after(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let local = now.with_timezone(&self.time_zone);
        let mut day = local.date_naive();
        if local.time() >= self.end {
            day = day.succ_opt().unwrap_or(day);
        }
        self.time_zone
            .from_local_datetime(&day.and_time(self.end))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now + chrono::Duration::hours(1))
    }
}

/// A user's notification preferences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "RawPreferences", deny_unknown_fields)]
pub struct NotificationPreferences {
    /// In priority order; each channel once. The first that works is used; a permanent
    /// refusal falls back to the next.
    #[schema(max_items = 5)]
    pub channels: Vec<ChannelAddress>,
    /// Only urgent threads notify during these hours; the rest waits for their end.
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPreferences {
    channels: Vec<ChannelAddress>,
    #[serde(default)]
    quiet_hours: Option<QuietHours>,
}

impl TryFrom<RawPreferences> for NotificationPreferences {
    type Error = DomainError;
    fn try_from(raw: RawPreferences) -> Result<Self, DomainError> {
        if raw.channels.len() > MAX_CHANNELS {
            return Err(DomainError::invalid(
                ErrorCode::TooManyChannels,
                format!("at most {MAX_CHANNELS} channels"),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        if !raw.channels.iter().all(|c| seen.insert(c.channel)) {
            return Err(DomainError::invalid(ErrorCode::DuplicateChannel, "each channel may appear once"));
        }
        Ok(Self { channels: raw.channels, quiet_hours: raw.quiet_hours })
    }
}

/// The organization's default channel order for users without preferences of their own
/// ("WhatsApp first" is common); each channel reaches the user at their contact address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "RawDefaults", deny_unknown_fields)]
pub struct NotificationDefaults {
    /// Channel order for users without preferences of their own, at their contact addresses
    /// (phone for SMS and WhatsApp). Default: email, sms.
    #[schema(min_items = 1, max_items = 5)]
    pub default_channels: Vec<Channel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    default_channels: Vec<Channel>,
}

impl TryFrom<RawDefaults> for NotificationDefaults {
    type Error = DomainError;
    fn try_from(raw: RawDefaults) -> Result<Self, DomainError> {
        let mut seen = std::collections::HashSet::new();
        if raw.default_channels.is_empty() || !raw.default_channels.iter().all(|c| seen.insert(*c)) {
            return Err(DomainError::invalid(
                ErrorCode::InvalidChannels,
                "give each channel at most once, at least one",
            ));
        }
        Ok(Self { default_channels: raw.default_channels })
    }
}

impl Default for NotificationDefaults {
    fn default() -> Self {
        Self { default_channels: vec![Channel::Email, Channel::Sms] }
    }
}

impl NotificationDefaults {
    /// The preferences of a user who set none: the org's channel order, at the user's
    /// contact addresses (phone for SMS and WhatsApp, e-mail); channels without an address
    /// are skipped.
    pub fn for_user(&self, user: &crate::User) -> NotificationPreferences {
        let channels = self
            .default_channels
            .iter()
            .filter_map(|c| {
                let address = match c {
                    Channel::Email => user.email.clone(),
                    Channel::Sms | Channel::Whatsapp => user.phone.clone(),
                    Channel::Push | Channel::Telegram => None,
                }?;
                Some(ChannelAddress { channel: *c, address })
            })
            .collect();
        NotificationPreferences { channels, quiet_hours: None }
    }
}

/// One message waiting to be notified to one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingNotification {
    pub message_id: MessageId,
    pub thread_id: ThreadId,
    pub subject: String,
    pub author_name: String,
    pub preview: String,
    pub urgent: bool,
    pub at: DateTime<Utc>,
    /// The category whose consent the message needs from this recipient (a resident, in a
    /// category that is not transactional): its delivery carries that category's
    /// unsubscribe link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_category: Option<String>,
    /// A page (an escalated emergency): sent on every channel the recipient has, at once,
    /// quiet hours and paid-channel caps or not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub page: bool,
}

/// What is sent: a title and a text with links to the threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub title: String,
    pub text: String,
}

/// One message reads as itself; several become one digest, newest last.
pub fn render(pending: &[PendingNotification], app_url: &str) -> Rendered {
    let link = |t: &ThreadId| format!("{app_url}/threads/{t}");
    match pending {
        [one] => Rendered {
            title: format!("{} — {}", one.author_name, one.subject),
            text: format!(
                "{} wrote in \"{}\": {}\n{}",
                one.author_name,
                one.subject,
                one.preview,
                link(&one.thread_id)
            ),
        },
        many => {
            let threads: std::collections::BTreeSet<_> = many.iter().map(|p| p.thread_id).collect();
            let mut text = format!("{} new messages in {} conversation(s):\n", many.len(), threads.len());
            for p in many {
                text.push_str(&format!("- {} in \"{}\": {}\n", p.author_name, p.subject, p.preview));
            }
            for t in &threads {
                text.push_str(&format!("{}\n", link(t)));
            }
            Rendered { title: format!("{} new messages", many.len()), text }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefs(json: &str) -> Result<NotificationPreferences, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn addresses_are_checked_for_their_channel() {
        assert!(prefs(r#"{"channels":[{"channel":"sms","address":"+15145550123"}]}"#).is_ok());
        assert!(prefs(r#"{"channels":[{"channel":"sms","address":"514-555-0123"}]}"#).is_err());
        assert!(prefs(r#"{"channels":[{"channel":"email","address":"a@b"}]}"#).is_err());
        assert!(prefs(r#"{"channels":[{"channel":"email","address":"rita@example.com"}]}"#).is_ok());
        assert!(prefs(r#"{"channels":[{"channel":"telegram","address":"-1001234"}]}"#).is_ok());
        assert!(prefs(r#"{"channels":[{"channel":"pager","address":"1"}]}"#).is_err());
        assert!(prefs(r#"{"channels":[{"channel":"sms","address":"+15145550123"},{"channel":"sms","address":"+15145550124"}]}"#).is_err());
    }

    #[test]
    fn quiet_hours_may_span_midnight_in_the_users_zone() {
        let q: QuietHours =
            serde_json::from_str(r#"{"start":"22:00","end":"07:00","time_zone":"America/Toronto"}"#).unwrap();
        // 03:00 UTC is 22:00 the evening before in Toronto (EST, UTC-5).
        let at = |h, m| Utc.with_ymd_and_hms(2026, 1, 15, h, m, 0).unwrap();
        assert!(q.is_quiet(at(3, 0)));
        assert!(q.is_quiet(at(11, 59)));
        assert!(!q.is_quiet(at(12, 0)));
        assert_eq!(q.end_after(at(3, 0)), at(12, 0));
        assert!(serde_json::from_str::<QuietHours>(r#"{"start":"25:00","end":"07:00","time_zone":"UTC"}"#)
            .is_err());
        assert!(serde_json::from_str::<QuietHours>(
            r#"{"start":"22:00","end":"07:00","time_zone":"Mars/Base"}"#
        )
        .is_err());
    }

    #[test]
    fn the_org_default_order_uses_the_users_contact_addresses() {
        let user = crate::User {
            email: Some("r@example.com".into()),
            phone: Some("+15145550123".into()),
            ..crate::User::sample("r", crate::Role::Resident)
        };
        let d: NotificationDefaults =
            serde_json::from_str(r#"{"default_channels":["whatsapp","push","email"]}"#).unwrap();
        let channels: Vec<_> = d.for_user(&user).channels.into_iter().map(|c| c.channel).collect();
        assert_eq!(channels, [Channel::Whatsapp, Channel::Email], "push has no contact address");
        assert!(serde_json::from_str::<NotificationDefaults>(r#"{"default_channels":[]}"#).is_err());
        assert!(
            serde_json::from_str::<NotificationDefaults>(r#"{"default_channels":["sms","sms"]}"#).is_err()
        );
    }

    #[test]
    fn several_messages_render_as_one_digest() {
        let p = |i: u64, thread: ThreadId| PendingNotification {
            consent_category: None,
            page: false,
            message_id: MessageId::new_at(i),
            thread_id: thread,
            subject: "Leak".into(),
            author_name: "Max".into(),
            preview: format!("update {i}"),
            urgent: false,
            at: Utc::now(),
        };
        let t = ThreadId::new_at(1);
        let one = render(&[p(1, t)], "https://app");
        assert!(one.text.contains("update 1") && one.text.contains("https://app/threads/"));
        let digest = render(&(1..=10).map(|i| p(i, t)).collect::<Vec<_>>(), "https://app");
        assert_eq!(digest.title, "10 new messages");
        assert!(digest.text.contains("update 10"));
    }
}
