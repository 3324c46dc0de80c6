//! The OpenID Connect relying party: discovery (cached), the authorization URL, the code
//! exchange, ID-token validation and the userinfo call, in the order of
//! [OIDC Core §3.1](https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth).
//!
//! openidconnect does the JOSE work. What it leaves to the relying party is done here: pinning
//! RS256 (it would otherwise trust the algorithms the discovery document lists, and Auth0 lists
//! HS256), `azp`, `nbf`, clock leeway, a non-empty `sub`, and refetching the key set once when a
//! token names a key we do not know (key rotation) without letting tokens force a fetch each.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim, CoreGrantType,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
    CoreResponseMode, CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreSubjectIdentifierType, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthType, AuthorizationCode, Client, ClientId, ClientSecret,
    CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields,
    IssuerUrl, JsonWebKey, JsonWebKeySet, JsonWebKeySetUrl, JsonWebKeyUse, Nonce,
    OAuth2TokenResponse, PkceCodeVerifier, ProviderMetadata, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, SignatureVerificationError, StandardErrorResponse,
    StandardTokenResponse, TokenResponse, UserInfoError,
};
use url::Url;

use super::backchannel::{is_logout_token_type, LogoutTokenClaims};
use super::bearer::{is_access_token_type, AccessTokenClaims, BearerError, BearerUser};
use super::claims::{
    check_extra_claims, profile_from, ExtraClaims, IdToken, IdTokenClaims, UserInfoClaims,
};
use super::error::{log_line, Auth0Error, UpstreamError};
use super::http::{HttpClient, HttpError};
use super::jwk::Jwk;
use super::login_options::{check_login_claims, LoginOptions, MAX_ORG_ID, MAX_ORG_NAME};
use super::settings::{Auth0Settings, LogoutMode};
use super::tokens::TokenSet;
use super::transaction::PendingLogin;
use super::user::Auth0Profile;

/// Clock skew tolerated on `exp`, `iat` and `nbf`.
pub const CLOCK_LEEWAY: Duration = Duration::from_secs(60);
/// The key set is refetched for an unknown `kid` at most this often, so a stream of forged tokens
/// with random key ids cannot turn the app into a load generator against the tenant.
pub const JWKS_REFETCH_COOLDOWN: Duration = Duration::from_secs(30);
/// After a failed discovery, logins fail at once for this long instead of each trying again: while
/// the tenant is down, a crowd of `/login` requests costs one upstream timeout, not one each.
pub const DISCOVERY_RETRY_AFTER: Duration = Duration::from_secs(5);

type TokenResponseFields = IdTokenFields<
    ExtraClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type TokenResponseBody = StandardTokenResponse<TokenResponseFields, CoreTokenType>;
type OidcClient = Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    Jwk,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponseBody,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What the discovery document says beyond openidconnect's model: where RP-Initiated Logout goes.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
struct LogoutMetadata {
    #[serde(default)]
    end_session_endpoint: Option<Url>,
}
impl openidconnect::AdditionalProviderMetadata for LogoutMetadata {}

/// The discovery document, with the key set as [`Jwk`]s (RS256 checked by ring).
type Metadata = ProviderMetadata<
    LogoutMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    Jwk,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// What discovery found, with the key set as last fetched.
struct Provider {
    client: OidcClient,
    /// `end_session_endpoint`, when discovery lists one.
    end_session: Option<Url>,
    jwks_url: JsonWebKeySetUrl,
    jwks: JsonWebKeySet<Jwk>,
}

pub(crate) struct Auth0Client {
    settings: Arc<Auth0Settings>,
    http: HttpClient,
    provider: RwLock<Option<Arc<Provider>>>,
    /// Held while discovering or refetching keys: one fetch at a time (single flight).
    refresh: tokio::sync::Mutex<Fetches>,
}

/// What the last fetches did, for the callers that waited for them.
#[derive(Default)]
struct Fetches {
    /// When the key set was last refetched for an unknown key id.
    keys_refetched: Option<Instant>,
    /// When discovery last failed, and why.
    discovery_failed: Option<(Instant, UpstreamError)>,
}

impl Auth0Client {
    /// A client for these settings; discovery happens on first use.
    pub fn new(settings: Arc<Auth0Settings>) -> Self {
        Self {
            settings,
            http: HttpClient::new(),
            provider: RwLock::new(None),
            refresh: tokio::sync::Mutex::default(),
        }
    }

