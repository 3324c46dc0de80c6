//! Prometheus metrics, on a listener of their own (`METRICS_ADDR`; unset: off), so they are never
//! served to the public port. What is counted: requests and their latency by route, method and
//! status (`http_requests_total`, `http_request_duration_seconds`); logins by outcome
//! (`auth0_logins_total{outcome}`: `success` or the kind of failure); calls to the tenant by
//! endpoint (`auth0_upstream_duration_seconds`); and the database pool (`db_pool_connections`).
//! The format is the `metrics-exporter-prometheus` crate's, not written by hand.

use std::net::{SocketAddr, TcpListener};
use std::sync::OnceLock;

use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::db::Database;

/// Latency buckets, in seconds: a page is a millisecond or two, a login a few tens, a hung tenant
/// ten seconds (the upstream timeout).
const BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Whether this process records metrics (some app in it has `METRICS_ADDR`).
pub fn enabled() -> bool {
    HANDLE.get().is_some()
}

/// The process's recorder, installed on first use (tests start many apps in one process).
pub fn recorder() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(&BUCKETS)
                .expect("static buckets")
                .install_recorder()
                .expect("the only metrics recorder of the process")
        })
        .clone()
}

/// Serves `GET /metrics` on `listener` until the process ends.
pub fn serve(listener: TcpListener, db: Database) -> std::io::Result<(SocketAddr, Server)> {
    let addr = listener.local_addr()?;
    let handle = recorder();
    let state = web::Data::new((handle, db));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/metrics", web::get().to(render))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok((addr, server))
}

async fn render(state: web::Data<(PrometheusHandle, Database)>) -> HttpResponse {
    let (handle, db) = state.as_ref();
    let (size, idle) = db.connections();
    metrics::gauge!("db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("db_pool_connections", "state" => "in_use")
        .set(f64::from(size.saturating_sub(idle)));
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(handle.render())
}
