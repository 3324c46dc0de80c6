//! What the tenant publishes and signs: discovery and the key set, the token endpoint (code
//! grant, PKCE, client authentication), the RS256 ID token, and `/userinfo`.

use std::sync::atomic::Ordering;
use std::time::Instant;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::{AccessToken, AuthorizationCode};
use serde::Deserialize;
use serde_json::json;

use super::keys;
use super::pages::{json_response, oauth_error};
use super::state::{
    insert_swept, random_token, DevUser, Grant, RefreshGrant, TenantState, ADMIN_PERMISSION,
    CODE_LIFETIME, ID_TOKEN_LIFETIME_SECS,
};
use crate::auth0::claims::{IdToken, IdTokenClaims};
use crate::auth0::secure_eq;

pub(super) async fn discovery(tenant: web::Data<TenantState>) -> HttpResponse {
    tenant.counters.discovery.fetch_add(1, Ordering::Relaxed);
    json_response(StatusCode::OK, tenant.discovery.clone())
}

pub(super) async fn jwks(tenant: web::Data<TenantState>) -> HttpResponse {
    tenant.counters.jwks.fetch_add(1, Ordering::Relaxed);
    json_response(StatusCode::OK, tenant.jwks.clone())
}

#[derive(Deserialize)]
pub(super) struct TokenRequest {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    code_verifier: Option<String>,
    /// `client_credentials`: the API the token is for.
    audience: Option<String>,
    /// `client_credentials`: the permissions asked for.
    scope: Option<String>,
    /// `refresh_token`: the token to exchange.
    refresh_token: Option<String>,
}

/// `/oauth/token` for the authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.6).
pub(super) async fn token(
    tenant: web::Data<TenantState>,
    req: HttpRequest,
    form: web::Form<TokenRequest>,
) -> HttpResponse {
    tenant.counters.token.fetch_add(1, Ordering::Relaxed);
    let form = form.into_inner();
    let client_ok = client_authenticated(
        &tenant,
        &req,
        form.client_id.clone(),
        form.client_secret.clone(),
    );
    if !client_ok {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        );
    }
    match form.grant_type.as_deref() {
        Some("authorization_code") => {}
        Some("client_credentials") => return client_credentials(&tenant, &form),
        Some("refresh_token") => {
            tenant.counters.refresh.fetch_add(1, Ordering::Relaxed);
            let delay = tenant.refresh_delay_ms.load(Ordering::Relaxed);
            if delay > 0 {
                actix_web::rt::time::sleep(std::time::Duration::from_millis(delay)).await;
            }
            return refresh(&tenant, &form);
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Only authorization_code and client_credentials are supported here.",
            )
        }
    }
    // Taking the code out of the map makes it single-use, whatever happens next.
    let grant = form
        .code
        .as_deref()
        .and_then(|code| tenant.codes.lock().expect("lock").remove(code));
    let Some(grant) = grant.filter(|g| g.issued.elapsed() < CODE_LIFETIME) else {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "invalid_grant",
            "Invalid authorization code",
        );
    };
    if form.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "invalid_grant",
            "The redirect_uri does not match the authorization request.",
        );
    }
    if let Some(challenge) = &grant.code_challenge {
        let verified = form.code_verifier.as_deref().is_some_and(|verifier| {
            let computed = openidconnect::PkceCodeChallenge::from_code_verifier_sha256(
                &openidconnect::PkceCodeVerifier::new(verifier.to_owned()),
            );
            secure_eq(computed.as_str(), challenge)
        });
        if !verified {
            return oauth_error(
                StatusCode::FORBIDDEN,
                "invalid_grant",
                "Failed to verify code verifier",
            );
        }
    }
    let refresh_token = grant
        .scope
        .split_whitespace()
        .any(|s| s == "offline_access")
        .then(|| {
            tenant
                .refresh_tokens
                .lock()
                .expect("lock")
                .issue(RefreshGrant {
                    family: random_token(12),
                    user: grant.user.clone(),
                    audience: grant.audience.clone(),
                    scope: grant.scope.clone(),
                    used: false,
                })
        });
    let access_token = match &grant.audience {
        Some(audience) => sign_access_token(&tenant, &grant.user, audience, &grant.scope),
        None => random_token(32),
    };
    let id_token = match sign_id_token(
        &tenant,
        &grant,
        &access_token,
        form.code.as_deref().unwrap_or_default(),
    ) {
        Ok(token) => token,
        Err(e) => return oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e),
    };
    let ttl = tenant.access_token_ttl();
    insert_swept(
        &tenant.access_tokens,
        access_token.clone(),
        (grant.user, Instant::now()),
        |(_, t)| t.elapsed() < ttl,
    );
    let mut body = json!({
        "access_token": access_token,
        "id_token": id_token,
        "token_type": "Bearer",
        "expires_in": tenant.access_token_ttl().as_secs(),
        "scope": grant.scope,
    });
    if let Some(refresh_token) = refresh_token {
        body["refresh_token"] = json!(refresh_token);
    }
    json_response(StatusCode::OK, body.to_string())
}

