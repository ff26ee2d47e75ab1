//! The shared interaction layer: everything about a slash command, an autocomplete or a button
//! press that is not transport. Both the gateway adapter and the HTTP-interactions adapter call
//! [`handle`] and send what it returns, so the checks (moderators, cooldowns, button owner
//! and expiry), the deferral decision, the rendering within Discord's limits and the no-ping
//! rule live here, once.
//!
//! A transport sends [`Reply::Now`] as the interaction response; for [`Reply::Deferred`] it
//! sends `ack` as the response and then runs [`complete`], which finishes the work and edits,
//! deletes or follows up through the interaction webhook. The [`Rest`] given to [`complete`]
//! must know the application id (`Http::set_application_id`), since webhook routes name it.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::rest::Rest;
use serenity::builder::{
    CreateActionRow, CreateAutocompleteResponse, CreateButton, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateMessage,
    CreateThread, EditInteractionResponse,
};
use serenity::model::application::{
    ButtonStyle, CommandInteraction, ComponentInteraction, Interaction, MessageInteractionMetadata,
    ResolvedValue,
};
use serenity::model::channel::Message;
use serenity::model::guild::Member;
use serenity::model::id::ChannelId;
use serenity::model::Permissions;

use super::buttons::{self, Action, ButtonId};
use super::commands;
use super::render::{self, no_pings, Rendered};
use crate::answer::{Answer, Command, Scope};
use crate::config::DiscordSettings;
use crate::service::{Asker, Service};

/// How long the bot waits for an answer before it defers: Discord's window is 3 s, and the
/// response still has to travel.
pub const DEFER_AFTER: Duration = Duration::from_millis(2000);

/// Where the state behind a message's buttons lives (see [`super::buttons`]).
#[derive(Debug, Clone)]
enum Keep {
    /// In the buttons' custom ids: it survives restarts and works on every instance.
    Carried(Command),
    /// In this process's memory under this id, when the command does not fit in a custom id.
    Stored(u64),
}

/// What a message with buttons was made from, for paging, posting and expiry, when it is
/// kept in memory ([`Keep::Stored`]).
#[derive(Debug, Clone)]
struct Stored {
    command: Command,
    asker: u64,
    created: Instant,
    rendered: Rendered,
    /// (page, pages) of a search.
    paging: Option<(usize, usize)>,
}

/// The bot's shared state: the service and what the Discord side remembers.
pub struct Bot {
    service: Arc<Service>,
    settings: DiscordSettings,
    defer_after: Duration,
    /// When each user last asked something (per-user cooldown).
    cooldowns: Mutex<HashMap<u64, Instant>>,
    /// Messages with live buttons whose state does not fit in their custom ids, by the id in
    /// their custom ids.
    stored: Mutex<HashMap<u64, Stored>>,
    next_id: AtomicU64,
    /// Threads opened by `/discuss`: thread (channel) id → article slug.
    threads: Mutex<HashMap<u64, String>>,
    /// Where the threads are kept across restarts, if anywhere.
    threads_file: Mutex<Option<PathBuf>>,
}

/// Messages with live buttons remembered at most (about 5 KB each).
const STORED_MAX: usize = 20_000;

/// Threads remembered at most (the oldest ids are forgotten first).
const THREADS_KEPT: usize = 10_000;

impl std::fmt::Debug for Bot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bot").finish_non_exhaustive()
    }
}

impl Bot {
    pub fn new(service: Arc<Service>) -> Arc<Bot> {
        Bot::with_defer_after(service, DEFER_AFTER)
    }

