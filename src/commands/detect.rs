//! `clearfleet detect` and `clearfleet plan`: what each host runs, and the upgrade path to the target.

use super::shared::{hosts, resolve_target};

use std::sync::Arc;

use crate::cli::DetectArgs;
use crate::error::Error;
use clearfleet_base::capture::MaxOutput;
use clearfleet_clearml::Releases;
use clearfleet_clearml::plan::PlanOptions;
use clearfleet_report::View;
use clearfleet_runner::Job;

pub fn detect(args: &DetectArgs, view: View) -> Result<u8, Error> {
    let releases = Releases::load(args.data.releases.as_deref()).map_err(Error::Releases)?;
    let target = resolve_target(&releases, args.target.as_deref())?;
    let job = Job::Detect {
        releases: Arc::new(releases),
        target,
        options: PlanOptions {
            allow_es_migration: args.allow_es_migration,
            discard_compose_changes: args.discard_compose_changes,
        },
    };
    let name = if view == View::Plan { "plan" } else { "detect" };
    hosts(
        &args.connect,
        job,
        name.to_owned(),
        view,
        MaxOutput::DEFAULT,
    )
}
