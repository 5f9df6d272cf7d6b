//! Password hashing as ansible-core 2.19 does it through passlib (lib/ansible/utils/encrypt.py:
//! `do_encrypt`, `PasslibHash`, `BaseHash.algorithms`, `random_salt`), for the `password_hash`
//! filter and the `password` lookup's `encrypt`. The hashes are passlib 1.7's, byte for byte
//! for a given salt and rounds: md5_crypt, sha256_crypt, sha512_crypt and bcrypt. Errors
//! carry passlib's wording.

mod bcrypt;
mod h64;
mod md5_crypt;
mod sha_crypt;

use self::sha_crypt::Width;

/// A hash that could not be made. The texts are Ansible's and passlib's.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EncryptError {
    /// A `ValueError` from passlib, which `PasslibHash._hash` wraps.
    #[error("Could not hash the secret: {0}")]
    Hash(String),
    /// Raised before passlib is asked (a `TypeError` or `ValueError` Ansible does not wrap).
    #[error("{0}")]
    Argument(String),
    /// An algorithm passlib has and clearfleet does not.
    #[error(
        "clearfleet does not support the {0:?} algorithm: it hashes with md5_crypt, \
         sha256_crypt, sha512_crypt and bcrypt"
    )]
    Unsupported(String),
    #[error("no random source for a salt: {0}")]
    Random(String),
}

/// The algorithms, by passlib's names (`BaseHash.algorithms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Md5Crypt,
    Bcrypt,
    Sha256Crypt,
    Sha512Crypt,
}

impl Algorithm {
    /// The algorithm passlib names `name` (`getattr(passlib.hash, name)`).
    pub(crate) fn passlib(name: &str) -> Result<Self, EncryptError> {
        Ok(match name {
            "md5_crypt" => Self::Md5Crypt,
            "bcrypt" => Self::Bcrypt,
            "sha256_crypt" => Self::Sha256Crypt,
            "sha512_crypt" => Self::Sha512Crypt,
            other => return Err(EncryptError::Unsupported(other.to_owned())),
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Md5Crypt => "md5_crypt",
            Self::Bcrypt => "bcrypt",
            Self::Sha256Crypt => "sha256_crypt",
            Self::Sha512Crypt => "sha512_crypt",
        }
    }

    /// `BaseHash.algorithms[...].salt_size`: the salt `random_salt` draws for the lookup,
    /// and passlib's default salt size.
    pub(crate) fn salt_size(self) -> usize {
        match self {
            Self::Md5Crypt => 8,
            Self::Bcrypt => 22,
            Self::Sha256Crypt | Self::Sha512Crypt => 16,
        }
    }

    /// `implicit_rounds`: what Ansible asks for when no rounds are given (crypt's defaults
    /// of old, not passlib's).
    fn implicit_rounds(self) -> Option<i64> {
        match self {
            Self::Md5Crypt => None,
            Self::Bcrypt => Some(12),
            Self::Sha256Crypt => Some(535_000),
            Self::Sha512Crypt => Some(656_000),
        }
    }

    /// passlib's `min_rounds`, `max_rounds`.
    fn rounds_range(self) -> (i64, i64) {
        match self {
            Self::Bcrypt => (4, 31),
            _ => (1_000, 999_999_999),
        }
    }

    /// `implicit_ident`: the lookup writes it beside the salt.
    pub(crate) fn implicit_ident(self) -> Option<&'static str> {
        (self == Self::Bcrypt).then_some("2b")
    }
}

/// What `do_encrypt` takes beside the secret, as the caller gave it (Python values turned
/// into text and numbers; `None` where not given).
#[derive(Debug, Default, Clone)]
pub struct Settings {
    pub salt: Option<String>,
    /// `Err` holds a value that is not an integer (`salt_size must be an integer`).
    pub salt_size: Option<Result<i64, ()>>,
    /// Rounds as given: an integer, or text passlib reads with `int()`.
    pub rounds: Option<String>,
    pub ident: Option<String>,
}

