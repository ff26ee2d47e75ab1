//! The HTTP interactions endpoint end to end: a real server on loopback, requests signed
//! exactly as Discord signs them (Ed25519 over timestamp + raw body) with a key generated
//! here, complete interaction payloads in the documented shape, and a local fake of the
//! follow-up webhook for deferred replies.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use articlebot::answer::{Command, Scope};
use articlebot::config::Settings;
use articlebot::http::Endpoint;
use articlebot::library::{Library, NoProgress, OpenMode};
use articlebot::service::Service;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};

use crate::util::{bin, Fixture};

const APP_ID: &str = "1180000000000000001";
const GUILD_ID: &str = "1180000000000000002";
const CHANNEL_ID: &str = "1180000000000000003";
const USER_ID: &str = "1180000000000000004";
const OTHER_USER_ID: &str = "1180000000000000005";
const BOT_USER_ID: &str = "1180000000000000006";
const COMMAND_ID: &str = "1180000000000000007";
const MODERATOR_ROLE_ID: &str = "1180000000000000008";

/// View channel, send messages, embed links, read history, use application commands.
const MEMBER_PERMISSIONS: &str = "2147568640";
/// The same plus Manage Server.
const MODERATOR_PERMISSIONS: &str = "2147568672";

/// How long a test waits for something that should happen at once (a generous bound for a
/// loaded machine, never a measurement).
const PATIENCE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------
// Signing and the server under test

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn new_key() -> SigningKey {
    SigningKey::generate(&mut rand::rngs::OsRng)
}

fn public_hex(key: &SigningKey) -> String {
    hex(key.verifying_key().as_bytes())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The `X-Signature-Ed25519` value Discord would send.
fn sign(key: &SigningKey, timestamp: &str, body: &[u8]) -> String {
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(body);
    hex(&key.sign(&message).to_bytes())
}

/// Request headers as (name, value).
type Headers = Vec<(&'static str, String)>;

/// An endpoint serving a fixture, in this process.
struct Server {
    url: String,
    key: SigningKey,
    client: reqwest::Client,
    service: Arc<Service>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

struct Reply {
    status: u16,
    content_type: Option<String>,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        assert_eq!(self.status, 200, "{}", self.text);
        assert_eq!(self.content_type.as_deref(), Some("application/json"));
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }
}

impl Server {
    async fn start(settings: Settings) -> Server {
        Server::start_with(settings, articlebot::http::READ_TIMEOUT).await
    }

    /// A server that waits at most `read_timeout` for a request body.
    async fn start_with(settings: Settings, read_timeout: Duration) -> Server {
        let defer_after = articlebot::discord::interactions::DEFER_AFTER;
        Server::start_bot(settings, read_timeout, defer_after, new_key()).await
    }

    /// A server that defers every answer (completed through the interaction webhook).
    async fn start_deferring(settings: Settings) -> Server {
        let timeout = articlebot::http::READ_TIMEOUT;
        Server::start_bot(settings, timeout, Duration::ZERO, new_key()).await
    }

    async fn start_bot(
        settings: Settings,
        read_timeout: Duration,
        defer_after: Duration,
        key: SigningKey,
    ) -> Server {
        let library = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        let service = Service::new(settings, library).unwrap();
        let bot =
            articlebot::discord::interactions::Bot::with_defer_after(service.clone(), defer_after);
        let endpoint = Endpoint::with_bot(bot, &public_hex(&key))
            .unwrap()
            .read_timeout(read_timeout);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(endpoint.run(listener, async {
            let _ = stopped.await;
        }));
        Server {
            url,
            key,
            client: reqwest::Client::new(),
            service,
            stop: Some(stop),
            task,
        }
    }

    /// POSTs `body` to /interactions with exactly these headers.
    async fn post_with(&self, body: Vec<u8>, headers: &[(&str, String)]) -> Reply {
        let mut req = self
            .client
            .post(format!("{}/interactions", self.url))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let res = req.send().await.expect("request");
        Reply {
            status: res.status().as_u16(),
            content_type: res
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string()),
            text: res.text().await.unwrap(),
        }
    }

    /// POSTs `body` signed by `key` at `timestamp`.
    async fn post_signed_by(&self, key: &SigningKey, timestamp: u64, body: Vec<u8>) -> Reply {
        let ts = timestamp.to_string();
        let signature = sign(key, &ts, &body);
        self.post_with(
            body,
            &[
                ("X-Signature-Ed25519", signature),
                ("X-Signature-Timestamp", ts),
            ],
        )
        .await
    }

    /// POSTs `body` signed now with the application's key.
    async fn post(&self, body: Vec<u8>) -> Reply {
        self.post_signed_by(&self.key, unix_now(), body).await
    }

    /// Sends an interaction and returns the (200, JSON) response.
    async fn interact(&self, payload: &Value) -> Value {
        self.post(serde_json::to_vec(payload).unwrap()).await.json()
    }

    /// Signals shutdown and waits for the server to finish.
    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("server stops")
            .unwrap()
            .unwrap();
    }
}

fn ping() -> Value {
    json!({
        "id": next_id(),
        "application_id": APP_ID,
        "type": 1,
        "token": "ping-token",
        "version": 1,
        "user": user(USER_ID, "reader"),
        "entitlements": [],
        "authorizing_integration_owners": {},
        "attachment_size_limit": 10485760
    })
}

static IDS: AtomicU64 = AtomicU64::new(1_200_000_000_000_000_000);

fn next_id() -> String {
    IDS.fetch_add(1, Ordering::Relaxed).to_string()
}

