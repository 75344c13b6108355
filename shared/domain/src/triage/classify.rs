//! Phrase matching. The settings are compiled once: every phrase normalized into words and
//! indexed by its first word (or, for a one-word `leak*`, by its prefix), so classifying a
//! message normalizes it once and costs a few hash lookups per word, however many phrases an
//! org has.

use std::collections::HashMap;

use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};

use super::defaults as cues;
use super::{Classification, Detail, Escalation, Lang, Path, Phrases, TriageInput, TriageSettings};

/// At most this many phrases are given as reasons: enough to explain, short enough to read.
const MAX_REASONS: usize = 8;
/// A negation cue counts when it stands at most this many words before a phrase.
const NEGATION_WINDOW: usize = 3;
/// What is left of "n't" once the apostrophe separates words ("isn't" → "isn t").
const CONTRACTED_NOT: &str = "t";

// What a word of a message is, besides its letters (bits of `Word::flags`).
const NEGATION: u16 = 1;
/// "don", "isn": the "t" after them negates.
const NEGATION_AUX: u16 = 1 << 1;
/// "t", when it follows a `NEGATION_AUX`.
const NEGATION_TAIL: u16 = 1 << 2;
/// "plus": "no more" after "ne" or at the start of a clause, "more" otherwise.
const NEGATION_IF_NE: u16 = 1 << 3;
const NE: u16 = 1 << 4;
/// May stand between a negation and what it negates ("no sign of smoke").
const FILLER: u16 = 1 << 5;
const FRENCH: u16 = 1 << 6;
const ENGLISH: u16 = 1 << 7;
const UNIT: u16 = 1 << 8;

/// What a phrase decides when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Target {
    Path(Path),
    Escalation(Escalation),
    /// An emergency in the cold season only.
    Cold,
    /// One of the shipped cue lists, which orgs do not edit.
    Cue(Cue),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Cue {
    Damage,
    Photo,
    Entry,
    Urgency,
    /// Contains an escalation phrase without being one ("smoke detector", "fire drill").
    NotEscalation,
}

#[derive(Debug, Clone)]
struct Phrase {
    words: Box<[Box<str>]>,
    /// The last word also matches the words it begins.
    prefix: bool,
    target: Target,
    /// As the rules spell it, for `reasons`.
    text: Box<str>,
    /// Begins with its own negation ("no heat", "pas de chauffage"): words before it do not
    /// negate it again.
    negative: bool,
    /// The `cues::ORDINARY_IN_CONTEXT` groups its words belong to (bits).
    about: u16,
    /// The first phrase with the same target and words (the English and French lists often
    /// share one, "garage"): a path counts it once.
    key: usize,
}

/// The rules of an org, compiled for matching.
#[derive(Debug, Clone)]
pub struct Rules {
    phrases: Vec<Phrase>,
    /// Phrases by their first word, except the one-word prefix phrases.
    by_first: HashMap<Box<str>, Vec<usize>>,
    /// One-word prefix phrases by their prefix.
    by_prefix: HashMap<Box<str>, Vec<usize>>,
    /// The shortest and longest prefix, in bytes: a word's other prefixes are not looked up.
    prefix_len: (usize, usize),
    /// What the words the shipped cue lists name are.
    words: HashMap<Box<str>, WordCues>,
    /// Unit words, to find "apt12" written as one word.
    unit_words: Vec<Box<str>>,
}

/// Phrases by what they match, to find the first of identical ones.
type Keys = HashMap<(Target, Box<[Box<str>]>, bool), usize>;

/// One occurrence of a phrase: words `start..end` of the message.
#[derive(Debug, Clone, Copy)]
struct Hit {
    phrase: usize,
    start: usize,
    end: usize,
}

impl Hit {
    /// Within a longer occurrence.
    fn inside(&self, outer: &Hit) -> bool {
        outer.start <= self.start && self.end <= outer.end && outer.end - outer.start > self.end - self.start
    }
}