    /// The settings this client was made with.
    pub fn settings(&self) -> &Auth0Settings {
        &self.settings
    }

    /// Runs discovery now if it has not succeeded yet (startup calls this; failure is not fatal).
    pub async fn warm_up(&self) -> Result<(), Auth0Error> {
        self.provider().await.map(|_| ())
    }

    /// The authorization URL for a pending login: code flow with state, nonce and PKCE (S256),
    /// with the login's `max_age` and the checked `options` (see `login_options.rs`).
    pub async fn authorize_url(
        &self,
        login: &PendingLogin,
        options: &LoginOptions,
    ) -> Result<Url, Auth0Error> {
        let provider = self.provider().await?;
        let (state, nonce) = (login.state.clone(), login.nonce.clone());
        let mut request = provider
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(login.pkce_challenge());
        // openidconnect adds `openid` itself.
        for scope in self.settings.scope.split_whitespace() {
            if scope != "openid" {
                request = request.add_scope(Scope::new(scope.to_owned()));
            }
        }
        if let Some(audience) = &self.settings.audience {
            request = request.add_extra_param("audience", audience.clone());
        }
        if let Some(max_age) = login.max_age {
            request = request.set_max_age(Duration::from_secs(max_age));
        }
        if options.prompt_login {
            request = request.add_prompt(openidconnect::core::CoreAuthPrompt::Login);
        }
        if let Some(hint) = &options.login_hint {
            request = request.set_login_hint(openidconnect::LoginHint::new(hint.clone()));
        }
        let extra = [
            ("screen_hint", options.screen_hint.map(str::to_owned)),
            ("connection", options.connection.clone()),
            ("organization", options.organization.clone()),
            ("invitation", options.invitation.clone()),
        ];
        for (name, value) in extra {
            if let Some(value) = value {
                request = request.add_extra_param(name, value);
            }
        }
        Ok(request.url().0)
    }

