//! The package names of pip.py (ansible-core 2.19.14): `_recover_package_name`, its `Package`
//! (a PEP 508 requirement as `packaging` 23 parses and prints it, the name canonicalized as
//! PEP 503 says) and `is_satisfied_by` (PEP 440 versions and specifiers, `prereleases=True`),
//! which check mode compares with `pip list --format=freeze`.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;

/// The version operators, in the order `_is_package_name` tries them.
const OPS: [&str; 8] = ["===", "~=", "==", "!=", "<=", ">=", "<", ">"];

/// `_is_package_name`: not a bare version specifier (`<2`, `>=1`).
fn is_package_name(name: &str) -> bool {
    let n = name.trim_start();
    ![">=", "<=", ">", "<", "==", "!=", "~="]
        .iter()
        .any(|op| n.starts_with(op))
}

/// `_recover_package_name`: names split at commas and joined again where a part is a version
/// specifier (`['django>1.11.1', '<1.11.3']` is one name), brackets kept whole.
pub fn recover_package_names(names: &[String]) -> Vec<String> {
    let parts: Vec<&str> = names.iter().flat_map(|n| n.split(',')).collect();
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut in_brackets = false;
    for part in parts {
        if is_package_name(part) && !in_brackets {
            if !current.is_empty() {
                out.push(current.join(","));
            }
            current.clear();
        }
        if part.contains('[') {
            in_brackets = true;
        }
        if in_brackets && part.contains(']') {
            in_brackets = false;
        }
        current.push(part);
    }
    out.push(current.join(","));
    out
}

/// PEP 503's canonical name.
pub fn canonicalize_name(name: &str) -> String {
    static RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[-_.]+").expect("regex"));
    RE.replace_all(name, "-").to_lowercase()
}

/// One version specifier (`>=1.0`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Spec {
    op: &'static str,
    version: String,
}

/// pip.py's `Package`: a parsed requirement, or the text as given when it is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// The canonical name (the text itself when it did not parse).
    pub name: String,
    parsed: Option<Parsed>,
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Parsed {
    name: String,
    extras: Vec<String>,
    specs: Vec<Spec>,
    url: Option<String>,
    marker: Option<String>,
}

impl Package {
    /// `Package(name_string, version_string)`.
    pub fn new(name: &str, version: Option<&str>) -> Package {
        let text = match version {
            Some(v) => {
                let v = v.trim_start();
                let sep = if v.starts_with(|c: char| c.is_ascii_digit()) {
                    "=="
                } else {
                    " "
                };
                format!("{name}{sep}{v}")
            }
            None => name.to_owned(),
        };
        match parse_requirement(&text) {
            Some(p) => Package {
                name: canonicalize_name(&p.name),
                parsed: Some(p),
                text,
            },
            None => Package {
                name: name.to_owned(),
                parsed: None,
                text,
            },
        }
    }

    /// Whether a version specifier came with the name.
    pub fn has_version_specifier(&self) -> bool {
        self.parsed.as_ref().is_some_and(|p| !p.specs.is_empty())
    }

    /// `is_satisfied_by`: every specifier holds for `version`.
    pub fn is_satisfied_by(&self, version: &str) -> bool {
        let Some(p) = &self.parsed else {
            return false;
        };
        let Some(v) = Version::parse(version) else {
            return false;
        };
        p.specs.iter().all(|s| match s.op {
            // `===`: the version as printed, compared without regard to case.
            "===" => version.trim().eq_ignore_ascii_case(&s.version),
            _ => spec_contains(s, &v),
        })
    }

    /// `str(Package)`: the requirement as `packaging` prints it.
    pub fn to_text(&self) -> String {
        let Some(p) = &self.parsed else {
            return self.text.clone();
        };
        let mut s = p.name.clone();
        if !p.extras.is_empty() {
            let mut extras = p.extras.clone();
            extras.sort();
            s.push_str(&format!("[{}]", extras.join(",")));
        }
        let mut specs: Vec<String> = p
            .specs
            .iter()
            .map(|sp| format!("{}{}", sp.op, sp.version))
            .collect();
        specs.sort();
        s.push_str(&specs.join(","));
        if let Some(u) = &p.url {
            s.push_str(&format!("@ {u}"));
            if p.marker.is_some() {
                s.push(' ');
            }
        }
        if let Some(m) = &p.marker {
            s.push_str(&format!("; {m}"));
        }
        s
    }
}

