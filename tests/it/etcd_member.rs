//! A real single-member etcd for the coordination tests, started on free ports and killed on
//! drop. A test that needs it fails (never skips) when `etcd` is not installed.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The etcd binary of Debian's `etcd-server` package, else `etcd` on the PATH.
fn binary() -> String {
    if Path::new("/usr/bin/etcd").exists() {
        return "/usr/bin/etcd".to_owned();
    }
    let found = Command::new("sh")
        .args(["-c", "command -v etcd"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    assert!(
        !found.is_empty(),
        "etcd is not installed: the coordination tests need a real etcd \
         (on Debian: apt-get install -y etcd-server)"
    );
    found
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether etcd at `port` answers `GET /health` with `"health":"true"`.
fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream
        .write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.contains("\"health\":\"true\"")
}

/// One etcd member; killed (and its data removed) on drop.
pub(crate) struct EtcdMember {
    child: Child,
    _data: tempfile::TempDir,
    /// Its client port on 127.0.0.1.
    pub port: u16,
}

impl EtcdMember {
    /// Starts a member on free ports and waits until it is healthy.
    pub(crate) fn start() -> EtcdMember {
        let data = tempfile::tempdir().unwrap();
        let port = free_port();
        let peer = free_port();
        let client_url = format!("http://127.0.0.1:{port}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let mut child = Command::new(binary())
            .arg("--data-dir")
            .arg(data.path().join("member"))
            .args(["--name", "default"])
            .args(["--listen-client-urls", &client_url])
            .args(["--advertise-client-urls", &client_url])
            .args(["--listen-peer-urls", &peer_url])
            .args(["--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &format!("default={peer_url}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting etcd");
        let started = Instant::now();
        while !healthy(port) {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("etcd exited at start: {status}");
            }
            if started.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("etcd did not become healthy within 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        EtcdMember {
            child,
            _data: data,
            port,
        }
    }

    /// `--coordination` for this member.
    pub(crate) fn flag(&self) -> String {
        format!("etcd://127.0.0.1:{}", self.port)
    }

    /// The client endpoint.
    pub(crate) fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for EtcdMember {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
