//! Inbox lists: one of two indexes by folder, newest activity first. Other filters (topic,
//! property, priority, "not archived") are filter expressions on that Query, read on until the page is full
//! (see [`crate::filled`]).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use domain::{MessageId, Priority, ThreadStatus, Topic};

use crate::items::{self, s, take_field, Item, SUMMARY};
use crate::keys::{self, InboxScope, PK, SK};
use crate::records::{self, Summary};
use crate::{Cursor, Page, Store, StoreError};

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
        // A term on the summary's field `fields`, written by `term` from the field's path
        // and the value's placeholder.
        let mut at_with = |fields: &[&str], value: AttributeValue, term: &dyn Fn(&str, &str) -> String| {
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
            f.terms.push(term(&names.join("."), &format!(":f{i}")));
        };
        if let Some(category) = &self.category_id {
            // The default category is not stored (see `items::summary_av`); rows written
            // before stop 44 name it.
            let default = category == domain::category::SERVICE;
            let term = |p: &str, v: &str| match default {
                true => format!("(attribute_not_exists({p}) OR {p} = {v})"),
                false => format!("{p} = {v}"),
            };
            at_with(&[items::CATEGORY_ID], s(category.clone()), &term);
        }
        let mut at =
            |fields: &[&str], value: AttributeValue| at_with(fields, value, &|p, v| format!("{p} = {v}"));
        if let Some(topic) = &self.topic {
            at(&["topic"], s(topic.as_str()));
        }
        if let Some(property) = &self.property_id {
            at(&["resident", "property_id"], s(property.clone()));
        }
        if let Some(priority) = self.priority {
            at(&["priority"], items::av(&priority)?);
        }
        if self.active {
            let archived = items::av(&ThreadStatus::Archived)?;
            at_with(&["status"], archived, &|p, v| format!("{p} <> {v}"));
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
        let start = q
            .cursor
            .as_ref()
            .map(|c| c.decode(&key_attributes, (gpk, &partition), &keys::org_prefix(q.scope.org())))
            .transpose()?;
        let filter = q.filter.expression(&q.scope)?;
        let filtered = !q.filter.is_empty();
        let (projection, projected) = row_projection(&q.scope, &key_attributes);
        let query = self
            .query()
            .index_name(index.name())
            .key_condition_expression("#pk = :pk")
            .set_filter_expression(filtered.then(|| filter.terms.join(" AND ")))
            .projection_expression(projection)
            .set_expression_attribute_names(Some(
                filter
                    .names
                    .into_iter()
                    .chain([("#pk".to_owned(), gpk.to_owned())])
                    .chain(projected)
                    .collect(),
            ))
            .set_expression_attribute_values(Some(
                filter.values.into_iter().chain([(":pk".to_owned(), s(partition.clone()))]).collect(),
            ))
            .scan_index_forward(q.oldest_first);
        let (items, next) = self.read_filled(query, filtered, q.limit, start, &key_attributes).await?;
        let rows = items.into_iter().map(|item| row(&q.scope, item)).collect::<Result<_, _>>()?;
        Ok(Page { items: rows, next })
    }
}

/// What an inbox Query returns of each row: the keys a cursor holds, the summary and the
/// reader's marker, not the whole thread or participant item (about half of its JSON,
/// which the SDK would parse and the row would not use). Capacity is the same: DynamoDB
/// bills the whole item.
fn row_projection(scope: &InboxScope, keys: &[&str]) -> (String, Vec<(String, String)>) {
    let mut names: Vec<(String, String)> =
        keys.iter().enumerate().map(|(i, key)| (format!("#k{i}"), (*key).to_owned())).collect();
    let mut paths: Vec<String> = names.iter().map(|(name, _)| name.clone()).collect();
    names.push(("#rd".to_owned(), items::DATA.to_owned()));
    names.push(("#rs".to_owned(), SUMMARY.to_owned()));
    match scope {
        InboxScope::Org(_) => paths.push("#rd.#rs".to_owned()),
        InboxScope::User(..) => {
            names.push(("#rm".to_owned(), records::LAST_READ_ID.to_owned()));
            paths.extend(["#rs".to_owned(), "#rd.#rm".to_owned()]);
        }
    }
    (paths.join(", "), names)
}

/// A row as [`row_projection`] read it.
fn row(scope: &InboxScope, mut item: Item) -> Result<InboxRow, StoreError> {
    // Without a record, the summary (staff view) fails to decode as a missing one does.
    let mut record = match item.remove(items::DATA) {
        Some(AttributeValue::M(record)) => record,
        _ => Item::new(),
    };
    Ok(match scope {
        InboxScope::Org(_) => InboxRow { summary: take_field(&mut record, SUMMARY)?, last_read_id: None },
        InboxScope::User(..) => InboxRow {
            summary: take_field(&mut item, SUMMARY)?,
            last_read_id: take_field(&mut record, records::LAST_READ_ID)?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::ParticipantRecord;

    #[test]
    fn the_projected_marker_is_the_records_field() {
        let marker = MessageId::new_at(1_700_000_000_000);
        let record = ParticipantRecord {
            user_id: domain::UserId::parse("resident-1").expect("id"),
            name: "R".into(),
            role: domain::Role::Resident,
            joined_at: chrono::Utc::now(),
            last_read_id: Some(marker),
            public_read_id: None,
        };
        let Ok(AttributeValue::M(mut stored)) = items::av(&record) else { panic!("a map") };
        let mut projected = Item::from([(
            records::LAST_READ_ID.to_owned(),
            stored.remove(records::LAST_READ_ID).expect("the field the projection names"),
        )]);
        assert_eq!(
            take_field::<Option<MessageId>>(&mut projected, records::LAST_READ_ID).ok(),
            Some(Some(marker))
        );
    }
}
