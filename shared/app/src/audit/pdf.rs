//! The PDF transcript of an export, fit to hand to a tribunal: the thread, its people, each
//! message and event with author, time and chain entry, then the chain's head and how to
//! verify. Plain A4 pages in Helvetica (WinAnsi: French accents print; other characters
//! show as `?`), text uncompressed so it can be searched.

use chrono::{DateTime, Utc};
use domain::audit::{Action, Export, ExportEvent, ExportItem, ExportMessage};
use domain::thread::EventKind;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use serde::Serialize;

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;
const SIZE: f32 = 10.0;
const LEADING: f32 = 13.0;
/// Characters per line at 10 pt Helvetica across the text width.
const WRAP: usize = 92;
const REGULAR: Name = Name(b"F1");
const BOLD: Name = Name(b"F2");

struct Line {
    text: String,
    bold: bool,
}

/// The export as a PDF document.
pub fn render(export: &Export) -> Vec<u8> {
    let lines = lines(export);
    let per_page = ((HEIGHT - 2.0 * MARGIN) / LEADING) as usize;
    let pages: Vec<&[Line]> = lines.chunks(per_page).collect();
    let mut pdf = Pdf::new();
    let (catalog, tree, regular, bold) = (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4));
    let page_ids: Vec<Ref> = (0..pages.len()).map(|i| Ref::new(5 + 2 * i as i32)).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(page_ids.iter().copied()).count(pages.len() as i32);
    pdf.type1_font(regular).base_font(Name(b"Helvetica")).encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold).base_font(Name(b"Helvetica-Bold")).encoding_predefined(Name(b"WinAnsiEncoding"));
    for (i, page_lines) in pages.iter().enumerate() {
        let (page_id, content_id) = (page_ids[i], Ref::new(6 + 2 * i as i32));
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT)).parent(tree).contents(content_id);
        page.resources().fonts().pair(REGULAR, regular).pair(BOLD, bold);
        page.finish();
        let mut content = Content::new();
        content.begin_text().set_leading(LEADING).next_line(MARGIN, HEIGHT - MARGIN);
        for line in *page_lines {
            content.set_font(if line.bold { BOLD } else { REGULAR }, SIZE);
            content.show(Str(&win_ansi(&line.text))).next_line_using_leading();
        }
        content.set_font(REGULAR, 8.0).next_line(0.0, -LEADING);
        content.show(Str(&win_ansi(&format!("Page {} of {}", i + 1, pages.len()))));
        content.end_text();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

fn lines(export: &Export) -> Vec<Line> {
    let mut out = Vec::new();
    let mut say = |text: String, bold: bool| {
        for line in wrap(&text) {
            out.push(Line { text: line, bold });
        }
    };
    let t = &export.thread;
    say(format!("Conversation record: {}", t.subject), true);
    say(format!("Organization {}, thread {}", export.org_id, t.id), false);
    say(format!("Topic {}, category {}", t.topic, t.category_id), false);
    say(
        format!(
            "Property {}, unit {}; resident {} ({})",
            t.property_id.as_deref().unwrap_or("-"),
            t.unit.as_deref().unwrap_or("-"),
            t.resident_name,
            t.resident_id
        ),
        false,
    );
    let link = t.linked_record.as_ref().map_or("none".to_owned(), |l| format!("{} {}", l.kind, l.id));
    say(format!("Status {}, priority {}, linked record {link}", word(&t.status), word(&t.priority)), false);
    say(format!("Started {} by {}", time(&t.created_at), t.created_by), false);
    let people: Vec<String> = export
        .participants
        .iter()
        .map(|p| format!("{} ({}, {})", p.name, p.user_id, word(&p.role)))
        .collect();
    say(format!("Participants: {}", people.join("; ")), false);
    let notes = if export.include_internal { "included" } else { "withheld" };
    say(
        format!("Exported {} by {}; internal notes {notes}.", time(&export.exported_at), export.exported_by),
        false,
    );
    say(String::new(), false);
    say("Transcript".into(), true);
    // The timeline is in chain order, one item per entry that has data.
    let mut items = export.timeline.iter();
    for entry in &export.chain {
        let tag = format!("#{} {}", entry.seq, &entry.hash[..12.min(entry.hash.len())]);
        match entry.action {
            Action::THREAD_OPENED => {
                say(format!("{tag}  {}  thread started by {}", time(&entry.at), entry.actor_id), false)
            }
            Action::NOTE_POSTED if entry.data.is_none() => {
                say(format!("{tag}  {}  internal note withheld", time(&entry.at)), false)
            }
            _ => match items.next() {
                Some(ExportItem::Message(m)) => message(&mut say, &tag, m),
                Some(ExportItem::Event(e)) => say(format!("{tag}  {}  {}", time(&e.at), describe(e)), false),
                None => say(format!("{tag}  {}  (missing from this export)", time(&entry.at)), false),
            },
        }
    }
    say(String::new(), false);
    say("Audit chain".into(), true);
    match &export.head {
        Some(head) => say(format!("{} entries; head #{} {}", export.chain.len(), head.seq, head.hash), false),
        None => say("No entries.".into(), false),
    }
    say(export.verification.clone(), false);
    out
}

