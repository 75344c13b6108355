//! Conditional GETs (RFC 9110 §8.8.3, §13.1.2), so that polling is cheap on the wire: every
//! successful JSON read gets a strong `ETag` (a hash of the body's bytes) and
//! `Cache-Control: private, no-cache` (the browser may keep it, but asks every time); a GET
//! whose `If-None-Match` names the current tag is answered `304 Not Modified` without a body,
//! and the browser's fetch hands its script the body it kept.
//!
//! The rule runs on the handler's answer, so after authorization: a caller who may not see a
//! thread gets its 404 whatever tag they send, and a tag only ever matches the bytes this
//! caller would have been sent. The server still reads what it reads to compute the answer;
//! what a 304 saves is the transfer and the client's parsing. Left as they are: other
//! methods, other statuses (errors, 303 redirects), bodies that are not JSON, and answers
//! that set their own `Cache-Control` (`no-store` on what carries a credential or a record's
//! copy: presigned URLs, exports, the public links).

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// What a revalidated answer allows: kept by the user's browser only, and checked with the
/// server before every use.
pub const REVALIDATE: &str = "private, no-cache";

/// What an answer that must never be kept says (the rule then leaves it alone).
pub const NO_STORE: &str = "no-store";

/// The header of an answer that carries a credential or a record's copy: never kept by
/// the browser, never revalidated.
pub const NEVER_KEPT: [(axum::http::HeaderName, &str); 1] = [(CACHE_CONTROL, NO_STORE)];

/// Bodies larger than this are passed on unhashed (a Lambda function cannot answer 6 MB
/// anyway; the API's pages are far smaller).
const MAX_HASHED: u64 = 6 * 1024 * 1024;

/// The middleware: tags successful JSON reads and answers 304 to a matching `If-None-Match`.
pub async fn revalidate(req: Request, next: Next) -> Response {
    if req.method() != Method::GET {
        return next.run(req).await;
    }
    let if_none_match: Vec<HeaderValue> = req.headers().get_all(IF_NONE_MATCH).iter().cloned().collect();
    let response = next.run(req).await;
    if !taggable(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_HASHED as usize).await {
        Ok(bytes) => bytes,
        Err(error) => {
            // A body that fails while being read would have failed on its way out too.
            tracing::error!(error = %error, "reading a response body to tag it");
            return crate::error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                domain::ErrorCode::Internal,
                "internal error",
            );
        }
    };
    let tag = entity_tag(&bytes);
    let validators = [(ETAG, tag.clone()), (CACHE_CONTROL, HeaderValue::from_static(REVALIDATE))];
    if matches_none_match(&if_none_match, &tag) {
        // RFC 9110 §15.4.5: the fields a 200 would have carried that guide the cache, no body.
        let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
        let headers = not_modified.headers_mut();
        headers.extend(validators);
        if let Some(vary) = parts.headers.get(VARY) {
            headers.insert(VARY, vary.clone());
        }
        return not_modified;
    }
    parts.headers.extend(validators);
    Response::from_parts(parts, Body::from(bytes))
}

/// A 200 with a JSON body of bounded size that sets no caching or validator of its own.
fn taggable(response: &Response) -> bool {
    let headers = response.headers();
    response.status() == StatusCode::OK
        && is_json(headers)
        && !headers.contains_key(CACHE_CONTROL)
        && !headers.contains_key(ETAG)
        && response.body().size_hint().upper().is_some_and(|n| n <= MAX_HASHED)
}

fn is_json(headers: &HeaderMap) -> bool {
    let essence = |v: &HeaderValue| {
        let v = v.to_str().unwrap_or_default();
        v.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/json")
    };
    headers.get(CONTENT_TYPE).is_some_and(essence)
}

/// The strong entity tag of a body: its SHA-256, base64url, quoted.
pub fn entity_tag(body: &[u8]) -> HeaderValue {
    let tag = format!("\"{}\"", URL_SAFE_NO_PAD.encode(Sha256::digest(body)));
    HeaderValue::from_str(&tag).expect("base64url is a valid header value")
}

/// Whether `If-None-Match` (every field line of it) names the current representation, whose
/// tag is `current`: `*`, or a listed tag equal to it by the weak comparison GET uses
/// (RFC 9110 §13.1.2: `W/"x"` and `"x"` match). A malformed list matches nothing from the
/// point where it stops parsing.
pub fn matches_none_match(field_lines: &[HeaderValue], current: &HeaderValue) -> bool {
    let current = opaque(current.as_bytes());
    field_lines.iter().any(|line| listed(line.as_bytes()).any(|tag| tag == b"*" || Some(tag) == current))
}

/// The opaque part (quotes included) of one entity tag, weak or strong.
fn opaque(tag: &[u8]) -> Option<&[u8]> {
    let tag = tag.strip_prefix(b"W/").unwrap_or(tag);
    (tag.len() >= 2 && tag[0] == b'"' && tag[tag.len() - 1] == b'"' && !tag[1..tag.len() - 1].contains(&b'"'))
        .then_some(tag)
}

