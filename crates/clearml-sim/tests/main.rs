//! The simulator's own tests, one binary: its stand-in images (`standin`) and its release data
//! checked against upstream's recorded compose files (`upstream`).

mod standin;
mod upstream;
