//! Communication categories: every thread has one (seed 002). A category sets the consent
//! rule its messages follow (the consent ledger applies it, issue #17), the resident topics
//! whose threads belong to it, and who audits and dispatches it. Threads of a topic no
//! category claims belong to the built-in `service` category (transactional).

use serde::{Deserialize, Serialize};

use crate::{DomainError, ErrorCode, Topic, UserId};

/// The id of the built-in category of every thread no other category claims.
pub const SERVICE: &str = "service";
pub const MAX_CATEGORIES: usize = 50;
const MAX_NAME_CHARS: usize = 80;
const MAX_TOPICS: usize = 20;
const MAX_PEOPLE: usize = 50;

/// What consent a category's messages need (CASL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentMode {
    /// Business transactions: no consent needed, no unsubscribe link.
    Transactional,
    /// Nobody until they consent; consent-request campaigns ask.
    Request,
    /// Everyone until they opt out.
    OptIn,
    /// Nobody until they opt in from the portal.
    OptOut,
}

/// A category's id: `service` (built in) or `cat-` and a lower-case ULID.
pub type CategoryId = String;

/// A category as set by facility admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Category {
    pub id: CategoryId,
    pub name: String,
    pub consent: ConsentMode,
    /// The resident topics whose threads belong to it (each topic in one category at most).
    pub topics: Vec<Topic>,
    /// Staff who read every thread of the category, never writing.
    pub auditors: Vec<UserId>,
    /// Staff alerted to its new resident messages, who assign them, in their properties.
    pub dispatchers: Vec<UserId>,
}

impl Category {
    /// The built-in category of threads no other category claims.
    pub fn service() -> Self {
        Self {
            id: SERVICE.to_owned(),
            name: "Service".to_owned(),
            consent: ConsentMode::Transactional,
            topics: vec![],
            auditors: vec![],
            dispatchers: vec![],
        }
    }

    /// A category as the rules allow it, among `others` (the org's other categories): a
    /// name, at most 20 topics none of which another category claims, at most 50 auditors
    /// and 50 dispatchers, each once.
    pub fn validated(mut self, others: &[Category]) -> Result<Self, DomainError> {
        self.name = crate::text::single_line(&self.name, MAX_NAME_CHARS, "name")?;
        let invalid = |message: String| DomainError::invalid(ErrorCode::InvalidCategory, message);
        for list in [&mut self.auditors, &mut self.dispatchers] {
            list.sort();
            list.dedup();
            if list.len() > MAX_PEOPLE {
                return Err(invalid(format!("at most {MAX_PEOPLE} auditors and {MAX_PEOPLE} dispatchers")));
            }
        }
        self.topics.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        self.topics.dedup();
        if self.topics.len() > MAX_TOPICS {
            return Err(invalid(format!("at most {MAX_TOPICS} topics")));
        }
        if let Some(taken) =
            self.topics.iter().find(|t| others.iter().any(|o| o.id != self.id && o.topics.contains(t)))
        {
            let message = format!("topic {} already belongs to another category", taken.as_str());
            return Err(DomainError::conflict(ErrorCode::TopicTaken, message));
        }
        Ok(self)
    }
}

/// The category a new thread of `topic` belongs to: the one claiming the topic, else
/// `service`.
pub fn of_topic<'a>(categories: &'a [Category], topic: &Topic) -> Option<&'a Category> {
    categories.iter().find(|c| c.topics.contains(topic))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn category(id: &str, topics: &[&str]) -> Category {
        Category {
            id: id.to_owned(),
            name: format!("Category {id}"),
            consent: ConsentMode::OptIn,
            topics: topics.iter().map(|t| Topic::parse(t).unwrap()).collect(),
            auditors: vec![],
            dispatchers: vec![],
        }
    }

    #[test]
    fn a_topic_belongs_to_one_category_at_most() {
        let news = category("cat-1", &["events", "newsletter"]);
        let taken = category("cat-2", &["parking", "events"]).validated(std::slice::from_ref(&news));
        assert_eq!(taken.unwrap_err().code(), ErrorCode::TopicTaken);
        // Its own topics, edited, are not taken by itself.
        assert!(news.clone().validated(std::slice::from_ref(&news)).is_ok());
        let parking = category("cat-2", &["parking"]);
        let all = [news, parking];
        assert_eq!(of_topic(&all, &Topic::parse("events").unwrap()).map(|c| c.id.as_str()), Some("cat-1"));
        assert_eq!(of_topic(&all, &Topic::parse("billing").unwrap()), None);
    }

    #[test]
    fn names_and_lists_are_bounded_and_kept_once() {
        let mut c = category("cat-1", &["events", "events"]);
        c.auditors = vec![UserId::parse("a").unwrap(), UserId::parse("a").unwrap()];
        let c = c.validated(&[]).unwrap();
        assert_eq!((c.topics.len(), c.auditors.len()), (1, 1));
        let mut long = category("cat-1", &[]);
        long.name = "x".repeat(81);
        assert!(long.validated(&[]).is_err());
        let mut crowded = category("cat-1", &[]);
        crowded.dispatchers = (0..51).map(|i| UserId::parse(format!("u{i}")).unwrap()).collect();
        assert_eq!(crowded.validated(&[]).unwrap_err().code(), ErrorCode::InvalidCategory);
    }
}
