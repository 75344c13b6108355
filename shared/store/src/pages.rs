//! Queries of the table: the builder with the table named, one page of records with the
//! cursor after it, and reading on page after page. Each paged read of the store goes
//! through here, so "from where, until when" is written once.

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

    /// Every record `query` reads, through every page.
    pub(crate) async fn read_all<T: DeserializeOwned>(
        &self,
        query: QueryFluentBuilder,
    ) -> Result<Vec<T>, StoreError> {
        self.read_on(query, usize::MAX, |mut item| take_data(&mut item).map(Some)).await
    }
}