// ---------------------------------------------------------------------------------------
// Verification, limits and the server's life cycle

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_is_answered_with_pong() {
    let f = Fixture::standard();
    let server = Server::start(f.settings()).await;
    let reply = server.post(serde_json::to_vec(&ping()).unwrap()).await;
    assert_eq!(reply.json(), json!({"type": 1}));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_reports_the_articles() {
    let f = Fixture::standard();
    let server = Server::start(f.settings()).await;
    let res = reqwest::get(format!("{}/healthz", server.url))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!({"status": "ok", "articles": 4}));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signatures_are_refused() {
    let f = Fixture::standard();
    let server = Server::start(f.settings()).await;
    let body = serde_json::to_vec(&ping()).unwrap();
    let ts = unix_now().to_string();
    let good = sign(&server.key, &ts, &body);

    // Signed by another key (a forged request, or the wrong application's key).
    let reply = server
        .post_signed_by(&new_key(), unix_now(), body.clone())
        .await;
    assert_eq!(reply.status, 401, "{}", reply.text);

    let refused = |headers: Vec<(&'static str, String)>, body: Vec<u8>| {
        let server = &server;
        async move { server.post_with(body, &headers).await }
    };
    // The body changed after signing.
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let cases: Vec<(&str, Headers, Vec<u8>)> = vec![
        (
            "tampered body",
            vec![
                ("X-Signature-Ed25519", good.clone()),
                ("X-Signature-Timestamp", ts.clone()),
            ],
            tampered,
        ),
        (
            "timestamp changed after signing",
            vec![
                ("X-Signature-Ed25519", good.clone()),
                ("X-Signature-Timestamp", (unix_now() + 1).to_string()),
            ],
            body.clone(),
        ),
        (
            "well-formed random signature",
            vec![
                ("X-Signature-Ed25519", "ab".repeat(64)),
                ("X-Signature-Timestamp", ts.clone()),
            ],
            body.clone(),
        ),
        (
            "signature not hex",
            vec![
                ("X-Signature-Ed25519", "zz".repeat(64)),
                ("X-Signature-Timestamp", ts.clone()),
            ],
            body.clone(),
        ),
        (
            "signature too short",
            vec![
                ("X-Signature-Ed25519", good[..100].to_string()),
                ("X-Signature-Timestamp", ts.clone()),
            ],
            body.clone(),
        ),
        (
            "empty signature",
            vec![
                ("X-Signature-Ed25519", String::new()),
                ("X-Signature-Timestamp", ts.clone()),
            ],
            body.clone(),
        ),
        ("no headers", vec![], body.clone()),
        (
            "no signature",
            vec![("X-Signature-Timestamp", ts.clone())],
            body.clone(),
        ),
        (
            "no timestamp",
            vec![("X-Signature-Ed25519", good.clone())],
            body.clone(),
        ),
    ];
    for (what, headers, body) in cases {
        let reply = refused(headers, body).await;
        assert_eq!(reply.status, 401, "{what}: {}", reply.text);
        assert!(!reply.text.contains("ping-token"), "{what}: body echoed");
    }

    // The same request, correctly signed, is answered.
    let reply = server
        .post_with(
            body,
            &[("X-Signature-Ed25519", good), ("X-Signature-Timestamp", ts)],
        )
        .await;
    assert_eq!(reply.json(), json!({"type": 1}));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_older_or_newer_than_five_minutes_are_refused() {
    let f = Fixture::standard();
    let server = Server::start(f.settings()).await;
    let body = || serde_json::to_vec(&ping()).unwrap();
    let now = unix_now();
    for (ts, expected) in [
        (now - 60, 200),
        (now + 60, 200),
        (now - 10 * 60, 401),
        (now + 10 * 60, 401),
        (now - 24 * 3600, 401),
        (0, 401),
    ] {
        let reply = server.post_signed_by(&server.key, ts, body()).await;
        assert_eq!(reply.status, expected, "timestamp {ts} (now {now})");
    }
    // A signed timestamp that is not a number.
    let signature = sign(&server.key, "yesterday", &body());
    let reply = server
        .post_with(
            body(),
            &[
                ("X-Signature-Ed25519", signature),
                ("X-Signature-Timestamp", "yesterday".into()),
            ],
        )
        .await;
    assert_eq!(reply.status, 401);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_get_413() {
    let f = Fixture::standard();
    let mut settings = f.settings();
    settings.http.body_limit_bytes = 4096;
    let server = Server::start(settings).await;
    // A valid, signed interaction padded past the limit.
    let mut payload = ping();
    payload["padding"] = json!("x".repeat(8000));
    let reply = server.post(serde_json::to_vec(&payload).unwrap()).await;
    assert_eq!(reply.status, 413, "{}", reply.text);
    // Also without a signature: the size is refused before anything is parsed.
    let reply = server.post_with(vec![b' '; 100_000], &[]).await;
    assert!(
        reply.status == 413 || reply.status == 401,
        "{}",
        reply.status
    );
    // Just under the limit is fine.
    let mut payload = ping();
    payload["padding"] = json!("x".repeat(3000));
    let reply = server.post(serde_json::to_vec(&payload).unwrap()).await;
    assert_eq!(reply.json(), json!({"type": 1}));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_after_a_valid_signature_gets_400() {
    let f = Fixture::standard();
    let server = Server::start(f.settings()).await;
    let mut missing_field = command(
        "ask",
        json!([{"name": "question", "type": 3, "value": "x"}]),
    );
    missing_field.as_object_mut().unwrap().remove("token");
    let mut bad_type = ping();
    bad_type["type"] = json!("one");
    for (what, body) in [
        ("not json", b"{\"type\": 1,".to_vec()),
        ("empty", Vec::new()),
        ("array", b"[1, 2]".to_vec()),
        ("no type", b"{\"id\": \"1\"}".to_vec()),
        ("type not a number", serde_json::to_vec(&bad_type).unwrap()),
        ("unknown type", b"{\"type\": 99}".to_vec()),
        (
            "command without a token",
            serde_json::to_vec(&missing_field).unwrap(),
        ),
        ("not utf-8", vec![0xff, 0xfe, 0x00]),
    ] {
        let reply = server.post(body).await;
        assert_eq!(reply.status, 400, "{what}: {}", reply.text);
    }
    // The server is still serving.
    let reply = server.post(serde_json::to_vec(&ping()).unwrap()).await;
    assert_eq!(reply.json(), json!({"type": 1}));
    server.stop().await;
}

/// A body that trickles in slower than the read timeout gets 408, and the server goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_gets_408() {
    let f = Fixture::standard();
    let server = Server::start_with(f.settings(), Duration::from_millis(300)).await;
    let addr = server.url.trim_start_matches("http://").to_string();
    let body = serde_json::to_vec(&ping()).unwrap();
    let ts = unix_now().to_string();
    let signature = sign(&server.key, &ts, &body);
    let response = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        write!(
            stream,
            "POST /interactions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nX-Signature-Ed25519: {signature}\r\n\
             X-Signature-Timestamp: {ts}\r\n\r\n",
            body.len()
        )
        .unwrap();
        // Half the body, then nothing.
        stream.write_all(&body[..body.len() / 2]).unwrap();
        let mut response = [0u8; 12];
        stream.read_exact(&mut response).unwrap();
        String::from_utf8_lossy(&response).into_owned()
    })
    .await
    .unwrap();
    assert_eq!(response, "HTTP/1.1 408");
    let reply = server.post(serde_json::to_vec(&ping()).unwrap()).await;
    assert_eq!(reply.json(), json!({"type": 1}));
    server.stop().await;
}

/// Shutdown lets a request that is already being read finish, then stops accepting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_drains_requests_in_flight() {
    let f = Fixture::standard();
    let mut server = Server::start(f.settings()).await;
    let addr = server.url.trim_start_matches("http://").to_string();
    let body = serde_json::to_vec(&ping()).unwrap();
    let ts = unix_now().to_string();
    let signature = sign(&server.key, &ts, &body);

    let addr2 = addr.clone();
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let (finish_tx, finish_rx) = std::sync::mpsc::channel::<()>();
    let client = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(&addr2).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        // `Expect: 100-continue`: the server says "100 Continue" once the handler reads the
        // body, so the request is provably in flight before shutdown begins.
        write!(
            stream,
            "POST /interactions HTTP/1.1\r\nHost: {addr2}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nExpect: 100-continue\r\nX-Signature-Ed25519: {signature}\r\n\
             X-Signature-Timestamp: {ts}\r\n\r\n",
            body.len()
        )
        .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with("HTTP/1.1 100"), "{line}");
        reader.read_line(&mut line).unwrap();
        started_tx.send(()).unwrap();
        finish_rx.recv().unwrap();
        stream.write_all(&body).unwrap();
        let mut rest = String::new();
        reader.read_to_string(&mut rest).unwrap();
        rest
    });
    tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
        .await
        .unwrap();
    server.stop.take().unwrap().send(()).unwrap();
    // New connections are refused once the server stops accepting; the one in flight is
    // still served. Wait until a fresh connection is refused.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::net::TcpStream::connect(&addr).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "still accepting");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !server.task.is_finished(),
        "stopped before the request was answered"
    );
    finish_tx.send(()).unwrap();
    let response = tokio::task::spawn_blocking(move || client.join().unwrap())
        .await
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("{\"type\":1}"), "{response}");
    tokio::time::timeout(PATIENCE, server.task)
        .await
        .expect("server stops")
        .unwrap()
        .unwrap();
}

