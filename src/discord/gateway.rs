//! The gateway bot (`articlebot serve`): a serenity client whose event handler hands
//! interactions to the shared interaction layer and messages (@mentions, replies, `/discuss`
//! threads, direct messages) to the bot's conversations as a [`Heard`], registers the
//! slash commands, runs the shards the config asks for, and shuts down gracefully when the
//! caller's shutdown future resolves (the process, its signals and its runtime belong to
//! `cli`).

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serenity::all::{
    ClientBuilder, ConnectionStage, Context, Event, EventHandler, GatewayIntents, GuildChannel,
    HttpBuilder, Interaction, Message, RawEventHandler, Ready, ResumedEvent, ShardStageUpdateEvent,
};
use serenity::builder::{CreateInteractionResponse, CreateInteractionResponseMessage};
use tokio::sync::Notify;

use super::commands;
use super::interactions::{self, Bot, Heard, Reply, ReplyTo};
use super::render::no_pings;
use super::rest::Rest;
use crate::config::Shards;

/// How long a shutdown waits for the work in flight.
const DRAIN: Duration = Duration::from_secs(20);

/// What the gateway needs besides the bot: where Discord is and when to stop.
pub struct Connection {
    pub token: String,
    /// REST base URL instead of `https://discord.com` (a rate-limit proxy, or a local Discord
    /// in tests). The gateway URL comes from its `GET /api/v10/gateway`.
    pub rest_base: Option<String>,
    /// Where the command registration is remembered; `None` registers at every start.
    pub state_dir: Option<PathBuf>,
}

/// Counts the work in flight so that a shutdown can wait for it.
#[derive(Default)]
struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

struct Guard<'a>(&'a InFlight);

