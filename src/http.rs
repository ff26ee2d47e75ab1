//! The HTTP interactions endpoint (`articlebot serve-http`): Discord's signed POSTs verified,
//! translated into the shared interaction layer ([`crate::discord::interactions`]) and its
//! replies sent back; `GET /healthz` for load balancers and `GET /metrics` for Prometheus
//! (also served alone for `serve --metrics`, [`run_operations`]); graceful shutdown when the caller's
//! shutdown future resolves (the process, its signals and its runtime belong to `cli`).
//!
//! This module only translates between HTTP and the interaction layer: every command,
//! autocomplete and button is answered by the same `handle` as on the gateway. What it owns
//! is the protocol edge: the signature check before anything else, the freshness of the
//! timestamp, replays refused, the body limit, PING, deferred replies completed through the
//! follow-up webhook, and the server's life cycle.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serenity::interactions_endpoint::Verifier;
use serenity::model::application::Interaction;
use serenity::model::id::ApplicationId;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::config::Settings;
use crate::discord::interactions::{self, Bot, Reply};
use crate::discord::rest::Rest;
use crate::service::Service;

/// How far `X-Signature-Timestamp` may be from the server's clock, either way. Older signed
/// requests are refused so that a captured request cannot be replayed later.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// How long shutdown waits for deferred replies that are still being completed.
const FOLLOWUP_DRAIN: Duration = Duration::from_secs(30);

/// How long a request body may take to arrive. Discord sends small bodies at once; a client
/// that trickles one in would otherwise hold a connection (and shutdown) for as long as it
/// likes.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Interaction ids remembered at most, to refuse replays: far more than Discord sends in the
/// signature window to one bot; past it the oldest are forgotten first (bounded memory).
pub const REPLAY_MEMORY: usize = 100_000;

const SIGNATURE: &str = "x-signature-ed25519";
const TIMESTAMP: &str = "x-signature-timestamp";

/// Parses a hex public key (64 hex digits) into a verifier, with a message that says what
/// is wrong with it.
pub fn verifier(hex: &str) -> anyhow::Result<Verifier> {
    let hex = hex.trim();
    if let Some((at, c)) = hex
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_hexdigit())
    {
        bail!(
            "invalid public key: not hexadecimal ({c:?} at character {}); expected 64 hex \
             digits (0-9, a-f)",
            at + 1
        );
    }
    if hex.len() != 64 {
        bail!(
            "invalid public key: expected 64 hex digits, got {}",
            hex.len()
        );
    }
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("checked hex digits");
    }
    Verifier::try_new(bytes).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The REST client used to complete deferred replies. Interaction webhooks are
/// authenticated by the interaction token, so no bot token is needed, and without one no
/// `Authorization` header is sent (see [`Rest`]); when the bot token is set anyway
/// (`discord.token_env`), it is used, which also lets `/discuss` open its thread. With
/// `discord.rest_proxy` set, calls go there (the proxy only applies without the rate limiter).
pub fn rest_client(settings: &Settings) -> Rest {
    let token = std::env::var(&settings.discord.token_env).unwrap_or_default();
    let token = token.trim();
    let mut builder = serenity::http::HttpBuilder::new(token);
    if let Some(proxy) = &settings.discord.rest_proxy {
        builder = builder.proxy(proxy.clone()).ratelimiter_disabled(true);
    }
    if token.is_empty() {
        // One connection pool for both: serenity is handed the client it would build itself.
        let client = crate::discord::rest::client();
        let http = Arc::new(builder.client(client.clone()).build());
        Rest::without_token(http, client)
    } else {
        Rest::with_token(Arc::new(builder.build()))
    }
}

/// An endpoint ready to serve: the verifier, the interaction layer and the REST client.
pub struct Endpoint {
    state: Arc<EndpointState>,
}

struct EndpointState {
    verifier: Verifier,
    bot: Arc<Bot>,
    service: Arc<Service>,
    rest: Arc<Rest>,
    body_limit: usize,
    read_timeout: Duration,
    /// Deferred replies being completed; shutdown waits for them.
    followups: Mutex<JoinSet<()>>,
    /// Interaction ids seen within the signature window.
    seen: Mutex<Seen>,
}

