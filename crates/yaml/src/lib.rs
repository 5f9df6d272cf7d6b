//! YAML with positions: the one parser behind playbooks and YAML inventories, keeping the line
//! and column of every node for diagnostics and reading scalars the way PyYAML does.

pub mod syntax;
