//! Settings: the organization's topic routing, retention and notification defaults (staff
//! read, facility admins write), and each user's own notification preferences.

use std::collections::HashSet;

use domain::hours::BusinessHours;
use domain::messaging::{MessagingSettings, ReadReceipts};
use domain::notify::{NotificationDefaults, NotificationPreferences};
use domain::{policy, DomainError, ErrorCode, RoutingSettings, User, UserId};
use store::RetentionSettings;

use crate::org_cache::OrgCache;
use crate::{App, Error};

/// The orgs' messaging settings as last read: every answer with a thread needs its read
/// receipts, and a resident's new thread whether residents may start one.
pub type MessagingCache = OrgCache<MessagingSettings>;

/// The org's messaging settings, read at most once a minute per function instance. In AWS
/// a change applies within the minute (`set_messaging` runs in another function); locally,
/// where one process serves every route, at once.
pub(crate) async fn org_messaging(app: &App, org: &domain::OrgId) -> Result<MessagingSettings, Error> {
    Ok(app.messaging.get(org, app.store.get_messaging(org)).await?)
}

pub async fn routing(app: &App, actor: &User) -> Result<RoutingSettings, Error> {
    policy::ensure_staff(actor)?;
    Ok(app.store.get_routing(&actor.org).await?.unwrap_or_default())
}

/// Replaces the routing; everyone it names must be staff of the org.
pub async fn set_routing(
    app: &App,
    actor: &User,
    settings: RoutingSettings,
) -> Result<RoutingSettings, Error> {
    policy::ensure_org_admin(actor)?;
    let named: Vec<UserId> = settings.validate()?.into_iter().collect();
    let staff: HashSet<UserId> = app
        .store
        .get_users(&actor.org, &named)
        .await?
        .into_iter()
        .filter(|u| u.role.is_staff())
        .map(|u| u.id)
        .collect();
    if let Some(user_id) = named.iter().find(|id| !staff.contains(id)) {
        return Err(DomainError::invalid(
            ErrorCode::UnknownStaff,
            format!("'{user_id}' is not a staff member of this organization"),
        )
        .into());
    }
    app.store.put_routing(&actor.org, &settings).await?;
    app.routing.put(&actor.org, std::sync::Arc::new(settings.clone()));
    Ok(settings)
}

/// Whose read markers the actor's org shows (everyone reads this with each thread).
pub async fn read_receipts(app: &App, actor: &User) -> Result<ReadReceipts, Error> {
    Ok(org_messaging(app, &actor.org).await?.read_receipts)
}

pub async fn messaging(app: &App, actor: &User) -> Result<MessagingSettings, Error> {
    policy::ensure_staff(actor)?;
    Ok(app.store.get_messaging(&actor.org).await?)
}

pub async fn set_messaging(
    app: &App,
    actor: &User,
    settings: MessagingSettings,
) -> Result<MessagingSettings, Error> {
    policy::ensure_org_admin(actor)?;
    let settings = settings.validated()?;
    app.store.put_messaging(&actor.org, &settings).await?;
    app.messaging.put(&actor.org, settings.clone());
    Ok(settings)
}

/// The org's business hours (staff read; the defaults, without automatic reply, until set).
pub async fn business_hours(app: &App, actor: &User) -> Result<BusinessHours, Error> {
    policy::ensure_staff(actor)?;
    Ok(app.store.get_business_hours(&actor.org).await?)
}

pub async fn set_business_hours(
    app: &App,
    actor: &User,
    hours: BusinessHours,
) -> Result<BusinessHours, Error> {
    policy::ensure_org_admin(actor)?;
    let hours = hours.validated()?;
    app.store.put_business_hours(&actor.org, &hours).await?;
    app.hours.put(&actor.org, hours.clone());
    Ok(hours)
}

pub async fn retention(app: &App, actor: &User) -> Result<RetentionSettings, Error> {
    policy::ensure_staff(actor)?;
    Ok(app.store.get_retention(&actor.org).await?)
}

/// At most ten years; zero archives attachments at the next retention run.
const MAX_RETENTION_DAYS: u32 = 3650;

pub async fn set_retention(
    app: &App,
    actor: &User,
    settings: RetentionSettings,
) -> Result<RetentionSettings, Error> {
    policy::ensure_org_admin(actor)?;
    if settings.attachment_retention_days > MAX_RETENTION_DAYS {
        return Err(DomainError::invalid(
            ErrorCode::InvalidRetention,
            format!("at most {MAX_RETENTION_DAYS} days"),
        )
        .into());
    }
    app.store.put_retention(&actor.org, &settings).await?;
    Ok(settings)
}

pub async fn notification_defaults(app: &App, actor: &User) -> Result<NotificationDefaults, Error> {
    policy::ensure_staff(actor)?;
    Ok(app.store.get_notification_defaults(&actor.org).await?)
}

pub async fn set_notification_defaults(
    app: &App,
    actor: &User,
    defaults: NotificationDefaults,
) -> Result<NotificationDefaults, Error> {
    policy::ensure_org_admin(actor)?;
    app.store.put_notification_defaults(&actor.org, &defaults).await?;
    Ok(defaults)
}

/// The actor's preferences, or the defaults they are notified with until they set some.
pub async fn preferences(app: &App, actor: &User) -> Result<NotificationPreferences, Error> {
    match app.store.get_preferences(&actor.org, &actor.id).await? {
        Some(p) => Ok(p),
        None => Ok(app.store.get_notification_defaults(&actor.org).await?.for_user(actor)),
    }
}

pub async fn set_preferences(
    app: &App,
    actor: &User,
    prefs: NotificationPreferences,
) -> Result<NotificationPreferences, Error> {
    policy::ensure_can_write(actor)?;
    let mut user = actor.clone();
    let mut tries = store::retry::Tries::new();
    while tries.another().await {
        if app.store.put_preferences(&user, &prefs).await? {
            return Ok(prefs);
        }
        // The contact changed since the request read it: again at its revision now, unless
        // the change ended this sign-in (its next request is refused).
        match app.store.get_user_now(&actor.org, &actor.id).await? {
            Some(now) if !domain::contact::mailbox_changed(actor, &now) => {
                policy::ensure_can_write(&now)?;
                user = now;
            }
            _ => break,
        }
    }
    Err(store::StoreError::Contention.into())
}
