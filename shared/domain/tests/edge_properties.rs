//! Property tests of what the domain accepts at the edge: ids, bounded texts, topics,
//! contact fields and addresses, lock reasons, file names and sizes. Each checks that
//! arbitrary input never panics, that what is accepted keeps the documented bounds, and
//! that what breaks them is refused with the documented error code.

use domain::attachment::{check_size, sanitize_file_name, ContentType};
use domain::contact::{fold, lock_reason, name_words, ContactPatch, NewContact};
use domain::notify::{Channel, ChannelAddress};
use domain::{
    AccountState, AttachmentId, DomainError, LinkedRecord, MessageBody, MessageId, OrgId, Role,
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
        DomainError::Invalid { code, .. } => code,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn is_external_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The documented rule of subjects and bodies: trimmed, non-empty, at most `max`
/// characters, no control characters but newlines and tabs.
fn bounded(raw: &str, max: usize) -> Result<String, &'static str> {
    let t = raw.trim();
    if t.is_empty() {
        Err("empty_field")
    } else if t.chars().count() > max {
        Err("too_long")
    } else if t.chars().any(|c| c.is_control() && !"\n\t\r".contains(c)) {
        Err("invalid_characters")
    } else {
        Ok(t.to_owned())
    }
}

/// The documented rule of contact fields: trimmed, 1 to `max` characters, no control
/// characters at all.
fn short(raw: &str, max: usize) -> bool {
    let t = raw.trim();
    !t.is_empty() && t.chars().count() <= max && !t.chars().any(char::is_control)
}

