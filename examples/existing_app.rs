//! An existing actix-web app (a tiny club with an in-memory member list) that gains Auth0 login.
//! The lines it needed are marked `// [auth0]`: there are nine.
//!
//! Run it against your tenant, with the `AUTH0_*` settings and `SESSION_KEY` in the environment
//! (register `http://127.0.0.1:8080/callback` as the callback):
//!
//! ```sh
//! cargo run --example existing_app
//! ```

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::cookie::Key;
use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};
use auth0_actix::auth0::{self, Auth0, Auth0Settings, AuthUser}; // [auth0]

/// The club's own notion of a user.
#[derive(Clone, Debug)]
pub struct Member {
    pub name: String,
    pub visits: u32,
}

/// The club's member list, by member id.
#[derive(Default)]
pub struct Members(Mutex<HashMap<String, Member>>);

impl Members {
    /// Signs a member in: adds them on their first visit, counts the others. Returns their id.
    fn sign_in(&self, id: &str, name: Option<&str>) -> String {
        let mut members = self.0.lock().expect("members lock");
        let member = members.entry(id.to_owned()).or_insert_with(|| Member {
            name: name.unwrap_or("member").to_owned(),
            visits: 0,
        });
        member.visits += 1;
        id.to_owned()
    }

    fn get(&self, id: &str) -> Option<Member> {
        self.0.lock().expect("members lock").get(id).cloned()
    }
}

async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(r#"<h1>The Club</h1><p><a href="/members">Members' lounge</a></p>"#)
}

/// The club's protected page: only members get in.
async fn lounge(
    user: AuthUser, // [auth0]
    members: web::Data<Members>,
) -> HttpResponse {
    match members.get(&user.id) {
        Some(member) => HttpResponse::Ok().body(format!(
            "Welcome to the lounge, {}! Visit number {}.",
            member.name, member.visits
        )),
        None => HttpResponse::Forbidden().body("You are not a member."),
    }
}

/// Serves the club on `listener`.
pub fn serve(listener: TcpListener, settings: Auth0Settings, key: Key) -> std::io::Result<Server> {
    let members = web::Data::new(Members::default());
    let known = Arc::clone(&members); // [auth0]
    let sign_in = auth0::from_fn(move |p| Ok(known.sign_in(&p.sub, p.name.as_deref()))); // [auth0]
    let auth0 = Auth0::new(settings, sign_in); // [auth0]
    let server = HttpServer::new(move || {
        App::new()
            .wrap(auth0.session_middleware(key.clone())) // [auth0]
            .configure(auth0::configure(auth0.clone())) // [auth0]
            .app_data(members.clone())
            .route("/", web::get().to(index))
            .route("/members", web::get().to(lounge))
    })
    .listen(listener)?
    .run();
    Ok(server)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let settings = Auth0Settings::from_env().map_err(std::io::Error::other)?; // [auth0]
    let key = auth0::session_key_from_env().map_err(std::io::Error::other)?; // [auth0]
    let listener = TcpListener::bind("127.0.0.1:8080")?;
    println!("The club is open at http://127.0.0.1:8080/");
    serve(listener, settings, key)?.await
}
