//! `fetch`: copy a remote file to the controller (`dest/<host>/<src>`, or `dest` with `flat`),
//! only when the local copy differs.
//!
//! Round trips: 1 (stat + sha1 of src); 1 more (`cat`) only when the local copy is missing or
//! different and not in check mode. The bytes go straight into a temporary file as they
//! arrive (a file of any size, never whole in memory: the output limit does not apply) and
//! are checked against the remote sha1 (`validate_checksum`) before they replace the local
//! file (rename).

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use serde_json::Value;
use sha1::{Digest, Sha1};

use super::args::{ArgError, Args, Key};
use super::context::ModuleContext;
use super::probe::{self, Probe, call_to, hex, qpath};
use super::remote::Remote;
use super::result::ModuleResult;

/// Arguments of `fetch`.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchArgs {
    pub src: String,
    /// Controller path (relative: to the playbook dir).
    pub dest: String,
    pub flat: bool,
    pub fail_on_missing: bool,
    pub validate_checksum: bool,
}

/// Accepted keys.
pub const KEYS: &[Key] = &[
    ("src", &[]),
    ("dest", &[]),
    ("flat", &[]),
    ("fail_on_missing", &[]),
    ("validate_checksum", &[]),
];

impl FetchArgs {
    /// Parses and checks the arguments.
    pub fn parse(v: &Value) -> Result<FetchArgs, ArgError> {
        let mut a = Args::new("fetch", KEYS, v)?;
        let parsed = FetchArgs {
            src: a.req_str("src")?,
            dest: a.req_str("dest")?,
            flat: a.bool("flat", false)?,
            fail_on_missing: a.bool("fail_on_missing", true)?,
            validate_checksum: a.bool("validate_checksum", true)?,
        };
        a.finish()?;
        Ok(parsed)
    }
}

/// Why a fetched file has no place on the controller.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DestError {
    /// `flat` into a directory (`dest` ending in `/`) and `src` has no file name.
    #[error("src has no file name")]
    NoFileName,
    /// `..` in the path would climb out of `dest`.
    #[error("refusing a destination outside {}: {}", base.display(), rel.display())]
    Outside { base: PathBuf, rel: PathBuf },
}

/// Where the file goes on the controller; `..` that would climb out of `dest` is refused.
pub fn local_dest(
    controller_dir: &Path,
    args: &FetchArgs,
    host: &str,
) -> Result<PathBuf, DestError> {
    let base = controller_dir.join(&args.dest);
    let rel = if args.flat {
        if args.dest.ends_with('/') {
            Path::new(&args.src)
                .file_name()
                .map(PathBuf::from)
                .ok_or(DestError::NoFileName)?
        } else {
            return Ok(base);
        }
    } else {
        Path::new(host).join(args.src.trim_start_matches('/'))
    };
    let mut clean = PathBuf::new();
    for c in rel.components() {
        match c {
            Component::Normal(p) => clean.push(p),
            Component::CurDir | Component::RootDir => {}
            _ => {
                return Err(DestError::Outside { base, rel });
            }
        }
    }
    Ok(base.join(clean))
}

/// Runs `fetch`.
pub async fn run<R: Remote>(args: &FetchArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let info = match probe::probe(
        ctx,
        &[Probe {
            follow: true,
            ..Probe::sha1(&args.src)
        }],
    )
    .await
    {
        Ok(mut p) => p.infos.remove(0),
        Err(r) => return r,
    };
    let base = |r: ModuleResult| r.with("file", args.src.clone());
    if !info.exists {
        let r = ModuleResult::ok()
            .with_msg("the remote file does not exist, not transferring, ignored");
        return base(ModuleResult {
            failed: args.fail_on_missing,
            ..r
        });
    }
    if info.is_dir() {
        return base(ModuleResult::fail(
            "remote file is a directory, fetch cannot work on directories",
        ));
    }
    let Some(remote_sum) = info.checksum.clone() else {
        return base(ModuleResult::fail(
            "unable to calculate the checksum of the remote file",
        ));
    };
    let dest = match local_dest(ctx.controller_dir, args, ctx.remote.host()) {
        Ok(d) => d,
        Err(e) => return base(ModuleResult::fail(e.to_string())),
    };
    let dest_s = dest.display().to_string();
    let base = |r: ModuleResult| {
        base(r)
            .with("dest", dest_s.clone())
            .with("remote_checksum", remote_sum.clone())
    };
    let local_sum = file_sha1(&dest).ok();
    if local_sum.as_deref() == Some(remote_sum.as_str()) {
        return base(ModuleResult::ok()).with("checksum", remote_sum.clone());
    }
    if ctx.check_mode {
        return base(ModuleResult::changed());
    }
    match receive(ctx, args, &dest, &remote_sum).await {
        Ok(got) => base(ModuleResult::changed()).with("checksum", got),
        Err(r) => base(r),
    }
}

