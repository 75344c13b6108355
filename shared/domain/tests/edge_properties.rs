//! What the domain accepts at the edge: ids, bounded texts, topics, contact fields and
//! addresses, lock reasons, file names and sizes. Two kinds of checks, neither a copy of
//! the code it checks: tables of examples whose answer is fixed by a standard or by the
//! documented contract (E.164 numbers, RFC 5322 addresses, ULIDs, one-line texts), and
//! properties over arbitrary input that hold whatever the implementation (never a panic;
//! what is accepted is trimmed, within its bounds, free of line breaks, and parses again to
//! itself; what is refused names one of the documented codes).

use domain::attachment::{check_size, sanitize_file_name, ContentType};
use domain::contact::{fold, lock_reason, name_words, ContactPatch, NewContact};
use domain::notify::{Channel, ChannelAddress};
use domain::{
    AccountState, AttachmentId, DomainError, ErrorCode, LinkedRecord, MessageBody, MessageId, OrgId, Role,
    RoutingSettings, Subject, ThreadId, Topic, User, UserId,
};
use proptest::prelude::*;
use serde_json::json;

/// Any text, weighted towards what edges break on: whitespace of every kind, control
/// characters, quotes and separators, non-ASCII letters. (Chosen from plain numbers: a
/// union of character strategies is several times slower to generate.)
fn text(max: usize) -> impl Strategy<Value = String> {
    const WHITESPACE: &[char] =
        &[' ', '\n', '\t', '\r', '\u{b}', '\u{c}', '\u{85}', '\u{a0}', '\u{2028}', '\u{3000}'];
    const CONTROL: &[char] = &['\0', '\u{7}', '\u{1b}', '\u{7f}', '\u{9f}', '\u{200b}', '\u{feff}'];
    const PUNCTUATION: &[char] = &['"', '\'', '\\', '/', '#', '.', '-', '_', '@', '+', ';', ':'];
    let pick = |(kind, n): (u8, u32)| match kind {
        0..=1 => char::from_u32(n % 0x11_0000).unwrap_or('\u{fffd}'),
        // Latin, combining marks, Greek, Cyrillic and the rest of the low BMP; Hangul.
        2 => char::from_u32(n % 0x3000).unwrap_or('\u{fffd}'),
        3 => char::from_u32(0xAC00 + n % 11_172).unwrap_or('\u{fffd}'),
        4..=7 => char::from(b'a' + (n % 26) as u8),
        8..=9 => WHITESPACE[n as usize % WHITESPACE.len()],
        10 => CONTROL[n as usize % CONTROL.len()],
        _ => PUNCTUATION[n as usize % PUNCTUATION.len()],
    };
    prop::collection::vec((0u8..12, any::<u32>()), 0..=max)
        .prop_map(move |v| v.into_iter().map(pick).collect())
}

/// Texts of about `limit` characters, on both sides of it, sometimes padded with
/// whitespace (which does not count).
fn around(limit: usize) -> impl Strategy<Value = String> {
    (limit - 2..limit + 30, "[ \t\n]{0,3}", "[a-zé漢 ]", "[a-zé漢]")
        .prop_map(|(n, pad, fill, c)| format!("{pad}{c}{}{c}{pad}", fill.repeat(n - 2)))
}

