//! unarchive's two round trips (see [`super::unarchive`]): the scripts and the records they
//! print.
//!
//! The look (one script): `creates`, dest, the archive written from stdin into a temporary
//! directory (or `src` on the host, or downloaded from its URL), the checks of unarchive.py's
//! `main()`, the handlers tried in its order (`unzip -l`, `unzip -Z`, `tar --version`, one
//! `tar --list` per compression) and the chosen one's `is_unarchived` material: `tar --diff`,
//! or `zipinfo -T -s` with each listed path's `stat` and CRC-32 under dest, `unzip -v`,
//! `unzip -Z1`, the umask and who runs. The apply (one script): the extraction, then
//! `mode`/`owner`/`group` on every extracted path ([`super::unarchive_attrs`]), dest's `stat`,
//! and the temporary directories removed.
//!
//! Each step prints a record: `NONCE NAME RC OUTLEN ERRLEN`, a newline, then its stdout and
//! stderr (OUTLEN and ERRLEN bytes), so any bytes a tool prints are read back as they were.

use clearfleet_base::shell::quote;

use super::fetch_file;
use super::probe::{PRELUDE, qpath};

/// A word of a command: text, or dest or the archive as the host knows them (`"$ad"`,
/// `"$s"`) before the controller does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Word {
    Lit(String),
    Dest,
    Src,
}

impl Word {
    fn shell(&self) -> String {
        match self {
            Word::Lit(s) => quote(s),
            Word::Dest => "\"$ad\"".to_owned(),
            Word::Src => "\"$s\"".to_owned(),
        }
    }
}

fn lit(s: &str) -> Word {
    Word::Lit(s.to_owned())
}

/// A command as a shell line (its program first).
pub fn shell_line(words: &[Word]) -> String {
    words.iter().map(Word::shell).collect::<Vec<_>>().join(" ")
}

/// A command as unarchive.py reports it (`extract_results.cmd`): dest and the archive known.
pub fn literal(words: &[Word], dest: &str, src: &str) -> Vec<String> {
    words
        .iter()
        .map(|w| match w {
            Word::Lit(s) => s.clone(),
            Word::Dest => dest.to_owned(),
            Word::Src => src.to_owned(),
        })
        .collect()
}

/// The tar handlers in unarchive.py's order, with their compression option.
pub const TAR_HANDLERS: [(&str, Option<&str>); 5] = [
    ("TgzArchive", Some("-z")),
    ("TarArchive", None),
    ("TarBzipArchive", Some("-j")),
    ("TarXzArchive", Some("-J")),
    ("TarZstdArchive", Some("--use-compress-program=zstd")),
];

/// What the tar commands take from the task.
#[derive(Debug, Clone, Default)]
pub struct TarOpts {
    pub extra_opts: Vec<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub keep_newer: bool,
    /// `exclude`, each without its trailing `/`.
    pub excludes: Vec<String>,
    pub includes: Vec<String>,
}

/// `TgzArchive`'s command for `op` (`--list`, `--diff`, `--extract`; only the last two take
/// owner, group and keep_newer), after the program.
pub fn tar_args(op: &str, flag: Option<&str>, o: &TarOpts) -> Vec<Word> {
    let mut c = vec![lit(op), lit("-C"), Word::Dest];
    if let Some(f) = flag {
        c.push(lit(f));
    }
    if !o.extra_opts.is_empty() {
        c.push(lit("--show-transformed-names"));
        c.extend(o.extra_opts.iter().map(|s| lit(s)));
    }
    if op != "--list" {
        if let Some(owner) = &o.owner {
            c.push(Word::Lit(format!("--owner={}", quote(owner))));
        }
        if let Some(group) = &o.group {
            c.push(Word::Lit(format!("--group={}", quote(group))));
        }
        if o.keep_newer {
            c.push(lit("--keep-newer-files"));
        }
    }
    c.extend(
        o.excludes
            .iter()
            .map(|e| Word::Lit(format!("--exclude={e}"))),
    );
    c.push(lit("-f"));
    c.push(Word::Src);
    c.extend(o.includes.iter().map(|s| lit(s)));
    c
}

/// A tar command run as `run_command(cmd, cwd=b_dest, environ_update=<locale>)` does: in
/// dest, under the locale `$l`, reading nothing; its output in `$cf_d/o` and `$cf_d/e`.
pub fn tar_run(program: &str, args: &[Word]) -> String {
    format!(
        "( cd \"$ad\" 2>/dev/null; LANG=$l LC_ALL=$l LC_MESSAGES=$l LANGUAGE=$l; export LANG LC_ALL LC_MESSAGES LANGUAGE; exec {program} {} ) </dev/null >\"$cf_d/o\" 2>\"$cf_d/e\"",
        shell_line(args)
    )
}

