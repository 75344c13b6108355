//! Campaigns (CASL): a facility admin reaches every resident of an audience at once, either
//! asking for consent to a `request` category (e-mail with accept/decline links) or starting
//! one private conversation per consenting resident. A scheduled function runs them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::category::{Category, ConsentMode};
use crate::contact::key_part;
use crate::{DomainError, ErrorCode};

const MAX_PROPERTIES: usize = 20;
const MAX_UNITS: usize = 200;
/// Campaigns an org may have scheduled or running at once.
pub const MAX_ACTIVE: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignKind {
    /// E-mails each undecided resident a request for consent to a `request` category.
    ConsentRequest,
    /// Starts one private conversation per consenting, non-archived resident.
    Message,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Scheduled,
    Running,
    Done,
    Cancelled,
}

impl CampaignStatus {
    /// Still to run (on the schedule's due list).
    pub fn is_active(self) -> bool {
        matches!(self, Self::Scheduled | Self::Running)
    }
}

/// Whom a campaign reaches: the residents of these properties, or of these units in them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    /// 1 to 20 property ids.
    #[schema(min_items = 1, max_items = 20)]
    pub property_ids: Vec<String>,
    /// Only these units (in each of the properties), at most 200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 200)]
    pub units: Option<Vec<String>>,
}

/// One contact list the campaign walks: a property's, or one unit's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    pub property_id: &'a str,
    pub unit: Option<&'a str>,
}

impl Audience {
    /// Checked as for contacts' property ids and units (no `#`, one line), each once.
    pub fn parse(self) -> Result<Self, DomainError> {
        let invalid = |m: &str| DomainError::invalid(ErrorCode::InvalidRequest, m.to_owned());
        let clean = |field: &str, values: Vec<String>, max: usize| -> Result<Vec<String>, DomainError> {
            if values.len() > max {
                return Err(invalid(&format!("at most {max} {field}")));
            }
            let mut out: Vec<String> = Vec::with_capacity(values.len());
            for v in values {
                let v = key_part(field, Some(v), 64)?.unwrap_or_default();
                if !out.contains(&v) {
                    out.push(v);
                }
            }
            Ok(out)
        };
        let property_ids = clean("property_ids", self.property_ids, MAX_PROPERTIES)?;
        if property_ids.is_empty() {
            return Err(invalid("audience.property_ids names at least one property"));
        }
        let units = self.units.map(|u| clean("units", u, MAX_UNITS)).transpose()?;
        if units.as_ref().is_some_and(Vec::is_empty) {
            return Err(invalid("audience.units, when given, names at least one unit"));
        }
        Ok(Self { property_ids, units })
    }

    /// The contact lists to walk, in order (a campaign's progress is an index into them).
    pub fn segments(&self) -> Vec<Segment<'_>> {
        self.property_ids
            .iter()
            .flat_map(|p| match &self.units {
                None => vec![Segment { property_id: p, unit: None }],
                Some(units) => units.iter().map(|u| Segment { property_id: p, unit: Some(u) }).collect(),
            })
            .collect()
    }
}

/// What a campaign did so far, per recipient.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Counts {
    /// Residents of the audience met so far.
    pub targeted: u32,
    pub sent: u32,
    /// A message campaign: the resident does not consent to the category.
    pub skipped_no_consent: u32,
    pub skipped_archived: u32,
    /// A consent request: no e-mail address.
    pub skipped_no_address: u32,
    /// A consent request: the resident already decided, or was asked before.
    #[serde(default)]
    pub skipped_decided: u32,
    pub failed: u32,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.targeted += other.targeted;
        self.sent += other.sent;
        self.skipped_no_consent += other.skipped_no_consent;
        self.skipped_archived += other.skipped_archived;
        self.skipped_no_address += other.skipped_no_address;
        self.skipped_decided += other.skipped_decided;
        self.failed += other.failed;
    }
}

/// What became of one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    NoConsent,
    Archived,
    NoAddress,
    Decided,
    Failed,
}

impl Counts {
    pub fn count(&mut self, outcome: Outcome) {
        self.targeted += 1;
        match outcome {
            Outcome::Sent => self.sent += 1,
            Outcome::NoConsent => self.skipped_no_consent += 1,
            Outcome::Archived => self.skipped_archived += 1,
            Outcome::NoAddress => self.skipped_no_address += 1,
            Outcome::Decided => self.skipped_decided += 1,
            Outcome::Failed => self.failed += 1,
        }
    }
}

/// A consent request asks for consent to a `request` category, and nothing else (422).
pub fn ensure_fits(kind: CampaignKind, category: &Category) -> Result<(), DomainError> {
    if kind == CampaignKind::ConsentRequest && category.consent != ConsentMode::Request {
        let message = "a consent request is for a category whose consent mode is request";
        return Err(DomainError::invalid(ErrorCode::InvalidCategory, message));
    }
    Ok(())
}

/// A campaign's start: now, or a given time no more than a year ahead.
pub fn start_at(send_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<DateTime<Utc>, DomainError> {
    match send_at {
        None => Ok(now),
        Some(at) if at > now + chrono::Duration::days(365) => {
            Err(DomainError::invalid(ErrorCode::InvalidSendAt, "send_at is at most a year ahead"))
        }
        Some(at) => Ok(at.max(now)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audience_is_checked_and_walked_unit_by_unit() {
        let a = Audience { property_ids: vec!["p1".into(), "p2".into(), "p1".into()], units: None }.parse();
        let a = a.unwrap();
        assert_eq!(a.property_ids, ["p1", "p2"], "each property once");
        assert_eq!(a.segments().len(), 2);
        let a = Audience {
            property_ids: vec!["p1".into(), "p2".into()],
            units: Some(vec!["1".into(), "2".into()]),
        };
        let a = a.parse().unwrap();
        let segments = a.segments();
        assert_eq!(segments.len(), 4);
        assert_eq!(segments[3], Segment { property_id: "p2", unit: Some("2") });
        assert!(Audience { property_ids: vec![], units: None }.parse().is_err());
        assert!(Audience { property_ids: vec!["p#1".into()], units: None }.parse().is_err());
        assert!(Audience { property_ids: vec!["p".into()], units: Some(vec![]) }.parse().is_err());
        let many = (0..21).map(|i| format!("p{i}")).collect();
        assert!(Audience { property_ids: many, units: None }.parse().is_err());
    }

    #[test]
    fn counts_add_up_per_recipient() {
        let mut c = Counts::default();
        for o in [Outcome::Sent, Outcome::Sent, Outcome::NoAddress, Outcome::Failed] {
            c.count(o);
        }
        let mut total = Counts::default();
        total.add(&c);
        total.add(&c);
        assert_eq!((total.targeted, total.sent, total.skipped_no_address, total.failed), (8, 4, 2, 2));
    }

    #[test]
    fn a_consent_request_is_only_for_request_categories() {
        let mut category = Category::service();
        assert!(ensure_fits(CampaignKind::ConsentRequest, &category).is_err());
        assert!(ensure_fits(CampaignKind::Message, &category).is_ok());
        category.consent = ConsentMode::Request;
        assert!(ensure_fits(CampaignKind::ConsentRequest, &category).is_ok());
    }
}
