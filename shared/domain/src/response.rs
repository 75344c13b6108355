//! The response clock a thread keeps for the response figures: the resident message that
//! started the thread's latest response cycle (the resident's message that opens the
//! thread or re-opens it), and the cycle a human staff reply or a resolution settled last.
//! A post reads it with the thread, so a staff reply's event names the cycle it answers and
//! the figures need no read to find it.

use serde::{Deserialize, Serialize};

use crate::{MessageId, Role, ThreadStatus};

/// As the thread item keeps it (`None` on the thread: one from before it was kept).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseClock {
    /// The resident message that started the latest cycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<MessageId>,
    /// The cycle answered or resolved last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled: Option<MessageId>,
}

/// What a message's event tells the response figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answers {
    /// No cycle waits for this message: it is not a human staff reply, or the cycle was
    /// answered or resolved before.
    Nothing,
    /// The first human staff reply of the cycle this resident message started.
    Cycle(MessageId),
}

/// How a post moves the clock on the thread item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockChange {
    /// A new cycle: the whole clock is written.
    Start(ResponseClock),
    /// This cycle is answered: only `settled` is written, so a re-opening written at the
    /// same time (a newer `started`) still waits.
    Settle(MessageId),
}

/// A message as the clock sees it.
#[derive(Debug, Clone, Copy)]
pub struct Posting {
    pub id: MessageId,
    /// Written by the thread's resident.
    pub by_resident: bool,
    pub role: Role,
    pub internal: bool,
    pub automated: bool,
    /// The thread's status when it was posted.
    pub status: ThreadStatus,
}

impl ResponseClock {
    /// A new thread's clock: its first message starts a cycle when the resident wrote it.
    pub fn opened(first: MessageId, by_resident: bool) -> Self {
        Self { started: by_resident.then_some(first), settled: None }
    }

    /// The cycle waiting for its first human staff reply.
    pub fn waiting(&self) -> Option<MessageId> {
        self.started.filter(|started| self.settled != Some(*started))
    }

    /// Resolving the thread settles its cycle: a later reply answers nothing.
    pub fn settle(&mut self) {
        self.settled = self.started;
    }

    /// What posting `post` does to the clock `before` (`None`: not kept yet), and what its
    /// event tells the figures (`None`: unknown, the figures look the cycle up).
    pub fn after(before: Option<&Self>, post: &Posting) -> (Option<ClockChange>, Option<Answers>) {
        let public = !post.internal && !post.automated;
        let reopens = public
            && post.by_resident
            && matches!(post.status, ThreadStatus::Resolved | ThreadStatus::Archived);
        if reopens {
            let settled = before.and_then(|c| c.settled);
            let clock = Self { started: Some(post.id), settled };
            return (Some(ClockChange::Start(clock)), Some(Answers::Nothing));
        }
        if !(public && post.role.is_staff()) {
            return (None, Some(Answers::Nothing));
        }
        match before.map(Self::waiting) {
            Some(Some(cycle)) => (Some(ClockChange::Settle(cycle)), Some(Answers::Cycle(cycle))),
            Some(None) => (None, Some(Answers::Nothing)),
            None => (None, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(id: MessageId, role: Role, by_resident: bool, status: ThreadStatus) -> Posting {
        Posting { id, by_resident, role, internal: false, automated: false, status }
    }

    fn ids<const N: usize>() -> [MessageId; N] {
        std::array::from_fn(|i| MessageId::new_at(i as u64 + 1))
    }

    #[test]
    fn the_first_human_staff_reply_answers_the_residents_cycle_and_later_ones_nothing() {
        let [first, note, automated, resident, reply, admin] = ids();
        let mut clock = ResponseClock::opened(first, true);
        assert_eq!(clock.waiting(), Some(first));
        let note = Posting { internal: true, ..post(note, Role::Staff, false, ThreadStatus::Unread) };
        let automated =
            Posting { automated: true, ..post(automated, Role::Staff, false, ThreadStatus::Unread) };
        let resident = post(resident, Role::Resident, true, ThreadStatus::Unread);
        for p in [note, automated, resident] {
            assert_eq!(ResponseClock::after(Some(&clock), &p), (None, Some(Answers::Nothing)), "{p:?}");
        }
        let reply = post(reply, Role::Staff, false, ThreadStatus::Unread);
        let (change, answers) = ResponseClock::after(Some(&clock), &reply);
        assert_eq!((change, answers), (Some(ClockChange::Settle(first)), Some(Answers::Cycle(first))));
        clock.settled = Some(first);
        let admin = post(admin, Role::FacilityAdmin, false, ThreadStatus::Open);
        assert_eq!(ResponseClock::after(Some(&clock), &admin), (None, Some(Answers::Nothing)));
    }

    #[test]
    fn a_thread_staff_started_waits_for_nobody_until_the_resident_reopens_it() {
        let [first, reply, open, reopen] = ids();
        let clock = ResponseClock::opened(first, false);
        assert_eq!(clock.waiting(), None);
        let reply = post(reply, Role::Staff, false, ThreadStatus::Open);
        assert_eq!(ResponseClock::after(Some(&clock), &reply), (None, Some(Answers::Nothing)));
        // A resident's reply to an open thread starts nothing; one to a resolved thread does.
        let open = post(open, Role::Resident, true, ThreadStatus::Open);
        assert_eq!(ResponseClock::after(Some(&clock), &open).0, None);
        let started = ResponseClock { started: Some(reopen), settled: None };
        let reopen = post(reopen, Role::Resident, true, ThreadStatus::Resolved);
        let after = ResponseClock::after(Some(&clock), &reopen);
        assert_eq!(after, (Some(ClockChange::Start(started)), Some(Answers::Nothing)));
        assert_eq!(started.waiting(), Some(reopen.id));
        // Another resident of the thread re-opens nothing.
        let other = Posting { by_resident: false, ..reopen };
        assert_eq!(ResponseClock::after(Some(&clock), &other).0, None);
    }

    #[test]
    fn resolving_settles_the_cycle_and_a_reply_after_it_answers_nothing() {
        let [first, reply] = ids();
        let mut clock = ResponseClock::opened(first, true);
        clock.settle();
        assert_eq!(clock.waiting(), None);
        let reply = post(reply, Role::Staff, false, ThreadStatus::Resolved);
        assert_eq!(ResponseClock::after(Some(&clock), &reply), (None, Some(Answers::Nothing)));
    }

    #[test]
    fn a_thread_from_before_the_clock_leaves_the_answer_unknown_until_it_is_reopened() {
        let [reply, other, reopen] = ids();
        let reply = post(reply, Role::Staff, false, ThreadStatus::Unread);
        assert_eq!(ResponseClock::after(None, &reply), (None, None));
        let other = post(other, Role::Resident, true, ThreadStatus::Open);
        assert_eq!(ResponseClock::after(None, &other), (None, Some(Answers::Nothing)));
        let started = ResponseClock { started: Some(reopen), settled: None };
        let reopen = post(reopen, Role::Resident, true, ThreadStatus::Archived);
        assert_eq!(ResponseClock::after(None, &reopen).0, Some(ClockChange::Start(started)));
    }

    #[test]
    fn a_settle_names_its_cycle_so_a_reopening_at_the_same_time_still_waits() {
        // The reply read cycle 1; the resident re-opened with 3 meanwhile: the reply writes
        // only `settled = 1`, which leaves 3 waiting.
        let [first, reopen] = ids();
        let written = ResponseClock { started: Some(reopen), settled: Some(first) };
        assert_eq!(written.waiting(), Some(reopen));
    }
}
