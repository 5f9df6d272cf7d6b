//! The host's `/proc/cpuinfo` and `/proc/meminfo` as its kernel would report them, so that the
//! upgrade's preflight reads the real files and still sees the simulated CPU (AVX) and memory.
//!
//! `tests/support/sim-host.sh` copies the machine's files to `STATE/proc/NAME.orig` and
//! `STATE/proc/NAME` and bind-mounts the latter over `/proc/NAME` in the host's mount namespace;
//! [`sync`] rewrites them in place (same inode, so the bind mount follows) from the settings.
//! Outside such a namespace (no `.orig` files) it does nothing.

use std::path::Path;

use crate::state::{Host, Settings};

/// Rewrites the host's view of `/proc/cpuinfo` and `/proc/meminfo` from its settings.
pub fn sync(host: &Host, settings: &Settings) -> Result<(), String> {
    let dir = host.state_dir.join("proc");
    rewrite(&dir, "cpuinfo", |s| cpuinfo(s, settings.avx))?;
    rewrite(&dir, "meminfo", |s| meminfo(s, settings.memory_mb))
}

fn rewrite(dir: &Path, name: &str, f: impl Fn(&str) -> String) -> Result<(), String> {
    let orig = dir.join(format!("{name}.orig"));
    let Ok(text) = std::fs::read_to_string(&orig) else {
        return Ok(());
    };
    let path = dir.join(name);
    // `fs::write` truncates in place: the inode, and so the bind mount over /proc, stays.
    std::fs::write(&path, f(&text)).map_err(|e| format!("{}: {e}", path.display()))
}

/// The CPU flags without any `avx*` word when the simulated CPU lacks AVX, and with `avx`
/// when it has it (whatever the machine running the simulation has).
fn cpuinfo(text: &str, avx: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match line.split_once(':') {
            Some((key, flags)) if key.trim() == "flags" => {
                let mut kept: Vec<&str> = flags
                    .split_whitespace()
                    .filter(|w| avx || !w.starts_with("avx"))
                    .collect();
                if avx && !kept.contains(&"avx") {
                    kept.push("avx");
                }
                out.push_str(&format!("{key}: {}\n", kept.join(" ")));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// `MemTotal` set to the simulated size; free and available memory capped below it.
fn meminfo(text: &str, memory_mb: Option<u64>) -> String {
    let Some(mb) = memory_mb else {
        return text.to_owned();
    };
    let total = mb * 1024;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let (key, rest) = line.split_once(':').unwrap_or((line, ""));
        let kib: Option<u64> = rest.split_whitespace().next().and_then(|n| n.parse().ok());
        let value = match (key, kib) {
            ("MemTotal", _) => Some(total),
            ("MemFree" | "MemAvailable", Some(v)) => Some(v.min(total * 4 / 5)),
            _ => None,
        };
        match value {
            Some(v) => out.push_str(&format!("{:<15} {v:>8} kB\n", format!("{key}:"))),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPU: &str =
        "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 avx512f aes\nbogomips\t: 4800.00\n";
    const MEM: &str = "MemTotal:       24684084 kB\nMemFree:        19896980 kB\nMemAvailable:   22000000 kB\nBuffers:          100 kB\n";

    #[test]
    fn no_avx_removes_every_avx_flag_and_nothing_else() {
        let t = cpuinfo(CPU, false);
        assert!(t.contains("flags\t\t: fpu sse2 aes\n"), "{t}");
        assert!(t.contains("bogomips\t: 4800.00"));
        assert_eq!(cpuinfo(CPU, true), CPU);
        // A machine without AVX still shows it on a simulated host that has it.
        assert_eq!(
            cpuinfo(&t, true),
            CPU.replace("fpu sse2 avx avx2 avx512f aes", "fpu sse2 aes avx")
        );
    }

    #[test]
    fn memory_size_sets_total_and_caps_free() {
        let t = meminfo(MEM, Some(4096));
        assert!(t.contains("MemTotal:        4194304 kB\n"), "{t}");
        assert!(t.contains("MemFree:         3355443 kB\n"), "{t}");
        assert!(t.contains("MemAvailable:    3355443 kB\n"), "{t}");
        assert!(t.contains("Buffers:          100 kB"));
        assert_eq!(meminfo(MEM, None), MEM);
    }

    #[test]
    fn sync_rewrites_in_place_and_ignores_hosts_without_proc_copies() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let host = Host {
            fsroot: dir.path().to_path_buf(),
            state_dir: dir.path().to_path_buf(),
            cwd: dir.path().to_path_buf(),
            env: Default::default(),
        };
        let settings = Settings {
            avx: false,
            memory_mb: Some(2048),
            ..Settings::default()
        };
        assert_eq!(sync(&host, &settings), Ok(()));
        let p = dir.path().join("proc");
        std::fs::create_dir_all(&p).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(p.join("cpuinfo.orig"), CPU).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(p.join("meminfo.orig"), MEM).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(p.join("meminfo"), MEM).unwrap_or_else(|e| panic!("{e}"));
        use std::os::unix::fs::MetadataExt;
        let ino = std::fs::metadata(p.join("meminfo"))
            .map(|m| m.ino())
            .unwrap_or(0);
        assert_eq!(sync(&host, &settings), Ok(()));
        let mem = std::fs::read_to_string(p.join("meminfo")).unwrap_or_default();
        assert!(mem.contains("MemTotal:        2097152 kB"), "{mem}");
        assert_eq!(
            std::fs::metadata(p.join("meminfo"))
                .map(|m| m.ino())
                .unwrap_or(1),
            ino
        );
        let cpu = std::fs::read_to_string(p.join("cpuinfo")).unwrap_or_default();
        assert!(!cpu.contains("avx"), "{cpu}");
    }
}
