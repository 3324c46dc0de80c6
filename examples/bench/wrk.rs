//! The load generator: Debian's `wrk`, and reading its report.

use std::process::Command;
use std::time::Duration;

use url::Url;

use super::server::{cpu_times, Cpu};
use super::{Measure, Mode, CONNECTIONS};

pub fn require_wrk() -> Result<(), String> {
    Command::new("wrk")
        .arg("--version")
        .output()
        .map(|_| ())
        .map_err(|_| "wrk is not installed (apt-get install wrk)".into())
}

/// A warm-up, then a measured wrk run.
pub async fn wrk(
    mode: &Mode,
    name: &'static str,
    url: Url,
    cookie: Option<&str>,
    server_pids: &[u32],
) -> Result<Measure, String> {
    let (mode_warmup, mode_duration) = (mode.warmup, mode.duration);
    let cookie = cookie.map(str::to_owned);
    let pids = server_pids.to_vec();
    actix_web::rt::task::spawn_blocking(move || {
        measure(
            name,
            &url,
            cookie.as_deref(),
            &pids,
            mode_warmup,
            mode_duration,
        )
    })
    .await
    .map_err(|e| e.to_string())?
}

/// The app's processes' CPU time so far, together.
fn cpu_of(pids: &[u32]) -> Result<Cpu, String> {
    pids.iter().map(|pid| cpu_times(*pid)).sum()
}

fn measure(
    name: &'static str,
    url: &Url,
    cookie: Option<&str>,
    pids: &[u32],
    warmup: Duration,
    duration: Duration,
) -> Result<Measure, String> {
    let run = |duration: Duration| {
        let mut command = Command::new("wrk");
        command
            .args([
                "-t2",
                &format!("-c{CONNECTIONS}"),
                &format!("-d{}s", duration.as_secs()),
            ])
            .arg("--latency");
        if let Some(cookie) = cookie {
            command.args(["-H", &format!("Cookie: {cookie}")]);
        }
        command.arg(url.as_str());
        let output = command.output().map_err(|e| format!("wrk: {e}"))?;
        Ok::<_, String>(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    run(warmup)?;
    let cpu_before = cpu_of(pids)?;
    let out = run(duration)?;
    let cpu = cpu_of(pids)? - cpu_before;
    let mut measure =
        parse_wrk(name, &out).ok_or_else(|| format!("could not read wrk's output:\n{out}"))?;
    let requests = out
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.parse::<f64>().ok())
        .ok_or_else(|| format!("no request count in wrk's output:\n{out}"))?;
    measure.count = requests;
    measure.cpu_s = cpu.total();
    measure.user_s = cpu.user;
    Ok(measure)
}

/// Reads requests/s, p50, p99 and errors (non-2xx/3xx and socket errors) from wrk's output.
fn parse_wrk(name: &'static str, out: &str) -> Option<Measure> {
    let value_after = |prefix: &str| -> Option<&str> {
        out.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
    };
    let requests_per_sec = value_after("Requests/sec:")?.parse().ok()?;
    let p50_ms = duration_ms(value_after("50%")?)?;
    let p99_ms = duration_ms(value_after("99%")?)?;
    let non_2xx: u64 = value_after("Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let socket_errors: u64 = value_after("Socket errors:")
        .map(|v| {
            v.split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Some(Measure {
        name,
        requests_per_sec,
        count: 0.0,
        p50_ms,
        p99_ms,
        errors: non_2xx + socket_errors,
        limit: false,
        cpu_s: 0.0,
        user_s: 0.0,
        added_work_us: None,
        rounds: Vec::new(),
    })
}

/// wrk prints `812.00us`, `1.23ms` or `1.02s`.
fn duration_ms(value: &str) -> Option<f64> {
    let (number, factor) = if let Some(v) = value.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = value.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = value.strip_suffix('s') {
        (v, 1000.0)
    } else {
        return None;
    };
    number.trim().parse::<f64>().ok().map(|n| n * factor)
}
