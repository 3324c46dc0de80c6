//! The app's pages: home, profile, logout confirmation, health. One template struct per page;
//! each carries the [`PageContext`] the base layout needs.

use actix_session::Session;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use actix_web::FromRequest;

use crate::auth0::{AccessToken, Auth0, AuthUser, LockWidget, MaybeUser, RecentLogin};
use crate::layout::PageContext;
use std::sync::Arc;

pub use crate::db::{safe_picture, PLACEHOLDER_AVATAR};
use crate::db::{Database, Profile, SessionCache};
use crate::error::PageError;
use crate::sessions_page::{self, SessionView, END_OTHER_SESSIONS_PATH, END_SESSION_PATH};

/// Mounts the pages. The auth0 module mounts `/login`, the callback and `POST /logout`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/profile", web::get().to(profile))
        .route("/logout", web::get().to(logout_confirm))
        .route("/messages", web::get().to(messages))
        .route("/step-up", web::get().to(step_up))
        .route("/healthz", web::get().to(healthz))
        .configure(sessions_page::configure);
}

/// A profile as pages show it: display name and a picture URL that is safe to put in `src`. It
/// borrows the (cached) profile: a page copies none of its strings.
pub struct ProfileView<'a> {
    pub display_name: &'a str,
    pub picture_url: &'a str,
    pub nickname: Option<&'a str>,
    pub email: Option<&'a str>,
    pub email_verified: Option<bool>,
    pub sub: &'a str,
    pub login_count: i64,
    pub first_login_at: &'a str,
    pub last_login_at: &'a str,
    /// Already escaped ([`crate::db::Shown::claims_html`]).
    pub claims_html: &'a str,
}

impl<'a> From<&'a Profile> for ProfileView<'a> {
    fn from(p: &'a Profile) -> Self {
        let shown = p.shown();
        Self {
            display_name: p
                .name
                .as_deref()
                .or(p.nickname.as_deref())
                .or(p.email.as_deref())
                .unwrap_or(&p.sub),
            picture_url: &shown.picture_url,
            nickname: p.nickname.as_deref(),
            email: p.email.as_deref(),
            email_verified: p.email_verified,
            sub: &p.sub,
            login_count: p.login_count,
            first_login_at: &shown.first_login_at,
            last_login_at: &shown.last_login_at,
            claims_html: &shown.claims_html,
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    ctx: PageContext,
    title: &'static str,
    profile: Option<ProfileView<'a>>,
    /// The Lock widget, for anonymous visitors.
    lock: Option<LockWidget>,
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage<'a> {
    ctx: PageContext,
    title: &'static str,
    p: ProfileView<'a>,
    /// The organization of this login (Auth0 Organizations), as "name (id)".
    organization: Option<String>,
    /// The user's live sessions, this one marked.
    sessions: Vec<SessionView>,
    end_session_path: &'static str,
    end_other_sessions_path: &'static str,
}

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage {
    ctx: PageContext,
    title: &'static str,
}

/// Renders a page; pages vary with the session, so no cache keeps them.
pub fn render(page: &impl Template) -> Result<HttpResponse, PageError> {
    let body = page.render()?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// The stored profile of the logged-in user's live session (cached for a few seconds).
async fn stored_profile(
    db: &Database,
    sessions: &SessionCache,
    user: &AuthUser,
) -> Result<Option<Arc<Profile>>, PageError> {
    let profile = sessions.profile(db, user).await?;
    // The id is ours, but check the sub too: a database swapped under a live session must not
    // show one user another's profile.
    Ok(profile.filter(|p| p.sub == user.sub))
}

/// Home: a logged-in user's welcome, or for anonymous visitors the embedded Lock widget (with
/// a fresh login transaction) beside the Universal Login button.
async fn home(
    req: HttpRequest,
    ctx: PageContext,
    user: MaybeUser,
    db: web::Data<Database>,
    sessions: web::Data<SessionCache>,
) -> Result<HttpResponse, actix_web::Error> {
    let stored = match &user.0 {
        Some(user) => stored_profile(&db, &sessions, user).await?,
        None => None,
    };
    let profile = stored.as_deref().map(ProfileView::from);
    let lock = match profile {
        None => Some(LockWidget::open(&req, "lock")?),
        Some(_) => None,
    };
    let csp = lock.as_ref().map(|l| l.content_security_policy.clone());
    let mut response = render(&HomePage {
        ctx,
        title: "Home",
        profile,
        lock,
    })?;
    if let Some(csp) = csp {
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_str(&csp).map_err(PageError::from)?,
        );
    }
    Ok(response)
}

async fn profile(
    ctx: PageContext,
    user: AuthUser,
    session: Session,
    db: web::Data<Database>,
    sessions: web::Data<SessionCache>,
) -> Result<HttpResponse, PageError> {
    match stored_profile(&db, &sessions, &user).await? {
        Some(profile) => render(&ProfilePage {
            ctx,
            title: "Your profile",
            p: profile.as_ref().into(),
            organization: user.organization.as_ref().map(|org| match &org.name {
                Some(name) => format!("{name} ({})", org.id),
                None => org.id.clone(),
            }),
            sessions: sessions_page::sessions_of(&db, &sessions, &user).await?,
            end_session_path: END_SESSION_PATH,
            end_other_sessions_path: END_OTHER_SESSIONS_PATH,
        }),
        None => {
            // The session names a user the database no longer has: start over.
            session.purge();
            Ok(HttpResponse::Found()
                .insert_header((header::LOCATION, "/login?next=%2Fprofile"))
                .finish())
        }
    }
}

#[derive(Template)]
#[template(path = "messages.html")]
struct MessagesPage {
    ctx: PageContext,
    title: &'static str,
    /// `None` when no API is configured (`AUTH0_AUDIENCE` unset).
    api: Option<ApiCalls>,
}

struct ApiCalls {
    audience: String,
    calls: Vec<ApiCall>,
}

/// One call to the API, as the page shows it.
struct ApiCall {
    name: &'static str,
    path: &'static str,
    status: String,
    ok: bool,
    body: String,
}

/// The API's routes this page calls.
const API_CALLS: [(&str, &str); 2] = [
    ("protected", "/api/messages/protected"),
    ("admin", "/api/messages/admin"),
];

/// `/messages`: calls the app's own API over HTTP with the user's access token (refreshed if it
/// is about to expire) and shows both answers; the admin one is a 403 without the permission.
/// The API's address is the callback's origin: configured, never taken from `Host`.
async fn messages(
    req: HttpRequest,
    ctx: PageContext,
    _user: AuthUser,
    auth0: web::Data<Auth0>,
) -> Result<HttpResponse, actix_web::Error> {
    let settings = auth0.settings();
    let Some(audience) = settings.audience.clone() else {
        return Ok(render(&MessagesPage {
            ctx,
            title: "Messages",
            api: None,
        })?);
    };
    let token = AccessToken::extract(&req).await?;
    let origin = settings.callback_url.origin().ascii_serialization();
    let mut calls = Vec::new();
    for (name, path) in API_CALLS {
        calls.push(call_api(&format!("{origin}{path}"), &token, name, path).await);
    }
    Ok(render(&MessagesPage {
        ctx,
        title: "Messages",
        api: Some(ApiCalls { audience, calls }),
    })?)
}

async fn call_api(
    url: &str,
    token: &AccessToken,
    name: &'static str,
    path: &'static str,
) -> ApiCall {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let client = CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("a client with static settings builds")
    });
    let answer = client.get(url).bearer_auth(&token.token).send().await;
    match answer {
        Ok(response) => {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            let body = serde_json::from_str::<serde_json::Value>(&body)
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or(body);
            ApiCall {
                name,
                path,
                status: status.to_string(),
                ok: status.is_success(),
                body,
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "messages: the API could not be called");
            ApiCall {
                name,
                path,
                status: "unreachable".into(),
                ok: false,
                body: "The API could not be reached.".into(),
            }
        }
    }
}

