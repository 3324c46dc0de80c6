-- The tokens of a login with AUTH0_AUDIENCE (access token, expiry, scopes, refresh token), kept
-- server-side and sealed by the auth0 module (AES-256-GCM, key derived from SESSION_KEY, the
-- session id as associated data): this table never holds a readable token. The row goes with its
-- session (logout, expiry, revocation). A refresh locks the row (SELECT ... FOR UPDATE), so one
-- instance refreshes and the others read what it stored.
CREATE TABLE session_tokens (
    session_id TEXT        COLLATE "C" PRIMARY KEY REFERENCES user_sessions (id) ON DELETE CASCADE,
    sealed     BYTEA       NOT NULL,
    version    BIGINT      NOT NULL DEFAULT 1,
    updated_at TIMESTAMPTZ NOT NULL
);
