//! Triage of residents' messages: the approved path a message belongs to, whether it must go
//! to a human at once (escalation), and the one detail still missing, decided by each org's
//! phrase rules in English and French. Deterministic and explainable: the phrases that
//! decided are the `reasons`. Automation's only words are the org's approved texts (the
//! prompts and the safety notice); it never composes an answer.

mod classify;
mod defaults;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{DomainError, ErrorCode, Topic, UserId};

pub use classify::Rules;

/// An approved path a resident's message follows.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Path {
    Maintenance,
    Billing,
    Delinquency,
    Lease,
    Move,
    Parking,
    Access,
    General,
}

impl Path {
    pub const ALL: [Self; 8] = [
        Self::Maintenance,
        Self::Billing,
        Self::Delinquency,
        Self::Lease,
        Self::Move,
        Self::Parking,
        Self::Access,
        Self::General,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Maintenance => "maintenance",
            Self::Billing => "billing",
            Self::Delinquency => "delinquency",
            Self::Lease => "lease",
            Self::Move => "move",
            Self::Parking => "parking",
            Self::Access => "access",
            Self::General => "general",
        }
    }
}

/// Why a message goes to a human at once. An emergency also pages the on-call staff.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Escalation {
    Emergency,
    Dispute,
    Legal,
    Accommodation,
    Complaint,
}

impl Escalation {
    pub const ALL: [Self; 5] =
        [Self::Emergency, Self::Dispute, Self::Legal, Self::Accommodation, Self::Complaint];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Emergency => "emergency",
            Self::Dispute => "dispute",
            Self::Legal => "legal",
            Self::Accommodation => "accommodation",
            Self::Complaint => "complaint",
        }
    }
}

/// A detail staff need before they can act, asked with the org's approved prompt.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Detail {
    /// Which unit (when the resident has none on file and the message names none).
    Unit,
    /// A photo of the damage (when damage is described and nothing is attached).
    Photo,
    /// Whether staff may enter when the resident is out.
    Entry,
    /// How urgent it is.
    Urgency,
}

impl Detail {
    pub const ALL: [Self; 4] = [Self::Unit, Self::Photo, Self::Entry, Self::Urgency];
}

/// The language a message is written in, as far as its words tell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    #[default]
    En,
    Fr,
}

/// Phrases in each language. Matching ignores case, accents and punctuation; a phrase
/// ending in `*` also matches words that begin with it (`leak*`: leaks, leaking).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Phrases {
    #[serde(default)]
    #[schema(max_items = 200)]
    pub en: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 200)]
    pub fr: Vec<String>,
}

/// An approved text in each language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Texts {
    #[schema(min_length = 1, max_length = 500)]
    pub en: String,
    #[schema(min_length = 1, max_length = 500)]
    pub fr: String,
}

impl Texts {
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Fr => &self.fr,
        }
    }
}

pub const MAX_PHRASES: usize = 200;
pub const MAX_PHRASE_CHARS: usize = 60;
pub const MAX_TEXT_CHARS: usize = 500;
pub const MAX_ON_CALL: usize = 10;
pub const MAX_ACK_MINUTES: u32 = 1440;

/// `GET/PUT /v1/settings/triage`: an org's triage rules. Left out of a PUT, a field keeps
/// the shipped default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TriageSettings {
    /// false: messages are neither classified nor escalated.
    pub enabled: bool,
    /// An escalation nobody acknowledged within this many minutes is escalated again, to the
    /// facility admins (1 to 1440).
    #[schema(minimum = 1, maximum = 1440)]
    pub ack_minutes: u32,
    /// Staff paged on an emergency, on every channel, quiet hours or not. Empty: the
    /// facility admins.
    #[schema(max_items = 10)]
    pub on_call: Vec<UserId>,
    /// The phrases that put a message on each path; none matching: `general`.
    pub paths: BTreeMap<Path, Phrases>,
    /// The phrases that escalate a message.
    pub escalations: BTreeMap<Escalation, Phrases>,
    /// Phrases that are an emergency only in the cold months (October to April): no heat.
    pub cold_emergencies: Phrases,
    /// The approved question asking for each missing detail.
    pub prompts: BTreeMap<Detail, Texts>,
    /// Posted on an emergency, before anyone answers.
    pub safety_notice: Texts,
    /// A path whose threads go to a routing topic other than the one the resident chose.
    pub routes: BTreeMap<Path, Topic>,
}

impl Default for TriageSettings {
    fn default() -> Self {
        defaults::settings()
    }
}