/// Ansible's `random_salt`: `length` characters of `ascii_letters + digits + './'`.
pub(crate) fn random_salt(length: usize) -> Result<String, EncryptError> {
    let pool: Vec<char> = h64::CHARS.chars().collect();
    clearfleet_base::random::chars_from(&pool, length)
        .map_err(|e| EncryptError::Random(e.to_string()))
}

/// passlib's `_norm_rounds` message.
fn rounds_error(a: Algorithm, rounds: i64) -> Option<EncryptError> {
    let (min, max) = a.rounds_range();
    let name = a.name();
    if rounds < min {
        return Some(EncryptError::Hash(format!(
            "{name}: min_desired_rounds ({rounds}) is too low, must be at least {min}"
        )));
    }
    (rounds > max).then(|| {
        EncryptError::Hash(format!(
            "{name}: min_desired_rounds ({rounds}) is too large, cannot be more than {max}"
        ))
    })
}

/// passlib's `_norm_salt` checks for the salt characters and length.
fn check_salt(a: Algorithm, salt: &str) -> Result<(), EncryptError> {
    let name = a.name();
    let chars = if a == Algorithm::Bcrypt {
        bcrypt::CHARS
    } else {
        h64::CHARS
    };
    if !salt.chars().all(|c| chars.contains(c)) {
        return Err(EncryptError::Hash(format!(
            "invalid characters in {name} salt"
        )));
    }
    let max = a.salt_size();
    let bound = if a == Algorithm::Bcrypt {
        "exactly"
    } else {
        "<="
    };
    if a == Algorithm::Bcrypt && salt.len() < max {
        return Err(EncryptError::Hash(format!(
            "salt too small ({name} requires exactly {max} chars)"
        )));
    }
    if salt.len() > max {
        return Err(EncryptError::Hash(format!(
            "salt too large ({name} requires {bound} {max} chars)"
        )));
    }
    Ok(())
}

/// passlib's `_clip_to_valid_salt_size` message.
fn check_salt_size(a: Algorithm, size: i64) -> Result<usize, EncryptError> {
    let name = a.name();
    let max = a.salt_size();
    let err = |m: String| EncryptError::Hash(format!("{name}: {m}"));
    if a == Algorithm::Bcrypt && size != 22 {
        return Err(err(format!("salt_size ({size}) must be exactly {max}")));
    }
    if size < 0 {
        return Err(err(format!("salt_size ({size}) below min_salt_size (0)")));
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    if size > max {
        return Err(err(format!(
            "salt_size ({size}) above max_salt_size ({max})"
        )));
    }
    Ok(size)
}

/// passlib's bcrypt `_norm_ident` (idents `2`, `2a`, `2y`, `2b`, with or without `$`s).
fn bcrypt_ident(ident: &str) -> Result<&'static str, EncryptError> {
    Ok(match ident {
        "2" | "$2$" => "2",
        "2a" | "$2a$" => "2a",
        "2y" | "$2y$" => "2y",
        "2b" | "$2b$" => "2b",
        other => return Err(EncryptError::Hash(format!("invalid ident: '{other}'"))),
    })
}

