//! Counts and times every AWS call a client makes (an SDK interceptor, attached to the
//! DynamoDB, S3, SQS and SES clients), so the benchmark reports measured round trips, not
//! assumed ones, and marks each call's start and end for the CPU meter (`crate::cpu`). For
//! DynamoDB it also estimates the capacity units each call consumes from the item sizes on
//! the wire and, for updates and deletes, from the stored items it has seen (see
//! [`SeenItems`]): moto's `ReturnConsumedCapacity` answers are constants (and empty for
//! transactions), so they cannot feed a cost model.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeDeserializationInterceptorContextRef,
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use serde_json::Value;
use store::keys::Index;

tokio::task_local! {
    /// The function (template.yaml's logical id) whose code runs in this task.
    static FUNCTION: &'static str;
}

/// Runs `work` as `function`'s code: the calls it makes are recorded as that function's.
/// The dev gateway tags each request with the function template.yaml routes it to, the
/// local consumers and schedules tag themselves.
pub async fn as_function<F: std::future::Future>(function: &'static str, work: F) -> F::Output {
    FUNCTION.scope(function, work).await
}

/// One AWS call as the client saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `dynamodb`, `s3`, `sqs`, `sesv2`…
    pub service: String,
    pub operation: String,
    /// The function that made it (see [`as_function`]); `None` for the harness's own.
    pub function: Option<&'static str>,
    /// For DynamoDB: the actions inside a transaction (`Put`, `Update`, `Delete`,
    /// `ConditionCheck`), which IAM checks one by one.
    pub transaction_actions: Vec<String>,
    /// Items in a transaction or batch (1 otherwise): moto's cost grows with it.
    pub items: usize,
    /// From the request leaving to the response's headers arriving.
    pub wire: Duration,
    /// Estimated DynamoDB read and write request units (0 for other services).
    pub read_units: f64,
    pub write_units: f64,
}

#[derive(Debug, Clone, Default)]
pub struct CallMeter {
    recorded: Arc<Mutex<Vec<Recorded>>>,
    seen: Arc<Mutex<SeenItems>>,
    /// Keeps only what says which actions a call needs (a transaction's request), not
    /// the bodies capacity estimates need: cheap enough to run under a whole test suite.
    actions_only: bool,
}

impl CallMeter {
    /// A meter that records which calls each function makes, for checking them against
    /// its IAM policy (capacity units and items then read as 0).
    pub fn actions_only() -> Self {
        Self { actions_only: true, ..Self::default() }
    }

    /// The calls recorded since the last `take`. The bodies are parsed here, outside the
    /// metered requests, so the meter adds no JSON work to the handlers' CPU time.
    pub fn take(&self) -> Vec<Call> {
        let recorded = std::mem::take(&mut *self.recorded.lock().unwrap_or_else(|e| e.into_inner()));
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        recorded.into_iter().map(|r| r.into_call(&mut seen)).collect()
    }
}

/// A call as recorded inside the request: the DynamoDB bodies are kept as bytes.
#[derive(Debug)]
struct Recorded {
    service: String,
    operation: String,
    function: Option<&'static str>,
    wire: Duration,
    request: Option<Vec<u8>>,
    response: Option<Vec<u8>>,
}

