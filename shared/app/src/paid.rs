//! The cap on notifications a recipient gets on paid channels (SMS, WhatsApp): a token
//! bucket of `per_hour` sends that refills at `per_hour` an hour. Past it, the recipient's
//! notifications wait for the next token and go out together, as one digest: a flood of
//! messages (or someone pumping SMS to a number) costs at most that many sends an hour.

use chrono::{DateTime, Utc};
use domain::notify::Channel;
use store::PaidAllowance;

pub fn is_paid(channel: Channel) -> bool {
    matches!(channel, Channel::Sms | Channel::Whatsapp)
}

/// Spends one send: the allowance left afterwards, or when the next send is allowed.
pub fn spend(
    per_hour: u32,
    allowance: Option<PaidAllowance>,
    now: DateTime<Utc>,
) -> Result<PaidAllowance, DateTime<Utc>> {
    const HOUR_MS: f64 = 3_600_000.0;
    let cap = f64::from(per_hour.max(1));
    let tokens = match allowance {
        Some(a) => {
            let elapsed_ms = (now - a.at).num_milliseconds().max(0) as f64;
            (a.tokens + elapsed_ms * cap / HOUR_MS).min(cap)
        }
        None => cap,
    };
    // The margin absorbs float rounding of a token that has just come back.
    if tokens + 1e-9 >= 1.0 {
        return Ok(PaidAllowance { tokens: (tokens - 1.0).max(0.0), at: now });
    }
    let wait_ms = ((1.0 - tokens) * HOUR_MS / cap).ceil() as i64;
    Err(now + chrono::Duration::milliseconds(wait_ms.max(1)))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_recipient_gets_the_cap_at_once_then_one_send_per_hour_over_the_cap() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let mut allowance = None;
        for _ in 0..10 {
            allowance = Some(spend(10, allowance, t0).expect("within the cap"));
        }
        let next = spend(10, allowance, t0).expect_err("the eleventh waits");
        assert_eq!(next, t0 + chrono::Duration::minutes(6), "one token every 6 minutes at 10 an hour");
        assert!(spend(10, allowance, next - chrono::Duration::seconds(1)).is_err());
        let after = spend(10, allowance, next).expect("a token has come back");
        assert!(after.tokens < 0.01);
        let later = spend(10, Some(after), next + chrono::Duration::hours(5)).unwrap();
        assert!((later.tokens - 9.0).abs() < 1e-9, "refills to the cap, never past it");
    }

    #[test]
    fn only_sms_and_whatsapp_are_paid() {
        assert!(is_paid(Channel::Sms) && is_paid(Channel::Whatsapp));
        assert!(!is_paid(Channel::Email) && !is_paid(Channel::Push) && !is_paid(Channel::Telegram));
    }
}