/// How recent a login `/step-up` needs: five minutes.
pub const STEP_UP_MAX_AGE_SECS: u64 = 300;

#[derive(Template)]
#[template(path = "step_up.html")]
struct StepUpPage {
    ctx: PageContext,
    title: &'static str,
    max_age_minutes: u64,
}

/// `/step-up`: a page for a recent login only (the [`RecentLogin`] guard): a session whose
/// credentials are older than five minutes is sent to enter them again, and comes back.
async fn step_up(
    ctx: PageContext,
    _user: RecentLogin<STEP_UP_MAX_AGE_SECS>,
) -> Result<HttpResponse, PageError> {
    render(&StepUpPage {
        ctx,
        title: "Recent login",
        max_age_minutes: STEP_UP_MAX_AGE_SECS / 60,
    })
}

async fn logout_confirm(ctx: PageContext) -> Result<HttpResponse, PageError> {
    render(&LogoutPage {
        ctx,
        title: "Log out",
    })
}

async fn healthz(db: web::Data<Database>) -> HttpResponse {
    match db.ping().await {
        Ok(()) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body("ok"),
        Err(e) => {
            tracing::error!(error = %e, "healthz: database does not answer");
            HttpResponse::ServiceUnavailable()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body("database unavailable")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_pictures_are_used() {
        assert_eq!(
            safe_picture(Some("https://x.example/a.png")),
            "https://x.example/a.png"
        );
        assert_eq!(
            safe_picture(Some("HTTP://x.example/a.png")),
            "http://x.example/a.png"
        );
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:image/png;base64,AA",
            "/local.png",
            "",
            "https:",
        ] {
            assert_eq!(safe_picture(Some(bad)), PLACEHOLDER_AVATAR, "{bad}");
        }
        assert_eq!(safe_picture(None), PLACEHOLDER_AVATAR);
    }
}