fn is_e164(a: &str) -> bool {
    a.strip_prefix('+').is_some_and(|d| {
        (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}

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
    fn external_ids_accept_exactly_the_documented_characters(s in prop_oneof![text(80), "[A-Za-z0-9._#/ -]{0,70}"]) {
        let expected = is_external_id(&s);
        match OrgId::parse(s.clone()) {
            Ok(id) => {
                prop_assert!(expected);
                prop_assert_eq!(id.to_string(), s.clone());
                prop_assert_eq!(OrgId::parse(id.to_string()).unwrap(), id);
            }
            Err(e) => {
                prop_assert!(!expected);
                prop_assert_eq!(code(&e), "invalid_org_id");
            }
        }
        match UserId::parse(s.clone()) {
            Ok(id) => prop_assert_eq!(id.as_str(), s.as_str()),
            Err(e) => prop_assert_eq!(code(&e), "invalid_user_id"),
        }
        // JSON bodies go through the same check.
        prop_assert_eq!(serde_json::from_value::<UserId>(json!(s)).is_ok(), expected);
    }

    #[test]
    fn valid_external_ids_round_trip(s in "[A-Za-z0-9._-]{1,64}") {
        let id = UserId::parse(s.as_str()).unwrap();
        prop_assert_eq!(UserId::parse(id.to_string()).unwrap(), id.clone());
        let json = serde_json::to_value(&id).unwrap();
        prop_assert_eq!(serde_json::from_value::<UserId>(json).unwrap(), id);
    }

    #[test]
    fn ulid_ids_accept_only_their_one_canonical_spelling(s in ulid_text()) {
        match ThreadId::parse(&s) {
            Ok(id) => {
                prop_assert_eq!(id.to_string(), s.clone());
                prop_assert_eq!(s.len(), 26);
                prop_assert!(s.bytes().all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b)));
            }
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
    fn subjects_follow_the_documented_rule(s in prop_oneof![text(60), around(Subject::MAX_CHARS)]) {
        let got = Subject::parse(&s);
        match (bounded(&s, Subject::MAX_CHARS), &got) {
            (Ok(want), Ok(subject)) => prop_assert_eq!(subject.as_str(), want.as_str()),
            (Err(want), Err(e)) => prop_assert_eq!(code(e), want),
            (want, got) => prop_assert!(false, "{s:?}: want {want:?}, got {got:?}"),
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
    fn linked_records_keep_their_bounds(
        kind in prop_oneof![text(40), "[a-z_]{1,40}"],
        id in prop_oneof![text(40), around(128)],
        label in prop::option::of(prop_oneof![text(40), around(200)]),
    ) {
        let raw = json!({"kind": kind, "id": id, "label": label});
        let kind_ok = (1..=32).contains(&kind.len()) && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        let id_ok = bounded(&id, 128);
        let label_ok = label.as_deref().map(|l| bounded(l, 200)).transpose();
        match serde_json::from_value::<LinkedRecord>(raw) {
            Ok(r) => {
                prop_assert!(kind_ok);
                prop_assert_eq!(Ok(r.id), id_ok);
                prop_assert_eq!(Ok(r.label), label_ok);
            }
            Err(_) => prop_assert!(!kind_ok || id_ok.is_err() || label_ok.is_err()),
        }
    }

    // Contacts.

    #[test]
    fn contact_names_units_and_properties_keep_their_bounds(
        name in prop_oneof![text(40), around(100)],
        property in prop_oneof![text(40), around(64)],
        unit in prop_oneof![text(30), around(20)],
    ) {
        let new: NewContact = serde_json::from_value(
            json!({"kind": "resident", "name": name, "property_id": property, "unit": unit}),
        ).unwrap();
        let expected = short(&name, 100) && short(&property, 64) && short(&unit, 20);
        match new.into_user(UserId::parse("u").unwrap(), OrgId::parse("o").unwrap()) {
            Ok(u) => {
                prop_assert!(expected);
                prop_assert_eq!(u.name.as_str(), name.trim());
                prop_assert_eq!(u.property_id.as_deref(), Some(property.trim()));
                prop_assert_eq!(u.unit.as_deref(), Some(unit.trim()));
                prop_assert_eq!((u.role, u.state), (Role::Resident, AccountState::Active));
            }
            Err(e) => {
                prop_assert!(!expected);
                prop_assert_eq!(code(&e), "invalid_field");
            }
        }
        // A patch applies the same rules, one field at a time.
        for (field, value, max) in [("name", &name, 100), ("property_id", &property, 64), ("unit", &unit, 20)] {
            let patch: ContactPatch = serde_json::from_value(json!({ field: value })).unwrap();
            match patch.apply(user()) {
                Ok(_) => prop_assert!(short(value, max), "{field} {value:?}"),
                Err(e) => {
                    prop_assert!(!short(value, max));
                    prop_assert_eq!(code(&e), "invalid_field");
                }
            }
        }
    }

    #[test]
    fn contact_phones_are_e164_after_trimming(
        phone in prop_oneof![
            text(20),
            "[ \t]{0,2}\\+?[0-9]{6,17}[ \t]{0,2}",
            "\\+[1-9][0-9 ().-]{7,18}",
        ],
    ) {
        let patch: ContactPatch = serde_json::from_value(json!({"phone": phone})).unwrap();
        match patch.apply(user()) {
            Ok(u) => {
                prop_assert!(is_e164(phone.trim()), "{phone:?}");
                prop_assert_eq!(u.phone.as_deref(), Some(phone.trim()));
            }
            Err(e) => {
                prop_assert!(!is_e164(phone.trim()), "{phone:?}");
                prop_assert_eq!(code(&e), "invalid_address");
            }
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
                let (local, domain) = a.split_once('@').unwrap();
                prop_assert!(!local.is_empty() && local.len() <= 64 && a.len() <= 254);
                prop_assert!(domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.'));
                prop_assert!(!domain.contains('@'));
                prop_assert!(!a.chars().any(|c| c.is_whitespace() || c.is_control()));
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
                Channel::Sms | Channel::Whatsapp => is_e164(a),
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
    fn bodies_follow_the_documented_rule(s in prop_oneof![text(300), around(MessageBody::MAX_CHARS)]) {
        match (bounded(&s, MessageBody::MAX_CHARS), MessageBody::parse(&s)) {
            (Ok(want), Ok(body)) => {
                prop_assert_eq!(body.as_str(), want.as_str());
                let preview = body.preview();
                prop_assert!(!preview.is_empty() && preview.chars().count() <= 140);
                prop_assert!(!preview.contains(['\n', '\r', '\t']) && !preview.contains("  "), "{preview:?}");
            }
            (Err(want), Err(e)) => prop_assert_eq!(code(&e), want),
            (want, got) => prop_assert!(false, "want {want:?}, got {got:?}"),
        }
    }
}
