//! `systemd_service.py`'s reading of `systemctl` output: `parse_systemctl_show` (the
//! `status` result) and `request_was_ignored` (systemctl in a chroot: "Running in chroot,
//! ignoring command 'show'").

use serde_json::{Map, Value};

/// `request_was_ignored`: no `=` in the output, and systemctl says it ignored the request.
pub fn request_was_ignored(out: &str) -> bool {
    !out.contains('=') && (out.contains("ignoring request") || out.contains("ignoring command"))
}

/// `parse_systemctl_show` over `out.split('\n')`: `KEY=value` lines, values stripped; only
/// keys starting with `Exec` whose value opens with `{` and does not close on its line run on
/// to the line ending with `}` (the lines joined with `\n`, stripped). A line without `=`
/// outside such a value is skipped. A key given twice keeps its first place, its last value.
pub fn parse_systemctl_show(out: &str) -> Map<String, Value> {
    let mut parsed = Map::new();
    let mut multival: Vec<&str> = Vec::new();
    let mut key: Option<&str> = None;
    for line in out.split('\n') {
        match key {
            None => {
                let Some((k, v)) = line.split_once('=') else {
                    continue;
                };
                if k.starts_with("Exec")
                    && v.trim_start().starts_with('{')
                    && !v.trim_end().ends_with('}')
                {
                    multival.push(v);
                    key = Some(k);
                    continue;
                }
                parsed.insert(k.to_owned(), Value::String(py_strip(v).to_owned()));
            }
            Some(k) => {
                multival.push(line);
                if line.trim_end().ends_with('}') {
                    let joined = multival.join("\n");
                    parsed.insert(k.to_owned(), Value::String(py_strip(&joined).to_owned()));
                    multival.clear();
                    key = None;
                }
            }
        }
    }
    parsed
}

/// Python's `str.strip()` (Unicode whitespace, as Rust's `trim`).
fn py_strip(s: &str) -> &str {
    s.trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_output_is_parsed_as_systemd_service_py_parses_it() {
        let out = "Type=simple\n\
                   ExecStart={ path=/bin/sleep ; argv[]=/bin/sleep 1000 ;\n  status=0/0 }\n\
                   Description={ not multi-line\n\
                   ActiveState=inactive\n\
                   LoadState=loaded\n\
                   no equals sign\n\
                   Environment= A=1 \n";
        let p = parse_systemctl_show(out);
        assert_eq!(p["Type"], "simple");
        assert_eq!(
            p["ExecStart"],
            "{ path=/bin/sleep ; argv[]=/bin/sleep 1000 ;\n  status=0/0 }"
        );
        // Only Exec* values run over lines: this one ends on its own line.
        assert_eq!(p["Description"], "{ not multi-line");
        assert_eq!(p["ActiveState"], "inactive");
        assert_eq!(p["Environment"], "A=1");
        let keys: Vec<&String> = p.keys().collect();
        assert_eq!(
            keys,
            [
                "Type",
                "ExecStart",
                "Description",
                "ActiveState",
                "LoadState",
                "Environment"
            ]
        );
    }

    #[test]
    fn an_ignored_request_is_seen() {
        assert!(request_was_ignored(
            "Running in chroot, ignoring command 'show'\n"
        ));
        assert!(!request_was_ignored("Id=x\nignoring command"));
        assert!(!request_was_ignored(""));
    }
}