/// The elements of one `If-None-Match` field line: `*` or each tag's opaque part. Commas may
/// stand inside a tag's quotes, so the list is read quote by quote, not split on commas.
fn listed(mut rest: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        rest = rest.trim_ascii_start();
        while let Some(after) = rest.strip_prefix(b",") {
            rest = after.trim_ascii_start();
        }
        if rest.is_empty() {
            return None;
        }
        if let Some(after) = rest.strip_prefix(b"*") {
            rest = after;
            return Some(&b"*"[..]);
        }
        let start = rest.strip_prefix(b"W/").unwrap_or(rest);
        let end =
            (start.first() == Some(&b'"')).then(|| start[1..].iter().position(|&b| b == b'"')).flatten();
        let Some(end) = end else {
            rest = &[];
            return None;
        };
        let (tag, after) = start.split_at(end + 2);
        let after = after.trim_ascii_start();
        if !(after.is_empty() || after.starts_with(b",")) {
            rest = &[];
            return None;
        }
        rest = after;
        Some(tag)
    })
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{header, HeaderValue, Request, StatusCode};
    use axum::response::{IntoResponse, Redirect};
    use axum::routing::get;
    use axum::{Json, Router};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::{entity_tag, matches_none_match, revalidate};

    fn lines(values: &[&str]) -> Vec<HeaderValue> {
        values.iter().map(|v| HeaderValue::from_str(v).unwrap()).collect()
    }

    #[test]
    fn if_none_match_matches_a_listed_tag_star_and_weak_forms_of_the_current_tag() {
        let current = HeaderValue::from_static("\"abc\"");
        let matching = [
            vec!["\"abc\""],
            vec!["W/\"abc\""],
            vec!["*"],
            vec![" * "],
            vec!["\"x\", \"abc\""],
            vec!["\"x\",W/\"abc\" , \"y\""],
            vec![",, \"abc\","],
            vec!["\"x\"", "\"abc\""],
            vec!["\"a,b\", \"abc\""],
        ];
        for values in matching {
            assert!(matches_none_match(&lines(&values), &current), "{values:?}");
        }
        let missing = [
            vec![],
            vec![""],
            vec!["\"abcd\""],
            vec!["abc"],
            vec!["w/\"abc\""],
            vec!["\"ab\" \"abc\""],
            vec!["\"x, \"abc\""],
            vec!["W/ \"abc\""],
            vec!["\"a,b\""],
        ];
        for values in missing {
            assert!(!matches_none_match(&lines(&values), &current), "{values:?}");
        }
        let weak_current = HeaderValue::from_static("W/\"abc\"");
        assert!(matches_none_match(&lines(&["\"abc\""]), &weak_current));
    }

    #[test]
    fn the_tag_is_strong_and_names_the_bytes() {
        let tag = entity_tag(b"{}");
        let text = tag.to_str().unwrap();
        assert!(text.starts_with('"') && text.ends_with('"') && !text.starts_with("W/"));
        assert_eq!(text.len(), 45, "SHA-256 in base64url, quoted");
        assert_eq!(entity_tag(b"{}"), tag);
        assert_ne!(entity_tag(b"{ }"), tag);
    }

    fn app() -> Router {
        Router::new()
            .route("/json", get(|| async { Json(serde_json::json!({"a": 1})) }).post(|| async { Json(1) }))
            .route("/missing", get(|| async { (StatusCode::NOT_FOUND, Json(serde_json::json!({}))) }))
            .route("/created", get(|| async { (StatusCode::CREATED, Json(1)) }))
            .route("/text", get(|| async { "plain" }))
            .route("/redirect", get(|| async { Redirect::to("https://example.com/x") }))
            .route(
                "/secret",
                get(|| async { ([(header::CACHE_CONTROL, super::NO_STORE)], Json(1)).into_response() }),
            )
            .layer(axum::middleware::from_fn(revalidate))
    }

    async fn call(method: &str, path: &str, if_none_match: Option<&str>) -> axum::response::Response {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(tag) = if_none_match {
            req = req.header(header::IF_NONE_MATCH, tag);
        }
        app().oneshot(req.body(Body::empty()).unwrap()).await.unwrap()
    }

    async fn body(response: axum::response::Response) -> Vec<u8> {
        response.into_body().collect().await.unwrap().to_bytes().to_vec()
    }

    #[tokio::test]
    async fn a_json_read_is_tagged_and_a_matching_revalidation_is_answered_304_without_a_body() {
        let first = call("GET", "/json", None).await;
        assert_eq!(first.status(), StatusCode::OK);
        let tag = first.headers()[header::ETAG].clone();
        assert_eq!(first.headers()[header::CACHE_CONTROL], "private, no-cache");
        assert_eq!(tag, entity_tag(&body(first).await));

        let again = call("GET", "/json", Some(tag.to_str().unwrap())).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()[header::ETAG], tag);
        assert_eq!(again.headers()[header::CACHE_CONTROL], "private, no-cache");
        assert!(again.headers().get(header::CONTENT_TYPE).is_none());
        assert!(body(again).await.is_empty());

        let stale = call("GET", "/json", Some("\"older\"")).await;
        assert_eq!(stale.status(), StatusCode::OK);
        assert_eq!(stale.headers()[header::ETAG], tag);
        assert_eq!(body(stale).await, br#"{"a":1}"#);
    }

    #[tokio::test]
    async fn writes_errors_redirects_other_bodies_and_own_caching_are_left_alone() {
        for (method, path, status) in [
            ("POST", "/json", StatusCode::OK),
            ("GET", "/missing", StatusCode::NOT_FOUND),
            ("GET", "/created", StatusCode::CREATED),
            ("GET", "/text", StatusCode::OK),
            ("GET", "/redirect", StatusCode::SEE_OTHER),
            ("GET", "/secret", StatusCode::OK),
        ] {
            let response = call(method, path, Some("*")).await;
            assert_eq!(response.status(), status, "{method} {path}");
            assert!(response.headers().get(header::ETAG).is_none(), "{method} {path}");
            let caching = response.headers().get(header::CACHE_CONTROL);
            assert!(caching.is_none_or(|c| c == "no-store"), "{method} {path}");
            if status == StatusCode::SEE_OTHER {
                assert_eq!(response.headers()[header::LOCATION], "https://example.com/x");
            } else {
                assert!(!body(response).await.is_empty(), "{method} {path}");
            }
        }
    }
}