    /// A bot that defers any answer not ready after `defer_after` (tests use zero to take the
    /// deferred path every time).
    pub fn with_defer_after(service: Arc<Service>, defer_after: Duration) -> Arc<Bot> {
        let settings = service.settings().discord.clone();
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_millis() as u64);
        Arc::new(Bot {
            service,
            settings,
            defer_after,
            cooldowns: Mutex::new(HashMap::new()),
            stored: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(seed),
            threads: Mutex::new(HashMap::new()),
            threads_file: Mutex::new(None),
        })
    }

    pub fn service(&self) -> &Arc<Service> {
        &self.service
    }

    pub fn settings(&self) -> &DiscordSettings {
        &self.settings
    }

    /// Starts `user`'s cooldown, or returns how long they still have to wait.
    pub fn cooldown(&self, user: u64) -> Result<(), Duration> {
        if self.settings.cooldown.is_zero() {
            return Ok(());
        }
        let now = Instant::now();
        let mut map = self.cooldowns.lock().unwrap();
        if let Some(&last) = map.get(&user) {
            let since = now.duration_since(last);
            if since < self.settings.cooldown {
                return Err(self.settings.cooldown - since);
            }
        }
        map.retain(|_, t| now.duration_since(*t) < self.settings.cooldown);
        map.insert(user, now);
        Ok(())
    }

    /// Whether a guild member may run the moderator commands: a role from
    /// `moderator_role_ids` or the Manage Server permission. Outside a guild, nobody.
    pub fn is_moderator(&self, member: Option<&Member>) -> bool {
        let Some(m) = member else { return false };
        let by_permission = m
            .permissions
            .is_some_and(|p| p.contains(Permissions::MANAGE_GUILD) || p.administrator());
        let by_role = m
            .roles
            .iter()
            .any(|r| self.settings.moderator_role_ids.contains(&r.get()));
        by_permission || by_role
    }

    /// The article a `/discuss` thread is about.
    pub fn thread_article(&self, channel: u64) -> Option<String> {
        self.threads.lock().unwrap().get(&channel).cloned()
    }

    /// Remembers `/discuss` threads in `path` (JSON), so that a restarted bot still answers
    /// in them from their article. Loads what the file already holds.
    pub fn keep_threads_in(&self, path: PathBuf) {
        match std::fs::read_to_string(&path) {
            Ok(text) => match serde_json::from_str::<HashMap<String, String>>(&text) {
                Ok(saved) => {
                    let mut threads = self.threads.lock().unwrap();
                    for (id, slug) in saved {
                        if let Ok(id) = id.parse() {
                            threads.entry(id).or_insert(slug);
                        }
                    }
                }
                Err(e) => tracing::warn!("ignoring {}: {e}", path.display()),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("cannot read {}: {e}", path.display()),
        }
        *self.threads_file.lock().unwrap() = Some(path);
    }

    pub fn remember_thread(&self, channel: u64, slug: String) {
        let saved: HashMap<String, String> = {
            let mut threads = self.threads.lock().unwrap();
            threads.insert(channel, slug);
            if threads.len() > THREADS_KEPT {
                // Snowflakes grow with time: the smallest ids are the oldest threads.
                let mut ids: Vec<u64> = threads.keys().copied().collect();
                ids.sort_unstable();
                for id in &ids[..threads.len() - THREADS_KEPT] {
                    threads.remove(id);
                }
            }
            threads
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
        };
        let Some(path) = self.threads_file.lock().unwrap().clone() else {
            return;
        };
        let tmp = path.with_extension("json.tmp");
        let written = serde_json::to_vec(&saved)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&tmp, bytes))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            tracing::warn!("cannot remember threads in {}: {e}", path.display());
        }
    }

    fn store(&self, s: Stored) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut map = self.stored.lock().unwrap();
        // Expired entries go now and then, and the oldest (smallest id) when the bot is very
        // busy, so memory stays bounded without scanning on every answer.
        if id % 64 == 0 || map.len() >= STORED_MAX {
            let timeout = self.settings.button_timeout;
            map.retain(|_, v| v.created.elapsed() <= timeout);
        }
        if map.len() >= STORED_MAX {
            if let Some(&oldest) = map.keys().min() {
                map.remove(&oldest);
            }
        }
        map.insert(id, s);
        id
    }

    /// The live state behind a button, or `None` when it expired (or the bot restarted).
    fn stored(&self, id: u64) -> Option<Stored> {
        let map = self.stored.lock().unwrap();
        map.get(&id)
            .filter(|s| s.created.elapsed() <= self.settings.button_timeout)
            .cloned()
    }

    /// Where the buttons under `answer` (to `command` by `asker`) keep their state: in their
    /// custom ids when the command fits, else in memory.
    fn keep(&self, command: Command, asker: u64, rendered: &Rendered, answer: &Answer) -> Keep {
        let fits = [Action::Prev, Action::Next, Action::Post]
            .into_iter()
            .all(|a| buttons::carried(a, asker, &command).is_some());
        if fits {
            return Keep::Carried(command);
        }
        Keep::Stored(self.store(Stored {
            command,
            asker,
            created: Instant::now(),
            rendered: rendered.clone(),
            paging: paging(answer),
        }))
    }

    fn update_stored(&self, id: u64, command: Command, rendered: Rendered, answer: &Answer) {
        if let Some(s) = self.stored.lock().unwrap().get_mut(&id) {
            s.command = command;
            s.rendered = rendered;
            s.paging = paging(answer);
        }
    }

    /// Answers a message that mentions the bot, replies to it or is sent to it directly
    /// (gateway only). Threads opened by `/discuss` answer from their article first. `None`:
    /// nothing to send.
    pub async fn answer_message(
        self: &Arc<Self>,
        user: u64,
        channel: u64,
        question: &str,
    ) -> Option<CreateMessage> {
        let question = question.trim();
        if question.is_empty() {
            return Some(
                CreateMessage::new()
                    .content("Ask me a question after the mention (or use `/ask`).")
                    .allowed_mentions(no_pings()),
            );
        }
        if let Err(wait) = self.cooldown(user) {
            return Some(
                CreateMessage::new()
                    .content(cooldown_text(wait))
                    .allowed_mentions(no_pings()),
            );
        }
        let scope = match self.thread_article(channel) {
            Some(slug) => Scope::PreferArticle(slug),
            None => Scope::Collection,
        };
        let command = Command::Ask {
            question: question.to_string(),
            scope,
        };
        let msg = CreateMessage::new().allowed_mentions(no_pings());
        Some(
            match self
                .service
                .execute(command, Some(Asker(user.to_string())))
                .await
            {
                Ok(answer) => msg.embeds(render::answer(&answer).embeds()),
                Err(e) => {
                    tracing::error!("answering a mention: {e:#}");
                    msg.content(FAILED)
                }
            },
        )
    }
}

