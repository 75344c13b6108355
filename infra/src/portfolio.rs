//! The search benchmark's portfolio: one org of generated conversations (residents of 20
//! properties, French and English text), imported straight into the table (no events),
//! then indexed by a rebuild, as an org migrating its history would be.

use chrono::{Duration, Utc};
use domain::{
    MessageBody, MessageId, OrgId, Priority, Role, Subject, ThreadId, ThreadStatus, Topic, User, UserId,
};
use store::{
    Imported, LastMessage, MessageRecord, ParticipantRecord, ResidentRef, Store, Summary, ThreadRecord,
};

/// Residents of the portfolio, spread over this many properties.
pub const RESIDENTS: usize = 500;
const PROPERTIES: usize = 20;
pub const MESSAGES_PER_THREAD: usize = 10;
/// One message in this many holds [`RARE_WORD`].
const RARE_EVERY: usize = 5_000;
/// A word in about one message in 5,000: a selective search.
pub const RARE_WORD: &str = "zephyrine";
/// Threads imported per BatchWriteItem round (12 items each).
const THREADS_PER_IMPORT: usize = 20;

const EN: &[&str] = &[
    "the",
    "water",
    "leak",
    "under",
    "sink",
    "kitchen",
    "heating",
    "is",
    "not",
    "working",
    "since",
    "yesterday",
    "please",
    "send",
    "someone",
    "to",
    "check",
    "window",
    "door",
    "lock",
    "broken",
    "parking",
    "spot",
    "invoice",
    "payment",
    "rent",
    "late",
    "fee",
    "noise",
    "neighbour",
    "elevator",
    "garbage",
    "room",
    "balcony",
    "light",
    "bathroom",
    "ceiling",
    "mould",
    "thank",
    "you",
    "when",
    "can",
    "come",
    "tomorrow",
    "morning",
    "key",
];
const FR: &[&str] = &[
    "le",
    "la",
    "fuite",
    "d'eau",
    "sous",
    "évier",
    "cuisine",
    "chauffage",
    "ne",
    "fonctionne",
    "pas",
    "depuis",
    "hier",
    "merci",
    "d'envoyer",
    "quelqu'un",
    "vérifier",
    "fenêtre",
    "porte",
    "serrure",
    "brisée",
    "stationnement",
    "facture",
    "paiement",
    "loyer",
    "retard",
    "frais",
    "bruit",
    "voisin",
    "ascenseur",
    "poubelles",
    "balcon",
    "lumière",
    "salle",
    "bain",
    "plafond",
    "moisissure",
    "quand",
    "pouvez",
    "venir",
    "demain",
    "matin",
    "clé",
    "électricité",
];
const SUBJECTS: &[&str] = &[
    "Water leak",
    "Fuite d'eau",
    "No heat",
    "Pas de chauffage",
    "Parking",
    "Stationnement",
    "Invoice question",
    "Question sur la facture",
    "Noise complaint",
    "Bruit",
    "Broken lock",
    "Serrure brisée",
];
const TOPICS: [&str; 4] = ["maintenance", "billing", "parking", "general"];

/// A small deterministic generator (xorshift): the same portfolio every run.
struct Words(u64);

impl Words {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }

    fn sentence(&mut self, rare: bool) -> String {
        let lang = if self.next().is_multiple_of(2) { EN } else { FR };
        let n = 12 + (self.next() % 14) as usize;
        let mut words: Vec<&str> = (0..n).map(|_| self.pick(lang)).collect();
        if rare {
            words.insert(n / 2, RARE_WORD);
        }
        words.join(" ")
    }
}

pub fn resident_id(i: usize) -> UserId {
    UserId::parse(format!("r-{:04}", i % RESIDENTS)).expect("valid id")
}

pub fn property_of(resident: usize) -> String {
    format!("prop-{}", resident % PROPERTIES)
}

/// The portfolio's residents (the demo org's staff answer them).
pub async fn seed_residents(store: &Store, org: &OrgId) -> anyhow::Result<()> {
    crate::seed::seed_demo_org(store, org).await?;
    let template =
        crate::seed::demo_users(org).into_iter().find(|u| u.role == Role::Resident).expect("a resident");
    for i in 0..RESIDENTS {
        let user = User {
            id: resident_id(i),
            name: format!("Resident {i:04} {}", if i.is_multiple_of(2) { "Tremblay" } else { "Smith" }),
            unit: Some(format!("{}", 100 + i / PROPERTIES)),
            property_id: Some(property_of(i)),
            ..template.clone()
        };
        store.put_user(&user).await?;
    }
    Ok(())
}

