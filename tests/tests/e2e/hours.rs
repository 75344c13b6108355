//! Business hours and the automatic reply: once per thread per closed period, only to the
//! thread's resident, never within hours or for staff, leaving the thread unread.

use chrono::{Duration, Timelike, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{error_code, eventually, World};

const REPLY: &str = "Our office is closed; we answer when we open.";

/// Every day open all day, with `closed_dates` (UTC).
fn hours(closed_dates: Value) -> Value {
    let all_day = json!([{"start": "00:00", "end": "24:00"}]);
    json!({
        "time_zone": "UTC",
        "hours": {"mon": all_day, "tue": all_day, "wed": all_day, "thu": all_day, "fri": all_day, "sat": all_day, "sun": all_day},
        "closed_dates": closed_dates,
        "auto_reply": {"enabled": true, "body": REPLY},
    })
}

impl World {
    async fn set_hours(&self, hours: Value) {
        let (status, saved) =
            self.call("admin-1", Method::PUT, "/v1/settings/business-hours", Some(hours.clone())).await;
        assert_eq!(status, StatusCode::OK, "{saved}");
    }

    async fn auto_replies(&self, user: &str, thread: &str) -> Vec<Value> {
        self.messages(user, thread).await.into_iter().filter(|m| m["automated"] == true).collect()
    }

    /// Waits for the thread's `n`th automatic reply (as its resident sees it).
    async fn auto_replied(&self, thread: &str, n: usize) -> Vec<Value> {
        eventually(30, &format!("{n} automatic replies in {thread}"), || async {
            let replies = self.auto_replies("resident-1", thread).await;
            (replies.len() >= n).then_some(replies)
        })
        .await
    }

    async fn say(&self, user: &str, thread: &str, body: &str) {
        let (status, m) =
            self.post(user, &format!("/v1/threads/{thread}/messages"), json!({"body": body})).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
    }
}

/// Open today (UTC) from midnight to the next whole minute at least 5 s away, closed
/// every other time; and when it closes.
fn open_until_the_next_minute() -> (Value, chrono::DateTime<Utc>) {
    let now = Utc::now();
    let mut close = now.with_second(0).unwrap().with_nanosecond(0).unwrap() + Duration::minutes(1);
    if close - now < Duration::seconds(5) {
        close += Duration::minutes(1);
    }
    let end = if close.date_naive() == now.date_naive() {
        close.format("%H:%M").to_string()
    } else {
        "24:00".into()
    };
    let mut hours = hours(json!([]));
    for day in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] {
        hours["hours"][day] = json!([]);
    }
    let today = now.format("%a").to_string().to_lowercase();
    hours["hours"][today] = json!([{"start": "00:00", "end": end}]);
    (hours, close)
}

