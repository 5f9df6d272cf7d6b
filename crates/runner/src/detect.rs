//! Detection on a live host: run the ClearML probe script over the host's connection (one
//! round trip, two for an authenticated 2.3+ `server.info`) and let `clearfleet_clearml`
//! interpret what it printed.

use clearfleet_base::capture::{MaxOutput, Truncation};
use clearfleet_base::shell::quote;
use clearfleet_clearml::detect::{apply_drift, apply_server_info, apply_uid, interpret};
use clearfleet_clearml::probe::{self, HttpAnswer, parse_http, parse_sections};
use clearfleet_clearml::releases::Releases;
use clearfleet_clearml::state::{HostState, Probe};
use clearfleet_ssh::{Become, Connection, ExecError, ExecOptions, ExecOutput, ExitStatus};

/// Why detection could not run on a host.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error("the probe script failed (exit {code}): {stderr}")]
    Script { code: String, stderr: String },
    /// The probe printed more than the output limit: what it found is not all there.
    #[error("the probe's output cannot be read whole: {}", .0.message().unwrap_or_default())]
    TooMuchOutput(Truncation),
}

/// Detects the ClearML deployment on the host behind `conn`.
pub async fn detect(
    conn: &Connection,
    become_: Option<&Become>,
    max_output: MaxOutput,
    releases: &Releases,
) -> Result<HostState, DetectError> {
    let options = ExecOptions {
        become_: become_.cloned(),
        max_output,
        ..ExecOptions::default()
    };
    let out = whole(
        conn.exec(&format!("sh -c {}", quote(probe::SCRIPT)), &options)
            .await?,
    )?;
    if out.exit != ExitStatus::Code(0) {
        return Err(DetectError::Script {
            code: format!("{:?}", out.exit),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    let sections = parse_sections(&String::from_utf8_lossy(&out.stdout));
    let mut state = interpret(&sections, releases);
    // 2.3+ answers server.info only with credentials: ask again with the services-agent's.
    let info = sections
        .get("http:server.info")
        .map(|s| parse_http(&s.text));
    if let (Some(HttpAnswer { status: 401, .. }), Some(key), Some(secret)) = (
        info,
        state.agent.access_key.clone(),
        state.agent.secret_key.clone(),
    ) {
        let options = ExecOptions {
            stdin: Some(probe::auth_config(&key, secret.expose())),
            become_: become_.cloned(),
            max_output,
            ..ExecOptions::default()
        };
        let out = whole(conn.exec(probe::AUTH_SERVER_INFO, &options).await?)?;
        let text = String::from_utf8_lossy(&out.stdout);
        let (plain, v28) = text.split_once("\n@@v2.8\n").unwrap_or((&text, ""));
        let answer = parse_http(plain);
        if answer.status == 200 {
            state
                .notes
                .retain(|n| !n.starts_with("server.info needs credentials"));
            apply_server_info(&mut state, &answer.body, Probe::ServerInfoAuthenticated);
            apply_uid(&mut state, &parse_http(v28));
        } else {
            state.notes.push(format!(
                "server.info refused the services-agent credentials (HTTP {})",
                answer.status
            ));
        }
    }
    if let (Some(file), Some(root)) = (state.compose_file.clone(), state.root.clone())
        && let Some(s) = sections.get(&format!("file:{file}"))
    {
        apply_drift(&mut state, &s.text, &root);
    }
    Ok(state)
}

/// The output if the limit dropped nothing of it: the probe's sections are read as data.
fn whole(out: ExecOutput) -> Result<ExecOutput, DetectError> {
    if out.truncation.any() {
        return Err(DetectError::TooMuchOutput(out.truncation));
    }
    Ok(out)
}
