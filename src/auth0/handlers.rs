//! The routes the module claims: `GET /login`, `GET <callback path>`, `POST /logout`.

use actix_session::Session;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::backend::{LoginRefused, NewSession, MAX_USER_AGENT};
use super::client::FinishedLogin;
use super::error::{log_line, printable, Auth0Error};
use super::extractor::{end_session, AuthUser};
use super::login_options::LoginQuery;
use super::redirect::local_path;
use super::session::AuthSession;
use super::transaction::{now, PendingLogin};
use super::user::UserOrganization;
use super::Auth0;

/// Starts a Universal Login: a pending login in the session, then off to `/authorize`. The
/// query may shape it (`login_hint`, `connection`, `prompt=login`, `max_age`, an invitation):
/// each parameter is checked (see `login_options.rs`), and a bad one gets a 400 page.
pub async fn login(
    auth0: web::Data<Auth0>,
    session: Session,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, Auth0Error> {
    start_login(&auth0, &session, &query, None).await
}

/// `GET /signup`: a login that opens on the tenant's sign-up form (`screen_hint=signup`).
pub async fn signup(
    auth0: web::Data<Auth0>,
    session: Session,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, Auth0Error> {
    start_login(&auth0, &session, &query, Some("signup")).await
}

async fn start_login(
    auth0: &Auth0,
    session: &Session,
    query: &LoginQuery,
    screen_hint: Option<&'static str>,
) -> Result<HttpResponse, Auth0Error> {
    let next = query.next.as_deref().and_then(local_path);
    let mut login = PendingLogin::new(next);
    let mut options = query
        .options(&auth0.settings().login, &mut login)
        .map_err(Auth0Error::BadLoginParameter)?;
    options.screen_hint = screen_hint;
    let url = auth0.client().authorize_url(&login, &options).await?;
    AuthSession(session).push_login(login, auth0.settings().login_max_age)?;
    Ok(redirect(url.as_str()))
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The callback, counted: `auth0_logins_total{outcome}` is `success` or the kind of failure.
pub async fn callback(
    req: HttpRequest,
    auth0: web::Data<Auth0>,
    session: Session,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, Auth0Error> {
    let result = finish_callback(&req, auth0, session, query).await;
    let outcome = match &result {
        Ok(_) => "success",
        Err(e) => e.kind(),
    };
    metrics::counter!("auth0_logins_total", "outcome" => outcome).increment(1);
    result
}

/// Finishes a login, in the order that keeps an attacker's callback from doing anything:
/// the state is taken from the session and checked before any network call; then the code
/// exchange, the ID token, userinfo, the backend; only then a new session and the redirect.
async fn finish_callback(
    req: &HttpRequest,
    auth0: web::Data<Auth0>,
    session: Session,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, Auth0Error> {
    let query = query.into_inner();
    let auth = AuthSession(&session);
    let login = match query.state.as_deref() {
        Some(state) => auth.take_login(state, auth0.settings().login_max_age)?,
        None => None,
    };
    // An error from the tenant wins over anything else in the query, code included. Its words
    // are shown only for a login this browser started: anyone can link to our callback with
    // `?error=...&error_description=...`, and our page must not lend its address to their text.
    if let Some(error) = query.error {
        return Err(match login {
            Some(_) => Auth0Error::Denied {
                error: oauth_error_code(&error).map(str::to_owned),
                description: query.error_description.unwrap_or_default(),
            },
            None => Auth0Error::UnsolicitedError { error },
        });
    }
    if query.state.is_none() {
        return Err(Auth0Error::MissingState);
    }
    let login = login.ok_or(Auth0Error::UnknownState)?;
    let code = query
        .code
        .filter(|c| !c.is_empty())
        .ok_or(Auth0Error::MissingCode)?;

    let FinishedLogin {
        profile,
        tokens,
        sid,
        auth_time,
        organization,
    } = auth0.client().finish_login(&login, code).await?;
    let new_session = NewSession {
        id: openidconnect::CsrfToken::new_random_len(32).into_secret(),
        sid: sid.clone(),
        user_agent: user_agent(req),
        // Without `auth_time`, when this login started: a logout token issued since then
        // refuses it (one issued before it would have made the tenant ask again).
        authenticated_at: auth_time.unwrap_or(login.created_at),
    };
    let id = auth0
        .backend()
        .login(&profile, &new_session)
        .await
        .map_err(|e| match e.downcast::<LoginRefused>() {
            Ok(refused) => Auth0Error::SessionEnded(refused.to_string()),
            Err(e) => Auth0Error::Backend(e),
        })?;
    let session_id = new_session.id;
    if let Some(tokens) = tokens {
        let sealed = auth0.sealer()?.seal(&session_id, &tokens);
        let kept = auth0
            .backend()
            .save_tokens(&session_id, sealed)
            .await
            .map_err(Auth0Error::Backend)?;
        if !kept {
            tracing::warn!("auth0: the backend keeps no tokens; AccessToken will find none");
        }
    }
    // A login in a browser that was logged in ends the session it replaces: a copy of the old
    // cookie must not outlive it here, nor its refresh token at the tenant.
    if let Some(previous) = auth.logged_in() {
        let settings = auth0.settings();
        let now = now();
        if previous.is_for(settings) && !previous.is_expired(now, &settings.session) {
            revoke_refresh_token(&auth0, &previous.user.session_id).await;
            end_session(&auth0, &previous, now, "replaced by a new login").await;
        }
    }
    auth.log_in(
        AuthUser {
            id,
            sub: profile.sub.clone(),
            session_id,
            organization: organization.map(|(id, name)| UserOrganization { id, name }),
        },
        sid,
        auth_time,
        auth0.settings(),
    )?;
    tracing::info!(sub = %printable(&profile.sub), "auth0: logged in");
    // `next` was normalised when the login started; checked again here, so the value that goes
    // into `Location` is always the value that was checked.
    let target = login
        .next
        .as_deref()
        .and_then(local_path)
        .unwrap_or_else(|| auth0.settings().success_url.clone());
    Ok(redirect(&target))
}

/// Ends the session here, then at Auth0 (`/v2/logout`), which sends the user back home.
///
/// The body is read as a form whatever its content type, so an empty or odd POST gets the
/// "no token" page rather than a 415. Once the CSRF token matches, the browser's session is
/// purged and the user goes to the tenant's logout even if the backend fails to end the session
/// server-side (that failure is logged with its cause): a logout button that does not log out
/// is worse than a revocation that waits for the session's expiry.
pub async fn logout(
    auth0: web::Data<Auth0>,
    session: Session,
    body: web::Bytes,
) -> Result<HttpResponse, Auth0Error> {
    let auth = AuthSession(&session);
    let posted = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "csrf")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    Auth0::check_csrf(&session, &posted)?;
    // Only a live session of this tenant is ended at the backend (once); any session is purged.
    let logged_in = auth.logged_in();
    if let Some(logged_in) = &logged_in {
        let settings = auth0.settings();
        let now = now();
        if logged_in.is_for(settings) && !logged_in.is_expired(now, &settings.session) {
            revoke_refresh_token(&auth0, &logged_in.user.session_id).await;
            end_session(&auth0, logged_in, now, "logged out").await;
        }
    }
    auth.log_out();
    let sid = logged_in
        .filter(|l| l.is_for(auth0.settings()))
        .and_then(|l| l.sid);
    Ok(redirect(auth0.client().logout_url(sid.as_deref()).as_str()))
}

/// Revokes the session's refresh token at the tenant, if it has one, before its row goes: a
/// copy of it (a backup, a leaked database) is then worthless. A failure is logged; the logout
/// goes on.
pub(crate) async fn revoke_refresh_token(auth0: &Auth0, session_id: &str) {
    let Ok(sealer) = auth0.sealer() else { return };
    // After any refresh of this session in this process: the token read is the newest one.
    let lock = auth0.refreshing().for_session(session_id);
    let _after_refreshes = lock.lock().await;
    let refresh_token = match auth0.backend().load_tokens(session_id).await {
        Ok(sealed) => sealed
            .and_then(|sealed| sealer.open(session_id, &sealed))
            .and_then(|tokens| tokens.refresh_token),
        Err(e) => {
            tracing::error!(error = %log_line(&*e), "auth0: logout could not read the tokens");
            None
        }
    };
    if let Some(token) = refresh_token {
        match auth0.client().revoke_refresh_token(&token).await {
            Ok(()) => tracing::info!("auth0: refresh token revoked at logout"),
            Err(why) => tracing::error!(%why, "auth0: the refresh token could not be revoked"),
        }
    }
}

/// The request's `User-Agent`, if printable, cut to [`MAX_USER_AGENT`] characters.
fn user_agent(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::USER_AGENT)?.to_str().ok()?;
    let value: String = value.trim().chars().take(MAX_USER_AGENT).collect();
    (!value.is_empty() && !value.chars().any(char::is_control)).then_some(value)
}

/// `code` if it is one of the error codes of RFC 6749 §4.1.2.1 or OIDC Core §3.1.2.6, the only
/// ones shown: any other text in `error` is not the tenant's to say.
pub fn oauth_error_code(code: &str) -> Option<&'static str> {
    const CODES: [&str; 16] = [
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "interaction_required",
        "login_required",
        "account_selection_required",
        "consent_required",
        "invalid_request_uri",
        "invalid_request_object",
        "request_not_supported",
        "request_uri_not_supported",
        "registration_not_supported",
    ];
    CODES.into_iter().find(|known| *known == code)
}

/// A `302 Found` that no cache keeps.
pub fn redirect(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}
