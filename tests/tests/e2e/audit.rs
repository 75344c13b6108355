//! The record: every change of a thread chained, exports that verify, and any edit of an
//! export caught with the entry it touched.

use domain::audit::{ChainEntry, ChainHead, Export, ExportItem};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{error_code, eventually, StorePost, World};

/// A thread with a message of each kind and every staff change: its id.
async fn busy_thread(w: &World) -> String {
    let id = w.start_thread("resident-1", "maintenance", "Kitchen leak", "The kitchen pipe leaks").await;
    let messages = format!("/v1/threads/{id}/messages");
    let (status, _) = w.post("admin-1", &messages, json!({"body": "A plumber comes Tuesday"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) =
        w.post("admin-1", &messages, json!({"body": "Tenant owes 3 months", "internal": true})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = w
        .post("admin-1", &format!("/v1/threads/{id}/participants"), json!({"user_id": "bookkeeper-1"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let change = json!({"status": "resolved", "priority": "urgent",
        "linked_record": {"kind": "work_order", "id": "WO-77"}});
    let (status, body) = w.patch("admin-1", &format!("/v1/threads/{id}"), change).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

async fn chain(w: &World, id: &str) -> Vec<Value> {
    let (status, page) = w.get("admin-1", &format!("/v1/threads/{id}/audit?limit=100")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

async fn export(w: &World, id: &str, include_internal: bool) -> Export {
    let path = format!("/v1/threads/{id}/export?format=json&include_internal={include_internal}");
    let (status, body) = w.get("admin-1", &path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).unwrap()
}

async fn verify(w: &World, export: &Export) -> Value {
    let (status, verdict) =
        w.post("admin-1", "/v1/audit/verify", serde_json::to_value(export).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{verdict}");
    verdict
}

fn message_index(export: &Export, body: &str) -> usize {
    export.timeline.iter().position(|i| matches!(i, ExportItem::Message(m) if m.body == body)).unwrap()
}

fn seq_of(export: &Export, index: usize) -> u64 {
    let id = match &export.timeline[index] {
        ExportItem::Message(m) => &m.id,
        ExportItem::Event(e) => &e.id,
    };
    export.chain.iter().find(|e| &e.source_id == id).unwrap().seq
}

#[tokio::test]
async fn every_change_is_chained_and_the_export_verifies_with_and_without_internal_notes() {
    let w = World::new().await;
    let id = busy_thread(&w).await;
    // The chain is appended off the request path; reading it catches it up.
    let entries = chain(&w, &id).await;
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions[0], "thread_opened");
    for wanted in [
        "message_posted",
        "note_posted",
        "participant_joined",
        "status_changed",
        "priority_changed",
        "linked_record_changed",
    ] {
        assert!(actions.contains(&wanted), "{wanted} missing from {actions:?}");
    }
    assert_eq!(actions.iter().filter(|a| **a == "message_posted").count(), 2);
    for (i, entry) in entries.iter().enumerate() {
        assert_eq!(entry["seq"], i as u64 + 1);
        if i > 0 {
            assert_eq!(entry["prev_hash"], entries[i - 1]["hash"], "entry {i} links to the one before");
        }
    }
    let link = entries.iter().find(|e| e["action"] == "linked_record_changed").unwrap();
    assert_eq!(link["data"]["linked_record"]["id"], "WO-77");
    assert_eq!(link["actor_id"], "admin-1");

    let full = export(&w, &id, true).await;
    assert_eq!(full.chain.len(), entries.len(), "the export holds the whole chain");
    assert_eq!(
        full.head,
        Some(ChainHead {
            seq: entries.len() as u64,
            hash: entries.last().unwrap()["hash"].as_str().unwrap().into()
        })
    );
    let verdict = verify(&w, &full).await;
    assert_eq!(verdict["valid"], true, "{verdict}");
    assert_eq!(verdict["matches_record"], true, "{verdict}");

    let public = export(&w, &id, false).await;
    let text = serde_json::to_string(&public).unwrap();
    assert!(!text.contains("owes"), "an internal note leaked into an export without them");
    let note = public.chain.iter().find(|e| e.action == domain::audit::Action::NOTE_POSTED).unwrap();
    assert!(note.data.is_none(), "the note's entry is there, withheld");
    let verdict = verify(&w, &public).await;
    assert_eq!(verdict["valid"], true, "{verdict}");
    assert_eq!(verdict["matches_record"], true, "{verdict}");
}

#[tokio::test]
async fn any_edit_of_an_export_fails_and_names_the_entry() {
    let w = World::new().await;
    let id = busy_thread(&w).await;
    let original = export(&w, &id, true).await;
    let plumber = message_index(&original, "A plumber comes Tuesday");
    let plumber_seq = seq_of(&original, plumber);

    // A word changed.
    let mut edited = original.clone();
    let ExportItem::Message(m) = &mut edited.timeline[plumber] else { unreachable!() };
    m.body = "A plumber comes Friday".into();
    let verdict = verify(&w, &edited).await;
    assert_eq!(verdict["valid"], false);
    assert_eq!(verdict["first_bad_seq"], plumber_seq);

    // A message removed from the transcript.
    let mut edited = original.clone();
    edited.timeline.remove(plumber);
    let verdict = verify(&w, &edited).await;
    assert_eq!(
        (verdict["valid"].clone(), verdict["first_bad_seq"].clone()),
        (json!(false), json!(plumber_seq))
    );

    // Two entries swapped, or one removed, from the chain.
    let mut edited = original.clone();
    edited.chain.swap(1, 2);
    assert_eq!(verify(&w, &edited).await["first_bad_seq"], 2);
    let mut edited = original.clone();
    edited.chain.remove(2);
    assert_eq!(verify(&w, &edited).await["first_bad_seq"], 3);

    // Two messages reordered in the transcript.
    let mut edited = original.clone();
    edited.timeline.swap(0, 1);
    assert_eq!(verify(&w, &edited).await["first_bad_seq"], seq_of(&original, 0));

    // A forger who rehashes the whole chain after the edit makes it consistent on its own,
    // but not the chain on record.
    let mut forged = original.clone();
    let ExportItem::Message(m) = &mut forged.timeline[plumber] else { unreachable!() };
    m.body = "No plumber is coming".into();
    let mut chain = vec![forged.chain[0].clone()];
    for (i, item) in forged.timeline.iter().enumerate() {
        let last = chain.last().unwrap();
        // The salts are in the export: the forger has them.
        let salt = domain::audit::salt_of(&original.chain[i + 1]);
        let next = ChainEntry::chain(item.change(salt), Some((last.seq, &last.hash)));
        chain.push(next);
    }
    forged.head = chain.last().map(|e| ChainHead { seq: e.seq, hash: e.hash.clone() });
    forged.chain = chain;
    // Without the checkpoint, which would give it away offline (see below).
    forged.checkpoint = None;
    assert!(domain::audit::verify_export(&forged).valid, "consistent on its own");
    let verdict = verify(&w, &forged).await;
    assert_eq!(verdict["valid"], false, "{verdict}");
    assert_eq!(verdict["matches_record"], false);
    assert_eq!(verdict["first_bad_seq"], plumber_seq);
}

#[tokio::test]
async fn the_pdf_transcript_holds_the_messages_and_the_head() {
    let w = World::new().await;
    let id = busy_thread(&w).await;
    let full = export(&w, &id, true).await;
    let pdf = |internal: bool| {
        let url = format!("{}/v1/threads/{id}/export?format=pdf&include_internal={internal}", w.url);
        w.http.get(url).bearer_auth(w.token("admin-1")).send()
    };
    let resp = pdf(true).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    let bytes = resp.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF"));
    let text = String::from_utf8_lossy(&bytes);
    for wanted in ["The kitchen pipe leaks", "A plumber comes Tuesday", "Tenant owes 3 months", "WO-77"] {
        assert!(text.contains(wanted), "{wanted} missing from the PDF");
    }
    assert!(text.contains(&full.head.unwrap().hash), "the chain's head is printed");
    let public = pdf(false).await.unwrap().bytes().await.unwrap();
    let text = String::from_utf8_lossy(&public);
    assert!(text.contains("A plumber comes Tuesday"));
    assert!(!text.contains("owes"), "an internal note leaked into the PDF without them");
    assert!(text.contains("internal note withheld"));
}

#[tokio::test]
async fn the_record_is_for_staff_of_the_org_and_bad_requests_are_refused() {
    let w = World::new().await;
    let id = busy_thread(&w).await;
    for path in [format!("/v1/threads/{id}/audit"), format!("/v1/threads/{id}/export")] {
        let (status, body) = w.get("resident-1", &path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_eq!(error_code(&body), "staff_only");
        let (status, body) = w.get("admin-b", &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "another org's thread is not there: {body}");
    }
    for query in ["format=xml", "include_internal=yes", "since=1"] {
        let (status, body) = w.get("admin-1", &format!("/v1/threads/{id}/export?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(error_code(&body), "invalid_query");
    }
    let (status, body) = w.post("admin-1", "/v1/audit/verify", json!({"chain": []})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = w
        .post("resident-1", "/v1/audit/verify", serde_json::to_value(export(&w, &id, false).await).unwrap())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Another org's admin can check an export on its own, never against our record.
    let ours = export(&w, &id, false).await;
    let (status, verdict) = w.post("admin-b", "/v1/audit/verify", serde_json::to_value(&ours).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verdict["valid"], true);
    assert!(verdict.get("matches_record").is_none(), "{verdict}");
}

#[tokio::test]
async fn automated_and_later_messages_are_chained_without_an_export() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "maintenance", "Heat", "No heat since Monday").await;
    let (status, _) = w
        .post("admin-1", &format!("/v1/threads/{id}/messages"), json!({"body": "Technician on the way"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // The audit consumer chains them on its own: the head is written with no read of the
    // record by anyone.
    let (org, thread) = (domain::OrgId::parse(&w.org).unwrap(), domain::ThreadId::parse(&id).unwrap());
    let head = eventually(20, "the consumer chains the reply", || async {
        let head = w.store.chain_head(&org, &thread).await.unwrap()?;
        (head.head.seq >= 3).then_some(head)
    })
    .await;
    let entries = chain(&w, &id).await;
    assert!(entries.len() as u64 >= head.head.seq);
    let bodies: Vec<&str> = entries.iter().filter_map(|e| e["data"]["body_sha256"].as_str()).collect();
    assert_eq!(bodies.len(), 2, "each message once: {entries:?}");
    assert_eq!(bodies[1], domain::audit::sha256_hex(b"Technician on the way"));
}

#[tokio::test]
async fn a_new_thread_is_chained_with_its_routing_without_a_read() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "maintenance", "Dryer", "The dryer door does not close").await;
    w.routed_to(&id, "maint-1").await;
    // The consumer hears the router's `thread_routed` (not `thread_created`): one catch-up
    // chains the opening and the join, with no read of the record by anyone.
    let (org, thread) = (domain::OrgId::parse(&w.org).unwrap(), domain::ThreadId::parse(&id).unwrap());
    eventually(20, "the consumer chains the routed thread", || async {
        let head = w.store.chain_head(&org, &thread).await.unwrap()?;
        (head.head.seq >= 3).then_some(head)
    })
    .await;
    let entries = chain(&w, &id).await;
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions[..2], ["thread_opened", "message_posted"], "{actions:?}");
    let joins: Vec<&Value> = entries.iter().filter(|e| e["action"] == "participant_joined").collect();
    assert_eq!(joins.len(), 1, "{entries:?}");
    assert_eq!(joins[0]["data"]["subject_id"], "maint-1");
}

#[tokio::test]
async fn a_cut_off_export_is_reported_incomplete_and_another_orgs_name_changes_nothing() {
    let w = World::new().await;
    let id = busy_thread(&w).await;
    let original = export(&w, &id, true).await;
    let verdict = verify(&w, &original).await;
    assert_eq!(
        (verdict["valid"].clone(), verdict["complete"].clone()),
        (json!(true), json!(true)),
        "{verdict}"
    );

    // The last two entries and what they recorded cut off: consistent, but not the record's end.
    let mut cut = original.clone();
    cut.chain.truncate(cut.chain.len() - 2);
    let kept: Vec<&str> = cut.chain.iter().map(|e| e.source_id.as_str()).collect();
    cut.timeline.retain(|i| match i {
        ExportItem::Message(m) => kept.contains(&m.id.as_str()),
        ExportItem::Event(e) => kept.contains(&e.id.as_str()),
    });
    cut.head = cut.chain.last().map(|e| ChainHead { seq: e.seq, hash: e.hash.clone() });
    cut.checkpoint = None;
    let verdict = verify(&w, &cut).await;
    assert_eq!(verdict["matches_record"], true, "{verdict}");
    assert_eq!(verdict["complete"], false, "entries follow it on record: {verdict}");
    assert_eq!(verdict["record_head"]["seq"], original.chain.len());

    // Naming another org does not dodge the comparison with the record.
    let mut renamed = original.clone();
    renamed.org_id = "someone-else".into();
    let verdict = verify(&w, &renamed).await;
    assert_eq!(verdict["valid"], false, "{verdict}");
}

#[tokio::test]
async fn checkpoints_sign_the_head_into_the_locked_bucket_and_expose_a_rewrite_offline() {
    let w = World::new().await;
    // Another thread of the org, most likely sealed in the same run.
    let other = w.start_thread("resident-1", "general", "Hallway", "The hallway light flickers").await;
    let id = busy_thread(&w).await;
    chain(&w, &id).await;
    // Sealed a second after it moved locally (10 minutes in AWS), by the jobs schedule:
    // wait for the checkpoint of the whole chain (an earlier one may seal a prefix).
    let sealed = eventually(30, "a checkpoint of the whole chain", || async {
        let e = export(&w, &id, true).await;
        let whole = e.checkpoint.as_ref().map(|c| c.seal.seq) == e.head.as_ref().map(|h| h.seq);
        (e.checkpoint.is_some() && whole).then_some(e)
    })
    .await;
    let checkpoint = sealed.checkpoint.clone().unwrap();
    assert!(checkpoint.signature_valid(), "signed by the KMS key");
    assert_eq!(checkpoint.seal.thread_id, id);
    assert_eq!(sealed.chain[checkpoint.seal.seq as usize - 1].hash, checkpoint.seal.hash);
    assert!(domain::audit::verify_export(&sealed).valid);

    // The signed head is in the bucket, and its version cannot be deleted (compliance lock).
    let sdk = infra::stack::sdk_config(&crate::support::stack().endpoint).await;
    let s3 =
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let bucket = infra::stack::AUDIT_BUCKET.to_lowercase();
    let object = s3.get_object().bucket(&bucket).key(&checkpoint.object_key).send().await.unwrap();
    let version = object.version_id().unwrap().to_owned();
    let kept: Vec<domain::audit::SignedSeal> =
        serde_json::from_slice(&object.body.collect().await.unwrap().into_bytes()).unwrap();
    assert!(kept.contains(&checkpoint), "the bucket holds the same signed head");
    // One signature over the org's run, and only its: other tests' orgs seal in the same runs.
    let ours: Vec<&domain::audit::SignedSeal> =
        kept.iter().filter(|s| s.seal.org_id == checkpoint.seal.org_id).collect();
    let run = checkpoint.run.as_ref().expect("signed with its run");
    assert_eq!(run.tree_size as usize, ours.len());
    let mut places: Vec<u64> = ours.iter().map(|s| s.run.as_ref().unwrap().index).collect();
    places.sort();
    assert_eq!(places, (0..ours.len() as u64).collect::<Vec<_>>());
    assert!(ours.iter().all(|s| s.signature == checkpoint.signature && s.signature_valid()));
    assert!(kept
        .iter()
        .filter(|s| s.seal.org_id != checkpoint.seal.org_id)
        .all(|s| s.signature != checkpoint.signature));
    if ours.iter().any(|s| s.seal.thread_id == other) {
        assert_eq!(ours.len(), 2, "the two threads, sealed together");
    }
    let deleted =
        s3.delete_object().bucket(&bucket).key(&checkpoint.object_key).version_id(&version).send().await;
    assert!(deleted.is_err(), "a locked checkpoint cannot be deleted");

    // A rewrite of the record, rehashed to be consistent, fails offline at the sealed entry.
    let mut forged = sealed.clone();
    let plumber = message_index(&forged, "A plumber comes Tuesday");
    let ExportItem::Message(m) = &mut forged.timeline[plumber] else { unreachable!() };
    m.body = "No plumber is coming".into();
    let mut rebuilt = vec![forged.chain[0].clone()];
    for (i, item) in forged.timeline.iter().enumerate() {
        let last = rebuilt.last().unwrap();
        let salt = domain::audit::salt_of(&sealed.chain[i + 1]);
        rebuilt.push(ChainEntry::chain(item.change(salt), Some((last.seq, &last.hash))));
    }
    forged.head = rebuilt.last().map(|e| ChainHead { seq: e.seq, hash: e.hash.clone() });
    forged.chain = rebuilt;
    let verdict = domain::audit::verify_export(&forged);
    assert!(!verdict.valid, "{verdict:?}");
    assert_eq!(verdict.reason.as_deref(), Some("the chain differs from the one the checkpoint sealed"));
    assert_eq!(verdict.first_bad_seq, Some(checkpoint.seal.seq));
}

#[tokio::test]
async fn an_attachment_is_hashed_when_attached_and_its_hash_is_chained() {
    use sha2::Digest;
    let w = World::new().await;
    let id = w.start_thread("resident-1", "maintenance", "Ceiling stain", "Photo attached").await;
    let photo = w.upload("resident-1", "stain.jpg", "image/jpeg", crate::attachments::JPEG).await;
    let (status, body) = w.attach("resident-1", &id, &[&photo]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let expected: String =
        sha2::Sha256::digest(crate::attachments::JPEG).iter().map(|b| format!("{b:02x}")).collect();

    let (status, meta) = w.get("resident-1", &format!("/v1/attachments/{photo}")).await;
    assert_eq!(status, StatusCode::OK, "{meta}");
    assert_eq!(meta["sha256"], expected.as_str());
    assert_eq!(body["attachments"][0]["sha256"], expected.as_str(), "the message shows it too");

    let original = export(&w, &id, false).await;
    let at = original
        .timeline
        .iter()
        .position(|i| matches!(i, ExportItem::Message(m) if !m.attachments.is_empty()))
        .unwrap();
    let ExportItem::Message(m) = &original.timeline[at] else { unreachable!() };
    assert_eq!(m.attachments[0].sha256.as_deref(), Some(expected.as_str()));
    assert_eq!(verify(&w, &original).await["valid"], true);

    // Another file's hash in its place fails at that message's entry.
    let mut edited = original.clone();
    let ExportItem::Message(m) = &mut edited.timeline[at] else { unreachable!() };
    m.attachments[0].sha256 =
        Some(sha2::Sha256::digest(crate::attachments::PNG).iter().map(|b| format!("{b:02x}")).collect());
    let verdict = verify(&w, &edited).await;
    assert_eq!(
        (verdict["valid"].clone(), verdict["first_bad_seq"].clone()),
        (json!(false), json!(seq_of(&original, at)))
    );

    let url = format!("{}/v1/threads/{id}/export?format=pdf", w.url);
    let pdf = w.http.get(url).bearer_auth(w.token("admin-1")).send().await.unwrap().bytes().await.unwrap();
    assert!(String::from_utf8_lossy(&pdf).contains(&expected), "the PDF prints the file's hash");
}

/// A chain's head where a release before stop 37 kept it (in the chain's partition) is
/// read from there and moved beside the timeline by the next catch-up, with or without
/// anything new to chain: the chain goes on from it, every message once.
#[tokio::test]
async fn a_head_kept_where_an_earlier_release_kept_it_is_moved_and_the_chain_goes_on() {
    use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
    use store::keys;

    let w = World::new().await;
    let id = w.start_thread("resident-1", "general", "Hallway", "The hallway light flickers").await;
    w.routed_to(&id, "admin-1").await;
    w.events_done(&id).await;
    let (org, thread) = (domain::OrgId::parse(&w.org).unwrap(), domain::ThreadId::parse(&id).unwrap());
    let key = |pk: String, sk: &str| {
        std::collections::HashMap::from([
            ("pk".to_owned(), AttributeValue::S(pk)),
            ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
        ])
    };
    let (here, before) = (
        key(keys::thread_pk(&org, &thread), keys::AUDIT_HEAD_SK),
        key(keys::chain_pk(&org, &thread), keys::CHAIN_HEAD_SK),
    );
    let get = |k: std::collections::HashMap<String, AttributeValue>| {
        let client = w.store.client().clone();
        let table = w.store.table().to_owned();
        async move {
            client
                .get_item()
                .table_name(table)
                .set_key(Some(k))
                .consistent_read(true)
                .send()
                .await
                .unwrap()
                .item
        }
    };
    // The thread's opening, its message and the router's join, chained by the consumer.
    let head = eventually(20, "the consumer chains the thread", || async {
        get(here.clone()).await.filter(|h| h["seq"].as_n().unwrap().parse::<u64>().unwrap() >= 3)
    })
    .await;
    let seq = head["seq"].clone();

    // Put where an earlier release kept it, in one transaction conditioned on the head as
    // read (the thread has nothing more for the consumer to chain until the reply below).
    let to_earlier_place = |head: std::collections::HashMap<String, AttributeValue>| {
        let (client, table) = (w.store.client().clone(), w.store.table().to_owned());
        let (here, before) = (here.clone(), before.clone());
        async move {
            let seq = head["seq"].clone();
            let mut old = head;
            old.extend(before);
            let delete = Delete::builder()
                .table_name(&table)
                .set_key(Some(here))
                .condition_expression("seq = :seq")
                .expression_attribute_values(":seq", seq)
                .build()
                .unwrap();
            let put = Put::builder().table_name(&table).set_item(Some(old)).build().unwrap();
            let moved = client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().delete(delete).build())
                .transact_items(TransactWriteItem::builder().put(put).build())
                .send()
                .await;
            assert!(moved.is_ok(), "{moved:?}");
        }
    };
    to_earlier_place(head.clone()).await;
    assert_eq!(
        w.store.chain_head(&org, &thread).await.unwrap().unwrap().head.seq.to_string(),
        *seq.as_n().unwrap()
    );
    // A catch-up with nothing to chain (reading the record) moves it back as it was.
    assert_eq!(chain(&w, &id).await.len(), 3);
    assert_eq!(get(here.clone()).await.map(|h| h["seq"].clone()), Some(seq.clone()));
    assert!(get(before.clone()).await.is_none(), "moved, not copied");

    // And an append (the consumer's, of a reply) moves it with the new entry.
    to_earlier_place(get(here.clone()).await.unwrap()).await;
    let (status, _) = w
        .post("admin-1", &format!("/v1/threads/{id}/messages"), json!({"body": "Technician on the way"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let moved_on = eventually(20, "the consumer moves the head beside the timeline", || async {
        get(here.clone()).await.filter(|h| h["seq"] != seq)
    })
    .await;
    assert!(get(before.clone()).await.is_none(), "the old head is gone: {moved_on:?}");
    let entries = chain(&w, &id).await;
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "no gap, no repeat");
    let bodies: Vec<&str> = entries.iter().filter_map(|e| e["data"]["body_sha256"].as_str()).collect();
    assert_eq!(
        bodies,
        [
            domain::audit::sha256_hex(b"The hallway light flickers"),
            domain::audit::sha256_hex(b"Technician on the way")
        ]
    );
    assert!(domain::audit::verify_export(&export(&w, &id, true).await).valid);
}

/// Posts `body` as `admin-1` through the store, its event left in the outbox (published
/// only by the repair job, a while later): no consumer hears of it meanwhile.
async fn post_unannounced(w: &World, id: &str, body: &str) {
    let (org, thread) = (domain::OrgId::parse(&w.org).unwrap(), domain::ThreadId::parse(id).unwrap());
    let view = w.store.load_thread(&org, &thread).await.unwrap().unwrap();
    let post = StorePost {
        author: "admin-1",
        author_name: "Admin",
        role: domain::Role::FacilityAdmin,
        body,
        internal: false,
        notice: true,
    };
    assert!(w.post_through_store(view, post).await.2);
}

/// More new entries than the head's Query reads with it (messages whose events are not
/// out yet, then one that is): the appender reads on, and chains each once, in order.
#[tokio::test]
async fn a_backlog_longer_than_the_heads_read_is_chained_whole_in_order() {
    let w = World::new().await;
    let id = w.start_thread("resident-1", "general", "Hallway", "The hallway light flickers").await;
    w.routed_to(&id, "admin-1").await;
    let (org, thread) = (domain::OrgId::parse(&w.org).unwrap(), domain::ThreadId::parse(&id).unwrap());
    eventually(20, "the consumer chains the thread", || async {
        w.store.chain_head(&org, &thread).await.unwrap().filter(|h| h.head.seq >= 2)
    })
    .await;
    let mut said: Vec<String> = (1..=24).map(|i| format!("Update {i} on the light")).collect();
    for body in &said {
        post_unannounced(&w, &id, body).await;
    }
    said.push("Fixed".into());
    let (status, _) =
        w.post("admin-1", &format!("/v1/threads/{id}/messages"), json!({"body": "Fixed"})).await;
    assert_eq!(status, StatusCode::CREATED);
    // The opening and 26 messages, at least, by the consumer alone.
    eventually(30, "the consumer chains the backlog", || async {
        let head = w.store.chain_head(&org, &thread).await.unwrap()?;
        (head.head.seq >= 27).then_some(())
    })
    .await;
    let entries = chain(&w, &id).await;
    let bodies: Vec<String> =
        entries.iter().filter_map(|e| e["data"]["body_sha256"].as_str()).map(str::to_owned).collect();
    let expected: Vec<String> = std::iter::once("The hallway light flickers")
        .chain(said.iter().map(String::as_str))
        .map(|b| domain::audit::sha256_hex(b.as_bytes()))
        .collect();
    assert_eq!(bodies, expected);
}