/// `get_best_parsable_locale`: `l` set to the first of its preferences `locale -a` lists, else
/// `C`.
pub(super) const LOCALE: &str = "l=C; if cf_a=$(locale -a 2>/dev/null) && [ -n \"$cf_a\" ]; then \
for cf_c in C.utf8 C.UTF-8 en_US.utf8 en_US.UTF-8 C POSIX; do \
if printf '%s\\n' \"$cf_a\" | grep -qxF \"$cf_c\"; then l=$cf_c; break; fi; done; fi\n";

/// Record helpers: `_cf_e NAME RC` prints `$cf_d/o` and `$cf_d/e` as a record, `_cf_v NAME
/// VALUE` a value.
pub(super) const RECORDS: &str = "_cf_e() { printf '%s %s %s %s %s\\n' \"$n\" \"$1\" \"$2\" $(( $(wc -c <\"$cf_d/o\") )) $(( $(wc -c <\"$cf_d/e\") )); cat \"$cf_d/o\" \"$cf_d/e\"; }\n\
_cf_v() { printf '%s' \"$2\" >\"$cf_d/o\"; : >\"$cf_d/e\"; _cf_e \"$1\" 0; }\n";

/// Where the archive comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The controller's, on stdin (to `TMP/source`, made executable as the action's
    /// `_fixup_perms2` makes it: unzip's messages say so).
    Upload,
    /// A path on the host.
    Remote(String),
    /// A URL the host downloads (its curl config, wgetrc and URL on stdin, split by `sep`)
    /// into `TMP/<prefix>XXXXXXXX<ext>`.
    Url {
        prefix: String,
        ext: String,
        sep: String,
    },
}

/// The look's inputs.
#[derive(Debug, Clone)]
pub struct Query {
    pub nonce: String,
    pub creates: Option<String>,
    pub dest: String,
    pub source: Source,
    pub check_mode: bool,
    pub tar: TarOpts,
    /// `exclude` and `include` as the zip handler takes them.
    pub zip_excludes: Vec<String>,
    pub zip_includes: Vec<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
    /// Keep the temporary directory for the apply (it holds the archive).
    pub keep: bool,
}

