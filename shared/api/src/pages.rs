//! The few pages the API serves itself: what a resident sees on opening a consent or
//! unsubscribe link in a browser (which asks for `text/html`), in English and French. Every
//! value shown is escaped; the page loads nothing and may post only to itself.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

/// Whether the client asked for a page rather than JSON (a browser following a link): it
/// accepts `text/html` and does not name JSON.
pub fn wants_html(headers: &HeaderMap) -> bool {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let accept = accept.to_ascii_lowercase();
    accept.contains("text/html") && !accept.contains("application/json")
}

/// What the links answer, page or JSON: it depends on `Accept` and on a person's token, so
/// no cache keeps it or serves one kind for the other.
pub fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An error as a browser is shown it: a page with the same status.
pub fn error_page(status: axum::http::StatusCode) -> Response {
    let body = if status == axum::http::StatusCode::NOT_FOUND {
        "<h1>This link is no longer valid</h1><p>It may have expired or been mistyped.</p>\
         <p lang=\"fr\">Ce lien n’est plus valide&#8239;: il a peut-être expiré ou été mal copié.</p>"
    } else {
        "<h1>Something went wrong</h1><p>Please try again in a moment.</p>\
         <p lang=\"fr\">Une erreur est survenue&#8239;; veuillez réessayer dans un instant.</p>"
    };
    let mut response = page("Link", body);
    *response.status_mut() = status;
    response
}

/// `text` safe inside HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page: `title` and `body` (HTML, values already escaped), in both languages.
pub fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font:1.1rem/1.5 system-ui,sans-serif;max-width:36rem;\
         margin:2rem auto;padding:0 1rem;color:#1a1a1a}}button{{font:inherit;padding:.5rem 1rem;\
         margin:.25rem .5rem .25rem 0;border:2px solid #1a1a1a;border-radius:.4rem;background:#fff;\
         cursor:pointer}}button:focus{{outline:3px solid #1d4ed8}}</style></head>\
         <body><main>{body}</main></body></html>"
    );
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    private(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_browsers_get_pages() {
        assert_eq!(escape("<b onclick=\"x\">&'"), "&lt;b onclick=&quot;x&quot;&gt;&amp;&#39;");
        let mut headers = HeaderMap::new();
        assert!(!wants_html(&headers));
        headers.insert(header::ACCEPT, HeaderValue::from_static("text/html,application/xhtml+xml,*/*;q=0.8"));
        assert!(wants_html(&headers));
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json, text/html;q=0.1"));
        assert!(!wants_html(&headers), "JSON named: JSON");
        let response = page("t", "b");
        assert!(response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("default-src 'none'"));
    }
}
