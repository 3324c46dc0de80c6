//! The app's own API, a resource server for `AUTH0_AUDIENCE`, with the routes of Auth0's
//! actix-web API sample (`api_actix-web_rust_hello-world`): a public message, a protected one
//! (any valid access token) and an admin one (the `read:admin-messages` permission). Tokens are
//! checked by [`BearerUser`] against the tenant's cached key set; errors follow RFC 6750.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::auth0::{BearerError, BearerUser};

/// The permission `/api/messages/admin` requires (an Auth0 RBAC permission of the API).
pub const ADMIN_PERMISSION: &str = "read:admin-messages";

/// Mounts `/api/messages/{public,protected,admin}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/messages")
            .route("/public", web::get().to(public))
            .route("/protected", web::get().to(protected))
            .route("/admin", web::get().to(admin)),
    );
}

/// The body of every message, as the official sample shapes it.
#[derive(Debug, Serialize)]
pub struct Message {
    /// What the API says.
    pub text: &'static str,
}

fn message(text: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Message { text })
}

async fn public() -> HttpResponse {
    message("This is a public message.")
}

async fn protected(_user: BearerUser) -> HttpResponse {
    message("This is a protected message.")
}

async fn admin(user: BearerUser) -> Result<HttpResponse, BearerError> {
    user.require_permission(&[ADMIN_PERMISSION])?;
    Ok(message("This is an admin message."))
}
