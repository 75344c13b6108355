//! Campaigns (facility admins): a consent request e-mailed to every undecided resident of an
//! audience, or one private conversation started with every consenting one. The campaign
//! schedule runs them ([`run_due`]): a page of the audience at a time, paced to the
//! provider's sending rate, each recipient claimed by a marker before anything is sent, and
//! the page's counts saved with the position after it on the campaign's revision.
//!
//! Resumable: a run that dies leaves the campaign leased for a little longer than a run may
//! take; the next run after that reads the page again. Recipients already marked are counted
//! as marked, not sent again: a conversation is started with an Idempotency-Key of the
//! campaign's own, so one claimed but not settled is started again and gets the first
//! start's answer; an e-mail has no such key, so a request claimed but not settled counts as
//! failed rather than risk a second e-mail.

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::campaign::{self, Audience, CampaignKind, CampaignStatus, Counts, Outcome};
use domain::category::Category;
use domain::notify::Channel;
use domain::{policy, CampaignId, DomainError, ErrorCode, MessageBody, Role, Subject, Topic, User, UserId};
use store::{CampaignRecord, ContactQuery, Cursor, MarkState, Page, Progress, RecipientKey, RecipientMark};

use crate::conversation::now;
use crate::links::{self, LinkClaim, Purpose};
use crate::threads::{self, NewThread};
use crate::{categories, App, Error, Idempotency, WorkError};

/// Residents read (and sent to) between two saves of a campaign's progress.
const PAGE: i32 = 25;
/// Campaigns one run looks at.
const DUE_AT_ONCE: i32 = 10;
/// What a run keeps back from its deadline to save its progress.
const SAVE_MARGIN: Duration = Duration::from_secs(3);
const MAX_SENDER_CHARS: usize = 120;

/// A campaign as asked.
pub struct NewCampaign {
    pub kind: CampaignKind,
    pub category_id: String,
    pub audience: Audience,
    pub subject: Option<Subject>,
    pub body: Option<MessageBody>,
    pub topic: Option<Topic>,
    pub send_at: Option<DateTime<Utc>>,
    pub sender_name: Option<String>,
}

/// Creates a campaign, scheduled for `send_at` or now (facility admins).
pub async fn create(app: &App, actor: &User, new: NewCampaign) -> Result<CampaignRecord, Error> {
    policy::ensure_org_admin(actor)?;
    policy::ensure_can_write(actor)?;
    let category = match categories::find(app, &actor.org, &new.category_id).await {
        Err(Error::Domain(DomainError::NotFound(_))) => {
            let message = "category_id names no category of this organization";
            return Err(DomainError::invalid(ErrorCode::UnknownCategory, message).into());
        }
        found => found?,
    };
    campaign::ensure_fits(new.kind, &category)?;
    let audience = new.audience.parse()?;
    let topic = match new.kind {
        CampaignKind::Message => {
            if new.subject.is_none() || new.body.is_none() {
                let message = "a message campaign needs a subject and a body";
                return Err(DomainError::invalid(ErrorCode::EmptyField, message).into());
            }
            let default =
                || category.topics.first().cloned().unwrap_or_else(|| Topic::parse("general").unwrap());
            Some(new.topic.unwrap_or_else(default))
        }
        CampaignKind::ConsentRequest => None,
    };
    let sender_name = match new.sender_name {
        Some(name) => domain::text::single_line(&name, MAX_SENDER_CHARS, "sender_name")?,
        None => actor.org.to_string(),
    };
    if app.store.active_campaigns(&actor.org).await? >= campaign::MAX_ACTIVE {
        let message =
            format!("at most {} campaigns may be scheduled or running at once", campaign::MAX_ACTIVE);
        return Err(DomainError::conflict(ErrorCode::TooManyCampaigns, message).into());
    }
    let at = now();
    let record = CampaignRecord {
        id: CampaignId::new_at(crate::conversation::millis(at)),
        org: actor.org.clone(),
        author_id: actor.id.clone(),
        kind: new.kind,
        category_id: category.id,
        audience,
        subject: new.subject,
        body: new.body,
        topic,
        sender_name,
        status: CampaignStatus::Scheduled,
        start_at: campaign::start_at(new.send_at, at)?,
        counts: Counts::default(),
        progress: Progress::default(),
        lease_until: None,
        created_at: at,
        updated_at: at,
        finished_at: None,
        rev: 1,
    };
    app.store.put_campaign(&record).await?;
    Ok(record)
}