const FAILED: &str = "Sorry, something went wrong while answering. Please try again.";
const MODERATORS_ONLY: &str = "This command is for moderators only.";
const NO_THREAD: &str = "I could not open a thread here (the bot may lack the Create Public \
                         Threads permission). You can still ask with `/ask`.";
const EXPIRED: &str = "These buttons have expired. Run the command again for fresh ones.";
const UNKNOWN_BUTTON: &str =
    "I cannot read this button (it may come from another version of the bot). Run the command \
     again for fresh buttons.";

fn cooldown_text(wait: Duration) -> String {
    let secs = wait.as_secs_f32().ceil().max(1.0) as u64;
    format!("Slow down: you can ask again in {secs} s.")
}

/// What to send for an interaction.
pub enum Reply {
    /// The whole interaction response (callback types 1/4/7/8/9...).
    Now(CreateInteractionResponse),
    /// A deferred response now (type 5 or 6); `then` finishes the work, and [`complete`]
    /// sends it.
    Deferred {
        ack: CreateInteractionResponse,
        then: Later,
    },
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Now(r) => f.debug_tuple("Now").field(r).finish(),
            Reply::Deferred { ack, .. } => f.debug_struct("Deferred").field("ack", ack).finish(),
        }
    }
}

type Pending<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The rest of a deferred reply: work still running and what to send when it is done.
pub struct Later(Job);

enum Job {
    /// Edit `@original` with what the work produces.
    Edit(Pending<EditInteractionResponse>),
    /// Delete `@original` (the message a button was on).
    Delete,
    /// `/discuss`: edit `@original` with the article, open a thread on it, post the summary
    /// and the takeaways there.
    Discuss(Arc<Bot>, Pending<Discussion>),
}

enum Discussion {
    Open {
        slug: String,
        title: String,
        opening: Rendered,
        posts: Rendered,
    },
    /// Nothing to discuss (no such article, or an error): just this answer.
    Answer(EditInteractionResponse),
}

impl Later {
    fn edit(work: impl Future<Output = EditInteractionResponse> + Send + 'static) -> Later {
        Later(Job::Edit(Box::pin(work)))
    }
}

