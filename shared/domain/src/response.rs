//! The response clock a thread keeps for the response figures: the resident message that
//! started the thread's latest response cycle (the resident's message that opens the
//! thread or re-opens it), the cycle a human staff reply or a resolution settled last, and
//! the newest message it has seen. A post reads it with the thread, so a staff reply's event
//! names the cycle it answers and the figures need no read to find it. A clock that has not
//! seen the thread's newest message (a release before it wrote that message, or the thread
//! is older than the clock) is unknown: the figures look the cycle up, until a re-opening or
//! a resolution sets it again.

use serde::{Deserialize, Serialize};

use crate::{MessageId, Role, ThreadStatus};

/// The thread item's fields (in its record) that hold the clock.
pub const STARTED_FIELD: &str = "cycle_started";
pub const SETTLED_FIELD: &str = "cycle_settled";
/// Named the newest message the clock saw, until stop 44 (kept for reading such items).
pub const THROUGH_FIELD: &str = "cycle_through";
/// The thread item's version when its clock last saw its newest message (a top-level
/// attribute since stop 44): known while that is still the item's version. 10 B where the
/// message's id took 40, and every write that bumps the version without knowing the clock
/// (a release before it, for one) leaves it unknown, never wrong.
pub const KNOWN_AT_FIELD: &str = "clock_v";

/// As the thread item keeps it: three fields of its own, each set apart (see
/// [`ClockChange`]), so no write of one needs another to exist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseClock {
    /// The resident message that started the latest cycle.
    #[serde(rename = "cycle_started", default, skip_serializing_if = "Option::is_none")]
    pub started: Option<MessageId>,
    /// The cycle answered or resolved last.
    #[serde(rename = "cycle_settled", default, skip_serializing_if = "Option::is_none")]
    pub settled: Option<MessageId>,
    /// The newest message the clock has seen: it is known while that is the thread's.
    #[serde(rename = "cycle_through", default, skip_serializing_if = "Option::is_none")]
    pub through: Option<MessageId>,
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

/// How a post moves the clock on the thread item (with the message, when it is the newest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockChange {
    /// A re-opening starts a new cycle (and the clock has seen it); `settled` stays, an
    /// older cycle's.
    Start(MessageId),
    /// The clock has seen the message (`through`), and, when it answers one, the cycle is
    /// settled: only `settled` is written of the cycle, so a re-opening written at the same
    /// time (a newer `started`) still waits.
    Saw { message: MessageId, settle: Option<MessageId> },
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

impl Posting {
    fn public(&self) -> bool {
        !self.internal && !self.automated
    }

    /// A resident's public message in a resolved or archived thread.
    fn reopens(&self) -> bool {
        self.public()
            && self.by_resident
            && self.role == Role::Resident
            && matches!(self.status, ThreadStatus::Resolved | ThreadStatus::Archived)
    }

    fn is_staff_reply(&self) -> bool {
        self.public() && self.role.is_staff()
    }

    /// What its event tells the figures when the clock cannot say (unknown, or the message
    /// is not the thread's newest): nothing, unless it is a human staff reply, whose cycle
    /// the figures look up.
    pub fn answers_unknown(&self) -> Option<Answers> {
        (!self.is_staff_reply()).then_some(Answers::Nothing)
    }
}

impl ResponseClock {
    /// A new thread's clock: its first message starts a cycle when the resident wrote it.
    pub fn opened(first: MessageId, by_resident: bool) -> Self {
        Self { started: by_resident.then_some(first), settled: None, through: Some(first) }
    }

    /// A resolved thread's clock: nothing waits (`last`: the thread's newest message).
    pub fn resolved(last: Option<MessageId>) -> Self {
        Self { started: None, settled: None, through: last }
    }

    /// The clock, if it has seen the thread's newest message `last`.
    pub fn known(&self, last: Option<MessageId>) -> Option<&Self> {
        (self.through.is_some() && self.through == last).then_some(self)
    }

    /// The cycle waiting for its first human staff reply.
    pub fn waiting(&self) -> Option<MessageId> {
        self.started.filter(|started| self.settled != Some(*started))
    }

