//! Runs a job on every selected host in parallel and turns what happens into events.
//!
//! The dispatcher owns the run state and talks to reporters; the executor does one host's work.

pub mod become_vars;
pub mod config;
pub mod detect;
mod dispatcher;
mod executor;
pub mod playbook;

pub use dispatcher::run;
pub use executor::Job;
