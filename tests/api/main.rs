//! Integration tests: the real app on a random loopback port, the real dev tenant (or the hostile
//! one in `support/`), real HTTP and a real database per test.
//!
//! The suite runs once per database engine: the same files compiled twice, as `on_sqlite::...`
//! and `on_postgres::...` (`cargo test on_postgres` runs one). Each of their tests starts with
//! `engine!()` (`support/engine.rs`), which picks the database and skips, saying why, when the
//! engine is not available. A few files do not depend on the engine and run once.
#![allow(
    clippy::duplicate_mod,
    reason = "the suite's files are compiled once per engine, on purpose"
)]

mod support;

/// The files of the suite, for each engine.
macro_rules! suite {
    () => {
        mod backchannel;
        mod browser;
        mod cookies;
        mod database;
        mod health;
        mod lock;
        mod login;
        mod login_options;
        mod logout;
        mod next;
        mod operations;
        mod outages;
        mod pages;
        mod pending_logins;
        mod revocation;
        mod session_lifetime;
        mod sessions_page;
        mod shutdown;
        mod tenant_identity;
        mod tokens;
        mod transport;

        mod id_token;
        mod keys;
        mod token_endpoint;
        mod userinfo;
    };
}

#[path = "."]
mod on_sqlite {
    suite!();
    /// Upgrades of databases made by earlier versions (SQLite only: Postgres came later).
    mod sqlite_upgrades;
}

#[path = "."]
mod on_postgres {
    suite!();
    /// Several instances on one Postgres: instant revocation, outages, a real load balancer.
    mod instances;
}

// Once: configuration, the binary's logs, the standalone tenant, the module in another app, the
// API (it does not touch the database).
mod api_messages;
mod config;
mod existing_app;
mod logging;
mod standalone_tenant;
