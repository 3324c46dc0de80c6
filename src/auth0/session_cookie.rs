//! The session middleware [`Auth0::session_middleware`](super::Auth0::session_middleware)
//! returns: actix-session's [`Session`](actix_session::Session), kept in one encrypted cookie. Handlers, the module's and
//! the host app's, use `Session` as under actix-session's own `SessionMiddleware`; the module
//! works under either (so a host app may keep its own actix-session store instead).
//!
//! It does what `SessionMiddleware<CookieSessionStore>` did, in about half the CPU a page (see
//! BENCHMARKS.md). That middleware percent-decodes every cookie of the request, keeps each value
//! as JSON inside a JSON string, and percent-encodes the base64 it writes. Here:
//! - the cookie is found by name without decoding the others, and percent-decoded only if it
//!   carries a `%` (a cookie actix-session wrote before an upgrade);
//! - the cookie crate's private jar seals and opens it, as before: AES-256-GCM under the same key,
//!   the cookie's name bound as associated data. The base64 it gives is written as it is: `+`,
//!   `/` and `=` are all allowed in a cookie value (RFC 6265, section 4.1.1);
//! - inside, the session is one JSON array of `[key, value]` pairs, each value the JSON that
//!   [`Session::insert`] made, unquoted. actix-session's format (an object of JSON strings) is
//!   still read, so an upgrade logs nobody out.
//!
//! The session is filled through `Session::insert` (actix-session keeps the way its own
//! middleware does it to itself), so `Session::status` reads `Changed` in handlers; whether to
//! write the cookie is decided by comparing the session with what the cookie held.

use std::collections::HashMap;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_session::{SessionExt, SessionStatus};
use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderValue, COOKIE, SET_COOKIE};
use serde_json::value::RawValue;

/// The most a cookie's name and value may take: browsers keep at least this much of one cookie
/// (RFC 6265, section 6.1) and silently drop a larger one.
pub const MAX_COOKIE_BYTES: usize = 4096;

/// The session cookie middleware; see the [module](self).
#[derive(Clone)]
pub struct SessionCookie(Rc<CookieConfig>);

struct CookieConfig {
    key: Key,
    name: &'static str,
    secure: bool,
}

impl SessionCookie {
    /// HttpOnly, SameSite=Lax (the callback is a top-level cross-site GET), `Path=/`, no
    /// `Domain`; `Secure` when `secure` (with the `__Host-` name over https).
    pub(crate) fn new(key: Key, name: &'static str, secure: bool) -> Self {
        Self(Rc::new(CookieConfig { key, name, secure }))
    }
}

/// What the request's cookie held: its pairs as sent (to compare with at the end).
type Held = Vec<(String, Box<RawValue>)>;

impl CookieConfig {
    /// The session cookie's value as the request sent it (the first of that name), if any.
    fn sent<'r>(&self, req: &'r ServiceRequest) -> Option<Cookie<'r>> {
        let headers = req.headers().get_all(COOKIE);
        let pairs = headers
            .filter_map(|h| h.to_str().ok())
            .flat_map(|h| h.split(';'));
        pairs
            .filter(|pair| {
                let pair = pair.trim_start();
                pair.strip_prefix(self.name)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
            .find_map(|pair| Cookie::parse_encoded(pair.trim()).ok())
            .filter(|cookie| cookie.name() == self.name)
    }

    /// The session the cookie holds; `None` if it does not open (another key, another cookie's
    /// value, tampered) or does not parse: an anonymous session, never an error.
    fn open(&self, sent: Cookie<'_>) -> Option<Held> {
        let sealed = Cookie::new(self.name, sent.value().to_owned());
        let opened = CookieJar::new().private(&self.key).decrypt(sealed)?;
        parse(opened.value())
    }

    /// The sealed cookie for this session.
    fn seal(&self, entries: &HashMap<String, String>) -> Result<Cookie<'static>, SealError> {
        let mut pairs = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let raw: &RawValue = serde_json::from_str(value).map_err(|_| SealError::NotJson)?;
            pairs.push((key.as_str(), raw));
        }
        // Sorted: the same session gives the same text.
        pairs.sort_unstable_by_key(|(key, _)| *key);
        let text = serde_json::to_string(&pairs).map_err(|_| SealError::NotJson)?;
        let mut jar = CookieJar::new();
        jar.private_mut(&self.key)
            .add(self.attributes(Cookie::new(self.name, text)));
        let sealed = jar.get(self.name).cloned().ok_or(SealError::NotJson)?;
        let size = sealed.name().len() + 1 + sealed.value().len();
        if size > MAX_COOKIE_BYTES {
            return Err(SealError::TooLarge(size));
        }
        Ok(sealed)
    }

    fn attributes(&self, mut cookie: Cookie<'static>) -> Cookie<'static> {
        cookie.set_path("/");
        cookie.set_http_only(true);
        cookie.set_same_site(SameSite::Lax);
        cookie.set_secure(self.secure);
        cookie
    }

    fn removal(&self) -> Cookie<'static> {
        let mut cookie = self.attributes(Cookie::new(self.name, ""));
        cookie.make_removal();
        cookie
    }
}

