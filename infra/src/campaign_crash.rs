//! A consent-request campaign whose runs are killed at random points (the Lambda timing out
//! or crashing mid-send): each run is dropped after a random time, the next one takes the
//! campaign over once the lease ends, until it is done. Checks what CASL and residents would
//! notice: nobody e-mailed twice, everyone met once, the counts adding up to what was sent.
//! Run by `make chaos` (10,000 recipients) and, smaller, by an e2e test.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use app::campaigns::{self, NewCampaign, Pace};
use app::categories::{self, NewCategory};
use app::App;
use domain::campaign::{Audience as CampaignAudience, CampaignKind, CampaignStatus, Counts};
use domain::category::ConsentMode;
use domain::{OrgId, Role};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde_json::Value;
use store::CampaignRecord;

/// How long a run holds the campaign: a killed run is taken over after this.
const LEASE: Duration = Duration::from_millis(300);
const PROPERTY: &str = "prop-crash";

/// What a crash run saw.
#[derive(Debug)]
pub struct CrashReport {
    pub recipients: usize,
    pub runs: usize,
    pub kills: usize,
    pub counts: Counts,
    /// Residents who got the request (each once, else `twice` counts them).
    pub emailed: usize,
    pub twice: usize,
    pub elapsed: Duration,
}

impl CrashReport {
    /// Nobody twice; everyone met once; every e-mail counted sent, or failed where a kill
    /// fell between the send and its record (at most one per kill).
    pub fn passed(&self) -> bool {
        let c = &self.counts;
        self.twice == 0
            && c.targeted as usize == self.recipients
            && c.sent as usize + c.failed as usize == self.recipients
            && (c.sent as usize..=(c.sent + c.failed) as usize).contains(&self.emailed)
            && c.failed as usize <= self.kills
    }

    pub fn summary(&self) -> String {
        let per_minute = self.counts.targeted as f64 / self.elapsed.as_secs_f64().max(0.001) * 60.0;
        format!(
            "{} recipients, {} runs ({} killed mid-run): sent {}, failed {}, e-mailed {} ({} twice), {:.0} recipients/min",
            self.recipients, self.runs, self.kills, self.counts.sent, self.counts.failed, self.emailed, self.twice, per_minute
        )
    }
}

/// An org of residents, each with an e-mail address, ready for a consent request.
pub struct Audience {
    pub org: OrgId,
    pub admin: domain::User,
    pub recipients: usize,
}

/// Seeds an org with `recipients` residents of one property, each with an e-mail address.
pub async fn seed(app: &App, recipients: usize) -> anyhow::Result<Audience> {
    let org = OrgId::parse(format!("crash-{}", ulid::Ulid::new().to_string().to_lowercase()))?;
    let admin = crate::seed::user(&org, "admin-1", Role::FacilityAdmin, "Avery Admin", None, Some(PROPERTY));
    app.store.put_user(&admin).await?;
    stream::iter(0..recipients)
        .map(|i| {
            let resident = crate::seed::user(
                &org,
                &format!("resident-{i}"),
                Role::Resident,
                &format!("Resident {i}"),
                Some(&format!("{i}")),
                Some(PROPERTY),
            );
            async move { app.store.put_user(&resident).await }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await
        .context("seeding the residents")?;
    Ok(Audience { org, admin, recipients })
}

/// A consent request (in a new `request` category) to every resident of the audience, now;
/// its e-mails' subject names it.
pub async fn request(app: &App, audience: &Audience) -> anyhow::Result<(CampaignRecord, String)> {
    let name = format!("Offers {}", ulid::Ulid::new());
    let new = NewCategory {
        name: name.clone(),
        consent: ConsentMode::Request,
        topics: vec![],
        auditors: vec![],
        dispatchers: vec![],
    };
    let category = categories::create(app, &audience.admin, new).await?;
    let new = NewCampaign {
        kind: CampaignKind::ConsentRequest,
        category_id: category.id,
        audience: CampaignAudience { property_ids: vec![PROPERTY.into()], units: None },
        subject: Some(domain::Subject::parse(&name)?),
        body: None,
        topic: None,
        send_at: None,
        sender_name: None,
    };
    Ok((
        campaigns::create(app, &audience.admin, new, app::Idempotency::new(None, "new campaign", &()))
            .await?,
        name,
    ))
}

/// Seeds an org with `recipients` residents and runs a consent request to all of them at
/// `rate` sends per second, killing runs at random. `emulator`: where the sent e-mails are
/// listed.
pub async fn run(app: &App, emulator: &str, recipients: usize, rate: u32) -> anyhow::Result<CrashReport> {
    let audience = seed(app, recipients).await?;
    let (campaign, name) = request(app, &audience).await?;
    let org = audience.org;
    let started = Instant::now();
    let (mut runs, mut kills) = (0, 0);
    loop {
        let now_is = app.store.get_campaign(&org, &campaign.id).await?.context("the campaign is gone")?;
        if now_is.status == CampaignStatus::Done {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "the campaign did not finish: {now_is:?}"
        );
        runs += 1;
        let mut pace = Pace::per_second(rate);
        // Some runs end by their deadline (given back mid-page), most are killed first.
        let deadline = tokio::time::Instant::now() + Duration::from_millis(3_500 + getrandom::u64()? % 3_000);
        let life = Duration::from_millis(50 + getrandom::u64()? % 1500);
        let run = campaigns::run_one(app, &org, &campaign.id, deadline, LEASE, &mut pace);
        match tokio::time::timeout(life, run).await {
            Err(_) => kills += 1,
            Ok(Err(e)) => tracing::warn!(error = %e, "a campaign run failed"),
            Ok(Ok(_)) => {}
        }
        // A killed run's lease ends before the next takes over.
        tokio::time::sleep(LEASE).await;
    }
    let elapsed = started.elapsed();
    let done = app.store.get_campaign(&org, &campaign.id).await?.context("the campaign is gone")?;
    let sent: Value = reqwest::get(format!("{emulator}/_local/ses/sent")).await?.json().await?;
    let mut per_address: HashMap<String, usize> = HashMap::new();
    let suffix = format!("@{org}.example.com");
    for mail in sent["items"].as_array().into_iter().flatten() {
        if mail["subject"].as_str() != Some(name.as_str()) {
            continue;
        }
        for to in mail["to"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if to.ends_with(&suffix) {
                *per_address.entry(to.to_owned()).or_default() += 1;
            }
        }
    }
    Ok(CrashReport {
        recipients,
        runs,
        kills,
        counts: done.counts,
        emailed: per_address.len(),
        twice: per_address.values().filter(|n| **n > 1).count(),
        elapsed,
    })
}
