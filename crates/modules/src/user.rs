//! `user`: an account present (uid, groups, home, shell, password hash, expiry, lock) or
//! absent, through `useradd`, `usermod` and `userdel` as Ansible's generic (Linux) `user`
//! module drives them (with `local: true` libuser's `luseradd`, `lusermod`, `luserdel`,
//! `lchage` and `lgroupmod`, the account looked for in `/etc/passwd` itself), with its result
//! keys. The password hash is a secret: it travels on stdin, and the result says
//! `NOT_LOGGING_PASSWORD`.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;

use super::accounts::{self, Group, Passwd, SECRET_VAR, Shadow, Word};
use super::args::{ArgError, Args, Key, Secret};
use super::context::ModuleContext;
use super::probe::nonce;
use super::remote::Remote;
use super::result::ModuleResult;
use super::user_libuser::{LibuserSteps, expire_days};
use super::user_password_expiry::{Expiry, ExpiryReport};
use super::user_password_warning;
use super::user_ssh_key::{KeyReport, PASSPHRASE_VAR, SshKeyArgs};
use clearfleet_base::shell::quote;

/// Arguments of `user`.
#[derive(Debug, Clone, PartialEq)]
pub struct UserArgs {
    pub name: String,
    pub present: bool,
    pub uid: Option<i64>,
    pub non_unique: bool,
    /// The primary group (name or gid).
    pub group: Option<String>,
    /// Supplementary groups; `Some(empty)` removes them all (unless `append`).
    pub groups: Option<Vec<String>>,
    pub append: bool,
    pub comment: Option<String>,
    pub home: Option<String>,
    pub move_home: bool,
    pub create_home: bool,
    pub skeleton: Option<String>,
    pub shell: Option<String>,
    /// A crypt hash (never shown).
    pub password: Option<Secret>,
    /// `update_password: on_create`.
    pub password_on_create: bool,
    pub password_lock: Option<bool>,
    pub system: bool,
    pub force: bool,
    pub remove: bool,
    /// Seconds since the epoch; negative: never expires.
    pub expires: Option<f64>,
    pub umask: Option<String>,
    pub uid_min: Option<i64>,
    pub uid_max: Option<i64>,
    /// `generate_ssh_key: true` with its options.
    pub ssh_key: Option<SshKeyArgs>,
    /// `password_expire_min`, `_max`, `_warn`.
    pub expiry: Expiry,
    /// `password_expire_account_disable`: days after expiry (`-f`).
    pub inactive: Option<i64>,
    /// libuser's tools, and the account looked for in `/etc/passwd` rather than NSS.
    pub local: bool,
}

/// The file `local: true` reads (user.py's `PASSWORDFILE`).
const PASSWORD_FILE: &str = "/etc/passwd";

/// user.py's `User.__init__` warning for `append` without `groups`, word for word (the two
/// sentences joined without a space, as its string literals are).
const APPEND_WARNING: &str = "'append' is set, but no 'groups' are specified. Use 'groups' for \
                              appending new groups.This will change to an error in Ansible 2.14.";

/// Accepted keys.
pub const KEYS: &[Key] = &[
    ("name", &["user"]),
    ("state", &[]),
    ("uid", &[]),
    ("non_unique", &[]),
    ("group", &[]),
    ("groups", &[]),
    ("append", &[]),
    ("comment", &[]),
    ("home", &[]),
    ("move_home", &[]),
    ("create_home", &["createhome"]),
    ("skeleton", &[]),
    ("shell", &[]),
    ("password", &[]),
    ("update_password", &[]),
    ("password_lock", &[]),
    ("system", &[]),
    ("force", &[]),
    ("remove", &[]),
    ("expires", &[]),
    ("umask", &[]),
    ("uid_min", &[]),
    ("uid_max", &[]),
    ("generate_ssh_key", &[]),
    ("ssh_key_bits", &[]),
    ("ssh_key_type", &[]),
    ("ssh_key_file", &[]),
    ("ssh_key_comment", &[]),
    ("ssh_key_passphrase", &[]),
    ("password_expire_max", &[]),
    ("password_expire_min", &[]),
    ("password_expire_warn", &[]),
    ("password_expire_account_disable", &[]),
    ("local", &[]),
];

