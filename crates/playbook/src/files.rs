//! Reading the files a playbook names: the text of each kept for diagnostics, its YAML parsed,
//! the stack of files being read (an import or include cycle, or runaway nesting, is reported)
//! and `vars_files` checked. Shared by the playbook files (`play`) and tasks files (`task`).

use super::cx::{Cx, File};
use super::model::SourceFile;
use clearfleet_base::controller_files::ControllerFiles;
use clearfleet_base::diagnostic::Diagnostic;
use clearfleet_base::vault::{Vault, VaultError};
use clearfleet_yaml::syntax::{Node, parse_yaml};
use clearfleet_yaml::vault::{decrypt_vault_scalars, strings, trusted_strings};
use std::path::Path;

/// Includes nested deeper than this are reported (a guard against runaway recursion).
const MAX_INCLUDE_DEPTH: usize = 64;

/// Reads `path` (from the load's [`Cx::source`]), reporting a missing file at `from` (the
/// scalar that named it).
pub(crate) fn read(
    cx: &mut Cx,
    from: Option<(&File, &Node)>,
    path: &Path,
    what: &str,
) -> Option<File> {
    match cx.source.read_text(path) {
        Ok((text, vaulted)) => {
            if vaulted {
                remember_strings(&cx.source.vault(), &text);
            }
            if !cx.files.iter().any(|s| s.path == path) {
                cx.files.push(SourceFile {
                    path: path.to_path_buf(),
                    text: text.clone(),
                });
            }
            Some(File {
                path: path.to_path_buf(),
                text,
            })
        }
        Err(e) => {
            let msg = if e.kind() == std::io::ErrorKind::NotFound {
                format!("{what} `{}` not found", path.display())
            } else {
                format!("cannot read {what} `{}`: {e}", path.display())
            };
            cx.diags.push(match from {
                Some((f, n)) => Cx::diag(f, n, msg),
                None => Diagnostic::new(msg),
            });
            None
        }
    }
}

/// Remembers every string of a decrypted YAML file as a secret (its lines already are).
pub fn remember_strings(vault: &Vault, text: &str) {
    if let Ok(Some(root)) = parse_yaml(text) {
        vault.remember(strings(&root));
    }
}

/// Parses a file's YAML, reporting a syntax error at its place (`Err`); `Ok(None)` for a
/// file with no document. `!vault` values are decrypted with the load's vault (one that does
/// not decrypt is reported at its place and keeps its ciphertext).
pub(crate) fn parse(cx: &mut Cx, f: &File) -> Result<Option<Node>, ()> {
    let mut root = parse_yaml(&f.text).map_err(|e| {
        cx.diags.push(Diagnostic::at(
            format!("invalid YAML: {}", e.message),
            &f.path,
            &f.text,
            e.line,
            e.column,
        ));
    })?;
    if let Some(n) = root.as_mut() {
        let vault = cx.source.vault();
        let failures =
            decrypt_vault_scalars(n, &|c| vault.decrypt_text(c), &|| VaultError::NotText);
        clearfleet_base::trust::trust(trusted_strings(n));
        for fail in failures {
            cx.diags.push(Diagnostic::at(
                format!("cannot decrypt this `!vault` value: {}", fail.error),
                &f.path,
                &f.text,
                fail.line,
                fail.column,
            ));
        }
    }
    Ok(root)
}

/// Ansible's "Empty playbook, nothing to do", at the top of the file.
pub(crate) fn empty_playbook(f: &File) -> Diagnostic {
    Diagnostic::at("empty playbook, nothing to do", &f.path, &f.text, 1, 1)
}