impl InFlight {
    fn enter(&self) -> Guard<'_> {
        self.count.fetch_add(1, Ordering::SeqCst);
        Guard(self)
    }

    async fn wait_idle(&self) {
        loop {
            let idle = self.idle.notified();
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

struct Handler {
    bot: Arc<Bot>,
    /// The bot's own user id (from READY), for mentions and replies.
    me: AtomicU64,
    accepting: AtomicBool,
    in_flight: InFlight,
    registered: AtomicBool,
    state_dir: Option<PathBuf>,
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        self.me.store(ready.user.id.get(), Ordering::SeqCst);
        tracing::info!(
            "connected as {} (shard {:?}, {} guild(s))",
            ready.user.name,
            ready.shard.map(|s| s.id.0),
            ready.guilds.len()
        );
        if self.registered.swap(true, Ordering::SeqCst) {
            return;
        }
        let guilds = &self.bot.settings().guild_ids;
        if let Err(e) = commands::register(&ctx.http, guilds, self.state_dir.as_deref()).await {
            tracing::error!("{e:#}");
            self.registered.store(false, Ordering::SeqCst);
        }
    }

    async fn resume(&self, _ctx: Context, _event: ResumedEvent) {
        tracing::info!("gateway session resumed");
    }

    async fn shard_stage_update(&self, _ctx: Context, event: ShardStageUpdateEvent) {
        let stage = match event.new {
            ConnectionStage::Connected => "connected",
            ConnectionStage::Connecting => "connecting",
            ConnectionStage::Disconnected => "disconnected",
            ConnectionStage::Handshake => "handshake",
            ConnectionStage::Identifying => "identifying",
            ConnectionStage::Resuming => "resuming",
            _ => "other",
        };
        let metrics = self.bot.service().metrics();
        metrics.shard_stage(event.shard_id.0, stage);
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let _guard = self.in_flight.enter();
        let id = interaction.id();
        let token = interaction.token().to_string();
        let reply = if self.accepting.load(Ordering::SeqCst) {
            interactions::handle(&self.bot, interaction).await
        } else {
            Reply::Now(CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new()
                    .content("The bot is restarting; try again in a minute.")
                    .ephemeral(true)
                    .allowed_mentions(no_pings()),
            ))
        };
        let result = match reply {
            Reply::Now(response) => {
                ctx.http
                    .create_interaction_response(id, &token, &response, vec![])
                    .await
            }
            Reply::Deferred { ack, then } => {
                match ctx
                    .http
                    .create_interaction_response(id, &token, &ack, vec![])
                    .await
                {
                    Ok(()) => {
                        let rest = Rest::with_token(ctx.http.clone());
                        interactions::complete(&rest, &token, then).await;
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
        };
        if let Err(e) = result {
            tracing::warn!("cannot answer an interaction: {e}");
        }
    }

    async fn thread_create(&self, _ctx: Context, thread: GuildChannel) {
        if let Some(parent) = thread.parent_id {
            self.bot.thread_made(thread.id.get(), parent.get());
        }
    }

    async fn message(&self, ctx: Context, msg: Message) {
        if msg.author.bot || !self.bot.settings().mention_replies {
            return;
        }
        let me = self.me.load(Ordering::SeqCst);
        if me == 0 || !self.accepting.load(Ordering::SeqCst) {
            return;
        }
        let heard = Heard {
            message: msg.id.get(),
            channel: msg.channel_id.get(),
            user: msg.author.id.get(),
            text: strip_mentions(&msg.content, me),
            mentions_me: msg.mentions.iter().any(|u| u.id.get() == me),
            mentions_others: msg.mentions.iter().any(|u| u.id.get() != me),
            reply_to: msg.referenced_message.as_ref().map(|r| {
                if r.author.id.get() == me {
                    ReplyTo::Me {
                        answering: r
                            .message_reference
                            .as_ref()
                            .and_then(|a| a.message_id)
                            .map(|id| id.get()),
                    }
                } else {
                    ReplyTo::Someone
                }
            }),
            guild: msg.guild_id.map(|g| g.get()),
            parent: self.parent(&ctx, &msg).await,
            // A thread's first message has the thread's id (forum posts, threads from a message
            // have the message's id too, but that message was sent before the thread).
            opens_thread: msg.id.get() == msg.channel_id.get(),
        };
        let _guard = self.in_flight.enter();
        let Some(reply) = self.bot.answer_message(&heard).await else {
            return;
        };
        let reply = reply.reference_message(&msg);
        if let Err(e) = msg.channel_id.send_message(&ctx.http, reply).await {
            tracing::warn!("cannot reply in channel {}: {e}", msg.channel_id);
        }
    }
}

impl Handler {
    /// The channel `msg`'s thread belongs to, when known. serenity hands each event to a task
    /// of its own, so a forum post's first message can be handled before its THREAD_CREATE:
    /// for a thread's first message, with auto-reply channels configured, the bot asks Discord
    /// (one request per new thread, only then).
    async fn parent(&self, ctx: &Context, msg: &Message) -> Option<u64> {
        let channel = msg.channel_id.get();
        if let Some(parent) = self.bot.thread_parent(channel) {
            return Some(parent);
        }
        let first = msg.id.get() == channel;
        if !first || msg.guild_id.is_none() || self.bot.settings().channels.auto_reply.is_empty() {
            return None;
        }
        match msg.channel_id.to_channel(&ctx.http).await {
            Ok(serenity::model::channel::Channel::Guild(c)) => {
                let parent = c.parent_id?.get();
                self.bot.thread_made(channel, parent);
                Some(parent)
            }
            Ok(_) => None,
            Err(e) => {
                tracing::debug!("cannot look up the channel of a new thread: {e}");
                None
            }
        }
    }
}

/// Logs the gateway events serenity could not read. serenity turns a payload it cannot
/// deserialize into an "unknown" event and drops it silently; for the events the bot lives
/// on, that would look like a bot that ignores people.
struct Unknown;

#[serenity::async_trait]
impl RawEventHandler for Unknown {
    async fn raw_event(&self, _ctx: Context, event: Event) {
        if let Event::Unknown(u) = event {
            if matches!(u.kind.as_str(), "INTERACTION_CREATE" | "MESSAGE_CREATE") {
                // Not the payload: it holds the interaction token and the member's text.
                tracing::warn!(
                    "a {} event could not be read and was dropped: {}",
                    u.kind,
                    unreadable(&u.value)
                );
            } else {
                tracing::debug!("unknown gateway event {}", u.kind);
            }
        }
    }
}

/// Why serenity could not read an event, without quoting it: a missing field is named, any
/// other error only placed (serde's messages quote values, and payloads hold tokens and text).
fn unreadable(value: &serde_json::Value) -> String {
    match serde_json::from_value::<Interaction>(value.clone()) {
        Ok(_) => "serenity read it as an interaction".into(),
        Err(e) if e.to_string().starts_with("missing field") => e.to_string(),
        Err(e) => format!("{:?} error", e.classify()),
    }
}

/// The message text without the bot's own mention.
fn strip_mentions(content: &str, me: u64) -> String {
    content
        .replace(&format!("<@{me}>"), " ")
        .replace(&format!("<@!{me}>"), " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

const INTENTS: GatewayIntents = GatewayIntents::GUILDS
    .union(GatewayIntents::GUILD_MESSAGES)
    .union(GatewayIntents::MESSAGE_CONTENT)
    .union(GatewayIntents::DIRECT_MESSAGES);

/// Runs the gateway bot until `shutdown` resolves (or the gateway fails for good), then
/// stops taking new work, waits for the work in flight and closes the shards.
pub async fn run(
    bot: Arc<Bot>,
    connection: Connection,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let handler = Arc::new(Handler {
        bot: bot.clone(),
        me: AtomicU64::new(0),
        accepting: AtomicBool::new(true),
        in_flight: InFlight::default(),
        registered: AtomicBool::new(false),
        state_dir: connection.state_dir.clone(),
    });
    if let Some(dir) = &connection.state_dir {
        if let Err(e) = std::fs::create_dir_all(dir) {
            tracing::warn!("cannot create {}: {e}", dir.display());
        }
        bot.keep_threads_in(dir.join("discord-threads.json"));
        bot.keep_conversations_in(dir.join("discord-conversations.json"));
    }
    // New articles announced with the bot's token (`discord.announce_channel_id`) until
    // the gateway closes. `serve` starts its reload triggers just before: a reload that
    // finished before this subscribed is a first sync of new sources (the schedule's first
    // turn is a period away), whose back catalogue is never news anyway.
    let _announcing = super::announce::start(
        bot.service().clone(),
        Arc::new(Rest::with_token(Arc::new(
            http_builder(&connection).build(),
        ))),
        connection.state_dir.clone(),
    );
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let signal_task = tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let mut intents = INTENTS;
    loop {
        let mut client = ClientBuilder::new_with_http(http_builder(&connection).build(), intents)
            .event_handler_arc(handler.clone())
            .raw_event_handler(Unknown)
            .await?;
        let manager = client.shard_manager.clone();
        let watcher = {
            let (mut stop, handler) = (stop.clone(), handler.clone());
            tokio::spawn(async move {
                let _ = stop.wait_for(|s| *s).await;
                tracing::info!("shutting down: finishing the work in flight");
                handler.accepting.store(false, Ordering::SeqCst);
                if tokio::time::timeout(DRAIN, handler.in_flight.wait_idle())
                    .await
                    .is_err()
                {
                    tracing::warn!("shutdown: work still in flight after {DRAIN:?}");
                }
                manager.shutdown_all().await;
            })
        };
        let start = async {
            match bot.settings().shards {
                Shards::Auto => client.start_autosharded().await,
                // serenity's range end is inclusive.
                Shards::Range {
                    first,
                    count,
                    total,
                } => {
                    client
                        .start_shard_range(first..first + count - 1, total)
                        .await
                }
            }
        };
        // A shutdown before any shard ran leaves serenity waiting: give up after a grace.
        let mut watcher = watcher;
        let result = tokio::select! {
            r = start => r,
            _ = async {
                let _ = (&mut watcher).await;
                tokio::time::sleep(Duration::from_secs(5)).await;
            } => Ok(()),
        };
        watcher.abort();
        match result {
            Err(serenity::Error::Gateway(
                serenity::gateway::GatewayError::DisallowedGatewayIntents,
            )) if intents.contains(GatewayIntents::MESSAGE_CONTENT) => {
                tracing::error!(
                    "Discord refused the MESSAGE_CONTENT intent (close code 4014): enable \
                     \"Message Content Intent\" under Bot → Privileged Gateway Intents in the \
                     developer portal. Reconnecting without it: slash commands keep working, and \
                     only messages that mention the bot carry text."
                );
                intents.remove(GatewayIntents::MESSAGE_CONTENT);
            }
            Err(e) => {
                signal_task.abort();
                return Err(anyhow::anyhow!("gateway: {e}"));
            }
            Ok(()) => {
                signal_task.abort();
                tracing::info!("gateway closed");
                return Ok(());
            }
        }
    }
}

/// A REST client with the bot's token, sent to `rest_base` when there is one.
fn http_builder(connection: &Connection) -> HttpBuilder {
    let http = HttpBuilder::new(&connection.token);
    match &connection.rest_base {
        // serenity only applies the proxy when its own rate limiter is off.
        Some(base) => http
            .proxy(base.trim_end_matches('/'))
            .ratelimiter_disabled(true),
        None => http,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_stripped() {
        assert_eq!(
            strip_mentions("<@42> what is  a peg?", 42),
            "what is a peg?"
        );
        assert_eq!(strip_mentions("hey <@!42>", 42), "hey");
        assert_eq!(strip_mentions("<@7> hi", 42), "<@7> hi");
    }
}
