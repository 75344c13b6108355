//! TransactWriteItems with per-item outcomes, builders for its items, and one such item
//! written on its own.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update};

use crate::items::{Item, SetExpression};
use crate::{Store, StoreError};

/// How a transaction ended: committed, or cancelled with one reason code per item
/// (`None` for items that did not cause the cancellation).
pub enum TxOutcome {
    Committed,
    Cancelled(Vec<Option<String>>),
}

impl TxOutcome {
    pub fn failed_condition(&self, index: usize) -> bool {
        self.code(index) == Some("ConditionalCheckFailed")
    }

    /// Another transaction touched the same items at the same time: worth retrying.
    pub fn conflicted(&self) -> bool {
        match self {
            Self::Committed => false,
            Self::Cancelled(codes) => {
                codes.iter().flatten().any(|c| c == "TransactionConflict" || c == "ThrottlingError")
            }
        }
    }

    fn code(&self, index: usize) -> Option<&str> {
        match self {
            Self::Committed => None,
            Self::Cancelled(codes) => codes.get(index).and_then(|c| c.as_deref()),
        }
    }
}

impl Store {
    /// The writes, all or none. A single put, update or delete goes as the plain write it
    /// is (half the write capacity of a transaction of one), with the same outcomes but
    /// one: the SDK's retry of a plain write whose answer was lost finds its own write and
    /// reports the condition failed (a transaction's token would have recognised the
    /// retry). Every caller re-reads and tries again then, so no change is made twice.
    pub(crate) async fn transact(&self, mut items: Vec<TransactWriteItem>) -> Result<TxOutcome, StoreError> {
        if items.len() == 1 && items[0].condition_check.is_none() {
            return self.single(items.pop().expect("one item")).await;
        }
        let result = self.client.transact_write_items().set_transact_items(Some(items)).send().await;
        match result {
            Ok(_) => Ok(TxOutcome::Committed),
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancel)) => {
                    let codes = cancel
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code().filter(|c| *c != "None").map(str::to_owned))
                        .collect();
                    Ok(TxOutcome::Cancelled(codes))
                }
                _ => Err(StoreError::unavailable(err)),
            },
        }
    }
}

impl Store {
    /// One conditional write on its own, as the plain PutItem, UpdateItem or DeleteItem it
    /// is: half the write capacity of a transaction of one. `Ok(false)`: its condition
    /// failed.
    pub(crate) async fn write_one(&self, item: TransactWriteItem) -> Result<bool, StoreError> {
        let outcome = match item.condition_check {
            // A condition check alone writes nothing: a transaction of one is its only form.
            Some(_) => self.transact(vec![item]).await?,
            None => self.single(item).await?,
        };
        match outcome {
            TxOutcome::Committed => Ok(true),
            o if o.failed_condition(0) => Ok(false),
            _ => Err(StoreError::Contention),
        }
    }

    /// A put, update or delete as a plain write, its outcome told as a transaction's of one.
    async fn single(&self, item: TransactWriteItem) -> Result<TxOutcome, StoreError> {
        // The condition, with its names and values, on a single write's builder.
        macro_rules! conditioned {
            ($builder:expr, $write:ident) => {
                $builder
                    .set_condition_expression($write.condition_expression)
                    .set_expression_attribute_names($write.expression_attribute_names)
                    .set_expression_attribute_values($write.expression_attribute_values)
            };
        }
        if let Some(put) = item.put {
            let builder = self.client.put_item().table_name(put.table_name).set_item(Some(put.item));
            outcome(conditioned!(builder, put).send().await)
        } else if let Some(update) = item.update {
            let builder = (self.client.update_item().table_name(update.table_name))
                .set_key(Some(update.key))
                .update_expression(update.update_expression);
            outcome(conditioned!(builder, update).send().await)
        } else if let Some(delete) = item.delete {
            let builder = self.client.delete_item().table_name(delete.table_name).set_key(Some(delete.key));
            outcome(conditioned!(builder, delete).send().await)
        } else {
            Err(StoreError::unavailable(std::io::Error::other("an empty transaction item")))
        }
    }
}