impl UserArgs {
    /// Parses and checks the arguments.
    pub fn parse(v: &Value) -> Result<UserArgs, ArgError> {
        let mut a = Args::new("user", KEYS, v)?;
        let state = a.choice("state", &["absent", "present"], Some("present"))?;
        let update = a.choice("update_password", &["always", "on_create"], Some("always"))?;
        let expires = match a.value("expires") {
            None => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => Some(s.trim().parse::<f64>().map_err(|_| {
                ArgError::field("expires", format!("'{s}' cannot be converted to a float"))
            })?),
            Some(other) => {
                return Err(ArgError::field(
                    "expires",
                    format!("{other} cannot be converted to a float"),
                ));
            }
        };
        let password_lock = if a.has("password_lock") {
            Some(a.bool("password_lock", false)?)
        } else {
            None
        };
        let parsed = UserArgs {
            name: a.req_str("name")?,
            present: state.as_deref() != Some("absent"),
            uid: a.int("uid")?,
            non_unique: a.bool("non_unique", false)?,
            group: a.str("group")?,
            groups: a.list_str("groups")?,
            append: a.bool("append", false)?,
            comment: a.str("comment")?,
            home: a.str("home")?,
            move_home: a.bool("move_home", false)?,
            create_home: a.bool("create_home", true)?,
            skeleton: a.str("skeleton")?,
            shell: a.str("shell")?,
            password: a.str("password")?.map(Secret),
            password_on_create: update.as_deref() == Some("on_create"),
            password_lock,
            system: a.bool("system", false)?,
            force: a.bool("force", false)?,
            remove: a.bool("remove", false)?,
            expires,
            umask: a.str("umask")?,
            uid_min: a.int("uid_min")?,
            uid_max: a.int("uid_max")?,
            ssh_key: SshKeyArgs::parse(&mut a)?,
            expiry: Expiry {
                min: a.int("password_expire_min")?,
                max: a.int("password_expire_max")?,
                warn: a.int("password_expire_warn")?,
            },
            inactive: a.int("password_expire_account_disable")?,
            local: a.bool("local", false)?,
        };
        a.finish()?;
        // user.py's `User.__init__`: the module fails when it runs.
        if parsed.local {
            for (key, set) in [
                ("umask", parsed.umask.is_some()),
                ("uid_min", parsed.uid_min.is_some()),
                ("uid_max", parsed.uid_max.is_some()),
            ] {
                if set {
                    return Err(ArgError::at_run_time(
                        Some(key),
                        format!("'{key}' can not be used with 'local'"),
                    ));
                }
            }
        }
        Ok(parsed)
    }

    /// `NAME`, or libuser's `lNAME` with `local` (user.py's `command_name`).
    fn tool(&self, name: &str) -> Word {
        Word::lit(if self.local {
            format!("l{name}")
        } else {
            name.to_owned()
        })
    }

    /// The requested supplementary groups: the list's items, blanks dropped, each once.
    fn group_list(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for g in self.groups.iter().flatten().map(|g| g.trim()) {
            if !g.is_empty() && !out.iter().any(|o| o == g) {
                out.push(g.to_owned());
            }
        }
        out
    }

    /// `-p HASH` (`!HASH` when locking), the hash read from stdin.
    fn password_words(&self) -> [Word; 2] {
        let prefix = if self.password_lock == Some(true) {
            "!"
        } else {
            ""
        };
        [Word::lit("-p"), Word::Secret(prefix)]
    }

    /// `-e DATE` (`-e ''` for a negative time: never expires).
    fn expires_words(expires: f64) -> [Word; 2] {
        let date = if expires < 0.0 {
            String::new()
        } else {
            clearfleet_base::time::date(UNIX_EPOCH + Duration::from_secs_f64(expires))
        };
        [Word::lit("-e"), Word::lit(date)]
    }
}

