-- The user-profile table from django-auth0's roadmap: one row per Auth0 user, keyed by `sub`.
-- `sub` uses SQLite's default BINARY collation, so it is compared case-sensitively, as OIDC says
-- subject identifiers are. Every claim but `sub` is optional. Times are RFC 3339 UTC strings.
CREATE TABLE user_profiles (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    sub            TEXT    NOT NULL UNIQUE,
    email          TEXT,
    email_verified INTEGER CHECK (email_verified IN (0, 1)),
    name           TEXT,
    nickname       TEXT,
    picture        TEXT,
    given_name     TEXT,
    family_name    TEXT,
    locale         TEXT,
    -- Every claim userinfo returned at the last login, as a JSON object.
    claims         TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(claims)),
    login_count    INTEGER NOT NULL DEFAULT 1,
    first_login_at TEXT    NOT NULL,
    last_login_at  TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL
) STRICT;