    /// Exchanges the code and validates the ID token; the profile is its claims, or with
    /// `AUTH0_USERINFO=true` userinfo's, checked to be the same user.
    /// With `AUTH0_AUDIENCE`, the tokens come too (to be kept server-side, sealed).
    pub async fn finish_login(
        &self,
        login: &PendingLogin,
        code: String,
    ) -> Result<FinishedLogin, Auth0Error> {
        let provider = self.provider().await?;
        let http = |request| self.http.execute(request);
        let token = provider
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| unavailable("the code exchange", e))?
            .set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier.clone()))
            .request_async(&http)
            .await
            .map_err(token_error)?;
        let id_token = token
            .id_token()
            .ok_or_else(|| Auth0Error::TokenEndpoint("the response has no id_token".into()))?;
        let nonce = Nonce::new(login.nonce.clone());
        let claims = self
            .verify_id_token(provider.clone(), id_token, &nonce, token.access_token())
            .await?;
        let extra = &claims.additional_claims().other;
        let text = |name: &str| extra.get(name).and_then(|v| v.as_str());
        let auth_time = claims.auth_time().map(|t| t.timestamp());
        // What this login asked for (organization, max_age), before anything else is called.
        check_login_claims(
            login,
            auth_time,
            text("org_id"),
            text("org_name"),
            Utc::now().timestamp(),
            CLOCK_LEEWAY.as_secs() as i64,
        )
        .map_err(Auth0Error::InvalidIdToken)?;
        let userinfo = if self.settings.login.userinfo {
            self.userinfo(&provider, token.access_token(), &claims)
                .await?
        } else {
            None
        };
        let tokens = self.settings.audience.as_ref().map(|_| TokenSet {
            access_token: token.access_token().secret().clone(),
            expires_at: expires_at(token.expires_in()),
            scope: granted_scope(token.scopes(), &self.settings.scope),
            refresh_token: token.refresh_token().map(|t| t.secret().clone()),
        });
        // The organization rides in the session cookie: bounded, printable, or nothing.
        // Auth0's limits: ids as `Organization::parse` takes them, names of 50 characters.
        let bounded = |name: &str, max: usize| {
            text(name)
                .filter(|v| v.len() <= max && v.chars().all(|c| !c.is_control()))
                .map(str::to_owned)
        };
        let organization =
            bounded("org_id", MAX_ORG_ID).map(|id| (id, bounded("org_name", MAX_ORG_NAME)));
        let sid = claims
            .additional_claims()
            .other
            .get("sid")
            .and_then(|sid| sid.as_str())
            // It rides in the session cookie: a bounded, plain value or nothing.
            .filter(|sid| sid.len() <= 128 && sid.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_owned);
        Ok(FinishedLogin {
            profile: profile_from(&claims, userinfo.as_ref())?,
            tokens,
            sid,
            auth_time,
            organization,
        })
    }

    /// Calls `/userinfo` with the login's access token; its `sub` must be the ID token's. `None`
    /// when it is rate limited: the profile then comes from the ID token.
    async fn userinfo(
        &self,
        provider: &Provider,
        access_token: &AccessToken,
        claims: &IdTokenClaims,
    ) -> Result<Option<UserInfoClaims>, Auth0Error> {
        let http = |request| self.http.execute(request);
        let userinfo = provider
            .client
            .user_info(access_token.clone(), Some(claims.subject().clone()))
            .map_err(|e| unavailable("the userinfo call", e))?
            .request_async(&http)
            .await;
        match userinfo {
            Ok(userinfo) => Ok(Some(userinfo)),
            // Auth0 limits /userinfo per user: a burst of logins of one user must not fail on
            // it. The verified ID token carries the same profile claims.
            Err(UserInfoError::Response(status, _, _)) if status.as_u16() == 429 => {
                tracing::warn!(
                    "auth0: /userinfo is rate limited (429); the profile comes from the ID token"
                );
                Ok(None)
            }
            Err(e) => Err(userinfo_error(e)),
        }
    }

    /// Exchanges a refresh token for new tokens (RFC 6749 §6). With rotation the answer has a new
    /// refresh token; without, the old one stays good and is kept.
    pub(crate) async fn refresh(&self, refresh_token: &str) -> Result<TokenSet, RefreshError> {
        let provider = self
            .provider()
            .await
            .map_err(|e| RefreshError::Unavailable(log_line(&e)))?;
        let http = |request| self.http.execute(request);
        let token = provider
            .client
            .exchange_refresh_token(&RefreshToken::new(refresh_token.to_owned()))
            .map_err(|e| RefreshError::Unavailable(e.to_string()))?
            .request_async(&http)
            .await
            .map_err(|e| match e {
                // The tenant refused the token (`invalid_grant`: revoked, reused or expired): no
                // retry will make it good. Any other answer (a 5xx, `server_error`,
                // `temporarily_unavailable`, a misconfigured client) keeps the session.
                // `access_denied` and `unauthorized` come from the tenant's rules or Actions
                // denying the user: the tenant's decision, so the session ends too.
                RequestTokenError::ServerResponse(response)
                    if matches!(
                        response.error().as_ref(),
                        "invalid_grant" | "access_denied" | "unauthorized"
                    ) =>
                {
                    RefreshError::Refused(response.error().to_string())
                }
                RequestTokenError::Parse(e, _) => {
                    RefreshError::Unavailable(format!("unreadable answer at `{}`", e.path()))
                }
                other => RefreshError::Unavailable(other.to_string()),
            })?;
        Ok(TokenSet {
            access_token: token.access_token().secret().clone(),
            expires_at: expires_at(token.expires_in()),
            scope: granted_scope(token.scopes(), &self.settings.scope),
            refresh_token: Some(
                token
                    .refresh_token()
                    .map_or_else(|| refresh_token.to_owned(), |t| t.secret().clone()),
            ),
        })
    }

    /// Where `POST /logout` sends the browser (`AUTH0_LOGOUT`): RP-Initiated Logout at the
    /// discovered `end_session_endpoint` (auto, or always with `oidc`: then Auth0's
    /// `/oidc/logout` if discovery named none), else Auth0's `/v2/logout`. It never waits on the
    /// network: before discovery has succeeded, `auto` means `/v2/logout`.
    pub(crate) fn logout_url(&self, sid: Option<&str>) -> Url {
        let settings = &self.settings;
        let discovered = self.cached().and_then(|p| p.end_session.clone());
        let endpoint = match (settings.logout.mode, discovered) {
            (LogoutMode::V2, _) | (LogoutMode::Auto, None) => return settings.logout_url(),
            (_, Some(endpoint)) => endpoint,
            (LogoutMode::Oidc, None) => settings
                .issuer
                .join("oidc/logout")
                .expect("issuer is a base URL"),
        };
        settings.oidc_logout_url(&endpoint, sid)
    }

    /// Revokes a refresh token at the tenant (`/oauth/revoke`, RFC 7009), so a copy of it is
    /// worthless after logout. Failures are the caller's to log: logout goes on regardless.
    pub(crate) async fn revoke_refresh_token(&self, refresh_token: &str) -> Result<(), String> {
        let endpoint = self
            .settings
            .issuer
            .join("oauth/revoke")
            .map_err(|e| e.to_string())?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("client_secret", self.settings.client_secret.expose())
            .append_pair("token", refresh_token)
            .append_pair("token_type_hint", "refresh_token")
            .finish();
        let request = openidconnect::http::Request::builder()
            .method(openidconnect::http::Method::POST)
            .uri(endpoint.as_str())
            .header(
                openidconnect::http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body.into_bytes())
            .map_err(|e| e.to_string())?;
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| e.to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("the tenant answered {}", response.status()))
        }
    }

    /// Validates an ID token per OIDC Core §3.1.3.7, refetching the key set once for an unknown key.
    async fn verify_id_token(
        &self,
        provider: Arc<Provider>,
        id_token: &IdToken,
        nonce: &Nonce,
        access_token: &AccessToken,
    ) -> Result<IdTokenClaims, Auth0Error> {
        match self.check_id_token(&provider, id_token, nonce, access_token) {
            Err(IdTokenCheck::UnknownKey) => match self.refetch_keys(&provider).await? {
                Some(fresh) => self.check_id_token(&fresh, id_token, nonce, access_token),
                None => Err(IdTokenCheck::UnknownKey),
            },
            other => other,
        }
        .map_err(|e| match e {
            IdTokenCheck::UnknownKey => {
                Auth0Error::InvalidIdToken("signed with a key the tenant does not publish".into())
            }
            IdTokenCheck::Invalid(reason) => Auth0Error::InvalidIdToken(reason),
        })
    }

    /// The ID token's checks, and with an `at_hash` claim, that it is the hash of the access token
    /// it came with (OIDC Core 3.1.3.8; optional in the code flow, so defence in depth: a token
    /// without `at_hash` is accepted).
    fn check_id_token(
        &self,
        provider: &Provider,
        id_token: &IdToken,
        nonce: &Nonce,
        access_token: &AccessToken,
    ) -> Result<IdTokenClaims, IdTokenCheck> {
        let leeway = chrono::Duration::from_std(CLOCK_LEEWAY).expect("small duration");
        let client_id = self.settings.client_id.clone();
        let issuer = IssuerUrl::from_url(self.settings.issuer.clone());
        // A public-client verifier: it cannot verify HMAC at all, and the allow-list pins RS256.
        let verifier = openidconnect::IdTokenVerifier::new_public_client(
            ClientId::new(client_id.clone()),
            issuer,
            provider.jwks.clone(),
        )
        .set_allowed_algs([CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256])
        .set_time_fn(move || Utc::now() - leeway)
        .set_issue_time_verifier_fn(move |iat| {
            if iat > Utc::now() + leeway {
                Err(format!("issued in the future ({iat})"))
            } else {
                Ok(())
            }
        });
        let claims = id_token.claims(&verifier, nonce).map_err(|e| match e {
            openidconnect::ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            ) => IdTokenCheck::UnknownKey,
            other => IdTokenCheck::Invalid(other.to_string()),
        })?;
        check_extra_claims(
            claims,
            &client_id,
            Utc::now().timestamp(),
            leeway.num_seconds(),
        )
        .map_err(IdTokenCheck::Invalid)?;
        if let Some(expected) = claims.access_token_hash() {
            let invalid =
                |e: &dyn std::fmt::Display| IdTokenCheck::Invalid(format!("`at_hash`: {e}"));
            let alg = id_token.signing_alg().map_err(|e| invalid(&e))?;
            let key = id_token.signing_key(&verifier).map_err(|e| invalid(&e))?;
            let actual =
                AccessTokenHash::from_token(access_token, alg, key).map_err(|e| invalid(&e))?;
            if actual != *expected {
                return Err(invalid(&"not the hash of the access token"));
            }
        }
        Ok(claims.clone())
    }

    /// Checks an access token sent to this app's API (see [`super::bearer`] for the rules),
    /// refetching the key set once for an unknown key as for ID tokens.
    pub(crate) async fn verify_access_token(&self, token: &str) -> Result<BearerUser, BearerError> {
        let audience = self
            .settings
            .audience
            .as_deref()
            .ok_or(BearerError::NoAudience)?;
        let claims: AccessTokenClaims = self
            .verify_jwt(token, is_access_token_type, |validation| {
                validation.validate_nbf = true;
                validation.set_audience(&[audience]);
                validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            })
            .await
            .map_err(|e| match e {
                JwtError::Unavailable => BearerError::Unavailable,
                JwtError::Invalid(reason) => BearerError::Invalid(reason),
            })?;
        if claims.is_id_token(&self.settings.client_id) {
            return Err(BearerError::Invalid(
                "an ID token is not an access token".into(),
            ));
        }
        if claims.sub.trim().is_empty() {
            return Err(BearerError::Invalid("empty `sub`".into()));
        }
        Ok(claims.into_user())
    }

    /// A back-channel logout token's claims, once its signature (RS256, a key the tenant
    /// publishes), `typ` (absent, `JWT` or `logout+jwt`), `iss` and `aud` (this client) are
    /// checked. The rest of OpenID Connect Back-Channel Logout 1.0 §2.6 is checked by the caller
    /// (`backchannel.rs`).
    pub(crate) async fn verify_logout_token(
        &self,
        token: &str,
    ) -> Result<LogoutTokenClaims, JwtError> {
        let client_id = self.settings.client_id.as_str();
        self.verify_jwt(token, is_logout_token_type, |validation| {
            validation.set_audience(&[client_id]);
            // `exp` is checked when present (Auth0 sends it); `iat` bounds the token's age.
            validation.set_required_spec_claims(&["iss", "aud"]);
        })
        .await
    }

    /// A JWT's claims, signed RS256 by a key in the tenant's key set (refetched once for an
    /// unknown `kid`, with the same cooldown as ID tokens), from this issuer, with a `typ` that
    /// `typ_ok` accepts and whatever else `validation` adds; `exp` (if present) and `nbf` with
    /// the clock leeway. Only the header is read before the signature is checked.
    async fn verify_jwt<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        typ_ok: fn(Option<&str>) -> bool,
        validation: impl Fn(&mut jsonwebtoken::Validation),
    ) -> Result<T, JwtError> {
        let provider = self.provider().await.map_err(|e| {
            tracing::warn!(error = %super::error::log_line(&e), "auth0: no key set to check a token");
            JwtError::Unavailable
        })?;
        match self.check_jwt(&provider, token, typ_ok, &validation) {
            Err(IdTokenCheck::UnknownKey) => match self.refetch_keys(&provider).await {
                Ok(Some(fresh)) => self.check_jwt(&fresh, token, typ_ok, &validation),
                Ok(None) => Err(IdTokenCheck::UnknownKey),
                Err(_) => return Err(JwtError::Unavailable),
            },
            other => other,
        }
        .map_err(|e| match e {
            IdTokenCheck::UnknownKey => {
                JwtError::Invalid("signed with a key the tenant does not publish".into())
            }
            IdTokenCheck::Invalid(reason) => JwtError::Invalid(reason),
        })
    }

    fn check_jwt<T: serde::de::DeserializeOwned>(
        &self,
        provider: &Provider,
        token: &str,
        typ_ok: fn(Option<&str>) -> bool,
        configure: &dyn Fn(&mut jsonwebtoken::Validation),
    ) -> Result<T, IdTokenCheck> {
        use jsonwebtoken::{Algorithm, DecodingKey, Validation};
        let invalid = |why: String| IdTokenCheck::Invalid(why);
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| invalid(format!("unreadable header: {e}")))?;
        if header.alg != Algorithm::RS256 {
            return Err(invalid(format!("`alg` {:?} is not RS256", header.alg)));
        }
        if !typ_ok(header.typ.as_deref()) {
            return Err(invalid(format!(
                "`typ` {:?} is not this kind of token's",
                header.typ
            )));
        }
        let kid = header.kid.ok_or_else(|| invalid("no `kid`".into()))?;
        let (n, e) = provider
            .jwks
            .keys()
            .iter()
            .filter(|k| k.key_id().is_some_and(|id| id.as_str() == kid))
            .filter(|k| k.key_use().is_none_or(|u| u.allows_signature()))
            .find_map(|k| k.rsa_components())
            .ok_or(IdTokenCheck::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = CLOCK_LEEWAY.as_secs();
        validation.set_issuer(&[self.settings.issuer.as_str()]);
        configure(&mut validation);
        jsonwebtoken::decode::<T>(
            token,
            &DecodingKey::from_rsa_raw_components(n, e),
            &validation,
        )
        .map(|data| data.claims)
        .map_err(|e| invalid(e.to_string()))
    }

    /// The provider, discovering it first if needed. Concurrent callers wait for one discovery
    /// and share its outcome: its provider, or its failure for [`DISCOVERY_RETRY_AFTER`].
    async fn provider(&self) -> Result<Arc<Provider>, Auth0Error> {
        if let Some(provider) = self.cached() {
            return Ok(provider);
        }
        let mut fetches = self.refresh.lock().await;
        if let Some(provider) = self.cached() {
            return Ok(provider);
        }
        if let Some((at, source)) = &fetches.discovery_failed {
            if at.elapsed() < DISCOVERY_RETRY_AFTER {
                return Err(Auth0Error::Unavailable {
                    during: format!(
                        "discovery, failed {} ms ago (retried after {} s)",
                        at.elapsed().as_millis(),
                        DISCOVERY_RETRY_AFTER.as_secs()
                    ),
                    source: source.clone(),
                });
            }
        }
        // One deadline for the whole discovery (the document, then the key set), so a tenant
        // that hangs on the second costs one timeout too.
        let discovered = tokio::time::timeout(super::http::REQUEST_TIMEOUT, self.discover())
            .await
            .unwrap_or_else(|elapsed| Err(unavailable("discovery (timed out)", elapsed)));
        match discovered {
            Ok(provider) => {
                fetches.discovery_failed = None;
                let provider = Arc::new(provider);
                *self.provider.write().expect("lock poisoned") = Some(provider.clone());
                Ok(provider)
            }
            Err(e) => {
                if let Auth0Error::Unavailable { source, .. } = &e {
                    fetches.discovery_failed = Some((Instant::now(), source.clone()));
                }
                Err(e)
            }
        }
    }

    fn cached(&self) -> Option<Arc<Provider>> {
        self.provider.read().expect("lock poisoned").clone()
    }

    async fn discover(&self) -> Result<Provider, Auth0Error> {
        let http = |request| self.http.execute(request);
        let issuer = IssuerUrl::from_url(self.settings.issuer.clone());
        let metadata = Metadata::discover_async(issuer, &http)
            .await
            .map_err(|e| unavailable("discovery", e))?;
        let jwks_url = metadata.jwks_uri().clone();
        let jwks = metadata.jwks().clone();
        let end_session = metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()
            .filter(|url| matches!(url.scheme(), "https" | "http"));
        let redirect = RedirectUrl::from_url(self.settings.callback_url.clone());
        let client = OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(
                self.settings.client_secret.expose().to_owned(),
            )),
        )
        // Auth0's default for Regular Web Applications is `client_secret_post`.
        .set_auth_type(AuthType::RequestBody)
        .set_redirect_uri(redirect);
        tracing::info!(issuer = %self.settings.issuer, "auth0: discovery done");
        Ok(Provider {
            client,
            end_session,
            jwks_url,
            jwks,
        })
    }

    /// Refetches the key set after `seen` failed to verify a token, unless another request just
    /// did (then its result is used) or the last refetch is within the cooldown (then `None`).
    async fn refetch_keys(
        &self,
        seen: &Arc<Provider>,
    ) -> Result<Option<Arc<Provider>>, Auth0Error> {
        let mut fetches = self.refresh.lock().await;
        let current = self.cached().unwrap_or_else(|| seen.clone());
        if !Arc::ptr_eq(&current, seen) {
            return Ok(Some(current));
        }
        if fetches
            .keys_refetched
            .is_some_and(|at| at.elapsed() < JWKS_REFETCH_COOLDOWN)
        {
            return Ok(None);
        }
        fetches.keys_refetched = Some(Instant::now());
        let http = |request| self.http.execute(request);
        let jwks = JsonWebKeySet::fetch_async(&current.jwks_url, &http)
            .await
            .map_err(|e| unavailable("refetching the key set", e))?;
        tracing::info!("auth0: key set refetched for an unknown key id");
        let fresh = Arc::new(Provider {
            client: current.client.clone(),
            end_session: current.end_session.clone(),
            jwks_url: current.jwks_url.clone(),
            jwks,
        });
        *self.provider.write().expect("lock poisoned") = Some(fresh.clone());
        Ok(Some(fresh))
    }
}

