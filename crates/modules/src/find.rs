//! `find`: the files under `paths` that pass ansible-core 2.19.14's
//! lib/ansible/modules/find.py filters, each with find.py's `statinfo()`; `matched`,
//! `examined`, `msg`, `skipped_paths`. One round trip walks the host
//! ([`super::find_walk`]); a second brings content for `contains` and checksums for
//! `get_checksum` ([`super::find_content`]); the matching is find.py's `main()`
//! ([`super::find_match`]). Nothing changes, in check mode too.

use serde_json::Value;

use super::args::{ArgError, Args, Key, Mode, kind};
use super::context::ModuleContext;
use super::find_match::{Fetched, walk};
use super::probe::{algo_arg, call, nonce};
use super::pyre::{Pattern, compile};
use super::remote::Remote;
use super::result::ModuleResult;
use super::{find_content, find_walk};

/// A `patterns`/`excludes` entry: an `fnmatch` glob, or a Python regex with `use_regex`
/// (find.py's `pfilter()`: `re.compile(p).match(name)`).
#[derive(Debug, Clone)]
pub enum NamePattern {
    Glob(String),
    Regex(String, Pattern),
}

impl NamePattern {
    /// Whether a file's name (not its path) matches.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            NamePattern::Glob(g) => clearfleet_base::glob::fnmatch(g, name),
            NamePattern::Regex(_, re) => re.matches_at_start(name.as_bytes()),
        }
    }
}

impl PartialEq for NamePattern {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (NamePattern::Glob(a), NamePattern::Glob(b)) => a == b,
            (NamePattern::Regex(a, _), NamePattern::Regex(b, _)) => a == b,
            _ => false,
        }
    }
}

/// Arguments of `find` (find.py's argument spec).
#[derive(Debug, Clone)]
pub struct FindArgs {
    pub paths: Vec<String>,
    /// `['*']` (`['.*']` with `use_regex`) when none are given, as find.py sets them.
    pub patterns: Vec<NamePattern>,
    pub excludes: Vec<NamePattern>,
    pub contains: Option<Pattern>,
    pub read_whole_file: bool,
    /// `file`, `directory`, `link` or `any`.
    pub file_type: String,
    /// Seconds (negative: at most that old).
    pub age: Option<i64>,
    pub age_stamp: String,
    /// Bytes (negative: at most that large).
    pub size: Option<i64>,
    pub recurse: bool,
    pub hidden: bool,
    pub follow: bool,
    pub get_checksum: bool,
    pub checksum_algorithm: String,
    pub use_regex: bool,
    /// `None` or `Some(0)`: no limit (find.py's `if params['depth']`).
    pub depth: Option<i64>,
    /// Permission bits, from an octal string or a symbolic mode applied to 0.
    pub mode: Option<u32>,
    pub exact_mode: bool,
    pub encoding: Option<String>,
    pub limit: Option<i64>,
}

impl PartialEq for FindArgs {
    fn eq(&self, o: &Self) -> bool {
        format!("{self:?}") == format!("{o:?}")
    }
}

/// Accepted keys.
pub const KEYS: &[Key] = &[
    ("paths", &["name", "path"]),
    ("patterns", &["pattern"]),
    ("excludes", &["exclude"]),
    ("contains", &[]),
    ("read_whole_file", &[]),
    ("file_type", &[]),
    ("age", &[]),
    ("age_stamp", &[]),
    ("size", &[]),
    ("recurse", &[]),
    ("hidden", &[]),
    ("follow", &[]),
    ("get_checksum", &[]),
    ("checksum_algorithm", &["checksum", "checksum_algo"]),
    ("use_regex", &[]),
    ("depth", &[]),
    ("mode", &[]),
    ("exact_mode", &[]),
    ("encoding", &[]),
    ("limit", &[]),
];

/// find.py's `age`/`size` text: `^(-?\d+)(UNIT)?$` (case-insensitive), times the unit.
fn amount(text: &str, units: &[(char, i64)]) -> Option<i64> {
    let t = text.to_lowercase();
    let (num, mult) = match t.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => {
            let (_, m) = units.iter().find(|(u, _)| *u == c)?;
            (&t[..t.len() - 1], *m)
        }
        _ => (t.as_str(), 1),
    };
    let digits = num.strip_prefix('-').unwrap_or(num);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    num.parse::<i64>().ok()?.checked_mul(mult)
}

