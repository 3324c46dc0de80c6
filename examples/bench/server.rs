//! The app under test, as its own process (this binary with `--serve-app`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use auth0_actix::dev_tenant::DevTenant;
use url::Url;

/// The app, started as its own process so its memory is its own.
pub struct Server {
    child: Child,
    pub url: Url,
}

impl Server {
    /// The app on `addr`, a client of `tenant` with `callback`, on `database`, with `extra`
    /// environment variables.
    #[allow(
        clippy::too_many_arguments,
        reason = "each is one setting of the app under test"
    )]
    pub fn start(
        binary: &Path,
        work: &Path,
        addr: std::net::SocketAddr,
        tenant: &DevTenant,
        callback: &Url,
        database: &str,
        session_key: &str,
        extra: &[(&str, &str)],
    ) -> Result<Self, String> {
        let settings = tenant.tenant_settings();
        let mut child = Command::new(binary)
            .arg("--serve-app")
            .current_dir(work)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("BIND_ADDR", addr.to_string())
            .env("DATABASE_URL", database)
            .env("RUST_LOG", "warn")
            .env("AUTH0_DOMAIN", &settings.domain)
            .env("AUTH0_CLIENT_ID", &settings.client_id)
            .env("AUTH0_SECRET", settings.client_secret.expose())
            .env("AUTH0_CALLBACK_URL", callback.as_str())
            .env("SESSION_KEY", session_key)
            .envs(extra.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        if !line.starts_with("Open ") {
            return Err(format!("unexpected first line from the app: {line:?}"));
        }
        // The address it listens on (the public URL may be the proxy's).
        let url = Url::parse(&format!("http://{addr}/")).unwrap();
        Ok(Self { child, url })
    }

    /// The server's peak resident set size (VmHWM), in KiB.
    pub fn peak_rss_kb(&self) -> Result<u64, String> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .map_err(|e| format!("read /proc: {e}"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| "no VmHWM in /proc/PID/status".into())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The CPU time (user + system) process `pid` has used so far, in seconds, from
/// `/proc/PID/stat`: what the app itself spends, whatever the load generator takes.
pub fn cpu_seconds(pid: u32) -> Result<f64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("read /proc/{pid}/stat: {e}"))?;
    // Fields after the command name (which is in parentheses and may hold spaces): utime is the
    // 14th field of the line, stime the 15th, in clock ticks.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64, String> {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| format!("/proc/{pid}/stat: no field {}", i + 3))
    };
    Ok((ticks(11)? + ticks(12)?) / clock_ticks_per_second())
}

/// `getconf CLK_TCK` (100 on Linux), the unit of `/proc/PID/stat` times.
fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// A session key for the run: 64 random letters and digits, shared by the app's processes.
pub fn session_key() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), 64)
}
