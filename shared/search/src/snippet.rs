//! The part of a message shown with a hit: a window of the live text around the first word
//! that matches, on one line.

use crate::query::query_words;
use crate::schema::words;

/// At most this many characters, plus the ellipses.
const WINDOW: usize = 160;
/// Characters shown before the match.
const BEFORE: usize = 50;

/// The snippet of `body` for the query `text`: around its first matching word, or its
/// start when the match was elsewhere (the subject, the resident's name).
pub fn snippet(body: &str, text: Option<&str>) -> String {
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let matched = text.and_then(|text| {
        let (exact, prefix) = query_words(text);
        words(&flat).into_iter().find_map(|(word, range)| {
            let hit = exact.contains(&word) || prefix.as_ref().is_some_and(|p| word.starts_with(p.as_str()));
            hit.then_some(range.start)
        })
    });
    let chars: Vec<(usize, char)> = flat.char_indices().collect();
    let at = matched.map_or(0, |byte| chars.iter().position(|(i, _)| *i == byte).unwrap_or(0));
    let mut start = at.saturating_sub(BEFORE);
    // Start on a word: back to the space before, unless that is the text's start.
    while start > 0 && start < at && !chars[start - 1].1.is_whitespace() {
        start += 1;
    }
    let end = (start + WINDOW).min(chars.len());
    let piece: String = chars[start..end].iter().map(|(_, c)| c).collect();
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.push_str(piece.trim());
    if end < chars.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_around_the_first_match_and_marks_what_it_cut() {
        let body = format!("{} la fuite sous l'évier {}", "mot ".repeat(40), "fin ".repeat(60));
        let s = snippet(&body, Some("EVIER"));
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("l'évier"), "{s}");
        assert!(s.chars().count() <= WINDOW + 2);
    }

    #[test]
    fn a_short_body_is_shown_whole_on_one_line() {
        assert_eq!(snippet("Bonjour,\n\nla porte  grince.", Some("porte")), "Bonjour, la porte grince.");
        assert_eq!(snippet("Bonjour", Some("absent")), "Bonjour");
        assert_eq!(snippet("Bonjour", None), "Bonjour");
    }

    #[test]
    fn a_prefix_matches_the_start_of_a_word() {
        let body = format!("{}chauffage en panne", "x ".repeat(100));
        assert!(snippet(&body, Some("chauf")).contains("chauffage"));
    }
}
