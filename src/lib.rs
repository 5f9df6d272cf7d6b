//! clearfleet: an Ansible-style orchestrator that upgrades fleets of ClearML servers over SSH.
//!
//! Data flows inventory → connections → execution → events → reporters; see `README.md`.

pub mod app;
pub mod clearml;
pub mod cli;
pub mod config;
pub mod connection;
pub mod diagnostic;
pub mod error;
pub mod events;
pub mod exit;
pub mod inventory;
pub mod logging;
pub mod modules;
pub mod playbook;
pub mod report;
pub mod runner;
pub mod secret;
pub mod shell;
pub mod template;
pub mod upgrade;
