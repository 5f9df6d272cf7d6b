//! The ClearML release data (`playbooks/clearml/releases.yml`): compose pins per release range
//! and the upgrade hops. Built into the binary; a new release is a change to that file only.

use serde::Deserialize;

use super::version::Version;

/// The release data file, as shipped.
pub const RELEASES_YML: &str = include_str!("../../playbooks/clearml/releases.yml");

/// Releases whose compose files pin the same data stores.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
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
}

/// A release an upgrade may stop at, with the compose file it uses.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Releases {
    pub latest: Version,
    pub es_migration: EsMigrationKit,
    pub eras: Vec<Era>,
    pub hops: Vec<Hop>,
}

/// The Elasticsearch 5 → 7 migration kit (a release asset holding the script).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EsMigrationKit {
    pub release: Version,
    pub asset: String,
    pub url: String,
    pub script: String,
}

/// The release data file does not parse or is inconsistent.
#[derive(Debug, thiserror::Error)]
#[error("invalid release data: {0}")]
pub struct ReleasesError(String);

impl Releases {
    /// The release data built into this binary.
    pub fn builtin() -> Result<Releases, ReleasesError> {
        Releases::parse(RELEASES_YML)
    }

    pub fn parse(text: &str) -> Result<Releases, ReleasesError> {
        let r: Releases = serde_saphyr::from_str(text).map_err(|e| ReleasesError(e.to_string()))?;
        if r.eras.windows(2).any(|w| w[0].to >= w[1].from) || r.eras.iter().any(|e| e.from > e.to) {
            return Err(ReleasesError(
                "eras must be ordered and disjoint".to_owned(),
            ));
        }
        if r.hops.windows(2).any(|w| w[0].version >= w[1].version) {
            return Err(ReleasesError("hops must be in increasing order".to_owned()));
        }
        if !r.hops.iter().any(|h| h.version == r.latest) {
            return Err(ReleasesError(format!("latest {} is not a hop", r.latest)));
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_data_is_valid_and_ordered() {
        let r = Releases::builtin().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.latest, Version::new(2, 3, 0));
        assert_eq!(r.eras.len(), 13);
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
        let bad = RELEASES_YML.replace("latest: 2.3.0", "latest: 2.4.0");
        assert!(Releases::parse(&bad).is_err());
        assert!(Releases::parse("latest: [").is_err());
    }
}
