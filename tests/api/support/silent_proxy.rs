//! A TCP relay in front of Postgres that can make the connections that `LISTEN` go silent: their
//! bytes stop in both directions and their sockets stay open, as when a NAT or a firewall drops
//! an idle connection without a word. Other connections (the request pool's) keep working.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

pub struct SilentProxy {
    addr: SocketAddr,
    silent: Arc<AtomicBool>,
    accepting: tokio::task::JoinHandle<()>,
}

impl SilentProxy {
    /// Relays to the server `database_url` names.
    pub async fn start(database_url: &str) -> Self {
        let url = Url::parse(database_url).unwrap();
        let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let silent = Arc::new(AtomicBool::new(false));
        let accepting = tokio::spawn({
            let silent = silent.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        continue;
                    };
                    relay(client, server, silent.clone());
                }
            }
        });
        Self {
            addr,
            silent,
            accepting,
        }
    }

    /// `database_url`, through this relay.
    pub fn url_for(&self, database_url: &str) -> String {
        let mut url = Url::parse(database_url).unwrap();
        url.set_port(Some(self.addr.port())).unwrap();
        url.to_string()
    }

    /// From now on, the connections that sent `LISTEN` pass nothing more, either way.
    pub fn silence_listeners(&self) {
        self.silent.store(true, Ordering::SeqCst);
    }
}

impl Drop for SilentProxy {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

fn relay(client: TcpStream, server: TcpStream, silent: Arc<AtomicBool>) {
    let listens = Arc::new(AtomicBool::new(false));
    let (from_client, to_client) = client.into_split();
    let (from_server, to_server) = server.into_split();
    tokio::spawn(pump(
        from_client,
        to_server,
        true,
        listens.clone(),
        silent.clone(),
    ));
    tokio::spawn(pump(from_server, to_client, false, listens, silent));
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    from_client: bool,
    listens: Arc<AtomicBool>,
    silent: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // sqlx's PgListener sends `LISTEN "channel"`.
        if from_client && buf[..n].windows(8).any(|w| w == b"LISTEN \"") {
            listens.store(true, Ordering::SeqCst);
        }
        if listens.load(Ordering::SeqCst) && silent.load(Ordering::SeqCst) {
            // Silent for good, the sockets held open.
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
