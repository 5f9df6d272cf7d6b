//! `gather_facts`: a light fact set in one round trip per host, cached for the run.

use serde_json::{Map, Value, json};

/// The one command that gathers every fact (POSIX sh; Linux and macOS).
pub const SCRIPT: &str = r#"uname -s; uname -r; uname -m; hostname; id -un
if [ -r /etc/os-release ]; then . /etc/os-release; echo "${ID:-}"; echo "${VERSION_ID:-}"; echo "${ID_LIKE:-}"
elif command -v sw_vers >/dev/null 2>&1; then echo macosx; sw_vers -productVersion; echo darwin
else echo; echo; echo; fi
if command -v docker >/dev/null 2>&1; then echo yes; else echo no; fi
if docker compose version >/dev/null 2>&1; then echo v2; elif command -v docker-compose >/dev/null 2>&1; then echo v1; else echo none; fi
"#;

fn os_family(id: &str, like: &str) -> String {
    let all = format!("{id} {like}");
    let has = |w: &str| all.split_whitespace().any(|x| x == w);
    if has("debian") || has("ubuntu") {
        "Debian"
    } else if has("rhel") || has("fedora") || has("centos") {
        "RedHat"
    } else if has("suse") {
        "Suse"
    } else if has("alpine") {
        "Alpine"
    } else if has("arch") {
        "Archlinux"
    } else if has("darwin") || has("macosx") {
        "Darwin"
    } else {
        return id.to_owned();
    }
    .to_owned()
}

/// The facts from the script's output: `ansible_facts` plus the `ansible_*` names Ansible
/// injects as variables.
pub fn parse(stdout: &str) -> Map<String, Value> {
    let lines: Vec<&str> = stdout.lines().map(str::trim).collect();
    let at = |i: usize| lines.get(i).copied().unwrap_or("");
    let distribution = match at(5) {
        "" => at(0).to_owned(),
        "macosx" => "MacOSX".to_owned(),
        id => {
            let mut c = id.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
    };
    let facts = json!({
        "system": at(0),
        "kernel": at(1),
        "architecture": at(2),
        "hostname": at(3).split('.').next().unwrap_or(""),
        "fqdn": at(3),
        "user_id": at(4),
        "distribution": distribution,
        "distribution_version": at(6),
        "os_family": os_family(at(5), at(7)),
        "docker": at(8) == "yes",
        "docker_compose": at(9),
    });
    let mut vars = Map::new();
    if let Value::Object(f) = &facts {
        for (k, v) in f {
            vars.insert(format!("ansible_{k}"), v.clone());
        }
    }
    vars.insert("ansible_facts".to_owned(), facts);
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_linux_and_macos() {
        let f = parse("Linux\n6.1.0\nx86_64\nweb01.example.com\nroot\ndebian\n12\n\nyes\nv2\n");
        assert_eq!(f["ansible_os_family"], "Debian");
        assert_eq!(f["ansible_distribution"], "Debian");
        assert_eq!(f["ansible_hostname"], "web01");
        assert_eq!(f["ansible_facts"]["docker_compose"], "v2");
        assert_eq!(f["ansible_facts"]["docker"], true);
        let m = parse("Darwin\n23.1.0\narm64\nmac\nadmin\nmacosx\n14.1\ndarwin\nno\nnone\n");
        assert_eq!(m["ansible_os_family"], "Darwin");
        assert_eq!(m["ansible_distribution"], "MacOSX");
        assert_eq!(m["ansible_facts"]["docker"], false);
        let r = parse("Linux\n5\nx\nh\nu\nrocky\n9.3\nrhel centos fedora\nno\nnone\n");
        assert_eq!(r["ansible_os_family"], "RedHat");
    }
}