/// What the look-up found.
struct Found {
    /// The account's entry; with `local` only when `/etc/passwd` itself has it.
    passwd: Option<Passwd>,
    shadow: Option<Shadow>,
    groups: Vec<Group>,
    /// The home (the `home` argument, else the account's) exists.
    home_exists: bool,
    /// With `generate_ssh_key`: what making the key would do now (a dry run).
    key: Option<KeyReport>,
    /// What `chage` would do now (a dry run).
    expiry: ExpiryReport,
}

/// The look-up script: passwd entry, shadow entry, every group, whether the home exists, and
/// dry runs of the key's script (`generate_ssh_key`) and of `chage`'s (`password_expire_*`).
fn look_up(args: &UserArgs, mark: &str) -> String {
    let local = if args.local {
        accounts::local_entry(PASSWORD_FILE, &args.name)
    } else {
        String::new()
    };
    let mut s = format!(
        "{}echo {mark}\n{local}echo {mark}\n{}echo {mark}\ngetent group || true\necho {mark}\n\
         h={}\n[ -n \"$h\" ] || h=$(getent passwd -- {} | cut -d: -f6)\n\
         if [ -n \"$h\" ] && [ -e \"$h\" ]; then echo home; fi\n",
        accounts::getent("passwd", &args.name),
        accounts::getent("shadow", &args.name),
        quote(args.home.as_deref().unwrap_or("")),
        quote(&args.name),
    );
    s.push_str(&format!("echo {mark}\n"));
    if let Some(key) = &args.ssh_key {
        s.push_str(&key.script(&args.name, args.force, true, mark));
    }
    s.push_str(&format!("echo {mark}\n"));
    if args.expiry.wanted() {
        s.push_str(&args.expiry.script(&args.name, true, mark));
    }
    s
}

/// What [`look_up`] printed; `Err` with user.py's failure when `local` finds no `/etc/passwd`.
fn parse_found(args: &UserArgs, out: &str, mark: &str) -> Result<Found, String> {
    let sep = format!("{mark}\n");
    let mut parts = out.split(&sep);
    let mut next = || parts.next().unwrap_or("");
    let mut passwd = next().lines().find_map(Passwd::parse);
    let local = next();
    if args.local && !accounts::local_found(local, PASSWORD_FILE, "account")? {
        passwd = None;
    }
    let shadow = next().lines().find_map(Shadow::parse);
    let groups = Group::parse_all(next());
    let home_exists = next().lines().any(|l| l == "home");
    let key_part = next();
    let key = args
        .ssh_key
        .as_ref()
        .map(|_| KeyReport::parse(key_part, mark, &args.name));
    let expiry = ExpiryReport::parse(next(), mark);
    Ok(Found {
        passwd,
        shadow,
        groups,
        home_exists,
        key,
        expiry,
    })
}

/// A missing home made as Ansible's `create_homedir` and `chown_homedir` make it: a copy of
/// the skeleton (or an empty directory), mode `HOME_MODE` (else from `UMASK`) of
/// /etc/login.defs, owned by the account. `$h` is the home.
fn make_home_script(args: &UserArgs, mark: &str) -> String {
    format!(
        "if [ -n \"$h\" ] && [ ! -e \"$h\" ]; then\n\
         sk={}\n\
         if [ -e \"$sk\" ] && [ \"$sk\" != /dev/null ]; then cp -R -P -p \"$sk\" \"$h\"; else mkdir -p \"$h\"; fi\n\
         m=755\n\
         if [ -f /etc/login.defs ]; then\n\
         m=$(awk '/^HOME_MODE[ \\t]+[0-9]+$/ {{ print $2; f=1; exit }} /^UMASK[ \\t]+[0-9]+$/ {{ u=$2 }} \
         END {{ if (!f) {{ if (u != \"\") print \"u\" u; else print 755 }} }}' /etc/login.defs)\n\
         case $m in u*) m=$(printf '%o' $(( 0777 & ~0${{m#u}} )));; esac\n\
         fi\n\
         chmod \"$m\" \"$h\"\n\
         chown -R \"$(id -u -- {name}):$(id -g -- {name})\" \"$h\"\n\
         echo {mark}-home-made\n\
         fi\n",
        quote(args.skeleton.as_deref().unwrap_or("/etc/skel")),
        name = quote(&args.name),
    )
}

