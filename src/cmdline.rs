//! The command line as recorded in `summary.json`: `-e` values whose key looks secret masked.

use clearfleet_base::secret::is_secret_var;

const MASK: &str = "********";

/// `args` (program name first) with secret `-e`/`--extra-vars` values masked.
pub fn masked(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut next_is_vars = false;
    for arg in args {
        if next_is_vars {
            out.push(mask_vars(arg));
            next_is_vars = false;
        } else if arg == "-e" || arg == "--extra-vars" {
            out.push(arg.clone());
            next_is_vars = true;
        } else if let Some(v) = arg.strip_prefix("--extra-vars=") {
            out.push(format!("--extra-vars={}", mask_vars(v)));
        } else if let Some(v) = arg.strip_prefix("-e").filter(|_| !arg.starts_with("--")) {
            out.push(format!("-e{}", mask_vars(v.strip_prefix('=').unwrap_or(v))));
        } else {
            out.push(arg.clone());
        }
    }
    out
}

/// One `-e` value: `@file` stays, a mapping or `k=v` pairs get secret values masked. A value
/// that cannot be read is masked whole: it may hold anything.
fn mask_vars(value: &str) -> String {
    if value.starts_with('@') {
        return value.to_owned();
    }
    if value.trim_start().starts_with('{') {
        return match serde_saphyr::from_str::<serde_json::Value>(value) {
            Ok(serde_json::Value::Object(mut m)) => {
                for (k, v) in m.iter_mut() {
                    if is_secret_var(k) {
                        *v = serde_json::Value::String(MASK.to_owned());
                    }
                }
                serde_json::Value::Object(m).to_string()
            }
            _ => MASK.to_owned(),
        };
    }
    match clearfleet_playbook::kv::parse_kv(value, false) {
        Ok(pairs) if pairs.iter().any(|(k, _)| is_secret_var(k)) => pairs
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    _ if is_secret_var(&k) => MASK.to_owned(),
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                format!("{k}={v}")
            })
            .collect::<Vec<_>>()
            .join(" "),
        Ok(_) => value.to_owned(),
        Err(_) => MASK.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn secret_extra_vars_are_masked_in_every_spelling() {
        let got = masked(&s(&[
            "clearfleet",
            "run",
            "-e",
            "user=bob db_password=hunter2",
            "--extra-vars={\"api_token\": \"t0k\", \"n\": 1}",
            "-eclearml_secret=s3",
            "-e",
            "@vars.yml",
            "pb.yml",
        ]));
        assert_eq!(
            got,
            s(&[
                "clearfleet",
                "run",
                "-e",
                "user=bob db_password=********",
                "--extra-vars={\"api_token\":\"********\",\"n\":1}",
                "-eclearml_secret=********",
                "-e",
                "@vars.yml",
                "pb.yml",
            ])
        );
        let joined = got.join(" ");
        for secret in ["hunter2", "t0k", "s3 "] {
            assert!(!joined.contains(secret), "{joined}");
        }
    }
}