/// Sends what a deferred reply produces, through the interaction webhook (PATCH or DELETE
/// `/webhooks/{application_id}/{token}/messages/@original`, POST follow-ups). Failures are
/// logged: the interaction is over by then.
pub async fn complete(rest: &Rest, interaction_token: &str, later: Later) {
    if let Err(e) = run_later(rest, interaction_token, later).await {
        tracing::warn!("finishing a deferred interaction: {e:#}");
    }
}

async fn run_later(http: &Rest, token: &str, later: Later) -> anyhow::Result<()> {
    match later.0 {
        Job::Edit(work) => {
            let edit = work.await.allowed_mentions(no_pings());
            http.edit_original(token, &edit).await?;
        }
        Job::Delete => http.delete_original(token).await?,
        Job::Discuss(bot, work) => match work.await {
            Discussion::Answer(edit) => {
                let edit = edit.allowed_mentions(no_pings());
                http.edit_original(token, &edit).await?;
            }
            Discussion::Open {
                slug,
                title,
                opening,
                posts,
            } => {
                let edit = EditInteractionResponse::new()
                    .embeds(opening.embeds())
                    .allowed_mentions(no_pings());
                let msg = http.edit_original(token, &edit).await?;
                let name = render::cut_plain(&title, 100);
                let thread = match http
                    .create_thread_from_message(msg.channel_id, msg.id, &CreateThread::new(name))
                    .await
                {
                    Ok(thread) => thread,
                    Err(e) => {
                        // Tell the member why there is no thread (usually a missing
                        // "Create Public Threads" permission), then log it.
                        let note = CreateInteractionResponseFollowup::new()
                            .content(NO_THREAD)
                            .ephemeral(true)
                            .allowed_mentions(no_pings());
                        http.followup(token, &note).await?;
                        return Err(anyhow::anyhow!("cannot open a /discuss thread: {e}"));
                    }
                };
                bot.remember_thread(thread.id.get(), slug);
                let post = CreateMessage::new()
                    .embeds(posts.embeds())
                    .allowed_mentions(no_pings());
                http.send_message(thread.id, &post).await?;
            }
        },
    }
    Ok(())
}

fn ephemeral(text: &str) -> Reply {
    Reply::Now(CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new()
            .content(render::notice(text))
            .ephemeral(true)
            .allowed_mentions(no_pings()),
    ))
}

/// Everything that is not transport: checks, cooldowns, running the command, rendering.
pub async fn handle(bot: &Arc<Bot>, interaction: Interaction) -> Reply {
    match interaction {
        Interaction::Ping(_) => Reply::Now(CreateInteractionResponse::Pong),
        Interaction::Autocomplete(ci) => Reply::Now(autocomplete(bot, &ci)),
        Interaction::Command(ci) => command(bot, &ci).await,
        Interaction::Component(ci) => component(bot, &ci).await,
        _ => ephemeral("This kind of interaction is not supported."),
    }
}

/// At most 25 choices of at most 100 characters, from titles and aliases.
fn autocomplete(bot: &Bot, ci: &CommandInteraction) -> CreateInteractionResponse {
    let typed = ci.data.autocomplete().map(|o| o.value).unwrap_or("");
    let choices = bot
        .service
        .autocomplete(typed, render::limits::CHOICES)
        .into_iter()
        .fold(CreateAutocompleteResponse::new(), |r, c| {
            r.add_string_choice(
                render::cut_plain(&c.name, render::limits::CHOICE),
                c.value
                    .chars()
                    .take(render::limits::CHOICE)
                    .collect::<String>(),
            )
        });
    CreateInteractionResponse::Autocomplete(choices)
}

/// The string options of a command, by name.
fn options(ci: &CommandInteraction) -> HashMap<&str, String> {
    ci.data
        .options()
        .into_iter()
        .filter_map(|o| match o.value {
            ResolvedValue::String(s) => Some((o.name, s.to_string())),
            _ => None,
        })
        .collect()
}

fn display_name(ci: &CommandInteraction) -> String {
    ci.member
        .as_deref()
        .map(|m| m.display_name().to_string())
        .unwrap_or_else(|| ci.user.display_name().to_string())
}

