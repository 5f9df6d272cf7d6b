//! Redis: `dump.rdb` with its real `REDIS00NN` header; a server refuses a newer RDB format
//! (6.2 cannot read RDB 12) and rewrites the header to its own format when it saves.

use crate::releases::rdb_version;
use crate::state::{Out, SimError, io_err, write_file};
use std::path::Path;

pub const DUMP: &str = "dump.rdb";

/// The RDB format version in the dump's header, if there is a dump.
pub fn rdb_of(dir: &Path) -> Result<Option<u32>, SimError> {
    let p = dir.join(DUMP);
    match std::fs::read(&p) {
        Ok(b) => {
            let head = b.get(..9).unwrap_or(&[]);
            let v = head
                .strip_prefix(b"REDIS")
                .and_then(|n| std::str::from_utf8(n).ok())
                .and_then(|n| n.parse::<u32>().ok());
            Ok(v)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(&p, e)),
    }
}

/// A dump written by RDB format `rdb` with a few keys of real bytes.
pub fn dump_bytes(rdb: u32) -> Vec<u8> {
    let mut b = format!("REDIS{rdb:04}").into_bytes();
    b.extend_from_slice(b"\xfa\x09redis-ver\x057.4.1\xfe\x00\xfb\x02\x00");
    b.extend_from_slice(b"\x00\x0bqueue_stats\x05hello\x00\x0cworker_stats\x05world");
    b.push(0xff);
    b.extend_from_slice(&[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
    b
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    Running(Vec<String>),
    Exited(i32, Vec<String>),
}

pub fn start(version: &str, dir: &Path) -> Result<Start, SimError> {
    let own = rdb_version(version);
    let p = dir.join(DUMP);
    match rdb_of(dir)? {
        Some(v) if v > own => Ok(Start::Exited(
            1,
            vec![
                format!("1:M 01 Jan 2025 00:00:00.000 * Redis version={version}, bits=64, commit=00000000, modified=0, pid=1, just started"),
                format!("1:M 01 Jan 2025 00:00:00.000 # Can't handle RDB format version {v}"),
                "1:M 01 Jan 2025 00:00:00.000 # Fatal error loading the DB: Invalid argument. Exiting.".into(),
            ],
        )),
        Some(_) => {
            let mut b = std::fs::read(&p).map_err(|e| io_err(&p, e))?;
            let head = format!("REDIS{own:04}").into_bytes();
            if b.len() >= 9 {
                b.splice(..9, head);
            }
            write_file(&p, &b)?;
            Ok(Start::Running(vec![
                format!("1:M 01 Jan 2025 00:00:00.000 * Redis version={version}, bits=64, commit=00000000, modified=0, pid=1, just started"),
                "1:M 01 Jan 2025 00:00:00.000 * DB loaded from disk: 0.001 seconds".into(),
                "1:M 01 Jan 2025 00:00:00.000 * Ready to accept connections tcp".into(),
            ]))
        }
        None => {
            write_file(&p, &dump_bytes(own))?;
            Ok(Start::Running(vec![format!("1:M 01 Jan 2025 00:00:00.000 * Redis version={version}, just started"), "1:M 01 Jan 2025 00:00:00.000 * Ready to accept connections tcp".into()]))
        }
    }
}

/// `redis-cli ...` inside the container.
pub fn cli(version: &str, args: &[String]) -> Out {
    let words: Vec<String> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(|a| a.to_ascii_lowercase())
        .collect();
    match words.first().map(String::as_str) {
        Some("ping") => Out::ok("PONG\n"),
        Some("info") => {
            let mut s = String::from("# Server\r\n");
            s.push_str(&format!("redis_version:{version}\r\nredis_git_sha1:00000000\r\nredis_mode:standalone\r\nos:Linux 6.1.0 x86_64\r\narch_bits:64\r\ntcp_port:6379\r\n"));
            if words.get(1).is_none_or(|w| w != "server") {
                s.push_str("\r\n# Persistence\r\nloading:0\r\nrdb_changes_since_last_save:0\r\n");
            }
            Out::ok(s)
        }
        Some("dbsize") => Out::ok("2\n"),
        _ => Out::fail(
            1,
            format!(
                "clearml-sim: unsupported redis-cli command: {}",
                args.join(" ")
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_62_refuses_rdb_12_and_74_rewrites_the_header() {
        let t = tempfile::tempdir().expect("tmp");
        write_file(&t.path().join(DUMP), &dump_bytes(9)).expect("w");
        assert!(matches!(
            start("7.4.1", t.path()).expect("s"),
            Start::Running(_)
        ));
        assert_eq!(rdb_of(t.path()).expect("r"), Some(12));
        match start("6.2.14", t.path()).expect("s") {
            Start::Exited(1, l) => {
                assert!(l.join("\n").contains("Can't handle RDB format version 12"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(rdb_of(t.path()).expect("r"), Some(12));
        let o = cli("6.2.14", &["INFO".into(), "server".into()]);
        assert!(o.stdout.contains("redis_version:6.2.14"));
        assert_eq!(cli("5.0.14", &["ping".into()]).stdout, "PONG\n");
    }
}
