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
use super::login_options::set_expected_organization;
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
        let mut login = PendingLogin::started(Started::Lock, None);
        // What Lock's static parameters ask for (see `lock_config`), checked at the callback.
        login.max_age = settings.login.max_age.map(|age| age.as_secs());
        set_expected_organization(&mut login, &settings.login);
        let config_json = auth0.lock_template.render(container, &login);
        AuthSession(&req.get_session()).push_login(login, settings.login_max_age)?;
        Ok(Self {
            script_url: settings.lock_url.clone(),
            config_json,
            content_security_policy: auth0.lock_csp.clone(),
        })
    }
}

/// Lock's configuration for this tenant, serialized and escaped once at startup; each page fills
/// in its container and its login's `state`, `nonce` and PKCE challenge. (Building and escaping
/// the whole JSON on every anonymous home page was most of that page's own work.)
pub(crate) struct LockTemplate {
    /// The escaped JSON around the slots: one more piece than slots.
    pieces: Vec<String>,
    slots: Vec<Slot>,
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Container,
    State,
    Nonce,
    Challenge,
}

impl LockTemplate {
    pub(crate) fn new(settings: &Auth0Settings, configuration_base_url: Option<&str>) -> Self {
        // Markers no setting can contain by chance: random for this process.
        let tag = openidconnect::CsrfToken::new_random().secret().clone();
        let marker = |slot: Slot| format!("@@{slot:?}-{tag}@@");
        let config = lock_config(
            settings,
            configuration_base_url,
            &marker(Slot::Container),
            [
                &marker(Slot::State),
                &marker(Slot::Nonce),
                &marker(Slot::Challenge),
            ],
        );
        let escaped = script_safe_json(&config);
        let mut found: Vec<(usize, usize, Slot)> = [Slot::Container, Slot::State, Slot::Nonce]
            .into_iter()
            .chain([Slot::Challenge])
            .map(|slot| {
                let m = marker(slot);
                let at = escaped
                    .find(&m)
                    .expect("each marker is in the configuration");
                (at, m.len(), slot)
            })
            .collect();
        found.sort_by_key(|(at, _, _)| *at);
        let (mut pieces, mut slots, mut from) = (Vec::new(), Vec::new(), 0);
        for (at, len, slot) in found {
            pieces.push(escaped[from..at].to_owned());
            slots.push(slot);
            from = at + len;
        }
        pieces.push(escaped[from..].to_owned());
        Self { pieces, slots }
    }

    /// The configuration for one page and its login.
    fn render(&self, container: &str, login: &PendingLogin) -> String {
        let container = script_safe_json(&serde_json::Value::from(container));
        // Inside the quotes the template already has.
        let container = &container[1..container.len() - 1];
        let challenge = login.pkce_challenge();
        let value = |slot: Slot| -> &str {
            match slot {
                Slot::Container => container,
                Slot::State => &login.state,
                Slot::Nonce => &login.nonce,
                Slot::Challenge => challenge.as_str(),
            }
        };
        let mut out =
            String::with_capacity(self.pieces.iter().map(String::len).sum::<usize>() + 160);
        for (piece, slot) in self.pieces.iter().zip(&self.slots) {
            out.push_str(piece);
            let v = value(*slot);
            // state, nonce and challenge are base64url: nothing in them needs escaping. Checked
            // in release builds too: a value that ever broke that must not reach the page.
            assert!(
                matches!(slot, Slot::Container)
                    || v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "a login value that is not base64url"
            );
            out.push_str(v);
        }
        out.push_str(self.pieces.last().expect("one more piece than slots"));
        out
    }
}

/// `{"clientID", "domain", "options"}` as `new Auth0Lock(clientId, domain, options)` takes them,
/// with `container` and the login's `[state, nonce, code_challenge]`.
fn lock_config(
    settings: &Auth0Settings,
    configuration_base_url: Option<&str>,
    container: &str,
    [state, nonce, challenge]: [&str; 3],
) -> serde_json::Value {
    let mut params = json!({
        "scope": settings.scope,
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    });
    if let Some(audience) = &settings.audience {
        params["audience"] = json!(audience);
    }
    if let Some(organization) = &settings.login.organization {
        params["organization"] = json!(organization.as_str());
    }
    if let Some(max_age) = settings.login.max_age {
        params["max_age"] = json!(max_age.as_secs());
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
    if let Some(base) = configuration_base_url {
        options["configurationBaseUrl"] = json!(base);
        options["languageBaseUrl"] = json!(base);
    }
    json!({
        "clientID": settings.client_id,
        "domain": settings.domain,
        "options": options,
    })
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
    use super::*;
    use crate::auth0::secret::Secret;
    use crate::auth0::settings::{
        AppSettings, Organization, SessionLifetime, TenantSettings, DEFAULT_LOCK_URL,
    };
    use crate::auth0::urls::issuer_for_domain;

    #[test]
    fn the_template_gives_what_building_the_whole_configuration_gives() {
        // Values that need escaping, or look like JSON, stay where they are.
        let settings = settings("</script>\"@@State@@&", Some("https://api.example/<x>"));
        for base in [None, Some("http://127.0.0.1:4000")] {
            let template = LockTemplate::new(&settings, base);
            for container in ["lock", "a\"<b>"] {
                let login = PendingLogin::started(Started::Lock, None);
                let challenge = login.pkce_challenge();
                let expected = script_safe_json(&lock_config(
                    &settings,
                    base,
                    container,
                    [&login.state, &login.nonce, challenge.as_str()],
                ));
                assert_eq!(template.render(container, &login), expected, "{container}");
            }
        }
    }

    /// Settings for a tenant on auth0.com with this client id and audience.
    fn settings(client_id: &str, audience: Option<&str>) -> Auth0Settings {
        Auth0Settings::new(
            TenantSettings {
                domain: "t.auth0.com".into(),
                issuer: issuer_for_domain("t.auth0.com").unwrap(),
                client_id: client_id.into(),
                client_secret: Secret::new("s"),
            },
            AppSettings {
                callback_url: Some(url::Url::parse("https://app.example/callback").unwrap()),
                success_url: "/profile".into(),
                scope: "openid profile".into(),
                audience: audience.map(str::to_owned),
                lock_url: DEFAULT_LOCK_URL.into(),
                session: SessionLifetime::DEFAULT,
                logout: Default::default(),
                login: Default::default(),
            },
            None,
        )
        .unwrap()
    }

    #[test]
    fn lock_logins_ask_for_the_organization_and_max_age_and_expect_them() {
        let mut settings = settings("abc", None);
        settings.login.organization = Some(Organization::Name("acme".into()));
        settings.login.max_age = Some(std::time::Duration::from_secs(300));
        let config = lock_config(&settings, None, "lock", ["s", "n", "c"]);
        let params = &config["options"]["auth"]["params"];
        assert_eq!(params["organization"], "acme");
        assert_eq!(params["max_age"], 300);
        // What the callback will then require of a Lock login.
        let mut login = PendingLogin::started(Started::Lock, None);
        set_expected_organization(&mut login, &settings.login);
        assert_eq!(login.org_name.as_deref(), Some("acme"));
    }

    #[test]
    fn json_for_a_script_block_cannot_close_it() {
        let value = json!({ "name": "</script><script>alert(1)</script><!--&" });
        let out = script_safe_json(&value);
        assert!(!out.contains('<') && !out.contains('>') && !out.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back, value, "still the same JSON");
    }
}
