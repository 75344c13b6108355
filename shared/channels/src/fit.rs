//! What each channel carries: SMS 1,600 characters, WhatsApp and Telegram 4,096 (counted
//! in UTF-16 units, as the providers count them), a push notification 4 KB of payload
//! (title and body as JSON). A longer text is cut at a word and ends with a link to the
//! rest, instead of being refused by the provider.

use domain::notify::Channel;

enum Limit {
    Utf16(usize),
    /// Bytes of the body once JSON-encoded.
    JsonBytes(usize),
    None,
}

const PUSH_PAYLOAD: usize = 4096;

fn limit(channel: Channel, title: &str) -> Limit {
    match channel {
        Channel::Sms => Limit::Utf16(1600),
        Channel::Whatsapp | Channel::Telegram => Limit::Utf16(4096),
        Channel::Push => {
            let frame = serde_json::json!({"title": title, "body": ""}).to_string().len();
            Limit::JsonBytes(PUSH_PAYLOAD.saturating_sub(frame))
        }
        Channel::Email => Limit::None,
    }
}

fn cost(limit: &Limit, c: char) -> usize {
    match limit {
        Limit::Utf16(_) => c.len_utf16(),
        Limit::JsonBytes(_) => match c {
            '"' | '\\' | '\n' | '\r' | '\t' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        },
        Limit::None => 0,
    }
}

/// `text` as `channel` can carry it; `more` is where the rest can be read.
pub fn fit(channel: Channel, title: &str, text: &str, more: &str) -> String {
    fit_with_footer(channel, title, text, more, "")
}

/// [`fit`], ending with `footer` whole (an unsubscribe link is never cut).
pub fn fit_with_footer(channel: Channel, title: &str, text: &str, more: &str, footer: &str) -> String {
    let limit = limit(channel, title);
    let total = |t: &str| t.chars().map(|c| cost(&limit, c)).sum::<usize>();
    let max = match limit {
        Limit::Utf16(n) | Limit::JsonBytes(n) => n.saturating_sub(total(footer)),
        Limit::None => return format!("{text}{footer}"),
    };
    if total(text) <= max {
        return format!("{text}{footer}");
    }
    // ASCII, so that an SMS stays in the GSM alphabet.
    let tail = format!("\n... more: {more}");
    let budget = max.saturating_sub(total(&tail));
    let mut used = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        used += cost(&limit, c);
        if used > budget {
            break;
        }
        end = i + c.len_utf8();
    }
    let cut = &text[..end];
    // At a word, unless that would throw away most of the text.
    let cut = match cut.rfind(char::is_whitespace) {
        Some(at) if at > end / 2 => &cut[..at],
        _ => cut,
    };
    format!("{}{tail}{footer}", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_footer_is_kept_whole_within_the_limit() {
        let footer = "\nUnsubscribe: https://app/v1/unsubscribe/abc";
        let long = "word ".repeat(2000);
        let out = fit_with_footer(Channel::Sms, "t", &long, "https://app/threads/1", footer);
        assert!(out.ends_with(footer) && out.contains("... more: https://app/threads/1"), "{out}");
        assert!(out.encode_utf16().count() <= 1600);
        assert_eq!(fit_with_footer(Channel::Sms, "t", "Hi", "x", footer), format!("Hi{footer}"));
        assert_eq!(fit_with_footer(Channel::Email, "t", &long, "x", footer), format!("{long}{footer}"));
    }

    #[test]
    fn a_short_text_is_left_as_it_is() {
        assert_eq!(fit(Channel::Sms, "t", "Plumber at 9", "https://app/threads/1"), "Plumber at 9");
        let long = "word ".repeat(2000);
        assert_eq!(fit(Channel::Email, "t", &long, "x"), long, "e-mail carries everything");
    }

    #[test]
    fn a_long_text_is_cut_at_a_word_within_the_limit_and_links_to_the_rest() {
        let long = "gâteau ".repeat(1000);
        for (channel, max) in [(Channel::Sms, 1600), (Channel::Whatsapp, 4096), (Channel::Telegram, 4096)] {
            let out = fit(channel, "t", &long, "https://app/threads/1");
            assert!(out.encode_utf16().count() <= max, "{channel:?}");
            assert!(out.encode_utf16().count() > max - 30, "{channel:?} uses what it can");
            assert!(out.ends_with("\n... more: https://app/threads/1"));
            assert!(out.trim_end_matches("\n... more: https://app/threads/1").ends_with("gâteau"));
        }
        // An emoji is two UTF-16 units.
        let emoji = fit(Channel::Sms, "t", &"🔧".repeat(1000), "l");
        assert!(emoji.encode_utf16().count() <= 1600);
    }

    #[test]
    fn a_push_payload_stays_within_4_kb_once_json_encoded() {
        let title = "Max — \"Leak\"";
        let text = "line \"quoted\"\n".repeat(500);
        let body = fit(Channel::Push, title, &text, "https://app/threads");
        let payload = serde_json::json!({"title": title, "body": body}).to_string();
        assert!(payload.len() <= 4096, "{} bytes", payload.len());
        assert!(payload.len() > 4000);
    }
}
