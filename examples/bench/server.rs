//! The app under test, as its own process (this binary with `--serve-app`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use url::Url;

/// The app, started as its own process so its memory is its own.
pub struct Server {
    child: Child,
    pub url: Url,
}

impl Server {
    pub fn start(binary: &Path, work: &Path) -> Result<Self, String> {
        let mut child = Command::new(binary)
            .arg("--serve-app")
            .current_dir(work)
            .env("PORT", "0")
            .env("BIND_ADDR", "127.0.0.1:0")
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", work.join("bench.db").display()),
            )
            .env("RUST_LOG", "warn")
            // The dev tenant, on a port of its own: no tenant setting from the environment.
            .env("DEV_TENANT_ADDR", "127.0.0.1:0")
            .env_remove("AUTH0_DOMAIN")
            .env_remove("AUTH0_CLIENT_ID")
            .env_remove("AUTH0_SECRET")
            .env_remove("AUTH0_CLIENT_SECRET")
            .env_remove("AUTH0_CALLBACK_URL")
            .env_remove("AUTH0_AUDIENCE")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        // "Open http://127.0.0.1:PORT/ and log in."
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .and_then(|u| Url::parse(u).ok())
            .ok_or_else(|| format!("unexpected first line from the app: {line:?}"))?;
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