/// A PEP 508 requirement (`None`: `packaging` refuses it, as a path or a VCS URL).
fn parse_requirement(text: &str) -> Option<Parsed> {
    static NAME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?").expect("regex")
    });
    let t = text.trim();
    let name = NAME.find(t)?.as_str();
    let mut rest = t[name.len()..].trim_start();
    if rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-') {
        return None;
    }
    let mut extras = Vec::new();
    if let Some(r) = rest.strip_prefix('[') {
        let end = r.find(']')?;
        for e in r[..end].split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if NAME.find(e).map(|m| m.as_str()) != Some(e) {
                return None;
            }
            extras.push(e.to_owned());
        }
        rest = r[end + 1..].trim_start();
    }
    let (mut url, mut specs) = (None, Vec::new());
    let marker_at = |r: &str| r.find(';');
    if let Some(r) = rest.strip_prefix('@') {
        let r = r.trim_start();
        let end = r.find(char::is_whitespace).unwrap_or(r.len());
        if end == 0 {
            return None;
        }
        url = Some(r[..end].to_owned());
        rest = r[end..].trim_start();
    } else {
        let end = marker_at(rest).unwrap_or(rest.len());
        let mut list = rest[..end].trim();
        if let Some(inner) = list.strip_prefix('(') {
            list = inner.strip_suffix(')')?.trim();
        }
        if !list.is_empty() {
            for one in list.split(',') {
                specs.push(parse_spec(one.trim())?);
            }
        }
        rest = &rest[end..];
    }
    let marker = match rest.strip_prefix(';') {
        Some(m) if !m.trim().is_empty() => Some(normalize_marker(m.trim())?),
        Some(_) => return None,
        None if rest.trim().is_empty() => None,
        None => return None,
    };
    Some(Parsed {
        name: name.to_owned(),
        extras,
        specs,
        url,
        marker,
    })
}

/// A marker as `packaging` prints it: `name op "value"` clauses joined by `and`/`or`.
fn normalize_marker(m: &str) -> Option<String> {
    static CLAUSE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"^\s*([A-Za-z_.]+)\s*(===|==|!=|<=|>=|~=|<|>|not in|in)\s*(?:'([^']*)'|"([^"]*)")\s*$"#)
            .expect("regex")
    });
    let mut out = Vec::new();
    for part in m.split(" and ") {
        let mut ors = Vec::new();
        for clause in part.split(" or ") {
            let c = CLAUSE.captures(clause)?;
            let value = c.get(3).or_else(|| c.get(4)).map_or("", |v| v.as_str());
            ors.push(format!("{} {} \"{value}\"", &c[1], &c[2]));
        }
        out.push(ors.join(" or "));
    }
    Some(out.join(" and "))
}

/// One specifier (`>=1.0`, `==1.*`, `~=1.2`); `None`: not one `packaging` takes.
fn parse_spec(s: &str) -> Option<Spec> {
    let op = OPS.iter().find(|op| s.starts_with(**op))?;
    let version = s[op.len()..].trim();
    if version.is_empty() {
        return None;
    }
    let ok = match *op {
        "===" => !version.contains(char::is_whitespace),
        "==" | "!=" => match version.strip_suffix(".*") {
            Some(prefix) => Version::parse(prefix).is_some_and(|v| v.local.is_none()),
            None => Version::parse(version).is_some(),
        },
        "~=" => Version::parse(version).is_some_and(|v| v.release.len() >= 2 && v.local.is_none()),
        _ => Version::parse(version).is_some_and(|v| v.local.is_none()),
    };
    ok.then(|| Spec {
        op,
        version: version.to_owned(),
    })
}

/// A local version label's part: numbers sort above words.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalPart {
    Word(String),
    Num(u64),
}

/// A PEP 440 version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    epoch: u64,
    release: Vec<u64>,
    /// `(0 a | 1 b | 2 rc, n)`.
    pre: Option<(u8, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
    local: Option<Vec<LocalPart>>,
}

