//! The gateway bot end to end against a local Discord ([`fake`]): the real serenity client,
//! started through the same `gateway::run` that `articlebot serve` uses.

pub mod fake;

mod announce;
mod buttons;
mod checks;
mod commands;
mod connection;
mod conversation;
mod curating;
mod messages;
mod pointing;
mod speaking;
mod voting;

use std::time::Duration;

use articlebot::config::Settings;
use articlebot::discord::gateway::{self, Connection};
use articlebot::discord::interactions::Bot;
use articlebot::library::{Library, NoProgress, OpenMode};
use articlebot::service::Service;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::util::Fixture;
use fake::{Fake, Msg};

pub const MOD_ROLE: u64 = 700_000_000_000_000_001;
/// Discord's MANAGE_GUILD permission bit.
pub const MANAGE_GUILD: u64 = 1 << 5;
/// What an ordinary member has: view channel, send messages, use application commands...
pub const EVERYONE: u64 = (1 << 10) | (1 << 11) | (1 << 31);

pub fn ann() -> Value {
    fake::member(111, "ann", &[], EVERYONE)
}
pub fn bob() -> Value {
    fake::member(222, "bob", &[], EVERYONE)
}
/// A moderator by role.
pub fn mia() -> Value {
    fake::member(333, "mia", &[MOD_ROLE], EVERYONE)
}
/// A moderator by the Manage Server permission.
pub fn sam() -> Value {
    fake::member(444, "sam", &[], EVERYONE | MANAGE_GUILD)
}

/// An article whose text tries to ping everyone.
pub const PING_ARTICLE: &str = "+++\ntitle = \"Server Announcements\"\n+++\n\n\
    Announcements go out to @everyone and @here at noon, signed by <@123456789012345678> \
    for the <@&234567890123456789> role in <#345678901234567890>. Use *stars* and _lines_ freely.\n";

/// A bot running against a local Discord.
pub struct Rig {
    pub fake: Fake,
    pub f: Fixture,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

pub struct Options {
    pub defer_after: Duration,
    pub tune: Box<dyn FnOnce(&mut Settings)>,
    pub fixture: Option<Fixture>,
    pub refuse_message_content: bool,
    /// The bot's state folder (default: `state/` in the fixture).
    pub state_dir: Option<std::path::PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            defer_after: articlebot::discord::interactions::DEFER_AFTER,
            tune: Box::new(|_| {}),
            fixture: None,
            refuse_message_content: false,
            state_dir: None,
        }
    }
}

pub fn standard_fixture() -> Fixture {
    let f = Fixture::standard();
    f.write("announcements.md", PING_ARTICLE);
    f
}

/// Starts the bot with the standard content (plus [`PING_ARTICLE`]), no cooldown, guild
/// commands, a moderator role, and the fake's guild as the operator's.
pub async fn rig() -> Rig {
    rig_with(Options::default()).await
}

pub async fn rig_with(opts: Options) -> Rig {
    let f = opts.fixture.unwrap_or_else(standard_fixture);
    let mut s = f.settings();
    s.discord.cooldown = Duration::ZERO;
    s.discord.guild_ids = vec![fake::GUILD_ID];
    s.discord.moderator_role_ids = vec![MOD_ROLE];
    s.discord.operator_guild_ids = vec![fake::GUILD_ID];
    (opts.tune)(&mut s);
    let library = Library::open(&s, OpenMode::Reuse, &NoProgress).expect("library");
    let service = Service::new(s, library).expect("service");
    let bot = Bot::with_defer_after(service, opts.defer_after);
    let fake = Fake::start().await;
    if opts.refuse_message_content {
        fake.refuse_message_content();
    }
    let (stop, stopped) = oneshot::channel::<()>();
    let connection = Connection {
        token: fake::BOT_TOKEN.into(),
        rest_base: Some(fake.rest_url.clone()),
        state_dir: Some(opts.state_dir.unwrap_or_else(|| f.dir.path().join("state"))),
    };
    let task = tokio::spawn(gateway::run(bot, connection, async move {
        let _ = stopped.await;
    }));
    fake.wait("IDENTIFY", |r| (!r.identifies.is_empty()).then_some(()))
        .await;
    Rig {
        fake,
        f,
        stop: Some(stop),
        task: Some(task),
    }
}

/// What the user ends up seeing for an interaction.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The callback type of the first response.
    pub kind: u64,
    /// The visible message (after the edit, for a deferred response).
    pub body: Value,
    /// The message's id, where the response made or changed one.
    pub message: Option<Msg>,
}

