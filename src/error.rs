//! Errors rendered as pages. Handlers return [`PageError`]; and every 4xx/5xx response that is
//! not HTML or JSON already (the auth0 module's plain-text errors, actix's own 404/405/413...) is
//! rendered through the same layout by [`render_error_page`], with a plain-text fallback.

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::auth0::PublicError;
use crate::layout::PageContext;

/// A page handler's failure. The cause is logged; the page says only what is safe.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("the database failed")]
    Database(#[from] sqlx::Error),
    #[error("a template failed to render")]
    Template(#[from] askama::Error),
    #[error("a header value was invalid")]
    Header(#[from] actix_web::http::header::InvalidHeaderValue),
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::Database(_) => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Template(_) | PageError::Header(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let reason: &(dyn std::error::Error + 'static) = self;
        tracing::error!(reason, "page failed");
        HttpResponse::build(self.status_code())
            .content_type("text/plain; charset=utf-8")
            .body("Something went wrong on our side.")
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    ctx: PageContext,
    title: String,
    status: u16,
    message: String,
    hint: String,
}

fn default_public(status: StatusCode) -> PublicError {
    let (title, message, hint) = match status.as_u16() {
        404 => ("Page not found", "There is nothing at this address.", ""),
        405 => (
            "Method not allowed",
            "This page does not accept that kind of request.",
            "",
        ),
        413 => (
            "Request too large",
            "The request body is larger than this app accepts.",
            "",
        ),
        431 => (
            "Headers too large",
            "The request headers are larger than this app accepts.",
            "",
        ),
        400..=499 => ("Bad request", "The request could not be understood.", ""),
        503 => (
            "Service unavailable",
            "A service this page needs is not answering.",
            "Try again in a moment.",
        ),
        _ => (
            "Something went wrong",
            "The app failed to answer this request.",
            "Try again in a moment.",
        ),
    };
    PublicError {
        title,
        message: message.to_owned(),
        hint,
    }
}

/// The `ErrorHandlers` hook: wraps an error response in the layout.
pub fn render_error_page<B: MessageBody>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("text/html") || content_type.starts_with("application/json") {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let public = res
        .response()
        .extensions()
        .get::<PublicError>()
        .cloned()
        .unwrap_or_else(|| default_public(status));
    let Some(ctx) = PageContext::for_request(res.request()) else {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    };
    let page = ErrorPage {
        ctx,
        title: public.title.to_owned(),
        status: status.as_u16(),
        message: public.message,
        hint: public.hint.to_owned(),
    };
    let Ok(body) = page.render() else {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    };
    let (req, old) = res.into_parts();
    let mut new = HttpResponse::build(status);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.append_header((name.clone(), value.clone()));
        }
    }
    let new = new
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body);
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, new).map_into_right_body(),
    ))
}

/// A page handler's 4xx/5xx answer that says `public` (rendered through the layout by
/// [`render_error_page`], as the auth0 module's own errors are); no cache keeps it.
pub fn public_error(status: StatusCode, public: PublicError) -> HttpResponse {
    let mut response = HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(format!("{}\n\n{}\n", public.title, public.message));
    response.extensions_mut().insert(public);
    response
}

/// The default service, reached when no route matched: 405 when the path exists for another
/// method (routes are method-guarded resources, so they fall through to here), 404 otherwise.
/// The error handler renders either page.
pub async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    if req.resource_map().has_resource(req.path()) {
        HttpResponse::MethodNotAllowed()
            .content_type("text/plain; charset=utf-8")
            .body("Method not allowed")
    } else {
        HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("Page not found")
    }
}
