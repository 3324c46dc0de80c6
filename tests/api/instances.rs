//! Several instances on one Postgres database: a logout on one is seen by the others at once;
//! the database going away and coming back.

use std::time::{Duration, Instant};

use auth0_actix::dev_tenant::{DevTenant, Registration};
use reqwest::StatusCode;
use url::Url;

use crate::support::postgres::PgServer;
use crate::support::{spawn_app_for_tenant, status_with_cookie, Browser, TenantClient, TestApp};

/// The guarantee on Postgres (README, "Run several instances"): a revocation reaches every
/// instance within this.
const REVOCATION_REACHES_EVERY_INSTANCE: Duration = Duration::from_secs(1);

/// `n` instances of the app on one database, all clients of one dev tenant, sharing the session
/// key: what a deployment behind a load balancer is. The tenant comes back too.
async fn instances(n: usize, vars: &[(&str, &str)]) -> (Vec<TestApp>, DevTenant) {
    let listeners: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let callbacks: Vec<Url> = listeners
        .iter()
        .map(|l| Url::parse(&format!("http://{}/callback", l.local_addr().unwrap())).unwrap())
        .collect();
    let tenant = DevTenant::start(Registration::for_callbacks(
        "several instances",
        callbacks.clone(),
    ))
    .await
    .unwrap();
    let settings = tenant.tenant_settings();
    let client = TenantClient::of(&settings);
    let mut apps: Vec<TestApp> = Vec::new();
    for (listener, callback) in listeners.into_iter().zip(&callbacks) {
        let mut env = vars.to_vec();
        let shared = apps.first().map(|first| first.database_url.clone());
        if let Some(url) = &shared {
            env.push(("DATABASE_URL", url));
        }
        apps.push(spawn_app_for_tenant(listener, &client, callback.as_str(), &env).await);
    }
    (apps, tenant)
}

/// How long until the session `cookie` (`name=value`, replayed as a copied cookie would be) is
/// anonymous at `profile` (an instance's `/profile`), polling; `None` past `limit`.
async fn time_until_anonymous(profile: Url, cookie: &str, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if status_with_cookie(profile.clone(), cookie).await == StatusCode::FOUND {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    None
}

/// A browser logged in (at the first instance) whose session every instance has cached; and
/// its session cookie. Cookies are per host, not port: it carries one session to all of them.
async fn logged_in_everywhere(apps: &[TestApp]) -> (Browser, String) {
    let browser = Browser::new();
    let done = apps[0].login_in(&browser, "ada@example.com", None).await;
    assert_eq!(done.status(), StatusCode::FOUND);
    for app in apps {
        // Twice: the second answer comes from the instance's cache.
        for _ in 0..2 {
            let profile = browser.get(app.url("/profile")).send().await.unwrap();
            assert_eq!(profile.status(), StatusCode::OK, "{}", app.address);
        }
    }
    let cookie = browser.session_cookie(&apps[0].address).unwrap();
    (browser, cookie)
}

#[actix_web::test]
async fn a_logout_on_one_instance_makes_the_cookie_anonymous_on_the_others_within_a_second() {
    crate::engine!();
    let (apps, _tenant) = instances(3, &[]).await;
    let (browser, cookie) = logged_in_everywhere(&apps).await;
    assert_eq!(
        apps[1].log_out_in(&browser).await.status(),
        StatusCode::FOUND
    );
    for app in [&apps[0], &apps[2]] {
        let took = time_until_anonymous(app.url("/profile"), &cookie, Duration::from_secs(6)).await;
        let took = took.expect("the session ends everywhere");
        eprintln!("revoked at {} after {took:?}", app.address);
        assert!(took < REVOCATION_REACHES_EVERY_INSTANCE, "{took:?}");
    }
}

/// The cache's lease is renewed: a following instance answers a logged-in page from its cache.
/// (A session row deleted with the revocation trigger off makes no notification: the instance
/// serves the session until its cache entry expires, which only a serving cache can.)
#[actix_web::test]
async fn a_following_instance_serves_a_cached_session_without_asking_the_database() {
    crate::engine!();
    let (apps, _tenant) = instances(1, &[]).await;
    let app = &apps[0];
    app.login_as("ada@example.com").await;
    let start = Instant::now();
    loop {
        assert_eq!(app.get("/profile").await.status(), StatusCode::OK);
        app.execute("ALTER TABLE user_sessions DISABLE TRIGGER USER")
            .await;
        app.execute("DELETE FROM user_sessions").await;
        let served = app.get("/profile").await.status();
        if served == StatusCode::OK {
            break;
        }
        // The instance was not following yet (it follows once its first probe is back):
        // log in again and retry.
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "never served: {served}"
        );
        app.execute("ALTER TABLE user_sessions ENABLE TRIGGER USER")
            .await;
        app.login_as("ada@example.com").await;
    }
}

