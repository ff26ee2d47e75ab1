//! The Discord side's state on the shared store (`[state] url`): curated answers, votes,
//! `/discuss` threads and their conversations, cooldowns and button state, in PostgreSQL for
//! every instance pointed at it. Each instance keeps its copies in memory (answering never
//! waits for the database) and follows the others' writes
//! ([`crate::state::postgres::watch`]); thread and conversation writes go through a
//! [`Writer`] (queued, retried, dropped with a warning when the queue is full); a cooldown is
//! one statement and button state one row, waited for a bounded time, this instance's memory
//! standing in while the database is away.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::threads::Threads;
use crate::conversation::Conversations;
use crate::curate::Curation;
use crate::feedback::Feedback;
use crate::state::memory::MemoryButtons;
use crate::state::postgres::{watch, Change, PgStore};
use crate::state::{
    ButtonStore, ConversationStore, CooldownStore, Health, KeptButtons, ThreadStore, Writer,
};

/// The handles on the shared store a bot holds.
pub(super) struct Shared {
    url: String,
    /// Curated answers, votes, threads and conversations (one connection).
    pub(super) store: PgStore,
    /// Cooldowns and button state, on a connection of their own: they are on answers' path
    /// and must not wait behind the queued writes.
    on_answer: PgStore,
    writer: Arc<Writer>,
    pub(super) health: Arc<Health>,
}

impl Shared {
    /// Handles on the database at `url` (nothing is connected yet), reporting to `health`.
    pub(super) fn open(url: &str, health: Arc<Health>) -> anyhow::Result<Shared> {
        let store = PgStore::open(url)?;
        let writer = Arc::new(Writer::new(Arc::new(store.clone()), health.clone()));
        Ok(Shared {
            url: url.to_string(),
            on_answer: PgStore::open(url)?,
            store,
            writer,
            health,
        })
    }

    /// Starts `user`'s cooldown in `scope`: `Ok(Some(wait))` while one runs, `Err` when the
    /// database did not answer in time (the caller falls back on its own memory).
    pub(super) fn cooldown(
        &self,
        scope: &str,
        user: u64,
        length: Duration,
    ) -> anyhow::Result<Option<Duration>> {
        on_answer(&self.health, "cooldowns", || {
            self.on_answer.start_cooldown(scope, user, length)
        })
    }

    /// The button state of every instance, with this one's memory standing in while the
    /// database is away.
    pub(super) fn buttons(&self) -> SharedButtons {
        SharedButtons {
            on_answer: self.on_answer.clone(),
            store: self.store.clone(),
            writer: self.writer.clone(),
            health: self.health.clone(),
            local: MemoryButtons::default(),
            queued: Default::default(),
        }
    }

    /// Sends `owner`'s thread and conversation writes to the store, and follows the other
    /// instances' changes for as long as `owner` (the bot) lives; `parts` finds its copies.
    pub(super) fn connect<T: Send + Sync + 'static>(
        &self,
        owner: &Arc<T>,
        parts: fn(&T) -> Parts<'_>,
    ) -> anyhow::Result<()> {
        let mine = parts(owner.as_ref());
        {
            let (store, writer) = (self.store.clone(), self.writer.clone());
            mine.threads.share_through(move |thread, slug| {
                let (store, slug) = (store.clone(), slug.to_string());
                writer.run(move || store.remember_thread(thread, &slug));
            });
        }
        {
            let (store, writer) = (self.store.clone(), self.writer.clone());
            mine.conversations.share_through(move |key, json, at| {
                let (store, key, json) = (store.clone(), key.to_string(), json.to_string());
                writer.run(move || store.save_conversation(&key, &json, at));
            });
        }
        let weak: Weak<T> = Arc::downgrade(owner);
        let store = self.store.clone();
        watch(&self.url, self.store.origin().to_string(), move |change| {
            let Some(owner) = weak.upgrade() else {
                return false;
            };
            if let Some(change) = change {
                apply(&store, parts(owner.as_ref()), change);
            }
            true
        })
    }
}

/// Runs `call` (a statement on an answer's path, waiting at most
/// [`crate::state::postgres::ON_ANSWER_PATIENCE`]) and records its outcome in `health`; the
/// first failure after a success is logged, naming `what` falls back on this instance's
/// memory. The callers are the adapters' async handlers: on a multi-threaded runtime the
/// worker is handed back to the other tasks while the statement waits, instead of stalling
/// them with it.
fn on_answer<T>(
    health: &Health,
    what: &str,
    call: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let was_up = health.up();
    let multi_threaded = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    let result = if multi_threaded {
        tokio::task::block_in_place(call)
    } else {
        call()
    };
    health.record(&result);
    if let Err(e) = &result {
        if was_up {
            tracing::warn!(
                "{what} fall back on this instance's memory while PostgreSQL is away: {e:#}"
            );
        }
    }
    result
}

