//! A webhook receiver on loopback for the harnesses (`make chaos`, `make bench`): records
//! every delivery it gets (id, body, when) and answers 200, or 503 while it is "down".

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub body: Value,
    pub at: Instant,
    /// Answered 503 (the receiver was down).
    pub refused: bool,
}

#[derive(Clone)]
pub struct WebhookSink {
    pub url: String,
    got: Arc<Mutex<Vec<Received>>>,
    down: Arc<AtomicBool>,
}

impl WebhookSink {
    pub async fn start() -> anyhow::Result<Self> {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let down = Arc::new(AtomicBool::new(false));
        let (g, d) = (got.clone(), down.clone());
        let app = axum::Router::new().fallback(move |headers: HeaderMap, raw: String| {
            let (got, down) = (g.clone(), d.clone());
            async move {
                let refused = down.load(Ordering::SeqCst);
                let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
                if let Ok(mut got) = got.lock() {
                    got.push(Received { id, body, at: Instant::now(), refused });
                }
                if refused {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hooks", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { url, got, down })
    }

    /// While down, every delivery is answered 503 (and so retried).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// The ids of the deliveries taken (answered 200), by the message each is about.
    pub fn taken_by_message(&self) -> BTreeMap<String, Vec<String>> {
        let mut by = BTreeMap::<String, Vec<String>>::new();
        for r in self.received().into_iter().filter(|r| !r.refused) {
            if let Some(message) = r.body["data"]["message"]["id"].as_str() {
                by.entry(message.to_owned()).or_default().push(r.id);
            }
        }
        by
    }
}
