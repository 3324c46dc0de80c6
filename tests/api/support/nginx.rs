//! Debian's nginx in front of the app's instances, run from `deploy/nginx.conf` as it is: only
//! the values marked `# test:` are replaced (ports, certificate), everything else is what a
//! deployment uses. A certificate for 127.0.0.1 is made with `openssl` for the test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Nginx {
    child: Child,
    /// The test certificate (PEM), for a browser to trust.
    pub certificate: Vec<u8>,
    _dir: tempfile::TempDir,
}

impl Nginx {
    /// nginx on loopback `port`, proxying to `instances`. `Err` says why nginx is not available
    /// here (no binary); anything else that goes wrong fails the test.
    pub fn start(port: u16, instances: &[std::net::SocketAddr]) -> Result<Nginx, String> {
        let binary = binary().ok_or("no nginx binary (Debian's `nginx` package)")?;
        Ok(Self::start_with(&binary, port, instances).unwrap_or_else(|e| panic!("{e}")))
    }

    fn start_with(
        binary: &Path,
        port: u16,
        instances: &[std::net::SocketAddr],
    ) -> Result<Nginx, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let (cert, key) = certificate(dir.path())?;
        let plain = free_port();
        let site = site_config(port, plain, instances, &cert, &key)?;
        std::fs::write(dir.path().join("site.conf"), site).map_err(|e| e.to_string())?;
        let d = dir.path().display();
        let main = format!(
            "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  \
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
             include {d}/site.conf;\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), main).map_err(|e| e.to_string())?;
        let child = Command::new(binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let certificate = std::fs::read(&cert).map_err(|e| e.to_string())?;
        let mut nginx = Nginx {
            child,
            certificate,
            _dir: dir,
        };
        // Ready when it accepts connections (or it exited: a bad configuration).
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                let log = std::fs::read_to_string(nginx._dir.path().join("error.log"));
                return Err(format!(
                    "nginx exited ({status}): {}",
                    log.unwrap_or_default()
                ));
            }
            if start.elapsed() > Duration::from_secs(10) {
                return Err("nginx did not start listening within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(nginx)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // TERM: the master stops its workers too (a KILL would leave them running).
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// `deploy/nginx.conf` with the test's ports and certificate in the lines marked `# test:`.
fn site_config(
    port: u16,
    plain: u16,
    instances: &[std::net::SocketAddr],
    cert: &Path,
    key: &Path,
) -> Result<String, String> {
    let deployed = include_str!("../../../deploy/nginx.conf");
    let mut out = String::new();
    let mut upstreams = instances.iter();
    for line in deployed.lines() {
        let Some((_, mark)) = line.split_once("# test: ") else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let replaced = match mark {
            m if m.starts_with("instance") => {
                let Some(addr) = upstreams.next() else {
                    continue;
                };
                format!("    server {addr} max_fails=1 fail_timeout=5s;")
            }
            "listen" => format!("    listen 127.0.0.1:{port} ssl;"),
            "plain" => format!("    listen 127.0.0.1:{plain};"),
            "certificate" => format!("    ssl_certificate     {};", cert.display()),
            "key" => format!("    ssl_certificate_key {};", key.display()),
            other => return Err(format!("deploy/nginx.conf: unknown test mark `{other}`")),
        };
        out.push_str(&replaced);
        out.push('\n');
    }
    if upstreams.next().is_some() {
        return Err("deploy/nginx.conf lists fewer instances than the test starts".into());
    }
    Ok(out)
}

/// A self-signed certificate for 127.0.0.1 (a server certificate, not a CA), made by openssl.
fn certificate(dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    let config = dir.join("cert.cnf");
    std::fs::write(
        &config,
        "[req]\ndistinguished_name=dn\nx509_extensions=ext\nprompt=no\n[dn]\nCN=127.0.0.1\n\
         [ext]\nsubjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| e.to_string())?;
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let output = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .arg("ec_paramgen_curve:prime256v1")
        .args(["-nodes", "-days", "1", "-config"])
        .arg(&config)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .map_err(|e| format!("openssl: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "openssl: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok((cert, key))
}

fn binary() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var("NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".into()));
    path.is_file().then_some(path)
}

/// A loopback port nobody listens on just now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
