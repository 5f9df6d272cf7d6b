//! The OpenSSH options Ansible users put in `ansible_ssh_common_args`, `ansible_ssh_extra_args`
//! and `ansible_ssh_args` that change how a host is reached or trusted: `-o UserKnownHostsFile`,
//! `-o StrictHostKeyChecking`, `-J` / `-o ProxyJump` (a `ProxyCommand` is refused: going around
//! it would reach the host another way than the user's). The rest (`ControlMaster`, `-C`,
//! ciphers...) tunes the `ssh` binary Ansible runs and has no meaning for one russh
//! connection per host: it is ignored.
//!
//! As for `ssh`, the first value given for an option wins: Ansible writes `ansible_ssh_args`,
//! then `ansible_ssh_common_args`, then `ansible_ssh_extra_args` on its command line.

use std::path::PathBuf;

use super::known_hosts::HostKeyChecking;
use clearfleet_base::home::expand_tilde;
use clearfleet_base::shlex;

/// What the options say; `None` = not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshArgs {
    /// `UserKnownHostsFile` (its first file; `~` expanded against `home`).
    pub known_hosts: Option<PathBuf>,
    /// `StrictHostKeyChecking`: `yes`/`ask` strict (nobody answers a question here),
    /// `accept-new` accept new, `no`/`off` off.
    pub host_key_checking: Option<HostKeyChecking>,
    /// `-J` or `ProxyJump`.
    pub proxy_jump: Option<String>,
}

impl SshArgs {
    /// Reads `text` (split as a shell would, as Ansible does) into `self`, keeping what an
    /// earlier text set. An error says what is wrong, for a message naming the variable.
    pub fn read(&mut self, text: &str, home: Option<&std::path::Path>) -> Result<(), String> {
        let words = shlex::split(text, false).map_err(|e| e.to_string())?;
        let mut words = words.into_iter();
        while let Some(w) = words.next() {
            let (flag, inline) = match w.strip_prefix('-') {
                Some(rest) if rest.starts_with('o') || rest.starts_with('J') => rest.split_at(1),
                _ => continue,
            };
            let value = if inline.is_empty() {
                words
                    .next()
                    .ok_or_else(|| format!("`-{flag}` needs a value"))?
            } else {
                inline.to_owned()
            };
            if flag == "J" {
                self.proxy_jump.get_or_insert(value);
            } else {
                self.option(&value, home)?;
            }
        }
        Ok(())
    }

    /// One `-o` value: `Key=Value` or `Key Value`.
    fn option(&mut self, text: &str, home: Option<&std::path::Path>) -> Result<(), String> {
        let text = text.trim();
        let (key, value) = text
            .split_once('=')
            .or_else(|| text.split_once([' ', '\t']))
            .map(|(k, v)| (k.trim(), v.trim()))
            .ok_or_else(|| format!("`-o {text}` has no value"))?;
        match key.to_ascii_lowercase().as_str() {
            "userknownhostsfile" => {
                let first = value.split_whitespace().next().unwrap_or_default();
                if first.is_empty() {
                    return Err("`UserKnownHostsFile` has no file".to_owned());
                }
                self.known_hosts.get_or_insert(expand_tilde(first, home));
            }
            "stricthostkeychecking" => {
                let policy = match value.to_ascii_lowercase().as_str() {
                    "yes" | "ask" => HostKeyChecking::Strict,
                    "accept-new" => HostKeyChecking::AcceptNew,
                    "no" | "off" => HostKeyChecking::Off,
                    other => {
                        return Err(format!(
                            "`StrictHostKeyChecking={other}` is not yes, ask, accept-new, no or off"
                        ));
                    }
                };
                self.host_key_checking.get_or_insert(policy);
            }
            "proxyjump" => {
                self.proxy_jump.get_or_insert(value.to_owned());
            }
            // Connecting straight to the host instead would go around the user's way in.
            "proxycommand" if !value.eq_ignore_ascii_case("none") => {
                return Err(
                    "`ProxyCommand` is not supported: give the jump host with `-J` or `ProxyJump`"
                        .to_owned(),
                );
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn read(texts: &[&str]) -> Result<SshArgs, String> {
        let mut a = SshArgs::default();
        for t in texts {
            a.read(t, Some(Path::new("/home/u")))?;
        }
        Ok(a)
    }

    #[test]
    fn the_options_that_matter_are_read_in_every_spelling() {
        let a = read(&[
            "-C -o ControlMaster=auto -o 'UserKnownHostsFile=~/kh other' -oStrictHostKeyChecking=yes -J bastion:2200",
        ]);
        assert_eq!(
            a,
            Ok(SshArgs {
                known_hosts: Some(PathBuf::from("/home/u/kh")),
                host_key_checking: Some(HostKeyChecking::Strict),
                proxy_jump: Some("bastion:2200".into()),
            })
        );
        let a = read(&["-o \"StrictHostKeyChecking accept-new\" -o ProxyJump=j1,j2 -Jignored"]);
        assert_eq!(
            a.as_ref()
                .map(|a| (a.host_key_checking, a.proxy_jump.as_deref())),
            Ok((Some(HostKeyChecking::AcceptNew), Some("j1,j2")))
        );
        assert_eq!(
            read(&["-o StrictHostKeyChecking=no"]).map(|a| a.host_key_checking),
            Ok(Some(HostKeyChecking::Off))
        );
        assert_eq!(read(&["-C -v -p 22 -i key"]), Ok(SshArgs::default()));
    }

    #[test]
    fn the_first_value_wins_as_in_ssh() {
        let a = read(&[
            "-o StrictHostKeyChecking=yes",
            "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/k",
        ]);
        assert_eq!(
            a.map(|a| (a.host_key_checking, a.known_hosts)),
            Ok((Some(HostKeyChecking::Strict), Some(PathBuf::from("/k"))))
        );
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        assert!(read(&["-o StrictHostKeyChecking=maybe"]).is_err_and(|e| e.contains("maybe")));
        assert!(read(&["-o"]).is_err_and(|e| e.contains("needs a value")));
        assert!(read(&["-o UserKnownHostsFile"]).is_err_and(|e| e.contains("no value")));
        assert!(read(&["-o 'unclosed"]).is_err());
        assert!(
            read(&["-o 'ProxyCommand=ssh -W %h:%p bastion'"])
                .is_err_and(|e| e.contains("ProxyJump"))
        );
        assert_eq!(read(&["-o ProxyCommand=none"]), Ok(SshArgs::default()));
    }
}