/// The look script (see the module documentation).
pub fn query_script(q: &Query) -> String {
    let mut s = format!("{PRELUDE}n={}\n{RECORDS}", q.nonce);
    if let Some(c) = &q.creates {
        s.push_str(&format!(
            "if [ -e {} ]; then printf '%s creates\\n' \"$n\"; exit 0; fi\n",
            qpath(c)
        ));
    }
    s.push_str(&format!(
        "d={}\n\
         if [ ! -d \"$d\" ]; then printf '%s nodest\\n' \"$n\"; exit 0; fi\n\
         w=$(mktemp -d \"${{TMPDIR:-/tmp}}/clearfleet-unarchive.XXXXXXXX\") || exit 1\n\
         cf_d=$w\n\
         _cf_fail() {{ rm -rf \"$w\"; exit 0; }}\n\
         case $d in /*) ad=$d ;; *) ad=$(pwd)/$d ;; esac\n\
         _cf_v pwd \"$(pwd)\"; _cf_v w \"$w\"\n",
        qpath(&q.dest)
    ));
    match &q.source {
        Source::Upload => s.push_str(
            "s=$w/source\ncat >\"$s\" && chmod u+x \"$s\" || rm -f \"$s\"\n\
             [ -e \"$s\" ] || { _cf_v nosrc \"\"; _cf_fail; }\n",
        ),
        Source::Remote(src) => s.push_str(&format!(
            "s={}\n[ -e \"$s\" ] || {{ _cf_v nosrc \"\"; _cf_fail; }}\n",
            qpath(src)
        )),
        Source::Url { prefix, ext, sep } => {
            s.push_str(": >\"$w/o\"\n");
            s.push_str(&fetch_file::script(
                prefix,
                ext,
                sep,
                "_cf_fail",
                "_cf_e download $r; _cf_fail",
            ));
        }
    }
    s.push_str(
        "[ -r \"$s\" ] || { _cf_v unreadable \"$s\"; _cf_fail; }\n\
         case $s in /*) ;; *) s=$(pwd)/$s ;; esac\n\
         _cf_v src \"$s\"\n\
         [ -s \"$s\" ] || { _cf_v empty \"\"; _cf_fail; }\n\
         [ -d \"$ad\" ] || { _cf_v notdir \"\"; _cf_fail; }\n\
         uz=$(command -v unzip 2>/dev/null); zi=$(command -v zipinfo 2>/dev/null)\n\
         _cf_v unzip \"$uz\"; _cf_v zipinfo \"$zi\"\n\
         h=\n\
         if [ -n \"$uz\" ]; then\n\
         \"$uz\" -l \"$s\" </dev/null >\"$w/o\" 2>\"$w/e\"; r=$?; _cf_e unzip-l $r\n\
         if [ $r = 0 ]; then\n\
         if [ -n \"$zi\" ]; then h=zip\n\
         else \"$uz\" -Zl </dev/null >\"$w/o\" 2>\"$w/e\"; r=$?; _cf_e unzip-Z $r; grep -qi zipinfo \"$w/o\" && h=zipz; fi\n\
         fi\nfi\n\
         if [ -z \"$h\" ]; then\n",
    );
    if q.check_mode {
        s.push_str("_cf_v checkskip \"\"; _cf_fail\n");
    }
    s.push_str(&format!(
        "t=$(command -v gtar 2>/dev/null || command -v tar 2>/dev/null)\n\
         _cf_v tar \"$t\"\n\
         g=\n\
         if [ -n \"$t\" ]; then \"$t\" --version </dev/null >\"$w/o\" 2>\"$w/e\"; _cf_e tarv $?\n\
         case $(head -n 1 \"$w/o\") in tar*) grep -q GNU \"$w/o\" && g=1 ;; esac; fi\n\
         if [ -n \"$g\" ]; then\n\
         {LOCALE}\
         _cf_v loc \"$l\"\n"
    ));
    for (i, (_, flag)) in TAR_HANDLERS.iter().enumerate() {
        s.push_str(&format!(
            "if [ -z \"$h\" ]; then {}; r=$?; _cf_e list{i} $r; [ $r = 0 ] && [ -s \"$w/o\" ] && h=tar{i}; fi\n",
            tar_run("\"$t\"", &tar_args("--list", *flag, &q.tar))
        ));
    }
    s.push_str("fi\nfi\n[ -n \"$h\" ] || _cf_fail\n_cf_v handler \"$h\"\n");
    for (i, (_, flag)) in TAR_HANDLERS.iter().enumerate() {
        s.push_str(&format!(
            "if [ \"$h\" = tar{i} ]; then {}; _cf_e diff $?; fi\n",
            tar_run("\"$t\"", &tar_args("--diff", *flag, &q.tar))
        ));
    }
    let mut filters: Vec<Word> = Vec::new();
    if !q.zip_excludes.is_empty() {
        filters.push(lit("-x"));
        filters.extend(q.zip_excludes.iter().map(|e| lit(e)));
    }
    filters.extend(q.zip_includes.iter().map(|i| lit(i)));
    let ids = |db: &str, v: &Option<String>| match v {
        Some(x) => format!(
            "getent {db} {} 2>/dev/null | head -n 1 >\"$w/o\"; : >\"$w/e\"; _cf_e {db} 0\n",
            quote(x)
        ),
        None => String::new(),
    };
    s.push_str(&format!(
        "case $h in zip*)\n\
         if [ \"$h\" = zip ]; then zc=$zi; zf=; else zc=$uz; zf=-Zl; fi\n\
         \"$zc\" $zf -T -s \"$s\" {filters} </dev/null >\"$w/zo\" 2>\"$w/e\"; r=$?; cp \"$w/zo\" \"$w/o\"; _cf_e zipinfo $r\n\
         awk {stamps} \"$w/zo\" >\"$w/o\" 2>\"$w/e\"; _cf_e stamps $?\n\
         cf_g=; stat --printf '' / >/dev/null 2>&1 && cf_g=1\n\
         while read -r f1 f2 f3 f4 f5 f6 f7 nm; do\n\
         [ ${{#f7}} -eq 15 ] && [ -n \"$nm\" ] || continue\n\
         p=$ad/$nm\n\
         if [ -e \"$p\" ] || [ -L \"$p\" ]; then\n\
         if [ -n \"$cf_g\" ]; then st=$(stat --printf '%f|%u|%g|%U|%G|%s|%.9X|%.9Y|%.9Z|%i|%d|%h|' -- \"$p\")\n\
         else st=$(stat -f '%Xp|%u|%g|%Su|%Sg|%z|%Fa|%Fm|%Fc|%i|%d|%l|' -- \"$p\"); fi\n\
         k=-; if [ -f \"$p\" ] && [ ! -L \"$p\" ] && [ -r \"$p\" ]; then k=$(gzip -1c <\"$p\" | tail -c 8 | od -An -tu1 | tr -s ' \\n' '  '); fi\n\
         printf 'R%s\\0%s\\0%s\\0' \"$nm\" \"$st\" \"$k\"\n\
         fi\n\
         done <\"$w/zo\" >\"$w/o\" 2>\"$w/e\"; _cf_e present 0\n\
         \"$uz\" -v \"$s\" </dev/null >\"$w/o\" 2>\"$w/e\"; _cf_e crcs $?\n\
         \"$uz\" -Z1 \"$s\" </dev/null >\"$w/o\" 2>\"$w/e\"; _cf_e names $?;;\n\
         esac\n\
         printf '%s\\n' \"$(umask)\" \"$(uname -s)\" \"$(id -u)\" \"$(id -g)\" \"$(id -un 2>/dev/null)\" \"$(id -gn 2>/dev/null)\" \"$(id -G)\" >\"$w/o\"; : >\"$w/e\"; _cf_e ids 0\n\
         {pw}{gr}",
        filters = shell_line(&filters),
        stamps = quote(STAMPS),
        pw = ids("passwd", &q.owner),
        gr = ids("group", &q.group),
    ));
    s.push_str("_cf_v dst \"$(_cf_stat '' \"$d\")\"\n");
    if !q.keep {
        s.push_str("rm -rf \"$w\"\n");
    }
    s
}

