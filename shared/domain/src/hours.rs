//! An organization's business hours, in its time zone, with closed dates and the automatic
//! reply a resident gets when writing outside them.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::{DomainError, ErrorCode, MessageBody};

/// How far back an "opened last" is looked for; an org closed longer is closed "forever".
const LOOK_BACK_DAYS: u64 = 400;
const MAX_SPANS_PER_DAY: usize = 6;
const MAX_CLOSED_DATES: usize = 366;
const MINUTES_PER_DAY: u16 = 24 * 60;

/// Open from `start` to `end` (minutes since local midnight; `end` may be 24:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Span {
    #[serde(with = "hhmm")]
    #[schema(value_type = String, pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", examples("09:00"))]
    pub start: u16,
    #[serde(with = "hhmm")]
    #[schema(value_type = String, pattern = "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$", examples("17:00"))]
    pub end: u16,
}

mod hhmm {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(minutes: &u16, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:02}:{:02}", minutes / 60, minutes % 60))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
        let raw = String::deserialize(d)?;
        let invalid = || serde::de::Error::custom(format!("{raw:?} is not a time HH:MM (00:00 to 24:00)"));
        let (h, m) = raw.split_once(':').ok_or_else(invalid)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(invalid());
        }
        let (h, m): (u16, u16) = (h.parse().map_err(|_| invalid())?, m.parse().map_err(|_| invalid())?);
        if m > 59 || h > 24 || (h == 24 && m != 0) {
            return Err(invalid());
        }
        Ok(h * 60 + m)
    }
}

/// The opening spans of each day of the week; a day without spans is closed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Week {
    pub mon: Vec<Span>,
    pub tue: Vec<Span>,
    pub wed: Vec<Span>,
    pub thu: Vec<Span>,
    pub fri: Vec<Span>,
    pub sat: Vec<Span>,
    pub sun: Vec<Span>,
}

impl Week {
    fn day(&self, day: Weekday) -> &[Span] {
        match day {
            Weekday::Mon => &self.mon,
            Weekday::Tue => &self.tue,
            Weekday::Wed => &self.wed,
            Weekday::Thu => &self.thu,
            Weekday::Fri => &self.fri,
            Weekday::Sat => &self.sat,
            Weekday::Sun => &self.sun,
        }
    }

    fn days(&self) -> [(&'static str, &[Span]); 7] {
        [
            ("mon", &self.mon),
            ("tue", &self.tue),
            ("wed", &self.wed),
            ("thu", &self.thu),
            ("fri", &self.fri),
            ("sat", &self.sat),
            ("sun", &self.sun),
        ]
    }
}

/// What a resident writing outside business hours is answered, once per closed period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoReply {
    pub enabled: bool,
    pub body: MessageBody,
}

/// `GET/PUT /v1/settings/business-hours`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// IANA time zone the hours and dates are in.
    #[schema(value_type = String, examples("America/Toronto"))]
    pub time_zone: chrono_tz::Tz,
    /// Each day's opening spans, in order and not overlapping (at most six a day).
    pub hours: Week,
    /// Whole local days closed whatever the weekday (holidays), at most 366.
    #[schema(value_type = Vec<String>, examples(json!(["2026-12-25"])))]
    pub closed_dates: Vec<NaiveDate>,
    pub auto_reply: AutoReply,
}

