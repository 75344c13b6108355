//! What the SMS provider sends us: a resident's reply. Its webhook is signed the Twilio way
//! (`X-Twilio-Signature`: base64 HMAC-SHA1, keyed with the account's auth token, of the URL it
//! posted to followed by each form parameter's name and value, sorted by name), so a forged
//! one is told apart before anything is read.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// The words that withdraw consent by SMS (CTIA's, and the French ones CASL's Quebec
/// residents use), matched on the whole trimmed message, ignoring case and accents.
const STOP_WORDS: [&str; 8] =
    ["stop", "stopall", "unsubscribe", "cancel", "end", "quit", "arret", "desabonner"];

fn mac(token: &str, url: &str, params: &[(String, String)]) -> Hmac<Sha1> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = Hmac::<Sha1>::new_from_slice(token.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// The signature the provider sends with a webhook to `url` carrying `params`.
pub fn signature(token: &str, url: &str, params: &[(String, String)]) -> String {
    STANDARD.encode(mac(token, url, params).finalize().into_bytes())
}

/// Whether `given` is the signature of this webhook (compared in constant time); nothing
/// verifies without a token.
pub fn verify(token: &str, url: &str, params: &[(String, String)], given: &str) -> bool {
    let Ok(given) = STANDARD.decode(given.trim()) else { return false };
    !token.is_empty() && mac(token, url, params).verify_slice(&given).is_ok()
}

/// Whether a reply asks to stop.
pub fn is_stop(body: &str) -> bool {
    let word: String = body
        .trim()
        .trim_end_matches(['.', '!'])
        .chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' | 'É' | 'È' | 'Ê' => 'e',
            'à' | 'â' | 'À' | 'Â' => 'a',
            c => c.to_ascii_lowercase(),
        })
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    STOP_WORDS.contains(&word.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(body: &str) -> Vec<(String, String)> {
        vec![
            ("From".into(), "+15145550123".into()),
            ("Body".into(), body.into()),
            ("To".into(), "+15145559999".into()),
        ]
    }

    #[test]
    fn a_webhook_is_accepted_only_with_the_signature_of_its_url_and_parameters() {
        let url = "https://api.example.com/v1/webhooks/sms";
        let sig = signature("token", url, &params("STOP"));
        assert!(verify("token", url, &params("STOP"), &sig));
        assert!(!verify("other", url, &params("STOP"), &sig), "another account's token");
        assert!(!verify("token", url, &params("START"), &sig), "another body");
        assert!(!verify("token", "https://evil.example.com/v1/webhooks/sms", &params("STOP"), &sig));
        assert!(!verify("token", url, &params("STOP"), "not base64!"));
        assert!(
            !verify("", url, &params("STOP"), &signature("", url, &params("STOP"))),
            "no token: nothing verifies"
        );
    }

    #[test]
    fn the_stop_words_are_recognized_whole_in_english_and_french() {
        for body in ["STOP", " stop ", "Stop.", "UNSUBSCRIBE", "Arrêt", "ARRET", "désabonner", "Quit!"] {
            assert!(is_stop(body), "{body}");
        }
        for body in ["Please don't stop the repairs", "stopped", "START", ""] {
            assert!(!is_stop(body), "{body}");
        }
    }
}