/// The org's campaigns, newest first (facility admins).
pub async fn list(
    app: &App,
    actor: &User,
    cursor: Option<Cursor>,
    limit: i32,
) -> Result<Page<CampaignRecord>, Error> {
    policy::ensure_org_admin(actor)?;
    Ok(app.store.list_campaigns(&actor.org, cursor.as_ref(), limit).await?)
}

/// One campaign, with its live counts (facility admins).
pub async fn show(app: &App, actor: &User, id: &CampaignId) -> Result<CampaignRecord, Error> {
    policy::ensure_org_admin(actor)?;
    app.store.get_campaign(&actor.org, id).await?.ok_or_else(|| DomainError::NotFound("campaign").into())
}

/// Cancels a scheduled or running campaign: nobody more is sent to (a run finishes the
/// recipient it is at). 409 invalid_transition once done.
pub async fn cancel(app: &App, actor: &User, id: &CampaignId) -> Result<CampaignRecord, Error> {
    policy::ensure_can_write(actor)?;
    let mut tries = store::retry::Tries::new();
    while tries.another().await {
        let record = show(app, actor, id).await?;
        if record.status == CampaignStatus::Cancelled {
            return Ok(record);
        }
        if !record.status.is_active() {
            let message = "the campaign is done: there is nothing left to cancel";
            return Err(DomainError::conflict(ErrorCode::InvalidTransition, message).into());
        }
        let at = now();
        let cancelled = CampaignRecord {
            status: CampaignStatus::Cancelled,
            updated_at: at,
            finished_at: Some(at),
            rev: record.rev + 1,
            ..record
        };
        if app.store.replace_campaign(&cancelled).await? {
            return Ok(cancelled);
        }
    }
    Err(store::StoreError::Contention.into())
}

/// Spaces sends to the provider's rate (`CAMPAIGN_SEND_RATE` per second, one run at a time).
pub struct Pace(tokio::time::Interval);

impl Pace {
    pub fn per_second(rate: u32) -> Self {
        let period = Duration::from_secs(1) / rate.max(1);
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self(interval)
    }

    async fn wait(&mut self) {
        self.0.tick().await;
    }
}

/// What one run did.
#[derive(Debug, Default)]
pub struct CampaignRun {
    pub campaigns: usize,
    pub recipients: u32,
    pub finished: usize,
}

/// Runs the campaigns due at `at` until `deadline`, each from where it stopped. `lease`: how
/// long a campaign is held from its claim (longer than a run may last, so a run that dies is
/// taken over after it).
pub async fn run_due(
    app: &App,
    at: DateTime<Utc>,
    deadline: tokio::time::Instant,
    lease: Duration,
    pace: &mut Pace,
) -> Result<CampaignRun, WorkError> {
    let mut run = CampaignRun::default();
    for due in app.store.campaigns_due(at, DUE_AT_ONCE).await? {
        if tokio::time::Instant::now() + SAVE_MARGIN >= deadline {
            break;
        }
        let Some(claimed) = claim(app, due, lease).await? else { continue };
        run.campaigns += 1;
        let (record, sent) = work(app, claimed, deadline, pace).await?;
        run.recipients += sent;
        run.finished += usize::from(!record.status.is_active());
    }
    Ok(run)
}

/// Takes a due campaign for this run, unless another took it first.
async fn claim(app: &App, due: CampaignRecord, lease: Duration) -> Result<Option<CampaignRecord>, WorkError> {
    let at = now();
    if !due.status.is_active() || due.due() > at {
        return Ok(None);
    }
    let claimed = CampaignRecord {
        status: CampaignStatus::Running,
        lease_until: Some(at + chrono::Duration::from_std(lease).unwrap_or_default()),
        updated_at: at,
        rev: due.rev + 1,
        ..due
    };
    Ok(app.store.replace_campaign(&claimed).await?.then_some(claimed))
}

