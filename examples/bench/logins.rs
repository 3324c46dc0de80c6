//! Full logins through the dev tenant, driven as the tests drive them
//! (`auth0_actix::dev_tenant::driver`).

use std::time::{Duration, Instant};

use auth0_actix::dev_tenant::driver::{self, location};
use url::Url;

use super::{Measure, Mode, LOGIN_CONCURRENCY};

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client")
}

/// One full login as a browser does it: /login, /authorize, the form, the callback, /profile,
/// through the same driver as the tests.
async fn full_login(client: &reqwest::Client, base: &Url, email: &str) -> Result<(), String> {
    let step = |e: reqwest::Error| e.to_string();
    let login = client
        .get(base.join("/login").unwrap())
        .send()
        .await
        .map_err(step)?;
    let authorize = location(&login)?;
    let callback = driver::log_in_at_tenant(client, &authorize, email, "pw").await?;
    let landed = client.get(callback).send().await.map_err(step)?;
    if landed.status() != reqwest::StatusCode::FOUND {
        return Err(format!("callback: {}", landed.status()));
    }
    let profile = client
        .get(base.join("/profile").unwrap())
        .send()
        .await
        .map_err(step)?;
    if profile.status() != reqwest::StatusCode::OK {
        return Err(format!("profile: {}", profile.status()));
    }
    Ok(())
}

/// Logs `email` in once and returns the `Cookie` header a browser would send to `/profile`.
pub async fn login_cookie(base: &Url, email: &str) -> Result<String, String> {
    login_cookie_with(base, reqwest::Client::builder(), email).await
}

/// [`login_cookie`] through a TLS proxy whose (test) certificate is `certificate` (PEM).
pub async fn login_cookie_trusting(base: &Url, certificate: &[u8]) -> Result<String, String> {
    let root = reqwest::Certificate::from_pem(certificate).map_err(|e| e.to_string())?;
    let builder = reqwest::Client::builder().add_root_certificate(root);
    login_cookie_with(base, builder, "bench@example.com").await
}

async fn login_cookie_with(
    base: &Url,
    builder: reqwest::ClientBuilder,
    email: &str,
) -> Result<String, String> {
    use reqwest::cookie::CookieStore;
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let client = builder
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .build()
        .map_err(|e| e.to_string())?;
    full_login(&client, base, email).await?;
    let header = jar
        .cookies(&base.join("/profile").unwrap())
        .ok_or("no session cookie after login")?;
    header
        .to_str()
        .map(str::to_owned)
        .map_err(|e| e.to_string())
}

/// Full logins, `LOGIN_CONCURRENCY` at a time, for the run's duration.
pub async fn logins(mode: &Mode, base: &Url, server_pid: u32) -> Result<Measure, String> {
    let run = |duration: Duration| {
        let base = base.clone();
        async move {
            let deadline = Instant::now() + duration;
            let workers = (0..LOGIN_CONCURRENCY).map(|worker| {
                let base = base.clone();
                async move {
                    let mut latencies = Vec::new();
                    let mut errors = 0u64;
                    let mut i = 0;
                    while Instant::now() < deadline {
                        let client = browser();
                        let started = Instant::now();
                        let email = format!("user{worker}-{i}@example.com");
                        match full_login(&client, &base, &email).await {
                            Ok(()) => latencies.push(started.elapsed()),
                            Err(e) => {
                                errors += 1;
                                eprintln!("login failed: {e}");
                            }
                        }
                        i += 1;
                    }
                    (latencies, errors)
                }
            });
            futures_util::future::join_all(workers).await
        }
    };
    run(mode.warmup).await;
    let cpu_before = super::server::cpu_times(server_pid)?;
    let started = Instant::now();
    let results = run(mode.duration).await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = super::server::cpu_times(server_pid)? - cpu_before;
    let errors = results.iter().map(|(_, e)| e).sum();
    let mut latencies: Vec<Duration> = results.into_iter().flat_map(|(l, _)| l).collect();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Ok(Measure {
        name: "full login (x16)",
        requests_per_sec: latencies.len() as f64 / elapsed,
        count: latencies.len() as f64,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        errors,
        limit: false,
        cpu_s: cpu.total(),
        user_s: cpu.user,
        added_work_us: None,
        rounds: Vec::new(),
    })
}

pub async fn tenant_stats(tenant: &Url) -> Result<serde_json::Value, String> {
    let stats = browser()
        .get(tenant.join("/dev/stats").unwrap())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    stats.json().await.map_err(|e| e.to_string())
}
