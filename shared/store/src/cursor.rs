//! Opaque paging cursors. A cursor is the query's last evaluated key, base64url-encoded;
//! decoding checks it belongs to the query it is used with, so a forged cursor cannot
//! move a query into another partition or another org.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::StoreError;

/// Longer than any cursor we issue: the longest keys are those of contact searches, which
/// hold folded names, property ids and units. A 100-letter Hangul name (NFD splits each
/// letter into three 3-byte jamo) with 64-character ids gives a name-search cursor of
/// about 2.9 KB, well under this.
const MAX_CURSOR_LEN: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

impl Cursor {
    /// Wraps a cursor string from a request; it is checked when used.
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        if raw.is_empty() || raw.len() > MAX_CURSOR_LEN {
            return Err(StoreError::BadCursor);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn encode(key: &HashMap<String, AttributeValue>) -> Option<Self> {
        let plain: BTreeMap<&str, &str> = key
            .iter()
            .map(|(k, v)| v.as_s().ok().map(|s| (k.as_str(), s.as_str())))
            .collect::<Option<_>>()?;
        let json = serde_json::to_vec(&plain).ok()?;
        Some(Self(URL_SAFE_NO_PAD.encode(json)))
    }

    /// Decodes into an exclusive start key with exactly `attributes`, whose partition
    /// attribute `partition.0` equals `partition.1` and whose `pk` starts with `pk_prefix`.
    pub(crate) fn decode(
        &self,
        attributes: &[&str],
        partition: (&str, &str),
        pk_prefix: &str,
    ) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let bytes = URL_SAFE_NO_PAD.decode(&self.0).map_err(|_| StoreError::BadCursor)?;
        let plain: BTreeMap<String, String> =
            serde_json::from_slice(&bytes).map_err(|_| StoreError::BadCursor)?;
        let same_attributes =
            plain.len() == attributes.len() && attributes.iter().all(|a| plain.contains_key(*a));
        let same_partition = plain.get(partition.0).map(String::as_str) == Some(partition.1);
        let same_org = plain.get(crate::keys::PK).is_some_and(|pk| pk.starts_with(pk_prefix));
        if !(same_attributes && same_partition && same_org) {
            return Err(StoreError::BadCursor);
        }
        Ok(plain.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect())
    }
}

#[cfg(test)]
mod tests {
    use domain::{OrgId, ThreadId};

    use super::*;
    use crate::keys::{self, PK, SK};

    fn key(pairs: &[(&str, &str)]) -> HashMap<String, AttributeValue> {
        pairs.iter().map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string()))).collect()
    }

    fn thread_pk(org: &str) -> String {
        keys::thread_pk(&OrgId::parse(org).unwrap(), &ThreadId::parse("01HZY3Q9V1W8X2K5M7N4P6R8T0").unwrap())
    }

    #[test]
    fn a_cursor_round_trips_for_its_own_query() {
        let k = key(&[(PK, &thread_pk("demo")), (SK, "TL#2")]);
        let c = Cursor::encode(&k).unwrap();
        let demo = keys::org_prefix(&OrgId::parse("demo").unwrap());
        let back = c.decode(&[PK, SK], (PK, &thread_pk("demo")), &demo).unwrap();
        assert_eq!(back, k);
    }

    #[test]
    fn a_cursor_cannot_move_a_query_to_another_partition_or_org() {
        let other = Cursor::encode(&key(&[(PK, &thread_pk("demo-b")), (SK, "TL#2")])).unwrap();
        let demo = keys::org_prefix(&OrgId::parse("demo").unwrap());
        assert!(other.decode(&[PK, SK], (PK, &thread_pk("demo")), &demo).is_err());
        assert!(other.decode(&[PK, SK], (PK, &thread_pk("demo-b")), &demo).is_err());
    }

    #[test]
    fn garbage_is_a_bad_cursor() {
        for raw in ["%%%", "bm90IGpzb24", "e30"] {
            let c = Cursor::parse(raw).unwrap();
            let demo = keys::org_prefix(&OrgId::parse("demo").unwrap());
            assert!(c.decode(&[PK, SK], (PK, "x"), &demo).is_err(), "{raw}");
        }
        assert!(Cursor::parse("").is_err());
        assert!(Cursor::parse(&"a".repeat(MAX_CURSOR_LEN + 1)).is_err());
    }
}