/// The refresh token grant (RFC 6749 §6) with rotation: a new access token and a new refresh
/// token; the one presented is retired, and presenting a retired one revokes its family.
fn refresh(tenant: &TenantState, form: &TokenRequest) -> HttpResponse {
    let mut tokens = tenant.refresh_tokens.lock().expect("lock");
    let grant = match tokens.exchange(form.refresh_token.as_deref().unwrap_or_default()) {
        Ok(grant) => grant,
        Err(why) => return oauth_error(StatusCode::FORBIDDEN, "invalid_grant", why),
    };
    let refresh_token = tokens.issue(RefreshGrant {
        used: false,
        ..grant.clone()
    });
    drop(tokens);
    let access_token = match &grant.audience {
        Some(audience) => sign_access_token(tenant, &grant.user, audience, &grant.scope),
        None => random_token(32),
    };
    let ttl = tenant.access_token_ttl();
    insert_swept(
        &tenant.access_tokens,
        access_token.clone(),
        (grant.user, Instant::now()),
        |(_, t)| t.elapsed() < ttl,
    );
    let body = json!({
        "access_token": access_token,
        "refresh_token": refresh_token,
        "token_type": "Bearer",
        "expires_in": ttl.as_secs(),
        "scope": grant.scope,
    });
    json_response(StatusCode::OK, body.to_string())
}

#[derive(Deserialize)]
pub(super) struct RevokeRequest {
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// `/oauth/revoke` (RFC 7009): revokes a refresh token and its family. Answers 200 for any
/// token, known or not, once the client has authenticated.
pub(super) async fn revoke(
    tenant: web::Data<TenantState>,
    req: HttpRequest,
    form: web::Form<RevokeRequest>,
) -> HttpResponse {
    tenant.counters.revoke.fetch_add(1, Ordering::Relaxed);
    let form = form.into_inner();
    if !client_authenticated(&tenant, &req, form.client_id, form.client_secret) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        );
    }
    if let Some(token) = form.token {
        tenant.refresh_tokens.lock().expect("lock").revoke(&token);
    }
    HttpResponse::Ok().finish()
}

/// The client's credentials, from HTTP Basic or the body (`client_secret_post`).
fn client_authenticated(
    tenant: &TenantState,
    req: &HttpRequest,
    client_id: Option<String>,
    client_secret: Option<String>,
) -> bool {
    let (client_id, client_secret) = match basic_auth(req) {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (client_id, client_secret),
    };
    client_id.as_deref() == Some(tenant.client_id.as_str())
        && client_secret
            .as_deref()
            .is_some_and(|s| secure_eq(s, &tenant.client_secret))
}

