//! The tenant's own sessions and back-channel logout. A login at the form (or through Lock)
//! opens a session here, named by its `sid` (in the ID token) and kept in the browser's
//! `dev_tenant_session` cookie; a later login of the same user in that browser joins it, as
//! Auth0's single sign-on does. When a session ends here (`/v2/logout`, `/oidc/logout`, or
//! "Log out everywhere" on `/dev/sessions`), the tenant POSTs a logout token (OpenID Connect
//! Back-Channel Logout 1.0) to every registered app's back-channel logout URI, and waits for
//! their answers before it answers the browser (so what follows sees the sessions ended).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

use super::keys;
use super::pages::{html, page_error};
use super::state::{random_token, DevUser, TenantState};
use crate::auth0::BACKCHANNEL_LOGOUT_EVENT;

/// The browser's session at the tenant.
pub(super) const SESSION_COOKIE: &str = "dev_tenant_session";
/// How long an app may take to answer a logout token.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a logout token is good for (Auth0: 2 minutes).
const LOGOUT_TOKEN_LIFETIME_SECS: i64 = 120;

/// A session at the tenant.
#[derive(Debug, Clone)]
pub(super) struct TenantSession {
    pub(super) user: DevUser,
    pub(super) started: chrono::DateTime<chrono::Utc>,
    /// When the credentials were last entered in it (Unix seconds).
    pub(super) auth_time: i64,
}

/// The tenant's sessions, by `sid`.
#[derive(Default)]
pub(super) struct TenantSessions {
    by_sid: HashMap<String, TenantSession>,
}

impl TenantSessions {
    /// The session `cookie` names if it is `user`'s (single sign-on), else a new one: its `sid`.
    /// Credentials entered now (`auth_time`) refresh the session's; `None` keeps it ("continue").
    pub(super) fn join_or_open(
        &mut self,
        cookie: Option<&str>,
        user: &DevUser,
        auth_time: Option<i64>,
    ) -> String {
        if let Some(sid) = cookie.filter(|sid| {
            self.by_sid
                .get(*sid)
                .is_some_and(|s| s.user.sub == user.sub)
        }) {
            if let (Some(session), Some(at)) = (self.by_sid.get_mut(sid), auth_time) {
                session.auth_time = at;
            }
            return sid.to_owned();
        }
        let sid = random_token(16);
        self.by_sid.insert(
            sid.clone(),
            TenantSession {
                user: user.clone(),
                started: chrono::Utc::now(),
                auth_time: auth_time.unwrap_or_else(|| chrono::Utc::now().timestamp()),
            },
        );
        sid
    }

    /// The session `cookie` names, if it is live.
    pub(super) fn get(&self, cookie: Option<&str>) -> Option<TenantSession> {
        self.by_sid.get(cookie?).cloned()
    }

    /// Ends the session `sid`, if there is one.
    pub(super) fn end(&mut self, sid: &str) -> Option<TenantSession> {
        self.by_sid.remove(sid)
    }

    /// Ends every session of `sub`; returns how many there were.
    pub(super) fn end_all_of(&mut self, sub: &str) -> usize {
        let before = self.by_sid.len();
        self.by_sid.retain(|_, s| s.user.sub != sub);
        before - self.by_sid.len()
    }
}

impl TenantState {
    /// The sid of `req`'s browser session for `user` (joined or opened), and the cookie that
    /// keeps it.
    pub(super) fn session_for(
        &self,
        req: &HttpRequest,
        user: &DevUser,
        auth_time: Option<i64>,
    ) -> (String, Cookie<'static>) {
        let cookie = req.cookie(SESSION_COOKIE);
        let sid = self.sessions.lock().expect("lock").join_or_open(
            cookie.as_ref().map(Cookie::value),
            user,
            auth_time,
        );
        let cookie = Cookie::build(SESSION_COOKIE, sid.clone())
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .finish();
        (sid, cookie)
    }

    /// The browser's live session here, if it has one.
    pub(super) fn browser_session(&self, req: &HttpRequest) -> Option<TenantSession> {
        let cookie = req.cookie(SESSION_COOKIE);
        self.sessions
            .lock()
            .expect("lock")
            .get(cookie.as_ref().map(Cookie::value))
    }