// ---------------------------------------------------------------------------------------
// Interaction payloads, as Discord documents them

fn user(id: &str, name: &str) -> Value {
    json!({
        "id": id,
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": null,
        "bot": false,
        "public_flags": 0,
        "flags": 0,
        "banner": null,
        "accent_color": null,
        "avatar_decoration_data": null,
        "collectibles": null,
        "primary_guild": null
    })
}

fn member(user_id: &str, permissions: &str) -> Value {
    json!({
        "user": user(user_id, "reader"),
        "nick": null,
        "avatar": null,
        "banner": null,
        "roles": [],
        "joined_at": "2024-01-15T10:00:00.000000+00:00",
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "permissions": permissions,
        "communication_disabled_until": null,
        "unusual_dm_activity_until": null
    })
}

/// A guild interaction of `kind` with `data`, from `member`.
fn interaction(kind: u8, data: Value, member: Value) -> Value {
    let id = next_id();
    json!({
        "id": id,
        "application_id": APP_ID,
        "type": kind,
        "data": data,
        "guild_id": GUILD_ID,
        "channel": {
            "id": CHANNEL_ID,
            "type": 0,
            "name": "general",
            "guild_id": GUILD_ID,
            "parent_id": null,
            "position": 0,
            "topic": null,
            "nsfw": false,
            "flags": 0,
            "last_message_id": null,
            "rate_limit_per_user": 0,
            "permissions": MEMBER_PERMISSIONS
        },
        "channel_id": CHANNEL_ID,
        "member": member,
        "token": format!("token-{id}"),
        "version": 1,
        "app_permissions": "2251799813685247",
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": GUILD_ID},
        "context": 0,
        "attachment_size_limit": 10485760
    })
}

fn command_from(name: &str, options: Value, member: Value) -> Value {
    interaction(
        2,
        json!({
            "id": COMMAND_ID,
            "name": name,
            "type": 1,
            "options": options,
            "guild_id": GUILD_ID
        }),
        member,
    )
}

/// A slash command from an ordinary member.
fn command(name: &str, options: Value) -> Value {
    command_from(name, options, member(USER_ID, MEMBER_PERMISSIONS))
}

fn string_option(name: &str, value: &str) -> Value {
    json!({"name": name, "type": 3, "value": value})
}

/// An autocomplete request while `partial` is typed in the `article` option of `name`.
fn autocomplete(name: &str, partial: &str) -> Value {
    interaction(
        4,
        json!({
            "id": COMMAND_ID,
            "name": name,
            "type": 1,
            "options": [{"name": "article", "type": 3, "value": partial, "focused": true}],
            "guild_id": GUILD_ID
        }),
        member(USER_ID, MEMBER_PERMISSIONS),
    )
}

/// The message an interaction response became, as Discord sends it back inside a button's
/// interaction: the response's embeds, components and flags, posted by the application.
fn message_from(response: &Value, asker: &str) -> Value {
    let data = &response["data"];
    json!({
        "id": next_id(),
        "channel_id": CHANNEL_ID,
        "guild_id": GUILD_ID,
        "author": {
            "id": BOT_USER_ID, "username": "articlebot", "discriminator": "0",
            "global_name": null, "avatar": null, "bot": true, "public_flags": 0, "flags": 0
        },
        "content": data["content"].as_str().unwrap_or(""),
        "timestamp": "2026-11-25T12:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "mention_channels": [],
        "attachments": [],
        "embeds": data["embeds"].clone(),
        "components": data["components"].clone(),
        "reactions": [],
        "pinned": false,
        "webhook_id": APP_ID,
        "type": 20,
        "flags": data["flags"].as_u64().unwrap_or(0),
        "application_id": APP_ID,
        "interaction_metadata": {
            "id": next_id(),
            "type": 2,
            "user": user(asker, "reader"),
            "authorizing_integration_owners": {"0": GUILD_ID},
            "name": "search"
        },
        "interaction": {
            "id": next_id(),
            "type": 2,
            "name": "search",
            "user": user(asker, "reader")
        }
    })
}

/// A press on the button labelled `label` under `response`, by `clicker`.
fn press(response: &Value, label: &str, asker: &str, clicker: Value) -> Value {
    let custom_id = buttons(response)
        .into_iter()
        .find(|(l, _, _)| l == label)
        .unwrap_or_else(|| panic!("no {label:?} button in {response}"))
        .1;
    let mut payload = interaction(
        3,
        json!({"custom_id": custom_id, "component_type": 2}),
        clicker,
    );
    payload["message"] = message_from(response, asker);
    payload
}

/// A press on a button with this `custom_id` (perhaps one no button has) under `response`.
fn press_id(response: &Value, custom_id: &str, asker: &str, clicker: Value) -> Value {
    let mut payload = interaction(
        3,
        json!({"custom_id": custom_id, "component_type": 2}),
        clicker,
    );
    payload["message"] = message_from(response, asker);
    payload
}

/// (label, custom id, disabled) of every button in a response.
fn buttons(response: &Value) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    for row in response["data"]["components"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for b in row["components"].as_array().into_iter().flatten() {
            out.push((
                b["label"].as_str().unwrap_or("").to_string(),
                b["custom_id"].as_str().unwrap_or("").to_string(),
                b["disabled"].as_bool().unwrap_or(false),
            ));
        }
    }
    out
}

fn labels(response: &Value) -> Vec<String> {
    buttons(response).into_iter().map(|b| b.0).collect()
}

/// The embeds the shared renderer makes of the engine's own answer to `command`: what the
/// gateway bot sends for the same command.
fn rendered(f: &Fixture, command: &Command) -> Value {
    let answer = f.engine().execute(command).unwrap();
    serde_json::to_value(articlebot::discord::render::answer(&answer).embeds()).unwrap()
}

/// Settings for the command tests: no cooldown (one user sends many commands).
fn quick(f: &Fixture) -> Settings {
    let mut s = f.settings();
    s.discord.cooldown = Duration::ZERO;
    s
}

/// `allowed_mentions` that lets nothing ping: no parsed kinds, no listed users or roles.
fn assert_no_pings(response: &Value) {
    assert_allowed_mentions_empty(&response["data"]["allowed_mentions"]);
}

fn assert_allowed_mentions_empty(allowed: &Value) {
    assert_eq!(allowed["parse"], json!([]), "{allowed}");
    for list in ["users", "roles"] {
        assert!(
            allowed[list].is_null() || allowed[list] == json!([]),
            "{allowed}"
        );
    }
    assert_ne!(allowed["replied_user"], json!(true), "{allowed}");
}

fn without_markup(s: &str) -> String {
    s.replace("**", "")
}

