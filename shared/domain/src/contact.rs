//! Contacts: residents, owners, staff and vendors of an organization, as admins create and
//! search them; locking with a documented reason; names normalised for search.

use serde::Deserialize;
use unicode_normalization::UnicodeNormalization;

use crate::notify::{Channel, ChannelAddress};
use crate::text::single_line;
pub use crate::user::{ContactKind, Lock};
use crate::{AccountState, DomainError, ErrorCode, OrgId, Role, User, UserId};

/// A lock reason: required, 1 to 500 characters.
pub fn lock_reason(raw: Option<&str>) -> Result<String, DomainError> {
    let reason = raw.map(str::trim).unwrap_or("");
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(DomainError::invalid(
            ErrorCode::ReasonRequired,
            "a lock needs a documented reason of 1 to 500 characters",
        ));
    }
    Ok(reason.to_owned())
}

/// A new contact, as an admin describes it. Optional fields may be null, the same as
/// leaving them out. name, property_id and unit are one line each (422
/// invalid_characters); property_id and unit may not contain '#'.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    pub kind: ContactKind,
    #[schema(min_length = 1, max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029]*$")]
    pub name: String,
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    #[schema(max_length = 64, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029#]*$")]
    pub property_id: Option<String>,
    #[schema(max_length = 20, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029#]*$")]
    pub unit: Option<String>,
    /// Staff only: `staff` (default) or `facility_admin`.
    #[schema(pattern = "^(staff|facility_admin)$")]
    pub role: Option<String>,
    /// Staff only: the properties they work for, besides `property_id` (at most 20): where
    /// they dispatch the categories naming them.
    #[schema(max_items = 20)]
    pub property_ids: Option<Vec<String>>,
}

/// An optional one-line field of a contact: 1 to `max` characters, no line break or
/// control character (see [`single_line`]).
fn short(field: &str, value: Option<String>, max: usize) -> Result<Option<String>, DomainError> {
    value.map(|v| single_line(&v, max, field)).transpose()
}

/// A property id or unit: also a part of the contact index keys, where `#` separates the
/// parts, so it may not contain one (`1#2` in property `p` would read as unit `2` of `p#1`).
pub(crate) fn key_part(
    field: &str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, DomainError> {
    let value = short(field, value, max)?;
    if value.as_deref().is_some_and(|v| v.contains('#')) {
        return Err(DomainError::invalid(
            ErrorCode::InvalidCharacters,
            format!("{field} must not contain '#'"),
        ));
    }
    Ok(value)
}

/// The properties staff work for: for staff and facility admins only (anyone else 422), at
/// most 20, each a property id, each once.
fn staff_properties(role: Role, ids: Option<Vec<String>>) -> Result<Option<Vec<String>>, DomainError> {
    const MAX: usize = 20;
    let Some(ids) = ids else { return Ok(None) };
    if !role.is_staff() {
        let message = "property_ids are the properties staff work for: only staff have them";
        return Err(DomainError::invalid(ErrorCode::InvalidRequest, message));
    }
    if ids.len() > MAX {
        return Err(DomainError::invalid(ErrorCode::InvalidRequest, format!("at most {MAX} property_ids")));
    }
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        let id = key_part("property_ids", Some(id), 64)?.unwrap_or_default();
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(Some(out))
}

/// Checks an e-mail address and a phone number with the same rules as notification
/// channels.
/// The mailbox an e-mail address names, as sign-ins are keyed: letter case and surrounding
/// spaces aside.
pub fn mailbox(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Whether two addresses (or none) name the same mailbox.
pub fn same_mailbox(a: Option<&str>, b: Option<&str>) -> bool {
    a.map(mailbox) == b.map(mailbox)
}

/// Whether `after` has another mailbox than `before` (or none, or one newly): what ends a
/// sign-in. Fixing the capitals of the same address does not.
pub fn mailbox_changed(before: &User, after: &User) -> bool {
    !same_mailbox(before.email.as_deref(), after.email.as_deref())
}

fn address(channel: Channel, value: Option<String>) -> Result<Option<String>, DomainError> {
    value
        .map(|address| {
            let raw = serde_json::json!({"channel": channel, "address": address});
            serde_json::from_value::<ChannelAddress>(raw).map(|c| c.address).map_err(|_| {
                DomainError::invalid(ErrorCode::InvalidAddress, format!("{channel:?} address is malformed"))
            })
        })
        .transpose()
}

impl NewContact {
    /// The user this contact is, with id `id` in `org`.
    pub fn into_user(self, id: UserId, org: OrgId) -> Result<User, DomainError> {
        let name = short("name", Some(self.name), 100)?.unwrap_or_default();
        let property_id = key_part("property_id", self.property_id, 64)?;
        let unit = key_part("unit", self.unit, 20)?;
        let role = match (self.kind, self.role.as_deref()) {
            (ContactKind::Resident | ContactKind::Owner, None) => Role::Resident,
            (ContactKind::Staff, None | Some("staff")) => Role::Staff,
            (ContactKind::Staff, Some("facility_admin")) => Role::FacilityAdmin,
            (ContactKind::Vendor, None) => Role::Vendor,
            _ => {
                return Err(DomainError::invalid(
                    ErrorCode::InvalidRole,
                    "role is staff or facility_admin, for staff only",
                ))
            }
        };
        let property_ids = staff_properties(role, self.property_ids)?.unwrap_or_default();
        let user = User {
            id,
            org,
            role,
            name,
            unit,
            property_id,
            property_ids,
            state: AccountState::Active,
            email: address(Channel::Email, self.email)?,
            phone: address(Channel::Sms, self.phone)?,
            kind: Some(self.kind),
            lock: None,
            archive_at: None,
            login: None,
            invite: None,
            rev: 0,
        };
        needs_unit(&user)?;
        Ok(user)
    }
}

/// Changes to a contact: an absent field stays as it is; `email`, `phone`, `property_id`
/// and `unit` given as null are cleared (residents and owners keep a property and a unit:
/// 422 unit_required). name, property_id and unit are one line each (422
/// invalid_characters); property_id and unit may not contain '#'.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029]*$")]
    pub name: Option<String>,
    /// null clears it, and with it the sign-in and any invitation (as a new address does).
    #[serde(default, deserialize_with = "given")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "given")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "given")]
    #[schema(value_type = Option<String>, max_length = 64, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029#]*$")]
    pub property_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "given")]
    #[schema(value_type = Option<String>, max_length = 20, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029#]*$")]
    pub unit: Option<Option<String>>,
    /// Staff only: replaces the properties they work for (at most 20; `[]` clears them).
    #[schema(max_items = 20)]
    pub property_ids: Option<Vec<String>>,
}

