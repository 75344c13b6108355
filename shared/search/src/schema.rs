//! What the index holds of a message, and how text is cut into words: the same analyzer
//! for what is indexed, for queries and for snippets, so a match is the same everywhere.

use domain::{MessageId, ThreadId, UserId};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::tokenizer::{AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};
use tantivy::{Index, TantivyDocument};

/// The analyzer's name in the index's tokenizer registry.
const FOLDED: &str = "folded";
/// Longer "words" (hashes, URLs cut at punctuation) are not indexed.
const MAX_WORD_BYTES: usize = 40;

/// Words of a text: runs of letters and digits, lower-cased, accents removed (é → e,
/// ß → ss), so `Hélène` and `helene` match.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_WORD_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The folded words of `text`, in order, with their byte ranges in it.
pub fn words(text: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let token = stream.token();
        out.push((token.text.clone(), token.offset_from..token.offset_to));
    }
    out
}

/// A message as the index holds it: the words it is found by and the fields the filters
/// and the rights check use. The body is indexed, not stored: answers show the live text.
#[derive(Debug, Clone)]
pub struct SearchDoc {
    pub message_id: MessageId,
    pub thread_id: ThreadId,
    pub internal: bool,
    pub subject: String,
    pub body: String,
    pub resident_id: UserId,
    pub resident_name: String,
    pub unit: Option<String>,
    pub property_id: Option<String>,
    pub topic: String,
    /// Who takes part in the thread: what a non-admin's search is narrowed to.
    pub members: Vec<UserId>,
}

/// The fields of the schema, by name.
#[derive(Clone, Copy)]
pub(crate) struct Fields {
    pub message_id: Field,
    pub thread_id: Field,
    /// The upper 64 bits of the message's ULID: its time in milliseconds, then 16 random
    /// bits. Newest first is this descending; dates and the cursor are ranges of it.
    pub rank: Field,
    pub internal: Field,
    pub subject: Field,
    pub body: Field,
    pub name: Field,
    pub resident_id: Field,
    pub unit: Field,
    pub property_id: Field,
    pub topic: Field,
    pub members: Field,
}

impl Fields {
    pub fn of(schema: &Schema) -> Self {
        let field = |name: &str| schema.get_field(name).expect("the index has the schema of this version");
        Self {
            message_id: field("message_id"),
            thread_id: field("thread_id"),
            rank: field("rank"),
            internal: field("internal"),
            subject: field("subject"),
            body: field("body"),
            name: field("name"),
            resident_id: field("resident_id"),
            unit: field("unit"),
            property_id: field("property_id"),
            topic: field("topic"),
            members: field("members"),
        }
    }

    /// The fields words are looked for in.
    pub fn text(&self) -> [Field; 3] {
        [self.subject, self.body, self.name]
    }
}

pub(crate) fn schema() -> Schema {
    let mut b = Schema::builder();
    // Which messages contain a word, nothing more: no frequencies or positions, since
    // answers are newest first, not ranked by relevance.
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(FOLDED).set_index_option(IndexRecordOption::Basic),
    );
    b.add_text_field("message_id", STRING | STORED);
    b.add_text_field("thread_id", STRING | STORED);
    b.add_u64_field("rank", INDEXED | FAST | STORED);
    b.add_bool_field("internal", INDEXED);
    b.add_text_field("subject", text.clone());
    b.add_text_field("body", text.clone());
    b.add_text_field("name", text);
    for exact in ["resident_id", "unit", "property_id", "topic", "members"] {
        b.add_text_field(exact, STRING);
    }
    b.build()
}

/// Registers the analyzer: an index opened without it cannot be searched or written.
pub(crate) fn register(index: &Index) {
    index.tokenizers().register(FOLDED, analyzer());
}

/// The rank of a message: see [`Fields::rank`].
pub fn rank(id: &MessageId) -> u64 {
    let ulid: ulid::Ulid = String::from(*id).parse().expect("a message id is a ULID");
    (u128::from(ulid) >> 64) as u64
}

/// The lowest rank of anything at `ms` milliseconds since the epoch.
pub fn rank_at(ms: u64) -> u64 {
    ms << 16
}

impl SearchDoc {
    pub(crate) fn to_document(&self, f: &Fields) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(f.message_id, self.message_id.to_string());
        doc.add_text(f.thread_id, self.thread_id.to_string());
        doc.add_u64(f.rank, rank(&self.message_id));
        doc.add_bool(f.internal, self.internal);
        doc.add_text(f.subject, &self.subject);
        doc.add_text(f.body, &self.body);
        doc.add_text(f.name, &self.resident_name);
        doc.add_text(f.resident_id, self.resident_id.as_str());
        if let Some(unit) = &self.unit {
            doc.add_text(f.unit, unit);
        }
        if let Some(property) = &self.property_id {
            doc.add_text(f.property_id, property);
        }
        doc.add_text(f.topic, &self.topic);
        for member in &self.members {
            doc.add_text(f.members, member.as_str());
        }
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_folded_and_keep_their_place_in_the_text() {
        let w = words("Hélène: la FUITE d'eau, Straße");
        let folded: Vec<&str> = w.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(folded, ["helene", "la", "fuite", "d", "eau", "strasse"]);
        assert_eq!(&"Hélène: la FUITE d'eau, Straße"[w[0].1.clone()], "Hélène");
    }

    #[test]
    fn a_later_message_ranks_higher_and_dates_bound_ranks() {
        let early = MessageId::new_at(1_700_000_000_000);
        let late = MessageId::new_at(1_700_000_000_001);
        assert!(rank(&late) > rank(&early));
        assert!(rank_at(1_700_000_000_000) <= rank(&early));
        assert!(rank(&early) < rank_at(1_700_000_000_001));
    }
}
