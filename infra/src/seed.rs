//! The demo seed (fixed ids that tests and demos rely on), also used to lay out fresh,
//! isolated organizations for tests.

use domain::contact::ContactKind;
use domain::{AccountState, OrgId, Recipient, Role, RoutingSettings, User, UserId};
use store::{Store, StoreError};

/// Org id of each seeded demo user, for minting dev tokens.
pub fn org_of(user: &str) -> &'static str {
    if user.ends_with("-b") {
        "demo-b"
    } else {
        "demo"
    }
}

/// A user of a seeded org: e-mail `{id}@{org}.example.com`, residents with a mobile number.
pub fn user(
    org: &OrgId,
    id: &str,
    role: Role,
    name: &str,
    unit: Option<&str>,
    property: Option<&str>,
) -> User {
    User {
        id: UserId::parse(id).expect("seed ids are valid"),
        org: org.clone(),
        role,
        name: name.to_owned(),
        unit: unit.map(str::to_owned),
        property_id: property.map(str::to_owned),
        property_ids: Vec::new(),
        state: AccountState::Active,
        email: Some(format!("{id}@{org}.example.com")),
        // Residents have a mobile number on file; staff are reached by e-mail.
        phone: (role == Role::Resident)
            .then(|| format!("+1514555{:04}", id.bytes().map(u32::from).sum::<u32>() % 10_000)),
        kind: Some(if role == Role::Resident { ContactKind::Resident } else { ContactKind::Staff }),
        lock: None,
        archive_at: None,
        login: None,
        invite: None,
        rev: 0,
    }
}

/// The users of the `demo` org's layout, under `org`.
pub fn demo_users(org: &OrgId) -> Vec<User> {
    vec![
        user(org, "admin-1", Role::FacilityAdmin, "Avery Admin", None, Some("prop-1")),
        user(org, "bookkeeper-1", Role::Staff, "Billie Books", None, Some("prop-1")),
        user(org, "maint-1", Role::Staff, "Max Maintenance", None, Some("prop-1")),
        user(org, "security-1", Role::Staff, "Sam Security", None, Some("prop-1")),
        user(org, "resident-1", Role::Resident, "Rita Resident", Some("101"), Some("prop-1")),
        user(org, "resident-2", Role::Resident, "Reza Resident", Some("102"), Some("prop-1")),
    ]
}

/// The users of the `demo-b` org's layout, under `org`.
pub fn other_org_users(org: &OrgId) -> Vec<User> {
    vec![
        user(org, "admin-b", Role::FacilityAdmin, "Blair Admin", None, Some("prop-b")),
        user(org, "resident-b", Role::Resident, "Bo Resident", Some("1A"), Some("prop-b")),
    ]
}

/// The demo routing: Billing → bookkeeper-1, Maintenance → maint-1, Parking → security-1,
/// General → admin-1.
pub fn demo_routing() -> RoutingSettings {
    let to = |id: &str| Recipient::UserId(UserId::parse(id).expect("valid"));
    RoutingSettings {
        routes: [
            ("billing", "bookkeeper-1"),
            ("maintenance", "maint-1"),
            ("parking", "security-1"),
            ("general", "admin-1"),
        ]
        .into_iter()
        .map(|(topic, user)| (topic.to_owned(), to(user)))
        .collect(),
        teams: Default::default(),
    }
}

/// The demo layout with ids as production makes them: contacts' `c-{ulid}`, 28 characters
/// against the demo's 7 to 12. Ids are stored many times over in the items every message
/// writes (keys, the inbox rows, authors), so what DynamoDB bills for those items is
/// production's only with such ids. The users in `demo_users`' order, and the demo routing
/// to them.
pub fn production_shaped(org: &OrgId) -> (Vec<User>, RoutingSettings) {
    let demo = demo_users(org);
    let now = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or_default();
    let ids: Vec<(UserId, UserId)> = demo.iter().map(|u| (u.id.clone(), UserId::new_contact(now))).collect();
    let users = demo
        .into_iter()
        .zip(&ids)
        .map(|(u, (_, id))| User { email: Some(format!("{id}@{org}.example.com")), id: id.clone(), ..u })
        .collect();
    let mut routing = demo_routing();
    for recipient in routing.routes.values_mut() {
        if let Recipient::UserId(user) = recipient {
            *user = ids.iter().find(|(demo, _)| demo == user).map(|(_, id)| id.clone()).expect("a demo user");
        }
    }
    (users, routing)
}

/// Seeds an org laid out like `demo`: its users and its routing.
pub async fn seed_demo_org(store: &Store, org: &OrgId) -> Result<(), StoreError> {
    seed_users(store, &demo_users(org)).await?;
    store.put_routing(org, &demo_routing()).await
}

pub async fn seed_users(store: &Store, users: &[User]) -> Result<(), StoreError> {
    for u in users {
        store.put_user(u).await?;
    }
    Ok(())
}

/// Lifts `org`'s write quotas far above the defaults, as operations may for one org: for
/// the benchmark and the schema fuzzing, which write thousands of times as one user in
/// minutes (no person does).
pub async fn lift_quotas(store: &Store, org: &OrgId) -> Result<(), StoreError> {
    let mut quotas = domain::quota::Quotas::default();
    for limit in [&mut quotas.thread, &mut quotas.message, &mut quotas.upload, &mut quotas.invitation] {
        limit.per_user = 1_000_000;
        limit.per_org = 1_000_000;
        limit.per_subject = limit.per_subject.map(|_| 1_000_000);
    }
    store.put_quotas(org, &quotas).await
}

/// Seeds `demo` and `demo-b`. Idempotent: users are put, not appended.
pub async fn seed_demo(store: &Store) -> Result<(), StoreError> {
    let demo = OrgId::parse("demo").expect("valid");
    let demo_b = OrgId::parse("demo-b").expect("valid");
    seed_demo_org(store, &demo).await?;
    seed_users(store, &other_org_users(&demo_b)).await
}
