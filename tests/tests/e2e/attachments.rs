use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{error_code, eventually, World};

pub(crate) const JPEG: &[u8] =
    &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xFF, 0xD9];
pub(crate) const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
pub(crate) const PDF: &[u8] =
    b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
pub(crate) const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0\0\0\0\0\0\0";

impl World {
    /// Asks for an upload URL; returns the answer.
    pub(crate) async fn new_upload(
        &self,
        user: &str,
        name: &str,
        content_type: &str,
        size: usize,
    ) -> (StatusCode, Value) {
        self.post(
            user,
            "/v1/attachments",
            json!({"file_name": name, "content_type": content_type, "size_bytes": size}),
        )
        .await
    }

    /// Uploads `bytes` through a fresh presigned URL, declared as `content_type`.
    pub(crate) async fn upload(&self, user: &str, name: &str, content_type: &str, bytes: &[u8]) -> String {
        let (status, upload) = self.new_upload(user, name, content_type, bytes.len()).await;
        assert_eq!(status, StatusCode::CREATED, "{upload}");
        self.put_bytes(&upload, bytes).await;
        upload["id"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn put_bytes(&self, upload: &Value, bytes: &[u8]) {
        let mut req = self.http.put(upload["upload_url"].as_str().unwrap()).body(bytes.to_vec());
        for (k, v) in upload["upload_headers"].as_object().unwrap() {
            if k != "content-length" {
                req = req.header(k, v.as_str().unwrap());
            }
        }
        let resp = req.send().await.unwrap();
        assert!(resp.status().is_success(), "upload refused: {}", resp.status());
    }

    pub(crate) async fn attach(&self, user: &str, thread: &str, ids: &[&str]) -> (StatusCode, Value) {
        self.post(
            user,
            &format!("/v1/threads/{thread}/messages"),
            json!({"body": "see attached", "attachment_ids": ids}),
        )
        .await
    }
}

#[tokio::test]
async fn three_attachments_go_up_on_one_message_and_come_back_byte_for_byte_for_participants_only() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "maintenance", "Damage", "Photos attached").await;
    w.routed_to(&id, "maint-1").await;
    let files = [
        ("tap.jpg", "image/jpeg", JPEG),
        ("stain.png", "image/png", PNG),
        ("quote.pdf", "application/pdf", PDF),
    ];
    let mut ids = Vec::new();
    for (name, ctype, bytes) in files {
        ids.push(w.upload("resident-1", name, ctype, bytes).await);
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let (status, msg) = w.attach("resident-1", &id, &refs).await;
    assert_eq!(status, StatusCode::CREATED, "{msg}");
    assert_eq!(msg["attachments"].as_array().unwrap().len(), 3);
    assert_eq!(msg["attachments"][2]["file_name"], "quote.pdf");

    for ((_, ctype, bytes), att) in files.iter().zip(&ids) {
        let (status, meta) = w.get("maint-1", &format!("/v1/attachments/{att}")).await;
        assert_eq!(status, StatusCode::OK, "{meta}");
        assert_eq!(
            (meta["content_type"].as_str(), meta["status"].as_str()),
            (Some(*ctype), Some("attached"))
        );
        let downloaded =
            w.http.get(meta["download_url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(&downloaded[..], *bytes);
        let (status, body) = w.get("resident-2", &format!("/v1/attachments/{att}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.get("download_url").is_none());
    }

    // Stored encrypted with the attachments key.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&infra::stack::sdk_config(&crate::support::stack().endpoint).await)
            .force_path_style(true)
            .build(),
    );
    let head = s3
        .head_object()
        .bucket("attachmentsbucket")
        .key(format!("org/{}/{}", w.org, ids[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(head.server_side_encryption(), Some(&aws_sdk_s3::types::ServerSideEncryption::AwsKms));
    assert!(head.ssekms_key_id().is_some_and(|k| k.contains(":key/")));

    let more: Vec<String> = [JPEG, PNG, PDF, JPEG].iter().enumerate().map(|(i, _)| format!("{i}")).collect();
    let mut four = Vec::new();
    for (i, bytes) in [JPEG, PNG, JPEG, PNG].iter().enumerate() {
        four.push(
            w.upload("resident-1", &more[i], if i % 2 == 0 { "image/jpeg" } else { "image/png" }, bytes)
                .await,
        );
    }
    let refs: Vec<&str> = four.iter().map(String::as_str).collect();
    let (status, body) = w.attach("resident-1", &id, &refs).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "too_many_attachments"));
    // A used attachment cannot go on a second message.
    let (status, body) = w.attach("resident-1", &id, &[&ids[0]]).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "attachment_unavailable"));
}

#[tokio::test]
async fn disguised_mismatched_oversized_and_disallowed_files_are_refused_and_nothing_is_attached() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "general", "Files", "Trying files").await;
    let exe = w.upload("resident-1", "cat.png", "image/png", EXE).await;
    let (status, body) = w.attach("resident-1", &id, &[&exe]).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "attachment_rejected"),
        "an .exe renamed .png"
    );

    let (status, upload) = w.new_upload("resident-1", "short.jpg", "image/jpeg", JPEG.len() + 100).await;
    assert_eq!(status, StatusCode::CREATED);
    w.put_bytes(&upload, JPEG).await;
    let (status, body) = w.attach("resident-1", &id, &[upload["id"].as_str().unwrap()]).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "attachment_rejected"),
        "size differs"
    );

    let (status, upload) = w.new_upload("resident-1", "never.jpg", "image/jpeg", 10).await;
    let (status2, body) = w.attach("resident-1", &id, &[upload["id"].as_str().unwrap()]).await;
    assert_eq!(
        (status, status2, error_code(&body)),
        (StatusCode::CREATED, StatusCode::UNPROCESSABLE_ENTITY, "attachment_not_uploaded")
    );

    let (status, body) = w.new_upload("resident-1", "huge.pdf", "application/pdf", 500 * 1024 * 1024).await;
    assert_eq!((status, error_code(&body)), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
    let (status, body) = w.new_upload("resident-1", "setup.exe", "application/x-msdownload", 1000).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "unsupported_type"));
    let (status, _) = w.new_upload("resident-1", "empty.pdf", "application/pdf", 0).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    assert_eq!(w.messages("resident-1", &id).await.len(), 1, "no message was stored");
    let (_, meta) = w.get("resident-1", &format!("/v1/attachments/{exe}")).await;
    assert_eq!(meta["status"], "pending", "nothing was attached");
}

