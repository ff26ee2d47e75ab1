//! Benchmark of the HTTP interactions endpoint (issue 5): requests per second and p50/p99
//! latency of signed `/ask` interactions over the bundled `content/`, and, in the same run,
//! of signed PINGs (signature verification and nothing else) as the baseline.
//!
//! `cargo bench --bench http -- [--connections 16] [--requests 3000] [--postgres URL]`
//!
//! With `--postgres URL` (an empty PostgreSQL database), the same run then serves signed
//! `/ask` from two replicas sharing that database as their state store (`[state] url`: the
//! statistics, conversations and the rest; each replica its own `Service` and endpoint in this
//! process, half of the connections to each), and again from one instance on the embedded
//! SQLite store (statistics in an SQLite file), for throughput and p99 side by side.
//! `BENCH_SHOW_FAILURE=1` prints each unexpected response.
//!
//! An `/ask` is timed to its answer, wherever the answer goes: the response itself (type 4),
//! or, when the endpoint deferred it (type 5: every core was busy, or the answer took longer
//! than the defer window), the interaction webhook's edit that carries the answer. Every
//! endpoint here sends its webhook calls (`discord.rest_proxy`) to a local stand-in for
//! Discord in this process, which notes when each interaction's answer arrived; throughput is
//! answers per second until the last one arrived. So at 16 connections on 2 cores, where most
//! `/ask` are deferred, the figures are the answers', not the acknowledgements'.
//!
//! The server (the real [`articlebot::http::Endpoint`]) and the load generator share this
//! process and the loopback interface; every request is signed before the clock starts. A
//! third line runs the same questions straight into `Service::execute` (no HTTP) to show what
//! the endpoint adds to the answer itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use articlebot::config::Settings;
use articlebot::http::Endpoint;
use articlebot::library::{Library, NoProgress, OpenMode};
use articlebot::service::Service;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};

const QUESTIONS: &[&str] = &[
    "how do stablecoins keep their peg",
    "how much sleep do adults need",
    "what makes a strong password",
    "how long does compost take",
    "how often should I water houseplants",
    "why are index fund fees important",
    "how do I keep a sourdough starter alive",
    "what is the best way to learn vocabulary",
    "how to avoid burnout as an open source maintainer",
    "which lights do I need for cycling at night",
    "how should remote teams handle meetings",
    "what grind size for pour over coffee",
    "how do I moderate a discord server",
    "how much rain can a barrel collect",
];

struct Options {
    connections: usize,
    requests: usize,
    postgres: Option<String>,
}

