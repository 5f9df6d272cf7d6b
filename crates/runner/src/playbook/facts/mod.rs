//! `gather_facts` and `setup`: Ansible's everyday facts read by one shell command per host
//! (gather.sh), parsed here, cached for the run; `gather_subset` and `filter` choose among them.

mod hardware;
mod local;
mod network;
mod platform;

use std::collections::HashMap;

use serde_json::{Map, Value, json};

/// setup's `fact_path` default (lib/ansible/modules/setup.py).
pub const DEFAULT_FACT_PATH: &str = "/etc/ansible/facts.d";

/// setup's `gather_timeout` default (`DEFAULT_GATHER_TIMEOUT`,
/// lib/ansible/module_utils/facts/timeout.py), also what `0` means (`gather_timeout or ...`).
pub const DEFAULT_GATHER_TIMEOUT: u64 = 10;

/// What a fact gathering reads besides the facts themselves: setup's `fact_path` and
/// `gather_timeout` (the play's keywords for the play's own gathering).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `None`: [`DEFAULT_FACT_PATH`].
    pub fact_path: Option<String>,
    /// Seconds the mounts' sizes may take (`None` or 0: [`DEFAULT_GATHER_TIMEOUT`]): the one
    /// collector of Linux whose time ansible-core bounds with it (`get_mount_facts`'
    /// `maxtime`, module_utils/facts/hardware/linux.py).
    pub gather_timeout: Option<u64>,
}

/// The one command that gathers every fact (POSIX sh; Linux and macOS), given the Python to
/// describe (`ansible_python_interpreter`, else Ansible's discovery list).
pub fn script(interpreter: Option<&str>, options: &Options) -> String {
    let timeout = options
        .gather_timeout
        .filter(|t| *t > 0)
        .unwrap_or(DEFAULT_GATHER_TIMEOUT);
    let quote = clearfleet_base::shell::quote;
    // A `path` option: `~` is the remote user's home (`os.path.expanduser`).
    let fact_path = match options.fact_path.as_deref().unwrap_or(DEFAULT_FACT_PATH) {
        "~" => "\"$HOME\"".to_owned(),
        p => match p.strip_prefix("~/") {
            Some(rest) => format!("\"$HOME\"/{}", quote(rest)),
            None => quote(p),
        },
    };
    format!(
        "PY={}\nGT={timeout}\nFP={fact_path}\n{}",
        quote(interpreter.unwrap_or("auto")),
        include_str!("gather.sh")
    )
}

/// The script's output cut at its `@@name` lines; `env` (last) runs to the end.
pub(crate) struct Sections<'a> {
    lines: HashMap<&'a str, Vec<&'a str>>,
    env: &'a str,
}

impl<'a> Sections<'a> {
    pub(crate) fn new(stdout: &'a str) -> Self {
        let (head, env) = match stdout.find("@@env\n") {
            Some(i) => (&stdout[..i], &stdout[i + 6..]),
            None => (stdout, ""),
        };
        let mut lines: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut current = "";
        for line in head.lines() {
            match line.strip_prefix("@@") {
                Some(name) => current = name.trim(),
                None => lines.entry(current).or_default().push(line),
            }
        }
        Sections { lines, env }
    }

    /// The lines of section `name` (none when it printed nothing).
    pub(crate) fn get(&self, name: &str) -> &[&'a str] {
        self.lines.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Line `i` of section `name`, trimmed; `""` when missing.
    pub(crate) fn line(&self, name: &str, i: usize) -> &'a str {
        self.get(name).get(i).map_or("", |l| l.trim())
    }
}

/// `env`: `env -0`'s NUL-separated entries, else `env`'s lines.
fn env(raw: &str) -> Value {
    let entries: Vec<&str> = if raw.contains('\0') {
        raw.split('\0').collect()
    } else {
        raw.lines().collect()
    };
    let mut env = Map::new();
    for e in entries {
        if let Some((k, v)) = e.split_once('=')
            && !k.is_empty()
        {
            env.insert(k.to_owned(), json!(v));
        }
    }
    Value::Object(env)
}

