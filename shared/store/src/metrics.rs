//! Response cycles, what `GET /v1/metrics` reads: one item per resident message that starts
//! or re-opens a thread (`keys::cycle_pk`, by that message), marked when the first human
//! staff reply, the resolution, the escalation and its acknowledgement come, and listed by
//! month and start time (`keys::cycle_list`) so a period is a few Queries, never a Scan.

use aws_sdk_dynamodb::types::Select;
use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use domain::triage::{Escalation, Path};
use domain::{MessageId, OrgId, ThreadId, ThreadStatus, Topic};
use serde::{Deserialize, Serialize};

use crate::items::{self, data, key, s, Item};
use crate::keys::{self, InboxScope, PK};
use crate::tx::{self, Condition};
use crate::{RowFilter, Store, StoreError};

/// One resident message waiting for staff, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleRecord {
    pub thread_id: ThreadId,
    /// The resident's message that started it.
    pub message_id: MessageId,
    pub topic: Topic,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property_id: Option<String>,
    pub started_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Path>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responded_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Escalation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Staff corrected triage's path: not routed without a manual change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected_at: Option<DateTime<Utc>>,
}

/// What happened to a cycle; each is recorded once (the first time), but a response, which
/// gives way to an earlier one (`Store::answer_cycle_earlier`).
#[derive(Debug, Clone, Copy)]
pub enum CycleMark {
    Responded(DateTime<Utc>),
    Resolved(DateTime<Utc>),
    Acknowledged(DateTime<Utc>),
    Corrected(DateTime<Utc>),
    Triaged { path: Path, escalation: Option<Escalation> },
}

const RESPONDED_AT: &str = "responded_at";

fn cycle_key(org: &OrgId, thread: &ThreadId, message: &MessageId) -> Item {
    key(keys::cycle_pk(org, thread), message.to_string())
}

fn cycle_item(org: &OrgId, cycle: &CycleRecord) -> Result<Item, StoreError> {
    let mut item = cycle_key(org, &cycle.thread_id, &cycle.message_id);
    item.insert(items::DATA.into(), items::av(cycle)?);
    let (list, partition) = keys::cycle_list(org, &cycle.started_at);
    item.insert(list.pk().into(), s(partition));
    item.insert(list.sk().into(), s(keys::log_sk(&cycle.started_at, &cycle.thread_id)));
    Ok(item)
}

/// The first instant of the month of `at`.
fn month_start(at: DateTime<Utc>) -> DateTime<Utc> {
    let day = NaiveDate::from_ymd_opt(at.year(), at.month(), 1).unwrap_or_default();
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
}

impl Store {
    /// Records a cycle (once per starting message). `Ok(false)`: recorded before.
    pub async fn start_cycle(&self, org: &OrgId, cycle: &CycleRecord) -> Result<bool, StoreError> {
        let put = tx::put(&self.table, cycle_item(org, cycle)?, Condition::new("attribute_not_exists(pk)"))?;
        self.write_one(put).await
    }

    /// The cycle the resident's message `message` started, if any.
    pub async fn cycle(
        &self,
        org: &OrgId,
        thread: &ThreadId,
        message: &MessageId,
    ) -> Result<Option<CycleRecord>, StoreError> {
        self.get_data(cycle_key(org, thread, message), true).await
    }

    /// The thread's newest cycle that started by `at` (events arrive in any order: a
    /// reply or a resolution belongs to the cycle before it).
    pub async fn latest_cycle(
        &self,
        org: &OrgId,
        thread: &ThreadId,
        at: DateTime<Utc>,
    ) -> Result<Option<CycleRecord>, StoreError> {
        // Message ids start with their millisecond (10 characters); `Z` sorts last.
        let ms = u64::try_from(at.timestamp_millis()).unwrap_or_default();
        let bound = format!("{}{}", &MessageId::new_at(ms).to_string()[..10], "Z".repeat(16));
        let out = self
            .query()
            .key_condition_expression("#pk = :pk AND #sk <= :bound")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", s(keys::cycle_pk(org, thread)))
            .expression_attribute_values(":bound", s(bound))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        out.items().first().map(data).transpose()
    }