/// The commands making a new account: the `useradd` command line, or with `local`
/// `luseradd`'s (no `-G`, `-e` or `-m`; `-n` for `-N`) and then libuser's `lchage` and
/// `lgroupmod` (user.py's `create_user_useradd`).
fn useradd(args: &UserArgs, found: &Found) -> Result<Vec<Vec<Word>>, String> {
    let mut cmd = vec![args.tool("useradd")];
    if let Some(uid) = args.uid {
        cmd.extend([Word::lit("-u"), Word::lit(uid.to_string())]);
        if args.non_unique {
            cmd.push(Word::lit("-o"));
        }
    }
    if let Some(g) = &args.group {
        if Group::find(&found.groups, g).is_none() {
            return Err(format!("Group {g} does not exist"));
        }
        cmd.extend([Word::lit("-g"), Word::lit(g.clone())]);
    } else if found.groups.iter().any(|g| g.name == args.name) {
        // "luseradd uses -n instead of -N".
        cmd.push(Word::lit(if args.local { "-n" } else { "-N" }));
    }
    let groups = args.group_list();
    if let Some(g) = groups
        .iter()
        .find(|g| Group::find(&found.groups, g).is_none())
    {
        return Err(format!("Group {g} does not exist"));
    }
    if !groups.is_empty() && !args.local {
        cmd.extend([Word::lit("-G"), Word::lit(groups.join(","))]);
    }
    if let Some(c) = &args.comment {
        cmd.extend([Word::lit("-c"), Word::lit(c.clone())]);
    }
    if let Some(h) = &args.home {
        cmd.extend([Word::lit("-d"), Word::lit(h.clone())]);
    }
    if let Some(s) = &args.shell {
        cmd.extend([Word::lit("-s"), Word::lit(s.clone())]);
    }
    if let Some(e) = args.expires.filter(|_| !args.local) {
        cmd.extend(UserArgs::expires_words(e));
    }
    if let Some(days) = args.inactive {
        cmd.extend([Word::lit("-f"), Word::lit(days.to_string())]);
    }
    if args.password.is_some() {
        cmd.extend(args.password_words());
    }
    if args.create_home {
        // luseradd makes the home unless told `-M`.
        if !args.local {
            cmd.push(Word::lit("-m"));
        }
        if let Some(k) = &args.skeleton {
            cmd.extend([Word::lit("-k"), Word::lit(k.clone())]);
        }
        if let Some(u) = &args.umask {
            cmd.extend([Word::lit("-K"), Word::lit(format!("UMASK={u}"))]);
        }
    } else {
        cmd.push(Word::lit("-M"));
    }
    if args.system {
        cmd.push(Word::lit("-r"));
    }
    for (key, value) in [("UID_MIN", args.uid_min), ("UID_MAX", args.uid_max)] {
        if let Some(v) = value {
            cmd.extend([Word::lit("-K"), Word::lit(format!("{key}={v}"))]);
        }
    }
    cmd.push(Word::lit(args.name.clone()));
    let mut commands = vec![cmd];
    if args.local {
        let steps = LibuserSteps {
            expire_days: args.expires.map(expire_days),
            join: groups,
            leave: Vec::new(),
        };
        commands.extend(steps.commands(&args.name));
    }
    Ok(commands)
}

