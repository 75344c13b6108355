//! The authorization policy: who may see, post and change what. Organization isolation is
//! structural (every storage key starts with the caller's org); these rules decide within it.

use crate::{AccountState, DomainError, ErrorCode, Role, User, UserId};

/// May `user` see a thread? Facility admins see every thread of their org; everyone else
/// only the threads they take part in. Callers answer 404 when this is false.
pub fn can_view_thread(user: &User, is_participant: bool) -> bool {
    is_participant || user.role == Role::FacilityAdmin
}

/// May `user` see a message? Internal notes are for staff only.
pub fn can_see_message(user: &User, internal: bool) -> bool {
    !internal || user.role.is_staff()
}

/// Every request goes through this. Staff, admins and vendors who were archived have left
/// the organization: nothing. Archived residents keep reading their history and writing
/// to staff.
pub fn ensure_can_sign_in(user: &User) -> Result<(), DomainError> {
    if user.state == AccountState::Archived && !user.role.is_resident() {
        return Err(DomainError::forbidden(ErrorCode::AccountArchived, "this account was archived"));
    }
    Ok(())
}

/// Every request but reading one's own profile goes through this: locked staff, admins and
/// vendors read nothing of the organization's (a locked resident still reads).
pub fn ensure_can_act(user: &User) -> Result<(), DomainError> {
    ensure_can_sign_in(user)?;
    if user.state == AccountState::Locked && !user.role.is_resident() {
        return Err(locked());
    }
    Ok(())
}

fn locked() -> DomainError {
    DomainError::forbidden(ErrorCode::AccountLocked, "this account is locked; contact your property manager")
}

/// Every write goes through this: a locked account reads but never writes.
pub fn ensure_can_write(user: &User) -> Result<(), DomainError> {
    if user.state == AccountState::Locked {
        return Err(locked());
    }
    Ok(())
}

/// Changing a thread's status, priority or linked record is staff work.
pub fn ensure_staff(user: &User) -> Result<(), DomainError> {
    if user.role.is_staff() {
        Ok(())
    } else {
        Err(DomainError::forbidden(ErrorCode::StaffOnly, "only staff can do this"))
    }
}

/// A thread's priority and linked record are staff work, on a new thread as on a change:
/// urgent skips digests and quiet hours, so a resident setting it could page staff at night.
pub fn ensure_can_set_thread_fields(user: &User, setting_any: bool) -> Result<(), DomainError> {
    if setting_any && !user.role.is_staff() {
        return Err(DomainError::forbidden(
            ErrorCode::StaffOnly,
            "only staff set a thread's priority or linked record",
        ));
    }
    Ok(())
}

/// Only staff write internal notes.
pub fn ensure_can_post(user: &User, internal: bool) -> Result<(), DomainError> {
    ensure_can_write(user)?;
    if internal {
        ensure_staff(user)?;
    }
    Ok(())
}

/// Who a new thread is with. A resident starts threads for themselves; staff must name the
/// resident, who is looked up and checked with [`ensure_startable_with`].
pub enum ThreadCounterpart {
    Myself,
    Resident(UserId),
}

pub fn thread_counterpart(
    starter: &User,
    resident_id: Option<UserId>,
) -> Result<ThreadCounterpart, DomainError> {
    ensure_can_write(starter)?;
    if starter.role == Role::Vendor {
        return Err(DomainError::forbidden(
            ErrorCode::NotAllowed,
            "vendors join conversations staff add them to",
        ));
    }
    match (starter.role.is_staff(), resident_id) {
        (false, None) => Ok(ThreadCounterpart::Myself),
        (false, Some(id)) if id == starter.id => Ok(ThreadCounterpart::Myself),
        (false, Some(_)) => Err(DomainError::forbidden(
            ErrorCode::StaffOnly,
            "only staff can start a conversation with another resident",
        )),
        (true, None) => Err(DomainError::invalid(
            ErrorCode::ResidentRequired,
            "staff start a conversation with a resident: give resident_id",
        )),
        (true, Some(id)) => Ok(ThreadCounterpart::Resident(id)),
    }
}

/// Staff may start a conversation only with an active resident of their org.
pub fn ensure_startable_with(resident: &User) -> Result<(), DomainError> {
    if resident.role != Role::Resident {
        return Err(DomainError::invalid(ErrorCode::NotAResident, "resident_id must name a resident"));
    }
    if resident.state == AccountState::Archived {
        return Err(DomainError::conflict(
            ErrorCode::ResidentArchived,
            "this resident is archived: read their history, but new conversations cannot be started with them",
        ));
    }
    Ok(())
}

