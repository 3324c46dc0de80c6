//! What the tests share: the app started for a test (`app.rs`), a browser (`browser.rs`), and a
//! scriptable hostile identity provider (`hostile_idp.rs`).

pub mod app;
pub mod browser;
pub mod hostile_idp;

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
