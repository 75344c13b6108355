//! The offline verifier as a user runs it: a file in, a verdict and an exit code out.

use std::process::Command;

use chrono::{TimeZone, Utc};
use domain::audit::{
    Action, ChainEntry, ChainHead, Change, Export, ExportItem, ExportMessage, ExportThread, EXPORT_FORMAT,
};
use domain::{Priority, ThreadStatus, UserId};
use serde_json::json;

fn sample() -> Export {
    let resident = UserId::parse("resident-1").unwrap();
    let at = Utc.with_ymd_and_hms(2026, 12, 5, 9, 0, 0).unwrap();
    let thread = ExportThread {
        id: "01JTHREAD0000000000000000A".into(),
        topic: "maintenance".into(),
        subject: "Leak".into(),
        category_id: "service".into(),
        status: ThreadStatus::Open,
        priority: Priority::Normal,
        resident_id: resident.clone(),
        resident_name: "Rita".into(),
        unit: Some("101".into()),
        property_id: Some("prop-1".into()),
        linked_record: None,
        created_by: resident.clone(),
        created_at: at,
    };
    let opened = Change {
        at,
        actor_id: resident.clone(),
        action: Action::THREAD_OPENED,
        source_id: thread.id.clone(),
        data: thread.opened_data("demo", Priority::Normal, None),
    };
    let message = ExportItem::Message(ExportMessage {
        id: "01JMESSAGE000000000000000A".into(),
        author_id: resident,
        author_name: "Rita".into(),
        body: "The kitchen tap drips".into(),
        internal: false,
        automated: false,
        automated_kind: None,
        attachments: vec![],
        created_at: at,
    });
    let first = ChainEntry::chain(opened, None);
    let second = ChainEntry::chain(message.change("5a17"), Some((first.seq, &first.hash)));
    Export {
        format: EXPORT_FORMAT.into(),
        exported_at: at,
        exported_by: UserId::parse("admin-1").unwrap(),
        org_id: "demo".into(),
        thread,
        participants: vec![],
        include_internal: false,
        timeline: vec![message],
        head: Some(ChainHead { seq: second.seq, hash: second.hash.clone() }),
        chain: vec![first, second],
        checkpoint: None,
        verification: String::new(),
    }
}

/// Runs the verifier on `export` written to a file of its own (tests run at once).
fn run(name: &str, export: &serde_json::Value) -> (i32, String) {
    let path = std::env::temp_dir().join(format!("export-{name}-{}.json", std::process::id()));
    std::fs::write(&path, export.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_audit-verify")).arg(&path).output().unwrap();
    std::fs::remove_file(&path).ok();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn an_intact_export_passes_and_shows_its_head() {
    let export = sample();
    let (code, out) = run("intact", &serde_json::to_value(&export).unwrap());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&export.head.unwrap().hash), "{out}");
}

#[test]
fn an_edited_word_fails_naming_the_entry() {
    let mut export = serde_json::to_value(sample()).unwrap();
    export["timeline"][0]["body"] = json!("The kitchen tap is fine");
    let (code, out) = run("edited", &export);
    assert_eq!(code, 1);
    assert!(out.starts_with("invalid: entry #2"), "{out}");
}

#[test]
fn a_file_that_is_not_an_export_is_refused() {
    let (code, _) = run("other", &json!({"chain": []}));
    assert_eq!(code, 2);
}
