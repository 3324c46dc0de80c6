//! Universal Login: `/authorize` parks the request and shows the tenant's form (`/u/login`);
//! the form checks the credentials and sends the browser back to the app with a code.

use std::sync::atomic::Ordering;
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use url::Url;

use super::lock::redeem_ticket;
use super::organizations::{resolve as resolve_organization, DevOrganization, ORGANIZATIONS};
use super::pages::{html, login_expired, page_error, redirect};
use super::sessions::TenantSession;
use super::state::{
    insert_swept, random_token, AuthorizeQuery, AuthorizeRequest, DevUser, Grant, TenantState,
    CODE_LIFETIME, CONNECTION, LOGIN_LIFETIME,
};

/// `/authorize`: checks the client and redirect URI (a bad one gets a page, never a redirect),
/// then parks the request and shows the login form, as Auth0 does with `/u/login?state=`.
pub(super) async fn authorize(
    tenant: web::Data<TenantState>,
    req: HttpRequest,
    query: web::Query<AuthorizeQuery>,
) -> HttpResponse {
    tenant.counters.authorize.fetch_add(1, Ordering::Relaxed);
    let q = query.into_inner();
    if q.client_id.as_deref() != Some(tenant.client_id.as_str()) {
        return page_error(
            StatusCode::BAD_REQUEST,
            "Unknown client",
            "No application with this client_id is registered with this tenant.",
        );
    }
    let registered = &tenant.registration.callback_urls;
    let redirect_uri = match q.redirect_uri.as_deref().map(Url::parse) {
        Some(Ok(uri)) if registered.contains(&uri) => uri,
        _ => {
            let allowed: Vec<&str> = registered.iter().map(Url::as_str).collect();
            return page_error(
                StatusCode::BAD_REQUEST,
                "Callback URL mismatch",
                &format!(
                    "The redirect_uri is not in the application's Allowed Callback URLs ({}).",
                    allowed.join(", ")
                ),
            );
        }
    };
    let back_with_error = |error: &str, description: &str| {
        back_to_app(
            &redirect_uri,
            Outcome::Error(error, description),
            q.state.as_deref(),
        )
    };
    if q.response_type.as_deref() != Some("code") {
        return back_with_error(
            "unsupported_response_type",
            "Only response_type=code is supported here.",
        );
    }
    if !q
        .scope
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .any(|s| s == "openid")
    {
        return back_with_error("invalid_scope", "The scope must include openid.");
    }
    if q.code_challenge.is_some() && q.code_challenge_method.as_deref() != Some("S256") {
        return back_with_error(
            "invalid_request",
            "Only code_challenge_method=S256 is supported here.",
        );
    }
    if q.connection
        .as_deref()
        .is_some_and(|c| !c.is_empty() && c != CONNECTION)
    {
        return back_with_error(
            "invalid_request",
            "The connection does not exist or is not enabled for this application.",
        );
    }
    if q.prompt
        .as_deref()
        .is_some_and(|p| p.split_whitespace().any(|p| p == "none"))
    {
        return back_with_error(
            "login_required",
            "The dev tenant always shows its form: prompt=none is not supported.",
        );
    }
    let organization = q.organization.as_deref().filter(|o| !o.is_empty());
    if organization.is_some_and(|o| resolve_organization(o).is_none()) {
        return back_with_error(
            "invalid_request",
            "parameter organization is invalid: no such organization.",
        );
    }
    if let Some(invitation) = &q.invitation {
        let invitations = tenant.invitations.lock().expect("lock");
        let valid = invitations
            .get(invitation)
            .is_some_and(|i| organization.and_then(resolve_organization) == Some(i.organization));
        if !valid {
            return back_with_error(
                "invalid_request",
                "The invitation is not valid (unknown, used, or for another organization).",
            );
        }
    }
    if let Some(ticket) = &q.login_ticket {
        return redeem_ticket(&tenant, &req, ticket, redirect_uri, &q);
    }
    let login_state = random_token(24);
    let request = AuthorizeRequest::new(redirect_uri, &q);
    insert_swept(&tenant.logins, login_state.clone(), request, |r| {
        r.started.elapsed() < LOGIN_LIFETIME
    });
    redirect(&format!("/u/login?state={login_state}"))
}

