//! Trains Server 0.16's Elasticsearch 5 → 7 migration script (`elastic_upgrade.py` from
//! `trains-server-0.16.0-migration.zip`, clearml-upgrade.md §7.1), simulated by its effects:
//! the real script runs an ES 5 and an ES 7 container and reindexes every index from one to the
//! other. Here the script in the zip (written by the tests) runs `clearml-sim es7-migrate`.
//!
//! What it refuses, as the real one would fail: docker not usable by the caller, the ES 5 or
//! ES 7 image not pullable, source data in use by a running container (the server must be
//! down), a source without Elasticsearch 5 data, a target that already holds data, and too
//! little free space (the docs ask for 30% plus two to three times the data).

use std::path::{Path, PathBuf};

use crate::containers;
use crate::docker;
use crate::elastic::{self, EsData};
use crate::init::chown_tree;
use crate::releases::vnum;
use crate::state::{Host, Out, State, Status, now, rfc3339, write_file};

const ES5_IMAGE: &str = "docker.elastic.co/elasticsearch/elasticsearch:5.6.16";
const ES7_IMAGE: &str = "docker.elastic.co/elasticsearch/elasticsearch:7.6.2";

struct Args {
    script_dir: PathBuf,
    source: String,
    target: String,
    backup: bool,
}

fn parse(host: &Host, args: &[String]) -> Result<Args, Out> {
    let mut a = Args {
        script_dir: host.cwd.clone(),
        source: "/opt/trains/data/elastic".into(),
        target: "/opt/trains/data/elastic_7".into(),
        backup: true,
    };
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        let mut value = || {
            i += 1;
            args.get(i).cloned().ok_or_else(|| {
                Out::fail(
                    2,
                    format!("elastic_upgrade.py: error: argument {flag}: expected one argument"),
                )
            })
        };
        match flag {
            "--script-dir" => a.script_dir = PathBuf::from(value()?),
            "-s" | "--source" => a.source = value()?,
            "-t" | "--target" => a.target = value()?,
            "-n" | "--no-backup" => a.backup = false,
            "-p" | "--parallel" => {}
            other => {
                return Err(Out::fail(
                    2,
                    format!(
                        "usage: elastic_upgrade.py [-h] [-s SOURCE] [-t TARGET] [-n] [-p]\nelastic_upgrade.py: error: unrecognized arguments: {other}"
                    ),
                ));
            }
        }
        i += 1;
    }
    Ok(a)
}

