//! Consent to communication categories: residents see and change their own (the portal),
//! staff read a contact's with its ledger, facility admins record one with evidence, and
//! staff-started conversations need the resident's consent to their category.

use crate::links::{LinkClaim, Purpose};
use chrono::{DateTime, Utc};
use domain::category::Category;
use domain::consent::{self, Basis, ConsentEntry, Source};
use domain::{policy, DomainError, OrgId, User, UserId};
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
    record(app, &actor.org, &actor.id, &category, entry).await
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
    record(app, &actor.org, contact, &category, entry).await
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

/// The category a consent or unsubscribe link is about, if the token is genuine, current and
/// for `purpose`, and its contact and category still exist; else 404.
pub async fn by_link(app: &App, token: &str, purpose: Purpose) -> Result<(LinkClaim, Category), Error> {
    let claim = app.link_key()?.open(token, purpose, now())?;
    let gone = || Error::from(DomainError::NotFound("link"));
    let category = match categories::find(app, &claim.org, &claim.category_id).await {
        Ok(category) if consent::ensure_consentable(&category).is_ok() => category,
        Ok(_) | Err(Error::Domain(DomainError::NotFound(_))) => return Err(gone()),
        Err(e) => return Err(e),
    };
    app.store.get_user(&claim.org, &claim.contact).await?.ok_or_else(gone)?;
    Ok((claim, category))
}

/// Accepts or declines a consent request through its link: an express decision, with the
/// request's wording, where it was sent and the link's use as evidence.
pub async fn decide_by_link(app: &App, token: &str, accept: bool) -> Result<ConsentView, Error> {
    let (claim, category) = by_link(app, token, Purpose::Consent).await?;
    let evidence = crate::campaigns::request_evidence(app, &claim, &category, accept).await?;
    let entry = entry(&category, accept, Source::ConsentRequest, None, Some(evidence));
    record(app, &claim.org, &claim.contact, &category, entry).await
}

/// Withdraws consent through a delivery's unsubscribe link, at once. Using it again changes
/// nothing (and adds nothing to the ledger).
pub async fn unsubscribe_by_link(app: &App, token: &str) -> Result<ConsentView, Error> {
    let (claim, category) = by_link(app, token, Purpose::Unsubscribe).await?;
    let (consents, _) = app.store.get_consents(&claim.org, &claim.contact).await?;
    if !consents.allows(&category) {
        return Ok(view(&category, &consents));
    }
    let issued = chrono::DateTime::from_timestamp(claim.day * 86_400, 0).unwrap_or_default().date_naive();
    let evidence = format!("the unsubscribe link of a delivery sent on {issued}");
    let entry = entry(&category, false, Source::Unsubscribe, None, Some(evidence));
    record(app, &claim.org, &claim.contact, &category, entry).await
}

/// Withdraws, at once, every category a contact was texted in at `phone`, when a STOP reply
/// comes from it (the SMS provider's webhook). How many decisions it recorded.
pub async fn stop_by_sms(app: &App, phone: &str) -> Result<usize, Error> {
    let mut recorded = 0;
    for texted in app.store.texted_at(phone).await? {
        for id in &texted.categories {
            let category = match categories::find(app, &texted.org, id).await {
                Ok(category) if consent::ensure_consentable(&category).is_ok() => category,
                Ok(_) | Err(Error::Domain(DomainError::NotFound(_))) => continue,
                Err(e) => return Err(e),
            };
            let (consents, _) = app.store.get_consents(&texted.org, &texted.contact).await?;
            if !consents.allows(&category) {
                continue;
            }
            let evidence = format!("STOP replied by SMS from {phone}");
            let entry = entry(&category, false, Source::Unsubscribe, None, Some(evidence));
            record(app, &texted.org, &texted.contact, &category, entry).await?;
            recorded += 1;
        }
    }
    Ok(recorded)
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
    org: &OrgId,
    contact: &UserId,
    category: &Category,
    entry: ConsentEntry,
) -> Result<ConsentView, Error> {
    let mut tries = Tries::new();
    while tries.another().await {
        // Timed at each try, so that the ledger's order is the order decisions took effect.
        let entry = ConsentEntry { at: now(), ..entry.clone() };
        let (mut consents, rev) = app.store.get_consents(org, contact).await?;
        consents.record(&entry);
        if app.store.record_consent(org, contact, &consents, rev, &entry).await? {
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
