//! The session middleware [`Auth0::session_middleware`](super::Auth0::session_middleware)
//! returns: actix-session's [`Session`](actix_session::Session), kept in one encrypted cookie.
//! Handlers, the module's and the host app's, use `Session` as under actix-session's own
//! `SessionMiddleware`; a host app that used that middleware keeps its handlers as they are.
//!
//! It does what `SessionMiddleware<CookieSessionStore>` did, for less CPU a page (BENCHMARKS.md,
//! round 8). That middleware percent-decodes every cookie of the request, keeps each value as
//! JSON inside a JSON string, and percent-encodes the base64 it writes. Here:
//! - the cookie is found by name without decoding the others, and percent-decoded only if it
//!   carries a `%` (a cookie actix-session wrote before an upgrade);
//! - it is sealed and opened as the cookie crate's private jar does it, so either opens what the
//!   other sealed: AES-256-GCM (the `aes-gcm` crate, which the jar uses) under the key's
//!   encryption half, a fresh random nonce, the cookie's name bound as associated data, base64
//!   of nonce, ciphertext and tag (the layout the sealed tokens use too). The cipher is built
//!   once, not for every cookie as the jar does, and the base64 is written as it is: `+`, `/` and `=` are all allowed in a cookie
//!   value (RFC 6265, section 4.1.1);
//! - inside, the session is one JSON array of `[key, value]` pairs, each value the JSON that
//!   `Session::insert` made, unquoted. actix-session's format (an object of JSON strings) is
//!   still read, so an upgrade logs nobody out;
//! - a worker keeps what the cookies it opened lately hold (see `SessionCookieService::held`).
//!
//! The session is filled through `Session::insert` (actix-session keeps the way its own
//! middleware does it to itself), so `Session::status` reads `Changed` in handlers; whether to
//! write the cookie is decided by comparing the session with what the cookie held.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_session::{SessionExt, SessionStatus};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Cookie, Key, SameSite};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderValue, CACHE_CONTROL, COOKIE, SET_COOKIE};
use actix_web::HttpResponse;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::KeyInit;
use aes_gcm::Aes256Gcm;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::value::RawValue;

use super::tokens::{open_bytes, seal_bytes};

/// The most a cookie's name and value may take: what Chrome and Firefox keep of one cookie
/// (they drop a larger one silently). RFC 6265, section 6.1, asks for at least 4,096 bytes
/// counting the attributes too, which here add about 40.
pub const MAX_COOKIE_BYTES: usize = 4096;

/// The session cookie middleware; see the [module](self).
#[derive(Clone)]
pub struct SessionCookie(Rc<CookieConfig>);

struct CookieConfig {
    /// AES-256-GCM under the key's encryption half, as the cookie crate's private jar uses it
    /// (built once: the jar expands the key again for every cookie).
    cipher: Aes256Gcm,
    name: &'static str,
    secure: bool,
    /// What follows `name=value` in `Set-Cookie`, as the cookie crate writes the attributes.
    attributes: String,
}

impl SessionCookie {
    /// HttpOnly, SameSite=Lax (the callback is a top-level cross-site GET), `Path=/`, no
    /// `Domain`; `Secure` when `secure` (with the `__Host-` name over https).
    pub(crate) fn new(key: Key, name: &'static str, secure: bool) -> Self {
        Self(Rc::new(CookieConfig::new(&key, name, secure)))
    }
}

/// What the request's cookie held: its pairs as sent (to compare with at the end).
type Held = Vec<(String, Box<RawValue>)>;

impl CookieConfig {
    fn new(key: &Key, name: &'static str, secure: bool) -> Self {
        let mut config = Self {
            cipher: Aes256Gcm::new(GenericArray::from_slice(key.encryption())),
            name,
            secure,
            attributes: String::new(),
        };
        let written = config.with_attributes(Cookie::new(name, "")).to_string();
        config.attributes = written[name.len() + 1..].to_owned();
        config
    }