fn tree_bytes(p: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// `clearml-sim es7-migrate [--script-dir DIR] [-s SRC] [-t DST] [-n] [-p]`.
pub fn main(host: &Host, args: &[String]) -> Out {
    let a = match parse(host, args) {
        Ok(a) => a,
        Err(o) => return o,
    };
    match host.with_state(|st| migrate(host, st, &a)) {
        Ok(out) => out,
        Err(e) => e.into(),
    }
}

fn migrate(host: &Host, st: &mut State, a: &Args) -> Out {
    if !docker::caller_may_use(st) {
        return Out::fail(1, format!("docker: {}", docker::denied("containers/json")));
    }
    // `docker run` pulls only what is not local (the old server left its ES 5 image).
    for image in [ES5_IMAGE, ES7_IMAGE] {
        if st.image_by_ref(image).is_some() {
            continue;
        }
        if let Err(m) = containers::pull(st, image) {
            return Out::fail(1, format!("Failed pulling {image}: {m}"));
        }
    }
    let source = host.path(&a.source);
    let target = host.path(&a.target);
    let busy = st.containers.values().find(|c| {
        c.status == Status::Running
            && c.mounts
                .iter()
                .any(|m| host.path(&m.source) == source || host.path(&m.source) == target)
    });
    if let Some(c) = busy {
        return Out::fail(
            1,
            format!(
                "Error: {} is in use by the running container {} (stop the server first)",
                a.source, c.name
            ),
        );
    }
    let data = match elastic::load(&source) {
        Ok(Some(d)) if vnum(&d.version).0 == 5 => d,
        Ok(_) => {
            return Out::fail(
                1,
                format!("Error: {} does not contain Elasticsearch 5 data", a.source),
            );
        }
        Err(e) => return e.into(),
    };
    if std::fs::read_dir(&target).is_ok_and(|mut d| d.next().is_some()) {
        return Out::fail(1, format!("Error: target folder {} is not empty", a.target));
    }
    let need_mb = tree_bytes(&source) * 3 / 1_048_576 + 1;
    if st.settings.free_mb < need_mb {
        return Out::fail(
            1,
            format!(
                "Error: not enough free disk space: {} MB free, {need_mb} MB needed",
                st.settings.free_mb
            ),
        );
    }
    let stamp = rfc3339(now())
        .get(..19)
        .unwrap_or_default()
        .replace(['-', ':'], "")
        .replace('T', "_");
    let mut out = Out::default();
    let mut log = Vec::new();
    let migrated = EsData {
        version: "7.6.2".into(),
        indices: data.indices.clone(),
    };
    let written =
        elastic::create_files(&target, "7.6.2").and_then(|()| elastic::save(&target, &migrated));
    if let Err(e) = written {
        return e.into();
    }
    if !chown_tree(&target, st.settings.es_uid) {
        return Out::fail(1, format!("Error: cannot chown {}", a.target));
    }
    for (index, docs) in &data.indices {
        log.push(format!("Reindexed {index}: {docs} documents"));
    }
    if a.backup {
        let renamed = format!("{}_migrated_{stamp}", a.source.trim_end_matches('/'));
        if let Err(e) = std::fs::rename(&source, host.path(&renamed)) {
            return Out::fail(1, format!("Error: cannot rename {}: {e}", a.source));
        }
        let line = format!("Renaming the source directory {} to {renamed}.", a.source);
        out.line(&line);
        log.push(line);
    }
    out.line("Upgrade completed.");
    log.push("Upgrade completed.".into());
    let log_path = a.script_dir.join(format!("upgrade_to_7_{stamp}.log"));
    let _ = write_file(&log_path, (log.join("\n") + "\n").as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(dir: &Path) -> Host {
        Host {
            fsroot: dir.to_path_buf(),
            state_dir: dir.join("state"),
            cwd: dir.join("opt/trains/.clearfleet"),
            env: Default::default(),
        }
    }

    fn es5(h: &Host) {
        let src = h.path("/opt/trains/data/elastic");
        elastic::create_files(&src, "5.6.16").unwrap_or_else(|e| panic!("{e}"));
        let d = EsData {
            version: "5.6.16".into(),
            indices: elastic::sample_indices(1),
        };
        elastic::save(&src, &d).unwrap_or_else(|e| panic!("{e}"));
    }

    fn run(h: &Host, st: &mut State, args: &[&str]) -> Out {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        match parse(h, &args) {
            Ok(a) => migrate(h, st, &a),
            Err(o) => o,
        }
    }

    #[test]
    fn migrates_every_index_and_keeps_the_source_as_migrated() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let h = host(dir.path());
        es5(&h);
        let mut st = State::default();
        st.settings.es_uid = rustix::process::geteuid().as_raw();
        let out = run(&h, &mut st, &[]);
        assert_eq!(out.code, 0, "{out:?}");
        assert!(out.stdout.ends_with("Upgrade completed.\n"), "{out:?}");
        assert!(out.stdout.starts_with(
            "Renaming the source directory /opt/trains/data/elastic to /opt/trains/data/elastic_migrated_"
        ));
        let new = elastic::load(&h.path("/opt/trains/data/elastic_7"))
            .ok()
            .flatten()
            .unwrap_or_default();
        assert_eq!(new.version, "7.6.2");
        assert_eq!(new.indices, elastic::sample_indices(1));
        assert!(!h.path("/opt/trains/data/elastic").exists());
        // A second run has no ES 5 data left to migrate.
        let again = run(&h, &mut st, &[]);
        assert_ne!(again.code, 0);
        assert!(
            again
                .stderr
                .contains("does not contain Elasticsearch 5 data")
        );
    }

    #[test]
    fn refuses_a_full_target_a_missing_image_and_a_small_disk() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let h = host(dir.path());
        es5(&h);
        let mut st = State::default();
        st.inject.missing_tags.push(ES7_IMAGE.into());
        let out = run(&h, &mut st, &[]);
        assert!(out.stderr.contains("Failed pulling"), "{out:?}");
        st.inject.missing_tags.clear();
        st.settings.free_mb = 0;
        let out = run(&h, &mut st, &[]);
        assert!(out.stderr.contains("not enough free disk space"), "{out:?}");
        st.settings.free_mb = 100_000;
        write_file(&h.path("/opt/trains/data/elastic_7/nodes/x"), b"x")
            .unwrap_or_else(|e| panic!("{e}"));
        let out = run(&h, &mut st, &["-t", "/opt/trains/data/elastic_7"]);
        assert!(out.stderr.contains("is not empty"), "{out:?}");
        assert!(h.path("/opt/trains/data/elastic/.sim-es.json").exists());
    }
}