/// An access token for an API, as Auth0 issues it: an RS256 JWT with `typ` `JWT`, addressed to
/// the API and the tenant's `/userinfo`, with the scopes of the login and, as Auth0 RBAC adds
/// them, the user's `permissions`.
pub(super) fn sign_access_token(
    tenant: &TenantState,
    user: &DevUser,
    audience: &str,
    scope: &str,
) -> String {
    let now = chrono::Utc::now().timestamp();
    let userinfo = tenant.issuer.join("userinfo").expect("a path");
    keys::signing_key().sign(
        "JWT",
        &json!({
            "iss": tenant.issuer.as_str(),
            "sub": user.sub,
            "aud": [audience, userinfo.as_str()],
            "iat": now,
            "exp": now + tenant.access_token_ttl().as_secs() as i64,
            "azp": tenant.client_id,
            "scope": scope,
            "permissions": user.permissions(),
        }),
    )
}

/// The client credentials grant (a machine-to-machine token, RFC 6749 §4.4): a token for
/// `audience` whose subject is the client itself (`<client_id>@clients`, as Auth0 names it). Its
/// `permissions` are the API's permissions the request names in `scope`.
fn client_credentials(tenant: &TenantState, form: &TokenRequest) -> HttpResponse {
    let Some(audience) = form.audience.as_deref().filter(|a| !a.is_empty()) else {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "access_denied",
            "Client credentials need an audience.",
        );
    };
    let scope = form.scope.as_deref().unwrap_or_default();
    let client = DevUser {
        sub: format!("{}@clients", tenant.client_id),
        admin: scope.split_whitespace().any(|s| s == ADMIN_PERMISSION),
        ..DevUser::from_email(&tenant.issuer, "client@clients.invalid")
    };
    let permissions = client.permissions().join(" ");
    let token = sign_access_token(tenant, &client, audience, &permissions);
    let body = json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": tenant.access_token_ttl().as_secs(),
        "scope": permissions,
    });
    json_response(StatusCode::OK, body.to_string())
}

pub(super) fn sign_id_token(
    tenant: &TenantState,
    grant: &Grant,
    access_token: &str,
    code: &str,
) -> Result<String, String> {
    let now = chrono::Utc::now().timestamp();
    let mut claims = grant.user.claims();
    let object = claims.as_object_mut().expect("claims are an object");
    object.insert("iss".into(), json!(tenant.issuer.as_str()));
    object.insert("aud".into(), json!(tenant.client_id));
    object.insert("iat".into(), json!(now));
    object.insert("exp".into(), json!(now + ID_TOKEN_LIFETIME_SECS));
    object.insert("auth_time".into(), json!(grant.auth_time));
    if let Some(org) = &grant.organization {
        object.insert("org_id".into(), json!(org.id));
        object.insert("org_name".into(), json!(org.name));
    }
    object.insert("sid".into(), json!(grant.sid));
    if let Some(nonce) = &grant.nonce {
        object.insert("nonce".into(), json!(nonce));
    }
    let claims: IdTokenClaims = serde_json::from_value(claims).map_err(|e| e.to_string())?;
    IdToken::new(
        claims,
        &keys::signing_key().key,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        Some(&AccessToken::new(access_token.to_owned())),
        Some(&AuthorizationCode::new(code.to_owned())),
    )
    .map(|token| token.to_string())
    .map_err(|e| e.to_string())
}

pub(super) async fn userinfo(tenant: web::Data<TenantState>, req: HttpRequest) -> HttpResponse {
    tenant.counters.userinfo.fetch_add(1, Ordering::Relaxed);
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let user = token.and_then(|t| {
        let tokens = tenant.access_tokens.lock().expect("lock");
        tokens
            .get(t)
            .filter(|(_, issued)| issued.elapsed() < tenant.access_token_ttl())
            .map(|(user, _)| user.clone())
    });
    if let Some(user) = &user {
        if !tenant.userinfo_allowed(&user.sub) {
            // As Auth0 answers past its per-user limit on /userinfo.
            return HttpResponse::TooManyRequests()
                .insert_header((header::RETRY_AFTER, "60"))
                .json(json!({ "error": "too_many_requests", "error_description": "Too Many Requests" }));
        }
    }
    match user {
        Some(user) => json_response(StatusCode::OK, user.claims().to_string()),
        None => HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""))
            .body("Unauthorized"),
    }
}

pub(super) fn basic_auth(req: &HttpRequest) -> Option<(String, String)> {
    use base64::Engine;
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}
