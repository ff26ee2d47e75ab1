//! A local Discord for the tests: the REST routes the bot uses (axum) and a WebSocket gateway
//! (tokio-tungstenite), both on 127.0.0.1. The gateway tests and the HTTP endpoint's tests use
//! this one fake (an HTTP interaction's response goes through [`Fake::respond`], the same
//! checks as the callback route). It records everything the bot sends and ENFORCES what
//! Discord enforces: the 3-second window for the first response and the 15 minutes of the
//! interaction token (on a clock the tests can move, [`Fake::advance`]), valid callback
//! types, no empty message, the length limits of messages and embeds, valid `flags` (which an
//! edit cannot change), components (at most 5 rows of at most 5 buttons, unique non-empty
//! custom ids, link buttons with a URL and no custom id), at most 25 autocomplete choices of
//! at most 100 characters, command definitions (names, descriptions, options: lower-case
//! names of 1-32 characters, descriptions of 1-100, required options first), the application
//! id in every webhook path, `allowed_mentions` present and empty on every message, and, as
//! Discord does, it answers 401 to a request whose `Authorization` header is not the bot token
//! (empty, a bare `Bot `, another token), or is missing where the route needs it (every route
//! but the interaction callback and webhooks). A broken rule is recorded as a violation, and
//! [`Fake::assert_clean`] fails the test with it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub const APP_ID: u64 = 900_000_000_000_000_001;
pub const BOT_ID: u64 = 900_000_000_000_000_002;
pub const GUILD_ID: u64 = 900_000_000_000_000_003;
pub const CHANNEL_ID: u64 = 900_000_000_000_000_004;
pub const MESSAGE_CONTENT: u64 = 1 << 15;
/// The bot token the fake accepts.
pub const BOT_TOKEN: &str = "test-token";

/// An interaction the fake sent, and what the bot did with it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub id: u64,
    pub token: String,
    /// 2 command, 3 component, 4 autocomplete.
    pub kind: u8,
    pub sent_at: Instant,
    /// The message a component sat on.
    pub message_id: Option<u64>,
    /// The channel the interaction came from (where a response message appears).
    pub channel_id: u64,
    /// The callback (type, data), once answered.
    pub callback: Option<(u64, Value)>,
    /// Delivered as an HTTP POST (its response is the callback, see [`Fake::respond`]).
    pub over_http: bool,
    /// The message the response created (types 4 and 5).
    pub original: Option<u64>,
}

/// A message in a channel, as the fake keeps it.
#[derive(Debug, Clone)]
pub struct Msg {
    pub id: u64,
    pub channel_id: u64,
    /// The latest body the bot sent (content, embeds, components, flags...).
    pub body: Value,
    pub ephemeral: bool,
    pub deleted: bool,
    /// Which interaction made it, if any.
    pub interaction: Option<u64>,
}

/// A REST request the bot made, as the fake saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub body: Value,
    /// The `Authorization` header, `None` when there was none.
    pub authorization: Option<String>,
    /// The status the fake answered with.
    pub status: u16,
}

#[derive(Default)]
pub struct Record {
    pub sent: Vec<Sent>,
    /// Every REST request, in order.
    pub calls: Vec<Call>,
    pub messages: Vec<Msg>,
    pub threads: Vec<(u64, u64, Value)>,
    pub command_puts: Vec<(String, Value)>,
    pub edits: usize,
    pub deletes: usize,
    pub followups: Vec<Value>,
    pub violations: Vec<String>,
    pub identifies: Vec<u64>,
    /// The `shard` of each IDENTIFY.
    pub shards: Vec<Value>,
    pub resumes: usize,
    pub connections: usize,
    pub closes: Vec<u16>,
    /// Close codes the bot sent (a clean shutdown says goodbye).
    pub client_closes: Vec<u16>,
    pub unexpected: Vec<String>,
}

struct Shared {
    record: Mutex<Record>,
    changed: Notify,
    /// The current gateway connection's outbox.
    outbox: Mutex<Option<mpsc::UnboundedSender<Outgoing>>>,
    /// Dispatches waiting for a connection.
    pending: Mutex<Vec<(String, Value)>>,
    ids: AtomicU64,
    ws_url: String,
    refuse_message_content: std::sync::atomic::AtomicBool,
    refuse_threads: std::sync::atomic::AtomicBool,
    /// Threads `GET /channels/{id}` knows: id → parent channel.
    known_threads: Mutex<Vec<(u64, u64)>>,
    /// Milliseconds every edit of `@original` takes.
    slow_edits_ms: AtomicU64,
    /// Webhook calls made to fail, by method.
    failing_webhooks: Mutex<Vec<(String, Failure)>>,
    /// How far the tests moved the fake's clock ahead of the real one.
    skew: Mutex<Duration>,
}

impl Shared {
    /// The fake's clock: Discord's time limits are checked against it.
    fn now(&self) -> Instant {
        Instant::now() + *self.skew.lock().unwrap()
    }
}

enum Outgoing {
    Dispatch(String, Value),
    /// Drop the TCP connection without a close frame.
    Drop,
    /// Op 7: ask the client to reconnect and resume.
    Reconnect,
}

/// How a webhook call made to fail fails.
#[derive(Debug, Clone, Copy)]
pub enum Failure {
    /// This status, with Discord's JSON error body.
    Status(u16),
    /// 200, then the connection breaks in the middle of the body.
    BrokenBody,
}

/// The local Discord.
#[derive(Clone)]
pub struct Fake {
    shared: Arc<Shared>,
    pub rest_url: String,
}