    /// The session cookie's value as the request sent it (the first of that name), if any. Read
    /// as bytes: a byte outside ASCII in another cookie (a sibling domain's, say) must not hide
    /// this one, as `HeaderValue::to_str` would.
    fn sent<'r>(&self, req: &'r ServiceRequest) -> Option<Cookie<'r>> {
        let headers = req.headers().get_all(COOKIE);
        let pairs = headers.flat_map(|h| h.as_bytes().split(|b| *b == b';'));
        pairs
            .map(<[u8]>::trim_ascii)
            .filter(|pair| {
                pair.strip_prefix(self.name.as_bytes())
                    .is_some_and(|rest| rest.trim_ascii_start().starts_with(b"="))
            })
            .find_map(|pair| {
                let pair = std::str::from_utf8(pair).ok()?;
                // Decoding scans the value byte by byte: only an older cookie needs it.
                if pair.contains('%') {
                    Cookie::parse_encoded(pair).ok()
                } else {
                    Cookie::parse(pair).ok()
                }
            })
    }

    /// The session the cookie holds; `None` if it does not open (another key, another cookie's
    /// value, tampered) or does not parse: an anonymous session, never an error.
    fn open(&self, sent: Cookie<'_>) -> Option<Held> {
        let sealed = STANDARD.decode(sent.value()).ok()?;
        // The cookie's name as associated data: another cookie's value does not open as this one.
        let text = open_bytes(&self.cipher, self.name.as_bytes(), &sealed)?;
        parse(std::str::from_utf8(&text).ok()?)
    }

    /// The sealed cookie for this session (its name and value; see [`Self::set_cookie`]).
    ///
    /// Sealed as the cookie crate's private jar does (its `encrypt_cookie`), so either opens
    /// what the other sealed: a fresh random nonce, AES-256-GCM with the cookie's name as
    /// associated data, then base64 of the nonce, ciphertext and tag.
    fn seal(&self, entries: &HashMap<String, String>) -> Result<Cookie<'static>, SealError> {
        let mut pairs = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let raw: &RawValue = serde_json::from_str(value).map_err(|_| SealError::NotJson)?;
            pairs.push((key.as_str(), raw));
        }
        // Sorted: the same session gives the same text.
        pairs.sort_unstable_by_key(|(key, _)| *key);
        let text = serde_json::to_vec(&pairs).map_err(|_| SealError::NotJson)?;
        let data = seal_bytes(&self.cipher, self.name.as_bytes(), &text);
        let sealed = Cookie::new(self.name, STANDARD.encode(&data));
        let size = cookie_bytes(&sealed);
        if size > MAX_COOKIE_BYTES {
            return Err(SealError::TooLarge(size));
        }
        Ok(sealed)
    }

    /// The `Set-Cookie` header for a sealed cookie, with this middleware's attributes.
    fn set_cookie(&self, sealed: &Cookie<'_>) -> String {
        [sealed.name(), "=", sealed.value(), &self.attributes].concat()
    }

    fn with_attributes(&self, mut cookie: Cookie<'static>) -> Cookie<'static> {
        cookie.set_path("/");
        cookie.set_http_only(true);
        cookie.set_same_site(SameSite::Lax);
        cookie.set_secure(self.secure);
        cookie
    }

    fn removal(&self) -> String {
        let mut cookie = self.with_attributes(Cookie::new(self.name, ""));
        cookie.make_removal();
        cookie.to_string()
    }
}

/// The session's pairs from the cookie's plaintext: this middleware's array of pairs, or
/// actix-session's object of JSON strings.
fn parse(text: &str) -> Option<Held> {
    if text.starts_with('[') {
        let held: Held = serde_json::from_str(text).ok()?;
        // Each key once (as this middleware writes it), or [`unchanged`] could be fooled.
        let repeated =
            |(i, (key, _)): (usize, &(String, _))| held[..i].iter().any(|(k, _)| k == key);
        return (!held.iter().enumerate().any(repeated)).then_some(held);
    }
    let old: HashMap<String, String> = serde_json::from_str(text).ok()?;
    old.into_iter()
        .map(|(key, value)| Some((key, RawValue::from_string(value).ok()?)))
        .collect()
}

/// What a cookie takes against a browser's limit: its name, `=` and its value.
fn cookie_bytes(cookie: &Cookie<'_>) -> usize {
    cookie.name().len() + 1 + cookie.value().len()
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
    #[error("the sealed cookie is not a header value")]
    NotAHeader,
}

impl<S, B> Transform<S, ServiceRequest> for SessionCookie
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = SessionCookieService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SessionCookieService {
            service: Rc::new(service),
            config: Rc::clone(&self.0),
            opened: RefCell::default(),
        }))
    }
}

/// The service [`SessionCookie`] wraps around the app's (one per worker thread).
pub struct SessionCookieService<S> {
    service: Rc<S>,
    config: Rc<CookieConfig>,
    opened: RefCell<HashMap<Box<str>, Rc<Held>>>,
}

/// How many opened cookies a worker keeps (each at most a cookie's 4 kB, sealed and open, and
/// its pairs); past this it forgets them all.
pub const OPENED_COOKIES: usize = 256;

