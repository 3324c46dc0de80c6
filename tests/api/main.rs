//! Integration tests: the real app on a random loopback port, the real dev tenant, real HTTP and
//! a real SQLite file per test.

mod helpers;

mod browser;
mod config;
mod existing_app;
mod hardening;
mod health;
mod lock;
mod login;
mod logout;
mod next;
mod outages;
mod pages;
mod session_lifetime;
mod tenant_identity;
mod transport;

mod hostile_idp;

mod id_token;
mod keys;
mod token_endpoint;
mod userinfo;
