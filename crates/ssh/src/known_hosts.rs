//! Our own known_hosts matcher and writer, because russh's misses tab separators, wildcards,
//! negation and markers (and would add duplicate lines for tab-separated entries).
//!
//! Supported, as in OpenSSH's `sshd(8)` "SSH_KNOWN_HOSTS FILE FORMAT": space- or tab-separated
//! fields; comma-separated host lists; `[host]:port` for ports other than 22; hashed
//! `|1|salt|hash` names (HMAC-SHA1); `*` and `?` wildcards; `!negation` (a negated match makes
//! the whole line not apply); comments and blank lines. `@cert-authority` lines are skipped (host
//! certificates are not supported); an `@revoked` line whose host and key match refuses the key.
//! Unparsable lines are skipped.
//!
//! A host is "known" if any applicable line holds the offered key, "changed" if no line holds
//! it but a line holds another key of the same type (the first such line is reported), else
//! "unknown" (also when only keys of other types are known, as OpenSSH does).
//!
//! New keys are appended as whole lines under a process-wide mutex plus an advisory file lock,
//! so concurrent connections (and concurrent clearfleet runs) never interleave writes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Mutex;

use hmac::{Hmac, KeyInit, Mac};
use russh::keys::ssh_encoding::base64::{Base64, Encoding};
use russh::keys::{Algorithm, HashAlg, PublicKey};
use sha1::Sha1;

use clearfleet_base::glob::glob_match;

use super::error::ConnectError;

/// What to do with host keys (Ansible's `host_key_checking` / OpenSSH's
/// `StrictHostKeyChecking`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostKeyChecking {
    /// Unknown and changed keys are refused.
    Strict,
    /// Unknown keys are added to known_hosts; changed keys are refused.
    #[default]
    AcceptNew,
    /// Every key is accepted and nothing is written (the runner prints a warning).
    Off,
}

/// The outcome of looking a host key up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Known,
    Unknown,
    /// 1-based line of the first stored key of the same type.
    Changed {
        line: usize,
    },
    /// 1-based line of the matching `@revoked` entry.
    Revoked {
        line: usize,
    },
}

/// Serializes known_hosts appends inside this process.
static WRITE_LOCK: Mutex<()> = Mutex::new(());

/// `SHA256:…` as OpenSSH prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Looks `host` (`name` or `[name]:port`) and `key` up in the file at `path`; a missing file
/// knows nothing.
pub fn check(path: &Path, host: &str, key: &PublicKey) -> io::Result<Verdict> {
    match read(path)? {
        Some(text) => Ok(check_text(&text, host, key)),
        None => Ok(Verdict::Unknown),
    }
}

/// The key types known for `host`, in file order, so the client can prefer them.
pub fn known_key_types(path: &Path, host: &str) -> Vec<String> {
    let Ok(Some(text)) = read(path) else {
        return Vec::new();
    };
    let host = host.to_ascii_lowercase();
    let mut types = Vec::new();
    for line in text.lines() {
        if let Some(e) = parse_line(line)
            && e.marker.is_none()
            && hosts_match(e.hosts, &host)
            && let Some(k) = e.key()
        {
            let t = key_family(&k.algorithm());
            if !types.contains(&t) {
                types.push(t);
            }
        }
    }
    types
}

/// `ssh-rsa` for every RSA signature algorithm, else the algorithm name.
pub(crate) fn key_family(alg: &Algorithm) -> String {
    match alg {
        Algorithm::Rsa { .. } => "ssh-rsa".to_string(),
        other => other.as_str().to_string(),
    }
}

fn read(path: &Path) -> io::Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// [`check`] on the file's text.
pub fn check_text(text: &str, host: &str, key: &PublicKey) -> Verdict {
    let host = host.to_ascii_lowercase();
    let offered_family = key_family(&key.algorithm());
    let mut known = false;
    let mut changed: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let Some(entry) = parse_line(line) else {
            continue;
        };
        if !hosts_match(entry.hosts, &host) {
            continue;
        }
        let Some(stored) = entry.key() else {
            tracing::debug!(line = i + 1, "unparsable key in known_hosts; skipped");
            continue;
        };
        let same = stored.key_data() == key.key_data();
        match entry.marker {
            Some("@revoked") if same => return Verdict::Revoked { line: i + 1 },
            Some(_) => {} // @cert-authority, unknown markers, non-matching @revoked
            None if same => known = true,
            None => {
                if changed.is_none() && key_family(&stored.algorithm()) == offered_family {
                    changed = Some(i + 1);
                }
            }
        }
    }
    match (known, changed) {
        (true, _) => Verdict::Known,
        (false, Some(line)) => Verdict::Changed { line },
        (false, None) => Verdict::Unknown,
    }
}

