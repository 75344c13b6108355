//! DynamoDB capacity units estimated from what a call carries on the wire and what the
//! meter has seen stored, the way DynamoDB bills them: an item's size in KiB per write
//! (twice in a transaction), 4 KiB per read unit (half for an eventually consistent read),
//! and index writes: one in each global secondary index the item keeps its place in, enters
//! or leaves, two in each where its place moves. An item the meter never saw whole (only
//! through a projection, or an update of a key never read) counts only what the request
//! carries, so its figures are a floor.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use store::keys::Index;

/// DynamoDB's size of an item: attribute names plus values (numbers counted as text).
pub(super) fn item_size(item: &Value) -> usize {
    item.as_object().map(|m| m.iter().map(|(k, v)| k.len() + value_size(v)).sum()).unwrap_or(0)
}

fn value_size(v: &Value) -> usize {
    let Some((kind, inner)) = v.as_object().and_then(|m| m.iter().next()) else { return 0 };
    match (kind.as_str(), inner) {
        ("S" | "N", Value::String(s)) => s.len(),
        ("B", Value::String(s)) => s.len() * 3 / 4,
        ("BOOL" | "NULL", _) => 1,
        ("M", m) => 3 + item_size(m),
        ("L", Value::Array(items)) => 3 + items.iter().map(|i| 1 + value_size(i)).sum::<usize>(),
        (_, Value::Array(items)) => items.iter().map(|i| i.as_str().map_or(0, str::len)).sum(),
        _ => 0,
    }
}

fn units(size: usize, block: usize) -> f64 {
    size.div_ceil(block).max(1) as f64
}

/// An item's index key attributes (`gsi1pk` … `gsi4sk`) and their values.
type IndexKeys = BTreeMap<String, Value>;

fn index_keys(item: &Value) -> IndexKeys {
    Index::ALL
        .iter()
        .flat_map(|index| [index.pk(), index.sk()])
        .filter_map(|name| item.get(name).map(|v| (name.to_owned(), v.clone())))
        .collect()
}

/// The index writes of an item whose index keys go from `before` to `after`. Every index
/// projects ALL, so any change to an item in an index rewrites its entry there: one write
/// where it keeps its place, enters or leaves; two where its place changes, "one to delete
/// the previous item from the index and another to put the new item into the index"
/// (DynamoDB developer guide, global secondary indexes, writes).
fn index_writes(before: &IndexKeys, after: &IndexKeys) -> usize {
    fn place(keys: &IndexKeys, index: Index) -> Option<(&Value, &Value)> {
        Some((keys.get(index.pk())?, keys.get(index.sk())?))
    }
    Index::ALL
        .into_iter()
        .map(|index| match (place(before, index), place(after, index)) {
            (None, None) => 0,
            (Some(was), Some(is)) if was != is => 2,
            _ => 1,
        })
        .sum()
}

/// The index keys after `update` (an UpdateItem request, or a transaction's `Update`) from
/// `before`: its top-level `SET name = :value`, `SET name = if_not_exists(name, :value)` and
/// `REMOVE name` actions on them. A key set to anything else counts as moved.
fn updated_keys(before: &IndexKeys, update: &Value) -> IndexKeys {
    let mut after = before.clone();
    let Some(expression) = update["UpdateExpression"].as_str() else { return after };
    let name = |token: &str| {
        let token = token.trim();
        update["ExpressionAttributeNames"][token].as_str().unwrap_or(token).to_owned()
    };
    let value = |token: &str| update["ExpressionAttributeValues"].get(token.trim()).cloned();
    let is_index_key = |name: &str| Index::ALL.iter().any(|index| index.pk() == name || index.sk() == name);
    for (clause, actions) in clauses(expression) {
        for action in top_level(&actions) {
            match clause.as_str() {
                "SET" => {
                    let Some((path, operand)) = action.split_once('=') else { continue };
                    let path = name(path);
                    if !is_index_key(&path) {
                        continue;
                    }
                    let kept = if_not_exists(operand)
                        .filter(|(of, _)| name(of) == path)
                        .map(|(_, default)| before.get(&path).cloned().or_else(|| value(default)));
                    let set = kept.unwrap_or_else(|| value(operand)).unwrap_or(Value::Null);
                    after.insert(path, set);
                }
                "REMOVE" => {
                    after.remove(&name(action));
                }
                _ => {}
            }
        }
    }
    after
}