impl Recorded {
    fn into_call(self, seen: &mut SeenItems) -> Call {
        let parse = |b: Option<Vec<u8>>| b.and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        let (request, response) = (parse(self.request), parse(self.response));
        let op = self.operation.as_str();
        let consistent = request.as_ref().is_some_and(|b| b["ConsistentRead"] == Value::Bool(true));
        let items = request.as_ref().map_or(1, |b| match op {
            "TransactWriteItems" => b["TransactItems"].as_array().map_or(1, Vec::len),
            "BatchGetItem" => b["RequestItems"]
                .as_object()
                .map_or(1, |t| t.values().map(|r| r["Keys"].as_array().map_or(0, Vec::len)).sum()),
            _ => 1,
        });
        let transaction_actions = request
            .as_ref()
            .filter(|_| op == "TransactWriteItems")
            .and_then(|b| b["TransactItems"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|item| item.as_object().and_then(|m| m.keys().next().cloned()))
            .collect();
        let write_units = request.as_ref().map(|b| write_units(op, b, seen)).unwrap_or_default();
        if let Some(body) = &request {
            seen.written(op, body);
        }
        // A projection returns part of each item; DynamoDB bills the whole.
        let projected = request.as_ref().is_some_and(|b| b["ProjectionExpression"].is_string());
        let whole = request.as_ref().filter(|_| projected).map(|b| Whole { seen, key: &b["Key"] });
        let read_units = response.as_ref().map(|b| read_units(op, b, consistent, whole.as_ref()));
        if let Some(body) = response.as_ref().filter(|_| !projected) {
            seen.read(op, body);
        }
        Call {
            items,
            function: self.function,
            transaction_actions,
            wire: self.wire,
            read_units: read_units.unwrap_or_default(),
            write_units,
            service: self.service,
            operation: self.operation,
        }
    }
}

#[derive(Debug)]
struct InFlight {
    sent: Instant,
    request: Option<Vec<u8>>,
}

impl Storable for InFlight {
    type Storer = StoreReplace<Self>;
}

/// Time on the wire, stored when the response's headers arrive.
#[derive(Debug, Clone, Copy)]
struct Wire(Duration);

impl Storable for Wire {
    type Storer = StoreReplace<Self>;
}

fn operation(cfg: &ConfigBag) -> (String, String) {
    cfg.load::<Metadata>().map(|m| (m.service().to_lowercase(), m.name().to_owned())).unwrap_or_default()
}

/// Only DynamoDB bodies feed the capacity estimate.
fn dynamodb_body(cfg: &ConfigBag, body: Option<&[u8]>) -> Option<Vec<u8>> {
    cfg.load::<Metadata>()
        .filter(|m| m.service().eq_ignore_ascii_case("dynamodb"))
        .and(body)
        .map(<[u8]>::to_vec)
}

impl Intercept for CallMeter {
    fn name(&self) -> &'static str {
        "CallMeter"
    }

    fn read_before_execution(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        crate::cpu::aws_call_started();
        Ok(())
    }

    fn read_after_execution(
        &self,
        _: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        crate::cpu::aws_call_finished();
        Ok(())
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let keep = !self.actions_only || operation(cfg).1 == "TransactWriteItems";
        let request = dynamodb_body(cfg, ctx.request().body().bytes()).filter(|_| keep);
        cfg.interceptor_state().store_put(InFlight { sent: Instant::now(), request });
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(sent) = cfg.load::<InFlight>().map(|f| f.sent) {
            cfg.interceptor_state().store_put(Wire(sent.elapsed()));
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        ctx: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(flight) = cfg.load::<InFlight>() else { return Ok(()) };
        let (service, operation) = operation(cfg);
        let recorded = Recorded {
            service,
            operation,
            function: FUNCTION.try_with(|f| *f).ok(),
            wire: cfg.load::<Wire>().map_or_else(|| flight.sent.elapsed(), |w| w.0),
            request: flight.request.clone(),
            response: dynamodb_body(cfg, ctx.response().body().bytes()).filter(|_| !self.actions_only),
        };
        self.recorded.lock().unwrap_or_else(|e| e.into_inner()).push(recorded);
        Ok(())
    }
}

/// DynamoDB's size of an item: attribute names plus values (numbers counted as text).
fn item_size(item: &Value) -> usize {
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

/// The item's own write plus one per global secondary index it is projected into
/// (its partition key attribute present; every index projects ALL).
fn put_units(item: &Value) -> f64 {
    units(item_size(item), 1024) * (1 + indexes_of(item)) as f64
}

/// A transaction writes each item twice (prepare, commit); the global secondary indexes
/// are updated after it commits, as standard writes ("Changes made with transactions are
/// propagated to global secondary indexes … after the transaction completes", DynamoDB
/// developer guide, Amazon DynamoDB Transactions: How it works).
fn transactional_put_units(item: &Value) -> f64 {
    units(item_size(item), 1024) * (2 + indexes_of(item)) as f64
}

fn indexes_of(item: &Value) -> usize {
    item.as_object().map_or(0, |m| Index::ALL.iter().filter(|index| m.contains_key(index.pk())).count())
}

fn write_units(operation: &str, body: &Value, seen: &SeenItems) -> f64 {
    match operation {
        "PutItem" => put_units(&body["Item"]),
        "UpdateItem" => seen.update_units(&body["Key"], &body["ExpressionAttributeValues"], 1),
        "DeleteItem" => seen.update_units(&body["Key"], &Value::Null, 1),
        "BatchWriteItem" => body["RequestItems"]
            .as_object()
            .into_iter()
            .flat_map(|t| t.values())
            .flat_map(|reqs| reqs.as_array().cloned().unwrap_or_default())
            .map(|r| if r["PutRequest"].is_object() { put_units(&r["PutRequest"]["Item"]) } else { 1.0 })
            .sum(),
        // Transactions cost two units per item-KiB.
        "TransactWriteItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| {
                if t["Put"].is_object() {
                    transactional_put_units(&t["Put"]["Item"])
                } else if t["Update"].is_object() {
                    seen.update_units(&t["Update"]["Key"], &t["Update"]["ExpressionAttributeValues"], 2)
                } else if t["Delete"].is_object() {
                    seen.update_units(&t["Delete"]["Key"], &Value::Null, 2)
                } else {
                    2.0
                }
            })
            .sum(),
        _ => 0.0,
    }
}