struct Entry<'a> {
    marker: Option<&'a str>,
    hosts: &'a str,
    key_type: &'a str,
    key_b64: &'a str,
}

impl Entry<'_> {
    fn key(&self) -> Option<PublicKey> {
        PublicKey::from_openssh(&format!("{} {}", self.key_type, self.key_b64)).ok()
    }
}

fn parse_line(line: &str) -> Option<Entry<'_>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split([' ', '\t']).filter(|f| !f.is_empty());
    let first = fields.next()?;
    let (marker, hosts) = if first.starts_with('@') {
        (Some(first), fields.next()?)
    } else {
        (None, first)
    };
    Some(Entry {
        marker,
        hosts,
        key_type: fields.next()?,
        key_b64: fields.next()?,
    })
}

/// Whether the comma-separated `patterns` apply to `host` (already lowercase).
fn hosts_match(patterns: &str, host: &str) -> bool {
    let mut matched = false;
    for pattern in patterns.split(',') {
        if let Some(hashed) = pattern.strip_prefix("|1|") {
            if hashed_match(hashed, host) {
                matched = true;
            }
            continue;
        }
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern),
        };
        if glob_match(pattern.to_ascii_lowercase().as_bytes(), host.as_bytes()) {
            if negated {
                return false;
            }
            matched = true;
        }
    }
    matched
}