/// find.py's `mode`: a string only; `int(mode, 8)`, else a symbolic mode applied to 0
/// (`mode_filter()`); an empty one filters nothing.
fn mode_arg(a: &mut Args) -> Result<Option<u32>, ArgError> {
    let v = match a.value("mode") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.is_empty() => return Ok(None),
        Some(Value::Bool(false)) => return Ok(None),
        Some(Value::Number(n)) if n.as_f64() == Some(0.0) => return Ok(None),
        Some(Value::String(s)) => s,
        Some(other) => {
            let ty = match &other {
                Value::Number(n) if n.is_f64() => "float",
                Value::Number(_) => "int",
                Value::Bool(_) => "bool",
                v => kind(v),
            };
            return Err(ArgError::general(format!(
                "argument 'mode' is not a string and conversion is not allowed, value is of type {ty}"
            )));
        }
    };
    let t = v.trim();
    let octal = t
        .strip_prefix("0o")
        .or_else(|| t.strip_prefix("0O"))
        .unwrap_or(t);
    if let Ok(m) = u32::from_str_radix(octal, 8) {
        return Ok(Some(m & 0o7777));
    }
    Mode::parse(&Value::String(v.clone()), false)
        .and_then(|m| {
            m.resolve(Some(0), false)
                .map_err(|reason| super::args::ModeError::BadSymbolic {
                    mode: v.clone(),
                    reason,
                })
        })
        .map(|m| Some(m & 0o7777))
        .map_err(|e| ArgError::field("mode", e.to_string()))
}

impl FindArgs {
    /// Parses and checks the arguments, with find.py's failures for `age`, `size`, `limit`.
    pub fn parse(v: &Value) -> Result<FindArgs, ArgError> {
        let mut a = Args::new("find", KEYS, v)?;
        let paths = a
            .list_str("paths")?
            .ok_or_else(|| ArgError::field("paths", "missing required argument"))?;
        let use_regex = a.bool("use_regex", false)?;
        let names = |field: &str, list: Vec<String>| -> Result<Vec<NamePattern>, ArgError> {
            list.into_iter()
                .map(|p| {
                    if use_regex {
                        compile(field, &p).map(|re| NamePattern::Regex(p, re))
                    } else {
                        Ok(NamePattern::Glob(p))
                    }
                })
                .collect()
        };
        let mut patterns = a.list_str("patterns")?.unwrap_or_default();
        if patterns.is_empty() {
            patterns.push(if use_regex { ".*" } else { "*" }.to_owned());
        }
        let patterns = names("patterns", patterns)?;
        let excludes = names("excludes", a.list_str("excludes")?.unwrap_or_default())?;
        let contains = match a.str("contains")? {
            Some(c) => Some(compile("contains", &c)?),
            None => None,
        };
        let age = match a.str("age")? {
            None => None,
            Some(t) => Some(
                amount(
                    &t,
                    &[
                        ('s', 1),
                        ('m', 60),
                        ('h', 3600),
                        ('d', 86400),
                        ('w', 604800),
                    ],
                )
                .ok_or_else(|| ArgError::general("failed to process age"))?,
            ),
        };
        let size = match a.str("size")? {
            None => None,
            Some(t) => Some(
                amount(
                    &t,
                    &[
                        ('b', 1),
                        ('k', 1 << 10),
                        ('m', 1 << 20),
                        ('g', 1 << 30),
                        ('t', 1 << 40),
                    ],
                )
                .ok_or_else(|| ArgError::general("failed to process size"))?,
            ),
        };
        let limit = a.int("limit")?;
        if let Some(l) = limit.filter(|l| *l <= 0) {
            return Err(ArgError::general(format!(
                "limit cannot be {l} (use None for unlimited)"
            )));
        }
        let parsed = FindArgs {
            paths,
            patterns,
            excludes,
            contains,
            read_whole_file: a.bool("read_whole_file", false)?,
            file_type: a
                .choice(
                    "file_type",
                    &["any", "directory", "file", "link"],
                    Some("file"),
                )?
                .unwrap_or_default(),
            age,
            age_stamp: a
                .choice("age_stamp", &["atime", "ctime", "mtime"], Some("mtime"))?
                .unwrap_or_default(),
            size,
            recurse: a.bool("recurse", false)?,
            hidden: a.bool("hidden", false)?,
            follow: a.bool("follow", false)?,
            get_checksum: a.bool("get_checksum", false)?,
            checksum_algorithm: a
                .choice(
                    "checksum_algorithm",
                    &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"],
                    Some("sha1"),
                )?
                .unwrap_or_default(),
            use_regex,
            depth: a.int("depth")?,
            mode: mode_arg(&mut a)?,
            exact_mode: a.bool("exact_mode", true)?,
            encoding: a.str("encoding")?,
            limit,
        };
        a.finish()?;
        Ok(parsed)
    }

