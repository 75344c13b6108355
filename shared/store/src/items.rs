//! Item layout: how records become DynamoDB items and back. Records live under `data`;
//! the few attributes that keys, indexes and conditions need are kept at the top level.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use domain::triage::ThreadTriage;
use domain::{MessageId, OrgId, ThreadId, ThreadStatus};
use serde::{de::DeserializeOwned, Serialize};

use crate::keys::{self, InboxScope, PK, SK};
use crate::records::{ParticipantRecord, Summary, ThreadRecord, TimelineItem};
use crate::StoreError;

pub type Item = HashMap<String, AttributeValue>;

pub const DATA: &str = "data";
/// The revision an item is written at: a change is conditioned on the one it read.
pub const REV: &str = "rev";
pub const SUMMARY: &str = "summary";
pub const VERSION: &str = "version";
pub const LAST_ID: &str = "last_id";
pub const MEMBERS_VERSION: &str = "members_version";
pub const INTERNAL: &str = "internal";
pub const EXPIRES_AT: &str = "expires_at";

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn av<T: Serialize>(v: &T) -> Result<AttributeValue, StoreError> {
    Ok(serde_dynamo::to_attribute_value(v)?)
}

pub fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// Decodes the record under `data`.
pub fn data<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    field(item, DATA)
}

/// Decodes the record under `data`, taking it out of `item` (see [`take_field`]).
pub fn take_data<T: DeserializeOwned>(item: &mut Item) -> Result<T, StoreError> {
    take_field(item, DATA)
}

pub fn field<T: DeserializeOwned>(item: &Item, name: &str) -> Result<T, StoreError> {
    decode(item.get(name).cloned())
}

/// Decodes the attribute `name`, taking it out of `item`: a list's rows are decoded
/// without copying each record first.
pub fn take_field<T: DeserializeOwned>(item: &mut Item, name: &str) -> Result<T, StoreError> {
    decode(item.remove(name))
}

/// An attribute's value as `T`; a missing one decodes as null (an `Option`'s `None`).
fn decode<T: DeserializeOwned>(value: Option<AttributeValue>) -> Result<T, StoreError> {
    Ok(serde_dynamo::from_attribute_value(value.unwrap_or(AttributeValue::Null(true)))?)
}

/// The four inbox index attributes of a row in `scope`: by status and all, each sorted by
/// last activity.
pub fn inbox_keys(scope: &InboxScope, summary: &Summary) -> Vec<(String, AttributeValue)> {
    let mut keys = index_partitions(scope, summary.status);
    keys.extend(index_sorts(&keys::activity_sk(&summary.updated_at)));
    keys
}

/// The partition keys of the inbox indexes.
pub fn index_partitions(scope: &InboxScope, status: ThreadStatus) -> Vec<(String, AttributeValue)> {
    scope.partitions(status).into_iter().map(|(index, p)| (index.pk().to_owned(), s(p))).collect()
}

/// The sort keys of the inbox indexes: the same activity key.
pub fn index_sorts(sort: &str) -> Vec<(String, AttributeValue)> {
    InboxScope::INDEXES.iter().map(|index| (index.sk().to_owned(), s(sort))).collect()
}

/// `ThreadRecord::public_last`, as stored under `data`.
pub const PUBLIC_LAST: &str = "public_last";
/// Under `data`, the id of the last public message while `public_last` is not stored: the
/// last message is that one only if its id is this (a note posted by a release before stop
/// 36 leaves neither behind, even within the same millisecond).
pub const PUBLIC_ID: &str = "public_id";

/// [`PUBLIC_ID`] of a thread item.
pub fn public_id(item: &Item) -> Option<MessageId> {
    let data = item.get(DATA)?.as_m().ok()?;
    MessageId::parse(data.get(PUBLIC_ID)?.as_s().ok()?).ok()
}

/// An inbox row's summary as stored: without the category when it is the default one,
/// which reading fills in (every post rewrites the items that hold a summary).
pub fn summary_av(summary: &Summary) -> Result<AttributeValue, StoreError> {
    let mut stored = av(summary)?;
    if let AttributeValue::M(fields) = &mut stored {
        if summary.category_id == domain::category::SERVICE {
            fields.remove(CATEGORY_ID);
        }
    }
    Ok(stored)
}