/// A NAT or firewall that drops the listener's idle connection without a word leaves it waiting
/// for notifications that never come: the instance's cache must stop serving (its probes do not
/// come back, so its lease runs out), or a logout elsewhere goes unseen for the cache's TTL.
/// Then it listens again on a new connection.
#[actix_web::test]
async fn a_logout_reaches_an_instance_whose_listener_connection_went_silent_within_a_second() {
    use crate::support::silent_proxy::SilentProxy;
    crate::engine!();
    let admin = crate::support::engine::postgres_admin_url().unwrap();
    let database = crate::support::engine::new_postgres_database(&admin).await;
    let proxy = SilentProxy::start(&database).await;
    let (apps, _tenant) = instances(2, &[("DATABASE_URL", &proxy.url_for(&database))]).await;
    // Each instance follows once its first probe came back.
    wait_for("both instances follow", || proxy.following().len() >= 2).await;
    let (browser, cookie) = logged_in_everywhere(&apps).await;
    // Every instance has just cached the session; now their listeners hear nothing more, while
    // their requests still reach the database.
    let silenced = proxy.silence_listeners();
    assert_eq!(silenced.len(), 2, "one listener per instance: {silenced:?}");
    assert_eq!(
        apps[1].log_out_in(&browser).await.status(),
        StatusCode::FOUND
    );
    let took = time_until_anonymous(apps[0].url("/profile"), &cookie, Duration::from_secs(6)).await;
    let took = took.expect("the session ends");
    assert!(took < REVOCATION_REACHES_EVERY_INSTANCE, "{took:?}");
    // Both listen again, on new connections, and hear their probes.
    wait_for("listening again", || proxy.following() == silenced).await;
}

