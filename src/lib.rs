//! Auth0 login for actix-web: a complete, server-rendered sample app, the Rust successor of
//! django-auth0. Start with [`startup::Application`]; the liftable part is [`auth0`].
//!
//! # A login, file by file
//!
//! Open these in order to follow one login from the button to the database row:
//!
//! 1. `main.rs`, `config.rs`: the environment becomes a [`config::Config`] (which tenant, which
//!    database, the session key), or one line naming the bad variable.
//! 2. `startup.rs`: [`startup::Application`] binds, starts the dev tenant if no tenant is
//!    configured (`dev_tenant/`), opens the database (`db/`), and mounts the auth0 module with
//!    the app's backend and pages.
//! 3. `auth0/handlers.rs`, `login`: a pending login (`auth0/transaction.rs`: state, nonce, PKCE,
//!    and `next` checked by `auth0/redirect.rs`) goes into the encrypted session
//!    (`auth0/session.rs`), and the browser to the tenant's `/authorize` (`auth0/client.rs`).
//! 4. The tenant: Auth0, or `dev_tenant/universal_login.rs` showing its form and sending back a
//!    code.
//! 5. `auth0/handlers.rs`, `callback`: the state is taken from the session before any network
//!    call; `auth0/client.rs` exchanges the code (`auth0/http.rs`: no redirects, timeouts),
//!    validates the ID token and reads userinfo into an [`auth0::Auth0Profile`].
//! 6. `backend.rs`: the app's side of the seam, [`backend::DatabaseBackend`], upserts the profile row
//!    and records the session (`db/profiles.rs`, `db/sessions.rs`); the handler renews the
//!    session and redirects.
//! 7. `pages.rs`: `/profile` takes an [`auth0::AuthUser`] (`auth0/extractor.rs` checks the
//!    session's lifetimes and asks the backend whether it is live) and renders through
//!    `layout.rs` and `templates/`; `error.rs` renders any failure in the same layout.

// The app's own API (a resource server): messages behind access tokens.
pub mod api;
// Everything Auth0: settings, OIDC client, handlers, extractors, context helper.
pub mod auth0;
// The app's `Auth0Backend`: what a login does to the database.
pub mod backend;
// Environment configuration: which tenant, database, session key and address.
pub mod config;
// The database (SQLite or Postgres): pool, migrations, the profile table and the sessions.
pub mod db;
// A local identity provider that speaks Auth0's protocol, for development and tests.
pub mod dev_tenant;
// Error pages rendered through the layout.
pub mod error;
// What every page's layout needs: the auth0 context and the dev-tenant banner.
pub mod layout;
// Limits on the request head, checked before any handler.
pub mod limits;
// Prometheus metrics on their own listener (METRICS_ADDR).
pub mod monitoring;
// Home, profile, logout confirmation and health pages.
pub mod pages;
// The "Signed-in sessions" section of /profile and its forms.
pub mod sessions_page;
// Builds and runs the application.
pub mod startup;
// Logging setup and the request log.
pub mod telemetry;