/// Every fact the script's output yields, by its name without `ansible_` (`python`, `env`...).
#[cfg(test)]
fn parse(stdout: &str) -> Map<String, Value> {
    parse_warned(stdout).0
}

/// Every fact the script's output yields, by its name without `ansible_` (`python`, `env`...),
/// with the warnings setup gives about them (unreadable local facts).
pub fn parse_warned(stdout: &str) -> (Map<String, Value>, Vec<String>) {
    let s = Sections::new(stdout);
    let mut facts = Map::new();
    let (local, warnings) = local::facts(s.get("local"));
    facts.insert("local".into(), local);
    platform::facts(&s, &mut facts);
    hardware::facts(&s, &mut facts);
    network::facts(&s, &mut facts);
    facts.insert("env".into(), env(s.env));
    // FipsFactCollector (module_utils/facts/system/fips.py): `/proc/sys/crypto/fips_enabled`
    // holding `1`.
    facts.insert("fips".into(), json!(s.line("fips", 0) == "1"));
    facts.insert("docker".into(), json!(s.line("docker", 0) == "yes"));
    facts.insert("docker_compose".into(), json!(s.line("docker", 1)));
    (facts, warnings)
}

/// The `gather_subset` names ansible-core 2.19 accepts (its collectors and their fact ids).
const VALID_SUBSETS: &str = "all, all_ipv4_addresses, all_ipv6_addresses, apparmor, architecture, \
caps, chroot, cmdline, date_time, default_ipv4, default_ipv6, devices, distribution, \
distribution_major_version, distribution_release, distribution_version, dns, effective_group_ids, \
effective_user_id, env, facter, fibre_channel_wwn, fips, hardware, interfaces, is_chroot, iscsi, \
kernel, kernel_version, loadavg, local, lsb, machine, machine_id, mounts, network, nvme, ohai, \
os_family, pkg_mgr, platform, processor, processor_cores, processor_count, python, \
python_version, real_user_id, selinux, service_mgr, ssh_host_key_dsa_public, \
ssh_host_key_ecdsa_public, ssh_host_key_ed25519_public, ssh_host_key_rsa_public, \
ssh_host_pub_keys, ssh_pub_keys, system, system_capabilities, system_capabilities_enforced, \
systemd, user, user_dir, user_gecos, user_gid, user_id, user_shell, user_uid, virtual, \
virtualization_role, virtualization_tech_guest, virtualization_tech_host, virtualization_type";

/// The facts of Ansible's `platform` collector.
const PLATFORM: [&str; 10] = [
    "system",
    "kernel",
    "kernel_version",
    "machine",
    "python_version",
    "fqdn",
    "hostname",
    "nodename",
    "domain",
    "architecture",
];

/// The Ansible collector that gathers `fact` (a name without `ansible_`); a collector's own
/// name is itself.
fn collector_of(fact: &str) -> &str {
    if hardware::NAMES.contains(&fact) || fact == "hardware" {
        "hardware"
    } else if network::NAMES.contains(&fact) || fact == "network" {
        "network"
    } else if PLATFORM.contains(&fact) {
        "platform"
    } else if fact.starts_with("distribution") || fact == "os_family" {
        "distribution"
    } else if fact.starts_with("user_") {
        "user"
    } else if fact.starts_with("docker") {
        "docker"
    } else {
        fact
    }
}

/// Is `fact` (a name without `ansible_`) among what `gather_subset` selects? As Ansible: the
/// minimal collectors unless `!min`; every collector when none is named (or with `all`) unless
/// `!all`; a named collector or fact id adds its collector, `!name` drops it; `hardware` and
/// `network` bring the `platform` and `distribution` facts they need.
fn selected(subsets: &[String], fact: &str) -> bool {
    let excluded = |c: &str| subsets.iter().any(|x| x.strip_prefix('!') == Some(c));
    let positive: Vec<&str> = subsets
        .iter()
        .filter(|s| !s.starts_with('!'))
        .map(|s| collector_of(s))
        .collect();
    let minimal = |c: &str| c != "hardware" && c != "network";
    let named = |c: &str| {
        !excluded(c)
            && (positive.iter().any(|p| *p == "all" || *p == c)
                || (positive.is_empty() && !excluded("all")))
    };
    let c = collector_of(fact);
    named(c)
        || (minimal(c) && !excluded("min") && !excluded(c))
        || (matches!(c, "platform" | "distribution") && (named("hardware") || named("network")))
}

