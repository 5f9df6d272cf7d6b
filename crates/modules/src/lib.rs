//! The host-touching modules: typed arguments, a query phase (does the host need a change?)
//! and an apply phase that runs only outside check mode, so `changed` is honest, a second run
//! reports nothing changed and `--check` changes nothing.
//!
//! # Layout
//! - [`remote`]: the [`Remote`] trait, the only way a module reaches a host (one command line
//!   plus optional stdin per round trip). [`LocalRemote`] implements it with the local shell.
//! - [`context`], [`result`]: what a module gets ([`ModuleContext`]) and gives back
//!   ([`ModuleResult`], which [`ModuleResult::to_registered`] turns into Ansible's dict).
//! - [`args`]: argument checking with Ansible's aliases and coercions; [`probe`]: the shell
//!   snippets every module shares (stat + checksum probe, atomic write).
//! - One file per module.
//!
//! # Shell safety
//! Every value placed in a remote command line goes through [`clearfleet_base::shell::quote`] (paths
//! through [`probe::qpath`], which also guards a leading `-`). File contents, scripts, request
//! bodies, headers and credentials travel on stdin, never in the command line. Exceptions are
//! code by design: `shell`/`raw` commands and `validate` commands, which the playbook author
//! writes as shell code.
//!
//! # Output limit
//! What a command prints is kept within the output limit per stream (`--max-output`, the
//! `clearfleet_max_output` variable; see [`clearfleet_base::capture`]): past it, its first
//! and last halves and the count of bytes dropped between them. `command`, `shell`, `raw` and
//! `script` return that cut output (`stdout_dropped`/`stderr_dropped` say how much is
//! missing) and fail unless the task says otherwise (`failed_when`, `ignore_errors`). Every
//! other module reads its command's output as data and never takes a cut one for the whole:
//! `slurp` of a file, `lineinfile` of the file it edits, `uri` of a response body larger than
//! the limit fail (with no content) and change nothing. `fetch` writes the file straight to
//! disk as it arrives, whatever its size.
//!
//! # Round trips per module (Q = query, A = apply; A never runs in check mode)
//! | module | round trips |
//! |---|---|
//! | command, shell, script | 1 (chdir, creates/removes and the command in one script) |
//! | raw | 1 (the text itself) |
//! | copy, template | Q 1 (stat + sha1, + content with `--diff`); A 1 (write) or 1 (chmod/chown) |
//! | file | Q 1 (+1 `find` with `recurse`); A 1 (create + chmod/chown together) |
//! | lineinfile, blockinfile, replace | Q 1 (stat + content); A 1 (write) or 1 (chmod/chown) |
//! | stat | 1 (+1 `file --mime-type` with `get_mime`, the default, when the path exists) |
//! | slurp, wait_for, ping, getent | 1 |
//! | find | 1 (`find` + `stat`); +1 for `contains` or `get_checksum` (contents, checksums) |
//! | fetch | Q 1 (stat + sha1); A 1 (`cat`) |
//! | get_url | Q 1 (stat + checksum of dest); A 1 (download, verify, compare, move) |
//! | uri | 1 (+1 with creates/removes) |
//! | tempfile | A 1 (`mktemp`) + 1 (stat); skipped in check mode |
//! | group, user | Q 1 (`getent`); A 1 (`groupadd`/`useradd`/... and `getent` again) |
//! | service, systemd, sysvinit | 1 look (tools, init script, links, locale), then 1 per command the Python module runs |
//! | command, shell with `async` | 1 to start the job, then 1 per `poll` (see [`async_job`]) |
//! | async_status | 1 (the job's files read, or removed) |
//! | unarchive | Q 1 (the archive sent, handlers tried, the check); A 1 (extract, mode/owner/group, clean up) |
//! | pip | 1 (virtualenv, pip found, freeze before/after, the pip command; check mode: the listing) |
//! | dnf | Q 1 (`rpm -q`, `dnf repoquery`, the cache); A 1 (`dnf shell`: the marks and `run`, `--assumeno` in check mode) |
//!
//! # Known differences from Ansible
//! - Times (`start`/`end` of command) are the controller's, in UTC.
//! - `command` runs the words through `exec` in `/bin/sh` (each word quoted): `$VAR`, `${VAR}`
//!   and a leading `~` expand on the host as Ansible's `expand_argument_vars`; an unset
//!   `${VAR}` stays as `$VAR`. A command killed by a signal may report rc 128+N.
//! - `creates`/`removes` globs honour `*` and `?` only (not `[...]`).
//! - `script` arguments are quoted (Ansible hands them to the remote shell unquoted).
//! - `copy`: `~`/`$VAR` are expanded in `remote_src` paths only; with `remote_src`, a link at
//!   dest is replaced, not followed (`follow`); `template`: the engine renders.
//! - `file`: symbolic modes with `recurse` always report a change; `touch` with an explicit
//!   time stamp always reports a change; `*_time_format` only the default.
//! - `lineinfile`, `blockinfile`, `replace`: Rust `regex` syntax (no look-around or pattern
//!   backreferences; `\Z` is mapped); the diff is one entry (Ansible returns content and
//!   attribute diffs). `replace`: `encoding` utf-8 only.
//! - `get_url`: `checksum` URLs and Content-Disposition file names (directory dest) are not
//!   supported; the `wget` fallback needs GNU wget.
//! - `uri`: needs `curl` on the host; `form-multipart` guesses types from Python's built-in
//!   table only (not the host's `/etc/mime.types`); the SELinux file arguments and
//!   a cookie jar across redirects are not supported (`cookies` comes from the last response's
//!   `Set-Cookie` headers only, without `Path`/`Domain`); basic auth is
//!   sent without waiting for a challenge; skipped in check mode (as Ansible's).
//! - `wait_for`: `search_regex` is matched by `grep -E` on the host (common Python escapes
//!   translated); no `drained`, no `search_regex` on ports; the poll loop has 1 s resolution.
//! - `fetch`: no `..` climbing out of `dest`.
//! - `service`: Linux only (service.py's `LinuxService`), without upstart; `systemd` and
//!   `sysvinit`: as their modules, each command a round trip.
//! - `dnf`: the dnf 4 CLI (`rpm -q`, `dnf repoquery`, `dnf shell`) in place of the dnf Python
//!   API; no groups, modules or RPM URLs; `results` sorted (see [`dnf`]).

