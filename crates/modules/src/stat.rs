//! `stat`: what a path is, in Ansible's `stat` dictionary; one round trip (two with `get_mime`,
//! the default, for a path that exists), never a change.

use serde_json::{Map, Value, json};

use super::args::{ArgError, Args, Key};
use super::context::ModuleContext;
use super::probe::{Info, Kind, Probe, algo_arg, call, probe, qpath};
use super::remote::Remote;
use super::result::ModuleResult;

/// Arguments of `stat`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatArgs {
    pub path: String,
    pub follow: bool,
    pub get_checksum: bool,
    /// `sha1` (default), `sha224`, `sha256`, `sha384`, `sha512`, `md5`.
    pub checksum_algorithm: String,
    /// `mimetype` and `charset` from the host's `file` command (default true).
    pub get_mime: bool,
    /// `version`, `attributes` and `attr_flags` from `lsattr` (default true).
    pub get_attributes: bool,
}

/// Accepted keys.
pub const KEYS: &[Key] = &[
    ("path", &["dest", "name"]),
    ("follow", &[]),
    ("get_checksum", &[]),
    ("checksum_algorithm", &["checksum", "checksum_algo"]),
    ("get_mime", &["mime", "mime_type", "mime-type"]),
    ("get_attributes", &["attr", "attributes"]),
];

impl StatArgs {
    /// Parses and checks the arguments.
    pub fn parse(v: &Value) -> Result<StatArgs, ArgError> {
        let mut a = Args::new("stat", KEYS, v)?;
        let parsed = StatArgs {
            path: a.req_str("path")?,
            follow: a.bool("follow", false)?,
            get_checksum: a.bool("get_checksum", true)?,
            checksum_algorithm: a
                .choice(
                    "checksum_algorithm",
                    &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"],
                    Some("sha1"),
                )?
                .unwrap_or_default(),
            get_mime: a.bool("get_mime", true)?,
            get_attributes: a.bool("get_attributes", true)?,
        };
        a.finish()?;
        Ok(parsed)
    }
}

/// Runs `stat`.
pub async fn run<R: Remote>(args: &StatArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let p = Probe {
        follow: args.follow,
        checksum: if args.get_checksum {
            algo_arg(&args.checksum_algorithm)
        } else {
            None
        },
        attributes: args.get_attributes,
        ..Probe::stat(&args.path)
    };
    let info = match probe(ctx, &[p]).await {
        Ok(mut p) => p.infos.remove(0),
        Err(r) => return r,
    };
    let mut stat = stat_dict(&args.path, &info, args.get_checksum);
    if args.get_mime
        && info.exists
        && let Value::Object(m) = &mut stat
    {
        let (mimetype, charset) = mime(ctx, &args.path).await;
        m.insert("mimetype".into(), json!(mimetype));
        m.insert("charset".into(), json!(charset));
    }
    if args.get_attributes
        && info.exists
        && let Value::Object(m) = &mut stat
    {
        for (k, v) in super::file_attrs::stat_fields(&info) {
            m.insert(k.into(), v);
        }
    }
    ModuleResult::ok().with("stat", stat)
}

/// `mimetype` and `charset` as Ansible's stat gets them: `file --mime-type --mime-encoding`
/// (one more round trip), its last `: type; charset=x`; `unknown` for both without `file` or
/// when it fails.
async fn mime<R: Remote>(ctx: &ModuleContext<'_, R>, path: &str) -> (String, String) {
    let unknown = || ("unknown".to_owned(), "unknown".to_owned());
    let script = format!(
        "command -v file >/dev/null 2>&1 || exit 9\nfile --mime-type --mime-encoding {}\n",
        qpath(path)
    );
    let Ok(out) = call(ctx, &script, None, None).await else {
        return unknown();
    };
    if out.rc != Some(0) {
        return unknown();
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let parsed = text.trim_end().rsplit_once(':').and_then(|(_, rest)| {
        let (mimetype, charset) = rest.split_once(';')?;
        let (_, charset) = charset.split_once('=')?;
        Some((mimetype.trim().to_owned(), charset.trim().to_owned()))
    });
    parsed.unwrap_or_else(unknown)
}

/// Ansible's `stat` dictionary.
pub fn stat_dict(path: &str, info: &Info, checksum: bool) -> Value {
    if !info.exists {
        return json!({ "exists": false });
    }
    let k = info.kind;
    let m = info.mode;
    let mut d = Map::new();
    let mut put = |k: &str, v: Value| {
        d.insert(k.to_owned(), v);
    };
    put("exists", json!(true));
    put("path", json!(path));
    put("mode", json!(info.mode_str()));
    put("isdir", json!(k == Some(Kind::Directory)));
    put("ischr", json!(k == Some(Kind::Char)));
    put("isblk", json!(k == Some(Kind::Block)));
    put("isreg", json!(k == Some(Kind::File)));
    put("isfifo", json!(k == Some(Kind::Fifo)));
    put("islnk", json!(k == Some(Kind::Link)));
    put("issock", json!(k == Some(Kind::Socket)));
    put("uid", json!(info.uid));
    put("gid", json!(info.gid));
    put("size", json!(info.size));
    put("inode", json!(info.inode));
    put("dev", json!(info.dev));
    put("nlink", json!(info.nlink));
    put("atime", json!(info.atime));
    put("mtime", json!(info.mtime));
    put("ctime", json!(info.ctime));
    put("wusr", json!(m & 0o200 != 0));
    put("rusr", json!(m & 0o400 != 0));
    put("xusr", json!(m & 0o100 != 0));
    put("wgrp", json!(m & 0o020 != 0));
    put("rgrp", json!(m & 0o040 != 0));
    put("xgrp", json!(m & 0o010 != 0));
    put("woth", json!(m & 0o002 != 0));
    put("roth", json!(m & 0o004 != 0));
    put("xoth", json!(m & 0o001 != 0));
    put("isuid", json!(m & 0o4000 != 0));
    put("isgid", json!(m & 0o2000 != 0));
    put("pw_name", json!(info.owner));
    put("gr_name", json!(info.group));
    put("readable", json!(info.readable));
    put("writeable", json!(info.writeable));
    put("executable", json!(info.executable));
    if let Some(t) = &info.link_target {
        put("lnk_target", json!(t));
    }
    if checksum && let Some(c) = &info.checksum {
        put("checksum", json!(c));
    }
    Value::Object(d)
}