/// The items the meter has seen written or read, by key: an update or a delete is billed on
/// the whole stored item (the larger of its sizes before and after), which the request does
/// not carry, and writes it again to each index the item is in. The size last seen stands
/// for the stored one; an item never seen counts as big as the values the update sets.
/// An update that moves an item within an index costs a delete and a put there; counted
/// as one write, so the figure is a floor.
#[derive(Debug, Default)]
struct SeenItems(std::collections::HashMap<String, (usize, usize)>);

impl SeenItems {
    fn key(item: &Value) -> Option<String> {
        let part = |name: &str| item[name]["S"].as_str();
        Some(format!("{}\u{0}{}", part(store::keys::PK)?, part(store::keys::SK)?))
    }

    /// The stored size of `item`'s key, as last seen (0: never seen).
    fn size_of(&self, item: &Value) -> usize {
        Self::key(item).and_then(|k| self.0.get(&k)).map_or(0, |(size, _)| *size)
    }

    fn see(&mut self, item: &Value) {
        if let Some(key) = Self::key(item) {
            self.0.insert(key, (item_size(item), indexes_of(item)));
        }
    }

    /// Units of an update or delete of `key` that sets `values`, written `passes` times
    /// (two in a transaction) plus once per index.
    fn update_units(&self, key: &Value, values: &Value, passes: usize) -> f64 {
        let (stored, indexes) = Self::key(key).and_then(|k| self.0.get(&k).copied()).unwrap_or((0, 0));
        units(stored.max(item_size(values)), 1024) * (passes + indexes) as f64
    }

    fn written(&mut self, operation: &str, body: &Value) {
        match operation {
            "PutItem" => self.see(&body["Item"]),
            "TransactWriteItems" => {
                for t in body["TransactItems"].as_array().into_iter().flatten() {
                    self.see(&t["Put"]["Item"]);
                }
            }
            _ => {}
        }
    }

