//! The "Signed-in sessions" section of `/profile`: each live session of the user (started, last
//! seen, browser, this one marked), and the forms that end one, or all but this one. POST forms
//! with the CSRF token; a session can end only sessions of its own user. Sessions are named in
//! pages by a handle (a hash of the id), never by the id itself.

use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::auth0::{self, Auth0, AuthUser, PublicError};
use crate::db::{handle, Database, SessionCache, SessionRow, ShownSession};
use crate::error::{public_error, PageError};

/// Where the forms post.
pub const END_SESSION_PATH: &str = "/profile/sessions/end";
pub const END_OTHER_SESSIONS_PATH: &str = "/profile/sessions/end-others";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(END_SESSION_PATH, web::post().to(end_one))
        .route(END_OTHER_SESSIONS_PATH, web::post().to(end_others));
}

/// A session as the list shows it: derived once per cached list, borrowed by each page.
pub struct SessionView {
    rows: std::sync::Arc<Vec<SessionRow>>,
    index: usize,
    /// The session of the request that shows the list.
    pub current: bool,
}

impl SessionView {
    fn shown(&self) -> &ShownSession {
        self.rows[self.index].shown()
    }

    /// Names the session in the form (not its id: that stays server-side).
    pub fn handle(&self) -> &str {
        &self.shown().handle
    }

    pub fn browser(&self) -> &str {
        &self.shown().browser
    }

    pub fn started(&self) -> &str {
        &self.shown().started
    }

    pub fn last_seen(&self) -> &str {
        &self.shown().last_seen
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
    let mut views: Vec<SessionView> = (0..rows.len())
        .map(|index| SessionView {
            current: rows[index].id == user.session_id,
            rows: rows.clone(),
            index,
        })
        .collect();
    // This session first, then the most recently active.
    views.sort_by_key(|view| !view.current);
    Ok(views)
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
    public_error(
        StatusCode::SERVICE_UNAVAILABLE,
        PublicError {
            title: "Not signed out",
            message: "That session could not be signed out just now: it may still be active."
                .into(),
            hint: "Try again in a moment.",
        },
    )
}

/// A handle that names no other live session of this user (ended already, or someone else's).
fn not_yours() -> HttpResponse {
    public_error(
        StatusCode::NOT_FOUND,
        PublicError {
            title: "Session not found",
            message: "That session has ended already, or is not one of yours.".into(),
            hint: "Go back to your profile to see your sessions.",
        },
    )
}
