//! The one look at the host that `service` and `systemd` start with: where the service tools
//! are (`get_bin_path`, with `service.py`'s extra directories or without), the init script,
//! whether systemd runs (`is_systemd_managed`), the runlevel links (`/etc/rc?.d`), the locale
//! (`get_best_parsable_locale`) and what `is_chroot` and the `SYSTEMD_OFFLINE` check read.
//! Matching of the links against `S??NAME` is done here, as Python's `glob` matches
//! (`fnmatch`), so a name's own wildcard characters count as they do in Ansible.

use std::collections::BTreeMap;

use clearfleet_base::glob::fnmatch;
use clearfleet_base::shell::quote;

/// The binaries `LinuxService.get_service_tools` looks for.
pub const SERVICE_BINARIES: &[&str] = &[
    "service",
    "chkconfig",
    "update-rc.d",
    "rc-service",
    "rc-update",
    "initctl",
    "systemctl",
    "start",
    "stop",
    "restart",
    "insserv",
];

/// What the look found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tools {
    /// `uname -s`.
    pub system: String,
    /// The host's `PATH`, for `get_bin_path`'s message.
    pub path: String,
    /// Which of `/sbin`, `/usr/sbin`, `/usr/local/sbin` exist.
    pub sbin: Vec<String>,
    /// `get_bin_path(name, opt_dirs=['/sbin', '/usr/sbin', '/bin', '/usr/bin'])`.
    pub bins: BTreeMap<String, String>,
    /// `get_bin_path('systemctl')` without extra directories (`systemd_service.py`).
    pub systemctl: Option<String>,
    /// `/etc/init.d/NAME` is a regular file (`os.path.isfile`).
    pub initscript: bool,
    /// `/etc/init.d/NAME` is executable (`os.access(X_OK)`).
    pub initscript_x: bool,
    /// `get_sysv_script(NAME)` exists (`sysv_exists`).
    pub sysv_exists: bool,
    /// One of systemd's `sd_booted` canaries exists.
    pub canary: bool,
    /// `/proc/1/comm`'s first line.
    pub pid1: String,
    /// `/etc/init/NAME.conf` exists (upstart).
    pub upstart_conf: bool,
    /// `/etc/rc0.d/` is a directory.
    pub rc0d: bool,
    /// Entries of `/etc/rc?.d/` and `/etc/init.d/rc?.d/` (full paths).
    pub links: Vec<String>,
    /// `locale -a`'s choice (`None` where `locale` is not found).
    pub locale: Option<String>,
    /// `XDG_RUNTIME_DIR` is set; the effective uid.
    pub xdg_set: bool,
    pub euid: String,
    /// `SYSTEMD_OFFLINE` is `1`.
    pub offline: bool,
    /// `is_chroot`'s result.
    pub chroot: bool,
}