/// A field that is present: `Some(None)` when it is null (absent fields take the default,
/// `None`).
fn given<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl ContactPatch {
    pub fn apply(self, mut user: User) -> Result<User, DomainError> {
        // Only a patch that clears one is refused for it (some residents had no unit before
        // the rule, and may still be renamed).
        let clears_place = self.property_id == Some(None) || self.unit == Some(None);
        if let Some(name) = short("name", self.name, 100)? {
            user.name = name;
        }
        if let Some(email) = self.email {
            let email = address(Channel::Email, email)?;
            if !same_mailbox(user.email.as_deref(), email.as_deref()) {
                // A link sent to the old address must not open the account any more, nor
                // the sign-in made for it (the caller deletes it from the directory).
                user.invite = None;
                user.login = None;
            }
            user.email = email;
        }
        if let Some(phone) = self.phone {
            user.phone = address(Channel::Sms, phone)?;
        }
        if let Some(property_id) = self.property_id {
            user.property_id = key_part("property_id", property_id, 64)?;
        }
        if let Some(unit) = self.unit {
            user.unit = key_part("unit", unit, 20)?;
        }
        if let Some(ids) = staff_properties(user.role, self.property_ids)? {
            user.property_ids = ids;
        }
        if clears_place {
            needs_unit(&user)?;
        }
        Ok(user)
    }
}

/// Residents and owners have a property and a unit (422 unit_required).
fn needs_unit(user: &User) -> Result<(), DomainError> {
    if user.role == Role::Resident && (user.property_id.is_none() || user.unit.is_none()) {
        return Err(DomainError::invalid(
            ErrorCode::UnitRequired,
            "residents and owners need a property_id and a unit",
        ));
    }
    Ok(())
}

/// Lower case, accents removed: "José" and "jose" are the same to search.
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .collect::<String>()
        .to_lowercase()
}

/// A name is found by at most this many of its words (its first): each is an item written
/// with the contact, and a rename writes the old and the new ones in one transaction of at
/// most 100 actions.
pub const MAX_NAME_WORDS: usize = 16;

/// The words of a name as search keys (folded, alphanumeric runs, the first
/// [`MAX_NAME_WORDS`] distinct ones), sorted.
pub fn name_words(name: &str) -> Vec<String> {
    words_of(name, MAX_NAME_WORDS)
}

/// Every distinct word of a name, sorted: what a name written before [`MAX_NAME_WORDS`]
/// may have left to remove.
pub fn all_name_words(name: &str) -> Vec<String> {
    words_of(name, usize::MAX)
}

