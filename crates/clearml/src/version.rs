//! ClearML server versions as the probes report them: `1.16.2`, `1.16.2-502`, `2.0`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A server release `major.minor.patch`, with the image build number when one is known.
///
/// Ordering ignores the build: `1.16.2-502` and `1.16.2` are the same release.
#[derive(Debug, Clone, Copy, Eq)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    pub build: Option<u32>,
}

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Version {
            major,
            minor,
            patch,
            build: None,
        }
    }

    /// The release without its build number.
    pub fn release(self) -> Version {
        Version {
            build: None,
            ..self
        }
    }

    fn key(self) -> (u32, u32, u32) {
        (self.major, self.minor, self.patch)
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl std::hash::Hash for Version {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

/// A string that is not a ClearML version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a version (expected X.Y[.Z][-BUILD])")]
pub struct BadVersion(pub String);

impl FromStr for Version {
    type Err = BadVersion;

    /// Accepts `1.16.2`, `v1.16.2`, `1.16`, `1.16.2-502`; rejects anything else.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadVersion(s.to_owned());
        let t = s.trim();
        let t = t.strip_prefix('v').unwrap_or(t);
        let (release, build) = match t.split_once('-') {
            Some((r, b)) => (r, Some(b.parse::<u32>().map_err(|_| bad())?)),
            None => (t, None),
        };
        let mut parts = release.split('.');
        let mut num = |required: bool| -> Result<u32, BadVersion> {
            match parts.next() {
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                    p.parse().map_err(|_| bad())
                }
                None if !required => Ok(0),
                _ => Err(bad()),
            }
        };
        let (major, minor, patch) = (num(true)?, num(true)?, num(false)?);
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Version {
            major,
            minor,
            patch,
            build,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if let Some(b) = self.build {
            write!(f, "-{b}")?;
        }
        Ok(())
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Finds the version in a `version.py` line such as `__version__ = "1.16.0"`.
pub fn from_version_py(text: &str) -> Option<Version> {
    text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("__version__")?;
        let value = rest.trim_start().strip_prefix('=')?.trim();
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        value.parse().ok()
    })
}

/// The version in an image reference's tag: `allegroai/clearml:1.17.1-554` → 1.17.1-554;
/// `latest` or an untagged image → None.
pub fn from_image_tag(image: &str) -> Option<Version> {
    let name = image.rsplit('/').next()?;
    let (_, tag) = name.split_once(':')?;
    tag.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_the_forms_probes_report() {
        assert_eq!(v("1.16.2-502"), Version::new(1, 16, 2));
        assert_eq!(v("1.16.2-502").build, Some(502));
        assert_eq!(v("v0.17.0").to_string(), "0.17.0");
        assert_eq!(v("2.0").to_string(), "2.0.0");
        for bad in ["", "latest", "1", "1.x", "1.2.3.4", "1.2.3-rc1", "-1.2"] {
            assert!(bad.parse::<Version>().is_err(), "{bad}");
        }
    }

    #[test]
    fn orders_numerically_and_ignores_the_build() {
        assert!(v("1.9.2") < v("1.16.0"));
        assert!(v("0.17.0") < v("1.0.0"));
        assert_eq!(v("2.0.0-613"), v("2.0.0"));
    }

    #[test]
    fn reads_version_py_and_image_tags() {
        assert_eq!(
            from_version_py("# x\n__version__ = \"1.16.0\"\n"),
            Some(v("1.16.0"))
        );
        assert_eq!(from_version_py("__version__='0.16.1'"), Some(v("0.16.1")));
        assert_eq!(from_version_py("nothing"), None);
        assert_eq!(
            from_image_tag("allegroai/clearml:1.17.1-554"),
            Some(v("1.17.1"))
        );
        assert_eq!(from_image_tag("allegroai/clearml:latest"), None);
        assert_eq!(from_image_tag("localhost:5000/clearml"), None);
        assert_eq!(from_image_tag("mongo:4.4.29"), Some(v("4.4.29")));
    }
}
