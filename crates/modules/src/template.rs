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

const RENDER_OPTIONS: &[&str] = &[
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
    let put = Put {
        content: text.clone().into_bytes(),
        src_name: std::path::Path::new(&args.src)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
        src_mode,
        dest: &args.dest,
        file: &args.file,
        follow: args.follow,
    };
    put.run(ctx).await.with("src", args.src.clone())
}