/// The path and the operand of `if_not_exists(path, operand)`.
fn if_not_exists(operand: &str) -> Option<(&str, &str)> {
    let inner = operand.trim().strip_prefix("if_not_exists(")?.strip_suffix(')')?;
    match top_level(inner)[..] {
        [path, default] => Some((path, default)),
        _ => None,
    }
}

/// An update expression's clauses (`SET`, `REMOVE`, `ADD`, `DELETE`: reserved words, so no
/// attribute name is spelled like one) with their actions.
fn clauses(expression: &str) -> Vec<(String, String)> {
    let mut clauses: Vec<(String, String)> = Vec::new();
    for word in expression.split_whitespace() {
        let upper = word.to_ascii_uppercase();
        match (upper.as_str(), clauses.last_mut()) {
            ("SET" | "REMOVE" | "ADD" | "DELETE", _) => clauses.push((upper, String::new())),
            (_, Some((_, actions))) => {
                actions.push(' ');
                actions.push_str(word);
            }
            (_, None) => {}
        }
    }
    clauses
}

/// `actions` split at the commas outside parentheses.
fn top_level(actions: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (i, c) in actions.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&actions[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&actions[start..]);
    parts
}

/// The write units of a call that `succeeded` (a refused condition or a cancelled
/// transaction writes no index).
#[cfg(test)]
fn write_units(operation: &str, body: &Value, seen: &SeenItems, succeeded: bool) -> f64 {
    item_writes(operation, body, seen, succeeded).iter().map(|w| w.units).sum()
}

/// What kind of item a key names, by its shape: the partition's kind (the word after the
/// org, as docs/table-design.md lays keys out) and the sort key with its ids and times left
/// out (`THREAD #PART#…`, `NOTIFY P#…`, `QUOTA message#…`).
pub(super) fn item_kind(key: &Value) -> String {
    let text = |name: &str| key[name]["S"].as_str().unwrap_or("?");
    let pk = text("pk");
    let partition =
        pk.strip_prefix("ORG#").and_then(|rest| rest.split_once('#')).map_or(pk, |(_, rest)| rest);
    let partition = partition.split('#').next().unwrap_or(partition);
    let sk = text("sk");
    let sort = if sk.starts_with(|c: char| c.is_ascii_digit()) {
        // A time or an id first (a log's `{at}#{ulid}`, a queue entry's thread).
        "…".to_owned()
    } else {
        match sk.char_indices().skip(1).find(|(_, c)| *c == '#') {
            Some((at, _)) => format!("{}…", &sk[..=at]),
            None => sk.to_owned(),
        }
    };
    format!("{partition} {sort}")
}

/// One item's share of a write call.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemWrite {
    /// See [`item_kind`].
    pub kind: String,
    /// The size it is billed on, in bytes.
    pub size: usize,
    pub units: f64,
}

