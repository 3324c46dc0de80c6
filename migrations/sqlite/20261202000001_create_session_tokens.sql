-- The tokens of a login with AUTH0_AUDIENCE (access token, expiry, scopes, refresh token), kept
-- server-side and sealed by the auth0 module (AES-256-GCM, key derived from SESSION_KEY, the
-- session id as associated data): this table never holds a readable token. The row goes with its
-- session (logout, expiry, revocation).
CREATE TABLE session_tokens (
    session_id TEXT    PRIMARY KEY REFERENCES user_sessions (id) ON DELETE CASCADE,
    sealed     BLOB    NOT NULL,
    -- Bumped at each refresh: a refresh writes only over the version it read.
    version    INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT    NOT NULL
);