#[derive(Template)]
#[template(path = "dev_tenant/login.html")]
pub(super) struct LoginPage<'a> {
    client_name: &'a str,
    state: &'a str,
    email: &'a str,
    error: Option<&'a str>,
    /// The sign-up form rather than the login form.
    signup: bool,
    /// The browser's session here, offered as "Continue as" (single sign-on).
    continue_as: Option<String>,
    /// The organization the app asked for; else the form offers them all.
    organization: Option<DevOrganization>,
    organizations: &'a [DevOrganization],
}

/// The form for the login request `request` (its `state` at the tenant), with `email` and
/// `error` as the last submission left them.
fn login_page(
    tenant: &TenantState,
    req: &HttpRequest,
    state: &str,
    request: &AuthorizeRequest,
    email: &str,
    error: Option<&str>,
) -> HttpResponse {
    let invited = request
        .invitation
        .as_ref()
        .and_then(|id| tenant.invitations.lock().expect("lock").get(id).cloned());
    let prefill = match (email, &invited, &request.login_hint) {
        ("", Some(invitation), _) => invitation.email.clone(),
        ("", None, Some(hint)) => hint.clone(),
        _ => email.to_owned(),
    };
    let page = LoginPage {
        client_name: &tenant.registration.client_name,
        state,
        email: &prefill,
        error,
        signup: request.signup,
        continue_as: single_sign_on(tenant, req, request).map(|s| s.user.email),
        organization: request.organization,
        organizations: &ORGANIZATIONS,
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    html(status, page.render())
}

/// The browser's session here, if this request may use it without the credentials again: not
/// with `prompt=login`, not for a sign-up or an invitation, and not if its credentials are
/// older than `max_age`.
fn single_sign_on(
    tenant: &TenantState,
    req: &HttpRequest,
    request: &AuthorizeRequest,
) -> Option<TenantSession> {
    if request.prompt_login || request.signup || request.invitation.is_some() {
        return None;
    }
    let session = tenant.browser_session(req)?;
    let age = chrono::Utc::now().timestamp() - session.auth_time;
    request
        .max_age
        .is_none_or(|max_age| age <= max_age)
        .then_some(session)
}

#[derive(Deserialize)]
pub(super) struct LoginFormQuery {
    state: String,
}

pub(super) async fn login_form(
    tenant: web::Data<TenantState>,
    req: HttpRequest,
    query: web::Query<LoginFormQuery>,
) -> HttpResponse {
    let request = tenant
        .logins
        .lock()
        .expect("lock")
        .get(&query.state)
        .cloned();
    match request {
        Some(request) => login_page(&tenant, &req, &query.state, &request, "", None),
        None => login_expired(),
    }
}

#[derive(Deserialize)]
pub(super) struct LoginSubmit {
    state: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    action: String,
    /// The "grant the admin permission" box.
    #[serde(default)]
    admin: Option<String>,
    /// The organization chosen on the form (id), if the app did not fix one.
    #[serde(default)]
    organization: String,
}

/// The credentials rule: any plausible email address with any non-empty password.
pub(super) fn check_credentials(email: &str, password: &str) -> Result<(), &'static str> {
    let email = email.trim();
    let plausible = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    }) && !email.chars().any(char::is_whitespace)
        && email.len() <= 254;
    if !plausible {
        return Err("Enter a valid email address.");
    }
    if password.is_empty() {
        return Err("Enter a password (any non-empty password works here).");
    }
    Ok(())
}