#[tokio::test]
async fn another_users_attachment_can_be_neither_attached_nor_read() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "general", "Mine", "Hello").await;
    let theirs = w.upload("resident-2", "theirs.jpg", "image/jpeg", JPEG).await;
    let (status, body) = w.attach("resident-1", &id, &[&theirs]).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_attachment"));
    for user in ["resident-1", "admin-1", "admin-b"] {
        let (status, _) = w.get(user, &format!("/v1/attachments/{theirs}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{user}");
    }
    let (status, meta) = w.get("resident-2", &format!("/v1/attachments/{theirs}")).await;
    assert_eq!((status, meta["status"].as_str()), (StatusCode::OK, Some("pending")), "the uploader sees it");
}

/// Query parameters of a URL.
fn query(url: &str) -> std::collections::HashMap<String, String> {
    let parsed = reqwest::Url::parse(url).unwrap();
    parsed.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

#[tokio::test]
async fn every_url_we_issue_carries_its_expiry_signed_type_length_and_encryption() {
    // The emulator does not check presigned signatures; S3 does. So check what we sign.
    let w = World::new().await;
    let (status, upload) = w.new_upload("resident-1", "a.jpg", "image/jpeg", JPEG.len()).await;
    assert_eq!(status, StatusCode::CREATED);
    let q = query(upload["upload_url"].as_str().unwrap());
    assert_eq!(q["X-Amz-Expires"], "300");
    let signed: Vec<&str> = q["X-Amz-SignedHeaders"].split(';').collect();
    for h in [
        "content-length",
        "content-type",
        "host",
        "x-amz-server-side-encryption",
        "x-amz-server-side-encryption-aws-kms-key-id",
    ] {
        assert!(signed.contains(&h), "{h} is not signed: {signed:?}");
    }
    let headers = upload["upload_headers"].as_object().unwrap();
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(headers["content-length"], JPEG.len().to_string().as_str());
    assert_eq!(headers["x-amz-server-side-encryption"], "aws:kms");
    assert!(headers["x-amz-server-side-encryption-aws-kms-key-id"].as_str().unwrap().contains(":key/"));
    assert!(upload["expires_at"].is_string());

    w.put_bytes(&upload, JPEG).await;
    let (_, meta) = w.get("resident-1", &format!("/v1/attachments/{}", upload["id"].as_str().unwrap())).await;
    let q = query(meta["download_url"].as_str().unwrap());
    assert_eq!(q["X-Amz-Expires"], "300");
    assert!(q["response-content-disposition"].contains("a.jpg"));
}

#[tokio::test]
async fn retention_archives_due_attachments_and_leaves_newer_ones() {
    let short = World::new().await;
    let normal = World::new().await;
    let (status, body) = short
        .call(
            "admin-1",
            reqwest::Method::PUT,
            "/v1/settings/retention",
            Some(json!({"attachment_retention_days": 0})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = short
        .call(
            "maint-1",
            reqwest::Method::PUT,
            "/v1/settings/retention",
            Some(json!({"attachment_retention_days": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let mut attached = Vec::new();
    for w in [&short, &normal] {
        let id = w.start_thread("resident-1", "general", "Receipt", "Here").await;
        let att = w.upload("resident-1", "receipt.pdf", "application/pdf", PDF).await;
        assert_eq!(w.attach("resident-1", &id, &[&att]).await.0, StatusCode::CREATED);
        attached.push(att);
    }
    let archived = eventually(45, "the attachment archived", || async {
        let (_, meta) = short.get("resident-1", &format!("/v1/attachments/{}", attached[0])).await;
        (meta["status"] == "archived").then_some(meta)
    })
    .await;
    assert!(archived["download_url"].is_null(), "no download URL once archived");
    assert_eq!(archived["file_name"], "receipt.pdf", "metadata stays");

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&infra::stack::sdk_config(&crate::support::stack().endpoint).await)
            .force_path_style(true)
            .build(),
    );
    let tags = s3
        .get_object_tagging()
        .bucket("attachmentsbucket")
        .key(format!("org/{}/{}", short.org, attached[0]))
        .send()
        .await
        .unwrap();
    assert!(
        tags.tag_set().iter().any(|t| t.key() == "archived" && t.value() == "true"),
        "tagged for the lifecycle rule"
    );

    let (_, meta) = normal.get("resident-1", &format!("/v1/attachments/{}", attached[1])).await;
    assert_eq!(meta["status"], "attached");
    assert!(meta["download_url"].is_string());
}

#[tokio::test]
async fn a_conversation_starts_with_a_photo_taken_once_and_a_refused_start_stores_nothing() {
    use crate::support::read;
    let w = World::new().await;
    let photo = w.upload("resident-1", "leak.jpg", "image/jpeg", JPEG).await;
    let start = |key: &'static str, ids: Vec<String>| {
        w.http
            .post(format!("{}/v1/threads", w.url))
            .bearer_auth(w.token("resident-1"))
            .header("Idempotency-Key", key)
            .json(&json!({"topic": "maintenance", "subject": key, "body": "See the photo", "attachment_ids": ids}))
            .send()
    };
    let (status, thread) = read(start("with-photo", vec![photo.clone()]).await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{thread}");
    let id = thread["id"].as_str().unwrap().to_owned();
    let first = &w.messages("resident-1", &id).await[0];
    assert_eq!(first["attachments"][0]["id"], photo.as_str());
    assert_eq!(first["attachments"][0]["file_name"], "leak.jpg");

    // The staff member it is routed to downloads the very bytes.
    w.routed_to(&id, "maint-1").await;
    let (status, meta) = w.get("maint-1", &format!("/v1/attachments/{photo}")).await;
    assert_eq!((status, meta["status"].as_str()), (StatusCode::OK, Some("attached")), "{meta}");
    let bytes =
        w.http.get(meta["download_url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(&bytes[..], JPEG);

    // A retry of that creation answers the same thread, though its photo is taken now.
    let (status, again) = read(start("with-photo", vec![photo.clone()]).await.unwrap()).await;
    assert_eq!((status, &again["id"]), (StatusCode::CREATED, &thread["id"]), "{again}");

    // The same photo on another conversation, or someone else's upload: refused, nothing stored.
    let before = w.thread_ids("resident-1", "").await;
    let (status, body) = read(start("reused", vec![photo.clone()]).await.unwrap()).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "attachment_unavailable"));
    let theirs = w.upload("resident-2", "theirs.png", "image/png", PNG).await;
    let mine = w.upload("resident-1", "mine.png", "image/png", PNG).await;
    let (status, body) = read(start("theirs", vec![mine.clone(), theirs.clone()]).await.unwrap()).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_attachment"));
    assert_eq!(w.thread_ids("resident-1", "").await, before, "no conversation was started");
    let (_, meta) = w.get("resident-1", &format!("/v1/attachments/{mine}")).await;
    assert_eq!(meta["status"], "pending", "the valid upload was not taken by the refused start");

    // Two starts racing for one upload: one takes it, the other is told it is used.
    let contested = w.upload("resident-1", "race.png", "image/png", PNG).await;
    let (a, b) =
        tokio::join!(start("race-a", vec![contested.clone()]), start("race-b", vec![contested.clone()]));
    let (a, b) = (read(a.unwrap()).await, read(b.unwrap()).await);
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::UNPROCESSABLE_ENTITY], "{} / {}", a.1, b.1);
    let loser = if a.0 == StatusCode::CREATED { &b.1 } else { &a.1 };
    assert_eq!(error_code(loser), "attachment_unavailable");

    // A scheduled conversation takes none.
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let staff_photo = w.upload("admin-1", "plan.png", "image/png", PNG).await;
    let (status, body) = w
        .post(
            "admin-1",
            "/v1/threads",
            json!({"topic": "general", "subject": "Later", "body": "Hi", "resident_id": "resident-1",
                "send_at": later, "attachment_ids": [staff_photo]}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"), "{body}");
}