/// awk over `zipinfo -T -s`'s lines: each member line's time stamp as `_valid_time_stamp`
/// makes it (clamped to 1980-2107, `time.mktime` with `tm_isdst` 0: awk's `mktime` with DST
/// flag 0), else `-`.
const STAMPS: &str = r#"{ t = $7; if (NF < 8 || length(t) != 15) { print "-"; next }
  if (t !~ /^[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][.][0-9][0-9][0-9][0-9][0-9][0-9]$/) { print mktime("1980 01 01 00 00 00 0"); next }
  y = substr(t, 1, 4) + 0
  if (y < 1980) s = "1980 01 01 00 00 00"
  else if (y > 2107) s = "2107 12 31 23 59 59"
  else s = substr(t, 1, 4) " " substr(t, 5, 2) " " substr(t, 7, 2) " " substr(t, 10, 2) " " substr(t, 12, 2) " " substr(t, 14, 2)
  print mktime(s " 0") }"#;

/// The apply's inputs.
#[derive(Debug, Clone)]
pub struct Apply {
    pub nonce: String,
    /// dest as given, and as an absolute path.
    pub dest: String,
    pub abs_dest: String,
    /// The look's temporary directory, removed at the end.
    pub query_dir: Option<String>,
    /// The extraction command, run in dest (tar, with the locale `loc`) or where the session
    /// starts (unzip).
    pub extract: Option<(Vec<String>, bool)>,
    pub loc: String,
    /// The attribute loop ([`super::unarchive_attrs::loop_script`]) with `wu`, `wg`, over
    /// the paths on stdin.
    pub attrs: Option<(String, Option<String>, Option<String>)>,
}

/// The apply script (see the module documentation).
pub fn apply_script(a: &Apply) -> String {
    let mut s = format!(
        "{PRELUDE}n={}\n{RECORDS}d={}\nad={}\nl={}\n\
         cf_d=$(mktemp -d \"${{TMPDIR:-/tmp}}/clearfleet-unarchive.XXXXXXXX\") || exit 1\n\
         _cf_done() {{ _cf_v dst \"$(_cf_stat '' \"$d\")\"; rm -rf \"$cf_d\" {}; exit 0; }}\n",
        a.nonce,
        qpath(&a.dest),
        qpath(&a.abs_dest),
        quote(&a.loc),
        a.query_dir.as_deref().map(qpath).unwrap_or_default(),
    );
    if let Some((cmd, tar)) = &a.extract {
        let words: Vec<Word> = cmd.iter().map(|w| lit(w)).collect();
        if *tar {
            s.push_str(&tar_run(&quote(&cmd[0]), &words[1..]));
        } else {
            s.push_str(&format!(
                "{} </dev/null >\"$cf_d/o\" 2>\"$cf_d/e\"",
                shell_line(&words)
            ));
        }
        s.push_str("\nr=$?; _cf_e extract $r; [ $r = 0 ] || _cf_done\n");
    }
    if let Some((code, wu, wg)) = &a.attrs {
        s.push_str(&format!(
            "wu={}; wg={}; um=$(( $(umask) ))\n( {code} ) >\"$cf_d/o\" 2>\"$cf_d/e\"; _cf_e attrs 0\n",
            quote(wu.as_deref().unwrap_or_default()),
            quote(wg.as_deref().unwrap_or_default()),
        ));
    }
    s.push_str("_cf_done\n");
    s
}