/// Polls until `done`; fails the test with `what` after 10 s.
async fn wait_for(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(10), "{what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_web::test]
async fn a_back_channel_logout_at_one_instance_ends_the_session_on_the_others_within_a_second() {
    crate::engine!();
    let (apps, tenant) = instances(3, &[]).await;
    let (_browser, cookie) = logged_in_everywhere(&apps).await;
    let sub = apps[0]
        .query_texts("SELECT sub FROM user_profiles", &[])
        .await
        .remove(0)
        .unwrap();
    let token = tenant.logout_token(Some(&sub), None);
    let answer = reqwest::Client::new()
        .post(apps[2].url("/backchannel-logout"))
        .form(&[("logout_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    for app in [&apps[0], &apps[1]] {
        let took = time_until_anonymous(app.url("/profile"), &cookie, Duration::from_secs(6)).await;
        let took = took.expect("the session ends everywhere");
        assert!(took < REVOCATION_REACHES_EVERY_INSTANCE, "{took:?}");
    }
}

#[actix_web::test]
async fn an_operators_delete_or_expiry_revokes_the_session_on_every_instance_at_once() {
    crate::engine!();
    let (apps, _tenant) = instances(2, &[]).await;
    for statement in [
        // Deleting the user (its sessions go with it, by cascade).
        "DELETE FROM user_profiles",
        // Ending every session now.
        "UPDATE user_sessions SET expires_at = now()",
    ] {
        let browser = Browser::new();
        apps[0].login_in(&browser, "ada@example.com", None).await;
        for app in &apps {
            let profile = browser.get(app.url("/profile")).send().await.unwrap();
            assert_eq!(profile.status(), StatusCode::OK);
        }
        let cookie = browser.session_cookie(&apps[0].address).unwrap();
        apps[0].execute(statement).await;
        for app in &apps {
            let took =
                time_until_anonymous(app.url("/profile"), &cookie, Duration::from_secs(6)).await;
            let took = took.expect("the session ends everywhere");
            assert!(
                took < REVOCATION_REACHES_EVERY_INSTANCE,
                "{statement}: {took:?}"
            );
        }
    }
}

/// A GET's status and how long it took.
async fn timed_get(app: &TestApp, browser: &Browser, path: &str) -> (StatusCode, Duration) {
    let start = Instant::now();
    let status = browser.get(app.url(path)).send().await.unwrap().status();
    (status, start.elapsed())
}

#[actix_web::test]
async fn with_postgres_down_pages_that_need_it_answer_503_quickly_and_all_recovers() {
    crate::engine!();
    let server = match PgServer::start() {
        Ok(server) => server,
        Err(why) => return crate::support::engine::skip(&why),
    };
    let database = crate::support::engine::new_postgres_database(&server.admin_url()).await;
    let (apps, _tenant) = instances(1, &[("DATABASE_URL", &database)]).await;
    let app = &apps[0];
    app.login_as("ada@example.com").await;
    assert_eq!(app.get("/profile").await.status(), StatusCode::OK);

    // Off the test's thread: the app's tasks on it (its revocation listener) keep running.
    let server = std::sync::Arc::new(server);
    let stopping = server.clone();
    tokio::task::spawn_blocking(move || stopping.stop())
        .await
        .unwrap()
        .unwrap();
    for path in ["/profile", "/", "/healthz"] {
        let (status, took) = timed_get(app, &app.browser, path).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(took < Duration::from_secs(2), "{path}: {took:?}");
    }
    // Pages that do not need the database keep serving.
    for path in ["/", "/logout", "/static/style.css"] {
        let (status, took) = timed_get(app, &Browser::new(), path).await;
        assert_eq!(status, StatusCode::OK, "{path} for a visitor");
        assert!(took < Duration::from_secs(2), "{path}: {took:?}");
    }

    let starting = server.clone();
    tokio::task::spawn_blocking(move || starting.start_again())
        .await
        .unwrap()
        .unwrap();
    let start = Instant::now();
    while app.get("/healthz").await.status() != StatusCode::OK {
        assert!(start.elapsed() < Duration::from_secs(10), "recovers");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.get("/profile").await.status(),
        StatusCode::OK,
        "the session survived"
    );
    let login = app
        .login_in(&Browser::new(), "grace@example.com", None)
        .await;
    assert_eq!(login.status(), StatusCode::FOUND, "logins work again");
}

/// A whole login through `public` (the proxy): `/login`, the tenant's form, the callback.
async fn log_in_through(browser: &Browser, public: &Url, email: &str) -> reqwest::Response {
    let login = browser
        .get(public.join("/login").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::FOUND);
    let callback = browser
        .submit_tenant_form(&crate::support::location(&login), email, "pw")
        .await;
    browser.get(callback).send().await.unwrap()
}

/// The successful logins an instance counted (its Prometheus metrics).
async fn successful_logins(metrics: &str) -> u64 {
    let text = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(r#"auth0_logins_total{outcome="success"} "#))
        .map_or(0, |n| n.parse().unwrap())
}

#[actix_web::test]
async fn three_instances_behind_nginx_share_logins_logouts_and_survive_losing_one() {
    use crate::support::nginx::{free_port, Nginx};
    use crate::support::processes::{standalone_tenant, Process};
    crate::engine!();
    let public_port = free_port();
    let public = Url::parse(&format!("https://127.0.0.1:{public_port}/")).unwrap();
    let callback = public.join("/callback").unwrap().to_string();
    let (_tenant, printed) = standalone_tenant(std::slice::from_ref(&callback)).await;
    let admin = crate::support::engine::postgres_admin_url().unwrap();
    let database = crate::support::engine::new_postgres_database(&admin).await;
    let addrs: Vec<std::net::SocketAddr> = (0..3)
        .map(|_| format!("127.0.0.1:{}", free_port()).parse().unwrap())
        .collect();
    let metrics: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let mut instances: Vec<Process> = Vec::new();
    for (addr, metrics) in addrs.iter().zip(&metrics) {
        let bind = addr.to_string();
        instances.push(Process::app(&[
            ("BIND_ADDR", &bind),
            ("METRICS_ADDR", metrics),
            ("DATABASE_URL", &database),
            ("AUTH0_DOMAIN", &printed["AUTH0_DOMAIN"]),
            ("AUTH0_CLIENT_ID", &printed["AUTH0_CLIENT_ID"]),
            ("AUTH0_SECRET", &printed["AUTH0_SECRET"]),
            ("AUTH0_CALLBACK_URL", &callback),
            ("SESSION_KEY", crate::support::TEST_SESSION_KEY),
        ]));
    }
    let nginx = match Nginx::start(public_port, &addrs) {
        Ok(nginx) => nginx,
        Err(why) => return crate::support::engine::skip(&why),
    };
    let db = sqlx::PgPool::connect(&database).await.unwrap();
    let login_count = || async {
        sqlx::query_scalar::<_, i64>("SELECT login_count FROM user_profiles")
            .fetch_optional(&db)
            .await
            .unwrap()
    };

    // 50 concurrent logins of one user, each in its own browser, round robin over the three:
    // whichever instance starts a login and whichever takes its callback, it succeeds.
    let logins = (0..50).map(|_| {
        let (public, certificate) = (&public, &nginx.certificate);
        async move {
            let browser = Browser::trusting(certificate);
            let done = log_in_through(&browser, public, "ada@example.com").await;
            crate::support::location_str(&done).to_owned()
        }
    });
    let landed = futures_util::future::join_all(logins).await;
    assert!(landed.iter().all(|l| l == "/profile"), "{landed:?}");
    assert_eq!(
        login_count().await,
        Some(50),
        "one row, every login counted"
    );
    for metrics in &metrics {
        assert!(
            successful_logins(metrics).await > 0,
            "{metrics} took callbacks"
        );
    }

    // A logout through the proxy revokes the session on all three.
    let browser = Browser::trusting(&nginx.certificate);
    log_in_through(&browser, &public, "ada@example.com").await;
    let cookie = browser
        .session_cookie(&public)
        .expect("a __Host- session cookie");
    assert!(cookie.starts_with("__Host-auth0_session="), "{cookie}");
    for addr in &addrs {
        let direct = Url::parse(&format!("http://{addr}/profile")).unwrap();
        assert_eq!(status_with_cookie(direct, &cookie).await, StatusCode::OK);
    }
    let logout = crate::support::log_out_at(&browser, &public).await;
    assert_eq!(logout.status(), StatusCode::FOUND);
    for addr in &addrs {
        let direct = Url::parse(&format!("http://{addr}/profile")).unwrap();
        let took = time_until_anonymous(direct, &cookie, Duration::from_secs(6)).await;
        let took = took.expect("the session ends on every instance");
        assert!(took < REVOCATION_REACHES_EVERY_INSTANCE, "{addr}: {took:?}");
    }

    // One instance dies mid-traffic: every request of a logged-in browser is still served.
    let browser = Browser::trusting(&nginx.certificate);
    log_in_through(&browser, &public, "grace@example.com").await;
    let served = std::sync::atomic::AtomicUsize::new(0);
    let halfway = tokio::sync::Notify::new();
    let traffic = futures_util::future::join_all((0..4).map(|_| async {
        let mut statuses = Vec::new();
        for _ in 0..40 {
            let profile = browser.get(public.join("/profile").unwrap()).send();
            statuses.push(profile.await.unwrap().status());
            if served.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 40 {
                halfway.notify_one();
            }
        }
        statuses
    }));
    let kill = async {
        halfway.notified().await;
        instances[1].kill();
    };
    let (statuses, ()) = tokio::join!(traffic, kill);
    let statuses: Vec<StatusCode> = statuses.into_iter().flatten().collect();
    assert_eq!(statuses.len(), 160);
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
}

#[actix_web::test]
async fn three_instances_refreshing_one_sessions_token_at_once_make_one_refresh_grant() {
    crate::engine!();
    let vars = [
        ("AUTH0_AUDIENCE", "https://api.example/messages"),
        ("AUTH0_SCOPE", "openid profile email offline_access"),
    ];
    let (apps, tenant) = instances(3, &vars).await;
    // The login's token is inside the 60 s refresh margin; the refresh gives an hour.
    tenant.set_access_token_ttl(Duration::from_secs(30));
    let browser = Browser::new();
    let done = apps[0].login_in(&browser, "shared@example.com", None).await;
    assert_eq!(done.status(), StatusCode::FOUND);
    tenant.set_access_token_ttl(Duration::from_secs(3600));
    // A slow refresh, so the instances' requests overlap it: without the row lock each would
    // refresh with the same token, and the second use would revoke the family.
    tenant.set_refresh_delay(Duration::from_millis(300));
    // Seven requests at each instance at once, one session: the row lock lets one instance
    // refresh, and the others read the tokens it stored.
    let browser = &browser;
    let requests = apps.iter().flat_map(|app| {
        (0..7).map(move |_| async move { browser.get(app.url("/messages")).send().await.unwrap() })
    });
    for response in futures_util::future::join_all(requests).await {
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.text().await.unwrap();
        assert!(body.contains("This is a protected message."), "{body}");
    }
    assert_eq!(
        tenant.stats().refresh,
        1,
        "one refresh grant across three instances"
    );
    assert_eq!(tenant.revoked_refresh_families(), 0);
}
