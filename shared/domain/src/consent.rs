//! Consent to communication categories (CASL): whether a contact may get a category's
//! messages, and the append-only ledger of every change with its proof.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::category::{Category, ConsentMode};
use crate::{DomainError, ErrorCode, UserId};

const MAX_EVIDENCE_CHARS: usize = 2000;

/// On what the decision rests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The contact said so (portal, consent request, an admin recording what they said).
    Express,
    /// Inferred from a business relationship, as CASL allows for a time.
    Implied,
    /// The category's default: nobody decided.
    Default,
}

/// Where the decision was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Portal,
    ConsentRequest,
    Unsubscribe,
    Admin,
}

/// One change of a contact's consent to a category: never changed, never deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsentEntry {
    pub category_id: String,
    pub subscribed: bool,
    pub basis: Basis,
    pub source: Source,
    /// Who made it, when not the contact themself through a link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<UserId>,
    /// The proof: what an admin recorded, the wording a request showed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    pub at: DateTime<Utc>,
}

/// A contact's latest decision per category.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consents(pub BTreeMap<String, Decision>);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub subscribed: bool,
    pub at: DateTime<Utc>,
}

impl Consents {
    /// Whether the contact may get `category`'s messages: always for transactional ones;
    /// else their decision, or the mode's default (opt_in: yes; request, opt_out: no).
    pub fn allows(&self, category: &Category) -> bool {
        match (category.consent, self.0.get(&category.id)) {
            (ConsentMode::Transactional, _) => true,
            (_, Some(decision)) => decision.subscribed,
            (ConsentMode::OptIn, None) => true,
            (ConsentMode::Request | ConsentMode::OptOut, None) => false,
        }
    }

    /// When the contact last decided about `category`, if ever.
    pub fn decided_at(&self, category: &str) -> Option<DateTime<Utc>> {
        self.0.get(category).map(|d| d.at)
    }

    pub fn record(&mut self, entry: &ConsentEntry) {
        self.0.insert(entry.category_id.clone(), Decision { subscribed: entry.subscribed, at: entry.at });
    }
}

/// A category consent applies to (not transactional), or 422.
pub fn ensure_consentable(category: &Category) -> Result<(), DomainError> {
    if category.consent == ConsentMode::Transactional {
        let message = "a transactional category needs no consent";
        return Err(DomainError::invalid(ErrorCode::ConsentNotNeeded, message));
    }
    Ok(())
}

/// An admin's evidence: required, one to 2000 characters.
pub fn evidence(raw: Option<&str>) -> Result<String, DomainError> {
    let raw = raw.map(str::trim).filter(|e| !e.is_empty()).ok_or_else(|| {
        DomainError::invalid(
            ErrorCode::EvidenceRequired,
            "evidence is required: what the contact said, when, and how (CASL's burden of proof)",
        )
    })?;
    crate::text::bounded_text(raw, MAX_EVIDENCE_CHARS, "evidence")
}

/// The refusal of a message in a category the contact does not consent to.
pub fn no_consent() -> DomainError {
    DomainError::conflict(ErrorCode::NoConsent, "the resident does not consent to this category's messages")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn category(consent: ConsentMode) -> Category {
        Category { consent, id: "cat-1".into(), ..Category::service() }
    }

    #[test]
    fn each_mode_has_its_default_until_the_contact_decides() {
        let mut consents = Consents::default();
        let modes = [
            (ConsentMode::Transactional, true),
            (ConsentMode::Request, false),
            (ConsentMode::OptIn, true),
            (ConsentMode::OptOut, false),
        ];
        for (mode, default) in modes {
            assert_eq!(consents.allows(&category(mode)), default, "{mode:?}");
        }
        let at = Utc::now();
        let entry = |subscribed| ConsentEntry {
            category_id: "cat-1".into(),
            subscribed,
            basis: Basis::Express,
            source: Source::Portal,
            actor_id: None,
            evidence: None,
            at,
        };
        consents.record(&entry(true));
        assert!(
            consents.allows(&category(ConsentMode::Request))
                && consents.allows(&category(ConsentMode::OptOut))
        );
        consents.record(&entry(false));
        assert!(!consents.allows(&category(ConsentMode::OptIn)));
        assert!(consents.allows(&category(ConsentMode::Transactional)), "needs none");
        assert_eq!(consents.decided_at("cat-1"), Some(at));
    }

    #[test]
    fn evidence_is_required_and_bounded() {
        assert_eq!(evidence(None).unwrap_err().code(), ErrorCode::EvidenceRequired);
        assert_eq!(evidence(Some("  ")).unwrap_err().code(), ErrorCode::EvidenceRequired);
        assert!(evidence(Some(&"x".repeat(2001))).is_err());
        assert_eq!(evidence(Some(" Phone call, 2026-12-01 ")).unwrap(), "Phone call, 2026-12-01");
    }
}