impl Fake {
    pub async fn start() -> Fake {
        let ws = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ws_url = format!("ws://{}", ws.local_addr().unwrap());
        let rest = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let rest_url = format!("http://{}", rest.local_addr().unwrap());
        let shared = Arc::new(Shared {
            record: Mutex::new(Record::default()),
            changed: Notify::new(),
            outbox: Mutex::new(None),
            pending: Mutex::new(Vec::new()),
            ids: AtomicU64::new(1_200_000_000_000_000_000),
            ws_url,
            refuse_message_content: Default::default(),
            refuse_threads: Default::default(),
            known_threads: Mutex::new(Vec::new()),
            slow_edits_ms: AtomicU64::new(0),
            failing_webhooks: Mutex::new(Vec::new()),
            skew: Mutex::new(Duration::ZERO),
        });
        let app = Router::new()
            .route("/api/v10/gateway", get(gateway))
            .route("/api/v10/gateway/bot", get(gateway_bot))
            .route("/api/v10/users/@me", get(me))
            .route("/api/v10/oauth2/applications/@me", get(application))
            .route(
                "/api/v10/applications/{app}/commands",
                put(put_global).get(get_commands),
            )
            .route(
                "/api/v10/applications/{app}/guilds/{guild}/commands",
                put(put_guild).get(get_commands),
            )
            .route(
                "/api/v10/interactions/{id}/{token}/callback",
                post(callback),
            )
            .route(
                "/api/v10/webhooks/{app}/{token}/messages/{msg}",
                axum::routing::patch(edit_original).delete(delete_original),
            )
            .route("/api/v10/webhooks/{app}/{token}", post(followup))
            .route("/api/v10/channels/{channel}", get(get_channel))
            .route(
                "/api/v10/channels/{channel}/messages",
                post(channel_message),
            )
            .route(
                "/api/v10/channels/{channel}/messages/{msg}/threads",
                post(thread_from_message),
            )
            .fallback(unexpected)
            .layer(axum::middleware::from_fn_with_state(
                shared.clone(),
                authorization,
            ))
            .with_state(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(rest, app).await;
        });
        let gw = shared.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = ws.accept().await {
                let gw = gw.clone();
                tokio::spawn(connection(gw, tcp));
            }
        });
        Fake { shared, rest_url }
    }

    /// Closes the gateway with 4014 when IDENTIFY asks for MESSAGE_CONTENT (not granted).
    pub fn refuse_message_content(&self) {
        self.shared
            .refuse_message_content
            .store(true, Ordering::SeqCst);
    }

    /// Makes every edit of `@original` take `ms` milliseconds (work still in flight).
    pub fn slow_edits(&self, ms: u64) {
        self.shared.slow_edits_ms.store(ms, Ordering::SeqCst);
    }

    /// Makes every interaction webhook call with `method` (PATCH, DELETE, POST) fail `how`,
    /// until [`Fake::heal_webhooks`].
    pub fn fail_webhooks(&self, method: &str, how: Failure) {
        let mut failing = self.shared.failing_webhooks.lock().unwrap();
        failing.retain(|(m, _)| m != method);
        failing.push((method.to_string(), how));
    }

    /// Lets the webhook calls succeed again.
    pub fn heal_webhooks(&self) {
        self.shared.failing_webhooks.lock().unwrap().clear();
    }

    /// Answers thread creation with 403 Missing Permissions.
    /// A thread of `parent` that `GET /channels/{id}` describes (a forum post whose
    /// THREAD_CREATE the bot did not see).
    pub fn know_thread(&self, thread: u64, parent: u64) {
        self.shared
            .known_threads
            .lock()
            .unwrap()
            .push((thread, parent));
    }

    pub fn refuse_threads(&self) {
        self.shared.refuse_threads.store(true, Ordering::SeqCst);
    }

    /// Moves the fake's clock `by` ahead (Discord's 3-second and 15-minute rules).
    pub fn advance(&self, by: Duration) {
        *self.shared.skew.lock().unwrap() += by;
    }

    pub fn next_id(&self) -> u64 {
        self.shared.ids.fetch_add(1, Ordering::SeqCst)
    }

    pub fn record<T>(&self, f: impl FnOnce(&Record) -> T) -> T {
        f(&self.shared.record.lock().unwrap())
    }

    /// Waits (at most 10 s) until `f` returns something.
    pub async fn wait<T>(&self, what: &str, mut f: impl FnMut(&Record) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let changed = self.shared.changed.notified();
            if let Some(t) = f(&self.shared.record.lock().unwrap()) {
                return t;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let r = self.shared.record.lock().unwrap();
                panic!(
                    "timed out waiting for {what}; violations {:?}, unexpected {:?}",
                    r.violations, r.unexpected
                );
            }
            let _ = tokio::time::timeout(left, changed).await;
        }
    }

    /// Sends a dispatch over the gateway (queued while no session is up).
    pub fn dispatch(&self, event: &str, data: Value) {
        let outbox = self.shared.outbox.lock().unwrap();
        match outbox.as_ref() {
            Some(tx)
                if tx
                    .send(Outgoing::Dispatch(event.into(), data.clone()))
                    .is_ok() => {}
            _ => self
                .shared
                .pending
                .lock()
                .unwrap()
                .push((event.into(), data)),
        }
    }

    /// Sends an interaction and remembers it for the checks.
    pub fn interact(&self, payload: Value) -> u64 {
        let id = self.remember(&payload, false);
        self.dispatch("INTERACTION_CREATE", payload);
        id
    }

    /// Remembers an interaction that reaches the bot another way (an HTTP POST to the
    /// interactions endpoint): its token is then valid on the webhook routes.
    pub fn expect(&self, payload: &Value) -> u64 {
        self.remember(payload, true)
    }

    fn remember(&self, payload: &Value, over_http: bool) -> u64 {
        let id: u64 = payload["id"].as_str().unwrap().parse().unwrap();
        let message_id = payload["message"]["id"]
            .as_str()
            .and_then(|s| s.parse().ok());
        {
            let mut r = self.shared.record.lock().unwrap();
            r.sent.push(Sent {
                id,
                token: payload["token"].as_str().unwrap().to_string(),
                kind: payload["type"].as_u64().unwrap() as u8,
                sent_at: self.shared.now(),
                message_id,
                channel_id: payload["channel_id"]
                    .as_str()
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(CHANNEL_ID),
                callback: None,
                over_http,
                original: None,
            });
        }
        id
    }

    /// Takes the HTTP response to interaction `id` as its callback, with the checks of the
    /// callback route (a PING's PONG included).
    pub fn respond(&self, id: u64, response: &Value) {
        let _ = answer(&self.shared, id, None, response.clone());
        changed(&self.shared);
    }

    /// Every REST request the bot made so far.
    pub fn calls(&self) -> Vec<Call> {
        self.record(|r| r.calls.clone())
    }

    /// Waits until the bot made `n` REST requests and returns them.
    pub async fn wait_calls(&self, n: usize) -> Vec<Call> {
        self.wait(&format!("{n} REST call(s)"), |r| {
            (r.calls.len() >= n).then(|| r.calls.clone())
        })
        .await
    }

    /// Drops the gateway connection (no close frame), as a network failure would.
    pub fn drop_connection(&self) {
        if let Some(tx) = self.shared.outbox.lock().unwrap().take() {
            let _ = tx.send(Outgoing::Drop);
        }
    }

    /// Sends op 7 RECONNECT, as Discord does before it moves a session.
    pub fn ask_to_reconnect(&self) {
        if let Some(tx) = self.shared.outbox.lock().unwrap().take() {
            let _ = tx.send(Outgoing::Reconnect);
        }
    }

    /// Fails the test with every rule the bot broke.
    pub fn assert_clean(&self) {
        let r = self.shared.record.lock().unwrap();
        assert!(
            r.violations.is_empty(),
            "Discord rules broken: {:#?}",
            r.violations
        );
        assert!(
            r.unexpected.is_empty(),
            "unexpected requests: {:#?}",
            r.unexpected
        );
    }
}