impl Rules {
    /// Everything a message is matched against, normalized and indexed once.
    pub fn compile(settings: &TriageSettings) -> Self {
        let mut words: HashMap<Box<str>, WordCues> = HashMap::new();
        let word_lists: [(&[&str], u16); 9] = [
            (cues::NEGATION_WORDS, NEGATION),
            (cues::NEGATION_AUXILIARIES, NEGATION_AUX),
            (&[CONTRACTED_NOT], NEGATION_TAIL),
            (cues::NEGATION_AFTER_NE, NEGATION_IF_NE),
            (cues::NE_WORDS, NE),
            (cues::NEGATION_FILLERS, FILLER),
            (cues::FRENCH_WORDS, FRENCH),
            (cues::ENGLISH_WORDS, ENGLISH),
            (cues::UNIT_WORDS, UNIT),
        ];
        for (list, flag) in word_lists {
            for word in list {
                words.entry(fold(word).into_boxed_str()).or_default().flags |= flag;
            }
        }
        for (group, (about, context)) in (0..u16::BITS).zip(cues::ORDINARY_IN_CONTEXT) {
            for word in *about {
                words.entry(fold(word).into_boxed_str()).or_default().about |= 1 << group;
            }
            for word in *context {
                words.entry(fold(word).into_boxed_str()).or_default().ordinary |= 1 << group;
            }
        }
        let mut rules = Self {
            phrases: Vec::new(),
            by_first: HashMap::new(),
            by_prefix: HashMap::new(),
            prefix_len: (usize::MAX, 0),
            unit_words: cues::UNIT_WORDS.iter().map(|w| fold(w).into_boxed_str()).collect(),
            words,
        };
        let mut keys = HashMap::new();
        for (path, list) in &settings.paths {
            rules.add_phrases(&mut keys, list, Target::Path(*path));
        }
        for (escalation, list) in &settings.escalations {
            rules.add_phrases(&mut keys, list, Target::Escalation(*escalation));
        }
        rules.add_phrases(&mut keys, &settings.cold_emergencies, Target::Cold);
        let shipped: [(&[&str], Cue); 5] = [
            (cues::DAMAGE, Cue::Damage),
            (cues::PHOTO, Cue::Photo),
            (cues::ENTRY, Cue::Entry),
            (cues::URGENCY, Cue::Urgency),
            (cues::NOT_ESCALATION, Cue::NotEscalation),
        ];
        for (list, cue) in shipped {
            for text in list {
                rules.add(&mut keys, text, Target::Cue(cue));
            }
        }
        rules
    }

    fn add_phrases(&mut self, keys: &mut Keys, phrases: &Phrases, target: Target) {
        for text in phrases.en.iter().chain(&phrases.fr) {
            self.add(keys, text, target);
        }
    }

    fn add(&mut self, keys: &mut Keys, text: &str, target: Target) {
        let text = text.trim();
        let body = text.trim_end_matches('*');
        let prefix = body.len() < text.len();
        let message = Message::new(body);
        let words: Box<[Box<str>]> = (0..message.len()).map(|i| message.word(i).into()).collect();
        let Some(first) = words.first().cloned() else { return };
        let cues = |w: &str| self.words.get(w).copied().unwrap_or_default();
        let negative = cues(&first).flags & (NEGATION | NEGATION_IF_NE) != 0;
        let about = words.iter().fold(0, |about, w| about | cues(w).about);
        let id = self.phrases.len();
        let key = *keys.entry((target, words.clone(), prefix)).or_insert(id);
        if prefix && words.len() == 1 {
            self.prefix_len = (self.prefix_len.0.min(first.len()), self.prefix_len.1.max(first.len()));
            self.by_prefix.entry(first).or_default().push(id);
        } else {
            self.by_first.entry(first).or_default().push(id);
        }
        self.phrases.push(Phrase { words, prefix, target, text: text.into(), negative, about, key });
    }