pub mod accounts;
pub mod actions;
pub mod apt;
pub mod apt_deb;
pub mod arg_spec;
#[cfg(test)]
mod arg_spec_tests;
pub mod arg_spec_types;
pub mod args;
pub mod async_job;
pub mod blockinfile;
pub mod command;
pub mod context;
pub mod copy;
pub mod copy_remote;
pub mod copy_tree;
pub mod copy_walk;
pub mod debversion;
pub mod dnf;
pub mod dnf_fetch;
pub mod dnf_look;
pub mod dnf_output;
pub mod fetch;
pub mod fetch_file;
pub mod file;
pub mod file_attrs;
mod file_time;
pub mod find;
pub mod find_content;
pub mod find_match;
pub mod find_walk;
pub mod get_url;
pub mod getent;
pub mod group;
pub mod home;
pub mod lineinfile;
pub mod local;
pub mod mime_types;
pub mod not_run;
pub mod ping;
pub mod pip;
pub mod pip_req;
pub mod probe;
pub mod pyre;
pub mod remote;
pub mod replace;
pub mod result;
pub mod rpmversion;
pub mod script;
pub mod service;
pub mod service_enable;
pub mod service_exec;
pub mod service_linux;
#[cfg(test)]
mod service_tests;
pub mod service_tools;
pub mod slurp;
pub mod stat;
pub mod systemd;
pub mod systemd_show;
pub mod sysvinit;
pub mod tar;
pub mod tempfile;
pub mod template;
pub mod textedit;
pub mod unarchive;
pub mod unarchive_attrs;
pub mod unarchive_check;
pub mod unarchive_host;
pub mod uri;
pub mod uri_multipart;
pub mod url_fetch;
pub mod user;
pub mod user_libuser;
pub mod user_password_expiry;
pub mod user_password_warning;
pub mod user_ssh_key;
pub mod wait_for;

use serde_json::Value;

pub use self::apt::AptArgs;
pub use self::args::ArgError;
pub use self::async_job::{AsyncStatusArgs, AsyncSupport};
pub use self::blockinfile::BlockinfileArgs;
pub use self::command::{CommandArgs, RawArgs};
pub use self::context::ModuleContext;
pub use self::copy::{CopyArgs, FileParams};
pub use self::dnf::DnfArgs;
pub use self::fetch::FetchArgs;
pub use self::file::{FileArgs, FileState};
pub use self::find::FindArgs;
pub use self::get_url::GetUrlArgs;
pub use self::getent::GetentArgs;
pub use self::group::GroupArgs;
pub use self::lineinfile::LineinfileArgs;
pub use self::local::LocalRemote;
pub use self::ping::PingArgs;
pub use self::pip::PipArgs;
pub use self::remote::{Remote, RemoteError, RemoteOutput};
pub use self::replace::ReplaceArgs;
pub use self::result::{Diff, ModuleResult};
pub use self::script::ScriptArgs;
pub use self::service::ServiceArgs;
pub use self::slurp::SlurpArgs;
pub use self::stat::StatArgs;
pub use self::systemd::SystemdArgs;
pub use self::sysvinit::SysvinitArgs;
pub use self::tempfile::TempfileArgs;
pub use self::template::TemplateArgs;
pub use self::unarchive::UnarchiveArgs;
pub use self::uri::UriArgs;
pub use self::user::UserArgs;
pub use self::wait_for::WaitForArgs;