/// Imports threads `from..to` of the portfolio (`MESSAGES_PER_THREAD` each, alternately the
/// resident's and the maintenance staff's), dated over the last two years.
pub async fn import(store: &Store, org: &OrgId, from: usize, to: usize, total: usize) -> anyhow::Result<()> {
    let staff = UserId::parse("maint-1").expect("valid id");
    let now = Utc::now();
    let mut batch: Vec<(ThreadRecord, Vec<ParticipantRecord>, Vec<MessageRecord>)> = Vec::new();
    for i in from..to {
        let mut words = Words(0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1));
        let started = now - Duration::minutes(((total - i) * 2 * 365 * 24 * 60 / total) as i64);
        let resident = resident_id(i);
        let r = i % RESIDENTS;
        let id = ThreadId::new_at(started.timestamp_millis() as u64);
        let messages: Vec<MessageRecord> = (0..MESSAGES_PER_THREAD)
            .map(|k| {
                let at = started + Duration::minutes(k as i64 * 30);
                let by_resident = k % 2 == 0;
                let rare = (i * MESSAGES_PER_THREAD + k).is_multiple_of(RARE_EVERY);
                MessageRecord {
                    id: MessageId::new_at(at.timestamp_millis() as u64),
                    thread_id: id,
                    author_id: if by_resident { resident.clone() } else { staff.clone() },
                    author_name: if by_resident {
                        format!("Resident {r:04}")
                    } else {
                        "Max Maintenance".into()
                    },
                    body: MessageBody::parse(&words.sentence(rare)).expect("a sentence is a body"),
                    attachments: vec![],
                    internal: false,
                    created_at: at,
                    automated: false,
                    automated_kind: None,
                }
            })
            .collect();
        let last = messages.last().expect("messages");
        let last_message = LastMessage {
            id: last.id,
            body_preview: last.body.as_str().chars().take(100).collect(),
            author_id: last.author_id.clone(),
            at: last.created_at,
        };
        let summary = Summary {
            id,
            topic: Topic::parse(TOPICS[i % TOPICS.len()]).expect("a topic"),
            subject: Subject::parse(SUBJECTS[i % SUBJECTS.len()]).expect("a subject"),
            status: ThreadStatus::Open,
            priority: Priority::Normal,
            category_id: domain::category::SERVICE.to_owned(),
            resident: ResidentRef {
                id: resident.clone(),
                name: format!("Resident {r:04} {}", if r.is_multiple_of(2) { "Tremblay" } else { "Smith" }),
                unit: Some(format!("{}", 100 + r / PROPERTIES)),
                property_id: Some(property_of(r)),
            },
            last_message: Some(last_message.clone()),
            updated_at: last.created_at,
        };
        let thread = ThreadRecord {
            org: org.clone(),
            summary: summary.clone(),
            public_last: Some(last_message),
            public_at: last.created_at,
            linked_record: None,
            created_by: resident.clone(),
            created_at: started,
            auto_replied_for: None,
            triage: None,
            // Imported history: the figures look its cycles up.
            response: Default::default(),
            version: 1,
            members_version: 1,
        };
        let member = |user: &UserId, name: &str, role| ParticipantRecord {
            user_id: user.clone(),
            name: name.to_owned(),
            role,
            joined_at: started,
            last_read_id: Some(last.id),
            public_read_id: Some(last.id),
        };
        let participants = vec![
            member(&resident, &summary.resident.name, Role::Resident),
            member(&staff, "Max Maintenance", Role::Staff),
        ];
        batch.push((thread, participants, messages));
        if batch.len() == THREADS_PER_IMPORT || i + 1 == to {
            let conversations: Vec<Imported> = batch
                .iter()
                .map(|(thread, participants, messages)| Imported { thread, participants, messages })
                .collect();
            store.import(&conversations).await?;
            batch.clear();
        }
    }
    Ok(())
}
