//! Queries of the table: the builder with the table named, one page of records with the
//! cursor after it, and reading on page after page until a caller has what it wants, so
//! "from where, until when" is written once. (Reads that count or collect every page as it
//! comes use the SDK's paginator instead; a filtered list that fills its page is
//! `filled.rs`.)

use std::ops::ControlFlow;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use serde::de::DeserializeOwned;

use crate::items::{take_data, Item};
use crate::{Cursor, Page, Store, StoreError};

impl Store {
    /// A Query of the table (or of the index the caller names).
    pub(crate) fn query(&self) -> QueryFluentBuilder {
        self.client.query().table_name(&self.table)
    }

    /// One page of `query` from `start`: the items' records and the cursor after them.
    pub(crate) async fn data_page<T: DeserializeOwned>(
        &self,
        query: QueryFluentBuilder,
        start: Option<Item>,
    ) -> Result<Page<T>, StoreError> {
        let out = query.set_exclusive_start_key(start).send().await.map_err(StoreError::unavailable)?;
        let next = out.last_evaluated_key().and_then(Cursor::encode);
        let items = out.items.unwrap_or_default().into_iter().map(|mut item| take_data(&mut item));
        Ok(Page { items: items.collect::<Result<_, _>>()?, next })
    }

    /// Reads `query` from its start, page after page, handing each page's items to `page`
    /// until it breaks off or the pages end.
    pub(crate) async fn each_page(
        &self,
        query: QueryFluentBuilder,
        mut page: impl FnMut(Vec<Item>) -> Result<ControlFlow<()>, StoreError>,
    ) -> Result<(), StoreError> {
        let mut start = None;
        loop {
            let out = (query.clone().set_exclusive_start_key(start).send().await)
                .map_err(StoreError::unavailable)?;
            if page(out.items.unwrap_or_default())?.is_break() {
                return Ok(());
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(()),
            }
        }
    }

    /// Up to `want` items of `query`, read on page after page, each as `keep` decodes it
    /// (`None`: skipped, not counted).
    pub(crate) async fn read_on<T>(
        &self,
        query: QueryFluentBuilder,
        want: usize,
        mut keep: impl FnMut(Item) -> Result<Option<T>, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut found = Vec::new();
        self.each_page(query, |items| {
            for item in items {
                if let Some(kept) = keep(item)? {
                    found.push(kept);
                    if found.len() == want {
                        return Ok(ControlFlow::Break(()));
                    }
                }
            }
            Ok(ControlFlow::Continue(()))
        })
        .await?;
        Ok(found)
    }

    /// Up to `want` records `query` reads, page after page (`usize::MAX`: every one).
    pub(crate) async fn read_records<T: DeserializeOwned>(
        &self,
        query: QueryFluentBuilder,
        want: usize,
    ) -> Result<Vec<T>, StoreError> {
        self.read_on(query, want, |mut item| take_data(&mut item).map(Some)).await
    }
}