fn words_of(name: &str, limit: usize) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in fold(name).split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if words.len() == limit {
            break;
        }
        if !words.iter().any(|w| w == word) {
            words.push(word.to_owned());
        }
    }
    words.sort();
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_case_and_accents_into_word_keys() {
        assert_eq!(name_words("José  Ébert-Núñez"), ["ebert", "jose", "nunez"]);
        // One-letter words, as a name in a script without spaces may be split: a rename
        // from 50 of them to 50 others stays within a transaction.
        let letters: String = ('a'..='z').chain('0'..='9').map(|c| format!("{c} ")).collect();
        let words = name_words(&letters);
        assert_eq!(words.len(), MAX_NAME_WORDS);
        assert_eq!(all_name_words(&letters).len(), 36);
        assert!(
            words.contains(&"a".to_owned())
                && words.contains(&"p".to_owned())
                && !words.contains(&"q".to_owned())
        );
        assert_eq!(fold("ÇA"), "ca");
    }

    #[test]
    fn a_lock_needs_a_reason() {
        assert!(lock_reason(None).is_err());
        assert!(lock_reason(Some("   ")).is_err());
        assert_eq!(lock_reason(Some(" unpaid rent ")).unwrap(), "unpaid rent");
    }

    #[test]
    fn contacts_become_users_with_the_role_their_kind_implies() {
        let org = OrgId::parse("o").unwrap();
        let new = |json: &str| serde_json::from_str::<NewContact>(json).unwrap();
        let r = new(r#"{"kind":"owner","name":"Ana","property_id":"p","unit":"1","phone":"+15145550123"}"#)
            .into_user(UserId::parse("u").unwrap(), org.clone())
            .unwrap();
        assert_eq!((r.role, r.phone.as_deref()), (Role::Resident, Some("+15145550123")));
        assert!(new(r#"{"kind":"resident","name":"No unit"}"#)
            .into_user(UserId::parse("u").unwrap(), org.clone())
            .is_err());
        assert!(new(r#"{"kind":"vendor","name":"V","role":"facility_admin"}"#)
            .into_user(UserId::parse("u").unwrap(), org.clone())
            .is_err());
        assert!(new(r#"{"kind":"staff","name":"S","email":"bad"}"#)
            .into_user(UserId::parse("u").unwrap(), org)
            .is_err());
    }

    #[test]
    fn a_patch_keeps_what_it_leaves_out_and_clears_what_it_gives_as_null() {
        let org = OrgId::parse("o").unwrap();
        let resident = serde_json::from_str::<NewContact>(
            r#"{"kind":"resident","name":"Ana","email":"ana@example.com","phone":"+15145550123","property_id":"p","unit":"1"}"#,
        )
        .unwrap()
        .into_user(UserId::parse("u").unwrap(), org)
        .unwrap();
        let signed_in = User { login: Some("sub-1".into()), ..resident };
        let patch = |json: &str| serde_json::from_str::<ContactPatch>(json).unwrap().apply(signed_in.clone());

        let renamed = patch(r#"{"name":"Ana B"}"#).unwrap();
        assert_eq!(renamed, User { name: "Ana B".into(), ..signed_in.clone() });
        let cleared = patch(r#"{"phone":null,"email":null}"#).unwrap();
        assert_eq!((cleared.phone, cleared.email, cleared.login), (None, None, None));
        assert_eq!(cleared.unit.as_deref(), Some("1"));
        let recased = patch(r#"{"email":" Ana@Example.COM"}"#).unwrap();
        assert_eq!(recased.login.as_deref(), Some("sub-1"), "the same mailbox keeps its sign-in");
        assert!(!mailbox_changed(&signed_in, &recased));
        let moved = patch(r#"{"email":"ana.b@example.com"}"#).unwrap();
        assert_eq!(moved.login, None);
        assert!(mailbox_changed(&signed_in, &moved));
        assert!(mailbox_changed(&signed_in, &patch(r#"{"email":null}"#).unwrap()));
        for json in [r#"{"unit":null}"#, r#"{"property_id":null,"phone":null}"#] {
            let refused = patch(json).unwrap_err();
            assert_eq!(refused.code(), ErrorCode::UnitRequired, "{json}");
        }
        // Staff and vendors may have no property.
        let staff = User { role: Role::Staff, ..signed_in.clone() };
        let moved = ContactPatch { property_id: Some(None), ..Default::default() }.apply(staff).unwrap();
        assert_eq!(moved.property_id, None);
    }
}