fn options() -> Options {
    let mut o = Options {
        connections: 16,
        requests: 3000,
        postgres: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || -> usize {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{a} needs a number"))
        };
        match a.as_str() {
            "--connections" => o.connections = value().max(1),
            "--requests" => o.requests = value().max(1),
            "--postgres" => o.postgres = it.next().cloned(),
            // `cargo bench` passes `--bench`.
            _ => {}
        }
    }
    o
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unix_now() -> String {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string()
}

fn user() -> Value {
    json!({"id": "1180000000000000004", "username": "reader", "discriminator": "0",
           "global_name": "reader", "avatar": null, "public_flags": 0})
}

fn ping(i: usize) -> Value {
    json!({"id": (1_200_000_000_000_000_000u64 + i as u64).to_string(),
           "application_id": "1180000000000000001", "type": 1, "token": format!("ping-{i}"),
           "version": 1, "user": user(), "entitlements": [],
           "authorizing_integration_owners": {}, "attachment_size_limit": 10485760})
}

/// A guild `/ask` interaction in the documented shape.
fn ask(i: usize, question: &str) -> Value {
    json!({
        "id": (1_300_000_000_000_000_000u64 + i as u64).to_string(),
        "application_id": "1180000000000000001",
        "type": 2,
        "data": {"id": "1180000000000000007", "name": "ask", "type": 1,
                 "options": [{"name": "question", "type": 3, "value": question}],
                 "guild_id": "1180000000000000002"},
        "guild_id": "1180000000000000002",
        "channel": {"id": "1180000000000000003", "type": 0, "name": "general",
                    "permissions": "2147568640"},
        "channel_id": "1180000000000000003",
        "member": {"user": user(), "nick": null, "avatar": null, "roles": [],
                   "joined_at": "2024-01-15T10:00:00.000000+00:00", "premium_since": null,
                   "deaf": false, "mute": false, "flags": 0, "pending": false,
                   "permissions": "2147568640", "communication_disabled_until": null},
        "token": format!("ask-{i}"),
        "version": 1,
        "app_permissions": "2251799813685247",
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": "1180000000000000002"},
        "context": 0,
        "attachment_size_limit": 10485760
    })
}

/// A request ready to send: body, signature, timestamp.
#[derive(Clone)]
struct Signed {
    body: Vec<u8>,
    signature: String,
    timestamp: String,
}

fn sign_all(key: &SigningKey, payloads: Vec<Value>) -> Vec<Signed> {
    let timestamp = unix_now();
    payloads
        .into_iter()
        .map(|p| {
            let body = serde_json::to_vec(&p).unwrap();
            let mut message = timestamp.as_bytes().to_vec();
            message.extend_from_slice(&body);
            Signed {
                signature: hex(&key.sign(&message).to_bytes()),
                body,
                timestamp: timestamp.clone(),
            }
        })
        .collect()
}

struct Outcome {
    requests: usize,
    failures: usize,
    /// Answers that came through the webhook (the response was a type 5 acknowledgement).
    deferred: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Outcome {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i]
    }
}

/// A local stand-in for Discord's interaction webhooks: notes when each interaction's
/// deferred answer arrived, by its token, and answers as Discord does (the message).
#[derive(Clone, Default)]
struct Webhooks {
    arrived: Arc<Mutex<HashMap<String, Instant>>>,
    changed: Arc<tokio::sync::Notify>,
}

