//! The browser's side of a dev-tenant login, for the tests and the benchmark: follow the app's
//! redirect to `/authorize`, open the tenant's form, post it. One driver, so the benchmark logs in
//! exactly as the tests do.

use url::Url;

/// Where a redirect points, resolved against the request's URL.
pub fn location(response: &reqwest::Response) -> Result<Url, String> {
    let raw = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            format!(
                "expected a redirect from {}, got {}",
                response.url(),
                response.status()
            )
        })?;
    response.url().join(raw).map_err(|e| e.to_string())
}

/// Follows `/authorize` to the tenant's login form, checks the form is shown, and posts `fields`
/// with the form's state. `client` must keep cookies and not follow redirects, as a browser
/// driven step by step. Returns the tenant's answer to the form.
pub async fn post_login_form(
    client: &reqwest::Client,
    authorize: &Url,
    fields: &[(&str, &str)],
) -> Result<reqwest::Response, String> {
    let step = |what: &'static str| move |e: reqwest::Error| format!("{what}: {e}");
    let to_form = client
        .get(authorize.clone())
        .send()
        .await
        .map_err(step("GET /authorize"))?;
    let form = location(&to_form)?;
    let page = client
        .get(form.clone())
        .send()
        .await
        .map_err(step("GET /u/login"))?;
    if page.status() != reqwest::StatusCode::OK {
        return Err(format!(
            "the tenant's login form answered {}",
            page.status()
        ));
    }
    let state = form
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .ok_or("the login form has no state")?;
    let mut body = vec![("state", state.as_str())];
    body.extend_from_slice(fields);
    client
        .post(form.join("/u/login").expect("a path"))
        .form(&body)
        .send()
        .await
        .map_err(step("POST /u/login"))
}

/// Logs `email` in at the tenant's form (any password works there); returns where the tenant
/// sent the browser: the app's callback with a code, not yet visited.
pub async fn log_in_at_tenant(
    client: &reqwest::Client,
    authorize: &Url,
    email: &str,
    password: &str,
) -> Result<Url, String> {
    let fields = [
        ("email", email),
        ("password", password),
        ("action", "login"),
    ];
    let answer = post_login_form(client, authorize, &fields).await?;
    if answer.status() != reqwest::StatusCode::FOUND {
        return Err(format!("the tenant refused the form: {}", answer.status()));
    }
    location(&answer)
}