async fn command(bot: &Arc<Bot>, ci: &CommandInteraction) -> Reply {
    let name = ci.data.name.as_str();
    if commands::MODERATOR_COMMANDS.contains(&name) {
        if !bot.is_moderator(ci.member.as_deref()) {
            return ephemeral(MODERATORS_ONLY);
        }
        return moderator(bot, name, display_name(ci)).await;
    }
    let user = ci.user.id.get();
    if let Err(wait) = bot.cooldown(user) {
        return ephemeral(&cooldown_text(wait));
    }
    let mut opts = options(ci);
    let mut take = |k: &str| opts.remove(k).unwrap_or_default();
    let command = match name {
        commands::ASK => {
            let question = take("question");
            let article = take("article");
            Command::Ask {
                question,
                scope: if article.trim().is_empty() {
                    Scope::Collection
                } else {
                    Scope::Article(article)
                },
            }
        }
        commands::SEARCH => {
            let query = take("query");
            let tag = Some(take("tag")).filter(|t| !t.trim().is_empty());
            Command::Search {
                query,
                page: 1,
                tag,
            }
        }
        commands::SUMMARY => Command::Summary {
            article: take("article"),
        },
        commands::TAKEAWAYS => Command::Takeaways {
            article: take("article"),
        },
        commands::ARTICLE => Command::Article {
            query: take("article"),
        },
        commands::DISCUSS => return discuss(bot, user, take("article")),
        _ => return ephemeral("Unknown command."),
    };
    answer(bot, command, user, bot.settings.ephemeral).await
}

async fn moderator(bot: &Arc<Bot>, name: &str, who: String) -> Reply {
    let service = bot.service.clone();
    let work: Pending<String> = match name {
        commands::RELOAD => Box::pin(async move {
            let report = service.reload(&who).await;
            render::report("Reload", &crate::render::reload_report(&report))
        }),
        commands::CHECK => Box::pin(async move {
            match service.check().await {
                Ok(report) => {
                    render::report("Content check", &crate::render::check_report(&report))
                }
                Err(e) => render::notice(&format!("The check could not run: {e:#}")),
            }
        }),
        _ => {
            let text = render::report("Statistics", &service.stats_report().to_text());
            return ephemeral_raw(text);
        }
    };
    // A reload or a check can outlast the 3 s window: always defer.
    Reply::Deferred {
        ack: CreateInteractionResponse::Defer(
            CreateInteractionResponseMessage::new().ephemeral(true),
        ),
        then: Later::edit(async move {
            EditInteractionResponse::new()
                .content(work.await)
                .allowed_mentions(no_pings())
        }),
    }
}

/// An ephemeral message whose text is already rendered.
fn ephemeral_raw(text: String) -> Reply {
    Reply::Now(CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new()
            .content(text)
            .ephemeral(true)
            .allowed_mentions(no_pings()),
    ))
}

fn paging(answer: &Answer) -> Option<(usize, usize)> {
    match answer {
        Answer::Search(s) => Some((s.page, s.pages)),
        _ => None,
    }
}

/// Which buttons go under an answer: Previous/Next for a search, then "Post to channel"
/// (ephemeral) or "Delete" (public).
fn buttons(
    keep: &Keep,
    asker: u64,
    paging: Option<(usize, usize)>,
    public: bool,
) -> Vec<CreateActionRow> {
    let id = |action| match keep {
        // `Bot::keep` checked that every action's id fits.
        Keep::Carried(command) => buttons::carried(action, asker, command).unwrap_or_default(),
        Keep::Stored(id) => buttons::stored(action, *id, asker),
    };
    let mut row = Vec::new();
    if let Some((page, pages)) = paging {
        row.push(
            CreateButton::new(id(Action::Prev))
                .label("Previous")
                .style(ButtonStyle::Secondary)
                .disabled(page <= 1),
        );
        row.push(
            CreateButton::new(id(Action::Next))
                .label("Next")
                .style(ButtonStyle::Secondary)
                .disabled(page >= pages),
        );
    }
    if public {
        row.push(
            CreateButton::new(buttons::delete(asker))
                .label("Delete")
                .style(ButtonStyle::Danger),
        );
    } else {
        row.push(
            CreateButton::new(id(Action::Post))
                .label("Post to channel")
                .style(ButtonStyle::Primary),
        );
    }
    vec![CreateActionRow::Buttons(row)]
}

