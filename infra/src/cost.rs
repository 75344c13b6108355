//! The cost model of `make bench`: dollars from measured calls, capacity units and CPU
//! time, with the unit prices of infra/prices.yaml.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use crate::meter::Call;

#[derive(Debug, Clone, Deserialize)]
pub struct Prices {
    pub prices_date: String,
    pub region: String,
    pub lambda_arm64_per_gb_second: f64,
    pub lambda_per_million_requests: f64,
    pub api_gateway_http_per_million_requests: f64,
    pub dynamodb_per_million_write_units: f64,
    pub dynamodb_per_million_read_units: f64,
    pub sqs_per_million_requests: f64,
    pub sns_per_million_publishes: f64,
    pub ses_per_thousand_emails: f64,
    pub s3_per_thousand_put: f64,
    pub s3_per_thousand_get: f64,
    pub kms_asymmetric_per_ten_thousand_requests: f64,
    pub aws_call_latency_ms: HashMap<String, f64>,
    pub sqs_batch_size: f64,
}

impl Prices {
    pub fn load() -> anyhow::Result<Self> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prices.yaml");
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        serde_yaml::from_str(&text).context("parsing infra/prices.yaml")
    }

    /// The in-region latency assumed for one call.
    pub fn latency(&self, operation: &str) -> Duration {
        let ms = self.aws_call_latency_ms.get(operation).or_else(|| self.aws_call_latency_ms.get("default"));
        Duration::from_secs_f64(ms.copied().unwrap_or(10.0) / 1000.0)
    }
}

/// Dollars by component, for some amount of work.
#[derive(Debug, Clone, Default)]
pub struct Bill {
    pub api_gateway: f64,
    pub lambda: f64,
    pub dynamodb: f64,
    pub sqs: f64,
    pub sns: f64,
    pub ses: f64,
    pub s3: f64,
    pub kms: f64,
}

impl Bill {
    pub fn total(&self) -> f64 {
        self.api_gateway + self.lambda + self.dynamodb + self.sqs + self.sns + self.ses + self.s3 + self.kms
    }

    pub fn scaled(&self, factor: f64) -> Self {
        Self {
            api_gateway: self.api_gateway * factor,
            lambda: self.lambda * factor,
            dynamodb: self.dynamodb * factor,
            sqs: self.sqs * factor,
            sns: self.sns * factor,
            ses: self.ses * factor,
            s3: self.s3 * factor,
            kms: self.kms * factor,
        }
    }

    pub fn add(&self, other: &Self) -> Self {
        Self {
            api_gateway: self.api_gateway + other.api_gateway,
            lambda: self.lambda + other.lambda,
            dynamodb: self.dynamodb + other.dynamodb,
            sqs: self.sqs + other.sqs,
            sns: self.sns + other.sns,
            ses: self.ses + other.ses,
            s3: self.s3 + other.s3,
            kms: self.kms + other.kms,
        }
    }

    pub fn rows(&self) -> [(&'static str, f64); 8] {
        [
            ("API Gateway (HTTP API)", self.api_gateway),
            ("Lambda (arm64)", self.lambda),
            ("DynamoDB (on-demand)", self.dynamodb),
            ("SQS", self.sqs),
            ("SNS", self.sns),
            ("SES", self.ses),
            ("S3", self.s3),
            ("KMS (audit checkpoint signatures)", self.kms),
        ]
    }
}

impl Bill {
    /// What `messages` delivered to the consumers' queues cost there: each an SQS request
    /// on the queue's side (SNS delivers to SQS for free), handed over in `batches` Lambda
    /// invocations (billed by [`bill`]).
    pub fn deliveries(prices: &Prices, messages: u64) -> Self {
        Self { sqs: messages as f64 * prices.sqs_per_million_requests / 1e6, ..Self::default() }
    }
}

/// What AWS would bill for `calls`, made by Lambda invocations that together spent `cpu`
/// (duration = CPU + the modelled latency of each call, billed per whole millisecond per
/// invocation), behind `http_requests` API Gateway requests.
pub fn bill(
    prices: &Prices,
    calls: &[Call],
    cpu: Duration,
    invocations: f64,
    http_requests: f64,
    memory_gb: f64,
) -> Bill {
    let mut b = Bill {
        api_gateway: http_requests * prices.api_gateway_http_per_million_requests / 1e6,
        ..Bill::default()
    };
    let mut duration = cpu;
    for call in calls {
        duration += prices.latency(&call.operation);
        match call.service.as_str() {
            "dynamodb" => {
                b.dynamodb += call.read_units * prices.dynamodb_per_million_read_units / 1e6
                    + call.write_units() * prices.dynamodb_per_million_write_units / 1e6;
            }
            "sqs" => b.sqs += prices.sqs_per_million_requests / 1e6,
            // Its deliveries to the subscribed queues are SQS requests counted where the
            // queues are read ([`Bill::deliveries`]).
            "sns" => b.sns += prices.sns_per_million_publishes / 1e6,
            // Only the audit key's calls (an ECC key: asymmetric requests).
            "kms" => b.kms += prices.kms_asymmetric_per_ten_thousand_requests / 1e4,
            "sesv2" | "ses" => b.ses += prices.ses_per_thousand_emails / 1e3,
            "s3" if call.operation.starts_with("Put") => b.s3 += prices.s3_per_thousand_put / 1e3,
            "s3" => b.s3 += prices.s3_per_thousand_get / 1e3,
            _ => {}
        }
    }
    // Rounded up per invocation: half a millisecond on average.
    let billed_secs = duration.as_secs_f64() + invocations * 0.0005;
    b.lambda = billed_secs * memory_gb * prices.lambda_arm64_per_gb_second
        + invocations * prices.lambda_per_million_requests / 1e6;
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_price_file_parses_and_a_bill_adds_up() {
        let prices = Prices::load().unwrap();
        let call = |service: &str, operation: &str, r: f64, w: f64| Call {
            service: service.into(),
            operation: operation.into(),
            function: None,
            transaction_actions: vec![],
            items: 1,
            wire: Duration::ZERO,
            read_units: r,
            item_writes: vec![crate::meter::ItemWrite { kind: "TABLE ITEM".to_owned(), size: 100, units: w }],
        };
        let calls = [
            call("dynamodb", "GetItem", 0.5, 0.0),
            call("dynamodb", "PutItem", 0.0, 2.0),
            call("sqs", "SendMessage", 0.0, 0.0),
            call("sns", "Publish", 0.0, 0.0),
            call("kms", "Sign", 0.0, 0.0),
        ];
        let b = bill(&prices, &calls, Duration::from_millis(1), 1.0, 1.0, 0.25);
        let ddb = 0.5 * prices.dynamodb_per_million_read_units / 1e6
            + 2.0 * prices.dynamodb_per_million_write_units / 1e6;
        assert!((b.dynamodb - ddb).abs() < 1e-15);
        assert!((b.sqs - prices.sqs_per_million_requests / 1e6).abs() < 1e-15);
        assert!((b.sns - prices.sns_per_million_publishes / 1e6).abs() < 1e-15);
        assert!((b.kms - prices.kms_asymmetric_per_ten_thousand_requests / 1e4).abs() < 1e-15);
        let delivered = Bill::deliveries(&prices, 3);
        assert!((delivered.sqs - 3.0 * prices.sqs_per_million_requests / 1e6).abs() < 1e-15);
        assert!(b.lambda > 0.0 && b.total() > b.lambda);
    }
}
