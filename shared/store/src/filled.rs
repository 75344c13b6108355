//! Filtered lists: a Query whose filter drops rows reads on until the page is full.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

use crate::items::Item;
use crate::{Cursor, Store, StoreError};

/// A filtered list reads at most this many index pages (of [`FILTERED_READ_ROWS`] rows
/// each) for one page of answer; past that it answers what it found, with a cursor.
pub const MAX_FILTERED_READS: usize = 5;
const FILTERED_READ_ROWS: i32 = 200;

impl Store {
    /// Up to `limit` items of `query` (its index, key condition and filter set) from `start`
    /// on, and where the next page starts (`key_attributes` name a row's keys). Filtered, it
    /// reads on until the page is full, at most [`MAX_FILTERED_READS`] times.
    pub(crate) async fn read_filled(
        &self,
        query: QueryFluentBuilder,
        filtered: bool,
        limit: i32,
        mut start: Option<Item>,
        key_attributes: &[&str],
    ) -> Result<(Vec<Item>, Option<Cursor>), StoreError> {
        let wanted = usize::try_from(limit).unwrap_or(0);
        let mut items: Vec<Item> = Vec::new();
        for _ in 0..MAX_FILTERED_READS {
            let out = query
                .clone()
                .limit(if filtered { FILTERED_READ_ROWS } else { limit })
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(StoreError::unavailable)?;
            for item in out.items.unwrap_or_default() {
                if items.len() == wanted {
                    // Full before this read's end: the next page starts after the last row.
                    let next = Cursor::encode(&key_of(items.last(), key_attributes));
                    return Ok((items, next));
                }
                items.push(item);
            }
            start = out.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() || items.len() == wanted || !filtered {
                break;
            }
        }
        let next = start.as_ref().and_then(Cursor::encode);
        Ok((items, next))
    }
}

/// The key attributes of a row, as a cursor holds them.
fn key_of(item: Option<&Item>, attributes: &[&str]) -> HashMap<String, AttributeValue> {
    let Some(item) = item else { return HashMap::new() };
    attributes.iter().filter_map(|a| item.get(*a).map(|v| ((*a).to_owned(), v.clone()))).collect()
}