/// Button state on the shared store, so that a button made by one instance works when
/// pressed on another; this instance's memory keeps a copy of what it made, read when the
/// database does not answer (or does not have it yet: a write that failed is queued and
/// retried). Answers never fail for want of the database: a button whose state only the
/// database holds says it expired while the database is away.
pub(super) struct SharedButtons {
    on_answer: PgStore,
    /// For the retries, through the writer (which waits as long as it needs).
    store: PgStore,
    writer: Arc<Writer>,
    health: Arc<Health>,
    local: MemoryButtons,
    /// Ids with writes waiting in the writer's queue, and how many: a later write of the same
    /// id follows them through the queue, so that an older page never lands after a newer one.
    queued: Arc<Mutex<HashMap<u64, usize>>>,
}

impl SharedButtons {
    /// Sends `write` (of button state `id`) through the writer, retried until it succeeds.
    fn queue(&self, id: u64, write: impl Fn(&PgStore) -> anyhow::Result<()> + Send + 'static) {
        *lock(&self.queued).entry(id).or_default() += 1;
        let (store, queued) = (self.store.clone(), self.queued.clone());
        self.writer.run(move || {
            write(&store)?;
            let mut queued = lock(&queued);
            if let Some(n) = queued.get_mut(&id) {
                *n -= 1;
                if *n == 0 {
                    queued.remove(&id);
                }
            }
            Ok(())
        });
    }

    fn has_queued(&self, id: u64) -> bool {
        lock(&self.queued).contains_key(&id)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ButtonStore for SharedButtons {
    fn keep_buttons(
        &self,
        id: u64,
        asker: u64,
        state: &str,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        self.local.keep_buttons(id, asker, state, timeout)?;
        let kept = on_answer(&self.health, "button state", || {
            self.on_answer.keep_buttons(id, asker, state, timeout)
        });
        if kept.is_err() {
            // Made once the database is back (it then lives from that moment), unless the
            // first try committed after all; not at all once it would have expired.
            let (state, made) = (state.to_string(), std::time::Instant::now());
            self.queue(id, move |store| {
                if made.elapsed() >= timeout {
                    return Ok(());
                }
                store.keep_buttons_unless_kept(id, asker, &state)
            });
        }
        Ok(())
    }

    fn replace_buttons(&self, id: u64, state: &str, timeout: Duration) -> anyhow::Result<bool> {
        let here = self.local.replace_buttons(id, state, timeout)?;
        let queue = |state: &str| {
            let state = state.to_string();
            self.queue(id, move |store| {
                store.replace_buttons(id, &state, timeout).map(|_| ())
            });
        };
        if self.has_queued(id) {
            // Earlier writes of this state wait in the queue: the new page follows them.
            queue(state);
            return Ok(here);
        }
        let shared = on_answer(&self.health, "button state", || {
            self.on_answer.replace_buttons(id, state, timeout)
        });
        match shared {
            // The database lacks what this instance kept (its first write may still be on
            // its way): the new page follows it through the queue.
            Ok(false) if here => {
                queue(state);
                Ok(true)
            }
            Ok(there) => Ok(here || there),
            Err(_) => {
                queue(state);
                Ok(here)
            }
        }
    }

    /// The database's state first (another instance may have turned the page since), this
    /// instance's when the database does not answer or lacks it.
    fn buttons(&self, id: u64, timeout: Duration) -> anyhow::Result<Option<KeptButtons>> {
        let shared = on_answer(&self.health, "button state", || {
            self.on_answer.buttons(id, timeout)
        });
        match shared {
            Ok(Some(kept)) => Ok(Some(kept)),
            Ok(None) | Err(_) => self.local.buttons(id, timeout),
        }
    }
}

/// The bot's copies of the shared state.
pub(super) struct Parts<'a> {
    pub(super) curation: &'a Curation,
    pub(super) feedback: &'a Feedback,
    pub(super) threads: &'a Threads,
    pub(super) conversations: &'a Conversations,
}

/// Brings the bot's copies up to date with a change another instance made (on the watch's
/// thread: these calls block). A failure leaves the copy as it was, with a warning; the next
/// reconnection reads everything again.
fn apply(store: &PgStore, parts: Parts<'_>, change: Change) {
    let result = match change {
        Change::Connected => read_everything(store, &parts),
        Change::Curated => parts.curation.refresh(),
        Change::Votes(guild) => parts.feedback.refresh(guild),
        Change::Thread(thread) => store.thread(thread).map(|slug| {
            if let Some(slug) = slug {
                parts.threads.absorb(thread, slug);
            }
        }),
        Change::Conversation(key) => store.conversation(&key).map(|json| {
            if let Some(json) = json {
                parts.conversations.absorb(&key, &json);
            }
        }),
    };
    if let Err(e) = result {
        tracing::warn!("cannot follow another instance's change to the shared state: {e:#}");
    }
}

/// Every copy read again: the watch (re)connected, and what was announced meanwhile is lost.
fn read_everything(store: &PgStore, parts: &Parts<'_>) -> anyhow::Result<()> {
    parts.curation.refresh()?;
    parts.feedback.refresh_all()?;
    for (thread, slug) in store.threads()? {
        parts.threads.absorb(thread, slug);
    }
    let idle = parts.conversations.settings().idle_seconds;
    let now = crate::state::unix_now();
    for (key, json) in store.conversations(now.saturating_sub(idle))? {
        parts.conversations.absorb(&key, &json);
    }
    Ok(())
}
