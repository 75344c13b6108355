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

use tokio::time::Instant;

use chrono::{DateTime, Utc};
use domain::campaign::{self, Audience, CampaignKind, CampaignStatus, Counts, Outcome};
use domain::category::Category;
use domain::{policy, CampaignId, DomainError, ErrorCode, MessageBody, Role, Subject, Topic, User, UserId};
use store::{
    CampaignKey, CampaignRecord, ContactQuery, Cursor, MarkState, Once, Page, Progress, RecipientKey,
    RecipientMark,
};

use crate::conversation::now;
use crate::links::{self, LinkClaim, Purpose};
use crate::threads::{self, NewThread};
use crate::{categories, App, Error, Idempotency, WorkError};
use channels::OnceError;

/// Residents read (and sent to) between two saves of a campaign's progress.
const PAGE: i32 = 25;
/// Campaigns one run looks at.
const DUE_AT_ONCE: i32 = 10;
/// What a run keeps back from its deadline to save its progress.
const SAVE_MARGIN: Duration = Duration::from_secs(3);
const MAX_SENDER_CHARS: usize = 120;
/// The longest a consent request's e-mail may take (one attempt: SES has no idempotency key).
const SEND_LIMIT: Duration = Duration::from_secs(5);

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

/// Creates a campaign, scheduled for `send_at` or now (facility admins). With an
/// Idempotency-Key, the same request again answers the campaign it made (even once five
/// are active), never a second one; the key for another request is refused.
pub async fn create(
    app: &App,
    actor: &User,
    new: NewCampaign,
    request: Idempotency,
) -> Result<CampaignRecord, Error> {
    policy::ensure_org_admin(actor)?;
    if let Some(first) = earlier(app, actor, &request).await? {
        return Ok(first);
    }
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
            // Checked now, not once per recipient when it runs.
            Some(crate::threads::offered_topic(app, &actor.org, new.topic.unwrap_or_else(default)).await?)
        }
        CampaignKind::ConsentRequest if new.topic.is_some() => {
            let message = "a consent request starts no conversation: it has no topic";
            return Err(DomainError::invalid(ErrorCode::InvalidRequest, message).into());
        }
        CampaignKind::ConsentRequest => None,
    };
    let sender_name = match new.sender_name {
        Some(name) => domain::text::single_line(&name, MAX_SENDER_CHARS, "sender_name")?,
        None => actor.org.to_string(),
    };
    if app.store.active_campaigns(&actor.org).await? >= campaign::MAX_ACTIVE {
        // A retry racing the request that made the fifth: answer that one.
        if let Some(first) = earlier(app, actor, &request).await? {
            return Ok(first);
        }
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
    match app.store.put_campaign(&record, request.record()).await? {
        Once::Stored => Ok(record),
        // A retry raced this one and won.
        Once::Replayed(first) => replayed(app, actor, &request, first).await,
    }
}

/// The campaign an earlier request with the same key made, if any (the key used for another
/// request: refused).
async fn earlier(app: &App, actor: &User, request: &Idempotency) -> Result<Option<CampaignRecord>, Error> {
    let Some(key) = request.key.as_deref() else { return Ok(None) };
    match app.store.campaign_key(&actor.org, &actor.id, key).await? {
        Some(first) => replayed(app, actor, request, first).await.map(Some),
        None => Ok(None),
    }
}

/// The campaign an earlier request with the key made, if the key was used for this request.
async fn replayed(
    app: &App,
    actor: &User,
    request: &Idempotency,
    first: CampaignKey,
) -> Result<CampaignRecord, Error> {
    if !request.is_replay_of(&first.request_hash) {
        return Err(Error::key_reused());
    }
    let made = app.store.get_campaign(&actor.org, &first.campaign_id).await?;
    Ok(made.ok_or(DomainError::NotFound("campaign"))?)
}

/// The org's campaigns, newest first (facility admins).
pub async fn list(
    app: &App,
    actor: &User,
    cursor: Option<Cursor>,
    limit: i32,
) -> Result<Page<CampaignRecord>, Error> {
    ensure_admin_reads(actor)?;
    Ok(app.store.list_campaigns(&actor.org, cursor.as_ref(), limit).await?)
}

