//! Conversations a serving process keeps: one [`State`] per key (a thread, a reply chain, a
//! member in a channel), forgotten once idle, and — for the keys that must outlive the
//! process (`/discuss` threads) — written to a JSON file after every change (the embedded
//! form). When instances share a store, every conversation is also sent there
//! ([`Conversations::share_through`]), so that a member's next message answered by another
//! replica goes on where they were; the other instances' changes come back through
//! [`Conversations::absorb`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use super::{Settings, State};

/// Conversations kept at most; past this the idle ones go first, then the oldest.
const KEPT: usize = 10_000;

/// The states of many conversations, by key.
#[derive(Debug)]
pub struct Conversations {
    settings: Settings,
    states: Mutex<HashMap<String, State>>,
    /// Where the states of [`Conversations::lasting`] keys are written, if anywhere.
    file: Mutex<Option<PathBuf>>,
    /// Where every conversation is also sent (key, JSON, time) when instances share them.
    shared: OnceLock<Sink>,
}

/// Takes a conversation's key, its state as JSON and the time; must not block.
type SinkFn = dyn Fn(&str, &str, u64) + Send + Sync;

/// A [`SinkFn`], named for `Debug`.
struct Sink(Box<SinkFn>);

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sink")
    }
}

impl Conversations {
    /// Conversations kept in memory only.
    pub fn new(settings: Settings) -> Conversations {
        Conversations {
            settings,
            states: Mutex::new(HashMap::new()),
            file: Mutex::new(None),
            shared: OnceLock::new(),
        }
    }

    /// Sends every change of a conversation to `sink` from now on (key, state as JSON,
    /// time): a queue to the shared store, which must not block.
    pub fn share_through(&self, sink: impl Fn(&str, &str, u64) + Send + Sync + 'static) {
        let _ = self.shared.set(Sink(Box::new(sink)));
    }

    /// Another instance's state of the conversation `key` (JSON), kept in memory only (it
    /// is already in the shared store); unreadable JSON is ignored with a warning.
    pub fn absorb(&self, key: &str, json: &str) {
        match serde_json::from_str::<State>(json) {
            Ok(state) => {
                self.states.lock().unwrap().insert(key.to_string(), state);
            }
            Err(e) => tracing::warn!("ignoring the shared conversation {key}: {e}"),
        }
    }

    /// Conversations whose lasting ones are kept in `path` (read now; a missing or unreadable
    /// file is an empty start, logged).
    pub fn kept_in(settings: Settings, path: PathBuf) -> Conversations {
        let kept = Conversations::new(settings);
        kept.keep_in(path);
        kept
    }

    /// Keeps the lasting conversations in `path` from now on, after loading the ones it holds
    /// (a missing or unreadable file adds none, logged; conversations already in memory win).
    pub fn keep_in(&self, path: PathBuf) {
        match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<HashMap<String, State>>(&bytes) {
                Ok(saved) => {
                    let mut states = self.states.lock().unwrap();
                    for (key, state) in saved {
                        if Conversations::lasting(&key) {
                            states.entry(key).or_insert(state);
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

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether `key`'s conversation is kept across restarts: a `/discuss` thread's.
    pub fn lasting(key: &str) -> bool {
        key.starts_with("thread:")
    }

    /// The conversation under `key` (a fresh one if none).
    pub fn get(&self, key: &str) -> Option<State> {
        self.states.lock().unwrap().get(key).cloned()
    }

    /// Keeps `state` under `key`, as of `now` (seconds since the Unix epoch).
    pub fn put(&self, key: &str, state: State, now: u64) {
        if let Some(sink) = self.shared.get() {
            match serde_json::to_string(&state) {
                Ok(json) => (sink.0)(key, &json, now),
                Err(e) => tracing::warn!("cannot share the conversation {key}: {e}"),
            }
        }
        // Held across the snapshot and the write when the key is lasting: two writers at once
        // would share the temporary file, and an older snapshot could land after a newer one.
        let file = Conversations::lasting(key).then(|| self.file.lock().unwrap());
        let lasting = {
            let mut states = self.states.lock().unwrap();
            states.insert(key.to_string(), state);
            if states.len() > KEPT {
                states.retain(|_, s| !s.expired(&self.settings, now));
            }
            if states.len() > KEPT {
                let mut by_age: Vec<(u64, String)> = states
                    .iter()
                    .map(|(k, s)| (s.last_seen, k.clone()))
                    .collect();
                by_age.sort();
                for (_, k) in &by_age[..states.len() - KEPT] {
                    states.remove(k);
                }
            }
            Conversations::lasting(key).then(|| {
                states
                    .iter()
                    .filter(|(k, _)| Conversations::lasting(k))
                    .map(|(k, s)| (k.clone(), s.clone()))
                    .collect::<HashMap<String, State>>()
            })
        };
        if let (Some(lasting), Some(Some(path))) = (lasting, file.as_deref()) {
            if let Err(e) = crate::state::write_json_atomically(path, &lasting) {
                tracing::warn!("cannot keep conversations in {}: {e}", path.display());
            }
        }
    }
}

/// Writes `states` as JSON beside `path`, then renames it into place: a crash leaves the old
/// file or the new one, never half of one.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_conversations_survive_a_restart_and_others_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conversations.json");
        let kept = Conversations::kept_in(Settings::default(), path.clone());
        let mut thread = State::discussing("stablecoins");
        thread.shown = vec![0, 2];
        kept.put("thread:7", thread.clone(), 100);
        kept.put("member:1:2", State::discussing("sleep-science"), 100);
        let again = Conversations::kept_in(Settings::default(), path.clone());
        assert_eq!(again.get("thread:7"), Some(thread));
        assert_eq!(again.get("member:1:2"), None);
        // A broken file is an empty start, not an error.
        std::fs::write(&path, b"{not json").unwrap();
        let broken = Conversations::kept_in(Settings::default(), path);
        assert_eq!(broken.get("thread:7"), None);
    }

    #[test]
    fn shared_conversations_go_out_and_come_back_in() {
        let sent = std::sync::Arc::new(Mutex::new(Vec::new()));
        let a = Conversations::new(Settings::default());
        {
            let sent = sent.clone();
            a.share_through(move |key, json, at| {
                sent.lock()
                    .unwrap()
                    .push((key.to_string(), json.to_string(), at));
            });
        }
        let state = State::discussing("stablecoins");
        a.put("member:1:2", state.clone(), 100);
        a.put("thread:7", State::discussing("sleep-science"), 101);
        let sent = sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 2, "every key, lasting or not");
        assert_eq!((sent[0].0.as_str(), sent[0].2), ("member:1:2", 100));
        // Another instance takes them in as they were, and only in memory.
        let b = Conversations::new(Settings::default());
        b.absorb(&sent[0].0, &sent[0].1);
        assert_eq!(b.get("member:1:2"), Some(state));
        b.absorb("member:1:3", "{not json");
        assert_eq!(b.get("member:1:3"), None);
    }
}
