//! ClearML/Trains server host simulator: one multi-call binary that acts as `docker`,
//! `docker-compose`, `curl` and `wget` (by argv[0]) or as `clearml-sim SUBCOMMAND` for test setup.

mod apiserver;
mod compose;
mod compose_cli;
mod containers;
mod docker;
mod elastic;
mod es7_migration;
mod exec;
mod gotemplate;
mod http;
mod init;
mod inspect;
mod interpolate;
mod mongo;
mod procfs;
mod redis;
mod releases;
mod serving;
mod standin;
mod state;
mod sysctl;

use state::{Host, Out};
use std::io::Write;
use std::process::ExitCode;

const USAGE: &str = "usage: clearml-sim <command>
  init --era VERSION [--stopped|--exited] [--root DIR] [--compose v1|v2|both] [--no-clearml] [--no-avx]
       [--agent-key K --agent-secret S] [--host-ip IP] [--git-user U] [--git-pass P]
       [--docker-access root|group|none] [--no-dotenv] [--pin] [--free-mb N] [--memory-mb N]
       [--serving PORT]     also ClearML Serving (upstream's compose file), inference published on PORT
  inject [--broken-tag TAG]... [--missing-tag TAG]... [--fill-disk-on-down DIR] [--free-mb N] [--max-map-count N] [--chown-data UID [--root DIR]]
         [--avx on|off] [--memory-mb N] [--compose v1|v2|both] [--docker-access root|group|none]
         [--latest REPO=VERSION]...   the registry's REPO:latest is that release from now on (e.g. clearml/server=2.4.0)
         [--clear]
  es7-migrate [--script-dir DIR] [-s SRC] [-t DST] [-n] [-p]
                            Trains 0.16's elastic_upgrade.py, by its effects (ES 5 → 7 data)
  show                      print the daemon state (JSON)
  compose-file --era VERSION [--pin] [--root DIR]   print that release's compose file
  links DIR                 create docker/docker-compose/curl/wget symlinks to this binary in DIR
  releases                  print the simulator's release table
  standin-images [--latest REPO=VERSION]... [--era VERSION]
                            the stand-in images (JSON): the registry's, or a host's of that release
  standin-store CACHE       the registry storage of every stand-in image, built once per build of
                            this binary under CACHE (its index.json, tls/); prints its path
  host-layout HOSTDIR --store STORE --cgroup NAME --runtime PATH
                            on the machine: what tests/support/docker-host.sh mounts in a real-Docker host
  host-install --store STORE --registry DIR --era VERSION [init options]
                            inside a real-Docker host: init --stopped, then the release's images pulled
                            as the site pulled them back then (DIR: the host's registry storage)
Run as docker, docker-compose, curl or wget (symlink name) to simulate those commands.
Environment: CLEARML_SIM_FSROOT (default /), CLEARML_SIM_STATE (default FSROOT/var/lib/clearml-sim)";

fn value(args: &[String], i: &mut usize, flag: &str) -> Result<String, Out> {
    *i += 1;
    args.get(*i)
        .cloned()
        .ok_or_else(|| Out::fail(2, format!("clearml-sim: {flag} needs a value")))
}

fn cmd_init(host: &Host, args: &[String]) -> Out {
    let mut o = init::InitOpts::default();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].clone();
        let r: Result<(), Out> = (|| {
            match a.as_str() {
                "--era" => o.era = value(args, &mut i, &a)?,
                "--stopped" => o.stopped = true,
                "--exited" => o.exited = true,
                "--root" => o.root = Some(value(args, &mut i, &a)?),
                "--compose" => o.compose = Some(value(args, &mut i, &a)?),
                "--no-clearml" => o.no_clearml = true,
                "--no-avx" => o.no_avx = true,
                "--agent-key" => o.agent_key = Some(value(args, &mut i, &a)?),
                "--agent-secret" => o.agent_secret = Some(value(args, &mut i, &a)?),
                "--host-ip" => o.host_ip = Some(value(args, &mut i, &a)?),
                "--git-user" => o.git_user = Some(value(args, &mut i, &a)?),
                "--git-pass" => o.git_pass = Some(value(args, &mut i, &a)?),
                "--docker-access" => o.docker_access = Some(value(args, &mut i, &a)?),
                "--no-dotenv" => o.no_dotenv = true,
                "--pin" => o.pin = true,
                "--serving" => {
                    let v = value(args, &mut i, &a)?;
                    o.serving = Some(v.parse().ok().filter(|p: &u16| *p > 0).ok_or_else(|| {
                        Out::fail(2, format!("clearml-sim: bad --serving port {v:?}"))
                    })?);
                }
                "--memory-mb" => {
                    let v = value(args, &mut i, &a)?;
                    o.memory_mb = Some(v.parse().map_err(|_| {
                        Out::fail(2, format!("clearml-sim: bad --memory-mb {v:?}"))
                    })?);
                }
                "--free-mb" => {
                    let v = value(args, &mut i, &a)?;
                    o.free_mb =
                        Some(v.parse().map_err(|_| {
                            Out::fail(2, format!("clearml-sim: bad --free-mb {v:?}"))
                        })?);
                }
                other => {
                    return Err(Out::fail(
                        2,
                        format!("clearml-sim init: unknown option {other:?}\n{USAGE}"),
                    ));
                }
            }
            Ok(())
        })();
        if let Err(e) = r {
            return e;
        }
        i += 1;
    }
    if o.era.is_empty() && !o.no_clearml {
        return Out::fail(2, format!("clearml-sim init: --era is required\n{USAGE}"));
    }
    init::init(host, &o)
}