/// The `usermod` options an existing account needs (empty: none), and with `local` what
/// libuser's `lchage` and `lgroupmod` have to do after `lusermod` (user.py's
/// `modify_user_usermod`).
fn usermod(
    args: &UserArgs,
    info: &Passwd,
    found: &Found,
) -> Result<(Vec<Word>, LibuserSteps), String> {
    let mut cmd = Vec::new();
    let mut steps = LibuserSteps::default();
    if let Some(uid) = args.uid.filter(|u| *u != i64::from(info.uid)) {
        cmd.extend([Word::lit("-u"), Word::lit(uid.to_string())]);
        if args.non_unique {
            cmd.push(Word::lit("-o"));
        }
    }
    if let Some(g) = &args.group {
        let Some(group) = Group::find(&found.groups, g) else {
            return Err(format!("Group {g} does not exist"));
        };
        if group.gid != info.gid {
            cmd.extend([Word::lit("-g"), Word::lit(group.gid.to_string())]);
        }
    }
    if args.groups.is_some() {
        let current: Vec<&str> = found
            .groups
            .iter()
            .filter(|g| g.members.contains(&args.name))
            .map(|g| g.name.as_str())
            .collect();
        let mut wanted: Vec<String> = Vec::new();
        for g in args.group_list() {
            let Some(group) = Group::find(&found.groups, &g) else {
                return Err(format!("Group {g} does not exist"));
            };
            if !wanted.contains(&group.name) {
                wanted.push(group.name.clone());
            }
        }
        let missing = wanted.iter().any(|w| !current.contains(&w.as_str()));
        let extra = current.iter().any(|c| !wanted.iter().any(|w| w == c));
        let needed = if args.append {
            missing
        } else {
            missing || extra
        };
        if needed && args.local {
            // lusermod has no `-a` (user.py's `_check_usermod_append` finds none in its
            // `--help`).
            steps.join = wanted
                .iter()
                .filter(|w| !current.contains(&w.as_str()))
                .cloned()
                .collect();
            if !args.append {
                steps.leave = current
                    .iter()
                    .filter(|c| !wanted.iter().any(|w| w == *c))
                    .map(|c| (*c).to_owned())
                    .collect();
            }
        } else if needed {
            if args.append {
                cmd.push(Word::lit("-a"));
            }
            cmd.extend([Word::lit("-G"), Word::lit(wanted.join(","))]);
        }
    }
    if let Some(c) = args.comment.as_ref().filter(|c| **c != info.gecos) {
        cmd.extend([Word::lit("-c"), Word::lit(c.clone())]);
    }
    if let Some(h) = args.home.as_ref().filter(|h| **h != info.home) {
        cmd.extend([Word::lit("-d"), Word::lit(h.clone())]);
        if args.move_home {
            cmd.push(Word::lit("-m"));
        }
    }
    if let Some(s) = args.shell.as_ref().filter(|s| **s != info.shell) {
        cmd.extend([Word::lit("-s"), Word::lit(s.clone())]);
    }
    if let Some(e) = args.expires {
        let current = found.shadow.as_ref().map_or(0, |s| s.expire);
        let change = if e < 0.0 {
            current >= 0
        } else {
            current < 0 || current != (e / 86400.0).floor() as i64
        };
        if change && args.local {
            steps.expire_days = Some(expire_days(e));
        } else if change {
            cmd.extend(UserArgs::expires_words(e));
        }
    }
    // user.py gives `-f` whenever it is set, so such a run always changes.
    if let Some(days) = args.inactive {
        cmd.extend([Word::lit("-f"), Word::lit(days.to_string())]);
    }
    // The hash: the shadow entry's when the passwd field is `x` (or empty).
    let hash = if info.passwd.len() <= 1 {
        found.shadow.as_ref().map_or("", |s| s.hash.as_str())
    } else {
        info.passwd.as_str()
    };
    let locked = hash.starts_with('!');
    let mut lock = match args.password_lock {
        Some(true) if !locked => vec![Word::lit("-L")],
        Some(false) if locked => vec![Word::lit("-U")],
        _ => Vec::new(),
    };
    if let Some(p) = &args.password
        && !args.password_on_create
        && hash.trim_start_matches('!') != p.0.trim_start_matches('!')
    {
        lock = args.password_words().to_vec();
    }
    cmd.extend(lock);
    Ok((cmd, steps))
}

