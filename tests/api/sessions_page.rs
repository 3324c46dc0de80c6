//! "Signed-in sessions" on `/profile`: the user's live sessions (browser, started, last seen,
//! this one marked), "Sign out" of one, "Sign out of all other sessions"; POST forms with the
//! CSRF token, and only the user's own sessions.

use reqwest::StatusCode;

use crate::support::app::{spawn_app, spawn_app_with, TestApp};
use crate::support::browser::{location_str, session_cookie_set_by, status_with_cookie, Browser};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

async fn log_in(app: &TestApp, browser: &Browser, email: &str) -> String {
    let response = app.login_in(browser, email, None).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    session_cookie_set_by(&response).expect("a session cookie")
}

async fn profile_page(app: &TestApp, browser: &Browser) -> String {
    let response = browser.get(app.url("/profile")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

/// The sessions the page lists: (handle, the text of its entry).
fn listed(page: &str) -> Vec<(String, String)> {
    page.split(r#"<li class="session"#)
        .skip(1)
        .map(|entry| {
            let entry = &entry[..entry.find("</li>").expect("an entry ends")];
            let start = entry.find(r#"data-session=""#).unwrap() + r#"data-session=""#.len();
            let handle = entry[start..start + 32].to_owned();
            (handle, entry.to_owned())
        })
        .collect()
}

fn csrf_in(page: &str) -> String {
    let start = page.find(r#"name="csrf" value=""#).unwrap() + r#"name="csrf" value=""#.len();
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}

async fn post(browser: &Browser, app: &TestApp, path: &str, form: &[(&str, &str)]) -> StatusCode {
    let response = browser.post(app.url(path)).form(form).send().await.unwrap();
    if response.status() == StatusCode::SEE_OTHER {
        assert_eq!(location_str(&response), "/profile#sessions");
    }
    response.status()
}

async fn is_live(app: &TestApp, cookie: &str) -> bool {
    status_with_cookie(app.url("/profile"), cookie).await == StatusCode::OK
}

#[actix_web::test]
async fn the_profile_lists_the_users_sessions_and_signs_out_another_one() {
    crate::engine!();
    let app = spawn_app().await;
    let (here, phone) = (
        Browser::with_user_agent(FIREFOX),
        Browser::with_user_agent(SAFARI),
    );
    log_in(&app, &here, "ada@example.com").await;
    let phone_cookie = log_in(&app, &phone, "ada@example.com").await;
    let someone_else = Browser::new();
    let theirs = log_in(&app, &someone_else, "bob@example.com").await;

    let page = profile_page(&app, &here).await;
    let sessions = listed(&page);
    assert_eq!(sessions.len(), 2, "{page}");
    let current: Vec<_> = sessions.iter().filter(|(_, e)| e.contains("this session")).collect();
    assert_eq!(current.len(), 1);
    assert!(current[0].1.contains("Firefox on Linux"), "{}", current[0].1);
    let (phone_handle, phone_entry) = sessions
        .iter()
        .find(|(_, e)| !e.contains("this session"))
        .unwrap();
    assert!(phone_entry.contains("Safari on iOS"), "{phone_entry}");
    assert!(phone_entry.contains("Started "), "{phone_entry}");
    // Session ids never reach the page.
    let ids = app.query_texts("SELECT id FROM user_sessions LIMIT 1", &[]).await;
    assert!(!page.contains(ids[0].as_deref().unwrap()));
    let csrf = csrf_in(&page);

    // Without the CSRF token, or with another one, nothing ends.
    let form = [("session", phone_handle.as_str())];
    assert_eq!(
        post(&here, &app, "/profile/sessions/end", &form).await,
        StatusCode::FORBIDDEN
    );
    let forged = [("csrf", "forged"), ("session", phone_handle.as_str())];
    assert_eq!(
        post(&here, &app, "/profile/sessions/end", &forged).await,
        StatusCode::FORBIDDEN
    );
    assert!(is_live(&app, &phone_cookie).await);

    // Another user's session is not ours to end, even with its handle.
    let bob_page = profile_page(&app, &someone_else).await;
    let (bob_handle, _) = listed(&bob_page).remove(0);
    let form = [("csrf", csrf.as_str()), ("session", bob_handle.as_str())];
    assert_eq!(
        post(&here, &app, "/profile/sessions/end", &form).await,
        StatusCode::NOT_FOUND
    );
    assert!(is_live(&app, &theirs).await);

    let form = [("csrf", csrf.as_str()), ("session", phone_handle.as_str())];
    assert_eq!(
        post(&here, &app, "/profile/sessions/end", &form).await,
        StatusCode::SEE_OTHER
    );
    assert!(!is_live(&app, &phone_cookie).await, "a copy of the phone's cookie is dead");
    assert!(app.is_anonymous_in(&phone).await);
    assert!(!app.is_anonymous_in(&here).await, "this session goes on");
    assert_eq!(listed(&profile_page(&app, &here).await).len(), 1);
}

#[actix_web::test]
async fn sign_out_of_all_other_sessions_keeps_only_this_one() {
    crate::engine!();
    let app = spawn_app().await;
    let here = Browser::new();
    log_in(&app, &here, "ada@example.com").await;
    let mut others = Vec::new();
    for _ in 0..3 {
        others.push(log_in(&app, &Browser::new(), "ada@example.com").await);
    }
    let bob = log_in(&app, &Browser::new(), "bob@example.com").await;
    let page = profile_page(&app, &here).await;
    assert_eq!(listed(&page).len(), 4);
    assert!(page.contains("Sign out of all other sessions"));
    let csrf = csrf_in(&page);
    assert_eq!(
        post(&here, &app, "/profile/sessions/end-others", &[]).await,
        StatusCode::FORBIDDEN,
        "no CSRF token"
    );
    assert!(is_live(&app, &others[0]).await);
    assert_eq!(
        post(&here, &app, "/profile/sessions/end-others", &[("csrf", &csrf)]).await,
        StatusCode::SEE_OTHER
    );
    for cookie in &others {
        assert!(!is_live(&app, cookie).await);
    }
    assert!(is_live(&app, &bob).await, "another user's sessions stay");
    let page = profile_page(&app, &here).await;
    assert_eq!(listed(&page).len(), 1);
    assert!(!page.contains("Sign out of all other sessions"));
}

#[actix_web::test]
async fn last_seen_is_written_once_per_granularity_not_on_every_request() {
    crate::engine!();
    // An idle timeout of 8 s makes the granularity 2 s (a quarter), not a minute.
    let app = spawn_app_with(&[("SESSION_ROLLING_DURATION", "8")]).await;
    log_in(&app, &app.browser, "ada@example.com").await;
    let last_seen = || async {
        app.query_texts("SELECT CAST(last_seen_at AS TEXT) FROM user_sessions", &[])
            .await
            .remove(0)
    };
    assert_eq!(app.get("/profile").await.status(), StatusCode::OK);
    assert_eq!(last_seen().await, None, "not written within the granularity");
    // Wait for the write, by asking as a browser would.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let written = loop {
        assert_eq!(app.get("/profile").await.status(), StatusCode::OK);
        if let Some(at) = last_seen().await {
            break at;
        }
        assert!(std::time::Instant::now() < deadline, "last seen never written");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    for _ in 0..5 {
        assert_eq!(app.get("/profile").await.status(), StatusCode::OK);
    }
    assert_eq!(last_seen().await, Some(written), "requests right after write nothing");
}

#[actix_web::test]
async fn a_replayed_old_cookie_does_not_write_last_seen_on_every_request() {
    crate::engine!();
    // Idle timeout 20 s: activity is recorded every 5 s at most.
    let app = spawn_app_with(&[("SESSION_ROLLING_DURATION", "20")]).await;
    // A client that ignores Set-Cookie and replays the login's cookie: it always looks due.
    let cookie = log_in(&app, &Browser::new(), "ada@example.com").await;
    let last_seen = || async {
        app.query_texts("SELECT CAST(last_seen_at AS TEXT) FROM user_sessions", &[])
            .await
            .remove(0)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let written = loop {
        assert!(is_live(&app, &cookie).await);
        if let Some(at) = last_seen().await {
            break at;
        }
        assert!(std::time::Instant::now() < deadline, "last seen never written");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    // Replays across the next two seconds (a write would store another second) change nothing.
    let until = chrono::Utc::now().timestamp() + 2;
    while chrono::Utc::now().timestamp() <= until {
        assert!(is_live(&app, &cookie).await);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(last_seen().await, Some(written));
}
