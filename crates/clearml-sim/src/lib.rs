//! ClearML/Trains server host simulator (docs/simulator.md): the release data and the services'
//! rules, the layout of a server host of any release (`clearml-sim init`, `compose-file`), and
//! the stand-in images that act as the real services inside real Docker test hosts (standin/).

mod apiserver;
mod containers;
mod elastic;
mod http;
mod init;
mod mongo;
mod redis;
mod releases;
mod serving;
pub mod standin;
mod state;

use state::{Host, Out};
use std::io::Write;
use std::process::ExitCode;

const USAGE: &str = "usage: clearml-sim <command>
  init --era VERSION [--root DIR] [--no-clearml] [--agent-key K --agent-secret S] [--host-ip IP]
       [--git-user U] [--git-pass P] [--no-dotenv] [--pin] [--serving PORT]
                            lay out a server of that release (files, compose file, .env, data)
                            under CLEARML_SIM_FSROOT; --serving also ClearML Serving's clone
  compose-file --era VERSION [--pin] [--root DIR]   print that release's compose file
  releases                  print the simulator's release table
  standin-images [--latest REPO=VERSION]... [--era VERSION]
                            the stand-in images (JSON): the registry's, or a host's of that release
  standin-store CACHE       the registry storage of every stand-in image, built once per build of
                            this binary under CACHE (its index.json, tls/); prints its path
  host-layout HOSTDIR --store STORE --cgroup NAME --runtime PATH
                            on the machine: what tests/support/docker-host.sh mounts in a real-Docker host
  host-install --store STORE --registry DIR --era VERSION [init options]
                            inside a real-Docker host: init, then the release's images pulled
                            as the site pulled them back then (DIR: the host's registry storage)
Inside a stand-in image (/etc/clearml-standin.json) it acts as the image's commands.
Environment: CLEARML_SIM_FSROOT (default /).";

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
                "--root" => o.root = Some(value(args, &mut i, &a)?),
                "--no-clearml" => o.no_clearml = true,
                "--agent-key" => o.agent_key = Some(value(args, &mut i, &a)?),
                "--agent-secret" => o.agent_secret = Some(value(args, &mut i, &a)?),
                "--host-ip" => o.host_ip = Some(value(args, &mut i, &a)?),
                "--git-user" => o.git_user = Some(value(args, &mut i, &a)?),
                "--git-pass" => o.git_pass = Some(value(args, &mut i, &a)?),
                "--no-dotenv" => o.no_dotenv = true,
                "--pin" => o.pin = true,
                "--serving" => {
                    let v = value(args, &mut i, &a)?;
                    o.serving = Some(v.parse().ok().filter(|p: &u16| *p > 0).ok_or_else(|| {
                        Out::fail(2, format!("clearml-sim: bad --serving port {v:?}"))
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

/// `host-install --store STORE --registry DIR [init options]`: `init` with the init options
/// (`--stopped` and `--exited` are the caller's: nothing is started here), then the images of
/// the release pulled as the site pulled them back then (standin/host.rs).
fn cmd_host_install(host: &Host, args: &[String]) -> Out {
    let (mut store, mut registry, mut era) = (None, None, None);
    let mut init = Vec::new();
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

/// A `--latest` value that is not `REPO=VERSION` of a server repository and a known release.
#[derive(Debug, thiserror::Error)]
#[error(
    "clearml-sim inject: --latest takes REPO=VERSION with REPO one of {repos} and VERSION a known server release (e.g. clearml/server=2.4.0), not {value:?}",
    repos = releases::SERVER_REPOS.join(", ")
)]
pub struct BadLatest {
    value: String,
}

/// `REPO=VERSION` of `standin-images --latest`: a server repository and a release the registry can hold.
fn parse_latest(v: &str) -> Result<(String, String), BadLatest> {
    let bad = || BadLatest {
        value: v.to_owned(),
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

fn cli(host: &Host, args: &[String]) -> Out {
    let sub = args.first().map(String::as_str).unwrap_or("");
    let rest = args.get(1..).unwrap_or(&[]);
    match sub {
        "init" => cmd_init(host, rest),
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
        "standin-images" => standin::images::main(rest, &parse_latest),
        "standin-store" => standin::host::standin_store(rest),
        "host-layout" => standin::host::host_layout(rest),
        "host-install" => cmd_host_install(host, rest),
        "-h" | "--help" | "help" => Out::ok(format!("{USAGE}\n")),
        _ => Out::fail(2, USAGE),
    }
}

/// The `clearml-sim` command (and, inside a stand-in image, the image's commands).
pub fn run() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // Inside a stand-in image (its /etc/clearml-standin.json) or as `clearml-standin`.
    if let Some(code) = standin::main(&args) {
        return code;
    }
    let rest = args.get(1..).unwrap_or(&[]);
    let out = cli(&Host::from_env(), rest);
    let _ = std::io::stdout().write_all(out.stdout.as_bytes());
    let _ = std::io::stderr().write_all(out.stderr.as_bytes());
    let _ = std::io::stdout().flush();
    ExitCode::from(u8::try_from(out.code.clamp(0, 255)).unwrap_or(1))
}
