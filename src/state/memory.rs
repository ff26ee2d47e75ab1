//! The embedded cooldowns: this process's memory, forgotten at exit (a cooldown lasts
//! seconds). Also what a serving process falls back on while the shared store is away.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::CooldownStore;

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