/// A list argument as Ansible reads one: a list, or a comma-separated string.
fn list_arg(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// Ansible's error for a `gather_subset` entry it does not know (excluding one is no error).
pub fn bad_subset(args: &Value) -> Option<String> {
    let valid: Vec<&str> = VALID_SUBSETS.split(", ").collect();
    list_arg(args.get("gather_subset"))
        .into_iter()
        .find(|s| !s.starts_with('!') && s != "min" && !valid.contains(&s.as_str()))
        .map(|bad| {
            format!("Bad subset '{bad}' given to Ansible. gather_subset options allowed: {VALID_SUBSETS}")
        })
}

/// The facts `setup`'s `gather_subset` and `filter` (`fnmatch` patterns on the `ansible_` names)
/// keep, with Ansible's `gather_subset` and `module_setup` facts.
pub fn select(facts: &Map<String, Value>, args: &Value) -> Map<String, Value> {
    let mut subsets = list_arg(args.get("gather_subset"));
    if subsets.is_empty() {
        subsets.push("all".to_owned());
    }
    let filters = list_arg(args.get("filter"));
    let mut kept: Map<String, Value> = facts
        .iter()
        .filter(|(k, _)| selected(&subsets, k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    kept.insert("gather_subset".into(), json!(subsets));
    kept.insert("module_setup".into(), json!(true));
    // `filter` matches the names `setup` returns, its own two included.
    kept.retain(|k, _| {
        let name = match k.as_str() {
            "gather_subset" | "module_setup" => k.clone(),
            _ => format!("ansible_{k}"),
        };
        filters.is_empty()
            || filters
                .iter()
                .any(|f| clearfleet_base::glob::glob_match(f.as_bytes(), name.as_bytes()))
    });
    kept
}

/// The host variables after gathering `facts`: `ansible_facts` plus the `ansible_*` names
/// Ansible injects, the new facts merged over the host's earlier ones (`had`), as Ansible's
/// fact cache merges them.
pub fn vars(had: &Map<String, Value>, new: Map<String, Value>) -> Map<String, Value> {
    let mut facts = match had.get("ansible_facts") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    facts.extend(new);
    let mut vars: Map<String, Value> = facts
        .iter()
        .filter(|(k, _)| *k != "module_setup")
        .map(|(k, v)| (format!("ansible_{k}"), v.clone()))
        .collect();
    vars.insert("ansible_facts".to_owned(), Value::Object(facts));
    vars
}

/// The host variables after a module returned `facts` (`getent`'s): inside `ansible_facts`
/// without an `ansible_` prefix (Ansible's `namespace_facts`), and as variables under the names
/// the module gave (Ansible's injected facts); the host's earlier variables kept.
pub fn returned_by_module(
    had: &Map<String, Value>,
    facts: &Map<String, Value>,
) -> Map<String, Value> {
    let short: Map<String, Value> = facts
        .iter()
        .map(|(k, v)| {
            (
                k.strip_prefix("ansible_").unwrap_or(k).to_owned(),
                v.clone(),
            )
        })
        .collect();
    let mut out = had.clone();
    out.extend(vars(had, short));
    out.extend(facts.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// `setup`'s result: the facts under their `ansible_` names, as the module returns them.
pub fn returned(facts: &Map<String, Value>) -> Value {
    Value::Object(
        facts
            .iter()
            .map(|(k, v)| match k.as_str() {
                "gather_subset" | "module_setup" => (k.clone(), v.clone()),
                _ => (format!("ansible_{k}"), v.clone()),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Debian host's output, as gather.sh prints it (two sockets of two hyper-threaded cores).
    const DEBIAN: &str = "@@uname\nLinux\n6.1.0-18-amd64\n#1 SMP Debian\nx86_64\nweb01\n\
@@hostname\nweb01.example.com\n@@user\ndeploy\n1000\n1000\n\
@@passwd\ndeploy:x:1000:1000:Deploy User,,,:/home/deploy:/bin/bash\n\
@@os_release\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n\
@@debian_version\n12.5\n@@sw_vers\n@@lsb_file\nDISTRIB_ID=Debian\nDISTRIB_RELEASE=12\n\
@@cpuinfo\nprocessor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Xeon\nphysical id\t: 0\nsiblings\t: 4\ncore id\t\t: 0\ncpu cores\t: 2\n\
processor\t: 1\nvendor_id\t: GenuineIntel\nmodel name\t: Xeon\nphysical id\t: 1\nsiblings\t: 4\ncore id\t\t: 0\ncpu cores\t: 2\n\
@@nproc\n8\n@@meminfo\nMemTotal:       2048000 kB\nSwapTotal:  0 kB\n\
@@date\n2026 01 02 03 04 05 +0100 Friday 5 00 1767319445 123456789 CET\n2026-01-02T02:04:05 20260102T020405\n\
@@pid1\nsystemd\n@@pkg\n/usr/bin/apt-get\n\
@@route4\n8.8.8.8 via 10.0.0.1 dev eth0 src 10.0.0.5 uid 0\n\
@@addr\n1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\\       valid_lft forever\n\
2: eth0    inet6 fe80::1/64 scope link \\       valid_lft forever\n\
@@links\nlo 00:00:00:00:00:00 65536 772\neth0 52:54:00:12:34:56 1500 1\n\
@@lsblk\n/dev/sda1 1234-abcd\n@@findmnt\n/srv/x /dev/sda1[/x] ext4 rw\n\
@@mounts\n/dev/sda1 / ext4 rw,relatime 0 1\n/dev/sda1 /srv/x ext4 rw 0 0\n/dev/sda1 /srv/my\\040dir ext4 rw 0 0\n\
@@statfs\n4096 4096 1000 400 300 500 100 /\n4096 4096 1000 400 300 500 100 /srv/my dir\n\
@@docker\nno\nnone\n@@python\n\
@@env\nHOME=/home/deploy\0MULTI=a\nb\0PATH=/usr/bin\0";

    #[test]
    fn parses_a_debian_host() {
        let f = parse(DEBIAN);
        assert_eq!(f["fips"], false);
        assert_eq!(parse("@@fips\n1\n")["fips"], true);
        assert_eq!(f["distribution"], "Debian");
        assert_eq!(f["distribution_version"], "12.5");
        assert_eq!(f["distribution_major_version"], "12");
        assert_eq!(f["distribution_minor_version"], "5");
        assert_eq!(f["distribution_release"], "bookworm");
        assert_eq!(f["os_family"], "Debian");
        assert_eq!(f["hostname"], "web01");
        assert_eq!(f["fqdn"], "web01.example.com");
        assert_eq!(f["domain"], "example.com");
        assert_eq!(f["user_dir"], "/home/deploy");
        assert_eq!(f["user_uid"], 1000);
        assert_eq!(f["user_gecos"], "Deploy User,,,");
        assert_eq!(
            f["lsb"],
            json!({"id": "Debian", "release": "12", "major_release": "12"})
        );
        // Two sockets (`physical id`), two cores each, four siblings: two threads per core.
        assert_eq!(f["processor_count"], 2);
        assert_eq!(f["processor_cores"], 2);
        assert_eq!(f["processor_threads_per_core"], 2);
        assert_eq!(f["processor_vcpus"], 8);
        assert_eq!(f["processor_nproc"], 8);
        assert_eq!(f["processor"][2], "Xeon");
        assert_eq!(f["memtotal_mb"], 2000);
        assert_eq!(f["pkg_mgr"], "apt");
        assert_eq!(f["service_mgr"], "systemd");
        // PID 1 a shell: ServiceMgrFactCollector's checks in order (a running systemd, upstart,
        // OpenRC, /sbin/init a link to systemd, /etc/init.d, /etc/dinit.d); the script prints
        // those that hold, the first wins.
        let shell_pid1 = |service: &str| {
            parse(&DEBIAN.replace(
                "@@pid1\nsystemd\n",
                &format!("@@pid1\nbash\n@@service\n{service}"),
            ))["service_mgr"]
                .clone()
        };
        assert_eq!(shell_pid1("systemd\nsysvinit\n"), "systemd");
        assert_eq!(shell_pid1("sysvinit\n"), "sysvinit");
        assert_eq!(shell_pid1(""), "service");
        assert_eq!(f["date_time"]["iso8601"], "2026-01-02T02:04:05Z");
        assert_eq!(
            f["date_time"]["iso8601_micro"],
            "2026-01-02T02:04:05.123456Z"
        );
        assert_eq!(f["date_time"]["tz"], "CET");
        assert_eq!(f["date_time"]["tz_offset"], "+0100");
        assert_eq!(f["default_ipv4"]["network"], "10.0.0.0");
        assert_eq!(f["default_ipv4"]["netmask"], "255.255.255.0");
        assert_eq!(f["default_ipv4"]["gateway"], "10.0.0.1");
        assert_eq!(f["default_ipv4"]["macaddress"], "52:54:00:12:34:56");
        assert_eq!(f["default_ipv4"]["mtu"], 1500);
        assert_eq!(f["default_ipv4"]["type"], "ether");
        assert_eq!(f["default_ipv6"], json!({}));
        assert_eq!(f["all_ipv4_addresses"], json!(["10.0.0.5"]));
        assert_eq!(f["all_ipv6_addresses"], json!(["fe80::1"]));
        assert_eq!(f["env"]["MULTI"], "a\nb");
        assert_eq!(f["env"]["PATH"], "/usr/bin");
        let m = &f["mounts"];
        assert_eq!(m[0]["uuid"], "1234-abcd");
        assert_eq!(m[0]["size_total"], 4096000);
        assert_eq!(m[0]["block_used"], 600);
        assert_eq!(m[1]["options"], "rw,bind");
        assert_eq!(m[2]["mount"], "/srv/my dir");
        assert_eq!(m[2]["inode_used"], 400);
        // No Python answered: no `python` fact, the host name is the FQDN.
        assert!(f.get("python").is_none());
    }

    #[test]
    fn subsets_and_filters_choose_as_ansible() {
        let f = parse(DEBIAN);
        let names = |args: Value| -> Vec<String> { select(&f, &args).keys().cloned().collect() };
        let all = names(Value::Null);
        assert!(all.iter().any(|n| n == "mounts") && all.iter().any(|n| n == "env"));
        let min = names(json!({"gather_subset": "!all"}));
        assert!(min.iter().any(|n| n == "env"));
        assert!(!min.iter().any(|n| n == "mounts" || n == "default_ipv4"));
        // Network alone brings the platform facts it needs, nothing else of the minimal set.
        let net = names(json!({"gather_subset": ["!all", "!min", "network"]}));
        assert!(net.iter().any(|n| n == "default_ipv4") && net.iter().any(|n| n == "hostname"));
        assert!(!net.iter().any(|n| n == "env" || n == "mounts"));
        let hw = names(json!({"gather_subset": ["!hardware"]}));
        assert!(!hw.iter().any(|n| n == "mounts") && hw.iter().any(|n| n == "default_ipv4"));
        let filtered = names(json!({"filter": ["ansible_distribution*"]}));
        assert!(!filtered.is_empty());
        assert!(filtered.iter().all(|n| n.starts_with("distribution")));
        let bad = bad_subset(&json!({"gather_subset": ["!all", "bogus"]}));
        assert!(bad.is_some_and(|m| m.starts_with("Bad subset 'bogus' given")));
        assert!(bad_subset(&json!({"gather_subset": ["!bogus", "distribution"]})).is_none());
        // A collector or fact id adds its collector to the minimal set.
        let dist = names(json!({"gather_subset": ["!all", "!min", "distribution"]}));
        assert!(dist.iter().all(|n| n.starts_with("distribution")
            || n == "os_family"
            || n == "gather_subset"
            || n == "module_setup"));
        let cpu = names(json!({"gather_subset": ["!all", "processor"]}));
        assert!(cpu.iter().any(|n| n == "mounts") && cpu.iter().any(|n| n == "env"));
        // Variables: `ansible_facts` without the prefix, the injected names with it, and a
        // narrower setup merged over what was gathered.
        let v = vars(&Map::new(), select(&f, &Value::Null));
        assert_eq!(v["ansible_facts"]["hostname"], "web01");
        assert_eq!(v["ansible_hostname"], "web01");
        let again = vars(&v, select(&f, &json!({"filter": "ansible_env"})));
        assert_eq!(again["ansible_hostname"], "web01");
        assert_eq!(
            again["ansible_facts"]["mounts"],
            v["ansible_facts"]["mounts"]
        );
    }

    /// `gather_timeout` bounds the mounts' sizes (0 and unset: setup's 10); `fact_path` is
    /// quoted, `~` left to the remote shell's `$HOME`.
    #[test]
    fn the_script_takes_setups_options() {
        let of = |fact_path: Option<&str>, gather_timeout| {
            script(
                None,
                &Options {
                    fact_path: fact_path.map(str::to_owned),
                    gather_timeout,
                },
            )
        };
        assert!(of(None, None).contains("\nGT=10\nFP=/etc/ansible/facts.d\n"));
        assert!(of(None, Some(0)).contains("\nGT=10\n"));
        assert!(of(Some("~/my facts"), Some(25)).contains("\nGT=25\nFP=\"$HOME\"/'my facts'\n"));
        assert!(of(None, None).contains("timeout \"$GT\" stat"));
    }

    /// The script runs under this machine's `sh` and describes its Python.
    #[test]
    fn the_script_runs_here() {
        let py = std::process::Command::new("sh")
            .arg("-c")
            .arg("command -v python3")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|p| !p.is_empty());
        let dir = std::env::temp_dir().join(format!("cf-local-facts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let write = |name: &str, text: &str, mode: u32| {
            use std::os::unix::fs::PermissionsExt;
            let p = dir.join(name);
            std::fs::write(&p, text).expect("write fact");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        };
        write("json.fact", "{\"a\": [1, 2]}\n", 0o644);
        write("ini.fact", "[sec]\nK = v\n", 0o644);
        write("run.fact", "#!/bin/sh\necho '{\"ran\": true}'\n", 0o755);
        write("fail.fact", "#!/bin/sh\necho oops >&2\nexit 3\n", 0o755);
        write("skipped.txt", "{}", 0o644);
        let options = Options {
            fact_path: Some(dir.display().to_string()),
            gather_timeout: Some(5),
        };
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script(py.as_deref(), &options))
            .output()
            .expect("run sh");
        let _ = std::fs::remove_dir_all(&dir);
        let (f, warnings) = parse_warned(&String::from_utf8_lossy(&out.stdout));
        let fail = format!(
            "Failure executing fact script ({}/fail.fact), rc: 3, err: oops\n",
            dir.display()
        );
        assert_eq!(
            f["local"],
            json!({"fail": fail, "ini": {"sec": {"k": "v"}}, "json": {"a": [1, 2]}, "run": {"ran": true}})
        );
        assert_eq!(warnings, [fail]);
        assert!(!f["system"].as_str().unwrap_or("").is_empty());
        assert!(f["env"].get("HOME").is_some());
        assert!(f["date_time"].get("epoch").is_some());
        if py.is_some() {
            assert_eq!(f["python"]["version_info"][0], 3, "{f:?}");
        }
    }
}