impl BusinessHours {
    /// Hours as the rules allow them (spans in order, a bounded list of dates, sorted and
    /// distinct), or 422 invalid_business_hours.
    pub fn validated(self) -> Result<Self, DomainError> {
        let raw = self;
        let invalid = |message: String| DomainError::invalid(ErrorCode::InvalidBusinessHours, message);
        for (name, spans) in raw.hours.days() {
            if spans.len() > MAX_SPANS_PER_DAY {
                return Err(invalid(format!("{name}: at most {MAX_SPANS_PER_DAY} spans a day")));
            }
            let mut open_until = 0;
            for (i, span) in spans.iter().enumerate() {
                if span.start >= span.end || span.end > MINUTES_PER_DAY {
                    return Err(invalid(format!("{name}: a span must end after it starts")));
                }
                if i > 0 && span.start <= open_until {
                    return Err(invalid(format!("{name}: spans must be in order and not touch or overlap")));
                }
                open_until = span.end;
            }
        }
        let mut closed_dates = raw.closed_dates;
        closed_dates.sort_unstable();
        closed_dates.dedup();
        if closed_dates.len() > MAX_CLOSED_DATES {
            return Err(invalid(format!("at most {MAX_CLOSED_DATES} closed dates")));
        }
        Ok(Self { closed_dates, ..raw })
    }
}

impl Default for BusinessHours {
    /// Weekdays nine to five in Toronto, no auto-reply.
    fn default() -> Self {
        let office = vec![Span { start: 9 * 60, end: 17 * 60 }];
        Self {
            time_zone: chrono_tz::America::Toronto,
            hours: Week {
                mon: office.clone(),
                tue: office.clone(),
                wed: office.clone(),
                thu: office.clone(),
                fri: office,
                sat: vec![],
                sun: vec![],
            },
            closed_dates: vec![],
            auto_reply: AutoReply {
                enabled: false,
                body: MessageBody::parse(
                    "Thank you for your message. Our office is closed right now; we will answer when we open. \
                     If anyone is in danger, call 911.",
                )
                .expect("a valid body"),
            },
        }
    }
}