    /// Records `mark` on the cycle unless it has it already. `Ok(false)`: it had (or no
    /// such cycle).
    pub async fn mark_cycle(
        &self,
        org: &OrgId,
        thread: &ThreadId,
        message: &MessageId,
        mark: CycleMark,
    ) -> Result<bool, StoreError> {
        let (field, value) = match mark {
            CycleMark::Responded(at) => (RESPONDED_AT, items::av(&at)?),
            CycleMark::Resolved(at) => ("resolved_at", items::av(&at)?),
            CycleMark::Acknowledged(at) => ("acknowledged_at", items::av(&at)?),
            CycleMark::Corrected(at) => ("corrected_at", items::av(&at)?),
            CycleMark::Triaged { path, escalation } => {
                let set = items::SetExpression::new(
                    "SET #d.#path = :path, #d.#esc = :esc",
                    &[("#d", items::DATA), ("#path", "path"), ("#esc", "escalation")],
                    vec![(":path", items::av(&path)?), (":esc", items::av(&escalation)?)],
                );
                let update =
                    tx::update(&self.table, cycle_key(org, thread, message), set, "attribute_exists(pk)")?;
                return self.write_one(update).await;
            }
        };
        let set = items::SetExpression::new(
            "SET #d.#f = :v",
            &[("#d", items::DATA), ("#f", field)],
            vec![(":v", value)],
        );
        let cond = "attribute_exists(pk) AND attribute_not_exists(#d.#f)";
        self.write_one(tx::update(&self.table, cycle_key(org, thread, message), set, cond)?).await
    }

    /// Records `at` as the cycle's first response in place of `recorded`, the later one it
    /// holds: events arrive in any order, and the earliest reply answers the cycle.
    /// `Ok(false)`: it holds another by now.
    pub async fn answer_cycle_earlier(
        &self,
        org: &OrgId,
        thread: &ThreadId,
        message: &MessageId,
        at: DateTime<Utc>,
        recorded: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let set = items::SetExpression::new(
            "SET #d.#f = :v",
            &[("#d", items::DATA), ("#f", RESPONDED_AT)],
            vec![(":v", items::av(&at)?), (":seen", items::av(&recorded)?)],
        );
        let update = tx::update(&self.table, cycle_key(org, thread, message), set, "#d.#f = :seen")?;
        self.write_one(update).await
    }

    /// The org's cycles that started in `[from, to)`, at most `max` (and whether more were
    /// left out): one Query per month of the period, paged.
    pub async fn cycles_between(
        &self,
        org: &OrgId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        max: usize,
    ) -> Result<(Vec<CycleRecord>, bool), StoreError> {
        let mut cycles = Vec::new();
        let mut month = month_start(from);
        while month < to {
            let (list, partition) = keys::cycle_list(org, &month);
            let mut pages = self
                .query()
                .index_name(list.name())
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
                .expression_attribute_names("#pk", list.pk())
                .expression_attribute_names("#sk", list.sk())
                .expression_attribute_values(":pk", s(partition))
                .expression_attribute_values(":from", s(keys::timestamp(&from)))
                .expression_attribute_values(":to", s(keys::timestamp(&to)))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                for item in page.map_err(StoreError::unavailable)?.items() {
                    if cycles.len() == max {
                        return Ok((cycles, true));
                    }
                    cycles.push(data(item)?);
                }
            }
            month = month.checked_add_months(Months::new(1)).unwrap_or(to);
        }
        Ok((cycles, false))
    }

    /// How many of the org's threads have `status` (in `property`, if given).
    pub async fn backlog(
        &self,
        org: &OrgId,
        status: ThreadStatus,
        property: Option<&str>,
    ) -> Result<u64, StoreError> {
        let scope = InboxScope::Org(org.clone());
        let filter = RowFilter { property_id: property.map(str::to_owned), ..RowFilter::default() };
        let (index, partition) = scope.partition(Some(status));
        let expression = filter.expression(&scope)?;
        let mut pages = self
            .query()
            .index_name(index.name())
            .key_condition_expression("#pk = :pk")
            .set_filter_expression((!expression.terms.is_empty()).then(|| expression.terms.join(" AND ")))
            .set_expression_attribute_names(Some(
                expression.names.into_iter().chain([("#pk".to_owned(), index.pk().to_owned())]).collect(),
            ))
            .set_expression_attribute_values(Some(
                expression.values.into_iter().chain([(":pk".to_owned(), s(partition))]).collect(),
            ))
            .select(Select::Count)
            .into_paginator()
            .send();
        let mut count = 0;
        while let Some(page) = pages.next().await {
            count += u64::try_from(page.map_err(StoreError::unavailable)?.count).unwrap_or_default();
        }
        Ok(count)
    }
}
