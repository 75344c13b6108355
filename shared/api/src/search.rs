//! Search over the conversations the caller may see: words of subjects, message bodies
//! and residents' names, with filters; what is found is in `app::search`.

use std::collections::HashMap;

use app::search::{self, SearchItem};
use axum::extract::State;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::{DomainError, ErrorCode, MessageId, ThreadId, Topic, UserId};
use serde::Serialize;
use store::{ResidentRef, StoreError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::ListParams;
use crate::{Actor, ApiError, AppState};

/// The longest `q`, and the most words in it.
const MAX_QUERY_CHARS: usize = 200;
const MAX_QUERY_WORDS: usize = 10;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search_messages))
}

/// A message found, with its thread.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SearchHit {
    thread_id: ThreadId,
    message_id: MessageId,
    subject: String,
    /// Up to 160 characters of the message around the first word that matched, on one
    /// line; `…` marks what was cut.
    snippet: String,
    author_id: UserId,
    at: DateTime<Utc>,
    resident: ResidentRef,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SearchPage {
    items: Vec<SearchHit>,
    /// Pass as `cursor` for the next page; null on the last page. A page may hold fewer
    /// than `limit` items and still have a next one.
    next_cursor: Option<String>,
}

/// Search messages
///
/// Messages whose thread subject, body or resident's name hold every word of `q`
/// (case- and accent-insensitive; the last word matches as a prefix unless `q` ends with a
/// space), within the filters, newest first. Residents search their own conversations
/// (never internal notes), staff the threads they take part in, facility admins every
/// thread of the organization. New messages are found within seconds. `q` or a filter is
/// required (422 invalid_query).
#[utoipa::path(get, path = "/v1/search", tag = "search", operation_id = "search",
    params(
        ("q" = Option<String>, Query, description = "Words to find, at most 200 characters and 10 words (422 invalid_query)."),
        ("from" = Option<String>, Query, description = "Messages from this time (RFC 3339) or day (YYYY-MM-DD, from its start, UTC) on."),
        ("to" = Option<String>, Query, description = "Messages up to this time, or to the end of this day (UTC)."),
        ("resident_id" = Option<String>, Query, description = "Only the conversations of this resident."),
        ("unit" = Option<String>, Query, description = "Only conversations of residents of this unit (at most 64 characters)."),
        ("property_id" = Option<String>, Query, description = "Only conversations of residents of this property (at most 64 characters)."),
        ("topic" = Option<String>, Query, description = "Only threads of this topic (422 invalid_topic otherwise)."),
        ListParams,
    ),
    responses((status = 200, description = "A page of messages found.", body = SearchPage)))]
async fn search_messages(
    State(app): State<AppState>,
    Actor(actor): Actor,
    params: ListParams,
) -> Result<Json<SearchPage>, ApiError> {
    let query = parse(&params)?;
    let page = search::search(&app, &actor, query).await?;
    Ok(Json(SearchPage {
        items: page.items.into_iter().map(hit).collect(),
        next_cursor: page.next.map(|id| URL_SAFE_NO_PAD.encode(id.to_string())),
    }))
}

fn hit(item: SearchItem) -> SearchHit {
    SearchHit {
        thread_id: item.thread_id,
        message_id: item.message_id,
        subject: item.subject,
        snippet: item.snippet,
        author_id: item.author_id,
        at: item.at,
        resident: item.resident,
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    DomainError::invalid(ErrorCode::InvalidQuery, message).into()
}

fn parse(params: &ListParams) -> Result<::search::IndexQuery, ApiError> {
    let value = |name: &str| params.rest.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    // Not trimmed: a trailing space says the last word is finished (no prefix).
    let text = params.rest.get("q").filter(|v| !v.trim().is_empty()).cloned();
    if let Some(q) = &text {
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(invalid(format!("q is at most {MAX_QUERY_CHARS} characters")));
        }
        let (exact, prefix) = ::search::query_words(q);
        let words = exact.len() + usize::from(prefix.is_some());
        if words == 0 {
            return Err(invalid("q holds no word (letters or digits)"));
        }
        if words > MAX_QUERY_WORDS {
            return Err(invalid(format!("q is at most {MAX_QUERY_WORDS} words")));
        }
    }
    let from = value("from").map(|v| time(v, false)).transpose()?;
    let to = value("to").map(|v| time(v, true)).transpose()?;
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(invalid("from is after to"));
        }
    }
    let before = params.cursor.as_ref().map(|c| cursor(c.as_str())).transpose()?;
    let query = ::search::IndexQuery {
        text,
        from_ms: from.map(millis),
        to_ms: to.map(millis),
        resident_id: value("resident_id").map(UserId::parse).transpose()?,
        unit: short(&params.rest, "unit")?,
        property_id: short(&params.rest, "property_id")?,
        topic: value("topic").map(|t| Topic::parse(t).map(|t| t.as_str().to_owned())).transpose()?,
        before,
        limit: params.limit as usize,
    };
    let filtered = query.text.is_some()
        || query.from_ms.is_some()
        || query.to_ms.is_some()
        || query.resident_id.is_some()
        || query.unit.is_some()
        || query.property_id.is_some()
        || query.topic.is_some();
    if !filtered {
        return Err(invalid("give q or a filter (from, to, resident_id, unit, property_id, topic)"));
    }
    Ok(query)
}

/// An exact value compared as it is: bounded, no control characters.
pub(crate) fn short(rest: &HashMap<String, String>, name: &str) -> Result<Option<String>, ApiError> {
    let Some(v) = rest.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) else { return Ok(None) };
    if v.chars().count() > 64 || v.chars().any(char::is_control) {
        return Err(invalid(format!("{name} is at most 64 characters")));
    }
    Ok(Some(v.to_owned()))
}

/// A time, or a day: its first millisecond, or with `end_of_day` its last.
pub(crate) fn time(v: &str, end_of_day: bool) -> Result<DateTime<Utc>, ApiError> {
    let wrong = || invalid("from and to are RFC 3339 times or YYYY-MM-DD days, from 1970 to 9999");
    let t = match DateTime::parse_from_rfc3339(v) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => {
            let day = NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| wrong())?;
            let start = day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
            if end_of_day {
                start + chrono::Duration::days(1) - chrono::Duration::milliseconds(1)
            } else {
                start
            }
        }
    };
    // Times are ranks of the index (milliseconds, shifted): bounded to years that fit.
    if !(1970..=9999).contains(&t.year()) {
        return Err(wrong());
    }
    Ok(t)
}

fn millis(t: DateTime<Utc>) -> u64 {
    u64::try_from(t.timestamp_millis()).unwrap_or(0)
}

fn cursor(raw: &str) -> Result<MessageId, ApiError> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| app::Error::from(StoreError::BadCursor))?;
    let id = String::from_utf8(bytes).map_err(|_| app::Error::from(StoreError::BadCursor))?;
    MessageId::parse(&id).map_err(|_| app::Error::from(StoreError::BadCursor).into())
}
