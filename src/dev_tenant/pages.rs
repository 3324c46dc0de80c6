//! The tenant's other pages: `/v2/logout`, `/dev/stats`, the avatars, and the response helpers
//! every endpoint shares.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::sessions::session_cookie_removal;
use super::state::TenantState;

#[derive(Template)]
#[template(path = "dev_tenant/message.html")]
pub(super) struct MessagePage<'a> {
    title: &'a str,
    message: &'a str,
}

#[derive(Deserialize)]
pub(super) struct LogoutQuery {
    #[serde(rename = "returnTo")]
    return_to: Option<String>,
}

/// `/v2/logout`: back to `returnTo` only if it is the registered logout URL, as Auth0 insists.
pub(super) async fn logout(
    tenant: web::Data<TenantState>,
    req: HttpRequest,
    query: web::Query<LogoutQuery>,
) -> HttpResponse {
    let mut response = match query.return_to.as_deref().map(Url::parse) {
        None => page_error(
            StatusCode::OK,
            "Logged out",
            "You are logged out of the local dev tenant.",
        ),
        Some(Ok(url)) if tenant.registration.logout_urls.contains(&url) => redirect(url.as_str()),
        Some(_) => page_error(
            StatusCode::BAD_REQUEST,
            "Logout URL not allowed",
            "returnTo must be one of the application's Allowed Logout URLs.",
        ),
    };
    end_browser_session(&tenant, &req, None, &mut response).await;
    response
}

/// After a logout that went through: the browser's session at the tenant ends, every app is
/// told (back-channel logout), and the browser forgets the tenant's cookie.
async fn end_browser_session(
    tenant: &TenantState,
    req: &HttpRequest,
    hint: Option<&str>,
    response: &mut HttpResponse,
) {
    if response.status().is_client_error() {
        return;
    }
    tenant.log_out_browser(req, hint).await;
    let _ = response.add_cookie(&session_cookie_removal());
}

#[derive(Deserialize)]
pub(super) struct OidcLogoutQuery {
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    /// The session to end (the ID token's `sid`), if the browser's cookie does not say.
    logout_hint: Option<String>,
}

/// `/oidc/logout`, OpenID Connect RP-Initiated Logout 1.0 as Auth0 serves it: the client must be
/// this tenant's, and `post_logout_redirect_uri` one of its Allowed Logout URLs; `state` comes
/// back. (`logout_hint` and `federated` are accepted: there is one session and no upstream.)
pub(super) async fn oidc_logout(
    tenant: web::Data<TenantState>,
    req: HttpRequest,
    query: web::Query<OidcLogoutQuery>,
) -> HttpResponse {
    if query
        .client_id
        .as_deref()
        .is_some_and(|id| id != tenant.client_id)
    {
        return page_error(
            StatusCode::BAD_REQUEST,
            "Unknown client",
            "No application with this client_id is registered with this tenant.",
        );
    }
    let mut response = match query.post_logout_redirect_uri.as_deref().map(Url::parse) {
        None => page_error(
            StatusCode::OK,
            "Logged out",
            "You are logged out of the local dev tenant.",
        ),
        Some(Ok(mut url)) if tenant.registration.logout_urls.contains(&url) => {
            if let Some(state) = &query.state {
                url.query_pairs_mut().append_pair("state", state);
            }
            redirect(url.as_str())
        }
        Some(_) => page_error(
            StatusCode::BAD_REQUEST,
            "Logout URL not allowed",
            "post_logout_redirect_uri must be one of the application's Allowed Logout URLs.",
        ),
    };
    let hint = query.logout_hint.as_deref();
    end_browser_session(&tenant, &req, hint, &mut response).await;
    response
}

/// `/dev/stats`: request counts, for benchmarks (discovery and keys once per app process).
pub(super) async fn stats(tenant: web::Data<TenantState>) -> HttpResponse {
    HttpResponse::Ok().json(tenant.counters.snapshot())
}

/// A round avatar with an initial: the dev tenant's stand-in for gravatar.
pub(super) async fn avatar(path: web::Path<String>) -> HttpResponse {
    let initial = path
        .chars()
        .next()
        .filter(char::is_ascii_alphanumeric)
        .unwrap_or('?');
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96"><circle cx="48" cy="48" r="48" fill="#635dff"/><text x="48" y="62" font-family="sans-serif" font-size="44" fill="#fff" text-anchor="middle">{initial}</text></svg>"##
    );
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(svg)
}

pub(super) fn redirect(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

pub(super) fn json_response(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

pub(super) fn oauth_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    json_response(
        status,
        json!({ "error": error, "error_description": description }).to_string(),
    )
}

pub(super) fn html(status: StatusCode, rendered: askama::Result<String>) -> HttpResponse {
    match rendered {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(e) => HttpResponse::InternalServerError().body(format!("template error: {e}")),
    }
}

pub(super) fn page_error(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    html(status, MessagePage { title, message }.render())
}

/// The page for a login form whose request is unknown or too old.
pub(super) fn login_expired() -> HttpResponse {
    page_error(
        StatusCode::BAD_REQUEST,
        "Login expired",
        "This login page has expired. Go back to the app and log in again.",
    )
}
