//! The one error type of the domain, and the codes every error answer carries. Each
//! variant maps to exactly one HTTP status in the api crate.

/// Declares the codes once: each variant with the stable snake_case string clients see.
macro_rules! error_codes {
    ($($variant:ident => $code:literal,)*) => {
        /// The `code` of an error answer: stable, snake_case, what a client branches on.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            pub const ALL: &[Self] = &[$(Self::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)*
                }
            }
        }
    };
}

error_codes! {
    AccountArchived => "account_archived",
    AccountLocked => "account_locked",
    AdminOnly => "admin_only",
    AlreadyActive => "already_active",
    AlreadyArchived => "already_archived",
    AlreadyParticipant => "already_participant",
    AlreadySent => "already_sent",
    AttachmentNotUploaded => "attachment_not_uploaded",
    AttachmentRejected => "attachment_rejected",
    AttachmentUnavailable => "attachment_unavailable",
    BodyOrTemplate => "body_or_template",
    CannotArchiveSelf => "cannot_archive_self",
    CannotChangeOwnEmail => "cannot_change_own_email",
    CannotLockSelf => "cannot_lock_self",
    CannotRemoveResident => "cannot_remove_resident",
    ConcurrentUpdate => "concurrent_update",
    ConsentFixed => "consent_fixed",
    ConsentNotNeeded => "consent_not_needed",
    ConversationsClosed => "conversations_closed",
    ContactArchived => "contact_archived",
    DuplicateAttachment => "duplicate_attachment",
    DuplicateChannel => "duplicate_channel",
    EmailInUse => "email_in_use",
    EmailRequired => "email_required",
    EmptyField => "empty_field",
    EmptyPatch => "empty_patch",
    EvidenceRequired => "evidence_required",
    ForbiddenAddress => "forbidden_address",
    DeliveryPending => "delivery_pending",
    IdempotencyKeyReused => "idempotency_key_reused",
    Internal => "internal",
    InvalidAddress => "invalid_address",
    InvalidArchivePeriod => "invalid_archive_period",
    InvalidBusinessHours => "invalid_business_hours",
    InvalidChannels => "invalid_channels",
    InvalidCategory => "invalid_category",
    InvalidCharacters => "invalid_characters",
    InvalidCursor => "invalid_cursor",
    InvalidEvents => "invalid_events",
    InvalidFileName => "invalid_file_name",
    InvalidFolder => "invalid_folder",
    InvalidIdempotencyKey => "invalid_idempotency_key",
    InvalidKind => "invalid_kind",
    InvalidLimit => "invalid_limit",
    InvalidLinkedRecord => "invalid_linked_record",
    InvalidMessageId => "invalid_message_id",
    InvalidOrgId => "invalid_org_id",
    InvalidPriority => "invalid_priority",
    InvalidQuery => "invalid_query",
    InvalidQuotas => "invalid_quotas",
    InvalidRequest => "invalid_request",
    InvalidRetention => "invalid_retention",
    InvalidRole => "invalid_role",
    InvalidRouting => "invalid_routing",
    InvalidSendAt => "invalid_send_at",
    InvalidSignature => "invalid_signature",
    InvalidSize => "invalid_size",
    InvalidStatus => "invalid_status",
    InvalidTopic => "invalid_topic",
    InvalidTransition => "invalid_transition",
    InvalidTriage => "invalid_triage",
    InvalidUrl => "invalid_url",
    InvalidUserId => "invalid_user_id",
    InviteInvalid => "invite_invalid",
    MalformedJson => "malformed_json",
    MethodNotAllowed => "method_not_allowed",
    NotAResident => "not_a_resident",
    NotAddable => "not_addable",
    NotAllowed => "not_allowed",
    NotTriaged => "not_triaged",
    NoConsent => "no_consent",
    NotArchived => "not_archived",
    NotFound => "not_found",
    NotLocked => "not_locked",
    NotScheduled => "not_scheduled",
    OutstandingItems => "outstanding_items",
    PayloadTooLarge => "payload_too_large",
    PropertyRequired => "property_required",
    RateLimited => "rate_limited",
    ReasonRequired => "reason_required",
    ResidentArchived => "resident_archived",
    ResidentRequired => "resident_required",
    ScopeFixed => "scope_fixed",
    StaffOnly => "staff_only",
    TooLarge => "too_large",
    TooManyCampaigns => "too_many_campaigns",
    TooManyCategories => "too_many_categories",
    TopicTaken => "topic_taken",
    ThreadMovedOn => "thread_moved_on",
    TooLong => "too_long",
    TooManyTemplates => "too_many_templates",
    TooManyWebhooks => "too_many_webhooks",
    TooManyScheduled => "too_many_scheduled",
    TooManyAttachments => "too_many_attachments",
    TooManyChannels => "too_many_channels",
    TooManyParticipants => "too_many_participants",
    Unauthorized => "unauthorized",
    Unavailable => "unavailable",
    UnitRequired => "unit_required",
    UnknownCategory => "unknown_category",
    UnknownAttachment => "unknown_attachment",
    UnknownPlaceholder => "unknown_placeholder",
    UnknownResident => "unknown_resident",
    UnknownStaff => "unknown_staff",
    UnknownTemplate => "unknown_template",
    UnknownTopic => "unknown_topic",
    UnknownUser => "unknown_user",
    UnsupportedType => "unsupported_type",
    WeakPassword => "weak_password",
    WebhookDisabled => "webhook_disabled",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What went wrong, in terms a caller can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Well-formed input with a value the rules refuse (HTTP 422).
    #[error("{message}")]
    Invalid { code: ErrorCode, message: String },
    /// Absent, or not visible to the caller: the two are indistinguishable on purpose (HTTP 404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller is known but may not do this (HTTP 403).
    #[error("{message}")]
    Forbidden { code: ErrorCode, message: String },
    /// The object's current state does not allow it (HTTP 409).
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
}

impl DomainError {
    pub fn invalid(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Invalid { code, message: message.into() }
    }
    pub fn forbidden(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Forbidden { code, message: message.into() }
    }
    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Conflict { code, message: message.into() }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Invalid { code, .. } | Self::Forbidden { code, .. } | Self::Conflict { code, .. } => *code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_snake_case_words() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(!s.is_empty() && !s.starts_with('_') && !s.ends_with('_') && !s.contains("__"), "{s}");
            assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{s}");
        }
        assert_eq!(ErrorCode::StaffOnly.as_str(), "staff_only", "the contract's name (API.md)");
        assert_eq!(ErrorCode::RateLimited.to_string(), "rate_limited");
    }
}
