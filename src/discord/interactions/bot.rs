//! The bot's shared state: the service, the Discord settings, per-user cooldowns, the
//! moderator check, button state, `/discuss` threads, the conversations (answered in
//! `talk`) and the curated answers (`curating`); on the shared store when `[state] url` is
//! set (see `shared`), else this instance's own.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serenity::model::guild::Member;
use serenity::model::Permissions;

use super::keep::ButtonState;
use super::shared::{Parts, Shared};
use super::talk::Chains;
use super::threads::Threads;
use crate::config::DiscordSettings;
use crate::conversation::Conversations;
use crate::curate::Curation;
use crate::feedback::Feedback;
use crate::service::Service;
use crate::state::memory::{MemoryButtons, MemoryCooldowns};
use crate::state::CooldownStore;

/// How long the bot waits for an answer before it defers: Discord's window is 3 s, and the
/// response still has to travel.
pub const DEFER_AFTER: Duration = Duration::from_millis(2000);

/// The bot's shared state: the service and what the Discord side remembers.
pub struct Bot {
    pub(super) service: Arc<Service>,
    pub(super) settings: DiscordSettings,
    pub(super) defer_after: Duration,
    /// When each user last asked something (scope `ask`) or posted an answer to the channel
    /// (scope `post`: its own cooldown, so that an answer can be posted right after it was
    /// asked for, but posts cannot flood a channel): this instance's, and the shared
    /// store's when there is one (this one's then stands in while the database is away).
    cooldowns: MemoryCooldowns,
    /// The shared store (`[state] url`), when instances share their state.
    pub(super) shared: Option<Shared>,
    /// Button state that does not fit in custom ids: this instance's memory, or the shared
    /// store's.
    pub(super) button_state: ButtonState,
    /// Threads opened by `/discuss`.
    pub(super) threads: Threads,
    /// The conversations of mentions, reply chains and `/discuss` threads (see `talk`).
    pub(super) conversations: Conversations,
    /// The bot's own messages → the conversation each continues (reply chains).
    pub(super) chains: Chains,
    /// Curated answers, per guild (`/curate`).
    pub(super) curation: Arc<Curation>,
    /// Votes on answers and the demotions they make.
    pub(super) feedback: Arc<Feedback>,
}

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
        let curate = &service.settings().curate;
        let (min_voters, keep) = (
            service.settings().feedback_min_voters,
            service.settings().stats.keep_questions,
        );
        let shared = service.settings().state.url.as_deref().and_then(|url| {
            Shared::open(url, service.state_health_handle())
                .map_err(|e| tracing::error!("the Discord state kept by this instance only: {e:#}"))
                .ok()
        });
        let button_state = ButtonState::new(
            match &shared {
                Some(shared) => Box::new(shared.buttons()),
                None => Box::new(MemoryButtons::default()),
            },
            settings.button_timeout,
        );
        let (curation, feedback) = match &shared {
            // Read when the shared store first answers (see `shared`), not now: a database
            // away at start delays them, not the bot.
            Some(shared) => (
                Curation::unread(Box::new(shared.store.clone()), curate.min_similarity),
                Feedback::unread(Box::new(shared.store.clone()), min_voters, keep),
            ),
            None => {
                let curation = Curation::open(curate.db.as_deref(), curate.min_similarity)
                    .unwrap_or_else(|e| {
                        // The bot still answers; pins made now last until the process ends.
                        tracing::error!("curated answers kept in memory only: {e:#}");
                        Curation::open(None, curate.min_similarity).expect("an in-memory database")
                    });
                // Votes share the curated answers' file (made private by it).
                let feedback = Feedback::open(curate.db.as_deref(), min_voters, keep)
                    .unwrap_or_else(|e| {
                        tracing::error!("votes kept in memory only: {e:#}");
                        Feedback::open(None, min_voters, keep).expect("an in-memory database")
                    });
                (curation, feedback)
            }
        };
        let bot = Arc::new(Bot {
            curation: Arc::new(curation),
            feedback: Arc::new(feedback),
            conversations: Conversations::new(service.settings().conversation.clone()),
            service,
            settings,
            defer_after,
            cooldowns: MemoryCooldowns::default(),
            shared,
            button_state,
            threads: Threads::default(),
            chains: Chains::default(),
        });
        if let Some(shared) = &bot.shared {
            if let Err(e) = shared.connect(&bot, Bot::copies) {
                tracing::error!("cannot follow the other instances' state: {e:#}");
            }
        }
        bot
    }

    /// The copies of the shared state this bot keeps (see `shared`).
    fn copies(&self) -> Parts<'_> {
        Parts {
            curation: &self.curation,
            feedback: &self.feedback,
            threads: &self.threads,
            conversations: &self.conversations,
        }
    }

    /// The curated answers (`/curate`), shared with whoever reports on them.
    pub fn curation(&self) -> &Arc<Curation> {
        &self.curation
    }

    pub fn service(&self) -> &Arc<Service> {
        &self.service
    }

    pub fn settings(&self) -> &DiscordSettings {
        &self.settings
    }

    /// Starts `user`'s cooldown, or returns how long they still have to wait.
    pub fn cooldown(&self, user: u64) -> Result<(), Duration> {
        self.start_cooldown("ask", user)
    }

    /// Starts `user`'s cooldown for *Post to channel* (as long as the questions' one, kept
    /// apart from it), or returns how long they still have to wait.
    pub fn post_cooldown(&self, user: u64) -> Result<(), Duration> {
        self.start_cooldown("post", user)
    }

    /// With a shared store, the cooldown is started there (one statement, so a member
    /// cannot ask two instances at once); this blocks the caller a bounded time
    /// ([`crate::state::postgres::ON_ANSWER_PATIENCE`]; a loopback round trip is well under
    /// a millisecond, and the async worker is handed back meanwhile), after which this
    /// instance's memory decides.
    fn start_cooldown(&self, scope: &str, user: u64) -> Result<(), Duration> {
        let length = self.settings.cooldown;
        if length.is_zero() {
            return Ok(());
        }
        let shared = self.shared.as_ref();
        let started = shared.and_then(|shared| shared.cooldown(scope, user, length).ok());
        let started = started.unwrap_or_else(|| {
            self.cooldowns
                .start_cooldown(scope, user, length)
                .unwrap_or_default()
        });
        match started {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Whether a guild member is a moderator of the guild the interaction came from (the
    /// member object is that guild's): a role from `moderator_role_ids` or the Manage Server
    /// permission. Outside a guild, nobody. Being one is not enough for the commands that act
    /// on the whole bot: see `moderation` for where each command may run.
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
        self.threads.article(channel)
    }

    /// Remembers `/discuss` threads in `path` (JSON), so that a restarted bot still answers
    /// in them from their article. Loads what the file already holds.
    pub fn keep_threads_in(&self, path: PathBuf) {
        self.threads.keep_in(path);
    }

    pub fn remember_thread(&self, channel: u64, slug: String) {
        self.threads.remember(channel, slug);
    }

    /// The channel a thread belongs to, when the bot saw the thread made (see
    /// [`Bot::thread_made`]).
    pub fn thread_parent(&self, thread: u64) -> Option<u64> {
        self.threads.parent(thread)
    }

    /// A thread was made in `parent` (a forum post, a thread off a message): the channel rules
    /// of `parent` apply in it.
    pub fn thread_made(&self, thread: u64, parent: u64) {
        self.threads.remember_parent(thread, parent);
    }
}

#[cfg(test)]
mod tests {
    use super::super::notices::cooldown_text;
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