fn code(e: &DomainError) -> &'static str {
    match e {
        DomainError::Invalid { code, .. } => code.as_str(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// A one-line text as the contract describes it: no control character, no line or
/// paragraph separator. (Stated as the characters' Unicode categories, not as the code does.)
fn one_line(t: &str) -> bool {
    t.chars().all(|c| !matches!(c as u32, 0..=0x1F | 0x7F..=0x9F | 0x2028 | 0x2029))
}

/// The codes a refused text field may answer.
const TEXT_CODES: [&str; 3] = ["empty_field", "too_long", "invalid_characters"];

fn user() -> User {
    NewContact::into_user(
        serde_json::from_value(json!({"kind": "staff", "name": "Staff"})).unwrap(),
        UserId::parse("u").unwrap(),
        OrgId::parse("o").unwrap(),
    )
    .unwrap()
}

fn ulid_text() -> impl Strategy<Value = String> {
    prop_oneof![text(30), "[0-9A-HJKMNP-TV-Z]{26}", "[0-9A-Za-z]{24,28}", "[0-9a-hjkmnp-tv-zILOU]{26}",]
}

proptest! {
    // Ids.

    #[test]
    fn whatever_external_id_is_accepted_round_trips_through_text_and_json(s in prop_oneof![text(80), "[A-Za-z0-9._#/ -]{0,70}"]) {
        match UserId::parse(s.clone()) {
            Ok(id) => {
                prop_assert_eq!(id.as_str(), s.as_str());
                prop_assert_eq!(serde_json::from_value::<UserId>(json!(s)).unwrap(), id.clone());
                prop_assert_eq!(OrgId::parse(s.clone()).map(|o| o.to_string()), Ok(s.clone()));
            }
            Err(e) => {
                prop_assert_eq!(code(&e), "invalid_user_id");
                prop_assert!(serde_json::from_value::<UserId>(json!(s)).is_err());
            }
        }
    }

    #[test]
    fn valid_external_ids_round_trip(s in "[A-Za-z0-9._-]{1,64}") {
        let id = UserId::parse(s.as_str()).unwrap();
        prop_assert_eq!(UserId::parse(id.to_string()).unwrap(), id.clone());
        let json = serde_json::to_value(&id).unwrap();
        prop_assert_eq!(serde_json::from_value::<UserId>(json).unwrap(), id);
    }

    #[test]
    fn whatever_ulid_is_accepted_is_its_one_canonical_spelling(s in ulid_text()) {
        match ThreadId::parse(&s) {
            Ok(id) => prop_assert_eq!(id.to_string(), s.clone()),
            Err(e) => prop_assert_eq!(e, DomainError::NotFound("thread")),
        }
        prop_assert_eq!(MessageId::parse(&s).is_ok(), ThreadId::parse(&s).is_ok());
        prop_assert_eq!(AttachmentId::parse(&s).is_ok(), ThreadId::parse(&s).is_ok());
    }

    #[test]
    fn new_ids_round_trip_and_sort_by_time(a in 0u64..(1 << 48), b in 0u64..(1 << 48)) {
        let (x, y) = (ThreadId::new_at(a), MessageId::new_at(b));
        prop_assert_eq!(ThreadId::parse(&x.to_string()).unwrap(), x);
        prop_assert_eq!(MessageId::parse(&y.to_string()).unwrap(), y);
        prop_assert_eq!(serde_json::from_value::<ThreadId>(serde_json::to_value(x).unwrap()).unwrap(), x);
        prop_assert!(ThreadId::parse(&x.to_string().to_lowercase()).is_err());
        let (xs, ys) = (MessageId::new_at(a).to_string(), y.to_string());
        if a < b {
            prop_assert!(xs < ys);
        } else if a > b {
            prop_assert!(xs > ys);
        }
    }

    // Subjects, bodies, topics, linked records.

    #[test]
    fn accepted_subjects_are_trimmed_bounded_one_line_texts(s in prop_oneof![text(60), around(Subject::MAX_CHARS)]) {
        let got = Subject::parse(&s);
        match &got {
            Ok(subject) => {
                let t = subject.as_str();
                prop_assert_eq!(t, s.trim());
                prop_assert!(!t.is_empty() && t.chars().count() <= Subject::MAX_CHARS && one_line(t), "{t:?}");
            }
            Err(e) => {
                prop_assert!(TEXT_CODES.contains(&code(e)));
                // Refused only for a reason the input shows.
                let t = s.trim();
                prop_assert!(t.is_empty() || t.chars().count() > Subject::MAX_CHARS || !one_line(t), "{s:?}");
            }
        }
        // A JSON body is checked the same way.
        prop_assert_eq!(serde_json::from_value::<Subject>(json!(s)).ok(), got.ok());
    }

    #[test]
    fn accepted_subjects_parse_again_to_themselves(s in prop_oneof![text(60), around(Subject::MAX_CHARS)]) {
        if let Ok(subject) = Subject::parse(&s) {
            prop_assert_eq!(Subject::parse(subject.as_str()).unwrap(), subject);
        }
    }

    #[test]
    fn topics_are_lower_case_slugs_of_1_to_32_characters(s in prop_oneof![text(40), "[ ]?[A-Za-z][A-Za-z0-9_]{0,40}[ ]?"]) {
        let slug = s.trim().to_ascii_lowercase();
        let expected = (1..=32).contains(&slug.len())
            && slug.starts_with(|c: char| c.is_ascii_lowercase())
            && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        match Topic::parse(&s) {
            Ok(t) => {
                prop_assert!(expected);
                prop_assert_eq!(t.as_str(), slug.as_str());
                prop_assert_eq!(Topic::parse(&s.to_ascii_uppercase()).unwrap(), t.clone());
                prop_assert_eq!(Topic::parse(t.as_str()).unwrap(), t);
            }
            Err(e) => {
                prop_assert!(!expected);
                prop_assert_eq!(code(&e), "invalid_topic");
            }
        }
    }

    #[test]
    fn only_built_in_or_routed_topics_are_offered(s in "[a-z][a-z0-9_]{0,31}", routed in prop::collection::vec("[a-z][a-z0-9_]{0,8}", 0..4)) {
        let offered = Topic::BUILT_IN.contains(&s.as_str()) || routed.contains(&s);
        match Topic::parse_offered(&s, routed.iter().map(String::as_str)) {
            Ok(t) => {
                prop_assert!(offered);
                prop_assert_eq!(t.as_str(), s.as_str());
            }
            Err(e) => {
                prop_assert!(!offered);
                prop_assert_eq!(code(&e), "unknown_topic");
            }
        }
    }

    #[test]
    fn a_topic_routed_in_accepted_settings_is_offered(
        routes in prop::collection::btree_map(prop_oneof![text(12), "[A-Za-z][a-z0-9_]{0,6}"], "[a-z0-9-]{1,8}", 0..4)
    ) {
        let json = json!({"routes": routes.iter().map(|(t, u)| (t.clone(), json!({"user_id": u}))).collect::<serde_json::Map<_, _>>()});
        let settings: RoutingSettings = serde_json::from_value(json).unwrap();
        if settings.validate().is_ok() {
            for topic in routes.keys() {
                prop_assert!(Topic::parse_offered(topic, settings.custom_topics()).is_ok(), "{topic:?}");
            }
        }
    }

    #[test]
    fn accepted_linked_records_are_bounded_one_line_texts(
        kind in prop_oneof![text(40), "[a-z_]{1,40}"],
        id in prop_oneof![text(40), around(128)],
        label in prop::option::of(prop_oneof![text(40), around(200)]),
    ) {
        let raw = json!({"kind": kind, "id": id, "label": label});
        if let Ok(r) = serde_json::from_value::<LinkedRecord>(raw) {
            prop_assert!((1..=32).contains(&r.kind.len()) && r.kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            prop_assert_eq!(r.id.as_str(), id.trim());
            prop_assert!(!r.id.is_empty() && r.id.chars().count() <= 128 && one_line(&r.id));
            if let Some(l) = &r.label {
                prop_assert_eq!(Some(l.as_str()), label.as_deref().map(str::trim));
                prop_assert!(!l.is_empty() && l.chars().count() <= 200 && one_line(l));
            }
        }
    }

    // Contacts.

    #[test]
    fn accepted_contact_fields_are_trimmed_bounded_one_line_texts(
        name in prop_oneof![text(40), around(100)],
        property in prop_oneof![text(40), around(64)],
        unit in prop_oneof![text(30), around(20)],
    ) {
        let new: NewContact = serde_json::from_value(
            json!({"kind": "resident", "name": name, "property_id": property, "unit": unit}),
        ).unwrap();
        let fits = |t: &str, max: usize| !t.is_empty() && t.chars().count() <= max && one_line(t);
        match new.into_user(UserId::parse("u").unwrap(), OrgId::parse("o").unwrap()) {
            Ok(u) => {
                prop_assert_eq!(u.name.as_str(), name.trim());
                prop_assert_eq!(u.property_id.as_deref(), Some(property.trim()));
                prop_assert_eq!(u.unit.as_deref(), Some(unit.trim()));
                prop_assert!(fits(&u.name, 100) && fits(property.trim(), 64) && fits(unit.trim(), 20));
                prop_assert!(!property.contains('#') && !unit.contains('#'), "'#' separates index key parts");
                prop_assert_eq!((u.role, u.state), (Role::Resident, AccountState::Active));
            }
            Err(e) => prop_assert!(TEXT_CODES.contains(&code(&e))),
        }
        // A patch gives the same answer, one field at a time.
        for (field, value) in [("name", &name), ("property_id", &property), ("unit", &unit)] {
            let alone = match field {
                "name" => json!({"kind": "resident", "name": value, "property_id": "p", "unit": "1"}),
                "property_id" => json!({"kind": "resident", "name": "N", "property_id": value, "unit": "1"}),
                _ => json!({"kind": "resident", "name": "N", "property_id": "p", "unit": value}),
            };
            let created = serde_json::from_value::<NewContact>(alone).unwrap()
                .into_user(UserId::parse("u").unwrap(), OrgId::parse("o").unwrap());
            let patch: ContactPatch = serde_json::from_value(json!({ field: value })).unwrap();
            prop_assert_eq!(patch.apply(user()).is_ok(), created.is_ok(), "{} {:?}", field, value);
        }
    }

    #[test]
    fn accepted_phones_are_stored_trimmed_and_accepted_again(
        phone in prop_oneof![
            text(20),
            "[ \t]{0,2}\\+?[0-9]{6,17}[ \t]{0,2}",
            "\\+[1-9][0-9 ().-]{7,18}",
        ],
    ) {
        let patch: ContactPatch = serde_json::from_value(json!({"phone": phone})).unwrap();
        match patch.apply(user()) {
            Ok(u) => {
                let stored = u.phone.unwrap();
                prop_assert_eq!(stored.as_str(), phone.trim());
                prop_assert!(stored.starts_with('+') && stored[1..].bytes().all(|b| b.is_ascii_digit()), "{stored:?}");
                let again: ContactPatch = serde_json::from_value(json!({"phone": stored})).unwrap();
                prop_assert!(again.apply(user()).is_ok());
            }
            Err(e) => prop_assert_eq!(code(&e), "invalid_address"),
        }
    }

    #[test]
    fn contact_emails_are_one_address_within_the_rfc_lengths(
        email in prop_oneof![
            text(40),
            "[ ]?[a-z0-9.+_-]{0,70}@[a-z0-9.-]{0,20}(\\.[a-z]{0,4})?[ ]?",
            ("[a-z]{1,80}", "[a-z]{1,200}").prop_map(|(l, d)| format!("{l}@{d}.com")),
        ],
    ) {
        let patch: ContactPatch = serde_json::from_value(json!({"email": email})).unwrap();
        match patch.apply(user()) {
            Ok(u) => {
                let a = u.email.unwrap();
                prop_assert_eq!(a.as_str(), email.trim());
                prop_assert_eq!(a.matches('@').count(), 1, "{}", a);
                prop_assert!(!a.chars().any(|c| c.is_whitespace() || c.is_control()));
                // What is accepted once is accepted again.
                let again: ContactPatch = serde_json::from_value(json!({"email": a})).unwrap();
                prop_assert!(again.apply(user()).is_ok());
            }
            Err(e) => prop_assert_eq!(code(&e), "invalid_address"),
        }
    }

    #[test]
    fn channel_addresses_are_stored_trimmed_and_in_their_channel_format(
        channel in prop::sample::select(vec![Channel::Email, Channel::Sms, Channel::Whatsapp, Channel::Push, Channel::Telegram]),
        address in prop_oneof![text(40), "[ ]?-?[0-9]{0,22}[ ]?", "[ ]?\\+[0-9]{6,17}", "[!-~]{1,60}"],
    ) {
        if let Ok(c) = serde_json::from_value::<ChannelAddress>(json!({"channel": channel, "address": address})) {
            let a = c.address.as_str();
            prop_assert_eq!(a, address.trim());
            let ok = match channel {
                Channel::Email => a.contains('@') && !a.chars().any(char::is_whitespace),
                Channel::Sms | Channel::Whatsapp => a.starts_with('+') && a[1..].bytes().all(|b| b.is_ascii_digit()),
                Channel::Telegram => {
                    let d = a.strip_prefix('-').unwrap_or(a);
                    (1..=20).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit())
                }
                Channel::Push => (1..=4096).contains(&a.len()) && a.bytes().all(|b| b.is_ascii_graphic()),
            };
            prop_assert!(ok, "{channel:?} {a:?}");
        }
    }

    #[test]
    fn a_lock_reason_is_1_to_500_characters(reason in prop::option::of(prop_oneof![text(60), around(500)])) {
        let t = reason.as_deref().map(str::trim).unwrap_or("");
        let expected = !t.is_empty() && t.chars().count() <= 500;
        match lock_reason(reason.as_deref()) {
            Ok(r) => {
                prop_assert!(expected);
                prop_assert_eq!(r.as_str(), t);
            }
            Err(e) => {
                prop_assert!(!expected);
                prop_assert_eq!(code(&e), "reason_required");
            }
        }
    }

    #[test]
    fn name_words_are_folded_sorted_and_distinct(name in text(60)) {
        let words = name_words(&name);
        for w in &words {
            prop_assert!(!w.is_empty() && w.chars().all(char::is_alphanumeric), "{w:?}");
        }
        prop_assert!(words.windows(2).all(|p| p[0] < p[1]));
        prop_assert_eq!(fold(&fold(&name)), fold(&name));
    }

    /// "José" and "jose" are the same to search.
    #[test]
    fn case_and_accents_do_not_change_name_words(plain in "[a-z]{1,12}( [a-z]{1,12}){0,3}", seed in any::<u64>()) {
        const ACCENTED: [(char, &str); 6] = [('a', "àáâäÀÁ"), ('e', "èéêëÉÈ"), ('i', "íîïÍ"), ('o', "óôöÖ"), ('u', "úùûüÜ"), ('c', "çÇ")];
        let mut n = seed;
        let dressed: String = plain
            .chars()
            .map(|c| {
                n = n.rotate_left(7) ^ 0x9e37_79b9;
                match ACCENTED.iter().find(|(base, _)| *base == c) {
                    Some((_, forms)) if n % 2 == 0 => forms.chars().nth((n / 2) as usize % forms.chars().count()).unwrap(),
                    _ if n % 3 == 0 => c.to_ascii_uppercase(),
                    _ => c,
                }
            })
            .collect();
        prop_assert_eq!(name_words(&dressed), name_words(&plain));
    }

    // Attachments.

    #[test]
    fn file_names_are_safe_and_bounded(raw in prop_oneof![text(60), around(120), "([a-z.]{0,6}[/\\\\]){0,3}[ .]{0,3}[a-z \"'<>:*?|;]{0,20}(\\.[a-z]{1,4})?"]) {
        if let Ok(name) = sanitize_file_name(&raw) {
            prop_assert!(!name.is_empty() && name.chars().count() <= 120);
            prop_assert!(!name.starts_with('.'));
            prop_assert!(!name.chars().any(|c| c.is_control() || "/\\\"'<>:*?|;".contains(c)), "{name:?}");
        }
    }

    #[test]
    fn the_folder_of_a_file_name_does_not_matter(dir in text(30), name in text(30)) {
        let plain = name.replace(['/', '\\'], "");
        prop_assert_eq!(
            sanitize_file_name(&format!("{dir}/{plain}")).ok(),
            sanitize_file_name(&plain).ok()
        );
    }

    #[test]
    fn sizes_are_positive_and_within_the_limit(size in any::<i64>(), max in 1u64..=u64::MAX) {
        match check_size(size, max) {
            Ok(n) => prop_assert!(size > 0 && n == size as u64 && n <= max),
            Err(e) if size <= 0 => prop_assert_eq!(code(&e), "invalid_size"),
            Err(e) => {
                prop_assert!(size as u64 > max);
                prop_assert_eq!(code(&e), "too_large");
            }
        }
    }

    #[test]
    fn content_types_round_trip_and_sniffing_never_panics(raw in text(30), head in prop::collection::vec(any::<u8>(), 0..32)) {
        if let Ok(t) = ContentType::parse(&raw) {
            prop_assert_eq!(ContentType::parse(t.mime()).unwrap(), t);
        }
        let _ = ContentType::sniff(&head);
    }
}

proptest! {
    // Bodies are long; fewer cases.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn accepted_bodies_are_trimmed_bounded_and_their_previews_one_short_line(s in prop_oneof![text(300), around(MessageBody::MAX_CHARS)]) {
        match MessageBody::parse(&s) {
            Ok(body) => {
                prop_assert_eq!(body.as_str(), s.trim());
                prop_assert!(!body.as_str().is_empty() && body.as_str().chars().count() <= MessageBody::MAX_CHARS);
                // Line breaks and tabs stay; other control characters do not.
                let controls = |c: char| matches!(c as u32, 0..=0x1F | 0x7F..=0x9F) && !"\n\r\t".contains(c);
                prop_assert!(!body.as_str().chars().any(controls), "{:?}", body.as_str());
                let preview = body.preview();
                prop_assert!(!preview.is_empty() && preview.chars().count() <= 140);
                prop_assert!(!preview.contains(['\n', '\r', '\t']) && !preview.contains("  "), "{preview:?}");
            }
            Err(e) => prop_assert!(TEXT_CODES.contains(&code(&e))),
        }
    }
}

// Examples whose answers a standard or the documented contract fixes.

#[test]
fn e164_numbers_from_the_standard_are_accepted_and_malformed_ones_refused() {
    // ITU-T E.164: '+', a country code, at most 15 digits in all.
    for ok in [
        "+14155552671",
        "+442071838750",
        "+5511987654321",
        "+861012345678",
        "+33142685300",
        "+123456789012345",
    ] {
        let patch: ContactPatch = serde_json::from_value(json!({"phone": ok})).unwrap();
        assert_eq!(patch.apply(user()).unwrap().phone.as_deref(), Some(ok), "{ok}");
    }
    for bad in [
        "14155552671",
        "+1 415 555 2671",
        "+1-415-555-2671",
        "+1234567890123456",
        "+0123456789",
        "++14155552671",
        "+1415555267a",
        "+",
    ] {
        let patch: ContactPatch = serde_json::from_value(json!({"phone": bad})).unwrap();
        assert!(
            matches!(patch.apply(user()), Err(DomainError::Invalid { code: ErrorCode::InvalidAddress, .. })),
            "{bad} was accepted"
        );
    }
}

#[test]
fn addresses_from_rfc_5322_examples_are_accepted_and_broken_ones_refused() {
    for ok in [
        "simple@example.com",
        "very.common@example.com",
        "x@example.com",
        "user.name+tag+sorting@example.com",
        "long.email-address-with-hyphens@and.subdomains.example.com",
        "example-indeed@strange-example.com",
    ] {
        let patch: ContactPatch = serde_json::from_value(json!({"email": ok})).unwrap();
        assert_eq!(patch.apply(user()).unwrap().email.as_deref(), Some(ok), "{ok}");
    }
    let long_local = format!("{}@example.com", "a".repeat(65));
    let long_total = format!("a@{}.com", "b".repeat(250));
    for bad in [
        "Abc.example.com",
        "A@b@c@example.com",
        "i like spaces@example.com",
        "no-dot@localhost",
        "a@.example.com",
        "tab\t@example.com",
        long_local.as_str(),
        long_total.as_str(),
        "@example.com",
    ] {
        let patch: ContactPatch = serde_json::from_value(json!({"email": bad})).unwrap();
        assert!(
            matches!(patch.apply(user()), Err(DomainError::Invalid { code: ErrorCode::InvalidAddress, .. })),
            "{bad} was accepted"
        );
    }
}

#[test]
fn each_channel_takes_its_own_kind_of_address() {
    let parse = |channel: &str, address: &str| {
        serde_json::from_value::<ChannelAddress>(json!({"channel": channel, "address": address})).is_ok()
    };
    for (channel, ok, bad) in [
        ("email", "rita@example.com", "+15145550123"),
        ("sms", "+15145550123", "rita@example.com"),
        ("whatsapp", "+442071838750", "442071838750"),
        ("telegram", "-1001234567890", "@rita"),
        ("push", "fcm-token_abc:123", "has spaces in it"),
    ] {
        assert!(parse(channel, ok), "{channel} {ok}");
        assert!(!parse(channel, bad), "{channel} {bad}");
    }
}

#[test]
fn ids_from_the_contract_and_known_bad_ones() {
    for ok in ["resident-1", "a", "A.b_c-9", &"x".repeat(64)] {
        assert!(UserId::parse(ok).is_ok(), "{ok}");
        assert!(OrgId::parse(ok).is_ok(), "{ok}");
    }
    for bad in ["", &"x".repeat(65), "a b", "a#b", "a/b", "josé", "a\n", "ORG#x", "../etc"] {
        assert!(
            matches!(UserId::parse(bad), Err(DomainError::Invalid { code: ErrorCode::InvalidUserId, .. })),
            "{bad:?}"
        );
        assert!(OrgId::parse(bad).is_err(), "{bad:?}");
    }
    // ULIDs: 26 Crockford base-32 characters, upper case, at most 7ZZ…Z.
    assert!(ThreadId::parse("01JD3Z8Q4WQ5X2E9V7N6B4K1MT").is_ok());
    assert!(ThreadId::parse("7ZZZZZZZZZZZZZZZZZZZZZZZZZ").is_ok());
    for bad in [
        "01jd3z8q4wq5x2e9v7n6b4k1mt",
        "01JD3Z8Q4WQ5X2E9V7N6B4K1M",
        "01JD3Z8Q4WQ5X2E9V7N6B4K1MTX",
        "01JD3Z8Q4WQ5X2E9V7N6B4K1MI",
        "01JD3Z8Q4WQ5X2E9V7N6B4K1MU",
        "81JD3Z8Q4WQ5X2E9V7N6B4K1MT",
        "",
    ] {
        assert!(ThreadId::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn one_line_texts_from_the_contract() {
    for (raw, want) in [
        ("  Leaking tap  ", Ok("Leaking tap")),
        ("Café – 3e étage", Ok("Café – 3e étage")),
        ("漢字の件名", Ok("漢字の件名")),
        ("", Err("empty_field")),
        (" \t\n ", Err("empty_field")),
        ("Leak\r\nBcc: all@example.com", Err("invalid_characters")),
        ("Leak\nnext line", Err("invalid_characters")),
        ("tab\there", Err("invalid_characters")),
        ("bell\u{7}", Err("invalid_characters")),
        ("next\u{85}line", Err("invalid_characters")),
        ("line\u{2028}separator", Err("invalid_characters")),
    ] {
        let got = Subject::parse(raw).map(|s| s.as_str().to_owned()).map_err(|e| code(&e));
        assert_eq!(got, want.map(str::to_owned), "{raw:?}");
    }
    assert!(matches!(
        Subject::parse(&"s".repeat(201)),
        Err(DomainError::Invalid { code: ErrorCode::TooLong, .. })
    ));
    assert!(Subject::parse(&"é".repeat(200)).is_ok(), "characters, not bytes");
    // Bodies keep their lines.
    assert_eq!(
        MessageBody::parse(" line one\nline two\r\n\tend ").unwrap().as_str(),
        "line one\nline two\r\n\tend"
    );
    assert!(MessageBody::parse("bell\u{7}").is_err());
}
