//! Communication categories (facility admins write, staff read): the built-in `service`
//! category and the org's own, all in one settings item so that a topic is never claimed
//! by two categories, however admins race.

use domain::category::{self, Category, ConsentMode, MAX_CATEGORIES};
use domain::{policy, DomainError, ErrorCode, Topic, User, UserId};
use store::retry::Tries;

use crate::conversation::{millis, now};
use crate::{App, Error};

/// A category as asked: everything but its id.
pub struct NewCategory {
    pub name: String,
    pub consent: ConsentMode,
    pub topics: Vec<Topic>,
    pub auditors: Vec<UserId>,
    pub dispatchers: Vec<UserId>,
}

/// What an edit changes; `None` leaves a field as it is. The consent mode is set when the
/// category is created: changing it would change whom its messages may reach.
#[derive(Default)]
pub struct CategoryChange {
    pub name: Option<String>,
    pub consent: Option<ConsentMode>,
    pub topics: Option<Vec<Topic>>,
    pub auditors: Option<Vec<UserId>>,
    pub dispatchers: Option<Vec<UserId>>,
}

/// The built-in category first, then the org's by name.
pub async fn list(app: &App, actor: &User) -> Result<Vec<Category>, Error> {
    policy::ensure_staff(actor)?;
    let (mut all, _) = app.store.get_categories(&actor.org).await?;
    all.sort_by_cached_key(|c| c.name.to_lowercase());
    all.insert(0, Category::service());
    Ok(all)
}

pub async fn show(app: &App, actor: &User, id: &str) -> Result<Category, Error> {
    let all = list(app, actor).await?;
    all.into_iter().find(|c| c.id == id).ok_or_else(|| DomainError::NotFound("category").into())
}

pub async fn create(app: &App, actor: &User, new: NewCategory) -> Result<Category, Error> {
    policy::ensure_org_admin(actor)?;
    let category = Category {
        id: domain::ids::new_category_id(millis(now())),
        name: new.name,
        consent: new.consent,
        topics: new.topics,
        auditors: new.auditors,
        dispatchers: new.dispatchers,
    };
    ensure_staff_ids(app, actor, &category).await?;
    save(app, actor, |all| {
        if all.len() >= MAX_CATEGORIES {
            let message = format!("an organization has at most {MAX_CATEGORIES} categories");
            return Err(DomainError::conflict(ErrorCode::TooManyCategories, message).into());
        }
        Ok(category.clone())
    })
    .await
}

pub async fn update(app: &App, actor: &User, id: &str, change: CategoryChange) -> Result<Category, Error> {
    policy::ensure_org_admin(actor)?;
    if id == category::SERVICE {
        let message = "the built-in service category cannot be changed";
        return Err(DomainError::conflict(ErrorCode::NotAllowed, message).into());
    }
    let people: Vec<UserId> =
        change.auditors.iter().chain(change.dispatchers.iter()).flatten().cloned().collect();
    ensure_staff(app, actor, &people).await?;
    // Applied to the categories as each try reads them: a concurrent change to another
    // field is kept, not overwritten.
    save(app, actor, |all| {
        let before = all.iter().find(|c| c.id == id).cloned().ok_or(DomainError::NotFound("category"))?;
        if change.consent.is_some_and(|c| c != before.consent) {
            let message = "a category's consent mode is set when it is created";
            return Err(DomainError::invalid(ErrorCode::ConsentFixed, message).into());
        }
        Ok(Category {
            name: change.name.clone().unwrap_or(before.name),
            topics: change.topics.clone().unwrap_or(before.topics),
            auditors: change.auditors.clone().unwrap_or(before.auditors),
            dispatchers: change.dispatchers.clone().unwrap_or(before.dispatchers),
            ..before
        })
    })
    .await
}

