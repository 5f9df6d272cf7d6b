//! `clearfleet run`: an Ansible playbook over the inventory.

use super::shared::{
    PlaybookRun, files_reporter, init_logging, load_playbook, run_playbook, with_rerun,
    write_report,
};

use crate::cli::RunArgs;
use crate::error::Error;
use clearfleet_base::secret::is_secret_var;
use clearfleet_report::files::RunKind;

/// `clearfleet run`: load and check everything, then run the playbook.
pub fn playbook(args: &RunArgs) -> Result<u8, Error> {
    use clearfleet_runner::playbook::PlaybookOptions;
    init_logging(&args.connect)?;
    let (inventory, vault) = super::shared::load_inventory(&args.connect)?;
    let connect = with_rerun(&args.connect, &inventory)?;
    let args = &RunArgs {
        connect,
        ..args.clone()
    };
    let loaded = load_playbook(
        &clearfleet_base::controller_files::ControllerFiles::Vaulted(vault.clone()),
        &args.playbook,
        &args.connect.settings.roles_path,
    )?;
    let extra_vars = parse_extra_vars(&args.extra_vars)?;
    if let Some(task) = &args.start_at_task
        && let Some(d) =
            clearfleet_runner::playbook::start_at::check_start_at(&loaded.playbook, task)
    {
        return Err(clearfleet_playbook::PlaybookError::new(vec![d]).into());
    }
    let names = inventory.select(args.connect.limit.as_deref().unwrap_or("all"))?;
    // An inventory without hosts still runs the plays on the implicit localhost, as
    // ansible-playbook does ("provided hosts list is empty, only localhost is available"); a
    // `--limit` that matches nothing is a mistake.
    if names.is_empty() && args.connect.limit.is_some() {
        return Err(Error::NoHosts {
            pattern: args
                .connect
                .limit
                .clone()
                .unwrap_or_else(|| "all".to_owned()),
        });
    }
    let mut config =
        crate::config::for_hosts(&args.connect, &inventory, names, args.output.max_output)?;
    // A password given with `-e` (`ansible_become_password=...`) is masked in the tasks'
    // results as in the logs and the report.
    config.redactor = config.redactor.watching(vault.found()).with(
        extra_vars
            .iter()
            .filter(|(k, _)| is_secret_var(k))
            .filter_map(|(_, v)| v.as_str().map(clearfleet_base::secret::Secret::new)),
    );
    crate::logging::add_secrets(&config.redactor);
    // `meta: refresh_inventory` reads the same sources with the same vault.
    let (sources, reload_vault) = (args.connect.inventory.clone(), vault.clone());
    config.reload_inventory = Some(std::sync::Arc::new(move || {
        clearfleet_inventory::Inventory::load_vaulted(&sources, &reload_vault)
            .map_err(|e| e.to_string())
    }));
    let mut files = files_reporter(
        &args.connect,
        "run",
        RunKind::Playbook,
        &config.redactor,
        false,
    )?;
    let playbook_dir = args
        .playbook
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(std::path::Path::new("."))
        .to_path_buf();
    let options = PlaybookOptions {
        check: args.check,
        diff: args.diff,
        tags: args.tags.clone(),
        skip_tags: args.skip_tags.clone(),
        start_at_task: args.start_at_task.clone(),
        force_handlers: args.force_handlers,
        gathering: args.connect.settings.gathering,
        extra_vars,
        limit: args.connect.limit.clone(),
        host_vars: Default::default(),
    };
    let runtime = super::shared::runtime()?;
    let run = PlaybookRun {
        playbook: loaded,
        inventory,
        config,
        options,
        playbook_dir,
    };
    let summary = run_playbook(runtime, run, &args.connect, files.as_mut(), None)?;
    write_report(files.as_mut(), summary.exit_code(), args.connect.quiet)?;
    Ok(summary.exit_code())
}

/// `-e` values: `@file` (YAML or JSON), a JSON/YAML mapping, or `k=v` pairs.
pub fn parse_extra_vars(
    values: &[String],
) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    let mut out = serde_json::Map::new();
    for value in values {
        let bad = |reason: String| Error::ExtraVars {
            value: value.clone(),
            reason,
        };
        let text;
        let source = if let Some(path) = value.strip_prefix('@') {
            text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
            text.as_str()
        } else {
            value.as_str()
        };
        let trimmed = source.trim_start();
        if value.starts_with('@') || trimmed.starts_with('{') {
            match serde_saphyr::from_str::<serde_json::Value>(source) {
                Ok(serde_json::Value::Object(m)) => out.extend(m),
                Ok(_) => return Err(bad("expected a mapping".to_owned())),
                Err(e) => return Err(bad(e.to_string())),
            }
        } else {
            let pairs =
                clearfleet_playbook::kv::parse_kv(source, false).map_err(|e| bad(e.to_string()))?;
            for (k, v) in pairs {
                if k == "_raw_params" {
                    return Err(bad("expected key=value".to_owned()));
                }
                out.insert(k, v);
            }
        }
    }
    Ok(out)
}
