//! The app's pages: home, profile, logout confirmation, health. One template struct per page;
//! each carries the [`PageContext`] the base layout needs.

use actix_session::Session;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::auth0::{AuthUser, LockWidget, MaybeUser};
use crate::layout::PageContext;
use std::sync::Arc;

pub use crate::db::{safe_picture, PLACEHOLDER_AVATAR};
use crate::db::{Database, Profile, SessionCache};
use crate::error::PageError;

/// Mounts the pages. The auth0 module mounts `/login`, the callback and `POST /logout`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/profile", web::get().to(profile))
        .route("/logout", web::get().to(logout_confirm))
        .route("/healthz", web::get().to(healthz));
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
    pub claims_pretty: &'a str,
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
            claims_pretty: &shown.claims_pretty,
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
