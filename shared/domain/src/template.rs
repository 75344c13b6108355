//! Saved replies and signatures: template texts with placeholders that the server fills in
//! from the thread when a message is posted, and each staff member's signature.

use serde::{Deserialize, Serialize};

use crate::{DomainError, ErrorCode, MessageBody};

/// The placeholders a template may use, as written between `{{` and `}}`.
pub const PLACEHOLDERS: [&str; 7] = [
    "resident.name",
    "resident.first_name",
    "unit",
    "property",
    "staff.name",
    "linked_record.id",
    "linked_record.label",
];

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_SIGNATURE_CHARS: usize = 500;

/// One piece of a template's text: literal text, or a placeholder with its fallback.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Placeholder { name: &'a str, fallback: Option<&'a str> },
}

/// Splits a template into pieces; an unclosed `{{` or an unknown placeholder is refused.
fn pieces(text: &str) -> Result<Vec<Piece<'_>>, DomainError> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push(Piece::Text(&rest[..start]));
        let inner_start = start + 2;
        let Some(len) = rest[inner_start..].find("}}") else {
            return Err(unknown("a '{{' is not closed by '}}'".to_owned()));
        };
        let inner = &rest[inner_start..inner_start + len];
        let (name, fallback) = match inner.split_once('|') {
            Some((name, fallback)) => (name.trim(), Some(fallback)),
            None => (inner.trim(), None),
        };
        if !PLACEHOLDERS.contains(&name) {
            return Err(unknown(format!(
                "unknown placeholder {{{{{name}}}}}; known: {}",
                PLACEHOLDERS.join(", ")
            )));
        }
        out.push(Piece::Placeholder { name, fallback });
        rest = &rest[inner_start + len + 2..];
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

fn unknown(message: String) -> DomainError {
    DomainError::invalid(ErrorCode::UnknownPlaceholder, message)
}

/// A template's name: one line, 1 to 100 characters.
pub fn template_name(raw: &str) -> Result<String, DomainError> {
    crate::text::single_line(raw, MAX_NAME_CHARS, "name")
}

/// A template's text, as a message body (trimmed, 1 to 5000 characters) whose placeholders
/// are all known.
fn template_text(raw: &str, max: usize, field: &'static str) -> Result<String, DomainError> {
    let text = crate::text::bounded_text(raw, max, field)?;
    pieces(&text)?;
    Ok(text)
}

crate::text::bounded!(TemplateBody, 5000, "body", template_text);

impl TemplateBody {
    /// The text with each placeholder replaced by its value in `context`, or by its
    /// fallback (empty without one) when the thread has no such value.
    pub fn render(&self, context: &Context) -> Result<MessageBody, DomainError> {
        let pieces = pieces(&self.0)?;
        let text: String = pieces
            .into_iter()
            .map(|piece| match piece {
                Piece::Text(text) => text.to_owned(),
                Piece::Placeholder { name, fallback } => context
                    .value(name)
                    .filter(|v| !v.trim().is_empty())
                    .map(str::to_owned)
                    .unwrap_or_else(|| fallback.unwrap_or_default().to_owned()),
            })
            .collect();
        MessageBody::parse(&text)
    }
}

/// What a template's placeholders are filled with: the thread's resident, unit and
/// property, the staff member posting, the linked record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub resident_name: Option<String>,
    pub unit: Option<String>,
    pub property: Option<String>,
    pub staff_name: Option<String>,
    pub linked_record_id: Option<String>,
    pub linked_record_label: Option<String>,
}

impl Context {
    fn value(&self, placeholder: &str) -> Option<&str> {
        match placeholder {
            "resident.name" => self.resident_name.as_deref(),
            "resident.first_name" => self.resident_name.as_deref().and_then(|n| n.split_whitespace().next()),
            "unit" => self.unit.as_deref(),
            "property" => self.property.as_deref(),
            "staff.name" => self.staff_name.as_deref(),
            "linked_record.id" => self.linked_record_id.as_deref(),
            "linked_record.label" => self.linked_record_label.as_deref(),
            _ => None,
        }
    }
}

/// A staff member's signature, added after a blank line to the messages they post to
/// residents (never to internal notes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// At most 500 characters; line breaks allowed. Empty: no signature.
    #[schema(max_length = 500)]
    pub text: String,
    pub enabled: bool,
}

impl Signature {
    /// The signature with its text trimmed and bounded.
    pub fn parse(self) -> Result<Self, DomainError> {
        let text = self.text.trim().to_owned();
        if text.chars().count() > MAX_SIGNATURE_CHARS {
            let message = format!("a signature is at most {MAX_SIGNATURE_CHARS} characters");
            return Err(DomainError::invalid(ErrorCode::TooLong, message));
        }
        if !text.is_empty() {
            MessageBody::parse(&text)?;
        }
        Ok(Self { text, enabled: self.enabled })
    }

    /// `body` with the signature after a blank line, when it is on and not empty.
    pub fn sign(&self, body: MessageBody) -> Result<MessageBody, DomainError> {
        if !self.enabled || self.text.is_empty() {
            return Ok(body);
        }
        MessageBody::parse(&format!("{}\n\n{}", body.as_str(), self.text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Context {
        Context {
            resident_name: Some("Rita Resident".into()),
            unit: Some("101".into()),
            property: None,
            staff_name: Some("Max Maintenance".into()),
            linked_record_id: Some("WO-7".into()),
            linked_record_label: None,
        }
    }

    #[test]
    fn placeholders_are_filled_from_the_thread_or_their_fallback() {
        let body = TemplateBody::parse(
            "Hi {{resident.first_name|there}}, unit {{ unit }} at {{property|your building}}: \
             {{linked_record.id}} {{linked_record.label}}— {{staff.name}}",
        )
        .unwrap();
        assert_eq!(
            body.render(&context()).unwrap().as_str(),
            "Hi Rita, unit 101 at your building: WO-7 — Max Maintenance"
        );
        let nobody = Context::default();
        assert_eq!(
            body.render(&nobody).unwrap().as_str(),
            "Hi there, unit  at your building:  —",
            "no value and no fallback: empty"
        );
    }

    #[test]
    fn unknown_or_unclosed_placeholders_are_refused() {
        for bad in ["Hi {{resident.email}}", "Hi {{resident.name", "{{}}", "{{|x}}"] {
            let e = TemplateBody::parse(bad).unwrap_err();
            assert!(matches!(e, DomainError::Invalid { code: ErrorCode::UnknownPlaceholder, .. }), "{bad}");
        }
        assert!(TemplateBody::parse("Braces { alone } and }} are text").is_ok());
    }

    #[test]
    fn a_template_that_renders_to_nothing_is_refused_when_posted() {
        let body = TemplateBody::parse("{{property}}").unwrap();
        assert!(matches!(
            body.render(&Context::default()),
            Err(DomainError::Invalid { code: ErrorCode::EmptyField, .. })
        ));
    }

    #[test]
    fn a_signature_follows_a_blank_line_when_on() {
        let body = MessageBody::parse("The plumber comes Tuesday.").unwrap();
        let signature = Signature { text: "  Max\nMaintenance  ".into(), enabled: true }.parse().unwrap();
        assert_eq!(
            signature.sign(body.clone()).unwrap().as_str(),
            "The plumber comes Tuesday.\n\nMax\nMaintenance"
        );
        let off = Signature { enabled: false, ..signature.clone() };
        assert_eq!(off.sign(body.clone()).unwrap(), body);
        let long = Signature { text: "x".repeat(501), enabled: true };
        assert!(long.parse().is_err());
    }
}