/// Streams the remote file into a temporary file beside `dest` (never whole in memory), checks
/// its sha1, then renames it over `dest`; the sha1 received.
async fn receive<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    args: &FetchArgs,
    dest: &Path,
    remote_sum: &str,
) -> Result<String, ModuleResult> {
    let write_failed =
        |e: std::io::Error| ModuleResult::fail(format!("failed to write {}: {e}", dest.display()));
    let (tmp, file) = temp_beside(dest).map_err(write_failed)?;
    // Removes the temporary file on every way out but the rename.
    let mut guard = TempFile(Some(tmp.clone()));
    let mut sink = Sha1Writer {
        inner: std::io::BufWriter::new(file),
        sha1: Sha1::new(),
    };
    let out = call_to(ctx, &format!("cat {}", qpath(&args.src)), &mut sink).await?;
    if out.rc != Some(0) {
        return Err(ModuleResult::fail(format!(
            "failed to read {}: {}",
            args.src,
            out.stderr_text()
        )));
    }
    sink.inner.flush().map_err(write_failed)?;
    let got = hex(&sink.sha1.finalize());
    if args.validate_checksum && got != remote_sum {
        return Err(ModuleResult::fail(
            "checksum mismatch after transfer (the file changed while it was fetched?)",
        ));
    }
    std::fs::rename(&tmp, dest).map_err(write_failed)?;
    guard.0 = None;
    Ok(got)
}

/// A new temporary file beside `dest` (its directory created). Its name is random and it must
/// be new (`O_EXCL`), so nothing planted there beforehand is written through.
fn temp_beside(dest: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = dest.with_file_name(format!(
        ".{}.clearfleet-{}",
        dest.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        clearfleet_base::random::token().map_err(std::io::Error::other)?
    ));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)?;
    Ok((tmp, file))
}

/// A file removed when dropped, unless its path was taken out.
struct TempFile(Option<PathBuf>);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Writes through to `inner`, hashing what passes.
struct Sha1Writer<W: Write> {
    inner: W,
    sha1: Sha1,
}

impl<W: Write> Write for Sha1Writer<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha1.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The sha1 of a local file, read a piece at a time.
fn file_sha1(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut sha1 = Sha1::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf)? {
            0 => return Ok(hex(&sha1.finalize())),
            n => sha1.update(&buf[..n]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(src: &str, dest: &str, flat: bool) -> FetchArgs {
        FetchArgs {
            src: src.into(),
            dest: dest.into(),
            flat,
            fail_on_missing: true,
            validate_checksum: true,
        }
    }

    #[test]
    fn destinations_like_ansible() {
        let c = Path::new("/pb");
        assert_eq!(
            local_dest(c, &args("/etc/hosts", "out", false), "web1"),
            Ok(PathBuf::from("/pb/out/web1/etc/hosts"))
        );
        assert_eq!(
            local_dest(c, &args("/etc/hosts", "out/", true), "web1"),
            Ok(PathBuf::from("/pb/out/hosts"))
        );
        assert_eq!(
            local_dest(c, &args("/etc/hosts", "/tmp/h", true), "web1"),
            Ok(PathBuf::from("/tmp/h"))
        );
        assert!(local_dest(c, &args("/../../etc/passwd", "out", false), "web1").is_err());
    }
}