/// Whether staff work for `property` (their `property_id` or one of their `property_ids`).
pub fn works_for(user: &User, property: Option<&str>) -> bool {
    property
        .is_some_and(|p| user.property_id.as_deref() == Some(p) || user.property_ids.iter().any(|w| w == p))
}

/// Org settings (routing, teams) are for facility admins.
pub fn ensure_org_admin(user: &User) -> Result<(), DomainError> {
    ensure_can_write(user)?;
    if user.role == Role::FacilityAdmin {
        Ok(())
    } else {
        Err(DomainError::forbidden(ErrorCode::AdminOnly, "only facility admins can do this"))
    }
}

/// A conversation holds at most this many people: its resident, a routed team of up to
/// [`crate::routing::MAX_TEAM_MEMBERS`], and the colleagues and vendors staff add.
pub const MAX_PARTICIPANTS: usize = 150;

/// Whether `joining` more people fit in a conversation of `participants`.
pub fn ensure_room_for(participants: usize, joining: usize) -> Result<(), DomainError> {
    if participants + joining > MAX_PARTICIPANTS {
        return Err(DomainError::conflict(
            ErrorCode::TooManyParticipants,
            format!("a conversation has at most {MAX_PARTICIPANTS} participants"),
        ));
    }
    Ok(())
}

/// Staff add people to a conversation: staff of the org, or the thread's own resident.
pub fn ensure_can_add_participant(
    actor: &User,
    added: &User,
    thread_resident: &UserId,
) -> Result<(), DomainError> {
    ensure_can_write(actor)?;
    ensure_staff(actor)?;
    if added.role.is_staff() || &added.id == thread_resident {
        Ok(())
    } else {
        Err(DomainError::invalid(
            ErrorCode::NotAddable,
            "only staff of the organization or the thread's resident can be added",
        ))
    }
}