impl Webhooks {
    /// Starts the stand-in on loopback; its base URL is what `discord.rest_proxy` takes.
    async fn start() -> anyhow::Result<(String, Webhooks)> {
        let hooks = Webhooks::default();
        let app = axum::Router::new()
            .route(
                "/api/v10/webhooks/{app}/{token}/messages/@original",
                axum::routing::patch(webhook_call),
            )
            .route(
                "/api/v10/webhooks/{app}/{token}",
                axum::routing::post(webhook_call),
            )
            .with_state(hooks.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok((url, hooks))
    }

    /// When the answer of the interaction with `token` arrived; waits for it at most until
    /// `deadline`.
    async fn arrival(&self, token: &str, deadline: tokio::time::Instant) -> Option<Instant> {
        loop {
            let changed = self.changed.notified();
            if let Some(&at) = self.arrived.lock().unwrap().get(token) {
                return Some(at);
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return None;
            }
        }
    }
}

async fn webhook_call(
    axum::extract::State(hooks): axum::extract::State<Webhooks>,
    axum::extract::Path((_app, token)): axum::extract::Path<(String, String)>,
) -> axum::Json<Value> {
    let at = Instant::now();
    hooks.arrived.lock().unwrap().entry(token).or_insert(at);
    hooks.changed.notify_waiters();
    axum::Json(json!({
        "id": "1300000000000000001", "channel_id": "1180000000000000003",
        "author": {"id": "1180000000000000001", "username": "bot", "discriminator": "0",
                   "avatar": null, "bot": true},
        "content": "", "timestamp": "2026-01-01T00:00:00.000000+00:00",
        "edited_timestamp": null, "tts": false, "mention_everyone": false, "mentions": [],
        "mention_roles": [], "attachments": [], "embeds": [], "pinned": false, "type": 20,
        "flags": 0, "components": []
    }))
}

/// How long a deferred answer may take to arrive before it counts as a failure.
const ANSWER_PATIENCE: Duration = Duration::from_secs(120);

/// Sends every request over `connections` concurrent keep-alive connections and checks that
/// each answer has the expected interaction response type.
async fn load(url: &str, requests: Vec<Signed>, connections: usize, expect: u64) -> Outcome {
    load_spread(&[url.to_string()], requests, connections, expect, None).await
}

/// [`load`] over several servers: connection `i` goes to `urls[i % urls.len()]` (a round
/// robin balancer that keeps a connection on one replica). With `hooks`, a deferred response
/// (type 5) is timed to its answer's arrival there (see the module's comment), and its
/// connection sends its next request only then: `connections` questions are outstanding at
/// any time, as with that many people each waiting for their answer.
async fn load_spread(
    urls: &[String],
    requests: Vec<Signed>,
    connections: usize,
    expect: u64,
    hooks: Option<&Webhooks>,
) -> Outcome {
    let requests = Arc::new(requests);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let deferred = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (requests, next, deferred) = (requests.clone(), next.clone(), deferred.clone());
        let url = format!("{}/interactions", urls[c % urls.len()]);
        let hooks = hooks.cloned();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut latencies = Vec::new();
            let mut failures = 0;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(r) = requests.get(i) else { break };
                let t = Instant::now();
                let res = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("X-Signature-Ed25519", &r.signature)
                    .header("X-Signature-Timestamp", &r.timestamp)
                    .body(r.body.clone())
                    .send()
                    .await;
                let kind = match res {
                    Ok(res) if res.status().is_success() => {
                        let v = res.json::<Value>().await.unwrap_or_default();
                        let kind = v["type"].as_u64();
                        if kind != Some(expect)
                            && !(hooks.is_some() && kind == Some(5))
                            && std::env::var_os("BENCH_SHOW_FAILURE").is_some()
                        {
                            eprintln!("unexpected: {v}");
                        }
                        kind
                    }
                    Ok(res) => {
                        if std::env::var_os("BENCH_SHOW_FAILURE").is_some() {
                            eprintln!("status {}", res.status());
                        }
                        None
                    }
                    Err(_) => None,
                };
                let answered = match (kind, &hooks) {
                    (Some(k), _) if k == expect => Some(Instant::now()),
                    (Some(5), Some(hooks)) => {
                        deferred.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let body: Value = serde_json::from_slice(&r.body).unwrap_or_default();
                        let token = body["token"].as_str().unwrap_or_default();
                        let deadline = tokio::time::Instant::now() + ANSWER_PATIENCE;
                        hooks.arrival(token, deadline).await
                    }
                    _ => None,
                };
                latencies.push(answered.unwrap_or_else(Instant::now).duration_since(t));
                failures += usize::from(answered.is_none());
            }
            (latencies, failures)
        }));
    }
    let mut outcome = gather(tasks, start).await;
    outcome.deferred = deferred.load(std::sync::atomic::Ordering::Relaxed);
    outcome
}

/// The same questions straight into [`Service::execute`] with the same concurrency: what the
/// answer itself costs, without HTTP, verification, parsing or rendering.
async fn engine_only(service: &Arc<Service>, requests: usize, concurrency: usize) -> Outcome {
    use articlebot::answer::{Command, Scope};
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (service, next) = (service.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let command = Command::Ask {
                    question: QUESTIONS[i % QUESTIONS.len()].to_string(),
                    scope: Scope::Collection,
                };
                let t = Instant::now();
                failures += usize::from(service.execute(command, None).await.is_err());
                latencies.push(t.elapsed());
            }
            (latencies, failures)
        }));
    }
    gather(tasks, start).await
}

