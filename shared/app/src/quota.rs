//! Quotas on writes (see `domain::quota`): every counted write takes one from the caller's
//! and the organization's window first, all or none, and is refused with 429
//! `rate_limited` and `Retry-After` when either is spent. An org's limits are read once a
//! minute per function instance, not on every request.

use domain::quota::{window, Limit, QuotaKind, Quotas};
use domain::{User, UserId};
use store::keys::QuotaScope;
use store::Counter;

use crate::{App, Error};

/// The orgs' limits as last read, per function instance.
pub type QuotaCache = crate::org_cache::OrgCache<Quotas>;

/// The counts one write took, to give back if the write is refused after all.
#[must_use = "settle the counts with the write's result"]
pub struct Taken(Vec<Counter>);

impl Taken {
    /// Nothing counted: a write another quota already covers (a campaign's conversations).
    pub(crate) fn nothing() -> Self {
        Self(Vec::new())
    }

    /// Passes `result` through, keeping the counts only for a write that `is_new` says was
    /// made now. A refusal (any 4xx: bad input, a conflict, another request's key) or an
    /// answer replayed from an earlier request gives them back, so neither uses quota. A
    /// failure of ours (5xx) keeps them: the write may have happened.
    pub async fn settle<T>(
        self,
        app: &App,
        result: Result<T, Error>,
        is_new: impl FnOnce(&T) -> bool,
    ) -> Result<T, Error> {
        let give_back = match &result {
            Ok(done) => !is_new(done),
            Err(e) => e.is_refusal(),
        };
        if give_back {
            if let Err(e) = app.store.give_back_quotas(&self.0).await {
                tracing::warn!(error = %e, "quota count not given back");
            }
        }
        result
    }
}

/// Counts one `kind` write by `actor` (and, for invitations, of `subject`); refuses it when
/// a window is spent.
pub async fn take(
    app: &App,
    actor: &User,
    kind: QuotaKind,
    subject: Option<&UserId>,
) -> Result<Taken, Error> {
    let read = async { app.store.get_quotas(&actor.org).await.map(Option::unwrap_or_default) };
    let limit: Limit = app.quotas.get(&actor.org, read).await?.limit(kind);
    let (start, retry_after) = window(chrono::Utc::now().timestamp(), limit.window_secs);
    let counter = |scope: QuotaScope| Counter {
        org: actor.org.clone(),
        scope,
        kind,
        window_start: start,
        window_secs: limit.window_secs,
    };
    let mut counters = vec![
        (counter(QuotaScope::User(actor.id.clone())), limit.per_user),
        (counter(QuotaScope::Org), limit.per_org),
    ];
    if let (Some(id), Some(n)) = (subject, limit.per_subject) {
        counters.push((counter(QuotaScope::Subject(id.clone())), n));
    }
    if app.store.take_quotas(&counters).await? {
        Ok(Taken(counters.into_iter().map(|(counter, _)| counter).collect()))
    } else {
        tracing::warn!(org = %actor.org, user = %actor.id, kind = kind.as_str(), "quota spent");
        Err(Error::RateLimited { kind, retry_after_secs: retry_after })
    }
}