    fn read(&mut self, operation: &str, body: &Value) {
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
struct Whole<'a> {
    seen: &'a SeenItems,
    key: &'a Value,
}

fn read_units(operation: &str, body: &Value, consistent: bool, whole: Option<&Whole>) -> f64 {
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

    #[test]
    fn capacity_follows_item_sizes_indexes_and_transactions() {
        let small = json!({"pk": {"S": "a-thread"}, "sk": {"S": "M#1"}, "n": {"N": "12"}});
        let none = SeenItems::default();
        assert_eq!(write_units("PutItem", &json!({"Item": small}), &none), 1.0);
        let mut big = json!({"pk": {"S": "x"}, "body": {"S": "b".repeat(2100)}});
        big[Index::Gsi1.pk()] = json!({"S": "g"});
        assert_eq!(write_units("PutItem", &json!({"Item": big}), &none), 6.0, "3 KiB, written twice");
        let tx = json!({"TransactItems": [{"Put": {"Item": small}}, {"Update": {"ExpressionAttributeValues": {":v": {"N": "1"}}}}]});
        assert_eq!(write_units("TransactWriteItems", &tx, &none), 4.0);
        let tx = json!({"TransactItems": [{"Put": {"Item": big}}]});
        assert_eq!(
            write_units("TransactWriteItems", &tx, &none),
            9.0,
            "3 KiB prepared and committed, one index write"
        );
        // An update is billed on the stored item, seen when it was written.
        let mut seen = SeenItems::default();
        big["sk"] = json!({"S": "META"});
        seen.written("TransactWriteItems", &tx);
        let key = json!({"pk": {"S": "x"}, "sk": {"S": "META"}});
        let update = json!({"Key": key, "ExpressionAttributeValues": {":v": {"N": "1"}}});
        assert_eq!(write_units("UpdateItem", &update, &none), 1.0, "an item never seen: what is set");
        assert_eq!(write_units("UpdateItem", &update, &seen), 1.0, "not that key");
        seen.written("PutItem", &json!({"Item": big}));
        assert_eq!(write_units("UpdateItem", &update, &seen), 6.0, "3 KiB and its index write");
        let tx = json!({"TransactItems": [{"Update": update}]});
        assert_eq!(write_units("TransactWriteItems", &tx, &seen), 9.0);
        let items: Vec<Value> = (0..30).map(|_| json!({"body": {"S": "y".repeat(300)}})).collect();
        assert_eq!(
            read_units("Query", &json!({"Items": items}), false, None),
            1.5,
            "9 KiB eventually consistent"
        );
        assert_eq!(read_units("GetItem", &json!({}), true, None), 1.0, "a miss still costs a unit");
    }

    #[test]
    fn a_projected_read_is_billed_whole_and_keeps_the_whole_size() {
        let mut seen = SeenItems::default();
        let whole = json!({"pk": {"S": "t"}, "sk": {"S": "#META"}, "data": {"S": "d".repeat(5000)}});
        seen.written("PutItem", &json!({"Item": whole}));
        let part = json!({"pk": {"S": "t"}, "sk": {"S": "#META"}});
        let query = |projection: Option<&str>| Recorded {
            service: "dynamodb".into(),
            operation: "Query".into(),
            function: None,
            wire: Duration::ZERO,
            request: Some(serde_json::to_vec(&json!({"ProjectionExpression": projection})).expect("json")),
            response: Some(serde_json::to_vec(&json!({"Items": [part]})).expect("json")),
        };
        assert_eq!(
            query(Some("pk, sk")).into_call(&mut seen).read_units,
            1.0,
            "5 KiB, not the part returned"
        );
        assert_eq!(seen.size_of(&part), item_size(&whole), "the whole size is kept");
        let get = Recorded {
            service: "dynamodb".into(),
            operation: "GetItem".into(),
            function: None,
            wire: Duration::ZERO,
            request: Some(
                serde_json::to_vec(&json!({"Key": part, "ProjectionExpression": "n"})).expect("json"),
            ),
            response: Some(serde_json::to_vec(&json!({"Item": {"n": {"N": "1"}}})).expect("json")),
        };
        assert_eq!(get.into_call(&mut seen).read_units, 1.0, "an answer without its key: the request's");
        assert_eq!(query(None).into_call(&mut seen).read_units, 0.5, "an item read whole is itself");
    }
}
