//! User records, which are also the organization's contacts: one item per user (read on
//! every request, so a lock applies at once), indexed by property, by unit and in one list,
//! plus one small item per word of the name, so a name prefix is one Query.
//!
//! Indexes on the user item (`keys::ContactList`, sorted by folded name, then id): by
//! property, by property and unit, the whole org; users due for a scheduled archive sit on
//! `keys::Due::Archive`. Name words (`keys::name_word_sk`) sit on the name list by
//! `{word}#{id}`, each carrying the user.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};
use chrono::{DateTime, Utc};
use domain::contact::{all_name_words, fold, name_words, ContactKind};
use domain::{AccountState, OrgId, ThreadStatus, User, UserId};
use serde::{Deserialize, Serialize};

use crate::items::{self, data, key, s, Item};
use crate::keys::{self, ContactList, Due, InboxScope, Index, PK, SK};
use crate::tx::{self, Condition, TxOutcome};
use crate::{Cursor, Page, Store, StoreError};

fn state_name(state: AccountState) -> &'static str {
    match state {
        AccountState::Active => "active",
        AccountState::Locked => "locked",
        AccountState::Archived => "archived",
    }
}

fn list_sort(u: &User) -> String {
    keys::contact_sk(&fold(&u.name), &u.id)
}

/// Puts `item` on `list` at `sort`.
fn index_on(item: &mut Item, list: ContactList<'_>, org: &OrgId, sort: &str) {
    let (index, partition) = list.partition(org);
    item.insert(index.pk().into(), s(partition));
    item.insert(index.sk().into(), s(sort));
}

fn filter_attrs(item: &mut Item, u: &User) -> Result<(), StoreError> {
    item.insert(items::DATA.into(), items::av(u)?);
    item.insert("state".into(), s(state_name(u.state)));
    if let Some(kind) = u.kind {
        item.insert("kind".into(), items::av(&kind)?);
    }
    Ok(())
}

fn user_item(u: &User) -> Result<Item, StoreError> {
    let org = &u.org;
    let mut item = key(keys::user_pk(org, &u.id), keys::PROFILE_SK);
    filter_attrs(&mut item, u)?;
    item.insert(items::REV.into(), items::n(u.rev));
    let sort = list_sort(u);
    index_on(&mut item, ContactList::All, org, &sort);
    if let Some(property) = &u.property_id {
        index_on(&mut item, ContactList::Property(property), org, &sort);
        if let Some(unit) = &u.unit {
            index_on(&mut item, ContactList::Unit { property, unit }, org, &sort);
        }
    }
    if let (Some(at), AccountState::Active | AccountState::Locked) = (u.archive_at, u.state) {
        item.insert(Index::Gsi1.pk().into(), s(Due::Archive.partition()));
        item.insert(Index::Gsi1.sk().into(), s(keys::due_sk(&at, org, &u.id)));
    }
    Ok(item)
}

fn word_item(u: &User, word: &str) -> Result<Item, StoreError> {
    let mut item = key(keys::user_pk(&u.org, &u.id), keys::name_word_sk(word));
    filter_attrs(&mut item, u)?;
    index_on(&mut item, ContactList::Name, &u.org, &keys::name_word_index_sk(word, &u.id));
    Ok(item)
}

/// How to find contacts: by name prefix, by unit, by property, or all; archived ones only
/// when asked.
#[derive(Debug, Clone, Default)]
pub struct ContactQuery {
    pub name_prefix: Option<String>,
    pub property_id: Option<String>,
    pub unit: Option<String>,
    pub kind: Option<ContactKind>,
    pub include_archived: bool,
    pub cursor: Option<Cursor>,
    pub limit: i32,
}

/// One entry of a contact's audit trail: locks, unlocks, archives, unarchives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub action: String,
    pub actor_id: UserId,
    pub subject_id: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

impl Store {
    pub async fn get_user(&self, org: &OrgId, id: &UserId) -> Result<Option<User>, StoreError> {
        self.get_data(key(keys::user_pk(org, id), keys::PROFILE_SK), false).await
    }

    /// The user as last written (a strongly consistent read).
    pub async fn get_user_now(&self, org: &OrgId, id: &UserId) -> Result<Option<User>, StoreError> {
        self.get_data(key(keys::user_pk(org, id), keys::PROFILE_SK), true).await
    }