/// One step's record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rec {
    pub rc: i32,
    pub out: Vec<u8>,
    pub err: Vec<u8>,
}

impl Rec {
    pub fn out_text(&self) -> String {
        String::from_utf8_lossy(&self.out).into_owned()
    }

    pub fn err_text(&self) -> String {
        String::from_utf8_lossy(&self.err).into_owned()
    }
}

/// What a script printed: its early word (`creates`, `nodest`) or its records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Records {
    pub early: Option<String>,
    pub recs: Vec<(String, Rec)>,
}

impl Records {
    /// The last record named `name`.
    pub fn get(&self, name: &str) -> Option<&Rec> {
        self.recs
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r)
    }

    /// A value record's text.
    pub fn value(&self, name: &str) -> Option<String> {
        self.get(name).map(Rec::out_text)
    }

    /// Reads a script's stdout (`nonce` its records' mark); `Err`: a record cut short.
    pub fn parse(stdout: &[u8], nonce: &str) -> Result<Records, String> {
        let mut r = Records::default();
        let mut pos = 0;
        while pos < stdout.len() {
            let end = stdout[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(stdout.len(), |i| pos + i);
            let line = String::from_utf8_lossy(&stdout[pos..end]).into_owned();
            pos = (end + 1).min(stdout.len());
            let f: Vec<&str> = line.split(' ').collect();
            match f[..] {
                [n, word] if n == nonce => r.early = Some(word.to_owned()),
                [n, name, rc, olen, elen] if n == nonce => {
                    let num = |s: &str| {
                        s.parse::<usize>()
                            .map_err(|_| format!("bad record {line:?}"))
                    };
                    let (olen, elen) = (num(olen)?, num(elen)?);
                    if pos + olen + elen > stdout.len() {
                        return Err(format!("record {name} cut short"));
                    }
                    let rec = Rec {
                        rc: rc.parse().unwrap_or(-1),
                        out: stdout[pos..pos + olen].to_vec(),
                        err: stdout[pos + olen..pos + olen + elen].to_vec(),
                    };
                    pos += olen + elen;
                    r.recs.push((name.to_owned(), rec));
                }
                _ => {}
            }
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_commands_as_unarchive_py_builds_them() {
        let o = TarOpts {
            extra_opts: vec!["--strip-components=1".into()],
            owner: Some("a b".into()),
            keep_newer: true,
            excludes: vec!["x".into()],
            includes: vec!["d/y".into()],
            ..TarOpts::default()
        };
        let c = literal(&tar_args("--extract", Some("-z"), &o), "/d", "/s.tgz");
        assert_eq!(
            c,
            [
                "--extract",
                "-C",
                "/d",
                "-z",
                "--show-transformed-names",
                "--strip-components=1",
                "--owner='a b'",
                "--keep-newer-files",
                "--exclude=x",
                "-f",
                "/s.tgz",
                "d/y"
            ]
        );
        let l = literal(&tar_args("--list", None, &o), "/d", "/s");
        assert!(!l.iter().any(|w| w.starts_with("--owner")), "{l:?}");
    }

    #[test]
    fn records_carry_any_bytes() {
        let out = b"n1 early\nn1 a 0 3 5\nx\ny\0zerrn1 b 2 0 0\n";
        let r = Records::parse(out, "n1").unwrap_or_default();
        assert_eq!(r.early.as_deref(), Some("early"));
        assert_eq!(r.get("a").map(|a| a.out.clone()), Some(b"x\ny".to_vec()));
        assert_eq!(r.get("a").map(|a| a.err.clone()), Some(b"\0zerr".to_vec()));
        assert_eq!(r.get("b").map(|b| b.rc), Some(2));
        assert!(Records::parse(b"n1 a 0 9 0\nshort", "n1").is_err());
    }
}
