//! Conversations on Discord: which messages are for the bot, which conversation each one
//! continues (its key), the turn through the conversation layer
//! ([`crate::conversation::respond`], via the service) and what is kept between messages.
//! @mentions, replies to the bot and messages in `/discuss` threads come from the gateway as a
//! [`Heard`]; the `question` of `/ask`, the `/discuss` thread and its section buttons come
//! through the interaction layer, on the gateway and over HTTP alike.
//!
//! Conversation keys:
//! - `thread:<id>`: a `/discuss` thread. Every message there is for the bot unless it is
//!   addressed to someone else (it mentions others and not the bot, or replies to someone
//!   else). Kept across restarts (`discord-conversations.json` in the state folder).
//! - `member:<channel>:<user>`: a member's mentions, direct messages and `/ask` questions in
//!   one channel; it starts over after `conversation.idle_minutes`.
//! - A reply to one of the bot's answers continues the conversation that answer belongs to
//!   (remembered per message answered; an answer is a reply to it); a reply to an answer the
//!   bot no longer knows (a restart, a slash command's answer) continues the replier's own
//!   `member:` conversation.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serenity::builder::{
    CreateActionRow, CreateButton, CreateInteractionResponse, CreateInteractionResponseMessage,
    CreateMessage,
};
use serenity::model::application::{ButtonStyle, ComponentInteraction};

use super::super::buttons::SectionButton;
use super::super::render::{self, no_pings};
use super::deferred::{pointed, within_window, Made, Reply};
use super::keep::{buttons, paging, Keep, Stored};
use super::notices::{cooldown_text, ephemeral, failed_message, FAILED};
use super::tags;
use super::voting::{add_vote_buttons, asked};
use super::Bot;
use crate::answer::{Answer, Command, Scope};
use crate::conversation::{self, Intent, Response, State};
use crate::service::Asker;
use crate::state::unix_now as now;

/// Bot messages whose conversation is remembered at most (the oldest are forgotten first).
const CHAINS_KEPT: usize = 50_000;
/// Buttons one message may hold (5 rows of 5).
const BUTTONS_MAX: usize = 25;
/// Discord's limit on a button label, in characters.
const LABEL_MAX: usize = 80;

/// A message someone sent where the bot can read it, as the gateway saw it.
#[derive(Debug, Clone)]
pub struct Heard {
    /// The message's id.
    pub message: u64,
    pub channel: u64,
    pub user: u64,
    /// The text, without the bot's own mention.
    pub text: String,
    pub mentions_me: bool,
    /// It mentions someone other than the bot.
    pub mentions_others: bool,
    pub reply_to: Option<ReplyTo>,
    /// The guild it was sent in; `None`: a direct message.
    pub guild: Option<u64>,
    /// The channel the message's thread belongs to (a forum post's forum), when the bot saw
    /// the thread being made; `None` outside threads or for threads it never saw.
    pub parent: Option<u64>,
    /// The message opens its thread (a forum post's first message: its id is the thread's).
    pub opens_thread: bool,
}

/// Whose message a message replies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyTo {
    /// One of the bot's messages, which answered the message `answering` (the bot's answers
    /// are replies).
    Me {
        answering: Option<u64>,
    },
    Someone,
}

/// The messages the bot answered and the conversation each answer belongs to. Keyed by the
/// message answered, not by the answer: that is known before the answer is sent, so a reply
/// that comes quicker than the answer's own confirmation still finds its conversation.
#[derive(Default)]
pub(super) struct Chains(Mutex<HashMap<u64, String>>);

impl Chains {
    fn get(&self, message: u64) -> Option<String> {
        self.0.lock().unwrap().get(&message).cloned()
    }

    fn put(&self, message: u64, key: &str) {
        let mut map = self.0.lock().unwrap();
        map.insert(message, key.to_string());
        if map.len() > CHAINS_KEPT {
            // Snowflakes grow with time: the smallest ids are the oldest messages.
            let mut ids: Vec<u64> = map.keys().copied().collect();
            ids.sort_unstable();
            for id in &ids[..map.len() - CHAINS_KEPT] {
                map.remove(id);
            }
        }
    }
}

fn thread_key(channel: u64) -> String {
    format!("thread:{channel}")
}

fn member_key(channel: u64, user: u64) -> String {
    format!("member:{channel}:{user}")
}

