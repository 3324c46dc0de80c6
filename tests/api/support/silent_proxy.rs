//! A TCP relay in front of Postgres that can make the connections that `LISTEN` go silent: their
//! bytes stop in both directions and their sockets stay open, as when a NAT or a firewall drops
//! an idle connection without a word. Other connections (the request pool's), and listeners
//! that connect later, keep working.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

pub struct SilentProxy {
    addr: SocketAddr,
    connections: Arc<Mutex<Vec<Arc<Connection>>>>,
    accepting: tokio::task::JoinHandle<()>,
}

/// What the relay knows of one connection.
#[derive(Default)]
struct Connection {
    /// The client sent `LISTEN` (sqlx's PgListener sends `LISTEN "channel"`).
    listens: AtomicBool,
    /// The probe channel it listens on: one per instance (`user_sessions_probe_` and 16 hex).
    probe_channel: Mutex<Option<String>>,
    /// Either side hung up.
    closed: AtomicBool,
    /// The server sent it one of its listener's probes back (a notification on a
    /// `user_sessions_probe_` channel): the app follows revocations on it.
    probed: AtomicBool,
    /// Nothing more passes, either way.
    silent: AtomicBool,
}

impl SilentProxy {
    /// Relays to the server `database_url` names.
    pub async fn start(database_url: &str) -> Self {
        let url = Url::parse(database_url).unwrap();
        let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections: Arc<Mutex<Vec<Arc<Connection>>>> = Default::default();
        let accepting = tokio::spawn({
            let connections = connections.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        continue;
                    };
                    let connection = Arc::new(Connection::default());
                    connections.lock().unwrap().push(connection.clone());
                    relay(client, server, connection);
                }
            }
        });
        Self {
            addr,
            connections,
            accepting,
        }
    }

    /// `database_url`, through this relay.
    pub fn url_for(&self, database_url: &str) -> String {
        let mut url = Url::parse(database_url).unwrap();
        url.set_port(Some(self.addr.port())).unwrap();
        url.to_string()
    }

    /// The probe channels (one per instance) of the open, unsilenced connections that listen
    /// and had a probe come back: the instances that follow revocations through this relay now.
    pub fn following(&self) -> BTreeSet<String> {
        let connections = self.connections.lock().unwrap();
        connections
            .iter()
            .filter(|c| {
                c.probed.load(Ordering::SeqCst)
                    && !c.closed.load(Ordering::SeqCst)
                    && !c.silent.load(Ordering::SeqCst)
            })
            .filter_map(|c| c.probe_channel.lock().unwrap().clone())
            .collect()
    }

    /// The open connections that listen now pass nothing more, either way; their probe channels.
    pub fn silence_listeners(&self) -> BTreeSet<String> {
        let connections = self.connections.lock().unwrap();
        connections
            .iter()
            .filter(|c| c.listens.load(Ordering::SeqCst) && !c.closed.load(Ordering::SeqCst))
            .filter_map(|c| {
                c.silent.store(true, Ordering::SeqCst);
                c.probe_channel.lock().unwrap().clone()
            })
            .collect()
    }
}

impl Drop for SilentProxy {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

fn relay(client: TcpStream, server: TcpStream, connection: Arc<Connection>) {
    let (from_client, to_client) = client.into_split();
    let (from_server, to_server) = server.into_split();
    tokio::spawn(pump(from_client, to_server, true, connection.clone()));
    tokio::spawn(pump(from_server, to_client, false, connection));
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    from_client: bool,
    connection: Arc<Connection>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                connection.closed.store(true, Ordering::SeqCst);
                return;
            }
            Ok(n) => n,
        };
        if connection.silent.load(Ordering::SeqCst) {
            // Silent for good, the sockets held open.
            std::future::pending::<()>().await;
        }
        let seen = |needle: &[u8]| buf[..n].windows(needle.len()).any(|w| w == needle);
        if from_client && seen(b"LISTEN \"") {
            connection.listens.store(true, Ordering::SeqCst);
            let text = String::from_utf8_lossy(&buf[..n]);
            if let Some(at) = text.find(PROBE_PREFIX) {
                let channel: String = text[at..].chars().take(PROBE_PREFIX.len() + 16).collect();
                *connection.probe_channel.lock().unwrap() = Some(channel);
            }
        }
        if !from_client
            && connection.listens.load(Ordering::SeqCst)
            && seen(PROBE_PREFIX.as_bytes())
        {
            connection.probed.store(true, Ordering::SeqCst);
        }
        if to.write_all(&buf[..n]).await.is_err() {
            connection.closed.store(true, Ordering::SeqCst);
            return;
        }
    }
}

const PROBE_PREFIX: &str = "user_sessions_probe_";
