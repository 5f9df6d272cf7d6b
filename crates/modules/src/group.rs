//! `group`: a group present (with a gid) or absent, through `groupadd`, `groupmod` and
//! `groupdel` (`lgroupadd`, ... with `local`) as Ansible's Linux `group` module drives them,
//! with its result keys.

use serde_json::Value;

use super::accounts::{self, Group, Word};
use super::args::{ArgError, Args, Key};
use super::context::ModuleContext;
use super::remote::Remote;
use super::result::ModuleResult;

/// The file `local: true` reads (group.py's `GROUPFILE`).
const GROUP_FILE: &str = "/etc/group";

/// Arguments of `group`.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupArgs {
    pub name: String,
    pub present: bool,
    /// `groupdel -f`.
    pub force: bool,
    pub gid: Option<i64>,
    pub system: bool,
    /// The libuser tools and `/etc/group` itself rather than NSS.
    pub local: bool,
    pub non_unique: bool,
    pub gid_min: Option<i64>,
    pub gid_max: Option<i64>,
}

/// Accepted keys.
pub const KEYS: &[Key] = &[
    ("name", &[]),
    ("state", &[]),
    ("force", &[]),
    ("gid", &[]),
    ("system", &[]),
    ("local", &[]),
    ("non_unique", &[]),
    ("gid_min", &[]),
    ("gid_max", &[]),
];

impl GroupArgs {
    /// Parses and checks the arguments (Ansible's `required_if` and exclusions).
    pub fn parse(v: &Value) -> Result<GroupArgs, ArgError> {
        let mut a = Args::new("group", KEYS, v)?;
        let state = a.choice("state", &["absent", "present"], Some("present"))?;
        let parsed = GroupArgs {
            name: a.req_str("name")?,
            present: state.as_deref() != Some("absent"),
            force: a.bool("force", false)?,
            gid: a.int("gid")?,
            system: a.bool("system", false)?,
            local: a.bool("local", false)?,
            non_unique: a.bool("non_unique", false)?,
            gid_min: a.int("gid_min")?,
            gid_max: a.int("gid_max")?,
        };
        a.finish()?;
        if parsed.non_unique && parsed.gid.is_none() {
            return Err(ArgError::general(
                "non_unique is True but all of the following are missing: gid",
            ));
        }
        if parsed.local {
            if parsed.gid_min.is_some() {
                return Err(ArgError::general("'gid_min' can not be used with 'local'"));
            }
            if parsed.gid_max.is_some() {
                return Err(ArgError::general("'gid_max' can not be used with 'local'"));
            }
            if parsed.force {
                return Err(ArgError::general(
                    "force is not a valid option for local, force=True and local=True are \
                     mutually exclusive",
                ));
            }
        }
        Ok(parsed)
    }

    fn tool(&self, name: &str) -> Word {
        Word::lit(if self.local {
            format!("l{name}")
        } else {
            name.to_owned()
        })
    }

    /// The look-up: the group's NSS entry, and with `local` whether `/etc/group` lists it.
    fn look_up(&self) -> String {
        let mut s = accounts::getent("group", &self.name);
        if self.local {
            s.push_str(&accounts::local_entry(GROUP_FILE, &self.name));
        }
        s
    }

    /// Whether the group exists (in `/etc/group` with `local`), and its entry; `Err` with
    /// group.py's message when `local` finds no `/etc/group`.
    fn found(&self, out: &str) -> Result<(bool, Option<Group>), String> {
        let entry = out.lines().find_map(Group::parse);
        let exists = if self.local {
            accounts::local_found(out, GROUP_FILE, "group")?
        } else {
            entry.is_some()
        };
        Ok((exists, entry.filter(|_| exists)))
    }
}

/// Runs `group`: one look-up, then (outside check mode) one command and a look-up again.
pub async fn run<R: Remote>(args: &GroupArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let before = match accounts::query(ctx, &args.look_up()).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let (exists, entry) = match args.found(&before) {
        Ok(f) => f,
        Err(msg) => return ModuleResult::fail(msg),
    };
    let mut argv = Vec::new();
    if !args.present {
        if exists {
            argv.push(args.tool("groupdel"));
            if args.force {
                argv.push(Word::lit("-f"));
            }
        }
    } else if !exists {
        argv.push(args.tool("groupadd"));
        if let Some(gid) = args.gid {
            argv.extend([Word::lit("-g"), Word::lit(gid.to_string())]);
            if args.non_unique {
                argv.push(Word::lit("-o"));
            }
        }
        if args.system {
            argv.push(Word::lit("-r"));
        }
        for (key, value) in [("GID_MIN", args.gid_min), ("GID_MAX", args.gid_max)] {
            if let Some(v) = value {
                argv.extend([Word::lit("-K"), Word::lit(format!("{key}={v}"))]);
            }
        }
    } else if let Some(gid) = args
        .gid
        .filter(|g| entry.as_ref().is_some_and(|e| i64::from(e.gid) != *g))
    {
        argv.extend([
            args.tool("groupmod"),
            Word::lit("-g"),
            Word::lit(gid.to_string()),
        ]);
        if args.non_unique {
            argv.push(Word::lit("-o"));
        }
    }
    let changed = !argv.is_empty();
    if changed && ctx.check_mode && (!exists || !args.present) {
        // Ansible's module exits with `changed` alone here.
        return ModuleResult::changed();
    }
    let mut result = ModuleResult {
        changed,
        ..ModuleResult::ok()
    }
    .with("name", args.name.clone())
    .with("state", if args.present { "present" } else { "absent" });
    let mut after = entry;
    if changed && !ctx.check_mode {
        argv.push(Word::lit(args.name.clone()));
        let applied = match accounts::apply(ctx, &[argv], &[], &args.look_up()).await {
            Ok(a) => a,
            Err(r) => return r,
        };
        if applied.rc != 0 {
            return ModuleResult::fail(applied.stderr).with("name", args.name.clone());
        }
        if !applied.stdout.is_empty() {
            result.stdout = Some(applied.stdout);
        }
        if !applied.stderr.is_empty() {
            result.stderr = Some(applied.stderr);
        }
        after = args.found(&applied.after).ok().and_then(|(_, entry)| entry);
    }
    if let Some(g) = after {
        result = result.with("system", args.system).with("gid", g.gid);
    }
    result
}