impl Version {
    /// Parses a version as `packaging.version.Version` does (`None`: `InvalidVersion`).
    pub fn parse(s: &str) -> Option<Version> {
        static RE: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(
                r"(?ix)^\s*v?
                (?:(?P<epoch>[0-9]+)!)?
                (?P<release>[0-9]+(?:\.[0-9]+)*)
                (?P<pre>[-_\.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_\.]?(?P<pre_n>[0-9]+)?)?
                (?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_\.]?(?P<post_l>post|rev|r)[-_\.]?(?P<post_n2>[0-9]+)?))?
                (?P<dev>[-_\.]?(?P<dev_l>dev)[-_\.]?(?P<dev_n>[0-9]+)?)?
                (?:\+(?P<local>[a-z0-9]+(?:[-_\.][a-z0-9]+)*))?
                \s*$",
            )
            .expect("regex")
        });
        let c = RE.captures(s)?;
        let num = |name: &str| c.name(name).and_then(|m| m.as_str().parse::<u64>().ok());
        let pre = c.name("pre_l").map(|l| {
            let kind = match l.as_str().to_ascii_lowercase().as_str() {
                "alpha" | "a" => 0,
                "beta" | "b" => 1,
                _ => 2,
            };
            (kind, num("pre_n").unwrap_or(0))
        });
        let post = if c.name("post").is_some() {
            Some(num("post_n1").or_else(|| num("post_n2")).unwrap_or(0))
        } else {
            None
        };
        let dev = c.name("dev").map(|_| num("dev_n").unwrap_or(0));
        let local = c.name("local").map(|l| {
            l.as_str()
                .to_ascii_lowercase()
                .split(['-', '_', '.'])
                .map(|p| match p.parse::<u64>() {
                    Ok(n) => LocalPart::Num(n),
                    Err(_) => LocalPart::Word(p.to_owned()),
                })
                .collect()
        });
        Some(Version {
            epoch: num("epoch").unwrap_or(0),
            release: c["release"]
                .split('.')
                .map(|p| p.parse().unwrap_or(0))
                .collect(),
            pre,
            post,
            dev,
            local,
        })
    }

    fn public(&self) -> Version {
        Version {
            local: None,
            ..self.clone()
        }
    }

    fn base(&self) -> Version {
        Version {
            epoch: self.epoch,
            release: self.release.clone(),
            pre: None,
            post: None,
            dev: None,
            local: None,
        }
    }

    fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    /// `canonicalize_version(strip_trailing_zero=False)`, split as `_version_split` splits.
    fn split_canonical(&self) -> Vec<String> {
        let mut parts = Vec::new();
        if self.epoch != 0 {
            parts.push(format!("{}!", self.epoch));
        }
        let mut text = parts.concat();
        text.push_str(
            &self
                .release
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join("."),
        );
        if let Some((k, n)) = self.pre {
            text.push_str(&format!("{}{n}", ["a", "b", "rc"][usize::from(k)]));
        }
        if let Some(p) = self.post {
            text.push_str(&format!(".post{p}"));
        }
        if let Some(d) = self.dev {
            text.push_str(&format!(".dev{d}"));
        }
        version_split(&text)
    }

    /// packaging's `_cmpkey`.
    fn key(&self) -> impl Ord + use<> {
        let mut release = self.release.clone();
        while release.last() == Some(&0) {
            release.pop();
        }
        // Pre: a dev release of no pre or post release sorts before any pre-release.
        let pre: (i8, u8, u64) = match (self.pre, self.post, self.dev) {
            (None, None, Some(_)) => (-1, 0, 0),
            (None, _, _) => (1, 0, 0),
            (Some((k, n)), _, _) => (0, k, n),
        };
        let post: (i8, u64) = self.post.map_or((-1, 0), |p| (0, p));
        let dev: (i8, u64) = self.dev.map_or((1, 0), |d| (0, d));
        let local: (i8, Vec<LocalPart>) = self.local.clone().map_or((-1, Vec::new()), |l| (0, l));
        (self.epoch, release, pre, post, dev, local)
    }

    fn cmp(&self, other: &Version) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// packaging 23.0's `_version_split`.
fn version_split(v: &str) -> Vec<String> {
    static PREFIX: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^([0-9]+)((?:a|b|c|rc)[0-9]+)$").expect("regex"));
    let mut out = Vec::new();
    for item in v.split('.') {
        match PREFIX.captures(item) {
            Some(c) => {
                out.push(c[1].to_owned());
                out.push(c[2].to_owned());
            }
            None => out.push(item.to_owned()),
        }
    }
    out
}

/// `Specifier.contains(version, prereleases=True)`.
fn spec_contains(s: &Spec, v: &Version) -> bool {
    let spec = || Version::parse(&s.version);
    match s.op {
        "==" => equal(&s.version, v),
        "!=" => !equal(&s.version, v),
        "~=" => {
            let split = version_split(&s.version);
            let mut prefix: Vec<String> = split
                .into_iter()
                .take_while(|p| {
                    !["dev", "a", "b", "rc", "post"]
                        .iter()
                        .any(|x| p.starts_with(x))
                })
                .collect();
            prefix.pop();
            spec().is_some_and(|sp| v.public().cmp(&sp) != Ordering::Less)
                && equal(&format!("{}.*", prefix.join(".")), v)
        }
        "<=" => spec().is_some_and(|sp| v.public().cmp(&sp) != Ordering::Greater),
        ">=" => spec().is_some_and(|sp| v.public().cmp(&sp) != Ordering::Less),
        "<" => spec().is_some_and(|sp| {
            v.cmp(&sp) == Ordering::Less
                && !(!sp.is_prerelease()
                    && v.is_prerelease()
                    && v.base().cmp(&sp.base()) == Ordering::Equal)
        }),
        _ => spec().is_some_and(|sp| {
            let same_base = v.base().cmp(&sp.base()) == Ordering::Equal;
            v.cmp(&sp) == Ordering::Greater
                && !(sp.post.is_none() && v.post.is_some() && same_base)
                && !(v.local.is_some() && same_base)
        }),
    }
}

