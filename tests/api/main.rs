//! Integration tests: the real app on a random loopback port, the real dev tenant, real HTTP and
//! a real SQLite file per test.

mod support;

mod browser;
mod config;
mod cookies;
mod database;
mod existing_app;
mod health;
mod lock;
mod login;
mod logout;
mod next;
mod operations;
mod outages;
mod pages;
mod pending_logins;
mod revocation;
mod session_lifetime;
mod shutdown;
mod standalone_tenant;
mod tenant_identity;
mod transport;

mod id_token;
mod keys;
mod token_endpoint;
mod userinfo;
