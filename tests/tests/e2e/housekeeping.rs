//! The `jobs` schedule runs every task whatever the others did, on a table of its own (so
//! the local stack's own schedule cannot take its work first).

use aws_sdk_dynamodb::types::{BillingMode, GlobalSecondaryIndex, Projection, ProjectionType};
use chrono::{Duration, Utc};

const SECS_30: std::time::Duration = std::time::Duration::from_secs(30);
use domain::webhook::AddressPolicy;
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
        sha256: None,
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

/// A function instance keeping settings a minute, as deployed, on a table of its own with
/// the demo org seeded: the stack's consumers never see its events (its events topic is
/// out of reach, so they wait in the outbox), and only the test hands them to a consumer.
pub struct Instance {
    pub app: app::App,
    pub store: Store,
    pub org: OrgId,
}

impl Instance {
    pub async fn new(w: &World) -> Self {
        let store = table_like_the_stacks(w).await;
        let org = OrgId::parse(&w.org).unwrap();
        infra::seed::seed_demo_org(&store, &org).await.unwrap();
        Self { app: app_on(&store, &w.url).await, store, org }
    }

    pub async fn user(&self, id: &str) -> domain::User {
        self.store.get_user(&self.org, &UserId::parse(id).unwrap()).await.unwrap().unwrap()
    }

    /// A maintenance thread `resident-1` starts, and its event.
    pub async fn resident_thread(&self, body: &str) -> (domain::ThreadId, domain::events::OutboxEvent) {
        use domain::{MessageBody, Subject, Topic};
        let new = app::threads::NewThread {
            topic: Topic::parse("maintenance").unwrap(),
            subject: Subject::parse("Heat").unwrap(),
            body: MessageBody::parse(body).unwrap(),
            priority: None,
            linked_record: None,
            resident_id: None,
            category_id: None,
            attachment_ids: Vec::new(),
        };
        let request = app::Idempotency::new(None, "test", &());
        let started = app::threads::start(&self.app, &self.user("resident-1").await, new, request).await;
        let id = started.unwrap().thread.summary.id;
        let far = Utc::now() + Duration::days(1);
        let pending = self.store.pending_events(far, 100).await.unwrap();
        (id, pending.into_iter().find(|e| e.thread_id == id).expect("its event, in the outbox"))
    }
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
        search: search::Engine::new(
            unreachable_s3.clone(),
            "searchindexbucket",
            std::env::temp_dir().join("unused"),
        ),
        files: files::Files::new(unreachable_s3, "attachmentsbucket", "key", 10),
        providers: channels::Providers::new(None, None, None, None, None),
        app_url: url.to_owned(),
        directory: None,
        links: None,
        sealing: None,
        quotas: app::QuotaCache::default(),
        hours: app::HoursCache::default(),
        triage: app::triage::TriageCache::default(),
        routing: app::router::RoutingCache::default(),
        messaging: app::settings::MessagingCache::default(),
        // The tests' receivers listen on loopback.
        webhooks: app::webhooks::Webhooks::new(AddressPolicy { allow_loopback: true }, SECS_30, SECS_30)
            .unwrap(),
    }
}

