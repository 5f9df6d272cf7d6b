//! An sshd host in its own network namespace, reached through a veth pair, so that its network
//! can be cut without a reset: the link goes down and its packets are silently lost, as when a
//! cable is pulled or a firewall starts dropping. Needs root and iproute2 (`ip netns`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::sshd::{Fleet, keygen, kill_tree};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A network namespace reached from the machine through a veth pair: the machine's side is
/// `<net>.1/30`, the namespace's `eth0` is [`Link::address`] (`<net>.2`), and its loopback is up.
/// Deleted (with everything in it) on drop.
pub struct Link {
    ns: String,
    veth: String,
    address: String,
}

impl Link {
    /// A fresh namespace and its link; the error says which `ip` command failed.
    pub fn create() -> Result<Link, String> {
        let pid = std::process::id();
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let ns = format!("cf{pid:x}n{n}");
        let veth = format!("cf{pid:x}v{n}");
        // A /30 per host: 10.<pid>.<n>; the controller side is .1, the host .2.
        let net = [100 + (pid >> 8) % 100, pid & 0xff, (n % 64) * 4];
        let local = format!("10.{}.{}.{}/30", net[0], net[1], net[2] + 1);
        let address = format!("10.{}.{}.{}", net[0], net[1], net[2] + 2);
        let link = Link {
            ns: ns.clone(),
            veth: veth.clone(),
            address: address.clone(),
        };
        ip(&["netns", "add", &ns])?;
        ip(&[
            "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
        ])?;
        ip(&["addr", "add", &local, "dev", &veth])?;
        ip(&["link", "set", &veth, "up"])?;
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{address}/30"),
            "dev",
            "eth0",
        ])?;
        ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        Ok(link)
    }

    /// The namespace's name (`ip netns`), also a unique name for the host.
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// The namespace's address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Takes the namespace's link down: from now on its packets are lost without a reset.
    pub fn cut(&self) {
        ip(&["-n", &self.ns, "link", "set", "eth0", "down"]).unwrap_or_else(|e| panic!("{e}"));
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = ip(&["link", "del", &self.veth]);
        let _ = ip(&["netns", "del", &self.ns]);
    }
}

/// Whether `ip netns` can be used; `false` (with a message, or a panic under `CI`) otherwise.
pub fn available() -> bool {
    if Command::new("ip").arg("-V").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "iproute2 (ip) is missing and CI is set; run scripts/setup-test-env.sh"
        );
        eprintln!("SKIPPED: iproute2 is not installed; run scripts/setup-test-env.sh");
        return false;
    }
    true
}

/// sshd on `<address>:22` inside namespace `ns`, authorizing the fleet's client key. Its host
/// key is added to the fleet's known_hosts. Everything is torn down on drop.
pub struct NetnsHost {
    link: Link,
    child: Option<Child>,
    log: std::path::PathBuf,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {args:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Writes a host key and an sshd config for `<address>:22` into `dir`, authorizing the fleet's
/// client key; returns the config's path.
pub fn sshd_config(fleet: &Fleet, dir: &Path, address: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
    let key = dir.join("ssh_host_ed25519_key");
    keygen(&key, "ed25519", "");
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "ListenAddress {address}\nPort 22\nHostKey {}\nPidFile {}\nAuthorizedKeysFile {}\n\
             StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\nPermitRootLogin yes\nLogLevel VERBOSE\n",
            key.display(),
            dir.join("sshd.pid").display(),
            fleet.dir().join("authorized_keys").display(),
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    config
}

/// Waits until `<address>:22` accepts connections, at most `limit`; panics with `log()` then.
pub fn wait_for_sshd(address: &str, limit: Duration, log: impl Fn() -> String) {
    let started = Instant::now();
    let to = format!("{address}:22")
        .parse()
        .unwrap_or_else(|e| panic!("{address}: {e}"));
    while std::net::TcpStream::connect_timeout(&to, Duration::from_millis(200)).is_err() {
        assert!(
            started.elapsed() < limit,
            "sshd on {address} not listening after {limit:?}:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Adds the host key in `dir` (see [`sshd_config`]) for `address` to the fleet's known_hosts.
pub fn trust(fleet: &Fleet, dir: &Path, address: &str) {
    let public = std::fs::read_to_string(dir.join("ssh_host_ed25519_key.pub"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut fields = public.split_whitespace();
    let line = format!(
        "{address} {} {}\n",
        fields.next().unwrap_or_default(),
        fields.next().unwrap_or_default()
    );
    let mut known = std::fs::read_to_string(fleet.known_hosts_path()).unwrap_or_default();
    known.push_str(&line);
    std::fs::write(fleet.known_hosts_path(), known).unwrap_or_else(|e| panic!("{e}"));
}

impl NetnsHost {
    /// Starts the host; `None` (with a message, or a panic under `CI`) when `ip netns` is not
    /// available.
    pub fn start(fleet: &Fleet) -> Option<NetnsHost> {
        if !available() {
            return None;
        }
        let link = match Link::create() {
            Ok(l) => l,
            Err(e) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "network namespace setup failed under CI: {e}"
                );
                eprintln!("SKIPPED: cannot set up a network namespace: {e}");
                return None;
            }
        };
        let ns = link.ns().to_owned();
        let address = link.address().to_owned();
        let dir = fleet.dir().join(&ns);
        let config = sshd_config(fleet, &dir, &address);
        let mut host = NetnsHost {
            link,
            child: None,
            log: fleet.dir().join(format!("{ns}.log")),
        };
        let child = Command::new("ip")
            .args(["netns", "exec", &ns, "/usr/sbin/sshd", "-D", "-e", "-f"])
            .arg(&config)
            .arg("-E")
            .arg(&host.log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn sshd in {ns}: {e}"));
        host.child = Some(child);
        wait_for_sshd(&address, Duration::from_secs(10), || host.log());
        trust(fleet, &dir, &address);
        Some(host)
    }

    /// The host's address (port 22).
    pub fn address(&self) -> &str {
        self.link.address()
    }

    /// Takes the host's link down: from now on its packets are lost without a reset.
    pub fn cut(&self) {
        self.link.cut();
    }

    /// The sshd log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Where sshd logs.
    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

impl Drop for NetnsHost {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_tree(c.id());
            let _ = c.wait();
        }
    }
}