/// Works on a claimed campaign page by page until it is done, cancelled or out of time.
/// Returns it as last saved and how many recipients it reached.
async fn work(
    app: &App,
    mut record: CampaignRecord,
    deadline: tokio::time::Instant,
    pace: &mut Pace,
) -> Result<(CampaignRecord, u32), WorkError> {
    let category = categories::find(app, &record.org, &record.category_id)
        .await
        .map_err(|e| WorkError::UseCase(Box::new(e)))?;
    let author = app.store.get_user(&record.org, &record.author_id).await?;
    let mut reached = 0;
    loop {
        let segments = record.audience.segments();
        let Some(segment) = segments.get(record.progress.segment as usize) else {
            return Ok((finish(app, record, CampaignStatus::Done).await?, reached));
        };
        // The author must still have a voice; else the campaign ends here.
        let Some(author) = author.as_ref().filter(|a| policy::ensure_can_act(a).is_ok()) else {
            tracing::info!(campaign = %record.id, "the campaign's author may no longer act: cancelled");
            return Ok((finish(app, record, CampaignStatus::Cancelled).await?, reached));
        };
        if tokio::time::Instant::now() + SAVE_MARGIN >= deadline {
            return Ok((release(app, record).await?, reached));
        }
        let query = ContactQuery {
            name_prefix: None,
            property_id: Some(segment.property_id.to_owned()),
            unit: segment.unit.map(str::to_owned),
            kind: None,
            include_archived: true,
            cursor: record.progress.cursor.as_deref().map(Cursor::parse).transpose()?,
            limit: PAGE,
        };
        let page = app.store.search_contacts(&record.org, &query).await?;
        let residents: Vec<User> = page.items.into_iter().filter(|u| u.role == Role::Resident).collect();
        let counts = reach(app, &record, &category, author, &residents, pace).await?;
        reached += counts.targeted;
        let progress = match page.next {
            Some(next) => {
                Progress { segment: record.progress.segment, cursor: Some(next.as_str().to_owned()) }
            }
            None => Progress { segment: record.progress.segment + 1, cursor: None },
        };
        match save(app, record, counts, progress).await? {
            Saved::Going(next) => record = next,
            Saved::Stopped(last) => return Ok((last, reached)),
        }
    }
}

enum Saved {
    Going(CampaignRecord),
    /// Cancelled meanwhile (the page's counts are added to it) or taken over.
    Stopped(CampaignRecord),
}

/// Saves a page's counts and the position after it, on the campaign's revision. A campaign
/// cancelled meanwhile keeps the counts of what was sent before it was.
async fn save(
    app: &App,
    record: CampaignRecord,
    page: Counts,
    progress: Progress,
) -> Result<Saved, WorkError> {
    let mut counts = record.counts;
    counts.add(&page);
    let next = CampaignRecord { counts, progress, updated_at: now(), rev: record.rev + 1, ..record.clone() };
    if app.store.replace_campaign(&next).await? {
        return Ok(Saved::Going(next));
    }
    let mut tries = store::retry::Tries::new();
    while tries.another().await {
        let Some(now_is) = app.store.get_campaign(&record.org, &record.id).await? else { break };
        if now_is.status != CampaignStatus::Cancelled {
            // Another run holds it (this one outlived its lease): it counts from its position.
            return Ok(Saved::Stopped(now_is));
        }
        let mut counts = now_is.counts;
        counts.add(&page);
        let after = CampaignRecord { counts, rev: now_is.rev + 1, updated_at: now(), ..now_is };
        if app.store.replace_campaign(&after).await? {
            return Ok(Saved::Stopped(after));
        }
    }
    Err(store::StoreError::Contention.into())
}

/// Ends a campaign (done, or cancelled because its author can no longer act).
async fn finish(
    app: &App,
    record: CampaignRecord,
    status: CampaignStatus,
) -> Result<CampaignRecord, WorkError> {
    let at = now();
    let done = CampaignRecord {
        status,
        lease_until: None,
        finished_at: Some(at),
        updated_at: at,
        rev: record.rev + 1,
        ..record
    };
    app.store.replace_campaign(&done).await?;
    Ok(done)
}

/// Gives a campaign back to the schedule for the next run, at once.
async fn release(app: &App, record: CampaignRecord) -> Result<CampaignRecord, WorkError> {
    let released = CampaignRecord { lease_until: None, updated_at: now(), rev: record.rev + 1, ..record };
    app.store.replace_campaign(&released).await?;
    Ok(released)
}