/// The interaction ids answered recently, each until its signed timestamp leaves the window
/// ([`MAX_CLOCK_SKEW`]): a signed request replayed within the window is refused, and one
/// replayed later is refused by its timestamp. At most `capacity` are kept.
#[derive(Debug)]
pub struct Seen {
    /// Interaction id → when it may be forgotten (Unix seconds).
    until: std::collections::HashMap<u64, u64>,
    /// (when it may be forgotten, id), in arrival order.
    order: std::collections::VecDeque<(u64, u64)>,
    capacity: usize,
}

impl Seen {
    pub fn new(capacity: usize) -> Seen {
        Seen {
            until: std::collections::HashMap::new(),
            order: std::collections::VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Records `id`, signed at `timestamp`, at `now` (Unix seconds); `false` when it was
    /// already seen within the window.
    pub fn first_time(&mut self, id: u64, timestamp: u64, now: u64) -> bool {
        while let Some(&(until, old)) = self.order.front() {
            if until >= now && self.order.len() < self.capacity {
                break;
            }
            self.order.pop_front();
            if self.until.get(&old) == Some(&until) {
                self.until.remove(&old);
            }
        }
        if self.until.get(&id).is_some_and(|&until| until >= now) {
            return false;
        }
        let until = timestamp.saturating_add(MAX_CLOCK_SKEW.as_secs());
        self.until.insert(id, until);
        self.order.push_back((until, id));
        true
    }

    pub fn len(&self) -> usize {
        self.until.len()
    }

    pub fn is_empty(&self) -> bool {
        self.until.is_empty()
    }
}

impl Endpoint {
    /// An endpoint over `service` that accepts requests signed by `public_key` (hex).
    pub fn new(service: Arc<Service>, public_key: &str) -> anyhow::Result<Endpoint> {
        Endpoint::with_bot(Bot::new(service), public_key)
    }

    /// An endpoint over an interaction layer built by the caller (tests choose when it
    /// defers).
    pub fn with_bot(bot: Arc<Bot>, public_key: &str) -> anyhow::Result<Endpoint> {
        let service = bot.service().clone();
        let verifier = verifier(public_key)?;
        let rest = Arc::new(rest_client(service.settings()));
        let body_limit = service.settings().http.body_limit_bytes;
        Ok(Endpoint {
            state: Arc::new(EndpointState {
                verifier,
                bot,
                service,
                rest,
                body_limit,
                read_timeout: READ_TIMEOUT,
                followups: Mutex::new(JoinSet::new()),
                seen: Mutex::new(Seen::new(REPLAY_MEMORY)),
            }),
        })
    }

    /// Changes how long a request body may take to arrive (default [`READ_TIMEOUT`]).
    pub fn read_timeout(mut self, timeout: Duration) -> Endpoint {
        Arc::get_mut(&mut self.state)
            .expect("the endpoint is not serving yet")
            .read_timeout = timeout;
        self
    }

    /// The routes: `POST /interactions`, `GET /healthz` and `GET /metrics`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/interactions", post(interactions))
            .merge(operations(self.state.service.clone()))
            .layer(DefaultBodyLimit::max(self.state.body_limit))
            .with_state(self.state.clone())
    }

    /// Serves on `listener` until `shutdown` resolves, then stops accepting connections,
    /// lets the open ones finish their requests for `http.shutdown_grace_seconds` and closes
    /// whatever is still open, and waits (a bounded time) for deferred replies.
    ///
    /// Connections are served by hyper's HTTP/1 builder with its header-read timer
    /// (`http.header_timeout_seconds`): a client that sends nothing, half a request line or
    /// a trickle of headers is closed when it runs out, and so is a kept-alive connection
    /// left idle (hyper runs the same timer while it waits for the next request). At most
    /// `http.max_connections` are served at once: past that, the server stops accepting and
    /// new connections wait in the listen backlog, so descriptors stay bounded.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let limits = self.state.service.settings().http.clone();
        let router = self.router();
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .keep_alive(true);
        let permits = Arc::new(Semaphore::new(limits.max_connections));
        let (closing, closing_rx) = tokio::sync::watch::channel(());
        let mut connections = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            // A free slot first, then a connection: past the cap nothing is accepted.
            let permit = tokio::select! {
                _ = &mut shutdown => break,
                permit = permits.clone().acquire_owned() => permit.expect("never closed"),
            };
            let stream = tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of descriptors, mostly: back off instead of spinning.
                        tracing::warn!("cannot accept a connection: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            while connections.try_join_next().is_some() {}
            let conn = builder.serve_connection(
                TokioIo::new(stream),
                TowerToHyperService::new(router.clone()),
            );
            let mut closing = closing_rx.clone();
            connections.spawn(async move {
                let _permit = permit;
                tokio::pin!(conn);
                let result = tokio::select! {
                    result = conn.as_mut() => result,
                    _ = closing.changed() => {
                        conn.as_mut().graceful_shutdown();
                        conn.await
                    }
                };
                if let Err(e) = result {
                    tracing::debug!("connection closed: {e}");
                }
            });
        }
        drop(listener);
        drop(closing);
        let open = connections.len();
        if open > 0 {
            tracing::info!("shutting down: letting {open} connection(s) finish");
        }
        let drained = tokio::time::timeout(limits.shutdown_grace, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                "closing {} connection(s) still open at the end of the shutdown grace",
                connections.len()
            );
            connections.shutdown().await;
        }
        let mut followups = std::mem::take(&mut *self.state.followups.lock().expect("lock"));
        if !followups.is_empty() {
            tracing::info!("waiting for {} deferred reply(ies)", followups.len());
            if tokio::time::timeout(FOLLOWUP_DRAIN, async {
                while followups.join_next().await.is_some() {}
            })
            .await
            .is_err()
            {
                tracing::warn!("deferred replies still running at shutdown were dropped");
            }
        }
        Ok(())
    }
}

