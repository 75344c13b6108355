//! A search as a Tantivy query: every word must match a word of the subject, the body or
//! the resident's name (the last one as a prefix, for typing ahead), within the filters
//! and what the caller may see.

use std::ops::Bound;

use domain::{MessageId, UserId};
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, RangeQuery, RegexQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;

use crate::schema::{rank, rank_at, words, Fields};

/// Who searches: the rights the index narrows to before the table checks each hit.
#[derive(Debug, Clone)]
pub struct Access {
    /// Only threads this user takes part in; `None`: every thread of the org (facility
    /// admins).
    pub member: Option<UserId>,
    /// Internal notes too (staff).
    pub internal: bool,
}

/// What to look for. Every part is optional; the caller checks that something is given.
#[derive(Debug, Clone, Default)]
pub struct IndexQuery {
    pub text: Option<String>,
    /// Messages from this time on (milliseconds since the epoch).
    pub from_ms: Option<u64>,
    /// Messages up to this time, included.
    pub to_ms: Option<u64>,
    pub resident_id: Option<UserId>,
    pub unit: Option<String>,
    pub property_id: Option<String>,
    pub topic: Option<String>,
    /// Only messages older than this one (the cursor: the last one of the previous page).
    pub before: Option<MessageId>,
    pub limit: usize,
}

/// The words of a query: folded as the index's, duplicates removed, the last one a
/// prefix (unless the text ends with a space: the word is finished).
pub fn query_words(text: &str) -> (Vec<String>, Option<String>) {
    let mut all: Vec<String> = words(text).into_iter().map(|(word, _)| word).collect();
    let typing = text.chars().last().is_some_and(char::is_alphanumeric);
    let prefix = if typing { all.pop() } else { None };
    let mut exact: Vec<String> = Vec::new();
    for word in all {
        if !exact.contains(&word) {
            exact.push(word);
        }
    }
    (exact, prefix)
}

fn term(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic))
}

/// One word in any of the text fields.
fn any_field(f: &Fields, word: impl Fn(Field) -> Box<dyn Query>) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(f.text().into_iter().map(|field| (Occur::Should, word(field))).collect()))
}

pub(crate) fn build(f: &Fields, q: &IndexQuery, access: &Access) -> Box<dyn Query> {
    let mut must: Vec<Box<dyn Query>> = Vec::new();
    if let Some(text) = &q.text {
        let (exact, prefix) = query_words(text);
        for word in exact {
            must.push(any_field(f, |field| term(field, &word)));
        }
        if let Some(prefix) = prefix {
            // Folded words are letters and digits only: nothing in them is a regex operator.
            must.push(any_field(f, |field| {
                Box::new(RegexQuery::from_pattern(&format!("{prefix}.*"), field).expect("a literal prefix"))
            }));
        }
    }
    let filters = [
        (f.resident_id, q.resident_id.as_ref().map(UserId::as_str)),
        (f.unit, q.unit.as_deref()),
        (f.property_id, q.property_id.as_deref()),
        (f.topic, q.topic.as_deref()),
        (f.members, access.member.as_ref().map(UserId::as_str)),
    ];
    for (field, value) in filters {
        if let Some(value) = value {
            must.push(term(field, value));
        }
    }
    if !access.internal {
        must.push(Box::new(TermQuery::new(
            Term::from_field_bool(f.internal, false),
            IndexRecordOption::Basic,
        )));
    }
    let lower = q.from_ms.map(rank_at);
    let upper = [q.to_ms.map(|ms| rank_at(ms + 1)), q.before.as_ref().map(rank)].into_iter().flatten().min();
    if lower.is_some() || upper.is_some() {
        let bound = |r: Option<u64>, inclusive: bool| match r {
            None => Bound::Unbounded,
            Some(r) if inclusive => Bound::Included(Term::from_field_u64(f.rank, r)),
            Some(r) => Bound::Excluded(Term::from_field_u64(f.rank, r)),
        };
        must.push(Box::new(RangeQuery::new(bound(lower, true), bound(upper, false))));
    }
    if must.is_empty() {
        return Box::new(AllQuery);
    }
    Box::new(BooleanQuery::new(must.into_iter().map(|q| (Occur::Must, q)).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_word_is_a_prefix_while_it_is_being_typed() {
        assert_eq!(
            query_words("Fuite d'EAU chau"),
            (vec!["fuite".into(), "d".into(), "eau".into()], Some("chau".into()))
        );
        assert_eq!(query_words("fuite eau "), (vec!["fuite".into(), "eau".into()], None));
        assert_eq!(query_words("eau eau"), (vec!["eau".into()], Some("eau".into())));
        assert_eq!(
            query_words("tuyau fuite tuyau"),
            (vec!["tuyau".into(), "fuite".into()], Some("tuyau".into()))
        );
        assert_eq!(query_words("?!"), (vec![], None));
    }
}
