//! `audit-verify export.json`: checks a thread export offline, with no account and no
//! network, exactly as `POST /v1/audit/verify` checks it on its own (`domain::audit`),
//! including the signature of its checkpoint. Prints the chain's head and the checkpoint's
//! key fingerprint, to compare with the org's published one; exits 0 when the
//! export is intact, 1 when it is not (naming the first entry that does not match), 2 when
//! it cannot be read.

use std::process::ExitCode;

use domain::audit::{verify_export, Export};

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: audit-verify <export.json>   (use - to read standard input)");
        return ExitCode::from(2);
    };
    let text = match path.as_str() {
        "-" => std::io::read_to_string(std::io::stdin()),
        _ => std::fs::read_to_string(&path),
    };
    let export: Export = match text
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(export) => export,
        Err(e) => {
            eprintln!("{path}: not a readable export: {e}");
            return ExitCode::from(2);
        }
    };
    let verdict = verify_export(&export);
    if verdict.valid {
        match &export.head {
            Some(head) => println!("valid: {} entries, head #{} {}", export.chain.len(), head.seq, head.hash),
            None => println!("valid: no entries"),
        }
        match &export.checkpoint {
            Some(c) => println!(
                "checkpoint: entry #{} sealed {} by key {} (public key SHA-256 {}), kept at {}",
                c.seal.seq,
                c.seal.sealed_at.to_rfc3339(),
                c.key_id,
                c.key_fingerprint(),
                c.object_key
            ),
            None => println!("checkpoint: none yet (the chain is checked on its own)"),
        }
        return ExitCode::SUCCESS;
    }
    let reason = verdict.reason.unwrap_or_default();
    match verdict.first_bad_seq {
        Some(seq) => println!("invalid: entry #{seq}: {reason}"),
        None => println!("invalid: {reason}"),
    }
    ExitCode::from(1)
}