/// Builds the category to store from the org's categories as read (`make`), validates it
/// among the others and stores it in their place (new, or replacing the one of its id),
/// conditioned on the revision read: a lost race reads and builds again.
async fn save(
    app: &App,
    actor: &User,
    make: impl Fn(&[Category]) -> Result<Category, Error>,
) -> Result<Category, Error> {
    let mut tries = Tries::new();
    while tries.another().await {
        let (mut all, rev) = app.store.get_categories(&actor.org).await?;
        let saved = make(&all)?.validated(&all)?;
        match all.iter_mut().find(|c| c.id == saved.id) {
            Some(slot) => *slot = saved.clone(),
            None => all.push(saved.clone()),
        }
        if app.store.put_categories(&actor.org, &all, rev).await? {
            return Ok(saved);
        }
    }
    Err(store::StoreError::Contention.into())
}

/// Auditors and dispatchers must be staff of the org (one BatchGetItem).
async fn ensure_staff_ids(app: &App, actor: &User, category: &Category) -> Result<(), Error> {
    let named: Vec<UserId> = category.auditors.iter().chain(&category.dispatchers).cloned().collect();
    ensure_staff(app, actor, &named).await
}

async fn ensure_staff(app: &App, actor: &User, named: &[UserId]) -> Result<(), Error> {
    if named.is_empty() {
        return Ok(());
    }
    let found = app.store.get_users(&actor.org, named).await?;
    if let Some(id) = named.iter().find(|id| !found.iter().any(|u| &u.id == *id && u.role.is_staff())) {
        let message = format!("'{id}' is not a staff member of this organization");
        return Err(DomainError::invalid(ErrorCode::UnknownStaff, message).into());
    }
    Ok(())
}

/// What a staff member who is not in a thread may do with the threads of a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CategoryRole {
    /// Reads every thread of the category in the org, internal notes included; never writes.
    Auditor,
    /// Reads the category's threads in the properties they work for, is alerted to their
    /// residents' messages and adds participants; does not post.
    Dispatcher,
}

/// The actor's role in category `id` for a thread of `property` (staff named among its
/// auditors, or among its dispatchers and working for the property; the built-in category
/// has neither).
pub(crate) async fn role_in(
    app: &App,
    actor: &User,
    id: &str,
    property: Option<&str>,
) -> Result<Option<CategoryRole>, Error> {
    if !actor.role.is_staff() || id == category::SERVICE {
        return Ok(None);
    }
    let category = match find(app, &actor.org, id).await {
        Ok(category) => category,
        Err(Error::Domain(DomainError::NotFound(_))) => return Ok(None),
        Err(e) => return Err(e),
    };
    // A dispatcher who also audits may still assign in their properties.
    if category.dispatchers.contains(&actor.id) && policy::works_for(actor, property) {
        Ok(Some(CategoryRole::Dispatcher))
    } else if category.auditors.contains(&actor.id) {
        Ok(Some(CategoryRole::Auditor))
    } else {
        Ok(None)
    }
}

/// A category of the org (the built-in one included), or 404.
pub(crate) async fn find(app: &App, org: &domain::OrgId, id: &str) -> Result<Category, Error> {
    if id == category::SERVICE {
        return Ok(Category::service());
    }
    let (all, _) = app.store.get_categories(org).await?;
    all.into_iter().find(|c| c.id == id).ok_or_else(|| DomainError::NotFound("category").into())
}

/// The category of a new thread: the one staff named (it must exist), else the one
/// claiming its topic, else `service`.
pub(crate) async fn of_new_thread(
    app: &App,
    actor: &User,
    topic: &Topic,
    named: Option<&str>,
) -> Result<Category, Error> {
    if named == Some(category::SERVICE) {
        return Ok(Category::service());
    }
    let (all, _) = app.store.get_categories(&actor.org).await?;
    match named {
        Some(id) => all.into_iter().find(|c| c.id == id).ok_or_else(|| {
            DomainError::invalid(
                ErrorCode::UnknownCategory,
                "category_id names no category of this organization",
            )
            .into()
        }),
        None => Ok(category::of_topic(&all, topic).cloned().unwrap_or_else(Category::service)),
    }
}