/// `host-install --store STORE --registry DIR [init options]`: `init --stopped` with the init
/// options (`--stopped` and `--exited` are dropped: nothing is started), then the images of the
/// release pulled as the site pulled them back then (standin/host.rs).
fn cmd_host_install(host: &Host, args: &[String]) -> Out {
    let (mut store, mut registry, mut era) = (None, None, None);
    let mut init = vec!["--stopped".to_owned()];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let slot = match a.as_str() {
            "--store" => &mut store,
            "--registry" => &mut registry,
            "--era" => &mut era,
            "--stopped" | "--exited" => continue,
            _ => {
                init.push(a.clone());
                continue;
            }
        };
        let Some(v) = it.next() else {
            return Out::fail(2, format!("clearml-sim host-install: {a} needs a value"));
        };
        *slot = Some(v.clone());
    }
    let (Some(store), Some(registry), Some(era)) = (store, registry, era) else {
        return Out::fail(
            2,
            format!(
                "clearml-sim host-install: --store, --registry and --era are required\n{USAGE}"
            ),
        );
    };
    init.extend(["--era".to_owned(), era.clone()]);
    let mut out = cmd_init(host, &init);
    if out.code != 0 {
        return out;
    }
    let mut log = Vec::new();
    let r = standin::host::pull_as_then(
        std::path::Path::new(&store),
        std::path::Path::new(&registry),
        &era,
        &mut log,
    );
    for l in log {
        out.eline(&l);
    }
    if let Err(m) = r {
        out.eline(&format!("clearml-sim host-install: {m}"));
        out.code = 1;
    }
    out
}

