//! The endpoints the embedded Lock widget calls: the client's settings (JSONP), the
//! cross-origin login (`/co/authenticate`, with CORS for the app's origin only), and the login
//! ticket that `/authorize` redeems for a code.

use std::time::Instant;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::pages::oauth_error;
use super::state::{
    insert_swept, random_token, AuthorizeQuery, AuthorizeRequest, DevUser, TenantState, Ticket,
    CONNECTION, CO_COOKIE, TICKET_LIFETIME,
};
use super::universal_login::{back_to_app, check_credentials, issue_code, Outcome};
use crate::auth0::secure_eq;

/// `/authorize?login_ticket=`: Lock's second step. The ticket must be fresh, unused, and
/// redeemed by the browser that authenticated (its tenant cookie); then a code goes back.
pub(super) fn redeem_ticket(
    tenant: &TenantState,
    req: &HttpRequest,
    ticket: &str,
    redirect_uri: Url,
    q: &AuthorizeQuery,
) -> HttpResponse {
    let ticket = tenant.tickets.lock().expect("lock").remove(ticket);
    let cookie = req.cookie(CO_COOKIE).map(|c| c.value().to_owned());
    let valid = ticket.filter(|t| {
        t.issued.elapsed() < TICKET_LIFETIME
            && cookie.as_deref().is_some_and(|c| secure_eq(c, &t.co_id))
    });
    match valid {
        Some(ticket) => {
            let request = AuthorizeRequest::new(redirect_uri, q);
            tracing::info!(
                pkce = request.code_challenge.is_some(),
                nonce = request.nonce.is_some(),
                "dev tenant: Lock login ticket redeemed"
            );
            let auth_time = chrono::Utc::now().timestamp();
            let (sid, cookie) = tenant.session_for(req, &ticket.user, Some(auth_time));
            let organization = request.organization;
            let code = issue_code(tenant, &request, ticket.user, sid, auth_time, organization);
            let mut response = back_to_app(
                &request.redirect_uri,
                Outcome::Code(&code),
                q.state.as_deref(),
            );
            let _ = response.add_cookie(&cookie);
            response
        }
        None => {
            let spent = Outcome::Error(
                "access_denied",
                "The login ticket is invalid, used or expired.",
            );
            back_to_app(&redirect_uri, spent, q.state.as_deref())
        }
    }
}

/// `/client/{client_id}.js`: the client's settings as JSONP, the way Auth0's CDN serves them to
/// Lock: one database connection, no signup or password reset (this tenant has neither).
pub(super) async fn client_settings(
    tenant: web::Data<TenantState>,
    path: web::Path<String>,
) -> HttpResponse {
    let Some(client_id) = path.strip_suffix(".js") else {
        return HttpResponse::NotFound().finish();
    };
    if client_id != tenant.client_id {
        return HttpResponse::NotFound().finish();
    }
    let settings = json!({
        "id": tenant.client_id,
        "tenant": "dev-tenant",
        "subscription": "free",
        "authorize": tenant.issuer.join("authorize").expect("URL").as_str(),
        "callback": tenant.registration.callback_urls[0].as_str(),
        "hasAllowedOrigins": true,
        "strategies": [{
            "name": "auth0",
            "connections": [{
                "name": CONNECTION,
                "showSignup": true,
                "showForgot": false,
                "passwordPolicy": "none",
                "requires_username": false,
            }],
        }],
    });
    HttpResponse::Ok()
        .content_type("application/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(format!("Auth0.setClient({settings});"))
}

/// The request's `Origin`, if it is one of the app's (the only ones allowed to call the tenant's
/// cross-origin endpoints).
pub(super) fn app_origin(tenant: &TenantState, req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|origin| tenant.registration.allows_origin(origin))
        .map(str::to_owned)
}

/// CORS for the app's origin, with credentials (the tenant's cookie), as Auth0 does for an
/// application's Allowed Web Origins.
pub(super) fn with_cors(
    tenant: &TenantState,
    req: &HttpRequest,
    mut response: HttpResponse,
) -> HttpResponse {
    if let Some(allowed) = app_origin(tenant, req) {
        let headers = response.headers_mut();
        let value = |v: &str| header::HeaderValue::from_str(v).expect("header value");
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value(&allowed));
        headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, value("true"));
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, value("POST, OPTIONS"));
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            value("content-type, auth0-client"),
        );
        headers.insert(header::VARY, value("Origin"));
    }
    response
}

