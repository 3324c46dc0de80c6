//! The routes the module claims: `GET /login`, `GET <callback path>`, `POST /logout`.

use actix_session::Session;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::Auth0Error;
use super::extractor::AuthUser;
use super::redirect::local_path;
use super::session::AuthSession;
use super::transaction::PendingLogin;
use super::{secure_eq, Auth0};

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// Starts a Universal Login: a pending login in the session, then off to `/authorize`.
pub async fn login(
    auth0: web::Data<Auth0>,
    session: Session,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, Auth0Error> {
    let next = query.next.as_deref().and_then(local_path);
    let login = PendingLogin::new(next);
    let url = auth0.client().authorize_url(&login).await?;
    AuthSession(&session)
        .push_login(login, auth0.settings().login_max_age)
        .map_err(Auth0Error::Session)?;
    Ok(redirect(url.as_str()))
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Finishes a login, in the order that keeps an attacker's callback from doing anything:
/// the state is taken from the session and checked before any network call; then the code
/// exchange, the ID token, userinfo, the backend; only then a new session and the redirect.
pub async fn callback(
    auth0: web::Data<Auth0>,
    session: Session,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, Auth0Error> {
    let query = query.into_inner();
    let auth = AuthSession(&session);
    let login = match query.state.as_deref() {
        Some(state) => auth
            .take_login(state, auth0.settings().login_max_age)
            .map_err(Auth0Error::Session)?,
        None => None,
    };
    // An error from the tenant wins over anything else in the query, code included. Its text is
    // shown only for a login this browser started: anyone can craft `?error_description=`, and
    // our page must not lend its address to their words.
    if let Some(error) = query.error {
        let description = match &login {
            Some(_) => query.error_description.unwrap_or_default(),
            None => String::new(),
        };
        return Err(Auth0Error::Denied { error, description });
    }
    if query.state.is_none() {
        return Err(Auth0Error::MissingState);
    }
    let login = login.ok_or(Auth0Error::UnknownState)?;
    let code = query
        .code
        .filter(|c| !c.is_empty())
        .ok_or(Auth0Error::MissingCode)?;

    let profile = auth0.client().finish_login(&login, code).await?;
    let session_id = openidconnect::CsrfToken::new_random_len(32).into_secret();
    let id = auth0
        .backend()
        .login(&profile, &session_id)
        .await
        .map_err(|e| Auth0Error::Backend(e.to_string()))?;
    auth.log_in(&AuthUser {
        id,
        sub: profile.sub.clone(),
        session_id,
    })
    .map_err(Auth0Error::Session)?;
    tracing::info!(sub = %profile.sub, "auth0: logged in");
    let target = login
        .next
        .unwrap_or_else(|| auth0.settings().success_url.clone());
    Ok(redirect(&target))
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// Ends the session here, then at Auth0 (`/v2/logout`), which sends the user back home.
pub async fn logout(
    auth0: web::Data<Auth0>,
    session: Session,
    form: web::Form<LogoutForm>,
) -> Result<HttpResponse, Auth0Error> {
    let auth = AuthSession(&session);
    let expected = auth.csrf_token().ok_or(Auth0Error::Csrf)?;
    if !secure_eq(&expected, &form.csrf) {
        return Err(Auth0Error::Csrf);
    }
    if let Some(user) = auth.user() {
        auth0
            .backend()
            .logout(&user)
            .await
            .map_err(|e| Auth0Error::Backend(e.to_string()))?;
        tracing::info!(sub = %user.sub, "auth0: logged out");
    }
    auth.log_out();
    Ok(redirect(auth0.settings().logout_url().as_str()))
}

/// A `302 Found` that no cache keeps.
pub fn redirect(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}