impl BusinessHours {
    /// Whether the office is open at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.time_zone);
        let date = local.date_naive();
        let minute = u16::try_from(local.hour() * 60 + local.minute()).unwrap_or(0);
        !self.closed_dates.contains(&date)
            && self.hours.day(date.weekday()).iter().any(|s| s.start <= minute && minute < s.end)
    }

    /// When the closed period that holds `at` began: the end of the last opening before it
    /// (the Unix epoch if there was none in the last 400 days). `None` while open.
    pub fn closed_since(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_open(at) {
            return None;
        }
        let today = at.with_timezone(&self.time_zone).date_naive();
        let last_end = today
            .iter_days()
            .rev()
            .take(LOOK_BACK_DAYS as usize)
            .filter(|date| !self.closed_dates.contains(date))
            .flat_map(|date| {
                let mut ends: Vec<DateTime<Utc>> =
                    self.hours.day(date.weekday()).iter().filter_map(|s| self.instant(date, s.end)).collect();
                ends.reverse();
                ends
            })
            .find(|end| *end <= at);
        Some(last_end.unwrap_or(DateTime::UNIX_EPOCH))
    }

    /// The instant of a local date and minute (24:00 is the next midnight); in a DST gap,
    /// the first instant after it.
    fn instant(&self, date: NaiveDate, minute: u16) -> Option<DateTime<Utc>> {
        let midnight = date.and_hms_opt(0, 0, 0)?;
        let local = midnight + chrono::Duration::minutes(i64::from(minute));
        let found = self.time_zone.from_local_datetime(&local);
        found
            .earliest()
            .or_else(|| self.time_zone.from_local_datetime(&(local + chrono::Duration::hours(1))).earliest())
            .map(|t| t.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(json: serde_json::Value) -> Result<BusinessHours, String> {
        let parsed: BusinessHours = serde_json::from_value(json).map_err(|e| e.to_string())?;
        parsed.validated().map_err(|e| e.to_string())
    }

    fn office() -> BusinessHours {
        hours(serde_json::json!({
            "time_zone": "America/Toronto",
            "hours": {"mon": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}],
                      "tue": [{"start": "09:00", "end": "17:00"}], "wed": [], "thu": [],
                      "fri": [{"start": "09:00", "end": "24:00"}], "sat": [], "sun": []},
            "closed_dates": ["2026-12-08"],
            "auto_reply": {"enabled": true, "body": "We are closed."}
        }))
        .unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn open_within_a_span_of_the_local_day_unless_the_date_is_closed() {
        let h = office();
        // Monday 2026-12-07, Toronto is UTC-5.
        assert!(h.is_open(at("2026-12-07T09:00:00-05:00")));
        assert!(h.is_open(at("2026-12-07T11:59:59-05:00")));
        assert!(!h.is_open(at("2026-12-07T12:00:00-05:00")), "lunch");
        assert!(!h.is_open(at("2026-12-07T08:59:00-05:00")));
        assert!(!h.is_open(at("2026-12-07T17:00:00-05:00")), "end is exclusive");
        assert!(!h.is_open(at("2026-12-08T10:00:00-05:00")), "a closed date");
        assert!(!h.is_open(at("2026-12-09T10:00:00-05:00")), "a day without spans");
        assert!(h.is_open(at("2026-12-11T23:59:00-05:00")), "until 24:00");
        assert!(!h.is_open(at("2026-12-12T00:00:00-05:00")));
        assert!(
            !h.is_open(at("2026-12-07T10:00:00Z")) && h.is_open(at("2026-12-07T10:00:00-05:00")),
            "local time"
        );
    }

    #[test]
    fn a_closed_period_began_at_the_last_closing() {
        let h = office();
        assert_eq!(h.closed_since(at("2026-12-07T10:00:00-05:00")), None, "open");
        assert_eq!(h.closed_since(at("2026-12-07T12:30:00-05:00")), Some(at("2026-12-07T12:00:00-05:00")));
        assert_eq!(h.closed_since(at("2026-12-07T20:00:00-05:00")), Some(at("2026-12-07T17:00:00-05:00")));
        // Over the closed date and two days without hours, back to Monday's close... then
        // Tuesday the 8th is closed, so the period began Monday at 17:00.
        assert_eq!(h.closed_since(at("2026-12-10T08:00:00-05:00")), Some(at("2026-12-07T17:00:00-05:00")));
        // Early Monday: Friday's 24:00.
        assert_eq!(h.closed_since(at("2026-12-14T08:00:00-05:00")), Some(at("2026-12-12T00:00:00-05:00")));
        let never = BusinessHours { hours: Week::default(), ..office() };
        assert_eq!(never.closed_since(at("2026-12-07T10:00:00Z")), Some(DateTime::UNIX_EPOCH));
    }

    #[test]
    fn bad_hours_are_refused() {
        let base = serde_json::to_value(office()).unwrap();
        let cases = [
            ("/hours/mon/0/end", serde_json::json!("08:00"), "ends before it starts"),
            ("/hours/mon/1/start", serde_json::json!("11:00"), "overlaps"),
            ("/hours/mon/1/start", serde_json::json!("12:00"), "touches"),
            ("/hours/tue/0/end", serde_json::json!("24:30"), "past midnight"),
            ("/hours/tue/0/end", serde_json::json!("9:00"), "not HH:MM"),
            ("/time_zone", serde_json::json!("Mars/Base"), "no such zone"),
            ("/closed_dates/0", serde_json::json!("2026-02-30"), "no such date"),
            ("/auto_reply/body", serde_json::json!(""), "empty reply"),
        ];
        for (path, value, why) in cases {
            let mut bad = base.clone();
            *bad.pointer_mut(path).unwrap() = value;
            assert!(hours(bad).is_err(), "{why}");
        }
        let mut six = base.clone();
        let spans: Vec<_> = (0..7).map(|h| serde_json::json!({"start": format!("{:02}:00", h * 2), "end": format!("{:02}:30", h * 2)})).collect();
        six["hours"]["wed"] = serde_json::json!(spans);
        assert!(hours(six).unwrap_err().contains("at most 6"));
        assert_eq!(hours(base).unwrap(), office(), "round trip");
    }
}
