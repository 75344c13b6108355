//! The shipped rules and approved texts, English and French. (Stub: the helper fills this in.)

use super::{Detail, Texts, TriageSettings};

pub fn settings() -> TriageSettings {
    let text = |en: &str, fr: &str| Texts { en: en.to_owned(), fr: fr.to_owned() };
    TriageSettings {
        enabled: true,
        ack_minutes: 15,
        on_call: vec![],
        paths: Default::default(),
        escalations: Default::default(),
        cold_emergencies: Default::default(),
        prompts: Detail::ALL.into_iter().map(|d| (d, text("?", "?"))).collect(),
        safety_notice: text(
            "If anyone is in danger, call 911 now.",
            "Si quelqu'un est en danger, composez le 911 maintenant.",
        ),
        routes: Default::default(),
    }
}
