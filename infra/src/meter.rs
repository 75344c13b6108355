//! Counts and times every AWS call a client makes (an SDK interceptor, attached to the
//! DynamoDB, S3, SQS and SES clients), so the benchmark reports measured round trips, not
//! assumed ones. For DynamoDB it also estimates the capacity units each call consumes from
//! the item sizes on the wire: moto's `ReturnConsumedCapacity` answers are constants (and
//! empty for transactions), so they cannot feed a cost model.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeDeserializationInterceptorContextRef,
    BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use serde_json::Value;

/// One AWS call as the client saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `dynamodb`, `s3`, `sqs`, `sesv2`…
    pub service: String,
    pub operation: String,
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
    calls: Arc<Mutex<Vec<Call>>>,
}

impl CallMeter {
    /// The calls recorded since the last `take`.
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut self.calls.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[derive(Debug, Clone)]
struct InFlight {
    sent: Instant,
    wire: Option<Duration>,
    write_units: f64,
    consistent: bool,
    items: usize,
}

impl Storable for InFlight {
    type Storer = StoreReplace<Self>;
}

fn operation(cfg: &ConfigBag) -> (String, String) {
    cfg.load::<Metadata>().map(|m| (m.service().to_lowercase(), m.name().to_owned())).unwrap_or_default()
}

impl Intercept for CallMeter {
    fn name(&self) -> &'static str {
        "CallMeter"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, op) = operation(cfg);
        let body = (service == "dynamodb")
            .then(|| ctx.request().body().bytes().and_then(|b| serde_json::from_slice::<Value>(b).ok()))
            .flatten();
        let write_units = body.as_ref().map(|b| write_units(&op, b)).unwrap_or_default();
        let consistent = body.as_ref().is_some_and(|b| b["ConsistentRead"] == Value::Bool(true));
        let items = body.as_ref().map_or(1, |b| match op.as_str() {
            "TransactWriteItems" => b["TransactItems"].as_array().map_or(1, Vec::len),
            "BatchGetItem" => b["RequestItems"]
                .as_object()
                .map_or(1, |t| t.values().map(|r| r["Keys"].as_array().map_or(0, Vec::len)).sum()),
            _ => 1,
        });
        let sent = Instant::now();
        cfg.interceptor_state().store_put(InFlight { sent, wire: None, write_units, consistent, items });
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(mut flight) = cfg.load::<InFlight>().cloned() {
            flight.wire = Some(flight.sent.elapsed());
            cfg.interceptor_state().store_put(flight);
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        ctx: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = operation(cfg);
        let Some(flight) = cfg.load::<InFlight>() else { return Ok(()) };
        let read_units = if service == "dynamodb" {
            let body = ctx.response().body().bytes().and_then(|b| serde_json::from_slice::<Value>(b).ok());
            body.map(|b| read_units(&operation, &b, flight.consistent)).unwrap_or_default()
        } else {
            0.0
        };
        let call = Call {
            service,
            operation,
            items: flight.items,
            wire: flight.wire.unwrap_or_else(|| flight.sent.elapsed()),
            read_units,
            write_units: flight.write_units,
        };
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).push(call);
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
/// (`gsi<N>pk` present; every index projects ALL).
fn put_units(item: &Value) -> f64 {
    let indexes = item
        .as_object()
        .map_or(0, |m| m.keys().filter(|k| k.starts_with("gsi") && k.ends_with("pk")).count());
    units(item_size(item), 1024) * (1 + indexes) as f64
}

fn write_units(operation: &str, body: &Value) -> f64 {
    match operation {
        "PutItem" => put_units(&body["Item"]),
        // The stored item's size is not on the wire; what changes is.
        "UpdateItem" | "DeleteItem" => units(item_size(&body["ExpressionAttributeValues"]), 1024),
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
                2.0 * if t["Put"].is_object() {
                    put_units(&t["Put"]["Item"])
                } else if t["Update"].is_object() {
                    units(item_size(&t["Update"]["ExpressionAttributeValues"]), 1024)
                } else {
                    1.0
                }
            })
            .sum(),
        _ => 0.0,
    }
}

fn read_units(operation: &str, body: &Value, consistent: bool) -> f64 {
    let rate = if consistent { 1.0 } else { 0.5 };
    match operation {
        "GetItem" => units(item_size(&body["Item"]), 4096) * rate,
        "Query" | "Scan" => {
            let total: usize = body["Items"].as_array().into_iter().flatten().map(item_size).sum();
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
        let small = json!({"pk": {"S": "ORG#o#T#1"}, "sk": {"S": "M#1"}, "n": {"N": "12"}});
        assert_eq!(write_units("PutItem", &json!({"Item": small})), 1.0);
        let big = json!({"pk": {"S": "x"}, "body": {"S": "b".repeat(2100)}, "gsi1pk": {"S": "g"}});
        assert_eq!(write_units("PutItem", &json!({"Item": big})), 6.0, "3 KiB, written twice");
        let tx = json!({"TransactItems": [{"Put": {"Item": small}}, {"Update": {"ExpressionAttributeValues": {":v": {"N": "1"}}}}]});
        assert_eq!(write_units("TransactWriteItems", &tx), 4.0);
        let items: Vec<Value> = (0..30).map(|_| json!({"body": {"S": "y".repeat(300)}})).collect();
        assert_eq!(read_units("Query", &json!({"Items": items}), false), 1.5, "9 KiB eventually consistent");
        assert_eq!(read_units("GetItem", &json!({}), true), 1.0, "a miss still costs a unit");
    }
}
