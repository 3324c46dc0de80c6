-- Profiles are keyed by issuer and `sub` together: OIDC Core §2 makes `sub` unique only within
-- its issuer, so a user of the local dev tenant must never become a real tenant's user (or one
-- tenant's user another's) by sharing a `sub`.
--
-- SQLite cannot drop the old UNIQUE (sub) constraint, so both tables are rebuilt. Rows from
-- before this migration did not record their issuer: they get the empty issuer, which no login
-- ever has (an issuer is a URL), so nobody logs into them. If every old row came from one real
-- tenant, an operator can adopt them:
--   UPDATE user_profiles SET issuer = 'https://your-tenant.us.auth0.com/' WHERE issuer = '';
-- The children go first: dropping the parent with foreign keys on would delete the sessions.
CREATE TABLE user_profiles_v2 (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The `iss` of the ID token, e.g. https://your-tenant.us.auth0.com/ (with the slash).
    issuer         TEXT    NOT NULL,
    sub            TEXT    NOT NULL,
    email          TEXT,
    email_verified INTEGER CHECK (email_verified IN (0, 1)),
    name           TEXT,
    nickname       TEXT,
    picture        TEXT,
    given_name     TEXT,
    family_name    TEXT,
    locale         TEXT,
    claims         TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(claims)),
    login_count    INTEGER NOT NULL DEFAULT 1,
    first_login_at TEXT    NOT NULL,
    last_login_at  TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    UNIQUE (issuer, sub)
) STRICT;

INSERT INTO user_profiles_v2 (id, issuer, sub, email, email_verified, name, nickname, picture,
    given_name, family_name, locale, claims, login_count, first_login_at, last_login_at,
    updated_at)
SELECT id, '', sub, email, email_verified, name, nickname, picture, given_name, family_name,
    locale, claims, login_count, first_login_at, last_login_at, updated_at
FROM user_profiles;

CREATE TABLE user_sessions_v2 (
    id         TEXT    PRIMARY KEY,
    profile_id INTEGER NOT NULL REFERENCES user_profiles_v2 (id) ON DELETE CASCADE,
    created_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO user_sessions_v2 (id, profile_id, created_at, expires_at)
SELECT id, profile_id, created_at, expires_at FROM user_sessions;

DROP TABLE user_sessions;
DROP TABLE user_profiles;
-- Renaming also rewrites user_sessions_v2's reference to the new name.
ALTER TABLE user_profiles_v2 RENAME TO user_profiles;
ALTER TABLE user_sessions_v2 RENAME TO user_sessions;
CREATE INDEX user_sessions_by_expiry ON user_sessions (expires_at);