/// What a login brought back: the profile, the tokens (with `AUTH0_AUDIENCE`), and the ID
/// token's `sid` (the tenant's session, for logout).
pub(crate) struct FinishedLogin {
    pub(crate) profile: Auth0Profile,
    pub(crate) tokens: Option<TokenSet>,
    pub(crate) sid: Option<String>,
    /// When the user entered their credentials (`auth_time`), if the token says.
    pub(crate) auth_time: Option<i64>,
    /// The organization the user logged in to: `org_id` and `org_name`.
    pub(crate) organization: Option<(String, Option<String>)>,
}

/// Why a refresh did not give new tokens.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RefreshError {
    /// The tenant refused the refresh token: the session is over.
    #[error("the tenant refused the refresh token: `{0}`")]
    Refused(String),
    /// The tenant could not be reached or answered badly: try again later.
    #[error("the token endpoint is unavailable: {0}")]
    Unavailable(String),
    /// The session has no refresh token (no `offline_access`), or its tokens are unreadable.
    #[error("no refresh token")]
    Missing,
}

/// When a token that lives `expires_in` from now expires (Unix seconds); an hour if unsaid.
fn expires_at(expires_in: Option<Duration>) -> i64 {
    let lifetime = expires_in.unwrap_or(Duration::from_secs(3600));
    Utc::now().timestamp() + lifetime.as_secs().min(i64::MAX as u64 / 2) as i64
}