/// Every task action a playbook may name: the host modules below and the engine's own
/// [`actions::ACTIONS`] (short names; `ansible.builtin.` is stripped by the loader).
pub const MODULES: &[&str] =
    &concat::<{ HOST_MODULES.len() + actions::ACTIONS.len() }>(HOST_MODULES, actions::ACTIONS);

/// `a` then `b` as one array of length `N` (`N` must be their total length).
const fn concat<const N: usize>(a: &[&'static str], b: &[&'static str]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < a.len() {
        out[i] = a[i];
        i += 1;
    }
    while i < N {
        out[i] = b[i - a.len()];
        i += 1;
    }
    out
}

/// The module names this file handles (short names; the engine strips `ansible.builtin.`).
pub const HOST_MODULES: &[&str] = &[
    "command",
    "shell",
    "raw",
    "script",
    "copy",
    "template",
    "file",
    "lineinfile",
    "blockinfile",
    "replace",
    "stat",
    "slurp",
    "fetch",
    "get_url",
    "wait_for",
    "uri",
    "ping",
    "tempfile",
    "group",
    "user",
    "getent",
    "async_status",
    "apt",
    "find",
    "service",
    "systemd",
    "systemd_service",
    "sysvinit",
    "unarchive",
    "pip",
    "dnf",
];

/// One parsed module call.
#[derive(Debug, Clone, PartialEq)]
pub enum ModuleCall {
    Command(CommandArgs),
    Shell(CommandArgs),
    Raw(RawArgs),
    Script(ScriptArgs),
    Copy(CopyArgs),
    Template(TemplateArgs),
    File(FileArgs),
    Lineinfile(LineinfileArgs),
    Blockinfile(BlockinfileArgs),
    Replace(ReplaceArgs),
    Stat(StatArgs),
    Slurp(SlurpArgs),
    Fetch(FetchArgs),
    GetUrl(GetUrlArgs),
    WaitFor(WaitForArgs),
    Uri(UriArgs),
    Ping(PingArgs),
    Tempfile(TempfileArgs),
    Group(GroupArgs),
    User(UserArgs),
    Getent(GetentArgs),
    AsyncStatus(AsyncStatusArgs),
    Apt(AptArgs),
    Find(FindArgs),
    Service(ServiceArgs),
    Systemd(SystemdArgs),
    Sysvinit(SysvinitArgs),
    Unarchive(UnarchiveArgs),
    Pip(PipArgs),
    Dnf(DnfArgs),
}

fn unknown(module: &str) -> ArgError {
    ArgError::general(format!(
        "unknown module `{module}`; known: {}",
        HOST_MODULES.join(", ")
    ))
}

/// The accepted keys (with aliases) of a module.
fn keys(module: &str) -> Option<&'static [args::Key]> {
    Some(match module {
        "command" => command::COMMAND_KEYS,
        "shell" => command::SHELL_KEYS,
        "raw" => command::RAW_KEYS,
        "script" => script::KEYS,
        "copy" => copy::KEYS,
        "template" => template::KEYS,
        "file" => file::KEYS,
        "lineinfile" => lineinfile::KEYS,
        "blockinfile" => blockinfile::KEYS,
        "replace" => replace::KEYS,
        "stat" => stat::KEYS,
        "slurp" => slurp::KEYS,
        "fetch" => fetch::KEYS,
        "get_url" => get_url::KEYS,
        "wait_for" => wait_for::KEYS,
        "uri" => uri::KEYS,
        "ping" => ping::KEYS,
        "tempfile" => tempfile::KEYS,
        "group" => group::KEYS,
        "user" => user::KEYS,
        "getent" => getent::KEYS,
        "async_status" => async_job::KEYS,
        "apt" => apt::KEYS,
        "find" => find::KEYS,
        "service" => service::ACTION_KEYS,
        "systemd" | "systemd_service" => systemd::KEYS,
        "sysvinit" => sysvinit::KEYS,
        "unarchive" => unarchive::KEYS,
        "pip" => pip::KEYS,
        "dnf" => dnf::KEYS,
        _ => return None,
    })
}