/// Runs `user`: one look-up, then (outside check mode) the commands with the missing home
/// made and a look-up again; user.py's warnings first, in its order (`append` without
/// `groups`, then a password that looks unhashed).
pub async fn run<R: Remote>(args: &UserArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let mut result = run_account(args, ctx).await;
    if let Some(w) = args
        .password
        .as_ref()
        .and_then(|p| user_password_warning::warning(&p.0))
    {
        result.warnings.insert(0, w.to_owned());
    }
    if args.append && args.groups.is_none() {
        result.warnings.insert(0, APPEND_WARNING.to_owned());
    }
    result
}

async fn run_account<R: Remote>(args: &UserArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let mark = match nonce() {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let found = match accounts::query(ctx, &look_up(args, &mark)).await {
        Ok(o) => match parse_found(args, &o, &mark) {
            Ok(f) => f,
            Err(msg) => return ModuleResult::fail(msg),
        },
        Err(r) => return r,
    };
    let state = if args.present { "present" } else { "absent" };
    let base = |changed: bool| {
        ModuleResult {
            changed,
            ..ModuleResult::ok()
        }
        .with("name", args.name.clone())
        .with("state", state)
    };
    let Some(info) = found.passwd.clone() else {
        if !args.present {
            return base(false);
        }
        if ctx.check_mode {
            return ModuleResult::changed();
        }
        let commands = match useradd(args, &found) {
            Ok(c) => c,
            Err(msg) => return ModuleResult::fail(msg),
        };
        let result = base(true)
            .with("system", args.system)
            .with("create_home", args.create_home);
        return apply(args, ctx, commands, result, &mark, false).await;
    };
    if !args.present {
        if ctx.check_mode {
            return ModuleResult::changed();
        }
        let mut cmd = vec![args.tool("userdel")];
        // user.py's `remove_user_userdel`: luserdel gets no `-f`.
        if args.force && !args.local {
            cmd.push(Word::lit("-f"));
        }
        if args.remove {
            cmd.push(Word::lit("-r"));
        }
        cmd.push(Word::lit(args.name.clone()));
        let result = base(true)
            .with("force", args.force)
            .with("remove", args.remove);
        return apply(args, ctx, vec![cmd], result, &mark, false).await;
    }
    let (options, steps) = match usermod(args, &info, &found) {
        Ok(c) => c,
        Err(msg) => return ModuleResult::fail(msg),
    };
    // user.py runs `lchage` and `lgroupmod` after `lusermod`, or alone when it has no options.
    let mut commands = Vec::new();
    if !options.is_empty() {
        commands.push(
            [
                vec![args.tool("usermod")],
                options,
                vec![Word::lit(args.name.clone())],
            ]
            .concat(),
        );
    }
    commands.extend(steps.commands(&args.name));
    let modify = !commands.is_empty();
    let make_home = args.create_home && !found.home_exists;
    let result = base(modify || make_home)
        .with("append", args.append)
        .with("move_home", args.move_home);
    let make_key = found.key.as_ref().is_some_and(|k| k.changed);
    if ctx.check_mode || !(modify || make_home || make_key || found.expiry.changed) {
        let mut result = finish(args, result, &info);
        if let Some(key) = found.key {
            result = key.into_result(result, &args.name);
            if result.failed {
                return result;
            }
        }
        return found.expiry.into_result(result, &args.name);
    }
    apply(args, ctx, commands, result, &mark, make_home).await
}

/// The keys every result of a present account has, from its passwd entry.
fn finish(args: &UserArgs, mut result: ModuleResult, info: &Passwd) -> ModuleResult {
    if args.password.is_some() {
        result = result.with("password", "NOT_LOGGING_PASSWORD");
    }
    result = result
        .with("uid", info.uid)
        .with("group", info.gid)
        .with("comment", info.gecos.clone())
        .with("home", info.home.clone())
        .with("shell", info.shell.clone());
    if let Some(g) = &args.groups {
        result = result.with("groups", g.join(","));
    }
    result
}

/// Runs `commands` (none: only the home) with the home made when missing (for an existing
/// account: `make_home`; useradd makes a new one's), then the SSH key (`generate_ssh_key`),
/// then reports.
async fn apply<R: Remote>(
    args: &UserArgs,
    ctx: &ModuleContext<'_, R>,
    mut commands: Vec<Vec<Word>>,
    mut result: ModuleResult,
    mark: &str,
    make_home: bool,
) -> ModuleResult {
    let ran = !commands.is_empty();
    if !ran {
        commands.push(vec![Word::lit(":")]);
    }
    let mut after = String::new();
    if args.present {
        after.push_str(&format!(
            "h={}\n[ -n \"$h\" ] || h=$(getent passwd -- {} | cut -d: -f6)\n",
            quote(args.home.as_deref().unwrap_or("")),
            quote(&args.name)
        ));
        if make_home || (ran && args.create_home) {
            after.push_str(&format!(
                "if [ \"$cf_rc\" = 0 ]; then\n{}fi\n",
                make_home_script(args, mark)
            ));
        }
        after.push_str(&accounts::getent("passwd", &args.name));
        // user.py makes the key once the account exists and its home was made, then runs
        // chage, unless the key failed.
        after.push_str(&format!("echo {mark}\n"));
        if let Some(key) = &args.ssh_key {
            after.push_str(&format!(
                "if [ \"$cf_rc\" = 0 ]; then\n{}fi\n",
                key.script(&args.name, args.force, false, mark)
            ));
        }
        after.push_str(&format!("echo {mark}\n"));
        if args.expiry.wanted() {
            after.push_str(&format!(
                "if [ \"$cf_rc\" = 0 ] && [ \"$cf_kfail\" != 1 ]; then\n{}fi\n",
                args.expiry.script(&args.name, false, mark)
            ));
        }
    }
    let mut secrets: Vec<(&str, &str)> = Vec::new();
    if let Some(p) = &args.password
        && commands
            .iter()
            .flatten()
            .any(|w| matches!(w, Word::Secret(_)))
    {
        secrets.push((SECRET_VAR, p.0.as_str()));
    }
    if let Some(p) = args.ssh_key.as_ref().and_then(|k| k.passphrase.as_ref()) {
        secrets.push((PASSPHRASE_VAR, p.0.as_str()));
    }
    let applied = match accounts::apply(ctx, &commands, &secrets, &after).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if applied.rc != 0 {
        let mut failed = ModuleResult::fail(applied.stderr).with("name", args.name.clone());
        failed.rc = Some(applied.rc);
        return failed;
    }
    if ran {
        if !applied.stdout.is_empty() {
            result.stdout = Some(applied.stdout);
        }
        if !applied.stderr.is_empty() {
            result.stderr = Some(applied.stderr);
        }
    }
    if applied.after.contains(&format!("{mark}-home-made")) {
        result.changed = true;
    }
    if !args.present {
        return result;
    }
    let sep = format!("{mark}\n");
    let mut parts = applied.after.split(&sep);
    let mut next = || parts.next().unwrap_or("");
    let (account, key, expiry) = (next(), next(), next());
    let Some(info) = account.lines().find_map(Passwd::parse) else {
        return ModuleResult::fail(format!("failed to look up user name: {}", args.name));
    };
    let mut result = finish(args, result, &info);
    if args.ssh_key.is_some() {
        result = KeyReport::parse(key, mark, &args.name).into_result(result, &args.name);
        if result.failed {
            return result;
        }
    }
    ExpiryReport::parse(expiry, mark).into_result(result, &args.name)
}

#[cfg(test)]
#[path = "user_tests.rs"]
mod tests;
