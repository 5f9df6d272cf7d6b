//! Reads `~/.ssh/config` so hosts reachable with plain `ssh name` are reachable with clearfleet.
//!
//! Parsing (Host patterns, `Include`, `~` expansion) is done by `ssh2-config`; this module only
//! picks the keywords clearfleet uses: HostName (with `%h`), User, Port, IdentityFile, ProxyJump
//! and ConnectTimeout. `Match` blocks and other `%` tokens are not supported by the parser;
//! unknown and unsupported keywords are ignored, as OpenSSH's own options would be irrelevant.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ssh2_config::ParseRule;

use super::error::ConfigError;

/// A parsed ssh_config file.
#[derive(Debug, Clone)]
pub struct SshConfig {
    inner: ssh2_config::SshConfig,
}

/// What an ssh_config file says about one host. `None`/empty = not set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostConfig {
    /// `HostName`, with `%h` replaced by the name looked up and `%%` by `%`.
    pub host_name: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    /// `IdentityFile` entries, `~` already expanded.
    pub identity_files: Vec<PathBuf>,
    /// `ProxyJump` hops, first hop first. `ProxyJump none` gives `Some(vec![])`.
    pub proxy_jump: Option<Vec<String>>,
    pub connect_timeout: Option<Duration>,
}

impl SshConfig {
    /// Parses the file at `path`; `~` and relative `Include`s are resolved against `$HOME`.
    pub fn load(path: &Path) -> Result<SshConfig, ConfigError> {
        let file = File::open(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&mut BufReader::new(file), None, path)
    }

    /// Parses ssh_config text; `home` (default `$HOME`) is used to expand `~`. For tests and for
    /// configs that are not files.
    pub fn from_text(text: &str, home: Option<&Path>) -> Result<SshConfig, ConfigError> {
        Self::parse(&mut text.as_bytes(), home, Path::new("<text>"))
    }

    fn parse(
        reader: &mut impl BufRead,
        home: Option<&Path>,
        path: &Path,
    ) -> Result<SshConfig, ConfigError> {
        let mut config = ssh2_config::SshConfig::default();
        if let Some(home) = home {
            config = config.home_dir(home);
        }
        let inner = config
            .parse(
                reader,
                ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS,
            )
            .map_err(|e| ConfigError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        Ok(SshConfig { inner })
    }

    /// `~/.ssh/config` when `$HOME` is known and the file exists.
    pub fn default_path() -> Option<PathBuf> {
        let path = std::env::home_dir()?.join(".ssh").join("config");
        path.is_file().then_some(path)
    }

    /// The settings for `host` (matched against `Host` patterns; first value wins, as in
    /// OpenSSH).
    pub fn lookup(&self, host: &str) -> HostConfig {
        let p = self.inner.query(host);
        let proxy_jump = p.proxy_jump.map(jump_hops);
        HostConfig {
            host_name: p.host_name.map(|h| expand_host_tokens(&h, host)),
            user: p.user,
            port: p.port,
            identity_files: p.identity_file.unwrap_or_default(),
            proxy_jump,
            connect_timeout: p.connect_timeout.filter(|d| !d.is_zero()),
        }
    }
}

/// Replaces `%h` with `host` and `%%` with `%` (the tokens that make sense in HostName).
fn expand_host_tokens(value: &str, host: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('h') => out.push_str(host),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// A `ProxyJump` list's hops, trimmed, empty ones dropped; a lone `none` means no hops.
pub(crate) fn jump_hops<S: AsRef<str>>(hops: impl IntoIterator<Item = S>) -> Vec<String> {
    let hops: Vec<String> = hops
        .into_iter()
        .map(|h| h.as_ref().trim().to_string())
        .filter(|h| !h.is_empty())
        .collect();
    if hops.len() == 1 && hops[0].eq_ignore_ascii_case("none") {
        Vec::new()
    } else {
        hops
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
Host web1
    HostName 10.0.0.5
    User deploy
    Port 2222
    IdentityFile ~/.ssh/web_key
    ProxyJump jumpuser@bastion:2200,inner

Host *.internal
    HostName %h.example.com
    ConnectTimeout 7

Host direct
    ProxyJump none

Host *
    User fallback
    StrictHostKeyChecking no
    SomeUnknownKeyword yes
";

    fn config() -> SshConfig {
        SshConfig::from_text(CONFIG, Some(Path::new("/home/alice"))).expect("valid config")
    }

    #[test]
    fn host_block_values_are_read() {
        let c = config().lookup("web1");
        assert_eq!(c.host_name.as_deref(), Some("10.0.0.5"));
        assert_eq!(c.user.as_deref(), Some("deploy"));
        assert_eq!(c.port, Some(2222));
        assert_eq!(
            c.identity_files,
            vec![PathBuf::from("/home/alice/.ssh/web_key")]
        );
        assert_eq!(
            c.proxy_jump,
            Some(vec![
                "jumpuser@bastion:2200".to_string(),
                "inner".to_string()
            ])
        );
        assert_eq!(c.connect_timeout, None);
    }

    #[test]
    fn wildcard_block_and_tokens() {
        let c = config().lookup("db.internal");
        assert_eq!(c.host_name.as_deref(), Some("db.internal.example.com"));
        assert_eq!(c.connect_timeout, Some(Duration::from_secs(7)));
        assert_eq!(c.user.as_deref(), Some("fallback"));
        assert_eq!(c.port, None);
    }

    #[test]
    fn proxy_jump_none_and_unmatched_host() {
        assert_eq!(config().lookup("direct").proxy_jump, Some(vec![]));
        let c = config().lookup("other");
        assert_eq!(c.host_name, None);
        assert_eq!(c.user.as_deref(), Some("fallback"));
        assert_eq!(c.proxy_jump, None);
    }

    #[test]
    fn missing_file_is_an_io_error_naming_the_path() {
        let err = SshConfig::load(Path::new("/nonexistent/ssh_config")).expect_err("no file");
        assert!(err.to_string().contains("/nonexistent/ssh_config"), "{err}");
    }

    #[test]
    fn token_expansion() {
        assert_eq!(expand_host_tokens("%h.x", "a"), "a.x");
        assert_eq!(expand_host_tokens("100%%", "a"), "100%");
        assert_eq!(expand_host_tokens("%p", "a"), "%p");
    }
}