/// Sends to one page of residents; what became of each.
async fn reach(
    app: &App,
    record: &CampaignRecord,
    category: &Category,
    author: &User,
    residents: &[User],
    pace: &mut Pace,
) -> Result<Counts, WorkError> {
    let ids: Vec<UserId> = residents.iter().map(|r| r.id.clone()).collect();
    let consents = app.store.consents_of(&record.org, &ids).await?;
    let mut counts = Counts::default();
    for resident in residents {
        let decided = consents.get(&resident.id).cloned().unwrap_or_default();
        let outcome = if resident.state == domain::AccountState::Archived {
            Outcome::Archived
        } else {
            match record.kind {
                CampaignKind::Message if !decided.allows(category) => Outcome::NoConsent,
                CampaignKind::Message => converse(app, record, author, resident, pace).await?,
                CampaignKind::ConsentRequest if decided.decided_at(&category.id).is_some() => {
                    Outcome::Decided
                }
                CampaignKind::ConsentRequest => ask(app, record, category, resident, pace).await?,
            }
        };
        counts.count(outcome);
    }
    Ok(counts)
}

/// The Idempotency-Key a campaign's conversation with `resident` is started with (no client
/// can send it: client keys have no spaces).
fn conversation_key(record: &CampaignRecord, resident: &UserId) -> Idempotency {
    let key = format!("campaign {} {resident}", record.id);
    Idempotency::new(Some(key), "campaign", &(record.id, resident))
}

/// Starts the campaign's conversation with one resident, once.
async fn converse(
    app: &App,
    record: &CampaignRecord,
    author: &User,
    resident: &User,
    pace: &mut Pace,
) -> Result<Outcome, WorkError> {
    let at = RecipientKey::Campaign { campaign: &record.id, contact: &resident.id };
    let mark = RecipientMark {
        campaign_id: record.id,
        state: MarkState::Sending,
        address: None,
        thread_id: None,
        at: now(),
    };
    match app.store.claim_recipient(&record.org, at, &mark).await? {
        None => {}
        Some(first) if first.state == MarkState::Sent => return Ok(Outcome::Sent),
        Some(first) if first.state == MarkState::Failed => return Ok(Outcome::Failed),
        // Claimed by a run that stopped before settling: started again under the same key,
        // which answers the first start if there was one.
        Some(_) => {}
    }
    pace.wait().await;
    let new = NewThread {
        topic: record.topic.clone().unwrap_or_else(|| Topic::parse("general").unwrap()),
        subject: record.subject.clone().unwrap_or_else(|| Subject::parse("Message").unwrap()),
        body: record.body.clone().unwrap_or_else(|| MessageBody::parse(".").unwrap()),
        priority: None,
        linked_record: None,
        resident_id: Some(resident.id.clone()),
        category_id: Some(record.category_id.clone()),
    };
    let started =
        threads::start_counted(app, author, new, conversation_key(record, &resident.id), false).await;
    let (state, thread_id, outcome) = match started {
        Ok(view) => (MarkState::Sent, Some(view.thread.summary.id), Outcome::Sent),
        Err(Error::Domain(refused)) => {
            tracing::info!(campaign = %record.id, code = refused.code().as_str(), "a campaign conversation was refused");
            let outcome =
                if refused.code() == ErrorCode::NoConsent { Outcome::NoConsent } else { Outcome::Failed };
            (MarkState::Failed, None, outcome)
        }
        Err(e) => return Err(WorkError::UseCase(Box::new(e))),
    };
    let settled = RecipientMark { state, thread_id, at: now(), ..mark };
    app.store.settle_recipient(&record.org, at, &settled).await?;
    Ok(outcome)
}

