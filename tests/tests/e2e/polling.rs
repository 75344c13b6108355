//! Conditional GETs, as the web client's 4-second polls use them: a read carries a strong
//! ETag, the same read with `If-None-Match` is answered 304 without a body until what it
//! reads changes, the check runs only once the caller may see the object, and writes and
//! answers that carry credentials are never tagged or made cacheable.

use reqwest::header::{HeaderMap, CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{error_code, World};

/// What an answer said: its status, headers and body (`Null` when empty).
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn etag(&self) -> &str {
        self.headers.get(ETAG).unwrap_or_else(|| panic!("no ETag: {}", self.status)).to_str().unwrap()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {:?}", self.text))
    }

    fn is_untagged(&self) -> bool {
        self.headers.get(ETAG).is_none()
            && self.headers.get(CACHE_CONTROL).is_none_or(|c| c != "private, no-cache")
    }
}

impl World {
    /// `method path` as `user`, with `If-None-Match: if_none_match` when given.
    async fn conditional(
        &self,
        user: &str,
        method: Method,
        path: &str,
        if_none_match: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.http.request(method, format!("{}{path}", self.url)).bearer_auth(self.token(user));
        if let Some(tags) = if_none_match {
            req = req.header(IF_NONE_MATCH, tags);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request sent");
        let (status, headers) = (resp.status(), resp.headers().clone());
        Answer { status, headers, text: resp.text().await.unwrap() }
    }

    async fn poll(&self, user: &str, path: &str, if_none_match: Option<&str>) -> Answer {
        self.conditional(user, Method::GET, path, if_none_match, None).await
    }

    /// Asserts that `path` as `user` with `If-None-Match: tags` is 304 with `tag`, no body.
    async fn not_modified(&self, user: &str, path: &str, tags: &str, tag: &str) {
        let again = self.poll(user, path, Some(tags)).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path} with {tags}: {}", again.text);
        assert_eq!(again.etag(), tag, "{path}");
        assert_eq!(again.headers[CACHE_CONTROL], "private, no-cache", "{path}");
        assert!(again.text.is_empty(), "{path}: a 304 has no body");
    }
}

#[tokio::test]
async fn a_polled_thread_is_answered_304_until_a_reply_changes_it_then_200_with_a_new_tag() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "maintenance", "Leaking tap", "The kitchen tap drips").await;
    w.events_done(&id).await;
    let (thread, timeline) = (format!("/v1/threads/{id}"), format!("/v1/threads/{id}/messages"));

    let first = w.poll("resident-1", &thread, None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.headers[CACHE_CONTROL], "private, no-cache");
    let tag = first.etag().to_owned();
    assert!(tag.starts_with('"') && tag.ends_with('"'), "a strong tag: {tag}");
    assert_eq!(first.json()["id"], id.as_str());
    // The tag itself, its weak form, or the tag in a list: all the same representation.
    for tags in [tag.clone(), format!("W/{tag}"), format!("\"elsewhere\", {tag}"), "*".to_owned()] {
        w.not_modified("resident-1", &thread, &tags, &tag).await;
    }
    let other_tag = w.poll("resident-1", &thread, Some("\"elsewhere\"")).await;
    assert_eq!((other_tag.status, other_tag.etag()), (StatusCode::OK, tag.as_str()));
    assert_eq!(other_tag.json(), first.json());

    let page = w.poll("resident-1", &timeline, None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let page_tag = page.etag().to_owned();
    w.not_modified("resident-1", &timeline, &page_tag, &page_tag).await;

    let (status, reply) = w
        .post("maint-1", &format!("/v1/threads/{id}/messages"), json!({"body": "The plumber comes at 10."}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    w.events_done(&id).await;

    let changed = w.poll("resident-1", &thread, Some(&tag)).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_ne!(changed.etag(), tag, "the reply changed the thread");
    assert_eq!(changed.json()["status"], "open", "a staff reply opens it");
    let new_tag = changed.etag().to_owned();
    w.not_modified("resident-1", &thread, &new_tag, &new_tag).await;

    let changed = w.poll("resident-1", &timeline, Some(&page_tag)).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_ne!(changed.etag(), page_tag);
    let items = changed.json()["items"].as_array().unwrap().clone();
    assert!(
        items.iter().any(|i| i["id"] == reply["id"] && i["body"] == "The plumber comes at 10."),
        "the new message is in the answer: {items:?}"
    );
}

#[tokio::test]
async fn a_polled_inbox_is_answered_304_until_a_new_message_changes_the_list() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "maintenance", "Leaking tap", "The kitchen tap drips").await;
    w.events_done(&id).await;
    let inbox = "/v1/threads?folder=unread&limit=25";

    let first = w.poll("admin-1", inbox, None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.json()["items"][0]["id"], id.as_str());
    let tag = first.etag().to_owned();
    w.not_modified("admin-1", inbox, &tag, &tag).await;
    // Another list is another representation: its own tag.
    let all = w.poll("admin-1", "/v1/threads?folder=open&limit=25", Some(&tag)).await;
    assert_eq!(all.status, StatusCode::OK);
    assert_ne!(all.etag(), tag);

    let (status, _) =
        w.post("resident-1", &format!("/v1/threads/{id}/messages"), json!({"body": "Now it floods"})).await;
    assert_eq!(status, StatusCode::CREATED);
    w.events_done(&id).await;

    let changed = w.poll("admin-1", inbox, Some(&tag)).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_ne!(changed.etag(), tag, "the new message changed the list");
    assert_eq!(changed.json()["items"][0]["last_message"]["body_preview"], "Now it floods");
    let new_tag = changed.etag().to_owned();
    w.not_modified("admin-1", inbox, &new_tag, &new_tag).await;
}