impl Bot {
    /// The conversation `heard` continues, or `None` when the message is not for the bot.
    pub fn conversation_key(&self, heard: &Heard) -> Option<String> {
        let channels = &self.settings.channels;
        if heard.guild.is_some() && channels.is_quiet(heard.channel, heard.parent) {
            return None;
        }
        if self.thread_article(heard.channel).is_some() {
            let elsewhere = matches!(heard.reply_to, Some(ReplyTo::Someone))
                || (heard.mentions_others && !heard.mentions_me);
            return (!elsewhere).then(|| thread_key(heard.channel));
        }
        let key = match heard.reply_to {
            Some(ReplyTo::Me { answering }) => Some(
                answering
                    .and_then(|m| self.chains.get(m))
                    .unwrap_or_else(|| member_key(heard.channel, heard.user)),
            ),
            _ if heard.guild.is_none() => Some(member_key(heard.channel, heard.user)),
            _ if heard.mentions_me => Some(member_key(heard.channel, heard.user)),
            _ => None,
        };
        key.filter(|_| heard.guild.is_none() || channels.is_allowed(heard.channel, heard.parent))
    }

    /// Whether `heard`, not addressed to the bot, is a question it answers unasked: in an
    /// auto-reply channel (in a thread of one, only the thread's first message: a forum post),
    /// addressed to nobody else, and phrased as a question.
    fn auto_reply_wanted(&self, heard: &Heard) -> bool {
        let channels = &self.settings.channels;
        let here = heard.guild.is_some() && channels.auto_reply.contains(&heard.channel);
        let post = heard.guild.is_some()
            && heard.opens_thread
            && heard
                .parent
                .is_some_and(|p| channels.auto_reply.contains(&p));
        (here || post)
            && !channels.is_quiet(heard.channel, heard.parent)
            && heard.reply_to.is_none()
            && !heard.mentions_others
            && asks_something(&heard.text)
    }

    /// Answers a message that is for the bot (see [`Bot::conversation_key`]), to be sent as a
    /// reply to it; `None`: the message is not for the bot.
    pub async fn answer_message(self: &Arc<Self>, heard: &Heard) -> Option<CreateMessage> {
        let Some(key) = self.conversation_key(heard) else {
            return self.auto_reply(heard).await;
        };
        self.chains.put(heard.message, &key);
        let msg = CreateMessage::new().allowed_mentions(no_pings());
        if let Err(wait) = self.cooldown(heard.user) {
            return Some(msg.content(cooldown_text(wait)));
        }
        let asker = Asker::user(heard.user.to_string()).in_guild(heard.guild);
        let tags = self.settings.channels.tags_of(heard.channel, heard.parent);
        Some(match self.converse(&key, heard.text.clone(), asker).await {
            Ok(mut turn) => {
                let guild = heard.guild.unwrap_or(0);
                self.limit_to_tags(&mut turn, tags);
                self.demote(guild, &mut turn);
                let mut rendered = render::turn(&turn);
                if turn.intent == Intent::Ask {
                    self.put_curated_first(guild, &heard.text, tags, &mut rendered)
                        .await;
                }
                with_votes(msg.embeds(rendered.embeds()), &turn)
            }
            Err(e) => {
                tracing::error!("answering a message: {e:#}");
                msg.content(FAILED)
            }
        })
    }

    /// A question nobody asked the bot, in an auto-reply channel: answered only when the turn
    /// is a question ([`Intent::Ask`]) and its best passage scores at least
    /// `discord.auto_reply_min_score` (after the channel's tag filter); otherwise silence,
    /// and the member's conversation is left as it was. A member in their cooldown gets
    /// silence too (a notice would answer a message that was not for the bot).
    async fn auto_reply(self: &Arc<Self>, heard: &Heard) -> Option<CreateMessage> {
        if !self.auto_reply_wanted(heard) || self.cooldown(heard.user).is_err() {
            return None;
        }
        let key = member_key(heard.channel, heard.user);
        let asker = Asker::user(heard.user.to_string()).in_guild(heard.guild);
        let at = now();
        let (mut turn, state) = self
            .service
            .converse(self.state(&key), heard.text.clone(), at, Some(asker))
            .await
            .map_err(|e| tracing::error!("answering a message unasked: {e:#}"))
            .ok()?;
        let tags = self.settings.channels.tags_of(heard.channel, heard.parent);
        let guild = heard.guild.unwrap_or(0);
        self.limit_to_tags(&mut turn, tags);
        self.demote(guild, &mut turn);
        let best = match (&turn.intent, &turn.response) {
            (Intent::Ask, Response::Answer(Answer::Ask(a))) => {
                a.results.first().map_or(0.0, |r| r.score)
            }
            _ => return None,
        };
        let mut rendered = render::turn(&turn);
        // A question the moderators pinned an answer to is answered however weak the
        // engine's own match: that is what the pin is for.
        let pinned = self
            .put_curated_first(guild, &heard.text, tags, &mut rendered)
            .await;
        if !pinned && best < self.settings.channels.auto_reply_min_score {
            tracing::debug!(best, "an unasked question left alone: a weak match");
            return None;
        }
        self.conversations.put(&key, state, at);
        self.chains.put(heard.message, &key);
        let msg = CreateMessage::new()
            .allowed_mentions(no_pings())
            .embeds(rendered.embeds());
        Some(with_votes(msg, &turn))
    }

