//! The `jobs` schedule runs every task whatever the others did, on a table of its own (so
//! the local stack's own schedule cannot take its work first).

use aws_sdk_dynamodb::types::{BillingMode, GlobalSecondaryIndex, Projection, ProjectionType};
use chrono::{Duration, Utc};
use domain::{AccountState, OrgId, UserId};
use store::{AttachmentRecord, AttachmentStatus, Store};

use crate::support::World;

/// A new, empty table shaped like the stack's.
async fn table_like_the_stacks(w: &World) -> Store {
    let client = w.store.client().clone();
    let described = client.describe_table().table_name(w.store.table()).send().await.unwrap();
    let t = described.table().unwrap();
    let name = format!("housekeeping-{}", ulid::Ulid::new().to_string().to_lowercase());
    let mut create = client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(t.key_schema().to_vec()))
        .set_attribute_definitions(Some(t.attribute_definitions().to_vec()));
    for gsi in t.global_secondary_indexes() {
        create = create.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(gsi.index_name().unwrap())
                .set_key_schema(Some(gsi.key_schema().to_vec()))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .unwrap(),
        );
    }
    create.send().await.unwrap();
    Store::new(client, name)
}

#[tokio::test]
async fn a_failing_task_does_not_keep_the_others_from_running() {
    let w = World::new().await;
    let store = table_like_the_stacks(&w).await;
    let org = OrgId::parse(&w.org).unwrap();
    let now = Utc::now();
    // An attachment due for archiving, in a bucket S3 cannot be reached for (a closed port).
    let attachment = AttachmentRecord {
        id: domain::AttachmentId::new_at(1_700_000_000_000),
        org: org.clone(),
        uploader: UserId::parse("resident-1").unwrap(),
        file_name: "tap.jpg".into(),
        content_type: domain::attachment::ContentType::Jpeg,
        size_bytes: 10,
        object_key: format!("org/{org}/tap"),
        status: AttachmentStatus::Attached,
        thread_id: Some(domain::ThreadId::new_at(1_700_000_000_000)),
        message_id: Some(domain::MessageId::new_at(1_700_000_000_000)),
        created_at: now - Duration::days(600),
        archive_at: Some(now - Duration::days(1)),
        internal: false,
        version_id: None,
    };
    store.create_attachment(&attachment).await.unwrap();
    // A contact whose scheduled archive is due, after the attachments in the run.
    let mut leaving = infra::seed::demo_users(&org).remove(5);
    leaving.archive_at = Some(now - Duration::hours(1));
    store.put_user(&leaving).await.unwrap();

    // The fresh table has no pending events: repair publishes nothing.
    let app = app_on(&store, &w.url).await;
    let run = app::housekeeping::run(&app, std::time::Duration::from_secs(60), now).await;
    assert!(run.retention.is_err(), "S3 is unreachable: {run:?}");
    assert!(run.repair.is_ok(), "{run:?}");
    assert_eq!(run.archived.as_ref().ok(), Some(&1), "the archives ran after the failure: {run:?}");
    assert!(run.failed());
    assert!(run.report()["retention"]["error"].is_string(), "{}", run.report());
    let archived = store.get_user(&org, &leaving.id).await.unwrap().unwrap();
    assert_eq!(archived.state, AccountState::Archived);
}

/// The jobs' use cases on `store`, with S3 and the events topic out of reach (a closed
/// port): what is published waits in the outbox for the stack's repair.
pub async fn app_on(store: &Store, url: &str) -> app::App {
    let closed = infra::emulator::free_port().unwrap();
    let sdk = infra::stack::sdk_config(&format!("http://127.0.0.1:{closed}")).await;
    let unreachable_s3 =
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    app::App {
        store: store.clone(),
        events: queue::Events::new(
            aws_sdk_sns::Client::new(&sdk),
            "arn:aws:sns:us-east-1:000000000000:unused",
        ),
        files: files::Files::new(unreachable_s3, "attachmentsbucket", "key", 10),
        providers: channels::Providers::new(None, None, None, None, None),
        app_url: url.to_owned(),
        directory: None,
        quotas: app::QuotaCache::default(),
    }
}
