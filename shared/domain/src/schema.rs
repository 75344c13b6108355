//! How the domain's scalar wire types look in the API description (OpenAPI): one named
//! schema each, with the same bounds their `parse` enforces, so that generated clients and
//! schemathesis see the rules the edge applies. Structs and enums derive theirs.

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// Characters refused in one-line texts: C0 and C1 controls, line and paragraph separators.
pub const ONE_LINE_PATTERN: &str = r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029]*$";
/// One-line texts that are also parts of keys, so `#` is refused too.
pub const KEY_PART_PATTERN: &str = r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029#]*$";
pub const ULID_PATTERN: &str = "^[0-7][0-9A-HJKMNP-TV-Z]{25}$";
pub const TOPIC_PATTERN: &str = "^[a-z][a-z0-9_]{0,31}$";

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn done(builder: ObjectBuilder) -> RefOr<Schema> {
    RefOr::T(Schema::Object(builder.build()))
}

pub fn ulid() -> RefOr<Schema> {
    done(
        string()
            .pattern(Some(ULID_PATTERN))
            .min_length(Some(26))
            .max_length(Some(26))
            .examples(["01JD3Z8Q4WQ5X2E9V7N6B4K1MT"])
            .description(Some(
                "A ULID (26 characters, Crockford base32, upper case); ids sort by creation time.",
            )),
    )
}

pub fn external_id(what: &str) -> RefOr<Schema> {
    done(
        string()
            .pattern(Some("^[A-Za-z0-9._-]{1,64}$"))
            .min_length(Some(1))
            .max_length(Some(64))
            .examples([format!("{what}-1")])
            .description(Some(format!("The id of a {what}, from the identity provider."))),
    )
}

pub fn topic() -> RefOr<Schema> {
    done(
        string()
            .pattern(Some(TOPIC_PATTERN))
            .examples(["maintenance"])
            .description(Some("A lower-case topic slug.")),
    )
}

pub fn subject(max: usize) -> RefOr<Schema> {
    done(string().min_length(Some(1)).max_length(Some(max)).pattern(Some(ONE_LINE_PATTERN)).description(
        Some(format!(
            "Trimmed; 1 to {max} characters on one line: no control characters (CR, LF, tab…) nor \
             line separators (422 invalid_characters)."
        )),
    ))
}

pub fn message_body(max: usize) -> RefOr<Schema> {
    done(string().min_length(Some(1)).max_length(Some(max)).description(Some(format!(
        "Trimmed; 1 to {max} characters; no control characters except newline, tab and carriage return."
    ))))
}

/// Implements the schema traits of a wire type: its name in `components.schemas` and the
/// schema `$schema` builds.
macro_rules! named_schema {
    ($type:ty, $name:literal, $schema:expr) => {
        impl utoipa::PartialSchema for $type {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $schema
            }
        }
        impl utoipa::ToSchema for $type {
            fn name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }
        }
    };
}
pub(crate) use named_schema;