#[tokio::test]
async fn a_resident_writing_outside_hours_gets_one_automatic_reply_per_closed_period() {
    let w = World::new().await;
    // Within hours: nothing, ever (a message is judged by when it was written, and these
    // hours stay as they are).
    let (hours, close) = open_until_the_next_minute();
    w.set_hours(hours).await;
    let open = w.start_thread("resident-1", "maintenance", "Leak", "Water under the sink").await;
    tokio::time::sleep((close - Utc::now() + Duration::milliseconds(200)).to_std().unwrap_or_default()).await;

    let closed = w.start_thread("resident-1", "maintenance", "Heat", "No heat tonight").await;
    let reply = w.auto_replied(&closed, 1).await.remove(0);
    assert_eq!(reply["body"], REPLY);
    assert_eq!(
        (reply["automated_kind"].as_str(), reply["author_id"].as_str()),
        (Some("auto_reply"), Some("system"))
    );
    assert_eq!(reply["internal"], false);
    // Still waiting for staff: unread in the org's inbox, unread for the resident too.
    let (_, t) = w.get("admin-1", &format!("/v1/threads/{closed}")).await;
    assert_eq!(t["status"], "unread");
    assert!(w.thread_ids("admin-1", "?folder=unread").await.contains(&closed));
    let rows = w.get("resident-1", "/v1/threads").await.1;
    let row = rows["items"].as_array().unwrap().iter().find(|r| r["id"] == closed.as_str()).unwrap().clone();
    assert_eq!(
        (row["unread"].as_bool(), row["last_message"]["body_preview"].as_str()),
        (Some(true), Some(REPLY))
    );

    // The same closed period: no second reply in that thread, none for staff's messages
    // (a staff-started thread, a staff reply); a thread that had none gets its own. The
    // local consumer takes the queue in order, so the last reply arriving means the
    // messages before it were handled.
    w.say("resident-1", &closed, "Still cold").await;
    w.say("maint-1", &closed, "Technician tomorrow 8 am").await;
    let (status, by_staff) = w
        .post(
            "maint-1",
            "/v1/threads",
            json!({"topic": "general", "subject": "Water cut", "body": "Water is off Friday", "resident_id": "resident-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let by_staff = by_staff["id"].as_str().unwrap().to_owned();
    w.say("resident-1", &open, "It drips more now").await;
    w.auto_replied(&open, 1).await;
    assert_eq!(w.auto_replies("resident-1", &closed).await.len(), 1, "once per closed period");
    assert!(w.auto_replies("resident-1", &by_staff).await.is_empty(), "staff messages get none");
    let bodies: Vec<String> = w
        .messages("resident-1", &open)
        .await
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(bodies, ["Water under the sink", "It drips more now", REPLY], "none within hours");

    // The resident of the staff-started thread is answered when they write.
    w.say("resident-1", &by_staff, "Which hours?").await;
    w.auto_replied(&by_staff, 1).await;
    // Staff see the reply too.
    assert_eq!(w.auto_replies("maint-1", &closed).await.len(), 1);
}

#[tokio::test]
async fn business_hours_are_read_by_staff_and_set_by_admins_within_the_rules() {
    let w = World::new().await;
    let (status, defaults) = w.get("maint-1", "/v1/settings/business-hours").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(defaults["time_zone"], "America/Toronto");
    assert_eq!(defaults["hours"]["mon"], json!([{"start": "09:00", "end": "17:00"}]));
    assert_eq!(defaults["hours"]["sun"], json!([]));
    assert_eq!(defaults["auto_reply"]["enabled"], false);
    let (status, refused) = w.get("resident-1", "/v1/settings/business-hours").await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "staff_only"));
    let (status, refused) =
        w.call("maint-1", Method::PUT, "/v1/settings/business-hours", Some(hours(json!([])))).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "admin_only"));

    let mut overlapping = hours(json!([]));
    overlapping["hours"]["mon"] =
        json!([{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "17:00"}]);
    let mut backwards = hours(json!([]));
    backwards["hours"]["tue"] = json!([{"start": "17:00", "end": "09:00"}]);
    let mut bad_zone = hours(json!([]));
    bad_zone["time_zone"] = json!("Mars/Olympus");
    let mut bad_time = hours(json!([]));
    bad_time["hours"]["wed"] = json!([{"start": "9am", "end": "17:00"}]);
    for (bad, code) in [
        (overlapping, "invalid_business_hours"),
        (backwards, "invalid_business_hours"),
        (bad_zone, "invalid_request"),
        (bad_time, "invalid_request"),
        (hours(json!(["2026-02-30"])), "invalid_request"),
    ] {
        let (status, refused) =
            w.call("admin-1", Method::PUT, "/v1/settings/business-hours", Some(bad)).await;
        assert_eq!((status, error_code(&refused)), (StatusCode::UNPROCESSABLE_ENTITY, code), "{refused}");
    }
    assert_eq!(
        w.get("maint-1", "/v1/settings/business-hours").await.1,
        defaults,
        "nothing refused was stored"
    );

    let mut set = hours(json!(["2026-12-26", "2026-12-25", "2026-12-25"]));
    set["time_zone"] = json!("America/Montreal");
    let (status, saved) = w.call("admin-1", Method::PUT, "/v1/settings/business-hours", Some(set)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(saved["closed_dates"], json!(["2026-12-25", "2026-12-26"]), "sorted, once each");
    assert_eq!(w.get("maint-1", "/v1/settings/business-hours").await.1, saved);
    assert_eq!(
        w.get("admin-b", "/v1/settings/business-hours").await.1,
        defaults,
        "another org's are its own"
    );
}

#[tokio::test]
async fn an_hours_change_applies_at_once_in_the_instance_that_made_it() {
    let w = World::new().await;
    let instance = crate::housekeeping::Instance::new(&w).await;
    let (id, event) = instance.resident_thread("No heat tonight").await;
    let last_preview = || async {
        let view = instance.store.load_thread(&instance.org, &id).await.unwrap().unwrap();
        view.thread.summary.last_message.unwrap().body_preview
    };

    // The default hours answer nothing, and the instance now keeps them.
    app::automation::handle(&instance.app, event.clone()).await.unwrap();
    assert_eq!(last_preview().await, "No heat tonight");
    // The instance itself closes the day the message was written, with an automatic reply.
    let closed = serde_json::from_value(hours(json!([event.at.date_naive()]))).unwrap();
    app::settings::set_business_hours(&instance.app, &instance.user("admin-1").await, closed).await.unwrap();
    app::automation::handle(&instance.app, event).await.unwrap();
    assert_eq!(last_preview().await, REPLY, "the change, not what the instance kept before it");
}