    /// The path with the highest score (a matched phrase weighs its number of words; ties go
    /// by `Path::ALL`; none: general), the first escalation of `Escalation::ALL` with a phrase
    /// that counts, the language with more cue words, and the detail to ask next. The detail
    /// is never asked of an escalated message; otherwise the first that applies of: `Unit`
    /// (maintenance, parking, access, move; none on file or in the text), then for maintenance
    /// only `Photo` (damage described, none attached or promised), `Entry` (neither permission
    /// nor a time at home), `Urgency` (neither "urgent" nor "no rush": staff may enter, but
    /// not yet knowing how soon to come).
    pub fn classify(&self, input: &TriageInput) -> Classification {
        let mut message = Message::new(input.text);
        for i in 0..message.len() {
            let cues = self.words.get(message.word(i)).copied().unwrap_or_default();
            (message.words[i].flags, message.words[i].ordinary) = (cues.flags, cues.ordinary);
        }
        let hits = self.find(&message);
        let target = |h: &Hit| self.phrases[h.phrase].target;

        let masks: Vec<&Hit> = hits.iter().filter(|h| target(h) == Target::Cue(Cue::NotEscalation)).collect();
        // An escalation phrase counts unless it is part of a longer harmless phrase, negated,
        // or in a clause that shows it ordinary (a smoker's smoke, a neighbour heard through the
        // ceiling).
        let counts = |h: &Hit| {
            let phrase = &self.phrases[h.phrase];
            let negatable = matches!(
                phrase.target,
                Target::Escalation(Escalation::Emergency | Escalation::Complaint)
                    | Target::Cold
                    | Target::Cue(Cue::Damage)
            );
            let harmless = masks.iter().any(|m| h.inside(m));
            let negated = negatable && !phrase.negative && negated(&message.words, h.start);
            let ordinary = phrase.target == Target::Escalation(Escalation::Emergency)
                && message.clause_makes_ordinary(h.start, phrase.about);
            !(harmless || negated || ordinary)
        };
        let escalates = |h: &Hit, e: Escalation| match target(h) {
            Target::Escalation(x) => x == e && counts(h),
            Target::Cold => e == Escalation::Emergency && input.cold && counts(h),
            _ => false,
        };
        let escalation = Escalation::ALL.into_iter().find(|e| hits.iter().any(|h| escalates(h, *e)));

        // A path phrase inside a longer one (of any path) gives way to it: "gas bill" is
        // billing, not the "gas" of maintenance.
        let path_hits: Vec<(Path, &Hit)> = hits
            .iter()
            .filter_map(|h| match target(h) {
                Target::Path(p) => Some((p, h)),
                _ => None,
            })
            .collect();
        let kept: Vec<(Path, &Hit)> =
            path_hits.iter().filter(|(_, h)| !path_hits.iter().any(|(_, o)| h.inside(o))).copied().collect();
        // A path counts a phrase once however often it occurs, and words once however many of
        // its phrases match them ("puce" and "puce*").
        let mut spans: Vec<(usize, usize, usize, usize)> =
            kept.iter().map(|(p, h)| (path_index(*p), h.start, h.end, self.phrases[h.phrase].key)).collect();
        spans.sort_unstable();
        spans.dedup_by_key(|(p, start, end, _)| (*p, *start, *end));
        spans.sort_unstable_by_key(|(p, _, _, key)| (*p, *key));
        spans.dedup_by_key(|(p, _, _, key)| (*p, *key));
        let mut scores = [0usize; Path::ALL.len()];
        for (path, _, _, key) in spans {
            // Longer phrases say more: a phrase weighs its number of words.
            scores[path] += self.phrases[key].words.len();
        }
        let path = Path::ALL
            .into_iter()
            .zip(scores)
            .fold((Path::General, 0), |best, (p, s)| if s > best.1 { (p, s) } else { best })
            .0;

        // Each phrase once, and once for all its spellings ("payé", "paye").
        let mut decided: Vec<&Phrase> = Vec::new();
        let escalation_hits = hits.iter().filter(|h| escalation.is_some_and(|e| escalates(h, e)));
        let path_reasons = kept.iter().filter(|(p, _)| *p == path).map(|(_, h)| *h);
        for h in escalation_hits.chain(path_reasons) {
            let phrase = &self.phrases[h.phrase];
            if decided.len() < MAX_REASONS && !decided.iter().any(|d| d.words == phrase.words) {
                decided.push(phrase);
            }
        }
        let reasons = decided.iter().map(|d| d.text.to_string()).collect();

        let cue = |c: Cue| hits.iter().any(|h| target(h) == Target::Cue(c) && counts(h));
        let missing = if escalation.is_some() {
            None
        } else if !input.unit_known
            && matches!(path, Path::Maintenance | Path::Parking | Path::Access | Path::Move)
            && !self.names_unit(&message)
        {
            Some(Detail::Unit)
        } else if path != Path::Maintenance {
            None
        } else if cue(Cue::Damage) && !input.has_attachment && !cue(Cue::Photo) {
            Some(Detail::Photo)
        } else if !cue(Cue::Entry) {
            Some(Detail::Entry)
        } else if !cue(Cue::Urgency) {
            Some(Detail::Urgency)
        } else {
            None
        };

        let count = |flag: u16| message.words.iter().filter(|w| w.flags & flag != 0).count();
        let lang = if count(FRENCH) > count(ENGLISH) { Lang::Fr } else { Lang::En };

        Classification { path, escalation, missing, reasons, lang }
    }

