//! The `clearml-sim` binary: see the library's documentation and docs/simulator.md.

fn main() -> std::process::ExitCode {
    clearml_sim::run()
}
