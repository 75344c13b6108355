//! Attachments: the file types we accept, how a type is recognised from a file's first
//! bytes (never trusting the name or the declared type alone), and safe file names.

use serde::{Deserialize, Serialize};

use crate::{DomainError, ErrorCode};

/// At most this many attachments on one message.
pub const MAX_PER_MESSAGE: usize = 3;
/// Bytes to read from the start of a file to recognise its type.
pub const SNIFF_BYTES: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = AttachmentType)]
pub enum ContentType {
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/heic")]
    Heic,
    #[serde(rename = "image/webp")]
    Webp,
    #[serde(rename = "application/pdf")]
    Pdf,
}

impl ContentType {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        Ok(match raw.trim().to_ascii_lowercase().as_str() {
            "image/jpeg" | "image/jpg" => Self::Jpeg,
            "image/png" => Self::Png,
            "image/heic" | "image/heif" => Self::Heic,
            "image/webp" => Self::Webp,
            "application/pdf" => Self::Pdf,
            _ => {
                return Err(DomainError::invalid(
                    ErrorCode::UnsupportedType,
                    "attachments are JPEG, PNG, HEIC or WebP photos, or PDF documents",
                ))
            }
        })
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Heic => "image/heic",
            Self::Webp => "image/webp",
            Self::Pdf => "application/pdf",
        }
    }

    /// The type a file's first bytes show, if it is one we accept.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(Self::Png)
        } else if head.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else if head.len() >= 12
            && &head[4..8] == b"ftyp"
            && matches!(&head[8..12], b"heic" | b"heix" | b"hevc" | b"heim" | b"heis" | b"mif1" | b"msf1")
        {
            Some(Self::Heic)
        } else {
            None
        }
    }
}

/// Checks a declared size against the limit: 413 territory when too large.
pub fn check_size(size_bytes: i64, max_bytes: u64) -> Result<u64, DomainError> {
    match u64::try_from(size_bytes) {
        Ok(0) | Err(_) => {
            Err(DomainError::invalid(ErrorCode::InvalidSize, "size_bytes must be a positive number of bytes"))
        }
        Ok(n) if n > max_bytes => Err(DomainError::invalid(
            ErrorCode::TooLarge,
            format!("attachments are at most {max_bytes} bytes"),
        )),
        Ok(n) => Ok(n),
    }
}

/// A file name safe to show and to put in a Content-Disposition header: no path, no
/// control or quoting characters, at most 120 characters, never empty.
pub fn sanitize_file_name(raw: &str) -> Result<String, DomainError> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    // Refused, not stripped: the name ends up in a Content-Disposition header.
    crate::text::ensure_one_line(base, "file_name")?;
    let cleaned: String = base
        .chars()
        .filter(|c| !matches!(c, '"' | '\'' | '<' | '>' | ':' | '*' | '?' | '|' | ';'))
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .chars()
        .take(120)
        .collect();
    if cleaned.is_empty() {
        return Err(DomainError::invalid(ErrorCode::InvalidFileName, "file_name must contain a usable name"));
    }
    Ok(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_recognised_from_their_first_bytes() {
        assert_eq!(ContentType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some(ContentType::Jpeg));
        assert_eq!(ContentType::sniff(b"\x89PNG\r\n\x1a\n...."), Some(ContentType::Png));
        assert_eq!(ContentType::sniff(b"%PDF-1.7\n"), Some(ContentType::Pdf));
        assert_eq!(ContentType::sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some(ContentType::Webp));
        assert_eq!(ContentType::sniff(b"\0\0\0\x18ftypheic\0\0"), Some(ContentType::Heic));
        assert_eq!(ContentType::sniff(b"MZ\x90\0\x03\0\0\0"), None, "a Windows executable is no image");
        assert_eq!(ContentType::sniff(b""), None);
    }

    #[test]
    fn only_photos_and_pdfs_are_accepted() {
        assert_eq!(ContentType::parse("IMAGE/JPEG").unwrap(), ContentType::Jpeg);
        assert!(ContentType::parse("application/x-msdownload").is_err());
        assert!(ContentType::parse("image/svg+xml").is_err(), "SVG can carry scripts");
    }

    #[test]
    fn sizes_must_be_positive_and_within_the_limit() {
        assert_eq!(check_size(10, 100).unwrap(), 10);
        assert!(matches!(check_size(101, 100), Err(DomainError::Invalid { code: ErrorCode::TooLarge, .. })));
        assert!(check_size(0, 100).is_err());
        assert!(check_size(-5, 100).is_err());
    }

    #[test]
    fn file_names_lose_paths_and_dangerous_characters() {
        assert_eq!(sanitize_file_name("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(sanitize_file_name("C:\\Users\\me\\leak \"photo\".jpg").unwrap(), "leak photo.jpg");
        assert_eq!(sanitize_file_name(".hidden").unwrap(), "hidden");
        assert!(sanitize_file_name("///").is_err());
        assert_eq!(sanitize_file_name(&"a".repeat(300)).unwrap().len(), 120);
    }

    #[test]
    fn file_names_with_line_breaks_or_control_characters_are_refused() {
        for bad in ["photo\r\n.jpg", "a\nb.pdf", "nul\0.png", "tab\t.png"] {
            assert!(
                matches!(
                    sanitize_file_name(bad),
                    Err(DomainError::Invalid { code: ErrorCode::InvalidCharacters, .. })
                ),
                "{bad:?} was accepted"
            );
        }
    }
}
