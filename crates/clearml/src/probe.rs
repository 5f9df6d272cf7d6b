//! The remote side of detection: one POSIX shell script that gathers everything in one round
//! trip, and the parser that splits its output into named sections.
//!
//! Each section starts with a line `@@cf:NAME`; commands whose exit status matters are followed
//! by `@@cf-rc:N`. The script only reads: it never starts, stops or changes anything.

use indexmap::IndexMap;

/// The detection script. Docker access is tried as the login user, then through `sudo -n`
/// (never prompting); every container probe is read-only.
pub const SCRIPT: &str = r#"cf() { printf '\n@@cf:%s\n' "$1"; }
rc() { printf '\n@@cf-rc:%s\n' "$1"; }
cf os; uname -s; uname -m
cf uid; id -u
DK=; A=missing; RD=cat
if command -v docker >/dev/null 2>&1; then
  # Both streams: with its daemon gone, docker 20.10 says why on stdout ("ERROR: Cannot connect
  # to the Docker daemon …") and only "errors pretty printing info" on stderr.
  if E=$(docker info 2>&1); then
    DK=docker; if [ "$(id -u)" = 0 ]; then A=root; else A=group; fi
  elif sudo -n docker info >/dev/null 2>&1; then
    DK="sudo -n docker"; A=sudo; RD="sudo -n cat"
  else
    case "$E" in *"Cannot connect to the Docker daemon"*) A=down;; *) A=denied;; esac
  fi
fi
cf docker-access; echo "$A"
get() {
  if command -v curl >/dev/null 2>&1; then curl -s -m 5 -w '\n%{http_code}' "$1"
  elif command -v wget >/dev/null 2>&1; then wget -q -T 5 -O - "$1" && printf '\n200'
  else printf '\n000'; fi
}
cf http:debug.ping; get http://localhost:8008/debug.ping
cf http:server.info; get http://localhost:8008/server.info
cf http:server.info-v2.8; get http://localhost:8008/v2.8/server.info
cf http:version.json; get http://localhost:8080/version.json
cf http:fileserver; get http://localhost:8081/
cf http:login.supported_modes; get http://localhost:8008/login.supported_modes
cf http:auth.fixed_users_mode; get http://localhost:8008/auth.fixed_users_mode
[ -n "$DK" ] || exit 0
cf compose-v2; $DK compose version 2>&1; R=$?; rc $R
if [ "$R" != 0 ]; then
  # Docker finds the v2 plugin in ${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins, then in its system
  # directories: a plugin installed under the home of the login (when this session's HOME is
  # another) or of root is found through DOCKER_CONFIG; one in a system directory that docker
  # did not run is reported.
  if [ "$A" = sudo ]; then DE="sudo -n env"; else DE=env; fi
  H=$(getent passwd "$(id -un)" 2>/dev/null | cut -d: -f6)
  for d in ${H:+"$H/.docker"} ~root/.docker; do
    [ "$d" = "${DOCKER_CONFIG:-$HOME/.docker}" ] && continue
    if $DE DOCKER_CONFIG="$d" docker compose version >/dev/null 2>&1; then
      cf compose-v2-config; echo "$d"; $DE DOCKER_CONFIG="$d" docker compose version 2>&1; R=0
      break
    fi
  done
  if [ "$R" != 0 ]; then
    for p in /usr/local/lib/docker/cli-plugins /usr/local/libexec/docker/cli-plugins /usr/lib/docker/cli-plugins /usr/libexec/docker/cli-plugins; do
      [ -x "$p/docker-compose" ] && { cf compose-v2-system; echo "$p/docker-compose"; break; }
    done
  fi
fi
if command -v docker-compose >/dev/null 2>&1; then
  cf compose-v1
  if [ "$A" = sudo ]; then sudo -n docker-compose version 2>&1; else docker-compose version 2>&1; fi
  rc $?
