//! DynamoDB under load answers BatchGetItem with some keys unprocessed; the emulator never
//! does, so a loopback proxy in front of it plays that part: the store must read them again.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use domain::{AttachmentId, OrgId, UserId};
use serde_json::{json, Value};
use store::{AttachmentRecord, AttachmentStatus, Store};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::support::{stack, World};

/// Serves HTTP/1.1 on loopback, forwards every request to the emulator, and in the first
/// BatchGetItem answer leaves all but one of the items unprocessed. Returns its URL and how
/// many BatchGetItem calls it saw.
async fn throttling_proxy() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let batches = Arc::new(AtomicUsize::new(0));
    let seen = batches.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            let seen = seen.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut read = BufReader::new(read);
                while let Some((target, headers, body)) = request(&mut read).await {
                    let mut forward =
                        reqwest::Client::new().post(format!("{}/", stack().endpoint)).body(body);
                    for (k, v) in &headers {
                        if !["host", "content-length"].contains(&k.as_str()) {
                            forward = forward.header(k, v);
                        }
                    }
                    let answer = forward.send().await.unwrap();
                    let status = answer.status().as_u16();
                    let mut body: Value = answer.json().await.unwrap();
                    if target == "DynamoDB_20120810.BatchGetItem" && seen.fetch_add(1, Ordering::SeqCst) == 0
                    {
                        leave_unprocessed(&mut body);
                    }
                    let text = body.to_string();
                    let head = format!(
                        "HTTP/1.1 {status} OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n",
                        text.len()
                    );
                    if write.write_all(format!("{head}{text}").as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, batches)
}

/// One request: its `x-amz-target`, headers (lower-case names) and body.
async fn request(
    read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> Option<(String, Vec<(String, String)>, Vec<u8>)> {
    let mut line = String::new();
    if read.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        read.read_line(&mut h).await.ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_lowercase(), v.trim().to_owned()));
    }
    let len: usize =
        headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    read.read_exact(&mut body).await.ok()?;
    let target =
        headers.iter().find(|(k, _)| k == "x-amz-target").map(|(_, v)| v.clone()).unwrap_or_default();
    Some((target, headers, body))
}

/// Keeps the first item of each table's answer; the others' keys become UnprocessedKeys.
fn leave_unprocessed(body: &mut Value) {
    let mut unprocessed = serde_json::Map::new();
    for (table, items) in body["Responses"].as_object_mut().unwrap() {
        let items = items.as_array_mut().unwrap();
        let rest: Vec<Value> =
            items.drain(1..).map(|i| json!({"pk": i["pk"].clone(), "sk": i["sk"].clone()})).collect();
        unprocessed.insert(table.clone(), json!({"Keys": rest, "ConsistentRead": true}));
    }
    body["UnprocessedKeys"] = Value::Object(unprocessed);
}

#[tokio::test]
async fn attachments_left_unprocessed_by_a_throttled_batch_read_are_read_again() {
    let w = World::new().await;
    let org = OrgId::parse(&w.org).unwrap();
    let now = chrono::Utc::now();
    let ids: Vec<AttachmentId> = (0..3).map(|i| AttachmentId::new_at(1_700_000_000_000 + i)).collect();
    for id in &ids {
        let record = AttachmentRecord {
            id: *id,
            org: org.clone(),
            uploader: UserId::parse("resident-1").unwrap(),
            file_name: "tap.jpg".into(),
            content_type: domain::attachment::ContentType::Jpeg,
            size_bytes: 10,
            object_key: format!("org/{org}/{id}"),
            status: AttachmentStatus::Pending,
            thread_id: None,
            message_id: None,
            created_at: now,
            archive_at: None,
            internal: false,
            version_id: None,
            sha256: None,
        };
        w.store.create_attachment(&record).await.unwrap();
    }
    let (proxy, batches) = throttling_proxy().await;
    let through_proxy = Store::new(
        aws_sdk_dynamodb::Client::new(&infra::stack::sdk_config(&proxy).await),
        w.store.table().to_owned(),
    );
    let (found, _) = through_proxy.attachments_with_retention(&org, &ids).await.unwrap();
    let mut found: Vec<AttachmentId> = found.iter().map(|a| a.id).collect();
    found.sort();
    assert_eq!(found, ids, "every attachment, the unprocessed ones read again");
    assert!(batches.load(Ordering::SeqCst) >= 2, "a second BatchGetItem for the unprocessed keys");
}
