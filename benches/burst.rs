//! Benchmark of a burst of worst-case questions against the real `serve-http` binary
//! (issue 19 item 3): `--questions` (300) signed `/ask` interactions, each a question of 24
//! unknown 40-letter words (983 characters, every word long enough for a distance-2 spelling
//! search), sent at once from as many members (so no cooldown applies) on their own
//! connections, over the bundled `content/`.
//!
//! `cargo bench --bench burst -- [--questions 300] [--letters 40]` (add `--profile dev` to
//! measure the debug build the tests use, without a release build; `--letters 20` makes every
//! word long enough for a spelling search and short enough to get one).
//!
//! Reported: how many were acknowledged (answered, or deferred with "thinking…") within
//! Discord's 3 seconds, the slowest acknowledgement, when the last deferred answer reached
//! the webhook (a local sink stands in for Discord), the server's peak RSS (`VmHWM`) and
//! thread count, and its RSS once the burst is over (memory returned). The server is its own
//! process, so the load generator's memory is not counted.

use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::Path;
use axum::routing::patch;
use axum::{Json, Router};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};

/// Discord's window for the first response.
const WINDOW: Duration = Duration::from_secs(3);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The value of `--name` on the command line, or `default`.
fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// 24 words of `letters` letters no article holds, different for each question (a small LCG).
fn worst_question(seed: u64, letters: usize) -> String {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let words: Vec<String> = (0..24)
        .map(|_| {
            (0..letters)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (b'a' + ((x >> 33) % 26) as u8) as char
                })
                .collect()
        })
        .collect();
    words.join(" ")
}

fn ask(i: usize, question: &str) -> Value {
    let user = json!({"id": (1_180_000_000_000_100_000u64 + i as u64).to_string(),
        "username": format!("reader{i}"), "discriminator": "0", "global_name": null,
        "avatar": null, "public_flags": 0});
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
        "member": {"user": user, "nick": null, "avatar": null, "roles": [],
                   "joined_at": "2024-01-15T10:00:00.000000+00:00", "premium_since": null,
                   "deaf": false, "mute": false, "flags": 0, "pending": false,
                   "permissions": "2147568640", "communication_disabled_until": null},
        "token": format!("burst-{i}"),
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

/// A field of `/proc/<pid>/status`, in kB or as a count.
fn status(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The webhook `PATCH @original` of each deferred answer: when it arrived.
type Edits = Arc<Mutex<Vec<Instant>>>;

async fn sink(edits: Edits) -> String {
    let app = Router::new().route(
        "/api/v10/webhooks/{app}/{token}/messages/{msg}",
        patch(move |Path(_): Path<(String, String, String)>| {
            let edits = edits.clone();
            async move {
                edits.lock().unwrap().push(Instant::now());
                Json(json!({
                    "id": "1200000000000000001", "channel_id": "1180000000000000003",
                    "author": {"id": "1180000000000000001", "username": "bot",
                               "discriminator": "0", "avatar": null, "bot": true},
                    "content": "", "timestamp": "2026-01-01T00:00:00.000000+00:00",
                    "edited_timestamp": null, "tts": false, "mention_everyone": false,
                    "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
                    "pinned": false, "type": 0, "flags": 0, "components": []
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::main]
async fn main() {
    let n = arg("--questions", 300);
    // 40 (the index's longest word) by default; 20 is the longest a spelling search takes.
    let letters = arg("--letters", 40);
    let edits: Edits = Arc::new(Mutex::new(Vec::new()));
    let rest = sink(edits.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let content = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[content]\ndir = {content:?}\n[index]\ndir = \"memory\"\n[stats]\ndb = \"memory\"\n\
             [discord]\nrest_proxy = \"{rest}\"\n"
        ),
    )
    .unwrap();
    let key = SigningKey::from_bytes(&[7; 32]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_articlebot"))
        .args(["--config", config.to_str().unwrap(), "serve-http"])
        .args(["--listen", "127.0.0.1:0", "--public-key"])
        .arg(hex(key.verifying_key().as_bytes()))
        .env("RUST_LOG", "warn")
        .env_remove("DISCORD_TOKEN")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start articlebot serve-http");
    let pid = child.id();
    let mut banner = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("the address in the banner")
        .to_string();
    let idle_rss = status(pid, "VmRSS:");

    // Signed before the clock starts.
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let requests: Vec<(Vec<u8>, String)> = (0..n)
        .map(|i| {
            let body = serde_json::to_vec(&ask(i, &worst_question(i as u64, letters))).unwrap();
            let mut message = timestamp.as_bytes().to_vec();
            message.extend_from_slice(&body);
            (body, hex(&key.sign(&message).to_bytes()))
        })
        .collect();
    let chars = worst_question(0, letters).chars().count();

    // Peak threads, sampled while the burst runs.
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut threads = 0;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                threads = threads.max(status(pid, "Threads:"));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            threads
        })
    };
    let client = reqwest::Client::new();
    let start = Instant::now();
    let sends = requests.into_iter().map(|(body, signature)| {
        let (client, url, timestamp) = (client.clone(), url.clone(), timestamp.clone());
        async move {
            let res = client
                .post(format!("{url}/interactions"))
                .header("content-type", "application/json")
                .header("connection", "close")
                .header("X-Signature-Ed25519", signature)
                .header("X-Signature-Timestamp", timestamp)
                .body(body)
                .send()
                .await;
            let took = start.elapsed();
            let kind = match res {
                Ok(r) if r.status().is_success() => r
                    .json::<Value>()
                    .await
                    .ok()
                    .and_then(|v| v["type"].as_u64()),
                _ => None,
            };
            (took, kind)
        }
    });
    let mut acks = futures_util::future::join_all(sends).await;
    acks.sort_by_key(|a| a.0);
    let deferred = acks.iter().filter(|a| a.1 == Some(5)).count();
    let now = acks.iter().filter(|a| a.1 == Some(4)).count();
    let failed = acks.iter().filter(|a| a.1.is_none()).count();
    let in_window = acks
        .iter()
        .filter(|a| a.1.is_some() && a.0 <= WINDOW)
        .count();
    let deadline = Instant::now() + Duration::from_secs(600);
    while edits.lock().unwrap().len() < deferred && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let last_edit = edits.lock().unwrap().iter().max().map(|t| *t - start);
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let threads = sampler.await.unwrap();
    let peak_rss = status(pid, "VmHWM:");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after_rss = status(pid, "VmRSS:");
    let _ = child.kill();
    let _ = child.wait();

    let pct = |p: usize| acks[(acks.len() * p / 100).min(acks.len() - 1)].0;
    println!(
        "burst of {n} worst-case /ask ({chars} characters: 24 unknown {letters}-letter words)"
    );
    println!(
        "acknowledged within 3 s: {in_window}/{n} ({now} answered at once, {deferred} deferred, \
         {failed} failed)"
    );
    println!(
        "acknowledgement: p50 {:?}, p99 {:?}, slowest {:?}",
        pct(50),
        pct(99),
        acks.last().unwrap().0
    );
    println!(
        "deferred answers edited in: {}/{deferred}, the last {:?} after the burst began",
        edits.lock().unwrap().len(),
        last_edit.unwrap_or_default()
    );
    println!(
        "server RSS: {:.0} MB idle, peak {:.0} MB, {:.0} MB 3 s after the last answer; \
         peak threads {threads}",
        idle_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0,
        after_rss as f64 / 1024.0
    );
}