    /// Keeps only the passages and suggestions of articles with one of `tags` in an answer to
    /// a question (a channel's `discord.channel_tags`); no tags: the turn as it is.
    pub(super) fn limit_to_tags(&self, turn: &mut conversation::Turn, tags: &[String]) {
        if let Response::Answer(answer) = &mut turn.response {
            tags::limit(&self.service.engine().library(), answer, tags);
        }
    }

    /// Keeps the `/discuss` threads' conversations in `path` (JSON), so that a restarted bot
    /// goes on where each thread was. Loads what the file already holds.
    pub fn keep_conversations_in(&self, path: PathBuf) {
        self.conversations.keep_in(path);
    }

    /// A `/discuss` thread was opened on `slug`: remember it and start its conversation.
    pub(super) fn open_discussion(&self, thread: u64, slug: String) {
        let state = State::discussing(&slug);
        self.remember_thread(thread, slug);
        self.conversations.put(&thread_key(thread), state, now());
    }

    /// The conversation under `key` as it stands (a thread's starts on its article).
    fn state(&self, key: &str) -> State {
        if let Some(state) = self.conversations.get(key) {
            return state;
        }
        key.strip_prefix("thread:")
            .and_then(|id| id.parse().ok())
            .and_then(|id| self.thread_article(id))
            .map(|slug| State::discussing(&slug))
            .unwrap_or_default()
    }

    /// One turn of conversation `key`: `text` answered, the new state kept.
    async fn converse(
        &self,
        key: &str,
        text: String,
        asker: Asker,
    ) -> anyhow::Result<conversation::Turn> {
        let at = now();
        let (turn, state) = self
            .service
            .converse(self.state(key), text, at, Some(asker))
            .await?;
        self.conversations.put(key, state, at);
        Ok(turn)
    }
}

/// `msg` with the vote buttons of the turn's answer, when it answered a question.
fn with_votes(msg: CreateMessage, turn: &conversation::Turn) -> CreateMessage {
    let mut rows = Vec::new();
    add_vote_buttons(&mut rows, asked(turn));
    if rows.is_empty() {
        msg
    } else {
        msg.components(rows)
    }
}

/// Words that open a question ("how do I…", "is there…", "anyone know…").
const QUESTION_OPENERS: &[&str] = &[
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "is", "are", "was",
    "were", "do", "does", "did", "can", "could", "should", "would", "will", "may", "might", "has",
    "have", "anyone", "anybody", "any",
];

/// Whether a message is phrased as a question: it has a question mark, or it opens with a
/// question word. What it asks about is the conversation layer's business; this only keeps
/// statements and chatter ("I love this channel") from being answered unasked.
pub(super) fn asks_something(text: &str) -> bool {
    let text = text.trim();
    if text.contains('?') {
        return true;
    }
    let first = text
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .find(|w| !w.is_empty())
        .unwrap_or("")
        .to_lowercase();
    let first = first.split('\'').next().unwrap_or("");
    QUESTION_OPENERS.contains(&first)
}

/// Where a slash command was run: its channel and, for a thread, the thread's channel.
#[derive(Debug, Clone, Copy)]
pub(super) struct Where {
    pub(super) channel: u64,
    pub(super) parent: Option<u64>,
}

