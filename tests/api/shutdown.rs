//! Graceful shutdown: on SIGTERM the app stops accepting, finishes the requests in flight (a
//! login in its callback completes), then exits 0.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use url::Url;

use crate::support::hostile_idp::{HostileIdp, TokenAnswer, CLIENT_ID, CLIENT_SECRET};
use crate::support::{first_line_matching, location, query_param, Browser, TEST_SESSION_KEY};

#[actix_web::test]
async fn on_sigterm_a_login_in_its_callback_completes_and_the_app_exits_0() {
    crate::engine!();
    let idp = HostileIdp::start();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let home = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = crate::support::engine::fresh_database_url(dir.path()).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_auth0-actix"))
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("DATABASE_URL", &database_url)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("AUTH0_DOMAIN", idp.issuer().as_str().trim_end_matches('/'))
        .env("AUTH0_CLIENT_ID", CLIENT_ID)
        .env("AUTH0_SECRET", CLIENT_SECRET)
        .env(
            "AUTH0_CALLBACK_URL",
            home.join("/callback").unwrap().as_str(),
        )
        .env("SESSION_KEY", TEST_SESSION_KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = first_line_matching(
        child.stdout.take().unwrap(),
        |l| l.starts_with("Open "),
        Duration::from_secs(20),
    );
    assert!(started.is_some(), "the app started");

    // A login whose token exchange takes two seconds: its callback is in flight for that long.
    let browser = Browser::new();
    let authorize = location(
        &browser
            .get(home.join("/login").unwrap())
            .send()
            .await
            .unwrap(),
    );
    let (state, nonce) = (
        query_param(&authorize, "state").unwrap(),
        query_param(&authorize, "nonce").unwrap(),
    );
    let token = idp.rs256(&idp.claims(&nonce));
    idp.answer_token(TokenAnswer::IdTokenAfter(Duration::from_secs(2), token));
    let mut callback = home.join("/callback").unwrap();
    callback
        .query_pairs_mut()
        .append_pair("code", "code")
        .append_pair("state", &state);
    let in_flight = browser.get(callback).send();
    let terminate = async {
        // Once the app is waiting on the tenant, SIGTERM it.
        let deadline = Instant::now() + Duration::from_secs(10);
        while idp.calls().token.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            assert!(
                Instant::now() < deadline,
                "the callback reached the token endpoint"
            );
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
    };
    let (response, ()) = tokio::join!(in_flight, terminate);
    let response = response.expect("the callback in flight is answered");
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        location(&response).path(),
        "/profile",
        "the login completed"
    );

    // Then the process ends by itself, with 0, and accepts nothing more.
    let status = actix_web::rt::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