/// Serves `service` on `listener` with the key `public_key` (hex) until `shutdown` resolves,
/// then drains (see [`Endpoint::run`]). The process around it (the runtime, the signals, the
/// reload triggers) belongs to the command line.
pub async fn run(
    service: Arc<Service>,
    listener: tokio::net::TcpListener,
    public_key: &str,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    Endpoint::new(service, public_key)?
        .run(listener, shutdown)
        .await
        .context("the HTTP server failed")
}

/// `GET /healthz` and `GET /metrics`, for the load balancer and Prometheus: the routes
/// `serve-http` adds to its interactions and the only ones of `serve --metrics ADDR`.
fn operations<S: Clone + Send + Sync + 'static>(service: Arc<Service>) -> Router<S> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(service)
}

/// Serves [`operations`] alone on `listener` until `shutdown` resolves (`serve --metrics
/// ADDR`: the gateway bot has no HTTP endpoint of its own).
pub async fn run_operations(
    service: Arc<Service>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(listener, operations::<()>(service))
        .with_graceful_shutdown(shutdown)
        .await
        .context("the metrics server failed")
}

async fn metrics(State(service): State<Arc<Service>>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        service.metrics_text(),
    )
        .into_response()
}

/// `{"status":"ok","articles":N}`, or with the state store unreachable
/// `{"status":"degraded","articles":N,"state":"postgres unreachable"}`: still 200, since
/// answers go on (a load balancer keeps the instance).
async fn healthz(State(service): State<Arc<Service>>) -> Response {
    let articles = service.article_count();
    let body = match service.state_health() {
        Some((store, false)) => serde_json::json!({
            "status": "degraded",
            "articles": articles,
            "state": format!("{store} unreachable"),
        }),
        _ => serde_json::json!({ "status": "ok", "articles": articles }),
    };
    json(
        StatusCode::OK,
        serde_json::to_vec(&body).unwrap_or_default(),
    )
}