/// The scopes granted: the answer's `scope`, or (RFC 6749 §5.1: omitted when identical) those
/// asked for.
fn granted_scope(granted: Option<&Vec<Scope>>, requested: &str) -> String {
    match granted {
        Some(scopes) => scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        None => requested.to_owned(),
    }
}

enum IdTokenCheck {
    UnknownKey,
    Invalid(String),
}

/// Why a JWT that is not an ID token (an access or logout token) was not accepted.
#[derive(Debug)]
pub(crate) enum JwtError {
    /// The tenant's key set could not be had: no verdict on the token.
    Unavailable,
    /// The token is not acceptable, and why (for the log).
    Invalid(String),
}

fn unavailable(during: &str, e: impl std::error::Error + Send + Sync + 'static) -> Auth0Error {
    Auth0Error::Unavailable {
        during: during.to_owned(),
        source: Arc::new(e),
    }
}

fn token_error(
    error: RequestTokenError<HttpError, StandardErrorResponse<CoreErrorResponseType>>,
) -> Auth0Error {
    match error {
        RequestTokenError::ServerResponse(response) => Auth0Error::TokenRejected(format!(
            "`{}` {}",
            response.error(),
            response
                .error_description()
                .map(String::as_str)
                .unwrap_or("")
        )),
        RequestTokenError::Request(e) => Auth0Error::TokenEndpointUnreachable(e),
        // The body may hold tokens: name where parsing failed, never the bytes.
        RequestTokenError::Parse(e, _body) => {
            Auth0Error::TokenEndpoint(format!("unreadable response at `{}`", e.path()))
        }
        RequestTokenError::Other(message) => Auth0Error::TokenEndpoint(message),
    }
}

fn userinfo_error(error: UserInfoError<HttpError>) -> Auth0Error {
    match error {
        UserInfoError::ClaimsVerification(e) => Auth0Error::InvalidUserInfo(e.to_string()),
        UserInfoError::Parse(e) => {
            Auth0Error::InvalidUserInfo(format!("unreadable claims at `{}`", e.path()))
        }
        UserInfoError::Request(e) => Auth0Error::UserInfoEndpointUnreachable(e),
        UserInfoError::Response(status, _body, message) => {
            Auth0Error::UserInfoEndpoint(format!("status {status}: {message}"))
        }
        other => Auth0Error::UserInfoEndpoint(other.to_string()),
    }
}
