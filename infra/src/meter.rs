//! Counts and times every AWS call a client makes (an SDK interceptor, attached to the
//! DynamoDB, S3, SQS and SES clients), so the benchmark reports measured round trips, not
//! assumed ones, and marks each call's start and end for the CPU meter (`crate::cpu`). For
//! DynamoDB it also estimates the capacity units each call consumes from the item sizes on
//! the wire and, for updates and deletes, from the stored items it has seen (see
//! `capacity::SeenItems`): moto's `ReturnConsumedCapacity` answers are constants (and empty for
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

mod capacity;

pub use capacity::ItemWrite;
use capacity::{item_writes, read_units, SeenItems, Whole};

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
    /// Estimated DynamoDB read request units (0 for other services).
    pub read_units: f64,
    /// Estimated DynamoDB write request units, item by item, with the kind of item written
    /// (`THREAD #PART#…`: see `capacity::item_kind`); none for other services.
    pub item_writes: Vec<ItemWrite>,
}

impl Call {
    /// The call's estimated DynamoDB write request units.
    pub fn write_units(&self) -> f64 {
        self.item_writes.iter().map(|w| w.units).sum()
    }
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

/// The read and write request units `calls` consumed together.
pub fn capacity(calls: &[Call]) -> (f64, f64) {
    calls.iter().fold((0.0, 0.0), |(r, w), c| (r + c.read_units, w + c.write_units()))
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
        // A refused condition or a cancelled transaction answers an error: nothing stored.
        let succeeded = !response.as_ref().is_some_and(|b| b["__type"].is_string());
        let item_writes = request.as_ref().map(|b| item_writes(op, b, seen, succeeded)).unwrap_or_default();
        if let Some(body) = request.as_ref().filter(|_| succeeded) {
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
            item_writes,
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::capacity::item_size;
    use super::*;

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
