-- The Postgres schema: the same two tables as SQLite's (migrations/sqlite/), created in their
-- final shape. Profiles are keyed by issuer and `sub` (OIDC Core §2 makes `sub` unique only
-- within its issuer); `sub` is compared byte for byte (the "C" collation), as OIDC says subject
-- identifiers are.
CREATE TABLE user_profiles (
    id             BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The `iss` of the ID token, e.g. https://your-tenant.us.auth0.com/ (with the slash).
    issuer         TEXT        COLLATE "C" NOT NULL,
    sub            TEXT        COLLATE "C" NOT NULL,
    email          TEXT,
    email_verified BOOLEAN,
    name           TEXT,
    nickname       TEXT,
    picture        TEXT,
    given_name     TEXT,
    family_name    TEXT,
    locale         TEXT,
    -- Every claim userinfo returned at the last login.
    claims         JSONB       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(claims) = 'object'),
    login_count    BIGINT      NOT NULL DEFAULT 1,
    first_login_at TIMESTAMPTZ NOT NULL,
    last_login_at  TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (issuer, sub)
);

-- Live login sessions, so logout revokes server-side: the session cookie names a row here, and
-- a cookie whose row is gone (logged out, expired) is anonymous.
CREATE TABLE user_sessions (
    -- The random session id the auth0 module made at login (256 bits).
    id         TEXT        COLLATE "C" PRIMARY KEY,
    profile_id BIGINT      NOT NULL REFERENCES user_profiles (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX user_sessions_by_expiry ON user_sessions (expires_at);
CREATE INDEX user_sessions_by_profile ON user_sessions (profile_id);

-- Every instance caches live sessions for a few seconds; a live session row that goes or
-- changes, however (logout, a deleted profile's cascade, an operator's DELETE, UPDATE or
-- TRUNCATE), tells them all at once on this channel. The payload is the session id; an empty
-- payload means every session. Rows already expired need no notice (each instance checks the
-- expiry itself), so the sweep of expired sessions at each login stays quiet.
CREATE FUNCTION user_sessions_notify_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('user_sessions_revoked', '');
    ELSE
        PERFORM pg_notify('user_sessions_revoked', OLD.id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER user_sessions_revoked AFTER DELETE ON user_sessions
    FOR EACH ROW WHEN (OLD.expires_at > now()) EXECUTE FUNCTION user_sessions_notify_revoked();
CREATE TRIGGER user_sessions_changed AFTER UPDATE ON user_sessions
    FOR EACH ROW EXECUTE FUNCTION user_sessions_notify_revoked();
CREATE TRIGGER user_sessions_truncated AFTER TRUNCATE ON user_sessions
    FOR EACH STATEMENT EXECUTE FUNCTION user_sessions_notify_revoked();
