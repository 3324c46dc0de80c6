//! The embedded Lock widget (npm `auth0-lock` 14, `new Auth0Lock(clientId, domain, options)`),
//! the seed's signature feature, made safe: Lock runs in code mode, and the page carries a fresh
//! server-side `state`, `nonce` and PKCE challenge (Lock in code mode makes no nonce, and its own
//! state would be rejected by the callback), so Lock logins finish in the same callback as
//! Universal Login ones.
//!
//! The options are rendered as JSON in a `<script type="application/json">` block (not executed,
//! and escaped so no value can close the element); a static script reads it and starts Lock, so
//! the page needs no inline script.

use actix_session::SessionExt;
use actix_web::HttpRequest;
use serde_json::json;

use super::error::Auth0Error;
use super::session::AuthSession;
use super::settings::Auth0Settings;
use super::transaction::{PendingLogin, Started};
use super::Auth0;

/// What a page needs to embed Lock.
#[derive(Debug, Clone)]
pub struct LockWidget {
    /// The Lock script to load.
    pub script_url: String,
    /// `{"clientID", "domain", "options"}`, escaped for an HTML `<script>` data block.
    pub config_json: String,
    /// The Content-Security-Policy that page needs (Lock's script, the tenant, Lock's styles).
    pub content_security_policy: String,
}

impl LockWidget {
    /// Opens a login transaction in the session and returns Lock's configuration for it.
    /// `container` is the id of the element Lock renders into (inline mode).
    pub fn open(req: &HttpRequest, container: &str) -> Result<Self, Auth0Error> {
        let auth0 = Auth0::of(req)?;
        let settings = auth0.settings();
        let login = PendingLogin::started(Started::Lock, None);
        let mut params = json!({
            "scope": settings.scope,
            "state": login.state,
            "nonce": login.nonce,
            "code_challenge": login.pkce_challenge().as_str(),
            "code_challenge_method": "S256",
        });
        if let Some(audience) = &settings.audience {
            params["audience"] = json!(audience);
        }
        let mut options = json!({
            "container": container,
            "auth": {
                "redirect": true,
                "redirectUrl": settings.callback_url.as_str(),
                "responseType": "code",
                "params": params,
            },
            // No SSO probe, no gravatar, no logo fetched from elsewhere.
            "rememberLastLogin": false,
            "avatar": null,
            "closable": false,
            "theme": { "logo": "/static/favicon.svg", "primaryColor": "#635dff" },
            "languageDictionary": { "title": "Log in" },
        });
        if let Some(base) = &auth0.lock_configuration_base_url {
            options["configurationBaseUrl"] = json!(base);
            options["languageBaseUrl"] = json!(base);
        }
        let config = json!({
            "clientID": settings.client_id,
            "domain": settings.domain,
            "options": options,
        });
        AuthSession(&req.get_session()).push_login(login, settings.login_max_age)?;
        Ok(Self {
            script_url: settings.lock_url.clone(),
            config_json: script_safe_json(&config),
            content_security_policy: auth0.lock_csp.clone(),
        })
    }
}

/// Where Lock fetches the client's settings and language files: the tenant itself, when it is
/// not an `*.auth0.com` host (a custom domain or a local tenant); Lock's default otherwise.
pub fn configuration_base_url(settings: &Auth0Settings) -> Option<String> {
    let host = settings.issuer.host_str().unwrap_or_default();
    let on_auth0 = host == "auth0.com" || host.ends_with(".auth0.com");
    (!on_auth0).then(|| settings.issuer.origin().ascii_serialization())
}

/// The Content-Security-Policy of a page that embeds Lock: its script, the tenant (client
/// settings by JSONP, `/co/authenticate`) and, as Lock injects its styles, inline styles.
pub fn content_security_policy(settings: &Auth0Settings) -> String {
    let tenant = settings.issuer.origin().ascii_serialization();
    let lock = url::Url::parse(&settings.lock_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    let config = match configuration_base_url(settings) {
        Some(base) => base,
        None => "https://*.auth0.com".to_owned(),
    };
    format!(
        "default-src 'self'; script-src 'self' {lock} {config}; connect-src 'self' {tenant}; \
         img-src 'self' data: https: {tenant}; style-src 'self' 'unsafe-inline'; \
         frame-src {tenant}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
         form-action 'self' {tenant}"
    )
}

/// JSON that can sit inside `<script type="application/json">`: `<`, `>` and `&` are escaped
/// so no value can end the element or open a comment, and U+2028/2029 for old parsers.
pub fn script_safe_json(value: &serde_json::Value) -> String {
    let raw = value.to_string();
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::script_safe_json;
    use serde_json::json;

    #[test]
    fn json_for_a_script_block_cannot_close_it() {
        let value = json!({ "name": "</script><script>alert(1)</script><!--&" });
        let out = script_safe_json(&value);
        assert!(!out.contains('<') && !out.contains('>') && !out.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back, value, "still the same JSON");
    }
}
