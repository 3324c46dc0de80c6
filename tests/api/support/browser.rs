//! A browser for the tests: its own cookie jar, never follows redirects (every hop is asserted),
//! knows the tenant's login form; and the helpers that read redirects and cookies.

use std::ops::Deref;
use std::sync::Arc;

use auth0_actix::dev_tenant::driver;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::LOCATION;
use reqwest::{Response, StatusCode};
use url::Url;

/// One browser: cookies kept, redirects not followed. It derefs to `reqwest::Client` for
/// requests of any shape.
pub struct Browser {
    client: reqwest::Client,
    jar: Arc<Jar>,
}

impl Browser {
    pub fn new() -> Self {
        Self::with(reqwest::Client::builder())
    }

    /// A browser that also trusts `certificate` (PEM): for a TLS proxy with a test certificate.
    pub fn trusting(certificate: &[u8]) -> Self {
        let root = reqwest::Certificate::from_pem(certificate).expect("a PEM certificate");
        Self::with(reqwest::Client::builder().add_root_certificate(root))
    }

    /// A browser that says it is `user_agent`.
    pub fn with_user_agent(user_agent: &str) -> Self {
        Self::with(reqwest::Client::builder().user_agent(user_agent))
    }

    fn with(builder: reqwest::ClientBuilder) -> Self {
        let jar = Arc::new(Jar::default());
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            // Drop an idle connection well before the server's keep-alive (actix: 5 s) closes it:
            // a request sent on a connection the server is closing at that moment fails with
            // "IncompleteMessage" (seen under load, between a login's steps).
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .cookie_provider(jar.clone())
            .build()
            .expect("client");
        Self { client, jar }
    }

    /// The session cookie (`name=value`) this browser would send to `url`.
    pub fn session_cookie(&self, url: &Url) -> Option<String> {
        let header = self.jar.cookies(url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .find(|c| c.starts_with("auth0_session=") || c.starts_with("__Host-auth0_session="))
            .map(str::to_owned)
    }

    /// The value of the cookie `name` this browser would send to `url`.
    pub fn session_cookie_named(&self, url: &Url, name: &str) -> Option<String> {
        let header = self.jar.cookies(url)?;
        let prefix = format!("{name}=");
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|c| c.strip_prefix(&prefix).map(str::to_owned))
    }

    /// Follows `/authorize` to the tenant's form and submits it; returns where the tenant sent
    /// the browser (the app's callback with `code` and `state`, or an error).
    pub async fn submit_tenant_form(&self, authorize: &Url, email: &str, password: &str) -> Url {
        driver::log_in_at_tenant(self, authorize, email, password)
            .await
            .unwrap_or_else(|e| panic!("the tenant accepts the form: {e}"))
    }

    /// Follows `/authorize` to the tenant's login form and posts `fields` with the form's state.
    pub async fn post_tenant_form(&self, authorize: &Url, fields: &[(&str, &str)]) -> Response {
        driver::post_login_form(self, authorize, fields)
            .await
            .unwrap_or_else(|e| panic!("the tenant shows its login form: {e}"))
    }
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for Browser {
    type Target = reqwest::Client;
    fn deref(&self) -> &reqwest::Client {
        &self.client
    }
}

/// The whole `Set-Cookie` header a response sets the session cookie with, attributes included.
pub fn session_set_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("auth0_session=") || c.starts_with("__Host-auth0_session="))
        .map(str::to_owned)
}

/// The `name=value` of the session cookie a response sets, if it sets one.
pub fn session_cookie_set_by(response: &Response) -> Option<String> {
    session_set_cookie(response).map(|c| c.split(';').next().unwrap().to_owned())
}

/// The status of `GET url` sent with exactly this cookie (`name=value`) by a client that keeps
/// none of its own: what a stolen or copied cookie gets.
pub async fn status_with_cookie(url: Url, cookie: &str) -> StatusCode {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
}

/// The `Location` of a redirect, resolved against the request URL.
#[track_caller]
pub fn location(response: &Response) -> Url {
    response
        .url()
        .join(&location_str(response))
        .expect("Location is a URL")
}

#[track_caller]
pub fn location_str(response: &Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("no Location on a {} response", response.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

#[track_caller]
pub fn assert_is_redirect_to(response: &Response, location: &str) {
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location_str(response), location);
}

pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