    /// How deep `find` on the host need go: one level without `recurse`; with `depth`, the
    /// level whose directories find.py still lists (it counts `/` in the joined path against
    /// the path's own, see [`super::find_match`]).
    fn max_depth(&self, path: &str) -> Option<u32> {
        if !self.recurse {
            return Some(1);
        }
        let d = self.depth.filter(|d| *d != 0)?;
        // Entries at level k have `depth = k + offset`; the directories at level k are listed
        // while `depth(k) <= d`, so entries down to level `d - offset + 1` are read.
        let norm = super::find_match::normpath(path);
        let base = match norm.as_str() {
            "/" => 0,
            "." => -1,
            n => n.matches('/').count() as i64,
        };
        let wpath = format!("{}/", path.trim_end_matches('/'));
        let offset = base - wpath.matches('/').count() as i64 + 1;
        Some((d - offset + 1).clamp(1, i64::from(u32::MAX)) as u32)
    }
}

/// Runs `find`.
pub async fn run<R: Remote>(args: &FindArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    // One depth for all paths: the deepest any of them needs (`~` paths count as plain).
    let max_depth = args
        .paths
        .iter()
        .map(|p| args.max_depth(p))
        .try_fold(0u32, |m, d| d.map(|d| m.max(d)));
    let out = match call(
        ctx,
        &find_walk::script(&args.paths, args.follow, max_depth),
        None,
        None,
    )
    .await
    {
        Ok(o) => o,
        Err(r) => return r,
    };
    let trees = match find_walk::parse(&out.stdout) {
        Ok(t) if t.len() == args.paths.len() => t,
        Ok(_) => {
            return ModuleResult::fail(format!(
                "could not walk the paths on the host (rc={:?}): {}",
                out.rc,
                out.stderr_text()
            ));
        }
        Err(e) => return ModuleResult::fail(e),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut fetched = Fetched {
        collect: true,
        ..Fetched::default()
    };
    let mut found = walk(args, &trees, now, &mut fetched);
    if !fetched.want_content.is_empty() || !fetched.want_checksum.is_empty() {
        let token = match nonce() {
            Ok(t) => t,
            Err(r) => return *r,
        };
        let algo = algo_arg(&args.checksum_algorithm).unwrap_or("1");
        let (c, k) = (&fetched.want_content, &fetched.want_checksum);
        let out = match call(ctx, &find_content::script(&token, c, k, algo), None, None).await {
            Ok(o) => o,
            Err(r) => return r,
        };
        let Some((contents, checksums)) = find_content::parse(&out.stdout, &token, c, k) else {
            return ModuleResult::fail(format!(
                "could not read the files on the host (rc={:?}): {}",
                out.rc,
                out.stderr_text()
            ));
        };
        let mut fetched = Fetched {
            contents,
            checksums,
            ..Fetched::default()
        };
        found = walk(args, &trees, now, &mut fetched);
    }
    let mut r = ModuleResult::ok();
    r.warnings = found.warnings;
    r.with_msg(found.msg)
        .with("matched", found.files.len())
        .with("examined", found.examined)
        .with("files", Value::Array(found.files))
        .with("skipped_paths", Value::Object(found.skipped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn age_and_size_as_find_py_reads_them() {
        let s = |t| amount(t, &[('b', 1), ('k', 1024)]);
        assert_eq!(s("10"), Some(10));
        assert_eq!(s("2k"), Some(2048));
        assert_eq!(s("-2K"), Some(-2048));
        assert_eq!(s("2x"), None);
        assert_eq!(s("k"), None);
        assert_eq!(s("1.5k"), None);
    }

    #[test]
    fn arguments_and_their_failures() {
        let a = FindArgs::parse(&json!({"paths": "/a,/b", "use_regex": true})).expect("test value");
        assert_eq!(a.paths, ["/a", "/b"]);
        assert!(a.patterns[0].matches("anything"));
        assert!(FindArgs::parse(&json!({"paths": "/a", "limit": 0})).is_err());
        assert!(FindArgs::parse(&json!({"paths": "/a", "mode": 420})).is_err());
        let m = FindArgs::parse(&json!({"paths": "/a", "mode": "u=rw"})).expect("test value");
        assert_eq!(m.mode, Some(0o600));
        let m = FindArgs::parse(&json!({"paths": "/a", "mode": "0644"})).expect("test value");
        assert_eq!(m.mode, Some(0o644));
        let g = FindArgs::parse(&json!({"path": "/a", "patterns": ["*.txt"]})).expect("test value");
        assert!(g.patterns[0].matches("x.txt"));
        assert!(!g.patterns[0].matches("x.txt.bak"));
    }
}
