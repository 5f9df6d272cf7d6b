//! The libuser commands `user` runs after `luseradd`/`lusermod` with `local: true`, where
//! shadow-utils take `-e` and `-G`: `lchage -E DAYS` for `expires` and one `lgroupmod -M`
//! (`-m`) per supplementary group to join (leave), as user.py's `create_user_useradd` and
//! `modify_user_usermod` run them (each only while the previous one succeeded).

use super::accounts::Word;

/// What libuser still has to do for an account once `luseradd`/`lusermod` has run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LibuserSteps {
    /// `lchage -E`: days since the epoch, -1 for never.
    pub expire_days: Option<i64>,
    /// Groups to join (`lgroupmod -M NAME GROUP`).
    pub join: Vec<String>,
    /// Groups to leave (`lgroupmod -m NAME GROUP`).
    pub leave: Vec<String>,
}

impl LibuserSteps {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.expire_days.is_none() && self.join.is_empty() && self.leave.is_empty()
    }

    /// The commands, in user.py's order: `lchage`, then the joins, then the leaves.
    pub fn commands(&self, name: &str) -> Vec<Vec<Word>> {
        let mut out = Vec::new();
        if let Some(days) = self.expire_days {
            out.push(vec![
                Word::lit("lchage"),
                Word::lit("-E"),
                Word::lit(days.to_string()),
                Word::lit(name),
            ]);
        }
        for (flag, groups) in [("-M", &self.join), ("-m", &self.leave)] {
            for group in groups {
                out.push(vec![
                    Word::lit("lgroupmod"),
                    Word::lit(flag),
                    Word::lit(name),
                    Word::lit(group.clone()),
                ]);
            }
        }
        out
    }
}

/// `expires` (seconds since the epoch) as `lchage -E` takes it: user.py's
/// `int(math.floor(expires)) // 86400`, or -1 for a time before the epoch (never expires).
pub fn expire_days(expires: f64) -> i64 {
    if expires < 0.0 {
        -1
    } else {
        (expires.floor() as i64).div_euclid(86400)
    }
}