impl<S> SessionCookieService<S> {
    /// What the sent cookie holds. A browser sends the same cookie with every request until the
    /// app writes a new one, and opening it (base64, AES-GCM, JSON) is most of what reading the
    /// session costs: the worker keeps what the cookies it opened lately hold, by their exact
    /// sealed value. Only cookies that opened are kept (a value that did not is opened again).
    fn held(&self, sent: Cookie<'_>) -> Option<Rc<Held>> {
        if let Some(held) = self.opened.borrow().get(sent.value()) {
            return Some(Rc::clone(held));
        }
        let sealed: Box<str> = sent.value().into();
        let held = Rc::new(self.config.open(sent)?);
        let mut opened = self.opened.borrow_mut();
        if opened.len() >= OPENED_COOKIES {
            opened.clear();
        }
        opened.insert(sealed, Rc::clone(&held));
        Some(held)
    }
}

type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

impl<S, B> Service<ServiceRequest> for SessionCookieService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalFuture<Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let config = Rc::clone(&self.config);
        let sent = config.sent(&req);
        let had_cookie = sent.is_some();
        let held = sent.and_then(|sent| self.held(sent)).unwrap_or_default();
        let session = req.get_session();
        for (key, value) in held.iter() {
            // A `&RawValue` serialises as itself: the session holds the JSON the cookie held.
            let _ = session.insert(key.as_str(), &**value);
        }
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            let mut res = service.call(req).await?;
            let status = session.status();
            let cookie = {
                let entries = session.entries();
                let seal = || {
                    config
                        .seal(&entries)
                        .map(|sealed| config.set_cookie(&sealed))
                };
                match status {
                    SessionStatus::Purged if had_cookie => Some(Ok(config.removal())),
                    SessionStatus::Purged => None,
                    _ if !had_cookie && entries.is_empty() => None,
                    SessionStatus::Renewed => Some(seal()),
                    _ if had_cookie && unchanged(&held, &entries) => None,
                    _ => Some(seal()),
                }
                .transpose()
            };
            let header = cookie.and_then(|cookie| {
                let Some(cookie) = cookie else {
                    return Ok(None);
                };
                HeaderValue::from_str(&cookie)
                    .map(Some)
                    .map_err(|_| SealError::NotAHeader)
            });
            match header {
                Ok(header) => {
                    if let Some(header) = header {
                        let headers = res.response_mut().headers_mut();
                        headers.append(SET_COOKIE, header);
                        // A shared cache must not hand this browser's session to another.
                        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                    }
                    Ok(res.map_into_left_body())
                }
                Err(e) => {
                    tracing::error!(error = %e, "session cookie not written");
                    // A response, not an error: it still gets the security headers outside.
                    let failed = HttpResponse::InternalServerError().finish();
                    Ok(res.into_response(failed).map_into_right_body())
                }
            }
        })
    }
}

/// How many bytes (name and value) the cookie for `entries` takes, sealed under a test key.
#[cfg(test)]
pub(crate) fn sealed_len(name: &'static str, entries: &HashMap<String, String>) -> usize {
    let config = CookieConfig::new(&Key::generate(), name, true);
    cookie_bytes(&config.seal(entries).expect("fits a cookie"))
}

#[cfg(test)]
mod tests {
    use actix_session::Session;
    use actix_web::cookie::CookieJar;

    use super::super::tokens::NONCE_LEN;
    use super::*;

    fn key() -> Key {
        Key::from(&[7u8; 64])
    }

    fn config() -> CookieConfig {
        CookieConfig::new(&key(), "auth0_session", false)
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
        let opened = CookieJar::new().private(&key()).decrypt(sealed).unwrap();
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
        jar.private_mut(&key())
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
        let other = CookieConfig::new(&Key::from(&[8u8; 64]), "auth0_session", false);
        assert!(other.open(sealed.clone()).is_none());
        let renamed = CookieConfig::new(&key(), "auth0_session2", false);
        assert!(renamed.open(sealed.clone()).is_none());
        let mut value = sealed.value().to_owned().into_bytes();
        value[10] = if value[10] == b'A' { b'B' } else { b'A' };
        let tampered = Cookie::new("auth0_session", String::from_utf8(value).unwrap());
        assert!(config.open(tampered).is_none());
        // Too short to hold a nonce and a tag, or not base64: nothing, and no panic.
        for bytes in [0, 3, 12, 13, 24, 27] {
            let short = STANDARD.encode(vec![0u8; bytes]);
            assert!(config.open(Cookie::new("auth0_session", short)).is_none());
        }
        // A nonce and a (wrong) 16-byte tag around nothing.
        let empty = STANDARD.encode([0u8; NONCE_LEN + 16]);
        assert!(config.open(Cookie::new("auth0_session", empty)).is_none());
        assert!(config
            .open(Cookie::new("auth0_session", "not base64!"))
            .is_none());
        // A longer name that starts with this one is another cookie.
        let req = actix_web::test::TestRequest::default()
            .insert_header((COOKIE, format!("auth0_session2={}", sealed.value())))
            .to_srv_request();
        assert!(config.sent(&req).is_none());
    }

