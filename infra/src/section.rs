//! What a section of BENCHMARKS.md measures with (the stack, its meter, the prices), and
//! what one consumer function spends per message.

use std::time::Duration;

use crate::cost::{bill, Bill, Prices};
use crate::meter::{capacity, Call, CallMeter};
use crate::Stack;

/// The stack under measure, the meter of its AWS calls and the prices to bill them at.
pub struct Section<'a> {
    pub stack: &'a Stack,
    pub meter: &'a CallMeter,
    pub prices: &'a Prices,
    /// The functions' memory (template.yaml), for Lambda's bill.
    pub memory_gb: f64,
}

impl Section<'_> {
    /// What `function` spent on `messages` since the meter was last taken.
    pub fn consumer_share(&self, function: &str, messages: usize) -> ConsumerShare {
        let calls: Vec<Call> =
            self.meter.take().into_iter().filter(|c| c.function == Some(function)).collect();
        let messages = messages as f64;
        let invocations = messages / self.prices.sqs_batch_size;
        let cost = bill(self.prices, &calls, Duration::ZERO, invocations, 0.0, self.memory_gb);
        ConsumerShare { calls, messages, cost }
    }
}

/// One consumer's calls over a run of messages, and their bill.
pub struct ConsumerShare {
    calls: Vec<Call>,
    messages: f64,
    cost: Bill,
}

impl ConsumerShare {
    /// Calls per message.
    pub fn calls(&self) -> f64 {
        self.calls.len() as f64 / self.messages
    }

    /// Calls of `operation` per message.
    pub fn per(&self, operation: &str) -> f64 {
        self.count(|c| c.operation == operation)
    }

    /// Calls to `service` per message.
    pub fn per_service(&self, service: &str) -> f64 {
        self.count(|c| c.service == service)
    }

    fn count(&self, which: impl Fn(&Call) -> bool) -> f64 {
        self.calls.iter().filter(|c| which(c)).count() as f64 / self.messages
    }

    /// "1.17 calls (GetItem 0.00, …), 1.4 RRU / 3.5 WRU; **$0.0024 per 1,000 messages**{whom}
    /// (DynamoDB $…, SQS $…, Lambda $…{aside})": the calls of each of `parts` per message,
    /// the capacity and the bill.
    pub fn describe(&self, parts: &[(&str, f64)], whom: &str, aside: &str) -> String {
        let parts: Vec<String> = parts.iter().map(|(name, per)| format!("{name} {per:.2}")).collect();
        let (r, w) = capacity(&self.calls);
        let per = |amount: f64| amount / self.messages;
        let dollars = |amount: f64| amount * 1000.0 / self.messages;
        format!(
            "{:.2} calls ({}), {:.1} RRU / {:.1} WRU; **${:.4} per 1,000 messages**{whom} (DynamoDB ${:.4}, \
             SQS ${:.4}, Lambda ${:.4}{aside})",
            self.calls(),
            parts.join(", "),
            per(r),
            per(w),
            dollars(self.cost.total()),
            dollars(self.cost.dynamodb),
            dollars(self.cost.sqs),
            dollars(self.cost.lambda),
        )
    }
}