    /// Ends the browser's session (its cookie; a `logout_hint` naming another session ends
    /// nothing: knowing a `sid` is not being its browser) and tells every registered app.
    pub(super) async fn log_out_browser(&self, req: &HttpRequest, hint: Option<&str>) {
        let Some(sid) = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
            return;
        };
        if hint.is_some_and(|hint| hint != sid) {
            return;
        }
        let ended = self.sessions.lock().expect("lock").end(&sid);
        if let Some(session) = ended {
            self.send_logout_tokens(Some(&session.user.sub), Some(&sid))
                .await;
        }
    }

    /// POSTs a logout token naming `sub` and/or `sid` to every registered back-channel logout
    /// URI, one at a time, each within [`DELIVERY_TIMEOUT`]. Failures are counted and logged.
    pub(super) async fn send_logout_tokens(&self, sub: Option<&str>, sid: Option<&str>) {
        static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
        let client = CLIENT.get_or_init(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(DELIVERY_TIMEOUT)
                .build()
                .expect("a client with static settings builds")
        });
        for uri in &self.registration.backchannel_logout_urls {
            let token = self.logout_token(sub, sid);
            let sent = client
                .post(uri.clone())
                .form(&[("logout_token", token.as_str())])
                .send()
                .await;
            match sent {
                Ok(response) if response.status().as_u16() == 200 => {
                    self.counters.backchannel.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(%uri, "dev tenant: logout token delivered");
                }
                Ok(response) => {
                    self.counters
                        .backchannel_failed
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%uri, status = %response.status(), "dev tenant: logout token refused");
                }
                Err(e) => {
                    self.counters
                        .backchannel_failed
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%uri, error = %e, "dev tenant: logout token not delivered");
                }
            }
        }
    }

    /// A logout token (§2.4): signed like the ID tokens, `typ` `logout+jwt`, for this client.
    pub(super) fn logout_token(&self, sub: Option<&str>, sid: Option<&str>) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut claims = json!({
            "iss": self.issuer.as_str(),
            "aud": self.client_id,
            "iat": now,
            "exp": now + LOGOUT_TOKEN_LIFETIME_SECS,
            "jti": random_token(16),
            "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
        });
        let object = claims.as_object_mut().expect("an object");
        if let Some(sub) = sub {
            object.insert("sub".into(), json!(sub));
        }
        if let Some(sid) = sid {
            object.insert("sid".into(), json!(sid));
        }
        keys::signing_key().sign("logout+jwt", &claims)
    }
}

/// The cookie that forgets the browser's tenant session.
pub(super) fn session_cookie_removal() -> Cookie<'static> {
    let mut cookie = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    cookie.make_removal();
    cookie
}

/// One user's sessions, as `/dev/sessions` lists them.
struct UserSessions {
    email: String,
    sub: String,
    /// (start time, first characters of the sid), oldest first.
    sessions: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "dev_tenant/sessions.html")]
struct SessionsPage {
    users: Vec<UserSessions>,
}

/// `GET /dev/sessions`: every session at this tenant, by user, each user with a "Log out
/// everywhere" button.
pub(super) async fn list(tenant: web::Data<TenantState>) -> HttpResponse {
    let mut by_sub: HashMap<String, UserSessions> = HashMap::new();
    {
        let sessions = tenant.sessions.lock().expect("lock");
        for (sid, session) in &sessions.by_sid {
            let entry = by_sub
                .entry(session.user.sub.clone())
                .or_insert_with(|| UserSessions {
                    email: session.user.email.clone(),
                    sub: session.user.sub.clone(),
                    sessions: Vec::new(),
                });
            entry.sessions.push((
                session.started.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                sid.chars().take(8).collect(),
            ));
        }
    }
    let mut users: Vec<UserSessions> = by_sub.into_values().collect();
    users.sort_by(|a, b| a.email.cmp(&b.email));
    for user in &mut users {
        user.sessions.sort();
    }
    html(StatusCode::OK, SessionsPage { users }.render())
}

#[derive(Deserialize)]
pub(super) struct EverywhereForm {
    sub: String,
}

/// `POST /dev/sessions/logout-everywhere`: ends every session of the user at the tenant and
/// sends each app a logout token naming the user (`sub`, no `sid`): all their sessions end.
/// Only a form from the tenant's own page is accepted (its `Origin`; none is refused too).
pub(super) async fn log_out_everywhere(
    tenant: web::Data<TenantState>,
    req: HttpRequest,
    form: web::Form<EverywhereForm>,
) -> HttpResponse {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let ours = tenant.issuer.origin().ascii_serialization();
    if origin != Some(ours.as_str()) {
        return page_error(
            StatusCode::FORBIDDEN,
            "Not from this tenant",
            "This form only works from the tenant's own sessions page.",
        );
    }
    let ended = tenant.sessions.lock().expect("lock").end_all_of(&form.sub);
    tracing::info!(sessions = ended, "dev tenant: logged out everywhere");
    tenant.send_logout_tokens(Some(&form.sub), None).await;
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/dev/sessions"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}