/// The session's pairs from the cookie's plaintext: this middleware's array of pairs, or
/// actix-session's object of JSON strings.
fn parse(text: &str) -> Option<Held> {
    if text.starts_with('[') {
        return serde_json::from_str(text).ok();
    }
    let old: HashMap<String, String> = serde_json::from_str(text).ok()?;
    old.into_iter()
        .map(|(key, value)| Some((key, RawValue::from_string(value).ok()?)))
        .collect()
}

/// Whether the session ends as the cookie held it (then the cookie is not written again).
fn unchanged(held: &Held, entries: &HashMap<String, String>) -> bool {
    held.len() == entries.len()
        && held
            .iter()
            .all(|(key, value)| entries.get(key).is_some_and(|v| v == value.get()))
}

#[derive(Debug, thiserror::Error)]
enum SealError {
    #[error("a session value is not JSON")]
    NotJson,
    #[error(
        "the session takes {0} bytes in its cookie; browsers drop a cookie over {MAX_COOKIE_BYTES}"
    )]
    TooLarge(usize),
}

impl<S, B> Transform<S, ServiceRequest> for SessionCookie
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = SessionCookieService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SessionCookieService {
            service: Rc::new(service),
            config: Rc::clone(&self.0),
        }))
    }
}

/// The service [`SessionCookie`] wraps around the app's.
pub struct SessionCookieService<S> {
    service: Rc<S>,
    config: Rc<CookieConfig>,
}

type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