impl TriageSettings {
    /// The settings as the rules allow them, or 422 `invalid_triage` naming what is wrong.
    pub fn validated(self) -> Result<Self, DomainError> {
        let invalid = |m: String| DomainError::invalid(ErrorCode::InvalidTriage, m);
        if !(1..=MAX_ACK_MINUTES).contains(&self.ack_minutes) {
            return Err(invalid(format!("ack_minutes is 1 to {MAX_ACK_MINUTES}")));
        }
        if self.on_call.len() > MAX_ON_CALL {
            return Err(invalid(format!("at most {MAX_ON_CALL} on_call staff")));
        }
        let lists = self
            .paths
            .iter()
            .map(|(p, l)| (p.as_str(), l))
            .chain(self.escalations.iter().map(|(e, l)| (e.as_str(), l)))
            .chain([("cold_emergencies", &self.cold_emergencies)]);
        for (name, phrases) in lists {
            for (lang, list) in [("en", &phrases.en), ("fr", &phrases.fr)] {
                if list.len() > MAX_PHRASES {
                    return Err(invalid(format!("{name}.{lang}: at most {MAX_PHRASES} phrases")));
                }
                if let Some(bad) = list.iter().find(|p| !phrase_ok(p)) {
                    return Err(invalid(format!(
                        "{name}.{lang}: '{}' is not a phrase of 2 to {MAX_PHRASE_CHARS} characters with a letter or digit",
                        bad.chars().take(MAX_PHRASE_CHARS).collect::<String>()
                    )));
                }
            }
        }
        for detail in Detail::ALL {
            let Some(texts) = self.prompts.get(&detail) else {
                return Err(invalid(format!("prompts needs a text for '{}'", detail_name(detail))));
            };
            check_texts(texts, &format!("prompts.{}", detail_name(detail)))?;
        }
        check_texts(&self.safety_notice, "safety_notice")?;
        Ok(self)
    }

    /// The rules compiled for matching.
    pub fn rules(&self) -> Rules {
        Rules::compile(self)
    }

    /// Whom an emergency pages: the on-call staff, or the facility admins when none is set.
    pub fn pages_admins(&self) -> bool {
        self.on_call.is_empty()
    }
}

fn detail_name(detail: Detail) -> &'static str {
    match detail {
        Detail::Unit => "unit",
        Detail::Photo => "photo",
        Detail::Entry => "entry",
        Detail::Urgency => "urgency",
    }
}

fn phrase_ok(phrase: &str) -> bool {
    let n = phrase.trim().chars().count();
    (2..=MAX_PHRASE_CHARS).contains(&n)
        && phrase.chars().any(char::is_alphanumeric)
        && !phrase.chars().any(char::is_control)
}

fn check_texts(texts: &Texts, name: &str) -> Result<(), DomainError> {
    for (lang, text) in [("en", &texts.en), ("fr", &texts.fr)] {
        let n = text.trim().chars().count();
        if n == 0 || n > MAX_TEXT_CHARS || text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(DomainError::invalid(
                ErrorCode::InvalidTriage,
                format!("{name}.{lang} is a text of 1 to {MAX_TEXT_CHARS} characters"),
            ));
        }
    }
    Ok(())
}

/// What triage is told about a message besides its words.
#[derive(Debug, Clone, Copy, Default)]
pub struct TriageInput<'a> {
    /// The message's text (with the thread's subject when it starts one).
    pub text: &'a str,
    /// The resident has a unit on file.
    pub unit_known: bool,
    /// The message carries an attachment (a photo may be among them).
    pub has_attachment: bool,
    /// It is the cold season where the property is (October to April in Canada).
    pub cold: bool,
}

/// What triage decided about a message, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Classification {
    pub path: Path,
    pub escalation: Option<Escalation>,
    /// The one detail to ask for next; never on an escalated message.
    pub missing: Option<Detail>,
    /// The phrases (as the rules spell them) that decided the path and the escalation.
    pub reasons: Vec<String>,
    pub lang: Lang,
}

/// What staff know of the resident when triage reads their message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TriageContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The resident's account: active, locked or archived.
    pub account_state: crate::AccountState,
    /// The lease's status where a system of record told us; `null`: not known.
    pub lease_status: Option<String>,
    /// Other threads of the resident triage put on the same path in the last 90 days.
    pub recent_on_path: u32,
}

/// A thread's triage, as `GET /v1/threads/{id}` shows staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ThreadTriage {
    pub path: Path,
    pub escalation: Option<Escalation>,
    /// The detail the message lacks (asked once per thread, never when escalated).
    pub missing: Option<Detail>,
    pub reasons: Vec<String>,
    pub context: TriageContext,
    pub lang: Lang,
    /// The resident's message triage read (the first, or the one that re-opened the
    /// thread).
    pub message_id: crate::MessageId,
    pub classified_at: chrono::DateTime<chrono::Utc>,
    /// The detail the thread was asked for, and the message whose triage asked it; one
    /// question per thread at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked: Option<Detail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked_for: Option<crate::MessageId>,
    /// The message that escalated the thread (this one, or an earlier one still waiting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated_for: Option<crate::MessageId>,
    /// When it was escalated, and how many times (1: at first; more: nobody acknowledged in
    /// time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    pub level: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_by: Option<UserId>,
    /// Staff corrected the path: what triage had chosen, who corrected it and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classified_path: Option<Path>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected_by: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl ThreadTriage {
    /// Waiting in the triage queue: escalated and nobody acknowledged it yet.
    pub fn waiting(&self) -> bool {
        self.escalation.is_some() && self.acknowledged_at.is_none()
    }

    /// The escalation the classified message made itself, not one it found waiting (what
    /// the response figures count).
    pub fn made_escalation(&self) -> Option<Escalation> {
        self.escalation.filter(|_| self.escalated_for == Some(self.message_id))
    }
}