/// The script of the look, for the service or unit `name`.
pub fn script(name: &str) -> String {
    let init = quote(&format!("/etc/init.d/{name}"));
    let sysv = quote(&if name.starts_with('/') {
        name.to_owned()
    } else {
        format!("/etc/init.d/{name}")
    });
    let upstart = quote(&format!("/etc/init/{name}.conf"));
    let bins = SERVICE_BINARIES.join(" ");
    format!(
        r#"_cf_find() {{
  _cf_o=$IFS; IFS=:; set -f
  for _cf_d in $3; do
    IFS=$_cf_o
    [ -n "$_cf_d" ] || continue
    _cf_p="$_cf_d/$2"
    if [ -e "$_cf_p" ] && [ ! -d "$_cf_p" ] && [ -x "$_cf_p" ]; then echo "$1 $2 $_cf_p"; break; fi
  done
  IFS=$_cf_o; set +f
}}
echo "system $(uname -s)"
echo "path $PATH"
for d in /sbin /usr/sbin /usr/local/sbin; do [ -e "$d" ] && echo "sbin $d"; done
for b in {bins}; do _cf_find bin "$b" "/sbin:/usr/sbin:/bin:/usr/bin:$PATH:/usr/local/sbin"; done
_cf_find plain systemctl "$PATH:/sbin:/usr/sbin:/usr/local/sbin"
[ -f {init} ] && echo initscript
[ -x {init} ] && echo initscript_x
[ -e {sysv} ] && echo sysv_exists
for c in /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/; do [ -e "$c" ] && echo canary; done
echo "pid1 $(head -n 1 /proc/1/comm 2>/dev/null)"
[ -e {upstart} ] && echo upstart_conf
[ -d /etc/rc0.d/ ] && echo rc0d
for f in /etc/rc?.d/* /etc/init.d/rc?.d/*; do {{ [ -e "$f" ] || [ -L "$f" ]; }} && echo "link $f"; done
_cf_find loc locale "$PATH:/sbin:/usr/sbin:/usr/local/sbin"
if command -v locale >/dev/null 2>&1; then locale -a 2>/dev/null | sed 's/^/locale /'; fi
[ -n "${{XDG_RUNTIME_DIR+x}}" ] && echo xdg
echo "euid $(id -u)"
[ "${{SYSTEMD_OFFLINE-}}" = 1 ] && echo offline
if [ -n "${{debian_chroot-}}" ]; then echo chroot
else
  r=$(stat -c '%d:%i' / 2>/dev/null)
  if p=$(stat -c '%d:%i' /proc/1/root/. 2>/dev/null); then [ "$r" != "$p" ] && echo chroot
  else
    ino=2
    case $(stat -f --format=%T / 2>/dev/null) in *btrfs*) ino=256;; *xfs*) ino=128;; esac
    [ "${{r#*:}}" != "$ino" ] && echo chroot
  fi
fi
exit 0
"#
    )
}

/// Reads the look's output.
pub fn parse(out: &str) -> Tools {
    let mut t = Tools::default();
    let mut locales = Vec::new();
    let mut has_locale = false;
    for line in out.lines() {
        let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "system" => t.system = rest.to_owned(),
            "path" => t.path = rest.to_owned(),
            "sbin" => t.sbin.push(rest.to_owned()),
            "bin" => {
                if let Some((name, path)) = rest.split_once(' ') {
                    t.bins.insert(name.to_owned(), path.to_owned());
                }
            }
            "plain" => t.systemctl = rest.split_once(' ').map(|(_, p)| p.to_owned()),
            "initscript" => t.initscript = true,
            "initscript_x" => t.initscript_x = true,
            "sysv_exists" => t.sysv_exists = true,
            "canary" => t.canary = true,
            "pid1" => t.pid1 = rest.trim().to_owned(),
            "upstart_conf" => t.upstart_conf = true,
            "rc0d" => t.rc0d = true,
            "link" => t.links.push(rest.to_owned()),
            "loc" => has_locale = true,
            "locale" => locales.push(rest),
            "xdg" => t.xdg_set = true,
            "euid" => t.euid = rest.to_owned(),
            "offline" => t.offline = true,
            "chroot" => t.chroot = true,
            _ => {}
        }
    }
    // `get_best_parsable_locale`: `C` when `locale -a` gives nothing.
    if has_locale {
        t.locale = Some(super::service_exec::best_locale(&locales));
    }
    t
}

impl Tools {
    /// `location[binary]`.
    pub fn bin(&self, name: &str) -> Option<&str> {
        self.bins.get(name).map(String::as_str)
    }

    /// `is_systemd_managed`: systemctl is there, and a canary exists or PID 1 is `systemd`.
    pub fn systemd_managed(&self) -> bool {
        self.bin("systemctl").is_some() && (self.canary || self.pid1 == "systemd")
    }

    /// The links matching `glob.glob(pattern)` (`pattern` a full path, the directory part
    /// `/etc/rc?.d` or `/etc/init.d/rc?.d`).
    pub fn glob(&self, pattern: &str) -> Vec<&str> {
        let (dir_pat, file_pat) = pattern.rsplit_once('/').unwrap_or(("", pattern));
        self.links
            .iter()
            .filter(|l| {
                let (dir, file) = l.rsplit_once('/').unwrap_or(("", l));
                fnmatch(dir_pat, dir) && fnmatch(file_pat, file)
            })
            .map(String::as_str)
            .collect()
    }

    /// `service.py`'s `sysv_is_enabled`: a start link in `/etc/rc?.d`.
    pub fn started_in_a_runlevel(&self, name: &str) -> bool {
        !self.glob(&format!("/etc/rc?.d/S??{name}")).is_empty()
    }

    /// `module_utils.service.sysv_is_enabled(name)` (no runlevel): `/etc/rc?.d`, or
    /// `/etc/init.d/rc?.d` where `/etc/rc0.d/` is not a directory.
    pub fn sysv_is_enabled(&self, name: &str) -> bool {
        let pattern = if self.rc0d {
            format!("/etc/rc?.d/S??{name}")
        } else {
            format!("/etc/init.d/rc?.d/S??{name}")
        };
        !self.glob(&pattern).is_empty()
    }

    /// `get_bin_path(name, required=True)`'s failure: the paths it searched.
    pub fn not_found(&self, name: &str) -> String {
        let mut paths: Vec<&str> = self.path.split(':').collect();
        for d in &self.sbin {
            if !paths.contains(&d.as_str()) {
                paths.push(d);
            }
        }
        format!(
            "Failed to find required executable \"{name}\" in paths: {}",
            paths.join(":")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOK: &str = "system Linux
path /usr/local/bin:/usr/bin:/bin
sbin /sbin
sbin /usr/sbin
bin service /usr/sbin/service
bin update-rc.d /usr/sbin/update-rc.d
bin systemctl /usr/bin/systemctl
plain systemctl /usr/bin/systemctl
initscript
initscript_x
sysv_exists
pid1 process_api
rc0d
link /etc/rc2.d/S01cftest
link /etc/rc3.d/K01cftest
link /etc/rc2.d/S01cftest-other
loc locale /usr/bin/locale
locale C
locale C.utf8
locale POSIX
euid 0
";

    #[test]
    fn the_look_is_read() {
        let t = parse(LOOK);
        assert_eq!(t.system, "Linux");
        assert_eq!(t.bin("service"), Some("/usr/sbin/service"));
        assert_eq!(t.bin("chkconfig"), None);
        assert!(t.initscript && t.initscript_x && t.sysv_exists && t.rc0d);
        assert!(!t.systemd_managed(), "PID 1 is not systemd, no canary");
        assert_eq!(t.locale.as_deref(), Some("C.utf8"));
        assert!(!t.xdg_set && !t.offline && !t.chroot);
        assert_eq!(t.euid, "0");
    }

    #[test]
    fn links_match_as_python_glob() {
        let t = parse(LOOK);
        assert!(t.started_in_a_runlevel("cftest"));
        assert_eq!(t.glob("/etc/rc?.d/K??cftest"), ["/etc/rc3.d/K01cftest"]);
        assert!(!t.started_in_a_runlevel("cftest-none"));
        // The name's own wildcards count, as in glob.glob.
        assert!(t.started_in_a_runlevel("cftest*"));
        assert!(t.sysv_is_enabled("cftest"));
        let mut no_rc0 = t.clone();
        no_rc0.rc0d = false;
        assert!(!no_rc0.sysv_is_enabled("cftest"), "/etc/init.d/rc?.d then");
    }

    #[test]
    fn systemd_is_seen_by_canary_or_pid1() {
        let mut t = parse(LOOK);
        t.pid1 = "systemd".into();
        assert!(t.systemd_managed());
        t.pid1 = "init".into();
        t.canary = true;
        assert!(t.systemd_managed());
        t.bins.remove("systemctl");
        assert!(!t.systemd_managed(), "systemctl must be installed");
    }

    #[test]
    fn a_missing_binary_names_the_paths_searched() {
        let t = parse(LOOK);
        assert_eq!(
            t.not_found("systemctl"),
            "Failed to find required executable \"systemctl\" in paths: \
             /usr/local/bin:/usr/bin:/bin:/sbin:/usr/sbin"
        );
    }
}