/// A finished answer: its embeds and buttons (`None`: it failed, and the log says why).
type Made = Option<(Rendered, Vec<CreateActionRow>)>;

/// Runs `work`. When it finishes within the defer window, `now` makes the response from it;
/// otherwise `ack` goes out at once and the result edits `@original` when it is ready.
async fn within_window(
    bot: &Bot,
    work: impl Future<Output = Made> + Send + 'static,
    now: impl FnOnce(Made) -> CreateInteractionResponse,
    ack: CreateInteractionResponse,
) -> Reply {
    fn joined(result: Result<Made, tokio::task::JoinError>) -> Made {
        result.unwrap_or_else(|e| {
            tracing::error!("answer task failed: {e}");
            None
        })
    }
    let mut handle = tokio::spawn(work);
    let ready = if bot.defer_after.is_zero() {
        None
    } else {
        tokio::time::timeout(bot.defer_after, &mut handle)
            .await
            .ok()
    };
    match ready {
        Some(result) => Reply::Now(now(joined(result))),
        None => Reply::Deferred {
            ack,
            then: Later::edit(async move {
                match joined(handle.await) {
                    Some((rendered, buttons)) => EditInteractionResponse::new()
                        .embeds(rendered.embeds())
                        .components(buttons),
                    None => EditInteractionResponse::new().content(FAILED),
                }
            }),
        },
    }
}

fn failed_message() -> CreateInteractionResponse {
    CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new()
            .content(FAILED)
            .ephemeral(true)
            .allowed_mentions(no_pings()),
    )
}

/// Runs a slash command: the answer, with its buttons, at once or deferred.
async fn answer(bot: &Arc<Bot>, command: Command, user: u64, ephemeral: bool) -> Reply {
    let work = {
        let bot = bot.clone();
        async move {
            let result = bot
                .service
                .execute(command.clone(), Some(Asker(user.to_string())))
                .await;
            let answer = result
                .map_err(|e| tracing::error!("answering a command: {e:#}"))
                .ok()?;
            let rendered = render::answer(&answer);
            let keep = bot.keep(command, user, &rendered, &answer);
            let buttons = buttons(&keep, user, paging(&answer), !ephemeral);
            Some((rendered, buttons))
        }
    };
    let now = |made: Made| match made {
        Some((rendered, buttons)) => CreateInteractionResponse::Message(
            rendered.message().components(buttons).ephemeral(ephemeral),
        ),
        None => failed_message(),
    };
    let ack = CreateInteractionResponse::Defer(
        CreateInteractionResponseMessage::new().ephemeral(ephemeral),
    );
    within_window(bot, work, now, ack).await
}

/// Runs a button's command again and renders the answer; `None` (logged as `what`) when it
/// fails.
async fn rerun(
    bot: &Bot,
    command: &Command,
    what: &str,
) -> Option<(crate::answer::Answer, render::Rendered)> {
    let answer = bot
        .service
        .execute(command.clone(), None)
        .await
        .map_err(|e| tracing::error!("{what}: {e:#}"))
        .ok()?;
    let rendered = render::answer(&answer);
    Some((answer, rendered))
}

/// Turns a search page in place (the message the buttons are on).
async fn turn_page(
    bot: &Arc<Bot>,
    keep: Keep,
    asker: u64,
    command: Command,
    public: bool,
) -> Reply {
    let work = {
        let bot = bot.clone();
        async move {
            let (answer, rendered) = rerun(&bot, &command, "paging").await?;
            let keep = match keep {
                Keep::Stored(id) => {
                    bot.update_stored(id, command, rendered.clone(), &answer);
                    Keep::Stored(id)
                }
                // The new page's ids may be a digit longer: they may have to move to memory.
                Keep::Carried(_) => bot.keep(command, asker, &rendered, &answer),
            };
            let buttons = buttons(&keep, asker, paging(&answer), public);
            Some((rendered, buttons))
        }
    };
    let now = |made: Made| match made {
        Some((rendered, buttons)) => {
            CreateInteractionResponse::UpdateMessage(rendered.message().components(buttons))
        }
        None => failed_message(),
    };
    within_window(bot, work, now, CreateInteractionResponse::Acknowledge).await
}

