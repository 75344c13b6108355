//! The checkpoint run (the `jobs` schedule, every minute): the chain heads that moved and
//! have waited [`Sealing::after`] are signed with the KMS key, each org's in one request over
//! the root of their Merkle tree (a KMS request per org and run, not per thread), and the
//! run's signed heads are written, as one object, to the Object Lock bucket; each thread's
//! latest checkpoint is recorded beside its chain for exports. A busy thread is sealed once per wait, not once
//! per message. A run that dies after writing the object seals the same heads again next
//! time: a second signed copy of the same facts, never a gap.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use domain::audit::{Seal, SignedSeal};
use futures::stream::{self, StreamExt};

use crate::{App, WorkError};

/// Heads sealed per run at most (per shard of the unsealed index).
const PER_RUN: i32 = 100;
/// Orgs' runs signed at once.
const CONCURRENCY: usize = 8;

/// What sealing needs: where heads are signed and kept, and how long a moved head waits.
#[derive(Clone, Debug)]
pub struct Sealing {
    pub checkpoints: checkpoints::Checkpoints,
    pub after: Duration,
}

impl Sealing {
    /// From `AUDIT_SIGNING_KEY_ID` and `AUDIT_BUCKET` (only the jobs function has them);
    /// heads wait 10 minutes.
    pub fn from_env(aws: &aws_config::SdkConfig) -> Option<Self> {
        let opt = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let (key, bucket) = (opt("AUDIT_SIGNING_KEY_ID")?, opt("AUDIT_BUCKET")?);
        let checkpoints = checkpoints::Checkpoints::new(
            aws_sdk_kms::Client::new(aws),
            aws_sdk_s3::Client::new(aws),
            key,
            bucket,
        );
        Some(Self { checkpoints, after: Duration::minutes(10) })
    }
}

/// Seals what is due at `now`; the number of heads sealed.
pub async fn run(app: &App, now: DateTime<Utc>) -> Result<usize, WorkError> {
    let Some(sealing) = &app.sealing else { return Ok(0) };
    let heads = app.store.unsealed_heads(now - sealing.after, PER_RUN).await?;
    if heads.is_empty() {
        return Ok(0);
    }
    let object_key = format!(
        "checkpoints/{}/{}.json",
        now.format("%Y/%m/%d"),
        domain::EntryId::new_at(crate::conversation::millis(now))
    );
    // Each org's seals signed apart: an org's exports carry its own tree's size and hashes,
    // nothing of another org's.
    let mut by_org: BTreeMap<String, Vec<Seal>> = BTreeMap::new();
    for h in heads {
        let seal = Seal {
            org_id: h.org.to_string(),
            thread_id: h.thread_id.to_string(),
            seq: h.head.seq,
            hash: h.head.hash,
            sealed_at: domain::audit::to_millis(now),
        };
        by_org.entry(seal.org_id.clone()).or_default().push(seal);
    }
    let runs: Vec<_> = stream::iter(by_org.into_values())
        .map(|seals| sealing.checkpoints.sign_run(seals, &object_key))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    // An org whose signature failed waits for the next run; the others are kept now.
    let mut signed: Vec<SignedSeal> = Vec::new();
    let mut failure = None;
    for run in runs {
        match run {
            Ok(seals) => signed.extend(seals),
            Err(e) => {
                tracing::warn!(error = ?e, "an org's checkpoints were not signed; the next run signs them");
                failure = Some(e);
            }
        }
    }
    if signed.is_empty() {
        return failure.map_or(Ok(0), |e| Err(e.into()));
    }
    sealing.checkpoints.keep(&object_key, &signed).await?;
    for sealed in &signed {
        app.store.mark_sealed(sealed).await?;
    }
    Ok(signed.len())
}
