//! Bounded text values: subjects, message bodies, topics and linked records.

use serde::{Deserialize, Serialize};

use crate::schema::named_schema;
use crate::{DomainError, ErrorCode};

/// Trims and bounds a user-supplied text: non-empty, at most `max` characters, no control
/// characters other than newlines and tabs.
pub(crate) fn bounded_text(raw: &str, max: usize, field: &'static str) -> Result<String, DomainError> {
    let text = trimmed_within(raw, max, field)?;
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(invalid_characters(field));
    }
    Ok(text.to_owned())
}

/// A text that must stay on one line (a subject becomes an e-mail `Subject:`, a name or a
/// file name a header or a list entry): trimmed, non-empty, at most `max` characters, and
/// no control character at all, nor a Unicode line or paragraph separator.
pub fn single_line(raw: &str, max: usize, field: &str) -> Result<String, DomainError> {
    let text = trimmed_within(raw, max, field)?;
    ensure_one_line(text, field)?;
    Ok(text.to_owned())
}

/// Refuses control characters (CR, LF, tab, NUL, NEL…) and the Unicode line and paragraph
/// separators.
pub fn ensure_one_line(text: &str, field: &str) -> Result<(), DomainError> {
    if text.chars().any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')) {
        return Err(invalid_characters(field));
    }
    Ok(())
}

fn trimmed_within<'a>(raw: &'a str, max: usize, field: &str) -> Result<&'a str, DomainError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(DomainError::invalid(ErrorCode::EmptyField, format!("{field} must not be empty")));
    }
    if text.chars().count() > max {
        return Err(DomainError::invalid(
            ErrorCode::TooLong,
            format!("{field} must be at most {max} characters"),
        ));
    }
    Ok(text)
}

fn invalid_characters(field: &str) -> DomainError {
    DomainError::invalid(
        ErrorCode::InvalidCharacters,
        format!("{field} must not contain control characters or line breaks"),
    )
}

