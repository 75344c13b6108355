//! Saved replies and signatures: staff keep texts to reuse (personal, or org-wide kept by
//! facility admins) and a signature; a post may name a template, rendered from its thread.

use domain::template::{template_name, Context, Signature, TemplateBody};
use domain::{policy, DomainError, ErrorCode, MessageBody, TemplateId, User};
use store::{TemplateRecord, ThreadView};

use crate::conversation::{millis, now};
use crate::{App, Error};

/// Each list (the org's, each person's own) holds at most this many templates.
pub const MAX_TEMPLATES: usize = 100;

pub struct NewTemplate {
    pub name: String,
    pub body: TemplateBody,
    /// Kept by the facility admins for everyone, or the author's own.
    pub org_wide: bool,
}

#[derive(Default)]
pub struct TemplateChange {
    pub name: Option<String>,
    pub body: Option<TemplateBody>,
    /// The scope the caller thinks it has: it is fixed at creation, so another is refused.
    pub org_wide: Option<bool>,
}

pub async fn create(app: &App, actor: &User, new: NewTemplate) -> Result<TemplateRecord, Error> {
    policy::ensure_staff(actor)?;
    policy::ensure_can_write(actor)?;
    if new.org_wide {
        policy::ensure_org_admin(actor)?;
    }
    let owner = (!new.org_wide).then(|| actor.id.clone());
    if app.store.count_templates(&actor.org, owner.as_ref()).await? >= MAX_TEMPLATES {
        let message = format!("a template list holds at most {MAX_TEMPLATES} templates; delete one first");
        return Err(DomainError::conflict(ErrorCode::TooManyTemplates, message).into());
    }
    let at = now();
    let record = TemplateRecord {
        id: TemplateId::new_at(millis(at)),
        org: actor.org.clone(),
        name: template_name(&new.name)?,
        body: new.body,
        owner,
        created_by: actor.id.clone(),
        updated_at: at,
    };
    if !app.store.save_template(&record, true).await? {
        return Err(store::StoreError::Contention.into());
    }
    Ok(record)
}

/// The org's templates and the actor's own, by name.
pub async fn list(app: &App, actor: &User) -> Result<Vec<TemplateRecord>, Error> {
    policy::ensure_staff(actor)?;
    let mut all = app.store.list_templates(&actor.org, &actor.id).await?;
    all.sort_by_cached_key(|t| (t.name.to_lowercase(), t.id));
    Ok(all)
}

/// A template the actor may use: the org's, or their own; anyone else's is not found.
pub async fn show(app: &App, actor: &User, id: &TemplateId) -> Result<TemplateRecord, Error> {
    policy::ensure_staff(actor)?;
    let found = app.store.find_template(&actor.org, &actor.id, id).await?;
    Ok(found.ok_or(DomainError::NotFound("template"))?)
}

pub async fn update(
    app: &App,
    actor: &User,
    id: &TemplateId,
    change: TemplateChange,
) -> Result<TemplateRecord, Error> {
    let before = editable(app, actor, id).await?;
    if change.org_wide.is_some_and(|org_wide| org_wide != before.owner.is_none()) {
        let message = "a template's scope is set when it is created";
        return Err(DomainError::invalid(ErrorCode::ScopeFixed, message).into());
    }
    let after = TemplateRecord {
        name: change.name.as_deref().map(template_name).transpose()?.unwrap_or(before.name),
        body: change.body.unwrap_or(before.body),
        updated_at: now(),
        ..before
    };
    if !app.store.save_template(&after, false).await? {
        return Err(DomainError::NotFound("template").into());
    }
    Ok(after)
}

pub async fn delete(app: &App, actor: &User, id: &TemplateId) -> Result<(), Error> {
    let record = editable(app, actor, id).await?;
    if !app.store.delete_template(&record).await? {
        return Err(DomainError::NotFound("template").into());
    }
    Ok(())
}

/// A template the actor may change: their own, or (facility admins) the org's.
async fn editable(app: &App, actor: &User, id: &TemplateId) -> Result<TemplateRecord, Error> {
    let record = show(app, actor, id).await?;
    policy::ensure_can_write(actor)?;
    if record.owner.is_none() {
        policy::ensure_org_admin(actor)?;
    }
    Ok(record)
}

/// The text of template `id` for a post by `actor` to the thread of `view`. A template
/// the actor cannot use is refused as unknown: it is part of the request's body.
pub async fn render(
    app: &App,
    actor: &User,
    view: &ThreadView,
    id: &TemplateId,
) -> Result<MessageBody, Error> {
    policy::ensure_staff(actor)?;
    let unknown =
        || DomainError::invalid(ErrorCode::UnknownTemplate, "template_id names no template you can use");
    let thread = &view.thread;
    let resident = &thread.summary.resident;
    // The property is on the resident's contact, not on the thread: both read at once.
    let (template, contact) = tokio::try_join!(
        app.store.find_template(&actor.org, &actor.id, id),
        app.store.get_user(&actor.org, &resident.id),
    )?;
    let template = template.ok_or_else(unknown)?;
    let property = contact.and_then(|u| u.property_id);
    let context = Context {
        resident_name: Some(resident.name.clone()),
        unit: resident.unit.clone(),
        property,
        staff_name: Some(actor.name.clone()),
        linked_record_id: thread.linked_record.as_ref().map(|r| r.id.clone()),
        linked_record_label: thread.linked_record.as_ref().and_then(|r| r.label.clone()),
    };
    Ok(template.body.render(&context)?)
}

/// The actor's signature; off until they set one.
pub async fn signature(app: &App, actor: &User) -> Result<Signature, Error> {
    policy::ensure_staff(actor)?;
    Ok(app.store.get_signature(&actor.org, &actor.id).await?.unwrap_or_default())
}

pub async fn set_signature(app: &App, actor: &User, signature: Signature) -> Result<Signature, Error> {
    policy::ensure_staff(actor)?;
    policy::ensure_can_write(actor)?;
    let signature = signature.parse()?;
    app.store.put_signature(&actor.org, &actor.id, &signature).await?;
    Ok(signature)
}
