//! unarchive's `mode`, `owner` and `group`, as ansible-core 2.19.14's module_utils/basic.py
//! applies them to every extracted path (`set_fs_attributes_if_different`: owner, then group,
//! then mode, each only where it differs, links left alone but for their owner): the mode as
//! `set_mode_if_different` reads it (an integer; a string of octal digits; else a symbolic
//! mode, `_symbolic_mode_to_octal` clause by clause, its `bad symbolic permission` error
//! included), and the shell loop that applies all three to the paths on the host in the same
//! round trip as the extraction.

use serde_json::Value;

use super::args::{ArgError, kind};

/// `mode` as unarchive takes it (`type='raw'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileMode {
    /// An integer, or a string `int(mode, 8)` reads.
    Bits(u32),
    /// Anything else: a symbolic mode, checked (and perhaps refused) when applied.
    Symbolic(String),
}

/// One step of a symbolic mode: `op` (`=`, `+`, `-`) of `perms` for one user class.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    user: char,
    op: char,
    perms: String,
    /// The clause named no user class: the umask's bits are left alone.
    use_umask: bool,
}

/// Python's `int(s, 8)`: surrounding whitespace, a sign, a `0o` prefix and `_` between digits.
fn python_octal(s: &str) -> Option<u32> {
    let t = s.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    let t = t
        .strip_prefix("0o")
        .or_else(|| t.strip_prefix("0O"))
        .unwrap_or(t);
    if t.is_empty() || t.starts_with('_') || t.ends_with('_') || t.contains("__") {
        return None;
    }
    let digits: String = t.chars().filter(|c| *c != '_').collect();
    if !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    u32::from_str_radix(&digits, 8).ok()
}

impl FileMode {
    /// Reads the argument (`None`: not given).
    pub fn parse(v: Option<Value>) -> Result<Option<FileMode>, ArgError> {
        Ok(match v {
            None => None,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(b) if b <= u64::from(u32::MAX) => Some(FileMode::Bits(b as u32)),
                _ => return Err(ArgError::field("mode", format!("{n} is not a valid mode"))),
            },
            Some(Value::String(s)) => Some(match python_octal(&s) {
                Some(b) => FileMode::Bits(b),
                None => FileMode::Symbolic(s),
            }),
            Some(other) => {
                return Err(ArgError::field(
                    "mode",
                    format!("expected a mode, got {}", kind(&other)),
                ));
            }
        })
    }

    /// `_symbolic_mode_to_octal`'s steps, or its error (`bad symbolic permission for mode:
    /// <clause>`, the `details` of the failure).
    fn steps(spec: &str) -> Result<Vec<Step>, String> {
        let mut out = Vec::new();
        for clause in spec.split(',') {
            let bad = || format!("bad symbolic permission for mode: {clause}");
            let mut parts = clause.split(['+', '=', '-']);
            let ops: Vec<char> = clause.chars().filter(|c| "+=-".contains(*c)).collect();
            let users = parts.next().unwrap_or_default();
            let use_umask = users.is_empty();
            let users = if users.is_empty() || users == "a" {
                "ugo"
            } else {
                users
            };
            if !users.chars().all(|c| "ugo".contains(c)) {
                return Err(bad());
            }
            for (perms, op) in parts.zip(ops) {
                if !perms.chars().all(|c| "rwxXstugo".contains(c)) {
                    return Err(bad());
                }
                for user in users.chars() {
                    out.push(Step {
                        user,
                        op,
                        perms: perms.to_owned(),
                        use_umask,
                    });
                }
            }
        }
        Ok(out)
    }

    /// The bits `set_mode_if_different` wants for a path of permission bits `current` (a
    /// directory: `is_dir`) under `umask`; `Err`: the failure's `details`.
    pub fn resolve(&self, current: u32, is_dir: bool, umask: u32) -> Result<u32, String> {
        let spec = match self {
            FileMode::Bits(b) => return Ok(*b),
            FileMode::Symbolic(s) => s,
        };
        let mut mode = current & 0o7777;
        for step in FileMode::steps(spec)? {
            let apply = step.perms.chars().fold(0, |acc, p| {
                acc | perm_bits(step.user, p, mode, is_dir, step.use_umask, umask)
            });
            mode = match step.op {
                '=' => (mode & (0o7777 ^ eq_mask(step.user))) | apply,
                '+' => mode | apply,
                _ => mode & !apply,
            };
        }
        Ok(mode)
    }

    /// POSIX sh arithmetic setting `w` (the wanted bits) from `m` (the path's bits), `dd` (1
    /// for a directory) and `um` (the umask); `Err`: the mode is refused (see [`Self::resolve`]).
    pub fn shell(&self) -> Result<String, String> {
        let spec = match self {
            FileMode::Bits(b) => return Ok(format!("w={b}")),
            FileMode::Symbolic(s) => s,
        };
        let mut s = String::from("w=$m");
        for step in FileMode::steps(spec)? {
            let terms: Vec<String> = step
                .perms
                .chars()
                .map(|p| perm_shell(step.user, p, step.use_umask))
                .collect();
            let apply = if terms.is_empty() {
                "0".to_owned()
            } else {
                terms.join(" | ")
            };
            s.push_str(&format!("; a=$(( {apply} ))"));
            s.push_str(&match step.op {
                '=' => format!("; w=$(( (w & {}) | a ))", 0o7777 ^ eq_mask(step.user)),
                '+' => "; w=$(( w | a ))".to_owned(),
                _ => "; w=$(( w & ~a ))".to_owned(),
            });
        }
        Ok(s)
    }
}

