//! `sysctl` on a simulated host: `vm.max_map_count` (Elasticsearch's minimum is 262144) is
//! host state, so tests can give a host the kernel setting ClearML's docs require, or not.
//! Every other key goes to the real `sysctl`.

use crate::state::{Host, Out};

const KEY: &str = "vm.max_map_count";

/// `sysctl [-n] vm.max_map_count` and `sysctl -w vm.max_map_count=N`.
pub fn main(host: &Host, args: &[String]) -> Out {
    let quiet = args.iter().any(|a| a == "-n");
    let write = args.iter().any(|a| a == "-w");
    let Some(target) = args.iter().find(|a| !a.starts_with('-')) else {
        return passthrough(args);
    };
    let (key, value) = match target.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (target.as_str(), None),
    };
    if key != KEY {
        return passthrough(args);
    }
    match (write, value) {
        (true, Some(v)) => {
            if !is_root() {
                return Out::fail(255, format!("sysctl: permission denied on key \"{KEY}\""));
            }
            let Ok(n) = v.trim().parse::<u64>() else {
                return Out::fail(
                    255,
                    format!("sysctl: setting key \"{KEY}\": Invalid argument"),
                );
            };
            match host.with_state(|st| st.settings.max_map_count = n) {
                Ok(()) => Out::ok(format!("{KEY} = {n}\n")),
                Err(e) => e.into(),
            }
        }
        _ => match host.load() {
            Ok(st) if quiet => Out::ok(format!("{}\n", st.settings.max_map_count)),
            Ok(st) => Out::ok(format!("{KEY} = {}\n", st.settings.max_map_count)),
            Err(e) => e.into(),
        },
    }
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn passthrough(args: &[String]) -> Out {
    match std::process::Command::new("/usr/sbin/sysctl")
        .args(args)
        .output()
    {
        Ok(o) => Out {
            code: o.status.code().unwrap_or(1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        },
        Err(e) => Out::fail(127, format!("sysctl: {e}")),
    }
}