/// Staff may leave a conversation; a facility admin may remove anyone but the resident.
pub fn ensure_can_remove_participant(
    actor: &User,
    removed: &UserId,
    thread_resident: &UserId,
) -> Result<(), DomainError> {
    ensure_can_write(actor)?;
    ensure_staff(actor)?;
    if removed == thread_resident {
        return Err(DomainError::forbidden(
            ErrorCode::CannotRemoveResident,
            "the resident always stays in their conversation",
        ));
    }
    if removed == &actor.id || actor.role == Role::FacilityAdmin {
        Ok(())
    } else {
        Err(DomainError::forbidden(ErrorCode::NotAllowed, "staff can remove only themselves"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, role: Role, state: AccountState) -> User {
        User { state, ..User::sample(id, role) }
    }

    #[test]
    fn admins_see_every_thread_others_only_their_own() {
        assert!(can_view_thread(&user("a", Role::FacilityAdmin, AccountState::Active), false));
        assert!(!can_view_thread(&user("s", Role::Staff, AccountState::Active), false));
        assert!(can_view_thread(&user("s", Role::Staff, AccountState::Active), true));
        assert!(!can_view_thread(&user("r", Role::Resident, AccountState::Active), false));
    }

    #[test]
    fn residents_never_see_internal_notes() {
        assert!(!can_see_message(&user("r", Role::Resident, AccountState::Active), true));
        assert!(can_see_message(&user("r", Role::Resident, AccountState::Active), false));
        assert!(can_see_message(&user("s", Role::Staff, AccountState::Active), true));
    }

    #[test]
    fn a_locked_account_cannot_write_anything() {
        let locked = user("r", Role::Resident, AccountState::Locked);
        assert!(matches!(
            ensure_can_post(&locked, false),
            Err(DomainError::Forbidden { code: ErrorCode::AccountLocked, .. })
        ));
        assert!(thread_counterpart(&locked, None).is_err());
    }

    #[test]
    fn archived_staff_get_nothing_and_locked_staff_only_their_profile() {
        for role in [Role::FacilityAdmin, Role::Staff, Role::Vendor] {
            let archived = user("s", role, AccountState::Archived);
            assert!(matches!(
                ensure_can_sign_in(&archived),
                Err(DomainError::Forbidden { code: ErrorCode::AccountArchived, .. })
            ));
            let locked = user("s", role, AccountState::Locked);
            assert!(ensure_can_sign_in(&locked).is_ok(), "{role:?}: a locked account reads its own profile");
            assert!(matches!(
                ensure_can_act(&locked),
                Err(DomainError::Forbidden { code: ErrorCode::AccountLocked, .. })
            ));
        }
        for state in [AccountState::Archived, AccountState::Locked] {
            assert!(
                ensure_can_act(&user("r", Role::Resident, state)).is_ok(),
                "residents keep reading when {state:?}"
            );
        }
    }

    #[test]
    fn only_staff_set_priority_or_a_linked_record() {
        let resident = user("r", Role::Resident, AccountState::Active);
        assert!(matches!(
            ensure_can_set_thread_fields(&resident, true),
            Err(DomainError::Forbidden { code: ErrorCode::StaffOnly, .. })
        ));
        assert!(ensure_can_set_thread_fields(&resident, false).is_ok());
        assert!(ensure_can_set_thread_fields(&user("s", Role::Staff, AccountState::Active), true).is_ok());
    }

    #[test]
    fn an_archived_resident_can_still_write() {
        assert!(ensure_can_post(&user("r", Role::Resident, AccountState::Archived), false).is_ok());
    }

    #[test]
    fn residents_cannot_post_internal_notes() {
        assert!(matches!(
            ensure_can_post(&user("r", Role::Resident, AccountState::Active), true),
            Err(DomainError::Forbidden { code: ErrorCode::StaffOnly, .. })
        ));
    }

    #[test]
    fn staff_must_name_a_resident_and_residents_only_themselves() {
        let staff = user("s", Role::Staff, AccountState::Active);
        let resident = user("r", Role::Resident, AccountState::Active);
        assert!(thread_counterpart(&staff, None).is_err());
        assert!(matches!(
            thread_counterpart(&staff, Some(UserId::parse("r").unwrap())),
            Ok(ThreadCounterpart::Resident(_))
        ));
        assert!(matches!(thread_counterpart(&resident, None), Ok(ThreadCounterpart::Myself)));
        assert!(thread_counterpart(&resident, Some(UserId::parse("other").unwrap())).is_err());
    }

    #[test]
    fn staff_cannot_start_a_thread_with_staff_or_an_archived_resident() {
        assert!(ensure_startable_with(&user("s", Role::Staff, AccountState::Active)).is_err());
        assert!(matches!(
            ensure_startable_with(&user("r", Role::Resident, AccountState::Archived)),
            Err(DomainError::Conflict { .. })
        ));
        assert!(ensure_startable_with(&user("r", Role::Resident, AccountState::Active)).is_ok());
    }
    #[test]
    fn staff_add_staff_or_the_threads_resident_but_residents_add_nobody() {
        let admin = user("a", Role::FacilityAdmin, AccountState::Active);
        let staff = user("s", Role::Staff, AccountState::Active);
        let resident = user("r", Role::Resident, AccountState::Active);
        let other_resident = user("o", Role::Resident, AccountState::Active);
        assert!(ensure_can_add_participant(&admin, &staff, &resident.id).is_ok());
        assert!(ensure_can_add_participant(&staff, &resident, &resident.id).is_ok());
        assert!(ensure_can_add_participant(&staff, &other_resident, &resident.id).is_err());
        assert!(matches!(
            ensure_can_add_participant(&resident, &staff, &resident.id),
            Err(DomainError::Forbidden { code: ErrorCode::StaffOnly, .. })
        ));
    }

    #[test]
    fn staff_leave_admins_remove_anyone_and_the_resident_always_stays() {
        let admin = user("a", Role::FacilityAdmin, AccountState::Active);
        let staff = user("s", Role::Staff, AccountState::Active);
        let resident = UserId::parse("r").unwrap();
        let other = UserId::parse("o").unwrap();
        assert!(ensure_can_remove_participant(&staff, &staff.id, &resident).is_ok());
        assert!(ensure_can_remove_participant(&staff, &other, &resident).is_err());
        assert!(ensure_can_remove_participant(&admin, &other, &resident).is_ok());
        assert!(matches!(
            ensure_can_remove_participant(&admin, &resident, &resident),
            Err(DomainError::Forbidden { code: ErrorCode::CannotRemoveResident, .. })
        ));
    }

    #[test]
    fn only_active_facility_admins_change_org_settings() {
        assert!(ensure_org_admin(&user("a", Role::FacilityAdmin, AccountState::Active)).is_ok());
        assert!(ensure_org_admin(&user("s", Role::Staff, AccountState::Active)).is_err());
        assert!(ensure_org_admin(&user("a", Role::FacilityAdmin, AccountState::Locked)).is_err());
    }
}
