//! CloudWatch metrics as Embedded Metric Format log lines: a Lambda function's structured
//! log line becomes a metric (no PutMetricData call, nothing to wait for). Written only
//! inside Lambda (`AWS_LAMBDA_FUNCTION_NAME`), so the local stack's output stays readable.

use serde_json::{json, Map, Value};

/// The namespace of the product's own metrics (template.yaml's alarms name it).
pub const NAMESPACE: &str = "ResidentMessaging";
/// Every metric carries this dimension, `Service` = what measured it.
const SERVICE: &str = "Service";

/// One EMF line: `metrics` (name, value, unit) measured by `service`, at `at_ms`.
pub fn line(service: &str, metrics: &[(&str, f64, &str)], at_ms: i64) -> String {
    let definitions: Vec<Value> =
        metrics.iter().map(|(name, _, unit)| json!({"Name": name, "Unit": unit})).collect();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": at_ms,
            "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [[SERVICE]], "Metrics": definitions}],
        }),
    );
    root.insert(SERVICE.into(), json!(service));
    for (name, value, _) in metrics {
        root.insert((*name).into(), json!(value));
    }
    Value::Object(root).to_string()
}

/// Writes the metrics when running in Lambda.
pub fn emit(service: &str, metrics: &[(&str, f64, &str)]) {
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        println!("{}", line(service, metrics, chrono::Utc::now().timestamp_millis()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_declares_each_metric_with_its_unit_and_carries_its_value() {
        let line =
            line("triage", &[("Escalations", 1.0, "Count"), ("ClassifyMicros", 42.5, "Microseconds")], 7);
        let v: Value = serde_json::from_str(&line).unwrap();
        let declared = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], NAMESPACE);
        assert_eq!(declared["Dimensions"], json!([["Service"]]));
        assert_eq!(declared["Metrics"][1], json!({"Name": "ClassifyMicros", "Unit": "Microseconds"}));
        assert_eq!(
            (v["Service"].as_str(), v["Escalations"].as_f64(), v["_aws"]["Timestamp"].as_i64()),
            (Some("triage"), Some(1.0), Some(7))
        );
    }
}