fn cmd_inject(host: &Host, args: &[String]) -> Out {
    let mut i = 0;
    let mut broken = Vec::new();
    let mut missing = Vec::new();
    let mut free: Option<u64> = None;
    let mut chown: Option<u32> = None;
    let mut root: Option<String> = None;
    let mut avx: Option<bool> = None;
    let mut compose: Option<String> = None;
    let mut access: Option<String> = None;
    let mut clear = false;
    let mut fill: Option<String> = None;
    let mut max_map: Option<u64> = None;
    let mut memory: Option<u64> = None;
    let mut latest: Vec<(String, String)> = Vec::new();
    while i < args.len() {
        let a = args[i].clone();
        let r: Result<(), Out> = (|| {
            match a.as_str() {
                "--broken-tag" => broken.push(value(args, &mut i, &a)?),
                "--missing-tag" => missing.push(value(args, &mut i, &a)?),
                "--latest" => {
                    let v = value(args, &mut i, &a)?;
                    latest.push(parse_latest(&v).map_err(|m| Out::fail(2, m))?);
                }
                "--fill-disk-on-down" => fill = Some(value(args, &mut i, &a)?),
                "--free-mb" => {
                    free = Some(
                        value(args, &mut i, &a)?
                            .parse()
                            .map_err(|_| Out::fail(2, "clearml-sim: bad --free-mb"))?,
                    )
                }
                "--memory-mb" => {
                    memory = Some(
                        value(args, &mut i, &a)?
                            .parse()
                            .map_err(|_| Out::fail(2, "clearml-sim: bad --memory-mb"))?,
                    )
                }
                "--max-map-count" => {
                    max_map = Some(
                        value(args, &mut i, &a)?
                            .parse()
                            .map_err(|_| Out::fail(2, "clearml-sim: bad --max-map-count"))?,
                    )
                }
                "--chown-data" => {
                    chown = Some(
                        value(args, &mut i, &a)?
                            .parse()
                            .map_err(|_| Out::fail(2, "clearml-sim: bad --chown-data"))?,
                    )
                }
                "--root" => root = Some(value(args, &mut i, &a)?),
                "--avx" => avx = Some(value(args, &mut i, &a)? == "on"),
                "--compose" => compose = Some(value(args, &mut i, &a)?),
                "--docker-access" => access = Some(value(args, &mut i, &a)?),
                "--clear" => clear = true,
                other => {
                    return Err(Out::fail(
                        2,
                        format!("clearml-sim inject: unknown option {other:?}\n{USAGE}"),
                    ));
                }
            }
            Ok(())
        })();
        if let Err(e) = r {
            return e;
        }
        i += 1;
    }
    if let Some(uid) = chown {
        let roots: Vec<String> = match &root {
            Some(r) => vec![r.clone()],
            None => vec!["/opt/clearml".into(), "/opt/trains".into()],
        };
        for r in roots {
            let p = host.path(&format!("{}/data", r.trim_end_matches('/')));
            if p.exists() && !init::chown_tree(&p, uid) {
                return Out::fail(1, format!("clearml-sim: cannot chown {}", p.display()));
            }
        }
    }
    let r = host.with_state(|st| -> Result<(), String> {
        if clear {
            st.inject = state::Injections::default();
        }
        st.inject.broken_tags.extend(broken);
        st.inject.missing_tags.extend(missing);
        st.inject.latest.extend(latest);
        if fill.is_some() {
            st.inject.fill_disk_on_down = fill;
        }
        if let Some(f) = free {
            st.settings.free_mb = f;
        }
        if let Some(m) = max_map {
            st.settings.max_map_count = m;
        }
        if let Some(a) = avx {
            st.settings.avx = a;
        }
        if memory.is_some() {
            st.settings.memory_mb = memory;
        }
        match compose.as_deref() {
            None => {}
            Some("v1") => (st.settings.compose_v1, st.settings.compose_v2) = (true, false),
            Some("v2") => (st.settings.compose_v1, st.settings.compose_v2) = (false, true),
            Some("both") => (st.settings.compose_v1, st.settings.compose_v2) = (true, true),
            Some(o) => return Err(format!("--compose must be v1, v2 or both, not {o:?}")),
        }
        match access.as_deref() {
            None => {}
            Some("root") => st.settings.docker_access = state::Access::Root,
            Some("group") => st.settings.docker_access = state::Access::Group,
            Some("none") => st.settings.docker_access = state::Access::None,
            Some(o) => {
                return Err(format!(
                    "--docker-access must be root, group or none, not {o:?}"
                ));
            }
        }
        Ok(())
    });
    let r = r.map(|r| {
        r.and_then(|()| {
            let st = host.load().map_err(|e| e.to_string())?;
            procfs::sync(host, &st.settings)
        })
    });
    match r {
        Ok(Ok(())) => Out::default(),
        Ok(Err(m)) => Out::fail(2, format!("clearml-sim inject: {m}")),
        Err(e) => e.into(),
    }
}

