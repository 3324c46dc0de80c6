//! Limits on what a request may carry before any handler sees it.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::HttpResponse;

/// The largest request head (request line and headers) served: 16 KiB, as nginx's default
/// `large_client_header_buffers` allows one line of 8 KiB in four buffers; a login's cookies and
/// URLs take a few KiB. actix-web's own limit (128 KiB) is only a backstop.
pub const MAX_REQUEST_HEAD_BYTES: usize = 16 * 1024;

/// Answers `431 Request Header Fields Too Large` to a request whose head exceeds the limit.
pub async fn request_head(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // The request target as sent (a path and query on HTTP/1.1), measured without copying it.
    let target = req
        .uri()
        .path_and_query()
        .map_or(req.uri().path().len(), |pq| pq.as_str().len());
    let line = req.method().as_str().len() + target + " HTTP/1.1\r\n".len();
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + ": \r\n".len())
        .sum();
    if line + headers > MAX_REQUEST_HEAD_BYTES {
        tracing::warn!(bytes = line + headers, "request head too large");
        let response =
            HttpResponse::build(actix_web::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
                .insert_header((header::CONNECTION, "close"))
                .content_type("text/plain; charset=utf-8")
                .body("Request headers too large");
        return Ok(req.into_response(response));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}