/// One campaign, with its live counts (facility admins).
pub async fn show(app: &App, actor: &User, id: &CampaignId) -> Result<CampaignRecord, Error> {
    ensure_admin_reads(actor)?;
    app.store.get_campaign(&actor.org, id).await?.ok_or_else(|| DomainError::NotFound("campaign").into())
}

/// Campaigns are facility admins' to read (a locked one reads too).
fn ensure_admin_reads(actor: &User) -> Result<(), DomainError> {
    if actor.role == Role::FacilityAdmin {
        Ok(())
    } else {
        Err(DomainError::forbidden(ErrorCode::AdminOnly, "only facility admins can see campaigns"))
    }
}

/// Cancels a scheduled or running campaign: nobody more is sent to (a run finishes the
/// recipient it is at). 409 invalid_transition once done.
pub async fn cancel(app: &App, actor: &User, id: &CampaignId) -> Result<CampaignRecord, Error> {
    policy::ensure_org_admin(actor)?;
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
/// taken over after it). A campaign that fails (storage, provider outage) waits for the next
/// run; the others go on.
pub async fn run_due(
    app: &App,
    at: DateTime<Utc>,
    deadline: Instant,
    lease: Duration,
    pace: &mut Pace,
) -> Result<CampaignRun, WorkError> {
    let mut run = CampaignRun::default();
    let mut first_error = None;
    for due in app.store.campaigns_due(at, DUE_AT_ONCE).await? {
        if Instant::now() + SAVE_MARGIN >= deadline {
            break;
        }
        let worked = match claim(app, due, lease).await {
            Ok(Some(claimed)) => {
                run.campaigns += 1;
                work(app, claimed, deadline, pace).await
            }
            Ok(None) => continue,
            Err(e) => Err(e),
        };
        match worked {
            Ok((record, reached)) => {
                run.recipients += reached;
                run.finished += usize::from(!record.status.is_active());
            }
            Err(e) => {
                tracing::warn!(error = %e, "a campaign waits for the next run");
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) if run.recipients == 0 && run.finished == 0 => Err(e),
        _ => Ok(run),
    }
}

/// Runs one campaign if it is due and no other run holds it, as [`run_due`] does each: how
/// the crash harness drives a campaign alone. `Ok(None)`: not taken.
pub async fn run_one(
    app: &App,
    org: &domain::OrgId,
    id: &CampaignId,
    deadline: Instant,
    lease: Duration,
    pace: &mut Pace,
) -> Result<Option<CampaignRun>, WorkError> {
    let Some(due) = app.store.get_campaign(org, id).await? else { return Ok(None) };
    let Some(claimed) = claim(app, due, lease).await? else { return Ok(None) };
    let (record, recipients) = work(app, claimed, deadline, pace).await?;
    Ok(Some(CampaignRun { campaigns: 1, recipients, finished: usize::from(!record.status.is_active()) }))
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
/// Returns it as last saved and how many recipients it met.
async fn work(
    app: &App,
    mut record: CampaignRecord,
    deadline: Instant,
    pace: &mut Pace,
) -> Result<(CampaignRecord, u32), WorkError> {
    let category = categories::find(app, &record.org, &record.category_id)
        .await
        .map_err(|e| WorkError::UseCase(Box::new(e)))?;
    let author = app.store.get_user(&record.org, &record.author_id).await?;
    let mut reached = 0;
    // The first page of a run may be one a run before stopped in: its marks are read first.
    let mut read_again = true;
    loop {
        let segments = record.audience.segments();
        let Some(segment) = segments.get(record.progress.segment as usize) else {
            return Ok((finish(app, record, CampaignStatus::Done).await?, reached));
        };
        // The author must still be a facility admin with a voice; else it ends here.
        let active_admin =
            |a: &&User| policy::ensure_can_act(a).and_then(|()| policy::ensure_org_admin(a)).is_ok();
        let Some(author) = author.as_ref().filter(active_admin) else {
            tracing::info!(campaign = %record.id, "the campaign's author may no longer run it: cancelled");
            return Ok((finish(app, record, CampaignStatus::Cancelled).await?, reached));
        };
        if Instant::now() + SAVE_MARGIN >= deadline {
            return Ok((release(app, record, Counts::default()).await?, reached));
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
        let mut sender =
            Sender { app, record: &record, category: &category, author, pace, deadline, checked: None };
        let (counts, ended) = sender.reach(&residents, read_again).await?;
        read_again = false;
        reached += counts.targeted;
        let progress = match (ended, page.next) {
            // Out of time mid-page: nothing saved, the next run reads the page again.
            (Ended::OutOfTime, _) => return Ok((release(app, record, counts).await?, reached)),
            (Ended::Cancelled, _) => record.progress.clone(),
            (Ended::Page, Some(next)) => {
                Progress { segment: record.progress.segment, cursor: Some(next.as_str().to_owned()) }
            }
            (Ended::Page, None) => Progress { segment: record.progress.segment + 1, cursor: None },
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

/// Ends a campaign (done, or cancelled because its author can no longer run it).
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

/// Gives a campaign back to the schedule, due now: behind the campaigns already waiting,
/// so that one long campaign does not hold up the others. `unsaved`: what the unfinished
/// page sent, which the next run counts when it reads the page again; if the campaign was
/// cancelled meanwhile there is no next run, so it is counted now.
async fn release(app: &App, record: CampaignRecord, unsaved: Counts) -> Result<CampaignRecord, WorkError> {
    let at = now();
    let released =
        CampaignRecord { lease_until: Some(at), updated_at: at, rev: record.rev + 1, ..record.clone() };
    if app.store.replace_campaign(&released).await? {
        return Ok(released);
    }
    match save(app, record.clone(), unsaved, record.progress.clone()).await? {
        Saved::Going(saved) | Saved::Stopped(saved) => Ok(saved),
    }
}

/// How a page ended.
enum Ended {
    /// Every resident of the page met.
    Page,
    /// Cancelled meanwhile: what was sent is counted, nothing more is sent.
    Cancelled,
    /// The run's time is up: nothing of the page is saved; the next run reads it again.
    OutOfTime,
}

/// What sending to one page needs.
struct Sender<'a> {
    app: &'a App,
    record: &'a CampaignRecord,
    category: &'a Category,
    author: &'a User,
    pace: &'a mut Pace,
    deadline: Instant,
    /// When the campaign was last read to see whether it was cancelled.
    checked: Option<Instant>,
}

/// How often a run looks whether its campaign was cancelled.
const CANCEL_CHECK: Duration = Duration::from_secs(1);

impl<'a> Sender<'a> {
    /// Sends to one page of residents; what became of each, and how the page ended.
    async fn reach(&mut self, residents: &[User], read_again: bool) -> Result<(Counts, Ended), WorkError> {
        let (org, record) = (&self.record.org, self.record);
        let ids: Vec<UserId> = residents.iter().map(|r| r.id.clone()).collect();
        let marks = if read_again {
            let keys: Vec<RecipientKey> = ids.iter().map(|id| self.key(id)).collect();
            self.app.store.recipient_marks(org, &keys).await?
        } else {
            Default::default()
        };
        let consents = self.app.store.consents_of(org, &ids).await?;
        let mut counts = Counts::default();
        for resident in residents {
            if Instant::now() + SAVE_MARGIN >= self.deadline {
                return Ok((counts, Ended::OutOfTime));
            }
            // Met on this page before a run stopped: as it was then.
            let mark = marks.get(&resident.id).filter(|m| m.campaign_id == record.id);
            if let Some(outcome) = mark.and_then(|m| self.settled(m)) {
                if let Some(outcome) = outcome {
                    counts.count(outcome);
                }
                continue;
            }
            if mark.is_some() {
                // Claimed by a run that stopped before settling: resolved before anything else
                // (the resident may since have been archived or decided), unless cancelled.
                if self.cancelled().await? {
                    return Ok((counts, Ended::Cancelled));
                }
                let resolved = match record.kind {
                    CampaignKind::Message => self.converse(resident).await?,
                    CampaignKind::ConsentRequest => self.ask(resident).await?,
                };
                if let Some(outcome) = resolved {
                    counts.count(outcome);
                }
                continue;
            }
            let decided = consents.get(&resident.id).cloned().unwrap_or_default();
            let outcome = if resident.state == domain::AccountState::Archived {
                Some(Outcome::Archived)
            } else {
                match record.kind {
                    CampaignKind::Message if !decided.allows(self.category) => Some(Outcome::NoConsent),
                    CampaignKind::ConsentRequest if decided.decided_at(&self.category.id).is_some() => {
                        Some(Outcome::Decided)
                    }
                    _ if self.cancelled().await? => return Ok((counts, Ended::Cancelled)),
                    CampaignKind::Message => self.converse(resident).await?,
                    CampaignKind::ConsentRequest => self.ask(resident).await?,
                }
            };
            if let Some(outcome) = outcome {
                counts.count(outcome);
            }
        }
        Ok((counts, Ended::Page))
    }

    /// Whether the campaign was cancelled (read at most once a [`CANCEL_CHECK`]).
    async fn cancelled(&mut self) -> Result<bool, WorkError> {
        if self.checked.is_some_and(|at| at.elapsed() < CANCEL_CHECK) {
            return Ok(false);
        }
        self.checked = Some(Instant::now());
        let now_is = self.app.store.get_campaign(&self.record.org, &self.record.id).await?;
        Ok(now_is.is_none_or(|c| c.status == CampaignStatus::Cancelled))
    }

    fn key<'k>(&self, contact: &'k UserId) -> RecipientKey<'k>
    where
        'a: 'k,
    {
        match self.record.kind {
            CampaignKind::Message => RecipientKey::Campaign { campaign: &self.record.id, contact },
            CampaignKind::ConsentRequest => RecipientKey::Asked { contact, category: &self.category.id },
        }
    }

    fn mark(&self, address: Option<String>) -> RecipientMark {
        RecipientMark {
            campaign_id: self.record.id,
            state: MarkState::Sending,
            page: self.record.progress.clone(),
            address,
            thread_id: None,
            at: now(),
        }
    }

    /// What a mark of this campaign counts as: its outcome if settled, where this page met
    /// the recipient; nothing (not counted) if another page did (renamed or moved: counted
    /// there, unless a run died before saving that page, a case left uncounted rather than
    /// sent twice); `None` for a send a run claimed and did not settle (the caller resolves
    /// and counts it, wherever it is met).
    fn settled(&self, mark: &RecipientMark) -> Option<Option<Outcome>> {
        let outcome = match mark.state {
            // Resolved wherever it is met again (its page was never saved).
            MarkState::Sending => return None,
            MarkState::Sent => Outcome::Sent,
            MarkState::NoConsent => Outcome::NoConsent,
            MarkState::Failed | MarkState::Refused => Outcome::Failed,
        };
        Some((mark.page == self.record.progress).then_some(outcome))
    }

    /// Starts the campaign's conversation with one resident, once.
    async fn converse(&mut self, resident: &User) -> Result<Option<Outcome>, WorkError> {
        let (app, record) = (self.app, self.record);
        let at = self.key(&resident.id);
        let mark = self.mark(None);
        if let Some(first) = app.store.claim_recipient(&record.org, at, &mark).await? {
            if let Some(outcome) = self.settled(&first) {
                return Ok(outcome);
            }
            // Claimed by a run that stopped before settling: if the conversation was
            // started, record it; else start it now, under the same key.
            let key = conversation_key(record, &resident.id);
            if let Some(started) =
                app.store.replay(&record.org, &self.author.id, key.key.as_deref().unwrap_or_default()).await?
            {
                let settled = RecipientMark {
                    state: MarkState::Sent,
                    thread_id: Some(started.message.thread_id),
                    at: now(),
                    ..first
                };
                app.store.settle_recipient(&record.org, at, &settled).await?;
                return Ok(Some(Outcome::Sent));
            }
        }
        self.pace.wait().await;
        let new = NewThread {
            topic: record.topic.clone().unwrap_or_else(|| Topic::parse("general").unwrap()),
            subject: record.subject.clone().unwrap_or_else(|| Subject::parse("Message").unwrap()),
            body: record.body.clone().unwrap_or_else(|| MessageBody::parse(".").unwrap()),
            priority: None,
            linked_record: None,
            resident_id: Some(resident.id.clone()),
            category_id: Some(record.category_id.clone()),
            attachment_ids: Vec::new(),
        };
        let key = conversation_key(record, &resident.id);
        let (state, thread_id, outcome) = match threads::start_counted(app, self.author, new, key, false)
            .await
        {
            Ok(view) => (MarkState::Sent, Some(view.thread.summary.id), Outcome::Sent),
            Err(Error::Domain(refused)) => {
                tracing::info!(campaign = %record.id, code = refused.code().as_str(), "a campaign conversation was refused");
                if refused.code() == ErrorCode::NoConsent {
                    (MarkState::NoConsent, None, Outcome::NoConsent)
                } else {
                    (MarkState::Failed, None, Outcome::Failed)
                }
            }
            Err(e) => return Err(WorkError::UseCase(Box::new(e))),
        };
        let settled = RecipientMark { state, thread_id, at: now(), ..mark };
        app.store.settle_recipient(&record.org, at, &settled).await?;
        Ok(Some(outcome))
    }

    /// E-mails one resident the consent request, at most once ever per category.
    async fn ask(&mut self, resident: &User) -> Result<Option<Outcome>, WorkError> {
        let (app, record, category) = (self.app, self.record, self.category);
        let Some(address) = resident.email.clone() else { return Ok(Some(Outcome::NoAddress)) };
        let at = self.key(&resident.id);
        let mark = self.mark(Some(address.clone()));
        if let Some(first) = app.store.claim_recipient(&record.org, at, &mark).await? {
            if first.campaign_id != record.id {
                // Asked by an earlier campaign: not again.
                return Ok(Some(Outcome::Decided));
            }
            if let Some(outcome) = self.settled(&first) {
                return Ok(outcome);
            }
            // Claimed by a run that stopped before settling: the e-mail may have gone;
            // never a second.
            let failed = RecipientMark { state: MarkState::Failed, at: now(), ..first };
            app.store.settle_recipient(&record.org, at, &failed).await?;
            return Ok(Some(Outcome::Failed));
        }
        let key = app.link_key().map_err(|e| WorkError::UseCase(Box::new(e)))?;
        let link = |purpose| {
            let claim = LinkClaim {
                purpose,
                org: record.org.clone(),
                contact: resident.id.clone(),
                category_id: category.id.clone(),
                campaign: Some(record.id),
                day: links::day(now()),
            };
            links::url(&crate::config::links_url(&app.app_url), purpose, &key.seal(&claim))
        };
        let (title, wording) = request_wording(record, category);
        let unsubscribe = link(Purpose::Unsubscribe);
        let text = format!(
            "{wording}\n\nAnswer here (no sign-in needed): {}\n\nTo never be asked again: {unsubscribe}\n",
            link(Purpose::Consent)
        );
        self.pace.wait().await;
        let idempotency_key = format!("{}-{}", record.id, resident.id);
        let out = channels::Outgoing {
            to: &address,
            title: &title,
            text: &text,
            idempotency_key: &idempotency_key,
            unsubscribe: Some(&unsubscribe),
        };
        let left = self.deadline.saturating_duration_since(Instant::now());
        let (state, outcome) = match app.providers.send_email_once(&out, left.min(SEND_LIMIT)).await {
            Ok(()) => (MarkState::Sent, Outcome::Sent),
            Err(OnceError::Refused(e)) => {
                tracing::warn!(campaign = %record.id, error = %e, "a consent request was refused by the provider");
                (MarkState::Refused, Outcome::Failed)
            }
            Err(OnceError::Unknown(e)) => {
                tracing::warn!(campaign = %record.id, error = %e, "a consent request may not have gone; not sent again");
                (MarkState::Failed, Outcome::Failed)
            }
            Err(OnceError::NotTaken(e)) => {
                // Throttled or paused: given back, so the next run asks again.
                app.store.release_recipient(&record.org, at).await?;
                let e = channels::SendError::Transient(e);
                return Err(WorkError::UseCase(Box::new(Error::Mail(e))));
            }
        };
        let settled = RecipientMark { state, at: now(), ..mark };
        app.store.settle_recipient(&record.org, at, &settled).await?;
        Ok(Some(outcome))
    }
}

/// The Idempotency-Key a campaign's conversation with `resident` is started with (no client
/// can send it: client keys have no spaces).
fn conversation_key(record: &CampaignRecord, resident: &UserId) -> Idempotency {
    let key = format!("campaign {} {resident}", record.id);
    Idempotency::new(Some(key), "campaign", &(record.id, resident))
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
    let asked = [RecipientKey::Asked { contact: &claim.contact, category: &category.id }];
    let (record, marks) = tokio::try_join!(
        app.store.get_campaign(&claim.org, &id),
        app.store.recipient_marks(&claim.org, &asked)
    )?;
    let mark = marks.into_values().next();
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
