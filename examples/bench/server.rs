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

/// CPU time a process has used, in seconds, from `/proc/PID/stat`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    /// In the app's own code and its libraries.
    pub user: f64,
    /// In the kernel on the app's behalf: its sockets, the loopback's TCP (the receiving side's
    /// too), waking the load generator, being switched out and in.
    pub system: f64,
}

impl Cpu {
    pub fn total(self) -> f64 {
        self.user + self.system
    }
}

impl std::ops::Sub for Cpu {
    type Output = Self;
    fn sub(self, earlier: Self) -> Self {
        Self {
            user: self.user - earlier.user,
            system: self.system - earlier.system,
        }
    }
}

impl std::iter::Sum for Cpu {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), |a, b| Self {
            user: a.user + b.user,
            system: a.system + b.system,
        })
    }
}

/// The CPU time process `pid` has used so far, from `/proc/PID/stat`.
pub fn cpu_times(pid: u32) -> Result<Cpu, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("read /proc/{pid}/stat: {e}"))?;
    // Fields after the command name (which is in parentheses and may hold spaces): utime is the
    // 14th field of the line, stime the 15th, in clock ticks.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let seconds = |i: usize| -> Result<f64, String> {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .map(|ticks| ticks / clock_ticks_per_second())
            .ok_or_else(|| format!("/proc/{pid}/stat: no field {}", i + 3))
    };
    Ok(Cpu {
        user: seconds(11)?,
        system: seconds(12)?,
    })
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
