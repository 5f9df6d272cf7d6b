//! `clearfleet releases`: the release data in use, checked and printed.

use std::io::Write;

use crate::cli::OutputFormat;
use crate::error::Error;
use clearfleet_clearml::Releases;

/// `clearfleet releases`: the release data in use (built in, or `--releases FILE`), checked.
pub fn releases(args: &crate::cli::ReleasesArgs) -> Result<u8, Error> {
    let path = args.data.releases.as_deref();
    let releases = Releases::load(path).map_err(Error::Releases)?;
    let text = match args.output {
        OutputFormat::Human => clearfleet_report::releases_table(
            &releases,
            &path.map_or_else(
                || "built in (playbooks/clearml/releases.yml)".to_owned(),
                |p| p.display().to_string(),
            ),
        ),
        OutputFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&releases).map_err(|e| Error::Output(e.into()))?
        ),
    };
    anstream::stdout()
        .write_all(text.as_bytes())
        .map_err(Error::Output)?;
    Ok(clearfleet_events::exit::OK)
}
