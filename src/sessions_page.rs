//! The "Signed-in sessions" section of `/profile`: each live session of the user (started, last
//! seen, browser, this one marked), and the forms that end one, or all but this one. POST forms
//! with the CSRF token; a session can end only sessions of its own user. Sessions are named in
//! pages by a handle (a hash of the id), never by the id itself.

use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::auth0::{self, Auth0, AuthUser, PublicError};
use crate::db::{Database, SessionCache, SessionRow};
use crate::error::PageError;

/// Where the forms post.
pub const END_SESSION_PATH: &str = "/profile/sessions/end";
pub const END_OTHER_SESSIONS_PATH: &str = "/profile/sessions/end-others";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(END_SESSION_PATH, web::post().to(end_one))
        .route(END_OTHER_SESSIONS_PATH, web::post().to(end_others));
}

/// A session as the list shows it.
pub struct SessionView {
    /// Names the session in the form (not its id: that stays server-side).
    pub handle: String,
    pub browser: String,
    pub started: String,
    pub last_seen: String,
    /// The session of the request that shows the list.
    pub current: bool,
}

impl SessionView {
    pub fn new(row: &SessionRow, current_session_id: &str) -> Self {
        let time = |t: &chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
        Self {
            handle: handle(&row.id),
            browser: describe_browser(row.user_agent.as_deref()),
            started: time(&row.created_at),
            last_seen: time(row.last_seen_at.as_ref().unwrap_or(&row.created_at)),
            current: row.id == current_session_id,
        }
    }
}

/// The live sessions of `user`, for the list (cached for a few seconds: see
/// [`SessionCache::session_list`]).
pub async fn sessions_of(
    db: &Database,
    cache: &SessionCache,
    user: &AuthUser,
) -> Result<Vec<SessionView>, PageError> {
    let Ok(profile_id) = user.id.parse::<i64>() else {
        return Ok(Vec::new());
    };
    let rows = cache.session_list(db, profile_id).await?;
    let mut views: Vec<SessionView> = rows
        .iter()
        .map(|row| SessionView::new(row, &user.session_id))
        .collect();
    // This session first, then the most recently active.
    views.sort_by_key(|view| !view.current);
    Ok(views)
}

/// A session's handle in pages: 128 bits of SHA-256 of its id, hex.
fn handle(session_id: &str) -> String {
    Sha256::digest(session_id.as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// "Firefox on Linux", from a User-Agent: the browser and the system, roughly, as account pages
/// name sessions. Unknown parts are left out.
pub fn describe_browser(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent else {
        return "Unknown browser".into();
    };
    let has = |needle: &str| ua.contains(needle);
    let browser = if has("Edg/") {
        "Edge"
    } else if has("OPR/") {
        "Opera"
    } else if has("Firefox/") {
        "Firefox"
    } else if has("HeadlessChrome/") {
        "Headless Chrome"
    } else if has("Chrome/") || has("Chromium/") {
        "Chrome"
    } else if has("Safari/") {
        "Safari"
    } else {
        ""
    };
    let system = if has("Windows") {
        "Windows"
    } else if has("Android") {
        "Android"
    } else if has("iPhone") || has("iPad") {
        "iOS"
    } else if has("Mac OS X") || has("Macintosh") {
        "macOS"
    } else if has("CrOS") {
        "ChromeOS"
    } else if has("Linux") {
        "Linux"
    } else {
        ""
    };
    // Not a known browser: the first product token (`curl/8.5.0` is "curl").
    let product: String;
    let browser = if browser.is_empty() {
        product = ua
            .split(['/', ' '])
            .next()
            .unwrap_or_default()
            .chars()
            .take(40)
            .collect();
        product.as_str()
    } else {
        browser
    };
    match (browser.is_empty(), system.is_empty()) {
        (true, true) => "Unknown browser".into(),
        (false, true) => browser.to_owned(),
        (true, false) => format!("A browser on {system}"),
        (false, false) => format!("{browser} on {system}"),
    }
}

#[derive(Deserialize)]
struct EndOneForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    session: String,
}

#[derive(Deserialize)]
struct EndOthersForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /profile/sessions/end`: ends one of the user's other sessions.
async fn end_one(
    user: AuthUser,
    session: Session,
    auth0: web::Data<Auth0>,
    db: web::Data<Database>,
    form: web::Form<EndOneForm>,
) -> Result<HttpResponse, actix_web::Error> {
    Auth0::check_csrf(&session, &form.csrf)?;
    let others = other_sessions(&db, &user).await?;
    let Some(target) = others
        .into_iter()
        .find(|s| handle(&s.session_id) == form.session)
    else {
        return Ok(not_yours());
    };
    match auth0::end_sessions(&auth0, &[target], "signed out from another session").await {
        Ok(()) => Ok(back_to_profile()),
        Err(why) => Ok(not_ended(&why)),
    }
}

/// `POST /profile/sessions/end-others`: ends every session of the user but this one.
async fn end_others(
    user: AuthUser,
    session: Session,
    auth0: web::Data<Auth0>,
    db: web::Data<Database>,
    form: web::Form<EndOthersForm>,
) -> Result<HttpResponse, actix_web::Error> {
    Auth0::check_csrf(&session, &form.csrf)?;
    let others = other_sessions(&db, &user).await?;
    match auth0::end_sessions(&auth0, &others, "signed out of all other sessions").await {
        Ok(()) => Ok(back_to_profile()),
        Err(why) => Ok(not_ended(&why)),
    }
}

/// The user's live sessions other than this request's, as the module ends them.
async fn other_sessions(db: &Database, user: &AuthUser) -> Result<Vec<AuthUser>, PageError> {
    let Ok(profile_id) = user.id.parse::<i64>() else {
        return Ok(Vec::new());
    };
    let rows = db.live_sessions(profile_id).await?;
    Ok(rows
        .into_iter()
        .filter(|row| row.id != user.session_id)
        .map(|row| AuthUser {
            id: user.id.clone(),
            sub: user.sub.clone(),
            session_id: row.id,
            organization: None,
        })
        .collect())
}

fn back_to_profile() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/profile#sessions"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// A session that could not be ended (the database failed): a 503 page, never a false success.
fn not_ended(why: &str) -> HttpResponse {
    tracing::error!(%why, "sessions: a session could not be signed out");
    let mut response = HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE)
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body("the session could not be signed out");
    response.extensions_mut().insert(PublicError {
        title: "Not signed out",
        message: "That session could not be signed out just now: it may still be active.".into(),
        hint: "Try again in a moment.",
    });
    response
}

/// A handle that names no other live session of this user (ended already, or someone else's).
fn not_yours() -> HttpResponse {
    let mut response = HttpResponse::build(StatusCode::NOT_FOUND)
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body("no such session");
    response.extensions_mut().insert(PublicError {
        title: "Session not found",
        message: "That session has ended already, or is not one of yours.".into(),
        hint: "Go back to your profile to see your sessions.",
    });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_named_roughly() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(describe_browser(Some(firefox)), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like \
                      Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(describe_browser(Some(chrome)), "Chrome on Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_browser(Some(safari)), "Safari on iOS");
        assert_eq!(describe_browser(Some("curl/8.5.0")), "curl");
        assert_eq!(describe_browser(None), "Unknown browser");
    }

    #[test]
    fn a_handle_does_not_show_the_session_id() {
        let id = "0123456789abcdef0123456789abcdef0123456789a";
        let h = handle(id);
        assert_eq!(h.len(), 32);
        assert!(!id.contains(&h) && !h.contains(&id[..8]));
    }
}