#[tokio::test]
async fn resolved_threads_are_archived_once_untouched_for_the_orgs_period() {
    use app::threads::{NewThread, ThreadChange};
    use domain::messaging::MessagingSettings;
    use domain::{MessageBody, Subject, ThreadStatus, Topic};

    let w = World::new().await;
    let store = table_like_the_stacks(&w).await;
    let (org, never) = (OrgId::parse(&w.org).unwrap(), OrgId::parse(&w.other_org).unwrap());
    infra::seed::seed_demo_org(&store, &org).await.unwrap();
    infra::seed::seed_users(&store, &infra::seed::other_org_users(&never)).await.unwrap();
    let app = app_on(&store, &w.url).await;
    let user = |org: &OrgId, id: &str| {
        let store = store.clone();
        let (org, id) = (org.clone(), UserId::parse(id).unwrap());
        async move { store.get_user(&org, &id).await.unwrap().unwrap() }
    };
    // Nothing routes on this table: the facility admin, who sees every thread, resolves.
    let (resident, staff) = (user(&org, "resident-1").await, user(&org, "admin-1").await);
    let (resident_b, admin_b) = (user(&never, "resident-b").await, user(&never, "admin-b").await);
    let never_archive = MessagingSettings { archive_resolved_after_days: 0, ..MessagingSettings::default() };
    app::settings::set_messaging(&app, &admin_b, never_archive).await.unwrap();

    let start = |resident: &domain::User, subject: &str| {
        let new = NewThread {
            topic: Topic::parse("general").unwrap(),
            subject: Subject::parse(subject).unwrap(),
            body: MessageBody::parse("Hello").unwrap(),
            priority: None,
            linked_record: None,
            resident_id: None,
            category_id: None,
            attachment_ids: Vec::new(),
        };
        let (app, resident) = (app.clone(), resident.clone());
        async move {
            let request = app::Idempotency::new(None, "test", &());
            app::threads::start(&app, &resident, new, request).await.unwrap().thread.summary.id
        }
    };
    let resolve = |actor: &domain::User, id| {
        let (app, actor) = (app.clone(), actor.clone());
        async move {
            let change =
                ThreadChange { status: Some(ThreadStatus::Resolved), priority: None, linked_record: None };
            app::threads::change(&app, &actor, id, change).await.unwrap();
        }
    };
    let status = |org: &OrgId, id| {
        let (store, org) = (store.clone(), org.clone());
        async move { store.load_thread(&org, &id).await.unwrap().unwrap().thread.summary.status }
    };

    let archived = start(&resident, "Archived in 30 days").await;
    resolve(&staff, archived).await;
    let reopened = start(&resident, "Re-opened").await;
    resolve(&staff, reopened).await;
    let post = app::messages::NewMessage {
        body: app::messages::Body::Text(MessageBody::parse("It leaks again").unwrap()),
        attachment_ids: vec![],
        internal: false,
        expected_last: None,
    };
    app::messages::post(&app, &resident, reopened, post, app::Idempotency::new(None, "t", &()))
        .await
        .unwrap();
    let kept = start(&resident_b, "Never archived").await;
    resolve(&admin_b, kept).await;

    // A day on: nothing is old enough; the checks move on.
    let now = Utc::now();
    assert_eq!(app::resolved::run(&app, now + Duration::days(2)).await.unwrap(), 0);
    assert_eq!(status(&org, archived).await, ThreadStatus::Resolved);
    // Past the default 30 days: the resolved thread is archived, with its event; the one
    // the resident re-opened and the one of the org that never archives are not.
    assert_eq!(app::resolved::run(&app, now + Duration::days(31)).await.unwrap(), 1);
    assert_eq!(status(&org, archived).await, ThreadStatus::Archived);
    assert_eq!(status(&org, reopened).await, ThreadStatus::Unread);
    assert_eq!(status(&never, kept).await, ThreadStatus::Resolved);
    let timeline = store.list_timeline(&org, &archived, true, None, 50).await.unwrap().items;
    let last = serde_json::to_value(timeline.last().unwrap()).unwrap();
    assert_eq!((last["event"].as_str(), last["status"].as_str()), (Some("status_changed"), Some("archived")));
    assert_eq!(last["actor_id"], "system");
    // Each check was settled but the one of the org that never archives, looked at again
    // weekly in case it sets a period.
    let left = store.archive_checks_due(now + Duration::days(4000), 10).await.unwrap();
    assert_eq!(left.iter().map(|d| d.thread_id).collect::<Vec<_>>(), [kept]);
    assert!(left[0].due > now + Duration::days(8), "a week after the run that saw it");
}
