//! What clearfleet knows about ClearML and Trains servers, with no I/O: the release data,
//! the probe script and the interpretation of its output, the upgrade planner, and the upgrade
//! playbook's per-host variables. Running the probe on a host is the runner's job.

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