    /// Every phrase occurrence, in the order of the words they start at.
    fn find(&self, message: &Message) -> Vec<Hit> {
        let mut hits = Vec::new();
        let (min, max) = self.prefix_len;
        for start in 0..message.len() {
            let word = message.word(start);
            if let Some(ids) = self.by_first.get(word) {
                for &phrase in ids {
                    if self.matches_rest(phrase, message, start) {
                        hits.push(Hit { phrase, start, end: start + self.phrases[phrase].words.len() });
                    }
                }
            }
            let ends = word.char_indices().skip(1).map(|(k, _)| k).chain([word.len()]);
            for k in ends.skip_while(|k| *k < min).take_while(|k| *k <= max) {
                for &phrase in self.by_prefix.get(&word[..k]).into_iter().flatten() {
                    hits.push(Hit { phrase, start, end: start + 1 });
                }
            }
        }
        hits
    }

    /// The phrase's words after the first match the message's from `start + 1` on.
    fn matches_rest(&self, phrase: usize, message: &Message, start: usize) -> bool {
        let phrase = &self.phrases[phrase];
        let n = phrase.words.len();
        start + n <= message.len()
            && phrase.words.iter().enumerate().skip(1).all(|(k, expected)| {
                let word = message.word(start + k);
                if phrase.prefix && k + 1 == n {
                    word.starts_with(&**expected)
                } else {
                    word == &**expected
                }
            })
    }

    /// "unit 4", "apt 12", "app. 305", "#305", "logement 3", "appartement 2B", "suite1203".
    fn names_unit(&self, message: &Message) -> bool {
        let has_digit = |w: &str| w.bytes().any(|b| b.is_ascii_digit());
        (0..message.len()).any(|i| {
            let word = message.word(i);
            let w = &message.words[i];
            (w.after_hash && word.starts_with(|c: char| c.is_ascii_digit()))
                || (w.flags & UNIT != 0 && i + 1 < message.len() && has_digit(message.word(i + 1)))
                || (has_digit(word)
                    && self.unit_words.iter().any(|u| {
                        word.strip_prefix(&**u)
                            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
                    }))
        })
    }
}

/// A negation stands in the same clause, a few words before `start`, with only fillers
/// between ("no sign of smoke", "pas de fumée"); "can't stop the bleeding" is no negation.
fn negated(words: &[Word], start: usize) -> bool {
    let clause = words[start].clause;
    for k in (start.saturating_sub(NEGATION_WINDOW)..start).rev() {
        if words[k].clause != clause {
            return false;
        }
        if negates(words, k) {
            return true;
        }
        if words[k].flags & FILLER == 0 {
            return false;
        }
    }
    false
}

/// Word `k` is a negation where it stands.
fn negates(words: &[Word], k: usize) -> bool {
    let w = &words[k];
    let same_clause_before =
        |n: usize| words[k.saturating_sub(n)..k].iter().filter(move |b| b.clause == w.clause);
    if w.flags & NEGATION != 0 {
        true
    } else if w.flags & NEGATION_TAIL != 0 {
        same_clause_before(1).any(|b| b.flags & NEGATION_AUX != 0)
    } else if w.flags & NEGATION_IF_NE != 0 {
        same_clause_before(1).next().is_none()
            || same_clause_before(NEGATION_WINDOW).any(|b| b.flags & NE != 0)
    } else {
        false
    }
}

fn path_index(path: Path) -> usize {
    Path::ALL.iter().position(|p| *p == path).unwrap_or(Path::ALL.len() - 1)
}

/// What a word is to the shipped cue lists.
#[derive(Debug, Clone, Copy, Default)]
struct WordCues {
    flags: u16,
    about: u16,
    ordinary: u16,
}