/// Property tests: what a client can send as `cursor=`, and what we hand out as
/// `next_cursor`.
#[cfg(test)]
mod properties {
    use domain::{OrgId, ThreadId, UserId};
    use proptest::prelude::*;

    use super::*;
    use crate::keys::{self, ContactList, InboxScope, Index, PK, SK};

    type Key = HashMap<String, AttributeValue>;

    /// A list query as `decode` sees it.
    #[derive(Debug, Clone, PartialEq)]
    struct Query {
        attributes: Vec<&'static str>,
        partition: (&'static str, String),
        prefix: String,
    }

    impl Query {
        fn decode(&self, c: &Cursor) -> Result<Key, StoreError> {
            c.decode(&self.attributes, (self.partition.0, &self.partition.1), &self.prefix)
        }
    }

    /// Where a list is: its org, a thread, a user, and which list (a thread's timeline on
    /// the table, or a participant's inbox on an index).
    #[derive(Debug, Clone, PartialEq)]
    struct Place {
        org: String,
        thread: String,
        user: String,
        inbox: bool,
    }

    impl Place {
        fn org(&self) -> OrgId {
            OrgId::parse(self.org.clone()).unwrap()
        }
        fn user(&self) -> UserId {
            UserId::parse(self.user.clone()).unwrap()
        }
        fn thread_pk(&self) -> String {
            keys::thread_pk(&self.org(), &ThreadId::parse(&self.thread).unwrap())
        }
        fn query(&self) -> Query {
            let prefix = keys::org_prefix(&self.org());
            if self.inbox {
                let (index, partition) = InboxScope::User(self.org(), self.user()).partition(None);
                Query {
                    attributes: vec![PK, SK, index.pk(), index.sk()],
                    partition: (index.pk(), partition),
                    prefix,
                }
            } else {
                Query { attributes: vec![PK, SK], partition: (PK, self.thread_pk()), prefix }
            }
        }
        /// A last evaluated key of this list, positioned at `at`.
        fn key(&self, at: &str) -> Key {
            let mut k = HashMap::from([(PK.to_owned(), AttributeValue::S(self.thread_pk()))]);
            if self.inbox {
                let q = self.query();
                k.insert(SK.into(), AttributeValue::S(keys::participant_sk(&self.user())));
                k.insert(q.partition.0.into(), AttributeValue::S(q.partition.1));
                k.insert(q.attributes[3].into(), AttributeValue::S(at.to_owned()));
            } else {
                k.insert(SK.into(), AttributeValue::S(at.to_owned()));
            }
            k
        }
    }

    /// Any text, control characters, quotes, backslashes and astral characters included
    /// (from plain numbers, which is much faster to generate than from `any::<char>()`).
    fn text(max: usize) -> impl Strategy<Value = String> {
        let pick = |(kind, n): (u8, u32)| match kind {
            0 => char::from_u32(n % 0x11_0000).unwrap_or('\u{fffd}'),
            1 => char::from_u32(n % 0x3000).unwrap_or('\u{fffd}'),
            2 => ['"', '\\', '#', '\0', '\n', '\u{7f}', ' '][n as usize % 7],
            _ => char::from(b'a' + (n % 26) as u8),
        };
        prop::collection::vec((0u8..4, any::<u32>()), 0..=max)
            .prop_map(move |v| v.into_iter().map(pick).collect())
    }

    fn external_id() -> impl Strategy<Value = String> {
        const CHARSET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
        prop::collection::vec(any::<u8>(), 1..=64)
            .prop_map(|v| v.into_iter().map(|b| char::from(CHARSET[b as usize % CHARSET.len()])).collect())
    }

    fn ulid() -> impl Strategy<Value = String> {
        const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        prop::array::uniform26(any::<u8>()).prop_map(|v| {
            let mut id: String = v.iter().map(|b| char::from(CROCKFORD[*b as usize % 32])).collect();
            id.replace_range(..1, &(v[0] % 8).to_string());
            id
        })
    }