pub(super) async fn login_submit(
    tenant: web::Data<TenantState>,
    req: HttpRequest,
    form: web::Form<LoginSubmit>,
) -> HttpResponse {
    let form = form.into_inner();
    let request = {
        let logins = tenant.logins.lock().expect("lock");
        logins.get(&form.state).cloned()
    };
    let Some(request) = request.filter(|r| r.started.elapsed() < LOGIN_LIFETIME) else {
        return login_expired();
    };
    let state = request.state.as_deref();
    let retry = |error: &str| {
        login_page(
            &tenant,
            &req,
            &form.state,
            &request,
            &form.email,
            Some(error),
        )
    };
    if form.action == "cancel" {
        tenant.logins.lock().expect("lock").remove(&form.state);
        let cancelled = Outcome::Error("access_denied", "The user cancelled the login.");
        return back_to_app(&request.redirect_uri, cancelled, state);
    }
    // Who logs in, and when they entered their credentials (`None`: a session here, kept).
    let (mut user, fresh) = if form.action == "continue" {
        match single_sign_on(&tenant, &req, &request) {
            Some(session) => (session.user, None),
            None => {
                return retry("Your session here has ended, or this login needs your password.")
            }
        }
    } else {
        if let Err(problem) = check_credentials(&form.email, &form.password) {
            return retry(problem);
        }
        let known = tenant
            .users
            .lock()
            .expect("lock")
            .contains(&form.email.trim().to_lowercase());
        if form.action == "signup" && known {
            return retry("This email address is already registered. Log in instead.");
        }
        let user = DevUser::from_email(&tenant.issuer, &form.email);
        (user, Some(chrono::Utc::now().timestamp()))
    };
    user.admin = form.admin.as_deref() == Some("on");
    let organization = match (request.organization, form.organization.as_str()) {
        (Some(fixed), _) => Some(fixed),
        (None, "") => None,
        (None, chosen) => match resolve_organization(chosen) {
            Some(org) => Some(org),
            None => return retry("Choose one of the organizations."),
        },
    };
    if let Some(invitation) = &request.invitation {
        let mut invitations = tenant.invitations.lock().expect("lock");
        match invitations.get(invitation) {
            Some(invited) if invited.email.eq_ignore_ascii_case(&user.email) => {
                invitations.remove(invitation);
            }
            Some(_) => {
                drop(invitations);
                return retry("This invitation is for another email address.");
            }
            None => {
                drop(invitations);
                return retry("This invitation was used already.");
            }
        }
    }
    tenant.logins.lock().expect("lock").remove(&form.state);
    tenant
        .users
        .lock()
        .expect("lock")
        .insert(user.email.to_lowercase());
    let (sid, cookie) = tenant.session_for(&req, &user, fresh);
    let auth_time = match fresh {
        Some(now) => now,
        None => tenant
            .browser_session(&req)
            .map_or_else(|| chrono::Utc::now().timestamp(), |s| s.auth_time),
    };
    let code = issue_code(&tenant, &request, user, sid, auth_time, organization);
    let mut response = back_to_app(&request.redirect_uri, Outcome::Code(&code), state);
    let _ = response.add_cookie(&cookie);
    response
}

/// How an authorization request ended.
pub(super) enum Outcome<'a> {
    Code(&'a str),
    /// An OAuth error code and its description.
    Error(&'a str, &'a str),
}

/// Back to the app's (registered) `redirect_uri` with the outcome and the app's `state`.
pub(super) fn back_to_app(
    redirect_uri: &Url,
    outcome: Outcome<'_>,
    state: Option<&str>,
) -> HttpResponse {
    let mut target = redirect_uri.clone();
    {
        let mut query = target.query_pairs_mut();
        match outcome {
            Outcome::Code(code) => query.append_pair("code", code),
            Outcome::Error(error, description) => query
                .append_pair("error", error)
                .append_pair("error_description", description),
        };
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    redirect(target.as_str())
}

/// A single-use code for `user`, bound to the request's redirect URI, nonce and PKCE challenge.
pub(super) fn issue_code(
    tenant: &TenantState,
    request: &AuthorizeRequest,
    user: DevUser,
    sid: String,
    auth_time: i64,
    organization: Option<DevOrganization>,
) -> String {
    let code = random_token(32);
    let grant = Grant {
        redirect_uri: request.redirect_uri.to_string(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        audience: request.audience.clone(),
        scope: request.scope.clone(),
        user,
        sid,
        auth_time,
        organization,
        issued: Instant::now(),
    };
    insert_swept(&tenant.codes, code.clone(), grant, |g| {
        g.issued.elapsed() < CODE_LIFETIME
    });
    code
}

#[cfg(test)]
mod tests {
    use super::check_credentials;

    #[test]
    fn any_email_with_any_non_empty_password_is_accepted() {
        assert!(check_credentials("a@b", "x").is_ok());
        assert!(check_credentials("ada@example.com", "").is_err());
        assert!(check_credentials("not-an-email", "x").is_err());
        assert!(check_credentials("a b@c", "x").is_err());
        assert!(check_credentials("@c", "x").is_err());
    }
}