/// The error of a single PutItem, UpdateItem or DeleteItem.
trait WriteError: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static {
    fn failed_condition(&self) -> bool;
    fn conflicted(&self) -> bool;
}

macro_rules! write_error {
    ($($error:ty),*) => {$(
        impl WriteError for $error {
            fn failed_condition(&self) -> bool {
                self.is_conditional_check_failed_exception()
            }
            fn conflicted(&self) -> bool {
                self.is_transaction_conflict_exception()
            }
        }
    )*};
}
write_error!(PutItemError, UpdateItemError, DeleteItemError);

/// A single write's outcome, told as a transaction's of one.
fn outcome<E: WriteError, R>(out: Result<R, SdkError<E>>) -> Result<TxOutcome, StoreError> {
    let reason = |code: &str| Ok(TxOutcome::Cancelled(vec![Some(code.to_owned())]));
    match out {
        Ok(_) => Ok(TxOutcome::Committed),
        Err(e) if e.as_service_error().is_some_and(WriteError::failed_condition) => {
            reason("ConditionalCheckFailed")
        }
        // The item is in another transaction under way: worth retrying, as a conflict.
        Err(e) if e.as_service_error().is_some_and(WriteError::conflicted) => reason("TransactionConflict"),
        // Throttled, as a transaction's item would be: its callers' retries take it.
        Err(e) if e.as_service_error().and_then(|e| e.meta().code()) == Some("ThrottlingException") => {
            reason("ThrottlingError")
        }
        Err(e) => Err(StoreError::unavailable(e)),
    }
}

/// The most actions one TransactWriteItems may hold.
pub const MAX_ITEMS: usize = 100;

#[derive(Clone)]
pub struct Condition<'a> {
    pub expression: &'a str,
    pub names: Vec<(&'a str, &'a str)>,
    pub values: Vec<(&'a str, AttributeValue)>,
}

impl<'a> Condition<'a> {
    /// No condition: the write always applies.
    pub fn always() -> Self {
        Self { expression: "", names: vec![], values: vec![] }
    }

    pub fn new(expression: &'a str) -> Self {
        Self { expression, names: vec![], values: vec![] }
    }
    pub fn name(mut self, placeholder: &'a str, name: &'a str) -> Self {
        self.names.push((placeholder, name));
        self
    }
    pub fn value(mut self, placeholder: &'a str, value: AttributeValue) -> Self {
        self.values.push((placeholder, value));
        self
    }
    fn names_map(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty())
            .then(|| self.names.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }
    fn values_map(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty())
            .then(|| self.values.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }
}

pub fn put(table: &str, item: Item, condition: Condition<'_>) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression((!condition.expression.is_empty()).then(|| condition.expression.to_owned()))
        .set_expression_attribute_names(condition.names_map())
        .set_expression_attribute_values(condition.values_map())
        .build()
        .map_err(StoreError::unavailable)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

pub fn update(
    table: &str,
    key: Item,
    set: SetExpression,
    condition: &str,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key))
        .update_expression(set.expression)
        .set_condition_expression((!condition.is_empty()).then(|| condition.to_owned()))
        .set_expression_attribute_names((!set.names.is_empty()).then_some(set.names))
        .set_expression_attribute_values((!set.values.is_empty()).then_some(set.values))
        .build()
        .map_err(StoreError::unavailable)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

pub fn delete(table: &str, key: Item, condition: Condition<'_>) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key))
        .set_condition_expression((!condition.expression.is_empty()).then(|| condition.expression.to_owned()))
        .set_expression_attribute_names(condition.names_map())
        .set_expression_attribute_values(condition.values_map())
        .build()
        .map_err(StoreError::unavailable)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

pub fn check(table: &str, key: Item, condition: Condition<'_>) -> Result<TransactWriteItem, StoreError> {
    let check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key))
        .condition_expression(condition.expression)
        .set_expression_attribute_names(condition.names_map())
        .set_expression_attribute_values(condition.values_map())
        .build()
        .map_err(StoreError::unavailable)?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}
