//! Topic routing: each topic of an organization goes to a default recipient, a staff user
//! or a team, so residents never need to know who handles what. Topics beyond the built-in
//! ones exist by being routed.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::{DomainError, ErrorCode, Topic, UserId};

pub const MAX_ROUTES: usize = 50;
pub const MAX_TEAMS: usize = 20;
pub const MAX_TEAM_MEMBERS: usize = 100;

/// Who a topic goes to: a staff user or a team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Recipient {
    UserId(UserId),
    Team(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Team {
    #[schema(min_length = 1, max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029]*$")]
    pub name: String,
    #[schema(min_items = 1, max_items = 100)]
    pub members: Vec<UserId>,
}

/// An organization's routing settings, as stored and as `GET/PUT /v1/settings/routing`
/// shows them: `{"routes": {"billing": {"user_id": "…"}}, "teams": {"id": {name, members}}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingSettings {
    /// Topic (lower-case slug) → default recipient; at most 50.
    pub routes: BTreeMap<String, Recipient>,
    /// Team id (lower-case slug) → team; at most 20.
    #[serde(default)]
    pub teams: BTreeMap<String, Team>,
}

impl RoutingSettings {
    /// Checks the settings hold together; returns every staff user they name, for the
    /// caller to check against the organization's users.
    pub fn validate(&self) -> Result<BTreeSet<UserId>, DomainError> {
        let invalid = |m: String| DomainError::invalid(ErrorCode::InvalidRouting, m);
        if self.routes.len() > MAX_ROUTES {
            return Err(invalid(format!("at most {MAX_ROUTES} routed topics")));
        }
        if self.teams.len() > MAX_TEAMS {
            return Err(invalid(format!("at most {MAX_TEAMS} teams")));
        }
        let mut users = BTreeSet::new();
        for (id, team) in &self.teams {
            Topic::parse(id).map_err(|_| invalid(format!("team id '{id}' must be a lower-case slug")))?;
            if crate::text::single_line(&team.name, 100, "team name").is_err() {
                return Err(invalid(format!("team '{id}' needs a name of 1 to 100 characters on one line")));
            }
            let unique: BTreeSet<_> = team.members.iter().collect();
            if team.members.is_empty()
                || team.members.len() > MAX_TEAM_MEMBERS
                || unique.len() != team.members.len()
            {
                return Err(invalid(format!("team '{id}' needs 1 to {MAX_TEAM_MEMBERS} distinct members")));
            }
            users.extend(team.members.iter().cloned());
        }
        for (topic, recipient) in &self.routes {
            let parsed = Topic::parse(topic)?;
            if parsed.as_str() != topic {
                return Err(invalid(format!("topic '{topic}' must be written in lower case")));
            }
            match recipient {
                Recipient::UserId(user) => {
                    users.insert(user.clone());
                }
                Recipient::Team(team) if !self.teams.contains_key(team) => {
                    return Err(invalid(format!("topic '{topic}' routes to unknown team '{team}'")));
                }
                Recipient::Team(_) => {}
            }
        }
        Ok(users)
    }

    /// The topics this organization offers beyond the built-in ones.
    pub fn custom_topics(&self) -> impl Iterator<Item = &str> {
        self.routes.keys().map(String::as_str).filter(|t| !Topic::BUILT_IN.contains(t))
    }

    /// The users a new thread on `topic` goes to (none if the topic is not routed).
    pub fn recipients(&self, topic: &Topic) -> Vec<UserId> {
        match self.routes.get(topic.as_str()) {
            Some(Recipient::UserId(user)) => vec![user.clone()],
            Some(Recipient::Team(team)) => {
                self.teams.get(team).map(|t| t.members.clone()).unwrap_or_default()
            }
            None => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(json: &str) -> RoutingSettings {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_topic_goes_to_its_user_or_every_member_of_its_team() {
        let s = settings(
            r#"{"routes": {"billing": {"user_id": "bookkeeper-1"}, "pool": {"team": "facilities"}},
                "teams": {"facilities": {"name": "Facilities", "members": ["maint-1", "admin-1"]}}}"#,
        );
        assert!(s.validate().is_ok());
        let ids = |v: Vec<UserId>| v.into_iter().map(String::from).collect::<Vec<_>>();
        assert_eq!(ids(s.recipients(&Topic::parse("billing").unwrap())), ["bookkeeper-1"]);
        assert_eq!(ids(s.recipients(&Topic::parse("pool").unwrap())), ["maint-1", "admin-1"]);
        assert!(s.recipients(&Topic::parse("parking").unwrap()).is_empty());
        assert_eq!(s.custom_topics().collect::<Vec<_>>(), ["pool"]);
    }

    #[test]
    fn routes_to_unknown_teams_and_bad_topics_are_refused() {
        assert!(settings(r#"{"routes": {"pool": {"team": "nobody"}}}"#).validate().is_err());
        assert!(settings(r#"{"routes": {"Pool": {"user_id": "a"}}}"#).validate().is_err());
        assert!(settings(r#"{"routes": {}, "teams": {"t": {"name": "T", "members": []}}}"#)
            .validate()
            .is_err());
        assert!(settings(r#"{"routes": {}, "teams": {"t": {"name": "T", "members": ["a", "a"]}}}"#)
            .validate()
            .is_err());
        assert!(serde_json::from_str::<RoutingSettings>(r#"{"routes": {"x": {"email": "a@b"}}}"#).is_err());
    }

    #[test]
    fn validation_names_every_user_to_check() {
        let s = settings(
            r#"{"routes": {"billing": {"user_id": "b"}, "general": {"team": "t"}},
                "teams": {"t": {"name": "T", "members": ["m", "b"]}}}"#,
        );
        let users: Vec<String> = s.validate().unwrap().into_iter().map(String::from).collect();
        assert_eq!(users, ["b", "m"]);
    }
}
