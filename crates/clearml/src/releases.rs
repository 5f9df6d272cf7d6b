//! The ClearML release data (`playbooks/clearml/releases.yml`): compose pins per release range
//! and the upgrade hops. Built into the binary; a new release is a change to that file only.

use serde::{Deserialize, Serialize};

use super::version::Version;

/// The release data file, as shipped.
pub const RELEASES_YML: &str = include_str!("../../../playbooks/clearml/releases.yml");

/// Releases whose compose files pin the same data stores.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Era {
    pub from: Version,
    pub to: Version,
    pub server_image: String,
    pub elasticsearch: String,
    pub mongo: String,
    pub redis: Option<String>,
    pub root: String,
    #[serde(default)]
    pub agent_image: Option<String>,
    /// Where upstream establishes these pins (repository, tag or commit, path).
    #[serde(default)]
    pub source: Option<String>,
}

/// A release an upgrade may stop at, with the compose file it uses.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Hop {
    pub version: Version,
    #[serde(default)]
    pub build: Option<u32>,
    pub compose_url: String,
    pub server_image: String,
    pub elasticsearch: String,
    pub mongo: String,
    pub mongo_fcv: String,
    pub redis: String,
    /// Where upstream establishes the hop's compose file and pinned image.
    #[serde(default)]
    pub source: Option<String>,
}

impl Hop {
    /// What the hop's compose file says (`<repository>:latest` for the server's services in
    /// every official compose file but the pinned 1.17 → 2.0 one) → the exact image to run.
    pub fn pins(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        if let Some((repo, tag)) = self.server_image.rsplit_once(':')
            && tag != "latest"
        {
            m.insert(
                format!("{repo}:latest"),
                serde_json::Value::String(self.server_image.clone()),
            );
        }
        m
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Releases {
    pub latest: Version,
    pub es_migration: EsMigrationKit,
    pub eras: Vec<Era>,
    pub hops: Vec<Hop>,
    /// Releases upstream announces without establishing their pins.
    #[serde(default)]
    pub announced: Vec<Announced>,
}

/// A release known to exist, whose compose file or pins upstream does not publish: never an
/// upgrade target, and a host running it is newer than known, not broken.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Announced {
    pub version: Version,
    /// What upstream does establish, with its source.
    pub known: String,
    /// What it does not, said to the operator when this release is the target.
    pub unknown: String,
}

/// The Elasticsearch 5 → 7 migration kit (a release asset holding the script).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EsMigrationKit {
    pub release: Version,
    pub asset: String,
    pub url: String,
    pub script: String,
}

/// The release data cannot be read, does not parse or is inconsistent.
#[derive(Debug, thiserror::Error)]
pub enum ReleasesError {
    #[error("cannot read the release data {}: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `origin` is the file (or "the built-in release data"); the message names line and
    /// column where the YAML reader knows them.
    #[error("invalid release data in {origin}: {message}")]
    Invalid { origin: String, message: String },
}

impl Releases {
    /// The release data built into this binary.
    pub fn builtin() -> Result<Releases, ReleasesError> {
        Releases::parse(RELEASES_YML, "the built-in release data")
    }

    /// The release data of `path` (`--releases FILE`), or the built-in table.
    pub fn load(path: Option<&std::path::Path>) -> Result<Releases, ReleasesError> {
        let Some(path) = path else {
            return Releases::builtin();
        };
        let text = std::fs::read_to_string(path).map_err(|source| ReleasesError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Releases::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Releases, ReleasesError> {
        let bad = |message: String| ReleasesError::Invalid {
            origin: origin.to_owned(),
            message,
        };
        let r: Releases = serde_saphyr::from_str(text).map_err(|e| bad(e.to_string()))?;
        if r.eras.windows(2).any(|w| w[0].to >= w[1].from) || r.eras.iter().any(|e| e.from > e.to) {
            return Err(bad("eras must be ordered and disjoint".to_owned()));
        }
        if r.hops.windows(2).any(|w| w[0].version >= w[1].version) {
            return Err(bad("hops must be in increasing order".to_owned()));
        }
        if !r.hops.iter().any(|h| h.version == r.latest) {
            return Err(bad(format!("latest {} is not a hop", r.latest)));
        }
        // A hop on a floating tag lands wherever that tag points on the day: a `latest` moved
        // past the target fails the hop's version check and rolls the host back.
        if let Some(h) = r.hops.iter().find(|h| {
            h.server_image
                .rsplit_once(':')
                .is_none_or(|(_, tag)| tag == "latest" || tag.contains('/'))
        }) {
            return Err(bad(format!(
                "hop {}: server_image {} is not pinned to an exact tag",
                h.version, h.server_image
            )));
        }
        Ok(r)
    }

    /// The era a release belongs to.
    pub fn era_of(&self, v: Version) -> Option<&Era> {
        self.eras.iter().find(|e| e.from <= v && v <= e.to)
    }

    pub fn hop(&self, v: Version) -> Option<&Hop> {
        self.hops.iter().find(|h| h.version == v)
    }

    pub fn announced(&self, v: Version) -> Option<&Announced> {
        self.announced.iter().find(|a| a.version == v)
    }

    /// The newest release this data knows of (a hop, or announced).
    pub fn newest_known(&self) -> Version {
        self.announced
            .iter()
            .map(|a| a.version)
            .chain(self.hops.iter().map(|h| h.version))
            .chain(self.eras.iter().map(|e| e.to))
            .max()
            .unwrap_or(self.latest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_data_is_valid_and_ordered() {
        let r = Releases::builtin().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.latest, Version::new(2, 3, 0));
        assert_eq!(r.eras.len(), 14);
        // clearml/clearml-server 1.2.0, docker/docker-compose.yml: mongo:3.6.23.
        assert_eq!(
            r.era_of(Version::new(1, 2, 0)).map(|e| e.mongo.as_str()),
            Some("3.6.23")
        );
        let era = r
            .era_of(Version::new(1, 12, 0))
            .map(|e| e.elasticsearch.as_str());
        assert_eq!(era, Some("7.17.7"));
        assert_eq!(
            r.hop(Version::new(1, 17, 1))
                .map(|h| h.server_image.as_str()),
            Some("allegroai/clearml:1.17.1-554")
        );
        assert!(r.era_of(Version::new(9, 0, 0)).is_none());
    }

    #[test]
    fn inconsistent_data_is_refused() {
        let bad = RELEASES_YML.replace("latest: 2.3.0", "latest: 9.4.0");
        assert!(Releases::parse(&bad, "x.yml").is_err());
        let e = Releases::parse("latest: [", "x.yml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("invalid release data in x.yml: "), "{e}");
        assert!(e.contains("line 1"), "{e}");
        let floating = RELEASES_YML.replace(
            "server_image: allegroai/clearml:2.0.0-613",
            "server_image: allegroai/clearml:latest",
        );
        let e = Releases::parse(&floating, "x.yml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("hop 2.0.0: server_image allegroai/clearml:latest is not pinned"),
            "{e}"
        );
    }
}