/// Key-level check before any host is contacted (values may still be templates): the module
/// exists, the arguments are a mapping (or a free-form string) and every key is known.
pub fn validate_args(module: &str, args: &Value) -> Result<(), ArgError> {
    if actions::ACTIONS.contains(&module) {
        return actions::validate(module, args);
    }
    let keys = keys(module).ok_or_else(|| unknown(module))?;
    let name = HOST_MODULES
        .iter()
        .find(|m| **m == module)
        .copied()
        .unwrap_or("module");
    let args = match module {
        "command" | "shell" | "raw" | "script" => command::lift_free_form(args),
        _ => args.clone(),
    };
    if module == "shell" {
        command::shell_refuses(&args)?;
    }
    args::Args::new(name, keys, &args).map(|_| ())
}

impl ModuleCall {
    /// Parses a task's rendered arguments (a JSON object; free-form commands arrive as
    /// `{"_raw_params": "..."}`): unknown keys are rejected, types checked, aliases accepted.
    pub fn parse(module: &str, args: &Value) -> Result<ModuleCall, ArgError> {
        Ok(match module {
            "command" => ModuleCall::Command(CommandArgs::parse(args, false)?),
            "shell" => ModuleCall::Shell(CommandArgs::parse(args, true)?),
            "raw" => ModuleCall::Raw(RawArgs::parse(args)?),
            "script" => ModuleCall::Script(ScriptArgs::parse(args)?),
            "copy" => ModuleCall::Copy(CopyArgs::parse(args)?),
            "template" => ModuleCall::Template(TemplateArgs::parse(args)?),
            "file" => ModuleCall::File(FileArgs::parse(args)?),
            "lineinfile" => ModuleCall::Lineinfile(LineinfileArgs::parse(args)?),
            "blockinfile" => ModuleCall::Blockinfile(BlockinfileArgs::parse(args)?),
            "replace" => ModuleCall::Replace(ReplaceArgs::parse(args)?),
            "stat" => ModuleCall::Stat(StatArgs::parse(args)?),
            "slurp" => ModuleCall::Slurp(SlurpArgs::parse(args)?),
            "fetch" => ModuleCall::Fetch(FetchArgs::parse(args)?),
            "get_url" => ModuleCall::GetUrl(GetUrlArgs::parse(args)?),
            "wait_for" => ModuleCall::WaitFor(WaitForArgs::parse(args)?),
            "uri" => ModuleCall::Uri(UriArgs::parse(args)?),
            "ping" => ModuleCall::Ping(PingArgs::parse(args)?),
            "tempfile" => ModuleCall::Tempfile(TempfileArgs::parse(args)?),
            "group" => ModuleCall::Group(GroupArgs::parse(args)?),
            "user" => ModuleCall::User(UserArgs::parse(args)?),
            "getent" => ModuleCall::Getent(GetentArgs::parse(args)?),
            "async_status" => ModuleCall::AsyncStatus(AsyncStatusArgs::parse(args)?),
            "apt" => ModuleCall::Apt(AptArgs::parse(args)?),
            "find" => ModuleCall::Find(FindArgs::parse(args)?),
            "service" => ModuleCall::Service(ServiceArgs::parse(args)?),
            "systemd" | "systemd_service" => ModuleCall::Systemd(SystemdArgs::parse(args)?),
            "sysvinit" => ModuleCall::Sysvinit(SysvinitArgs::parse(args)?),
            "unarchive" => ModuleCall::Unarchive(UnarchiveArgs::parse(args)?),
            "pip" => ModuleCall::Pip(PipArgs::parse(args)?),
            "dnf" => ModuleCall::Dnf(DnfArgs::parse(args)?),
            other => return Err(unknown(other)),
        })
    }

