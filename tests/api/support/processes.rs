//! The app's binary run as its own process, as a deployment runs it: app instances and the
//! standalone dev tenant (`auth0-actix dev-tenant`). Each is killed when dropped.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::first_line_matching;

/// How long a started binary may take to say it is ready.
const READY: Duration = Duration::from_secs(20);

/// A running instance of the binary.
pub struct Process {
    /// Taken when waited for.
    child: Option<Child>,
}

impl Process {
    /// Starts the binary with only `env` (and `PATH`), and waits for the line it prints when
    /// it is ready (`Open ...` for the app).
    pub fn app(env: &[(&str, &str)]) -> Process {
        let mut child = binary(&[], env).stderr(Stdio::null()).spawn().unwrap();
        let ready = first_line_matching(
            child.stdout.take().unwrap(),
            |l| l.starts_with("Open "),
            READY,
        );
        assert!(ready.is_some(), "the app started: {:?}", child.try_wait());
        Process { child: Some(child) }
    }

    /// `kill -TERM`: what an orchestrator sends to stop an instance.
    pub fn terminate(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// Kills the process at once (a crashed instance, a lost machine).
    pub fn kill(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Waits for the process to exit; its exit code.
    pub async fn exit_code(mut self) -> Option<i32> {
        let mut child = self.child.take().expect("running");
        actix_web::rt::task::spawn_blocking(move || child.wait())
            .await
            .unwrap()
            .unwrap()
            .code()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The standalone dev tenant, registered for `callbacks`, on a free port; and the `AUTH0_*`
/// values it prints for apps.
pub async fn standalone_tenant(callbacks: &[String]) -> (Process, HashMap<String, String>) {
    let mut child = binary(
        &["dev-tenant"],
        &[
            ("DEV_TENANT_ADDR", "127.0.0.1:0"),
            ("DEV_TENANT_CALLBACK_URLS", &callbacks.join(",")),
        ],
    )
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    // What it prints: the values that point an app at it, ending with AUTH0_CALLBACK_URL.
    let stdout = child.stdout.take().unwrap();
    let printed = actix_web::rt::task::spawn_blocking(move || {
        let mut values = HashMap::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some((name, value)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
                values.insert(name.to_owned(), value.to_owned());
            }
            if line.starts_with("AUTH0_CALLBACK_URL=") {
                break;
            }
        }
        values
    })
    .await
    .unwrap();
    (Process { child: Some(child) }, printed)
}

fn binary(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth0-actix"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .envs(env.iter().copied())
        .stdout(Stdio::piped());
    command
}