/// `/ask` with a question and no article: a turn of the member's conversation in the channel,
/// rendered with the same buttons as any answer (the channel's tags and a curated answer
/// applied); with `point`, posted for that member (see `deferred::pointed`).
pub(super) async fn ask(
    bot: &Arc<Bot>,
    user: u64,
    asker: Asker,
    at: Where,
    question: String,
    ephemeral: bool,
    point: Option<u64>,
) -> Reply {
    let Where { channel, parent } = at;
    let guild = asker.guild.unwrap_or(0);
    let public = !ephemeral || point.is_some();
    let work = {
        let bot = bot.clone();
        async move {
            let mut turn = bot
                .converse(&member_key(channel, user), question.clone(), asker)
                .await
                .map_err(|e| tracing::error!("answering /ask: {e:#}"))
                .ok()?;
            let parent = parent.or_else(|| bot.thread_parent(channel));
            let tags = bot.settings.channels.tags_of(channel, parent);
            bot.limit_to_tags(&mut turn, tags);
            bot.demote(guild, &mut turn);
            let mut rendered = render::turn(&turn);
            let pinned = turn.intent == Intent::Ask
                && bot
                    .put_curated_first(guild, &question, tags, &mut rendered)
                    .await;
            let keep = match (&turn.command, &turn.response) {
                // A command run again would not know the channel's tags or the pin: those
                // answers keep what was rendered.
                (Some(command), Response::Answer(answer))
                    if turn.intent != Intent::More && tags.is_empty() && !pinned =>
                {
                    bot.button_state
                        .keep(command.clone(), user, &rendered, answer)
                }
                // Made by the conversation layer, not by a command that could run again: the
                // buttons keep what was rendered (a post shows it as it is).
                _ => Keep::Stored(bot.button_state.store(Stored {
                    command: Command::Ask {
                        question,
                        scope: Scope::Collection,
                    },
                    asker: user,
                    rendered: rendered.clone(),
                    paging: None,
                })),
            };
            let paging = match &turn.response {
                Response::Answer(answer) => paging(answer),
                _ => None,
            };
            let mut buttons = buttons(&keep, user, paging, public);
            add_vote_buttons(&mut buttons, asked(&turn));
            Some((rendered, buttons))
        }
    };
    if let Some(member) = point {
        return pointed(bot, work, member).await;
    }
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

/// The section buttons under a `/discuss` thread's opening post: one per section from
/// position `from` of `sections` (as [`conversation::sections`] lists them), at most 25; when
/// more are left, the last button offers them.
pub(super) fn section_rows(
    slug: &str,
    sections: &[(usize, String)],
    from: usize,
) -> Vec<CreateActionRow> {
    let rest = sections.get(from..).unwrap_or_default();
    let shown = if rest.len() > BUTTONS_MAX {
        BUTTONS_MAX - 1
    } else {
        rest.len()
    };
    let slug = Some(slug.to_string());
    let mut all: Vec<CreateButton> = rest[..shown]
        .iter()
        .map(|(section, heading)| {
            let id = SectionButton::Show {
                section: *section,
                slug: slug.clone(),
            };
            CreateButton::new(id.custom_id())
                .label(render::cut_plain(heading, LABEL_MAX))
                .style(ButtonStyle::Secondary)
        })
        .collect();
    if shown < rest.len() {
        let id = SectionButton::More {
            from: from + shown,
            slug,
        };
        all.push(
            CreateButton::new(id.custom_id())
                .label(format!("More sections ({})", rest.len() - shown))
                .style(ButtonStyle::Primary),
        );
    }
    all.chunks(5)
        .map(|row| CreateActionRow::Buttons(row.to_vec()))
        .collect()
}

/// A section button of a `/discuss` thread: the section's best passage, posted in the thread
/// as a turn of its conversation; or, for *More sections*, the next sections' buttons (only to
/// the member who asked).
pub(super) async fn press_section(
    bot: &Arc<Bot>,
    ci: &ComponentInteraction,
    button: SectionButton,
) -> Reply {
    let channel = ci.channel_id.get();
    let key = thread_key(channel);
    let slug = button
        .slug()
        .map(str::to_string)
        .or_else(|| bot.state(&key).home);
    let Some(slug) = slug else {
        return ephemeral("I no longer know which article this thread discusses. Start a new one with `/discuss`.");
    };
    match button {
        SectionButton::More { from, .. } => {
            let lib = bot.service.engine().library();
            let sections = conversation::sections(&lib, &slug);
            let rows = section_rows(&slug, &sections, from);
            if rows.is_empty() {
                return ephemeral("No more sections.");
            }
            Reply::Now(CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new()
                    .content("More sections:")
                    .components(rows)
                    .ephemeral(true)
                    .allowed_mentions(no_pings()),
            ))
        }
        SectionButton::Show { section, .. } => {
            if let Err(wait) = bot.cooldown(ci.user.id.get()) {
                return ephemeral(&cooldown_text(wait));
            }
            let work = {
                let bot = bot.clone();
                async move {
                    let at = now();
                    let (turn, state) = bot
                        .service
                        .section(bot.state(&key), slug, section, at)
                        .await
                        .map_err(|e| tracing::error!("showing a section: {e:#}"))
                        .ok()?;
                    bot.conversations.put(&key, state, at);
                    Some((render::turn(&turn), Vec::new()))
                }
            };
            let now = |made: Made| match made {
                Some((rendered, _)) => {
                    CreateInteractionResponse::Message(rendered.message().ephemeral(false))
                }
                None => failed_message(),
            };
            let ack = CreateInteractionResponse::Defer(
                CreateInteractionResponseMessage::new().ephemeral(false),
            );
            within_window(bot, work, now, ack).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::asks_something;

    #[test]
    fn questions_are_told_from_statements() {
        for q in [
            "how long does compost take",
            "Is there a guide to sleep",
            "anyone know about pegs",
            "compost time?",
            "What's a peg",
            "  > can I ride at night",
        ] {
            assert!(asks_something(q), "{q}");
        }
        for s in [
            "compost is great",
            "thanks all",
            "I love this channel",
            "",
            "howdy folks",
            "whatever",
        ] {
            assert!(!asks_something(s), "{s}");
        }
    }
}
