//! Known answers from ansible-core 2.19.14's own `ansible-vault encrypt_string`, run with
//! `ANSIBLE_VAULT_ENCRYPT_SALT=clearfleet-kat-salt` (a fixed salt, so the output is fixed) and
//! the password `hunter2-vault`.

use super::*;

const SALT: &[u8] = b"clearfleet-kat-salt";
const PASSWORD: &str = "hunter2-vault";

/// `ansible-vault encrypt_string --vault-password-file pw 's3cr3t value'`.
const V11: &str = "$ANSIBLE_VAULT;1.1;AES256
36333663363536313732363636633635363537343264366236313734326437333631366337340a37
37396632663635363066306239393863363933613232633766336430323163613464306566353865
38313164333937616538653861366165346464323333640a37386561613966643864616165636631
37343564623464313433386365346335
";

/// `ansible-vault encrypt_string --vault-id prod@pw 'exactly sixteen!'` (a whole block of
/// padding).
const V12: &str = "$ANSIBLE_VAULT;1.2;AES256;prod
36333663363536313732363636633635363537343264366236313734326437333631366337340a61
61343865323930313961636238613131383535393431386164663861393031336366653138626261
39383463356531306531613361313432303833336362620a36656131616265636361623262356137
36363538623963303232656438656530356563643963643734663465393532646562616262623631
3763346236666262
";

fn vault(secrets: &[(&str, &str)]) -> Vault {
    Vault::new(
        secrets
            .iter()
            .map(|(id, pw)| VaultSecret::new(*id, Secret::new(*pw)))
            .collect(),
        SecretSink::default(),
    )
}

#[test]
fn encrypts_byte_for_byte_as_ansible_vault() {
    let body = aes256::encrypt(b"s3cr3t value", PASSWORD.as_bytes(), SALT);
    assert_eq!(envelope::format(&body, None), V11);
    assert_eq!(envelope::format(&body, Some("default")), V11);
    let body = aes256::encrypt(b"exactly sixteen!", PASSWORD.as_bytes(), SALT);
    assert_eq!(envelope::format(&body, Some("prod")), V12);
}

#[test]
fn decrypts_what_ansible_vault_wrote_and_remembers_it() {
    let v = vault(&[("default", PASSWORD)]);
    assert_eq!(v.decrypt_text(V11).as_deref(), Ok("s3cr3t value"));
    assert_eq!(v.decrypt_text(V12).as_deref(), Ok("exactly sixteen!"));
    let found = v.found().secrets();
    assert!(found.iter().any(|s| s.expose() == "s3cr3t value"));
    // Indented as in a YAML block scalar, and with CRLF line ends.
    let indented: String = V11.lines().map(|l| format!("  {l}\r\n")).collect();
    assert_eq!(
        v.decrypt_text(indented.trim_start()).as_deref(),
        Ok("s3cr3t value")
    );
}

#[test]
fn the_labelled_secret_is_tried_first_but_any_secret_may_decrypt() {
    let v = vault(&[("dev", "wrong"), ("prod", PASSWORD)]);
    assert_eq!(v.decrypt_text(V12).as_deref(), Ok("exactly sixteen!"));
    // Ansible's DEFAULT_VAULT_ID_MATCH is false: a label that does not match still decrypts.
    let v = vault(&[("other", PASSWORD)]);
    assert_eq!(v.decrypt_text(V12).as_deref(), Ok("exactly sixteen!"));
}

#[test]
fn wrong_password_tampering_and_damage_are_errors_not_panics() {
    let v = vault(&[("default", "not it")]);
    assert_eq!(v.decrypt_text(V11), Err(VaultError::Failed(None)));
    assert_eq!(
        v.decrypt_text(V12),
        Err(VaultError::Failed(Some("prod".to_owned())))
    );
    let right = vault(&[("default", PASSWORD)]);
    // One hex digit of the HMAC changed (inside the second hexlified field).
    let tampered = V11.replacen("0a37\n3739", "0a37\n3738", 1);
    assert_ne!(tampered, V11);
    assert_eq!(right.decrypt_text(&tampered), Err(VaultError::Failed(None)));
    // One byte of the ciphertext changed: the HMAC catches it before decryption.
    let tampered = V11.replacen("6335\n", "6336\n", 1);
    assert_ne!(tampered, V11);
    assert_eq!(right.decrypt_text(&tampered), Err(VaultError::Failed(None)));
    assert_eq!(
        right.decrypt_text("$ANSIBLE_VAULT;1.1;AES256\nzz\n"),
        Err(VaultError::Format)
    );
    assert_eq!(
        right.decrypt_text("$ANSIBLE_VAULT;1.1;AES256\n"),
        Err(VaultError::Format)
    );
    assert_eq!(
        right.decrypt_text("$ANSIBLE_VAULT\nab\n"),
        Err(VaultError::Envelope)
    );
    assert_eq!(
        right.decrypt_text("$ANSIBLE_VAULT;1.1;DES\nab\n"),
        Err(VaultError::Cipher("DES".to_owned()))
    );
    assert_eq!(right.decrypt_text("plain"), Err(VaultError::NotVault));
    assert_eq!(vault(&[]).decrypt_text(V11), Err(VaultError::NoSecrets));
    let msg = VaultError::Failed(None).to_string();
    assert_eq!(
        msg,
        "Decryption failed (no vault secrets were found that could decrypt)"
    );
}

#[test]
fn encrypt_round_trips_with_a_random_salt() -> Result<(), getrandom::Error> {
    let pw = Secret::new("pw");
    let a = encrypt(b"hello", &pw, Some("dev"))?;
    let b = encrypt(b"hello", &pw, Some("dev"))?;
    assert_ne!(a, b);
    assert!(a.starts_with("$ANSIBLE_VAULT;1.2;AES256;dev\n"));
    assert_eq!(
        vault(&[("x", "pw")]).decrypt(a.as_bytes()),
        Ok(b"hello".to_vec())
    );
    Ok(())
}