/// Joins the load tasks, each returning its latencies and failures, into one outcome.
async fn gather(
    tasks: Vec<tokio::task::JoinHandle<(Vec<Duration>, usize)>>,
    start: Instant,
) -> Outcome {
    let mut latencies = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t.await.unwrap();
        latencies.extend(l);
        failures += f;
    }
    let elapsed = start.elapsed();
    latencies.sort();
    Outcome {
        requests: latencies.len(),
        failures,
        deferred: 0,
        elapsed,
        latencies,
    }
}

fn print_header(first: &str) {
    println!(
        "{:<36} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9}",
        first, "answers", "req/s", "p50 ms", "p99 ms", "deferred", "failures"
    );
}

/// A line of the table: answers per second and latencies to the answer (see the module's
/// comment), how many came through the webhook, how many failed.
fn print_row(name: &str, o: &Outcome) {
    println!(
        "{:<36} {:>9} {:>10.0} {:>9} {:>9} {:>9} {:>9}",
        name,
        o.requests,
        o.rps(),
        ms(o.percentile(0.5)),
        ms(o.percentile(0.99)),
        o.deferred,
        o.failures
    );
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} core(s)")
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() -> anyhow::Result<()> {
    let opts = options();
    let mut settings =
        Settings::for_content(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content"));
    settings.content.base_url = "https://articles.example.org".into();
    settings.discord.cooldown = Duration::ZERO;
    let runtime = tokio::runtime::Runtime::new()?;
    let (hooks_url, hooks) = runtime.block_on(Webhooks::start())?;
    settings.discord.rest_proxy = Some(hooks_url.clone());
    let library = Library::open(&settings, OpenMode::Reuse, &NoProgress)?;
    let articles = library.articles.len();
    let service = runtime.block_on(async { Service::new(settings, library) })?;
    let key = SigningKey::from_bytes(&[42; 32]);
    let endpoint = runtime
        .block_on(async { Endpoint::new(service.clone(), &hex(key.verifying_key().as_bytes())) })?;

    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(endpoint.run(listener, async {
            let _ = stopped.await;
        }));

        println!("HTTP interactions endpoint: signed /ask vs signed PING (verification only)");
        println!(
            "bundled content: {articles} articles; {} connections; {} requests per kind",
            opts.connections, opts.requests
        );
        println!(
            "machine: {}; load average before: {}",
            machine(),
            load_average()
        );

        // Warm-up: connections, index caches, the statistics table.
        let warm: Vec<Value> = (0..200)
            .map(|i| ask(1_000_000 + i, QUESTIONS[i % QUESTIONS.len()]))
            .collect();
        load_spread(
            std::slice::from_ref(&url),
            sign_all(&key, warm),
            opts.connections,
            4,
            Some(&hooks),
        )
        .await;

        let pings = sign_all(&key, (0..opts.requests).map(ping).collect());
        let ping = load(&url, pings, opts.connections, 1).await;
        let asks = sign_all(
            &key,
            (0..opts.requests)
                .map(|i| ask(i, QUESTIONS[i % QUESTIONS.len()]))
                .collect(),
        );
        let asked = load_spread(
            std::slice::from_ref(&url),
            asks,
            opts.connections,
            4,
            Some(&hooks),
        )
        .await;
        let direct = engine_only(&service, opts.requests, opts.connections).await;

        println!();
        print_header("kind");
        for (name, o) in [
            ("PING (verification only)", &ping),
            ("/ask (signed)", &asked),
            ("ask, Service::execute only", &direct),
        ] {
            print_row(name, o);
        }
        println!();
        println!(
            "ratio /ask : PING — throughput {:.2}, p50 latency {:.1}x, p99 latency {:.1}x",
            asked.rps() / ping.rps(),
            asked.percentile(0.5).as_secs_f64() / ping.percentile(0.5).as_secs_f64(),
            asked.percentile(0.99).as_secs_f64() / ping.percentile(0.99).as_secs_f64(),
        );
        println!("load average after: {}", load_average());

        let _ = stop.send(());
        server.await??;
        if let Some(url) = &opts.postgres {
            shared_against_embedded(&key, url, &opts, (&hooks_url, &hooks)).await?;
        }
        anyhow::Ok(())
    })
}

