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

/// One member's fixed identity within an [`EtcdCluster`]: it keeps its ports and data across a
/// stop and a restart, as a machine that reboots would.
struct ClusterMember {
    name: String,
    client_port: u16,
    peer_port: u16,
    child: Option<Child>,
}

/// A real etcd cluster of several members on loopback ports, data in one temp dir; every member
/// is killed on drop.
pub(crate) struct EtcdCluster {
    members: Vec<ClusterMember>,
    initial_cluster: String,
    data: tempfile::TempDir,
}

impl EtcdCluster {
    /// Starts `size` members and waits until each answers healthy (which needs a leader).
    pub(crate) fn start(size: usize) -> EtcdCluster {
        let data = tempfile::tempdir().unwrap();
        let members: Vec<ClusterMember> = (0..size)
            .map(|index| ClusterMember {
                name: format!("m{index}"),
                client_port: free_port(),
                peer_port: free_port(),
                child: None,
            })
            .collect();
        let initial_cluster = members
            .iter()
            .map(|member| format!("{}=http://127.0.0.1:{}", member.name, member.peer_port))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = EtcdCluster {
            members,
            initial_cluster,
            data,
        };
        for index in 0..size {
            cluster.spawn(index);
        }
        for index in 0..size {
            cluster.wait_healthy(index, Duration::from_secs(30));
        }
        cluster
    }

    fn spawn(&mut self, index: usize) {
        let member = &self.members[index];
        let client_url = format!("http://127.0.0.1:{}", member.client_port);
        let peer_url = format!("http://127.0.0.1:{}", member.peer_port);
        let child = Command::new(binary())
            .arg("--data-dir")
            .arg(self.data.path().join(&member.name))
            .args(["--name", &member.name])
            .args(["--listen-client-urls", &client_url])
            .args(["--advertise-client-urls", &client_url])
            .args(["--listen-peer-urls", &peer_url])
            .args(["--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &self.initial_cluster])
            .args(["--initial-cluster-token", "kvsync-test"])
            .args(["--initial-cluster-state", "new"])
            // Loopback: short heartbeats make elections (after a member stops) quick.
            .args(["--heartbeat-interval", "50", "--election-timeout", "500"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting etcd");
        self.members[index].child = Some(child);
    }

    fn wait_healthy(&mut self, index: usize, timeout: Duration) {
        let started = Instant::now();
        while !self.healthy(index) {
            if let Some(child) = self.members[index].child.as_mut()
                && let Some(status) = child.try_wait().unwrap()
            {
                panic!("etcd member {index} exited: {status}");
            }
            assert!(
                started.elapsed() < timeout,
                "etcd member {index} did not become healthy within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `--coordination` naming every member.
    pub(crate) fn flag(&self) -> String {
        let hosts: Vec<String> = self
            .members
            .iter()
            .map(|member| format!("127.0.0.1:{}", member.client_port))
            .collect();
        format!("etcd://{}", hosts.join(","))
    }

    /// Kills member `index` (SIGKILL); its data stays for [`restart`](Self::restart).
    pub(crate) fn stop(&mut self, index: usize) {
        if let Some(mut child) = self.members[index].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts member `index` again on its data (it rejoins the cluster it was in).
    pub(crate) fn restart(&mut self, index: usize) {
        assert!(self.members[index].child.is_none(), "member {index} runs");
        self.spawn(index);
    }

    /// Whether member `index` answers healthy (it is up and sees a leader).
    pub(crate) fn healthy(&self, index: usize) -> bool {
        self.members[index].child.is_some() && healthy(self.members[index].client_port)
    }

    /// Whether any running member sees a leader.
    pub(crate) fn has_quorum(&self) -> bool {
        (0..self.members.len()).any(|index| self.healthy(index))
    }

    /// Waits until every running member is healthy again.
    pub(crate) fn wait_quorum(&mut self, timeout: Duration) {
        for index in 0..self.members.len() {
            if self.members[index].child.is_some() {
                self.wait_healthy(index, timeout);
            }
        }
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for index in 0..self.members.len() {
            self.stop(index);
        }
    }
}