/// `REPO=VERSION` of `inject --latest`: a server repository and a release the registry can hold.
fn parse_latest(v: &str) -> Result<(String, String), String> {
    let bad = || {
        format!(
            "clearml-sim inject: --latest takes REPO=VERSION with REPO one of {} and VERSION a known server release (e.g. clearml/server=2.4.0), not {v:?}",
            releases::SERVER_REPOS.join(", ")
        )
    };
    let (repo, ver) = v.split_once('=').ok_or_else(bad)?;
    let (repo, tag) = releases::split_ref(repo);
    if tag != "latest" || !releases::SERVER_REPOS.contains(&repo.as_str()) {
        return Err(bad());
    }
    let rel = releases::find_image(ver.trim())
        .filter(|r| r.version == ver.trim())
        .ok_or_else(bad)?;
    Ok((repo, rel.version.to_string()))
}

fn cmd_links(host: &Host, args: &[String]) -> Out {
    let Some(dir) = args.first() else {
        return Out::fail(2, "clearml-sim links: DIR is required");
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return Out::fail(1, format!("clearml-sim: cannot find own executable: {e}")),
    };
    let st = match host.load() {
        Ok(s) => s,
        Err(e) => return e.into(),
    };
    let dir = std::path::PathBuf::from(dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return Out::fail(1, format!("clearml-sim: {}: {e}", dir.display()));
    }
    let mut names = vec!["curl", "wget", "sysctl", "clearml-sim"];
    if st.settings.docker_access != state::Access::None {
        names.push("docker");
        if st.settings.compose_v1 {
            names.push("docker-compose");
        }
    }
    for n in [
        "docker",
        "docker-compose",
        "curl",
        "wget",
        "sysctl",
        "clearml-sim",
    ] {
        let _ = std::fs::remove_file(dir.join(n));
    }
    for n in names {
        if let Err(e) = std::os::unix::fs::symlink(&exe, dir.join(n)) {
            return Out::fail(1, format!("clearml-sim: link {n}: {e}"));
        }
    }
    Out::default()
}