/// The summary's field naming its category.
pub const CATEGORY_ID: &str = "category_id";

pub fn thread_item(thread: &ThreadRecord) -> Result<Item, StoreError> {
    let mut item = key(keys::thread_pk(&thread.org, &thread.summary.id), keys::META_SK);
    let mut data = av(thread)?;
    if let AttributeValue::M(fields) = &mut data {
        fields.insert(SUMMARY.into(), summary_av(&thread.summary)?);
        if let Some(last) =
            thread.public_last.as_ref().filter(|l| thread.summary.last_message.as_ref() == Some(l))
        {
            // See `ThreadRecord::public_last`.
            fields.remove(PUBLIC_LAST);
            fields.insert(PUBLIC_ID.into(), s(last.id.to_string()));
        }
        // The clock's newest message is the thread's whenever it is known: the version says so.
        fields.remove(domain::response::THROUGH_FIELD);
    }
    if thread.response.known(thread.last_id()).is_some() {
        item.insert(domain::response::KNOWN_AT_FIELD.into(), n(thread.version));
    }
    item.insert(DATA.into(), data);
    item.insert(VERSION.into(), n(thread.version));
    item.insert(MEMBERS_VERSION.into(), n(thread.members_version));
    if let Some(last) = thread.last_id() {
        item.insert(LAST_ID.into(), s(last.to_string()));
    }
    item.extend(inbox_keys(&InboxScope::Org(thread.org.clone()), &thread.summary));
    Ok(item)
}

pub fn participant_item(
    org: &OrgId,
    participant: &ParticipantRecord,
    summary: &Summary,
) -> Result<Item, StoreError> {
    let mut item = key(keys::thread_pk(org, &summary.id), keys::participant_sk(&participant.user_id));
    item.insert(DATA.into(), av(participant)?);
    item.insert(SUMMARY.into(), summary_av(summary)?);
    let scope = InboxScope::User(org.clone(), participant.user_id.clone());
    item.extend(inbox_keys(&scope, summary));
    Ok(item)
}

/// What triage made of the thread, in its own item beside the thread item.
pub fn triage_item(org: &OrgId, thread: &ThreadId, triage: &ThreadTriage) -> Result<Item, StoreError> {
    let mut item = key(keys::thread_pk(org, thread), keys::TRIAGE_SK);
    item.insert(DATA.into(), av(triage)?);
    Ok(item)
}

pub fn timeline_item(org: &OrgId, thread: &ThreadId, entry: &TimelineItem) -> Result<Item, StoreError> {
    let mut item = key(keys::thread_pk(org, thread), keys::timeline_sk(entry.id()));
    item.insert(DATA.into(), av(entry)?);
    item.insert(INTERNAL.into(), AttributeValue::Bool(entry.internal()));
    Ok(item)
}

/// `SET #a0_0 = :a0, #a1_0.#a1_1 = :a1, …` with its names and values, for UpdateItem.
/// Field names may be document paths (`data.last_read_id`).
pub struct SetExpression {
    pub expression: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl SetExpression {
    /// An update expression with its `#name`s (attribute names) and `:value`s.
    pub fn new(
        expression: impl Into<String>,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) -> Self {
        Self {
            expression: expression.into(),
            names: names.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            values: values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        }
    }
}

pub fn set_expression(fields: Vec<(String, AttributeValue)>) -> SetExpression {
    let mut names = HashMap::new();
    let mut values = HashMap::new();
    let mut parts = Vec::new();
    for (i, (path, value)) in fields.into_iter().enumerate() {
        // `a.b` is a document path: one placeholder per segment.
        let segments: Vec<String> = path
            .split('.')
            .enumerate()
            .map(|(j, segment)| {
                names.insert(format!("#a{i}_{j}"), segment.to_owned());
                format!("#a{i}_{j}")
            })
            .collect();
        values.insert(format!(":a{i}"), value);
        parts.push(format!("{} = :a{i}", segments.join(".")));
    }
    SetExpression { expression: format!("SET {}", parts.join(", ")), names, values }
}

impl crate::Store {
    /// The record stored under `data` in the item at `key`, if any.
    pub(crate) async fn get_data<T: DeserializeOwned>(
        &self,
        key: Item,
        consistent: bool,
    ) -> Result<Option<T>, StoreError> {
        self.get_item(key, consistent).await?.map(|mut item| take_data(&mut item)).transpose()
    }

