//! `dnf`'s names that are URLs: each RPM fetched into a temporary directory on the host before
//! the look, as dnf.py's `_parse_spec_group_file` does with urls.py's `fetch_file`, so that the
//! rest of the module takes it as a local file (`Installed <the fetched path>`).

use super::context::ModuleContext;
use super::fetch_file;
use super::probe::{call, nonce};
use super::remote::Remote;
use super::result::ModuleResult;
use clearfleet_base::shell::quote;

/// The URLs fetched: the temporary directory (to remove when the module is done) and each
/// name with a URL replaced by the file's path.
pub struct Fetched {
    pub tmp: Option<String>,
    pub names: Vec<String>,
}

/// Fetches every name with `://` (in order; the first failure is dnf.py's `fail_json` of
/// `fetch_file`: `Failure downloading <url, masked>, <why>`).
pub async fn fetch<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    names: &[String],
) -> Result<Fetched, ModuleResult> {
    let urls: Vec<&String> = names.iter().filter(|n| n.contains("://")).collect();
    if urls.is_empty() {
        return Ok(Fetched {
            tmp: None,
            names: names.to_vec(),
        });
    }
    let n = nonce().map_err(|r| *r)?;
    let sep = format!("--clearfleet-{n}--");
    let mut s = String::from(
        "w=$(mktemp -d \"${TMPDIR:-/tmp}/clearfleet-dnf.XXXXXXXX\") || exit 1\n\
         printf 'tmp %s\\n' \"$w\"\n",
    );
    for url in &urls {
        let (prefix, ext) = fetch_file::split_multiext(url);
        let script = fetch_file::script(
            &prefix,
            &ext,
            &sep,
            "exit 1",
            "printf 'download %s\\n' \"$(base64 -w0 <\"$w/e\")\"; exit 0",
        );
        s.push_str(&format!(
            "{{\n{script}}} <<'CF_{n}'\n{}CF_{n}\nprintf 'path %s\\n' \"$s\"\n",
            fetch_file::configs(url, true, &sep)
        ));
    }
    let out = call(ctx, &s, None, None).await?;
    let text = out.stdout_text();
    let mut tmp = None;
    let mut paths = Vec::new();
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("tmp ") {
            tmp = Some(t.to_owned());
        } else if let Some(p) = line.strip_prefix("path ") {
            paths.push(p.to_owned());
        } else if let Some(e) = line.strip_prefix("download ") {
            let why = super::apt::b64(e);
            if let Some(t) = &tmp {
                cleanup(ctx, t).await;
            }
            let url = urls.get(paths.len()).map_or("", |u| u.as_str());
            return Err(ModuleResult::fail(format!(
                "Failure downloading {}, {}",
                fetch_file::mask_url(url),
                why.trim()
            )));
        }
    }
    let mut fetched = paths.into_iter();
    let names = names
        .iter()
        .map(|name| match name.contains("://") {
            true => fetched.next().unwrap_or_default(),
            false => name.clone(),
        })
        .collect();
    Ok(Fetched { tmp, names })
}

/// Removes the temporary directory (dnf.py's module cleanup of its `tmpdir`).
pub async fn cleanup<R: Remote>(ctx: &ModuleContext<'_, R>, tmp: &str) {
    // Best effort, as AnsibleModule's cleanup: a failure here changes no result.
    let _ = call(ctx, &format!("rm -rf {}", quote(tmp)), None, None).await;
}