    /// The module's name.
    pub fn name(&self) -> &'static str {
        match self {
            ModuleCall::Command(_) => "command",
            ModuleCall::Shell(_) => "shell",
            ModuleCall::Raw(_) => "raw",
            ModuleCall::Script(_) => "script",
            ModuleCall::Copy(_) => "copy",
            ModuleCall::Template(_) => "template",
            ModuleCall::File(_) => "file",
            ModuleCall::Lineinfile(_) => "lineinfile",
            ModuleCall::Blockinfile(_) => "blockinfile",
            ModuleCall::Replace(_) => "replace",
            ModuleCall::Stat(_) => "stat",
            ModuleCall::Slurp(_) => "slurp",
            ModuleCall::Fetch(_) => "fetch",
            ModuleCall::GetUrl(_) => "get_url",
            ModuleCall::WaitFor(_) => "wait_for",
            ModuleCall::Uri(_) => "uri",
            ModuleCall::Ping(_) => "ping",
            ModuleCall::Tempfile(_) => "tempfile",
            ModuleCall::Group(_) => "group",
            ModuleCall::User(_) => "user",
            ModuleCall::Getent(_) => "getent",
            ModuleCall::AsyncStatus(_) => "async_status",
            ModuleCall::Apt(_) => "apt",
            ModuleCall::Find(_) => "find",
            ModuleCall::Service(_) => "service",
            ModuleCall::Systemd(_) => "systemd",
            ModuleCall::Sysvinit(_) => "sysvinit",
            ModuleCall::Unarchive(_) => "unarchive",
            ModuleCall::Pip(_) => "pip",
            ModuleCall::Dnf(_) => "dnf",
        }
    }

    /// Runs the module on the context's host: query, then apply unless in check mode.
    pub async fn run<R: Remote>(&self, ctx: &ModuleContext<'_, R>) -> ModuleResult {
        match self {
            ModuleCall::Command(a) => command::run_command(a, false, ctx).await,
            ModuleCall::Shell(a) => command::run_command(a, true, ctx).await,
            ModuleCall::Raw(a) => command::run_raw(a, ctx).await,
            ModuleCall::Script(a) => script::run(a, ctx).await,
            ModuleCall::Copy(a) => copy::run(a, ctx).await,
            ModuleCall::Template(a) => template::run(a, ctx).await,
            ModuleCall::File(a) => file::run(a, ctx).await,
            ModuleCall::Lineinfile(a) => lineinfile::run(a, ctx).await,
            ModuleCall::Blockinfile(a) => blockinfile::run(a, ctx).await,
            ModuleCall::Replace(a) => replace::run(a, ctx).await,
            ModuleCall::Stat(a) => stat::run(a, ctx).await,
            ModuleCall::Slurp(a) => slurp::run(a, ctx).await,
            ModuleCall::Fetch(a) => fetch::run(a, ctx).await,
            ModuleCall::GetUrl(a) => get_url::run(a, ctx).await,
            ModuleCall::WaitFor(a) => wait_for::run(a, ctx).await,
            ModuleCall::Uri(a) => uri::run(a, ctx).await,
            ModuleCall::Ping(a) => ping::run(a, ctx).await,
            ModuleCall::Tempfile(a) => tempfile::run(a, ctx).await,
            ModuleCall::Group(a) => group::run(a, ctx).await,
            ModuleCall::User(a) => user::run(a, ctx).await,
            ModuleCall::Getent(a) => getent::run(a, ctx).await,
            ModuleCall::AsyncStatus(a) => async_job::status(a, ctx).await,
            ModuleCall::Apt(a) => apt::run(a, ctx).await,
            ModuleCall::Find(a) => find::run(a, ctx).await,
            ModuleCall::Service(a) => service::run(a, ctx).await,
            ModuleCall::Systemd(a) => systemd::run(a, ctx).await,
            ModuleCall::Sysvinit(a) => sysvinit::run(a, ctx).await,
            ModuleCall::Unarchive(a) => unarchive::run(a, ctx).await,
            ModuleCall::Pip(a) => pip::run(a, ctx).await,
            ModuleCall::Dnf(a) => dnf::run(a, ctx).await,
        }
    }

    /// Runs the module as a task with `async: limit` does: in the background on the host,
    /// then (with `poll > 0`) polled until it finishes, or (`poll: 0`) left running with its
    /// job id returned. Ansible's failure for an action that does not run in the background.
    pub async fn run_async<R: Remote>(
        &self,
        limit: u64,
        poll: u64,
        ctx: &ModuleContext<'_, R>,
    ) -> ModuleResult {
        let (args, shell) = match self {
            ModuleCall::Command(a) => (a, false),
            ModuleCall::Shell(a) => (a, true),
            other => {
                let name = other.name();
                return ModuleResult::fail(
                    async_job::refusal(name).unwrap_or_else(|| format!("{name}: no async")),
                );
            }
        };
        if poll == 0 {
            async_job::start(args, shell, limit, ctx).await
        } else {
            async_job::run_polled(args, shell, limit, poll, ctx).await
        }
    }
}
