-- What the "Signed-in sessions" list shows and what back-channel logout looks sessions up by:
-- the tenant's session id (the ID token's `sid`), the browser's User-Agent at login (bounded),
-- and the last activity (written at most once a minute per session).
ALTER TABLE user_sessions ADD COLUMN sid TEXT;
ALTER TABLE user_sessions ADD COLUMN user_agent TEXT;
ALTER TABLE user_sessions ADD COLUMN last_seen_at TEXT;

CREATE INDEX user_sessions_by_sid ON user_sessions (sid);
CREATE INDEX user_sessions_by_profile ON user_sessions (profile_id);

-- Back-channel logout tokens already acted on, by issuer and `jti`, kept until a token that old
-- would be refused anyway: a replayed logout token is refused on every instance.
CREATE TABLE logout_tokens_seen (
    issuer     TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (issuer, jti)
) STRICT, WITHOUT ROWID;