fn changed(shared: &Shared) {
    shared.changed.notify_waiters();
}

// ---------------------------------------------------------------- gateway

async fn connection(shared: Arc<Shared>, tcp: tokio::net::TcpStream) {
    let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    shared.record.lock().unwrap().connections += 1;
    let hello = json!({"op": 10, "d": {"heartbeat_interval": 41250}, "s": null, "t": null});
    if sink.send(WsMessage::Text(hello.to_string())).await.is_err() {
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<Outgoing>();
    let mut seq: u64 = 0;
    let mut live = false;
    loop {
        tokio::select! {
            frame = stream.next() => {
                let Some(Ok(frame)) = frame else { break };
                let text = match frame {
                    WsMessage::Text(t) => t,
                    WsMessage::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
                    WsMessage::Close(frame) => {
                        let code = frame.as_ref().map_or(1005, |f| u16::from(f.code));
                        shared.record.lock().unwrap().client_closes.push(code);
                        changed(&shared);
                        let _ = sink.send(WsMessage::Close(frame)).await;
                        break;
                    }
                    _ => continue,
                };
                let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                match v["op"].as_u64() {
                    Some(1) => {
                        let ack = json!({"op": 11, "d": null, "s": null, "t": null});
                        let _ = sink.send(WsMessage::Text(ack.to_string())).await;
                    }
                    Some(2) => {
                        let intents = v["d"]["intents"].as_u64().unwrap_or(0);
                        {
                            let mut r = shared.record.lock().unwrap();
                            r.identifies.push(intents);
                            r.shards.push(v["d"]["shard"].clone());
                        }
                        changed(&shared);
                        if intents & MESSAGE_CONTENT != 0
                            && shared.refuse_message_content.load(Ordering::SeqCst)
                        {
                            let close = CloseFrame {
                                code: CloseCode::from(4014),
                                reason: "Disallowed intent(s).".into(),
                            };
                            shared.record.lock().unwrap().closes.push(4014);
                            let _ = sink.send(WsMessage::Close(Some(close))).await;
                            break;
                        }
                        let shard = v["d"]["shard"].clone();
                        seq += 1;
                        let ready = json!({"op": 0, "s": seq, "t": "READY", "d": ready(&shared, shard)});
                        let _ = sink.send(WsMessage::Text(ready.to_string())).await;
                        live = true;
                    }
                    Some(6) => {
                        shared.record.lock().unwrap().resumes += 1;
                        changed(&shared);
                        seq += 1;
                        let resumed = json!({"op": 0, "s": seq, "t": "RESUMED", "d": {}});
                        let _ = sink.send(WsMessage::Text(resumed.to_string())).await;
                        live = true;
                    }
                    _ => {}
                }
                if live {
                    live = false;
                    *shared.outbox.lock().unwrap() = Some(tx.clone());
                    let pending: Vec<_> = std::mem::take(&mut *shared.pending.lock().unwrap());
                    for (t, d) in pending {
                        let _ = tx.send(Outgoing::Dispatch(t, d));
                    }
                    changed(&shared);
                }
            }
            out = rx.recv() => {
                match out {
                    Some(Outgoing::Dispatch(t, d)) => {
                        seq += 1;
                        let msg = json!({"op": 0, "s": seq, "t": t, "d": d});
                        if sink.send(WsMessage::Text(msg.to_string())).await.is_err() {
                            break;
                        }
                    }
                    Some(Outgoing::Reconnect) => {
                        let op7 = json!({"op": 7, "d": null, "s": null, "t": null});
                        let _ = sink.send(WsMessage::Text(op7.to_string())).await;
                    }
                    Some(Outgoing::Drop) | None => return,
                }
            }
        }
    }
}

fn ready(shared: &Shared, shard: Value) -> Value {
    json!({
        "v": 10,
        "user": {
            "id": BOT_ID.to_string(), "username": "articlebot", "discriminator": "0",
            "global_name": null, "avatar": null, "bot": true, "verified": true,
            "mfa_enabled": false, "flags": 0
        },
        "guilds": [{"id": GUILD_ID.to_string(), "unavailable": true}],
        "session_id": "session-1",
        "resume_gateway_url": shared.ws_url,
        "shard": if shard.is_null() { json!([0, 1]) } else { shard },
        "application": {"id": APP_ID.to_string(), "flags": 0},
        "private_channels": [],
        "_trace": []
    })
}

// ---------------------------------------------------------------- payload shapes

pub fn user(id: u64, name: &str) -> Value {
    json!({
        "id": id.to_string(), "username": name, "discriminator": "0", "global_name": name,
        "avatar": null, "bot": false, "public_flags": 0
    })
}

pub fn bot_user() -> Value {
    json!({
        "id": BOT_ID.to_string(), "username": "articlebot", "discriminator": "0",
        "global_name": null, "avatar": null, "bot": true, "public_flags": 0
    })
}

/// A guild member as interactions carry it (with the computed permissions).
pub fn member(id: u64, name: &str, roles: &[u64], permissions: u64) -> Value {
    json!({
        "user": user(id, name),
        "nick": null, "avatar": null, "banner": null,
        "roles": roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        "joined_at": "2024-01-01T00:00:00.000000+00:00", "premium_since": null,
        "deaf": false, "mute": false, "flags": 0, "pending": false,
        "permissions": permissions.to_string(), "communication_disabled_until": null
    })
}

fn channel(id: u64) -> Value {
    json!({"id": id.to_string(), "type": 0, "name": "general", "guild_id": GUILD_ID.to_string(),
           "permissions": "2248473465835073"})
}

fn interaction_base(fake: &Fake, kind: u8, member: &Value, channel_id: u64) -> Value {
    let id = fake.next_id();
    json!({
        "id": id.to_string(),
        "application_id": APP_ID.to_string(),
        "type": kind,
        "guild_id": GUILD_ID.to_string(),
        "channel": channel(channel_id),
        "channel_id": channel_id.to_string(),
        "member": member,
        "token": format!("token-{id}"),
        "version": 1,
        "app_permissions": "2248473465835073",
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": GUILD_ID.to_string()},
        "context": 0,
        "attachment_size_limit": 10485760
    })
}

/// A slash command (type 2) with string options.
pub fn command(fake: &Fake, member: &Value, name: &str, options: &[(&str, &str)]) -> Value {
    let mut v = interaction_base(fake, 2, member, CHANNEL_ID);
    v["data"] = json!({
        "id": "1000", "name": name, "type": 1, "guild_id": GUILD_ID.to_string(),
        "options": options.iter().map(|(n, val)| json!({"name": n, "type": 3, "value": val}))
            .collect::<Vec<_>>()
    });
    v
}

/// A slash command with string options and a user option (`user_option` = the member's id,
/// resolved as Discord resolves it).
pub fn command_pointing(
    fake: &Fake,
    member: &Value,
    name: &str,
    options: &[(&str, &str)],
    user_option: (&str, &Value),
) -> Value {
    let mut v = command(fake, member, name, options);
    let (option, target) = user_option;
    let id = target["user"]["id"].clone();
    v["data"]["options"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": option, "type": 6, "value": id}));
    let mut partial = target.clone();
    partial.as_object_mut().unwrap().remove("user");
    partial.as_object_mut().unwrap().remove("deaf");
    partial.as_object_mut().unwrap().remove("mute");
    v["data"]["resolved"] = json!({
        "users": {id.as_str().unwrap(): target["user"]},
        "members": {id.as_str().unwrap(): partial},
    });
    v
}

/// A slash command's subcommand (`/name sub`) with string options.
pub fn subcommand(
    fake: &Fake,
    member: &Value,
    name: &str,
    sub: &str,
    options: &[(&str, &str)],
) -> Value {
    let mut v = interaction_base(fake, 2, member, CHANNEL_ID);
    v["data"] = json!({
        "id": "1000", "name": name, "type": 1, "guild_id": GUILD_ID.to_string(),
        "options": [{"name": sub, "type": 1, "options": options.iter()
            .map(|(n, val)| json!({"name": n, "type": 3, "value": val}))
            .collect::<Vec<_>>()}]
    });
    v
}

/// An autocomplete request inside a subcommand: `options` as typed so far, `focused` the one
/// being typed in.
pub fn subcommand_autocomplete(
    fake: &Fake,
    member: &Value,
    name: &str,
    sub: &str,
    options: &[(&str, &str)],
    focused: &str,
) -> Value {
    let mut v = interaction_base(fake, 4, member, CHANNEL_ID);
    v["data"] = json!({
        "id": "1000", "name": name, "type": 1,
        "options": [{"name": sub, "type": 1, "options": options.iter()
            .map(|(n, val)| {
                let mut o = json!({"name": n, "type": 3, "value": val});
                if *n == focused {
                    o["focused"] = json!(true);
                }
                o
            })
            .collect::<Vec<_>>()}]
    });
    v
}

/// An autocomplete request (type 4) with `typed` in the focused `option`.
pub fn autocomplete(fake: &Fake, member: &Value, name: &str, option: &str, typed: &str) -> Value {
    let mut v = interaction_base(fake, 4, member, CHANNEL_ID);
    v["data"] = json!({
        "id": "1000", "name": name, "type": 1,
        "options": [{"name": option, "type": 3, "value": typed, "focused": true}]
    });
    v
}

/// A button press (type 3) on `message`.
pub fn button(fake: &Fake, member: &Value, message: &Msg, custom_id: &str) -> Value {
    let mut v = interaction_base(fake, 3, member, message.channel_id);
    v["data"] = json!({"custom_id": custom_id, "component_type": 2});
    v["message"] = message_json(message.id, message.channel_id, &message.body, &bot_user());
    v
}

/// A full message object.
pub fn message_json(id: u64, channel_id: u64, body: &Value, author: &Value) -> Value {
    let mut m = json!({
        "id": id.to_string(), "channel_id": channel_id.to_string(),
        "author": author, "content": "", "timestamp": "2026-01-01T00:00:00.000000+00:00",
        "edited_timestamp": null, "tts": false, "mention_everyone": false, "mentions": [],
        "mention_roles": [], "attachments": [], "embeds": [], "pinned": false, "type": 0,
        "flags": 0, "components": []
    });
    for key in ["content", "embeds", "components", "flags"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            m[key] = v.clone();
        }
    }
    m
}

/// A MESSAGE_CREATE payload from a member.
pub fn user_message(
    fake: &Fake,
    channel_id: u64,
    author: (u64, &str),
    content: &str,
    mentions_bot: bool,
    reply_to: Option<&Value>,
) -> Value {
    let id = fake.next_id();
    let mut m = message_json(
        id,
        channel_id,
        &json!({"content": content}),
        &user(author.0, author.1),
    );
    m["guild_id"] = json!(GUILD_ID.to_string());
    m["member"] = json!({"roles": [], "joined_at": "2024-01-01T00:00:00.000000+00:00",
                          "deaf": false, "mute": false, "flags": 0});
    if mentions_bot {
        m["mentions"] = json!([bot_user()]);
    }
    if let Some(r) = reply_to {
        m["type"] = json!(19);
        m["message_reference"] = json!({"message_id": r["id"], "channel_id": r["channel_id"],
                                         "guild_id": GUILD_ID.to_string()});
        m["referenced_message"] = r.clone();
    }
    m
}

// ---------------------------------------------------------------- enforcement

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

/// Message flags a bot may set: SUPPRESS_EMBEDS, EPHEMERAL, SUPPRESS_NOTIFICATIONS.
const SETTABLE_FLAGS: u64 = 4 | 64 | 4096;
const EPHEMERAL: u64 = 64;

/// Checks a message body the way Discord does; returns the broken rules.
pub fn check_message(body: &Value, what: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let mut v = |s: String| bad.push(format!("{what}: {s}"));
    let has = |k: &str| match &body[k] {
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    };
    if ![
        "content",
        "embeds",
        "components",
        "attachments",
        "sticker_ids",
        "poll",
    ]
    .iter()
    .any(|k| has(k))
    {
        v("cannot send an empty message (50006)".into());
    }
    match &body["flags"] {
        Value::Null => {}
        Value::Number(n) if n.as_u64().is_some_and(|f| f & !SETTABLE_FLAGS == 0) => {}
        other => v(format!("invalid flags {other}")),
    }
    match body.get("allowed_mentions") {
        None => v("allowed_mentions missing".into()),
        Some(am) => {
            let empty = |k: &str| {
                am.get(k)
                    .is_none_or(|x| x.as_array().is_some_and(|a| a.is_empty()))
            };
            if !am
                .get("parse")
                .is_some_and(|p| p.as_array().is_some_and(|a| a.is_empty()))
            {
                v(format!("allowed_mentions.parse not empty: {am}"));
            }
            // One exception: an answer pointed at a member (`target`) may name that member,
            // whose mention opens the content, and nobody else.
            let pointed = am["users"].as_array().is_some_and(|u| {
                u.len() == 1
                    && u[0].as_str().is_some_and(|id| {
                        body["content"]
                            .as_str()
                            .is_some_and(|c| c.starts_with(&format!("<@{id}>")))
                    })
            });
            if (!empty("users") && !pointed)
                || !empty("roles")
                || am.get("replied_user") == Some(&json!(true))
            {
                v(format!("allowed_mentions allows pings: {am}"));
            }
        }
    }
    if chars(&body["content"]) > 2000 {
        v(format!("content {} > 2000", chars(&body["content"])));
    }
    let embeds = body["embeds"].as_array().cloned().unwrap_or_default();
    if embeds.len() > 10 {
        v(format!("{} embeds > 10", embeds.len()));
    }
    let mut total = 0;
    for e in &embeds {
        let t = chars(&e["title"]);
        let d = chars(&e["description"]);
        let f = chars(&e["footer"]["text"]);
        let a = chars(&e["author"]["name"]);
        if t > 256 {
            v(format!("embed title {t} > 256"));
        }
        if d > 4096 {
            v(format!("embed description {d} > 4096"));
        }
        if f > 2048 {
            v(format!("embed footer {f} > 2048"));
        }
        if a > 256 {
            v(format!("embed author {a} > 256"));
        }
        total += t + d + f + a;
        let fields = e["fields"].as_array().cloned().unwrap_or_default();
        if fields.len() > 25 {
            v(format!("{} fields > 25", fields.len()));
        }
        for fd in &fields {
            let (n, val) = (chars(&fd["name"]), chars(&fd["value"]));
            if n == 0 || n > 256 {
                v(format!("field name {n} chars"));
            }
            if val == 0 || val > 1024 {
                v(format!("field value {val} chars"));
            }
            total += n + val;
        }
    }
    if total > 6000 {
        v(format!("embeds total {total} > 6000"));
    }
    if let Some(rows) = body["components"].as_array() {
        if rows.len() > 5 {
            v("more than 5 action rows".into());
        }
        let mut ids = std::collections::HashSet::new();
        for row in rows {
            if row["type"] != 1 {
                v(format!(
                    "a top-level component that is not an action row: {row}"
                ));
            }
            let buttons = row["components"].as_array().cloned().unwrap_or_default();
            if buttons.is_empty() || buttons.len() > 5 {
                v(format!(
                    "an action row of {} components (1-5)",
                    buttons.len()
                ));
            }
            for c in buttons {
                if c["type"] != 2 {
                    v(format!("not a button: {c}"));
                    continue;
                }
                let style = c["style"].as_u64().unwrap_or(0);
                let id = c["custom_id"].as_str();
                if !(1..=5).contains(&style) {
                    v(format!("button style {style}: {c}"));
                }
                if chars(&c["label"]) > 80 {
                    v(format!("button label over 80 characters: {c}"));
                }
                if chars(&c["label"]) == 0 && c["emoji"].is_null() {
                    v(format!("button with neither label nor emoji: {c}"));
                }
                if style == 5 {
                    if c["url"].as_str().is_none_or(|u| u.is_empty()) || id.is_some() {
                        v(format!("a link button needs a url and no custom_id: {c}"));
                    }
                } else {
                    match id {
                        Some(id) if !id.is_empty() && id.chars().count() <= 100 => {
                            if !ids.insert(id.to_string()) {
                                v(format!("duplicate custom_id {id:?}"));
                            }
                        }
                        _ => v(format!("custom_id missing, empty or over 100: {c}")),
                    }
                    if !c["url"].is_null() {
                        v(format!("only link buttons have a url: {c}"));
                    }
                }
            }
        }
    }
    bad
}

/// Checks the body of an edit: every field it sends obeys the message rules (an edit may leave
/// out what it does not change, so emptiness is checked on the message after the edit).
fn check_edit(body: &Value, what: &str) -> Vec<String> {
    let mut filled = body.clone();
    if !["content", "embeds", "components"]
        .iter()
        .any(|k| !body[*k].is_null())
    {
        filled["content"] = json!("(unchanged)");
    }
    check_message(&filled, what)
        .into_iter()
        .filter(|v| !v.ends_with("(50006)"))
        .collect()
}

// ---------------------------------------------------------------- REST

type S = State<Arc<Shared>>;

fn message_out(shared: &Shared, m: &Msg) -> Value {
    let _ = shared;
    message_json(m.id, m.channel_id, &m.body, &bot_user())
}

async fn gateway(State(s): S) -> Json<Value> {
    Json(json!({"url": s.ws_url}))
}

async fn gateway_bot(State(s): S) -> Json<Value> {
    Json(json!({
        "url": s.ws_url, "shards": 1,
        "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
    }))
}

async fn me() -> Json<Value> {
    Json(bot_user())
}

async fn application() -> Json<Value> {
    Json(json!({
        "id": APP_ID.to_string(), "name": "articlebot", "icon": null, "description": "",
        "bot_public": true, "bot_require_code_grant": false, "verify_key": "00", "flags": 0,
        "team": null, "owner": user(1, "owner")
    }))
}

pub fn validate_commands(body: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let Some(list) = body.as_array() else {
        return vec!["command registration is not a list".into()];
    };
    for c in list {
        let name = c["name"].as_str().unwrap_or("");
        if name.is_empty() || name.len() > 32 || name != name.to_lowercase() {
            bad.push(format!("bad command name {name:?}"));
        }
        let d = chars(&c["description"]);
        if d == 0 || d > 100 {
            bad.push(format!("command {name}: description {d} chars"));
        }
        let options = c["options"].as_array().cloned().unwrap_or_default();
        if options.len() > 25 {
            bad.push(format!("command {name}: more than 25 options"));
        }
        let mut optional_seen = false;
        for o in &options {
            let oname = o["name"].as_str().unwrap_or("");
            let valid = (1..=32).contains(&oname.chars().count())
                && oname
                    .chars()
                    .all(|ch| ch == '-' || ch == '_' || ch.is_alphanumeric())
                && oname == oname.to_lowercase();
            if !valid {
                bad.push(format!("command {name}: bad option name {oname:?}"));
            }
            let d = chars(&o["description"]);
            if d == 0 || d > 100 {
                bad.push(format!(
                    "command {name}, option {oname}: description {d} chars"
                ));
            }
            let required = o["required"].as_bool().unwrap_or(false);
            if required && optional_seen {
                bad.push(format!(
                    "command {name}: required option {oname} after an optional one"
                ));
            }
            optional_seen |= !required;
        }
    }
    bad
}

fn registered(list: &Value) -> Value {
    Value::Array(
        list.as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, mut c)| {
                c["id"] = json!((5000 + i).to_string());
                c["application_id"] = json!(APP_ID.to_string());
                c["version"] = json!("1");
                c["type"] = json!(1);
                c
            })
            .collect(),
    )
}