/// Why a request was refused; the body is never part of it.
fn refuse(status: StatusCode, why: &'static str) -> Response {
    tracing::debug!("refused an interaction request: {status} {why}");
    (status, why).into_response()
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Just the interaction type and id, read before the full model so that PING needs nothing
/// else.
#[derive(serde::Deserialize)]
struct Kind {
    #[serde(rename = "type")]
    kind: u8,
    id: Option<String>,
}

const PING: u8 = 1;

/// Why a request was refused: its status and the short text sent back (never the body).
pub type Refusal = (StatusCode, &'static str);

/// What a signed request holds, once its signature, timestamp, type and id are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// Discord's PING: answered `{"type":1}` and nothing else.
    Ping,
    /// An interaction: its id and signed timestamp (Unix seconds), for the replay check.
    Interaction { id: u64, signed: u64 },
}

/// The checks on a request's raw parts before anything else reads it: the Ed25519 signature
/// over `timestamp + body`, the timestamp within [`MAX_CLOCK_SKEW`] of `now`, then the type
/// and id of the body. Public (and hidden) for the fuzz target `http` (`fuzz/`), which feeds
/// it and [`read_interaction`] what any client could send.
#[doc(hidden)]
pub fn check(
    verifier: &Verifier,
    signature: &str,
    timestamp: &str,
    body: &[u8],
    now: SystemTime,
) -> Result<Checked, Refusal> {
    if verifier.verify(signature, timestamp, body).is_err() {
        return Err((StatusCode::UNAUTHORIZED, "invalid request signature"));
    }
    if !fresh(timestamp, now) {
        return Err((
            StatusCode::UNAUTHORIZED,
            "request timestamp too far from now",
        ));
    }
    let Ok(Kind { kind, id }) = serde_json::from_slice::<Kind>(body) else {
        return Err((StatusCode::BAD_REQUEST, "malformed interaction"));
    };
    if kind == PING {
        return Ok(Checked::Ping);
    }
    let id = id.and_then(|id| id.parse::<u64>().ok());
    let (Some(id), Ok(signed)) = (id, timestamp.trim().parse::<u64>()) else {
        return Err((StatusCode::BAD_REQUEST, "malformed interaction"));
    };
    Ok(Checked::Interaction { id, signed })
}

/// The interaction a checked body holds (see [`check`]). Public (and hidden) for the fuzz
/// target `http`.
#[doc(hidden)]
pub fn read_interaction(body: &[u8]) -> Result<Interaction, Refusal> {
    serde_json::from_slice(body).map_err(|e| {
        // Only where and what kind: serde's message quotes values from the body
        // ("invalid type: string \"…\""), and bodies are never logged.
        tracing::debug!(
            "malformed interaction: {:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        );
        (StatusCode::BAD_REQUEST, "malformed interaction")
    })
}

async fn interactions(State(state): State<Arc<EndpointState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let (Some(signature), Some(timestamp)) = (
        header_str(&parts.headers, SIGNATURE),
        header_str(&parts.headers, TIMESTAMP),
    ) else {
        return refuse(StatusCode::UNAUTHORIZED, "missing request signature");
    };
    let (signature, timestamp) = (signature.to_string(), timestamp.to_string());
    let read = Bytes::from_request(Request::from_parts(parts, body), &());
    let body = match tokio::time::timeout(state.read_timeout, read).await {
        Ok(Ok(body)) => body,
        Ok(Err(rejection)) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
        }
        Ok(Err(_)) => return refuse(StatusCode::BAD_REQUEST, "cannot read the request body"),
        Err(_) => return refuse(StatusCode::REQUEST_TIMEOUT, "request body too slow"),
    };
    let (id, signed) = match check(
        &state.verifier,
        &signature,
        &timestamp,
        &body,
        SystemTime::now(),
    ) {
        Ok(Checked::Ping) => return json(StatusCode::OK, br#"{"type":1}"#.to_vec()),
        Ok(Checked::Interaction { id, signed }) => (id, signed),
        Err((status, why)) => return refuse(status, why),
    };
    // Discord sends each interaction once: the same id again is a captured request replayed.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if !state.seen.lock().expect("lock").first_time(id, signed, now) {
        return refuse(StatusCode::CONFLICT, "interaction already received");
    }
    let interaction = match read_interaction(&body) {
        Ok(i) => i,
        Err((status, why)) => return refuse(status, why),
    };
    let (application_id, token) = interaction_ids(&interaction);
    match interactions::handle(&state.bot, interaction).await {
        Reply::Now(response) => respond(&response),
        Reply::Deferred { ack, then } => {
            // The follow-up routes name the application; an endpoint serves one application,
            // whose id every interaction carries.
            if let Some(id) = application_id {
                state.rest.http().set_application_id(id);
            }
            let rest = state.rest.clone();
            let mut followups = state.followups.lock().expect("lock");
            // Reap finished follow-ups so the set stays small.
            while followups.try_join_next().is_some() {}
            followups.spawn(async move { interactions::complete(&rest, &token, then).await });
            respond(&ack)
        }
    }
}

fn respond(response: &serenity::builder::CreateInteractionResponse) -> Response {
    match serde_json::to_vec(response) {
        Ok(body) => json(StatusCode::OK, body),
        Err(e) => {
            tracing::error!("cannot serialize an interaction response: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn interaction_ids(interaction: &Interaction) -> (Option<ApplicationId>, String) {
    match interaction {
        Interaction::Ping(i) => (Some(i.application_id), i.token.clone()),
        Interaction::Command(i) | Interaction::Autocomplete(i) => {
            (Some(i.application_id), i.token.clone())
        }
        Interaction::Component(i) => (Some(i.application_id), i.token.clone()),
        Interaction::Modal(i) => (Some(i.application_id), i.token.clone()),
        _ => (None, String::new()),
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether `timestamp` (Unix seconds, as Discord sends it) is within [`MAX_CLOCK_SKEW`] of
/// `now`, either way.
fn fresh(timestamp: &str, now: SystemTime) -> bool {
    let Ok(ts) = timestamp.trim().parse::<u64>() else {
        return false;
    };
    let Ok(now) = now.duration_since(UNIX_EPOCH) else {
        return false;
    };
    now.as_secs().abs_diff(ts) <= MAX_CLOCK_SKEW.as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        let err = verifier(&"ab".repeat(31)).err().unwrap().to_string();
        assert!(err.contains("64 hex"), "{err}");
        let err = verifier(&"zz".repeat(32)).err().unwrap().to_string();
        assert!(
            err.contains("not hexadecimal") && err.contains("'z' at character 1"),
            "{err}"
        );
        let err = verifier(&format!("{}g", "a".repeat(63)))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("'g' at character 64"), "{err}");
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        let hex: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert!(verifier(&hex).is_ok());
        assert!(verifier(&hex.to_uppercase()).is_ok());
    }

    #[test]
    fn an_interaction_id_is_refused_again_until_its_window_ends() {
        let window = MAX_CLOCK_SKEW.as_secs();
        let mut seen = Seen::new(3);
        assert!(seen.first_time(1, 1000, 1000));
        assert!(!seen.first_time(1, 1000, 1000), "replayed at once");
        assert!(
            !seen.first_time(1, 1000, 1000 + window),
            "replayed at the window's end"
        );
        assert!(seen.first_time(2, 1000, 1000));
        // Past the window the id is forgotten (the timestamp check refuses such a replay).
        assert!(seen.first_time(1, 1000 + window + 1, 1000 + window + 1));
        assert_eq!(seen.len(), 1, "the expired ids went");
        // Bounded: the oldest go first when full.
        let now = 5000;
        for id in 10..20 {
            assert!(seen.first_time(id, now, now));
        }
        assert_eq!(seen.len(), 3);
        assert!(!seen.first_time(19, now, now));
        assert!(seen.first_time(10, now, now), "forgotten to make room");
    }

    #[test]
    fn timestamps_within_five_minutes_either_way() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert!(fresh("1700000000", now));
        assert!(fresh("1699999700", now));
        assert!(fresh("1700000300", now));
        assert!(!fresh("1699999699", now));
        assert!(!fresh("1700000301", now));
        assert!(!fresh("", now));
        assert!(!fresh("soon", now));
        assert!(!fresh("-5", now));
    }
}
