//! The loading context shared by plays, tasks and includes: the diagnostics collected so
//! far, the template hook, the files read, and typed readers that report a wrong type at the
//! node's place and carry on (so one load reports every mistake).

use super::model::{ModuleDefaults, SourceFile, Spanned, TemplateSite};
use super::template::{TemplateCheck, TemplateKind, is_template};
use clearfleet_base::boolean::{ansible_bool_number, ansible_bool_text};
use clearfleet_base::controller_files::ControllerFiles;
use clearfleet_base::diagnostic::{Diagnostic, Location};
use clearfleet_yaml::syntax::{Kind, Node, key_text};
use indexmap::IndexMap;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One file being read: its path as shown in diagnostics, its text and its directory.
pub struct File {
    pub path: PathBuf,
    pub text: String,
}

impl File {
    /// The directory relative paths in this file are resolved against (as
    /// [`super::load::resolve_path`] does).
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new(""))
    }
}

/// State of one load.
pub struct Cx<'h> {
    pub diags: Vec<Diagnostic>,
    /// Found in dynamic includes' files: reported, not fatal (see `Playbook::warnings`).
    pub warnings: Vec<Diagnostic>,
    pub hook: &'h mut dyn TemplateCheck,
    /// Where the files are read from (the disk, or the built-in playbook in memory).
    pub source: ControllerFiles,
    pub files: Vec<SourceFile>,
    /// The files being loaded, outermost first, as (canonical path, path as shown):
    /// cycle detection.
    pub stack: Vec<(PathBuf, PathBuf)>,
    /// The roles of the play being loaded (`crate::role`).
    pub roles: super::role::RoleCx,
    /// The module and action plugins of the directories loaded so far (`crate::plugins`).
    pub plugins: super::plugins::Plugins,
    /// The `collections` of the play and blocks being loaded (for the hint of an unknown
    /// module, `crate::controller_keywords::collections_hint`).
    pub collections: Vec<String>,
}

impl<'h> Cx<'h> {
    pub fn new(hook: &'h mut dyn TemplateCheck, source: &ControllerFiles) -> Self {
        Cx {
            diags: Vec::new(),
            warnings: Vec::new(),
            hook,
            source: source.clone(),
            files: Vec::new(),
            stack: Vec::new(),
            roles: super::role::RoleCx::default(),
            plugins: super::plugins::Plugins::default(),
            collections: Vec::new(),
        }
    }

    pub fn loc(f: &File, n: &Node) -> Location {
        Location::new(&f.path, n.line.max(1), n.column.max(1))
    }

    pub fn diag(f: &File, n: &Node, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::at(msg, &f.path, &f.text, n.line.max(1), n.column.max(1))
    }

    pub fn error(&mut self, f: &File, n: &Node, msg: impl Into<String>) {
        self.diags.push(Self::diag(f, n, msg));
    }

    pub fn error_hint(&mut self, f: &File, n: &Node, msg: impl Into<String>, hint: Option<String>) {
        let mut d = Self::diag(f, n, msg);
        d.hint = hint;
        self.diags.push(d);
    }

    /// A boolean as Ansible's `boolean()` reads it (`clearfleet_base::boolean`): YAML
    /// booleans, `yes`/`on`/`1`/`true`/… as strings, and the numbers 0 and 1.
    pub fn bool(&mut self, f: &File, key: &str, n: &Node) -> Option<bool> {
        let read = match &n.kind {
            Kind::Bool(b) => Some(*b),
            Kind::Int(i) => ansible_bool_number(*i as f64),
            Kind::UInt(u) => ansible_bool_number(*u as f64),
            Kind::Float(x) => ansible_bool_number(*x),
            Kind::Str(s) => ansible_bool_text(s),
            Kind::Null | Kind::Seq(_) | Kind::Map(_) => None,
        };
        if read.is_some() {
            return read;
        }
        if n.as_str().is_some_and(is_template) {
            self.error_hint(
                f,
                n,
                format!("`{key}` must be a literal boolean here, not a template"),
                Some("clearfleet reads this keyword before any variable exists; write `true` or `false`".to_owned()),
            );
            return None;
        }
        self.error(
            f,
            n,
            format!(
                "`{key}` must be a boolean (true/false, yes/no), got {}",
                shown(n)
            ),
        );
        None
    }