/// `/discuss`: always deferred and public (a thread hangs off the message).
fn discuss(bot: &Arc<Bot>, user: u64, article: String) -> Reply {
    let service = bot.service.clone();
    let work: Pending<Discussion> = Box::pin(async move {
        let asker = Some(Asker(user.to_string()));
        let summary = service
            .execute(
                Command::Summary {
                    article: article.clone(),
                },
                asker.clone(),
            )
            .await;
        let summary = match summary {
            Ok(Answer::Summary(s)) => s,
            Ok(other) => {
                return Discussion::Answer(
                    EditInteractionResponse::new().embeds(render::answer(&other).embeds()),
                )
            }
            Err(e) => {
                tracing::error!("/discuss: {e:#}");
                return Discussion::Answer(EditInteractionResponse::new().content(FAILED));
            }
        };
        let takeaways = match service
            .execute(
                Command::Takeaways {
                    article: summary.slug.clone(),
                },
                None,
            )
            .await
        {
            Ok(Answer::Takeaways(t)) => Some(t),
            _ => None,
        };
        let mut opening = render::answer(&Answer::Summary(summary.clone()));
        if let Some(c) = opening.cards.first_mut() {
            c.title = render::cut_plain(
                &render::defuse(&format!("Discussion: {}", summary.title)),
                render::limits::TITLE,
            );
            c.footer = Some("Ask in the thread: mention me or reply to me.".into());
        }
        Discussion::Open {
            slug: summary.slug.clone(),
            title: summary.title.clone(),
            opening,
            posts: render::discussion(&summary, takeaways.as_ref()),
        }
    });
    Reply::Deferred {
        ack: CreateInteractionResponse::Defer(
            CreateInteractionResponseMessage::new().ephemeral(false),
        ),
        then: Later(Job::Discuss(bot.clone(), work)),
    }
}

/// Posts the answer to `command` publicly (a *Post to channel* whose state was carried): the
/// command runs again, so the post shows what the library answers now.
async fn post(bot: &Arc<Bot>, command: Command, asker: u64) -> Reply {
    let work = {
        let bot = bot.clone();
        async move {
            let (answer, rendered) = rerun(&bot, &command, "posting").await?;
            let keep = bot.keep(command, asker, &rendered, &answer);
            let buttons = buttons(&keep, asker, paging(&answer), true);
            Some((rendered, buttons))
        }
    };
    let now = |made: Made| match made {
        Some((rendered, buttons)) => CreateInteractionResponse::Message(
            rendered.message().components(buttons).ephemeral(false),
        ),
        None => failed_message(),
    };
    let ack =
        CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(false));
    within_window(bot, work, now, ack).await
}

/// The user whose interaction `message` answered, when Discord says (`interaction_metadata`).
fn answered_user(message: &Message) -> Option<u64> {
    match message.interaction_metadata.as_deref()? {
        MessageInteractionMetadata::Command(m) => Some(m.user.id.get()),
        MessageInteractionMetadata::Component(m) => Some(m.user.id.get()),
        _ => None,
    }
}

