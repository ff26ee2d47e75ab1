//! The threads `/discuss` opened, each with the article it is about, so that questions asked
//! in one answer from that article first. Optionally kept in a JSON file across restarts.
//! Also the channel each thread the bot saw being made belongs to (a forum post's forum), so
//! that the channel rules (`discord.channels` and the rest) apply to its threads. With a
//! shared store, each thread opened is also sent there and the others' come back
//! ([`Threads::absorb`]), so every instance knows every thread.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// Threads remembered at most (the oldest ids are forgotten first).
const THREADS_KEPT: usize = 10_000;

/// Thread (channel) id → article slug, and where the map is saved, if anywhere.
#[derive(Default)]
pub(super) struct Threads {
    threads: Mutex<HashMap<u64, String>>,
    file: Mutex<Option<PathBuf>>,
    /// Thread id → its parent channel (memory only: after a restart, threads made before it
    /// count as channels of their own until they are seen again).
    parents: Mutex<HashMap<u64, u64>>,
    /// Where each thread opened is also sent (a queue to the shared store), if anywhere.
    shared: OnceLock<Box<Sink>>,
}

/// Takes a thread opened and its article's slug; must not block.
type Sink = dyn Fn(u64, &str) + Send + Sync;

impl Threads {
    /// The channel thread `channel` belongs to, when the bot saw it made.
    pub(super) fn parent(&self, channel: u64) -> Option<u64> {
        self.parents.lock().unwrap().get(&channel).copied()
    }

    /// Remembers that `thread` belongs to `parent` (the oldest forgotten past the bound).
    pub(super) fn remember_parent(&self, thread: u64, parent: u64) {
        let mut parents = self.parents.lock().unwrap();
        parents.insert(thread, parent);
        if parents.len() > THREADS_KEPT {
            if let Some(&oldest) = parents.keys().min() {
                parents.remove(&oldest);
            }
        }
    }

    /// The article a `/discuss` thread is about.
    pub(super) fn article(&self, channel: u64) -> Option<String> {
        self.threads.lock().unwrap().get(&channel).cloned()
    }

    /// Saves the map in `path` (JSON) from now on, after loading what the file already holds.
    pub(super) fn keep_in(&self, path: PathBuf) {
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
        *self.file.lock().unwrap() = Some(path);
    }

    /// Sends each thread opened from now on to `sink` (must not block).
    pub(super) fn share_through(&self, sink: impl Fn(u64, &str) + Send + Sync + 'static) {
        let _ = self.shared.set(Box::new(sink));
    }

    /// A thread another instance opened (already in the shared store): kept in memory.
    pub(super) fn absorb(&self, channel: u64, slug: String) {
        self.threads.lock().unwrap().insert(channel, slug);
    }

    /// Remembers that `channel` discusses `slug`, and saves the map when it is kept in a file
    /// (written aside, then renamed into place).
    pub(super) fn remember(&self, channel: u64, slug: String) {
        if let Some(sink) = self.shared.get() {
            sink(channel, &slug);
        }
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
        let Some(path) = self.file.lock().unwrap().clone() else {
            return;
        };
        if let Err(e) = crate::state::write_json_atomically(&path, &saved) {
            tracing::warn!("cannot remember threads in {}: {e:#}", path.display());
        }
    }
}