/// A serving instance of the bundled content with `state` as its state store, on loopback.
async fn instance(
    key: &SigningKey,
    state: articlebot::config::StateSettings,
    stats_db: Option<std::path::PathBuf>,
    hooks_url: &str,
) -> anyhow::Result<(String, tokio::sync::oneshot::Sender<()>)> {
    let mut settings =
        Settings::for_content(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content"));
    settings.content.base_url = "https://articles.example.org".into();
    settings.discord.cooldown = Duration::ZERO;
    settings.discord.rest_proxy = Some(hooks_url.to_string());
    settings.state = state;
    settings.stats.db = stats_db;
    let library = Library::open(&settings, OpenMode::Reuse, &NoProgress)?;
    let service = Service::new(settings, library)?;
    let endpoint = Endpoint::new(service, &hex(key.verifying_key().as_bytes()))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(endpoint.run(listener, async {
        let _ = stopped.await;
    }));
    Ok((url, stop))
}

/// Signed `/ask` from two replicas on one PostgreSQL, then from one instance on SQLite (a
/// file): the same requests, connections and content, one after the other in this run.
async fn shared_against_embedded(
    key: &SigningKey,
    postgres: &str,
    opts: &Options,
    (hooks_url, hooks): (&str, &Webhooks),
) -> anyhow::Result<()> {
    // Every replica hashes askers with the same key (required with PostgreSQL).
    std::env::set_var(
        "ARTICLEBOT_STATS_KEY",
        "the benchmark's shared statistics key",
    );
    let state = articlebot::config::StateSettings::with_url(postgres, "--postgres")?;
    let (a, stop_a) = instance(key, state.clone(), None, hooks_url).await?;
    let (b, stop_b) = instance(key, state, None, hooks_url).await?;
    let dir = tempfile::tempdir()?;
    let (single, stop_single) = instance(
        key,
        Default::default(),
        Some(dir.path().join("stats.sqlite3")),
        hooks_url,
    )
    .await?;
    let asks = |from: usize| {
        sign_all(
            key,
            (0..opts.requests)
                .map(|i| ask(from + i, QUESTIONS[i % QUESTIONS.len()]))
                .collect(),
        )
    };
    println!();
    println!(
        "state stores: signed /ask, {} connections, {} requests each; load average before: {}",
        opts.connections,
        opts.requests,
        load_average()
    );
    let replicas = [a, b];
    let single = [single];
    // Warm-up of every instance (connections, caches, the tables).
    let c = opts.connections;
    load_spread(
        &replicas,
        asks(2_000_000)[..200].to_vec(),
        c,
        4,
        Some(hooks),
    )
    .await;
    load_spread(&single, asks(3_000_000)[..200].to_vec(), c, 4, Some(hooks)).await;
    let shared = load_spread(&replicas, asks(4_000_000), c, 4, Some(hooks)).await;
    let embedded = load_spread(&single, asks(5_000_000), c, 4, Some(hooks)).await;
    print_header("store");
    for (name, o) in [
        ("2 replicas, one PostgreSQL", &shared),
        ("1 instance, SQLite file", &embedded),
    ] {
        print_row(name, o);
    }
    println!(
        "ratio replicas : single — throughput {:.2}, p50 {:.2}x, p99 {:.2}x",
        shared.rps() / embedded.rps(),
        shared.percentile(0.5).as_secs_f64() / embedded.percentile(0.5).as_secs_f64(),
        shared.percentile(0.99).as_secs_f64() / embedded.percentile(0.99).as_secs_f64(),
    );
    println!("load average after: {}", load_average());
    for stop in [stop_a, stop_b, stop_single] {
        let _ = stop.send(());
    }
    Ok(())
}