pub(super) async fn preflight(tenant: web::Data<TenantState>, req: HttpRequest) -> HttpResponse {
    with_cors(&tenant, &req, HttpResponse::NoContent().finish())
}

/// `/usernamepassword/challenge`: no captcha here.
pub(super) async fn challenge(tenant: web::Data<TenantState>, req: HttpRequest) -> HttpResponse {
    with_cors(
        &tenant,
        &req,
        HttpResponse::Ok().json(json!({ "required": false })),
    )
}

#[derive(Deserialize)]
pub(super) struct CoAuthenticate {
    client_id: Option<String>,
    username: Option<String>,
    password: Option<String>,
    realm: Option<String>,
}

/// `/co/authenticate`: Lock's first step. Same credentials rule as the login form; success sets
/// the tenant's cookie and returns a login ticket, failure the error body Lock shows.
pub(super) async fn co_authenticate(
    tenant: web::Data<TenantState>,
    req: HttpRequest,
    body: web::Json<CoAuthenticate>,
) -> HttpResponse {
    let body = body.into_inner();
    if app_origin(&tenant, &req).is_none() {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "Origin not allowed.",
        );
    }
    if body.client_id.as_deref() != Some(tenant.client_id.as_str())
        || body.realm.as_deref().is_some_and(|r| r != CONNECTION)
    {
        let response = oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Unknown client or connection.",
        );
        return with_cors(&tenant, &req, response);
    }
    let (email, password) = (
        body.username.unwrap_or_default(),
        body.password.unwrap_or_default(),
    );
    if check_credentials(&email, &password).is_err() {
        let response = oauth_error(
            StatusCode::FORBIDDEN,
            "access_denied",
            "Wrong email or password.",
        );
        return with_cors(&tenant, &req, response);
    }
    tenant
        .users
        .lock()
        .expect("lock")
        .insert(email.trim().to_lowercase());
    let co_id = random_token(16);
    let login_ticket = random_token(24);
    let ticket = Ticket {
        user: DevUser::from_email(&tenant.issuer, &email),
        co_id: co_id.clone(),
        issued: Instant::now(),
    };
    insert_swept(&tenant.tickets, login_ticket.clone(), ticket, |t| {
        t.issued.elapsed() < TICKET_LIFETIME
    });
    let cookie = actix_web::cookie::Cookie::build(CO_COOKIE, co_id.clone())
        .path("/")
        .http_only(true)
        .same_site(actix_web::cookie::SameSite::Lax)
        .finish();
    let response = HttpResponse::Ok()
        .cookie(cookie)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "login_ticket": login_ticket,
            "co_verifier": random_token(16),
            "co_id": co_id,
        }));
    with_cors(&tenant, &req, response)
}

#[derive(Deserialize)]
pub(super) struct DbSignup {
    client_id: Option<String>,
    email: Option<String>,
    password: Option<String>,
    connection: Option<String>,
}

/// `/dbconnections/signup`: Lock's sign-up tab. A new email address becomes a user (then Lock
/// logs it in through `/co/authenticate`); a known one is refused as Auth0 refuses it.
pub(super) async fn signup(
    tenant: web::Data<TenantState>,
    req: HttpRequest,
    body: web::Json<DbSignup>,
) -> HttpResponse {
    if app_origin(&tenant, &req).is_none() {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "Origin not allowed.",
        );
    }
    let body = body.into_inner();
    let refuse = |code: &str, description: &str| {
        let response = HttpResponse::BadRequest()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(json!({ "code": code, "description": description, "name": "BadRequestError" }));
        with_cors(&tenant, &req, response)
    };
    if body.client_id.as_deref() != Some(tenant.client_id.as_str())
        || body.connection.as_deref() != Some(CONNECTION)
    {
        return refuse("invalid_request", "Unknown client or connection.");
    }
    let (email, password) = (
        body.email.unwrap_or_default(),
        body.password.unwrap_or_default(),
    );
    if let Err(problem) = check_credentials(&email, &password) {
        return refuse("invalid_signup", problem);
    }
    let new = tenant
        .users
        .lock()
        .expect("lock")
        .insert(email.trim().to_lowercase());
    if !new {
        return refuse("user_exists", "The user already exists.");
    }
    let user = DevUser::from_email(&tenant.issuer, &email);
    let response = HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "_id": user.sub.trim_start_matches("auth0|"),
            "email": user.email,
            "email_verified": false,
        }));
    with_cors(&tenant, &req, response)
}
