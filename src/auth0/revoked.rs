//! Sessions ended in this process (logged out, or found expired), remembered until they would
//! have expired anyway, so a cookie copied before logout (or written back by a request that was
//! still in flight) is dead here whatever the backend, and a replayed cookie never reaches the
//! backend twice. A backend that records sessions (as this app's does) revokes them for every
//! process; this list is what a cookie-only (`from_fn`) backend gets, and it is lost on restart.

use std::collections::HashMap;
use std::sync::Mutex;

/// Past this many entries, expired ones are swept; if it is still full, the half that would
/// expire first is dropped, and every session that old counts as revoked from then on (fail
/// closed: their users log in again). ~100 bytes an entry: 10 MB at most.
const MAX_REVOKED: usize = 100_000;

/// Revoked session ids and when each would have expired (Unix seconds).
#[derive(Default)]
pub struct RevokedSessions {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    until: HashMap<String, i64>,
    /// Sessions expiring at or before this were dropped from the map: all count as revoked.
    floor: i64,
}

impl RevokedSessions {
    /// Remembers `session_id`, whose absolute lifetime ends at `until`, as ended. `false` when it
    /// already was (a replay): the caller then has nothing more to do.
    pub fn revoke(&self, session_id: &str, until: i64, now: i64) -> bool {
        let mut state = self.state.lock().expect("revoked sessions lock");
        if state.until.contains_key(session_id) || until <= state.floor {
            return false;
        }
        if state.until.len() >= MAX_REVOKED {
            state.until.retain(|_, until| *until >= now);
            if state.until.len() >= MAX_REVOKED {
                let mut times: Vec<i64> = state.until.values().copied().collect();
                times.sort_unstable();
                let cut = times[times.len() / 2];
                state.until.retain(|_, until| *until > cut);
                state.floor = state.floor.max(cut);
            }
        }
        state.until.insert(session_id.to_owned(), until);
        true
    }

    /// Forgets `session_id` (a logout token whose logout failed: it may come again).
    pub fn remove(&self, session_id: &str) {
        let mut state = self.state.lock().expect("revoked sessions lock");
        state.until.remove(session_id);
    }

    /// Whether `session_id` (absolute lifetime ending at `until`) was ended here.
    pub fn contains(&self, session_id: &str, until: i64) -> bool {
        let state = self.state.lock().expect("revoked sessions lock");
        until <= state.floor || state.until.contains_key(session_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_revoked_once() {
        let revoked = RevokedSessions::default();
        assert!(revoked.revoke("s1", 2_000, 1_000));
        assert!(!revoked.revoke("s1", 2_000, 1_000), "a replay");
        assert!(revoked.contains("s1", 2_000));
        assert!(!revoked.contains("s2", 2_000));
    }

    #[test]
    fn a_full_list_drops_the_oldest_but_still_counts_them_revoked() {
        let revoked = RevokedSessions::default();
        // The victim logged out long ago; an attacker then logs out many fresh sessions.
        revoked.revoke("victim", 1_500, 1_000);
        for i in 0..MAX_REVOKED {
            revoked.revoke(&format!("fresh-{i}"), 5_000 + i as i64, 1_000);
        }
        assert!(revoked.contains("victim", 1_500), "fails closed");
        assert!(revoked.contains("fresh-99999", 5_000 + 99_999));
        assert!(!revoked.contains("never-revoked", 900_000));
    }
}
