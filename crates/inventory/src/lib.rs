//! Ansible-compatible inventories.
//!
//! [`Inventory::load`] reads YAML and INI inventories (or directories of them, or several
//! merged in order), expands host ranges, adds the implicit `all` and `ungrouped` groups,
//! reads `group_vars/` and `host_vars/` beside each source and precomputes every host's vars
//! with Ansible's precedence ([`merge::merged_host_vars`]). [`Inventory::select`] evaluates
//! host patterns; `to_list_json`, `to_graph` and `to_host_json` print what
//! `ansible-inventory --list/--graph/--host` prints. ansible-core 2.19 is the reference.

pub mod dynamic;
pub mod error;
pub mod ini;
pub mod literal;
pub mod load;
pub mod localhost;
pub mod merge;
pub mod model;
pub mod output;
pub mod pattern;
pub mod range;
pub mod vars_dirs;
pub mod vault;
pub mod yaml;

pub use error::InventoryError;
pub use load::Inventory;
pub use model::Vars;