/// Ansible's `do_encrypt(secret, algorithm, salt=, salt_size=, rounds=, ident=)`.
pub fn do_encrypt(
    secret: &str,
    algorithm: &str,
    settings: &Settings,
) -> Result<String, EncryptError> {
    let a = Algorithm::passlib(algorithm)?;
    // PasslibHash.hash: _clean_salt (bcrypt's salt repaired first), _clean_rounds, _clean_ident.
    let salt = settings.salt.as_deref().filter(|s| !s.is_empty());
    if let Some(s) = salt
        && !s.is_ascii()
    {
        return Err(EncryptError::Argument(
            "'ascii' codec can't encode characters in the salt".into(),
        ));
    }
    if a == Algorithm::Bcrypt && salt.is_some_and(|s| s.len() % 4 == 1) {
        return Err(EncryptError::Argument(
            "source length must != 1 mod 4".into(),
        ));
    }
    let salt_size = match settings.salt_size {
        Some(Err(())) => {
            return Err(EncryptError::Argument(
                "salt_size must be an integer".into(),
            ));
        }
        Some(Ok(n)) if n != 0 => Some(n),
        _ => None,
    };
    // PasslibHash._hash: `crypt_algo.using(**settings)`, which checks salt_size, then the
    // salt, then the rounds, then the ident.
    let salt_size = salt_size.map(|n| check_salt_size(a, n)).transpose()?;
    if let Some(s) = salt {
        check_salt(a, s)?;
    }
    let rounds = match settings.rounds.as_deref().map(str::trim) {
        Some(r) if !r.is_empty() && r != "0" => {
            if a == Algorithm::Md5Crypt {
                return Err(EncryptError::Argument(
                    "MinimalHandler.using() got an unexpected keyword argument 'rounds'".into(),
                ));
            }
            let n: i64 = r.parse().map_err(|_| {
                EncryptError::Hash(format!("invalid literal for int() with base 10: '{r}'"))
            })?;
            Some(n)
        }
        _ => a.implicit_rounds(),
    };
    if let Some(e) = rounds.and_then(|r| rounds_error(a, r)) {
        return Err(e);
    }
    let ident = match a {
        Algorithm::Bcrypt => match settings.ident.as_deref().filter(|i| !i.is_empty()) {
            Some(i) => bcrypt_ident(i)?,
            None => "2b",
        },
        _ => "",
    };
    if secret.contains('\0') {
        return Err(EncryptError::Hash(match a {
            Algorithm::Bcrypt => "bcrypt does not allow NULL bytes in password".into(),
            _ => "null character in secret".into(),
        }));
    }
    let salt = match salt {
        Some(s) => s.to_owned(),
        None if a == Algorithm::Bcrypt => {
            let pool: Vec<char> = bcrypt::CHARS.chars().collect();
            clearfleet_base::random::chars_from(&pool, 22)
                .map_err(|e| EncryptError::Random(e.to_string()))?
        }
        None => {
            let pool: Vec<char> = h64::CHARS.chars().collect();
            clearfleet_base::random::chars_from(&pool, salt_size.unwrap_or(a.salt_size()))
                .map_err(|e| EncryptError::Random(e.to_string()))?
        }
    };
    let secret = secret.as_bytes();
    let rounds = rounds.unwrap_or_default();
    Ok(match a {
        Algorithm::Md5Crypt => {
            let sum = md5_crypt::checksum(secret, salt.as_bytes());
            format!("$1${salt}${sum}")
        }
        Algorithm::Sha256Crypt | Algorithm::Sha512Crypt => {
            let (id, width) = match a {
                Algorithm::Sha256Crypt => ("5", Width::Sha256),
                _ => ("6", Width::Sha512),
            };
            let params = u32::try_from(rounds)
                .ok()
                .and_then(|r| ::sha_crypt::Params::new(r).ok())
                .ok_or_else(|| EncryptError::Hash(format!("invalid rounds: {rounds}")))?;
            let sum = sha_crypt::checksum(width, secret, salt.as_bytes(), params);
            // passlib leaves out crypt's default of 5000 rounds (`implicit_rounds`).
            match rounds {
                5000 => format!("${id}${salt}${sum}"),
                r => format!("${id}$rounds={r}${salt}${sum}"),
            }
        }
        Algorithm::Bcrypt => {
            let bytes = bcrypt::salt_bytes(&salt)
                .ok_or_else(|| EncryptError::Hash("invalid characters in bcrypt salt".into()))?;
            let cost = u32::try_from(rounds).unwrap_or(12);
            bcrypt::hash(secret, &bytes, cost, ident)
        }
    })
}

#[cfg(test)]
mod tests;
