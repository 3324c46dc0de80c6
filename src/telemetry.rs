//! Logging: `tracing` to stderr, filtered by `RUST_LOG` (default `info`), as text or, with
//! `LOG_FORMAT=json`, one JSON object a line. Each request gets an id (`X-Request-Id`: the
//! proxy's, when it is a sane value, else a new one), returned in the response and carried by
//! every log line of that request, with one line per request: method, path, status, latency. The
//! query string is never logged: on the callback it holds the authorization code and state.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

use crate::auth0::ConfigError;

/// The log filter when `RUST_LOG` is unset.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,actix_server=warn";
/// The request id header, as proxies (nginx's `$request_id`) and Heroku-style routers send it.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The longest request id taken from a proxy.
const MAX_REQUEST_ID: usize = 64;

/// How log lines are written (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object a line, for log collectors.
    Json,
}

impl LogFormat {
    /// `LOG_FORMAT`: `text` (default) or `json`.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        match crate::auth0::env::non_empty(lookup, "LOG_FORMAT").as_deref() {
            None | Some("text") => Ok(Self::Text),
            Some("json") => Ok(Self::Json),
            Some(other) => Err(ConfigError::new(
                "LOG_FORMAT",
                format!("expects `text` or `json`, got `{other}`"),
            )),
        }
    }
}

/// Installs the global subscriber once; later calls (tests start many apps) do nothing.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// A request id from a proxy is kept when it is 1 to 64 characters of `A-Z a-z 0-9 . _ -`
/// (what proxies generate); anything else (long, spaces, quotes) is replaced, so it cannot bloat
/// or forge log lines.
fn sane_request_id(value: &HeaderValue) -> Option<String> {
    let id = value.to_str().ok()?;
    let sane = (1..=MAX_REQUEST_ID).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    sane.then(|| id.to_owned())
}

fn new_request_id() -> String {
    use rand::RngCore;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut bytes);
    let mut id = String::with_capacity(24);
    for b in bytes {
        id.push(char::from(HEX[usize::from(b >> 4)]));
        id.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    id
}

/// The request log middleware, for `middleware::from_fn`: the request id, then the request's
/// work inside a span that carries it, then one line for the request.
pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(sane_request_id)
        .unwrap_or_else(new_request_id);
    let method = req.method().clone();
    let path = req.path().to_owned();
    let span = tracing::info_span!("request", id = %id);
    let result = next.call(req).instrument(span.clone()).await;
    let (status, route) = match &result {
        Ok(res) => (res.status(), res.request().match_pattern()),
        Err(e) => (e.as_response_error().status_code(), None),
    };
    // By the route's pattern, never the raw path: a label per URL would grow without bound.
    // Only with METRICS_ADDR: the labels cost three allocations a request.
    if crate::monitoring::enabled() {
        let labels = [
            ("route", route.unwrap_or_else(|| "unmatched".to_owned())),
            ("method", method.to_string()),
            ("status", status.as_u16().to_string()),
        ];
        metrics::counter!("http_requests_total", &labels).increment(1);
        metrics::histogram!("http_request_duration_seconds", &labels)
            .record(start.elapsed().as_secs_f64());
    }
    span.in_scope(|| {
        tracing::info!(
            %method,
            %path,
            status = status.as_u16(),
            latency_ms = format_args!("{:.2}", start.elapsed().as_secs_f64() * 1000.0),
            "request"
        )
    });
    result.map(|mut res| {
        let value = HeaderValue::from_str(&id).expect("a request id is a header value");
        res.headers_mut().insert(REQUEST_ID, value);
        res
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_sane_request_id_is_kept() {
        let id = |v: &str| sane_request_id(&HeaderValue::from_str(v).unwrap());
        assert_eq!(id("abc-123_X.y").as_deref(), Some("abc-123_X.y"));
        for bad in ["", "has space", "quote\"d", &"x".repeat(65), "a=b"] {
            assert_eq!(id(bad), None, "{bad:?}");
        }
        assert_eq!(new_request_id().len(), 24);
    }

    #[test]
    fn log_format_is_text_or_json() {
        let of = |v: &'static str| LogFormat::from_lookup(&move |_| Some(v.to_owned()));
        assert_eq!(of("json").unwrap(), LogFormat::Json);
        assert_eq!(of("text").unwrap(), LogFormat::Text);
        assert_eq!(of("yaml").unwrap_err().variable, "LOG_FORMAT");
    }
}