fi
NAMES=$($DK ps -a --format '{{.Names}}' 2>/dev/null | grep -E '^((clearml|trains)-(apiserver|webserver|fileserver|elastic|mongo|redis|agent-services)|async_delete)$' | tr '\n' ' ')
cf names; echo "$NAMES"
[ -n "$NAMES" ] && { cf inspect; $DK inspect $NAMES 2>&1; rc $?; }
# m1 CONTAINER SHELL JS: the shell's answer on fd 3 when it exits 0; else what it wrote, stderr
# then stdout, on stdout (the daemon writes why an exec could not start, a missing executable say,
# on the exec's stdout, with exit 126 or 127).
m1() {
  { MO=$($DK exec "$1" "$2" --quiet --eval "$3" 2>&4); MR=$?; } 4>&1
  if [ "$MR" = 0 ]; then printf '%s\n' "$MO" >&3; else printf '%s\n' "$MO"; fi
  return "$MR"
}
# mq CONTAINER JS: mongosh, else mongo (MongoDB 6+ images have only mongosh, older ones only
# mongo): the answer on stdout; when neither answers, what each said (first line) and its exit
# status, then the last status.
mq() {
  { E1=$(m1 "$1" mongosh "$2"); } 3>&1 && { rc 0; return; }
  R1=$?
  { E2=$(m1 "$1" mongo "$2"); } 3>&1 && { rc 0; return; }
  R2=$?
  printf '\n@@cf-err:mongosh (exit %s): %s\n' "$R1" "$(printf '%s\n' "$E1" | tr -d '\r' | grep -m1 . || echo 'no error output')"
  printf '@@cf-err:mongo (exit %s): %s\n' "$R2" "$(printf '%s\n' "$E2" | tr -d '\r' | grep -m1 . || echo 'no error output')"
  rc "$R2"
}
# p1 CONTAINER: what detection asks inside one data store or the apiserver (`docker exec`).
p1() {
  case "$1" in
    *-mongo)
      cf "mongo-version:$1"; mq "$1" 'db.version()'
      cf "mongo-fcv:$1"; mq "$1" 'JSON.stringify(db.adminCommand({getParameter:1,featureCompatibilityVersion:1}))' ;;
    *-elastic) cf "elastic:$1"; $DK exec "$1" curl -s localhost:9200 2>&1 ;;
    *-redis) cf "redis:$1"; $DK exec "$1" redis-cli INFO server 2>&1 ;;
    *-apiserver)
      cf "version-py:$1"
      $DK exec "$1" sh -c 'cat /opt/clearml/apiserver/version.py /opt/trains/apiserver/version.py /opt/trains/server/version.py 2>/dev/null' 2>&1 ;;
  esac
}
# The containers are asked at once (each `docker exec` costs a round trip to the daemon), each
# into its own file of a private directory, printed in order; one after another without mktemp.
T=$(mktemp -d 2>/dev/null) || T=
i=0
for c in $NAMES; do
  i=$((i + 1))
  if [ -n "$T" ]; then p1 "$c" >"$T/$i" & else p1 "$c"; fi
done
if [ -n "$T" ]; then
  wait
  j=0; while [ "$j" -lt "$i" ]; do j=$((j + 1)); cat "$T/$j"; done
  rm -rf "$T"
fi
CF=
for c in $NAMES; do
  CF=$($DK inspect -f '{{index .Config.Labels "com.docker.compose.project.config_files"}}' "$c" 2>/dev/null)
  [ -n "$CF" ] && break
done
for f in $(echo "$CF" | tr ',' ' ') /opt/clearml/docker-compose.yml /opt/trains/docker-compose.yml; do
  $RD "$f" >/dev/null 2>&1 || continue
  cf "file:$f"; $RD "$f"
  d=$(dirname "$f")
  if $RD "$d/.env" >/dev/null 2>&1; then cf "env:$d/.env"; $RD "$d/.env"; fi
  cf "datadir:$d"; ls -1 "$d/data" 2>/dev/null
  M="$d/.clearfleet/upgrade-in-progress"
  if $RD "$M" >/dev/null 2>&1; then cf "marker:$d"; $RD "$M"; fi
done
exit 0
"#;

/// The command for an authenticated `server.info` (2.3+), unversioned (version, build) then
/// `/v2.8` (the only handler that reports the uid): credentials go through curl's stdin config
/// (`-K -`, read twice from one copy), never the command line, so no other user sees them in
/// `ps`.
pub const AUTH_SERVER_INFO: &str = "c=$(cat); \
     printf '%s\\n' \"$c\" | curl -s -m 5 -K - -w '\\n%{http_code}' http://localhost:8008/server.info; \
     printf '\\n@@v2.8\\n'; \
     printf '%s\\n' \"$c\" | curl -s -m 5 -K - -w '\\n%{http_code}' http://localhost:8008/v2.8/server.info";

/// The stdin for [`AUTH_SERVER_INFO`].
pub fn auth_config(key: &str, secret: &str) -> Vec<u8> {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    format!("user = \"{}:{}\"\n", esc(key), esc(secret)).into_bytes()
}

/// One section of the script's output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    pub text: String,
    /// The exit status printed after the section's command, when the script records one.
    pub rc: Option<i32>,
}

/// The script's output by section name; the first of two same-named sections wins.
pub fn parse_sections(output: &str) -> IndexMap<String, Section> {
    let mut sections: IndexMap<String, Section> = IndexMap::new();
    let mut current: Option<(String, Section)> = None;
    let finish = |cur: Option<(String, Section)>, sections: &mut IndexMap<String, Section>| {
        if let Some((name, mut s)) = cur {
            // The marker printf starts with a newline of its own.
            if s.text.ends_with('\n') {
                s.text.pop();
            }
            sections.entry(name).or_insert(s);
        }
    };
    for line in output.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if let Some(name) = bare.strip_prefix("@@cf:") {
            finish(current.take(), &mut sections);
            current = Some((name.to_owned(), Section::default()));
        } else if let Some(rc) = bare.strip_prefix("@@cf-rc:") {
            if let Some((_, s)) = current.as_mut() {
                if s.text.ends_with('\n') {
                    s.text.pop();
                }
                s.rc = rc.trim().parse().ok();
            }
        } else if let Some((_, s)) = current.as_mut() {
            s.text.push_str(line);
        }
    }
    finish(current.take(), &mut sections);
    sections
}