    /// The users of `ids` that exist (each once, in any order): one BatchGetItem per 100.
    pub async fn get_users(&self, org: &OrgId, ids: &[UserId]) -> Result<Vec<User>, StoreError> {
        let unique: std::collections::BTreeSet<&UserId> = ids.iter().collect();
        let keys = unique.into_iter().map(|id| key(keys::user_pk(org, id), keys::PROFILE_SK)).collect();
        self.batch_get(keys, false).await?.iter().map(data::<User>).collect()
    }

    /// Creates or replaces a user (seeding, tests), with its contact index entries.
    pub async fn put_user(&self, user: &User) -> Result<(), StoreError> {
        self.write_contact(None, user, None).await
    }

    /// Writes a contact: its user item, the name-word items of its new name (removing
    /// those of `before`), an audit entry, and (a changed e-mail) the removal of the user's
    /// own notification preferences, in one transaction. With `before`, the user
    /// must still be at the revision read (`after.rev` should be one more), so concurrent
    /// changes cannot overwrite each other: the loser gets Contention.
    pub async fn write_contact(
        &self,
        before: Option<&User>,
        after: &User,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let mut writes = Vec::new();
        let cond = match before {
            Some(b) => Condition::new("#rev = :rev").name("#rev", items::REV).value(":rev", items::n(b.rev)),
            None => Condition::always(),
        };
        writes.push(tx::put(&self.table, user_item(after)?, cond)?);
        let words = name_words(&after.name);
        for word in &words {
            writes.push(tx::put(&self.table, word_item(after, word)?, Condition::always())?);
        }
        // Every word of the old name: one written before the cap may have items past it.
        for old in
            before.map(|b| all_name_words(&b.name)).unwrap_or_default().iter().filter(|w| !words.contains(w))
        {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::user_pk(&after.org, &after.id), keys::name_word_sk(old))))
                .build()
                .map_err(StoreError::unavailable)?;
            writes.push(TransactWriteItem::builder().delete(delete).build());
        }
        // A new address, or none, ends the sign-in, and with it the channels whoever signed
        // in chose to be notified on (perhaps the wrong person, at a mistyped address).
        if before.is_some_and(|b| domain::contact::mailbox_changed(b, after)) {
            let prefs = key(keys::user_pk(&after.org, &after.id), keys::NOTIFY_PREFS_SK);
            writes.push(tx::delete(&self.table, prefs, Condition::always())?);
        }
        if let Some(entry) = audit {
            let id = domain::LogId::new_at(u64::try_from(entry.at.timestamp_millis()).unwrap_or_default());
            let mut item = key(keys::audit_pk(&after.org, &entry.subject_id), keys::log_sk(&entry.at, &id));
            item.insert(items::DATA.into(), items::av(entry)?);
            writes.push(tx::put(&self.table, item, Condition::new("attribute_not_exists(pk)"))?);
        }
        match self.transact(writes).await? {
            TxOutcome::Committed => Ok(()),
            TxOutcome::Cancelled(_) => Err(StoreError::Contention),
        }
    }

    /// Creates a contact whose id is new.
    pub async fn create_contact(&self, user: &User) -> Result<bool, StoreError> {
        let mut writes =
            vec![tx::put(&self.table, user_item(user)?, Condition::new("attribute_not_exists(pk)"))?];
        for word in name_words(&user.name) {
            writes.push(tx::put(
                &self.table,
                word_item(user, &word)?,
                Condition::new("attribute_not_exists(pk)"),
            )?);
        }
        Ok(matches!(self.transact(writes).await?, TxOutcome::Committed))
    }

    /// One page of contacts, each once, by name.
    pub async fn search_contacts(&self, org: &OrgId, q: &ContactQuery) -> Result<Page<User>, StoreError> {
        let (list, prefix) = match (&q.name_prefix, &q.property_id, &q.unit) {
            (Some(name), _, _) => (ContactList::Name, Some(fold(name.trim()))),
            (None, Some(property), Some(unit)) => (ContactList::Unit { property, unit }, None),
            (None, Some(property), None) => (ContactList::Property(property), None),
            (None, None, _) => (ContactList::All, None),
        };
        let (index, partition) = list.partition(org);
        let (gpk, gsk) = (index.pk(), index.sk());
        let key_attributes = [PK, SK, gpk, gsk];
        let start = q
            .cursor
            .as_ref()
            .map(|c| c.decode(&key_attributes, (gpk, &partition), &keys::org_prefix(org)))
            .transpose()?;
        let mut filters = Vec::new();
        let mut values: HashMap<String, AttributeValue> =
            HashMap::from([(":p".to_owned(), s(partition.clone()))]);
        let mut condition = "#pk = :p".to_owned();
        if let Some(prefix) = &prefix {
            condition.push_str(" AND begins_with(#sk, :prefix)");
            values.insert(":prefix".into(), s(prefix.clone()));
        }
        if !q.include_archived {
            filters.push("#state <> :archived");
            values.insert(":archived".into(), s("archived"));
        }
        if let Some(kind) = q.kind {
            filters.push("#kind = :kind");
            values.insert(":kind".into(), items::av(&kind)?);
        }
        let mut names = HashMap::from([("#pk".to_owned(), gpk.to_owned())]);
        if prefix.is_some() {
            names.insert("#sk".into(), gsk.to_owned());
        }
        if !q.include_archived {
            names.insert("#state".into(), "state".into());
        }
        if q.kind.is_some() {
            names.insert("#kind".into(), "kind".into());
        }
        let query = self
            .query()
            .index_name(index.name())
            .key_condition_expression(condition)
            .set_filter_expression((!filters.is_empty()).then(|| filters.join(" AND ")))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values));
        // A kind is a few of the list (the staff among thousands of residents): read on
        // until the page is full. Archived contacts are few: a page may come short of them.
        let (items, next) =
            self.read_filled(query, q.kind.is_some(), q.limit, start, &key_attributes).await?;
        let mut seen = std::collections::HashSet::new();
        let mut users = Vec::new();
        for item in &items {
            let user: User = data(item)?;
            if seen.insert(user.id.clone()) {
                users.push(user);
            }
        }
        Ok(Page { items: users, next })
    }

    /// The org's active facility admins (whom an emergency pages when no on-call staff is
    /// set): the contact list read with a filter, at most `max` pages of 1 MB. Rarely
    /// needed and cached by the caller.
    pub async fn facility_admins(&self, org: &OrgId, max_pages: usize) -> Result<Vec<User>, StoreError> {
        let (index, partition) = ContactList::All.partition(org);
        let mut pages = self
            .query()
            .index_name(index.name())
            .key_condition_expression("#pk = :p")
            .filter_expression("#d.#role = :admin AND #state = :active")
            .expression_attribute_names("#pk", index.pk())
            .expression_attribute_names("#d", items::DATA)
            .expression_attribute_names("#role", "role")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":p", s(partition))
            .expression_attribute_values(":admin", items::av(&domain::Role::FacilityAdmin)?)
            .expression_attribute_values(":active", s(state_name(AccountState::Active)))
            .into_paginator()
            .page_size(500)
            .send();
        let mut admins = Vec::new();
        for _ in 0..max_pages {
            let Some(page) = pages.next().await else { break };
            for item in page.map_err(StoreError::unavailable)?.items() {
                admins.push(data(item)?);
            }
        }
        Ok(admins)
    }

    /// Whether a user still has conversations waiting for an answer or not resolved.
    pub async fn has_open_threads(&self, org: &OrgId, user: &UserId) -> Result<bool, StoreError> {
        let inbox = InboxScope::User(org.clone(), user.clone());
        for status in [ThreadStatus::Unread, ThreadStatus::Open] {
            let (index, partition) = inbox.partition(Some(status));
            let out = self
                .query()
                .index_name(index.name())
                .key_condition_expression("#pk = :p")
                .expression_attribute_names("#pk", index.pk())
                .expression_attribute_values(":p", s(partition))
                .limit(1)
                .send()
                .await
                .map_err(StoreError::unavailable)?;
            if !out.items().is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Users whose scheduled archive date has come (maintenance: one index Query).
    pub async fn archives_due(&self, now: DateTime<Utc>, limit: i32) -> Result<Vec<User>, StoreError> {
        let due = self.query_due(Due::Archive, keys::due_by(&now), limit).await?;
        due.iter().map(data::<User>).collect()
    }

    /// A contact's audit trail, oldest first, every page of it.
    pub async fn audit_trail(&self, org: &OrgId, subject: &UserId) -> Result<Vec<AuditEntry>, StoreError> {
        let query = (self.query())
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s(keys::audit_pk(org, subject)));
        self.read_records(query, usize::MAX).await
    }
}
