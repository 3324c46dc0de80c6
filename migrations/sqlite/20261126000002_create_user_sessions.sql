-- Live login sessions, so logout revokes server-side: the session cookie names a row here, and
-- a cookie whose row is gone (logged out, expired) is anonymous. Anonymous visitors have no row.
CREATE TABLE user_sessions (
    -- The random session id the auth0 module made at login (256 bits).
    id         TEXT    PRIMARY KEY,
    profile_id INTEGER NOT NULL REFERENCES user_profiles (id) ON DELETE CASCADE,
    created_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX user_sessions_by_expiry ON user_sessions (expires_at);
