//! Known answers from passlib 1.7.4 through ansible-core 2.19.14's `do_encrypt` (the venv of
//! scripts/install-ansible.sh); tests/template_ansible_diff.rs compares against it live.

use super::*;

fn with(salt: &str, rounds: Option<&str>, ident: Option<&str>) -> Settings {
    Settings {
        salt: Some(salt.into()),
        rounds: rounds.map(Into::into),
        ident: ident.map(Into::into),
        ..Settings::default()
    }
}

#[test]
fn hashes_as_passlib() {
    let cases = [
        (
            "md5_crypt",
            with("saltsalt", None, None),
            "$1$saltsalt$6SNdNaZLKst2LlSm7oPPL1",
        ),
        (
            "sha512_crypt",
            with("saltsalt", Some("5000"), None),
            "$6$saltsalt$pauPrmdmG4BTE9h2HPmywiw152IFch6BJCEsaY6D.PLTfpV8sqvXwWdyfsgVgozkYH9B80bAip/08R2BPH2xk/",
        ),
        (
            "sha512_crypt",
            with("saltsalt", Some("1000"), None),
            "$6$rounds=1000$saltsalt$nII71HJmawaDYdXrUHYtoWV/pe6ZN/eQzrZXdKjhrcMU0onLRg6A5m38udZu.lA6f53rIQturF4FMx1X99KF/0",
        ),
        (
            "bcrypt",
            with("abcdefghijklmnopqrstuv", Some("4"), None),
            "$2b$04$abcdefghijklmnopqrstuuyvPXIbu7xe6/CED2DzX8z6Si09MlzlW",
        ),
    ];
    for (algo, settings, want) in cases {
        assert_eq!(
            do_encrypt("pw", algo, &settings).as_deref(),
            Ok(want),
            "{algo}"
        );
    }
}

#[test]
fn refuses_as_passlib() {
    let err = |algo: &str, s: Settings| do_encrypt("pw", algo, &s).map_err(|e| e.to_string());
    assert_eq!(
        err("sha512_crypt", with("saltsaltsaltsaltXX", None, None)),
        Err("Could not hash the secret: salt too large (sha512_crypt requires <= 16 chars)".into())
    );
    assert_eq!(
        err("md5_crypt", with("sa!t", None, None)),
        Err("Could not hash the secret: invalid characters in md5_crypt salt".into())
    );
    assert_eq!(
        err("sha256_crypt", with("s", Some("10"), None)),
        Err("Could not hash the secret: sha256_crypt: min_desired_rounds (10) is too low, must be at least 1000".into())
    );
    assert_eq!(
        err(
            "bcrypt",
            with("abcdefghijklmnopqrstuv", Some("4"), Some("2x"))
        ),
        Err("Could not hash the secret: invalid ident: '2x'".into())
    );
    assert_eq!(
        err("bcrypt", with("abcdefghijklmnopqrstu", None, None)),
        Err("source length must != 1 mod 4".into())
    );
    assert!(matches!(
        do_encrypt("pw", "des_crypt", &Settings::default()),
        Err(EncryptError::Unsupported(_))
    ));
}

#[test]
fn random_salts_have_passlib_sizes() {
    let s = Settings {
        rounds: Some("1000".into()),
        ..Settings::default()
    };
    let h = do_encrypt("pw", "sha512_crypt", &s).unwrap_or_default();
    let parts: Vec<&str> = h.split('$').collect();
    assert_eq!(parts.len(), 5, "{h}");
    assert_eq!(parts.get(3).map(|p| p.len()), Some(16));
    let small = Settings {
        salt_size: Some(Ok(4)),
        ..Settings::default()
    };
    let h = do_encrypt("pw", "md5_crypt", &small).unwrap_or_default();
    assert_eq!(h.split('$').nth(2).map(str::len), Some(4));
}
