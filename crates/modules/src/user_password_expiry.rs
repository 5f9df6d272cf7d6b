//! `user`'s `password_expire_min`, `password_expire_max` and `password_expire_warn`: `chage
//! -m/-M/-W` for the fields of the shadow entry that differ, run last, as `set_password_expire`
//! of ansible-core 2.19.14's lib/ansible/modules/user.py does (an account without a shadow
//! entry is left alone; an empty field is -1, as `getspnam` gives it). One shell script both
//! decides and (outside a dry run) acts, so a new account's entry is compared once it exists.

use super::result::ModuleResult;
use clearfleet_base::shell::quote;

/// The wanted ages, in days (`None`: not given).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expiry {
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub warn: Option<i64>,
}

impl Expiry {
    /// Whether any was given.
    pub fn wanted(&self) -> bool {
        self.min.is_some() || self.max.is_some() || self.warn.is_some()
    }

    /// The script comparing the shadow entry of `name` and (unless `dry`) running `chage`; its
    /// events on lines `MARK-x EVENT` ([`ExpiryReport::parse`]).
    pub fn script(&self, name: &str, dry: bool, mark: &str) -> String {
        let m = format!("{mark}-x");
        let mut s = format!(
            "cf_sp=$(getent shadow -- {name} | head -n 1)\n\
             if [ -n \"$cf_sp\" ]; then\n\
             set --\n",
            name = quote(name)
        );
        // Shadow fields 4, 5 and 6: minimum, maximum and warning ages.
        for (value, field, flag) in [
            (self.min, 4, "-m"),
            (self.max, 5, "-M"),
            (self.warn, 6, "-W"),
        ] {
            if let Some(v) = value {
                s.push_str(&format!(
                    "cf_f=$(printf '%s\\n' \"$cf_sp\" | cut -d: -f{field}); [ -n \"$cf_f\" ] || cf_f=-1\n\
                     [ \"$cf_f\" = {v} ] || set -- \"$@\" {flag} {v}\n"
                ));
            }
        }
        if dry {
            s.push_str(&format!("[ $# = 0 ] || echo {m} change\n"));
        } else {
            s.push_str(&format!(
                "if [ $# != 0 ]; then\n\
                 cf_err=$(chage \"$@\" {name} 2>&1 >/dev/null)\n\
                 echo {m} rc $?; printf '%s\\n' \"$cf_err\"\n\
                 fi\n",
                name = quote(name)
            ));
        }
        s.push_str("fi\n");
        s
    }
}

/// What the expiry script reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpiryReport {
    /// `chage` ran (or, dry, would run).
    pub changed: bool,
    /// `chage` failed: its stderr and rc.
    pub failure: Option<(String, i32)>,
}

impl ExpiryReport {
    /// Reads the output of [`Expiry::script`].
    pub fn parse(out: &str, mark: &str) -> ExpiryReport {
        let prefix = format!("{mark}-x ");
        let mut report = ExpiryReport::default();
        let mut lines = out.lines();
        while let Some(line) = lines.next() {
            match line.strip_prefix(&prefix) {
                Some("change") => report.changed = true,
                Some(rc) => {
                    let rc: i32 = rc.trim_start_matches("rc ").trim().parse().unwrap_or(-1);
                    if rc == 0 {
                        report.changed = true;
                    } else {
                        let err: Vec<&str> = lines.by_ref().collect();
                        report.failure = Some((err.join("\n"), rc));
                    }
                }
                None => {}
            }
        }
        report
    }

    /// `result` changed by it, or user.py's `fail_json(name=..., msg=err, rc=rc)`.
    pub fn into_result(self, mut result: ModuleResult, name: &str) -> ModuleResult {
        if let Some((msg, rc)) = self.failure {
            let mut failed = ModuleResult::fail(msg).with("name", name);
            failed.rc = Some(rc);
            failed.warnings = result.warnings;
            return failed;
        }
        result.changed |= self.changed;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_given_ages_are_compared_and_quoted() {
        let e = Expiry {
            min: Some(5),
            max: None,
            warn: Some(28),
        };
        let s = e.script("a b", false, "M");
        assert!(
            s.contains("-f4") && s.contains("-f6") && !s.contains("-f5"),
            "{s}"
        );
        assert!(s.contains("chage \"$@\" 'a b'"), "{s}");
        assert!(!e.script("a", true, "M").contains("chage"));
    }

    #[test]
    fn reports() {
        assert!(ExpiryReport::parse("M-x change\n", "M").changed);
        assert!(ExpiryReport::parse("M-x rc 0\n\n", "M").changed);
        assert_eq!(
            ExpiryReport::parse("M-x rc 1\nchage: bad\n", "M").failure,
            Some(("chage: bad".to_owned(), 1))
        );
        assert_eq!(ExpiryReport::parse("", "M"), ExpiryReport::default());
    }
}