/// E-mails one resident the consent request, once ever per category.
async fn ask(
    app: &App,
    record: &CampaignRecord,
    category: &Category,
    resident: &User,
    pace: &mut Pace,
) -> Result<Outcome, WorkError> {
    let Some(address) = resident.email.clone() else { return Ok(Outcome::NoAddress) };
    let at = RecipientKey::Asked { contact: &resident.id, category: &category.id };
    let mark = RecipientMark {
        campaign_id: record.id,
        state: MarkState::Sending,
        address: Some(address.clone()),
        thread_id: None,
        at: now(),
    };
    match app.store.claim_recipient(&record.org, at, &mark).await? {
        None => {}
        // Asked by an earlier campaign: not again.
        Some(first) if first.campaign_id != record.id => return Ok(Outcome::Decided),
        Some(first) if first.state == MarkState::Sent => return Ok(Outcome::Sent),
        // Failed, or claimed by a run that stopped before settling: the e-mail may have
        // gone; never a second.
        Some(first) => {
            if first.state == MarkState::Sending {
                let failed = RecipientMark { state: MarkState::Failed, at: now(), ..first };
                app.store.settle_recipient(&record.org, at, &failed).await?;
            }
            return Ok(Outcome::Failed);
        }
    }
    let key = app.link_key().map_err(|e| WorkError::UseCase(Box::new(e)))?;
    let claim = LinkClaim {
        purpose: Purpose::Consent,
        org: record.org.clone(),
        contact: resident.id.clone(),
        category_id: category.id.clone(),
        campaign: Some(record.id),
        day: links::day(now()),
    };
    let link = links::url(&app.app_url, Purpose::Consent, &key.seal(&claim));
    let (title, wording) = request_wording(record, category);
    let text = format!("{wording}\n\nAnswer here (no sign-in needed): {link}\n");
    pace.wait().await;
    let out = channels::Outgoing {
        to: &address,
        title: &title,
        text: &text,
        idempotency_key: &format!("{}-{}", record.id, resident.id),
        // The request asks; declining is its own link.
        unsubscribe: None,
    };
    let state = match app.providers.send(Channel::Email, &out).await {
        Ok(()) => MarkState::Sent,
        Err(channels::SendError::Permanent(e)) => {
            tracing::warn!(campaign = %record.id, error = %e, "a consent request was refused by the provider");
            MarkState::Failed
        }
        Err(e) => {
            // Not taken (throttled, unreachable): given back, so the next run asks again.
            app.store.release_recipient(&record.org, at).await?;
            return Err(WorkError::UseCase(Box::new(Error::Mail(e))));
        }
    };
    let settled = RecipientMark { state, at: now(), ..mark };
    app.store.settle_recipient(&record.org, at, &settled).await?;
    Ok(if state == MarkState::Sent { Outcome::Sent } else { Outcome::Failed })
}

/// A consent request's subject and text as e-mailed (links aside): it names the purpose
/// (the category), who asks, and how to withdraw, as CASL requires of a request.
pub fn request_wording(record: &CampaignRecord, category: &Category) -> (String, String) {
    let title = record
        .subject
        .as_ref()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|| format!("May {} send you {} messages?", record.sender_name, category.name));
    let intro = record.body.as_ref().map(|b| format!("{}\n\n", b.as_str())).unwrap_or_default();
    let wording = format!(
        "{intro}{sender} asks for your consent to send you messages of the category \"{name}\". \
         You may withdraw your consent at any time, free of charge, from your portal's consent page \
         or through the unsubscribe link every such message carries.",
        sender = record.sender_name,
        name = category.name,
    );
    (title, wording)
}

/// The evidence a consent request's answer is recorded with: the campaign, where the request
/// went and when, its wording, and the use of its link.
pub(crate) async fn request_evidence(
    app: &App,
    claim: &LinkClaim,
    category: &Category,
    accept: bool,
) -> Result<String, Error> {
    let decision = if accept { "accepted" } else { "declined" };
    let Some(id) = claim.campaign else {
        return Ok(format!("consent request {decision} through its link"));
    };
    let asked = RecipientKey::Asked { contact: &claim.contact, category: &category.id };
    let (record, mark) =
        tokio::try_join!(app.store.get_campaign(&claim.org, &id), app.store.recipient(&claim.org, asked))?;
    let Some(record) = record else {
        return Ok(format!("consent request of campaign {id} {decision} through its link"));
    };
    let (title, wording) = request_wording(&record, category);
    let sent = mark
        .filter(|m| m.campaign_id == id)
        .map(|m| format!(" e-mailed to {} on {}", m.address.unwrap_or_default(), m.at.to_rfc3339()))
        .unwrap_or_default();
    Ok(format!(
        "consent request of campaign {id}{sent} {decision} through its link; subject \"{title}\"; it read: \"{wording}\""
    ))
}
