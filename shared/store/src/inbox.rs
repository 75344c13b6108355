//! Inbox lists: one of two indexes by folder, newest activity first. Other filters (topic,
//! property, priority, "not archived") are filter expressions on that Query, read on until the page is full
//! (see [`MAX_FILTERED_READS`]).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use domain::{MessageId, Priority, ThreadStatus, Topic};

use crate::items::{self, data, field, s, Item, SUMMARY};
use crate::keys::{self, InboxScope, PK, SK};
use crate::records::{ParticipantRecord, Summary, ThreadRecord};
use crate::{Cursor, Page, Store, StoreError};

/// A filtered list reads at most this many index pages (of [`FILTERED_READ_ROWS`] rows
/// each) for one page of answer; past that it answers what it found, with a cursor.
pub const MAX_FILTERED_READS: usize = 5;
const FILTERED_READ_ROWS: i32 = 200;

#[derive(Debug, Clone)]
pub struct InboxQuery {
    pub scope: InboxScope,
    pub status: Option<ThreadStatus>,
    pub filter: RowFilter,
    pub cursor: Option<Cursor>,
    pub limit: i32,
    /// Least recent activity first (a full pass that must see every thread once: one that
    /// moves meanwhile moves ahead, where the pass will meet it again) instead of most recent.
    pub oldest_first: bool,
}

/// What rows must also match, beyond their index partition.
#[derive(Debug, Clone, Default)]
pub struct RowFilter {
    pub topic: Option<Topic>,
    pub category_id: Option<String>,
    pub property_id: Option<String>,
    pub priority: Option<Priority>,
    /// Every status but archived (a resident's inbox).
    pub active: bool,
}

impl RowFilter {
    fn is_empty(&self) -> bool {
        self.topic.is_none()
            && self.category_id.is_none()
            && self.property_id.is_none()
            && self.priority.is_none()
            && !self.active
    }

    /// The filter expression on rows of `scope` (the summary is `data.summary` on thread
    /// items, `summary` on participant items).
    pub(crate) fn expression(&self, scope: &InboxScope) -> Result<Filter, StoreError> {
        let mut f = Filter::default();
        let path: &[&str] = match scope {
            InboxScope::Org(_) => &[items::DATA, SUMMARY],
            InboxScope::User(..) => &[SUMMARY],
        };
        let mut at_op = |fields: &[&str], op: &str, value: AttributeValue| {
            let i = f.values.len();
            let names: Vec<String> = path
                .iter()
                .chain(fields)
                .enumerate()
                .map(|(j, name)| {
                    f.names.insert(format!("#f{i}_{j}"), (*name).to_owned());
                    format!("#f{i}_{j}")
                })
                .collect();
            f.values.insert(format!(":f{i}"), value);
            f.terms.push(format!("{} {op} :f{i}", names.join(".")));
        };
        let mut at = |fields: &[&str], value: AttributeValue| at_op(fields, "=", value);
        if let Some(topic) = &self.topic {
            at(&["topic"], s(topic.as_str()));
        }
        if let Some(category) = &self.category_id {
            at(&["category_id"], s(category.clone()));
        }
        if let Some(property) = &self.property_id {
            at(&["resident", "property_id"], s(property.clone()));
        }
        if let Some(priority) = self.priority {
            at(&["priority"], items::av(&priority)?);
        }
        if self.active {
            at_op(&["status"], "<>", items::av(&ThreadStatus::Archived)?);
        }
        Ok(f)
    }
}

#[derive(Default)]
pub(crate) struct Filter {
    pub(crate) terms: Vec<String>,
    pub(crate) names: HashMap<String, String>,
    pub(crate) values: HashMap<String, AttributeValue>,
}

/// A row of an inbox, with the reader's read marker when the inbox is a participant's.
#[derive(Debug, Clone)]
pub struct InboxRow {
    pub summary: Summary,
    pub last_read_id: Option<MessageId>,
}

impl Store {
    pub async fn list_inbox(&self, q: &InboxQuery) -> Result<Page<InboxRow>, StoreError> {
        let (index, partition) = q.scope.partition(q.status);
        let (gpk, gsk) = (index.pk(), index.sk());
        let key_attributes = [PK, SK, gpk, gsk];
        let mut start = q
            .cursor
            .as_ref()
            .map(|c| c.decode(&key_attributes, (gpk, &partition), &keys::org_prefix(q.scope.org())))
            .transpose()?;
        let filter = q.filter.expression(&q.scope)?;
        let filtered = !q.filter.is_empty();
        let wanted = usize::try_from(q.limit).unwrap_or(0);
        let mut items = Vec::new();
        for _ in 0..MAX_FILTERED_READS {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index.name())
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", gpk)
                .expression_attribute_values(":pk", s(partition.clone()))
                .set_filter_expression(filtered.then(|| filter.terms.join(" AND ")))
                .set_expression_attribute_names(Some(
                    filter.names.clone().into_iter().chain([("#pk".to_owned(), gpk.to_owned())]).collect(),
                ))
                .set_expression_attribute_values(Some(
                    filter
                        .values
                        .clone()
                        .into_iter()
                        .chain([(":pk".to_owned(), s(partition.clone()))])
                        .collect(),
                ))
                .scan_index_forward(q.oldest_first)
                .limit(if filtered { FILTERED_READ_ROWS } else { q.limit })
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(StoreError::unavailable)?;
            for item in out.items() {
                if items.len() == wanted {
                    // Full before this read's end: the next page starts after the last row.
                    let next = Cursor::encode(&key_of(items.last(), &key_attributes));
                    return finish(&q.scope, items, next);
                }
                items.push(item.clone());
            }
            start = out.last_evaluated_key().filter(|k| !k.is_empty()).cloned();
            if start.is_none() || items.len() == wanted || !filtered {
                break;
            }
        }
        let next = start.as_ref().and_then(Cursor::encode);
        finish(&q.scope, items, next)
    }
}

/// The key attributes of a row, as a cursor holds them.
fn key_of(item: Option<&Item>, attributes: &[&str]) -> HashMap<String, AttributeValue> {
    let item = item.cloned().unwrap_or_default();
    attributes.iter().filter_map(|a| item.get(*a).map(|v| ((*a).to_owned(), v.clone()))).collect()
}

fn finish(scope: &InboxScope, items: Vec<Item>, next: Option<Cursor>) -> Result<Page<InboxRow>, StoreError> {
    let rows = items.iter().map(|item| row(scope, item)).collect::<Result<_, _>>()?;
    Ok(Page { items: rows, next })
}

fn row(scope: &InboxScope, item: &Item) -> Result<InboxRow, StoreError> {
    Ok(match scope {
        InboxScope::Org(_) => InboxRow { summary: data::<ThreadRecord>(item)?.summary, last_read_id: None },
        InboxScope::User(..) => InboxRow {
            summary: field(item, SUMMARY)?,
            last_read_id: data::<ParticipantRecord>(item)?.last_read_id,
        },
    })
}
