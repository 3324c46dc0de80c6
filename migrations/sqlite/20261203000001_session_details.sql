-- What the "Signed-in sessions" list shows and what back-channel logout looks sessions up by:
-- the tenant's session id (the ID token's `sid`), the browser's User-Agent at login (bounded),
-- and the last activity (written at most once a minute per session).
ALTER TABLE user_sessions ADD COLUMN sid TEXT;
ALTER TABLE user_sessions ADD COLUMN user_agent TEXT;
ALTER TABLE user_sessions ADD COLUMN last_seen_at TEXT;

CREATE INDEX user_sessions_by_sid ON user_sessions (sid);
CREATE INDEX user_sessions_by_profile ON user_sessions (profile_id);

-- Back-channel logout tokens already acted on, by issuer and `jti`, kept a day (far longer than a
-- token is accepted, whatever the clocks): a replayed logout token is refused on every instance.
-- What each named (`sid`, `sub`, when it was issued) also refuses a login that finishes after
-- it but was authenticated before it (a code redeemed late): see `record_login`.
CREATE TABLE logout_tokens_seen (
    issuer     TEXT NOT NULL,
    jti        TEXT NOT NULL,
    sid        TEXT,
    sub        TEXT,
    issued_at  TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (issuer, jti)
) STRICT, WITHOUT ROWID;

CREATE INDEX logout_tokens_seen_by_sid ON logout_tokens_seen (issuer, sid);
CREATE INDEX logout_tokens_seen_by_sub ON logout_tokens_seen (issuer, sub);