    #[test]
    fn each_seal_draws_a_fresh_nonce() {
        let config = config();
        let session = entries(&[("k", "1")]);
        let (a, b) = (
            config.seal(&session).unwrap(),
            config.seal(&session).unwrap(),
        );
        let nonce = |c: &Cookie<'_>| STANDARD.decode(c.value()).unwrap()[..NONCE_LEN].to_vec();
        assert_ne!(nonce(&a), nonce(&b));
        assert_ne!(a.value(), b.value());
    }

    #[test]
    fn a_byte_outside_ascii_in_another_cookie_does_not_hide_the_session() {
        let config = config();
        let sealed = config.seal(&entries(&[("k", "1")])).unwrap();
        let header = format!("a=1; {}; pref=caf\u{e9}", sealed.stripped());
        let header = HeaderValue::from_bytes(header.as_bytes()).unwrap();
        assert!(header.to_str().is_err());
        let req = actix_web::test::TestRequest::default()
            .insert_header((COOKIE, header))
            .to_srv_request();
        let held = config.open(config.sent(&req).unwrap()).unwrap();
        assert_eq!(as_map(held), entries(&[("k", "1")]));
    }

    #[test]
    fn a_worker_opens_a_cookie_once_and_keeps_a_bounded_number() {
        let service = SessionCookieService {
            service: Rc::new(()),
            config: Rc::new(config()),
            opened: RefCell::default(),
        };
        let sealed = service.config.seal(&entries(&[("k", "1")])).unwrap();
        let first = service.held(sealed.clone()).unwrap();
        assert!(Rc::ptr_eq(&first, &service.held(sealed.clone()).unwrap()));
        // Only the exact value: a tampered copy of a kept cookie still does not open.
        let mut value = sealed.value().to_owned();
        value.replace_range(
            ..4,
            if value.starts_with("AAAA") {
                "BBBB"
            } else {
                "AAAA"
            },
        );
        assert!(service.held(Cookie::new("auth0_session", value)).is_none());
        for i in 0..=OPENED_COOKIES {
            let other = service
                .config
                .seal(&entries(&[("k", &i.to_string())]))
                .unwrap();
            service.held(other).unwrap();
            assert!(service.opened.borrow().len() <= OPENED_COOKIES);
        }
        assert_eq!(
            as_map((*service.held(sealed).unwrap()).clone()),
            entries(&[("k", "1")])
        );
    }