impl Seen {
    pub fn ephemeral(&self) -> bool {
        self.body["flags"].as_u64().is_some_and(|f| f & 64 != 0)
    }
    pub fn content(&self) -> &str {
        self.body["content"].as_str().unwrap_or("")
    }
    pub fn embed(&self, i: usize) -> &Value {
        &self.body["embeds"][i]
    }
    /// Every text of the message (content, titles, descriptions, fields, footers).
    pub fn text(&self) -> String {
        let mut out = self.content().to_string();
        for e in self.body["embeds"].as_array().into_iter().flatten() {
            for k in ["title", "description"] {
                out.push('\n');
                out.push_str(e[k].as_str().unwrap_or(""));
            }
            for fd in e["fields"].as_array().into_iter().flatten() {
                out.push('\n');
                out.push_str(fd["name"].as_str().unwrap_or(""));
                out.push('\n');
                out.push_str(fd["value"].as_str().unwrap_or(""));
            }
            out.push('\n');
            out.push_str(e["footer"]["text"].as_str().unwrap_or(""));
        }
        out
    }
    /// Buttons as (label, custom id, disabled).
    pub fn buttons(&self) -> Vec<(String, String, bool)> {
        self.body["components"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
            .map(|b| {
                (
                    b["label"].as_str().unwrap_or("").to_string(),
                    b["custom_id"].as_str().unwrap_or("").to_string(),
                    b["disabled"].as_bool().unwrap_or(false),
                )
            })
            .collect()
    }
    pub fn button(&self, label: &str) -> String {
        self.buttons()
            .into_iter()
            .find(|b| b.0 == label)
            .unwrap_or_else(|| panic!("no {label:?} button in {:?}", self.buttons()))
            .1
    }
}

impl Rig {
    /// Sends a slash command from `member` and returns what they see.
    pub async fn slash(&self, member: &Value, name: &str, options: &[(&str, &str)]) -> Seen {
        let payload = fake::command(&self.fake, member, name, options);
        self.send(payload).await
    }

    /// Presses `custom_id` on `message` as `member`.
    pub async fn press(&self, member: &Value, message: &Msg, custom_id: &str) -> Seen {
        let payload = fake::button(&self.fake, member, message, custom_id);
        self.send(payload).await
    }

    pub async fn send(&self, payload: Value) -> Seen {
        fake::assert_serenity_accepts::<serenity::all::Interaction>(&payload);
        let id = self.fake.interact(payload);
        self.seen(id).await
    }

    /// Waits for the outcome of interaction `id`.
    pub async fn seen(&self, id: u64) -> Seen {
        let (kind, data) = self
            .fake
            .wait("the first response", |r| {
                r.sent
                    .iter()
                    .find(|s| s.id == id)
                    .and_then(|s| s.callback.clone())
            })
            .await;
        match kind {
            5 => {
                let msg = self
                    .fake
                    .wait("the deferred answer", |r| {
                        let s = r.sent.iter().find(|s| s.id == id)?;
                        let m = r.messages.iter().find(|m| Some(m.id) == s.original)?;
                        let b = &m.body;
                        let filled = b["content"].as_str().is_some_and(|c| !c.is_empty())
                            || b["embeds"].as_array().is_some_and(|e| !e.is_empty());
                        filled.then(|| m.clone())
                    })
                    .await;
                Seen {
                    kind,
                    body: msg.body.clone(),
                    message: Some(msg),
                }
            }
            4 | 7 => {
                let msg = self.fake.record(|r| {
                    let s = r.sent.iter().find(|s| s.id == id)?;
                    let target = if kind == 4 { s.original } else { s.message_id };
                    r.messages.iter().find(|m| Some(m.id) == target).cloned()
                });
                Seen {
                    kind,
                    body: msg.as_ref().map_or(data, |m| m.body.clone()),
                    message: msg,
                }
            }
            _ => Seen {
                kind,
                body: data,
                message: None,
            },
        }
    }

    /// Stops the bot as Ctrl-C would, checks it stopped cleanly and that no Discord rule was
    /// broken.
    pub async fn stop(mut self) -> Fake {
        let _ = self.stop.take().unwrap().send(());
        let result = tokio::time::timeout(Duration::from_secs(20), self.task.take().unwrap())
            .await
            .expect("the bot stops")
            .expect("the bot task");
        result.expect("the bot stops without an error");
        self.fake.assert_clean();
        self.fake.clone()
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}
