//! YAML with positions: the one parser behind playbooks and YAML inventories, keeping the line
//! and column of every node for diagnostics and reading scalars the way PyYAML does
//! (`resolve`: PyYAML's YAML 1.1 implicit resolver, shared with the template filters).

pub mod resolve;
pub mod syntax;
pub mod vault;