/// `_compare_equal`: `==V` (the local label ignored unless the specifier has one) or `==V.*`.
fn equal(spec: &str, v: &Version) -> bool {
    if let Some(prefix) = spec.strip_suffix(".*") {
        let Some(p) = Version::parse(prefix) else {
            return false;
        };
        let want = p.split_canonical();
        let have = v.public().split_canonical();
        let digits = |s: &[String]| {
            s.iter()
                .take_while(|x| x.bytes().all(|b| b.is_ascii_digit()))
                .count()
        };
        let (hd, wd) = (digits(&have), digits(&want));
        let mut padded: Vec<String> = have[..hd].to_vec();
        padded.extend(std::iter::repeat_n("0".to_owned(), wd.saturating_sub(hd)));
        padded.extend(have[hd..].iter().cloned());
        return padded.len() >= want.len() && padded[..want.len()] == want[..];
    }
    let Some(sp) = Version::parse(spec) else {
        return false;
    };
    let have = if sp.local.is_none() {
        v.public()
    } else {
        v.clone()
    };
    have.cmp(&sp) == Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn names_recovered_as_pip_py() {
        assert_eq!(
            recover_package_names(&s(&[
                "django>1.11.1",
                "<1.11.3",
                "ipaddress",
                "simpleproject>1.1.0",
                "<2.0.0"
            ])),
            s(&[
                "django>1.11.1,<1.11.3",
                "ipaddress",
                "simpleproject>1.1.0,<2.0.0"
            ])
        );
        assert_eq!(
            recover_package_names(&s(&["django>1.11.1,<1.11.3,ipaddress", "pkg[a,b]>1"])),
            s(&["django>1.11.1,<1.11.3", "ipaddress", "pkg[a,b]>1"])
        );
    }

    #[test]
    fn requirements_printed_as_packaging() {
        assert_eq!(
            Package::new("Django >= 1.0, <2", None).to_text(),
            "Django<2,>=1.0"
        );
        assert_eq!(Package::new("pkg[b,a]", None).to_text(), "pkg[a,b]");
        assert_eq!(
            Package::new("tinypkg", Some("1.0")).to_text(),
            "tinypkg==1.0"
        );
        assert_eq!(
            Package::new("tinypkg", Some(">=1.0")).to_text(),
            "tinypkg>=1.0"
        );
        assert_eq!(
            Package::new("pkg; python_version>'3'", None).to_text(),
            "pkg; python_version > \"3\""
        );
        let path = Package::new("./dir/pkg", None);
        assert_eq!(
            (path.to_text(), path.name.clone()),
            ("./dir/pkg".into(), "./dir/pkg".into())
        );
        assert!(
            Package::new("git+https://example.com/x.git", None)
                .parsed
                .is_none()
        );
        assert_eq!(Package::new("Tiny_Pkg.x", None).name, "tiny-pkg-x");
    }

    #[test]
    fn versions_satisfy_specifiers_as_packaging() {
        let sat = |req: &str, v: &str| Package::new(req, None).is_satisfied_by(v);
        assert!(sat("p", "1.0"));
        assert!(sat("p==1.0", "1.0.0"));
        assert!(sat("p==1.0", "1.0+local"));
        assert!(!sat("p==1.0+a", "1.0"));
        assert!(sat("p==1.*", "1.4.2"));
        assert!(!sat("p==1.*", "2.0"));
        assert!(sat("p!=1.*", "2.0"));
        assert!(sat("p>=1.0,<3", "2.0"));
        assert!(!sat("p<2.0", "2.0a1"));
        assert!(sat("p<2.0", "1.9"));
        assert!(!sat("p>1.0", "1.0.post1"));
        assert!(sat("p>1.0", "1.1"));
        assert!(sat("p~=1.4", "1.9"));
        assert!(!sat("p~=1.4.2", "1.5"));
        assert!(sat("p>=1.0", "2.0rc1"));
        assert!(!sat("p==1.0", "not a version"));
        let v = |x: &str| Version::parse(x).unwrap_or_else(|| panic!("{x}"));
        assert_eq!(v("1.0.dev1").cmp(&v("1.0a1")), Ordering::Less);
        assert_eq!(v("1.0a1").cmp(&v("1.0")), Ordering::Less);
        assert_eq!(v("1.0").cmp(&v("1.0.post1")), Ordering::Less);
        assert_eq!(v("1!0.1").cmp(&v("2.0")), Ordering::Greater);
        assert_eq!(v("1.0+abc").cmp(&v("1.0+5")), Ordering::Less);
    }
}
