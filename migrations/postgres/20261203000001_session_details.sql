-- What the "Signed-in sessions" list shows and what back-channel logout looks sessions up by:
-- the tenant's session id (the ID token's `sid`), the browser's User-Agent at login (bounded),
-- and the last activity (written at most once a minute per session).
ALTER TABLE user_sessions ADD COLUMN sid TEXT COLLATE "C";
ALTER TABLE user_sessions ADD COLUMN user_agent TEXT;
ALTER TABLE user_sessions ADD COLUMN last_seen_at TIMESTAMPTZ;

CREATE INDEX user_sessions_by_sid ON user_sessions (sid);

-- Activity is not a revocation: only a change to what makes a session live tells the instances.
DROP TRIGGER user_sessions_changed ON user_sessions;
CREATE TRIGGER user_sessions_changed AFTER UPDATE ON user_sessions
    FOR EACH ROW
    WHEN ((OLD.id, OLD.profile_id, OLD.expires_at) IS DISTINCT FROM
          (NEW.id, NEW.profile_id, NEW.expires_at))
    EXECUTE FUNCTION user_sessions_notify_revoked();

-- Back-channel logout tokens already acted on, by issuer and `jti`, kept a day (far longer than a
-- token is accepted, whatever the clocks): a replayed logout token is refused on every instance.
-- What each named (`sid`, `sub`, when it was issued) also refuses a login that finishes after
-- it but was authenticated before it (a code redeemed late): see `record_login`.
CREATE TABLE logout_tokens_seen (
    issuer     TEXT COLLATE "C" NOT NULL,
    jti        TEXT COLLATE "C" NOT NULL,
    sid        TEXT COLLATE "C",
    sub        TEXT COLLATE "C",
    issued_at  TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (issuer, jti)
);

CREATE INDEX logout_tokens_seen_by_sid ON logout_tokens_seen (issuer, sid);
CREATE INDEX logout_tokens_seen_by_sub ON logout_tokens_seen (issuer, sub);