impl<S, B> Service<ServiceRequest> for SessionCookieService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LocalFuture<Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let config = Rc::clone(&self.config);
        let sent = config.sent(&req);
        let had_cookie = sent.is_some();
        let held = sent.and_then(|sent| config.open(sent)).unwrap_or_default();
        let session = req.get_session();
        for (key, value) in &held {
            // A `&RawValue` serialises as itself: the session holds the JSON the cookie held.
            let _ = session.insert(key.as_str(), &**value);
        }
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            let mut res = service.call(req).await?;
            let status = session.status();
            let cookie = {
                let entries = session.entries();
                match status {
                    SessionStatus::Purged if had_cookie => Some(Ok(config.removal())),
                    SessionStatus::Purged => None,
                    _ if !had_cookie && entries.is_empty() => None,
                    SessionStatus::Renewed => Some(config.seal(&entries)),
                    _ if had_cookie && unchanged(&held, &entries) => None,
                    _ => Some(config.seal(&entries)),
                }
                .transpose()
            };
            let cookie = cookie.map_err(|e| {
                tracing::error!(error = %e, "session cookie not written");
                actix_web::error::ErrorInternalServerError("session cookie not written")
            })?;
            if let Some(cookie) = cookie {
                let value = HeaderValue::from_str(&cookie.to_string())
                    .map_err(actix_web::error::ErrorInternalServerError)?;
                res.response_mut().headers_mut().append(SET_COOKIE, value);
            }
            Ok(res)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CookieConfig {
        CookieConfig {
            key: Key::from(&[7u8; 64]),
            name: "auth0_session",
            secure: false,
        }
    }

    fn entries(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn as_map(held: Held) -> HashMap<String, String> {
        held.into_iter()
            .map(|(k, v)| (k, String::from(Box::<str>::from(v))))
            .collect()
    }

    #[test]
    fn a_session_comes_back_as_it_was_sealed_and_its_cookie_needs_no_percent_encoding() {
        let config = config();
        let session = entries(&[
            (
                "auth0.user",
                r#"{"id":"7","sub":"auth0|1","note":"a \"q\" é"}"#,
            ),
            ("auth0.csrf", r#""c/s+r=f""#),
            ("app.count", "3"),
        ]);
        let sealed = config.seal(&session).unwrap();
        // Sent back as a browser sends it, beside other cookies.
        let header = format!("a=1; {}; b=%2F", sealed.stripped());
        let req = actix_web::test::TestRequest::default()
            .insert_header((COOKIE, header))
            .to_srv_request();
        let sent = config.sent(&req).unwrap();
        assert_eq!(sent.value(), sealed.value());
        let held = config.open(sent).unwrap();
        assert!(unchanged(&held, &session));
        assert_eq!(as_map(held), session);
        // The plaintext is one JSON array, not JSON inside JSON strings.
        let opened = CookieJar::new()
            .private(&config.key)
            .decrypt(sealed)
            .unwrap();
        assert!(opened
            .value()
            .starts_with(r#"[["app.count",3],["auth0.csrf","#));
    }

    #[test]
    fn a_cookie_actix_session_wrote_before_an_upgrade_still_opens() {
        let config = config();
        // actix-session 0.11's `CookieSessionStore`: an object of JSON strings, sealed by the same
        // private jar, then percent-encoded.
        let old = r#"{"auth0.user":"{\"id\":\"7\"}","auth0.csrf":"\"abc\""}"#;
        let mut jar = CookieJar::new();
        jar.private_mut(&config.key)
            .add(Cookie::new("auth0_session", old));
        let written = jar.get("auth0_session").unwrap().encoded().to_string();
        let req = actix_web::test::TestRequest::default()
            .insert_header((COOKIE, written))
            .to_srv_request();
        let held = config.open(config.sent(&req).unwrap()).unwrap();
        assert_eq!(
            as_map(held),
            entries(&[("auth0.user", r#"{"id":"7"}"#), ("auth0.csrf", r#""abc""#)])
        );
    }

    #[test]
    fn another_key_another_name_or_a_tampered_value_opens_nothing() {
        let config = config();
        let sealed = config.seal(&entries(&[("k", "1")])).unwrap();
        let other = CookieConfig {
            key: Key::from(&[8u8; 64]),
            ..self::config()
        };
        assert!(other.open(sealed.clone()).is_none());
        let renamed = CookieConfig {
            name: "auth0_session2",
            ..self::config()
        };
        assert!(renamed.open(sealed.clone()).is_none());
        let mut value = sealed.value().to_owned().into_bytes();
        value[10] = if value[10] == b'A' { b'B' } else { b'A' };
        let tampered = Cookie::new("auth0_session", String::from_utf8(value).unwrap());
        assert!(config.open(tampered).is_none());
        // A longer name that starts with this one is another cookie.
        let req = actix_web::test::TestRequest::default()
            .insert_header((COOKIE, format!("auth0_session2={}", sealed.value())))
            .to_srv_request();
        assert!(config.sent(&req).is_none());
    }

    #[test]
    fn a_session_too_large_for_a_browser_is_refused_not_written() {
        let value = format!("\"{}\"", "x".repeat(3100));
        let error = config().seal(&entries(&[("big", &value)])).unwrap_err();
        assert!(matches!(error, SealError::TooLarge(n) if n > MAX_COOKIE_BYTES));
        let fits = format!("\"{}\"", "x".repeat(2800));
        assert!(config().seal(&entries(&[("fits", &fits)])).is_ok());
    }
}