// ---------------------------------------------------------------------------------------
// Commands, autocomplete and buttons: the shared interaction layer over HTTP

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_is_answered_like_the_gateway() {
    let f = Fixture::standard();
    let server = Server::start(quick(&f)).await;
    let cases = [
        (
            command(
                "ask",
                json!([string_option("question", "how do pegs break")]),
            ),
            Command::Ask {
                question: "how do pegs break".into(),
                scope: Scope::Collection,
            },
        ),
        (
            command(
                "ask",
                json!([
                    string_option("question", "how long does it take"),
                    string_option("article", "compost guide")
                ]),
            ),
            Command::Ask {
                question: "how long does it take".into(),
                scope: Scope::Article("compost guide".into()),
            },
        ),
        (
            command("search", json!([string_option("query", "sleep caffeine")])),
            Command::Search {
                query: "sleep caffeine".into(),
                page: 1,
                tag: None,
            },
        ),
        (
            command(
                "search",
                json!([
                    string_option("query", "pile"),
                    string_option("tag", "garden")
                ]),
            ),
            Command::Search {
                query: "pile".into(),
                page: 1,
                tag: Some("garden".into()),
            },
        ),
        (
            command("summary", json!([string_option("article", "composting")])),
            Command::Summary {
                article: "composting".into(),
            },
        ),
        (
            command(
                "takeaways",
                json!([string_option("article", "stablecoins")]),
            ),
            Command::Takeaways {
                article: "stablecoins".into(),
            },
        ),
        (
            command("article", json!([string_option("article", "Urban Cyclng")])),
            Command::Article {
                query: "Urban Cyclng".into(),
            },
        ),
        (
            command(
                "summary",
                json!([string_option("article", "no such thing")]),
            ),
            Command::Summary {
                article: "no such thing".into(),
            },
        ),
    ];
    for (payload, cmd) in &cases {
        let response = server.interact(payload).await;
        assert_eq!(response["type"], 4, "{cmd:?}: {response}");
        assert_eq!(response["data"]["embeds"], rendered(&f, cmd), "{cmd:?}");
        assert_eq!(
            response["data"]["flags"], 64,
            "ephemeral by default: {cmd:?}"
        );
        assert_no_pings(&response);
        assert!(
            labels(&response).contains(&"Post to channel".to_string()),
            "{cmd:?}: {response}"
        );
    }

    // The content itself, from the engine's own answer: the right article and its passage.
    let response = server.interact(&cases[0].0).await;
    let embed = &response["data"]["embeds"][0];
    let answer = crate::util::ask(&f.engine(), "how do pegs break");
    let top = &answer.results[0];
    assert_eq!(top.title, "Stablecoins and Their Pegs");
    assert_eq!(embed["title"], top.title.as_str());
    let description = without_markup(embed["description"].as_str().unwrap());
    let opening: String = top.excerpt.chars().take(40).collect();
    assert!(
        description.contains(&opening),
        "{opening:?} not in {description}"
    );
    assert!(
        description.contains("redeem faster than the issuer can pay"),
        "{description}"
    );
    let fields = embed["fields"].to_string();
    assert!(fields.contains("Takeaways"), "{fields}");
    assert!(fields.contains("attestations"), "{fields}");

    let response = server.interact(&cases[4].0).await;
    let embed = &response["data"]["embeds"][0];
    assert_eq!(embed["title"], "Home Composting Basics");
    assert!(embed
        .to_string()
        .contains("Turn kitchen scraps into soil in a few months."));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_offers_at_most_25_short_choices() {
    let f = Fixture::standard();
    for i in 0..40 {
        f.write(
            &format!("gardening/garden-{i:02}.md"),
            &format!("# Garden Notes {i:02}\n\nNotes on the garden, part {i}.\n"),
        );
    }
    let long_title = format!("Garden {}", "Very Long Title ".repeat(12));
    f.write(
        "gardening/long.md",
        &format!("# {long_title}\n\nA long title.\n"),
    );
    let server = Server::start(quick(&f)).await;
    for (name, partial) in [
        ("summary", "compost"),
        ("ask", "Garden"),
        ("article", "slee"),
    ] {
        let response = server.interact(&autocomplete(name, partial)).await;
        assert_eq!(response["type"], 8, "{response}");
        let choices = response["data"]["choices"].as_array().unwrap();
        assert!(!choices.is_empty(), "{partial}: {response}");
        assert!(choices.len() <= 25, "{} choices", choices.len());
        for c in choices {
            let name = c["name"].as_str().unwrap();
            let value = c["value"].as_str().unwrap();
            assert!((1..=100).contains(&name.chars().count()), "{name:?}");
            assert!((1..=100).contains(&value.chars().count()), "{value:?}");
        }
        // The same choices the service offers.
        let expected: Vec<String> = server
            .service
            .autocomplete(partial)
            .into_iter()
            .take(25)
            .map(|c| c.value.chars().take(100).collect())
            .collect();
        let got: Vec<&str> = choices
            .iter()
            .map(|c| c["value"].as_str().unwrap())
            .collect();
        assert_eq!(got, expected, "{partial}");
    }
    let response = server.interact(&autocomplete("summary", "compost")).await;
    assert!(
        response["data"]["choices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["value"] == "guides-composting"),
        "{response}"
    );
    let response = server.interact(&autocomplete("summary", "Garden")).await;
    assert_eq!(response["data"]["choices"].as_array().unwrap().len(), 25);
    // A title over 100 characters is offered, cut to 100.
    assert!(long_title.chars().count() > 100);
    let response = server
        .interact(&autocomplete("summary", "Garden Very"))
        .await;
    let name = response["data"]["choices"][0]["name"].as_str().unwrap();
    assert!(name.starts_with("Garden Very Long Title"), "{response}");
    assert!(name.chars().count() <= 100, "{name}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_page_post_and_delete() {
    let f = Fixture::standard();
    let mut settings = quick(&f);
    settings.answer.page_size = 1;
    let fake = FakeDiscord::start().await;
    settings.discord.rest_proxy = Some(fake.url.clone());
    let server = Server::start(settings).await;
    let search = |page| Command::Search {
        query: "pile light sleep".into(),
        page,
        tag: None,
    };
    let mut f1 = f.settings();
    f1.answer.page_size = 1;
    let expected = |page| {
        let engine = articlebot::answer::Engine::new(f.library(), f1.answer.clone());
        let answer = engine.execute(&search(page)).unwrap();
        serde_json::to_value(articlebot::discord::render::answer(&answer).embeds()).unwrap()
    };

    let first = server
        .interact(&command(
            "search",
            json!([string_option("query", "pile light sleep")]),
        ))
        .await;
    assert_eq!(first["data"]["embeds"], expected(1));
    let b = buttons(&first);
    assert_eq!(
        labels(&first),
        ["Previous", "Next", "Post to channel"],
        "{first}"
    );
    assert!(b[0].2, "Previous is disabled on page 1");

    // Only the asker may page.
    let other = member(OTHER_USER_ID, MEMBER_PERMISSIONS);
    let refused = server
        .interact(&press(&first, "Next", USER_ID, other.clone()))
        .await;
    assert_eq!(refused["type"], 4);
    assert_eq!(refused["data"]["flags"], 64);
    assert!(
        refused.to_string().contains("Only the person who asked"),
        "{refused}"
    );

    // Next: the message is updated in place with page 2.
    let me = member(USER_ID, MEMBER_PERMISSIONS);
    let second = server
        .interact(&press(&first, "Next", USER_ID, me.clone()))
        .await;
    assert_eq!(second["type"], 7, "{second}");
    assert_eq!(second["data"]["embeds"], expected(2));
    assert_no_pings(&second);
    assert!(!buttons(&second)[0].2, "Previous is enabled on page 2");
    let back = server
        .interact(&press(&second, "Previous", USER_ID, me.clone()))
        .await;
    assert_eq!(back["type"], 7);
    assert_eq!(back["data"]["embeds"], expected(1));

    // Post to channel: the same answer, public, with a Delete button.
    let posted = server
        .interact(&press(&first, "Post to channel", USER_ID, me.clone()))
        .await;
    assert_eq!(posted["type"], 4, "{posted}");
    assert!(
        posted["data"]["flags"].as_u64().unwrap_or(0) & 64 == 0,
        "{posted}"
    );
    assert_eq!(posted["data"]["embeds"], expected(1));
    assert!(labels(&posted).contains(&"Delete".to_string()), "{posted}");
    assert_no_pings(&posted);

    // Delete: refused to another member, done for the asker through the webhook.
    let refused = server
        .interact(&press(&posted, "Delete", USER_ID, other))
        .await;
    assert!(
        refused.to_string().contains("Only the person who asked"),
        "{refused}"
    );
    assert!(fake.calls().is_empty());
    let delete = press(&posted, "Delete", USER_ID, me);
    let token = delete["token"].as_str().unwrap().to_string();
    let ack = server.interact(&delete).await;
    assert_eq!(ack["type"], 6, "deferred update: {ack}");
    let call = fake.wait_for(1).await.remove(0);
    assert_eq!(call.method, "DELETE");
    assert_eq!(
        call.path,
        format!("/api/v10/webhooks/{APP_ID}/{token}/messages/@original")
    );
    server.stop().await;
}

/// Buttons carry their state in their custom ids: an instance that never saw the search
/// (a restart, another instance behind the load balancer) pages it, and posts it. Custom ids
/// are not trusted: garbled ones, and ones naming someone the message did not answer, get an
/// ephemeral message and change nothing. A query too long to travel in a custom id is kept
/// in memory: it pages on the instance that answered it, and elsewhere says it expired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_work_on_a_fresh_instance_and_garbled_ids_are_refused() {
    let f = Fixture::standard();
    let mut settings = quick(&f);
    settings.answer.page_size = 1;
    let expected = |query: &str, page| {
        let mut s = f.settings();
        s.answer.page_size = 1;
        let engine = articlebot::answer::Engine::new(f.library(), s.answer);
        let cmd = Command::Search {
            query: query.into(),
            page,
            tag: None,
        };
        let answer = engine.execute(&cmd).unwrap();
        serde_json::to_value(articlebot::discord::render::answer(&answer).embeds()).unwrap()
    };
    let query = "pile: light sleep";
    let me = member(USER_ID, MEMBER_PERMISSIONS);
    let other = member(OTHER_USER_ID, MEMBER_PERMISSIONS);

    let first_instance = Server::start(settings.clone()).await;
    let first = first_instance
        .interact(&command("search", json!([string_option("query", query)])))
        .await;
    assert_eq!(first["data"]["embeds"], expected(query, 1));
    first_instance.stop().await;

    // A fresh instance: only the asker pages, and the page turns.
    let fresh = Server::start(settings.clone()).await;
    let refused = fresh
        .interact(&press(&first, "Next", USER_ID, other.clone()))
        .await;
    assert_eq!(refused["data"]["flags"], 64);
    assert!(
        refused.to_string().contains("Only the person who asked"),
        "{refused}"
    );
    let second = fresh
        .interact(&press(&first, "Next", USER_ID, me.clone()))
        .await;
    assert_eq!(second["type"], 7, "{second}");
    assert_eq!(second["data"]["embeds"], expected(query, 2));
    assert!(!buttons(&second)[0].2, "Previous is enabled on page 2");
    fresh.stop().await;

    // Yet another one pages back, and posts the page to the channel.
    let fresh = Server::start(settings.clone()).await;
    let back = fresh
        .interact(&press(&second, "Previous", USER_ID, me.clone()))
        .await;
    assert_eq!(back["type"], 7, "{back}");
    assert_eq!(back["data"]["embeds"], expected(query, 1));
    let posted = fresh
        .interact(&press(&second, "Post to channel", USER_ID, me.clone()))
        .await;
    assert_eq!(posted["type"], 4, "{posted}");
    assert_eq!(posted["data"]["flags"].as_u64().unwrap_or(0) & 64, 0);
    assert_eq!(posted["data"]["embeds"], expected(query, 2));
    assert_eq!(labels(&posted), ["Previous", "Next", "Delete"], "{posted}");
    assert_no_pings(&posted);

    // Garbled custom ids: an ephemeral message, nothing else.
    let next = buttons(&first)[1].1.clone();
    let mut garbled = vec![
        String::new(),
        "ab2".into(),
        "ab2:n:oops".into(),
        next.replace(":s:1:0:", ":s:1:99:"),
        next.replace(":s:1:0:", ":s:0:0:"),
        next.replace(":s:1:0:", ":s:1:x:"),
        next.replace(":s:1:0:", ":z:1:0:"),
        next.replace("ab2:n:", "ab2:q:"),
        next.replace(USER_ID, "-1"),
        "ab:next:12:oops".into(),
        "\u{1F4A5}".into(),
    ];
    garbled.push(format!("ab2:n:{USER_ID}:s:1:0:{}", "x".repeat(100)));
    for id in &garbled {
        let reply = fresh
            .interact(&press_id(&first, id, USER_ID, me.clone()))
            .await;
        assert_eq!(reply["type"], 4, "{id:?}: {reply}");
        assert_eq!(reply["data"]["flags"], 64, "{id:?}: {reply}");
        assert!(
            reply.to_string().contains("I cannot read this button"),
            "{id:?}: {reply}"
        );
        assert_no_pings(&reply);
    }
    // A forged id: another member writes themselves in as the asker of this message.
    let forged = format!("ab2:n:{OTHER_USER_ID}:s:1:0:{query}");
    assert_eq!(forged.replace(OTHER_USER_ID, USER_ID), next);
    let reply = fresh
        .interact(&press_id(&first, &forged, USER_ID, other.clone()))
        .await;
    assert_eq!(reply["data"]["flags"], 64, "{reply}");
    assert!(
        reply.to_string().contains("I cannot read this button"),
        "{reply}"
    );
    // A stored id this instance never made: expired.
    let reply = fresh
        .interact(&press_id(
            &first,
            &format!("ab:next:12:{USER_ID}"),
            USER_ID,
            me.clone(),
        ))
        .await;
    assert!(
        reply.to_string().contains("These buttons have expired"),
        "{reply}"
    );

    // A query too long for a custom id: kept in memory, paged by the same instance...
    let long = "how many hours of sleep do adults need each night, and what about caffeine";
    let kept = fresh
        .interact(&command("search", json!([string_option("query", long)])))
        .await;
    let next = buttons(&kept)[1].1.clone();
    assert!(next.starts_with("ab:next:"), "{next}");
    let page2 = fresh
        .interact(&press(&kept, "Next", USER_ID, me.clone()))
        .await;
    assert_eq!(page2["type"], 7, "{page2}");
    assert_eq!(page2["data"]["embeds"], expected(long, 2));
    fresh.stop().await;
    // ...and expired on another.
    let fresh = Server::start(settings).await;
    let reply = fresh.interact(&press(&kept, "Next", USER_ID, me)).await;
    assert_eq!(reply["data"]["flags"], 64);
    assert!(
        reply.to_string().contains("These buttons have expired"),
        "{reply}"
    );
    fresh.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderator_commands_check_and_reload_completes_through_the_webhook() {
    let f = Fixture::standard();
    let fake = FakeDiscord::start().await;
    let mut settings = quick(&f);
    settings.discord.rest_proxy = Some(fake.url.clone());
    settings.discord.moderator_role_ids = vec![MODERATOR_ROLE_ID.parse().unwrap()];
    let server = Server::start(settings).await;

    // An ordinary member is refused, and nothing is deferred.
    for name in ["reload", "check", "stats"] {
        let response = server.interact(&command(name, json!([]))).await;
        assert_eq!(response["type"], 4, "{response}");
        assert_eq!(response["data"]["flags"], 64);
        assert!(
            response.to_string().contains("moderators only"),
            "{response}"
        );
        assert_no_pings(&response);
    }

    f.write(
        "tides.md",
        "# Tidal Power Basics\n\nTidal turbines turn the rise and fall of the sea into electricity.\n",
    );
    let summary = command("summary", json!([string_option("article", "tidal power")]));
    let before = server.interact(&summary).await;
    assert!(
        !before.to_string().contains("Tidal Power Basics"),
        "{before}"
    );

    let moderator = member(USER_ID, MODERATOR_PERMISSIONS);
    let reload = command_from("reload", json!([]), moderator.clone());
    let token = reload["token"].as_str().unwrap().to_string();
    let ack = server.interact(&reload).await;
    assert_eq!(ack["type"], 5, "deferred message: {ack}");
    assert_eq!(ack["data"]["flags"], 64, "{ack}");
    let call = fake.wait_for(1).await.remove(0);
    assert_eq!(call.method, "PATCH");
    assert_eq!(
        call.path,
        format!("/api/v10/webhooks/{APP_ID}/{token}/messages/@original")
    );
    let content = call.body["content"].as_str().unwrap();
    assert!(content.contains("Reload"), "{content}");
    assert!(content.contains('5'), "five articles now: {content}");
    assert_allowed_mentions_empty(&call.body["allowed_mentions"]);

    let after = server.interact(&summary).await;
    assert_eq!(
        after["data"]["embeds"][0]["title"], "Tidal Power Basics",
        "{after}"
    );

    // /check is deferred too; /stats answers at once.
    let ack = server
        .interact(&command_from("check", json!([]), moderator.clone()))
        .await;
    assert_eq!(ack["type"], 5);
    let calls = fake.wait_for(2).await;
    assert!(
        calls[1].body["content"].as_str().unwrap().contains("check"),
        "{:?}",
        calls[1].body
    );
    let stats = server
        .interact(&command_from("stats", json!([]), moderator))
        .await;
    assert_eq!(stats["type"], 4);
    assert_eq!(stats["data"]["flags"], 64);
    assert!(stats.to_string().contains("Statistics"), "{stats}");

    // A moderator role (`discord.moderator_role_ids`) is enough without Manage Server.
    let mut by_role = member(OTHER_USER_ID, MEMBER_PERMISSIONS);
    by_role["roles"] = json!([MODERATOR_ROLE_ID]);
    let stats = server
        .interact(&command_from("stats", json!([]), by_role))
        .await;
    assert!(stats.to_string().contains("Statistics"), "{stats}");

    // Outside a guild (a direct message: `user`, no `member`) nobody is a moderator.
    let mut dm = command("stats", json!([]));
    let dm_map = dm.as_object_mut().unwrap();
    for key in ["guild_id", "member", "guild_locale"] {
        dm_map.remove(key);
    }
    dm_map.insert("user".into(), user(USER_ID, "reader"));
    dm_map.insert("context".into(), json!(1));
    dm_map.insert(
        "channel".into(),
        json!({"id": CHANNEL_ID, "type": 1, "recipients": [user(USER_ID, "reader")]}),
    );
    dm_map.insert(
        "authorizing_integration_owners".into(),
        json!({"1": USER_ID}),
    );
    dm["data"].as_object_mut().unwrap().remove("guild_id");
    let refused = server.interact(&dm).await;
    assert!(refused.to_string().contains("moderators only"), "{refused}");
    assert_eq!(fake.calls().len(), 2, "nothing more was deferred");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooldown_and_no_pings_hold_over_http() {
    let f = Fixture::standard();
    f.write(
        "loud.md",
        "# Loud Announcements\n\nPing @everyone and @here and <@123456789012345678> whenever the reserves move.\n",
    );
    let mut settings = f.settings();
    settings.discord.cooldown = Duration::from_secs(3600);
    let server = Server::start(settings).await;
    let first = server
        .interact(&command(
            "summary",
            json!([string_option("article", "loud announcements")]),
        ))
        .await;
    assert_eq!(first["data"]["embeds"][0]["title"], "Loud Announcements");
    assert_no_pings(&first);
    let text = first.to_string();
    assert!(text.contains("everyone"), "{text}");
    assert!(
        !text.contains("@everyone") && !text.contains("@here"),
        "{text}"
    );
    assert!(!text.contains("<@123456789012345678>"), "{text}");
    // The same member again, at once: asked to wait.
    let second = server
        .interact(&command(
            "ask",
            json!([string_option("question", "reserves")]),
        ))
        .await;
    assert_eq!(second["type"], 4);
    assert_eq!(second["data"]["flags"], 64);
    assert!(second.to_string().contains("Slow down"), "{second}");
    assert_no_pings(&second);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_are_all_answered_correctly() {
    let f = Fixture::standard();
    let server = Arc::new(Server::start(quick(&f)).await);
    let questions = [
        "how do pegs break",
        "how long does compost take",
        "how much sleep do adults need",
        "which lights for cycling at night",
        "what is a stablecoin",
        "caffeine half-life",
    ];
    let mut tasks = Vec::new();
    for i in 0..60 {
        let server = server.clone();
        let q = questions[i % questions.len()];
        tasks.push(tokio::spawn(async move {
            match i % 3 {
                0 => {
                    let reply = server.post(serde_json::to_vec(&ping()).unwrap()).await;
                    (i, None, reply.json())
                }
                1 => {
                    let payload = autocomplete("summary", &q[..4]);
                    (i, Some(q[..4].to_string()), server.interact(&payload).await)
                }
                _ => {
                    let payload = command("ask", json!([string_option("question", q)]));
                    (i, Some(q.to_string()), server.interact(&payload).await)
                }
            }
        }));
    }
    let mut answered = 0;
    for t in tasks {
        let (i, text, response) = t.await.unwrap();
        match (i % 3, text) {
            (0, _) => assert_eq!(response, json!({"type": 1})),
            (1, Some(prefix)) => {
                let expected: Vec<String> = server
                    .service
                    .autocomplete(&prefix)
                    .into_iter()
                    .take(25)
                    .map(|c| c.value)
                    .collect();
                let got: Vec<String> = response["data"]["choices"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["value"].as_str().unwrap().to_string())
                    .collect();
                assert_eq!(got, expected, "{prefix}");
            }
            (_, Some(q)) => {
                let cmd = Command::Ask {
                    question: q.clone(),
                    scope: Scope::Collection,
                };
                assert_eq!(response["data"]["embeds"], rendered(&f, &cmd), "{q}");
            }
            _ => unreachable!(),
        }
        answered += 1;
    }
    assert_eq!(answered, 60);
    Arc::into_inner(server).unwrap().stop().await;
}

// ---------------------------------------------------------------------------------------
// A local fake of Discord's interaction webhook routes

#[derive(Debug, Clone)]
struct Call {
    method: String,
    path: String,
    body: Value,
    /// The `Authorization` header, `None` when there was none.
    authorization: Option<String>,
    /// The status the fake answered with.
    status: u16,
}

/// Records every request. Interaction webhooks (PATCH, POST, DELETE) answer like Discord; so
/// do starting a thread from a message and posting in it, which need the bot token. Like
/// Discord, any request whose `Authorization` header is present but not a valid bot token
/// (empty, `Bot ` with nothing after it, another token) gets 401, webhook routes included:
/// those need no header, but a bad one is refused.
struct FakeDiscord {
    url: String,
    recorder: Recorder,
}

#[derive(Clone, Default)]
struct Recorder {
    calls: Arc<Mutex<Vec<Call>>>,
    notify: Arc<tokio::sync::Notify>,
}

/// The bot token the fake accepts on the routes that need one (threads, channel messages).
const FAKE_BOT_TOKEN: &str = "test-bot-token";
const THREAD_ID: &str = "1180000000000000009";

async fn fake_webhook(
    axum::extract::State(recorder): axum::extract::State<Recorder>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let mut call = Call {
        method: method.to_string(),
        path: uri.path().to_string(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        authorization: headers
            .get("authorization")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        status: 0,
    };
    let response = webhook_response(&call);
    call.status = response.status().as_u16();
    recorder.calls.lock().unwrap().push(call);
    recorder.notify.notify_waiters();
    response
}

/// What Discord answers to `call`.
fn webhook_response(call: &Call) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let (method, path, body) = (call.method.as_str(), call.path.as_str(), &call.body);
    let authorized = call.authorization == Some(format!("Bot {FAKE_BOT_TOKEN}"));
    let message = |channel: &str| {
        let response = json!({"data": {
            "content": body["content"].as_str().unwrap_or(""),
            "embeds": body.get("embeds").cloned().unwrap_or(json!([])),
            "components": body.get("components").cloned().unwrap_or(json!([])),
        }});
        let mut m = message_from(&response, USER_ID);
        m["channel_id"] = json!(channel);
        axum::Json(m).into_response()
    };
    let unauthorized = || {
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"message": "401: Unauthorized", "code": 0})),
        )
            .into_response()
    };
    // A header that is there but is no valid token is refused on every route.
    if call.authorization.is_some() && !authorized {
        return unauthorized();
    }
    // Interaction webhooks: authenticated by the token in the path.
    if path.starts_with(&format!("/api/v10/webhooks/{APP_ID}/")) {
        if method == "DELETE" {
            return StatusCode::NO_CONTENT.into_response();
        }
        return message(CHANNEL_ID);
    }
    // Start a thread from a message (needs the bot token).
    let thread_route = format!("/api/v10/channels/{CHANNEL_ID}/messages/");
    if method == "POST" && path.starts_with(&thread_route) && path.ends_with("/threads") {
        if !authorized {
            return unauthorized();
        }
        return axum::Json(json!({
            "id": THREAD_ID,
            "guild_id": GUILD_ID,
            "parent_id": CHANNEL_ID,
            "owner_id": BOT_USER_ID,
            "type": 11,
            "name": body["name"],
            "last_message_id": null,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "flags": 0,
            "thread_metadata": {
                "archived": false,
                "auto_archive_duration": 1440,
                "archive_timestamp": "2026-11-25T12:00:00.000000+00:00",
                "locked": false,
                "create_timestamp": "2026-11-25T12:00:00.000000+00:00"
            }
        }))
        .into_response();
    }
    if method == "POST" && path == format!("/api/v10/channels/{THREAD_ID}/messages") {
        if !authorized {
            return unauthorized();
        }
        return message(THREAD_ID);
    }
    StatusCode::NOT_FOUND.into_response()
}

impl FakeDiscord {
    async fn start() -> FakeDiscord {
        let recorder = Recorder::default();
        let app = axum::Router::new()
            .fallback(fake_webhook)
            .with_state(recorder.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeDiscord { url, recorder }
    }

    fn calls(&self) -> Vec<Call> {
        self.recorder.calls.lock().unwrap().clone()
    }

    /// Waits until `n` calls were recorded and returns them.
    async fn wait_for(&self, n: usize) -> Vec<Call> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let notified = self.recorder.notify.notified();
            let calls = self.calls();
            if calls.len() >= n {
                return calls;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("expected {n} webhook call(s), got {:?}", self.calls());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The real binary: key resolution, SIGHUP reload, SIGTERM

/// POSTs a signed interaction to a server started elsewhere.
async fn signed_post(url: &str, key: &SigningKey, payload: &Value) -> Value {
    let body = serde_json::to_vec(payload).unwrap();
    let ts = unix_now().to_string();
    let res = reqwest::Client::new()
        .post(format!("{url}/interactions"))
        .header("X-Signature-Ed25519", sign(key, &ts, &body))
        .header("X-Signature-Timestamp", ts)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    res.json().await.unwrap()
}

fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_missing_or_invalid_public_key_exits_2() {
    let f = Fixture::standard();
    let config = f.config("");
    let run = |args: &[&str], env: Option<&str>| {
        let mut cmd = bin();
        cmd.current_dir(f.dir.path())
            .env_remove("DISCORD_PUBLIC_KEY")
            .arg("--config")
            .arg(&config)
            .arg("serve-http")
            .args(args);
        if let Some(v) = env {
            cmd.env("DISCORD_PUBLIC_KEY", v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&[], None);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("DISCORD_PUBLIC_KEY") && err.contains("--public-key"),
        "{err}"
    );
    let (code, err) = run(&["--public-key", "abc123"], None);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("64 hex digits"), "{err}");
    // The environment variable is read when there is no flag.
    let (code, err) = run(&[], Some("not-a-key"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("invalid public key"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_reloads_on_sighup_and_stops_on_sigterm() {
    use tokio::io::AsyncBufReadExt;
    let f = Fixture::standard();
    let config = f.config("[discord]\ncooldown_seconds = 0\n");
    let key = new_key();
    let mut cmd = bin();
    cmd.current_dir(f.dir.path())
        .env_remove("DISCORD_PUBLIC_KEY")
        .arg("--config")
        .arg(&config)
        .args(["serve-http", "--listen", "127.0.0.1:0", "--public-key"])
        .arg(public_hex(&key))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = tokio::process::Command::from(cmd)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(PATIENCE, lines.next_line())
        .await
        .expect("the server starts")
        .unwrap()
        .unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_string();
    assert!(first.contains("(4 articles)"), "{first}");

    let summary = command("summary", json!([string_option("article", "tidal power")]));
    let before = signed_post(&url, &key, &summary).await;
    assert_eq!(before["type"], 4);
    assert_ne!(before["data"]["embeds"][0]["title"], "Tidal Power Basics");

    f.write(
        "tides.md",
        "# Tidal Power Basics\n\nTidal turbines turn the rise and fall of the sea into electricity.\n",
    );
    signal(pid, "HUP");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let after = signed_post(&url, &key, &summary).await;
        if after["data"]["embeds"][0]["title"] == "Tidal Power Basics" {
            assert!(after
                .to_string()
                .contains("Tidal turbines turn the rise and fall"));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no reload: {after}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let health: Value = reqwest::get(format!("{url}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["articles"], 5);

    signal(pid, "TERM");
    let status = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .expect("the server stops")
        .unwrap();
    assert!(status.success(), "{status:?}");
    let mut rest = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        rest.push(line);
    }
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discuss_opens_a_thread_with_the_bot_token_and_explains_without_it() {
    let f = Fixture::standard();
    let discuss = || command("discuss", json!([string_option("article", "composting")]));
    let expected_title = "Discussion: Home Composting Basics";

    // No bot token: the answer is edited in, the thread is refused, the member is told.
    let fake = FakeDiscord::start().await;
    let mut settings = quick(&f);
    settings.discord.rest_proxy = Some(fake.url.clone());
    settings.discord.token_env = "ARTICLEBOT_HTTP_TEST_UNSET_TOKEN".into();
    let server = Server::start(settings).await;
    let payload = discuss();
    let token = payload["token"].as_str().unwrap().to_string();
    let ack = server.interact(&payload).await;
    assert_eq!(ack["type"], 5, "{ack}");
    assert_eq!(
        ack["data"]["flags"].as_u64().unwrap_or(0) & 64,
        0,
        "public: {ack}"
    );
    // No thread is attempted (Discord would refuse it without a bot token), and no call
    // carries an `Authorization` header (an empty one would be refused too).
    let calls = fake.wait_for(2).await;
    assert_eq!(calls[0].method, "PATCH");
    assert_eq!(calls[0].body["embeds"][0]["title"], expected_title);
    assert_eq!(calls[1].method, "POST");
    assert_eq!(calls[1].path, format!("/api/v10/webhooks/{APP_ID}/{token}"));
    assert!(
        calls[1].body["content"]
            .as_str()
            .unwrap()
            .contains("could not open a thread"),
        "{:?}",
        calls[1].body
    );
    assert_eq!(calls[1].body["flags"], 64);
    for call in &calls {
        assert_eq!(call.authorization, None, "{call:?}");
        assert_eq!(call.status, 200, "{call:?}");
    }
    server.stop().await;
    assert_eq!(fake.calls().len(), 2, "{:?}", fake.calls());

    // With the bot token (`discord.token_env`): the thread is opened and gets the summary and
    // the takeaways.
    let fake = FakeDiscord::start().await;
    let mut settings = quick(&f);
    settings.discord.rest_proxy = Some(fake.url.clone());
    settings.discord.token_env = "ARTICLEBOT_HTTP_TEST_BOT_TOKEN".into();
    std::env::set_var("ARTICLEBOT_HTTP_TEST_BOT_TOKEN", FAKE_BOT_TOKEN);
    let server = Server::start(settings).await;
    let ack = server.interact(&discuss()).await;
    assert_eq!(ack["type"], 5, "{ack}");
    let calls = fake.wait_for(3).await;
    assert_eq!(calls[0].method, "PATCH");
    assert_eq!(calls[0].body["embeds"][0]["title"], expected_title);
    assert_allowed_mentions_empty(&calls[0].body["allowed_mentions"]);
    assert!(calls[1].path.ends_with("/threads"), "{:?}", calls[1]);
    assert_eq!(calls[1].body["name"], "Home Composting Basics");
    assert_eq!(
        calls[2].path,
        format!("/api/v10/channels/{THREAD_ID}/messages")
    );
    let posted = calls[2].body.to_string();
    assert!(posted.contains("Turn kitchen scraps into soil"), "{posted}");
    assert!(posted.contains("Balance greens and browns"), "{posted}");
    assert_allowed_mentions_empty(&calls[2].body["allowed_mentions"]);
    for call in &calls {
        let bot = format!("Bot {FAKE_BOT_TOKEN}");
        assert_eq!(
            call.authorization.as_deref(),
            Some(bot.as_str()),
            "{call:?}"
        );
        assert_eq!(call.status, 200, "{call:?}");
    }
    server.stop().await;
}

/// `serve-http` without a bot token: a deferred answer still reaches the member, edited in
/// through the interaction webhook with no `Authorization` header, which the fake (like
/// Discord) would refuse were it empty or malformed. An empty or blank token variable counts
/// as no token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_bot_token_deferred_answers_complete_with_no_authorization() {
    let f = Fixture::standard();
    std::env::set_var("ARTICLEBOT_HTTP_TEST_BLANK_TOKEN", "  ");
    for token_env in [
        "ARTICLEBOT_HTTP_TEST_UNSET_TOKEN",
        "ARTICLEBOT_HTTP_TEST_BLANK_TOKEN",
    ] {
        let fake = FakeDiscord::start().await;
        let mut settings = quick(&f);
        settings.discord.rest_proxy = Some(fake.url.clone());
        settings.discord.token_env = token_env.into();
        let server = Server::start_deferring(settings).await;
        let question = "how do pegs break";
        let payload = command("ask", json!([string_option("question", question)]));
        let token = payload["token"].as_str().unwrap().to_string();
        let ack = server.interact(&payload).await;
        assert_eq!(ack["type"], 5, "deferred: {ack}");
        let call = fake.wait_for(1).await.remove(0);
        assert_eq!(call.method, "PATCH", "{call:?}");
        assert_eq!(
            call.path,
            format!("/api/v10/webhooks/{APP_ID}/{token}/messages/@original")
        );
        assert_eq!(call.authorization, None, "{token_env}: {call:?}");
        assert_eq!(call.status, 200, "accepted: {call:?}");
        let cmd = Command::Ask {
            question: question.into(),
            scope: Scope::Collection,
        };
        assert_eq!(call.body["embeds"], rendered(&f, &cmd));
        assert_allowed_mentions_empty(&call.body["allowed_mentions"]);
        server.stop().await;
    }
}

/// The fake refuses what Discord refuses: an `Authorization` header that is empty, a bare
/// `Bot ` or a wrong token gets 401 even on the interaction webhook, which needs none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_discord_refuses_empty_or_malformed_authorization() {
    let fake = FakeDiscord::start().await;
    let url = format!("{}/api/v10/webhooks/{APP_ID}/some-token", fake.url);
    let client = reqwest::Client::new();
    let post = |auth: Option<&str>| {
        let mut req = client.post(&url).json(&json!({"content": "hi"}));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send()
    };
    for auth in ["", "Bot ", "Bot", "Bearer", "Bot wrong-token"] {
        let res = post(Some(auth)).await.unwrap();
        assert_eq!(res.status().as_u16(), 401, "{auth:?}");
    }
    assert_eq!(post(None).await.unwrap().status().as_u16(), 200);
    let good = format!("Bot {FAKE_BOT_TOKEN}");
    assert_eq!(post(Some(&good)).await.unwrap().status().as_u16(), 200);
}