/// A word of a message: `text[start..end]`, in the `clause`-th clause (punctuation ends one).
#[derive(Debug, Clone, Copy)]
struct Word {
    start: usize,
    end: usize,
    clause: usize,
    flags: u16,
    /// The `cues::ORDINARY_IN_CONTEXT` groups it makes ordinary (bits).
    ordinary: u16,
    /// Written right after a '#' ("#305").
    after_hash: bool,
}

impl Word {
    fn new(start: usize, end: usize, clause: usize, after_hash: bool) -> Self {
        Self { start, end, clause, flags: 0, ordinary: 0, after_hash }
    }
}

/// A text normalized into words: lower case, no accents, split at every character that is
/// not a letter or digit ("l'eau" → "l eau", "apt#4" → "apt 4").
struct Message {
    text: String,
    words: Vec<Word>,
}

impl Message {
    fn new(raw: &str) -> Self {
        let mut text = String::with_capacity(raw.len());
        let mut words = Vec::with_capacity(raw.len() / 4 + 1);
        let mut start: Option<usize> = None;
        let (mut clause, mut hash, mut word_hash) = (0, false, false);
        for c in raw.nfd() {
            if is_combining_mark(c) {
                continue;
            }
            if c.is_alphanumeric() {
                if start.is_none() {
                    start = Some(text.len());
                    word_hash = std::mem::take(&mut hash);
                }
                push_folded(&mut text, c);
                continue;
            }
            if let Some(s) = start.take() {
                words.push(Word::new(s, text.len(), clause, word_hash));
            }
            if c == '#' {
                hash = true;
            } else if !c.is_whitespace() {
                hash = false;
            }
            if ends_clause(c) {
                clause += 1;
            }
        }
        if let Some(s) = start {
            words.push(Word::new(s, text.len(), clause, word_hash));
        }
        Self { text, words }
    }

    fn len(&self) -> usize {
        self.words.len()
    }

    fn word(&self, i: usize) -> &str {
        &self.text[self.words[i].start..self.words[i].end]
    }

    fn clause_makes_ordinary(&self, i: usize, about: u16) -> bool {
        let clause = self.words[i].clause;
        about != 0 && self.words.iter().any(|w| w.clause == clause && w.ordinary & about != 0)
    }
}

fn push_folded(out: &mut String, c: char) {
    match c {
        'œ' | 'Œ' => out.push_str("oe"),
        'æ' | 'Æ' => out.push_str("ae"),
        'ß' => out.push_str("ss"),
        _ if c.is_ascii() => out.push(c.to_ascii_lowercase()),
        _ => out.extend(c.to_lowercase().filter(|l| !is_combining_mark(*l))),
    }
}

/// Punctuation that ends a clause, so a negation does not reach across it ("no, smoke!").
fn ends_clause(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | ';' | ':' | '!' | '?' | '(' | ')' | '[' | ']' | '\n' | '\r' | '…' | '–' | '—' | '¿' | '¡'
    )
}