    /// What posting `post` does to this clock, on a thread whose newest message is `last`,
    /// and what its event tells the figures (`None`: unknown, the figures look the cycle
    /// up).
    pub fn after(&self, last: Option<MessageId>, post: &Posting) -> (Option<ClockChange>, Option<Answers>) {
        if post.reopens() {
            return (Some(ClockChange::Start(post.id)), Some(Answers::Nothing));
        }
        let Some(known) = self.known(last) else {
            return (None, post.answers_unknown());
        };
        let answered = known.waiting().filter(|_| post.is_staff_reply());
        let change = ClockChange::Saw { message: post.id, settle: answered };
        (Some(change), Some(answered.map_or(Answers::Nothing, Answers::Cycle)))
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

    fn saw(message: MessageId, settle: Option<MessageId>) -> Option<ClockChange> {
        Some(ClockChange::Saw { message, settle })
    }

    /// The clock as the thread item holds it after `change`.
    fn apply(clock: &mut ResponseClock, change: Option<ClockChange>) {
        match change {
            Some(ClockChange::Start(started)) => {
                clock.started = Some(started);
                clock.through = Some(started);
            }
            Some(ClockChange::Saw { message, settle }) => {
                clock.through = Some(message);
                if settle.is_some() {
                    clock.settled = settle;
                }
            }
            None => {}
        }
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
        let mut last = first;
        for p in [note, automated, resident] {
            let after = clock.after(Some(last), &p);
            assert_eq!(after, (saw(p.id, None), Some(Answers::Nothing)), "{p:?}");
            apply(&mut clock, after.0);
            last = p.id;
        }
        let reply = post(reply, Role::Staff, false, ThreadStatus::Unread);
        let after = clock.after(Some(last), &reply);
        assert_eq!(after, (saw(reply.id, Some(first)), Some(Answers::Cycle(first))));
        apply(&mut clock, after.0);
        let admin = post(admin, Role::FacilityAdmin, false, ThreadStatus::Open);
        assert_eq!(clock.after(Some(reply.id), &admin), (saw(admin.id, None), Some(Answers::Nothing)));
    }

    #[test]
    fn a_thread_staff_started_waits_for_nobody_until_the_resident_reopens_it() {
        let [first, reply, open, reopen] = ids();
        let clock = ResponseClock::opened(first, false);
        assert_eq!(clock.waiting(), None);
        let reply = post(reply, Role::Staff, false, ThreadStatus::Open);
        assert_eq!(clock.after(Some(first), &reply).1, Some(Answers::Nothing));
        // A resident's reply to an open thread starts nothing; one to a resolved thread does.
        let open = post(open, Role::Resident, true, ThreadStatus::Open);
        assert_eq!(clock.after(Some(first), &open).0, saw(open.id, None));
        let reopen = post(reopen, Role::Resident, true, ThreadStatus::Resolved);
        let after = clock.after(Some(first), &reopen);
        assert_eq!(after, (Some(ClockChange::Start(reopen.id)), Some(Answers::Nothing)));
        let mut reopened = clock;
        apply(&mut reopened, after.0);
        assert_eq!((reopened.waiting(), reopened.known(Some(reopen.id)).is_some()), (Some(reopen.id), true));
        // Another resident of the thread re-opens nothing.
        let other = Posting { by_resident: false, ..reopen };
        assert_eq!(clock.after(Some(first), &other).0, saw(other.id, None));
    }

    #[test]
    fn resolving_settles_the_cycle_and_a_reply_after_it_answers_nothing() {
        let [first, reply] = ids();
        let clock = ResponseClock::resolved(Some(first));
        assert_eq!(clock.waiting(), None);
        let reply = post(reply, Role::Staff, false, ThreadStatus::Resolved);
        assert_eq!(clock.after(Some(first), &reply), (saw(reply.id, None), Some(Answers::Nothing)));
    }

    #[test]
    fn a_clock_that_missed_the_newest_message_is_unknown_until_a_reopening_or_resolution() {
        let [first, missed, reply, other, reopen] = ids();
        // A thread from before the clock, and one a release without it posted to.
        for clock in [ResponseClock::default(), ResponseClock::opened(first, true)] {
            let reply = post(reply, Role::Staff, false, ThreadStatus::Unread);
            assert_eq!(clock.after(Some(missed), &reply), (None, None), "{clock:?}");
            let other = post(other, Role::Resident, true, ThreadStatus::Open);
            assert_eq!(clock.after(Some(missed), &other), (None, Some(Answers::Nothing)));
            let reopen = post(reopen, Role::Resident, true, ThreadStatus::Archived);
            assert_eq!(clock.after(Some(missed), &reopen).0, Some(ClockChange::Start(reopen.id)));
            assert!(ResponseClock::resolved(Some(missed)).known(Some(missed)).is_some());
        }
    }

    #[test]
    fn a_settle_names_its_cycle_so_a_reopening_at_the_same_time_still_waits() {
        // The reply read cycle 1; the resident re-opened with 3 meanwhile: the reply writes
        // only `settled = 1`, which leaves 3 waiting.
        let [first, reopen] = ids();
        let written = ResponseClock { started: Some(reopen), settled: Some(first), through: Some(reopen) };
        assert_eq!(written.waiting(), Some(reopen));
    }

    #[test]
    fn the_fields_are_named_as_the_store_sets_them() {
        let [a, b, c] = ids();
        let clock = ResponseClock { started: Some(a), settled: Some(b), through: Some(c) };
        let json = serde_json::to_value(clock).unwrap();
        for (field, id) in [(STARTED_FIELD, a), (SETTLED_FIELD, b), (THROUGH_FIELD, c)] {
            assert_eq!(json[field], id.to_string(), "{json}");
        }
    }
}
