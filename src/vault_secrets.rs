//! The Ansible Vault passwords of a run, from the command line and ansible.cfg, as
//! `ansible-playbook` gathers them (`CLI.setup_vault_secrets`, `build_vault_ids` and
//! `get_file_vault_secret` of ansible-core): `vault_identity_list` (`ANSIBLE_VAULT_IDENTITY_LIST`),
//! then `--vault-id`, then each password file (`--vault-password-file`, then
//! `vault_password_file` or `ANSIBLE_VAULT_PASSWORD_FILE`) as `default@FILE`, then
//! `--ask-vault-pass` as a prompt.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::cli::VaultArgs;
use crate::error::Error;
use clearfleet_base::secret::{Redactor, Secret, SecretSink};
use clearfleet_base::vault::{Vault, VaultSecret};

/// The label of a password given without one.
const DEFAULT_ID: &str = "default";
/// The source `--ask-vault-pass` stands for.
const ASK: &str = "prompt_ask_vault_pass";

/// The vault of the run; from here on every value it decrypts is masked in logs and errors.
pub fn vault(args: &VaultArgs) -> Result<Vault, Error> {
    let mut ids: Vec<String> = args.config.identity_list.clone();
    ids.extend(args.vault_id.iter().cloned());
    for file in args
        .vault_password_file
        .iter()
        .chain(&args.config.password_file)
    {
        ids.push(format!("{DEFAULT_ID}@{}", file.display()));
    }
    if args.ask_vault_pass {
        ids.push(format!("{DEFAULT_ID}@{ASK}"));
    }
    let mut secrets = Vec::with_capacity(ids.len());
    for slug in ids {
        let (label, source) = slug.split_once('@').unwrap_or((DEFAULT_ID, slug.as_str()));
        let password = password(label, source)?;
        secrets.push(VaultSecret::new(label, password));
    }
    let found = SecretSink::default();
    // The passwords themselves are secrets too.
    for s in &secrets {
        found.add(s.password.clone());
    }
    crate::logging::add_secrets(&Redactor::default().watching(&found));
    Ok(Vault::new(secrets, found))
}

fn password(label: &str, source: &str) -> Result<Secret, Error> {
    let bad = |reason: String| Error::VaultPassword {
        source_name: source.to_owned(),
        reason,
    };
    let pw = match source {
        "prompt" | ASK => {
            let prompt = if source == ASK || label == DEFAULT_ID {
                "Vault password: ".to_owned()
            } else {
                format!("Vault password ({label}): ")
            };
            rpassword::prompt_password(prompt)
                .map_err(|e| bad(format!("cannot read it from the terminal: {e}")))?
        }
        file => from_file(Path::new(file), label).map_err(bad)?,
    };
    if pw.is_empty() {
        return Err(bad("the vault password is empty".to_owned()));
    }
    Ok(Secret::new(pw))
}

/// A password file's content without surrounding white space, or what an executable script prints (a script whose name
/// ends in `-client` is asked for `--vault-id LABEL`, as Ansible's client scripts are).
fn from_file(path: &Path, label: &str) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "the vault password file was not found".to_owned(),
        _ => format!("cannot read it: {e}"),
    })?;
    if meta.is_dir() {
        return Err("the vault password file can not be a directory".to_owned());
    }
    if meta.permissions().mode() & 0o111 != 0 {
        // Made absolute as Ansible does, so `pw.sh` runs the file here, not one on PATH.
        let mut cmd =
            std::process::Command::new(std::path::absolute(path).map_err(|e| e.to_string())?);
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if stem.ends_with("-client") {
            cmd.args(["--vault-id", label]);
        }
        let out = cmd
            .stdin(std::process::Stdio::inherit())
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run the vault password script: {e}"))?;
        if !out.status.success() {
            return Err(format!("the vault password script failed ({})", out.status));
        }
        let text = String::from_utf8(out.stdout)
            .map_err(|_| "the vault password script printed no UTF-8 text".to_owned())?;
        return Ok(text.trim_matches(['\r', '\n']).to_owned());
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    Ok(text.trim().to_owned())
}
