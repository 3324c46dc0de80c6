//! What the tests share: the app started for a test (`app.rs`), a browser (`browser.rs`), and a
//! scriptable hostile identity provider (`hostile_idp.rs`).

pub mod app;
pub mod browser;
pub mod hostile_idp;

pub use app::*;
pub use browser::*;