fn cli(host: &Host, args: &[String]) -> Out {
    let sub = args.first().map(String::as_str).unwrap_or("");
    let rest = args.get(1..).unwrap_or(&[]);
    match sub {
        "init" => cmd_init(host, rest),
        "inject" => cmd_inject(host, rest),
        "show" => match host.load() {
            Ok(s) => Out::ok(serde_json::to_string_pretty(&s).unwrap_or_default() + "\n"),
            Err(e) => e.into(),
        },
        "compose-file" => {
            let mut era = None;
            let mut pin = false;
            let mut root = None;
            let mut i = 0;
            while i < rest.len() {
                match rest[i].as_str() {
                    "--era" => {
                        i += 1;
                        era = rest.get(i).cloned();
                    }
                    "--root" => {
                        i += 1;
                        root = rest.get(i).cloned();
                    }
                    "--pin" => pin = true,
                    other => {
                        return Out::fail(
                            2,
                            format!("clearml-sim compose-file: unknown option {other:?}"),
                        );
                    }
                }
                i += 1;
            }
            match era.as_deref().and_then(releases::find) {
                Some(r) => Out::ok(init::compose_yaml(r.version, root.as_deref(), pin)),
                None => Out::fail(
                    2,
                    "clearml-sim compose-file: --era VERSION (a known release) is required",
                ),
            }
        }
        "links" => cmd_links(host, rest),
        "releases" => {
            let mut out = Out::default();
            for r in releases::RELEASES {
                let s = releases::stack(r.version);
                out.line(&format!(
                    "{:<8} build {:<4} api {:<5} {}  {}  {}  {}",
                    r.version,
                    r.build,
                    r.api,
                    releases::compose_server_image(r.version, false),
                    s.es_image,
                    s.mongo_image,
                    s.redis_image.unwrap_or("-")
                ));
            }
            for r in releases::IMAGE_ONLY {
                out.line(&format!(
                    "{:<8} build {:<4} api {:<5} image only (no compose file): inject --latest {}={}",
                    r.version,
                    r.build,
                    r.api,
                    releases::stack(r.version).server_repo,
                    r.version
                ));
            }
            out
        }
        "docker" => docker::main(host, rest),
        "es7-migrate" => es7_migration::main(host, rest),
        "standin-images" => standin::images::main(rest, &parse_latest),
        "standin-store" => standin::host::standin_store(rest),
        "host-layout" => standin::host::host_layout(rest),
        "host-install" => cmd_host_install(host, rest),
        "docker-compose" => compose_v1(host, rest),
        "curl" => http::curl(host, rest),
        "wget" => http::wget(host, rest),
        "-h" | "--help" | "help" => Out::ok(format!("{USAGE}\n")),
        _ => Out::fail(2, USAGE),
    }
}

fn compose_v1(host: &Host, args: &[String]) -> Out {
    let st = match host.load() {
        Ok(s) => s,
        Err(e) => return e.into(),
    };
    if !st.settings.compose_v1 {
        return Out::fail(127, "docker-compose: command not found");
    }
    let needs_daemon = !args
        .iter()
        .any(|a| a == "version" || a == "config" || a == "--version" || a == "-v");
    if needs_daemon && !docker_ok(&st) {
        return Out::fail(
            1,
            format!(
                "ERROR: Couldn't connect to Docker daemon at http+docker://localhost - is it running?\n\nIf it's at a non-standard location, specify the URL with the DOCKER_HOST environment variable.\n({})",
                docker::denied("containers/json")
            ),
        );
    }
    compose_cli::main(host, args, interpolate::Flavour::V1)
}

fn docker_ok(st: &state::State) -> bool {
    let uid = rustix::process::geteuid().as_raw();
    if uid == 0 {
        return st.settings.docker_access != state::Access::None;
    }
    let mut gids: Vec<u32> = rustix::process::getgroups()
        .map(|g| g.into_iter().map(|x| x.as_raw()).collect())
        .unwrap_or_default();
    gids.push(rustix::process::getegid().as_raw());
    let gid = std::fs::read_to_string("/etc/group").ok().and_then(|t| {
        t.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&"docker"))
                .then(|| f.get(2).and_then(|g| g.parse().ok()))
                .flatten()
        })
    });
    docker::may_access(st.settings.docker_access, uid, &gids, gid)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // Inside a stand-in image (its /etc/clearml-standin.json) or as `clearml-standin`.
    if let Some(code) = standin::main(&args) {
        return code;
    }
    let prog = args
        .first()
        .map(|a| {
            std::path::Path::new(a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    let rest = args.get(1..).unwrap_or(&[]);
    let host = Host::from_env();
    let out = match prog.as_str() {
        "docker" => docker::main(&host, rest),
        "docker-compose" => compose_v1(&host, rest),
        "curl" => http::curl(&host, rest),
        "wget" => http::wget(&host, rest),
        "sysctl" => sysctl::main(&host, rest),
        _ => cli(&host, rest),
    };
    let _ = std::io::stdout().write_all(out.stdout.as_bytes());
    let _ = std::io::stderr().write_all(out.stderr.as_bytes());
    let _ = std::io::stdout().flush();
    ExitCode::from(u8::try_from(out.code.clamp(0, 255)).unwrap_or(1))
}
