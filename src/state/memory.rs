//! The embedded cooldowns and button state: this process's memory, forgotten at exit (a
//! cooldown lasts seconds, buttons minutes). Also what a serving process falls back on while
//! the shared store is away.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{ButtonStore, CooldownStore, KeptButtons};

/// Cooldowns in memory: (scope, user) → when it started.
#[derive(Debug, Default)]
pub struct MemoryCooldowns {
    started: Mutex<HashMap<(String, u64), Instant>>,
}

impl CooldownStore for MemoryCooldowns {
    fn start_cooldown(
        &self,
        scope: &str,
        user: u64,
        length: Duration,
    ) -> anyhow::Result<Option<Duration>> {
        let now = Instant::now();
        let mut map = self.started.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&last) = map.get(&(scope.to_string(), user)) {
            let since = now.duration_since(last);
            if since < length {
                return Ok(Some(length - since));
            }
        }
        // Ended cooldowns go whenever one starts, so the map holds only the live ones.
        map.retain(|_, t| now.duration_since(*t) < length);
        map.insert((scope.to_string(), user), now);
        Ok(None)
    }
}

/// Messages with live buttons remembered at most (about 5 KB each).
pub const BUTTONS_KEPT_MAX: usize = 20_000;

/// Button state in memory, by id: at most [`BUTTONS_KEPT_MAX`] messages' worth.
#[derive(Debug, Default)]
pub struct MemoryButtons {
    kept: Mutex<HashMap<u64, Kept>>,
    /// States kept so far (every 64th sweeps the expired ones).
    made: AtomicU64,
}

#[derive(Debug)]
struct Kept {
    asker: u64,
    state: String,
    created: Instant,
}

impl ButtonStore for MemoryButtons {
    fn keep_buttons(
        &self,
        id: u64,
        asker: u64,
        state: &str,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let mut map = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        // Expired entries go now and then, and the oldest when the bot is very busy, so
        // memory stays bounded without scanning on every answer.
        let made = self.made.fetch_add(1, Ordering::Relaxed);
        if made.is_multiple_of(64) || map.len() >= BUTTONS_KEPT_MAX {
            map.retain(|_, k| k.created.elapsed() <= timeout);
        }
        if map.len() >= BUTTONS_KEPT_MAX && !map.contains_key(&id) {
            if let Some(oldest) = map.iter().min_by_key(|(_, k)| k.created).map(|(&id, _)| id) {
                map.remove(&oldest);
            }
        }
        map.insert(
            id,
            Kept {
                asker,
                state: state.to_string(),
                created: Instant::now(),
            },
        );
        Ok(())
    }

    fn replace_buttons(&self, id: u64, state: &str, timeout: Duration) -> anyhow::Result<bool> {
        let mut map = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(&id).filter(|k| k.created.elapsed() <= timeout) {
            Some(kept) => {
                kept.state = state.to_string();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn buttons(&self, id: u64, timeout: Duration) -> anyhow::Result<Option<KeptButtons>> {
        let map = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        Ok(map
            .get(&id)
            .filter(|k| k.created.elapsed() <= timeout)
            .map(|k| KeptButtons {
                asker: k.asker,
                state: k.state.clone(),
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A very busy bot forgets the oldest buttons first, and never holds more than the bound.
    #[test]
    fn button_memory_is_bounded_by_forgetting_the_oldest() {
        let kept = MemoryButtons::default();
        let hour = Duration::from_secs(3600);
        for id in 0..BUTTONS_KEPT_MAX as u64 + 3 {
            // Ids in no particular order: the oldest is not the smallest.
            let id = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            kept.keep_buttons(id, 1, "{}", hour).unwrap();
        }
        assert_eq!(kept.kept.lock().unwrap().len(), BUTTONS_KEPT_MAX);
        for gone in 0..3u64 {
            let id = gone.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            assert_eq!(
                kept.buttons(id, hour).unwrap(),
                None,
                "{gone} was among the oldest"
            );
        }
        let newest = (BUTTONS_KEPT_MAX as u64 + 2).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        assert!(kept.buttons(newest, hour).unwrap().is_some());
    }
}