#[tokio::test]
async fn the_tag_of_a_thread_another_user_cannot_see_still_gets_404() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "billing", "Charged twice", "Invoice 42 twice").await;
    w.events_done(&id).await;
    let mut tags = Vec::new();
    for path in [format!("/v1/threads/{id}"), format!("/v1/threads/{id}/messages")] {
        let own = w.poll("resident-1", &path, None).await;
        assert_eq!(own.status, StatusCode::OK);
        w.not_modified("resident-1", &path, own.etag(), own.etag()).await;
        tags.push((path, own.etag().to_owned()));
    }
    // `*` would match any representation there is: a 404 shows the check never ran.
    for user in ["resident-2", "admin-b"] {
        for (path, tag) in &tags {
            for sent in [tag.as_str(), "*"] {
                let refused = w.poll(user, path, Some(sent)).await;
                assert_eq!(refused.status, StatusCode::NOT_FOUND, "{user} {path} {sent}: {}", refused.text);
                assert_eq!(error_code(&refused.json()), "not_found");
                assert!(refused.is_untagged(), "{user} {path}: {:?}", refused.headers);
            }
        }
    }
}

#[tokio::test]
async fn writes_and_answers_carrying_credentials_or_the_record_are_never_tagged_or_kept() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "maintenance", "Door", "It sticks").await;
    w.events_done(&id).await;
    let tag = w.poll("resident-1", &format!("/v1/threads/{id}"), None).await.etag().to_owned();

    for tags in [tag.as_str(), "*"] {
        let posted = w
            .conditional(
                "resident-1",
                Method::POST,
                &format!("/v1/threads/{id}/messages"),
                Some(tags),
                Some(json!({"body": format!("Still sticks ({tags})")})),
            )
            .await;
        assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.text);
        assert!(posted.is_untagged(), "{:?}", posted.headers);
    }
    let patched = w
        .conditional(
            "admin-1",
            Method::PATCH,
            &format!("/v1/threads/{id}"),
            Some("*"),
            Some(json!({"priority": "urgent"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert!(patched.is_untagged(), "{:?}", patched.headers);

    // A webhook's secret is shown once, in the answer of the POST that made it.
    let made = w
        .conditional(
            "admin-1",
            Method::POST,
            "/v1/webhooks",
            Some("*"),
            Some(json!({"url": "http://127.0.0.1:9/hook", "events": ["thread.created"]})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    assert!(made.json()["secret"].as_str().is_some_and(|s| s.starts_with("whsec_")));
    assert!(made.is_untagged(), "{:?}", made.headers);

    // A presigned download URL is a credential, and an export a copy of the record: no-store.
    let (status, upload) = w
        .post(
            "resident-1",
            "/v1/attachments",
            json!({"file_name": "a.pdf", "content_type": "application/pdf", "size_bytes": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{upload}");
    let export = format!("/v1/threads/{id}/export?format=json");
    let attachment = format!("/v1/attachments/{}", upload["id"].as_str().unwrap());
    for (user, path) in [("resident-1", attachment.as_str()), ("admin-1", export.as_str())] {
        let read = w.poll(user, path, Some("*")).await;
        assert_eq!(read.status, StatusCode::OK, "{path}: {}", read.text);
        assert!(read.headers.get(ETAG).is_none(), "{path}");
        assert_eq!(read.headers[CACHE_CONTROL], "no-store", "{path}");
        assert!(!read.text.is_empty());
    }
}
