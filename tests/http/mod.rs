//! The HTTP interactions endpoint end to end: a real server on loopback, requests signed
//! exactly as Discord signs them (Ed25519 over timestamp + raw body) with a key generated
//! here, complete interaction payloads in the documented shape, and the same local Discord as
//! the gateway tests (`discord::fake`): every HTTP response goes through its checks as the
//! interaction's callback, and deferred replies are completed through its webhook routes.

mod binary;
mod buttons;
mod commands;
mod conversation;
mod hardening;
mod metrics;
mod moderators;
mod refresh;
mod secrets;
mod shared_state;
mod verification;
mod webhooks;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use articlebot::config::Settings;
use articlebot::http::Endpoint;
use articlebot::library::{Library, NoProgress, OpenMode};
use articlebot::service::Service;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};

use crate::discord::fake::{self, Fake};
use crate::util::Fixture;

// The local Discord's ids (`discord::fake`), as Discord's JSON spells them.
const APP_ID: &str = "900000000000000001";
const BOT_USER_ID: &str = "900000000000000002";
const GUILD_ID: &str = "900000000000000003";
const CHANNEL_ID: &str = "900000000000000004";
const USER_ID: &str = "1180000000000000004";
const OTHER_USER_ID: &str = "1180000000000000005";
const COMMAND_ID: &str = "1180000000000000007";
const MODERATOR_ROLE_ID: &str = "1180000000000000008";

#[test]
fn the_ids_are_the_local_discords() {
    assert_eq!(APP_ID, fake::APP_ID.to_string());
    assert_eq!(BOT_USER_ID, fake::BOT_ID.to_string());
    assert_eq!(GUILD_ID, fake::GUILD_ID.to_string());
    assert_eq!(CHANNEL_ID, fake::CHANNEL_ID.to_string());
}

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

/// An endpoint serving a fixture, in this process, with the local Discord behind it.
struct Server {
    url: String,
    key: SigningKey,
    client: reqwest::Client,
    /// The local Discord: it checks every response and serves the webhook routes
    /// (`discord.rest_proxy` points there).
    fake: Fake,
    /// The service behind the endpoint.
    service: std::sync::Arc<Service>,
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
        Server::start_on(settings, &Fake::start().await).await
    }

    /// A server in front of `fake` (several instances behind one Discord).
    async fn start_on(settings: Settings, fake: &Fake) -> Server {
        let (timeout, defer_after) = (
            articlebot::http::READ_TIMEOUT,
            articlebot::discord::interactions::DEFER_AFTER,
        );
        Server::start_bot(settings, timeout, defer_after, fake.clone()).await
    }

    /// A server that waits at most `read_timeout` for a request body.
    async fn start_with(settings: Settings, read_timeout: Duration) -> Server {
        let defer_after = articlebot::discord::interactions::DEFER_AFTER;
        Server::start_bot(settings, read_timeout, defer_after, Fake::start().await).await
    }

    /// A server that defers every answer (completed through the interaction webhook).
    async fn start_deferring(settings: Settings) -> Server {
        let timeout = articlebot::http::READ_TIMEOUT;
        Server::start_bot(settings, timeout, Duration::ZERO, Fake::start().await).await
    }

    async fn start_bot(
        mut settings: Settings,
        read_timeout: Duration,
        defer_after: Duration,
        fake: Fake,
    ) -> Server {
        let key = new_key();
        settings.discord.rest_proxy = Some(fake.rest_url.clone());
        let library = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        let service = Service::new(settings, library).unwrap();
        let bot =
            articlebot::discord::interactions::Bot::with_defer_after(service.clone(), defer_after);
        let service_kept = service.clone();
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
            fake,
            service: service_kept,
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
            // A new connection per request: one the server closed after refusing a body it
            // did not read is never reused.
            .header("connection", "close")
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

    /// Sends an interaction and returns the (200, JSON) response, which the local Discord
    /// takes as the interaction's callback (and checks).
    async fn interact(&self, payload: &Value) -> Value {
        let id = self.fake.expect(payload);
        let response = self.post(serde_json::to_vec(payload).unwrap()).await.json();
        self.fake.respond(id, &response);
        response
    }

    /// A press on the button labelled `label` under `response`, by `clicker`.
    fn press(&self, response: &Value, label: &str, asker: &str, clicker: Value) -> Value {
        let custom_id = buttons(response)
            .into_iter()
            .find(|(l, _, _)| l == label)
            .unwrap_or_else(|| panic!("no {label:?} button in {response}"))
            .1;
        self.press_id(response, &custom_id, asker, clicker)
    }

    /// A press on a button with this `custom_id` (perhaps one no button has) under
    /// `response`, on the message the local Discord keeps for it.
    fn press_id(&self, response: &Value, custom_id: &str, asker: &str, clicker: Value) -> Value {
        let data = &response["data"];
        let id = self
            .fake
            .record(|r| {
                r.messages
                    .iter()
                    .rev()
                    .find(|m| m.body["embeds"] == data["embeds"])
                    .map(|m| m.id.to_string())
            })
            .unwrap_or_else(next_id);
        let mut payload = interaction(
            3,
            json!({"custom_id": custom_id, "component_type": 2}),
            clicker,
        );
        payload["message"] = message_from(response, asker, &id);
        payload
    }

    /// Signals shutdown, waits for the server to finish, and checks that no Discord rule was
    /// broken.
    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("server stops")
            .unwrap()
            .unwrap();
        self.fake.assert_clean();
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

static IDS: AtomicU64 = AtomicU64::new(1_300_000_000_000_000_000);

fn next_id() -> String {
    IDS.fetch_add(1, Ordering::Relaxed).to_string()
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
fn message_from(response: &Value, asker: &str, id: &str) -> Value {
    let data = &response["data"];
    json!({
        "id": id,
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

/// `/ask` of `question` from member `user` (member permissions).
fn ask_as(user: &str, question: &str) -> Value {
    command_from(
        "ask",
        json!([string_option("question", question)]),
        member(user, MEMBER_PERMISSIONS),
    )
}

/// The first embed's title of a response (empty when there is none).
fn title(response: &Value) -> &str {
    response["data"]["embeds"][0]["title"]
        .as_str()
        .unwrap_or("")
}

/// A response's message content (empty when there is none).
fn content(response: &Value) -> &str {
    response["data"]["content"].as_str().unwrap_or("")
}