    /// The item at `key`, if any.
    pub(crate) async fn get_item(&self, key: Item, consistent: bool) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(out.item)
    }

    /// The items at `keys` that exist, in any order: BatchGetItem, 100 keys a request (no
    /// key twice), again for any keys DynamoDB leaves unprocessed, as it may under load.
    pub(crate) async fn batch_get(&self, keys: Vec<Item>, consistent: bool) -> Result<Vec<Item>, StoreError> {
        /// Rounds of unprocessed keys before they count as a failure.
        const MAX_BATCH_ATTEMPTS: u32 = 5;
        let mut items = Vec::new();
        for chunk in keys.chunks(100) {
            let mut keys = chunk.to_vec();
            let mut attempt = 0;
            while !keys.is_empty() {
                if attempt == MAX_BATCH_ATTEMPTS {
                    // Still throttled: a missing record must not read as "not there".
                    return Err(StoreError::unavailable(std::io::Error::other(
                        "BatchGetItem left keys unprocessed",
                    )));
                }
                if attempt > 0 {
                    crate::retry::backoff(attempt - 1).await;
                }
                attempt += 1;
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut keys)))
                    .consistent_read(consistent)
                    .build()
                    .map_err(StoreError::unavailable)?;
                let out = (self.client.batch_get_item())
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(StoreError::unavailable)?;
                items.extend(out.responses().and_then(|r| r.get(&self.table)).into_iter().flatten().cloned());
                keys = out
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .map(|k| k.keys().to_vec())
                    .unwrap_or_default();
            }
        }
        Ok(items)
    }

    /// One page of an org's index partition (`list`), from `cursor` (checked to be this
    /// partition's and this org's): the items' `data` and the cursor after them.
    pub(crate) async fn index_page<T: DeserializeOwned>(
        &self,
        org: &domain::OrgId,
        list: (crate::keys::Index, String),
        cursor: Option<&crate::Cursor>,
        limit: i32,
        forward: bool,
    ) -> Result<crate::Page<T>, StoreError> {
        let (index, partition) = list;
        let (gpk, gsk) = (index.pk(), index.sk());
        let start = cursor
            .map(|c| {
                c.decode(
                    &[crate::keys::PK, crate::keys::SK, gpk, gsk],
                    (gpk, &partition),
                    &crate::keys::org_prefix(org),
                )
            })
            .transpose()?;
        let query = self
            .query()
            .index_name(index.name())
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", gpk)
            .expression_attribute_values(":pk", s(partition))
            .scan_index_forward(forward)
            .limit(limit);
        self.data_page(query, start).await
    }

    /// One page of the org's table partition `pk`, from `cursor` (checked to be this
    /// partition's and this org's), strongly consistent (its lists are read right after
    /// writes to them): the items' `data` and the cursor after them.
    pub(crate) async fn partition_page<T: DeserializeOwned>(
        &self,
        org: &domain::OrgId,
        pk: String,
        cursor: Option<&crate::Cursor>,
        limit: Option<i32>,
        forward: bool,
    ) -> Result<crate::Page<T>, StoreError> {
        let start = cursor.map(|c| c.decode(&[PK, SK], (PK, &pk), &keys::org_prefix(org))).transpose()?;
        let query = self
            .query()
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", s(pk))
            .consistent_read(true)
            .scan_index_forward(forward)
            .set_limit(limit);
        self.data_page(query, start).await
    }

    /// Writes `value` under `data` in the item at `key`, replacing it.
    pub(crate) async fn put_data<T: Serialize>(&self, mut key: Item, value: &T) -> Result<(), StoreError> {
        key.insert(DATA.into(), av(value)?);
        self.put(key).await
    }

    /// Writes `item`, replacing any there (an unconditional PutItem).
    pub(crate) async fn put(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }
}
