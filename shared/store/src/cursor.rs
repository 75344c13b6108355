//! Opaque paging cursors. A cursor is the query's last evaluated key, base64url-encoded;
//! decoding checks it belongs to the query it is used with, so a forged cursor cannot
//! move a query into another partition or another org.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::StoreError;

const MAX_CURSOR_LEN: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

impl Cursor {
    /// Wraps a cursor string from a request; it is checked when used.
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        if raw.is_empty() || raw.len() > MAX_CURSOR_LEN {
            return Err(StoreError::BadCursor);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn encode(key: &HashMap<String, AttributeValue>) -> Option<Self> {
        let plain: BTreeMap<&str, &str> = key
            .iter()
            .map(|(k, v)| v.as_s().ok().map(|s| (k.as_str(), s.as_str())))
            .collect::<Option<_>>()?;
        let json = serde_json::to_vec(&plain).ok()?;
        Some(Self(URL_SAFE_NO_PAD.encode(json)))
    }

    /// Decodes into an exclusive start key with exactly `attributes`, whose partition
    /// attribute `partition.0` equals `partition.1` and whose `pk` starts with `pk_prefix`.
    pub(crate) fn decode(
        &self,
        attributes: &[&str],
        partition: (&str, &str),
        pk_prefix: &str,
    ) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let bytes = URL_SAFE_NO_PAD.decode(&self.0).map_err(|_| StoreError::BadCursor)?;
        let plain: BTreeMap<String, String> =
            serde_json::from_slice(&bytes).map_err(|_| StoreError::BadCursor)?;
        let same_attributes =
            plain.len() == attributes.len() && attributes.iter().all(|a| plain.contains_key(*a));
        let same_partition = plain.get(partition.0).map(String::as_str) == Some(partition.1);
        let same_org = plain.get(crate::keys::PK).is_some_and(|pk| pk.starts_with(pk_prefix));
        if !(same_attributes && same_partition && same_org) {
            return Err(StoreError::BadCursor);
        }
        Ok(plain.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pairs: &[(&str, &str)]) -> HashMap<String, AttributeValue> {
        pairs.iter().map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string()))).collect()
    }

    #[test]
    fn a_cursor_round_trips_for_its_own_query() {
        let k = key(&[("pk", "ORG#demo#THREAD#1"), ("sk", "TL#2")]);
        let c = Cursor::encode(&k).unwrap();
        let back = c.decode(&["pk", "sk"], ("pk", "ORG#demo#THREAD#1"), "ORG#demo#").unwrap();
        assert_eq!(back, k);
    }

    #[test]
    fn a_cursor_cannot_move_a_query_to_another_partition_or_org() {
        let other = Cursor::encode(&key(&[("pk", "ORG#demo-b#THREAD#1"), ("sk", "TL#2")])).unwrap();
        assert!(other.decode(&["pk", "sk"], ("pk", "ORG#demo#THREAD#1"), "ORG#demo#").is_err());
        assert!(other.decode(&["pk", "sk"], ("pk", "ORG#demo-b#THREAD#1"), "ORG#demo#").is_err());
    }

    #[test]
    fn garbage_is_a_bad_cursor() {
        for raw in ["%%%", "bm90IGpzb24", "e30"] {
            let c = Cursor::parse(raw).unwrap();
            assert!(c.decode(&["pk", "sk"], ("pk", "x"), "ORG#").is_err(), "{raw}");
        }
        assert!(Cursor::parse("").is_err());
        assert!(Cursor::parse(&"a".repeat(3000)).is_err());
    }
}