/// An HTTP answer as `get` prints it: the body, then the status code on the last line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    /// 0 when nothing answered (connection refused, no curl or wget).
    pub status: u16,
    pub body: String,
}

pub fn parse_http(section: &str) -> HttpAnswer {
    let (body, code) = match section.rsplit_once('\n') {
        Some((b, c)) => (b, c),
        None => ("", section),
    };
    HttpAnswer {
        status: code.trim().parse().unwrap_or(0),
        body: body.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sections_and_exit_codes() {
        let out = "\n@@cf:os\nLinux\nx86_64\n\n@@cf:compose-v2\nDocker Compose version v2.29.1\n\n@@cf-rc:0\n\n@@cf:names\n\n\n@@cf:os\nignored\n";
        let s = parse_sections(out);
        assert_eq!(s["os"].text, "Linux\nx86_64\n");
        assert_eq!(s["compose-v2"].text, "Docker Compose version v2.29.1\n");
        assert_eq!(s["compose-v2"].rc, Some(0));
        assert_eq!(s["names"].text, "\n");
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn reads_http_answers() {
        assert_eq!(
            parse_http("{\"a\":1}\n200"),
            HttpAnswer {
                status: 200,
                body: "{\"a\":1}".to_owned()
            }
        );
        assert_eq!(parse_http("\n000").status, 0);
        assert_eq!(parse_http("").status, 0);
    }

    /// The script's `rc`, `m1` and `mq` run by `sh` against a `docker` that answers as given.
    fn run_mq(docker: &str) -> Section {
        let lines: Vec<&str> = SCRIPT.lines().collect();
        let from = |head: &str| {
            lines
                .iter()
                .position(|l| l.starts_with(head))
                .unwrap_or_else(|| panic!("{head} not in the script"))
        };
        let (m1, cf) = (from("m1() {"), from("CF="));
        let script = format!(
            "{}\n{}\n{}\nDK=docker\nprintf '\\n@@cf:q\\n'; mq clearml-mongo 'db.version()'\n",
            lines[from("rc() {")],
            lines[m1..cf].join("\n"),
            docker
        );
        let out = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap_or_else(|e| panic!("sh: {e}"));
        parse_sections(&String::from_utf8_lossy(&out.stdout))
            .shift_remove("q")
            .unwrap_or_default()
    }

    #[test]
    fn mongo_shells_answer_or_say_why_not() {
        // Docker Engine writes why an exec could not start on the exec's stdout, ending "\r\n"
        // (moby, api/server/router/container/exec.go), with exit 126 (20.10).
        let missing = r#"docker() {
  case "$3" in
    mongosh) printf 'OCI runtime exec failed: exec failed: unable to start container process: exec: "mongosh": executable file not found in $PATH: unknown\r\n'; return 126 ;;
    mongo) echo 'MongoDB shell version v4.4.29'; echo 'Error: couldn'"'"'t connect to server' >&2; return 1 ;;
  esac
}"#;
        let s = run_mq(missing);
        assert_eq!(s.rc, Some(1), "{s:?}");
        assert_eq!(
            s.text,
            "\n@@cf-err:mongosh (exit 126): OCI runtime exec failed: exec failed: unable to start \
             container process: exec: \"mongosh\": executable file not found in $PATH: unknown\n\
             @@cf-err:mongo (exit 1): Error: couldn't connect to server"
        );
        // The answer alone (the shell's warnings on stderr left out); mongo after mongosh failed.
        let answers = r#"docker() {
  case "$3" in
    mongosh) printf 'OCI runtime exec failed: exec: "mongosh": not found\r\n'; return 126 ;;
    mongo) echo 'WARNING: shell deprecated' >&2; echo '4.4.29'; return 0 ;;
  esac
}"#;
        let s = run_mq(answers);
        assert_eq!((s.text.as_str(), s.rc), ("4.4.29", Some(0)), "{s:?}");
        let silent = "docker() { return 137; }";
        let s = run_mq(silent);
        assert!(
            s.text
                .contains("@@cf-err:mongosh (exit 137): no error output"),
            "{s:?}"
        );
    }

    #[test]
    fn credentials_are_quoted_for_curl_config() {
        let cfg = String::from_utf8(auth_config("K\"1", "s\\2")).unwrap_or_default();
        assert_eq!(cfg, "user = \"K\\\"1:s\\\\2\"\n");
    }
}