/// A word as the cue lists are matched: lower case, no accents.
fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    word.nfd().filter(|c| !is_combining_mark(*c)).for_each(|c| push_folded(&mut out, c));
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn list(en: &[&str], fr: &[&str]) -> Phrases {
        Phrases {
            en: en.iter().map(|s| s.to_string()).collect(),
            fr: fr.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Small rules of our own, so each test shows the behaviour, not the shipped lists.
    fn rules() -> Rules {
        let settings = TriageSettings {
            paths: BTreeMap::from([
                (Path::Maintenance, list(&["leak*", "water heater", "sink", "heat"], &["fuite*", "évier"])),
                (Path::Billing, list(&["gas bill", "invoice"], &["facture"])),
                (Path::Access, list(&["fob", "locked out"], &["clé"])),
                (Path::Parking, list(&["parking"], &[])),
            ]),
            escalations: BTreeMap::from([
                (
                    Escalation::Emergency,
                    list(&["smell gas", "smoke", "water everywhere"], &["fumée", "odeur de gaz"]),
                ),
                (Escalation::Dispute, list(&["dispute"], &["conteste*"])),
                (Escalation::Legal, list(&["lawyer"], &[])),
                (Escalation::Complaint, list(&["unacceptable"], &[])),
            ]),
            cold_emergencies: list(&["no heat"], &["pas de chauffage"]),
            ..TriageSettings::default()
        };
        Rules::compile(&settings)
    }

    fn input(text: &str) -> TriageInput<'_> {
        TriageInput { text, unit_known: true, has_attachment: false, cold: true }
    }

    fn classify(text: &str) -> Classification {
        rules().classify(&input(text))
    }

    #[test]
    fn normalization_ignores_case_accents_and_punctuation() {
        let m = Message::new("L'ÉVIER fuit!! apt#4, Œuvre");
        let words: Vec<&str> = (0..m.len()).map(|i| m.word(i)).collect();
        assert_eq!(words, ["l", "evier", "fuit", "apt", "4", "oeuvre"]);
        assert_eq!(classify("L'ÉVIER!!!").path, Path::Maintenance);
        assert_eq!(classify("Odeur-de-GAZ.").escalation, Some(Escalation::Emergency));
        assert_eq!(classify("odeur de gaz").reasons, ["odeur de gaz"]);
        // Whole words only: "smoked" is not "smoke", "sinks" is not "sink".
        assert_eq!(classify("the salmon is smoked, sinks").escalation, None);
        assert_eq!(classify("the salmon is smoked, sinks").path, Path::General);
    }

    #[test]
    fn a_trailing_star_matches_words_that_begin_with_it() {
        for text in ["it leaks", "leaking tap", "a leaky pipe", "LEAK", "une fuite", "les fuites"] {
            assert_eq!(classify(text).path, Path::Maintenance, "{text}");
        }
        assert_eq!(classify("my flea is back").path, Path::General);
        assert_eq!(classify("je contesterai").escalation, Some(Escalation::Dispute));
    }

    #[test]
    fn a_negation_just_before_an_emergency_phrase_cancels_it() {
        for text in [
            "no smoke now, all fine",
            "there is no sign of smoke",
            "I don't smell gas anymore",
            "pas de fumée",
            "aucune odeur de gaz",
            "il n'y a plus de fumée",
            "plus d'odeur de gaz",
        ] {
            assert_eq!(classify(text).escalation, None, "{text}");
        }
        for text in [
            // Another clause, a verb between, or "plus" meaning more.
            "no, smoke is coming in",
            "not sure but there is smoke",
            "I can't breathe, smoke everywhere",
            "we can't stop the smoke",
            "de plus en plus de fumée",
            "water everywhere, no power",
        ] {
            assert_eq!(classify(text).escalation, Some(Escalation::Emergency), "{text}");
        }
        // A phrase that is a negation itself is not undone by the words before it.
        assert_eq!(classify("il n'y a pas de chauffage").escalation, Some(Escalation::Emergency));
        // Negation before, never after: "smoke, no fire" is still smoke.
        assert_eq!(classify("smoke, no fire").escalation, Some(Escalation::Emergency));
    }

    #[test]
    fn cold_emergencies_escalate_only_in_the_cold_season() {
        let r = rules();
        let warm = TriageInput { cold: false, ..input("no heat since yesterday") };
        let cold = input("no heat since yesterday");
        assert_eq!(r.classify(&warm).escalation, None);
        assert_eq!(r.classify(&warm).path, Path::Maintenance);
        assert_eq!(r.classify(&cold).escalation, Some(Escalation::Emergency));
        assert_eq!(r.classify(&cold).reasons, ["no heat", "heat"]);
        assert_eq!(r.classify(&cold).missing, None);
    }

    #[test]
    fn escalations_other_than_emergency_go_in_order() {
        assert_eq!(classify("my lawyer will dispute this invoice").escalation, Some(Escalation::Dispute));
        assert_eq!(classify("talk to my lawyer, unacceptable").escalation, Some(Escalation::Legal));
        assert_eq!(classify("this is unacceptable").escalation, Some(Escalation::Complaint));
        assert_eq!(classify("not unacceptable, just slow").escalation, None);
    }

    #[test]
    fn the_longest_path_phrase_wins_and_ties_go_by_path_order() {
        assert_eq!(classify("the gas bill").path, Path::Billing);
        assert_eq!(classify("water heater").reasons, ["water heater"]);
        // Parking comes before access in `Path::ALL`.
        assert_eq!(classify("fob for parking").path, Path::Parking);
        assert_eq!(classify("hello").path, Path::General);
    }

    #[test]
    fn missing_details_come_in_order_and_never_on_an_escalation() {
        let r = rules();
        let ask = |text: &str, unit_known: bool, has_attachment: bool| {
            r.classify(&TriageInput { text, unit_known, has_attachment, cold: true }).missing
        };
        assert_eq!(ask("my sink leaks", false, false), Some(Detail::Unit));
        for named in ["unit 4", "apt 12", "app. 305", "#305", "logement 3", "appartement 2B", "suite1203"] {
            assert_eq!(ask(&format!("my sink leaks, {named}"), false, false), Some(Detail::Photo), "{named}");
        }
        assert_eq!(ask("my sink leaks", true, false), Some(Detail::Photo));
        assert_eq!(ask("my sink leaks, photo attached", true, false), Some(Detail::Entry));
        assert_eq!(ask("my sink leaks", true, true), Some(Detail::Entry));
        assert_eq!(ask("no leak but the sink is slow", true, false), Some(Detail::Entry));
        assert_eq!(ask("sink is slow, you can enter", true, false), Some(Detail::Urgency));
        assert_eq!(ask("sink is slow, you can enter, no rush", true, false), None);
        assert_eq!(ask("locked out", false, false), Some(Detail::Unit));
        assert_eq!(ask("locked out", true, false), None);
        assert_eq!(ask("the gas bill", false, false), None);
        assert_eq!(ask("sink leaks and smoke", false, false), None);
        assert_eq!(ask("sink is unacceptable", false, false), None);
    }

    #[test]
    fn reasons_are_the_matched_phrases_as_written_escalation_first() {
        let c = classify("Smoke! the sink leaks, the sink LEAKS, water heater");
        assert_eq!(c.escalation, Some(Escalation::Emergency));
        assert_eq!(c.reasons, ["smoke", "sink", "leak*", "water heater"]);
        let many = "leak leaks leaking sink water heater ".repeat(5);
        assert!(classify(&many).reasons.len() <= MAX_REASONS);
    }

    #[test]
    fn language_is_the_one_with_more_cue_words() {
        assert_eq!(classify("Bonjour, je suis chez moi et l'évier fuit").lang, Lang::Fr);
        assert_eq!(classify("Hi, my sink is leaking, thanks").lang, Lang::En);
        assert_eq!(classify("évier").lang, Lang::En);
        assert_eq!(
            classify("Bonjour, my sink is leaking, est-ce que quelqu'un peut passer? Merci").lang,
            Lang::Fr
        );
    }

    #[test]
    fn harmless_phrases_hide_the_escalation_phrase_they_contain() {
        let r = Rules::compile(&TriageSettings::default());
        for text in [
            "the smoke detector beeps, battery low I think",
            "fire drill schedule?",
            "gas bill is high",
            "last month's flood repair invoice",
            "le feu est éteint depuis hier",
            "my neighbour smokes and the smoke comes in",
            "I can hear them stomping through the ceiling",
            "can you change the battery in my carbon monoxide detector, it chirps",
            "someone broke the washer again",
            "the heat kicked in finally",
            "is natural gas included in the rent?",
            "the portal is not responding",
            "there's a dead bug in the light fixture",
            "my son got hurt feelings lol",
            "not an emergency, the tap drips",
            "pas urgent, le robinet coule",
        ] {
            assert_eq!(r.classify(&input(text)).escalation, None, "{text}");
        }
        for text in [
            "smoke detector going off and smoke in the hallway",
            "feu dans la cuisine",
            "water coming through the ceiling",
            "they are loud, and water is leaking through the ceiling",
            "carbon monoxide alarm going off",
            "he's not responding, called 911",
        ] {
            assert_eq!(r.classify(&input(text)).escalation, Some(Escalation::Emergency), "{text}");
        }
    }

    #[test]
    fn any_text_classifies_without_panicking() {
        let r = Rules::compile(&TriageSettings::default());
        for text in
            ["", " ", "#", "##1", "*", "İ̇stanbul", "\u{0301}", "t", "plus", "n't", "a\u{0}b", "😀 fire 😀"]
        {
            let _ = r.classify(&input(text));
            let _ = r.classify(&TriageInput { text, ..TriageInput::default() });
        }
    }
}
