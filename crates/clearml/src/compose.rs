//! Reading a ClearML `docker-compose.yml` and its `.env` (the images each service pins and the
//! variables compose would substitute), and writing `.env` values compose reads back exactly.

use indexmap::IndexMap;
use serde_json::Value;

/// One service of a compose file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub image: String,
    pub container_name: Option<String>,
}

/// The compose file is not YAML or has no `services` mapping.
#[derive(Debug, thiserror::Error)]
#[error("unreadable compose file: {0}")]
pub struct ComposeError(String);

/// The services of a compose file, in file order.
pub fn services(text: &str) -> Result<Vec<Service>, ComposeError> {
    let doc: Value = serde_saphyr::from_str(text).map_err(|e| ComposeError(e.to_string()))?;
    let Some(services) = doc.get("services").and_then(Value::as_object) else {
        return Err(ComposeError("no `services` mapping".to_owned()));
    };
    Ok(services
        .iter()
        .map(|(name, s)| Service {
            name: name.clone(),
            image: s
                .get("image")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            container_name: s
                .get("container_name")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
        .collect())
}

/// The image's repository without registry host or tag: `docker.elastic.co/elasticsearch/
/// elasticsearch:8.15.3` → `elasticsearch/elasticsearch`; `mongo:4.4.9` → `mongo`.
pub fn image_name(image: &str) -> &str {
    let without_tag = match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => &image[..i],
        _ => image,
    };
    match without_tag.split_once('/') {
        Some((host, rest)) if host.contains('.') || host.contains(':') => rest,
        _ => without_tag,
    }
}

/// The image's tag (`latest` when none is written).
pub fn image_tag(image: &str) -> &str {
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => &image[i + 1..],
        _ => "latest",
    }
}

/// `KEY=VALUE` lines of a `.env` file (comments, blank lines and `export ` skipped; one level
/// of surrounding quotes removed), as compose reads them.
pub fn parse_env(text: &str) -> IndexMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (k, v) = line.split_once('=')?;
            let v = v.trim();
            let v = match v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
                // As both flavours read single quotes (see `env_value`).
                Some(quoted) => quoted.replace("\\'", "'"),
                None => v
                    .strip_prefix('"')
                    .and_then(|x| x.strip_suffix('"'))
                    .unwrap_or(v)
                    .to_owned(),
            };
            Some((k.trim().to_owned(), v))
        })
        .collect()
}

/// A value compose's `.env` cannot hold as it is, and why.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EnvValueError(&'static str);

/// `value` as a `.env` value that the host's compose reads back exactly: single-quoted, `'` as
/// `\'` (and for v1 `\` as `\\`). Measured with both flavours' `config` on this project's test
/// machines (compose v2 2.26.1, whose single-quoted values are literal except `\'`; compose v1
/// 1.29.2, whose python-dotenv unescapes `\\` and `\'` and expands `${…}` even inside single
/// quotes). Unquoted, compose would expand `${…}` and `$NAME`, cut at ` #` and trim: a git
/// password holding `$` would not survive the upgrade. What a flavour cannot hold is an error.
pub fn env_value(value: &str, flavour: super::state::Compose) -> Result<String, EnvValueError> {
    use super::state::Compose;
    if value.contains(['\n', '\r']) {
        return Err(EnvValueError("a line break"));
    }
    let body = match flavour {
        Compose::V2 => {
            if value.contains("\\'") || value.ends_with('\\') {
                return Err(EnvValueError(
                    "a backslash before a quote or at the end, which compose v2's .env reads differently",
                ));
            }
            value.replace('\'', "\\'")
        }
        Compose::V1 => {
            if value.contains("${") {
                return Err(EnvValueError(
                    "`${`, which docker-compose 1.x expands even in a quoted .env value",
                ));
            }
            value.replace('\\', "\\\\").replace('\'', "\\'")
        }
    };
    Ok(format!("'{body}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_are_quoted_for_each_flavour() {
        use super::super::state::Compose::{V1, V2};
        let hostile = "x$(touch a)`b`;c|d&&e 'q\"\\ ñ✓ ${IFS} # f";
        assert_eq!(
            env_value(hostile, V2).as_deref(),
            Ok("'x$(touch a)`b`;c|d&&e \\'q\"\\ ñ✓ ${IFS} # f'")
        );
        assert!(env_value(hostile, V1).is_err());
        assert_eq!(
            env_value("pa$word 'x\\y", V1).as_deref(),
            Ok("'pa$word \\'x\\\\y'")
        );
        assert!(env_value("a\nb", V2).is_err());
        assert!(env_value("ends\\", V2).is_err());
        assert!(env_value("a\\'b", V2).is_err());
        assert_eq!(env_value("plain", V2).as_deref(), Ok("'plain'"));
    }

    #[test]
    fn reads_services_and_images() {
        let text = "version: \"3.6\"\nservices:\n  apiserver:\n    container_name: clearml-apiserver\n    image: allegroai/clearml:1.17.1-554\n  mongo:\n    image: mongo:5.0.26\n";
        let s = services(text).unwrap_or_default();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].container_name.as_deref(), Some("clearml-apiserver"));
        assert_eq!(s[1].image, "mongo:5.0.26");
        assert!(services("services: [").is_err());
        assert!(services("a: 1").is_err());
    }

    #[test]
    fn splits_image_references() {
        let es = "docker.elastic.co/elasticsearch/elasticsearch:8.15.3";
        assert_eq!(image_name(es), "elasticsearch/elasticsearch");
        assert_eq!(image_tag(es), "8.15.3");
        assert_eq!(image_name("mongo:4.4.9"), "mongo");
        assert_eq!(image_name("allegroai/clearml"), "allegroai/clearml");
        assert_eq!(image_tag("allegroai/clearml"), "latest");
        assert_eq!(
            image_name("localhost:5000/clearml/server:2.3.0"),
            "clearml/server"
        );
    }

    #[test]
    fn reads_dotenv() {
        let env = parse_env("# c\nCLEARML_HOST_IP=10.0.0.5\nexport A='x y'\nB=\"q\"\nbad line\n");
        assert_eq!(
            env.get("CLEARML_HOST_IP").map(String::as_str),
            Some("10.0.0.5")
        );
        assert_eq!(env.get("A").map(String::as_str), Some("x y"));
        assert_eq!(env.get("B").map(String::as_str), Some("q"));
        assert_eq!(env.len(), 3);
    }

    #[test]
    fn deeply_nested_compose_file_is_an_error_not_a_stack_overflow() {
        // A host's file, parsed on a 2 MiB thread like tokio's workers (serde-saphyr's depth
        // budget stops it; the inventory's spanned nodes needed a bigger stack, this does not).
        let text = format!("services: {}{}", "{a: ".repeat(3000), "[".repeat(3000));
        let r = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || services(&text).map_err(|e| e.to_string()))
            .map(|h| h.join().unwrap_or_else(|_| Err("panicked".to_owned())));
        match r {
            Ok(Err(e)) => assert!(e.starts_with("unreadable compose file"), "{e}"),
            other => panic!("{other:?}"),
        }
    }
}