/// The bits `=` clears for a user class.
fn eq_mask(user: char) -> u32 {
    match user {
        'u' => 0o4700,
        'g' => 0o2070,
        _ => 0o1007,
    }
}

/// The shift of a user class's `rwx` bits.
fn shift(user: char) -> u32 {
    match user {
        'u' => 6,
        'g' => 3,
        _ => 0,
    }
}

/// `user_perms_to_modes[user][perm]` of `_get_octal_mode_from_symbolic_perms`.
fn perm_bits(user: char, perm: char, mode: u32, is_dir: bool, use_umask: bool, umask: u32) -> u32 {
    let at = shift(user);
    let masked = |bit: u32| {
        if use_umask {
            (umask ^ 0o7777) & (bit << at)
        } else {
            bit << at
        }
    };
    match perm {
        'r' => masked(4),
        'w' => masked(2),
        'x' => masked(1),
        'X' if is_dir || mode & 0o111 != 0 => 1 << at,
        'X' => 0,
        's' => match user {
            'u' => 0o4000,
            'g' => 0o2000,
            _ => 0,
        },
        't' => {
            if user == 'o' {
                0o1000
            } else {
                0
            }
        }
        // Another class's bits copied to this one.
        c => ((mode >> shift(c)) & 7) << at,
    }
}

/// [`perm_bits`] as a POSIX sh arithmetic term over `w`, `dd` and `um`.
fn perm_shell(user: char, perm: char, use_umask: bool) -> String {
    let at = shift(user);
    let masked = |bit: u32| {
        if use_umask {
            format!("({} & ~um)", bit << at)
        } else {
            format!("{}", bit << at)
        }
    };
    match perm {
        'r' => masked(4),
        'w' => masked(2),
        'x' => masked(1),
        'X' => format!("((dd || (w & 73)) ? {} : 0)", 1 << at),
        's' | 't' => perm_bits(user, perm, 0, false, false, 0).to_string(),
        c => format!("(((w >> {}) & 7) << {at})", shift(c)),
    }
}

