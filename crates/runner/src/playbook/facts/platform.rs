//! The minimal facts: platform (`uname`), user, distribution and LSB, package and service
//! managers, date and time, Python, as Ansible's system collectors report them.

use serde_json::{Map, Value, json};

use super::Sections;

/// `/etc/os-release`'s `KEY=value` (quotes removed).
fn os_release<'a>(s: &Sections<'a>, key: &str) -> &'a str {
    s.get("os_release")
        .iter()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map_or("", |v| v.trim().trim_matches('"').trim_matches('\''))
}

/// Ansible's spelling of a distribution's `ID` (`distro.id()` through its name map).
fn distribution_name(id: &str, system: &str) -> String {
    let known = [
        ("amzn", "Amazon"),
        ("arch", "Archlinux"),
        ("archarm", "ArchLinuxARM"),
        ("centos", "CentOS"),
        ("rhel", "RedHat"),
        ("ol", "OracleLinux"),
        ("opensuse-leap", "openSUSE Leap"),
        ("opensuse-tumbleweed", "openSUSE Tumbleweed"),
        ("sles", "SLES"),
        ("sles_sap", "SLES_SAP"),
        ("almalinux", "AlmaLinux"),
        ("rocky", "Rocky"),
        ("macosx", "MacOSX"),
        ("linuxmint", "Linux Mint"),
        ("pop", "Pop!_OS"),
        ("nixos", "NixOS"),
    ];
    if id.is_empty() {
        return system.to_owned();
    }
    if let Some((_, name)) = known.iter().find(|(k, _)| *k == id) {
        return (*name).to_owned();
    }
    let mut c = id.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Ansible's `os_family` of a distribution (`OS_FAMILY_MAP`), else the distribution itself.
fn os_family(distribution: &str) -> String {
    let families: [(&str, &[&str]); 8] = [
        (
            "RedHat",
            &[
                "RedHat",
                "RHEL",
                "Fedora",
                "CentOS",
                "Scientific",
                "OracleLinux",
                "Amazon",
                "AlmaLinux",
                "Rocky",
                "XenServer",
                "CloudLinux",
                "OVS",
                "Virtuozzo",
            ],
        ),
        (
            "Debian",
            &[
                "Debian",
                "Ubuntu",
                "Raspbian",
                "Neon",
                "KDE neon",
                "Linux Mint",
                "SteamOS",
                "Devuan",
                "Kali",
                "Cumulus Linux",
                "Pop!_OS",
                "Parrot",
                "Pardus GNU/Linux",
                "Uos",
                "Deepin",
                "OSMC",
            ],
        ),
        (
            "Suse",
            &[
                "SuSE",
                "SLES",
                "SLED",
                "openSUSE",
                "openSUSE Tumbleweed",
                "SLES_SAP",
                "SUSE_LINUX",
                "openSUSE Leap",
            ],
        ),
        (
            "Archlinux",
            &["Archlinux", "Antergos", "Manjaro", "ArchLinuxARM"],
        ),
        ("Alpine", &["Alpine"]),
        ("Gentoo", &["Gentoo", "Funtoo"]),
        ("Darwin", &["MacOSX"]),
        ("FreeBSD", &["FreeBSD", "TrueOS"]),
    ];
    families
        .iter()
        .find(|(_, members)| members.contains(&distribution))
        .map_or(distribution, |(family, _)| family)
        .to_owned()
}

fn distribution(s: &Sections, system: &str, f: &mut Map<String, Value>) {
    let id = if system == "Darwin" {
        "macosx"
    } else {
        os_release(s, "ID")
    };
    let name = distribution_name(id, system);
    // Debian's point release is in /etc/debian_version; macOS's in sw_vers.
    let version = match name.as_str() {
        "Debian"
            if s.line("debian_version", 0)
                .starts_with(|c: char| c.is_ascii_digit()) =>
        {
            s.line("debian_version", 0).to_owned()
        }
        "MacOSX" => s.line("sw_vers", 0).to_owned(),
        _ => os_release(s, "VERSION_ID").to_owned(),
    };
    let mut parts = version.split('.');
    let major = parts.next().unwrap_or("").to_owned();
    let release = match os_release(s, "VERSION_CODENAME") {
        "" => os_release(s, "UBUNTU_CODENAME"),
        c => c,
    };
    f.insert("distribution".into(), json!(name));
    f.insert("distribution_version".into(), json!(version));
    f.insert("distribution_major_version".into(), json!(major));
    if let Some(minor) = parts.next() {
        f.insert("distribution_minor_version".into(), json!(minor));
    }
    f.insert(
        "distribution_release".into(),
        json!(if release.is_empty() { "NA" } else { release }),
    );
    f.insert("os_family".into(), json!(os_family(&name)));
}

/// `lsb`: `lsb_release -a`, else /etc/lsb-release; `{}` without either.
fn lsb(s: &Sections) -> Value {
    let mut lsb = Map::new();
    let (section, keys): (&str, [(&str, &str); 4]) = if !s.get("lsb_release").is_empty() {
        (
            "lsb_release",
            [
                ("Distributor ID:", "id"),
                ("Description:", "description"),
                ("Release:", "release"),
                ("Codename:", "codename"),
            ],
        )
    } else {
        (
            "lsb_file",
            [
                ("DISTRIB_ID=", "id"),
                ("DISTRIB_DESCRIPTION=", "description"),
                ("DISTRIB_RELEASE=", "release"),
                ("DISTRIB_CODENAME=", "codename"),
            ],
        )
    };
    for line in s.get(section) {
        for (prefix, key) in keys {
            if let Some(v) = line.strip_prefix(prefix) {
                lsb.insert(key.into(), json!(v.trim().trim_matches('"')));
            }
        }
    }
    if let Some(release) = lsb.get("release").and_then(Value::as_str) {
        let major = release.split('.').next().unwrap_or("").to_owned();
        lsb.insert("major_release".into(), json!(major));
    }
    Value::Object(lsb)
}

/// `pkg_mgr`: the last of Ansible's package-manager paths present, RedHat's dnf5/dnf/yum as
/// Ansible prefers them, `apt` on the Debian family whatever else is installed; `unknown` when
/// none (ansible-core 2.19.14's `module_utils/facts/system/pkg_mgr.py`).
fn pkg_mgr(s: &Sections, family: &str) -> String {
    fn name(path: &str) -> &str {
        match path.rsplit('/').next().unwrap_or("") {
            "rpm-ostree" => "atomic_container",
            "yum" | "dnf-3" => "dnf",
            "dnf5" => "dnf5",
            "apt-get" => "apt",
            "port" => "macports",
            "brew" => "homebrew",
            "pkg" if path.starts_with("/usr/bin") => "pkg5",
            "pkg" => "pkgng",
            "swlist" => "swdepot",
            "emerge" => "portage",
            "pkgadd" => "svr4pkg",
            "xbps-install" => "xbps",
            other => other,
        }
    }
    let found: Vec<&str> = s.get("pkg").iter().map(|p| name(p.trim())).collect();
    if family == "RedHat" {
        for preferred in ["dnf5", "dnf"] {
            if found.contains(&preferred) {
                return preferred.to_owned();
            }
        }
    }
    let last = found.last().map_or("unknown", |p| p);
    // `PkgMgrFactCollector.collect`'s family defaults: dnf or zypper installed on Debian does
    // not make the system use them; Altlinux's apt is APT-RPM.
    match (family, last) {
        ("Debian", _) => "apt".to_owned(),
        ("Altlinux", "apt") => "apt_rpm".to_owned(),
        _ => last.to_owned(),
    }
}

/// `service_mgr`: PID 1's name unless it is `init` or a shell, else what the system shows.
fn service_mgr(s: &Sections, system: &str, distribution: &str) -> String {
    let pid1 = s.line("pid1", 0);
    let pid1 = match pid1 {
        "" | "COMMAND" => s.line("init", 0),
        p => p,
    };
    let pid1 = pid1.rsplit('/').next().unwrap_or("").trim();
    if !pid1.is_empty() && pid1 != "init" && !pid1.ends_with("sh") {
        return match pid1 {
            "procd" => "openwrt_init",
            "runit-init" => "runit",
            "svscan" => "svc",
            "openrc-init" => "openrc",
            p => p,
        }
        .to_owned();
    }
    if distribution == "MacOSX" {
        return "launchd".into();
    }
    if system == "Linux"
        && let Some(first) = s.get("service").first()
    {
        return first.trim().to_owned();
    }
    "service".into()
}

/// `date_time` from `date`'s local line and `date -u`'s line, as Ansible's collector spells it.
fn date_time(s: &Sections, tz_dst: Option<&str>) -> Value {
    let local: Vec<&str> = s.line("date", 0).split_whitespace().collect();
    let utc: Vec<&str> = s.line("date", 1).split_whitespace().collect();
    if local.len() < 13 {
        return json!({});
    }
    let at = |i: usize| local.get(i).copied().unwrap_or("");
    let nanos = at(11);
    let micro = if nanos.len() >= 6 && nanos.bytes().all(|b| b.is_ascii_digit()) {
        &nanos[..6]
    } else {
        "000000"
    };
    let tz = local[12..].join(" ");
    let (y, mo, d, h, mi, sec) = (at(0), at(1), at(2), at(3), at(4), at(5));
    let utc_iso = utc.first().copied().unwrap_or("");
    json!({
        "year": y, "month": mo, "day": d, "hour": h, "minute": mi, "second": sec,
        "date": format!("{y}-{mo}-{d}"),
        "time": format!("{h}:{mi}:{sec}"),
        "epoch": at(10),
        "epoch_int": at(10),
        "iso8601": format!("{utc_iso}Z"),
        "iso8601_micro": format!("{utc_iso}.{micro}Z"),
        "iso8601_basic": format!("{y}{mo}{d}T{h}{mi}{sec}{micro}"),
        "iso8601_basic_short": format!("{y}{mo}{d}T{h}{mi}{sec}"),
        "tz": tz,
        "tz_dst": tz_dst.unwrap_or(&tz),
        "tz_offset": at(6),
        "weekday": at(7),
        "weekday_number": at(8),
        "weeknumber": at(9),
    })
}

pub(super) fn facts(s: &Sections, f: &mut Map<String, Value>) {
    let system = s.line("uname", 0);
    let machine = s.line("uname", 3);
    let nodename = s.line("uname", 4);
    f.insert("system".into(), json!(system));
    f.insert("kernel".into(), json!(s.line("uname", 1)));
    f.insert("kernel_version".into(), json!(s.line("uname", 2)));
    f.insert("machine".into(), json!(machine));
    f.insert("nodename".into(), json!(nodename));
    let architecture = match machine {
        "i386" | "i486" | "i586" | "i686" => "i386",
        m => m,
    };
    f.insert("architecture".into(), json!(architecture));
    let hostname = match s.line("hostname", 0) {
        "" => nodename,
        h => h,
    };
    f.insert(
        "hostname".into(),
        json!(hostname.split('.').next().unwrap_or("")),
    );

    let py: Option<Value> = serde_json::from_str(s.line("python", 0)).ok();
    let fqdn = py
        .as_ref()
        .and_then(|p| p.get("fqdn"))
        .and_then(Value::as_str)
        .unwrap_or(hostname)
        .to_owned();
    let domain = fqdn.split_once('.').map_or("", |(_, d)| d).to_owned();
    f.insert("fqdn".into(), json!(fqdn));
    f.insert("domain".into(), json!(domain));
    if let Some(p) = &py {
        if let Some(python) = p.get("python") {
            f.insert("python".into(), python.clone());
        }
        if let Some(v) = p.get("python_version") {
            f.insert("python_version".into(), v.clone());
        }
    }

    let user = s.line("user", 0);
    f.insert("user_id".into(), json!(user));
    let num = |v: &str| v.parse::<u64>().map_or(Value::Null, |n| json!(n));
    f.insert("user_uid".into(), num(s.line("user", 1)));
    f.insert("user_gid".into(), num(s.line("user", 2)));
    let pw: Vec<&str> = s.line("passwd", 0).split(':').collect();
    if pw.len() >= 7 {
        f.insert("user_gecos".into(), json!(pw[4]));
        f.insert("user_dir".into(), json!(pw[5]));
        f.insert("user_shell".into(), json!(pw[6]));
    }

    distribution(s, system, f);
    let family = f
        .get("os_family")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let dist = f
        .get("distribution")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    f.insert("lsb".into(), lsb(s));
    f.insert("pkg_mgr".into(), json!(pkg_mgr(s, &family)));
    f.insert("service_mgr".into(), json!(service_mgr(s, system, &dist)));
    let tz_dst = py
        .as_ref()
        .and_then(|p| p.get("tz_dst"))
        .and_then(Value::as_str);
    f.insert("date_time".into(), date_time(s, tz_dst));
}