/// The write units of a call that `succeeded`, item by item.
pub(super) fn item_writes(
    operation: &str,
    body: &Value,
    seen: &SeenItems,
    succeeded: bool,
) -> Vec<ItemWrite> {
    let indexes =
        |before: &IndexKeys, after: &IndexKeys| if succeeded { index_writes(before, after) } else { 0 };
    // Each write: the size it is billed on and how many times (passes and index writes).
    let billed = |size: usize, writes: usize| (size, units(size, 1024) * writes as f64);
    // A Put replacing an item is billed on the larger of the two.
    let put = |item: &Value, passes: usize| {
        let (stored, before) = seen.stored(item);
        billed(stored.max(item_size(item)), passes + indexes(&before, &index_keys(item)))
    };
    let update = |update: &Value, passes: usize| {
        let (size, before, after) = seen.update_of(update);
        billed(size, passes + indexes(&before, &after))
    };
    let delete = |key: &Value, passes: usize| {
        let (stored, before) = seen.stored(key);
        billed(stored, passes + indexes(&before, &IndexKeys::new()))
    };
    let write = |key: &Value, (size, units): (usize, f64)| ItemWrite { kind: item_kind(key), size, units };
    match operation {
        "PutItem" => vec![write(&body["Item"], put(&body["Item"], 1))],
        "UpdateItem" => vec![write(&body["Key"], update(body, 1))],
        "DeleteItem" => vec![write(&body["Key"], delete(&body["Key"], 1))],
        "BatchWriteItem" => batch_writes(body)
            .map(|r| match &r["PutRequest"]["Item"] {
                Value::Null => write(&r["DeleteRequest"]["Key"], delete(&r["DeleteRequest"]["Key"], 1)),
                item => write(item, put(item, 1)),
            })
            .collect(),
        // A transaction writes each item twice (prepare, commit); the indexes are updated
        // after it commits, as standard writes ("Changes made with transactions are
        // propagated to global secondary indexes … after the transaction completes",
        // DynamoDB developer guide, Amazon DynamoDB Transactions: How it works).
        "TransactWriteItems" => transact_items(body)
            .map(|t| {
                if t["Put"].is_object() {
                    write(&t["Put"]["Item"], put(&t["Put"]["Item"], 2))
                } else if t["Update"].is_object() {
                    write(&t["Update"]["Key"], update(&t["Update"], 2))
                } else if t["Delete"].is_object() {
                    write(&t["Delete"]["Key"], delete(&t["Delete"]["Key"], 2))
                } else {
                    // A ConditionCheck: the item read as a transactional write, no index.
                    let key = &t["ConditionCheck"]["Key"];
                    write(key, billed(seen.stored(key).0, 2))
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn batch_writes(body: &Value) -> impl Iterator<Item = Value> + '_ {
    body["RequestItems"]
        .as_object()
        .into_iter()
        .flat_map(|t| t.values())
        .flat_map(|requests| requests.as_array().cloned().unwrap_or_default())
}

fn transact_items(body: &Value) -> impl Iterator<Item = &Value> {
    body["TransactItems"].as_array().into_iter().flatten()
}

/// The items the meter has seen written or read, by key: their size and index keys. An
/// update or a delete is billed on the whole stored item (the larger of its sizes before
/// and after), which the request does not carry, and on the index places it leaves, keeps
/// or takes. The size last seen stands for the stored one; an item never seen counts as
/// big as the values the update sets, and as in no index before.
#[derive(Debug, Default)]
pub(super) struct SeenItems(HashMap<String, (usize, IndexKeys)>);

impl SeenItems {
    fn key(item: &Value) -> Option<String> {
        let part = |name: &str| item[name]["S"].as_str();
        Some(format!("{}\u{0}{}", part(store::keys::PK)?, part(store::keys::SK)?))
    }

    /// The stored size and index keys of `item`'s key, as last seen (0 and none: never).
    fn stored(&self, item: &Value) -> (usize, IndexKeys) {
        Self::key(item).and_then(|k| self.0.get(&k).cloned()).unwrap_or_default()
    }

    /// The stored size of `item`'s key, as last seen (0: never seen).
    pub(super) fn size_of(&self, item: &Value) -> usize {
        Self::key(item).and_then(|k| self.0.get(&k)).map_or(0, |(size, _)| *size)
    }

    fn see(&mut self, item: &Value) {
        if let Some(key) = Self::key(item) {
            self.0.insert(key, (item_size(item), index_keys(item)));
        }
    }

    fn forget(&mut self, key: &Value) {
        if let Some(key) = Self::key(key) {
            self.0.remove(&key);
        }
    }

    /// What `update` does to the item at its key, as last seen: the size it is billed on
    /// (the larger of the stored item and the values set), and its index keys before and
    /// after.
    fn update_of(&self, update: &Value) -> (usize, IndexKeys, IndexKeys) {
        let (stored, before) = self.stored(&update["Key"]);
        let after = updated_keys(&before, update);
        (stored.max(item_size(&update["ExpressionAttributeValues"])), before, after)
    }

    /// An update moves the item's index keys; its size stays as last seen whole.
    fn updated(&mut self, update: &Value) {
        let Some(key) = Self::key(&update["Key"]) else { return };
        let (size, _, after) = self.update_of(update);
        self.0.insert(key, (size, after));
    }

    /// Keeps what a write that succeeded stored.
    pub(super) fn written(&mut self, operation: &str, body: &Value) {
        match operation {
            "PutItem" => self.see(&body["Item"]),
            "UpdateItem" => self.updated(body),
            "DeleteItem" => self.forget(&body["Key"]),
            "BatchWriteItem" => {
                for r in batch_writes(body) {
                    match &r["PutRequest"]["Item"] {
                        Value::Null => self.forget(&r["DeleteRequest"]["Key"]),
                        item => self.see(item),
                    }
                }
            }
            "TransactWriteItems" => {
                for t in transact_items(body) {
                    if t["Put"].is_object() {
                        self.see(&t["Put"]["Item"]);
                    } else if t["Update"].is_object() {
                        self.updated(&t["Update"]);
                    } else if t["Delete"].is_object() {
                        self.forget(&t["Delete"]["Key"]);
                    }
                }
            }
            _ => {}
        }
    }

    pub(super) fn read(&mut self, operation: &str, body: &Value) {
        match operation {
            "GetItem" => self.see(&body["Item"]),
            "Query" | "Scan" => body["Items"].as_array().into_iter().flatten().for_each(|i| self.see(i)),
            "BatchGetItem" => body["Responses"]
                .as_object()
                .into_iter()
                .flat_map(|t| t.values())
                .flat_map(|items| items.as_array().cloned().unwrap_or_default())
                .for_each(|i| self.see(&i)),
            _ => {}
        }
    }
}

/// What a projected read is billed on: its items as last seen whole (a part never seen
/// whole counts as itself). A GetItem's answer need not hold its key: the request's does.
pub(super) struct Whole<'a> {
    pub seen: &'a SeenItems,
    pub key: &'a Value,
}

pub(super) fn read_units(operation: &str, body: &Value, consistent: bool, whole: Option<&Whole>) -> f64 {
    let rate = if consistent { 1.0 } else { 0.5 };
    let size = |item: &Value| whole.map_or(0, |w| w.seen.size_of(item)).max(item_size(item));
    match operation {
        "GetItem" => {
            let stored = whole.map_or(0, |w| w.seen.size_of(w.key));
            units(stored.max(item_size(&body["Item"])), 4096) * rate
        }
        "Query" | "Scan" => {
            let total: usize = body["Items"].as_array().into_iter().flatten().map(size).sum();
            units(total, 4096) * rate
        }
        "BatchGetItem" => body["Responses"]
            .as_object()
            .into_iter()
            .flat_map(|t| t.values())
            .flat_map(|items| items.as_array().cloned().unwrap_or_default())
            .map(|i| units(item_size(&i), 4096) * rate)
            .sum(),
        "TransactGetItems" => body["Responses"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| 2.0 * units(item_size(&r["Item"]), 4096))
            .sum(),
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn s(v: &str) -> Value {
        json!({"S": v})
    }

    #[test]
    fn capacity_follows_item_sizes_indexes_and_transactions() {
        let small = json!({"pk": s("a-thread"), "sk": s("M#1"), "n": {"N": "12"}});
        let none = SeenItems::default();
        assert_eq!(write_units("PutItem", &json!({"Item": small}), &none, true), 1.0);
        let mut big = json!({"pk": s("x"), "sk": s("META"), "body": s(&"b".repeat(2100))});
        big[Index::Gsi1.pk()] = s("g");
        assert_eq!(
            write_units("PutItem", &json!({"Item": big}), &none, true),
            3.0,
            "3 KiB, no index sort key"
        );
        big[Index::Gsi1.sk()] = s("1");
        assert_eq!(write_units("PutItem", &json!({"Item": big}), &none, true), 6.0, "3 KiB, written twice");
        let tx = json!({"TransactItems": [{"Put": {"Item": small}}, {"Update": {"ExpressionAttributeValues": {":v": {"N": "1"}}}}]});
        assert_eq!(write_units("TransactWriteItems", &tx, &none, true), 4.0);
        let tx = json!({"TransactItems": [{"Put": {"Item": big}}]});
        assert_eq!(
            write_units("TransactWriteItems", &tx, &none, true),
            9.0,
            "3 KiB prepared and committed, one index write"
        );
        assert_eq!(write_units("TransactWriteItems", &tx, &none, false), 6.0, "cancelled: no index write");
        // An update is billed on the stored item, seen when it was written.
        let mut seen = SeenItems::default();
        seen.written("TransactWriteItems", &tx);
        let update = json!({"Key": {"pk": s("x"), "sk": s("META")}, "UpdateExpression": "SET #n = :v",
            "ExpressionAttributeNames": {"#n": "n"}, "ExpressionAttributeValues": {":v": {"N": "1"}}});
        assert_eq!(write_units("UpdateItem", &update, &none, true), 1.0, "an item never seen: what is set");
        assert_eq!(write_units("UpdateItem", &update, &seen, true), 6.0, "3 KiB and its index write");
        let tx = json!({"TransactItems": [{"Update": update}]});
        assert_eq!(write_units("TransactWriteItems", &tx, &seen, true), 9.0);
        let items: Vec<Value> = (0..30).map(|_| json!({"body": s(&"y".repeat(300))})).collect();
        assert_eq!(
            read_units("Query", &json!({"Items": items}), false, None),
            1.5,
            "9 KiB eventually consistent"
        );
        assert_eq!(read_units("GetItem", &json!({}), true, None), 1.0, "a miss still costs a unit");
    }

    #[test]
    fn writes_are_told_apart_by_the_kind_of_item() {
        use domain::{OrgId, ThreadId, UserId};
        use store::keys;
        let org = OrgId::parse("acme").unwrap();
        let (thread, user) = (ThreadId::new_at(1_000), UserId::parse("u-1").unwrap());
        let key = |pk: String, sk: &str| json!({"pk": s(&pk), "sk": s(sk)});
        let row = key(keys::thread_pk(&org, &thread), &format!("{}{user}", keys::PARTICIPANT_PREFIX));
        let thread_item = key(keys::thread_pk(&org, &thread), keys::META_SK);
        let counter = key(keys::quota_pk(&org, &keys::QuotaScope::Org), "message#2026-12-07T13");
        let log = key(keys::delivery_pk(&org, &user), "2026-12-07T13:00:00Z#01J");
        let invite = key(keys::invite_pk("ab12"), keys::INVITE_SK);
        let kinds: Vec<String> = [&row, &thread_item, &counter, &log, &invite].map(item_kind).into();
        assert_eq!(
            kinds,
            ["THREAD #PART#…", "THREAD #META", "QUOTA message#…", "DELIVERY …", "INVITE INVITE"]
        );
        let tx = json!({"TransactItems": [{"Put": {"Item": row}}, {"Update": {"Key": thread_item,
            "ExpressionAttributeValues": {":v": {"N": "1"}}}}, {"ConditionCheck": {"Key": counter}}]});
        let writes = item_writes("TransactWriteItems", &tx, &SeenItems::default(), true);
        let kinds: Vec<&str> = writes.iter().map(|w| w.kind.as_str()).collect();
        assert_eq!(kinds, ["THREAD #PART#…", "THREAD #META", "QUOTA message#…"]);
        assert_eq!(writes.iter().map(|w| w.units).sum::<f64>(), 6.0, "two units an item");
    }

    #[test]
    fn an_item_moving_within_an_index_costs_a_delete_and_a_put_there() {
        // An inbox row: in gsi1 (its folder) and gsi2 (all), both sorted by activity.
        let row = json!({"pk": s("t"), "sk": s("#PART#u"), "gsi1pk": s("u#S#open"), "gsi1sk": s("a1"),
            "gsi2pk": s("u"), "gsi2sk": s("a1")});
        let mut seen = SeenItems::default();
        assert_eq!(write_units("PutItem", &json!({"Item": row}), &seen, true), 3.0, "new: one put per index");
        seen.written("PutItem", &json!({"Item": row}));
        let update = |expression: &str, values: Value| {
            json!({"Key": {"pk": s("t"), "sk": s("#PART#u")}, "UpdateExpression": expression,
                "ExpressionAttributeNames": {"#a": "gsi1sk", "#b": "gsi2sk", "#c": "gsi1pk", "#d": "last"},
                "ExpressionAttributeValues": values})
        };
        let activity = update("SET #a = :a, #b = :a, #d = :d", json!({":a": s("a2"), ":d": s("m")}));
        assert_eq!(write_units("UpdateItem", &activity, &seen, true), 5.0, "moved in both indexes");
        let tx = json!({"TransactItems": [{"Update": activity}]});
        assert_eq!(write_units("TransactWriteItems", &tx, &seen, true), 6.0, "index writes are not doubled");
        let same = update("SET #a = :a, #d = :d", json!({":a": s("a1"), ":d": s("m")}));
        assert_eq!(write_units("UpdateItem", &same, &seen, true), 3.0, "same places: one write each");
        assert_eq!(write_units("UpdateItem", &activity, &seen, false), 1.0, "refused: no index write");
        seen.written("UpdateItem", &activity);
        assert_eq!(write_units("UpdateItem", &activity, &seen, true), 3.0, "already there after the update");
        let kept = update("SET #a = if_not_exists(#a, :a)", json!({":a": s("a9")}));
        assert_eq!(write_units("UpdateItem", &kept, &seen, true), 3.0, "if_not_exists keeps a key it has");
        let other = update("SET #a = if_not_exists(#b, :a)", json!({":a": s("a2")}));
        assert_eq!(
            write_units("UpdateItem", &other, &seen, true),
            4.0,
            "another path's if_not_exists: moved"
        );
        let unknown = update("SET #a = #b", json!({}));
        assert_eq!(
            write_units("UpdateItem", &unknown, &seen, true),
            4.0,
            "not a plain value: counted as moved"
        );
        let leave = update("SET #d = :d REMOVE #c", json!({":d": s("m")}));
        assert_eq!(write_units("UpdateItem", &leave, &seen, true), 3.0, "leaves gsi1, stays in gsi2");
        seen.written("UpdateItem", &leave);
        let back = update("SET #c = if_not_exists(#c, :c)", json!({":c": s("u#S#resolved")}));
        assert_eq!(
            write_units("UpdateItem", &back, &seen, true),
            3.0,
            "enters gsi1 again (if_not_exists of a key it lacks), rewritten in gsi2"
        );
        let mut moved = row.clone();
        moved["gsi2sk"] = s("a9");
        assert_eq!(
            write_units("PutItem", &json!({"Item": moved}), &seen, true),
            4.0,
            "a Put over it: gsi2 moved, gsi1 entered"
        );
        let delete = json!({"Key": {"pk": s("t"), "sk": s("#PART#u")}});
        assert_eq!(write_units("DeleteItem", &delete, &seen, true), 2.0, "out of gsi2");
        seen.written("DeleteItem", &delete);
        assert_eq!(write_units("DeleteItem", &delete, &seen, true), 1.0, "gone: nothing to take out");
    }

    #[test]
    fn a_replaced_or_checked_item_is_billed_on_its_stored_size() {
        let big = json!({"pk": s("t"), "sk": s("#META"), "data": s(&"d".repeat(3000))});
        let mut seen = SeenItems::default();
        seen.written("PutItem", &json!({"Item": big}));
        let small = json!({"pk": s("t"), "sk": s("#META")});
        assert_eq!(
            write_units("PutItem", &json!({"Item": small}), &seen, true),
            3.0,
            "the larger of the two"
        );
        let check = json!({"TransactItems": [{"ConditionCheck": {"Key": small}}]});
        assert_eq!(
            write_units("TransactWriteItems", &check, &seen, true),
            6.0,
            "3 KiB read as a transactional write"
        );
        let none = SeenItems::default();
        assert_eq!(write_units("TransactWriteItems", &check, &none, true), 2.0, "never seen: one KiB");
    }
}