/// The shell loop applying `owner` (`wu`: its uid), `group` (`wg`: its gid) and the mode to
/// the paths on its stdin (one a line), printing `C` when it changed one, and on a failure
/// one record and stopping: `F` (the path is missing), `O`/`G`/`M` (chown, chgrp, chmod
/// failed; then the tool's message), `E` (the mode is refused), `U`/`V` (the owner or group
/// is not known), each followed by the path and its `_cf_stat` line. `owner`/`group`:
/// whether given, and whether known (`wu`/`wg` set); `um` is the umask; `mode_code` is
/// [`FileMode::shell`]'s; `cf_d` a scratch directory.
pub fn loop_script(
    owner: Option<bool>,
    group: Option<bool>,
    mode_code: Option<&Result<String, String>>,
) -> String {
    let mut s = String::from(
        "_cf_l() { stat -c '%f %u %g' \"$1\" 2>/dev/null || stat -f '%Xp %u %g' \"$1\"; }\n\
         _cf_f() { printf '%s\\n%s\\n%s\\n' \"$1\" \"$p\" \"$(_cf_stat '' \"$p\")\"; }\n\
         while IFS= read -r p; do\n\
         if [ ! -e \"$p\" ] && [ ! -L \"$p\" ]; then _cf_f F; break; fi\n\
         set -- $(_cf_l \"$p\")\n",
    );
    match owner {
        None => {}
        Some(false) => s.push_str("_cf_f U; break\n"),
        Some(true) => s.push_str(
            "if [ \"$2\" != \"$wu\" ]; then chown -h \"$wu\" \"$p\" 2>\"$cf_d/ae\" || { _cf_f O; cat \"$cf_d/ae\"; break; }; echo C; set -- $(_cf_l \"$p\"); fi\n",
        ),
    }
    match group {
        None => {}
        Some(false) => s.push_str("_cf_f V; break\n"),
        Some(true) => s.push_str(
            "if [ \"$3\" != \"$wg\" ]; then chgrp -h \"$wg\" \"$p\" 2>\"$cf_d/ae\" || { _cf_f G; cat \"$cf_d/ae\"; break; }; echo C; set -- $(_cf_l \"$p\"); fi\n",
        ),
    }
    match mode_code {
        None => {}
        Some(Err(_)) => s.push_str("_cf_f E; break\n"),
        Some(Ok(code)) => {
            s.push_str(&format!(
                "m=$(( 0x$1 & 4095 )); dd=$(( (0x$1 & 61440) == 16384 )); {code}\n\
                 if [ \"$w\" -ne \"$m\" ]; then\n\
                 if [ $(( (0x$1 & 61440) == 40960 )) = 1 ]; then echo C\n\
                 else chmod \"$(printf '%o' \"$w\")\" \"$p\" 2>\"$cf_d/ae\" || {{ _cf_f M; cat \"$cf_d/ae\"; break; }}; echo C; fi\n\
                 fi\n"
            ));
        }
    }
    s.push_str("done\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mode(v: Value) -> FileMode {
        match FileMode::parse(Some(v)) {
            Ok(Some(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn strings_of_octal_digits_are_bits_the_rest_symbolic() {
        assert_eq!(mode(json!("0644")), FileMode::Bits(0o644));
        assert_eq!(mode(json!("644")), FileMode::Bits(0o644));
        assert_eq!(mode(json!(" 0o755 ")), FileMode::Bits(0o755));
        assert_eq!(mode(json!(420)), FileMode::Bits(0o644));
        assert_eq!(mode(json!("u+x")), FileMode::Symbolic("u+x".into()));
        assert!(FileMode::parse(Some(json!([1]))).is_err());
    }

    #[test]
    fn symbolic_modes_as_basic_py() {
        let r = |m: &str, cur: u32, dir: bool| mode(json!(m)).resolve(cur, dir, 0o022);
        assert_eq!(r("u+rwX,g-rwx,o-rwx", 0o644, false), Ok(0o600));
        assert_eq!(r("u+rwX,g-rwx,o-rwx", 0o755, true), Ok(0o700));
        assert_eq!(r("u+rwX-x,g-wx,o-wx,g+r,o+r", 0o600, false), Ok(0o644));
        assert_eq!(r("u+rwX-x,g-rwx,o=x", 0o644, false), Ok(0o601));
        assert_eq!(r("=rw", 0o000, false), Ok(0o644));
        assert_eq!(r("a=r", 0o777, false), Ok(0o444));
        assert_eq!(r("g=u", 0o750, false), Ok(0o770));
        assert_eq!(r("u+s,o+t", 0o755, true), Ok(0o5755));
        for bad in ["u=foo", "foo=r", "ufoo=r", "abc=r", "ao=r", "oa=r"] {
            assert_eq!(
                r(bad, 0o644, false),
                Err(format!("bad symbolic permission for mode: {bad}"))
            );
        }
    }

    #[test]
    fn the_shell_arithmetic_agrees_with_the_resolution() {
        let specs = [
            "u+rwX,g-rwx,o-rwx",
            "u+rwX-x,g-wx,o-wx,g+r,o+r",
            "=rw",
            "g=u,o=g",
            "u+s,g+s,o+t",
            "a-x",
            "0640",
        ];
        for spec in specs {
            let m = mode(json!(spec));
            let code = m.shell().unwrap_or_else(|e| panic!("{e}"));
            for (cur, dir) in [
                (0o644, false),
                (0o755, true),
                (0o600, false),
                (0o7777, true),
            ] {
                let raw = cur | if dir { 0o040000 } else { 0o100000 };
                let script = format!(
                    "um=18; m=$(( {raw} & 4095 )); dd={}; {code}; echo $w",
                    u8::from(dir)
                );
                let out = std::process::Command::new("/bin/sh")
                    .arg("-c")
                    .arg(&script)
                    .output()
                    .unwrap_or_else(|e| panic!("{e}"));
                let got: u32 = String::from_utf8_lossy(&out.stdout)
                    .trim()
                    .parse()
                    .unwrap_or(u32::MAX);
                assert_eq!(
                    Ok(got),
                    m.resolve(cur, dir, 0o022),
                    "{spec} on {cur:o}: {script}"
                );
            }
        }
    }
}