    fn place() -> impl Strategy<Value = Place> {
        (external_id(), ulid(), external_id(), any::<bool>()).prop_map(|(org, thread, user, inbox)| Place {
            org,
            thread,
            user,
            inbox,
        })
    }

    /// A place and another list next to it: another org (possibly one whose id starts
    /// with this one's), another thread, another user, or the other kind of list.
    fn neighbours() -> impl Strategy<Value = (Place, Place)> {
        (place(), 0..5usize, external_id(), ulid()).prop_filter_map(
            "the same list",
            |(a, change, id, thread)| {
                let mut b = a.clone();
                match change {
                    0 => b.org = id,
                    // Only as long as an id may be.
                    1 if a.org.len() + id.len() <= 64 => b.org = format!("{}{id}", a.org),
                    1 => return None,
                    2 => b.thread = thread,
                    3 => b.user = id,
                    _ => b.inbox = !a.inbox,
                }
                (a.query() != b.query()).then_some((a, b))
            },
        )
    }

    /// What a client may send: text, base64 of anything, base64 of JSON maps that look
    /// like our keys, and JSON that is not a map of strings.
    fn raw_cursor() -> impl Strategy<Value = String> {
        let (demo, resident) = (OrgId::parse("demo").unwrap(), UserId::parse("resident-1").unwrap());
        let thread = ThreadId::parse("01HZY3Q9V1W8X2K5M7N4P6R8T0").unwrap();
        let name = prop_oneof![
            Just("pk".to_owned()),
            Just("sk".to_owned()),
            Just(Index::Gsi2.pk().to_owned()),
            Just(Index::Gsi2.sk().to_owned()),
            "[a-z0-9]{0,6}",
        ];
        let value = prop_oneof![
            Just(keys::thread_pk(&demo, &thread)),
            Just(InboxScope::User(demo.clone(), resident.clone()).partition(None).1),
            Just(keys::thread_pk(&OrgId::parse("demo-b").unwrap(), &thread)),
            Just(keys::user_pk(&demo, &resident)),
            text(40),
        ];
        let pk = keys::thread_pk(&demo, &thread);
        let x = keys::org_prefix(&OrgId::parse("x").unwrap());
        let json_like = prop_oneof![
            Just("null".to_owned()),
            Just("[]".to_owned()),
            Just("{}".to_owned()),
            Just(r#"{"pk":1,"sk":"a"}"#.to_owned()),
            // The attribute-value form DynamoDB answers in, a null, the same key twice.
            Just(format!(r#"{{"pk":{{"S":"{pk}"}},"sk":{{"S":"TL#1"}}}}"#)),
            Just(format!(r#"{{"pk":"{pk}","sk":null}}"#)),
            Just(format!(r#"{{"pk":"{pk}","pk":"{x}","sk":"a"}}"#)),
        ];
        prop_oneof![
            text(300),
            "[A-Za-z0-9_=+/-]{0,400}",
            prop::collection::vec(any::<u8>(), 0..300).prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
            prop::collection::btree_map(name, value, 0..6)
                .prop_map(|m| URL_SAFE_NO_PAD.encode(serde_json::to_vec(&m).unwrap())),
            json_like.prop_map(|j| URL_SAFE_NO_PAD.encode(j)),
        ]
    }

    #[derive(Debug, Clone)]
    enum Edit {
        /// Replace the character at (an index modulo the length) with another.
        Flip(usize, char),
        /// Keep only the first (index modulo the length) characters.
        Truncate(usize),
        Append(String),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let replacement = prop_oneof![
            4 => proptest::char::ranges(vec!['A'..='Z', 'a'..='z', '0'..='9', '-'..='-', '_'..='_'].into()),
            1 => any::<char>(),
        ];
        prop_oneof![
            (any::<usize>(), replacement).prop_map(|(i, c)| Edit::Flip(i, c)),
            any::<usize>().prop_map(Edit::Truncate),
            prop_oneof!["[A-Za-z0-9_-]{1,8}", text(8).prop_filter("empty", |s| !s.is_empty())]
                .prop_map(Edit::Append),
        ]
    }

    proptest! {
        #[test]
        fn parse_accepts_exactly_the_non_empty_cursors_up_to_the_limit(
            raw in prop_oneof![
                text(300),
                (0..2 * MAX_CURSOR_LEN, "[ -~]|\\PC").prop_map(|(n, c)| c.repeat(n)),
                (MAX_CURSOR_LEN - 4..MAX_CURSOR_LEN + 4).prop_map(|n| "A".repeat(n)),
            ]
        ) {
            match Cursor::parse(&raw) {
                Ok(c) => {
                    prop_assert!(!raw.is_empty() && raw.len() <= MAX_CURSOR_LEN);
                    prop_assert_eq!(c.as_str(), raw.as_str());
                }
                Err(e) => {
                    prop_assert!(raw.is_empty() || raw.len() > MAX_CURSOR_LEN);
                    prop_assert!(matches!(e, StoreError::BadCursor));
                }
            }
        }

        /// Whatever a client sends is a bad cursor or a start key of the list it was sent
        /// to: never one another list (of another org, thread, user) would take too.
        #[test]
        fn whatever_a_client_sends_is_never_taken_by_two_lists(raw in raw_cursor(), (at, there) in neighbours()) {
            let Ok(c) = Cursor::parse(&raw) else { return Ok(()) };
            match at.query().decode(&c) {
                Ok(_) => prop_assert!(matches!(there.query().decode(&c), Err(StoreError::BadCursor)), "{raw}"),
                Err(e) => prop_assert!(matches!(e, StoreError::BadCursor)),
            }
        }

        #[test]
        fn an_issued_cursor_decodes_to_the_key_it_was_issued_for(at in place(), position in text(200)) {
            let k = at.key(&position);
            let issued = Cursor::encode(&k).unwrap();
            let c = Cursor::parse(issued.as_str()).unwrap();
            prop_assert_eq!(at.query().decode(&c).unwrap(), k);
        }

        #[test]
        fn a_cursor_is_refused_by_another_org_thread_user_or_list(
            (here, there) in neighbours(),
            position in text(40),
        ) {
            let c = Cursor::encode(&here.key(&position)).unwrap();
            prop_assert!(matches!(there.query().decode(&c), Err(StoreError::BadCursor)));
        }

        #[test]
        fn a_forged_key_in_the_right_partition_cannot_point_into_another_org(
            here in place(),
            other in external_id(),
            extend in any::<bool>(),
            position in text(40),
        ) {
            // An inbox start key whose index partition is right but whose table key is in
            // another org (possibly one whose id starts with this one's).
            let here = Place { inbox: true, ..here };
            let org = if extend { format!("{}{other}", here.org) } else { other };
            prop_assume!(org.len() <= 64);
            prop_assume!(org != here.org);
            let mut k = here.key(&position);
            k.insert(PK.into(), AttributeValue::S(Place { org, ..here.clone() }.thread_pk()));
            let c = Cursor::encode(&k).unwrap();
            prop_assert!(matches!(here.query().decode(&c), Err(StoreError::BadCursor)));
        }

        /// Cursors are not signed: an edited cursor may move within its own list (as any
        /// client can by paging), never out of it. A truncated one never decodes, and an
        /// appended one decodes to the same position or not at all.
        #[test]
        fn an_edited_cursor_is_refused_or_stays_in_its_list(
            (at, there) in neighbours(),
            position in text(40),
            edit in edit(),
        ) {
            let k = at.key(&position);
            let issued = Cursor::encode(&k).unwrap().0;
            let edited = match &edit {
                Edit::Flip(i, c) => {
                    let i = i % issued.len();
                    let mut s = issued.clone();
                    s.replace_range(i..=i, &c.to_string());
                    s
                }
                Edit::Truncate(i) => issued[..i % issued.len()].to_owned(),
                Edit::Append(tail) => format!("{issued}{tail}"),
            };
            prop_assume!(edited != issued);
            let decoded = Cursor::parse(&edited).and_then(|c| at.query().decode(&c));
            match (&edit, decoded) {
                (_, Err(e)) => prop_assert!(matches!(e, StoreError::BadCursor)),
                (Edit::Truncate(_), Ok(d)) => prop_assert!(false, "truncated cursor decoded to {d:?}"),
                (Edit::Append(_), Ok(d)) => prop_assert_eq!(d, k),
                (Edit::Flip(..), Ok(d)) => {
                    let elsewhere = Cursor::parse(&edited).and_then(|c| there.query().decode(&c));
                    prop_assert!(elsewhere.is_err(), "{d:?} is also a start key of {there:?}");
                }
            }
        }
    }

    /// The keys of the contact indexes hold user text (folded names, property ids and
    /// units), so they are the longest a list pages through. These mirror `users.rs`: the
    /// user item on `gsi3` (by property and unit) and its name-word items on `gsi1`.
    fn contact_pages(org: &str, user: &str, name: &str, property: &str, unit: &str) -> Vec<(Query, Key)> {
        let (org, user) = (OrgId::parse(org).unwrap(), UserId::parse(user).unwrap());
        let user_pk = keys::user_pk(&org, &user);
        let prefix = keys::org_prefix(&org);
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let page = |list: ContactList<'_>, sk: String, index_sk: String| {
            let (index, partition) = list.partition(&org);
            (
                Query {
                    attributes: vec![PK, SK, index.pk(), index.sk()],
                    partition: (index.pk(), partition.clone()),
                    prefix: prefix.clone(),
                },
                HashMap::from([
                    (PK.to_owned(), s(&user_pk)),
                    (SK.to_owned(), s(&sk)),
                    (index.pk().to_owned(), s(&partition)),
                    (index.sk().to_owned(), s(&index_sk)),
                ]),
            )
        };
        let by_unit = page(
            ContactList::Unit { property, unit },
            keys::PROFILE_SK.to_owned(),
            keys::contact_sk(&domain::contact::fold(name), &user),
        );
        let by_name = domain::contact::name_words(name).into_iter().map(|word| {
            page(ContactList::Name, keys::name_word_sk(&word), keys::name_word_index_sk(&word, &user))
        });
        std::iter::once(by_unit).chain(by_name).collect()
    }

    fn pages_back(q: &Query, k: &Key) -> Result<(), String> {
        let issued = Cursor::encode(k).ok_or("no cursor")?;
        let c = Cursor::parse(issued.as_str())
            .map_err(|_| format!("an issued cursor of {} bytes is refused", issued.as_str().len()))?;
        match q.decode(&c) {
            Ok(back) if &back == k => Ok(()),
            other => Err(format!("decoded to {other:?}")),
        }
    }

    #[test]
    fn the_longest_contact_keys_still_page() {
        // A 100-letter Hangul name: NFD splits each syllable into three 3-byte jamo.
        let name = "\u{D7A3}".repeat(100);
        let (property, unit) = ("\u{1F3E2}".repeat(64), "\u{1F6AA}".repeat(20));
        for (q, k) in contact_pages(&"o".repeat(64), &"u".repeat(64), &name, &property, &unit) {
            pages_back(&q, &k).unwrap();
        }
    }

    /// Names, property ids and units in the scripts whose folded keys are longest (Hangul),
    /// and others: Latin, accented Latin, CJK, emoji, quotes and backslashes (escaped in
    /// JSON), spaces.
    fn contact_text(max: usize) -> impl Strategy<Value = String> {
        let letter = |(kind, n): (u8, u32)| {
            let (start, len) = match kind {
                0 => (0xAC00, 11_172),
                1 => (u32::from('a'), 26),
                2 => (0xC0, 0xC0),
                3 => (0x4E00, 0x5200),
                4 => (0x1F300, 0x400),
                _ => return ['"', '\\', ' '][n as usize % 3],
            };
            char::from_u32(start + n % len).unwrap_or('?')
        };
        // Mostly one script per name, sometimes mixed.
        prop_oneof![
            ((0u8..6, any::<u32>()), 1..=max)
                .prop_map(move |(c, n)| std::iter::repeat_n(letter(c), n).collect()),
            prop::collection::vec((0u8..6, any::<u32>()), 1..=max)
                .prop_map(move |v| v.into_iter().map(letter).collect()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_contact_list_pages_back(
            org in external_id(),
            user in external_id(),
            name in contact_text(100),
            property in contact_text(64),
            unit in contact_text(20),
        ) {
            for (q, k) in contact_pages(&org, &user, &name, &property, &unit) {
                prop_assert_eq!(pages_back(&q, &k), Ok(()));
            }
        }
    }
}