fn message(say: &mut impl FnMut(String, bool), tag: &str, m: &ExportMessage) {
    let mut heading = format!("{tag}  {}  {} ({})", time(&m.created_at), m.author_name, m.author_id);
    if m.internal {
        heading.push_str(", internal note");
    }
    if m.automated {
        heading.push_str(", automated");
    }
    say(heading, true);
    for paragraph in m.body.lines() {
        say(format!("    {paragraph}"), false);
    }
    for a in &m.attachments {
        say(
            format!("    Attachment: {} ({}, {} bytes)", a.file_name, word(&a.content_type), a.size_bytes),
            false,
        );
        if let Some(sha256) = &a.sha256 {
            say(format!("      SHA-256 {sha256}"), false);
        }
    }
}

fn describe(e: &ExportEvent) -> String {
    let who = &e.actor_id;
    let subject = e.subject_id.as_ref().map_or("someone".to_owned(), |s| s.to_string());
    match e.action {
        Action::Event(EventKind::StatusChanged) => {
            format!("{who} changed the status to {}", e.status.as_ref().map_or("?".into(), word))
        }
        Action::Event(EventKind::PriorityChanged) => {
            format!("{who} changed the priority to {}", e.priority.as_ref().map_or("?".into(), word))
        }
        Action::Event(EventKind::LinkedRecordChanged) => match &e.linked_record {
            Some(l) => format!("{who} linked {} {}", l.kind, l.id),
            None => format!("{who} changed the linked record"),
        },
        Action::Event(EventKind::ParticipantJoined) => format!("{subject} joined (added by {who})"),
        Action::Event(EventKind::ParticipantLeft) => format!("{subject} left (removed by {who})"),
        Action::Event(EventKind::Escalated) => "triage escalated the thread".into(),
        Action::Event(EventKind::Acknowledged) => format!("{who} acknowledged the escalation"),
        Action::Event(EventKind::TriageCorrected) => format!("{who} corrected triage"),
        Action::Thread(_) => format!("{who}"),
    }
}

/// A unit enum's wire name (`resolved`, `urgent`).
fn word(value: &impl Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn time(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `text` cut into lines of at most [`WRAP`] characters, at spaces where it can.
fn wrap(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current: Vec<char> = Vec::new();
    for word in text.split(' ') {
        let word: Vec<char> = word.chars().collect();
        if !current.is_empty() && current.len() + 1 + word.len() > WRAP {
            lines.push(current.drain(..).collect());
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.extend(word);
        // A word longer than a line is cut.
        while current.len() > WRAP {
            lines.push(current.drain(..WRAP).collect());
        }
    }
    lines.push(current.into_iter().collect());
    lines
}

/// `text` in WinAnsiEncoding: Latin-1 as is, the typographic marks WinAnsi adds, `?` for
/// the rest (and for control characters).
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' | '\u{a0}'..='\u{ff}' => c as u8,
            '€' => 0x80,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '–' => 0x96,
            '—' => 0x97,
            'Œ' => 0x8c,
            'œ' => 0x9c,
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_wraps_within_the_width() {
        let text = format!("{} {}", "word ".repeat(40), "x".repeat(200));
        let lines = wrap(&text);
        assert!(lines.iter().all(|l| l.chars().count() <= WRAP), "{lines:?}");
        assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
    }

    #[test]
    fn french_prints_and_the_rest_is_marked() {
        assert_eq!(win_ansi("Fuite à l’évier"), b"Fuite \xe0 l\x92\xe9vier".to_vec());
        assert_eq!(win_ansi("漏水\u{7}"), b"???".to_vec());
    }
}
