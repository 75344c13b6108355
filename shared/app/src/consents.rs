//! Consent to communication categories: residents see and change their own (the portal),
//! staff read a contact's with its ledger, facility admins record one with evidence, and
//! staff-started conversations need the resident's consent to their category.

use chrono::{DateTime, Utc};
use domain::category::Category;
use domain::consent::{self, Basis, ConsentEntry, Source};
use domain::{policy, DomainError, User, UserId};
use serde::Serialize;
use store::retry::Tries;

use crate::conversation::now;
use crate::{categories, App, Error};

/// A contact's standing with one category that needs consent.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConsentView {
    pub category_id: String,
    pub name: String,
    pub consent: domain::category::ConsentMode,
    pub subscribed: bool,
    /// When the contact last decided; null: the category's default applies.
    pub updated_at: Option<DateTime<Utc>>,
}

/// The caller's own consents, per category that needs consent.
pub async fn mine(app: &App, actor: &User) -> Result<Vec<ConsentView>, Error> {
    standing(app, actor, &actor.id).await
}

/// Changes the caller's own consent to a category (from the portal).
pub async fn set_mine(
    app: &App,
    actor: &User,
    category_id: &str,
    subscribed: bool,
) -> Result<ConsentView, Error> {
    policy::ensure_can_write(actor)?;
    let category = consentable(app, actor, category_id).await?;
    let entry = entry(&category, subscribed, Source::Portal, Some(actor.id.clone()), None);
    record(app, actor, &actor.id, &category, entry).await
}

/// A contact's consents and their whole ledger (staff).
pub async fn of_contact(
    app: &App,
    actor: &User,
    contact: &UserId,
) -> Result<(Vec<ConsentView>, Vec<ConsentEntry>), Error> {
    policy::ensure_staff(actor)?;
    app.store.get_user(&actor.org, contact).await?.ok_or(DomainError::NotFound("contact"))?;
    let (items, history) = tokio::try_join!(standing(app, actor, contact), async {
        Ok(app.store.consent_history(&actor.org, contact).await?)
    })?;
    Ok((items, history))
}

/// Records a contact's decision as a facility admin, with the evidence CASL asks for.
pub async fn record_for(
    app: &App,
    actor: &User,
    contact: &UserId,
    category_id: &str,
    subscribed: bool,
    evidence: Option<&str>,
) -> Result<ConsentView, Error> {
    policy::ensure_org_admin(actor)?;
    let evidence = consent::evidence(evidence)?;
    app.store.get_user(&actor.org, contact).await?.ok_or(DomainError::NotFound("contact"))?;
    let category = consentable(app, actor, category_id).await?;
    let entry = entry(&category, subscribed, Source::Admin, Some(actor.id.clone()), Some(evidence));
    record(app, actor, contact, &category, entry).await
}

/// Refuses a staff-started conversation in a category the resident does not consent to.
pub(crate) async fn ensure_allows(app: &App, resident: &User, category: &Category) -> Result<(), Error> {
    if category.consent == domain::category::ConsentMode::Transactional {
        return Ok(());
    }
    let (consents, _) = app.store.get_consents(&resident.org, &resident.id).await?;
    if consents.allows(category) {
        Ok(())
    } else {
        Err(consent::no_consent().into())
    }
}

fn entry(
    category: &Category,
    subscribed: bool,
    source: Source,
    actor_id: Option<UserId>,
    evidence: Option<String>,
) -> ConsentEntry {
    ConsentEntry {
        category_id: category.id.clone(),
        subscribed,
        basis: Basis::Express,
        source,
        actor_id,
        evidence,
        at: now(),
    }
}

async fn consentable(app: &App, actor: &User, category_id: &str) -> Result<Category, Error> {
    let category = categories::find(app, &actor.org, category_id).await?;
    consent::ensure_consentable(&category)?;
    Ok(category)
}

/// Writes the entry with the state it leads to, on the state's revision (a lost race reads
/// again: no decision overwrites another unseen).
async fn record(
    app: &App,
    actor: &User,
    contact: &UserId,
    category: &Category,
    entry: ConsentEntry,
) -> Result<ConsentView, Error> {
    let mut tries = Tries::new();
    while tries.another().await {
        // Timed at each try, so that the ledger's order is the order decisions took effect.
        let entry = ConsentEntry { at: now(), ..entry.clone() };
        let (mut consents, rev) = app.store.get_consents(&actor.org, contact).await?;
        consents.record(&entry);
        if app.store.record_consent(&actor.org, contact, &consents, rev, &entry).await? {
            return Ok(view(category, &consents));
        }
    }
    Err(store::StoreError::Contention.into())
}

async fn standing(app: &App, actor: &User, contact: &UserId) -> Result<Vec<ConsentView>, Error> {
    let ((all, _), (consents, _)) =
        tokio::try_join!(app.store.get_categories(&actor.org), app.store.get_consents(&actor.org, contact))?;
    let mut items: Vec<ConsentView> =
        all.iter().filter(|c| consent::ensure_consentable(c).is_ok()).map(|c| view(c, &consents)).collect();
    items.sort_by_cached_key(|v| v.name.to_lowercase());
    Ok(items)
}

fn view(category: &Category, consents: &consent::Consents) -> ConsentView {
    ConsentView {
        category_id: category.id.clone(),
        name: category.name.clone(),
        consent: category.consent,
        subscribed: consents.allows(category),
        updated_at: consents.decided_at(&category.id),
    }
}
