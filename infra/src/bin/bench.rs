//! `make bench`: per-route latency against the local stack, the AWS calls each route makes
//! (counted by an SDK interceptor), its CPU time, how close it comes to the emulator's raw
//! latency for those calls, cold starts and binary sizes, and a cost model. Prints the
//! report and writes it to BENCHMARKS.md.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};
use infra::cost::{bill, Bill, Prices};
use infra::cpu::{process_cpu, CpuMeter};
use infra::load::percentile;
use infra::meter::{Call, CallMeter};
use infra::section::Section;
use infra::stack::queue_depth;
use infra::targets::{self, RouteFigures};
use infra::{coldstart, token, Stack, StackOptions};
use serde_json::{json, Value};

const ROUTES: [&str; 9] = [
    "create thread",
    "post message",
    "post with template",
    "schedule a message",
    "list inbox",
    "open thread",
    "list messages",
    "mark read",
    "presign attachment",
];

struct Route {
    name: &'static str,
    latencies: Vec<Duration>,
    /// The handler's own CPU time (AWS SDK calls excluded), and with them.
    cpu: Vec<Duration>,
    cpu_with_calls: Vec<Duration>,
    /// The whole process's CPU time over each request: client, server and handler.
    process_cpu: Vec<Duration>,
    floors: Vec<Duration>,
    /// Each request's time on the wire to AWS: the emulator serving the calls it made.
    wires: Vec<Duration>,
    calls: Vec<Call>,
}

/// Messages of a realistic length (the 140 characters of a preview are full), as the cost
/// per message depends on it: a resident's request and a staff answer.
const RESIDENT_TEXT: &str =
    "The kitchen tap drips all night and the sound keeps us awake. Could someone replace \
    the washer this week? I work days but I am home after 4 pm most evenings.";
const STAFF_TEXT: &str = "Thanks for letting us know. A plumber is booked for Thursday between 1 and 3 pm; \
    please clear the cabinet under the sink before then, and reply here if that time does not suit you.";