/// Why a file cannot be entered; `what` is `import` or `include`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EnterError {
    /// The file is already on the stack: `a.yml -> b.yml -> a.yml`.
    #[error("{what} cycle: {chain}")]
    Cycle { what: &'static str, chain: String },
    #[error("more than {MAX_INCLUDE_DEPTH} nested {what}s")]
    TooDeep { what: &'static str },
}

/// Pushes `path` on the include stack; `Err` when it is already there (a cycle) or the stack is
/// full. `what`: `import` or `include`, for the message.
pub(crate) fn enter(cx: &mut Cx, path: &Path, what: &'static str) -> Result<(), EnterError> {
    let c = cx.source.canonical(path);
    if let Some(i) = cx.stack.iter().position(|(p, _)| *p == c) {
        let mut chain: Vec<String> = cx.stack[i..]
            .iter()
            .map(|(_, shown)| shown.display().to_string())
            .collect();
        chain.push(path.display().to_string());
        return Err(EnterError::Cycle {
            what,
            chain: chain.join(" -> "),
        });
    }
    if cx.stack.len() >= MAX_INCLUDE_DEPTH {
        return Err(EnterError::TooDeep { what });
    }
    cx.stack.push((c, path.to_path_buf()));
    Ok(())
}

/// Checks that a `vars_files` entry exists and holds a mapping (the runner reads it).
pub(crate) fn vars_file(cx: &mut Cx, f: &File, at: &Node, path: &Path) {
    let Some(file) = read(cx, Some((f, at)), path, "vars file") else {
        return;
    };
    if let Ok(Some(root)) = parse(cx, &file)
        && root.as_map().is_none()
    {
        cx.error(
            &file,
            &root,
            format!(
                "a vars file must be a mapping of variables, got {}",
                root.type_name()
            ),
        );
    }
}

/// The variables of a `vars_files` entry as the runner reads them: YAML as PyYAML reads it,
/// a vault-encrypted file or `!vault` values decrypted with `source`'s vault. `None` when the
/// file cannot be read, parsed or decrypted, or holds no mapping (the loader reports each of
/// these for every literal `vars_files` entry before the run).
pub fn read_vars_file(
    source: &ControllerFiles,
    path: &Path,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    load_vars_file(source, path).ok().map(|f| f.vars)
}

/// A file of variables read at run time (`vars_files`, `include_vars`).
#[derive(Debug)]
pub struct VarsFile {
    pub vars: serde_json::Map<String, serde_json::Value>,
    /// The whole file was vault-encrypted (Ansible hides an `include_vars` result then).
    pub vaulted: bool,
}

/// Why a file of variables could not be read; the YAML and vault errors name the file, line
/// and column.
#[derive(Debug, thiserror::Error)]
pub enum VarsFileError {
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Syntax(Box<Diagnostic>),
    #[error("{0}")]
    Vault(Box<Diagnostic>),
    /// Ansible's words (`include_vars`).
    #[error("{} must be stored as a dictionary/hash", path.display())]
    NotMapping { path: std::path::PathBuf },
}

/// Reads a file of variables: YAML (or JSON) as PyYAML reads it, a vault-encrypted file or
/// `!vault` values decrypted with `source`'s vault; an empty file has no variables.
pub fn load_vars_file(source: &ControllerFiles, path: &Path) -> Result<VarsFile, VarsFileError> {
    let (text, vaulted) = source.read_text(path).map_err(|e| VarsFileError::Read {
        path: path.to_path_buf(),
        source: e,
    })?;
    let vault = source.vault();
    if vaulted {
        remember_strings(&vault, &text);
    }
    let root = parse_yaml(&text).map_err(|e| {
        VarsFileError::Syntax(Box::new(Diagnostic::at(
            format!("invalid YAML: {}", e.message),
            path,
            &text,
            e.line,
            e.column,
        )))
    })?;
    let Some(mut root) = root else {
        return Ok(VarsFile {
            vars: serde_json::Map::new(),
            vaulted,
        });
    };
    let failures = decrypt_vault_scalars(&mut root, &|c| vault.decrypt_text(c), &|| {
        VaultError::NotText
    });
    clearfleet_base::trust::trust(trusted_strings(&root));
    if let Some(fail) = failures.first() {
        return Err(VarsFileError::Vault(Box::new(Diagnostic::at(
            format!("cannot decrypt this `!vault` value: {}", fail.error),
            path,
            &text,
            fail.line,
            fail.column,
        ))));
    }
    match root.to_template_value() {
        serde_json::Value::Object(vars) => Ok(VarsFile { vars, vaulted }),
        serde_json::Value::Null => Ok(VarsFile {
            vars: serde_json::Map::new(),
            vaulted,
        }),
        _ => Err(VarsFileError::NotMapping {
            path: path.to_path_buf(),
        }),
    }
}
