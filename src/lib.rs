//! Auth0 login for actix-web: a complete, server-rendered sample app, the Rust successor of
//! django-auth0. Start with [`startup::Application`]; the liftable part is [`auth0`].

// Everything Auth0: settings, OIDC client, handlers, extractors, context helper.
pub mod auth0;
// Environment configuration: which tenant, database, session key and address.
pub mod config;
// SQLite: pool, migrations, the profile table and the app's `Auth0Backend`.
pub mod db;
// A local identity provider that speaks Auth0's protocol, for development and tests.
pub mod dev_tenant;
// Error pages rendered through the layout.
pub mod error;
// What every page's layout needs: the auth0 context and the dev-tenant banner.
pub mod layout;
// Limits on the request head, checked before any handler.
pub mod limits;
// Home, profile, logout confirmation and health pages.
pub mod pages;
// Builds and runs the application.
pub mod startup;
// Logging setup and the request log.
pub mod telemetry;
