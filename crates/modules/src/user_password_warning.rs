//! `user`'s warning for a `password` that does not look like a crypt hash, as
//! `check_password_encrypted` of ansible-core 2.19.14's lib/ansible/modules/user.py words and
//! decides it (the values that disable an account, `*`, `!` and `*************`, pass).

/// user.py's warning.
pub const NOT_HASHED: &str = "The input password appears not to have been hashed. The 'password' \
     argument must be encrypted for this module to work properly.";

/// The warning for `password`, if it gets one.
pub fn warning(password: &str) -> Option<&'static str> {
    if password.is_empty() || ["*", "!", "*************"].contains(&password) {
        return None;
    }
    let mut invalid = password.contains([':', '*', '!']);
    if !password.contains('$') {
        invalid = true;
    } else {
        let fields: Vec<&str> = password.split('$').collect();
        match fields.as_slice() {
            [_, kind, .., last] if fields.len() >= 3 => {
                // _HASH_RE: a character outside the crypt alphabet.
                if last
                    .chars()
                    .any(|c| !(c.is_ascii_alphanumeric() || "./=".contains(c)))
                {
                    invalid = true;
                }
                let wanted = match *kind {
                    "1" => Some(22),
                    "5" | "y" => Some(43),
                    "6" => Some(86),
                    _ => None,
                };
                if wanted.is_some_and(|n| last.chars().count() != n) {
                    invalid = true;
                }
            }
            _ => invalid = true,
        }
    }
    invalid.then_some(NOT_HASHED)
}

#[cfg(test)]
mod tests {
    use super::warning;

    #[test]
    fn as_user_py_decides() {
        assert!(warning("plaintextpassword").is_some());
        assert!(warning("$6$rounds=656000$tgK3gYTyRLUmhyv2$lAFrYUQwn7E6VsjPOwQwoSx30lmpiU9r/E0Al7tzKrR9mkodcMEZGe9OXD0H/clOn6qdsUnaL4zefy5fG+++++").is_some());
        for ok in [
            "!",
            "*",
            "*************",
            "",
            "$y$jCT$ZiF3ZV39/maUl9Lzt2Hk80$Ih6bI4OXU52OnWWqt3T1BAmVn8eH.4qlcP.8/NOjGN5",
        ] {
            assert_eq!(warning(ok), None, "{ok}");
        }
        assert_eq!(
            warning(
                "$6$cfsalt$4cEWgxmKXutZABXBQOTJBNjL5ivs.9pSBWws7qjZS1OV3E.t2dvAqj7CgHdmmvP5McC.659EMO3trhtvH4auP0"
            ),
            None
        );
    }
}