    #[test]
    fn a_plaintext_naming_a_key_twice_is_not_a_session() {
        assert!(parse(r#"[["a",1],["b",2]]"#).is_some());
        assert!(parse(r#"[["a",1],["a",1]]"#).is_none());
    }

    /// What an app with the session middleware answers when `handler` runs, sent `cookie`.
    async fn after(
        handler: fn(Session) -> HttpResponse,
        cookie: Option<&str>,
    ) -> ServiceResponse<EitherBody<actix_web::body::BoxBody>> {
        use actix_web::{test, web, App};
        let app = test::init_service(
            App::new()
                // As the app does: the security headers outside the session.
                .wrap(SessionCookie::new(key(), "auth0_session", false))
                .wrap(actix_web::middleware::DefaultHeaders::new().add(("x-frame-options", "DENY")))
                .route(
                    "/",
                    web::get().to(move |s: Session| async move { handler(s) }),
                ),
        )
        .await;
        let mut req = test::TestRequest::get().uri("/");
        if let Some(cookie) = cookie {
            req = req.insert_header((COOKIE, cookie.to_owned()));
        }
        test::call_service(&app, req.to_request()).await
    }

    fn set_cookie<B>(res: &ServiceResponse<B>) -> Option<Cookie<'static>> {
        let header = res.headers().get(SET_COOKIE)?.to_str().unwrap();
        Some(Cookie::parse(header.to_owned()).unwrap())
    }

    #[actix_web::test]
    async fn the_cookie_is_written_when_the_session_changes_and_only_then() {
        fn ok() -> HttpResponse {
            HttpResponse::Ok().finish()
        }
        let config = config();
        let sealed = config.seal(&entries(&[("k", "1")])).unwrap();
        let sent = sealed.stripped().to_string();
        // Anonymous and untouched, or read and left as it was: no cookie.
        assert!(set_cookie(&after(|_| ok(), None).await).is_none());
        assert!(set_cookie(&after(|_| ok(), Some(&sent)).await).is_none());
        let same = |s: Session| {
            s.insert("k", 1).unwrap();
            ok()
        };
        assert!(set_cookie(&after(same, Some(&sent)).await).is_none());
        // Changed, renewed (a login), purged (a logout): written.
        let changed = |s: Session| {
            s.insert("k", 2).unwrap();
            ok()
        };
        let res = after(changed, Some(&sent)).await;
        // Never stored by a shared cache: it carries this browser's session.
        assert_eq!(res.headers().get(CACHE_CONTROL).unwrap(), "no-store");
        let written = set_cookie(&res).unwrap();
        assert_eq!(
            as_map(config.open(written.clone()).unwrap()),
            entries(&[("k", "2")])
        );
        assert_eq!(
            (written.http_only(), written.same_site(), written.path()),
            (Some(true), Some(SameSite::Lax), Some("/"))
        );
        let renewed = |s: Session| {
            s.renew();
            ok()
        };
        let written = set_cookie(&after(renewed, Some(&sent)).await).unwrap();
        assert_eq!(
            as_map(config.open(written).unwrap()),
            entries(&[("k", "1")])
        );
        let purged = |s: Session| {
            s.purge();
            ok()
        };
        let res = after(purged, Some(&sent)).await;
        assert_eq!(res.headers().get(CACHE_CONTROL).unwrap(), "no-store");
        let removal = set_cookie(&res).unwrap();
        assert_eq!(
            (removal.value(), removal.max_age()),
            ("", Some(actix_web::cookie::time::Duration::ZERO))
        );
    }

    #[actix_web::test]
    async fn a_session_too_large_for_its_cookie_is_a_500_that_keeps_the_security_headers() {
        let big = |s: Session| {
            s.insert("big", "x".repeat(5000)).unwrap();
            HttpResponse::Ok().body("the page")
        };
        let res = after(big, None).await;
        assert_eq!(
            res.status(),
            actix_web::http::StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(res.headers().get("x-frame-options").unwrap(), "DENY");
        assert!(set_cookie(&res).is_none());
    }

    #[test]
    fn a_session_too_large_for_a_browser_is_refused_not_written() {
        let value = format!("\"{}\"", "x".repeat(3100));
        let error = config().seal(&entries(&[("big", &value)])).unwrap_err();
        assert!(matches!(error, SealError::TooLarge(n) if n > MAX_COOKIE_BYTES));
        let fits = format!("\"{}\"", "x".repeat(2800));
        assert!(config().seal(&entries(&[("fits", &fits)])).is_ok());
        // At the limit, name and `=` counted: with an 11-byte name, a 3,025-byte string makes
        // a cookie of exactly 4,096 bytes (base64 of 12 + 3,035 + 16 bytes), one more byte 4,100.
        let config = CookieConfig::new(&key(), "session_abc", false);
        let sized = |n: usize| entries(&[("k", &format!("\"{}\"", "x".repeat(n)))]);
        let at_limit = config.seal(&sized(3025)).unwrap();
        assert_eq!(cookie_bytes(&at_limit), MAX_COOKIE_BYTES);
        assert!(matches!(
            config.seal(&sized(3026)),
            Err(SealError::TooLarge(4100))
        ));
    }

    #[test]
    fn set_cookie_carries_the_attributes_the_cookie_crate_would_write() {
        for (name, secure) in [("__Host-auth0_session", true), ("auth0_session", false)] {
            let config = CookieConfig::new(&key(), name, secure);
            let sealed = config.seal(&entries(&[("k", "1")])).unwrap();
            let written = config.set_cookie(&sealed);
            assert_eq!(written, config.with_attributes(sealed).to_string());
            let parsed = Cookie::parse(written).unwrap();
            assert_eq!(parsed.secure(), Some(secure).filter(|s| *s));
            assert_eq!(parsed.path(), Some("/"));
            // The removal cookie too: a browser ignores a `__Host-` one without them.
            let removal = Cookie::parse(config.removal()).unwrap();
            assert_eq!(
                (
                    removal.name(),
                    removal.value(),
                    removal.path(),
                    removal.secure()
                ),
                (name, "", Some("/"), Some(secure).filter(|s| *s))
            );
            assert_eq!(
                removal.max_age(),
                Some(actix_web::cookie::time::Duration::ZERO)
            );
        }
    }
}
