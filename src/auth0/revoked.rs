//! Sessions logged out in this process, remembered until they would have expired anyway, so a
//! cookie copied before logout (or written back by a request that was still in flight) is dead
//! here whatever the backend. A backend that records sessions (as this app's does) revokes them
//! for every process; this list is what a cookie-only (`from_fn`) backend gets.

use std::collections::HashMap;
use std::sync::Mutex;

use super::session::LoggedIn;
use super::settings::SessionLifetime;

/// Past this many entries, expired ones are swept; if it is still full, the oldest half goes
/// (those sessions then rely on their lifetimes alone). ~100 bytes an entry: 10 MB at most.
const MAX_REVOKED: usize = 100_000;

/// Revoked session ids and when each would have expired (Unix seconds).
#[derive(Default)]
pub struct RevokedSessions {
    until: Mutex<HashMap<String, i64>>,
}

impl RevokedSessions {
    /// Remembers `session_id` as logged out, until its absolute lifetime would have ended.
    pub fn revoke(&self, session_id: &str, logged_in: &LoggedIn, lifetime: &SessionLifetime) {
        let until = logged_in.logged_in_at + lifetime.absolute.as_secs() as i64;
        let mut map = self.until.lock().expect("revoked sessions lock");
        if map.len() >= MAX_REVOKED {
            let now = super::transaction::now();
            map.retain(|_, until| *until > now);
            if map.len() >= MAX_REVOKED {
                let mut times: Vec<i64> = map.values().copied().collect();
                times.sort_unstable();
                let cut = times[times.len() / 2];
                map.retain(|_, until| *until > cut);
            }
        }
        map.insert(session_id.to_owned(), until);
    }

    /// Whether `session_id` was logged out here (and would still be live otherwise).
    pub fn contains(&self, session_id: &str, now: i64) -> bool {
        let map = self.until.lock().expect("revoked sessions lock");
        map.get(session_id).is_some_and(|until| *until >= now)
    }
}