macro_rules! bounded {
    ($name:ident, $max:expr, $field:literal, $check:path) => {
        #[doc = concat!("A ", $field, ": trimmed, non-empty, at most ", stringify!($max), " characters.")]
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;
            pub fn parse(raw: &str) -> Result<Self, DomainError> {
                $check(raw, $max, $field).map(Self)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}

pub(crate) use bounded;

bounded!(Subject, 200, "subject", single_line);
bounded!(MessageBody, 5000, "body", bounded_text);
named_schema!(Subject, "Subject", crate::schema::subject(Subject::MAX_CHARS));
named_schema!(MessageBody, "MessageBody", crate::schema::message_body(MessageBody::MAX_CHARS));
named_schema!(Topic, "Topic", crate::schema::topic());

impl MessageBody {
    /// The first characters of the body, on one line, for inbox rows and notifications.
    pub fn preview(&self) -> String {
        const PREVIEW_CHARS: usize = 140;
        let flat: String = self.0.split_whitespace().collect::<Vec<_>>().join(" ");
        if flat.chars().count() <= PREVIEW_CHARS {
            flat
        } else {
            let cut: String = flat.chars().take(PREVIEW_CHARS - 1).collect();
            format!("{cut}…")
        }
    }
}

/// A conversation topic: a lower-case slug. The built-in topics are always available;
/// organizations may add their own (routing settings).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Topic(String);

impl Topic {
    pub const BUILT_IN: [&'static str; 4] = ["billing", "maintenance", "parking", "general"];

    /// Parses a topic name, case-insensitively ("Maintenance" is `maintenance`).
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let slug = raw.trim().to_ascii_lowercase();
        let ok = (1..=32).contains(&slug.len())
            && slug.starts_with(|c: char| c.is_ascii_lowercase())
            && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(Self(slug))
        } else {
            Err(DomainError::invalid(
                ErrorCode::InvalidTopic,
                "a topic is 1 to 32 characters of letters, digits or '_', starting with a letter",
            ))
        }
    }

    /// Parses a topic and checks that the organization offers it.
    pub fn parse_offered<'a>(
        raw: &str,
        org_topics: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, DomainError> {
        let topic = Self::parse(raw)?;
        let offered =
            Self::BUILT_IN.contains(&topic.as_str()) || org_topics.into_iter().any(|t| t == topic.as_str());
        if offered {
            Ok(topic)
        } else {
            Err(DomainError::invalid(ErrorCode::UnknownTopic, format!("unknown topic '{}'", topic.0)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Topic {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<Topic> for String {
    fn from(t: Topic) -> String {
        t.0
    }
}

/// A record of another system shown inline in a thread: an invoice, a work order, a lease…
/// (422 invalid_linked_record for a bad kind). id and label are one line each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "RawLinkedRecord", deny_unknown_fields)]
pub struct LinkedRecord {
    #[schema(pattern = "^[a-z_]{1,32}$", examples("invoice"))]
    pub kind: String,
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029]*$",
        examples("INV-42")
    )]
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029]*$",
        examples("March rent")
    )]
    pub label: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLinkedRecord {
    kind: String,
    id: String,
    label: Option<String>,
}

impl TryFrom<RawLinkedRecord> for LinkedRecord {
    type Error = DomainError;
    fn try_from(raw: RawLinkedRecord) -> Result<Self, Self::Error> {
        let kind_ok = (1..=32).contains(&raw.kind.len())
            && raw.kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        if !kind_ok {
            return Err(DomainError::invalid(
                ErrorCode::InvalidLinkedRecord,
                "linked_record.kind is a lower-case word such as invoice, work_order or lease",
            ));
        }
        let id = single_line(&raw.id, 128, "linked_record.id")?;
        let label = raw.label.map(|l| single_line(&l, 200, "linked_record.label")).transpose()?;
        Ok(Self { kind: raw.kind, id, label })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn subject_is_trimmed_and_bounded() {
        assert_eq!(Subject::parse("  Leak  ").unwrap().as_str(), "Leak");
        assert_eq!(
            Subject::parse("   ").unwrap_err(),
            DomainError::invalid(ErrorCode::EmptyField, "subject must not be empty")
        );
        assert!(Subject::parse(&"x".repeat(200)).is_ok());
        assert!(matches!(
            Subject::parse(&"x".repeat(201)),
            Err(DomainError::Invalid { code: ErrorCode::TooLong, .. })
        ));
    }

    #[test]
    fn one_line_texts_refuse_every_line_break_and_control_character() {
        for bad in [
            "Leak\r\nBcc: all@example.com",
            "Leak\nX",
            "Leak\rX",
            "tab\there",
            "nul\0",
            "nel\u{85}x",
            "ls\u{2028}x",
        ] {
            assert!(
                matches!(
                    Subject::parse(bad),
                    Err(DomainError::Invalid { code: ErrorCode::InvalidCharacters, .. })
                ),
                "{bad:?} was accepted"
            );
            let record = serde_json::json!({"kind": "invoice", "id": "INV-1", "label": bad});
            assert!(serde_json::from_value::<LinkedRecord>(record).is_err(), "label {bad:?} was accepted");
        }
        assert_eq!(Subject::parse("  Café – 3e étage  ").unwrap().as_str(), "Café – 3e étage");
    }

    #[test]
    fn bodies_refuse_control_characters_but_keep_newlines() {
        assert!(MessageBody::parse("line one\nline two").is_ok());
        assert!(MessageBody::parse("bell\u{7}").is_err());
    }

    #[test]
    fn preview_is_one_short_line() {
        let body = MessageBody::parse(&format!("a\n\nb {}", "word ".repeat(100))).unwrap();
        let preview = body.preview();
        assert!(preview.starts_with("a b word"));
        assert_eq!(preview.chars().count(), 140);
        assert!(!preview.contains('\n'));
    }

    #[test]
    fn topics_are_case_insensitive_and_must_be_offered() {
        assert_eq!(Topic::parse_offered("Maintenance", []).unwrap().as_str(), "maintenance");
        assert!(matches!(
            Topic::parse_offered("pool", []),
            Err(DomainError::Invalid { code: ErrorCode::UnknownTopic, .. })
        ));
        assert_eq!(Topic::parse_offered("pool", ["pool"]).unwrap().as_str(), "pool");
        assert!(Topic::parse("9lives").is_err());
    }

    #[test]
    fn linked_record_is_validated_when_deserialized() {
        let ok: LinkedRecord =
            serde_json::from_str(r#"{"kind":"invoice","id":"INV-42","label":"March rent"}"#).unwrap();
        assert_eq!(ok.id, "INV-42");
        assert!(serde_json::from_str::<LinkedRecord>(r#"{"kind":"Invoice!","id":"1"}"#).is_err());
        assert!(serde_json::from_str::<LinkedRecord>(r#"{"kind":"invoice","id":""}"#).is_err());
        assert!(serde_json::from_str::<LinkedRecord>(r#"{"kind":"invoice","id":"1","extra":1}"#).is_err());
    }

    proptest! {
        #[test]
        fn any_accepted_body_is_trimmed_nonempty_and_within_bounds(s in "\\PC{0,6000}") {
            if let Ok(body) = MessageBody::parse(&s) {
                prop_assert!(!body.as_str().is_empty());
                prop_assert!(body.as_str().chars().count() <= MessageBody::MAX_CHARS);
                prop_assert_eq!(body.as_str(), body.as_str().trim());
            }
        }

        #[test]
        fn any_accepted_topic_is_a_safe_slug(s in ".{0,40}") {
            if let Ok(t) = Topic::parse(&s) {
                prop_assert!(t.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
            }
        }
    }
}