/// A button press. The custom id is read back without trusting it ([`buttons::parse`]): one
/// that is not ours, or that names an asker other than the one Discord says the message
/// answered, gets an ephemeral message; only the asker may page or post, and the asker or a
/// moderator delete.
async fn component(bot: &Arc<Bot>, ci: &ComponentInteraction) -> Reply {
    let Some(button) = buttons::parse(&ci.data.custom_id) else {
        tracing::debug!("a button with an unknown custom id was pressed");
        return ephemeral(UNKNOWN_BUTTON);
    };
    let asker = button.asker();
    if answered_user(&ci.message).is_some_and(|answered| answered != asker) {
        tracing::debug!("a button's custom id names someone the message did not answer");
        return ephemeral(UNKNOWN_BUTTON);
    }
    let user = ci.user.id.get();
    let action = button.action();
    if action == Action::Delete {
        if user != asker && !bot.is_moderator(ci.member.as_ref()) {
            return ephemeral("Only the person who asked or a moderator can delete this.");
        }
        return Reply::Deferred {
            ack: CreateInteractionResponse::Acknowledge,
            then: Later(Job::Delete),
        };
    }
    let (keep, command, stored) = match button {
        ButtonId::Carried {
            command: Some(command),
            ..
        } => (Keep::Carried(command.clone()), command, None),
        ButtonId::Carried { command: None, .. } => return ephemeral(UNKNOWN_BUTTON),
        ButtonId::Stored { id, .. } => {
            let Some(stored) = bot.stored(id) else {
                return ephemeral(EXPIRED);
            };
            if stored.asker != asker {
                return ephemeral(UNKNOWN_BUTTON);
            }
            (Keep::Stored(id), stored.command.clone(), Some(stored))
        }
    };
    match action {
        Action::Prev | Action::Next => {
            if user != asker {
                return ephemeral("Only the person who asked can page through these results.");
            }
            let Command::Search { query, page, tag } = command else {
                return ephemeral(UNKNOWN_BUTTON);
            };
            let page = if action == Action::Next {
                page + 1
            } else {
                page.saturating_sub(1).max(1)
            };
            let command = Command::Search { query, page, tag };
            let public = ci
                .message
                .flags
                .is_none_or(|f| !f.contains(serenity::model::channel::MessageFlags::EPHEMERAL));
            turn_page(bot, keep, asker, command, public).await
        }
        Action::Post => {
            if user != asker {
                return ephemeral("Only the person who asked can post this answer.");
            }
            let Some(stored) = stored else {
                return post(bot, command, asker).await;
            };
            let new_id = bot.store(Stored {
                created: Instant::now(),
                ..stored.clone()
            });
            Reply::Now(CreateInteractionResponse::Message(
                stored
                    .rendered
                    .message()
                    .components(buttons(&Keep::Stored(new_id), asker, stored.paging, true))
                    .ephemeral(false),
            ))
        }
        Action::Delete => ephemeral(UNKNOWN_BUTTON),
    }
}

/// The channel a gateway message came from, as the thread map keys it.
pub fn channel_key(channel: ChannelId) -> u64 {
    channel.get()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bot(moderator_roles: Vec<u64>) -> Arc<Bot> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.md"), "# A\n\nSome text.\n").unwrap();
        let mut settings = crate::config::Settings::for_content(dir.path());
        settings.discord.moderator_role_ids = moderator_roles;
        settings.discord.cooldown = Duration::from_secs(60);
        let library = crate::library::Library::open(
            &settings,
            crate::library::OpenMode::Reuse,
            &crate::library::NoProgress,
        )
        .unwrap();
        Bot::new(Service::new(settings, library).unwrap())
    }

    fn member(roles: &[u64], permissions: Option<u64>) -> Member {
        serde_json::from_value(serde_json::json!({
            "user": {"id": "7", "username": "u", "discriminator": "0", "avatar": null},
            "roles": roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            "joined_at": null, "deaf": false, "mute": false, "flags": 0,
            "permissions": permissions.map(|p| p.to_string()),
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn moderators_by_role_or_manage_server() {
        let bot = bot(vec![42]);
        assert!(bot.is_moderator(Some(&member(&[42], Some(0)))));
        assert!(bot.is_moderator(Some(&member(&[], Some(1 << 5)))));
        assert!(
            bot.is_moderator(Some(&member(&[], Some(1 << 3)))),
            "administrator"
        );
        assert!(!bot.is_moderator(Some(&member(&[41], Some(1 << 11)))));
        assert!(!bot.is_moderator(Some(&member(&[], None))));
        assert!(!bot.is_moderator(None), "not in a guild");
    }

    #[tokio::test]
    async fn cooldown_is_per_user() {
        let bot = bot(vec![]);
        assert!(bot.cooldown(1).is_ok());
        let wait = bot.cooldown(1).unwrap_err();
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(58));
        assert!(bot.cooldown(2).is_ok());
        assert_eq!(cooldown_text(wait), "Slow down: you can ask again in 60 s.");
    }
}