async fn put_global(State(s): S, Path(app): Path<String>, Json(body): Json<Value>) -> Json<Value> {
    put_commands(&s, &app, "global".into(), body)
}

async fn put_guild(
    State(s): S,
    Path((app, guild)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Json<Value> {
    put_commands(&s, &app, guild, body)
}

fn put_commands(s: &Shared, app: &str, scope: String, body: Value) -> Json<Value> {
    let mut r = s.record.lock().unwrap();
    if app != APP_ID.to_string() {
        r.violations
            .push(format!("commands registered for unknown application {app}"));
    }
    let bad = validate_commands(&body);
    r.violations.extend(bad);
    r.command_puts.push((scope, body.clone()));
    drop(r);
    changed(s);
    Json(registered(&body))
}

async fn get_commands(State(s): S) -> Json<Value> {
    let r = s.record.lock().unwrap();
    Json(registered(
        &r.command_puts
            .last()
            .map(|c| c.1.clone())
            .unwrap_or(json!([])),
    ))
}

async fn callback(
    State(s): S,
    Path((id, token)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> StatusCode {
    let id: u64 = id.parse().unwrap_or(0);
    let status = answer(&s, id, Some(&token), body);
    changed(&s);
    status
}

/// The first response to interaction `id` (over the callback route with `token`, or an HTTP
/// response): checked, recorded, and the message it makes or changes kept.
fn answer(s: &Shared, id: u64, token: Option<&str>, body: Value) -> StatusCode {
    let kind = body["type"].as_u64().unwrap_or(0);
    let data = body.get("data").cloned().unwrap_or(Value::Null);
    let new_id = s.ids.fetch_add(1, Ordering::SeqCst);
    let mut r = s.record.lock().unwrap();
    let Some(i) = r.sent.iter().position(|x| x.id == id) else {
        r.violations
            .push(format!("callback for unknown interaction {id}"));
        return StatusCode::NOT_FOUND;
    };
    let sent = r.sent[i].clone();
    let mut bad = Vec::new();
    if token.is_some_and(|t| t != sent.token) {
        bad.push(format!("interaction {id}: wrong token"));
    }
    if sent.callback.is_some() {
        bad.push(format!("interaction {id}: answered twice"));
    }
    let elapsed = s.now().saturating_duration_since(sent.sent_at);
    if elapsed > Duration::from_secs(3) {
        bad.push(format!(
            "interaction {id}: first response after {elapsed:?} (> 3 s)"
        ));
    }
    let valid: &[u64] = match sent.kind {
        2 => &[4, 5, 9],
        3 => &[4, 5, 6, 7, 9],
        4 => &[8],
        _ => &[1],
    };
    if !valid.contains(&kind) {
        bad.push(format!(
            "interaction {id} (type {}): invalid callback type {kind}",
            sent.kind
        ));
    }
    match kind {
        4 => bad.extend(check_message(&data, &format!("callback {kind}"))),
        7 => {
            // An update keeps the message's flags: only SUPPRESS_EMBEDS may change.
            bad.extend(check_message(&data, "callback 7"));
            let before = r
                .messages
                .iter()
                .find(|m| Some(m.id) == sent.message_id)
                .map(|m| m.body["flags"].as_u64().unwrap_or(0) & EPHEMERAL);
            let after = data["flags"].as_u64().map(|f| f & EPHEMERAL);
            if let (Some(b), Some(a)) = (before, after) {
                if a != b {
                    bad.push(format!(
                        "interaction {id}: an update cannot change EPHEMERAL"
                    ));
                }
            }
        }
        5 => match &data["flags"] {
            Value::Null => {}
            f if f.as_u64().is_some_and(|f| f & !EPHEMERAL == 0) => {}
            other => bad.push(format!("interaction {id}: deferral flags {other}")),
        },
        8 => {
            let choices = data["choices"].as_array().cloned().unwrap_or_default();
            if choices.len() > 25 {
                bad.push(format!("{} autocomplete choices > 25", choices.len()));
            }
            for c in &choices {
                let n = chars(&c["name"]);
                if n == 0 || n > 100 || chars(&c["value"]) > 100 {
                    bad.push(format!("bad autocomplete choice {c}"));
                }
            }
        }
        _ => {}
    }
    let failed = !bad.is_empty();
    r.violations.extend(bad);
    r.sent[i].callback = Some((kind, data.clone()));
    let ephemeral = data["flags"].as_u64().is_some_and(|f| f & 64 != 0);
    match kind {
        4 | 5 => {
            r.sent[i].original = Some(new_id);
            let channel_id = r.sent[i].channel_id;
            r.messages.push(Msg {
                id: new_id,
                channel_id,
                body: data,
                ephemeral,
                deleted: false,
                interaction: Some(id),
            });
        }
        7 => {
            if let Some(m) = r
                .messages
                .iter_mut()
                .find(|m| Some(m.id) == sent.message_id)
            {
                let flags = m.body["flags"].clone();
                m.body = data;
                m.body["flags"] = flags;
            }
        }
        _ => {}
    }
    drop(r);
    if failed {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::NO_CONTENT
    }
}

/// Waits until the HTTP response of the interaction with `token` was handed to the fake.
/// Discord takes an HTTP interaction's response as it is sent, but the test's client hands it
/// over only after receiving it, so a follow-up sent right after the response can reach the
/// fake first.
async fn settle(s: &Shared, token: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let changed = s.changed.notified();
        let waiting = s
            .record
            .lock()
            .unwrap()
            .sent
            .iter()
            .any(|x| x.token == token && x.over_http && x.callback.is_none());
        if !waiting || tokio::time::timeout_at(deadline, changed).await.is_err() {
            return;
        }
    }
}

/// The message `@original` names for a token: the response message, or for a component
/// interaction the message the component was on.
fn original(s: &Shared, r: &Record, token: &str) -> Result<Option<usize>, String> {
    let Some(sent) = r.sent.iter().find(|x| x.token == token) else {
        return Err(format!("webhook call with unknown token {token}"));
    };
    if sent.callback.is_none() {
        return Err(format!(
            "webhook call before the interaction {} was answered",
            sent.id
        ));
    }
    if s.now().saturating_duration_since(sent.sent_at) > Duration::from_secs(15 * 60) {
        return Err("webhook call after 15 minutes".into());
    }
    let target = sent.original.or(sent.message_id);
    Ok(r.messages.iter().position(|m| Some(m.id) == target))
}

async fn edit_original(
    State(s): S,
    Path((app, token, msg)): Path<(String, String, String)>,
    Json(body): Json<Value>,
) -> Response {
    settle(&s, &token).await;
    let slow = s.slow_edits_ms.load(Ordering::SeqCst);
    if slow > 0 {
        tokio::time::sleep(Duration::from_millis(slow)).await;
    }
    let mut r = s.record.lock().unwrap();
    if app != APP_ID.to_string() || msg != "@original" {
        r.violations.push(format!("edit of {app}/{msg}"));
    }
    let bad = check_edit(&body, "edit @original");
    r.violations.extend(bad);
    let out = match original(&s, &r, &token) {
        Err(e) => {
            r.violations.push(e);
            None
        }
        Ok(None) => {
            r.violations.push("edit of a missing @original".into());
            None
        }
        Ok(Some(i)) => {
            let m = &mut r.messages[i];
            let before = m.body["flags"].as_u64().unwrap_or(0);
            if body["flags"]
                .as_u64()
                .is_some_and(|f| f & EPHEMERAL != before & EPHEMERAL)
            {
                r.violations
                    .push("edit @original: an edit cannot change EPHEMERAL".into());
            }
            let m = &mut r.messages[i];
            for (k, v) in body.as_object().cloned().unwrap_or_default() {
                if k != "flags" {
                    m.body[k] = v;
                }
            }
            let bad = check_message(&m.body, "the message after the edit");
            let out = message_out(&s, &r.messages[i]);
            r.violations.extend(bad);
            Some(out)
        }
    };
    r.edits += 1;
    drop(r);
    changed(&s);
    match out {
        Some(m) => Json(m).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn delete_original(
    State(s): S,
    Path((app, token, msg)): Path<(String, String, String)>,
) -> StatusCode {
    settle(&s, &token).await;
    let mut r = s.record.lock().unwrap();
    if app != APP_ID.to_string() || msg != "@original" {
        r.violations.push(format!("delete of {app}/{msg}"));
    }
    let status = match original(&s, &r, &token) {
        Ok(Some(i)) => {
            r.messages[i].deleted = true;
            StatusCode::NO_CONTENT
        }
        Ok(None) => StatusCode::NOT_FOUND,
        Err(e) => {
            r.violations.push(e);
            StatusCode::NOT_FOUND
        }
    };
    r.deletes += 1;
    drop(r);
    changed(&s);
    status
}

async fn followup(
    State(s): S,
    Path((app, token)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    settle(&s, &token).await;
    let id = s.ids.fetch_add(1, Ordering::SeqCst);
    let mut r = s.record.lock().unwrap();
    if app != APP_ID.to_string() {
        r.violations
            .push(format!("follow-up for unknown application {app}"));
    }
    let bad = check_message(&body, "follow-up");
    r.violations.extend(bad);
    if let Err(e) = original(&s, &r, &token) {
        r.violations.push(e);
    }
    r.followups.push(body.clone());
    let m = Msg {
        id,
        channel_id: CHANNEL_ID,
        ephemeral: body["flags"].as_u64().is_some_and(|f| f & 64 != 0),
        body,
        deleted: false,
        interaction: None,
    };
    let out = message_out(&s, &m);
    r.messages.push(m);
    drop(r);
    changed(&s);
    Json(out).into_response()
}

async fn channel_message(
    State(s): S,
    Path(channel): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let id = s.ids.fetch_add(1, Ordering::SeqCst);
    let mut r = s.record.lock().unwrap();
    let bad = check_message(&body, "channel message");
    r.violations.extend(bad);
    if body["flags"].as_u64().is_some_and(|f| f & EPHEMERAL != 0) {
        r.violations
            .push("channel message: only interaction responses can be ephemeral".into());
    }
    let m = Msg {
        id,
        channel_id: channel.parse().unwrap_or(0),
        body,
        ephemeral: false,
        deleted: false,
        interaction: None,
    };
    let out = message_out(&s, &m);
    r.messages.push(m);
    drop(r);
    changed(&s);
    Json(out).into_response()
}

/// `GET /channels/{id}`: a thread registered with [`Fake::know_thread`]; 404 otherwise.
async fn get_channel(State(s): S, Path(channel): Path<String>) -> Response {
    let id: u64 = channel.parse().unwrap_or(0);
    let known = s
        .known_threads
        .lock()
        .unwrap()
        .iter()
        .find(|(t, _)| *t == id)
        .copied();
    let Some((thread, parent)) = known else {
        let body = json!({"message": "Unknown Channel", "code": 10003});
        return (StatusCode::NOT_FOUND, Json(body)).into_response();
    };
    Json(json!({
        "id": thread.to_string(), "type": 11, "guild_id": GUILD_ID.to_string(),
        "parent_id": parent.to_string(), "name": "a post", "owner_id": "111",
        "rate_limit_per_user": 0, "message_count": 1, "member_count": 1, "flags": 0,
        "thread_metadata": {"archived": false, "auto_archive_duration": 4320,
                            "archive_timestamp": "2026-01-01T00:00:00.000000+00:00",
                            "locked": false}
    }))
    .into_response()
}

async fn thread_from_message(
    State(s): S,
    Path((channel, msg)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    if s.refuse_threads.load(Ordering::SeqCst) {
        let body = json!({"message": "Missing Permissions", "code": 50013});
        return (StatusCode::FORBIDDEN, Json(body)).into_response();
    }
    let mut r = s.record.lock().unwrap();
    let msg_id: u64 = msg.parse().unwrap_or(0);
    let name = chars(&body["name"]);
    if name == 0 || name > 100 {
        r.violations.push(format!("thread name of {name} chars"));
    }
    if !r.messages.iter().any(|m| m.id == msg_id && !m.ephemeral) {
        r.violations.push(format!(
            "thread on message {msg_id}, which is not a public message"
        ));
    }
    r.threads
        .push((channel.parse().unwrap_or(0), msg_id, body.clone()));
    drop(r);
    changed(&s);
    // A thread started from a message has the message's id.
    Json(json!({
        "id": msg, "type": 11, "guild_id": GUILD_ID.to_string(), "parent_id": channel,
        "name": body["name"], "owner_id": BOT_ID.to_string(), "position": 0,
        "permission_overwrites": [], "nsfw": false, "rate_limit_per_user": 0,
        "message_count": 0, "member_count": 1,
        "thread_metadata": {"archived": false, "auto_archive_duration": 1440,
                            "archive_timestamp": "2026-01-01T00:00:00.000000+00:00", "locked": false}
    }))
    .into_response()
}

/// Discord's check of the `Authorization` header: when present it must be the bot token; it
/// may be absent only where the interaction token in the path authenticates the call.
async fn authorization(
    State(s): S,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path().to_string();
    let method = request.method().to_string();
    let by_interaction_token =
        path.starts_with("/api/v10/interactions/") || path.starts_with("/api/v10/webhooks/");
    let header = request
        .headers()
        .get("authorization")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let valid = match &header {
        Some(h) => *h == format!("Bot {BOT_TOKEN}"),
        None => by_interaction_token,
    };
    let webhook = path.starts_with("/api/v10/webhooks/");
    let failure = webhook
        .then(|| {
            s.failing_webhooks
                .lock()
                .unwrap()
                .iter()
                .find(|(m, _)| *m == method)
                .map(|f| f.1)
        })
        .flatten();
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 24)
        .await
        .unwrap_or_default();
    let mut call = Call {
        method,
        path,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        authorization: header,
        status: 401,
    };
    let response = if let Some(failure) = failure {
        failed(failure)
    } else if valid {
        let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
        next.run(request).await
    } else {
        let what = format!(
            "{} {}: Authorization {:?} refused with 401",
            call.method, call.path, call.authorization
        );
        s.record.lock().unwrap().violations.push(what);
        let body = json!({"message": "401: Unauthorized", "code": 0});
        (StatusCode::UNAUTHORIZED, Json(body)).into_response()
    };
    call.status = response.status().as_u16();
    s.record.lock().unwrap().calls.push(call);
    changed(&s);
    response
}

/// A webhook call made to fail.
fn failed(failure: Failure) -> Response {
    match failure {
        Failure::Status(status) => {
            let body = json!({"message": "Unknown Webhook", "code": 10015});
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::NOT_FOUND);
            (status, Json(body)).into_response()
        }
        Failure::BrokenBody => {
            let broken = futures_util::stream::once(async {
                Err::<axum::body::Bytes, _>(std::io::Error::other("connection broken"))
            });
            let body = axum::body::Body::from_stream(broken);
            (StatusCode::OK, [("content-type", "application/json")], body).into_response()
        }
    }
}

async fn unexpected(State(s): S, method: Method, uri: Uri) -> StatusCode {
    s.record
        .lock()
        .unwrap()
        .unexpected
        .push(format!("{method} {uri}"));
    changed(&s);
    StatusCode::NOT_FOUND
}

/// Deserializes a payload with serenity's own types, so that a shape it would silently drop
/// fails the test here instead.
pub fn assert_serenity_accepts<T: serde::de::DeserializeOwned>(payload: &Value) {
    if let Err(e) = serde_json::from_value::<T>(payload.clone()) {
        panic!("serenity cannot read this payload ({e}): {payload:#}");
    }
}
