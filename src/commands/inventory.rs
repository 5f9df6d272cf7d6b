//! `clearfleet inventory`: the inventory as `ansible-inventory` prints it, secrets masked.

use std::io::Write;

use crate::cli::InventoryArgs;
use crate::error::Error;
use clearfleet_base::secret::is_secret_var;
use clearfleet_inventory::Inventory;

pub fn inventory(args: &InventoryArgs) -> Result<u8, Error> {
    let vault = crate::vault_secrets::vault(&args.vault)?;
    let inventory = Inventory::load_vaulted(&args.inventory, &vault)?;
    let text = if args.list_hosts
        || (args.limit.is_some() && !args.list && args.host.is_none() && args.graph.is_none())
    {
        let pattern = args.limit.as_deref().unwrap_or("all");
        let mut s = String::new();
        for host in inventory.select(pattern)? {
            s.push_str(&host);
            s.push('\n');
        }
        s
    } else if let Some(group) = &args.graph {
        inventory.to_graph(Some(group))?
    } else if let Some(host) = &args.host {
        let json = inventory.to_host_json(host)?;
        mask_json_text(&json, args.show_secrets)
    } else {
        mask_json_text(&inventory.to_list_json(), args.show_secrets)
    };
    // Values decrypted from the vault are masked like secret variables.
    let text = if args.show_secrets {
        text
    } else {
        clearfleet_base::secret::Redactor::default()
            .watching(vault.found())
            .redact_owned(text)
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| {
            if text.is_empty() || text.ends_with('\n') {
                Ok(())
            } else {
                out.write_all(b"\n")
            }
        })
        .map_err(Error::Output)?;
    Ok(clearfleet_events::exit::OK)
}

/// Masks secret variables (passwords, tokens) in inventory JSON unless `--show-secrets`.
pub fn mask_json_text(json: &str, show: bool) -> String {
    if show {
        return json.to_owned();
    }
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(json) else {
        return json.to_owned();
    };
    let mut masked = false;
    mask_value(&mut value, &mut masked);
    if !masked {
        return json.to_owned();
    }
    clearfleet_inventory::output::python_json(&value)
}

pub fn mask_value(value: &mut serde_json::Value, masked: &mut bool) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_secret_var(k) && v.is_string() {
                    *v = serde_json::Value::String("********".to_owned());
                    *masked = true;
                } else {
                    mask_value(v, masked);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| mask_value(v, masked)),
        _ => {}
    }
}
