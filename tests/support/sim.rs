//! Test harness for the ClearML host simulator: a temp host (CLEARML_SIM_FSROOT/STATE) whose bin
//! dir has `docker`, `docker-compose`, `curl`, `wget` symlinks to the built `clearml-sim`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const SIM: &str = env!("CARGO_BIN_EXE_clearml-sim");

pub struct SimHost {
    pub tmp: tempfile::TempDir,
    pub fsroot: PathBuf,
    pub state: PathBuf,
    pub bin: PathBuf,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl SimHost {
    pub fn new() -> SimHost {
        let tmp = tempfile::tempdir().expect("tempdir");
        let fsroot = tmp.path().join("root");
        let state = tmp.path().join("state");
        let bin = tmp.path().join("bin");
        for d in [&fsroot, &state, &bin] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        for n in ["docker", "docker-compose", "curl", "wget", "clearml-sim"] {
            std::os::unix::fs::symlink(SIM, bin.join(n)).expect("symlink");
        }
        SimHost {
            tmp,
            fsroot,
            state,
            bin,
        }
    }

    /// Real path of a host path.
    pub fn path(&self, p: &str) -> PathBuf {
        self.fsroot.join(p.trim_start_matches('/'))
    }

    /// `clearml-sim ARGS`.
    pub fn sim(&self, args: &[&str]) -> Run {
        let o = Command::new(SIM)
            .args(args)
            .env("CLEARML_SIM_FSROOT", &self.fsroot)
            .env("CLEARML_SIM_STATE", &self.state)
            .output()
            .expect("run clearml-sim");
        Run::from(o)
    }

    /// Run a shell script as on the host: PATH has the simulated commands, `$R` is the fs root,
    /// `$T` a scratch dir, and the working directory is host path `cwd`.
    pub fn sh_in(&self, cwd: &str, script: &str, env: &[(&str, &str)]) -> Run {
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(script)
            .current_dir(self.path(cwd))
            .env("PATH", path)
            .env("CLEARML_SIM_FSROOT", &self.fsroot)
            .env("CLEARML_SIM_STATE", &self.state)
            .env("R", &self.fsroot)
            .env("T", self.tmp.path());
        for (k, v) in env {
            c.env(k, v);
        }
        Run::from(c.output().expect("run sh"))
    }

    pub fn sh(&self, script: &str) -> Run {
        self.sh_in("/", script, &[])
    }

    pub fn inspect(&self, name: &str, fmt: &str) -> String {
        let r = self.sh(&format!("docker inspect -f '{fmt}' {name}"));
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout.trim().to_string()
    }

    pub fn json(&self, host_path: &str) -> serde_json::Value {
        let t = std::fs::read_to_string(self.path(host_path)).expect(host_path);
        serde_json::from_str(&t).expect("json")
    }

    /// Map of relative path → bytes of every file under a real dir.
    pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
        let mut m = std::collections::BTreeMap::new();
        fn walk(base: &Path, d: &Path, m: &mut std::collections::BTreeMap<String, Vec<u8>>) {
            let Ok(rd) = std::fs::read_dir(d) else { return };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(base, &p, m);
                } else {
                    let rel = p
                        .strip_prefix(base)
                        .map(|r| r.display().to_string())
                        .unwrap_or_default();
                    m.insert(rel, std::fs::read(&p).unwrap_or_default());
                }
            }
        }
        walk(dir, dir, &mut m);
        m
    }
}