/// `a ÷ b` to two places, `–` when `b` is zero.
fn ratio(a: Duration, b: Duration) -> String {
    if b.is_zero() {
        "–".to_owned()
    } else {
        format!("{:.2}", a.as_secs_f64() / b.as_secs_f64())
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// A call's key in the raw-latency table: transactions cost moto more per item.
fn raw_key(call: &Call) -> String {
    match call.operation.as_str() {
        "TransactWriteItems" | "BatchGetItem" => format!("{}×{}", call.operation, call.items.min(5)),
        op => op.to_owned(),
    }
}

struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    async fn call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        parse(&self.text(token, method, path, body).await?)
    }

    /// The answer's body as it arrived: a route's latency ends there, not after the
    /// client has parsed it.
    async fn text(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<String> {
        let mut req = self.http.request(method, format!("{}{path}", self.url)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        anyhow::ensure!(status.is_success(), "{path}: {status} {text}");
        Ok(text)
    }
}

fn parse(text: &str) -> anyhow::Result<Value> {
    Ok(if text.is_empty() { Value::Null } else { serde_json::from_str(text)? })
}

/// The emulator's latency for single calls of each kind the routes make, through a metered
/// client like the API's: `samples` of each, p50 by `raw_key`.
struct Raw {
    ddb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    table: String,
    queue_url: String,
    meter: CallMeter,
    all: HashMap<String, Vec<Duration>>,
}

impl Raw {
    async fn measure(&mut self, samples: usize, round: usize) -> anyhow::Result<HashMap<String, Duration>> {
        let bench_org = domain::OrgId::parse("bench")?;
        let key = |pk: &str, sk: &str| {
            HashMap::from([
                (store::keys::PK.to_owned(), AttributeValue::S(pk.to_owned())),
                (store::keys::SK.to_owned(), AttributeValue::S(sk.to_owned())),
            ])
        };
        let t = &self.table;
        for i in 0..samples {
            let pk = format!("{}RAW#{round}#{i}", store::keys::org_prefix(&bench_org));
            self.ddb.put_item().table_name(t).set_item(Some(key(&pk, "A"))).send().await?;
            self.ddb.get_item().table_name(t).set_key(Some(key(&pk, "A"))).send().await?;
            self.ddb
                .update_item()
                .table_name(t)
                .set_key(Some(key(&pk, "A")))
                .update_expression("SET n = :n")
                .expression_attribute_values(":n", AttributeValue::N(i.to_string()))
                .send()
                .await?;
            self.ddb
                .query()
                .table_name(t)
                .key_condition_expression("pk = :p")
                .expression_attribute_values(":p", AttributeValue::S(pk.clone()))
                .send()
                .await?;
            for n in 1..=5 {
                let items = (0..n)
                    .map(|j| {
                        let put = Put::builder()
                            .table_name(t)
                            .set_item(Some(key(&pk, &format!("T{n}#{j}"))))
                            .build()?;
                        Ok(TransactWriteItem::builder().put(put).build())
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                self.ddb.transact_write_items().set_transact_items(Some(items)).send().await?;
                let keys = (0..n).map(|j| key(&pk, &format!("T{n}#{j}"))).collect::<Vec<_>>();
                let batch = KeysAndAttributes::builder().set_keys(Some(keys)).build()?;
                self.ddb.batch_get_item().request_items(t, batch).send().await?;
            }
            self.sqs.send_message().queue_url(&self.queue_url).message_body("raw").send().await?;
        }
        let mut round_p50: HashMap<String, Vec<Duration>> = HashMap::new();
        for call in self.meter.take() {
            round_p50.entry(raw_key(&call)).or_default().push(call.wire);
        }
        Ok(round_p50
            .into_iter()
            .map(|(k, mut v)| {
                self.all.entry(k.clone()).or_default().extend(&v);
                v.sort();
                (k, percentile(&v, 0.5))
            })
            .collect())
    }
}

/// The route's calls in the order made, each with its p50 time on the wire and the raw p50
/// of its kind: where a route's time goes, and which calls cost moto more than the raw ones.
fn call_breakdown(calls: &[Call], raw: &HashMap<String, Vec<Duration>>) -> String {
    let mut order: Vec<String> = Vec::new();
    let mut wire: HashMap<String, Vec<Duration>> = HashMap::new();
    for c in calls {
        let key = raw_key(c);
        if !wire.contains_key(&key) {
            order.push(key.clone());
        }
        wire.entry(key).or_default().push(c.wire);
    }
    let p50 = |ds: &[Duration]| {
        let mut ds = ds.to_vec();
        ds.sort();
        percentile(&ds, 0.5)
    };
    order
        .iter()
        .map(|k| {
            let floor = raw.get(k).map_or("–".to_owned(), |r| ms(p50(r)));
            format!("{k} {} ({floor})", ms(p50(&wire[k])))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn memory_gb() -> anyhow::Result<f64> {
    let template: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(infra::template_path())?)?;
    let mb = template["Globals"]["Function"]["MemorySize"].as_f64().context("Globals.Function.MemorySize")?;
    Ok(mb / 1024.0)
}

/// Waits until both queues have been empty for three checks in a row, then the digest
/// window and a dispatch round more.
async fn drain(sqs: &aws_sdk_sqs::Client, urls: &[String]) -> anyhow::Result<()> {
    let mut quiet = 0;
    let deadline = Instant::now() + Duration::from_secs(900);
    while quiet < 3 {
        anyhow::ensure!(Instant::now() < deadline, "the queues did not drain in 15 minutes");
        let mut waiting = 0;
        for url in urls {
            waiting += queue_depth(sqs, url).await?;
        }
        quiet = if waiting == 0 { quiet + 1 } else { 0 };
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    tokio::time::sleep(infra::stack::LOCAL_DIGEST_WINDOW + Duration::from_secs(2)).await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = infra::cli::env_or("BENCH_N", 500)?;
    let cold_starts: usize = infra::cli::env_or("COLDSTART_N", 20)?;
    let prices = Prices::load()?;
    let meter = CallMeter::default();
    let cpu = CpuMeter::default();
    // The consumers and schedules start after the routes are measured: they share the
    // single-threaded emulator and would skew the request paths. Settings are kept a
    // minute, as deployed, so the consumers' reads of them per message are AWS's however
    // long the drain takes on this machine.
    let mut stack = Stack::start(StackOptions {
        meter: Some(meter.clone()),
        cpu_meter: Some(cpu.clone()),
        workers: false,
        settings_ttl: app::SETTINGS_TTL,
        ..StackOptions::default()
    })
    .await?;
    infra::seed::lift_quotas(&stack.store, &domain::OrgId::parse("demo")?).await?;
    // The routes and the consumers' drain run in an org shaped as production's: an org id of
    // 16 characters and contacts' ids (the demo's short ones understate every item's size).
    let org = domain::OrgId::parse(PRODUCTION_ORG)?;
    let (users, routing) = infra::seed::production_shaped(&org);
    infra::seed::seed_users(&stack.store, &users).await?;
    stack.store.put_routing(&org, &routing).await?;
    infra::seed::lift_quotas(&stack.store, &org).await?;
    // Cold starts first, on the fresh table: moto's queries slow down as the table grows,
    // and the first event of most functions queries it.
    let (cold, cold_rows) = match cold_starts {
        0 => ("Cold starts not measured (`COLDSTART_N=0`).\n".to_owned(), None),
        starts => match coldstart::measure(&stack, starts).await {
            Ok(rows) => (coldstart::markdown(&rows), Some(rows)),
            Err(e) => (format!("Cold starts not measured: {e:#}\n"), None),
        },
    };
    let client = Client { http: reqwest::Client::new(), url: stack.url.clone() };
    let token_of =
        |user: &domain::User| token::mint(token::DEFAULT_SECRET, user.id.as_str(), PRODUCTION_ORG, 3600);
    let (admin, resident) = (token_of(&users[0]), token_of(&users[4]));
    use reqwest::Method as M;

    let thread = client
        .call(
            &resident,
            M::POST,
            "/v1/threads",
            Some(
                json!({"topic": "general", "subject": "Parking permit for a visitor's car", "body": "start"}),
            ),
        )
        .await?;
    let thread_id = thread["id"].as_str().context("thread id")?.to_owned();
    let template = client
        .call(
            &admin,
            M::POST,
            "/v1/templates",
            Some(json!({"name": "Visit", "body": "Hi {{resident.first_name|there}}, the technician comes to unit {{unit}} tomorrow. {{staff.name}}"})),
        )
        .await?;
    let template_id = template["id"].as_str().context("template id")?.to_owned();
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&stack.sdk).interceptor(meter.clone()).build(),
    );
    let raw_queue =
        sqs.create_queue().queue_name("BenchRaw").send().await?.queue_url().unwrap_or_default().to_owned();
    let mut raw = Raw {
        ddb: stack.store.client().clone(),
        sqs: sqs.clone(),
        table: stack.store.table().to_owned(),
        queue_url: raw_queue,
        meter: meter.clone(),
        all: HashMap::new(),
    };
    meter.take();
    cpu.take();

    let mut routes = Vec::new();
    let mut replies = Vec::new();
    for (round, name) in ROUTES.into_iter().enumerate() {
        // Raw latencies right before the route, on the table as it is then: moto's calls
        // slow down as the table grows.
        let floor_of = raw.measure(15, round).await?;
        cpu.take();
        let mut route = Route {
            name,
            latencies: vec![],
            cpu: vec![],
            cpu_with_calls: vec![],
            process_cpu: vec![],
            floors: vec![],
            wires: vec![],
            calls: vec![],
        };
        for i in 0..n {
            let start = Instant::now();
            let process_start = process_cpu();
            let answer = match name {
                "create thread" => {
                    let body = json!({"topic": "maintenance", "subject": format!("Water under the kitchen sink ({i})"), "body": RESIDENT_TEXT});
                    client.text(&resident, M::POST, "/v1/threads", Some(body)).await?
                }
                "post message" => {
                    let path = format!("/v1/threads/{thread_id}/messages");
                    let body = json!({"body": format!("{STAFF_TEXT} ({i})")});
                    client.text(&admin, M::POST, &path, Some(body)).await?
                }
                "post with template" => {
                    let path = format!("/v1/threads/{thread_id}/messages");
                    client.text(&admin, M::POST, &path, Some(json!({"template_id": template_id}))).await?
                }
                "schedule a message" => {
                    let path = format!("/v1/threads/{thread_id}/messages");
                    let body = json!({"body": format!("later {i}"), "send_at": tomorrow});
                    client.text(&admin, M::POST, &path, Some(body)).await?
                }
                "list inbox" => {
                    client.text(&admin, M::GET, "/v1/threads?folder=unread&limit=25", None).await?
                }
                "open thread" => {
                    client.text(&resident, M::GET, &format!("/v1/threads/{thread_id}"), None).await?
                }
                "list messages" => {
                    client
                        .text(&resident, M::GET, &format!("/v1/threads/{thread_id}/messages?limit=25"), None)
                        .await?
                }
                "mark read" => {
                    // Each request marks the next staff reply read: the marker moves every time.
                    let body = json!({"message_id": replies.get(i).context("a reply to mark read")?});
                    client
                        .text(&resident, M::POST, &format!("/v1/threads/{thread_id}/read"), Some(body))
                        .await?
                }
                _ => {
                    let body = json!({"file_name": format!("leak-{i}.jpg"), "content_type": "image/jpeg", "size_bytes": 180_000});
                    client.text(&resident, M::POST, "/v1/attachments", Some(body)).await?
                }
            };
            route.latencies.push(start.elapsed());
            route.process_cpu.push(process_cpu().saturating_sub(process_start));
            let answer = parse(&answer)?;
            if name == "post message" {
                replies.push(answer["id"].as_str().context("message id")?.to_owned());
            }
            let spent = cpu.take();
            route.cpu.push(spent.iter().map(|c| c.own()).sum());
            route.cpu_with_calls.push(spent.iter().map(|c| c.total).sum());
            let calls = meter.take();
            route
                .floors
                .push(calls.iter().map(|c| floor_of.get(&raw_key(c)).copied().unwrap_or(c.wire)).sum());
            route.wires.push(calls.iter().map(|c| c.wire).sum());
            route.calls.extend(calls);
            if name == "schedule a message" {
                // Cancelled, unmeasured: an author holds at most 100 waiting.
                let id = answer["id"].as_str().context("scheduled id")?;
                client.call(&admin, M::DELETE, &format!("/v1/scheduled/{id}"), None).await?;
                meter.take();
                cpu.take();
            }
        }
        routes.push(route);
    }

    // The consumers' share of the messages just written (one per created thread, per reply
    // and per templated reply; the scheduled ones were cancelled): start them, let them
    // drain the queues, and subtract what the schedules do when idle over as long a time.
    let messages = 3 * n;
    meter.take();
    let (received_before, batches_before) = infra::local_workers::received();
    stack.start_workers();
    let started = Instant::now();
    let urls: Vec<String> = stack.queue_urls.values().cloned().collect();
    drain(&sqs, &urls).await?;
    let drain_time = started.elapsed();
    let (received_after, batches_after) = infra::local_workers::received();
    let (delivered, batches) = (received_after - received_before, batches_after - batches_before);
    let busy: Vec<Call> = meter.take().into_iter().filter(|c| c.operation != "GetQueueAttributes").collect();
    let idle_window = Duration::from_secs(10);
    tokio::time::sleep(idle_window).await;
    let idle: Vec<Call> = meter.take().into_iter().filter(|c| c.operation != "GetQueueAttributes").collect();
    let scheduled = scheduled_latency(&client, &admin, &thread_id).await?;
    meter.take();
    let search = search_portfolio(&stack, &client, &meter, &admin, &thread_id).await?;
    meter.take();
    let memory = memory_gb()?;
    let campaign = campaign_figures(&stack, &meter, &prices, memory).await?;
    let triage = infra::triage_bench::figures(&stack).await?;
    meter.take();
    let section = Section { stack: &stack, meter: &meter, prices: &prices, memory_gb: memory };
    let webhooks = infra::webhook_bench::figures(&section).await?;
    meter.take();
    let audit = infra::audit_bench::figures(&section).await?;
    meter.take();
    let idle_scale = drain_time.as_secs_f64() / idle_window.as_secs_f64();
    // Every batch the event sources handed over is an invocation; every message a queue
    // received, an SQS request (SNS's delivery).
    let workers_bill = bill(&prices, &busy, Duration::ZERO, batches as f64, 0.0, memory)
        .add(&Bill::deliveries(&prices, delivered));
    let idle_bill = bill(&prices, &idle, Duration::ZERO, 0.0, 0.0, memory).scaled(idle_scale);
    let per_message_workers = Bill {
        api_gateway: 0.0,
        lambda: (workers_bill.lambda - idle_bill.lambda).max(0.0),
        dynamodb: (workers_bill.dynamodb - idle_bill.dynamodb).max(0.0),
        sqs: (workers_bill.sqs - idle_bill.sqs).max(0.0),
        sns: (workers_bill.sns - idle_bill.sns).max(0.0),
        ses: (workers_bill.ses - idle_bill.ses).max(0.0),
        s3: (workers_bill.s3 - idle_bill.s3).max(0.0),
        kms: (workers_bill.kms - idle_bill.kms).max(0.0),
    }
    .scaled(1.0 / messages as f64);
    let emails = busy.iter().filter(|c| c.operation == "SendEmail").count();

    let mut out = String::new();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| format!("{:.0} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    out.push_str(&format!(
        "# Benchmarks\n\n{} — {cores} cores, {mem}; {} build; {n} sequential requests per route against the local \
         stack (dev gateway → handlers → AWS SDK → moto 5.2.5 on loopback). Reproduce with `make bench` \
         (`BENCH_N`, `COLDSTART_N`).\n\n## Routes\n\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        if cfg!(debug_assertions) { "debug" } else { "release" },
    ));
    out.push_str(
        "| route | p50 ms | p95 ms | p99 ms | DynamoDB / S3 / SNS calls | RRU / WRU | own CPU µs p50 (p99) | CPU with SDK calls µs p50 | process CPU µs p50 | raw floor ms | p50 ÷ floor | p50 ÷ own calls | own overhead ms |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut api_bills = HashMap::new();
    let mut figures = Vec::new();
    for r in &mut routes {
        r.latencies.sort();
        r.cpu.sort();
        r.cpu_with_calls.sort();
        r.process_cpu.sort();
        r.floors.sort();
        r.wires.sort();
        let count = r.latencies.len() as f64;
        let per = |service: &str| r.calls.iter().filter(|c| c.service == service).count() as f64 / count;
        let (rru, wru) = infra::meter::capacity(&r.calls);
        let total: Duration = r.latencies.iter().sum();
        let wire: Duration = r.calls.iter().map(|c| c.wire).sum();
        let floor = percentile(&r.floors, 0.5);
        let p50 = percentile(&r.latencies, 0.5);
        let own_calls = percentile(&r.wires, 0.5);
        figures.push(RouteFigures {
            over_own_calls: p50.as_secs_f64() / own_calls.as_secs_f64().max(f64::MIN_POSITIVE),
            own_cpu_p50: percentile(&r.cpu, 0.5),
            own_cpu_p99: percentile(&r.cpu, 0.99),
        });
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.1} / {:.1} / {:.1} | {:.1} / {:.1} | {:.0} ({:.0}) | {:.0} | {:.0} | {} | {} | {} | {} |\n",
            r.name,
            ms(p50),
            ms(percentile(&r.latencies, 0.95)),
            ms(percentile(&r.latencies, 0.99)),
            per("dynamodb"),
            per("s3"),
            per("sns"),
            rru / count,
            wru / count,
            percentile(&r.cpu, 0.5).as_secs_f64() * 1e6,
            percentile(&r.cpu, 0.99).as_secs_f64() * 1e6,
            percentile(&r.cpu_with_calls, 0.5).as_secs_f64() * 1e6,
            percentile(&r.process_cpu, 0.5).as_secs_f64() * 1e6,
            ms(floor),
            ratio(p50, floor),
            ratio(p50, own_calls),
            ms(total.saturating_sub(wire).div_f64(count)),
        ));
        // Lambda bills all of it.
        let cpu_total: Duration = r.cpu_with_calls.iter().sum();
        api_bills
            .insert(r.name, bill(&prices, &r.calls, cpu_total, count, count, memory).scaled(1.0 / count));
    }
    out.push_str("\n| route | each call's p50 on the wire, ms (raw p50 of that kind of call) |\n|---|---|\n");
    for r in &routes {
        out.push_str(&format!("| {} | {} |\n", r.name, call_breakdown(&r.calls, &raw.all)));
    }
    out.push_str(
        "\nRaw floor: the sum of the emulator's p50 for each call the request made, measured right before the \
         route on the same table and client (transactions and batches by item count). p50 ÷ own calls: the p50 \
         latency over the p50 of each request's time on the wire, that is over what the emulator took to serve the \
         very calls the request made. Own overhead: mean latency \
         minus mean time on the wire to AWS (HTTP client and server, token check, JSON, SDK signing). CPU with SDK \
         calls: the thread CPU time over every poll of the request (token check, routing, JSON, and building, \
         signing and parsing SDK calls, with the kernel's share of their loopback I/O and of a TCP connect per call: \
         moto closes each connection after one answer); waiting is excluded. Own CPU: the same, less the CPU spent \
         between each SDK call's start and end (marked by the interceptor). Process CPU: the whole bench process \
         (HTTP client, API, handler, every thread) over each request, a bound on the others. RRU/WRU: DynamoDB capacity estimated from item sizes on the wire \
         (moto's ConsumedCapacity is a constant).\n\n| raw emulator call | p50 ms | p95 ms | samples |\n|---|---|---|---|\n",
    );
    let mut raw_rows: Vec<_> = raw.all.into_iter().collect();
    raw_rows.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, mut ds) in raw_rows {
        ds.sort();
        out.push_str(&format!(
            "| {name} | {} | {} | {} |\n",
            ms(percentile(&ds, 0.5)),
            ms(percentile(&ds, 0.95)),
            ds.len()
        ));
    }

    out.push_str(&scheduled);
    out.push_str(&search);
    out.push_str(&campaign);
    out.push_str(&triage);
    out.push_str(&webhooks);
    out.push_str(&audit);
    out.push_str("\n## Cold starts and binaries\n\n");
    out.push_str(&cold);

    // The mix the consumers drained: a third start a thread, two thirds reply.
    let per_message = LIVE_WRITES
        .iter()
        .fold(Bill::default(), |sum, route| sum.add(&api_bills.get(route).cloned().unwrap_or_default()))
        .scaled(1.0 / LIVE_WRITES.len() as f64)
        .add(&per_message_workers);
    out.push_str(&format!(
        "\n## Cost model\n\nDollars per 1,000 messages posted and notified, {} list prices of {} (infra/prices.yaml). \
         A third of the messages start a thread, two thirds reply (the three live write routes above: create \
         thread, post message, post with template); the consumers' share was \
         measured by starting them after the routes: {messages} messages drained in {:.0} s with {} AWS calls \
         ({emails} e-mails; locally digests gather a recipient's notifications over 2 s, in AWS over 60 s), less \
         what the schedules do when idle over as long; the functions keep the orgs' settings a minute, as deployed. \
         The consumers' queues received {delivered} messages \
         ({:.1} per message: an event reaches every queue whose filter policy takes its kind), each an SQS \
         request, in {batches} batches, each a Lambda invocation. Lambda duration = measured CPU + the in-region latency \
         prices.yaml assumes for each call, at {:.0} MB; the consumers' CPU is not metered (their calls' latency \
         dominates).\n\n| component | $ per 1,000 messages |\n|---|---|\n",
        prices.region,
        prices.prices_date,
        drain_time.as_secs_f64(),
        busy.len(),
        delivered as f64 / messages as f64,
        memory * 1024.0,
    ));
    for (component, dollars) in per_message.rows() {
        out.push_str(&format!("| {component} | {:.5} |\n", dollars * 1000.0));
    }
    out.push_str(&format!("| **total** | **{:.5}** |\n", per_message.total() * 1000.0));
    out.push_str(&consumer_breakdown(&busy, messages));
    let live_writes: Vec<&Route> = routes.iter().filter(|r| LIVE_WRITES.contains(&r.name)).collect();
    out.push_str(&item_breakdown(&live_writes, &busy, messages, &prices));
    // The consumers' own calls, less the schedules' when idle. Not the harness's: its polling
    // stands for the event sources (their SQS requests are the deliveries billed above),
    // and, steady whether busy or idle, it made a short run's difference noise.
    let own = |calls: &[Call]| calls.iter().filter(|c| c.function.is_some()).count() as f64;
    let consumer_calls = (own(&busy) - own(&idle) * idle_scale).max(0.0) / messages as f64;
    let per_message_figures =
        targets::PerMessage { consumer_calls, dollars_per_1000: per_message.total() * 1000.0 };
    out.push_str(&targets::markdown(&figures, cold_rows.as_deref(), &per_message_figures));
    println!("{out}");
    std::fs::write("BENCHMARKS.md", &out)?;
    Ok(())
}

/// Messages scheduled a few seconds ahead, each followed until posted: how long after its
/// `send_at` the schedule posted it (the message id's time).
async fn scheduled_latency(client: &Client, admin: &str, thread_id: &str) -> anyhow::Result<String> {
    const SENDS: usize = 20;
    // Far enough ahead for the 20 requests on a loaded machine (3 s was not, beside a build).
    let send_at = chrono::Utc::now() + chrono::Duration::seconds(10);
    let mut ids = Vec::with_capacity(SENDS);
    for i in 0..SENDS {
        let body = json!({"body": format!("scheduled {i}"), "send_at": send_at.to_rfc3339()});
        let path = format!("/v1/threads/{thread_id}/messages");
        let scheduled = client.call(admin, reqwest::Method::POST, &path, Some(body)).await?;
        ids.push(scheduled["id"].as_str().context("scheduled id")?.to_owned());
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut late = Vec::with_capacity(SENDS);
    for id in &ids {
        loop {
            let s = client.call(admin, reqwest::Method::GET, &format!("/v1/scheduled/{id}"), None).await?;
            if let Some(message) = s["message_id"].as_str() {
                let posted_ms = ulid::Ulid::from_string(message)?.timestamp_ms();
                let ms = i64::try_from(posted_ms)? - send_at.timestamp_millis();
                late.push(Duration::from_millis(u64::try_from(ms.max(0))?));
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "scheduled message {id} not posted within a minute");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    late.sort();
    Ok(format!(
        "\n## Scheduled sends\n\n{SENDS} messages scheduled 3 s ahead, all due at once: posted {} ms after `send_at` \
         at p50, {} ms at p99. Locally the `jobs` schedule runs every 3 s (so up to 3 s of that is waiting for \
         the next run); in AWS it runs every minute, so a message goes out within a minute of its time.\n",
        ms(percentile(&late, 0.5)),
        ms(percentile(&late, 0.99)),
    ))
}

/// The org the routes run in: an id of 16 characters, as an operator might name one.
const PRODUCTION_ORG: &str = "greenview-condos";

/// The routes of the cost model's mix, a message each.
const LIVE_WRITES: [&str; 3] = ["create thread", "post message", "post with template"];

/// The write units per message by the kind of item written, the routes' at the mix (an
/// equal share of each live write route) and the consumers' as drained: what each item of
/// the design costs, so a trade can be priced.
fn item_breakdown(routes: &[&Route], busy: &[Call], messages: usize, prices: &Prices) -> String {
    #[derive(Default)]
    struct Row {
        routes: f64,
        consumers: f64,
        sizes: Vec<usize>,
    }
    let mut rows: HashMap<&str, Row> = HashMap::new();
    for r in routes {
        let share = 1.0 / (r.latencies.len() as f64 * routes.len() as f64);
        for w in r.calls.iter().flat_map(|c| &c.item_writes) {
            let row = rows.entry(&w.kind).or_default();
            row.routes += w.units * share;
            row.sizes.push(w.size);
        }
    }
    for w in busy.iter().flat_map(|c| &c.item_writes) {
        let row = rows.entry(&w.kind).or_default();
        row.consumers += w.units / messages as f64;
        row.sizes.push(w.size);
    }
    let total_of = |row: &Row| row.routes + row.consumers;
    let mut rows: Vec<_> = rows.into_iter().collect();
    rows.sort_by(|a, b| total_of(&b.1).total_cmp(&total_of(&a.1)).then(a.0.cmp(b.0)));
    let total = rows.iter().map(|(_, row)| total_of(row)).sum::<f64>();
    let mut out = format!(
        "\nWhere the write units go: WRU per message by the kind of item written (partition and sort key as \
         docs/table-design.md lays them out, ids and times left out), the routes' at the mix above and the \
         consumers' as drained (idle time not subtracted); a transaction writes each item twice, and an index \
         entry costs one more write (two where it moves); each write costs a unit per KiB begun of the size it \
         is billed on (the larger of the item before and after; an item the meter never saw whole counts what the \
         request carries). {total:.1} WRU per message in all.\n\n\
         | item | routes | consumers | $ per 1,000 messages | billed bytes p50 (max) |\n|---|---|---|---|---|\n"
    );
    for (kind, mut row) in rows.into_iter().filter(|(_, row)| total_of(row) >= 0.05) {
        row.sizes.sort_unstable();
        out.push_str(&format!(
            "| `{kind}` | {:.2} | {:.2} | {:.5} | {} ({}) |\n",
            row.routes,
            row.consumers,
            total_of(&row) * prices.dynamodb_per_million_write_units / 1e6 * 1000.0,
            row.sizes[row.sizes.len() / 2],
            row.sizes.last().copied().unwrap_or_default(),
        ));
    }
    out
}

/// The consumers' calls per message by function and call, with their capacity units:
/// where a cheaper design would save.
fn consumer_breakdown(busy: &[Call], messages: usize) -> String {
    let mut rows: std::collections::BTreeMap<(String, String), (f64, f64, f64)> = Default::default();
    for c in busy {
        let call = match c.transaction_actions.len() {
            0 => c.operation.clone(),
            n => format!("{}×{n}", c.operation),
        };
        let row = rows.entry((c.function.unwrap_or("harness").to_owned(), call)).or_default();
        row.0 += 1.0;
        row.1 += c.read_units;
        row.2 += c.write_units();
    }
    let per = messages as f64;
    let mut out = String::from(
        "\nThe consumers' calls per message (schedules included, idle time not subtracted):\n\n\
         | function | call | calls | RRU | WRU |\n|---|---|---|---|---|\n",
    );
    for ((function, call), (calls, rru, wru)) in rows {
        out.push_str(&format!(
            "| {function} | {call} | {:.2} | {:.2} | {:.2} |\n",
            calls / per,
            rru / per,
            wru / per
        ));
    }
    out
}

/// Search over a generated portfolio in one org, at a tenth of `SEARCH_THREADS` threads and
/// at all of them (10 messages each): the rebuild, then each kind of search through the API
/// with its latency and table reads; and how long a new message takes to be found.
async fn search_portfolio(
    stack: &Stack,
    client: &Client,
    meter: &CallMeter,
    routes_admin: &str,
    routes_thread: &str,
) -> anyhow::Result<String> {
    use infra::portfolio::{self, MESSAGES_PER_THREAD, RARE_WORD};
    const SEARCHES: usize = 100;
    let total: usize = infra::cli::env_or("SEARCH_THREADS", 10_000)?;
    let org = domain::OrgId::parse("bench")?;
    portfolio::seed_residents(&stack.store, &org).await?;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&stack.sdk)
            .force_path_style(true)
            .interceptor(meter.clone())
            .build(),
    );
    let root = std::env::temp_dir().join(format!("bench-search-{}", std::process::id()));
    let engine = search::Engine::new(s3, infra::stack::SEARCH_BUCKET.to_lowercase(), &root);
    let admin = token::mint(token::DEFAULT_SECRET, "admin-1", "bench", 3600);
    let resident = token::mint(token::DEFAULT_SECRET, portfolio::resident_id(7).as_str(), "bench", 3600);
    let kinds: [(&str, &str, String); 5] = [
        ("selective word", "admin", format!("q={RARE_WORD}")),
        ("common word", "admin", "q=the".into()),
        ("common word + prefix", "admin", "q=le%20fen".into()),
        ("filter only (a property)", "admin", "property_id=prop-3".into()),
        ("a resident's common word", "resident", "q=the".into()),
    ];
    let mut out = format!(
        "\n## Search\n\nA generated portfolio in one org: {total} threads of {MESSAGES_PER_THREAD} messages (500 \
         residents of 20 properties, French and English), imported into the table, then indexed by a rebuild \
         (`app::search::rebuild`, as `make search-rebuild`). {SEARCHES} searches of each kind through the API, \
         25 results a page, as the facility admin (every thread) or as a resident (their ~20 threads).\n\n\
         | messages | rebuild s | index MB | search | p50 ms | p99 ms | hits | DynamoDB calls | RRU |\n\
         |---|---|---|---|---|---|---|---|---|\n"
    );
    let mut imported = 0;
    for threads in [total / 10, total] {
        portfolio::import(&stack.store, &org, imported, threads, total).await?;
        imported = threads;
        meter.take();
        let started = Instant::now();
        let indexed = app::search::rebuild(&stack.store, &engine, &org).await?;
        let rebuild = started.elapsed();
        meter.take();
        let bytes: u64 = std::fs::read_dir(root.join("writer").join("bench"))?
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum();
        for (name, who, query) in &kinds {
            let token = if *who == "admin" { &admin } else { &resident };
            let (mut times, mut hits, mut calls, mut rru) = (Vec::new(), 0, 0, 0.0);
            for _ in 0..SEARCHES {
                let start = Instant::now();
                let page =
                    client.call(token, reqwest::Method::GET, &format!("/v1/search?{query}"), None).await?;
                times.push(start.elapsed());
                hits = page["items"].as_array().map_or(0, Vec::len);
                let mine: Vec<Call> =
                    meter.take().into_iter().filter(|c| c.function == Some("SearchFunction")).collect();
                calls += mine.len();
                rru += mine.iter().map(|c| c.read_units).sum::<f64>();
            }
            times.sort();
            out.push_str(&format!(
                "| {indexed} | {:.1} | {:.1} | {name} (`{query}`) | {} | {} | {hits} | {:.1} | {:.1} |\n",
                rebuild.as_secs_f64(),
                bytes as f64 / 1e6,
                ms(percentile(&times, 0.5)),
                ms(percentile(&times, 0.99)),
                calls as f64 / SEARCHES as f64,
                rru / SEARCHES as f64,
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&root);

    // From the post's answer to the first search that finds it, on the running stack.
    const PROBES: usize = 10;
    let mut waits = Vec::new();
    for i in 0..PROBES {
        let word = format!("probe{i}{}", ulid::Ulid::new().to_string().to_lowercase());
        let path = format!("/v1/threads/{routes_thread}/messages");
        client
            .call(routes_admin, reqwest::Method::POST, &path, Some(json!({"body": format!("search {word}")})))
            .await?;
        let posted = Instant::now();
        loop {
            let page = client
                .call(routes_admin, reqwest::Method::GET, &format!("/v1/search?q={word}"), None)
                .await?;
            if page["items"].as_array().is_some_and(|items| !items.is_empty()) {
                break;
            }
            anyhow::ensure!(posted.elapsed() < Duration::from_secs(30), "{word} not found within 30 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        waits.push(posted.elapsed());
    }
    waits.sort();
    out.push_str(&format!(
        "\nA new message is found {} ms after its post answered at p50, {} ms at p99 ({PROBES} posts; the local \
         indexer's event source gathers up to 100 events over 0.5 s, so about 0.5 s of that is waiting; in AWS it \
         gathers up to 100 over 2 s). The indexer's calls per message are in the consumers' table above \
         (`IndexerFunction`): S3 puts per index write (one segment's files) are shared by the events of a batch.\n",
        ms(percentile(&waits, 0.5)),
        ms(percentile(&waits, 0.99)),
    ));
    Ok(out)
}

/// A consent request to `BENCH_CAMPAIGN_RECIPIENTS` (default 1,000) residents, run by the
/// stack's campaign schedule: recipients per minute, and calls, capacity and dollars per
/// recipient.
async fn campaign_figures(
    stack: &Stack,
    meter: &CallMeter,
    prices: &Prices,
    memory: f64,
) -> anyhow::Result<String> {
    /// In AWS: CampaignSendRate's default, over the 50 s a run of each minute sends.
    const AWS_RATE: f64 = 14.0;
    const RUN_SECS: f64 = 50.0;
    let recipients = infra::cli::env_or("BENCH_CAMPAIGN_RECIPIENTS", 1000usize)?;
    let audience = infra::campaign_crash::seed(&stack.app, recipients).await?;
    meter.take();
    let started = Instant::now();
    let (campaign, _) = infra::campaign_crash::request(&stack.app, &audience).await?;
    let done = loop {
        let now_is =
            stack.store.get_campaign(&audience.org, &campaign.id).await?.context("the campaign is gone")?;
        if !now_is.status.is_active() {
            break now_is;
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(900), "the campaign did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let elapsed = started.elapsed();
    let calls: Vec<Call> =
        meter.take().into_iter().filter(|c| c.function == Some("CampaignsFunction")).collect();
    let n = recipients as f64;
    let count = |service: &str| calls.iter().filter(|c| c.service == service).count() as f64 / n;
    let (rru, wru) = infra::meter::capacity(&calls);
    // In AWS, one invocation a minute sends for 50 s at the configured rate.
    let invocations = (n / (AWS_RATE * RUN_SECS)).ceil();
    let per_recipient = bill(prices, &calls, Duration::ZERO, invocations, 0.0, memory).scaled(1.0 / n);
    Ok(format!(
        "\n## Campaigns\n\nA consent request to {recipients} residents, run by the local campaign schedule (one run at \
         a time, {} sends per second): {:.0} s, **{:.0} recipients per minute** locally, where moto serving one call at a \
         time is the bound. In AWS the configured rate is the bound (CampaignSendRate, SES's maximum send rate: 14 by default \
         out of the sandbox): {:.0} per minute, 14 per second over the 50 s each minute's run sends. Sent {}, \
         skipped {}.\n\n| per recipient | DynamoDB calls | RRU | WRU | SES e-mails | $ per 1,000 recipients (DynamoDB / SES / Lambda) |\n\
         |---|---|---|---|---|---|\n| consent request | {:.2} | {:.2} | {:.2} | {:.2} | {:.4} ({:.4} / {:.4} / {:.4}) |\n\n\
         A recipient costs a claim (PutItem) and its record (PutItem) around the e-mail; each page of 25 adds a Query \
         of the contact list, a BatchGetItem of their consents and the campaign's save, and every second a GetItem \
         looks for a cancel. A message campaign's recipient costs what a new thread does (see the routes) with the \
         same claim and record.\n",
        infra::stack::LOCAL_CAMPAIGN_RATE,
        elapsed.as_secs_f64(),
        n / elapsed.as_secs_f64() * 60.0,
        AWS_RATE * RUN_SECS,
        done.counts.sent,
        done.counts.targeted - done.counts.sent - done.counts.failed,
        count("dynamodb"),
        rru / n,
        wru / n,
        count("sesv2"),
        per_recipient.total() * 1000.0,
        per_recipient.dynamodb * 1000.0,
        per_recipient.ses * 1000.0,
        per_recipient.lambda * 1000.0,
    ))
}
