//! `template`: the engine renders the controller-side template; this module writes the result
//! exactly as `copy` writes `content` (same query, diff, check mode and round trips).

use serde_json::{Map, Value};

use super::args::{ArgError, Args, Key, Mode};
use super::context::ModuleContext;
use super::copy::{FileParams, Put};
use super::remote::Remote;
use super::result::ModuleResult;

/// Arguments of `template`.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateArgs {
    /// The controller-side template (the engine renders it).
    pub src: String,
    pub dest: String,
    pub file: FileParams,
    /// Rendering options (`trim_blocks`, `newline_sequence`, ...), for the engine.
    pub render_options: Map<String, Value>,
    /// The rendered text: set by the engine with [`TemplateArgs::with_rendered`], or given as
    /// the internal `_rendered` argument. Running without it fails.
    pub rendered: Option<String>,
    /// Write through a symlink at dest instead of replacing it.
    pub follow: bool,
}

/// Accepted keys.
pub const KEYS: &[Key] = &[
    ("src", &[]),
    ("dest", &["path"]),
    ("mode", &[]),
    ("owner", &[]),
    ("group", &[]),
    ("backup", &[]),
    ("force", &[]),
    ("validate", &[]),
    ("follow", &[]),
    ("unsafe_writes", &[]),
    ("newline_sequence", &[]),
    ("trim_blocks", &[]),
    ("lstrip_blocks", &[]),
    ("block_start_string", &[]),
    ("block_end_string", &[]),
    ("variable_start_string", &[]),
    ("variable_end_string", &[]),
    ("comment_start_string", &[]),
    ("comment_end_string", &[]),
    ("output_encoding", &[]),
    ("_rendered", &[]),
];

/// The arguments that say how the source renders (the engine's, not the write's); all but
/// `output_encoding` are Jinja2 settings.
pub const RENDER_OPTIONS: &[&str] = &[
    "newline_sequence",
    "trim_blocks",
    "lstrip_blocks",
    "block_start_string",
    "block_end_string",
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
    "output_encoding",
];

impl TemplateArgs {
    /// Parses and checks the arguments.
    pub fn parse(v: &Value) -> Result<TemplateArgs, ArgError> {
        let mut a = Args::new("template", KEYS, v)?;
        let src = a.req_str("src")?;
        let dest = a.req_str("dest")?;
        let file = FileParams::take(&mut a)?;
        let mut render_options = Map::new();
        for k in RENDER_OPTIONS {
            if let Some(v) = a.value(k) {
                render_options.insert((*k).to_owned(), v);
            }
        }
        let follow = a.bool("follow", false)?;
        a.bool("unsafe_writes", false)?;
        let rendered = a.str("_rendered")?;
        a.finish()?;
        Ok(TemplateArgs {
            src,
            dest,
            file,
            render_options,
            rendered,
            follow,
        })
    }

    /// The same arguments with the engine's rendering of `src`.
    pub fn with_rendered(mut self, text: String) -> TemplateArgs {
        self.rendered = Some(text);
        self
    }
}

/// Runs `template` (copy of the rendered text).
pub async fn run<R: Remote>(args: &TemplateArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let Some(text) = &args.rendered else {
        return ModuleResult::fail(format!(
            "template {}: not rendered (the engine must render it before running the module)",
            args.src
        ));
    };
    let src_mode = match args.file.mode {
        Some(Mode::Preserve) => ctx
            .find_source(&args.src, "templates")
            .and_then(|p| ctx.files.mode(&p)),
        _ => None,
    };
    let content = match args.render_options.get("output_encoding") {
        Some(Value::String(label)) => match encode(text, label) {
            Ok(bytes) => bytes,
            Err(msg) => return ModuleResult::fail(msg),
        },
        Some(Value::Null) | None => text.clone().into_bytes(),
        Some(other) => {
            return ModuleResult::fail(format!("output_encoding must be a string, not {other}"));
        }
    };
    let put = Put {
        content,
        src_name: std::path::Path::new(&args.src)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
        src_mode,
        dest: &args.dest,
        file: &args.file,
        follow: args.follow,
        // Ansible's template action hands copy a rendered temporary file, not the template.
        src_arg: None,
        directory_mode: None,
    };
    put.run(ctx).await
}

/// `text` in the encoding Python's codec `label` names (`''` is UTF-8, as the action's
/// `output_encoding or 'utf-8'`), strictly: a character the encoding cannot hold fails, as
/// `to_bytes(..., errors='surrogate_or_strict')` does.
fn encode(text: &str, label: &str) -> Result<Vec<u8>, String> {
    let python = label.trim().to_ascii_lowercase().replace('_', "-");
    if matches!(python.as_str(), "" | "utf-8" | "utf8" | "u8") {
        return Ok(text.as_bytes().to_vec());
    }
    let encoding = encoding_rs::Encoding::for_label(python.as_bytes())
        .or_else(|| encoding_rs::Encoding::for_label(python.replace('-', "").as_bytes()))
        .ok_or_else(|| format!("unknown encoding: {label}"))?;
    // encoding_rs writes UTF-16 and a few others as UTF-8: not what was asked.
    if encoding.output_encoding() != encoding {
        return Err(format!(
            "output_encoding {label} is not supported by clearfleet"
        ));
    }
    let (bytes, _, unmappable) = encoding.encode(text);
    if unmappable {
        return Err(format!(
            "'{label}' codec can't encode a character of the rendered template"
        ));
    }
    Ok(bytes.into_owned())
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn output_encodings_as_python_names_them() {
        assert_eq!(encode("café", ""), Ok("café".as_bytes().to_vec()));
        assert_eq!(encode("café", "UTF-8"), Ok("café".as_bytes().to_vec()));
        assert_eq!(
            encode("café €", "windows-1252"),
            Ok(b"caf\xe9 \x80".to_vec())
        );
        assert_eq!(encode("café", "cp1252"), Ok(b"caf\xe9".to_vec()));
        assert!(encode("日本", "windows-1252").is_err());
        assert_eq!(
            encode("x", "nope"),
            Err("unknown encoding: nope".to_owned())
        );
        assert!(encode("x", "utf-16").is_err());
    }
}
