//! The host's account databases as the `user` and `group` modules read them (`getent`, so NSS
//! answers as it does for Ansible's `pwd`, `grp` and `spwd`), and the one shadow-utils command
//! (`useradd`, `groupmod`, ...) each run of those modules may apply, followed by a fresh look.

use super::context::ModuleContext;
use super::probe::{call, nonce};
use super::remote::{Remote, RemoteOutput};
use super::result::ModuleResult;
use clearfleet_base::shell::quote;

/// One `/etc/passwd` entry (Python's `pwd.struct_passwd`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passwd {
    pub name: String,
    /// Usually `x` (the hash is in the shadow database).
    pub passwd: String,
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub home: String,
    pub shell: String,
}

/// One `/etc/group` entry (Python's `grp.struct_group`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// The fields of a shadow entry the `user` module compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shadow {
    pub hash: String,
    /// Days since the epoch; -1 when the field is empty (never expires).
    pub expire: i64,
}

impl Passwd {
    pub fn parse(line: &str) -> Option<Passwd> {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() != 7 {
            return None;
        }
        Some(Passwd {
            name: f[0].to_owned(),
            passwd: f[1].to_owned(),
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            gecos: f[4].to_owned(),
            home: f[5].to_owned(),
            shell: f[6].to_owned(),
        })
    }
}

impl Group {
    pub fn parse(line: &str) -> Option<Group> {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() != 4 {
            return None;
        }
        Some(Group {
            name: f[0].to_owned(),
            gid: f[2].parse().ok()?,
            members: f[3]
                .split(',')
                .filter(|m| !m.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }

    /// Every group of a `getent group` listing.
    pub fn parse_all(text: &str) -> Vec<Group> {
        text.lines().filter_map(Group::parse).collect()
    }

    /// The group a `group` argument names, by gid first (a number) then by name, as the
    /// `user` module's `group_info` looks it up.
    pub fn find<'a>(all: &'a [Group], wanted: &str) -> Option<&'a Group> {
        wanted
            .parse::<u32>()
            .ok()
            .and_then(|gid| all.iter().find(|g| g.gid == gid))
            .or_else(|| all.iter().find(|g| g.name == wanted))
    }
}

impl Shadow {
    pub fn parse(line: &str) -> Option<Shadow> {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 8 {
            return None;
        }
        Some(Shadow {
            hash: f[1].to_owned(),
            expire: f[7].parse().unwrap_or(-1),
        })
    }
}

/// The shell variable a [`Word::Secret`] reads the password hash from.
pub const SECRET_VAR: &str = "cf_secret";

/// One word of a command line: a literal (quoted), or the secret read from stdin into
/// `$cf_secret` (so it appears in no command line of the session's shell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Word {
    Lit(String),
    /// `"$cf_secret"` with a prefix (`!` for a locked password).
    Secret(&'static str),
}

impl Word {
    pub fn lit(s: impl Into<String>) -> Word {
        Word::Lit(s.into())
    }

    fn shell(&self) -> String {
        match self {
            Word::Lit(s) => quote(s),
            Word::Secret(prefix) => format!("{}\"${SECRET_VAR}\"", quote(prefix)),
        }
    }
}

/// What [`apply`] ran: the command's rc, stdout and stderr, and the look-up script's output
/// after it.
pub struct Applied {
    pub rc: i32,
    pub stdout: String,
    pub stderr: String,
    pub after: String,
}

/// Runs `query` (a script whose output the module parses): its stdout.
pub async fn query<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    query: &str,
) -> Result<String, ModuleResult> {
    let out = call(ctx, query, None, None).await?;
    Ok(out.stdout_text())
}

/// Runs `commands` in turn while each succeeds (the libuser tools of `local: true` take
/// several: `luseradd`, then `lchage`, then one `lgroupmod` per group, their outputs and rc as
/// user.py's `create_user_useradd` adds them up), then `after` (a look-up script), in one round
/// trip. `secrets` (shell variable, value; one line each) travel on stdin, read into their
/// variables first.
pub async fn apply<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    commands: &[Vec<Word>],
    secrets: &[(&str, &str)],
    after: &str,
) -> Result<Applied, ModuleResult> {
    let mark = nonce().map_err(|r| *r)?;
    let lines: Vec<String> = commands
        .iter()
        .map(|argv| argv.iter().map(Word::shell).collect::<Vec<_>>().join(" "))
        .collect();
    let reads: String = secrets
        .iter()
        .map(|(var, _)| format!("IFS= read -r {var}\n"))
        .collect();
    let mut run = String::from("cf_rc=0\n");
    for line in &lines {
        run.push_str(&format!(
            "if [ \"$cf_rc\" = 0 ]; then {line} </dev/null; cf_rc=$?; fi\n"
        ));
    }
    let script = format!("{reads}{run}printf '\\n%s %s\\n' {mark} \"$cf_rc\"\n{after}");
    let stdin = (!secrets.is_empty()).then(|| {
        secrets
            .iter()
            .map(|(_, value)| format!("{value}\n"))
            .collect::<String>()
            .into_bytes()
    });
    let out: RemoteOutput = call(ctx, &script, stdin, None).await?;
    let text = out.stdout_text();
    let Some((stdout, rest)) = text.rsplit_once(&format!("\n{mark} ")) else {
        return Err(ModuleResult::fail(format!(
            "{} did not finish: {}",
            commands
                .first()
                .and_then(|argv| argv.first())
                .map_or_else(|| "the command".to_owned(), Word::shell),
            out.stderr_text()
        )));
    };
    let (rc, after) = rest.split_once('\n').unwrap_or((rest, ""));
    Ok(Applied {
        rc: rc.trim().parse().unwrap_or(-1),
        stdout: stdout.to_owned(),
        // Untrimmed, as Ansible returns it (in `msg` too).
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        after: after.to_owned(),
    })
}

/// With `local: true`: whether `file` itself (`/etc/passwd`, `/etc/group`) has an entry named
/// `name`, as user.py's `user_exists` and group.py's `group_exists` read it rather than NSS (a
/// line starting `NAME:`): prints `local` when it has, `no-local-file` when `file` is missing.
pub fn local_entry(file: &str, name: &str) -> String {
    format!(
        "if [ -e {f} ]; then cut -d: -f1 {f} | grep -qxF -e {n} && echo local; \
         else echo no-local-file; fi\n",
        f = quote(file),
        n = quote(name),
    )
}

/// What [`local_entry`] printed: `Err` with user.py's (group.py's) failure when `file` is
/// missing, else whether the entry is there. `what` is `account` or `group`.
pub fn local_found(out: &str, file: &str, what: &str) -> Result<bool, String> {
    if out.lines().any(|l| l == "no-local-file") {
        return Err(format!(
            "'local: true' specified but unable to find local {what} file {file} to parse."
        ));
    }
    Ok(out.lines().any(|l| l == "local"))
}

/// `getent DATABASE -- KEY`, printing nothing when the key is unknown.
pub fn getent(database: &str, key: &str) -> String {
    format!("getent {database} -- {} || true\n", quote(key))
}
