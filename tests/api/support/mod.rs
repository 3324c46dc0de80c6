//! What the tests share: the app started for a test (`app.rs`) on the test's database engine
//! (`engine.rs`), a browser (`browser.rs`), a scriptable hostile identity provider
//! (`hostile_idp.rs`), a Postgres server of a test's own (`postgres.rs`), and the binary run as
//! its own process (`processes.rs`).

pub mod app;
pub mod browser;
pub mod engine;
pub mod hostile_idp;
pub mod nginx;
pub mod postgres;
pub mod processes;
pub mod silent_proxy;

pub use app::*;
pub use browser::*;

/// The first line of `stream` (a child's stdout or stderr) that `matches`, waiting at most
/// `timeout` (a line that never comes must fail the test, not hang it).
pub fn first_line_matching(
    stream: impl std::io::Read + Send + 'static,
    matches: impl Fn(&str) -> bool + Send + 'static,
    timeout: std::time::Duration,
) -> Option<String> {
    use std::io::BufRead;
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let found = std::io::BufReader::new(stream)
            .lines()
            .map_while(Result::ok)
            .find(|line| matches(line));
        let _ = sender.send(found);
    });
    receiver.recv_timeout(timeout).ok().flatten()
}