    /// A whole number (YAML integer or a string of digits).
    pub fn uint(&mut self, f: &File, key: &str, n: &Node, max: u64) -> Option<u64> {
        let v = match &n.kind {
            Kind::Int(i) => u64::try_from(*i).ok(),
            Kind::UInt(u) => Some(*u),
            Kind::Str(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match v {
            Some(v) if v <= max => Some(v),
            _ => {
                let templated = n.as_str().is_some_and(is_template);
                self.error(
                    f,
                    n,
                    if templated {
                        format!("`{key}` must be a literal whole number here, not a template")
                    } else {
                        format!("`{key}` must be a whole number, got {}", shown(n))
                    },
                );
                None
            }
        }
    }

    /// A non-negative number.
    pub fn number(&mut self, f: &File, key: &str, n: &Node) -> Option<f64> {
        let v = match &n.kind {
            Kind::Int(i) => Some(*i as f64),
            Kind::UInt(u) => Some(*u as f64),
            Kind::Float(x) => Some(*x),
            Kind::Str(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match v {
            Some(v) if v.is_finite() && v >= 0.0 => Some(v),
            _ => {
                self.error(f, n, format!("`{key}` must be a number, got {}", shown(n)));
                None
            }
        }
    }

    /// A string; numbers and booleans are converted as Python's `str()` would, null is `None`.
    pub fn string(&mut self, f: &File, key: &str, n: &Node) -> Option<String> {
        match &n.kind {
            Kind::Null => None,
            Kind::Seq(_) | Kind::Map(_) => {
                self.error(
                    f,
                    n,
                    format!("`{key}` must be a string, got {}", n.type_name()),
                );
                None
            }
            _ => n.as_text(),
        }
    }

    /// A list of strings, from a YAML list or (with `comma`) a comma-separated string, as
    /// Ansible reads `tags`; without `comma` a string is a one-item list (`notify`).
    pub fn strings(&mut self, f: &File, key: &str, n: &Node, comma: bool) -> Vec<String> {
        match &n.kind {
            Kind::Null => Vec::new(),
            Kind::Seq(items) => items
                .iter()
                .filter_map(|i| self.string(f, key, i))
                .collect(),
            Kind::Map(_) => {
                self.error(
                    f,
                    n,
                    format!("`{key}` must be a string or a list of strings, got a mapping"),
                );
                Vec::new()
            }
            _ => {
                let s = n.as_text().unwrap_or_default();
                if comma {
                    s.split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned)
                        .collect()
                } else {
                    vec![s]
                }
            }
        }
    }

    /// `when`/`changed_when`/`failed_when`: a string, a boolean or a list of them (ANDed).
    /// Each is handed to the hook as an expression.
    pub fn conditions(&mut self, f: &File, key: &str, n: &Node) -> Vec<Spanned<String>> {
        let items: Vec<&Node> = match &n.kind {
            Kind::Null => return Vec::new(),
            Kind::Seq(items) => items.iter().collect(),
            _ => vec![n],
        };
        let mut out = Vec::new();
        for item in items {
            if let Some(c) = self.condition(f, key, item) {
                out.push(c);
            }
        }
        out
    }

    /// One condition (also `until`).
    pub fn condition(&mut self, f: &File, key: &str, n: &Node) -> Option<Spanned<String>> {
        let text = match &n.kind {
            Kind::Str(s) => s.clone(),
            Kind::Bool(_) | Kind::Int(_) | Kind::UInt(_) | Kind::Float(_) => n.as_text()?,
            _ => {
                self.error(
                    f,
                    n,
                    format!(
                        "`{key}` must be a condition (a string or a boolean), got {}",
                        n.type_name()
                    ),
                );
                return None;
            }
        };
        let location = Self::loc(f, n);
        if let Err(e) = self.hook.check(&text, TemplateKind::Expression, &location) {
            self.error(f, n, format!("invalid expression in `{key}`: {e}"));
        }
        Some(Spanned::new(text, location))
    }

    /// Walks `n`, handing every templated string to the hook and recording where it is.
    pub fn templates(&mut self, f: &File, n: &Node, path: &str, sites: &mut Vec<TemplateSite>) {
        self.templates_at(f, n, path, sites, 0);
    }

    fn templates_at(
        &mut self,
        f: &File,
        n: &Node,
        path: &str,
        sites: &mut Vec<TemplateSite>,
        depth: usize,
    ) {
        if depth > clearfleet_yaml::syntax::MAX_DEPTH {
            return;
        }
        match &n.kind {
            Kind::Str(s) if is_template(s) && n.tag.as_deref() != Some("!unsafe") => {
                let location = Self::loc(f, n);
                if let Err(e) = self.hook.check(s, TemplateKind::Text, &location) {
                    self.error(f, n, format!("invalid template in `{path}`: {e}"));
                }
                sites.push(TemplateSite {
                    key_path: path.to_owned(),
                    location,
                });
            }
            Kind::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.templates_at(f, item, &format!("{path}[{i}]"), sites, depth + 1);
                }
            }
            Kind::Map(entries) => {
                for (k, v) in entries {
                    let p = format!("{path}.{}", key_text(k));
                    self.templates_at(f, k, &p, sites, depth + 1);
                    self.templates_at(f, v, &p, sites, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// `vars:` — a mapping (or a list of mappings, merged) with valid variable names.
    pub fn vars(
        &mut self,
        f: &File,
        n: &Node,
        sites: &mut Vec<TemplateSite>,
    ) -> IndexMap<String, Value> {
        let mut out = IndexMap::new();
        let maps: Vec<&Node> = match &n.kind {
            Kind::Null => return out,
            Kind::Map(_) => vec![n],
            Kind::Seq(items) => items.iter().collect(),
            _ => {
                self.error(
                    f,
                    n,
                    format!("`vars` must be a mapping, got {}", n.type_name()),
                );
                return out;
            }
        };
        for m in maps {
            let Some(entries) = m.as_map() else {
                self.error(
                    f,
                    m,
                    format!("`vars` must be a mapping, got {}", m.type_name()),
                );
                continue;
            };
            for (k, v) in entries {
                let name = key_text(k);
                if !is_identifier(&name) {
                    self.error(f, k, format!("invalid variable name `{name}`: use letters, digits and `_`, not starting with a digit"));
                    continue;
                }
                self.templates(f, v, &format!("vars.{name}"), sites);
                out.insert(name, v.to_template_value());
            }
        }
        out
    }

    /// `environment:` — a mapping of names to scalar values, kept as strings.
    pub fn environment(
        &mut self,
        f: &File,
        n: &Node,
        sites: &mut Vec<TemplateSite>,
    ) -> IndexMap<String, String> {
        let mut out = IndexMap::new();
        let maps: Vec<&Node> = match &n.kind {
            Kind::Null => return out,
            Kind::Map(_) => vec![n],
            Kind::Seq(items) => items.iter().collect(),
            Kind::Str(s) if is_template(s) => {
                self.error_hint(
                    f,
                    n,
                    "`environment` must be a mapping here; a template for the whole mapping is not supported",
                    Some("write `environment: {NAME: \"{{ value }}\"}`".to_owned()),
                );
                return out;
            }
            _ => vec![n],
        };
        for m in maps {
            let Some(entries) = m.as_map() else {
                self.error(
                    f,
                    m,
                    format!("`environment` must be a mapping, got {}", m.type_name()),
                );
                continue;
            };
            for (k, v) in entries {
                let name = key_text(k);
                let value = match &v.kind {
                    Kind::Null => String::new(),
                    _ => match self.string(f, &format!("environment.{name}"), v) {
                        Some(s) => s,
                        None => continue,
                    },
                };
                self.templates(f, v, &format!("environment.{name}"), sites);
                out.insert(name, value);
            }
        }
        out
    }
}

impl Cx<'_> {
    /// `module_defaults`: a mapping (or a list of mappings, later ones winning) from a module's
    /// name to the arguments it gets unless the task gives them; names are canonical
    /// (`ansible.builtin.` dropped). Action groups (`group/...`) are refused.
    pub fn module_defaults(
        &mut self,
        f: &File,
        n: &Node,
        sites: &mut Vec<TemplateSite>,
    ) -> ModuleDefaults {
        let mut out = ModuleDefaults::new();
        let maps: Vec<&Node> = match &n.kind {
            Kind::Null => return out,
            Kind::Seq(items) => items.iter().collect(),
            _ => vec![n],
        };
        for m in maps {
            let Some(entries) = m.as_map() else {
                self.error(
                    f,
                    m,
                    format!(
                        "`module_defaults` must be a mapping of module names, got {}",
                        shown(m)
                    ),
                );
                continue;
            };
            for (k, v) in entries {
                let name = key_text(k);
                if name.starts_with("group/") {
                    self.error(
                        f,
                        k,
                        format!("`module_defaults` action groups (`{name}`) are not supported by clearfleet"),
                    );
                    continue;
                }
                let Some(module) = super::action::canonical_module(&name) else {
                    self.error(
                        f,
                        k,
                        format!("unknown module `{name}` in `module_defaults`"),
                    );
                    continue;
                };
                let Some(args) = v.as_map() else {
                    self.error(
                        f,
                        v,
                        format!(
                            "the defaults of `{name}` must be a mapping of arguments, got {}",
                            shown(v)
                        ),
                    );
                    continue;
                };
                self.templates(f, v, &format!("module_defaults.{name}"), sites);
                let entry = out.entry(module.to_owned()).or_default();
                for (ak, av) in args {
                    entry.insert(key_text(ak), av.to_template_value());
                }
            }
        }
        out
    }
}

/// Python-ish identifier: the names Ansible accepts for variables and `register`.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// How a node is shown in "got …": the scalar itself in backticks, or its type.
pub fn shown(n: &Node) -> String {
    match &n.kind {
        Kind::Seq(_) | Kind::Map(_) | Kind::Null => n.type_name().to_owned(),
        Kind::Bool(b) => format!("`{b}`"),
        _ => format!("`{}`", n.as_text().unwrap_or_default()),
    }
}