/// `salt|hash` (both base64) against HMAC-SHA1(salt, host).
fn hashed_match(salt_and_hash: &str, host: &str) -> bool {
    let Some((salt, hash)) = salt_and_hash.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (Base64::decode_vec(salt), Base64::decode_vec(hash)) else {
        return false;
    };
    let Ok(mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(&salt) else {
        return false;
    };
    mac.chain_update(host.as_bytes())
        .verify_slice(&hash)
        .is_ok()
}

/// Applies `policy` to `key` offered by `host`; under AcceptNew an unknown key is appended.
pub fn verify(
    policy: HostKeyChecking,
    path: &Path,
    host: &str,
    key: &PublicKey,
) -> Result<(), ConnectError> {
    if policy == HostKeyChecking::Off {
        return Ok(());
    }
    let io_err = |action: &'static str| {
        move |source| ConnectError::KnownHostsIo {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    match check(path, host, key).map_err(io_err("read"))? {
        Verdict::Known => Ok(()),
        Verdict::Unknown if policy == HostKeyChecking::AcceptNew => {
            append(path, host, key).map_err(io_err("update"))
        }
        other => Err(refusal(other, path, host, key)),
    }
}

fn refusal(verdict: Verdict, path: &Path, host: &str, key: &PublicKey) -> ConnectError {
    let host = host.to_string();
    let key_type = key.algorithm().as_str().to_string();
    let fingerprint = fingerprint(key);
    let known_hosts = path.to_path_buf();
    match verdict {
        Verdict::Changed { line } => ConnectError::HostKeyChanged {
            host,
            key_type,
            fingerprint,
            known_hosts,
            line,
        },
        Verdict::Revoked { line } => ConnectError::HostKeyRevoked {
            host,
            key_type,
            fingerprint,
            known_hosts,
            line,
        },
        Verdict::Known | Verdict::Unknown => ConnectError::HostKeyUnknown {
            host,
            key_type,
            fingerprint,
            known_hosts,
        },
    }
}

/// Appends `host key` as one line (re-checking under the locks, so two connections to the same
/// host add it once), creating the file (0600) and its directory (0700) when missing.
fn append(path: &Path, host: &str, key: &PublicKey) -> io::Result<()> {
    let _guard = WRITE_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    file.lock()?;
    let result = append_locked(&mut file, host, key);
    let _ = file.unlock();
    match result {
        Ok(Verdict::Known | Verdict::Unknown) => Ok(()),
        Ok(v) => Err(io::Error::other(format!(
            "another process recorded a different key for {host} meanwhile ({v:?})"
        ))),
        Err(e) => Err(e),
    }
}

fn append_locked(file: &mut File, host: &str, key: &PublicKey) -> io::Result<Verdict> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    text.push_str(&String::from_utf8_lossy(&bytes));
    let verdict = check_text(&text, host, key);
    if verdict != Verdict::Unknown {
        return Ok(verdict);
    }
    let mut key = key.clone();
    key.set_comment("");
    let encoded = key.to_openssh().map_err(io::Error::other)?;
    let mut line = String::new();
    if !text.is_empty() && !text.ends_with('\n') {
        line.push('\n');
    }
    line.push_str(host);
    line.push(' ');
    line.push_str(encoded.trim());
    line.push('\n');
    file.write_all(line.as_bytes())?;
    file.flush()?;
    Ok(Verdict::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBhAehXtGjsUbED0ZaaEczm5gZrdIWOX7or/HU/c3/hi";
    const KEY_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJJax9m/1jnKnJfaS0PtgspY8AZu+/J2+teI726pmQOE";
    const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCh2toEy5afukSLPseF1HOdk5F2a/YVsd6bsaitZDhAFJUtnKlMZRw2UMnWoFygMVG3Vg6q6fHTvJORyWZHRAZY+Q70mteffrSUTjzKZHfaOXFSF82Fq9ueEZP9TAlvXNVT8711YzfKSCMkA9Decd30KVPnEt48trVaQcyP+rafww==";

    fn key(s: &str) -> PublicKey {
        PublicKey::from_openssh(s).expect("test key parses")
    }

    /// `|1|salt|hash` exactly as `ssh-keygen -H` writes it.
    fn hashed(host: &str, salt: &[u8]) -> String {
        let mac = <Hmac<Sha1> as KeyInit>::new_from_slice(salt)
            .expect("any key length")
            .chain_update(host.as_bytes())
            .finalize()
            .into_bytes();
        format!(
            "|1|{}|{}",
            Base64::encode_string(salt),
            Base64::encode_string(&mac)
        )
    }

    #[test]
    fn plain_tab_and_comma_entries() {
        let text = format!("# comment\n\nother {KEY_B}\nweb1,10.0.0.5\t{KEY_A} comment here\n");
        assert_eq!(check_text(&text, "web1", &key(KEY_A)), Verdict::Known);
        assert_eq!(check_text(&text, "10.0.0.5", &key(KEY_A)), Verdict::Known);
        assert_eq!(check_text(&text, "WEB1", &key(KEY_A)), Verdict::Known);
        assert_eq!(check_text(&text, "web2", &key(KEY_A)), Verdict::Unknown);
        assert_eq!(
            check_text(&text, "web1", &key(KEY_B)),
            Verdict::Changed { line: 4 }
        );
    }

    #[test]
    fn ports_use_brackets() {
        let text = format!("[10.0.0.5]:2222 {KEY_A}\n");
        assert_eq!(
            check_text(&text, "[10.0.0.5]:2222", &key(KEY_A)),
            Verdict::Known
        );
        assert_eq!(check_text(&text, "10.0.0.5", &key(KEY_A)), Verdict::Unknown);
        assert_eq!(
            check_text(&text, "[10.0.0.5]:2223", &key(KEY_A)),
            Verdict::Unknown
        );
    }

    #[test]
    fn hashed_entries() {
        let text = format!(
            "{} {KEY_A}\n",
            hashed("[127.0.0.1]:2222", b"0123456789abcdefghij")
        );
        assert_eq!(
            check_text(&text, "[127.0.0.1]:2222", &key(KEY_A)),
            Verdict::Known
        );
        assert_eq!(
            check_text(&text, "[127.0.0.1]:2222", &key(KEY_B)),
            Verdict::Changed { line: 1 }
        );
        assert_eq!(
            check_text(&text, "127.0.0.1", &key(KEY_A)),
            Verdict::Unknown
        );
        // Garbage hashes do not match and do not panic.
        let text = format!("|1|!!!|???,|1|onlysalt {KEY_A}\n");
        assert_eq!(check_text(&text, "x", &key(KEY_A)), Verdict::Unknown);
    }

    #[test]
    fn wildcards_and_negation() {
        let text = format!("*.example.com,!bad.example.com {KEY_A}\nweb?? {KEY_A}\n");
        assert_eq!(
            check_text(&text, "a.example.com", &key(KEY_A)),
            Verdict::Known
        );
        assert_eq!(
            check_text(&text, "bad.example.com", &key(KEY_A)),
            Verdict::Unknown
        );
        assert_eq!(check_text(&text, "web01", &key(KEY_A)), Verdict::Known);
        assert_eq!(check_text(&text, "web1", &key(KEY_A)), Verdict::Unknown);
        assert!(glob_match(b"a*b*c", b"axxbyyc"));
        assert!(!glob_match(b"a*b*c", b"axxbyy"));
        assert!(glob_match(b"*", b""));
    }

    #[test]
    fn markers_and_other_key_types() {
        let text = format!("@cert-authority *.example.com {KEY_B}\nweb1 {RSA}\n");
        // Only an RSA key is known: an ed25519 key is unknown, not changed (as in OpenSSH).
        assert_eq!(check_text(&text, "web1", &key(KEY_A)), Verdict::Unknown);
        assert_eq!(
            check_text(&text, "h.example.com", &key(KEY_B)),
            Verdict::Unknown
        );
        let text = format!("web1 {KEY_A}\n@revoked web1,web2 {KEY_A}\n@revoked * {KEY_B}\n");
        assert_eq!(
            check_text(&text, "web1", &key(KEY_A)),
            Verdict::Revoked { line: 2 }
        );
        assert_eq!(
            check_text(&text, "web9", &key(KEY_B)),
            Verdict::Revoked { line: 3 }
        );
        assert_eq!(
            known_key_types_text(&text, "web1"),
            vec!["ssh-ed25519".to_string()]
        );
    }

    fn known_key_types_text(text: &str, host: &str) -> Vec<String> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kh");
        fs::write(&path, text).expect("write");
        known_key_types(&path, host)
    }

    #[test]
    fn broken_lines_are_skipped() {
        let text = format!("web1\nweb1 ssh-ed25519 notbase64\n@revoked\nweb1 {KEY_A}\n");
        assert_eq!(check_text(&text, "web1", &key(KEY_A)), Verdict::Known);
    }

    #[test]
    fn accept_new_appends_once_with_private_modes() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub").join("known_hosts");
        let k = key(KEY_A);
        verify(HostKeyChecking::AcceptNew, &path, "[127.0.0.1]:2222", &k).expect("learns");
        verify(HostKeyChecking::AcceptNew, &path, "[127.0.0.1]:2222", &k).expect("known");
        verify(HostKeyChecking::Strict, &path, "[127.0.0.1]:2222", &k).expect("known");
        let text = fs::read_to_string(&path).expect("read");
        assert_eq!(text, format!("[127.0.0.1]:2222 {KEY_A}\n"));
        let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().expect("dir")), 0o700);
        // No trailing newline in an existing file: the new line still starts on its own line.
        fs::write(&path, format!("other {KEY_B}")).expect("write");
        verify(HostKeyChecking::AcceptNew, &path, "web1", &k).expect("learns");
        let text = fs::read_to_string(&path).expect("read");
        assert_eq!(text, format!("other {KEY_B}\nweb1 {KEY_A}\n"));
    }

    #[test]
    fn policies() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("known_hosts");
        let err = verify(HostKeyChecking::Strict, &path, "web1", &key(KEY_A)).expect_err("strict");
        assert!(
            matches!(err, ConnectError::HostKeyUnknown { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains(&fingerprint(&key(KEY_A))), "{err}");
        assert!(!path.exists(), "strict must not create the file");
        fs::write(&path, format!("web1 {KEY_B}\n")).expect("write");
        let err =
            verify(HostKeyChecking::AcceptNew, &path, "web1", &key(KEY_A)).expect_err("changed");
        let msg = err.to_string();
        assert!(msg.contains(&format!("{}:1", path.display())), "{msg}");
        assert!(msg.contains("SHA256:"), "{msg}");
        verify(HostKeyChecking::Off, &path, "web1", &key(KEY_A)).expect("off accepts");
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            format!("web1 {KEY_B}\n")
        );
    }

    #[test]
    fn concurrent_appends_do_not_interleave() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("known_hosts");
        let k = key(KEY_A);
        std::thread::scope(|s| {
            for i in 0..16 {
                let (path, k) = (&path, &k);
                s.spawn(move || {
                    let host = format!("[127.0.0.1]:{}", 3000 + i);
                    verify(HostKeyChecking::AcceptNew, path, &host, k).expect("learns");
                });
            }
        });
        let text = fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().count(), 16);
        for i in 0..16 {
            let host = format!("[127.0.0.1]:{}", 3000 + i);
            assert_eq!(check_text(&text, &host, &k), Verdict::Known);
        }
    }
}
