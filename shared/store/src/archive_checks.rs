//! When a resolved thread is next looked at for archiving (`keys::ARCHIVE_CHECK_SK` in the
//! thread's partition, on `Due::ResolvedThread`). Written with the change that resolves the
//! thread; the `jobs` schedule archives it, moves the check on, or drops it.

use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::{DateTime, Utc};
use domain::{OrgId, ThreadId};
use serde::{Deserialize, Serialize};

use crate::items::{self, data, key, s, Item};
use crate::keys::{self, Due, Index};
use crate::tx::{self, Condition};
use crate::{Store, StoreError};

/// What a thread change does to the thread's archive check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveCheck {
    Keep,
    /// (Re)schedule it then.
    At(DateTime<Utc>),
    Drop,
}

/// A resolved thread due for a look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueThread {
    pub org: OrgId,
    pub thread_id: ThreadId,
    pub due: DateTime<Utc>,
}

fn check_key(org: &OrgId, thread: &ThreadId) -> Item {
    key(keys::thread_pk(org, thread), keys::ARCHIVE_CHECK_SK)
}

/// The write a change makes to the check, if any.
pub(crate) fn write(
    table: &str,
    org: &OrgId,
    thread: &ThreadId,
    check: ArchiveCheck,
) -> Result<Option<TransactWriteItem>, StoreError> {
    match check {
        ArchiveCheck::Keep => Ok(None),
        ArchiveCheck::Drop => Ok(Some(tx::delete(table, check_key(org, thread), Condition::always())?)),
        ArchiveCheck::At(due) => {
            let record = DueThread { org: org.clone(), thread_id: *thread, due };
            let mut item = check_key(org, thread);
            item.insert(items::DATA.into(), items::av(&record)?);
            item.insert(Index::Gsi1.pk().into(), s(Due::ResolvedThread.partition()));
            item.insert(Index::Gsi1.sk().into(), s(keys::due_sk(&due, org, thread)));
            Ok(Some(tx::put(table, item, Condition::always())?))
        }
    }
}

impl Store {
    /// Resolved threads whose check is due at `now` (every org), oldest first.
    pub async fn archive_checks_due(
        &self,
        now: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<DueThread>, StoreError> {
        let due = self.query_due(Due::ResolvedThread, keys::due_by(&now), limit).await?;
        due.iter().map(data::<DueThread>).collect()
    }

    /// Moves or drops a thread's check the schedule read as due at `read_due`; a change that
    /// resolved the thread again meanwhile (a new due time) is kept. `Ok(false)`: it was.
    pub async fn move_archive_check(&self, due: &DueThread, check: ArchiveCheck) -> Result<bool, StoreError> {
        let Some(write) = write(&self.table, &due.org, &due.thread_id, check)? else { return Ok(true) };
        let cond = Condition::new("#d.#due = :due")
            .name("#d", items::DATA)
            .name("#due", "due")
            .value(":due", items::av(&due.due)?);
        let write = match (write.put, write.delete) {
            (Some(put), _) => tx::put(&self.table, put.item, cond)?,
            (_, Some(delete)) => tx::delete(&self.table, delete.key, cond)?,
            _ => return Ok(true),
        };
        self.write_one(write).await
    }
}
