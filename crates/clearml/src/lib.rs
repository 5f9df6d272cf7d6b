//! ClearML and Trains servers: release data, detection of what a host runs, and upgrade
//! planning (the upgrade itself is being built: see the ClearML issues).

pub mod compose;
pub mod containers;
pub mod detect;
pub mod plan;
pub mod playbook_vars;
pub mod probe;
pub mod releases;
pub mod state;
pub mod upstream;
pub mod version;

pub use plan::{Plan, PlanOptions, plan};
pub use releases::Releases;
pub use state::HostState;
pub use version::Version;

/// What `clearfleet detect` reports for one host: its state, the plan to the target, and the
/// plan's one-line verdict.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Detected {
    #[serde(flatten)]
    pub state: HostState,
    pub plan: Plan,
    pub verdict: String,
}

impl Detected {
    pub fn new(state: HostState, plan: Plan) -> Self {
        let verdict = plan.verdict();
        Detected {
            state,
            plan,
            verdict,
        }
    }
}
