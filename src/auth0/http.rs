//! The HTTP client the module talks to the tenant with: it never follows redirects (a redirect
//! from the token endpoint could point anywhere: SSRF), times out, and reads at most
//! [`MAX_BODY_BYTES`] of a response.

use std::time::Duration;

use openidconnect::{HttpRequest, HttpResponse};

/// Discovery documents, key sets, token and userinfo responses are a few KiB; 1 MiB is generous.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// A hung tenant fails the login after this long, well inside a browser's patience.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle connections to the tenant are closed after this long: under the keep-alive of the
/// servers in front of Auth0 and of the dev tenant (60 s).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("request failed: {0}")]
    Request(#[from] reqwest::Error),
    #[error("response body larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("could not build the response: {0}")]
    Build(#[from] openidconnect::http::Error),
}

#[derive(Clone, Debug)]
pub struct HttpClient {
    inner: reqwest::Client,
}

impl HttpClient {
    pub fn new() -> Self {
        let inner = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            // A pooled connection idle longer than the tenant's keep-alive may be closed by the
            // tenant just as a request goes out on it ("connection closed before message
            // completed": a failed login). Dropping idle connections sooner avoids the race.
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .user_agent(concat!("auth0-actix/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a client with static settings builds");
        Self { inner }
    }

    /// Sends one request for openidconnect (it takes any `Fn(HttpRequest) -> Future`).
    pub async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let request = reqwest::Request::try_from(request)?;
        // `auth0_upstream_duration_seconds{endpoint}`: the path called (`/oauth/token`, ...).
        let endpoint = request.url().path().to_owned();
        let started = std::time::Instant::now();
        let result = self.send(request).await;
        let outcome = if result.is_ok() { "ok" } else { "error" };
        metrics::histogram!(
            "auth0_upstream_duration_seconds",
            "endpoint" => endpoint,
            "outcome" => outcome
        )
        .record(started.elapsed().as_secs_f64());
        result
    }

    async fn send(&self, request: reqwest::Request) -> Result<HttpResponse, HttpError> {
        let mut response = self.inner.execute(request).await?;
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY_BYTES as u64)
        {
            return Err(HttpError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(HttpError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let mut built = openidconnect::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            built = built.header(name, value);
        }
        Ok(built.body(body)?)
    }
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}
